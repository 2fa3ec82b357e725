#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/rng.hpp"

namespace ecco {

Dataset Dataset::slice(std::size_t begin, std::size_t end) const {
  if (begin > end || end > rows()) {
    throw std::out_of_range("Dataset::slice: rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                            ") outside [0, " + std::to_string(rows()) + ")");
  }
  Dataset part;
  part.source = source;
  const auto b = static_cast<Eigen::Index>(begin);
  const auto n = static_cast<Eigen::Index>(end - begin);
  part.features = features.middleRows(b, n);
  part.labels = labels.segment(b, n);
  return part;
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
  data.source = "synthetic:rows=" + std::to_string(config.rows) + ",dim=" + std::to_string(config.dim);
  const Eigen::Map<const SparseRows> view(static_cast<Eigen::Index>(config.rows), static_cast<Eigen::Index>(config.dim),
                                          static_cast<Eigen::Index>(inner.size()), outer.data(), inner.data(),
                                          values.data());
  data.features = view;
  data.labels = Eigen::Map<const Eigen::VectorXd>(labels.data(), static_cast<Eigen::Index>(labels.size()));
  return data;
}

}  // namespace ecco
