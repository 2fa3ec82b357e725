#include "compressors/value_format.hpp"

#include <bit>
#include <cmath>
#include <cstring>
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
// (default rounding mode: to nearest, ties to even). False for non-finite v or overflow.
inline bool round_to_precision(double v, const Precision& p, double& rounded) {
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
  return std::fabs(rounded) <= p.max_finite;  // false for inf and NaN too
}

// Bit pattern of a bf16 value (exactly a float with 16 zero low bits).
inline std::uint16_t bf16_bits(double v) {
  return static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(static_cast<float>(v)) >> 16);
}

// Bit pattern of an fp16 value.
inline std::uint16_t fp16_bits(double v) {
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
  return static_cast<std::uint16_t>(sign | bits);
}

inline double fp16_value(std::uint16_t bits) {
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

template <class Ok>
std::size_t first_bad(const double* v, std::size_t n, Ok ok) {
  for (std::size_t k = 0; k < n; ++k) {
    if (!ok(v[k])) return k;
  }
  return n;
}

}  // namespace

bool round_value(double v, ValueFormat format, double& rounded) {
  switch (format) {
    case ValueFormat::fp64:
      rounded = v;
      return std::isfinite(v);
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

std::size_t first_unrepresentable(const double* v, std::size_t n, ValueFormat format) {
  bool ok = true;
  switch (format) {
    case ValueFormat::fp64:
      for (std::size_t k = 0; k < n; ++k) ok &= std::isfinite(v[k]);
      return ok ? n : first_bad(v, n, [](double x) { return std::isfinite(x); });
    case ValueFormat::fp32:
      for (std::size_t k = 0; k < n; ++k) ok &= std::isfinite(static_cast<float>(v[k]));
      return ok ? n : first_bad(v, n, [](double x) { return std::isfinite(static_cast<float>(x)); });
    case ValueFormat::bf16:
    case ValueFormat::fp16:
      return first_bad(v, n, [format](double x) {
        double rounded = 0.0;
        return round_value(x, format, rounded);
      });
  }
  return 0;
}

std::size_t round_values(double* v, std::size_t n, ValueFormat format) {
  switch (format) {
    case ValueFormat::fp64: {
      bool ok = true;
      for (std::size_t k = 0; k < n; ++k) ok &= std::isfinite(v[k]);
      return ok ? n : first_bad(v, n, [](double x) { return std::isfinite(x); });
    }
    case ValueFormat::fp32: {
      bool ok = true;
      for (std::size_t k = 0; k < n; ++k) {
        const float f = static_cast<float>(v[k]);
        ok &= std::isfinite(f);
        v[k] = static_cast<double>(f);
      }
      return ok ? n : first_bad(v, n, [](double x) { return std::isfinite(x); });
    }
    case ValueFormat::bf16:
    case ValueFormat::fp16: {
      const Precision& p = format == ValueFormat::bf16 ? kBf16 : kFp16;
      for (std::size_t k = 0; k < n; ++k) {
        if (!round_to_precision(v[k], p, v[k])) return k;
      }
      return n;
    }
  }
  return 0;
}

std::size_t put_values(const double* v, std::size_t n, std::byte* p, ValueFormat format) {
  switch (format) {
    case ValueFormat::fp64: {
      bool ok = true;
      for (std::size_t k = 0; k < n; ++k) ok &= std::isfinite(v[k]);
      if (!ok) return first_bad(v, n, [](double x) { return std::isfinite(x); });
      if constexpr (std::endian::native == std::endian::little) {
        if (n > 0) std::memcpy(p, v, 8 * n);
      } else {
        for (std::size_t k = 0; k < n; ++k) put_u64(p + 8 * k, std::bit_cast<std::uint64_t>(v[k]));
      }
      return n;
    }
    case ValueFormat::fp32: {
      bool ok = true;
      for (std::size_t k = 0; k < n; ++k) {
        const float f = static_cast<float>(v[k]);
        ok &= std::isfinite(f);
        put_u32(p + 4 * k, std::bit_cast<std::uint32_t>(f));
      }
      return ok ? n : first_bad(v, n, [](double x) { return std::isfinite(static_cast<float>(x)); });
    }
    case ValueFormat::bf16:
    case ValueFormat::fp16:
      for (std::size_t k = 0; k < n; ++k) {
        if (!put_value(v[k], p + 2 * k, format)) return k;
      }
      return n;
  }
  return 0;
}

bool put_value(double v, std::byte* p, ValueFormat format) {
  double rounded = 0.0;
  if (!round_value(v, format, rounded)) return false;
  switch (format) {
    case ValueFormat::fp64:
      put_u64(p, std::bit_cast<std::uint64_t>(rounded));
      break;
    case ValueFormat::fp32:
      put_u32(p, std::bit_cast<std::uint32_t>(static_cast<float>(rounded)));
      break;
    case ValueFormat::bf16:
      put_u16(p, bf16_bits(rounded));
      break;
    case ValueFormat::fp16:
      put_u16(p, fp16_bits(rounded));
      break;
  }
  return true;
}

std::size_t get_values(const std::byte* p, std::size_t n, double* out, ValueFormat format) {
  bool ok = true;
  switch (format) {
    case ValueFormat::fp64:
      for (std::size_t k = 0; k < n; ++k) {
        out[k] = std::bit_cast<double>(get_u64(p + 8 * k));
        ok &= std::isfinite(out[k]);
      }
      break;
    case ValueFormat::fp32:
      for (std::size_t k = 0; k < n; ++k) {
        out[k] = static_cast<double>(std::bit_cast<float>(get_u32(p + 4 * k)));
        ok &= std::isfinite(out[k]);
      }
      break;
    case ValueFormat::bf16:
      for (std::size_t k = 0; k < n; ++k) {
        out[k] = static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(get_u16(p + 2 * k)) << 16));
        ok &= std::isfinite(out[k]);
      }
      break;
    case ValueFormat::fp16:
      for (std::size_t k = 0; k < n; ++k) {
        out[k] = fp16_value(get_u16(p + 2 * k));
        ok &= std::isfinite(out[k]);
      }
      break;
  }
  return ok ? n : first_bad(out, n, [](double x) { return std::isfinite(x); });
}

}  // namespace ecco::detail
