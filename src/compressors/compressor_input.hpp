#pragma once
// Checks and reductions shared by the compressors (private to src/compressors).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include <Eigen/Core>

#include "ecco/error.hpp"

namespace ecco::detail {

inline constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;
inline constexpr std::uint64_t kExponentBits = std::uint64_t{0x7FF} << 52;

// ConfigError unless 1 <= size < 2^32 (the wire's 32-bit dimension).
inline void check_dimension(Eigen::Index size, const char* compressor) {
  if (size < 1 || static_cast<unsigned long long>(size) > std::numeric_limits<std::uint32_t>::max()) {
    throw ConfigError(std::string(compressor) + ": input dimension " + std::to_string(size) + " is outside [1, 2^32)");
  }
}

[[noreturn]] inline void throw_not_finite(const char* compressor, std::size_t coordinate, double value) {
  char shown[32];
  std::snprintf(shown, sizeof shown, "%g", value);
  throw NumericError(std::string(compressor) + ": input coordinate " + std::to_string(coordinate) +
                     " is not finite (" + shown + ")");
}

// NumericError naming the first non-finite value of v[0, n).
inline void check_finite(const double* v, std::size_t n, const char* compressor) {
  // Branch-free pass on the bit patterns (vectorises): finite <=> exponent field not all ones.
  std::uint64_t all_ones = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t exponent = std::bit_cast<std::uint64_t>(v[j]) & kExponentBits;
    all_ones |= static_cast<std::uint64_t>(exponent == kExponentBits);
  }
  if (all_ones == 0) return;
  for (std::size_t j = 0; j < n; ++j) {
    if (!std::isfinite(v[j])) throw_not_finite(compressor, j, v[j]);
  }
}

// Dimension check, then NumericError naming the first non-finite coordinate.
inline void check_compressor_input(const Eigen::Ref<const Eigen::VectorXd>& x, const char* compressor) {
  check_dimension(x.size(), compressor);
  check_finite(x.data(), static_cast<std::size_t>(x.size()), compressor);
}

// Reductions over n finite values with eight partial sums in a fixed order, so the result
// is deterministic (independent of ranks and of vectorisation).
inline double sum_abs(const double* v, std::size_t n) {
  double partial[8] = {};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (std::size_t i = 0; i < 8; ++i) partial[i] += std::fabs(v[j + i]);
  }
  for (; j < n; ++j) partial[j % 8] += std::fabs(v[j]);
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

// max |v_j| (0 for n = 0). For non-negative doubles the order of the bit patterns is the
// order of the values, so the maximum is taken on integers (exact, and it vectorises).
inline double max_abs(const double* v, std::size_t n) {
  std::uint64_t m = 0;
  for (std::size_t j = 0; j < n; ++j) m = std::max(m, std::bit_cast<std::uint64_t>(v[j]) & ~kSignBit);
  return std::bit_cast<double>(m);
}

// ||v||_2 without overflow or underflow: the values are multiplied by a power of two near
// 1 / max|v_j| (exact for all but negligible values) before squaring.
// largest is max_abs(v, n), which the caller may already have.
inline double norm2(const double* v, std::size_t n, double largest) {
  if (largest == 0.0) return 0.0;
  const int shift = std::clamp(-std::ilogb(largest), -1000, 1000);
  const double up = std::ldexp(1.0, shift);
  double partial[8] = {};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (std::size_t i = 0; i < 8; ++i) {
      const double s = v[j + i] * up;
      partial[i] += s * s;
    }
  }
  for (; j < n; ++j) {
    const double s = v[j] * up;
    partial[j % 8] += s * s;
  }
  const double sum =
      ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
  return std::ldexp(std::sqrt(sum), -shift);
}

inline double norm2(const double* v, std::size_t n) { return norm2(v, n, max_abs(v, n)); }

}  // namespace ecco::detail
