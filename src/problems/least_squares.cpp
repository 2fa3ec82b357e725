// least_squares:lambda=L — linear regression with the optional non-convex regulariser
// (ALGORITHMS.md 1.13, the EF21-W synthetic problem):
//   f_i(x) = (1/N_i) ||A_i x - b_i||^2 + lambda sum_k x_k^2 / (1 + x_k^2)
//   grad   = (2/N_i) A_i^T (A_i x - b_i) + lambda 2 x_k / (1 + x_k^2)^2
//   L_i    = 2 lambda_max(A_i^T A_i) / N_i + 2 lambda
// With lambda = 0, f = (1/n) sum_i f_i is a quadratic with Hessian (1/n) sum_i (2/N_i) A_i^T A_i,
// and its smallest eigenvalue is the PL constant mu (0 when f is not strongly convex).
// The targets b are the dataset's labels, used as real numbers.
#include <Eigen/Eigenvalues>

#include "ecco/error.hpp"
#include "problems/builtin.hpp"
#include "problems/regulariser.hpp"

namespace ecco::detail {
namespace {

class LeastSquares final : public Problem {
 public:
  LeastSquares(Dataset shard, double lambda) : data_(std::move(shard)), lambda_(lambda) {
    residual_.resize(data_.features.rows());
  }

  std::size_t dim() const override { return data_.dim(); }
  std::size_t rows() const override { return data_.rows(); }

  double loss(Eigen::Ref<const Eigen::VectorXd> x) const override {
    residual_.noalias() = data_.features * x;
    residual_ -= data_.labels;
    return residual_.squaredNorm() / static_cast<double>(residual_.size()) + nonconvex_regulariser(x, lambda_);
  }

  double loss_and_gradient(Eigen::Ref<const Eigen::VectorXd> x, Eigen::Ref<Eigen::VectorXd> grad) const override {
    residual_.noalias() = data_.features * x;
    residual_ -= data_.labels;
    const auto rows = static_cast<double>(residual_.size());
    grad.noalias() = data_.features.transpose() * residual_;
    grad *= 2.0 / rows;
    add_nonconvex_regulariser_gradient(x, lambda_, grad);
    return residual_.squaredNorm() / rows + nonconvex_regulariser(x, lambda_);
  }

  double batch_gradient(Eigen::Ref<const Eigen::VectorXd> x, std::span<const std::uint32_t> batch,
                        Eigen::Ref<Eigen::VectorXd> grad) const override {
    grad.setZero();
    double sum = 0.0;
    for (const std::uint32_t j : batch) {
      const auto row = static_cast<Eigen::Index>(j);
      double r = -data_.labels[row];
      for (SparseRows::InnerIterator it(data_.features, row); it; ++it) r += it.value() * x[it.index()];
      sum += r * r;
      for (SparseRows::InnerIterator it(data_.features, row); it; ++it) grad[it.index()] += r * it.value();
    }
    const auto size = static_cast<double>(batch.size());
    grad *= 2.0 / size;
    add_nonconvex_regulariser_gradient(x, lambda_, grad);
    return sum / size + nonconvex_regulariser(x, lambda_);
  }

  double smoothness() const override { return least_squares_smoothness(data_, lambda_); }

 private:
  Dataset data_;
  double lambda_;
  mutable Eigen::VectorXd residual_;  // scratch of size N_i
};

class LeastSquaresFactory final : public ProblemFactory {
 public:
  LeastSquaresFactory(double lambda, std::string lambda_text) : lambda_(lambda), lambda_text_(std::move(lambda_text)) {}

  std::string spec() const override { return "least_squares:lambda=" + lambda_text_; }

  std::unique_ptr<Problem> make(Dataset shard) const override {
    return std::make_unique<LeastSquares>(std::move(shard), lambda_);
  }

  double smoothness_of(const Dataset& rows) const override { return least_squares_smoothness(rows, lambda_); }

  double pl_constant(std::span<const Dataset> shards) const override {
    if (lambda_ != 0.0 || shards.empty()) return 0.0;
    const Eigen::Index d = shards.front().features.cols();
    if (d > 4096) return 0.0;  // a dense d x d Hessian would be too large
    Eigen::MatrixXd hessian = Eigen::MatrixXd::Zero(d, d);
    for (const Dataset& shard : shards) {
      const SparseRows gram = shard.features.transpose() * shard.features;
      hessian += Eigen::MatrixXd(gram) * (2.0 / static_cast<double>(shard.rows()));
    }
    hessian /= static_cast<double>(shards.size());
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(hessian, Eigen::EigenvaluesOnly);
    return std::max(0.0, solver.eigenvalues().minCoeff());
  }

 private:
  double lambda_;
  std::string lambda_text_;
};

}  // namespace

double least_squares_smoothness(const Dataset& data, double lambda) {
  return 2.0 * max_eigenvalue_gram(data.features) / static_cast<double>(data.rows()) + 2.0 * lambda;
}

std::unique_ptr<ProblemFactory> make_least_squares(const Spec& spec) {
  const double lambda = spec.get_double("lambda");
  if (!(lambda >= 0.0 && lambda <= 1e300)) {
    throw ConfigError("problem 'least_squares': lambda must be in [0, 1e300], got " + spec.get_string("lambda"));
  }
  return std::make_unique<LeastSquaresFactory>(lambda, spec.get_string("lambda"));
}

}  // namespace ecco::detail
