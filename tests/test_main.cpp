// The doctest main of every suite, with one addition: a test case that cannot run on this
// machine (no GPU, no display) calls CIRCUMPLEX_SKIP(reason) (test_skip.hpp), and when every
// case that ran was skipped the process exits 77, which CTest reports as "Not Run (skipped)"
// (SKIP_RETURN_CODE in tests/CMakeLists.txt) instead of "Passed".
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>

#include "test_skip.hpp"

namespace circumplex::test {

std::atomic<int> g_skipped{0};

void record_skip(const std::string& reason) {
  ++g_skipped;
  std::printf("SKIPPED: %s\n", reason.c_str());
  std::fflush(stdout);
}

namespace {
std::atomic<int> g_cases{0};

// Counts the test cases that start (subcases re-enter; they are not counted again).
struct CaseCounter : doctest::IReporter {
  explicit CaseCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++g_cases; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
}  // namespace

}  // namespace circumplex::test

DOCTEST_REGISTER_LISTENER("circumplex-case-counter", 1, circumplex::test::CaseCounter);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit()) return rc;
  using namespace circumplex::test;
  if (rc == 0 && g_cases > 0 && g_skipped >= g_cases) return 77;
  return rc;
}
