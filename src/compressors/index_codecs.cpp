#include "compressors/index_codecs.hpp"

#include <bit>
#include <cstring>
#include <string>

#include "compressors/wire_bytes.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

constexpr std::uint64_t kContinuationBits = 0x8080808080808080ULL;

// LEB128 length of v: 1 byte per started group of 7 bits.
inline std::size_t varint_length(std::uint32_t v) {
  return 1 + static_cast<std::size_t>(std::bit_width(v | 1U) - 1) / 7;
}

}  // namespace

std::size_t delta_varint_bytes(std::span<const std::uint32_t> indices) {
  std::size_t bytes = 0;
  std::uint32_t base = 0;  // i_{k-1} + 1
  for (const std::uint32_t i : indices) {
    bytes += varint_length(i - base);
    base = i + 1;
  }
  return bytes;
}

void write_raw32(std::span<const std::uint32_t> indices, std::byte* p) {
  for (std::size_t k = 0; k < indices.size(); ++k) put_u32(p + 4 * k, indices[k]);
}

void write_delta_varint(std::span<const std::uint32_t> indices, std::byte* p) {
  std::uint32_t base = 0;
  for (const std::uint32_t i : indices) {
    std::uint32_t v = i - base;
    base = i + 1;
    while (v >= 0x80U) {
      *p++ = static_cast<std::byte>((v & 0x7FU) | 0x80U);
      v >>= 7;
    }
    *p++ = static_cast<std::byte>(v);
  }
}

void write_bitmap(std::span<const std::uint32_t> indices, std::uint32_t dim, std::byte* p) {
  std::memset(p, 0, bitmap_bytes(dim));
  for (const std::uint32_t i : indices) p[i >> 3] |= static_cast<std::byte>(1U << (i & 7U));
}

void read_raw32(const std::byte* p, std::uint32_t count, std::uint32_t dim, std::vector<std::uint32_t>& out) {
  out.resize(count);
  std::uint64_t next = 0;  // smallest index allowed next
  for (std::uint32_t k = 0; k < count; ++k) {
    const std::uint32_t index = get_u32(p + 4 * static_cast<std::size_t>(k));
    if (index >= dim) {
      throw DecodeError("message index " + std::to_string(index) + " out of range for dimension " +
                        std::to_string(dim));
    }
    if (index < next) throw DecodeError("message indices not strictly increasing at entry " + std::to_string(k));
    out[k] = index;
    next = static_cast<std::uint64_t>(index) + 1;
  }
}

void read_delta_varint(const std::byte* p, const std::byte* end, std::uint32_t count, std::uint32_t dim,
                       std::vector<std::uint32_t>& out) {
  out.resize(count);
  std::uint32_t* dst = out.data();
  // base = previous index + 1, in 64 bits: it grows by at most 2^32 per entry, and since it
  // only grows, checking base <= dim once at the end bounds every index.
  std::uint64_t base = 0;
  std::uint32_t k = 0;
  while (k < count) {
    // Fast path: eight one-byte gaps.
    if (count - k >= 8 && end - p >= 8) {
      const std::uint64_t word = get_u64(p);
      if ((word & kContinuationBits) == 0) {
        for (int b = 0; b < 8; ++b) {
          base += (word >> (8 * b)) & 0x7FU;
          dst[k + static_cast<std::uint32_t>(b)] = static_cast<std::uint32_t>(base);
          ++base;
        }
        p += 8;
        k += 8;
        continue;
      }
    }
    if (p >= end) throw DecodeError("delta-varint index section ends after " + std::to_string(k) + " indices");
    std::uint32_t byte = static_cast<std::uint32_t>(*p++);
    std::uint64_t v = byte & 0x7FU;
    int shift = 7;
    while ((byte & 0x80U) != 0) {
      if (p >= end) throw DecodeError("delta-varint index section ends inside a varint");
      byte = static_cast<std::uint32_t>(*p++);
      if (shift == 28 && byte > 0x0FU) throw DecodeError("delta-varint gap exceeds 32 bits");
      if (byte == 0) throw DecodeError("delta-varint gap has an overlong encoding");
      v |= static_cast<std::uint64_t>(byte & 0x7FU) << shift;
      shift += 7;
    }
    base += v;
    dst[k++] = static_cast<std::uint32_t>(base);
    ++base;
  }
  if (base > dim) {
    throw DecodeError("message index " + std::to_string(base - 1) + " out of range for dimension " +
                      std::to_string(dim));
  }
  if (p != end) throw DecodeError("delta-varint index section has " + std::to_string(end - p) + " extra bytes");
}

void read_bitmap(const std::byte* p, std::uint32_t count, std::uint32_t dim, std::vector<std::uint32_t>& out) {
  const std::size_t bytes = bitmap_bytes(dim);
  const std::byte* end = p + bytes;
  if (dim % 8 != 0 && (static_cast<unsigned>(p[bytes - 1]) >> (dim % 8)) != 0) {
    throw DecodeError("bitmap has bits set beyond the dimension " + std::to_string(dim));
  }
  out.resize(count);
  std::uint32_t* dst = out.data();
  std::uint32_t n = 0;
  for (std::size_t at = 0; at < bytes; at += 8) {
    std::uint64_t word = get_u64_bounded(p + at, end);
    if (word == 0) continue;
    if (static_cast<std::uint32_t>(std::popcount(word)) > count - n) {
      throw DecodeError("bitmap holds more than the " + std::to_string(count) + " indices of its header");
    }
    const auto first = static_cast<std::uint32_t>(8 * at);
    while (word != 0) {
      dst[n++] = first + static_cast<std::uint32_t>(std::countr_zero(word));
      word &= word - 1;
    }
  }
  if (n != count) {
    throw DecodeError("bitmap holds " + std::to_string(n) + " indices, its header says " + std::to_string(count));
  }
}

}  // namespace ecco::detail
