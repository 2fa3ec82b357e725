#pragma once
// In-process and MPI implementations of Transport (private to src/train).
#include <vector>

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
  void broadcast(std::vector<std::byte>& bytes) const override;
  void broadcast(std::span<double> values) const override;
  void allreduce_sum(std::span<float> values) const override;
  void allreduce_sum(std::span<double> values) const override;
  void allreduce_max(std::span<std::uint64_t> values) const override;
  void ordered_fold(Eigen::Ref<Eigen::VectorXd> acc,
                    const std::function<void(Eigen::Ref<Eigen::VectorXd>)>& add_local) const override;
};

// Rank 0 of the communicator is the server.
class MpiTransport final : public Transport {
 public:
  explicit MpiTransport(const Communicator& comm);
  int rank() const override;
  int size() const override;
  int lowest_failing_rank(bool failed) const override;
  void gather(std::span<const std::byte> local, std::vector<std::byte>& at_server) override;
  void allgather(std::span<const std::byte> local, std::vector<std::byte>& all) override;
  void broadcast(std::vector<std::byte>& bytes) const override;
  void broadcast(std::span<double> values) const override;
  void allreduce_sum(std::span<float> values) const override;
  void allreduce_sum(std::span<double> values) const override;
  void allreduce_max(std::span<std::uint64_t> values) const override;
  void ordered_fold(Eigen::Ref<Eigen::VectorXd> acc,
                    const std::function<void(Eigen::Ref<Eigen::VectorXd>)>& add_local) const override;

 private:
  const Communicator& comm_;
  std::vector<int> counts_;  // per-rank sizes of the last gather (server only) or allgather
};

}  // namespace ecco::detail
