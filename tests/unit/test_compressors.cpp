// Properties of every registered compressor, parameterised over a list of specs that must
// cover every name of compressor_table() (Coverage.EveryRegistryNameHasCases): a new
// compressor is tested by adding its specs to kSpecs.
//
// The bounds come from the definitions (ALGORITHMS.md section 2), never from the code under
// test, except that each compressor's declared traits are what is checked:
//  * contraction E||C(x) - x||^2 <= (1 - alpha) ||x||^2: exact for deterministic compressors
//    (relative slack 1e-12 for rounding), else a Monte Carlo mean over N draws checked
//    against the bound plus 5 standard errors (one-sided; a false failure has probability
//    below 3e-7 per check under the central limit theorem);
//  * unbiasedness: every coordinate's sample mean within 6 standard errors of x_j (two-sided,
//    2e-9 per coordinate), the standard error bounded through the declared omega (a coarse,
//    sound check for every compressor; test_quantisers.cpp checks the exact distributions);
//  * declared omega: E||C(x) - x||^2 <= omega ||x||^2, same Monte Carlo rule as contraction;
//  * positive homogeneity where declared: C(t x) == t C(x) bit for bit for powers of two t
//    (same random stream), and within a relative 1e-6 for t = 3 and 0.1;
//  * round trip through every wire format equals the client's round_to_wire copy bit for bit;
//  * the theoretical bits against the encoded size;
//  * edge cases: d = 1, zero and constant vectors, NaN / inf (NumericError).
// All streams are seeded, so every run sees the same draws.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"

namespace {

using ecco::CompressorClass;
using ecco::CompressorTraits;
using ecco::CompressorWorkspace;
using ecco::Message;
using ecco::Rng;
using ecco::ValueFormat;

const std::vector<std::string> kSpecs = {
    "identity",
    "topk:k=3",
    "topk:k=0.3",
    "randk:k=3",
    "randk:k=3,scaled=true",
    "randk:k=0.25,shared_seed=true",
    "randk:k=4,scaled=true,shared_seed=true",
    "bernoulli:p=0.3",
    "bernoulli:p=1",
    "natural",
    "qsgd:s=4",
    "qsgd:s=1",
    "qsgd:s=2,norm=inf",
    "natural_dithering:s=3",
    "natural_dithering:s=6,norm=inf",
    "terngrad",
    "sign",
    "onebit",
    "lowrank:r=2",
    "lowrank:r=1,rows=3",
    "topk:k=4+qsgd:s=8",
    "topk:k=3+natural",
    "topk:k=4+sign",
    "topk:k=4+onebit",
    "randk:k=5+sign",
    "randk:k=5,scaled=true+qsgd:s=4",
    "randk:k=0.5,shared_seed=true+natural_dithering:s=4",
    "identity+terngrad",
    "contractive(qsgd:s=4)",
    "contractive(natural)",
    "contractive(terngrad)",
    "contractive(natural_dithering:s=2)",
    "contractive(bernoulli:p=0.5)",
    "contractive(randk:k=3,scaled=true)",
    "contractive(topk:k=4+qsgd:s=2)",
    "contractive(randk:k=0.5+natural_dithering:s=4)",
    "contractive(randk:k=5,scaled=true+qsgd:s=4)",
};

constexpr std::size_t kDims[] = {1, 2, 5, 13, 40};

Eigen::Index idx(std::size_t j) { return static_cast<Eigen::Index>(j); }

// Test vectors of dimension d: generic, heavy-tailed, with zeros, constant, one-hot, and
// the extremal vector (1, e, ..., e), e = 1 / (1 + sqrt(d)) of TernGrad's variance.
std::vector<Eigen::VectorXd> test_vectors(std::size_t d, Rng& rng) {
  std::vector<Eigen::VectorXd> out;
  Eigen::VectorXd v(idx(d));
  for (std::size_t j = 0; j < d; ++j) v[idx(j)] = rng.normal();
  out.push_back(v);
  for (std::size_t j = 0; j < d; ++j) v[idx(j)] = rng.normal() * std::exp(3.0 * rng.normal());
  out.push_back(v);
  for (std::size_t j = 0; j < d; ++j) v[idx(j)] = rng.uniform_index(3) == 0 ? rng.normal() : 0.0;
  if (v.squaredNorm() == 0.0) v[0] = 1.5;
  out.push_back(v);
  out.push_back(Eigen::VectorXd::Constant(idx(d), -0.7));
  v.setZero();
  v[idx(d / 2)] = 3.25;
  out.push_back(v);
  v.setConstant(1.0 / (1.0 + std::sqrt(static_cast<double>(d))));
  v[0] = -1.0;
  out.push_back(v);
  return out;
}

Eigen::VectorXd dense_of(const Message& m) {
  Eigen::VectorXd y(idx(m.dim));
  m.assign_to(y);
  return y;
}

struct Run {
  std::unique_ptr<ecco::Compressor> compressor;
  CompressorWorkspace workspace;
  Message out;
};

Eigen::VectorXd compress_dense(const ecco::Compressor& c, const Eigen::VectorXd& x, std::uint64_t seed) {
  Rng rng(seed);
  CompressorWorkspace ws;
  Message out;
  c.compress(x, rng, ws, out);
  return dense_of(out);
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name;
  for (const char c : info.param) name += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
  return name + "_" + std::to_string(info.index);
}

class CompressorProperties : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<ecco::Compressor> make() const { return ecco::make_compressor(GetParam()); }
};

TEST_P(CompressorProperties, CanonicalSpecRebuildsAnEquivalentCompressor) {
  const auto c = make();
  const auto again = ecco::make_compressor(c->spec());
  EXPECT_EQ(again->spec(), c->spec());
  Rng data(5);
  const Eigen::VectorXd x = test_vectors(13, data)[0];
  EXPECT_EQ(compress_dense(*c, x, 9), compress_dense(*again, x, 9));
}

TEST_P(CompressorProperties, TraitsAreConsistent) {
  const auto c = make();
  for (const std::size_t d : kDims) {
    SCOPED_TRACE("d=" + std::to_string(d));
    const CompressorTraits t = c->traits(d);
    switch (t.kind) {
      case CompressorClass::contractive:
        EXPECT_GT(t.alpha, 0.0);
        EXPECT_LE(t.alpha, 1.0);
        EXPECT_EQ(t.omega, 0.0);
        break;
      case CompressorClass::unbiased:
        EXPECT_GE(t.omega, 0.0);
        EXPECT_EQ(t.alpha, 0.0);
        break;
      case CompressorClass::biased:
        EXPECT_EQ(t.alpha, 0.0);
        EXPECT_EQ(t.omega, 0.0);
        break;
    }
    EXPECT_GT(t.bits, 0.0);
    EXPECT_GE(t.index_bits, 0.0);
    EXPECT_LE(t.index_bits, t.bits);
  }
}

// The Monte Carlo and exact checks of contraction, unbiasedness and omega.
TEST_P(CompressorProperties, DeclaredClassHoldsOnTestVectors) {
  const auto c = make();
  Rng data(11);
  for (const std::size_t d : kDims) {
    const CompressorTraits t = c->traits(d);
    for (const Eigen::VectorXd& x : test_vectors(d, data)) {
      SCOPED_TRACE("d=" + std::to_string(d) + " x=" + ::testing::PrintToString(std::vector<double>(x.data(), x.data() + x.size())));
      const double norm_sq = x.squaredNorm();
      const int draws = t.deterministic ? 1 : 2000;
      Eigen::VectorXd sum = Eigen::VectorXd::Zero(idx(d));
      Eigen::VectorXd sum_sq = Eigen::VectorXd::Zero(idx(d));
      double err_sum = 0.0;
      double err_sq_sum = 0.0;
      double err_max = 0.0;
      for (int i = 0; i < draws; ++i) {
        const Eigen::VectorXd cx = compress_dense(*c, x, 1000 + static_cast<std::uint64_t>(i));
        sum += cx;
        sum_sq += cx.cwiseProduct(cx);
        const double z = (cx - x).squaredNorm() / norm_sq;
        err_sum += z;
        err_sq_sum += z * z;
        err_max = std::max(err_max, z);
      }
      const double n = draws;
      const double mean_err = err_sum / n;
      const double se_err = draws > 1 ? std::sqrt(std::max(0.0, err_sq_sum / n - mean_err * mean_err) / (n - 1)) : 0.0;
      switch (t.kind) {
        case CompressorClass::contractive:
          EXPECT_LE(mean_err, (1.0 - t.alpha) * (1.0 + 1e-12) + 5.0 * se_err + 1e-15) << "contraction";
          break;
        case CompressorClass::unbiased: {
          EXPECT_LE(mean_err, t.omega * (1.0 + 1e-12) + 5.0 * se_err + 1e-15) << "omega";
          // Var(C_j) <= E||C(x) - x||^2 <= omega ||x||^2, so sqrt(omega ||x||^2 / N) bounds the
          // standard error of every coordinate's mean. (A sample variance alone is not enough:
          // a level reached with probability 1e-5 is usually never drawn.)
          const double se_bound = draws > 1 ? std::sqrt(t.omega * norm_sq / (n - 1)) : 0.0;
          for (std::size_t j = 0; j < d; ++j) {
            const double mean = sum[idx(j)] / n;
            const double var = std::max(0.0, sum_sq[idx(j)] / n - mean * mean);
            const double se = draws > 1 ? std::max(std::sqrt(var / (n - 1)), se_bound) : 0.0;
            EXPECT_LE(std::fabs(mean - x[idx(j)]), 6.0 * se + 1e-12 * std::fabs(x[idx(j)]) + 1e-300)
                << "coordinate " << j << " mean " << mean << " x " << x[idx(j)];
          }
          break;
        }
        case CompressorClass::biased:
          // No class guarantee; lowrank projects (error <= ||x||^2), onebit may exceed it.
          EXPECT_TRUE(std::isfinite(err_max));
          break;
      }
    }
  }
}

TEST_P(CompressorProperties, PositiveHomogeneityWhereDeclared) {
  const auto c = make();
  Rng data(12);
  for (const std::size_t d : {std::size_t{1}, std::size_t{5}, std::size_t{40}}) {
    if (!c->traits(d).positively_homogeneous) continue;
    for (const Eigen::VectorXd& x : test_vectors(d, data)) {
      for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        const Eigen::VectorXd base = compress_dense(*c, x, seed);
        for (const double t : {2.0, 0.5, 4096.0, 0x1p-20}) {
          const Eigen::VectorXd scaled = compress_dense(*c, (t * x).eval(), seed);
          for (std::size_t j = 0; j < d; ++j) {
            ASSERT_EQ(std::bit_cast<std::uint64_t>(scaled[idx(j)]), std::bit_cast<std::uint64_t>(t * base[idx(j)]))
                << "t=" << t << " j=" << j << " d=" << d;
          }
        }
        for (const double t : {3.0, 0.1}) {
          const Eigen::VectorXd scaled = compress_dense(*c, (t * x).eval(), seed);
          EXPECT_LE((scaled - t * base).norm(), 1e-6 * (t * base).norm() + 1e-300) << "t=" << t << " d=" << d;
        }
      }
    }
  }
}

TEST_P(CompressorProperties, SameSeedSameBitsAndWorkspaceReuseChangesNothing) {
  const auto c = make();
  Rng data(13);
  CompressorWorkspace shared;
  Message out;
  for (const std::size_t d : {std::size_t{40}, std::size_t{3}, std::size_t{1}, std::size_t{13}}) {
    for (const Eigen::VectorXd& x : test_vectors(d, data)) {
      const Eigen::VectorXd fresh = compress_dense(*c, x, 77);
      Rng rng(77);
      if (GetParam().rfind("lowrank", 0) == 0) shared = CompressorWorkspace{};  // the warm start is state
      c->compress(x, rng, shared, out);
      EXPECT_EQ(dense_of(out), fresh);
    }
  }
}

TEST_P(CompressorProperties, WireRoundTripEqualsTheClientCopyInEveryFormat) {
  const auto c = make();
  Rng data(14);
  for (const std::size_t d : kDims) {
    for (const Eigen::VectorXd& x : test_vectors(d, data)) {
      for (const ValueFormat f : {ValueFormat::fp32, ValueFormat::fp64, ValueFormat::bf16, ValueFormat::fp16}) {
        if (f == ValueFormat::fp16 && x.lpNorm<Eigen::Infinity>() > 100.0) continue;  // fp16 tops out at 65504
        Rng rng(15);
        CompressorWorkspace ws;
        Message client;
        c->compress(x, rng, ws, client);
        ecco::round_to_wire(client, f);
        std::vector<std::byte> bytes;
        const ecco::EncodedSize size = ecco::encode(client, f, bytes);
        ASSERT_EQ(size.total(), bytes.size());
        ASSERT_EQ(ecco::encoded_size(client, f).total(), bytes.size());
        Message server;
        ecco::decode(bytes, static_cast<std::uint32_t>(d), server);
        const Eigen::VectorXd a = dense_of(client);
        const Eigen::VectorXd b = dense_of(server);
        for (std::size_t j = 0; j < d; ++j) {
          ASSERT_EQ(std::bit_cast<std::uint64_t>(a[idx(j)] + 0.0), std::bit_cast<std::uint64_t>(b[idx(j)] + 0.0))
              << ecco::to_string(f) << " j=" << j;
        }
        // The server's accumulation equals the client's (the EF invariant).
        Eigen::VectorXd g_client = x;
        Eigen::VectorXd g_server = x;
        client.add_to(g_client, 0.5);
        server.add_to(g_server, 0.5);
        ASSERT_EQ(g_client, g_server);
      }
    }
  }
}

TEST_P(CompressorProperties, TheoreticalBitsAgainstEncodedSize) {
  const auto c = make();
  Rng data(16);
  for (const std::size_t d : {std::size_t{1}, std::size_t{13}, std::size_t{40}, std::size_t{1000}}) {
    Eigen::VectorXd x(idx(d));
    for (std::size_t j = 0; j < d; ++j) x[idx(j)] = data.normal();
    const CompressorTraits t = c->traits(d);
    Rng rng(17);
    CompressorWorkspace ws;
    Message m;
    c->compress(x, rng, ws, m);
    ecco::round_to_wire(m, ValueFormat::fp32);
    const ecco::EncodedSize size = ecco::encoded_size(m, ValueFormat::fp32);
    // Bits outside the fixed header and the static parameters (s of the levels codecs, the
    // lowrank shape), as docs/wire-format.md lays them out; the scale counts as payload.
    std::size_t static_params = 0;
    if (m.code == ecco::ValueCode::uniform_levels || m.code == ecco::ValueCode::power_levels) static_params = 4;
    if (m.layout == ecco::Layout::lowrank) static_params = 12;
    const double payload = 8.0 * static_cast<double>(size.total() - 20 - static_params);
    const double value_theory = t.bits - t.index_bits;
    SCOPED_TRACE("d=" + std::to_string(d) + " payload " + std::to_string(payload) + " theory " + std::to_string(t.bits));
    if (GetParam().rfind("bernoulli", 0) == 0 || GetParam().find("(bernoulli") != std::string::npos) {
      // Random size: 32 d or nothing; the theory is the expectation 32 d p.
      EXPECT_TRUE(payload == 0.0 || payload == 32.0 * static_cast<double>(d));
      continue;
    }
    const double kept = m.layout == ecco::Layout::sparse ? static_cast<double>(m.count()) : 0.0;
    const double index_bound = m.seeded ? 64.0 : 32.0 * kept;
    EXPECT_GT(payload, value_theory - 8.0);
    EXPECT_LE(payload, value_theory + std::max(index_bound, 0.0) + 8.0);
    if (t.index_bits == 0.0 && m.layout != ecco::Layout::sparse) {
      EXPECT_LT(std::fabs(payload - t.bits), 8.0);  // no indices: exact up to the last byte's padding
    }
  }
}

TEST_P(CompressorProperties, EdgeCasesDimensionOneZeroAndConstant) {
  const auto c = make();
  for (const std::size_t d : {std::size_t{1}, std::size_t{2}, std::size_t{17}}) {
    // Zero in, zero out.
    const Eigen::VectorXd zero = Eigen::VectorXd::Zero(idx(d));
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      const Eigen::VectorXd out = compress_dense(*c, zero, seed);
      EXPECT_EQ(out, zero) << "d=" << d;
    }
    // Constant: round trip through the codec works and the output is finite.
    const Eigen::VectorXd constant = Eigen::VectorXd::Constant(idx(d), 2.5);
    Rng rng(3);
    CompressorWorkspace ws;
    Message m;
    c->compress(constant, rng, ws, m);
    EXPECT_EQ(m.dim, d);
    EXPECT_TRUE(dense_of(m).allFinite());
    ecco::round_to_wire(m, ValueFormat::fp32);
    std::vector<std::byte> bytes;
    ecco::encode(m, ValueFormat::fp32, bytes);
    Message back;
    EXPECT_NO_THROW(ecco::decode(bytes, static_cast<std::uint32_t>(d), back));
  }
}

TEST_P(CompressorProperties, NonFiniteInputIsANumericError) {
  const auto c = make();
  const double bad[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity()};
  for (const double v : bad) {
    for (const std::size_t pos : {std::size_t{0}, std::size_t{4}, std::size_t{9}}) {
      Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(10, 1.0, 10.0);
      x[idx(pos)] = v;
      for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        Rng rng(seed);
        CompressorWorkspace ws;
        Message out;
        EXPECT_THROW(c->compress(x, rng, ws, out), ecco::NumericError) << "value " << v << " at " << pos;
      }
    }
  }
  Rng rng(1);
  CompressorWorkspace ws;
  Message out;
  EXPECT_THROW(c->compress(Eigen::VectorXd(0), rng, ws, out), ecco::Error);
}

INSTANTIATE_TEST_SUITE_P(Registry, CompressorProperties, ::testing::ValuesIn(kSpecs), test_name);

// ---------------------------------------------------------------------------------------
// The list above covers the registry

std::string base_name(const std::string& spec) {
  std::string s = spec;
  if (s.rfind("contractive(", 0) == 0) s = s.substr(12, s.size() - 13);
  return s.substr(0, s.find_first_of(":+"));
}

TEST(Coverage, EveryRegistryNameHasCases) {
  std::set<std::string> covered;
  for (const std::string& spec : kSpecs) {
    covered.insert(base_name(spec));
    const auto plus = spec.find('+');
    if (plus != std::string::npos) covered.insert(base_name(spec.substr(plus + 1)));
  }
  for (const ecco::SpecEntry& e : ecco::compressor_table()) {
    EXPECT_TRUE(covered.count(e.name) == 1) << "add specs of '" << e.name << "' to kSpecs in test_compressors.cpp";
  }
}

TEST(Coverage, DescribeListsEveryNameKeyAndTheWrapper) {
  const std::string text = ecco::describe_compressors();
  for (const ecco::SpecEntry& e : ecco::compressor_table()) {
    EXPECT_NE(text.find("  " + e.name + "\n"), std::string::npos) << e.name;
    for (const ecco::SpecKey& k : e.keys) EXPECT_NE(text.find(k.name + "="), std::string::npos) << e.name << " " << k.name;
  }
  EXPECT_NE(text.find("contractive(SPEC)"), std::string::npos);
  EXPECT_NE(text.find("A+B"), std::string::npos);
}

}  // namespace
