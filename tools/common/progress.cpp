#include "progress.hpp"

#include <cstdio>
#include <unistd.h>

namespace circumplex::tools {
namespace {
std::string clock_text(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  return buf;
}
}  // namespace

Progress::Progress(std::string label, std::uint64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total > 0 ? total : 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_), tty_(isatty(fileno(stderr)) != 0) {
  std::lock_guard<std::mutex> lock(mutex_);
  draw(false);
}

Progress::~Progress() { finish(); }

double Progress::rate() const {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return secs > 0 ? static_cast<double>(done_.load()) / secs : 0.0;
}

void Progress::advance(std::uint64_t n) {
  done_ += n;
  const auto now = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || finished_) return;
  if (tty_ && now - last_draw_ < std::chrono::milliseconds(100) && done_.load() < total_) return;
  last_draw_ = now;
  draw(false);
}

void Progress::set_note(const std::string& note) {
  std::lock_guard<std::mutex> lock(mutex_);
  note_ = note;
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final_line) {
  const std::uint64_t done = std::min(done_.load(), total_);
  const double frac = static_cast<double>(done) / static_cast<double>(total_);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double r = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  const double eta = r > 0 ? static_cast<double>(total_ - done) / r : -1.0;
  if (!tty_ && !final_line) {  // logs: one line per 10 %
    const int decile = static_cast<int>(frac * 10);
    if (decile == last_decile_) return;
    last_decile_ = decile;
  }
  constexpr int kWidth = 28;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "%s%s [%s] %3.0f%% %llu/%llu %s  %.1f %s/s  %s %s%s%s", tty_ ? "\r\033[K" : "", label_.c_str(),
               bar.c_str(), frac * 100, static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(total_), unit_.c_str(), r, unit_.c_str(),
               final_line ? "took" : "ETA", clock_text(final_line ? secs : eta).c_str(),
               note_.empty() ? "" : "  ", note_.c_str());
  if (!tty_ || final_line) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace circumplex::tools
