#include "circumplex/manifold.hpp"

#include <cmath>
#include <string>

#include "circumplex/error.hpp"

namespace circumplex {
namespace {
double dot(const std::vector<double>& d, const float* x) {
  double s = 0;
  for (std::size_t i = 0; i < d.size(); ++i) s += d[i] * static_cast<double>(x[i]);
  return s;
}
}  // namespace

Manifold::Manifold(std::vector<std::vector<double>> directions, std::vector<double> origins, std::vector<double> scales)
    : directions_(std::move(directions)), origins_(std::move(origins)), scales_(std::move(scales)) {
  const std::size_t k = directions_.size();
  if (k != 2 && k != 3) throw Error(ErrorKind::InvalidArgument, "a manifold needs 2 or 3 directions, got " + std::to_string(k));
  if (origins_.size() != k || scales_.size() != k) throw Error(ErrorKind::InvalidArgument, "a manifold needs one origin and one scale per direction");
  const std::size_t d = directions_[0].size();
  if (d < 2) throw Error(ErrorKind::InvalidArgument, "directions must have at least 2 components");
  for (std::size_t i = 0; i < k; ++i) {
    const std::string name = "direction " + std::to_string(i);
    if (directions_[i].size() != d) throw Error(ErrorKind::InvalidArgument, name + " has a different length");
    double n = 0;
    for (double x : directions_[i]) {
      require_finite(x, name.c_str());
      n += x * x;
    }
    if (std::fabs(std::sqrt(n) - 1.0) > 1e-6) throw Error(ErrorKind::InvalidArgument, name + " is not a unit vector");
    require_finite(origins_[i], "manifold origin");
    require_finite(scales_[i], "manifold scale");
    if (scales_[i] <= 0) throw Error(ErrorKind::InvalidArgument, "manifold scale " + std::to_string(i) + " must be > 0");
    for (std::size_t j = 0; j < i; ++j) {
      double c = 0;
      for (std::size_t t = 0; t < d; ++t) c += directions_[i][t] * directions_[j][t];
      if (std::fabs(c) > 1e-6) throw Error(ErrorKind::InvalidArgument, "directions " + std::to_string(j) + " and " + std::to_string(i) + " are not orthogonal");
    }
  }
}

AffectPoint Manifold::affect_of(const std::vector<float>& latent) const {
  if (latent.size() != latent_size()) throw Error(ErrorKind::InvalidArgument, "latent has " + std::to_string(latent.size()) + " values, the manifold " + std::to_string(latent_size()));
  double c[3] = {0, 0, 0};
  for (std::size_t i = 0; i < directions_.size(); ++i) c[i] = (dot(directions_[i], latent.data()) - origins_[i]) / scales_[i];
  return {c[0], c[1], c[2]};
}

std::vector<float> Manifold::compose(const std::vector<float>& identity, AffectPoint affect) const {
  if (identity.size() != latent_size()) {
    throw Error(ErrorKind::InvalidArgument, "identity latent has " + std::to_string(identity.size()) + " values, the manifold " + std::to_string(latent_size()));
  }
  std::vector<float> out(identity.size());
  compose_into(identity.data(), affect, out);
  return out;
}

void Manifold::compose_into(const float* identity, AffectPoint affect, std::vector<float>& out) const {
  require_finite(affect, "affect point");
  affect = clamp_to_unit(affect, space());
  const std::size_t d = latent_size();
  out.resize(d);
  for (std::size_t t = 0; t < d; ++t) {
    require_finite(identity[t], "identity latent");
    out[t] = identity[t];
  }
  const double target[3] = {affect.v, affect.a, affect.z};
  for (std::size_t i = 0; i < directions_.size(); ++i) {
    const double shift = origins_[i] + scales_[i] * target[i] - dot(directions_[i], identity);
    for (std::size_t t = 0; t < d; ++t) out[t] = static_cast<float>(out[t] + shift * directions_[i][t]);
  }
}

}  // namespace circumplex
