// The training-loop options of model training: step-size schedules, --batch and --epochs,
// SGD momentum, minibatch starts, minibatch-loss metrics, test-set evaluation and the
// problem's own starting point. References are written here: hand-driven gradient loops
// (no method objects), the schedule formulas, and the problems evaluated directly.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ecco/algorithm.hpp"
#include "ecco/error.hpp"
#include "ecco/oracle.hpp"
#include "ecco/problem.hpp"
#include "ecco/step_schedule.hpp"
#include "ecco/trainer.hpp"
#include "method_harness.hpp"
#include "test_data.hpp"

namespace {

using ecco::testing::HarnessConfig;
using ecco::testing::MethodHarness;

ecco::Dataset regression_data() {
  ecco::SyntheticRegression gen;
  gen.clients = 4;
  gen.rows = 20;
  gen.dim = 6;
  gen.spread = 10;
  gen.cond = 4;
  gen.noise = 0.3;
  gen.seed = 5;
  return ecco::make_synthetic_regression(gen);
}


void expect_close_iterates(const std::vector<Eigen::VectorXd>& a, const std::vector<Eigen::VectorXd>& b,
                           double tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t t = 0; t < a.size(); ++t) {
    EXPECT_LE((a[t] - b[t]).norm(), tolerance * std::max(1.0, b[t].norm())) << "iterate " << t;
  }
}

// The schedule's formula, written out for the checks below.
double cosine_step(double gamma, std::int64_t k, std::int64_t warmup, std::int64_t rounds, double final) {
  const double warm = k < warmup ? static_cast<double>(k + 1) / static_cast<double>(warmup) : 1.0;
  const double s = k < warmup ? 0.0 : std::min(1.0, static_cast<double>(k - warmup) / static_cast<double>(rounds - warmup));
  return gamma * warm * (final + (1.0 - final) * 0.5 * (1.0 + std::cos(std::numbers::pi * s)));
}

}  // namespace

// ---- step-size schedules ------------------------------------------------------------------

TEST(StepSchedule, ConstantIsTheStepItself) {
  const double gamma = 0.1234567;
  const auto constant = ecco::StepSchedule::parse("constant", gamma, 100);
  for (std::int64_t k = 0; k < 300; ++k) EXPECT_EQ(constant.at(k), gamma);
  EXPECT_EQ(constant.spec(), "constant:warmup=0");
  EXPECT_EQ(ecco::StepSchedule::constant(gamma).at(7), gamma);
}

TEST(StepSchedule, LinearWarmupThenConstant) {
  const auto s = ecco::StepSchedule::parse("constant:warmup=4", 2.0, 100);
  EXPECT_DOUBLE_EQ(s.at(0), 0.5);
  EXPECT_DOUBLE_EQ(s.at(1), 1.0);
  EXPECT_DOUBLE_EQ(s.at(3), 2.0);
  EXPECT_DOUBLE_EQ(s.at(50), 2.0);
}

TEST(StepSchedule, CosineFollowsItsFormula) {
  const auto s = ecco::StepSchedule::parse("cosine:final=0.1", 1.0, 100);
  EXPECT_DOUBLE_EQ(s.at(0), 1.0);
  EXPECT_DOUBLE_EQ(s.at(50), 0.55);  // halfway: the mean of 1 and 0.1
  EXPECT_DOUBLE_EQ(s.at(100), 0.1);
  EXPECT_DOUBLE_EQ(s.at(5000), 0.1);
  const auto w = ecco::StepSchedule::parse("cosine:warmup=10,final=0", 0.3, 60);
  for (std::int64_t k = 0; k < 70; ++k) EXPECT_NEAR(w.at(k), cosine_step(0.3, k, 10, 60, 0.0), 1e-15) << k;
  // Strictly decreasing after the warm-up until the end.
  for (std::int64_t k = 10; k < 59; ++k) EXPECT_GT(w.at(k), w.at(k + 1)) << k;
}

TEST(StepSchedule, BadSpecsAreConfigErrors) {
  EXPECT_THROW(ecco::StepSchedule::parse("linear", 1.0, 10), ecco::ConfigError);
  EXPECT_THROW(ecco::StepSchedule::parse("cosine:final=2", 1.0, 10), ecco::ConfigError);
  EXPECT_THROW(ecco::StepSchedule::parse("cosine:final=-0.5", 1.0, 10), ecco::ConfigError);
  EXPECT_THROW(ecco::StepSchedule::parse("constant:warmup=11", 1.0, 10), ecco::ConfigError);
  EXPECT_THROW(ecco::StepSchedule::parse("constant:warmup=-1", 1.0, 10), ecco::ConfigError);
  EXPECT_THROW(ecco::StepSchedule::parse("cosine:k=1", 1.0, 10), ecco::ConfigError);
}

// EF21 with identity and a schedule moves exactly as GD with the scheduled steps; EF14
// applies the step on the client (p = e + gamma_t grad) and must use the same gamma_t.
TEST(StepSchedule, ScheduledMethodsAreScheduledGd) {
  const ecco::Dataset data = regression_data();
  const std::int64_t rounds = 40;
  const std::string schedule = "cosine:warmup=5,final=0.2";
  std::vector<Eigen::VectorXd> gd{Eigen::VectorXd::Zero(6)};
  for (std::int64_t k = 0; k < rounds; ++k) {
    gd.push_back(gd.back() - cosine_step(0.05, k, 5, rounds, 0.2) * ecco::testing::mean_gradient(data, 4, gd.back()));
  }
  for (const char* method : {"gd", "ef21", "ef14", "dcgd", "ef21_plus", "ef21_bc"}) {
    HarnessConfig config;
    config.method = method;
    config.data = data;
    config.clients = 4;
    config.step_size = 0.05;
    config.schedule = schedule;
    config.rounds = rounds;
    SCOPED_TRACE(method);
    expect_close_iterates(MethodHarness(config).run(rounds), gd, 1e-12);
  }
}

// ---- SGD momentum --------------------------------------------------------------------------

TEST(SgdMomentum, FullBatchIsHeavyBall) {
  const ecco::Dataset data = regression_data();
  const double gamma = 0.03;
  const double beta = 0.7;
  std::vector<Eigen::VectorXd> hb{Eigen::VectorXd::Zero(6)};
  Eigen::VectorXd v = ecco::testing::mean_gradient(data, 4, hb.back());
  for (int k = 0; k < 60; ++k) {
    if (k > 0) v = beta * v + ecco::testing::mean_gradient(data, 4, hb.back());
    hb.push_back(hb.back() - gamma * v);
  }
  HarnessConfig config;
  config.method = "sgd:batch=full,momentum=0.7";
  config.data = data;
  config.clients = 4;
  config.step_size = gamma;
  expect_close_iterates(MethodHarness(config).run(60), hb, 1e-12);
  // momentum = 0 is plain (full-batch) gradient descent.
  config.method = "sgd:batch=full,momentum=0";
  HarnessConfig gd_config = config;
  gd_config.method = "gd";
  expect_close_iterates(MethodHarness(config).run(30), MethodHarness(gd_config).run(30), 0.0);
  EXPECT_THROW(ecco::make_method("sgd:momentum=1"), ecco::ConfigError);
  EXPECT_THROW(ecco::make_method("sgd:momentum=-0.1"), ecco::ConfigError);
}

// ---- minibatch start ------------------------------------------------------------------------

TEST(MinibatchStart, NoFullGradientIsEverEvaluated) {
  for (const char* method : {"sgd:batch=3", "ef21_sgd:batch=3", "ef21_sgdm:batch=3", "ef14:batch=3",
                             "ef21_page:batch=3,p=0.01", "econtrol:batch=3"}) {
    HarnessConfig config;
    config.method = method;
    config.compressor = "topk:k=2";
    config.data = regression_data();
    config.clients = 4;
    config.step_size = 0.01;
    config.batch_start = true;
    MethodHarness harness(config);
    harness.run(20);
    // PAGE's coin (p = 0.01, seed 3) may still ask for a full gradient in some round; its
    // start must not.
    SCOPED_TRACE(method);
    if (std::string(method).rfind("ef21_page", 0) == 0) {
      EXPECT_LT(harness.full_evaluations(), 4 * 20);
    } else {
      EXPECT_EQ(harness.full_evaluations(), 0);
    }
    config.batch_start = false;
    MethodHarness full_start(config);
    full_start.run(20);
    EXPECT_GE(full_start.full_evaluations(), 4);  // one per client at x^0
  }
}

// ---- --batch and --epochs -------------------------------------------------------------------

TEST(BatchFlag, SetsTheMethodsMinibatch) {
  EXPECT_EQ(ecco::method_with_batch("ef21_sgdm", 64), "ef21_sgdm:batch=64");
  EXPECT_EQ(ecco::method_with_batch("ef21_sgdm:eta=0.2", 64), "ef21_sgdm:eta=0.2,batch=64");
  EXPECT_EQ(ecco::make_method(ecco::method_with_batch("sgd", 5))->spec(), "sgd:batch=5,momentum=0");
  try {
    ecco::method_with_batch("ef21", 64);
    ADD_FAILURE() << "ef21 has no minibatch";
  } catch (const ecco::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("algorithm 'ef21' has no minibatch (methods with one: sgd, dcgd, ef14,"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ecco::method_with_batch("sgd:batch=3", 64), ecco::ConfigError);
  EXPECT_EQ(ecco::method_batch_rows("sgd:batch=0.5", 10), 5U);
  EXPECT_EQ(ecco::method_batch_rows("sgd:batch=4", 10), 4U);
  EXPECT_EQ(ecco::method_batch_rows("ef21", 10), 10U);
}

TEST(Epochs, CountRoundsFromTheMinibatch) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=200,dim=10";
  c.clients = 4;
  c.algorithm = "sgd";
  c.batch = 10;
  c.step_size = "0.1";
  c.epochs = 2.0;  // 2 * 200 rows / (4 clients * 10 rows per round) = 10 rounds
  c.log_every = 1000;
  const auto result = ecco::run_serial(c);
  EXPECT_EQ(result.info.config.rounds, 10);
  EXPECT_EQ(result.rounds_run, 10);
  EXPECT_EQ(result.history.back().round, 10);
  c.epochs = 0.5;  // ceil(2.5)
  EXPECT_EQ(ecco::run_serial(c).rounds_run, 3);
}

// ---- metrics ---------------------------------------------------------------------------------

TEST(MinibatchLoss, OracleAveragesTheLossesSinceItWasLastAsked) {
  auto factory = ecco::make_problem_factory("logistic:lambda=0.01");
  const auto data = ecco::make_synthetic_classification({40, 5, 0.5, 0.1, 2});
  factory->prepare(data);
  const auto problem = factory->make(data);
  ecco::GradientOracle oracle(*problem);
  EXPECT_TRUE(std::isnan(oracle.take_mean_loss()));
  const Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(5, -0.5, 0.5);
  Eigen::VectorXd g(5);
  const std::vector<std::uint32_t> a{0, 3, 7}, b{1, 2, 30, 31};
  oracle.batch_gradient(x, a, g);
  oracle.batch_gradient(x, b, g);
  // The minibatch loss by hand: mean softplus(-y a^T x) + regulariser.
  const auto batch_loss = [&](const std::vector<std::uint32_t>& rows) {
    double sum = 0.0;
    for (const std::uint32_t j : rows) {
      const double margin = data.labels[j] * data.features.row(j).dot(x);
      sum += std::log1p(std::exp(-margin));
    }
    double reg = 0.0;
    for (Eigen::Index k = 0; k < x.size(); ++k) reg += x[k] * x[k] / (1.0 + x[k] * x[k]);
    return sum / static_cast<double>(rows.size()) + 0.01 * reg;
  };
  EXPECT_NEAR(oracle.take_mean_loss(), 0.5 * (batch_loss(a) + batch_loss(b)), 1e-14);
  EXPECT_TRUE(std::isnan(oracle.take_mean_loss()));
  // A full evaluation counts once, and a repeated one (same version) not again.
  oracle.gradient(x, 4);
  oracle.gradient(x, 4);
  EXPECT_NEAR(oracle.take_mean_loss(), problem->loss(x), 1e-15);
}

// With full gradients each round the clients' losses are f_i(x^t): the minibatch-loss
// metric then equals the full metric's f(x^t) bit for bit, without the gradient norm.
TEST(MinibatchLoss, EqualsTheFullLossForFullGradients) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=300,dim=12";
  c.clients = 5;
  c.algorithm = "gd";
  c.step_size = "0.5";
  c.rounds = 25;
  c.train_metrics = "full";
  const auto full = ecco::run_serial(c);
  c.train_metrics = "batch";
  const auto batch = ecco::run_serial(c);
  ASSERT_EQ(full.history.size(), batch.history.size());
  for (std::size_t t = 0; t < full.history.size(); ++t) {
    EXPECT_EQ(full.history[t].loss, batch.history[t].loss) << t;
    EXPECT_TRUE(std::isnan(batch.history[t].grad_norm_sq));
    EXPECT_TRUE(std::isnan(batch.history[t].train_accuracy));
    EXPECT_FALSE(std::isnan(full.history[t].train_accuracy));
  }
  EXPECT_EQ(full.x, batch.x);
  EXPECT_FALSE(batch.info.full_metrics);
  c.target_accuracy = 0.9;
  EXPECT_THROW(ecco::run_serial(c), ecco::ConfigError);  // the training accuracy is not measured
}

TEST(TestSet, EvaluatedEveryEvalEveryRoundsOnTheWholeSet) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=300,dim=12,seed=3";
  c.test_data = "synthetic_classification:rows=101,dim=12,seed=4";
  c.problem = "softmax:lambda=0.001";
  c.clients = 7;  // 101 test rows do not split evenly
  c.algorithm = "ef21_sgdm:batch=8";
  c.compressor = "topk:k=0.2";
  c.step_size = "0.5";
  c.rounds = 23;
  c.eval_every = 5;
  c.log_every = 2;
  const auto result = ecco::run_serial(c);
  EXPECT_EQ(result.info.test_rows, 101U);
  std::vector<std::int64_t> logged, evaluated;
  for (const auto& row : result.history) {
    logged.push_back(row.round);
    if (!std::isnan(row.test_loss)) evaluated.push_back(row.round);
    EXPECT_EQ(std::isnan(row.test_loss), std::isnan(row.test_accuracy)) << row.round;
  }
  EXPECT_EQ(evaluated, (std::vector<std::int64_t>{0, 5, 10, 15, 20, 23}));
  EXPECT_EQ(logged, (std::vector<std::int64_t>{0, 2, 4, 5, 6, 8, 10, 12, 14, 15, 16, 18, 20, 22, 23}));

  // The last evaluation against the problem built on the whole test set, in the run's
  // arithmetic (softmax: fp32 by default). The run sums the clients' slices; the per-row
  // losses are summed in fp64 either way, so the sums differ in the last digits only.
  EXPECT_EQ(result.info.precision, ecco::ComputePrecision::fp32);
  auto factory = ecco::make_problem_factory(c.problem);
  factory->set_precision(result.info.precision);
  factory->prepare(ecco::load_dataset(c.data, std::nullopt, c.clients));
  const auto test = factory->make(ecco::load_dataset(c.test_data, std::nullopt, 1));
  const auto& last = result.history.back();
  EXPECT_NEAR(last.test_loss, test->loss(result.x), 1e-12 * test->loss(result.x));
  EXPECT_EQ(last.test_accuracy, static_cast<double>(*test->correct(result.x)) / 101.0);
}

TEST(TestSet, AbsentUnlessAskedFor) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=100,dim=5";
  c.rounds = 3;
  const auto result = ecco::run_serial(c);
  EXPECT_EQ(result.info.test_rows, 0U);
  for (const auto& row : result.history) EXPECT_TRUE(std::isnan(row.test_loss));
  c.test_data = "synthetic_classification:rows=10,dim=6";
  EXPECT_THROW(ecco::run_serial(c), ecco::Error);  // d = 6 against the training d = 5
}

// ---- starting point --------------------------------------------------------------------------

TEST(StartingPoint, AutoIsTheProblemsOwnInitialisation) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=60,dim=7";
  c.problem = "mlp:hidden=5x3,init_seed=9";
  c.clients = 2;
  c.algorithm = "sgd:batch=4";
  c.step_size = "0.1";
  c.rounds = 0;
  const auto result = ecco::run_serial(c);
  auto factory = ecco::make_problem_factory(c.problem);
  factory->prepare(ecco::load_dataset(c.data, std::nullopt, 2));
  Eigen::VectorXd expected(static_cast<Eigen::Index>(ecco::layout_dim(factory->tensors(ecco::load_dataset(c.data, std::nullopt, 2)))));
  ASSERT_TRUE(factory->initial_point(expected));
  EXPECT_EQ(result.x, expected);
  EXPECT_EQ(result.info.dim, static_cast<std::size_t>(expected.size()));
  EXPECT_EQ(result.info.tensors.size(), 6U);  // fc1..fc3, weight and bias each
  c.x0 = "zero";
  EXPECT_TRUE(ecco::run_serial(c).x.isZero(0.0));
}

// ---- per-tensor compression in a run --------------------------------------------------------

// Identity per tensor moves exactly like identity over x; each message carries, per tensor,
// a 4-byte length and a 20-byte header more (docs/wire-format.md, parts layout).
TEST(Granularity, TensorIdentityCostsOnlyThePartHeaders) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=120,dim=9";
  c.problem = "mlp:hidden=6x5";
  c.clients = 3;
  c.algorithm = "ef21_sgd:batch=4";
  c.compressor = "identity";
  c.step_size = "0.2";
  c.rounds = 10;
  const auto global = ecco::run_serial(c);
  c.granularity = "tensor";
  const auto tensor = ecco::run_serial(c);
  EXPECT_EQ(global.x, tensor.x);
  const std::uint64_t tensors = tensor.info.tensors.size();
  ASSERT_EQ(tensors, 6U);
  const std::uint64_t messages = 3 * 10;  // the initial messages (init=full) travel dense in both
  EXPECT_EQ(tensor.history.back().bits_up - global.history.back().bits_up, messages * 8 * 24 * tensors);
  EXPECT_EQ(tensor.info.granularity, "tensor (6 tensors, dense below 0)");
}

// PowerSGD-style: lowrank per weight matrix under error feedback needs the explicit opt-in
// (lowrank has no contraction guarantee) and a constant step.
TEST(Granularity, LowrankPerTensorWithErrorFeedbackNeedsTheOptIn) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=120,dim=9";
  c.problem = "mlp:hidden=6x5";
  c.clients = 3;
  c.algorithm = "ef21_sgdm:batch=4";
  c.compressor = "lowrank:r=1";
  c.granularity = "tensor";
  c.dense_below = 7;
  c.step_size = "0.2";
  c.rounds = 5;
  EXPECT_THROW(ecco::run_serial(c), ecco::ConfigError);
  c.allow_any_compressor = true;
  const auto result = ecco::run_serial(c);
  EXPECT_EQ(result.rounds_run, 5);
  EXPECT_TRUE(result.x.allFinite());
  c.step_size = "theory";
  EXPECT_THROW(ecco::run_serial(c), ecco::ConfigError);
}

// ---- a real model learns --------------------------------------------------------------------

// A small MLP on Fashion-MNIST with top-1% EF21-SGDM: the test accuracy must pass 70%, which
// an untrained model (10 classes, about 10%) cannot reach. Skipped without the Debian package.
TEST(FashionMnist, ShortCompressedTrainingLearns) {
  ECCO_REQUIRE_FASHION_MNIST();
  ecco::RunConfig c;
  c.data = "fashion_mnist:rows=12000,test_rows=2000";
  c.problem = "mlp:hidden=32";
  c.clients = 4;
  c.algorithm = "ef21_sgdm:eta=0.1,init=compressed";
  c.batch = 32;
  c.compressor = "topk:k=0.01";
  c.step_size = "0.1";
  c.rounds = 250;
  c.eval_every = 250;
  c.log_every = 250;
  const auto result = ecco::run_serial(c);
  ASSERT_EQ(result.history.size(), 2U);
  EXPECT_LT(result.history.front().test_accuracy, 0.3);
  EXPECT_GT(result.history.back().test_accuracy, 0.7);
  // The uplink carried about 1% of the dense fp32 bytes (values and indices of the top 1%).
  const double dense = 32.0 * static_cast<double>(result.info.dim) * static_cast<double>(result.messages_up);
  EXPECT_LT(static_cast<double>(result.history.back().bits_up), 0.03 * dense);
}

// A LIBSVM multiclass file (labels 1, 2, 7) trains softmax: three classes, weight 3 x d.
TEST(Multiclass, LibsvmLabelsBecomeClasses) {
  const auto path = std::filesystem::temp_directory_path() / "ecco_multiclass_test.svm";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    for (int r = 0; r < 60; ++r) {
      const int label = r % 3 == 0 ? 1 : (r % 3 == 1 ? 2 : 7);
      std::fprintf(f, "%d %d:1 4:%g\n", label, 1 + r % 3, 0.1 * (r % 5));
    }
    std::fclose(f);
  }
  ecco::RunConfig c;
  c.data = path.string();
  c.problem = "softmax:lambda=0.01";
  c.clients = 3;
  c.split = "shuffle:seed=2";
  c.algorithm = "gd";
  c.step_size = "1";
  c.rounds = 200;
  c.log_every = 200;
  c.train_metrics = "full";
  const auto result = ecco::run_serial(c);
  std::filesystem::remove(path);
  ASSERT_EQ(result.info.tensors.size(), 2U);
  EXPECT_EQ(result.info.tensors[0].rows, 3U);  // classes
  EXPECT_EQ(result.info.tensors[0].cols, 4U);  // features
  EXPECT_EQ(result.info.dim, 3U * 4U + 3U);
  // Feature (1 + r % 3) identifies the class: the model separates them.
  EXPECT_EQ(result.history.back().train_accuracy, 1.0);
}
