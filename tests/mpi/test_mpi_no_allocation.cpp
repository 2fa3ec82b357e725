// The MPI transport in the steady state of a run: once their buffers have grown, the
// collectives of a round allocate nothing in ecco's own code. Covered: gather, allgather and
// broadcast of encoded messages (--aggregation gather / allgather, the downlink), the
// allreduce sum of --aggregation allreduce (MessageSum), and the chunked metrics fold, with
// every rank in budget and with the odd ranks over it. Counted on every rank: operator new,
// and malloc (what Eigen's buffers use) called from anywhere but Open MPI's libraries,
// which allocate their collectives' temporary buffers and datatypes with it (rank 0 prints
// how many).
#include <cstdint>
#include <cstdio>
#include <vector>

#include <gtest/gtest.h>

#include "allocation_counter.hpp"
#include "ecco/codec.hpp"
#include "ecco/communicator.hpp"
#include "ecco/compressor.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"
#include "train/message_sum.hpp"
#include "train/transports.hpp"

namespace {

TEST(MpiNoAllocation, SteadyStateCollectivesOfARound) {
  const ecco::Communicator comm(MPI_COMM_WORLD);
  const Eigen::Index d = 40000;  // the fold moves 3 chunks
  const std::size_t clients_here = 2;
  Eigen::VectorXd x(d);
  ecco::Rng data(5);
  for (Eigen::Index j = 0; j < d; ++j) x[j] = data.normal();
  for (const bool odd_ranks_over_budget : {false, true}) {
    for (const char* spec : {"identity", "randk:k=0.01,coords=common"}) {
      const std::size_t budget = odd_ranks_over_budget && comm.rank() % 2 == 1 ? 0 : std::size_t{1} << 30;
      ecco::detail::MpiTransport transport(comm, budget);
      const auto compressor = ecco::make_compressor(spec);
      ecco::detail::MessageSum sum(static_cast<std::uint32_t>(d), ecco::ValueFormat::fp32);
      std::vector<ecco::Rng> streams(clients_here, ecco::Rng(4));  // a common stream, one copy per client
      ecco::CompressorWorkspace workspace;
      ecco::Message message;
      ecco::Message total;
      std::vector<std::byte> local;
      std::vector<std::byte> gathered;
      std::vector<std::byte> all;
      std::vector<std::byte> downlink;
      Eigen::VectorXd acc(d + 1);
      std::int64_t t = 0;
      std::uint64_t senders = 0;
      const auto round = [&] {
        sum.begin(t++);
        local.clear();
        for (std::size_t i = 0; i < clients_here; ++i) {
          compressor->compress(x, streams[i], workspace, message);
          ecco::round_to_wire(message, ecco::ValueFormat::fp32);
          sum.add(clients_here * static_cast<std::size_t>(comm.rank()) + i, message, 1.0);
          ecco::encode(message, ecco::ValueFormat::fp32, local);
        }
        transport.gather(local, gathered);
        transport.allgather(local, all);
        if (comm.rank() == 0) downlink = local;
        transport.broadcast(downlink);
        if (sum.reduce(transport, total)) senders = sum.senders();
        transport.ordered_fold(acc, clients_here, [&](std::size_t k, Eigen::Ref<Eigen::VectorXd> term) {
          term.head(d) = x * static_cast<double>(k + 1);
          term[d] = static_cast<double>(comm.rank());
        });
      };
      for (int warm = 0; warm < 3; ++warm) round();
      ecco::test::arm_allocation_counter();
      for (int r = 0; r < 5; ++r) round();
      const ecco::test::AllocationCount count = ecco::test::disarm_allocation_counter();
      EXPECT_EQ(count.operator_new, 0) << "rank " << comm.rank() << ", " << spec << ", odd ranks over budget "
                                       << odd_ranks_over_budget;
      if (ecco::test::malloc_is_counted()) {
        EXPECT_EQ(ecco::test::malloc_calls_outside({"libmpi", "libopen-pal", "libopen-rte", "/openmpi/"}), 0)
            << "rank " << comm.rank() << ", " << spec << ", odd ranks over budget " << odd_ranks_over_budget;
      }
      EXPECT_EQ(senders, clients_here * static_cast<std::uint64_t>(comm.size()));
      EXPECT_EQ(all.size(), local.size() * static_cast<std::size_t>(comm.size()));
      if (comm.rank() == 0 && ecco::test::malloc_is_counted()) {
        std::printf("[ info ] %s, odd ranks over budget %d: %ld malloc calls in 5 rounds on rank 0 "
                    "(Open MPI's are allowed)\n",
                    spec, odd_ranks_over_budget ? 1 : 0, count.malloc);
      }
    }
  }
}

}  // namespace
