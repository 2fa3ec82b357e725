#include "train/level_adapter.hpp"

#include <span>
#include <stdexcept>
#include <string>

#include "ecco/level_choice.hpp"

namespace ecco::detail {

LevelAdapter::LevelAdapter(RunState& state, Transport& transport, AdaptiveLevels settings, RunObserver* observer)
    : state_(state),
      transport_(transport),
      settings_(std::move(settings)),
      observer_(observer),
      compressor_(*state.levels) {
  errors_.resize(static_cast<Eigen::Index>(compressor_.tensor_count() * compressor_.level_count()));
  broadcast_.resize(compressor_.tensor_count());
}

bool LevelAdapter::decides_after(std::int64_t t) const {
  return t > 0 && t % settings_.every == 0 && t < state_.info.config.rounds;
}

void LevelAdapter::decide(std::int64_t t) {
  const std::size_t tensors = compressor_.tensor_count();
  const std::size_t levels = compressor_.level_count();
  const std::uint64_t seed = state_.info.config.seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(t));
  errors_.setZero();
  transport_.ordered_fold(errors_, state_.clients.size(), [&](std::size_t k, Eigen::Ref<Eigen::VectorXd> term) {
    LocalClient& c = state_.clients[k];
    term.setZero();
    Rng rng(derive_seed(seed, c.id, SeedPurpose::level_errors));
    compressor_.take_errors(c.workspace, rng, std::span<double>(term.data(), static_cast<std::size_t>(term.size())));
  });
  if (transport_.is_server()) {
    LevelCosts costs;
    costs.tensors = tensors;
    costs.levels = levels;
    costs.bytes.resize(tensors * levels);
    costs.error.assign(errors_.data(), errors_.data() + errors_.size());
    LevelDecision decision;
    decision.round = t;
    for (std::size_t k = 0; k < tensors; ++k) {
      for (std::size_t c = 0; c < levels; ++c) costs.bytes[k * levels + c] = compressor_.part_bytes(k, c);
      decision.uniform_bytes += costs.bytes[k * levels + settings_.uniform_level];
      decision.uniform_error += costs.error[k * levels + settings_.uniform_level];
    }
    LevelChoice choice = settings_.budget > 0
                             ? min_error_within_bytes(costs, settings_.budget, settings_.buckets)
                             : min_bytes_within_error(costs, decision.uniform_error, settings_.buckets);
    // Set-up checked that the budget fits the smallest message, and the uniform setting meets
    // its own error: the program always has a choice.
    if (!choice.feasible) throw std::logic_error("lgreco: no feasible choice of levels");
    // The program's byte units round each part up, so its least units may hold a few more
    // true bytes than the uniform setting (at most one unit per tensor): never choose more.
    if (settings_.budget == 0 && choice.bytes > decision.uniform_bytes) {
      choice.level.assign(tensors, settings_.uniform_level);
      choice.bytes = decision.uniform_bytes;
      choice.error = decision.uniform_error;
    }
    decision.level = choice.level;
    for (std::size_t k = 0; k < tensors; ++k) decision.dense.push_back(compressor_.dense(k, choice.level[k]) ? 1 : 0);
    decision.bytes = choice.bytes;
    decision.error = choice.error;
    for (std::size_t k = 0; k < tensors; ++k) broadcast_[k] = static_cast<double>(choice.level[k]);
    if (observer_ != nullptr) observer_->on_levels(state_.info, decision);
    decisions_.push_back(std::move(decision));
  }
  transport_.broadcast(std::span<double>(broadcast_));
  std::vector<std::uint32_t> chosen(tensors);
  for (std::size_t k = 0; k < tensors; ++k) chosen[k] = static_cast<std::uint32_t>(broadcast_[k]);
  compressor_.set_levels(chosen);
}

}  // namespace ecco::detail
