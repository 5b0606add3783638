// The viewer's ImGui panels: face, circumplex pad, 3D view, readouts, controls, record, status.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "viewer_impl.hpp"

namespace circumplex::renderer {
namespace {

constexpr float kPi = 3.14159265358979f;

// Palette (dark theme). Emotion colours follow the atlas pictures' hues, brightened for a
// dark background; compounds mix their two components.
constexpr ImU32 kInk = IM_COL32(226, 230, 236, 255);
constexpr ImU32 kMuted = IM_COL32(140, 148, 160, 255);
constexpr ImU32 kFaint = IM_COL32(255, 255, 255, 22);
constexpr ImU32 kDisk = IM_COL32(26, 30, 37, 255);
constexpr ImU32 kCursor = IM_COL32(70, 226, 255, 255);
constexpr ImU32 kAccent = IM_COL32(74, 158, 255, 255);

ImVec4 rgba(int r, int g, int b, float a = 1.0f) { return ImVec4(static_cast<float>(r) / 255.0f, static_cast<float>(g) / 255.0f, static_cast<float>(b) / 255.0f, a); }

ImVec4 basic_colour(const std::string& name) {
  if (name == "happy") return rgba(255, 196, 64);
  if (name == "sad") return rgba(86, 148, 236);
  if (name == "surprised") return rgba(255, 140, 60);
  if (name == "fearful") return rgba(188, 112, 232);
  if (name == "disgusted") return rgba(110, 200, 100);
  if (name == "angry") return rgba(240, 84, 84);
  if (name == "contempt") return rgba(206, 156, 104);
  return rgba(176, 182, 192);
}

ImVec4 emotion_colour(const Emotion& e) {
  if (e.kind == EmotionKind::Basic) return basic_colour(e.name);
  const ImVec4 a = basic_colour(e.first), b = basic_colour(e.second);
  return ImVec4((a.x + b.x) * 0.5f, (a.y + b.y) * 0.5f, (a.z + b.z) * 0.5f, 1.0f);
}

ImU32 with_alpha(ImU32 c, float alpha) {
  const auto a = static_cast<ImU32>(std::clamp(alpha, 0.0f, 1.0f) * static_cast<float>((c >> IM_COL32_A_SHIFT) & 0xFF));
  return (c & ~IM_COL32_A_MASK) | (a << IM_COL32_A_SHIFT);
}

ImVec2 operator+(ImVec2 a, ImVec2 b) { return ImVec2(a.x + b.x, a.y + b.y); }
ImVec2 operator-(ImVec2 a, ImVec2 b) { return ImVec2(a.x - b.x, a.y - b.y); }
ImVec2 operator*(ImVec2 a, float s) { return ImVec2(a.x * s, a.y * s); }

constexpr ImGuiWindowFlags kPanel = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                    ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus;

// A horizontal bar: `value` in [lo, hi], filled from 0 (signed bars fill from the middle).
void bar(ImDrawList* dl, ImVec2 p, ImVec2 size, float value, float lo, float hi, ImU32 colour) {
  dl->AddRectFilled(p, p + size, IM_COL32(44, 49, 58, 255), 3.0f);
  const float t0 = (std::clamp(0.0f, lo, hi) - lo) / (hi - lo), t1 = (std::clamp(value, lo, hi) - lo) / (hi - lo);
  const float x0 = p.x + size.x * std::min(t0, t1), x1 = p.x + size.x * std::max(t0, t1);
  if (x1 - x0 > 0.5f) dl->AddRectFilled(ImVec2(x0, p.y), ImVec2(x1, p.y + size.y), colour, 3.0f);
  if (lo < 0.0f) dl->AddLine(ImVec2(p.x + size.x * t0, p.y - 1), ImVec2(p.x + size.x * t0, p.y + size.y + 1), IM_COL32(255, 255, 255, 70));
}

// A labelled value row: "label  [bar]  +0.62".
void value_row(const char* label, float value, float lo, float hi, ImU32 colour, const char* tooltip = nullptr) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float h = ImGui::GetTextLineHeight();
  const float label_w = ImGui::CalcTextSize("intensity ").x;
  const float number_w = ImGui::CalcTextSize("-0.000").x;
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float w = ImGui::GetContentRegionAvail().x;
  ImGui::TextUnformatted(label);
  if (tooltip && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tooltip);
  bar(dl, ImVec2(p.x + label_w, p.y + h * 0.25f), ImVec2(std::max(10.0f, w - label_w - number_w - 8), h * 0.55f), value, lo, hi, colour);
  char text[16];
  std::snprintf(text, sizeof text, lo < 0 ? "%+.3f" : "%.3f", static_cast<double>(value));
  dl->AddText(ImVec2(p.x + w - ImGui::CalcTextSize(text).x, p.y), kInk, text);
}

// Label anchors for the basic emotions on the pad, chosen so close pairs (fear/anger) don't collide.
ImVec2 label_offset(const std::string& name, ImVec2 text) {
  if (name == "surprised" || name == "angry") return ImVec2(-text.x * 0.5f, -text.y - 7);
  if (name == "happy" || name == "contempt") return ImVec2(9, -text.y * 0.5f);
  if (name == "neutral") return ImVec2(7, 3);
  return ImVec2(-text.x - 9, -text.y * 0.5f);  // fearful, disgusted, sad: to the left
}

void dot(ImDrawList* dl, ImVec2 c, float r, ImU32 fill, bool hollow) {
  dl->AddCircleFilled(c + ImVec2(0, 1), r + 1.5f, IM_COL32(0, 0, 0, 90), 16);
  if (hollow) {
    dl->AddCircleFilled(c, r, IM_COL32(22, 25, 31, 255), 16);
    dl->AddCircle(c, r, fill, 16, 1.6f);
  } else {
    dl->AddCircleFilled(c, r, fill, 16);
  }
}

void cursor_marker(ImDrawList* dl, ImVec2 c, float r) {
  dl->AddCircleFilled(c + ImVec2(0, 1.5f), r + 3.0f, IM_COL32(0, 0, 0, 120), 24);
  dl->AddCircleFilled(c, r + 2.0f, IM_COL32(255, 255, 255, 255), 24);
  dl->AddCircleFilled(c, r, kCursor, 24);
}

// The 3D view's camera: yaw about the arousal axis, then pitch; x right, y up, d toward the viewer.
struct Camera {
  float yaw, pitch, scale;
  ImVec2 centre;
  ImVec2 project(AffectPoint p, float* depth = nullptr, float* size = nullptr) const {
    const float v = static_cast<float>(p.v), a = static_cast<float>(p.a), z = static_cast<float>(p.z);
    const float cy = std::cos(yaw), sy = std::sin(yaw), cp = std::cos(pitch), sp = std::sin(pitch);
    const float x1 = cy * v + sy * z, d1 = -sy * v + cy * z;
    const float y2 = cp * a - sp * d1, d2 = sp * a + cp * d1;
    const float f = 3.2f / (3.2f - d2);  // a little perspective
    if (depth) *depth = d2;
    if (size) *size = f;
    return ImVec2(centre.x + x1 * scale * f, centre.y - y2 * scale * f);
  }
};

/// Opens a fixed panel window at pos × size and returns true; with size.x ≤ 0 opens nothing
/// and returns false (the panel is drawn into the current window: a tab of the compact layout).
bool begin_panel(const char* name, const ImVec2& pos, const ImVec2& size, ImGuiWindowFlags flags) {
  if (size.x <= 0) return false;
  ImGui::SetNextWindowPos(pos);
  ImGui::SetNextWindowSize(size);
  ImGui::Begin(name, nullptr, flags);
  return true;
}

}  // namespace

// ---- style and fonts ---------------------------------------------------------------------

void Viewer::Impl::load_fonts() {
  ImGuiIO& io = ImGui::GetIO();
  const char* dir = "/usr/share/fonts/truetype/dejavu/";
  const std::string regular = std::string(dir) + "DejaVuSans.ttf", bold = std::string(dir) + "DejaVuSans-Bold.ttf";
  std::error_code ec;
  // Latin-1, Greek (θ, φ), punctuation (…, ·), arrows and shapes (●).
  static const ImWchar ranges[] = {0x0020, 0x00FF, 0x0370, 0x03FF, 0x2000, 0x206F, 0x2190, 0x21FF, 0x25A0, 0x25FF, 0};
  if (std::filesystem::exists(regular, ec)) {
    font_regular = io.Fonts->AddFontFromFileTTF(regular.c_str(), 15.0f, nullptr, ranges);
    font_small = io.Fonts->AddFontFromFileTTF(regular.c_str(), 12.5f, nullptr, ranges);
    font_title = io.Fonts->AddFontFromFileTTF((std::filesystem::exists(bold, ec) ? bold : regular).c_str(), 24.0f, nullptr, ranges);
  }
  if (!font_regular) {  // Debian's fonts-dejavu-core is missing: ImGui's built-in font
    font_regular = io.Fonts->AddFontDefault();
    font_small = font_regular;
    ImFontConfig big;
    big.SizePixels = 26.0f;
    font_title = io.Fonts->AddFontDefault(&big);
  }
}

void Viewer::Impl::apply_style() {
  ImGui::StyleColorsDark();
  ImGuiStyle& s = ImGui::GetStyle();
  s.WindowRounding = 6.0f;
  s.ChildRounding = 5.0f;
  s.FrameRounding = 4.0f;
  s.GrabRounding = 4.0f;
  s.PopupRounding = 5.0f;
  s.ScrollbarRounding = 6.0f;
  s.TabRounding = 4.0f;
  s.WindowBorderSize = 1.0f;
  s.FrameBorderSize = 0.0f;
  s.WindowPadding = ImVec2(10, 8);
  s.FramePadding = ImVec2(7, 4);
  s.ItemSpacing = ImVec2(8, 6);
  s.ItemInnerSpacing = ImVec2(6, 4);
  s.ScrollbarSize = 11.0f;
  s.GrabMinSize = 9.0f;
  s.WindowTitleAlign = ImVec2(0.0f, 0.5f);
  ImVec4* c = s.Colors;
  c[ImGuiCol_Text] = rgba(226, 230, 236);
  c[ImGuiCol_TextDisabled] = rgba(120, 128, 140);
  c[ImGuiCol_WindowBg] = rgba(20, 23, 28);
  c[ImGuiCol_ChildBg] = rgba(24, 27, 33);
  c[ImGuiCol_PopupBg] = rgba(28, 31, 38, 0.97f);
  c[ImGuiCol_Border] = rgba(44, 49, 58);
  c[ImGuiCol_FrameBg] = rgba(36, 40, 48);
  c[ImGuiCol_FrameBgHovered] = rgba(46, 52, 62);
  c[ImGuiCol_FrameBgActive] = rgba(54, 61, 74);
  c[ImGuiCol_TitleBg] = rgba(25, 28, 34);
  c[ImGuiCol_TitleBgActive] = rgba(29, 33, 41);
  c[ImGuiCol_TitleBgCollapsed] = rgba(25, 28, 34);
  c[ImGuiCol_ScrollbarBg] = rgba(20, 23, 28);
  c[ImGuiCol_ScrollbarGrab] = rgba(52, 58, 70);
  c[ImGuiCol_CheckMark] = rgba(74, 158, 255);
  c[ImGuiCol_SliderGrab] = rgba(74, 158, 255);
  c[ImGuiCol_SliderGrabActive] = rgba(120, 184, 255);
  c[ImGuiCol_Button] = rgba(42, 47, 57);
  c[ImGuiCol_ButtonHovered] = rgba(56, 64, 78);
  c[ImGuiCol_ButtonActive] = rgba(74, 158, 255, 0.8f);
  c[ImGuiCol_Header] = rgba(42, 47, 57);
  c[ImGuiCol_HeaderHovered] = rgba(56, 64, 78);
  c[ImGuiCol_HeaderActive] = rgba(66, 76, 92);
  c[ImGuiCol_Separator] = rgba(44, 49, 58);
  c[ImGuiCol_Tab] = rgba(32, 36, 44);
  c[ImGuiCol_TabHovered] = rgba(56, 64, 78);
  c[ImGuiCol_TabActive] = rgba(48, 56, 70);
  c[ImGuiCol_PlotLines] = rgba(70, 226, 255);
  c[ImGuiCol_PlotHistogram] = rgba(74, 158, 255);
  c[ImGuiCol_TableHeaderBg] = rgba(30, 34, 41);
  c[ImGuiCol_TableBorderLight] = rgba(36, 40, 48);
}

// ---- layout ------------------------------------------------------------------------------

void Viewer::Impl::build_ui() {
  const ImGuiIO& io = ImGui::GetIO();
  const float W = io.DisplaySize.x, H = io.DisplaySize.y;
  const float m = 6.0f, status_h = 26.0f;
  panel_status(ImVec2(0, H - status_h - m * 0.5f), ImVec2(W, status_h + m * 0.5f));
  if (W < 960.0f || H < 560.0f) {
    // Compact: face and pad side by side at full height; everything else in tabs.
    const float body_h = H - status_h - 2.0f * m;
    const float col = std::floor(std::min((W - 4.0f * m) * 0.36f, body_h + 30.0f));
    const float xb = 2.0f * m + col, xc = xb + col + m;
    panel_face(ImVec2(m, m), ImVec2(col, body_h));
    panel_pad(ImVec2(xb, m), ImVec2(col, body_h));
    ImGui::SetNextWindowPos(ImVec2(xc, m));
    ImGui::SetNextWindowSize(ImVec2(W - xc - m, body_h));
    ImGui::Begin("##panels", nullptr, kPanel | ImGuiWindowFlags_NoTitleBar);
    if (ImGui::BeginTabBar("panels", ImGuiTabBarFlags_FittingPolicyScroll)) {
      const struct {
        const char* name;
        void (Impl::*draw)(const ImVec2&, const ImVec2&);
      } tabs[] = {{"Readouts", &Impl::panel_readouts}, {"Controls", &Impl::panel_controls}, {"3D", &Impl::panel_3d}, {"Record", &Impl::panel_record}};
      for (const auto& t : tabs) {
        if (ImGui::BeginTabItem(t.name)) {
          (this->*t.draw)(ImVec2(0, 0), ImVec2(0, 0));
          ImGui::EndTabItem();
        }
      }
      ImGui::EndTabBar();
    }
    ImGui::End();
    perf_overlay();
    return;
  }
  // Three columns: face over controls, pad over the 3D view, readouts over recording.
  const float body_h = H - status_h - 3.0f * m;  // two stacked panels plus the gaps
  const float col_a = std::floor(W * 0.35f), col_b = std::floor(W * 0.32f);
  const float xa = m, xb = xa + col_a + m, xc = xb + col_b + m, col_c = W - xc - m;
  const float face_h = std::floor(std::min(col_a + 30.0f, body_h * 0.64f));
  const float pad_h = std::floor(body_h * 0.58f), read_h = std::floor(body_h * 0.62f);
  panel_face(ImVec2(xa, m), ImVec2(col_a, face_h));
  panel_controls(ImVec2(xa, 2 * m + face_h), ImVec2(col_a, body_h - face_h));
  panel_pad(ImVec2(xb, m), ImVec2(col_b, pad_h));
  panel_3d(ImVec2(xb, 2 * m + pad_h), ImVec2(col_b, body_h - pad_h));
  panel_readouts(ImVec2(xc, m), ImVec2(col_c, read_h));
  panel_record(ImVec2(xc, 2 * m + read_h), ImVec2(col_c, body_h - read_h));
  perf_overlay();
}

// ---- Face --------------------------------------------------------------------------------

void Viewer::Impl::draw_face_callback(const ImDrawList*, const ImDrawCmd* cmd) {
  auto* self = static_cast<Impl*>(cmd->UserCallbackData);
  const ImVec2 s = ImGui::GetIO().DisplayFramebufferScale;
  const PixelRect r{self->face_rect.x * s.x, self->face_rect.y * s.y, self->face_rect.w * s.x, self->face_rect.h * s.y};
  const PixelRect clip{cmd->ClipRect.x * s.x, cmd->ClipRect.y * s.y, (cmd->ClipRect.z - cmd->ClipRect.x) * s.x, (cmd->ClipRect.w - cmd->ClipRect.y) * s.y};
  self->gpu.face.draw(self->gpu.recording_cmd, self->gpu.extent, r, clip, 6.0f * s.x);
}

void Viewer::Impl::panel_face(const ImVec2& pos, const ImVec2& size) {
  ImGui::SetNextWindowPos(pos);
  ImGui::SetNextWindowSize(size);
  const VaeConfig& cfg = session->package().config();
  char title[160];
  std::snprintf(title, sizeof title, "Face   %s · %d px###face", ui.identity_image.empty() ? ("seed " + std::to_string(session->identity_seed())).c_str()
                                                                                           : std::filesystem::path(ui.identity_image).filename().c_str(),
                cfg.image_size);
  ImGui::Begin(title, nullptr, kPanel | ImGuiWindowFlags_NoScrollbar);
  if (!model_notice.empty() && ui.show_model_notice) {
    ImGui::PushStyleColor(ImGuiCol_ChildBg, rgba(92, 30, 34));
    const float wrap = ImGui::GetContentRegionAvail().x - 20;
    const float text_h = ImGui::CalcTextSize(model_notice.c_str(), nullptr, false, wrap - 40).y;
    ImGui::BeginChild("notice", ImVec2(0, text_h + 14), false, ImGuiWindowFlags_NoScrollbar);
    ImGui::SetCursorPos(ImVec2(8, 7));
    ImGui::PushTextWrapPos(wrap - 30);
    ImGui::TextUnformatted(model_notice.c_str());
    ImGui::PopTextWrapPos();
    ImGui::SetCursorPos(ImVec2(ImGui::GetWindowWidth() - 30, 5));
    if (ImGui::SmallButton("x")) ui.show_model_notice = false;
    ImGui::EndChild();
    ImGui::PopStyleColor();
  }
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float side = std::floor(std::max(16.0f, std::min(avail.x, avail.y)));
  ImGui::SetCursorPosX(ImGui::GetCursorPosX() + std::floor((avail.x - side) * 0.5f));
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("##face", ImVec2(side, side));
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  face_rect = {p.x, p.y, side, side};
  const ImVec2 s = ImGui::GetIO().DisplayFramebufferScale;
  layout.face_x = p.x * s.x;
  layout.face_y = p.y * s.y;
  layout.face_w = side * s.x;
  layout.face_h = side * s.y;
  face_visible = feed.shown || feed.to_upload;
  if (face_visible) {
    dl->AddCallback(draw_face_callback, this);
    dl->AddCallback(ImDrawCallback_ResetRenderState, nullptr);
    dl->AddRect(p, p + ImVec2(side, side), IM_COL32(255, 255, 255, 30), 6.0f, 0, 1.0f);
  } else {
    dl->AddRectFilled(p, p + ImVec2(side, side), IM_COL32(30, 34, 41, 255), 6.0f);
    const char* text = "waiting for the generator…";
    const ImVec2 ts = ImGui::CalcTextSize(text);
    dl->AddText(p + ImVec2((side - ts.x) * 0.5f, (side - ts.y) * 0.5f), kMuted, text);
  }
  if (hovered && feed.shown) {
    ImGui::SetTooltip("face #%llu shows (v %.3f, a %.3f, z %.3f)\ndecoded in %.1f ms on the generator thread\n%dx%d px, drawn with Catmull-Rom filtering",
                      static_cast<unsigned long long>(feed.shown->sequence), feed.shown->affect.v, feed.shown->affect.a, feed.shown->affect.z, feed.shown->generator_ms,
                      feed.shown->width, feed.shown->height);
  }
  ImGui::End();
}

void Viewer::Impl::perf_overlay() {
  const float pad = 8.0f;
  ImGui::SetNextWindowPos(ImVec2(face_rect.x + face_rect.w - pad, face_rect.y + pad), ImGuiCond_Always, ImVec2(1.0f, 0.0f));
  ImGui::SetNextWindowBgAlpha(0.62f);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(8, 6));
  ImGui::PushStyleVar(ImGuiStyleVar_ItemSpacing, ImVec2(4, 2));
  ImGui::Begin("##perf", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoFocusOnAppearing |
                   ImGuiWindowFlags_NoNav | ImGuiWindowFlags_NoInputs | ImGuiWindowFlags_NoMove);
  ImGui::PushFont(font_small);
  float mean = 0;
  for (float x : recent_frame_ms) mean += x / static_cast<float>(recent_frame_ms.size());
  ImGui::Text("frame     %6.1f ms  %4.0f fps", static_cast<double>(mean), mean > 0 ? 1000.0 / static_cast<double>(mean) : 0.0);
  ImGui::Text("generator %6.1f ms", feed.last_generator_ms);
  ImGui::Text("upload    %6.2f ms  %s", feed.last_upload_ms, feed.face_upload_short.c_str());
  ImGui::Text("latency   %6d frames", feed.last_latency);
  if (!recent_frame_ms.empty() && face_rect.w > 320.0f) {
    float values[120];
    const int n = static_cast<int>(recent_frame_ms.size());
    for (int i = 0; i < n; ++i) values[i] = recent_frame_ms[static_cast<std::size_t>(i)];
    ImGui::PlotLines("##ft", values, n, 0, nullptr, 0.0f, std::max(34.0f, mean * 2.0f), ImVec2(170, 28));
  }
  ImGui::PopFont();
  ImGui::End();
  ImGui::PopStyleVar(2);
}

// ---- Controls: snap, intensity, smoothing, identity ---------------------------------------

void Viewer::Impl::panel_controls(const ImVec2& pos, const ImVec2& size) {
  const bool own = begin_panel("Controls", pos, size, kPanel);
  const Atlas& atlas = Atlas::builtin();
  const char* names[8] = {"neutral", "happy", "sad", "surprised", "fearful", "disgusted", "angry", "contempt"};
  const float bw = std::floor((ImGui::GetContentRegionAvail().x - 3 * ImGui::GetStyle().ItemSpacing.x) / 4.0f);
  const std::string& nearest_name = session->nearest().name;
  ImGui::PushFont(font_small);
  for (int i = 0; i < 8; ++i) {
    const int key = i == 0 ? 0 : i;
    const ImVec4 c = basic_colour(names[i]);
    const bool current = nearest_name == names[i];
    ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(c.x * 0.32f, c.y * 0.32f, c.z * 0.32f, 1.0f));
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, ImVec4(c.x * 0.5f, c.y * 0.5f, c.z * 0.5f, 1.0f));
    ImGui::PushStyleColor(ImGuiCol_ButtonActive, ImVec4(c.x * 0.7f, c.y * 0.7f, c.z * 0.7f, 1.0f));
    ImGui::PushStyleVar(ImGuiStyleVar_FrameBorderSize, current ? 1.5f : 0.0f);
    ImGui::PushStyleColor(ImGuiCol_Border, c);
    char label[48];
    std::snprintf(label, sizeof label, "%d  %s", key, names[i]);
    if (ImGui::Button(label, ImVec2(bw, 0))) snap_to(names[i]);
    if (ImGui::IsItemHovered()) {
      const AffectPoint p = atlas.find(names[i]).point(session->space());
      ImGui::SetTooltip("snap to %s (key %d)\natlas point (%.2f, %.2f, %.2f)", names[i], key, p.v, p.a, p.z);
    }
    ImGui::PopStyleColor(4);
    ImGui::PopStyleVar();
    if (i % 4 != 3) ImGui::SameLine();
  }
  ImGui::PopFont();

  const float label_w = 92.0f;
  auto row_label = [&](const char* text) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(text);
    ImGui::SameLine(label_w);
    ImGui::SetNextItemWidth(-1);
  };
  float intensity = static_cast<float>(radius(session->target(), session->space()));
  row_label("Intensity");
  if (ImGui::SliderFloat("##intensity", &intensity, 0.0f, 1.0f, "%.2f")) session->set_intensity(intensity);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("radius of the target (0 neutral, 1 the rim); the mouse wheel over the pad changes it too");
  float half_life = static_cast<float>(session->half_life());
  row_label("Smoothing");
  if (ImGui::SliderFloat("##halflife", &half_life, 0.0f, 1.0f, "half-life %.2f s")) session->set_half_life(half_life);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("the cursor follows the target with a critically damped spring;\nhalf-life: time to cover half the way (0 = jump)");

  ImGui::Separator();
  row_label("Identity");
  const float buttons_w = ImGui::CalcTextSize("Random").x + 2 * ImGui::GetStyle().FramePadding.x;
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - buttons_w - ImGui::GetStyle().ItemSpacing.x);
  long long seed = static_cast<long long>(session->identity_seed());
  const long long one = 1;
  if (ImGui::InputScalar("##seed", ImGuiDataType_S64, &seed, &one, &one, "seed %lld", ImGuiInputTextFlags_EnterReturnsTrue) ||
      (ImGui::IsItemDeactivatedAfterEdit())) {
    seed = std::clamp<long long>(seed, 0, 2147483647);
    session->set_identity_seed(static_cast<std::uint64_t>(seed));
    ui.identity_image.clear();
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("identity drawn from the model's prior with this seed; - and + (or the keys [ and ]) step to the previous and next");
  ImGui::SameLine();
  if (ImGui::Button("Random")) {
    const auto r = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    session->set_identity_seed((r ^ (r >> 17) ^ (r << 9)) % 1000000);
    ui.identity_image.clear();
  }
  row_label("Image");
  const float load_w = ImGui::CalcTextSize("Load").x + 2 * ImGui::GetStyle().FramePadding.x;
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - load_w - ImGui::GetStyle().ItemSpacing.x);
  const bool enter = ImGui::InputTextWithHint("##image", "face photo path, or drop a file on the window", ui.image_path, sizeof ui.image_path,
                                              ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Load") || enter) && ui.image_path[0]) set_identity_image_file(ui.image_path);
  row_label("");
  bool keep = session->keep_detail();
  const bool toggled = ImGui::Checkbox("keep the image's detail", &keep);
  {
    const ImVec2 lo = ImGui::GetItemRectMin(), hi = ImGui::GetItemRectMax(), s = ImGui::GetIO().DisplayFramebufferScale;
    layout.detail_x = lo.x * s.x, layout.detail_y = lo.y * s.y, layout.detail_w = (hi.x - lo.x) * s.x, layout.detail_h = (hi.y - lo.y) * s.y;
  }
  if (toggled) {
    session->set_keep_detail(keep);
    if (keep && !ui.identity_image.empty()) set_identity_image_file(ui.identity_image);  // adds the layer now
  }
  if (ImGui::IsItemHovered()) {
    ImGui::SetTooltip("an image identity keeps its own hair, lines and glasses' wire, which the decoder draws soft;\n"
                      "it fades where the expression moves the face (README, \"The detail layer\")");
  }
  if (own) ImGui::End();
}

// ---- Circumplex pad ----------------------------------------------------------------------

void Viewer::Impl::panel_pad(const ImVec2& pos, const ImVec2& size) {
  ImGui::SetNextWindowPos(pos);
  ImGui::SetNextWindowSize(size);
  ImGui::Begin("Circumplex   valence x arousal", nullptr, kPanel | ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
  const Space space = session->space();
  const Atlas& atlas = Atlas::builtin();
  const AffectPoint pos_now = session->position(), target = session->target();
  const Emotion& nearest_e = session->nearest();

  ImGui::TextDisabled("nearest");
  ImGui::SameLine();
  ImGui::TextColored(emotion_colour(nearest_e), "%s", nearest_e.name.c_str());
  const char* hint = "  drag to move · wheel: intensity";
  ImGui::SameLine();
  if (ImGui::GetContentRegionAvail().x > ImGui::CalcTextSize(hint).x) ImGui::TextDisabled("%s", hint);
  else ImGui::NewLine();

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float side = std::floor(std::max(32.0f, std::min(avail.x, avail.y)));
  ImGui::SetCursorPosX(ImGui::GetCursorPosX() + std::floor((avail.x - side) * 0.5f));
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("##pad", ImVec2(side, side));
  const bool hovered = ImGui::IsItemHovered(), active = ImGui::IsItemActive();
  const float R = std::floor(side * 0.5f - 18.0f);
  const ImVec2 c = p0 + ImVec2(std::floor(side * 0.5f), std::floor(side * 0.5f));
  const ImVec2 s = ImGui::GetIO().DisplayFramebufferScale;
  layout.pad_cx = c.x * s.x;
  layout.pad_cy = c.y * s.y;
  layout.pad_radius = R * s.x;
  auto to_screen = [&](AffectPoint p) { return ImVec2(c.x + static_cast<float>(p.v) * R, c.y - static_cast<float>(p.a) * R); };

  // Input: click/drag sets the target's (v, a) and keeps z; the wheel changes intensity.
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  if (active && ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
    AffectPoint t{(mouse.x - c.x) / R, -(mouse.y - c.y) / R, space == Space::Ball ? target.z : 0.0};
    session->set_target(clamp_to_unit(t, space));
  }
  if (hovered && ImGui::GetIO().MouseWheel != 0.0f) {
    const double r = radius(target, space);
    session->set_intensity(std::clamp(r + 0.05 * ImGui::GetIO().MouseWheel, 0.0, 1.0));
  }

  ImDrawList* dl = ImGui::GetWindowDrawList();
  // The disk: rings at 0.25 … 1, axes, labels.
  dl->AddCircleFilled(c, R, kDisk, 96);
  for (int i = 1; i <= 3; ++i) dl->AddCircle(c, R * static_cast<float>(i) * 0.25f, kFaint, 72, 1.0f);
  for (int k = 0; k < 8; ++k) {  // Russell's octants, faint spokes
    const float a = static_cast<float>(k) * kPi / 4.0f;
    if (k % 2) dl->AddLine(c + ImVec2(std::cos(a), -std::sin(a)) * (R * 0.25f), c + ImVec2(std::cos(a), -std::sin(a)) * R, IM_COL32(255, 255, 255, 10));
  }
  dl->AddLine(ImVec2(c.x - R, c.y), ImVec2(c.x + R, c.y), IM_COL32(255, 255, 255, 46), 1.0f);
  dl->AddLine(ImVec2(c.x, c.y - R), ImVec2(c.x, c.y + R), IM_COL32(255, 255, 255, 46), 1.0f);
  dl->AddCircle(c, R, IM_COL32(255, 255, 255, 80), 128, 1.5f);
  ImGui::PushFont(font_small);
  {
    // Axis names at the positive ends, with arrowheads on the rim.
    const ImVec2 tv = ImGui::CalcTextSize("Valence"), ta = ImGui::CalcTextSize("Arousal");
    dl->AddText(ImVec2(c.x + R - tv.x - 4, c.y - tv.y - 2), kMuted, "Valence");
    dl->AddText(ImVec2(c.x - ta.x * 0.5f, c.y - R - ta.y - 3), kMuted, "Arousal");
    dl->AddTriangleFilled(ImVec2(c.x + R + 1, c.y - 4), ImVec2(c.x + R + 1, c.y + 4), ImVec2(c.x + R + 7, c.y), IM_COL32(255, 255, 255, 110));
    dl->AddTriangleFilled(ImVec2(c.x - 4, c.y - R - 1), ImVec2(c.x + 4, c.y - R - 1), ImVec2(c.x, c.y - R - 7), IM_COL32(255, 255, 255, 110));
  }

  // Intensity ring and the fading trail.
  const double r_now = radius(pos_now, Space::Plane);
  if (r_now > 0.01) dl->AddCircle(c, static_cast<float>(r_now) * R, with_alpha(kCursor, 0.28f), 96, 1.2f);
  for (std::size_t i = 1; i < ui.trail.size(); ++i) {
    const float age = static_cast<float>(now - ui.trail[i].first) / 1.5f;
    dl->AddLine(to_screen(ui.trail[i - 1].second), to_screen(ui.trail[i].second), with_alpha(kCursor, 0.75f * (1.0f - age)), 2.5f * (1.0f - 0.6f * age));
  }

  // The atlas: basics labelled, compounds as small rings named on hover.
  const Emotion* hover = nullptr;
  float hover_d = 9.0f;
  for (const Emotion& e : atlas.emotions()) {
    const ImVec2 q = to_screen(e.point(space));
    const float d = std::hypot(mouse.x - q.x, mouse.y - q.y);
    if (hovered && d < hover_d) hover = &e, hover_d = d;
  }
  const ImVec2 cp = to_screen(pos_now), tp = to_screen(target);
  for (const Emotion& e : atlas.emotions()) {
    const ImVec2 q = to_screen(e.point(space));
    const ImVec4 col = emotion_colour(e);
    const bool is_nearest = &e == &nearest_e;
    const bool under_cursor = is_nearest && std::hypot(cp.x - q.x, cp.y - q.y) < 24.0f;  // the cursor's label names it
    if (e.kind == EmotionKind::Compound) {
      dot(dl, q, is_nearest || &e == hover ? 4.5f : 3.5f, ImGui::ColorConvertFloat4ToU32(ImVec4(col.x, col.y, col.z, 0.85f)), true);
    } else {
      dot(dl, q, is_nearest ? 6.5f : 5.0f, ImGui::ColorConvertFloat4ToU32(col), false);
      const ImVec2 ts = ImGui::CalcTextSize(e.name.c_str());
      if (!under_cursor) dl->AddText(q + label_offset(e.name, ts), is_nearest ? kInk : ImGui::ColorConvertFloat4ToU32(ImVec4(col.x, col.y, col.z, 0.9f)), e.name.c_str());
    }
    if (is_nearest) dl->AddCircle(q, 10.0f, ImGui::ColorConvertFloat4ToU32(ImVec4(col.x, col.y, col.z, 0.6f)), 24, 1.5f);
  }

  // Target (where the cursor is going) and the cursor.
  if (std::hypot(cp.x - tp.x, cp.y - tp.y) > 3.0f) {
    dl->AddLine(cp, tp, IM_COL32(255, 255, 255, 60), 1.0f);
    dl->AddCircle(tp, 6.0f, IM_COL32(255, 255, 255, 170), 20, 1.5f);
  }
  cursor_marker(dl, cp, 6.5f);
  {
    const ImVec2 ts = ImGui::CalcTextSize(nearest_e.name.c_str());
    ImVec2 lp = cp + ImVec2(12, 8);
    if (lp.x + ts.x > p0.x + side) lp.x = cp.x - 12 - ts.x;
    dl->AddRectFilled(lp - ImVec2(4, 1), lp + ts + ImVec2(4, 1), IM_COL32(10, 12, 16, 190), 4.0f);
    dl->AddText(lp, kCursor, nearest_e.name.c_str());
  }
  ImGui::PopFont();

  if (hover) {
    const AffectPoint q = hover->point(space);
    if (hover->kind == EmotionKind::Compound) {
      ImGui::SetTooltip("%s\n= %s + %s (C2A2 compound)\n(v %.2f, a %.2f, z %.2f)", hover->name.c_str(), hover->first.c_str(), hover->second.c_str(), q.v, q.a, q.z);
    } else {
      ImGui::SetTooltip("%s\n(v %.2f, a %.2f, z %.2f)\n%s", hover->name.c_str(), q.v, q.a, q.z, hover->source.c_str());
    }
  } else if (hovered && !active) {
    ImGui::SetTooltip("v %+.2f  a %+.2f", (mouse.x - c.x) / R, -(mouse.y - c.y) / R);
  }
  ImGui::End();
}

// ---- 3D view (C2A2) ----------------------------------------------------------------------

void Viewer::Impl::panel_3d(const ImVec2& pos, const ImVec2& size) {
  const bool own = begin_panel("C2A2 3D   valence x arousal x z", pos, size, kPanel | ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
  const bool ball = session->space() == Space::Ball;
  const Atlas& atlas = Atlas::builtin();
  const AffectPoint pos_now = session->position();

  // The view fills the panel; the z slider stands at its right edge.
  const float slider_w = ImGui::GetFrameHeight() + 16.0f;
  ImVec2 avail = ImGui::GetContentRegionAvail();
  avail.x -= slider_w + ImGui::GetStyle().ItemSpacing.x;
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("##view3d", ImVec2(std::max(avail.x, 16.0f), std::max(avail.y, 16.0f)));
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 0.0f)) {
    const ImVec2 d = ImGui::GetIO().MouseDelta;
    ui.yaw += d.x * 0.01f;
    ui.pitch = std::clamp(ui.pitch + d.y * 0.01f, -1.45f, 1.45f);
  }
  const bool hovered = ImGui::IsItemHovered();
  const float dim = ball ? 1.0f : 0.45f;
  Camera cam{ui.yaw, ui.pitch, std::max(8.0f, std::min(avail.x, avail.y) * 0.5f - 10.0f), p0 + ImVec2(avail.x * 0.5f, avail.y * 0.5f)};
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(p0, p0 + avail, true);
  dl->AddCircleFilled(cam.centre, cam.scale * 1.02f, with_alpha(kDisk, dim), 64);

  // Great circles: the valence–arousal plane (z = 0) and the two others, brighter in front.
  auto circle = [&](int axis, ImU32 colour) {
    ImVec2 prev{};
    float prev_d = 0;
    for (int i = 0; i <= 72; ++i) {
      const double t = 2.0 * kPi * i / 72.0;
      AffectPoint q = axis == 2 ? AffectPoint{std::cos(t), std::sin(t), 0} : axis == 1 ? AffectPoint{std::cos(t), 0, std::sin(t)} : AffectPoint{0, std::cos(t), std::sin(t)};
      float depth = 0;
      const ImVec2 s2 = cam.project(q, &depth);
      if (i > 0) dl->AddLine(prev, s2, with_alpha(colour, dim * (0.35f + 0.3f * (depth + prev_d + 2.0f) * 0.25f)), 1.2f);
      prev = s2;
      prev_d = depth;
    }
  };
  circle(2, IM_COL32(255, 255, 255, 150));
  circle(1, IM_COL32(255, 255, 255, 60));
  circle(0, IM_COL32(255, 255, 255, 60));
  ImGui::PushFont(font_small);
  const struct {
    AffectPoint end;
    const char* name;
    ImU32 colour;
  } axes[3] = {{{1, 0, 0}, "V", IM_COL32(255, 120, 110, 255)}, {{0, 1, 0}, "A", IM_COL32(120, 230, 140, 255)}, {{0, 0, 1}, "z", IM_COL32(110, 170, 255, 255)}};
  for (const auto& ax : axes) {
    const ImVec2 a = cam.project(-1.0 * ax.end), b = cam.project(ax.end);
    dl->AddLine(a, b, with_alpha(ax.colour, dim * 0.55f), 1.2f);
    dl->AddText(b + ImVec2(3, -7), with_alpha(ax.colour, dim), ax.name);
  }

  // Atlas points and the cursor, back to front.
  struct Item {
    float depth;
    const Emotion* e;
  };
  std::vector<Item> items;
  for (const Emotion& e : atlas.emotions()) {
    float d = 0;
    cam.project(e.ball, &d);
    items.push_back({d, &e});
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.depth < b.depth; });
  const Emotion* hover = nullptr;
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  float cursor_depth = 0;
  const AffectPoint cursor3 = ball ? pos_now : AffectPoint{pos_now.v, pos_now.a, 0};
  const ImVec2 cpos = cam.project(cursor3, &cursor_depth);
  bool cursor_drawn = false;
  auto draw_cursor = [&] {
    // Height above the plane: a drop line to (v, a, 0).
    dl->AddLine(cpos, cam.project({cursor3.v, cursor3.a, 0}), with_alpha(kCursor, 0.5f * dim), 1.0f);
    for (std::size_t i = 1; i < ui.trail.size(); ++i) {
      const float age = static_cast<float>(now - ui.trail[i].first) / 1.5f;
      AffectPoint a = ui.trail[i - 1].second, b = ui.trail[i].second;
      if (!ball) a.z = b.z = 0;
      dl->AddLine(cam.project(a), cam.project(b), with_alpha(kCursor, dim * 0.7f * (1.0f - age)), 2.0f);
    }
    cursor_marker(dl, cpos, 5.5f);
    cursor_drawn = true;
  };
  for (const Item& it : items) {
    if (!cursor_drawn && it.depth > cursor_depth) draw_cursor();
    float f = 1.0f;
    const ImVec2 q = cam.project(it.e->ball, nullptr, &f);
    const ImVec4 col = emotion_colour(*it.e);
    const float shade = std::clamp(0.55f + 0.45f * it.depth, 0.3f, 1.0f) * dim;
    const ImU32 c32 = ImGui::ColorConvertFloat4ToU32(ImVec4(col.x, col.y, col.z, shade));
    const bool basic = it.e->kind == EmotionKind::Basic;
    dot(dl, q, (basic ? 4.5f : 3.0f) * f, c32, !basic);
    if (basic) dl->AddText(q + ImVec2(6, -6), with_alpha(c32, 0.9f), it.e->name.c_str());
    if (hovered && std::hypot(mouse.x - q.x, mouse.y - q.y) < 8.0f) hover = it.e;
  }
  if (!cursor_drawn) draw_cursor();
  ImGui::PopFont();
  if (!ball) {
    const char* note = "2D model: the z axis is off (C2A2's third axis needs a 3D model)";
    ImGui::PushFont(font_small);
    const ImVec2 ts = ImGui::CalcTextSize(note, nullptr, false, avail.x * 0.5f);
    dl->AddRectFilled(ImVec2(p0.x, p0.y), ImVec2(p0.x + 8 + ts.x, p0.y + ts.y + 8), IM_COL32(12, 14, 18, 200), 4.0f);
    dl->AddText(font_small, font_small->FontSize, ImVec2(p0.x + 4, p0.y + 4), kMuted, note, nullptr, avail.x * 0.5f);
    ImGui::PopFont();
  }
  dl->PopClipRect();
  if (hover) {
    const AffectPoint q = hover->ball;
    ImGui::SetTooltip("%s\n(v %.2f, a %.2f, z %.2f)", hover->name.c_str(), q.v, q.a, q.z);
  } else if (hovered && !ImGui::IsItemActive()) {
    ImGui::SetTooltip("drag to rotate");
  }

  // Reset, top right of the view; the z control at the right edge.
  const ImVec2 after = ImGui::GetCursorScreenPos();
  ImGui::PushFont(font_small);
  ImGui::SetCursorScreenPos(ImVec2(p0.x + avail.x - ImGui::CalcTextSize("reset view").x - 10, p0.y));
  if (ImGui::SmallButton("reset view")) ui.yaw = -0.6f, ui.pitch = 0.3f;
  ImGui::PopFont();
  ImGui::SetCursorScreenPos(ImVec2(p0.x + avail.x + ImGui::GetStyle().ItemSpacing.x, p0.y));
  ImGui::BeginDisabled(!ball);
  float z = static_cast<float>(session->target().z);
  ImGui::PushStyleColor(ImGuiCol_SliderGrab, rgba(110, 170, 255));
  ImGui::PushFont(font_small);
  if (ImGui::VSliderFloat("##z", ImVec2(slider_w, std::max(avail.y, 16.0f)), &z, -1.0f, 1.0f, ball ? "z\n%+.2f" : "z")) {
    AffectPoint t = session->target();
    t.z = z;
    session->set_target(clamp_to_unit(t, Space::Ball));
  }
  ImGui::PopFont();
  ImGui::PopStyleColor();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) {
    ImGui::SetTooltip(ball ? "z, C2A2's third axis (here -dominance): fear and sadness lift off the plane" : "z needs a 3D model");
  }
  ImGui::EndDisabled();
  ImGui::SetCursorScreenPos(after);
  if (own) ImGui::End();
}

// ---- Readouts ----------------------------------------------------------------------------

void Viewer::Impl::panel_readouts(const ImVec2& pos, const ImVec2& size) {
  const bool own = begin_panel("Readouts", pos, size, kPanel);
  const Space space = session->space();
  const AffectPoint p = session->position();
  const Emotion& e = session->nearest();
  ImGui::PushFont(font_title);
  ImGui::TextColored(emotion_colour(e), "%s", e.name.c_str());
  ImGui::PopFont();
  ImGui::SameLine();
  ImGui::SetCursorPosY(ImGui::GetCursorPosY() + 8);
  if (e.kind == EmotionKind::Compound) ImGui::TextDisabled("%s + %s", e.first.c_str(), e.second.c_str());
  else ImGui::TextDisabled("nearest emotion");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("the nearest atlas emotion (%s), %.2f away", space_name(space), distance(p, e.point(space), space));

  value_row("valence", static_cast<float>(p.v), -1, 1, IM_COL32(255, 120, 110, 255), "v: unpleasant (-1) to pleasant (+1)");
  value_row("arousal", static_cast<float>(p.a), -1, 1, IM_COL32(120, 230, 140, 255), "a: calm (-1) to excited (+1)");
  if (space == Space::Ball) value_row("z", static_cast<float>(p.z), -1, 1, IM_COL32(110, 170, 255, 255), "C2A2's third axis (here: -dominance)");
  else {
    ImGui::TextDisabled("z");
    ImGui::SameLine(ImGui::CalcTextSize("intensity ").x);
    ImGui::TextDisabled("- (2D model)");
  }
  value_row("intensity", static_cast<float>(radius(p, space)), 0, 1, kCursor, "distance from neutral");

  ImGui::Spacing();
  ImGui::PushFont(font_small);
  ImGui::TextDisabled("FACS ACTION UNITS");
  ImGui::Separator();
  const AuVector& aus = session->action_units();
  ImGui::PushStyleVar(ImGuiStyleVar_CellPadding, ImVec2(4, 1));
  if (ImGui::BeginTable("aus", 2, ImGuiTableFlags_SizingStretchSame)) {
    for (int i = 0; i < kAuCount; ++i) {
      ImGui::TableNextColumn();
      const float v = aus[static_cast<std::size_t>(i)];
      const ImVec2 q = ImGui::GetCursorScreenPos();
      const float w = ImGui::GetContentRegionAvail().x;
      ImGui::TextUnformatted(au_key(i));
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("AU%d %s: %.3f", au_numbers()[static_cast<std::size_t>(i)], au_description(i), static_cast<double>(v));
      const float lw = ImGui::CalcTextSize("AU12 ").x, h = ImGui::GetTextLineHeight();
      bar(ImGui::GetWindowDrawList(), q + ImVec2(lw, h * 0.3f), ImVec2(std::max(8.0f, w - lw - 34), h * 0.5f), v, 0, 1, kAccent);
      char t[8];
      std::snprintf(t, sizeof t, "%.2f", static_cast<double>(v));
      ImGui::GetWindowDrawList()->AddText(q + ImVec2(w - ImGui::CalcTextSize(t).x, 0), v > 0.005f ? kInk : kMuted, t);
    }
    ImGui::EndTable();
  }
  ImGui::Spacing();
  ImGui::TextDisabled("ARKIT-52, STRONGEST");
  ImGui::Separator();
  const ArkitVector& ak = session->arkit();
  std::array<int, kArkitCount> order{};
  for (int i = 0; i < kArkitCount; ++i) order[static_cast<std::size_t>(i)] = i;
  std::partial_sort(order.begin(), order.begin() + 8, order.end(), [&](int a, int b) { return ak[static_cast<std::size_t>(a)] > ak[static_cast<std::size_t>(b)]; });
  if (ImGui::BeginTable("arkit", 2, ImGuiTableFlags_SizingStretchSame)) {
    for (int k = 0; k < 8; ++k) {
      const int i = order[static_cast<std::size_t>(k)];
      const float v = ak[static_cast<std::size_t>(i)];
      ImGui::TableNextColumn();
      const ImVec2 q = ImGui::GetCursorScreenPos();
      const float w = ImGui::GetContentRegionAvail().x, h = ImGui::GetTextLineHeight();
      ImGui::TextColored(v > 0.005f ? ImVec4(0.88f, 0.9f, 0.93f, 1) : ImVec4(0.5f, 0.53f, 0.58f, 1), "%s", arkit_names()[static_cast<std::size_t>(i)]);
      bar(ImGui::GetWindowDrawList(), q + ImVec2(w - 58, h * 0.3f), ImVec2(54, h * 0.5f), v, 0, 1, IM_COL32(196, 140, 255, 255));
    }
    ImGui::EndTable();
  }
  ImGui::PopStyleVar();
  ImGui::PopFont();
  if (own) ImGui::End();
}

// ---- Record ------------------------------------------------------------------------------

void Viewer::Impl::panel_record(const ImVec2& pos, const ImVec2& size) {
  const bool own = begin_panel("Record", pos, size, kPanel);
  const bool busy = recording;
  ImGui::RadioButton("Circle walk", &ui.record_mode, 0);
  ImGui::SameLine();
  ImGui::RadioButton("Live cursor path", &ui.record_mode, 1);
  const float label_w = 70.0f;
  auto row_label = [&](const char* text) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(text);
    ImGui::SameLine(label_w);
    ImGui::SetNextItemWidth(-1);
  };
  if (ui.record_mode == 0) {
    static const struct {
      const char* name;
      float theta, phi, r;
    } presets[] = {{"plane, r 0.8", 0.0f, 0.0f, 0.8f}, {"C2A2 (2.3, 3.761, 0.2)", 2.3f, 3.761f, 0.2f},
                   {"C2A2 (0.4901, 0.9801, 0.6)", 0.4901f, 0.9801f, 0.6f}, {"C2A2 (1.177, 5.974, 1.0)", 1.177f, 5.974f, 1.0f}};
    row_label("Preset");
    if (ImGui::BeginCombo("##preset", "C2A2's walks…")) {
      for (const auto& pr : presets) {
        if (ImGui::Selectable(pr.name)) ui.walk_theta = pr.theta, ui.walk_phi = pr.phi, ui.walk_r = pr.r;
      }
      ImGui::EndCombo();
    }
    const float half = (ImGui::GetContentRegionAvail().x - label_w - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
    row_label("Plane");
    ImGui::SetNextItemWidth(half);
    ImGui::SliderFloat("##theta", &ui.walk_theta, 0.0f, kPi, "θ %.3f");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-1);
    ImGui::SliderFloat("##phi", &ui.walk_phi, 0.0f, 2.0f * kPi, "φ %.3f");
    row_label("Radius");
    ImGui::SliderFloat("##r", &ui.walk_r, 0.05f, 1.0f, "r %.2f");
    row_label("Timing");
    ImGui::SetNextItemWidth(half);
    ImGui::SliderFloat("##seconds", &ui.walk_seconds, 0.5f, 30.0f, "%.1f s");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-1);
    ImGui::SliderFloat("##fps", &ui.walk_fps, 1.0f, 60.0f, "%.0f fps");
  } else {
    row_label("Timing");
    ImGui::SliderFloat("##fps_live", &ui.walk_fps, 1.0f, 60.0f, "%.0f fps");
    if (session->capturing()) {
      const auto& samples = session->capture().samples;
      ImGui::TextColored(ImVec4(1.0f, 0.4f, 0.4f, 1.0f), "● capturing");
      ImGui::SameLine();
      ImGui::Text("%.1f s, %zu samples", samples.empty() ? 0.0 : static_cast<double>(samples.back()[0]), samples.size());
    } else {
      ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyle().Colors[ImGuiCol_TextDisabled]);
      ImGui::TextWrapped("Captures the cursor's (t, v, a, z) as you move it, then renders that path frame by frame");
      ImGui::PopStyleColor();
    }
  }
  row_label("Folder");
  ImGui::InputText("##dir", ui.record_dir, sizeof ui.record_dir);
  ImGui::BeginDisabled(busy && !session->capturing());
  ImGui::PushStyleColor(ImGuiCol_Button, rgba(44, 92, 160));
  ImGui::PushStyleColor(ImGuiCol_ButtonHovered, rgba(58, 112, 190));
  const char* label = ui.record_mode == 0 ? "Record circle walk" : session->capturing() ? "Stop and render" : "Start capture  (gamepad: Start)";
  const bool pressed = ImGui::Button(label, ImVec2(-1, 0));
  {
    const ImVec2 lo = ImGui::GetItemRectMin(), hi = ImGui::GetItemRectMax(), s = ImGui::GetIO().DisplayFramebufferScale;
    layout.record_x = lo.x * s.x, layout.record_y = lo.y * s.y, layout.record_w = (hi.x - lo.x) * s.x, layout.record_h = (hi.y - lo.y) * s.y;
  }
  if (pressed) {
    if (ui.record_mode == 0) {
      RecordRequest r;
      r.theta = ui.walk_theta;
      r.phi = ui.walk_phi;
      r.radius = ui.walk_r;
      r.seconds = ui.walk_seconds;
      r.fps = ui.walk_fps;
      char name[96];
      std::snprintf(name, sizeof name, "/walk-%.3f-%.3f-%.2f", static_cast<double>(ui.walk_theta), static_cast<double>(ui.walk_phi), static_cast<double>(ui.walk_r));
      r.out_dir = std::string(ui.record_dir) + name;
      start_recording(r);
    } else {
      toggle_live_capture();
    }
  }
  ImGui::PopStyleColor(2);
  ImGui::EndDisabled();
  ImGui::PushFont(font_small);
  if (busy) {
    const char* spin = "|/-\\";
    ImGui::Text("%c rendering frame by frame (progress in the terminal)…", spin[static_cast<int>(now * 8.0) % 4]);
  } else {
    ImGui::TextDisabled("MP4 + PNG frames + path CSV + contact sheet; never drops frames");
  }
  ImGui::PopFont();
  if (own) ImGui::End();
}

// ---- Status bar --------------------------------------------------------------------------

void Viewer::Impl::panel_status(const ImVec2& pos, const ImVec2& size) {
  ImGui::SetNextWindowPos(pos);
  ImGui::SetNextWindowSize(size);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowRounding, 0.0f);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(10, 5));
  ImGui::PushStyleColor(ImGuiCol_WindowBg, rgba(14, 16, 20));
  ImGui::Begin("##status", nullptr, kPanel | ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoInputs);
  ImGui::PushFont(font_small);
  ui.toasts.erase(std::remove_if(ui.toasts.begin(), ui.toasts.end(), [&](const Toast& t) { return t.until < now; }), ui.toasts.end());
  char right[256];
  std::snprintf(right, sizeof right, "%s%s   %s (%s)", win.gamepad >= 0 ? "gamepad: " : "", win.gamepad >= 0 ? win.gamepad_name.c_str() : "",
                gpu.vk.device_info().name.c_str(), device_type_name(gpu.vk.device_info().type));
  const float rw = ImGui::CalcTextSize(right).x;
  const char* keys = "1-7 emotions   0 neutral   F12 screenshot   Ctrl+Q quit   drop an image: identity";
  float left_w = 0;
  if (!ui.toasts.empty()) {
    const Toast& t = ui.toasts.back();
    ImGui::TextColored(t.error ? ImVec4(1.0f, 0.45f, 0.45f, 1.0f) : ImVec4(0.55f, 0.88f, 1.0f, 1.0f), "%s", t.text.c_str());
    left_w = ImGui::CalcTextSize(t.text.c_str()).x;
  } else {
    if (ImGui::CalcTextSize(keys).x + rw + 40 > size.x) keys = "F12 screenshot   Ctrl+Q quit";
    ImGui::TextDisabled("%s", keys);
    left_w = ImGui::CalcTextSize(keys).x;
  }
  if (left_w + rw + 40 < size.x) {
    ImGui::SameLine(size.x - rw - 12);
    ImGui::TextDisabled("%s", right);
  }
  ImGui::PopFont();
  ImGui::End();
  ImGui::PopStyleColor();
  ImGui::PopStyleVar(2);
}

}  // namespace circumplex::renderer
