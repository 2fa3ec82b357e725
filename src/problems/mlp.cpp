// mlp:hidden=512x512,act=relu,init_seed=1,lambda=0 — fully connected network
// d_in -> h_1 -> ... -> h_k -> C on the classes of the training labels
// (problems/classes.hpp, problems/network.hpp): act (relu or tanh) on the hidden layers,
// softmax cross-entropy on the output, (lambda/2) ||x||^2 on all parameters.
// x holds per layer its weight (out x in, column-major) then its bias, tensors named
// fc1.weight, fc1.bias, fc2.weight, ...; the own starting point draws every weight
// uniformly in [-s, s) as s (2u - 1), u = Rng::uniform() of one Rng(init_seed) taken in
// parameter order, with s = sqrt(6 / fan_in) for relu (He) and sqrt(6 / (fan_in + fan_out))
// for tanh (Glorot); biases are 0 (no draw). Deterministic: same seed, same bits.
// Non-convex and without a smoothness constant: step sizes are constants (--lr VALUE).
// Cost of a gradient: about 6 sum_l fan_in fan_out flops per row.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ecco/error.hpp"
#include "ecco/rng.hpp"
#include "problems/builtin.hpp"
#include "problems/classes.hpp"
#include "problems/network.hpp"

namespace ecco::detail {
namespace {

constexpr std::size_t kMaxWidth = 65536;

[[noreturn]] void no_smoothness() {
  throw ConfigError("problem 'mlp' has no smoothness constant; give a constant step size (--lr VALUE)");
}

template <class Scalar>
class Mlp final : public DenseNetwork<Scalar> {
 public:
  Mlp(DenseShard<Scalar> shard, std::vector<std::size_t> widths, Activation activation, double lambda)
      : DenseNetwork<Scalar>(std::move(shard), std::move(widths), activation, lambda) {}

  double smoothness() const override { no_smoothness(); }
};

// "512x256" -> {512, 256}; ConfigError naming the text and the bad part.
std::vector<std::size_t> parse_hidden(const std::string& text) {
  std::vector<std::size_t> widths;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = text.find('x', begin);
    const std::string part = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    std::size_t width = 0;
    bool ok = !part.empty() && part.size() <= 6;
    for (const char ch : part) {
      if (ch < '0' || ch > '9') {
        ok = false;
        break;
      }
      width = 10 * width + static_cast<std::size_t>(ch - '0');
    }
    if (!ok || width < 1 || width > kMaxWidth) {
      throw ConfigError("problem 'mlp': hidden='" + text + "': '" + part + "' is not a layer width (allowed: widths 1.." +
                        std::to_string(kMaxWidth) + " joined by 'x', e.g. 512x512)");
    }
    widths.push_back(width);
    if (end == std::string::npos) return widths;
    begin = end + 1;
  }
}

class MlpFactory final : public ProblemFactory {
 public:
  MlpFactory(std::string spec, std::vector<std::size_t> hidden, Activation activation, std::uint64_t init_seed,
             double lambda)
      : spec_(std::move(spec)),
        hidden_(std::move(hidden)),
        activation_(activation),
        init_seed_(init_seed),
        lambda_(lambda),
        classes_("mlp") {}

  std::string spec() const override { return spec_; }

  ComputePrecision preferred_precision() const override { return ComputePrecision::fp32; }
  void set_precision(ComputePrecision precision) override { precision_ = precision; }

  void prepare(const Dataset& train) override { classes_.prepare(train); }

  std::unique_ptr<Problem> make(Dataset shard) const override {
    if (precision_ == ComputePrecision::fp32) {
      return std::make_unique<Mlp<float>>(classes_.make<float>(shard), widths(), activation_, lambda_);
    }
    return std::make_unique<Mlp<double>>(classes_.make<double>(shard), widths(), activation_, lambda_);
  }

  TensorLayout tensors(const Dataset& /*train*/) const override {
    const std::vector<std::size_t> w = widths();
    TensorLayout layout;
    std::size_t offset = 0;
    for (std::size_t l = 1; l < w.size(); ++l) {
      const std::string name = "fc" + std::to_string(l);
      layout.push_back(TensorShape{name + ".weight", offset, w[l], w[l - 1]});
      offset += w[l] * w[l - 1];
      layout.push_back(TensorShape{name + ".bias", offset, w[l], 1});
      offset += w[l];
    }
    return layout;
  }

  bool initial_point(Eigen::Ref<Eigen::VectorXd> x) const override {
    const std::vector<std::size_t> w = widths();
    if (static_cast<std::size_t>(x.size()) != network_dim(w)) {
      throw std::invalid_argument("mlp initial_point: x has size " + std::to_string(x.size()) + ", the model " +
                                  std::to_string(network_dim(w)));
    }
    Rng rng(init_seed_);
    Eigen::Index at = 0;
    for (std::size_t l = 1; l < w.size(); ++l) {
      const auto fan_in = static_cast<double>(w[l - 1]);
      const auto fan_out = static_cast<double>(w[l]);
      const double bound = activation_ == Activation::relu ? std::sqrt(6.0 / fan_in) : std::sqrt(6.0 / (fan_in + fan_out));
      const auto weights = static_cast<Eigen::Index>(w[l] * w[l - 1]);
      for (Eigen::Index k = 0; k < weights; ++k) x[at++] = bound * (2.0 * rng.uniform() - 1.0);
      const auto biases = static_cast<Eigen::Index>(w[l]);
      x.segment(at, biases).setZero();
      at += biases;
    }
    return true;
  }

  bool cheap_full_gradient() const override { return false; }

  double smoothness_of(const Dataset& /*rows*/) const override { no_smoothness(); }

 private:
  // d_in, the hidden widths, C (after prepare).
  std::vector<std::size_t> widths() const {
    std::vector<std::size_t> w{classes_.input_dim()};
    w.insert(w.end(), hidden_.begin(), hidden_.end());
    w.push_back(classes_.classes());
    return w;
  }

  std::string spec_;
  std::vector<std::size_t> hidden_;
  Activation activation_;
  std::uint64_t init_seed_;
  double lambda_;
  ClassMap classes_;
  ComputePrecision precision_ = ComputePrecision::fp64;
};

}  // namespace

std::unique_ptr<ProblemFactory> make_mlp(const Spec& spec) {
  std::vector<std::size_t> hidden = parse_hidden(spec.get_string("hidden"));
  const std::string& act = spec.get_string("act");
  Activation activation = Activation::relu;
  if (act == "tanh") {
    activation = Activation::tanh;
  } else if (act != "relu") {
    throw ConfigError("problem 'mlp': act must be relu or tanh, got '" + act + "'");
  }
  const std::uint64_t seed = spec.get_seed("init_seed");
  const double lambda = spec.get_double("lambda");
  if (!(lambda >= 0.0 && lambda <= 1e300)) {
    throw ConfigError("problem 'mlp': lambda must be in [0, 1e300], got " + spec.get_string("lambda"));
  }
  return std::make_unique<MlpFactory>(spec.to_string(), std::move(hidden), activation,
                                      seed, lambda);
}

}  // namespace ecco::detail
