// ef21_page — EF21-PAGE (EF21-BW, ALGORITHMS.md 1.5): EF21 with the PAGE estimator.
//   init:    v_i^0 = g_i^0 = grad f_i(x^0), sent densely.
//   round t: one coin per round shared by all clients (from the seed): with probability p
//            v_i = grad f_i(x^t), else v_i += (1/b) sum_{j in B} (grad f_ij(x^t) - grad f_ij(x^{t-1}))
//            over a fresh minibatch B of b rows; c_i = C(v_i - g_i); g_i += c_i; send c_i.
// Sends what C sends. Theory step: the EF21 rule (as the reference code uses).
#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class Ef21Page final : public Ef21FamilyMethod {
 public:
  Ef21Page(BatchSize batch, double p, std::string p_text)
      : Ef21FamilyMethod("ef21_page"), batch_(std::move(batch)), p_(p), p_text_(std::move(p_text)) {}
  std::string spec() const override { return "ef21_page:batch=" + batch_.text + ",p=" + p_text_; }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    Ef21ClientOptions options;
    options.estimator = make_page(batch_, p_, setup);
    return make_ef21_client(setup.dim, std::move(options));
  }

 private:
  BatchSize batch_;
  double p_;
  std::string p_text_;
};

}  // namespace

std::unique_ptr<Method> make_ef21_page(const Spec& spec) {
  const BatchSize batch = parse_batch(spec);
  if (batch.full) throw ConfigError("algorithm 'ef21_page': batch must be a count or a fraction, not full");
  const double p = spec.get_double("p");
  if (!(p > 0.0 && p <= 1.0)) throw ConfigError("algorithm 'ef21_page': p must be in (0, 1], got '" + spec.get_string("p") + "'");
  return std::make_unique<Ef21Page>(batch, p, spec.get_string("p"));
}

}  // namespace ecco::detail
