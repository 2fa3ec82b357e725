// The RAII communicator and the MPI transport against plain MPI calls and serial sums.
#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "ecco/communicator.hpp"
#include "ecco/error.hpp"
#include "ecco/rng.hpp"
#include "train/transports.hpp"

namespace {

std::vector<std::byte> block_of(int rank) {
  // Rank r sends 3r + 1 bytes (rank 0: one byte), with values that identify the rank.
  std::vector<std::byte> block(static_cast<std::size_t>(3 * rank + 1));
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<std::byte>(rank * 16 + static_cast<int>(i));
  return block;
}

}  // namespace

TEST(Communicator, DuplicatesTheParent) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  int result = MPI_UNEQUAL;
  MPI_Comm_compare(comm.raw(), MPI_COMM_WORLD, &result);
  EXPECT_EQ(result, MPI_CONGRUENT);  // same group, different context
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  EXPECT_EQ(comm.rank(), rank);
}

TEST(Communicator, GatherBytesMatchesPlainMpi) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  const auto local = block_of(comm.rank());
  std::vector<std::byte> all;
  std::vector<int> counts;
  comm.gather_bytes(local, all, counts, 0);

  // Plain MPI: gather every rank's size, then every rank's bytes.
  int size = static_cast<int>(local.size());
  std::vector<int> plain_counts(static_cast<std::size_t>(comm.size()));
  MPI_Gather(&size, 1, MPI_INT, plain_counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> displs(plain_counts.size());
  if (comm.rank() == 0) std::exclusive_scan(plain_counts.begin(), plain_counts.end(), displs.begin(), 0);
  std::vector<std::byte> plain(comm.rank() == 0 ? static_cast<std::size_t>(std::accumulate(plain_counts.begin(), plain_counts.end(), 0)) : 0);
  MPI_Gatherv(local.data(), size, MPI_BYTE, plain.data(), plain_counts.data(), displs.data(), MPI_BYTE, 0,
              MPI_COMM_WORLD);

  if (comm.rank() == 0) {
    EXPECT_EQ(counts, plain_counts);
    EXPECT_EQ(all, plain);
    std::vector<std::byte> expected;
    for (int r = 0; r < comm.size(); ++r) {
      const auto b = block_of(r);
      expected.insert(expected.end(), b.begin(), b.end());
    }
    EXPECT_EQ(all, expected);
  } else {
    EXPECT_TRUE(all.empty());
    EXPECT_TRUE(counts.empty());
  }
}

// Small whole numbers, so that every order of the additions gives the exact sum.
TEST(Communicator, AllreduceSumAndMaxMatchPlainMpiAndTheSerialSum) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  const int r = comm.rank();
  std::vector<float> f = {static_cast<float>(r), 1.0F, static_cast<float>(2 * r + 1)};
  std::vector<double> d = {static_cast<double>(r) * 0.5, -1.0};
  std::vector<std::uint64_t> m = {static_cast<std::uint64_t>(r), ~static_cast<std::uint64_t>(r)};
  std::vector<float> plain_f(f.size());
  MPI_Allreduce(f.data(), plain_f.data(), static_cast<int>(f.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  comm.allreduce_sum(std::span<float>(f));
  comm.allreduce_sum(std::span<double>(d));
  comm.allreduce_max(std::span<std::uint64_t>(m));
  EXPECT_EQ(f, plain_f);
  const int p = comm.size();
  const double ranks_sum = p * (p - 1) / 2.0;
  EXPECT_EQ(f, (std::vector<float>{static_cast<float>(ranks_sum), static_cast<float>(p),
                                   static_cast<float>(2 * ranks_sum + p)}));
  EXPECT_EQ(d, (std::vector<double>{ranks_sum * 0.5, -static_cast<double>(p)}));
  // max of r and of ~r: the largest rank and the complement of the smallest (0).
  EXPECT_EQ(m, (std::vector<std::uint64_t>{static_cast<std::uint64_t>(p - 1), ~std::uint64_t{0}}));
}

TEST(Communicator, BroadcastBytesResizesReceivers) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  std::vector<std::byte> bytes;
  if (comm.rank() == 0) bytes = block_of(5);
  comm.broadcast_bytes(bytes, 0);
  EXPECT_EQ(bytes, block_of(5));
}

TEST(Communicator, OrderedFoldEqualsSerialSumBitForBit) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  ecco::detail::MpiTransport transport(comm);
  // 11 "clients" with values of very different magnitudes, so the summation order shows in
  // the last bits. Clients are dealt to ranks in contiguous blocks.
  constexpr int kClients = 11;
  constexpr Eigen::Index kDim = 5;
  auto value_of = [kDim](int client) {
    ecco::Rng rng(static_cast<std::uint64_t>(client) + 1);
    Eigen::VectorXd v(kDim);
    for (Eigen::Index j = 0; j < kDim; ++j) v[j] = rng.normal() * std::pow(10.0, (client * 7) % 17 - 8);
    return v;
  };
  Eigen::VectorXd serial = Eigen::VectorXd::Zero(kDim);
  for (int i = 0; i < kClients; ++i) serial += value_of(i);

  const int begin = kClients * comm.rank() / comm.size();
  const int end = kClients * (comm.rank() + 1) / comm.size();
  Eigen::VectorXd acc(kDim);
  transport.ordered_fold(acc, static_cast<std::size_t>(end - begin),
                         [&](std::size_t k, Eigen::Ref<Eigen::VectorXd> out) { out = value_of(begin + static_cast<int>(k)); });
  if (comm.rank() == 0) {
    for (Eigen::Index j = 0; j < kDim; ++j) EXPECT_EQ(acc[j], serial[j]) << "coordinate " << j;
  }
}

// The pipelined chain (vectors longer than one 16384-double chunk, the last chunk partial),
// also with ranks that hold no contribution, and with odd ranks over their memory budget
// (they wait for the whole vector): the serial left fold, bit for bit.
TEST(Communicator, PipelinedOrderedFoldEqualsSerialSumBitForBit) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  struct Case {
    Eigen::Index dim;
    int clients;
    bool odd_ranks_over_budget;
  };
  for (const Case& c : {Case{16385, 1, false}, Case{16385, 5, false}, Case{100003, 1, false},
                        Case{100003, 5, false}, Case{100003, 5, true}, Case{16385, 1, true}}) {
    const std::size_t budget = c.odd_ranks_over_budget && comm.rank() % 2 == 1 ? 0 : std::size_t{1} << 30;
    ecco::detail::MpiTransport transport(comm, budget);
    const Eigen::Index dim = c.dim;
    auto value_of = [dim](int client) {
      ecco::Rng rng(static_cast<std::uint64_t>(client) + 17);
      Eigen::VectorXd v(dim);
      for (Eigen::Index j = 0; j < dim; ++j) v[j] = rng.normal() * std::pow(10.0, static_cast<double>(j % 13) - 6.0);
      return v;
    };
    Eigen::VectorXd serial = Eigen::VectorXd::Zero(dim);
    for (int i = 0; i < c.clients; ++i) serial += value_of(i);
    const int begin = c.clients * comm.rank() / comm.size();
    const int end = c.clients * (comm.rank() + 1) / comm.size();
    Eigen::VectorXd acc(dim);
    transport.ordered_fold(acc, static_cast<std::size_t>(end - begin), [&](std::size_t k, Eigen::Ref<Eigen::VectorXd> out) {
      out = value_of(begin + static_cast<int>(k));
    });
    if (comm.rank() == 0) {
      Eigen::Index differ = 0;
      for (Eigen::Index j = 0; j < dim; ++j) differ += std::memcmp(&acc[j], &serial[j], sizeof(double)) != 0 ? 1 : 0;
      EXPECT_EQ(differ, 0) << "dim " << dim << ", " << c.clients << " clients, odd ranks over budget "
                           << c.odd_ranks_over_budget;
    }
  }
}

TEST(Communicator, LowestFailingRankIsAgreed) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  const ecco::detail::MpiTransport transport(comm);
  EXPECT_EQ(transport.lowest_failing_rank(false), -1);
  const int last = comm.size() - 1;
  EXPECT_EQ(transport.lowest_failing_rank(comm.rank() == last), last);
  EXPECT_EQ(transport.lowest_failing_rank(comm.rank() >= 1 || comm.size() == 1), comm.size() == 1 ? 0 : 1);
}

TEST(Communicator, MpiErrorsBecomeCommErrors) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  std::vector<double> values(2);
  // An invalid root is reported by MPI_ERRORS_RETURN on every rank, without communication.
  EXPECT_THROW(comm.broadcast(values, comm.size() + 5), ecco::CommError);
}
