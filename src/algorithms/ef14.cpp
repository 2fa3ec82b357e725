// ef14 — classic error feedback (Seide et al. 2014, Stich et al. 2018, Karimireddy et al.
// 2019), ALGORITHMS.md 1.2; the step size is applied before compression.
//   client i at x^t (t >= 0): p_i = e_i + gamma * e(x^t);  Delta_i = C(p_i);
//                             e_i <- p_i - Delta_i;  send Delta_i      (e_i^0 = 0)
//   server: x^{t+1} = x^t - (1/n) sum_i Delta_i.
// e(x) is the full local gradient (batch=full) or a minibatch gradient. Sends what C
// sends. Theory step: the EF21 rule, as the EF21 reference code uses for EF.
//
// ef14:momentum=beta (beta > 0): error feedback on the gradient and heavy-ball momentum at
// the server, as in PowerSGD (Vogels et al. 2019, Algorithm 2 without Nesterov):
//   client: p_i = e_i + e(x^t);  Delta_i = C(p_i);  e_i <- p_i - Delta_i;  send Delta_i
//   server: v <- beta v + (1/n) sum_i Delta_i;  x^{t+1} = x^t - gamma_t v      (v^0 = the
//   initial mean). The step size stays outside the compressor, so a schedule changes the step
//   and not what the error holds. momentum=0 is the classic form above.
#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class Ef14Client final : public ClientMethod {
 public:
  // gamma_inside: the classic form (gamma times the gradient is compressed); else the
  // gradient itself (momentum form, the server applies the step).
  Ef14Client(const MethodSetup& setup, std::unique_ptr<GradientEstimator> estimator, bool gamma_inside)
      : schedule_(gamma_inside ? setup.schedule : StepSchedule::constant(1.0)),
        estimator_(std::move(estimator)),
        e_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim))),
        p_(e_) {}

  bool initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) override {
    return send(estimator_->initial(x0, env), schedule_.at(0), env, out);
  }
  bool step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) override {
    return send(estimator_->at(x, t, env), schedule_.at(t), env, out);
  }
  void state(StateIO& io) override {
    io.field("e", e_);
    io.begin("estimator");
    estimator_->state(io);
    io.end();
  }

 private:
  // gamma: the step of the server update this message feeds (update t at round t).
  bool send(const Eigen::VectorXd& gradient, double gamma, ClientEnv& env, Message& out) {
    p_ = e_ + gamma * gradient;
    compress_to_wire(p_, true, env, out);
    e_ = p_;
    out.add_to(e_, -1.0);
    return true;
  }

  StepSchedule schedule_;
  std::unique_ptr<GradientEstimator> estimator_;
  Eigen::VectorXd e_;  // the error: what was meant to be sent but was not
  Eigen::VectorXd p_;
};

class Ef14 final : public MeanStepMethod {
 public:
  Ef14(BatchSize batch, double momentum, std::string momentum_text)
      : batch_(std::move(batch)), momentum_(momentum), momentum_text_(std::move(momentum_text)) {}
  std::string spec() const override { return "ef14:batch=" + batch_.text + ",momentum=" + momentum_text_; }
  void check_compressor(const CompressorTraits& traits) const override { require_contractive("ef14", traits); }
  TheoryStep theory_step_size(const StepSizeRule& rule, const TheoryInputs& in) const override {
    if (momentum_ > 0.0) {
      throw ConfigError("algorithm 'ef14:momentum=" + momentum_text_ +
                        "' has no theory step size (the rule is for the classic form); give --lr VALUE");
    }
    return ef21_rule(rule, in, in.uplink.alpha);
  }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    return std::make_unique<Ef14Client>(setup, make_estimator(batch_, setup), momentum_ == 0.0);
  }

 protected:
  MeanStepRule mean_step(const MethodSetup& setup) const override {
    // Classic form: the clients already multiplied by gamma, so the server (and every delta
    // replica) moves by the plain mean. Momentum form: heavy ball with the run's schedule.
    if (momentum_ > 0.0) return {MeanStepMode::replace, setup.schedule, {}, momentum_, std::nullopt};
    return {MeanStepMode::replace, StepSchedule::constant(1.0), {}, std::nullopt, std::nullopt};
  }

 private:
  BatchSize batch_;
  double momentum_;
  std::string momentum_text_;
};

}  // namespace

std::unique_ptr<Method> make_ef14(const Spec& spec) {
  const double momentum = spec.get_double("momentum");
  if (!(momentum >= 0.0 && momentum < 1.0)) {
    throw ConfigError("algorithm 'ef14': momentum must be in [0, 1), got '" + spec.get_string("momentum") + "'");
  }
  return std::make_unique<Ef14>(parse_batch(spec), momentum, spec.get_string("momentum"));
}

}  // namespace ecco::detail
