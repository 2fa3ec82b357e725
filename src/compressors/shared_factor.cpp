// SharedFactor (shared_factor.hpp): the factors of lowrank:factor=shared.
#include "ecco/shared_factor.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "compressors/orthonormalise.hpp"

namespace ecco {
namespace {

constexpr std::size_t kVersionSlot = 1;  // state_[0] is the version

}  // namespace

SharedFactor::SharedFactor(std::uint32_t dim, std::uint32_t rows, std::uint32_t rank, Rng& rng)
    : dim_(dim), rows_(rows), cols_(0), rank_(rank) {
  if (dim == 0 || rows == 0 || rows > dim) {
    throw std::invalid_argument("SharedFactor: rows " + std::to_string(rows) + " outside [1, dim " +
                                std::to_string(dim) + "]");
  }
  cols_ = static_cast<std::uint32_t>((static_cast<std::uint64_t>(dim) + rows - 1) / rows);
  if (rank == 0 || rank > std::min(rows_, cols_)) {
    throw std::invalid_argument("SharedFactor: rank " + std::to_string(rank) + " outside [1, min(rows, cols)]");
  }
  const std::size_t p_size = static_cast<std::size_t>(rows_) * rank_;
  const std::size_t q_size = static_cast<std::size_t>(cols_) * rank_;
  state_.assign(kVersionSlot + p_size + q_size, 0.0);
  sum_s_.setZero(rows_, rank_);
  sum_a_.setZero(cols_, rank_);
  // P_0: orthonormalised draws, all redrawn while a column vanishes (a Gaussian draw is
  // rank-deficient with probability 0); Q_0: draws scaled to unit columns. Both are worked on
  // in the Eigen-allocated sums, as commit() does, then copied into state_.
  do {
    for (Eigen::Index c = 0; c < sum_s_.cols(); ++c) {
      for (Eigen::Index i = 0; i < sum_s_.rows(); ++i) sum_s_(i, c) = rng.normal();
    }
  } while (detail::orthonormalise(sum_s_) != 0);
  for (Eigen::Index c = 0; c < sum_a_.cols(); ++c) {
    do {
      for (Eigen::Index j = 0; j < sum_a_.rows(); ++j) sum_a_(j, c) = rng.normal();
    } while (sum_a_.col(c).norm() == 0.0);
    sum_a_.col(c) /= sum_a_.col(c).norm();
  }
  Eigen::Map<Eigen::MatrixXd>(state_.data() + kVersionSlot, rows_, rank_) = sum_s_;
  Eigen::Map<Eigen::MatrixXd>(state_.data() + kVersionSlot + p_size, cols_, rank_) = sum_a_;
}

Eigen::Map<const Eigen::MatrixXd> SharedFactor::p() const {
  return {state_.data() + kVersionSlot, rows_, rank_};
}

Eigen::Map<const Eigen::MatrixXd> SharedFactor::q() const {
  return {state_.data() + kVersionSlot + static_cast<std::size_t>(rows_) * rank_, cols_, rank_};
}

void SharedFactor::begin() {
  sum_s_.setZero();
  sum_a_.setZero();
  added_ = false;
}

void SharedFactor::add(const Message& m, double weight) {
  const std::size_t a_size = static_cast<std::size_t>(cols_) * rank_;
  const std::size_t ps_size = static_cast<std::size_t>(rows_) * rank_;
  if (m.layout != Layout::shared_lowrank || m.dim != dim_ || m.rows != rows_ || m.rank != rank_ ||
      m.values.size() != 2 * ps_size + a_size || m.factor_version != version()) {
    throw std::invalid_argument("SharedFactor::add: not a message of this shared factor (dimension " +
                                std::to_string(dim_) + ", rows " + std::to_string(rows_) + ", rank " +
                                std::to_string(rank_) + ", version " + std::to_string(version()) + ")");
  }
  // values = [P, A, S] (message.hpp).
  const Eigen::Map<const Eigen::MatrixXd> a(m.values.data() + ps_size, cols_, rank_);
  const Eigen::Map<const Eigen::MatrixXd> s(m.values.data() + ps_size + a_size, rows_, rank_);
  sum_a_ += weight * a;
  sum_s_ += weight * s;
  added_ = true;
}

void SharedFactor::commit() {
  if (!added_) return;
  Eigen::Map<Eigen::MatrixXd> p(state_.data() + kVersionSlot, rows_, rank_);
  Eigen::Map<Eigen::MatrixXd> q(state_.data() + kVersionSlot + static_cast<std::size_t>(rows_) * rank_, cols_, rank_);
  // Sums too large for a plain norm (or from non-finite inputs) leave the factors as they were.
  if (sum_s_.allFinite() && detail::orthonormalise(sum_s_) == 0 && sum_s_.allFinite()) p = sum_s_;
  for (Eigen::Index c = 0; c < q.cols(); ++c) {
    const double norm = sum_a_.col(c).norm();
    if (norm > 0.0 && std::isfinite(norm)) q.col(c) = sum_a_.col(c) / norm;
  }
  state_[0] += 1.0;
  added_ = false;
}

}  // namespace ecco
