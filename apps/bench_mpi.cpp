#include "bench_mpi.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <mpi.h>

#include <Eigen/Core>

#include "ecco/codec.hpp"
#include "ecco/communicator.hpp"
#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/rng.hpp"
#include "ecco/trainer.hpp"

namespace ecco::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<long long> parse_dims(const std::string& text) {
  std::vector<long long> dims;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    char* stop = nullptr;
    const double value = std::strtod(item.c_str(), &stop);
    if (item.empty() || stop != item.c_str() + item.size() || !(value >= 1.0 && value <= 1e9)) {
      throw ConfigError("--dims: '" + item + "' is not a dimension in [1, 1e9]");
    }
    dims.push_back(static_cast<long long>(value));
    start = end + 1;
  }
  return dims;
}

// Median over `repeat` runs (after one warm-up) of the slowest rank's seconds; every rank
// gets the same value.
double time_collective(MPI_Comm comm, int repeat, const std::function<void()>& f) {
  f();
  std::vector<double> runs;
  for (int r = 0; r < repeat; ++r) {
    check_mpi(MPI_Barrier(comm), "MPI_Barrier");
    const auto start = Clock::now();
    f();
    double local = std::chrono::duration<double>(Clock::now() - start).count();
    double slowest = 0.0;
    check_mpi(MPI_Allreduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm), "MPI_Allreduce");
    runs.push_back(slowest);
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

// Sum of `data` over all ranks, in place, by the ring algorithm: p - 1 reduce-scatter steps
// (each rank sends one segment to its right neighbour and adds the one from its left), then
// p - 1 allgather steps. Each rank sends and receives 2 (p - 1) / p of the vector.
void ring_allreduce(std::vector<float>& data, std::vector<float>& scratch, MPI_Comm comm, int rank, int p) {
  if (p == 1) return;
  const std::size_t n = data.size();
  const auto begin = [&](int segment) { return n * static_cast<std::size_t>(segment) / static_cast<std::size_t>(p); };
  const auto size = [&](int segment) { return static_cast<int>(begin(segment + 1) - begin(segment)); };
  const int right = (rank + 1) % p;
  const int left = (rank + p - 1) % p;
  scratch.resize(n / static_cast<std::size_t>(p) + 1);
  for (int s = 0; s < p - 1; ++s) {
    const int send = (rank - s + 2 * p) % p;
    const int receive = (rank - s - 1 + 2 * p) % p;
    check_mpi(MPI_Sendrecv(data.data() + begin(send), size(send), MPI_FLOAT, right, 0, scratch.data(), size(receive),
                           MPI_FLOAT, left, 0, comm, MPI_STATUS_IGNORE),
              "MPI_Sendrecv");
    float* target = data.data() + begin(receive);
    for (int j = 0; j < size(receive); ++j) target[j] += scratch[static_cast<std::size_t>(j)];
  }
  for (int s = 0; s < p - 1; ++s) {
    const int send = (rank + 1 - s + 2 * p) % p;
    const int receive = (rank - s + 2 * p) % p;
    check_mpi(MPI_Sendrecv(data.data() + begin(send), size(send), MPI_FLOAT, right, 1, data.data() + begin(receive),
                           size(receive), MPI_FLOAT, left, 1, comm, MPI_STATUS_IGNORE),
              "MPI_Sendrecv");
  }
}

// Dense fp32 allreduce of d values with Open MPI's default algorithm and with the ring;
// also checks that both give the same sums (within fp32 rounding). Seconds: {default, ring}.
std::pair<double, double> time_allreduce(const Communicator& comm, long long d, int repeat) {
  const auto n = static_cast<std::size_t>(d);
  std::vector<float> mine(n), sum(n), ring(n), scratch;
  Rng rng(static_cast<std::uint64_t>(comm.rank()) + 1);
  for (float& v : mine) v = static_cast<float>(rng.normal());
  const double standard = time_collective(comm.raw(), repeat, [&] {
    check_mpi(MPI_Allreduce(mine.data(), sum.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, comm.raw()),
              "MPI_Allreduce");
  });
  const double ringed = time_collective(comm.raw(), repeat, [&] {
    ring = mine;
    ring_allreduce(ring, scratch, comm.raw(), comm.rank(), comm.size());
  });
  double worst = 0.0;
  for (std::size_t j = 0; j < n; ++j) worst = std::max(worst, static_cast<double>(std::abs(ring[j] - sum[j])));
  if (worst > 1e-4 * std::sqrt(static_cast<double>(comm.size()))) {
    throw Error("ring allreduce differs from MPI_Allreduce by " + std::to_string(worst));
  }
  return {standard, ringed};
}

// MPI_Gatherv to rank 0 of `bytes` per rank (the bytes are rank-dependent noise).
double time_gatherv(const Communicator& comm, std::size_t bytes, int repeat) {
  std::vector<char> mine(bytes, static_cast<char>(comm.rank()));
  std::vector<char> all(comm.rank() == 0 ? bytes * static_cast<std::size_t>(comm.size()) : 0);
  std::vector<int> counts(static_cast<std::size_t>(comm.size()), static_cast<int>(bytes));
  std::vector<int> displacements(counts.size());
  for (std::size_t r = 0; r < counts.size(); ++r) displacements[r] = static_cast<int>(r * bytes);
  return time_collective(comm.raw(), repeat, [&] {
    check_mpi(MPI_Gatherv(mine.data(), static_cast<int>(bytes), MPI_CHAR, all.data(), counts.data(),
                          displacements.data(), MPI_CHAR, 0, comm.raw()),
              "MPI_Gatherv");
  });
}

double time_allgatherv(const Communicator& comm, std::size_t bytes, int repeat) {
  std::vector<char> mine(bytes, static_cast<char>(comm.rank()));
  std::vector<char> all(bytes * static_cast<std::size_t>(comm.size()));
  std::vector<int> counts(static_cast<std::size_t>(comm.size()), static_cast<int>(bytes));
  std::vector<int> displacements(counts.size());
  for (std::size_t r = 0; r < counts.size(); ++r) displacements[r] = static_cast<int>(r * bytes);
  return time_collective(comm.raw(), repeat, [&] {
    check_mpi(MPI_Allgatherv(mine.data(), static_cast<int>(bytes), MPI_CHAR, all.data(), counts.data(),
                             displacements.data(), MPI_CHAR, comm.raw()),
              "MPI_Allgatherv");
  });
}

double time_bcast(const Communicator& comm, std::size_t bytes, int repeat) {
  std::vector<char> buffer(bytes, 1);
  return time_collective(comm.raw(), repeat, [&] {
    check_mpi(MPI_Bcast(buffer.data(), static_cast<int>(bytes), MPI_CHAR, 0, comm.raw()), "MPI_Bcast");
  });
}

// Encoded bytes of one TopK(ratio) message of a Gaussian vector of dimension d (fp32 wire).
std::size_t topk_message_bytes(long long d, double ratio) {
  const auto compressor = make_compressor("topk:k=" + std::to_string(ratio));
  Rng rng(7);
  Eigen::VectorXd x(d);
  for (Eigen::Index j = 0; j < x.size(); ++j) x[j] = rng.normal();
  CompressorWorkspace workspace;
  Message message;
  compressor->compress(x, rng, workspace, message);
  round_to_wire(message, ValueFormat::fp32);
  return encoded_size(message, ValueFormat::fp32).total();
}

void print_line(const char* d_text, const char* what, double bytes, double seconds) {
  std::printf("%-10s %-46s %14.0f %10.3f %9.3f\n", d_text, what, bytes, 1e3 * seconds,
              seconds > 0.0 ? bytes / seconds / 1e9 : 0.0);
}

void print_header(const Communicator& comm, const char* title) {
  std::printf("%s on %d ranks (time: median of the slowest rank; GB/s: bytes per rank / time)\n", title, comm.size());
  std::printf("%-10s %-46s %14s %10s %9s\n", "d", "operation", "bytes/rank", "ms", "GB/s");
}

}  // namespace

int run_collective(const cxxopts::ParseResult& args) {
  const Communicator comm(MPI_COMM_WORLD);
  const auto dims = parse_dims(args["dims"].as<std::string>());
  const double ratio = args["ratio"].as<double>();
  const int repeat = std::max(1, args["repeat"].as<int>());
  if (comm.rank() == 0) print_header(comm, "ecco-bench collective");
  for (const long long d : dims) {
    const std::string d_text = std::to_string(d);
    const auto [standard, ring] = time_allreduce(comm, d, repeat);
    const std::size_t message = topk_message_bytes(d, ratio);
    const double gather = time_gatherv(comm, message, repeat);
    const double allgather = time_allgatherv(comm, message, repeat);
    const auto model_bytes = static_cast<std::size_t>(8 * d);
    const double bcast = time_bcast(comm, model_bytes, repeat);
    if (comm.rank() != 0) continue;
    const double dense = 4.0 * static_cast<double>(d);
    print_line(d_text.c_str(), "MPI_Allreduce fp32 (Open MPI default)", dense, standard);
    print_line(d_text.c_str(), "ring allreduce fp32 (reduce-scatter+allgather)", dense, ring);
    const std::string topk = "MPI_Gatherv of a topk:k=" + std::to_string(ratio).substr(0, 6) + " message";
    print_line(d_text.c_str(), topk.c_str(), static_cast<double>(message), gather);
    const std::string all = "MPI_Allgatherv of the same message";
    print_line(d_text.c_str(), all.c_str(), static_cast<double>(message), allgather);
    print_line(d_text.c_str(), "MPI_Bcast of the fp64 model", static_cast<double>(model_bytes), bcast);
    std::fflush(stdout);
  }
  return 0;
}

int run_round(const cxxopts::ParseResult& args) {
  const Communicator comm(MPI_COMM_WORLD);
  const auto dims = parse_dims(args["dims"].as<std::string>());
  const double ratio = args["ratio"].as<double>();
  const int repeat = std::max(1, args["repeat"].as<int>());
  const auto rounds = static_cast<std::int64_t>(std::max(1, args["rounds"].as<int>()));
  const int clients = args["clients"].as<int>() > 0 ? args["clients"].as<int>() : comm.size();
  if (comm.rank() == 0) {
    std::printf("ecco-bench round: logistic regression on %d clients (8 generated rows each, 200 non-zeros per row), "
                "%lld rounds after the initial exchange, %d ranks; ms per round as rank 0 measures them\n",
                clients, static_cast<long long>(rounds), comm.size());
    std::printf("%-10s %-38s %9s %9s %9s %9s %9s %9s %12s %12s %14s\n", "d", "method and aggregation", "round", "gradient",
                "comp+enc", "comm", "dec+agg", "apply", "up B/round", "down B/round", "max recv B/rnd");
  }
  for (const long long d : dims) {
    double up_per_rank = 0.0;
    double down_bytes = 0.0;
    double communicate_ms = 0.0;
    double allreduce_ms = 0.0;
    struct Variant {
      const char* algorithm;
      const char* aggregation;
      std::string compressor;  // empty: TopK with --ratio
      const char* step;  // --lr
    };
    const std::string ratio_text = std::to_string(ratio);
    for (const Variant& v : {Variant{"ef21:init=compressed", "gather", "", "0.1"},
                             Variant{"ef21:init=compressed", "allgather", "", "0.1"},
                             Variant{"ef21:init=compressed", "allreduce", "randk:coords=common,k=" + ratio_text, "0.1"},
                             Variant{"ef21:init=compressed", "allreduce", "lowrank:r=4,factor=shared", "0.1"},
                             Variant{"ef21:init=compressed", "sharded", "", "0.1"},
                             Variant{"onebit_adam:freeze=1,eps=1e-5", "allgather", "", "0.001"},
                             Variant{"onebit_adam:freeze=1,eps=1e-5", "sharded", "", "0.001"},
                             Variant{"gd", "gather", "", "0.1"},
                             Variant{"gd", "allreduce", "", "0.1"}}) {
      const char* algorithm = v.algorithm;
      const std::string label = std::string(algorithm) + " " + v.aggregation +
                                (v.compressor.empty() ? "" : " " + v.compressor.substr(0, v.compressor.find(':')));
      RunConfig c;
      c.aggregation = v.aggregation;
      c.data = "synthetic_classification:rows=" + std::to_string(8 * clients) + ",dim=" + std::to_string(d) +
               ",density=" + std::to_string(std::min(1.0, 200.0 / static_cast<double>(d)));
      c.clients = static_cast<std::size_t>(clients);
      c.algorithm = algorithm;
      c.compressor = v.compressor.empty() ? "topk:k=" + ratio_text : v.compressor;
      c.allow_any_compressor = true;  // lowrank: no contraction guarantee (the step size is fixed)
      c.step_size = v.step;
      c.rounds = rounds;
      c.log_every = rounds;
      const RunResult result = run_mpi(c, comm);
      double numbers[3] = {0.0, 0.0, 0.0};
      if (comm.rank() == 0) {
        const auto& p = result.phases;
        const double per = 1e3 / static_cast<double>(rounds);
        const double up = static_cast<double>(result.history.back().bits_up - result.history.front().bits_up) / 8.0 /
                          static_cast<double>(rounds);
        const double down = static_cast<double>(result.history.back().bits_down) / 8.0 / static_cast<double>(rounds);
        const double round_ms = per * (result.seconds - p.metrics);
        // The busiest rank's received bytes per round (the initial exchange included).
        const double received = static_cast<double>(result.bits_received_max_rank) / 8.0 / static_cast<double>(rounds + 1);
        std::printf("%-10lld %-38s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %12.0f %12.0f %14.0f\n", d, label.c_str(), round_ms,
                    per * p.gradient, per * p.compress_encode, per * p.communicate, per * p.decode_aggregate,
                    per * p.apply, up, down, received);
        numbers[0] = up / static_cast<double>(comm.size());
        numbers[1] = down / static_cast<double>(clients);  // one model per client per round
        numbers[2] = per * p.communicate;
      }
      comm.broadcast(std::span<double>(numbers, 3), 0);
      if (label == "ef21:init=compressed gather") {
        up_per_rank = numbers[0];
        down_bytes = numbers[1];
        communicate_ms = numbers[2];
      }
      if (label == "gd allreduce") allreduce_ms = numbers[2];
    }
    // Raw MPI moving what the EF21 round moved: its messages gathered to rank 0, the model
    // broadcast back; and what a dense method needs: one fp32 allreduce.
    const double gather = time_gatherv(comm, static_cast<std::size_t>(up_per_rank), repeat);
    const double bcast = time_bcast(comm, static_cast<std::size_t>(down_bytes), repeat);
    const auto [standard, ring] = time_allreduce(comm, d, repeat);
    if (comm.rank() == 0) {
      const double raw = 1e3 * (gather + bcast);
      std::printf("%-10lld %-38s %9s %9s %9s %9.3f   (ef21 gather communicate / raw = %.2f)\n", d,
                  "raw Gatherv(up)+Bcast(down)", "", "", "", raw, raw > 0.0 ? communicate_ms / raw : 0.0);
      std::printf("%-10lld %-38s %9s %9s %9s %9.3f   (gd allreduce communicate / this = %.2f)\n", d,
                  "MPI_Allreduce fp32 default", "", "", "", 1e3 * standard,
                  standard > 0.0 ? allreduce_ms / (1e3 * standard) : 0.0);
      std::printf("%-10lld %-38s %9s %9s %9s %9.3f\n", d, "ring allreduce fp32", "", "", "", 1e3 * ring);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace ecco::bench
