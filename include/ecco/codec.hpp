#pragma once
// Versioned, self-describing binary encoding of a Message (format documented in
// docs/wire-format.md). All integers are little-endian.
//
//   offset size field
//   0      4    magic "ECCM"
//   4      1    version (1)
//   5      1    layout (1 dense, 2 sparse)
//   6      1    value format (1 fp32, 2 fp64)
//   7      1    reserved, 0
//   8      4    dim (>= 1)
//   12     4    count (entries stored; == dim for dense, <= dim for sparse)
//   16     4    CRC-32 (zlib polynomial) of the payload
//   20          payload: sparse: count uint32 indices, then count values; dense: dim values
//
// The decoder validates every field, the exact length, the checksum, that sparse indices
// are strictly increasing and < dim, and that every value is finite; anything else is a
// DecodeError. It never reads outside the given bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ecco/message.hpp"

namespace ecco {

enum class ValueFormat : std::uint8_t { fp32 = 1, fp64 = 2 };

// "fp32" / "fp64" <-> enum; parse throws ConfigError listing the valid names.
ValueFormat parse_value_format(std::string_view text);
std::string_view to_string(ValueFormat format);

inline constexpr std::size_t kHeaderBytes = 20;

// Sizes of one encoded message, in bytes, split the way the CSV reports bits.
struct EncodedSize {
  std::size_t header = 0;
  std::size_t index = 0;
  std::size_t value = 0;
  std::size_t total() const { return header + index + value; }
};

// Size that encode() will produce for this message (it picks the cheaper of the dense and
// sparse layouts for a sparse message).
EncodedSize encoded_size(const Message& message, ValueFormat format);

// Rounds the values to what the receiver will decode (fp32: round to nearest float).
// The client applies this to its own copy so that client and server states agree bit for
// bit. Throws NumericError if a value is not finite or overflows the format.
void round_to_wire(Message& message, ValueFormat format);

// Appends the encoding of message to out and returns its size. The message must be
// valid (see message.hpp) and its values finite and representable in format
// (NumericError otherwise); round_to_wire() first makes encode/decode lossless.
EncodedSize encode(const Message& message, ValueFormat format, std::vector<std::byte>& out);

// Decodes exactly bytes (no trailing data allowed) into out, reusing its buffers.
// Throws DecodeError describing the first problem found.
void decode(std::span<const std::byte> bytes, Message& out);

// Same, also requiring a given dimension (a message for another model is rejected).
void decode(std::span<const std::byte> bytes, std::uint32_t expected_dim, Message& out);

}  // namespace ecco
