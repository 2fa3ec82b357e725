#pragma once
// Message: what one client sends in one round, in decoded form.
//
// A message is a vector of dimension `dim` in one of three layouts:
//  * dense:   values.size() == dim, indices empty;
//  * sparse:  strictly increasing indices < dim, one value each;
//  * lowrank: the vector seen as a rows x cols matrix M (column-major, M(i, j) = v[i + rows j],
//             cols = ceil(dim / rows), entries past dim dropped) equal to P Q^T, with
//             values = [P (rows x rank, column-major), Q (cols x rank, column-major)].
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
#include <cstddef>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace ecco {

enum class Layout : std::uint8_t { dense = 1, sparse = 2, lowrank = 3 };

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

  // Lowrank layout.
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  std::uint32_t rank = 0;

  // Stored values (dim for dense messages, rank (rows + cols) for lowrank ones).
  std::size_t count() const { return values.size(); }

  // Reuse the buffers; no allocation once they are large enough. They reset the
  // quantisation, seed, tag and lowrank fields.
  void set_dense(Eigen::Ref<const Eigen::VectorXd> x);
  void clear_sparse(std::uint32_t dimension);
  // Lowrank layout with values sized rank (rows + cols); cols = ceil(dimension / rows).
  void set_lowrank(std::uint32_t dimension, std::uint32_t matrix_rows, std::uint32_t matrix_rank);

  // y += scale * message. y.size() must equal dim. Cost O(count) (dense, sparse) or
  // O(dim * rank) (lowrank: each entry is the sum over c of P(i,c) Q(j,c), in order c = 0..).
  void add_to(Eigen::Ref<Eigen::VectorXd> y, double factor = 1.0) const;
  // y = message (all other coordinates zero).
  void assign_to(Eigen::Ref<Eigen::VectorXd> y) const;
};

// The decoded value of a quantised level (see ValueCode); the single definition used by
// compressors, round_to_wire and the decoder, so that all agree bit for bit. +0.0 for l = 0.
double quantised_value(ValueCode code, std::int32_t level, std::uint32_t level_count, double scale);

}  // namespace ecco
