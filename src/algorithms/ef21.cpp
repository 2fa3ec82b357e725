// ef21 — EF21 (Richtárik, Sokolov, Fatkhullin 2021), ALGORITHMS.md 1.3.
//   init:    g_i^0 = grad f_i(x^0), sent dense;   server g^0 = (1/n) sum_i g_i^0.
//   round t: server x^t = x^{t-1} - gamma g^{t-1};
//            client c_i = C(grad f_i(x^t) - g_i);  g_i <- g_i + c_i;  send c_i;
//            server g^t = g^{t-1} + (1/n) sum_i c_i.
// Sends what C sends (k values and indices per client per round for TopK). Needs a
// contractive C (alpha enters the theory step size).
#include "algorithms/builtin.hpp"
#include "ecco/codec.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

class Ef21Client final : public ClientMethod {
 public:
  explicit Ef21Client(std::size_t dim) : g_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(dim))), diff_(g_) {}

  void initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) override {
    send_initial_gradient(x0, env, out, g_);
  }

  void step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) override {
    diff_ = env.oracle.gradient(x, t) - g_;
    env.compressor.compress(diff_, env.rng, env.workspace, out);
    round_to_wire(out, env.wire);
    out.add_to(g_);
  }

 private:
  Eigen::VectorXd g_;     // g_i: this client's gradient estimate, mirrored by the server
  Eigen::VectorXd diff_;  // scratch: grad f_i(x^t) - g_i
};

class Ef21Server final : public MeanStepServer {
 public:
  using MeanStepServer::MeanStepServer;
  void end_aggregation(Phase phase) override {
    if (phase == Phase::initial) {
      g_ = sum_ / clients_;
    } else {
      g_ += sum_ / clients_;
    }
  }
};

class Ef21 final : public Method {
 public:
  std::string spec() const override { return "ef21"; }
  bool uses_compressor() const override { return true; }
  double theory_alpha(const CompressorTraits& traits) const override {
    if (traits.kind != CompressorClass::contractive) {
      throw ConfigError("algorithm 'ef21' needs a contractive compressor; this one is unbiased (omega = " +
                        std::to_string(traits.omega) + ")");
    }
    return traits.alpha;
  }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup) const override {
    return std::make_unique<Ef21Client>(setup.dim);
  }
  std::unique_ptr<ServerMethod> make_server(const MethodSetup& setup) const override {
    return std::make_unique<Ef21Server>(setup);
  }
};

}  // namespace

std::unique_ptr<Method> make_ef21(const Spec& /*spec*/) { return std::make_unique<Ef21>(); }

}  // namespace ecco::detail
