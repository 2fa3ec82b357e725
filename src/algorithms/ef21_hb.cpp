// ef21_hb — EF21-HB, EF21 with heavy-ball momentum at the server (EF21-BW, ALGORITHMS.md 1.8).
//   clients: EF21 (g_i^0 = grad f_i(x^0); c_i = C(grad f_i(x^t) - g_i); g_i += c_i).
//   server:  x^{t+1} = x^t - gamma v^t;  g^{t+1} = g^t + mean c_i;  v^{t+1} = eta v^t + g^{t+1};
//            v^0 = g^0.
// Sends what C sends. eta in [0, 1); eta = 0 is EF21. Theory step: the EF21 rule (as the
// reference code), which ignores the momentum; scale it with mult.
#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class Ef21Hb final : public Ef21FamilyMethod {
 public:
  Ef21Hb(double eta, std::string eta_text) : Ef21FamilyMethod("ef21_hb"), eta_(eta), eta_text_(std::move(eta_text)) {}
  std::string spec() const override { return "ef21_hb:eta=" + eta_text_; }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    Ef21ClientOptions options;
    options.estimator = make_full_gradient();
    return make_ef21_client(setup.dim, std::move(options));
  }

 protected:
  MeanStepRule mean_step(const MethodSetup& setup) const override {
    return {MeanStepMode::accumulate, setup.schedule, {}, eta_, std::nullopt};
  }

 private:
  double eta_;
  std::string eta_text_;
};

}  // namespace

std::unique_ptr<Method> make_ef21_hb(const Spec& spec) {
  const double eta = spec.get_double("eta");
  if (!(eta >= 0.0 && eta < 1.0)) {
    throw ConfigError("algorithm 'ef21_hb': eta must be in [0, 1), got '" + spec.get_string("eta") + "'");
  }
  return std::make_unique<Ef21Hb>(eta, spec.get_string("eta"));
}

}  // namespace ecco::detail
