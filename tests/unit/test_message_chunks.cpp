// restrict_message (the pieces of --aggregation sharded): every coordinate of every chunk
// equals the whole message's, bit for bit, for each layout and value code the compressors
// make; the pieces survive the wire; what cannot be cut is refused.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

Eigen::VectorXd expanded(const ecco::Message& m) {
  Eigen::VectorXd y(m.dim);
  m.assign_to(y);
  return y;
}

// Cuts m into chunks of `chunk`, sends every piece through the codec, and compares each
// decoded piece with m's coordinates.
void expect_pieces_equal_the_whole(const ecco::Message& m, std::uint32_t chunk, ecco::ValueFormat wire) {
  const Eigen::VectorXd whole = expanded(m);
  for (std::uint32_t first = 0; first < m.dim; first += chunk) {
    const std::uint32_t length = std::min(chunk, m.dim - first);
    ecco::Message piece;
    ecco::restrict_message(m, first, length, piece);
    ASSERT_EQ(piece.dim, length);
    if (m.layout != ecco::Layout::parts) {
      EXPECT_EQ(piece.code, m.code);
    }
    std::vector<std::byte> bytes;
    ecco::encode(piece, wire, bytes);
    ecco::Message decoded;
    ecco::decode(bytes, length, decoded);
    const Eigen::VectorXd got = expanded(decoded);
    for (std::uint32_t k = 0; k < length; ++k) {
      EXPECT_TRUE(same_bits(got[k], whole[first + k])) << "coordinate " << first + k << ": " << got[k] << " vs "
                                                        << whole[first + k];
    }
  }
}

ecco::Message compressed(const char* spec, std::uint32_t dim, std::uint64_t seed) {
  Eigen::VectorXd x(dim);
  ecco::Rng data(seed);
  for (Eigen::Index j = 0; j < x.size(); ++j) x[j] = data.normal() * (j % 7 == 0 ? 10.0 : 1.0);
  const auto compressor = ecco::make_compressor(spec);
  ecco::Rng rng(seed + 1);
  ecco::CompressorWorkspace workspace;
  ecco::Message m;
  compressor->compress(x, rng, workspace, m);
  ecco::round_to_wire(m, ecco::ValueFormat::fp32);
  return m;
}

TEST(MessageChunks, EveryCompressorsPiecesEqualTheWhole) {
  for (const char* spec : {"identity", "topk:k=9", "randk:k=12", "randk:k=12,shared_seed=true", "natural", "qsgd:s=4",
                           "natural_dithering:s=3", "terngrad", "sign", "onebit", "topk:k=10+qsgd:s=2"}) {
    SCOPED_TRACE(spec);
    const ecco::Message m = compressed(spec, 50, 3);
    for (const std::uint32_t chunk : {1U, 7U, 16U, 50U, 64U}) {
      SCOPED_TRACE(chunk);
      expect_pieces_equal_the_whole(m, chunk, ecco::ValueFormat::fp32);
    }
  }
}

TEST(MessageChunks, PartsCutOnlyAtTheirOwnBoundaries) {
  ecco::Message m;
  m.set_parts(10, 3);
  const std::uint32_t dims[3] = {4, 4, 2};
  for (std::uint32_t k = 0; k < 3; ++k) {
    m.parts[k] = compressed("onebit", dims[k], 10 + k);
  }
  expect_pieces_equal_the_whole(m, 4, ecco::ValueFormat::fp32);
  ecco::Message piece;
  EXPECT_THROW(ecco::restrict_message(m, 0, 3, piece), ecco::ConfigError);
  EXPECT_THROW(ecco::restrict_message(m, 2, 4, piece), ecco::ConfigError);
}

TEST(MessageChunks, RefusesLowRankAndBadRanges) {
  const ecco::Message m = compressed("lowrank:r=1", 12, 4);
  ecco::Message piece;
  EXPECT_THROW(ecco::restrict_message(m, 0, 4, piece), ecco::ConfigError);
  const ecco::Message dense = compressed("identity", 12, 4);
  EXPECT_THROW(ecco::restrict_message(dense, 10, 3, piece), std::invalid_argument);
  EXPECT_THROW(ecco::restrict_message(dense, 0, 0, piece), std::invalid_argument);
}

}  // namespace
