#pragma once
// ecco-train --plan: "will compression pay on this network?" (collective; every rank calls it).
//
// 1. Links: rank 0 ping-pongs messages of 8 B (fastest of 20 round trips), 64 KiB, 512 KiB and
//    4 MiB (medians) with every other rank; the slowest link's one-way times form a transfer
//    curve t(bytes), linear between the measured sizes (so a shaper's burst and MPI's
//    protocol switch are in it) and extrapolated with the 4 MiB segment's sustained rate.
// 2. Compute: 10 real rounds of the run as configured, once per
//    candidate compressor (the chosen one and a standard list; candidates the method refuses
//    are listed as such), measure on rank 0 the client time (gradient, compress+encode) and
//    the server time (decode+aggregate, apply) per round, and the bytes up and down.
// 3. Prediction per round. With --aggregation gather (the parameter-server pattern), rank 0's
//    link carries everything:
//      uplink    t(bytes sent by clients not on rank 0)
//      downlink  t((P - 1) * downlink bytes per process)  (the model, or the update with
//                --downlink delta, as the probe measured it)
//    with --aggregation allgather: uplink (P - 1) t(all message bytes / P), downlink 0;
//      round     client time + uplink + server time + downlink
//    and for dense fp32 allreduce (what an uncompressed data-parallel step costs): the client
//    gradient time of the identity run plus a ring allreduce of 4 d bytes, 2 (P - 1) t(4 d / P).
// Printed on rank 0: one row per candidate (bytes, predicted ms per round, speed-up over the
// dense allreduce, the probe's own measured ms per round), then the recommendation (the
// fastest predicted round; compressors also change how many rounds a target takes, which a
// plan of a few rounds cannot know).
#include "ecco/command_line.hpp"
#include "ecco/communicator.hpp"

namespace ecco::app {

// Returns the process exit status (0; 2 when the configuration itself is refused).
int run_plan(const CommandLine& cl, const Communicator& comm);

}  // namespace ecco::app
