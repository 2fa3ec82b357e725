// ecco-train's command line: defaults, every flag, and one clear error per bad input.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ecco/command_line.hpp"
#include "ecco/error.hpp"

namespace {

ecco::CommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ecco-train");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return ecco::parse_command_line(static_cast<int>(argv.size()), argv.data());
}

std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const ecco::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(CommandLine, NoDataRunsTheDefaultJob) {
  const auto cl = parse({});
  EXPECT_TRUE(cl.default_job);
  EXPECT_EQ(cl.config.data, "fashion_mnist");
  EXPECT_EQ(cl.config.problem, "mlp:hidden=512x512");
  EXPECT_EQ(cl.config.clients, 4U);
  EXPECT_EQ(cl.config.algorithm, "ef14:momentum=0.9");
  EXPECT_EQ(cl.config.compressor, "lowrank:r=4");
  EXPECT_EQ(cl.config.granularity, "tensor");
  EXPECT_TRUE(cl.config.allow_any_compressor);
  EXPECT_EQ(cl.config.aggregation, "allgather");
  EXPECT_EQ(cl.config.batch.value_or(0), 64U);
  EXPECT_EQ(cl.config.step_size, "0.1");
  EXPECT_EQ(cl.config.lr_schedule, "cosine");
  EXPECT_EQ(cl.config.epochs.value_or(0.0), 5.0);
  EXPECT_FALSE(cl.compressor_given);
  EXPECT_NE(cl.default_flags.find("--compressor lowrank:r=4"), std::string::npos);
  // A flag given on the command line wins over the default job's.
  const auto mine = parse({"--compressor", "identity", "--rounds", "7"});
  EXPECT_TRUE(mine.default_job);
  EXPECT_EQ(mine.config.data, "fashion_mnist");
  EXPECT_EQ(mine.config.compressor, "identity");
  EXPECT_EQ(mine.config.rounds, 7);
  EXPECT_FALSE(mine.config.epochs.has_value());  // --rounds replaces the default --epochs
  EXPECT_TRUE(mine.compressor_given);
  // The lowrank default's --allow-any-compressor goes with it.
  EXPECT_FALSE(mine.config.allow_any_compressor);
  EXPECT_EQ(mine.default_flags.find("--compressor"), std::string::npos);
  EXPECT_EQ(parse({"--epochs", "2"}).config.epochs.value_or(0.0), 2.0);
  EXPECT_NE(error_of({"--epochs", "2", "--rounds", "5"}).find("--epochs and --rounds both set"), std::string::npos);
}

// A flag given changes that one thing: defaults that would conflict with it stay out.
TEST(CommandLine, DefaultJobFlagsCompose) {
  // ef21 has no minibatch: the default --batch stays out (it used to fail on a --batch the
  // user never gave).
  auto cl = parse({"--algorithm", "ef21"});
  EXPECT_FALSE(cl.config.batch.has_value());
  EXPECT_EQ(cl.config.compressor, "lowrank:r=4");
  EXPECT_TRUE(cl.config.allow_any_compressor);
  // A method that sets its own batch= keeps it.
  cl = parse({"--algorithm", "sgd:batch=32,momentum=0.9"});
  EXPECT_FALSE(cl.config.batch.has_value());
  cl = parse({"--algorithm", "adam"});
  EXPECT_EQ(cl.config.batch.value_or(0), 64U);
  // --data fashion_mnist alone is the default job on that data, not the LIBSVM defaults.
  cl = parse({"--data", "fashion_mnist:rows=2000"});
  EXPECT_TRUE(cl.default_job);
  EXPECT_EQ(cl.config.data, "fashion_mnist:rows=2000");
  EXPECT_EQ(cl.config.compressor, "lowrank:r=4");
  EXPECT_EQ(cl.config.algorithm, "ef14:momentum=0.9");
  // Summed or sharded aggregation cannot take per-tensor messages: no default granularity.
  cl = parse({"--aggregation", "allreduce", "--compressor", "identity"});
  EXPECT_EQ(cl.config.granularity, "global");
  cl = parse({"--aggregation", "gather"});
  EXPECT_EQ(cl.config.granularity, "tensor");
  // Any other data, a file named like the data set included: the plain defaults.
  cl = parse({"--data", "fashion_mnist_small.svm"});
  EXPECT_FALSE(cl.default_job);
  cl = parse({"--data", "d.svm"});
  EXPECT_FALSE(cl.default_job);
  EXPECT_TRUE(cl.default_flags.empty());
  EXPECT_EQ(cl.config.compressor, "topk:k=1");
}

TEST(CommandLine, TargetTestAccuracyAndAdaptive) {
  auto cl = parse({"--target-test-accuracy", "0.865", "--adaptive", "lgreco:every=50"});
  EXPECT_EQ(cl.config.target_test_accuracy.value_or(0.0), 0.865);
  EXPECT_EQ(cl.config.adaptive, "lgreco:every=50");
  EXPECT_NE(error_of({"--target-test-accuracy", "87"}).find("--target-test-accuracy"), std::string::npos);
  EXPECT_NE(error_of({"--target-test-accuracy", "x"}).find("not a number in [0, 1]"), std::string::npos);
  EXPECT_NE(error_of({"--adaptive", ""}).find("--adaptive: empty spec"), std::string::npos);
}

TEST(CommandLine, Defaults) {
  const auto cl = parse({"--data", "synthetic_classification"});
  const ecco::RunConfig defaults;
  EXPECT_FALSE(cl.default_job);
  EXPECT_EQ(cl.config.data, defaults.data);
  EXPECT_EQ(cl.config.algorithm, "ef21");
  EXPECT_EQ(cl.config.compressor, "topk:k=1");
  EXPECT_EQ(cl.config.step_size, "theory");
  EXPECT_EQ(cl.config.clients, 20U);
  EXPECT_EQ(cl.config.rounds, 1000);
  EXPECT_EQ(cl.config.wire, ecco::ValueFormat::fp32);
  EXPECT_FALSE(cl.config.dim.has_value());
  EXPECT_EQ(cl.config.aggregation, "gather");
  EXPECT_EQ(cl.config.downlink, "model");
  EXPECT_FALSE(cl.config.dedicated_server);
  EXPECT_TRUE(cl.out.empty());
  EXPECT_FALSE(cl.compressor_given);
}

TEST(CommandLine, EveryFlag) {
  const auto cl = parse({"--data", "d.svm", "--dim", "300", "--problem", "logistic:lambda=0.5", "--clients", "7",
                         "--algorithm", "gd", "--compressor", "identity", "--lr", "theory:mult=2", "--rounds", "12",
                         "--seed", "9", "--x0", "gaussian", "--wire", "fp64", "--out", "r.csv", "--log-every", "3",
                         "--print-constants", "--log-level", "warn", "--aggregation", "allgather", "--downlink",
                         "delta", "--dedicated-server"});
  EXPECT_EQ(cl.config.data, "d.svm");
  EXPECT_EQ(cl.config.dim.value(), 300U);
  EXPECT_EQ(cl.config.problem, "logistic:lambda=0.5");
  EXPECT_EQ(cl.config.clients, 7U);
  EXPECT_EQ(cl.config.algorithm, "gd");
  EXPECT_EQ(cl.config.compressor, "identity");
  EXPECT_TRUE(cl.compressor_given);
  EXPECT_EQ(cl.config.step_size, "theory:mult=2");
  EXPECT_EQ(cl.config.rounds, 12);
  EXPECT_EQ(cl.config.seed, 9U);
  EXPECT_EQ(cl.config.x0, "gaussian");
  EXPECT_EQ(cl.config.wire, ecco::ValueFormat::fp64);
  EXPECT_EQ(cl.out, "r.csv");
  EXPECT_EQ(cl.config.log_every, 3);
  EXPECT_TRUE(cl.print_constants);
  EXPECT_EQ(cl.log_level, "warn");
  EXPECT_EQ(cl.config.aggregation, "allgather");
  EXPECT_EQ(cl.config.downlink, "delta");
  EXPECT_TRUE(cl.config.dedicated_server);
}

TEST(CommandLine, HelpListsTheGroups) {
  const auto cl = parse({"--help"});
  EXPECT_TRUE(cl.show_help);
  for (const char* word : {"Data", "Method", "Run", "Output", "--compressor", "mpirun"}) {
    EXPECT_NE(cl.help_text.find(word), std::string::npos) << word;
  }
}

TEST(CommandLine, BadInputsNameTheFlag) {
  EXPECT_NE(error_of({"--rounds", "abc"}).find("--rounds"), std::string::npos);
  EXPECT_NE(error_of({"--rounds", "-1"}).find("--rounds"), std::string::npos);
  EXPECT_NE(error_of({"--rounds", "10x"}).find("--rounds"), std::string::npos);
  // A run of 10^18 rounds never ends: at most 10^12 (issue 17).
  EXPECT_NE(error_of({"--rounds", "1000000000000000000"}).find("outside [0, 1000000000000]"), std::string::npos);
  EXPECT_EQ(parse({"--rounds", "1000000000000"}).config.rounds, 1'000'000'000'000);
  EXPECT_NE(error_of({"--clients", "0"}).find("--clients"), std::string::npos);
  EXPECT_NE(error_of({"--log-every", "0"}).find("--log-every"), std::string::npos);
  EXPECT_NE(error_of({"--dim", "0"}).find("--dim"), std::string::npos);
  EXPECT_NE(error_of({"--wire", "fp8"}).find("fp32, fp64"), std::string::npos);
  EXPECT_NE(error_of({"--bogus"}).find("bogus"), std::string::npos);
  EXPECT_NE(error_of({"stray"}).find("stray"), std::string::npos);
  EXPECT_NE(error_of({"--out", ""}).find("--out"), std::string::npos);
  EXPECT_NE(error_of({"--rounds"}).find("rounds"), std::string::npos);
}
