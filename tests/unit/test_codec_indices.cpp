// Tests of the index codecs of sparse messages (raw32, delta-varint, bitmap, seed) against
// the independent implementation of docs/wire-format.md in wire_reference.hpp.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <string>
#include <vector>

#include "codec_test_util.hpp"

namespace {

using namespace codec_test;
using ecco::IndexCodec;

TEST(CodecIndices, VarintBytesMatchTheReferenceAtGroupBoundaries) {
  // Gaps (i_k - i_{k-1} - 1) at the 7-bit group boundaries: 1, 2, 3, 4 and 5 bytes.
  const std::vector<std::uint32_t> gaps = {0, 127, 128, 16383, 16384, 2097151, 2097152, 268435455, 268435456};
  std::vector<std::uint32_t> indices;
  std::uint64_t next = 0;
  for (const std::uint32_t g : gaps) {
    next += g;
    indices.push_back(static_cast<std::uint32_t>(next));
    ++next;
  }
  const std::uint32_t dim = indices.back() + 1;
  const Bytes section = wire_ref::varint_section(indices);
  EXPECT_EQ(section.size(), 1U + 1 + 2 + 2 + 3 + 3 + 4 + 4 + 5);
  // Spot-check the documented byte values: 128 = 0x80 0x01.
  EXPECT_EQ(section[2], std::byte{0x80});
  EXPECT_EQ(section[3], std::byte{0x01});
  const Message m = sparse_message(dim, indices, std::vector<double>(indices.size(), 1.0));
  const Bytes b = encode_to_bytes(m, {.format = ValueFormat::fp32, .index = IndexCodec::delta_varint});
  EXPECT_EQ(b, wire_ref::sparse_raw(ValueFormat::fp32, 2, dim, indices, m.values));
  Message out;
  decode_exact(b, out);
  EXPECT_EQ(out.indices, indices);
  // Largest possible gap: index 2^32 - 2 first (5 bytes).
  const Message far = sparse_message(0xFFFFFFFFU, {0xFFFFFFFEU}, {2.0});
  const Bytes fb = encode_to_bytes(far, {.format = ValueFormat::fp32, .index = IndexCodec::delta_varint});
  EXPECT_EQ(fb, wire_ref::sparse_raw(ValueFormat::fp32, 2, far.dim, far.indices, far.values));
  decode_exact(fb, out);
  EXPECT_EQ(out.indices, far.indices);
}

TEST(CodecIndices, EveryForcedCodecEqualsTheReferenceAndRoundTrips) {
  Rng rng(31);
  for (const std::uint32_t dim : {1U, 7U, 8U, 9U, 64U, 65U, 1000U, 70000U}) {
    for (const std::uint32_t count : {0U, 1U, 2U, 8U, 9U, 63U, 500U}) {
      if (count > dim) continue;
      const Message m = random_sparse(dim, count, rng);
      for (const auto& [codec, tag] : {std::pair{IndexCodec::raw32, 1}, std::pair{IndexCodec::delta_varint, 2},
                                      std::pair{IndexCodec::bitmap, 3}}) {
        SCOPED_TRACE("dim=" + std::to_string(dim) + " count=" + std::to_string(count) + " codec=" + std::to_string(tag));
        const Bytes b = encode_to_bytes(m, {.format = ValueFormat::fp32, .index = codec});
        EXPECT_EQ(b, wire_ref::sparse_raw(ValueFormat::fp32, static_cast<std::uint8_t>(tag), dim, m.indices, m.values));
        const ecco::EncodedSize size = ecco::encoded_size(m, {.format = ValueFormat::fp32, .index = codec});
        EXPECT_EQ(size.total(), b.size());
        EXPECT_EQ(size.index_codec, codec);
        Message out;
        decode_exact(b, dim, out);
        EXPECT_EQ(out.layout, Layout::sparse);
        EXPECT_EQ(out.indices, m.indices);
        for (std::size_t k = 0; k < count; ++k) {
          EXPECT_EQ(out.values[k], wire_ref::round_to(m.values[k], ValueFormat::fp32).value());
        }
      }
    }
  }
}

TEST(CodecIndices, DenseRunsMakeTheVarintFastPathWork) {
  // Runs of consecutive indices (gap 0) and gaps just below 128 exercise the eight-at-a-time
  // path; a long gap in the middle forces the slow path between fast blocks.
  std::vector<std::uint32_t> indices;
  for (std::uint32_t i = 0; i < 100; ++i) indices.push_back(i);
  for (std::uint32_t i = 0; i < 50; ++i) indices.push_back(indices.back() + 128);  // gap 127
  indices.push_back(indices.back() + 1000000);
  for (std::uint32_t i = 0; i < 37; ++i) indices.push_back(indices.back() + 1);
  const std::uint32_t dim = indices.back() + 1;
  const Message m = sparse_message(dim, indices, std::vector<double>(indices.size(), -1.0));
  const Bytes b = encode_to_bytes(m, {.format = ValueFormat::fp32, .index = IndexCodec::delta_varint});
  EXPECT_EQ(b, wire_ref::sparse_raw(ValueFormat::fp32, 2, dim, indices, m.values));
  Message out;
  decode_exact(b, out);
  EXPECT_EQ(out.indices, indices);
  // The last index is dim - 1: with one dimension less the same section is out of range.
  Bytes smaller = b;
  wire_ref::write_u32(smaller, 8, dim - 1);
  wire_ref::fix_crc(smaller);
  expect_decode_error(smaller, "last varint index == dim");
}

TEST(CodecIndices, VarintMixedGapLengthsAgainstTheReference) {
  // Long sequences whose gaps mix 1-, 2-, 3- and 5-byte varints in every arrangement the
  // decoder's 8-byte chunks can see.
  Rng rng(33);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::uint32_t> indices;
    std::uint64_t next = 0;
    const std::uint64_t count = 1 + rng.uniform_index(300);
    for (std::uint64_t k = 0; k < count; ++k) {
      const std::uint64_t kind = rng.uniform_index(10);
      const std::uint64_t gap = kind < 5 ? rng.uniform_index(128)
                                : kind < 8 ? 128 + rng.uniform_index(16384 - 128)
                                : kind < 9 ? 16384 + rng.uniform_index(100000)
                                           : rng.uniform_index(2) * (std::uint64_t{1} << 28);
      next += gap;
      if (next >= 0xFFFFFFFFULL) break;
      indices.push_back(static_cast<std::uint32_t>(next));
      ++next;
    }
    const auto dim = static_cast<std::uint32_t>(std::min<std::uint64_t>(next, 0xFFFFFFFFULL));
    const Message m = sparse_message(dim, indices, std::vector<double>(indices.size(), 0.5));
    const Bytes b = encode_to_bytes(m, {.format = ValueFormat::fp32, .index = IndexCodec::delta_varint});
    ASSERT_EQ(b, wire_ref::sparse_raw(ValueFormat::fp32, 2, dim, indices, m.values)) << "trial " << trial;
    Message out;
    decode_exact(b, out);
    ASSERT_EQ(out.indices, indices) << "trial " << trial;
  }
}

TEST(CodecIndices, OverlongTwoByteVarintInsideAChunkIsRejected) {
  // Eight gaps of one byte each, except one written as the overlong two-byte form 0x85 0x00.
  for (std::size_t at = 0; at < 12; ++at) {
    wire_ref::Parts p;
    p.layout = 2;
    p.index_codec = 2;
    p.dim = 1000;
    p.count = 12;
    for (std::size_t k = 0; k < 12; ++k) {
      if (k == at) {
        p.index.push_back(std::byte{0x85});
        p.index.push_back(std::byte{0x00});
      } else {
        p.index.push_back(std::byte{0x03});
      }
      wire_ref::append_value(p.values, 1.0, ValueFormat::fp32);
    }
    expect_decode_error(wire_ref::assemble(p), "overlong varint at " + std::to_string(at));
  }
}

TEST(CodecIndices, SeedCodecRegeneratesTheReferenceSample) {
  for (const auto& [dim, count] : {std::pair{1U, 1U}, std::pair{10U, 0U}, std::pair{10U, 10U}, std::pair{1000U, 3U},
                                  std::pair{1000U, 999U}, std::pair{100000U, 50U}, std::pair{100000U, 5000U},
                                  std::pair{3000000U, 7U}}) {
    for (const std::uint64_t seed : {0ULL, 1ULL, 0xDEADBEEFCAFEF00DULL}) {
      SCOPED_TRACE("dim=" + std::to_string(dim) + " count=" + std::to_string(count) + " seed=" + std::to_string(seed));
      const std::vector<std::uint32_t> expected = wire_ref::floyd_sample(seed, dim, count);
      std::vector<std::uint32_t> sample = {99, 98};  // stale contents must not survive
      ecco::sample_indices(seed, dim, count, sample);
      ASSERT_EQ(sample, expected);
      Message m = sparse_message(dim, sample, std::vector<double>(count, 0.5));
      m.seeded = true;
      m.seed = seed;
      const Bytes b = encode_to_bytes(m, {.format = ValueFormat::fp32, .index = IndexCodec::seed});
      EXPECT_EQ(b, wire_ref::sparse_raw(ValueFormat::fp32, 4, dim, expected, m.values, seed));
      Message out;
      decode_exact(b, out);
      EXPECT_EQ(out.indices, expected);
      EXPECT_TRUE(out.seeded);
      EXPECT_EQ(out.seed, seed);
    }
  }
  std::vector<std::uint32_t> sample;
  EXPECT_THROW(ecco::sample_indices(1, 5, 6, sample), std::invalid_argument);
}

TEST(CodecIndices, SeedIsChosenWhenSmallest) {
  // 200 of 1e6: seed 8 bytes beats varint (>= 200 bytes); 1 of 1e6: a varint of a small
  // index (1 byte) beats the seed.
  std::vector<std::uint32_t> sample;
  ecco::sample_indices(7, 1000000, 200, sample);
  Message m = sparse_message(1000000, sample, std::vector<double>(200, 1.0));
  m.seeded = true;
  m.seed = 7;
  EXPECT_EQ(ecco::encoded_size(m, ValueFormat::fp32).index_codec, IndexCodec::seed);
  EXPECT_EQ(ecco::encoded_size(m, ValueFormat::fp32).index, 8U);
  Message one = sparse_message(1000000, {5}, {1.0});
  one.seeded = true;
  one.seed = 3;
  EXPECT_EQ(ecco::encoded_size(one, ValueFormat::fp32).index_codec, IndexCodec::delta_varint);
  Message out;
  decode_exact(encode_to_bytes(one, ValueFormat::fp32), out);
  EXPECT_FALSE(out.seeded);
  EXPECT_EQ(out.indices, (std::vector<std::uint32_t>{5}));
}

TEST(CodecIndices, BitmapIsChosenForDenseSupports) {
  // Half of the coordinates of 64: bitmap 8 bytes, varint 32 bytes, raw32 128 bytes; the
  // dense layout costs 64 values against 32 values + 8 bytes.
  std::vector<std::uint32_t> indices;
  for (std::uint32_t i = 0; i < 64; i += 2) indices.push_back(i);
  const Message m = sparse_message(64, indices, std::vector<double>(32, 1.0));
  const ecco::EncodedSize size = ecco::encoded_size(m, ValueFormat::fp32);
  EXPECT_EQ(size.index_codec, IndexCodec::bitmap);
  EXPECT_EQ(size.index, 8U);
  EXPECT_EQ(size.value, 128U);
}

TEST(CodecIndices, TiesFollowTheDocumentedOrder) {
  // dim 16, indices {0, 1}: varint 2 bytes == bitmap 2 bytes -> varint.
  EXPECT_EQ(ecco::encoded_size(sparse_message(16, {0, 1}, {1, 1}), ValueFormat::fp32).index_codec,
            IndexCodec::delta_varint);
  // dim 8, one value at index 0: bitmap 1 byte == varint 1 byte -> varint; dense 32 bytes.
  EXPECT_EQ(ecco::encoded_size(sparse_message(8, {0}, {1}), ValueFormat::fp32).index_codec, IndexCodec::delta_varint);
  // fp32, dim 2, one value: dense 8 bytes, sparse 1 + 4 = 5 bytes -> sparse.
  EXPECT_EQ(ecco::encoded_size(sparse_message(2, {1}, {1}), ValueFormat::fp32).layout, Layout::sparse);
  // fp16, dim 3, values at 0, 1, 2: dense 6 bytes, sparse varint 3 + 6 = 9 bytes -> dense.
  EXPECT_EQ(ecco::encoded_size(sparse_message(3, {0, 1, 2}, {1, 1, 1}), ValueFormat::fp16).layout, Layout::dense);
  // Equal dense and sparse sizes go dense: fp16, dim 16, values at 0..14: dense 32 bytes,
  // bitmap 2 + 30 = 32 bytes (varint 15 + 30, raw32 60 + 30).
  std::vector<std::uint32_t> first15;
  for (std::uint32_t i = 0; i < 15; ++i) first15.push_back(i);
  EXPECT_EQ(ecco::encoded_size(sparse_message(16, first15, std::vector<double>(15, 1.0)), ValueFormat::fp16).layout,
            Layout::dense);
  first15.back() = 15;  // same sizes with 0..13, 15
  EXPECT_EQ(ecco::encoded_size(sparse_message(16, first15, std::vector<double>(15, 1.0)), ValueFormat::fp16).total(),
            20U + 32U);
}

}  // namespace
