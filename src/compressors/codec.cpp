#include "ecco/codec.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include <zlib.h>

#include "ecco/error.hpp"

namespace ecco {
namespace {

constexpr std::uint8_t kMagic[4] = {'E', 'C', 'C', 'M'};
constexpr std::uint8_t kVersion = 1;

std::size_t value_bytes(ValueFormat format) { return format == ValueFormat::fp32 ? 4 : 8; }

void put_u32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
}

std::uint32_t get_u32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

void put_u64(std::byte* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
}

std::uint64_t get_u64(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

void put_value(std::byte* p, double v, ValueFormat format) {
  if (format == ValueFormat::fp32) {
    put_u32(p, std::bit_cast<std::uint32_t>(static_cast<float>(v)));
  } else {
    put_u64(p, std::bit_cast<std::uint64_t>(v));
  }
}

double get_value(const std::byte* p, ValueFormat format) {
  if (format == ValueFormat::fp32) return static_cast<double>(std::bit_cast<float>(get_u32(p)));
  return std::bit_cast<double>(get_u64(p));
}

std::uint32_t crc32_of(const std::byte* data, std::size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large payloads in pieces.
  while (size > 0) {
    const std::size_t piece = std::min<std::size_t>(size, 1U << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(piece));
    data += piece;
    size -= piece;
  }
  return static_cast<std::uint32_t>(crc);
}

bool dense_is_cheaper(const Message& m, ValueFormat format) {
  if (m.layout == Layout::dense) return true;
  const std::size_t sparse_bytes = m.count() * (4 + value_bytes(format));
  const std::size_t dense_bytes = static_cast<std::size_t>(m.dim) * value_bytes(format);
  return dense_bytes <= sparse_bytes;
}

void check_value(double v, ValueFormat format, std::size_t coordinate) {
  if (!std::isfinite(v)) {
    throw NumericError("message value at coordinate " + std::to_string(coordinate) + " is not finite (" +
                       std::to_string(v) + ")");
  }
  if (format == ValueFormat::fp32 && std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
    throw NumericError("message value " + std::to_string(v) + " at coordinate " + std::to_string(coordinate) +
                       " overflows the fp32 wire format (use --wire fp64)");
  }
}

}  // namespace

ValueFormat parse_value_format(std::string_view text) {
  if (text == "fp32") return ValueFormat::fp32;
  if (text == "fp64") return ValueFormat::fp64;
  throw ConfigError("--wire: unknown value format '" + std::string(text) + "' (valid: fp32, fp64)");
}

std::string_view to_string(ValueFormat format) { return format == ValueFormat::fp32 ? "fp32" : "fp64"; }

EncodedSize encoded_size(const Message& message, ValueFormat format) {
  EncodedSize size;
  size.header = kHeaderBytes;
  if (dense_is_cheaper(message, format)) {
    size.value = static_cast<std::size_t>(message.dim) * value_bytes(format);
  } else {
    size.index = message.count() * 4;
    size.value = message.count() * value_bytes(format);
  }
  return size;
}

void round_to_wire(Message& message, ValueFormat format) {
  for (std::size_t k = 0; k < message.values.size(); ++k) {
    double& v = message.values[k];
    check_value(v, format, message.layout == Layout::dense ? k : message.indices[k]);
    if (format == ValueFormat::fp32) v = static_cast<double>(static_cast<float>(v));
  }
}

EncodedSize encode(const Message& message, ValueFormat format, std::vector<std::byte>& out) {
  const EncodedSize size = encoded_size(message, format);
  const bool dense = dense_is_cheaper(message, format);
  if (message.layout == Layout::sparse) {
    if (message.indices.size() != message.values.size()) {
      throw std::invalid_argument("encode: sparse message has " + std::to_string(message.indices.size()) +
                                  " indices but " + std::to_string(message.values.size()) + " values");
    }
    for (std::size_t k = 0; k < message.indices.size(); ++k) {
      if (message.indices[k] >= message.dim || (k > 0 && message.indices[k] <= message.indices[k - 1])) {
        throw std::invalid_argument("encode: sparse message indices must be strictly increasing and < dim");
      }
    }
  } else if (message.values.size() != message.dim) {
    throw std::invalid_argument("encode: dense message has " + std::to_string(message.values.size()) +
                                " values for dimension " + std::to_string(message.dim));
  }
  if (message.dim == 0) throw std::invalid_argument("encode: message dimension is 0");
  const std::size_t start = out.size();
  out.resize(start + size.total());
  std::byte* header = out.data() + start;
  std::byte* payload = header + kHeaderBytes;
  const std::size_t vb = value_bytes(format);

  if (dense) {
    std::memset(payload, 0, size.value);
    if (message.layout == Layout::dense) {
      for (std::size_t j = 0; j < message.values.size(); ++j) {
        check_value(message.values[j], format, j);
        put_value(payload + j * vb, message.values[j], format);
      }
    } else {
      for (std::size_t k = 0; k < message.values.size(); ++k) {
        check_value(message.values[k], format, message.indices[k]);
        put_value(payload + static_cast<std::size_t>(message.indices[k]) * vb, message.values[k], format);
      }
    }
  } else {
    const std::size_t count = message.count();
    std::byte* values = payload + 4 * count;
    for (std::size_t k = 0; k < count; ++k) {
      check_value(message.values[k], format, message.indices[k]);
      put_u32(payload + 4 * k, message.indices[k]);
      put_value(values + k * vb, message.values[k], format);
    }
  }

  std::memcpy(header, kMagic, 4);
  header[4] = static_cast<std::byte>(kVersion);
  header[5] = static_cast<std::byte>(dense ? Layout::dense : Layout::sparse);
  header[6] = static_cast<std::byte>(format);
  header[7] = std::byte{0};
  put_u32(header + 8, message.dim);
  put_u32(header + 12, static_cast<std::uint32_t>(dense ? message.dim : message.count()));
  put_u32(header + 16, crc32_of(payload, size.index + size.value));
  return size;
}

void decode(std::span<const std::byte> bytes, Message& out) {
  if (bytes.size() < kHeaderBytes) {
    throw DecodeError("message truncated: " + std::to_string(bytes.size()) + " bytes, header needs " +
                      std::to_string(kHeaderBytes));
  }
  const std::byte* h = bytes.data();
  if (std::memcmp(h, kMagic, 4) != 0) throw DecodeError("bad message magic (not an ecco message)");
  const auto version = static_cast<std::uint8_t>(h[4]);
  if (version != kVersion) {
    throw DecodeError("unsupported message version " + std::to_string(version) + " (this build reads version " +
                      std::to_string(kVersion) + ")");
  }
  const auto layout_byte = static_cast<std::uint8_t>(h[5]);
  if (layout_byte != static_cast<std::uint8_t>(Layout::dense) && layout_byte != static_cast<std::uint8_t>(Layout::sparse)) {
    throw DecodeError("unknown message layout " + std::to_string(layout_byte));
  }
  const auto format_byte = static_cast<std::uint8_t>(h[6]);
  if (format_byte != static_cast<std::uint8_t>(ValueFormat::fp32) &&
      format_byte != static_cast<std::uint8_t>(ValueFormat::fp64)) {
    throw DecodeError("unknown value format " + std::to_string(format_byte));
  }
  if (h[7] != std::byte{0}) throw DecodeError("reserved header byte is not zero");
  const auto layout = static_cast<Layout>(layout_byte);
  const auto format = static_cast<ValueFormat>(format_byte);
  const std::uint32_t dim = get_u32(h + 8);
  const std::uint32_t count = get_u32(h + 12);
  if (dim == 0) throw DecodeError("message dimension is 0");
  if (count > dim) {
    throw DecodeError("message count " + std::to_string(count) + " exceeds its dimension " + std::to_string(dim));
  }
  if (layout == Layout::dense && count != dim) {
    throw DecodeError("dense message count " + std::to_string(count) + " differs from its dimension " +
                      std::to_string(dim));
  }
  const std::uint64_t per_entry = (layout == Layout::sparse ? 4U : 0U) + value_bytes(format);
  const std::uint64_t expected = kHeaderBytes + per_entry * count;
  if (bytes.size() != expected) {
    throw DecodeError("message length " + std::to_string(bytes.size()) + " bytes does not match its header (" +
                      std::to_string(expected) + " bytes expected)");
  }
  const std::byte* payload = h + kHeaderBytes;
  const std::uint32_t crc = crc32_of(payload, bytes.size() - kHeaderBytes);
  if (crc != get_u32(h + 16)) throw DecodeError("message checksum mismatch (corrupted payload)");

  out.layout = layout;
  out.dim = dim;
  out.indices.clear();
  out.values.resize(count);
  const std::size_t vb = value_bytes(format);
  const std::byte* values = payload;
  if (layout == Layout::sparse) {
    out.indices.resize(count);
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint32_t index = get_u32(payload + 4 * k);
      if (index >= dim) {
        throw DecodeError("message index " + std::to_string(index) + " out of range for dimension " +
                          std::to_string(dim));
      }
      if (k > 0 && index <= out.indices[k - 1]) {
        throw DecodeError("message indices not strictly increasing at entry " + std::to_string(k));
      }
      out.indices[k] = index;
    }
    values = payload + 4 * static_cast<std::size_t>(count);
  }
  for (std::size_t k = 0; k < count; ++k) {
    const double v = get_value(values + k * vb, format);
    if (!std::isfinite(v)) throw DecodeError("message value at entry " + std::to_string(k) + " is not finite");
    out.values[k] = v;
  }
}

void decode(std::span<const std::byte> bytes, std::uint32_t expected_dim, Message& out) {
  decode(bytes, out);
  if (out.dim != expected_dim) {
    throw DecodeError("message dimension " + std::to_string(out.dim) + " differs from the model dimension " +
                      std::to_string(expected_dim));
  }
}

}  // namespace ecco
