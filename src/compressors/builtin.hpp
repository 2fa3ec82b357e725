#pragma once
// The built-in compressors (private to src/compressors): one factory per source file, the
// two roles a part of a composition can play, and the registry table in registry.cpp.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "ecco/compressor.hpp"
#include "ecco/spec.hpp"

namespace ecco::detail {

// A compressor that keeps some coordinates: out is sparse (or dense for identity) and its
// values are x (or a fixed multiple of x) on the kept coordinates. The part before '+'.
class Sparsifier : public Compressor {
 public:
  // Coordinates kept in dimension dim (K).
  virtual std::size_t kept(std::size_t dim) const = 0;
  // True if C(x) equals x on the kept coordinates (no rescaling), so x - C(x) is orthogonal
  // to C(x) and ||C(x)||^2 >= alpha ||x||^2 (in expectation for random selections).
  virtual bool is_projection() const = 0;
};

// A map from n values to quantised levels. The part after '+', and, applied to the whole
// vector, a compressor of its own (QuantisedCompressor).
class Quantiser {
 public:
  virtual ~Quantiser() = default;
  virtual std::string spec() const = 0;
  // Guarantees for n values (bits: the level bits and the 32-bit scale, no indices).
  virtual CompressorTraits traits(std::size_t n) const = 0;
  // Quantises input[0, n), n = out.values.size() finite values (any layout, already set by
  // the caller; input may be out.values.data() itself, for an in-place quantisation): sets
  // out.code, level_count, scale, levels and values (values[k] = quantised_value of
  // levels[k]), reading input[k] before writing values[k]. NumericError if a scale
  // overflows fp32.
  virtual void quantise(const double* input, Rng& rng, Message& out) const = 0;
};

// The whole vector through a quantiser: out = Q(x) densely.
class QuantisedCompressor final : public Compressor {
 public:
  explicit QuantisedCompressor(std::shared_ptr<const Quantiser> quantiser)
      : quantiser_(std::move(quantiser)), name_(quantiser_->spec()) {}
  std::string spec() const override { return name_; }
  CompressorTraits traits(std::size_t dim) const override { return quantiser_->traits(dim); }
  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& workspace,
                Message& out) const override;
  const std::shared_ptr<const Quantiser>& quantiser() const { return quantiser_; }

 private:
  std::shared_ptr<const Quantiser> quantiser_;
  std::string name_;  // the canonical spec, also for error messages
};

// "k=": a count >= 1 (whole number) or a fraction of d in (0, 1).
class KeptCount {
 public:
  // ConfigError naming the compressor for k <= 0, a non-whole count or a count >= 2^32.
  KeptCount(const Spec& spec, const char* key = "k");
  // K for dimension d: the count capped at d, or round(fraction d) and at least 1.
  std::size_t count_for(std::size_t dim) const;
  // For CompressorTraits::capped: "<name>:k=<count> keeps every coordinate of d = <dim> (k is
  // capped at d)" when a count above dim is capped, else "".
  std::string capped_note(const std::string& name, std::size_t dim) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  double value_ = 0.0;
};

// ceil(log2 d): bits of one index in the theoretical counts.
double index_bits_for(std::size_t dim);

std::unique_ptr<Compressor> make_identity(const Spec& spec);
std::unique_ptr<Compressor> make_topk(const Spec& spec);
std::unique_ptr<Compressor> make_randk(const Spec& spec);
std::unique_ptr<Compressor> make_bernoulli(const Spec& spec);
std::unique_ptr<Compressor> make_lowrank(const Spec& spec);
std::unique_ptr<Compressor> make_qsgd(const Spec& spec);
std::unique_ptr<Compressor> make_terngrad(const Spec& spec);
std::unique_ptr<Compressor> make_natural(const Spec& spec);
std::unique_ptr<Compressor> make_natural_dithering(const Spec& spec);
std::unique_ptr<Compressor> make_sign(const Spec& spec);
std::unique_ptr<Compressor> make_onebit(const Spec& spec);

// The settings of a lowrank compressor (r and rows= as given, 0 = about sqrt(d)), or
// nullopt for any other compressor; tensorwise.cpp rebuilds lowrank for each tensor's shape.
struct LowRankSettings {
  std::size_t rank = 1;
  std::size_t rows = 0;
  bool shared = false;  // factor=shared
};
std::optional<LowRankSettings> lowrank_settings(const Compressor& compressor);

// "A+B" and "contractive(C)" (compose.cpp, contractive.cpp); ConfigError when the parts do
// not fit (B not a quantiser, A not a sparsifier, C not unbiased ...).
std::unique_ptr<Compressor> make_composition(std::unique_ptr<Compressor> sparsifier,
                                             std::unique_ptr<Compressor> quantiser, const std::string& text);
std::unique_ptr<Compressor> make_contractive(std::unique_ptr<Compressor> inner, const std::string& text);

}  // namespace ecco::detail
