// In the steady state of a training run (buffers already grown by earlier rounds), a round
// trip compress -> round_to_wire -> encode -> decode -> add_to allocates nothing, for every
// kind of compressor and codec, and per tensor (parts messages); neither do the
// classification models' gradients and losses, nor the allreduce sum of a round's messages
// and the metrics fold (in-process transport; tests/mpi/test_mpi_no_allocation.cpp has the
// MPI transport). tests/allocation_counter.hpp counts operator new, and malloc (what Eigen
// allocates with) on glibc without AddressSanitizer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/dataset.hpp"
#include "ecco/message.hpp"
#include "ecco/problem.hpp"
#include "ecco/rng.hpp"
#include "ecco/tensor_layout.hpp"
#include "train/message_sum.hpp"
#include "train/transports.hpp"
#include "allocation_counter.hpp"

namespace {

TEST(NoAllocation, SteadyStateRoundTripOfEveryKind) {
  const std::vector<std::string> specs = {
      "identity", "topk:k=0.01", "topk:k=7", "randk:k=0.01", "randk:k=0.2,scaled=true,shared_seed=true",
      "randk:k=5", "bernoulli:p=0.5", "natural", "qsgd:s=16", "qsgd:s=3,norm=inf", "natural_dithering:s=6",
      "terngrad", "sign", "onebit", "lowrank:r=3", "topk:k=0.01+qsgd:s=8", "randk:k=0.1+sign",
      "contractive(qsgd:s=4)", "contractive(topk:k=0.05+natural)", "contractive(randk:k=9,scaled=true)"};
  const Eigen::Index d = 100000;
  ecco::Rng data(1);
  Eigen::VectorXd x(d);
  for (Eigen::Index j = 0; j < d; ++j) x[j] = data.normal();
  for (const ecco::ValueFormat format : {ecco::ValueFormat::fp32, ecco::ValueFormat::bf16}) {
    for (const std::string& spec : specs) {
      const auto compressor = ecco::make_compressor(spec);
      ecco::Rng rng(2);
      ecco::CompressorWorkspace workspace;
      ecco::Message client;
      ecco::Message server;
      std::vector<std::byte> bytes;
      Eigen::VectorXd y = Eigen::VectorXd::Zero(d);
      const auto round = [&] {
        compressor->compress(x, rng, workspace, client);
        ecco::round_to_wire(client, format);
        bytes.clear();
        ecco::encode(client, format, bytes);
        ecco::decode(bytes, static_cast<std::uint32_t>(d), server);
        server.add_to(y, 0.5);
      };
      // Grow every buffer: the random sizes (bernoulli, the TopK candidates) need a few rounds.
      for (int warm = 0; warm < 8; ++warm) round();
      ecco::test::arm_allocation_counter();
      for (int r = 0; r < 5; ++r) round();
      EXPECT_EQ(ecco::test::disarm_allocation_counter().operator_new, 0) << spec << " " << ecco::to_string(format);
    }
  }
}

// softmax and mlp on 200 features and 10 classes (hidden 160x160: products large enough
// that Eigen would take its packing buffers from the heap if they were not tiled).
TEST(NoAllocation, SteadyStateModelGradientsAndLosses) {
  if (!ecco::test::malloc_is_counted()) GTEST_SKIP() << "malloc is not counted in this build (AddressSanitizer)";
  const Eigen::Index rows = 300;
  const Eigen::Index dim = 200;
  ecco::Rng data_rng(3);
  Eigen::MatrixXd a(rows, dim);
  Eigen::VectorXd labels(rows);
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = 0; c < dim; ++c) a(r, c) = data_rng.uniform();
    labels[r] = static_cast<double>(r % 10);
  }
  ecco::Dataset data;
  data.features = a.sparseView();
  data.labels = labels;
  data.source = "no-allocation";
  std::vector<std::uint32_t> all(static_cast<std::size_t>(rows));
  for (std::size_t r = 0; r < all.size(); ++r) all[r] = static_cast<std::uint32_t>(r);
  for (const std::string spec : {"softmax", "mlp:hidden=160x160", "mlp:hidden=160x160,act=tanh,lambda=0.01"}) {
    const auto factory = ecco::make_problem_factory(spec);
    factory->prepare(data);
    const auto problem = factory->make(data);
    Eigen::VectorXd x(static_cast<Eigen::Index>(problem->dim()));
    for (Eigen::Index j = 0; j < x.size(); ++j) x[j] = 0.05 * data_rng.normal();
    Eigen::VectorXd grad(x.size());
    std::vector<std::uint32_t> batch(64);
    ecco::Rng batch_rng(4);
    const auto draw = [&] {
      for (std::uint32_t& j : batch) j = static_cast<std::uint32_t>(batch_rng.uniform_index(all.size()));
    };
    double sink = 0.0;
    const auto work = [&] {
      draw();
      sink += problem->batch_gradient(x, batch, grad);
      sink += problem->loss(x);
      sink += problem->loss_and_gradient(x, grad);
      sink += static_cast<double>(problem->correct(x).value_or(0));
      sink += problem->batch_gradient(x, all, grad);  // two chunks
    };
    work();  // grows the scratch buffers
    ecco::test::arm_allocation_counter();
    work();
    const ecco::test::AllocationCount count = ecco::test::disarm_allocation_counter();
    EXPECT_EQ(count.operator_new, 0) << spec;
    EXPECT_EQ(count.malloc, 0) << spec;
    EXPECT_TRUE(std::isfinite(sink)) << spec;
  }
}

// Per-tensor compression: a parts message whose parts grow once (compressor output, the
// server's decoded parts, the per-tensor workspaces) and are then reused.
TEST(NoAllocation, SteadyStateRoundTripPerTensor) {
  const ecco::TensorLayout layout = {{"w1", 0, 200, 300},      {"b1", 60000, 200, 1}, {"w2", 60200, 100, 300},
                                     {"b2", 90200, 100, 1},    {"emb", 90300, 97, 100}};
  const std::vector<std::string> specs = {"topk:k=0.01", "lowrank:r=2", "randk:k=0.01,shared_seed=true",
                                          "topk:k=0.01+qsgd:s=8", "contractive(qsgd:s=4)", "bernoulli:p=0.5",
                                          "identity", "sign"};
  const Eigen::Index d = 100000;
  ecco::Rng data(3);
  Eigen::VectorXd x(d);
  for (Eigen::Index j = 0; j < d; ++j) x[j] = data.normal();
  for (const ecco::ValueFormat format : {ecco::ValueFormat::fp32, ecco::ValueFormat::bf16}) {
    for (const std::string& spec : specs) {
      const auto compressor = ecco::make_tensorwise_compressor(spec, layout, 1000);
      ecco::Rng rng(4);
      ecco::CompressorWorkspace workspace;
      ecco::Message client;
      ecco::Message server;
      std::vector<std::byte> bytes;
      Eigen::VectorXd y = Eigen::VectorXd::Zero(d);
      const auto round = [&] {
        compressor->compress(x, rng, workspace, client);
        ecco::round_to_wire(client, format);
        bytes.clear();
        ecco::encode(client, format, bytes);
        ecco::decode(bytes, static_cast<std::uint32_t>(d), server);
        server.add_to(y, 0.5);
      };
      for (int warm = 0; warm < 8; ++warm) round();
      ecco::test::arm_allocation_counter();
      for (int r = 0; r < 5; ++r) round();
      EXPECT_EQ(ecco::test::disarm_allocation_counter().operator_new, 0) << spec << " per tensor, " << ecco::to_string(format);
    }
  }
}

}  // namespace

namespace {

// Rounds of --aggregation allreduce on one process: three clients' messages summed, then
// reduced, with each kind of summable message and both wire formats.
TEST(NoAllocation, SteadyStateAllreduceSumAndMetricsFold) {
  const Eigen::Index d = 20000;
  ecco::Rng data(3);
  Eigen::VectorXd x(d);
  for (Eigen::Index j = 0; j < d; ++j) x[j] = data.normal();
  ecco::detail::SerialTransport transport;
  for (const ecco::ValueFormat format : {ecco::ValueFormat::fp32, ecco::ValueFormat::fp64}) {
    for (const char* spec : {"identity", "randk:k=0.01,coords=common"}) {
      const auto compressor = ecco::make_compressor(spec);
      ecco::detail::MessageSum sum(static_cast<std::uint32_t>(d), format);
      std::vector<ecco::Rng> streams(3, ecco::Rng(4));  // a common stream, one copy per client
      ecco::CompressorWorkspace workspace;
      ecco::Message message;
      ecco::Message total;
      Eigen::VectorXd acc(d + 2);
      Eigen::VectorXd g = Eigen::VectorXd::Zero(d);
      std::int64_t t = 0;
      const auto round = [&] {
        sum.begin(t++);
        for (std::size_t i = 0; i < streams.size(); ++i) {
          compressor->compress(x, streams[i], workspace, message);
          ecco::round_to_wire(message, format);
          sum.add(i, message, 0.5 + static_cast<double>(i));
        }
        ASSERT_TRUE(sum.reduce(transport, total));
        total.add_to(g);
        transport.ordered_fold(acc, streams.size(), [&](std::size_t k, Eigen::Ref<Eigen::VectorXd> term) {
          term.head(d) = x * static_cast<double>(k);
          term[d] = 1.0;
          term[d + 1] = static_cast<double>(k);
        });
      };
      for (int warm = 0; warm < 3; ++warm) round();
      ecco::test::arm_allocation_counter();
      for (int r = 0; r < 5; ++r) round();
      const ecco::test::AllocationCount count = ecco::test::disarm_allocation_counter();
      EXPECT_EQ(count.operator_new, 0) << spec << " " << ecco::to_string(format);
      EXPECT_EQ(count.malloc, 0) << spec << " " << ecco::to_string(format);  // 0 where not counted
      EXPECT_EQ(sum.senders(), 3U);
    }
  }
}


// lowrank:factor=shared: three clients' messages through the wire (gather mode) or through
// MessageSum (allreduce), and the factor's update, round after round.
TEST(NoAllocation, SteadyStateSharedFactorRounds) {
  const Eigen::Index d = 20000;
  ecco::Rng data(5);
  Eigen::VectorXd x(d);
  for (Eigen::Index j = 0; j < d; ++j) x[j] = data.normal();
  ecco::detail::SerialTransport transport;
  for (const bool summed : {false, true}) {
    const auto compressor = ecco::make_compressor("lowrank:r=4,factor=shared");
    ecco::Rng factor_rng(6);
    const auto factor = compressor->make_shared_factor(static_cast<std::size_t>(d), factor_rng);
    ecco::detail::MessageSum sum(static_cast<std::uint32_t>(d), ecco::ValueFormat::fp32, factor.get());
    ecco::CompressorWorkspace workspace;
    workspace.shared_factor = factor.get();
    ecco::Rng rng(7);
    ecco::Message message;
    ecco::Message received;
    std::vector<std::byte> bytes;
    Eigen::VectorXd g = Eigen::VectorXd::Zero(d);
    Eigen::VectorXd input(d);
    std::int64_t t = 0;
    const auto round = [&] {
      if (summed) sum.begin(t);
      factor->begin();
      for (std::size_t i = 0; i < 3; ++i) {
        input = x * static_cast<double>(i + 1) + g;
        compressor->compress(input, rng, workspace, message);
        ecco::round_to_wire(message, ecco::ValueFormat::fp32);
        if (summed) {
          sum.add(i, message, 0.25);
        } else {
          bytes.clear();
          ecco::encode(message, ecco::ValueFormat::fp32, bytes);
          ecco::decode(bytes, static_cast<std::uint32_t>(d), factor.get(), received);
          received.add_to(g, 0.25);
          factor->add(received, 0.25);
        }
      }
      if (summed) {
        ASSERT_TRUE(sum.reduce(transport, received));
        received.add_to(g);
        factor->add(received, 1.0);
      }
      factor->commit();
      ++t;
    };
    for (int warm = 0; warm < 3; ++warm) round();
    ecco::test::arm_allocation_counter();
    for (int r = 0; r < 5; ++r) round();
    const ecco::test::AllocationCount count = ecco::test::disarm_allocation_counter();
    EXPECT_EQ(count.operator_new, 0) << (summed ? "allreduce" : "gather");
    EXPECT_EQ(count.malloc, 0) << (summed ? "allreduce" : "gather");  // 0 where not counted
    EXPECT_EQ(factor->version(), 8U);
  }
}

}  // namespace
