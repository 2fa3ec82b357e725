#pragma once
// The JSON summary of a run (--summary run.json), written by the server when the run ends:
//   ecco_version, config (every spec resolved with its defaults, seed, ranks, clients per
//   rank, ...), constants (L, L_i statistics, mu, alpha, gamma and how it was computed),
//   totals (bits up and down, messages, the dense fp32 equivalent of the uplink messages
//   and the compression ratio), seconds and seconds per phase (measured on rank 0), the
//   final metrics, and whether the run stopped early and why.
// Totals equal the last CSV row; dense_fp32_bits_up = 32 * d * messages_up.
#include <string>

#include "ecco/atomic_file.hpp"
#include "ecco/trainer.hpp"

namespace ecco {

// The last row with a test-set evaluation, or null.
const MetricsRow* last_evaluation(const std::vector<MetricsRow>& history);

std::string summary_json(const RunResult& result);

// Creates its temporary file and takes the lock at construction (so a bad path, or a path
// another run writes, fails during set-up; see AtomicFile) and writes and publishes the
// summary in write().
class SummaryWriter {
 public:
  explicit SummaryWriter(std::string path) : file_(std::move(path), "--summary") {}
  void write(const RunResult& result);
  const std::string& partial_path() const { return file_.partial_path(); }
  const std::string& lock_path() const { return file_.lock_path(); }

 private:
  AtomicFile file_;
};

}  // namespace ecco
