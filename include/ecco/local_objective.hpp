#pragma once
// LocalObjective: what a client's method may ask of its local objective f_i. Methods see
// only this interface (the problems layer implements it with GradientOracle), so the
// algorithms know nothing about data or problems.
#include <cstddef>
#include <cstdint>
#include <span>

#include <Eigen/Core>

namespace ecco {

class LocalObjective {
 public:
  virtual ~LocalObjective() = default;
  // N_i, the number of rows of the client's data (minibatches index into 0..N_i-1).
  virtual std::size_t rows() const = 0;
  // grad f_i(x) where x is the model of round `version`; the same version always names the
  // same x, so a repeated call may return a cached result.
  virtual const Eigen::VectorXd& gradient(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t version) = 0;
  // Minibatch gradient: grad of (1/|B|) sum_{j in B} l_j(x) + r(x), B = batch (each < rows()).
  virtual void batch_gradient(Eigen::Ref<const Eigen::VectorXd> x, std::span<const std::uint32_t> batch,
                              Eigen::Ref<Eigen::VectorXd> grad) = 0;
};

}  // namespace ecco
