// --aggregation allgather, --downlink delta and --dedicated-server change where the work is
// done and what travels, never the result: every combination on P ranks equals the plain
// serial run (gather, model downlink) bit for bit, and the bits counted down are those of
// the mode (the serial run of the same downlink with gather, 0 with allgather).
// --aggregation allreduce adds the messages in another order and precision: close to gather.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "ecco/algorithm.hpp"
#include "ecco/codec.hpp"
#include "ecco/communicator.hpp"
#include "ecco/trainer.hpp"
#include "registry_cases.hpp"

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct Mode {
  const char* aggregation;
  const char* downlink;
  bool dedicated_server;
};

std::string describe(const Mode& m) {
  return std::string(m.aggregation) + "/" + m.downlink + (m.dedicated_server ? "/dedicated" : "");
}

bool is_sharded(const Mode& m) { return std::string(m.aggregation) == "sharded"; }

// Sharded runs cut d = 10 into chunks of 3, 3, 3 and 1 (uneven over 2, 3 and 4 ranks), or
// into the method's own chunks (onebit_adam's chunk=).
ecco::RunConfig in_mode(ecco::RunConfig config, const Mode& mode) {
  if (is_sharded(mode) && config.shard_chunk == 0 && !ecco::make_method(config.algorithm)->message_chunk()) {
    config.shard_chunk = 3;
  }
  config.aggregation = mode.aggregation;
  config.downlink = mode.downlink;
  config.dedicated_server = mode.dedicated_server;
  return config;
}

// Runs config in mode over all ranks; on rank 0 compares with the serial gather/model run.
void expect_mode_equals_serial(const ecco::RunConfig& base, const Mode& mode) {
  SCOPED_TRACE(describe(mode));
  const ecco::Communicator comm(MPI_COMM_WORLD);
  const auto distributed = ecco::run_mpi(in_mode(base, mode), comm);
  if (comm.rank() != 0) return;
  const auto serial = ecco::run_serial(base);
  // The downlink bits of this mode: those of the serial run with the same downlink.
  ecco::RunConfig same_downlink = base;
  same_downlink.downlink = mode.downlink;
  const auto serial_down = ecco::run_serial(same_downlink);
  const bool allgather = std::string(mode.aggregation) == "allgather";
  ASSERT_EQ(distributed.history.size(), serial.history.size());
  ASSERT_EQ(serial_down.history.size(), serial.history.size());
  for (std::size_t t = 0; t < serial.history.size(); ++t) {
    const auto& a = distributed.history[t];
    const auto& b = serial.history[t];
    EXPECT_EQ(a.round, b.round);
    EXPECT_TRUE(same_bits(a.grad_norm_sq, b.grad_norm_sq)) << "round " << b.round;
    EXPECT_TRUE(same_bits(a.loss, b.loss)) << "round " << b.round;
    EXPECT_TRUE(same_bits(a.train_accuracy, b.train_accuracy)) << "round " << b.round;
    if (is_sharded(mode)) {
      // The same messages cut into chunks: a header per chunk instead of per message (fewer
      // bytes for parts messages, whose parts each have their header already), the same
      // values, whose packed levels (quantisers) round up to whole bytes per chunk.
      EXPECT_GE(a.bits_up_value, b.bits_up_value) << "round " << b.round;
      EXPECT_LE(a.bits_up_value, 2 * b.bits_up_value) << "round " << b.round;
      EXPECT_EQ(a.bits_down > 0, t > 0) << "round " << b.round;
    } else {
      EXPECT_EQ(a.bits_up, b.bits_up) << "round " << b.round;
      EXPECT_EQ(a.bits_down, allgather ? 0 : serial_down.history[t].bits_down) << "round " << b.round;
    }
  }
  ASSERT_EQ(distributed.x.size(), serial.x.size());
  for (Eigen::Index j = 0; j < serial.x.size(); ++j) EXPECT_TRUE(same_bits(distributed.x[j], serial.x[j])) << j;
  EXPECT_EQ(distributed.messages_up, serial.messages_up);
  if (allgather && comm.size() > 1) {
    EXPECT_GT(distributed.bits_allgather_received, 0U);
  } else {
    EXPECT_EQ(distributed.bits_allgather_received, 0U);
  }
}

// Every mode combination this number of ranks allows (dedicated server: 2 ranks or more).
void expect_every_mode_equals_serial(const ecco::RunConfig& config, bool delta) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  // Sharded runs cut every message into coordinate chunks: not low-rank ones.
  const bool sharded = ecco::make_method(config.algorithm)->supports_sharded_aggregation() &&
                       config.compressor.find("lowrank") == std::string::npos;
  for (const char* aggregation : {"gather", "allgather", "sharded"}) {
    if (!sharded && std::string(aggregation) == "sharded") continue;
    for (const char* downlink : {"model", "delta"}) {
      if (!delta && std::string(downlink) == "delta") continue;
      for (const bool dedicated : {false, true}) {
        if (dedicated && comm.size() < 2) continue;
        expect_mode_equals_serial(config, {aggregation, downlink, dedicated});
      }
    }
  }
}

bool supports_delta(const char* algorithm) { return ecco::make_method(algorithm)->supports_delta_downlink(); }

}  // namespace

// Every method of the registry, as MpiEqualsSerial.EveryMethod.
TEST(AggregationModes, EveryMethodEveryMode) {
  for (const auto& c : ecco::testing::registry_cases()) {
    SCOPED_TRACE(c.algorithm);
    ecco::RunConfig config = ecco::testing::registry_case_config(c);
    config.lr_schedule = "cosine:warmup=3,final=0.2";  // every replica follows the schedule
    config.rounds = 30;
    config.log_every = 4;
    expect_every_mode_equals_serial(config, supports_delta(c.algorithm));
  }
}

// Sharded aggregation equals the serial gather run for identity and TopK messages, with
// d = 50 in chunks of 7 (the last of 1 coordinate), 6 clients dealt over the ranks.
TEST(AggregationModes, ShardedEqualsGatherWithUnevenChunks) {
  for (const char* compressor : {"identity", "topk:k=5", "randk:k=6", "qsgd:s=4"}) {
    for (const char* algorithm : {"ef21", "gd", "dcgd"}) {
      if (std::string(algorithm) == "ef21" && std::string(compressor) == "qsgd:s=4") continue;  // not contractive
      SCOPED_TRACE(std::string(algorithm) + " with " + compressor);
      ecco::RunConfig config;
      config.data = "synthetic:rows=60,dim=50,spread=10,noise=0.5,seed=3";
      config.problem = "least_squares:lambda=0.01";
      config.clients = 6;
      config.algorithm = algorithm;
      config.compressor = compressor;
      config.step_size = "0.01";
      config.x0 = "gaussian";
      config.rounds = 12;
      config.log_every = 3;
      config.shard_chunk = 7;
      for (const char* downlink : {"model", "delta"}) expect_mode_equals_serial(config, {"sharded", downlink, false});
    }
  }
}

// A sparse delta (Top1 of d = 60 on 3 clients: at most 3 coordinates) costs fewer bits down than the model.
TEST(AggregationModes, SparseDeltaIsSmallerThanTheModel) {
  ecco::RunConfig config;
  config.data = "synthetic:rows=180,dim=60,seed=3";
  config.problem = "least_squares:lambda=0.01";
  config.clients = 3;
  config.algorithm = "ef21";
  config.compressor = "topk:k=1";
  config.step_size = "0.001";  // no theory step: its constants cost more than the rounds
  config.rounds = 20;
  config.log_every = 5;
  expect_every_mode_equals_serial(config, true);
  const ecco::Communicator comm(MPI_COMM_WORLD);
  if (comm.rank() != 0) return;
  auto delta = config;
  delta.downlink = "delta";
  const auto model_run = ecco::run_serial(config);
  const auto delta_run = ecco::run_serial(delta);
  EXPECT_LT(delta_run.history.back().bits_down, model_run.history.back().bits_down / 4);
}

// More ranks than clients with a dedicated server: some client ranks stay idle.
TEST(AggregationModes, DedicatedServerWithFewClients) {
  ecco::RunConfig config;
  config.data = "synthetic_classification:rows=200,dim=12,density=0.5,seed=4";
  config.clients = 2;
  config.compressor = "topk:k=2";
  config.rounds = 15;
  config.x0 = "gaussian";
  expect_every_mode_equals_serial(config, true);
}

// d = 40000: the metrics' gradient fold runs pipelined in chunks (MpiTransport::ordered_fold).
TEST(AggregationModes, LongGradientFoldedInChunks) {
  ecco::RunConfig config;
  config.data = "synthetic_classification:rows=200,dim=40000,density=0.001,seed=6";
  config.clients = 5;
  config.compressor = "topk:k=20";
  config.step_size = "0.5";  // no theory step: its constants cost more than the rounds
  config.rounds = 6;
  config.log_every = 2;
  expect_mode_equals_serial(config, {"gather", "model", false});
}

TEST(AggregationModes, DedicatedServerNeedsTwoProcesses) {
  ecco::RunConfig config;
  config.data = "synthetic_classification:rows=50,dim=5";
  config.clients = 2;
  config.rounds = 2;
  config.dedicated_server = true;
  try {
    ecco::run_serial(config);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ecco::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--dedicated-server needs at least 2 processes"), std::string::npos) << what;
  }
}

TEST(AggregationModes, DeltaRefusedByMethodsWithTheirOwnServer) {
  for (const char* algorithm : {"ef21_plus", "ef21_bc"}) {
    ecco::RunConfig config;
    config.data = "synthetic_classification:rows=50,dim=5";
    config.clients = 2;
    config.rounds = 2;
    config.algorithm = algorithm;
    config.downlink = "delta";
    try {
      ecco::run_serial(config);
      ADD_FAILURE() << "expected ConfigError for " << algorithm;
    } catch (const ecco::ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("--downlink delta: algorithm '"), std::string::npos) << what;
      EXPECT_NE(what.find("methods that can: gd, sgd, dcgd, ef14, ef21, ef21w, ef21_sgd"), std::string::npos) << what;
    }
  }
}

namespace {

// The case's compressor with the same number of coordinates, chosen alike by every client.
std::string summable_compressor(const ecco::testing::MethodCase& c) {
  const std::string spec = c.compressor;
  if (spec.rfind("topk:k=", 0) == 0) return "randk:coords=common,k=" + spec.substr(7);
  return spec;  // identity
}

struct Tolerance {
  double relative;
  const char* wire;
};

// --aggregation allreduce on all ranks against the serial gather run of the same config:
// equal up to the order and precision of the additions (MessageSum), with exactly the value
// bits of the gathered messages counted up and nothing down.
void expect_allreduce_close_to_gather(const ecco::RunConfig& base, const Mode& mode, const Tolerance& tol) {
  SCOPED_TRACE(describe(mode) + " wire " + tol.wire);
  ecco::RunConfig gathered = base;
  gathered.wire = ecco::parse_value_format(tol.wire);
  const ecco::Communicator comm(MPI_COMM_WORLD);
  const auto reduced = ecco::run_mpi(in_mode(gathered, mode), comm);
  if (comm.rank() != 0) return;
  const auto serial = ecco::run_serial(gathered);
  const auto close = [&](double a, double b) { return std::abs(a - b) <= tol.relative * std::max(1.0, std::abs(b)); };
  ASSERT_EQ(reduced.history.size(), serial.history.size());
  for (std::size_t t = 0; t < serial.history.size(); ++t) {
    const auto& a = reduced.history[t];
    const auto& b = serial.history[t];
    EXPECT_EQ(a.round, b.round);
    EXPECT_TRUE(close(a.loss, b.loss)) << "round " << b.round << ": " << a.loss << " vs " << b.loss;
    EXPECT_TRUE(close(a.grad_norm_sq, b.grad_norm_sq)) << "round " << b.round;
    EXPECT_EQ(a.bits_up, b.bits_up_value) << "round " << b.round;
    EXPECT_EQ(a.bits_up_index, 0U);
    EXPECT_EQ(a.bits_down, 0U);
  }
  double worst = 0.0;
  for (Eigen::Index j = 0; j < serial.x.size(); ++j) {
    worst = std::max(worst, std::abs(reduced.x[j] - serial.x[j]) / std::max(1.0, std::abs(serial.x[j])));
  }
  EXPECT_LE(worst, tol.relative);
  EXPECT_EQ(reduced.messages_up, serial.messages_up);
  EXPECT_GT(reduced.bits_allreduce_payload, 0U);
}

}  // namespace

// Every method that aggregates a weighted sum, with identity or randk coords=common, with
// both downlinks and a dedicated server: close to gather in fp32 (the sums are rounded to fp32 once per
// process and added in fp32 by MPI) and much closer in fp64.
TEST(AggregationModes, AllreduceMatchesGatherUpToRounding) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  for (const auto& c : ecco::testing::registry_cases()) {
    if (!ecco::make_method(c.algorithm)->supports_summed_aggregation()) continue;
    if (std::string(c.algorithm).rfind("ef21_pp", 0) == 0) continue;  // clients skip rounds: below
    SCOPED_TRACE(c.algorithm);
    ecco::RunConfig config = ecco::testing::registry_case_config(c);
    config.compressor = summable_compressor(c);
    config.rounds = 30;
    config.log_every = 5;
    const Tolerance fp32{1e-5, "fp32"};
    const Tolerance fp64{1e-12, "fp64"};
    expect_allreduce_close_to_gather(config, {"allreduce", "model", false}, fp32);
    expect_allreduce_close_to_gather(config, {"allreduce", "delta", comm.size() >= 2}, fp32);
    expect_allreduce_close_to_gather(config, {"allreduce", "model", false}, fp64);
  }
}

// The same coordinates for all clients cannot survive clients that skip rounds (their
// streams fall behind): every rank stops with the same ConfigError instead of summing garbage.
TEST(AggregationModes, AllreduceRefusesClientsThatDisagree) {
  ecco::RunConfig config = ecco::testing::registry_case_config({"ef21_pp:participation=0.5", "", "0.01"});
  config.compressor = "randk:k=2,coords=common";
  config.aggregation = "allreduce";
  config.rounds = 30;
  const ecco::Communicator comm(MPI_COMM_WORLD);
  try {
    ecco::run_mpi(config, comm);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ecco::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--aggregation allreduce, round "), std::string::npos) << what;
    EXPECT_NE(what.find("cannot be summed without their indices"), std::string::npos) << what;
  }
}

TEST(AggregationModes, AllreduceRefusesWhatCannotBeSummed) {
  struct Case {
    const char* algorithm;
    const char* compressor;
    const char* wire;
    const char* expected;
  };
  for (const Case& c : {Case{"ef21", "topk:k=2", "fp32", "compressor 'topk:k=2' cannot be summed so"},
                        Case{"ef21", "randk:k=2", "fp32", "compressor 'randk:k=2,scaled=false,shared_seed=false,"},
                        Case{"ef21", "topk:k=2+qsgd:s=4", "fp32", "cannot be summed so"},
                        Case{"ef21_plus", "identity", "fp32", "algorithm 'ef21_plus' needs each client's message"},
                        Case{"ef21_bc", "identity", "fp32", "algorithm 'ef21_bc' needs each client's message"},
                        Case{"gd", "identity", "bf16", "--wire bf16 cannot be summed by MPI"}}) {
    ecco::RunConfig config;
    config.data = "synthetic_classification:rows=50,dim=5";
    config.clients = 2;
    config.rounds = 2;
    config.algorithm = c.algorithm;
    config.compressor = c.compressor;
    config.wire = ecco::parse_value_format(c.wire);
    config.aggregation = "allreduce";
    try {
      ecco::run_serial(config);
      ADD_FAILURE() << "expected ConfigError for " << c.algorithm << " " << c.compressor;
    } catch (const ecco::ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(c.expected), std::string::npos) << what;
    }
  }
}

// lowrank:factor=shared: every process that runs the server updates the factor from the
// round's messages (rank 0 sends it to the others with the gather-mode downlink), so every
// gather and allgather mode equals the serial run bit for bit, the factor's broadcast
// included in the bits down. Allreduce sums A and S (P is the shared factor): close to gather.
// EF21-PP's clients skip rounds, which a shared factor (unlike randk's common stream) allows.
TEST(AggregationModes, SharedLowRankFactorInEveryMode) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  for (const char* algorithm : {"ef21", "ef14", "ef21_pp:participation=0.5"}) {
    SCOPED_TRACE(algorithm);
    ecco::RunConfig config;
    config.data = "synthetic_classification:rows=250,dim=300,density=0.3,seed=5";
    config.problem = "least_squares";
    config.clients = 5;
    config.algorithm = algorithm;
    config.compressor = "lowrank:r=2,factor=shared";
    config.allow_any_compressor = true;  // one power iteration: no contraction guarantee
    config.step_size = "0.05";
    config.rounds = 25;
    config.log_every = 5;
    expect_every_mode_equals_serial(config, true);
    expect_allreduce_close_to_gather(config, {"allreduce", "model", false}, {1e-9, "fp64"});
    expect_allreduce_close_to_gather(config, {"allreduce", "delta", comm.size() >= 2}, {1e-4, "fp32"});
    if (comm.rank() != 0) continue;
    // After a round of shared-factor messages the delta downlink is P A^T as a lowrank
    // message: R (rows + cols) = 2 (18 + 17) fp64 values and a 32-byte header instead of 300
    // fp64 coordinates (the update of a dense initial round travels as before). The factor's
    // broadcast, 1 + 70 fp64 values per client and round, is in both.
    ecco::RunConfig delta = config;
    delta.downlink = "delta";
    const auto model_run = ecco::run_serial(config);
    const auto delta_run = ecco::run_serial(delta);
    const auto per_round = config.clients * static_cast<std::uint64_t>(config.rounds);
    const std::uint64_t factor_bits = 64 * (1 + 2 * (18 + 17)) * per_round;
    const std::uint64_t model_bits = model_run.history.back().bits_down;
    EXPECT_EQ(model_bits, factor_bits + 8 * (20 + 8 * 300) * per_round);
    EXPECT_LT(delta_run.history.back().bits_down - factor_bits, (model_bits - factor_bits) / 3);
  }
}

TEST(AggregationModes, SharedFactorNeedsAWeightedSumMethod) {
  for (const char* algorithm : {"ef21_plus", "ef21_bc"}) {
    ecco::RunConfig config;
    config.data = "synthetic_classification:rows=50,dim=30";
    config.clients = 2;
    config.rounds = 2;
    config.algorithm = algorithm;
    config.compressor = "lowrank:r=1,factor=shared";
    config.allow_any_compressor = true;
    config.step_size = "0.01";
    try {
      ecco::run_serial(config);
      ADD_FAILURE() << "expected ConfigError for " << algorithm;
    } catch (const ecco::ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("cannot use a shared factor"), std::string::npos) << what;
      EXPECT_NE(what.find("methods that can: gd, sgd, dcgd, ef14, ef21"), std::string::npos) << what;
    }
  }
}

namespace {

// The dense rounds of gd / sgd under --aggregation allreduce without copies
// (RunOptions::dense_shortcuts) against the Message path, on all ranks: the same bits.
void expect_shortcuts_change_nothing(const ecco::RunConfig& config) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  ecco::RunOptions message_path;
  message_path.dense_shortcuts = false;
  const auto fast = ecco::run_mpi(config, comm);
  const auto slow = ecco::run_mpi(config, comm, message_path);
  if (comm.rank() != 0) return;
  ASSERT_EQ(fast.history.size(), slow.history.size());
  for (std::size_t t = 0; t < slow.history.size(); ++t) {
    const auto& a = fast.history[t];
    const auto& b = slow.history[t];
    EXPECT_TRUE(same_bits(a.loss, b.loss)) << "round " << b.round << ": " << a.loss << " vs " << b.loss;
    EXPECT_TRUE(same_bits(a.grad_norm_sq, b.grad_norm_sq)) << "round " << b.round;
    EXPECT_TRUE(same_bits(a.test_accuracy, b.test_accuracy)) << "round " << b.round;
    EXPECT_EQ(a.bits_up, b.bits_up) << "round " << b.round;
    EXPECT_EQ(a.bits_down, b.bits_down) << "round " << b.round;
  }
  for (Eigen::Index j = 0; j < slow.x.size(); ++j) ASSERT_TRUE(same_bits(fast.x[j], slow.x[j])) << j;
  EXPECT_EQ(fast.bits_allreduce_payload, slow.bits_allreduce_payload);
  EXPECT_EQ(fast.messages_up, slow.messages_up);
}

}  // namespace

// One client per rank (its gradient goes straight into the fp32 buffer MPI sums) and an
// uneven number per rank (summed in fp64 first), both wire formats, both downlinks, a
// dedicated server; logistic regression (fp64 compute) and an MLP computing in fp32.
TEST(AggregationModes, DenseShortcutsGiveTheMessagePathBits) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  for (const char* algorithm : {"gd", "sgd:batch=7,momentum=0.9"}) {
    for (const std::size_t clients : {static_cast<std::size_t>(comm.size()), 2 * static_cast<std::size_t>(comm.size()) + 1}) {
      for (const char* wire : {"fp32", "fp64"}) {
        for (const char* downlink : {"model", "delta"}) {
          SCOPED_TRACE(std::string(algorithm) + ", " + std::to_string(clients) + " clients, " + wire + ", " + downlink);
          ecco::RunConfig config;
          config.data = "synthetic_classification:rows=240,dim=30,density=0.3,seed=4";
          config.clients = clients;
          config.algorithm = algorithm;
          config.step_size = "0.5";
          config.lr_schedule = "cosine:warmup=2,final=0.1";
          config.rounds = 12;
          config.log_every = 3;
          config.aggregation = "allreduce";
          config.downlink = downlink;
          config.wire = ecco::parse_value_format(wire);
          expect_shortcuts_change_nothing(config);
        }
      }
    }
  }
  ecco::RunConfig mlp;
  mlp.data = "synthetic_classification:rows=300,dim=20,density=0.5,seed=6";
  mlp.problem = "mlp:hidden=16x8";
  mlp.precision = ecco::ComputePrecision::fp32;
  mlp.clients = 2 * static_cast<std::size_t>(comm.size());
  mlp.algorithm = "sgd:batch=16,momentum=0.9";
  mlp.step_size = "0.1";
  mlp.rounds = 10;
  mlp.log_every = 5;
  mlp.aggregation = "allreduce";
  expect_shortcuts_change_nothing(mlp);
  if (comm.size() >= 2) {
    mlp.dedicated_server = true;
    expect_shortcuts_change_nothing(mlp);
  }
}
