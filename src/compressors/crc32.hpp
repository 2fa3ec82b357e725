#pragma once
// CRC-32 of the wire format (private to src/compressors): the zlib / gzip / PNG CRC
// (reflected polynomial 0xEDB88320, register starts at ~0, result inverted), chainable as
// zlib's crc32(): crc32_update(crc32_update(0, a), b) == crc32_update(0, a followed by b).
//
// Cost: on CPUs with carry-less multiplication (PCLMULQDQ, compiled in when the build's
// ECCO_ARCH has it; -march=native on any x86-64 of the last decade) the bulk runs four
// 128-bit folding lanes, about 12 GB/s on one core of the development machine against about
// 4 GB/s for zlib's table code, which is what the portable build and short inputs use.
#include <cstddef>
#include <cstdint>

namespace ecco::detail {

std::uint32_t crc32_update(std::uint32_t crc, const std::byte* data, std::size_t size);

}  // namespace ecco::detail
