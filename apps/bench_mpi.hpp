#pragma once
// The MPI benchmarks of ecco-bench (run under mpirun; rank 0 prints).
//
//   ecco-bench collective [--dims 100000,1000000,10000000] [--ratio 0.01] [--repeat 5]
//     Raw collectives on the sizes a round moves: dense MPI_Allreduce of d fp32 values (Open
//     MPI's default algorithm and ecco-bench's own ring: reduce-scatter then allgather over
//     MPI_Sendrecv), MPI_Gatherv and MPI_Allgatherv of one TopK(ratio) message per rank, and
//     MPI_Bcast of the fp64 model. Time = median over --repeat of the slowest rank's time.
//
//   ecco-bench round [--dims ...] [--ratio 0.01] [--rounds 20] [--clients P]
//     ecco-train's own rounds (logistic regression on sparse generated rows of dimension d,
//     EF21 with TopK(ratio) under --aggregation gather and allgather, and gd sending dense
//     fp32 gradients under gather and allreduce), per round and per phase as rank 0
//     measures them, with the bytes per round; then, in the same run, dense MPI_Allreduce
//     of d fp32 (default and ring) and a raw MPI_Gatherv + MPI_Bcast of the EF21 gather
//     round's bytes, so that the runtime's overhead over raw MPI can be read off directly
//     (ef21 gather against Gatherv + Bcast, gd allreduce against the default MPI_Allreduce).
#include <cxxopts.hpp>

namespace ecco::bench {

int run_collective(const cxxopts::ParseResult& args);
int run_round(const cxxopts::ParseResult& args);

}  // namespace ecco::bench
