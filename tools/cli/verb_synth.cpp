// `circumplex synth`: procedural labelled faces with ground-truth action units (training data).
//
// Every sample i is a pure function of (--seed, i, the options): its identity, affect point,
// AU noise and picture. Workers render samples in any order; outputs land at fixed places
// (images/NNNNNN.png, fixed offsets in the shards, row i of labels.csv), so the bytes do not
// depend on --jobs. Shards and labels.csv are renamed into place last.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../common/csv.hpp"
#include "circumplex/files.hpp"
#include "../common/progress.hpp"
#include "../data/shard.hpp"
#include "../facegen/face_renderer.hpp"
#include "../facegen/rng.hpp"
#include "../plot/plot.hpp"
#include "args.hpp"
#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "verbs.hpp"

namespace circumplex::cli {
namespace {
namespace fs = std::filesystem;
using facegen::Rng;

constexpr double kAuNoise = 0.05;        // per-sample AU jitter, ± this, then clamped to [0, 1]
constexpr double kClusterShare = 0.4;    // share of samples drawn near an atlas emotion
constexpr int kDefaultPerIdentity = 8;   // default images per identity
constexpr int kSheetSamples = 48;        // samples on the contact sheet
const char* const kSplitNames[3] = {"train", "val", "test"};

// The category label: AffectNet's expression numbering (data::category_names()).
int category_index(const std::string& name) {
  const auto& n = data::category_names();
  const auto it = std::find(n.begin(), n.end(), name);
  return it == n.end() ? -1 : static_cast<int>(it - n.begin());
}

std::string num(double x, const char* fmt = "%.6f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, x);
  return buf;
}

struct Split {
  std::array<double, 3> share{0.8, 0.1, 0.1};
};

Split parse_split(const std::string& text) {
  Split s;
  std::size_t start = 0;
  for (int k = 0; k < 3; ++k) {
    const std::size_t comma = text.find(',', start);
    if ((k < 2 && comma == std::string::npos) || (k == 2 && comma != std::string::npos)) {
      throw UsageError("option --split needs three numbers TRAIN,VAL,TEST (e.g. 0.8,0.1,0.1), got '" + text + "'");
    }
    const std::string part = text.substr(start, k < 2 ? comma - start : std::string::npos);
    char* stop = nullptr;
    const double x = std::strtod(part.c_str(), &stop);
    if (part.empty() || *stop != '\0' || !std::isfinite(x) || x < 0 || x > 1) {
      throw UsageError("option --split: '" + part + "' is not a share in [0, 1] (in '" + text + "')");
    }
    s.share[static_cast<std::size_t>(k)] = x;
    start = comma + 1;
  }
  const double sum = s.share[0] + s.share[1] + s.share[2];
  if (std::abs(sum - 1.0) > 1e-6) {
    throw UsageError("option --split: the shares must sum to 1, got " + num(sum, "%g") + " ('" + text + "')");
  }
  return s;
}

// One planned sample: everything needed to render and label it.
struct Sample {
  std::uint64_t seed = 0;     // per-sample stream
  int identity = 0;           // index into the identities
  int split = 0;              // 0 train, 1 val, 2 test
  std::uint64_t in_split = 0; // position in its shard
  AffectPoint p;
  AuVector model_aus{}, aus{};
  std::string category;
};

// A point uniform in the disk/ball, or near an atlas basic emotion.
AffectPoint sample_point(Rng& rng, Space space, const std::vector<const Emotion*>& basics) {
  if (rng.chance(kClusterShare)) {
    const Emotion& e = *basics[static_cast<std::size_t>(rng.below(static_cast<int>(basics.size())))];
    AffectPoint p = e.name == "neutral" ? AffectPoint{} : Atlas::builtin().at_intensity(e, rng.uniform(0.55, 1.0), space);
    p = p + AffectPoint{0.07 * rng.normal(), 0.07 * rng.normal(), space == Space::Ball ? 0.07 * rng.normal() : 0.0};
    return clamp_to_unit(p, space);
  }
  if (space == Space::Plane) {
    const double r = std::sqrt(rng.uniform()), t = rng.uniform(0.0, 2.0 * 3.14159265358979323846);
    return {r * std::cos(t), r * std::sin(t), 0.0};
  }
  for (;;) {  // rejection sampling: uniform in volume
    const AffectPoint p{rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)};
    if (radius(p) <= 1.0) return p;
  }
}

// The contact sheet: a grid of samples with category and (v, a[, z]) under each.
cv::Mat contact_sheet(const std::vector<cv::Mat>& images, const std::vector<Sample>& samples, Space space) {
  const int n = static_cast<int>(std::min(images.size(), samples.size()));
  const int cols = std::min(8, std::max(1, n));
  const int rows = (n + cols - 1) / cols;
  const int tile = 128, caption = 34, pad = 4;
  cv::Mat sheet(rows * (tile + caption + pad) + pad, cols * (tile + pad) + pad, CV_8UC3, cv::Scalar(36, 32, 30));
  for (int i = 0; i < n; ++i) {
    const int x = pad + (i % cols) * (tile + pad), y = pad + (i / cols) * (tile + caption + pad);
    cv::Mat t;
    cv::resize(images[static_cast<std::size_t>(i)], t, cv::Size(tile, tile), 0, 0,
               images[static_cast<std::size_t>(i)].cols > tile ? cv::INTER_AREA : cv::INTER_LINEAR);
    t.copyTo(sheet(cv::Rect(x, y, tile, tile)));
    const Sample& s = samples[static_cast<std::size_t>(i)];
    plot::draw_text(sheet, s.category, {x + 2, y + tile + 3}, 0.38, cv::Scalar(235, 235, 235));
    const std::string va = space == Space::Plane ? "v" + num(s.p.v, "%+.2f") + " a" + num(s.p.a, "%+.2f")
                                                 : num(s.p.v, "%+.2f") + "," + num(s.p.a, "%+.2f") + "," + num(s.p.z, "%+.2f");
    plot::draw_text(sheet, va, {x + 2, y + tile + 18}, 0.36, cv::Scalar(170, 200, 230));
  }
  return sheet;
}

}  // namespace

int run_synth(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--count", "N", "number of faces to make (required)"},
      {"--out", "DIR", "output folder (required): images/, labels.csv, *.cpxshard, contact_sheet.png"},
      {"--seed", "S", "random seed, a whole number >= 0 (default 1); same seed -> same bytes"},
      {"--size", "PX", "image width and height, 32..512 (default 128)"},
      {"--identities", "K", "number of different people, 1..N (default N/8 rounded up)"},
      {"--mode", "2d|3d", "affect space: the valence-arousal disk or the C2A2 ball (default 2d)"},
      {"--split", "T,V,E", "train,val,test shares of the identities, summing to 1 (default 0.8,0.1,0.1)"},
      {"--jobs", "J", "worker threads (default: all cores)"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf(
        "Usage: circumplex synth --count N --out DIR [--seed S] [--size 128] [--identities K]\n"
        "                        [--mode 2d|3d] [--split 0.8,0.1,0.1] [--jobs J]\n\n"
        "Renders procedural faces of K sampled people, each at several affect points (uniform over\n"
        "the disk/ball plus clusters at the atlas emotions), with the runtime's expression model\n"
        "giving the 17 FACS action units plus a little per-sample noise (+-%.2f). Splits are by\n"
        "identity: every image of a person lands in the same split, so val and test hold unseen\n"
        "people. Writes DIR/images/NNNNNN.png, DIR/labels.csv, DIR/{train,val,test}.cpxshard\n"
        "(packed RGB pixels + float32 labels, see README) and DIR/contact_sheet.png.\n\n%s\n"
        "Example:\n  circumplex synth --count 2000 --out out/synth --seed 7\n"
        "  circumplex synth --count 500 --out out/synth3d --mode 3d --size 96 --jobs 2\n",
        kAuNoise, format_options(options).c_str());
    return 0;
  }
  if (!args.has("--count")) throw UsageError("option --count is required (how many faces to make)");
  if (!args.has("--out")) throw UsageError("option --out is required (the output folder)");
  const long count = args.integer_or("--count", 0, 1, 10'000'000);
  const std::string out = *args.get("--out");
  if (out.empty()) throw UsageError("option --out needs a folder name");
  const std::uint64_t seed = static_cast<std::uint64_t>(args.integer_or("--seed", 1, 0, 9'000'000'000'000'000'000L));
  const int size = static_cast<int>(args.integer_or("--size", 128, 32, 512));
  const long identities =
      args.integer_or("--identities", std::max(1L, (count + kDefaultPerIdentity - 1) / kDefaultPerIdentity), 1, count);
  const std::string mode = args.get_or("--mode", "2d");
  if (mode != "2d" && mode != "3d") throw UsageError("option --mode must be 2d or 3d, got '" + mode + "'");
  const Space space = mode == "3d" ? Space::Ball : Space::Plane;
  const Split split = args.has("--split") ? parse_split(*args.get("--split")) : Split{};
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const int jobs = static_cast<int>(args.integer_or("--jobs", static_cast<long>(hw), 1, 256));

  const Atlas& atlas = Atlas::builtin();
  const ExpressionModel& model = ExpressionModel::builtin();
  std::vector<const Emotion*> basics;
  for (const Emotion& e : atlas.emotions()) {
    if (e.kind == EmotionKind::Basic) basics.push_back(&e);
  }

  // People, and which split each belongs to (a seeded shuffle, then the shares in order).
  const std::size_t K = static_cast<std::size_t>(identities);
  std::vector<std::uint64_t> id_seeds(K);
  std::vector<facegen::Identity> people(K);
  for (std::size_t k = 0; k < K; ++k) {
    id_seeds[k] = facegen::mix_seed(seed, 0x1000000ull + k);
    people[k] = facegen::sample_identity(id_seeds[k]);
  }
  std::vector<std::size_t> order(K);
  for (std::size_t k = 0; k < K; ++k) order[k] = k;
  Rng shuffle(facegen::mix_seed(seed, 0x5B117ull));
  for (std::size_t k = K; k > 1; --k) std::swap(order[k - 1], order[static_cast<std::size_t>(shuffle.below(static_cast<int>(k)))]);
  std::vector<int> id_split(K, 2);
  const std::size_t n_train = static_cast<std::size_t>(std::llround(split.share[0] * static_cast<double>(K)));
  const std::size_t n_val = std::min(K - std::min(K, n_train),
                                     static_cast<std::size_t>(std::llround(split.share[1] * static_cast<double>(K))));
  for (std::size_t j = 0; j < K; ++j) {
    id_split[order[j]] = j < n_train ? 0 : j < n_train + n_val ? 1 : 2;
  }

  // Plan every sample (cheap, sequential, deterministic).
  const std::size_t N = static_cast<std::size_t>(count);
  std::vector<Sample> samples(N);
  std::array<std::uint64_t, 3> per_split{0, 0, 0};
  for (std::size_t i = 0; i < N; ++i) {
    Sample& s = samples[i];
    s.seed = facegen::mix_seed(seed, i);
    s.identity = static_cast<int>(i % K);
    s.split = id_split[i % K];
    s.in_split = per_split[static_cast<std::size_t>(s.split)]++;
    Rng rng(s.seed);
    s.p = sample_point(rng, space, basics);
    s.model_aus = model.action_units(s.p, space);
    for (int a = 0; a < kAuCount; ++a) {
      const double x = s.model_aus[static_cast<std::size_t>(a)] + rng.uniform(-kAuNoise, kAuNoise);
      s.aus[static_cast<std::size_t>(a)] = static_cast<float>(std::clamp(x, 0.0, 1.0));
    }
    s.category = atlas.nearest(s.p, space, false).name;
  }

  // Label columns (CSV and shards).
  const auto& factors = facegen::identity_factors();
  std::vector<std::string> shard_labels = {"valence", "arousal", "z", "category", "identity"};
  for (int a = 0; a < kAuCount; ++a) shard_labels.emplace_back(au_key(a));
  for (const auto& f : factors) shard_labels.emplace_back(f.name);
  std::vector<std::string> header = {"file", "split", "valence", "arousal", "z", "category", "identity"};
  for (int a = 0; a < kAuCount; ++a) header.emplace_back(au_key(a));
  for (const auto& f : factors) header.emplace_back(f.name);
  header.emplace_back("identity_seed");
  header.emplace_back("seed");

  const fs::path dir(out);
  std::error_code ec;
  fs::create_directories(dir / "images", ec);
  if (ec) throw Error(ErrorKind::Io, (dir / "images").string() + ": cannot create the folder (" + ec.message() + ")");
  // A previous run's finished outputs would make a half-done rerun look complete: remove them now.
  for (const char* name : {"labels.csv", "train.cpxshard", "val.cpxshard", "test.cpxshard", "contact_sheet.png"}) {
    fs::remove(dir / name, ec);
    if (ec) throw Error(ErrorKind::Io, (dir / name).string() + ": cannot remove the previous run's file (" + ec.message() + ")");
  }
  int digits = 6;
  for (std::size_t n = N - 1; n >= 1000000; n /= 10) ++digits;
  auto file_name = [&](std::size_t i) {
    std::string s = std::to_string(i);
    return "images/" + std::string(static_cast<std::size_t>(std::max(0, digits - static_cast<int>(s.size()))), '0') + s + ".png";
  };

  std::vector<std::unique_ptr<data::ShardWriter>> shards;
  for (int k = 0; k < 3; ++k) {
    data::ShardInfo info;
    info.count = per_split[static_cast<std::size_t>(k)];
    info.height = info.width = static_cast<std::uint32_t>(size);
    info.channels = 3;
    info.label_names = shard_labels;
    shards.push_back(std::make_unique<data::ShardWriter>((dir / (std::string(kSplitNames[k]) + ".cpxshard")).string(), info));
  }

  std::printf("synth: %zu faces of %zu people (%s, %dx%d px), splits %llu/%llu/%llu, %d jobs -> %s\n", N, K,
              space_name(space), size, size, static_cast<unsigned long long>(per_split[0]),
              static_cast<unsigned long long>(per_split[1]), static_cast<unsigned long long>(per_split[2]), jobs,
              dir.string().c_str());
  std::fflush(stdout);

  // Render in a pool; OpenCV's own threads would only compete with ours.
  const int cv_threads = cv::getNumThreads();
  cv::setNumThreads(1);
  std::vector<std::string> rows(N);
  std::vector<cv::Mat> sheet(std::min<std::size_t>(N, kSheetSamples));
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  tools::Progress bar("synth", N, "img");
  auto worker = [&]() {
    std::vector<float> labels(shard_labels.size());
    cv::Mat rgb;
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= N || failed.load()) return;
      try {
        const Sample& s = samples[i];
        const facegen::Identity& person = people[static_cast<std::size_t>(s.identity)];
        const cv::Mat img = facegen::render_face(person, s.aus, size);
        plot::write_image_atomic((dir / file_name(i)).string(), img);
        if (i < sheet.size()) sheet[i] = img.clone();
        cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
        std::size_t c = 0;
        labels[c++] = static_cast<float>(s.p.v);
        labels[c++] = static_cast<float>(s.p.a);
        labels[c++] = static_cast<float>(s.p.z);
        labels[c++] = static_cast<float>(category_index(s.category));
        labels[c++] = static_cast<float>(s.identity);
        for (float a : s.aus) labels[c++] = a;
        for (std::size_t f = 0; f < factors.size(); ++f) labels[c++] = static_cast<float>(facegen::factor_value(person, f));
        shards[static_cast<std::size_t>(s.split)]->write(s.in_split, rgb.ptr<std::uint8_t>(), labels.data());

        std::vector<std::string> row = {file_name(i), kSplitNames[s.split], num(s.p.v), num(s.p.a), num(s.p.z),
                                        s.category, std::to_string(s.identity)};
        for (float a : s.aus) row.push_back(num(a, "%.9g"));
        for (std::size_t f = 0; f < factors.size(); ++f) row.push_back(num(facegen::factor_value(person, f), "%.6g"));
        row.push_back(std::to_string(id_seeds[static_cast<std::size_t>(s.identity)]));
        row.push_back(std::to_string(s.seed));
        rows[i] = tools::csv_join(row);
        bar.advance();
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int j = 0; j < jobs; ++j) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  cv::setNumThreads(cv_threads);
  if (error) std::rethrow_exception(error);
  bar.finish();

  // Last: the contact sheet, the shards, then labels.csv (the file that says "complete").
  plot::write_image_atomic((dir / "contact_sheet.png").string(),
                           contact_sheet(sheet, std::vector<Sample>(samples.begin(), samples.begin() + static_cast<long>(sheet.size())), space));
  for (auto& s : shards) s->commit();
  std::string csv = tools::csv_join(header) + "\n";
  for (const std::string& r : rows) csv += r + "\n";
  circumplex::write_file_atomic((dir / "labels.csv").string(), csv);
  std::printf("synth: wrote %zu images, labels.csv, train/val/test.cpxshard and contact_sheet.png in %s (%.1f img/s)\n",
              N, dir.string().c_str(), bar.rate());
  return 0;
}

}  // namespace circumplex::cli
