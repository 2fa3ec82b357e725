#include "train/level_adapter.hpp"

#include <span>
#include <stdexcept>
#include <string>

namespace ecco::detail {

LevelAdapter::LevelAdapter(RunState& state, Transport& transport, RunObserver* observer)
    : state_(state),
      transport_(transport),
      settings_(state.info.adaptive.value()),
      observer_(observer),
      compressor_(*state.levels),
      costs_(level_costs(*state.levels)),
      uniform_(costs_.tensors, settings_.uniform_level),
      errors_(static_cast<Eigen::Index>(costs_.error.size())),
      broadcast_(costs_.tensors) {}

bool LevelAdapter::decides_after(std::int64_t t) const {
  return t > 0 && t % settings_.every == 0 && t < state_.info.config.rounds;
}

void LevelAdapter::decide(std::int64_t t) {
  const std::uint64_t seed = state_.info.config.seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(t));
  errors_.setZero();
  transport_.ordered_fold(errors_, state_.clients.size(), [&](std::size_t k, Eigen::Ref<Eigen::VectorXd> term) {
    LocalClient& c = state_.clients[k];
    term.setZero();
    Rng rng(derive_seed(seed, c.id, SeedPurpose::level_errors));
    compressor_.take_errors(c.workspace, rng, std::span<double>(term.data(), static_cast<std::size_t>(term.size())));
  });
  if (transport_.is_server()) {
    costs_.error.assign(errors_.data(), errors_.data() + errors_.size());
    const LevelChoice uniform = evaluate(costs_, uniform_);
    const LevelChoice choice = settings_.budget > 0
                                   ? min_error_within_bytes(costs_, settings_.budget, settings_.buckets)
                                   : min_bytes_within_error_of(costs_, uniform_, settings_.buckets);
    // Set-up checked that the budget fits the smallest message, and the uniform setting meets
    // its own error: the program always has a choice.
    if (!choice.feasible) throw std::logic_error("lgreco: no feasible choice of levels");
    LevelDecision decision{.round = t,
                           .level = choice.level,
                           .dense = {},
                           .bytes = choice.bytes,
                           .error = choice.error,
                           .uniform_bytes = uniform.bytes,
                           .uniform_error = uniform.error};
    for (std::size_t k = 0; k < costs_.tensors; ++k) {
      decision.dense.push_back(compressor_.dense(k, choice.level[k]) ? 1 : 0);
      broadcast_[k] = static_cast<double>(choice.level[k]);
    }
    if (observer_ != nullptr) observer_->on_levels(state_.info, decision);
    decisions_.push_back(std::move(decision));
  }
  transport_.broadcast(std::span<double>(broadcast_));
  std::vector<std::uint32_t> chosen(costs_.tensors);
  for (std::size_t k = 0; k < costs_.tensors; ++k) chosen[k] = static_cast<std::uint32_t>(broadcast_[k]);
  compressor_.set_levels(chosen);
}

}  // namespace ecco::detail
