#include "ecco/oracle.hpp"

#include "ecco/state_io.hpp"

#include <chrono>
#include <limits>

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
  loss_sum_ += loss_;
  ++loss_count_;
  version_ = version;
  ++evaluations_;
}

void GradientOracle::batch_gradient(Eigen::Ref<const Eigen::VectorXd> x, std::span<const std::uint32_t> batch,
                                    Eigen::Ref<Eigen::VectorXd> grad) {
  const auto start = std::chrono::steady_clock::now();
  loss_sum_ += problem_.batch_gradient(x, batch, grad);
  ++loss_count_;
  seconds_ += since(start);
}

double GradientOracle::take_mean_loss() {
  const double mean = loss_count_ > 0 ? loss_sum_ / static_cast<double>(loss_count_)
                                      : std::numeric_limits<double>::quiet_NaN();
  loss_sum_ = 0.0;
  loss_count_ = 0;
  return mean;
}

const Eigen::VectorXd& GradientOracle::gradient(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t version) {
  evaluate(x, version);
  return gradient_;
}

double GradientOracle::loss(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t version) {
  evaluate(x, version);
  return loss_;
}

void GradientOracle::state(StateIO& io) {
  io.field("loss_sum", loss_sum_);
  io.field("loss_count", loss_count_);
}

}  // namespace ecco
