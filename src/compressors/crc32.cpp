// CRC-32 by folding (crc32.hpp). The message M(x) is reduced 128 bits at a time: a 128-bit
// accumulator A followed by D more bits is replaced by (A x^D mod P) xor the next block, which
// leaves M(x) mod P unchanged; in the bit-reflected representation of the wire CRC the
// constants below are x^(D+32) mod P and x^(D-32) mod P (shifted as the reflected
// carry-less product needs) for D = 512 (four lanes of 16 bytes) and D = 128 (one lane).
// The last accumulator and the remaining bytes (< 16) go through zlib, started from a zero
// register, which finishes the division exactly as the table code would have.
#include "compressors/crc32.hpp"

#include <algorithm>
#include <zlib.h>

#if defined(__PCLMUL__) && defined(__SSE2__)
#include <immintrin.h>
#define ECCO_CRC32_FOLDED 1
#endif

namespace ecco::detail {
namespace {

// zlib's crc32 takes uInt lengths: feed large inputs in pieces.
std::uint32_t zlib_crc32(std::uint32_t crc, const std::byte* data, std::size_t size) {
  uLong c = crc;
  while (size > 0) {
    const std::size_t piece = std::min<std::size_t>(size, std::size_t{1} << 30);
    c = crc32(c, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(piece));
    data += piece;
    size -= piece;
  }
  return static_cast<std::uint32_t>(c);
}

#ifdef ECCO_CRC32_FOLDED
constexpr long long kFold512Low = 0x154442bd4LL;   // applied to the low 64 bits (earlier bits)
constexpr long long kFold512High = 0x1c6e41596LL;  // applied to the high 64 bits
constexpr long long kFold128Low = 0x1751997d0LL;
constexpr long long kFold128High = 0x0ccaa009eLL;

__m128i load(const std::byte* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

// A x^D mod P (as a 128-bit remainder) xor next, for the constants of D.
__m128i fold(__m128i a, __m128i constants, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(a, constants, 0x00), _mm_clmulepi64_si128(a, constants, 0x11)),
                       next);
}

std::uint32_t folded_crc32(std::uint32_t crc, const std::byte* p, std::size_t size) {
  const __m128i by512 = _mm_set_epi64x(kFold512High, kFold512Low);
  const __m128i by128 = _mm_set_epi64x(kFold128High, kFold128Low);
  // The register (~crc, as zlib keeps it) enters as an xor on the first 32 bits.
  __m128i a0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(~crc)));
  __m128i a1 = load(p + 16);
  __m128i a2 = load(p + 32);
  __m128i a3 = load(p + 48);
  p += 64;
  size -= 64;
  for (; size >= 64; p += 64, size -= 64) {
    a0 = fold(a0, by512, load(p));
    a1 = fold(a1, by512, load(p + 16));
    a2 = fold(a2, by512, load(p + 32));
    a3 = fold(a3, by512, load(p + 48));
  }
  a0 = fold(fold(fold(a0, by128, a1), by128, a2), by128, a3);
  for (; size >= 16; p += 16, size -= 16) a0 = fold(a0, by128, load(p));
  alignas(16) std::byte rest[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(rest), a0);
  // zlib started at crc = ~0 has a zero register: it divides `rest` as the remainder it is.
  return zlib_crc32(zlib_crc32(0xFFFFFFFFU, rest, sizeof rest), p, size);
}
#endif

}  // namespace

std::uint32_t crc32_update(std::uint32_t crc, const std::byte* data, std::size_t size) {
#ifdef ECCO_CRC32_FOLDED
  if (size >= 64) return folded_crc32(crc, data, size);
#endif
  return zlib_crc32(crc, data, size);
}

}  // namespace ecco::detail
