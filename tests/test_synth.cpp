// `circumplex synth`, the procedural face generator (tools/facegen) and the packed shards
// (tools/data). Renders stay small (64–96 px, a few dozen faces) so the suite stays fast under
// the sanitizers.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "common/csv.hpp"
#include "data/shard.hpp"
#include "circumplex/facegen.hpp"
#include "facegen/synth.hpp"
#include "args.hpp"
#include "verbs.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace circumplex;

namespace {
std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A frontal, centred person without accessories: landmarks are easy to reason about.
facegen::Identity plain_person() {
  facegen::Identity id = facegen::sample_identity(11);
  id.head_roll = id.head_yaw = id.scale = id.offset_x = id.offset_y = 0.5;
  id.light_direction = 0.5;
  id.glasses = 0;
  id.facial_hair = 0;
  id.hair_style = 2;
  id.age = 0.3;
  id.skin_tone = 0.3;
  id.hair_colour = 0.3;
  id.hair_red = 0.0;
  return id;
}

// Pixels whose largest channel difference exceeds `threshold`.
int changed_pixels(const cv::Mat& a, const cv::Mat& b, int threshold = 8) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  std::vector<cv::Mat> ch;
  cv::split(d, ch);
  cv::Mat m = cv::max(ch[0], cv::max(ch[1], ch[2]));
  return cv::countNonZero(m > threshold);
}

struct Labels {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int col(const std::string& name) const {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    FAIL("no column " << name);
    return -1;
  }
};

Labels read_labels(const fs::path& p) {
  const std::string text = read_bytes(p);
  tools::CsvReader csv(text, p.string());
  Labels l;
  REQUIRE(csv.next(l.header));
  std::vector<std::string> row;
  while (csv.next(row)) l.rows.push_back(row);
  return l;
}

AuVector no_aus() { return AuVector{}; }
}  // namespace

TEST_CASE("sample_identity is deterministic and people differ") {
  const auto& factors = facegen::identity_factors();
  CHECK(factors.size() >= 12);
  const facegen::Identity a = facegen::sample_identity(42), b = facegen::sample_identity(42), c = facegen::sample_identity(43);
  int differing = 0;
  for (std::size_t i = 0; i < factors.size(); ++i) {
    CAPTURE(factors[i].name);
    CHECK(facegen::factor_value(a, i) == facegen::factor_value(b, i));
    CHECK(facegen::factor_value(a, i) >= factors[i].lo);
    CHECK(facegen::factor_value(a, i) <= factors[i].hi);
    if (facegen::factor_value(a, i) != facegen::factor_value(c, i)) ++differing;
    CHECK(facegen::factor_index(factors[i].name) == static_cast<int>(i));
  }
  CHECK(a.texture_seed == b.texture_seed);
  CHECK(differing > static_cast<int>(factors.size()) / 2);
  CHECK(facegen::factor_index("no_such_factor") == -1);
  // Over many people every variant of every discrete factor occurs.
  for (std::size_t i = 0; i < factors.size(); ++i) {
    if (!factors[i].discrete) continue;
    CAPTURE(factors[i].name);
    std::vector<int> seen(static_cast<std::size_t>(factors[i].hi) + 1, 0);
    for (std::uint64_t s = 0; s < 600; ++s) ++seen[static_cast<std::size_t>(facegen::factor_value(facegen::sample_identity(s), i))];
    for (int n : seen) CHECK(n > 0);
  }
  facegen::Identity d = a;
  facegen::set_factor(d, static_cast<std::size_t>(facegen::factor_index("hair_style")), 99.0);
  CHECK(d.hair_style == 7);
  facegen::set_factor(d, static_cast<std::size_t>(facegen::factor_index("age")), -1.0);
  CHECK(d.age == 0.0);
}

TEST_CASE("render_face is a deterministic BGR size x size image") {
  const facegen::Identity id = facegen::sample_identity(7);
  const AuVector aus = ExpressionModel::builtin().action_units({0.8, 0.5, 0.0}, Space::Plane);
  const cv::Mat a = facegen::render_face(id, aus, 64), b = facegen::render_face(id, aus, 64);
  REQUIRE(a.type() == CV_8UC3);
  CHECK(a.rows == 64);
  CHECK(a.cols == 64);
  CHECK(cv::norm(a, b, cv::NORM_INF) == 0.0);
  cv::Scalar mean, sd;
  cv::meanStdDev(a, mean, sd);
  CHECK(sd[1] > 15.0);  // a picture, not a flat fill
  CHECK(facegen::render_face(id, aus, 40).rows == 40);
  CHECK_THROWS_AS(facegen::render_face(id, aus, 8), circumplex::Error);
  CHECK_THROWS_AS(facegen::render_face(id, aus, 5000), circumplex::Error);
  AuVector bad = aus;
  bad[0] = std::nanf("");
  bad[1] = 7.0f;  // clamped
  CHECK(facegen::render_face(id, bad, 32).rows == 32);
}

TEST_CASE("every identity factor changes the pixels") {
  const auto& factors = facegen::identity_factors();
  const facegen::Identity base = plain_person();
  const int size = 96;
  for (std::size_t i = 0; i < factors.size(); ++i) {
    const facegen::FactorInfo& f = factors[i];
    const std::string name = f.name;
    CAPTURE(name);
    if (f.discrete) {
      // every variant looks different from the next one
      std::vector<cv::Mat> imgs;
      for (int v = static_cast<int>(f.lo); v <= static_cast<int>(f.hi); ++v) {
        facegen::Identity id = base;
        facegen::set_factor(id, i, v);
        imgs.push_back(facegen::render_face(id, no_aus(), size));
      }
      for (std::size_t v = 0; v + 1 < imgs.size(); ++v) {
        CAPTURE(v);
        CHECK(changed_pixels(imgs[v], imgs[v + 1]) >= 12);
      }
    } else {
      facegen::Identity lo = base, hi = base;
      facegen::set_factor(lo, i, f.lo);
      facegen::set_factor(hi, i, f.hi);
      CHECK(changed_pixels(facegen::render_face(lo, no_aus(), size), facegen::render_face(hi, no_aus(), size)) >= 12);
    }
  }
}

TEST_CASE("every action unit at intensity 1 changes pixels where it should") {
  const facegen::Identity id = plain_person();
  const int size = 96;
  const cv::Mat neutral = facegen::render_face(id, no_aus(), size);
  const facegen::Landmarks lm = facegen::face_landmarks(id, no_aus(), size);
  const double u = lm.face_unit;
  const double cx = 0.5 * (lm.eye_left.x + lm.eye_right.x), eye_y = 0.5 * (lm.eye_left.y + lm.eye_right.y);
  CHECK(lm.eye_left.x < lm.eye_right.x);
  CHECK(lm.brow_left.y < lm.eye_left.y);
  CHECK(lm.eye_left.y < lm.nose_tip.y);
  CHECK(lm.nose_tip.y < lm.mouth_centre.y);
  CHECK(lm.mouth_centre.y < lm.chin.y);
  CHECK(lm.mouth_left.x < lm.mouth_right.x);
  struct Region {
    double x0, x1, y0, y1;  // image pixels
  };
  const Region upper{cx - 1.1 * u, cx + 1.1 * u, eye_y - 0.95 * u, eye_y + 0.3 * u};
  const Region eyes{cx - 1.0 * u, cx + 1.0 * u, eye_y - 0.4 * u, eye_y + 0.35 * u};
  const Region cheeks{cx - 1.1 * u, cx + 1.1 * u, eye_y - 0.45 * u, lm.nose_tip.y + 0.2 * u};
  const Region nose{cx - 0.7 * u, cx + 0.7 * u, eye_y - 0.5 * u, lm.mouth_centre.y + 0.1 * u};
  const Region lower{cx - 0.85 * u, cx + 0.85 * u, lm.nose_tip.y - 0.2 * u, lm.chin.y + 0.45 * u};
  const std::map<int, Region> expected = {{1, upper},  {2, upper},  {4, upper},  {5, eyes},   {6, cheeks}, {7, eyes},
                                          {9, nose},   {10, lower}, {12, lower}, {14, lower}, {15, lower}, {17, lower},
                                          {20, lower}, {23, lower}, {25, lower}, {26, lower}, {43, eyes}};
  for (int i = 0; i < kAuCount; ++i) {
    const int number = au_numbers()[static_cast<std::size_t>(i)];
    CAPTURE(number);
    AuVector aus{};
    aus[static_cast<std::size_t>(i)] = 1.0f;
    const cv::Mat img = facegen::render_face(id, aus, size);
    cv::Mat diff;
    cv::absdiff(img, neutral, diff);
    cv::Mat grey;
    cv::cvtColor(diff, grey, cv::COLOR_BGR2GRAY);
    const Region r = expected.at(number);
    double inside = 0, total = 0;
    int changed = 0;
    for (int y = 0; y < grey.rows; ++y) {
      for (int x = 0; x < grey.cols; ++x) {
        const double d = grey.at<std::uint8_t>(y, x);
        if (d > 6) ++changed;
        total += d;
        if (x >= r.x0 && x <= r.x1 && y >= r.y0 && y <= r.y1) inside += d;
      }
    }
    CHECK(changed >= 20);                // clearly visible at 96 px
    CHECK(inside >= 0.85 * total);       // and in the right part of the face
  }
}

TEST_CASE("packed shard round-trips - and bad files are named") {
  const fs::path dir = fresh_dir("shard");
  data::ShardInfo info;
  info.count = 5;
  info.height = 3;
  info.width = 4;
  info.channels = 3;
  info.label_names = {"valence", "arousal", "a_much_longer_label_name"};
  const std::string path = (dir / "x.cpxshard").string();
  {
    data::ShardWriter w(path, info);
    for (std::uint64_t i : {4u, 0u, 2u, 1u, 3u}) {  // any order
      std::vector<std::uint8_t> px(info.pixel_bytes());
      for (std::size_t k = 0; k < px.size(); ++k) px[k] = static_cast<std::uint8_t>(i * 31 + k);
      const std::vector<float> lab = {static_cast<float>(i) * 0.5f, -1.25f, static_cast<float>(i) + 0.125f};
      w.write(i, px.data(), lab.data());
    }
    CHECK_FALSE(fs::exists(path));  // not before commit
    CHECK_THROWS_AS(w.write(5, nullptr, nullptr), circumplex::Error);
    w.commit();
  }
  REQUIRE(fs::exists(path));
  CHECK_FALSE(fs::exists(dir / ".x.partial.cpxshard"));
  {
    const data::ShardReader r(path);
    CHECK(r.count() == 5);
    CHECK(r.height() == 3);
    CHECK(r.width() == 4);
    CHECK(r.channels() == 3);
    CHECK(r.label_names() == info.label_names);
    CHECK(r.label_index("arousal") == 1);
    CHECK(r.label_index("nope") == -1);
    for (std::uint64_t i = 0; i < 5; ++i) {
      for (std::size_t k = 0; k < info.pixel_bytes(); ++k) CHECK(r.pixels(i)[k] == static_cast<std::uint8_t>(i * 31 + k));
      CHECK(r.labels(i)[0] == static_cast<float>(i) * 0.5f);
      CHECK(r.labels(i)[1] == -1.25f);
      CHECK(r.labels(i)[2] == static_cast<float>(i) + 0.125f);
      CHECK(reinterpret_cast<std::uintptr_t>(r.labels(i)) % alignof(float) == 0);
    }
    CHECK_THROWS_AS(r.pixels(5), circumplex::Error);
    // the documented header fields
    const std::string bytes = read_bytes(path);
    CHECK(bytes.substr(0, 8) == "CPXSHARD");
    std::uint64_t labels_offset = 0;
    std::memcpy(&labels_offset, bytes.data() + 48, 8);
    CHECK(labels_offset % 64 == 0);
    CHECK(bytes.size() == labels_offset + 5 * 3 * 4);
  }
  // An abandoned writer leaves nothing behind; a writer missing samples refuses to commit.
  { data::ShardWriter w((dir / "y.cpxshard").string(), info); }
  CHECK_FALSE(fs::exists(dir / "y.cpxshard"));
  CHECK_FALSE(fs::exists(dir / ".y.partial.cpxshard"));
  {
    data::ShardWriter w((dir / "z.cpxshard").string(), info);
    CHECK_THROWS_AS(w.commit(), circumplex::Error);
  }
  CHECK_FALSE(fs::exists(dir / "z.cpxshard"));
  // Truncated or foreign files are rejected with the path in the message.
  const std::string bytes = read_bytes(path);
  {
    std::ofstream(dir / "cut.cpxshard", std::ios::binary) << bytes.substr(0, bytes.size() - 7);
    std::ofstream(dir / "foreign.cpxshard", std::ios::binary) << "PNG" << std::string(100, 'x');
  }
  for (const char* name : {"cut.cpxshard", "foreign.cpxshard", "missing.cpxshard"}) {
    CAPTURE(name);
    try {
      data::ShardReader r((dir / name).string());
      FAIL("opened a bad shard");
    } catch (const circumplex::Error& e) {
      CHECK(std::string(e.what()).find(name) != std::string::npos);
    }
  }
}

TEST_CASE("synth writes images - labels and shards that match what was rendered") {
  const fs::path dir = fresh_dir("synth_labels");
  const CliResult r = run_cli("synth --count 12 --identities 4 --size 64 --seed 5 --jobs 2 --split 0.5,0.25,0.25 --out " +
                              dir.string());
  REQUIRE_MESSAGE(r.code == 0, r.out);
  for (const char* f : {"labels.csv", "train.cpxshard", "val.cpxshard", "test.cpxshard", "contact_sheet.png"}) {
    CHECK(fs::exists(dir / f));
  }
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    CHECK(e.path().filename().string().find(".partial") == std::string::npos);
  }
  const Labels l = read_labels(dir / "labels.csv");
  REQUIRE(l.rows.size() == 12);
  const std::vector<std::string> first = {"file", "split", "valence", "arousal", "z", "category", "identity"};
  for (std::size_t i = 0; i < first.size(); ++i) CHECK(l.header[i] == first[i]);
  for (int a = 0; a < kAuCount; ++a) CHECK(l.header[7 + static_cast<std::size_t>(a)] == au_key(a));
  for (const auto& f : facegen::identity_factors()) CHECK(l.col(f.name) > 0);
  CHECK(l.header.back() == "seed");

  const ExpressionModel& model = ExpressionModel::builtin();
  std::map<std::string, std::string> split_of_identity;
  std::map<std::string, int> per_split;
  for (const auto& row : l.rows) {
    CAPTURE(row[0]);
    const AffectPoint p{std::stod(row[2]), std::stod(row[3]), std::stod(row[4])};
    CHECK(radius(p, Space::Plane) <= 1.0 + 1e-6);
    CHECK(p.z == 0.0);
    CHECK(row[5] == Atlas::builtin().nearest(p, Space::Plane, false).name);
    // AUs are the model's plus bounded noise, and are exactly what was rendered
    const AuVector want = model.action_units(p, Space::Plane);
    AuVector aus{};
    for (int a = 0; a < kAuCount; ++a) {
      const float x = std::stof(row[7 + static_cast<std::size_t>(a)]);
      CHECK(x >= 0.0f);
      CHECK(x <= 1.0f);
      CHECK(std::abs(x - want[static_cast<std::size_t>(a)]) <= 0.05f + 1e-4f);
      aus[static_cast<std::size_t>(a)] = x;
    }
    // sample_label draws the same point and AUs (what the Bayes reader's prior is made of)
    const std::size_t index = static_cast<std::size_t>(std::stoul(row[0].substr(row[0].find('/') + 1)));
    const facegen::SampleLabel drawn = facegen::sample_label(5, index, Space::Plane);
    CHECK(drawn.p.v == doctest::Approx(p.v).epsilon(1e-5));
    CHECK(drawn.p.a == doctest::Approx(p.a).epsilon(1e-5));
    for (std::size_t a = 0; a < aus.size(); ++a) {
      CHECK(drawn.model_aus[a] == doctest::Approx(want[a]).epsilon(1e-4));
      CHECK(drawn.aus[a] == doctest::Approx(aus[a]).epsilon(1e-5));
    }
    const facegen::Identity person = facegen::sample_identity(std::stoull(row[static_cast<std::size_t>(l.col("identity_seed"))]));
    for (std::size_t f = 0; f < facegen::identity_factors().size(); ++f) {
      const double v = std::stod(row[static_cast<std::size_t>(l.col(facegen::identity_factors()[f].name))]);
      CHECK(v == doctest::Approx(facegen::factor_value(person, f)).epsilon(1e-5));
    }
    const cv::Mat png = cv::imread((dir / row[0]).string(), cv::IMREAD_COLOR);
    REQUIRE(png.rows == 64);
    CHECK(cv::norm(png, facegen::render_face(person, aus, 64), cv::NORM_INF) == 0.0);
    // all images of a person share a split
    const std::string& ident = row[6];
    if (split_of_identity.count(ident)) CHECK(split_of_identity[ident] == row[1]);
    split_of_identity[ident] = row[1];
    ++per_split[row[1]];
  }
  CHECK(split_of_identity.size() == 4);

  // The shards hold the same pixels (RGB) and labels, in labels.csv order within each split.
  for (const char* split : {"train", "val", "test"}) {
    CAPTURE(split);
    const data::ShardReader shard((dir / (std::string(split) + ".cpxshard")).string());
    CHECK(static_cast<int>(shard.count()) == per_split[split]);
    CHECK(shard.height() == 64);
    CHECK(shard.channels() == 3);
    const int iv = shard.label_index("valence"), iau = shard.label_index("AU12"), iid = shard.label_index("identity");
    const int icat = shard.label_index("category");
    REQUIRE(iv >= 0);
    REQUIRE(iau >= 0);
    REQUIRE(icat >= 0);
    CHECK(shard.label_index("skin_tone") >= 0);
    std::uint64_t k = 0;
    for (const auto& row : l.rows) {
      if (row[1] != split) continue;
      const float* lab = shard.labels(k);
      CHECK(lab[iv] == doctest::Approx(std::stod(row[2])).epsilon(1e-5));
      CHECK(lab[iau] == std::stof(row[static_cast<std::size_t>(l.col("AU12"))]));
      CHECK(lab[iid] == static_cast<float>(std::stoi(row[6])));
      CHECK(data::category_names()[static_cast<std::size_t>(lab[icat])] == row[5]);
      cv::Mat rgb(64, 64, CV_8UC3, const_cast<std::uint8_t*>(shard.pixels(k))), bgr;
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
      CHECK(cv::norm(bgr, cv::imread((dir / row[0]).string(), cv::IMREAD_COLOR), cv::NORM_INF) == 0.0);
      ++k;
    }
  }
  const cv::Mat sheet = cv::imread((dir / "contact_sheet.png").string());
  REQUIRE_FALSE(sheet.empty());
  CHECK(sheet.cols >= 128 * 8);
}

TEST_CASE("synth is deterministic - same seed gives the same bytes whatever --jobs") {
  const fs::path a = fresh_dir("synth_det_a"), b = fresh_dir("synth_det_b"), c = fresh_dir("synth_det_c");
  const std::string common = "synth --count 10 --identities 3 --size 48 --mode 3d ";
  REQUIRE(run_cli(common + "--seed 9 --jobs 1 --out " + a.string()).code == 0);
  REQUIRE(run_cli(common + "--seed 9 --jobs 2 --out " + b.string()).code == 0);
  REQUIRE(run_cli(common + "--seed 10 --jobs 2 --out " + c.string()).code == 0);
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(a)) {
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), a));
  }
  CHECK(files.size() == 10 + 5);
  for (const fs::path& f : files) {
    CAPTURE(f.string());
    CHECK(read_bytes(a / f) == read_bytes(b / f));
  }
  CHECK(read_bytes(a / "labels.csv") != read_bytes(c / "labels.csv"));
  // 3D mode: z is used
  const Labels l = read_labels(a / "labels.csv");
  bool any_z = false;
  for (const auto& row : l.rows) any_z = any_z || std::stod(row[4]) != 0.0;
  CHECK(any_z);
}

TEST_CASE("synth rejects bad arguments with a usage error naming them") {
  const fs::path dir = fresh_dir("synth_bad");
  const std::string out = dir.string();
  // In-process (fast): each bad option is reported as a UsageError naming it.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--count", "0", "--out", out}, "--count"},
      {{"--count", "-5", "--out", out}, "--count"},
      {{"--count", "many", "--out", out}, "--count"},
      {{"--out", out}, "--count"},
      {{"--count", "5"}, "--out"},
      {{"--count", "5", "--size", "16", "--out", out}, "--size"},
      {{"--count", "5", "--size", "4096", "--out", out}, "--size"},
      {{"--count", "5", "--size", "big", "--out", out}, "--size"},
      {{"--count", "5", "--split", "0.5,0.5,0.5", "--out", out}, "--split"},
      {{"--count", "5", "--split", "0.8,0.2", "--out", out}, "--split"},
      {{"--count", "5", "--split", "a,b,c", "--out", out}, "--split"},
      {{"--count", "5", "--mode", "4d", "--out", out}, "--mode"},
      {{"--count", "5", "--identities", "6", "--out", out}, "--identities"},
      {{"--count", "5", "--jobs", "0", "--out", out}, "--jobs"},
      {{"--count", "5", "--seed", "-1", "--out", out}, "--seed"},
      {{"--count", "5", "--bogus", "1", "--out", out}, "--bogus"},
  };
  for (const auto& [args, name] : cases) {
    std::vector<std::string> words = {"synth"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(w.data());
    CAPTURE(words.size());
    CAPTURE(name);
    try {
      cli::run_synth(static_cast<int>(argv.size()), argv.data());
      FAIL("accepted bad arguments");
    } catch (const cli::UsageError& e) {
      CHECK(std::string(e.what()).find(name) != std::string::npos);
    }
  }
  CHECK_FALSE(fs::exists(dir / "labels.csv"));
  // Through the program: exit code 2 and the message on the terminal; --help has an example.
  const CliResult bad = run_cli("synth --count 0 --out " + out);
  CHECK(bad.code == 2);
  CHECK(bad.out.find("--count") != std::string::npos);
  const CliResult mode = run_cli("synth --count 3 --mode 4d --out " + out);
  CHECK(mode.code == 2);
  CHECK(mode.out.find("--mode") != std::string::npos);
  const CliResult help = run_cli("synth --help");
  CHECK(help.code == 0);
  CHECK(help.out.find("Usage: circumplex synth") != std::string::npos);
  CHECK(help.out.find("Example") != std::string::npos);
}
