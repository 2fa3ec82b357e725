#pragma once
// The non-convex regulariser of the EF21 experiments (ALGORITHMS.md 1.13), shared by the
// problems: r(x) = lambda sum_k x_k^2 / (1 + x_k^2), grad_k = lambda 2 x_k / (1 + x_k^2)^2,
// smoothness at most 2 lambda. Private to src/problems.
#include <cmath>

#include <Eigen/Core>

namespace ecco::detail {

inline double nonconvex_regulariser(const Eigen::Ref<const Eigen::VectorXd>& x, double lambda) {
  double r = 0.0;
  // x^2 / (1 + x^2) tends to 1 where x^2 overflows (inf / inf would be NaN).
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    const double q = x[k] * x[k];
    r += std::isinf(q) ? 1.0 : q / (1.0 + q);
  }
  return lambda * r;
}

inline void add_nonconvex_regulariser_gradient(const Eigen::Ref<const Eigen::VectorXd>& x, double lambda,
                                               Eigen::Ref<Eigen::VectorXd> grad) {
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    const double s = 1.0 + x[k] * x[k];
    grad[k] += lambda * 2.0 * x[k] / (s * s);
  }
}

}  // namespace ecco::detail
