// tools/prep/affectnet.hpp — reading AffectNet's manual-annotation CSV, row by row.
//
// AffectNet's header is
//   subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal
// facial_landmarks is a quoted ';'-separated list of 68 x;y numbers (136 numbers), expression is
// 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger, 7 contempt, 8 none,
// 9 uncertain, 10 no-face, and valence/arousal are in [-1, 1] (AffectNet writes -2 for missing).
//
// The reader never gives up on a bad row: each physical line is one record (AffectNet has no
// newlines inside fields), parsed on its own, so a malformed line (a stray quote, a wrong column
// count, a missing or out-of-range label) becomes a RowReject naming its line and the rest of
// the file is still read. Columns are found by header name (any order, any case); a file
// without a header must have AffectNet's nine columns in AffectNet's order (validation.csv
// ships that way in some copies). Only a file with neither is an error.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace circumplex::prep {

/// AffectNet's expression codes: 0 … 10.
constexpr int kExpressionCodes = 11;
/// The codes that are emotions (0 … 7); 8 none, 9 uncertain, 10 no-face are excluded by default.
constexpr int kEmotionCodes = 8;

/// The category name for an AffectNet expression code: the atlas names neutral, happy, sad,
/// surprised, fearful, disgusted, angry, contempt for 0 … 7, and "other" (AffectNet's "None":
/// none of the eight), "uncertain", "no-face" for 8 … 10. "other" rather than "none" because
/// the atlas accepts "none" as an alias of neutral. nullptr outside 0 … 10.
const char* category_name(int code);

/// Reasons a row is rejected while the CSV is read.
namespace reject {
inline constexpr const char* kBadRow = "bad_row";                      ///< malformed record or wrong column count
inline constexpr const char* kBadPath = "bad_path";                    ///< empty, absolute or '..' image path
inline constexpr const char* kBadExpression = "bad_expression";        ///< expression not an integer 0 … 10
inline constexpr const char* kExcludedCategory = "excluded_category";  ///< 8 … 10 without --keep-uncertain
inline constexpr const char* kMissingLabel = "missing_label";  ///< valence/arousal empty, NaN or outside [-1, 1]
}  // namespace reject

/// One usable annotation.
struct Annotation {
  std::size_t row = 0;   ///< 1-based line of the CSV where the record starts (the header is line 1)
  std::string file;      ///< subDirectory_filePath as written (relative to the images folder)
  int expression = -1;   ///< 0 … 10
  double valence = 0.0;  ///< [-1, 1]
  double arousal = 0.0;  ///< [-1, 1]
  bool has_box = false;  ///< face_x … face_height present, finite and of positive size
  double box_x = 0, box_y = 0, box_w = 0, box_h = 0;
  std::vector<float> landmarks;  ///< 136 numbers (x0 y0 x1 y1 …) or empty when absent/malformed
};

/// A row the reader (or, later, the pipeline) could not use.
struct RowReject {
  std::size_t row = 0;
  std::string file;    ///< the image path when the row got that far, else empty
  std::string reason;  ///< one of the reject reasons (see reject:: and the pipeline's)
  std::string detail;  ///< a short explanation for people
};

/// The whole CSV, split into usable annotations and rejected rows (each sorted by row).
struct AnnotationTable {
  std::vector<Annotation> rows;
  std::vector<RowReject> rejects;
  std::size_t data_rows = 0;  ///< records read, the header excluded
  bool had_header = false;
};

/// Reads AffectNet-shaped CSV text. `origin` names it in errors. Rows of codes 8 … 10 are
/// rejected as excluded_category unless `keep_uncertain`. Throws circumplex::Error(BadData)
/// only when the file has neither a usable header nor AffectNet's nine columns.
AnnotationTable read_affectnet_csv(std::string_view text, const std::string& origin, bool keep_uncertain);

/// AffectNet's column names in AffectNet's order (for writing fixtures and for messages).
const std::vector<std::string>& affectnet_columns();

}  // namespace circumplex::prep
