// adam:batch=B,beta1=,beta2=,eps=,weight_decay=,bias_correction= — distributed Adam,
// uncompressed (the dense baseline of 1-bit Adam).
//   client i at x^t (t >= 0): send its minibatch gradient densely (at wire precision), as sgd.
//   server: g^t = (1/n) sum_i m_i, then Adam's moments and step (AdamW: weight decay
//   decoupled from the moments), with the step gamma_t of --lr and --lr-schedule:
//     m^t = b1 m^{t-1} + (1 - b1) g^t,   s^t = b2 s^{t-1} + (1 - b2) (g^t)^2,   m^{-1} = s^{-1} = 0
//     x^{t+1} = x^t (1 - gamma_t wd) - (gamma_t / c1) m^t / (sqrt(s^t) / sqrt(c2) + eps)
//   with c1 = 1 - b1^(t+1), c2 = 1 - b2^(t+1) (bias_correction=true, as PyTorch's AdamW) or
//   c1 = c2 = 1 (false, as DeepSpeed's 1-bit Adam). The compressor is not used; no theory
//   step size (--lr VALUE). A mean-step method: every aggregation mode and downlink.
#include <cmath>

#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class Adam final : public MeanStepMethod {
 public:
  Adam(BatchSize batch, AdamRule rule, std::string spec) : batch_(std::move(batch)), rule_(rule), spec_(std::move(spec)) {}
  std::string spec() const override { return spec_; }
  bool uses_compressor() const override { return false; }
  TheoryStep theory_step_size(const StepSizeRule& /*rule*/, const TheoryInputs& /*in*/) const override {
    throw ConfigError("algorithm 'adam' has no theory step size: pass --lr VALUE (e.g. --lr 0.001)");
  }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    return make_direct_client(make_estimator(batch_, setup));
  }

 protected:
  MeanStepRule mean_step(const MethodSetup& setup) const override {
    return {MeanStepMode::replace, setup.schedule, {}, std::nullopt, rule_};
  }

 private:
  BatchSize batch_;
  AdamRule rule_;
  std::string spec_;
};

}  // namespace

AdamRule parse_adam_rule(const Spec& spec) {
  AdamRule rule;
  rule.beta1 = spec.get_double("beta1");
  rule.beta2 = spec.get_double("beta2");
  rule.eps = spec.get_double("eps");
  rule.weight_decay = spec.get_double("weight_decay");
  rule.bias_correction = spec.get_bool("bias_correction");
  const std::string where = "algorithm '" + spec.name() + "': ";
  if (!(rule.beta1 >= 0.0 && rule.beta1 < 1.0)) {
    throw ConfigError(where + "beta1 must be in [0, 1), got '" + spec.get_string("beta1") + "'");
  }
  if (!(rule.beta2 >= 0.0 && rule.beta2 < 1.0)) {
    throw ConfigError(where + "beta2 must be in [0, 1), got '" + spec.get_string("beta2") + "'");
  }
  if (!(rule.eps > 0.0 && std::isfinite(rule.eps))) {
    throw ConfigError(where + "eps must be finite and > 0, got '" + spec.get_string("eps") + "'");
  }
  if (!(rule.weight_decay >= 0.0 && std::isfinite(rule.weight_decay))) {
    throw ConfigError(where + "weight_decay must be finite and >= 0, got '" + spec.get_string("weight_decay") + "'");
  }
  return rule;
}

std::unique_ptr<Method> make_adam(const Spec& spec) {
  return std::make_unique<Adam>(parse_batch(spec), parse_adam_rule(spec), spec.to_string());
}

}  // namespace ecco::detail
