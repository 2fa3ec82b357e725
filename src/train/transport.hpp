#pragma once
// Transport: how the round code moves bytes between the clients' processes and the server
// (rank 0). Two implementations: all clients in one process (serial), or MPI ranks.
// Private to src/train.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "train/round_watchdog.hpp"

namespace ecco::detail {

// contribution(k, out) of Transport::ordered_fold: assigns the k-th local contribution to out.
// A non-owning reference to the caller's callable (a lambda passed to ordered_fold lives
// until the call returns): unlike std::function, it never allocates, whatever the lambda
// captures.
class FoldContribution {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FoldContribution> &&
             std::is_invocable_v<F&, std::size_t, Eigen::Ref<Eigen::VectorXd>>)
  FoldContribution(F&& f)  // NOLINT(google-explicit-constructor): lambdas convert implicitly
      : callable_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* callable, std::size_t k, Eigen::Ref<Eigen::VectorXd> out) {
          (*static_cast<std::remove_reference_t<F>*>(callable))(k, out);
        }) {}

  void operator()(std::size_t k, Eigen::Ref<Eigen::VectorXd> out) const { call_(callable_, k, out); }

 private:
  void* callable_;
  void (*call_)(void*, std::size_t, Eigen::Ref<Eigen::VectorXd>);
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_server() const { return rank() == 0; }

  // Collective. Every process says whether its local set-up failed; returns the lowest
  // failing rank, or -1 when none failed.
  virtual int lowest_failing_rank(bool failed) const = 0;

  // Collective. The processes' byte blocks concatenated in rank order, at the server only.
  virtual void gather(std::span<const std::byte> local, std::vector<std::byte>& at_server) = 0;

  // Collective. The processes' byte blocks concatenated in rank order, at every process.
  virtual void allgather(std::span<const std::byte> local, std::vector<std::byte>& all) = 0;

  // Collective. Personalised exchange (--aggregation sharded): `blocks` is one byte block
  // per process in rank order, block r of send_counts[r] bytes, sent to process r;
  // `received` gets the blocks addressed to this process concatenated in rank order.
  virtual void alltoall(std::span<const std::byte> blocks, std::span<const std::size_t> send_counts,
                        std::vector<std::byte>& received) = 0;

  // Collective. The server's bytes (or doubles) to every process.
  virtual void broadcast(std::vector<std::byte>& bytes) const = 0;
  virtual void broadcast(std::span<double> values) const = 0;

  // Collective. In-place elementwise sum (or max) over processes; every process gets it.
  virtual void allreduce_sum(std::span<float> values) const = 0;
  virtual void allreduce_sum(std::span<double> values) const = 0;
  virtual void allreduce_max(std::span<std::uint64_t> values) const = 0;

  // Collective. Left fold in client order: with c_0, c_1, ... the local contributions of
  // process 0, then of process 1, and so on, the server (process 0) ends with
  // acc = ((0 + c_0) + c_1) + ... . contribution(k, out) assigns every entry of out to the
  // k-th local contribution (k = 0 .. local_count - 1, each called once, in order). Because
  // the order of the additions depends only on the client order, the result is the same
  // bits as a serial loop over all clients; acc on other processes is left unspecified.
  virtual void ordered_fold(Eigen::Ref<Eigen::VectorXd> acc, std::size_t local_count,
                            const FoldContribution& contribution) = 0;

  // --round-timeout: every process says it arrived at round t's uplink (a note of 8 bytes
  // to the server, point to point); the server waits at most timeout_seconds for the notes
  // and returns the ranks whose note did not come (empty: all arrived; other processes:
  // always empty, without waiting). Default: nobody to wait for.
  virtual std::vector<int> missing_arrivals(std::int64_t /*round*/, double /*timeout_seconds*/) { return {}; }
  // Collective: the --round-timeout watchdog of this process (round_watchdog.hpp); null for
  // one process, which waits for nobody.
  virtual std::unique_ptr<RoundWatchdog> make_watchdog(double /*timeout_seconds*/) { return nullptr; }
};

}  // namespace ecco::detail
