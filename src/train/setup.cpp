#include <cmath>
#include <string>
#include <vector>

#include "ecco/error.hpp"
#include "ecco/log.hpp"
#include "train/run_state.hpp"

namespace ecco::detail {
namespace {

const std::vector<SpecEntry>& synthetic_table() {
  static const std::vector<SpecEntry> table = {
      {"synthetic",
       {{"rows", "2000", "number of rows"},
        {"dim", "50", "number of features"},
        {"density", "0.2", "fraction of non-zero features per row, in (0, 1]"},
        {"noise", "0.1", "standard deviation of the label noise"},
        {"seed", "1", "seed of the generator (independent of --seed)"}},
       "binary classification rows from a hidden linear model"},
  };
  return table;
}

bool is_synthetic(const std::string& data) { return data == "synthetic" || data.rfind("synthetic:", 0) == 0; }

std::size_t positive_size(const Spec& spec, const char* key) {
  const std::int64_t value = spec.get_int(key);
  if (value < 1) throw ConfigError("--data synthetic: " + std::string(key) + " must be >= 1");
  return static_cast<std::size_t>(value);
}

Dataset load_data(const RunConfig& config, std::string& description) {
  if (!is_synthetic(config.data)) {
    description = config.data;
    return read_libsvm(config.data, config.dim);
  }
  const Spec spec = resolve_spec("data generator", config.data, synthetic_table());
  SyntheticClassification gen;
  gen.rows = positive_size(spec, "rows");
  gen.dim = positive_size(spec, "dim");
  gen.density = spec.get_double("density");
  gen.noise = spec.get_double("noise");
  gen.seed = static_cast<std::uint64_t>(spec.get_int("seed"));
  if (config.dim && *config.dim != gen.dim) {
    throw ConfigError("--dim " + std::to_string(*config.dim) + " contradicts --data " + spec.to_string());
  }
  description = spec.to_string();
  return make_synthetic_classification(gen);
}

// Checks --x0 before any data is read.
void check_initial_point(const RunConfig& config) {
  if (config.x0 != "zero" && config.x0 != "gaussian") {
    throw ConfigError("--x0: unknown starting point '" + config.x0 + "' (valid: zero, gaussian)");
  }
}

// x^0: zero, or N(0, I) drawn from the run's seed (the same on every process).
Eigen::VectorXd initial_point(const RunConfig& config, std::size_t dim) {
  Eigen::VectorXd x = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(dim));
  if (config.x0 == "gaussian") {
    Rng rng(derive_seed(config.seed, kNoClient, SeedPurpose::initial_point));
    for (Eigen::Index j = 0; j < x.size(); ++j) x[j] = rng.normal();
  }
  return x;
}

}  // namespace

std::size_t first_client_of_rank(std::size_t clients, int ranks, int rank) {
  return clients * static_cast<std::size_t>(rank) / static_cast<std::size_t>(ranks);
}

RunState prepare_local(const RunConfig& config, const RunOptions& options, int rank, int ranks) {
  RunState state;
  RunInfo& info = state.info;
  info.config = config;
  info.ranks = ranks;

  if (config.rounds < 0) throw ConfigError("--rounds must be >= 0, got " + std::to_string(config.rounds));
  if (config.log_every < 1) throw ConfigError("--log-every must be >= 1, got " + std::to_string(config.log_every));
  if (config.clients < 1) throw ConfigError("--clients must be at least 1");
  if (config.dim && *config.dim == 0) throw ConfigError("--dim must be at least 1");
  const StepSizeRule rule = parse_step_size(config.step_size);
  state.method = make_method(config.algorithm);
  state.compressor = make_compressor(config.compressor);
  const auto factory = make_problem_factory(config.problem);
  check_initial_point(config);
  info.algorithm_spec = state.method->spec();
  info.compressor_spec = state.method->uses_compressor() ? state.compressor->spec() : "(unused)";
  info.problem_spec = factory->spec();
  info.step_size_rule = rule.to_string();

  const Dataset data = load_data(config, info.data_source);
  info.dim = data.dim();
  info.rows = data.rows();
  const std::vector<RowRange> ranges = split_contiguous(data.rows(), config.clients);
  info.alpha = state.method->theory_alpha(state.compressor->traits(info.dim));
  info.xi = ef21_xi(info.alpha);

  state.first_client = first_client_of_rank(config.clients, ranks, rank);
  const std::size_t end_client = first_client_of_rank(config.clients, ranks, rank + 1);
  for (std::size_t i = state.first_client; i < end_client; ++i) {
    LocalClient client;
    client.id = i;
    client.problem = factory->make(data.slice(ranges[i].begin, ranges[i].end));
    client.oracle = std::make_unique<GradientOracle>(*client.problem);
    client.rng = Rng(derive_seed(config.seed, i, SeedPurpose::compressor));
    state.clients.push_back(std::move(client));
  }
  state.x = initial_point(config, info.dim);

  if (rank == 0) {
    info.constants_computed = rule.theory || options.compute_constants;
    if (info.constants_computed) {
      std::vector<double> L_i(config.clients);
      for (std::size_t i = 0; i < config.clients; ++i) {
        L_i[i] = factory->smoothness_of(data.slice(ranges[i].begin, ranges[i].end));
      }
      info.constants = summarize_smoothness(factory->smoothness_of(data), L_i);
    }
    info.step_size = rule.theory ? theory_step_size(rule, info.constants, info.alpha) : rule.constant;
    if (options.observer != nullptr) options.observer->on_setup(info);
  }
  return state;
}

}  // namespace ecco::detail
