// The JSON summary against the CSV history it summarises, and early stopping at a target.
#include <cmath>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "ecco/build_info.hpp"
#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/summary.hpp"
#include "ecco/trainer.hpp"

namespace {

ecco::RunConfig small_run() {
  ecco::RunConfig c;
  c.data = "synthetic:rows=20,dim=6,spread=10,cond=3,seed=4";
  c.problem = "least_squares";
  c.clients = 5;
  c.algorithm = "ef21_pp:participation=0.6";
  c.compressor = "topk:k=2";
  c.rounds = 40;
  c.log_every = 7;
  return c;
}

// The number after "key": in the JSON text (the first occurrence).
double json_number(const std::string& json, const std::string& key) {
  const std::regex pattern("\"" + key + "\": (-?[0-9.eE+-]+)");
  std::smatch match;
  if (!std::regex_search(json, match, pattern)) {
    ADD_FAILURE() << "no numeric field " << key;
    return std::nan("");
  }
  return std::stod(match[1].str());
}

std::string json_string(const std::string& json, const std::string& key) {
  const std::regex pattern("\"" + key + "\": \"([^\"]*)\"");
  std::smatch match;
  if (!std::regex_search(json, match, pattern)) {
    ADD_FAILURE() << "no string field " << key;
    return {};
  }
  return match[1].str();
}

}  // namespace

TEST(Summary, TotalsEqualTheLastCsvRowAndTheDenseFormula) {
  const auto result = ecco::run_serial(small_run());
  const std::string json = ecco::summary_json(result);
  const auto& last = result.history.back();
  EXPECT_EQ(json_number(json, "bits_up"), static_cast<double>(last.bits_up));
  EXPECT_EQ(json_number(json, "bits_down"), static_cast<double>(last.bits_down));
  EXPECT_EQ(json_number(json, "bits_up_index"), static_cast<double>(last.bits_up_index));
  EXPECT_EQ(last.bits_up_header + last.bits_up_index + last.bits_up_value, last.bits_up);
  EXPECT_EQ(json_number(json, "grad_norm_sq"), last.grad_norm_sq);
  EXPECT_EQ(json_number(json, "rounds_run"), 40.0);
  // Initial round: all 5 clients; then floor(0.6 * 5) = 3 per round.
  EXPECT_EQ(json_number(json, "messages_up"), 5.0 + 3.0 * 40.0);
  const double dense = 32.0 * 6.0 * (5.0 + 3.0 * 40.0);
  EXPECT_EQ(json_number(json, "dense_fp32_bits_up"), dense);
  EXPECT_DOUBLE_EQ(json_number(json, "compression_ratio_up"), dense / static_cast<double>(last.bits_up));
  EXPECT_EQ(json_string(json, "algorithm"), "ef21_pp:participation=0.6,sampling=nice");
  EXPECT_EQ(json_string(json, "compressor"), "topk:k=2");
  EXPECT_EQ(json_string(json, "stop_reason"), "all rounds done");
  EXPECT_EQ(json_number(json, "gamma"), result.info.step_size);
  EXPECT_NE(json.find("\"clients_per_rank\": [5]"), std::string::npos) << json;
}

TEST(Summary, ModesAndClientsPerRank) {
  auto c = small_run();
  c.rounds = 1;
  c.downlink = "delta";
  auto result = ecco::run_serial(c);
  EXPECT_EQ(json_string(ecco::summary_json(result), "aggregation"), "gather");
  EXPECT_EQ(json_string(ecco::summary_json(result), "downlink"), "delta");
  // As rank 0 of a 3-process run with a dedicated server would report it.
  result.info.config.dedicated_server = true;
  result.info.config.aggregation = "allgather";
  result.info.ranks = 3;
  const std::string json = ecco::summary_json(result);
  EXPECT_EQ(json_string(json, "aggregation"), "allgather");
  EXPECT_NE(json.find("\"dedicated_server\": true"), std::string::npos) << json;
  EXPECT_NE(json.find("\"clients_per_rank\": [0, 2, 3]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"bits_allgather_received\": 0"), std::string::npos) << json;
}

TEST(Summary, EscapesStrings) {
  auto c = small_run();
  c.rounds = 1;
  auto result = ecco::run_serial(c);
  result.info.data_source = "a\"b\\c\nd";
  const std::string json = ecco::summary_json(result);
  EXPECT_NE(json.find("\"data\": \"a\\\"b\\\\c\\nd\""), std::string::npos) << json;
}

TEST(TargetStop, StopsAtTheFirstLoggedRoundBelowTheTarget) {
  auto c = small_run();
  c.algorithm = "ef21";
  c.rounds = 5000;
  c.log_every = 10;
  const auto full = ecco::run_serial(c).history;
  const double target = 1e-6;
  std::size_t first = 0;
  while (first < full.size() && full[first].grad_norm_sq > target) ++first;
  ASSERT_LT(first, full.size()) << "the full run never reaches the target";

  c.target_grad_norm_sq = target;
  const auto stopped = ecco::run_serial(c);
  ASSERT_EQ(stopped.history.size(), first + 1);
  EXPECT_EQ(stopped.history.back().round, full[first].round);
  EXPECT_EQ(stopped.history.back().grad_norm_sq, full[first].grad_norm_sq);
  EXPECT_TRUE(stopped.stopped_early);
  EXPECT_EQ(stopped.rounds_run, full[first].round);
  EXPECT_NE(stopped.stop_reason.find("target"), std::string::npos);
}

TEST(TargetStop, UnreachedTargetRunsAllRounds) {
  auto c = small_run();
  c.target_grad_norm_sq = 0.0;
  const auto result = ecco::run_serial(c);
  EXPECT_FALSE(result.stopped_early);
  EXPECT_EQ(result.rounds_run, 40);
  EXPECT_EQ(result.stop_reason, "all rounds done; target not reached");
}

TEST(TrainAccuracy, IsTheShareOfRowsOnTheRightSideOfTheModel) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=300,dim=10,density=0.5,seed=6";
  c.clients = 7;
  c.rounds = 50;
  c.log_every = 10;
  c.compressor = "topk:k=3";
  const auto result = ecco::run_serial(c);
  // Recount with the model the run ended at, from the same generated rows.
  ecco::SyntheticClassification gen;
  gen.rows = 300;
  gen.dim = 10;
  gen.density = 0.5;
  gen.seed = 6;
  const auto data = ecco::make_synthetic_classification(gen);
  const Eigen::VectorXd margins = data.features * result.x;
  double right = 0;
  for (Eigen::Index j = 0; j < margins.size(); ++j) right += data.labels[j] * margins[j] > 0 ? 1 : 0;
  EXPECT_EQ(result.history.back().train_accuracy, right / 300.0);
  EXPECT_GT(result.history.back().train_accuracy, 0.6);  // it learned something
  EXPECT_EQ(result.history.front().train_accuracy, 0.0);  // x0 = 0: every margin is 0, counted wrong
}

TEST(TrainAccuracy, TargetStopsTheRunAndNeedsAClassificationProblem) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=300,dim=10,density=0.5,seed=6";
  c.clients = 7;
  c.rounds = 2000;
  c.log_every = 5;
  c.compressor = "topk:k=3";
  c.target_accuracy = 0.7;
  const auto result = ecco::run_serial(c);
  EXPECT_TRUE(result.stopped_early);
  EXPECT_GE(result.history.back().train_accuracy, 0.7);
  for (std::size_t r = 0; r + 1 < result.history.size(); ++r) EXPECT_LT(result.history[r].train_accuracy, 0.7);
  EXPECT_NE(result.stop_reason.find("train_accuracy"), std::string::npos);

  auto regression = small_run();
  EXPECT_TRUE(std::isnan(ecco::run_serial(regression).history.back().train_accuracy));
  regression.target_accuracy = 0.5;
  EXPECT_THROW(ecco::run_serial(regression), ecco::ConfigError);
}

// What the run computed in, what it was built for, and how much memory it took.
TEST(Summary, PrecisionBuildAndMemory) {
  const auto result = ecco::run_serial(small_run());
  const std::string json = ecco::summary_json(result);
  EXPECT_EQ(json_string(json, "precision"), "fp64");  // least squares: fp64 under --precision auto
  EXPECT_EQ(json_string(json, "arch"), ecco::build_info().arch);
  EXPECT_EQ(json_string(json, "cpu_features"), ecco::build_info().cpu_features);
  EXPECT_TRUE(ecco::missing_cpu_features().empty());  // this test runs, so the CPU has them
  // A process holding a test binary and its data: more than 1 MiB, less than 64 GiB.
  const double rss = json_number(json, "peak_rss_bytes_max_rank");
  EXPECT_GT(rss, 1 << 20);
  EXPECT_LT(rss, 64.0 * (1ULL << 30));
  EXPECT_EQ(rss, json_number(json, "peak_rss_bytes_rank0"));  // one process

  auto mlp = small_run();
  mlp.data = "synthetic_classification:rows=60,dim=8,seed=2";
  mlp.problem = "mlp:hidden=4";
  mlp.algorithm = "sgd:batch=5";
  mlp.compressor = "identity";
  mlp.step_size = "0.1";
  EXPECT_EQ(json_string(ecco::summary_json(ecco::run_serial(mlp)), "precision"), "fp32");
  mlp.precision = ecco::ComputePrecision::fp64;
  EXPECT_EQ(json_string(ecco::summary_json(ecco::run_serial(mlp)), "precision"), "fp64");
}

// Every tensor by name; with --granularity tensor its uplink bits and level; with --adaptive
// every choice with its levels and figures, as the run result holds them.
TEST(Summary, TensorsAndLevelChoices) {
  auto c = small_run();
  c.data = "synthetic_classification:rows=60,dim=8,seed=2";
  c.problem = "mlp:hidden=4";
  c.algorithm = "ef21";
  c.compressor = "topk:k=0.5";
  c.step_size = "0.1";
  c.rounds = 12;
  std::string json = ecco::summary_json(ecco::run_serial(c));
  EXPECT_NE(json.find("\"tensors\": [{\"name\": \"fc1.weight\", \"rows\": 4, \"cols\": 8}, "), std::string::npos) << json;
  EXPECT_EQ(json.find("\"adaptive\""), std::string::npos);
  c.granularity = "tensor";
  c.adaptive = "lgreco:every=5,levels=0.25";
  const auto result = ecco::run_serial(c);
  json = ecco::summary_json(result);
  ASSERT_EQ(result.tensor_traffic.size(), 4U);
  ASSERT_EQ(result.level_decisions.size(), 2U);
  const auto& t = result.tensor_traffic[0];
  EXPECT_NE(json.find("{\"name\": \"fc1.weight\", \"rows\": 4, \"cols\": 8, \"bits_up\": " + std::to_string(t.bits_up) +
                      ", \"level\": \"" + t.level + "\"}"),
            std::string::npos)
      << json;
  EXPECT_EQ(json_string(json, "spec"), "lgreco:buckets=4096,budget=0,every=5,levels=0.25");
  EXPECT_NE(json.find("\"levels\": [\"topk:k=0.25\", \"topk:k=0.5\"]"), std::string::npos) << json;
  EXPECT_EQ(json_string(json, "uniform_level"), "topk:k=0.5");
  const auto& d = result.level_decisions[0];
  EXPECT_NE(json.find("{\"round\": 5, \"k\": {\"fc1.weight\": "), std::string::npos) << json;
  EXPECT_NE(json.find("\"bytes\": " + std::to_string(d.bytes)), std::string::npos) << json;
  EXPECT_NE(json.find("\"uniform_bytes\": " + std::to_string(d.uniform_bytes)), std::string::npos) << json;
}
