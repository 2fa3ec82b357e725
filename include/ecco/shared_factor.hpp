#pragma once
// SharedFactor: the low-rank factors that every client of a run shares (lowrank:factor=shared),
// PowerSGD's all-reduced P and Q kept in step on every process, so that the clients' messages
// can be summed value by value (--aggregation allreduce).
//
// The vector x of dimension d is seen as the rows x cols matrix X (as for Layout::lowrank).
// With the shared P_t (rows x rank, orthonormal columns) and Q_t (cols x rank, unit columns),
// client i compresses X_i to C(X_i) = P_t P_t^T X_i and sends A_i = X_i^T P_t (cols x rank)
// and S_i = X_i Q_t (rows x rank): r (rows + cols) values, as PowerSGD. Both are linear in
// X_i, so sum_i w_i C(X_i) = P_t (sum_i w_i A_i)^T.
//
// After every aggregation with at least one shared_lowrank message, every process that runs
// the server method updates the factors from the same weighted sums of those messages (begin,
// add per message in client order, commit); in gather mode rank 0 then broadcasts them:
//   P_{t+1} = orthonormalise(sum_i w_i S_i)   (kept as P_t if a column vanishes or a sum is
//             not finite),
//   Q_{t+1} = the columns of sum_i w_i A_i scaled to unit norm (a column whose norm is zero or
//             not finite keeps Q_t's).
// This is PowerSGD's power iteration P = orth(M Q), Q = M^T P with M the round's aggregate,
// lagged by one round: P_{t+1} comes from this round's M and the Q that the previous round's
// M gave, so that one MPI_Allreduce per round carries both halves (PowerSGD needs two).
//
// The factors start from N(0, 1) draws of the run's seed: P_0 orthonormalised, Q_0 with
// unit columns. version() counts the updates; a message records the version it was made
// with, and the decoder refuses a message made with another.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "ecco/message.hpp"
#include "ecco/rng.hpp"

namespace ecco {

class SharedFactor {
 public:
  // 1 <= rank <= min(rows, cols) (std::invalid_argument otherwise); the draws come from rng.
  SharedFactor(std::uint32_t dim, std::uint32_t rows, std::uint32_t rank, Rng& rng);

  std::uint32_t dim() const { return dim_; }
  std::uint32_t rows() const { return rows_; }
  std::uint32_t cols() const { return cols_; }
  std::uint32_t rank() const { return rank_; }
  std::uint64_t version() const { return static_cast<std::uint64_t>(state_[0]); }
  Eigen::Map<const Eigen::MatrixXd> p() const;  // rows x rank
  Eigen::Map<const Eigen::MatrixXd> q() const;  // cols x rank

  // One update: begin(); add(m_i, w_i) for the messages of the round (each a
  // Layout::shared_lowrank message of this factor's shape and version, std::invalid_argument
  // otherwise), in client order, or add(sum, 1) once for their weighted sum; commit().
  // commit() after no add() changes nothing. Cost O(rank (rows + cols)) per add, O(rank^2 rows
  // + rank cols) per commit; no allocation after construction.
  void begin();
  void add(const Message& m, double weight);
  void commit();

  // The whole state as doubles: [version, P (column-major), Q (column-major)], for the
  // server's broadcast in gather mode (the receivers overwrite theirs with it).
  std::span<double> state() { return state_; }

 private:
  std::uint32_t dim_;
  std::uint32_t rows_;
  std::uint32_t cols_;
  std::uint32_t rank_;
  std::vector<double> state_;
  bool added_ = false;
  Eigen::MatrixXd sum_s_;  // rows x rank
  Eigen::MatrixXd sum_a_;  // cols x rank
};

}  // namespace ecco
