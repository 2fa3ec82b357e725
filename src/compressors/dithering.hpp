#pragma once
// Random dithering on s uniform levels (private to src/compressors), shared by qsgd and
// terngrad:  for S = ||x||_p rounded up to fp32 (so that S >= |x_j|),
// r_j = min(|x_j| (s / S), s), l_j = floor(r_j) + [u_j < r_j - floor(r_j)] with u_j uniform in
// [0, 1) the draw of coordinate j (for_each_draw_block: one next_u64() of the client's stream
// per call, none when x = 0), and the value
// sign(x_j) l_j (S / s).
// E value = x_j (up to rounding of r_j). Cost O(n): three passes over x (max |x_j|, the norm,
// the levels).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "compressors/compressor_input.hpp"
#include "compressors/quantised.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"

namespace ecco::detail {

enum class DitherNorm { l2, linf };

// The scale S >= ||x||_p (and >= max |x_j|) as an fp32 value; NumericError on overflow.
inline double dither_scale(const double* v, std::size_t n, DitherNorm norm, const char* name) {
  const double largest = max_abs(v, n);
  const double p_norm = norm == DitherNorm::linf ? largest : std::max(norm2(v, n, largest), largest);
  double scale = 0.0;
  if (!round_up_to_fp32(p_norm, scale)) {
    throw NumericError(std::string(name) + ": the input norm " + std::to_string(p_norm) + " exceeds the fp32 scale range");
  }
  return scale;
}

// Turns out into a quantised message of `code` with s levels and `scale`, one level per
// value. Returns false, with every level and value 0, when scale is 0 (a zero input).
inline bool begin_levels(Message& out, ValueCode code, std::uint32_t s, double scale) {
  out.code = code;
  out.level_count = s;
  out.scale = scale;
  out.levels.resize(out.values.size());
  if (scale != 0.0) return true;
  std::fill(out.levels.begin(), out.levels.end(), 0);
  std::fill(out.values.begin(), out.values.end(), 0.0);
  return false;
}

// Levels and values of x[0, n) with the draws u[0, n) (branch-free on 64-bit lanes, so that
// it vectorises); each value equals uniform_level_value(level, s, scale). x may be v.
inline void dither_block(const double* x, double* v, std::int32_t* levels, std::size_t n, const double* u,
                         double s_real, double scale) {
  const double levels_per_unit = s_real / scale;
  const double step = scale / s_real;
  for (std::size_t j = 0; j < n; ++j) {
    // r = s |x_j| / S, at most s: S >= |x_j|, and the rounding of the product is clamped.
    const double scaled = std::fabs(x[j]) * levels_per_unit;
    const double r = scaled < s_real ? scaled : s_real;
    const auto whole = static_cast<std::int64_t>(r);  // floor(r): 0 <= r <= s <= 2^20
    const std::int64_t magnitude = whole + static_cast<std::int64_t>(u[j] < r - static_cast<double>(whole));
    const std::int64_t negative = -static_cast<std::int64_t>(x[j] < 0.0);  // 0 or -1
    const std::int64_t level = (magnitude ^ negative) - negative;
    levels[j] = static_cast<std::int32_t>(level);
    v[j] = std::copysign(static_cast<double>(magnitude) * step, static_cast<double>(level));
  }
}

inline void dither_uniform(const double* input, std::uint32_t s, DitherNorm norm, const char* name, Rng& rng,
                           Message& out) {
  const std::size_t n = out.values.size();
  double* v = out.values.data();
  const double scale = dither_scale(input, n, norm, name);
  if (!begin_levels(out, ValueCode::uniform_levels, s, scale)) return;
  const auto s_real = static_cast<double>(s);
  std::int32_t* levels = out.levels.data();
  for_each_draw_block(rng, n, [&](std::size_t first, std::size_t last, const double* u) {
    dither_block(input + first, v + first, levels + first, last - first, u, s_real, scale);
  });
}

inline DitherNorm parse_dither_norm(const Spec& spec) {
  const std::string& text = spec.get_string("norm");
  if (text == "2") return DitherNorm::l2;
  if (text == "inf") return DitherNorm::linf;
  throw ConfigError("compressor '" + spec.name() + "': norm must be 2 or inf, got '" + text + "'");
}

inline std::uint32_t parse_levels(const Spec& spec) {
  const std::int64_t s = spec.get_int("s");
  if (s < 1 || s > static_cast<std::int64_t>(kMaxLevelCount)) {
    throw ConfigError("compressor '" + spec.name() + "': s must be a whole number in [1, 2^20], got '" +
                      spec.get_string("s") + "'");
  }
  return static_cast<std::uint32_t>(s);
}

}  // namespace ecco::detail
