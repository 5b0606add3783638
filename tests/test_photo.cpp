// Photo identities (circumplex/photo.hpp) on real photos: the sample of the Face Research Lab
// London Set in tests/data/photos/london-sample (CC BY 4.0, attribution in its README). The
// shipped model and judge: alignment lands the face where the package's framing says, the
// avatar is a face, a smiling photo gives a neutral face at the neutral point, a person's
// two photos re-identify each other through the judge's identity factors, and bad input gets
// a clear error or a stated choice. Writes test-output/photo/avatars/avatars.png (photos beside their
// avatars at neutral, happy, sad and fearful).
#include "torch_doctest.hpp"

#include <chrono>
#include <cstdio>
#include <jpeglib.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "circumplex/assets.hpp"
#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/face_detect.hpp"
#include "circumplex/facegen.hpp"
#include "circumplex/judge.hpp"
#include "circumplex/photo.hpp"
#include "judge/judge_images.hpp"
#include "test_support.hpp"

using namespace circumplex;
namespace fs = std::filesystem;

namespace {
const std::string kPhotos = std::string(CIRCUMPLEX_SOURCE_DIR) + "/tests/data/photos/london-sample/";
const std::vector<std::string> kPeople = {"003", "005", "006", "021", "025", "042"};

cv::Mat read_rgb(const std::string& path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR), rgb;
  REQUIRE_MESSAGE(!bgr.empty(), path);
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

PreparedPhoto prepare(const cv::Mat& rgb, const ModelPackage& pkg, const std::string& origin = "photo") {
  return prepare_photo(rgb.data, rgb.cols, rgb.rows, 3, rgb.step, pkg, origin);
}

cv::Mat bgr_of(const std::vector<std::uint8_t>& rgba, int s) {
  cv::Mat bgr;
  cv::cvtColor(cv::Mat(s, s, CV_8UC4, const_cast<std::uint8_t*>(rgba.data())), bgr, cv::COLOR_RGBA2BGR);
  return bgr;
}

struct Shipped {
  ModelPackage pkg = ModelPackage::load(std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/default");
  JudgePackage jpkg = JudgePackage::load(std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/judge");
  Generator gen{pkg, 2};
  Judge judge{jpkg, 2};
};
Shipped& shipped() {
  static Shipped s;
  return s;
}

/// The judge's reading of BGR faces: [N, outputs].
torch::Tensor judged(const std::vector<cv::Mat>& faces) { return tools::judge_images(shipped().judge, faces); }
}  // namespace

TEST_CASE("the shipped package states its framing, measured on its training faces") {
  const auto& f = shipped().pkg.framing();
  REQUIRE(f.has_value());
  CHECK(f->faces >= 200);
  CHECK(f->face_size > 0.3);
  CHECK(f->face_size < 0.9);
  CHECK(f->face_x + f->face_size / 2 == doctest::Approx(0.5).epsilon(0.1));  // the faces are centred
  CHECK(f->procedural);  // trained on synth's painted people: photos take the procedural route
}

TEST_CASE("the identity route is a fact of the package: procedural paints the fitted person, photo encodes the aligned photo") {
  const fs::path dir = fresh_dir("photo/route");
  const fs::path src = fs::path(CIRCUMPLEX_SOURCE_DIR) / "assets/models/default";
  for (const auto& e : fs::directory_iterator(src)) fs::copy(e.path(), dir / e.path().filename());
  auto m = nlohmann::json::parse(read_text_file((dir / "manifest.json").string()));
  const cv::Mat rgb = read_rgb(kPhotos + "003_neutral.jpg");
  const PreparedPhoto painted = prepare(rgb, shipped().pkg);
  REQUIRE(painted.person.has_value());
  const int S = painted.size;
  cv::Mat expect;
  cv::cvtColor(facegen::render_face(*painted.person, AuVector{}, S), expect, cv::COLOR_BGR2RGB);
  CHECK(std::equal(painted.rgb.begin(), painted.rgb.end(), expect.data));  // the encoder reads the painted person
  CHECK(painted.aligned_photo != painted.rgb);
  m["framing"]["identity_route"] = "photo";
  std::ofstream(dir / "manifest.json") << m.dump();
  const PreparedPhoto photo = prepare(rgb, ModelPackage::load(dir.string()));
  CHECK_FALSE(photo.person.has_value());
  CHECK(photo.aligned_photo.size() == photo.rgb.size());
  m["framing"]["identity_route"] = "painted";
  std::ofstream(dir / "manifest.json") << m.dump();
  CHECK_THROWS_WITH_AS(ModelPackage::load(dir.string()), doctest::Contains("identity_route"), Error);
}

TEST_CASE("real photos: aligned to the framing, avatars that are faces, neutral from a smile, re-identified") {
  Shipped& s = shipped();
  const int S = s.pkg.config().image_size;
  const Framing& f = *s.pkg.framing();
  const Space space = s.pkg.manifold().space();
  const Atlas& atlas = Atlas::builtin();
  FaceDetector detector(DetectorSpec{});
  std::vector<cv::Mat> neutral_faces, rows;
  std::vector<std::string> names;
  double worst_offset = 0;
  int avatars_found = 0;
  for (const std::string& who : kPeople) {
    for (const std::string kind : {"neutral", "smiling"}) {
      const std::string path = kPhotos + who + "_" + kind + ".jpg";
      const cv::Mat rgb = read_rgb(path);
      const PreparedPhoto p = prepare(rgb, s.pkg, path);
      CHECK(p.aligned);
      CHECK(p.faces == 1);
      // The face box of the aligned image sits where the package's faces have theirs.
      cv::Mat aligned_bgr, encoded_bgr;
      REQUIRE(p.aligned_photo.size() == static_cast<std::size_t>(S * S * 3));
      cv::cvtColor(cv::Mat(S, S, CV_8UC3, const_cast<std::uint8_t*>(p.aligned_photo.data())), aligned_bgr, cv::COLOR_RGB2BGR);
      cv::cvtColor(cv::Mat(S, S, CV_8UC3, const_cast<std::uint8_t*>(p.rgb.data())), encoded_bgr, cv::COLOR_RGB2BGR);
      const auto found = detector.detect(aligned_bgr, nullptr, 24);
      REQUIRE_MESSAGE(!found.empty(), path);
      const cv::Rect2d b = found[0].box;
      const double offset = std::max({std::fabs(b.x - f.face_x * S), std::fabs(b.y - f.face_y * S), std::fabs(b.width - f.face_size * S)});
      worst_offset = std::max(worst_offset, offset);
      CHECK_MESSAGE(offset <= 5.0 * S / 128, path << ": aligned face box off by " << offset << " px");
      // Avatars at neutral, happy, sad and fearful.
      const std::vector<float> identity = s.gen.encode(p.rgb.data(), S, S, 3);
      std::vector<std::vector<float>> latents = {s.pkg.manifold().compose(identity, {0, 0, 0})};
      for (const char* e : {"happy", "sad", "fearful"}) latents.push_back(s.pkg.manifold().compose(identity, atlas.at_intensity(atlas.find(e), 0.9, space)));
      std::vector<std::vector<std::uint8_t>> rgba;
      s.gen.decode_batch(latents, rgba);
      const cv::Mat neutral = bgr_of(rgba[0], S);
      avatars_found += detector.detect(neutral, nullptr, 24).empty() ? 0 : 1;
      neutral_faces.push_back(neutral);
      names.push_back(who + "_" + kind);
      // One row of the sheet: the photo, aligned, the image the encoder read (the aligned photo
      // or the painted person fitted to it), then the avatar at neutral, happy, sad, fearful.
      cv::Mat photo_bgr;
      cv::cvtColor(rgb, photo_bgr, cv::COLOR_RGB2BGR);
      cv::resize(photo_bgr, photo_bgr, {S, S}, 0, 0, cv::INTER_AREA);
      std::vector<cv::Mat> cells = {photo_bgr, aligned_bgr, encoded_bgr};
      for (const auto& px : rgba) cells.push_back(bgr_of(px, S));
      cv::Mat row;
      cv::hconcat(cells, row);
      rows.push_back(row);
    }
  }
  cv::Mat sheet;
  cv::vconcat(rows, sheet);
  const fs::path out = fresh_dir("photo/avatars");
  cv::imwrite((out / "avatars.png").string(), sheet);
  MESSAGE("aligned face boxes within " << worst_offset << " px of the framing; avatars the detector finds: " << avatars_found << "/12; sheet "
                                       << (out / "avatars.png").string());
  CHECK(avatars_found == 12);

  // What the judge reads from the neutral-point avatars.
  const torch::Tensor read = judged(neutral_faces);
  const std::vector<int> id_outputs = s.jpkg.group("identity");
  double worst_va = 0;
  for (std::size_t i = 1; i < neutral_faces.size(); i += 2) {  // from the smiling photos
    const double v = read[static_cast<std::int64_t>(i)][0].item<double>(), a = read[static_cast<std::int64_t>(i)][1].item<double>();
    worst_va = std::max({worst_va, std::fabs(v), std::fabs(a)});
    // The goal: 0.15. The procedural route reads 0.13 at worst (the encoded aligned photo read 0.17).
    CHECK_MESSAGE(std::fabs(v) <= 0.15, names[i] << ": judged valence " << v << " at the neutral point");
    CHECK_MESSAGE(std::fabs(a) <= 0.15, names[i] << ": judged arousal " << a << " at the neutral point");
  }
  // Re-identification: each neutral photo's avatar is nearest (standardised identity factors)
  // to the same person's smiling one among the six smiling ones.
  std::vector<int> used;
  for (int j : id_outputs) {
    if (!s.jpkg.outputs()[static_cast<std::size_t>(j)].constant) used.push_back(j);
  }
  int correct = 0;
  double closest = 1e300;  // the smallest (nearest other person ÷ same person) distance ratio
  for (std::size_t p = 0; p < kPeople.size(); ++p) {
    std::vector<double> d(kPeople.size(), 0.0);
    for (std::size_t q = 0; q < kPeople.size(); ++q) {
      for (int j : used) {
        const double sd = s.jpkg.outputs()[static_cast<std::size_t>(j)].stdev;
        const double x = (read[static_cast<std::int64_t>(2 * p)][j].item<double>() - read[static_cast<std::int64_t>(2 * q + 1)][j].item<double>()) / sd;
        d[q] += x * x;
      }
    }
    const std::size_t best = static_cast<std::size_t>(std::min_element(d.begin(), d.end()) - d.begin());
    double other = 1e300;
    for (std::size_t q = 0; q < d.size(); ++q) {
      if (q != p) other = std::min(other, d[q]);
    }
    closest = std::min(closest, other / std::max(d[p], 1e-12));
    correct += best == p ? 1 : 0;
    if (best != p) MESSAGE(kPeople[p] << "_neutral's avatar is nearest " << kPeople[best] << "_smiling's");
  }
  MESSAGE("neutral point from the smiling photos: worst judged |v|, |a| = " << worst_va << "; re-identification top-1 " << correct
                                                                           << "/6; nearest other person / same person, smallest: " << closest);
  // The goal is 6/6: the nearest other person is 1.64 times as far as the same person with the
  // shipped model (stage 9: 1.73, stage 8: 1.75, stage 7: 1.60) since hair colour is fitted on
  // the crown (before: 5/6, 042's smiling photo got grey hair and 025's neutral avatar lay as
  // near it as her own, ratio 0.999).
  CHECK(correct == 6);
  CHECK(closest > 1.2);
}

TEST_CASE("expression control on photo identities is as good as on seeds: the judged 7x7 grid") {
  Shipped& s = shipped();
  const int S = s.pkg.config().image_size;
  std::vector<AffectPoint> grid;
  for (int j = 0; j < 7; ++j) {
    for (int i = 0; i < 7; ++i) grid.push_back(clamp_to_unit({-1.0 + i / 3.0, -1.0 + j / 3.0, 0.0}, Space::Plane));
  }
  // Judged MAE (v, a) over the grid of each identity, as `evaluate` reports it.
  const auto grid_mae = [&](const std::vector<std::vector<float>>& identities) {
    double sum = 0;
    for (const auto& id : identities) {
      std::vector<std::vector<float>> latents;
      for (const AffectPoint& p : grid) latents.push_back(s.pkg.manifold().compose(id, p));
      std::vector<std::vector<std::uint8_t>> rgba;
      s.gen.decode_batch(latents, rgba);
      std::vector<cv::Mat> faces;
      for (const auto& px : rgba) faces.push_back(bgr_of(px, S));
      const torch::Tensor read = judged(faces);
      for (std::size_t k = 0; k < grid.size(); ++k) {
        const auto row = static_cast<std::int64_t>(k);
        sum += 0.5 * (std::fabs(read[row][0].item<double>() - grid[k].v) + std::fabs(read[row][1].item<double>() - grid[k].a));
      }
    }
    return sum / static_cast<double>(identities.size() * grid.size());
  };
  std::vector<std::vector<float>> photos, seeds;
  for (const std::string& who : kPeople) {
    for (const std::string kind : {"neutral", "smiling"}) {
      const PreparedPhoto p = prepare(read_rgb(kPhotos + who + "_" + kind + ".jpg"), s.pkg);
      photos.push_back(s.gen.encode(p.rgb.data(), S, S, 3));
    }
  }
  for (std::uint64_t seed = 1; seed <= photos.size(); ++seed) seeds.push_back(s.pkg.identity_from_seed(seed));
  const double photo_mae = grid_mae(photos), seed_mae = grid_mae(seeds);
  MESSAGE("judged grid MAE (v, a): 12 photo identities " << photo_mae << ", 12 seeds " << seed_mae);
  CHECK(photo_mae <= seed_mae + 0.03);
}

TEST_CASE("the procedural route: painted people are fitted back to themselves") {
  // A painted person at neutral, framed as the painter frames everyone, is what the fit should
  // recover best: the factors a photo shows come back near their values.
  const int S = 128;
  int hair_right = 0, n = 0;
  double skin_err = 0, bg_err = 0, worst_ms = 0;
  for (std::uint64_t seed : {11u, 12u, 13u, 14u, 15u, 16u}) {
    facegen::Identity truth = facegen::sample_identity(seed);
    truth.head_roll = truth.head_yaw = truth.scale = truth.offset_x = truth.offset_y = 0.5;  // framed as the fit paints
    truth.glasses = 0;
    cv::Mat bgr = facegen::render_face(truth, AuVector{}, S), rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const auto t0 = std::chrono::steady_clock::now();
    const facegen::Identity fit = fit_procedural_person(rgb.data, S);
    worst_ms = std::max(worst_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    skin_err += std::fabs(fit.skin_tone - truth.skin_tone);
    bg_err += std::fabs(fit.background_light - truth.background_light);
    hair_right += fit.hair_style == truth.hair_style ? 1 : 0;
    ++n;
    CHECK(fit.glasses == 0);  // never fitted
  }
  MESSAGE("fit of 6 painted people: skin tone error " << skin_err / n << ", background lightness error " << bg_err / n << ", hair style "
                                                      << hair_right << "/6, slowest " << worst_ms << " ms");
  CHECK(skin_err / n < 0.1);
  CHECK(bg_err / n < 0.2);
  CHECK(hair_right >= 4);
  CHECK_THROWS_AS(fit_procedural_person(nullptr, S), Error);
}

TEST_CASE("bad photos: a clear error naming the image, or a stated choice") {
  Shipped& s = shipped();
  const cv::Mat grey(300, 300, CV_8UC3, cv::Scalar(128, 128, 128));
  CHECK_THROWS_WITH_AS(prepare(grey, s.pkg, "wall.png"), doctest::Contains("wall.png: no face found"), Error);
  const std::uint8_t px[4 * 4 * 3] = {};
  CHECK_THROWS_WITH_AS(prepare_photo(px, 4, 4, 3, 12, s.pkg, "tiny.png"), doctest::Contains("tiny.png: the image is 4x4 pixels"), Error);
  CHECK_THROWS_WITH_AS(prepare_photo(nullptr, 100, 100, 3, 300, s.pkg, "null"), doctest::Contains("must not be null"), Error);
  CHECK_THROWS_WITH_AS(prepare_photo(grey.data, 300, 300, 2, 600, s.pkg, "two.png"), doctest::Contains("channels"), Error);
  CHECK_THROWS_WITH_AS(prepare_photo(grey.data, 300, 300, 3, 100, s.pkg, "stride.png"), doctest::Contains("stride"), Error);
  CHECK_THROWS_WITH_AS(prepare_photo(grey.data, 20000, 20000, 3, 60000, s.pkg, "huge.png"), doctest::Contains("8..8192"), Error);
  // A tiny face in a large picture: refused, saying how to fix it.
  cv::Mat small_face, wide_view(2400, 2400, CV_8UC3, cv::Scalar(235, 235, 235));
  cv::resize(read_rgb(kPhotos + "005_neutral.jpg"), small_face, {}, 0.12, 0.12, cv::INTER_AREA);
  small_face.copyTo(wide_view(cv::Rect(1100, 1100, small_face.cols, small_face.rows)));
  CHECK_THROWS_WITH_AS(prepare(wide_view, s.pkg, "crowd.jpg"), doctest::Contains("crowd.jpg: no face found"), Error);
  CHECK_THROWS_WITH_AS(prepare(wide_view, s.pkg, "crowd.jpg"), doctest::Contains("crop closer"), Error);
  // A profile. No profile photo with a clear licence is at hand; the stand-in is what a frontal
  // detector sees of one, half a face: each sample portrait cut at its nose line. Refused,
  // asking for a frontal photo.
  for (const std::string& who : kPeople) {
    const cv::Mat portrait = read_rgb(kPhotos + who + "_neutral.jpg");
    const PreparedPhoto whole = prepare(portrait, s.pkg);
    const cv::Mat half = portrait(cv::Rect(0, 0, static_cast<int>(whole.face_x + whole.face_side / 2), portrait.rows)).clone();
    CHECK_THROWS_WITH_AS(prepare(half, s.pkg, who + "-side.jpg"), doctest::Contains((who + "-side.jpg: no face found").c_str()), Error);
  }
  // A portrait lying on its side or upside down (a scan, a photo without its orientation tag):
  // turned upright, and said; the face is aligned as in the upright photo.
  for (const std::string& who : {kPeople[0] + "_neutral", kPeople[1] + "_neutral", kPeople[2] + "_neutral", kPeople[3] + "_neutral", kPeople[4] + "_neutral",
                                  kPeople[5] + "_neutral", kPeople[0] + "_smiling", kPeople[1] + "_smiling", kPeople[2] + "_smiling", kPeople[3] + "_smiling",
                                  kPeople[4] + "_smiling", kPeople[5] + "_smiling"}) {
    const cv::Mat portrait = read_rgb(kPhotos + who + ".jpg");
    const PreparedPhoto upright = prepare(portrait, s.pkg);
    CHECK(upright.notes.empty());
    for (const auto& [turn, words] : {std::pair{cv::ROTATE_90_CLOCKWISE, "lying on its side; it was turned a quarter anticlockwise"},
                                      std::pair{cv::ROTATE_90_COUNTERCLOCKWISE, "lying on its side; it was turned a quarter clockwise"},
                                      std::pair{cv::ROTATE_180, "lying upside down; it was turned over"}}) {
      cv::Mat lying;
      cv::rotate(portrait, lying, turn);
      const PreparedPhoto p = prepare(lying, s.pkg, "lying.jpg");
      REQUIRE_MESSAGE(p.notes.size() == 1, who);
      CHECK_MESSAGE(p.notes[0] == std::string("lying.jpg: the face was ") + words, who << ": " << p.notes[0]);
      const double diff = cv::norm(cv::Mat(p.size, p.size, CV_8UC3, const_cast<std::uint8_t*>(p.aligned_photo.data())),
                                   cv::Mat(p.size, p.size, CV_8UC3, const_cast<std::uint8_t*>(upright.aligned_photo.data())), cv::NORM_L1) /
                          static_cast<double>(p.aligned_photo.size());
      CHECK_MESSAGE(diff < 6.0, who << " turned " << turn << ": the aligned face differs from the upright one's by " << diff << " levels");
    }
  }
  // Two people side by side: the larger face wins, and it is said.
  cv::Mat a = read_rgb(kPhotos + "021_neutral.jpg"), b = read_rgb(kPhotos + "025_smiling.jpg"), two;
  cv::resize(b, b, {a.cols * 3 / 4, a.rows * 3 / 4});
  cv::copyMakeBorder(b, b, 0, a.rows - b.rows, 0, 0, cv::BORDER_CONSTANT, cv::Scalar(255, 255, 255));
  cv::hconcat(std::vector<cv::Mat>{a, b}, two);
  const PreparedPhoto p = prepare(two, s.pkg, "pair.jpg");
  CHECK(p.faces == 2);
  CHECK(p.face_x < a.cols);  // the larger face, on the left
  REQUIRE(!p.notes.empty());
  CHECK(p.notes[0].find("2 faces found; the largest is used") != std::string::npos);
  // RGBA with a padded stride gives the same result as packed RGB.
  cv::Mat rgba, padded;
  cv::cvtColor(a, rgba, cv::COLOR_RGB2RGBA);
  cv::copyMakeBorder(rgba, padded, 0, 0, 0, 13, cv::BORDER_CONSTANT);
  const PreparedPhoto q = prepare_photo(padded.data, a.cols, a.rows, 4, padded.step, s.pkg, "rgba");
  CHECK(q.rgb == prepare(a, s.pkg).rgb);
}

namespace {
/// `rgb` written as an Adobe-style CMYK JPEG (inverted channels, as Photoshop writes them).
void write_cmyk_jpeg(const cv::Mat& rgb, const fs::path& path) {
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  jpeg_stdio_dest(&c, f);
  c.image_width = static_cast<JDIMENSION>(rgb.cols);
  c.image_height = static_cast<JDIMENSION>(rgb.rows);
  c.input_components = 4;
  c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  c.write_Adobe_marker = TRUE;
  jpeg_start_compress(&c, TRUE);
  std::vector<JSAMPLE> row(static_cast<std::size_t>(rgb.cols) * 4);
  while (c.next_scanline < c.image_height) {
    const auto* p = rgb.ptr<std::uint8_t>(static_cast<int>(c.next_scanline));
    for (int x = 0; x < rgb.cols; ++x) {
      const int r = p[3 * x], g = p[3 * x + 1], b = p[3 * x + 2], k = 255 - std::max({r, g, b});
      const int d = 255 - k;  // CMY relative to the black; stored inverted (Adobe)
      row[4 * x + 0] = static_cast<JSAMPLE>(d == 0 ? 255 : 255 - (d - r) * 255 / d);
      row[4 * x + 1] = static_cast<JSAMPLE>(d == 0 ? 255 : 255 - (d - g) * 255 / d);
      row[4 * x + 2] = static_cast<JSAMPLE>(d == 0 ? 255 : 255 - (d - b) * 255 / d);
      row[4 * x + 3] = static_cast<JSAMPLE>(255 - k);
    }
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&c, rows, 1);
  }
  jpeg_finish_compress(&c);
  std::fclose(f);
  jpeg_destroy_compress(&c);
}

double mean_abs_diff(const PhotoFile& a, const cv::Mat& rgb) {
  REQUIRE(a.width == rgb.cols);
  REQUIRE(a.height == rgb.rows);
  return cv::norm(cv::Mat(a.height, a.width, CV_8UC3, const_cast<std::uint8_t*>(a.rgb.data())), rgb, cv::NORM_L1) / static_cast<double>(rgb.total() * 3);
}
}  // namespace

TEST_CASE("photo files: greyscale, CMYK and 16-bit files read as colour, huge and cut-off files are refused before decoding") {
  const fs::path dir = fresh_dir("photo/files");
  const cv::Mat rgb = read_rgb(kPhotos + "042_neutral.jpg");
  const PhotoFile plain = read_photo_file(kPhotos + "042_neutral.jpg");
  CHECK(mean_abs_diff(plain, rgb) == 0.0);
  // 16-bit PNG: 8-bit colour, the same picture.
  cv::Mat bgr, wide;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  bgr.convertTo(wide, CV_16UC3, 257.0);
  cv::imwrite((dir / "wide.png").string(), wide);
  CHECK(mean_abs_diff(read_photo_file((dir / "wide.png").string()), rgb) < 1.0);
  // CMYK JPEG: colour close to the original (JPEG's own loss aside).
  write_cmyk_jpeg(rgb, dir / "cmyk.jpg");
  const PhotoFile cmyk = read_photo_file((dir / "cmyk.jpg").string());
  CHECK(mean_abs_diff(cmyk, rgb) < 6.0);
  // Greyscale JPEG: three equal channels, and a face is found in it.
  cv::Mat grey;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  cv::imwrite((dir / "grey.jpg").string(), grey);
  const PhotoFile g = read_photo_file((dir / "grey.jpg").string());
  CHECK((g.rgb[0] == g.rgb[1] && g.rgb[1] == g.rgb[2]));
  CHECK(prepare_photo(g.rgb.data(), g.width, g.height, 3, static_cast<std::size_t>(g.width) * 3, shipped().pkg, "grey.jpg").faces == 1);
  // Cut-off files: the message says truncated and names the file.
  const std::string jpeg = read_text_file(kPhotos + "042_neutral.jpg");
  std::ofstream(dir / "half.jpg", std::ios::binary) << jpeg.substr(0, jpeg.size() / 2);
  CHECK_THROWS_WITH_AS(read_photo_file((dir / "half.jpg").string()), doctest::Contains("half.jpg: the image is truncated"), Error);
  const std::string png = read_text_file((dir / "wide.png").string());
  std::ofstream(dir / "half.png", std::ios::binary) << png.substr(0, png.size() / 2);
  CHECK_THROWS_WITH_AS(read_photo_file((dir / "half.png").string()), doctest::Contains("half.png: the image is truncated"), Error);
  // A 20000x20000 PNG header: refused from the header, nothing decoded.
  std::string huge = png.substr(0, 33);  // signature + IHDR
  for (int i : {16, 20}) huge[static_cast<std::size_t>(i)] = 0, huge[static_cast<std::size_t>(i) + 1] = 0, huge[static_cast<std::size_t>(i) + 2] = 0x4E, huge[static_cast<std::size_t>(i) + 3] = 0x20;
  std::ofstream(dir / "huge.png", std::ios::binary) << huge << std::string("\0\0\0\0IEND\xAE\x42\x60\x82", 12);
  CHECK_THROWS_WITH_AS(read_photo_file((dir / "huge.png").string()), doctest::Contains("huge.png: the image is 20000x20000 pixels"), Error);
  CHECK_THROWS_WITH_AS(read_photo_file((dir / "none.jpg").string()), doctest::Contains("none.jpg: cannot open"), Error);
  std::ofstream(dir / "text.jpg") << "not an image";
  CHECK_THROWS_WITH_AS(read_photo_file((dir / "text.jpg").string()), doctest::Contains("text.jpg: cannot decode"), Error);
}

TEST_CASE("a package without framing facts keeps the centre square, and says so") {
  const fs::path dir = fresh_dir("photo/no-framing");
  const fs::path src = fs::path(CIRCUMPLEX_SOURCE_DIR) / "assets/models/default";
  for (const auto& e : fs::directory_iterator(src)) fs::copy(e.path(), dir / e.path().filename());
  auto m = nlohmann::json::parse(read_text_file((dir / "manifest.json").string()));
  m.erase("framing");
  std::ofstream(dir / "manifest.json") << m.dump();
  const ModelPackage old = ModelPackage::load(dir.string());
  CHECK_FALSE(old.framing().has_value());
  const cv::Mat grey(300, 200, CV_8UC3, cv::Scalar(90, 90, 90));  // no face needed on this route
  const PreparedPhoto p = prepare(grey, old, "wall.png");
  CHECK_FALSE(p.aligned);
  CHECK(p.size == old.config().image_size);
  REQUIRE(p.notes.size() == 1);
  CHECK(p.notes[0].find("centre square") != std::string::npos);
  // A broken framing object is refused naming the manifest.
  m["framing"] = {{"face_box", {0.2, 0.2}}, {"luma", {0.4, 0.1}}, {"faces", 10}};
  std::ofstream(dir / "manifest.json") << m.dump();
  CHECK_THROWS_WITH_AS(ModelPackage::load(dir.string()), doctest::Contains("framing"), Error);
}

TEST_CASE("the CLI: render grid --image on a photo, and on a photo with no face") {
  const fs::path out = fresh_dir("photo/cli");
  const std::string model = std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/default";
  const CliResult ok = run_cli("render grid --model " + model + " --image " + kPhotos + "005_smiling.jpg --out " + (out / "grid.png").string());
  CHECK_MESSAGE(ok.code == 0, ok.out);
  CHECK(cv::imread((out / "grid.png").string()).cols > 500);
  cv::imwrite((out / "wall.png").string(), cv::Mat(200, 200, CV_8UC3, cv::Scalar(200, 200, 200)));
  const CliResult bad = run_cli("render grid --model " + model + " --image " + (out / "wall.png").string() + " --out " + (out / "bad.png").string());
  CHECK(bad.code == 1);
  CHECK(bad.out.find("wall.png: no face found") != std::string::npos);
  CHECK_FALSE(fs::exists(out / "bad.png"));
  // Half a face (the stand-in for a profile): the same error, through `render face`.
  const cv::Mat portrait = cv::imread(kPhotos + "005_neutral.jpg");
  // A portrait on its side is turned upright, and the CLI says so.
  cv::Mat lying;
  cv::rotate(portrait, lying, cv::ROTATE_90_COUNTERCLOCKWISE);
  cv::imwrite((out / "lying.jpg").string(), lying);
  const CliResult turned = run_cli("render face --model " + model + " --image " + (out / "lying.jpg").string() + " --affect 0,0 --out " + (out / "lying-face.png").string());
  CHECK_MESSAGE(turned.code == 0, turned.out);
  CHECK(turned.out.find("note: " + (out / "lying.jpg").string() + ": the face was lying on its side; it was turned a quarter clockwise") != std::string::npos);
  cv::imwrite((out / "side.png").string(), portrait(cv::Rect(0, 0, portrait.cols / 2, portrait.rows)));
  const CliResult side = run_cli("render face --model " + model + " --image " + (out / "side.png").string() + " --affect 0,0 --out " + (out / "side-face.png").string());
  CHECK(side.code == 1);
  CHECK(side.out.find("side.png: no face found") != std::string::npos);
  CHECK(side.out.find("frontal photo") != std::string::npos);
  CHECK_FALSE(fs::exists(out / "side-face.png"));
  // A truncated JPEG and a greyscale one.
  const std::string jpeg = read_text_file(kPhotos + "006_neutral.jpg");
  std::ofstream(out / "cut.jpg", std::ios::binary) << jpeg.substr(0, 300);
  const CliResult cut = run_cli("render grid --model " + model + " --image " + (out / "cut.jpg").string() + " --out " + (out / "cut.png").string());
  CHECK(cut.code == 1);
  CHECK(cut.out.find("cut.jpg") != std::string::npos);
  std::ofstream(out / "half.jpg", std::ios::binary) << jpeg.substr(0, jpeg.size() / 2);
  const CliResult half = run_cli("render face --model " + model + " --image " + (out / "half.jpg").string() + " --affect 0,0 --out " + (out / "half.png").string());
  CHECK(half.code == 1);
  CHECK(half.out.find("half.jpg: the image is truncated") != std::string::npos);
  CHECK_FALSE(fs::exists(out / "half.png"));
  cv::Mat grey = cv::imread(kPhotos + "006_neutral.jpg", cv::IMREAD_GRAYSCALE);
  cv::imwrite((out / "grey.jpg").string(), grey);
  const CliResult g = run_cli("render grid --model " + model + " --image " + (out / "grey.jpg").string() + " --out " + (out / "grey.png").string());
  CHECK_MESSAGE(g.code == 0, g.out);
}

TEST_CASE("render face, --save-identity / --identity-file, and judge read") {
  const fs::path out = fresh_dir("photo/face");
  const std::string model = std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/default";
  const std::string id = (out / "me.safetensors").string();
  const CliResult a = run_cli("render face --model " + model + " --image " + kPhotos + "042_smiling.jpg --emotion happy --intensity 0.9 --save-identity " +
                              id + " --out " + (out / "happy.png").string());
  REQUIRE_MESSAGE(a.code == 0, a.out);
  const CliResult b = run_cli("render face --model " + model + " --identity-file " + id + " --emotion happy --intensity 0.9 --out " + (out / "again.png").string());
  REQUIRE_MESSAGE(b.code == 0, b.out);
  const cv::Mat x = cv::imread((out / "happy.png").string()), y = cv::imread((out / "again.png").string());
  REQUIRE(x.cols == 128);
  CHECK(cv::norm(x, y, cv::NORM_INF) == 0);  // the saved identity draws the same face
  // Another package's identity file is refused, naming the file.
  const CliResult c = run_cli("render face --model " + std::string(CIRCUMPLEX_TINY_MODEL) + " --identity-file " + id + " --affect 0,0 --out " +
                              (out / "tiny.png").string());
  CHECK(c.code == 1);
  CHECK(c.out.find("me.safetensors: this identity was saved for another model package") != std::string::npos);
  CHECK(run_cli("render face --model " + model + " --out " + (out / "x.png").string()).code == 2);  // needs --affect or --emotion
  // judge read: the happy face reads as pleasant; a missing image is reported, the rest still read.
  const CliResult r = run_cli("judge read --judge " + std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/judge " + (out / "happy.png").string() +
                              " " + (out / "missing.png").string() + " --json " + (out / "read.json").string());
  CHECK(r.code == 1);
  CHECK(r.out.find("missing.png: cannot read the image") != std::string::npos);
  const auto j = nlohmann::json::parse(read_text_file((out / "read.json").string()));
  REQUIRE(j.at("images").size() == 1);
  CHECK(j["images"][0]["outputs"]["valence"].get<double>() > 0.1);  // pleasant (the shipped model's happy is weak: #13)
  CHECK(j["images"][0]["outputs"].contains("AU12"));
}

