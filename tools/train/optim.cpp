#include "optim.hpp"

#include <cmath>

#include "circumplex/error.hpp"

namespace circumplex::tools {

Adam::Adam(std::vector<torch::Tensor> params, AdamOptions options) : options_(std::move(options)), params_(std::move(params)) {
  for (const auto& p : params_) {
    m_.push_back(torch::zeros_like(p));
    v_.push_back(torch::zeros_like(p));
  }
}

void Adam::zero_grad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

void Adam::step() {
  torch::NoGradGuard no_grad;
  ++t_;
  const double b1 = options_.beta1, b2 = options_.beta2, lr = options_.lr;
  const double c1 = 1.0 - std::pow(b1, static_cast<double>(t_)), c2 = 1.0 - std::pow(b2, static_cast<double>(t_));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto& g = params_[i].grad();
    if (!g.defined()) continue;
    if (options_.weight_decay > 0 && params_[i].dim() >= 2) params_[i].mul_(1.0 - lr * options_.weight_decay);
    m_[i].mul_(b1).add_(g, 1.0 - b1);
    v_[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
    params_[i].addcdiv_(m_[i], (v_[i] / c2).sqrt_().add_(options_.eps), -lr / c1);
  }
}

void Adam::save(TensorMap& out) const {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    out[options_.prefix + "m." + std::to_string(i)] = m_[i];
    out[options_.prefix + "v." + std::to_string(i)] = v_[i];
  }
}

void Adam::load(const TensorMap& in, const std::string& origin) {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    for (auto* moments : {&m_, &v_}) {
      const std::string key = options_.prefix + (moments == &m_ ? "m." : "v.") + std::to_string(i);
      const auto it = in.find(key);
      if (it == in.end() || it->second.sizes() != (*moments)[i].sizes()) {
        throw Error(ErrorKind::BadData, origin + ": optimiser state '" + key + "' is missing or has the wrong shape");
      }
      (*moments)[i].copy_(it->second);
    }
  }
}

std::vector<torch::Tensor> Adam::state() const {
  std::vector<torch::Tensor> out(m_);
  out.insert(out.end(), v_.begin(), v_.end());
  return out;
}

}  // namespace circumplex::tools
