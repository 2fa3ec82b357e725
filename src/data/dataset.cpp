#include <algorithm>
#include <cmath>
#include <Eigen/QR>
#include <stdexcept>
#include <string>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/rng.hpp"

namespace ecco {

void assign_rows(SparseRows& out, Eigen::Index rows, Eigen::Index cols, std::span<const std::int64_t> outer,
                 std::span<const std::int64_t> inner, std::span<const double> values) {
  if (outer.size() != static_cast<std::size_t>(rows) + 1 || inner.size() != values.size() ||
      static_cast<std::size_t>(outer.back() - outer.front()) != values.size()) {
    throw std::invalid_argument("assign_rows: the CSR arrays do not match");
  }
  out.resize(rows, cols);
  out.resizeNonZeros(static_cast<Eigen::Index>(values.size()));
  for (std::size_t r = 0; r < outer.size(); ++r) out.outerIndexPtr()[r] = outer[r] - outer.front();
  std::copy(inner.begin(), inner.end(), out.innerIndexPtr());
  std::copy(values.begin(), values.end(), out.valuePtr());
}

Dataset Dataset::slice(std::size_t begin, std::size_t end) const {
  if (begin > end || end > rows()) {
    throw std::out_of_range("Dataset::slice: rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                            ") outside [0, " + std::to_string(rows()) + ")");
  }
  Dataset part;
  part.source = source;
  part.files = files;
  const auto b = static_cast<Eigen::Index>(begin);
  const auto n = static_cast<Eigen::Index>(end - begin);
  if (features.isCompressed()) {
    const std::int64_t* outer = features.outerIndexPtr();
    const auto first = static_cast<std::size_t>(outer[begin]);
    const auto last = static_cast<std::size_t>(outer[end]);
    assign_rows(part.features, n, features.cols(), std::span(outer + begin, end - begin + 1),
                std::span(features.innerIndexPtr() + first, last - first),
                std::span(features.valuePtr() + first, last - first));
  } else {
    part.features = features.middleRows(b, n);
  }
  part.labels = labels.segment(b, n);
  return part;
}

Dataset Dataset::select(std::span<const std::uint32_t> picked) const {
  std::vector<std::int64_t> outer{0};
  std::vector<std::int64_t> inner;
  std::vector<double> values;
  Dataset part;
  part.source = source;
  part.files = files;
  part.labels.resize(static_cast<Eigen::Index>(picked.size()));
  for (std::size_t k = 0; k < picked.size(); ++k) {
    if (picked[k] >= rows()) {
      throw std::out_of_range("Dataset::select: row " + std::to_string(picked[k]) + " outside [0, " +
                              std::to_string(rows()) + ")");
    }
    const auto row = static_cast<Eigen::Index>(picked[k]);
    for (SparseRows::InnerIterator it(features, row); it; ++it) {
      inner.push_back(it.index());
      values.push_back(it.value());
    }
    outer.push_back(static_cast<std::int64_t>(inner.size()));
    part.labels[static_cast<Eigen::Index>(k)] = labels[row];
  }
  assign_rows(part.features, static_cast<Eigen::Index>(picked.size()), features.cols(), outer, inner, values);
  return part;
}

namespace {

void fnv1a(std::uint64_t& h, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 0x100000001B3ULL;
  }
}

}  // namespace

std::uint64_t fingerprint(const Dataset& data) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  const std::uint64_t shape[3] = {data.rows(), data.dim(), static_cast<std::uint64_t>(data.features.nonZeros())};
  fnv1a(h, shape, sizeof shape);
  const auto nnz = static_cast<std::size_t>(data.features.nonZeros());
  fnv1a(h, data.features.outerIndexPtr(), (data.rows() + 1) * sizeof(std::int64_t));
  fnv1a(h, data.features.innerIndexPtr(), nnz * sizeof(std::int64_t));
  fnv1a(h, data.features.valuePtr(), nnz * sizeof(double));
  fnv1a(h, data.labels.data(), data.rows() * sizeof(double));
  return h;
}

std::vector<RowRange> split_contiguous(std::size_t rows, std::size_t clients) {
  if (clients == 0) throw ConfigError("--clients must be at least 1");
  if (clients > rows) {
    throw ConfigError("--clients " + std::to_string(clients) + " exceeds the " + std::to_string(rows) +
                      " data rows (every client needs at least one row)");
  }
  const std::size_t block = rows / clients;
  std::vector<RowRange> ranges(clients);
  for (std::size_t i = 0; i < clients; ++i) {
    ranges[i].begin = i * block;
    ranges[i].end = (i + 1 == clients) ? rows : (i + 1) * block;
  }
  return ranges;
}

Dataset make_synthetic_classification(const SyntheticClassification& config) {
  if (config.rows == 0 || config.dim == 0) throw ConfigError("synthetic data: rows and dim must be at least 1");
  if (!(config.density > 0.0 && config.density <= 1.0)) {
    throw ConfigError("synthetic data: density must be in (0, 1], got " + std::to_string(config.density));
  }
  if (!(config.noise >= 0.0)) throw ConfigError("synthetic data: noise must be >= 0");
  Rng rng(derive_seed(config.seed, kNoClient, SeedPurpose::data_generation));
  Eigen::VectorXd w(static_cast<Eigen::Index>(config.dim));
  for (Eigen::Index j = 0; j < w.size(); ++j) w[j] = rng.normal();

  const auto per_row = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::llround(config.density * static_cast<double>(config.dim))));
  std::vector<std::int64_t> outer{0};
  std::vector<std::int64_t> inner;
  std::vector<double> values;
  std::vector<double> labels;
  std::vector<std::uint32_t> pool(config.dim);
  for (std::size_t r = 0; r < config.rows; ++r) {
    // Partial Fisher-Yates: the first per_row entries of pool are a uniform sample.
    for (std::size_t j = 0; j < config.dim; ++j) pool[j] = static_cast<std::uint32_t>(j);
    for (std::size_t j = 0; j < per_row; ++j) {
      const std::size_t pick = j + static_cast<std::size_t>(rng.uniform_index(config.dim - j));
      std::swap(pool[j], pool[pick]);
    }
    std::sort(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(per_row));
    double margin = 0.0;
    for (std::size_t j = 0; j < per_row; ++j) {
      const double v = rng.uniform();
      inner.push_back(pool[j]);
      values.push_back(v);
      margin += v * w[pool[j]];
    }
    margin += config.noise * rng.normal();
    labels.push_back(margin >= 0.0 ? 1.0 : -1.0);
    outer.push_back(static_cast<std::int64_t>(inner.size()));
  }

  Dataset data;
  data.source = "synthetic_classification:rows=" + std::to_string(config.rows) + ",dim=" + std::to_string(config.dim);
  assign_rows(data.features, static_cast<Eigen::Index>(config.rows), static_cast<Eigen::Index>(config.dim), outer,
              inner, values);
  data.labels = Eigen::Map<const Eigen::VectorXd>(labels.data(), static_cast<Eigen::Index>(labels.size()));
  return data;
}

}  // namespace ecco

namespace ecco {

Dataset make_synthetic_regression(const SyntheticRegression& config) {
  const auto n = config.clients;
  const auto rows = config.rows;
  const auto d = config.dim;
  if (n == 0 || rows == 0 || d == 0) throw ConfigError("synthetic data: clients, rows and dim must be at least 1");
  if (rows < d) {
    throw ConfigError("synthetic data: rows per client (" + std::to_string(rows) + ") must be >= dim (" +
                      std::to_string(d) + ")");
  }
  if (!(config.spread >= 1.0) || !(config.cond >= 1.0)) {
    throw ConfigError("synthetic data: spread and cond must be >= 1");
  }
  if (!(config.noise >= 0.0)) throw ConfigError("synthetic data: noise must be >= 0");
  if (n * rows > std::size_t{1} << 31) throw ConfigError("synthetic data: clients * rows exceeds 2^31 rows");
  Rng rng(derive_seed(config.seed, kNoClient, SeedPurpose::data_generation));

  // Per-client scales c_i (geometric over [1/sqrt(spread), sqrt(spread)], mean 1) and the
  // shared spectrum s (geometric over [1/cond, 1]).
  std::vector<double> c(n, 1.0);
  if (n > 1) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      c[i] = std::pow(config.spread, static_cast<double>(i) / static_cast<double>(n - 1) - 0.5);
      sum += c[i];
    }
    for (double& ci : c) ci *= static_cast<double>(n) / sum;
  }
  Eigen::VectorXd sqrt_s(static_cast<Eigen::Index>(d));
  for (std::size_t j = 0; j < d; ++j) {
    const double frac = d > 1 ? static_cast<double>(j) / static_cast<double>(d - 1) : 1.0;
    sqrt_s[static_cast<Eigen::Index>(j)] = std::sqrt(std::pow(config.cond, frac - 1.0));
  }
  Eigen::VectorXd x_star(static_cast<Eigen::Index>(d));
  for (Eigen::Index j = 0; j < x_star.size(); ++j) x_star[j] = rng.normal();

  const auto r = static_cast<Eigen::Index>(rows);
  const auto cols = static_cast<Eigen::Index>(d);
  Eigen::MatrixXd all(static_cast<Eigen::Index>(n * rows), cols);
  Eigen::VectorXd targets(all.rows());
  Eigen::MatrixXd gaussian(r, cols);
  for (std::size_t i = 0; i < n; ++i) {
    for (Eigen::Index col = 0; col < cols; ++col) {
      for (Eigen::Index row = 0; row < r; ++row) gaussian(row, col) = rng.normal();
    }
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
    const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(r, cols);
    const Eigen::MatrixXd a = (q * sqrt_s.asDiagonal()) * std::sqrt(static_cast<double>(rows) * c[i]);
    const auto first = static_cast<Eigen::Index>(i * rows);
    all.middleRows(first, r) = a;
    targets.segment(first, r) = a * x_star;
    for (Eigen::Index row = 0; row < r; ++row) targets[first + row] += config.noise * rng.normal();
  }

  Dataset data;
  data.features = all.sparseView(0.0, 0.0);
  data.features.makeCompressed();
  data.labels = targets;
  data.source = "synthetic:clients=" + std::to_string(n) + ",rows=" + std::to_string(rows) + ",dim=" + std::to_string(d);
  return data;
}

}  // namespace ecco
