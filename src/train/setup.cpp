#include <string>
#include <vector>

#include "ecco/error.hpp"
#include "ecco/log.hpp"
#include "train/run_state.hpp"

namespace ecco::detail {
namespace {

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

// Server only: L, the L_i (and mu for PL rules), and the step size.
void compute_constants(RunState& state, const StepSizeRule& rule, const ProblemFactory& factory, const Dataset& data,
                       const ClientSplit& split) {
  RunInfo& info = state.info;
  const std::size_t n = split.clients();
  info.client_smoothness.resize(n);
  for (std::size_t i = 0; i < n; ++i) info.client_smoothness[i] = factory.smoothness_of(split.shard(data, i));
  info.constants = summarize_smoothness(factory.smoothness_of(data), info.client_smoothness);
  if (rule.pl) {
    std::vector<Dataset> shards;
    for (std::size_t i = 0; i < n; ++i) shards.push_back(split.shard(data, i));
    info.constants.mu = factory.pl_constant(shards);
  }
  info.constants_computed = true;
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
  state.down_compressor = make_compressor(config.down_compressor);
  const auto factory = make_problem_factory(config.problem);
  check_initial_point(config);
  parse_spec("split", config.split);  // syntax only; names and keys are checked with the data
  state.method->check_clients(config.clients);
  info.algorithm_spec = state.method->spec();
  info.compressor_spec = state.method->uses_compressor() ? state.compressor->spec() : "(unused)";
  info.down_compressor_spec = state.method->uses_down_compressor() ? state.down_compressor->spec() : "(unused)";
  info.problem_spec = factory->spec();
  info.step_size_rule = rule.to_string();

  const Dataset data = load_dataset(config.data, config.dim, config.clients);
  factory->prepare(data);
  info.data_source = data.source;
  info.dim = data.dim();
  info.rows = data.rows();
  info.data_fingerprint = fingerprint(data);
  const ClientSplit split = make_split(data, config.clients, config.split);
  info.split_spec = resolve_spec("split", config.split, split_table()).to_string();
  const CompressorTraits uplink = state.compressor->traits(info.dim);
  if (state.method->uses_compressor()) state.method->check_compressor(uplink);

  state.first_client = first_client_of_rank(config.clients, ranks, rank);
  const std::size_t end_client = first_client_of_rank(config.clients, ranks, rank + 1);
  for (std::size_t i = state.first_client; i < end_client; ++i) {
    LocalClient client;
    client.id = i;
    client.problem = factory->make(split.shard(data, i));
    client.oracle = std::make_unique<GradientOracle>(*client.problem);
    client.rng = Rng(derive_seed(config.seed, i, SeedPurpose::compressor));
    client.sample_rng = Rng(derive_seed(config.seed, i, SeedPurpose::minibatch));
    state.clients.push_back(std::move(client));
  }
  state.x = initial_point(config, info.dim);
  if (config.target_accuracy) {
    if (!(*config.target_accuracy >= 0.0 && *config.target_accuracy <= 1.0)) {
      throw ConfigError("--target-accuracy must be in [0, 1]");
    }
    if (!state.clients.empty() && !state.clients.front().problem->correct(state.x)) {
      throw ConfigError("--target-accuracy: problem '" + info.problem_spec + "' has no accuracy (classification only)");
    }
  }

  if (rank == 0) {
    if (rule.theory || options.compute_constants || state.method->needs_smoothness()) {
      compute_constants(state, rule, *factory, data, split);
    }
    if (rule.theory) {
      TheoryInputs in;
      in.constants = info.constants;
      in.uplink = state.method->uses_compressor() ? uplink : CompressorTraits{};
      in.dim = info.dim;
      in.clients = config.clients;
      const TheoryStep step = state.method->theory_step_size(rule, in);
      info.step_size = step.gamma;
      info.alpha = step.alpha;
      info.step_size_detail = step.detail;
    } else {
      info.step_size = rule.constant;
      info.alpha = state.method->uses_compressor() ? uplink.alpha : 1.0;
      info.step_size_detail = "constant";
    }
    if (options.observer != nullptr) options.observer->on_setup(info);
  }
  return state;
}

}  // namespace ecco::detail
