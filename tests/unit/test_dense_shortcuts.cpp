// The copy-free path of dense rounds under --aggregation allreduce against the Message path
// it replaces, bit for bit:
//  * MessageSum::add_dense(v) == MessageSum::add(round_to_wire(dense message of v));
//  * ServerMethod::accumulate_dense_sum + step_model_in_place == accumulate_sum of the dense
//    message + make_downlink + the replica's apply_downlink, for the mean-step rules
//    (replace, accumulate, momentum, weights) over several rounds;
//  * the gd / sgd clients' dense_message is the estimate their Message carries.
// Inputs include negative zeros, subnormals and values that round to fp32 ties, where a
// shortcut that skipped an operation (0 + 1 * s, the division by n) would change bits.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ecco/algorithm.hpp"
#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/rng.hpp"
#include "train/message_sum.hpp"
#include "train/transports.hpp"

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Values with awkward bits: -0.0, +0.0, a subnormal, a value halfway between two floats,
// and Gaussian values over several decades.
Eigen::VectorXd awkward_vector(Eigen::Index d, std::uint64_t seed) {
  ecco::Rng rng(seed);
  Eigen::VectorXd v(d);
  for (Eigen::Index j = 0; j < d; ++j) v[j] = rng.normal() * std::pow(10.0, static_cast<double>(j % 7) - 3.0);
  v[0] = -0.0;
  v[1] = 0.0;
  v[2] = std::numeric_limits<double>::denorm_min();
  v[3] = 1.0 + 0x1p-24;  // halfway between 1 and the next float: ties to even
  v[4] = -1e-40;         // below fp32's normal range
  return v;
}

void expect_same_sum(const ecco::detail::MessageSum& a, const ecco::detail::MessageSum& b, bool fp32) {
  ASSERT_TRUE(a.is_dense());
  ASSERT_TRUE(b.is_dense());
  ASSERT_EQ(a.senders(), b.senders());
  if (fp32) {
    const auto x = a.dense_fp32();
    const auto y = b.dense_fp32();
    ASSERT_EQ(x.size(), y.size());
    for (std::size_t k = 0; k < x.size(); ++k) EXPECT_EQ(std::memcmp(&x[k], &y[k], sizeof(float)), 0) << k;
  } else {
    const auto x = a.dense_fp64();
    const auto y = b.dense_fp64();
    ASSERT_EQ(x.size(), y.size());
    for (std::size_t k = 0; k < x.size(); ++k) EXPECT_TRUE(same_bits(x[k], y[k])) << k;
  }
}

}  // namespace

TEST(DenseShortcuts, AddDenseEqualsAddOfTheRoundedMessage) {
  const Eigen::Index d = 1000;
  ecco::detail::SerialTransport transport;
  for (const ecco::ValueFormat wire : {ecco::ValueFormat::fp32, ecco::ValueFormat::fp64}) {
    for (const std::size_t clients : {std::size_t{1}, std::size_t{3}}) {
      SCOPED_TRACE(std::string(ecco::to_string(wire)) + ", " + std::to_string(clients) + " clients");
      ecco::detail::MessageSum shortcut(static_cast<std::uint32_t>(d), wire, nullptr, clients);
      ecco::detail::MessageSum message_path(static_cast<std::uint32_t>(d), wire, nullptr, clients);
      for (std::int64_t t = 0; t < 3; ++t) {
        shortcut.begin(t);
        message_path.begin(t);
        for (std::size_t i = 0; i < clients; ++i) {
          const Eigen::VectorXd v = awkward_vector(d, 10 * static_cast<std::uint64_t>(t) + i);
          const double weight = 0.3 + static_cast<double>(i);
          shortcut.add_dense(i, v, weight);
          ecco::Message m;
          m.set_dense(v);
          ecco::round_to_wire(m, wire);
          message_path.add(i, m, weight);
        }
        ASSERT_TRUE(shortcut.reduce_in_place(transport));
        ASSERT_TRUE(message_path.reduce_in_place(transport));
        expect_same_sum(shortcut, message_path, wire == ecco::ValueFormat::fp32);
        // materialise gives the Message the old reduce(transport, out) gave.
        ecco::Message total;
        shortcut.materialise(total);
        ASSERT_EQ(total.layout, ecco::Layout::dense);
        ASSERT_EQ(total.values.size(), static_cast<std::size_t>(d));
      }
    }
  }
}

TEST(DenseShortcuts, AddDenseRefusesWhatRoundToWireRefuses) {
  const Eigen::Index d = 50;
  for (const std::size_t clients : {std::size_t{1}, std::size_t{2}}) {
    for (const double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), 1e39}) {
      ecco::detail::MessageSum sum(static_cast<std::uint32_t>(d), ecco::ValueFormat::fp32, nullptr, clients);
      sum.begin(1);
      Eigen::VectorXd v = Eigen::VectorXd::Ones(d);
      v[17] = bad;
      ecco::Message m;
      m.set_dense(v);
      std::string expected;
      try {
        ecco::round_to_wire(m, ecco::ValueFormat::fp32);
      } catch (const ecco::NumericError& e) {
        expected = e.what();
      }
      ASSERT_FALSE(expected.empty()) << bad;
      try {
        sum.add_dense(0, v, 1.0);
        ADD_FAILURE() << "no error for " << bad;
      } catch (const ecco::NumericError& e) {
        EXPECT_EQ(std::string(e.what()), expected);
      }
    }
  }
}

namespace {

// `rounds` aggregations of the same dense sums through both server paths; the models must
// stay bit-identical. spec: a mean-step method.
void expect_server_paths_agree(const char* spec, bool weighted, bool fp32) {
  SCOPED_TRACE(std::string(spec) + (fp32 ? " fp32" : " fp64") + (weighted ? " weighted" : ""));
  const Eigen::Index d = 777;
  const auto method = ecco::make_method(spec);
  ecco::MethodSetup setup;
  setup.dim = static_cast<std::size_t>(d);
  setup.clients = 5;
  setup.schedule = ecco::StepSchedule::parse("cosine:warmup=2,final=0.1", 0.37, 12);
  if (weighted) setup.smoothness = {1.0, 2.0, 3.5, 0.25, 7.0};
  const auto message_server = method->make_server(setup);
  const auto shortcut_server = method->make_server(setup);
  const auto replica = method->make_replica(setup);
  Eigen::VectorXd x_message = awkward_vector(d, 99);
  Eigen::VectorXd x_shortcut = x_message;
  ecco::Message down;
  for (std::int64_t t = 0; t < 12; ++t) {
    const ecco::Phase phase = t == 0 ? ecco::Phase::initial : ecco::Phase::round;
    if (t > 0) {
      ASSERT_EQ(message_server->make_downlink(x_message, down), ecco::ValueFormat::fp64);
      replica->apply_downlink(down, x_message);
      ASSERT_TRUE(shortcut_server->step_model_in_place(x_shortcut));
    }
    const Eigen::VectorXd s = awkward_vector(d, 1000 + static_cast<std::uint64_t>(t));
    std::vector<float> s32(static_cast<std::size_t>(d));
    std::vector<double> s64(static_cast<std::size_t>(d));
    for (Eigen::Index j = 0; j < d; ++j) {
      s32[static_cast<std::size_t>(j)] = static_cast<float>(s[j]);
      s64[static_cast<std::size_t>(j)] = fp32 ? static_cast<double>(s32[static_cast<std::size_t>(j)]) : s[j];
    }
    ecco::Message sum;
    sum.set_dense(Eigen::Map<const Eigen::VectorXd>(s64.data(), d));
    message_server->begin_aggregation();
    message_server->accumulate_sum(sum);
    message_server->end_aggregation(phase);
    shortcut_server->begin_aggregation();
    if (fp32) {
      shortcut_server->accumulate_dense_sum(std::span<const float>(s32));
    } else {
      shortcut_server->accumulate_dense_sum(std::span<const double>(s64));
    }
    shortcut_server->end_aggregation(phase);
  }
  for (Eigen::Index j = 0; j < d; ++j) {
    ASSERT_TRUE(same_bits(x_message[j], x_shortcut[j])) << "coordinate " << j << ": " << x_message[j] << " vs "
                                                        << x_shortcut[j];
  }
  EXPECT_NE(x_message, awkward_vector(d, 99));  // the model moved
}

}  // namespace

TEST(DenseShortcuts, FusedServerStepEqualsTheMessagePath) {
  for (const bool fp32 : {true, false}) {
    expect_server_paths_agree("gd", false, fp32);                       // replace
    expect_server_paths_agree("sgd:batch=4,momentum=0.9", false, fp32);  // replace + momentum
    expect_server_paths_agree("ef21", false, fp32);                     // accumulate
    expect_server_paths_agree("ef21_hb:eta=0.4", false, fp32);          // accumulate + momentum
    expect_server_paths_agree("ef21w", true, fp32);                     // weighted: no division by n
  }
}

TEST(DenseShortcuts, DeltaDownlinkHasNoInPlaceStep) {
  const auto method = ecco::make_method("gd");
  ecco::MethodSetup setup;
  setup.dim = 3;
  setup.clients = 1;
  setup.schedule = ecco::StepSchedule::constant(0.1);
  setup.delta_downlink = true;
  const auto server = method->make_server(setup);
  Eigen::VectorXd x = Eigen::VectorXd::Ones(3);
  EXPECT_FALSE(server->step_model_in_place(x));
  EXPECT_EQ(x, Eigen::VectorXd::Ones(3));
}

TEST(DenseShortcuts, ServersWithoutTheShortcutKeepTheDefault) {
  const auto method = ecco::make_method("ef21_bc");
  ecco::MethodSetup setup;
  setup.dim = 3;
  setup.clients = 1;
  setup.schedule = ecco::StepSchedule::constant(0.1);
  const auto identity = ecco::make_compressor("identity");
  setup.down_compressor = identity.get();
  const auto server = method->make_server(setup);
  Eigen::VectorXd x = Eigen::VectorXd::Ones(3);
  EXPECT_FALSE(server->step_model_in_place(x));
}
