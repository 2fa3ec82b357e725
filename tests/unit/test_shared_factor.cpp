// lowrank:factor=shared and its SharedFactor against independent references: the
// compressor is the projection P P^T X with A = X^T P and S = X Q (computed here with plain
// Eigen products); the update is orthonormalise(sum w_i S_i), checked through its projector
// against Eigen's Householder QR, and the unit-norm columns of sum w_i A_i; repeated rounds on
// one matrix approach the best rank-r error from the SVD (a power iteration); the wire
// carries A and S only, at the offsets of docs/wire-format.md, and the decoder needs the
// factor of the same shape and version.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/QR>
#include <Eigen/SVD>

#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"
#include "ecco/shared_factor.hpp"
#include "ecco/tensor_layout.hpp"
#include "matrix_view.hpp"

namespace {

using ecco::Layout;
using ecco::Message;
using ecco::Rng;
using ecco::SharedFactor;

using ecco::testing::matrix_view;
using ecco::testing::vector_view;

Eigen::VectorXd random_vector(Eigen::Index d, std::uint64_t seed) {
  Rng rng(seed);
  Eigen::VectorXd x(d);
  for (Eigen::Index j = 0; j < d; ++j) x[j] = rng.normal();
  return x;
}

Eigen::MatrixXd projector(const Eigen::MatrixXd& basis) { return basis * basis.transpose(); }

// The blocks of a shared_lowrank message: P, A, S.
struct Blocks {
  Eigen::MatrixXd p, a, s;
};

Blocks blocks_of(const Message& m) {
  const auto rows = static_cast<Eigen::Index>(m.rows);
  const auto cols = static_cast<Eigen::Index>(m.cols);
  const auto rank = static_cast<Eigen::Index>(m.rank);
  const double* v = m.values.data();
  return {Eigen::Map<const Eigen::MatrixXd>(v, rows, rank),
          Eigen::Map<const Eigen::MatrixXd>(v + rows * rank, cols, rank),
          Eigen::Map<const Eigen::MatrixXd>(v + rows * rank + cols * rank, rows, rank)};
}

struct Fixture {
  std::unique_ptr<ecco::Compressor> compressor;
  std::unique_ptr<SharedFactor> factor;
  ecco::CompressorWorkspace workspace;
  Rng rng{7};

  Fixture(const std::string& spec, std::size_t dim, std::uint64_t seed = 11) : compressor(ecco::make_compressor(spec)) {
    Rng factor_rng(seed);
    factor = compressor->make_shared_factor(dim, factor_rng);
    workspace.shared_factor = factor.get();
  }
  Message compress(const Eigen::VectorXd& x) {
    Message m;
    compressor->compress(x, rng, workspace, m);
    return m;
  }
};

TEST(SharedFactor, StartsOrthonormalFromTheSeed) {
  Rng a(5), b(5), seed6(6);
  const SharedFactor f(1000, 40, 3, a), same(1000, 40, 3, b), other(1000, 40, 3, seed6);
  EXPECT_EQ(f.cols(), 25U);
  EXPECT_EQ(f.version(), 0U);
  EXPECT_LE((f.p().transpose() * f.p() - Eigen::MatrixXd::Identity(3, 3)).cwiseAbs().maxCoeff(), 1e-12);
  for (Eigen::Index c = 0; c < 3; ++c) EXPECT_NEAR(f.q().col(c).norm(), 1.0, 1e-12);
  EXPECT_EQ(std::memcmp(f.p().data(), same.p().data(), sizeof(double) * 40 * 3), 0);
  EXPECT_EQ(std::memcmp(f.q().data(), same.q().data(), sizeof(double) * 25 * 3), 0);
  EXPECT_NE(std::memcmp(f.p().data(), other.p().data(), sizeof(double) * 40 * 3), 0);
  Rng r(1);
  EXPECT_THROW(SharedFactor(10, 0, 1, r), std::invalid_argument);
  EXPECT_THROW(SharedFactor(10, 11, 1, r), std::invalid_argument);
  EXPECT_THROW(SharedFactor(10, 5, 3, r), std::invalid_argument);  // cols = 2 < rank
}

TEST(SharedFactor, CompressorProjectsOnTheSharedFactor) {
  const Eigen::Index d = 997;  // rows = 32, cols = 32, the last column padded
  Fixture fx("lowrank:r=3,factor=shared", static_cast<std::size_t>(d));
  const Eigen::VectorXd x = random_vector(d, 3);
  const Message m = fx.compress(x);
  ASSERT_EQ(m.layout, Layout::shared_lowrank);
  EXPECT_EQ(m.rows, 32U);
  EXPECT_EQ(m.cols, 32U);
  EXPECT_EQ(m.rank, 3U);
  EXPECT_EQ(m.factor_version, 0U);
  ASSERT_EQ(m.values.size(), 3U * (2 * 32 + 32));
  const Eigen::MatrixXd X = matrix_view(x, 32);
  const Eigen::MatrixXd P = fx.factor->p();
  const Eigen::MatrixXd Q = fx.factor->q();
  const Blocks b = blocks_of(m);
  EXPECT_EQ(b.p, P);  // P travels as the factor has it, bit for bit
  EXPECT_LE((b.a - X.transpose() * P).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LE((b.s - X * Q).cwiseAbs().maxCoeff(), 1e-12);
  // The vector the message stands for: P P^T X, the projection of X's columns on span(P).
  Eigen::VectorXd decoded(d);
  m.assign_to(decoded);
  const Eigen::VectorXd expected = vector_view(projector(P) * X, d);
  EXPECT_LE((decoded - expected).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LE((decoded - x).norm(), x.norm());
  // Linear: the message of x + 2y is the message of x plus twice that of y (A and S).
  const Eigen::VectorXd y = random_vector(d, 4);
  const Message my = fx.compress(y);
  const Message mxy = fx.compress(x + 2.0 * y);
  for (std::size_t k = 32 * 3; k < m.values.size(); ++k) {
    EXPECT_NEAR(mxy.values[k], m.values[k] + 2.0 * my.values[k], 1e-11) << k;
  }
  const auto t = fx.compressor->traits(static_cast<std::size_t>(d));
  EXPECT_EQ(t.kind, ecco::CompressorClass::biased);
  EXPECT_EQ(t.bits, 32.0 * 3 * (32 + 32));
  EXPECT_TRUE(fx.compressor->summable());
  EXPECT_FALSE(fx.compressor->common_stream());
}

TEST(SharedFactor, UpdateIsTheWeightedPowerStep) {
  const Eigen::Index d = 600;  // rows 25, cols 24
  Fixture fx("lowrank:r=2,factor=shared", static_cast<std::size_t>(d));
  const double w[3] = {0.5, 0.25, 1.5};
  std::vector<Message> messages;
  Eigen::MatrixXd sum_s = Eigen::MatrixXd::Zero(25, 2);
  Eigen::MatrixXd sum_a = Eigen::MatrixXd::Zero(24, 2);
  for (int i = 0; i < 3; ++i) {
    const Eigen::MatrixXd X = matrix_view(random_vector(d, 20 + static_cast<std::uint64_t>(i)), 25);
    messages.push_back(fx.compress(Eigen::Map<const Eigen::VectorXd>(X.data(), d)));
    sum_s += w[i] * X * fx.factor->q();
    sum_a += w[i] * X.transpose() * fx.factor->p();
  }
  fx.factor->begin();
  for (int i = 0; i < 3; ++i) fx.factor->add(messages[static_cast<std::size_t>(i)], w[i]);
  fx.factor->commit();
  EXPECT_EQ(fx.factor->version(), 1U);
  // P spans the columns of sum S (same projector as a Householder QR's thin Q), orthonormal.
  const Eigen::MatrixXd thin = Eigen::HouseholderQR<Eigen::MatrixXd>(sum_s).householderQ() * Eigen::MatrixXd::Identity(25, 2);
  EXPECT_LE((projector(fx.factor->p()) - projector(thin)).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_LE((fx.factor->p().transpose() * fx.factor->p() - Eigen::MatrixXd::Identity(2, 2)).cwiseAbs().maxCoeff(), 1e-12);
  // Gram-Schmidt keeps the first column's direction: P(:, 0) = S(:, 0) / ||S(:, 0)||.
  EXPECT_LE((fx.factor->p().col(0) - sum_s.col(0).normalized()).cwiseAbs().maxCoeff(), 1e-12);
  for (Eigen::Index c = 0; c < 2; ++c) {
    EXPECT_LE((fx.factor->q().col(c) - sum_a.col(c).normalized()).cwiseAbs().maxCoeff(), 1e-12);
  }
  // A message made with the old version is refused; commit without add changes nothing.
  EXPECT_THROW(fx.factor->add(messages[0], 1.0), std::invalid_argument);
  const Eigen::MatrixXd before = fx.factor->p();
  fx.factor->begin();
  fx.factor->commit();
  EXPECT_EQ(fx.factor->version(), 1U);
  EXPECT_EQ(fx.factor->p(), before);
  Message dense;
  dense.set_dense(Eigen::VectorXd::Ones(d));
  EXPECT_THROW(fx.factor->add(dense, 1.0), std::invalid_argument);
}

TEST(SharedFactor, ZeroMessagesKeepTheFactors) {
  Fixture fx("lowrank:r=2,factor=shared", 100);
  const Eigen::MatrixXd p = fx.factor->p();
  const Eigen::MatrixXd q = fx.factor->q();
  const Message m = fx.compress(Eigen::VectorXd::Zero(100));
  fx.factor->begin();
  fx.factor->add(m, 1.0);
  fx.factor->commit();
  EXPECT_EQ(fx.factor->version(), 1U);
  EXPECT_EQ(fx.factor->p(), p);
  EXPECT_EQ(fx.factor->q(), q);
}

// The same x every round, the factor updated from its message: P's span converges to the
// top-r left singular space, and the projection's error to the best rank-r error.
TEST(SharedFactor, RepeatedRoundsApproachTheBestRankR) {
  const Eigen::Index rows = 30, cols = 20, d = rows * cols;
  Rng rng(9);
  Eigen::MatrixXd U(rows, 3), V(cols, 3);
  for (Eigen::Index k = 0; k < U.size(); ++k) U.data()[k] = rng.normal();
  for (Eigen::Index k = 0; k < V.size(); ++k) V.data()[k] = rng.normal();
  Eigen::MatrixXd X = U * Eigen::Vector3d(10.0, 5.0, 1.0).asDiagonal() * V.transpose();
  for (Eigen::Index k = 0; k < X.size(); ++k) X.data()[k] += 0.01 * rng.normal();
  const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(X.data(), d);
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(X);
  const Eigen::VectorXd sigma = svd.singularValues();
  const double best = std::sqrt(sigma.tail(sigma.size() - 2).squaredNorm());
  Fixture fx("lowrank:r=2,rows=30,factor=shared", static_cast<std::size_t>(d));
  double error = 0.0;
  for (int round = 0; round < 40; ++round) {
    const Message m = fx.compress(x);
    Eigen::VectorXd c(d);
    m.assign_to(c);
    error = (c - x).norm();
    fx.factor->begin();
    fx.factor->add(m, 1.0);
    fx.factor->commit();
  }
  EXPECT_LE(error, best * (1.0 + 1e-6));
  EXPECT_GE(error, best * (1.0 - 1e-9));
}

TEST(SharedFactor, WireCarriesAAndSAndNeedsTheFactor) {
  const std::uint32_t d = 500;  // rows 23, cols 22
  Fixture fx("lowrank:r=2,factor=shared", d);
  Message m = fx.compress(random_vector(d, 8) * 1e-3);
  // round_to_wire rounds A and S to fp32 and leaves P (which does not travel) as it is.
  const Eigen::MatrixXd p = fx.factor->p();
  ecco::round_to_wire(m, ecco::ValueFormat::fp32);
  EXPECT_EQ(blocks_of(m).p, p);
  for (std::size_t k = 23 * 2; k < m.values.size(); ++k) {
    EXPECT_EQ(static_cast<double>(static_cast<float>(m.values[k])), m.values[k]) << k;
  }
  std::vector<std::byte> bytes;
  const ecco::EncodedSize size = ecco::encode(m, ecco::ValueFormat::fp32, bytes);
  const std::size_t travelling = 2 * (23 + 22);
  EXPECT_EQ(size.header, 20U + 20U);
  EXPECT_EQ(size.value, 4 * travelling);
  ASSERT_EQ(bytes.size(), 40 + 4 * travelling);
  EXPECT_EQ(static_cast<int>(bytes[5]), 5);  // layout shared_lowrank
  EXPECT_EQ(static_cast<int>(bytes[6]), 1);  // fp32
  const auto u32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (int b = 0; b < 4; ++b) v |= static_cast<std::uint32_t>(bytes[at + static_cast<std::size_t>(b)]) << (8 * b);
    return v;
  };
  EXPECT_EQ(u32(12), travelling);  // count: the values on the wire
  EXPECT_EQ(u32(20), 23U);
  EXPECT_EQ(u32(24), 22U);
  EXPECT_EQ(u32(28), 2U);
  EXPECT_EQ(u32(32), 0U);  // factor version, low and high words
  EXPECT_EQ(u32(36), 0U);
  float first_a = 0.0f;
  std::memcpy(&first_a, bytes.data() + 40, 4);  // A(0, 0) first: P does not travel
  EXPECT_EQ(static_cast<double>(first_a), m.values[23 * 2]);

  Message out;
  ecco::decode(bytes, d, fx.factor.get(), out);
  ASSERT_EQ(out.layout, Layout::shared_lowrank);
  EXPECT_EQ(out.values, m.values);
  EXPECT_EQ(out.factor_version, 0U);

  const auto expect_error = [&](std::span<const std::byte> b, const SharedFactor* f, const std::string& needle) {
    try {
      Message sink;
      ecco::decode(b, d, f, sink);
      ADD_FAILURE() << "expected DecodeError: " << needle;
    } catch (const ecco::DecodeError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(bytes, nullptr, "this receiver has no shared factor");
  expect_error(std::span(bytes).first(bytes.size() - 1), fx.factor.get(), "does not match its header");
  Rng other_rng(3);
  const SharedFactor other_shape(d, 23, 1, other_rng);
  expect_error(bytes, &other_shape, "does not fit the shared factor");
  fx.factor->begin();
  fx.factor->add(m, 1.0);
  fx.factor->commit();
  expect_error(bytes, fx.factor.get(), "made with factor version 0, this receiver has 1");
}

TEST(SharedFactor, RefusedWhereNoFactorCanBeShared) {
  const auto compressor = ecco::make_compressor("lowrank:r=2,factor=shared");
  ecco::CompressorWorkspace ws;
  Rng rng(1);
  Message m;
  try {
    compressor->compress(Eigen::VectorXd::Ones(100), rng, ws, m);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ecco::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("needs the run's shared factor for dimension 100"), std::string::npos)
        << e.what();
  }
  Rng factor_rng(1);
  EXPECT_EQ(ecco::make_compressor("lowrank:r=2")->make_shared_factor(100, factor_rng), nullptr);
  EXPECT_EQ(ecco::make_compressor("topk:k=2")->make_shared_factor(100, factor_rng), nullptr);
  const ecco::TensorLayout layout{{.name = "w", .offset = 0, .rows = 10, .cols = 10}};
  try {
    ecco::make_tensorwise_compressor("lowrank:r=2,factor=shared", layout, 0);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ecco::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("factor=shared is not available with --granularity tensor"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
