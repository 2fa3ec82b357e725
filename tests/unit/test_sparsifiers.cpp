// randk, bernoulli and TopK's fast path against independent references:
//  * randk: the coordinates are Floyd's sample (wire_reference.hpp) of the seed drawn first
//    from the stream; each coordinate is kept with frequency K/d; the unscaled error is
//    exactly ||x||^2 - ||x_S||^2 with mean (1 - K/d) ||x||^2, the scaled one has mean
//    (d/K - 1) ||x||^2;
//  * bernoulli: x/p with frequency p;
//  * TopK above the sampling threshold (d >= 2^15), on generic, tied, sorted, periodic and
//    sparse inputs, equals a full stable sort.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"
#include "wire_reference.hpp"

namespace {

using ecco::CompressorClass;
using ecco::CompressorWorkspace;
using ecco::Message;
using ecco::Rng;

Eigen::Index idx(std::size_t j) { return static_cast<Eigen::Index>(j); }

Message compress(const std::string& spec, const Eigen::VectorXd& x, std::uint64_t seed,
                 CompressorWorkspace* workspace = nullptr) {
  const auto c = ecco::make_compressor(spec);
  Rng rng(seed);
  CompressorWorkspace local;
  Message out;
  c->compress(x, rng, workspace != nullptr ? *workspace : local, out);
  return out;
}

Eigen::VectorXd normal_vector(std::size_t d, Rng& rng) {
  Eigen::VectorXd x(idx(d));
  for (std::size_t j = 0; j < d; ++j) x[idx(j)] = rng.normal();
  return x;
}

// ---------------------------------------------------------------------------------------
// RandK

TEST(RandK, CoordinatesAreFloydsSampleOfTheFirstDraw) {
  Rng data(1);
  for (const std::size_t d : {1U, 10U, 1000U, 100000U}) {
    const Eigen::VectorXd x = normal_vector(d, data);
    for (const std::string k : {"1", "3", "0.1", "0.5"}) {
      for (const bool scaled : {false, true}) {
        for (const bool shared : {false, true}) {
          const std::string spec = "randk:k=" + k + ",scaled=" + (scaled ? "true" : "false") +
                                   ",shared_seed=" + (shared ? "true" : "false");
          const Message m = compress(spec, x, 5);
          Rng rng(5);
          const std::uint64_t seed = rng.next_u64();
          const double kd = std::stod(k);
          const std::size_t kept = kd >= 1 ? std::min<std::size_t>(static_cast<std::size_t>(kd), d)
                                           : std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(kd * static_cast<double>(d))));
          const auto expected = wire_ref::floyd_sample(seed, static_cast<std::uint32_t>(d), static_cast<std::uint32_t>(kept));
          ASSERT_EQ(m.indices, expected) << spec << " d=" << d;
          EXPECT_EQ(m.seeded, shared);
          if (shared) {
            EXPECT_EQ(m.seed, seed);
          }
          const double factor = scaled ? static_cast<double>(d) / static_cast<double>(kept) : 1.0;
          for (std::size_t i = 0; i < kept; ++i) EXPECT_EQ(m.values[i], factor * x[idx(expected[i])]);
        }
      }
    }
  }
}

TEST(RandK, InclusionFrequencyAndErrorMoments) {
  Rng data(2);
  const std::size_t d = 12;
  const std::size_t k = 4;
  const Eigen::VectorXd x = normal_vector(d, data);
  const int n = 20000;
  std::vector<int> kept(d, 0);
  double sum_unscaled = 0.0;
  double sum_sq_unscaled = 0.0;
  double sum_scaled = 0.0;
  double sum_sq_scaled = 0.0;
  for (int i = 0; i < n; ++i) {
    const auto seed = static_cast<std::uint64_t>(i) + 1;
    const Message m = compress("randk:k=4", x, seed);
    double kept_sq = 0.0;
    for (std::size_t c = 0; c < m.indices.size(); ++c) {
      ++kept[m.indices[c]];
      kept_sq += x[idx(m.indices[c])] * x[idx(m.indices[c])];
    }
    Eigen::VectorXd cx(idx(d));
    m.assign_to(cx);
    const double e = (cx - x).squaredNorm();
    EXPECT_NEAR(e, x.squaredNorm() - kept_sq, 1e-12 * x.squaredNorm());
    sum_unscaled += e;
    sum_sq_unscaled += e * e;
    compress("randk:k=4,scaled=true", x, seed).assign_to(cx);
    const double es = (cx - x).squaredNorm();
    sum_scaled += es;
    sum_sq_scaled += es * es;
  }
  for (std::size_t j = 0; j < d; ++j) {
    const double p = static_cast<double>(k) / d;
    EXPECT_NEAR(static_cast<double>(kept[j]) / n, p, 6.0 * std::sqrt(p * (1 - p) / n)) << "j=" << j;
  }
  const auto check = [&](double sum, double sum_sq, double expected) {
    const double mean = sum / n;
    EXPECT_NEAR(mean, expected, 6.0 * std::sqrt((sum_sq / n - mean * mean) / (n - 1)));
  };
  check(sum_unscaled, sum_sq_unscaled, (1.0 - 4.0 / 12.0) * x.squaredNorm());
  check(sum_scaled, sum_sq_scaled, (12.0 / 4.0 - 1.0) * x.squaredNorm());
}

TEST(RandK, TraitsAndBits) {
  const auto unscaled = ecco::make_compressor("randk:k=10")->traits(1000);
  EXPECT_EQ(unscaled.kind, CompressorClass::contractive);
  EXPECT_EQ(unscaled.alpha, 0.01);
  EXPECT_EQ(unscaled.bits, 10 * (32.0 + 10.0));
  const auto scaled = ecco::make_compressor("randk:k=10,scaled=true")->traits(1000);
  EXPECT_EQ(scaled.kind, CompressorClass::unbiased);
  EXPECT_EQ(scaled.omega, 99.0);
  const auto shared = ecco::make_compressor("randk:k=10,shared_seed=true")->traits(1000);
  EXPECT_EQ(shared.index_bits, 64.0);
  EXPECT_EQ(shared.bits, 320.0 + 64.0);
  EXPECT_EQ(ecco::make_compressor("randk:k=0.5")->spec(), "randk:k=0.5,scaled=false,shared_seed=false,coords=client");
  // coords=common: the seed travels; only that variant may be summed without indices.
  const auto common = ecco::make_compressor("randk:k=10,coords=common");
  EXPECT_EQ(common->spec(), "randk:k=10,scaled=false,shared_seed=true,coords=common");
  EXPECT_EQ(common->traits(1000).bits, 320.0 + 64.0);
  EXPECT_TRUE(common->common_stream());
  EXPECT_TRUE(common->summable());
  EXPECT_FALSE(ecco::make_compressor("randk:k=10,shared_seed=true")->summable());
  EXPECT_FALSE(ecco::make_compressor("randk:k=10,coords=common+qsgd:s=4")->summable());
  EXPECT_TRUE(ecco::make_compressor("randk:k=10,coords=common+qsgd:s=4")->common_stream());
  EXPECT_TRUE(ecco::make_compressor("contractive(randk:k=10,scaled=true,coords=common)")->summable());
  EXPECT_TRUE(ecco::make_compressor("identity")->summable());
  EXPECT_FALSE(ecco::make_compressor("topk:k=10")->summable());
  for (const char* bad : {"randk", "randk:k=0", "randk:k=-2", "randk:k=2.5", "randk:k=3,scaled=maybe",
                          "randk:k=3,shared=true", "randk:k=3,coords=shared"}) {
    EXPECT_THROW(ecco::make_compressor(bad), ecco::ConfigError) << bad;
  }
}

TEST(RandK, SharedSeedMessagesDecodeWithoutTheCompressor) {
  Rng data(3);
  const Eigen::VectorXd x = normal_vector(100000, data);
  const Message m = compress("randk:k=0.01,shared_seed=true", x, 8);
  std::vector<std::byte> bytes;
  const ecco::EncodedSize size = ecco::encode(m, ecco::ValueFormat::fp32, bytes);
  EXPECT_EQ(size.index_codec, ecco::IndexCodec::seed);
  EXPECT_EQ(size.index, 8U);
  EXPECT_EQ(size.value, 4U * 1000U);
  Message decoded;
  ecco::decode(bytes, 100000, decoded);
  EXPECT_EQ(decoded.indices, m.indices);
}

// ---------------------------------------------------------------------------------------
// Bernoulli

TEST(Bernoulli, SendsXOverPWithProbabilityP) {
  Rng data(4);
  const Eigen::VectorXd x = normal_vector(6, data);
  const int n = 20000;
  int sent = 0;
  for (int i = 0; i < n; ++i) {
    const Message m = compress("bernoulli:p=0.3", x, static_cast<std::uint64_t>(i));
    Rng rng(static_cast<std::uint64_t>(i));
    const bool expected = rng.uniform() < 0.3;
    ASSERT_EQ(m.layout == ecco::Layout::dense, expected);
    if (expected) {
      ++sent;
      for (std::size_t j = 0; j < 6; ++j) EXPECT_EQ(m.values[j], x[idx(j)] / 0.3);
    } else {
      EXPECT_EQ(m.count(), 0U);
    }
  }
  EXPECT_NEAR(static_cast<double>(sent) / n, 0.3, 6.0 * std::sqrt(0.3 * 0.7 / n));
  const auto t = ecco::make_compressor("bernoulli:p=0.25")->traits(100);
  EXPECT_EQ(t.omega, 3.0);
  EXPECT_EQ(t.bits, 32.0 * 100 * 0.25);
  for (const char* bad : {"bernoulli", "bernoulli:p=0", "bernoulli:p=1.5", "bernoulli:p=-0.1"}) {
    EXPECT_THROW(ecco::make_compressor(bad), ecco::ConfigError) << bad;
  }
}

// ---------------------------------------------------------------------------------------
// TopK above the sampling threshold

std::vector<std::uint32_t> reference_topk(const Eigen::VectorXd& x, std::size_t k) {
  std::vector<std::uint32_t> order(static_cast<std::size_t>(x.size()));
  std::iota(order.begin(), order.end(), std::uint32_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&x](std::uint32_t a, std::uint32_t b) { return std::fabs(x[a]) > std::fabs(x[b]); });
  order.resize(std::min(k, order.size()));
  std::sort(order.begin(), order.end());
  return order;
}

TEST(TopKLarge, MatchesTheFullSortOnHardInputs) {
  Rng data(5);
  const std::size_t d = 70000;
  std::vector<std::pair<std::string, Eigen::VectorXd>> inputs;
  inputs.emplace_back("normal", normal_vector(d, data));
  {
    Eigen::VectorXd v(idx(d));
    for (std::size_t j = 0; j < d; ++j) v[idx(j)] = static_cast<double>(data.uniform_index(7)) - 3.0;  // ties
    inputs.emplace_back("small integers", v);
  }
  {
    Eigen::VectorXd v(idx(d));
    for (std::size_t j = 0; j < d; ++j) v[idx(j)] = static_cast<double>(j);  // sorted ascending
    inputs.emplace_back("ascending", v);
    inputs.emplace_back("descending", v.reverse().eval());
  }
  {
    // Large values exactly at the sampled positions, small elsewhere: the sample overestimates.
    Eigen::VectorXd v = Eigen::VectorXd::Constant(idx(d), 1.0);
    for (std::size_t i = 0; i < (std::size_t{1} << 14); ++i) v[idx(i * d / (std::size_t{1} << 14))] = 100.0;
    inputs.emplace_back("sample-aligned spikes", v);
    // And the opposite: the sample sees only small values.
    Eigen::VectorXd w = Eigen::VectorXd::Constant(idx(d), 100.0);
    for (std::size_t i = 0; i < (std::size_t{1} << 14); ++i) w[idx(i * d / (std::size_t{1} << 14))] = 1.0;
    inputs.emplace_back("sample-aligned dips", w);
  }
  {
    Eigen::VectorXd v = Eigen::VectorXd::Zero(idx(d));
    for (int i = 0; i < 50; ++i) v[idx(data.uniform_index(d))] = data.normal();  // fewer non-zeros than K
    inputs.emplace_back("sparse", v);
  }
  inputs.emplace_back("constant", Eigen::VectorXd::Constant(idx(d), -2.0));
  CompressorWorkspace workspace;  // reused across calls
  for (const auto& [name, x] : inputs) {
    for (const std::size_t k : {std::size_t{1}, std::size_t{7}, std::size_t{700}, std::size_t{7000}, std::size_t{17000}}) {
      SCOPED_TRACE(name + " k=" + std::to_string(k));
      const Message m = compress("topk:k=" + std::to_string(k), x, 1, &workspace);
      ASSERT_EQ(m.indices, reference_topk(x, k));
      for (std::size_t i = 0; i < m.indices.size(); ++i) ASSERT_EQ(m.values[i], x[idx(m.indices[i])]);
    }
  }
}

TEST(TopKLarge, NonFiniteAnywhereIsANumericError) {
  Rng data(6);
  const std::size_t d = 50000;
  for (const double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    for (const std::size_t pos : {std::size_t{0}, std::size_t{3}, d / 2, d - 1}) {
      Eigen::VectorXd x = normal_vector(d, data);
      x[idx(pos)] = bad;
      try {
        compress("topk:k=100", x, 1);
        ADD_FAILURE() << "accepted a non-finite value at " << pos;
      } catch (const ecco::NumericError& e) {
        EXPECT_NE(std::string(e.what()).find(std::to_string(pos)), std::string::npos) << e.what();
      }
    }
  }
}

}  // namespace
