// The EF21 client shared by the EF21 family (ef21, ef21w, ef21_sgd, ef21_sgdm, ef21_page,
// ef21_pp, ef21_bc, ef21_hb):
//   init:    g_i^0 = scale * e_i(x^0) sent densely, or C(scale * e_i(x^0)) (init=compressed)
//   round t: if the client takes part: c_i = C(scale * e_i(x^t) - g_i); g_i += c_i; send c_i
// where e_i is the method's gradient estimator. Absent clients send nothing and keep g_i.
#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class Ef21Client final : public ClientMethod {
 public:
  Ef21Client(std::size_t dim, Ef21ClientOptions options)
      : options_(std::move(options)), g_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(dim))), work_(g_) {}

  bool initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) override {
    work_ = options_.scale * options_.estimator->initial(x0, env);
    compress_to_wire(work_, options_.init == InitialState::compressed, env, out);
    out.assign_to(g_);
    return true;
  }

  bool step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) override {
    if (options_.participation && !options_.participation->takes_part(env.client, t, env)) return false;
    work_ = options_.scale * options_.estimator->at(x, t, env) - g_;
    compress_to_wire(work_, true, env, out);
    out.add_to(g_);
    return true;
  }

  void state(StateIO& io) override {
    io.field("g", g_);
    io.begin("estimator");
    options_.estimator->state(io);
    io.end();
  }

 private:
  Ef21ClientOptions options_;
  Eigen::VectorXd g_;     // g_i, mirrored by the server
  Eigen::VectorXd work_;  // scratch
};

}  // namespace

std::unique_ptr<ClientMethod> make_ef21_client(std::size_t dim, Ef21ClientOptions options) {
  return std::make_unique<Ef21Client>(dim, std::move(options));
}

}  // namespace ecco::detail
