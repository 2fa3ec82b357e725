// ef21_plus — EF21+ (Richtárik, Sokolov, Fatkhullin 2021, ALGORITHMS.md 1.3): each client
// computes both the EF21 candidate g_i + C(grad f_i(x^t) - g_i) and the plain C(grad f_i(x^t)),
// and keeps the one closer to grad f_i(x^t) (ties: EF21's).
//   init:    g_i^0 = grad f_i(x^0) sent densely (as EF21).
//   round t: m = C(grad - g_i), b = C(grad) (both at wire precision);
//            if ||g_i + m - grad|| <= ||b - grad||: g_i += m, send m with tag "add";
//            else g_i = b, send b with tag "replace".
//   server:  keeps every g_i (n x d doubles on the server); add: g_i += m; replace: g_i = b;
//            g^t = (1/n) sum_i g_i, kept up to date by the changes; x^{t+1} = x^t - gamma g^t.
// Sends what C sends plus the one-byte message tag. Theory step: the EF21 rule.
#include <vector>

#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

constexpr std::uint8_t kAdd = 1;
constexpr std::uint8_t kReplace = 2;

class Ef21PlusClient final : public ClientMethod {
 public:
  explicit Ef21PlusClient(std::size_t dim)
      : g_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(dim))), work_(g_), candidate_(g_) {}

  bool initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) override {
    compress_to_wire(env.objective.gradient(x0, 0), false, env, out);
    out.assign_to(g_);
    out.tag = kAdd;
    return true;
  }

  bool step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) override {
    const Eigen::VectorXd& grad = env.objective.gradient(x, t);
    work_ = grad - g_;
    compress_to_wire(work_, true, env, out);  // m
    candidate_ = g_;
    out.add_to(candidate_);
    const double ef21_error = (candidate_ - grad).squaredNorm();
    compress_to_wire(grad, true, env, plain_);  // b
    candidate_.setZero();
    plain_.add_to(candidate_);
    const double plain_error = (candidate_ - grad).squaredNorm();
    if (ef21_error <= plain_error) {
      out.add_to(g_);
      out.tag = kAdd;
    } else {
      g_ = candidate_;
      std::swap(out, plain_);
      out.tag = kReplace;
    }
    return true;
  }
  void state(StateIO& io) override { io.field("g", g_); }

 private:
  Eigen::VectorXd g_;
  Eigen::VectorXd work_;
  Eigen::VectorXd candidate_;
  Message plain_;
};

class Ef21PlusServer final : public ServerMethod {
 public:
  explicit Ef21PlusServer(const MethodSetup& setup)
      : schedule_(setup.schedule),
        clients_(static_cast<double>(setup.clients)),
        states_(static_cast<Eigen::Index>(setup.dim), static_cast<Eigen::Index>(setup.clients)),
        g_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim))),
        change_(g_),
        next_(g_) {
    states_.setZero();
  }

  void begin_aggregation() override { change_.setZero(); }

  void accumulate(std::size_t client, const Message& message) override {
    auto state = states_.col(static_cast<Eigen::Index>(client));
    if (message.tag == kReplace) {
      change_ -= state;
      message.assign_to(state);
      change_ += state;
    } else if (message.tag == kAdd) {
      message.add_to(state);
      message.add_to(change_);
    } else {
      throw DecodeError("ef21_plus: message of client " + std::to_string(client) + " has tag " +
                        std::to_string(message.tag) + " (expected 1 = add or 2 = replace)");
    }
  }

  void end_aggregation(Phase /*phase*/) override { g_ += change_ / clients_; }

  ValueFormat make_downlink(Eigen::Ref<const Eigen::VectorXd> x, Message& out) override {
    next_ = x - schedule_.at(updates_++) * g_;
    out.set_dense(next_);
    return ValueFormat::fp64;
  }
  void state(StateIO& io) override {
    io.field("updates", updates_);
    io.field("client_states", states_);
    io.field("g", g_);
  }

 private:
  StepSchedule schedule_;
  std::int64_t updates_ = 0;
  double clients_;
  Eigen::MatrixXd states_;  // column i: the server's copy of g_i
  Eigen::VectorXd g_;
  Eigen::VectorXd change_;
  Eigen::VectorXd next_;
};

class Ef21Plus final : public Ef21FamilyMethod {
 public:
  Ef21Plus() : Ef21FamilyMethod("ef21_plus") {}
  std::string spec() const override { return "ef21_plus"; }
  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    return std::make_unique<Ef21PlusClient>(setup.dim);
  }
  // The server keeps every client's state and steps along their mean, not a mean step.
  bool supports_delta_downlink() const override { return false; }
  bool supports_summed_aggregation() const override { return false; }
  // Each message's tag (add or replace) applies to all its coordinates.
  bool supports_sharded_aggregation() const override { return false; }
  bool compresses_one_vector() const override { return false; }
  std::unique_ptr<ServerMethod> make_server(const MethodSetup& setup) const override {
    return std::make_unique<Ef21PlusServer>(setup);
  }
  std::unique_ptr<ModelReplica> make_replica(const MethodSetup& setup) const override {
    return Method::make_replica(setup);
  }
};

}  // namespace

std::unique_ptr<Method> make_ef21_plus(const Spec& /*spec*/) { return std::make_unique<Ef21Plus>(); }

}  // namespace ecco::detail
