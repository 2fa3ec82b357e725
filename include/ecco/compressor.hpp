#pragma once
// Compressors C: R^d -> R^d, chosen by spec string (compressor_table() lists them;
// docs/adding-a-compressor.md explains how to add one).
//
// Spec syntax (make_compressor):
//   name[:key=value,...]             one compressor, e.g. "topk:k=0.01", "qsgd:s=16,norm=2"
//   <sparsifier>+<quantiser>         the quantiser applied to the kept values, e.g.
//                                    "topk:k=0.01+qsgd:s=16" (sparsifiers: identity, topk, randk;
//                                    quantisers: qsgd, natural, natural_dithering, terngrad, sign, onebit)
//   contractive(<spec>)              C / (omega + 1) for an unbiased C (alpha = 1/(omega + 1)), or
//                                    for <sparsifier>+<unbiased quantiser> (alpha = alpha_A/(omega + 1))
//
// Per-tensor compression (--granularity tensor): make_tensorwise_compressor() applies a spec
// to each tensor of a model's TensorLayout separately and sends one parts message.
//
// Compressors are stateless and thread-compatible: randomness comes in as an Rng, memory
// that outlives a call (PowerSGD's warm start) and scratch buffers as a CompressorWorkspace
// owned by the caller (the client's method state).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/message.hpp"
#include "ecco/rng.hpp"
#include "ecco/shared_factor.hpp"
#include "ecco/spec.hpp"
#include "ecco/tensor_layout.hpp"

namespace ecco {

enum class CompressorClass {
  contractive,  // E||C(x) - x||^2 <= (1 - alpha) ||x||^2 with alpha in (0, 1]
  unbiased,     // E C(x) = x, E||C(x) - x||^2 <= omega ||x||^2
  biased,       // neither guarantee (e.g. onebit, one power iteration of lowrank)
};

std::string_view to_string(CompressorClass kind);

// What a compressor guarantees for inputs of a given dimension. Expectations are over the
// compressor's randomness; the guarantees are for the compressor's output before
// round_to_wire (which rounds raw values to the wire precision, relative error 2^-24 for fp32).
struct CompressorTraits {
  CompressorClass kind = CompressorClass::contractive;
  double alpha = 1.0;  // contractive: in (0, 1]; 0 otherwise
  double omega = 0.0;  // unbiased: >= 0; 0 otherwise
  bool positively_homogeneous = false;  // C(t x) = t C(x) for t > 0 (same random stream)
  bool deterministic = true;            // C(x) depends on x only (not on the Rng or the workspace)
  // Theoretical size of one message in bits for this dimension (ALGORITHMS.md section 2):
  // 32 bits per raw value (fp32 wire), ceil(log2 d) per index, the level bits of quantised
  // values, 32 per scale; the expected size where it is random (bernoulli). The wire adds a
  // 20-byte header and codec parameters (docs/wire-format.md); its index codecs cost at most
  // 32 bits per index and usually less than ceil(log2 d).
  double bits = 0.0;
  double index_bits = 0.0;  // the part of bits spent on indices
  // A parameter of the spec that dimension dim does not allow and that the compressor caps,
  // said for the user (e.g. "topk:k=2000 keeps every coordinate of d = 784 (k is capped at
  // d)"); empty when nothing is capped. The runtime warns with it at set-up.
  std::string capped;
};

// Buffers a compressor may use; keep one per client. Scratch members are overwritten by
// every call; `warm_start` (here or in `parts`) is the only state carried from one call to
// the next.
struct CompressorWorkspace {
  std::vector<std::uint32_t> order;  // TopK candidate indices
  std::vector<double> candidates;    // TopK candidate values (signed)
  std::vector<double> scratch;       // TopK sample / selection, lowrank padded matrix
  Eigen::MatrixXd factor;            // lowrank: P (rows x rank)
  Eigen::MatrixXd warm_start;        // lowrank: Q of the previous call (cols x rank), PowerSGD's warm start
  std::vector<CompressorWorkspace> parts;  // tensorwise: one workspace per tensor (and level), in layout order
  // Levelled compressors (levelled_compressor.hpp): the sum of the inputs since the errors
  // were last taken (empty before the first call).
  Eigen::VectorXd accumulated;
  // lowrank:factor=shared: the run's shared factor (Compressor::make_shared_factor), read
  // only; set by the runtime on every client, updated by it between rounds.
  const SharedFactor* shared_factor = nullptr;
};

class StateIO;
// The workspace's carried state (checkpoints): warm_start and accumulated, here and in every
// part, recursively; scratch members are not saved.
void workspace_state(CompressorWorkspace& workspace, StateIO& io);

class Compressor {
 public:
  virtual ~Compressor() = default;

  // Canonical spec with defaults filled in, e.g. "topk:k=1"; make_compressor(spec()) builds
  // an equivalent compressor.
  virtual std::string spec() const = 0;
  virtual CompressorTraits traits(std::size_t dim) const = 0;

  // out = C(x). x must be finite (NumericError naming the first bad coordinate otherwise)
  // and have 1 <= size < 2^32. Draws from rng only (same seed, same result on every rank);
  // allocates only while the workspace and out grow.
  virtual void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& workspace,
                        Message& out) const = 0;

  // True if all clients must draw from one common stream (randk coords=common): the runtime
  // then seeds every client's compressor Rng alike, so that clients that compress equally
  // often keep the same coordinates in every round.
  virtual bool common_stream() const { return false; }

  // True if, with a common stream, the messages of all clients in a round can be summed value
  // by value without their indices (--aggregation allreduce): dense raw messages (identity),
  // raw sparse messages whose coordinates follow from a seed every client shares, or
  // shared_lowrank messages against one shared factor (lowrank:factor=shared).
  virtual bool summable() const { return false; }

  // For compressors whose clients share state (lowrank:factor=shared): the shared factor for
  // inputs of dimension dim, drawn from rng; the runtime makes one per process from the same
  // seed, points every client's CompressorWorkspace::shared_factor at it and updates it from
  // every aggregation (SharedFactor::begin/add/commit). Null for every other compressor.
  virtual std::unique_ptr<SharedFactor> make_shared_factor(std::size_t /*dim*/, Rng& /*rng*/) const { return nullptr; }
};

// Builds a compressor from a spec string (syntax above); ConfigError on a bad spec, naming
// what is wrong and what is valid.
std::unique_ptr<Compressor> make_compressor(std::string_view spec_text);

// Per-tensor compression of a model whose flat vector x has the given layout (--granularity
// tensor). Tensor k (x[offset, offset + rows cols), column-major rows x cols) is compressed
// on its own, in layout order, and the result is one Layout::parts message with one part per
// tensor:
//  * size < dense_below: the tensor travels dense (identity);
//  * inner_spec "lowrank:r=R": PowerSGD on the tensor's own matrix, i.e. lowrank:r=R,rows=<rows>
//    (an explicit rows= is a ConfigError: the shape comes from the layout); a tensor with
//    cols == 1 or min(rows, cols) <= R travels dense instead: its factors (min(R, rows, cols)
//    (rows + cols) values) would be no smaller than the rows x cols tensor itself;
//  * any other spec (a name, A+B, contractive(...)) is built once and applied to each
//    tensor's segment, e.g. topk:k=0.01 keeps 1% of every tensor (at least one coordinate).
// Randomness comes from the one Rng, tensor after tensor; per-tensor state (lowrank warm
// starts) lives in workspace.parts. ConfigError for a bad inner_spec; std::invalid_argument
// for a layout that check_layout() rejects or whose dimension is 2^32 or more.
//
// The result's traits(dim) need dim == layout_dim(layout) (std::invalid_argument otherwise),
// and compress() an x of that size (same). Traits: contractive if every tensor's compressor is
// contractive (dense included), alpha = the smallest alpha, since ||C(x) - x||^2 is the sum of
// the tensors' errors; else unbiased if every tensor's is unbiased or dense, omega = the
// largest omega; else, if every tensor's is contractive or unbiased with omega < 1 (hence
// contractive with alpha = 1 - omega), contractive with the smallest such alpha; else biased.
// Positively homogeneous / deterministic if every tensor's is.
// bits = the tensors' bits + 192 per tensor (the 4-byte length and 20-byte header of each
// part on the wire); index_bits = the tensors' index bits.
//
// spec() is a description, e.g. "topk:k=0.01 per tensor (6 tensors, dense below 1000)";
// make_compressor() cannot rebuild it from that text (the layout comes from the problem).
std::unique_ptr<Compressor> make_tensorwise_compressor(std::string_view inner_spec, const TensorLayout& layout,
                                                      std::size_t dense_below);

// The registry table: every compressor name with its keys, defaults and meaning.
std::span<const SpecEntry> compressor_table();

// Human-readable listing of the table and of the composition syntax (for --list / help).
std::string describe_compressors();

}  // namespace ecco
