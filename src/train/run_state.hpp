#pragma once
// Everything one process holds for a run (private to src/train).
#include <cstddef>
#include <memory>
#include <vector>

#include "ecco/algorithm.hpp"
#include "ecco/compressor.hpp"
#include "ecco/dataset.hpp"
#include "ecco/levelled_compressor.hpp"
#include "ecco/oracle.hpp"
#include "ecco/problem.hpp"
#include "ecco/rng.hpp"
#include "ecco/trainer.hpp"
#include "train/transport.hpp"

namespace ecco::detail {

// One client hosted by this process.
struct LocalClient {
  std::size_t id = 0;
  std::unique_ptr<Problem> problem;
  std::unique_ptr<GradientOracle> oracle;
  std::unique_ptr<Problem> test_problem;  // this client's slice of the test set (null: none)
  Rng rng;         // compressor stream (seed, client, compressor)
  Rng sample_rng;  // minibatch / participation stream (seed, client, minibatch)
  CompressorWorkspace workspace;
  std::unique_ptr<ClientMethod> method;
};

struct RunState {
  RunInfo info;  // complete on the server; on other ranks everything but the constants
  std::unique_ptr<Method> method;
  std::unique_ptr<Compressor> compressor;
  std::unique_ptr<Compressor> down_compressor;
  // --adaptive: `compressor` seen as the levelled compressor (null: none); its settings are
  // info.adaptive.
  LevelledCompressor* levels = nullptr;
  // lowrank:factor=shared: the factor all clients read, kept alike on every process (null: none).
  std::unique_ptr<SharedFactor> shared_factor;
  std::size_t first_client = 0;  // this process hosts clients [first_client, first_client + clients.size())
  std::vector<LocalClient> clients;
  std::unique_ptr<ServerMethod> server;  // server only (every rank with --aggregation allgather)
  std::unique_ptr<ModelReplica> replica;
  Eigen::VectorXd x;                     // the model, identical on every process
};

// Set-up without communication: parses the config, loads the data, builds this process's
// clients and, on the server, the constants and the step size. Throws on any bad input.
RunState prepare_local(const RunConfig& config, const RunOptions& options, int rank, int ranks);

// Set-up that needs communication (step size to every process, method states), then the
// rounds. Every process calls it after set-up succeeded everywhere.
RunResult execute(RunState& state, Transport& transport, const RunOptions& options);

// What run_with does with a set-up error: propagate it as thrown (one process, nobody
// waits), or agree on it over the transport and throw SetupFailure on every process.
enum class SetupErrors { propagate, agree };

// prepare_local + set-up error handling + execute: the body of both drivers.
RunResult run_with(const RunConfig& config, Transport& transport, const RunOptions& options, SetupErrors errors);

}  // namespace ecco::detail
