#include "prep/prep.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <system_error>
#include <thread>

#include "circumplex/assets.hpp"
#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "common/csv.hpp"
#include "circumplex/files.hpp"
#include "common/progress.hpp"
#include "plot/plot.hpp"
#include "prep/affectnet.hpp"
#include "prep/image.hpp"
#include "prep/npy.hpp"

namespace circumplex::prep {
namespace fs = std::filesystem;
namespace {

constexpr const char* kJournalName = "prep_journal.csv";
constexpr const char* kJournalMagic = "# circumplex prep journal v1 ";
constexpr std::size_t kJournalFields = 13;
const std::vector<std::string> kFinalFiles = {"labels.csv", "rejects.csv", "summary.json", "class_weights.json",
                                              "class_weights.npy"};

/// What happened to one row after the CSV was read: the unit the journal stores.
struct RowOutcome {
  std::size_t row = 0;
  std::string source_file;
  bool kept = false;
  std::string reason, detail;  // rejected rows
  std::string file;            // kept rows: the crop, relative to OUT
  double x = 0, y = 0, w = 0, h = 0, score = 0;
  bool has_pose = false;
  double asymmetry = 0, roll = 0;
};

std::string num(double x, int digits = 6) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, x);
  return buf;
}

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

/// Uniform in [0, 1) from a 64-bit hash.
double unit(std::uint64_t h) { return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0); }

std::string crop_name(std::size_t row) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "images/%07zu.png", row);
  return buf;
}

std::string journal_line(const RowOutcome& o) {
  return tools::csv_join({std::to_string(o.row), o.source_file, o.kept ? "kept" : "rejected", o.reason, o.detail,
                          o.file, o.kept ? num(o.x, 9) : "", o.kept ? num(o.y, 9) : "", o.kept ? num(o.w, 9) : "",
                          o.kept ? num(o.h, 9) : "", o.kept ? num(o.score, 9) : "",
                          o.has_pose ? num(o.asymmetry, 9) : "", o.has_pose ? num(o.roll, 9) : ""}) +
         "\n";
}

bool parse_journal_line(std::string_view line, RowOutcome& o) {
  std::vector<std::string> f;
  try {
    tools::CsvReader reader(line, "journal");
    if (!reader.next(f)) return false;
  } catch (const Error&) {
    return false;
  }
  if (f.size() != kJournalFields || (f[2] != "kept" && f[2] != "rejected")) return false;
  char* stop = nullptr;
  const unsigned long long row = std::strtoull(f[0].c_str(), &stop, 10);
  if (f[0].empty() || *stop != '\0' || row == 0) return false;
  auto number = [](const std::string& s, double& out) {
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return !s.empty() && *end == '\0' && std::isfinite(out);
  };
  o = RowOutcome{};
  o.row = static_cast<std::size_t>(row);
  o.source_file = f[1];
  o.kept = f[2] == "kept";
  o.reason = f[3];
  o.detail = f[4];
  o.file = f[5];
  if (o.kept) {
    if (o.file.empty() || !number(f[6], o.x) || !number(f[7], o.y) || !number(f[8], o.w) || !number(f[9], o.h) ||
        !number(f[10], o.score)) {
      return false;
    }
    o.has_pose = !f[11].empty();
    if (o.has_pose && (!number(f[11], o.asymmetry) || !number(f[12], o.roll))) return false;
  } else if (o.reason.empty()) {
    return false;
  }
  return true;
}

/// The per-row settings a journal's results depend on.
nlohmann::ordered_json journal_settings(const PrepOptions& o, double min_score) {
  nlohmann::ordered_json j;
  j["detector"] = o.detector.text();
  j["min_score"] = min_score;
  j["size"] = o.size;
  j["margin"] = o.margin;
  j["clahe"] = o.clahe;
  j["min_face"] = o.min_face;
  j["pose"] = pose_name(o.pose);
  return j;
}

/// OUT/prep_journal.csv: read what an earlier run finished, append what this one finishes.
class Journal {
 public:
  Journal(const fs::path& path, const nlohmann::ordered_json& settings) : path_(path), settings_(settings) {
    std::error_code ec;
    if (fs::exists(path, ec)) load();
    if (!file_) start_new();
  }
  ~Journal() {
    if (file_) std::fclose(file_);
  }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  std::map<std::size_t, RowOutcome>& done() { return done_; }
  std::size_t damaged() const { return damaged_; }

  void append(const RowOutcome& o) {
    const std::string line = journal_line(o);
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
      throw Error(ErrorKind::Io, path_.string() + ": cannot append (disk full?)");
    }
  }

  /// Rewrites the journal with one line per row (sorted), atomically.
  void compact(const std::map<std::size_t, RowOutcome>& all) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string text = header();
    for (const auto& kv : all) text += journal_line(kv.second);
    std::fclose(file_);
    file_ = nullptr;
    circumplex::write_file_atomic(path_.string(), text);
    open_append();
  }

 private:
  std::string header() const { return std::string(kJournalMagic) + settings_.dump() + "\n"; }

  void open_append() {
    file_ = std::fopen(path_.c_str(), "ab");
    if (!file_)
      throw Error(ErrorKind::Io, path_.string() + ": cannot open for appending (" + std::strerror(errno) + ")");
  }

  void start_new() {
    circumplex::write_file_atomic(path_.string(), header());
    open_append();
  }

  void load() {
    const std::string text = read_text_file(path_.string());
    const std::size_t eol = text.find('\n');
    const std::string first = text.substr(0, eol);
    if (first.rfind(kJournalMagic, 0) != 0 || eol == std::string::npos) {
      throw Error(ErrorKind::BadData,
                  path_.string() + ": not a circumplex prep journal; remove it or choose another --out");
    }
    nlohmann::ordered_json old;
    try {
      old = nlohmann::ordered_json::parse(first.substr(std::strlen(kJournalMagic)));
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::BadData, path_.string() + ": damaged settings line; rerun with --fresh");
    }
    std::string diff;
    for (const auto& kv : settings_.items()) {
      if (!old.contains(kv.key()) || old[kv.key()] != kv.value()) {
        diff += (diff.empty() ? "" : ", ") + kv.key() + " " + (old.contains(kv.key()) ? old[kv.key()].dump() : "?") +
                " -> " + kv.value().dump();
      }
    }
    if (!diff.empty()) {
      throw Error(ErrorKind::InvalidArgument, path_.parent_path().string() + " holds a prep run with other settings (" +
                                                  diff +
                                                  "); rerun with --fresh to start over there, or choose another --out");
    }
    // Complete lines only: a line cut short by an interruption has no '\n' and is dropped.
    std::size_t pos = eol + 1;
    while (pos < text.size()) {
      const std::size_t end = text.find('\n', pos);
      if (end == std::string::npos) {
        ++damaged_;
        break;
      }
      RowOutcome o;
      if (parse_journal_line(std::string_view(text).substr(pos, end - pos), o))
        done_[o.row] = o;
      else
        ++damaged_;
      pos = end + 1;
    }
    // Rewrite without damaged lines, so that appended lines start on a fresh line.
    compact_unlocked();
  }

  void compact_unlocked() {
    std::string text = header();
    for (const auto& kv : done_) text += journal_line(kv.second);
    circumplex::write_file_atomic(path_.string(), text);
    open_append();
  }

  fs::path path_;
  nlohmann::ordered_json settings_;
  std::map<std::size_t, RowOutcome> done_;
  std::size_t damaged_ = 0;
  std::FILE* file_ = nullptr;
  std::mutex mutex_;
};

/// An exclusive lock on OUT/.prep.lock for the run (two preps must not share an --out).
class DirLock {
 public:
  explicit DirLock(const fs::path& dir) {
    const fs::path p = dir / ".prep.lock";
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(ErrorKind::Io, p.string() + ": cannot create (" + std::strerror(errno) + ")");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
      ::close(fd_);
      throw Error(ErrorKind::Io, dir.string() + ": another circumplex prep is writing there");
    }  // other errors (a file system without locks): go on unlocked
  }
  ~DirLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

/// Restores OpenCV's thread count on scope exit.
class CvThreads {
 public:
  explicit CvThreads(int n) : saved_(cv::getNumThreads()) { cv::setNumThreads(n); }
  ~CvThreads() { cv::setNumThreads(saved_); }
  CvThreads(const CvThreads&) = delete;
  CvThreads& operator=(const CvThreads&) = delete;

 private:
  int saved_;
};

struct Context {
  const PrepOptions& options;
  fs::path images, out;
  double min_score;
};

RowOutcome process_row(const Annotation& a, const Context& ctx, FaceDetector& detector) {
  RowOutcome o;
  o.row = a.row;
  o.source_file = a.file;
  auto reject = [&](const char* reason, std::string detail) {
    o.kept = false;
    o.reason = reason;
    // One line (OpenCV's messages span several), so the journal stays one record per line.
    for (char& c : detail) c = (c == '\n' || c == '\r') ? ' ' : c;
    o.detail = std::move(detail);
    return o;
  };
  const PrepOptions& opt = ctx.options;
  cv::Mat crop;
  try {
    const LoadedImage img = load_image((ctx.images / a.file).string());
    if (!img.reason.empty()) return reject(img.reason.c_str(), img.detail);
    const cv::Rect2d csv_box(a.box_x, a.box_y, a.box_w, a.box_h);
    const std::vector<FaceCandidate> found = detector.detect(img.bgr, a.has_box ? &csv_box : nullptr, opt.min_face);
    if (found.empty()) {
      return reject(
          "no_face",
          opt.detector.kind == DetectorKind::Box
              ? (a.has_box ? "the CSV face box lies outside the picture" : "no face box in the CSV")
              : (a.has_box ? "the detector found no face near the CSV face box" : "the detector found no face"));
    }
    // The annotated face: with a CSV box, the best detection whose centre lies inside it.
    const FaceCandidate* face = &found.front();
    if (a.has_box && opt.detector.kind != DetectorKind::Box) {
      face = nullptr;
      for (const FaceCandidate& c : found) {
        if (csv_box.contains(cv::Point2d(c.box.x + c.box.width / 2, c.box.y + c.box.height / 2))) {
          face = &c;
          break;
        }
      }
      if (!face)
        return reject("box_mismatch", std::to_string(found.size()) + " face(s) found, none inside the CSV face box");
    }
    if (face->score < ctx.min_score) {
      return reject("low_confidence", "score " + num(face->score, 4) + " below " + num(ctx.min_score, 4));
    }
    const double side = std::min(face->box.width, face->box.height);
    if (side < opt.min_face) {
      return reject("small_face", "face " + fixed(side, 0) + " px, --min-face " + std::to_string(opt.min_face));
    }
    std::string why;
    if (opt.pose != PoseMode::Off) {
      bool ok = false;
      if (opt.pose == PoseMode::Auto && a.landmarks.size() == 136) {
        ok = landmarks68_check(a.landmarks, o.asymmetry, o.roll, why);
        why = "landmarks: " + why;
      } else if (opt.pose == PoseMode::Auto && face->landmarks5.size() == 5) {
        ok = landmarks5_check(face->landmarks5, o.asymmetry, o.roll, why);
        why = "YuNet landmarks: " + why;
      } else {
        ok = detector.eyes_check(img.bgr, face->box, o.asymmetry, o.roll, why);
      }
      if (!ok) return reject("extreme_pose", why);
      o.has_pose = true;
    }
    crop = square_crop(img.bgr, face->box, opt.margin, opt.size);
    if (opt.clahe) crop = clahe_luminance(crop);
    o.x = face->box.x;
    o.y = face->box.y;
    o.w = face->box.width;
    o.h = face->box.height;
    o.score = face->score;
  } catch (const cv::Exception& e) {
    return reject("processing_error", std::string("OpenCV: ") + e.what());
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Io) throw;
    return reject("processing_error", e.what());
  }
  o.kept = true;
  o.file = crop_name(a.row);
  plot::write_image_atomic((ctx.out / o.file).string(), crop);  // a failed write is fatal
  return o;
}

/// Runs `todo` on the worker threads; results land in `results` and the journal.
/// Returns false when the stop_after hook fired.
bool run_rows(const std::vector<const Annotation*>& todo, const Context& ctx,
              std::vector<std::unique_ptr<FaceDetector>>& detectors, Journal& journal,
              std::map<std::size_t, RowOutcome>& results, std::size_t& processed, const std::string& label) {
  if (todo.empty()) return true;
  const PrepOptions& opt = ctx.options;
  std::vector<RowOutcome> out(todo.size());
  std::vector<char> finished(todo.size(), 0);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> count{processed};
  std::mutex error_mutex;
  std::exception_ptr error;
  std::unique_ptr<tools::Progress> bar;
  if (opt.progress) bar = std::make_unique<tools::Progress>(label, todo.size(), "img");
  auto worker = [&](FaceDetector& det) {
    try {
      while (!stop.load()) {
        const std::size_t i = next.fetch_add(1);
        if (i >= todo.size()) break;
        out[i] = process_row(*todo[i], ctx, det);
        journal.append(out[i]);
        finished[i] = 1;
        if (bar) bar->advance();
        const std::size_t n = count.fetch_add(1) + 1;
        if (opt.stop_after > 0 && n >= opt.stop_after) stop = true;
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  const std::size_t threads = std::min(detectors.size(), todo.size());
  std::vector<std::thread> pool;
  try {
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker, std::ref(*detectors[t]));
  } catch (const std::system_error&) {
    // Fewer threads than asked for: the ones started and this one share the rows.
  }
  worker(*detectors[0]);
  for (std::thread& t : pool) t.join();
  if (bar) bar->finish();
  processed = count.load();
  for (std::size_t i = 0; i < todo.size(); ++i) {
    if (finished[i]) results[out[i].row] = std::move(out[i]);
  }
  if (error) std::rethrow_exception(error);
  return std::all_of(finished.begin(), finished.end(), [](char f) { return f != 0; });
}

std::string split_of(const PrepOptions& o, const std::string& source_file) {
  if (o.split != "auto") return o.split;
  const double u = unit(splitmix64(fnv1a(source_file) ^ splitmix64(o.seed)));
  return u < 0.8 ? "train" : u < 0.9 ? "val" : "test";
}

void remove_partials(const fs::path& images) {
  std::error_code ec;
  if (!fs::is_directory(images, ec)) return;
  for (fs::directory_iterator it(images, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.' && name.find(".partial") != std::string::npos) fs::remove(it->path(), ec);
  }
}

}  // namespace

const std::vector<std::string>& reject_reasons() {
  static const std::vector<std::string> reasons = {reject::kBadRow,
                                                   reject::kBadPath,
                                                   reject::kBadExpression,
                                                   reject::kExcludedCategory,
                                                   reject::kMissingLabel,
                                                   "missing_file",
                                                   "corrupt",
                                                   "truncated",
                                                   "no_face",
                                                   "box_mismatch",
                                                   "low_confidence",
                                                   "small_face",
                                                   "extreme_pose",
                                                   "processing_error"};
  return reasons;
}

namespace {

// Class weights: total / (n_classes × count) over the images written; n_classes counts the
// categories that have images. "class_weights" maps each category with images to its weight
// (what `circumplex train --class-weights` reads); the .npy holds one weight per expression
// code, 0 for a category without images.
void write_class_weights(PrepSummary& summary, const fs::path& out) {
  nlohmann::ordered_json weights_json;
  {
    std::size_t present = 0;
    for (const CategoryStats& s : summary.categories) present += s.kept > 0 ? 1 : 0;
    std::vector<float> w;
    weights_json["format"] = "circumplex-class-weights";
    weights_json["version"] = 1;
    weights_json["formula"] = "total / (n_classes * count)";
    weights_json["total"] = summary.kept;
    weights_json["n_classes"] = present;
    weights_json["npy"] = "class_weights.npy: float32, index = expression code (labels.csv column 'expression')";
    for (CategoryStats& s : summary.categories) {
      s.class_weight =
          s.kept > 0 ? static_cast<double>(summary.kept) / (static_cast<double>(present) * static_cast<double>(s.kept))
                     : 0.0;
      w.push_back(static_cast<float>(s.class_weight));
      weights_json["categories"].push_back(s.name);
      weights_json["counts"][s.name] = s.kept;
      if (s.kept > 0) weights_json["class_weights"][s.name] = s.class_weight;
    }
    circumplex::write_file_atomic((out / "class_weights.npy").string(), npy_float32(w));
    circumplex::write_file_atomic((out / "class_weights.json").string(), weights_json.dump(2) + "\n");
  }

}

// summary.json: the settings, the counts, and per category AffectNet's means beside the atlas.
nlohmann::ordered_json summary_json(const PrepSummary& summary, const PrepOptions& opt, double min_score) {
  nlohmann::ordered_json j;
  j["format"] = "circumplex-prep-summary";
  j["version"] = 1;
  j["csv"] = opt.csv_path;
  j["images"] = opt.images_dir;
  j["settings"] = journal_settings(opt, min_score);
  j["settings"]["balance"] = opt.balance;
  j["settings"]["class_weights"] = opt.class_weights;
  j["settings"]["split"] = opt.split;
  j["settings"]["seed"] = opt.seed;
  j["settings"]["keep_uncertain"] = opt.keep_uncertain;
  j["rows"] = {{"data", summary.data_rows},
               {"kept", summary.kept},
               {"rejected", summary.rejected},
               {"not_needed", summary.not_needed}};
  j["rejects"] = summary.reject_counts;
  j["splits"] = {{"train", summary.split_counts.at("train")},
                 {"val", summary.split_counts.at("val")},
                 {"test", summary.split_counts.at("test")}};
  j["z"] = "z is the category's atlas z (-PAD dominance, Atlas::builtin()); AffectNet has no z label";
  for (const CategoryStats& s : summary.categories) {
    nlohmann::ordered_json c;
    c["code"] = s.code;
    c["name"] = s.name;
    c["annotated"] = s.annotated;
    c["annotated_mean"] =
        s.annotated > 0 ? nlohmann::ordered_json{{"valence", s.annotated_valence}, {"arousal", s.annotated_arousal}}
                        : nlohmann::ordered_json(nullptr);
    c["kept"] = s.kept;
    c["kept_mean"] = s.kept > 0 ? nlohmann::ordered_json{{"valence", s.kept_valence}, {"arousal", s.kept_arousal}}
                                : nlohmann::ordered_json(nullptr);
    c["atlas"] =
        s.in_atlas
            ? nlohmann::ordered_json{{"valence", s.atlas_valence}, {"arousal", s.atlas_arousal}, {"z", s.atlas_z}}
            : nlohmann::ordered_json(nullptr);
    if (opt.class_weights) c["class_weight"] = s.class_weight;
    j["categories"].push_back(c);
  }
  if (opt.balance > 0) j["balance"] = {{"per_category", opt.balance}, {"short", summary.short_categories}};

  return j;
}

}  // namespace

PrepSummary run_prep(const PrepOptions& opt) {
  if (opt.size < 16 || opt.size > 1024) throw Error(ErrorKind::InvalidArgument, "size must be in [16, 1024]");
  if (!(opt.margin >= 0.0 && opt.margin <= 1.0)) throw Error(ErrorKind::InvalidArgument, "margin must be in [0, 1]");
  if (opt.min_face < 1) throw Error(ErrorKind::InvalidArgument, "min face must be at least 1 px");
  if (opt.balance > 0 && opt.class_weights) {
    throw Error(ErrorKind::InvalidArgument, "balance and class weights are alternatives; choose one");
  }
  if (opt.split != "auto" && opt.split != "train" && opt.split != "val" && opt.split != "test") {
    throw Error(ErrorKind::InvalidArgument, "split must be auto, train, val or test, got '" + opt.split + "'");
  }
  std::error_code ec;
  if (!fs::is_directory(opt.images_dir, ec)) throw Error(ErrorKind::Io, opt.images_dir + ": no such images folder");
  const std::string csv_text = read_text_file(opt.csv_path);
  const AnnotationTable table = read_affectnet_csv(csv_text, opt.csv_path, opt.keep_uncertain);

  const fs::path out(opt.out_dir);
  fs::create_directories(out / "images", ec);
  if (!fs::is_directory(out / "images", ec))
    throw Error(ErrorKind::Io, opt.out_dir + ": cannot create the output folder");
  const DirLock lock(out);
  if (opt.fresh) {
    fs::remove_all(out / "images", ec);
    fs::remove(out / kJournalName, ec);
    fs::create_directories(out / "images", ec);
  }
  for (const std::string& f : kFinalFiles) fs::remove(out / f, ec);
  remove_partials(out / "images");

  const double min_score = opt.min_score >= 0.0 ? opt.min_score : default_min_score(opt.detector.kind);
  const Context ctx{opt, fs::path(opt.images_dir), out, min_score};
  const int jobs = opt.jobs > 0 ? opt.jobs : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::unique_ptr<FaceDetector>> detectors;
  for (int i = 0; i < jobs; ++i) detectors.push_back(std::make_unique<FaceDetector>(opt.detector));
  Journal journal(out / kJournalName, journal_settings(opt, min_score));

  // Journal entries still valid: same source file on that row, crop still on disk.
  std::map<std::size_t, const Annotation*> by_row;
  for (const Annotation& a : table.rows) by_row[a.row] = &a;
  std::map<std::size_t, RowOutcome>& cached = journal.done();
  for (auto it = cached.begin(); it != cached.end();) {
    const auto a = by_row.find(it->first);
    const bool valid = a != by_row.end() && a->second->file == it->second.source_file &&
                       (!it->second.kept || fs::is_regular_file(out / it->second.file, ec));
    it = valid ? std::next(it) : cached.erase(it);
  }

  PrepSummary summary;
  summary.data_rows = table.data_rows;
  const int codes = opt.keep_uncertain ? kExpressionCodes : kEmotionCodes;  // categories reported
  std::map<std::size_t, RowOutcome> results;  // rows evaluated by this run (journal or processing)
  warm_up_opencv();
  const CvThreads cv_threads(jobs > 1 ? 1 : cv::getNumThreads());
  const auto t0 = std::chrono::steady_clock::now();
  bool complete = true;
  auto evaluate = [&](const std::vector<const Annotation*>& rows, const std::string& label) {
    std::vector<const Annotation*> todo;
    for (const Annotation* a : rows) {
      const auto c = cached.find(a->row);
      if (c != cached.end()) {
        results[a->row] = c->second;
        ++summary.resumed;
      } else {
        todo.push_back(a);
      }
    }
    if (!run_rows(todo, ctx, detectors, journal, results, summary.processed, label)) complete = false;
  };

  if (opt.balance == 0) {
    std::vector<const Annotation*> all;
    for (const Annotation& a : table.rows) all.push_back(&a);
    evaluate(all, "prep");
  } else {
    // Per category, candidates in a seeded order; process only as many as are still missing,
    // wave after wave, so the kept set is the first N keepers of that order whatever the
    // thread timing, and no more rows are processed than needed.
    std::map<int, std::vector<const Annotation*>> order;
    for (const Annotation& a : table.rows) order[a.expression].push_back(&a);
    for (auto& kv : order) {
      std::vector<std::pair<std::uint64_t, const Annotation*>> keyed;
      for (const Annotation* a : kv.second)
        keyed.emplace_back(splitmix64(splitmix64(a->row) ^ splitmix64(opt.seed ^ 0x5EEDull)), a);
      std::sort(keyed.begin(), keyed.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
      for (std::size_t i = 0; i < keyed.size(); ++i) kv.second[i] = keyed[i].second;
    }
    std::map<int, std::size_t> next, kept;
    for (int wave = 1; complete; ++wave) {
      std::vector<const Annotation*> rows;
      for (auto& kv : order) {
        std::size_t& n = next[kv.first];
        const std::size_t k = kept[kv.first];
        for (std::size_t want = k < opt.balance ? opt.balance - k : 0; want > 0 && n < kv.second.size(); --want) {
          rows.push_back(kv.second[n++]);
        }
      }
      if (rows.empty()) break;
      evaluate(rows, wave == 1 ? "prep" : "prep (balance, wave " + std::to_string(wave) + ")");
      if (!complete) break;
      for (auto& kv : order) kept[kv.first] = 0;
      for (const auto& r : results) {
        if (r.second.kept) ++kept[by_row.at(r.first)->expression];
      }
    }
    for (int c = 0; c < codes; ++c) {
      if (kept[c] < opt.balance) summary.short_categories.push_back(category_name(c));
    }
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!complete) {
    summary.interrupted = true;
    return summary;
  }
  summary.not_needed = table.rows.size() - results.size();

  // Per-category statistics and the label rows.
  const Atlas& atlas = Atlas::builtin();
  for (int c = 0; c < codes; ++c) {
    CategoryStats s;
    s.code = c;
    s.name = category_name(c);
    if (const Emotion* e = c < kEmotionCodes ? atlas.try_find(s.name) : nullptr) {
      s.in_atlas = true;
      s.atlas_valence = e->plane.v;
      s.atlas_arousal = e->plane.a;
      s.atlas_z = e->ball.z;
    }
    summary.categories.push_back(s);
  }
  for (const Annotation& a : table.rows) {
    CategoryStats& s = summary.categories[static_cast<std::size_t>(a.expression)];
    ++s.annotated;
    s.annotated_valence += a.valence;
    s.annotated_arousal += a.arousal;
  }
  std::string labels =
      "file,split,valence,arousal,z,category,source_row,source_file,expression,face_x,face_y,face_width,face_height,"
      "detector,score,yaw_asymmetry,roll_deg\n";
  std::vector<RowReject> rejects = table.rejects;
  for (const std::string& r : reject_reasons()) summary.reject_counts[r] = 0;
  for (const char* s : {"train", "val", "test"}) summary.split_counts[s] = 0;
  const std::string detector_name = opt.detector.kind == DetectorKind::YuNet ? "yunet" : opt.detector.text();
  for (const auto& [row, o] : results) {
    const Annotation& a = *by_row.at(row);
    if (!o.kept) {
      rejects.push_back({row, a.file, o.reason, o.detail});
      continue;
    }
    CategoryStats& s = summary.categories[static_cast<std::size_t>(a.expression)];
    ++s.kept;
    s.kept_valence += a.valence;
    s.kept_arousal += a.arousal;
    const std::string split = split_of(opt, a.file);
    ++summary.split_counts[split];
    labels += tools::csv_join({o.file, split, num(a.valence), num(a.arousal), num(s.atlas_z), s.name,
                               std::to_string(row), a.file, std::to_string(a.expression), fixed(o.x, 1), fixed(o.y, 1),
                               fixed(o.w, 1), fixed(o.h, 1), detector_name, num(o.score, 4),
                               o.has_pose ? fixed(o.asymmetry, 3) : "", o.has_pose ? fixed(o.roll, 1) : ""}) +
              "\n";
    ++summary.kept;
  }
  std::sort(rejects.begin(), rejects.end(), [](const RowReject& p, const RowReject& q) { return p.row < q.row; });
  std::string rejects_csv = "row,file,reason,detail\n";
  for (const RowReject& r : rejects) {
    rejects_csv += tools::csv_join({std::to_string(r.row), r.file, r.reason, r.detail}) + "\n";
    ++summary.reject_counts[r.reason];
  }
  summary.rejected = rejects.size();
  for (CategoryStats& s : summary.categories) {
    if (s.annotated > 0) {
      s.annotated_valence /= static_cast<double>(s.annotated);
      s.annotated_arousal /= static_cast<double>(s.annotated);
    }
    if (s.kept > 0) {
      s.kept_valence /= static_cast<double>(s.kept);
      s.kept_arousal /= static_cast<double>(s.kept);
    }
  }

  if (opt.class_weights) write_class_weights(summary, out);
  const nlohmann::ordered_json j = summary_json(summary, opt, min_score);
  circumplex::write_file_atomic((out / "rejects.csv").string(), rejects_csv);
  circumplex::write_file_atomic((out / "summary.json").string(), j.dump(2) + "\n");
  // The journal keeps every valid result, including rows an earlier run processed that this
  // run did not need (another --balance or --seed), so that they are never redone.
  std::map<std::size_t, RowOutcome> all = cached;
  for (const auto& kv : results) all[kv.first] = kv.second;
  journal.compact(all);
  circumplex::write_file_atomic((out / "labels.csv").string(), labels);  // last: its presence means "complete"
  return summary;
}

std::string format_summary(const PrepSummary& s, const PrepOptions& opt) {
  std::string t;
  char buf[512];
  const double rate = s.seconds > 0 ? static_cast<double>(s.processed) / s.seconds : 0.0;
  std::snprintf(buf, sizeof buf, "%zu rows read, %zu images kept, %zu rows rejected", s.data_rows, s.kept, s.rejected);
  t += buf;
  if (s.not_needed > 0) {
    std::snprintf(buf, sizeof buf, ", %zu not needed for --balance %zu", s.not_needed, opt.balance);
    t += buf;
  }
  std::snprintf(buf, sizeof buf, "\n%zu rows processed in %.1f s (%.1f img/s), %zu resumed from the journal\n\n",
                s.processed, s.seconds, rate, s.resumed);
  t += buf;
  t += "category    code  annotated   kept  AffectNet mean v, a   kept mean v, a       atlas v, a";
  t += opt.class_weights ? "      weight\n" : "\n";
  for (const CategoryStats& c : s.categories) {
    std::string am = "      -", km = "      -", at = "      -";
    if (c.annotated > 0) am = fixed(c.annotated_valence, 3) + ", " + fixed(c.annotated_arousal, 3);
    if (c.kept > 0) km = fixed(c.kept_valence, 3) + ", " + fixed(c.kept_arousal, 3);
    if (c.in_atlas) at = fixed(c.atlas_valence, 2) + ", " + fixed(c.atlas_arousal, 2);
    std::snprintf(buf, sizeof buf, "%-10s %5d %10zu %6zu  %-20s  %-20s %-14s", c.name.c_str(), c.code, c.annotated,
                  c.kept, am.c_str(), km.c_str(), at.c_str());
    t += buf;
    if (opt.class_weights) t += "  " + fixed(c.class_weight, 4);
    t += "\n";
  }
  t += "\nrejected rows by reason:";
  bool any = false;
  for (const std::string& r : reject_reasons()) {
    const auto it = s.reject_counts.find(r);
    if (it == s.reject_counts.end() || it->second == 0) continue;
    t += (any ? ", " : " ") + r + " " + std::to_string(it->second);
    any = true;
  }
  t += any ? "\n" : " none\n";
  std::snprintf(buf, sizeof buf, "splits: train %zu, val %zu, test %zu\n",
                s.split_counts.count("train") ? s.split_counts.at("train") : 0,
                s.split_counts.count("val") ? s.split_counts.at("val") : 0,
                s.split_counts.count("test") ? s.split_counts.at("test") : 0);
  t += buf;
  if (!s.short_categories.empty()) {
    t += "warning: fewer than " + std::to_string(opt.balance) + " usable images for:";
    for (const std::string& c : s.short_categories) t += " " + c;
    t += "\n";
  }
  return t;
}

}  // namespace circumplex::prep
