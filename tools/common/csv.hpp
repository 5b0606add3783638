// tools/common/csv.hpp — RFC 4180 CSV records: quoted fields, doubled quotes, CRLF, and
// newlines inside quotes. One reader and one escaper for every CSV the tools read or write.
//
//   CsvReader csv(text, "labels.csv");
//   std::vector<std::string> row;
//   while (csv.next(row)) { use(row, csv.line()); }   // line() = where the record started
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace circumplex::tools {

class CsvReader {
 public:
  /// Reads records from `text`; `origin` names it in errors. The text must outlive the reader.
  CsvReader(std::string_view text, std::string origin);
  /// Fills `fields` with the next record; false at the end. A malformed record (a stray
  /// quote, an unterminated quoted field) throws circumplex::Error naming origin and line.
  /// Blank lines are skipped.
  bool next(std::vector<std::string>& fields);
  /// 1-based line on which the last record returned by next() started.
  std::size_t line() const { return record_line_; }
  const std::string& origin() const { return origin_; }

 private:
  std::string_view text_;
  std::string origin_;
  std::size_t pos_ = 0, line_ = 1, record_line_ = 0;
};

/// The field quoted when it holds a comma, quote, CR or LF (quotes doubled); else as is.
std::string csv_escape(std::string_view field);
/// Joins fields into one CSV line (no trailing newline), escaping each.
std::string csv_join(const std::vector<std::string>& fields);

}  // namespace circumplex::tools
