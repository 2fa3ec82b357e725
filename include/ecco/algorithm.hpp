#pragma once
// Methods (gd, ef21, ef14, ...): the client-side and server-side state of one
// optimisation method, with no knowledge of MPI. One round t >= 1, in order:
//
//   server:  make_downlink(x^{t-1}, out)        for most methods the dense model x^t
//   (the downlink is encoded, sent to every process and decoded)
//   every process: replica.apply_downlink(m, x)  x becomes x^t on every process
//   client:  step(x^t, t, env, out)            updates its own state, writes its message
//                                              (returns false when it sends nothing)
//   server:  begin_aggregation(); accumulate(i, m_i) for the clients that sent, in client
//            order; end_aggregation(Phase::round)
//
// With --aggregation allgather every process plays the server's part on all messages and
// makes the downlink itself (nothing is broadcast); the calls and their order are the same.
// With --aggregation allreduce (methods whose supports_summed_aggregation() is true) every
// process also plays the server, but receives the weighted sum of all messages as one
// message: begin_aggregation(); accumulate_sum(sum_i w_i m_i); end_aggregation(phase).
//
// Before round 1 every client runs initialize() at x^0 and the server aggregates those
// messages with Phase::initial. A client applies to its own state exactly the message the
// server decodes: it calls round_to_wire(out, env.wire) before using out.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/message.hpp"
#include "ecco/local_objective.hpp"
#include "ecco/rng.hpp"
#include "ecco/spec.hpp"
#include "ecco/state_io.hpp"
#include "ecco/step_schedule.hpp"
#include "ecco/step_size.hpp"

namespace ecco {

// What a client's method state works with in one call.
struct ClientEnv {
  std::size_t client = 0;
  LocalObjective& objective;  // f_i
  const Compressor& compressor;
  Rng& rng;         // the client's compressor stream
  Rng& sample_rng;  // the client's minibatch and participation stream
  CompressorWorkspace& workspace;
  ValueFormat wire = ValueFormat::fp32;
};

class ClientMethod {
 public:
  virtual ~ClientMethod() = default;
  // The message sent before round 1, at x^0 (t = 0). Returns false to send nothing.
  virtual bool initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) = 0;
  // The message of round t >= 1, at the model x^t. Returns false to send nothing (0 bits).
  virtual bool step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) = 0;
  // Shortcut for methods whose message of every round is a dense vector they compute and
  // whose state never depends on how it is rounded (gd, sgd): does what initialize(x) (t = 0)
  // or step(x, t) would, and returns that vector before round_to_wire instead of writing a
  // Message; the runtime rounds it to the wire format as it sums it (--aggregation allreduce),
  // so that the result is the same bits as the Message path without its copies. The vector
  // stays valid until the client's next call. Default: nullptr (not supported; the runtime
  // calls initialize / step).
  virtual const Eigen::VectorXd* dense_message(Eigen::Ref<const Eigen::VectorXd> /*x*/, std::int64_t /*t*/,
                                               ClientEnv& /*env*/) {
    return nullptr;
  }
  // Everything the client carries from one round to the next (its EF state g_i / e_i, its
  // estimator's momentum and sampler, ...; state_io.hpp), saved and loaded by checkpoints
  // between rounds. The compressor workspace and random streams are the runtime's.
  virtual void state(StateIO& io) = 0;
};

enum class Phase { initial, round };

class ServerMethod {
 public:
  virtual ~ServerMethod() = default;
  virtual void begin_aggregation() = 0;
  // Called once per client that sent a message, in client order, with the decoded message.
  virtual void accumulate(std::size_t client, const Message& message) = 0;
  virtual void end_aggregation(Phase phase) = 0;
  // --aggregation allreduce only (Method::supports_summed_aggregation()): the weight w_i of
  // client i's message in the server's sum, and that sum over the clients that sent, given
  // once per aggregation in place of the accumulate() calls. Defaults throw std::logic_error.
  virtual double message_weight(std::size_t client) const;
  virtual void accumulate_sum(const Message& weighted_sum);
  // The same for a dense weighted sum, given as the values that travelled (fp32 or fp64
  // sums of the wire values), without building a Message: equal to accumulate_sum of the
  // dense message of these values. Default: builds that message and calls accumulate_sum.
  virtual void accumulate_dense_sum(std::span<const float> weighted_sum);
  virtual void accumulate_dense_sum(std::span<const double> weighted_sum);
  // For --aggregation allgather / allreduce, where every process runs the server and the
  // downlink does not travel: when the method's replica only assigns the model (downlink
  // model), steps x in place to exactly what make_downlink(x, m) followed by the replica's
  // apply_downlink(m, x) would give, and returns true. Default: false (no shortcut; the
  // runtime calls make_downlink and apply_downlink).
  virtual bool step_model_in_place(Eigen::Ref<Eigen::VectorXd> /*x*/) { return false; }
  // Writes the downlink of the next round given the current model x (server's replica) and
  // returns the value format it must travel in (the message is already rounded to it).
  virtual ValueFormat make_downlink(Eigen::Ref<const Eigen::VectorXd> x, Message& out) = 0;
  // Everything the server carries between rounds, as the checkpoint after a round's
  // end_aggregation needs it to make the next downlink (state_io.hpp).
  virtual void state(StateIO& io) = 0;
};

// Every process, the server included, applies the decoded downlink to its copy of the model.
class ModelReplica {
 public:
  virtual ~ModelReplica() = default;
  virtual void apply_downlink(const Message& downlink, Eigen::Ref<Eigen::VectorXd> x) = 0;
  // What the replica carries between rounds (none for a replica that assigns the model).
  virtual void state(StateIO& io) = 0;
};

struct MethodSetup {
  std::size_t dim = 0;
  std::size_t clients = 0;
  StepSchedule schedule;  // gamma_k of server update k (step_schedule.hpp)
  // Start the minibatch estimators from a minibatch gradient at x^0 instead of the full
  // local gradient (--start-gradient batch: for models whose full gradient is costly).
  bool batch_start = false;
  std::uint64_t seed = 0;  // global seed, for streams all clients share (e.g. participation)
  ValueFormat wire = ValueFormat::fp32;
  std::vector<double> smoothness;              // L_i of every client, if Method::needs_smoothness()
  const Compressor* down_compressor = nullptr;  // if Method::uses_down_compressor()
  // --downlink delta (only for methods whose supports_delta_downlink() is true): the
  // server's downlink is its aggregated update instead of the model, and make_replica
  // returns a replica that keeps the server's step state and recomputes x^{t+1} itself.
  bool delta_downlink = false;
};

// What a theory step-size rule may use.
struct TheoryInputs {
  SmoothnessConstants constants;
  CompressorTraits uplink;
  std::size_t dim = 0;
  std::size_t clients = 0;
};

// A theory step size and the constants that produced it (printed by --print-constants).
struct TheoryStep {
  double gamma = 0.0;
  double alpha = 1.0;
  std::string detail;  // e.g. "xi = 222.5"
};

// One Method object per run and process: make_client and make_replica of one object may
// share per-process state (onebit_adam's clients read the momentum its replica keeps), so
// neither a second run nor a second simulated process may reuse it.
class Method {
 public:
  virtual ~Method() = default;
  // Canonical spec with defaults filled in, e.g. "ef21:init=full".
  virtual std::string spec() const = 0;
  // False for methods that send uncompressed vectors (gd, sgd): --compressor is not used.
  virtual bool uses_compressor() const { return true; }
  virtual bool uses_down_compressor() const { return false; }
  // True if the method can run with MethodSetup::delta_downlink (--downlink delta).
  virtual bool supports_delta_downlink() const { return false; }
  // True if the server only ever uses the weighted sum of the messages of a round
  // (ServerMethod::message_weight / accumulate_sum): the method can run with
  // --aggregation allreduce.
  virtual bool supports_summed_aggregation() const { return false; }
  // True if the server's work is coordinate-wise (--aggregation sharded): aggregating the
  // messages and making the downlink on a chunk of coordinates needs only the messages'
  // values on that chunk, so that every rank can run the server for its own chunks.
  virtual bool supports_sharded_aggregation() const { return false; }
  // The chunk (coordinates) the method cuts its own messages and downlink in (onebit_adam's
  // scales), which --aggregation sharded then uses; nullopt: any chunk.
  virtual std::optional<std::size_t> message_chunk() const { return std::nullopt; }
  // False if a client compresses more than one vector per round (ef21_plus tries two and
  // sends one): what the compressor sees is then no single series of inputs (--adaptive).
  virtual bool compresses_one_vector() const { return true; }
  // True if clients need every L_i (MethodSetup::smoothness).
  virtual bool needs_smoothness() const { return false; }
  // ConfigError if the method cannot run with this uplink compressor.
  virtual void check_compressor(const CompressorTraits& traits) const;
  // ConfigError if the method cannot run with this many clients (checked during set-up).
  virtual void check_clients(std::size_t /*clients*/) const {}
  // The method's theory step size; ConfigError if it has none (the message asks for --lr VALUE).
  virtual TheoryStep theory_step_size(const StepSizeRule& rule, const TheoryInputs& in) const = 0;
  virtual std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t client) const = 0;
  virtual std::unique_ptr<ServerMethod> make_server(const MethodSetup& setup) const = 0;
  // Default: the downlink is the dense model, assigned to x. Every process, the server
  // included, applies the decoded downlink through its own replica.
  virtual std::unique_ptr<ModelReplica> make_replica(const MethodSetup& setup) const;
};

std::unique_ptr<Method> make_method(std::string_view spec_text);
std::span<const SpecEntry> method_table();

// The method spec with its minibatch set to `rows` (--batch): ConfigError when the method
// has no minibatch (listing those that do) or when spec_text sets batch= itself.
std::string method_with_batch(std::string_view spec_text, std::size_t rows);

// Rows one gradient of the method reads on a shard of shard_rows rows: its minibatch, or
// shard_rows for full-gradient methods. Used to count epochs.
std::size_t method_batch_rows(std::string_view spec_text, std::size_t shard_rows);

// The method's minibatch when it is a whole count of rows (batch=64); nullopt for full
// gradients, batch=full and fractions.
std::optional<std::size_t> method_batch_count(std::string_view spec_text);

}  // namespace ecco
