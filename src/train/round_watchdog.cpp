#include "train/round_watchdog.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace ecco::detail {
namespace {

constexpr int kHeartbeatTag = 4245;
constexpr double kStaleSeconds = 1.5;  // heartbeats come every 0.2 s

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RoundWatchdog::RoundWatchdog(double timeout_seconds, MPI_Comm comm)
    : limit_seconds_(timeout_seconds + std::max(2.0, timeout_seconds / 2)), last_ns_(now_ns()) {
  MPI_Comm_rank(comm, &rank_);
  MPI_Comm_size(comm, &ranks_);
  if (rank_ != 0) limit_seconds_ += 1.5;  // rank 0, which can name the silent ranks, goes first
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  if (level == MPI_THREAD_MULTIPLE && ranks_ > 1) {
    MPI_Comm_dup(comm, &heartbeats_);
    last_beat_ns_.assign(static_cast<std::size_t>(ranks_), now_ns());
  }
  thread_ = std::thread([this] { watch(); });
}

RoundWatchdog::~RoundWatchdog() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
  if (heartbeats_ != MPI_COMM_NULL) {
    // Heartbeats still in flight are dropped with the communicator: cancel ours, drain rank 0's.
    if (beat_send_ != MPI_REQUEST_NULL) {
      MPI_Cancel(&beat_send_);
      MPI_Wait(&beat_send_, MPI_STATUS_IGNORE);
    }
    MPI_Barrier(heartbeats_);
    if (rank_ == 0) {
      int pending = 1;
      while (pending != 0) {
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, kHeartbeatTag, heartbeats_, &pending, &status);
        if (pending != 0) {
          MPI_Recv(&received_payload_, 1, MPI_INT64_T, status.MPI_SOURCE, kHeartbeatTag, heartbeats_, MPI_STATUS_IGNORE);
        }
      }
    }
    MPI_Comm_free(&heartbeats_);
  }
}

void RoundWatchdog::completed(std::int64_t t) {
  round_.store(t, std::memory_order_relaxed);
  last_ns_.store(now_ns(), std::memory_order_relaxed);
}

void RoundWatchdog::beat() {
  if (heartbeats_ == MPI_COMM_NULL) return;
  if (rank_ != 0) {
    int done = 1;
    if (beat_send_ != MPI_REQUEST_NULL) MPI_Test(&beat_send_, &done, MPI_STATUS_IGNORE);
    if (done != 0) {
      beat_payload_ = round_.load(std::memory_order_relaxed);
      MPI_Isend(&beat_payload_, 1, MPI_INT64_T, 0, kHeartbeatTag, heartbeats_, &beat_send_);
    }
    return;
  }
  while (true) {
    int pending = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kHeartbeatTag, heartbeats_, &pending, &status);
    if (pending == 0) return;
    MPI_Recv(&received_payload_, 1, MPI_INT64_T, status.MPI_SOURCE, kHeartbeatTag, heartbeats_, MPI_STATUS_IGNORE);
    last_beat_ns_[static_cast<std::size_t>(status.MPI_SOURCE)] = now_ns();
  }
}

void RoundWatchdog::fire(double waited) {
  std::string who;
  if (heartbeats_ != MPI_COMM_NULL && rank_ == 0) {
    std::string silent;
    for (int r = 1; r < ranks_; ++r) {
      const double quiet = static_cast<double>(now_ns() - last_beat_ns_[static_cast<std::size_t>(r)]) * 1e-9;
      if (quiet > kStaleSeconds) silent += (silent.empty() ? "" : ", ") + std::to_string(r);
    }
    who = silent.empty() ? "; every rank's heartbeat is alive: one is hung in its computation or a collective"
                         : "; no heartbeat from rank" + std::string(silent.find(',') != std::string::npos ? "s " : " ") +
                               silent + " (stopped, killed or cut off)";
  } else if (heartbeats_ == MPI_COMM_NULL) {
    who = "; the ranks that do not report this are the ones missing";
  } else {
    who = "; rank 0 names the ranks that stopped, unless it is the one";
  }
  std::fprintf(stderr, "ecco-train: rank %d: round %lld has not completed after %.1f s (--round-timeout)%s; ending the job\n",
               rank_, static_cast<long long>(round_.load() + 1), waited, who.c_str());
  std::fflush(stderr);
  std::_Exit(124);
}

void RoundWatchdog::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; })) {
    beat();
    const double waited = static_cast<double>(now_ns() - last_ns_.load(std::memory_order_relaxed)) * 1e-9;
    if (waited >= limit_seconds_) fire(waited);
  }
}

}  // namespace ecco::detail
