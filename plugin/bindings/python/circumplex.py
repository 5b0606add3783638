"""circumplex — Python bindings (ctypes) for libcircumplex.so, the C ABI of circumplex.

A face's emotional expression on a cursor on Russell's circumplex (valence × arousal, plus
C2A2's z): steer the cursor, update it every frame, read the rig outputs (17 FACS AUs, the 52
ARKit blendshapes, the 18 VRM presets) and the generated face frames.

    import circumplex
    with circumplex.Context(model="assets/models/default") as ctx:
        ctx.play_circle_walk(0.0, 0.0, 0.8, 4.0)
        for _ in range(240):
            v, a, z = ctx.update(1 / 60)
            weights = ctx.arkit()            # {"eyeBlinkLeft": 0.0, …, "jawOpen": 0.12, …}

Failing calls raise CircumplexError (with .code, the C result code, and the library's
message). The library is found through $CIRCUMPLEX_LIB, next to this file, or the system
search path (LD_LIBRARY_PATH). The threading rules are the C ABI's (see circumplex.h).
"""
import ctypes
import ctypes.util
import os

__all__ = ["Context", "CircumplexError", "output_names", "output_index", "emotion_names", "version",
           "OUTPUT_AU", "OUTPUT_ARKIT", "OUTPUT_VRM", "OUTPUT_AFFECT", "OSC_VRCHAT", "OSC_GENERIC",
           "OSC_VRCHAT_BUDGET", "OSC_VMC", "VMC_VRM0", "VMC_VRM1", "VMC_ARKIT",
           "BETWEEN_STRAIGHT", "BETWEEN_SPHERE"]

OUTPUT_AU, OUTPUT_ARKIT, OUTPUT_VRM, OUTPUT_AFFECT = 0, 1, 2, 3
OSC_VRCHAT, OSC_GENERIC, OSC_VRCHAT_BUDGET, OSC_VMC = 0, 1, 2, 3
VMC_VRM0, VMC_VRM1, VMC_ARKIT = 0, 1, 2
BETWEEN_STRAIGHT, BETWEEN_SPHERE = 0, 1
CREATE_RIG_ONLY = 0x1
CREATE_KEEP_DETAIL = 0x2  # API 7: an image identity keeps the image's own detail (see circumplex.h)
ERROR_NO_FRAME = 6
API_VERSION = 7  # the CPX_API_VERSION these bindings are written against


class Affect(ctypes.Structure):
    _fields_ = [("v", ctypes.c_float), ("a", ctypes.c_float), ("z", ctypes.c_float)]


class CreateInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("model_path", ctypes.c_char_p),
                ("frame_size", ctypes.c_int32), ("threads", ctypes.c_int32), ("half_life", ctypes.c_float),
                ("reserved", ctypes.c_uint32), ("identity_seed", ctypes.c_uint64),
                ("device", ctypes.c_char_p)]  # API 4


class ContextInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("dimensions", ctypes.c_int32), ("frame_width", ctypes.c_int32),
                ("frame_height", ctypes.c_int32), ("model_image_size", ctypes.c_int32), ("rig_only", ctypes.c_int32),
                ("model_path", ctypes.c_char_p)]


class State(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("nearest_emotion", ctypes.c_int32), ("update_count", ctypes.c_uint64),
                ("time", ctypes.c_double), ("position", Affect), ("target", Affect), ("playing", ctypes.c_int32),
                ("intensity", ctypes.c_float)]


class Frame(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("width", ctypes.c_int32), ("height", ctypes.c_int32),
                ("stride", ctypes.c_int32), ("sequence", ctypes.c_uint64), ("affect", Affect),
                ("pixels", ctypes.c_void_p)]


class OscInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("mode", ctypes.c_int32), ("host", ctypes.c_char_p),
                ("port", ctypes.c_int32), ("outputs", ctypes.c_uint32), ("prefix", ctypes.c_char_p),
                ("vmc_names", ctypes.c_int32)]  # API 2


class OscStats(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("open", ctypes.c_uint32), ("updates_sent", ctypes.c_uint64),
                ("messages_sent", ctypes.c_uint64), ("send_errors", ctypes.c_uint64)]


class CircumplexError(Exception):
    """A failed call: .code is the cpx_result, .name its name, str() the library's message."""

    def __init__(self, code, name, message):
        super().__init__(f"{name}: {message}")
        self.code, self.name, self.message = code, name, message


_lib = None
_ctx_p = ctypes.c_void_p
_P = ctypes.POINTER


def _signatures(lib):
    r = ctypes.c_int  # cpx_result
    f, i32, u32, u64, s = ctypes.c_float, ctypes.c_int32, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_char_p
    table = {
        "cpx_version": (u32, []), "cpx_version_string": (s, []), "cpx_api_version": (u32, []),
        "cpx_result_name": (s, [r]), "cpx_last_error": (s, [_ctx_p]), "cpx_identity_notes": (s, [_ctx_p]),
        "cpx_output_count": (r, [i32, _P(i32)]), "cpx_output_name": (r, [i32, i32, _P(s)]),
        "cpx_output_index": (r, [i32, s, _P(i32)]),
        "cpx_emotion_count": (r, [_P(i32)]), "cpx_emotion_name": (r, [i32, _P(s)]),
        "cpx_create_info_init": (r, [_P(CreateInfo)]), "cpx_create": (r, [_P(CreateInfo), _P(_ctx_p)]),
        "cpx_destroy": (None, [_ctx_p]), "cpx_get_info": (r, [_ctx_p, _P(ContextInfo)]),
        "cpx_set_target": (r, [_ctx_p, f, f, f]), "cpx_set_emotion": (r, [_ctx_p, s, f]),
        "cpx_set_half_life": (r, [_ctx_p, f]), "cpx_update": (r, [_ctx_p, f, _P(Affect)]),
        "cpx_set_identity_seed": (r, [_ctx_p, u64]),
        "cpx_set_identity_image": (r, [_ctx_p, ctypes.c_void_p, i32, i32, i32, i32]),
        "cpx_save_identity": (r, [_ctx_p, s]), "cpx_load_identity": (r, [_ctx_p, s]),
        "cpx_play_circle_walk": (r, [_ctx_p, f, f, f, f]), "cpx_play_emotion_axis": (r, [_ctx_p, s, f, f, i32]),
        "cpx_play_between": (r, [_ctx_p, s, s, f, f, i32, i32]), "cpx_play_csv": (r, [_ctx_p, s, i32]),
        "cpx_stop_path": (r, [_ctx_p]),
        "cpx_get_outputs": (r, [_ctx_p, i32, _P(f), i32]), "cpx_get_state": (r, [_ctx_p, _P(State)]),
        "cpx_nearest_emotion": (r, [_ctx_p, _P(s)]),
        "cpx_poll_frame": (r, [_ctx_p, u64, _P(i32), _P(u64)]), "cpx_wait_frame": (r, [_ctx_p, f]),
        "cpx_copy_frame": (r, [_ctx_p, ctypes.c_void_p, ctypes.c_size_t, _P(Frame)]),
        "cpx_borrow_frame": (r, [_ctx_p, _P(Frame)]), "cpx_release_frame": (r, [_ctx_p, ctypes.c_void_p]),
        "cpx_export_path_csv": (r, [_ctx_p, s, f]), "cpx_export_path_video": (r, [_ctx_p, s, f, i32, _P(u64)]),
        "cpx_record_begin": (r, [_ctx_p, u32]), "cpx_record_end": (r, [_ctx_p, s, _P(u64), _P(u64)]),
        "cpx_osc_open": (r, [_ctx_p, _P(OscInfo)]), "cpx_osc_close": (r, [_ctx_p]),
        "cpx_osc_get_stats": (r, [_ctx_p, _P(OscStats)]), "cpx_osc_flush": (r, [_ctx_p, f]),
    }
    for name, (restype, argtypes) in table.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes


def load(path=None):
    """Loads libcircumplex.so (once): `path`, $CIRCUMPLEX_LIB, beside this file, or the search path."""
    global _lib
    if _lib is not None:
        return _lib
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [path, os.environ.get("CIRCUMPLEX_LIB"), os.path.join(here, "libcircumplex.so"),
                  "libcircumplex.so", ctypes.util.find_library("circumplex")]
    errors = []
    for c in candidates:
        if not c:
            continue
        try:
            lib = ctypes.CDLL(c)
        except OSError as e:
            errors.append(f"{c}: {e}")
            continue
        _signatures(lib)
        if lib.cpx_api_version() < API_VERSION:
            raise CircumplexError(0, "CPX_API_VERSION", f"{c} implements API {lib.cpx_api_version()}, need {API_VERSION}")
        _lib = lib
        return lib
    raise OSError("cannot load libcircumplex.so (set CIRCUMPLEX_LIB or LD_LIBRARY_PATH): " + "; ".join(errors))


def _check(code, ctx=None):
    if code != 0:
        lib = load()
        raise CircumplexError(code, lib.cpx_result_name(code).decode(), lib.cpx_last_error(ctx).decode())


def version():
    """The loaded library's version string, e.g. "0.1.0"."""
    return load().cpx_version_string().decode()


def output_names(kind):
    """Names of the outputs of a kind (OUTPUT_AU, OUTPUT_ARKIT, OUTPUT_VRM, OUTPUT_AFFECT), in order."""
    lib = load()
    n = ctypes.c_int32()
    _check(lib.cpx_output_count(kind, ctypes.byref(n)))
    names = []
    for i in range(n.value):
        s = ctypes.c_char_p()
        _check(lib.cpx_output_name(kind, i, ctypes.byref(s)))
        names.append(s.value.decode())
    return names


def output_index(kind, name):
    lib = load()
    i = ctypes.c_int32()
    _check(lib.cpx_output_index(kind, name.encode(), ctypes.byref(i)))
    return i.value


def emotion_names():
    lib = load()
    n = ctypes.c_int32()
    _check(lib.cpx_emotion_count(ctypes.byref(n)))
    out = []
    for i in range(n.value):
        s = ctypes.c_char_p()
        _check(lib.cpx_emotion_name(i, ctypes.byref(s)))
        out.append(s.value.decode())
    return out


class Context:
    """One circumplex engine instance (cpx_context). Close it (or use `with`) when done."""

    def __init__(self, model=None, rig_only=False, frame_size=0, threads=0, half_life=0.12, identity_seed=1,
                 library=None, device=None, keep_detail=False):
        self._lib = load(library)
        info = CreateInfo()
        _check(self._lib.cpx_create_info_init(ctypes.byref(info)))  # API 3's fields
        info.struct_size = ctypes.sizeof(CreateInfo)
        self._device = device.encode() if device is not None else None  # "cpu", "cuda" or "cuda:N"
        info.device = self._device
        self._model = model.encode() if model is not None else None  # kept alive during create
        info.model_path = self._model
        info.flags = (CREATE_RIG_ONLY if rig_only else 0) | (CREATE_KEEP_DETAIL if keep_detail else 0)
        info.frame_size, info.threads, info.half_life, info.identity_seed = frame_size, threads, half_life, identity_seed
        self._ctx = _ctx_p()
        _check(self._lib.cpx_create(ctypes.byref(info), ctypes.byref(self._ctx)))
        self._weights = {k: (ctypes.c_float * 52)() for k in (OUTPUT_AU, OUTPUT_ARKIT, OUTPUT_VRM, OUTPUT_AFFECT)}
        self._names = {k: output_names(k) for k in self._weights}

    def close(self):
        if getattr(self, "_ctx", None):
            self._lib.cpx_destroy(self._ctx)
            self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _call(self, code):
        _check(code, self._ctx)

    @property
    def handle(self):
        if not self._ctx:
            raise CircumplexError(1, "CPX_ERROR_INVALID_HANDLE", "the context is closed")
        return self._ctx

    def info(self):
        i = ContextInfo(struct_size=ctypes.sizeof(ContextInfo))
        self._call(self._lib.cpx_get_info(self.handle, ctypes.byref(i)))
        return {"dimensions": i.dimensions, "frame_width": i.frame_width, "frame_height": i.frame_height,
                "model_image_size": i.model_image_size, "rig_only": bool(i.rig_only),
                "model_path": i.model_path.decode()}

    # ---- control ----
    def set_target(self, v, a, z=0.0):
        self._call(self._lib.cpx_set_target(self.handle, v, a, z))

    def set_emotion(self, name, intensity=1.0):
        self._call(self._lib.cpx_set_emotion(self.handle, name.encode(), intensity))

    def set_half_life(self, seconds):
        self._call(self._lib.cpx_set_half_life(self.handle, seconds))

    def update(self, dt):
        """Advances dt seconds; returns the cursor (v, a, z)."""
        p = Affect()
        self._call(self._lib.cpx_update(self.handle, dt, ctypes.byref(p)))
        return (p.v, p.a, p.z)

    def set_identity_seed(self, seed):
        self._call(self._lib.cpx_set_identity_seed(self.handle, seed))

    def set_identity_image(self, pixels, width, height, channels=4, stride=0):
        """The identity from a photo; returns what was chosen on your behalf (a list of sentences:
        several faces, a face turned upright, eyes not found)."""
        buf = (ctypes.c_uint8 * len(pixels)).from_buffer_copy(bytes(pixels))
        self._call(self._lib.cpx_set_identity_image(self.handle, buf, width, height, channels, stride))
        notes = self._lib.cpx_identity_notes(self.handle).decode()
        return notes.split("\n") if notes else []

    def save_identity(self, path):
        """Saves the current identity (e.g. a visitor's photo, encoded once) for this model package."""
        self._call(self._lib.cpx_save_identity(self.handle, os.fsencode(path)))

    def load_identity(self, path):
        """Sets the identity saved by save_identity (or `circumplex render --save-identity`)."""
        self._call(self._lib.cpx_load_identity(self.handle, os.fsencode(path)))

    def play_circle_walk(self, theta, phi, radius, period):
        self._call(self._lib.cpx_play_circle_walk(self.handle, theta, phi, radius, period))

    def play_emotion_axis(self, emotion, intensity, duration, loop=False):
        self._call(self._lib.cpx_play_emotion_axis(self.handle, emotion.encode(), intensity, duration, int(loop)))

    def play_between(self, a, b, intensity, duration, style=BETWEEN_SPHERE, loop=False):
        self._call(self._lib.cpx_play_between(self.handle, a.encode(), b.encode(), intensity, duration, style, int(loop)))

    def play_csv(self, path, loop=False):
        self._call(self._lib.cpx_play_csv(self.handle, os.fsencode(path), int(loop)))

    def stop_path(self):
        self._call(self._lib.cpx_stop_path(self.handle))

    # ---- readers (any thread) ----
    def outputs(self, kind):
        """The current outputs of a kind as a list of floats."""
        buf = self._weights[kind]
        self._call(self._lib.cpx_get_outputs(self.handle, kind, buf, 52))
        return list(buf[:len(self._names[kind])])

    def arkit(self):
        """The 52 ARKit weights as {name: weight}."""
        return dict(zip(self._names[OUTPUT_ARKIT], self.outputs(OUTPUT_ARKIT)))

    def vrm(self):
        return dict(zip(self._names[OUTPUT_VRM], self.outputs(OUTPUT_VRM)))

    def action_units(self):
        return dict(zip(self._names[OUTPUT_AU], self.outputs(OUTPUT_AU)))

    def state(self):
        s = State(struct_size=ctypes.sizeof(State))
        self._call(self._lib.cpx_get_state(self.handle, ctypes.byref(s)))
        return {"update_count": s.update_count, "time": s.time, "position": (s.position.v, s.position.a, s.position.z),
                "target": (s.target.v, s.target.a, s.target.z), "playing": bool(s.playing),
                "intensity": s.intensity, "nearest_emotion": s.nearest_emotion}

    def nearest_emotion(self):
        s = ctypes.c_char_p()
        self._call(self._lib.cpx_nearest_emotion(self.handle, ctypes.byref(s)))
        return s.value.decode()

    # ---- frames ----
    def poll_frame(self, since=0):
        """The newest frame's sequence if newer than `since`, else 0."""
        is_new, latest = ctypes.c_int32(), ctypes.c_uint64()
        self._call(self._lib.cpx_poll_frame(self.handle, since, ctypes.byref(is_new), ctypes.byref(latest)))
        return latest.value if is_new.value else 0

    def wait_frame(self, timeout_s=10.0):
        """Waits until the face asked for by the latest update is finished (API 6); raises
        CircumplexError CPX_ERROR_TIMEOUT after timeout_s. Not for the frame loop."""
        self._call(self._lib.cpx_wait_frame(self.handle, timeout_s))

    def copy_frame(self):
        """(rgba bytes, width, height, sequence, (v, a, z)) of the newest frame, or None before the first."""
        info = self.info()
        size = info["frame_width"] * info["frame_height"] * 4
        buf = (ctypes.c_uint8 * size)()
        f = Frame(struct_size=ctypes.sizeof(Frame))
        code = self._lib.cpx_copy_frame(self.handle, buf, size, ctypes.byref(f))
        if code == ERROR_NO_FRAME:
            return None
        self._call(code)
        return bytes(buf), f.width, f.height, f.sequence, (f.affect.v, f.affect.a, f.affect.z)

    # ---- recording ----
    def export_path_csv(self, path, fps=30.0):
        self._call(self._lib.cpx_export_path_csv(self.handle, os.fsencode(path), fps))

    def export_path_video(self, out_dir, fps=30.0, size=0):
        n = ctypes.c_uint64()
        self._call(self._lib.cpx_export_path_video(self.handle, os.fsencode(out_dir), fps, size, ctypes.byref(n)))
        return n.value

    def record_begin(self, max_samples):
        self._call(self._lib.cpx_record_begin(self.handle, max_samples))

    def record_end(self, csv_path=None):
        """Ends the live recording (written to csv_path unless None); returns (kept, dropped)."""
        kept, dropped = ctypes.c_uint64(), ctypes.c_uint64()
        path = os.fsencode(csv_path) if csv_path is not None else None
        self._call(self._lib.cpx_record_end(self.handle, path, ctypes.byref(kept), ctypes.byref(dropped)))
        return kept.value, dropped.value

    # ---- OSC ----
    def osc_open(self, host="127.0.0.1", port=9000, mode=OSC_VRCHAT, outputs=(OUTPUT_ARKIT,), prefix=None,
                 vmc_names=VMC_VRM0):
        """Starts the OSC sink: OSC_VRCHAT / OSC_GENERIC send the chosen outputs one message
        per value; OSC_VRCHAT_BUDGET sends what a VRChat avatar can sync; OSC_VMC sends VMC
        protocol bundles with the names of vmc_names (VMC_VRM0, VMC_VRM1, VMC_ARKIT)."""
        mask = 0
        for k in outputs:
            mask |= 1 << k
        info = OscInfo(struct_size=ctypes.sizeof(OscInfo), mode=mode, host=host.encode(), port=port, outputs=mask,
                       prefix=prefix.encode() if prefix else None, vmc_names=vmc_names)
        self._call(self._lib.cpx_osc_open(self.handle, ctypes.byref(info)))

    def osc_close(self):
        self._call(self._lib.cpx_osc_close(self.handle))

    def osc_flush(self, timeout_s=5.0):
        self._call(self._lib.cpx_osc_flush(self.handle, timeout_s))

    def osc_stats(self):
        s = OscStats(struct_size=ctypes.sizeof(OscStats))
        self._call(self._lib.cpx_osc_get_stats(self.handle, ctypes.byref(s)))
        return {"open": bool(s.open), "updates_sent": s.updates_sent, "messages_sent": s.messages_sent,
                "send_errors": s.send_errors}
