#pragma once
// Transport: how the round code moves bytes between the clients' processes and the server
// (rank 0). Two implementations: all clients in one process (serial), or MPI ranks.
// Private to src/train.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include <Eigen/Core>

namespace ecco::detail {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_server() const { return rank() == 0; }

  // Collective. Every process says whether its local set-up failed; returns the lowest
  // failing rank, or -1 when none failed.
  virtual int lowest_failing_rank(bool failed) const = 0;

  // Collective. The processes' byte blocks concatenated in rank order, at the server only.
  virtual void gather(std::span<const std::byte> local, std::vector<std::byte>& at_server) = 0;

  // Collective. The processes' byte blocks concatenated in rank order, at every process.
  virtual void allgather(std::span<const std::byte> local, std::vector<std::byte>& all) = 0;

  // Collective. The server's bytes (or doubles) to every process.
  virtual void broadcast(std::vector<std::byte>& bytes) const = 0;
  virtual void broadcast(std::span<double> values) const = 0;

  // Collective. In-place elementwise sum (or max) over processes; every process gets it.
  virtual void allreduce_sum(std::span<float> values) const = 0;
  virtual void allreduce_sum(std::span<double> values) const = 0;
  virtual void allreduce_max(std::span<std::uint64_t> values) const = 0;

  // Collective. Left fold in rank order: process 0 starts from zero, each process calls
  // add_local(acc) and hands acc to the next; the server ends with the result. Because the
  // order of the additions depends only on the client order, the result is the same bits
  // as a serial loop over all clients. Cost: size() sequential messages of acc.size() doubles.
  virtual void ordered_fold(Eigen::Ref<Eigen::VectorXd> acc,
                            const std::function<void(Eigen::Ref<Eigen::VectorXd>)>& add_local) const = 0;
};

}  // namespace ecco::detail
