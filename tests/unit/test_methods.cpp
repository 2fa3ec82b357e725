// Methods against independent references: EF21 with the identity compressor is GD; EF21
// with TopK equals a plain re-implementation of ALGORITHMS.md 1.3; the EF21 theorem's
// bound holds on a real run; bits are what the wire format says.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "ecco/algorithm.hpp"
#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/step_size.hpp"
#include "ecco/trainer.hpp"
#include "method_harness.hpp"

namespace {

ecco::RunConfig synthetic_config(const char* algorithm, const char* compressor) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=300,dim=12,density=0.5,seed=3";
  c.clients = 6;
  c.algorithm = algorithm;
  c.compressor = compressor;
  c.rounds = 100;
  c.wire = ecco::ValueFormat::fp64;
  c.x0 = "gaussian";
  c.seed = 5;
  return c;
}

ecco::Dataset classification_data() {
  ecco::SyntheticClassification gen;
  gen.rows = 200;
  gen.dim = 10;
  gen.density = 0.5;
  gen.seed = 8;
  return ecco::make_synthetic_classification(gen);
}

std::vector<Eigen::VectorXd> harness_run(const char* method, const char* compressor, double gamma,
                                         std::int64_t rounds) {
  ecco::testing::HarnessConfig config;
  config.method = method;
  config.compressor = compressor;
  config.problem = "logistic:lambda=0.1";
  config.step_size = gamma;
  config.data = classification_data();
  return ecco::testing::MethodHarness(config).run(rounds);
}

// TopK by a full sort: larger |x| first, then smaller index.
Eigen::VectorXd reference_topk(const Eigen::VectorXd& x, std::size_t k) {
  std::vector<Eigen::Index> order(static_cast<std::size_t>(x.size()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](Eigen::Index a, Eigen::Index b) { return std::fabs(x[a]) > std::fabs(x[b]); });
  Eigen::VectorXd out = Eigen::VectorXd::Zero(x.size());
  for (std::size_t i = 0; i < k; ++i) out[order[i]] = x[order[i]];
  return out;
}

}  // namespace

TEST(Methods, Ef21WithIdentityIsGradientDescentIterateForIterate) {
  const auto a = harness_run("gd", "identity", 0.5, 300);
  const auto b = harness_run("ef21", "identity", 0.5, 300);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t t = 0; t < a.size(); ++t) {
    // EF21 forms g_i + (grad - g_i), GD forms grad: equal up to rounding of the difference.
    EXPECT_LE((a[t] - b[t]).norm(), 1e-12 * std::max(1.0, a[t].norm())) << "iterate " << t;
  }
  EXPECT_GT((a.back() - a.front()).norm(), 0.1);  // the iterates really moved
}

TEST(Methods, Ef21WithIdentityMatchesGdThroughTheTrainer) {
  auto gd_config = synthetic_config("gd", "identity");
  auto ef_config = synthetic_config("ef21", "identity");
  const auto gd = ecco::run_serial(gd_config);
  const auto ef = ecco::run_serial(ef_config);
  ASSERT_EQ(gd.history.size(), ef.history.size());
  EXPECT_EQ(gd.info.step_size, ef.info.step_size);  // alpha = 1 for both: gamma = 1/L
  for (std::size_t t = 0; t < gd.history.size(); ++t) {
    EXPECT_NEAR(gd.history[t].grad_norm_sq, ef.history[t].grad_norm_sq, 1e-12 * gd.history[0].grad_norm_sq);
    EXPECT_NEAR(gd.history[t].loss, ef.history[t].loss, 1e-13);
  }
  EXPECT_LE((gd.x - ef.x).norm(), 1e-12 * gd.x.norm());
}

TEST(Methods, Ef21TopKMatchesPlainReimplementation) {
  auto config = synthetic_config("ef21", "topk:k=2");
  config.step_size = "0.7";
  const auto run = ecco::run_serial(config);

  // The same run written directly from ALGORITHMS.md 1.3 with dense vectors.
  ecco::SyntheticClassification gen;
  gen.rows = 300;
  gen.dim = 12;
  gen.density = 0.5;
  gen.seed = 3;
  const auto data = ecco::make_synthetic_classification(gen);
  const auto ranges = ecco::split_contiguous(300, 6);
  const auto factory = ecco::make_problem_factory("logistic:lambda=0.1");
  std::vector<std::unique_ptr<ecco::Problem>> f;
  for (const auto& r : ranges) f.push_back(factory->make(data.slice(r.begin, r.end)));
  const auto grad = [&](std::size_t i, const Eigen::VectorXd& x) {
    Eigen::VectorXd g(12);
    f[i]->loss_and_gradient(x, g);
    return g;
  };
  ecco::Rng x0_rng(ecco::derive_seed(5, ecco::kNoClient, ecco::SeedPurpose::initial_point));
  Eigen::VectorXd x(12);
  for (Eigen::Index j = 0; j < 12; ++j) x[j] = x0_rng.normal();
  std::vector<Eigen::VectorXd> g_i;
  Eigen::VectorXd g = Eigen::VectorXd::Zero(12);
  for (std::size_t i = 0; i < 6; ++i) {
    g_i.push_back(grad(i, x));
    g += g_i.back() / 6.0;
  }
  for (int t = 1; t <= 100; ++t) {
    x -= 0.7 * g;
    Eigen::VectorXd mean_c = Eigen::VectorXd::Zero(12);
    Eigen::VectorXd full = Eigen::VectorXd::Zero(12);
    for (std::size_t i = 0; i < 6; ++i) {
      const Eigen::VectorXd gi = grad(i, x);
      const Eigen::VectorXd c = reference_topk(gi - g_i[i], 2);
      g_i[i] += c;
      mean_c += c / 6.0;
      full += gi / 6.0;
    }
    g += mean_c;
    ASSERT_NEAR(run.history[static_cast<std::size_t>(t)].grad_norm_sq, full.squaredNorm(),
                1e-9 * full.squaredNorm())
        << "round " << t;
  }
  EXPECT_LE((run.x - x).norm(), 1e-10 * x.norm());
}

TEST(Methods, BitsAreTheEncodedBytes) {
  auto config = synthetic_config("ef21", "topk:k=1");
  config.rounds = 10;
  const auto run = ecco::run_serial(config);
  // fp64 wire (docs/wire-format.md, version 2): the initial dense gradient is 20 + 8 d bytes
  // per client. Each round a client sends one (index, value) pair: the encoder picks the
  // smallest index section, here delta-varint (an index < 128 is one byte; bitmap would be
  // ceil(12 / 8) = 2 bytes, raw32 4; dense 8 d), so 20 + 1 + 8 bytes. The model downlink is
  // dense fp64.
  const std::uint64_t n = 6;
  const std::uint64_t d = 12;
  const std::uint64_t initial = n * (20 + 8 * d) * 8;
  const std::uint64_t per_round_up = n * (20 + 1 + 8) * 8;
  const std::uint64_t per_round_down = n * (20 + 8 * d) * 8;
  for (const auto& row : run.history) {
    const auto t = static_cast<std::uint64_t>(row.round);
    EXPECT_EQ(row.bits_up, initial + t * per_round_up);
    EXPECT_EQ(row.bits_down, t * per_round_down);
  }
}

TEST(Methods, Ef21SatisfiesTheoremOneBound) {
  // EF21 Theorem 1 with g_i^0 = grad f_i(x^0) (so G^0 = 0) and gamma at the theory rule:
  //   (1/T) sum_{t<T} ||grad f(x^t)||^2 <= 2 (f(x^0) - f_inf) / (gamma T),
  // and f_inf >= 0 for the logistic loss plus a non-negative regulariser.
  ecco::RunConfig config;
  config.data = "synthetic_classification:rows=400,dim=8,density=0.5,seed=2";
  config.clients = 10;
  config.algorithm = "ef21";
  config.compressor = "topk:k=1";
  config.wire = ecco::ValueFormat::fp64;
  config.rounds = 3000;
  const auto run = ecco::run_serial(config);
  const auto T = static_cast<double>(config.rounds);
  double average = 0.0;
  for (std::size_t t = 0; t < static_cast<std::size_t>(config.rounds); ++t) average += run.history[t].grad_norm_sq;
  average /= T;
  const double bound = 2.0 * run.history[0].loss / (run.info.step_size * T);
  // The bound must say something: well below where the run started.
  ASSERT_LT(bound, 0.2 * run.history[0].grad_norm_sq);
  EXPECT_LE(average, bound);
  // And with the theory step size x1 the method does not blow up.
  EXPECT_LT(run.history.back().grad_norm_sq, run.history[0].grad_norm_sq);
}

TEST(Methods, Ef21RejectsNonContractiveAndGdIgnoresCompressor) {
  const auto ef21 = ecco::make_method("ef21");
  const auto gd = ecco::make_method("gd");
  ecco::CompressorTraits unbiased;
  unbiased.kind = ecco::CompressorClass::unbiased;
  unbiased.omega = 3.0;
  EXPECT_THROW(ef21->check_compressor(unbiased), ecco::ConfigError);
  EXPECT_NO_THROW(ecco::make_method("dcgd")->check_compressor(unbiased));
  EXPECT_FALSE(gd->uses_compressor());
  EXPECT_THROW(ecco::make_method("ef22"), ecco::ConfigError);
  EXPECT_THROW(ecco::make_method("ef21:eta=1"), ecco::ConfigError);
}

TEST(Trainer, RejectsBadConfigurations) {
  auto base = synthetic_config("ef21", "topk:k=1");
  auto expect_config_error = [](ecco::RunConfig c) { EXPECT_THROW(ecco::run_serial(c), ecco::ConfigError); };
  auto c = base;
  c.clients = 301;  // more clients than rows
  expect_config_error(c);
  c = base;
  c.x0 = "ones";
  expect_config_error(c);
  c = base;
  c.step_size = "fast";
  expect_config_error(c);
  c = base;
  c.data = "synthetic_classification:rows=0";
  expect_config_error(c);
  c = base;
  c.data = "synthetic_classification:cols=3";
  expect_config_error(c);
  c = base;
  c.dim = 13;  // contradicts the generator's dim
  expect_config_error(c);
  c = base;
  c.data = "/nonexistent/file.svm";
  EXPECT_THROW(ecco::run_serial(c), ecco::DataError);
}

// Values the data cannot honour are capped, and said once (issue 17: they were capped
// silently).
TEST(Trainer, CappedValuesAreWarnedAbout) {
  const auto warnings_of = [](ecco::RunConfig c) {
    c.rounds = 1;
    return ecco::run_serial(c).warnings;
  };
  auto c = synthetic_config("ef21", "topk:k=500");
  auto w = warnings_of(c);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("--compressor topk:k=500 keeps every coordinate of d = "), std::string::npos) << w[0];
  EXPECT_TRUE(warnings_of(synthetic_config("ef21", "topk:k=12")).empty());
  EXPECT_TRUE(warnings_of(synthetic_config("ef21", "topk:k=0.5")).empty());

  // lowrank reshapes d into ceil(sqrt d) rows and ceil(d / rows) columns; r above their
  // minimum is capped to it.
  c = synthetic_config("ef21", "lowrank:r=50");
  c.allow_any_compressor = true;
  c.step_size = "0.1";
  const std::size_t d = ecco::run_serial([&] { auto one = c; one.rounds = 0; return one; }()).info.dim;
  std::size_t rows = 1;
  while (rows * rows < d) ++rows;
  const std::size_t cols = (d + rows - 1) / rows;
  w = warnings_of(c);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("(r is capped at " + std::to_string(std::min(rows, cols)) + ")"), std::string::npos) << w[0];

  // 300 rows over 6 clients: 50 each.
  c = synthetic_config("ef21_sgd:batch=60", "topk:k=2");
  w = warnings_of(c);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("minibatch of 60 rows is more than the smallest client's 50 rows"), std::string::npos) << w[0];
  EXPECT_TRUE(warnings_of(synthetic_config("ef21_sgd:batch=50", "topk:k=2")).empty());
}

// A loss that stays finite but grows past 10x its first value is said once (issue 17:
// logistic loss 0.69 -> 11.2 ended with exit 0 and no word).
TEST(Trainer, AFiniteDivergenceIsWarnedAboutOnce) {
  auto c = synthetic_config("gd", "identity");
  c.x0 = "zero";
  c.rounds = 30;
  c.step_size = "1000";
  const ecco::RunResult diverging = ecco::run_serial(c);
  ASSERT_FALSE(diverging.history.empty());
  const double first = diverging.history.front().loss;
  double largest = first;
  for (const auto& row : diverging.history) largest = std::max(largest, row.loss);
  ASSERT_GT(largest, 10.0 * first) << "the step must make the loss grow for this test";
  ASSERT_TRUE(std::isfinite(largest));
  std::size_t said = 0;
  for (const std::string& w : diverging.warnings) said += w.find("the run is diverging") != std::string::npos ? 1U : 0U;
  EXPECT_EQ(said, 1u);
  c.step_size = "1";
  for (const std::string& w : ecco::run_serial(c).warnings) EXPECT_EQ(w.find("diverging"), std::string::npos) << w;
}

TEST(Trainer, BatchCountAbove32BitsIsAConfigError) {
  // Rows are 32-bit indices (found by fuzz_spec: 1e30 was cast to an integer, undefined).
  for (const char* spec : {"ef21_sgd:batch=4294967296", "ef21_sgd:batch=1e30", "dcgd:batch=1e300"}) {
    EXPECT_THROW((void)ecco::method_batch_rows(spec, 100), ecco::ConfigError) << spec;
  }
  EXPECT_EQ(ecco::method_batch_rows("ef21_sgd:batch=4294967295", 100), 100u);
  EXPECT_EQ(ecco::method_batch_count("ef21_sgd:batch=7"), std::optional<std::size_t>(7));
  EXPECT_EQ(ecco::method_batch_count("ef21_sgd:batch=0.5"), std::nullopt);
  EXPECT_EQ(ecco::method_batch_count("ef21"), std::nullopt);
}

TEST(Trainer, NonFiniteGradientIsANumericErrorWithContext) {
  // Least squares on four rows a = 1e38 (inside the reader's fp32 range) and a huge step:
  // x_1 = -gamma grad f(0) is about 8e237, finite, and the gradient at x_1 is a^2 x_1 ~ 1e314,
  // which overflows to inf in client 0 at round 1.
  const auto path = std::filesystem::temp_directory_path() / ("ecco-overflow-" + std::to_string(::getpid()) + ".svm");
  {
    std::ofstream out(path);
    for (int r = 0; r < 4; ++r) out << "1 1:1e38\n";
    out << "-1 1:1\n";
  }
  ecco::RunConfig c;
  c.data = path.string();
  c.problem = "least_squares";
  c.algorithm = "gd";
  c.clients = 1;
  c.rounds = 3;
  c.step_size = "1e200";
  c.wire = ecco::ValueFormat::fp64;
  try {
    ecco::run_serial(c);
    ADD_FAILURE() << "expected a NumericError";
  } catch (const ecco::NumericError& e) {
    EXPECT_NE(std::string(e.what()).find("client 0, round 1"), std::string::npos) << e.what();
    // The agreed failure keeps its category: the same object is a RoundFailure that says so.
    const auto* agreed = dynamic_cast<const ecco::RoundFailure*>(&e);
    ASSERT_NE(agreed, nullptr);
    EXPECT_TRUE(agreed->numeric());
    EXPECT_TRUE(agreed->report());
  }
  std::filesystem::remove(path);
}
