#include "console.hpp"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/fmt/fmt.h>

#include "ecco/atomic_file.hpp"
#include "ecco/error.hpp"
#include "ecco/log.hpp"
#include "ecco/summary.hpp"
#include "ecco/trainer.hpp"

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

// "5" or "4-5" (the smallest and largest block), with "rank 0 none, " before it under
// --dedicated-server.
std::string clients_per_rank(const RunInfo& info) {
  const RunConfig& c = info.config;
  const int first = c.dedicated_server ? 1 : 0;
  std::size_t low = c.clients;
  std::size_t high = 0;
  for (int r = first; r < info.ranks; ++r) {
    const std::size_t count = first_client_of_rank(c.clients, info.ranks, r + 1, c.dedicated_server) -
                              first_client_of_rank(c.clients, info.ranks, r, c.dedicated_server);
    low = std::min(low, count);
    high = std::max(high, count);
  }
  const std::string blocks = low == high ? std::to_string(low) : std::to_string(low) + "-" + std::to_string(high);
  return c.dedicated_server ? "rank 0 none, " + blocks : blocks;
}

// Partial output files and their lock files, removed by remove_unfinished_outputs() when a
// second signal forces the exit (stop_signals.hpp). The handler may only call
// async-signal-safe functions, so each slot points to a copy of the whole path made before
// any signal can need it (a fixed buffer would cut a long path and unlink another file).
char* volatile g_partial_paths[4] = {nullptr, nullptr, nullptr, nullptr};

void forget_partial(int slot) {
  char* old = g_partial_paths[slot];
  g_partial_paths[slot] = nullptr;
  delete[] old;
}

void remember_partial(int slot, const std::string& path) {
  forget_partial(slot);
  auto* copy = new char[path.size() + 1];
  std::memcpy(copy, path.c_str(), path.size() + 1);
  g_partial_paths[slot] = copy;
}

void forget_partial_files() {
  for (int slot = 0; slot < 4; ++slot) forget_partial(slot);
}

// Refuses an output path that is one of the files the run reads (RunInfo::data_files and
// test_files: a LIBSVM file, an IDX pair, Fashion-MNIST's files), compared as files (device
// and inode, links followed), not as spellings.
void check_not_an_input(const std::string& path, const char* flag, const RunInfo& info) {
  const std::pair<const char*, const std::vector<std::string>*> inputs[] = {{"--data", &info.data_files},
                                                                          {"--test-data", &info.test_files}};
  for (const auto& [reader, files] : inputs) {
    for (const std::string& input : *files) {
      if (!same_file(path, input)) continue;
      throw ConfigError(std::string(flag) + " " + path + " is the file " + reader + " reads" +
                        (input == path ? std::string() : " (" + input + ")") +
                        "; refusing to overwrite an input of the run");
    }
  }
}

}  // namespace

void remove_unfinished_outputs() {
  for (char* path : g_partial_paths) {
    if (path != nullptr) ::unlink(path);
  }
}

ConsoleObserver::ConsoleObserver(const CommandLine& cl) : cl_(cl), terminal_(::isatty(STDERR_FILENO) == 1) {}

ConsoleObserver::~ConsoleObserver() { forget_partial_files(); }

void ConsoleObserver::on_setup(const RunInfo& info) {
  info_ = info;
  if (!cl_.out.empty()) check_not_an_input(cl_.out, "--out", info);
  if (!cl_.summary.empty()) check_not_an_input(cl_.summary, "--summary", info);
  if (!cl_.out.empty() && !cl_.summary.empty() && same_file(cl_.out, cl_.summary)) {
    throw ConfigError("--out " + cl_.out + " and --summary " + cl_.summary +
                      " are the same file; give each output its own path");
  }
  if (!cl_.out.empty()) {
    csv_ = std::make_unique<CsvHistoryWriter>(cl_.out);
    remember_partial(0, csv_->partial_path());
    remember_partial(2, csv_->lock_path());
  }
  if (!cl_.summary.empty()) {
    summary_ = std::make_unique<SummaryWriter>(cl_.summary);
    remember_partial(1, summary_->partial_path());
    remember_partial(3, summary_->lock_path());
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
    if (!info.test_source.empty() || info.granularity != "global" || !info.full_metrics) {
      log().info("test set {} | granularity {} | lr schedule {} | start gradient {} | train metrics {}",
                 info.test_source.empty() ? "none" : fmt::format("{} ({} rows)", info.test_source, info.test_rows),
                 info.granularity, info.lr_schedule_spec, info.batch_start ? "minibatch" : "full",
                 info.full_metrics ? "full" : "minibatch loss");
    }
    log().info("{} clients on {} rank{} ({} per rank) | aggregation {}, downlink {} | wire format v2 (smallest index codec), values {} | "
               "compute {} | step size {} = {:.6g} | {} rounds{}",
               info.config.clients, info.ranks, info.ranks == 1 ? "" : "s", clients_per_rank(info),
               info.config.aggregation, info.config.downlink, to_string(info.config.wire), to_string(info.precision),
               info.step_size_rule, info.step_size, info.config.rounds,
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
  if (!std::isnan(row.test_loss)) last_test_ = row;
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
  std::string line = fmt::format("round {}/{}  ", round, info_.config.rounds);
  if (!std::isnan(last_row_.grad_norm_sq)) line += fmt::format("grad_norm_sq {:.4e}  ", last_row_.grad_norm_sq);
  line += fmt::format("loss {:.6f} (round {})  ", last_row_.loss, last_row_.round);
  if (!std::isnan(last_test_.test_accuracy)) {
    line += fmt::format("test acc {:.2f}% (round {})  ", 100.0 * last_test_.test_accuracy, last_test_.round);
  } else if (!std::isnan(last_test_.test_loss)) {
    line += fmt::format("test loss {:.6f} (round {})  ", last_test_.test_loss, last_test_.round);
  }
  line += fmt::format("up {}  {:.{}f} rounds/s  {} {:.1f} s", human_bytes(static_cast<double>(last_row_.bits_up)), rate,
                      rate < 10.0 ? 2 : 0, final ? "took" : "ETA", final ? seconds : eta);
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
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

void ConsoleObserver::on_levels(const RunInfo& info, const LevelDecision& decision) {
  if (cl_.quiet || !info.adaptive) return;
  std::string levels;
  for (std::size_t k = 0; k < decision.level.size() && k < info.tensors.size(); ++k) {
    const bool dense = k < decision.dense.size() && decision.dense[k] != 0;
    levels += (k == 0 ? "" : " ") + info.tensors[k].name + "=" +
              (dense ? "dense" : info.adaptive->level_values[decision.level[k]]);
  }
  if (terminal_ && line_open_) {
    std::fputs("\n", stderr);
    line_open_ = false;
  }
  log().info("round {}: lgreco levels ({}) {}: {} bytes per message (uniform {}), error {:.4g} (uniform {:.4g})",
             decision.round, info.adaptive->level_key, levels, decision.bytes, decision.uniform_bytes, decision.error,
             decision.uniform_error);
}

void ConsoleObserver::on_resume(std::int64_t round, const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) log().warn("{}", w);
  if (!cl_.quiet) log().info("resumed after round {} of {} from {}", round, info_.config.rounds, cl_.checkpoint.resume);
}

void ConsoleObserver::on_warning(const std::string& text) {
  if (terminal_ && line_open_) {
    std::fputs("\n", stderr);
    line_open_ = false;
  }
  log().warn("{}", text);
}

void ConsoleObserver::on_checkpoint(std::int64_t round, const std::string& path, double seconds) {
  if (cl_.quiet) return;
  std::error_code error;
  std::uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(path, error)) bytes += entry.file_size(error);
  if (terminal_ && line_open_) {
    std::fputs("\n", stderr);
    line_open_ = false;
  }
  log().info("round {}: checkpoint {} ({}, {:.3f} s)", round, path, human_bytes(8.0 * static_cast<double>(bytes)), seconds);
}

void ConsoleObserver::on_finish(const RunResult& result) {
  finished_ = true;
  if (csv_) csv_->commit();
  if (summary_) summary_->write(result);
  forget_partial_files();
  if (cl_.quiet) return;
  if (terminal_ && line_open_) print_progress(result.rounds_run, result.seconds, true);
  const auto& first = result.history.front();
  const auto& last = result.history.back();
  const RunInfo& info = result.info;
  const double d = static_cast<double>(info.dim);
  const double dense_up = 32.0 * d * static_cast<double>(result.messages_up);
  const double dense_down = 32.0 * d * static_cast<double>(info.config.clients) * static_cast<double>(result.rounds_run);
  std::string text = fmt::format("ecco-train: {} with compressor {}{} on {} ({} rows, d = {}), {} clients on {} rank{}.\n",
                                 info.algorithm_spec, info.compressor_spec,
                                 info.granularity == "global" ? "" : " per tensor", info.data_source, info.rows,
                                 info.dim, info.config.clients, info.ranks, info.ranks == 1 ? "" : "s");
  text += fmt::format("  {} rounds in {:.3f} s ({}); ", result.rounds_run, result.seconds, result.stop_reason);
  if (!std::isnan(last.grad_norm_sq)) {
    text += fmt::format("||grad f||^2 {:.6e} -> {:.6e}, loss {:.6f} -> {:.6f}.\n", first.grad_norm_sq,
                        last.grad_norm_sq, first.loss, last.loss);
  } else {
    text += fmt::format("training loss (minibatch mean) {:.6f} -> {:.6f}.\n", first.loss, last.loss);
  }
  if (const MetricsRow* tested = last_evaluation(result.history)) {
    text += fmt::format("  test set: loss {:.6f}", tested->test_loss);
    if (!std::isnan(tested->test_accuracy)) text += fmt::format(", accuracy {:.2f}%", 100.0 * tested->test_accuracy);
    text += fmt::format(" at round {}.\n", tested->round);
  }
  text += fmt::format(
      "  sent up {} ({} bits, initial messages included), down {}; dense fp32 would be up {} ({:.1f}x), down {}.\n",
      human_bytes(static_cast<double>(last.bits_up)), last.bits_up, human_bytes(static_cast<double>(last.bits_down)),
      human_bytes(dense_up), last.bits_up > 0 ? dense_up / static_cast<double>(last.bits_up) : 0.0,
      human_bytes(dense_down));
  if (result.info.config.aggregation == "allgather") {
    text += fmt::format("  allgather: no downlink; the ranks received {} of frames from each other.\n",
                        human_bytes(static_cast<double>(result.bits_allgather_received)));
  }
  if (result.info.config.aggregation == "sharded") {
    text += fmt::format("  sharded: chunks of {} coordinates; the busiest rank received {} of chunks and frames.\n",
                        result.info.shard_chunk, human_bytes(static_cast<double>(result.bits_received_max_rank)));
  }
  if (result.info.config.aggregation == "allreduce") {
    text += fmt::format("  allreduce: no downlink; each rank put {} of sums into the allreduces.\n",
                        human_bytes(static_cast<double>(result.bits_allreduce_payload)));
  }
  if (!result.tensor_traffic.empty()) {
    // Per tensor: its share of the uplink and the level it ended on.
    std::uint64_t total = 0;
    for (const TensorTraffic& t : result.tensor_traffic) total += t.bits_up;
    text += "  per tensor (uplink share, last level):";
    for (const TensorTraffic& t : result.tensor_traffic) {
      text += fmt::format(" {} {:.1f}% {};", t.name,
                          total > 0 ? 100.0 * static_cast<double>(t.bits_up) / static_cast<double>(total) : 0.0, t.level);
    }
    text.back() = '\n';
  }
  if (!result.level_decisions.empty()) {
    const LevelDecision& choice = result.level_decisions.back();
    text += fmt::format("  lgreco: {} choices; the last (round {}) {} bytes per message against the uniform {} "
                        "(error {:.4g} against {:.4g}).\n",
                        result.level_decisions.size(), choice.round, choice.bytes, choice.uniform_bytes, choice.error,
                        choice.uniform_error);
  }
  text += fmt::format("  CSV: {}{}{}\n", cl_.out.empty() ? "(none; use --out PATH)" : cl_.out,
                      cl_.summary.empty() ? "" : "  JSON: ", cl_.summary);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace ecco::app
