#pragma once
// The matrix view of the lowrank layouts, written independently of the library for the
// tests: x of dimension d as the rows x ceil(d / rows) column-major matrix, zero-padded.
#include <Eigen/Core>

namespace ecco::testing {

inline Eigen::MatrixXd matrix_view(const Eigen::VectorXd& x, Eigen::Index rows) {
  const Eigen::Index cols = (x.size() + rows - 1) / rows;
  Eigen::VectorXd padded = Eigen::VectorXd::Zero(rows * cols);
  padded.head(x.size()) = x;
  return Eigen::Map<const Eigen::MatrixXd>(padded.data(), rows, cols);
}

// The first d entries of the matrix, column-major.
inline Eigen::VectorXd vector_view(const Eigen::MatrixXd& m, Eigen::Index d) {
  return Eigen::Map<const Eigen::VectorXd>(m.data(), m.size()).head(d);
}

}  // namespace ecco::testing
