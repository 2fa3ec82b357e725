// Composition "A+B", the wrapper "contractive(<spec>)" and the spec grammar.
//  * A+B is B applied to A's kept values with the stream continuing after A's draws: checked
//    by replaying A and then B by hand;
//  * traits follow the composition rules of ALGORITHMS.md section 2, computed here from the
//    parts' formulas;
//  * contractive(Q) equals Q's output times 1/(omega + 1) (raw values) or with its fp32 scale
//    multiplied and rounded to nearest (quantised values), and declares alpha = 1/(omega + 1),
//    or alpha_A/(omega_B + 1) for A+B; the contraction is checked by Monte Carlo on the
//    extremal vectors of rule 2 (equal magnitudes);
//  * bad specs are ConfigErrors that say what is allowed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"

namespace {

using ecco::CompressorClass;
using ecco::CompressorWorkspace;
using ecco::Message;
using ecco::Rng;

Message compress(const std::string& spec, const Eigen::VectorXd& x, std::uint64_t seed) {
  const auto c = ecco::make_compressor(spec);
  Rng rng(seed);
  CompressorWorkspace ws;
  Message out;
  c->compress(x, rng, ws, out);
  return out;
}

Eigen::VectorXd dense(const Message& m) {
  Eigen::VectorXd y(static_cast<Eigen::Index>(m.dim));
  m.assign_to(y);
  return y;
}

Eigen::VectorXd normal_vector(Eigen::Index d, Rng& rng) {
  Eigen::VectorXd x(d);
  for (Eigen::Index j = 0; j < d; ++j) x[j] = rng.normal();
  return x;
}

std::string config_error(const std::string& spec) {
  try {
    ecco::make_compressor(spec);
  } catch (const ecco::ConfigError& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------------------------------
// A+B

TEST(Composition, IsTheQuantiserOnTheKeptValues) {
  Rng data(1);
  const Eigen::VectorXd x = normal_vector(200, data);
  for (const auto& [a, b] : {std::pair{"topk:k=10", "qsgd:s=4"}, std::pair{"randk:k=0.1", "natural"},
                             std::pair{"randk:k=7,scaled=true", "natural_dithering:s=3"}, std::pair{"topk:k=5", "sign"},
                             std::pair{"identity", "terngrad"}, std::pair{"topk:k=200", "onebit"}}) {
    const std::string spec = std::string(a) + "+" + b;
    SCOPED_TRACE(spec);
    const Message m = compress(spec, x, 7);
    // Replay: A with the stream, then B on A's values with the same stream.
    const auto sparsifier = ecco::make_compressor(a);
    Rng rng(7);
    CompressorWorkspace ws;
    Message expected;
    sparsifier->compress(x, rng, ws, expected);
    Eigen::VectorXd kept(static_cast<Eigen::Index>(expected.count()));
    for (std::size_t k = 0; k < expected.count(); ++k) kept[static_cast<Eigen::Index>(k)] = expected.values[k];
    Message quantised;
    ecco::make_compressor(b)->compress(kept, rng, ws, quantised);
    EXPECT_EQ(m.layout, expected.layout);
    EXPECT_EQ(m.indices, expected.indices);
    EXPECT_EQ(m.code, quantised.code);
    EXPECT_EQ(m.scale, quantised.scale);
    EXPECT_EQ(m.levels, quantised.levels);
    EXPECT_EQ(m.values, quantised.values);
    EXPECT_EQ(ecco::make_compressor(spec)->spec(), ecco::make_compressor(a)->spec() + "+" + ecco::make_compressor(b)->spec());
  }
}

TEST(Composition, TraitsFollowTheCompositionRules) {
  const double d = 1000;
  // TopK (alpha K/d) then an unbiased quantiser with omega_B < 1 on K values: contractive,
  // alpha = (K/d)(1 - omega_B). qsgd:s=8 on K = 10: omega = min(10/64, sqrt(10)/8).
  {
    const auto t = ecco::make_compressor("topk:k=10+qsgd:s=8")->traits(1000);
    const double omega_b = std::min(10.0 / 64.0, std::sqrt(10.0) / 8.0);
    EXPECT_EQ(t.kind, CompressorClass::contractive);
    EXPECT_DOUBLE_EQ(t.alpha, (10.0 / d) * (1.0 - omega_b));
    EXPECT_EQ(t.bits, 10.0 * 10.0 + 32.0 + 10.0 * (1.0 + 4.0));  // indices + scale + levels
    EXPECT_EQ(t.index_bits, 100.0);
  }
  // TopK then sign (alpha_B = 1/K): alpha = (K/d)(1/K) = 1/d.
  EXPECT_DOUBLE_EQ(ecco::make_compressor("topk:k=10+sign")->traits(1000).alpha, 1.0 / d);
  // omega_B >= 1 (qsgd:s=1 on 10 values: omega = sqrt(10)): no guarantee.
  EXPECT_EQ(ecco::make_compressor("topk:k=10+qsgd:s=1")->traits(1000).kind, CompressorClass::biased);
  // Unbiased then unbiased: omega = omega_A + omega_B + omega_A omega_B.
  {
    const auto t = ecco::make_compressor("randk:k=10,scaled=true+natural")->traits(1000);
    EXPECT_EQ(t.kind, CompressorClass::unbiased);
    EXPECT_DOUBLE_EQ(t.omega, 99.0 + 0.125 + 99.0 * 0.125);
  }
  // identity+B is B.
  {
    const auto t = ecco::make_compressor("identity+qsgd:s=4")->traits(1000);
    const auto q = ecco::make_compressor("qsgd:s=4")->traits(1000);
    EXPECT_EQ(t.kind, q.kind);
    EXPECT_EQ(t.omega, q.omega);
    EXPECT_EQ(t.bits, q.bits);
  }
  // onebit is biased, and so is anything that ends with it.
  EXPECT_EQ(ecco::make_compressor("topk:k=10+onebit")->traits(1000).kind, CompressorClass::biased);
  EXPECT_FALSE(ecco::make_compressor("topk:k=10+natural")->traits(1000).positively_homogeneous);
  EXPECT_TRUE(ecco::make_compressor("topk:k=10+qsgd:s=2")->traits(1000).positively_homogeneous);
}

TEST(Composition, SpecGrammar) {
  EXPECT_EQ(ecco::make_compressor(" topk:k=0.01 + qsgd:s=16 ")->spec(), "topk:k=0.01+qsgd:norm=2,s=16");
  // An exponent's '+' is part of the number.
  EXPECT_EQ(ecco::make_compressor("topk:k=1e+2")->traits(1000).alpha, 0.1);
  EXPECT_EQ(ecco::make_compressor("topk:k=1e+2+sign")->spec(), "topk:k=1e+2+sign");
  EXPECT_NE(config_error("qsgd:s=4+topk:k=1").find("keep coordinates"), std::string::npos);
  EXPECT_NE(config_error("topk:k=1+topk:k=2").find("quantise values"), std::string::npos);
  EXPECT_NE(config_error("topk:k=1+lowrank").find("quantise values"), std::string::npos);
  EXPECT_NE(config_error("topk:k=1+qsgd:s=2+sign").find("at most one"), std::string::npos);
  EXPECT_NE(config_error("bernoulli:p=0.5+sign").find("keep coordinates"), std::string::npos);
  for (const char* bad : {"+qsgd:s=2", "topk:k=1+", "topk:k=1+nope", "topk:k=0+sign", "(topk:k=1)", "topk:k=(1)"}) {
    EXPECT_THROW(ecco::make_compressor(bad), ecco::ConfigError) << bad;
  }
}

// ---------------------------------------------------------------------------------------
// contractive(...)

TEST(Contractive, ScalesTheInnerOutputByOneOverOmegaPlusOne) {
  Rng data(2);
  const Eigen::VectorXd x = normal_vector(64, data);
  for (const char* inner : {"qsgd:s=4", "natural", "terngrad", "natural_dithering:s=3", "bernoulli:p=1",
                            "randk:k=8,scaled=true", "topk:k=8+qsgd:s=2", "randk:k=0.25+natural"}) {
    SCOPED_TRACE(inner);
    const Message wrapped = compress("contractive(" + std::string(inner) + ")", x, 3);
    const Message plain = compress(inner, x, 3);
    const auto inner_c = ecco::make_compressor(inner);
    // omega of rule 1 (the inner compressor), or of B on the K kept values (rule 2).
    double omega = 0.0;
    const std::string text = inner;
    if (text == "topk:k=8+qsgd:s=2") {
      omega = std::min(8.0 / 4.0, std::sqrt(8.0) / 2.0);
    } else if (text == "randk:k=0.25+natural") {
      omega = 0.125;
    } else {
      omega = inner_c->traits(64).omega;
    }
    const double gain = 1.0 / (omega + 1.0);
    ASSERT_EQ(wrapped.count(), plain.count());
    EXPECT_EQ(wrapped.indices, plain.indices);
    EXPECT_EQ(wrapped.levels, plain.levels);
    if (plain.code == ecco::ValueCode::raw) {
      for (std::size_t k = 0; k < plain.count(); ++k) EXPECT_EQ(wrapped.values[k], plain.values[k] * gain);
    } else {
      EXPECT_EQ(wrapped.scale, static_cast<double>(static_cast<float>(plain.scale * gain)));
      for (std::size_t k = 0; k < plain.count(); ++k) {
        EXPECT_EQ(wrapped.values[k], ecco::quantised_value(plain.code, plain.levels[k], plain.level_count, wrapped.scale));
      }
    }
    const auto t = ecco::make_compressor("contractive(" + std::string(inner) + ")")->traits(64);
    EXPECT_EQ(t.kind, CompressorClass::contractive);
    const double alpha_a = text == "topk:k=8+qsgd:s=2" ? 8.0 / 64.0 : text == "randk:k=0.25+natural" ? 16.0 / 64.0 : 1.0;
    EXPECT_DOUBLE_EQ(t.alpha, alpha_a * gain);
  }
}

TEST(Contractive, ContractionHoldsWhereRuleTwoIsTight) {
  // Equal magnitudes make ||TopK(x)||^2 = (K/d) ||x||^2, the case where
  // E||C(x) - x||^2 = ||x||^2 - ||A(x)||^2 / (omega + 1) meets (1 - alpha) ||x||^2.
  const Eigen::Index d = 32;
  Eigen::VectorXd x(d);
  for (Eigen::Index j = 0; j < d; ++j) x[j] = (j % 3 == 0 ? -1.0 : 1.0) * 0.75;
  for (const char* spec : {"contractive(topk:k=8+qsgd:s=2)", "contractive(qsgd:s=2)", "contractive(natural)",
                           "contractive(randk:k=8,scaled=true)", "contractive(randk:k=8+natural_dithering:s=2)"}) {
    const double alpha = ecco::make_compressor(spec)->traits(static_cast<std::size_t>(d)).alpha;
    const int n = 20000;
    double sum = 0.0;
    double sum_sq = 0.0;
    for (int i = 0; i < n; ++i) {
      const double e = (dense(compress(spec, x, static_cast<std::uint64_t>(i))) - x).squaredNorm() / x.squaredNorm();
      sum += e;
      sum_sq += e * e;
    }
    const double mean = sum / n;
    const double se = std::sqrt((sum_sq / n - mean * mean) / (n - 1));
    EXPECT_LE(mean, 1.0 - alpha + 5.0 * se) << spec << " alpha " << alpha;
  }
}

TEST(Contractive, RefusesWhatIsNotUnbiasedAndNamesTheSyntax) {
  for (const char* spec : {"contractive(topk:k=3)", "contractive(sign)", "contractive(onebit)", "contractive(lowrank)",
                           "contractive(randk:k=3)", "contractive(identity)", "contractive(topk:k=3+sign)",
                           "contractive(contractive(qsgd:s=2))"}) {
    const std::string what = config_error(spec);
    EXPECT_NE(what.find("rescales an unbiased compressor"), std::string::npos) << spec << ": " << what;
  }
  for (const char* spec : {"contractive", "contractive(qsgd:s=2", "contractive qsgd:s=2", "contractive()", "contractive[qsgd]"}) {
    EXPECT_THROW(ecco::make_compressor(spec), ecco::ConfigError) << spec;
  }
  EXPECT_NE(config_error("contractive").find("contractive(<spec>)"), std::string::npos);
  EXPECT_EQ(ecco::make_compressor(" contractive( qsgd:s=4 ) ")->spec(), "contractive(qsgd:norm=2,s=4)");
}

}  // namespace
