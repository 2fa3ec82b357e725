// sign: scaled sign (EF-SignSGD, Karimireddy et al. 2019): C(x) = (||x||_1 / d) sign(x), with
// sign(x_j) = -1 for x_j < 0 and +1 otherwise (zeros included, so every coordinate is one bit).
//  * Contractive: E||C(x) - x||^2 = ||x||^2 - ||x||_1^2 / d, so alpha(x) = ||x||_1^2 / (d ||x||^2)
//    and alpha = 1/d in the worst case (a vector with one non-zero). The scale travels as the
//    nearest fp32 value (relative error delta <= 2^-24), which changes the error by
//    ||x||_1^2 delta^2 / d: the bound holds up to a relative 2^-48.
//  * Positively homogeneous, deterministic. Theoretical bits d + 32.
#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "compressors/quantised.hpp"
#include "compressors/sign_quantiser.hpp"

namespace ecco::detail {
namespace {

class ScaledSign final : public Quantiser {
 public:
  std::string spec() const override { return "sign"; }

  CompressorTraits traits(std::size_t n) const override {
    return {.kind = CompressorClass::contractive,
            .alpha = 1.0 / static_cast<double>(n),
            .omega = 0.0,
            .positively_homogeneous = true,
            .deterministic = true,
            .bits = 32.0 + static_cast<double>(n),
            .index_bits = 0.0, .capped = {}};
  }

  void quantise(const double* input, Rng& /*rng*/, Message& out) const override {
    const std::size_t n = out.values.size();
    const double magnitude = n == 0 ? 0.0 : sum_abs(input, n) / static_cast<double>(n);
    quantise_signs(input, magnitude, "sign", out);
  }
};

}  // namespace

std::unique_ptr<Compressor> make_sign(const Spec& /*spec*/) {
  return std::make_unique<QuantisedCompressor>(std::make_shared<ScaledSign>());
}

}  // namespace ecco::detail
