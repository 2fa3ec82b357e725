// econtrol — EControl (Gao, Islamov, Stich 2024), ALGORITHMS.md 1.11.
//   init:    h_i^0 = e_i(x^0) sent densely (init=compressed: C(e_i(x^0))); e_i^0 = 0;
//            server h^0 = (1/n) sum_i h_i^0.
//   round t: server x^t = x^{t-1} - gamma h^{t-1};
//            client g = e_i(x^t); Delta_i = C(eta e_i + g - h_i); send Delta_i;
//                   e_i += g - h_i - Delta_i;  h_i += Delta_i;
//            server h^t = h^{t-1} + (1/n) sum_i Delta_i.
// e_i(x) is the full local gradient (batch=full) or a minibatch gradient. The paper's step
// at x^0 sends Delta_i^0 = C(g_i^0 - h_i^0) = 0 when h_i^0 = g_i^0; ecco starts from round 1
// (so with init=compressed that step's C(g - C(g)) is not sent). eta = 0 with
// init=compressed is EF21 with init=compressed. Sends what C sends. No theory step size in
// ecco (ALGORITHMS.md gives only its order delta/L): pass --lr VALUE.
#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class EControlClient final : public ClientMethod {
 public:
  EControlClient(std::size_t dim, std::unique_ptr<GradientEstimator> estimator, double eta, InitialState init)
      : estimator_(std::move(estimator)),
        eta_(eta),
        init_(init),
        e_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(dim))),
        h_(e_),
        work_(e_) {}

  bool initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) override {
    compress_to_wire(estimator_->initial(x0, env), init_ == InitialState::compressed, env, out);
    out.assign_to(h_);
    return true;
  }

  bool step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) override {
    const Eigen::VectorXd& g = estimator_->at(x, t, env);
    work_ = eta_ * e_ + g - h_;
    compress_to_wire(work_, true, env, out);
    e_ += g - h_;
    out.add_to(e_, -1.0);
    out.add_to(h_);
    return true;
  }
  void state(StateIO& io) override {
    io.field("e", e_);
    io.field("h", h_);
    io.begin("estimator");
    estimator_->state(io);
    io.end();
  }

 private:
  std::unique_ptr<GradientEstimator> estimator_;
  double eta_;
  InitialState init_;
  Eigen::VectorXd e_;  // accumulated error
  Eigen::VectorXd h_;  // gradient shift, mirrored by the server
  Eigen::VectorXd work_;
};

class EControl final : public Ef21FamilyMethod {
 public:
  EControl(double eta, std::string eta_text, BatchSize batch, InitialState init)
      : Ef21FamilyMethod("econtrol"), eta_(eta), eta_text_(std::move(eta_text)), batch_(std::move(batch)), init_(init) {}
  std::string spec() const override {
    return "econtrol:batch=" + batch_.text + ",eta=" + eta_text_ + ",init=" + to_string(init_);
  }
  TheoryStep theory_step_size(const StepSizeRule& /*rule*/, const TheoryInputs& /*in*/) const override {
    throw ConfigError("algorithm 'econtrol' has no theory step size in ecco (ALGORITHMS.md 1.11 gives only its "
                      "order delta/L): pass --lr VALUE");
  }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    return std::make_unique<EControlClient>(setup.dim, make_estimator(batch_, setup), eta_, init_);
  }

 private:
  double eta_;
  std::string eta_text_;
  BatchSize batch_;
  InitialState init_;
};

}  // namespace

std::unique_ptr<Method> make_econtrol(const Spec& spec) {
  const double eta = spec.get_double("eta");
  if (!(eta >= 0.0 && eta <= 1.0)) {
    throw ConfigError("algorithm 'econtrol': eta must be in [0, 1], got '" + spec.get_string("eta") + "'");
  }
  return std::make_unique<EControl>(eta, spec.get_string("eta"), parse_batch(spec), parse_initial_state(spec));
}

}  // namespace ecco::detail
