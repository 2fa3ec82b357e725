// A failure during the rounds on some ranks, agreed by all: every rank throws the same
// category with the same message, whatever the number of ranks, and exactly one rank
// reports it (issue 17: errors on one rank never hang the others, also as a library).
//
// The data: two clients under least squares with a huge step. Client 0's rows have a = 1,
// client 1's a = 1e38. x_1 = -gamma grad f(0) is about 5e237; at x_1 client 1's gradient
// a^2 x_1 overflows to inf (its step fails), and so does the loss (the metrics of the round
// fail on the rank that checks them). The step comes first in the round, so every rank
// count must report client 1's failure, wherever client 1 and the metrics check live.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <mpi.h>

#include "ecco/communicator.hpp"
#include "ecco/error.hpp"
#include "ecco/trainer.hpp"

namespace {

namespace fs = std::filesystem;

// A data file every rank reads, written by rank 0 (named after its pid), removed by it.
class SharedFile {
 public:
  explicit SharedFile(const std::string& content) {
    long pid = ::getpid();
    MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    path_ = fs::temp_directory_path() / ("ecco-mpi-failure-" + std::to_string(pid) + ".svm");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    if (rank_ == 0) std::ofstream(path_) << content;
    MPI_Barrier(MPI_COMM_WORLD);
  }
  ~SharedFile() {
    MPI_Barrier(MPI_COMM_WORLD);
    std::error_code ignored;
    if (rank_ == 0) fs::remove(path_, ignored);
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
  int rank_ = 0;
};

TEST(RoundFailures, EveryRankThrowsTheEarliestFailureWithItsCategory) {
  const SharedFile data("1 1:1\n1 1:1\n1 1:1\n1 1:1\n1 1:1e38\n1 1:1e38\n1 1:1e38\n1 1:1e38\n");
  ecco::RunConfig c;
  c.data = data.str();
  c.problem = "least_squares";
  c.algorithm = "gd";
  c.clients = 2;
  c.rounds = 3;
  c.step_size = "1e200";
  c.wire = ecco::ValueFormat::fp64;
  const ecco::Communicator world(MPI_COMM_WORLD);
  std::string message;
  int reports = 0;
  bool numeric = false;
  try {
    (void)ecco::run_mpi(c, world);
    ADD_FAILURE() << "the run should stop at round 1";
  } catch (const ecco::NumericError& e) {
    message = e.what();
    const auto* agreed = dynamic_cast<const ecco::RoundFailure*>(&e);
    EXPECT_NE(agreed, nullptr);
    if (agreed != nullptr) {
      reports = agreed->report() ? 1 : 0;
      numeric = agreed->numeric();
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a NumericError: " << e.what();
  }
  EXPECT_EQ(message.rfind("client 1, round 1: ", 0), 0U) << message;
  EXPECT_NE(message.find("not finite"), std::string::npos) << message;
  EXPECT_TRUE(numeric);
  int total = 0;
  MPI_Allreduce(&reports, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(total, 1) << "exactly one rank reports the failure";
}

}  // namespace
