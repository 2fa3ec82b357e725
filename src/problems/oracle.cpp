#include "ecco/oracle.hpp"

namespace ecco {

GradientOracle::GradientOracle(const Problem& problem)
    : problem_(problem), gradient_(static_cast<Eigen::Index>(problem.dim())) {}

void GradientOracle::evaluate(const Eigen::Ref<const Eigen::VectorXd>& x, std::int64_t version) {
  if (version == version_) return;
  loss_ = problem_.loss_and_gradient(x, gradient_);
  version_ = version;
  ++evaluations_;
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
