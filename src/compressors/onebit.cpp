// onebit: the norm-preserving sign of 1-bit Adam (Tang et al. 2021):
// C(x) = (||x||_2 / sqrt(d)) sign(x), sign(x_j) = -1 for x_j < 0 and +1 otherwise.
//  * ||C(x)|| = ||x|| (up to the fp32 scale). Biased and not contractive in general:
//    E||C(x) - x||^2 = 2 ||x||^2 (1 - ||x||_1 / (sqrt(d) ||x||_2)), above ||x||^2 for a
//    vector with one non-zero when d > 4. So EF methods refuse it.
//  * Positively homogeneous, deterministic. Theoretical bits d + 32.
#include <cmath>

#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "compressors/quantised.hpp"
#include "compressors/sign_quantiser.hpp"

namespace ecco::detail {
namespace {

class OneBit final : public Quantiser {
 public:
  std::string spec() const override { return "onebit"; }

  CompressorTraits traits(std::size_t n) const override {
    return {.kind = CompressorClass::biased,
            .alpha = 0.0,
            .omega = 0.0,
            .positively_homogeneous = true,
            .deterministic = true,
            .bits = 32.0 + static_cast<double>(n),
            .index_bits = 0.0, .capped = {}};
  }

  void quantise(const double* input, Rng& /*rng*/, Message& out) const override {
    const std::size_t n = out.values.size();
    const double magnitude = n == 0 ? 0.0 : norm2(input, n) / std::sqrt(static_cast<double>(n));
    quantise_signs(input, magnitude, "onebit", out);
  }
};

}  // namespace

std::unique_ptr<Compressor> make_onebit(const Spec& /*spec*/) {
  return std::make_unique<QuantisedCompressor>(std::make_shared<OneBit>());
}

}  // namespace ecco::detail
