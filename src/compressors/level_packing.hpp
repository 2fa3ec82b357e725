#pragma once
// The value section of a quantised message (private to src/compressors): one field of
// `width` bits per level (level_width), the sign bit above the magnitude bits (the sign code:
// the sign bit only), packed LSB first as BitWriter does (wire-format.md, "value codecs").
#include <cstddef>
#include <cstdint>

#include "compressors/quantised.hpp"
#include "ecco/message.hpp"

namespace ecco::detail {

// The wire field of one level of `width` bits.
inline std::uint32_t level_field(std::int32_t level, unsigned width, ValueCode code) {
  const auto negative = static_cast<std::uint32_t>(level) >> 31;
  if (code == ValueCode::sign) return negative;
  return (negative << (width - 1)) | magnitude_of(level);
}

// Writes the fields of levels[0, n) to p[0, ceil(n width / 8)). Levels are not range-checked
// here (encode checks them first). Cost: one pass over the levels; widths up to 16 bits go
// eight fields at a time (8 width bits = width whole bytes), wider ones one field at a time.
void pack_levels(const std::int32_t* levels, std::size_t n, ValueCode code, unsigned width, std::byte* p);

}  // namespace ecco::detail
