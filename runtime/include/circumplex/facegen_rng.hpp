// circumplex/facegen_rng.hpp — a small deterministic random generator (SplitMix64) of the procedural faces.
//
// The face generator and `circumplex synth` draw every random number from this generator so
// that outputs depend only on the seeds given, on every platform and standard library
// (std::*_distribution are implementation-defined; this is not).
#pragma once

#include <cmath>
#include <cstdint>

namespace circumplex::facegen {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  /// Next 64 random bits (SplitMix64, Steele, Lea & Flood 2014).
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n).
  int below(int n) { return static_cast<int>(uniform() * n); }
  /// Standard normal (Box–Muller).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  /// True with probability p.
  bool chance(double p) { return uniform() < p; }

 private:
  std::uint64_t state_;
};

/// Mixes a seed with a stream number into an independent seed (for per-sample streams).
inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream) {
  Rng r(seed ^ (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull));
  r.next();
  return r.next();
}

}  // namespace circumplex::facegen
