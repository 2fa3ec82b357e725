// The error-feedback family (issue "every method of the papers"): each method against its
// uncompressed counterpart or an independent reference, iterate for iterate; EF21-W against
// EF21; convergence at the theory step size on a strongly convex problem; bits of partial
// participation and of the compressed downlink.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ecco/algorithm.hpp"
#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/trainer.hpp"
#include "method_harness.hpp"

namespace {

using ecco::testing::HarnessConfig;
using ecco::testing::MethodHarness;

// Strongly convex, heterogeneous least squares with an exact solution (noise 0).
ecco::Dataset regression_data(std::size_t clients = 5) {
  ecco::SyntheticRegression gen;
  gen.clients = clients;
  gen.rows = 24;
  gen.dim = 8;
  gen.spread = 20;
  gen.cond = 4;
  gen.seed = 7;
  return ecco::make_synthetic_regression(gen);
}

std::vector<Eigen::VectorXd> run(const std::string& method, const std::string& compressor, double gamma,
                                 std::int64_t rounds, const std::string& down = "identity") {
  HarnessConfig config;
  config.method = method;
  config.compressor = compressor;
  config.down_compressor = down;
  config.step_size = gamma;
  config.data = regression_data();
  return MethodHarness(config).run(rounds);
}

// Every iterate equal within a relative tolerance (0: bit for bit).
void expect_same_iterates(const std::vector<Eigen::VectorXd>& a, const std::vector<Eigen::VectorXd>& b,
                          double tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t t = 0; t < a.size(); ++t) {
    const double scale = std::max(1.0, a[t].norm());
    ASSERT_LE((a[t] - b[t]).norm(), tolerance * scale) << "iterate " << t;
  }
  ASSERT_GT((a.back() - a.front()).norm(), 1e-3);  // the iterates really moved
}


}  // namespace

// ---- reductions to the uncompressed counterpart -----------------------------------------

TEST(EfFamily, DcgdAndEf14WithIdentityAreGd) {
  const auto gd = run("gd", "identity", 0.05, 200);
  expect_same_iterates(gd, run("dcgd", "identity", 0.05, 200), 1e-13);
  expect_same_iterates(gd, run("ef14", "identity", 0.05, 200), 1e-12);
  expect_same_iterates(gd, run("ef21", "identity", 0.05, 200), 1e-12);
  expect_same_iterates(gd, run("ef21w", "identity", 0.05, 200), 1e-11);
}

TEST(EfFamily, Ef21SgdWithIdentityIsSgdWithTheSameSamples) {
  const auto sgd = run("sgd:batch=3", "identity", 0.02, 200);
  expect_same_iterates(sgd, run("ef21_sgd:batch=3", "identity", 0.02, 200), 1e-12);
  // ... and the minibatches matter: full-batch GD takes another path.
  const auto gd = run("gd", "identity", 0.02, 200);
  EXPECT_GT((sgd[50] - gd[50]).norm(), 1e-6);
}

TEST(EfFamily, Ef21SgdmWithEtaOneIsEf21Sgd) {
  expect_same_iterates(run("ef21_sgd:batch=0.5", "topk:k=2", 0.02, 200),
                       run("ef21_sgdm:batch=0.5,eta=1", "topk:k=2", 0.02, 200), 0.0);
}

TEST(EfFamily, Ef21PageWithProbabilityOneIsEf21) {
  expect_same_iterates(run("ef21", "topk:k=2", 0.02, 200), run("ef21_page:batch=2,p=1", "topk:k=2", 0.02, 200), 0.0);
}

TEST(EfFamily, Ef21PpWithFullParticipationIsEf21) {
  expect_same_iterates(run("ef21", "topk:k=2", 0.02, 200), run("ef21_pp:participation=1", "topk:k=2", 0.02, 200), 0.0);
}

TEST(EfFamily, Ef21BcWithIdentityDownlinkIsEf21) {
  // g^t = g^{t-1} + (g~^t - g^{t-1}) equals g~^t up to rounding.
  expect_same_iterates(run("ef21", "topk:k=2", 0.02, 200), run("ef21_bc", "topk:k=2", 0.02, 200, "identity"), 1e-12);
}

TEST(EfFamily, Ef21HbWithIdentityIsHeavyBall) {
  const double gamma = 0.02;
  const double eta = 0.6;
  const auto hb = run("ef21_hb:eta=0.6", "identity", gamma, 150);
  // Heavy ball written from ALGORITHMS.md 1.8 with exact gradients:
  // x^{t+1} = x^t - gamma v^t, v^{t+1} = eta v^t + grad f(x^{t+1}), v^0 = grad f(x^0).
  const auto data = regression_data();
  Eigen::VectorXd x = Eigen::VectorXd::Zero(8);
  Eigen::VectorXd v = ecco::testing::mean_gradient(data, 5, x);
  for (std::size_t t = 1; t < hb.size(); ++t) {
    x -= gamma * v;
    v = eta * v + ecco::testing::mean_gradient(data, 5, x);
    ASSERT_LE((hb[t] - x).norm(), 1e-11 * std::max(1.0, x.norm())) << "iterate " << t;
  }
  // eta = 0 is plain EF21.
  expect_same_iterates(run("ef21", "topk:k=2", gamma, 100), run("ef21_hb:eta=0", "topk:k=2", gamma, 100), 0.0);
}

TEST(EfFamily, EControlWithEtaZeroIsEf21) {
  expect_same_iterates(run("ef21:init=compressed", "topk:k=2", 0.02, 200),
                       run("econtrol:eta=0,init=compressed", "topk:k=2", 0.02, 200), 0.0);
}

TEST(EfFamily, EControlFeedbackChangesTheIterates) {
  const auto ef21 = run("ef21", "topk:k=2", 0.02, 100);
  const auto econtrol = run("econtrol:eta=0.5", "topk:k=2", 0.02, 100);
  EXPECT_GT((ef21.back() - econtrol.back()).norm(), 1e-6);
}

// ---- EF21-W ----------------------------------------------------------------------------

TEST(EfFamily, Ef21wEqualsEf21ForTopK) {
  // ALGORITHMS.md 1.4: for a positively homogeneous C, EF21-W started from
  // g_i^0 = grad f_i(x^0)/(n w_i) gives EF21's iterates (same gamma). Heterogeneous L_i
  // (spread 20) make the weights far from 1/n, so a wrong weighting would show.
  for (const char* k : {"topk:k=1", "topk:k=3"}) {
    expect_same_iterates(run("ef21", k, 0.01, 300), run("ef21w", k, 0.01, 300), 1e-10);
  }
}

// ---- convergence at the theory step size -----------------------------------------------

namespace {

ecco::RunConfig convex_config(const std::string& algorithm, const std::string& compressor, std::int64_t rounds) {
  ecco::RunConfig c;
  c.data = "synthetic:rows=24,dim=8,spread=20,cond=4,seed=7";
  c.problem = "least_squares:lambda=0";
  c.clients = 6;
  c.algorithm = algorithm;
  c.compressor = compressor;
  c.rounds = rounds;
  c.wire = ecco::ValueFormat::fp64;
  c.x0 = "gaussian";
  c.log_every = rounds;
  return c;
}

double final_grad_norm_sq(const ecco::RunConfig& c) { return ecco::run_serial(c).history.back().grad_norm_sq; }

}  // namespace

TEST(EfFamilyConvergence, EveryMethodReachesTheTargetAtItsTheoryStep) {
  struct Case {
    const char* algorithm;
    const char* compressor;
    std::int64_t rounds;
    const char* lr;
  };
  const std::vector<Case> cases = {
      {"gd", "identity", 300, "theory"},
      {"sgd:batch=0.5", "identity", 3000, "theory"},
      {"dcgd", "identity", 300, "theory"},
      {"ef14", "topk:k=2", 6000, "theory"},
      {"ef21", "topk:k=2", 6000, "theory"},
      {"ef21w", "topk:k=2", 6000, "theory"},
      {"ef21_sgd:batch=0.5", "topk:k=2", 12000, "theory"},
      {"ef21_sgdm:batch=0.5,eta=0.5", "topk:k=2", 12000, "theory"},
      {"ef21_page:batch=0.25,p=0.2", "topk:k=2", 12000, "theory"},
      {"ef21_pp:participation=0.5", "topk:k=2", 12000, "theory"},
      {"ef21_pp:participation=0.5,sampling=poisson", "topk:k=2", 12000, "theory"},
      {"ef21_bc", "topk:k=2", 12000, "theory"},
      {"ef21_hb:eta=0.5", "topk:k=2", 6000, "theory"},
      {"econtrol:eta=0.5", "topk:k=2", 6000, "0.01"},  // no theory rule: a fixed step
  };
  for (const auto& c : cases) {
    auto config = convex_config(c.algorithm, c.compressor, c.rounds);
    config.step_size = c.lr;
    if (std::string(c.algorithm) == "ef21_bc") config.down_compressor = "topk:k=4";
    const auto result = ecco::run_serial(config);
    EXPECT_LT(result.history.back().grad_norm_sq, 1e-10)
        << c.algorithm << " with " << c.compressor << ": ||grad f||^2 = " << result.history.back().grad_norm_sq
        << " after " << c.rounds << " rounds (start " << result.history.front().grad_norm_sq << ")";
  }
}

TEST(EfFamilyConvergence, DcgdWithTopKStallsWhereEf21Converges) {
  // With noisy targets the clients' minimisers differ (grad f_i(x*) != 0), which is where
  // compressing gradients without feedback goes wrong.
  auto dcgd_config = convex_config("dcgd", "topk:k=1", 6000);
  auto ef21_config = convex_config("ef21", "topk:k=1", 6000);
  dcgd_config.data = ef21_config.data = "synthetic:rows=24,dim=8,spread=20,cond=4,noise=1,seed=7";
  const double dcgd = final_grad_norm_sq(dcgd_config);
  const double ef21 = final_grad_norm_sq(ef21_config);
  EXPECT_LT(ef21, 1e-10);
  EXPECT_GT(dcgd, 1e-4) << "DCGD with Top1 was expected to stall on heterogeneous clients";
}

// ---- bits ------------------------------------------------------------------------------

TEST(EfFamilyBits, AbsentClientsSendNothing) {
  // Nice sampling of 3 of 6 clients: each round costs exactly half of EF21's (Top-k messages
  // all have the same size); the initial round is full.
  auto full = convex_config("ef21", "topk:k=2", 20);
  auto half = convex_config("ef21_pp:participation=0.5", "topk:k=2", 20);
  full.log_every = half.log_every = 1;
  const auto a = ecco::run_serial(full).history;
  const auto b = ecco::run_serial(half).history;
  EXPECT_EQ(a[0].bits_up, b[0].bits_up);
  const std::uint64_t ef21_round = a[1].bits_up - a[0].bits_up;
  for (std::size_t t = 1; t < b.size(); ++t) EXPECT_EQ(b[t].bits_up - b[t - 1].bits_up, ef21_round / 2) << t;
}

TEST(EfFamilyBits, HarnessSeesExactlyFloorPnSenders) {
  HarnessConfig config;
  config.method = "ef21_pp:participation=0.45";
  config.compressor = "topk:k=1";
  config.data = regression_data(10);
  config.clients = 10;
  MethodHarness harness(config);
  for (int t = 1; t <= 5; ++t) {
    harness.run(1);
    EXPECT_EQ(harness.senders(), 4U);  // floor(0.45 * 10)
  }
}

TEST(EfFamilyBits, CompressedDownlinkIsCounted) {
  // The first downlink is g~^0, dense; later ones are one Top-1 message for each client,
  // which is the size of a client's Top-1 uplink message.
  auto bc = convex_config("ef21_bc", "topk:k=1", 10);
  bc.down_compressor = "topk:k=1";
  bc.log_every = 1;
  const auto h = ecco::run_serial(bc).history;
  const std::uint64_t initial_up_per_client = h[0].bits_up / 6;  // dense g_i^0
  const std::uint64_t round_up = h[2].bits_up - h[1].bits_up;
  EXPECT_EQ(h[1].bits_down, 6 * initial_up_per_client);
  for (std::size_t t = 2; t < h.size(); ++t) EXPECT_EQ(h[t].bits_down - h[t - 1].bits_down, round_up) << t;
  // The model downlink of EF21 costs far more.
  auto ef21 = convex_config("ef21", "topk:k=1", 10);
  ef21.log_every = 1;
  EXPECT_GT(ecco::run_serial(ef21).history[2].bits_down, h[2].bits_down);
}

// ---- step sizes and set-up errors -------------------------------------------------------

TEST(EfFamilyStepSize, MethodsWithoutATheoryRuleAskForLr) {
  auto c = convex_config("econtrol", "topk:k=2", 5);
  try {
    ecco::run_serial(c);
    ADD_FAILURE() << "expected a ConfigError";
  } catch (const ecco::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--lr VALUE"), std::string::npos) << e.what();
  }
  c.step_size = "0.01";
  EXPECT_NO_THROW(ecco::run_serial(c));
}

TEST(EfFamilyStepSize, Ef21wUsesTheArithmeticMeanAndEf21TheQuadratic) {
  auto ef21 = convex_config("ef21", "topk:k=1", 1);
  auto ef21w = convex_config("ef21w", "topk:k=1", 1);
  const auto a = ecco::run_serial(ef21).info;
  const auto b = ecco::run_serial(ef21w).info;
  const double xi = ecco::ef21_xi(1.0 / 8.0);
  EXPECT_DOUBLE_EQ(a.step_size, 1.0 / (a.constants.L + a.constants.L_qm * xi));
  EXPECT_DOUBLE_EQ(b.step_size, 1.0 / (b.constants.L + b.constants.L_am * xi));
  EXPECT_GT(b.step_size, a.step_size);  // heterogeneous L_i: L_AM < L_QM
  ef21.step_size = "theory:mean=am";
  EXPECT_DOUBLE_EQ(ecco::run_serial(ef21).info.step_size, b.step_size);
}

TEST(EfFamilyStepSize, PartialParticipationFormula) {
  auto c = convex_config("ef21_pp:participation=0.5", "topk:k=2", 1);
  const auto info = ecco::run_serial(c).info;
  // ALGORITHMS.md 1.6 with s = rho = 1e-3 and p = floor(0.5 * 6) / 6.
  const double alpha = 2.0 / 8.0;
  const double s = 1e-3;
  const double p = 0.5;
  const double theta = 1 - (1 + s) * (1 - alpha);
  const double beta = (1 + 1 / s) * (1 - alpha);
  const double theta_p = s * p + theta * p - s;
  const double B = (beta * p + (1 + 1 / s) * (1 - p)) * info.constants.L_qm * info.constants.L_qm;
  EXPECT_DOUBLE_EQ(info.step_size, 1.0 / (info.constants.L + std::sqrt(B / theta_p)));
  // Top-1 of d = 8 with half the clients: theta_p < 0, no theory step.
  EXPECT_THROW(ecco::run_serial(convex_config("ef21_pp:participation=0.1", "topk:k=1", 1)), ecco::ConfigError);
}

TEST(EfFamilyStepSize, PlRuleUsesMu) {
  auto c = convex_config("ef21", "topk:k=2", 1);
  c.step_size = "theory:pl=true";
  const auto info = ecco::run_serial(c).info;
  // The generator makes f's Hessian 2 diag(s) with s in [1/cond, 1]: mu = 2/cond = 0.5.
  EXPECT_NEAR(info.constants.mu, 0.5, 1e-12);
  const double alpha = 2.0 / 8.0;
  const double theta = ecco::ef21_theta(alpha);
  const double expected = std::min(1.0 / (info.constants.L + info.constants.L_qm * std::sqrt(2 * ecco::ef21_beta(alpha) / theta)),
                                   theta / (2 * 0.5));
  EXPECT_NEAR(info.step_size, expected, 1e-12 * expected);
  c.problem = "logistic:lambda=0.1";
  c.data = "synthetic_classification:rows=100,dim=8";
  EXPECT_THROW(ecco::run_serial(c), ecco::ConfigError);  // no mu for logistic
}

TEST(EfFamilySetup, BadMethodSpecsAreConfigErrors) {
  for (const char* bad : {"ef21:init=zero", "ef21_sgdm:eta=0", "ef21_sgdm:eta=2", "ef21_page:p=0",
                          "ef21_page:batch=full", "ef21_pp:participation=0", "ef21_pp:sampling=random",
                          "ef21_hb:eta=1", "econtrol:eta=-1", "sgd:batch=1.5", "sgd:batch=0", "ef14:batch=x",
                          "ef21_bc:k=1"}) {
    EXPECT_THROW(ecco::make_method(bad), ecco::ConfigError) << bad;
  }
  auto c = convex_config("ef21_pp:participation=0.1", "topk:k=2", 1);
  c.step_size = "0.01";
  EXPECT_THROW(ecco::run_serial(c), ecco::ConfigError);  // floor(0.1 * 6) = 0 clients per round
}

// ---- EF21+ -----------------------------------------------------------------------------

namespace {

// A local objective whose gradients the test scripts, one per round.
class ScriptedObjective final : public ecco::LocalObjective {
 public:
  explicit ScriptedObjective(std::vector<Eigen::VectorXd> gradients) : gradients_(std::move(gradients)) {}
  std::size_t rows() const override { return 1; }
  const Eigen::VectorXd& gradient(Eigen::Ref<const Eigen::VectorXd> /*x*/, std::int64_t version) override {
    return gradients_.at(static_cast<std::size_t>(version));
  }
  void batch_gradient(Eigen::Ref<const Eigen::VectorXd> /*x*/, std::span<const std::uint32_t> /*batch*/,
                      Eigen::Ref<Eigen::VectorXd> /*grad*/) override {}

 private:
  std::vector<Eigen::VectorXd> gradients_;
};

}  // namespace

TEST(EfFamily, Ef21PlusKeepsTheCandidateCloserToTheGradient) {
  const auto method = ecco::make_method("ef21_plus");
  const auto top1 = ecco::make_compressor("topk:k=1");
  ecco::MethodSetup setup;
  setup.dim = 4;
  setup.clients = 1;
  setup.schedule = ecco::StepSchedule::constant(0.1);
  const auto client = method->make_client(setup, 0);
  const auto server = method->make_server(setup);
  Eigen::VectorXd g0(4), g1(4), g2(4);
  g0 << 1, 0, 0, 0;
  g1 << 0, 0, 0, 5;    // EF21: g + Top1(g1 - g) = (1,0,0,5), error 1; plain Top1(g1) = g1, error 0
  g2 << 0, 0, 0.5, 5;  // EF21: g + Top1(g2 - g) = (0,0,0.5,5) exact; plain: error 0.5
  ScriptedObjective objective({g0, g1, g2});
  ecco::Rng rng(1), sample(2);
  ecco::CompressorWorkspace workspace;
  ecco::ClientEnv env{0, objective, *top1, rng, sample, workspace, ecco::ValueFormat::fp64};
  const Eigen::VectorXd x = Eigen::VectorXd::Zero(4);
  ecco::Message m;
  // The server's g after each round, read back through the model step x - gamma g.
  const auto server_g = [&](ecco::Phase phase) {
    server->begin_aggregation();
    server->accumulate(0, m);
    server->end_aggregation(phase);
    ecco::Message down;
    server->make_downlink(x, down);
    Eigen::VectorXd next(4);
    down.assign_to(next);
    return Eigen::VectorXd(-next / 0.1);
  };
  ASSERT_TRUE(client->initialize(x, env, m));
  EXPECT_LE((server_g(ecco::Phase::initial) - g0).norm(), 1e-15);
  ASSERT_TRUE(client->step(x, 1, env, m));
  EXPECT_EQ(m.tag, 2);  // replace with Top1(g1)
  EXPECT_LE((server_g(ecco::Phase::round) - g1).norm(), 1e-14);
  ASSERT_TRUE(client->step(x, 2, env, m));
  EXPECT_EQ(m.tag, 1);  // add Top1(g2 - g1)
  EXPECT_LE((server_g(ecco::Phase::round) - g2).norm(), 1e-14);
}

TEST(EfFamily, Ef21PlusWithIdentityIsGdAndConverges) {
  expect_same_iterates(run("gd", "identity", 0.05, 200), run("ef21_plus", "identity", 0.05, 200), 1e-12);
  auto c = convex_config("ef21_plus", "topk:k=2", 6000);
  EXPECT_LT(ecco::run_serial(c).history.back().grad_norm_sq, 1e-10);
}
