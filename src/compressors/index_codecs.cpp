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

// The continuation bits of the eight bytes of w (byte i -> bit i).
inline unsigned continuation_mask(std::uint64_t w) {
  return static_cast<unsigned>(((w & kContinuationBits) * 0x0002040810204081ULL) >> 56);
}

// Varints decoded per 8-byte chunk at most. Six, not eight: the slots are computed whether
// used or not, and at typical densities (gaps of 1-2 bytes) six is the measured optimum.
constexpr int kSlots = 6;

// How the varints at the start of an 8-byte chunk are laid out, for each of the 256
// continuation masks: the leading run of at most kSlots one- and two-byte varints that end
// inside the chunk. The chunk's 7-bit groups are first packed into 56 contiguous bits (pack7), so
// varint i is (packed >> shift[i]) & value_mask[i]. Slots past count decode to 0 and add
// nothing. (16-bit fields, not char types: stores to the uint32 output cannot alias them.)
struct ChunkLayout {
  std::uint16_t count = 0;     // varints decoded from the chunk (0: the first is longer, or crosses it)
  std::uint16_t consumed = 0;  // bytes they occupy
  std::uint16_t shift[kSlots] = {};       // 7 x start byte of varint i
  std::uint16_t value_mask[kSlots] = {};  // 0x7F (one byte), 0x3FFF (two bytes), 0 past count
  std::uint16_t step[kSlots] = {};        // 1 for i < count (index i + 1 is the next base), else 0
};

struct ChunkTable {
  ChunkLayout layout[256];
  ChunkTable() {
    for (unsigned m = 0; m < 256; ++m) {
      ChunkLayout& e = layout[m];
      unsigned pos = 0;
      while (pos < 8 && e.count < kSlots) {
        unsigned length = 0;
        if (((m >> pos) & 1U) == 0) {
          length = 1;
        } else if (pos + 1 < 8 && ((m >> (pos + 1)) & 1U) == 0) {
          length = 2;
        } else {
          break;
        }
        e.shift[e.count] = static_cast<std::uint16_t>(7 * pos);
        e.value_mask[e.count] = length == 2 ? 0x3FFF : 0x7F;
        e.step[e.count] = 1;
        ++e.count;
        pos += length;
      }
      e.consumed = static_cast<std::uint16_t>(pos);
    }
  }
};

// The low 7 bits of each byte of w, packed into bits 0..55 (byte i -> bits 7i..7i+6).
inline std::uint64_t pack7(std::uint64_t w) {
  std::uint64_t x = w & 0x7F7F7F7F7F7F7F7FULL;
  x = ((x & 0x7F007F007F007F00ULL) >> 1) | (x & 0x007F007F007F007FULL);  // 14 bits per 16
  x = ((x & 0x3FFF00003FFF0000ULL) >> 2) | (x & 0x00003FFF00003FFFULL);  // 28 bits per 32
  return ((x & 0x0FFFFFFF00000000ULL) >> 4) | (x & 0x000000000FFFFFFFULL);
}

// True if a byte with the continuation bit is followed by a zero byte: an overlong LEB128
// form (the last byte of a varint longer than one byte may not be 0). One vectorised pass
// over the section, so the decoding loop does not test it per varint.
bool has_overlong(const std::byte* p, const std::byte* end) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  const std::size_t n = static_cast<std::size_t>(end - p);
  unsigned char found = 0;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    found |= static_cast<unsigned char>(b[i] & (b[i + 1] == 0 ? 0x80U : 0U));
  }
  return found != 0;
}

const ChunkTable& chunk_table() {
  static const ChunkTable table;
  return table;
}

// Decodes one varint of any length at p (< end), strictly: at most 5 bytes, below 2^32, no
// overlong encoding. Advances p.
inline std::uint64_t read_one_varint(const std::byte*& p, const std::byte* end, std::uint32_t k) {
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
  return v;
}

}  // namespace

std::size_t delta_varint_bytes(std::span<const std::uint32_t> indices) {
  // One byte per gap plus one per threshold 2^7, 2^14, 2^21, 2^28 it reaches: comparisons
  // only, so the loop vectorises.
  const std::size_t n = indices.size();
  if (n == 0) return 0;
  const std::uint32_t* i = indices.data();
  std::uint64_t extra = varint_length(i[0]) - 1;
  for (std::size_t k = 1; k < n; ++k) {
    const std::uint32_t v = i[k] - i[k - 1] - 1;
    extra += static_cast<std::uint32_t>(v >= (1U << 7)) + static_cast<std::uint32_t>(v >= (1U << 14)) +
             static_cast<std::uint32_t>(v >= (1U << 21)) + static_cast<std::uint32_t>(v >= (1U << 28));
  }
  return n + static_cast<std::size_t>(extra);
}

void write_raw32(std::span<const std::uint32_t> indices, std::byte* p) {
  for (std::size_t k = 0; k < indices.size(); ++k) put_u32(p + 4 * k, indices[k]);
}

void write_delta_varint(std::span<const std::uint32_t> indices, std::byte* p) {
  std::uint32_t base = 0;
  const std::size_t n = indices.size();
  // Gaps below 2^14 (one or two bytes): both bytes are stored and p advances by the length;
  // the spare byte is overwritten by the next varint, so the last index goes the slow way.
  std::size_t k = 0;
  for (; k + 1 < n; ++k) {
    const std::uint32_t v = indices[k] - base;
    base = indices[k] + 1;
    if (v < (1U << 14)) {
      const std::uint32_t two = v >= 0x80U ? 1U : 0U;
      put_u16(p, static_cast<std::uint16_t>((v & 0x7FU) | (two << 7) | ((v >> 7) << 8)));
      p += 1 + two;
      continue;
    }
    std::uint32_t rest = v;
    while (rest >= 0x80U) {
      *p++ = static_cast<std::byte>((rest & 0x7FU) | 0x80U);
      rest >>= 7;
    }
    *p++ = static_cast<std::byte>(rest);
  }
  for (; k < n; ++k) {
    std::uint32_t rest = indices[k] - base;
    base = indices[k] + 1;
    while (rest >= 0x80U) {
      *p++ = static_cast<std::byte>((rest & 0x7FU) | 0x80U);
      rest >>= 7;
    }
    *p++ = static_cast<std::byte>(rest);
  }
}

void write_bitmap(std::span<const std::uint32_t> indices, std::uint32_t dim, std::byte* p) {
  std::memset(p, 0, bitmap_bytes(dim));
  for (const std::uint32_t i : indices) p[i >> 3] |= static_cast<std::byte>(1U << (i & 7U));
}

void read_raw32(const std::byte* p, std::uint32_t count, std::uint32_t dim, std::vector<std::uint32_t>& out) {
  out.resize(count);
  std::uint32_t* dst = out.data();
  bool ordered = true;
  for (std::uint32_t k = 0; k < count; ++k) {
    dst[k] = get_u32(p + 4 * static_cast<std::size_t>(k));
    ordered &= k == 0 || dst[k - 1] < dst[k];
  }
  if (count > 0 && dst[count - 1] >= dim) {
    throw DecodeError("message index " + std::to_string(dst[count - 1]) + " out of range for dimension " +
                      std::to_string(dim));
  }
  if (!ordered) {
    for (std::uint32_t k = 1; k < count; ++k) {
      if (dst[k - 1] >= dst[k]) throw DecodeError("message indices not strictly increasing at entry " + std::to_string(k));
    }
  }
}

void read_delta_varint(const std::byte* p, const std::byte* end, std::uint32_t count, std::uint32_t dim,
                       std::vector<std::uint32_t>& out) {
  out.resize(count);
  std::uint32_t* dst = out.data();
  const ChunkTable& table = chunk_table();
  // base = previous index + 1, in 64 bits: it grows by at most 2^32 per entry, and since it
  // only grows, checking base <= dim once at the end bounds every index.
  if (has_overlong(p, end)) throw DecodeError("delta-varint gap has an overlong encoding");
  std::uint64_t base = 0;
  std::uint32_t k = 0;
  while (k < count) {
    // Fast path: the one- and two-byte varints at the start of the next 8 bytes, decoded
    // without branches; all kSlots slots are written (k + kSlots <= count), `count` of them kept.
    if (count - k >= kSlots && end - p >= 8) {
      const std::uint64_t w = get_u64(p);
      const ChunkLayout& e = table.layout[continuation_mask(w)];
      if (e.count > 0) {
        const std::uint64_t packed = pack7(w);
        std::uint32_t* out_k = dst + k;
        std::uint64_t b = base;
        for (int i = 0; i < kSlots; ++i) {
          const std::uint64_t v = (packed >> e.shift[i]) & e.value_mask[i];
          out_k[i] = static_cast<std::uint32_t>(b + v);
          b += v + e.step[i];
        }
        base = b;
        k += e.count;
        p += e.consumed;
        continue;
      }
    }
    base += read_one_varint(p, end, k);
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
