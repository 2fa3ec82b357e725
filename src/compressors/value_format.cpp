#include "compressors/value_format.hpp"

#include <bit>
#include <cmath>
#include <limits>

#include "compressors/wire_bytes.hpp"

namespace ecco::detail {
namespace {

struct Precision {
  int mantissa_bits;  // explicit fraction bits
  int min_exponent;   // exponent of the smallest normal value
  double max_finite;
};

constexpr Precision kBf16{7, -126, 0x1.FEp127};
constexpr Precision kFp16{10, -14, 65504.0};

// Round to `p.mantissa_bits` fraction bits, ties to even. Normal results: round the double's
// bit pattern directly (a carry out of the fraction correctly bumps the exponent). Results
// below the smallest normal: scale to the integer grid of the subnormals and use nearbyint
// (default rounding mode: to nearest, ties to even).
bool round_to_precision(double v, const Precision& p, double& rounded) {
  const double magnitude = std::fabs(v);
  if (magnitude >= std::ldexp(1.0, p.min_exponent)) {
    const int drop = 52 - p.mantissa_bits;
    std::uint64_t bits = std::bit_cast<std::uint64_t>(v);
    const std::uint64_t half_minus_one = (std::uint64_t{1} << (drop - 1)) - 1;
    bits += half_minus_one + ((bits >> drop) & 1U);
    bits &= ~((std::uint64_t{1} << drop) - 1);
    rounded = std::bit_cast<double>(bits);
  } else {
    const int quantum = p.min_exponent - p.mantissa_bits;
    rounded = std::ldexp(std::nearbyint(std::ldexp(v, -quantum)), quantum);
  }
  return std::fabs(rounded) <= p.max_finite;
}

}  // namespace

bool round_value(double v, ValueFormat format, double& rounded) {
  switch (format) {
    case ValueFormat::fp64:
      rounded = v;
      return true;
    case ValueFormat::fp32: {
      const float f = static_cast<float>(v);  // round to nearest even; +-inf past the largest float
      rounded = static_cast<double>(f);
      return std::isfinite(f);
    }
    case ValueFormat::bf16:
      return round_to_precision(v, kBf16, rounded);
    case ValueFormat::fp16:
      return round_to_precision(v, kFp16, rounded);
  }
  return false;
}

void put_value(std::byte* p, double v, ValueFormat format) {
  switch (format) {
    case ValueFormat::fp64:
      put_u64(p, std::bit_cast<std::uint64_t>(v));
      return;
    case ValueFormat::fp32:
      put_u32(p, std::bit_cast<std::uint32_t>(static_cast<float>(v)));
      return;
    case ValueFormat::bf16:
      // v is a bf16 value, hence exactly a float whose low 16 bits are zero.
      put_u16(p, static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(static_cast<float>(v)) >> 16));
      return;
    case ValueFormat::fp16: {
      const std::uint16_t sign = std::signbit(v) ? 0x8000U : 0U;
      const double magnitude = std::fabs(v);
      std::uint16_t bits = 0;
      if (magnitude >= 0x1p-14) {
        int exponent = 0;
        const double fraction = std::frexp(magnitude, &exponent);  // magnitude = fraction 2^exponent, fraction in [0.5, 1)
        const auto biased = static_cast<unsigned>(exponent - 1 + 15);
        const auto mantissa = static_cast<unsigned>(std::ldexp(fraction, 11)) - 1024U;
        bits = static_cast<std::uint16_t>((biased << 10) | mantissa);
      } else {
        bits = static_cast<std::uint16_t>(std::ldexp(magnitude, 24));  // subnormal: multiple of 2^-24
      }
      put_u16(p, static_cast<std::uint16_t>(sign | bits));
      return;
    }
  }
}

double get_value(const std::byte* p, ValueFormat format) {
  switch (format) {
    case ValueFormat::fp64:
      return std::bit_cast<double>(get_u64(p));
    case ValueFormat::fp32:
      return static_cast<double>(std::bit_cast<float>(get_u32(p)));
    case ValueFormat::bf16:
      return static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(get_u16(p)) << 16));
    case ValueFormat::fp16: {
      const std::uint16_t bits = get_u16(p);
      const unsigned exponent = (bits >> 10) & 0x1FU;
      const unsigned mantissa = bits & 0x3FFU;
      double magnitude = 0.0;
      if (exponent == 0x1FU) {
        magnitude = mantissa == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
      } else if (exponent == 0) {
        magnitude = std::ldexp(static_cast<double>(mantissa), -24);
      } else {
        magnitude = std::ldexp(static_cast<double>(1024U + mantissa), static_cast<int>(exponent) - 25);
      }
      return (bits & 0x8000U) != 0 ? -magnitude : magnitude;
    }
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace ecco::detail
