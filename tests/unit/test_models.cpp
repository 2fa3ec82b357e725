// Classification models: softmax regression and the fully connected network (mlp).
// Losses against a naive per-sample reference written here (loops over samples, layers and
// units, never the code under test), gradients against central finite differences, the
// class mapping of arbitrary label values, starting points, tensor layouts, accuracy
// counts, the smoothness bound of softmax and the typed errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/rng.hpp"
#include "ecco/tensor_layout.hpp"

namespace {

Eigen::Index idx(std::size_t i) { return static_cast<Eigen::Index>(i); }

// ---------------------------------------------------------------------------------------
// Test data

ecco::Dataset from_dense(const Eigen::MatrixXd& a, const Eigen::VectorXd& labels, const std::string& source = "test") {
  ecco::Dataset data;
  data.features = a.sparseView();
  data.features.makeCompressed();
  data.labels = labels;
  data.source = source;
  return data;
}

// Rows with about 30% zero features and normal values otherwise; the first rows take every
// label value once (so that every class is present), later rows a random one.
ecco::Dataset class_data(std::size_t rows, std::size_t dim, const std::vector<double>& labels, std::uint64_t seed) {
  ecco::Rng rng(seed);
  Eigen::MatrixXd a(idx(rows), idx(dim));
  Eigen::VectorXd y(idx(rows));
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    for (Eigen::Index c = 0; c < a.cols(); ++c) a(r, c) = rng.uniform() < 0.3 ? 0.0 : rng.normal();
    const std::size_t pick = static_cast<std::size_t>(r) < labels.size() ? static_cast<std::size_t>(r)
                                                                          : rng.uniform_index(labels.size());
    y[r] = labels[pick];
  }
  return from_dense(a, y, "models-test");
}

Eigen::VectorXd random_vector(std::size_t d, std::uint64_t seed, double scale) {
  ecco::Rng rng(seed);
  Eigen::VectorXd x(idx(d));
  for (Eigen::Index j = 0; j < x.size(); ++j) x[j] = scale * rng.normal();
  return x;
}

std::unique_ptr<ecco::ProblemFactory> prepared(const std::string& spec, const ecco::Dataset& train) {
  auto factory = ecco::make_problem_factory(spec);
  factory->prepare(train);
  return factory;
}

// ---------------------------------------------------------------------------------------
// Naive reference, written from the problem's definition:
//   z_l = W_l h_{l-1} + b_l, h_l = act(z_l) for hidden layers, logits z_L,
//   l_j = log sum_c exp(z_c) - z_y,  f = mean of l_j + (lambda/2) ||x||^2,
// x = per layer W (out x in, column-major: W(i, k) = x[offset + i + out k]) then b.

struct Reference {
  std::vector<std::size_t> widths;  // d_in, hidden widths, C
  bool tanh = false;
  double lambda = 0.0;
  Eigen::MatrixXd a;            // N x d_in (dense)
  std::vector<std::size_t> y;   // class indices: position of the label among the sorted distinct training labels
};

Reference reference(const ecco::Dataset& data, std::vector<std::size_t> hidden, bool tanh, double lambda) {
  Reference ref;
  ref.a = Eigen::MatrixXd(data.features.toDense());
  const std::set<double> sorted(data.labels.data(), data.labels.data() + data.labels.size());
  ref.widths.push_back(data.dim());
  ref.widths.insert(ref.widths.end(), hidden.begin(), hidden.end());
  ref.widths.push_back(sorted.size());
  ref.tanh = tanh;
  ref.lambda = lambda;
  for (Eigen::Index j = 0; j < data.labels.size(); ++j) {
    ref.y.push_back(static_cast<std::size_t>(std::distance(sorted.begin(), sorted.find(data.labels[j]))));
  }
  return ref;
}

std::size_t reference_dim(const Reference& ref) {
  std::size_t d = 0;
  for (std::size_t l = 1; l < ref.widths.size(); ++l) d += ref.widths[l] * ref.widths[l - 1] + ref.widths[l];
  return d;
}

// Logits of row j; the smallest |z| of a hidden pre-activation is folded into *min_hidden.
std::vector<double> reference_logits(const Reference& ref, const Eigen::VectorXd& x, Eigen::Index j,
                                     double* min_hidden = nullptr) {
  std::vector<double> h(ref.widths[0]);
  for (std::size_t k = 0; k < h.size(); ++k) h[k] = ref.a(j, idx(k));
  std::size_t offset = 0;
  for (std::size_t l = 1; l < ref.widths.size(); ++l) {
    const std::size_t in = ref.widths[l - 1];
    const std::size_t out = ref.widths[l];
    std::vector<double> z(out);
    for (std::size_t i = 0; i < out; ++i) {
      double s = x[idx(offset + out * in + i)];
      for (std::size_t k = 0; k < in; ++k) s += x[idx(offset + i + out * k)] * h[k];
      z[i] = s;
    }
    offset += out * in + out;
    if (l + 1 == ref.widths.size()) return z;
    for (std::size_t i = 0; i < out; ++i) {
      if (min_hidden != nullptr) *min_hidden = std::min(*min_hidden, std::fabs(z[i]));
      z[i] = ref.tanh ? std::tanh(z[i]) : std::max(0.0, z[i]);
    }
    h = z;
  }
  return h;
}

double reference_row_loss(const Reference& ref, const Eigen::VectorXd& x, Eigen::Index j) {
  const std::vector<double> z = reference_logits(ref, x, j);
  double s = 0.0;
  for (const double v : z) s += std::exp(v);
  return std::log(s) - z[ref.y[static_cast<std::size_t>(j)]];
}

// (1/|B|) sum_{j in B} l_j + (lambda/2) ||x||^2.
double reference_loss(const Reference& ref, const Eigen::VectorXd& x, const std::vector<std::uint32_t>& rows) {
  double sum = 0.0;
  for (const std::uint32_t j : rows) sum += reference_row_loss(ref, x, static_cast<Eigen::Index>(j));
  return sum / static_cast<double>(rows.size()) + 0.5 * ref.lambda * x.squaredNorm();
}

std::vector<std::uint32_t> all_rows(std::size_t n) {
  std::vector<std::uint32_t> rows(n);
  std::iota(rows.begin(), rows.end(), 0U);
  return rows;
}

// Smallest |z| over all hidden pre-activations of all rows.
double min_hidden_preactivation(const Reference& ref, const Eigen::VectorXd& x) {
  double m = INFINITY;
  for (Eigen::Index j = 0; j < ref.a.rows(); ++j) reference_logits(ref, x, j, &m);
  return m;
}

// Rows whose largest logit (first one on ties) is their class.
std::size_t reference_correct(const Reference& ref, const Eigen::VectorXd& x) {
  std::size_t right = 0;
  for (Eigen::Index j = 0; j < ref.a.rows(); ++j) {
    const std::vector<double> z = reference_logits(ref, x, j);
    std::size_t best = 0;
    for (std::size_t c = 1; c < z.size(); ++c) {
      if (z[c] > z[best]) best = c;
    }
    if (best == ref.y[static_cast<std::size_t>(j)]) ++right;
  }
  return right;
}

// Central differences of a scalar function on every coordinate.
template <class F>
Eigen::VectorXd finite_differences(F&& f, const Eigen::VectorXd& x, double h) {
  Eigen::VectorXd g(x.size());
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    Eigen::VectorXd plus = x;
    Eigen::VectorXd minus = x;
    plus[k] += h;
    minus[k] -= h;
    g[k] = (f(plus) - f(minus)) / (2.0 * h);
  }
  return g;
}

// Step and tolerance of the finite-difference checks. With h = 1e-5 the central difference
// has a truncation error h^2 |f'''| / 6 ~ 2e-11 |f'''| (|f'''| is O(10) at most for these
// small nets with O(1) inputs and weights) and a rounding error ~ eps |f| / h ~ 1e-10 for
// losses of O(1..5): 1e-7 (relative above 1) leaves a wide margin while an error in any
// single term of a gradient (of O(1e-3..1)) would show.
constexpr double kStep = 1e-5;
double tolerance(double value) { return 1e-7 * std::max(1.0, std::fabs(value)); }

// The relu reference is not differentiable where a pre-activation is 0: finite differences
// are only valid when every |z| is well above the change a step of kStep can make (at most
// kStep times an input or activation of O(1..10), so 1e-3 is ample).
constexpr double kKinkMargin = 1e-3;

const std::vector<double> kLabels3 = {9.0, 2.0, 5.0};        // classes 2 < 5 < 9
const std::vector<double> kLabels4 = {-1.0, 10.0, 0.5, 3.0};  // classes -1 < 0.5 < 3 < 10

struct Case {
  std::string spec;
  std::vector<std::size_t> hidden;
  bool tanh;
  double lambda;
  const std::vector<double>* labels;
};

std::vector<Case> cases() {
  return {
      {"softmax:lambda=0", {}, false, 0.0, &kLabels3},
      {"softmax:lambda=0.3", {}, false, 0.3, &kLabels4},
      {"mlp:hidden=5x4,act=relu,init_seed=2,lambda=0", {5, 4}, false, 0.0, &kLabels3},
      {"mlp:hidden=5x4,act=tanh,init_seed=2,lambda=0.1", {5, 4}, true, 0.1, &kLabels4},
      {"mlp:hidden=6,act=relu,init_seed=5,lambda=0.05", {6}, false, 0.05, &kLabels4},
  };
}

// A test point: for relu nets, the first of a few seeds whose pre-activations are all at
// least kKinkMargin away from 0.
Eigen::VectorXd test_point(const Reference& ref, std::uint64_t seed) {
  for (std::uint64_t s = seed; s < seed + 50; ++s) {
    Eigen::VectorXd x = random_vector(reference_dim(ref), s, 0.6);
    if (ref.tanh || ref.widths.size() == 2 || min_hidden_preactivation(ref, x) > kKinkMargin) return x;
  }
  ADD_FAILURE() << "no test point away from the relu kinks";
  return Eigen::VectorXd::Zero(idx(reference_dim(ref)));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Losses and gradients

TEST(Models, LossMatchesNaiveReference) {
  for (const Case& c : cases()) {
    const ecco::Dataset data = class_data(40, 7, *c.labels, 1);
    const Reference ref = reference(data, c.hidden, c.tanh, c.lambda);
    const auto problem = prepared(c.spec, data)->make(data);
    ASSERT_EQ(problem->dim(), reference_dim(ref)) << c.spec;
    ASSERT_EQ(problem->rows(), 40U);
    for (std::uint64_t s = 0; s < 3; ++s) {
      const Eigen::VectorXd x = test_point(ref, 10 + 7 * s);
      const double expected = reference_loss(ref, x, all_rows(40));
      EXPECT_NEAR(problem->loss(x), expected, 1e-12 * std::max(1.0, expected)) << c.spec;
    }
  }
}

TEST(Models, LossOfLossAndGradientIsLoss) {
  for (const Case& c : cases()) {
    const ecco::Dataset data = class_data(40, 7, *c.labels, 2);
    const Reference ref = reference(data, c.hidden, c.tanh, c.lambda);
    const auto problem = prepared(c.spec, data)->make(data);
    const Eigen::VectorXd x = test_point(ref, 3);
    Eigen::VectorXd g(x.size());
    // Same computation in the same order: equal, not just close.
    EXPECT_EQ(problem->loss_and_gradient(x, g), problem->loss(x)) << c.spec;
  }
}

TEST(Models, GradientMatchesCentralFiniteDifferencesOnEveryCoordinate) {
  for (const Case& c : cases()) {
    const ecco::Dataset data = class_data(40, 7, *c.labels, 3);
    const Reference ref = reference(data, c.hidden, c.tanh, c.lambda);
    const auto problem = prepared(c.spec, data)->make(data);
    for (std::uint64_t s = 0; s < 2; ++s) {
      const Eigen::VectorXd x = test_point(ref, 100 + 13 * s);
      Eigen::VectorXd g(x.size());
      problem->loss_and_gradient(x, g);
      const Eigen::VectorXd fd = finite_differences([&](const Eigen::VectorXd& p) { return problem->loss(p); }, x, kStep);
      for (Eigen::Index k = 0; k < x.size(); ++k) {
        EXPECT_NEAR(g[k], fd[k], tolerance(fd[k])) << c.spec << " coordinate " << k;
      }
    }
  }
}

TEST(Models, BatchGradientMatchesFiniteDifferencesOfTheReferenceMinibatchLoss) {
  const std::vector<std::uint32_t> batch = {3, 0, 17, 3, 39, 22, 8};  // row 3 twice: it counts twice
  for (const Case& c : cases()) {
    const ecco::Dataset data = class_data(40, 7, *c.labels, 4);
    const Reference ref = reference(data, c.hidden, c.tanh, c.lambda);
    const auto problem = prepared(c.spec, data)->make(data);
    const Eigen::VectorXd x = test_point(ref, 200);
    Eigen::VectorXd g(x.size());
    const double loss = problem->batch_gradient(x, batch, g);
    const double expected = reference_loss(ref, x, batch);
    EXPECT_NEAR(loss, expected, 1e-12 * std::max(1.0, expected)) << c.spec;
    const Eigen::VectorXd fd =
        finite_differences([&](const Eigen::VectorXd& p) { return reference_loss(ref, p, batch); }, x, kStep);
    for (Eigen::Index k = 0; k < x.size(); ++k) {
      EXPECT_NEAR(g[k], fd[k], tolerance(fd[k])) << c.spec << " coordinate " << k;
    }
  }
}

// --precision fp32: the same network in float arithmetic. Against the fp64 reference the
// loss and every gradient coordinate agree to float accuracy (the errors of ~10 float
// operations per value, relative 2^-24 each, on values of O(1..10)); and the arithmetic
// really is float: the loss differs from the fp64 one.
TEST(Models, Fp32MatchesTheReferenceToFloatAccuracy) {
  const std::vector<std::uint32_t> batch = {3, 0, 17, 3, 39, 22, 8};
  bool any_differs = false;
  for (const Case& c : cases()) {
    const ecco::Dataset data = class_data(40, 7, *c.labels, 5);
    const Reference ref = reference(data, c.hidden, c.tanh, c.lambda);
    auto factory = ecco::make_problem_factory(c.spec);
    EXPECT_EQ(factory->preferred_precision(), ecco::ComputePrecision::fp32) << c.spec;
    factory->set_precision(ecco::ComputePrecision::fp32);
    factory->prepare(data);
    const auto single = factory->make(data);
    const auto exact = prepared(c.spec, data)->make(data);
    const Eigen::VectorXd x = test_point(ref, 300);
    const double expected = reference_loss(ref, x, all_rows(40));
    const double loss = single->loss(x);
    EXPECT_NEAR(loss, expected, 1e-5 * std::max(1.0, expected)) << c.spec;
    any_differs |= loss != exact->loss(x);
    Eigen::VectorXd g32(x.size());
    Eigen::VectorXd g64(x.size());
    EXPECT_NEAR(single->batch_gradient(x, batch, g32), reference_loss(ref, x, batch), 1e-5 * std::max(1.0, expected));
    exact->batch_gradient(x, batch, g64);  // checked against finite differences above
    const double scale = g64.cwiseAbs().maxCoeff();
    for (Eigen::Index k = 0; k < x.size(); ++k) {
      EXPECT_NEAR(g32[k], g64[k], 1e-5 * std::max(1.0, scale)) << c.spec << " coordinate " << k;
    }
    Eigen::VectorXd full32(x.size());
    Eigen::VectorXd full64(x.size());
    single->loss_and_gradient(x, full32);
    exact->loss_and_gradient(x, full64);
    EXPECT_LE((full32 - full64).cwiseAbs().maxCoeff(), 1e-5 * std::max(1.0, full64.cwiseAbs().maxCoeff())) << c.spec;
    EXPECT_EQ(single->correct(x), exact->correct(x)) << c.spec;  // no row near a tie here
  }
  EXPECT_TRUE(any_differs);
}

TEST(Models, PrecisionDefaultsAndRefusals) {
  for (const char* spec : {"logistic", "least_squares"}) {
    auto factory = ecco::make_problem_factory(spec);
    EXPECT_EQ(factory->preferred_precision(), ecco::ComputePrecision::fp64) << spec;
    EXPECT_NO_THROW(factory->set_precision(ecco::ComputePrecision::fp64));
    try {
      factory->set_precision(ecco::ComputePrecision::fp32);
      ADD_FAILURE() << spec << " accepted fp32";
    } catch (const ecco::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("problem '" + std::string(spec) + "' computes in fp64 only"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(ecco::parse_compute_precision("fp32"), ecco::ComputePrecision::fp32);
  EXPECT_EQ(ecco::parse_compute_precision("fp64"), ecco::ComputePrecision::fp64);
  EXPECT_THROW(ecco::parse_compute_precision("fp16"), ecco::ConfigError);
}

// 600 rows: the full passes and a batch of all rows run in chunks (of 256 columns).
TEST(Models, BatchOfAllRowsEqualsTheFullGradientOverSeveralChunks) {
  for (const Case& c : cases()) {
    const ecco::Dataset data = class_data(600, 7, *c.labels, 5);
    const Reference ref = reference(data, c.hidden, c.tanh, c.lambda);
    const auto problem = prepared(c.spec, data)->make(data);
    const Eigen::VectorXd x = random_vector(problem->dim(), 6, 0.6);
    Eigen::VectorXd full(x.size());
    Eigen::VectorXd batch(x.size());
    const double full_loss = problem->loss_and_gradient(x, full);
    const double batch_loss = problem->batch_gradient(x, all_rows(600), batch);
    // Same sums in the same chunks: equal up to rounding of the 1/N scaling.
    EXPECT_NEAR(batch_loss, full_loss, 1e-13 * std::max(1.0, full_loss)) << c.spec;
    EXPECT_LE((batch - full).norm(), 1e-13 * std::max(1.0, full.norm())) << c.spec;
    const double expected = reference_loss(ref, x, all_rows(600));
    EXPECT_NEAR(full_loss, expected, 1e-12 * std::max(1.0, expected)) << c.spec;
    EXPECT_NEAR(problem->loss(x), expected, 1e-12 * std::max(1.0, expected)) << c.spec;
  }
}

TEST(Models, LargeBatchWithRepeatsMatchesReference) {
  const ecco::Dataset data = class_data(300, 7, kLabels3, 7);
  const Reference ref = reference(data, {5, 4}, false, 0.0);
  const auto problem = prepared("mlp:hidden=5x4", data)->make(data);
  std::vector<std::uint32_t> batch;
  ecco::Rng rng(8);
  for (int k = 0; k < 700; ++k) batch.push_back(static_cast<std::uint32_t>(rng.uniform_index(300)));
  const Eigen::VectorXd x = random_vector(problem->dim(), 9, 0.6);
  Eigen::VectorXd g(x.size());
  const double expected = reference_loss(ref, x, batch);
  EXPECT_NEAR(problem->batch_gradient(x, batch, g), expected, 1e-12 * expected);
  // Different batch, same buffers: a small batch after a large one.
  const std::vector<std::uint32_t> small = {5, 299};
  EXPECT_NEAR(problem->batch_gradient(x, small, g), reference_loss(ref, x, small), 1e-12);
}

TEST(Models, HugeLogitsStayFinite) {
  const ecco::Dataset data = class_data(30, 7, kLabels4, 10);
  for (const char* spec : {"softmax", "mlp:hidden=5x4,act=tanh"}) {
    const auto problem = prepared(spec, data)->make(data);
    const Eigen::VectorXd x = random_vector(problem->dim(), 11, 1e3);
    Eigen::VectorXd g(x.size());
    EXPECT_TRUE(std::isfinite(problem->loss_and_gradient(x, g))) << spec;
    EXPECT_TRUE(g.allFinite()) << spec;
  }
}

TEST(Models, BadBatchesAndSizesThrow) {
  const ecco::Dataset data = class_data(20, 7, kLabels3, 12);
  const auto problem = prepared("mlp:hidden=3", data)->make(data);
  Eigen::VectorXd x = Eigen::VectorXd::Zero(idx(problem->dim()));
  Eigen::VectorXd g(x.size());
  const std::vector<std::uint32_t> outside = {0, 20};
  EXPECT_THROW(problem->batch_gradient(x, outside, g), std::out_of_range);
  EXPECT_THROW(problem->batch_gradient(x, std::vector<std::uint32_t>{}, g), std::invalid_argument);
  const Eigen::VectorXd wrong = Eigen::VectorXd::Zero(x.size() + 1);
  EXPECT_THROW(problem->loss(wrong), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------
// Accuracy

TEST(Models, CorrectCountsArgmaxHits) {
  for (const Case& c : cases()) {
    const ecco::Dataset data = class_data(300, 7, *c.labels, 13);
    const Reference ref = reference(data, c.hidden, c.tanh, c.lambda);
    const auto problem = prepared(c.spec, data)->make(data);
    for (std::uint64_t s = 0; s < 3; ++s) {
      const Eigen::VectorXd x = random_vector(problem->dim(), 20 + s, 1.0);
      EXPECT_EQ(problem->correct(x), reference_correct(ref, x)) << c.spec;
    }
    // x = 0: every logit is 0, the tie goes to class 0 (the smallest label).
    const std::size_t class0 = static_cast<std::size_t>(std::count(ref.y.begin(), ref.y.end(), std::size_t{0}));
    EXPECT_EQ(problem->correct(Eigen::VectorXd::Zero(idx(problem->dim()))), class0) << c.spec;
  }
}

// ---------------------------------------------------------------------------------------
// Class mapping and data errors

TEST(Models, TestSetWithFewerFeaturesIsPaddedWithZeros) {
  const ecco::Dataset train = class_data(40, 7, kLabels3, 14);
  Eigen::MatrixXd narrow = Eigen::MatrixXd(train.features.toDense()).leftCols(5);
  const ecco::Dataset test = from_dense(narrow, train.labels, "narrow");
  Eigen::MatrixXd padded = Eigen::MatrixXd::Zero(40, 7);
  padded.leftCols(5) = narrow;
  const ecco::Dataset wide = from_dense(padded, train.labels, "padded");
  for (const char* spec : {"softmax", "mlp:hidden=5x4"}) {
    const auto factory = prepared(spec, train);
    const auto problem = factory->make(test);
    const Eigen::VectorXd x = random_vector(problem->dim(), 15, 0.6);
    const Reference ref = reference(wide, std::string(spec) == "softmax" ? std::vector<std::size_t>{}
                                                                        : std::vector<std::size_t>{5, 4},
                                    false, 0.0);
    EXPECT_NEAR(problem->loss(x), reference_loss(ref, x, all_rows(40)), 1e-12) << spec;
  }
}

TEST(Models, TestLabelsMapToTheTrainingClasses) {
  // A test slice holding only some of the classes still uses the training numbering.
  const ecco::Dataset train = class_data(40, 7, kLabels3, 16);
  std::vector<std::uint32_t> nines;
  for (Eigen::Index j = 0; j < train.labels.size(); ++j) {
    if (train.labels[j] == 9.0) nines.push_back(static_cast<std::uint32_t>(j));
  }
  const ecco::Dataset test = train.select(nines);
  const auto problem = prepared("softmax", train)->make(test);
  // x: only the bias of class 2 (label 9) is positive, so every row is predicted 9.
  Eigen::VectorXd x = Eigen::VectorXd::Zero(idx(problem->dim()));
  x[x.size() - 1] = 1.0;
  EXPECT_EQ(problem->correct(x), nines.size());
}

TEST(Models, DataErrors) {
  for (const char* spec : {"softmax", "mlp:hidden=4"}) {
    // One class only.
    ecco::Dataset single = class_data(20, 7, {3.0}, 17);
    try {
      ecco::make_problem_factory(spec)->prepare(single);
      ADD_FAILURE() << spec << ": one class accepted";
    } catch (const ecco::DataError& e) {
      EXPECT_NE(std::string(e.what()).find("1 distinct label"), std::string::npos) << e.what();
    }
    // Too many classes.
    std::vector<double> many(1001);
    std::iota(many.begin(), many.end(), 0.0);
    try {
      ecco::make_problem_factory(spec)->prepare(class_data(1001, 2, many, 18));
      ADD_FAILURE() << spec << ": 1001 classes accepted";
    } catch (const ecco::DataError& e) {
      EXPECT_NE(std::string(e.what()).find("1001"), std::string::npos) << e.what();
    }
    const ecco::Dataset train = class_data(20, 7, kLabels3, 19);
    const auto factory = prepared(spec, train);
    // A test label that is not a training label.
    ecco::Dataset test = train;
    test.labels[4] = 7.0;
    try {
      factory->make(test);
      ADD_FAILURE() << spec << ": unknown label accepted";
    } catch (const ecco::DataError& e) {
      EXPECT_EQ(std::string(e.what()), "models-test: label 7 in row 5 is not one of the 3 training classes");
    }
    // More features than the training set.
    const ecco::Dataset wide = class_data(20, 8, kLabels3, 20);
    EXPECT_THROW(factory->make(wide), ecco::DataError) << spec;
    // 1000 classes are allowed.
    std::vector<double> thousand(1000);
    std::iota(thousand.begin(), thousand.end(), 0.0);
    EXPECT_NO_THROW(ecco::make_problem_factory(spec)->prepare(class_data(1000, 2, thousand, 21))) << spec;
    // make() before prepare() is a programming error.
    EXPECT_THROW(ecco::make_problem_factory(spec)->make(train), std::logic_error) << spec;
  }
}

// ---------------------------------------------------------------------------------------
// Specs, layouts and starting points

TEST(Models, ConfigErrors) {
  for (const char* bad : {"512x", "0", "x", "x512", "512xx512", "65537", "5x-3", "12a", "5X4"}) {
    const std::string spec = std::string("mlp:hidden=") + bad;
    try {
      ecco::make_problem_factory(spec);
      ADD_FAILURE() << spec << " accepted";
    } catch (const ecco::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(ecco::make_problem_factory("mlp:hidden=65536x1"));
  try {
    ecco::make_problem_factory("mlp:act=sigmoid");
    ADD_FAILURE() << "act=sigmoid accepted";
  } catch (const ecco::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("sigmoid"), std::string::npos) << e.what();
  }
  for (const char* spec : {"mlp:init_seed=-1", "mlp:init_seed=1.5", "mlp:lambda=-1", "mlp:lambda=nan", "softmax:lambda=-1",
                           "softmax:hidden=5", "mlp:hidden="}) {
    EXPECT_THROW(ecco::make_problem_factory(spec), ecco::ConfigError) << spec;
  }
}

TEST(Models, SpecsTableAndTraits) {
  EXPECT_EQ(ecco::make_problem_factory("mlp")->spec(), "mlp:act=relu,hidden=512x512,init_seed=1,lambda=0");
  EXPECT_EQ(ecco::make_problem_factory("softmax")->spec(), "softmax:lambda=0");
  std::set<std::string> names;
  for (const ecco::SpecEntry& e : ecco::problem_table()) names.insert(e.name);
  EXPECT_EQ(names.count("softmax"), 1U);
  EXPECT_EQ(names.count("mlp"), 1U);
  EXPECT_FALSE(ecco::make_problem_factory("softmax")->cheap_full_gradient());
  EXPECT_FALSE(ecco::make_problem_factory("mlp")->cheap_full_gradient());
}

TEST(Models, TensorLayouts) {
  const ecco::Dataset data = class_data(30, 7, kLabels4, 22);
  {
    const auto factory = prepared("softmax", data);
    const ecco::TensorLayout layout = factory->tensors(data);
    ASSERT_EQ(layout.size(), 2U);
    EXPECT_EQ(layout[0].name, "weight");
    EXPECT_EQ(layout[0].offset, 0U);
    EXPECT_EQ(layout[0].rows, 4U);
    EXPECT_EQ(layout[0].cols, 7U);
    EXPECT_EQ(layout[1].name, "bias");
    EXPECT_EQ(layout[1].offset, 28U);
    EXPECT_EQ(layout[1].rows, 4U);
    EXPECT_EQ(layout[1].cols, 1U);
    EXPECT_EQ(ecco::layout_dim(layout), factory->make(data)->dim());
    EXPECT_NO_THROW(ecco::check_layout(layout, 32));
  }
  {
    const auto factory = prepared("mlp:hidden=5x3", data);
    const ecco::TensorLayout layout = factory->tensors(data);
    const std::vector<std::string> names = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"};
    const std::vector<std::size_t> rows = {5, 5, 3, 3, 4, 4};
    const std::vector<std::size_t> cols = {7, 1, 5, 1, 3, 1};
    const std::vector<std::size_t> offsets = {0, 35, 40, 55, 58, 70};
    ASSERT_EQ(layout.size(), names.size());
    for (std::size_t t = 0; t < layout.size(); ++t) {
      EXPECT_EQ(layout[t].name, names[t]);
      EXPECT_EQ(layout[t].rows, rows[t]) << names[t];
      EXPECT_EQ(layout[t].cols, cols[t]) << names[t];
      EXPECT_EQ(layout[t].offset, offsets[t]) << names[t];
    }
    EXPECT_EQ(ecco::layout_dim(layout), 74U);
    EXPECT_EQ(factory->make(data)->dim(), 74U);
    EXPECT_NO_THROW(ecco::check_layout(layout, 74));
  }
}

TEST(Models, InitialPoints) {
  const ecco::Dataset data = class_data(30, 7, kLabels3, 23);
  {
    Eigen::VectorXd x = Eigen::VectorXd::Constant(24, 5.0);
    EXPECT_FALSE(prepared("softmax", data)->initial_point(x));
  }
  for (const bool tanh : {false, true}) {
    const std::string act = tanh ? "tanh" : "relu";
    const auto factory = prepared("mlp:hidden=5x4,act=" + act + ",init_seed=3", data);
    const auto same = prepared("mlp:hidden=5x4,act=" + act + ",init_seed=3", data);
    const auto other = prepared("mlp:hidden=5x4,act=" + act + ",init_seed=4", data);
    const std::size_t d = ecco::layout_dim(factory->tensors(data));
    Eigen::VectorXd x(idx(d));
    Eigen::VectorXd y(idx(d));
    Eigen::VectorXd z(idx(d));
    ASSERT_TRUE(factory->initial_point(x));
    ASSERT_TRUE(same->initial_point(y));
    ASSERT_TRUE(other->initial_point(z));
    EXPECT_EQ(x, y) << act;  // same seed: same bits
    ecco::Rng rng(3);
    for (const ecco::TensorShape& t : factory->tensors(data)) {
      for (std::size_t k = t.offset; k < t.offset + t.size(); ++k) {
        if (t.cols == 1) {
          EXPECT_EQ(x[idx(k)], 0.0) << t.name;  // biases 0
          continue;
        }
        const double fan_in = static_cast<double>(t.cols);
        const double fan_out = static_cast<double>(t.rows);
        const double bound = tanh ? std::sqrt(6.0 / (fan_in + fan_out)) : std::sqrt(6.0 / fan_in);
        EXPECT_GE(x[idx(k)], -bound) << t.name;
        EXPECT_LT(x[idx(k)], bound) << t.name;
        // The documented draw: U[-bound, bound) from Rng(init_seed), weights in parameter order.
        EXPECT_EQ(x[idx(k)], bound * (2.0 * rng.uniform() - 1.0)) << t.name;
        EXPECT_NE(x[idx(k)], z[idx(k)]) << t.name;  // another seed: other weights
      }
    }
    Eigen::VectorXd wrong(idx(d + 1));
    EXPECT_THROW(factory->initial_point(wrong), std::invalid_argument);
  }
}

// ---------------------------------------------------------------------------------------
// Smoothness

TEST(Models, SoftmaxSmoothnessFollowsFormulaAndBoundsTheHessian) {
  for (const double lambda : {0.0, 0.2}) {
    for (const std::vector<double>& labels : {std::vector<double>{1.0, 4.0}, kLabels3}) {
      const ecco::Dataset data = class_data(10, 3, labels, 24);
      const std::string spec = "softmax:lambda=" + std::to_string(lambda);
      const auto factory = prepared(spec, data);
      const auto problem = factory->make(data);
      const Eigen::MatrixXd a(data.features.toDense());
      const double n = 10.0;
      const double gram = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(a.transpose() * a).eigenvalues().maxCoeff();
      const double expected = (gram + n) / (2.0 * n) + lambda;
      EXPECT_NEAR(factory->smoothness_of(data), expected, 1e-10 * expected);
      EXPECT_NEAR(problem->smoothness(), expected, 1e-10 * expected);
      // Largest eigenvalue of a finite-difference Hessian (columns from gradients), at 0
      // (uniform probabilities) and at random points.
      const auto d = static_cast<Eigen::Index>(problem->dim());
      for (std::uint64_t s = 0; s < 4; ++s) {
        const Eigen::VectorXd x = s == 0 ? Eigen::VectorXd::Zero(d) : random_vector(problem->dim(), 30 + s, 0.7);
        Eigen::MatrixXd hessian(d, d);
        Eigen::VectorXd gp(d);
        Eigen::VectorXd gm(d);
        for (Eigen::Index k = 0; k < d; ++k) {
          Eigen::VectorXd plus = x;
          Eigen::VectorXd minus = x;
          plus[k] += kStep;
          minus[k] -= kStep;
          problem->loss_and_gradient(plus, gp);
          problem->loss_and_gradient(minus, gm);
          hessian.col(k) = (gp - gm) / (2.0 * kStep);
        }
        const Eigen::MatrixXd symmetric = 0.5 * (hessian + hessian.transpose());
        const double top = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(symmetric).eigenvalues().maxCoeff();
        EXPECT_GE(factory->smoothness_of(data), top - 1e-8) << spec << " point " << s;
        EXPECT_GT(top, 0.0);
      }
    }
  }
}

TEST(Models, MlpHasNoSmoothnessConstant) {
  const ecco::Dataset data = class_data(20, 7, kLabels3, 25);
  const auto factory = prepared("mlp:hidden=4", data);
  try {
    factory->smoothness_of(data);
    ADD_FAILURE() << "mlp gave a smoothness constant";
  } catch (const ecco::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--lr"), std::string::npos) << e.what();
  }
  EXPECT_THROW(factory->make(data)->smoothness(), ecco::ConfigError);
}
