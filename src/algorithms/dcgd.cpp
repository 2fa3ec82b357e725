// dcgd:batch=B — distributed compressed gradient descent, no error feedback (ALGORITHMS.md 1.1).
//   client i at x^t (t >= 0): send m_i = C(e_i(x^t)), e_i the full local gradient
//   (batch=full) or a minibatch gradient (compressed SGD as in QSGD).
//   server: x^{t+1} = x^t - gamma (1/n) sum_i m_i.
// Sends what C sends. With an unbiased C (omega) the theory step is 1/(L (1 + omega/n));
// with a contractive C (TopK) there is no guarantee and it may stall or diverge: the
// baseline that shows why error feedback exists. For contractive C, --lr theory uses the
// EF21 rule only so that runs are comparable at equal step sizes.
#include <cstdio>

#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class DcgdClient final : public ClientMethod {
 public:
  explicit DcgdClient(std::unique_ptr<GradientEstimator> estimator) : estimator_(std::move(estimator)) {}
  bool initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) override {
    compress_to_wire(estimator_->initial(x0, env), true, env, out);
    return true;
  }
  bool step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) override {
    compress_to_wire(estimator_->at(x, t, env), true, env, out);
    return true;
  }
  void state(StateIO& io) override { estimator_->state(io); }

 private:
  std::unique_ptr<GradientEstimator> estimator_;
};

class Dcgd final : public MeanStepMethod {
 public:
  explicit Dcgd(BatchSize batch) : batch_(std::move(batch)) {}
  std::string spec() const override { return "dcgd:batch=" + batch_.text; }
  TheoryStep theory_step_size(const StepSizeRule& rule, const TheoryInputs& in) const override {
    if (in.uplink.kind == CompressorClass::contractive) {
      TheoryStep step = ef21_rule(rule, in, in.uplink.alpha);
      step.detail += " (DCGD has no guarantee with a biased compressor; EF21's rule for comparison)";
      return step;
    }
    if (in.uplink.kind == CompressorClass::biased) {
      throw ConfigError("algorithm 'dcgd' has no theory step size for a biased compressor without guarantees "
                        "(onebit, lowrank): pass --lr VALUE");
    }
    if (rule.pl) throw ConfigError("--lr theory:pl=true is not implemented for dcgd");
    TheoryStep step;
    step.alpha = 1.0;
    const double n = static_cast<double>(in.clients);
    step.gamma = rule.mult / (in.constants.L * (1.0 + in.uplink.omega / n));
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "DCGD rule 1/(L (1 + omega/n)), omega = %.6g", in.uplink.omega);
    step.detail = buffer;
    return step;
  }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    return std::make_unique<DcgdClient>(make_estimator(batch_, setup));
  }

 protected:
  MeanStepRule mean_step(const MethodSetup& setup) const override {
    return {MeanStepMode::replace, setup.schedule, {}, std::nullopt, std::nullopt};
  }

 private:
  BatchSize batch_;
};

}  // namespace

std::unique_ptr<Method> make_dcgd(const Spec& spec) { return std::make_unique<Dcgd>(parse_batch(spec)); }

}  // namespace ecco::detail
