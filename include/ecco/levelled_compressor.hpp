#pragma once
// Per-tensor compression whose level can change per tensor between rounds (--adaptive
// lgreco, level_choice.hpp): make_levelled_compressor() is make_tensorwise_compressor() with a
// list of candidate inner specs ("levels", e.g. topk:k=0.001 ... topk:k=0.1) instead of one;
// tensor k is compressed with level(k) and every level follows the per-tensor rules of
// make_tensorwise_compressor (dense below dense_below; lowrank on the tensor's own matrix, dense
// when min(rows, cols) <= r).
//
// Levels are process state, shared by all clients of the process: the runtime sets the same
// levels on every process at the same round. Error-feedback state lives in the methods and
// is untouched by a switch; each (tensor, level) pair has its own workspace in
// CompressorWorkspace::parts (entry k * level_count() + c), so a lowrank level keeps its own
// warm start across switches.
//
// Every compress() also adds x to CompressorWorkspace::accumulated (d doubles, allocated by
// the first call): the sum of the client's compressor inputs since the last take_errors(),
// on which the levels' errors are measured.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ecco/compressor.hpp"
#include "ecco/level_choice.hpp"

namespace ecco {

class LevelledCompressor : public Compressor {
 public:
  virtual std::size_t tensor_count() const = 0;
  virtual std::size_t level_count() const = 0;
  // The inner spec of level c (as given, e.g. "topk:k=0.01").
  virtual const std::string& level_spec(std::size_t level) const = 0;
  virtual std::uint32_t level(std::size_t tensor) const = 0;
  // std::invalid_argument unless there is one level < level_count() per tensor.
  virtual void set_levels(std::span<const std::uint32_t> levels) = 0;
  // Bytes of tensor k's part at level c in one message: ceil(the part compressor's theoretical
  // bits / 8) + 24 (the part's length and header). Data-independent.
  virtual std::uint64_t part_bytes(std::size_t tensor, std::size_t level) const = 0;
  // True if tensor k travels dense at level c.
  virtual bool dense(std::size_t tensor, std::size_t level) const = 0;
  // errors[k * level_count() + c] += ||C_{k,c}(a_k) - a_k||^2 for every tensor k and level c,
  // with a = workspace.accumulated, then sets a = 0. C_{k,c} runs on a copy of its workspace,
  // so no warm start moves; a lowrank level runs three warm-started power iterations on a_k
  // (an estimate of what the level reaches once warm), every other level one call. Draws
  // from rng only. Cost: levels x (one compression of every tensor); nothing if a is empty
  // (no compress() since the last call). std::invalid_argument if errors has another size.
  virtual void take_errors(CompressorWorkspace& workspace, Rng& rng, std::span<double> errors) const = 0;
};

// The byte table of every (tensor, level) pair (part_bytes), errors 0: what set-up checks a
// budget against and what each choice fills the errors of.
LevelCosts level_costs(const LevelledCompressor& compressor);

// level_specs: the candidate inner specs (>= 1; any spec make_tensorwise_compressor takes,
// lowrank without rows=); initial_level: the level of every tensor at the start. ConfigError
// for a bad spec; std::invalid_argument for a bad layout or initial_level.
std::unique_ptr<LevelledCompressor> make_levelled_compressor(std::span<const std::string> level_specs,
                                                             const TensorLayout& layout, std::size_t dense_below,
                                                             std::uint32_t initial_level);

}  // namespace ecco
