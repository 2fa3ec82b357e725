#include "problems/classes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

std::string label_text(double label) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.15g", label);
  return buffer;
}

}  // namespace

void ClassMap::prepare(const Dataset& train) {
  std::vector<double> labels(train.labels.data(), train.labels.data() + train.labels.size());
  for (std::size_t j = 0; j < labels.size(); ++j) {
    if (!std::isfinite(labels[j])) {
      throw DataError(train.source + ": label " + label_text(labels[j]) + " in row " + std::to_string(j + 1) +
                      " is not a finite number");
    }
  }
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (labels.size() < kMinClasses || labels.size() > kMaxClasses) {
    throw DataError(train.source + ": " + std::to_string(labels.size()) + " distinct label" +
                    (labels.size() == 1 ? "" : "s") + " in the training set; problem '" + problem_ + "' needs " +
                    std::to_string(kMinClasses) + " to " + std::to_string(kMaxClasses) + " classes");
  }
  labels_ = std::move(labels);
  input_dim_ = train.dim();
}

void ClassMap::require_prepared() const {
  if (!prepared()) throw std::logic_error("problem '" + problem_ + "': prepare(train) was not called");
}

std::size_t ClassMap::classes() const {
  require_prepared();
  return labels_.size();
}

std::size_t ClassMap::input_dim() const {
  require_prepared();
  return input_dim_;
}

std::size_t ClassMap::class_of(double label) const {
  const auto at = std::lower_bound(labels_.begin(), labels_.end(), label);
  if (at == labels_.end() || *at != label) return labels_.size();
  return static_cast<std::size_t>(at - labels_.begin());
}

template <class Scalar>
DenseShard<Scalar> ClassMap::make(const Dataset& shard) const {
  require_prepared();
  if (shard.dim() > input_dim_) {
    throw DataError(shard.source + ": rows have " + std::to_string(shard.dim()) + " features, the training set " +
                    std::to_string(input_dim_) + " (problem '" + problem_ + "')");
  }
  DenseShard<Scalar> out;
  out.source = shard.source;
  out.classes.resize(shard.rows());
  for (std::size_t j = 0; j < shard.rows(); ++j) {
    const double label = shard.labels[static_cast<Eigen::Index>(j)];
    const std::size_t c = class_of(label);
    if (c == labels_.size()) {
      throw DataError(shard.source + ": label " + label_text(label) + " in row " + std::to_string(j + 1) +
                      " is not one of the " + std::to_string(labels_.size()) + " training classes");
    }
    out.classes[j] = static_cast<std::uint32_t>(c);
  }
  out.features.setZero(static_cast<Eigen::Index>(input_dim_), static_cast<Eigen::Index>(shard.rows()));
  for (Eigen::Index j = 0; j < shard.features.outerSize(); ++j) {
    for (SparseRows::InnerIterator it(shard.features, j); it; ++it) {
      out.features(it.index(), j) = static_cast<Scalar>(it.value());
    }
  }
  return out;
}

template DenseShard<double> ClassMap::make<double>(const Dataset& shard) const;
template DenseShard<float> ClassMap::make<float>(const Dataset& shard) const;

}  // namespace ecco::detail
