// The default job (ecco-train without --data): its configuration, as the command line
// builds it, trained on a slice of Fashion-MNIST, learns; and the target on test accuracy.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ecco/command_line.hpp"
#include "ecco/trainer.hpp"
#include "test_data.hpp"

namespace {

ecco::RunConfig default_job(std::vector<std::string> args) {
  args.insert(args.begin(), "ecco-train");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return ecco::parse_command_line(static_cast<int>(argv.size()), argv.data()).config;
}

// The whole default job but on 6000 of the 60000 training images (5 epochs: 118 rounds),
// run serially: the same configuration, ranks do not change the bits.
TEST(DefaultJob, LearnsOnASliceOfFashionMnist) {
  ECCO_REQUIRE_FASHION_MNIST();
  const ecco::RunConfig c = default_job({"--data", "fashion_mnist:rows=6000,test_rows=2000"});
  EXPECT_EQ(c.compressor, "lowrank:r=4");
  const auto result = ecco::run_serial(c);
  EXPECT_EQ(result.rounds_run, 118);
  ASSERT_GE(result.history.size(), 2U);
  EXPECT_LT(result.history.front().test_accuracy, 0.3);
  EXPECT_GT(result.history.back().test_accuracy, 0.75);
  // The uplink: about 1/54 of dense fp32 (rank-4 factors of the three weight matrices, the
  // biases dense); the downlink: none (allgather).
  const double dense = 32.0 * static_cast<double>(result.info.dim) * static_cast<double>(result.messages_up);
  EXPECT_LT(static_cast<double>(result.history.back().bits_up), dense / 50.0);
  EXPECT_EQ(result.history.back().bits_down, 0U);
  ASSERT_EQ(result.tensor_traffic.size(), 6U);
  EXPECT_EQ(result.tensor_traffic[0].name, "fc1.weight");
  EXPECT_EQ(result.tensor_traffic[0].level, "lowrank:r=4");
  EXPECT_EQ(result.tensor_traffic[1].level, "dense");
}

// --target-test-accuracy stops at the first evaluation that reaches it.
TEST(DefaultJob, TargetTestAccuracyStopsAtTheFirstEvaluationReachingIt) {
  ECCO_REQUIRE_FASHION_MNIST();
  ecco::RunConfig c = default_job({"--data", "fashion_mnist:rows=3000,test_rows=500", "--problem", "mlp:hidden=32",
                                   "--eval-every", "5", "--rounds", "100"});
  const auto full = ecco::run_serial(c);
  double best = 0.0;
  for (const auto& row : full.history) best = std::max(best, std::isnan(row.test_accuracy) ? 0.0 : row.test_accuracy);
  ASSERT_GT(best, 0.5);
  c.target_test_accuracy = 0.5;
  const auto stopped = ecco::run_serial(c);
  EXPECT_TRUE(stopped.stopped_early);
  EXPECT_NE(stopped.stop_reason.find("target test_accuracy >= 0.5"), std::string::npos);
  // The first evaluation of the full run at or above 0.5 is where it stopped; the rows up to
  // there are the same.
  std::int64_t first = -1;
  for (const auto& row : full.history) {
    if (row.test_accuracy >= 0.5) {
      first = row.round;
      break;
    }
  }
  EXPECT_EQ(stopped.rounds_run, first);
  EXPECT_EQ(stopped.history.back().round, first);
  EXPECT_EQ(stopped.history.back().test_accuracy, full.history[stopped.history.size() - 1].test_accuracy);
}

}  // namespace
