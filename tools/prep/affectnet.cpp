#include "prep/affectnet.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "circumplex/error.hpp"
#include "common/csv.hpp"

namespace circumplex::prep {
namespace {

enum Column { kFile, kFaceX, kFaceY, kFaceW, kFaceH, kLandmarks, kExpression, kValence, kArousal, kColumnCount };

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

/// A finite number filling the whole (trimmed) field, else nullopt. "nan", "inf" → nullopt.
std::optional<double> number(std::string_view field) {
  const std::string text(trimmed(field));
  if (text.empty()) return std::nullopt;
  char* stop = nullptr;
  const double x = std::strtod(text.c_str(), &stop);
  if (*stop != '\0' || !std::isfinite(x)) return std::nullopt;
  return x;
}

/// An integer filling the whole field ("3" or "3.0"), else nullopt.
std::optional<long> integer(std::string_view field) {
  const auto x = number(field);
  if (!x || std::floor(*x) != *x || std::fabs(*x) > 1e9) return std::nullopt;
  return static_cast<long>(*x);
}

/// 136 finite numbers separated by ';' (spaces and a trailing ';' tolerated), else empty.
std::vector<float> parse_landmarks(std::string_view field) {
  std::vector<float> out;
  field = trimmed(field);
  while (!field.empty()) {
    const std::size_t semi = field.find(';');
    const std::string_view part = field.substr(0, semi);
    if (!trimmed(part).empty()) {
      const auto x = number(part);
      if (!x) return {};
      out.push_back(static_cast<float>(*x));
    }
    if (semi == std::string_view::npos) break;
    field.remove_prefix(semi + 1);
  }
  if (out.size() != 136) return {};
  return out;
}

bool safe_relative_path(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.front() == '\\') return false;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find_first_of("/\\", start);
    if (end == std::string::npos) end = p.size();
    if (p.compare(start, end - start, "..") == 0 && end - start == 2) return false;
    start = end + 1;
  }
  return true;
}

std::string format_value(std::string_view field) {
  std::string t(trimmed(field));
  if (t.empty()) return "empty";
  if (t.size() > 24) t = t.substr(0, 24) + "...";
  return "'" + t + "'";
}

}  // namespace

const char* category_name(int code) {
  static const std::array<const char*, kExpressionCodes> names = {"neutral", "happy",     "sad",    "surprised",
                                                                  "fearful", "disgusted", "angry",  "contempt",
                                                                  "other",   "uncertain", "no-face"};
  if (code < 0 || code >= kExpressionCodes) return nullptr;
  return names[static_cast<std::size_t>(code)];
}

const std::vector<std::string>& affectnet_columns() {
  static const std::vector<std::string> cols = {
      "subDirectory_filePath", "face_x",     "face_y",  "face_width", "face_height",
      "facial_landmarks",      "expression", "valence", "arousal"};
  return cols;
}

AnnotationTable read_affectnet_csv(std::string_view text, const std::string& origin, bool keep_uncertain) {
  AnnotationTable table;
  std::array<int, kColumnCount> col{};
  col.fill(-1);
  std::size_t expected_fields = 0;
  bool columns_known = false;

  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::size_t pos = 0, line_no = 0;
  std::vector<std::string> fields;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trimmed(line).empty()) continue;

    // One physical line = one record, parsed alone so a bad line cannot swallow the next.
    std::string parse_error;
    fields.clear();
    try {
      tools::CsvReader reader(line, origin);
      reader.next(fields);
    } catch (const Error& e) {
      parse_error = e.what();
      const std::size_t at = parse_error.find("line 1: ");
      if (at != std::string::npos) parse_error = parse_error.substr(at + 8);
    }

    if (!columns_known) {
      // The first record: a header, or AffectNet's nine columns without one.
      if (parse_error.empty()) {
        bool header = false;
        for (std::size_t i = 0; i < fields.size(); ++i) {
          const std::string name = lower_trimmed(fields[i]);
          for (int c = 0; c < kColumnCount; ++c) {
            if (name == lower_trimmed(affectnet_columns()[static_cast<std::size_t>(c)])) {
              col[static_cast<std::size_t>(c)] = static_cast<int>(i);
              header = true;
            }
          }
        }
        if (header) {
          for (int c : {kFile, kExpression, kValence, kArousal}) {
            if (col[static_cast<std::size_t>(c)] < 0) {
              throw Error(ErrorKind::BadData,
                          origin + ": line " + std::to_string(line_no) + ": the header has no '" +
                              affectnet_columns()[static_cast<std::size_t>(c)] +
                              "' column (AffectNet's columns: subDirectory_filePath, face_x, face_y, "
                              "face_width, face_height, facial_landmarks, expression, valence, arousal)");
            }
          }
          expected_fields = fields.size();
          columns_known = true;
          table.had_header = true;
          continue;
        }
      }
      if (!parse_error.empty() || fields.size() != kColumnCount) {
        throw Error(ErrorKind::BadData,
                    origin + ": line " + std::to_string(line_no) +
                        ": neither AffectNet's header (subDirectory_filePath,face_x,face_y,face_width,face_height,"
                        "facial_landmarks,expression,valence,arousal) nor a row of its nine columns");
      }
      for (int c = 0; c < kColumnCount; ++c) col[static_cast<std::size_t>(c)] = c;
      expected_fields = kColumnCount;
      columns_known = true;
    }

    ++table.data_rows;
    auto field = [&](Column c) -> std::string_view {
      const int i = col[static_cast<std::size_t>(c)];
      return i >= 0 ? std::string_view(fields[static_cast<std::size_t>(i)]) : std::string_view();
    };
    auto fail = [&](const char* reason, std::string file, std::string detail) {
      table.rejects.push_back({line_no, std::move(file), reason, std::move(detail)});
    };
    if (!parse_error.empty()) {
      fail(reject::kBadRow, "", "unreadable record: " + parse_error);
      continue;
    }
    if (fields.size() != expected_fields) {
      fail(reject::kBadRow, fields.empty() ? "" : std::string(trimmed(fields[0])),
           std::to_string(fields.size()) + " columns, expected " + std::to_string(expected_fields));
      continue;
    }
    Annotation a;
    a.row = line_no;
    a.file = std::string(trimmed(field(kFile)));
    if (!safe_relative_path(a.file)) {
      fail(reject::kBadPath, a.file, a.file.empty() ? "no image path" : "the path must stay inside the images folder");
      continue;
    }
    const auto code = integer(field(kExpression));
    if (!code || *code < 0 || *code >= kExpressionCodes) {
      fail(reject::kBadExpression, a.file, "expression " + format_value(field(kExpression)) + " is not a code 0..10");
      continue;
    }
    a.expression = static_cast<int>(*code);
    if (a.expression >= kEmotionCodes && !keep_uncertain) {
      fail(reject::kExcludedCategory, a.file,
           std::string("expression ") + std::to_string(a.expression) + " (" + category_name(a.expression) +
               ") is excluded (--keep-uncertain keeps it)");
      continue;
    }
    const auto v = number(field(kValence));
    const auto ar = number(field(kArousal));
    if (!v || !ar || std::fabs(*v) > 1.0 || std::fabs(*ar) > 1.0) {
      fail(reject::kMissingLabel, a.file,
           "valence " + format_value(field(kValence)) + ", arousal " + format_value(field(kArousal)) +
               " (labels must be numbers in [-1, 1]; AffectNet writes -2 for missing)");
      continue;
    }
    a.valence = *v;
    a.arousal = *ar;
    if (col[kFaceX] >= 0 && col[kFaceY] >= 0 && col[kFaceW] >= 0 && col[kFaceH] >= 0) {
      const auto x = number(field(kFaceX)), y = number(field(kFaceY));
      const auto w = number(field(kFaceW)), h = number(field(kFaceH));
      if (x && y && w && h && *w > 0 && *h > 0) {
        a.has_box = true;
        a.box_x = *x;
        a.box_y = *y;
        a.box_w = *w;
        a.box_h = *h;
      }
    }
    if (col[kLandmarks] >= 0) a.landmarks = parse_landmarks(field(kLandmarks));
    table.rows.push_back(std::move(a));
  }
  if (!columns_known) throw Error(ErrorKind::BadData, origin + ": no rows (an empty annotation file)");
  return table;
}

}  // namespace circumplex::prep
