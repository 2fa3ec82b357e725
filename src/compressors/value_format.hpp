#pragma once
// Raw wire values: rounding a double to fp32 / fp64 / bf16 / fp16 and their bit patterns
// (private to src/compressors). Every function is exact IEEE arithmetic, so client and
// server agree bit for bit.
#include <cstddef>
#include <cstdint>

#include "ecco/codec.hpp"

namespace ecco::detail {

// Rounds v (finite) to the nearest value of format (ties to even; below the format's
// smallest normal, to its subnormal grid; the sign of zero is kept). Returns false, leaving
// `rounded` unspecified, when the result would overflow the format's largest finite value.
bool round_value(double v, ValueFormat format, double& rounded);

// Writes the bit pattern of v, which must already be a value of format (round_value), at p
// (value_format_bytes(format) bytes, little-endian).
void put_value(std::byte* p, double v, ValueFormat format);

// Reads one value of format at p. Non-finite patterns come back non-finite (the decoder
// rejects them).
double get_value(const std::byte* p, ValueFormat format);

}  // namespace ecco::detail
