// Unit tests of the deterministic random streams: Rng and derive_seed.
//
// Statistical checks use fixed seeds, so they are deterministic; their bounds are stated in
// standard deviations of the estimator (6 sigma unless said otherwise), computed from the
// exact distribution, so a correct generator passes them with overwhelming margin.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "ecco/rng.hpp"

namespace {

constexpr int kDraws = 100000;
constexpr double kDrawsD = 100000.0;

const std::vector<ecco::SeedPurpose>& all_purposes() {
  static const std::vector<ecco::SeedPurpose> purposes = {
      ecco::SeedPurpose::initial_point, ecco::SeedPurpose::compressor,      ecco::SeedPurpose::minibatch,
      ecco::SeedPurpose::participation, ecco::SeedPurpose::data_generation, ecco::SeedPurpose::data_split,
      ecco::SeedPurpose::model_init,
  };
  return purposes;
}

// ---------------------------------------------------------------------------------------
// Determinism

TEST(RngDeterminism, SameSeedSameStream) {
  ecco::Rng a(42);
  ecco::Rng b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next_u64(), b.next_u64()) << i;
  // Mixed calls, including the cached second Box-Muller output, stay in lockstep.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(a.uniform(), b.uniform()) << i;
    ASSERT_EQ(a.uniform_index(97), b.uniform_index(97)) << i;
    ASSERT_EQ(a.normal(), b.normal()) << i;
  }
}

TEST(RngDeterminism, DefaultSeedIsZero) {
  ecco::Rng a;
  ecco::Rng b(0);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.next_u64(), b.next_u64()) << i;
}

TEST(RngDeterminism, DifferentSeedsGiveDifferentStreams) {
  const std::vector<std::uint64_t> seeds = {0, 1, 2, 3, 42, 0x9E3779B97F4A7C15ULL, ~std::uint64_t{0}};
  std::vector<std::vector<std::uint64_t>> streams;
  for (std::uint64_t seed : seeds) {
    ecco::Rng rng(seed);
    std::vector<std::uint64_t> stream(64);
    for (auto& x : stream) x = rng.next_u64();
    streams.push_back(stream);
  }
  for (std::size_t i = 0; i < streams.size(); ++i) {
    for (std::size_t j = i + 1; j < streams.size(); ++j) {
      // Two independent 64-bit streams agree at a given position with probability 2^-64.
      for (std::size_t k = 0; k < 64; ++k) {
        EXPECT_NE(streams[i][k], streams[j][k]) << "seeds " << seeds[i] << " and " << seeds[j] << " at " << k;
      }
    }
  }
}

TEST(RngDeterminism, StreamDoesNotRepeatQuickly) {
  // Even seed 0 must not give a degenerate (e.g. all-zero) state.
  for (std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{1}}) {
    ecco::Rng rng(seed);
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 10000; ++i) seen.insert(rng.next_u64());
    EXPECT_EQ(seen.size(), 10000U) << "seed " << seed;
  }
}

TEST(RngDeterminism, BitsAreBalanced) {
  // Each of the 64 output bits is 1 with probability 1/2: count over 1e5 draws has
  // sd sqrt(1e5 / 4) ~ 158; allow 6 sd.
  ecco::Rng rng(7);
  std::vector<double> ones(64, 0.0);
  for (int i = 0; i < kDraws; ++i) {
    const std::uint64_t x = rng.next_u64();
    for (std::size_t b = 0; b < 64; ++b) ones[b] += static_cast<double>((x >> b) & 1U);
  }
  const double sd = std::sqrt(kDrawsD / 4.0);
  for (std::size_t b = 0; b < 64; ++b) EXPECT_NEAR(ones[b], kDrawsD / 2.0, 6.0 * sd) << "bit " << b;
}

// ---------------------------------------------------------------------------------------
// derive_seed

TEST(RngDeriveSeed, IsAFunctionOfItsArguments) {
  EXPECT_EQ(ecco::derive_seed(1, 2, ecco::SeedPurpose::compressor), ecco::derive_seed(1, 2, ecco::SeedPurpose::compressor));
  EXPECT_EQ(ecco::derive_seed(9, ecco::kNoClient, ecco::SeedPurpose::data_generation),
            ecco::derive_seed(9, ecco::kNoClient, ecco::SeedPurpose::data_generation));
}

TEST(RngDeriveSeed, DistinctAcrossSeedClientAndPurpose) {
  const std::vector<std::uint64_t> seeds = {0, 1, 2, 3, 42, 1000, ~std::uint64_t{0}};
  const std::vector<std::uint64_t> clients = {0, 1, 2, 3, 42, 999, 1000, ecco::kNoClient};
  std::set<std::uint64_t> derived;
  std::size_t count = 0;
  for (std::uint64_t seed : seeds) {
    for (std::uint64_t client : clients) {
      for (ecco::SeedPurpose purpose : all_purposes()) {
        derived.insert(ecco::derive_seed(seed, client, purpose));
        ++count;
      }
    }
  }
  // Includes swapped pairs such as (seed 1, client 2) vs (seed 2, client 1), and client ids
  // equal to purpose values.
  EXPECT_EQ(derived.size(), count);
  EXPECT_EQ(count, seeds.size() * clients.size() * all_purposes().size());
}

TEST(RngDeriveSeed, DerivedSeedIsNotAnInput) {
  // A mixer, not an identity: the result does not equal the raw global seed or client.
  for (std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{42}}) {
    for (ecco::SeedPurpose purpose : all_purposes()) {
      const std::uint64_t s = ecco::derive_seed(seed, 0, purpose);
      EXPECT_NE(s, seed);
      EXPECT_NE(s, static_cast<std::uint64_t>(purpose));
    }
  }
}

TEST(RngDeriveSeed, ClientStreamsDiffer) {
  ecco::Rng a(ecco::derive_seed(5, 0, ecco::SeedPurpose::compressor));
  ecco::Rng b(ecco::derive_seed(5, 1, ecco::SeedPurpose::compressor));
  ecco::Rng c(ecco::derive_seed(5, 0, ecco::SeedPurpose::minibatch));
  int equal_ab = 0;
  int equal_ac = 0;
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.next_u64();
    equal_ab += x == b.next_u64() ? 1 : 0;
    equal_ac += x == c.next_u64() ? 1 : 0;
  }
  EXPECT_EQ(equal_ab, 0);
  EXPECT_EQ(equal_ac, 0);
}

// ---------------------------------------------------------------------------------------
// uniform()

TEST(RngUniform, InHalfOpenUnitIntervalWith53Bits) {
  ecco::Rng rng(11);
  for (int i = 0; i < kDraws; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0) << i;
    ASSERT_LT(u, 1.0) << i;
    // 53 random bits: u * 2^53 is an integer.
    const double scaled = std::ldexp(u, 53);
    ASSERT_EQ(scaled, std::floor(scaled)) << i;
  }
}

TEST(RngUniform, MeanVarianceAndSerialCorrelation) {
  // U[0,1): mean 1/2, variance 1/12, E[(u-1/2)^2] = 1/12 with variance 1/80 - 1/144 = 1/180,
  // consecutive products (u_i-1/2)(u_{i+1}-1/2) mean 0 with variance ~ 1/144.
  ecco::Rng rng(12);
  double sum = 0.0;
  double sum_sq = 0.0;
  double sum_lag = 0.0;
  double below_quarter = 0.0;
  double previous = rng.uniform() - 0.5;
  for (int i = 0; i < kDraws; ++i) {
    const double u = rng.uniform();
    const double c = u - 0.5;
    sum += u;
    sum_sq += c * c;
    sum_lag += c * previous;
    below_quarter += u < 0.25 ? 1.0 : 0.0;
    previous = c;
  }
  const double mean_sd = std::sqrt(1.0 / 12.0 / kDrawsD);  // ~0.000913
  EXPECT_NEAR(sum / kDrawsD, 0.5, 6.0 * mean_sd);
  EXPECT_NEAR(sum_sq / kDrawsD, 1.0 / 12.0, 6.0 * std::sqrt(1.0 / 180.0 / kDrawsD));
  EXPECT_NEAR(sum_lag / kDrawsD, 0.0, 6.0 * std::sqrt(1.0 / 144.0 / kDrawsD));
  // P(u < 1/4) = 1/4, binomial sd sqrt(p(1-p)/N).
  EXPECT_NEAR(below_quarter / kDrawsD, 0.25, 6.0 * std::sqrt(0.25 * 0.75 / kDrawsD));
}

// ---------------------------------------------------------------------------------------
// uniform_index()

TEST(RngUniformIndex, BoundIsRespected) {
  ecco::Rng rng(21);
  for (std::uint64_t bound : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{7},
                              std::uint64_t{10}, std::uint64_t{1000}, (std::uint64_t{1} << 32) + 1,
                              (std::uint64_t{1} << 63) + 1, ~std::uint64_t{0}}) {
    for (int i = 0; i < 10000; ++i) ASSERT_LT(rng.uniform_index(bound), bound) << "bound " << bound;
  }
}

TEST(RngUniformIndex, BoundOneIsAlwaysZero) {
  ecco::Rng rng(22);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(rng.uniform_index(1), 0U);
}

TEST(RngUniformIndex, EveryValueOfASmallBoundOccurs) {
  ecco::Rng rng(23);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(rng.uniform_index(50));
  EXPECT_EQ(seen.size(), 50U);
}

// Pearson chi-square statistic of kDraws draws of uniform_index(bound).
double chi_square(std::uint64_t seed, std::uint64_t bound) {
  ecco::Rng rng(seed);
  std::vector<double> counts(static_cast<std::size_t>(bound), 0.0);
  for (int i = 0; i < kDraws; ++i) counts[static_cast<std::size_t>(rng.uniform_index(bound))] += 1.0;
  const double expected = kDrawsD / static_cast<double>(bound);
  double chi2 = 0.0;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}

TEST(RngUniformIndex, RoughlyUniformChiSquare) {
  // Chi-square with k - 1 degrees of freedom has mean k - 1 and sd sqrt(2 (k - 1)).
  // Thresholds are about 12 sd above the mean (p far below 1e-9).
  EXPECT_LT(chi_square(31, 10), 9.0 + 12.0 * std::sqrt(18.0));     // 9 dof: < ~60
  EXPECT_LT(chi_square(32, 17), 16.0 + 12.0 * std::sqrt(32.0));    // 16 dof: < ~84
  EXPECT_LT(chi_square(33, 100), 99.0 + 12.0 * std::sqrt(198.0));  // 99 dof: < ~268
}

TEST(RngUniformIndex, NoModuloBiasForAHugeBound) {
  // bound = 3 * 2^62: exactly uniform draws fall below 2^62 with probability 1/3; a plain
  // next_u64() % bound would fall there with probability 1/2.
  const std::uint64_t bound = std::uint64_t{3} << 62;
  const std::uint64_t third = std::uint64_t{1} << 62;
  ecco::Rng rng(34);
  double low = 0.0;
  for (int i = 0; i < kDraws; ++i) low += rng.uniform_index(bound) < third ? 1.0 : 0.0;
  EXPECT_NEAR(low / kDrawsD, 1.0 / 3.0, 6.0 * std::sqrt((1.0 / 3.0) * (2.0 / 3.0) / kDrawsD));
}

// ---------------------------------------------------------------------------------------
// normal()

TEST(RngNormal, MomentsMatchStandardNormal) {
  // N(0,1): mean 0 (sd of the estimate 1/sqrt(N)), E[x^2] = 1 (variance of x^2 is 2),
  // E[x^4] = 3 (variance of x^4 is 105 - 9 = 96), P(|x| < 1) = erf(1/sqrt 2).
  ecco::Rng rng(41);
  double sum = 0.0;
  double sum_sq = 0.0;
  double sum_4 = 0.0;
  double within_one = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double x = rng.normal();
    ASSERT_TRUE(std::isfinite(x)) << i;
    sum += x;
    sum_sq += x * x;
    sum_4 += x * x * x * x;
    within_one += std::abs(x) < 1.0 ? 1.0 : 0.0;
  }
  const double mean = sum / kDrawsD;
  const double variance = sum_sq / kDrawsD - mean * mean;
  EXPECT_NEAR(mean, 0.0, 6.0 / std::sqrt(kDrawsD));                   // ~0.019
  EXPECT_NEAR(variance, 1.0, 6.0 * std::sqrt(2.0 / kDrawsD));          // ~0.027
  EXPECT_NEAR(sum_4 / kDrawsD, 3.0, 6.0 * std::sqrt(96.0 / kDrawsD));  // ~0.19
  const double p = std::erf(1.0 / std::sqrt(2.0));                     // 0.6827
  EXPECT_NEAR(within_one / kDrawsD, p, 6.0 * std::sqrt(p * (1.0 - p) / kDrawsD));
}

TEST(RngNormal, ConsecutivePairsAreUncorrelated) {
  // Box-Muller returns its two outputs in turn; they must be independent: the mean of
  // x_{2k} x_{2k+1} is 0 with variance 1 per pair. Also across pairs.
  ecco::Rng rng(42);
  double within = 0.0;
  double across = 0.0;
  double previous_second = 0.0;  // a fresh Rng starts a new pair on its first call
  for (int i = 0; i < kDraws; ++i) {
    const double first = rng.normal();
    const double second = rng.normal();
    within += first * second;
    across += previous_second * first;
    previous_second = second;
  }
  EXPECT_NEAR(within / kDrawsD, 0.0, 6.0 / std::sqrt(kDrawsD));
  EXPECT_NEAR(across / kDrawsD, 0.0, 6.0 / std::sqrt(kDrawsD));
}

TEST(RngNormal, SymmetricAboutZero) {
  ecco::Rng rng(43);
  double positive = 0.0;
  for (int i = 0; i < kDraws; ++i) positive += rng.normal() > 0.0 ? 1.0 : 0.0;
  EXPECT_NEAR(positive / kDrawsD, 0.5, 6.0 * std::sqrt(0.25 / kDrawsD));
}

// ---------------------------------------------------------------------------------------
// UniformBlocks: eight xoshiro256** lanes, draw t from lane t mod 8

// The documented sequence written with the scalar Rng: lane l is Rng(key + l C).
std::vector<double> documented_draws(std::uint64_t key, std::size_t n) {
  std::vector<ecco::Rng> lanes;
  for (std::uint64_t l = 0; l < 8; ++l) lanes.emplace_back(key + l * 0xD1B54A32D192ED03ULL);
  std::vector<double> out(n);
  for (std::size_t t = 0; t < n; ++t) out[t] = static_cast<double>(lanes[t % 8].next_u64() >> 12) * 0x1p-52;
  return out;
}

TEST(UniformBlocks, FollowsTheDocumentedSequenceWhateverTheBlockSizes) {
  for (const std::uint64_t key : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0x9E3779B97F4A7C15ULL}, ~std::uint64_t{0}}) {
    const std::vector<double> expected = documented_draws(key, 1000);
    // Blocks that are multiples of 8, then a partial last block.
    for (const std::size_t block : {std::size_t{8}, std::size_t{64}, std::size_t{256}}) {
      ecco::UniformBlocks draws(key);
      std::vector<double> got(1000);
      for (std::size_t first = 0; first < got.size(); first += block) {
        draws.fill(got.data() + first, std::min(block, got.size() - first));
      }
      ASSERT_EQ(got, expected) << "key " << key << " block " << block;
    }
  }
}

TEST(UniformBlocks, DrawsAreUniformOnTheUnitInterval) {
  // Mean 1/2 (variance 1/12 per draw), second moment 1/3 (variance 4/45), and the lag-1
  // product mean 1/4 (neighbouring draws come from different lanes), within 6 sigma.
  ecco::UniformBlocks draws(12345);
  std::vector<double> u(kDraws);
  draws.fill(u.data(), u.size());
  double sum = 0.0;
  double sum_sq = 0.0;
  double lag = 0.0;
  for (std::size_t t = 0; t < u.size(); ++t) {
    ASSERT_GE(u[t], 0.0);
    ASSERT_LT(u[t], 1.0);
    sum += u[t];
    sum_sq += u[t] * u[t];
    if (t > 0) lag += u[t] * u[t - 1];
  }
  EXPECT_NEAR(sum / kDrawsD, 0.5, 6.0 * std::sqrt(1.0 / 12.0 / kDrawsD));
  EXPECT_NEAR(sum_sq / kDrawsD, 1.0 / 3.0, 6.0 * std::sqrt(4.0 / 45.0 / kDrawsD));
  // Var(u_t u_{t-1}) = 1/9 - 1/16 = 7/144.
  EXPECT_NEAR(lag / (kDrawsD - 1.0), 0.25, 6.0 * std::sqrt(7.0 / 144.0 / kDrawsD));
}

TEST(UniformBlocks, DifferentKeysGiveDifferentDraws) {
  ecco::UniformBlocks a(7);
  ecco::UniformBlocks b(8);
  std::vector<double> ua(64);
  std::vector<double> ub(64);
  a.fill(ua.data(), ua.size());
  b.fill(ub.data(), ub.size());
  int equal = 0;
  for (std::size_t t = 0; t < ua.size(); ++t) equal += ua[t] == ub[t] ? 1 : 0;
  EXPECT_EQ(equal, 0);
}

}  // namespace
