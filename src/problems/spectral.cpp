#include <cmath>

#include <Eigen/Eigenvalues>

#include "ecco/log.hpp"
#include "ecco/problem.hpp"
#include "ecco/rng.hpp"

namespace ecco {
namespace {

double largest_eigenvalue(const Eigen::MatrixXd& symmetric) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(symmetric, Eigen::EigenvaluesOnly);
  return std::max(0.0, solver.eigenvalues().maxCoeff());
}

// lambda_max(A A^T) through the N x N Gram matrix of the rows (for N < d).
double row_gram_max_eigenvalue(const SparseRows& a) {
  const SparseRows gram = a * a.transpose();
  return largest_eigenvalue(Eigen::MatrixXd(gram));
}

// lambda_max(A^T A) through the d x d Gram matrix.
double column_gram_max_eigenvalue(const SparseRows& a) {
  const Eigen::Index d = a.cols();
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(d, d);
  // Sum of the outer products of the rows; only the lower triangle is read by the solver.
  for (Eigen::Index r = 0; r < a.outerSize(); ++r) {
    for (SparseRows::InnerIterator p(a, r); p; ++p) {
      for (SparseRows::InnerIterator q(a, r); q && q.index() <= p.index(); ++q) {
        gram(p.index(), q.index()) += p.value() * q.value();
      }
    }
  }
  return largest_eigenvalue(gram);
}

double power_iteration_max_eigenvalue(const SparseRows& a) {
  const Eigen::Index d = a.cols();
  Rng rng(0x5eed);
  Eigen::VectorXd v(d);
  for (Eigen::Index j = 0; j < d; ++j) v[j] = rng.normal();
  v.normalize();
  Eigen::VectorXd av(a.rows());
  Eigen::VectorXd w(d);
  double lambda = 0.0;
  constexpr int kMaxIterations = 100000;
  for (int it = 0; it < kMaxIterations; ++it) {
    av.noalias() = a * v;
    w.noalias() = a.transpose() * av;
    const double next = v.dot(w);
    const double norm = w.norm();
    if (norm == 0.0) return 0.0;
    v = w / norm;
    if (std::fabs(next - lambda) <= 1e-12 * std::fabs(next)) return next;
    lambda = next;
  }
  log().warn("power iteration did not reach relative tolerance 1e-12 in {} iterations; lambda_max ~ {:.17g}",
             kMaxIterations, lambda);
  return lambda;
}

}  // namespace

double max_eigenvalue_gram(const SparseRows& a, std::size_t dense_limit) {
  if (a.rows() == 0 || a.cols() == 0) return 0.0;
  const auto small_side = static_cast<std::size_t>(std::min(a.rows(), a.cols()));
  if (small_side > dense_limit) return power_iteration_max_eigenvalue(a);
  return a.rows() < a.cols() ? row_gram_max_eigenvalue(a) : column_gram_max_eigenvalue(a);
}

}  // namespace ecco
