#pragma once
// Little-endian byte and bit access used by the codec (private to src/compressors).
// Readers take explicit bounds from their callers; none of them reads past `end`.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ecco::detail {

inline void put_u16(std::byte* p, std::uint16_t v) {
  p[0] = static_cast<std::byte>(v & 0xFFU);
  p[1] = static_cast<std::byte>(v >> 8);
}

inline std::uint16_t get_u16(const std::byte* p) {
  return static_cast<std::uint16_t>(static_cast<unsigned>(p[0]) | (static_cast<unsigned>(p[1]) << 8));
}

inline void put_u32(std::byte* p, std::uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, 4);
  } else {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
  }
}

inline std::uint32_t get_u32(const std::byte* p) {
  std::uint32_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, 4);
  } else {
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  }
  return v;
}

inline void put_u64(std::byte* p, std::uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, 8);
  } else {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
  }
}

inline std::uint64_t get_u64(const std::byte* p) {
  std::uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, 8);
  } else {
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  }
  return v;
}

// Reads up to 8 bytes at p (fewer when p + 8 > end), little-endian, missing bytes zero.
inline std::uint64_t get_u64_bounded(const std::byte* p, const std::byte* end) {
  if (end - p >= 8) return get_u64(p);
  std::uint64_t v = 0;
  for (int i = 0; p + i < end; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// Packs fields of `width` bits (1..32), LSB first, into consecutive bytes starting at p.
// The caller sizes the destination to ceil(n * width / 8) bytes; flush() writes the tail.
class BitWriter {
 public:
  BitWriter(std::byte* p, unsigned width) : p_(p), width_(width) {}

  void put(std::uint32_t field) {
    buffer_ |= static_cast<std::uint64_t>(field) << filled_;
    filled_ += width_;
    if (filled_ >= 32) {
      put_u32(p_, static_cast<std::uint32_t>(buffer_));
      p_ += 4;
      buffer_ >>= 32;
      filled_ -= 32;
    }
  }

  void flush() {
    while (filled_ > 0) {
      *p_++ = static_cast<std::byte>(buffer_ & 0xFFU);
      buffer_ >>= 8;
      filled_ = filled_ > 8 ? filled_ - 8 : 0;
    }
  }

 private:
  std::byte* p_;
  unsigned width_;
  std::uint64_t buffer_ = 0;
  unsigned filled_ = 0;
};

// Reads fields of `width` bits (1..32) written by BitWriter from [p, end). The caller has
// checked that end - p == ceil(n * width / 8) for the n fields it reads.
class BitReader {
 public:
  BitReader(const std::byte* p, const std::byte* end, unsigned width)
      : p_(p), end_(end), width_(width), mask_((std::uint64_t{1} << width) - 1) {}

  std::uint32_t get() {
    if (filled_ < width_) refill();
    const auto field = static_cast<std::uint32_t>(buffer_ & mask_);
    buffer_ >>= width_;
    filled_ -= width_;
    return field;
  }

  // The bits left after the last field read (must be zero on the wire): what is still in
  // the buffer and in the bytes not loaded yet.
  bool leftover_zero() const {
    if (buffer_ != 0) return false;
    for (const std::byte* q = p_; q < end_; ++q) {
      if (*q != std::byte{0}) return false;
    }
    return true;
  }

 private:
  void refill() {
    if (end_ - p_ >= 4) {
      buffer_ |= static_cast<std::uint64_t>(get_u32(p_)) << filled_;
      p_ += 4;
      filled_ += 32;
      return;
    }
    while (filled_ <= 56 && p_ < end_) {
      buffer_ |= static_cast<std::uint64_t>(*p_++) << filled_;
      filled_ += 8;
    }
  }

  const std::byte* p_;
  const std::byte* end_;
  unsigned width_;
  std::uint64_t mask_;
  std::uint64_t buffer_ = 0;
  unsigned filled_ = 0;
};

}  // namespace ecco::detail
