#pragma once
// MeanStepState: the step of the mean-step methods (builtin.hpp, MeanStepRule), kept in one
// place so that the server (model downlink) and every replica (delta downlink) step x with
// the same operations, hence the same bits. Private to src/algorithms.
//
// Server update k = 0, 1, ... takes the aggregated update u^k (u^0 from the initial messages):
//   g:         g = u^k (replace mode, or k = 0), else g += u^k;
//   direction: g; or heavy-ball v^0 = g^0, v^k = eta v^{k-1} + g^k; or Adam (below);
//   x^{k+1} = x^k - gamma_k direction.
// Adam (AdamW: the decay is decoupled from the moments), with b1, b2, eps, wd and the bias
// corrections c1_k = 1 - b1^(k+1), c2_k = 1 - b2^(k+1) (both 1 without bias correction):
//   m^k = b1 m^{k-1} + (1 - b1) g^k,   s^k = b2 s^{k-1} + (1 - b2) (g^k)^2   (m^{-1} = s^{-1} = 0)
//   x^{k+1} = x^k (1 - gamma_k wd) - (gamma_k / c1_k) m^k / (sqrt(s^k) / sqrt(c2_k) + eps)
// (coordinate-wise, in this order of operations). 1-bit Adam freezes s (and c2) after its
// warm-up and sets m to the momentum the server sends (set_momentum), except where s == 0.
#include <cstddef>
#include <cstdint>
#include <optional>

#include <Eigen/Core>

#include "ecco/message.hpp"
#include "ecco/state_io.hpp"
#include "ecco/step_schedule.hpp"

namespace ecco::detail {

struct AdamRule {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool bias_correction = true;
};

class MeanStepState {
 public:
  // momentum and adam are exclusive (at most one is set).
  MeanStepState(std::size_t dim, bool replace, StepSchedule schedule, std::optional<double> momentum,
                std::optional<AdamRule> adam);

  // g from the update of aggregation `initial` (true for the aggregation of the initial
  // messages), then the momentum or Adam moments from g. O(d).
  void absorb(const Message& update, bool initial);
  void absorb(const Eigen::VectorXd& update, bool initial);
  // The same from the dense weighted sum s of a round (fp32 or fp64 sums of wire values):
  // update_j = (0 + 1 * s_j) / divisor (no division when divisor is empty), the operations
  // of absorbing the Message path's sum, fused in one pass.
  template <class Scalar>
  void absorb_dense_sum(const Scalar* s, std::optional<double> divisor, bool initial);

  // 1-bit Adam after its warm-up: m = momentum (decoded), s frozen; g is not used. Where
  // s_j == 0 (a gradient that was exactly 0 through the warm-up) m_j = 0 instead: a sign
  // cannot send a zero, and the step would be gamma scale / eps.
  void set_momentum(const Message& momentum);

  // out = the next model from x for update k = updates(), then k advances. out may be x
  // (same size d). model_message: write 0 + 1 * value, what a receiver's Message::assign_to
  // makes of the value (-0 becomes +0), so that a stepped-in-place model equals the sent one.
  void step(const double* x, double* out, bool model_message);

  std::int64_t updates() const { return updates_; }
  const Eigen::VectorXd& g() const { return g_; }
  // Adam's first and second moments (empty without Adam).
  const Eigen::VectorXd& adam_m() const { return m_; }
  const Eigen::VectorXd& adam_s() const { return s_; }
  // Heavy-ball average v (empty without momentum).
  const Eigen::VectorXd& heavy_ball() const { return v_; }

  // Checkpoints: the update count, g, the momentum and Adam moments (state_io.hpp).
  void state(StateIO& io) {
    io.field("updates", updates_);
    io.field("adam_c2_sqrt", adam_c2_sqrt_);
    io.field("g", g_);
    io.field("heavy_ball", v_);
    io.field("adam_m", m_);
    io.field("adam_s", s_);
  }

 private:
  void update_moments(bool initial);

  bool replace_;
  StepSchedule schedule_;
  std::optional<double> momentum_;
  std::optional<AdamRule> adam_;
  std::int64_t updates_ = 0;
  // Adam: s^k and c2_k as of the last absorb (frozen by set_momentum, which does not absorb).
  double adam_c2_sqrt_ = 1.0;
  Eigen::VectorXd g_;
  Eigen::VectorXd v_;  // heavy ball
  Eigen::VectorXd m_;  // Adam
  Eigen::VectorXd s_;  // Adam
};

}  // namespace ecco::detail
