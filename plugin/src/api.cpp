// plugin/src/api.cpp — the C ABI's entry points (see plugin/include/circumplex.h).
//
// Every entry point runs its body inside guarded(): any exception becomes a result code and
// a message (per context and thread, or thread-local without a live context), so nothing
// thrown ever crosses the boundary. Arguments are checked before any state changes.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <type_traits>
#include <utility>
#include <opencv2/imgproc.hpp>

#include "circumplex/photo.hpp"
#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/paths.hpp"
#include "circumplex/files.hpp"
#include "context.hpp"

using namespace circumplex;
using circumplex::plugin::ApiError;
using circumplex::plugin::fail;

namespace {

#define CPX_STR2(x) #x
#define CPX_STR(x) CPX_STR2(x)
const char kVersionString[] = CPX_STR(CPX_VERSION_MAJOR) "." CPX_STR(CPX_VERSION_MINOR) "." CPX_STR(CPX_VERSION_PATCH);

thread_local std::string tls_error;  // failures without a live context

bool is_live(const cpx_context* ctx) noexcept { return ctx != nullptr && ctx->magic == plugin::kMagic; }

cpx_result record_error(const cpx_context* ctx, cpx_result code, const char* message) noexcept {
  try {
    if (is_live(ctx)) {
      std::lock_guard<std::mutex> lock(ctx->error_mutex);
      ctx->errors[std::this_thread::get_id()] = message;
    } else {
      tls_error = message;
    }
  } catch (...) {
    // Out of memory while keeping the message: the code still tells what happened.
  }
  return code;
}

cpx_result code_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return CPX_ERROR_INVALID_ARGUMENT;
    case ErrorKind::BadData: return CPX_ERROR_BAD_DATA;
    case ErrorKind::Io: return CPX_ERROR_IO;
    case ErrorKind::Internal: break;
  }
  return CPX_ERROR_INTERNAL;
}

/// Runs `body` (which returns a cpx_result) and turns every exception into a result code.
template <class F>
cpx_result guarded(const cpx_context* ctx, F&& body) noexcept {
  try {
    return body();
  } catch (const ApiError& e) {
    return record_error(ctx, e.code(), e.what());
  } catch (const Error& e) {
    return record_error(ctx, code_of(e.kind()), e.what());
  } catch (const std::bad_alloc&) {
    return record_error(ctx, CPX_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::filesystem::filesystem_error& e) {
    // A folder that cannot be made, a full disk: the file system's failure, not a bug.
    return record_error(ctx, CPX_ERROR_IO, e.what());
  } catch (const std::exception& e) {
    try {
      return record_error(ctx, CPX_ERROR_INTERNAL, (std::string("internal error: ") + e.what()).c_str());
    } catch (...) {
      return record_error(ctx, CPX_ERROR_INTERNAL, "internal error");
    }
  } catch (...) {
    return record_error(ctx, CPX_ERROR_INTERNAL, "internal error: an unknown exception");
  }
}

cpx_context& live(cpx_context* ctx) {
  if (!ctx) fail(CPX_ERROR_INVALID_HANDLE, "ctx is NULL (a failed cpx_create leaves the handle NULL)");
  if (ctx->magic != plugin::kMagic) fail(CPX_ERROR_INVALID_HANDLE, "ctx is not a live circumplex context");
  return *ctx;
}

template <class P>
void need(const P* p, const char* name) {
  if (!p) fail(CPX_ERROR_NULL_POINTER, std::string(name) + " must not be NULL");
}

void need_range(double x, double lo, double hi, const char* name) {
  if (!std::isfinite(x)) fail(CPX_ERROR_INVALID_ARGUMENT, std::string(name) + " must be a finite number (got " + std::to_string(x) + ")");
  if (x < lo || x > hi) {
    char text[200];
    std::snprintf(text, sizeof text, "%s must be in [%g, %g] (got %g)", name, lo, hi, x);
    fail(CPX_ERROR_INVALID_ARGUMENT, text);
  }
}

void need_finite(double x, const char* name) { need_range(x, -HUGE_VAL, HUGE_VAL, name); }

/// A struct's size in API 1: hosts built then pass it as struct_size, and fields appended
/// since take their defaults (the VERSIONS rule in circumplex.h).
template <class S>
constexpr std::size_t api1_size() {
  if constexpr (std::is_same_v<S, cpx_osc_info>) {
    return offsetof(cpx_osc_info, vmc_names);
  } else if constexpr (std::is_same_v<S, cpx_create_info>) {
    return offsetof(cpx_create_info, device);  // API 4 appended device
  } else {
    return sizeof(S);
  }
}

/// An input struct with struct_size: the first struct_size bytes over the defaults.
template <class S>
S read_struct(const S* in, S value, const char* name) {
  need(in, name);
  if (in->struct_size < api1_size<S>()) {
    fail(CPX_ERROR_INVALID_ARGUMENT, std::string(name) + "->struct_size is " + std::to_string(in->struct_size) +
                                         ", expected sizeof = " + std::to_string(sizeof(S)) + " (at least " +
                                         std::to_string(api1_size<S>()) + ", API 1's; set struct_size)");
  }
  std::memcpy(&value, in, std::min<std::size_t>(in->struct_size, sizeof(S)));
  return value;
}

/// Checks an output struct's struct_size before anything is computed.
template <class S>
void check_out_struct(const S* out, const char* name) {
  need(out, name);
  if (out->struct_size < api1_size<S>()) {
    fail(CPX_ERROR_INVALID_ARGUMENT, std::string(name) + "->struct_size is " + std::to_string(out->struct_size) +
                                         ", expected sizeof = " + std::to_string(sizeof(S)) + " (set struct_size before the call)");
  }
}

/// Writes `value` into an output struct, keeping the caller's struct_size.
template <class S>
void write_struct(S* out, S value) {
  value.struct_size = out->struct_size;
  std::memcpy(out, &value, std::min<std::size_t>(out->struct_size, sizeof(S)));
}

const char* const kAffectNames[CPX_AFFECT_COUNT] = {"valence", "arousal", "z"};

int output_count(int kind) {
  switch (kind) {
    case CPX_OUTPUT_AU: return CPX_AU_COUNT;
    case CPX_OUTPUT_ARKIT: return CPX_ARKIT_COUNT;
    case CPX_OUTPUT_VRM: return CPX_VRM_COUNT;
    case CPX_OUTPUT_AFFECT: return CPX_AFFECT_COUNT;
    default: fail(CPX_ERROR_INVALID_ARGUMENT, "output kind " + std::to_string(kind) + " is not one of CPX_OUTPUT_AU, _ARKIT, _VRM, _AFFECT");
  }
}

static_assert(CPX_AU_COUNT == kAuCount && CPX_ARKIT_COUNT == kArkitCount && CPX_VRM_COUNT == kVrmCount,
              "the header's counts match the expression model");

const char* output_name(int kind, int i) {
  switch (kind) {
    case CPX_OUTPUT_AU: return au_key(i);
    case CPX_OUTPUT_ARKIT: return arkit_names()[static_cast<std::size_t>(i)];
    case CPX_OUTPUT_VRM: return vrm_names()[static_cast<std::size_t>(i)];
    default: return kAffectNames[i];
  }
}

const Emotion& find_emotion(const char* name, const char* what) {
  need(name, what);
  const Atlas& atlas = Atlas::builtin();
  if (const Emotion* e = atlas.try_find(name)) return *e;
  std::string message = std::string("unknown emotion '") + name + "' (" + what + "); closest:";
  for (const std::string& s : atlas.suggest(name)) message += " " + s;
  fail(CPX_ERROR_UNKNOWN_NAME, message);
}

void publish(cpx_context& c) noexcept {
  Session& s = *c.session;
  plugin::Outputs o;
  std::copy(s.action_units().begin(), s.action_units().end(), o.au);
  std::copy(s.arkit().begin(), s.arkit().end(), o.arkit);
  std::copy(s.vrm().begin(), s.vrm().end(), o.vrm);
  const AffectPoint p = s.position();
  const AffectPoint t = s.target();
  o.position[0] = static_cast<float>(p.v);
  o.position[1] = static_cast<float>(p.a);
  o.position[2] = static_cast<float>(p.z);
  o.target[0] = static_cast<float>(t.v);
  o.target[1] = static_cast<float>(t.a);
  o.target[2] = static_cast<float>(t.z);
  o.intensity = static_cast<float>(radius(p, s.space()));
  o.nearest = static_cast<std::int32_t>(&s.nearest() - Atlas::builtin().emotions().data());
  o.playing = s.playing() ? 1 : 0;
  o.update_count = c.updates;
  o.time = c.time;
  c.snapshot.publish(o);
}

Space space_of(const cpx_context& c) { return c.dimensions == 3 ? Space::Ball : Space::Plane; }

void play(cpx_context& c, std::shared_ptr<const Path> path, bool loop) {
  std::lock_guard<std::mutex> lock(c.control);
  c.session->play(path, loop);
  c.last_path = std::move(path);
}

/// The newest frame at the context's frame size (resized once per frame, then shared).
std::shared_ptr<const Frame> current_frame(cpx_context& c) {
  std::shared_ptr<const Frame> f = c.session->latest_frame();
  if (!f || (f->width == c.frame_size && f->height == c.frame_size)) return f;
  std::lock_guard<std::mutex> lock(c.frame_mutex);
  if (c.resized && c.resized_from == f->sequence) return c.resized;
  auto r = std::make_shared<Frame>();
  r->width = r->height = c.frame_size;
  r->sequence = f->sequence;
  r->affect = f->affect;
  r->generator_ms = f->generator_ms;
  r->rgba.resize(static_cast<std::size_t>(c.frame_size) * static_cast<std::size_t>(c.frame_size) * 4);
  const cv::Mat src(f->height, f->width, CV_8UC4, const_cast<std::uint8_t*>(f->rgba.data()));
  cv::Mat dst(c.frame_size, c.frame_size, CV_8UC4, r->rgba.data());
  cv::resize(src, dst, dst.size(), 0, 0, c.frame_size < f->width ? cv::INTER_AREA : cv::INTER_LINEAR);
  c.resized = r;
  c.resized_from = f->sequence;
  return r;
}

void require_frames(const cpx_context& c) {
  if (c.rig_only) fail(CPX_ERROR_NOT_SUPPORTED, "this context was created with CPX_CREATE_RIG_ONLY: it makes no frames");
}

cpx_frame describe(const Frame& f, const std::uint8_t* pixels) {
  cpx_frame out{};
  out.width = f.width;
  out.height = f.height;
  out.stride = f.width * 4;
  out.sequence = f.sequence;
  out.affect = {static_cast<float>(f.affect.v), static_cast<float>(f.affect.a), static_cast<float>(f.affect.z)};
  out.pixels = pixels;
  return out;
}

/// OSC address parts must avoid the characters OSC reserves.
void check_osc_prefix(const std::string& prefix) {
  if (prefix.size() < 2 || prefix.front() != '/' || prefix.back() == '/') {
    fail(CPX_ERROR_INVALID_ARGUMENT, "OSC prefix '" + prefix + "' must start with '/', have a name, and not end with '/'");
  }
  for (char ch : prefix) {
    if (static_cast<unsigned char>(ch) <= 32 || std::strchr("#*,?[]{}", ch)) {
      fail(CPX_ERROR_INVALID_ARGUMENT, "OSC prefix '" + prefix + "' holds a space, control character or one of # * , ? [ ] { }");
    }
  }
}

}  // namespace

extern "C" {

// ---- library ---------------------------------------------------------------------------

uint32_t cpx_version(void) { return CPX_VERSION; }
const char* cpx_version_string(void) { return kVersionString; }
uint32_t cpx_api_version(void) { return CPX_API_VERSION; }

const char* cpx_result_name(cpx_result result) {
  switch (result) {
    case CPX_OK: return "CPX_OK";
    case CPX_ERROR_INVALID_HANDLE: return "CPX_ERROR_INVALID_HANDLE";
    case CPX_ERROR_NULL_POINTER: return "CPX_ERROR_NULL_POINTER";
    case CPX_ERROR_INVALID_ARGUMENT: return "CPX_ERROR_INVALID_ARGUMENT";
    case CPX_ERROR_UNKNOWN_NAME: return "CPX_ERROR_UNKNOWN_NAME";
    case CPX_ERROR_BUFFER_TOO_SMALL: return "CPX_ERROR_BUFFER_TOO_SMALL";
    case CPX_ERROR_NO_FRAME: return "CPX_ERROR_NO_FRAME";
    case CPX_ERROR_NOT_SUPPORTED: return "CPX_ERROR_NOT_SUPPORTED";
    case CPX_ERROR_MODEL: return "CPX_ERROR_MODEL";
    case CPX_ERROR_BAD_DATA: return "CPX_ERROR_BAD_DATA";
    case CPX_ERROR_IO: return "CPX_ERROR_IO";
    case CPX_ERROR_INVALID_STATE: return "CPX_ERROR_INVALID_STATE";
    case CPX_ERROR_LIMIT: return "CPX_ERROR_LIMIT";
    case CPX_ERROR_TIMEOUT: return "CPX_ERROR_TIMEOUT";
    case CPX_ERROR_OUT_OF_MEMORY: return "CPX_ERROR_OUT_OF_MEMORY";
    case CPX_ERROR_INTERNAL: return "CPX_ERROR_INTERNAL";
    default: return "CPX_RESULT_UNKNOWN";
  }
}

const char* cpx_last_error(const cpx_context* ctx) {
  try {
    if (!is_live(ctx)) return tls_error.c_str();
    std::lock_guard<std::mutex> lock(ctx->error_mutex);
    const auto it = ctx->errors.find(std::this_thread::get_id());
    return it == ctx->errors.end() ? "" : it->second.c_str();
  } catch (...) {
    return "";
  }
}

const char* cpx_identity_notes(const cpx_context* ctx) {
  try {
    if (!is_live(ctx)) return "";
    std::lock_guard<std::mutex> lock(ctx->error_mutex);
    const auto it = ctx->identity_notes.find(std::this_thread::get_id());
    return it == ctx->identity_notes.end() ? "" : it->second.c_str();
  } catch (...) {
    return "";
  }
}

cpx_result cpx_output_count(cpx_output_kind kind, int32_t* out_count) {
  return guarded(nullptr, [&] {
    need(out_count, "out_count");
    *out_count = output_count(kind);
    return CPX_OK;
  });
}

cpx_result cpx_output_name(cpx_output_kind kind, int32_t index, const char** out_name) {
  return guarded(nullptr, [&] {
    need(out_name, "out_name");
    const int n = output_count(kind);
    if (index < 0 || index >= n) fail(CPX_ERROR_INVALID_ARGUMENT, "output index " + std::to_string(index) + " is outside 0 … " + std::to_string(n - 1));
    *out_name = output_name(kind, index);
    return CPX_OK;
  });
}

cpx_result cpx_output_index(cpx_output_kind kind, const char* name, int32_t* out_index) {
  return guarded(nullptr, [&] {
    need(name, "name");
    need(out_index, "out_index");
    const int n = output_count(kind);
    int found = -1;
    if (kind == CPX_OUTPUT_AU) {
      found = au_index(name);
    } else {
      for (int i = 0; i < n && found < 0; ++i) {
        if (std::strcmp(output_name(kind, i), name) == 0) found = i;
      }
    }
    if (found < 0) fail(CPX_ERROR_UNKNOWN_NAME, std::string("'") + name + "' is not an output of this kind (names are case-sensitive; see cpx_output_name)");
    *out_index = found;
    return CPX_OK;
  });
}

cpx_result cpx_emotion_count(int32_t* out_count) {
  return guarded(nullptr, [&] {
    need(out_count, "out_count");
    *out_count = static_cast<int32_t>(Atlas::builtin().emotions().size());
    return CPX_OK;
  });
}

cpx_result cpx_emotion_name(int32_t index, const char** out_name) {
  return guarded(nullptr, [&] {
    need(out_name, "out_name");
    const auto& emotions = Atlas::builtin().emotions();
    if (index < 0 || static_cast<std::size_t>(index) >= emotions.size()) {
      fail(CPX_ERROR_INVALID_ARGUMENT, "emotion index " + std::to_string(index) + " is outside 0 … " + std::to_string(emotions.size() - 1));
    }
    *out_name = emotions[static_cast<std::size_t>(index)].name.c_str();
    return CPX_OK;
  });
}

// ---- contexts --------------------------------------------------------------------------

cpx_result cpx_create_info_init(cpx_create_info* info) {
  return guarded(nullptr, [&] {
    need(info, "info");
    // Hosts built before API 4 pass a struct without `device` (bindings declare their own):
    // only API 3's fields are written, and struct_size says so.
    const cpx_create_info defaults = CPX_CREATE_INFO_INIT;
    std::memcpy(info, &defaults, api1_size<cpx_create_info>());
    info->struct_size = static_cast<uint32_t>(api1_size<cpx_create_info>());
    return CPX_OK;
  });
}

cpx_result cpx_create(const cpx_create_info* info, cpx_context** out_ctx) {
  return guarded(nullptr, [&] {
    need(out_ctx, "out_ctx");
    *out_ctx = nullptr;
    const cpx_create_info ci = info ? read_struct(info, cpx_create_info CPX_CREATE_INFO_INIT, "info") : cpx_create_info CPX_CREATE_INFO_INIT;
    if (ci.flags & ~(CPX_CREATE_RIG_ONLY | CPX_CREATE_KEEP_DETAIL)) {
      fail(CPX_ERROR_INVALID_ARGUMENT, "info->flags holds unknown bits (CPX_CREATE_RIG_ONLY and CPX_CREATE_KEEP_DETAIL are defined)");
    }
    if (ci.frame_size != 0) need_range(ci.frame_size, 16, 2048, "info->frame_size (0: the model's size)");
    need_range(ci.threads, 0, 64, "info->threads (0: the default)");
    need_range(ci.half_life, 0.0, 60.0, "info->half_life (seconds)");
    if (ci.reserved != 0) fail(CPX_ERROR_INVALID_ARGUMENT, "info->reserved must be 0");
    const std::string device = ci.device ? std::string(ci.device) : "cpu";
    if (!is_device_name(device)) {
      fail(CPX_ERROR_INVALID_ARGUMENT, "info->device '" + device + "': use \"cpu\", \"cuda\" or \"cuda:N\" (NULL: cpu)");
    }
    if ((ci.flags & CPX_CREATE_RIG_ONLY) == 0) {
      try {
        (void)parse_device(device);
      } catch (const Error& e) {
        fail(CPX_ERROR_NOT_SUPPORTED, std::string("info->device: ") + e.what());
      }
    }

    std::string path = ci.model_path ? std::string(ci.model_path) : ModelPackage::default_path();
    if (path.empty()) {
      fail(CPX_ERROR_MODEL,
           "no model package: info->model_path is NULL and no default package was found (assets/models/default is "
           "not shipped with this build yet; looked at $CIRCUMPLEX_MODEL, share/circumplex/models/default beside "
           "the executable, and assets/models/default above it and in the source tree). Pass a package folder.");
    }
    auto ctx = std::make_unique<cpx_context>();
    ctx->rig_only = (ci.flags & CPX_CREATE_RIG_ONLY) != 0;
    ctx->threads = ci.threads > 0 ? ci.threads : 2;
    try {
      ModelPackage package = ModelPackage::load(path);
      ctx->model_path = package.dir();
      ctx->model_size = package.config().image_size;
      SessionOptions options;
      options.threads = ctx->threads;
      options.half_life = static_cast<double>(ci.half_life);
      options.identity_seed = ci.identity_seed;
      options.generate_frames = !ctx->rig_only;
      options.keep_detail = (ci.flags & CPX_CREATE_KEEP_DETAIL) != 0;
      options.device = device;
      ctx->session = std::make_unique<Session>(std::move(package), options);
    } catch (const Error& e) {
      fail(CPX_ERROR_MODEL, std::string("model package '") + path + "': " + e.what());
    }
    ctx->dimensions = ctx->session->space() == Space::Ball ? 3 : 2;
    ctx->frame_size = ctx->rig_only ? 0 : (ci.frame_size > 0 ? ci.frame_size : ctx->model_size);
    publish(*ctx);
    *out_ctx = ctx.release();
    return CPX_OK;
  });
}

void cpx_destroy(cpx_context* ctx) {
  if (!is_live(ctx)) return;
  try {
    ctx->magic = 0;
    delete ctx;
  } catch (...) {
    // Destructors here do not throw; nothing may escape in any case.
  }
}

cpx_result cpx_get_info(cpx_context* ctx, cpx_context_info* out_info) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    check_out_struct(out_info, "out_info");
    cpx_context_info info{};
    info.dimensions = c.dimensions;
    info.frame_width = info.frame_height = c.frame_size;
    info.model_image_size = c.model_size;
    info.rig_only = c.rig_only ? 1 : 0;
    info.model_path = c.model_path.c_str();
    write_struct(out_info, info);
    return CPX_OK;
  });
}

// ---- control ---------------------------------------------------------------------------

cpx_result cpx_set_target(cpx_context* ctx, float v, float a, float z) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need_finite(v, "v");
    need_finite(a, "a");
    need_finite(z, "z");
    std::lock_guard<std::mutex> lock(c.control);
    c.session->set_target({v, a, z});
    return CPX_OK;
  });
}

cpx_result cpx_set_emotion(cpx_context* ctx, const char* name, float intensity) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    const Emotion& e = find_emotion(name, "name");
    need_range(intensity, 0.0, 1.0, "intensity");
    std::lock_guard<std::mutex> lock(c.control);
    c.session->set_emotion(e.name, intensity);
    return CPX_OK;
  });
}

cpx_result cpx_set_half_life(cpx_context* ctx, float seconds) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need_range(seconds, 0.0, 60.0, "seconds");
    std::lock_guard<std::mutex> lock(c.control);
    c.session->set_half_life(seconds);
    return CPX_OK;
  });
}

cpx_result cpx_update(cpx_context* ctx, float dt, cpx_affect* out_point) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need_range(dt, 0.0, 10.0, "dt (seconds)");
    std::lock_guard<std::mutex> lock(c.control);
    const AffectPoint p = c.session->update(dt);
    ++c.updates;
    c.time += static_cast<double>(dt);
    publish(c);
    if (c.osc) c.osc->signal(c.updates);
    if (out_point) *out_point = {static_cast<float>(p.v), static_cast<float>(p.a), static_cast<float>(p.z)};
    return CPX_OK;
  });
}

cpx_result cpx_set_identity_seed(cpx_context* ctx, uint64_t seed) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    std::lock_guard<std::mutex> lock(c.control);
    c.session->set_identity_seed(seed);
    return CPX_OK;
  });
}

cpx_result cpx_set_identity_image(cpx_context* ctx, const uint8_t* pixels, int32_t width, int32_t height, int32_t channels,
                                  int32_t stride_bytes) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need(pixels, "pixels");
    need_range(width, 8, 8192, "width");
    need_range(height, 8, 8192, "height");
    if (channels != 3 && channels != 4) fail(CPX_ERROR_INVALID_ARGUMENT, "channels must be 3 (RGB) or 4 (RGBA), got " + std::to_string(channels));
    const std::size_t row = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
    if (stride_bytes != 0 && (stride_bytes < 0 || static_cast<std::size_t>(stride_bytes) < row)) {
      fail(CPX_ERROR_INVALID_ARGUMENT, "stride_bytes " + std::to_string(stride_bytes) + " is less than width · channels = " + std::to_string(row));
    }
    require_frames(c);
    const std::size_t stride = stride_bytes ? static_cast<std::size_t>(stride_bytes) : row;
    std::vector<std::uint8_t> packed(row * static_cast<std::size_t>(height));
    for (std::size_t y = 0; y < static_cast<std::size_t>(height); ++y) std::memcpy(&packed[y * row], pixels + y * stride, row);
    // The face found and aligned to the package's framing (circumplex/photo.hpp), then encoded.
    const PreparedPhoto photo = prepare_photo(packed.data(), width, height, channels, row, c.session->package(), "cpx_set_identity_image");
    {
      std::lock_guard<std::mutex> lock(c.control);
      c.session->set_identity_image(photo.rgb.data(), photo.size, photo.size, 3);
    }
    std::string notes;
    for (const std::string& n : photo.notes) notes += (notes.empty() ? "" : "\n") + n;
    std::lock_guard<std::mutex> lock(c.error_mutex);
    c.identity_notes[std::this_thread::get_id()] = std::move(notes);
    return CPX_OK;
  });
}

cpx_result cpx_save_identity(cpx_context* ctx, const char* path) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need(path, "path");
    std::vector<float> identity;
    std::shared_ptr<const IdentityDetail> detail;
    {
      std::lock_guard<std::mutex> lock(c.control);
      identity = c.session->identity();
      detail = c.session->identity_detail();
    }
    c.session->package().save_identity(path, identity, detail.get());
    return CPX_OK;
  });
}

cpx_result cpx_load_identity(cpx_context* ctx, const char* path) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need(path, "path");
    torch::Tensor image;
    std::vector<float> identity = c.session->package().load_identity(path, &image);  // checked before anything changes
    std::lock_guard<std::mutex> lock(c.control);
    c.session->set_identity(std::move(identity), image);
    return CPX_OK;
  });
}

// ---- paths -----------------------------------------------------------------------------

cpx_result cpx_play_circle_walk(cpx_context* ctx, float theta, float phi, float radius, float period) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need_finite(theta, "theta");
    need_finite(phi, "phi");
    need_range(radius, 0.0, 1.0, "radius");
    if (radius <= 0.0f) fail(CPX_ERROR_INVALID_ARGUMENT, "radius must be > 0");
    need_range(period, 0.0, 3600.0, "period (seconds)");
    if (period <= 0.0f) fail(CPX_ERROR_INVALID_ARGUMENT, "period must be > 0");
    play(c, std::make_shared<CircleWalk>(theta, phi, radius, period), true);
    return CPX_OK;
  });
}

cpx_result cpx_play_emotion_axis(cpx_context* ctx, const char* emotion, float intensity, float duration, int32_t loop) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    const Emotion& e = find_emotion(emotion, "emotion");
    need_range(intensity, 0.0, 1.0, "intensity");
    need_range(duration, 0.0, 3600.0, "duration (seconds)");
    if (duration <= 0.0f) fail(CPX_ERROR_INVALID_ARGUMENT, "duration must be > 0");
    std::shared_ptr<const Path> path = emotion_axis(Atlas::builtin(), e.name, intensity, duration, space_of(c));
    play(c, std::move(path), loop != 0);
    return CPX_OK;
  });
}

cpx_result cpx_play_between(cpx_context* ctx, const char* from, const char* to, float intensity, float duration,
                            cpx_between_style style, int32_t loop) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    const Emotion& a = find_emotion(from, "from");
    const Emotion& b = find_emotion(to, "to");
    need_range(intensity, 0.0, 1.0, "intensity");
    need_range(duration, 0.0, 3600.0, "duration (seconds)");
    if (duration <= 0.0f) fail(CPX_ERROR_INVALID_ARGUMENT, "duration must be > 0");
    if (style != CPX_BETWEEN_STRAIGHT && style != CPX_BETWEEN_SPHERE) fail(CPX_ERROR_INVALID_ARGUMENT, "style must be CPX_BETWEEN_STRAIGHT or CPX_BETWEEN_SPHERE");
    std::shared_ptr<const Path> path =
        between_emotions(Atlas::builtin(), a.name, b.name, intensity,
                         style == CPX_BETWEEN_SPHERE ? BetweenStyle::Sphere : BetweenStyle::Straight, duration, space_of(c));
    play(c, std::move(path), loop != 0);
    return CPX_OK;
  });
}

cpx_result cpx_play_csv(cpx_context* ctx, const char* csv_path, int32_t loop) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need(csv_path, "csv_path");
    play(c, std::make_shared<ScriptedPath>(ScriptedPath::load_csv(csv_path)), loop != 0);
    return CPX_OK;
  });
}

cpx_result cpx_stop_path(cpx_context* ctx) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    std::lock_guard<std::mutex> lock(c.control);
    c.session->stop_path();
    return CPX_OK;
  });
}

// ---- readers ---------------------------------------------------------------------------

cpx_result cpx_get_outputs(cpx_context* ctx, cpx_output_kind kind, float* out_values, int32_t capacity) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    const int n = output_count(kind);
    need(out_values, "out_values");
    if (capacity < n) {
      fail(CPX_ERROR_BUFFER_TOO_SMALL, "capacity " + std::to_string(capacity) + " floats is too small: this kind has " + std::to_string(n) + " outputs");
    }
    const plugin::Outputs o = c.snapshot.read();
    const float* src = kind == CPX_OUTPUT_AU ? o.au : kind == CPX_OUTPUT_ARKIT ? o.arkit : kind == CPX_OUTPUT_VRM ? o.vrm : o.position;
    std::copy(src, src + n, out_values);
    return CPX_OK;
  });
}

cpx_result cpx_get_state(cpx_context* ctx, cpx_state* out_state) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    check_out_struct(out_state, "out_state");
    const plugin::Outputs o = c.snapshot.read();
    cpx_state s{};
    s.nearest_emotion = o.nearest;
    s.update_count = o.update_count;
    s.time = o.time;
    s.position = {o.position[0], o.position[1], o.position[2]};
    s.target = {o.target[0], o.target[1], o.target[2]};
    s.playing = o.playing;
    s.intensity = o.intensity;
    write_struct(out_state, s);
    return CPX_OK;
  });
}

cpx_result cpx_nearest_emotion(cpx_context* ctx, const char** out_name) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need(out_name, "out_name");
    const plugin::Outputs o = c.snapshot.read();
    *out_name = Atlas::builtin().emotions()[static_cast<std::size_t>(o.nearest)].name.c_str();
    return CPX_OK;
  });
}

// ---- frames ----------------------------------------------------------------------------

cpx_result cpx_poll_frame(cpx_context* ctx, uint64_t since_sequence, int32_t* out_is_new, uint64_t* out_latest_sequence) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need(out_is_new, "out_is_new");
    require_frames(c);
    const std::shared_ptr<const Frame> f = c.session->latest_frame();
    const std::uint64_t latest = f ? f->sequence : 0;
    *out_is_new = latest > since_sequence ? 1 : 0;
    if (out_latest_sequence) *out_latest_sequence = latest;
    return CPX_OK;
  });
}

cpx_result cpx_wait_frame(cpx_context* ctx, float timeout_s) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need_range(timeout_s, 0.0, 60.0, "timeout_s");
    require_frames(c);
    if (!c.session->wait_for_latest(static_cast<double>(timeout_s))) {
      fail(CPX_ERROR_TIMEOUT, "the face for the latest cpx_update was not finished within " + std::to_string(timeout_s) + " s");
    }
    return CPX_OK;
  });
}

cpx_result cpx_copy_frame(cpx_context* ctx, uint8_t* dst, size_t dst_size, cpx_frame* out_frame) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need(dst, "dst");
    if (out_frame) check_out_struct(out_frame, "out_frame");
    require_frames(c);
    const std::shared_ptr<const Frame> f = current_frame(c);
    if (!f) fail(CPX_ERROR_NO_FRAME, "no face has been generated yet: poll again after the next update");
    if (dst_size < f->rgba.size()) {
      fail(CPX_ERROR_BUFFER_TOO_SMALL, "dst_size " + std::to_string(dst_size) + " bytes is too small: the frame is " + std::to_string(f->width) +
                                           "x" + std::to_string(f->height) + "x4 = " + std::to_string(f->rgba.size()) + " bytes");
    }
    std::memcpy(dst, f->rgba.data(), f->rgba.size());
    if (out_frame) write_struct(out_frame, describe(*f, nullptr));
    return CPX_OK;
  });
}

cpx_result cpx_borrow_frame(cpx_context* ctx, cpx_frame* out_frame) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    check_out_struct(out_frame, "out_frame");
    require_frames(c);
    std::shared_ptr<const Frame> f = current_frame(c);
    if (!f) fail(CPX_ERROR_NO_FRAME, "no face has been generated yet: poll again after the next update");
    std::lock_guard<std::mutex> lock(c.frame_mutex);
    for (auto& slot : c.borrows) {
      if (slot) continue;
      slot = std::move(f);
      write_struct(out_frame, describe(*slot, slot->rgba.data()));
      return CPX_OK;
    }
    fail(CPX_ERROR_LIMIT, "already " + std::to_string(CPX_MAX_BORROWS) + " frames borrowed (CPX_MAX_BORROWS): release one first");
  });
}

cpx_result cpx_release_frame(cpx_context* ctx, const uint8_t* pixels) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need(pixels, "pixels");
    std::shared_ptr<const Frame> released;  // freed after the lock is dropped
    {
      std::lock_guard<std::mutex> lock(c.frame_mutex);
      for (auto& slot : c.borrows) {
        if (slot && slot->rgba.data() == pixels) {
          released.swap(slot);
          break;
        }
      }
    }
    if (!released) fail(CPX_ERROR_INVALID_ARGUMENT, "pixels is not a frame borrowed from this context (or it was released already)");
    return CPX_OK;
  });
}

// ---- recording -------------------------------------------------------------------------

cpx_result cpx_export_path_csv(cpx_context* ctx, const char* csv_path, float fps) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need(csv_path, "csv_path");
    need_range(fps, 1.0, 1000.0, "fps");
    std::shared_ptr<const Path> path;
    {
      std::lock_guard<std::mutex> lock(c.control);
      path = c.last_path;
    }
    if (!path) fail(CPX_ERROR_INVALID_STATE, "no path has been played on this context yet: play one first");
    circumplex::write_file_atomic(csv_path, path_to_csv(*path, fps));
    return CPX_OK;
  });
}

cpx_result cpx_export_path_video(cpx_context* ctx, const char* out_dir, float fps, int32_t size, uint64_t* out_frames) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need(out_dir, "out_dir");
    need_range(fps, 1.0, 240.0, "fps");
    if (size != 0) need_range(size, 16, 2048, "size (0: the model's size)");
    std::shared_ptr<const Path> path;
    std::vector<float> identity;
    std::shared_ptr<const IdentityDetail> detail;
    {
      std::lock_guard<std::mutex> lock(c.control);
      path = c.last_path;
      identity = c.session->identity();
      detail = c.session->identity_detail();
    }
    if (!path) fail(CPX_ERROR_INVALID_STATE, "no path has been played on this context yet: play one first");
    // The live session's package (immutable while the context lives) and a generator of the
    // export's own, so the live worker is never touched.
    const std::uint64_t frames = plugin::export_video(c.session->package(), c.threads, identity, detail.get(), *path, fps, size ? size : c.model_size, out_dir);
    if (out_frames) *out_frames = frames;
    return CPX_OK;
  });
}

cpx_result cpx_record_begin(cpx_context* ctx, uint32_t max_samples) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need_range(max_samples, 1.0, 1e7, "max_samples");
    std::lock_guard<std::mutex> lock(c.control);
    c.session->begin_capture(max_samples);  // the Session samples the cursor at every cpx_update
    return CPX_OK;
  });
}

cpx_result cpx_record_end(cpx_context* ctx, const char* csv_path, uint64_t* out_samples, uint64_t* out_dropped) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    std::lock_guard<std::mutex> lock(c.control);
    if (!c.session->capturing()) fail(CPX_ERROR_INVALID_STATE, "no recording in progress: call cpx_record_begin first");
    if (csv_path) {
      circumplex::write_file_atomic(csv_path, samples_to_csv(c.session->capture().samples));  // on failure the recording goes on: retry elsewhere
    }
    const PathCapture done = c.session->end_capture();
    if (out_samples) *out_samples = done.samples.size();
    if (out_dropped) *out_dropped = done.dropped;
    return CPX_OK;
  });
}

// ---- OSC -------------------------------------------------------------------------------

cpx_result cpx_osc_open(cpx_context* ctx, const cpx_osc_info* info) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    const cpx_osc_info oi = read_struct(info, cpx_osc_info CPX_OSC_INFO_INIT, "info");
    if (oi.mode != CPX_OSC_VRCHAT && oi.mode != CPX_OSC_GENERIC && oi.mode != CPX_OSC_VRCHAT_BUDGET && oi.mode != CPX_OSC_VMC) {
      fail(CPX_ERROR_INVALID_ARGUMENT, "info->mode must be CPX_OSC_VRCHAT, CPX_OSC_GENERIC, CPX_OSC_VRCHAT_BUDGET or CPX_OSC_VMC");
    }
    if (oi.mode == CPX_OSC_VMC && oi.vmc_names != CPX_VMC_VRM0 && oi.vmc_names != CPX_VMC_VRM1 && oi.vmc_names != CPX_VMC_ARKIT) {
      fail(CPX_ERROR_INVALID_ARGUMENT, "info->vmc_names must be CPX_VMC_VRM0, CPX_VMC_VRM1 or CPX_VMC_ARKIT");
    }
    const bool per_output = oi.mode == CPX_OSC_VRCHAT || oi.mode == CPX_OSC_GENERIC;  // the others ignore outputs
    need(oi.host, "info->host");
    if (!*oi.host) fail(CPX_ERROR_INVALID_ARGUMENT, "info->host must not be empty");
    need_range(oi.port, 1, 65535, "info->port");
    const std::uint32_t all = CPX_OUTPUT_BIT(CPX_OUTPUT_AU) | CPX_OUTPUT_BIT(CPX_OUTPUT_ARKIT) | CPX_OUTPUT_BIT(CPX_OUTPUT_VRM) |
                              CPX_OUTPUT_BIT(CPX_OUTPUT_AFFECT);
    if (per_output && (oi.outputs == 0 || (oi.outputs & ~all))) fail(CPX_ERROR_INVALID_ARGUMENT, "info->outputs must be a non-empty mask of CPX_OUTPUT_BIT(kind)");
    plugin::OscConfig config;
    config.mode = oi.mode == CPX_OSC_VRCHAT          ? plugin::OscMode::VRChat
                  : oi.mode == CPX_OSC_GENERIC       ? plugin::OscMode::Generic
                  : oi.mode == CPX_OSC_VRCHAT_BUDGET ? plugin::OscMode::VRChatBudget
                                                     : plugin::OscMode::Vmc;
    config.vmc_names = oi.vmc_names == CPX_VMC_VRM1 ? plugin::VmcNames::Vrm1 : oi.vmc_names == CPX_VMC_ARKIT ? plugin::VmcNames::Arkit : plugin::VmcNames::Vrm0;
    config.host = oi.host;
    config.port = oi.port;
    config.prefix = oi.prefix ? oi.prefix : "/circumplex";
    if (config.mode == plugin::OscMode::Generic) check_osc_prefix(config.prefix);
    config.au = oi.outputs & CPX_OUTPUT_BIT(CPX_OUTPUT_AU);
    config.arkit = oi.outputs & CPX_OUTPUT_BIT(CPX_OUTPUT_ARKIT);
    config.vrm = oi.outputs & CPX_OUTPUT_BIT(CPX_OUTPUT_VRM);
    config.affect = oi.outputs & CPX_OUTPUT_BIT(CPX_OUTPUT_AFFECT);
    std::shared_ptr<plugin::OscSender> sender, old;
    std::lock_guard<std::mutex> lock(c.control);
    sender = std::make_shared<plugin::OscSender>(std::move(config), c.snapshot);
    sender->signal(c.updates);  // the current state goes out at once
    {
      std::lock_guard<std::mutex> osc_lock(c.osc_mutex);
      old = std::exchange(c.osc, sender);
    }
    old.reset();  // joins the old sender (outside osc_mutex)
    return CPX_OK;
  });
}

cpx_result cpx_osc_close(cpx_context* ctx) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    std::shared_ptr<plugin::OscSender> old;
    std::lock_guard<std::mutex> lock(c.control);
    {
      std::lock_guard<std::mutex> osc_lock(c.osc_mutex);
      old.swap(c.osc);
    }
    old.reset();
    return CPX_OK;
  });
}

cpx_result cpx_osc_get_stats(cpx_context* ctx, cpx_osc_stats* out_stats) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    check_out_struct(out_stats, "out_stats");
    std::shared_ptr<plugin::OscSender> sender;
    {
      std::lock_guard<std::mutex> osc_lock(c.osc_mutex);
      sender = c.osc;
    }
    cpx_osc_stats s{};
    if (sender) {
      const plugin::OscCounters k = sender->counters();
      s.open = 1;
      s.updates_sent = k.updates_sent;
      s.messages_sent = k.messages_sent;
      s.send_errors = k.send_errors;
    }
    write_struct(out_stats, s);
    return CPX_OK;
  });
}

cpx_result cpx_osc_flush(cpx_context* ctx, float timeout_s) {
  return guarded(ctx, [&] {
    cpx_context& c = live(ctx);
    need_range(timeout_s, 0.0, 60.0, "timeout_s");
    std::shared_ptr<plugin::OscSender> sender;
    {
      std::lock_guard<std::mutex> osc_lock(c.osc_mutex);
      sender = c.osc;
    }
    if (!sender) fail(CPX_ERROR_INVALID_STATE, "no OSC sink is open: call cpx_osc_open first");
    if (!sender->flush(timeout_s)) fail(CPX_ERROR_TIMEOUT, "the OSC sender did not catch up within " + std::to_string(timeout_s) + " s");
    return CPX_OK;
  });
}

}  // extern "C"
