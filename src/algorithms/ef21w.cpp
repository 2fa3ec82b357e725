// ef21w — EF21-W, weighted EF21 (Richtárik, Gasanov, Burlachenko 2024), ALGORITHMS.md 1.4.
// Weights w_i = L_i / sum_j L_j, so n w_i = L_i / L_AM.
//   init:    g_i^0 = grad f_i(x^0) / (n w_i) sent densely;  server g^0 = sum_i w_i g_i^0.
//   round t: server x^t = x^{t-1} - gamma g^{t-1};
//            client c_i = C(grad f_i(x^t) / (n w_i) - g_i);  g_i += c_i;  send c_i;
//            server g^t = g^{t-1} + sum_i w_i c_i.
// Sends what C sends. Theory step 1/(L + L_AM xi(alpha)) (mean=am is this method's default).
// For a positively homogeneous C (TopK) the iterates equal EF21's.
#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class Ef21w final : public Ef21FamilyMethod {
 public:
  explicit Ef21w(InitialState init) : Ef21FamilyMethod("ef21w"), init_(init) {}
  std::string spec() const override { return std::string("ef21w:init=") + to_string(init_); }
  bool needs_smoothness() const override { return true; }
  TheoryStep theory_step_size(const StepSizeRule& rule, const TheoryInputs& in) const override {
    return ef21_rule(rule, in, in.uplink.alpha, SmoothnessMean::arithmetic);
  }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t client) const override {
    Ef21ClientOptions options;
    options.estimator = make_full_gradient();
    options.init = init_;
    options.scale = mean_smoothness(setup) / setup.smoothness.at(client);  // 1 / (n w_i)
    return make_ef21_client(setup.dim, std::move(options));
  }

 protected:
  MeanStepRule mean_step(const MethodSetup& setup) const override {
    double total = 0.0;
    for (double l : setup.smoothness) total += l;
    std::vector<double> weights;
    for (double l : setup.smoothness) weights.push_back(l / total);
    return {MeanStepMode::accumulate, setup.schedule, std::move(weights), std::nullopt, std::nullopt};
  }

 private:
  static double mean_smoothness(const MethodSetup& setup) {
    double total = 0.0;
    for (double l : setup.smoothness) total += l;
    return total / static_cast<double>(setup.smoothness.size());
  }

  InitialState init_;
};

}  // namespace

std::unique_ptr<Method> make_ef21w(const Spec& spec) { return std::make_unique<Ef21w>(parse_initial_state(spec)); }

}  // namespace ecco::detail
