#pragma once
// Modified Gram-Schmidt, twice (private to src/compressors): lowrank.cpp, shared_factor.cpp.
#include <Eigen/Core>

namespace ecco::detail {

// Orthonormalises the columns of P in place, in column order. A column whose norm after
// orthogonalisation is at most 1e-12 times its norm before (or zero) becomes zero; returns
// the number of such columns. Operations in a fixed order: the same input gives the same bits.
inline int orthonormalise(Eigen::Ref<Eigen::MatrixXd> P) {
  int vanished = 0;
  for (Eigen::Index c = 0; c < P.cols(); ++c) {
    const double before = P.col(c).norm();
    for (int pass = 0; pass < 2; ++pass) {
      for (Eigen::Index prior = 0; prior < c; ++prior) {
        const double projection = P.col(prior).dot(P.col(c));
        P.col(c) -= projection * P.col(prior);
      }
    }
    const double after = P.col(c).norm();
    if (!(after > 1e-12 * before) || after == 0.0) {
      P.col(c).setZero();
      ++vanished;
    } else {
      P.col(c) /= after;
    }
  }
  return vanished;
}

}  // namespace ecco::detail
