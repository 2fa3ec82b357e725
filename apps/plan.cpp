#include "plan.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <mpi.h>

#include "ecco/error.hpp"
#include "ecco/log.hpp"
#include "ecco/trainer.hpp"

namespace ecco::app {
namespace {

using Clock = std::chrono::steady_clock;

// Seconds as a function of bytes, measured at a few sizes and interpolated linearly between
// them (beyond the largest: its last slope). Measuring a curve rather than fitting
// alpha + bytes / beta keeps what a shaper's burst, MPI's eager and rendezvous protocols and
// the collective's own algorithm do to mid-sized messages.
struct Curve {
  std::vector<double> sizes;    // bytes, increasing
  std::vector<double> seconds;  // time at each size
  double at(double bytes) const {
    if (sizes.empty() || bytes <= 0.0) return 0.0;
    if (bytes <= sizes.front()) return seconds.front();
    std::size_t i = 1;
    while (i + 1 < sizes.size() && sizes[i] < bytes) ++i;
    const double slope = (seconds[i] - seconds[i - 1]) / (sizes[i] - sizes[i - 1]);
    return std::max(seconds.front(), seconds[i - 1] + (bytes - sizes[i - 1]) * slope);
  }
  double latency() const { return seconds.empty() ? 0.0 : seconds.front(); }
  double bandwidth() const {
    return sizes.size() < 2 ? std::numeric_limits<double>::infinity()
                            : (sizes.back() - sizes.front()) / (seconds.back() - seconds.front());
  }
  // Noise can make a larger size look faster; the time never decreases with the bytes.
  void make_monotone() {
    for (std::size_t k = 1; k < seconds.size(); ++k) seconds[k] = std::max(seconds[k], seconds[k - 1]);
  }
};

// The probe sizes (bytes per rank) and how often each is timed: 8 B for the latency, 4 MiB
// beyond a token-bucket shaper's burst, so the last segment is the sustained rate. The
// collectives get more sizes in between, where bursts and algorithm switches bend the curve.
constexpr int kLinkBytes[] = {8, 64 << 10, 512 << 10, 4 << 20};
constexpr int kLinkRepeats[] = {20, 5, 5, 3};
constexpr int kCollectiveBytes[] = {8, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20, 4 << 20};
constexpr int kCollectiveRepeats[] = {20, 5, 5, 5, 5, 5, 5, 3, 3};

// The fastest of `times` when `fastest` (latency: scheduling noise only adds), else the median.
double typical(std::vector<double>& times, bool fastest) {
  if (times.empty()) return 0.0;
  std::sort(times.begin(), times.end());
  return fastest ? times.front() : times[times.size() / 2];
}

// Round-trip seconds of `repeat` exchanges of `bytes` between rank 0 and `peer` (rank 0
// only; the peer answers): the fastest one when `fastest` (latency: scheduling noise only
// adds), else the median.
double round_trip(const Communicator& comm, int peer, std::vector<char>& buffer, int bytes, int repeat,
                  bool fastest) {
  std::vector<double> times;
  for (int k = 0; k <= repeat; ++k) {  // k = 0 warms the connection up
    if (comm.rank() == 0) {
      const auto start = Clock::now();
      check_mpi(MPI_Send(buffer.data(), bytes, MPI_CHAR, peer, 7, comm.raw()), "MPI_Send");
      check_mpi(MPI_Recv(buffer.data(), bytes, MPI_CHAR, peer, 7, comm.raw(), MPI_STATUS_IGNORE), "MPI_Recv");
      if (k > 0) times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    } else if (comm.rank() == peer) {
      check_mpi(MPI_Recv(buffer.data(), bytes, MPI_CHAR, 0, 7, comm.raw(), MPI_STATUS_IGNORE), "MPI_Recv");
      check_mpi(MPI_Send(buffer.data(), bytes, MPI_CHAR, 0, 7, comm.raw()), "MPI_Send");
    }
  }
  return typical(times, fastest);
}

// The one-way transfer curve of the links from rank 0 (the slowest link at each size);
// meaningful on rank 0. Reported, and used for the single transfers of a gather round.
Curve measure_links(const Communicator& comm) {
  Curve worst;
  if (comm.size() == 1) return worst;
  std::vector<char> buffer(static_cast<std::size_t>(kLinkBytes[std::size(kLinkBytes) - 1]), 1);
  for (int bytes : kLinkBytes) {
    worst.sizes.push_back(bytes);
    worst.seconds.push_back(0.0);
  }
  for (int peer = 1; peer < comm.size(); ++peer) {
    for (std::size_t k = 0; k < std::size(kLinkBytes); ++k) {
      const double one_way = round_trip(comm, peer, buffer, kLinkBytes[k], kLinkRepeats[k], k == 0) / 2.0;
      worst.seconds[k] = std::max(worst.seconds[k], one_way);
    }
    comm.barrier();
  }
  worst.make_monotone();
  return worst;
}

// The collectives a round uses, timed as MPI does them here (Open MPI picks the algorithm
// by size and process count, so the curve holds whatever it picked).
enum class Collective {
  gather,     // MPI_Gather of `bytes` from every rank to rank 0 (the uplink of --aggregation gather)
  bcast,      // MPI_Bcast of `bytes` from rank 0 (its downlink)
  allgather,  // MPI_Allgather of `bytes` from every rank
  allreduce,  // MPI_Allreduce (sum) of bytes / 4 floats
  alltoall,   // MPI_Alltoall of `bytes` from every rank to every rank (the uplink of --aggregation sharded)
};

const char* name(Collective c) {
  switch (c) {
    case Collective::gather: return "gather";
    case Collective::bcast: return "bcast";
    case Collective::allgather: return "allgather";
    case Collective::allreduce: return "allreduce";
    case Collective::alltoall: return "alltoall";
  }
  return "?";
}

// Collective: the curve of `c`'s seconds against the bytes per rank, the same on every rank.
// One timing is the slowest rank's time from a barrier and an idle `pause` to its return from
// the collective; each size keeps the fastest of its repeats for 8 B and the median
// otherwise, after a warm-up call. Gather and allgather sizes stop at 64 MiB received in all.
// The pause stands for the computation between a round's collectives: during it a token-bucket
// shaper (a cloud VM's link, the emulated cluster's tc tbf) refills its burst, which changes
// the time of messages up to a few times the burst; on an unshaped link it changes nothing.
Curve measure_collective(const Communicator& comm, Collective c, double pause) {
  Curve curve;
  if (comm.size() == 1) return curve;
  const auto p = static_cast<std::size_t>(comm.size());
  const bool gathers = c == Collective::gather || c == Collective::allgather || c == Collective::alltoall;
  std::vector<char> send;
  std::vector<char> receive;
  std::vector<float> values;  // allreduce
  for (std::size_t k = 0; k < std::size(kCollectiveBytes); ++k) {
    const int bytes = kCollectiveBytes[k];
    if (gathers && k > 1 && p * static_cast<std::size_t>(bytes) > (std::size_t{64} << 20)) break;
    send.assign((c == Collective::alltoall ? p : 1) * static_cast<std::size_t>(bytes), 1);
    if (gathers) receive.assign(p * static_cast<std::size_t>(bytes), 0);
    if (c == Collective::allreduce) values.assign(std::max<std::size_t>(1, send.size() / 4), 1.0f);
    std::vector<double> times;
    for (int repeat = 0; repeat <= kCollectiveRepeats[k]; ++repeat) {
      if (c == Collective::allreduce) std::fill(values.begin(), values.end(), 1.0f);
      comm.barrier();
      if (pause > 0.0) std::this_thread::sleep_for(std::chrono::duration<double>(pause));
      const auto start = Clock::now();
      switch (c) {
        case Collective::gather:
          check_mpi(MPI_Gather(send.data(), bytes, MPI_CHAR, receive.data(), bytes, MPI_CHAR, 0, comm.raw()),
                    "MPI_Gather");
          break;
        case Collective::bcast:
          check_mpi(MPI_Bcast(send.data(), bytes, MPI_CHAR, 0, comm.raw()), "MPI_Bcast");
          break;
        case Collective::allgather:
          check_mpi(MPI_Allgather(send.data(), bytes, MPI_CHAR, receive.data(), bytes, MPI_CHAR, comm.raw()),
                    "MPI_Allgather");
          break;
        case Collective::allreduce:
          comm.allreduce_sum(std::span<float>(values));
          break;
        case Collective::alltoall:
          check_mpi(MPI_Alltoall(send.data(), bytes, MPI_CHAR, receive.data(), bytes, MPI_CHAR, comm.raw()),
                    "MPI_Alltoall");
          break;
      }
      double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, comm.raw()), "MPI_Allreduce");
      if (repeat > 0) times.push_back(seconds);  // repeat 0 warms the connections up
    }
    curve.sizes.push_back(bytes);
    curve.seconds.push_back(typical(times, k == 0));
  }
  curve.make_monotone();
  return curve;
}

struct Probe {
  std::string compressor;
  std::string refused;  // why the run was refused ("" when it ran)
  double up_bytes = 0.0;    // per round, all clients
  double down_bytes = 0.0;  // per round and process
  // Per round: the slowest process's clients (gradient, compress+encode); the slowest
  // process's clients and server work together (decode+aggregate, apply); rank 0's server work.
  double client_seconds = 0.0;
  double client_and_server_seconds = 0.0;
  double server_seconds = 0.0;
  double gradient_seconds = 0.0;  // the slowest process's gradient time
  double measured_seconds = 0.0;
  double predicted_seconds = 0.0;
};

// Collective: a few rounds of the configured run with another compressor; fills the probe
// on rank 0 (the slowest processes' compute times on every rank). Set-up refusals (the
// method or the aggregation does not accept the compressor) are agreed by every rank, so
// every rank returns before the timing reduction alike.
void probe(const RunConfig& base, const Communicator& comm, std::int64_t rounds, Probe& p) {
  RunConfig c = base;
  c.compressor = p.compressor;
  c.rounds = rounds;
  c.epochs.reset();
  c.log_every = rounds;
  c.eval_every = 0;
  c.test_data = "none";
  c.lr_schedule = "constant";
  c.target_grad_norm_sq.reset();
  c.target_accuracy.reset();
  RunResult result;
  try {
    result = run_mpi(c, comm);
  } catch (const SetupFailure& e) {
    p.refused = e.what();
    return;
  }
  const auto r = static_cast<double>(rounds);
  const auto& ph = result.phases;
  const double server = ph.decode_aggregate / (r + 1.0) + ph.apply / r;
  double slowest[3] = {(ph.gradient + ph.compress_encode) / (r + 1.0), 0.0, ph.gradient / (r + 1.0)};
  slowest[1] = slowest[0] + server;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, slowest, 3, MPI_DOUBLE, MPI_MAX, comm.raw()), "MPI_Allreduce");
  p.client_seconds = slowest[0];
  p.client_and_server_seconds = slowest[1];
  p.gradient_seconds = slowest[2];
  if (!result.is_server) return;
  const auto& first = result.history.front();
  const auto& last = result.history.back();
  p.up_bytes = static_cast<double>(last.bits_up - first.bits_up) / 8.0 / r;
  p.down_bytes = static_cast<double>(last.bits_down) / 8.0 / r / static_cast<double>(c.clients);
  p.server_seconds = server;
  p.measured_seconds = (result.seconds - ph.metrics) / (r + 1.0);
}

std::string megabytes(double bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", bytes / 1e6);
  return buffer;
}

}  // namespace

int run_plan(const CommandLine& cl, const Communicator& comm) {
  const int p = comm.size();
  const bool allgather = cl.config.aggregation == "allgather";
  const bool allreduce = cl.config.aggregation == "allreduce";
  const bool sharded = cl.config.aggregation == "sharded";
  const bool every_rank_serves = allgather || allreduce || sharded;  // no server -> client broadcast
  const Curve link = measure_links(comm);
  std::vector<std::string> candidates{cl.config.compressor};
  std::vector<std::string> standard{"identity", "topk:k=0.001", "topk:k=0.01", "topk:k=0.1", "sign",
                                    "contractive(natural)"};
  if (allreduce) {  // the summable ones that the list above lacks
    standard.insert(standard.end(), {"randk:k=0.01,coords=common", "lowrank:r=4,factor=shared"});
  }
  for (const std::string& spec : standard) {
    if (std::find(candidates.begin(), candidates.end(), spec) == candidates.end()) candidates.push_back(spec);
  }
  const std::int64_t rounds = 10;
  std::vector<Probe> probes;
  for (const std::string& spec : candidates) {
    Probe pr;
    pr.compressor = spec;
    probe(cl.config, comm, rounds, pr);
    probes.push_back(pr);
  }
  if (!probes.front().refused.empty()) {  // agreed by every rank
    if (comm.rank() == 0) log().error("{}", probes.front().refused);
    return comm.rank() == 0 ? 2 : 0;
  }
  // The round's own collectives, and the allreduce of the dense baseline, each after a pause
  // as long as the configured run's computation per round (at most 1 s).
  const double pause = std::min(1.0, probes.front().client_and_server_seconds);
  const Curve gather = every_rank_serves ? Curve{} : measure_collective(comm, Collective::gather, pause);
  const Curve bcast = every_rank_serves ? Curve{} : measure_collective(comm, Collective::bcast, pause);
  const Curve gathered =
      allgather || sharded ? measure_collective(comm, Collective::allgather, pause) : Curve{};
  const Curve exchanged = sharded ? measure_collective(comm, Collective::alltoall, pause) : Curve{};
  const Curve summed = measure_collective(comm, Collective::allreduce, pause);
  if (comm.rank() != 0) return 0;

  const double n = static_cast<double>(cl.config.clients);
  const auto on_rank0 = static_cast<double>(first_client_of_rank(cl.config.clients, p, 1, cl.config.dedicated_server));
  // Gather: the messages of the clients not on rank 0, spread over the other P - 1 ranks;
  // the downlink is one broadcast of a process's downlink bytes. Allgather: every rank's
  // share of the messages. Allreduce: one client's payload (every sender's is the same
  // size); no downlink. Sharded: an all-to-all of every rank's share of the messages, 1/P of
  // it to each rank, then an allgather of 1/P of the downlink from each rank.
  const auto one_message = [&](const Probe& pr) {  // gather: one rank's (not rank 0's) messages
    return (n - on_rank0) / n * pr.up_bytes / static_cast<double>(std::max(1, p - 1));
  };
  const auto uplink = [&](const Probe& pr) {
    if (p == 1) return 0.0;
    if (allgather) return gathered.at(pr.up_bytes / static_cast<double>(p));
    if (allreduce) return summed.at(pr.up_bytes / n);
    if (sharded) return exchanged.at(pr.up_bytes / static_cast<double>(p) / static_cast<double>(p));
    return gather.at(one_message(pr));
  };
  const auto downlink = [&](const Probe& pr) {
    if (sharded && p > 1) return gathered.at(pr.down_bytes / static_cast<double>(p));
    return every_rank_serves || p == 1 ? 0.0 : bcast.at(pr.down_bytes);
  };
  // Gather: rank 0's server step, the slowest process's clients, and the two collectives,
  // which overlap: links are full duplex, and a rank that has its copy of the downlink
  // computes and sends while rank 0 still sends the copies of the others. So the round waits
  // for the longer of (the whole downlink, then the last rank's message alone) and (the first
  // copy of the downlink alone, then the whole uplink).
  // Allgather and allreduce: every process runs the server step after the collective, so
  // the slowest process's clients and server together, plus the collective; sharded the
  // same, plus its downlink allgather, which nothing overlaps.
  const auto communication = [&](const Probe& pr) {
    if (sharded) return uplink(pr) + downlink(pr);
    if (allgather || allreduce || p == 1) return uplink(pr);
    return std::max(downlink(pr) + link.at(one_message(pr)), link.at(pr.down_bytes) + uplink(pr));
  };
  for (Probe& pr : probes) {
    if (!pr.refused.empty()) continue;
    pr.predicted_seconds = every_rank_serves
                               ? pr.client_and_server_seconds + communication(pr)
                               : pr.client_seconds + pr.server_seconds + communication(pr);
  }
  // The dense baseline: the identity probe's gradient time plus MPI_Allreduce of the fp32 gradient.
  double dense = 0.0;
  double dim_bytes = 0.0;
  for (const Probe& pr : probes) {
    if (pr.compressor == "identity" && pr.refused.empty()) {
      dim_bytes = pr.up_bytes / n;  // one dense fp32 message (and its header) per client
      dense = pr.gradient_seconds + summed.at(dim_bytes);
    }
  }

  std::printf("ecco-train --plan: %d rank%s, %zu clients; links from rank 0: latency %.3f ms, bandwidth %s MB/s "
              "(slowest link); %lld probe rounds per compressor\n",
              p, p == 1 ? "" : "s", cl.config.clients, 1e3 * link.latency(),
              std::isfinite(link.bandwidth()) ? megabytes(link.bandwidth()).c_str() : "inf",
              static_cast<long long>(rounds));
  if (p > 1) {
    std::printf("collectives measured (ms, slowest rank; at 8 B, 16, 32, 64, 128, 256, 512 KiB, 1, 4 MiB per rank):");
    const std::pair<Collective, const Curve*> measured[] = {{Collective::gather, &gather},
                                                            {Collective::bcast, &bcast},
                                                            {Collective::allgather, &gathered},
                                                            {Collective::allreduce, &summed},
                                                            {Collective::alltoall, &exchanged}};
    for (const auto& [collective, curve] : measured) {
      if (curve->sizes.empty()) continue;
      std::printf(" %s", name(collective));
      for (std::size_t k = 0; k < curve->seconds.size(); ++k) {
        std::printf("%s%.2f", k == 0 ? " " : "/", 1e3 * curve->seconds[k]);
      }
      std::printf(";");
    }
    std::printf("\n");
  }
  std::printf("%-28s %12s %12s %10s %10s %10s %10s %12s %9s %10s\n", "compressor", "up MB/round", "down MB/proc",
              "client ms", "server ms", "uplink ms", "downlink ms", "predicted ms", "vs dense", "probe ms");
  const Probe* best = nullptr;
  for (const Probe& pr : probes) {
    if (!pr.refused.empty()) {
      std::printf("%-28s refused: %s\n", pr.compressor.c_str(), pr.refused.c_str());
      continue;
    }
    const double up = uplink(pr);
    const double down = downlink(pr);
    std::printf("%-28s %12s %12s %10.2f %10.2f %10.2f %10.2f %12.2f %8.2fx %10.2f\n", pr.compressor.c_str(),
                megabytes(pr.up_bytes).c_str(), megabytes(pr.down_bytes).c_str(), 1e3 * pr.client_seconds,
                1e3 * pr.server_seconds, 1e3 * up, 1e3 * down, 1e3 * pr.predicted_seconds,
                dense > 0.0 ? dense / pr.predicted_seconds : 0.0, 1e3 * pr.measured_seconds);
    if (best == nullptr || pr.predicted_seconds < best->predicted_seconds) best = &pr;
  }
  if (dense > 0.0) {
    std::printf("%-28s %12s %12s %10s %10s %10s %10s %12.2f %8.2fx\n", "dense fp32 MPI_Allreduce",
                megabytes(dim_bytes * n).c_str(), "-", "", "", "", "", 1e3 * dense, 1.0);
  }
  if (best != nullptr && dense > 0.0 && best->predicted_seconds > dense) {
    const double down = downlink(*best);
    std::printf("recommendation: a dense fp32 allreduce (%.2f ms per round predicted); no candidate beats it here: "
                "the best, %s, needs %.2f ms, of which %.2f ms is the model downlink.\n",
                1e3 * dense, best->compressor.c_str(), 1e3 * best->predicted_seconds, 1e3 * down);
  } else if (best != nullptr) {
    char speedup[64] = "";
    if (dense > 0.0) std::snprintf(speedup, sizeof speedup, ", speed-up %.2fx over the dense allreduce", dense / best->predicted_seconds);
    std::printf("recommendation: %s (%.2f ms per round predicted%s). Compressors also change how many rounds a "
                "target takes; compare them on rounds-to-target too (scripts/sweep.py).\n",
                best->compressor.c_str(), 1e3 * best->predicted_seconds, speedup);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace ecco::app
