// ecco-bench model (bench_model.hpp).
#include "bench_model.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/rng.hpp"

namespace ecco::bench {
namespace {

constexpr std::size_t kFeatures = 784;
constexpr std::size_t kClasses = 10;
constexpr std::size_t kRows = 4096;

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Dense rows with features uniform in [0, 1) and labels 0..9, from a fixed seed.
Dataset synthetic_images() {
  Rng rng(derive_seed(1, kNoClient, SeedPurpose::data_generation));
  std::vector<Eigen::Triplet<double, std::int64_t>> entries;
  entries.reserve(kRows * kFeatures);
  Dataset data;
  data.labels.resize(static_cast<Eigen::Index>(kRows));
  for (std::size_t j = 0; j < kRows; ++j) {
    for (std::size_t f = 0; f < kFeatures; ++f) {
      entries.emplace_back(static_cast<std::int64_t>(j), static_cast<std::int64_t>(f), rng.uniform());
    }
    data.labels[static_cast<Eigen::Index>(j)] = static_cast<double>(j % kClasses);
  }
  data.features.resize(static_cast<std::int64_t>(kRows), static_cast<std::int64_t>(kFeatures));
  data.features.setFromTriplets(entries.begin(), entries.end());
  data.source = "synthetic 784 x 4096";
  return data;
}

struct Row {
  std::string model;
  std::string precision;
  std::size_t batch = 0;
  double ms = 0.0;
  double gflops = 0.0;
};

}  // namespace

int run_model(const cxxopts::ParseResult& args) {
  const std::vector<std::string> models = split_list(args["models"].as<std::string>());
  // Every list is checked before anything is printed or timed.
  std::vector<ComputePrecision> precisions;
  for (const std::string& text : split_list(args["precisions"].as<std::string>())) {
    if (text != "fp32" && text != "fp64") {
      throw ConfigError("--precisions: '" + text + "' is not a precision (allowed: fp32, fp64)");
    }
    precisions.push_back(parse_compute_precision(text));
  }
  std::vector<std::string> specs;
  for (const std::string& model : models) {
    specs.push_back(model == "mlp" ? "mlp:hidden=" + args["hidden"].as<std::string>() : model);
    for (const ComputePrecision precision : precisions) make_problem_factory(specs.back())->set_precision(precision);
  }
  std::vector<std::size_t> batches;
  for (const std::string& b : split_list(args["batches"].as<std::string>())) {
    char* end = nullptr;
    const long long value = std::strtoll(b.c_str(), &end, 10);
    if (end == b.c_str() || *end != '\0' || value < 1 || value > static_cast<long long>(kRows)) {
      throw ConfigError("--batches: '" + b + "' is not a whole number in [1, " + std::to_string(kRows) + "]");
    }
    batches.push_back(static_cast<std::size_t>(value));
  }
  const int repeat = args.count("repeat") > 0 ? args["repeat"].as<int>() : 200;
  if (repeat < 1) throw ConfigError("--repeat must be >= 1");
  const bool json = args.count("json") > 0;
  const Dataset data = synthetic_images();

  std::vector<Row> rows;
  if (!json) {
    std::printf("ecco-bench model: one core, median of %d minibatch gradients after a warm-up, %zu x %zu data\n",
                repeat, kFeatures, kRows);
    std::printf("%-28s %-9s %6s %12s %10s\n", "model", "precision", "batch", "ms/step", "GFLOP/s");
  }
  for (const std::string& spec : specs) {
    for (const ComputePrecision precision : precisions) {
      auto factory = make_problem_factory(spec);
      factory->set_precision(precision);
      factory->prepare(data);
      const TensorLayout layout = factory->tensors(data);
      double multiply_adds = 0.0;
      for (const TensorShape& t : layout) {
        if (t.cols > 1) multiply_adds += static_cast<double>(t.rows * t.cols);
      }
      const std::size_t dim = layout_dim(layout);
      const auto problem = factory->make(data);
      Eigen::VectorXd x(static_cast<Eigen::Index>(dim));
      if (!factory->initial_point(x)) {
        Rng init(7);
        for (Eigen::Index k = 0; k < x.size(); ++k) x[k] = 0.01 * (2.0 * init.uniform() - 1.0);
      }
      Eigen::VectorXd grad(x.size());
      std::vector<std::uint32_t> order(kRows);
      std::iota(order.begin(), order.end(), 0U);
      Rng sampler(11);
      for (const std::size_t batch : batches) {
        const auto step = [&] {
          for (std::size_t k = 0; k < batch; ++k) {
            std::swap(order[k], order[k + static_cast<std::size_t>(sampler.uniform_index(kRows - k))]);
          }
          problem->batch_gradient(x, std::span<const std::uint32_t>(order.data(), batch), grad);
        };
        step();
        std::vector<double> times;
        for (int r = 0; r < repeat; ++r) {
          const auto start = std::chrono::steady_clock::now();
          step();
          times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        std::sort(times.begin(), times.end());
        const double seconds = times[times.size() / 2];
        Row row{spec, std::string(to_string(precision)), batch, 1e3 * seconds,
                6.0 * multiply_adds * static_cast<double>(batch) / seconds / 1e9};
        if (!json) {
          std::printf("%-28s %-9s %6zu %12.3f %10.2f\n", row.model.c_str(), row.precision.c_str(), row.batch, row.ms,
                      row.gflops);
        }
        rows.push_back(row);
      }
    }
  }
  if (json) {
    std::printf("[");
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const Row& r = rows[k];
      std::printf("%s\n {\"model\": \"%s\", \"spec\": \"%s\", \"precision\": \"%s\", \"batch\": %zu, "
                  "\"ms_per_step\": %.6f, \"gflops\": %.4f}",
                  k == 0 ? "" : ",", r.model.rfind("mlp", 0) == 0 ? "mlp" : r.model.c_str(), r.model.c_str(),
                  r.precision.c_str(), r.batch, r.ms, r.gflops);
    }
    std::printf("\n]\n");
  }
  return 0;
}

}  // namespace ecco::bench
