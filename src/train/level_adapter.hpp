#pragma once
// --adaptive lgreco in the round loop (adaptive_levels.hpp): the collective step that
// measures, chooses and switches the per-tensor levels (private to src/train).
#include <cstdint>
#include <vector>

#include "ecco/adaptive_levels.hpp"
#include "ecco/level_choice.hpp"
#include "ecco/trainer.hpp"
#include "train/run_state.hpp"
#include "train/transport.hpp"

namespace ecco::detail {

class LevelAdapter {
 public:
  // The settings are state.info.adaptive; observer: told of every choice (server only; may
  // be null).
  LevelAdapter(RunState& state, Transport& transport, RunObserver* observer);

  // True if a choice follows the aggregation of round t (t = every, 2 every, ... < rounds).
  bool decides_after(std::int64_t t) const;

  // Collective, after the aggregation of round t. Every process takes its clients' errors
  // (LevelledCompressor::take_errors, each client from its own Rng of (seed, round, client)),
  // the server sums them over the clients in client order (ordered_fold: the same bits on
  // any number of ranks), solves the program (level_choice.hpp) and broadcasts the levels
  // (one double per tensor); every process then sets them, so that all clients use them from
  // round t + 1 on. Traffic: (tensors x levels) doubles per process to the server, tensors
  // doubles back. Cost: levels compressions of every client's accumulated input.
  void decide(std::int64_t t);

  // The choices so far (server only; empty elsewhere).
  const std::vector<LevelDecision>& decisions() const { return decisions_; }
  // --resume: the choices made before the checkpoint (the levels themselves are restored in
  // the compressor).
  void restore(std::vector<LevelDecision> decisions) { decisions_ = std::move(decisions); }

 private:
  RunState& state_;
  Transport& transport_;
  const AdaptiveLevels& settings_;
  RunObserver* observer_;
  LevelledCompressor& compressor_;
  LevelCosts costs_;                     // the bytes (data-independent) and the errors of a choice
  std::vector<std::uint32_t> uniform_;   // every tensor at the --compressor's level
  Eigen::VectorXd errors_;               // tensors x levels, row-major: the clients' fold
  std::vector<double> broadcast_;
  std::vector<LevelDecision> decisions_;
};

}  // namespace ecco::detail
