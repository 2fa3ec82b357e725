// Dimension 2^28 (the largest the tests afford: x alone is 2 GiB) for TopK and identity,
// lean: expected results are planted by construction, no reference sort. Built as its own
// binary (ecco-huge-tests) and run serially by ctest.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"

namespace {

constexpr std::uint32_t kDim = 1U << 28;

TEST(HugeDimension, TopKFindsThePlantedLargestAndRoundTrips) {
  const std::size_t k = 1000;
  Eigen::VectorXd x(static_cast<Eigen::Index>(kDim));
  double* v = x.data();
  for (std::uint32_t j = 0; j < kDim; ++j) v[j] = static_cast<double>(j % 1021) / 2048.0 - 0.25;  // |v| < 0.25
  std::vector<std::uint32_t> planted;
  for (std::uint32_t i = 0; i < k; ++i) {
    const std::uint32_t at = i * (kDim / static_cast<std::uint32_t>(k)) + (i * 7919U) % 1000U;
    planted.push_back(at);
    v[at] = (i % 2 == 0 ? 1.0 : -1.0) * (1.0 + static_cast<double>(i));
  }
  const auto topk = ecco::make_compressor("topk:k=1000");
  ecco::Rng rng(1);
  ecco::CompressorWorkspace workspace;
  ecco::Message out;
  topk->compress(x, rng, workspace, out);
  ASSERT_EQ(out.dim, kDim);
  ASSERT_EQ(out.indices, planted);
  for (std::size_t i = 0; i < k; ++i) ASSERT_EQ(out.values[i], v[planted[i]]);
  std::vector<std::byte> bytes;
  ecco::encode(out, ecco::ValueFormat::fp32, bytes);
  ecco::Message back;
  ecco::decode(bytes, kDim, back);
  EXPECT_EQ(back.indices, planted);
  EXPECT_EQ(back.values, out.values);  // small integers: exact in fp32
}

TEST(HugeDimension, IdentityRoundTripsInBf16) {
  std::vector<std::byte> bytes;
  {
    ecco::Message client;
    {
      Eigen::VectorXd x(static_cast<Eigen::Index>(kDim));
      double* v = x.data();
      for (std::uint32_t j = 0; j < kDim; ++j) v[j] = static_cast<double>(static_cast<int>(j % 251) - 125) / 8.0;
      ecco::Rng rng(1);
      ecco::CompressorWorkspace workspace;
      ecco::make_compressor("identity")->compress(x, rng, workspace, client);
    }
    ecco::round_to_wire(client, ecco::ValueFormat::bf16);
    const ecco::EncodedSize size = ecco::encode(client, ecco::ValueFormat::bf16, bytes);
    EXPECT_EQ(size.value, 2ULL * kDim);
  }
  ecco::Message server;
  ecco::decode(bytes, kDim, server);
  ASSERT_EQ(server.values.size(), kDim);
  std::size_t mismatches = 0;
  for (std::uint32_t j = 0; j < kDim; ++j) {
    mismatches += server.values[j] != static_cast<double>(static_cast<int>(j % 251) - 125) / 8.0 ? 1U : 0U;
  }
  EXPECT_EQ(mismatches, 0U);
}

}  // namespace
