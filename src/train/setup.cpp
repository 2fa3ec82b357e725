#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "ecco/error.hpp"
#include "ecco/log.hpp"
#include "train/memory.hpp"
#include "train/run_state.hpp"

namespace ecco::detail {
namespace {

// Checks the choice flags before any data is read.
void check_choices(const RunConfig& config) {
  const auto one_of = [](const std::string& flag, const std::string& value, std::initializer_list<const char*> valid) {
    std::string list;
    for (const char* v : valid) {
      if (value == v) return;
      list += (list.empty() ? "" : ", ") + std::string(v);
    }
    throw ConfigError("--" + flag + ": unknown value '" + value + "' (valid: " + list + ")");
  };
  one_of("x0", config.x0, {"auto", "zero", "gaussian"});
  one_of("train-metrics", config.train_metrics, {"auto", "full", "batch"});
  one_of("start-gradient", config.start_gradient, {"auto", "full", "batch"});
  one_of("granularity", config.granularity, {"global", "tensor"});
  one_of("aggregation", config.aggregation, {"gather", "allgather", "allreduce", "sharded"});
  one_of("downlink", config.downlink, {"model", "delta"});
  if (config.eval_every < 0) throw ConfigError("--eval-every must be >= 0, got " + std::to_string(config.eval_every));
  if (!config.adaptive.empty() && config.granularity != "tensor") {
    throw ConfigError("--adaptive " + config.adaptive + " chooses a level per tensor: it needs --granularity tensor");
  }
  if (config.epochs && !(*config.epochs > 0.0 && *config.epochs <= 1e6)) {
    throw ConfigError("--epochs must be in (0, 1e6]");
  }
}

// The registry's methods with a property, comma-separated (defined below).
std::string methods_where(bool (Method::*property)() const);

// --aggregation sharded: a coordinate-wise server and messages that cut into chunks.
// Returns the chunk size.
std::size_t check_sharded_aggregation(const RunConfig& config, const Method& method, const Compressor& compressor) {
  if (!method.supports_sharded_aggregation()) {
    throw ConfigError("--aggregation sharded: algorithm '" + method.spec() + "' needs the whole of every message at "
                      "one server (methods that can: " + methods_where(&Method::supports_sharded_aggregation) +
                      "; or use --aggregation gather or allgather)");
  }
  if (method.uses_compressor() && compressor.spec().find("lowrank") != std::string::npos) {
    throw ConfigError("--aggregation sharded cuts the messages into coordinate chunks; low-rank messages ('" +
                      compressor.spec() + "') do not cut (use --aggregation gather, allgather or allreduce)");
  }
  if (method.uses_compressor() && config.granularity == "tensor") {
    throw ConfigError("--aggregation sharded cannot cut per-tensor messages (--granularity tensor) into chunks; use "
                      "--granularity global, or --aggregation gather or allgather");
  }
  const std::optional<std::size_t> own = method.message_chunk();
  if (own && config.shard_chunk != 0 && config.shard_chunk != *own) {
    throw ConfigError("--shard-chunk " + std::to_string(config.shard_chunk) + ": algorithm '" + method.spec() +
                      "' cuts its messages in chunks of " + std::to_string(*own) +
                      " coordinates; leave --shard-chunk out (it follows the method) or set the same");
  }
  if (config.shard_chunk > (std::size_t{1} << 31)) {
    throw ConfigError("--shard-chunk must be in [1, 2^31], got " + std::to_string(config.shard_chunk));
  }
  return config.shard_chunk != 0 ? config.shard_chunk : own.value_or(std::size_t{1} << 16);
}

// The registry's methods with a property, comma-separated.
std::string methods_where(bool (Method::*property)() const) {
  std::string list;
  for (const SpecEntry& entry : method_table()) {
    if ((*make_method(entry.name).*property)()) list += (list.empty() ? "" : ", ") + entry.name;
  }
  return list;
}

// --aggregation allreduce: a method whose server only needs the weighted sum, messages
// that can be summed without indices, and a wire format MPI can add (see MessageSum).
void check_summed_aggregation(const RunConfig& config, const Method& method, const Compressor& compressor) {
  if (!method.supports_summed_aggregation()) {
    throw ConfigError("--aggregation allreduce: algorithm '" + method.spec() + "' needs each client's message, not "
                      "their sum (methods that can: " + methods_where(&Method::supports_summed_aggregation) +
                      "; or use --aggregation gather or allgather)");
  }
  if (method.uses_compressor() && !compressor.summable()) {
    throw ConfigError("--aggregation allreduce sums the messages without their indices; compressor '" +
                      compressor.spec() + "' cannot be summed so (summable: identity, randk:k=K,coords=common, "
                      "lowrank:r=R,factor=shared; or use --aggregation gather or allgather)");
  }
  if (config.wire != ValueFormat::fp32 && config.wire != ValueFormat::fp64) {
    throw ConfigError("--aggregation allreduce sums the values in fp32 or fp64; --wire " +
                      std::string(to_string(config.wire)) + " cannot be summed by MPI (use --wire fp32 or fp64)");
  }
}

// lowrank:factor=shared: the factor every process keeps (RunState::shared_factor), drawn from
// the run's seed. Its update weighs the messages as the server does, so the method must
// aggregate a weighted sum; a down compressor cannot share a factor (no client holds it).
void make_shared_factor(const RunConfig& config, std::size_t dim, RunState& state) {
  Rng rng(derive_seed(config.seed, kNoClient, SeedPurpose::shared_factor));
  if (state.method->uses_down_compressor() && state.down_compressor->make_shared_factor(dim, rng) != nullptr) {
    throw ConfigError("--down-compressor " + state.down_compressor->spec() + ": factor=shared is for the clients' "
                      "uplink only (use factor=own)");
  }
  if (!state.method->uses_compressor()) return;
  state.shared_factor = state.compressor->make_shared_factor(dim, rng);
  if (state.shared_factor != nullptr && !state.method->supports_summed_aggregation()) {
    throw ConfigError("compressor " + state.compressor->spec() + ": algorithm '" + state.method->spec() +
                      "' cannot use a shared factor, which is updated from the weighted sum of the messages "
                      "(methods that can: " + methods_where(&Method::supports_summed_aggregation) + ")");
  }
}

// x^0: the problem's own initialisation (auto, when it has one), zero, or N(0, I) drawn
// from the run's seed (the same on every process).
Eigen::VectorXd initial_point(const RunConfig& config, const ProblemFactory& factory, std::size_t dim) {
  Eigen::VectorXd x = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(dim));
  if (config.x0 == "auto" && factory.initial_point(x)) return x;
  x.setZero();
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

// The bytes of a dataset's arrays (values, indices, row starts, labels).
double data_bytes(const Dataset& data) {
  return 16.0 * static_cast<double>(data.features.nonZeros()) + 16.0 * static_cast<double>(data.rows() + 1);
}

// Refuses a process whose clients cannot fit in the memory it may use (memory.hpp): before
// any vector of d is allocated, so that --dim 2147483648 fails with one line, not with
// std::bad_alloc or the kernel's OOM killer halfway through.
void check_memory(const RunInfo& info, bool compresses, std::size_t clients, double data, int rank) {
  const MemoryEstimate need = estimate_memory(info.dim, clients, compresses, data);
  const MemoryLimit limit = memory_limit();
  if (need.total() <= limit.bytes) return;
  char vectors[160];
  std::snprintf(vectors, sizeof vectors, "%zu client%s x %g + %g vectors of d = %zu doubles", clients,
                clients == 1 ? "" : "s", compresses ? kVectorsPerCompressingClient : kVectorsPerDenseClient,
                kVectorsPerProcess, info.dim);
  throw ConfigError("rank " + std::to_string(rank) + " would need at least " + gib(need.total()) + " of memory (" +
                    vectors + ", " + gib(need.vector_bytes) + " each, plus " + gib(need.data_bytes) +
                    " for the data), more than the " + gib(limit.bytes) + " it may use (" + limit.what +
                    "); use more hosts, fewer clients per rank or a smaller d (ECCO_MEMORY_LIMIT=<GiB> sets the "
                    "limit)");
}

RunState prepare_local_unguarded(const RunConfig& config, const RunOptions& options, int rank, int ranks);

}  // namespace

}  // namespace ecco::detail

namespace ecco {

std::size_t first_client_of_rank(std::size_t clients, int ranks, int rank, bool dedicated_server) {
  if (!dedicated_server) return clients * static_cast<std::size_t>(rank) / static_cast<std::size_t>(ranks);
  if (rank == 0 || ranks < 2) return 0;
  return clients * static_cast<std::size_t>(rank - 1) / static_cast<std::size_t>(ranks - 1);
}

}  // namespace ecco

namespace ecco::detail {

RunState prepare_local(const RunConfig& config, const RunOptions& options, int rank, int ranks) {
  try {
    return prepare_local_unguarded(config, options, rank, ranks);
  } catch (const std::bad_alloc&) {
    const MemoryLimit limit = memory_limit();
    throw Error("rank " + std::to_string(rank) + " ran out of memory during set-up (std::bad_alloc) while reading " +
                config.data + " and building its clients; it may use " +
                (std::isfinite(limit.bytes) ? gib(limit.bytes) + " (" + limit.what + ")" : std::string("what the host gives")) +
                ": use more hosts, fewer clients per rank or smaller data");
  }
}

namespace {

RunState prepare_local_unguarded(const RunConfig& config, const RunOptions& options, int rank, int ranks) {
  RunState state;
  RunInfo& info = state.info;
  info.config = config;
  info.ranks = ranks;

  if (config.rounds < 0) throw ConfigError("--rounds must be >= 0, got " + std::to_string(config.rounds));
  if (config.log_every < 1) throw ConfigError("--log-every must be >= 1, got " + std::to_string(config.log_every));
  if (config.clients < 1) throw ConfigError("--clients must be at least 1");
  if (config.dim && *config.dim == 0) throw ConfigError("--dim must be at least 1");
  const StepSizeRule rule = parse_step_size(config.step_size);
  check_choices(config);
  if (config.dedicated_server && ranks < 2) {
    throw ConfigError("--dedicated-server needs at least 2 processes (rank 0 serves, ranks 1.. host the clients); "
                      "got " + std::to_string(ranks));
  }
  if (config.batch) info.config.algorithm = method_with_batch(config.algorithm, *config.batch);
  // Syntax and names before the data is read (warmup against the rounds is checked below).
  StepSchedule::parse(config.lr_schedule, 1.0, std::numeric_limits<std::int64_t>::max());
  state.method = make_method(info.config.algorithm);
  state.compressor = make_compressor(config.compressor);
  state.down_compressor = make_compressor(config.down_compressor);
  const auto factory = make_problem_factory(config.problem);
  parse_spec("split", config.split);  // syntax only; names and keys are checked with the data
  state.method->check_clients(config.clients);
  if (config.downlink == "delta" && !state.method->supports_delta_downlink()) {
    throw ConfigError("--downlink delta: algorithm '" + state.method->spec() + "' cannot send its update instead of "
                      "the model (methods that can: " + methods_where(&Method::supports_delta_downlink) + ")");
  }
  if (config.aggregation == "allreduce") {
    check_summed_aggregation(config, *state.method, *state.compressor);
    if (config.granularity == "tensor") {
      throw ConfigError("--aggregation allreduce cannot sum per-tensor messages (--granularity tensor); use "
                        "--granularity global, or --aggregation gather or allgather");
    }
  }
  if (config.aggregation == "sharded") info.shard_chunk = check_sharded_aggregation(config, *state.method, *state.compressor);
  info.algorithm_spec = state.method->spec();
  info.compressor_spec = state.method->uses_compressor() ? state.compressor->spec() : "(unused)";
  info.down_compressor_spec = state.method->uses_down_compressor() ? state.down_compressor->spec() : "(unused)";
  info.problem_spec = factory->spec();
  info.step_size_rule = rule.to_string();
  info.precision = config.precision.value_or(factory->preferred_precision());
  factory->set_precision(info.precision);

  const Dataset data = load_dataset(config.data, config.dim, config.clients);
  factory->prepare(data);
  info.data_source = data.source;
  info.data_files = data.files;
  info.rows = data.rows();
  info.tensors = factory->tensors(data);
  info.dim = layout_dim(info.tensors);
  info.data_fingerprint = fingerprint(data);
  const std::optional<Dataset> test = load_test_dataset(config.test_data, config.data, data.dim());
  if (test) {
    info.test_source = test->source;
    info.test_files = test->files;
    info.test_rows = test->rows();
    info.data_fingerprint ^= fingerprint(*test) * 0x9E3779B97F4A7C15ULL;
  }
  const ClientSplit split = make_split(data, config.clients, config.split);
  info.split_spec = resolve_spec("split", config.split, split_table()).to_string();
  const bool costly = !factory->cheap_full_gradient();
  info.full_metrics = config.train_metrics == "auto" ? !costly : config.train_metrics == "full";
  info.batch_start = config.start_gradient == "auto" ? costly : config.start_gradient == "batch";
  if (config.epochs) {
    const std::size_t shard = std::max<std::size_t>(1, info.rows / config.clients);
    const double per_round = static_cast<double>(config.clients * method_batch_rows(info.config.algorithm, shard));
    info.config.rounds = static_cast<std::int64_t>(std::ceil(*config.epochs * static_cast<double>(info.rows) / per_round));
  }
  info.lr_schedule_spec = StepSchedule::parse(config.lr_schedule, 1.0, info.config.rounds).spec();
  if (config.granularity == "tensor" && !config.adaptive.empty()) {
    if (!state.method->uses_compressor()) {
      throw ConfigError("--adaptive: algorithm '" + state.method->spec() + "' sends uncompressed vectors; there is no "
                        "level to choose");
    }
    // The levels' errors are measured on the sum of the vectors the clients compress.
    if (!state.method->compresses_one_vector()) {
      throw ConfigError("--adaptive: algorithm '" + state.method->spec() + "' compresses more than one vector per "
                        "round; the levels' errors would be measured on their sum (use another EF method)");
    }
    AdaptiveLevels adaptive = parse_adaptive_levels(config.adaptive, config.compressor);
    auto levelled = make_levelled_compressor(adaptive.level_specs, info.tensors, config.dense_below, adaptive.uniform_level);
    const std::uint64_t smallest = smallest_message(level_costs(*levelled)).bytes;
    if (adaptive.budget > 0 && adaptive.budget < smallest) {
      throw ConfigError("--adaptive " + adaptive.spec + ": budget " + std::to_string(adaptive.budget) +
                        " bytes is below the smallest message of these levels, " + std::to_string(smallest) +
                        " bytes per client");
    }
    info.granularity = "tensor (" + std::to_string(info.tensors.size()) + " tensors, dense below " +
                       std::to_string(config.dense_below) + ", levels chosen by " + adaptive.spec + ")";
    info.adaptive = std::move(adaptive);
    state.levels = levelled.get();
    state.compressor = std::move(levelled);
  } else if (config.granularity == "tensor") {
    state.compressor = make_tensorwise_compressor(config.compressor, info.tensors, config.dense_below);
    info.granularity = "tensor (" + std::to_string(info.tensors.size()) + " tensors, dense below " +
                       std::to_string(config.dense_below) + ")";
  } else {
    info.granularity = "global";
  }
  const CompressorTraits uplink = state.compressor->traits(info.dim);
  if (state.method->uses_compressor() && !uplink.capped.empty()) info.warnings.push_back("--compressor " + uplink.capped);
  if (state.method->uses_down_compressor()) {
    const std::string capped = state.down_compressor->traits(info.dim).capped;
    if (!capped.empty()) info.warnings.push_back("--down-compressor " + capped);
  }
  if (const std::optional<std::size_t> batch = method_batch_count(info.config.algorithm)) {
    std::size_t smallest = info.rows;
    for (const RowRange& r : split.ranges) smallest = std::min(smallest, r.size());
    if (*batch > smallest) {
      info.warnings.push_back("minibatch of " + std::to_string(*batch) + " rows is more than the smallest client's " +
                              std::to_string(smallest) + " rows; such clients use all their rows in every gradient");
    }
  }
  if (state.method->uses_compressor()) {
    if (!config.allow_any_compressor) {
      state.method->check_compressor(uplink);
    } else if (rule.theory && uplink.kind != CompressorClass::contractive) {
      throw ConfigError("--allow-any-compressor: compressor " + state.compressor->spec() + " has no contraction "
                        "guarantee, so no theory step size applies; pass --lr VALUE");
    }
  }

  state.first_client = first_client_of_rank(config.clients, ranks, rank, config.dedicated_server);
  const std::size_t end_client = first_client_of_rank(config.clients, ranks, rank + 1, config.dedicated_server);
  check_memory(info, state.method->uses_compressor(), end_client - state.first_client,
               data_bytes(data) + (test ? data_bytes(*test) : 0.0), rank);
  make_shared_factor(config, info.dim, state);
  for (std::size_t i = state.first_client; i < end_client; ++i) {
    LocalClient client;
    client.id = i;
    client.problem = factory->make(split.shard(data, i));
    if (test) {
      // Client i evaluates the test rows [i N_t / n, (i + 1) N_t / n): the sums are folded in
      // client order, so the result does not depend on the number of ranks.
      const std::size_t begin = test->rows() * i / config.clients;
      const std::size_t end = test->rows() * (i + 1) / config.clients;
      if (end > begin) client.test_problem = factory->make(test->slice(begin, end));
    }
    client.oracle = std::make_unique<GradientOracle>(*client.problem);
    // randk coords=common: one stream for all clients (Compressor::common_stream).
    client.rng = Rng(derive_seed(config.seed, state.compressor->common_stream() ? kNoClient : i,
                                 SeedPurpose::compressor));
    client.sample_rng = Rng(derive_seed(config.seed, i, SeedPurpose::minibatch));
    client.workspace.shared_factor = state.shared_factor.get();
    state.clients.push_back(std::move(client));
  }
  info.classifies = state.clients.empty() ? factory->make(split.shard(data, 0))->classifies()
                                          : state.clients.front().problem->classifies();
  state.x = initial_point(config, *factory, info.dim);
  if (config.target_accuracy) {
    if (!(*config.target_accuracy >= 0.0 && *config.target_accuracy <= 1.0)) {
      throw ConfigError("--target-accuracy must be in [0, 1]");
    }
    if (!info.classifies) {
      throw ConfigError("--target-accuracy: problem '" + info.problem_spec + "' has no accuracy (classification only)");
    }
    if (!info.full_metrics) {
      throw ConfigError("--target-accuracy is checked on the training accuracy, which needs --train-metrics full");
    }
  }
  if (config.target_test_accuracy) {
    if (!(*config.target_test_accuracy >= 0.0 && *config.target_test_accuracy <= 1.0)) {
      throw ConfigError("--target-test-accuracy must be in [0, 1]");
    }
    if (!info.classifies) {
      throw ConfigError("--target-test-accuracy: problem '" + info.problem_spec +
                        "' has no accuracy (classification only)");
    }
    if (info.test_rows == 0) {
      throw ConfigError("--target-test-accuracy needs a test set (--test-data; auto has one only for fashion_mnist)");
    }
  }
  if (config.target_grad_norm_sq && !info.full_metrics) {
    throw ConfigError("--target-grad-norm-sq needs the full gradient at logged rounds: --train-metrics full");
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

}  // namespace

}  // namespace ecco::detail
