// lowrank (PowerSGD, one warm-started power iteration per call) against an independent
// reference: the first call projects the matrix view X onto the column space of X Q0, with
// Q0 the documented normal draws (column by column); the reference orthonormalises X Q0
// with Eigen's Householder QR. Repeated calls on the same x are a power iteration, so the
// error approaches the best rank-r error given by the SVD.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>

#include <Eigen/Core>
#include <Eigen/QR>
#include <Eigen/SVD>

#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"
#include "matrix_view.hpp"

namespace {

using ecco::CompressorWorkspace;
using ecco::Message;
using ecco::Rng;

using ecco::testing::matrix_view;
using ecco::testing::vector_view;

TEST(LowRank, FirstCallProjectsOnTheSpanOfXQ0) {
  Rng data(1);
  for (const auto& [d, rows, rank] : {std::tuple{100, 10, 2}, std::tuple{97, 7, 3}, std::tuple{50, 0, 1},
                                      std::tuple{12, 4, 4}, std::tuple{1, 0, 1}}) {
    Eigen::VectorXd x(d);
    for (Eigen::Index j = 0; j < d; ++j) x[j] = data.normal();
    const std::string spec = "lowrank:r=" + std::to_string(rank) + ",rows=" + std::to_string(rows);
    const auto c = ecco::make_compressor(spec);
    Rng rng(3);
    CompressorWorkspace ws;
    Message m;
    c->compress(x, rng, ws, m);
    const Eigen::Index m_rows = rows == 0 ? static_cast<Eigen::Index>(std::ceil(std::sqrt(static_cast<double>(d)))) : rows;
    const Eigen::MatrixXd X = matrix_view(x, m_rows);
    const Eigen::Index r = std::min<Eigen::Index>({rank, X.rows(), X.cols()});
    ASSERT_EQ(m.rows, static_cast<std::uint32_t>(X.rows())) << spec;
    ASSERT_EQ(m.cols, static_cast<std::uint32_t>(X.cols()));
    ASSERT_EQ(m.rank, static_cast<std::uint32_t>(r));
    Rng replay(3);
    Eigen::MatrixXd Q0(X.cols(), r);
    for (Eigen::Index col = 0; col < r; ++col) {
      for (Eigen::Index j = 0; j < X.cols(); ++j) Q0(j, col) = replay.normal();
    }
    const Eigen::MatrixXd XQ = X * Q0;
    const Eigen::MatrixXd basis = Eigen::HouseholderQR<Eigen::MatrixXd>(XQ).householderQ() * Eigen::MatrixXd::Identity(X.rows(), r);
    const Eigen::VectorXd expected = vector_view(basis * (basis.transpose() * X), d);
    Eigen::VectorXd got(d);
    m.assign_to(got);
    EXPECT_LE((got - expected).norm(), 1e-10 * x.norm()) << spec;
    EXPECT_LE((got - x).squaredNorm(), x.squaredNorm() * (1 + 1e-12));  // a projection never adds error
    // Bits: r (rows + cols) values at 32 bits.
    EXPECT_EQ(c->traits(static_cast<std::size_t>(d)).bits, 32.0 * static_cast<double>(r * (X.rows() + X.cols())));
  }
}

TEST(LowRank, WarmStartIsAPowerIterationTowardsTheBestRankR) {
  // X = U diag(10, 5, 1, 0.1, ...) V^T with a clear gap after rank 2.
  Rng data(2);
  const Eigen::Index rows = 20;
  const Eigen::Index cols = 15;
  Eigen::MatrixXd A(rows, cols);
  for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = data.normal();
  Eigen::JacobiSVD<Eigen::MatrixXd> svd0(A, Eigen::ComputeThinU | Eigen::ComputeThinV);
  Eigen::VectorXd sigma = Eigen::VectorXd::Constant(cols, 0.1);
  sigma[0] = 10.0;
  sigma[1] = 5.0;
  const Eigen::MatrixXd X = svd0.matrixU() * sigma.asDiagonal() * svd0.matrixV().transpose();
  const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(X.data(), X.size());
  const double best = sigma.tail(cols - 2).squaredNorm();  // Eckart-Young
  const auto c = ecco::make_compressor("lowrank:r=2,rows=20");
  Rng rng(4);
  CompressorWorkspace ws;
  Message m;
  double first = 0.0;
  for (int call = 0; call < 30; ++call) {
    c->compress(x, rng, ws, m);
    Eigen::VectorXd got(x.size());
    m.assign_to(got);
    const double err = (got - x).squaredNorm();
    if (call == 0) first = err;
    EXPECT_GE(err, best * (1 - 1e-9));
    if (call == 29) {
      EXPECT_NEAR(err, best, 1e-6 * best);
    }
  }
  EXPECT_GT(first, best);  // the first call was not already optimal
}

TEST(LowRank, ZeroAndRankDeficientInputs) {
  const auto c = ecco::make_compressor("lowrank:r=3,rows=4");
  Rng rng(1);
  CompressorWorkspace ws;
  Message m;
  c->compress(Eigen::VectorXd::Zero(16), rng, ws, m);
  Eigen::VectorXd out(16);
  m.assign_to(out);
  EXPECT_EQ(out, Eigen::VectorXd::Zero(16));
  // Rank one matrix with r = 3: recovered exactly, the extra columns of P vanish.
  Eigen::VectorXd u(4);
  u << 1, -2, 0.5, 3;
  Eigen::VectorXd v(4);
  v << 2, 1, -1, 0.25;
  const Eigen::MatrixXd X = u * v.transpose();
  const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(X.data(), 16);
  CompressorWorkspace fresh;
  c->compress(x, rng, fresh, m);
  m.assign_to(out);
  EXPECT_LE((out - x).norm(), 1e-12 * x.norm());
}

TEST(LowRank, SpecsAndTraits) {
  EXPECT_EQ(ecco::make_compressor("lowrank")->spec(), "lowrank:r=1,rows=0,factor=own");
  EXPECT_EQ(ecco::make_compressor("lowrank:factor=shared,r=3")->spec(), "lowrank:r=3,rows=0,factor=shared");
  const auto t = ecco::make_compressor("lowrank:r=4")->traits(10000);
  EXPECT_EQ(t.kind, ecco::CompressorClass::biased);
  EXPECT_EQ(t.bits, 32.0 * 4 * (100 + 100));
  EXPECT_TRUE(t.positively_homogeneous);
  for (const char* bad : {"lowrank:r=0", "lowrank:r=-1", "lowrank:r=1.5", "lowrank:rows=-3", "lowrank:cols=3",
                          "lowrank:factor=common", "lowrank:factor="}) {
    EXPECT_THROW(ecco::make_compressor(bad), ecco::ConfigError) << bad;
  }
}

}  // namespace
