// In the steady state of a training run (buffers already grown by earlier rounds), a round
// trip compress -> round_to_wire -> encode -> decode -> add_to allocates nothing, for every
// kind of compressor and codec, and per tensor (parts messages). The global operator new of
// this test binary counts allocations while armed.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"
#include "ecco/tensor_layout.hpp"

namespace {
std::atomic<bool> armed{false};
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (armed.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

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
      allocations = 0;
      armed = true;
      for (int r = 0; r < 5; ++r) round();
      armed = false;
      EXPECT_EQ(allocations.load(), 0) << spec << " " << ecco::to_string(format);
    }
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
      allocations = 0;
      armed = true;
      for (int r = 0; r < 5; ++r) round();
      armed = false;
      EXPECT_EQ(allocations.load(), 0) << spec << " per tensor, " << ecco::to_string(format);
    }
  }
}

}  // namespace
