#pragma once
// --aggregation allreduce (private to src/train): the weighted sum of one round's messages on
// one process, then its sum over all processes with one MPI_Allreduce, so that every process
// holds sum_i w_i m_i without any message travelling with its indices.
//
// Summable messages carry raw values (no quantised code, no method tag) and either the dense
// layout, the sparse layout with seeded coordinates (randk coords=common), or the
// shared_lowrank layout against this run's shared factor (lowrank:factor=shared: A and S are
// summed, P is the factor's); all messages of a round, on every process, must share the
// layout, the count and the seed (factor version). Anything else is a
// ConfigError (AgreedRunError) naming the round and the first offending client, thrown by
// reduce() on every process alike (a mix would otherwise be summed into garbage; a throw on one process only
// would leave the others waiting in the collective).
//
// Wire: the values are summed in the run's wire format, fp32 (MPI_FLOAT) or fp64 (MPI_DOUBLE);
// each process first sums its own clients in fp64 in client order (a process with one client
// writes its one term, rounded to fp32, straight into the buffer MPI sums: the same bits). The
// result is the serial sum up to the order and precision of the additions (not bit for bit).
// A dense total stays in that buffer (reduce_in_place, dense_fp32 / dense_fp64): no copy.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ecco/codec.hpp"
#include "ecco/message.hpp"
#include "ecco/shared_factor.hpp"
#include "train/transport.hpp"

namespace ecco::detail {

class MessageSum {
 public:
  // ConfigError unless wire is fp32 or fp64. factor: the run's shared factor (null: none).
  // local_clients: the most clients this process adds per round (0: not known); with 1 and
  // fp32 the one term goes straight into the fp32 buffer.
  MessageSum(std::uint32_t dim, ValueFormat wire, const SharedFactor* factor = nullptr, std::size_t local_clients = 0);

  // Starts round t (0: the initial messages): forgets the previous round's sum.
  void begin(std::int64_t round);
  // Adds weight * m (m from `client`, clients in increasing order). A message that cannot be
  // summed, or whose coordinates differ from those of the round's earlier messages, is
  // remembered for reduce(). Allocates only while buffers grow.
  void add(std::size_t client, const Message& m, double weight);
  // The same as add(client, m, weight) for m = the dense message of v rounded to the wire
  // format (round_to_wire), without building m: rounds as it sums. A value that is not finite
  // or overflows the wire format throws round_to_wire's NumericError.
  void add_dense(std::size_t client, const Eigen::VectorXd& v, double weight);

  // Collective: sums the processes' sums. Returns false if no client sent this round;
  // otherwise `out` is the total (dense, sparse with the seeded coordinates, or
  // shared_lowrank [the factor's P, sum A, sum S]) on every process. ConfigError on every
  // process if any message could not be summed or the processes' coordinates differ.
  // Cost: an MPI_Allreduce (max) of 8 uint64, then one (sum) of count + 1 values.
  bool reduce(const Transport& transport, Message& out);
  // The same collective, leaving the total where MPI summed it: returns false if no client
  // sent. After true: is_dense() says whether the total is a dense vector; if so,
  // dense_fp32() (--wire fp32) or dense_fp64() (--wire fp64) view its dim values until the
  // next begin(); otherwise, and also for dense totals, materialise(out) writes the total
  // into out as reduce(transport, out) does.
  bool reduce_in_place(const Transport& transport);
  bool is_dense() const { return layout_ == static_cast<std::uint64_t>(Layout::dense); }
  std::span<const float> dense_fp32() const { return {sum_fp32_.data(), count_}; }
  std::span<const double> dense_fp64() const { return {sum_.data(), count_}; }
  void materialise(Message& out) const;

  // After reduce(): the clients that sent, over all processes; the values per message; and
  // the bytes this process put into the sum-allreduce.
  std::uint64_t senders() const { return senders_; }
  std::size_t count() const { return count_; }
  std::size_t payload_bytes() const { return (count_ + 1) * value_bytes_; }

 private:
  std::size_t factor_p_size() const { return static_cast<std::size_t>(factor_->rows()) * factor_->rank(); }
  std::size_t shared_values() const {
    return static_cast<std::size_t>(factor_->rank()) * (2 * std::size_t{factor_->rows()} + factor_->cols());
  }

  // Adds weight * (rounded v[k]) for k < count_ into the buffer of this process's sum.
  template <bool kFp32, bool kDirect>
  bool accumulate_dense(const double* v, double weight);
  // Starts the round's shape with the first summable message (sizes the buffers).
  void start_shape(Layout layout, std::size_t count, std::uint64_t seed);

  std::uint32_t dim_;
  bool fp32_;
  bool direct_;  // fp32 and one local client: the term is written to sum_fp32_ directly
  std::size_t value_bytes_;
  const SharedFactor* factor_;
  std::int64_t round_ = 0;
  // The round's shape so far on this process: layout 0 while nothing was added.
  std::uint64_t layout_ = 0;
  std::size_t count_ = 0;
  std::uint64_t seed_ = 0;
  bool bad_ = false;              // a message of this process could not be added
  std::size_t bad_client_ = 0;     // the first such client
  std::uint64_t local_senders_ = 0;
  std::uint64_t senders_ = 0;
  std::vector<double> sum_;      // this process's weighted sum, then the sender count (fp64)
  std::vector<float> sum_fp32_;  // --wire fp32: the sum as MPI reduces it (count_ + 1 values)
  // (v, ~v) for layout, count, seed, then (bad, ~first bad client): reduced with max.
  std::uint64_t shape_[8] = {};
};

}  // namespace ecco::detail
