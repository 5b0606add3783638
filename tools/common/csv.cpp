#include "csv.hpp"

#include "circumplex/error.hpp"

namespace circumplex::tools {

CsvReader::CsvReader(std::string_view text, std::string origin) : text_(text), origin_(std::move(origin)) {
  if (text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte order mark
}

bool CsvReader::next(std::vector<std::string>& fields) {
  while (true) {
    fields.clear();
    if (pos_ >= text_.size()) return false;
    record_line_ = line_;
    std::string field;
    bool quoted = false, was_quoted = false, any = false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (quoted) {
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            field += '"';
            ++pos_;
          } else {
            quoted = false;
          }
        } else {
          if (c == '\n') ++line_;
          field += c;
        }
        continue;
      }
      if (c == '"') {
        if (!field.empty() || was_quoted) {
          throw Error(ErrorKind::BadData, origin_ + ": line " + std::to_string(record_line_) +
                                              ": a quote inside an unquoted field");
        }
        quoted = was_quoted = any = true;
      } else if (c == ',') {
        fields.push_back(std::move(field));
        field.clear();
        was_quoted = false;
        any = true;
      } else if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') {
        continue;
      } else if (c == '\n') {
        ++line_;
        break;
      } else {
        if (was_quoted) {
          throw Error(ErrorKind::BadData, origin_ + ": line " + std::to_string(record_line_) +
                                              ": text after a closing quote");
        }
        field += c;
        any = true;
      }
    }
    if (quoted) {
      throw Error(ErrorKind::BadData, origin_ + ": line " + std::to_string(record_line_) + ": unterminated quoted field");
    }
    if (!any && field.empty()) continue;  // blank line
    fields.push_back(std::move(field));
    return true;
  }
}

std::string csv_escape(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_join(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_escape(fields[i]);
  }
  return out;
}

}  // namespace circumplex::tools
