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
// each process first sums its own clients in fp64 in client order. The result is the serial
// sum up to the order and precision of the additions (not bit for bit).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ecco/codec.hpp"
#include "ecco/message.hpp"
#include "ecco/shared_factor.hpp"
#include "train/transport.hpp"

namespace ecco::detail {

class MessageSum {
 public:
  // ConfigError unless wire is fp32 or fp64. factor: the run's shared factor (null: none).
  MessageSum(std::uint32_t dim, ValueFormat wire, const SharedFactor* factor = nullptr);

  // Starts round t (0: the initial messages): forgets the previous round's sum.
  void begin(std::int64_t round);
  // Adds weight * m (m from `client`, clients in increasing order). A message that cannot be
  // summed, or whose coordinates differ from those of the round's earlier messages, is
  // remembered for reduce(). Allocates only while buffers grow.
  void add(std::size_t client, const Message& m, double weight);

  // Collective: sums the processes' sums. Returns false if no client sent this round;
  // otherwise `out` is the total (dense, sparse with the seeded coordinates, or
  // shared_lowrank [the factor's P, sum A, sum S]) on every process. ConfigError on every
  // process if any message could not be summed or the processes' coordinates differ.
  // Cost: an MPI_Allreduce (max) of 8 uint64, then one (sum) of count + 1 values.
  bool reduce(const Transport& transport, Message& out);

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

  std::uint32_t dim_;
  bool fp32_;
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
  std::vector<float> sum_fp32_;  // sum_ reduced in fp32 (--wire fp32)
  // (v, ~v) for layout, count, seed, then (bad, ~first bad client): reduced with max.
  std::uint64_t shape_[8] = {};
};

}  // namespace ecco::detail
