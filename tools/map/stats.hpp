// tools/map/stats.hpp — the statistics of mapping the manifold: which directions of a
// latent space carry valence, arousal and z, and how well.
//
// Pure C++17 over plain doubles (no LibTorch, no Eigen). Samples are rows, features columns.
// Sizes meant: up to ~256 latent dimensions and ~50k samples. Every public function rejects
// NaN/Inf and mismatched sizes with circumplex::Error (ErrorKind::InvalidArgument) whose
// message names the argument. Everything is deterministic: splits and folds are the same for
// a seed on every platform (own RNG, no std::shuffle or std distributions), and a build gives
// the same numbers for the same input on every run.
//
// Definitions:
//   Ridge      minimises (1/n)·Σ (y_i − b − x_i·w)² + λ‖w‖²: features centred, intercept b
//              not penalised. λ is per sample, so a grid means the same at any n. With
//              standardize, the penalty is on the coefficients of the z-scored features
//              (λ scale-free); the reported w is always in the original feature units, and
//              a constant feature gets w = 0. Solved by Cholesky of (XᶜᵀXᶜ/n + λI) (the
//              correlation matrix + λI when standardising); λ > 0 bounds its condition number
//              by (μ_max + λ)/λ, μ_max its largest eigenvalue, so forming the normal equations
//              costs little accuracy on the default grid. CV: k folds from a seeded
//              permutation (the sample at permuted position p goes to fold p mod k); each
//              fold's sums are subtracted from the total, so CV costs one pass over the data
//              plus k·|grid| d × d solves. The score per λ is the held-out MSE pooled over
//              all n samples; the smallest score wins, ties go to the larger λ.
//   Directions d_i = w_i/‖w_i‖. Gram–Schmidt in the given order (valence, arousal, z):
//              modified GS run twice ("twice is enough"), so |cos| after is ~1e-16.
//   Scales     scale_i = 1/‖w_i‖: latent distance along d_i that changes the fit's
//              prediction by 1 unit of affect. After Gram–Schmidt, u_i moves prediction i by
//              w_i·u_i per unit length, so scale_orthogonal_i = 1/(w_i·u_i) ≥ scale_i; moving
//              along u_i leaves the predictions of every earlier factor unchanged.
//   R²         1 − Σ(y − ŷ)²/Σ(y − ȳ)², ȳ the mean of the true values being scored.
//   MIG        (Chen et al. 2018) per factor k: I(z_j; v_k) for each latent dimension j from
//              a histogram estimate after discretising z_j into B bins (default 20,
//              equal-width between the column's min and max by default; equal-frequency by
//              option); a continuous factor is binned the same way, a categorical one (whole
//              numbers) is used as is. gap_k = (I_(1) − I_(2)) / H(v_k), the two largest MIs;
//              MIG = mean over factors. Plug-in estimates in nats; their upward bias is
//              ≈ (B−1)(C−1)/(2n), C the factor's bins or categories, so keep n ≫ B·C.
//              Equal-width bins follow the data's scale but an outlier squeezes the rest
//              into few bins; equal-frequency bins are robust to that.
//   Logistic   multinomial softmax, loss (1/n)·Σ −log p(y_i | x_i) + (λ/2)‖W‖² (biases not
//              penalised), on features z-scored with the training set's mean and standard
//              deviation; minimised by full-batch L-BFGS with a backtracking (Armijo) line
//              search from W = 0. Deterministic.
//   Quadrant   Q1: v ≥ 0, a ≥ 0 (class 0); Q2: v < 0, a ≥ 0 (1); Q3: v < 0, a < 0 (2);
//              Q4: v ≥ 0, a < 0 (3).
// Thread use: all functions are pure; safe from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace circumplex::stats {

/// A dense row-major matrix of doubles; in this module rows are samples, columns features.
class Matrix {
 public:
  Matrix() = default;
  /// rows × cols, every entry `fill`.
  Matrix(std::size_t rows, std::size_t cols, double fill = 0.0);
  /// Copies rows of equal length (throws Error naming `rows` when they are ragged).
  static Matrix from_rows(const std::vector<std::vector<double>>& rows);

  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  double& operator()(std::size_t r, std::size_t c) { return data_[r * cols_ + c]; }
  double operator()(std::size_t r, std::size_t c) const { return data_[r * cols_ + c]; }
  /// Start of row r (cols() values).
  double* row(std::size_t r) { return data_.data() + r * cols_; }
  const double* row(std::size_t r) const { return data_.data() + r * cols_; }
  /// Column c copied out.
  std::vector<double> column(std::size_t c) const;
  const std::vector<double>& data() const { return data_; }

 private:
  std::size_t rows_ = 0, cols_ = 0;
  std::vector<double> data_;
};

// ---- splits -------------------------------------------------------------------------------

/// A permutation of 0 … n−1 determined by seed (Fisher–Yates over SplitMix64).
std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed);

/// Train/held-out indices, each sorted ascending; together a partition of 0 … n−1.
struct Split {
  std::vector<std::size_t> train;
  std::vector<std::size_t> held_out;
};

/// Holds out round(held_out_fraction·n) samples (at least 1, at most n−1) chosen by a seeded
/// permutation. n ≥ 2, held_out_fraction in (0, 1).
Split train_test_split(std::size_t n, double held_out_fraction, std::uint64_t seed);

/// Fold of each sample (0 … folds−1) for k-fold CV: sizes differ by at most one. 2 ≤ folds ≤ n.
std::vector<std::size_t> fold_ids(std::size_t n, std::size_t folds, std::uint64_t seed);

/// The rows of m at `indices`, in that order (each index < m.rows()).
Matrix select_rows(const Matrix& m, const std::vector<std::size_t>& indices);
/// The values of v at `indices`, in that order.
std::vector<double> select(const std::vector<double>& v, const std::vector<std::size_t>& indices);
/// The labels at `indices`, in that order.
std::vector<int> select(const std::vector<int>& v, const std::vector<std::size_t>& indices);

// ---- ridge regression ---------------------------------------------------------------------

/// Log grid from lo to hi (both > 0, lo ≤ hi) with `per_decade` points per factor of 10,
/// ends included: default 1e-4 … 1e4 at half decades (17 values).
std::vector<double> log_grid(double lo = 1e-4, double hi = 1e4, std::size_t per_decade = 2);

/// How ridge_cv searches λ.
struct RidgeOptions {
  std::vector<double> lambdas = log_grid();  ///< candidates, each finite and ≥ 0; not empty
  std::size_t folds = 5;                     ///< k of k-fold CV, 2 … n
  std::uint64_t seed = 0;                    ///< fold assignment seed
  bool standardize = false;                  ///< penalise z-scored coefficients (see top)
};

/// A fitted ridge model y ≈ x·w + b, with its cross-validation record when it has one.
struct RidgeFit {
  std::vector<double> weights;  ///< w, in the original feature units
  double intercept = 0.0;       ///< b
  double lambda = 0.0;          ///< the λ used for w and b
  bool standardized = false;    ///< whether the penalty was on z-scored coefficients
  std::vector<double> lambdas;  ///< ridge_cv: the candidates, in the order given
  std::vector<double> cv_mse;   ///< ridge_cv: held-out MSE per candidate (pooled over folds)
};

/// Fits ridge with one λ ≥ 0 on all rows of X (n ≥ 2). Throws Error when λ = 0 and the
/// centred normal equations are singular.
RidgeFit ridge_fit(const Matrix& X, const std::vector<double>& y, double lambda,
                   bool standardize = false);

/// Chooses λ by k-fold CV (lowest held-out MSE; ties to the larger λ), then refits on all rows.
RidgeFit ridge_cv(const Matrix& X, const std::vector<double>& y, const RidgeOptions& options = {});

/// x·w + b for each row of X (X.cols() must match the fit).
std::vector<double> predict(const RidgeFit& fit, const Matrix& X);

/// Coefficient of determination 1 − SS_res/SS_tot on (held-out) data; ≤ 1, may be negative.
/// Throws Error when y_true has fewer than 2 values or is constant (R² undefined).
double r2_score(const std::vector<double>& y_true, const std::vector<double>& y_pred);

// ---- directions ---------------------------------------------------------------------------

/// Euclidean dot product of equal-length vectors.
double dot(const std::vector<double>& a, const std::vector<double>& b);
/// Euclidean norm.
double norm(const std::vector<double>& v);
/// v/‖v‖; throws Error for a zero vector.
std::vector<double> normalized(const std::vector<double>& v);
/// a·b/(‖a‖‖b‖); throws Error for a zero vector.
double cosine(const std::vector<double>& a, const std::vector<double>& b);
/// k × k matrix of pairwise cosines (1 on the diagonal).
Matrix cosine_matrix(const std::vector<std::vector<double>>& vectors);

/// Orthonormalises `vectors` in order (modified Gram–Schmidt, two passes): the first is only
/// normalised, the k-th spans the same space with the first k−1 as the input's first k.
/// Throws Error when a vector is (numerically) in the span of the ones before it.
std::vector<std::vector<double>> gram_schmidt(const std::vector<std::vector<double>>& vectors);

/// Latent directions of the affect axes, from ridge coefficients given in order.
struct Directions {
  std::vector<std::vector<double>> unit;         ///< d_i = w_i/‖w_i‖ (before Gram–Schmidt)
  std::vector<std::vector<double>> orthonormal;  ///< u_i after Gram–Schmidt in the given order
  Matrix cos_before;                             ///< cos(d_i, d_j)
  Matrix cos_after;                              ///< cos(u_i, u_j) (identity to ~1e-16)
  std::vector<double> scales;             ///< 1/‖w_i‖: distance along d_i per unit affect
  std::vector<double> scales_orthogonal;  ///< 1/(w_i·u_i): distance along u_i per unit
};

/// Directions, cosines and scales for coefficient vectors in order (e.g. valence, arousal, z).
Directions map_directions(const std::vector<std::vector<double>>& coefficients);

// ---- mutual information gap ---------------------------------------------------------------

/// How a continuous column is cut into bins.
enum class Binning {
  EqualWidth,      ///< B equal bins between the column's min and max (max in the last bin)
  EqualFrequency,  ///< bin ⌊B·r/n⌋, r = how many values lie below: ties share a bin
};

/// Whether a factor column is binned (continuous) or taken as is (categorical, whole numbers).
enum class FactorKind { Continuous, Categorical };

/// Settings for the MIG.
struct MigOptions {
  std::size_t bins = 20;  ///< B, for latents and continuous factors (≥ 2)
  Binning binning = Binning::EqualWidth;
  std::size_t top = 3;  ///< how many top latent dimensions to report per factor
};

/// One latent dimension's mutual information with a factor.
struct LatentMi {
  std::size_t dim = 0;  ///< latent dimension (column of the latents)
  double mi = 0.0;      ///< I(z_dim; factor), nats
};

/// One factor's part of the MIG.
struct FactorMig {
  double entropy = 0.0;       ///< H(factor) after discretisation, nats (> 0)
  double gap = 0.0;           ///< (I_(1) − I_(2)) / H; with a single latent, I_(1)/H
  std::vector<LatentMi> top;  ///< the highest-MI latent dimensions, best first
};

/// The MIG over all factors.
struct MigResult {
  double mig = 0.0;                ///< mean of the factors' gaps
  std::vector<FactorMig> factors;  ///< per factor, in column order
  Matrix mi;                       ///< latent dims × factors, I(z_j; v_k) in nats
};

/// Bin index (0 … bins−1) of each value; a constant column is all bin 0.
std::vector<std::size_t> discretize(const std::vector<double>& x, std::size_t bins,
                                    Binning binning = Binning::EqualWidth);
/// Plug-in entropy of labels, nats.
double entropy(const std::vector<std::size_t>& labels);
/// Plug-in mutual information of two equal-length label sequences, nats.
double mutual_information(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b);

/// MIG of latents (n × d) against factors (n × K) of the given kinds (K entries). Throws
/// Error naming the factor when one is constant (entropy 0).
MigResult mutual_information_gap(const Matrix& latents, const Matrix& factors,
                                 const std::vector<FactorKind>& kinds,
                                 const MigOptions& options = {});

// ---- logistic regression and quadrant accuracy --------------------------------------------

/// Training settings for logistic_fit.
struct LogisticOptions {
  double l2 = 1e-3;                  ///< λ of (λ/2)‖W‖² on standardised features (≥ 0)
  std::size_t max_iterations = 500;  ///< L-BFGS iterations (≥ 1)
  double tolerance = 1e-7;           ///< stop when the gradient's largest entry is below this
  std::size_t memory = 10;           ///< L-BFGS history pairs (≥ 1)
};

/// A multinomial logistic model on standardised features.
struct LogisticModel {
  std::size_t classes = 0;
  std::vector<double> mean, scale;  ///< standardisation: x' = (x − mean)/scale per feature
  Matrix weights;                   ///< classes × features, on standardised features
  std::vector<double> bias;         ///< per class
  std::size_t iterations = 0;       ///< L-BFGS iterations run
  bool converged = false;           ///< gradient tolerance reached
  double loss = 0.0;                ///< final regularised training loss
};

/// Fits on rows of X with labels in 0 … classes−1 (classes ≥ 2, n ≥ 1).
LogisticModel logistic_fit(const Matrix& X, const std::vector<int>& labels, std::size_t classes,
                           const LogisticOptions& options = {});
/// Class probabilities, n × classes.
Matrix predict_proba(const LogisticModel& model, const Matrix& X);
/// Most probable class per row (lowest index on ties).
std::vector<int> predict_class(const LogisticModel& model, const Matrix& X);

/// Accuracy and confusion matrix of predicted against true labels.
struct Classification {
  double accuracy = 0.0;                            ///< fraction correct
  std::vector<std::vector<std::size_t>> confusion;  ///< [true][predicted] counts
};

/// Scores predictions against truth, labels in 0 … classes−1 (n ≥ 1).
Classification classification_report(const std::vector<int>& truth,
                                     const std::vector<int>& predicted, std::size_t classes);

/// Quadrant class of (v, a): 0 … 3 for Q1 … Q4 (see top).
int quadrant(double valence, double arousal);
/// Quadrant class of each (v_i, a_i).
std::vector<int> quadrants(const std::vector<double>& valence, const std::vector<double>& arousal);

/// Quadrant accuracy: the model trained on split.train and scored on split.held_out.
struct QuadrantResult {
  LogisticModel model;
  Classification held_out;  ///< accuracy and 4 × 4 confusion on the held-out rows
};

/// Trains softmax regression z → quadrant of (v, a) on split.train, scores on split.held_out.
QuadrantResult quadrant_accuracy(const Matrix& z, const std::vector<double>& valence,
                                 const std::vector<double>& arousal, const Split& split,
                                 const LogisticOptions& options = {});


}  // namespace circumplex::stats
