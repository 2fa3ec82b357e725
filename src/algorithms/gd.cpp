// gd — distributed gradient descent, uncompressed.
//   client i at x^t (t >= 0): send grad f_i(x^t) densely (at wire precision).
//   server: g^t = (1/n) sum_i m_i;  x^{t+1} = x^t - gamma g^t.
// Sends d values per client per round; the compressor is not used. Theory step 1/L.
//
// sgd:batch=B — the same with minibatch gradients (drawn without replacement, fresh each
// round; the step from x^0 uses the full gradient, as the EF21 family does).
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

 private:
  std::unique_ptr<GradientEstimator> estimator_;
};

class Gd final : public Method {
 public:
  explicit Gd(BatchSize batch) : batch_(std::move(batch)) {}
  std::string spec() const override { return batch_.full ? "gd" : "sgd:batch=" + batch_.text; }
  bool uses_compressor() const override { return false; }
  TheoryStep theory_step_size(const StepSizeRule& rule, const TheoryInputs& in) const override {
    return ef21_rule(rule, in, 1.0);
  }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    return std::make_unique<DirectClient>(make_estimator(batch_, setup));
  }
  std::unique_ptr<ServerMethod> make_server(const MethodSetup& setup) const override {
    return std::make_unique<MeanStepServer>(setup, MeanStepServer::Mode::replace, setup.step_size);
  }

 private:
  BatchSize batch_;
};

}  // namespace

std::unique_ptr<Method> make_gd(const Spec& /*spec*/) { return std::make_unique<Gd>(BatchSize{}); }
std::unique_ptr<Method> make_sgd(const Spec& spec) { return std::make_unique<Gd>(parse_batch(spec)); }

}  // namespace ecco::detail
