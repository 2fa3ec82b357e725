#pragma once
// ecco-train --plan: "will compression pay on this network?" (collective; every rank calls it).
//
// 1. Compute: 10 real rounds of the run as configured, once per candidate compressor (the
//    chosen one and a standard list; candidates the method or the aggregation refuses are
//    listed as such). Per round: the slowest process's client time (gradient,
//    compress+encode), rank 0's server time (decode+aggregate, apply), the slowest process's
//    client and server time together, and the bytes up and down.
// 2. Network:
//    - the links, before step 1: rank 0 ping-pongs 8 B (fastest of 20 round trips), 64 KiB,
//      512 KiB and 4 MiB (medians) with every rank; the slowest link's one-way curve t(bytes);
//    - after step 1, the collectives the round uses (MPI_Gather and MPI_Bcast for gather,
//      MPI_Allgather for allgather) and MPI_Allreduce (allreduce, and the dense baseline),
//      timed as Open MPI runs them here (its own choice of algorithm), from 8 B to 4 MiB per
//      rank: curves gather(b), bcast(b), allgather(b), allreduce(b) of the slowest rank's
//      seconds. Each timing follows an idle pause as long as the configured run's compute per
//      round (at most 1 s): a token-bucket shaper refills its burst meanwhile, as between a
//      round's collectives.
//    Every curve is linear between the measured sizes and extrapolated with its last segment.
// 3. Prediction per round, with U the bytes of all messages, D a process's downlink bytes,
//    u = U (clients not on rank 0) / (clients) / (P - 1) one rank's message:
//    - gather: client + server + max(bcast(D) + t(u), t(D) + gather(u)): links are full
//      duplex and a rank that has its downlink computes and sends while rank 0 still sends
//      to the others, so the round waits for the longer of (the whole downlink, then the last
//      message) and (the first downlink copy, then the whole uplink);
//    - allgather: client and server + allgather(U / P);
//    - allreduce: client and server + allreduce(U / clients) (one sender's payload);
//    - dense baseline (an uncompressed data-parallel step): the slowest gradient time of the
//      identity run + allreduce(4 d).
//    Checked against measured rounds on the emulated cluster by scripts/plan_check.sh
//    (docs/cluster.md has the table).
// Printed on rank 0: the link and collective measurements, one row per candidate (bytes,
// times, predicted ms per round, speed-up over the dense allreduce, the probe's own measured
// ms per round), then the recommendation (the fastest predicted round; compressors also
// change how many rounds a target takes, which a plan of a few rounds cannot know).
#include "ecco/command_line.hpp"
#include "ecco/communicator.hpp"

namespace ecco::app {

// Returns the process exit status (0; 2 when the configuration itself is refused).
int run_plan(const CommandLine& cl, const Communicator& comm);

}  // namespace ecco::app
