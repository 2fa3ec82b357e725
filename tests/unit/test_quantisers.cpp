// The quantisers (qsgd, terngrad, natural, natural_dithering, sign, onebit) against
// independent references written from their definitions (ALGORITHMS.md section 2 and the
// draw order documented in docs/adding-a-compressor.md: one uniform per coordinate, in
// index order, none for a zero vector):
//  * replay: the reference, fed the same Rng stream, produces the same levels and values;
//  * distribution: the frequency of rounding up matches the defining probability (binomial,
//    6 standard errors), and the Monte Carlo mean error matches the exact variance formula;
//  * declared traits equal the formulas of ALGORITHMS.md.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
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
using ecco::ValueCode;

Eigen::Index idx(std::size_t j) { return static_cast<Eigen::Index>(j); }

Message compress(const std::string& spec, const Eigen::VectorXd& x, std::uint64_t seed) {
  const auto c = ecco::make_compressor(spec);
  Rng rng(seed);
  CompressorWorkspace ws;
  Message out;
  c->compress(x, rng, ws, out);
  return out;
}

Eigen::VectorXd random_vector(std::size_t d, Rng& rng) {
  Eigen::VectorXd x(idx(d));
  for (std::size_t j = 0; j < d; ++j) x[idx(j)] = rng.normal() * std::exp(rng.normal());
  return x;
}

// Smallest fp32 value >= v (v >= 0).
double fp32_up(double v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) < v) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return static_cast<double>(f);
}

double norm2_reference(const Eigen::VectorXd& x) {
  long double s = 0.0L;
  for (Eigen::Index j = 0; j < x.size(); ++j) s += static_cast<long double>(x[j]) * static_cast<long double>(x[j]);
  return static_cast<double>(std::sqrt(s));
}

double max_abs(const Eigen::VectorXd& x) { return x.cwiseAbs().maxCoeff(); }

// The per-coordinate draws as the quantisers document them, written independently of
// UniformBlocks: one next_u64() of the client's stream is the key; draw t is output t / 8 of
// lane t mod 8, lane l being the Rng(key + l 0xD1B54A32D192ED03) stream, and u = (r >> 12) 2^-52.
class DocumentedDraws {
 public:
  explicit DocumentedDraws(Rng& client) {
    const std::uint64_t key = client.next_u64();
    for (std::uint64_t l = 0; l < 8; ++l) lanes_.emplace_back(key + l * 0xD1B54A32D192ED03ULL);
  }
  double next() {
    const std::uint64_t r = lanes_[t_ % 8].next_u64();
    ++t_;
    return static_cast<double>(r >> 12) * 0x1p-52;
  }

 private:
  std::vector<Rng> lanes_;
  std::size_t t_ = 0;
};

// ---------------------------------------------------------------------------------------
// Random dithering (qsgd, terngrad)

struct Dithered {
  double scale = 0.0;
  std::vector<std::int32_t> levels;
};

// S = the fp32 value at or above max(||x||_p, ||x||_inf); r = min(|x_j| (s / S), s);
// l = floor(r) + [u < r - floor(r)].
Dithered reference_dither(const Eigen::VectorXd& x, std::uint32_t s, bool linf, Rng& rng) {
  Dithered out;
  const double norm = linf ? max_abs(x) : std::max(norm2_reference(x), max_abs(x));
  out.scale = fp32_up(norm);
  out.levels.resize(static_cast<std::size_t>(x.size()));
  if (out.scale == 0.0) return out;
  DocumentedDraws draws(rng);
  for (Eigen::Index j = 0; j < x.size(); ++j) {
    const double r = std::min(std::fabs(x[j]) * (static_cast<double>(s) / out.scale), static_cast<double>(s));
    const double fl = std::floor(r);
    const double u = draws.next();
    const auto level = static_cast<std::int32_t>(fl) + (u < r - fl ? 1 : 0);
    out.levels[static_cast<std::size_t>(j)] = x[j] < 0 ? -level : level;
  }
  return out;
}

TEST(Qsgd, ReplaysTheReference) {
  Rng data(1);
  for (const std::uint32_t s : {1U, 2U, 4U, 16U, 255U}) {
    for (const bool linf : {false, true}) {
      for (const std::size_t d : {1U, 3U, 50U, 517U, 1000U}) {
        const Eigen::VectorXd x = random_vector(d, data);
        const std::string spec = "qsgd:s=" + std::to_string(s) + (linf ? ",norm=inf" : "");
        const Message m = compress(spec, x, 42);
        Rng rng(42);
        const Dithered expected = reference_dither(x, s, linf, rng);
        ASSERT_EQ(m.code, ValueCode::uniform_levels);
        ASSERT_EQ(m.level_count, s);
        ASSERT_EQ(m.scale, expected.scale) << spec << " d=" << d;
        ASSERT_EQ(m.levels, expected.levels) << spec << " d=" << d;
        for (std::size_t j = 0; j < d; ++j) {
          const double v = std::fabs(static_cast<double>(expected.levels[j])) * (expected.scale / s);
          EXPECT_EQ(m.values[j], expected.levels[j] < 0 ? -v : v);
        }
      }
    }
  }
}

TEST(Qsgd, ExactVarianceFormulaAndUpFrequencies) {
  // E||Q(x) - x||^2 = sum_j (S/s)^2 tau_j (1 - tau_j), tau_j = frac(s |x_j| / S); each
  // coordinate rounds up with probability tau_j.
  Rng data(2);
  const std::size_t d = 20;
  const std::uint32_t s = 3;
  const Eigen::VectorXd x = random_vector(d, data);
  const double scale = fp32_up(norm2_reference(x));
  double exact = 0.0;
  std::vector<double> tau(d);
  for (std::size_t j = 0; j < d; ++j) {
    const double r = std::fabs(x[idx(j)]) / scale * s;
    tau[j] = r - std::floor(r);
    exact += (scale / s) * (scale / s) * tau[j] * (1.0 - tau[j]);
  }
  const int n = 20000;
  std::vector<int> ups(d, 0);
  double sum = 0.0;
  double sum_sq = 0.0;
  for (int i = 0; i < n; ++i) {
    const Message m = compress("qsgd:s=3", x, 100 + static_cast<std::uint64_t>(i));
    Eigen::VectorXd c(idx(d));
    m.assign_to(c);
    const double e = (c - x).squaredNorm();
    sum += e;
    sum_sq += e * e;
    for (std::size_t j = 0; j < d; ++j) {
      const double r = std::fabs(x[idx(j)]) / scale * s;
      if (std::abs(m.levels[j]) > static_cast<std::int32_t>(std::floor(r))) ++ups[j];
    }
  }
  const double mean = sum / n;
  const double se = std::sqrt((sum_sq / n - mean * mean) / (n - 1));
  EXPECT_NEAR(mean, exact, 6.0 * se);
  for (std::size_t j = 0; j < d; ++j) {
    const double freq = static_cast<double>(ups[j]) / n;
    EXPECT_NEAR(freq, tau[j], 6.0 * std::sqrt(tau[j] * (1.0 - tau[j]) / n) + 1e-12) << "j=" << j;
  }
  // And the declared omega bounds it.
  const double omega = ecco::make_compressor("qsgd:s=3")->traits(d).omega;
  EXPECT_LE(exact, omega * x.squaredNorm());
}

TEST(Qsgd, TraitsAreTheQsgdFormulas) {
  for (const std::uint32_t s : {1U, 2U, 7U, 64U}) {
    for (const std::size_t d : {1U, 10U, 100U, 10000U}) {
      for (const char* norm : {"2", "inf"}) {
        const auto t = ecco::make_compressor("qsgd:s=" + std::to_string(s) + ",norm=" + norm)->traits(d);
        const double dd = static_cast<double>(d);
        EXPECT_EQ(t.kind, CompressorClass::unbiased);
        EXPECT_DOUBLE_EQ(t.omega, std::min(dd / (s * s), std::sqrt(dd) / s));
        EXPECT_EQ(t.bits, 32.0 + dd * (1.0 + std::ceil(std::log2(s + 1.0))));
        EXPECT_TRUE(t.positively_homogeneous);
        EXPECT_FALSE(t.deterministic);
      }
    }
  }
}

TEST(Qsgd, BadSpecsAndOverflow) {
  for (const char* bad : {"qsgd", "qsgd:s=0", "qsgd:s=-1", "qsgd:s=1.5", "qsgd:s=1048577", "qsgd:s=4,norm=1",
                          "qsgd:s=4,norm=two", "qsgd:s=4,p=2"}) {
    EXPECT_THROW(ecco::make_compressor(bad), ecco::ConfigError) << bad;
  }
  Eigen::VectorXd huge(2);
  huge << 1e300, 1.0;
  EXPECT_THROW(compress("qsgd:s=4", huge, 1), ecco::NumericError);
  Eigen::VectorXd big(2);
  big << 3e38, 3e38;  // ||x||_2 > max float although every entry fits
  EXPECT_THROW(compress("qsgd:s=4", big, 1), ecco::NumericError);
  EXPECT_NO_THROW(compress("qsgd:s=4,norm=inf", big, 1));
}

TEST(TernGrad, IsOneLevelInfinityNormDitheringWithItsOmega) {
  Rng data(3);
  for (const std::size_t d : {1U, 9U, 300U}) {
    const Eigen::VectorXd x = random_vector(d, data);
    const Message m = compress("terngrad", x, 7);
    Rng rng(7);
    const Dithered expected = reference_dither(x, 1, true, rng);
    EXPECT_EQ(m.scale, expected.scale);
    EXPECT_EQ(m.levels, expected.levels);
    const auto t = ecco::make_compressor("terngrad")->traits(d);
    EXPECT_EQ(t.kind, CompressorClass::unbiased);
    EXPECT_DOUBLE_EQ(t.omega, std::sqrt(static_cast<double>(d)) * (1.0 + 0x1p-23) - 1.0);
    EXPECT_EQ(t.bits, 32.0 + 2.0 * static_cast<double>(d));
  }
  // E||C(x)||^2 = S ||x||_1, and the extremal vector (1, e, ..., e), e = 1 / (1 + sqrt(d)),
  // reaches (sqrt(d) - 1) / 2 ||x||^2 (up to the fp32 scale).
  const std::size_t d = 16;
  Eigen::VectorXd x = Eigen::VectorXd::Constant(idx(d), 1.0 / 5.0);
  x[0] = 1.0;
  const double scale = fp32_up(1.0);
  const double exact = scale * x.lpNorm<1>() - x.squaredNorm();
  EXPECT_NEAR(exact / x.squaredNorm(), (4.0 - 1.0) / 2.0, 1e-12);
  const int n = 20000;
  double sum = 0.0;
  double sum_sq = 0.0;
  for (int i = 0; i < n; ++i) {
    Eigen::VectorXd c(idx(d));
    compress("terngrad", x, 500 + static_cast<std::uint64_t>(i)).assign_to(c);
    const double e = (c - x).squaredNorm();
    sum += e;
    sum_sq += e * e;
  }
  const double mean = sum / n;
  EXPECT_NEAR(mean, exact, 6.0 * std::sqrt((sum_sq / n - mean * mean) / (n - 1)));
}

// ---------------------------------------------------------------------------------------
// Natural compression

// |t| = 2^e (1 + f): level e + 127 + [u < f]; below 2^-126: [u < |t| / 2^-126]; sign(t).
std::vector<std::int32_t> reference_natural(const Eigen::VectorXd& x, Rng& rng) {
  std::vector<std::int32_t> levels;
  DocumentedDraws draws(rng);
  for (Eigen::Index j = 0; j < x.size(); ++j) {
    const double u = draws.next();
    const double a = std::fabs(x[j]);
    std::int32_t level = 0;
    if (a >= 0x1p-126) {
      int e = 0;
      const double m = std::frexp(a, &e);  // a = m 2^e, m in [0.5, 1)
      const double f = 2.0 * m - 1.0;      // a = 2^(e-1) (1 + f)
      level = (e - 1) + 127 + (u < f ? 1 : 0);
    } else if (a > 0.0) {
      level = u < a * 0x1p126 ? 1 : 0;
    }
    levels.push_back(x[j] < 0 ? -level : level);
  }
  return levels;
}

TEST(Natural, ReplaysTheReference) {
  Rng data(4);
  for (const std::size_t d : {1U, 7U, 500U}) {
    Eigen::VectorXd x = random_vector(d, data);
    if (d > 3) {
      x[0] = 0.0;
      x[1] = 0x1p-130;    // below the smallest level
      x[2] = -0x1p127;    // the largest level itself
      x[3] = 0x1.8p-126;  // just above the smallest level
    }
    const Message m = compress("natural", x, 9);
    Rng rng(9);
    EXPECT_EQ(m.levels, reference_natural(x, rng));
    EXPECT_EQ(m.scale, 1.0);
    for (std::size_t j = 0; j < d; ++j) {
      const double v = m.levels[j] == 0 ? 0.0 : std::ldexp(1.0, std::abs(m.levels[j]) - 127);
      EXPECT_EQ(m.values[j], m.levels[j] < 0 ? -v : v);
    }
  }
}

TEST(Natural, WorstCaseVarianceIsOneEighth) {
  // |t| = (4/3) a: E(C - t)^2 = (|t| - a)(2a - |t|) = 2a^2 / 9 = t^2 / 8.
  const std::size_t d = 8;
  Eigen::VectorXd x(idx(d));
  for (std::size_t j = 0; j < d; ++j) x[idx(j)] = (j % 2 == 0 ? 1.0 : -1.0) * std::ldexp(4.0 / 3.0, static_cast<int>(j) - 3);
  double exact = 0.0;
  for (std::size_t j = 0; j < d; ++j) {
    const double t = std::fabs(x[idx(j)]);
    const double a = std::ldexp(1.0, std::ilogb(t));
    exact += (t - a) * (2 * a - t);
  }
  EXPECT_NEAR(exact / x.squaredNorm(), 0.125, 1e-15);
  const int n = 20000;
  double sum = 0.0;
  double sum_sq = 0.0;
  for (int i = 0; i < n; ++i) {
    Eigen::VectorXd c(idx(d));
    compress("natural", x, 900 + static_cast<std::uint64_t>(i)).assign_to(c);
    const double e = (c - x).squaredNorm();
    sum += e;
    sum_sq += e * e;
  }
  const double mean = sum / n;
  EXPECT_NEAR(mean, exact, 6.0 * std::sqrt((sum_sq / n - mean * mean) / (n - 1)));
  const auto t = ecco::make_compressor("natural")->traits(d);
  EXPECT_EQ(t.omega, 0.125);
  EXPECT_EQ(t.bits, 32.0 + 9.0 * d);
  EXPECT_FALSE(t.positively_homogeneous);
}

TEST(Natural, IsNotPositivelyHomogeneous) {
  // natural(3) is 2 or 4, never 3 natural(1) = 3.
  Eigen::VectorXd one(1);
  one << 1.0;
  Eigen::VectorXd three(1);
  three << 3.0;
  EXPECT_EQ(compress("natural", one, 1).values[0], 1.0);
  const double v = compress("natural", three, 1).values[0];
  EXPECT_TRUE(v == 2.0 || v == 4.0);
}

TEST(Natural, OutOfRangeMagnitudes) {
  Eigen::VectorXd x(2);
  x << 1.0, 0x1.0000000000001p127;
  EXPECT_THROW(compress("natural", x, 1), ecco::NumericError);
  x << 1.0, -1e300;
  EXPECT_THROW(compress("natural", x, 1), ecco::NumericError);
  // Tiny values round between 0 and 2^-126 without bias: frequency of 2^-126 is |t| / 2^-126.
  Eigen::VectorXd tiny(1);
  tiny << 0.25 * 0x1p-126;
  int hits = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) hits += compress("natural", tiny, static_cast<std::uint64_t>(i)).levels[0] == 1 ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(hits) / n, 0.25, 6.0 * std::sqrt(0.25 * 0.75 / n));
}

// ---------------------------------------------------------------------------------------
// Natural dithering

// r = |x_j| / S; r >= 2^(1-s): a = 2^floor(log2 r), level log2(a) + s + [u < r/a - 1];
// else level [u < r / 2^(1-s)].
std::vector<std::int32_t> reference_natural_dithering(const Eigen::VectorXd& x, int s, bool linf, double& scale,
                                                      Rng& rng) {
  scale = fp32_up(linf ? max_abs(x) : std::max(norm2_reference(x), max_abs(x)));
  std::vector<std::int32_t> levels(static_cast<std::size_t>(x.size()), 0);
  if (scale == 0.0) return levels;
  const double lowest = std::pow(2.0, 1 - s);
  DocumentedDraws draws(rng);
  for (Eigen::Index j = 0; j < x.size(); ++j) {
    const double r = std::fabs(x[j]) / scale;
    const double u = draws.next();
    std::int32_t level = 0;
    if (r >= lowest) {
      int exponent = 0;
      (void)std::frexp(r, &exponent);  // r = m 2^exponent, m in [1/2, 1)
      const int e = exponent - 1;
      const double a = std::pow(2.0, e);
      level = e + s + (u < r / a - 1.0 ? 1 : 0);
    } else {
      level = u < r / lowest ? 1 : 0;
    }
    levels[static_cast<std::size_t>(j)] = x[j] < 0 ? -level : level;
  }
  return levels;
}

TEST(NaturalDithering, ReplaysTheReference) {
  Rng data(5);
  for (const int s : {1, 2, 3, 8, 30}) {
    for (const bool linf : {false, true}) {
      for (const std::size_t d : {1U, 4U, 200U, 777U}) {
        const Eigen::VectorXd x = random_vector(d, data);
        const std::string spec = "natural_dithering:s=" + std::to_string(s) + (linf ? ",norm=inf" : "");
        const Message m = compress(spec, x, 11);
        Rng rng(11);
        double scale = 0.0;
        const auto levels = reference_natural_dithering(x, s, linf, scale, rng);
        ASSERT_EQ(m.scale, scale) << spec;
        ASSERT_EQ(m.levels, levels) << spec << " d=" << d;
        for (std::size_t j = 0; j < d; ++j) {
          const double v = levels[j] == 0 ? 0.0 : scale * std::pow(2.0, std::abs(levels[j]) - s);
          EXPECT_EQ(m.values[j], levels[j] < 0 ? -v : v);
        }
      }
    }
  }
}

TEST(NaturalDithering, TraitsAreTheFormula) {
  for (const int s : {1, 2, 5, 12}) {
    for (const std::size_t d : {1U, 50U, 10000U}) {
      const auto t = ecco::make_compressor("natural_dithering:s=" + std::to_string(s))->traits(d);
      const double term = std::sqrt(static_cast<double>(d)) * std::pow(2.0, 1 - s);
      EXPECT_DOUBLE_EQ(t.omega, 0.125 + term * std::min(1.0, term));
      EXPECT_EQ(t.bits, 32.0 + static_cast<double>(d) * (1.0 + std::ceil(std::log2(s + 1.0))));
    }
  }
  for (const char* bad : {"natural_dithering", "natural_dithering:s=0", "natural_dithering:s=1001",
                          "natural_dithering:s=3,norm=1"}) {
    EXPECT_THROW(ecco::make_compressor(bad), ecco::ConfigError) << bad;
  }
}

// ---------------------------------------------------------------------------------------
// Sign and onebit

TEST(Sign, IsTheScaledSignWithItsExactError) {
  Rng data(6);
  for (const std::size_t d : {1U, 2U, 17U, 1000U}) {
    Eigen::VectorXd x = random_vector(d, data);
    x[0] = 0.0;  // sign(0) = +1
    const Message m = compress("sign", x, 1);
    const double l1 = x.lpNorm<1>();
    const double scale = static_cast<double>(static_cast<float>(l1 / static_cast<double>(d)));
    EXPECT_NEAR(m.scale, scale, 1e-15 * scale);  // the l1 sum's own rounding may differ in the last bit
    Eigen::VectorXd c(idx(d));
    m.assign_to(c);
    for (std::size_t j = 0; j < d; ++j) EXPECT_EQ(c[idx(j)], x[idx(j)] < 0 ? -m.scale : m.scale);
    // ||c sign(x) - x||^2 = ||x||^2 - 2 c ||x||_1 + d c^2 <= ||x||^2 - ||x||_1^2 / d (1 - 2^-48).
    const double err = (c - x).squaredNorm();
    const double optimum = x.squaredNorm() - l1 * l1 / static_cast<double>(d);
    EXPECT_LE(err, optimum + 1e-12 * x.squaredNorm());
    EXPECT_LE(err, (1.0 - 1.0 / static_cast<double>(d)) * x.squaredNorm() * (1 + 1e-12));
  }
  // The worst case alpha = 1/d is reached by a vector with one non-zero.
  Eigen::VectorXd one_hot = Eigen::VectorXd::Zero(8);
  one_hot[3] = 2.0;
  Eigen::VectorXd c(8);
  compress("sign", one_hot, 1).assign_to(c);
  EXPECT_DOUBLE_EQ((c - one_hot).squaredNorm(), (1.0 - 1.0 / 8.0) * 4.0);
  const auto t = ecco::make_compressor("sign")->traits(8);
  EXPECT_EQ(t.kind, CompressorClass::contractive);
  EXPECT_EQ(t.alpha, 1.0 / 8.0);
  EXPECT_EQ(t.bits, 8.0 + 32.0);
}

TEST(OneBit, PreservesTheNormAndIsNotContractive) {
  Rng data(7);
  for (const std::size_t d : {1U, 5U, 300U}) {
    const Eigen::VectorXd x = random_vector(d, data);
    Eigen::VectorXd c(idx(d));
    compress("onebit", x, 1).assign_to(c);
    EXPECT_NEAR(c.norm(), x.norm(), 0x1p-23 * x.norm());
  }
  // One non-zero in d = 10: error 2 ||x||^2 (1 - 1/sqrt(10)) > ||x||^2.
  Eigen::VectorXd one_hot = Eigen::VectorXd::Zero(10);
  one_hot[0] = 1.0;
  Eigen::VectorXd c(10);
  compress("onebit", one_hot, 1).assign_to(c);
  EXPECT_NEAR((c - one_hot).squaredNorm(), 2.0 * (1.0 - 1.0 / std::sqrt(10.0)), 1e-6);
  EXPECT_GT((c - one_hot).squaredNorm(), 1.0);
  EXPECT_EQ(ecco::make_compressor("onebit")->traits(10).kind, CompressorClass::biased);
}

TEST(SignCodecs, ScaleOverflowIsANumericError) {
  Eigen::VectorXd x(2);
  x << 1e300, -1e300;
  EXPECT_THROW(compress("sign", x, 1), ecco::NumericError);
  EXPECT_THROW(compress("onebit", x, 1), ecco::NumericError);
}

}  // namespace
