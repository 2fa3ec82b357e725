// natural_dithering:s=S,norm=2|inf: natural dithering (Horvath et al. 2019): random
// dithering of r_j = |x_j| / ||x||_p between the levels 0, 2^(1-s), ..., 1/2, 1 (s levels and 0).
// For r_j >= 2^(1-s), with a = 2^floor(log2 r_j): a with probability (2a - r_j) / a, else 2a;
// below, 2^(1-s) with probability r_j / 2^(1-s), else 0; u_j is the draw of coordinate j
// (for_each_draw_block: one next_u64() of the client's stream per call, none when x = 0);
// value sign(x_j) ||x||_p level.
//  * Unbiased with omega = 1/8 + d^(1/r) 2^(1-s) min(1, d^(1/r) 2^(1-s)), r = min(p, 2) = 2
//    (ALGORITHMS.md section 2).
//  * Positively homogeneous, not deterministic. The scale travels as fp32, rounded up.
//  * Theoretical bits 32 + d (1 + ceil(log2(s + 1))): a sign and a level in 0..s (ALGORITHMS.md
//    counts ceil(log2 s), which leaves no code for 0).
#include <algorithm>
#include <bit>
#include <cmath>

#include "compressors/builtin.hpp"
#include "compressors/dithering.hpp"
#include "compressors/quantised.hpp"

namespace ecco::detail {
namespace {

// Levels and values of x[0, n) (x may be v) with the draws u[0, n), for s <= 1000 levels of `scale`;
// branch-free on 64-bit lanes so that it vectorises.
void natural_dither_block(const double* x, double* v, std::int32_t* levels, std::size_t n, const double* u,
                          std::uint32_t s, double scale) {
  const auto levels_s = static_cast<std::int64_t>(s);
  const double lowest = pow2(1 - static_cast<int>(s));
  const double inverse_lowest = pow2(static_cast<int>(s) - 1);
  for (std::size_t j = 0; j < n; ++j) {
    const double r = std::fabs(x[j]) / scale;  // <= 1
    // r = 2^e (1 + f) for r >= 2^(1-s) (a normal double): e and f from the bit pattern.
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(r);
    const std::int64_t e = static_cast<std::int64_t>(bits >> 52) - 1023;
    const std::int64_t upper = e + levels_s + static_cast<std::int64_t>(u[j] < mantissa_fraction(bits));
    const auto lower = static_cast<std::int64_t>(u[j] < r * inverse_lowest);
    const std::int64_t in_range = -static_cast<std::int64_t>(r >= lowest);  // all ones or 0
    const std::int64_t magnitude = (upper & in_range) | (lower & ~in_range);  // 0 .. s
    const std::int64_t negative = -static_cast<std::int64_t>(x[j] < 0.0);
    const std::int64_t level = (magnitude ^ negative) - negative;
    levels[j] = static_cast<std::int32_t>(level);
    v[j] = power_level_value_normal(levels[j], s, scale);
  }
}

class NaturalDithering final : public Quantiser {
 public:
  explicit NaturalDithering(const Spec& spec) : s_(parse_levels(spec)), norm_(parse_dither_norm(spec)) {
    if (s_ > 1000) {
      throw ConfigError("compressor 'natural_dithering': s must be at most 1000 (levels down to 2^(1-s)), got '" +
                        spec.get_string("s") + "'");
    }
  }

  std::string spec() const override {
    return "natural_dithering:norm=" + std::string(norm_ == DitherNorm::l2 ? "2" : "inf") + ",s=" + std::to_string(s_);
  }

  CompressorTraits traits(std::size_t n) const override {
    const double term = std::sqrt(static_cast<double>(n)) * std::ldexp(1.0, 1 - static_cast<int>(s_));
    return {.kind = CompressorClass::unbiased,
            .alpha = 0.0,
            .omega = 0.125 + term * std::min(1.0, term),
            .positively_homogeneous = true,
            .deterministic = false,
            .bits = 32.0 + static_cast<double>(n) * (1.0 + static_cast<double>(bits_for(s_))),
            .index_bits = 0.0, .capped = {}};
  }

  void quantise(const double* input, Rng& rng, Message& out) const override {
    const std::size_t n = out.values.size();
    double* v = out.values.data();
    const double scale = dither_scale(input, n, norm_, "natural_dithering");
    if (!begin_levels(out, ValueCode::power_levels, s_, scale)) return;
    std::int32_t* levels = out.levels.data();
    for_each_draw_block(rng, n, [&](std::size_t first, std::size_t last, const double* u) {
      natural_dither_block(input + first, v + first, levels + first, last - first, u, s_, scale);
    });
  }

 private:
  std::uint32_t s_;
  DitherNorm norm_;
};

}  // namespace

std::unique_ptr<Compressor> make_natural_dithering(const Spec& spec) {
  return std::make_unique<QuantisedCompressor>(std::make_shared<NaturalDithering>(spec));
}

}  // namespace ecco::detail
