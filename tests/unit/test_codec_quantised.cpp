// Tests of the quantised value codecs (uniform levels, power-of-two levels, natural, sign)
// and of the lowrank layout, against the independent implementation of
// docs/wire-format.md in wire_reference.hpp.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <tuple>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "codec_test_util.hpp"
#include "compressors/level_packing.hpp"
#include "ecco/rng.hpp"

namespace {

using namespace codec_test;
using ecco::IndexCodec;

struct Codec {
  ValueCode code;
  std::uint32_t s;     // levels (0 where unused)
  double scale;        // an fp32 value
  std::int32_t max_level;
  bool has_zero;
};

std::vector<Codec> all_codecs() {
  std::vector<Codec> codecs;
  for (const std::uint32_t s : {1U, 2U, 3U, 5U, 16U, 255U, 256U, 1U << 20}) {
    codecs.push_back({ValueCode::uniform_levels, s, 0.375, static_cast<std::int32_t>(s), true});
  }
  for (const std::uint32_t s : {1U, 2U, 7U, 8U, 30U}) {
    codecs.push_back({ValueCode::power_levels, s, static_cast<double>(1.5e-3f), static_cast<std::int32_t>(s), true});
  }
  codecs.push_back({ValueCode::natural, 0, 1.0, 254, true});
  codecs.push_back({ValueCode::natural, 0, 0.875, 254, true});
  codecs.push_back({ValueCode::sign, 0, 2.75, 1, false});
  return codecs;
}

// Documented magnitude width: bits for 0..s (uniform, power), 8 (natural), 0 (sign).
unsigned magnitude_bits(const Codec& c) {
  switch (c.code) {
    case ValueCode::uniform_levels:
    case ValueCode::power_levels:
      return wire_ref::bits_for(c.s);
    case ValueCode::natural:
      return 8;
    default:
      return 0;
  }
}

Bytes reference_params(const Codec& c) {
  Bytes params;
  if (c.code == ValueCode::uniform_levels || c.code == ValueCode::power_levels) wire_ref::append_u32(params, c.s);
  wire_ref::append_u32(params, std::bit_cast<std::uint32_t>(static_cast<float>(c.scale)));
  return params;
}

Bytes reference_values(const Codec& c, const std::vector<std::int32_t>& levels) {
  std::vector<std::uint32_t> fields;
  for (const std::int32_t l : levels) {
    fields.push_back(c.code == ValueCode::sign ? (l < 0 ? 1U : 0U) : wire_ref::level_field(l, magnitude_bits(c)));
  }
  return wire_ref::pack(fields, magnitude_bits(c) + 1);
}

std::string name(const Codec& c) {
  return "code " + std::to_string(static_cast<int>(c.code)) + " s " + std::to_string(c.s);
}

TEST(CodecQuantised, DenseBytesEqualTheReference) {
  Rng rng(41);
  for (const Codec& c : all_codecs()) {
    for (const std::uint32_t d : {1U, 2U, 7U, 8U, 9U, 100U, 1001U}) {
      SCOPED_TRACE(name(c) + " d=" + std::to_string(d));
      const std::vector<std::int32_t> levels = random_levels(d, c.max_level, c.has_zero, rng);
      const Message m = quantised_message(dense_message(std::vector<double>(d)), c.code, c.s, c.scale, levels);
      for (const ValueFormat f : kFormats) {  // the raw format does not matter for levels
        const Bytes b = encode_to_bytes(m, f);
        wire_ref::Parts p;
        p.layout = 1;
        p.value_codec = static_cast<std::uint8_t>(c.code);
        p.dim = d;
        p.count = d;
        p.params = reference_params(c);
        p.values = reference_values(c, levels);
        ASSERT_EQ(b, wire_ref::assemble(p));
        const ecco::EncodedSize size = ecco::encoded_size(m, f);
        EXPECT_EQ(size.header, 20 + p.params.size());
        EXPECT_EQ(size.value, p.values.size());
        EXPECT_EQ(size.value, (d * (magnitude_bits(c) + 1) + 7) / 8);
      }
      Message out;
      decode_exact(encode_to_bytes(m, ValueFormat::fp32), out);
      EXPECT_EQ(out.layout, Layout::dense);
      EXPECT_EQ(out.code, c.code);
      EXPECT_EQ(out.levels, levels);
      EXPECT_EQ(out.scale, c.scale);
      EXPECT_EQ(out.level_count, c.s);
      EXPECT_EQ(bits(out.values), bits(m.values));
    }
  }
}

TEST(CodecQuantised, SparseWithEveryIndexCodecAndTheDenseChoice) {
  Rng rng(42);
  for (const Codec& c : all_codecs()) {
    for (const auto& [dim, count] : {std::pair{50U, 3U}, std::pair{50U, 45U}, std::pair{2000U, 40U}, std::pair{9U, 9U}}) {
      SCOPED_TRACE(name(c) + " dim=" + std::to_string(dim) + " count=" + std::to_string(count));
      const std::vector<std::uint32_t> indices = random_indices(dim, count, rng);
      const std::vector<std::int32_t> levels = random_levels(count, c.max_level, c.has_zero, rng);
      const Message m =
          quantised_message(sparse_message(dim, indices, std::vector<double>(count)), c.code, c.s, c.scale, levels);
      for (const auto& [codec, tag] : {std::pair{IndexCodec::raw32, 1}, std::pair{IndexCodec::delta_varint, 2},
                                      std::pair{IndexCodec::bitmap, 3}}) {
        const Bytes b = encode_to_bytes(m, {.format = ValueFormat::fp32, .index = codec});
        wire_ref::Parts p;
        p.layout = 2;
        p.value_codec = static_cast<std::uint8_t>(c.code);
        p.index_codec = static_cast<std::uint8_t>(tag);
        p.dim = dim;
        p.count = count;
        p.params = reference_params(c);
        p.index = tag == 1 ? wire_ref::raw32_section(indices)
                           : tag == 2 ? wire_ref::varint_section(indices) : wire_ref::bitmap_section(indices, dim);
        p.values = reference_values(c, levels);
        ASSERT_EQ(b, wire_ref::assemble(p));
        Message out;
        decode_exact(b, out);
        EXPECT_EQ(out.indices, indices);
        EXPECT_EQ(out.levels, levels);
        EXPECT_EQ(bits(out.values), bits(m.values));
      }
      // The automatic choice: dense (zero levels elsewhere) unless the codec has no zero.
      const std::size_t width = magnitude_bits(c) + 1;
      const std::optional<std::size_t> dense_bytes =
          c.has_zero ? std::optional<std::size_t>((dim * width + 7) / 8) : std::nullopt;
      const wire_ref::Choice choice = wire_ref::smallest(dim, indices, (count * width + 7) / 8, dense_bytes, false);
      const ecco::EncodedSize size = ecco::encoded_size(m, ValueFormat::fp32);
      EXPECT_EQ(static_cast<std::uint8_t>(size.layout), choice.layout);
      EXPECT_EQ(size.index + size.value, choice.index_bytes + choice.value_bytes);
      Message out;
      decode_exact(encode_to_bytes(m, ValueFormat::fp32), out);
      EXPECT_EQ(bits(to_dense(out)), bits(to_dense(m)));
      if (out.layout == Layout::dense) {
        std::vector<std::int32_t> dense_levels(dim, 0);
        for (std::size_t k = 0; k < count; ++k) dense_levels[indices[k]] = levels[k];
        EXPECT_EQ(out.levels, dense_levels);
      }
    }
  }
}

TEST(CodecQuantised, ValuesFollowTheDocumentedFormulas) {
  // uniform: scale |l| / s; power: scale 2^(|l| - s); natural: scale 2^(|l| - 127); sign: +-scale.
  EXPECT_EQ(ecco::quantised_value(ValueCode::uniform_levels, -3, 4, 2.0), -1.5);
  EXPECT_EQ(ecco::quantised_value(ValueCode::uniform_levels, 4, 4, 2.0), 2.0);
  EXPECT_EQ(ecco::quantised_value(ValueCode::power_levels, 1, 3, 8.0), 2.0);
  EXPECT_EQ(ecco::quantised_value(ValueCode::power_levels, -3, 3, 8.0), -8.0);
  EXPECT_EQ(ecco::quantised_value(ValueCode::natural, 127, 0, 1.0), 1.0);
  EXPECT_EQ(ecco::quantised_value(ValueCode::natural, -1, 0, 1.0), -0x1p-126);
  EXPECT_EQ(ecco::quantised_value(ValueCode::natural, 254, 0, 1.0), 0x1p127);
  EXPECT_EQ(ecco::quantised_value(ValueCode::natural, 130, 0, 0.75), 6.0);
  EXPECT_EQ(ecco::quantised_value(ValueCode::sign, -1, 0, 0.5), -0.5);
  for (const ValueCode code : {ValueCode::uniform_levels, ValueCode::power_levels, ValueCode::natural}) {
    const double zero = ecco::quantised_value(code, 0, 5, 3.0);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(zero), 0U) << "level 0 is +0";
  }
}

TEST(CodecQuantised, RoundToWireRecomputesValuesFromLevels) {
  Message m = quantised_message(dense_message(std::vector<double>(3)), ValueCode::uniform_levels, 3, 0.5, {1, -2, 3});
  const std::vector<double> expected = m.values;
  m.values = {9.0, 9.0, 9.0};
  for (const ValueFormat f : kFormats) {
    ecco::round_to_wire(m, f);
    EXPECT_EQ(m.values, expected);
  }
  // A scale that is not an fp32 value, or negative, or not finite: NumericError.
  for (const double scale : {0.1, -1.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    Message bad = m;
    bad.scale = scale;
    EXPECT_THROW(ecco::round_to_wire(bad, ValueFormat::fp32), ecco::NumericError) << scale;
    Bytes out;
    EXPECT_THROW(ecco::encode(bad, ValueFormat::fp32, out), ecco::NumericError) << scale;
  }
}

TEST(CodecQuantised, EncoderRejectsInvalidLevels) {
  Bytes out;
  const auto msg = [](ValueCode code, std::uint32_t s, std::vector<std::int32_t> levels) {
    return quantised_message(dense_message(std::vector<double>(levels.size())), code, s, 1.0, levels);
  };
  EXPECT_THROW(ecco::encode(msg(ValueCode::uniform_levels, 3, {4}), ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_THROW(ecco::encode(msg(ValueCode::uniform_levels, 3, {-4}), ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_THROW(ecco::encode(msg(ValueCode::uniform_levels, 0, {0}), ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_THROW(ecco::encode(msg(ValueCode::power_levels, (1U << 20) + 1, {0}), ValueFormat::fp32, out),
               std::invalid_argument);
  EXPECT_THROW(ecco::encode(msg(ValueCode::natural, 0, {255}), ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_THROW(ecco::encode(msg(ValueCode::sign, 0, {0}), ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_THROW(ecco::encode(msg(ValueCode::sign, 0, {2}), ValueFormat::fp32, out), std::invalid_argument);
  Message mismatch = msg(ValueCode::uniform_levels, 3, {1, 2});
  mismatch.levels.pop_back();
  EXPECT_THROW(ecco::encode(mismatch, ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_TRUE(out.empty());
}

// ---------------------------------------------------------------------------------------
// Lowrank layout

TEST(CodecLowrank, BytesEqualTheReferenceAndRoundTrip) {
  Rng rng(43);
  for (const auto& [dim, rows, rank] : {std::tuple{1U, 1U, 1U}, std::tuple{10U, 3U, 2U}, std::tuple{12U, 4U, 3U},
                                       std::tuple{100U, 10U, 1U}, std::tuple{101U, 7U, 4U}}) {
    for (const ValueFormat f : kFormats) {
      SCOPED_TRACE("dim=" + std::to_string(dim) + " rows=" + std::to_string(rows) + " rank=" + std::to_string(rank));
      const Message m = lowrank_message(dim, rows, rank, rng);
      const Bytes b = encode_to_bytes(m, f);
      wire_ref::Parts p;
      p.layout = 3;
      p.value_codec = wire_ref::tag(f);
      p.dim = dim;
      p.count = static_cast<std::uint32_t>(m.values.size());
      wire_ref::append_u32(p.params, rows);
      wire_ref::append_u32(p.params, (dim + rows - 1) / rows);
      wire_ref::append_u32(p.params, rank);
      for (const double v : m.values) wire_ref::append_value(p.values, v, f);
      ASSERT_EQ(b, wire_ref::assemble(p));
      Message out;
      decode_exact(b, dim, out);
      EXPECT_EQ(out.layout, Layout::lowrank);
      EXPECT_EQ(out.rows, rows);
      EXPECT_EQ(out.cols, m.cols);
      EXPECT_EQ(out.rank, rank);
      EXPECT_EQ(out.values, m.values);  // small integers: exact in every format
    }
  }
}

TEST(CodecLowrank, AddToIsTheProductOfTheFactors) {
  Rng rng(44);
  for (const auto& [dim, rows, rank] : {std::tuple{10U, 3U, 2U}, std::tuple{12U, 4U, 3U}, std::tuple{101U, 7U, 4U}}) {
    const Message m = lowrank_message(dim, rows, rank, rng);
    // Independent reconstruction: Eigen product of the factors, column-major, truncated to dim.
    const Eigen::Map<const Eigen::MatrixXd> P(m.values.data(), rows, rank);
    const Eigen::Map<const Eigen::MatrixXd> Q(m.values.data() + rows * rank, m.cols, rank);
    const Eigen::MatrixXd M = P * Q.transpose();
    Eigen::VectorXd y = Eigen::VectorXd::Constant(dim, 1.0);
    m.add_to(y, 2.0);
    for (std::uint32_t j = 0; j < dim; ++j) {
      EXPECT_EQ(y[j], 1.0 + 2.0 * M(j % rows, j / rows)) << "j=" << j;  // integers: exact
    }
  }
}

TEST(CodecLowrank, EncoderRejectsInconsistentShapes) {
  Rng rng(45);
  Bytes out;
  Message m = lowrank_message(10, 3, 2, rng);
  Message bad = m;
  bad.cols = 3;  // ceil(10 / 3) = 4
  EXPECT_THROW(ecco::encode(bad, ValueFormat::fp32, out), std::invalid_argument);
  bad = m;
  bad.rank = 4;  // > min(rows, cols)
  bad.values.resize(4 * 7);
  EXPECT_THROW(ecco::encode(bad, ValueFormat::fp32, out), std::invalid_argument);
  bad = m;
  bad.values.pop_back();
  EXPECT_THROW(ecco::encode(bad, ValueFormat::fp32, out), std::invalid_argument);
  bad = m;
  bad.rows = 11;
  EXPECT_THROW(ecco::encode(bad, ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_TRUE(out.empty());
}

// pack_levels (eight fields at a time, with BMI2 where the build has it) against a bit-by-bit
// packer: every width of the codecs, lengths around the groups of eight and the 256-level
// blocks, and random levels of both signs.
TEST(LevelPacking, MatchesBitByBitPackingForEveryWidth) {
  ecco::Rng rng(2024);
  for (unsigned width = 1; width <= 22; ++width) {
    const ValueCode code = width == 1 ? ValueCode::sign : ValueCode::uniform_levels;
    const std::uint32_t max_magnitude = width == 1 ? 1 : (1U << (width - 1)) - 1;
    for (const std::size_t n : {0U, 1U, 7U, 8U, 9U, 15U, 16U, 17U, 31U, 255U, 256U, 257U, 1000U, 2053U}) {
      std::vector<std::int32_t> levels(n);
      for (auto& l : levels) {
        const auto magnitude = static_cast<std::int32_t>(rng.uniform_index(max_magnitude + 1));
        const bool negative = rng.uniform() < 0.5;
        l = width == 1 ? (negative ? -1 : 1) : (negative ? -magnitude : magnitude);
      }
      const std::size_t bytes = (n * width + 7) / 8;
      std::vector<std::byte> expected(bytes, std::byte{0});
      for (std::size_t k = 0; k < n; ++k) {
        const auto negative = static_cast<std::uint32_t>(levels[k] < 0 ? 1 : 0);
        const std::uint32_t field =
            width == 1 ? negative : (negative << (width - 1)) | static_cast<std::uint32_t>(std::abs(levels[k]));
        for (unsigned b = 0; b < width; ++b) {
          if (((field >> b) & 1U) != 0) {
            const std::size_t bit = k * width + b;
            expected[bit / 8] |= static_cast<std::byte>(1U << (bit % 8));
          }
        }
      }
      // A guard byte after the section: the packer must not write past its end.
      std::vector<std::byte> got(bytes + 1, std::byte{0xA5});
      ecco::detail::pack_levels(levels.data(), n, code, width, got.data());
      EXPECT_EQ(got.back(), std::byte{0xA5}) << "width " << width << " n " << n;
      got.pop_back();
      EXPECT_EQ(got, expected) << "width " << width << " n " << n;
    }
  }
}

}  // namespace
