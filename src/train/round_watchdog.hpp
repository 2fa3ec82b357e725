#pragma once
// --round-timeout on every process of an MPI run (private to src/train).
//
// The round itself names the ranks that have not reached its downlink or uplink in time
// (Transport::missing_arrivals: a process stopped or hung in its own computation). This
// watchdog covers a process that is stopped, hung or cut off while the others wait for it
// inside a collective: a thread per process that ends the process when no round has completed
// for the timeout plus a grace of max(2 s, timeout / 2) (1.5 s more on ranks other than 0,
// so that rank 0 speaks first). With MPI_THREAD_MULTIPLE (ecco-train
// asks for it when --round-timeout is given) the threads also exchange heartbeats every
// 200 ms on a communicator of their own, so that rank 0's thread names the ranks whose
// heartbeats stopped (a stopped process sends none; its threads stop too). The firing thread
// prints one line and calls std::_Exit(124): a process blocked in MPI cannot be unwound, and
// mpirun then ends the job.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <mpi.h>

namespace ecco::detail {

class RoundWatchdog {
 public:
  // comm: the run's communicator (duplicated for the heartbeats when MPI allows threads to
  // call it; collective over comm).
  RoundWatchdog(double timeout_seconds, MPI_Comm comm);
  ~RoundWatchdog();
  RoundWatchdog(const RoundWatchdog&) = delete;
  RoundWatchdog& operator=(const RoundWatchdog&) = delete;

  // Round t has completed on this process (the clock restarts).
  void completed(std::int64_t t);

 private:
  void watch();
  void beat();  // heartbeats: sends this process's, and on rank 0 takes the others'
  [[noreturn]] void fire(double waited);

  double limit_seconds_;
  int rank_ = 0;
  int ranks_ = 1;
  MPI_Comm heartbeats_ = MPI_COMM_NULL;  // null: no heartbeats (no MPI_THREAD_MULTIPLE)
  std::vector<std::int64_t> last_beat_ns_;  // rank 0: per rank
  std::int64_t beat_payload_ = 0;
  std::int64_t received_payload_ = 0;
  MPI_Request beat_send_ = MPI_REQUEST_NULL;
  std::atomic<std::int64_t> round_{0};
  std::atomic<std::int64_t> last_ns_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ecco::detail
