#pragma once
// Quantised values: the decoded value of a level and the wire width of a level (private to
// src/compressors). These inline definitions are the only ones; compressors, round_to_wire
// and the decoder all call them, so client and server compute identical bits.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "ecco/message.hpp"
#include "ecco/rng.hpp"

namespace ecco::detail {

// Largest s accepted by the levels codecs (wire field: sign + 21 bits).
inline constexpr std::uint32_t kMaxLevelCount = (1U << 20);
// natural: |level| = biased exponent, 1..254 <-> 2^-126 .. 2^127 (the fp32 normal powers of two).
inline constexpr std::int32_t kNaturalMaxLevel = 254;
inline constexpr std::int32_t kNaturalBias = 127;

// The per-coordinate uniform draws of a random quantiser: one next_u64() of the client's
// stream keys a UniformBlocks sequence (rng.hpp), whose draw j belongs to coordinate j.
// body(first, last, u) handles coordinates [first, last) with u[j - first] their draws;
// blocks of 256 stay in L1 between the generator and the quantiser's loop.
template <class Body>
void for_each_draw_block(Rng& rng, std::size_t n, Body&& body) {
  constexpr std::size_t kBlock = 256;
  UniformBlocks draws(rng.next_u64());
  double u[kBlock];
  for (std::size_t first = 0; first < n; first += kBlock) {
    const std::size_t last = std::min(n, first + kBlock);
    draws.fill(u, last - first);
    body(first, last, static_cast<const double*>(u));
  }
}

// The fraction f of |t| = 2^e (1 + f) for a normal double, from its bit pattern (exact):
// 1 + f is the mantissa under the exponent of 1.
inline double mantissa_fraction(std::uint64_t bits) {
  constexpr std::uint64_t kMantissa = (std::uint64_t{1} << 52) - 1;
  return std::bit_cast<double>((bits & kMantissa) | 0x3FF0000000000000ULL) - 1.0;
}

// |level|, without a branch (levels of random compressors have random signs).
inline std::uint32_t magnitude_of(std::int32_t level) {
  const auto bits = static_cast<std::uint32_t>(level);
  const std::uint32_t mask = 0U - (bits >> 31);
  return (bits ^ mask) - mask;
}

// 2^e for -1022 <= e <= 1023, from its bit pattern (exact; no libm call).
inline double pow2(int e) { return std::bit_cast<double>(static_cast<std::uint64_t>(e + 1023) << 52); }

// The sign of the level on a non-negative magnitude; +0 for level 0 (magnitude 0).
inline double with_sign_of(double magnitude, std::int32_t level) {
  return std::copysign(magnitude, static_cast<double>(level));
}

// value = sign(l) * |l| * (scale / s).
inline double uniform_level_value(std::int32_t level, std::uint32_t s, double scale) {
  return with_sign_of(static_cast<double>(magnitude_of(level)) * (scale / static_cast<double>(s)), level);
}

// 2^e for a != 0, +0 for a == 0 (e >= -1022), without a branch: the bit pattern masked.
inline double pow2_unless_zero(int e, std::uint32_t a) {
  const std::uint64_t keep = 0 - static_cast<std::uint64_t>(a != 0);
  return std::bit_cast<double>((static_cast<std::uint64_t>(e + 1023) << 52) & keep);
}

// power_level_value for s <= 1022, where every 2^(|l| - s) is a normal double: branch-free,
// so that loops over levels vectorise.
inline double power_level_value_normal(std::int32_t level, std::uint32_t s, double scale) {
  const std::uint32_t a = magnitude_of(level);
  return with_sign_of(scale * pow2_unless_zero(static_cast<int>(a) - static_cast<int>(s), a), level);
}

// value = sign(l) * scale * 2^(|l| - s), 0 for l = 0.
inline double power_level_value(std::int32_t level, std::uint32_t s, double scale) {
  if (s <= 1022) return power_level_value_normal(level, s, scale);
  const std::uint32_t a = magnitude_of(level);
  const int e = static_cast<int>(a) - static_cast<int>(s);  // in [-s, 0]
  const double power = e >= -1022 ? pow2_unless_zero(e, a) : (a == 0 ? 0.0 : std::ldexp(1.0, e));
  return with_sign_of(scale * power, level);
}

// value = sign(l) * scale * 2^(|l| - 127), 0 for l = 0 (|l| <= 254, scale <= 1: finite).
inline double natural_level_value(std::int32_t level, double scale) {
  const std::uint32_t a = magnitude_of(level);
  return with_sign_of(scale * pow2_unless_zero(static_cast<int>(a) - kNaturalBias, a), level);
}

// value = l * scale for l = +-1.
inline double sign_level_value(std::int32_t level, double scale) { return scale * static_cast<double>(level); }

// Bits that hold 0..s.
inline unsigned bits_for(std::uint32_t s) { return static_cast<unsigned>(std::bit_width(s)); }

// Wire bits of one level: a sign bit above the magnitude bits (sign codec: the sign bit only).
inline unsigned level_width(ValueCode code, std::uint32_t s) {
  switch (code) {
    case ValueCode::uniform_levels:
    case ValueCode::power_levels:
      return 1 + bits_for(s);
    case ValueCode::natural:
      return 9;
    case ValueCode::sign:
      return 1;
    case ValueCode::raw:
      break;
  }
  return 0;
}

// Rounds a non-negative finite v up to the next fp32 value (v itself if it is one). Returns
// false if that exceeds the largest finite float.
inline bool round_up_to_fp32(double v, double& rounded) {
  if (!(v <= static_cast<double>(std::numeric_limits<float>::max()))) return false;
  float f = static_cast<float>(v);
  if (static_cast<double>(f) < v) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  rounded = static_cast<double>(f);
  return true;
}

// Nearest fp32 value of a non-negative finite v; false if it overflows.
inline bool round_to_fp32(double v, double& rounded) {
  const float f = static_cast<float>(v);
  rounded = static_cast<double>(f);
  return std::isfinite(f);
}

}  // namespace ecco::detail
