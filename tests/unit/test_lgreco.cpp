// L-GreCo (--adaptive lgreco): the dynamic program (level_choice.hpp) against brute force,
// the levelled per-tensor compressor (levelled_compressor.hpp) against the plain per-tensor
// compressor and errors computed here, the candidate levels (adaptive_levels.hpp), and runs
// through the trainer: a switch of levels against a driver written here that switches its
// compressor at the same round, and one level that leaves the run as without --adaptive.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/adaptive_levels.hpp"
#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/level_choice.hpp"
#include "ecco/levelled_compressor.hpp"
#include "ecco/problem.hpp"
#include "ecco/rng.hpp"
#include "ecco/trainer.hpp"
#include "method_harness.hpp"

namespace {

using ecco::LevelChoice;
using ecco::LevelCosts;

// ---------------------------------------------------------------------------------------
// The dynamic program

struct Brute {
  bool feasible = false;
  std::uint64_t bytes = 0;
  double error = 0.0;
};

// Every assignment of levels, errors summed in tensor order from 0 (as the program sums).
void for_each_choice(const LevelCosts& costs, const std::function<void(std::uint64_t, double)>& visit) {
  std::vector<std::size_t> level(costs.tensors, 0);
  while (true) {
    std::uint64_t bytes = 0;
    double error = 0.0;
    for (std::size_t k = 0; k < costs.tensors; ++k) {
      bytes += costs.bytes[k * costs.levels + level[k]];
      error += costs.error[k * costs.levels + level[k]];
    }
    visit(bytes, error);
    std::size_t k = 0;
    while (k < costs.tensors && ++level[k] == costs.levels) level[k++] = 0;
    if (k == costs.tensors) return;
  }
}

Brute brute_min_bytes(const LevelCosts& costs, double max_error) {
  Brute best;
  for_each_choice(costs, [&](std::uint64_t bytes, double error) {
    if (error > max_error) return;
    if (!best.feasible || bytes < best.bytes || (bytes == best.bytes && error < best.error)) best = {true, bytes, error};
  });
  return best;
}

Brute brute_min_error(const LevelCosts& costs, std::uint64_t max_bytes) {
  Brute best;
  for_each_choice(costs, [&](std::uint64_t bytes, double error) {
    if (bytes > max_bytes) return;
    if (!best.feasible || error < best.error) best = {true, bytes, error};
  });
  return best;
}

LevelCosts random_costs(ecco::Rng& rng, std::size_t tensors, std::size_t levels, std::uint64_t max_bytes) {
  LevelCosts costs;
  costs.tensors = tensors;
  costs.levels = levels;
  for (std::size_t i = 0; i < tensors * levels; ++i) {
    costs.bytes.push_back(1 + rng.uniform_index(max_bytes));
    // Some exact ties and zeros among the errors.
    costs.error.push_back(rng.uniform() < 0.2 ? 0.0 : std::floor(rng.uniform() * 50.0) / 4.0);
  }
  return costs;
}

// The choice's own bytes and error, recomputed from its levels.
void expect_consistent(const LevelCosts& costs, const LevelChoice& choice) {
  ASSERT_EQ(choice.level.size(), costs.tensors);
  std::uint64_t bytes = 0;
  double error = 0.0;
  for (std::size_t k = 0; k < costs.tensors; ++k) {
    ASSERT_LT(choice.level[k], costs.levels);
    bytes += costs.bytes[k * costs.levels + choice.level[k]];
    error += costs.error[k * costs.levels + choice.level[k]];
  }
  EXPECT_EQ(choice.bytes, bytes);
  EXPECT_EQ(choice.error, error);
}

TEST(LevelChoice, MinBytesWithinErrorMatchesBruteForce) {
  ecco::Rng rng(17);
  int feasible = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const std::size_t tensors = 1 + rng.uniform_index(5);
    const std::size_t levels = 1 + rng.uniform_index(4);
    const LevelCosts costs = random_costs(rng, tensors, levels, 40);
    // Thresholds below, at and above the errors that occur.
    const double max_error = std::floor(rng.uniform() * 12.5 * static_cast<double>(tensors)) / 4.0 - 1.0;
    SCOPED_TRACE("trial " + std::to_string(trial) + ", max error " + std::to_string(max_error));
    const Brute expected = brute_min_bytes(costs, max_error);
    // buckets >= the largest total: one byte per unit, exact.
    const LevelChoice got = ecco::min_bytes_within_error(costs, max_error, 1000);
    ASSERT_EQ(got.feasible, expected.feasible);
    if (!expected.feasible) {
      EXPECT_TRUE(got.level.empty());
      continue;
    }
    ++feasible;
    expect_consistent(costs, got);
    EXPECT_EQ(got.bytes, expected.bytes);
    EXPECT_EQ(got.error, expected.error);
    EXPECT_LE(got.error, max_error);
  }
  EXPECT_GT(feasible, 100);
}

TEST(LevelChoice, MinErrorWithinBytesMatchesBruteForce) {
  ecco::Rng rng(23);
  int feasible = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const std::size_t tensors = 1 + rng.uniform_index(5);
    const std::size_t levels = 1 + rng.uniform_index(4);
    const LevelCosts costs = random_costs(rng, tensors, levels, 40);
    const std::uint64_t budget = rng.uniform_index(40 * tensors + 10);
    SCOPED_TRACE("trial " + std::to_string(trial) + ", budget " + std::to_string(budget));
    const Brute expected = brute_min_error(costs, budget);
    const LevelChoice got = ecco::min_error_within_bytes(costs, budget, 1000);
    ASSERT_EQ(got.feasible, expected.feasible);
    if (!expected.feasible) continue;
    ++feasible;
    expect_consistent(costs, got);
    EXPECT_EQ(got.error, expected.error);
    EXPECT_LE(got.bytes, budget);
  }
  EXPECT_GT(feasible, 150);
}

// Coarse units (u > 1 byte): the answers stay within their constraint in true bytes and
// error, and are never better than the exact optimum.
TEST(LevelChoice, CoarseUnitsStayWithinTheConstraints) {
  ecco::Rng rng(29);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t tensors = 1 + rng.uniform_index(5);
    const std::size_t levels = 1 + rng.uniform_index(4);
    const LevelCosts costs = random_costs(rng, tensors, levels, 5000);
    const std::size_t buckets = 1 + rng.uniform_index(60);
    SCOPED_TRACE("trial " + std::to_string(trial) + ", buckets " + std::to_string(buckets));
    const std::uint64_t budget = rng.uniform_index(5000 * tensors);
    const LevelChoice by_bytes = ecco::min_error_within_bytes(costs, budget, buckets);
    const Brute exact_bytes = brute_min_error(costs, budget);
    if (by_bytes.feasible) {
      expect_consistent(costs, by_bytes);
      EXPECT_LE(by_bytes.bytes, budget);
      ASSERT_TRUE(exact_bytes.feasible);
      EXPECT_GE(by_bytes.error, exact_bytes.error);
    }
    const double max_error = std::floor(rng.uniform() * 12.5 * static_cast<double>(tensors)) / 4.0;
    const LevelChoice by_error = ecco::min_bytes_within_error(costs, max_error, buckets);
    const Brute exact_error = brute_min_bytes(costs, max_error);
    ASSERT_EQ(by_error.feasible, exact_error.feasible);  // feasibility does not depend on bytes
    if (by_error.feasible) {
      expect_consistent(costs, by_error);
      EXPECT_LE(by_error.error, max_error);
      EXPECT_GE(by_error.bytes, exact_error.bytes);
    }
  }
}

// A budget the smallest message fits in true bytes, though not in rounded units, gets that
// message (units of 10 bytes here: 13 + 13 bytes round up to 4 units, over 26 / 10 = 2).
TEST(LevelChoice, ABudgetOnlyTheSmallestMessageFitsGetsIt) {
  const LevelCosts costs{.tensors = 2, .levels = 2, .bytes = {13, 40, 13, 40}, .error = {5, 1, 7, 2}};
  const LevelChoice choice = ecco::min_error_within_bytes(costs, 26, 8);
  ASSERT_TRUE(choice.feasible);
  EXPECT_EQ(choice.level, (std::vector<std::uint32_t>{0, 0}));
  EXPECT_EQ(choice.bytes, 26U);
  EXPECT_EQ(choice.error, 12.0);
  EXPECT_FALSE(ecco::min_error_within_bytes(costs, 25, 8).feasible);
}

// Rounding to units would exclude a budget equal to one uniform setting's bytes (3 x 13 = 39
// bytes, 3 x 2 = 6 units of 10 over 39 / 10 = 3): the polish in true bytes gets it back.
TEST(LevelChoice, ABudgetEqualToAUniformSettingGetsIt) {
  const LevelCosts costs{.tensors = 3, .levels = 2, .bytes = {5, 13, 5, 13, 5, 13}, .error = {4, 1, 4, 1, 4, 1}};
  const LevelChoice choice = ecco::min_error_within_bytes(costs, 39, 4);
  ASSERT_TRUE(choice.feasible);
  EXPECT_EQ(choice.level, (std::vector<std::uint32_t>{1, 1, 1}));
  EXPECT_EQ(choice.bytes, 39U);
  EXPECT_EQ(choice.error, 3.0);
  // The error form likewise reaches the fewest true bytes one move away.
  const LevelChoice by_error = ecco::min_bytes_within_error(costs, 6.0, 4);
  ASSERT_TRUE(by_error.feasible);
  EXPECT_EQ(by_error.error, 6.0);
  EXPECT_EQ(by_error.bytes, 31U);
}

// Errors of very different magnitudes, whose sums round: the polish still ends (a move is
// judged by the totals it leaves, summed afresh) and the answers keep their constraints. The
// first version compared incremental differences, and two levels could each look better
// than the other by a rounding: it never ended.
TEST(LevelChoice, RoundedSumsStillEnd) {
  ecco::Rng rng(31);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t tensors = 2 + rng.uniform_index(6);
    const std::size_t levels = 2 + rng.uniform_index(5);
    LevelCosts costs = random_costs(rng, tensors, levels, 5000);
    for (double& e : costs.error) e = rng.uniform() * std::pow(10.0, static_cast<double>(rng.uniform_index(33)) - 16.0);
    const std::size_t buckets = 1 + rng.uniform_index(40);
    double uniform = 0.0;
    for (std::size_t k = 0; k < tensors; ++k) uniform += costs.error[k * levels + levels / 2];
    const LevelChoice a = ecco::min_bytes_within_error(costs, uniform, buckets);
    ASSERT_TRUE(a.feasible);
    EXPECT_LE(a.error, uniform);
    expect_consistent(costs, a);
    const LevelChoice b = ecco::min_error_within_bytes(costs, 2500 * tensors, buckets);
    if (b.feasible) {
      EXPECT_LE(b.bytes, 2500 * tensors);
      expect_consistent(costs, b);
    }
  }
}

TEST(LevelChoice, RefusesMalformedCosts) {
  LevelCosts costs{.tensors = 2, .levels = 2, .bytes = {1, 2, 3}, .error = {0, 0, 0, 0}};
  EXPECT_THROW((void)ecco::min_bytes_within_error(costs, 1.0), std::invalid_argument);
  costs.bytes.push_back(4);
  costs.error[1] = -1.0;
  EXPECT_THROW((void)ecco::min_bytes_within_error(costs, 1.0), std::invalid_argument);
  costs.error[1] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW((void)ecco::min_error_within_bytes(costs, 10), std::invalid_argument);
  costs.error[1] = 0.0;
  EXPECT_THROW((void)ecco::min_error_within_bytes(costs, 10, 0), std::invalid_argument);
  EXPECT_THROW((void)ecco::min_error_within_bytes(LevelCosts{}, 10), std::invalid_argument);
  EXPECT_TRUE(ecco::min_error_within_bytes(costs, 10).feasible);
}

// ---------------------------------------------------------------------------------------
// The levelled compressor

const ecco::TensorLayout kLayout = {{"w", 0, 4, 5}, {"b", 20, 4, 1}, {"v", 24, 9, 1}};

Eigen::VectorXd test_vector(std::uint64_t seed) {
  ecco::Rng rng(seed);
  Eigen::VectorXd x(33);
  for (Eigen::Index j = 0; j < x.size(); ++j) x[j] = rng.normal();
  return x;
}

void expect_same_bytes(const ecco::Message& a, const ecco::Message& b) {
  std::vector<std::byte> ea;
  std::vector<std::byte> eb;
  ecco::encode(a, ecco::ValueFormat::fp64, ea);
  ecco::encode(b, ecco::ValueFormat::fp64, eb);
  EXPECT_EQ(ea, eb);
}

TEST(LevelledCompressor, EachLevelIsThePlainPerTensorCompressor) {
  const std::vector<std::string> levels = {"topk:k=0.2", "topk:k=0.5", "lowrank:r=1", "lowrank:r=2"};
  auto levelled = ecco::make_levelled_compressor(levels, kLayout, 0, 1);
  EXPECT_EQ(levelled->tensor_count(), 3U);
  EXPECT_EQ(levelled->level_count(), 4U);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(levelled->level(k), 1U);
  // Per level, the plain compressor; calls alternate between levels to show that each level
  // keeps its own lowrank warm start.
  std::vector<std::unique_ptr<ecco::Compressor>> plain;
  std::vector<ecco::CompressorWorkspace> plain_ws(levels.size());
  for (const auto& spec : levels) plain.push_back(ecco::make_tensorwise_compressor(spec, kLayout, 0));
  ecco::CompressorWorkspace ws;
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(33);
  for (int call = 0; call < 8; ++call) {
    const std::uint32_t c = static_cast<std::uint32_t>((call * 3) % 4);
    const std::uint32_t all[3] = {c, c, c};
    levelled->set_levels(all);
    const Eigen::VectorXd x = test_vector(100 + static_cast<std::uint64_t>(call));
    sum += x;
    ecco::Rng r1(static_cast<std::uint64_t>(call));
    ecco::Rng r2(static_cast<std::uint64_t>(call));
    ecco::Message a;
    ecco::Message b;
    levelled->compress(x, r1, ws, a);
    plain[c]->compress(x, r2, plain_ws[c], b);
    SCOPED_TRACE("call " + std::to_string(call) + ", level " + levels[c]);
    expect_same_bytes(a, b);
    EXPECT_EQ(levelled->traits(33).bits, plain[c]->traits(33).bits);
  }
  // Every call added its input to the accumulated sum.
  ASSERT_EQ(ws.accumulated.size(), 33);
  EXPECT_EQ(ws.accumulated, sum);
}

TEST(LevelledCompressor, MixedLevelsCompressEachTensorAtItsOwn) {
  const std::vector<std::string> levels = {"topk:k=0.2", "topk:k=0.5"};
  auto levelled = ecco::make_levelled_compressor(levels, kLayout, 0, 0);
  const std::uint32_t chosen[3] = {1, 0, 1};
  levelled->set_levels(chosen);
  const Eigen::VectorXd x = test_vector(7);
  ecco::Rng rng(1);
  ecco::CompressorWorkspace ws;
  ecco::Message m;
  levelled->compress(x, rng, ws, m);
  ASSERT_EQ(m.parts.size(), 3U);
  for (std::size_t k = 0; k < 3; ++k) {
    const auto single = ecco::make_compressor(levels[chosen[k]]);
    ecco::Rng r(1);
    ecco::CompressorWorkspace w;
    ecco::Message part;
    single->compress(x.segment(static_cast<Eigen::Index>(kLayout[k].offset), static_cast<Eigen::Index>(kLayout[k].size())),
                     r, w, part);
    SCOPED_TRACE("tensor " + kLayout[k].name);
    expect_same_bytes(m.parts[k], part);
  }
  EXPECT_THROW(levelled->set_levels(std::vector<std::uint32_t>{0, 1}), std::invalid_argument);
  EXPECT_THROW(levelled->set_levels(std::vector<std::uint32_t>{0, 1, 2}), std::invalid_argument);
}

// ||a_k - topk(a_k)||^2 by sorting the squares (ties do not change the sum).
double topk_error(const Eigen::VectorXd& a, std::size_t keep) {
  std::vector<double> squares;
  for (const double v : a) squares.push_back(v * v);
  std::sort(squares.begin(), squares.end(), std::greater<>());
  double error = 0.0;
  for (std::size_t j = keep; j < squares.size(); ++j) error += squares[j];
  return error;
}

TEST(LevelledCompressor, TakeErrorsMeasuresEveryLevelOnTheAccumulatedInputs) {
  // dense_below 5: the 4-coordinate bias travels dense at every level (no error).
  const std::vector<std::string> levels = {"topk:k=1", "topk:k=3", "topk:k=6"};
  auto levelled = ecco::make_levelled_compressor(levels, kLayout, 5, 1);
  ecco::CompressorWorkspace ws;
  std::vector<double> errors(9, 0.0);
  ecco::Rng rng(3);
  levelled->take_errors(ws, rng, errors);  // nothing compressed yet: nothing added
  EXPECT_EQ(errors, std::vector<double>(9, 0.0));
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(33);
  for (int call = 0; call < 3; ++call) {
    const Eigen::VectorXd x = test_vector(40 + static_cast<std::uint64_t>(call));
    sum += x;
    ecco::Message m;
    levelled->compress(x, rng, ws, m);
  }
  errors.assign(9, 0.5);  // take_errors adds
  levelled->take_errors(ws, rng, errors);
  for (std::size_t k = 0; k < 3; ++k) {
    const Eigen::VectorXd a = sum.segment(static_cast<Eigen::Index>(kLayout[k].offset),
                                          static_cast<Eigen::Index>(kLayout[k].size()));
    for (std::size_t c = 0; c < 3; ++c) {
      const std::size_t keep[3] = {1, 3, 6};
      const double expected = 0.5 + (k == 1 ? 0.0 : topk_error(a, keep[c]));
      EXPECT_NEAR(errors[k * 3 + c], expected, 1e-12 * (1.0 + expected)) << "tensor " << k << " level " << c;
      EXPECT_EQ(levelled->dense(k, c), k == 1);
      const double bits = levelled->dense(k, c) ? 64.0 * 4 : ecco::make_compressor(levels[c])->traits(kLayout[k].size()).bits;
      if (k != 1) {
        EXPECT_EQ(levelled->part_bytes(k, c), static_cast<std::uint64_t>(std::ceil(bits / 8.0)) + 24);
      }
    }
  }
  // The sum restarts.
  EXPECT_EQ(ws.accumulated, Eigen::VectorXd::Zero(33));
  std::vector<double> short_table(8);
  EXPECT_THROW(levelled->take_errors(ws, rng, short_table), std::invalid_argument);
}

// A lowrank level's error is measured after warm-started power iterations: on an exactly
// rank-1 tensor, rank 1 loses (almost) nothing.
TEST(LevelledCompressor, LowrankErrorsOnALowRankTensor) {
  const ecco::TensorLayout layout = {{"w", 0, 6, 8}};
  auto levelled = ecco::make_levelled_compressor(std::vector<std::string>{"lowrank:r=1", "lowrank:r=2"}, layout, 0, 0);
  Eigen::VectorXd u(6);
  Eigen::VectorXd v(8);
  ecco::Rng draw(5);
  for (auto& e : u) e = draw.normal();
  for (auto& e : v) e = draw.normal();
  Eigen::VectorXd x(48);
  for (int j = 0; j < 8; ++j) x.segment(6 * j, 6) = u * v[j];
  ecco::CompressorWorkspace ws;
  ecco::Message m;
  ecco::Rng rng(9);
  levelled->compress(x, rng, ws, m);
  std::vector<double> errors(2, 0.0);
  levelled->take_errors(ws, rng, errors);
  EXPECT_LT(errors[0], 1e-20 * x.squaredNorm() + 1e-24);
  EXPECT_LT(errors[1], 1e-20 * x.squaredNorm() + 1e-24);
}

// ---------------------------------------------------------------------------------------
// Candidate levels

TEST(AdaptiveLevels, AutoLevelsAroundTheCompressorsOwn) {
  auto a = ecco::parse_adaptive_levels("lgreco", "topk:k=0.01");
  EXPECT_EQ(a.spec, "lgreco:buckets=4096,budget=0,every=100,levels=auto");
  EXPECT_EQ(a.level_key, "k");
  EXPECT_EQ(a.level_values, (std::vector<std::string>{"0.00125", "0.0025", "0.005", "0.01", "0.02", "0.04", "0.08"}));
  EXPECT_EQ(a.uniform_level, 3U);
  EXPECT_EQ(a.level_specs[0], "topk:k=0.00125");
  a = ecco::parse_adaptive_levels("lgreco:every=7", "lowrank:r=4");
  EXPECT_EQ(a.every, 7);
  EXPECT_EQ(a.level_values, (std::vector<std::string>{"1", "2", "4", "8", "16", "32"}));
  EXPECT_EQ(a.uniform_level, 2U);
  // Fractions capped below 1; counts whole.
  a = ecco::parse_adaptive_levels("lgreco", "topk:k=0.25");
  EXPECT_EQ(a.level_values, (std::vector<std::string>{"0.03125", "0.0625", "0.125", "0.25", "0.5"}));
  a = ecco::parse_adaptive_levels("lgreco", "topk:k=3");
  EXPECT_EQ(a.level_values, (std::vector<std::string>{"1", "2", "3", "6", "12", "24"}));
  a = ecco::parse_adaptive_levels("lgreco", "qsgd:s=8,norm=inf");
  EXPECT_EQ(a.level_specs.back(), "qsgd:s=64,norm=inf");
}

TEST(AdaptiveLevels, GivenLevelsSortedWithTheUniformOne) {
  const auto a = ecco::parse_adaptive_levels("lgreco:levels=8/1/2,budget=5000", "lowrank:r=4");
  EXPECT_EQ(a.level_values, (std::vector<std::string>{"1", "2", "4", "8"}));
  EXPECT_EQ(a.uniform_level, 2U);
  EXPECT_EQ(a.budget, 5000U);
  const auto b = ecco::parse_adaptive_levels("lgreco:levels=0.01", "topk:k=0.01");
  EXPECT_EQ(b.level_specs, (std::vector<std::string>{"topk:k=0.01"}));
  // Any spelling of a number names the same level, written as the shortest decimal.
  const auto c = ecco::parse_adaptive_levels("lgreco:levels=.005/1e-2/0x1p-7", "topk:k=.01");
  EXPECT_EQ(c.level_values, (std::vector<std::string>{"0.005", "0.0078125", "0.01"}));
  EXPECT_EQ(c.uniform_level, 2U);
  EXPECT_EQ(c.level_specs[2], "topk:k=0.01");
}

TEST(AdaptiveLevels, BadSpecsNameWhatIsWrong) {
  const auto error_of = [](const char* adaptive, const char* compressor) -> std::string {
    try {
      (void)ecco::parse_adaptive_levels(adaptive, compressor);
    } catch (const ecco::ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(error_of("greco", "topk:k=0.01").find("lgreco"), std::string::npos);
  EXPECT_NE(error_of("lgreco:every=0", "topk:k=0.01").find("every must be >= 1"), std::string::npos);
  EXPECT_NE(error_of("lgreco:buckets=0", "topk:k=0.01").find("buckets"), std::string::npos);
  EXPECT_NE(error_of("lgreco:budget=-3", "topk:k=0.01").find("budget"), std::string::npos);
  EXPECT_NE(error_of("lgreco", "sign").find("no level to adapt"), std::string::npos);
  EXPECT_NE(error_of("lgreco", "topk:k=0.01+qsgd:s=4").find("composition"), std::string::npos);
  EXPECT_NE(error_of("lgreco:levels=0.1/x", "topk:k=0.01").find("'x' is not a number"), std::string::npos);
  EXPECT_NE(error_of("lgreco:levels=2000", "natural_dithering:s=4").find("level 2000"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Through the trainer

constexpr const char* kData = "synthetic_classification:rows=120,dim=10,density=0.6,seed=4";

ecco::Dataset harness_data() {
  ecco::SyntheticClassification gen;
  gen.rows = 120;
  gen.dim = 10;
  gen.density = 0.6;
  gen.seed = 4;
  return ecco::make_synthetic_classification(gen);
}

ecco::RunConfig softmax_run() {
  ecco::RunConfig c;
  c.data = kData;
  c.problem = "softmax:lambda=0.01";
  c.clients = 4;
  c.algorithm = "ef21";
  c.compressor = "topk:k=0.5";
  c.granularity = "tensor";
  c.step_size = "0.5";
  c.x0 = "zero";
  c.rounds = 25;
  c.wire = ecco::ValueFormat::fp64;
  c.precision = ecco::ComputePrecision::fp64;  // as the driver's problems compute
  c.seed = 3;
  return c;
}

// The per-tensor compressor `before` for the first `switch_after` calls, `after` from then
// on (the driver below calls it once per client and round, in order).
class SwitchingCompressor final : public ecco::Compressor {
 public:
  SwitchingCompressor(std::shared_ptr<ecco::Compressor> before, std::shared_ptr<ecco::Compressor> after,
                      int switch_after)
      : before_(std::move(before)), after_(std::move(after)), switch_after_(switch_after) {}
  std::string spec() const override { return "switching"; }
  ecco::CompressorTraits traits(std::size_t dim) const override { return before_->traits(dim); }
  void compress(Eigen::Ref<const Eigen::VectorXd> x, ecco::Rng& rng, ecco::CompressorWorkspace& ws,
                ecco::Message& out) const override {
    (calls_++ < switch_after_ ? before_ : after_)->compress(x, rng, ws, out);
  }

 private:
  std::shared_ptr<ecco::Compressor> before_;
  std::shared_ptr<ecco::Compressor> after_;
  int switch_after_;
  mutable int calls_ = 0;
};

// A budget that only the smallest level fits forces every tensor to it at the first choice
// (after round 10): the run equals EF21 whose compressor switches from k = 0.5 to k = 0.1 per
// tensor after round 10, driven here without the trainer; EF21's g_i carry over the switch.
TEST(LgrecoRuns, ASwitchOfLevelsIsEf21WithTheNewCompressorFromTheNextRound) {
  ecco::RunConfig c = softmax_run();
  const auto factory = ecco::make_problem_factory(c.problem);
  factory->prepare(harness_data());
  const ecco::TensorLayout layout = factory->tensors(harness_data());
  ASSERT_EQ(layout.size(), 2U);
  const auto levels = ecco::make_levelled_compressor(std::vector<std::string>{"topk:k=0.1", "topk:k=0.5"}, layout, 0, 1);
  const std::uint64_t smallest = levels->part_bytes(0, 0) + levels->part_bytes(1, 0);
  c.adaptive = "lgreco:every=10,levels=0.1,budget=" + std::to_string(smallest);
  const ecco::RunResult run = ecco::run_serial(c);
  ASSERT_EQ(run.level_decisions.size(), 2U);  // after rounds 10 and 20
  EXPECT_EQ(run.level_decisions[0].round, 10);
  EXPECT_EQ(run.level_decisions[1].round, 20);
  for (const auto& d : run.level_decisions) {
    EXPECT_EQ(d.level, (std::vector<std::uint32_t>{0, 0}));
    EXPECT_EQ(d.bytes, smallest);
    EXPECT_GT(d.error, d.uniform_error);  // fewer coordinates kept: more error
  }
  ASSERT_EQ(run.tensor_traffic.size(), 2U);
  EXPECT_EQ(run.tensor_traffic[0].level, "topk:k=0.1");

  ecco::testing::HarnessConfig h;
  h.method = "ef21";
  h.problem = c.problem;
  h.step_size = 0.5;
  h.clients = 4;
  h.wire = ecco::ValueFormat::fp64;
  h.through_wire = true;
  h.seed = 3;
  h.data = harness_data();
  // Calls: 4 per round (EF21's initial message, init=full, is the dense gradient and calls no
  // compressor); rounds 1..10 at k = 0.5.
  h.compressor_object = std::make_shared<SwitchingCompressor>(ecco::make_tensorwise_compressor("topk:k=0.5", layout, 0),
                                                              ecco::make_tensorwise_compressor("topk:k=0.1", layout, 0),
                                                              4 * 10);
  const std::vector<Eigen::VectorXd> iterates = ecco::testing::MethodHarness(h).run(25);
  ASSERT_EQ(run.x.size(), iterates.back().size());
  EXPECT_EQ((run.x - iterates.back()).norm(), 0.0);
  for (Eigen::Index j = 0; j < run.x.size(); ++j) {
    EXPECT_EQ(std::bit_cast<std::uint64_t>(run.x[j] + 0.0), std::bit_cast<std::uint64_t>(iterates.back()[j] + 0.0))
        << "coordinate " << j;
  }
  // The driver without a switch is the trainer without --adaptive, and the switch mattered:
  // without it the run ends elsewhere.
  const ecco::RunResult fixed = ecco::run_serial(softmax_run());
  h.compressor_object = ecco::make_tensorwise_compressor("topk:k=0.5", layout, 0);
  const Eigen::VectorXd unswitched = ecco::testing::MethodHarness(h).run(25).back();
  EXPECT_EQ((fixed.x - unswitched).norm(), 0.0);
  EXPECT_GT((fixed.x - run.x).norm(), 1e-6);
}

// With the uniform level as the only candidate every choice keeps it: the run is the run
// without --adaptive, bit for bit (measuring draws from its own streams, copies the warm
// starts, and leaves the clients' state alone), for TopK and lowrank (warm starts) alike.
TEST(LgrecoRuns, TheUniformLevelAloneChangesNothing) {
  for (const char* compressor : {"topk:k=0.5", "lowrank:r=1"}) {
    SCOPED_TRACE(compressor);
    ecco::RunConfig c = softmax_run();
    c.compressor = compressor;
    c.allow_any_compressor = true;
    c.problem = "mlp:hidden=6,init_seed=2";
    c.x0 = "auto";
    c.log_every = 1;
    const ecco::RunResult plain = ecco::run_serial(c);
    c.adaptive = std::string("lgreco:every=4,levels=") + (compressor[0] == 't' ? "0.5" : "1");
    const ecco::RunResult adaptive = ecco::run_serial(c);
    EXPECT_EQ(adaptive.level_decisions.size(), 6U);
    ASSERT_EQ(plain.history.size(), adaptive.history.size());
    for (std::size_t t = 0; t < plain.history.size(); ++t) {
      EXPECT_EQ(std::bit_cast<std::uint64_t>(plain.history[t].loss), std::bit_cast<std::uint64_t>(adaptive.history[t].loss))
          << "row " << t;
      EXPECT_EQ(plain.history[t].bits_up, adaptive.history[t].bits_up);
    }
    for (Eigen::Index j = 0; j < plain.x.size(); ++j) {
      EXPECT_EQ(std::bit_cast<std::uint64_t>(plain.x[j]), std::bit_cast<std::uint64_t>(adaptive.x[j])) << j;
    }
  }
}

// The per-tensor traffic adds up to the run's uplink: every round's parts message is its
// 20-byte header, a 4-byte length per part and the parts themselves (docs/wire-format.md,
// "Parts layout"); EF21's initial messages (row 0) are dense, outside the parts.
TEST(LgrecoRuns, PerTensorTrafficAddsUp) {
  ecco::RunConfig c = softmax_run();
  c.adaptive = "lgreco:every=5";
  const ecco::RunResult run = ecco::run_serial(c);
  ASSERT_EQ(run.tensor_traffic.size(), 2U);
  std::uint64_t tensors = 0;
  for (const auto& t : run.tensor_traffic) tensors += t.bits_up;
  ASSERT_EQ(run.history.front().round, 0);
  const std::uint64_t round_messages = run.messages_up - c.clients;
  const std::uint64_t framing = 8 * (20 + 4 * 2) * round_messages;
  EXPECT_EQ(tensors, run.history.back().bits_up - run.history.front().bits_up - framing);
  EXPECT_EQ(run.tensor_traffic[0].name, "weight");
}

TEST(LgrecoRuns, SetUpRefusesWhatCannotWork) {
  const auto error_of = [](ecco::RunConfig c) -> std::string {
    try {
      (void)ecco::run_serial(c);
    } catch (const ecco::ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  };
  ecco::RunConfig c = softmax_run();
  c.adaptive = "lgreco";
  c.granularity = "global";
  EXPECT_NE(error_of(c).find("needs --granularity tensor"), std::string::npos);
  c = softmax_run();
  c.adaptive = "lgreco:budget=10";
  EXPECT_NE(error_of(c).find("below the smallest message"), std::string::npos);
  c = softmax_run();
  c.adaptive = "lgreco";
  c.algorithm = "gd";
  EXPECT_NE(error_of(c).find("no level to choose"), std::string::npos);
  c.algorithm = "ef21_plus";
  EXPECT_NE(error_of(c).find("compresses more than one vector per round"), std::string::npos);
  // The smallest message these levels make is a budget that works; a byte less is refused.
  c = softmax_run();
  const auto settings = ecco::parse_adaptive_levels("lgreco", c.compressor);
  const auto factory = ecco::make_problem_factory(c.problem);
  factory->prepare(harness_data());
  const auto levels = ecco::make_levelled_compressor(settings.level_specs, factory->tensors(harness_data()), 0, 0);
  std::uint64_t smallest = 0;
  for (std::size_t k = 0; k < levels->tensor_count(); ++k) {
    std::uint64_t least = levels->part_bytes(k, 0);
    for (std::size_t l = 1; l < levels->level_count(); ++l) least = std::min(least, levels->part_bytes(k, l));
    smallest += least;
  }
  c.adaptive = "lgreco:every=3,budget=" + std::to_string(smallest);
  EXPECT_EQ(error_of(c), "(no error)");
  c.adaptive = "lgreco:every=3,budget=" + std::to_string(smallest - 1);
  EXPECT_NE(error_of(c).find("below the smallest message"), std::string::npos);
  // Other checks of this change's flags.
  c = softmax_run();
  c.target_test_accuracy = 0.5;
  EXPECT_NE(error_of(c).find("--target-test-accuracy needs a test set"), std::string::npos);
  c.problem = "least_squares";
  EXPECT_NE(error_of(c).find("has no accuracy"), std::string::npos);
  c = softmax_run();
  c.algorithm = "ef14:momentum=0.9";
  c.step_size = "theory";
  EXPECT_NE(error_of(c).find("has no theory step size"), std::string::npos);
}

}  // namespace
