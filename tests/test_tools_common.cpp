// tools/common: the CSV reader and writer, atomic file writes.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "common/csv.hpp"
#include "circumplex/files.hpp"

using namespace circumplex;
using namespace circumplex::tools;

TEST_CASE("CSV reader handles quotes - doubled quotes - CRLF - embedded newlines and blank lines") {
  const std::string text = "\xEF\xBB\xBFname,value\r\n\"a, b\",\"say \"\"hi\"\"\"\n\n\"two\nlines\",3\nlast,\n";
  CsvReader csv(text, "t.csv");
  std::vector<std::string> row;
  REQUIRE(csv.next(row));
  CHECK(row == std::vector<std::string>{"name", "value"});
  CHECK(csv.line() == 1);
  REQUIRE(csv.next(row));
  CHECK(row == std::vector<std::string>{"a, b", "say \"hi\""});
  CHECK(csv.line() == 2);
  REQUIRE(csv.next(row));
  CHECK(row == std::vector<std::string>{"two\nlines", "3"});
  CHECK(csv.line() == 4);
  REQUIRE(csv.next(row));
  CHECK(row == std::vector<std::string>{"last", ""});
  CHECK(csv.line() == 6);
  CHECK_FALSE(csv.next(row));
}

TEST_CASE("CSV reader names the line of a malformed record") {
  std::vector<std::string> row;
  CsvReader bad1("ok,1\nab\"c,2\n", "f.csv");
  CHECK(bad1.next(row));
  CHECK_THROWS_WITH_AS(bad1.next(row), doctest::Contains("f.csv: line 2"), Error);
  CsvReader bad2("\"open,1\n", "g.csv");
  CHECK_THROWS_WITH_AS(bad2.next(row), doctest::Contains("unterminated"), Error);
  CsvReader bad3("\"x\"y,1\n", "h.csv");
  CHECK_THROWS_WITH_AS(bad3.next(row), doctest::Contains("after a closing quote"), Error);
}

TEST_CASE("csv_join round-trips through the reader") {
  const std::vector<std::string> fields = {"plain", "with,comma", "with \"quote\"", "new\nline", ""};
  const std::string line = csv_join(fields) + "\n";
  CsvReader csv(line, "x");
  std::vector<std::string> row;
  REQUIRE(csv.next(row));
  CHECK(row == fields);
}

TEST_CASE("write_file_atomic writes whole files and reports unwritable paths") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(CIRCUMPLEX_BINARY_DIR) / "test-output" / "atomic";
  fs::remove_all(dir);
  write_file_atomic((dir / "sub" / "a.txt").string(), "hello");
  CHECK(read_text_file((dir / "sub" / "a.txt").string()) == "hello");
  write_file_atomic((dir / "sub" / "a.txt").string(), "replaced");
  CHECK(read_text_file((dir / "sub" / "a.txt").string()) == "replaced");
  int leftovers = 0;
  for (const auto& e : fs::directory_iterator(dir / "sub")) leftovers += e.path().filename().string().find(".partial") != std::string::npos;
  CHECK(leftovers == 0);
  CHECK_THROWS_WITH_AS(write_file_atomic("/proc/circumplex-no/x.txt", "x"), doctest::Contains("/proc/circumplex-no/x.txt"), Error);
}
