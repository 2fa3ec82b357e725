// Unit tests of the client splits (make_split, ClientSplit::shard, Dataset::select), the
// least-squares problem, minibatch gradients of both problems, the EF21-W-like synthetic
// regression generator and load_dataset. Every expected value comes from math or from a
// dense computation written here, never from the code under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/rng.hpp"

namespace {

namespace fs = std::filesystem;

Eigen::Index idx(std::size_t i) { return static_cast<Eigen::Index>(i); }

// ---------------------------------------------------------------------------------------
// Test data and dense references

ecco::Dataset from_dense(const Eigen::MatrixXd& a, const Eigen::VectorXd& b, const std::string& source = "test") {
  ecco::Dataset data;
  data.features = a.sparseView();
  data.features.makeCompressed();
  data.labels = b;
  data.source = source;
  return data;
}

Eigen::MatrixXd dense(const ecco::Dataset& data) { return Eigen::MatrixXd(data.features.toDense()); }

Eigen::VectorXd random_vector(Eigen::Index d, std::uint64_t seed, double scale) {
  ecco::Rng rng(seed);
  Eigen::VectorXd x(d);
  for (Eigen::Index j = 0; j < d; ++j) x[j] = scale * rng.normal();
  return x;
}

// Random sparse regression data: each entry non-zero with probability `density`, normal
// values; real-valued targets.
ecco::Dataset regression_data(std::size_t rows, std::size_t dim, std::uint64_t seed, double density = 0.6) {
  ecco::Rng rng(seed);
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(idx(rows), idx(dim));
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    for (Eigen::Index c = 0; c < a.cols(); ++c) {
      if (rng.uniform() < density) a(r, c) = rng.normal();
    }
  }
  Eigen::VectorXd b(idx(rows));
  for (Eigen::Index r = 0; r < b.size(); ++r) b[r] = 3.0 * rng.normal();
  return from_dense(a, b, "regression");
}

ecco::Dataset classification_data(std::size_t rows, std::size_t dim, std::uint64_t seed) {
  ecco::SyntheticClassification gen;
  gen.rows = rows;
  gen.dim = dim;
  gen.density = 0.5;
  gen.seed = seed;
  return ecco::make_synthetic_classification(gen);
}

// Small integer entries in {0, 1, 2, 3} (many exact ties of ||a_j||^2) and labels from a
// small set (many exact ties of the label).
ecco::Dataset tie_data(std::size_t rows, std::size_t dim, std::uint64_t seed) {
  ecco::Rng rng(seed);
  Eigen::MatrixXd a(idx(rows), idx(dim));
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    for (Eigen::Index c = 0; c < a.cols(); ++c) a(r, c) = static_cast<double>(rng.uniform_index(4));
  }
  const double label_values[] = {2.5, -1.0, 0.0, 7.0};
  Eigen::VectorXd b(idx(rows));
  for (Eigen::Index r = 0; r < b.size(); ++r) b[r] = label_values[rng.uniform_index(4)];
  return from_dense(a, b, "ties");
}

double reg_value(const Eigen::VectorXd& x, double lambda) {
  double sum = 0.0;
  for (Eigen::Index k = 0; k < x.size(); ++k) sum += x[k] * x[k] / (1.0 + x[k] * x[k]);
  return lambda * sum;
}

Eigen::VectorXd reg_gradient(const Eigen::VectorXd& x, double lambda) {
  Eigen::VectorXd g(x.size());
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    const double s = 1.0 + x[k] * x[k];
    g[k] = lambda * 2.0 * x[k] / (s * s);
  }
  return g;
}

// f_i = (1/N_i) ||A x - b||^2 + lambda sum x^2 / (1 + x^2), written from ALGORITHMS.md 1.13.
double ls_reference_loss(const ecco::Dataset& data, double lambda, const Eigen::VectorXd& x) {
  const Eigen::MatrixXd a = dense(data);
  const Eigen::VectorXd r = a * x - data.labels;
  return r.squaredNorm() / static_cast<double>(a.rows()) + reg_value(x, lambda);
}

Eigen::VectorXd ls_reference_gradient(const ecco::Dataset& data, double lambda, const Eigen::VectorXd& x) {
  const Eigen::MatrixXd a = dense(data);
  const Eigen::VectorXd r = a * x - data.labels;
  return (2.0 / static_cast<double>(a.rows())) * (a.transpose() * r) + reg_gradient(x, lambda);
}

// Gradient of one row's loss l_j.
Eigen::VectorXd ls_row_gradient(const Eigen::MatrixXd& a, const Eigen::VectorXd& b, Eigen::Index j,
                                const Eigen::VectorXd& x) {
  const double r = a.row(j).dot(x) - b[j];
  return 2.0 * r * a.row(j).transpose();
}

Eigen::VectorXd logistic_row_gradient(const Eigen::MatrixXd& a, const Eigen::VectorXd& y, Eigen::Index j,
                                      const Eigen::VectorXd& x) {
  const double m = y[j] * a.row(j).dot(x);
  return (-y[j] / (1.0 + std::exp(m))) * a.row(j).transpose();
}

Eigen::VectorXd symmetric_eigenvalues(const Eigen::MatrixXd& m) {
  return Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(m, Eigen::EigenvaluesOnly).eigenvalues();
}

double dense_max_eigenvalue_gram(const ecco::Dataset& data) {
  const Eigen::MatrixXd a = dense(data);
  return symmetric_eigenvalues(a.transpose() * a).maxCoeff();
}

bool is_permutation_of_iota(const std::vector<std::uint32_t>& order, std::size_t n) {
  if (order.size() != n) return false;
  std::vector<std::uint32_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < n; ++i) {
    if (sorted[i] != i) return false;
  }
  return true;
}

std::vector<std::uint32_t> identity_order(std::size_t n) {
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
  return order;
}

// Expected stable sort by key: distinct key values ascending, rows with equal keys in file
// order. Only used with keys that are exact (integers or a small label set).
std::vector<std::uint32_t> bucket_order(const std::vector<double>& keys) {
  std::map<double, std::vector<std::uint32_t>> buckets;
  for (std::size_t r = 0; r < keys.size(); ++r) buckets[keys[r]].push_back(static_cast<std::uint32_t>(r));
  std::vector<std::uint32_t> order;
  for (const auto& [key, rows] : buckets) order.insert(order.end(), rows.begin(), rows.end());
  return order;
}

std::vector<double> dense_row_norms_sq(const ecco::Dataset& data) {
  const Eigen::MatrixXd a = dense(data);
  std::vector<double> out(data.rows());
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    double s = 0.0;
    for (Eigen::Index c = 0; c < a.cols(); ++c) s += a(r, c) * a(r, c);
    out[static_cast<std::size_t>(r)] = s;
  }
  return out;
}

// The papers' ranges: blocks of floor(N / n) positions, the remainder to the last client.
void expect_paper_ranges(const ecco::ClientSplit& split, std::size_t rows, std::size_t clients) {
  ASSERT_EQ(split.clients(), clients);
  ASSERT_EQ(split.ranges.size(), clients);
  const std::size_t block = rows / clients;
  for (std::size_t i = 0; i < clients; ++i) {
    EXPECT_EQ(split.ranges[i].begin, i * block) << "client " << i;
    const std::size_t end = (i + 1 == clients) ? rows : (i + 1) * block;
    EXPECT_EQ(split.ranges[i].end, end) << "client " << i;
  }
}

// Checks shard(i) row by row against the dense matrix rows order[begin..end).
void expect_shards_match_order(const ecco::Dataset& data, const ecco::ClientSplit& split) {
  const Eigen::MatrixXd a = dense(data);
  for (std::size_t i = 0; i < split.clients(); ++i) {
    const ecco::RowRange range = split.ranges[i];
    Eigen::MatrixXd expected(idx(range.size()), a.cols());
    Eigen::VectorXd labels(idx(range.size()));
    for (std::size_t k = 0; k < range.size(); ++k) {
      const auto row = static_cast<Eigen::Index>(split.order[range.begin + k]);
      expected.row(idx(k)) = a.row(row);
      labels[idx(k)] = data.labels[row];
    }
    const ecco::Dataset shard = split.shard(data, i);
    ASSERT_EQ(shard.rows(), range.size()) << "client " << i;
    ASSERT_EQ(shard.dim(), data.dim()) << "client " << i;
    EXPECT_EQ(dense(shard), expected) << "client " << i;
    EXPECT_EQ(shard.labels, labels) << "client " << i;
  }
}

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device device;
    for (int attempt = 0;; ++attempt) {
      const fs::path candidate =
          fs::temp_directory_path() / ("ecco-unit-data-" + std::to_string(device()) + "-" + std::to_string(attempt));
      if (fs::create_directory(candidate)) {
        path_ = candidate;
        break;
      }
    }
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& content) const {
    const fs::path file = path_ / name;
    std::ofstream out(file, std::ios::binary);
    out << content;
    out.close();
    EXPECT_TRUE(out) << "could not write " << file;
    return file.string();
  }

 private:
  fs::path path_;
};

template <class F>
std::string config_error_message(F&& f) {
  try {
    f();
  } catch (const ecco::ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ecco::ConfigError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected ecco::ConfigError, nothing was thrown";
  return {};
}

const char* const kSplitNames[] = {"contiguous", "shuffle", "label_sorted", "one_per_client", "by_smoothness"};

}  // namespace

// =======================================================================================
// make_split

TEST(SplitSpec, TableListsTheDocumentedSplits) {
  std::set<std::string> names;
  for (const ecco::SpecEntry& entry : ecco::split_table()) names.insert(entry.name);
  EXPECT_EQ(names, std::set<std::string>(std::begin(kSplitNames), std::end(kSplitNames)));
}

TEST(SplitOrder, EveryTableSplitIsAPermutationWithThePapersRanges) {
  for (const std::size_t rows : {std::size_t{1}, std::size_t{7}, std::size_t{53}}) {
    const ecco::Dataset data = tie_data(rows, 4, 100 + rows);
    for (const ecco::SpecEntry& entry : ecco::split_table()) {
      std::vector<std::size_t> client_counts;
      if (entry.name == "one_per_client") {
        client_counts = {rows};
      } else {
        for (const std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, rows}) {
          if (n <= rows) client_counts.push_back(n);
        }
      }
      for (const std::size_t clients : client_counts) {
        SCOPED_TRACE(entry.name + " rows=" + std::to_string(rows) + " clients=" + std::to_string(clients));
        const ecco::ClientSplit split = ecco::make_split(data, clients, entry.name);
        EXPECT_TRUE(is_permutation_of_iota(split.order, rows));
        expect_paper_ranges(split, rows, clients);
        expect_shards_match_order(data, split);
      }
    }
  }
}

TEST(SplitOrder, ContiguousIsTheIdentity) {
  const ecco::Dataset data = tie_data(31, 3, 5);
  for (const std::size_t clients : {std::size_t{1}, std::size_t{4}, std::size_t{31}}) {
    const ecco::ClientSplit split = ecco::make_split(data, clients, "contiguous");
    EXPECT_EQ(split.order, identity_order(31));
  }
}

TEST(SplitOrder, OnePerClientGivesEachClientOneRowInFileOrder) {
  const ecco::Dataset data = tie_data(9, 3, 6);
  const ecco::ClientSplit split = ecco::make_split(data, 9, "one_per_client");
  EXPECT_EQ(split.order, identity_order(9));
  ASSERT_EQ(split.clients(), 9U);
  for (std::size_t i = 0; i < 9; ++i) {
    EXPECT_EQ(split.ranges[i].size(), 1U);
    const ecco::Dataset shard = split.shard(data, i);
    ASSERT_EQ(shard.rows(), 1U);
    EXPECT_EQ(Eigen::MatrixXd(dense(shard).row(0)), Eigen::MatrixXd(dense(data).row(idx(i))));
    EXPECT_EQ(shard.labels[0], data.labels[idx(i)]);
  }
}

TEST(SplitOrder, OnePerClientNeedsAsManyClientsAsRows) {
  const ecco::Dataset data = tie_data(37, 3, 7);
  for (const std::size_t clients : {std::size_t{1}, std::size_t{5}, std::size_t{36}, std::size_t{38}}) {
    const std::string message = config_error_message([&] { (void)ecco::make_split(data, clients, "one_per_client"); });
    EXPECT_NE(message.find("37"), std::string::npos) << "message does not name the row count: " << message;
  }
}

TEST(SplitOrder, ShuffleIsDeterministicPerSeedAndDiffersAcrossSeeds) {
  const ecco::Dataset data = tie_data(60, 3, 8);
  std::vector<std::vector<std::uint32_t>> orders;
  for (int seed = 1; seed <= 6; ++seed) {
    const std::string spec = "shuffle:seed=" + std::to_string(seed);
    const ecco::ClientSplit a = ecco::make_split(data, 4, spec);
    const ecco::ClientSplit b = ecco::make_split(data, 4, spec);
    EXPECT_EQ(a.order, b.order) << spec;
    EXPECT_TRUE(is_permutation_of_iota(a.order, 60)) << spec;
    EXPECT_NE(a.order, identity_order(60)) << spec << " did not shuffle";
    // The order does not depend on the number of clients.
    EXPECT_EQ(ecco::make_split(data, 7, spec).order, a.order) << spec;
    for (const auto& previous : orders) EXPECT_NE(previous, a.order) << spec << " repeats an earlier seed's order";
    orders.push_back(a.order);
  }
  // The default seed is 1.
  EXPECT_EQ(ecco::make_split(data, 4, "shuffle").order, orders.front());
}

TEST(SplitOrder, LabelSortedIsNonDecreasingAndStable) {
  const ecco::Dataset data = tie_data(57, 3, 9);
  std::vector<double> labels(data.rows());
  for (std::size_t r = 0; r < data.rows(); ++r) labels[r] = data.labels[idx(r)];
  const std::vector<std::uint32_t> expected = bucket_order(labels);
  for (const std::size_t clients : {std::size_t{1}, std::size_t{4}, std::size_t{10}}) {
    const ecco::ClientSplit split = ecco::make_split(data, clients, "label_sorted");
    EXPECT_EQ(split.order, expected);
    for (std::size_t k = 1; k < split.order.size(); ++k) {
      const double before = labels[split.order[k - 1]];
      const double after = labels[split.order[k]];
      EXPECT_LE(before, after) << "position " << k;
      if (before == after) {
        EXPECT_LT(split.order[k - 1], split.order[k]) << "tie not in file order at " << k;
      }
    }
  }
}

TEST(SplitOrder, LabelSortedOnBinaryLabelsPutsMinusOnesFirstInFileOrder) {
  const ecco::Dataset data = classification_data(80, 6, 3);
  std::vector<std::uint32_t> expected;
  for (const double label : {-1.0, 1.0}) {
    for (std::size_t r = 0; r < data.rows(); ++r) {
      if (data.labels[idx(r)] == label) expected.push_back(static_cast<std::uint32_t>(r));
    }
  }
  ASSERT_EQ(expected.size(), 80U);
  const ecco::ClientSplit split = ecco::make_split(data, 5, "label_sorted");
  EXPECT_EQ(split.order, expected);
  expect_shards_match_order(data, split);
}

TEST(SplitOrder, BySmoothnessIsNonDecreasingInRowNormAndStable) {
  // Integer entries: the squared norms are exact, with many ties.
  const ecco::Dataset data = tie_data(64, 3, 10);
  const std::vector<double> norms = dense_row_norms_sq(data);
  ASSERT_LT(std::set<double>(norms.begin(), norms.end()).size(), norms.size()) << "the test needs ties";
  const std::vector<std::uint32_t> expected = bucket_order(norms);
  const ecco::ClientSplit split = ecco::make_split(data, 6, "by_smoothness");
  EXPECT_EQ(split.order, expected);
  expect_shards_match_order(data, split);
}

TEST(SplitOrder, BySmoothnessOnRealValuedRows) {
  const ecco::Dataset data = regression_data(70, 8, 11, 0.4);
  const std::vector<double> norms = dense_row_norms_sq(data);
  const ecco::ClientSplit split = ecco::make_split(data, 7, "by_smoothness");
  ASSERT_TRUE(is_permutation_of_iota(split.order, 70));
  for (std::size_t k = 1; k < split.order.size(); ++k) {
    EXPECT_LE(norms[split.order[k - 1]], norms[split.order[k]] * (1.0 + 1e-14) + 1e-300) << "position " << k;
  }
  // The first position holds the row of smallest norm, the last the row of largest norm.
  const auto largest = std::max_element(norms.begin(), norms.end()) - norms.begin();
  const auto smallest = std::min_element(norms.begin(), norms.end()) - norms.begin();
  EXPECT_EQ(split.order.back(), static_cast<std::uint32_t>(largest));
  EXPECT_EQ(split.order.front(), static_cast<std::uint32_t>(smallest));
}

TEST(SplitOrder, BySmoothnessTiesOfIdenticalRowsKeepFileOrder) {
  // Rows 0, 2, 4 have norm^2 25 (3,4 / 4,3 / 0,5), rows 1, 3 norm^2 1, row 5 norm^2 0.
  Eigen::MatrixXd a(6, 2);
  a << 3.0, 4.0, 1.0, 0.0, 4.0, 3.0, 0.0, -1.0, 0.0, 5.0, 0.0, 0.0;
  const Eigen::VectorXd b = Eigen::VectorXd::LinSpaced(6, 0.0, 5.0);
  const ecco::Dataset data = from_dense(a, b);
  const ecco::ClientSplit split = ecco::make_split(data, 2, "by_smoothness");
  EXPECT_EQ(split.order, (std::vector<std::uint32_t>{5, 1, 3, 0, 2, 4}));
}

TEST(SplitSpec, UnknownNamesAndKeysAreConfigErrorsListingTheValidOnes) {
  const ecco::Dataset data = tie_data(12, 3, 12);
  const std::string message = config_error_message([&] { (void)ecco::make_split(data, 3, "random"); });
  EXPECT_NE(message.find("random"), std::string::npos) << message;
  for (const char* name : kSplitNames) EXPECT_NE(message.find(name), std::string::npos) << name << ": " << message;

  const std::string key_message = config_error_message([&] { (void)ecco::make_split(data, 3, "shuffle:sed=3"); });
  EXPECT_NE(key_message.find("sed"), std::string::npos) << key_message;
  EXPECT_NE(key_message.find("seed"), std::string::npos) << key_message;

  EXPECT_THROW((void)ecco::make_split(data, 3, "contiguous:seed=1"), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_split(data, 3, "label_sorted:descending=1"), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_split(data, 3, "shuffle:seed=abc"), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_split(data, 3, "shuffle:seed"), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_split(data, 3, ""), ecco::ConfigError);
  // The client count is checked for every split.
  EXPECT_THROW((void)ecco::make_split(data, 0, "contiguous"), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_split(data, 13, "shuffle"), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_split(data, 13, "by_smoothness"), ecco::ConfigError);
}

// =======================================================================================
// Dataset::select

TEST(SplitSelect, RepeatedRowsInAnyOrder) {
  const ecco::Dataset data = regression_data(9, 5, 13, 0.5);
  const Eigen::MatrixXd a = dense(data);
  const std::vector<std::uint32_t> picked = {4, 4, 0, 8, 4, 2, 0};
  const ecco::Dataset part = data.select(picked);
  ASSERT_EQ(part.rows(), picked.size());
  ASSERT_EQ(part.dim(), 5U);
  EXPECT_EQ(part.source, data.source);
  Eigen::MatrixXd expected(idx(picked.size()), 5);
  Eigen::VectorXd labels(idx(picked.size()));
  for (std::size_t k = 0; k < picked.size(); ++k) {
    expected.row(idx(k)) = a.row(static_cast<Eigen::Index>(picked[k]));
    labels[idx(k)] = data.labels[static_cast<Eigen::Index>(picked[k])];
  }
  EXPECT_EQ(dense(part), expected);
  EXPECT_EQ(part.labels, labels);
  // The copy is a usable sparse matrix (products agree with the dense reference).
  const Eigen::VectorXd x = random_vector(5, 14, 1.0);
  EXPECT_TRUE((part.features * x).isApprox(expected * x, 1e-14));
}

TEST(SplitSelect, EmptyRowsAndEmptySelection) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(4, 3);
  a(1, 2) = 5.0;
  const ecco::Dataset data = from_dense(a, Eigen::Vector4d(1.0, 2.0, 3.0, 4.0));
  const std::vector<std::uint32_t> picked = {0, 3, 1, 0};
  const ecco::Dataset part = data.select(picked);
  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(4, 3);
  expected(2, 2) = 5.0;
  EXPECT_EQ(dense(part), expected);
  EXPECT_EQ(part.labels, Eigen::Vector4d(1.0, 4.0, 2.0, 1.0));
  const ecco::Dataset none = data.select(std::vector<std::uint32_t>{});
  EXPECT_EQ(none.rows(), 0U);
  EXPECT_EQ(none.dim(), 3U);
  EXPECT_EQ(none.labels.size(), 0);
}

TEST(SplitSelect, OutOfRangeRowsThrow) {
  const ecco::Dataset data = regression_data(6, 3, 15);
  EXPECT_THROW((void)data.select(std::vector<std::uint32_t>{6}), std::out_of_range);
  EXPECT_THROW((void)data.select(std::vector<std::uint32_t>{0, 1, 7}), std::out_of_range);
  EXPECT_THROW((void)data.select(std::vector<std::uint32_t>{std::numeric_limits<std::uint32_t>::max()}),
               std::out_of_range);
  EXPECT_NO_THROW((void)data.select(std::vector<std::uint32_t>{5, 5}));
}

// =======================================================================================
// least_squares

TEST(LeastSquares, SpecDefaultsAndErrors) {
  EXPECT_EQ(ecco::make_problem_factory("least_squares")->spec(), "least_squares:lambda=0");
  EXPECT_EQ(ecco::make_problem_factory("least_squares:lambda=0.5")->spec(), "least_squares:lambda=0.5");
  EXPECT_THROW(ecco::make_problem_factory("least_squares:lambda=-0.1"), ecco::ConfigError);
  EXPECT_THROW(ecco::make_problem_factory("least_squares:lambda=x"), ecco::ConfigError);
  EXPECT_THROW(ecco::make_problem_factory("least_squares:mu=1"), ecco::ConfigError);
}

TEST(LeastSquares, LossMatchesDenseReference) {
  const ecco::Dataset data = regression_data(41, 7, 20);
  for (const double lambda : {0.0, 0.1, 2.0}) {
    const auto problem = ecco::make_problem_factory("least_squares:lambda=" + std::to_string(lambda))->make(data);
    EXPECT_EQ(problem->dim(), 7U);
    EXPECT_EQ(problem->rows(), 41U);
    for (std::uint64_t s = 0; s < 5; ++s) {
      const Eigen::VectorXd x = random_vector(7, 200 + s, 1.5);
      const double expected = ls_reference_loss(data, lambda, x);
      EXPECT_NEAR(problem->loss(x), expected, 1e-12 * expected) << "lambda " << lambda;
      Eigen::VectorXd g(7);
      EXPECT_NEAR(problem->loss_and_gradient(x, g), expected, 1e-12 * expected) << "lambda " << lambda;
      const Eigen::VectorXd g_ref = ls_reference_gradient(data, lambda, x);
      EXPECT_LE((g - g_ref).norm(), 1e-12 * g_ref.norm()) << "lambda " << lambda;
    }
  }
}

TEST(LeastSquares, LossAtZeroIsMeanSquaredTarget) {
  const ecco::Dataset data = regression_data(20, 4, 21);
  const auto problem = ecco::make_problem_factory("least_squares:lambda=3")->make(data);
  const double expected = data.labels.squaredNorm() / 20.0;
  EXPECT_NEAR(problem->loss(Eigen::VectorXd::Zero(4)), expected, 1e-14 * expected);
}

TEST(LeastSquares, GradientMatchesCentralFiniteDifferences) {
  const ecco::Dataset data = regression_data(35, 6, 22);
  for (const char* spec : {"least_squares:lambda=0", "least_squares:lambda=0.1", "least_squares:lambda=2"}) {
    const auto problem = ecco::make_problem_factory(spec)->make(data);
    for (std::uint64_t s = 0; s < 4; ++s) {
      const Eigen::VectorXd x = random_vector(6, 300 + s, 1.0);
      Eigen::VectorXd g(6);
      problem->loss_and_gradient(x, g);
      const double h = 1e-5;
      for (Eigen::Index k = 0; k < x.size(); ++k) {
        Eigen::VectorXd plus = x;
        Eigen::VectorXd minus = x;
        plus[k] += h;
        minus[k] -= h;
        const double fd = (problem->loss(plus) - problem->loss(minus)) / (2 * h);
        EXPECT_NEAR(g[k], fd, 1e-6 * std::max(1.0, std::fabs(fd))) << spec << " coordinate " << k;
      }
    }
  }
}

TEST(LeastSquares, SmoothnessFollowsFormula) {
  // Tall (N > d) and wide (N < d) shards.
  const std::vector<std::pair<std::size_t, std::size_t>> shapes = {{45, 8}, {6, 15}, {1, 4}};
  for (const auto& [rows, dim] : shapes) {
    const ecco::Dataset data = regression_data(rows, dim, 23 + rows);
    for (const double lambda : {0.0, 0.25}) {
      const auto factory = ecco::make_problem_factory("least_squares:lambda=" + std::to_string(lambda));
      const double expected =
          2.0 * dense_max_eigenvalue_gram(data) / static_cast<double>(rows) + 2.0 * lambda;
      EXPECT_NEAR(factory->smoothness_of(data), expected, 1e-12 * expected) << rows << "x" << dim;
      EXPECT_NEAR(factory->make(data)->smoothness(), expected, 1e-12 * expected) << rows << "x" << dim;
    }
  }
}

TEST(LeastSquares, SmoothnessBoundsGradientDifferences) {
  const ecco::Dataset data = regression_data(50, 9, 24);
  for (const double lambda : {0.0, 0.3}) {
    const auto problem = ecco::make_problem_factory("least_squares:lambda=" + std::to_string(lambda))->make(data);
    const double L = problem->smoothness();
    Eigen::VectorXd gx(9);
    Eigen::VectorXd gy(9);
    for (std::uint64_t s = 0; s < 50; ++s) {
      const Eigen::VectorXd x = random_vector(9, 1000 + s, 1.0);
      const Eigen::VectorXd y = x + random_vector(9, 2000 + s, s % 2 == 0 ? 0.1 : 2.0);
      problem->loss_and_gradient(x, gx);
      problem->loss_and_gradient(y, gy);
      EXPECT_LE((gx - gy).norm(), L * (x - y).norm() * (1 + 1e-12)) << "lambda " << lambda;
    }
  }
}

TEST(LeastSquares, SmoothnessIsAttainedAlongTheTopEigenvectorWithoutRegulariser) {
  const ecco::Dataset data = regression_data(30, 6, 25);
  const Eigen::MatrixXd a = dense(data);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(a.transpose() * a);
  const Eigen::VectorXd top = solver.eigenvectors().col(5);  // eigenvalues ascending
  const auto problem = ecco::make_problem_factory("least_squares")->make(data);
  const Eigen::VectorXd x = random_vector(6, 26, 1.0);
  const Eigen::VectorXd y = x + 0.7 * top;
  Eigen::VectorXd gx(6);
  Eigen::VectorXd gy(6);
  problem->loss_and_gradient(x, gx);
  problem->loss_and_gradient(y, gy);
  EXPECT_NEAR((gx - gy).norm() / (x - y).norm(), problem->smoothness(), 1e-10 * problem->smoothness());
}

TEST(LeastSquares, PlConstantIsTheSmallestEigenvalueOfTheAverageHessian) {
  // 53 rows over 4 clients: N_i = 13, 13, 13, 14 (unequal, so the 1/N_i weights matter).
  const ecco::Dataset data = regression_data(53, 5, 27);
  const ecco::ClientSplit split = ecco::make_split(data, 4, "contiguous");
  std::vector<ecco::Dataset> shards;
  for (std::size_t i = 0; i < 4; ++i) shards.push_back(split.shard(data, i));

  Eigen::MatrixXd hessian = Eigen::MatrixXd::Zero(5, 5);
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(5);
  for (const ecco::Dataset& shard : shards) {
    const Eigen::MatrixXd a = dense(shard);
    const double weight = 2.0 / static_cast<double>(a.rows());
    hessian += weight * a.transpose() * a;
    rhs += weight * a.transpose() * shard.labels;
  }
  hessian /= 4.0;
  rhs /= 4.0;
  const double mu = symmetric_eigenvalues(hessian).minCoeff();
  ASSERT_GT(mu, 1e-3);

  const auto factory = ecco::make_problem_factory("least_squares:lambda=0");
  EXPECT_NEAR(factory->pl_constant(shards), mu, 1e-10 * mu);
  EXPECT_EQ(ecco::make_problem_factory("least_squares:lambda=0.1")->pl_constant(shards), 0.0);
  EXPECT_EQ(ecco::make_problem_factory("logistic:lambda=0")->pl_constant(shards), 0.0);

  // mu is a PL constant of f = (1/n) sum f_i: ||grad f(x)||^2 / 2 >= mu (f(x) - f*).
  const Eigen::VectorXd x_star = hessian.ldlt().solve(rhs);
  std::vector<std::unique_ptr<ecco::Problem>> problems;
  for (const ecco::Dataset& shard : shards) problems.push_back(factory->make(shard));
  const auto f_and_grad = [&](const Eigen::VectorXd& x, Eigen::VectorXd& grad) {
    grad = Eigen::VectorXd::Zero(5);
    double value = 0.0;
    for (const auto& problem : problems) {
      Eigen::VectorXd g(5);
      value += problem->loss_and_gradient(x, g);
      grad += g;
    }
    grad /= 4.0;
    return value / 4.0;
  };
  Eigen::VectorXd grad(5);
  const double f_star = f_and_grad(x_star, grad);
  EXPECT_LE(grad.norm(), 1e-10 * (1.0 + rhs.norm()));
  for (std::uint64_t s = 0; s < 20; ++s) {
    const Eigen::VectorXd x = x_star + random_vector(5, 400 + s, 1.0);
    const double gap = f_and_grad(x, grad) - f_star;
    EXPECT_GE(0.5 * grad.squaredNorm(), mu * gap * (1.0 - 1e-9));
  }
}

TEST(LeastSquares, PlConstantIsZeroWhenTheHessianIsSingular) {
  // Two wide shards of 3 rows in dimension 10: the average Hessian has rank <= 6.
  const ecco::Dataset data = regression_data(6, 10, 28);
  const std::vector<ecco::Dataset> shards = {data.slice(0, 3), data.slice(3, 6)};
  const double mu = ecco::make_problem_factory("least_squares")->pl_constant(shards);
  EXPECT_GE(mu, 0.0);
  EXPECT_LE(mu, 1e-12);
}

// =======================================================================================
// batch_gradient (logistic and least squares)

namespace {

struct BatchCase {
  std::string spec;
  double lambda;
  bool logistic;
};

std::vector<BatchCase> batch_cases() {
  return {{"logistic:lambda=0", 0.0, true},
          {"logistic:lambda=0.1", 0.1, true},
          {"least_squares:lambda=0", 0.0, false},
          {"least_squares:lambda=0.7", 0.7, false}};
}

ecco::Dataset batch_data(const BatchCase& c) {
  return c.logistic ? classification_data(47, 8, 31) : regression_data(47, 8, 31);
}

Eigen::VectorXd dense_batch_gradient(const BatchCase& c, const ecco::Dataset& data,
                                     const std::vector<std::uint32_t>& batch, const Eigen::VectorXd& x) {
  const Eigen::MatrixXd a = dense(data);
  Eigen::VectorXd g = Eigen::VectorXd::Zero(a.cols());
  for (const std::uint32_t j : batch) {
    const auto row = static_cast<Eigen::Index>(j);
    g += c.logistic ? logistic_row_gradient(a, data.labels, row, x) : ls_row_gradient(a, data.labels, row, x);
  }
  g /= static_cast<double>(batch.size());
  return g + reg_gradient(x, c.lambda);
}

}  // namespace

TEST(BatchGradient, AllRowsEqualTheFullGradient) {
  for (const BatchCase& c : batch_cases()) {
    const ecco::Dataset data = batch_data(c);
    const auto problem = ecco::make_problem_factory(c.spec)->make(data);
    std::vector<std::uint32_t> all = identity_order(data.rows());
    std::vector<std::uint32_t> reversed(all.rbegin(), all.rend());
    for (std::uint64_t s = 0; s < 4; ++s) {
      const Eigen::VectorXd x = random_vector(8, 500 + s, 1.0);
      Eigen::VectorXd full(8);
      problem->loss_and_gradient(x, full);
      for (const auto* batch : {&all, &reversed}) {
        Eigen::VectorXd g = Eigen::VectorXd::Constant(8, 123.0);  // overwritten, not accumulated into
        problem->batch_gradient(x, *batch, g);
        EXPECT_LE((g - full).norm(), 1e-12 * full.norm()) << c.spec;
      }
    }
  }
}

TEST(BatchGradient, SubsetMatchesDenseReference) {
  for (const BatchCase& c : batch_cases()) {
    const ecco::Dataset data = batch_data(c);
    const auto problem = ecco::make_problem_factory(c.spec)->make(data);
    const std::vector<std::vector<std::uint32_t>> batches = {{0}, {46}, {3, 17, 29, 44}, {40, 2, 11, 9, 33, 20, 7}};
    for (std::uint64_t s = 0; s < 3; ++s) {
      const Eigen::VectorXd x = random_vector(8, 600 + s, 1.5);
      for (const auto& batch : batches) {
        Eigen::VectorXd g = Eigen::VectorXd::Constant(8, -9.0);
        problem->batch_gradient(x, batch, g);
        const Eigen::VectorXd expected = dense_batch_gradient(c, data, batch, x);
        EXPECT_LE((g - expected).norm(), 1e-12 * expected.norm()) << c.spec << " batch of " << batch.size();
      }
    }
  }
}

TEST(BatchGradient, DuplicatesCountTwice) {
  for (const BatchCase& c : batch_cases()) {
    const ecco::Dataset data = batch_data(c);
    const Eigen::MatrixXd a = dense(data);
    const auto problem = ecco::make_problem_factory(c.spec)->make(data);
    const Eigen::VectorXd x = random_vector(8, 700, 1.0);
    const std::vector<std::uint32_t> batch = {5, 12, 5};
    Eigen::VectorXd g(8);
    problem->batch_gradient(x, batch, g);
    const auto row_grad = [&](Eigen::Index j) {
      return c.logistic ? logistic_row_gradient(a, data.labels, j, x) : ls_row_gradient(a, data.labels, j, x);
    };
    const Eigen::VectorXd expected = (2.0 * row_grad(5) + row_grad(12)) / 3.0 + reg_gradient(x, c.lambda);
    EXPECT_LE((g - expected).norm(), 1e-12 * expected.norm()) << c.spec;
    // Same as the full gradient of a problem on the selected rows (duplicates included).
    const auto on_selection = ecco::make_problem_factory(c.spec)->make(data.select(batch));
    Eigen::VectorXd full(8);
    on_selection->loss_and_gradient(x, full);
    EXPECT_LE((g - full).norm(), 1e-12 * full.norm()) << c.spec;
    // And differs from the batch without the duplicate (the row is not de-duplicated).
    Eigen::VectorXd once(8);
    problem->batch_gradient(x, std::vector<std::uint32_t>{5, 12}, once);
    EXPECT_GT((g - once).norm(), 1e-6 * once.norm()) << c.spec;
  }
}

// =======================================================================================
// make_synthetic_regression

namespace {

struct RegressionCase {
  std::size_t clients;
  std::size_t rows;
  std::size_t dim;
  double spread;
  double cond;
};

const RegressionCase kRegressionCases[] = {
    {2, 5, 5, 10.0, 1.0},     {5, 20, 8, 100.0, 10.0}, {20, 30, 12, 1e4, 100.0},
    {3, 9, 4, 1.0, 3.0},      {7, 11, 2, 2.5, 1e3},    {4, 16, 16, 1e6, 50.0},
};

ecco::SyntheticRegression to_config(const RegressionCase& c, double noise = 0.0, std::uint64_t seed = 1) {
  ecco::SyntheticRegression config;
  config.clients = c.clients;
  config.rows = c.rows;
  config.dim = c.dim;
  config.spread = c.spread;
  config.cond = c.cond;
  config.noise = noise;
  config.seed = seed;
  return config;
}

std::string describe(const RegressionCase& c) {
  return "clients=" + std::to_string(c.clients) + " rows=" + std::to_string(c.rows) + " dim=" +
         std::to_string(c.dim) + " spread=" + std::to_string(c.spread) + " cond=" + std::to_string(c.cond);
}

// c_i geometric over max/min = spread, normalised to mean 1, ascending.
std::vector<double> expected_scales(std::size_t n, double spread) {
  std::vector<double> c(n, 1.0);
  if (n == 1) return c;
  const double ratio = std::pow(spread, 1.0 / static_cast<double>(n - 1));
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    c[i] = std::pow(ratio, static_cast<double>(i));
    sum += c[i];
  }
  for (double& v : c) v *= static_cast<double>(n) / sum;
  return c;
}

std::vector<ecco::Dataset> client_blocks(const ecco::Dataset& data, const RegressionCase& c) {
  std::vector<ecco::Dataset> blocks;
  for (std::size_t i = 0; i < c.clients; ++i) blocks.push_back(data.slice(i * c.rows, (i + 1) * c.rows));
  return blocks;
}

}  // namespace

TEST(SyntheticRegression, ShapeAndClientOrder) {
  for (const RegressionCase& c : kRegressionCases) {
    SCOPED_TRACE(describe(c));
    const ecco::Dataset data = ecco::make_synthetic_regression(to_config(c));
    EXPECT_EQ(data.rows(), c.clients * c.rows);
    EXPECT_EQ(data.dim(), c.dim);
    EXPECT_EQ(data.labels.size(), idx(c.clients * c.rows));
    // The contiguous split over `clients` gives each client exactly its generated block.
    const ecco::ClientSplit split = ecco::make_split(data, c.clients, "contiguous");
    for (std::size_t i = 0; i < c.clients; ++i) {
      EXPECT_EQ(split.ranges[i].begin, i * c.rows);
      EXPECT_EQ(split.ranges[i].end, (i + 1) * c.rows);
    }
  }
}

TEST(SyntheticRegression, ClientGramMatricesAreScaledDiagonalSpectra) {
  // (2/rows) A_i^T A_i = 2 c_i diag(s), s geometric from 1/cond to 1.
  for (const RegressionCase& c : kRegressionCases) {
    SCOPED_TRACE(describe(c));
    const ecco::Dataset data = ecco::make_synthetic_regression(to_config(c));
    const std::vector<double> scales = expected_scales(c.clients, c.spread);
    std::vector<double> found;
    for (const ecco::Dataset& block : client_blocks(data, c)) {
      const Eigen::MatrixXd a = dense(block);
      const Eigen::MatrixXd gram = (2.0 / static_cast<double>(c.rows)) * a.transpose() * a;
      const double scale = gram(idx(c.dim - 1), idx(c.dim - 1)) / 2.0;  // s_max = 1
      found.push_back(scale);
      Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(idx(c.dim), idx(c.dim));
      for (std::size_t j = 0; j < c.dim; ++j) {
        const double frac = c.dim > 1 ? static_cast<double>(j) / static_cast<double>(c.dim - 1) : 1.0;
        expected(idx(j), idx(j)) = 2.0 * scale * std::pow(c.cond, frac - 1.0);
      }
      EXPECT_LE((gram - expected).norm(), 1e-9 * expected.norm());
    }
    std::sort(found.begin(), found.end());
    for (std::size_t i = 0; i < c.clients; ++i) EXPECT_NEAR(found[i], scales[i], 1e-9 * scales[i]) << "client " << i;
  }
}

TEST(SyntheticRegression, ClientSmoothnessIsGeometricWithMeanTwo) {
  for (const RegressionCase& c : kRegressionCases) {
    for (const double lambda : {0.0, 0.2}) {
      SCOPED_TRACE(describe(c) + " lambda=" + std::to_string(lambda));
      const ecco::Dataset data = ecco::make_synthetic_regression(to_config(c));
      const auto factory = ecco::make_problem_factory("least_squares:lambda=" + std::to_string(lambda));
      std::vector<double> data_parts;  // L_i - 2 lambda = 2 c_i
      for (const ecco::Dataset& block : client_blocks(data, c)) {
        data_parts.push_back(factory->smoothness_of(block) - 2.0 * lambda);
      }
      std::vector<double> sorted = data_parts;
      std::sort(sorted.begin(), sorted.end());
      const std::vector<double> scales = expected_scales(c.clients, c.spread);
      for (std::size_t i = 0; i < c.clients; ++i) {
        EXPECT_NEAR(sorted[i], 2.0 * scales[i], 1e-9 * scales[i]) << "client " << i;
      }
      // L_max / L_min = spread (data parts), L_AM = 2 (+ 2 lambda).
      EXPECT_NEAR(sorted.back() / sorted.front(), c.spread, 1e-9 * c.spread);
      const double mean = std::accumulate(data_parts.begin(), data_parts.end(), 0.0) / static_cast<double>(c.clients);
      EXPECT_NEAR(mean, 2.0, 1e-9);
      // L on all rows stays 2 (+ 2 lambda) for every spread.
      EXPECT_NEAR(factory->smoothness_of(data), 2.0 + 2.0 * lambda, 1e-9);
    }
  }
}

TEST(SyntheticRegression, PlConstantIsTwoOverCond) {
  for (const RegressionCase& c : kRegressionCases) {
    SCOPED_TRACE(describe(c));
    const ecco::Dataset data = ecco::make_synthetic_regression(to_config(c));
    const std::vector<ecco::Dataset> blocks = client_blocks(data, c);
    const double expected = 2.0 / c.cond;
    EXPECT_NEAR(ecco::make_problem_factory("least_squares")->pl_constant(blocks), expected, 1e-9 * expected);
    EXPECT_EQ(ecco::make_problem_factory("least_squares:lambda=0.01")->pl_constant(blocks), 0.0);
    // Independent dense check of the same quantity.
    Eigen::MatrixXd hessian = Eigen::MatrixXd::Zero(idx(c.dim), idx(c.dim));
    for (const ecco::Dataset& block : blocks) {
      const Eigen::MatrixXd a = dense(block);
      hessian += (2.0 / static_cast<double>(c.rows)) * a.transpose() * a;
    }
    hessian /= static_cast<double>(c.clients);
    const Eigen::VectorXd eig = symmetric_eigenvalues(hessian);
    EXPECT_NEAR(eig.minCoeff(), expected, 1e-9 * expected);
    EXPECT_NEAR(eig.maxCoeff(), 2.0, 1e-9);
  }
}

TEST(SyntheticRegression, NoiselessTargetsAreConsistent) {
  for (const RegressionCase& c : kRegressionCases) {
    SCOPED_TRACE(describe(c));
    const ecco::Dataset data = ecco::make_synthetic_regression(to_config(c, 0.0, 7));
    const Eigen::MatrixXd a = dense(data);
    const Eigen::VectorXd& b = data.labels;
    const Eigen::VectorXd x = (a.transpose() * a).ldlt().solve(a.transpose() * b);
    EXPECT_LE((a * x - b).norm(), 1e-9 * b.norm());
    const auto factory = ecco::make_problem_factory("least_squares");
    for (const ecco::Dataset& block : client_blocks(data, c)) {
      const auto problem = factory->make(block);
      Eigen::VectorXd g(idx(c.dim));
      const double loss = problem->loss_and_gradient(x, g);
      const Eigen::VectorXd at_zero_grad = (2.0 / static_cast<double>(c.rows)) * dense(block).transpose() * block.labels;
      EXPECT_LE(g.norm(), 1e-9 * (1.0 + at_zero_grad.norm()));
      EXPECT_LE(loss, 1e-18 * (1.0 + block.labels.squaredNorm()));
    }
  }
}

TEST(SyntheticRegression, NoiseMakesTheSystemInconsistent) {
  const RegressionCase c{4, 15, 5, 10.0, 10.0};
  const ecco::Dataset clean = ecco::make_synthetic_regression(to_config(c, 0.0, 3));
  const ecco::Dataset noisy = ecco::make_synthetic_regression(to_config(c, 0.5, 3));
  const Eigen::MatrixXd a = dense(noisy);
  const Eigen::VectorXd x = (a.transpose() * a).ldlt().solve(a.transpose() * noisy.labels);
  // 60 equations, 5 unknowns, N(0, 0.25) noise: the residual is far from zero.
  EXPECT_GT((a * x - noisy.labels).norm(), 1e-3 * noisy.labels.norm());
  // The noise does not change the features.
  EXPECT_EQ(dense(clean), dense(noisy));
}

TEST(SyntheticRegression, DeterministicPerSeed) {
  const RegressionCase c{3, 10, 4, 5.0, 4.0};
  for (const double noise : {0.0, 1.0}) {
    const ecco::Dataset a = ecco::make_synthetic_regression(to_config(c, noise, 11));
    const ecco::Dataset b = ecco::make_synthetic_regression(to_config(c, noise, 11));
    const ecco::Dataset other = ecco::make_synthetic_regression(to_config(c, noise, 12));
    EXPECT_EQ(dense(a), dense(b));
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_NE(dense(a), dense(other));
    EXPECT_NE(a.labels, other.labels);
  }
}

TEST(SyntheticRegression, InvalidConfigsAreConfigErrors) {
  const RegressionCase base{3, 10, 4, 5.0, 4.0};
  auto config = to_config(base);
  EXPECT_NO_THROW((void)ecco::make_synthetic_regression(config));
  config.rows = 3;  // < dim
  EXPECT_THROW((void)ecco::make_synthetic_regression(config), ecco::ConfigError);
  config = to_config(base);
  config.spread = 0.99;
  EXPECT_THROW((void)ecco::make_synthetic_regression(config), ecco::ConfigError);
  config = to_config(base);
  config.cond = 0.5;
  EXPECT_THROW((void)ecco::make_synthetic_regression(config), ecco::ConfigError);
  config = to_config(base);
  config.noise = -0.1;
  EXPECT_THROW((void)ecco::make_synthetic_regression(config), ecco::ConfigError);
  config = to_config(base);
  config.spread = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW((void)ecco::make_synthetic_regression(config), ecco::ConfigError);
  config = to_config(base);
  config.clients = 0;
  EXPECT_THROW((void)ecco::make_synthetic_regression(config), ecco::ConfigError);
  config = to_config(base);
  config.dim = 0;
  EXPECT_THROW((void)ecco::make_synthetic_regression(config), ecco::ConfigError);
}

// =======================================================================================
// load_dataset

TEST(DataSource, TableListsTheGeneratorsAndIdxSources) {
  std::set<std::string> names;
  for (const ecco::SpecEntry& entry : ecco::data_generator_table()) names.insert(entry.name);
  EXPECT_EQ(names, (std::set<std::string>{"synthetic_classification", "synthetic", "fashion_mnist", "idx"}));
}

TEST(DataSource, SyntheticFollowsTheClientsArgument) {
  for (const std::size_t clients : {std::size_t{1}, std::size_t{4}, std::size_t{9}}) {
    const ecco::Dataset data = ecco::load_dataset("synthetic:rows=12,dim=3", std::nullopt, clients);
    EXPECT_EQ(data.rows(), 12 * clients);
    EXPECT_EQ(data.dim(), 3U);
    const ecco::Dataset explicit_zero = ecco::load_dataset("synthetic:clients=0,rows=12,dim=3", std::nullopt, clients);
    EXPECT_EQ(dense(explicit_zero), dense(data));
    EXPECT_EQ(explicit_zero.labels, data.labels);
    // The same rows as the generator called directly for that many clients.
    ecco::SyntheticRegression config;
    config.clients = clients;
    config.rows = 12;
    config.dim = 3;
    const ecco::Dataset direct = ecco::make_synthetic_regression(config);
    EXPECT_EQ(dense(direct), dense(data));
    EXPECT_EQ(direct.labels, data.labels);
  }
  const ecco::Dataset defaults = ecco::load_dataset("synthetic", std::nullopt, 3);
  EXPECT_EQ(defaults.rows(), 3U * 50U);
  EXPECT_EQ(defaults.dim(), 20U);
}

TEST(DataSource, SyntheticClientsMustMatchTheArgument) {
  const std::string message =
      config_error_message([] { (void)ecco::load_dataset("synthetic:clients=3,rows=10,dim=2", std::nullopt, 4); });
  EXPECT_NE(message.find('3'), std::string::npos) << message;
  EXPECT_NE(message.find('4'), std::string::npos) << message;
  const ecco::Dataset ok = ecco::load_dataset("synthetic:clients=4,rows=10,dim=2", std::nullopt, 4);
  EXPECT_EQ(ok.rows(), 40U);
  EXPECT_THROW((void)ecco::load_dataset("synthetic:clients=-1", std::nullopt, 4), ecco::ConfigError);
  EXPECT_THROW((void)ecco::load_dataset("synthetic", std::nullopt, 0), ecco::ConfigError);
}

TEST(DataSource, SyntheticClassificationSpec) {
  const ecco::Dataset data = ecco::load_dataset("synthetic_classification:rows=10,dim=3", std::nullopt, 2);
  EXPECT_EQ(data.rows(), 10U);
  EXPECT_EQ(data.dim(), 3U);
  for (Eigen::Index r = 0; r < data.labels.size(); ++r) {
    EXPECT_TRUE(data.labels[r] == 1.0 || data.labels[r] == -1.0) << data.labels[r];
  }
  // Independent of --clients.
  const ecco::Dataset again = ecco::load_dataset("synthetic_classification:rows=10,dim=3", 3, 7);
  EXPECT_EQ(dense(again), dense(data));
  EXPECT_EQ(again.labels, data.labels);
}

TEST(DataSource, DimContradictionIsAConfigError) {
  const std::string message = config_error_message(
      [] { (void)ecco::load_dataset("synthetic_classification:rows=10,dim=3", std::size_t{4}, 1); });
  EXPECT_NE(message.find("--dim"), std::string::npos) << message;
  EXPECT_THROW((void)ecco::load_dataset("synthetic:rows=10,dim=3", std::size_t{5}, 2), ecco::ConfigError);
  EXPECT_THROW((void)ecco::load_dataset("synthetic", std::size_t{19}, 2), ecco::ConfigError);
  EXPECT_EQ(ecco::load_dataset("synthetic", std::size_t{20}, 2).dim(), 20U);
}

TEST(DataSource, BadGeneratorSpecsAreConfigErrors) {
  const std::string message = config_error_message([] { (void)ecco::load_dataset("synthetic:size=3", std::nullopt, 2); });
  EXPECT_NE(message.find("size"), std::string::npos) << message;
  EXPECT_NE(message.find("spread"), std::string::npos) << message;
  EXPECT_THROW((void)ecco::load_dataset("synthetic_classification:rows=0", std::nullopt, 1), ecco::ConfigError);
  EXPECT_THROW((void)ecco::load_dataset("synthetic_classification:dim=-2", std::nullopt, 1), ecco::ConfigError);
  EXPECT_THROW((void)ecco::load_dataset("synthetic:rows=2,dim=3", std::nullopt, 1), ecco::ConfigError);
  EXPECT_THROW((void)ecco::load_dataset("synthetic:spread=0.5", std::nullopt, 1), ecco::ConfigError);
  EXPECT_THROW((void)ecco::load_dataset("synthetic:cond=abc", std::nullopt, 1), ecco::ConfigError);
}

TEST(DataSource, OtherTextIsALibsvmPath) {
  const TempDir dir;
  const std::string path = dir.write("tiny.svm", "1 1:0.5 3:2\n-1 2:1.5\n1 3:-4\n");
  const ecco::Dataset data = ecco::load_dataset(path, std::nullopt, 3);
  ASSERT_EQ(data.rows(), 3U);
  ASSERT_EQ(data.dim(), 3U);
  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(3, 3);
  expected(0, 0) = 0.5;
  expected(0, 2) = 2.0;
  expected(1, 1) = 1.5;
  expected(2, 2) = -4.0;
  EXPECT_EQ(dense(data), expected);
  EXPECT_EQ(data.labels, Eigen::Vector3d(1.0, -1.0, 1.0));
  EXPECT_EQ(data.source, path);
  EXPECT_EQ(ecco::load_dataset(path, std::size_t{6}, 1).dim(), 6U);
  EXPECT_THROW((void)ecco::load_dataset(path, std::size_t{2}, 1), ecco::DataError);
  EXPECT_THROW((void)ecco::load_dataset((fs::path(path).parent_path() / "missing.svm").string(), std::nullopt, 1),
               ecco::DataError);
}

TEST(DataSource, SourceIsTheCanonicalSpecWithDefaults) {
  EXPECT_EQ(ecco::load_dataset("synthetic_classification:rows=10,dim=3", std::nullopt, 1).source,
            "synthetic_classification:density=0.2,dim=3,noise=0.1,rows=10,seed=1");
  EXPECT_EQ(ecco::load_dataset("synthetic_classification: dim = 3 ,rows=10", std::nullopt, 1).source,
            "synthetic_classification:density=0.2,dim=3,noise=0.1,rows=10,seed=1");
  // The client count is the resolved one (clients=0 means --clients).
  EXPECT_EQ(ecco::load_dataset("synthetic", std::nullopt, 2).source,
            "synthetic:clients=2,cond=10,dim=20,noise=0,rows=50,seed=1,spread=100");
  EXPECT_EQ(ecco::load_dataset("synthetic:seed=4,rows=30,dim=5,spread=3", std::nullopt, 2).source,
            "synthetic:clients=2,cond=10,dim=5,noise=0,rows=30,seed=4,spread=3");
}
