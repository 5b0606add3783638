// tests/test_skip.hpp — CIRCUMPLEX_SKIP(reason): ends the current test case as skipped.
// Use it only where the machine lacks what the case needs (a GPU, a display); CTest then
// reports the case as skipped, not passed (test_main.cpp).
#pragma once

#include <string>

namespace circumplex::test {
void record_skip(const std::string& reason);
}  // namespace circumplex::test

#define CIRCUMPLEX_SKIP(reason)                     \
  do {                                              \
    ::circumplex::test::record_skip(reason);        \
    return;                                         \
  } while (false)
