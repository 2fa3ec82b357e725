#include "console.hpp"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <string>

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

}  // namespace

ConsoleObserver::ConsoleObserver(const CommandLine& cl) : cl_(cl), terminal_(::isatty(STDERR_FILENO) == 1) {}

void ConsoleObserver::on_setup(const RunInfo& info) {
  info_ = info;
  if (!cl_.out.empty()) csv_ = std::make_unique<CsvHistoryWriter>(cl_.out);
  if (!cl_.summary.empty()) summary_ = std::make_unique<SummaryWriter>(cl_.summary);
  if (!cl_.quiet) {
    log().info("{} | compressor {}{} | {} | data {} ({} rows, d = {}) | split {}", info.algorithm_spec,
               info.compressor_spec,
               info.down_compressor_spec == "(unused)" ? "" : " | down " + info.down_compressor_spec,
               info.problem_spec, info.data_source, info.rows, info.dim, info.split_spec);
    log().info("{} clients on {} ranks ({} per rank) | aggregation gather | codec ecco-v1, wire {} | step size {} "
               "= {:.6g} | {} rounds{}",
               info.config.clients, info.ranks, clients_per_rank(info), to_string(info.config.wire),
               info.step_size_rule, info.step_size, info.config.rounds,
               info.config.target_grad_norm_sq ? " or until grad_norm_sq <= " +
                                                     std::to_string(*info.config.target_grad_norm_sq)
                                               : "");
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
  if (cl_.quiet) return;
  const auto now = std::chrono::steady_clock::now();
  const auto every = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(2000);
  if (row.round == 0 || now - last_progress_ >= every) {
    last_progress_ = now;
    progress(row, false);
  }
}

void ConsoleObserver::progress(const MetricsRow& row, bool final) {
  const auto total = static_cast<double>(info_.config.rounds);
  const auto done = static_cast<double>(row.round);
  const double rate = row.seconds > 0.0 ? done / row.seconds : 0.0;
  const double eta = rate > 0.0 ? (total - done) / rate : 0.0;
  char line[256];
  std::snprintf(line, sizeof line, "round %" PRId64 "/%" PRId64 "  grad_norm_sq %.4e  loss %.6f  up %s  %.0f rounds/s  %s %.1f s",
                row.round, info_.config.rounds, row.grad_norm_sq, row.loss,
                human_bytes(static_cast<double>(row.bits_up)).c_str(), rate, final ? "took" : "ETA",
                final ? row.seconds : eta);
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
    line_open_ = !final;
    std::fflush(stderr);
  } else if (!final) {
    log().info("{}", line);
  }
}

void ConsoleObserver::on_finish(const RunResult& result) {
  if (csv_) csv_->commit();
  if (summary_) summary_->write(result);
  if (cl_.quiet) return;
  if (terminal_ && line_open_) progress(result.history.back(), true);
  const auto& first = result.history.front();
  const auto& last = result.history.back();
  const auto& c = result.info.config;
  const double dense_bits = 32.0 * static_cast<double>(result.info.dim) * static_cast<double>(result.messages_up);
  std::printf(
      "ecco-train: %s with compressor %s on %s (%zu rows, d = %zu), %zu clients on %d ranks.\n"
      "  %" PRId64 " rounds in %.3f s (%s); ||grad f||^2 %.6e -> %.6e, loss %.6f -> %.6f.\n"
      "  sent up %s (%" PRIu64 " bits, initial messages included), down %s; the same messages as dense fp32 "
      "would be %s.\n"
      "  CSV: %s%s%s\n",
      result.info.algorithm_spec.c_str(), result.info.compressor_spec.c_str(), result.info.data_source.c_str(),
      result.info.rows, result.info.dim, c.clients, result.info.ranks, result.rounds_run, result.seconds,
      result.stop_reason.c_str(), first.grad_norm_sq, last.grad_norm_sq, first.loss, last.loss,
      human_bytes(static_cast<double>(last.bits_up)).c_str(), last.bits_up,
      human_bytes(static_cast<double>(last.bits_down)).c_str(), human_bytes(dense_bits).c_str(),
      cl_.out.empty() ? "(none; use --out PATH)" : cl_.out.c_str(), cl_.summary.empty() ? "" : "  JSON: ",
      cl_.summary.c_str());
  std::fflush(stdout);
}

}  // namespace ecco::app
