#pragma once
// RAII wrappers of MPI. Every MPI call is checked; a failure throws CommError carrying
// MPI's own error string. Communicators are duplicated, so ecco's traffic never mixes with
// the application's, and they return errors instead of aborting (MPI_ERRORS_RETURN).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <mpi.h>

namespace ecco {

// Initialises MPI (MPI_THREAD_FUNNELED) for its lifetime; finalises on destruction.
class MpiEnvironment {
 public:
  // threads: ask for MPI_THREAD_MULTIPLE (a watchdog thread that talks MPI: --round-timeout)
  // instead of MPI_THREAD_FUNNELED.
  MpiEnvironment(int& argc, char**& argv, bool threads = false);
  // The thread level MPI provides (MPI_THREAD_*).
  static int thread_level();
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;
};

// Throws CommError("what: <MPI error string>") unless code == MPI_SUCCESS.
void check_mpi(int code, const char* what);

class Communicator {
 public:
  // Duplicates `parent`; collective over parent.
  explicit Communicator(MPI_Comm parent = MPI_COMM_WORLD);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm raw() const { return comm_; }

  void barrier() const;

  // Gathers one variable-size byte block per rank to root. At root, `all` receives the
  // blocks concatenated in rank order and `counts` the size of each; elsewhere both are
  // left empty. A block or total beyond MPI's int count throws CommError on every rank
  // alike (none is left waiting). Cost: one MPI_Allgather of an int, one MPI_Gatherv of the
  // bytes.
  void gather_bytes(std::span<const std::byte> local, std::vector<std::byte>& all, std::vector<int>& counts,
                    int root) const;

  // The same as gather_bytes, but every rank receives all blocks (and counts); the same
  // errors on every rank.
  // Cost: one MPI_Allgather of an int, one MPI_Allgatherv of the bytes; each rank receives
  // the blocks of the P - 1 others.
  void allgather_bytes(std::span<const std::byte> local, std::vector<std::byte>& all, std::vector<int>& counts) const;

  // Personalised exchange: `blocks` holds one byte block per destination rank, in rank order,
  // block r of size send_counts[r] (send_counts.size() == size()). `received` gets the blocks
  // addressed to this rank, in source rank order, and received_counts their sizes. When any
  // rank's blocks to send or to receive exceed MPI's int count (2 GiB in all), every rank
  // throws the same CommError before any byte moves.
  // Cost: one MPI_Alltoall of a 64-bit size per rank pair, one MPI_Allreduce of a flag, one
  // MPI_Alltoallv of the bytes.
  void alltoall_bytes(std::span<const std::byte> blocks, std::span<const std::size_t> send_counts,
                      std::vector<std::byte>& received, std::vector<int>& received_counts) const;

  // root's bytes to every rank; other ranks' vectors are resized to match.
  // Cost: one MPI_Bcast of the size, one of the bytes.
  void broadcast_bytes(std::vector<std::byte>& bytes, int root) const;

  // In-place broadcast of doubles from root (all ranks pass the same length).
  void broadcast(std::span<double> values, int root) const;

  // Point-to-point doubles (blocking). Used by the ordered chain reduction.
  void send(std::span<const double> values, int destination, int tag) const;
  void receive(std::span<double> values, int source, int tag) const;
  // Non-blocking receive: the buffer must stay alive and untouched until the request is
  // waited for. Messages between two ranks with one tag arrive in the order they were sent.
  MPI_Request start_receive(std::span<double> values, int source, int tag) const;
  // Waits for one request / all of them (each becomes MPI_REQUEST_NULL).
  static void wait(MPI_Request& request);
  static void wait_all(std::span<MPI_Request> requests);

  // In-place elementwise sum over ranks; every rank gets the result (all pass the same
  // length). The order of the additions is Open MPI's, fixed for a given number of ranks.
  // Cost: one MPI_Allreduce of values.size() elements (a ring moves 2 (P-1)/P of them per rank).
  void allreduce_sum(std::span<float> values) const;
  void allreduce_sum(std::span<double> values) const;
  // In-place elementwise max over ranks; every rank gets the result.
  void allreduce_max(std::span<std::uint64_t> values) const;

  // Max over ranks of an int; every rank gets the result.
  int allreduce_max(int value) const;
  // Min over ranks of an int; every rank gets the result.
  int allreduce_min(int value) const;

  // Ends the whole job (MPI_Abort).
  [[noreturn]] void abort(int exit_code) const;

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  mutable std::vector<int> displacements_;  // gather_bytes scratch (not thread-safe)
  mutable std::vector<int> sizes_;          // gather_bytes: every rank's block size
  mutable std::vector<int> send_displacements_;  // alltoall_bytes scratch
  mutable std::vector<int> send_counts_;
  mutable std::vector<unsigned long long> send_sizes_;
  mutable std::vector<unsigned long long> receive_sizes_;
};

}  // namespace ecco
