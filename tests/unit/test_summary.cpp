// The JSON summary against the CSV history it summarises, and early stopping at a target.
#include <cmath>
#include <regex>
#include <string>

#include <gtest/gtest.h>

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
  EXPECT_EQ(result.stop_reason, "all rounds done; target grad_norm_sq not reached");
}
