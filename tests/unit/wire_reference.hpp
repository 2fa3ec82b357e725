#pragma once
// An independent implementation of docs/wire-format.md (version 2) for the codec tests.
//
// Nothing here calls the encoder or decoder under test: bytes are assembled field by field
// from the document, the CRC is a bitwise CRC-32, 16-bit floats are rounded by searching the
// table of all 65536 bit patterns, and the shared-seed sample is Floyd's algorithm over a
// std::set. Tests compare the library's bytes with these.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <vector>

#include "ecco/codec.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"

namespace wire_ref {

using Bytes = std::vector<std::byte>;

// Bitwise CRC-32 (reflected polynomial 0xEDB88320, init 0xFFFFFFFF, final xor), as zlib.
inline std::uint32_t crc32_update(std::uint32_t crc, const std::byte* data, std::size_t size) {
  crc ^= 0xFFFFFFFFU;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= static_cast<std::uint32_t>(data[i]);
    for (int bit = 0; bit < 8; ++bit) {
      const std::uint32_t mask = 0U - (crc & 1U);
      crc = (crc >> 1) ^ (0xEDB88320U & mask);
    }
  }
  return crc ^ 0xFFFFFFFFU;
}

inline std::uint32_t crc32(const std::byte* data, std::size_t size) { return crc32_update(0, data, size); }

inline std::uint32_t read_u32(const Bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | (static_cast<std::uint32_t>(b[at + 1]) << 8) |
         (static_cast<std::uint32_t>(b[at + 2]) << 16) | (static_cast<std::uint32_t>(b[at + 3]) << 24);
}

inline std::uint64_t read_u64(const Bytes& b, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(b[at + i]) << (8 * i);
  return v;
}

// Overwrites bytes [at, at + 4) (8 for write_u64); std::out_of_range past the end.
inline void write_u32(Bytes& b, std::size_t at, std::uint32_t v) {
  if (b.size() < 4 || at > b.size() - 4) throw std::out_of_range("write_u32 past the end of the test message");
  for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
}

inline void write_u64(Bytes& b, std::size_t at, std::uint64_t v) {
  if (b.size() < 8 || at > b.size() - 8) throw std::out_of_range("write_u64 past the end of the test message");
  for (std::size_t i = 0; i < 8; ++i) b[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
}

inline void append_u16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::byte>(v & 0xFFU));
  b.push_back(static_cast<std::byte>(v >> 8));
}

inline void append_u32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xFFU));
}

inline void append_u64(Bytes& b, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xFFU));
}

// CRC of a whole message: every byte except offsets 16..19.
inline std::uint32_t message_crc(const Bytes& b) {
  std::uint32_t crc = crc32_update(0, b.data(), 16);
  return crc32_update(crc, b.data() + 20, b.size() - 20);
}

// Recomputes the stored CRC after the message was modified on purpose.
inline void fix_crc(Bytes& b) {
  if (b.size() >= 20) write_u32(b, 16, message_crc(b));
}

// ---------------------------------------------------------------------------------------
// 16-bit floats by table: every bit pattern decoded from the IEEE definition.

// value of a binary16 pattern: (-1)^s 2^(e-15) (1 + m/1024), subnormal 2^-14 (m/1024).
inline double fp16_pattern_value(std::uint16_t bits) {
  const int e = (bits >> 10) & 31;
  const int m = bits & 1023;
  double magnitude = 0.0;
  if (e == 31) {
    magnitude = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else if (e == 0) {
    magnitude = std::ldexp(m / 1024.0, -14);
  } else {
    magnitude = std::ldexp(1.0 + m / 1024.0, e - 15);
  }
  return (bits & 0x8000) != 0 ? -magnitude : magnitude;
}

// value of a bfloat16 pattern: the top half of an IEEE binary32.
inline double bf16_pattern_value(std::uint16_t bits) {
  const int e = (bits >> 7) & 255;
  const int m = bits & 127;
  double magnitude = 0.0;
  if (e == 255) {
    magnitude = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else if (e == 0) {
    magnitude = std::ldexp(m / 128.0, -126);
  } else {
    magnitude = std::ldexp(1.0 + m / 128.0, e - 127);
  }
  return (bits & 0x8000) != 0 ? -magnitude : magnitude;
}

// Round to nearest, ties to the even pattern, by binary search over the non-negative
// patterns 0 .. inf_pattern - 1 (increasing in value). nullopt when IEEE rounding would give
// infinity (the neighbour above the largest finite value is the next power of two).
inline std::optional<std::uint16_t> round_by_table(double v, double (*value_of)(std::uint16_t), std::uint16_t inf_pattern) {
  const double magnitude = std::fabs(v);
  const std::uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  const auto last = static_cast<std::uint16_t>(inf_pattern - 1);
  std::uint16_t lo = 0;  // largest pattern with value <= magnitude
  std::uint16_t hi = inf_pattern;
  while (hi - lo > 1) {
    const auto mid = static_cast<std::uint16_t>((lo + hi) / 2);
    if (value_of(mid) <= magnitude) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const double lo_value = value_of(lo);
  if (lo_value == magnitude) return static_cast<std::uint16_t>(sign | lo);
  const double hi_value = lo == last ? std::ldexp(1.0, std::ilogb(value_of(last)) + 1)
                                     : value_of(static_cast<std::uint16_t>(lo + 1));
  const double below = magnitude - lo_value;
  const double above = hi_value - magnitude;
  std::uint16_t chosen = lo;
  if (above < below || (above == below && (lo & 1) == 1)) chosen = static_cast<std::uint16_t>(lo + 1);
  if (chosen >= inf_pattern) return std::nullopt;
  return static_cast<std::uint16_t>(sign | chosen);
}

inline std::optional<std::uint16_t> fp16_pattern(double v) { return round_by_table(v, fp16_pattern_value, 0x7C00); }
inline std::optional<std::uint16_t> bf16_pattern(double v) { return round_by_table(v, bf16_pattern_value, 0x7F80); }

// The value a format carries for v (nullopt on overflow).
inline std::optional<double> round_to(double v, ecco::ValueFormat f) {
  switch (f) {
    case ecco::ValueFormat::fp64:
      return v;
    case ecco::ValueFormat::fp32: {
      const float x = static_cast<float>(v);
      if (std::isinf(x)) return std::nullopt;
      return static_cast<double>(x);
    }
    case ecco::ValueFormat::fp16: {
      const auto p = fp16_pattern(v);
      if (!p) return std::nullopt;
      return fp16_pattern_value(*p);
    }
    case ecco::ValueFormat::bf16: {
      const auto p = bf16_pattern(v);
      if (!p) return std::nullopt;
      return bf16_pattern_value(*p);
    }
  }
  return std::nullopt;
}

inline std::size_t width_of(ecco::ValueFormat f) {
  switch (f) {
    case ecco::ValueFormat::fp64:
      return 8;
    case ecco::ValueFormat::fp32:
      return 4;
    default:
      return 2;
  }
}

inline void append_value(Bytes& b, double v, ecco::ValueFormat f) {
  switch (f) {
    case ecco::ValueFormat::fp64:
      append_u64(b, std::bit_cast<std::uint64_t>(v));
      break;
    case ecco::ValueFormat::fp32:
      append_u32(b, std::bit_cast<std::uint32_t>(static_cast<float>(v)));
      break;
    case ecco::ValueFormat::fp16:
      append_u16(b, fp16_pattern(v).value());
      break;
    case ecco::ValueFormat::bf16:
      append_u16(b, bf16_pattern(v).value());
      break;
  }
}

// ---------------------------------------------------------------------------------------
// Index sections

// Gaps v_0 = i_0, v_k = i_k - i_{k-1} - 1, each as unsigned LEB128.
inline Bytes varint_section(const std::vector<std::uint32_t>& indices) {
  Bytes b;
  std::uint64_t previous_plus_one = 0;
  for (const std::uint32_t i : indices) {
    std::uint64_t v = i - previous_plus_one;
    previous_plus_one = static_cast<std::uint64_t>(i) + 1;
    do {
      std::uint8_t byte = v & 0x7F;
      v >>= 7;
      if (v != 0) byte |= 0x80;
      b.push_back(static_cast<std::byte>(byte));
    } while (v != 0);
  }
  return b;
}

inline Bytes raw32_section(const std::vector<std::uint32_t>& indices) {
  Bytes b;
  for (const std::uint32_t i : indices) append_u32(b, i);
  return b;
}

inline Bytes bitmap_section(const std::vector<std::uint32_t>& indices, std::uint32_t dim) {
  Bytes b((static_cast<std::size_t>(dim) + 7) / 8, std::byte{0});
  for (const std::uint32_t i : indices) b[i / 8] |= static_cast<std::byte>(1U << (i % 8));
  return b;
}

// Floyd's algorithm as wire-format.md states it, with a std::set.
inline std::vector<std::uint32_t> floyd_sample(std::uint64_t seed, std::uint32_t dim, std::uint32_t count) {
  ecco::Rng rng(seed);
  std::set<std::uint32_t> chosen;
  for (std::uint64_t j = dim - count; j < dim; ++j) {
    const auto t = static_cast<std::uint32_t>(rng.uniform_index(j + 1));
    if (!chosen.insert(t).second) chosen.insert(static_cast<std::uint32_t>(j));
  }
  return {chosen.begin(), chosen.end()};
}

// ---------------------------------------------------------------------------------------
// Bit-packed levels: fields of `width` bits, LSB first, zero padding.

inline Bytes pack(const std::vector<std::uint32_t>& fields, unsigned width) {
  Bytes b((fields.size() * width + 7) / 8, std::byte{0});
  std::size_t bit = 0;
  for (const std::uint32_t f : fields) {
    for (unsigned i = 0; i < width; ++i, ++bit) {
      if (((f >> i) & 1U) != 0) b[bit / 8] |= static_cast<std::byte>(1U << (bit % 8));
    }
  }
  return b;
}

// Field of one level: sign bit (1 = negative) on top of the magnitude bits.
inline std::uint32_t level_field(std::int32_t level, unsigned magnitude_bits) {
  const std::uint32_t magnitude = static_cast<std::uint32_t>(level < 0 ? -static_cast<std::int64_t>(level) : level);
  return ((level < 0 ? 1U : 0U) << magnitude_bits) | magnitude;
}

// Bits needed for 0..s.
inline unsigned bits_for(std::uint32_t s) {
  unsigned b = 0;
  while ((std::uint64_t{1} << b) <= s) ++b;
  return b;
}

// ---------------------------------------------------------------------------------------
// Whole messages

struct Parts {
  std::uint8_t version = 2;
  std::uint8_t layout = 1;       // 1 dense, 2 sparse, 3 lowrank (parts: parts_message below)
  std::uint8_t value_codec = 1;  // 1 fp32, 2 fp64, 3 bf16, 4 fp16, 16..19 quantised
  std::uint8_t index_codec = 0;  // 0 none, 1 raw32, 2 varint, 3 bitmap, 4 seed
  std::uint32_t dim = 1;
  std::uint32_t count = 1;
  Bytes params;
  Bytes index;
  Bytes values;
};

inline Bytes assemble(const Parts& p) {
  Bytes b;
  for (const char c : {'E', 'C', 'C', 'M'}) b.push_back(static_cast<std::byte>(c));
  b.push_back(static_cast<std::byte>(p.version));
  b.push_back(static_cast<std::byte>(p.layout));
  b.push_back(static_cast<std::byte>(p.value_codec));
  b.push_back(static_cast<std::byte>(p.index_codec));
  append_u32(b, p.dim);
  append_u32(b, p.count);
  append_u32(b, 0);  // CRC placeholder
  b.insert(b.end(), p.params.begin(), p.params.end());
  b.insert(b.end(), p.index.begin(), p.index.end());
  b.insert(b.end(), p.values.begin(), p.values.end());
  fix_crc(b);
  return b;
}

inline std::uint8_t tag(ecco::ValueFormat f) { return static_cast<std::uint8_t>(f); }

// A parts message (layout 4, wire-format.md "Parts layout"): the fixed header with value and
// index codec 0 and count = the number of parts, the tag byte if tag != 0 (layout byte
// 4 + 128), then for each part its byte length as uint32 and its bytes; the CRC over it all.
inline Bytes parts_message(std::uint32_t dim, const std::vector<Bytes>& parts, std::uint8_t method_tag = 0) {
  Bytes b;
  for (const char c : {'E', 'C', 'C', 'M'}) b.push_back(static_cast<std::byte>(c));
  b.push_back(std::byte{2});
  b.push_back(static_cast<std::byte>(method_tag != 0 ? 4 + 128 : 4));
  b.push_back(std::byte{0});
  b.push_back(std::byte{0});
  append_u32(b, dim);
  append_u32(b, static_cast<std::uint32_t>(parts.size()));
  append_u32(b, 0);  // CRC placeholder
  if (method_tag != 0) b.push_back(static_cast<std::byte>(method_tag));
  for (const Bytes& part : parts) {
    append_u32(b, static_cast<std::uint32_t>(part.size()));
    b.insert(b.end(), part.begin(), part.end());
  }
  fix_crc(b);
  return b;
}

// Raw-value messages.
inline Bytes dense_raw(ecco::ValueFormat f, const std::vector<double>& values) {
  Parts p;
  p.value_codec = tag(f);
  p.dim = static_cast<std::uint32_t>(values.size());
  p.count = p.dim;
  for (const double v : values) append_value(p.values, v, f);
  return assemble(p);
}

inline Bytes sparse_raw(ecco::ValueFormat f, std::uint8_t index_codec, std::uint32_t dim,
                        const std::vector<std::uint32_t>& indices, const std::vector<double>& values,
                        std::uint64_t seed = 0) {
  Parts p;
  p.layout = 2;
  p.value_codec = tag(f);
  p.index_codec = index_codec;
  p.dim = dim;
  p.count = static_cast<std::uint32_t>(indices.size());
  switch (index_codec) {
    case 1:
      p.index = raw32_section(indices);
      break;
    case 2:
      p.index = varint_section(indices);
      break;
    case 3:
      p.index = bitmap_section(indices, dim);
      break;
    case 4:
      append_u64(p.index, seed);
      break;
    default:
      break;
  }
  for (const double v : values) append_value(p.values, v, f);
  return assemble(p);
}

// Sizes of the index sections and the encoder's choice (smallest; ties: dense, seed,
// varint, bitmap, raw32). dense_bytes is nullopt when the dense layout is not allowed.
struct Choice {
  std::uint8_t layout = 2;
  std::uint8_t index_codec = 0;
  std::size_t index_bytes = 0;
  std::size_t value_bytes = 0;
};

inline Choice smallest(std::uint32_t dim, const std::vector<std::uint32_t>& indices, std::size_t sparse_value_bytes,
                       std::optional<std::size_t> dense_value_bytes, bool seeded) {
  Choice best;
  std::size_t best_total = std::numeric_limits<std::size_t>::max();
  if (dense_value_bytes) {
    best = {1, 0, 0, *dense_value_bytes};
    best_total = *dense_value_bytes;
  }
  const auto consider = [&](std::uint8_t codec, std::size_t bytes) {
    if (bytes + sparse_value_bytes < best_total) {
      best = {2, codec, bytes, sparse_value_bytes};
      best_total = bytes + sparse_value_bytes;
    }
  };
  if (seeded) consider(4, 8);
  consider(2, varint_section(indices).size());
  consider(3, (static_cast<std::size_t>(dim) + 7) / 8);
  consider(1, 4 * indices.size());
  return best;
}

}  // namespace wire_ref
