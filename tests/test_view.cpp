// The viewer (renderer/, `circumplex view`): headless renders and their pixels, input on the
// pad, frame timing with a slow generator, and bad input (model package, Vulkan driver).
// Every viewer here runs on lavapipe with the validation layer on; any validation error fails.
#include "torch_doctest.hpp"  // first: LibTorch (model_package.hpp) brings glog's CHECK, which must not win

#define GLFW_INCLUDE_NONE  // key codes only
#include <GLFW/glfw3.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <unistd.h>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/renderer/viewer.hpp"
#include "circumplex/percentile.hpp"
#include "test_skip.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using circumplex::AffectPoint;
using namespace circumplex::renderer;
using circumplex::percentile;

namespace {

// A t,v,a path going round the circle of `radius` at `speed` radians per second for `seconds`.
void write_circle(const fs::path& csv_path, double seconds, double speed, double radius) {
  std::ofstream csv(csv_path);
  csv << "t,v,a\n";
  for (int i = 0; i * 0.05 <= seconds + 1e-9; ++i) {
    const double t = i * 0.05, th = t * speed;
    csv << t << ',' << radius * std::cos(th) << ',' << radius * std::sin(th) << '\n';
  }
}

ViewerOptions headless(int width = 640, int height = 360) {
  ViewerOptions opt;
  opt.headless = true;
  opt.width = width;
  opt.height = height;
  opt.model = CIRCUMPLEX_TINY_MODEL;
  opt.validation = true;
  opt.quiet = true;
  return opt;
}

struct Shot {
  Rgba image;
  ViewerLayout layout;
};

// A settled headless frame with the cursor at `p`.
Shot shot_at(AffectPoint p) {
  ViewerOptions opt = headless();
  opt.affect = p;
  Viewer viewer(opt);
  viewer.frame();
  REQUIRE(viewer.settle(60.0));
  viewer.frame();  // uploads the settled face
  Shot s{viewer.capture(), viewer.layout()};
  CHECK(viewer.face_sequence() > 0);
  CHECK(viewer.validation_errors() == 0);
  return s;
}

const std::uint8_t* pixel(const Rgba& img, float x, float y) {
  const int xi = static_cast<int>(std::lround(x)), yi = static_cast<int>(std::lround(y));
  REQUIRE(xi >= 0);
  REQUIRE(yi >= 0);
  REQUIRE(xi < img.width);
  REQUIRE(yi < img.height);
  return &img.pixels[(static_cast<std::size_t>(yi) * static_cast<std::size_t>(img.width) + static_cast<std::size_t>(xi)) * 4];
}

// The cursor's fill colour (cyan, 70 226 255) within a tolerance.
bool is_cursor(const std::uint8_t* px) { return px[0] < 130 && px[1] > 180 && px[2] > 200; }

// Mean absolute difference of two images over a rectangle, per channel (0 … 255).
double mean_diff(const Rgba& a, const Rgba& b, float x0, float y0, float w, float h) {
  double sum = 0;
  std::size_t n = 0;
  for (int y = static_cast<int>(y0); y < static_cast<int>(y0 + h); ++y) {
    for (int x = static_cast<int>(x0); x < static_cast<int>(x0 + w); ++x) {
      const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(a.width) + static_cast<std::size_t>(x)) * 4;
      for (int c = 0; c < 3; ++c) sum += std::abs(static_cast<int>(a.pixels[i + c]) - static_cast<int>(b.pixels[i + c]));
      n += 3;
    }
  }
  return n ? sum / static_cast<double>(n) : 0.0;
}

// Standard deviation of the luminance-ish sum over a rectangle.
double spread(const Rgba& a, float x0, float y0, float w, float h) {
  double s = 0, s2 = 0;
  std::size_t n = 0;
  for (int y = static_cast<int>(y0); y < static_cast<int>(y0 + h); ++y) {
    for (int x = static_cast<int>(x0); x < static_cast<int>(x0 + w); ++x) {
      const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(a.width) + static_cast<std::size_t>(x)) * 4;
      const double v = a.pixels[i] + a.pixels[i + 1] + a.pixels[i + 2];
      s += v;
      s2 += v * v;
      ++n;
    }
  }
  const double mean = s / static_cast<double>(n);
  return std::sqrt(std::max(0.0, s2 / static_cast<double>(n) - mean * mean));
}

// A left click at (x, y): the mouse moves there, presses and releases, a frame each.
void click(Viewer& viewer, float x, float y) {
  viewer.mouse(x, y, false);
  viewer.frame();
  viewer.mouse(x, y, true);
  viewer.frame();
  viewer.mouse(x, y, false);
  viewer.frame();
}

bool default_model_installed() {
  return fs::exists(fs::path(CIRCUMPLEX_SOURCE_DIR) / "assets/models/default/manifest.json");
}

}  // namespace

TEST_CASE("headless renders have the requested size and show the face and the pad cursor where the affect says") {
  const AffectPoint p1{0.62, 0.30, 0.0}, p2{-0.30, -0.62, 0.0};
  const Shot a = shot_at(p1), b = shot_at(p2);
  for (const Shot* s : {&a, &b}) {
    CHECK(s->image.width == 640);
    CHECK(s->image.height == 360);
    REQUIRE(s->image.pixels.size() == 640u * 360u * 4u);
    CHECK(spread(s->image, 0, 0, 640, 360) > 20.0);  // not blank
    // The face panel holds a picture, not the flat placeholder.
    CHECK(s->layout.face_w > 100);
    CHECK(spread(s->image, s->layout.face_x, s->layout.face_y + s->layout.face_h * 0.5f, s->layout.face_w * 0.5f, s->layout.face_h * 0.5f) > 3.0);
    CHECK(s->layout.pad_radius > 60);
  }
  // The two faces differ (the lower-left quarter: away from the performance overlay).
  const ViewerLayout& l = a.layout;
  const double face_diff = mean_diff(a.image, b.image, l.face_x + 4, l.face_y + l.face_h * 0.5f, l.face_w * 0.5f, l.face_h * 0.5f - 4);
  MESSAGE("face mean abs difference between the two affect points: " << face_diff);
  CHECK(face_diff > 0.5);
  // The cursor sits where each affect point maps on the pad, and not where the other one does.
  float x1, y1, x2, y2;
  a.layout.pad_pixel(p1, x1, y1);
  b.layout.pad_pixel(p2, x2, y2);
  CHECK(is_cursor(pixel(a.image, x1, y1)));
  CHECK(is_cursor(pixel(b.image, x2, y2)));
  CHECK_FALSE(is_cursor(pixel(a.image, x2, y2)));
  CHECK_FALSE(is_cursor(pixel(b.image, x1, y1)));
  // The pad's centre is the neutral dot, not the cursor.
  CHECK_FALSE(is_cursor(pixel(a.image, l.pad_cx, l.pad_cy)));
}

TEST_CASE("dragging on the headless pad moves the target and the cursor follows") {
  ViewerOptions opt = headless();
  Viewer viewer(opt);
  viewer.frame();
  const ViewerLayout l = viewer.layout();
  float x = 0, y = 0;
  l.pad_pixel({0.5, 0.4, 0.0}, x, y);
  viewer.mouse(l.pad_cx, l.pad_cy, false);
  viewer.frame();
  viewer.mouse(l.pad_cx, l.pad_cy, true);
  viewer.frame();
  for (int i = 1; i <= 5; ++i) {  // drag in steps
    viewer.mouse(l.pad_cx + (x - l.pad_cx) * static_cast<float>(i) / 5.0f, l.pad_cy + (y - l.pad_cy) * static_cast<float>(i) / 5.0f, true);
    viewer.frame();
  }
  viewer.mouse(x, y, false);
  viewer.frame();
  CHECK(viewer.target().v == doctest::Approx(0.5).epsilon(0.03));
  CHECK(viewer.target().a == doctest::Approx(0.4).epsilon(0.03));
  for (int i = 0; i < 45; ++i) viewer.frame();  // 0.75 s at 60 Hz: the spring has arrived
  CHECK(viewer.cursor().v == doctest::Approx(0.5).epsilon(0.05));
  CHECK(viewer.cursor().a == doctest::Approx(0.4).epsilon(0.05));
  // The wheel over the pad changes intensity, keys snap to emotions.
  const double r0 = std::hypot(viewer.target().v, viewer.target().a);
  viewer.mouse(x, y, false);
  viewer.scroll(2.0f);
  viewer.frame();
  CHECK(std::hypot(viewer.target().v, viewer.target().a) == doctest::Approx(r0 + 0.1).epsilon(0.02));
  viewer.key(GLFW_KEY_2);
  for (int i = 0; i < 60; ++i) viewer.frame();
  CHECK(viewer.nearest() == "sad");
  viewer.key(GLFW_KEY_0);
  for (int i = 0; i < 60; ++i) viewer.frame();
  CHECK(viewer.nearest() == "neutral");
  CHECK(viewer.validation_errors() == 0);
}

TEST_CASE("the Record panel hands the live session's package and identity to the recorder") {
  std::mutex m;
  std::vector<RecordRequest> asked;
  ViewerHooks hooks;
  hooks.record = [&](const RecordRequest& r) {
    std::lock_guard<std::mutex> lock(m);
    asked.push_back(r);
    return std::string("recorded");
  };
  ViewerOptions opt = headless(1280, 720);
  opt.identity_seed = 7;
  {
    Viewer viewer(opt, hooks);
    viewer.frame();
    const ViewerLayout l = viewer.layout();
    REQUIRE(l.record_w > 0);
    click(viewer, l.record_x + l.record_w / 2, l.record_y + l.record_h / 2);
  }  // the viewer waits for the recording before it goes
  REQUIRE(asked.size() == 1);
  const RecordRequest& r = asked[0];
  CHECK_FALSE(r.live_path);
  CHECK(r.out_dir.find("/walk-") != std::string::npos);
  REQUIRE(r.package != nullptr);
  CHECK(r.package->dir() == circumplex::ModelPackage::load(CIRCUMPLEX_TINY_MODEL).dir());
  CHECK(r.identity == r.package->identity_from_seed(7));  // the live identity, not encoded again
}

TEST_CASE("the 'keep the image's detail' box adds an image identity's detail layer and takes it off") {
  ViewerHooks hooks;
  hooks.load_image = [](const std::string&) {
    Rgba stripes{32, 32, std::vector<std::uint8_t>(32 * 32 * 4, 255)};
    for (std::size_t p = 0; p < 32 * 32; ++p) {
      for (std::size_t c = 0; c < 3; ++c) stripes.pixels[4 * p + c] = static_cast<std::uint8_t>(p % 4 < 2 ? 40 + 60 * c : 200);
    }
    return stripes;
  };
  ViewerOptions opt = headless(1280, 720);
  opt.identity_image = "stripes.png";  // read by the hook
  Viewer viewer(opt, hooks);
  viewer.frame();
  CHECK_FALSE(viewer.keeps_detail());  // off unless asked for
  CHECK_FALSE(viewer.identity_has_detail());
  const auto click_box = [&] {
    const ViewerLayout l = viewer.layout();
    REQUIRE(l.detail_w > 0);
    click(viewer, l.detail_x + l.detail_h / 2, l.detail_y + l.detail_h / 2);  // the box itself
  };
  click_box();
  CHECK(viewer.keeps_detail());
  CHECK(viewer.identity_has_detail());  // the image was set again with its layer
  click_box();
  CHECK_FALSE(viewer.keeps_detail());
  CHECK_FALSE(viewer.identity_has_detail());
  CHECK(viewer.validation_errors() == 0);
}

TEST_CASE("the UI frame time does not grow with the generator time") {
  // A script keeps the cursor moving (20 s of path), so every frame asks for a new face.
  const fs::path dir = fresh_dir("view-timing");
  write_circle(dir / "circle.csv", 20.0, 3.0, 0.7);
  // Two viewers, one with a generator that takes 400 ms more per face, draw in turns, so
  // both see the same machine load; each frame() call is timed. At least 40 frames each and
  // 2 s of wall time, so the slow generator finishes a few faces.
  auto options = [&](double delay_ms) {
    ViewerOptions opt = headless(480, 270);
    opt.script = (dir / "circle.csv").string();
    opt.generator_delay_ms = delay_ms;
    opt.fixed_dt = 1.0 / 60.0;
    return opt;
  };
  Viewer fast(options(0.0)), slow(options(400.0));
  std::vector<double> fast_ms, slow_ms;
  auto timed = [](Viewer& v, std::vector<double>& ms) {
    const auto t0 = std::chrono::steady_clock::now();
    v.frame();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  };
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 40 || std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2000); ++i) {
    // Alternate who goes first: the second one's GPU work overlaps the first one's frame.
    if (i % 2) {
      timed(fast, fast_ms);
      timed(slow, slow_ms);
    } else {
      timed(slow, slow_ms);
      timed(fast, fast_ms);
    }
  }
  const ViewerStats fs = fast.stats(), ss = slow.stats();
  const double fast_p50 = percentile(fast_ms, 0.5), slow_p50 = percentile(slow_ms, 0.5);
  MESSAGE("frame() p50: " << fast_p50 << " ms with the plain generator (" << fs.faces_shown << " faces in " << fs.frames << " frames), " << slow_p50
                          << " ms with 400 ms more per face (" << ss.faces_shown << " faces, " << ss.generator_ms_mean << " ms/face)");
  CHECK(fast.validation_errors() == 0);
  CHECK(slow.validation_errors() == 0);
  // The delay was real: each slow face took ≥ 400 ms, and far fewer frames got a new face…
  REQUIRE(ss.faces_shown >= 1);
  CHECK(ss.generator_ms_mean >= 400.0);
  CHECK(static_cast<double>(ss.faces_shown) < 0.5 * static_cast<double>(fs.faces_shown));
  // …yet UI frames kept their pace: nowhere near the generator's time.
  CHECK(slow_p50 < 100.0);
  CHECK(slow_p50 < fast_p50 * 1.5 + 10.0);
}

TEST_CASE("10^4 headless frames with the generator busy and identities changing keep the resident memory flat") {
#if defined(__SANITIZE_ADDRESS__)
  CIRCUMPLEX_SKIP("AddressSanitizer's quarantine holds freed memory: resident memory is not the program's here");
#endif
  const fs::path dir = fresh_dir("view-soak");
  write_circle(dir / "circle.csv", 180.0, 2.0, 0.8);  // the cursor never rests: every frame asks for a new face
  ViewerOptions opt = headless(320, 180);
  opt.validation = false;  // the layer's own bookkeeping grows with every command buffer
  opt.script = (dir / "circle.csv").string();
  opt.fixed_dt = 1.0 / 60.0;
  Viewer viewer(opt);
  auto resident_kib = [] {
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
      std::fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
  };
  auto run = [&](int frames) {
    for (int i = 0; i < frames; ++i) {
      if (i % 250 == 125) viewer.key(i % 500 == 125 ? GLFW_KEY_RIGHT_BRACKET : GLFW_KEY_LEFT_BRACKET);  // another person
      REQUIRE(viewer.frame());
    }
  };
  run(1500);  // warm-up: pools, caches and the allocator's arenas reach their size
  const long before = resident_kib();
  const std::uint64_t faces_before = viewer.stats().faces_shown;
  run(8500);
  const long after = resident_kib();
  const ViewerStats st = viewer.stats();
  MESSAGE("RSS after warm-up " << before << " KiB, after 8500 more frames " << after << " KiB; " << st.faces_shown - faces_before
                               << " new faces shown, " << st.frames << " frames");
  CHECK(st.frames >= 10000);
  CHECK(st.faces_shown - faces_before >= 500);  // the generator was busy all along
  CHECK(after - before <= 1024);
}

TEST_CASE("a missing or corrupt model package falls back to the default model with a notice") {
  const fs::path dir = fresh_dir("view-bad-model");
  fs::create_directories(dir / "corrupt");
  std::ofstream(dir / "corrupt" / "manifest.json") << "{\"format\": \"circumplex-model\", \"version\": 1, \"model\": {";
  // With a default model (here: $CIRCUMPLEX_MODEL names the tiny package), the viewer falls back.
  setenv("CIRCUMPLEX_MODEL", CIRCUMPLEX_TINY_MODEL, 1);
  for (const fs::path& bad : {dir / "missing", dir / "corrupt"}) {
    CAPTURE(bad);
    ViewerOptions opt = headless(480, 270);
    opt.model = bad.string();
    Viewer viewer(opt);
    viewer.frame();
    CHECK(viewer.model_notice().find(bad.string()) != std::string::npos);
    CHECK(viewer.model_notice().find("default model") != std::string::npos);
    CHECK(viewer.validation_errors() == 0);
  }
  const CliResult r = run_cli("view --headless --frames 1 --size 480x270 --model " + (dir / "corrupt").string(), "CIRCUMPLEX_MODEL=" CIRCUMPLEX_TINY_MODEL);
  CHECK(r.code == 0);
  CHECK(r.out.find("warning: Could not load the model package") != std::string::npos);
  CHECK(r.out.find("manifest.json") != std::string::npos);
  unsetenv("CIRCUMPLEX_MODEL");
  // Without one: a clear error and exit 1.
  if (!default_model_installed()) {
    ViewerOptions opt = headless(480, 270);
    opt.model = (dir / "missing").string();
    CHECK_THROWS_WITH_AS(Viewer{opt}, doctest::Contains("no default model is installed"), circumplex::Error);
    const CliResult none = run_cli("view --headless --frames 1 --model " + (dir / "missing").string());
    CHECK(none.code == 1);
    CHECK(none.out.find("no such model package folder") != std::string::npos);
    CHECK(none.out.find("no default model is installed") != std::string::npos);
  }
}

TEST_CASE("no Vulkan driver gives a clear message and exit 1") {
  const CliResult r = run_cli("view --headless --frames 1 --model " CIRCUMPLEX_TINY_MODEL, "VK_ICD_FILENAMES=/nonexistent/icd.json VK_DRIVER_FILES=/nonexistent/icd.json");
  CHECK(r.code == 1);
  CHECK(r.out.find("no Vulkan driver found") != std::string::npos);
  CHECK(r.out.find("mesa-vulkan-drivers") != std::string::npos);
  // A device index that does not exist is named with the list of devices.
  const CliResult gpu = run_cli("view --headless --frames 1 --gpu 9 --model " CIRCUMPLEX_TINY_MODEL);
  CHECK(gpu.code == 1);
  CHECK(gpu.out.find("--gpu 9") != std::string::npos);
}

TEST_CASE("the view verb writes a headless screenshot of the requested size") {
  const fs::path dir = fresh_dir("view-cli");
  const fs::path png = dir / "view.png";
  const CliResult r = run_cli("view --headless --validation --affect 0.8,0.5 --size 640x360 --frames 2 --screenshot " + png.string() +
                              " --model " CIRCUMPLEX_TINY_MODEL);
  CHECK(r.code == 0);
  CHECK(r.out.find("wrote") != std::string::npos);
  const cv::Mat img = cv::imread(png.string());
  REQUIRE_FALSE(img.empty());
  CHECK(img.cols == 640);
  CHECK(img.rows == 360);
  CHECK(run_cli("view --size 12x9 --headless").code == 2);
  CHECK(run_cli("view --affect 0.5,0.5 --emotion happy --headless").code == 2);
  const CliResult help = run_cli("view --help");
  CHECK(help.code == 0);
  CHECK(help.out.find("--headless") != std::string::npos);
}

TEST_CASE("headless view --image: a photo's face becomes the identity, a photo with no face gets a notice and the seed") {
  const fs::path dir = fresh_dir("view/photo");
  const std::string model = std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/default";
  const std::string photo = std::string(CIRCUMPLEX_SOURCE_DIR) + "/tests/data/photos/london-sample/005_neutral.jpg";
  const CliResult ok = run_cli("view --headless --frames 2 --size 480x270 --model " + model + " --image " + photo + " --screenshot " +
                               (dir / "photo.png").string());
  CHECK_MESSAGE(ok.code == 0, ok.out);
  CHECK(ok.out.find("Identity encoded from " + photo) != std::string::npos);
  cv::imwrite((dir / "wall.png").string(), cv::Mat(240, 240, CV_8UC3, cv::Scalar(200, 200, 200)));
  const CliResult wall = run_cli("view --headless --frames 2 --size 480x270 --model " + model + " --image " + (dir / "wall.png").string() +
                                 " --screenshot " + (dir / "wall-shot.png").string());
  CHECK_MESSAGE(wall.code == 0, wall.out);  // the viewer runs on with the seed's identity
  CHECK(wall.out.find("Cannot use that image") != std::string::npos);
  CHECK(wall.out.find("wall.png: no face found") != std::string::npos);
  CHECK(fs::exists(dir / "wall-shot.png"));
  // A cut-off photo: the same notice, naming what is wrong.
  const std::string jpeg = circumplex::read_text_file(photo);
  std::ofstream(dir / "half.jpg", std::ios::binary) << jpeg.substr(0, jpeg.size() / 2);
  const CliResult half = run_cli("view --headless --frames 2 --size 480x270 --model " + model + " --image " + (dir / "half.jpg").string() +
                                 " --screenshot " + (dir / "half-shot.png").string());
  CHECK_MESSAGE(half.code == 0, half.out);
  CHECK(half.out.find("half.jpg: the image is truncated") != std::string::npos);
  const CliResult seed = run_cli("view --headless --frames 2 --size 480x270 --model " + model + " --screenshot " + (dir / "seed.png").string());
  REQUIRE(seed.code == 0);
  const cv::Mat b = cv::imread((dir / "seed.png").string()), c = cv::imread((dir / "photo.png").string());
  REQUIRE(!c.empty());
  CHECK(cv::norm(c, b, cv::NORM_L1) > 0);  // the photo's face is not the seed's
}

