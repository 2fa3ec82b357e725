#pragma once
// The non-convex regulariser of the EF21 experiments (ALGORITHMS.md 1.13), shared by the
// problems: r(x) = lambda sum_k x_k^2 / (1 + x_k^2), grad_k = lambda 2 x_k / (1 + x_k^2)^2,
// smoothness at most 2 lambda. Private to src/problems.
#include <Eigen/Core>

namespace ecco::detail {

inline double nonconvex_regulariser(const Eigen::Ref<const Eigen::VectorXd>& x, double lambda) {
  double r = 0.0;
  for (Eigen::Index k = 0; k < x.size(); ++k) r += x[k] * x[k] / (1.0 + x[k] * x[k]);
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
