#pragma once
// Helpers shared by the codec tests: message builders, decoding from exact-size heap
// buffers (so that AddressSanitizer catches any read past the end), and a corpus of valid
// messages covering every layout, value codec and index codec.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ecco/codec.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"
#include "wire_reference.hpp"

namespace codec_test {

using ecco::Layout;
using ecco::Message;
using ecco::Rng;
using ecco::ValueCode;
using ecco::ValueFormat;
using Bytes = std::vector<std::byte>;

inline constexpr ValueFormat kFormats[] = {ValueFormat::fp32, ValueFormat::fp64, ValueFormat::bf16, ValueFormat::fp16};

// Decodes from a heap buffer of exactly bytes.size() bytes.
inline void decode_exact(const Bytes& bytes, Message& out) {
  const std::size_t n = bytes.size();
  const std::unique_ptr<std::byte[]> buffer(new std::byte[n]);
  if (n > 0) std::memcpy(buffer.get(), bytes.data(), n);
  ecco::decode(std::span<const std::byte>(buffer.get(), n), out);
}

inline void decode_exact(const Bytes& bytes, std::uint32_t expected_dim, Message& out) {
  const std::size_t n = bytes.size();
  const std::unique_ptr<std::byte[]> buffer(new std::byte[n]);
  if (n > 0) std::memcpy(buffer.get(), bytes.data(), n);
  ecco::decode(std::span<const std::byte>(buffer.get(), n), expected_dim, out);
}

// Expects decode to throw DecodeError (and nothing else).
inline void expect_decode_error(const Bytes& bytes, const std::string& what) {
  Message out;
  try {
    decode_exact(bytes, out);
    ADD_FAILURE() << what << ": decode accepted a bad message (" << bytes.size() << " bytes)";
  } catch (const ecco::DecodeError&) {
    // expected
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": decode threw a non-DecodeError exception: " << e.what();
  }
}

inline Bytes encode_to_bytes(const Message& m, ValueFormat f) {
  Bytes out;
  ecco::encode(m, f, out);
  return out;
}

inline Bytes encode_to_bytes(const Message& m, ecco::EncodeOptions options) {
  Bytes out;
  ecco::encode(m, options, out);
  return out;
}

inline Message dense_message(const std::vector<double>& values) {
  Message m;
  m.layout = Layout::dense;
  m.dim = static_cast<std::uint32_t>(values.size());
  m.values = values;
  return m;
}

inline Message sparse_message(std::uint32_t dim, const std::vector<std::uint32_t>& indices,
                              const std::vector<double>& values) {
  Message m;
  m.layout = Layout::sparse;
  m.dim = dim;
  m.indices = indices;
  m.values = values;
  return m;
}

// Quantised message with values computed from the documented formulas (not the library).
inline double reference_level_value(ValueCode code, std::int32_t l, std::uint32_t s, double scale) {
  if (l == 0) return 0.0;
  const double a = std::fabs(static_cast<double>(l));
  double magnitude = 0.0;
  switch (code) {
    case ValueCode::uniform_levels:
      magnitude = a * (scale / static_cast<double>(s));
      break;
    case ValueCode::power_levels:
      magnitude = scale * std::pow(2.0, a - static_cast<double>(s));
      break;
    case ValueCode::natural:
      magnitude = scale * std::pow(2.0, a - 127.0);
      break;
    case ValueCode::sign:
      magnitude = scale;
      break;
    case ValueCode::raw:
      break;
  }
  return l < 0 ? -magnitude : magnitude;
}

inline Message quantised_message(Message m, ValueCode code, std::uint32_t s, double scale,
                                 const std::vector<std::int32_t>& levels) {
  m.code = code;
  m.level_count = s;
  m.scale = scale;
  m.levels = levels;
  m.values.resize(levels.size());
  for (std::size_t k = 0; k < levels.size(); ++k) m.values[k] = reference_level_value(code, levels[k], s, scale);
  return m;
}

inline std::vector<std::uint32_t> random_indices(std::uint32_t dim, std::uint32_t count, Rng& rng) {
  // Partial Fisher-Yates on 0..dim-1, then sort.
  std::vector<std::uint32_t> all(dim);
  for (std::uint32_t j = 0; j < dim; ++j) all[j] = j;
  for (std::uint32_t k = 0; k < count; ++k) {
    const auto r = k + static_cast<std::uint32_t>(rng.uniform_index(dim - k));
    std::swap(all[k], all[r]);
  }
  std::vector<std::uint32_t> indices(all.begin(), all.begin() + count);
  std::sort(indices.begin(), indices.end());
  return indices;
}

inline Message random_dense(std::uint32_t dim, Rng& rng, double scale = 1.0) {
  std::vector<double> v(dim);
  for (double& x : v) x = rng.normal() * scale;
  return dense_message(v);
}

inline Message random_sparse(std::uint32_t dim, std::uint32_t count, Rng& rng, double scale = 1.0) {
  std::vector<double> values(count);
  for (double& x : values) x = rng.normal() * scale;
  return sparse_message(dim, random_indices(dim, count, rng), values);
}

inline std::vector<std::int32_t> random_levels(std::size_t n, std::int32_t max_level, bool allow_zero, Rng& rng) {
  std::vector<std::int32_t> levels(n);
  for (std::int32_t& l : levels) {
    do {
      l = static_cast<std::int32_t>(rng.uniform_index(2 * static_cast<std::uint64_t>(max_level) + 1)) - max_level;
    } while (!allow_zero && l == 0);
  }
  return levels;
}

// Dense view of a message, computed here without Message::assign_to: lowrank entries are
// sum_c P(i,c) Q(j,c) in the documented order, parts are concatenated.
inline std::vector<double> to_dense(const Message& m) {
  if (m.layout == Layout::dense) return m.values;
  std::vector<double> y(m.dim, 0.0);
  if (m.layout == Layout::lowrank) {
    const double* p = m.values.data();
    const double* q = p + static_cast<std::size_t>(m.rows) * m.rank;
    for (std::size_t v = 0; v < m.dim; ++v) {
      const std::size_t i = v % m.rows;
      const std::size_t j = v / m.rows;
      double entry = 0.0;
      for (std::size_t c = 0; c < m.rank; ++c) entry += p[i + c * m.rows] * q[j + c * m.cols];
      y[v] = entry;
    }
    return y;
  }
  if (m.layout == Layout::parts) {
    std::size_t at = 0;
    for (std::size_t k = 0; k < m.part_count; ++k) {
      const std::vector<double> part = to_dense(m.parts[k]);
      std::copy(part.begin(), part.end(), y.begin() + static_cast<std::ptrdiff_t>(at));
      at += part.size();
    }
    return y;
  }
  for (std::size_t k = 0; k < m.indices.size(); ++k) y[m.indices[k]] = m.values[k];
  return y;
}

// A parts message of the given parts (dim = the sum of their dimensions).
inline Message parts_message(const std::vector<Message>& parts, std::uint8_t tag = 0) {
  Message m;
  m.layout = Layout::parts;
  m.parts = parts;
  m.part_count = static_cast<std::uint32_t>(parts.size());
  m.dim = 0;
  for (const Message& part : parts) m.dim += part.dim;
  m.tag = tag;
  return m;
}

inline std::vector<std::uint64_t> bits(const std::vector<double>& v) {
  std::vector<std::uint64_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = std::bit_cast<std::uint64_t>(v[i]);
  return out;
}

// Lowrank message rows x rank P and cols x rank Q with small integer entries.
inline Message lowrank_message(std::uint32_t dim, std::uint32_t rows, std::uint32_t rank, Rng& rng) {
  Message m;
  m.layout = Layout::lowrank;
  m.dim = dim;
  m.rows = rows;
  m.cols = (dim + rows - 1) / rows;
  m.rank = rank;
  m.values.resize(static_cast<std::size_t>(rank) * (rows + m.cols));
  for (double& v : m.values) v = static_cast<double>(rng.uniform_index(9)) - 4.0;
  return m;
}

// Parts messages with a dense, a sparse (varint), a quantised, a lowrank, a seeded and a
// bitmap part, in every value format, untagged and tagged.
inline std::vector<Bytes> parts_corpus() {
  std::vector<Bytes> corpus;
  Rng rng(4321);
  for (const ValueFormat f : kFormats) {
    Message seeded = sparse_message(40, {}, {});
    seeded.seeded = true;
    seeded.seed = 99;
    ecco::sample_indices(seeded.seed, 40, 3, seeded.indices);
    seeded.values = {0.5, -1.0, 2.0};
    const Message m = parts_message(
        {random_dense(4, rng), random_sparse(300, 3, rng),
         quantised_message(dense_message(std::vector<double>(5)), ValueCode::uniform_levels, 3, 1.5,
                           random_levels(5, 3, true, rng)),
         lowrank_message(9, 3, 1, rng), seeded, random_sparse(16, 9, rng)});
    corpus.push_back(encode_to_bytes(m, f));
    Message tagged = m;
    tagged.tag = 2;
    corpus.push_back(encode_to_bytes(tagged, f));
  }
  return corpus;
}

// Valid messages of every layout, value codec and index codec (checked by the tests that
// use it to be what they claim).
inline std::vector<Bytes> valid_corpus() {
  std::vector<Bytes> corpus;
  Rng rng(1234);
  for (const ValueFormat f : kFormats) {
    corpus.push_back(encode_to_bytes(random_dense(1, rng), f));
    corpus.push_back(encode_to_bytes(random_dense(7, rng), f));
    const Message sparse = random_sparse(1000, 5, rng);
    for (const auto codec : {ecco::IndexCodec::raw32, ecco::IndexCodec::delta_varint, ecco::IndexCodec::bitmap}) {
      corpus.push_back(encode_to_bytes(sparse, {.format = f, .index = codec}));
    }
    corpus.push_back(encode_to_bytes(random_sparse(9, 0, rng), f));  // header only
  }
  // Shared-seed indices.
  {
    Message m = sparse_message(500, {}, {});
    m.seeded = true;
    m.seed = 0x0123456789ABCDEFULL;
    ecco::sample_indices(m.seed, 500, 20, m.indices);
    m.values.assign(20, 0.5);
    corpus.push_back(encode_to_bytes(m, {.format = ValueFormat::fp32, .index = ecco::IndexCodec::seed}));
  }
  // Quantised codecs, dense and sparse.
  corpus.push_back(encode_to_bytes(
      quantised_message(dense_message(std::vector<double>(13)), ValueCode::uniform_levels, 5, 2.5, random_levels(13, 5, true, rng)),
      ValueFormat::fp32));
  corpus.push_back(encode_to_bytes(
      quantised_message(dense_message(std::vector<double>(11)), ValueCode::power_levels, 4, 0.75, random_levels(11, 4, true, rng)),
      ValueFormat::fp32));
  corpus.push_back(encode_to_bytes(
      quantised_message(dense_message(std::vector<double>(9)), ValueCode::natural, 0, 1.0, random_levels(9, 254, true, rng)),
      ValueFormat::fp32));
  corpus.push_back(encode_to_bytes(
      quantised_message(dense_message(std::vector<double>(17)), ValueCode::sign, 0, 1.5, random_levels(17, 1, false, rng)),
      ValueFormat::fp32));
  corpus.push_back(encode_to_bytes(quantised_message(sparse_message(300, {2, 50, 299}, {0, 0, 0}), ValueCode::uniform_levels,
                                                     16, 3.0, {-16, 3, 0}),
                                   {.format = ValueFormat::fp32, .index = ecco::IndexCodec::delta_varint}));
  corpus.push_back(encode_to_bytes(
      quantised_message(sparse_message(64, {1, 9, 33, 63}, {0, 0, 0, 0}), ValueCode::sign, 0, 0.25, {1, -1, -1, 1}),
      {.format = ValueFormat::fp32, .index = ecco::IndexCodec::bitmap}));
  // Lowrank.
  corpus.push_back(encode_to_bytes(lowrank_message(10, 3, 2, rng), ValueFormat::fp32));
  corpus.push_back(encode_to_bytes(lowrank_message(12, 4, 1, rng), ValueFormat::fp64));
  // Parts (layout 4): one part; mixed parts, plain and tagged, in every format.
  corpus.push_back(encode_to_bytes(parts_message({random_dense(3, rng)}), ValueFormat::fp32));
  for (const Bytes& b : parts_corpus()) corpus.push_back(b);
  return corpus;
}

}  // namespace codec_test
