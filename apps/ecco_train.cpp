// ecco-train: the training binary. Run under mpirun; rank 0 is the server and writes the
// CSV and the summary; every rank logs to stderr with its rank in each line.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "ecco/algorithm.hpp"
#include "ecco/command_line.hpp"
#include "ecco/communicator.hpp"
#include "ecco/history.hpp"
#include "ecco/log.hpp"
#include "ecco/trainer.hpp"
#include "ecco/version.hpp"

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

// Server-side output: banner, constants, CSV, progress lines and the final summary.
class ConsoleObserver final : public ecco::RunObserver {
 public:
  explicit ConsoleObserver(const ecco::CommandLine& cl) : cl_(cl) {}

  void on_setup(const ecco::RunInfo& info) override {
    info_ = info;
    if (!cl_.out.empty()) csv_ = std::make_unique<ecco::CsvHistoryWriter>(cl_.out);
    ecco::log().info("{} | compressor {}{} | {} | data {} ({} rows, d = {}) | split {} | {} clients on {} ranks | "
                     "wire {} | step size {} = {:.6g} | {} rounds",
                     info.algorithm_spec, info.compressor_spec,
                     info.down_compressor_spec == "(unused)" ? "" : " | down " + info.down_compressor_spec,
                     info.problem_spec, info.data_source, info.rows, info.dim, info.split_spec, info.config.clients,
                     info.ranks, ecco::to_string(info.config.wire), info.step_size_rule, info.step_size,
                     info.config.rounds);
    if (cl_.print_constants) print_constants(info);
  }

  void on_row(const ecco::MetricsRow& row) override {
    if (csv_) csv_->write(row);
    const auto now = std::chrono::steady_clock::now();
    if (row.round == 0 || now - last_progress_ >= std::chrono::seconds(2)) {
      last_progress_ = now;
      const auto total = static_cast<double>(info_.config.rounds);
      const double eta = row.round > 0 ? row.seconds / static_cast<double>(row.round) * (total - static_cast<double>(row.round)) : 0.0;
      ecco::log().info("round {}/{}  grad_norm_sq {:.4e}  loss {:.6f}  up {}  ETA {:.1f} s", row.round,
                       info_.config.rounds, row.grad_norm_sq, row.loss, human_bytes(static_cast<double>(row.bits_up)), eta);
    }
  }

  void on_finish(const ecco::RunResult& result) override {
    if (csv_) csv_->commit();
    const auto& first = result.history.front();
    const auto& last = result.history.back();
    const auto& c = result.info.config;
    const double dense_bits = 32.0 * static_cast<double>(result.info.dim) * static_cast<double>(c.clients) *
                              static_cast<double>(c.rounds + 1);
    std::printf(
        "ecco-train: %s with compressor %s on %s (%zu rows, d = %zu), %zu clients on %d ranks.\n"
        "  %" PRId64 " rounds in %.3f s; ||grad f||^2 %.6e -> %.6e, loss %.6f -> %.6f.\n"
        "  sent up %s (%" PRIu64 " bits, initial gradients included), down %s; dense fp32 uplink would be %s.\n"
        "  CSV: %s\n",
        result.info.algorithm_spec.c_str(), result.info.compressor_spec.c_str(), result.info.data_source.c_str(),
        result.info.rows, result.info.dim, c.clients, result.info.ranks, last.round, result.seconds,
        first.grad_norm_sq, last.grad_norm_sq, first.loss, last.loss,
        human_bytes(static_cast<double>(last.bits_up)).c_str(), last.bits_up,
        human_bytes(static_cast<double>(last.bits_down)).c_str(), human_bytes(dense_bits).c_str(),
        cl_.out.empty() ? "(none; use --out PATH)" : cl_.out.c_str());
    std::fflush(stdout);
  }

 private:
  static void print_constants(const ecco::RunInfo& info) {
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

  const ecco::CommandLine& cl_;
  ecco::RunInfo info_;
  std::unique_ptr<ecco::CsvHistoryWriter> csv_;
  std::chrono::steady_clock::time_point last_progress_{};
};

// Flags the chosen method does not use are accepted (sweeps pass them to every method) but
// named, so that nobody believes they had an effect.
void warn_unused_flags(const ecco::CommandLine& cl) {
  try {
    const auto method = ecco::make_method(cl.config.algorithm);
    if (cl.compressor_given && !method->uses_compressor()) {
      ecco::log().warn("--compressor is ignored: {} sends uncompressed vectors", method->spec());
    }
    if (cl.down_compressor_given && !method->uses_down_compressor()) {
      ecco::log().warn("--down-compressor is ignored: only ef21_bc compresses the downlink");
    }
  } catch (const ecco::Error&) {
    // A bad --algorithm is reported by the set-up.
  }
}

}  // namespace

int main(int argc, char** argv) {
  ecco::MpiEnvironment mpi(argc, argv);
  const ecco::Communicator world(MPI_COMM_WORLD);
  ecco::init_logging(world.rank(), world.size());

  // Command-line errors happen identically on every rank: rank 0 reports them.
  ecco::CommandLine cl;
  try {
    cl = ecco::parse_command_line(argc, argv);
    ecco::init_logging(world.rank(), world.size(), cl.log_level);
  } catch (const std::exception& e) {
    if (world.rank() == 0) ecco::log().error("{}", e.what());
    return 2;
  }
  if (cl.show_help || cl.show_version || cl.show_list) {
    if (world.rank() == 0) {
      const std::string text = cl.show_help   ? cl.help_text
                               : cl.show_list ? ecco::list_text()
                                              : std::string("ecco-train ") + ecco::kVersion + "\n";
      std::printf("%s", text.c_str());
    }
    return 0;
  }

  ConsoleObserver console(cl);
  ecco::RunOptions options;
  options.compute_constants = cl.print_constants;
  options.observer = &console;
  if (world.rank() == 0) warn_unused_flags(cl);
  try {
    ecco::run_mpi(cl.config, world, options);
  } catch (const ecco::SetupFailure& e) {
    if (e.report()) ecco::log().error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    ecco::log().error("{}", e.what());
    if (world.size() > 1) world.abort(1);
    return 1;
  }
  return 0;
}
