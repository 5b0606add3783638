/*
 * circumplex.h — the C ABI of circumplex, for game engines and other hosts.
 *
 * circumplex puts a face's emotional expression on a cursor on Russell's circumplex:
 * valence (unpleasant -1 → pleasant +1) across, arousal (calm -1 → excited +1) up, and C2A2's
 * third axis z (fear and sadness lifted off the plane). You steer a cursor; each update gives
 * back the rig outputs for where it is — 17 FACS action units, the 52 ARKit blendshape weights,
 * the 18 VRM 1.0 expression presets — and a worker thread generates a face image (RGBA8) for
 * it that you can copy or borrow. Outputs can also go out over OSC (VRChat, TouchDesigner, Max).
 *
 * The library is libcircumplex.so. Plain C99; every symbol starts with cpx_ (or CPX_ for
 * macros and enumerators); the .so exports nothing else. It depends on LibTorch, OpenCV and
 * liblo as shared libraries.
 *
 * -------------------------------------------------------------------------------------------
 * A complete host (error handling shortened):
 *
 *   #include <stdio.h>
 *   #include "circumplex.h"
 *
 *   int main(void) {
 *     cpx_create_info info = CPX_CREATE_INFO_INIT;     // defaults; set struct_size for you
 *     info.model_path = "assets/models/default";       // NULL: the shipped default model
 *     cpx_context* ctx = NULL;
 *     if (cpx_create(&info, &ctx) != CPX_OK) {          // failed create: ctx stays NULL,
 *       fprintf(stderr, "%s\n", cpx_last_error(NULL));  // the message is thread-local
 *       return 1;
 *     }
 *     cpx_play_circle_walk(ctx, 0.0f, 0.0f, 0.8f, 4.0f); // C2A2 circle walk, 4 s per turn
 *     float arkit[CPX_ARKIT_COUNT];
 *     uint64_t shown = 0;
 *     for (int i = 0; i < 240; ++i) {                   // your frame loop, here 60 Hz
 *       cpx_affect p;
 *       cpx_update(ctx, 1.0f / 60.0f, &p);              // game thread: move the cursor
 *       cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, arkit, CPX_ARKIT_COUNT);  // any thread
 *       int32_t is_new = 0;
 *       cpx_poll_frame(ctx, shown, &is_new, &shown);    // render thread: a new face?
 *       // if (is_new) cpx_copy_frame(ctx, pixels, sizeof pixels, NULL) and upload it
 *       printf("v=%+.2f a=%+.2f jawOpen=%.3f\n", p.v, p.a, arkit[17]);
 *     }
 *     cpx_destroy(ctx);                                 // joins the worker; NULL is fine
 *     return 0;
 *   }
 *
 * -------------------------------------------------------------------------------------------
 * RESULT CODES. Every function that can fail returns a cpx_result; CPX_OK is 0 and every
 * error is > 0. On failure, out-parameters are left untouched unless a function says
 * otherwise, and a message for people is kept:
 *   - cpx_last_error(ctx) — the message of the most recent failed call that the *calling
 *     thread* made on ctx (each thread has its own, so a render-thread error never
 *     overwrites the game thread's). Owned by ctx; valid until the same thread's next failed
 *     call on ctx, or cpx_destroy(ctx).
 *   - cpx_last_error(NULL) — the calling thread's message for failures that had no live
 *     context (a failed cpx_create, a NULL or dead handle, a table lookup). Thread-local;
 *     valid until the same thread's next such failure.
 * Successful calls do not clear the message: look at the result code first. The message is
 * "" when there was no failure; it is never NULL.
 *
 * NO EXCEPTIONS, NO ABORTS. No C++ exception, abort or assert crosses this boundary: every
 * entry point catches everything and returns a code (CPX_ERROR_INTERNAL at worst). Every
 * pointer argument is checked (NULL → CPX_ERROR_NULL_POINTER unless documented optional),
 * every number is checked (NaN, ±Inf and out-of-range → CPX_ERROR_INVALID_ARGUMENT), every
 * handle is checked (NULL → CPX_ERROR_INVALID_HANDLE). A destroyed handle cannot be detected
 * reliably: never use one.
 *
 * OWNERSHIP. cpx_create gives you a context; you own it and free it with cpx_destroy.
 * Strings you pass in are copied when the call needs them later; you keep ownership.
 * Strings the library returns (names, messages) are owned by the library: names are static
 * (valid as long as the library is loaded), messages as stated above. Never free them.
 * Borrowed frame pixels belong to the context until cpx_release_frame or cpx_destroy.
 *
 * THREADS. A context may be used from several threads at once, in three roles:
 *   - CONTROL calls (set targets, play paths, cpx_update, identity, recording, OSC set-up)
 *     are serialised by a mutex inside the context: any thread may make them, and two made
 *     at once simply run one after the other. In practice one thread (the game thread)
 *     makes them. None of them waits for the face generator, except
 *     cpx_set_identity_image, which says so (cpx_export_path_video blocks its caller for the
 *     whole render, but holds no lock meanwhile).
 *   - READERS of the rig outputs (cpx_get_outputs, cpx_get_state, cpx_nearest_emotion) may be
 *     called from any thread at any time, also during cpx_update: they read a snapshot that
 *     cpx_update publishes (a sequence lock), take no lock, never block the updater and
 *     never allocate. E.g. an audio or network thread.
 *   - FRAME calls (cpx_poll_frame, cpx_copy_frame, cpx_borrow_frame, cpx_release_frame) may
 *     be called from any thread (e.g. the render thread); the only lock they share with
 *     cpx_update is held for a pointer copy.
 * cpx_create may be called from any thread. cpx_destroy must be the last call on a context:
 * the host makes sure no other thread is still using it. Calls that take no context (version,
 * names, cpx_last_error(NULL)) may be made from any thread. Contexts share no mutable state
 * (but LibTorch's thread count, see cpx_create_info.threads): several live side by side.
 *
 * REAL TIME. cpx_update and the readers do not allocate memory (in a context that makes
 * frames: once the generator has taken its first few requests, which size its three latent
 * buffers) and never wait for a face to be decoded: a request is handed over under a lock
 * that the generator holds only to swap buffers. The tests check this with a counting
 * allocator. Frame copies are a memcpy (plus one resize per new face when frame_size differs
 * from the model's size).
 *
 * VERSIONS. CPX_VERSION_* is the version of this header; cpx_version() that of the loaded
 * library. CPX_API_VERSION counts ABI revisions: a library with a higher API version still
 * accepts hosts built against a lower one. Structs that cross the boundary start with
 * struct_size = sizeof(the struct as the host knows it), so later versions can append fields:
 * the library reads (or writes) only the first struct_size bytes and uses defaults for
 * fields the host does not know; fields the library does not know are ignored. A struct_size
 * below the struct's size in API 1 is refused. API 2 appended cpx_osc_info.vmc_names and the
 * OSC modes CPX_OSC_VRCHAT_BUDGET and CPX_OSC_VMC. API 3 added cpx_save_identity and
 * cpx_load_identity, and cpx_set_identity_image aligns the photo's face. API 4 appended
 * cpx_create_info.device (a host built against API 3 gets the CPU). API 5 added
 * cpx_identity_notes. API 6 added cpx_wait_frame. API 7 added the flag CPX_CREATE_KEEP_DETAIL
 * (a library before it refuses the bit as unknown).
 */
#ifndef CIRCUMPLEX_H
#define CIRCUMPLEX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions ------------------------------------------------------------------------- */

#define CPX_VERSION_MAJOR 0
#define CPX_VERSION_MINOR 1
#define CPX_VERSION_PATCH 0
/** ABI revision of this header; raised whenever functions or struct fields are added. */
#define CPX_API_VERSION 7
#define CPX_MAKE_VERSION(major, minor, patch) \
  (((uint32_t)(major) << 16) | ((uint32_t)(minor) << 8) | (uint32_t)(patch))
#define CPX_VERSION CPX_MAKE_VERSION(CPX_VERSION_MAJOR, CPX_VERSION_MINOR, CPX_VERSION_PATCH)

#if defined(_WIN32)
#  if defined(CPX_BUILDING_LIBRARY)
#    define CPX_API __declspec(dllexport)
#  else
#    define CPX_API __declspec(dllimport)
#  endif
#  define CPX_CALL __cdecl
#else
#  define CPX_API __attribute__((visibility("default")))
#  define CPX_CALL
#endif

/** An engine instance: cursor, rig outputs, face generator, recorders, OSC sink. Opaque:
    made by cpx_create, freed by cpx_destroy. */
typedef struct cpx_context cpx_context;

/* ---- result codes --------------------------------------------------------------------- */

typedef enum cpx_result {
  CPX_OK = 0,
  CPX_ERROR_INVALID_HANDLE = 1,    /**< ctx is NULL (e.g. after a failed create) or not a context */
  CPX_ERROR_NULL_POINTER = 2,      /**< a required pointer argument is NULL */
  CPX_ERROR_INVALID_ARGUMENT = 3,  /**< NaN/Inf, out of range, bad struct_size, bad enum */
  CPX_ERROR_UNKNOWN_NAME = 4,      /**< unknown emotion or output name (message: closest names) */
  CPX_ERROR_BUFFER_TOO_SMALL = 5,  /**< a caller buffer cannot hold the result */
  CPX_ERROR_NO_FRAME = 6,          /**< no face generated yet: poll again next frame */
  CPX_ERROR_NOT_SUPPORTED = 7,     /**< e.g. frames asked of a CPX_CREATE_RIG_ONLY context */
  CPX_ERROR_MODEL = 8,             /**< model package missing, unreadable or corrupt */
  CPX_ERROR_BAD_DATA = 9,          /**< a file had the wrong shape (CSV row, …) */
  CPX_ERROR_IO = 10,               /**< a file could not be read or written; a socket failed */
  CPX_ERROR_INVALID_STATE = 11,    /**< not now: e.g. record_end without record_begin */
  CPX_ERROR_LIMIT = 12,            /**< a fixed limit is reached (e.g. too many borrows) */
  CPX_ERROR_TIMEOUT = 13,          /**< a bounded wait ran out */
  CPX_ERROR_OUT_OF_MEMORY = 14,
  CPX_ERROR_INTERNAL = 15,         /**< a bug in circumplex; the message says what */
  CPX_RESULT_MAX_ENUM = 0x7fffffff /**< keeps the enum 32-bit */
} cpx_result;

/* ---- fixed tables ---------------------------------------------------------------------- */

/** Rig output sets. Names: cpx_output_name(). */
typedef enum cpx_output_kind {
  CPX_OUTPUT_AU = 0,     /**< 17 FACS action units "AU1" … "AU43", intensities 0 … 1 */
  CPX_OUTPUT_ARKIT = 1,  /**< 52 ARKit blendshapes in Apple's order ("eyeBlinkLeft" …), 0 … 1 */
  CPX_OUTPUT_VRM = 2,    /**< 18 VRM 1.0 expression presets ("happy" … "neutral"), 0 … 1 */
  CPX_OUTPUT_AFFECT = 3, /**< 3 values: "valence", "arousal", "z" of the cursor, -1 … 1 */
  CPX_OUTPUT_KIND_MAX_ENUM = 0x7fffffff
} cpx_output_kind;

#define CPX_AU_COUNT 17
#define CPX_ARKIT_COUNT 52
#define CPX_VRM_COUNT 18
#define CPX_AFFECT_COUNT 3
/** Largest output count of any kind: a float[CPX_MAX_OUTPUTS] holds any of them. */
#define CPX_MAX_OUTPUTS 52
/** Bit of an output kind in a mask (cpx_osc_info.outputs). */
#define CPX_OUTPUT_BIT(kind) (1u << (unsigned)(kind))

/** A point of the affect space: valence, arousal, z, each -1 … 1; |p| is the intensity. */
typedef struct cpx_affect {
  float v, a, z;
} cpx_affect;

/* ---- library --------------------------------------------------------------------------- */

/** CPX_MAKE_VERSION of the loaded library. Any thread. */
CPX_API uint32_t CPX_CALL cpx_version(void);
/** "0.1.0": static string. Any thread. */
CPX_API const char* CPX_CALL cpx_version_string(void);
/** The CPX_API_VERSION the library implements; a host needs cpx_api_version() >= its own.
    Any thread. */
CPX_API uint32_t CPX_CALL cpx_api_version(void);
/** "CPX_ERROR_UNKNOWN_NAME" for a code; "CPX_RESULT_UNKNOWN" for others. Static; any thread. */
CPX_API const char* CPX_CALL cpx_result_name(cpx_result result);
/** The calling thread's last failure message on ctx, or (ctx NULL) without a context. See
    RESULT CODES above for lifetimes. Never NULL. Any thread. */
CPX_API const char* CPX_CALL cpx_last_error(const cpx_context* ctx);

/** Number of outputs of a kind (17, 52, 18, 3). Any thread. */
CPX_API cpx_result CPX_CALL cpx_output_count(cpx_output_kind kind, int32_t* out_count);
/** Name of output `index` of a kind: a static string. Any thread. */
CPX_API cpx_result CPX_CALL cpx_output_name(cpx_output_kind kind, int32_t index, const char** out_name);
/** Index of a named output (exact, case-sensitive; AUs also as "12" or "au12"), or
    CPX_ERROR_UNKNOWN_NAME. Use it to map your rig's blendshapes once. Any thread. */
CPX_API cpx_result CPX_CALL cpx_output_index(cpx_output_kind kind, const char* name, int32_t* out_index);
/** Number of named emotions in the atlas (basic, contempt and C2A2's compounds). Any thread. */
CPX_API cpx_result CPX_CALL cpx_emotion_count(int32_t* out_count);
/** Canonical name of atlas emotion `index` ("happy", "happily-sad", …): static. Any thread. */
CPX_API cpx_result CPX_CALL cpx_emotion_name(int32_t index, const char** out_name);

/* ---- contexts -------------------------------------------------------------------------- */

/** Flags of cpx_create_info.flags. */
#define CPX_CREATE_RIG_ONLY 0x1u /**< rig outputs only: no generator thread, no frames */
/** API 7. An identity from an image keeps the image's own detail (hair, glasses' wire, age
    lines), which the decoder leaves soft: every face of it is the decoder's face plus that
    detail, following the face's parts and fading where the expression changes the face; at
    the neutral point the face is the image. Costs a decoder pass per cpx_set_identity_image
    and about 1.3 ms per face on two CPU threads; the person's features vary a little more across
    expressions with it (README, "The detail layer"). cpx_save_identity then keeps the
    image, and cpx_load_identity of such a file brings the detail back. Seeds and files
    without an image have none. No effect with CPX_CREATE_RIG_ONLY. */
#define CPX_CREATE_KEEP_DETAIL 0x2u

typedef struct cpx_create_info {
  uint32_t struct_size;   /**< sizeof(cpx_create_info) */
  uint32_t flags;         /**< CPX_CREATE_* bits; unknown bits are an error */
  const char* model_path; /**< model package folder; NULL: the shipped default (see below) */
  int32_t frame_size;     /**< frame side in pixels, 16 … 2048; 0: the model's own size */
  int32_t threads;        /**< generator (LibTorch) threads, 1 … 64; 0: 2. LibTorch's thread
                               count is process-wide: the last context created sets it */
  float half_life;        /**< cursor smoothing in seconds, 0 … 60 (0: no smoothing) */
  uint32_t reserved;      /**< must be 0 */
  uint64_t identity_seed; /**< the face's identity (any value; the same seed, the same face) */
  const char* device;     /**< API 4. Where the generator decodes: "cpu", "cuda" or "cuda:N";
                               NULL: "cpu". Another name is CPX_ERROR_INVALID_ARGUMENT; a CUDA
                               name where the library's LibTorch has no CUDA or that GPU is not
                               visible is CPX_ERROR_NOT_SUPPORTED. Frames still reach
                               cpx_copy_frame/cpx_borrow_frame in host memory (one copy per new
                               face, on the generator thread, never in cpx_update). */
} cpx_create_info;

/** Defaults, with struct_size set: `cpx_create_info info = CPX_CREATE_INFO_INIT;` */
#define CPX_CREATE_INFO_INIT {(uint32_t)sizeof(cpx_create_info), 0u, NULL, 0, 0, 0.12f, 0u, 1u, NULL}

/** Fills *info with the defaults of CPX_CREATE_INFO_INIT (for bindings without macros), up
    to and including identity_seed (API 3's fields), and sets struct_size to their size: a host
    built against an older header is never written past its struct. To choose a device, set
    info->struct_size = sizeof(cpx_create_info) and info->device afterwards. Any thread. */
CPX_API cpx_result CPX_CALL cpx_create_info_init(cpx_create_info* info);

/**
 * Creates a context. `info` may be NULL (all defaults). On success *out_ctx is the new
 * context; on failure it is set to NULL and cpx_last_error(NULL) says why.
 * Model: info->model_path, or, when NULL, the shipped default package: $CIRCUMPLEX_MODEL,
 * share/circumplex/models/default of the prefix this library is installed in (beside its
 * lib/), then beside the executable's bin/, or assets/models/default in the source tree. No default package → CPX_ERROR_MODEL. Loading takes a while (reads
 * the weights; starts the generator thread): create outside your frame loop.
 * Any thread.
 */
CPX_API cpx_result CPX_CALL cpx_create(const cpx_create_info* info, cpx_context** out_ctx);

/** Stops the generator and the OSC sender, releases borrowed frames and frees ctx. NULL is
    a no-op. Must be the last call on ctx: no other thread may be using it. */
CPX_API void CPX_CALL cpx_destroy(cpx_context* ctx);

typedef struct cpx_context_info {
  uint32_t struct_size;     /**< set by the caller: sizeof(cpx_context_info) */
  int32_t dimensions;       /**< 2 (valence, arousal; z stays 0) or 3 (+ z): the model's space */
  int32_t frame_width;      /**< frames handed out (0 in a rig-only context) */
  int32_t frame_height;
  int32_t model_image_size; /**< side of the faces the model generates */
  int32_t rig_only;         /**< 1 when created with CPX_CREATE_RIG_ONLY */
  const char* model_path;   /**< folder the model was loaded from; owned by ctx until destroy */
} cpx_context_info;

/** Facts about a context, fixed at create. Any thread. */
CPX_API cpx_result CPX_CALL cpx_get_info(cpx_context* ctx, cpx_context_info* out_info);

/* ---- control (serialised; typically the game thread) ------------------------------------ */

/** Where the cursor should go: each coordinate finite; the point is clamped onto the unit
    disk (2D, z ignored) or ball (3D). Stops a playing path. Control. */
CPX_API cpx_result CPX_CALL cpx_set_target(cpx_context* ctx, float v, float a, float z);
/** Target = an atlas emotion's direction at `intensity` (0 … 1). Names: any case, aliases
    ("joy"), compounds with '-', '_' or ' ' ("happily sad"). Unknown → CPX_ERROR_UNKNOWN_NAME
    with the closest names in the message. Stops a playing path. Control. */
CPX_API cpx_result CPX_CALL cpx_set_emotion(cpx_context* ctx, const char* name, float intensity);
/** Cursor smoothing: seconds to cover half the remaining distance (0 … 60). Control. */
CPX_API cpx_result CPX_CALL cpx_set_half_life(cpx_context* ctx, float seconds);

/**
 * Advances time by dt seconds (0 … 10): the playing path moves the target, the cursor
 * follows it (critically damped spring, exact at any frame rate), the rig outputs are
 * recomputed and published to readers, the OSC sink is signalled, and the generator is asked
 * for a face when the point moved. Writes the cursor's new position to *out_point
 * (optional: NULL is fine). Never allocates, never waits for the generator (see REAL TIME).
 * Control.
 */
CPX_API cpx_result CPX_CALL cpx_update(cpx_context* ctx, float dt, cpx_affect* out_point);

/** The face's identity from a seed of the model's identity prior. Control. */
CPX_API cpx_result CPX_CALL cpx_set_identity_seed(cpx_context* ctx, uint64_t seed);
/** The face's identity from a photo: RGB (channels 3) or RGBA (4) bytes, top row first,
    `stride_bytes` per row (0: width·channels), 8 … 8192 pixels per side. The largest face is
    found, levelled and aligned to how the model's training faces are framed, then encoded
    (packages made before circumplex 0.2, which state no framing, use the centre square).
    CPX_ERROR_BAD_DATA, with "no face found" in cpx_last_error, when there is no face; the
    identity stays as it was. What it chose on your behalf (several faces, a face turned
    upright, eyes not found) is in cpx_identity_notes. The pixels are read during the call
    only. Runs the detector, the fit of a painted person (for packages trained on procedural
    faces) and the encoder on the calling thread (about 130 ms for a 675-pixel portrait on 2
    threads, `circumplex bench`; the first call on a thread also loads the detector) and waits for a decode in
    progress: keep it off the frame loop. CPX_ERROR_NOT_SUPPORTED in a rig-only context.
    Control. */
CPX_API cpx_result CPX_CALL cpx_set_identity_image(cpx_context* ctx, const uint8_t* pixels, int32_t width,
                                                   int32_t height, int32_t channels, int32_t stride_bytes);
/** The choices the calling thread's most recent successful cpx_set_identity_image on ctx made
    on the caller's behalf, one sentence per line, e.g. "cpx_set_identity_image: 2 faces found;
    the largest is used" or "... the face was lying on its side; it was turned a quarter
    clockwise"; "" when it made none or there was no such call. Owned by ctx; valid until the
    same thread's next successful cpx_set_identity_image on ctx, or cpx_destroy(ctx). Never
    NULL. Any thread. Since API 5. */
CPX_API const char* CPX_CALL cpx_identity_notes(const cpx_context* ctx);
/** Saves the current identity to `path` (UTF-8): a small safetensors file holding the latent
    and the model package's weight fingerprint, written atomically. An installation encodes a
    visitor's photo once and reuses it (`circumplex render --identity-file` reads it too).
    CPX_ERROR_IO naming the path when it cannot be written. Control. Since API 3. */
CPX_API cpx_result CPX_CALL cpx_save_identity(cpx_context* ctx, const char* path);
/** Sets the identity from a file cpx_save_identity (or `circumplex render --save-identity`)
    wrote for the same model package. CPX_ERROR_BAD_DATA naming the file for an identity of
    another package or a damaged file, CPX_ERROR_IO for a missing one; the identity stays as it
    was then. Works in rig-only contexts too. Control. Since API 3. */
CPX_API cpx_result CPX_CALL cpx_load_identity(cpx_context* ctx, const char* path);

/* ---- paths (control) -------------------------------------------------------------------- */

/** Plays C2A2's circle walk (theta, phi in radians, finite; radius 0 < r ≤ 1; period
    seconds > 0, ≤ 3600): the circle of radius r in the plane with normal
    (sin θ cos φ, sin θ sin φ, cos θ); θ = 0 is the valence–arousal circle, starting at
    (r, 0, 0), counter-clockwise. Repeats until stopped or a target is set. Control. */
CPX_API cpx_result CPX_CALL cpx_play_circle_walk(cpx_context* ctx, float theta, float phi, float radius, float period);
/** Plays neutral → `emotion` at `intensity` (0 … 1) along its axis over `duration` s (> 0,
    ≤ 3600); `loop` non-zero repeats it, else the cursor stays at the end. Control. */
CPX_API cpx_result CPX_CALL cpx_play_emotion_axis(cpx_context* ctx, const char* emotion, float intensity,
                                                  float duration, int32_t loop);

typedef enum cpx_between_style {
  CPX_BETWEEN_STRAIGHT = 0, /**< straight line from one emotion to the other */
  CPX_BETWEEN_SPHERE = 1,   /**< along the sphere: direction slerped, radius interpolated */
  CPX_BETWEEN_STYLE_MAX_ENUM = 0x7fffffff
} cpx_between_style;

/** Plays emotion `from` → `to`, both at `intensity` (0 … 1), over `duration` s. Control. */
CPX_API cpx_result CPX_CALL cpx_play_between(cpx_context* ctx, const char* from, const char* to, float intensity,
                                             float duration, cpx_between_style style, int32_t loop);
/** Plays a scripted path from a CSV file "t,v,a[,z]" (header optional; '#' comments).
    A bad row → CPX_ERROR_BAD_DATA naming its line; a missing file → CPX_ERROR_IO. Control. */
CPX_API cpx_result CPX_CALL cpx_play_csv(cpx_context* ctx, const char* csv_path, int32_t loop);
/** Stops a playing path; the cursor settles where the target was. Control. */
CPX_API cpx_result CPX_CALL cpx_stop_path(cpx_context* ctx);

/* ---- reading the rig outputs (any thread, lock-free) ------------------------------------ */

/** Copies the current outputs of `kind` into out_values[0 … count-1]. `capacity` is the
    array's length in floats; smaller than the kind's count → CPX_ERROR_BUFFER_TOO_SMALL.
    The values of one call all come from the same cpx_update. Any thread; no lock, no
    allocation. */
CPX_API cpx_result CPX_CALL cpx_get_outputs(cpx_context* ctx, cpx_output_kind kind, float* out_values,
                                            int32_t capacity);

typedef struct cpx_state {
  uint32_t struct_size;    /**< set by the caller: sizeof(cpx_state) */
  int32_t nearest_emotion; /**< atlas index (cpx_emotion_name) of the nearest emotion */
  uint64_t update_count;   /**< cpx_update calls so far (0 right after create) */
  double time;             /**< sum of the dt of those calls, seconds */
  cpx_affect position;     /**< the cursor */
  cpx_affect target;       /**< where it is heading */
  int32_t playing;         /**< 1 while a path plays */
  float intensity;         /**< |position| */
} cpx_state;

/** The cursor state published by the last cpx_update. Any thread; no lock. */
CPX_API cpx_result CPX_CALL cpx_get_state(cpx_context* ctx, cpx_state* out_state);
/** Name of the atlas emotion nearest the cursor (static string). Any thread; no lock. */
CPX_API cpx_result CPX_CALL cpx_nearest_emotion(cpx_context* ctx, const char** out_name);

/* ---- frames (any thread, e.g. the render thread) ---------------------------------------- */

typedef struct cpx_frame {
  uint32_t struct_size;  /**< set by the caller: sizeof(cpx_frame) */
  int32_t width;         /**< pixels */
  int32_t height;
  int32_t stride;        /**< bytes per row: width · 4 */
  uint64_t sequence;     /**< 1, 2, 3, … in the order faces were finished */
  cpx_affect affect;     /**< the point this face shows (it trails the cursor a little) */
  const uint8_t* pixels; /**< RGBA8, top row first; set by cpx_borrow_frame only, else NULL */
} cpx_frame;

/** Is there a face newer than `since_sequence` (0: any)? *out_is_new = 1 or 0;
    *out_latest_sequence (optional) = the newest face's sequence, 0 before the first.
    CPX_ERROR_NOT_SUPPORTED in a rig-only context. Any thread. */
CPX_API cpx_result CPX_CALL cpx_poll_frame(cpx_context* ctx, uint64_t since_sequence, int32_t* out_is_new,
                                           uint64_t* out_latest_sequence);
/** Waits until the face asked for by the latest cpx_update (its point and the identity set
    before it) is finished, at most `timeout_s` seconds (0 … 60) → CPX_ERROR_TIMEOUT. Then
    cpx_copy_frame gives that face, e.g. the first face of a visitor's photo, unless a later
    cpx_update has asked for another (or drawing it failed: the face is then an older one,
    which cpx_frame.affect tells). A newest face whose affect matches the cursor is not enough:
    an identity change keeps the point. Blocks: for captures, tools and tests, not the frame
    loop. CPX_ERROR_NOT_SUPPORTED in a rig-only context. Any thread. Since API 6. */
CPX_API cpx_result CPX_CALL cpx_wait_frame(cpx_context* ctx, float timeout_s);
/** Copies the newest face into `dst` (RGBA8, rows packed: width · 4 bytes each) and
    describes it in *out_frame (optional; its pixels is set to NULL). dst_size < width ·
    height · 4 → CPX_ERROR_BUFFER_TOO_SMALL; none yet → CPX_ERROR_NO_FRAME. Any thread. */
CPX_API cpx_result CPX_CALL cpx_copy_frame(cpx_context* ctx, uint8_t* dst, size_t dst_size, cpx_frame* out_frame);
/** Lends the newest face without copying: out_frame->pixels stays valid and unchanged until
    cpx_release_frame(ctx, pixels) or cpx_destroy(ctx), even while newer faces arrive. At most
    CPX_MAX_BORROWS borrows per context at once (then CPX_ERROR_LIMIT). Any thread. */
CPX_API cpx_result CPX_CALL cpx_borrow_frame(cpx_context* ctx, cpx_frame* out_frame);
/** Returns a borrow; `pixels` is the pointer cpx_borrow_frame gave. One release per borrow;
    an unknown pointer → CPX_ERROR_INVALID_ARGUMENT. Any thread. */
CPX_API cpx_result CPX_CALL cpx_release_frame(cpx_context* ctx, const uint8_t* pixels);
#define CPX_MAX_BORROWS 8

/* ---- recording (control) ---------------------------------------------------------------- */

/** Writes the path last played (circle walk, axis, between, CSV) as CSV "t,v,a,z" sampled at
    `fps` (1 … 1000) to `csv_path`. Nothing played yet → CPX_ERROR_INVALID_STATE. Control. */
CPX_API cpx_result CPX_CALL cpx_export_path_csv(cpx_context* ctx, const char* csv_path, float fps);
/** Renders the path last played to video offline: `out_dir`/walk.mp4 (H.264 or MPEG-4),
    frames/frame_NNNNN.png, path.csv and contact_sheet.png, every frame at `fps` (1 … 240),
    `size` pixels square (16 … 2048; 0: the model's size), with the context's current
    identity. Uses circumplex's one recorder (runtime recorder.hpp, as `circumplex render walk`) with a generator of
    its own: it blocks the calling thread for the whole render (seconds) but not the other
    calls on ctx, and prints a progress line to stderr. *out_frames (optional) = frames
    written. Control. */
CPX_API cpx_result CPX_CALL cpx_export_path_video(cpx_context* ctx, const char* out_dir, float fps, int32_t size,
                                                  uint64_t* out_frames);
/** Starts recording the live cursor: each cpx_update appends (t, v, a, z) to a buffer of
    `max_samples` (1 … 10^7, 16 bytes each) allocated here (so cpx_update still never allocates); samples
    beyond it are dropped and counted. Replaces a recording in progress. Control. */
CPX_API cpx_result CPX_CALL cpx_record_begin(cpx_context* ctx, uint32_t max_samples);
/** Ends the recording and writes it as CSV "t,v,a,z" (t: seconds since cpx_record_begin)
    to `csv_path` (NULL: discard). *out_samples (optional) = samples kept; *out_dropped
    (optional) = samples dropped. If the file cannot be written (CPX_ERROR_IO) the recording
    goes on, so the call can be retried with another path. No recording →
    CPX_ERROR_INVALID_STATE. Control. */
CPX_API cpx_result CPX_CALL cpx_record_end(cpx_context* ctx, const char* csv_path, uint64_t* out_samples,
                                           uint64_t* out_dropped);

/* ---- OSC output (control to set up; a sender thread of its own) -------------------------- */

typedef enum cpx_osc_mode {
  CPX_OSC_VRCHAT = 0,  /**< "/avatar/parameters/<Name>" with one float per chosen output, e.g.
                            .../jawOpen. For local (unsynced) parameters: 52 floats are far
                            beyond VRChat's 256 synced bits; see CPX_OSC_VRCHAT_BUDGET */
  CPX_OSC_GENERIC = 1, /**< "<prefix>/<kind>/<Name>" with one float, kind = au, arkit, vrm,
                            affect; plus "<prefix>/emotion" with the nearest emotion's name
                            (a string) when affect is chosen. For TouchDesigner, Max, … */
  CPX_OSC_VRCHAT_BUDGET = 2, /**< (API 2) what a VRChat avatar can sync: floats
                            /avatar/parameters/CircumplexValence, …/CircumplexArousal,
                            …/CircumplexZ, …/CircumplexIntensity (-1 … 1, 0 … 1) and the int
                            …/CircumplexEmotion (the atlas index of the nearest emotion):
                            5 × 8 = 40 of the 256 synced bits. `outputs` is ignored */
  CPX_OSC_VMC = 3,     /**< (API 2) the VMC protocol (VSeeFace, VMagicMirror, Warudo, VNyan):
                            one bundle per update: /VMC/Ext/OK (int 1), /VMC/Ext/T (float, the
                            context's time), /VMC/Ext/Blend/Val (string name, float value) per
                            blendshape of `vmc_names`, then /VMC/Ext/Blend/Apply. Receivers
                            listen on port 39539 by convention. `outputs` is ignored */
  CPX_OSC_MODE_MAX_ENUM = 0x7fffffff
} cpx_osc_mode;

/** (API 2) The blendshape names CPX_OSC_VMC sends. */
typedef enum cpx_vmc_names {
  CPX_VMC_VRM0 = 0,  /**< VRM 0.x presets: Joy Angry Sorrow Fun A I U E O Blink Blink_L Blink_R
                          LookUp LookDown LookLeft LookRight Neutral (VRM 1.0's "surprised" has
                          no 0.x preset and is not sent) */
  CPX_VMC_VRM1 = 1,  /**< VRM 1.0 expressions: happy angry sad relaxed surprised aa ih ou ee oh
                          blink blinkLeft blinkRight lookUp lookDown lookLeft lookRight neutral */
  CPX_VMC_ARKIT = 2, /**< the 52 ARKit names as Apple spells them (eyeBlinkLeft …): the clips of
                          "Perfect Sync" avatars */
  CPX_VMC_NAMES_MAX_ENUM = 0x7fffffff
} cpx_vmc_names;

typedef struct cpx_osc_info {
  uint32_t struct_size; /**< sizeof(cpx_osc_info) */
  cpx_osc_mode mode;
  const char* host;     /**< receiver's host name or address; copied */
  int32_t port;         /**< UDP port, 1 … 65535 (VRChat listens on 9000) */
  uint32_t outputs;     /**< CPX_OUTPUT_BIT(kind) mask of what to send; not 0 */
  const char* prefix;   /**< generic mode: address prefix starting with '/', NULL:
                             "/circumplex"; ignored in the other modes; copied */
  /* ---- API 2 (a host built against API 1 passes a smaller struct_size: these take their
          defaults) ---- */
  cpx_vmc_names vmc_names; /**< CPX_OSC_VMC: which names (default CPX_VMC_VRM0) */
} cpx_osc_info;

#define CPX_OSC_INFO_INIT \
  {(uint32_t)sizeof(cpx_osc_info), CPX_OSC_VRCHAT, "127.0.0.1", 9000, CPX_OUTPUT_BIT(CPX_OUTPUT_ARKIT), NULL, CPX_VMC_VRM0}

/**
 * Starts sending the chosen outputs to host:port over UDP (liblo), one message per value,
 * after every cpx_update. A sender thread does the sending: cpx_update only signals it (no
 * allocation, no system call waits), so a slow or absent receiver never stalls the update.
 * If updates come faster than the sender, it sends the newest state and skips the ones in
 * between. The current state goes out at once on open. One sink per context: opening
 * replaces a sink already open. Control.
 */
CPX_API cpx_result CPX_CALL cpx_osc_open(cpx_context* ctx, const cpx_osc_info* info);
/** Stops the sender (joins its thread); no sink → CPX_OK. Control. */
CPX_API cpx_result CPX_CALL cpx_osc_close(cpx_context* ctx);

typedef struct cpx_osc_stats {
  uint32_t struct_size;    /**< set by the caller: sizeof(cpx_osc_stats) */
  uint32_t open;           /**< 1 while a sink is open */
  uint64_t updates_sent;   /**< updates whose values went out */
  uint64_t messages_sent;  /**< OSC messages sent */
  uint64_t send_errors;    /**< messages the network refused */
} cpx_osc_stats;

/** Counters of the open sink (zeros when none). Any thread. */
CPX_API cpx_result CPX_CALL cpx_osc_get_stats(cpx_context* ctx, cpx_osc_stats* out_stats);
/** Waits until the values of the latest cpx_update have been sent, at most `timeout_s`
    seconds (0 … 60) → CPX_ERROR_TIMEOUT. For tests and shutdown, not the frame loop. No
    sink → CPX_ERROR_INVALID_STATE. Any thread. */
CPX_API cpx_result CPX_CALL cpx_osc_flush(cpx_context* ctx, float timeout_s);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CIRCUMPLEX_H */
