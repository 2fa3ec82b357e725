// onebit_adam:freeze=F,chunk=C,batch=B,beta1=,beta2=,eps=,weight_decay=,bias_correction= —
// 1-bit Adam (Tang et al. 2021): Adam whose momentum travels as 1-bit signs with error
// feedback on the clients and the server, after a dense warm-up.
//
// Server update k uses the messages of round k (k = 0: the initial messages at x^0).
//  * Warm-up, k < F: exactly adam (adam.cpp): the clients send their minibatch gradients
//    densely, the server averages them, g^k = (1/n) sum_i g_i^k, and sends g^k down in fp64;
//    every process's replica updates Adam's moments m and s from it and steps x.
//  * From k = F on, s (and its bias correction) stays frozen at its value of update F - 1,
//    and with the momentum m^{k-1} every process holds, client i sends
//      m_i = b1 m^{k-1} + (1 - b1) g_i^k,   u_i = m_i + e_i,   c_i = C(u_i),   e_i = u_i - c_i,
//    the server forms
//      u = (1/n) sum_i c_i + e_s,   m^k = C(u),   e_s = u - m^k,
//    and sends m^k down; every replica sets m = m^k and steps
//      x^{k+1} = x^k (1 - gamma_k wd) - (gamma_k / c1_k) m^k / (sqrt(s) / sqrt(c2) + eps),
//    so every process and every client ends the round with the same momentum m^k.
//  * C is the norm-preserving sign of the onebit compressor, applied chunk by chunk: the
//    vector is cut into logical chunks of C coordinates (the last one shorter), and chunk j
//    becomes (||u_j||_2 / sqrt(len_j)) sign(u_j) with its own fp32 scale. A message is a parts
//    message of one sign part per chunk: ceil(len_j / 8) bytes of signs + 28 bytes (the part's
//    length, header and scale). The chunks depend on the config only, never on the number of
//    ranks. Coordinates whose frozen variance is exactly 0 (a gradient that was 0 through the
//    whole warm-up) keep m = 0: a sign cannot send a zero, and their step would be
//    gamma scale / eps (MeanStepState::set_momentum).
// Differences from the reference implementation (DeepSpeed's OnebitAdam): it uses one worker
// scale for the whole flattened model and one server scale per rank's slice (so its result
// depends on the number of GPUs); ecco uses one scale per logical chunk on both sides. It
// applies no bias correction (bias_correction=false here; ecco's default true follows the
// formula of PyTorch's AdamW, and onebit_adam with F >= rounds is adam bit for bit).
// The --compressor and --downlink flags do not apply: the downlink is always the mean
// gradient (warm-up) or the compressed momentum. Needs each client's message: gather,
// allgather or sharded aggregation (not allreduce).
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

// error = u - C(u), coordinate by coordinate, from the parts message c = C(u).
void subtract_parts(const Eigen::VectorXd& u, const Message& c, Eigen::VectorXd& error) {
  std::size_t first = 0;
  for (const Message& part : c.active_parts()) {
    for (std::size_t j = 0; j < part.values.size(); ++j) {
      const auto at = static_cast<Eigen::Index>(first + j);
      error[at] = u[at] - part.values[j];
    }
    first += part.dim;
  }
}

// out = C(u) chunk by chunk (see above): a parts message of ceil(d / chunk) sign parts.
void compress_by_chunks(const Compressor& onebit, const Eigen::VectorXd& u, std::size_t chunk, Rng& rng,
                        CompressorWorkspace& workspace, Message& out) {
  const auto d = static_cast<std::size_t>(u.size());
  const std::size_t count = (d + chunk - 1) / chunk;
  out.set_parts(static_cast<std::uint32_t>(d), static_cast<std::uint32_t>(count));
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t first = k * chunk;
    const std::size_t length = std::min(chunk, d - first);
    onebit.compress(u.segment(static_cast<Eigen::Index>(first), static_cast<Eigen::Index>(length)), rng, workspace,
                    out.parts[k]);
  }
}

// What the clients and the replica of one process share: Adam's state as of the last
// downlink, in particular the synchronised momentum m every client starts its round from.
struct SharedAdam {
  SharedAdam(const MethodSetup& setup, const AdamRule& rule)
      : state(setup.dim, true, setup.schedule, std::nullopt, rule) {}
  MeanStepState state;
};

struct OnebitAdamOptions {
  BatchSize batch;
  AdamRule rule;
  std::int64_t freeze = 1;
  std::size_t chunk = 1;
};

class OnebitAdamClient final : public ClientMethod {
 public:
  OnebitAdamClient(const MethodSetup& setup, const OnebitAdamOptions& options, std::shared_ptr<const SharedAdam> shared)
      : options_(options),
        shared_(std::move(shared)),
        estimator_(make_estimator(options.batch, setup)),
        onebit_(make_compressor("onebit")),
        error_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim))),
        u_(error_) {}

  bool initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) override {
    compress_to_wire(estimator_->initial(x0, env), false, env, out);
    return true;
  }

  bool step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) override {
    const Eigen::VectorXd& g = estimator_->at(x, t, env);
    if (t < options_.freeze) {
      compress_to_wire(g, false, env, out);
      return true;
    }
    const double b1 = options_.rule.beta1;
    u_ = (b1 * shared_->state.adam_m() + (1.0 - b1) * g) + error_;
    compress_by_chunks(*onebit_, u_, options_.chunk, env.rng, env.workspace, out);
    round_to_wire(out, env.wire);
    subtract_parts(u_, out, error_);
    return true;
  }

  void state(StateIO& io) override {
    io.field("error", error_);
    io.begin("estimator");
    estimator_->state(io);
    io.end();
  }

  // The worker error e_i (tests).
  const Eigen::VectorXd& error() const { return error_; }

 private:
  OnebitAdamOptions options_;
  std::shared_ptr<const SharedAdam> shared_;
  std::unique_ptr<GradientEstimator> estimator_;
  std::unique_ptr<Compressor> onebit_;
  Eigen::VectorXd error_;  // e_i
  Eigen::VectorXd u_;      // m_i + e_i
};

class OnebitAdamServer final : public ServerMethod {
 public:
  OnebitAdamServer(const MethodSetup& setup, const OnebitAdamOptions& options)
      : options_(options),
        clients_(static_cast<double>(setup.clients)),
        onebit_(make_compressor("onebit")),
        sum_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim))),
        u_(sum_),
        error_(sum_) {}

  const Eigen::VectorXd& error() const { return error_; }

  void begin_aggregation() override { sum_.setZero(); }
  void accumulate(std::size_t /*client*/, const Message& message) override { message.add_to(sum_); }

  void end_aggregation(Phase /*phase*/) override {
    const std::int64_t k = aggregations_++;
    if (k < options_.freeze) {
      u_ = sum_ / clients_;  // the mean gradient, as adam's server forms it
      downlink_.set_dense(u_);
      return;
    }
    u_ = sum_ / clients_ + error_;
    compress_by_chunks(*onebit_, u_, options_.chunk, rng_, workspace_, downlink_);
    subtract_parts(u_, downlink_, error_);
  }

  ValueFormat make_downlink(Eigen::Ref<const Eigen::VectorXd> /*x*/, Message& out) override {
    out = downlink_;
    return ValueFormat::fp64;
  }
  void state(StateIO& io) override {
    io.field("aggregations", aggregations_);
    io.field("error", error_);
    io.begin("downlink");
    message_state(downlink_, io);
    io.end();
  }

 private:
  OnebitAdamOptions options_;
  double clients_;
  std::unique_ptr<Compressor> onebit_;
  Rng rng_{0};  // onebit is deterministic: never drawn from
  CompressorWorkspace workspace_;
  std::int64_t aggregations_ = 0;
  Message downlink_;
  Eigen::VectorXd sum_;
  Eigen::VectorXd u_;      // the mean plus e_s
  Eigen::VectorXd error_;  // e_s
};

class OnebitAdamReplica final : public ModelReplica {
 public:
  OnebitAdamReplica(std::shared_ptr<SharedAdam> shared, std::int64_t freeze)
      : shared_(std::move(shared)), freeze_(freeze) {}

  void apply_downlink(const Message& downlink, Eigen::Ref<Eigen::VectorXd> x) override {
    MeanStepState& state = shared_->state;
    const std::int64_t k = state.updates();
    if (k < freeze_) {
      state.absorb(downlink, k == 0);
    } else {
      state.set_momentum(downlink);
    }
    state.step(x.data(), x.data(), false);
  }

  const MeanStepState& state() const { return shared_->state; }
  void state(StateIO& io) override { shared_->state.state(io); }

 private:
  std::shared_ptr<SharedAdam> shared_;
  std::int64_t freeze_;
};

// One object per run and process (the trainer's RunState holds one): its clients and its
// replica share that process's SharedAdam.
class OnebitAdam final : public Method {
 public:
  OnebitAdam(OnebitAdamOptions options, std::string spec) : options_(std::move(options)), spec_(std::move(spec)) {}
  std::string spec() const override { return spec_; }
  bool uses_compressor() const override { return false; }
  // The downlink is always the method's own (mean gradient or compressed momentum), so
  // --downlink delta changes nothing.
  bool supports_delta_downlink() const override { return true; }
  bool supports_sharded_aggregation() const override { return true; }
  std::optional<std::size_t> message_chunk() const override { return options_.chunk; }
  TheoryStep theory_step_size(const StepSizeRule& /*rule*/, const TheoryInputs& /*in*/) const override {
    throw ConfigError("algorithm 'onebit_adam' has no theory step size: pass --lr VALUE (e.g. --lr 0.001)");
  }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    return std::make_unique<OnebitAdamClient>(setup, options_, shared(setup));
  }
  std::unique_ptr<ServerMethod> make_server(const MethodSetup& setup) const override {
    return std::make_unique<OnebitAdamServer>(setup, options_);
  }
  std::unique_ptr<ModelReplica> make_replica(const MethodSetup& setup) const override {
    return std::make_unique<OnebitAdamReplica>(shared(setup), options_.freeze);
  }

 private:
  std::shared_ptr<SharedAdam> shared(const MethodSetup& setup) const {
    if (!shared_) shared_ = std::make_shared<SharedAdam>(setup, options_.rule);
    if (static_cast<std::size_t>(shared_->state.g().size()) != setup.dim) {
      throw std::logic_error("onebit_adam: one Method object serves one run (its clients and replica share state)");
    }
    return shared_;
  }

  OnebitAdamOptions options_;
  std::string spec_;
  mutable std::shared_ptr<SharedAdam> shared_;  // created by the first make_client / make_replica
};

}  // namespace

const Eigen::VectorXd* onebit_adam_worker_error(const ClientMethod& client) {
  const auto* c = dynamic_cast<const OnebitAdamClient*>(&client);
  return c != nullptr ? &c->error() : nullptr;
}

const Eigen::VectorXd* onebit_adam_server_error(const ServerMethod& server) {
  const auto* s = dynamic_cast<const OnebitAdamServer*>(&server);
  return s != nullptr ? &s->error() : nullptr;
}

const MeanStepState* onebit_adam_state(const ModelReplica& replica) {
  const auto* r = dynamic_cast<const OnebitAdamReplica*>(&replica);
  return r != nullptr ? &r->state() : nullptr;
}

std::unique_ptr<Method> make_onebit_adam(const Spec& spec) {
  OnebitAdamOptions options;
  options.batch = parse_batch(spec);
  options.rule = parse_adam_rule(spec);
  options.freeze = spec.get_int("freeze");
  if (options.freeze < 1) {
    throw ConfigError("algorithm 'onebit_adam': freeze must be a round count >= 1 (the dense warm-up that sets "
                      "Adam's variance), got '" + spec.get_string("freeze") + "'");
  }
  const std::int64_t chunk = spec.get_int("chunk");
  if (chunk < 1 || chunk > std::int64_t{1} << 31) {
    throw ConfigError("algorithm 'onebit_adam': chunk must be a coordinate count in [1, 2^31], got '" +
                      spec.get_string("chunk") + "'");
  }
  options.chunk = static_cast<std::size_t>(chunk);
  return std::make_unique<OnebitAdam>(std::move(options), spec.to_string());
}

}  // namespace ecco::detail
