#include "synth.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>
#include <vector>

#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "circumplex/files.hpp"
#include "common/csv.hpp"
#include "common/progress.hpp"
#include "data/shard.hpp"
#include "circumplex/facegen.hpp"
#include "plot/plot.hpp"
#include "circumplex/facegen_rng.hpp"

namespace circumplex::facegen {
namespace {
namespace fs = std::filesystem;

constexpr double kClusterShare = 0.4;    // share of samples drawn near an atlas emotion
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

std::vector<const Emotion*> basic_emotions() {
  std::vector<const Emotion*> basics;
  for (const Emotion& e : Atlas::builtin().emotions()) {
    if (e.kind == EmotionKind::Basic) basics.push_back(&e);
  }
  return basics;
}

// A sample's point and AUs, drawn from its own stream.
SampleLabel draw_label(std::uint64_t sample_seed, Space space, const std::vector<const Emotion*>& basics, const ExpressionModel& model) {
  Rng rng(sample_seed);
  SampleLabel l;
  l.p = sample_point(rng, space, basics);
  l.model_aus = model.action_units(l.p, space);
  for (std::size_t a = 0; a < l.aus.size(); ++a) {
    const double x = l.model_aus[a] + rng.uniform(-kSynthAuNoise, kSynthAuNoise);
    l.aus[a] = static_cast<float>(std::clamp(x, 0.0, 1.0));
  }
  return l;
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

// The people, and which split each belongs to (a seeded shuffle, then the shares in order).
struct People {
  std::vector<std::uint64_t> seeds;
  std::vector<Identity> identity;
  std::vector<int> split;
};

People sample_people(const SynthOptions& o) {
  const std::size_t K = static_cast<std::size_t>(o.identities);
  People p{std::vector<std::uint64_t>(K), std::vector<Identity>(K), std::vector<int>(K, 2)};
  for (std::size_t k = 0; k < K; ++k) {
    p.seeds[k] = mix_seed(o.seed, 0x1000000ull + k);
    p.identity[k] = sample_identity(p.seeds[k]);
  }
  std::vector<std::size_t> order(K);
  for (std::size_t k = 0; k < K; ++k) order[k] = k;
  Rng shuffle(mix_seed(o.seed, 0x5B117ull));
  for (std::size_t k = K; k > 1; --k) std::swap(order[k - 1], order[static_cast<std::size_t>(shuffle.below(static_cast<int>(k)))]);
  const std::size_t n_train = static_cast<std::size_t>(std::llround(o.split[0] * static_cast<double>(K)));
  const std::size_t n_val = std::min(K - std::min(K, n_train), static_cast<std::size_t>(std::llround(o.split[1] * static_cast<double>(K))));
  for (std::size_t j = 0; j < K; ++j) p.split[order[j]] = j < n_train ? 0 : j < n_train + n_val ? 1 : 2;
  return p;
}

// Every sample planned (cheap, sequential, deterministic).
std::vector<Sample> plan_samples(const SynthOptions& o, const People& people, std::array<std::uint64_t, 3>& per_split) {
  const Atlas& atlas = Atlas::builtin();
  const ExpressionModel& model = ExpressionModel::builtin();
  const std::vector<const Emotion*> basics = basic_emotions();
  const std::size_t N = static_cast<std::size_t>(o.count), K = people.seeds.size();
  std::vector<Sample> samples(N);
  for (std::size_t i = 0; i < N; ++i) {
    Sample& s = samples[i];
    s.seed = mix_seed(o.seed, i);
    s.identity = static_cast<int>(i % K);
    s.split = people.split[i % K];
    s.in_split = per_split[static_cast<std::size_t>(s.split)]++;
    const SampleLabel label = draw_label(s.seed, o.space, basics, model);
    s.p = label.p;
    s.model_aus = label.model_aus;
    s.aus = label.aus;
    s.category = atlas.nearest(s.p, o.space, false).name;
  }
  return samples;
}

// The label columns of the shards (floats) and of labels.csv.
std::vector<std::string> shard_columns() {
  std::vector<std::string> c = {"valence", "arousal", "z", "category", "identity"};
  for (int a = 0; a < kAuCount; ++a) c.emplace_back(au_key(a));
  for (const auto& f : identity_factors()) c.emplace_back(f.name);
  return c;
}

std::vector<std::string> csv_columns() {
  std::vector<std::string> c = {"file", "split", "valence", "arousal", "z", "category", "identity"};
  for (int a = 0; a < kAuCount; ++a) c.emplace_back(au_key(a));
  for (const auto& f : identity_factors()) c.emplace_back(f.name);
  c.emplace_back("identity_seed");
  c.emplace_back("seed");
  return c;
}

// The folder, emptied of a previous run's finished outputs (a half-done rerun must not look complete).
void prepare_folder(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir / "images", ec);
  if (ec) throw Error(ErrorKind::Io, (dir / "images").string() + ": cannot create the folder (" + ec.message() + ")");
  for (const char* name : {"labels.csv", "train.cpxshard", "val.cpxshard", "test.cpxshard", "contact_sheet.png"}) {
    fs::remove(dir / name, ec);
    if (ec) throw Error(ErrorKind::Io, (dir / name).string() + ": cannot remove the previous run's file (" + ec.message() + ")");
  }
}

// One rendered sample: its PNG, its shard row and its labels.csv row.
class SampleWriter {
 public:
  SampleWriter(const fs::path& dir, const People& people, std::vector<std::unique_ptr<data::ShardWriter>>& shards, std::size_t n)
      : dir_(dir), people_(people), shards_(shards), labels_(shard_columns().size()) {
    for (std::size_t m = n - 1; m >= 1000000; m /= 10) ++digits_;
  }
  std::string file_name(std::size_t i) const {
    const std::string s = std::to_string(i);
    return "images/" + std::string(static_cast<std::size_t>(std::max(0, digits_ - static_cast<int>(s.size()))), '0') + s + ".png";
  }
  // Renders sample i and writes it; returns its labels.csv row.
  std::string write(std::size_t i, const Sample& s, int size, cv::Mat* keep) {
    const Identity& person = people_.identity[static_cast<std::size_t>(s.identity)];
    const cv::Mat img = render_face(person, s.aus, size);
    plot::write_image_atomic((dir_ / file_name(i)).string(), img);
    if (keep) *keep = img.clone();
    cv::cvtColor(img, rgb_, cv::COLOR_BGR2RGB);
    const auto& factors = identity_factors();
    std::size_t c = 0;
    for (double x : {s.p.v, s.p.a, s.p.z, static_cast<double>(category_index(s.category)), static_cast<double>(s.identity)}) {
      labels_[c++] = static_cast<float>(x);
    }
    for (float a : s.aus) labels_[c++] = a;
    for (std::size_t f = 0; f < factors.size(); ++f) labels_[c++] = static_cast<float>(factor_value(person, f));
    shards_[static_cast<std::size_t>(s.split)]->write(s.in_split, rgb_.ptr<std::uint8_t>(), labels_.data());
    std::vector<std::string> row = {file_name(i), kSplitNames[s.split], num(s.p.v), num(s.p.a), num(s.p.z), s.category, std::to_string(s.identity)};
    for (float a : s.aus) row.push_back(num(a, "%.9g"));
    for (std::size_t f = 0; f < factors.size(); ++f) row.push_back(num(factor_value(person, f), "%.6g"));
    row.push_back(std::to_string(people_.seeds[static_cast<std::size_t>(s.identity)]));
    row.push_back(std::to_string(s.seed));
    return tools::csv_join(row);
  }

 private:
  fs::path dir_;
  const People& people_;
  std::vector<std::unique_ptr<data::ShardWriter>>& shards_;
  std::vector<float> labels_;
  cv::Mat rgb_;
  int digits_ = 6;
};

// Runs `job(i)` for i in [0, n) on `jobs` threads; the first exception stops the rest and is rethrown.
template <typename Job>
void parallel_for(std::size_t n, int jobs, Job job) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  std::vector<std::thread> pool;
  for (int j = 0; j < jobs; ++j) {
    pool.emplace_back([&, j] {
      for (std::size_t i = next.fetch_add(1); i < n && !failed.load(); i = next.fetch_add(1)) {
        try {
          job(i, j);
        } catch (...) {
          const std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
          failed = true;
        }
      }
    });
  }
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

void check(const SynthOptions& o) {
  if (o.count < 1) throw Error(ErrorKind::InvalidArgument, "synth: count must be at least 1");
  if (o.out.empty()) throw Error(ErrorKind::InvalidArgument, "synth: the output folder is empty");
  if (o.size < 32 || o.size > 512) throw Error(ErrorKind::InvalidArgument, "synth: size must be 32 … 512, got " + std::to_string(o.size));
  if (o.identities < 1 || o.identities > o.count) throw Error(ErrorKind::InvalidArgument, "synth: identities must be 1 … count");
  if (o.jobs < 1) throw Error(ErrorKind::InvalidArgument, "synth: jobs must be at least 1");
  if (std::abs(o.split[0] + o.split[1] + o.split[2] - 1.0) > 1e-6) throw Error(ErrorKind::InvalidArgument, "synth: the split shares must sum to 1");
}

}  // namespace

SynthResult synthesize(const SynthOptions& options) {
  SynthOptions o = options;
  if (o.identities == 0) o.identities = std::max<std::int64_t>(1, (o.count + 7) / 8);
  check(o);
  const People people = sample_people(o);
  SynthResult result;
  const std::vector<Sample> samples = plan_samples(o, people, result.per_split);
  const std::size_t N = samples.size();
  const fs::path dir(o.out);
  prepare_folder(dir);
  std::vector<std::unique_ptr<data::ShardWriter>> shards;
  for (int k = 0; k < 3; ++k) {
    data::ShardInfo info;
    info.count = result.per_split[static_cast<std::size_t>(k)];
    info.height = info.width = static_cast<std::uint32_t>(o.size);
    info.channels = 3;
    info.label_names = shard_columns();
    shards.push_back(std::make_unique<data::ShardWriter>((dir / (std::string(kSplitNames[k]) + ".cpxshard")).string(), info));
  }
  std::printf("synth: %zu faces of %lld people (%s, %dx%d px), splits %llu/%llu/%llu, %d jobs -> %s\n", N, static_cast<long long>(o.identities),
              space_name(o.space), o.size, o.size, static_cast<unsigned long long>(result.per_split[0]),
              static_cast<unsigned long long>(result.per_split[1]), static_cast<unsigned long long>(result.per_split[2]), o.jobs, dir.string().c_str());
  std::fflush(stdout);

  // Render in a pool; OpenCV's own threads would only compete with ours.
  const int cv_threads = cv::getNumThreads();
  cv::setNumThreads(1);
  std::vector<std::string> rows(N);
  std::vector<cv::Mat> sheet(std::min<std::size_t>(N, kSheetSamples));
  std::vector<std::unique_ptr<SampleWriter>> writers;
  for (int j = 0; j < o.jobs; ++j) writers.push_back(std::make_unique<SampleWriter>(dir, people, shards, N));
  tools::Progress bar("synth", N, "img");
  try {
    parallel_for(N, o.jobs, [&](std::size_t i, int job) {
      rows[i] = writers[static_cast<std::size_t>(job)]->write(i, samples[i], o.size, i < sheet.size() ? &sheet[i] : nullptr);
      bar.advance();
    });
  } catch (...) {
    cv::setNumThreads(cv_threads);
    throw;
  }
  cv::setNumThreads(cv_threads);
  bar.finish();

  // Last: the contact sheet, the shards, then labels.csv (the file that says "complete").
  plot::write_image_atomic((dir / "contact_sheet.png").string(),
                           contact_sheet(sheet, std::vector<Sample>(samples.begin(), samples.begin() + static_cast<long>(sheet.size())), o.space));
  for (auto& s : shards) s->commit();
  std::string csv = tools::csv_join(csv_columns()) + "\n";
  for (const std::string& r : rows) csv += r + "\n";
  write_file_atomic((dir / "labels.csv").string(), csv);
  result.images_per_second = bar.rate();
  return result;
}

SampleLabel sample_label(std::uint64_t seed, std::uint64_t i, Space space) {
  static const std::vector<const Emotion*> basics = basic_emotions();
  return draw_label(mix_seed(seed, i), space, basics, ExpressionModel::builtin());
}

}  // namespace circumplex::facegen
