#include "ecco/communicator.hpp"

#include <algorithm>

#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "ecco/error.hpp"

namespace ecco {

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw CommError(std::string(what) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

MpiEnvironment::MpiEnvironment(int& argc, char**& argv, bool threads) {
  int provided = 0;
  check_mpi(MPI_Init_thread(&argc, &argv, threads ? MPI_THREAD_MULTIPLE : MPI_THREAD_FUNNELED, &provided),
            "MPI_Init_thread");
}

int MpiEnvironment::thread_level() {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  return provided;
}

MpiEnvironment::~MpiEnvironment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Communicator::Communicator(MPI_Comm parent) {
  check_mpi(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
  check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Communicator::~Communicator() {
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void Communicator::barrier() const { check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }

void Communicator::gather_bytes(std::span<const std::byte> local, std::vector<std::byte>& all,
                                std::vector<int>& counts, int root) const {
  // Every rank learns every block size (one MPI_Allgather of ints), so that a block or a
  // total beyond MPI's int count is refused by every rank alike, none left in MPI_Gatherv.
  const int count = local.size() > static_cast<std::size_t>(INT_MAX) ? -1 : static_cast<int>(local.size());
  all.clear();
  std::vector<int>& sizes = sizes_;  // reused: no allocation per round
  sizes.resize(static_cast<std::size_t>(size_));
  check_mpi(MPI_Allgather(&count, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm_), "MPI_Allgather (sizes)");
  std::vector<int>& displacements = displacements_;
  displacements.resize(sizes.size());
  long long total = 0;
  for (std::size_t r = 0; r < sizes.size(); ++r) {
    if (sizes[r] < 0) {
      throw CommError("gather: rank " + std::to_string(r) + "'s block exceeds MPI's int count (2^31 - 1 bytes)");
    }
    displacements[r] = static_cast<int>(std::min<long long>(total, INT_MAX));
    total += sizes[r];
  }
  if (total > INT_MAX) throw CommError("gather: total of " + std::to_string(total) + " bytes exceeds MPI's int count");
  counts.clear();
  if (rank_ == root) {
    counts.assign(sizes.begin(), sizes.end());
    all.resize(static_cast<std::size_t>(total));
  }
  check_mpi(MPI_Gatherv(local.data(), count, MPI_BYTE, all.data(), counts.data(), displacements.data(), MPI_BYTE, root,
                        comm_),
            "MPI_Gatherv");
}

void Communicator::allgather_bytes(std::span<const std::byte> local, std::vector<std::byte>& all,
                                   std::vector<int>& counts) const {
  // As gather_bytes: every rank sees every size and refuses an oversized exchange alike.
  const int count = local.size() > static_cast<std::size_t>(INT_MAX) ? -1 : static_cast<int>(local.size());
  counts.resize(static_cast<std::size_t>(size_));
  check_mpi(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_), "MPI_Allgather (sizes)");
  std::vector<int>& displacements = displacements_;  // reused: no allocation per round
  displacements.resize(counts.size());
  long long total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    if (counts[r] < 0) {
      throw CommError("allgather: rank " + std::to_string(r) + "'s block exceeds MPI's int count (2^31 - 1 bytes)");
    }
    displacements[r] = static_cast<int>(std::min<long long>(total, INT_MAX));
    total += counts[r];
  }
  if (total > INT_MAX) {
    throw CommError("allgather: total of " + std::to_string(total) + " bytes exceeds MPI's int count");
  }
  all.resize(static_cast<std::size_t>(total));
  check_mpi(MPI_Allgatherv(local.data(), count, MPI_BYTE, all.data(), counts.data(), displacements.data(), MPI_BYTE,
                           comm_),
            "MPI_Allgatherv");
}

void Communicator::alltoall_bytes(std::span<const std::byte> blocks, std::span<const std::size_t> send_counts,
                                  std::vector<std::byte>& received, std::vector<int>& received_counts) const {
  const auto p = static_cast<std::size_t>(size_);
  if (send_counts.size() != p) {
    throw std::logic_error("alltoall: " + std::to_string(send_counts.size()) + " block sizes for " +
                           std::to_string(p) + " ranks");
  }
  send_sizes_.assign(send_counts.begin(), send_counts.end());
  receive_sizes_.resize(p);
  check_mpi(MPI_Alltoall(send_sizes_.data(), 1, MPI_UNSIGNED_LONG_LONG, receive_sizes_.data(), 1,
                         MPI_UNSIGNED_LONG_LONG, comm_),
            "MPI_Alltoall (sizes)");
  unsigned long long sent = 0;
  unsigned long long to_receive = 0;
  for (std::size_t r = 0; r < p; ++r) {
    sent += send_sizes_[r];
    to_receive += receive_sizes_[r];
  }
  if (sent != blocks.size()) {
    throw std::logic_error("alltoall: the block sizes add up to " + std::to_string(sent) + " bytes, not " +
                           std::to_string(blocks.size()));
  }
  const auto limit = static_cast<unsigned long long>(INT_MAX);
  const int too_large = allreduce_max(sent > limit || to_receive > limit ? 1 : 0);
  if (too_large != 0) {
    throw CommError("alltoall: a rank would send or receive more than " + std::to_string(limit) +
                    " bytes in one exchange (MPI's int count); use fewer clients per rank or a smaller model");
  }
  send_displacements_.resize(p);
  send_counts_.resize(p);
  received_counts.resize(p);
  displacements_.resize(p);
  int send_at = 0;
  int receive_at = 0;
  for (std::size_t r = 0; r < p; ++r) {
    send_counts_[r] = static_cast<int>(send_sizes_[r]);
    send_displacements_[r] = send_at;
    send_at += send_counts_[r];
    received_counts[r] = static_cast<int>(receive_sizes_[r]);
    displacements_[r] = receive_at;
    receive_at += received_counts[r];
  }
  received.resize(static_cast<std::size_t>(to_receive));
  check_mpi(MPI_Alltoallv(blocks.data(), send_counts_.data(), send_displacements_.data(), MPI_BYTE, received.data(),
                          received_counts.data(), displacements_.data(), MPI_BYTE, comm_),
            "MPI_Alltoallv");
}

void Communicator::broadcast_bytes(std::vector<std::byte>& bytes, int root) const {
  unsigned long long size = bytes.size();
  check_mpi(MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, root, comm_), "MPI_Bcast (size)");
  if (size > static_cast<unsigned long long>(INT_MAX)) {
    throw CommError("broadcast: " + std::to_string(size) + " bytes exceed MPI's int count");
  }
  bytes.resize(static_cast<std::size_t>(size));
  check_mpi(MPI_Bcast(bytes.data(), static_cast<int>(size), MPI_BYTE, root, comm_), "MPI_Bcast");
}

namespace {

// An element count as MPI's int; CommError naming the call above INT_MAX. The callers pass
// equal counts on every rank taking part, so every rank throws alike.
int mpi_count(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX)) {
    throw CommError(std::string(what) + ": " + std::to_string(n) + " elements exceed MPI's int count");
  }
  return static_cast<int>(n);
}

}  // namespace

void Communicator::broadcast(std::span<double> values, int root) const {
  check_mpi(MPI_Bcast(values.data(), mpi_count(values.size(), "MPI_Bcast"), MPI_DOUBLE, root, comm_), "MPI_Bcast");
}

void Communicator::send(std::span<const double> values, int destination, int tag) const {
  check_mpi(MPI_Send(values.data(), mpi_count(values.size(), "MPI_Send"), MPI_DOUBLE, destination, tag, comm_),
            "MPI_Send");
}

void Communicator::receive(std::span<double> values, int source, int tag) const {
  check_mpi(MPI_Recv(values.data(), mpi_count(values.size(), "MPI_Recv"), MPI_DOUBLE, source, tag, comm_,
                     MPI_STATUS_IGNORE),
            "MPI_Recv");
}

MPI_Request Communicator::start_receive(std::span<double> values, int source, int tag) const {
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(MPI_Irecv(values.data(), mpi_count(values.size(), "MPI_Irecv"), MPI_DOUBLE, source, tag, comm_, &request),
            "MPI_Irecv");
  return request;
}

void Communicator::wait(MPI_Request& request) { check_mpi(MPI_Wait(&request, MPI_STATUS_IGNORE), "MPI_Wait"); }

void Communicator::wait_all(std::span<MPI_Request> requests) {
  check_mpi(MPI_Waitall(mpi_count(requests.size(), "MPI_Waitall"), requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
}

namespace {

// One in-place MPI_Allreduce of a span; MPI counts are ints.
template <typename T>
void allreduce_in_place(std::span<T> values, MPI_Datatype type, MPI_Op op, MPI_Comm comm, const char* what) {
  if (values.size() > static_cast<std::size_t>(INT_MAX)) {
    throw CommError(std::string(what) + ": " + std::to_string(values.size()) + " elements exceed MPI's int count");
  }
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), type, op, comm), what);
}

}  // namespace

void Communicator::allreduce_sum(std::span<float> values) const {
  allreduce_in_place(values, MPI_FLOAT, MPI_SUM, comm_, "MPI_Allreduce (sum)");
}

void Communicator::allreduce_sum(std::span<double> values) const {
  allreduce_in_place(values, MPI_DOUBLE, MPI_SUM, comm_, "MPI_Allreduce (sum)");
}

void Communicator::allreduce_max(std::span<std::uint64_t> values) const {
  allreduce_in_place(values, MPI_UINT64_T, MPI_MAX, comm_, "MPI_Allreduce (max)");
}

int Communicator::allreduce_max(int value) const {
  int result = 0;
  check_mpi(MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MAX, comm_), "MPI_Allreduce");
  return result;
}

int Communicator::allreduce_min(int value) const {
  int result = 0;
  check_mpi(MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
  return result;
}

void Communicator::abort(int exit_code) const {
  MPI_Abort(comm_, exit_code);
  std::abort();
}

}  // namespace ecco
