// Checkpoints across rank counts: a run written by P ranks and resumed by another number of
// ranks (P -> P/2 and P/2 -> P, on sub-communicators of the world), with and without a
// dedicated server, in gather and allgather modes, equals the serial uninterrupted run bit for
// bit. Sharded runs resume on the same number of ranks and refuse another.
#include <unistd.h>

#include <cstring>
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "ecco/algorithm.hpp"
#include "ecco/communicator.hpp"
#include "ecco/error.hpp"
#include "ecco/trainer.hpp"
#include "registry_cases.hpp"

namespace {

namespace fs = std::filesystem;

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_same_run(const ecco::RunResult& a, const ecco::RunResult& b) {
  ASSERT_EQ(a.history.size(), b.history.size());
  for (std::size_t k = 0; k < a.history.size(); ++k) {
    EXPECT_EQ(a.history[k].round, b.history[k].round);
    EXPECT_TRUE(same_bits(a.history[k].loss, b.history[k].loss)) << "row " << k;
    EXPECT_TRUE(same_bits(a.history[k].grad_norm_sq, b.history[k].grad_norm_sq)) << "row " << k;
    EXPECT_EQ(a.history[k].bits_up, b.history[k].bits_up) << "row " << k;
  }
  ASSERT_EQ(a.x.size(), b.x.size());
  for (Eigen::Index j = 0; j < a.x.size(); ++j) EXPECT_TRUE(same_bits(a.x[j], b.x[j])) << "x[" << j << "]";
  EXPECT_EQ(a.messages_up, b.messages_up);
}

// A directory name every rank agrees on (rank 0's pid), removed by rank 0.
class SharedDir {
 public:
  explicit SharedDir(const std::string& name) {
    long pid = ::getpid();
    MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    path_ = fs::temp_directory_path() / ("ecco-mpi-checkpoint-" + name + "-" + std::to_string(pid));
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) fs::remove_all(path_);
    MPI_Barrier(MPI_COMM_WORLD);
  }
  ~SharedDir() {
    MPI_Barrier(MPI_COMM_WORLD);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    std::error_code ignored;
    if (rank == 0) fs::remove_all(path_, ignored);
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

// The world's first `ranks` processes as a communicator (null on the others).
struct SubWorld {
  explicit SubWorld(int ranks) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm split = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, rank < ranks ? 0 : MPI_UNDEFINED, rank, &split);
    if (split != MPI_COMM_NULL) {
      comm = std::make_unique<ecco::Communicator>(split);
      MPI_Comm_free(&split);
    }
  }
  std::unique_ptr<ecco::Communicator> comm;
};

// Writes on `writers` ranks (checkpoint after round 7 of 11), resumes on `resumers`; rank 0
// compares with the serial run.
void expect_resume_across(const ecco::RunConfig& config, int writers, int resumers, const std::string& what) {
  SCOPED_TRACE(what + ": " + std::to_string(writers) + " -> " + std::to_string(resumers) + " ranks");
  const SharedDir dir("ranks");
  {
    const SubWorld w(writers);
    ecco::RunOptions writing;
    writing.checkpoint.dir = dir.str();
    writing.checkpoint.every = 7;
    if (w.comm) (void)ecco::run_mpi(config, *w.comm, writing);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  ecco::RunResult resumed;
  {
    const SubWorld r(resumers);
    ecco::RunOptions resuming;
    resuming.checkpoint.resume = dir.str();
    if (r.comm) resumed = ecco::run_mpi(config, *r.comm, resuming);
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) return;
  EXPECT_EQ(resumed.resumed_from, 7);
  ecco::RunConfig serial = config;  // every mode gives the serial gather run's bits (sharded: its own)
  serial.dedicated_server = false;
  if (serial.aggregation != "sharded") serial.aggregation = "gather";
  serial.downlink = "model";
  expect_same_run(ecco::run_serial(serial), resumed);
}

struct Mode {
  const char* aggregation;
  const char* downlink;
  bool dedicated_server;
};

TEST(CheckpointRanks, EveryMethodResumesOnAnotherRankCount) {
  int world = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  const int half = std::max(1, world / 2);
  for (const auto& c : ecco::testing::registry_cases()) {
    const bool delta = ecco::make_method(c.algorithm)->supports_delta_downlink();
    for (const Mode& m : {Mode{"gather", "model", false}, Mode{"allgather", "delta", false}, Mode{"gather", "model", true}}) {
      if (std::string(m.downlink) == "delta" && !delta) continue;
      if (m.dedicated_server && half < 2) continue;  // both runs need a rank besides the server
      ecco::RunConfig config = ecco::testing::registry_case_config(c);
      config.rounds = 11;
      config.aggregation = m.aggregation;
      config.downlink = m.downlink;
      config.dedicated_server = m.dedicated_server;
      const std::string what = std::string(c.algorithm) + " " + m.aggregation + "/" + m.downlink +
                               (m.dedicated_server ? "/dedicated" : "");
      expect_resume_across(config, world, half, what);
      expect_resume_across(config, half, world, what);
    }
  }
}

TEST(CheckpointRanks, ShardedResumesOnTheSameRankCountOnly) {
  int world = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  ecco::RunConfig config = ecco::testing::registry_case_config({"ef21_hb:eta=0.7", "topk:k=2", "theory"});
  config.rounds = 11;
  config.aggregation = "sharded";
  config.shard_chunk = 3;
  expect_resume_across(config, world, world, "sharded");
  if (world < 2) return;
  const SharedDir dir("sharded");
  {
    ecco::RunOptions writing;
    writing.checkpoint.dir = dir.str();
    writing.checkpoint.every = 7;
    const ecco::Communicator comm(MPI_COMM_WORLD);
    (void)ecco::run_mpi(config, comm, writing);
  }
  const SubWorld r(world / 2);
  if (!r.comm) return;
  ecco::RunOptions resuming;
  resuming.checkpoint.resume = dir.str();
  std::string error = "(no error)";
  try {
    (void)ecco::run_mpi(config, *r.comm, resuming);
  } catch (const ecco::Error& e) {
    error = e.what();
  }
  // Every resuming rank throws; the message is rank 0's.
  if (r.comm->rank() == 0) {
    EXPECT_NE(error.find("resume it on " + std::to_string(world) + " ranks"), std::string::npos) << error;
  }
}

}  // namespace
