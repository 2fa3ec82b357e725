#include "ecco/message.hpp"

#include <algorithm>
#include <cassert>

#include "compressors/quantised.hpp"

namespace ecco {
namespace {

// keep_levels: leave the levels as they are (their next writer overwrites them all).
void reset_encoding(Message& m, bool keep_levels = false) {
  m.code = ValueCode::raw;
  m.level_count = 0;
  m.scale = 0.0;
  if (!keep_levels) m.levels.clear();
  m.seeded = false;
  m.seed = 0;
  m.tag = 0;
  m.rows = 0;
  m.cols = 0;
  m.rank = 0;
  m.factor_version = 0;
  m.part_count = 0;
}

}  // namespace

void Message::set_dense(Eigen::Ref<const Eigen::VectorXd> x) {
  layout = Layout::dense;
  dim = static_cast<std::uint32_t>(x.size());
  indices.clear();
  values.assign(x.data(), x.data() + x.size());
  reset_encoding(*this);
}

void Message::prepare_dense(std::uint32_t dimension) {
  layout = Layout::dense;
  dim = dimension;
  indices.clear();
  values.resize(dimension);
  reset_encoding(*this, true);
}

void Message::clear_sparse(std::uint32_t dimension) {
  layout = Layout::sparse;
  dim = dimension;
  indices.clear();
  values.clear();
  reset_encoding(*this);
}

void Message::set_lowrank(std::uint32_t dimension, std::uint32_t matrix_rows, std::uint32_t matrix_rank) {
  assert(matrix_rows >= 1 && matrix_rows <= dimension);
  layout = Layout::lowrank;
  dim = dimension;
  indices.clear();
  reset_encoding(*this);
  rows = matrix_rows;
  cols = static_cast<std::uint32_t>((static_cast<std::uint64_t>(dimension) + matrix_rows - 1) / matrix_rows);
  rank = matrix_rank;
  values.resize(static_cast<std::size_t>(matrix_rank) * (static_cast<std::size_t>(rows) + cols));
}

void Message::set_shared_lowrank(std::uint32_t dimension, std::uint32_t matrix_rows, std::uint32_t matrix_rank,
                                 std::uint64_t version) {
  set_lowrank(dimension, matrix_rows, matrix_rank);
  layout = Layout::shared_lowrank;
  factor_version = version;
  values.resize(static_cast<std::size_t>(matrix_rank) * (2 * static_cast<std::size_t>(rows) + cols));
}

void Message::set_parts(std::uint32_t dimension, std::uint32_t count) {
  layout = Layout::parts;
  dim = dimension;
  indices.clear();
  values.clear();
  reset_encoding(*this);
  if (parts.size() < count) parts.resize(count);
  part_count = count;
}

void Message::add_to(Eigen::Ref<Eigen::VectorXd> y, double factor) const {
  assert(static_cast<std::size_t>(y.size()) == dim);
  switch (layout) {
    case Layout::dense:
      for (std::size_t j = 0; j < values.size(); ++j) y[static_cast<Eigen::Index>(j)] += factor * values[j];
      return;
    case Layout::sparse:
      for (std::size_t k = 0; k < values.size(); ++k) {
        y[static_cast<Eigen::Index>(indices[k])] += factor * values[k];
      }
      return;
    case Layout::lowrank:
    case Layout::shared_lowrank: {  // P Q^T from the first rank (rows + cols) values
      const std::size_t m = rows;
      const double* p = values.data();
      const double* q = values.data() + m * rank;
      for (std::size_t j = 0; j < cols; ++j) {
        const std::size_t first = j * m;
        const std::size_t height = std::min<std::size_t>(m, dim - first);
        for (std::size_t i = 0; i < height; ++i) {
          double entry = 0.0;
          for (std::size_t c = 0; c < rank; ++c) entry += p[i + c * m] * q[j + c * cols];
          y[static_cast<Eigen::Index>(first + i)] += factor * entry;
        }
      }
      return;
    }
    case Layout::parts: {
      Eigen::Index offset = 0;
      for (const Message& part : active_parts()) {
        assert(part.layout != Layout::parts);
        const auto size = static_cast<Eigen::Index>(part.dim);
        part.add_to(y.segment(offset, size), factor);
        offset += size;
      }
      assert(offset == y.size());
      return;
    }
  }
}

void Message::assign_to(Eigen::Ref<Eigen::VectorXd> y) const {
  y.setZero();
  add_to(y, 1.0);
}

double quantised_value(ValueCode code, std::int32_t level, std::uint32_t level_count, double scale) {
  switch (code) {
    case ValueCode::uniform_levels:
      return detail::uniform_level_value(level, level_count, scale);
    case ValueCode::power_levels:
      return detail::power_level_value(level, level_count, scale);
    case ValueCode::natural:
      return detail::natural_level_value(level, scale);
    case ValueCode::sign:
      return detail::sign_level_value(level, scale);
    case ValueCode::raw:
      break;
  }
  return static_cast<double>(level);
}

}  // namespace ecco
