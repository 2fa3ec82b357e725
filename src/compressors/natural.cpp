// natural: natural compression (Horvath et al. 2019). Each t != 0 goes to a power of two:
// with a = 2^floor(log2 |t|), sign(t) a with probability (2a - |t|) / a, else sign(t) 2a
// (u_j the draw of coordinate j: for_each_draw_block, one next_u64() of the client's stream
// per call); 0 stays 0.
//  * Unbiased with omega = 1/8 (the worst case, at |t| = 4a/3).
//  * The powers of two travel as fp32 exponents: a sign bit and 8 exponent bits (levels
//    2^-126 .. 2^127, 9 bits per coordinate) and one fp32 scale (1 here; the contractive
//    wrapper changes it). |t| > 2^127 is a NumericError; below 2^-126 t rounds between 0 and
//    2^-126 (unbiased, variance <= 2^-126 |t|, outside the relative omega bound).
//  * Not positively homogeneous (C(3x) != 3 C(x)), not deterministic.
//  * Theoretical bits 9 d + 32.
#include <bit>
#include <cmath>

#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "compressors/quantised.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

constexpr double kSmallest = 0x1p-126;
constexpr double kLargest = 0x1p127;

// Levels and values of x[0, n) (|x_j| <= 2^127; x may be v) with the draws u[0, n); branch-free on 64-bit
// lanes so that it vectorises. Each value equals natural_level_value(level, 1).
void natural_block(const double* x, double* v, std::int32_t* levels, std::size_t n, const double* u) {
  for (std::size_t j = 0; j < n; ++j) {
    const double t = x[j];
    const double magnitude = std::fabs(t);
    // |t| = 2^e (1 + f) for |t| >= 2^-126: e and f from the bit pattern.
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(magnitude);
    const std::int64_t exponent = static_cast<std::int64_t>(bits >> 52) - 1023;
    const std::int64_t normal = exponent + kNaturalBias + static_cast<std::int64_t>(u[j] < mantissa_fraction(bits));
    const auto tiny = static_cast<std::int64_t>(u[j] < magnitude * 0x1p126);  // 0 -> 0 always
    const std::int64_t is_normal = -static_cast<std::int64_t>(magnitude >= kSmallest);  // all ones or 0
    const std::int64_t magnitude_level = (normal & is_normal) | (tiny & ~is_normal);  // 0 .. 254
    const std::int64_t negative = -static_cast<std::int64_t>(t < 0.0);
    const std::int64_t level = (magnitude_level ^ negative) - negative;
    levels[j] = static_cast<std::int32_t>(level);
    v[j] = natural_level_value(levels[j], 1.0);
  }
}

class Natural final : public Quantiser {
 public:
  std::string spec() const override { return "natural"; }

  CompressorTraits traits(std::size_t n) const override {
    return {.kind = CompressorClass::unbiased,
            .alpha = 0.0,
            .omega = 0.125,
            .positively_homogeneous = false,
            .deterministic = false,
            .bits = 32.0 + 9.0 * static_cast<double>(n),
            .index_bits = 0.0, .capped = {}};
  }

  void quantise(const double* input, Rng& rng, Message& out) const override {
    const std::size_t n = out.values.size();
    double* v = out.values.data();
    out.code = ValueCode::natural;
    out.level_count = 0;
    out.scale = 1.0;
    out.levels.resize(n);
    if (max_abs(input, n) > kLargest) {
      for (std::size_t j = 0; j < n; ++j) {
        if (std::fabs(input[j]) > kLargest) {
          throw NumericError("natural: |value| " + std::to_string(input[j]) + " at entry " + std::to_string(j) +
                             " exceeds 2^127, the largest level");
        }
      }
    }
    std::int32_t* levels = out.levels.data();
    for_each_draw_block(rng, n, [&](std::size_t first, std::size_t last, const double* u) {
      natural_block(input + first, v + first, levels + first, last - first, u);
    });
  }
};

}  // namespace

std::unique_ptr<Compressor> make_natural(const Spec& /*spec*/) {
  return std::make_unique<QuantisedCompressor>(std::make_shared<Natural>());
}

}  // namespace ecco::detail
