#include "core/registry.hpp"
#include "ecco/problem.hpp"
#include "problems/builtin.hpp"

namespace ecco {
namespace {

const detail::Registry<ProblemFactory>& registry() {
  static const detail::Registry<ProblemFactory> table(
      "problem",
      {
          {{"logistic",
            {{"lambda", "0.1", "weight of the non-convex regulariser sum x^2/(1+x^2), >= 0"}},
            "binary logistic regression with the EF21 papers' non-convex regulariser"},
           detail::make_logistic},
          {{"least_squares",
            {{"lambda", "0", "weight of the non-convex regulariser sum x^2/(1+x^2), >= 0"}},
            "linear regression (1/N_i)||A_i x - b_i||^2 on the labels as targets"},
           detail::make_least_squares},
      });
  return table;
}

}  // namespace

std::span<const SpecEntry> problem_table() { return registry().entries(); }

std::unique_ptr<ProblemFactory> make_problem_factory(std::string_view spec_text) { return registry().make(spec_text); }

}  // namespace ecco
