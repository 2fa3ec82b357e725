#pragma once
// Factories of the built-in methods and server state they share (private to src/algorithms).
#include <memory>

#include "ecco/algorithm.hpp"

namespace ecco::detail {

std::unique_ptr<Method> make_gd(const Spec& spec);
std::unique_ptr<Method> make_ef21(const Spec& spec);

// Server of methods whose model step is x <- x - gamma * g, where g is built from the
// mean of the decoded client messages. Subclasses decide how the mean updates g.
class MeanStepServer : public ServerMethod {
 public:
  explicit MeanStepServer(const MethodSetup& setup)
      : gamma_(setup.step_size),
        clients_(static_cast<double>(setup.clients)),
        g_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim))),
        sum_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(setup.dim))) {}

  void begin_aggregation() override { sum_.setZero(); }
  void accumulate(std::size_t /*client*/, const Message& message) override { message.add_to(sum_); }
  void advance_model(Eigen::Ref<Eigen::VectorXd> x) override { x.noalias() -= gamma_ * g_; }

 protected:
  double gamma_;
  double clients_;
  Eigen::VectorXd g_;    // the server's gradient estimate
  Eigen::VectorXd sum_;  // sum of this aggregation's messages, in client order
};

// Client initialisation shared by gd and ef21: send grad f_i(x^0) densely (at wire
// precision) and keep what was sent as g_i^0.
void send_initial_gradient(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out,
                           Eigen::VectorXd& state);

}  // namespace ecco::detail
