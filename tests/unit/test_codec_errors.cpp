// Every bad message is an ecco::DecodeError and nothing else, for every layout, value codec
// and index codec: truncations, trailing bytes, bad magic / version / tags, dim 0, count > dim,
// bad indices, bad levels, bad lowrank shapes, non-finite values, CRC mismatches, bad parts
// messages (framing, nesting, dimensions, a bad part), and random mutations (fuzz). Inputs are decoded from heap buffers of exactly their size so that an
// out-of-bounds read is caught under AddressSanitizer.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "codec_test_util.hpp"

namespace {

using namespace codec_test;
using ecco::DecodeError;

Bytes crafted_sparse(std::uint8_t format, std::uint8_t index_codec, std::uint32_t dim,
                     const std::vector<std::uint32_t>& indices, const std::vector<double>& values) {
  return wire_ref::sparse_raw(static_cast<ValueFormat>(format), index_codec, dim, indices, values);
}

TEST(CodecDecodeErrors, CorpusIsValid) {
  for (const Bytes& valid : valid_corpus()) {
    Message out;
    EXPECT_NO_THROW(decode_exact(valid, out));
    EXPECT_EQ(wire_ref::read_u32(valid, 16), wire_ref::message_crc(valid));
  }
}

TEST(CodecDecodeErrors, EmptyAndEveryTruncation) {
  expect_decode_error({}, "empty input");
  for (const Bytes& valid : valid_corpus()) {
    for (std::size_t n = 0; n < valid.size(); ++n) {
      expect_decode_error(Bytes(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n)),
                          "prefix " + std::to_string(n) + " of " + std::to_string(valid.size()));
    }
  }
}

TEST(CodecDecodeErrors, TruncationsWithTheCrcRecomputed) {
  // Reaches the length checks behind the CRC: a shorter message with a matching CRC.
  for (const Bytes& valid : valid_corpus()) {
    for (std::size_t n = 20; n < valid.size(); ++n) {
      Bytes b(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n));
      wire_ref::fix_crc(b);
      expect_decode_error(b, "prefix " + std::to_string(n) + " with CRC fixed");
    }
  }
}

TEST(CodecDecodeErrors, TrailingBytes) {
  for (const Bytes& valid : valid_corpus()) {
    for (const std::size_t extra : {1U, 2U, 8U}) {
      Bytes longer = valid;
      longer.resize(valid.size() + extra);
      expect_decode_error(longer, "trailing bytes");
      wire_ref::fix_crc(longer);
      expect_decode_error(longer, "trailing bytes, CRC fixed");
    }
  }
}

TEST(CodecDecodeErrors, BadMagicVersionAndTags) {
  for (const Bytes& valid : valid_corpus()) {
    for (std::size_t i = 0; i < 4; ++i) {
      Bytes b = valid;
      b[i] ^= std::byte{0x20};
      expect_decode_error(b, "magic byte " + std::to_string(i));
    }
    for (const unsigned v : {0U, 1U, 3U, 255U}) {
      Bytes b = valid;
      b[4] = static_cast<std::byte>(v);
      expect_decode_error(b, "version " + std::to_string(v));
      wire_ref::fix_crc(b);
      expect_decode_error(b, "version " + std::to_string(v) + " CRC fixed");
    }
    // Layout 4 with value codec 0 is a parts message: those values are only wrong for the others.
    const bool parts = (static_cast<unsigned>(valid[5]) & 0x7FU) == 4U;
    for (const unsigned v : parts ? std::vector<unsigned>{0U, 1U, 2U, 3U, 5U, 128U, 255U}
                                  : std::vector<unsigned>{0U, 4U, 5U, 128U, 255U}) {
      Bytes b = valid;
      b[5] = static_cast<std::byte>(v);
      wire_ref::fix_crc(b);
      expect_decode_error(b, "layout " + std::to_string(v));
    }
    const std::vector<unsigned> bad_value_codecs =
        parts ? std::vector<unsigned>{1U, 2U, 5U, 16U, 19U, 255U} : std::vector<unsigned>{0U, 5U, 15U, 20U, 255U};
    for (const unsigned v : bad_value_codecs) {
      Bytes b = valid;
      b[6] = static_cast<std::byte>(v);
      wire_ref::fix_crc(b);
      expect_decode_error(b, "value codec " + std::to_string(v));
    }
    const std::vector<unsigned> bad_index_codecs =
        parts ? std::vector<unsigned>{1U, 2U, 4U, 5U, 255U} : std::vector<unsigned>{5U, 16U, 255U};
    for (const unsigned v : bad_index_codecs) {
      Bytes b = valid;
      b[7] = static_cast<std::byte>(v);
      wire_ref::fix_crc(b);
      expect_decode_error(b, "index codec " + std::to_string(v));
    }
  }
}

TEST(CodecDecodeErrors, VersionOneMessagesAreRejected) {
  // A version-1 dense message (20-byte header, reserved byte 0, CRC of the payload only).
  wire_ref::Parts p;
  p.version = 1;
  p.dim = 2;
  p.count = 2;
  wire_ref::append_value(p.values, 1.0, ValueFormat::fp32);
  wire_ref::append_value(p.values, 2.0, ValueFormat::fp32);
  expect_decode_error(wire_ref::assemble(p), "version 1");
}

TEST(CodecDecodeErrors, IndexCodecMustMatchTheLayout) {
  // Dense with an index codec; sparse without one; lowrank with one.
  wire_ref::Parts dense;
  dense.index_codec = 1;
  dense.dim = 1;
  dense.count = 1;
  wire_ref::append_value(dense.values, 1.0, ValueFormat::fp32);
  expect_decode_error(wire_ref::assemble(dense), "dense with raw32 index codec");
  expect_decode_error(crafted_sparse(1, 0, 10, {}, {}), "sparse without index codec");
  expect_decode_error(crafted_sparse(1, 0, 10, {1}, {1.0}), "sparse without index codec, one entry");
}

TEST(CodecDecodeErrors, DimZeroAndCountProblems) {
  expect_decode_error(crafted_sparse(2, 2, 0, {}, {}), "sparse dim 0");
  wire_ref::Parts dense;
  dense.dim = 0;
  dense.count = 0;
  expect_decode_error(wire_ref::assemble(dense), "dense dim 0");
  for (const Bytes& valid : valid_corpus()) {
    Bytes b = valid;
    wire_ref::write_u32(b, 8, 0);
    wire_ref::fix_crc(b);
    expect_decode_error(b, "dim patched to 0");
  }
  expect_decode_error(crafted_sparse(2, 1, 3, {0, 1, 2, 3}, {1, 2, 3, 4}), "sparse count 4 > dim 3");
  expect_decode_error(crafted_sparse(1, 2, 2, {0, 1, 1}, {1, 2, 3}), "sparse count 3 > dim 2, varint");
  Bytes b = crafted_sparse(2, 1, 5, {0}, {1.0});
  wire_ref::write_u32(b, 12, 0xFFFFFFFFU);
  wire_ref::fix_crc(b);
  expect_decode_error(b, "count 2^32-1 (no overflow in the length check)");
  b = crafted_sparse(2, 2, 0xFFFFFFFFU, {0}, {1.0});
  wire_ref::write_u32(b, 12, 0xFFFFFFFFU);
  wire_ref::fix_crc(b);
  expect_decode_error(b, "varint count 2^32-1 with dim 2^32-1");
  // Dense with count != dim.
  for (const std::uint32_t count : {0U, 3U, 5U}) {
    wire_ref::Parts p;
    p.value_codec = 2;
    p.dim = 4;
    p.count = count;
    for (std::uint32_t k = 0; k < count; ++k) wire_ref::append_value(p.values, 1.0, ValueFormat::fp64);
    expect_decode_error(wire_ref::assemble(p), "dense count " + std::to_string(count) + " dim 4");
  }
}

TEST(CodecDecodeErrors, BadRawAndBitmapIndices) {
  for (const std::uint8_t f : {std::uint8_t{1}, std::uint8_t{2}, std::uint8_t{4}}) {
    expect_decode_error(crafted_sparse(f, 1, 10, {10}, {1.0}), "raw32 index == dim");
    expect_decode_error(crafted_sparse(f, 1, 10, {3, 11}, {1.0, 2.0}), "raw32 last index > dim");
    expect_decode_error(crafted_sparse(f, 1, 10, {0xFFFFFFFFU, 1}, {1.0, 2.0}), "raw32 index 2^32-1");
    expect_decode_error(crafted_sparse(f, 1, 10, {3, 3}, {1.0, 2.0}), "raw32 repeated index");
    expect_decode_error(crafted_sparse(f, 1, 100, {50, 60, 10}, {1.0, 2.0, 3.0}), "raw32 decreasing");
  }
  // Bitmap: more or fewer bits than count, bits past dim.
  expect_decode_error(crafted_sparse(1, 3, 10, {1, 2}, {1.0}), "bitmap with 2 bits, count 1");
  {
    wire_ref::Parts p;
    p.layout = 2;
    p.index_codec = 3;
    p.dim = 10;
    p.count = 2;
    p.index = wire_ref::bitmap_section({4}, 10);
    wire_ref::append_value(p.values, 1.0, ValueFormat::fp32);
    wire_ref::append_value(p.values, 1.0, ValueFormat::fp32);
    expect_decode_error(wire_ref::assemble(p), "bitmap with 1 bit, count 2");
    p.count = 1;
    p.values.resize(4);
    p.index[1] |= std::byte{0x04};  // bit 10 == dim
    expect_decode_error(wire_ref::assemble(p), "bitmap bit at dim");
    p.index = wire_ref::bitmap_section({4}, 10);
    p.index[1] |= std::byte{0x80};  // bit 15, padding
    expect_decode_error(wire_ref::assemble(p), "bitmap padding bit");
  }
  // A correct crafted bitmap decodes (control).
  Message out;
  EXPECT_NO_THROW(decode_exact(crafted_sparse(1, 3, 70, {0, 9, 63, 64, 69}, {1, 2, 3, 4, 5}), out));
  EXPECT_EQ(out.indices, (std::vector<std::uint32_t>{0, 9, 63, 64, 69}));
}

TEST(CodecDecodeErrors, BadVarintSections) {
  const auto with_section = [](std::uint32_t dim, std::uint32_t count, const std::vector<std::uint8_t>& section) {
    wire_ref::Parts p;
    p.layout = 2;
    p.index_codec = 2;
    p.dim = dim;
    p.count = count;
    for (const std::uint8_t b : section) p.index.push_back(static_cast<std::byte>(b));
    for (std::uint32_t k = 0; k < count; ++k) wire_ref::append_value(p.values, 1.0, ValueFormat::fp32);
    return wire_ref::assemble(p);
  };
  Message out;
  EXPECT_NO_THROW(decode_exact(with_section(1000, 2, {0x05, 0x80, 0x01}), out));  // control: 5, 134
  EXPECT_EQ(out.indices, (std::vector<std::uint32_t>{5, 134}));
  expect_decode_error(with_section(1000, 2, {0x05, 0x80}), "varint cut inside the last gap");
  expect_decode_error(with_section(1000, 2, {0x05}), "one varint for two indices");
  expect_decode_error(with_section(1000, 1, {0x05, 0x01}), "extra varint byte");
  expect_decode_error(with_section(1000, 1, {0x85, 0x00}), "overlong varint");
  expect_decode_error(with_section(0xFFFFFFFFU, 1, {0xFF, 0xFF, 0xFF, 0xFF, 0x1F}), "gap above 2^32");
  expect_decode_error(with_section(0xFFFFFFFFU, 1, {0xFF, 0xFF, 0xFF, 0xFF, 0x8F, 0x01}), "six-byte varint");
  expect_decode_error(with_section(134, 2, {0x05, 0x80, 0x01}), "last index == dim");
  // Sums past 2^32 must not wrap into range: two gaps of 2^32 - 2.
  expect_decode_error(with_section(0xFFFFFFFFU, 2, {0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F}),
                      "indices past 2^32");
  // Eight one-byte gaps (fast path) running past dim.
  expect_decode_error(with_section(8, 8, {0, 0, 0, 0, 0, 0, 0, 1}), "fast path past dim");
  EXPECT_NO_THROW(decode_exact(with_section(9, 8, {0, 0, 0, 0, 0, 0, 0, 1}), out));
}

TEST(CodecDecodeErrors, NonFiniteRawValues) {
  const double bad[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity()};
  for (const double v : bad) {
    for (const std::uint8_t f : {std::uint8_t{1}, std::uint8_t{2}}) {
      wire_ref::Parts p;
      p.value_codec = f;
      p.dim = 3;
      p.count = 3;
      for (const double x : {1.0, v, 2.0}) wire_ref::append_value(p.values, x, static_cast<ValueFormat>(f));
      expect_decode_error(wire_ref::assemble(p), "dense non-finite");
      expect_decode_error(crafted_sparse(f, 2, 50, {4, 40}, {1.0, v}), "sparse non-finite");
    }
  }
  // 16-bit infinities and NaNs.
  for (const auto& [format, pattern] : {std::pair{4, 0x7C00}, std::pair{4, 0xFC00}, std::pair{4, 0x7E00},
                                       std::pair{3, 0x7F80}, std::pair{3, 0xFF80}, std::pair{3, 0x7FC1}}) {
    wire_ref::Parts p;
    p.value_codec = static_cast<std::uint8_t>(format);
    p.dim = 1;
    p.count = 1;
    wire_ref::append_u16(p.values, static_cast<std::uint16_t>(pattern));
    expect_decode_error(wire_ref::assemble(p), "16-bit non-finite pattern");
  }
}

TEST(CodecDecodeErrors, BadLevelsAndScales) {
  const auto levels_message = [](std::uint8_t code, std::uint32_t s, std::uint32_t scale_bits,
                                 const std::vector<std::uint32_t>& fields, unsigned width) {
    wire_ref::Parts p;
    p.value_codec = code;
    p.dim = static_cast<std::uint32_t>(fields.size());
    p.count = p.dim;
    if (code == 16 || code == 17) wire_ref::append_u32(p.params, s);
    wire_ref::append_u32(p.params, scale_bits);
    p.values = wire_ref::pack(fields, width);
    return wire_ref::assemble(p);
  };
  const std::uint32_t one = std::bit_cast<std::uint32_t>(1.0f);
  Message out;
  // Controls.
  EXPECT_NO_THROW(decode_exact(levels_message(16, 5, one, {5, 0, 0b1011}, 4), out));
  EXPECT_EQ(out.levels, (std::vector<std::int32_t>{5, 0, -3}));
  EXPECT_NO_THROW(decode_exact(levels_message(18, 0, one, {254, 256 + 1}, 9), out));
  EXPECT_EQ(out.levels, (std::vector<std::int32_t>{254, -1}));
  // uniform / power: level > s, negative zero, s = 0, s > 2^20.
  for (const std::uint8_t code : {std::uint8_t{16}, std::uint8_t{17}}) {
    expect_decode_error(levels_message(code, 5, one, {6}, 4), "level 6 > s 5");
    expect_decode_error(levels_message(code, 5, one, {0b1000}, 4), "negative zero");
    expect_decode_error(levels_message(code, 0, one, {0}, 1), "s = 0");
    expect_decode_error(levels_message(code, (1U << 20) + 1, one, {0}, 22), "s > 2^20");
  }
  // natural: 255 is not a level; negative zero.
  expect_decode_error(levels_message(18, 0, one, {255}, 9), "natural 255");
  expect_decode_error(levels_message(18, 0, one, {256}, 9), "natural negative zero");
  // Scales: negative, infinite, NaN.
  for (const float scale : {-1.0f, -0.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    const std::uint32_t sb = std::bit_cast<std::uint32_t>(scale);
    expect_decode_error(levels_message(16, 5, sb, {1}, 4), "bad uniform scale");
    expect_decode_error(levels_message(19, 0, sb, {1}, 1), "bad sign scale");
    expect_decode_error(levels_message(18, 0, sb, {1}, 9), "bad natural scale");
  }
  // Non-zero padding bits after the last level.
  wire_ref::Parts p;
  p.value_codec = 19;
  p.dim = 3;
  p.count = 3;
  wire_ref::append_u32(p.params, one);
  p.values = {std::byte{0x0A}};  // bits 0..2 are levels, bit 3 is padding
  expect_decode_error(wire_ref::assemble(p), "sign padding bit");
  p.values = {std::byte{0x02}};
  EXPECT_NO_THROW(decode_exact(wire_ref::assemble(p), out));
  EXPECT_EQ(out.levels, (std::vector<std::int32_t>{1, -1, 1}));
}

TEST(CodecDecodeErrors, BadLowrankShapes) {
  const auto lowrank = [](std::uint32_t dim, std::uint32_t rows, std::uint32_t cols, std::uint32_t rank,
                          std::uint32_t count, std::uint8_t value_codec = 1) {
    wire_ref::Parts p;
    p.layout = 3;
    p.value_codec = value_codec;
    p.dim = dim;
    p.count = count;
    wire_ref::append_u32(p.params, rows);
    wire_ref::append_u32(p.params, cols);
    wire_ref::append_u32(p.params, rank);
    for (std::uint32_t k = 0; k < count; ++k) wire_ref::append_value(p.values, 1.0, ValueFormat::fp32);
    return wire_ref::assemble(p);
  };
  Message out;
  EXPECT_NO_THROW(decode_exact(lowrank(10, 3, 4, 2, 14), out));  // control
  expect_decode_error(lowrank(10, 0, 4, 2, 14), "rows 0");
  expect_decode_error(lowrank(10, 11, 1, 1, 12), "rows > dim");
  expect_decode_error(lowrank(10, 3, 3, 2, 12), "cols != ceil(dim / rows)");
  expect_decode_error(lowrank(10, 3, 5, 2, 16), "cols too large");
  expect_decode_error(lowrank(10, 3, 4, 0, 0), "rank 0");
  expect_decode_error(lowrank(10, 3, 4, 4, 28), "rank > min(rows, cols)");
  expect_decode_error(lowrank(10, 3, 4, 2, 13), "count != rank (rows + cols)");
  expect_decode_error(lowrank(0xFFFFFFFFU, 0xFFFFFFFFU, 1, 1, 0), "count overflow");
  // Quantised value codecs are not allowed in lowrank messages.
  {
    wire_ref::Parts p;
    p.layout = 3;
    p.value_codec = 18;
    p.dim = 4;
    p.count = 4;
    for (const std::uint32_t v : {2U, 2U, 1U}) wire_ref::append_u32(p.params, v);
    wire_ref::append_u32(p.params, std::bit_cast<std::uint32_t>(1.0f));
    p.values = wire_ref::pack({127, 127, 127, 127}, 9);
    expect_decode_error(wire_ref::assemble(p), "lowrank natural");
  }
}

TEST(CodecDecodeErrors, CrcMismatch) {
  for (const Bytes& valid : valid_corpus()) {
    // Every bit after the CRC field (capped), and every bit of the header before it.
    for (std::size_t bit = 0; bit < std::min<std::size_t>((valid.size() - 20) * 8, 2048); ++bit) {
      Bytes b = valid;
      b[20 + bit / 8] ^= static_cast<std::byte>(1U << (bit % 8));
      expect_decode_error(b, "payload bit " + std::to_string(bit));
    }
    for (std::size_t bit = 0; bit < 20 * 8; ++bit) {
      Bytes b = valid;
      b[bit / 8] ^= static_cast<std::byte>(1U << (bit % 8));
      expect_decode_error(b, "header bit " + std::to_string(bit));
    }
  }
}

// Checks the invariants of a message the decoder accepted.
void expect_valid_decoded(const Message& m, bool is_part = false) {
  ASSERT_GE(m.dim, 1U);
  switch (m.layout) {
    case Layout::parts: {
      ASSERT_FALSE(is_part) << "nested parts message accepted";
      ASSERT_GE(m.part_count, 1U);
      ASSERT_LE(m.part_count, m.dim);
      ASSERT_LE(m.part_count, m.parts.size());
      EXPECT_TRUE(m.values.empty());
      EXPECT_TRUE(m.indices.empty());
      std::uint64_t covered = 0;
      for (std::size_t k = 0; k < m.part_count; ++k) {
        ASSERT_NE(m.parts[k].layout, Layout::parts);
        expect_valid_decoded(m.parts[k], true);
        covered += m.parts[k].dim;
      }
      ASSERT_EQ(covered, m.dim);
      break;
    }
    case Layout::dense:
      EXPECT_TRUE(m.indices.empty());
      EXPECT_EQ(m.values.size(), m.dim);
      break;
    case Layout::sparse:
      ASSERT_EQ(m.indices.size(), m.values.size());
      EXPECT_LE(m.count(), m.dim);
      for (std::size_t k = 0; k < m.indices.size(); ++k) {
        ASSERT_LT(m.indices[k], m.dim);
        if (k > 0) {
          ASSERT_LT(m.indices[k - 1], m.indices[k]);
        }
      }
      break;
    case Layout::lowrank:
      ASSERT_GE(m.rows, 1U);
      ASSERT_EQ(m.cols, (m.dim + static_cast<std::uint64_t>(m.rows) - 1) / m.rows);
      ASSERT_EQ(m.values.size(), static_cast<std::size_t>(m.rank) * (m.rows + m.cols));
      break;
    default:
      FAIL() << "bad layout";
  }
  if (m.code != ValueCode::raw) {
    ASSERT_EQ(m.levels.size(), m.values.size());
    for (std::size_t k = 0; k < m.levels.size(); ++k) {
      ASSERT_EQ(std::bit_cast<std::uint64_t>(m.values[k]),
                std::bit_cast<std::uint64_t>(reference_level_value(m.code, m.levels[k], m.level_count, m.scale)));
    }
  }
  for (const double v : m.values) ASSERT_TRUE(std::isfinite(v));
  if (!is_part && m.dim <= 100000) {
    // Re-encoding what was accepted works and decodes to the same vector.
    Message again;
    ASSERT_NO_THROW(decode_exact(encode_to_bytes(m, ValueFormat::fp64), again));
    EXPECT_EQ(bits(to_dense(again)), bits(to_dense(m)));
  }
}

// ---------------------------------------------------------------------------------------
// Parts messages (layout 4), assembled by the reference from reference-built parts.

Bytes ref_dense(std::vector<double> values) { return wire_ref::dense_raw(ValueFormat::fp32, values); }

Bytes ref_sparse(std::uint32_t dim, std::vector<std::uint32_t> indices) {
  return wire_ref::sparse_raw(ValueFormat::fp32, 2, dim, indices, std::vector<double>(indices.size(), 1.5));
}

// Byte offsets of the parts of a valid parts message (after each length field) and their lengths.
std::vector<std::pair<std::size_t, std::size_t>> part_spans(const Bytes& b) {
  const std::uint32_t count = wire_ref::read_u32(b, 12);
  std::size_t at = 20 + ((static_cast<unsigned>(b[5]) & 0x80U) != 0 ? 1 : 0);
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  for (std::uint32_t k = 0; k < count; ++k) {
    const std::size_t length = wire_ref::read_u32(b, at);
    spans.emplace_back(at + 4, length);
    at += 4 + length;
  }
  return spans;
}

// Recomputes the CRC of part k in place, then the outer one.
void fix_part_crc(Bytes& b, std::size_t k) {
  const auto [at, length] = part_spans(b)[k];
  Bytes part(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + length));
  wire_ref::fix_crc(part);
  std::copy(part.begin(), part.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
  wire_ref::fix_crc(b);
}

TEST(CodecPartsErrors, ControlsDecode) {
  Message out;
  EXPECT_NO_THROW(decode_exact(wire_ref::parts_message(10, {ref_dense({1, 2, 3}), ref_sparse(7, {0, 6})}), out));
  EXPECT_EQ(out.layout, Layout::parts);
  EXPECT_EQ(out.part_count, 2U);
  EXPECT_NO_THROW(decode_exact(wire_ref::parts_message(3, {ref_dense({1}), ref_dense({2}), ref_dense({3})}, 7), out));
  EXPECT_EQ(out.tag, 7);
  EXPECT_EQ(to_dense(out), (std::vector<double>{1, 2, 3}));
}

TEST(CodecPartsErrors, CountZeroOrAboveDim) {
  expect_decode_error(wire_ref::parts_message(5, {}), "count 0");
  expect_decode_error(wire_ref::parts_message(1, {}), "count 0, dim 1");
  // count 3 > dim 2 (the parts cannot all have dimension >= 1).
  expect_decode_error(wire_ref::parts_message(2, {ref_dense({1}), ref_dense({2}), ref_dense({3})}), "count > dim");
  // dim 0.
  expect_decode_error(wire_ref::parts_message(0, {ref_dense({1})}), "dim 0");
  // A huge count with a huge dim is rejected by the framing, before anything grows.
  Bytes b = wire_ref::parts_message(0xFFFFFFFFU, {ref_dense({1})});
  wire_ref::write_u32(b, 12, 0xFFFFFFFFU);
  wire_ref::fix_crc(b);
  expect_decode_error(b, "count 2^32 - 1");
  // More parts stated than present; fewer (trailing parts).
  b = wire_ref::parts_message(2, {ref_dense({1}), ref_dense({2})});
  wire_ref::write_u32(b, 12, 3);
  wire_ref::fix_crc(b);
  expect_decode_error(b, "count above the parts present");
  wire_ref::write_u32(b, 12, 1);
  wire_ref::fix_crc(b);
  expect_decode_error(b, "count below the parts present");
}

TEST(CodecPartsErrors, CodecBytesMustBeZero) {
  for (const std::size_t at : {6U, 7U}) {
    for (const unsigned v : {1U, 2U, 4U, 16U}) {
      Bytes b = wire_ref::parts_message(4, {ref_dense({1, 2}), ref_dense({3, 4})});
      b[at] = static_cast<std::byte>(v);
      wire_ref::fix_crc(b);
      expect_decode_error(b, "byte " + std::to_string(at) + " = " + std::to_string(v));
    }
  }
}

TEST(CodecPartsErrors, NestedParts) {
  const Bytes inner = wire_ref::parts_message(3, {ref_dense({1}), ref_dense({2, 3})});
  expect_decode_error(wire_ref::parts_message(3, {inner}), "parts inside parts");
  expect_decode_error(wire_ref::parts_message(5, {ref_dense({0, 0}), inner}), "second part nested");
  expect_decode_error(wire_ref::parts_message(3, {inner}, 1), "nested, tagged outer");
}

TEST(CodecPartsErrors, PartDimensionsMustSumToDim) {
  const std::vector<Bytes> parts = {ref_dense({1, 2}), ref_sparse(100, {5}), ref_dense({3})};  // 103
  EXPECT_NO_THROW({
    Message out;
    decode_exact(wire_ref::parts_message(103, parts), out);
  });
  for (const std::uint32_t dim : {3U, 102U, 104U, 1000U, 0xFFFFFFFFU}) {
    expect_decode_error(wire_ref::parts_message(dim, parts), "dim " + std::to_string(dim) + " != 103");
  }
  // Part dimensions 2^32 - 1, 2 and 2: their sum wraps a 32-bit counter to 3, and exceeds every dim.
  Bytes big = wire_ref::sparse_raw(ValueFormat::fp32, 2, 0xFFFFFFFFU, {7}, {1.0});
  expect_decode_error(wire_ref::parts_message(3, {big, ref_dense({1, 2}), ref_dense({1, 2})}), "wrapping sum");
  expect_decode_error(wire_ref::parts_message(0xFFFFFFFFU, {big, ref_dense({1, 2})}), "sum above 2^32");
}

TEST(CodecPartsErrors, LengthsPastTheEndShortOrWithTrailingBytes) {
  const Bytes valid = wire_ref::parts_message(5, {ref_dense({1, 2}), ref_sparse(3, {1})});
  const auto spans = part_spans(valid);
  for (std::size_t k = 0; k < spans.size(); ++k) {
    const std::size_t length_at = spans[k].first - 4;
    const std::uint32_t length = static_cast<std::uint32_t>(spans[k].second);
    for (const std::uint32_t bad_length : {length + 1, length + 1000, 0xFFFFFFFFU, length - 1, 19U, 0U}) {
      Bytes b = valid;
      wire_ref::write_u32(b, length_at, bad_length);
      wire_ref::fix_crc(b);
      expect_decode_error(b, "part " + std::to_string(k) + " length " + std::to_string(bad_length));
    }
  }
  for (const std::size_t extra : {1U, 3U, 4U, 24U}) {
    Bytes b = valid;
    b.resize(valid.size() + extra);
    wire_ref::fix_crc(b);
    expect_decode_error(b, "trailing bytes " + std::to_string(extra));
  }
  // A whole extra valid part after the last one (count unchanged).
  Bytes b = valid;
  const Bytes extra_part = ref_dense({9});
  wire_ref::append_u32(b, static_cast<std::uint32_t>(extra_part.size()));
  b.insert(b.end(), extra_part.begin(), extra_part.end());
  wire_ref::fix_crc(b);
  expect_decode_error(b, "extra part beyond count");
  // Empty part bytes (length 0) and a part shorter than a header.
  expect_decode_error(wire_ref::parts_message(1, {Bytes{}}), "empty part");
  expect_decode_error(wire_ref::parts_message(1, {Bytes(19, std::byte{0})}), "19-byte part");
}

TEST(CodecPartsErrors, EveryTruncationAndEveryLengthField) {
  for (const Bytes& valid : parts_corpus()) {
    for (std::size_t n = 0; n < valid.size(); ++n) {
      Bytes b(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n));
      expect_decode_error(b, "prefix " + std::to_string(n));
      if (n >= 20) {
        wire_ref::fix_crc(b);
        expect_decode_error(b, "prefix " + std::to_string(n) + " with the CRC fixed");
      }
    }
    // Every part's length field set to every value from 0 to its length + 8.
    for (const auto& [at, length] : part_spans(valid)) {
      for (std::uint32_t v = 0; v <= length + 8; ++v) {
        if (v == length) continue;
        Bytes b = valid;
        wire_ref::write_u32(b, at - 4, v);
        wire_ref::fix_crc(b);
        expect_decode_error(b, "length " + std::to_string(v) + " for " + std::to_string(length));
      }
    }
    // Every part truncated inside the message (its length and the CRCs made consistent).
    const auto spans = part_spans(valid);
    for (std::size_t k = 0; k < spans.size(); ++k) {
      const auto [at, length] = spans[k];
      for (std::size_t cut = 1; cut <= length - 20; ++cut) {
        Bytes b(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(at + length - cut));
        b.insert(b.end(), valid.begin() + static_cast<std::ptrdiff_t>(at + length), valid.end());
        wire_ref::write_u32(b, at - 4, static_cast<std::uint32_t>(length - cut));
        wire_ref::fix_crc(b);
        fix_part_crc(b, k);
        expect_decode_error(b, "part " + std::to_string(k) + " cut by " + std::to_string(cut));
      }
    }
  }
}

TEST(CodecPartsErrors, BadCrcOfTheOuterHeaderAndOfAPart) {
  for (const Bytes& valid : parts_corpus()) {
    const auto spans = part_spans(valid);
    for (std::size_t k = 0; k < spans.size(); ++k) {
      const auto [at, length] = spans[k];
      // A bit of the part changed, the outer CRC left stale: the outer CRC catches it.
      // The outer CRC recomputed: the part's own CRC catches it.
      for (std::size_t bit = 0; bit < length * 8; bit += 5) {
        if (bit / 8 >= 16 && bit / 8 < 20) continue;  // the part's CRC field: below
        Bytes b = valid;
        b[at + bit / 8] ^= static_cast<std::byte>(1U << (bit % 8));
        expect_decode_error(b, "part bit, outer CRC stale");
        wire_ref::fix_crc(b);
        expect_decode_error(b, "part bit, outer CRC fixed");
      }
      // The part's CRC field itself wrong, the outer CRC fixed.
      Bytes b = valid;
      b[at + 16] ^= std::byte{0x01};
      wire_ref::fix_crc(b);
      expect_decode_error(b, "part CRC field");
    }
    // Outer CRC field and outer header bits.
    for (std::size_t bit = 0; bit < 20 * 8; ++bit) {
      Bytes b = valid;
      b[bit / 8] ^= static_cast<std::byte>(1U << (bit % 8));
      expect_decode_error(b, "outer header bit " + std::to_string(bit));
    }
  }
}

TEST(CodecPartsErrors, AnInvalidPartWithEveryCrcFixed) {
  // Part 1 is a sparse message whose index equals its dimension; both CRCs consistent.
  const Bytes bad_part = wire_ref::sparse_raw(ValueFormat::fp32, 1, 4, {4}, {1.0});
  expect_decode_error(wire_ref::parts_message(6, {ref_dense({1, 2}), bad_part}), "bad index in part 1");
  // A part with dimension 0.
  wire_ref::Parts empty;
  empty.dim = 0;
  empty.count = 0;
  expect_decode_error(wire_ref::parts_message(2, {ref_dense({1, 2}), wire_ref::assemble(empty)}), "part of dim 0");
  // A part that is not an ecco message, and one of another version.
  Bytes junk(24, std::byte{0x41});
  expect_decode_error(wire_ref::parts_message(1, {junk}), "junk part");
  Bytes v1 = ref_dense({1});
  v1[4] = std::byte{1};
  wire_ref::fix_crc(v1);
  expect_decode_error(wire_ref::parts_message(1, {v1}), "version-1 part");
  // A tagged parts message whose tag is 0.
  Bytes tagged = wire_ref::parts_message(2, {ref_dense({1, 2})}, 5);
  tagged[20] = std::byte{0};
  wire_ref::fix_crc(tagged);
  expect_decode_error(tagged, "outer tag 0");
  // Tagged flag set, but the message ends right after the header.
  Bytes header_only = wire_ref::parts_message(2, {ref_dense({1, 2})}, 5);
  header_only.resize(20);
  wire_ref::fix_crc(header_only);
  expect_decode_error(header_only, "tag byte missing");
}

TEST(CodecPartsErrors, RandomMutationFuzzInsideParts) {
  // Mutations inside one part with the part's CRC and the outer CRC recomputed, so that the
  // part's own checks run; plus framing edits (lengths, count) with the outer CRC fixed.
  const std::vector<Bytes> corpus = parts_corpus();
  Rng rng(0x9A27U);
  int accepted = 0;
  int rejected = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes b = corpus[rng.uniform_index(corpus.size())];
    const auto spans = part_spans(b);
    const std::size_t k = rng.uniform_index(spans.size());
    const auto [at, length] = spans[k];
    const std::uint64_t kind = rng.uniform_index(5);
    bool fix_part = true;
    switch (kind) {
      case 0:  // a byte of the part after its header (params, indices, values)
        if (length > 20) b[at + 20 + rng.uniform_index(length - 20)] = static_cast<std::byte>(rng.uniform_index(256));
        break;
      case 1:  // a byte of the part's header before its CRC (tags, dim, count)
        b[at + 5 + rng.uniform_index(11)] = static_cast<std::byte>(rng.uniform_index(256));
        break;
      case 2:  // the part's layout byte: another layout, parts included
        b[at + 5] = static_cast<std::byte>(rng.uniform_index(6));
        break;
      case 3:  // a length field
        fix_part = false;
        wire_ref::write_u32(b, at - 4, static_cast<std::uint32_t>(rng.uniform_index(length + 16)));
        break;
      default:  // the outer count or dim
        fix_part = false;
        wire_ref::write_u32(b, rng.uniform_index(2) == 0 ? 8 : 12, static_cast<std::uint32_t>(rng.uniform_index(80)));
        break;
    }
    if (fix_part) {
      fix_part_crc(b, k);
    } else {
      wire_ref::fix_crc(b);
    }
    Message out;
    try {
      decode_exact(b, out);
      ++accepted;
      expect_valid_decoded(out);
    } catch (const DecodeError&) {
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "iteration " << iter << ": non-DecodeError exception: " << e.what();
    }
    if (::testing::Test::HasFailure()) FAIL() << "stopping fuzz at iteration " << iter;
  }
  EXPECT_GT(rejected, 5000);
  EXPECT_GT(accepted, 100);
}

TEST(CodecDecodeErrors, RandomMutationFuzzOverEveryCodec) {
  const std::vector<Bytes> corpus = valid_corpus();
  Rng rng(0xF00DU);
  int accepted = 0;
  int rejected = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes b = corpus[rng.uniform_index(corpus.size())];
    const std::uint64_t kind = rng.uniform_index(7);
    const std::uint64_t edits = 1 + rng.uniform_index(4);
    for (std::uint64_t e = 0; e < edits; ++e) {
      switch (kind) {
        case 0:  // random byte anywhere
          if (!b.empty()) b[rng.uniform_index(b.size())] = static_cast<std::byte>(rng.uniform_index(256));
          break;
        case 1:  // bit flip anywhere
          if (!b.empty()) b[rng.uniform_index(b.size())] ^= static_cast<std::byte>(1U << rng.uniform_index(8));
          break;
        case 2:  // header byte
          b[rng.uniform_index(20)] = static_cast<std::byte>(rng.uniform_index(256));
          break;
        case 3:  // truncate or extend
          if (rng.uniform_index(2) == 0) {
            b.resize(static_cast<std::size_t>(rng.uniform_index(b.size() + 1)));
          } else {
            b.push_back(static_cast<std::byte>(rng.uniform_index(256)));
          }
          break;
        case 4:  // byte after the fixed header (params, indices, values)
          if (b.size() > 20) b[20 + rng.uniform_index(b.size() - 20)] = static_cast<std::byte>(rng.uniform_index(256));
          break;
        case 5:  // dim / count fields
          wire_ref::write_u32(b, rng.uniform_index(2) == 0 ? 8 : 12,
                              rng.uniform_index(2) == 0 ? static_cast<std::uint32_t>(rng.uniform_index(64))
                                                        : static_cast<std::uint32_t>(rng.next_u64()));
          break;
        default:  // tags: layout, value codec, index codec, to other valid values
          b[5 + rng.uniform_index(3)] = static_cast<std::byte>(rng.uniform_index(2) == 0 ? rng.uniform_index(5)
                                                                                          : 16 + rng.uniform_index(4));
          break;
      }
    }
    if (kind >= 4 && b.size() >= 20) wire_ref::fix_crc(b);  // reach the checks behind the CRC
    Message out;
    try {
      decode_exact(b, out);
      ++accepted;
      expect_valid_decoded(out);
    } catch (const DecodeError&) {
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "iteration " << iter << ": non-DecodeError exception: " << e.what();
    }
    if (::testing::Test::HasFailure()) FAIL() << "stopping fuzz at iteration " << iter;
  }
  EXPECT_GT(rejected, 5000);
  EXPECT_GT(accepted, 100);
}

TEST(CodecDecodeErrors, RandomBytesFuzz) {
  // Random buffers, half of them behind a plausible header with a valid CRC.
  Rng rng(0xBADU);
  for (int iter = 0; iter < 20000; ++iter) {
    const std::size_t n = static_cast<std::size_t>(rng.uniform_index(80));
    Bytes b(n);
    for (std::byte& x : b) x = static_cast<std::byte>(rng.uniform_index(256));
    if (n >= 20 && iter % 2 == 0) {
      b[0] = std::byte{'E'};
      b[1] = std::byte{'C'};
      b[2] = std::byte{'C'};
      b[3] = std::byte{'M'};
      b[4] = std::byte{2};
      b[5] = static_cast<std::byte>(1 + rng.uniform_index(3));
      const std::uint64_t v = rng.uniform_index(8);
      b[6] = static_cast<std::byte>(v < 4 ? 1 + v : 12 + v);
      b[7] = static_cast<std::byte>(rng.uniform_index(5));
      wire_ref::write_u32(b, 8, static_cast<std::uint32_t>(1 + rng.uniform_index(16)));
      wire_ref::write_u32(b, 12, static_cast<std::uint32_t>(rng.uniform_index(16)));
      wire_ref::fix_crc(b);
    }
    Message out;
    try {
      decode_exact(b, out);
      expect_valid_decoded(out);
    } catch (const DecodeError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "iteration " << iter << ": non-DecodeError exception: " << e.what();
    }
    if (::testing::Test::HasFailure()) FAIL() << "stopping fuzz at iteration " << iter;
  }
}

}  // namespace
