#pragma once
// What ecco-train shows and writes on the server (rank 0): the start-up banner, the
// constants, the progress (an updating line on a terminal, a log line every few seconds
// otherwise), the CSV and JSON outputs and the closing summary.
#include <chrono>
#include <memory>

#include "ecco/command_line.hpp"
#include "ecco/history.hpp"
#include "ecco/summary.hpp"
#include "ecco/trainer.hpp"

namespace ecco::app {

// Removes the unfinished output files of the observer alive (async-signal-safe).
void remove_unfinished_outputs();

class ConsoleObserver final : public RunObserver {
 public:
  explicit ConsoleObserver(const CommandLine& cl);
  ~ConsoleObserver() override;
  void on_setup(const RunInfo& info) override;
  void on_start(const RunInfo& info) override;
  void on_progress(std::int64_t round, double seconds) override;
  void on_row(const MetricsRow& row) override;
  void on_levels(const RunInfo& info, const LevelDecision& decision) override;
  void on_resume(std::int64_t round, const std::vector<std::string>& warnings) override;
  void on_checkpoint(std::int64_t round, const std::string& path, double seconds) override;
  void on_warning(const std::string& text) override;
  void on_finish(const RunResult& result) override;
  // Drops the unfinished output files (before MPI_Abort, which runs no destructors).
  void abandon();
  // on_finish ran (the outputs were published).
  bool finished() const { return finished_; }

 private:
  void print_progress(std::int64_t round, double seconds, bool final);

  const CommandLine& cl_;
  RunInfo info_;
  MetricsRow last_row_;
  MetricsRow last_test_;  // the last row with a test evaluation
  std::unique_ptr<CsvHistoryWriter> csv_;
  std::unique_ptr<SummaryWriter> summary_;
  bool terminal_ = false;
  bool line_open_ = false;
  bool finished_ = false;  // an unfinished progress line is on the terminal
  std::chrono::steady_clock::time_point last_progress_{};
};

}  // namespace ecco::app
