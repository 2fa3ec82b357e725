#include "core/registry.hpp"
#include "ecco/error.hpp"
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
          {{"softmax",
            {{"lambda", "0", "weight of the L2 regulariser (lambda/2)||x||^2, >= 0"}},
            "multinomial logistic regression (weight C x d_in, bias C) on the distinct labels as classes"},
           detail::make_softmax},
          {{"mlp",
            {{"hidden", "512x512", "hidden layer widths joined by 'x', each 1..65536"},
             {"act", "relu", "activation of the hidden layers: relu or tanh"},
             {"init_seed", "1", "seed of the starting point (He uniform for relu, Glorot uniform for tanh)"},
             {"lambda", "0", "weight of the L2 regulariser (lambda/2)||x||^2, >= 0"}},
            "fully connected network d_in -> hidden -> C classes, softmax cross-entropy; needs a constant --lr"},
           detail::make_mlp},
      });
  return table;
}

}  // namespace

std::string_view to_string(ComputePrecision precision) {
  return precision == ComputePrecision::fp32 ? "fp32" : "fp64";
}

ComputePrecision parse_compute_precision(std::string_view text) {
  if (text == "fp32") return ComputePrecision::fp32;
  if (text == "fp64") return ComputePrecision::fp64;
  throw ConfigError("--precision: '" + std::string(text) + "' is not a precision (allowed: auto, fp32, fp64)");
}

void ProblemFactory::set_precision(ComputePrecision precision) {
  if (precision == ComputePrecision::fp64) return;
  throw ConfigError("problem '" + parse_spec("problem", spec()).name +
                    "' computes in fp64 only; --precision fp32 is for softmax and mlp");
}

std::span<const SpecEntry> problem_table() { return registry().entries(); }

std::unique_ptr<ProblemFactory> make_problem_factory(std::string_view spec_text) { return registry().make(spec_text); }

}  // namespace ecco
