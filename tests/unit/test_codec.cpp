// Tests of the wire codec (include/ecco/codec.hpp).
//
// The header layout, the CRC-32 and the payload layout are checked against independent
// implementations in this file. Every malformed input must raise ecco::DecodeError and
// nothing else; inputs are handed to the decoder in heap buffers of exactly their size so
// that an out-of-bounds read is caught when the binary runs under AddressSanitizer.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/codec.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"

namespace {

using ecco::DecodeError;
using ecco::EncodedSize;
using ecco::Layout;
using ecco::Message;
using ecco::Rng;
using ecco::ValueFormat;
using Bytes = std::vector<std::byte>;

constexpr ValueFormat kFormats[] = {ValueFormat::fp32, ValueFormat::fp64};

std::size_t value_width(ValueFormat f) { return f == ValueFormat::fp32 ? 4 : 8; }

// ---------------------------------------------------------------------------------------
// Independent references

// Bitwise CRC-32 (reflected polynomial 0xEDB88320, init 0xFFFFFFFF, final xor), as zlib.
std::uint32_t reference_crc32(const std::byte* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= static_cast<std::uint32_t>(data[i]);
    for (int bit = 0; bit < 8; ++bit) {
      const std::uint32_t mask = 0U - (crc & 1U);
      crc = (crc >> 1) ^ (0xEDB88320U & mask);
    }
  }
  return crc ^ 0xFFFFFFFFU;
}

std::uint32_t read_u32(const Bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | (static_cast<std::uint32_t>(b[at + 1]) << 8) |
         (static_cast<std::uint32_t>(b[at + 2]) << 16) | (static_cast<std::uint32_t>(b[at + 3]) << 24);
}

std::uint64_t read_u64(const Bytes& b, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(b[at + i]) << (8 * i);
  return v;
}

void write_u32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
}

void write_u64(Bytes& b, std::size_t at, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) b[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
}

void append_u32(Bytes& b, std::uint32_t v) {
  b.resize(b.size() + 4);
  write_u32(b, b.size() - 4, v);
}

void append_value(Bytes& b, double v, ValueFormat f) {
  if (f == ValueFormat::fp32) {
    append_u32(b, std::bit_cast<std::uint32_t>(static_cast<float>(v)));
  } else {
    b.resize(b.size() + 8);
    write_u64(b, b.size() - 8, std::bit_cast<std::uint64_t>(v));
  }
}

// Recomputes the stored CRC after the payload was modified on purpose.
void fix_crc(Bytes& b) {
  ASSERT_GE(b.size(), ecco::kHeaderBytes);
  write_u32(b, 16, reference_crc32(b.data() + ecco::kHeaderBytes, b.size() - ecco::kHeaderBytes));
}

// Builds a message by hand from the documented layout (independent of the encoder).
// payload_indices is written only for the sparse layout.
Bytes craft(std::uint8_t layout, std::uint8_t format, std::uint32_t dim, std::uint32_t count,
            const std::vector<std::uint32_t>& payload_indices, const std::vector<double>& payload_values) {
  Bytes b;
  for (const char c : {'E', 'C', 'C', 'M'}) b.push_back(static_cast<std::byte>(c));
  b.push_back(std::byte{1});
  b.push_back(static_cast<std::byte>(layout));
  b.push_back(static_cast<std::byte>(format));
  b.push_back(std::byte{0});
  append_u32(b, dim);
  append_u32(b, count);
  append_u32(b, 0);  // CRC placeholder
  for (const std::uint32_t i : payload_indices) append_u32(b, i);
  const ValueFormat f = format == 1 ? ValueFormat::fp32 : ValueFormat::fp64;
  for (const double v : payload_values) append_value(b, v, f);
  fix_crc(b);
  return b;
}

// Decodes from a heap buffer of exactly bytes.size() bytes.
void decode_exact(const Bytes& bytes, Message& out) {
  const std::size_t n = bytes.size();
  const std::unique_ptr<std::byte[]> buffer(new std::byte[n]);
  if (n > 0) std::memcpy(buffer.get(), bytes.data(), n);
  ecco::decode(std::span<const std::byte>(buffer.get(), n), out);
}

void decode_exact(const Bytes& bytes, std::uint32_t expected_dim, Message& out) {
  const std::size_t n = bytes.size();
  const std::unique_ptr<std::byte[]> buffer(new std::byte[n]);
  if (n > 0) std::memcpy(buffer.get(), bytes.data(), n);
  ecco::decode(std::span<const std::byte>(buffer.get(), n), expected_dim, out);
}

// Expects decode to throw DecodeError (and nothing else).
void expect_decode_error(const Bytes& bytes, const std::string& what) {
  Message out;
  try {
    decode_exact(bytes, out);
    ADD_FAILURE() << what << ": decode accepted a bad message (" << bytes.size() << " bytes)";
  } catch (const DecodeError&) {
    // expected
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": decode threw a non-DecodeError exception: " << e.what();
  }
}

Bytes encode_to_bytes(const Message& m, ValueFormat f) {
  Bytes out;
  ecco::encode(m, f, out);
  return out;
}

Message dense_message(const std::vector<double>& values) {
  Message m;
  m.layout = Layout::dense;
  m.dim = static_cast<std::uint32_t>(values.size());
  m.values = values;
  return m;
}

Message sparse_message(std::uint32_t dim, const std::vector<std::uint32_t>& indices, const std::vector<double>& values) {
  Message m;
  m.layout = Layout::sparse;
  m.dim = dim;
  m.indices = indices;
  m.values = values;
  return m;
}

// Random message: dense, or sparse with `count` random distinct indices.
Message random_dense(std::uint32_t dim, Rng& rng, double scale = 1.0) {
  std::vector<double> v(dim);
  for (double& x : v) x = rng.normal() * scale;
  return dense_message(v);
}

Message random_sparse(std::uint32_t dim, std::uint32_t count, Rng& rng, double scale = 1.0) {
  // Partial Fisher-Yates on 0..dim-1, then sort.
  std::vector<std::uint32_t> all(dim);
  for (std::uint32_t j = 0; j < dim; ++j) all[j] = j;
  for (std::uint32_t k = 0; k < count; ++k) {
    const auto r = k + static_cast<std::uint32_t>(rng.uniform_index(dim - k));
    std::swap(all[k], all[r]);
  }
  std::vector<std::uint32_t> indices(all.begin(), all.begin() + count);
  std::sort(indices.begin(), indices.end());
  std::vector<double> values(count);
  for (double& x : values) x = rng.normal() * scale;
  return sparse_message(dim, indices, values);
}

// Dense view of a message, computed here without Message::assign_to.
std::vector<double> to_dense(const Message& m) {
  if (m.layout == Layout::dense) return m.values;
  std::vector<double> y(m.dim, 0.0);
  for (std::size_t k = 0; k < m.indices.size(); ++k) y[m.indices[k]] = m.values[k];
  return y;
}

std::vector<std::uint64_t> bits(const std::vector<double>& v) {
  std::vector<std::uint64_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = std::bit_cast<std::uint64_t>(v[i]);
  return out;
}

double round_to_float(double v) { return static_cast<double>(static_cast<float>(v)); }

// Size the encoder must produce: the cheaper of dense and sparse layouts.
std::size_t expected_total(const Message& m, ValueFormat f) {
  const std::size_t vb = value_width(f);
  const std::size_t dense = static_cast<std::size_t>(m.dim) * vb;
  if (m.layout == Layout::dense) return 20 + dense;
  const std::size_t sparse = m.count() * (4 + vb);
  return 20 + std::min(dense, sparse);
}

// Valid corpus used by the corruption tests.
std::vector<Bytes> valid_corpus() {
  std::vector<Bytes> corpus;
  Rng rng(1234);
  for (const ValueFormat f : kFormats) {
    corpus.push_back(encode_to_bytes(random_dense(1, rng), f));
    corpus.push_back(encode_to_bytes(random_dense(7, rng), f));
    corpus.push_back(encode_to_bytes(random_sparse(40, 5, rng), f));
    corpus.push_back(encode_to_bytes(random_sparse(1000, 3, rng), f));
    corpus.push_back(encode_to_bytes(random_sparse(9, 0, rng), f));  // header only
  }
  return corpus;
}

// ---------------------------------------------------------------------------------------
// CRC reference

TEST(CodecCrc, ReferenceMatchesKnownVector) {
  // The standard CRC-32 check value: crc32("123456789") == 0xCBF43926.
  const std::string text = "123456789";
  Bytes b;
  for (const char c : text) b.push_back(static_cast<std::byte>(c));
  EXPECT_EQ(reference_crc32(b.data(), b.size()), 0xCBF43926U);
  EXPECT_EQ(reference_crc32(b.data(), 0), 0U);
}

TEST(CodecCrc, EncoderStoresCrcOfPayload) {
  Rng rng(3);
  for (const ValueFormat f : kFormats) {
    for (const Message& m : {random_dense(1, rng), random_dense(33, rng), random_sparse(500, 20, rng),
                             random_sparse(64, 0, rng)}) {
      const Bytes b = encode_to_bytes(m, f);
      ASSERT_GE(b.size(), 20U);
      EXPECT_EQ(read_u32(b, 16), reference_crc32(b.data() + 20, b.size() - 20));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Layout of encoded bytes

TEST(CodecLayout, HeaderFieldsDense) {
  for (const ValueFormat f : kFormats) {
    const Message m = dense_message({1.0, -2.0, 0.5});
    const Bytes b = encode_to_bytes(m, f);
    ASSERT_EQ(b.size(), 20 + 3 * value_width(f));
    EXPECT_EQ(b[0], std::byte{'E'});
    EXPECT_EQ(b[1], std::byte{'C'});
    EXPECT_EQ(b[2], std::byte{'C'});
    EXPECT_EQ(b[3], std::byte{'M'});
    EXPECT_EQ(b[4], std::byte{1});
    EXPECT_EQ(b[5], std::byte{1});  // dense
    EXPECT_EQ(b[6], static_cast<std::byte>(f == ValueFormat::fp32 ? 1 : 2));
    EXPECT_EQ(b[7], std::byte{0});
    EXPECT_EQ(read_u32(b, 8), 3U);
    EXPECT_EQ(read_u32(b, 12), 3U);
    // Values in order, little-endian IEEE bits.
    for (std::size_t j = 0; j < 3; ++j) {
      if (f == ValueFormat::fp32) {
        EXPECT_EQ(read_u32(b, 20 + 4 * j), std::bit_cast<std::uint32_t>(static_cast<float>(m.values[j])));
      } else {
        EXPECT_EQ(read_u64(b, 20 + 8 * j), std::bit_cast<std::uint64_t>(m.values[j]));
      }
    }
    // The whole message equals one crafted independently.
    EXPECT_EQ(b, craft(1, f == ValueFormat::fp32 ? 1 : 2, 3, 3, {}, m.values));
  }
}

TEST(CodecLayout, HeaderFieldsSparse) {
  for (const ValueFormat f : kFormats) {
    const Message m = sparse_message(0x01020304U, {5, 70000, 0x01020303U}, {0.25, -1e10, 3.0});
    const Bytes b = encode_to_bytes(m, f);
    ASSERT_EQ(b.size(), 20 + 3 * (4 + value_width(f)));
    EXPECT_EQ(b[5], std::byte{2});  // sparse
    // dim little-endian: 04 03 02 01
    EXPECT_EQ(b[8], std::byte{0x04});
    EXPECT_EQ(b[9], std::byte{0x03});
    EXPECT_EQ(b[10], std::byte{0x02});
    EXPECT_EQ(b[11], std::byte{0x01});
    EXPECT_EQ(read_u32(b, 12), 3U);
    EXPECT_EQ(read_u32(b, 20), 5U);
    EXPECT_EQ(read_u32(b, 24), 70000U);
    EXPECT_EQ(read_u32(b, 28), 0x01020303U);
    EXPECT_EQ(b, craft(2, f == ValueFormat::fp32 ? 1 : 2, 0x01020304U, 3, m.indices, m.values));
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

// ---------------------------------------------------------------------------------------
// Sizes

TEST(CodecSize, EncodedSizeMatchesBytesAndSplit) {
  Rng rng(17);
  for (const ValueFormat f : kFormats) {
    const std::size_t vb = value_width(f);
    for (const std::uint32_t d : {1U, 2U, 3U, 10U, 101U, 4096U}) {
      // Dense.
      {
        const Message m = random_dense(d, rng);
        const EncodedSize predicted = ecco::encoded_size(m, f);
        Bytes out;
        const EncodedSize produced = ecco::encode(m, f, out);
        EXPECT_EQ(predicted.header, 20U);
        EXPECT_EQ(predicted.index, 0U);
        EXPECT_EQ(predicted.value, d * vb);
        EXPECT_EQ(predicted.total(), out.size());
        EXPECT_EQ(produced.header, predicted.header);
        EXPECT_EQ(produced.index, predicted.index);
        EXPECT_EQ(produced.value, predicted.value);
      }
      // Sparse with every count from 0 to d (sampled for large d).
      const std::uint32_t step = d > 200 ? d / 37 : 1;
      for (std::uint32_t count = 0; count <= d; count += step) {
        const Message m = random_sparse(d, count, rng);
        const EncodedSize predicted = ecco::encoded_size(m, f);
        Bytes out;
        const EncodedSize produced = ecco::encode(m, f, out);
        SCOPED_TRACE("d=" + std::to_string(d) + " count=" + std::to_string(count));
        EXPECT_EQ(predicted.header, 20U);
        EXPECT_EQ(predicted.total(), out.size());
        EXPECT_EQ(out.size(), expected_total(m, f));
        EXPECT_EQ(produced.total(), predicted.total());
        EXPECT_EQ(produced.index, predicted.index);
        EXPECT_EQ(produced.value, predicted.value);
        const std::size_t sparse_bytes = count * (4 + vb);
        const std::size_t dense_bytes = d * vb;
        if (sparse_bytes < dense_bytes) {
          EXPECT_EQ(predicted.index, 4U * count);
          EXPECT_EQ(predicted.value, vb * count);
          EXPECT_EQ(out[5], std::byte{2});
        } else if (dense_bytes < sparse_bytes) {
          EXPECT_EQ(predicted.index, 0U);
          EXPECT_EQ(predicted.value, vb * d);
          EXPECT_EQ(out[5], std::byte{1});
        }
        // The header's layout byte agrees with the reported split.
        EXPECT_EQ(out[5], std::byte{static_cast<unsigned char>(predicted.index > 0 || (count == 0) ? 2 : 1)})
            << "index bytes " << predicted.index;
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
      const Bytes b = encode_to_bytes(m, ValueFormat::fp64);
      Message out;
      decode_exact(b, out);
      EXPECT_EQ(out.layout, Layout::dense);
      EXPECT_EQ(out.dim, d);
      EXPECT_TRUE(out.indices.empty());
      EXPECT_EQ(bits(out.values), bits(m.values));
    }
  }
  // Special finite values survive bit for bit.
  const Message special = dense_message({-0.0, 0.0, std::numeric_limits<double>::denorm_min(),
                                         -std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                                         std::numeric_limits<double>::lowest(), 1.0 / 3.0});
  Message out;
  decode_exact(encode_to_bytes(special, ValueFormat::fp64), out);
  EXPECT_EQ(bits(out.values), bits(special.values));
}

TEST(CodecRoundTrip, Fp64SparseIsBitExact) {
  Rng rng(22);
  for (const std::uint32_t d : {1U, 2U, 10U, 300U, 100000U}) {
    for (const std::uint32_t count : {0U, 1U, 3U, 17U}) {
      if (count * 3 >= d * 2) continue;  // keep the sparse layout (12 * count < 8 * d)
      const Message m = random_sparse(d, count, rng);
      const Bytes b = encode_to_bytes(m, ValueFormat::fp64);
      Message out;
      decode_exact(b, out);
      EXPECT_EQ(out.layout, Layout::sparse);
      EXPECT_EQ(out.dim, d);
      EXPECT_EQ(out.indices, m.indices);
      EXPECT_EQ(bits(out.values), bits(m.values));
    }
  }
  // Extreme indices.
  const Message edge = sparse_message(0xFFFFFFFFU, {0, 0xFFFFFFFEU}, {-1.5, 2.5});
  Message out;
  decode_exact(encode_to_bytes(edge, ValueFormat::fp64), out);
  EXPECT_EQ(out.dim, 0xFFFFFFFFU);
  EXPECT_EQ(out.indices, edge.indices);
  EXPECT_EQ(out.values, edge.values);
}

TEST(CodecRoundTrip, Fp32EqualsRoundToWireBitExact) {
  Rng rng(23);
  for (const std::uint32_t d : {1U, 3U, 100U, 2000U}) {
    for (const bool sparse : {false, true}) {
      const Message m = sparse ? random_sparse(d, std::max(1U, d / 10), rng, 123.0) : random_dense(d, rng, 123.0);
      Message wire = m;
      ecco::round_to_wire(wire, ValueFormat::fp32);
      // round_to_wire keeps the structure.
      EXPECT_EQ(wire.layout, m.layout);
      EXPECT_EQ(wire.indices, m.indices);
      ASSERT_EQ(wire.values.size(), m.values.size());
      for (std::size_t k = 0; k < m.values.size(); ++k) {
        EXPECT_EQ(std::bit_cast<std::uint64_t>(wire.values[k]), std::bit_cast<std::uint64_t>(round_to_float(m.values[k])));
      }

      const Bytes b = encode_to_bytes(m, ValueFormat::fp32);
      Message out;
      decode_exact(b, out);
      EXPECT_EQ(out.dim, d);
      EXPECT_EQ(bits(to_dense(out)), bits(to_dense(wire)));
      if (!(sparse && out.layout == Layout::dense)) {
        EXPECT_EQ(out.layout, m.layout);
        EXPECT_EQ(out.indices, m.indices);
      }
      // Relative error of fp32 rounding (normal range): |v - fl(v)| <= 2^-24 |v|.
      const std::vector<double> orig = to_dense(m);
      const std::vector<double> dec = to_dense(out);
      for (std::size_t j = 0; j < orig.size(); ++j) {
        EXPECT_LE(std::fabs(dec[j] - orig[j]), std::ldexp(std::fabs(orig[j]), -24)) << "j=" << j;
      }
      // Encoding the rounded copy gives the same bytes, and it round-trips exactly.
      EXPECT_EQ(encode_to_bytes(wire, ValueFormat::fp32), b);
      Message out2;
      decode_exact(encode_to_bytes(out, ValueFormat::fp32), out2);
      EXPECT_EQ(bits(to_dense(out2)), bits(to_dense(out)));
    }
  }
}

TEST(CodecRoundTrip, SparseWhoseDenseLayoutIsCheaperDecodesDense) {
  Rng rng(24);
  for (const ValueFormat f : kFormats) {
    const std::size_t vb = value_width(f);
    for (const std::uint32_t d : {1U, 2U, 6U, 30U}) {
      for (std::uint32_t count = 1; count <= d; ++count) {
        const std::size_t sparse_bytes = count * (4 + vb);
        const std::size_t dense_bytes = d * vb;
        if (!(dense_bytes < sparse_bytes)) continue;
        SCOPED_TRACE("d=" + std::to_string(d) + " count=" + std::to_string(count));
        Message m = random_sparse(d, count, rng);
        ecco::round_to_wire(m, f);
        const EncodedSize size = ecco::encoded_size(m, f);
        EXPECT_EQ(size.header, 20U);
        EXPECT_EQ(size.index, 0U);
        EXPECT_EQ(size.value, dense_bytes);
        const Bytes b = encode_to_bytes(m, f);
        ASSERT_EQ(b.size(), 20 + dense_bytes);
        Message out;
        decode_exact(b, d, out);
        EXPECT_EQ(out.layout, Layout::dense);
        EXPECT_EQ(out.dim, d);
        EXPECT_TRUE(out.indices.empty());
        EXPECT_EQ(bits(out.values), bits(to_dense(m)));
        // Zeros in the dense payload are +0.
        for (std::size_t j = 0; j < out.values.size(); ++j) {
          if (std::find(m.indices.begin(), m.indices.end(), j) == m.indices.end()) {
            EXPECT_EQ(std::bit_cast<std::uint64_t>(out.values[j]), 0U);
          }
        }
      }
    }
  }
}

TEST(CodecRoundTrip, TieBetweenLayoutsKeepsTheVector) {
  // fp32, d = 10, count = 5: 5 * 8 == 10 * 4 bytes. Either layout is fine; the size is
  // the common value and the decoded vector is the same.
  Rng rng(25);
  Message m = random_sparse(10, 5, rng);
  ecco::round_to_wire(m, ValueFormat::fp32);
  const Bytes b = encode_to_bytes(m, ValueFormat::fp32);
  EXPECT_EQ(b.size(), 60U);
  EXPECT_EQ(ecco::encoded_size(m, ValueFormat::fp32).total(), 60U);
  Message out;
  decode_exact(b, out);
  EXPECT_EQ(bits(to_dense(out)), bits(to_dense(m)));
}

TEST(CodecRoundTrip, DimensionOne) {
  for (const ValueFormat f : kFormats) {
    Message dense = dense_message({-7.25});
    Message out;
    decode_exact(encode_to_bytes(dense, f), out);
    EXPECT_EQ(out.layout, Layout::dense);
    EXPECT_EQ(out.dim, 1U);
    EXPECT_EQ(out.values, (std::vector<double>{-7.25}));

    // Sparse with its one entry: dense (vb bytes) beats sparse (4 + vb bytes).
    const Message sparse = sparse_message(1, {0}, {3.5});
    EXPECT_EQ(encode_to_bytes(sparse, f).size(), 20 + value_width(f));
    decode_exact(encode_to_bytes(sparse, f), out);
    EXPECT_EQ(out.layout, Layout::dense);
    EXPECT_EQ(out.values, (std::vector<double>{3.5}));

    // Sparse and empty: header only.
    const Message empty = sparse_message(1, {}, {});
    const Bytes b = encode_to_bytes(empty, f);
    EXPECT_EQ(b.size(), 20U);
    decode_exact(b, out);
    EXPECT_EQ(out.dim, 1U);
    EXPECT_EQ(out.count(), 0U);
    EXPECT_EQ(to_dense(out), (std::vector<double>{0.0}));
  }
}

TEST(CodecRoundTrip, ZeroVector) {
  for (const ValueFormat f : kFormats) {
    const Message dense = dense_message(std::vector<double>(50, 0.0));
    Message out;
    decode_exact(encode_to_bytes(dense, f), out);
    EXPECT_EQ(out.layout, Layout::dense);
    EXPECT_EQ(out.values, std::vector<double>(50, 0.0));

    const Message sparse = sparse_message(50, {}, {});
    const Bytes b = encode_to_bytes(sparse, f);
    EXPECT_EQ(b.size(), 20U);
    EXPECT_EQ(ecco::encoded_size(sparse, f).index, 0U);
    EXPECT_EQ(ecco::encoded_size(sparse, f).value, 0U);
    EXPECT_EQ(read_u32(b, 12), 0U);
    EXPECT_EQ(read_u32(b, 16), 0U);  // CRC-32 of nothing
    decode_exact(b, out);
    EXPECT_EQ(out.dim, 50U);
    EXPECT_EQ(out.count(), 0U);
    EXPECT_TRUE(out.indices.empty());
  }
}

TEST(CodecRoundTrip, DecodeReusesOutputBuffers) {
  Rng rng(26);
  Message out;
  // Alternate layouts and sizes into the same Message; no stale state may survive.
  for (int i = 0; i < 20; ++i) {
    const auto d = static_cast<std::uint32_t>(1 + rng.uniform_index(300));
    const Message m = i % 2 == 0 ? random_dense(d, rng) : random_sparse(d, static_cast<std::uint32_t>(rng.uniform_index(d / 4 + 1)), rng);
    decode_exact(encode_to_bytes(m, ValueFormat::fp64), out);
    EXPECT_EQ(out.dim, d);
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
  // A corrupt message is still a DecodeError with an expected dimension.
  EXPECT_THROW(decode_exact(Bytes(dense.begin(), dense.end() - 1), 2, out), DecodeError);
}

// ---------------------------------------------------------------------------------------
// Encoder / round_to_wire numeric errors

TEST(CodecNumeric, EncodeRejectsNonFiniteValues) {
  const double bad[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity()};
  for (const ValueFormat f : kFormats) {
    for (const double v : bad) {
      Bytes out;
      EXPECT_THROW(ecco::encode(dense_message({1.0, v, 2.0}), f, out), ecco::NumericError);
      EXPECT_THROW(ecco::encode(sparse_message(1000, {7}, {v}), f, out), ecco::NumericError);
      // Sparse message encoded in the dense layout.
      EXPECT_THROW(ecco::encode(sparse_message(2, {0, 1}, {1.0, v}), f, out), ecco::NumericError);
      Message m = dense_message({v});
      EXPECT_THROW(ecco::round_to_wire(m, f), ecco::NumericError);
      Message s = sparse_message(10, {2, 9}, {0.0, v});
      EXPECT_THROW(ecco::round_to_wire(s, f), ecco::NumericError);
    }
  }
}

TEST(CodecNumeric, Fp32OverflowIsRejected) {
  for (const double v : {1e300, -1e300, 1e39, -3.5e38, std::numeric_limits<double>::max()}) {
    Bytes out;
    EXPECT_THROW(ecco::encode(dense_message({0.0, v}), ValueFormat::fp32, out), ecco::NumericError) << v;
    EXPECT_THROW(ecco::encode(sparse_message(100, {42}, {v}), ValueFormat::fp32, out), ecco::NumericError) << v;
    Message m = dense_message({v});
    EXPECT_THROW(ecco::round_to_wire(m, ValueFormat::fp32), ecco::NumericError) << v;
    // fp64 carries it.
    Bytes ok;
    EXPECT_NO_THROW(ecco::encode(dense_message({0.0, v}), ValueFormat::fp64, ok));
    Message d;
    decode_exact(ok, d);
    EXPECT_EQ(d.values[1], v);
    Message m64 = dense_message({v});
    EXPECT_NO_THROW(ecco::round_to_wire(m64, ValueFormat::fp64));
    EXPECT_EQ(m64.values[0], v);
  }
  // The largest float itself is fine.
  const double fmax = static_cast<double>(std::numeric_limits<float>::max());
  Bytes out;
  EXPECT_NO_THROW(ecco::encode(dense_message({fmax, -fmax}), ValueFormat::fp32, out));
  Message d;
  decode_exact(out, d);
  EXPECT_EQ(d.values, (std::vector<double>{fmax, -fmax}));
}

TEST(CodecNumeric, RoundToWireFp32MatchesStaticCast) {
  Rng rng(27);
  std::vector<double> values;
  for (int i = 0; i < 5000; ++i) {
    // Wide exponent range, including float subnormals and values that round up.
    const double mant = rng.uniform() * 2.0 - 1.0;
    const int exp = static_cast<int>(rng.uniform_index(300)) - 170;
    values.push_back(std::ldexp(mant, std::min(exp, 127)));
  }
  values.push_back(0.0);
  values.push_back(-0.0);
  values.push_back(1.0 + std::ldexp(1.0, -24));                             // tie -> even (1.0)
  values.push_back(1.0 + std::ldexp(1.0, -24) + std::ldexp(1.0, -50));      // just above tie -> up
  values.push_back(1.0 + 3.0 * std::ldexp(1.0, -24));                       // tie -> even (up)
  values.push_back(std::ldexp(1.0, -149));                                  // smallest float subnormal
  values.push_back(std::ldexp(1.0, -151));                                  // underflows to 0
  values.push_back(0.1);
  Message m = dense_message(values);
  ecco::round_to_wire(m, ValueFormat::fp32);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float expected = static_cast<float>(values[i]);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(m.values[i]), std::bit_cast<std::uint64_t>(static_cast<double>(expected)))
        << "value " << values[i];
  }
  EXPECT_EQ(m.values[values.size() - 6], 1.0);
  EXPECT_EQ(m.values[values.size() - 5], 1.0 + std::ldexp(1.0, -23));
  EXPECT_EQ(m.values[values.size() - 4], 1.0 + std::ldexp(1.0, -22));

  // fp64: unchanged bit for bit; and rounding is idempotent.
  Message m64 = dense_message(values);
  ecco::round_to_wire(m64, ValueFormat::fp64);
  EXPECT_EQ(bits(m64.values), bits(values));
  Message twice = m;
  ecco::round_to_wire(twice, ValueFormat::fp32);
  EXPECT_EQ(bits(twice.values), bits(m.values));
}

TEST(CodecNumeric, ValueFormatNames) {
  EXPECT_EQ(ecco::parse_value_format("fp32"), ValueFormat::fp32);
  EXPECT_EQ(ecco::parse_value_format("fp64"), ValueFormat::fp64);
  EXPECT_EQ(ecco::to_string(ValueFormat::fp32), "fp32");
  EXPECT_EQ(ecco::to_string(ValueFormat::fp64), "fp64");
  for (const char* bad : {"", "fp16", "FP32", "double", "fp32 "}) {
    EXPECT_THROW(ecco::parse_value_format(bad), ecco::ConfigError) << bad;
  }
}

// ---------------------------------------------------------------------------------------
// Decoder: every bad message is a DecodeError

TEST(CodecDecodeErrors, EmptyAndTruncatedHeader) {
  expect_decode_error({}, "empty input");
  const Bytes valid = encode_to_bytes(dense_message({1.0, 2.0}), ValueFormat::fp64);
  for (std::size_t n = 1; n < 20; ++n) {
    expect_decode_error(Bytes(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n)),
                        "header prefix " + std::to_string(n));
  }
}

TEST(CodecDecodeErrors, EveryTruncationOfValidMessages) {
  for (const Bytes& valid : valid_corpus()) {
    Message ok;
    ASSERT_NO_THROW(decode_exact(valid, ok));
    for (std::size_t n = 0; n < valid.size(); ++n) {
      expect_decode_error(Bytes(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n)),
                          "prefix " + std::to_string(n) + " of " + std::to_string(valid.size()));
    }
  }
}

TEST(CodecDecodeErrors, TrailingBytes) {
  for (const Bytes& valid : valid_corpus()) {
    Bytes longer = valid;
    longer.push_back(std::byte{0});
    expect_decode_error(longer, "one trailing byte");
    // Also with the CRC recomputed over the longer payload.
    fix_crc(longer);
    expect_decode_error(longer, "one trailing byte, CRC fixed");
    longer.resize(valid.size() + 8);
    fix_crc(longer);
    expect_decode_error(longer, "eight trailing bytes, CRC fixed");
  }
}

TEST(CodecDecodeErrors, BadMagic) {
  for (const Bytes& valid : valid_corpus()) {
    for (std::size_t i = 0; i < 4; ++i) {
      Bytes b = valid;
      b[i] ^= std::byte{0x20};  // e.g. 'E' -> 'e'
      expect_decode_error(b, "magic byte " + std::to_string(i));
    }
  }
}

TEST(CodecDecodeErrors, BadVersion) {
  for (const Bytes& valid : valid_corpus()) {
    for (const unsigned v : {0U, 2U, 3U, 255U}) {
      Bytes b = valid;
      b[4] = static_cast<std::byte>(v);
      expect_decode_error(b, "version " + std::to_string(v));
    }
  }
}

TEST(CodecDecodeErrors, UnknownLayout) {
  for (const Bytes& valid : valid_corpus()) {
    for (const unsigned v : {0U, 3U, 4U, 128U, 255U}) {
      Bytes b = valid;
      b[5] = static_cast<std::byte>(v);
      expect_decode_error(b, "layout " + std::to_string(v));
    }
  }
}

TEST(CodecDecodeErrors, UnknownValueFormat) {
  for (const Bytes& valid : valid_corpus()) {
    for (const unsigned v : {0U, 3U, 4U, 16U, 255U}) {
      Bytes b = valid;
      b[6] = static_cast<std::byte>(v);
      expect_decode_error(b, "value format " + std::to_string(v));
    }
  }
}

TEST(CodecDecodeErrors, NonzeroReservedByte) {
  for (const Bytes& valid : valid_corpus()) {
    for (const unsigned v : {1U, 2U, 0x80U, 255U}) {
      Bytes b = valid;
      b[7] = static_cast<std::byte>(v);
      expect_decode_error(b, "reserved " + std::to_string(v));
    }
  }
}

TEST(CodecDecodeErrors, DimZero) {
  // Consistent otherwise: sparse with count 0 (header only), and dense with 0 values.
  expect_decode_error(craft(2, 2, 0, 0, {}, {}), "sparse dim 0");
  expect_decode_error(craft(1, 1, 0, 0, {}, {}), "dense dim 0");
  for (const Bytes& valid : valid_corpus()) {
    Bytes b = valid;
    write_u32(b, 8, 0);
    expect_decode_error(b, "dim patched to 0");
  }
}

TEST(CodecDecodeErrors, CountExceedsDim) {
  // Length and CRC consistent with the count; indices valid as far as they can be.
  expect_decode_error(craft(2, 2, 3, 4, {0, 1, 2, 3}, {1, 2, 3, 4}), "sparse count 4 > dim 3");
  expect_decode_error(craft(2, 1, 2, 3, {0, 1, 1}, {1, 2, 3}), "sparse count 3 > dim 2 (fp32)");
  expect_decode_error(craft(1, 2, 2, 3, {}, {1, 2, 3}), "dense count 3 > dim 2");
  // Huge count: the length check must not overflow.
  Bytes b = craft(2, 2, 5, 1, {0}, {1.0});
  write_u32(b, 12, 0xFFFFFFFFU);
  expect_decode_error(b, "count 2^32-1");
  b = craft(2, 2, 0xFFFFFFFFU, 1, {0}, {1.0});
  write_u32(b, 12, 0xFFFFFFFFU);
  expect_decode_error(b, "count 2^32-1 with dim 2^32-1 (length mismatch)");
}

TEST(CodecDecodeErrors, DenseCountDiffersFromDim) {
  expect_decode_error(craft(1, 2, 4, 3, {}, {1, 2, 3}), "dense count 3 dim 4 (fp64)");
  expect_decode_error(craft(1, 1, 4, 3, {}, {1, 2, 3}), "dense count 3 dim 4 (fp32)");
  expect_decode_error(craft(1, 2, 4, 0, {}, {}), "dense count 0 dim 4");
  // A sparse header-only message relabelled as dense.
  Bytes b = encode_to_bytes(sparse_message(9, {}, {}), ValueFormat::fp64);
  b[5] = std::byte{1};
  expect_decode_error(b, "sparse empty relabelled dense");
  // Sparse relabelled dense with a length that would fit count values.
  expect_decode_error(craft(1, 1, 10, 2, {}, {1.0, 2.0, 3.0, 4.0}), "dense count 2 dim 10, 4 values");
}

TEST(CodecDecodeErrors, LayoutSwapWithMatchingLength) {
  // fp32 dense, dim 4: 16 payload bytes; as sparse with count 2: 2 * (4 + 4) = 16 bytes.
  Bytes b = craft(1, 1, 4, 4, {}, {1.0, 2.0, 3.0, 4.0});
  b[5] = std::byte{2};
  write_u32(b, 12, 2);
  // Payload as indices: bits of 1.0f (0x3F800000) >= 4 -> out of range.
  expect_decode_error(b, "dense payload read as sparse");
}

TEST(CodecDecodeErrors, IndexOutOfRange) {
  for (const std::uint8_t f : {std::uint8_t{1}, std::uint8_t{2}}) {
    expect_decode_error(craft(2, f, 10, 1, {10}, {1.0}), "index == dim");
    expect_decode_error(craft(2, f, 10, 2, {3, 11}, {1.0, 2.0}), "last index > dim");
    expect_decode_error(craft(2, f, 10, 2, {0xFFFFFFFFU, 1}, {1.0, 2.0}), "index 2^32-1");
    expect_decode_error(craft(2, f, 1, 1, {1}, {1.0}), "d=1 index 1");
    expect_decode_error(craft(2, f, 100, 3, {1, 2, 0x80000000U}, {1.0, 2.0, 3.0}), "index 2^31");
  }
}

TEST(CodecDecodeErrors, IndicesNotStrictlyIncreasing) {
  for (const std::uint8_t f : {std::uint8_t{1}, std::uint8_t{2}}) {
    expect_decode_error(craft(2, f, 10, 2, {3, 3}, {1.0, 2.0}), "repeated index");
    expect_decode_error(craft(2, f, 10, 2, {5, 2}, {1.0, 2.0}), "decreasing indices");
    expect_decode_error(craft(2, f, 100, 4, {1, 2, 9, 9}, {1.0, 2.0, 3.0, 4.0}), "repeat at the end");
    expect_decode_error(craft(2, f, 100, 4, {0, 0, 1, 2}, {1.0, 2.0, 3.0, 4.0}), "repeat at the start");
    expect_decode_error(craft(2, f, 100, 3, {50, 60, 10}, {1.0, 2.0, 3.0}), "decrease at the end");
  }
  // Sanity: the same crafted messages with good indices decode.
  Message out;
  EXPECT_NO_THROW(decode_exact(craft(2, 2, 100, 3, {10, 50, 60}, {1.0, 2.0, 3.0}), out));
  EXPECT_EQ(out.indices, (std::vector<std::uint32_t>{10, 50, 60}));
  EXPECT_EQ(out.values, (std::vector<double>{1.0, 2.0, 3.0}));
}

TEST(CodecDecodeErrors, NonFiniteValueWithValidCrc) {
  const double bad[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity()};
  for (const double v : bad) {
    for (const std::uint8_t f : {std::uint8_t{1}, std::uint8_t{2}}) {
      expect_decode_error(craft(1, f, 3, 3, {}, {1.0, v, 2.0}), "dense non-finite");
      expect_decode_error(craft(1, f, 1, 1, {}, {v}), "dense d=1 non-finite");
      expect_decode_error(craft(2, f, 50, 2, {4, 40}, {1.0, v}), "sparse non-finite");
      expect_decode_error(craft(2, f, 50, 2, {4, 40}, {v, 1.0}), "sparse non-finite first");
    }
  }
  // A signalling-NaN bit pattern and a NaN with payload, fp64 and fp32.
  for (const std::uint64_t pattern : {0x7FF0000000000001ULL, 0xFFF8000000000123ULL}) {
    Bytes b = craft(1, 2, 2, 2, {}, {1.0, 2.0});
    write_u64(b, 28, pattern);
    fix_crc(b);
    expect_decode_error(b, "fp64 NaN pattern");
  }
  for (const std::uint32_t pattern : {0x7F800001U, 0xFFC00000U, 0x7F800000U, 0xFF800000U}) {
    Bytes b = craft(2, 1, 8, 1, {3}, {1.0});
    write_u32(b, 24, pattern);
    fix_crc(b);
    expect_decode_error(b, "fp32 NaN/inf pattern");
  }
}

TEST(CodecDecodeErrors, CrcMismatch) {
  for (const Bytes& valid : valid_corpus()) {
    // Flip every payload bit in turn (capped for long messages).
    const std::size_t payload_bits = (valid.size() - 20) * 8;
    for (std::size_t bit = 0; bit < std::min<std::size_t>(payload_bits, 2048); ++bit) {
      Bytes b = valid;
      b[20 + bit / 8] ^= static_cast<std::byte>(1U << (bit % 8));
      expect_decode_error(b, "payload bit " + std::to_string(bit));
    }
    // Flip each bit of the stored CRC.
    for (std::size_t bit = 0; bit < 32; ++bit) {
      Bytes b = valid;
      b[16 + bit / 8] ^= static_cast<std::byte>(1U << (bit % 8));
      expect_decode_error(b, "crc bit " + std::to_string(bit));
    }
  }
  // A value change that stays finite and in order is caught by the CRC alone.
  Bytes b = craft(2, 2, 100, 2, {1, 2}, {1.0, 2.0});
  write_u64(b, 28, std::bit_cast<std::uint64_t>(1.5));
  expect_decode_error(b, "changed value, stale crc");
  fix_crc(b);
  Message out;
  EXPECT_NO_THROW(decode_exact(b, out));
  EXPECT_EQ(out.values, (std::vector<double>{1.5, 2.0}));
}

TEST(CodecDecodeErrors, ValidHeaderFieldEditsStillDecode) {
  // Control for the corruption tests: crafted messages that are valid decode to the
  // crafted content (so the rejections above are for the stated reason).
  Message out;
  EXPECT_NO_THROW(decode_exact(craft(2, 1, 7, 0, {}, {}), out));
  EXPECT_EQ(out.dim, 7U);
  EXPECT_EQ(out.count(), 0U);
  EXPECT_NO_THROW(decode_exact(craft(2, 1, 3, 3, {0, 1, 2}, {1.0, 2.0, 3.0}), out));
  EXPECT_EQ(out.layout, Layout::sparse);  // sparse with count == dim is allowed
  EXPECT_EQ(out.indices, (std::vector<std::uint32_t>{0, 1, 2}));
  EXPECT_NO_THROW(decode_exact(craft(1, 2, 2, 2, {}, {-0.0, 5.0}), out));
  EXPECT_EQ(out.layout, Layout::dense);
  EXPECT_TRUE(std::signbit(out.values[0]));
}

// Checks the invariants of a message the decoder accepted.
void expect_valid_decoded(const Message& m, std::size_t byte_count) {
  ASSERT_GE(m.dim, 1U);
  if (m.layout == Layout::dense) {
    EXPECT_TRUE(m.indices.empty());
    EXPECT_EQ(m.values.size(), m.dim);
  } else {
    ASSERT_EQ(m.layout, Layout::sparse);
    ASSERT_EQ(m.indices.size(), m.values.size());
    EXPECT_LE(m.count(), m.dim);
    for (std::size_t k = 0; k < m.indices.size(); ++k) {
      EXPECT_LT(m.indices[k], m.dim);
      if (k > 0) {
        EXPECT_LT(m.indices[k - 1], m.indices[k]);
      }
    }
  }
  for (const double v : m.values) EXPECT_TRUE(std::isfinite(v));
  // The byte count matches what the header implies.
  EXPECT_GE(byte_count, 20U);
}

TEST(CodecDecodeErrors, RandomMutationFuzz) {
  const std::vector<Bytes> corpus = valid_corpus();
  Rng rng(0xF00DU);
  int accepted = 0;
  int rejected = 0;
  for (int iter = 0; iter < 6000; ++iter) {
    Bytes b = corpus[rng.uniform_index(corpus.size())];
    const std::uint64_t kind = rng.uniform_index(6);
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
        case 4:  // payload byte, CRC fixed (reaches index/value checks)
          if (b.size() > 20) {
            b[20 + rng.uniform_index(b.size() - 20)] = static_cast<std::byte>(rng.uniform_index(256));
          }
          break;
        default:  // dim / count fields
          write_u32(b, rng.uniform_index(2) == 0 ? 8 : 12,
                    rng.uniform_index(2) == 0 ? static_cast<std::uint32_t>(rng.uniform_index(64))
                                              : static_cast<std::uint32_t>(rng.next_u64()));
          break;
      }
    }
    if (kind == 4 && b.size() >= 20) fix_crc(b);
    Message out;
    try {
      decode_exact(b, out);
      ++accepted;
      expect_valid_decoded(out, b.size());
    } catch (const DecodeError&) {
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "iteration " << iter << ": non-DecodeError exception: " << e.what();
    }
    if (::testing::Test::HasFailure()) {
      FAIL() << "stopping fuzz at iteration " << iter;
    }
  }
  // Both outcomes occur (the fuzz reaches past the first checks).
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(accepted, 0);
}

TEST(CodecDecodeErrors, RandomBytesFuzz) {
  // Completely random buffers, some starting with a plausible header.
  Rng rng(0xBADU);
  for (int iter = 0; iter < 3000; ++iter) {
    const std::size_t n = static_cast<std::size_t>(rng.uniform_index(80));
    Bytes b(n);
    for (std::byte& x : b) x = static_cast<std::byte>(rng.uniform_index(256));
    if (n >= 20 && iter % 2 == 0) {
      b[0] = std::byte{'E'};
      b[1] = std::byte{'C'};
      b[2] = std::byte{'C'};
      b[3] = std::byte{'M'};
      b[4] = std::byte{1};
      b[5] = static_cast<std::byte>(1 + rng.uniform_index(2));
      b[6] = static_cast<std::byte>(1 + rng.uniform_index(2));
      b[7] = std::byte{0};
      write_u32(b, 8, static_cast<std::uint32_t>(1 + rng.uniform_index(16)));
      write_u32(b, 12, static_cast<std::uint32_t>(rng.uniform_index(16)));
      fix_crc(b);
    }
    Message out;
    try {
      decode_exact(b, out);
      expect_valid_decoded(out, b.size());
    } catch (const DecodeError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "iteration " << iter << ": non-DecodeError exception: " << e.what();
    }
    if (::testing::Test::HasFailure()) {
      FAIL() << "stopping fuzz at iteration " << iter;
    }
  }
}

}  // namespace
