#pragma once
// Factories of the built-in methods and the pieces they share: gradient estimators,
// server states and step-size helpers (private to src/algorithms).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/mean_step_state.hpp"
#include "ecco/algorithm.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {

std::unique_ptr<Method> make_gd(const Spec& spec);
std::unique_ptr<Method> make_sgd(const Spec& spec);
std::unique_ptr<Method> make_dcgd(const Spec& spec);
std::unique_ptr<Method> make_ef14(const Spec& spec);
std::unique_ptr<Method> make_ef21(const Spec& spec);
std::unique_ptr<Method> make_ef21w(const Spec& spec);
std::unique_ptr<Method> make_ef21_plus(const Spec& spec);
std::unique_ptr<Method> make_ef21_sgd(const Spec& spec);
std::unique_ptr<Method> make_ef21_sgdm(const Spec& spec);
std::unique_ptr<Method> make_ef21_page(const Spec& spec);
std::unique_ptr<Method> make_ef21_pp(const Spec& spec);
std::unique_ptr<Method> make_ef21_bc(const Spec& spec);
std::unique_ptr<Method> make_ef21_hb(const Spec& spec);
std::unique_ptr<Method> make_econtrol(const Spec& spec);
std::unique_ptr<Method> make_adam(const Spec& spec);
std::unique_ptr<Method> make_onebit_adam(const Spec& spec);

// Inspection of onebit_adam's state (tests): the client's worker error e_i, the server's
// error e_s, the replica's Adam state (m, s). Null when the object is not onebit_adam's.
const Eigen::VectorXd* onebit_adam_worker_error(const ClientMethod& client);
const Eigen::VectorXd* onebit_adam_server_error(const ServerMethod& server);
const MeanStepState* onebit_adam_state(const ModelReplica& replica);

// ---- step sizes ------------------------------------------------------------------------

// ConfigError unless the compressor is contractive (EF methods).
void require_contractive(const std::string& method, const CompressorTraits& traits);

// The EF21 rule with the uplink compressor's alpha (alpha = 1 for uncompressed methods).
TheoryStep ef21_rule(const StepSizeRule& rule, const TheoryInputs& in, double alpha,
                     SmoothnessMean method_default = SmoothnessMean::quadratic);

// ---- minibatches -----------------------------------------------------------------------

// "full", a count >= 1, or a fraction in (0, 1) of the client's rows (floor, at least 1,
// as the EF21-BW code's floor(prb * N_i)).
struct BatchSize {
  bool full = true;
  double value = 0.0;
  std::string text = "full";
  std::size_t rows_for(std::size_t n_rows) const;
};
BatchSize parse_batch(const Spec& spec, const char* key = "batch");

// Adam's keys (beta1, beta2, eps, weight_decay, bias_correction) of an adam-type spec;
// ConfigError on values out of range.
AdamRule parse_adam_rule(const Spec& spec);

// Draws minibatches without replacement, fresh each call, from the client's sample stream.
// O(batch) per draw: a partial Fisher-Yates shuffle of a persistent permutation.
class MinibatchSampler {
 public:
  explicit MinibatchSampler(std::size_t rows);
  std::span<const std::uint32_t> draw(std::size_t batch, Rng& rng);
  // The permutation is the sampler's position: each draw shuffles its head further.
  void state(StateIO& io) { io.field("permutation", permutation_); }

 private:
  std::vector<std::uint32_t> permutation_;
};

// ---- gradient estimators ---------------------------------------------------------------

// What a client feeds into its method: the full local gradient, a minibatch gradient, a
// momentum average or the PAGE estimator.
class GradientEstimator {
 public:
  virtual ~GradientEstimator() = default;
  // The estimate at x^0: the full local gradient, or for minibatch estimators with
  // MethodSetup::batch_start a minibatch gradient.
  virtual const Eigen::VectorXd& initial(const Eigen::Ref<const Eigen::VectorXd>& x0, ClientEnv& env) = 0;
  // The estimate at x^t, t >= 1.
  virtual const Eigen::VectorXd& at(const Eigen::Ref<const Eigen::VectorXd>& x, std::int64_t t, ClientEnv& env) = 0;
  // What the estimator carries between rounds (ClientMethod::state).
  virtual void state(StateIO& io) = 0;
};

std::unique_ptr<GradientEstimator> make_full_gradient();
// The sampler is sized at initial(), from the client's problem.
// batch_start: initial() is a minibatch gradient too (else the full gradient).
std::unique_ptr<GradientEstimator> make_minibatch_gradient(const BatchSize& batch, std::size_t dim, bool batch_start);
// v^t = (1 - eta) v^{t-1} + eta * inner(x^t), v^0 = inner's initial estimate.
std::unique_ptr<GradientEstimator> make_momentum(std::unique_ptr<GradientEstimator> inner, double eta);
// PAGE: with probability p (one coin per round, shared by all clients through the seed)
// the full gradient, else v + batch mean of grad f_ij(x^t) - grad f_ij(x^{t-1}).
std::unique_ptr<GradientEstimator> make_page(const BatchSize& batch, double p, const MethodSetup& setup);

// Builds the estimator of a method whose spec has a "batch" key ("full" -> exact gradient).
std::unique_ptr<GradientEstimator> make_estimator(const BatchSize& batch, const MethodSetup& setup);

// ---- shared client pieces --------------------------------------------------------------

// How EF21-type methods start their state g_i^0: the full estimate sent densely, or
// C(estimate) sent compressed (EF21-BW's alternative).
enum class InitialState { full, compressed };
InitialState parse_initial_state(const Spec& spec);
const char* to_string(InitialState init);

// out = C(v) rounded to the wire precision (or v itself, densely, when compress is false).
void compress_to_wire(const Eigen::Ref<const Eigen::VectorXd>& v, bool compress, ClientEnv& env, Message& out);

// The client of the dense methods (gd, sgd, adam): sends its estimate densely, at wire
// precision, every round; keeps no state but the estimator's.
std::unique_ptr<ClientMethod> make_direct_client(std::unique_ptr<GradientEstimator> estimator);

// Client participation of EF21-PP: every client each round (default), exactly floor(p n)
// clients drawn uniformly without replacement each round (nice), or each client
// independently with probability p (poisson).
class Participation {
 public:
  virtual ~Participation() = default;
  virtual bool takes_part(std::size_t client, std::int64_t t, ClientEnv& env) = 0;
};

// The EF21 client, generalised: c_i = C(scale * estimate(x^t) - g_i); g_i += c_i; send c_i.
// scale = 1/(n w_i) for EF21-W, 1 otherwise.
struct Ef21ClientOptions {
  std::unique_ptr<GradientEstimator> estimator;
  double scale = 1.0;
  InitialState init = InitialState::full;
  std::shared_ptr<Participation> participation;  // null: always
};
std::unique_ptr<ClientMethod> make_ef21_client(std::size_t dim, Ef21ClientOptions options);

// ---- shared server pieces --------------------------------------------------------------

// The step of methods whose model moves as x <- x - gamma_k * direction, with g built from
// the decoded client messages m_i (weighted by w_i, or by 1/n when weights is empty):
//   replace:    g = sum_i w_i m_i every aggregation (gd, sgd, dcgd, ef14 with gamma = 1);
//   accumulate: g = sum_i w_i m_i initially, then g += sum_i w_i m_i (ef21 family, econtrol).
// direction = g, or with momentum eta the heavy-ball average v^0 = g^0, v^k = eta v^{k-1} + g^k
// (EF21-HB with accumulate, sgd:momentum= with replace), or Adam's step from g (adam).
// Update k moves by schedule.at(k). The formulas: mean_step_state.hpp.
enum class MeanStepMode { replace, accumulate };
struct MeanStepRule {
  MeanStepMode mode = MeanStepMode::accumulate;
  StepSchedule schedule;
  std::vector<double> weights;    // empty: 1/n
  std::optional<double> momentum;  // eta in [0, 1), or none
  std::optional<AdamRule> adam;    // Adam's step instead (exclusive with momentum)
};

// The server of a mean-step method. Downlink with --downlink model: the dense fp64 model
// x - gamma_k direction. With --downlink delta: the aggregated update u^k (g = u^k, or g += u^k)
// in fp64, sparse when fewer than 2/3 of its coordinates are non-zero (the encoder then
// picks the smallest index code), which the MeanStepReplica turns into x^{k+1}.
std::unique_ptr<ServerMethod> make_mean_step_server(const MethodSetup& setup, MeanStepRule rule);
// The replica of a mean-step method: the default model assignment, or with
// MethodSetup::delta_downlink one that keeps g (and v) and steps x exactly as the server in
// model mode (same operations, so the same bits).
std::unique_ptr<ModelReplica> make_mean_step_replica(const MethodSetup& setup, MeanStepRule rule);

// Base of the methods built on the mean step: they support --downlink delta and
// --aggregation allreduce and sharded.
class MeanStepMethod : public Method {
 public:
  bool supports_delta_downlink() const override { return true; }
  bool supports_summed_aggregation() const override { return true; }
  bool supports_sharded_aggregation() const override { return true; }
  std::unique_ptr<ServerMethod> make_server(const MethodSetup& setup) const override {
    return make_mean_step_server(setup, mean_step(setup));
  }
  std::unique_ptr<ModelReplica> make_replica(const MethodSetup& setup) const override {
    return make_mean_step_replica(setup, mean_step(setup));
  }

 protected:
  virtual MeanStepRule mean_step(const MethodSetup& setup) const = 0;
};

// Base of the EF21 family: contractive compressor required, EF21 theory rule, EF21 server.
class Ef21FamilyMethod : public MeanStepMethod {
 public:
  explicit Ef21FamilyMethod(std::string name) : name_(std::move(name)) {}
  void check_compressor(const CompressorTraits& traits) const override { require_contractive(name_, traits); }
  TheoryStep theory_step_size(const StepSizeRule& rule, const TheoryInputs& in) const override {
    return ef21_rule(rule, in, in.uplink.alpha);
  }

 protected:
  MeanStepRule mean_step(const MethodSetup& setup) const override {
    return {MeanStepMode::accumulate, setup.schedule, {}, std::nullopt, std::nullopt};
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

}  // namespace ecco::detail
