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

struct Link {
  double alpha = 0.0;                                     // seconds
  double beta = std::numeric_limits<double>::infinity();  // bytes per second
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

// Latency and bandwidth of the links from rank 0 (the worst of them); meaningful on rank 0.
Link measure_links(const Communicator& comm) {
  constexpr int kSmall = 8;
  // Large enough to exceed a token-bucket shaper's burst, so the sustained rate is measured.
  constexpr int kLarge = 4 << 20;
  std::vector<char> buffer(kLarge, 1);
  Link worst;
  if (comm.size() == 1) return worst;
  worst.alpha = 0.0;
  worst.beta = std::numeric_limits<double>::infinity();
  for (int peer = 1; peer < comm.size(); ++peer) {
    const double small = round_trip(comm, peer, buffer, kSmall, 20, true) / 2.0;
    const double large = round_trip(comm, peer, buffer, kLarge, 3, false) / 2.0;
    comm.barrier();
    if (comm.rank() != 0) continue;
    worst.alpha = std::max(worst.alpha, small);
    const double beta = large > small ? (kLarge - kSmall) / (large - small) : std::numeric_limits<double>::infinity();
    worst.beta = std::min(worst.beta, beta);
  }
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
  const auto transfer = [&](double bytes) { return p > 1 ? link.alpha + bytes / link.beta : 0.0; };
  // Gather: the clients not on rank 0 send through rank 0's link. Allgather: every link
  // receives the other ranks' share, (P - 1) / P of all messages, in P - 1 steps.
  const auto uplink = [&](const Probe& pr) {
    if (p == 1) return 0.0;
    if (allgather) {
      return static_cast<double>(p - 1) * link.alpha +
             pr.up_bytes * static_cast<double>(p - 1) / static_cast<double>(p) / link.beta;
    }
    return transfer((n - on_rank0) / n * pr.up_bytes);
  };
  const auto downlink = [&](const Probe& pr) {
    return allgather ? 0.0 : static_cast<double>(p - 1) * transfer(pr.down_bytes);
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
      dense = pr.gradient_seconds +
              (p > 1 ? 2.0 * static_cast<double>(p - 1) * (link.alpha + dim_bytes / (static_cast<double>(p) * link.beta))
                     : 0.0);
    }
  }

  std::printf("ecco-train --plan: %d rank%s, %zu clients; links from rank 0: latency %.3f ms, bandwidth %s MB/s "
              "(slowest link); %lld probe rounds per compressor\n",
              p, p == 1 ? "" : "s", cl.config.clients, 1e3 * link.alpha,
              std::isfinite(link.beta) ? megabytes(link.beta).c_str() : "inf", static_cast<long long>(rounds));
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
