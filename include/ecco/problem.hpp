#pragma once
// Problems: the local objective f_i of one client on its own data shard.
//
// The distributed objective is f(x) = (1/n) sum_i f_i(x). Problems never see MPI.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <Eigen/Core>

#include "ecco/dataset.hpp"
#include "ecco/spec.hpp"

namespace ecco {

class Problem {
 public:
  virtual ~Problem() = default;

  virtual std::size_t dim() const = 0;
  // f_i(x).
  virtual double loss(Eigen::Ref<const Eigen::VectorXd> x) const = 0;
  // Writes grad f_i(x) into grad (size dim()) and returns f_i(x).
  virtual double loss_and_gradient(Eigen::Ref<const Eigen::VectorXd> x,
                                   Eigen::Ref<Eigen::VectorXd> grad) const = 0;
  // An upper bound L_i on the smoothness constant of f_i, as defined in ALGORITHMS.md 1.13.
  virtual double smoothness() const = 0;
};

// Builds problems of one spec ("logistic:lambda=0.1") on given data.
class ProblemFactory {
 public:
  virtual ~ProblemFactory() = default;
  virtual std::string spec() const = 0;
  virtual std::unique_ptr<Problem> make(Dataset shard) const = 0;
  // Smoothness of the problem on the whole dataset (the global L of the papers).
  virtual double smoothness_of(const Dataset& all) const = 0;
};

std::unique_ptr<ProblemFactory> make_problem_factory(std::string_view spec_text);
std::span<const SpecEntry> problem_table();

// lambda_max(A^T A) of a sparse matrix: a dense symmetric eigen-solver on the Gram matrix
// when d <= dense_limit, otherwise deterministic power iteration on A (relative tolerance
// 1e-12 on the Rayleigh quotient).
double max_eigenvalue_gram(const SparseRows& a, std::size_t dense_limit = 2048);

}  // namespace ecco
