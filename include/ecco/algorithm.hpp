#pragma once
// Methods (gd, ef21, ...): the client-side and server-side state of one optimisation
// method, with no knowledge of MPI. The round, in order:
//
//   server:  advance_model(x)                 x^{t} = x^{t-1} - (step of the method)
//   (x is sent to every client)
//   client:  step(x, t, env, out)            updates its own state, writes its message
//   server:  begin_aggregation(); accumulate(i, m_i) for i = 0..n-1 in client order;
//            end_aggregation(Phase::round)
//
// Before round 1 every client runs initialize() at x^0 and the server aggregates those
// messages with Phase::initial. A client must apply to its own state exactly the message
// the server decodes: it calls round_to_wire(out, env.wire) before using out.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <Eigen/Core>

#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/message.hpp"
#include "ecco/oracle.hpp"
#include "ecco/rng.hpp"
#include "ecco/spec.hpp"

namespace ecco {

// What a client's method state works with in one call.
struct ClientEnv {
  std::size_t client = 0;
  GradientOracle& oracle;
  const Compressor& compressor;
  Rng& rng;
  CompressorWorkspace& workspace;
  ValueFormat wire = ValueFormat::fp32;
};

class ClientMethod {
 public:
  virtual ~ClientMethod() = default;
  // The message sent before round 1, at x^0 (version 0).
  virtual void initialize(Eigen::Ref<const Eigen::VectorXd> x0, ClientEnv& env, Message& out) = 0;
  // The message of round t >= 1, at the model x^t.
  virtual void step(Eigen::Ref<const Eigen::VectorXd> x, std::int64_t t, ClientEnv& env, Message& out) = 0;
};

enum class Phase { initial, round };

class ServerMethod {
 public:
  virtual ~ServerMethod() = default;
  virtual void begin_aggregation() = 0;
  // Called once per client, in client order, with the decoded message.
  virtual void accumulate(std::size_t client, const Message& message) = 0;
  virtual void end_aggregation(Phase phase) = 0;
  // x^{t-1} -> x^t.
  virtual void advance_model(Eigen::Ref<Eigen::VectorXd> x) = 0;
};

struct MethodSetup {
  std::size_t dim = 0;
  std::size_t clients = 0;
  double step_size = 0.0;  // gamma
};

class Method {
 public:
  virtual ~Method() = default;
  // Canonical spec, e.g. "ef21".
  virtual std::string spec() const = 0;
  // False for methods that send uncompressed vectors (gd): --compressor is not used.
  virtual bool uses_compressor() const = 0;
  // The contraction parameter the theory step size uses for this method and compressor;
  // ConfigError if the method cannot run with the compressor (e.g. EF21 needs a
  // contractive one).
  virtual double theory_alpha(const CompressorTraits& traits) const = 0;
  virtual std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup) const = 0;
  virtual std::unique_ptr<ServerMethod> make_server(const MethodSetup& setup) const = 0;
};

std::unique_ptr<Method> make_method(std::string_view spec_text);
std::span<const SpecEntry> method_table();

}  // namespace ecco
