// Logistic problem: loss and gradient against math and central finite differences;
// smoothness against a dense eigen-solver and against its defining inequality.
#include <cmath>
#include <numbers>

#include <Eigen/Eigenvalues>
#include <gtest/gtest.h>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/rng.hpp"

namespace {

ecco::Dataset small_data(std::size_t rows, std::size_t dim, std::uint64_t seed) {
  ecco::SyntheticClassification gen;
  gen.rows = rows;
  gen.dim = dim;
  gen.density = 0.5;
  gen.seed = seed;
  return ecco::make_synthetic_classification(gen);
}

Eigen::VectorXd random_vector(Eigen::Index d, std::uint64_t seed, double scale) {
  ecco::Rng rng(seed);
  Eigen::VectorXd x(d);
  for (Eigen::Index j = 0; j < d; ++j) x[j] = scale * rng.normal();
  return x;
}

// Reference loss written from ALGORITHMS.md 1.13 with dense matrices.
double reference_loss(const ecco::Dataset& data, double lambda, const Eigen::VectorXd& x) {
  const Eigen::MatrixXd a(data.features);
  double sum = 0.0;
  for (Eigen::Index j = 0; j < a.rows(); ++j) {
    sum += std::log(1.0 + std::exp(-data.labels[j] * a.row(j).dot(x)));
  }
  double reg = 0.0;
  for (Eigen::Index k = 0; k < x.size(); ++k) reg += x[k] * x[k] / (1.0 + x[k] * x[k]);
  return sum / static_cast<double>(a.rows()) + lambda * reg;
}

double dense_max_eigenvalue(const ecco::SparseRows& a) {
  const Eigen::MatrixXd dense(a);
  const Eigen::MatrixXd gram = dense.transpose() * dense;
  return Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(gram).eigenvalues().maxCoeff();
}

}  // namespace

TEST(Logistic, LossAtZeroIsLogTwo) {
  const auto factory = ecco::make_problem_factory("logistic:lambda=0.1");
  const auto problem = factory->make(small_data(40, 6, 1));
  EXPECT_NEAR(problem->loss(Eigen::VectorXd::Zero(6)), std::numbers::ln2, 1e-15);
}

TEST(Logistic, LossMatchesDenseReference) {
  const auto data = small_data(50, 7, 2);
  const auto factory = ecco::make_problem_factory("logistic:lambda=0.3");
  const auto problem = factory->make(data);
  for (std::uint64_t s = 0; s < 5; ++s) {
    const Eigen::VectorXd x = random_vector(7, 100 + s, 2.0);
    EXPECT_NEAR(problem->loss(x), reference_loss(data, 0.3, x), 1e-12);
    Eigen::VectorXd g(7);
    EXPECT_NEAR(problem->loss_and_gradient(x, g), reference_loss(data, 0.3, x), 1e-12);
  }
}

TEST(Logistic, GradientMatchesCentralFiniteDifferences) {
  const auto data = small_data(60, 9, 3);
  for (const char* spec : {"logistic:lambda=0", "logistic:lambda=0.1", "logistic:lambda=2"}) {
    const auto problem = ecco::make_problem_factory(spec)->make(data);
    for (std::uint64_t s = 0; s < 4; ++s) {
      const Eigen::VectorXd x = random_vector(9, 7 + s, 1.5);
      Eigen::VectorXd g(9);
      problem->loss_and_gradient(x, g);
      const double h = 1e-6;
      for (Eigen::Index k = 0; k < x.size(); ++k) {
        Eigen::VectorXd plus = x;
        Eigen::VectorXd minus = x;
        plus[k] += h;
        minus[k] -= h;
        const double fd = (problem->loss(plus) - problem->loss(minus)) / (2 * h);
        EXPECT_NEAR(g[k], fd, 1e-7 * std::max(1.0, std::fabs(fd))) << spec << " coordinate " << k;
      }
    }
  }
}

TEST(Logistic, HugeMarginsStayFinite) {
  const auto problem = ecco::make_problem_factory("logistic:lambda=0.1")->make(small_data(30, 5, 4));
  const Eigen::VectorXd x = Eigen::VectorXd::Constant(5, 1e4);
  Eigen::VectorXd g(5);
  const double loss = problem->loss_and_gradient(x, g);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_TRUE(g.allFinite());
}

TEST(Spectral, DenseAndPowerIterationMatchDenseSolver) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const auto data = small_data(40, 12, seed);
    const double expected = dense_max_eigenvalue(data.features);
    EXPECT_NEAR(ecco::max_eigenvalue_gram(data.features), expected, 1e-10 * expected);
    // dense_limit 0 forces the power-iteration path.
    EXPECT_NEAR(ecco::max_eigenvalue_gram(data.features, 0), expected, 1e-8 * expected);
  }
}

TEST(Spectral, KnownDiagonalMatrix) {
  // A = diag(3, 1, 2) (as rows): A^T A = diag(9, 1, 4).
  ecco::SparseRows a(3, 3);
  a.insert(0, 0) = 3.0;
  a.insert(1, 1) = 1.0;
  a.insert(2, 2) = 2.0;
  a.makeCompressed();
  EXPECT_DOUBLE_EQ(ecco::max_eigenvalue_gram(a), 9.0);
  EXPECT_NEAR(ecco::max_eigenvalue_gram(a, 0), 9.0, 1e-9);
}

TEST(Logistic, SmoothnessFollowsFormula) {
  const auto data = small_data(45, 8, 9);
  const double lambda = 0.25;
  const auto factory = ecco::make_problem_factory("logistic:lambda=0.25");
  const double expected = dense_max_eigenvalue(data.features) / (4.0 * 45.0) + 2.0 * lambda;
  EXPECT_NEAR(factory->smoothness_of(data), expected, 1e-12);
  EXPECT_NEAR(factory->make(data)->smoothness(), expected, 1e-12);
}

TEST(Logistic, SmoothnessBoundsGradientDifferences) {
  const auto data = small_data(80, 10, 11);
  const auto problem = ecco::make_problem_factory("logistic:lambda=0.1")->make(data);
  const double L = problem->smoothness();
  Eigen::VectorXd gx(10);
  Eigen::VectorXd gy(10);
  for (std::uint64_t s = 0; s < 50; ++s) {
    const Eigen::VectorXd x = random_vector(10, 1000 + s, 1.0);
    const Eigen::VectorXd y = x + random_vector(10, 2000 + s, 0.1);
    problem->loss_and_gradient(x, gx);
    problem->loss_and_gradient(y, gy);
    EXPECT_LE((gx - gy).norm(), L * (x - y).norm() * (1 + 1e-12));
  }
}

TEST(Logistic, RejectsNonBinaryLabelsAndBadSpecs) {
  auto data = small_data(10, 3, 5);
  data.labels[3] = 2.0;
  EXPECT_THROW(ecco::make_problem_factory("logistic")->make(data), ecco::DataError);
  EXPECT_THROW(ecco::make_problem_factory("logistic:lambda=-1"), ecco::ConfigError);
  EXPECT_THROW(ecco::make_problem_factory("logistic:lambda=x"), ecco::ConfigError);
  EXPECT_THROW(ecco::make_problem_factory("logistic:mu=1"), ecco::ConfigError);
  EXPECT_THROW(ecco::make_problem_factory("lasso"), ecco::ConfigError);
}
