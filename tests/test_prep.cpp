// `circumplex prep`: AffectNet CSV reading, image checks, detection, CLAHE, balance, class
// weights, resume — on an AffectNet-shaped fixture of procedural faces made here.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <string>
#include <vector>

#include "circumplex/assets.hpp"
#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "common/csv.hpp"
#include "circumplex/facegen.hpp"
#include "prep/affectnet.hpp"
#include "circumplex/face_detect.hpp"
#include "prep/image.hpp"
#include "prep/npy.hpp"
#include "prep/prep.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace circumplex;
using namespace circumplex::prep;

namespace {

const char* const kCategory[8] = {"neutral", "happy", "sad", "surprised", "fearful", "disgusted", "angry", "contempt"};

std::string slurp(const fs::path& p) { return read_text_file(p.string()); }

void spit(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

/// A fingerprint of the face renderer's current output (a tiny render), so that cached faces
/// are not reused once the renderer changes.
const std::string& renderer_tag() {
  static const std::string tag = [] {
    AuVector aus{};
    aus.fill(0.5f);
    const cv::Mat tiny = facegen::render_face(facegen::sample_identity(1), aus, 32);
    std::uint64_t h = 0xCBF29CE484222325ull;
    for (auto it = tiny.begin<cv::Vec3b>(); it != tiny.end<cv::Vec3b>(); ++it) {
      for (int c = 0; c < 3; ++c) h = (h ^ (*it)[c]) * 0x100000001B3ull;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return std::string(buf);
  }();
  return tag;
}

/// A procedural face (tools/facegen) showing `code`'s atlas expression, rendered at
/// `render` px and placed on a larger plain-gradient canvas so a detector has context.
/// Renders are cached under test-output/prep-cache/<renderer fingerprint> (written
/// atomically: tests run in parallel).
cv::Mat face_picture(std::uint64_t seed, int code, int render, int canvas) {
  const fs::path cache =
      fs::path(CIRCUMPLEX_BINARY_DIR) / "test-output" / "prep-cache" / renderer_tag() /
      ("face_" + std::to_string(seed) + "_" + std::to_string(code) + "_" + std::to_string(render) + ".png");
  cv::Mat face;
  if (fs::exists(cache)) face = cv::imread(cache.string(), cv::IMREAD_COLOR);
  if (face.empty() || face.cols != render) {
    const Emotion& e = Atlas::builtin().find(kCategory[code]);
    const AuVector aus = ExpressionModel::builtin().action_units(e.plane, Space::Plane);
    face = facegen::render_face(facegen::sample_identity(seed), aus, render);
    fs::create_directories(cache.parent_path());
    const fs::path temp = cache.parent_path() / (".tmp" + std::to_string(getpid()) + "_" + cache.filename().string());
    if (cv::imwrite(temp.string(), face)) fs::rename(temp, cache);
  }
  cv::Mat out(canvas, canvas, CV_8UC3);
  for (int y = 0; y < canvas; ++y) {
    const auto shade = static_cast<unsigned char>(80 + 60 * y / canvas);
    out.row(y).setTo(cv::Scalar(shade, static_cast<unsigned char>(shade + 10), 110));
  }
  const int off = (canvas - render) / 2;
  face.copyTo(out(cv::Rect(off, off, render, render)));
  return out;
}

/// Where the face (brows to chin, cheek to cheek) lies in face_picture's canvas.
cv::Rect2d face_box(int render, int canvas) {
  const double off = (canvas - render) / 2.0;
  return {off + 0.27 * render, off + 0.25 * render, 0.46 * render, 0.47 * render};
}

/// 68 iBUG-ordered landmarks of a frontal face filling `box`, as AffectNet writes them
/// ("x;y;x;y;…"); `nose_shift` moves the nose (as a turned head does) by that fraction of the width.
std::string landmarks(const cv::Rect2d& box, double nose_shift = 0.0) {
  std::vector<cv::Point2d> p(68);
  const double cx = box.x + box.width / 2, w = box.width, h = box.height, y0 = box.y;
  for (int i = 0; i <= 16; ++i) {  // jaw: from one temple round the chin to the other
    const double t = 3.14159265358979 * i / 16.0;
    p[static_cast<std::size_t>(i)] = {cx - 0.5 * w * std::cos(t), y0 + 0.35 * h + 0.62 * h * std::sin(t)};
  }
  for (int i = 0; i < 5; ++i) {  // brows
    p[static_cast<std::size_t>(17 + i)] = {cx - 0.4 * w + 0.07 * w * i, y0 + 0.2 * h};
    p[static_cast<std::size_t>(22 + i)] = {cx + 0.12 * w + 0.07 * w * i, y0 + 0.2 * h};
  }
  const double nx = cx + nose_shift * w;
  for (int i = 0; i < 4; ++i)
    p[static_cast<std::size_t>(27 + i)] = {cx + (nx - cx) * i / 3.0, y0 + (0.35 + 0.08 * i) * h};
  for (int i = 0; i < 5; ++i) p[static_cast<std::size_t>(31 + i)] = {nx - 0.08 * w + 0.04 * w * i, y0 + 0.62 * h};
  for (int eye = 0; eye < 2; ++eye) {
    const double ex = cx + (eye == 0 ? -0.2 : 0.2) * w, ey = y0 + 0.35 * h;
    for (int i = 0; i < 6; ++i) {
      const double t = 3.14159265358979 * i / 3.0;
      p[static_cast<std::size_t>(36 + 6 * eye + i)] = {ex - 0.08 * w * std::cos(t), ey - 0.03 * h * std::sin(t)};
    }
  }
  for (int i = 0; i < 20; ++i) {
    const double t = 2 * 3.14159265358979 * i / (i < 12 ? 12.0 : 8.0);
    const double r = i < 12 ? 0.18 : 0.1;
    p[static_cast<std::size_t>(48 + i)] = {cx - r * w * std::cos(t), y0 + 0.8 * h + 0.05 * h * std::sin(t)};
  }
  std::string out;
  char buf[48];
  for (const cv::Point2d& q : p) {
    std::snprintf(buf, sizeof buf, "%s%.2f;%.2f", out.empty() ? "" : ";", q.x, q.y);
    out += buf;
  }
  return out;
}

struct GoodRow {
  std::size_t row;
  int code;
  double valence, arousal;
  std::string file;
};

struct Fixture {
  fs::path images, csv;
  std::vector<GoodRow> good;
  std::map<std::string, std::size_t> planted;  ///< reject reason → count
  int render = 128, canvas = 192;
};

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", x);
  return buf;
}

/// An AffectNet-shaped tree: images in numbered subfolders as JPEG, and a CSV in AffectNet's
/// column layout. per_category[c] good faces of category c; with `planted`, bad rows too.
Fixture make_fixture(const fs::path& dir, const std::vector<int>& per_category, bool planted,
                     std::uint64_t seed0 = 100) {
  Fixture f;
  f.images = dir / "Manually_Annotated_Images";
  f.csv = dir / "training.csv";
  const cv::Rect2d box = face_box(f.render, f.canvas);
  std::string csv =
      "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n";
  std::size_t line = 1;
  auto row = [&](const std::string& file, const std::string& box_fields, const std::string& lm, const std::string& code,
                 const std::string& v, const std::string& a) {
    csv += tools::csv_escape(file) + "," + box_fields + ",\"" + lm + "\"," + code + "," + v + "," + a + "\n";
    return ++line;
  };
  char box_text[96];
  std::snprintf(box_text, sizeof box_text, "%.0f,%.0f,%.0f,%.0f", box.x, box.y, box.width, box.height);
  const std::string lm = landmarks(box);
  std::vector<uchar> jpeg;
  for (int code = 0; code < 8; ++code) {
    for (int k = 0; k < per_category[static_cast<std::size_t>(code)]; ++k) {
      const std::uint64_t seed = seed0 + static_cast<std::uint64_t>(code * 17 + k);
      const std::string file =
          std::to_string(code + 1) + "/face_" + std::to_string(code) + "_" + std::to_string(k) + ".jpg";
      cv::imencode(".jpg", face_picture(seed, code, f.render, f.canvas), jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
      spit(f.images / file, std::string(jpeg.begin(), jpeg.end()));
      const Emotion& e = Atlas::builtin().find(kCategory[code]);
      const double v = std::clamp(e.plane.v + 0.05 * (k % 3 - 1), -1.0, 1.0);
      const double a = std::clamp(e.plane.a - 0.04 * (k % 2), -1.0, 1.0);
      const std::size_t r = row(file, box_text, lm, std::to_string(code), number(v), number(a));
      f.good.push_back({r, code, v, a, file});
    }
  }
  if (planted) {
    // A valid picture that the planted rows reuse where their problem is elsewhere.
    cv::imencode(".jpg", face_picture(seed0 + 999, 1, f.render, f.canvas), jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
    const std::string ok_bytes(jpeg.begin(), jpeg.end());
    spit(f.images / "9" / "ok.jpg", ok_bytes);
    spit(f.images / "9" / "corrupt.jpg", std::string(4000, '\x5A') + "not a picture");
    spit(f.images / "9" / "truncated.jpg", ok_bytes.substr(0, ok_bytes.size() * 6 / 10));
    row("9/missing.jpg", box_text, lm, "1", "0.5", "0.5");    // missing_file
    row("9/corrupt.jpg", box_text, lm, "2", "-0.5", "-0.2");  // corrupt
    row("9/truncated.jpg", box_text, lm, "3", "0.4", "0.6");  // truncated
    row("9/ok.jpg", box_text, lm, "1", "-2", "-2");           // missing_label (AffectNet's -2)
    row("9/ok.jpg", box_text, lm, "1", "0.5", "NaN");         // missing_label (NaN)
    csv += "9/ok.jpg," + std::string(box_text) + ",\"" + lm + "\",1,0.5,0.5,surplus\n";  // bad_row: extra column
    ++line;
    row("9/ok.jpg", box_text, lm, "9", "0.1", "0.1");  // excluded_category (uncertain)
    csv += "9/ok.jpg,1,2,3,4,\"1;2\"x,1,0.5,0.5\n";    // bad_row: text after a closing quote
    ++line;
    row("9/ok.jpg", box_text, landmarks(box, 0.45), "1", "0.8", "0.5");  // extreme_pose (nose far to one side)
    char tiny[64];
    std::snprintf(tiny, sizeof tiny, "%.0f,%.0f,20,20", box.x + 20, box.y + 20);
    row("9/ok.jpg", tiny, "", "1", "0.8", "0.5");            // small_face
    row("9/ok.jpg", ",,,", lm, "1", "0.8", "0.5");           // no_face (no CSV box for --detector box)
    row("9/ok.jpg", box_text, lm, "happy", "0.8", "0.5");    // bad_expression
    row("../outside.jpg", box_text, lm, "1", "0.8", "0.5");  // bad_path
    f.planted = {{"missing_file", 1}, {"corrupt", 1},           {"truncated", 1},    {"missing_label", 2},
                 {"bad_row", 2},      {"excluded_category", 1}, {"extreme_pose", 1}, {"small_face", 1},
                 {"no_face", 1},      {"bad_expression", 1},    {"bad_path", 1}};
  }
  spit(f.csv, csv);
  return f;
}

PrepOptions box_options(const Fixture& f, const fs::path& out) {
  PrepOptions o;
  o.images_dir = f.images.string();
  o.csv_path = f.csv.string();
  o.out_dir = out.string();
  o.detector = parse_detector("box");
  o.min_face = 32;
  o.jobs = 2;
  o.progress = false;
  return o;
}

std::vector<std::vector<std::string>> read_csv(const fs::path& p) {
  const std::string text = slurp(p);
  tools::CsvReader csv(text, p.string());
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  while (csv.next(row)) rows.push_back(row);
  return rows;
}

/// The journal's row records (its first line is the settings, not CSV).
std::vector<std::vector<std::string>> journal_rows(const fs::path& p) {
  const std::string text = slurp(p);
  const std::string body = text.substr(text.find('\n') + 1);
  tools::CsvReader csv(body, p.string());
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  while (csv.next(row)) rows.push_back(row);
  return rows;
}

}  // namespace

TEST_CASE("AffectNet CSV reader keeps good rows and rejects bad ones by line") {
  const std::string lm68 = [] {
    std::string s;
    for (int i = 0; i < 136; ++i) s += (i ? ";" : "") + std::to_string(10 + i);
    return s;
  }();
  const std::string text =
      "\xEF\xBB\xBFsubDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,"
      "arousal\r\n"
      "689/a.jpg,10,20,100,110,\"" +
      lm68 +
      "\",1,0.785714,-0.055556\r\n"                             // line 2: good, with landmarks
      "\n"                                                      // line 3: blank
      "689/b.jpg,,,,,,0,0,0\n"                                  // line 4: good, no box, no landmarks
      "689/c.jpg,1,1,5,5,\"1;2\",8,0.1,0.1\n"                   // line 5: category 8 (excluded)
      "689/d.jpg,1,1,5,5,\"1;2\",2,-2,-2\n"                     // line 6: -2 = missing
      "689/e.jpg,1,1,5,5,\"1;2\",2,nan,0.3\n"                   // line 7: NaN
      "689/f.jpg,1,1,5,5,\"1;2\",2,0.3,1.5\n"                   // line 8: outside [-1, 1]
      "689/g.jpg,1,1,5,5,\"1;2\",2,0.3\n"                       // line 9: a column short
      "689/h.jpg,1,1,5,5,\"1;2\"oops,2,0.3,0.1\n"               // line 10: malformed quoting
      "\"689/i, with comma.jpg\",1,1,5,5,\"1;2\",7,-0.2,0.3\n"  // line 11: quoted path, good
      "689/j.jpg,1,1,5,5,\"1;2\",11,0.3,0.1\n"                  // line 12: code 11
      "/etc/passwd,1,1,5,5,\"1;2\",1,0.3,0.1\n";                // line 13: absolute path
  const AnnotationTable t = read_affectnet_csv(text, "training.csv", false);
  CHECK(t.had_header);
  CHECK(t.data_rows == 11);
  REQUIRE(t.rows.size() == 3);
  CHECK(t.rows[0].row == 2);
  CHECK(t.rows[0].file == "689/a.jpg");
  CHECK(t.rows[0].expression == 1);
  CHECK(t.rows[0].valence == doctest::Approx(0.785714));
  CHECK(t.rows[0].arousal == doctest::Approx(-0.055556));
  CHECK(t.rows[0].has_box);
  CHECK(t.rows[0].box_h == 110);
  CHECK(t.rows[0].landmarks.size() == 136);
  CHECK(t.rows[1].row == 4);
  CHECK_FALSE(t.rows[1].has_box);
  CHECK(t.rows[1].landmarks.empty());
  CHECK(t.rows[2].file == "689/i, with comma.jpg");
  CHECK(t.rows[2].expression == 7);
  std::map<std::size_t, std::string> why;
  for (const RowReject& r : t.rejects) why[r.row] = r.reason;
  CHECK(why == std::map<std::size_t, std::string>{{5, "excluded_category"},
                                                  {6, "missing_label"},
                                                  {7, "missing_label"},
                                                  {8, "missing_label"},
                                                  {9, "bad_row"},
                                                  {10, "bad_row"},
                                                  {12, "bad_expression"},
                                                  {13, "bad_path"}});
  // --keep-uncertain keeps code 8 as "other" (not "none", which the atlas reads as neutral).
  const AnnotationTable k = read_affectnet_csv(text, "training.csv", true);
  CHECK(k.rows.size() == 4);
  CHECK(std::string(category_name(8)) == "other");
  CHECK(std::string(category_name(3)) == "surprised");
  CHECK(Atlas::builtin().find(category_name(3)).name == "surprised");

  // Without a header: AffectNet's nine columns in order. With neither: an error naming the line.
  const AnnotationTable nh = read_affectnet_csv("1/x.jpg,1,2,30,40,,3,0.2,0.6\n", "validation.csv", false);
  CHECK_FALSE(nh.had_header);
  REQUIRE(nh.rows.size() == 1);
  CHECK(nh.rows[0].row == 1);
  CHECK(nh.rows[0].expression == 3);
  CHECK_THROWS_WITH_AS(read_affectnet_csv("a,b\n1,2\n", "x.csv", false), doctest::Contains("x.csv: line 1"), Error);
  CHECK_THROWS_WITH_AS(read_affectnet_csv("subDirectory_filePath,expression\n", "y.csv", false),
                       doctest::Contains("'valence'"), Error);
}

TEST_CASE("truncated and corrupt JPEGs are told apart before decoding") {
  const fs::path dir = fresh_dir("prep/jpeg");
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", face_picture(7, 0, 96, 128), jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
  const std::string bytes(jpeg.begin(), jpeg.end());
  CHECK(jpeg_complete(bytes));
  CHECK_FALSE(jpeg_complete(bytes.substr(0, bytes.size() - 2)));  // EOI cut off
  CHECK_FALSE(jpeg_complete(bytes.substr(0, bytes.size() / 2)));
  CHECK(jpeg_complete(bytes + "trailing junk"));  // data after the EOI is harmless
  spit(dir / "ok.jpg", bytes);
  spit(dir / "cut.jpg", bytes.substr(0, bytes.size() * 7 / 10));
  spit(dir / "junk.jpg", std::string(3000, '\x11'));
  spit(dir / "empty.jpg", "");
  std::vector<uchar> png;
  cv::imencode(".png", face_picture(7, 0, 96, 128), png);
  const std::string png_bytes(png.begin(), png.end());
  CHECK(png_complete(png_bytes));
  spit(dir / "cut.png", png_bytes.substr(0, png_bytes.size() - 20));
  const LoadedImage ok = load_image((dir / "ok.jpg").string());
  CHECK(ok.reason.empty());
  CHECK(ok.bgr.size() == cv::Size(128, 128));
  CHECK(load_image((dir / "cut.jpg").string()).reason == "truncated");
  CHECK(load_image((dir / "cut.png").string()).reason == "truncated");
  CHECK(load_image((dir / "empty.jpg").string()).reason == "truncated");
  CHECK(load_image((dir / "junk.jpg").string()).reason == "corrupt");
  CHECK(load_image((dir / "absent.jpg").string()).reason == "missing_file");
  CHECK(load_image(dir.string()).reason == "missing_file");  // a folder is not a picture
}

TEST_CASE("prep rejects every planted bad row with its reason and keeps the rest") {
  const fs::path dir = fresh_dir("prep/planted");
  const Fixture f = make_fixture(dir, {3, 3, 3, 3, 3, 3, 3, 3}, true);
  const PrepOptions o = box_options(f, dir / "out");
  const PrepSummary s = run_prep(o);
  CHECK_FALSE(s.interrupted);
  CHECK(s.data_rows == f.good.size() + 13);
  CHECK(s.kept == f.good.size());
  CHECK(s.rejected == 13);
  for (const std::string& reason : reject_reasons()) {
    CAPTURE(reason);
    const auto it = f.planted.find(reason);
    CHECK(s.reject_counts.at(reason) == (it == f.planted.end() ? 0 : it->second));
  }

  // labels.csv: the schema shared with `circumplex synth`, then prep's own columns.
  const auto labels = read_csv(dir / "out" / "labels.csv");
  REQUIRE(labels.size() == f.good.size() + 1);
  const std::vector<std::string> head(labels[0].begin(), labels[0].begin() + 6);
  CHECK(head == std::vector<std::string>{"file", "split", "valence", "arousal", "z", "category"});
  CHECK(labels[0][6] == "source_row");
  CHECK(labels[0][7] == "source_file");
  CHECK(labels[0][8] == "expression");
  std::set<std::string> files;
  for (std::size_t i = 1; i < labels.size(); ++i) {
    const auto& r = labels[i];
    const GoodRow& g = f.good[i - 1];  // sorted by source row, as the fixture wrote them
    CAPTURE(r[0]);
    CHECK(r[6] == std::to_string(g.row));
    CHECK(r[7] == g.file);
    CHECK(r[5] == kCategory[g.code]);
    CHECK(std::stod(r[2]) == doctest::Approx(g.valence).epsilon(1e-5));
    CHECK(std::stod(r[3]) == doctest::Approx(g.arousal).epsilon(1e-5));
    CHECK(std::stod(r[4]) == doctest::Approx(Atlas::builtin().find(kCategory[g.code]).ball.z));
    CHECK((r[1] == "train" || r[1] == "val" || r[1] == "test"));
    files.insert(r[0]);
    const cv::Mat crop = cv::imread((dir / "out" / r[0]).string(), cv::IMREAD_UNCHANGED);
    CHECK(crop.size() == cv::Size(128, 128));
    CHECK(crop.type() == CV_8UC3);
  }
  CHECK(files.size() == f.good.size());

  // rejects.csv: row (the CSV line), file, reason, detail.
  const auto rejects = read_csv(dir / "out" / "rejects.csv");
  REQUIRE(rejects.size() == 14);
  CHECK(rejects[0] == std::vector<std::string>{"row", "file", "reason", "detail"});
  const std::size_t first_planted = f.good.size() + 2;
  std::map<std::string, std::size_t> by_reason;
  for (std::size_t i = 1; i < rejects.size(); ++i) {
    CHECK(std::stoul(rejects[i][0]) == first_planted + i - 1);  // every planted line, in order
    ++by_reason[rejects[i][2]];
    CHECK_FALSE(rejects[i][3].empty());
  }
  CHECK(by_reason == f.planted);
  CHECK(rejects[1][1] == "9/missing.jpg");
  CHECK(rejects[1][2] == "missing_file");

  // summary.json: per-category counts and AffectNet means beside the atlas values.
  const auto j = nlohmann::json::parse(slurp(dir / "out" / "summary.json"));
  CHECK(j["rows"]["kept"] == f.good.size());
  CHECK(j["rejects"]["truncated"] == 1);
  for (int c = 0; c < 8; ++c) {
    const auto& cat = j["categories"][static_cast<std::size_t>(c)];
    CHECK(cat["name"] == kCategory[c]);
    CHECK(cat["kept"] == 3);
    double v = 0;
    for (const GoodRow& g : f.good) v += g.code == c ? g.valence / 3.0 : 0.0;
    CHECK(cat["kept_mean"]["valence"].get<double>() == doctest::Approx(v).epsilon(1e-6));
    CHECK(cat["atlas"]["valence"].get<double>() == doctest::Approx(Atlas::builtin().find(kCategory[c]).plane.v));
  }
  CHECK(fs::exists(dir / "out" / "prep_journal.csv"));
  CHECK(s.split_counts.at("train") + s.split_counts.at("val") + s.split_counts.at("test") == f.good.size());
}

TEST_CASE("prep --balance keeps exactly N per category and refills after rejects") {
  const fs::path dir = fresh_dir("prep/balance");
  // Category 3 has only 2 faces: short of N = 3. The planted rows add broken candidates to
  // categories 1, 2 and 3 (missing, corrupt, truncated) that the waves must replace.
  const Fixture f = make_fixture(dir, {4, 5, 3, 2, 4, 3, 5, 4}, true);
  PrepOptions o = box_options(f, dir / "a");
  o.balance = 3;
  const PrepSummary s = run_prep(o);
  auto per_category = [](const fs::path& labels) {
    std::map<std::string, int> n;
    const auto rows = read_csv(labels);
    for (std::size_t i = 1; i < rows.size(); ++i) ++n[rows[i][5]];
    return n;
  };
  const auto n = per_category(dir / "a" / "labels.csv");
  for (int c = 0; c < 8; ++c) {
    CAPTURE(kCategory[c]);
    CHECK(n.count(kCategory[c]) == 1);
    if (n.count(kCategory[c])) CHECK(n.at(kCategory[c]) == (c == 3 ? 2 : 3));
  }
  CHECK(s.kept == 23);
  CHECK(s.short_categories == std::vector<std::string>{"surprised"});
  CHECK(s.not_needed > 0);  // undersampling never touched some rows
  CHECK(s.processed + s.not_needed + s.reject_counts.at("bad_row") + s.reject_counts.at("missing_label") +
            s.reject_counts.at("excluded_category") + s.reject_counts.at("bad_expression") +
            s.reject_counts.at("bad_path") ==
        s.data_rows);

  // Seeded: the same seed picks the same rows, another seed (some of them) others.
  o.out_dir = (dir / "b").string();
  run_prep(o);
  CHECK(slurp(dir / "a" / "labels.csv") == slurp(dir / "b" / "labels.csv"));
  bool differs = false;
  for (std::uint64_t seed = 2; seed < 6 && !differs; ++seed) {
    o.seed = seed;
    o.out_dir = (dir / ("s" + std::to_string(seed))).string();
    run_prep(o);
    CHECK(per_category(dir / ("s" + std::to_string(seed)) / "labels.csv") == n);
    differs = slurp(dir / "a" / "labels.csv") != slurp(fs::path(o.out_dir) / "labels.csv");
  }
  CHECK(differs);
}

TEST_CASE("prep --class-weights writes total over n_classes times count as JSON and npy") {
  const fs::path dir = fresh_dir("prep/weights");
  // Contempt has no images: it counts in neither n_classes nor the JSON map, and gets 0 in the npy.
  const std::vector<int> count = {2, 5, 3, 1, 4, 2, 6, 0};
  const Fixture f = make_fixture(dir, count, false);
  PrepOptions o = box_options(f, dir / "out");
  o.class_weights = true;
  const PrepSummary s = run_prep(o);
  REQUIRE(s.kept == 23);
  const std::vector<float> npy = parse_npy_float32(slurp(dir / "out" / "class_weights.npy"), "class_weights.npy");
  const auto j = nlohmann::json::parse(slurp(dir / "out" / "class_weights.json"));
  REQUIRE(npy.size() == 8);
  CHECK(j["total"] == 23);
  CHECK(j["n_classes"] == 7);
  CHECK(j["class_weights"].size() == 7);
  for (int c = 0; c < 8; ++c) {
    CAPTURE(kCategory[c]);
    const int n = count[static_cast<std::size_t>(c)];
    const double expected = n > 0 ? 23.0 / (7.0 * n) : 0.0;
    CHECK(npy[static_cast<std::size_t>(c)] == doctest::Approx(expected).epsilon(1e-6));
    if (n > 0) CHECK(j["class_weights"][kCategory[c]].get<double>() == doctest::Approx(expected).epsilon(1e-12));
    CHECK(j["counts"][kCategory[c]] == n);
    CHECK(j["categories"][static_cast<std::size_t>(c)] == kCategory[c]);
  }
  CHECK_FALSE(j["class_weights"].contains("contempt"));
  // The .npy layout: magic, version 1.0, header padded to a multiple of 64 bytes, '<f4' data.
  const std::string bytes = slurp(dir / "out" / "class_weights.npy");
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  CHECK((10 + header_len) % 64 == 0);
  CHECK(bytes.size() == 10 + header_len + 4 * 8);
  CHECK(bytes.find("'descr': '<f4', 'fortran_order': False, 'shape': (8,)") != std::string::npos);
  CHECK_THROWS_AS(parse_npy_float32(bytes.substr(0, bytes.size() - 1), "x"), Error);
  CHECK(parse_npy_float32(npy_float32({}), "empty").empty());

  // --split NAME puts every image in one split; the split is not a per-row setting, so this
  // rerun resumes everything from the journal.
  o.class_weights = false;
  o.split = "test";
  const PrepSummary t = run_prep(o);
  CHECK(t.processed == 0);
  CHECK(t.split_counts.at("test") == 23);
  const auto labels = read_csv(dir / "out" / "labels.csv");
  for (std::size_t i = 1; i < labels.size(); ++i) CHECK(labels[i][1] == "test");
  CHECK_FALSE(fs::exists(dir / "out" / "class_weights.npy"));  // stale outputs do not survive a rerun
}

TEST_CASE("CLAHE changes luminance only and keeps chromaticity") {
  const cv::Mat face = face_picture(11, 2, 128, 160);
  const cv::Mat out = clahe_luminance(face);
  cv::Mat lab_in, lab_out;
  cv::cvtColor(face, lab_in, cv::COLOR_BGR2Lab);
  cv::cvtColor(out, lab_out, cv::COLOR_BGR2Lab);
  cv::Mat in_ch[3], out_ch[3];
  cv::split(lab_in, in_ch);
  cv::split(lab_out, out_ch);
  cv::Mat d[3];
  for (int c = 0; c < 3; ++c) {
    cv::Mat a, b;
    in_ch[c].convertTo(a, CV_32F);
    out_ch[c].convertTo(b, CV_32F);
    d[c] = cv::abs(a - b);
  }
  const double l_change = cv::mean(d[0])[0];
  const double a_change = cv::mean(d[1])[0], b_change = cv::mean(d[2])[0];
  MESSAGE("mean |dL| " << l_change << ", |da| " << a_change << ", |db| " << b_change);
  CHECK(l_change > 3.0);  // contrast equalised
  CHECK(a_change < 1.0);  // chroma kept (8-bit Lab round trip only)
  CHECK(b_change < 1.0);
  // Per pixel, chroma moves by a few 8-bit Lab units at most (rounding, gamut clipping).
  cv::Mat ab = cv::max(d[1], d[2]);
  cv::Mat big = ab > 4.0;
  CHECK(cv::countNonZero(big) < face.total() / 100);

  // In the pipeline: the same crops with and without --no-clahe differ in L, not in a, b.
  const fs::path dir = fresh_dir("prep/clahe");
  const Fixture f = make_fixture(dir, {1, 1, 1, 1, 0, 0, 0, 0}, false);
  PrepOptions o = box_options(f, dir / "on");
  run_prep(o);
  o.out_dir = (dir / "off").string();
  o.clahe = false;
  run_prep(o);
  for (const GoodRow& g : f.good) {
    char name[32];
    std::snprintf(name, sizeof name, "images/%07zu.png", g.row);
    cv::Mat on = cv::imread((dir / "on" / name).string()), off = cv::imread((dir / "off" / name).string());
    REQUIRE_FALSE(on.empty());
    REQUIRE_FALSE(off.empty());
    cv::cvtColor(on, on, cv::COLOR_BGR2Lab);
    cv::cvtColor(off, off, cv::COLOR_BGR2Lab);
    cv::Mat on_c[3], off_c[3];
    cv::split(on, on_c);
    cv::split(off, off_c);
    cv::Mat dl, da, db;
    cv::absdiff(on_c[0], off_c[0], dl);
    cv::absdiff(on_c[1], off_c[1], da);
    cv::absdiff(on_c[2], off_c[2], db);
    CHECK(cv::mean(dl)[0] > 3.0);
    CHECK(cv::mean(da)[0] < 1.0);
    CHECK(cv::mean(db)[0] < 1.0);
  }
}

TEST_CASE("prep resumes after an interruption without duplicates") {
  const fs::path dir = fresh_dir("prep/resume");
  const Fixture f = make_fixture(dir, {2, 2, 2, 2, 2, 2, 2, 2}, true);
  // Reference: one uninterrupted run.
  const PrepSummary whole = run_prep(box_options(f, dir / "whole"));
  REQUIRE_FALSE(whole.interrupted);

  // Interrupted after 7 rows: no final files, a journal with those rows.
  PrepOptions o = box_options(f, dir / "out");
  o.stop_after = 7;
  const PrepSummary part = run_prep(o);
  CHECK(part.interrupted);
  CHECK(part.processed >= 7);
  CHECK_FALSE(fs::exists(dir / "out" / "labels.csv"));
  CHECK_FALSE(fs::exists(dir / "out" / "summary.json"));
  const fs::path journal = dir / "out" / "prep_journal.csv";
  const auto lines = journal_rows(journal);
  CHECK(lines.size() == part.processed);
  // Damage it like a crash would: a half-written last line, and a crop lost.
  { std::ofstream(journal, std::ios::app) << "999,9/ok.jpg,ke"; }
  std::string lost;
  for (std::size_t i = 0; i < lines.size() && lost.empty(); ++i) {
    if (lines[i][2] == "kept") lost = lines[i][5];
  }
  REQUIRE_FALSE(lost.empty());
  fs::remove(dir / "out" / lost);

  o.stop_after = 0;
  const PrepSummary rest = run_prep(o);
  CHECK_FALSE(rest.interrupted);
  CHECK(rest.resumed == part.processed - 1);  // all but the row whose crop was lost
  CHECK(rest.processed + rest.resumed == whole.processed);
  CHECK(fs::exists(dir / "out" / lost));
  for (const char* name : {"labels.csv", "rejects.csv", "summary.json"}) {
    CAPTURE(name);
    CHECK(slurp(dir / "out" / name) == slurp(dir / "whole" / name));
  }
  std::set<std::string> rows;
  const auto labels = read_csv(dir / "out" / "labels.csv");
  for (std::size_t i = 1; i < labels.size(); ++i) CHECK(rows.insert(labels[i][6]).second);
  CHECK(labels.size() == f.good.size() + 1);
  CHECK(journal_rows(journal).size() == whole.processed);  // compacted: one line per row

  // Once complete, a rerun redoes nothing and writes the same files.
  const PrepSummary again = run_prep(o);
  CHECK(again.processed == 0);
  CHECK(again.resumed == whole.processed);
  CHECK(slurp(dir / "out" / "labels.csv") == slurp(dir / "whole" / "labels.csv"));

  // Two runs cannot share an output folder.
  {
    const int fd = ::open((dir / "out" / ".prep.lock").c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    CHECK_THROWS_WITH_AS(run_prep(o), doctest::Contains("another circumplex prep"), Error);
    ::close(fd);
  }

  // Other per-row settings are refused unless fresh.
  o.size = 64;
  CHECK_THROWS_WITH_AS(run_prep(o), doctest::Contains("size 128 -> 64"), Error);
  o.fresh = true;
  const PrepSummary fresh = run_prep(o);
  CHECK(fresh.resumed == 0);
  CHECK(cv::imread((dir / "out" / lost).string()).size() == cv::Size(64, 64));
}

TEST_CASE("prep killed with SIGKILL at random moments: the rerun ends with the files of an uninterrupted run") {
  const fs::path dir = fresh_dir("prep/kill");
  const Fixture f = make_fixture(dir, {24, 24, 24, 24, 24, 24, 24, 24}, true);
  auto args = [&](const fs::path& out) {
    return std::vector<std::string>{"prep", "--images", f.images.string(), "--csv", f.csv.string(), "--detector", "haar", "--min-face", "32",
                                    "--jobs", "1", "--quiet", "--out", out.string()};
  };
  REQUIRE(wait_bounded(spawn(args(dir / "whole"), {}, dir / "whole.log"), 300) == 0);
  int kills = 0;
  for (int attempt = 0; attempt < 6 && !fs::exists(dir / "killed" / "summary.json"); ++attempt) {
    const pid_t pid = spawn(args(dir / "killed"), {}, dir / ("killed-" + std::to_string(attempt) + ".log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(700 + 500 * attempt));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFSIGNALED(status)) break;  // it finished first
    ++kills;
    // Never looks complete unless it is: a kill may land after labels.csv (written last) and
    // before the process exits, and then the run had finished.
    if (fs::exists(dir / "killed" / "labels.csv")) CHECK(slurp(dir / "killed" / "labels.csv") == slurp(dir / "whole" / "labels.csv"));
  }
  CHECK(kills >= 1);
  REQUIRE(wait_bounded(spawn(args(dir / "killed"), {}, dir / "killed-final.log"), 300) == 0);
  for (const char* name : {"labels.csv", "rejects.csv", "summary.json"}) {
    CAPTURE(name);
    CHECK(slurp(dir / "killed" / name) == slurp(dir / "whole" / name));
  }
}

TEST_CASE("landmark pose check passes frontal faces and rejects turned or rolled ones") {
  auto numbers = [](const std::string& text) {
    std::vector<float> xy;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find(';', pos);
      if (end == std::string::npos) end = text.size();
      xy.push_back(std::stof(text.substr(pos, end - pos)));
      pos = end + 1;
    }
    return xy;
  };
  const cv::Rect2d box(100, 100, 200, 220);
  double asym = 9, roll = 9;
  std::string why;
  CHECK(landmarks68_check(numbers(landmarks(box)), asym, roll, why));
  CHECK(std::fabs(asym) < 0.05);
  CHECK(std::fabs(roll) < 1.0);
  CHECK(landmarks68_check(numbers(landmarks(box, 0.2)), asym, roll, why));  // slightly turned: kept
  CHECK_FALSE(landmarks68_check(numbers(landmarks(box, 0.45)), asym, roll, why));
  CHECK(why.find("yaw") != std::string::npos);
  // Rolled by 40 degrees about the box centre.
  std::vector<float> xy = numbers(landmarks(box));
  const double t = 40 * 3.14159265358979 / 180, cx = 200, cy = 210;
  for (std::size_t i = 0; i < xy.size(); i += 2) {
    const double dx = xy[i] - cx, dy = xy[i + 1] - cy;
    xy[i] = static_cast<float>(cx + std::cos(t) * dx - std::sin(t) * dy);
    xy[i + 1] = static_cast<float>(cy + std::sin(t) * dx + std::cos(t) * dy);
  }
  CHECK_FALSE(landmarks68_check(xy, asym, roll, why));
  CHECK(roll == doctest::Approx(40).epsilon(0.01));
  CHECK(why.find("roll") != std::string::npos);
  // YuNet's five points: eyes, nose, mouth corners.
  CHECK(landmarks5_check({{150, 150}, {250, 150}, {200, 200}, {160, 250}, {240, 250}}, asym, roll, why));
  CHECK_FALSE(landmarks5_check({{150, 150}, {250, 150}, {290, 200}, {160, 250}, {240, 250}}, asym, roll, why));
}

TEST_CASE("Haar cascade on procedural faces: what it detects lies on the face and passes the pipeline") {
  // Faces rendered at 200 px on a 320 px canvas (the face itself is about 95 px across).
  constexpr int kRender = 200, kCanvas = 320, kFaces = 16, kPipeline = 8;
  const cv::Rect2d truth = face_box(kRender, kCanvas);
  FaceDetector haar(parse_detector("haar"));
  int detected = 0;
  for (int i = 0; i < kFaces; ++i) {
    const cv::Mat picture = face_picture(500 + static_cast<std::uint64_t>(i), i % 8, kRender, kCanvas);
    const auto found = haar.detect(picture, nullptr, 32);
    if (found.empty()) continue;
    ++detected;
    // The best detection is the face: its centre inside the face region, its size close to it.
    const cv::Rect2d& b = found.front().box;
    CAPTURE(i);
    CHECK(truth.contains({b.x + b.width / 2, b.y + b.height / 2}));
    CHECK(b.width > 0.6 * truth.width);
    CHECK(b.width < 2.0 * truth.width);  // cascade boxes run larger than the tight face
    CHECK(found.front().score >= 2);
  }
  MESSAGE("Haar detected " << detected << " of " << kFaces << " procedural faces");
  CHECK(detected >= kFaces / 2);  // measured: 14 of 16 with this renderer
  // A picture without a face: nothing.
  cv::Mat plain(kCanvas, kCanvas, CV_8UC3, cv::Scalar(120, 140, 160));
  cv::randn(plain, cv::Scalar::all(128), cv::Scalar::all(20));
  CHECK(haar.detect(plain, nullptr, 32).empty());

  // The whole pipeline with --detector haar: every row is kept or rejected for a detection reason.
  const fs::path dir = fresh_dir("prep/haar");
  Fixture f;
  f.images = dir / "images";
  f.csv = dir / "train.csv";
  std::string csv =
      "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n";
  std::vector<uchar> jpeg;
  for (int i = 0; i < kPipeline; ++i) {
    cv::imencode(".jpg", face_picture(500 + static_cast<std::uint64_t>(i), i % 8, kRender, kCanvas), jpeg);
    const std::string file = "1/" + std::to_string(i) + ".jpg";
    spit(f.images / file, std::string(jpeg.begin(), jpeg.end()));
    csv += file + ",,,,,," + std::to_string(i % 8) + ",0.1,0.2\n";  // no box, no landmarks: eyes pose check
  }
  cv::imencode(".jpg", plain, jpeg);
  spit(f.images / "1/plain.jpg", std::string(jpeg.begin(), jpeg.end()));
  csv += "1/plain.jpg,,,,,,0,0,0\n";
  // With the CSV's face box the cascade searches only around it: the same faces again with
  // their box, and one with a box on the empty background.
  char box_text[96];
  std::snprintf(box_text, sizeof box_text, "%.0f,%.0f,%.0f,%.0f", truth.x, truth.y, truth.width, truth.height);
  for (int i = 0; i < kPipeline; ++i) {
    csv += "1/" + std::to_string(i) + ".jpg," + box_text + ",," + std::to_string(i % 8) + ",0.1,0.2\n";
  }
  csv += "1/0.jpg,5,5,60,60,,0,0.1,0.2\n";
  spit(f.csv, csv);
  PrepOptions o = box_options(f, dir / "out");
  o.detector = parse_detector("haar");
  const PrepSummary s = run_prep(o);
  MESSAGE("haar pipeline: kept " << s.kept << ", no_face " << s.reject_counts.at("no_face") << ", low_confidence "
                                 << s.reject_counts.at("low_confidence") << ", extreme_pose (eyes) "
                                 << s.reject_counts.at("extreme_pose") << ", box_mismatch "
                                 << s.reject_counts.at("box_mismatch"));
  CHECK(s.kept + s.rejected == 2 * kPipeline + 2);
  CHECK(s.kept >= 2);
  CHECK(s.reject_counts.at("no_face") >= 2);  // the plain picture and the background box at least
  CHECK(s.reject_counts.at("no_face") + s.reject_counts.at("low_confidence") + s.reject_counts.at("extreme_pose") +
            s.reject_counts.at("small_face") + s.reject_counts.at("box_mismatch") ==
        s.rejected);
  const auto rejects = read_csv(dir / "out" / "rejects.csv");
  CHECK(rejects.back()[0] == std::to_string(2 * kPipeline + 3));  // the background box's line
  CHECK((rejects.back()[2] == "no_face" || rejects.back()[2] == "box_mismatch"));
  const auto labels = read_csv(dir / "out" / "labels.csv");
  int with_box = 0;
  for (std::size_t i = 1; i < labels.size(); ++i) {
    if (std::stoul(labels[i][6]) > kPipeline + 2) {
      ++with_box;  // found around the annotated box: centred inside it
      const cv::Point2d c(std::stod(labels[i][9]) + std::stod(labels[i][11]) / 2,
                          std::stod(labels[i][10]) + std::stod(labels[i][12]) / 2);
      CHECK(truth.contains(c));
    }
    CHECK(labels[i][13] == "haar");
    CHECK(std::stod(labels[i][14]) >= default_min_score(DetectorKind::Haar));
    CHECK_FALSE(labels[i][15].empty());  // the eye check's asymmetry
  }
  MESSAGE("with the CSV box: " << with_box << " of " << kPipeline << " kept");
  CHECK(with_box >= 1);
  // LBP runs too, with its own scores; report how many of the same faces it finds.
  FaceDetector lbp(parse_detector("lbp"));
  int lbp_found = 0;
  for (int i = 0; i < kPipeline; ++i) {
    const auto found =
        lbp.detect(face_picture(500 + static_cast<std::uint64_t>(i), i % 8, kRender, kCanvas), nullptr, 32);
    if (found.empty()) continue;
    ++lbp_found;
    const cv::Rect2d& b = found.front().box;
    CHECK(truth.contains({b.x + b.width / 2, b.y + b.height / 2}));
  }
  MESSAGE("LBP detected " << lbp_found << " of " << kPipeline << " procedural faces");
  CHECK(lbp_found >= 1);
}

TEST_CASE("opencv data and detector names resolve with clear errors") {
  CHECK(fs::exists(find_opencv_data("haarcascades/haarcascade_frontalface_default.xml")));
  CHECK(fs::exists(find_opencv_data("lbpcascades/lbpcascade_frontalface_improved.xml")));
  CHECK_THROWS_WITH_AS(find_opencv_data("haarcascades/no_such.xml"), doctest::Contains("opencv-data"), Error);
  CHECK(parse_detector("yunet:/m/face.onnx").model == "/m/face.onnx");
  CHECK(parse_detector("box").kind == DetectorKind::Box);
  CHECK_THROWS_WITH_AS(parse_detector("dlib"), doctest::Contains("haar, lbp, box or yunet"), Error);
  CHECK_THROWS_WITH_AS(FaceDetector(parse_detector("yunet:/nonexistent/yunet.onnx")), doctest::Contains("not found"),
                       Error);
}

TEST_CASE("prep CLI: usage errors exit 2 and runs exit 0 or resume after exit 1") {
  // Few invocations: the executable links LibTorch and takes a while to start.
  const CliResult missing = run_cli("prep --images a --out b");
  CHECK(missing.code == 2);
  CHECK(missing.out.find("--csv") != std::string::npos);
  const CliResult both = run_cli("prep --images a --csv b --out c --balance 5 --class-weights");
  CHECK(both.code == 2);
  CHECK(both.out.find("alternatives") != std::string::npos);

  const fs::path dir = fresh_dir("prep/cli");
  const Fixture f = make_fixture(dir, {1, 1, 0, 0, 0, 0, 1, 0}, true);
  const std::string base = "prep --images " + f.images.string() + " --csv " + f.csv.string();
  const CliResult yunet = run_cli(base + " --out " + (dir / "y").string() + " --detector yunet:/nonexistent/y.onnx");
  CHECK(yunet.code == 1);
  CHECK(yunet.out.find("YuNet model '/nonexistent/y.onnx' not found") != std::string::npos);

  const std::string args = base + " --detector box --min-face 32 --quiet --out " + (dir / "out").string();
  const CliResult stopped = run_cli(args, "CIRCUMPLEX_PREP_STOP_AFTER=2");
  CHECK(stopped.code == 1);
  CHECK(stopped.out.find("rerun to resume") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out" / "labels.csv"));
  const CliResult done = run_cli(args);
  CHECK(done.code == 0);
  CHECK(done.out.find("3 images kept, 13 rows rejected") != std::string::npos);
  CHECK(done.out.find("missing_file 1") != std::string::npos);
  CHECK(done.out.find("resumed from the journal") != std::string::npos);
  CHECK(read_csv(dir / "out" / "labels.csv").size() == 4);
}
