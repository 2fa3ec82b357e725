#pragma once
// Compressors C: R^d -> R^d, chosen by spec string (compressor_table() lists them).
//
// Compressors are stateless and thread-compatible: randomness comes in as an Rng, scratch
// memory as a CompressorWorkspace owned by the caller (the client's method state).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/message.hpp"
#include "ecco/rng.hpp"
#include "ecco/spec.hpp"

namespace ecco {

enum class CompressorClass {
  contractive,  // E||C(x) - x||^2 <= (1 - alpha) ||x||^2
  unbiased,     // E C(x) = x, E||C(x) - x||^2 <= omega ||x||^2
};

// What a compressor guarantees for inputs of a given dimension.
struct CompressorTraits {
  CompressorClass kind = CompressorClass::contractive;
  double alpha = 1.0;  // contraction parameter in (0, 1] (contractive only)
  double omega = 0.0;  // variance parameter (unbiased only)
  bool positively_homogeneous = false;  // C(t x) = t C(x) for t > 0
  bool deterministic = true;
};

// Scratch buffers a compressor may use; keep one per client to avoid per-round allocation.
struct CompressorWorkspace {
  std::vector<std::uint32_t> order;
};

class Compressor {
 public:
  virtual ~Compressor() = default;

  // Canonical spec with defaults filled in, e.g. "topk:k=1".
  virtual std::string spec() const = 0;
  virtual CompressorTraits traits(std::size_t dim) const = 0;

  // out = C(x). x must be finite (NumericError naming the first bad coordinate otherwise)
  // and have 1 <= size < 2^32.
  virtual void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng,
                        CompressorWorkspace& workspace, Message& out) const = 0;
};

// Builds a compressor from a spec string ("topk:k=0.01"); ConfigError on a bad spec.
std::unique_ptr<Compressor> make_compressor(std::string_view spec_text);

// The registry table: every compressor name with its keys, defaults and meaning.
std::span<const SpecEntry> compressor_table();

}  // namespace ecco
