#include "ecco/oracle.hpp"

#include <chrono>

namespace ecco {

GradientOracle::GradientOracle(const Problem& problem)
    : problem_(problem), gradient_(static_cast<Eigen::Index>(problem.dim())) {}

namespace {

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void GradientOracle::evaluate(const Eigen::Ref<const Eigen::VectorXd>& x, std::int64_t version) {
  if (version == version_) return;
  const auto start = std::chrono::steady_clock::now();
  loss_ = problem_.loss_and_gradient(x, gradient_);
  seconds_ += since(start);
  version_ = version;
  ++evaluations_;
}

void GradientOracle::batch_gradient(Eigen::Ref<const Eigen::VectorXd> x, std::span<const std::uint32_t> batch,
                                    Eigen::Ref<Eigen::VectorXd> grad) {
  const auto start = std::chrono::steady_clock::now();
  problem_.batch_gradient(x, batch, grad);
  seconds_ += since(start);
}

const Eigen::VectorXd& GradientOracle::gradient(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t version) {
  evaluate(x, version);
  return gradient_;
}

double GradientOracle::loss(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t version) {
  evaluate(x, version);
  return loss_;
}

}  // namespace ecco
