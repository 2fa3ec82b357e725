// The main oracle: an MPI run with P ranks equals the serial run bit for bit.
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "ecco/communicator.hpp"
#include "ecco/trainer.hpp"
#include "registry_cases.hpp"
#include "test_data.hpp"

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Runs config over all ranks and alone on rank 0; compares everything but the seconds.
void expect_mpi_equals_serial(const ecco::RunConfig& config) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  const auto distributed = ecco::run_mpi(config, comm);
  if (comm.rank() != 0) {
    EXPECT_FALSE(distributed.is_server);
    EXPECT_TRUE(distributed.history.empty());
    return;
  }
  const auto serial = ecco::run_serial(config);
  ASSERT_EQ(distributed.history.size(), serial.history.size());
  for (std::size_t t = 0; t < serial.history.size(); ++t) {
    const auto& a = distributed.history[t];
    const auto& b = serial.history[t];
    EXPECT_EQ(a.round, b.round);
    EXPECT_TRUE(same_bits(a.grad_norm_sq, b.grad_norm_sq)) << "round " << b.round << ": " << a.grad_norm_sq << " vs " << b.grad_norm_sq;
    EXPECT_TRUE(same_bits(a.loss, b.loss)) << "round " << b.round;
    EXPECT_TRUE(same_bits(a.train_accuracy, b.train_accuracy)) << "round " << b.round;
    EXPECT_TRUE(same_bits(a.test_loss, b.test_loss)) << "round " << b.round;
    EXPECT_TRUE(same_bits(a.test_accuracy, b.test_accuracy)) << "round " << b.round;
    EXPECT_EQ(a.bits_up, b.bits_up) << "round " << b.round;
    EXPECT_EQ(a.bits_down, b.bits_down) << "round " << b.round;
  }
  ASSERT_EQ(distributed.x.size(), serial.x.size());
  for (Eigen::Index j = 0; j < serial.x.size(); ++j) EXPECT_TRUE(same_bits(distributed.x[j], serial.x[j])) << j;
  EXPECT_TRUE(same_bits(distributed.info.step_size, serial.info.step_size));
  // --adaptive: the same choices of levels at the same rounds.
  ASSERT_EQ(distributed.level_decisions.size(), serial.level_decisions.size());
  for (std::size_t i = 0; i < serial.level_decisions.size(); ++i) {
    const auto& a = distributed.level_decisions[i];
    const auto& b = serial.level_decisions[i];
    EXPECT_EQ(a.round, b.round);
    EXPECT_EQ(a.level, b.level) << "choice after round " << b.round;
    EXPECT_EQ(a.bytes, b.bytes);
    EXPECT_TRUE(same_bits(a.error, b.error)) << "choice after round " << b.round;
  }
  ASSERT_EQ(distributed.tensor_traffic.size(), serial.tensor_traffic.size());
  for (std::size_t k = 0; k < serial.tensor_traffic.size(); ++k) {
    EXPECT_EQ(distributed.tensor_traffic[k].bits_up, serial.tensor_traffic[k].bits_up);
    EXPECT_EQ(distributed.tensor_traffic[k].level, serial.tensor_traffic[k].level);
  }
}

ecco::RunConfig synthetic(const char* algorithm, const char* compressor, ecco::ValueFormat wire) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=500,dim=30,density=0.3,seed=4";
  c.clients = 7;  // not a multiple of the rank count
  c.algorithm = algorithm;
  c.compressor = compressor;
  c.rounds = 60;
  c.wire = wire;
  c.x0 = "gaussian";
  c.seed = 11;
  c.log_every = 7;
  return c;
}

}  // namespace

TEST(MpiEqualsSerial, Ef21TopKSyntheticFp32) {
  expect_mpi_equals_serial(synthetic("ef21", "topk:k=3", ecco::ValueFormat::fp32));
}

TEST(MpiEqualsSerial, Ef21FractionSyntheticFp64) {
  expect_mpi_equals_serial(synthetic("ef21", "topk:k=0.2", ecco::ValueFormat::fp64));
}

TEST(MpiEqualsSerial, GdSynthetic) { expect_mpi_equals_serial(synthetic("gd", "identity", ecco::ValueFormat::fp32)); }

TEST(MpiEqualsSerial, MoreRanksThanClientsLeavesSomeRanksIdle) {
  auto c = synthetic("ef21", "topk:k=1", ecco::ValueFormat::fp32);
  c.clients = 1;
  expect_mpi_equals_serial(c);
}

// Every method of the registry, on heterogeneous regression clients, dealt unevenly.
TEST(MpiEqualsSerial, EveryMethod) {
  for (const auto& c : ecco::testing::registry_cases()) {
    SCOPED_TRACE(c.algorithm);
    ecco::RunConfig config = ecco::testing::registry_case_config(c);
    config.rounds = 40;
    config.log_every = 3;
    expect_mpi_equals_serial(config);
  }
}

TEST(MpiEqualsSerial, TargetStopIsAgreedByEveryRank) {
  auto c = synthetic("ef21", "topk:k=3", ecco::ValueFormat::fp64);
  c.rounds = 100000;
  c.log_every = 5;
  c.target_grad_norm_sq = 1e-3;
  const ecco::Communicator comm(MPI_COMM_WORLD);
  const auto distributed = ecco::run_mpi(c, comm);
  EXPECT_TRUE(distributed.stopped_early);  // every rank, not only the server
  EXPECT_LT(distributed.rounds_run, 100000);
  expect_mpi_equals_serial(c);
}

TEST(MpiSetup, FailureIsAgreedAndReportedOnce) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  auto c = synthetic("ef21", "topk:k=1", ecco::ValueFormat::fp32);
  c.data = "/nonexistent/data.svm";
  int reported = 0;
  try {
    ecco::run_mpi(c, comm);
    ADD_FAILURE() << "expected SetupFailure";
  } catch (const ecco::SetupFailure& e) {
    reported = e.report() ? 1 : 0;
    if (e.report()) {
      EXPECT_NE(std::string(e.what()).find("/nonexistent/data.svm"), std::string::npos) << e.what();
    }
  }
  int total = 0;
  MPI_Allreduce(&reported, &total, 1, MPI_INT, MPI_SUM, comm.raw());
  EXPECT_EQ(total, 1);
}

TEST(MpiSetup, ServerOnlyFailureStopsEveryRank) {
  // The observer runs on the server only: its failure must not leave other ranks waiting.
  struct FailingObserver final : ecco::RunObserver {
    void on_setup(const ecco::RunInfo&) override { throw ecco::ConfigError("cannot write output"); }
  } observer;
  const ecco::Communicator comm(MPI_COMM_WORLD);
  ecco::RunOptions options;
  options.observer = &observer;
  bool failed = false;
  try {
    ecco::run_mpi(synthetic("ef21", "topk:k=1", ecco::ValueFormat::fp32), comm, options);
  } catch (const ecco::SetupFailure& e) {
    failed = true;
    EXPECT_EQ(e.report(), comm.rank() == 0);
  }
  EXPECT_TRUE(failed);
}

TEST(MpiEqualsSerialData, MushroomsEf21Top1) {
  ECCO_REQUIRE_DATASET(path, "libsvm/mushrooms.txt");
  ecco::RunConfig c;
  c.data = path;
  c.problem = "logistic:lambda=0.1";
  c.clients = 20;
  c.algorithm = "ef21";
  c.compressor = "topk:k=1";
  c.rounds = 200;
  c.seed = 1;
  expect_mpi_equals_serial(c);
}

// Model training: an MLP with minibatch momentum, a cosine schedule, minibatch-loss metrics
// and a test set evaluated in per-client slices.
TEST(MpiEqualsSerial, MlpWithTestSetAndSchedule) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=400,dim=20,density=0.5,seed=4";
  c.test_data = "synthetic_classification:rows=97,dim=20,density=0.5,seed=5";
  c.problem = "mlp:hidden=16x8,init_seed=3";
  c.clients = 7;
  c.algorithm = "ef21_sgdm:eta=0.2,init=compressed";
  c.batch = 8;
  c.compressor = "topk:k=0.05";
  c.step_size = "0.2";
  c.lr_schedule = "cosine:warmup=5,final=0.1";
  c.rounds = 40;
  c.eval_every = 10;
  c.log_every = 3;
  c.seed = 5;
  expect_mpi_equals_serial(c);
  c.algorithm = "ef14";
  c.compressor = "qsgd:s=8";
  c.compressor = "contractive(qsgd:s=8)";
  c.problem = "softmax:lambda=0.01";
  expect_mpi_equals_serial(c);
}

// The same on the real data (skipped without the Debian package dataset-fashion-mnist).
TEST(MpiEqualsSerial, MlpOnFashionMnist) {
  ECCO_REQUIRE_FASHION_MNIST();
  ecco::RunConfig c;
  c.data = "fashion_mnist:rows=800,test_rows=300";
  c.problem = "mlp:hidden=32x16";
  c.clients = 6;
  c.algorithm = "ef21_sgdm";
  c.batch = 16;
  c.compressor = "topk:k=0.01";
  c.step_size = "0.1";
  c.rounds = 12;
  c.eval_every = 6;
  c.log_every = 4;
  expect_mpi_equals_serial(c);
}

// L-GreCo: every process measures its clients' errors, the server sums them in client order
// and chooses, every process switches after the same round. TopK and lowrank levels (warm
// starts per level), gather and allgather, levels chosen by error and by a byte budget; the
// test checks that the levels do change.
TEST(MpiEqualsSerial, LgrecoLevelsPerTensor) {
  ecco::RunConfig c;
  c.data = "synthetic_classification:rows=400,dim=20,density=0.5,seed=4";
  c.problem = "mlp:hidden=16x8,init_seed=3";
  c.clients = 7;
  c.algorithm = "ef14:momentum=0.9";
  c.batch = 8;
  c.granularity = "tensor";
  c.allow_any_compressor = true;
  c.step_size = "0.1";
  c.rounds = 40;
  c.log_every = 5;
  c.seed = 5;
  for (const char* aggregation : {"gather", "allgather"}) {
    for (const char* compressor : {"topk:k=0.2", "lowrank:r=2"}) {
      for (const char* adaptive : {"lgreco:every=8", "lgreco:every=8,budget=700"}) {
        SCOPED_TRACE(std::string(aggregation) + " " + compressor + " " + adaptive);
        c.aggregation = aggregation;
        c.compressor = compressor;
        c.adaptive = adaptive;
        expect_mpi_equals_serial(c);
      }
    }
  }
  const ecco::Communicator comm(MPI_COMM_WORLD);
  if (comm.rank() == 0) {
    c.adaptive = "lgreco:every=8";
    c.compressor = "topk:k=0.2";
    const auto run = ecco::run_serial(c);
    ASSERT_EQ(run.level_decisions.size(), 4U);
    bool changed = false;
    for (const auto& d : run.level_decisions) {
      EXPECT_LE(d.bytes, d.uniform_bytes);
      EXPECT_LE(d.error, d.uniform_error);
      for (const auto level : d.level) changed |= level != run.info.adaptive->uniform_level;
    }
    EXPECT_TRUE(changed);
  }
}
