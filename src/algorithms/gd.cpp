// gd — distributed gradient descent, uncompressed.
//   client i, round t: send grad f_i(x^t) (dense, at wire precision).
//   server: g^t = (1/n) sum_i m_i;  x^{t+1} = x^t - gamma g^t.
// Sends d values per client per round; the compressor is not used.
#include "algorithms/builtin.hpp"
#include "ecco/codec.hpp"

namespace ecco::detail {
namespace {

class GdClient final : public ClientMethod {
 public:
  void initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) override {
    step(x0, 0, env, out);
  }

  void step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) override {
    out.set_dense(env.oracle.gradient(x, t));
    round_to_wire(out, env.wire);
  }
};

class GdServer final : public MeanStepServer {
 public:
  using MeanStepServer::MeanStepServer;
  void end_aggregation(Phase /*phase*/) override { g_ = sum_ / clients_; }
};

class Gd final : public Method {
 public:
  std::string spec() const override { return "gd"; }
  bool uses_compressor() const override { return false; }
  double theory_alpha(const CompressorTraits& /*traits*/) const override { return 1.0; }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& /*setup*/) const override {
    return std::make_unique<GdClient>();
  }
  std::unique_ptr<ServerMethod> make_server(const MethodSetup& setup) const override {
    return std::make_unique<GdServer>(setup);
  }
};

}  // namespace

std::unique_ptr<Method> make_gd(const Spec& /*spec*/) { return std::make_unique<Gd>(); }

}  // namespace ecco::detail
