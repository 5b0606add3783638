#include "readback.hpp"

#include <cmath>
#include <vector>

#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "circumplex/weights.hpp"

namespace circumplex::tools {

ReadBack::ReadBack(const std::string& dir, Space space, torch::Device device, double identity_weight, double au_weight)
    : dir_(dir), space_(space), identity_weight_(identity_weight), au_weight_(au_weight), device_(device), package_(JudgePackage::load(dir)) {
  if (!(identity_weight >= 0.0)) throw Error(ErrorKind::InvalidArgument, "read-back: the identity weight must be >= 0");
  if (!(au_weight >= 0.0)) throw Error(ErrorKind::InvalidArgument, "read-back: the AU weight must be >= 0");
  fingerprint_ = tensors_fingerprint(package_.weights());
  net_ = JudgeNet(package_.config());
  assign_module_tensors(*net_, package_.weights(), dir + "/weights");
  net_->eval();
  for (auto& p : net_->parameters()) p.set_requires_grad(false);
  net_->to(device_);
  const auto& outs = package_.outputs();
  aus_ = package_.config().aus;
  factors_ = package_.config().factors;
  if (aus_ != kAuCount) {
    throw Error(ErrorKind::BadData, dir + ": the reader reads " + std::to_string(aus_) + " AUs, the expression model has " + std::to_string(kAuCount));
  }
  // Standardise the targets as the reader's labels were; a constant output (z of a 2D
  // reader) has std 0 here and drops out of the loss.
  auto stats = [&](std::size_t lo, std::size_t n, torch::Tensor& mean, torch::Tensor& sd) {
    std::vector<float> m, s;
    for (std::size_t i = lo; i < lo + n; ++i) {
      m.push_back(static_cast<float>(outs[i].mean));
      s.push_back(outs[i].constant ? 0.0f : static_cast<float>(outs[i].stdev));
    }
    mean = torch::tensor(m).unsqueeze(0).to(device_);
    sd = torch::tensor(s).unsqueeze(0).to(device_);
  };
  stats(0, 3, affect_mean_, affect_std_);
  stats(3, static_cast<std::size_t>(aus_), au_mean_, au_std_);
  for (std::int64_t f = 0; f < factors_; ++f) factor_used_.push_back(!outs[static_cast<std::size_t>(3 + aus_ + f)].constant);
}

torch::Tensor ReadBack::sample_points(std::int64_t n, at::Generator generator) const {
  // Uniform over the disk/ball: a Gaussian direction, radius U^(1/dims).
  const int dims = space_ == Space::Ball ? 3 : 2;
  torch::Tensor dir = torch::randn({n, 3}, generator);
  if (dims == 2) dir.select(1, 2).zero_();
  dir = dir / dir.norm(2, 1, true).clamp_min(1e-9);
  const torch::Tensor r = torch::rand({n, 1}, generator).pow(1.0 / dims);
  return dir * r;
}

torch::Tensor ReadBack::loss(const torch::Tensor& faces, const torch::Tensor& asked, const torch::Tensor& reference) {
  const std::int64_t n = faces.size(0);
  if (asked.dim() != 2 || asked.size(0) != n || asked.size(1) != 3 || reference.sizes() != faces.sizes()) {
    throw Error(ErrorKind::InvalidArgument, "read-back: faces " + c10::str(faces.sizes()) + ", asked " + c10::str(asked.sizes()) + ", reference " +
                                                c10::str(reference.sizes()) + " do not match");
  }
  // Targets: the asked point and its action units, standardised like the reader's labels.
  const torch::Tensor cpu = asked.to(torch::kCPU, torch::kDouble).contiguous();
  const ExpressionModel& expression = ExpressionModel::builtin();
  torch::Tensor aus = torch::empty({n, aus_});
  for (std::int64_t i = 0; i < n; ++i) {
    const double* p = cpu.data_ptr<double>() + 3 * i;
    const AuVector a = expression.action_units({p[0], p[1], p[2]}, space_);
    for (std::int64_t u = 0; u < aus_; ++u) aus[i][u] = a[static_cast<std::size_t>(u)];
  }
  auto standardised = [](const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& sd) {
    return torch::where(sd > 0, (x - mean) / sd.clamp_min(1e-9), torch::zeros_like(x));
  };
  const torch::Tensor affect_target = standardised(asked.to(device_, torch::kFloat), affect_mean_, affect_std_);
  const torch::Tensor au_target = standardised(aus.to(device_), au_mean_, au_std_);
  const torch::Tensor read = net_->forward(faces);
  const torch::Tensor affect_known = (affect_std_ > 0).to(torch::kFloat), au_known = (au_std_ > 0).to(torch::kFloat);
  torch::Tensor l = ((read.narrow(1, 0, 3) - affect_target).pow(2) * affect_known).sum(1) / affect_known.sum().clamp_min(1.0) +
                    au_weight_ * ((read.narrow(1, 3, aus_) - au_target).pow(2) * au_known).sum(1) / au_known.sum().clamp_min(1.0);
  if (factors_ > 0 && identity_weight_ > 0.0) {
    torch::Tensor who;
    {
      torch::NoGradGuard no_grad;
      who = net_->forward(reference).narrow(1, 3 + aus_, factors_);
    }
    std::vector<float> used;
    for (bool u : factor_used_) used.push_back(u ? 1.0f : 0.0f);
    const torch::Tensor mask = torch::tensor(used).unsqueeze(0).to(device_);
    l = l + identity_weight_ * ((read.narrow(1, 3 + aus_, factors_) - who).pow(2) * mask).sum(1) / mask.sum().clamp_min(1.0);
  }
  return l.mean();
}

torch::Tensor ReadBack::feature_loss(const torch::Tensor& faces, const torch::Tensor& targets) {
  if (faces.sizes() != targets.sizes()) {
    throw Error(ErrorKind::InvalidArgument, "feature matching: faces " + c10::str(faces.sizes()) + " and targets " + c10::str(targets.sizes()) + " differ");
  }
  std::vector<torch::Tensor> want;
  {
    torch::NoGradGuard no_grad;
    want = net_->activations(targets);
  }
  const std::vector<torch::Tensor> got = net_->activations(faces);
  if (got.empty()) throw Error(ErrorKind::Internal, dir_ + ": the reader has no convolution stages to match");
  torch::Tensor l = torch::zeros({}, faces.options());
  for (std::size_t i = 0; i < got.size(); ++i) l = l + (got[i] - want[i]).pow(2).mean();
  return l / static_cast<double>(got.size());
}

}  // namespace circumplex::tools
