// ef21_bc — EF21-BC, bidirectional compression (EF21-BW, ALGORITHMS.md 1.7).
//   clients: EF21 with the uplink compressor C_w on their states g~_i (init: grad f_i(x^0)).
//   server:  g~^t = (1/n) sum_i g~_i^t  (= g~^{t-1} + mean c_i);
//            b^t = C_M(g~^t - g^{t-1});  g^t = g^{t-1} + b^t;  broadcast only b^t.
//   every process: g^t = g^{t-1} + b^t;  x^{t+1} = x^t - gamma g^t.
// The first downlink is g~^0 itself, dense (g starts at 0). C_M is --down-compressor
// (default identity: then EF21-BC is EF21). Downlink values travel at --wire precision and
// are counted in bits_down. Theory step: the EF21 rule with the uplink alpha, as the
// reference code.
#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class BcServer final : public ServerMethod {
 public:
  explicit BcServer(const MethodSetup& setup)
      : wire_(setup.wire),
        clients_(static_cast<double>(setup.clients)),
        compressor_(*setup.down_compressor),
        rng_(derive_seed(setup.seed, kNoClient, SeedPurpose::compressor)),
        tracked_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim))),
        g_(tracked_),
        sum_(tracked_),
        diff_(tracked_) {}

  void begin_aggregation() override { sum_.setZero(); }
  void accumulate(std::size_t /*client*/, const Message& message) override { message.add_to(sum_); }
  void end_aggregation(Phase phase) override {
    if (phase == Phase::initial) {
      tracked_ = sum_ / clients_;
    } else {
      tracked_ += sum_ / clients_;
    }
  }

  ValueFormat make_downlink(Eigen::Ref<const Eigen::VectorXd> /*x*/, Message& out) override {
    diff_ = tracked_ - g_;
    if (first_) {
      out.set_dense(diff_);
      first_ = false;
    } else {
      compressor_.compress(diff_, rng_, workspace_, out);
    }
    round_to_wire(out, wire_);
    out.add_to(g_);
    return wire_;
  }
  void state(StateIO& io) override {
    rng_.state(io);
    workspace_state(workspace_, io);
    io.field("tracked", tracked_);
    io.field("g", g_);
    io.field("first", first_);
  }

 private:
  ValueFormat wire_;
  double clients_;
  const Compressor& compressor_;
  Rng rng_;
  CompressorWorkspace workspace_;
  Eigen::VectorXd tracked_;  // g~: mean of the clients' states
  Eigen::VectorXd g_;        // the broadcast estimate, as every replica holds it
  Eigen::VectorXd sum_;
  Eigen::VectorXd diff_;
  bool first_ = true;
};

class BcReplica final : public ModelReplica {
 public:
  explicit BcReplica(const MethodSetup& setup)
      : schedule_(setup.schedule), g_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim))) {}
  void apply_downlink(const Message& downlink, Eigen::Ref<Eigen::VectorXd> x) override {
    downlink.add_to(g_);
    x -= schedule_.at(updates_++) * g_;
  }
  void state(StateIO& io) override {
    io.field("updates", updates_);
    io.field("g", g_);
  }

 private:
  StepSchedule schedule_;
  std::int64_t updates_ = 0;
  Eigen::VectorXd g_;
};

class Ef21Bc final : public Ef21FamilyMethod {
 public:
  Ef21Bc() : Ef21FamilyMethod("ef21_bc") {}
  std::string spec() const override { return "ef21_bc"; }
  bool uses_down_compressor() const override { return true; }
  // Its downlink is already the compressed change b^t of g (--down-compressor).
  bool supports_delta_downlink() const override { return false; }
  bool supports_summed_aggregation() const override { return false; }
  // The downlink compressor (TopK, say) looks at every coordinate at once.
  bool supports_sharded_aggregation() const override { return false; }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    Ef21ClientOptions options;
    options.estimator = make_full_gradient();
    return make_ef21_client(setup.dim, std::move(options));
  }
  std::unique_ptr<ServerMethod> make_server(const MethodSetup& setup) const override {
    return std::make_unique<BcServer>(setup);
  }
  std::unique_ptr<ModelReplica> make_replica(const MethodSetup& setup) const override {
    return std::make_unique<BcReplica>(setup);
  }
};

}  // namespace

std::unique_ptr<Method> make_ef21_bc(const Spec& /*spec*/) { return std::make_unique<Ef21Bc>(); }

}  // namespace ecco::detail
