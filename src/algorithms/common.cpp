// Pieces shared by the built-in methods: step-size helpers, minibatch sizes and sampling,
// initial states, the mean-step server and the default model replica.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <type_traits>

#include "algorithms/builtin.hpp"

namespace ecco {

void Method::check_compressor(const CompressorTraits& /*traits*/) const {}

namespace {

// The downlink is the dense model: every process assigns it.
class AssignReplica final : public ModelReplica {
 public:
  void apply_downlink(const Message& downlink, Eigen::Ref<Eigen::VectorXd> x) override { downlink.assign_to(x); }
  void state(StateIO& /*io*/) override {}
};

}  // namespace

std::unique_ptr<ModelReplica> Method::make_replica(const MethodSetup& /*setup*/) const {
  return std::make_unique<AssignReplica>();
}

double ServerMethod::message_weight(std::size_t /*client*/) const {
  throw std::logic_error("this server method does not aggregate a weighted sum (--aggregation allreduce)");
}

void ServerMethod::accumulate_sum(const Message& /*weighted_sum*/) {
  throw std::logic_error("this server method does not aggregate a weighted sum (--aggregation allreduce)");
}

namespace {

template <class Scalar>
void accumulate_as_message(ServerMethod& server, std::span<const Scalar> weighted_sum) {
  Message m;
  m.set_dense(Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(
                  weighted_sum.data(), static_cast<Eigen::Index>(weighted_sum.size()))
                  .template cast<double>());
  server.accumulate_sum(m);
}

}  // namespace

void ServerMethod::accumulate_dense_sum(std::span<const float> weighted_sum) {
  accumulate_as_message(*this, weighted_sum);
}

void ServerMethod::accumulate_dense_sum(std::span<const double> weighted_sum) {
  accumulate_as_message(*this, weighted_sum);
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
  // Rows are 32-bit indices: a count above 2^32 - 1 can never be a shard's row count.
  const bool in_range = batch.value <= 4294967295.0;
  if ((!count || !in_range) && !fraction) {
    throw ConfigError("algorithm '" + spec.name() + "': " + key + " must be full, a whole count in [1, 4294967295] or a "
                      "fraction in (0, 1), got '" + batch.text + "'");
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

namespace {

class MeanStepServer final : public ServerMethod {
 public:
  MeanStepServer(const MethodSetup& setup, MeanStepRule rule)
      : rule_(std::move(rule)),
        delta_(setup.delta_downlink),
        clients_(static_cast<double>(setup.clients)),
        state_(make_state(setup.dim, rule_)),
        sum_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim))),
        update_(sum_),
        next_(sum_) {}

  void begin_aggregation() override {
    sum_.setZero();
    lowrank_added_ = false;
    other_added_ = false;
    dense_f32_ = nullptr;
    dense_f64_ = nullptr;
  }

  void accumulate(std::size_t client, const Message& message) override { add(message, message_weight(client)); }

  double message_weight(std::size_t client) const override {
    return rule_.weights.empty() ? 1.0 : rule_.weights[client];
  }

  void accumulate_sum(const Message& weighted_sum) override { add(weighted_sum, 1.0); }

  // The fused path of a round whose only input is a dense sum: end_aggregation reads it in
  // place in one pass (sum_, and update_ in model mode, are not materialised).
  void accumulate_dense_sum(std::span<const float> weighted_sum) override { take_dense(weighted_sum); }
  void accumulate_dense_sum(std::span<const double> weighted_sum) override { take_dense(weighted_sum); }

  void end_aggregation(Phase phase) override {
    const bool initial = phase == Phase::initial;
    const std::optional<double> divisor = rule_.weights.empty() ? std::optional(clients_) : std::nullopt;
    if (dense_f32_ != nullptr || dense_f64_ != nullptr) {
      if (delta_) {
        if (dense_f32_ != nullptr) {
          dense_update(dense_f32_, divisor);
        } else {
          dense_update(dense_f64_, divisor);
        }
      } else if (dense_f32_ != nullptr) {
        state_.absorb_dense_sum(dense_f32_, divisor, initial);
      } else {
        state_.absorb_dense_sum(dense_f64_, divisor, initial);
      }
      dense_f32_ = nullptr;
      dense_f64_ = nullptr;
      return;
    }
    // Unweighted sums are divided once by n, so that the result does not depend on how the
    // messages were grouped. Shared-factor messages are summed as P (sum_i w_i A_i)^T and
    // expanded once: with only those, update = P A^T for A = (sum_i w_i A_i) / n, which
    // --downlink delta sends as a lowrank message (R (rows + cols) values instead of d).
    const bool only_lowrank = only_lowrank_added();
    if (lowrank_added_) {
      if (rule_.weights.empty() && only_lowrank) {
        auto a = lowrank_sum_a();
        a /= clients_;
      }
      lowrank_sum_.add_to(sum_);
    }
    if (rule_.weights.empty() && !only_lowrank) {
      update_ = sum_ / clients_;
    } else {
      update_ = sum_;
    }
    if (delta_) return;  // the replicas apply update_ (make_downlink)
    state_.absorb(update_, initial);
  }

  ValueFormat make_downlink(Eigen::Ref<const Eigen::VectorXd> x, Message& out) override {
    if (delta_ && only_lowrank_added()) {
      // update_ is exactly this message expanded (end_aggregation), so the replica's
      // g += update is the server's g += update_, bit for bit.
      out = lowrank_sum_;
      return ValueFormat::fp64;
    }
    if (delta_) {
      const auto dim = static_cast<std::uint32_t>(update_.size());
      const auto nonzero = static_cast<std::size_t>((update_.array() != 0.0).count());
      if (3 * nonzero < 2 * static_cast<std::size_t>(dim)) {
        // Skipping the zeros is exact: g + 0 == g for every g but -0.0, which g never is
        // (sums that start from +0.0 are never -0.0).
        out.clear_sparse(dim);
        for (std::uint32_t j = 0; j < dim; ++j) {
          const double u = update_[static_cast<Eigen::Index>(j)];
          if (u != 0.0) {
            out.indices.push_back(j);
            out.values.push_back(u);
          }
        }
      } else {
        out.set_dense(update_);
      }
      return ValueFormat::fp64;
    }
    state_.step(x.data(), next_.data(), false);
    out.set_dense(next_);
    return ValueFormat::fp64;
  }

  // Model mode: the replica assigns the model (make_mean_step_replica), so computing in place
  // what make_downlink sends and Message::assign_to makes of it (0 + 1 * value: -0 becomes +0)
  // gives the same bits, element by element.
  bool step_model_in_place(Eigen::Ref<Eigen::VectorXd> x) override {
    if (delta_) return false;
    state_.step(x.data(), x.data(), true);
    return true;
  }

  // Model mode: the step state. Delta mode: also the update the next make_downlink sends
  // (end_aggregation made it).
  void state(StateIO& io) override {
    state_.state(io);
    if (!delta_) return;
    io.field("update", update_);
    io.field("lowrank_added", lowrank_added_);
    io.field("other_added", other_added_);
    io.begin("lowrank_sum");
    message_state(lowrank_sum_, io);
    io.end();
  }

 private:
  static MeanStepState make_state(std::size_t dim, const MeanStepRule& rule) {
    return {dim, rule.mode == MeanStepMode::replace, rule.schedule, rule.momentum, rule.adam};
  }

  template <class Scalar>
  void take_dense(std::span<const Scalar> weighted_sum) {
    if (lowrank_added_ || other_added_ || dense_f32_ != nullptr || dense_f64_ != nullptr ||
        static_cast<Eigen::Index>(weighted_sum.size()) != sum_.size()) {
      throw std::logic_error("MeanStepServer: a dense sum must be the only input of its aggregation, of size d");
    }
    if constexpr (std::is_same_v<Scalar, float>) {
      dense_f32_ = weighted_sum.data();
    } else {
      dense_f64_ = weighted_sum.data();
    }
  }

  // --downlink delta from a dense sum s: update = (0 + 1 * s) / n (unless weighted), the
  // operations of the Message path, element by element.
  template <class Scalar>
  void dense_update(const Scalar* s, std::optional<double> divisor) {
    const auto d = static_cast<std::size_t>(update_.size());
    double* update = update_.data();
    for (std::size_t j = 0; j < d; ++j) {
      const double sum = 0.0 + 1.0 * static_cast<double>(s[j]);
      update[j] = divisor ? sum / *divisor : sum;
    }
  }

  bool only_lowrank_added() const { return lowrank_added_ && !other_added_; }

  // One message (or the weighted sum of a round's) with weight w: shared_lowrank ones go to
  // lowrank_sum_ (Layout::lowrank: P and the A part; P is the same in every message of a
  // round, one shared factor; S, the factor update, is not needed here), others to sum_.
  void add(const Message& m, double weight) {
    if (m.layout != Layout::shared_lowrank) {
      m.add_to(sum_, weight);
      other_added_ = true;
      return;
    }
    const std::size_t p_size = static_cast<std::size_t>(m.rows) * m.rank;
    const std::size_t a_size = static_cast<std::size_t>(m.cols) * m.rank;
    if (!lowrank_added_) {
      lowrank_added_ = true;
      lowrank_sum_.set_lowrank(m.dim, m.rows, m.rank);
      std::copy(m.values.begin(), m.values.begin() + static_cast<std::ptrdiff_t>(p_size), lowrank_sum_.values.begin());
      std::fill(lowrank_sum_.values.begin() + static_cast<std::ptrdiff_t>(p_size), lowrank_sum_.values.end(), 0.0);
    }
    for (std::size_t k = 0; k < a_size; ++k) lowrank_sum_.values[p_size + k] += weight * m.values[p_size + k];
  }

  Eigen::Map<Eigen::VectorXd> lowrank_sum_a() {
    const std::size_t p_size = static_cast<std::size_t>(lowrank_sum_.rows) * lowrank_sum_.rank;
    return {lowrank_sum_.values.data() + p_size, static_cast<Eigen::Index>(lowrank_sum_.values.size() - p_size)};
  }

  MeanStepRule rule_;
  bool delta_;
  double clients_;
  MeanStepState state_;  // model mode: g, momentum, Adam moments and the step
  bool lowrank_added_ = false;  // this aggregation had shared_lowrank messages
  bool other_added_ = false;    // ... and messages of other layouts
  Message lowrank_sum_;  // shared_lowrank rounds: P and sum_i w_i A_i (/ n at the end)
  const float* dense_f32_ = nullptr;   // the round's dense sum (accumulate_dense_sum), until
  const double* dense_f64_ = nullptr;  // end_aggregation
  Eigen::VectorXd sum_;
  Eigen::VectorXd update_;
  Eigen::VectorXd next_;
};

// --downlink delta: the same state and step as MeanStepServer in model mode, from the update.
class MeanStepReplica final : public ModelReplica {
 public:
  MeanStepReplica(const MethodSetup& setup, const MeanStepRule& rule)
      : state_(setup.dim, rule.mode == MeanStepMode::replace, rule.schedule, rule.momentum, rule.adam) {}

  void apply_downlink(const Message& update, Eigen::Ref<Eigen::VectorXd> x) override {
    state_.absorb(update, state_.updates() == 0);
    state_.step(x.data(), x.data(), false);
  }
  void state(StateIO& io) override { state_.state(io); }

 private:
  MeanStepState state_;
};

}  // namespace

std::unique_ptr<ServerMethod> make_mean_step_server(const MethodSetup& setup, MeanStepRule rule) {
  return std::make_unique<MeanStepServer>(setup, std::move(rule));
}

std::unique_ptr<ModelReplica> make_mean_step_replica(const MethodSetup& setup, MeanStepRule rule) {
  if (!setup.delta_downlink) return std::make_unique<AssignReplica>();
  return std::make_unique<MeanStepReplica>(setup, std::move(rule));
}

}  // namespace detail
}  // namespace ecco
