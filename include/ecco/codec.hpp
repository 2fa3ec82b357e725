#pragma once
// Versioned, self-describing binary encoding of a Message (format in docs/wire-format.md).
// All integers are little-endian.
//
//   offset size field
//   0      4    magic "ECCM"
//   4      1    version (2)
//   5      1    layout (1 dense, 2 sparse, 3 lowrank, 4 parts, 5 shared_lowrank; + 128 with a method tag)
//   6      1    value codec (1 fp32, 2 fp64, 3 bf16, 4 fp16, 16..19 quantised, see ValueCode; 0 for parts)
//   7      1    index codec (0 none, 1 raw32, 2 delta-varint, 3 bitmap, 4 seed)
//   8      4    dim (>= 1)
//   12     4    count (values stored: dim for dense, <= dim for sparse, rank (rows + cols) for
//               lowrank and shared_lowrank; the number of parts, 1..dim, for parts)
//   16     4    CRC-32 (zlib polynomial) of every byte of the message except these four
//   20          the tag (1 byte) if flagged; lowrank: rows, cols, rank (3 x uint32);
//               shared_lowrank: rows, cols, rank and the factor version (uint64); levels
//               codecs: s (uint32), scale (fp32); natural and sign codecs: scale (fp32)
//   ...         index section (sparse only), then value section
//               parts: per part a uint32 byte length and the part's complete encoding (its own
//               header and CRC; never a parts message itself), the part dimensions summing to dim
//
// For a sparse message the encoder picks the smallest of: the dense layout (not for the sign
// codec, which has no zero), the seed (seeded messages), delta-varint, bitmap and raw32
// indices; ties go to that order. The decoder validates every field, the exact length, the
// checksum, the indices (strictly increasing, < dim), every level and that every value is
// finite; anything else is a DecodeError. It never reads outside the given bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ecco/message.hpp"

namespace ecco {

class SharedFactor;

// Precision of raw values on the wire (--wire). The numbers are the wire tags.
enum class ValueFormat : std::uint8_t { fp32 = 1, fp64 = 2, bf16 = 3, fp16 = 4 };

// "fp32" / "fp64" / "bf16" / "fp16" <-> enum; parse throws ConfigError listing the valid names.
ValueFormat parse_value_format(std::string_view text);
std::string_view to_string(ValueFormat format);

// Bytes of one raw value in the format (4, 8, 2, 2).
std::size_t value_format_bytes(ValueFormat format);

enum class IndexCodec : std::uint8_t { none = 0, raw32 = 1, delta_varint = 2, bitmap = 3, seed = 4 };
std::string_view to_string(IndexCodec codec);

// The fixed part of the header; layouts and value codecs with parameters add to it.
inline constexpr std::size_t kHeaderBytes = 20;
inline constexpr std::uint8_t kWireVersion = 2;

// Sizes of one encoded message, in bytes, split the way the CSV reports bits: header
// (fixed header and codec parameters: scale, s, lowrank shape), index section, value section.
// For a parts message: header = its own 20 bytes (+ tag) + 4 per part (the lengths) + the
// parts' headers; index and value = the sums over the parts.
struct EncodedSize {
  std::size_t header = 0;
  std::size_t index = 0;
  std::size_t value = 0;
  Layout layout = Layout::dense;           // layout on the wire (a sparse message may go dense)
  IndexCodec index_codec = IndexCodec::none;
  std::size_t total() const { return header + index + value; }
};

// What to encode with. index = none means the smallest choice (see above); forcing another
// codec is for tests and benchmarks (the dense layout is then never chosen for a sparse
// message; forcing seed needs a seeded message). In a parts message they apply to every part.
struct EncodeOptions {
  ValueFormat format = ValueFormat::fp32;
  IndexCodec index = IndexCodec::none;
};

// Size that encode() will produce for this message.
EncodedSize encoded_size(const Message& message, ValueFormat format);
EncodedSize encoded_size(const Message& message, const EncodeOptions& options);

// Makes the message equal bit for bit to what the receiver will decode: raw values are
// rounded to the format (round to nearest even; fp16/bf16 subnormals kept), quantised values
// are recomputed from their levels; a parts message rounds each part. The client applies this
// to its own copy so that client and server states agree. Throws NumericError (naming the
// coordinate of the whole vector) if a raw value is not finite or overflows the format, or if
// the scale of a quantised message is not finite or not an fp32 value.
void round_to_wire(Message& message, ValueFormat format);

// Appends the encoding of message to out and returns its size. The message must be valid
// (see message.hpp; std::invalid_argument otherwise) and its raw values finite and
// representable in format (NumericError otherwise); round_to_wire() first makes
// encode/decode lossless. Quantised values travel as their levels (format is not used).
// A part whose encoding exceeds 2^32 - 1 bytes is a std::invalid_argument. On any exception
// out is left as it was.
EncodedSize encode(const Message& message, ValueFormat format, std::vector<std::byte>& out);
EncodedSize encode(const Message& message, const EncodeOptions& options, std::vector<std::byte>& out);

// Decodes exactly bytes (no trailing data allowed) into out, reusing its buffers, and
// returns how the bytes split into header, index and value sections (as encode() reports).
// Throws DecodeError describing the first problem found.
EncodedSize decode(std::span<const std::byte> bytes, Message& out);

// Same, also requiring a given dimension (a message for another model is rejected).
EncodedSize decode(std::span<const std::byte> bytes, std::uint32_t expected_dim, Message& out);

// Same, with the receiver's shared factor for shared_lowrank messages (their A and S travel,
// values become [factor P, A, S]); a shared_lowrank message whose shape or factor version
// differs from factor's, or that arrives with factor null, is a DecodeError.
EncodedSize decode(std::span<const std::byte> bytes, std::uint32_t expected_dim, const SharedFactor* factor,
                   Message& out);

// The shared-seed sample: `count` distinct coordinates of [0, dim), sorted, drawn from seed
// by Floyd's algorithm over Rng(seed) (wire-format.md gives the exact steps; both ends
// regenerate it). Needs count <= dim; reuses `out` (grows it to at most count + dim/32 + 1).
void sample_indices(std::uint64_t seed, std::uint32_t dim, std::uint32_t count, std::vector<std::uint32_t>& out);

}  // namespace ecco
