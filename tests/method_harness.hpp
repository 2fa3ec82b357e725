#pragma once
// MethodHarness: runs one method's client and server objects by hand, all clients in the
// test and without the wire codec or MPI, following the round order documented in
// include/ecco/algorithm.hpp. It is an independent driver against which the trainer and
// other methods are compared, and it exposes every iterate x^t. Optionally the messages go
// through the wire codec (encode, decode), as in a real run.
#include <memory>
#include <string>
#include <vector>

#include "ecco/algorithm.hpp"
#include "ecco/dataset.hpp"
#include "ecco/oracle.hpp"
#include "ecco/problem.hpp"

namespace ecco::testing {

struct HarnessConfig {
  std::string method = "ef21";
  std::string compressor = "identity";
  std::string down_compressor = "identity";
  // Used instead of the spec strings when set (e.g. per-tensor compressors, which no spec
  // string builds).
  std::shared_ptr<const Compressor> compressor_object;
  std::shared_ptr<const Compressor> down_compressor_object;
  // Uplink messages and the downlink are encoded (at `wire` and the server's downlink format)
  // and decoded before they are used, as the trainer does.
  bool through_wire = false;
  std::string problem = "least_squares:lambda=0";
  double step_size = 0.1;
  std::string schedule;      // --lr-schedule spec over `rounds`; empty: constant step_size
  std::int64_t rounds = 0;   // for the schedule
  bool batch_start = false;  // MethodSetup::batch_start
  std::uint64_t seed = 3;
  std::size_t clients = 5;
  ValueFormat wire = ValueFormat::fp64;
  Dataset data;  // split contiguously over the clients
};

class MethodHarness {
 public:
  explicit MethodHarness(HarnessConfig config) : config_(std::move(config)) {
    method_ = make_method(config_.method);
    compressor_ = config_.compressor_object ? config_.compressor_object
                                            : std::shared_ptr<const Compressor>(make_compressor(config_.compressor));
    down_ = config_.down_compressor_object
                ? config_.down_compressor_object
                : std::shared_ptr<const Compressor>(make_compressor(config_.down_compressor));
    const auto ranges = split_contiguous(config_.data.rows(), config_.clients);
    const auto factory = make_problem_factory(config_.problem);
    factory->prepare(config_.data);  // softmax / mlp: the classes of the training labels
    MethodSetup setup;
    setup.dim = layout_dim(factory->tensors(config_.data));  // the model's, not the data's
    setup.clients = config_.clients;
    setup.schedule = config_.schedule.empty()
                         ? StepSchedule::constant(config_.step_size)
                         : StepSchedule::parse(config_.schedule, config_.step_size, config_.rounds);
    setup.batch_start = config_.batch_start;
    setup.seed = config_.seed;
    setup.wire = config_.wire;
    setup.down_compressor = down_.get();
    for (const auto& r : ranges) {
      problems_.push_back(factory->make(config_.data.slice(r.begin, r.end)));
      setup.smoothness.push_back(problems_.back()->smoothness());
    }
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      oracles_.push_back(std::make_unique<GradientOracle>(*problems_[i]));
      clients_.push_back(method_->make_client(setup, i));
      rngs_.emplace_back(derive_seed(config_.seed, i, SeedPurpose::compressor));
      sample_rngs_.emplace_back(derive_seed(config_.seed, i, SeedPurpose::minibatch));
    }
    workspaces_.resize(ranges.size());
    server_ = method_->make_server(setup);
    replica_ = method_->make_replica(setup);
    x_ = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim));
  }

  // x^0, x^1, ..., x^T.
  std::vector<Eigen::VectorXd> run(std::int64_t rounds) {
    std::vector<Eigen::VectorXd> iterates{x_};
    exchange(0, Phase::initial);
    for (std::int64_t t = 1; t <= rounds; ++t) {
      Message downlink;
      const ValueFormat format = server_->make_downlink(x_, downlink);
      if (config_.through_wire) wire_trip(downlink, format);
      replica_->apply_downlink(downlink, x_);
      exchange(t, Phase::round);
      iterates.push_back(x_);
    }
    return iterates;
  }

  // Full local gradients the clients' methods evaluated so far (all clients).
  std::int64_t full_evaluations() const {
    std::int64_t total = 0;
    for (const auto& oracle : oracles_) total += oracle->evaluations();
    return total;
  }

  // Clients that sent a message in the last exchange.
  std::size_t senders() const { return senders_; }

 private:
  void exchange(std::int64_t t, Phase phase) {
    server_->begin_aggregation();
    senders_ = 0;
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      ClientEnv env{i, *oracles_[i], *compressor_, rngs_[i], sample_rngs_[i], workspaces_[i], config_.wire};
      Message m;
      const bool sent = t == 0 ? clients_[i]->initialize(x_, env, m) : clients_[i]->step(x_, t, env, m);
      if (sent) {
        if (config_.through_wire) wire_trip(m, config_.wire);
        server_->accumulate(i, m);
        ++senders_;
      }
    }
    server_->end_aggregation(phase);
  }

  // m becomes what the receiver decodes.
  void wire_trip(Message& m, ValueFormat format) {
    std::vector<std::byte> bytes;
    encode(m, format, bytes);
    Message decoded;
    decode(bytes, static_cast<std::uint32_t>(x_.size()), decoded);
    m = std::move(decoded);
  }

  HarnessConfig config_;
  std::unique_ptr<Method> method_;
  std::shared_ptr<const Compressor> compressor_;
  std::shared_ptr<const Compressor> down_;
  std::vector<std::unique_ptr<Problem>> problems_;
  std::vector<std::unique_ptr<GradientOracle>> oracles_;
  std::vector<std::unique_ptr<ClientMethod>> clients_;
  std::vector<Rng> rngs_;
  std::vector<Rng> sample_rngs_;
  std::vector<CompressorWorkspace> workspaces_;
  std::unique_ptr<ServerMethod> server_;
  std::unique_ptr<ModelReplica> replica_;
  Eigen::VectorXd x_;
  std::size_t senders_ = 0;
};

// Reference gradient written without the methods: grad f(x) = (1/n) sum_i grad f_i(x) for the
// harness's default problem (least squares, lambda = 0) on contiguous client blocks.
inline Eigen::VectorXd mean_gradient(const Dataset& data, std::size_t clients, const Eigen::VectorXd& x) {
  const auto factory = make_problem_factory("least_squares:lambda=0");
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(x.size());
  Eigen::VectorXd g(x.size());
  for (const auto& r : split_contiguous(data.rows(), clients)) {
    factory->make(data.slice(r.begin, r.end))->loss_and_gradient(x, g);
    sum += g;
  }
  return sum / static_cast<double>(clients);
}

}  // namespace ecco::testing
