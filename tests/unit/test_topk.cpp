// Tests of the identity and TopK compressors and of the compressor registry.
//
// Every expected selection comes from an independent reference in this file: a full
// stable sort of the indices by |x_j| descending (a stable sort keeps the smaller index
// first among equal magnitudes), then the first K indices in increasing order.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"

namespace {

using ecco::CompressorWorkspace;
using ecco::Layout;
using ecco::Message;
using ecco::Rng;

Eigen::Index idx(std::size_t j) { return static_cast<Eigen::Index>(j); }

// Independent reference: indices of the K largest |x_j|, ties to the smaller index,
// returned in increasing order.
std::vector<std::uint32_t> reference_topk(const Eigen::VectorXd& x, std::size_t k) {
  const auto d = static_cast<std::size_t>(x.size());
  std::vector<std::uint32_t> order(d);
  std::iota(order.begin(), order.end(), std::uint32_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&x](std::uint32_t a, std::uint32_t b) { return std::fabs(x[a]) > std::fabs(x[b]); });
  const std::size_t kept = std::min(k, d);
  std::vector<std::uint32_t> selected(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kept));
  std::sort(selected.begin(), selected.end());
  return selected;
}

Message compress_with(const std::string& spec, const Eigen::VectorXd& x, std::uint64_t rng_seed = 1) {
  const auto compressor = ecco::make_compressor(spec);
  Rng rng(rng_seed);
  CompressorWorkspace workspace;
  Message out;
  compressor->compress(x, rng, workspace, out);
  return out;
}

std::string count_spec(std::size_t k) { return "topk:k=" + std::to_string(k); }

// Kinds of random test vectors: generic reals, and vectors with many ties in magnitude.
enum class VectorKind { normal, small_integers, plus_minus_one, with_zeros, constant };

Eigen::VectorXd random_vector(std::size_t d, VectorKind kind, Rng& rng) {
  Eigen::VectorXd x(idx(d));
  for (std::size_t j = 0; j < d; ++j) {
    double v = 0.0;
    switch (kind) {
      case VectorKind::normal:
        v = rng.normal() * 10.0;
        break;
      case VectorKind::small_integers:
        v = static_cast<double>(rng.uniform_index(7)) - 3.0;  // -3..3: many ties incl. +v/-v
        break;
      case VectorKind::plus_minus_one:
        v = rng.uniform_index(2) == 0 ? 1.0 : -1.0;
        break;
      case VectorKind::with_zeros:
        v = rng.uniform_index(3) == 0 ? rng.normal() : 0.0;
        break;
      case VectorKind::constant:
        v = -2.5;
        break;
    }
    x[idx(j)] = v;
  }
  return x;
}

constexpr VectorKind kAllKinds[] = {VectorKind::normal, VectorKind::small_integers, VectorKind::plus_minus_one,
                                    VectorKind::with_zeros, VectorKind::constant};

// Checks that out is a well-formed sparse message of dimension d that keeps exactly the
// expected indices with values equal to x there.
void expect_selection(const Message& out, const Eigen::VectorXd& x, const std::vector<std::uint32_t>& expected) {
  ASSERT_EQ(out.layout, Layout::sparse);
  ASSERT_EQ(out.dim, static_cast<std::uint32_t>(x.size()));
  ASSERT_EQ(out.indices.size(), out.values.size());
  ASSERT_EQ(out.count(), expected.size());
  EXPECT_EQ(out.indices, expected);
  for (std::size_t i = 0; i < out.indices.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(out.indices[i - 1], out.indices[i]) << "indices not strictly increasing at " << i;
    }
    ASSERT_LT(out.indices[i], out.dim);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(out.values[i]), std::bit_cast<std::uint64_t>(x[out.indices[i]]))
        << "value at index " << out.indices[i];
  }
}

// ---------------------------------------------------------------------------------------
// TopK: exact selection

TEST(TopKSelection, MatchesReferenceOnSeededRandomVectors) {
  const std::size_t dims[] = {1, 2, 3, 4, 5, 7, 8, 16, 31, 64, 100, 257, 1000};
  int cases = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Rng rng(seed * 7919U);
    for (const std::size_t d : dims) {
      for (const VectorKind kind : kAllKinds) {
        const Eigen::VectorXd x = random_vector(d, kind, rng);
        std::vector<std::size_t> ks = {1, 2, 3, d / 2, d / 3, d > 1 ? d - 1 : 1, d, d + 1, 2 * d + 5};
        ks.push_back(1 + static_cast<std::size_t>(rng.uniform_index(d)));
        for (const std::size_t k : ks) {
          if (k == 0) continue;
          SCOPED_TRACE("seed=" + std::to_string(seed) + " d=" + std::to_string(d) + " k=" + std::to_string(k) +
                       " kind=" + std::to_string(static_cast<int>(kind)));
          const Message out = compress_with(count_spec(k), x);
          expect_selection(out, x, reference_topk(x, k));
          ++cases;
        }
      }
    }
  }
  EXPECT_GT(cases, 2000);
}

TEST(TopKSelection, KEqualsOneKeepsTheLargestMagnitude) {
  Rng rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t d = 1 + static_cast<std::size_t>(rng.uniform_index(50));
    const Eigen::VectorXd x = random_vector(d, VectorKind::normal, rng);
    // Independent: first index attaining the maximum |x_j|.
    std::size_t best = 0;
    for (std::size_t j = 1; j < d; ++j) {
      if (std::fabs(x[idx(j)]) > std::fabs(x[idx(best)])) best = j;
    }
    const Message out = compress_with("topk:k=1", x);
    expect_selection(out, x, {static_cast<std::uint32_t>(best)});
  }
}

TEST(TopKSelection, KEqualsDKeepsEverything) {
  Rng rng(5);
  for (const std::size_t d : {1U, 2U, 9U, 128U}) {
    const Eigen::VectorXd x = random_vector(d, VectorKind::with_zeros, rng);
    std::vector<std::uint32_t> all(d);
    std::iota(all.begin(), all.end(), std::uint32_t{0});
    expect_selection(compress_with(count_spec(d), x), x, all);
    // k > d is capped at d.
    expect_selection(compress_with(count_spec(d + 1), x), x, all);
    expect_selection(compress_with(count_spec(10 * d + 3), x), x, all);
    expect_selection(compress_with("topk:k=4294967295", x), x, all);
  }
}

TEST(TopKSelection, ZeroVectorKeepsFirstKIndicesWithZeroValues) {
  const Eigen::VectorXd x = Eigen::VectorXd::Zero(10);
  const Message out = compress_with("topk:k=3", x);
  expect_selection(out, x, {0, 1, 2});
  for (const double v : out.values) EXPECT_EQ(v, 0.0);
}

// ---------------------------------------------------------------------------------------
// TopK: the tie rule

TEST(TopKTies, DocumentedExample) {
  Eigen::VectorXd x(5);
  x << 1.0, -3.0, 3.0, 2.0, -3.0;
  const Message out = compress_with("topk:k=2", x);
  expect_selection(out, x, {1, 2});
  EXPECT_EQ(out.values[0], -3.0);
  EXPECT_EQ(out.values[1], 3.0);

  expect_selection(compress_with("topk:k=1", x), x, {1});
  expect_selection(compress_with("topk:k=3", x), x, {1, 2, 4});
  expect_selection(compress_with("topk:k=4", x), x, {1, 2, 3, 4});
  expect_selection(compress_with("topk:k=5", x), x, {0, 1, 2, 3, 4});
}

TEST(TopKTies, PlusAndMinusOfSameMagnitudeTieToSmallerIndex) {
  Eigen::VectorXd x(4);
  x << 0.5, 7.0, 0.25, -7.0;
  expect_selection(compress_with("topk:k=1", x), x, {1});
  x << 0.5, -7.0, 0.25, 7.0;
  expect_selection(compress_with("topk:k=1", x), x, {1});
  // Negative zero and zero tie as well.
  Eigen::VectorXd z(3);
  z << -0.0, 0.0, -0.0;
  const Message out = compress_with("topk:k=2", z);
  expect_selection(out, z, {0, 1});
  EXPECT_TRUE(std::signbit(out.values[0]));
}

TEST(TopKTies, AllEqualMagnitudesKeepTheFirstK) {
  for (const std::size_t d : {2U, 5U, 33U, 500U}) {
    Eigen::VectorXd x(idx(d));
    for (std::size_t j = 0; j < d; ++j) x[idx(j)] = (j % 3 == 0) ? -1.5 : 1.5;
    for (const std::size_t k : {std::size_t{1}, d / 2 + 1, d - 1}) {
      std::vector<std::uint32_t> first(k);
      std::iota(first.begin(), first.end(), std::uint32_t{0});
      expect_selection(compress_with(count_spec(k), x), x, first);
    }
  }
}

TEST(TopKTies, TiesAtTheCutOffGoToSmallerIndices) {
  // Magnitudes: one clear winner, then a block of equal magnitudes that straddles the cut.
  Eigen::VectorXd x(8);
  x << 2.0, 9.0, -2.0, 1.0, 2.0, -2.0, 0.5, 2.0;
  expect_selection(compress_with("topk:k=3", x), x, {0, 1, 2});
  expect_selection(compress_with("topk:k=4", x), x, {0, 1, 2, 4});
  expect_selection(compress_with("topk:k=6", x), x, {0, 1, 2, 4, 5, 7});
  expect_selection(compress_with("topk:k=7", x), x, {0, 1, 2, 3, 4, 5, 7});
}

// ---------------------------------------------------------------------------------------
// TopK: fractions

TEST(TopKFraction, RoundsToNearestCountAndAtLeastOne) {
  struct Case {
    const char* spec;
    std::size_t d;
    std::size_t expected_k;  // nearest integer to k*d, at least 1 (computed by hand)
  };
  const Case cases[] = {
      {"topk:k=0.01", 1, 1},     {"topk:k=0.01", 10, 1},    {"topk:k=0.01", 100, 1},
      {"topk:k=0.01", 149, 1},   {"topk:k=0.01", 151, 2},   {"topk:k=0.01", 349, 3},
      {"topk:k=0.01", 351, 4},   {"topk:k=0.01", 1000, 10}, {"topk:k=0.01", 1234, 12},
      {"topk:k=0.5", 1, 1},      {"topk:k=0.5", 2, 1},      {"topk:k=0.5", 4, 2},
      {"topk:k=0.5", 10, 5},     {"topk:k=0.5", 1000, 500}, {"topk:k=0.3", 10, 3},
      {"topk:k=0.3", 11, 3},     {"topk:k=0.3", 12, 4},     {"topk:k=0.999", 10, 10},
      {"topk:k=0.999", 3000, 2997}, {"topk:k=0.001", 5, 1},  {"topk:k=1e-9", 1000, 1},
  };
  Rng rng(99);
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.spec) + " d=" + std::to_string(c.d));
    const Eigen::VectorXd x = random_vector(c.d, VectorKind::small_integers, rng);
    const Message out = compress_with(c.spec, x);
    EXPECT_EQ(out.count(), c.expected_k);
    expect_selection(out, x, reference_topk(x, c.expected_k));
    const auto compressor = ecco::make_compressor(c.spec);
    EXPECT_EQ(compressor->traits(c.d).alpha, static_cast<double>(c.expected_k) / static_cast<double>(c.d));
  }
}

TEST(TopKFraction, MatchesReferenceOnRandomVectors) {
  Rng rng(2024);
  for (int trial = 0; trial < 100; ++trial) {
    const std::size_t d = 1 + static_cast<std::size_t>(rng.uniform_index(400));
    const Eigen::VectorXd x = random_vector(d, trial % 2 == 0 ? VectorKind::normal : VectorKind::small_integers, rng);
    struct Fraction {
      const char* spec;
      double value;
    };
    for (const Fraction& fr : {Fraction{"topk:k=0.01", 0.01}, Fraction{"topk:k=0.5", 0.5}}) {
      const std::string spec = fr.spec;
      const double fraction = fr.value;
      const double target = fraction * static_cast<double>(d);
      // Skip exact halves (e.g. 0.5 * odd d), where "nearest" is ambiguous.
      if (std::fabs(target - std::floor(target) - 0.5) < 1e-9) continue;
      const auto expected_k = std::max<std::size_t>(1, static_cast<std::size_t>(std::floor(target + 0.5)));
      SCOPED_TRACE(spec + " d=" + std::to_string(d));
      expect_selection(compress_with(spec, x), x, reference_topk(x, expected_k));
    }
  }
}

// ---------------------------------------------------------------------------------------
// TopK: properties

TEST(TopKProperties, TraitsAlphaIsKOverD) {
  for (const std::size_t d : {1U, 2U, 3U, 10U, 100U, 12345U}) {
    for (const std::size_t k : {std::size_t{1}, std::size_t{2}, std::size_t{7}, d, d + 1, 3 * d}) {
      SCOPED_TRACE("d=" + std::to_string(d) + " k=" + std::to_string(k));
      const auto compressor = ecco::make_compressor(count_spec(k));
      const ecco::CompressorTraits t = compressor->traits(d);
      const std::size_t capped = std::min(k, d);
      EXPECT_EQ(t.alpha, static_cast<double>(capped) / static_cast<double>(d));
      EXPECT_EQ(t.kind, ecco::CompressorClass::contractive);
      EXPECT_TRUE(t.positively_homogeneous);
      EXPECT_TRUE(t.deterministic);
      EXPECT_GT(t.alpha, 0.0);
      EXPECT_LE(t.alpha, 1.0);
    }
  }
}

TEST(TopKProperties, CanonicalSpec) {
  EXPECT_EQ(ecco::make_compressor("topk:k=10")->spec(), "topk:k=10");
  EXPECT_EQ(ecco::make_compressor("topk:k=0.01")->spec(), "topk:k=0.01");
  // The canonical spec builds an equivalent compressor.
  const auto c = ecco::make_compressor("topk:k=3");
  const auto again = ecco::make_compressor(c->spec());
  Eigen::VectorXd x(6);
  x << 1, -5, 2, 4, -3, 0;
  EXPECT_EQ(compress_with(c->spec(), x).indices, compress_with("topk:k=3", x).indices);
  EXPECT_EQ(again->spec(), c->spec());
}

TEST(TopKProperties, ContractionExactOnIntegerVectors) {
  // Integer-valued inputs keep every sum exact, so the bound is checked without slack:
  // d * ||C(x) - x||^2 <= (d - K) * ||x||^2 (equivalent to the stated bound).
  Rng rng(77);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t d = 1 + static_cast<std::size_t>(rng.uniform_index(200));
    const std::size_t k = 1 + static_cast<std::size_t>(rng.uniform_index(d + 2));
    const VectorKind kind = trial % 3 == 0 ? VectorKind::plus_minus_one : VectorKind::small_integers;
    Eigen::VectorXd x = random_vector(d, kind, rng);
    if (trial % 5 == 0) x *= 1000.0;
    const Message out = compress_with(count_spec(k), x);
    Eigen::VectorXd cx(idx(d));
    out.assign_to(cx);
    const double err = (cx - x).squaredNorm();
    const double norm = x.squaredNorm();
    const std::size_t kk = std::min(k, d);
    EXPECT_LE(static_cast<double>(d) * err, static_cast<double>(d - kk) * norm)
        << "d=" << d << " k=" << k << " trial=" << trial;
    // (The form (1 - K/d) * ||x||^2 is not used here: its rounding can fall below the
    // exact value in the equality case of equal magnitudes.)
  }
  // Worst case: all magnitudes equal gives equality.
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(8);
  Eigen::VectorXd cx(8);
  compress_with("topk:k=2", ones).assign_to(cx);
  EXPECT_EQ((cx - ones).squaredNorm(), 6.0);
  EXPECT_EQ((1.0 - 2.0 / 8.0) * ones.squaredNorm(), 6.0);
}

TEST(TopKProperties, ContractionOnRandomRealVectors) {
  Rng rng(78);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t d = 1 + static_cast<std::size_t>(rng.uniform_index(300));
    const std::size_t k = 1 + static_cast<std::size_t>(rng.uniform_index(d));
    const Eigen::VectorXd x = random_vector(d, VectorKind::normal, rng);
    const Message out = compress_with(count_spec(k), x);
    Eigen::VectorXd cx(idx(d));
    out.assign_to(cx);
    // The dropped coordinates are exactly zero in C(x) - x's kept part, so the error is the
    // sum of the dropped squares; every dropped magnitude is <= every kept magnitude.
    double min_kept = std::numeric_limits<double>::infinity();
    for (const double v : out.values) min_kept = std::min(min_kept, std::fabs(v));
    std::vector<bool> kept(d, false);
    for (const std::uint32_t i : out.indices) kept[i] = true;
    for (std::size_t j = 0; j < d; ++j) {
      if (!kept[j]) {
        EXPECT_LE(std::fabs(x[idx(j)]), min_kept);
        EXPECT_EQ(cx[idx(j)], 0.0);
      } else {
        EXPECT_EQ(cx[idx(j)], x[idx(j)]);
      }
    }
    const double err = (cx - x).squaredNorm();
    const double bound = (1.0 - static_cast<double>(k) / static_cast<double>(d)) * x.squaredNorm();
    // Floating-point sums: allow rounding of the order of d ulps.
    EXPECT_LE(err, bound * (1.0 + 1e-12) + 1e-300) << "d=" << d << " k=" << k;
  }
}

TEST(TopKProperties, PositiveHomogeneityBitwiseForPowersOfTwo) {
  Rng rng(31);
  const double scales[] = {2.0, 0.5, 1024.0, 0.0009765625, 1.0};
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t d = 1 + static_cast<std::size_t>(rng.uniform_index(120));
    const std::size_t k = 1 + static_cast<std::size_t>(rng.uniform_index(d));
    const Eigen::VectorXd x = random_vector(d, trial % 2 == 0 ? VectorKind::normal : VectorKind::small_integers, rng);
    const Message base = compress_with(count_spec(k), x);
    for (const double t : scales) {
      const Eigen::VectorXd tx = t * x;
      const Message scaled = compress_with(count_spec(k), tx);
      ASSERT_EQ(scaled.indices, base.indices) << "t=" << t;
      ASSERT_EQ(scaled.count(), base.count());
      for (std::size_t i = 0; i < base.count(); ++i) {
        EXPECT_EQ(std::bit_cast<std::uint64_t>(scaled.values[i]), std::bit_cast<std::uint64_t>(t * base.values[i]));
      }
    }
  }
}

TEST(TopKProperties, PositiveHomogeneityGeneralScale) {
  Rng rng(32);
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t d = 1 + static_cast<std::size_t>(rng.uniform_index(120));
    const std::size_t k = 1 + static_cast<std::size_t>(rng.uniform_index(d));
    const Eigen::VectorXd x = random_vector(d, VectorKind::normal, rng);
    for (const double t : {3.0, 0.1, 7.25e5}) {
      const Eigen::VectorXd tx = t * x;
      const Message scaled = compress_with(count_spec(k), tx);
      // Selection of t*x must match the reference on t*x itself (rounding may merge
      // magnitudes into ties, which the reference handles the same way).
      expect_selection(scaled, tx, reference_topk(tx, k));
      const Message base = compress_with(count_spec(k), x);
      if (scaled.indices == base.indices) {
        for (std::size_t i = 0; i < base.count(); ++i) {
          EXPECT_EQ(scaled.values[i], t * base.values[i]);
        }
      }
    }
  }
}

TEST(TopKProperties, DeterministicAndIndependentOfRng) {
  Rng data(8);
  const Eigen::VectorXd x = random_vector(300, VectorKind::small_integers, data);
  const auto compressor = ecco::make_compressor("topk:k=17");
  CompressorWorkspace workspace;
  Message first;
  Rng rng_a(1);
  compressor->compress(x, rng_a, workspace, first);
  for (std::uint64_t seed = 2; seed < 12; ++seed) {
    Rng rng(seed);
    Message again;
    compressor->compress(x, rng, workspace, again);
    EXPECT_EQ(again.indices, first.indices);
    EXPECT_EQ(again.values, first.values);
  }
}

TEST(TopKProperties, ReusesWorkspaceAndMessageAcrossDimensions) {
  const auto compressor = ecco::make_compressor("topk:k=4");
  CompressorWorkspace workspace;
  Message out;
  // Start from a dense message, so that stale dense state would show.
  out.set_dense(Eigen::VectorXd::Constant(50, 9.0));
  Rng rng(3);
  Rng data(4);
  for (const std::size_t d : {100U, 3U, 1U, 1000U, 4U, 57U}) {
    const Eigen::VectorXd x = random_vector(d, VectorKind::normal, data);
    compressor->compress(x, rng, workspace, out);
    expect_selection(out, x, reference_topk(x, 4));
  }
}

TEST(TopKProperties, AcceptsNonContiguousInput) {
  // An Eigen::Ref to a strided row is copied into a temporary by Ref<const>; the result
  // must still match the reference.
  Eigen::MatrixXd m(3, 6);
  m << 1, -6, 2, 0, 5, -5,  //
      9, 9, 9, 9, 9, 9,     //
      0, 0, 0, 0, 0, 0;
  const Eigen::VectorXd row = m.row(0).transpose();
  const auto compressor = ecco::make_compressor("topk:k=2");
  CompressorWorkspace workspace;
  Rng rng(1);
  Message out;
  compressor->compress(m.row(0).transpose(), rng, workspace, out);
  expect_selection(out, row, {1, 4});
}

// ---------------------------------------------------------------------------------------
// TopK: errors

TEST(TopKErrors, NonFiniteInputThrowsNumericError) {
  const auto compressor = ecco::make_compressor("topk:k=2");
  CompressorWorkspace workspace;
  Rng rng(1);
  Message out;
  const double bad_values[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity()};
  for (const double bad : bad_values) {
    for (const std::size_t pos : {0U, 3U, 9U}) {
      Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(10, 1.0, 10.0);
      x[idx(pos)] = bad;
      EXPECT_THROW(compressor->compress(x, rng, workspace, out), ecco::NumericError) << "pos=" << pos;
    }
  }
  // A NaN must not slip through even where a smaller-magnitude entry would be dropped.
  Eigen::VectorXd x(3);
  x << 100.0, 200.0, std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(ecco::make_compressor("topk:k=1")->compress(x, rng, workspace, out), ecco::NumericError);
}

TEST(TopKErrors, EmptyInputIsRejected) {
  const Eigen::VectorXd empty(0);
  EXPECT_THROW(compress_with("topk:k=1", empty), ecco::Error);
  EXPECT_THROW(compress_with("identity", empty), ecco::Error);
}

TEST(TopKErrors, BadSpecsThrowConfigError) {
  const char* bad[] = {
      "topk:k=0",     "topk:k=-1",    "topk:k=1.5",   "topk:k=abc",        "topk",
      "topk:q=1",     "topk:k=1,q=1", "topk:k=0.0",   "topk:k=-0.5",       "topk:k=nan",
      "topk:k=inf",   "topk:k=1e10",  "topk:k=2.0001", "topk:k=4294967296", "topk:k=",
      "topk:k=1,k=2", "topk:k=3x",    "topk:k",       "topk:",             "topk:k=1e400",
  };
  for (const char* spec : bad) {
    EXPECT_THROW(ecco::make_compressor(spec), ecco::ConfigError) << spec;
  }
}

TEST(TopKErrors, ConfigErrorMessageNamesTheProblem) {
  try {
    ecco::make_compressor("topk:k=1.5");
    FAIL() << "expected ConfigError";
  } catch (const ecco::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("1.5"), std::string::npos) << e.what();
  }
  try {
    ecco::make_compressor("topk");
    FAIL() << "expected ConfigError";
  } catch (const ecco::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find('k'), std::string::npos) << e.what();
  }
}

TEST(TopKErrors, WholeNumberWrittenAsDecimalIsACount) {
  Eigen::VectorXd x(4);
  x << 1, 4, -3, 2;
  expect_selection(compress_with("topk:k=2.0", x), x, {1, 2});
  expect_selection(compress_with("topk:k=1", x), x, {1});
  expect_selection(compress_with("topk:k=1.0", x), x, {1});
}

// ---------------------------------------------------------------------------------------
// Identity

TEST(Identity, ReturnsTheInputDensely) {
  Rng data(11);
  for (const std::size_t d : {1U, 2U, 17U, 1000U}) {
    for (const VectorKind kind : kAllKinds) {
      const Eigen::VectorXd x = random_vector(d, kind, data);
      const Message out = compress_with("identity", x);
      EXPECT_EQ(out.layout, Layout::dense);
      EXPECT_EQ(out.dim, static_cast<std::uint32_t>(d));
      EXPECT_TRUE(out.indices.empty());
      ASSERT_EQ(out.count(), d);
      for (std::size_t j = 0; j < d; ++j) {
        EXPECT_EQ(std::bit_cast<std::uint64_t>(out.values[j]), std::bit_cast<std::uint64_t>(x[idx(j)]));
      }
      Eigen::VectorXd y(idx(d));
      out.assign_to(y);
      EXPECT_EQ(y, x);
    }
  }
}

TEST(Identity, OverwritesAPreviousSparseMessage) {
  const auto compressor = ecco::make_compressor("identity");
  CompressorWorkspace workspace;
  Rng rng(1);
  Message out;
  Eigen::VectorXd big(10);
  big << 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
  ecco::make_compressor("topk:k=3")->compress(big, rng, workspace, out);
  ASSERT_EQ(out.layout, Layout::sparse);
  Eigen::VectorXd x(4);
  x << -1.0, 0.0, 2.5, -0.0;
  compressor->compress(x, rng, workspace, out);
  EXPECT_EQ(out.layout, Layout::dense);
  EXPECT_EQ(out.dim, 4U);
  EXPECT_TRUE(out.indices.empty());
  EXPECT_EQ(out.values, (std::vector<double>{-1.0, 0.0, 2.5, -0.0}));
  EXPECT_TRUE(std::signbit(out.values[3]));
}

TEST(Identity, TraitsAndSpec) {
  const auto compressor = ecco::make_compressor("identity");
  EXPECT_EQ(compressor->spec(), "identity");
  for (const std::size_t d : {1U, 100U}) {
    const ecco::CompressorTraits t = compressor->traits(d);
    EXPECT_EQ(t.alpha, 1.0);
    EXPECT_EQ(t.omega, 0.0);
    EXPECT_EQ(t.kind, ecco::CompressorClass::contractive);
    EXPECT_TRUE(t.positively_homogeneous);
    EXPECT_TRUE(t.deterministic);
  }
}

TEST(Identity, NonFiniteInputThrowsNumericError) {
  for (const double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()}) {
    Eigen::VectorXd x = Eigen::VectorXd::Ones(5);
    x[2] = bad;
    EXPECT_THROW(compress_with("identity", x), ecco::NumericError);
  }
}

TEST(Identity, RejectsKeys) {
  EXPECT_THROW(ecco::make_compressor("identity:k=1"), ecco::ConfigError);
  EXPECT_THROW(ecco::make_compressor("identity:x"), ecco::ConfigError);
}

// ---------------------------------------------------------------------------------------
// Registry

TEST(CompressorRegistry, TableListsIdentityAndTopk) {
  const auto table = ecco::compressor_table();
  const auto find = [&table](const std::string& name) -> const ecco::SpecEntry* {
    for (const auto& e : table) {
      if (e.name == name) return &e;
    }
    return nullptr;
  };
  const ecco::SpecEntry* identity = find("identity");
  const ecco::SpecEntry* topk = find("topk");
  ASSERT_NE(identity, nullptr);
  ASSERT_NE(topk, nullptr);
  EXPECT_TRUE(identity->keys.empty());
  ASSERT_EQ(topk->keys.size(), 1U);
  EXPECT_EQ(topk->keys[0].name, "k");
  EXPECT_TRUE(topk->keys[0].default_value.empty()) << "k is required";
  EXPECT_FALSE(topk->help.empty());
  EXPECT_FALSE(identity->help.empty());
  // Names are unique.
  for (std::size_t i = 0; i < table.size(); ++i) {
    for (std::size_t j = i + 1; j < table.size(); ++j) EXPECT_NE(table[i].name, table[j].name);
  }
}

TEST(CompressorRegistry, EveryEntryWithDefaultsBuilds) {
  // Every name whose keys all have defaults builds from its bare name, and its canonical
  // spec builds again.
  for (const auto& e : ecco::compressor_table()) {
    const bool all_defaults =
        std::all_of(e.keys.begin(), e.keys.end(), [](const ecco::SpecKey& k) { return !k.default_value.empty(); });
    if (!all_defaults) {
      EXPECT_THROW(ecco::make_compressor(e.name), ecco::ConfigError) << e.name;
      continue;
    }
    const auto c = ecco::make_compressor(e.name);
    ASSERT_NE(c, nullptr) << e.name;
    EXPECT_NE(ecco::make_compressor(c->spec()), nullptr) << e.name;
  }
}

TEST(CompressorRegistry, UnknownNamesThrowConfigError) {
  for (const char* spec : {"topq", "TopK", "randq:k=1", "", ":k=1", "  ", "identityx", "top k:k=1"}) {
    EXPECT_THROW(ecco::make_compressor(spec), ecco::ConfigError) << "'" << spec << "'";
  }
  try {
    ecco::make_compressor("nosuchcompressor");
    FAIL() << "expected ConfigError";
  } catch (const ecco::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("nosuchcompressor"), std::string::npos) << what;
    EXPECT_NE(what.find("topk"), std::string::npos) << "should list valid names: " << what;
    EXPECT_NE(what.find("identity"), std::string::npos) << "should list valid names: " << what;
  }
}

}  // namespace
