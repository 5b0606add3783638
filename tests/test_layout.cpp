// The dependency rule of README's layout, read from the source: tools/, renderer/ and
// plugin/ build on runtime/; runtime/ includes nothing of theirs, and neither plugin/ nor
// renderer/ includes anything of tools/ (the offline pipeline).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot(CIRCUMPLEX_SOURCE_DIR);

// The folders a quoted include is looked up in (each target's include directories).
const std::vector<fs::path> kIncludeRoots = {
    kRoot / "runtime/include", kRoot / "renderer/include", kRoot / "renderer/src", kRoot / "plugin/include",
    kRoot / "plugin/src",      kRoot / "tools",            kRoot / "shaders"};

bool is_source(const fs::path& p) {
  const std::string e = p.extension().string();
  return e == ".cpp" || e == ".hpp" || e == ".h" || e == ".c" || e == ".cu";
}

bool inside(const fs::path& p, const fs::path& dir) {
  const std::string a = fs::weakly_canonical(p).string(), b = fs::weakly_canonical(dir).string() + "/";
  return a.rfind(b, 0) == 0;
}

struct Include {
  fs::path from, to;
  int line;
};

// Every quoted #include of the sources under `dir`, resolved as the compiler would: next to
// the file first, then in the include roots. Unresolved ones (generated headers) are skipped.
std::vector<Include> includes_under(const fs::path& dir) {
  static const std::regex quoted(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<Include> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || !is_source(entry.path())) continue;
    std::ifstream in(entry.path());
    std::string text;
    int line = 0;
    while (std::getline(in, text)) {
      ++line;
      std::smatch m;
      if (!std::regex_search(text, m, quoted)) continue;
      std::vector<fs::path> candidates = {entry.path().parent_path() / m[1].str()};
      for (const auto& root : kIncludeRoots) candidates.push_back(root / m[1].str());
      for (const auto& c : candidates) {
        if (fs::exists(c)) {
          out.push_back({entry.path(), c, line});
          break;
        }
      }
    }
  }
  return out;
}

std::vector<std::string> violations(const fs::path& from_dir, const std::vector<fs::path>& forbidden) {
  std::vector<std::string> bad;
  for (const Include& inc : includes_under(from_dir)) {
    for (const auto& f : forbidden) {
      if (inside(inc.to, f)) {
        bad.push_back(fs::relative(inc.from, kRoot).string() + ":" + std::to_string(inc.line) + " includes " +
                      fs::relative(inc.to, kRoot).string());
      }
    }
  }
  return bad;
}

}  // namespace

TEST_CASE("the include scan resolves the project's own includes") {
  // plugin/src/api.cpp includes runtime headers and its own context.hpp: both must resolve,
  // or the rule below would pass by seeing nothing.
  int runtime = 0, local = 0;
  for (const Include& inc : includes_under(kRoot / "plugin/src")) {
    if (inside(inc.to, kRoot / "runtime")) ++runtime;
    if (inside(inc.to, kRoot / "plugin/src")) ++local;
  }
  CHECK(runtime > 5);
  CHECK(local > 2);
  // And a tools file's includes of other tools folders resolve into tools/.
  int tools = 0;
  for (const Include& inc : includes_under(kRoot / "tools/cli")) tools += inside(inc.to, kRoot / "tools") ? 1 : 0;
  CHECK(tools > 5);
}

TEST_CASE("runtime includes nothing of renderer, plugin or tools") {
  const auto bad = violations(kRoot / "runtime", {kRoot / "renderer", kRoot / "plugin", kRoot / "tools"});
  CHECK_MESSAGE(bad.empty(), (bad.empty() ? std::string() : bad.front()));
}

TEST_CASE("plugin and renderer include nothing of tools") {
  for (const char* host : {"plugin", "renderer"}) {
    const auto bad = violations(kRoot / host, {kRoot / "tools"});
    const std::string first = bad.empty() ? std::string() : bad.front();
    CHECK_MESSAGE(bad.empty(), (std::string(host) + ": " + first + " (" + std::to_string(bad.size()) + " in all)"));
  }
}

TEST_CASE("no test case name holds a semicolon (CTest would split it and run nothing under either half)") {
  // doctest_discover_tests registers each case as a CTest list entry: a ';' cuts the name in
  // two, each half matches no case, and doctest then reports success for a test that never ran.
  const std::regex test_case(R"re(TEST_CASE\("([^"]*)"\))re");
  int cases = 0;
  for (const auto& e : fs::directory_iterator(kRoot / "tests")) {
    if (e.path().extension() != ".cpp") continue;
    std::ifstream in(e.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::sregex_iterator it(text.begin(), text.end(), test_case), end; it != end; ++it) {
      ++cases;
      const std::string name = (*it)[1];
      CHECK_MESSAGE(name.find(';') == std::string::npos, e.path().filename().string() << ": \"" << name << "\"");
    }
  }
  CHECK(cases > 100);
}
