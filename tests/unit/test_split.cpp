// Unit tests of the contiguous client split, Dataset::slice and the synthetic generator.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"

namespace {

// ---------------------------------------------------------------------------------------
// split_contiguous

// Checks the documented split of `rows` over `clients` against its definition:
// block = floor(rows / clients), client i owns [i * block, (i + 1) * block), the last client
// owns [(clients - 1) * block, rows).
void expect_paper_split(std::size_t rows, std::size_t clients) {
  SCOPED_TRACE("rows=" + std::to_string(rows) + " clients=" + std::to_string(clients));
  const std::vector<ecco::RowRange> ranges = ecco::split_contiguous(rows, clients);
  ASSERT_EQ(ranges.size(), clients);
  const std::size_t block = rows / clients;
  std::size_t next = 0;
  for (std::size_t i = 0; i < clients; ++i) {
    EXPECT_EQ(ranges[i].begin, next) << "client " << i << " does not start where the previous one ended";
    const std::size_t expected_size = (i + 1 < clients) ? block : rows - (clients - 1) * block;
    EXPECT_EQ(ranges[i].size(), expected_size) << "client " << i;
    EXPECT_GE(ranges[i].size(), 1U) << "client " << i;
    next = ranges[i].end;
  }
  EXPECT_EQ(ranges.front().begin, 0U);
  EXPECT_EQ(next, rows);
}

TEST(SplitContiguous, MushroomsOverTwentyClientsAsInThePapers) {
  // 8124 = 20 * 406 + 4: the first 19 clients get 406 rows, the last 406 + 4 = 410.
  const std::vector<ecco::RowRange> ranges = ecco::split_contiguous(8124, 20);
  ASSERT_EQ(ranges.size(), 20U);
  for (std::size_t i = 0; i < 19; ++i) {
    EXPECT_EQ(ranges[i].begin, 406 * i) << i;
    EXPECT_EQ(ranges[i].end, 406 * (i + 1)) << i;
    EXPECT_EQ(ranges[i].size(), 406U) << i;
  }
  EXPECT_EQ(ranges[19].begin, 7714U);
  EXPECT_EQ(ranges[19].end, 8124U);
  EXPECT_EQ(ranges[19].size(), 410U);
}

TEST(SplitContiguous, W8aOverHundredClients) {
  // 49749 = 100 * 497 + 49: the last client gets 497 + 49 = 546.
  const std::vector<ecco::RowRange> ranges = ecco::split_contiguous(49749, 100);
  ASSERT_EQ(ranges.size(), 100U);
  EXPECT_EQ(ranges[0].size(), 497U);
  EXPECT_EQ(ranges[98].size(), 497U);
  EXPECT_EQ(ranges[99].begin, 49203U);
  EXPECT_EQ(ranges[99].size(), 546U);
}

TEST(SplitContiguous, ExactDivision) {
  const std::vector<ecco::RowRange> ranges = ecco::split_contiguous(12, 4);
  ASSERT_EQ(ranges.size(), 4U);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(ranges[i].begin, 3 * i);
    EXPECT_EQ(ranges[i].end, 3 * i + 3);
  }
}

TEST(SplitContiguous, AsManyClientsAsRows) {
  const std::vector<ecco::RowRange> ranges = ecco::split_contiguous(7, 7);
  ASSERT_EQ(ranges.size(), 7U);
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(ranges[i].begin, i);
    EXPECT_EQ(ranges[i].end, i + 1);
  }
}

TEST(SplitContiguous, OneClientOwnsEverything) {
  const std::vector<ecco::RowRange> ranges = ecco::split_contiguous(8124, 1);
  ASSERT_EQ(ranges.size(), 1U);
  EXPECT_EQ(ranges[0].begin, 0U);
  EXPECT_EQ(ranges[0].end, 8124U);
  const std::vector<ecco::RowRange> single = ecco::split_contiguous(1, 1);
  ASSERT_EQ(single.size(), 1U);
  EXPECT_EQ(single[0].size(), 1U);
}

TEST(SplitContiguous, RemainderGoesToTheLastClientOnly) {
  // 10 = 3 * 3 + 1, and 11 = 6 * 1 + 5 (the remainder can exceed the block size).
  const std::vector<ecco::RowRange> a = ecco::split_contiguous(10, 3);
  ASSERT_EQ(a.size(), 3U);
  EXPECT_EQ(a[0].size(), 3U);
  EXPECT_EQ(a[1].size(), 3U);
  EXPECT_EQ(a[2].size(), 4U);
  const std::vector<ecco::RowRange> b = ecco::split_contiguous(11, 6);  // block 1, remainder 5
  ASSERT_EQ(b.size(), 6U);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(b[i].size(), 1U) << i;
  EXPECT_EQ(b[5].begin, 5U);
  EXPECT_EQ(b[5].size(), 6U);
}

TEST(SplitContiguous, CoversAllRowsContiguouslyForManySizes) {
  for (std::size_t rows : {1U, 2U, 3U, 10U, 97U, 100U, 1000U, 8124U}) {
    for (std::size_t clients : {1U, 2U, 3U, 7U, 10U, 64U, 97U, 100U, 1000U}) {
      if (clients > rows) continue;
      expect_paper_split(rows, clients);
    }
  }
}

TEST(SplitContiguous, ZeroClientsIsAConfigError) {
  EXPECT_THROW((void)ecco::split_contiguous(10, 0), ecco::ConfigError);
  EXPECT_THROW((void)ecco::split_contiguous(0, 0), ecco::ConfigError);
}

TEST(SplitContiguous, MoreClientsThanRowsIsAConfigError) {
  EXPECT_THROW((void)ecco::split_contiguous(10, 11), ecco::ConfigError);
  EXPECT_THROW((void)ecco::split_contiguous(0, 1), ecco::ConfigError);
  EXPECT_THROW((void)ecco::split_contiguous(8124, 8125), ecco::ConfigError);
}

// ---------------------------------------------------------------------------------------
// Dataset::slice

// 5 x 4 dataset: row r has value 10 * r + c + 1 at column c = r % 4, and also at column 3
// for odd r; label r - 2.
ecco::Dataset small_dataset() {
  ecco::Dataset data;
  data.source = "small";
  std::vector<Eigen::Triplet<double, std::int64_t>> triplets;
  for (std::int64_t r = 0; r < 5; ++r) {
    const std::int64_t c = r % 4;
    triplets.emplace_back(r, c, static_cast<double>(10 * r + c + 1));
    if (r % 2 == 1 && c != 3) triplets.emplace_back(r, 3, static_cast<double>(100 + r));
  }
  data.features.resize(5, 4);
  data.features.setFromTriplets(triplets.begin(), triplets.end());
  data.labels.resize(5);
  for (Eigen::Index r = 0; r < 5; ++r) data.labels[r] = static_cast<double>(r - 2);
  return data;
}

TEST(SplitSlice, ReturnsTheRequestedRowsAndLabels) {
  const ecco::Dataset data = small_dataset();
  const ecco::Dataset part = data.slice(1, 4);
  ASSERT_EQ(part.rows(), 3U);
  ASSERT_EQ(part.dim(), 4U);
  EXPECT_EQ(part.source, "small");
  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(3, 4);
  expected(0, 1) = 12.0;   // row 1
  expected(0, 3) = 101.0;  // row 1, odd
  expected(1, 2) = 23.0;   // row 2
  expected(2, 3) = 34.0;   // row 3 (c = 3 already)
  EXPECT_EQ(Eigen::MatrixXd(part.features.toDense()), expected);
  Eigen::VectorXd labels(3);
  labels << -1.0, 0.0, 1.0;
  EXPECT_EQ(part.labels, labels);
}

TEST(SplitSlice, WholeRangeEqualsTheDataset) {
  const ecco::Dataset data = small_dataset();
  const ecco::Dataset all = data.slice(0, 5);
  EXPECT_EQ(Eigen::MatrixXd(all.features.toDense()), Eigen::MatrixXd(data.features.toDense()));
  EXPECT_EQ(all.labels, data.labels);
}

TEST(SplitSlice, SingleAndEmptyRanges) {
  const ecco::Dataset data = small_dataset();
  const ecco::Dataset last = data.slice(4, 5);
  ASSERT_EQ(last.rows(), 1U);
  EXPECT_EQ(last.features.coeff(0, 0), 41.0);
  EXPECT_EQ(last.features.nonZeros(), 1);
  EXPECT_EQ(last.labels[0], 2.0);
  const ecco::Dataset none = data.slice(2, 2);
  EXPECT_EQ(none.rows(), 0U);
  EXPECT_EQ(none.dim(), 4U);
  EXPECT_EQ(none.labels.size(), 0);
}

TEST(SplitSlice, SlicesOfASplitReassembleTheDataset) {
  const ecco::Dataset data = small_dataset();
  const Eigen::MatrixXd full = data.features.toDense();
  for (const ecco::RowRange& range : ecco::split_contiguous(data.rows(), 2)) {
    const ecco::Dataset part = data.slice(range.begin, range.end);
    const auto b = static_cast<Eigen::Index>(range.begin);
    const auto n = static_cast<Eigen::Index>(range.size());
    EXPECT_EQ(Eigen::MatrixXd(part.features.toDense()), Eigen::MatrixXd(full.middleRows(b, n)));
    EXPECT_EQ(part.labels, Eigen::VectorXd(data.labels.segment(b, n)));
  }
}

// ---------------------------------------------------------------------------------------
// make_synthetic_classification

bool same_data(const ecco::Dataset& a, const ecco::Dataset& b) {
  return a.rows() == b.rows() && a.dim() == b.dim() &&
         Eigen::MatrixXd(a.features.toDense()) == Eigen::MatrixXd(b.features.toDense()) && a.labels == b.labels;
}

// Checks the generator's documented shape: `per_row` strictly increasing columns per row,
// values in [0, 1), labels in {-1, +1}.
void expect_synthetic_shape(const ecco::SyntheticClassification& config, Eigen::Index per_row) {
  const ecco::Dataset data = ecco::make_synthetic_classification(config);
  ASSERT_EQ(data.rows(), config.rows);
  ASSERT_EQ(data.dim(), config.dim);
  ASSERT_EQ(data.labels.size(), static_cast<Eigen::Index>(config.rows));
  for (Eigen::Index r = 0; r < data.features.outerSize(); ++r) {
    Eigen::Index count = 0;
    std::int64_t previous = -1;
    for (ecco::SparseRows::InnerIterator it(data.features, r); it; ++it) {
      EXPECT_GT(it.col(), previous) << "row " << r;
      EXPECT_GE(it.value(), 0.0) << "row " << r;
      EXPECT_LT(it.value(), 1.0) << "row " << r;
      previous = it.col();
      ++count;
    }
    EXPECT_EQ(count, per_row) << "row " << r;
    EXPECT_TRUE(data.labels[r] == -1.0 || data.labels[r] == 1.0) << "row " << r << " label " << data.labels[r];
  }
}

TEST(SyntheticClassification, DeterministicForASeed) {
  ecco::SyntheticClassification config;
  config.rows = 300;
  config.dim = 40;
  config.seed = 17;
  const ecco::Dataset a = ecco::make_synthetic_classification(config);
  const ecco::Dataset b = ecco::make_synthetic_classification(config);
  EXPECT_TRUE(same_data(a, b));
}

TEST(SyntheticClassification, DifferentSeedsDiffer) {
  ecco::SyntheticClassification config;
  config.rows = 300;
  config.dim = 40;
  config.seed = 1;
  const ecco::Dataset a = ecco::make_synthetic_classification(config);
  config.seed = 2;
  const ecco::Dataset b = ecco::make_synthetic_classification(config);
  EXPECT_FALSE(same_data(a, b));
  EXPECT_NE(Eigen::MatrixXd(a.features.toDense()), Eigen::MatrixXd(b.features.toDense()));
}

TEST(SyntheticClassification, DefaultShape) {
  // Defaults: 2000 rows, dim 50, density 0.2 -> 0.2 * 50 = 10 non-zeros per row.
  expect_synthetic_shape(ecco::SyntheticClassification{}, 10);
}

TEST(SyntheticClassification, NonZerosPerRowIsRoundedDensityTimesDim) {
  ecco::SyntheticClassification config;
  config.rows = 200;
  config.dim = 7;
  config.density = 0.5;  // 3.5 rounds to 4
  expect_synthetic_shape(config, 4);
  config.dim = 10;
  config.density = 0.33;  // 3.3 rounds to 3
  expect_synthetic_shape(config, 3);
  config.density = 0.37;  // 3.7 rounds to 4
  expect_synthetic_shape(config, 4);
}

TEST(SyntheticClassification, AtLeastOneNonZeroPerRow) {
  ecco::SyntheticClassification config;
  config.rows = 100;
  config.dim = 10;
  config.density = 0.01;  // 0.1 rounds to 0, raised to 1
  expect_synthetic_shape(config, 1);
  config.dim = 1;
  config.density = 0.3;
  expect_synthetic_shape(config, 1);
}

TEST(SyntheticClassification, FullDensityFillsEveryColumn) {
  ecco::SyntheticClassification config;
  config.rows = 50;
  config.dim = 13;
  config.density = 1.0;
  expect_synthetic_shape(config, 13);
}

TEST(SyntheticClassification, BothClassesAppear) {
  const ecco::Dataset data = ecco::make_synthetic_classification(ecco::SyntheticClassification{});
  const auto positives = (data.labels.array() > 0.0).count();
  EXPECT_GT(positives, 0);
  EXPECT_LT(positives, data.labels.size());
}

TEST(SyntheticClassification, ColumnsAndValuesAreRoughlyUniform) {
  // 2000 rows x 10 picks out of 50 columns: every column is picked 400 times on average.
  // Chi-square with 49 degrees of freedom has mean 49 and sd ~9.9; 150 is ~10 sd away.
  ecco::SyntheticClassification config;
  config.seed = 5;
  const ecco::Dataset data = ecco::make_synthetic_classification(config);
  std::vector<double> counts(config.dim, 0.0);
  double sum = 0.0;
  double n = 0.0;
  for (Eigen::Index r = 0; r < data.features.outerSize(); ++r) {
    for (ecco::SparseRows::InnerIterator it(data.features, r); it; ++it) {
      counts[static_cast<std::size_t>(it.col())] += 1.0;
      sum += it.value();
      n += 1.0;
    }
  }
  ASSERT_EQ(n, 20000.0);
  const double expected = n / static_cast<double>(config.dim);
  double chi2 = 0.0;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 150.0);
  // Values ~ U[0, 1): mean 1/2, sd of the mean sqrt(1/12 / 20000) ~ 0.00204; 6 sd ~ 0.0123.
  EXPECT_NEAR(sum / n, 0.5, 6.0 * std::sqrt(1.0 / 12.0 / n));
}

TEST(SyntheticClassification, InvalidConfigsAreConfigErrors) {
  const auto with = [](auto change) {
    ecco::SyntheticClassification config;
    config.rows = 10;
    config.dim = 5;
    change(config);
    return config;
  };
  using Config = ecco::SyntheticClassification;
  EXPECT_THROW((void)ecco::make_synthetic_classification(with([](Config& c) { c.rows = 0; })), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_synthetic_classification(with([](Config& c) { c.dim = 0; })), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_synthetic_classification(with([](Config& c) { c.density = 0.0; })), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_synthetic_classification(with([](Config& c) { c.density = -0.5; })), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_synthetic_classification(with([](Config& c) { c.density = 1.0001; })),
               ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_synthetic_classification(with([](Config& c) { c.density = 2.0; })), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_synthetic_classification(
                   with([](Config& c) { c.density = std::numeric_limits<double>::quiet_NaN(); })),
               ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_synthetic_classification(with([](Config& c) { c.noise = -1.0; })), ecco::ConfigError);
  // The boundary values themselves are fine.
  EXPECT_NO_THROW((void)ecco::make_synthetic_classification(with([](Config& c) { c.density = 1.0; })));
  EXPECT_NO_THROW((void)ecco::make_synthetic_classification(with([](Config& c) { c.noise = 0.0; })));
}

}  // namespace
