// tools/common/progress.hpp — a terminal progress bar with rate and ETA for long jobs.
//
//   Progress bar("synth", total, "img");
//   for (...) { work(); bar.advance(); }   // thread-safe; redraws at most ~10 times a second
//   bar.finish();                           // final line with count, time and mean rate
// On a terminal it redraws one line (\r); otherwise (logs, CI) it prints a line every 10 %.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace circumplex::tools {

class Progress {
 public:
  /// `label` names the job, `total` the number of units (> 0), `unit` their name ("img").
  Progress(std::string label, std::uint64_t total, std::string unit);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Adds `n` finished units. Any thread.
  void advance(std::uint64_t n = 1);
  /// Sets extra text shown after the rate (e.g. loss terms). Any thread.
  void set_note(const std::string& note);
  /// Prints the final line (idempotent; the destructor calls it).
  void finish();
  /// Units done so far.
  std::uint64_t done() const { return done_.load(); }
  /// Mean rate so far, units per second.
  double rate() const;

 private:
  void draw(bool final_line);

  std::string label_, unit_, note_;
  std::uint64_t total_;
  std::atomic<std::uint64_t> done_{0};
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mutex_;
  bool tty_, finished_ = false;
  int last_decile_ = -1;
};

}  // namespace circumplex::tools
