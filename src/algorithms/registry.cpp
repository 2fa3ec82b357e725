#include "algorithms/builtin.hpp"
#include "core/registry.hpp"

namespace ecco {
namespace {

const detail::Registry<Method>& registry() {
  static const detail::Registry<Method> table(
      "algorithm",
      {
          {{"gd", {}, "distributed gradient descent, uncompressed (the compressor is not used)"}, detail::make_gd},
          {{"ef21", {}, "EF21: clients send C(grad f_i - g_i) and track g_i; needs a contractive compressor"},
           detail::make_ef21},
      });
  return table;
}

}  // namespace

std::span<const SpecEntry> method_table() { return registry().entries(); }

std::unique_ptr<Method> make_method(std::string_view spec_text) { return registry().make(spec_text); }

namespace detail {

void send_initial_gradient(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out,
                           Eigen::VectorXd& state) {
  out.set_dense(env.oracle.gradient(x0, 0));
  round_to_wire(out, env.wire);
  out.assign_to(state);
}

}  // namespace detail
}  // namespace ecco
