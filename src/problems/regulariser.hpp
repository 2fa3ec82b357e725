#pragma once
// The non-convex regulariser of the EF21 experiments (ALGORITHMS.md 1.13), shared by the
// problems: r(x) = lambda sum_k x_k^2 / (1 + x_k^2), grad_k = lambda 2 x_k / (1 + x_k^2)^2,
// smoothness at most 2 lambda. Private to src/problems. With lambda = 0 both skip the pass
// over x (a division per coordinate, a few ms per call at d = 1e6): the loss gets 0 and the
// gradient is left as it is, where adding the zero terms could only turn a -0.0 into +0.0.
#include <cmath>

#include <Eigen/Core>

namespace ecco::detail {

inline double nonconvex_regulariser(const Eigen::Ref<const Eigen::VectorXd>& x, double lambda) {
  if (lambda == 0.0) return 0.0;
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
  if (lambda == 0.0) return;
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    const double s = 1.0 + x[k] * x[k];
    grad[k] += lambda * 2.0 * x[k] / (s * s);
  }
}

}  // namespace ecco::detail
