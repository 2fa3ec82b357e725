#include "console.hpp"

#include <unistd.h>

#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>

#include <spdlog/fmt/fmt.h>

#include "ecco/error.hpp"
#include "ecco/log.hpp"

namespace ecco::app {
namespace {

std::string human_bytes(double bits) {
  const double bytes = bits / 8.0;
  char buffer[64];
  if (bytes >= 1e9) {
    std::snprintf(buffer, sizeof buffer, "%.2f GB", bytes / 1e9);
  } else if (bytes >= 1e6) {
    std::snprintf(buffer, sizeof buffer, "%.2f MB", bytes / 1e6);
  } else if (bytes >= 1e3) {
    std::snprintf(buffer, sizeof buffer, "%.2f kB", bytes / 1e3);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.0f B", bytes);
  }
  return buffer;
}

std::string clients_per_rank(const RunInfo& info) {
  const std::size_t n = info.config.clients;
  const auto p = static_cast<std::size_t>(info.ranks);
  const std::size_t low = n / p;
  const std::size_t high = (n + p - 1) / p;
  return low == high ? std::to_string(low) : std::to_string(low) + "-" + std::to_string(high);
}

// Partial output files removed if SIGINT or SIGTERM ends the run (mpirun forwards them).
// Plain arrays: the handler may only call async-signal-safe functions.
char g_partial_paths[2][4096];

extern "C" void remove_partial_files(int signal_number) {
  for (auto& path : g_partial_paths) {
    if (path[0] != '\0') ::unlink(path);
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

void remember_partial(int slot, const std::string& path) {
  std::snprintf(g_partial_paths[slot], sizeof g_partial_paths[slot], "%s", path.c_str());
  std::signal(SIGINT, remove_partial_files);
  std::signal(SIGTERM, remove_partial_files);
}

void forget_partial_files() {
  for (auto& path : g_partial_paths) path[0] = '\0';
}

// Refuses an output path that names the input data.
void check_not_the_data(const std::string& path, const char* flag, const RunInfo& info) {
  std::error_code error;
  if (std::filesystem::exists(path, error) && std::filesystem::equivalent(path, info.config.data, error)) {
    throw ConfigError(std::string(flag) + " " + path + " is the --data file; refusing to overwrite it");
  }
}

}  // namespace

ConsoleObserver::ConsoleObserver(const CommandLine& cl) : cl_(cl), terminal_(::isatty(STDERR_FILENO) == 1) {}

ConsoleObserver::~ConsoleObserver() { forget_partial_files(); }

void ConsoleObserver::on_setup(const RunInfo& info) {
  info_ = info;
  if (!cl_.out.empty()) {
    check_not_the_data(cl_.out, "--out", info);
    csv_ = std::make_unique<CsvHistoryWriter>(cl_.out);
    remember_partial(0, csv_->partial_path());
  }
  if (!cl_.summary.empty()) {
    check_not_the_data(cl_.summary, "--summary", info);
    summary_ = std::make_unique<SummaryWriter>(cl_.summary);
    remember_partial(1, summary_->partial_path());
  }
}

void ConsoleObserver::on_start(const RunInfo& info) {
  info_ = info;
  if (cl_.compressor_given && info.compressor_spec == "(unused)") {
    log().warn("--compressor is ignored: {} sends uncompressed vectors", info.algorithm_spec);
  }
  if (cl_.down_compressor_given && info.down_compressor_spec == "(unused)") {
    log().warn("--down-compressor is ignored: only ef21_bc compresses the downlink");
  }
  if (!cl_.quiet) {
    log().info("{} | compressor {}{} | {} | data {} ({} rows, d = {}) | split {}", info.algorithm_spec,
               info.compressor_spec,
               info.down_compressor_spec == "(unused)" ? "" : " | down " + info.down_compressor_spec,
               info.problem_spec, info.data_source, info.rows, info.dim, info.split_spec);
    log().info("{} clients on {} rank{} ({} per rank) | aggregation gather | wire format v2 (smallest index codec), values {} | step size {} "
               "= {:.6g} | {} rounds{}",
               info.config.clients, info.ranks, info.ranks == 1 ? "" : "s", clients_per_rank(info),
               to_string(info.config.wire), info.step_size_rule, info.step_size, info.config.rounds,
               (info.config.target_grad_norm_sq
                    ? fmt::format(" or until grad_norm_sq <= {:.6g}", *info.config.target_grad_norm_sq)
                    : std::string()) +
                   (info.config.target_accuracy
                        ? fmt::format(" or until train_accuracy >= {:.6g}", *info.config.target_accuracy)
                        : std::string()));
  }
  if (cl_.print_constants) {
    if (info.constants_computed) {
      const auto& k = info.constants;
      std::printf("constants: L = %.10g; L_i min = %.10g, AM = %.10g, QM = %.10g, max = %.10g\n", k.L, k.L_min,
                  k.L_am, k.L_qm, k.L_max);
      if (k.mu > 0.0) std::printf("constants: mu = %.10g\n", k.mu);
    }
    std::printf("constants: alpha = %.10g, step size gamma = %.10g (%s; %s)\n", info.alpha, info.step_size,
                info.step_size_rule.c_str(), info.step_size_detail.c_str());
    std::fflush(stdout);
  }
}

void ConsoleObserver::on_row(const MetricsRow& row) {
  if (csv_) csv_->write(row);
  last_row_ = row;
  if (row.round == 0 && !cl_.quiet) print_progress(0, row.seconds, false);
}

void ConsoleObserver::on_progress(std::int64_t round, double seconds) {
  if (cl_.quiet) return;
  const auto now = std::chrono::steady_clock::now();
  const auto every = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(2000);
  if (now - last_progress_ < every) return;
  last_progress_ = now;
  print_progress(round, seconds, false);
}

// One progress line; the metrics are those of the last logged round.
void ConsoleObserver::print_progress(std::int64_t round, double seconds, bool final) {
  const auto total = static_cast<double>(info_.config.rounds);
  const auto done = static_cast<double>(round);
  const double rate = seconds > 0.0 ? done / seconds : 0.0;
  const double eta = rate > 0.0 ? (total - done) / rate : 0.0;
  char line[320];
  std::snprintf(line, sizeof line,
                "round %" PRId64 "/%" PRId64 "  grad_norm_sq %.4e (round %" PRId64 ")  loss %.6f  up %s  %.0f rounds/s  %s %.1f s",
                round, info_.config.rounds, last_row_.grad_norm_sq, last_row_.round, last_row_.loss,
                human_bytes(static_cast<double>(last_row_.bits_up)).c_str(), rate, final ? "took" : "ETA",
                final ? seconds : eta);
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
    line_open_ = !final;
    std::fflush(stderr);
  } else if (!final) {
    log().info("{}", line);
  }
}

void ConsoleObserver::abandon() {
  csv_.reset();
  summary_.reset();
  forget_partial_files();
  if (line_open_) std::fputc('\n', stderr);
  line_open_ = false;
}

void ConsoleObserver::on_finish(const RunResult& result) {
  if (csv_) csv_->commit();
  if (summary_) summary_->write(result);
  forget_partial_files();
  if (cl_.quiet) return;
  if (terminal_ && line_open_) print_progress(result.rounds_run, result.seconds, true);
  const auto& first = result.history.front();
  const auto& last = result.history.back();
  const auto& c = result.info.config;
  const double dense_bits = 32.0 * static_cast<double>(result.info.dim) * static_cast<double>(result.messages_up);
  std::printf(
      "ecco-train: %s with compressor %s on %s (%zu rows, d = %zu), %zu clients on %d rank%s.\n"
      "  %" PRId64 " rounds in %.3f s (%s); ||grad f||^2 %.6e -> %.6e, loss %.6f -> %.6f.\n"
      "  sent up %s (%" PRIu64 " bits, initial messages included), down %s; the same messages as dense fp32 "
      "would be %s.\n"
      "  CSV: %s%s%s\n",
      result.info.algorithm_spec.c_str(), result.info.compressor_spec.c_str(), result.info.data_source.c_str(),
      result.info.rows, result.info.dim, c.clients, result.info.ranks, result.info.ranks == 1 ? "" : "s",
      result.rounds_run, result.seconds,
      result.stop_reason.c_str(), first.grad_norm_sq, last.grad_norm_sq, first.loss, last.loss,
      human_bytes(static_cast<double>(last.bits_up)).c_str(), last.bits_up,
      human_bytes(static_cast<double>(last.bits_down)).c_str(), human_bytes(dense_bits).c_str(),
      cl_.out.empty() ? "(none; use --out PATH)" : cl_.out.c_str(), cl_.summary.empty() ? "" : "  JSON: ",
      cl_.summary.c_str());
  std::fflush(stdout);
}

}  // namespace ecco::app
