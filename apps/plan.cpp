#include "plan.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <mpi.h>

#include "ecco/error.hpp"
#include "ecco/log.hpp"
#include "ecco/trainer.hpp"

namespace ecco::app {
namespace {

using Clock = std::chrono::steady_clock;

// One-way transfer time of a link as a function of the bytes, measured at a few sizes and
// interpolated linearly between them (beyond the largest: its last slope). Measuring a curve
// rather than fitting alpha + bytes / beta keeps what a shaper's burst or MPI's eager and
// rendezvous protocols do to mid-sized messages.
struct Link {
  std::vector<double> sizes;    // bytes, increasing
  std::vector<double> seconds;  // one-way time at each size (the slowest link's)
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
};

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
  if (times.empty()) return 0.0;
  std::sort(times.begin(), times.end());
  return fastest ? times.front() : times[times.size() / 2];
}

// The transfer curve of the links from rank 0 (the slowest at each size); meaningful on rank 0.
Link measure_links(const Communicator& comm) {
  // 8 B: latency (the fastest of 20 round trips: scheduling noise only adds); 4 MiB exceeds a
  // token-bucket shaper's burst, so the last segment is the sustained rate.
  const int sizes[] = {8, 64 << 10, 512 << 10, 4 << 20};
  const int repeats[] = {20, 5, 5, 3};
  std::vector<char> buffer(static_cast<std::size_t>(sizes[3]), 1);
  Link worst;
  if (comm.size() == 1) return worst;
  for (std::size_t k = 0; k < 4; ++k) {
    worst.sizes.push_back(sizes[k]);
    worst.seconds.push_back(0.0);
  }
  for (int peer = 1; peer < comm.size(); ++peer) {
    for (std::size_t k = 0; k < 4; ++k) {
      const double one_way = round_trip(comm, peer, buffer, sizes[k], repeats[k], k == 0) / 2.0;
      worst.seconds[k] = std::max(worst.seconds[k], one_way);
    }
    comm.barrier();
  }
  // Keep the curve non-decreasing (noise at neighbouring sizes).
  for (std::size_t k = 1; k < worst.seconds.size(); ++k) worst.seconds[k] = std::max(worst.seconds[k], worst.seconds[k - 1]);
  return worst;
}

struct Probe {
  std::string compressor;
  std::string refused;  // why the run was refused ("" when it ran)
  double up_bytes = 0.0;    // per round, all clients
  double down_bytes = 0.0;  // per round and process
  double client_seconds = 0.0;  // rank 0's clients: gradient, compress+encode, per round
  double gradient_seconds = 0.0;
  double server_seconds = 0.0;  // decode+aggregate, apply, per round
  double measured_seconds = 0.0;
  double predicted_seconds = 0.0;
};

// A few rounds of the configured run with another compressor; fills the probe on rank 0.
// Set-up refusals (the method does not accept the compressor) are agreed by every rank.
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
  if (!result.is_server) return;
  const auto r = static_cast<double>(rounds);
  const auto& ph = result.phases;
  const auto& first = result.history.front();
  const auto& last = result.history.back();
  p.up_bytes = static_cast<double>(last.bits_up - first.bits_up) / 8.0 / r;
  p.down_bytes = static_cast<double>(last.bits_down) / 8.0 / r / static_cast<double>(c.clients);
  p.client_seconds = (ph.gradient + ph.compress_encode) / (r + 1.0);
  p.gradient_seconds = ph.gradient / (r + 1.0);
  p.server_seconds = ph.decode_aggregate / (r + 1.0) + ph.apply / r;
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
  const Link link = measure_links(comm);
  std::vector<std::string> candidates{cl.config.compressor};
  for (const char* spec : {"identity", "topk:k=0.001", "topk:k=0.01", "topk:k=0.1", "sign", "contractive(natural)"}) {
    if (std::find(candidates.begin(), candidates.end(), spec) == candidates.end()) candidates.emplace_back(spec);
  }
  const std::int64_t rounds = 10;
  std::vector<Probe> probes;
  for (const std::string& spec : candidates) {
    Probe pr;
    pr.compressor = spec;
    probe(cl.config, comm, rounds, pr);
    probes.push_back(pr);
  }
  if (comm.rank() != 0) return 0;
  if (!probes.front().refused.empty()) {
    log().error("{}", probes.front().refused);
    return 2;
  }

  const double n = static_cast<double>(cl.config.clients);
  const auto on_rank0 = static_cast<double>(first_client_of_rank(cl.config.clients, p, 1, cl.config.dedicated_server));
  const bool allgather = cl.config.aggregation == "allgather";
  const bool allreduce = cl.config.aggregation == "allreduce";
  const double others = static_cast<double>(p - 1);
  // Gather: the clients not on rank 0 send through rank 0's link; the downlink leaves it
  // P - 1 times. Allgather: P - 1 steps, each moving about 1/P of all messages per link.
  // Allreduce: a ring over one client's payload (every sender's is the same size),
  // 2 (P - 1) steps of 1/P of it; no downlink.
  const auto uplink = [&](const Probe& pr) {
    if (p == 1) return 0.0;
    if (allgather) return others * link.at(pr.up_bytes / static_cast<double>(p));
    if (allreduce) return 2.0 * others * link.at(pr.up_bytes / n / static_cast<double>(p));
    return link.at((n - on_rank0) / n * pr.up_bytes);
  };
  const auto downlink = [&](const Probe& pr) {
    return allgather || allreduce || p == 1 ? 0.0 : link.at(others * pr.down_bytes);
  };
  for (Probe& pr : probes) {
    if (!pr.refused.empty()) continue;
    pr.predicted_seconds = pr.client_seconds + uplink(pr) + pr.server_seconds + downlink(pr);
  }
  // The dense baseline: the identity probe's gradient time plus a ring allreduce of the fp32 gradient.
  double dense = 0.0;
  double dim_bytes = 0.0;
  for (const Probe& pr : probes) {
    if (pr.compressor == "identity" && pr.refused.empty()) {
      dim_bytes = pr.up_bytes / n;  // one dense fp32 message (and its header) per client
      dense = pr.gradient_seconds + (p > 1 ? 2.0 * others * link.at(dim_bytes / static_cast<double>(p)) : 0.0);
    }
  }

  std::printf("ecco-train --plan: %d rank%s, %zu clients; links from rank 0: latency %.3f ms, bandwidth %s MB/s "
              "(slowest link); %lld probe rounds per compressor\n",
              p, p == 1 ? "" : "s", cl.config.clients, 1e3 * link.latency(),
              std::isfinite(link.bandwidth()) ? megabytes(link.bandwidth()).c_str() : "inf",
              static_cast<long long>(rounds));
  std::printf("%-28s %12s %12s %10s %10s %10s %10s %12s %9s %10s\n", "compressor", "up MB/round", "down MB/proc",
              "client ms", "server ms", "uplink ms", "downlink ms", "predicted ms", "vs dense", "probe ms");
  const Probe* best = nullptr;
  for (const Probe& pr : probes) {
    if (!pr.refused.empty()) {
      std::printf("%-28s refused by the method: %s\n", pr.compressor.c_str(), pr.refused.c_str());
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
    std::printf("%-28s %12s %12s %10s %10s %10s %10s %12.2f %8.2fx\n", "dense fp32 ring allreduce",
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
