#include "algorithms/mean_step_state.hpp"

#include <cmath>
#include <stdexcept>

namespace ecco::detail {

MeanStepState::MeanStepState(std::size_t dim, bool replace, StepSchedule schedule, std::optional<double> momentum,
                             std::optional<AdamRule> adam)
    : replace_(replace),
      schedule_(std::move(schedule)),
      momentum_(momentum),
      adam_(adam),
      g_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(dim))) {
  if (momentum_ && adam_) throw std::logic_error("MeanStepState: heavy-ball momentum and Adam are exclusive");
  if (momentum_) v_ = g_;
  if (adam_) {
    m_ = g_;
    s_ = g_;
  }
}

void MeanStepState::absorb(const Message& update, bool initial) {
  if (replace_ || initial) {
    update.assign_to(g_);
  } else {
    update.add_to(g_);
  }
  update_moments(initial);
}

void MeanStepState::absorb(const Eigen::VectorXd& update, bool initial) {
  if (replace_ || initial) {
    g_ = update;
  } else {
    g_ += update;
  }
  update_moments(initial);
}

template <class Scalar>
void MeanStepState::absorb_dense_sum(const Scalar* s, std::optional<double> divisor, bool initial) {
  const auto d = static_cast<std::size_t>(g_.size());
  const bool replace = replace_ || initial;
  double* g = g_.data();
  const auto update_at = [&](std::size_t j) {
    const double sum = 0.0 + 1.0 * static_cast<double>(s[j]);
    return divisor ? sum / *divisor : sum;
  };
  if (!momentum_) {
    for (std::size_t j = 0; j < d; ++j) g[j] = replace ? update_at(j) : g[j] + update_at(j);
    if (adam_) update_moments(initial);
    return;
  }
  const double eta = *momentum_;
  double* v = v_.data();
  for (std::size_t j = 0; j < d; ++j) {
    const double gj = replace ? update_at(j) : g[j] + update_at(j);
    g[j] = gj;
    v[j] = initial ? gj : eta * v[j] + gj;
  }
}

template void MeanStepState::absorb_dense_sum<float>(const float*, std::optional<double>, bool);
template void MeanStepState::absorb_dense_sum<double>(const double*, std::optional<double>, bool);

void MeanStepState::update_moments(bool initial) {
  if (momentum_) {
    if (initial) {
      v_ = g_;
    } else {
      v_ = *momentum_ * v_ + g_;
    }
    return;
  }
  if (!adam_) return;
  const double b1 = adam_->beta1;
  const double b2 = adam_->beta2;
  const auto d = static_cast<std::size_t>(g_.size());
  const double* g = g_.data();
  double* m = m_.data();
  double* s = s_.data();
  for (std::size_t j = 0; j < d; ++j) {
    m[j] = b1 * m[j] + (1.0 - b1) * g[j];
    s[j] = b2 * s[j] + (1.0 - b2) * (g[j] * g[j]);
  }
  const auto power = static_cast<double>(updates_ + 1);
  adam_c2_sqrt_ = adam_->bias_correction ? std::sqrt(1.0 - std::pow(b2, power)) : 1.0;
}

void MeanStepState::set_momentum(const Message& momentum) {
  if (!adam_) throw std::logic_error("MeanStepState::set_momentum needs the Adam rule");
  momentum.assign_to(m_);
  const auto d = static_cast<std::size_t>(m_.size());
  double* m = m_.data();
  const double* s = s_.data();
  for (std::size_t j = 0; j < d; ++j) m[j] = s[j] == 0.0 ? 0.0 : m[j];
}

void MeanStepState::step(const double* x, double* out, bool model_message) {
  const double gamma = schedule_.at(updates_);
  const auto d = static_cast<std::size_t>(g_.size());
  const double first = model_message ? 0.0 : -0.0;  // x + (-0.0) == x for every x, -0 included
  if (!adam_) {
    const double* direction = momentum_ ? v_.data() : g_.data();
    for (std::size_t j = 0; j < d; ++j) out[j] = first + 1.0 * (x[j] - gamma * direction[j]);
  } else {
    const double decay = 1.0 - gamma * adam_->weight_decay;
    const double c1 = adam_->bias_correction ? 1.0 - std::pow(adam_->beta1, static_cast<double>(updates_ + 1)) : 1.0;
    const double step_size = gamma / c1;
    const double c2_sqrt = adam_c2_sqrt_;
    const double eps = adam_->eps;
    const double* m = m_.data();
    const double* s = s_.data();
    for (std::size_t j = 0; j < d; ++j) {
      out[j] = first + 1.0 * (x[j] * decay - step_size * m[j] / (std::sqrt(s[j]) / c2_sqrt + eps));
    }
  }
  ++updates_;
}

}  // namespace ecco::detail
