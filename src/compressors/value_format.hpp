#pragma once
// Raw wire values: rounding doubles to fp32 / fp64 / bf16 / fp16 and their bit patterns
// (private to src/compressors). Every function is exact IEEE arithmetic, so client and
// server agree bit for bit. The bulk functions run one loop per format (no per-value
// dispatch) and report the first bad value instead of branching on each.
#include <cstddef>
#include <cstdint>

#include "ecco/codec.hpp"

namespace ecco::detail {

// Rounds v (finite) to the nearest value of format (ties to even; below the format's
// smallest normal, to its subnormal grid; the sign of zero is kept). Returns false, leaving
// `rounded` unspecified, when the result would overflow the format's largest finite value.
bool round_value(double v, ValueFormat format, double& rounded);

// Rounds v[0, n) in place. Returns the index of the first value that is not finite or
// overflows the format (values from there on are unspecified), or n.
std::size_t round_values(double* v, std::size_t n, ValueFormat format);

// Index of the first of v[0, n) that is not finite or overflows the format, or n (read only).
std::size_t first_unrepresentable(const double* v, std::size_t n, ValueFormat format);

// Writes the bit patterns of v[0, n), rounded to format, at p (value_format_bytes(format)
// bytes each, little-endian). Returns the index of the first value that is not finite or
// overflows (the bytes are then unspecified), or n.
std::size_t put_values(const double* v, std::size_t n, std::byte* p, ValueFormat format);

// Writes one value, rounded to format, at p; false if it is not finite or overflows.
bool put_value(double v, std::byte* p, ValueFormat format);

// Reads n values of format at p into out. Returns the index of the first non-finite value,
// or n.
std::size_t get_values(const std::byte* p, std::size_t n, double* out, ValueFormat format);

}  // namespace ecco::detail
