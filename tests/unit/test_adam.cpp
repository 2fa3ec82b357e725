// adam and onebit_adam against Adam and 1-bit Adam written here from their definitions
// (docs/adam.md), their error feedback and frozen variance checked on the
// method objects themselves, and onebit_adam with a warm-up as long as the run equal to adam.
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "algorithms/builtin.hpp"
#include "ecco/algorithm.hpp"
#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/trainer.hpp"
#include "method_harness.hpp"
#include "test_data.hpp"

namespace {

constexpr std::size_t kClients = 4;

ecco::Dataset regression_data() {
  ecco::SyntheticClassification gen;
  gen.rows = 120;
  gen.dim = 10;
  gen.density = 0.6;
  gen.seed = 11;
  return ecco::make_synthetic_classification(gen);
}

// grad f_i(x) of every client (least squares, contiguous blocks, as the harness splits).
std::vector<Eigen::VectorXd> client_gradients(const ecco::Dataset& data, const Eigen::VectorXd& x) {
  const auto factory = ecco::make_problem_factory("least_squares:lambda=0");
  std::vector<Eigen::VectorXd> out;
  for (const auto& r : ecco::split_contiguous(data.rows(), kClients)) {
    Eigen::VectorXd g(x.size());
    factory->make(data.slice(r.begin, r.end))->loss_and_gradient(x, g);
    out.push_back(g);
  }
  return out;
}

// 1-bit Adam's compressor, chunk by chunk: (||u_j||_2 / sqrt(len_j)) sign(u_j), the scale
// rounded to fp32, sign(0) = +1.
Eigen::VectorXd reference_onebit(const Eigen::VectorXd& u, Eigen::Index chunk) {
  Eigen::VectorXd out(u.size());
  for (Eigen::Index first = 0; first < u.size(); first += chunk) {
    const Eigen::Index len = std::min(chunk, u.size() - first);
    double squares = 0.0;
    for (Eigen::Index j = first; j < first + len; ++j) squares += u[j] * u[j];
    const auto scale = static_cast<double>(static_cast<float>(std::sqrt(squares) / std::sqrt(static_cast<double>(len))));
    for (Eigen::Index j = first; j < first + len; ++j) out[j] = u[j] < 0.0 ? -scale : scale;
  }
  return out;
}

struct AdamSetting {
  double lr = 0.05;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool bias_correction = true;
  std::int64_t freeze = 1 << 30;  // onebit_adam's warm-up (adam: never frozen)
  Eigen::Index chunk = 4;
};

// x^0 = 0, ..., x^T of (1-bit) Adam with full local gradients, written from the definitions.
std::vector<Eigen::VectorXd> reference_adam(const ecco::Dataset& data, const AdamSetting& a, std::int64_t rounds) {
  const auto d = static_cast<Eigen::Index>(data.dim());
  Eigen::VectorXd x = Eigen::VectorXd::Zero(d), m = x, s = x, server_error = x;
  std::vector<Eigen::VectorXd> worker_error(kClients, x);
  double c2 = 1.0;
  std::vector<Eigen::VectorXd> iterates{x};
  for (std::int64_t k = 0; k < rounds; ++k) {
    const auto g = client_gradients(data, x);
    if (k < a.freeze) {
      Eigen::VectorXd mean = Eigen::VectorXd::Zero(d);
      for (const auto& gi : g) mean += gi;
      mean /= static_cast<double>(kClients);
      m = a.beta1 * m + (1 - a.beta1) * mean;
      s = a.beta2 * s + (1 - a.beta2) * mean.cwiseProduct(mean);
      if (a.bias_correction) c2 = std::sqrt(1 - std::pow(a.beta2, static_cast<double>(k + 1)));
    } else {
      Eigen::VectorXd mean = Eigen::VectorXd::Zero(d);
      for (std::size_t i = 0; i < kClients; ++i) {
        const Eigen::VectorXd u = a.beta1 * m + (1 - a.beta1) * g[i] + worker_error[i];
        const Eigen::VectorXd c = reference_onebit(u, a.chunk);
        worker_error[i] = u - c;
        mean += c;
      }
      const Eigen::VectorXd u = mean / static_cast<double>(kClients) + server_error;
      m = reference_onebit(u, a.chunk);
      server_error = u - m;
    }
    const double c1 = a.bias_correction ? 1 - std::pow(a.beta1, static_cast<double>(k + 1)) : 1.0;
    x = x * (1 - a.lr * a.weight_decay) -
        (a.lr / c1) * m.cwiseQuotient((s.cwiseSqrt() / c2).array().matrix() + Eigen::VectorXd::Constant(d, a.eps));
    iterates.push_back(x);
  }
  return iterates;
}

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

std::string spec_of(const char* name, const AdamSetting& a) {
  std::string spec = std::string(name) + ":batch=full,beta1=" + number(a.beta1) + ",beta2=" + number(a.beta2) +
                     ",eps=" + number(a.eps) + ",weight_decay=" + number(a.weight_decay) +
                     ",bias_correction=" + (a.bias_correction ? "true" : "false");
  if (std::string(name) == "onebit_adam") {
    spec += ",freeze=" + std::to_string(a.freeze) + ",chunk=" + std::to_string(a.chunk);
  }
  return spec;
}

std::vector<Eigen::VectorXd> harness_run(const char* name, const AdamSetting& a, std::int64_t rounds) {
  ecco::testing::HarnessConfig config;
  config.method = spec_of(name, a);
  config.step_size = a.lr;
  config.clients = kClients;
  config.data = regression_data();
  config.through_wire = true;
  return ecco::testing::MethodHarness(config).run(rounds);
}

void expect_iterates_near(const std::vector<Eigen::VectorXd>& got, const std::vector<Eigen::VectorXd>& want,
                          double tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t t = 0; t < got.size(); ++t) {
    EXPECT_LE((got[t] - want[t]).lpNorm<Eigen::Infinity>(), tolerance * (1.0 + want[t].lpNorm<Eigen::Infinity>()))
        << "x^" << t;
  }
}

TEST(Adam, MatchesAdamWrittenInTheTest) {
  for (const bool bias : {true, false}) {
    for (const double decay : {0.0, 0.3}) {
      AdamSetting a;
      a.bias_correction = bias;
      a.weight_decay = decay;
      SCOPED_TRACE(spec_of("adam", a));
      const auto want = reference_adam(regression_data(), a, 30);
      expect_iterates_near(harness_run("adam", a, 30), want, 1e-12);
      // The run moved: Adam's first steps are about lr per coordinate.
      EXPECT_GT((want.back() - want.front()).norm(), 10 * a.lr);
    }
  }
}

TEST(OnebitAdam, MatchesOneBitAdamWrittenInTheTest) {
  for (const bool bias : {true, false}) {
    AdamSetting a;
    a.bias_correction = bias;
    a.weight_decay = 0.1;
    a.freeze = 6;
    a.chunk = 4;  // d = 10: chunks of 4, 4 and 2 coordinates
    SCOPED_TRACE(spec_of("onebit_adam", a));
    const auto want = reference_adam(regression_data(), a, 25);
    expect_iterates_near(harness_run("onebit_adam", a, 25), want, 1e-9);
    // After the freeze the run differs from adam's: the momentum is compressed.
    AdamSetting dense = a;
    dense.freeze = 1 << 30;
    const auto adam = reference_adam(regression_data(), dense, 25);
    EXPECT_GT((adam.back() - want.back()).norm(), 1e-6);
  }
}

// With a warm-up at least as long as the run, onebit_adam is adam, bit for bit, through the
// trainer (wire codec, minibatches, fp32 wire).
TEST(OnebitAdam, WarmUpAsLongAsTheRunIsAdamBitForBit) {
  ecco::RunConfig c;
  c.data = "synthetic:rows=40,dim=12,spread=5,noise=0.5,seed=4";
  c.problem = "least_squares:lambda=0.01";
  c.clients = 3;
  c.step_size = "0.01";
  c.rounds = 12;
  c.log_every = 1;
  c.x0 = "gaussian";
  c.algorithm = "adam:batch=5,weight_decay=0.01";
  const auto adam = ecco::run_serial(c);
  for (const char* freeze : {"12", "13", "1000"}) {
    c.algorithm = std::string("onebit_adam:batch=5,weight_decay=0.01,freeze=") + freeze;
    const auto onebit = ecco::run_serial(c);
    ASSERT_EQ(onebit.history.size(), adam.history.size());
    for (Eigen::Index j = 0; j < adam.x.size(); ++j) EXPECT_EQ(onebit.x[j], adam.x[j]) << "freeze " << freeze;
    for (std::size_t r = 0; r < adam.history.size(); ++r) EXPECT_EQ(onebit.history[r].loss, adam.history[r].loss);
  }
  // One round less of warm-up and the last step is a 1-bit one.
  c.algorithm = "onebit_adam:batch=5,weight_decay=0.01,freeze=11";
  EXPECT_NE(ecco::run_serial(c).x, adam.x);
}

// The method objects driven by hand: worker errors e_i and the server error e_s keep exactly
// what the compression dropped (e = u - C(u), and C(u) + e == u up to one rounding), and the
// variance stays what it was at the freeze.
TEST(OnebitAdam, ErrorFeedbackAndFrozenVariance) {
  const ecco::Dataset data = regression_data();
  const std::int64_t freeze = 3;
  const std::string spec = "onebit_adam:batch=full,chunk=3,beta2=0.9,freeze=" + std::to_string(freeze);
  const auto method = ecco::make_method(spec);
  ecco::MethodSetup setup;
  setup.dim = data.dim();
  setup.clients = kClients;
  setup.schedule = ecco::StepSchedule::constant(0.02);
  setup.wire = ecco::ValueFormat::fp64;
  const auto factory = ecco::make_problem_factory("least_squares:lambda=0");
  std::vector<std::unique_ptr<ecco::Problem>> problems;
  std::vector<std::unique_ptr<ecco::GradientOracle>> oracles;
  std::vector<std::unique_ptr<ecco::ClientMethod>> clients;
  std::vector<ecco::Rng> rngs;
  std::vector<ecco::CompressorWorkspace> workspaces(kClients);
  for (const auto& r : ecco::split_contiguous(data.rows(), kClients)) {
    problems.push_back(factory->make(data.slice(r.begin, r.end)));
    oracles.push_back(std::make_unique<ecco::GradientOracle>(*problems.back()));
    clients.push_back(method->make_client(setup, clients.size()));
    rngs.emplace_back(clients.size());
  }
  const auto server = method->make_server(setup);
  const auto replica = method->make_replica(setup);
  const ecco::detail::MeanStepState* state = ecco::detail::onebit_adam_state(*replica);
  ASSERT_NE(state, nullptr);
  const auto d = static_cast<Eigen::Index>(data.dim());
  Eigen::VectorXd x = Eigen::VectorXd::Zero(d);
  Eigen::VectorXd frozen_variance;
  auto compressor = ecco::make_compressor("identity");
  for (std::int64_t t = 0; t <= 12; ++t) {
    if (t > 0) {
      ecco::Message down;
      server->make_downlink(x, down);
      replica->apply_downlink(down, x);
      if (t == freeze) frozen_variance = state->adam_s();  // s after update freeze - 1
      if (t > freeze) {
        for (Eigen::Index j = 0; j < d; ++j) ASSERT_EQ(state->adam_s()[j], frozen_variance[j]) << "round " << t;
      }
    }
    const Eigen::VectorXd m_before = state->adam_m();
    const Eigen::VectorXd server_error_before = *ecco::detail::onebit_adam_server_error(*server);
    server->begin_aggregation();
    Eigen::VectorXd mean = Eigen::VectorXd::Zero(d);
    for (std::size_t i = 0; i < kClients; ++i) {
      const Eigen::VectorXd error_before = *ecco::detail::onebit_adam_worker_error(*clients[i]);
      ecco::Rng sample(7);
      ecco::ClientEnv env{i, *oracles[i], *compressor, rngs[i], sample, workspaces[i], ecco::ValueFormat::fp64};
      ecco::Message m;
      ASSERT_TRUE(t == 0 ? clients[i]->initialize(x, env, m) : clients[i]->step(x, t, env, m));
      Eigen::VectorXd c = Eigen::VectorXd::Zero(d);
      m.add_to(c);
      mean += c;
      const Eigen::VectorXd& error = *ecco::detail::onebit_adam_worker_error(*clients[i]);
      server->accumulate(i, m);
      if (t < freeze) {
        EXPECT_EQ(m.layout, ecco::Layout::dense);  // the warm-up sends the gradient itself
        EXPECT_EQ(error.norm(), 0.0);
        continue;
      }
      Eigen::VectorXd g(d);
      problems[i]->loss_and_gradient(x, g);
      const Eigen::VectorXd u = (0.9 * m_before + (1 - 0.9) * g) + error_before;
      EXPECT_EQ(m.layout, ecco::Layout::parts);
      EXPECT_EQ(m.part_count, 4U);  // d = 10 in chunks of 3
      for (Eigen::Index j = 0; j < d; ++j) {
        EXPECT_EQ(error[j], u[j] - c[j]) << "client " << i << ", round " << t;
        EXPECT_LE(std::fabs(c[j] + error[j] - u[j]), 0x1p-52 * (std::fabs(u[j]) + std::fabs(c[j])));
        EXPECT_EQ(c[j] < 0.0, u[j] < 0.0);
      }
    }
    server->end_aggregation(t == 0 ? ecco::Phase::initial : ecco::Phase::round);
    const Eigen::VectorXd& server_error = *ecco::detail::onebit_adam_server_error(*server);
    if (t < freeze) {
      EXPECT_EQ(server_error.norm(), 0.0);
      continue;
    }
    ecco::Message down;
    server->make_downlink(x, down);
    Eigen::VectorXd sent = Eigen::VectorXd::Zero(d);
    down.add_to(sent);
    const Eigen::VectorXd u = mean / static_cast<double>(kClients) + server_error_before;
    for (Eigen::Index j = 0; j < d; ++j) {
      EXPECT_EQ(server_error[j], u[j] - sent[j]) << "round " << t;
      EXPECT_LE(std::fabs(sent[j] + server_error[j] - u[j]), 0x1p-52 * (std::fabs(u[j]) + std::fabs(sent[j])));
    }
  }
  EXPECT_GT(frozen_variance.norm(), 0.0);
}

TEST(OnebitAdam, RejectsBadSettings) {
  for (const char* bad : {"onebit_adam:freeze=0", "onebit_adam:chunk=0", "onebit_adam:beta1=1", "adam:beta2=-0.1",
                          "adam:eps=0", "adam:weight_decay=-1", "adam:bias_correction=maybe"}) {
    EXPECT_THROW(ecco::make_method(bad), ecco::ConfigError) << bad;
  }
  ecco::RunConfig c;
  c.data = "synthetic:rows=20,dim=5,seed=1";
  c.problem = "least_squares";
  c.clients = 2;
  c.rounds = 2;
  c.algorithm = "adam";
  try {
    ecco::run_serial(c);  // --lr theory (the default): Adam has none
    ADD_FAILURE() << "adam ran with the theory step size";
  } catch (const ecco::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--lr VALUE"), std::string::npos) << e.what();
  }
  c.algorithm = "onebit_adam";
  c.step_size = "0.01";
  c.aggregation = "allreduce";
  EXPECT_THROW(ecco::run_serial(c), ecco::ConfigError);
}

// A short Fashion-MNIST run with 1-bit Adam learns, and after the warm-up its uplink carries
// about one bit per coordinate. Skipped without the Debian package.
TEST(FashionMnist, ShortOnebitAdamTrainingLearns) {
  ECCO_REQUIRE_FASHION_MNIST();
  ecco::RunConfig c;
  c.data = "fashion_mnist:rows=12000,test_rows=2000";
  c.problem = "mlp:hidden=32";
  c.clients = 4;
  c.algorithm = "onebit_adam:freeze=50,eps=1e-5";
  c.batch = 32;
  c.step_size = "0.002";
  c.rounds = 250;
  c.eval_every = 250;
  c.log_every = 50;
  const auto result = ecco::run_serial(c);
  ASSERT_GE(result.history.size(), 2U);
  EXPECT_LT(result.history.front().test_accuracy, 0.3);
  EXPECT_GT(result.history.back().test_accuracy, 0.7);
  // Rounds 51..250 (200 rounds x 4 clients) cost about d bits each: between the rows of
  // rounds 50 and 250 the uplink is within 5% above one bit per coordinate.
  const auto& after_freeze = result.history[1];
  ASSERT_EQ(after_freeze.round, 50);
  const double bits = static_cast<double>(result.history.back().bits_up - after_freeze.bits_up);
  const double one_bit = 200.0 * 4.0 * static_cast<double>(result.info.dim);
  EXPECT_GT(bits, one_bit);
  EXPECT_LT(bits, 1.05 * one_bit);
}

}  // namespace
