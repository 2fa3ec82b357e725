// Pieces shared by the built-in methods: step-size helpers, minibatch sizes and sampling,
// initial states, the mean-step server and the default model replica.
#include <cmath>
#include <cstdio>
#include <numeric>

#include "algorithms/builtin.hpp"

namespace ecco {

void Method::check_compressor(const CompressorTraits& /*traits*/) const {}

namespace {

// The downlink is the dense model: every process assigns it.
class AssignReplica final : public ModelReplica {
 public:
  void apply_downlink(const Message& downlink, Eigen::Ref<Eigen::VectorXd> x) override { downlink.assign_to(x); }
};

}  // namespace

std::unique_ptr<ModelReplica> Method::make_replica(const MethodSetup& /*setup*/) const {
  return std::make_unique<AssignReplica>();
}

namespace detail {

void require_contractive(const std::string& method, const CompressorTraits& traits) {
  if (traits.kind == CompressorClass::contractive) return;
  if (traits.kind == CompressorClass::biased) {
    throw ConfigError("algorithm '" + method + "' needs a contractive compressor; this one is biased without a "
                      "contraction guarantee (onebit, lowrank): use topk, randk, sign or contractive(<unbiased spec>), or run it "
                      "without a guarantee with --allow-any-compressor");
  }
  char omega[32];
  std::snprintf(omega, sizeof omega, "%.6g", traits.omega);
  throw ConfigError("algorithm '" + method + "' needs a contractive compressor; this one is unbiased (omega = " +
                    omega + "); wrap it as contractive(<spec>), which scales it by 1/(omega+1), e.g. "
                    "--compressor 'contractive(qsgd:s=4)' (or run it without a guarantee with --allow-any-compressor)");
}

TheoryStep ef21_rule(const StepSizeRule& rule, const TheoryInputs& in, double alpha, SmoothnessMean method_default) {
  TheoryStep step;
  step.alpha = alpha;
  step.gamma = theory_step_size(rule, in.constants, alpha, method_default);
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "EF21 rule: xi(alpha) = %.10g, L_mean = %.10g%s", ef21_xi(alpha),
                smoothness_mean(rule, in.constants, method_default), rule.pl ? " (PL variant)" : "");
  step.detail = buffer;
  return step;
}

std::size_t BatchSize::rows_for(std::size_t n_rows) const {
  if (full) return n_rows;
  if (value >= 1.0) return std::min(n_rows, static_cast<std::size_t>(value));
  return std::max<std::size_t>(1, static_cast<std::size_t>(std::floor(value * static_cast<double>(n_rows))));
}

BatchSize parse_batch(const Spec& spec, const char* key) {
  BatchSize batch;
  batch.text = spec.get_string(key);
  if (batch.text == "full") return batch;
  batch.full = false;
  batch.value = spec.get_double(key);
  const bool count = batch.value >= 1.0 && batch.value == std::floor(batch.value);
  const bool fraction = batch.value > 0.0 && batch.value < 1.0;
  if (!count && !fraction) {
    throw ConfigError("algorithm '" + spec.name() + "': " + key + " must be full, a whole count >= 1 or a fraction in "
                      "(0, 1), got '" + batch.text + "'");
  }
  return batch;
}

MinibatchSampler::MinibatchSampler(std::size_t rows) : permutation_(rows) {
  std::iota(permutation_.begin(), permutation_.end(), 0U);
}

std::span<const std::uint32_t> MinibatchSampler::draw(std::size_t batch, Rng& rng) {
  const std::size_t n = permutation_.size();
  for (std::size_t k = 0; k < batch; ++k) {
    const std::size_t pick = k + static_cast<std::size_t>(rng.uniform_index(n - k));
    std::swap(permutation_[k], permutation_[pick]);
  }
  return std::span(permutation_).first(batch);
}

InitialState parse_initial_state(const Spec& spec) {
  const std::string& text = spec.get_string("init");
  if (text == "full") return InitialState::full;
  if (text == "compressed") return InitialState::compressed;
  throw ConfigError("algorithm '" + spec.name() + "': init must be full or compressed, got '" + text + "'");
}

const char* to_string(InitialState init) { return init == InitialState::full ? "full" : "compressed"; }

void compress_to_wire(const Eigen::Ref<const Eigen::VectorXd>& v, bool compress, ClientEnv& env, Message& out) {
  if (compress) {
    env.compressor.compress(v, env.rng, env.workspace, out);
  } else {
    out.set_dense(v);
  }
  round_to_wire(out, env.wire);
}

MeanStepServer::MeanStepServer(const MethodSetup& setup, Mode mode, StepSchedule schedule, std::vector<double> weights)
    : g_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim))),
      mode_(mode),
      schedule_(std::move(schedule)),
      clients_(static_cast<double>(setup.clients)),
      weights_(std::move(weights)),
      sum_(g_),
      next_(g_) {}

void MeanStepServer::begin_aggregation() { sum_.setZero(); }

void MeanStepServer::accumulate(std::size_t client, const Message& message) {
  message.add_to(sum_, weights_.empty() ? 1.0 : weights_[client]);
}

void MeanStepServer::end_aggregation(Phase phase) {
  // Unweighted sums are divided once by n, so that the result does not depend on how the
  // messages were grouped.
  if (mode_ == Mode::replace || phase == Phase::initial) {
    g_ = weights_.empty() ? Eigen::VectorXd(sum_ / clients_) : sum_;
  } else if (weights_.empty()) {
    g_ += sum_ / clients_;
  } else {
    g_ += sum_;
  }
}

ValueFormat MeanStepServer::make_downlink(Eigen::Ref<const Eigen::VectorXd> x, Message& out) {
  next_ = x - schedule_.at(updates_++) * direction();
  out.set_dense(next_);
  return ValueFormat::fp64;
}

MomentumServer::MomentumServer(const MethodSetup& setup, Mode mode, double eta)
    : MeanStepServer(setup, mode, setup.schedule), eta_(eta), v_(g_) {}

void MomentumServer::end_aggregation(Phase phase) {
  MeanStepServer::end_aggregation(phase);
  if (phase == Phase::initial) {
    v_ = g_;
  } else {
    v_ = eta_ * v_ + g_;
  }
}

}  // namespace detail
}  // namespace ecco
