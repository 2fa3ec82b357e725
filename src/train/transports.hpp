#pragma once
// In-process and MPI implementations of Transport (private to src/train).
#include <vector>

#include <mpi.h>

#include "train/transport.hpp"

namespace ecco {
class Communicator;
}

namespace ecco::detail {

// All clients in this process; every collective is a local copy or a no-op.
class SerialTransport final : public Transport {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int lowest_failing_rank(bool failed) const override;
  void gather(std::span<const std::byte> local, std::vector<std::byte>& at_server) override;
  void allgather(std::span<const std::byte> local, std::vector<std::byte>& all) override;
  void alltoall(std::span<const std::byte> blocks, std::span<const std::size_t> send_counts,
                std::vector<std::byte>& received) override;
  void broadcast(std::vector<std::byte>& bytes) const override;
  void broadcast(std::span<double> values) const override;
  void allreduce_sum(std::span<float> values) const override;
  void allreduce_sum(std::span<double> values) const override;
  void allreduce_max(std::span<std::uint64_t> values) const override;
  void ordered_fold(Eigen::Ref<Eigen::VectorXd> acc, std::size_t local_count,
                    const FoldContribution& contribution) override;

 private:
  Eigen::VectorXd term_;  // one contribution
};

// Rank 0 of the communicator is the server.
//
// ordered_fold runs a chain 0 -> 1 -> ... -> P-1 -> 0 in chunks of kFoldChunk doubles: a
// rank posts non-blocking receives for every chunk, then adds its contributions to chunk c
// and sends it on while the next chunks arrive, so the chain costs about one pass of acc
// over a link plus (P - 1) chunks, instead of P passes in sequence. It first computes all its
// local contributions (local_count x acc.size() doubles); when they would exceed
// fold_budget_bytes the rank instead waits for every chunk, adds one contribution at a time
// and sends the chunks on (same bits, same messages, no pipelining through it).
class MpiTransport final : public Transport {
 public:
  // fold_budget_bytes: the local contributions ordered_fold holds at once (see above).
  explicit MpiTransport(const Communicator& comm, std::size_t fold_budget_bytes = std::size_t{256} << 20);
  int rank() const override;
  int size() const override;
  int lowest_failing_rank(bool failed) const override;
  void gather(std::span<const std::byte> local, std::vector<std::byte>& at_server) override;
  void allgather(std::span<const std::byte> local, std::vector<std::byte>& all) override;
  void alltoall(std::span<const std::byte> blocks, std::span<const std::size_t> send_counts,
                std::vector<std::byte>& received) override;
  void broadcast(std::vector<std::byte>& bytes) const override;
  void broadcast(std::span<double> values) const override;
  void allreduce_sum(std::span<float> values) const override;
  void allreduce_sum(std::span<double> values) const override;
  void allreduce_max(std::span<std::uint64_t> values) const override;
  void ordered_fold(Eigen::Ref<Eigen::VectorXd> acc, std::size_t local_count,
                    const FoldContribution& contribution) override;
  std::vector<int> missing_arrivals(std::int64_t round, double timeout_seconds) override;
  std::unique_ptr<RoundWatchdog> make_watchdog(double timeout_seconds) override;
  ~MpiTransport() override;

 private:
  static constexpr Eigen::Index kFoldChunk = 16384;  // 128 KiB of doubles

  const Communicator& comm_;
  std::size_t fold_budget_bytes_;
  std::vector<int> counts_;  // per-rank sizes of the last gather (server only) or allgather
  Eigen::MatrixXd terms_;    // ordered_fold: the local contributions, one per column
  Eigen::VectorXd term_;     // ordered_fold: one contribution (over budget, or one process)
  Eigen::VectorXd result_;   // ordered_fold at rank 0: the chain's result
  std::vector<MPI_Request> receives_;  // ordered_fold: one per chunk
  // missing_arrivals: this process's last note (and its send), or the server's receives.
  std::int64_t note_ = 0;
  MPI_Request note_send_ = MPI_REQUEST_NULL;
  std::vector<std::int64_t> notes_;
  std::vector<MPI_Request> note_receives_;
};

}  // namespace ecco::detail
