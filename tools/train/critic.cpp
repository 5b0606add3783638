#include "critic.hpp"

#include <cmath>

#include "circumplex/error.hpp"

namespace circumplex::tools {
namespace F = torch::nn::functional;

PatchCriticNetImpl::PatchCriticNetImpl(int channels) {
  const int c = channels;
  const std::vector<std::array<int, 4>> layers = {{3, c, 4, 2}, {c, 2 * c, 4, 2}, {2 * c, 4 * c, 4, 2}, {4 * c, 1, 3, 1}};
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto [in, out, k, stride] = layers[i];
    const double bound = 1.0 / std::sqrt(static_cast<double>(in * k * k));
    weights_.push_back(register_parameter("w" + std::to_string(i), torch::empty({out, in, k, k}).uniform_(-bound, bound)));
    biases_.push_back(register_parameter("b" + std::to_string(i), torch::zeros({out})));
    u_.push_back(register_buffer("u" + std::to_string(i), F::normalize(torch::randn({out}), F::NormalizeFuncOptions().dim(0))));
    strides_.push_back(stride);
  }
}

torch::Tensor PatchCriticNetImpl::forward(const torch::Tensor& images) {
  torch::Tensor h = images * 2.0 - 1.0;
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    const torch::Tensor w = weights_[i].reshape({weights_[i].size(0), -1});
    torch::Tensor u = u_[i], v;
    {
      torch::NoGradGuard no_grad;  // one power iteration towards the largest singular vectors
      v = F::normalize(torch::mv(w.t(), u), F::NormalizeFuncOptions().dim(0));
      u = F::normalize(torch::mv(w, v), F::NormalizeFuncOptions().dim(0));
      if (is_training()) u_[i].copy_(u);
    }
    const torch::Tensor sigma = torch::dot(u, torch::mv(w, v));
    h = F::conv2d(h, weights_[i] / sigma, F::Conv2dFuncOptions().bias(biases_[i]).stride(strides_[i]).padding(1));
    if (i + 1 < weights_.size()) h = F::leaky_relu(h, F::LeakyReLUFuncOptions().negative_slope(0.2));
  }
  return h;
}

namespace {
PatchCriticNet make_net(int channels, std::uint64_t seed) {
  // The critic's initialisation from its own generator, so adding it leaves the VAE's
  // initialisation and every other random draw of the run as they were.
  at::Generator global = at::detail::getDefaultCPUGenerator();
  const torch::Tensor state = global.get_state();
  torch::manual_seed(seed);
  PatchCriticNet net(channels);
  global.set_state(state);
  return net;
}
}  // namespace

PatchCritic::PatchCritic(int channels, double lr, std::uint64_t seed, torch::Device device)
    : net_(make_net(channels, seed)), adam_((net_->to(device), net_->parameters()), AdamOptions{lr, 0.5, 0.999, 1e-8, 0.0, "critic_adam."}) {}

torch::Tensor PatchCritic::generator_loss(const torch::Tensor& fakes) { return -net_->forward(fakes).mean(); }

double PatchCritic::update(const torch::Tensor& real, const torch::Tensor& fakes) {
  net_->train();
  adam_.zero_grad();
  const torch::Tensor loss = torch::relu(1.0 - net_->forward(real)).mean() + torch::relu(1.0 + net_->forward(fakes.detach())).mean();
  loss.backward();
  adam_.step();
  return loss.item<double>();
}

void PatchCritic::save(TensorMap& out) const {
  for (const auto& [name, t] : module_tensors(*net_)) out["critic." + name] = t;
  adam_.save(out);
}

void PatchCritic::load(const TensorMap& in, std::int64_t t, const std::string& origin) {
  TensorMap mine;
  for (const auto& [k, v] : in) {
    if (k.rfind("critic.", 0) == 0) mine[k.substr(7)] = v;
  }
  if (mine.empty()) throw Error(ErrorKind::BadData, origin + ": has no critic weights (it was saved without --adversarial-weight)");
  assign_module_tensors(*net_, mine, origin + " (critic)");
  adam_.load(in, origin);
  adam_.set_t(t);
}

bool PatchCritic::owns(const std::string& key) { return key.rfind("critic.", 0) == 0 || key.rfind("critic_adam.", 0) == 0; }

}  // namespace circumplex::tools
