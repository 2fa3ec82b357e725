// ef21 — EF21 (Richtárik, Sokolov, Fatkhullin 2021), ALGORITHMS.md 1.3.
//   init:    g_i^0 = grad f_i(x^0) sent densely (init=compressed: C(grad f_i(x^0)));
//            server g^0 = (1/n) sum_i g_i^0.
//   round t: server x^t = x^{t-1} - gamma g^{t-1};
//            client c_i = C(grad f_i(x^t) - g_i);  g_i <- g_i + c_i;  send c_i;
//            server g^t = g^{t-1} + (1/n) sum_i c_i.
// Sends what C sends (k values and indices per client per round for TopK). Needs a
// contractive C; theory step size gamma = 1/(L + L_QM xi(alpha)).
#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class Ef21 final : public Ef21FamilyMethod {
 public:
  explicit Ef21(InitialState init) : Ef21FamilyMethod("ef21"), init_(init) {}
  std::string spec() const override { return std::string("ef21:init=") + to_string(init_); }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    Ef21ClientOptions options;
    options.estimator = make_full_gradient();
    options.init = init_;
    return make_ef21_client(setup.dim, std::move(options));
  }

 private:
  InitialState init_;
};

}  // namespace

std::unique_ptr<Method> make_ef21(const Spec& spec) { return std::make_unique<Ef21>(parse_initial_state(spec)); }

}  // namespace ecco::detail
