// terngrad: TernGrad (Wen et al. 2017): s = ||x||_inf, C(x)_j = s sign(x_j) b_j with
// b_j ~ Bernoulli(|x_j| / s); random dithering with one level and the infinity norm.
//  * Unbiased; E||C(x)||^2 = S ||x||_1 with S = ||x||_inf, so omega = sqrt(d) - 1
//    (ALGORITHMS.md). The scale travels as fp32 rounded up (S <= (1 + 2^-23) ||x||_inf), so the
//    declared omega is sqrt(d) (1 + 2^-23) - 1, which matters only for d = 1. (The exact worst
//    case is smaller: (sqrt(d) - 1) / 2, at x = (1, e, ..., e) with e = 1 / (1 + sqrt(d)).)
//  * Positively homogeneous, not deterministic. Theoretical bits 2 d + 32 (sign and one level
//    bit per coordinate; log2(3) per coordinate would be the entropy bound).
#include <cmath>

#include "compressors/builtin.hpp"
#include "compressors/dithering.hpp"

namespace ecco::detail {
namespace {

class TernGrad final : public Quantiser {
 public:
  std::string spec() const override { return "terngrad"; }

  CompressorTraits traits(std::size_t n) const override {
    const auto d = static_cast<double>(n);
    return {.kind = CompressorClass::unbiased,
            .alpha = 0.0,
            .omega = std::sqrt(d) * (1.0 + 0x1p-23) - 1.0,
            .positively_homogeneous = true,
            .deterministic = false,
            .bits = 32.0 + 2.0 * d,
            .index_bits = 0.0, .capped = {}};
  }

  void quantise(const double* input, Rng& rng, Message& out) const override {
    dither_uniform(input, 1, DitherNorm::linf, "terngrad", rng, out);
  }
};

}  // namespace

std::unique_ptr<Compressor> make_terngrad(const Spec& /*spec*/) {
  return std::make_unique<QuantisedCompressor>(std::make_shared<TernGrad>());
}

}  // namespace ecco::detail
