// gd — distributed gradient descent, uncompressed.
//   client i at x^t (t >= 0): send grad f_i(x^t) densely (at wire precision).
//   server: g^t = (1/n) sum_i m_i;  x^{t+1} = x^t - gamma g^t.
// Sends d values per client per round; the compressor is not used. Theory step 1/L.
//
// sgd:batch=B,momentum=beta — the same with minibatch gradients (drawn without replacement,
// fresh each round; the step from x^0 uses the full gradient, as the EF21 family does,
// unless --start-gradient batch) and optional heavy-ball momentum at the server:
//   v^0 = g^0, v^t = beta v^{t-1} + g^t, x^{t+1} = x^t - gamma_t v^t  (beta = 0: plain SGD).
#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class DirectClient final : public ClientMethod {
 public:
  explicit DirectClient(std::unique_ptr<GradientEstimator> estimator) : estimator_(std::move(estimator)) {}

  bool initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) override {
    compress_to_wire(estimator_->initial(x0, env), false, env, out);
    return true;
  }
  bool step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) override {
    compress_to_wire(estimator_->at(x, t, env), false, env, out);
    return true;
  }
  // The message is the estimate itself, and no state depends on its rounding.
  const Eigen::VectorXd* dense_message(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env) override {
    return t == 0 ? &estimator_->initial(x, env) : &estimator_->at(x, t, env);
  }

  void state(StateIO& io) override { estimator_->state(io); }

 private:
  std::unique_ptr<GradientEstimator> estimator_;
};

class Gd final : public MeanStepMethod {
 public:
  Gd(BatchSize batch, double momentum, std::string momentum_text)
      : batch_(std::move(batch)), momentum_(momentum), momentum_text_(std::move(momentum_text)) {}
  std::string spec() const override {
    return batch_.full && momentum_text_.empty() ? "gd" : "sgd:batch=" + batch_.text + ",momentum=" + momentum_text_;
  }
  bool uses_compressor() const override { return false; }
  TheoryStep theory_step_size(const StepSizeRule& rule, const TheoryInputs& in) const override {
    return ef21_rule(rule, in, 1.0);
  }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    return make_direct_client(make_estimator(batch_, setup));
  }

 protected:
  MeanStepRule mean_step(const MethodSetup& setup) const override {
    return {MeanStepMode::replace, setup.schedule, {}, momentum_ > 0.0 ? std::optional(momentum_) : std::nullopt, std::nullopt};
  }

 private:
  BatchSize batch_;
  double momentum_;
  std::string momentum_text_;  // empty for gd
};

}  // namespace

std::unique_ptr<ClientMethod> make_direct_client(std::unique_ptr<GradientEstimator> estimator) {
  return std::make_unique<DirectClient>(std::move(estimator));
}

std::unique_ptr<Method> make_gd(const Spec& /*spec*/) { return std::make_unique<Gd>(BatchSize{}, 0.0, ""); }

std::unique_ptr<Method> make_sgd(const Spec& spec) {
  const double momentum = spec.get_double("momentum");
  if (!(momentum >= 0.0 && momentum < 1.0)) {
    throw ConfigError("algorithm 'sgd': momentum must be in [0, 1), got '" + spec.get_string("momentum") + "'");
  }
  return std::make_unique<Gd>(parse_batch(spec), momentum, spec.get_string("momentum"));
}

}  // namespace ecco::detail
