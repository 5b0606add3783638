// tools/judge/judge_metrics.hpp — the numbers `circumplex evaluate` reports about what the
// judge saw, as pure functions over plain doubles (no LibTorch), so tests can check them on
// constructed inputs.
//
// Definitions:
//   Identity drift   predictions p[k][i][f]: identity k (K ≥ 2), face i of that identity's
//                    grid (n_k ≥ 1), identity factor f (standardised units; any units work,
//                    the ratio is scale-free). For each factor:
//                      within_f  = mean over k of std_i p[k][i][f]   (population std, 1/n)
//                      between_f = std over k of mean_i p[k][i][f]   (population std, 1/K)
//                      drift_f   = within_f / between_f
//                    drift = mean of drift_f over the factors with between_f > 1e-9 (a factor
//                    on which the identities do not differ is left out). 0: every identity's
//                    face reads the same at every affect point; 1: changing the expression
//                    moves the identity reading as much as changing the person does.
//   Monotonicity     values s_0 … s_{n−1} of a sweep in order (neutral → emotion): the
//                    fraction of the n−1 consecutive steps with s_{i+1} ≥ s_i (does not
//                    decrease), and Spearman's ρ between the step index and s (ranks with
//                    ties averaged; 0 for a constant sweep).
//   PSNR             10·log10(1 / MSE), MSE over all pixels and channels in [0, 1].
//   Jackknife SE     θ₍ₖ₎ the figure computed without unit k (n ≥ 2 units, e.g. the people of a
//                    ground-truth evaluation), θ̄ their mean: SE = sqrt((n−1)/n · Σₖ (θ₍ₖ₎ − θ̄)²).
//                    For a mean it is the sample standard deviation / √n; it also serves
//                    ratios and pooled figures, where no formula is at hand.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace circumplex::tools {

/// Identity drift and its parts (see the file comment).
struct DriftResult {
  double drift = 0.0;                ///< mean of per_factor over the factors used
  std::vector<double> per_factor;    ///< drift_f per factor (NaN where left out)
  std::vector<double> within, between;  ///< within_f and between_f per factor
  std::vector<std::size_t> used;     ///< factors that entered the mean
};

/// predictions[k][i][f]. Throws circumplex::Error (InvalidArgument) for fewer than 2
/// identities, an identity without faces, ragged factor counts, non-finite values, or when
/// no factor differs between identities.
DriftResult identity_drift(const std::vector<std::vector<std::vector<double>>>& predictions);

/// Fraction of consecutive steps that do not decrease (n ≥ 2 values).
double monotone_fraction(const std::vector<double>& values);
/// Ranks 1 … n with ties given their mean rank.
std::vector<double> ranks(const std::vector<double>& values);
/// Spearman's rank correlation of x and y (equal sizes ≥ 2); 0 when either is constant.
double spearman(const std::vector<double>& x, const std::vector<double>& y);
/// Spearman's ρ of the step index 0 … n−1 against `values`.
double sweep_spearman(const std::vector<double>& values);

/// PSNR in dB of a mean squared error on [0, 1] pixels (capped at 99 dB for MSE ≈ 0).
double psnr_db(double mse);

/// The jackknife standard error from the leave-one-out values θ₍ₖ₎ (see the file comment).
/// NaN when fewer than 2 values are given or any is not finite.
double jackknife_se(const std::vector<double>& leave_one_out);

}  // namespace circumplex::tools
