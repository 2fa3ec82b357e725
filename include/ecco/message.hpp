#pragma once
// Message: what one client sends in one round, in decoded form.
//
// A message is a vector of dimension `dim` in one of four layouts:
//  * dense:   values.size() == dim, indices empty;
//  * sparse:  strictly increasing indices < dim, one value each;
//  * lowrank: the vector seen as a rows x cols matrix M (column-major, M(i, j) = v[i + rows j],
//             cols = ceil(dim / rows), entries past dim dropped) equal to P Q^T, with
//             values = [P (rows x rank, column-major), Q (cols x rank, column-major)];
//  * shared_lowrank: a lowrank message against the run's SharedFactor (shared_factor.hpp,
//             lowrank:factor=shared): values = [P (rows x rank), A (cols x rank), S (rows x rank)],
//             the vector is P A^T as for lowrank; P is the shared factor of version
//             `factor_version` and does not travel (the receiver fills in its own), S is the
//             client's share of the factor update;
//  * parts:   the concatenation of part_count messages (per-tensor compression): part k has
//             dimension d_k >= 1 and covers coordinates [d_0 + ... + d_{k-1}, d_0 + ... + d_k),
//             the d_k sum to dim, 1 <= part_count <= dim, and no part is itself a parts
//             message (depth 1). Each part has its own layout and value code; the parts
//             message itself has code raw, no seed, and empty indices, values and levels.
//
// `values` always holds the decoded doubles, so add_to/assign_to never look at how the
// values travel. How they travel is `code`:
//  * raw: each value in the wire ValueFormat (codec.hpp); round_to_wire() rounds them;
//  * quantised (uniform_levels, power_levels, natural, sign): one signed integer level per
//    value in `levels`, plus `level_count` s and `scale`; values[k] == quantised_value(...)
//    of levels[k] exactly (compressors build them so, round_to_wire() recomputes them).
// A sparse message may carry `seeded` indices: they are the sorted sample of `count()`
// distinct coordinates drawn from `seed` (sample_indices in codec.hpp), so the receiver
// regenerates them and only the 64-bit seed travels.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

namespace ecco {

enum class Layout : std::uint8_t { dense = 1, sparse = 2, lowrank = 3, parts = 4, shared_lowrank = 5 };

// How values travel (wire-format.md, "value codecs"). The numbers are the wire tags.
enum class ValueCode : std::uint8_t {
  raw = 0,              // the wire ValueFormat (fp32, fp64, bf16, fp16)
  uniform_levels = 16,  // level l in [-s, s]:  value = sign(l) * |l| * (scale / s)   (QSGD, TernGrad)
  power_levels = 17,    // level l in [-s, s]:  value = sign(l) * scale * 2^(|l| - s), 0 for l = 0
  natural = 18,         // level l in [-254, 254]: value = sign(l) * scale * 2^(|l| - 127), 0 for l = 0
  sign = 19,            // level l in {-1, +1}: value = l * scale
};

struct Message {
  Layout layout = Layout::dense;
  std::uint32_t dim = 0;
  std::vector<std::uint32_t> indices;  // sparse layout only
  std::vector<double> values;

  // Quantised values (code != raw).
  ValueCode code = ValueCode::raw;
  std::uint32_t level_count = 0;     // s (uniform_levels, power_levels)
  double scale = 0.0;                // exactly representable in fp32, >= 0
  std::vector<std::int32_t> levels;  // one per value

  // Sparse layout: indices follow from seed (shared-seed RandK).
  bool seeded = false;
  std::uint64_t seed = 0;

  // A method's own one-byte flag (0: none), e.g. EF21+'s "add" or "replace". A tagged
  // message costs one byte more on the wire; the compressors never set it.
  std::uint8_t tag = 0;

  // Lowrank and shared_lowrank layouts.
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  std::uint32_t rank = 0;
  std::uint64_t factor_version = 0;  // shared_lowrank: SharedFactor::version() it was made with

  // Parts layout: parts[0, part_count) are the parts, in coordinate order. The entries past
  // part_count are spare messages kept with their buffers for reuse (never read); the vector
  // only grows, so that a steady state of parts messages allocates nothing.
  std::vector<Message> parts;
  std::uint32_t part_count = 0;

  // Stored values (dim for dense messages, rank (rows + cols) for lowrank ones,
  // rank (2 rows + cols) for shared_lowrank ones, 0 for parts).
  std::size_t count() const { return values.size(); }

  // parts[0, part_count) (clamped to parts.size(), so never out of bounds).
  std::span<Message> active_parts() { return {parts.data(), std::min<std::size_t>(part_count, parts.size())}; }
  std::span<const Message> active_parts() const {
    return {parts.data(), std::min<std::size_t>(part_count, parts.size())};
  }

  // Reuse the buffers; no allocation once they are large enough. They reset the
  // quantisation, seed, tag, lowrank and parts fields (part_count = 0; the parts buffers stay).
  void set_dense(Eigen::Ref<const Eigen::VectorXd> x);
  // Dense layout of `dimension` values for a writer that overwrites every value (a
  // quantiser reading the input vector itself, which saves set_dense's copy): values is
  // resized but not filled, levels keep their buffer and size; the rest resets as above.
  void prepare_dense(std::uint32_t dimension);
  void clear_sparse(std::uint32_t dimension);
  // Lowrank layout with values sized rank (rows + cols); cols = ceil(dimension / rows).
  void set_lowrank(std::uint32_t dimension, std::uint32_t matrix_rows, std::uint32_t matrix_rank);
  // Shared_lowrank layout with values sized rank (2 rows + cols) and the given factor version.
  void set_shared_lowrank(std::uint32_t dimension, std::uint32_t matrix_rows, std::uint32_t matrix_rank,
                          std::uint64_t version);
  // Parts layout with part_count = count; grows `parts` to at least count entries (never
  // shrinks it) and leaves the parts' contents to the caller, who fills every one of them.
  void set_parts(std::uint32_t dimension, std::uint32_t count);

  // y += scale * message. y.size() must equal dim. Cost O(count) (dense, sparse),
  // O(dim * rank) (lowrank and shared_lowrank: each entry is the sum over c of P(i,c) Q(j,c), in order c = 0..),
  // or the sum of the parts' costs (parts: each part on its segment of y).
  void add_to(Eigen::Ref<Eigen::VectorXd> y, double factor = 1.0) const;
  // y = message (all other coordinates zero).
  void assign_to(Eigen::Ref<Eigen::VectorXd> y) const;
};

// piece = the restriction of m to coordinates [first, first + length), a message of
// dimension `length` whose coordinate k is m's coordinate first + k, with the same values
// (bit for bit) and value code: a dense slice (levels sliced alike), the sparse entries in
// the range (re-based, explicit indices even when m's were seeded), or, for a parts message,
// the part that covers exactly that range (with the parts message's tag, if it has one).
// Throws ConfigError for low-rank layouts and for parts that do not match the range,
// std::invalid_argument for an empty or out-of-range chunk. Cost O(length) (dense),
// O(log count + kept) (sparse), O(part_count + the part's size) (parts).
void restrict_message(const Message& m, std::uint32_t first, std::uint32_t length, Message& piece);

// The decoded value of a quantised level (see ValueCode); the single definition used by
// compressors, round_to_wire and the decoder, so that all agree bit for bit. +0.0 for l = 0.
double quantised_value(ValueCode code, std::int32_t level, std::uint32_t level_count, double scale);

class StateIO;
// Every field of a message, parts included (checkpoints of a server's pending downlink).
void message_state(Message& message, StateIO& io);

}  // namespace ecco
