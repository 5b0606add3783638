// tools/prep/prep.hpp — `circumplex prep`: the VAE study's AffectNet preprocessing.
//
// For each usable row of the annotation CSV: read the image (missing / corrupt / truncated
// files are rejected), detect the face strictly (circumplex/face_detect.hpp: no face, a detection near but
// not centred in the CSV's face box, low confidence, a face under --min-face px, an extreme
// pose are rejected), cut a square around it with a margin, resize to --size, CLAHE on Lab L
// only, and write OUT/images/<row>.png. Then, optionally, balance by undersampling to N per category (seeded)
// or compute class weights total / (n_classes × count), and write:
//
//   OUT/labels.csv        file,split,valence,arousal,z,category, then source_row,source_file,
//                         expression,face_x,face_y,face_width,face_height,detector,score,
//                         yaw_asymmetry,roll_deg   (one row per image, sorted by source_row)
//   OUT/rejects.csv       row,file,reason,detail   (every rejected row, sorted by row)
//   OUT/summary.json      counts per category / reject reason / split, AffectNet's
//                         per-category mean valence and arousal beside the atlas values
//   OUT/class_weights.json {"class_weights": {category: weight}, "counts", "total",
//                         "n_classes", …} (what `circumplex train --class-weights` reads) and
//   OUT/class_weights.npy one float32 per expression code, 0 where a category has no images
//   OUT/prep_journal.csv  one line per finished row: what makes a rerun resume
//
// file is relative to OUT. z is the category's atlas z (Atlas::builtin().find(name).ball.z,
// i.e. −PAD dominance): AffectNet has no z label; categories outside the atlas (other,
// uncertain, no-face, kept with --keep-uncertain) get z = 0. "row" everywhere is the CSV line
// on which the record starts (the header is line 1).
//
// Resuming: every finished row (kept or rejected) is appended to the journal right after its
// crop is in place (written atomically), so an interrupted run loses at most the rows in
// flight. A rerun with the same settings reads the journal, skips rows whose result is there
// (and whose crop still exists), processes the rest, and regenerates the final files from
// the per-row results, sorted and without duplicates; the journal is then compacted. A rerun
// with different per-row settings (detector, size, margin, CLAHE, min face, min score, pose)
// is refused unless `fresh`. Final files are removed when a run starts and written only when
// it completes, so their presence means "complete".
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "circumplex/face_detect.hpp"

namespace circumplex::prep {

// The detector moved to the runtime (photo identities use it too); prep's names for it stay.
using circumplex::DetectorKind;
using circumplex::DetectorSpec;
using circumplex::PoseMode;
using circumplex::parse_detector;
using circumplex::parse_pose;
using circumplex::pose_name;

struct PrepOptions {
  std::string images_dir;  ///< where subDirectory_filePath is relative to
  std::string csv_path;    ///< AffectNet-shaped annotation CSV
  std::string out_dir;
  DetectorSpec detector;    ///< default haar
  double min_score = -1.0;  ///< < 0: the detector's default (default_min_score)
  int size = 128;           ///< output side in px (16 … 1024)
  double margin = 0.2;      ///< added around the face on each side, as a fraction of its side
  bool clahe = true;
  int min_face = 64;  ///< smallest face side kept, source px
  PoseMode pose = PoseMode::Auto;
  std::size_t balance = 0;  ///< > 0: undersample to this many per category (seeded)
  bool class_weights = false;
  std::string split = "auto";  ///< auto (80/10/10 by a seeded hash of the source file) or train|val|test
  int jobs = 0;                ///< worker threads; 0 = all cores
  std::uint64_t seed = 1;
  bool keep_uncertain = false;  ///< keep codes 8 … 10 (other, uncertain, no-face)
  bool fresh = false;           ///< discard the journal and outputs of an earlier run in out_dir
  bool progress = true;         ///< draw the progress bar on stderr
  std::size_t stop_after = 0;   ///< test hook: stop after this many newly processed rows (0 = off)
};

/// Per-category numbers of a run.
struct CategoryStats {
  int code = 0;
  std::string name;
  std::size_t annotated = 0;                                ///< usable rows in the CSV (labels valid)
  double annotated_valence = 0.0, annotated_arousal = 0.0;  ///< their means: AffectNet's centroid
  std::size_t kept = 0;                                     ///< rows in labels.csv
  double kept_valence = 0.0, kept_arousal = 0.0;
  bool in_atlas = false;
  double atlas_valence = 0.0, atlas_arousal = 0.0, atlas_z = 0.0;
  double class_weight = 0.0;  ///< with --class-weights (0 when the category has no images)
};

struct PrepSummary {
  std::size_t data_rows = 0;                         ///< CSV records (header excluded)
  std::size_t kept = 0;                              ///< rows in labels.csv
  std::size_t rejected = 0;                          ///< rows in rejects.csv
  std::size_t not_needed = 0;                        ///< usable rows --balance never had to process
  std::size_t processed = 0;                         ///< rows processed by this run
  std::size_t resumed = 0;                           ///< rows whose result came from the journal
  double seconds = 0.0;                              ///< time spent processing rows in this run
  std::map<std::string, std::size_t> reject_counts;  ///< every reason, 0 included
  std::map<std::string, std::size_t> split_counts;
  std::vector<CategoryStats> categories;
  std::vector<std::string> short_categories;  ///< --balance: categories with fewer than N
  bool interrupted = false;                   ///< stop_after triggered: no final files written
};

/// Every reject reason, in pipeline order.
const std::vector<std::string>& reject_reasons();

/// Runs the pipeline. Bad rows and bad images are rejected, never fatal; throws
/// circumplex::Error for unusable inputs (no CSV, no images folder, an unreadable header,
/// a missing cascade or model, settings that do not match out_dir's journal) and for
/// output that cannot be written.
PrepSummary run_prep(const PrepOptions& options);

/// The printed summary: per category counts, AffectNet means beside the atlas, reject reasons.
std::string format_summary(const PrepSummary& summary, const PrepOptions& options);

}  // namespace circumplex::prep
