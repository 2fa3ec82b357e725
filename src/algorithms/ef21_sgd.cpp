// ef21_sgd — EF21-SGD (EF21-BW, ALGORITHMS.md 1.5): EF21 with a minibatch gradient.
//   init:    g_i^0 = grad f_i(x^0) (full, as the reference code), sent densely.
//   round t: client c_i = C(ghat_i(x^t) - g_i), ghat_i the mean gradient of
//            tau_i = batch rows drawn without replacement, fresh each round (seeded);
//            g_i += c_i; send c_i;  server as EF21.
// Sends what C sends. Theory step: the EF21 rule (as the reference code uses).
//
// ef21_sgdm — EF21-SGDM (Fatkhullin, Tyurin, Richtárik 2023): the same with the momentum
// estimator v_i^t = (1 - eta) v_i^{t-1} + eta ghat_i(x^t), v_i^0 = grad f_i(x^0), and
// c_i = C(v_i^t - g_i). eta = 1 is EF21-SGD.
#include <optional>

#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class Ef21Sgd final : public Ef21FamilyMethod {
 public:
  Ef21Sgd(BatchSize batch, InitialState init, std::optional<double> eta, std::string eta_text = "")
      : Ef21FamilyMethod(eta ? "ef21_sgdm" : "ef21_sgd"),
        batch_(std::move(batch)),
        init_(init),
        eta_(eta),
        eta_text_(std::move(eta_text)) {}

  std::string spec() const override {
    std::string text = name() + ":batch=" + batch_.text;
    if (eta_) text += ",eta=" + eta_text_;
    return text + ",init=" + to_string(init_);
  }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    Ef21ClientOptions options;
    options.estimator = make_estimator(batch_, setup);
    if (eta_) options.estimator = make_momentum(std::move(options.estimator), *eta_);
    options.init = init_;
    return make_ef21_client(setup.dim, std::move(options));
  }

 private:
  BatchSize batch_;
  InitialState init_;
  std::optional<double> eta_;
  std::string eta_text_;
};

}  // namespace

std::unique_ptr<Method> make_ef21_sgd(const Spec& spec) {
  return std::make_unique<Ef21Sgd>(parse_batch(spec), parse_initial_state(spec), std::nullopt);
}

std::unique_ptr<Method> make_ef21_sgdm(const Spec& spec) {
  const double eta = spec.get_double("eta");
  if (!(eta > 0.0 && eta <= 1.0)) {
    throw ConfigError("algorithm 'ef21_sgdm': eta must be in (0, 1], got '" + spec.get_string("eta") + "'");
  }
  return std::make_unique<Ef21Sgd>(parse_batch(spec), parse_initial_state(spec), eta, spec.get_string("eta"));
}

}  // namespace ecco::detail
