#pragma once
// GradientOracle: evaluates one client's f_i and grad f_i at the model of a given round
// and remembers the last evaluation, so that the metrics of a logged round reuse the
// gradient the method already computed at the same model.
#include <cstdint>
#include <span>

#include <Eigen/Core>

#include "ecco/local_objective.hpp"
#include "ecco/problem.hpp"

namespace ecco {

class StateIO;

class GradientOracle final : public LocalObjective {
 public:
  explicit GradientOracle(const Problem& problem);

  std::size_t rows() const override { return problem_.rows(); }
  // grad f_i(x) where x is the model of round `version`. The caller guarantees that one
  // version always names the same x; a repeated call costs nothing.
  const Eigen::VectorXd& gradient(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t version) override;
  // f_i(x) at the same point (computed together with the gradient).
  double loss(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t version);

  // Minibatch gradient (not cached): see Problem::batch_gradient.
  void batch_gradient(Eigen::Ref<const Eigen::VectorXd> x, std::span<const std::uint32_t> batch,
                      Eigen::Ref<Eigen::VectorXd> grad) override;

  const Problem& problem() const { return problem_; }
  // Mean of the losses computed since the last call (full evaluations and minibatch
  // losses, each counted once), then forgets them; NaN when there were none. This is the
  // "training loss" a minibatch run logs.
  double take_mean_loss();

  // Number of full gradient evaluations so far.
  std::int64_t evaluations() const { return evaluations_; }
  // Wall time spent in the problem's loss and gradient code so far, in seconds.
  double seconds() const { return seconds_; }

  // Carried state (checkpoints): the losses not yet taken by take_mean_loss. The cached
  // gradient is not saved: a resumed run asks for the models of later rounds only.
  void state(StateIO& io);

 private:
  void evaluate(const Eigen::Ref<const Eigen::VectorXd>& x, std::int64_t version);

  const Problem& problem_;
  Eigen::VectorXd gradient_;
  double loss_ = 0.0;
  std::int64_t version_ = -1;
  std::int64_t evaluations_ = 0;
  double seconds_ = 0.0;
  double loss_sum_ = 0.0;  // since the last take_mean_loss()
  std::int64_t loss_count_ = 0;
};

}  // namespace ecco
