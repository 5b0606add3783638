// The β-VAE modules, the tensor-only weights format, and the parsers of model and judge
// manifests and identity files behind them.
#include "torch_doctest.hpp"

#include <filesystem>
#include <fstream>
#include <limits>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/identity_detail.hpp"
#include "circumplex/judge.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/vae.hpp"
#include "circumplex/weights.hpp"

using namespace circumplex;
namespace fs = std::filesystem;

namespace {
fs::path out_dir() {
  const fs::path d = fs::path(CIRCUMPLEX_BINARY_DIR) / "test-output" / "vae";
  fs::create_directories(d);
  return d;
}
VaeConfig small() {
  VaeConfig c;
  c.image_size = 32;
  c.latent = 8;
  c.width = 8;
  return c;
}
// Multiply–adds of small()'s decoder: the projection to 4×4×32, the 8², 16² and 32² stages
// (32 → 16 → 8 → 8 channels) and the convolution to RGB.
constexpr std::int64_t kSmallDecoderMacs = 8 * 32 * 16 + 8 * 8 * 9 * 32 * 16 + 16 * 16 * 9 * 16 * 8 + 32 * 32 * 9 * 8 * 8 + 32 * 32 * 9 * 8 * 3;

// A network widened with residual convolutions that start at zero (tensors named `prefix`…)
// gives exactly what `plain`, the same network without them, gives with the same other
// weights; once the tensor `moved` moves, the output changes. `run` passes the input.
template <class Net, class Run>
void check_starts_as_plain(Net& widened, Net& plain, const std::string& prefix, const std::string& moved, Run run) {
  TensorMap shared = module_tensors(*plain);
  for (const TensorMap::value_type& entry : module_tensors(*widened)) {
    const torch::Tensor& t = entry.second;
    if (entry.first.rfind(prefix, 0) == 0) {
      CHECK(t.abs().max().item<float>() == 0.0f);
      shared.emplace(entry.first, t);
    }
  }
  assign_module_tensors(*widened, shared, "test");
  plain->eval();
  widened->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor before = run(plain);
  CHECK(torch::equal(before, run(widened)));
  shared.at(moved).normal_(0.0, 0.2);
  assign_module_tensors(*widened, shared, "test");
  const torch::Tensor after = run(widened);
  CHECK((before - after).abs().max().item<float>() > 1e-3f);
}
// The same for a decoder widened from small()'s.
void check_starts_as_plain(VaeDecoder& widened, const std::string& prefix, const std::string& moved) {
  VaeDecoder plain(small());
  const torch::Tensor z = torch::randn({2, small().latent});
  check_starts_as_plain(widened, plain, prefix, moved, [&](VaeDecoder& d) { return d->forward(z); });
}
}  // namespace

TEST_CASE("encoder and decoder shapes follow the configuration") {
  torch_compat::set_threads(2);
  VaeConfig c;  // 128², latent 64
  CHECK(c.stages() == 5);
  BetaVae vae(c);
  vae->eval();
  const auto x = torch::rand({2, 3, 128, 128});
  const VaeOutput out = vae->forward(x);
  CHECK(out.reconstruction.sizes() == torch::IntArrayRef({2, 3, 128, 128}));
  CHECK(out.mu.sizes() == torch::IntArrayRef({2, 64}));
  CHECK(out.reconstruction.min().item<float>() >= 0.0f);
  CHECK(out.reconstruction.max().item<float>() <= 1.0f);
  // In eval mode the latent is the mean: two passes agree.
  CHECK(torch::equal(vae->forward(x).reconstruction, out.reconstruction));
}

TEST_CASE("decoder FLOPs are counted from the architecture") {
  // 32² → 3 stages; encoder 8, 16, 32 channels; the decoder mirrors it: 32 at 4², 16 at 8²,
  // 8 at 16², 8 at 32², then RGB.
  VaeConfig c = small();
  VaeDecoder dec(c);
  const std::int64_t macs = 8 * 32 * 16 + 8 * 8 * 9 * 32 * 16 + 16 * 16 * 9 * 16 * 8 + 32 * 32 * 9 * 8 * 8 + 32 * 32 * 9 * 8 * 3;
  CHECK(dec->flops_per_image() == 2 * macs);
}

TEST_CASE("a large batch decoded without gradients gives each face the pixels it gets alone") {
  // The decoder works through large inference batches in blocks (vae.cpp); the blocks must
  // not change a face, nor the batch's size or order, and training batches keep their graph.
  torch_compat::set_threads(2);
  torch_compat::seed_everything(5);
  VaeDecoder dec(small());
  dec->eval();
  const torch::Tensor z = torch::randn({19, small().latent});
  torch::Tensor batch;
  {
    torch::NoGradGuard no_grad;
    batch = dec->forward(z);
    REQUIRE(batch.sizes() == torch::IntArrayRef({19, 3, 32, 32}));
    for (std::int64_t i : {0, 7, 8, 15, 16, 18}) {
      CAPTURE(i);
      CHECK(torch::allclose(dec->forward(z.narrow(0, i, 1)), batch.narrow(0, i, 1), 1e-5, 1e-6));
    }
  }
  const torch::Tensor with_grad = dec->forward(z);
  CHECK(with_grad.requires_grad());
  CHECK(torch::allclose(with_grad.detach(), batch, 1e-5, 1e-6));
}

TEST_CASE("refinement convolutions add capacity at low resolution and start as the identity") {
  // decoder_refine 2 on 32²: residual 3×3 convolutions after the 8² (16 channels) and 16²
  // (8 channels) stages; the full-resolution stage never has one.
  VaeConfig c = small();
  c.decoder_refine = 2;
  torch_compat::seed_everything(3);
  VaeDecoder refined(c);
  CHECK(refined->flops_per_image() == 2 * (kSmallDecoderMacs + 8 * 8 * 9 * 16 * 16 + 16 * 16 * 9 * 8 * 8));
  const TensorMap mine = module_tensors(*refined);
  CHECK(mine.at("refine.0.weight").sizes() == torch::IntArrayRef({16, 16, 3, 3}));
  CHECK(mine.at("refine.1.weight").sizes() == torch::IntArrayRef({8, 8, 3, 3}));
  CHECK(mine.count("refine.2.weight") == 0);

  // At zero (as built), the refined decoder draws exactly what the plain one draws.
  check_starts_as_plain(refined, "refine.", "refine.1.weight");

  c.decoder_refine = 3;  // 32² has 3 stages: the last (full resolution) cannot refine
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("decoder_refine"), Error);
}

TEST_CASE("detail convolutions add capacity at full resolution and start as the identity") {
  // decoder_detail 2 on 32²: two residual 3×3 convolutions of the last stage's 8 channels at
  // 32², after the last upsampling stage and before the convolution to RGB.
  VaeConfig c = small();
  c.decoder_detail = 2;
  torch_compat::seed_everything(4);
  VaeDecoder detailed(c);
  CHECK(detailed->flops_per_image() == 2 * (kSmallDecoderMacs + 2 * 32 * 32 * 9 * 8 * 8));
  const TensorMap mine = module_tensors(*detailed);
  CHECK(mine.at("detail.0.weight").sizes() == torch::IntArrayRef({8, 8, 3, 3}));
  CHECK(mine.at("detail.1.bias").sizes() == torch::IntArrayRef({8}));
  CHECK(mine.count("detail.2.weight") == 0);

  check_starts_as_plain(detailed, "detail.", "detail.1.weight");

  c.decoder_detail = 5;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("decoder_detail"), Error);
  c.decoder_detail = -1;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("decoder_detail"), Error);
}

TEST_CASE("the encoder takes its own width and depth, and its depth starts as the identity") {
  // encoder_width 12 on 32²: stages of 12, 24 and 48 channels, each followed by encoder_depth
  // residual convolutions; the decoder keeps small()'s shape (width 8).
  VaeConfig c = small();
  c.encoder_width = 12;
  c.encoder_depth = 2;
  torch_compat::seed_everything(6);
  BetaVae deep(c);
  const TensorMap mine = module_tensors(*deep);
  CHECK(mine.at("encoder.features.0.weight").sizes() == torch::IntArrayRef({12, 3, 3, 3}));
  CHECK(mine.at("encoder.features.4.weight").sizes() == torch::IntArrayRef({48, 24, 3, 3}));
  CHECK(mine.at("encoder.depth.0.weight").sizes() == torch::IntArrayRef({12, 12, 3, 3}));
  CHECK(mine.at("encoder.depth.5.weight").sizes() == torch::IntArrayRef({48, 48, 3, 3}));
  CHECK(mine.count("encoder.depth.6.weight") == 0);
  CHECK(mine.at("encoder.mu.weight").sizes() == torch::IntArrayRef({8, 48 * 16}));
  for (const auto& [name, t] : module_tensors(*VaeDecoder(small()))) CHECK(mine.at("decoder." + name).sizes() == t.sizes());
  CHECK(deep->decoder->flops_per_image() == 2 * kSmallDecoderMacs);

  // At zero (as built), the deep encoder reads exactly what the same encoder without depth
  // reads; once a residual convolution moves, μ changes.
  VaeConfig shallow_config = c;
  shallow_config.encoder_depth = 0;
  VaeEncoder shallow(shallow_config);
  const torch::Tensor x = torch::rand({2, 3, 32, 32});
  check_starts_as_plain(deep->encoder, shallow, "depth.", "depth.3.weight", [&](VaeEncoder& e) { return e->forward(x).first; });

  c.encoder_depth = 3;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("encoder_depth"), Error);
  c.encoder_depth = 0;
  c.encoder_width = 3;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("encoder_width"), Error);
}

TEST_CASE("bad configurations are refused with the field named") {
  VaeConfig c;
  c.image_size = 100;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("image_size"), Error);
  c = VaeConfig{};
  c.latent = 0;
  CHECK_THROWS_WITH_AS(BetaVae{c}, doctest::Contains("latent"), Error);
}

TEST_CASE("a few Adam steps on a fixed batch reduce the loss") {
  torch_compat::seed_everything(1);
  BetaVae vae(small());
  torch::optim::Adam opt(vae->parameters(), torch::optim::AdamOptions(2e-3));
  // Structured images (colour ramps), which a VAE can learn; noise it could not.
  const auto ramp = torch::linspace(0, 1, 32).view({1, 1, 1, 32});
  const auto colour = torch::rand({8, 3, 1, 1});
  const auto x = (colour * ramp.expand({8, 3, 32, 32})).contiguous();
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    const VaeLoss loss = vae_loss(vae->forward(x), x, 1.0);
    opt.zero_grad();
    loss.total.backward();
    opt.step();
    (step == 0 ? first : last) = loss.total.item<double>();
  }
  CHECK(last < 0.8 * first);
  // Sample weights scale the per-image terms (normalised to mean 1).
  vae->eval();
  const VaeOutput out = vae->forward(x);
  const auto w = torch::ones({8});
  CHECK(vae_loss(out, x, 1.0, w).total.item<double>() == doctest::Approx(vae_loss(out, x, 1.0).total.item<double>()));
}

TEST_CASE("the affect guidance is the squared distance of the first latents to the scaled labels") {
  VaeOutput out;
  out.reconstruction = torch::zeros({2, 3, 4, 4});
  out.mu = torch::tensor({0.5f, -1.0f, 0.0f, 7.0f, 3.0f, 1.0f, 0.0f, 0.0f}).view({2, 4});
  out.logvar = torch::zeros({2, 4});
  const torch::Tensor x = torch::zeros({2, 3, 4, 4});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Image 0: all three labels; image 1: z missing (skipped).
  const torch::Tensor y = torch::tensor({0.25f, -0.5f, 0.5f, 1.0f, 0.5f, nan}).view({2, 3});
  const VaeLoss plain = vae_loss(out, x, 1.0);
  const VaeLoss guided = vae_loss(out, x, 1.0, {}, y, 10.0);
  // Image 0: (0.5 − 0.5)² + (−1 − (−1))² + (0 − 1)² = 1; image 1: (3 − 2)² + (1 − 1)² = 1.
  CHECK(guided.guidance.item<double>() == doctest::Approx(1.0));
  CHECK(guided.total.item<double>() == doctest::Approx(plain.total.item<double>() + 10.0));
  CHECK(guided.reconstruction.item<double>() == doctest::Approx(plain.reconstruction.item<double>()));
  // Weight 0 or no labels: a plain β-VAE.
  CHECK(vae_loss(out, x, 1.0, {}, y, 0.0).total.item<double>() == doctest::Approx(plain.total.item<double>()));
  CHECK(plain.guidance.item<double>() == 0.0);
  // Its gradient moves the first latents toward the labels and leaves the others alone.
  torch::Tensor mu = out.mu.clone().requires_grad_(true);
  VaeOutput o2 = out;
  o2.mu = mu;
  vae_loss(o2, x, 0.0, {}, y, 1.0).total.backward();
  const torch::Tensor g = mu.grad();
  CHECK(g[0][2].item<double>() < 0.0);  // μ₂ = 0 below 2·0.5: pushed up
  CHECK(g[1][0].item<double>() > 0.0);  // μ₀ = 3 above 2·1: pushed down
  CHECK(g[1][2].item<double>() == 0.0); // missing label: no pull
  CHECK(g[0][3].item<double>() == 0.0); // beyond the labels: no pull (β = 0)
}

TEST_CASE("the identity swap decodes the affect latents of each image with the rest of its partner's") {
  torch_compat::seed_everything(3);
  BetaVae vae(small());
  const torch::Tensor x = torch::rand({3, 3, 32, 32}), partners = torch::rand({3, 3, 32, 32});
  const torch::Tensor noise = torch::zeros({3, 8});
  const VaeOutput out = vae->forward_identity_swap(x, partners, noise, 3);
  const auto [mu_x, logvar_x] = vae->encoder->forward(x);
  const auto [mu_p, logvar_p] = vae->encoder->forward(partners);
  CHECK(torch::allclose(out.mu.narrow(1, 0, 3), mu_x.narrow(1, 0, 3), 1e-5, 1e-6));
  CHECK(torch::allclose(out.mu.narrow(1, 3, 5), mu_p.narrow(1, 3, 5), 1e-5, 1e-6));
  CHECK(torch::allclose(out.logvar.narrow(1, 3, 5), logvar_p.narrow(1, 3, 5), 1e-5, 1e-6));
  // With ε = 0 the decoded latent is that mixed mean.
  CHECK(torch::allclose(out.reconstruction, vae->decoder->forward(out.mu), 1e-5, 1e-6));
  // Each image as its own partner: the ordinary pass.
  CHECK(torch::allclose(vae->forward_identity_swap(x, x, noise, 3).reconstruction, vae->forward(x, noise).reconstruction, 1e-5, 1e-6));
  CHECK_THROWS_WITH_AS(vae->forward_identity_swap(x, partners.narrow(0, 0, 2), noise, 3), doctest::Contains("partners"), Error);
  CHECK_THROWS_WITH_AS(vae->forward_identity_swap(x, partners, noise, 8), doctest::Contains("affect_dims"), Error);
  CHECK_THROWS_WITH_AS(vae->forward_identity_swap(x, partners, torch::zeros({3, 7}), 3), doctest::Contains("noise"), Error);
}

TEST_CASE("teacher forcing decodes exactly the asked affect in the affect latents") {
  torch_compat::seed_everything(4);
  BetaVae vae(small());
  const torch::Tensor x = torch::rand({3, 3, 32, 32}), partners = torch::rand({3, 3, 32, 32});
  const torch::Tensor noise = torch::randn({3, 8});
  torch::Tensor affect = torch::tensor({0.8f, 0.5f, 0.0f, -0.6f, -0.4f, 0.3f, 0.1f, 0.9f, -0.2f}).view({3, 3});
  affect[2][1] = std::numeric_limits<float>::quiet_NaN();  // a missing label keeps the encoder's sample
  const VaeOutput forced = vae->forward_identity_swap(x, partners, noise, 3, affect);
  const VaeOutput free = vae->forward_identity_swap(x, partners, noise, 3);
  // The decoded latent: kAffectLatentScale * affect in dims 0-2, the partner's sample elsewhere.
  torch::Tensor z = free.mu + noise * torch::exp(0.5 * free.logvar);
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 3; ++k) {
      const float a = affect[i][k].item<float>();
      if (std::isfinite(a)) z[i][k] = kAffectLatentScale * a;
    }
  }
  CHECK(torch::allclose(forced.reconstruction, vae->decoder->forward(z), 1e-5, 1e-6));
  CHECK_FALSE(torch::allclose(forced.reconstruction, free.reconstruction, 1e-4, 1e-5));
  // The encoder's reading is still returned, so the guidance keeps training it.
  CHECK(torch::allclose(forced.mu, free.mu));
  CHECK_THROWS_WITH_AS(vae->forward_identity_swap(x, partners, noise, 3, torch::zeros({2, 3})), doctest::Contains("forced affect"), Error);
}

TEST_CASE("weights round-trip exactly and corrupt files are refused") {
  BetaVae a(small()), b(small());
  const std::string path = (out_dir() / "w.safetensors").string();
  save_tensors(path, module_tensors(*a), R"({"note": "test"})");
  std::string meta;
  assign_module_tensors(*b, load_tensors(path, &meta), path);
  CHECK(meta.find("test") != std::string::npos);
  for (const auto& [name, t] : module_tensors(*a)) CHECK(torch::equal(t, module_tensors(*b).at(name)));

  const std::string bytes = [&] { std::ifstream in(path, std::ios::binary); return std::string(std::istreambuf_iterator<char>(in), {}); }();
  auto write = [&](const std::string& name, const std::string& content) {
    const std::string p = (out_dir() / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  };
  CHECK_THROWS_WITH_AS(load_tensors(write("short.safetensors", bytes.substr(0, 5))), doctest::Contains("too short"), Error);
  CHECK_THROWS_WITH_AS(load_tensors(write("cut.safetensors", bytes.substr(0, 10))), doctest::Contains("truncated"), Error);
  CHECK_THROWS_WITH_AS(load_tensors(write("trunc.safetensors", bytes.substr(0, bytes.size() - 100))), doctest::Contains("truncated"), Error);
  std::string flipped = bytes;
  flipped[flipped.size() - 5] ^= 0x40;
  CHECK_THROWS_WITH_AS(load_tensors(write("flip.safetensors", flipped)), doctest::Contains("hash mismatch"), Error);
  // Hand-made safetensors files: each hostile header is refused with what is wrong.
  auto file = [](const std::string& header, const std::string& data, std::uint64_t len = 0) {
    len = len ? len : header.size();
    std::string out(reinterpret_cast<const char*>(&len), 8);
    return out + header + data;
  };
  const std::string eight(8, '\0');  // two float32 zeros
  const auto ok = file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", eight);
  CHECK(load_tensors(write("ok.safetensors", ok)).at("a").numel() == 2);  // no metadata: fine
  CHECK_THROWS_WITH_AS(load_tensors(write("json.safetensors", file("{not json", eight))), doctest::Contains("header is not JSON"), Error);
  CHECK_THROWS_WITH_AS(load_tensors(write("huge.safetensors", file("{}", eight, 1ULL << 40))), doctest::Contains("over the limit"), Error);
  CHECK_THROWS_WITH_AS(load_tensors(write("long.safetensors", file("{}", eight, 4000))), doctest::Contains("exceeds the file"), Error);
  CHECK_THROWS_WITH_AS(load_tensors(write("bf16.safetensors", file(R"({"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})", eight))),
                       doctest::Contains("F32"), Error);
  CHECK_THROWS_WITH_AS(load_tensors(write("size.safetensors", file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight))),
                       doctest::Contains("its shape needs 12"), Error);
  CHECK_THROWS_WITH_AS(load_tensors(write("out.safetensors", file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight))),
                       doctest::Contains("outside the data"), Error);
  CHECK_THROWS_WITH_AS(load_tensors(write("overlap.safetensors",
                                          file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight))),
                       doctest::Contains("overlap"), Error);
  CHECK_THROWS_WITH_AS(load_tensors(write("hole.safetensors", file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight))),
                       doctest::Contains("index 4"), Error);
  CHECK_THROWS_WITH_AS(load_tensors(write("rank.safetensors", file(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", eight))),
                       doctest::Contains("rank 9"), Error);
  // Found by tools/test.sh --fuzz (weights): a header number too large for a double made the
  // JSON library throw past the loader (the process aborted); now it is bad data.
  CHECK_THROWS_WITH_AS(load_tensors(std::string(CIRCUMPLEX_SOURCE_DIR) + "/tests/data/fuzz/weights-number-overflow.bin"),
                       doctest::Contains("weights-number-overflow.bin"), Error);
  // circumplex 0.1's own format still loads (the shipped judge was written in it).
  const std::string legacy = std::string(CIRCUMPLEX_SOURCE_DIR) + "/tests/data/legacy.cpxw";
  std::string legacy_meta;
  const TensorMap old = load_tensors(legacy, &legacy_meta);
  REQUIRE(old.size() == 1);
  CHECK(old.at("t").sizes() == torch::IntArrayRef({2, 3}));
  CHECK(old.at("t").sum().item<float>() == doctest::Approx(15.0f));
  CHECK(legacy_meta.find("legacy") != std::string::npos);
  CHECK_THROWS_WITH_AS(load_tensors((out_dir() / "absent.safetensors").string()), doctest::Contains("absent.safetensors"), Error);

  // Architecture mismatches name the tensor.
  VaeConfig other = small();
  other.latent = 9;
  BetaVae c(other);
  CHECK_THROWS_WITH_AS(assign_module_tensors(*c, load_tensors(path), path), doctest::Contains("shape"), Error);
  TensorMap missing = load_tensors(path);
  missing.erase(missing.begin());
  CHECK_THROWS_WITH_AS(assign_module_tensors(*b, missing, path), doctest::Contains("missing tensor"), Error);
  TensorMap extra = load_tensors(path);
  extra["stray.weight"] = torch::zeros({1});
  CHECK_THROWS_WITH_AS(assign_module_tensors(*b, extra, path), doctest::Contains("stray.weight"), Error);
}

// The parsers tools/test.sh --fuzz runs as model_manifest, judge_manifest and identity_file:
// their seeds parse, and hostile numbers and sizes are refused as bad data naming the file, the
// field or the limit (never a wrapped or undefined cast, never an unbounded read).
TEST_CASE("model and judge manifests and identity files refuse hostile numbers and sizes") {
  const std::string src = CIRCUMPLEX_SOURCE_DIR;
  const std::string model = read_text_file(src + "/tests/fuzz/corpus/model_manifest/minimal.json");
  const ModelManifest m = parse_model_manifest(model, "minimal.json");
  CHECK(m.config.latent == 8);
  CHECK(m.people_count == 4);
  CHECK(m.weights_file == "weights.safetensors");
  auto model_refused = [&](const std::string& from, const std::string& to, const char* expect) {
    std::string text = model;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    CAPTURE(to);
    CHECK_THROWS_WITH_AS(parse_model_manifest(text, "hostile.json"), doctest::Contains(expect), Error);
  };
  model_refused("\"latent\": 8", "\"latent\": 1e300", "'latent' must be an integer");  // get<int>() of it was undefined
  model_refused("\"latent\": 8", "\"latent\": 4294967304", "'latent' is out of range");  // get<int>() wrapped it to 8
  model_refused("\"latent\": 8", "\"latent\": 18446744073709551615", "'latent' is out of range");
  model_refused("\"version\": 1", "\"version\": 4294967297", "'version' must be 1");
  model_refused("\"count\": 4", "\"count\": 1000001", "limit of 1000000 people");
  model_refused("\"faces\": 10", "\"faces\": 4294967306", "'faces' must be a count");
  model_refused("\"weights.safetensors\"", "\"\"", "inside the package");
  CHECK_THROWS_WITH_AS(parse_model_manifest(std::string(kMaxManifestBytes + 1, ' '), "big.json"), doctest::Contains("big.json: larger than the limit of 4194304 bytes"), Error);
  const std::string big = (out_dir() / "big.json").string();
  std::ofstream(big) << std::string(kMaxManifestBytes + 1, ' ');
  CHECK_THROWS_WITH_AS(read_text_file(big, kMaxManifestBytes), doctest::Contains("limit of 4194304 bytes"), Error);

  const std::string judge = read_text_file(src + "/assets/models/judge/manifest.json");
  const JudgeManifest j = parse_judge_manifest(judge, "judge.json");
  CHECK(j.outputs.size() == static_cast<std::size_t>(j.config.outputs()));
  CHECK(j.fingerprint.has_value());
  auto judge_refused = [&](const std::string& from, const std::string& to, const char* expect) {
    std::string text = judge;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    CAPTURE(to);
    CHECK_THROWS_WITH_AS(parse_judge_manifest(text, "hostile.json"), doctest::Contains(expect), Error);
  };
  judge_refused("\"hidden\": 256", "\"hidden\": 1e300", "'hidden' must be an integer in int's range");
  judge_refused("\"hidden\": 256", "\"hidden\": 4294967552", "'hidden' must be an integer in int's range");
  judge_refused("\"hidden\": 256", "\"hidden\": 18446744073709551615", "'hidden' must be an integer in int's range");
  judge_refused("\"version\": 1", "\"version\": 4294967297", "'version' must be 1");
  judge_refused("\"fingerprint\": \"", "\"fingerprint\": 7, \"x\": \"", "'weights.fingerprint' must be a string");
  CHECK_THROWS_WITH_AS(parse_judge_manifest(std::string(kMaxJudgeManifestBytes + 1, ' '), "big.json"), doctest::Contains("limit of 4194304 bytes"), Error);

  // An identity written by `render face --identity 7 --save-identity` for the shipped model.
  const std::string id_path = src + "/tests/fuzz/corpus/identity_file/seed7.safetensors";
  const std::string id = read_text_file(id_path);
  std::string meta;
  (void)parse_tensors(id, id_path, &meta);
  const std::string fingerprint = meta.substr(meta.find("\"model\":\"") + 9, 16);
  CHECK(parse_identity(id, id_path, fingerprint, 64, "default").size() == 64);
  CHECK_THROWS_WITH_AS(parse_identity(id, id_path, "0000000000000000", 64, "default"), doctest::Contains("seed7.safetensors: this identity was saved for another model package"), Error);
  CHECK_THROWS_WITH_AS(parse_identity(id, id_path, fingerprint, 8, "default"), doctest::Contains("one tensor 'identity' of 8 values"), Error);
  CHECK_THROWS_WITH_AS(parse_identity(std::string(kMaxIdentityBytes + 1, '\0'), "big.safetensors", fingerprint, 64, "default"),
                       doctest::Contains("big.safetensors: larger than the limit of 1048576 bytes"), Error);
}

TEST_CASE("the detail layer gives the image back at neutral, follows parts that move and fades where the face changes") {
  namespace F = torch::nn::functional;
  torch::manual_seed(3);
  const int s = 32;
  // A textured image in [0.2, 0.7] and a softer "decoded" neutral face of it (the decoder's blur).
  const auto blur = [](const torch::Tensor& x) { return F::avg_pool2d(x, F::AvgPool2dFuncOptions(3).stride(1).padding(1).count_include_pad(false)); };
  const torch::Tensor base = blur(torch::rand({1, 3, s, s}));
  const torch::Tensor image = (0.2 + 0.5 * (0.5 * base + 0.5 * torch::rand({1, 3, s, s}))).contiguous();
  const torch::Tensor neutral = blur(image).contiguous();
  const IdentityDetail detail(image, neutral);
  CHECK(detail.image().equal(image));
  // The rule before the region fade, for the checks of following and of the local fade.
  DetailOptions local;
  local.region_tolerance = 0.0;
  const IdentityDetail local_detail(image, neutral, local);

  // At the neutral point the face is the image itself.
  CHECK(detail.apply(neutral).sub(image).abs().max().item<float>() < 1e-5f);
  CHECK(local_detail.apply(neutral).sub(image).abs().max().item<float>() < 1e-5f);

  // The decoded face moved one pixel to the right: the detail moves with it (radius 2), where
  // detail left in place (radius 0) draws the old edges.
  const auto shift = [](const torch::Tensor& x) { return torch::roll(x, {1}, {3}); };
  const torch::Tensor inner = torch::zeros({1, 1, s, s});
  inner.narrow(2, 4, s - 8).narrow(3, 4, s - 8).fill_(1.0);
  const auto error_inside = [&](const torch::Tensor& face) { return face.sub(shift(image)).abs().mul(inner).sum().item<double>(); };
  DetailOptions still = local;
  still.radius = 0;
  const double followed = error_inside(local_detail.apply(shift(neutral))), left = error_inside(IdentityDetail(image, neutral, still).apply(shift(neutral)));
  CAPTURE(followed);
  CAPTURE(left);
  CHECK(followed < 0.3 * left);

  // New content (a patch far from anything in the neutral face): the fine detail fades out
  // there and the decoded face shows alone, plus the smooth part of the detail.
  torch::Tensor changed = neutral.clone();
  changed.narrow(2, 12, 8).narrow(3, 12, 8).add_(0.3);
  const torch::Tensor face = local_detail.apply(changed);
  const torch::Tensor residual = image - neutral;
  const torch::Tensor low = F::avg_pool2d(F::avg_pool2d(residual, F::AvgPool2dFuncOptions(9).stride(1).padding(4).count_include_pad(false)),
                                          F::AvgPool2dFuncOptions(9).stride(1).padding(4).count_include_pad(false));
  const auto patch = [](const torch::Tensor& x) { return x.narrow(2, 14, 4).narrow(3, 14, 4); };
  CHECK(patch(face).sub(patch(changed + low)).abs().max().item<float>() < 1e-5f);
  // Tolerance 0: the detail never fades, so the patch keeps the image's fine detail.
  DetailOptions always = local;
  always.tolerance = 0.0;
  const torch::Tensor kept = IdentityDetail(image, neutral, always).apply(changed);
  CHECK(patch(kept).sub(patch(changed + low)).abs().max().item<float>() > 0.05f);
  // Outside the patch (and its 5×5 blocks) nothing changed: the image comes back there.
  CHECK(face.narrow(2, 0, 6).sub(image.narrow(2, 0, 6)).abs().max().item<float>() < 1e-5f);
  // The region fade alone (tolerance 0) takes the whole detail, smooth part too, off where
  // the face around a pixel moved from neutral: the patch shows the decoded face alone, and
  // rows beyond its 17×17 reach keep the image.
  DetailOptions region;
  region.tolerance = 0.0;
  const torch::Tensor faded = IdentityDetail(image, neutral, region).apply(changed);
  CHECK(patch(faded).sub(patch(changed)).abs().max().item<float>() < 1e-5f);
  CHECK(faded.narrow(2, 0, 4).sub(image.narrow(2, 0, 4)).abs().max().item<float>() < 1e-5f);
  // A part that moved one pixel: with the region fade the detail is taken off there too
  // (expressions read as strongly as the decoder draws them), so less of the image shows.
  CHECK(error_inside(detail.apply(shift(neutral))) > followed);

  // Batches: each face as it is alone.
  const torch::Tensor both = local_detail.apply(torch::cat({neutral, changed}));
  CHECK(both[0].sub(image[0]).abs().max().item<float>() < 1e-5f);
  CHECK(both[1].sub(face[0]).abs().max().item<float>() < 1e-6f);

  // The CPU's loop and the tensor operations other devices run draw the same faces: for
  // every radius, with and without each fade, on a batch of moved, changed and random faces.
  const torch::Tensor faces = torch::cat({neutral, shift(neutral), changed, blur(torch::rand({1, 3, s, s}))});
  for (const int radius : {0, 1, 2, 4}) {
    for (const double tolerance : {0.0, 0.07, 0.5}) {
      for (const double region_tolerance : {0.0, 0.1}) {
        CAPTURE(radius);
        CAPTURE(tolerance);
        CAPTURE(region_tolerance);
        DetailOptions options;
        options.radius = radius;
        options.tolerance = tolerance;
        options.region_tolerance = region_tolerance;
        const IdentityDetail layer(image, neutral, options);
        const torch::Tensor loop = layer.apply(faces), ops = layer.apply_tensor_ops(faces);
        const torch::Tensor gap = loop.sub(ops).abs();
        // Sums in another order may flip a near-tie between offsets at a rare pixel.
        CHECK(gap.gt(1e-5).to(torch::kFloat32).mean().item<float>() < 0.002f);
        CHECK(gap.mean().item<float>() < 1e-5f);
        CHECK_FALSE(loop.equal(faces));
      }
    }
  }

  // Refused by name: other shapes, options out of range.
  CHECK_THROWS_WITH_AS(detail.apply_tensor_ops(torch::rand({1, 3, 16, 16})), doctest::Contains("[N, 3, 32, 32]"), Error);
  CHECK_THROWS_WITH_AS(IdentityDetail(image, blur(torch::rand({1, 3, 16, 16}))), doctest::Contains("differ in size"), Error);
  CHECK_THROWS_WITH_AS(IdentityDetail(image.squeeze(0), neutral), doctest::Contains("must be [1, 3, S, S]"), Error);
  CHECK_THROWS_WITH_AS(detail.apply(torch::rand({2, 3, 16, 16})), doctest::Contains("[N, 3, 32, 32]"), Error);
  DetailOptions far;
  far.radius = 5;
  CHECK_THROWS_WITH_AS(IdentityDetail(image, neutral, far), doctest::Contains("detail radius"), Error);
  DetailOptions loose;
  loose.tolerance = 1.5;
  CHECK_THROWS_WITH_AS(IdentityDetail(image, neutral, loose), doctest::Contains("detail tolerance"), Error);
  DetailOptions wide;
  wide.region_tolerance = -0.1;
  CHECK_THROWS_WITH_AS(IdentityDetail(image, neutral, wide), doctest::Contains("detail region tolerance"), Error);
}

TEST_CASE("an identity file may keep the identity's image, checked like the rest") {
  const fs::path path = out_dir() / "with-image.safetensors";
  const std::string meta = R"({"format":"circumplex-identity","model":"00000000000000aa"})";
  const torch::Tensor image = torch::rand({1, 3, 32, 32});
  save_tensors(path.string(), {{"identity", torch::zeros({8})}, {"image", image}}, meta);
  const std::string bytes = read_text_file(path.string());
  torch::Tensor got;
  CHECK(parse_identity(bytes, path.string(), "00000000000000aa", 8, "tiny", &got, 32).size() == 8);
  REQUIRE(got.defined());
  CHECK(got.equal(image));
  CHECK(parse_identity(bytes, path.string(), "00000000000000aa", 8, "tiny").size() == 8);  // the image is optional to read
  CHECK_THROWS_WITH_AS(parse_identity(bytes, path.string(), "00000000000000aa", 8, "tiny", &got, 64),
                       doctest::Contains("with-image.safetensors: its image must be [1, 3, 64, 64], not [1, 3, 32, 32]"), Error);
  save_tensors(path.string(), {{"identity", torch::zeros({8})}, {"image", image + 1.0}}, meta);
  CHECK_THROWS_WITH_AS(parse_identity(read_text_file(path.string()), path.string(), "00000000000000aa", 8, "tiny", &got, 32),
                       doctest::Contains("its image holds values outside 0"), Error);
  save_tensors(path.string(), {{"identity", torch::zeros({8})}}, meta);
  CHECK(parse_identity(read_text_file(path.string()), path.string(), "00000000000000aa", 8, "tiny", &got, 32).size() == 8);
  CHECK_FALSE(got.defined());
}
