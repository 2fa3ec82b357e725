// The two transports: in-process (serial driver) and MPI.
#include <climits>
#include <cstring>

#include "ecco/communicator.hpp"
#include "train/transports.hpp"

namespace ecco::detail {

int SerialTransport::lowest_failing_rank(bool failed) const { return failed ? 0 : -1; }

void SerialTransport::gather(std::span<const std::byte> local, std::vector<std::byte>& at_server) {
  at_server.assign(local.begin(), local.end());
}

void SerialTransport::allgather(std::span<const std::byte> local, std::vector<std::byte>& all) {
  all.assign(local.begin(), local.end());
}

void SerialTransport::broadcast(std::vector<std::byte>& /*bytes*/) const {}
void SerialTransport::broadcast(std::span<double> /*values*/) const {}

void SerialTransport::allreduce_sum(std::span<float> /*values*/) const {}
void SerialTransport::allreduce_sum(std::span<double> /*values*/) const {}
void SerialTransport::allreduce_max(std::span<std::uint64_t> /*values*/) const {}

void SerialTransport::ordered_fold(Eigen::Ref<Eigen::VectorXd> acc,
                                   const std::function<void(Eigen::Ref<Eigen::VectorXd>)>& add_local) const {
  acc.setZero();
  add_local(acc);
}

MpiTransport::MpiTransport(const Communicator& comm) : comm_(comm) {}

int MpiTransport::rank() const { return comm_.rank(); }
int MpiTransport::size() const { return comm_.size(); }

int MpiTransport::lowest_failing_rank(bool failed) const {
  const int lowest = comm_.allreduce_min(failed ? comm_.rank() : INT_MAX);
  return lowest == INT_MAX ? -1 : lowest;
}

void MpiTransport::gather(std::span<const std::byte> local, std::vector<std::byte>& at_server) {
  comm_.gather_bytes(local, at_server, counts_, 0);
}

void MpiTransport::allgather(std::span<const std::byte> local, std::vector<std::byte>& all) {
  comm_.allgather_bytes(local, all, counts_);
}

void MpiTransport::broadcast(std::vector<std::byte>& bytes) const { comm_.broadcast_bytes(bytes, 0); }

void MpiTransport::broadcast(std::span<double> values) const { comm_.broadcast(values, 0); }

void MpiTransport::allreduce_sum(std::span<float> values) const { comm_.allreduce_sum(values); }
void MpiTransport::allreduce_sum(std::span<double> values) const { comm_.allreduce_sum(values); }
void MpiTransport::allreduce_max(std::span<std::uint64_t> values) const { comm_.allreduce_max(values); }

void MpiTransport::ordered_fold(Eigen::Ref<Eigen::VectorXd> acc,
                                const std::function<void(Eigen::Ref<Eigen::VectorXd>)>& add_local) const {
  constexpr int kTag = 4242;
  const int r = comm_.rank();
  const int p = comm_.size();
  const std::span<double> view(acc.data(), static_cast<std::size_t>(acc.size()));
  if (r == 0) {
    acc.setZero();
  } else {
    comm_.receive(view, r - 1, kTag);
  }
  add_local(acc);
  if (p == 1) return;
  comm_.send(view, (r + 1) % p, kTag);
  if (r == 0) comm_.receive(view, p - 1, kTag);
}

}  // namespace ecco::detail
