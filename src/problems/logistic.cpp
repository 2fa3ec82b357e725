// logistic:lambda=L — logistic regression with the non-convex regulariser of the EF21
// experiments (ALGORITHMS.md 1.13):
//   f_i(x) = (1/N_i) sum_j log(1 + exp(-y_j a_j^T x)) + lambda sum_k x_k^2 / (1 + x_k^2)
//   grad   = -(1/N_i) sum_j y_j a_j / (1 + exp(y_j a_j^T x)) + lambda 2 x_k / (1 + x_k^2)^2
//   L_i    = lambda_max(A_i^T A_i) / (4 N_i) + 2 lambda
// Labels must be -1 / +1. Cost of a gradient: O(nnz(A_i) + d).
#include <cmath>
#include <cstdio>
#include <set>
#include <string>

#include "ecco/error.hpp"
#include "problems/builtin.hpp"
#include "problems/regulariser.hpp"

namespace ecco::detail {
namespace {

// log(1 + exp(t)) without overflow.
double softplus(double t) { return t > 0.0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t)); }

class Logistic final : public Problem {
 public:
  Logistic(Dataset shard, double lambda) : data_(std::move(shard)), lambda_(lambda) {
    margins_.resize(data_.features.rows());
    weights_.resize(data_.features.rows());
  }

  std::size_t dim() const override { return data_.dim(); }
  std::size_t rows() const override { return data_.rows(); }

  double loss(Eigen::Ref<const Eigen::VectorXd> x) const override {
    margins_.noalias() = data_.features * x;
    double sum = 0.0;
    for (Eigen::Index j = 0; j < margins_.size(); ++j) sum += softplus(-data_.labels[j] * margins_[j]);
    return sum / static_cast<double>(margins_.size()) + nonconvex_regulariser(x, lambda_);
  }

  double loss_and_gradient(Eigen::Ref<const Eigen::VectorXd> x, Eigen::Ref<Eigen::VectorXd> grad) const override {
    margins_.noalias() = data_.features * x;
    const auto rows = static_cast<double>(margins_.size());
    double sum = 0.0;
    for (Eigen::Index j = 0; j < margins_.size(); ++j) {
      const double y = data_.labels[j];
      const double m = y * margins_[j];
      sum += softplus(-m);
      weights_[j] = -y / (1.0 + std::exp(m));
    }
    grad.noalias() = data_.features.transpose() * weights_;
    grad /= rows;
    add_nonconvex_regulariser_gradient(x, lambda_, grad);
    return sum / rows + nonconvex_regulariser(x, lambda_);
  }

  double batch_gradient(Eigen::Ref<const Eigen::VectorXd> x, std::span<const std::uint32_t> batch,
                        Eigen::Ref<Eigen::VectorXd> grad) const override {
    grad.setZero();
    double sum = 0.0;
    for (const std::uint32_t j : batch) {
      const auto row = static_cast<Eigen::Index>(j);
      const double y = data_.labels[row];
      double margin = 0.0;
      for (SparseRows::InnerIterator it(data_.features, row); it; ++it) margin += it.value() * x[it.index()];
      sum += softplus(-y * margin);
      const double w = -y / (1.0 + std::exp(y * margin));
      for (SparseRows::InnerIterator it(data_.features, row); it; ++it) grad[it.index()] += w * it.value();
    }
    const auto size = static_cast<double>(batch.size());
    grad /= size;
    add_nonconvex_regulariser_gradient(x, lambda_, grad);
    return sum / size + nonconvex_regulariser(x, lambda_);
  }

  double smoothness() const override { return logistic_smoothness(data_, lambda_); }

  bool classifies() const override { return true; }
  // Rows with y a^T x > 0 (a zero margin counts as wrong).
  std::optional<std::size_t> correct(Eigen::Ref<const Eigen::VectorXd> x) const override {
    margins_.noalias() = data_.features * x;
    std::size_t right = 0;
    for (Eigen::Index j = 0; j < margins_.size(); ++j) right += data_.labels[j] * margins_[j] > 0.0 ? std::size_t{1} : std::size_t{0};
    return right;
  }

 private:
  Dataset data_;
  double lambda_;
  // Scratch of size N_i, reused by every evaluation.
  mutable Eigen::VectorXd margins_;
  mutable Eigen::VectorXd weights_;
};

class LogisticFactory final : public ProblemFactory {
 public:
  explicit LogisticFactory(double lambda, std::string lambda_text)
      : lambda_(lambda), lambda_text_(std::move(lambda_text)) {}

  std::string spec() const override { return "logistic:lambda=" + lambda_text_; }

  std::unique_ptr<Problem> make(Dataset shard) const override {
    check_binary_labels(shard);
    return std::make_unique<Logistic>(std::move(shard), lambda_);
  }

  double smoothness_of(const Dataset& rows) const override { return logistic_smoothness(rows, lambda_); }

  void prepare(const Dataset& all) override {
    std::set<double> labels;
    for (Eigen::Index j = 0; j < all.labels.size() && labels.size() <= 3; ++j) labels.insert(all.labels[j]);
    if (labels.size() == 2 && labels.count(-1.0) == 1 && labels.count(1.0) == 1) return;
    std::string list;
    for (const double y : labels) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%s%g", list.empty() ? "" : ", ", y);
      list += buffer;
    }
    throw DataError(all.source + ": labels {" + list + (labels.size() > 3 ? ", ..." : "") +
                    "}: logistic regression needs exactly two classes");
  }

 private:
  double lambda_;
  std::string lambda_text_;
};

}  // namespace

double logistic_smoothness(const Dataset& data, double lambda) {
  return max_eigenvalue_gram(data.features) / (4.0 * static_cast<double>(data.rows())) + 2.0 * lambda;
}

void check_binary_labels(const Dataset& data) {
  for (Eigen::Index j = 0; j < data.labels.size(); ++j) {
    const double y = data.labels[j];
    if (y != 1.0 && y != -1.0) {
      throw DataError(data.source + ": label " + std::to_string(y) + " in row " + std::to_string(j + 1) +
                      " of a client shard; the logistic problem needs exactly two distinct labels");
    }
  }
}

std::unique_ptr<ProblemFactory> make_logistic(const Spec& spec) {
  const double lambda = spec.get_double("lambda");
  if (!(lambda >= 0.0 && lambda <= 1e300)) {
    throw ConfigError("problem 'logistic': lambda must be in [0, 1e300], got " + spec.get_string("lambda"));
  }
  return std::make_unique<LogisticFactory>(lambda, spec.get_string("lambda"));
}

}  // namespace ecco::detail
