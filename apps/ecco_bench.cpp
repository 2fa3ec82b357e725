// ecco-bench: micro-benchmarks of ecco's parts (programs, never timed assertions in tests).
//
//   ecco-bench compress [--dim 10000000] [--ratio 0.01] [--wire fp32] [--repeat 7] [--seed 1]
//                       [--compressors SPEC;SPEC;...]
//   ecco-bench list
//   mpirun -np P ecco-bench collective | round [--dims 100000,1000000,10000000] ...  (bench_mpi.hpp)
//
// `compress` times, on one core and one Gaussian vector of dimension d, for every compressor:
// compress + round_to_wire + encode (what a client does), and decode + add_to (what the server
// does), as the median over --repeat runs after one warm-up run, with every buffer reused
// (the steady state of a training run). It prints the encoded bytes, bits per coordinate, the
// input bandwidth 8 d bytes / (compress + encode time) and that time in units of one read
// pass over x, measured first in the same run (the memory-speed limit). Baselines in the same run:
// TopK written with std::nth_element over indices (+ sort of the K kept), std::nth_element on
// a copy of |x|, and one read pass over x; then the index codecs on TopK's indices.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <cxxopts.hpp>

#include "bench_model.hpp"
#include "bench_mpi.hpp"
#include "compressors/index_codecs.hpp"
#include "ecco/communicator.hpp"
#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"
#include "ecco/version.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Median seconds of `repeat` runs of f after one warm-up run.
double time_median(int repeat, const std::function<void()>& f) {
  f();
  std::vector<double> runs;
  for (int r = 0; r < repeat; ++r) {
    const auto start = Clock::now();
    f();
    runs.push_back(seconds_since(start));
  }
  return median(runs);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(separator, start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> default_specs(const std::string& ratio) {
  return {"identity",
          "topk:k=" + ratio,
          "randk:k=" + ratio,
          "randk:k=" + ratio + ",scaled=true",
          "randk:k=" + ratio + ",shared_seed=true",
          "bernoulli:p=1",
          "natural",
          "qsgd:s=16",
          "qsgd:s=16,norm=inf",
          "natural_dithering:s=8",
          "terngrad",
          "sign",
          "onebit",
          "lowrank:r=4",
          "topk:k=" + ratio + "+qsgd:s=16",
          "topk:k=" + ratio + "+natural",
          "contractive(qsgd:s=16)",
          "contractive(topk:k=" + ratio + "+qsgd:s=16)"};
}

// One row; read_pass_s is the time of one read pass over x measured in the same run, the
// limit a compressor that must look at every coordinate cannot beat ("x pass" = the ratio).
void print_row(const std::string& name, double compress_s, double decode_s, std::size_t bytes, std::size_t d,
               double read_pass_s) {
  const double input_gbs = 8.0 * static_cast<double>(d) / compress_s / 1e9;
  const double passes = compress_s / read_pass_s;
  if (bytes > 0) {
    std::printf("%-44s %10.2f %7.1f %10.2f %12zu %9.3f %8.2f\n", name.c_str(), 1e3 * compress_s, passes,
                1e3 * decode_s, bytes, 8.0 * static_cast<double>(bytes) / static_cast<double>(d), input_gbs);
  } else {
    std::printf("%-44s %10.2f %7.1f %10s %12s %9s %8.2f\n", name.c_str(), 1e3 * compress_s, passes, "-", "-", "-",
                input_gbs);
  }
}

int run_compress(const cxxopts::ParseResult& args) {
  const auto d = static_cast<std::size_t>(args["dim"].as<long long>());
  const double ratio = args["ratio"].as<double>();
  const int repeat = args["repeat"].as<int>();
  const ecco::ValueFormat wire = ecco::parse_value_format(args["wire"].as<std::string>());
  if (d < 1 || d > 4294967295ULL || !(ratio > 0.0 && ratio < 1.0) || repeat < 1) {
    throw ecco::ConfigError("need 1 <= --dim < 2^32, 0 < --ratio < 1, --repeat >= 1");
  }
  char ratio_text[64];
  std::snprintf(ratio_text, sizeof ratio_text, "%g", ratio);
  const std::vector<std::string> specs =
      args.count("compressors") > 0 ? split(args["compressors"].as<std::string>(), ';') : default_specs(ratio_text);

  // Every spec is checked before anything is printed or timed.
  std::vector<std::unique_ptr<ecco::Compressor>> compressors;
  for (const std::string& spec : specs) compressors.push_back(ecco::make_compressor(spec));

  ecco::Rng data(static_cast<std::uint64_t>(args["seed"].as<long long>()));
  Eigen::VectorXd x(static_cast<Eigen::Index>(d));
  for (Eigen::Index j = 0; j < x.size(); ++j) x[j] = data.normal();
  Eigen::VectorXd y = Eigen::VectorXd::Zero(x.size());

  // The limit first: one read pass over x (max |x_j|, vectorised by Eigen).
  double sink = 0.0;
  const double read_pass = time_median(repeat, [&] { sink += x.cwiseAbs().maxCoeff(); });

  std::printf("ecco-bench compress: d = %zu, ratio = %s, wire %s, median of %d runs after a warm-up, one core\n", d,
              ratio_text, std::string(ecco::to_string(wire)).c_str(), repeat);
  std::printf("one read pass over x: %.2f ms; 'x pass' = c+enc time / that (the limit is about 1)\n", 1e3 * read_pass);
  std::printf("%-44s %10s %7s %10s %12s %9s %8s\n", "compressor", "ms c+enc", "x pass", "ms dec+acc", "bytes",
              "bits/coord", "in GB/s");

  ecco::CompressorWorkspace workspace;
  ecco::Message client;
  ecco::Message server;
  std::vector<std::byte> bytes;
  for (const auto& compressor : compressors) {
    ecco::Rng rng(7);
    // lowrank:factor=shared: a shared factor as the runtime keeps one (never updated here).
    const auto factor = compressor->make_shared_factor(d, rng);
    workspace.shared_factor = factor.get();
    const double c = time_median(repeat, [&] {
      compressor->compress(x, rng, workspace, client);
      ecco::round_to_wire(client, wire);
      bytes.clear();
      ecco::encode(client, wire, bytes);
    });
    const double dec = time_median(repeat, [&] {
      ecco::decode(bytes, static_cast<std::uint32_t>(d), factor.get(), server);
      server.add_to(y);
    });
    print_row(compressor->spec(), c, dec, bytes.size(), d, read_pass);
  }

  // Baselines on the same x.
  const auto k = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(ratio * static_cast<double>(d))));
  std::vector<std::uint32_t> order(d);
  const double nth_indices = time_median(repeat, [&] {
    std::iota(order.begin(), order.end(), std::uint32_t{0});
    const auto before = [&x](std::uint32_t a, std::uint32_t b) {
      const double ma = std::fabs(x[a]);
      const double mb = std::fabs(x[b]);
      return ma > mb || (ma == mb && a < b);
    };
    std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), before);
    std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
  });
  print_row("baseline: std::nth_element(indices) + sort K", nth_indices, 0.0, 0, d, read_pass);
  std::vector<double> magnitudes(d);
  const double nth_values = time_median(repeat, [&] {
    for (std::size_t j = 0; j < d; ++j) magnitudes[j] = std::fabs(x[static_cast<Eigen::Index>(j)]);
    std::nth_element(magnitudes.begin(), magnitudes.begin() + static_cast<std::ptrdiff_t>(k - 1), magnitudes.end(),
                     std::greater<>());
  });
  print_row("baseline: std::nth_element(copy of |x|)", nth_values, 0.0, 0, d, read_pass);
  print_row("baseline: one read pass over x (max |x_j|)", read_pass, 0.0, 0, d, read_pass);

  // Index codecs on TopK's indices.
  ecco::Message top;
  ecco::make_compressor("topk:k=" + std::to_string(k))->compress(x, data, workspace, top);
  const std::vector<std::uint32_t>& indices = top.indices;
  std::vector<std::byte> section(std::max(5 * k, ecco::detail::bitmap_bytes(static_cast<std::uint32_t>(d))) + 8);
  std::vector<std::uint32_t> decoded;
  decoded.reserve(k);
  std::printf("\nindex codecs on TopK's %zu indices (d = %zu):\n", k, d);
  std::printf("%-16s %10s %12s %14s %14s\n", "codec", "bytes", "bits/index", "enc M idx/s", "dec M idx/s");
  const auto codec_row = [&](const char* name, std::size_t size, const std::function<void()>& enc,
                             const std::function<void()>& dec) {
    const double te = time_median(repeat, enc);
    const double td = time_median(repeat, dec);
    if (decoded != indices) throw ecco::Error(std::string("index codec ") + name + " did not round-trip");
    std::printf("%-16s %10zu %12.2f %14.0f %14.0f\n", name, size, 8.0 * static_cast<double>(size) / static_cast<double>(k),
                static_cast<double>(k) / te / 1e6, static_cast<double>(k) / td / 1e6);
  };
  const auto dim = static_cast<std::uint32_t>(d);
  const auto count = static_cast<std::uint32_t>(k);
  const std::size_t varint_size = ecco::detail::delta_varint_bytes(indices);
  codec_row(
      "delta-varint", varint_size, [&] { ecco::detail::write_delta_varint(indices, section.data()); },
      [&] { ecco::detail::read_delta_varint(section.data(), section.data() + varint_size, count, dim, decoded); });
  codec_row(
      "raw32", ecco::detail::raw32_bytes(k), [&] { ecco::detail::write_raw32(indices, section.data()); },
      [&] { ecco::detail::read_raw32(section.data(), count, dim, decoded); });
  codec_row(
      "bitmap", ecco::detail::bitmap_bytes(dim), [&] { ecco::detail::write_bitmap(indices, dim, section.data()); },
      [&] { ecco::detail::read_bitmap(section.data(), count, dim, decoded); });
  const double size_pass = time_median(repeat, [&] { sink += static_cast<double>(ecco::detail::delta_varint_bytes(indices)); });
  std::printf("%-16s %10s %12s %14.0f %14s\n", "varint sizing", "", "", static_cast<double>(k) / size_pass / 1e6, "");
  if (sink == -1.0) std::printf("%f\n", sink);  // keep the baselines' results alive
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    cxxopts::Options options("ecco-bench",
                             "Micro-benchmarks of ecco (ecco-bench compress | model | list; under mpirun: "
                             "collective | round)");
    // clang-format off
    options.add_options()
      ("command", "compress or list", cxxopts::value<std::string>())
      ("dim", "vector dimension", cxxopts::value<long long>()->default_value("10000000"))
      ("ratio", "k / d for the sparsifiers", cxxopts::value<double>()->default_value("0.01"))
      ("wire", "fp32, fp64, bf16 or fp16", cxxopts::value<std::string>()->default_value("fp32"))
      ("repeat", "timed runs per line (median)", cxxopts::value<int>()->default_value("7"))
      ("seed", "seed of the test vector", cxxopts::value<long long>()->default_value("1"))
      ("compressors", "';'-separated specs (default: one of each)", cxxopts::value<std::string>())
      ("dims", "collective, round: comma-separated dimensions",
       cxxopts::value<std::string>()->default_value("100000,1000000,10000000"))
      ("rounds", "round: rounds per run", cxxopts::value<int>()->default_value("20"))
      ("clients", "round: clients (0: one per rank)", cxxopts::value<int>()->default_value("0"))
      ("models", "model: comma-separated softmax, mlp", cxxopts::value<std::string>()->default_value("softmax,mlp"))
      ("precisions", "model: comma-separated fp32, fp64", cxxopts::value<std::string>()->default_value("fp32,fp64"))
      ("batches", "model: comma-separated batch sizes", cxxopts::value<std::string>()->default_value("64,256"))
      ("hidden", "model: the mlp's hidden widths", cxxopts::value<std::string>()->default_value("512x512"))
      ("json", "model: print a JSON array")
      ("h,help", "print this help");
    // clang-format on
    options.parse_positional({"command"});
    options.positional_help("compress|model|list|collective|round");
    const auto args = options.parse(argc, argv);
    if (args.count("help") > 0 || args.count("command") == 0) {
      std::printf("%s\n", options.help().c_str());
      return args.count("help") > 0 ? 0 : 2;
    }
    const std::string command = args["command"].as<std::string>();
    if (command == "list") {
      std::printf("%s", ecco::describe_compressors().c_str());
      return 0;
    }
    if (command == "compress") return run_compress(args);
    if (command == "model") return ecco::bench::run_model(args);
    if (command == "collective" || command == "round") {
      ecco::MpiEnvironment mpi(argc, argv);
      return command == "collective" ? ecco::bench::run_collective(args) : ecco::bench::run_round(args);
    }
    std::fprintf(stderr, "ecco-bench: unknown command '%s' (compress, model, list, collective, round)\n",
                 command.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ecco-bench: %s\n", e.what());
    return 1;
  }
}
