// Tests of the wire codec (include/ecco/codec.hpp) for raw values: header layout, CRC,
// sizes and the choice of layout, round trips in every value format, numeric errors.
//
// Expected bytes come from the independent implementation of docs/wire-format.md in
// wire_reference.hpp. Index codecs, quantised values and bad messages have their own files
// (test_codec_indices.cpp, test_codec_quantised.cpp, test_codec_errors.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "codec_test_util.hpp"
#include "compressors/crc32.hpp"

namespace {

using namespace codec_test;
using ecco::DecodeError;
using ecco::EncodedSize;

double round_to_float(double v) { return static_cast<double>(static_cast<float>(v)); }

// ---------------------------------------------------------------------------------------
// CRC

TEST(CodecCrc, ReferenceMatchesKnownVector) {
  // The standard CRC-32 check value: crc32("123456789") == 0xCBF43926.
  const std::string text = "123456789";
  Bytes b;
  for (const char c : text) b.push_back(static_cast<std::byte>(c));
  EXPECT_EQ(wire_ref::crc32(b.data(), b.size()), 0xCBF43926U);
  EXPECT_EQ(wire_ref::crc32(b.data(), 0), 0U);
  // Feeding in two pieces gives the same CRC.
  EXPECT_EQ(wire_ref::crc32_update(wire_ref::crc32(b.data(), 4), b.data() + 4, 5), 0xCBF43926U);
}

TEST(CodecCrc, FoldedCrcMatchesTheBitwiseReference) {
  // Lengths around the 64-byte folding blocks and the 16-byte tail, every start alignment,
  // and chained pieces; the reference is the bitwise CRC of wire_reference.hpp.
  Rng rng(11);
  Bytes data(70000);
  for (auto& b : data) b = static_cast<std::byte>(rng.next_u64() & 0xFFU);
  for (std::size_t size = 0; size <= 300; ++size) {
    for (std::size_t offset = 0; offset < 4; ++offset) {
      ASSERT_EQ(ecco::detail::crc32_update(0, data.data() + offset, size), wire_ref::crc32(data.data() + offset, size))
          << "size " << size << " offset " << offset;
    }
  }
  for (const std::size_t size : {4096U, 65536U, 69999U}) {
    EXPECT_EQ(ecco::detail::crc32_update(0, data.data(), size), wire_ref::crc32(data.data(), size)) << size;
    const std::uint32_t head = ecco::detail::crc32_update(0, data.data(), 1000);
    EXPECT_EQ(ecco::detail::crc32_update(head, data.data() + 1000, size - 1000), wire_ref::crc32(data.data(), size));
  }
}

TEST(CodecCrc, EncoderStoresCrcOfEveryByteButTheCrcField) {
  Rng rng(3);
  for (const ValueFormat f : kFormats) {
    for (const Message& m : {random_dense(1, rng), random_dense(33, rng), random_sparse(500, 20, rng),
                             random_sparse(64, 0, rng)}) {
      const Bytes b = encode_to_bytes(m, f);
      ASSERT_GE(b.size(), 20U);
      EXPECT_EQ(wire_ref::read_u32(b, 16), wire_ref::message_crc(b));
    }
  }
}

TEST(CodecCrc, HeaderFieldsAreCovered) {
  // Changing dim of a sparse message (still consistent with its indices) is caught by the CRC.
  const Bytes b = encode_to_bytes(sparse_message(1000, {3, 10}, {1.0, 2.0}), ValueFormat::fp64);
  Bytes changed = b;
  wire_ref::write_u32(changed, 8, 1001);
  expect_decode_error(changed, "dim changed, CRC stale");
  wire_ref::fix_crc(changed);
  Message out;
  EXPECT_NO_THROW(decode_exact(changed, out));
  EXPECT_EQ(out.dim, 1001U);
}

// ---------------------------------------------------------------------------------------
// Layout of encoded bytes

TEST(CodecLayout, DenseEqualsTheReferenceInEveryFormat) {
  for (const ValueFormat f : kFormats) {
    const Message m = dense_message({1.0, -2.0, 0.5, 3.0e-3});
    const Bytes b = encode_to_bytes(m, f);
    ASSERT_EQ(b.size(), 20 + 4 * wire_ref::width_of(f));
    EXPECT_EQ(b[0], std::byte{'E'});
    EXPECT_EQ(b[1], std::byte{'C'});
    EXPECT_EQ(b[2], std::byte{'C'});
    EXPECT_EQ(b[3], std::byte{'M'});
    EXPECT_EQ(b[4], std::byte{2});  // version
    EXPECT_EQ(b[5], std::byte{1});  // dense
    EXPECT_EQ(b[6], static_cast<std::byte>(wire_ref::tag(f)));
    EXPECT_EQ(b[7], std::byte{0});  // no index codec
    EXPECT_EQ(wire_ref::read_u32(b, 8), 4U);
    EXPECT_EQ(wire_ref::read_u32(b, 12), 4U);
    EXPECT_EQ(b, wire_ref::dense_raw(f, m.values)) << ecco::to_string(f);
  }
}

TEST(CodecLayout, SparseEqualsTheReference) {
  for (const ValueFormat f : kFormats) {
    // dim 0x01020304: a bitmap would be huge, raw32 12 bytes, varint 1 + 3 + 4 = 8 bytes.
    const Message m = sparse_message(0x01020304U, {5, 70000, 0x01020303U}, {0.25, -1e3, 3.0});
    const Bytes b = encode_to_bytes(m, f);
    EXPECT_EQ(b[5], std::byte{2});  // sparse
    EXPECT_EQ(b[7], std::byte{2});  // delta-varint
    EXPECT_EQ(b[8], std::byte{0x04});
    EXPECT_EQ(b[11], std::byte{0x01});
    EXPECT_EQ(b, wire_ref::sparse_raw(f, 2, m.dim, m.indices, m.values)) << ecco::to_string(f);
  }
}

TEST(CodecLayout, EncodeAppendsToExistingBytes) {
  Bytes out = {std::byte{0xAB}, std::byte{0xCD}};
  const Message m = dense_message({1.0, 2.0});
  const EncodedSize size = ecco::encode(m, ValueFormat::fp64, out);
  ASSERT_EQ(out.size(), 2 + size.total());
  EXPECT_EQ(out[0], std::byte{0xAB});
  EXPECT_EQ(out[1], std::byte{0xCD});
  const Bytes tail(out.begin() + 2, out.end());
  EXPECT_EQ(tail, encode_to_bytes(m, ValueFormat::fp64));
  // Two messages back to back decode separately.
  ecco::encode(dense_message({3.0}), ValueFormat::fp32, out);
  Message d;
  decode_exact(Bytes(out.begin() + 2, out.begin() + 2 + static_cast<std::ptrdiff_t>(size.total())), d);
  EXPECT_EQ(d.values, (std::vector<double>{1.0, 2.0}));
  decode_exact(Bytes(out.begin() + 2 + static_cast<std::ptrdiff_t>(size.total()), out.end()), d);
  EXPECT_EQ(d.values, (std::vector<double>{3.0}));
}

TEST(CodecLayout, FailedEncodeLeavesTheOutputUnchanged) {
  Bytes out = {std::byte{7}};
  EXPECT_THROW(ecco::encode(dense_message({1.0, std::numeric_limits<double>::quiet_NaN()}), ValueFormat::fp32, out),
               ecco::NumericError);
  EXPECT_EQ(out, Bytes{std::byte{7}});
}

// ---------------------------------------------------------------------------------------
// Sizes and the choice of layout

TEST(CodecSize, EncodedSizeMatchesBytesSplitAndTheSmallestChoice) {
  Rng rng(17);
  for (const ValueFormat f : kFormats) {
    const std::size_t vb = wire_ref::width_of(f);
    for (const std::uint32_t d : {1U, 2U, 3U, 10U, 101U, 4096U, 100000U}) {
      {
        const Message m = random_dense(std::min(d, 5000U), rng);
        const EncodedSize predicted = ecco::encoded_size(m, f);
        Bytes out;
        const EncodedSize produced = ecco::encode(m, f, out);
        EXPECT_EQ(predicted.header, 20U);
        EXPECT_EQ(predicted.index, 0U);
        EXPECT_EQ(predicted.value, m.dim * vb);
        EXPECT_EQ(predicted.total(), out.size());
        EXPECT_EQ(produced.total(), predicted.total());
        EXPECT_EQ(predicted.layout, Layout::dense);
        EXPECT_EQ(predicted.index_codec, ecco::IndexCodec::none);
      }
      // Sparse with counts from 0 to d (sampled for large d), clustered and spread indices.
      const std::uint32_t step = d > 200 ? d / 37 : 1;
      for (std::uint32_t count = 0; count <= d; count += step) {
        for (const bool clustered : {false, true}) {
          Message m = random_sparse(d, count, rng);
          if (clustered) {
            for (std::uint32_t k = 0; k < count; ++k) m.indices[k] = d - count + k;
          }
          SCOPED_TRACE("d=" + std::to_string(d) + " count=" + std::to_string(count) + " clustered=" +
                       std::to_string(clustered));
          const EncodedSize predicted = ecco::encoded_size(m, f);
          Bytes out;
          const EncodedSize produced = ecco::encode(m, f, out);
          const wire_ref::Choice choice =
              wire_ref::smallest(d, m.indices, count * vb, static_cast<std::size_t>(d) * vb, false);
          EXPECT_EQ(predicted.header, 20U);
          EXPECT_EQ(predicted.index, choice.index_bytes);
          EXPECT_EQ(predicted.value, choice.value_bytes);
          EXPECT_EQ(predicted.total(), out.size());
          EXPECT_EQ(produced.total(), predicted.total());
          EXPECT_EQ(static_cast<std::uint8_t>(predicted.layout), choice.layout);
          EXPECT_EQ(static_cast<std::uint8_t>(predicted.index_codec), choice.index_codec);
          ASSERT_EQ(out.size(), 20 + choice.index_bytes + choice.value_bytes);
          EXPECT_EQ(static_cast<std::uint8_t>(out[5]), choice.layout);
          EXPECT_EQ(static_cast<std::uint8_t>(out[7]), choice.index_codec);
          if (choice.layout == 2) {
            EXPECT_EQ(out, wire_ref::sparse_raw(f, choice.index_codec, d, m.indices, m.values));
          } else {
            EXPECT_EQ(out, wire_ref::dense_raw(f, to_dense(m)));
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Round trips

TEST(CodecRoundTrip, Fp64DenseIsBitExact) {
  Rng rng(21);
  for (const std::uint32_t d : {1U, 2U, 5U, 64U, 1000U}) {
    for (const double scale : {1.0, 1e-300, 1e300}) {
      const Message m = random_dense(d, rng, scale);
      Message out;
      decode_exact(encode_to_bytes(m, ValueFormat::fp64), out);
      EXPECT_EQ(out.layout, Layout::dense);
      EXPECT_EQ(out.dim, d);
      EXPECT_TRUE(out.indices.empty());
      EXPECT_EQ(out.code, ValueCode::raw);
      EXPECT_EQ(bits(out.values), bits(m.values));
    }
  }
  const Message special = dense_message({-0.0, 0.0, std::numeric_limits<double>::denorm_min(),
                                         -std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                                         std::numeric_limits<double>::lowest(), 1.0 / 3.0});
  Message out;
  decode_exact(encode_to_bytes(special, ValueFormat::fp64), out);
  EXPECT_EQ(bits(out.values), bits(special.values));
}

TEST(CodecRoundTrip, Fp64SparseIsBitExactWithEveryIndexCodec) {
  Rng rng(22);
  for (const std::uint32_t d : {1U, 2U, 10U, 300U, 100000U}) {
    for (const std::uint32_t count : {0U, 1U, 3U, 17U}) {
      if (count > d) continue;
      const Message m = random_sparse(d, count, rng);
      for (const auto codec : {ecco::IndexCodec::raw32, ecco::IndexCodec::delta_varint, ecco::IndexCodec::bitmap}) {
        Message out;
        decode_exact(encode_to_bytes(m, {.format = ValueFormat::fp64, .index = codec}), out);
        EXPECT_EQ(out.layout, Layout::sparse);
        EXPECT_EQ(out.dim, d);
        EXPECT_EQ(out.indices, m.indices);
        EXPECT_EQ(bits(out.values), bits(m.values));
        EXPECT_FALSE(out.seeded);
      }
    }
  }
  const Message edge = sparse_message(0xFFFFFFFFU, {0, 0xFFFFFFFEU}, {-1.5, 2.5});
  for (const auto codec : {ecco::IndexCodec::raw32, ecco::IndexCodec::delta_varint}) {
    Message out;
    decode_exact(encode_to_bytes(edge, {.format = ValueFormat::fp64, .index = codec}), out);
    EXPECT_EQ(out.dim, 0xFFFFFFFFU);
    EXPECT_EQ(out.indices, edge.indices);
    EXPECT_EQ(out.values, edge.values);
  }
}

TEST(CodecRoundTrip, EveryFormatEqualsRoundToWireBitExact) {
  Rng rng(23);
  for (const ValueFormat f : kFormats) {
    for (const std::uint32_t d : {1U, 3U, 100U, 2000U}) {
      for (const bool sparse : {false, true}) {
        const Message m = sparse ? random_sparse(d, std::max(1U, d / 10), rng, 123.0) : random_dense(d, rng, 123.0);
        Message wire = m;
        ecco::round_to_wire(wire, f);
        EXPECT_EQ(wire.layout, m.layout);
        EXPECT_EQ(wire.indices, m.indices);
        ASSERT_EQ(wire.values.size(), m.values.size());
        for (std::size_t k = 0; k < m.values.size(); ++k) {
          EXPECT_EQ(std::bit_cast<std::uint64_t>(wire.values[k]),
                    std::bit_cast<std::uint64_t>(wire_ref::round_to(m.values[k], f).value()));
        }
        const Bytes b = encode_to_bytes(m, f);
        Message out;
        decode_exact(b, out);
        EXPECT_EQ(out.dim, d);
        EXPECT_EQ(bits(to_dense(out)), bits(to_dense(wire)));
        // Encoding the rounded copy gives the same bytes, and it round-trips exactly.
        EXPECT_EQ(encode_to_bytes(wire, f), b);
        Message again;
        decode_exact(encode_to_bytes(out, f), again);
        EXPECT_EQ(bits(to_dense(again)), bits(to_dense(out)));
      }
    }
  }
}

TEST(CodecRoundTrip, SparseWhoseDenseLayoutIsCheaperDecodesDense) {
  Rng rng(24);
  for (const ValueFormat f : kFormats) {
    for (const std::uint32_t d : {1U, 2U, 6U, 30U}) {
      for (std::uint32_t count = 1; count <= d; ++count) {
        Message m = random_sparse(d, count, rng);
        ecco::round_to_wire(m, f);
        if (ecco::encoded_size(m, f).layout != Layout::dense) continue;
        SCOPED_TRACE("d=" + std::to_string(d) + " count=" + std::to_string(count));
        const Bytes b = encode_to_bytes(m, f);
        Message out;
        decode_exact(b, d, out);
        EXPECT_EQ(out.layout, Layout::dense);
        EXPECT_TRUE(out.indices.empty());
        EXPECT_EQ(bits(out.values), bits(to_dense(m)));
        for (std::size_t j = 0; j < out.values.size(); ++j) {
          if (std::find(m.indices.begin(), m.indices.end(), j) == m.indices.end()) {
            EXPECT_EQ(std::bit_cast<std::uint64_t>(out.values[j]), 0U);  // +0
          }
        }
      }
    }
  }
}

TEST(CodecRoundTrip, DimensionOne) {
  for (const ValueFormat f : kFormats) {
    Message out;
    decode_exact(encode_to_bytes(dense_message({-7.25}), f), out);
    EXPECT_EQ(out.layout, Layout::dense);
    EXPECT_EQ(out.values, (std::vector<double>{-7.25}));
    // Sparse with its one entry: dense (no index bytes) beats every index codec.
    const Message sparse = sparse_message(1, {0}, {3.5});
    EXPECT_EQ(encode_to_bytes(sparse, f).size(), 20 + wire_ref::width_of(f));
    decode_exact(encode_to_bytes(sparse, f), out);
    EXPECT_EQ(out.layout, Layout::dense);
    EXPECT_EQ(out.values, (std::vector<double>{3.5}));
    // Sparse and empty: dense would cost one value, varint nothing: header only.
    const Bytes b = encode_to_bytes(sparse_message(1, {}, {}), f);
    EXPECT_EQ(b.size(), 20U);
    decode_exact(b, out);
    EXPECT_EQ(out.layout, Layout::sparse);
    EXPECT_EQ(out.count(), 0U);
  }
}

TEST(CodecRoundTrip, ZeroVector) {
  for (const ValueFormat f : kFormats) {
    Message out;
    decode_exact(encode_to_bytes(dense_message(std::vector<double>(50, 0.0)), f), out);
    EXPECT_EQ(out.values, std::vector<double>(50, 0.0));
    const Message sparse = sparse_message(50, {}, {});
    const Bytes b = encode_to_bytes(sparse, f);
    EXPECT_EQ(b.size(), 20U);
    EXPECT_EQ(ecco::encoded_size(sparse, f).index, 0U);
    EXPECT_EQ(b[7], std::byte{2});  // delta-varint with no entries: zero bytes
    decode_exact(b, out);
    EXPECT_EQ(out.dim, 50U);
    EXPECT_EQ(out.count(), 0U);
  }
}

TEST(CodecRoundTrip, DecodeReusesOutputBuffers) {
  Rng rng(26);
  Message out;
  const std::vector<Bytes> corpus = valid_corpus();
  // Alternate layouts, codecs and sizes into the same Message; no stale state may survive.
  for (int i = 0; i < 40; ++i) {
    const auto d = static_cast<std::uint32_t>(1 + rng.uniform_index(300));
    const Message m =
        i % 2 == 0 ? random_dense(d, rng) : random_sparse(d, static_cast<std::uint32_t>(rng.uniform_index(d / 4 + 1)), rng);
    decode_exact(corpus[static_cast<std::size_t>(i) % corpus.size()], out);
    decode_exact(encode_to_bytes(m, ValueFormat::fp64), out);
    EXPECT_EQ(out.dim, d);
    EXPECT_EQ(out.code, ValueCode::raw);
    EXPECT_TRUE(out.levels.empty());
    EXPECT_FALSE(out.seeded);
    EXPECT_EQ(bits(to_dense(out)), bits(to_dense(m)));
    if (out.layout == Layout::dense) {
      EXPECT_TRUE(out.indices.empty());
      EXPECT_EQ(out.values.size(), d);
    } else {
      EXPECT_EQ(out.indices.size(), out.values.size());
    }
  }
}

TEST(CodecRoundTrip, ExpectedDimension) {
  const Message m = sparse_message(100, {3, 50}, {1.0, 2.0});
  const Bytes b = encode_to_bytes(m, ValueFormat::fp64);
  Message out;
  EXPECT_NO_THROW(decode_exact(b, 100, out));
  EXPECT_EQ(out.indices, m.indices);
  EXPECT_THROW(decode_exact(b, 99, out), DecodeError);
  EXPECT_THROW(decode_exact(b, 101, out), DecodeError);
  EXPECT_THROW(decode_exact(b, 0, out), DecodeError);
  const Bytes dense = encode_to_bytes(dense_message({1.0, 2.0}), ValueFormat::fp32);
  EXPECT_NO_THROW(decode_exact(dense, 2, out));
  EXPECT_THROW(decode_exact(dense, 3, out), DecodeError);
  EXPECT_THROW(decode_exact(Bytes(dense.begin(), dense.end() - 1), 2, out), DecodeError);
}

// ---------------------------------------------------------------------------------------
// Value formats

TEST(CodecValueFormat, SixteenBitRoundingMatchesTheTables) {
  Rng rng(27);
  std::vector<double> values;
  for (int i = 0; i < 20000; ++i) {
    const double mant = rng.uniform() * 2.0 - 1.0;
    const int exp = static_cast<int>(rng.uniform_index(300)) - 150;
    values.push_back(std::ldexp(mant, exp));
  }
  // Ties and edges of both formats.
  for (const double v : {0.0, -0.0, 1.0, 1.0 + 0x1p-11, 1.0 + 0x1p-8, 1.0 + 3 * 0x1p-11, 1.0 + 3 * 0x1p-8, 65504.0, 65519.99,
                         0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26, 0x1p-14, 0x1.ffcp-15, 0x1p-133, 0x1p-134, 0x1.8p-134,
                         0x1p-126, 0x1.FEp127, 0x1.FEFFFFp127, 1e-300, -1e-300, 0.1, -1.0 / 3.0}) {
    values.push_back(v);
  }
  for (const ValueFormat f : {ValueFormat::bf16, ValueFormat::fp16}) {
    for (const double v : values) {
      const auto expected = wire_ref::round_to(v, f);
      Message m = dense_message({v});
      if (!expected) {
        EXPECT_THROW(ecco::round_to_wire(m, f), ecco::NumericError) << ecco::to_string(f) << " " << v;
        continue;
      }
      ecco::round_to_wire(m, f);
      ASSERT_EQ(std::bit_cast<std::uint64_t>(m.values[0]), std::bit_cast<std::uint64_t>(*expected))
          << ecco::to_string(f) << " v=" << v << " got " << m.values[0] << " expected " << *expected;
      // Bit pattern on the wire.
      ASSERT_EQ(encode_to_bytes(m, f), wire_ref::dense_raw(f, {v}));
    }
  }
}

TEST(CodecValueFormat, OverflowIsANumericErrorInEveryNarrowFormat) {
  struct Case {
    ValueFormat format;
    double largest;
    double overflows;
  };
  for (const Case c : {Case{ValueFormat::fp16, 65504.0, 65520.0}, Case{ValueFormat::bf16, 0x1.FEp127, 0x1.FFp127},
                       Case{ValueFormat::fp32, static_cast<double>(std::numeric_limits<float>::max()), 1e39}}) {
    Message ok = dense_message({c.largest, -c.largest});
    EXPECT_NO_THROW(ecco::round_to_wire(ok, c.format));
    EXPECT_EQ(ok.values, (std::vector<double>{c.largest, -c.largest}));
    for (const double v : {c.overflows, -c.overflows, 1e300}) {
      Message m = dense_message({v});
      EXPECT_THROW(ecco::round_to_wire(m, c.format), ecco::NumericError) << v;
      Bytes out;
      EXPECT_THROW(ecco::encode(sparse_message(100, {42}, {v}), c.format, out), ecco::NumericError) << v;
    }
  }
}

TEST(CodecValueFormat, RoundToWireFp32MatchesStaticCastAndIsIdempotent) {
  Rng rng(28);
  std::vector<double> values;
  for (int i = 0; i < 5000; ++i) {
    const double mant = rng.uniform() * 2.0 - 1.0;
    const int exp = static_cast<int>(rng.uniform_index(300)) - 170;
    values.push_back(std::ldexp(mant, std::min(exp, 127)));
  }
  values.push_back(1.0 + std::ldexp(1.0, -24));  // tie -> even (1.0)
  values.push_back(std::ldexp(1.0, -151));        // underflows to 0
  Message m = dense_message(values);
  ecco::round_to_wire(m, ValueFormat::fp32);
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(std::bit_cast<std::uint64_t>(m.values[i]), std::bit_cast<std::uint64_t>(round_to_float(values[i])));
  }
  EXPECT_EQ(m.values[values.size() - 2], 1.0);
  std::vector<double> in_every_range;  // magnitudes below the fp16 maximum
  for (const double v : values) in_every_range.push_back(std::ldexp(v, -120));
  for (const ValueFormat f : kFormats) {
    Message once = dense_message(in_every_range);
    ecco::round_to_wire(once, f);
    Message twice = once;
    ecco::round_to_wire(twice, f);
    EXPECT_EQ(bits(twice.values), bits(once.values)) << ecco::to_string(f);
  }
  Message m64 = dense_message(values);
  ecco::round_to_wire(m64, ValueFormat::fp64);
  EXPECT_EQ(bits(m64.values), bits(values));
}

TEST(CodecValueFormat, NonFiniteValuesAreNumericErrors) {
  for (const ValueFormat f : kFormats) {
    for (const double v : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()}) {
      Bytes out;
      EXPECT_THROW(ecco::encode(dense_message({1.0, v, 2.0}), f, out), ecco::NumericError);
      EXPECT_THROW(ecco::encode(sparse_message(1000, {7}, {v}), f, out), ecco::NumericError);
      EXPECT_THROW(ecco::encode(sparse_message(2, {0, 1}, {1.0, v}), f, out), ecco::NumericError);  // goes dense
      Message m = dense_message({v});
      EXPECT_THROW(ecco::round_to_wire(m, f), ecco::NumericError);
      Message s = sparse_message(10, {2, 9}, {0.0, v});
      EXPECT_THROW(ecco::round_to_wire(s, f), ecco::NumericError);
    }
  }
}

TEST(CodecValueFormat, Names) {
  for (const ValueFormat f : kFormats) EXPECT_EQ(ecco::parse_value_format(ecco::to_string(f)), f);
  EXPECT_EQ(ecco::to_string(ValueFormat::bf16), "bf16");
  EXPECT_EQ(ecco::to_string(ValueFormat::fp16), "fp16");
  EXPECT_EQ(ecco::value_format_bytes(ValueFormat::fp16), 2U);
  EXPECT_EQ(ecco::value_format_bytes(ValueFormat::bf16), 2U);
  EXPECT_EQ(ecco::value_format_bytes(ValueFormat::fp32), 4U);
  EXPECT_EQ(ecco::value_format_bytes(ValueFormat::fp64), 8U);
  for (const char* bad : {"", "fp8", "FP32", "double", "fp32 ", "int8"}) {
    EXPECT_THROW(ecco::parse_value_format(bad), ecco::ConfigError) << bad;
  }
}

// ---------------------------------------------------------------------------------------
// Invalid messages given to the encoder

TEST(CodecEncodeErrors, StructuralProblemsAreInvalidArgument) {
  Bytes out;
  EXPECT_THROW(ecco::encode(sparse_message(10, {3, 3}, {1, 2}), ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_THROW(ecco::encode(sparse_message(10, {5, 2}, {1, 2}), ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_THROW(ecco::encode(sparse_message(10, {10}, {1}), ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_THROW(ecco::encode(sparse_message(10, {1, 2}, {1}), ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_THROW(ecco::encode(dense_message({}), ValueFormat::fp32, out), std::invalid_argument);
  Message wrong = dense_message({1, 2, 3});
  wrong.dim = 4;
  EXPECT_THROW(ecco::encode(wrong, ValueFormat::fp32, out), std::invalid_argument);
  // Seed codec without a seeded message.
  EXPECT_THROW(ecco::encode(sparse_message(10, {1}, {1.0}), {.format = ValueFormat::fp32, .index = ecco::IndexCodec::seed}, out),
               std::invalid_argument);
  EXPECT_TRUE(out.empty());
}

}  // namespace

// A method tag (EF21+) travels as one byte after the header, flagged in the layout byte.
TEST(CodecTag, TaggedMessagesRoundTripAndCostOneByte) {
  ecco::Message m;
  m.clear_sparse(10);
  m.indices = {2, 7};
  m.values = {1.5, -2.0};
  std::vector<std::byte> plain;
  const EncodedSize plain_size = ecco::encode(m, ecco::ValueFormat::fp64, plain);
  m.tag = 2;
  std::vector<std::byte> tagged;
  const EncodedSize tagged_size = ecco::encode(m, ecco::ValueFormat::fp64, tagged);
  EXPECT_EQ(tagged.size(), plain.size() + 1);
  EXPECT_EQ(tagged_size.header, plain_size.header + 1);
  EXPECT_EQ(static_cast<unsigned>(tagged[5]), 0x80U | 2U);  // sparse layout, tagged
  EXPECT_EQ(static_cast<unsigned>(tagged[20]), 2U);         // the tag, first parameter byte
  ecco::Message back;
  ecco::decode(tagged, 10, back);
  EXPECT_EQ(back.tag, 2);
  EXPECT_EQ(back.indices, m.indices);
  EXPECT_EQ(back.values, m.values);
  ecco::decode(plain, 10, back);
  EXPECT_EQ(back.tag, 0);  // decoding resets it
  // Every truncation of the tagged message is a DecodeError.
  for (std::size_t n = 0; n < tagged.size(); ++n) {
    EXPECT_THROW(ecco::decode(std::span(tagged).first(n), back), DecodeError) << n;
  }
  // A set tag flag with tag 0 is rejected (the CRC is recomputed so that the tag is the reason).
  tagged[20] = std::byte{0};
  wire_ref::fix_crc(tagged);
  EXPECT_THROW(ecco::decode(tagged, back), DecodeError);
}
