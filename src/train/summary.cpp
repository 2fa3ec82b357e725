#include "ecco/summary.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "ecco/build_info.hpp"
#include "ecco/version.hpp"

namespace ecco {
namespace {

// Minimal JSON writer: objects of key/value pairs, in insertion order.
class Json {
 public:
  void open(const char* key) {
    separator();
    if (key != nullptr) out_ += quoted(key) + ": ";
    out_ += "{";
    first_ = true;
    ++depth_;
  }
  void close() {
    --depth_;
    newline();
    out_ += "}";
    first_ = false;
  }
  void string(const char* key, const std::string& value) { field(key, quoted(value)); }
  void number(const char* key, double value) {
    if (!std::isfinite(value)) return field(key, "null");
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.17g", value);
    field(key, buffer);
  }
  void integer(const char* key, std::uint64_t value) { field(key, std::to_string(value)); }
  void boolean(const char* key, bool value) { field(key, value ? "true" : "false"); }
  void null(const char* key) { field(key, "null"); }
  void raw(const char* key, const std::string& json) { field(key, json); }
  std::string text() const { return out_ + "\n"; }

  static std::string quoted(const std::string& s) {
    std::string q = "\"";
    for (const char c : s) {
      switch (c) {
        case '"': q += "\\\""; break;
        case '\\': q += "\\\\"; break;
        case '\n': q += "\\n"; break;
        case '\t': q += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
            q += buffer;
          } else {
            q += c;
          }
      }
    }
    return q + "\"";
  }

 private:
  void separator() {
    if (!first_) out_ += ",";
    if (depth_ > 0) newline();
    first_ = false;
  }
  void newline() {
    out_ += "\n";
    out_.append(static_cast<std::size_t>(2 * depth_), ' ');
  }
  void field(const char* key, const std::string& value) {
    separator();
    out_ += quoted(key) + ": " + value;
  }

  std::string out_;
  bool first_ = true;
  int depth_ = 0;
};

}  // namespace

const MetricsRow* last_evaluation(const std::vector<MetricsRow>& history) {
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (!std::isnan(it->test_loss)) return &*it;
  }
  return nullptr;
}

std::string summary_json(const RunResult& result) {
  const RunInfo& info = result.info;
  const RunConfig& c = info.config;
  Json j;
  j.open(nullptr);
  j.string("ecco_version", version());
  j.open("build");
  j.string("arch", build_info().arch);
  j.string("cpu_features", build_info().cpu_features);
  j.string("compiler", build_info().compiler);
  j.close();

  j.open("config");
  j.string("data", info.data_source);
  j.integer("rows", info.rows);
  j.string("test_data", info.test_source);
  j.integer("test_rows", info.test_rows);
  j.integer("dim", info.dim);
  j.string("problem", info.problem_spec);
  j.integer("clients", c.clients);
  j.string("split", info.split_spec);
  j.string("algorithm", info.algorithm_spec);
  j.string("compressor", info.compressor_spec);
  j.string("granularity", info.granularity);
  j.boolean("allow_any_compressor", c.allow_any_compressor);
  j.string("down_compressor", info.down_compressor_spec);
  j.string("step_size_rule", info.step_size_rule);
  j.string("lr_schedule", info.lr_schedule_spec);
  j.string("start_gradient", info.batch_start ? "batch" : "full");
  j.string("train_metrics", info.full_metrics ? "full" : "batch");
  j.string("wire", std::string(to_string(c.wire)));
  j.string("precision", std::string(to_string(info.precision)));
  j.string("aggregation", c.aggregation);
  if (c.aggregation == "sharded") j.integer("shard_chunk", info.shard_chunk);
  j.string("downlink", c.downlink);
  j.boolean("dedicated_server", c.dedicated_server);
  j.string("x0", c.x0);
  j.integer("seed", c.seed);
  j.integer("rounds", static_cast<std::uint64_t>(c.rounds));
  if (c.epochs) {
    j.number("epochs", *c.epochs);
  } else {
    j.null("epochs");
  }
  j.integer("log_every", static_cast<std::uint64_t>(c.log_every));
  j.integer("eval_every", static_cast<std::uint64_t>(c.eval_every));
  if (c.target_grad_norm_sq) {
    j.number("target_grad_norm_sq", *c.target_grad_norm_sq);
  } else {
    j.null("target_grad_norm_sq");
  }
  if (c.target_accuracy) {
    j.number("target_accuracy", *c.target_accuracy);
  } else {
    j.null("target_accuracy");
  }
  if (c.target_test_accuracy) {
    j.number("target_test_accuracy", *c.target_test_accuracy);
  } else {
    j.null("target_test_accuracy");
  }
  j.integer("ranks", static_cast<std::uint64_t>(info.ranks));
  std::string per_rank = "[";
  for (int r = 0; r < info.ranks; ++r) {
    const std::size_t count = first_client_of_rank(c.clients, info.ranks, r + 1, c.dedicated_server) -
                              first_client_of_rank(c.clients, info.ranks, r, c.dedicated_server);
    per_rank += (r > 0 ? ", " : "") + std::to_string(count);
  }
  j.raw("clients_per_rank", per_rank + "]");
  j.close();

  j.open("constants");
  j.boolean("computed", info.constants_computed);
  if (info.constants_computed) {
    j.number("L", info.constants.L);
    j.number("L_i_min", info.constants.L_min);
    j.number("L_i_am", info.constants.L_am);
    j.number("L_i_qm", info.constants.L_qm);
    j.number("L_i_max", info.constants.L_max);
    j.number("mu", info.constants.mu);
  }
  j.number("alpha", info.alpha);
  j.number("gamma", info.step_size);
  j.string("step_size_detail", info.step_size_detail);
  j.close();

  const MetricsRow last = result.history.empty() ? MetricsRow{} : result.history.back();
  const double dense = 32.0 * static_cast<double>(info.dim) * static_cast<double>(result.messages_up);
  const double dense_down = 32.0 * static_cast<double>(info.dim) * static_cast<double>(c.clients) *
                            static_cast<double>(result.rounds_run);
  j.open("totals");
  j.integer("rounds_run", static_cast<std::uint64_t>(result.rounds_run));
  j.integer("messages_up", result.messages_up);
  j.integer("bits_up", last.bits_up);
  j.integer("bits_up_header", last.bits_up_header);
  j.integer("bits_up_index", last.bits_up_index);
  j.integer("bits_up_value", last.bits_up_value);
  j.integer("bits_down", last.bits_down);
  j.integer("bits_allgather_received", result.bits_allgather_received);
  j.integer("bits_received_max_rank", result.bits_received_max_rank);
  j.integer("bits_allreduce_payload", result.bits_allreduce_payload);
  j.number("dense_fp32_bits_up", dense);
  j.number("compression_ratio_up", last.bits_up > 0 ? dense / static_cast<double>(last.bits_up) : 0.0);
  j.number("dense_fp32_bits_down", dense_down);
  j.close();

  j.open("memory");
  j.integer("peak_rss_bytes_max_rank", result.peak_rss_bytes_max);
  j.integer("peak_rss_bytes_rank0", result.peak_rss_bytes_rank0);
  j.close();

  j.number("seconds", result.seconds);
  j.open("phase_seconds_rank0");
  j.number("gradient", result.phases.gradient);
  j.number("compress_encode", result.phases.compress_encode);
  j.number("communicate", result.phases.communicate);
  j.number("decode_aggregate", result.phases.decode_aggregate);
  j.number("apply", result.phases.apply);
  j.number("metrics", result.phases.metrics);
  j.close();

  j.open("final");
  j.integer("round", static_cast<std::uint64_t>(last.round));
  j.number("grad_norm_sq", last.grad_norm_sq);
  j.number("loss", last.loss);
  j.number("train_accuracy", last.train_accuracy);  // null without an accuracy
  const MetricsRow* tested = last_evaluation(result.history);
  if (tested != nullptr) {
    j.integer("test_round", static_cast<std::uint64_t>(tested->round));
    j.number("test_loss", tested->test_loss);
    j.number("test_accuracy", tested->test_accuracy);
  } else {
    j.null("test_round");
    j.null("test_loss");
    j.null("test_accuracy");
  }
  j.close();

  // Every named tensor of the model; with --granularity tensor its uplink bits and the level
  // it ended on.
  std::string tensors = "[";
  for (std::size_t k = 0; k < info.tensors.size(); ++k) {
    const TensorShape& t = info.tensors[k];
    tensors += std::string(k > 0 ? ", " : "") + "{\"name\": " + Json::quoted(t.name) +
               ", \"rows\": " + std::to_string(t.rows) + ", \"cols\": " + std::to_string(t.cols);
    if (k < result.tensor_traffic.size()) {
      tensors += ", \"bits_up\": " + std::to_string(result.tensor_traffic[k].bits_up) +
                 ", \"level\": " + Json::quoted(result.tensor_traffic[k].level);
    }
    tensors += "}";
  }
  j.raw("tensors", tensors + "]");

  if (info.adaptive) {
    const AdaptiveLevels& a = *info.adaptive;
    j.open("adaptive");
    j.string("spec", a.spec);
    std::string levels = "[";
    for (std::size_t l = 0; l < a.level_specs.size(); ++l) levels += (l > 0 ? ", " : "") + Json::quoted(a.level_specs[l]);
    j.raw("levels", levels + "]");
    j.string("uniform_level", a.level_specs[a.uniform_level]);
    std::string decisions = "[";
    for (std::size_t i = 0; i < result.level_decisions.size(); ++i) {
      const LevelDecision& d = result.level_decisions[i];
      decisions += std::string(i > 0 ? ", " : "") + "{\"round\": " + std::to_string(d.round) + ", \"" +
                   a.level_key + "\": {";
      for (std::size_t k = 0; k < d.level.size() && k < info.tensors.size(); ++k) {
        const bool is_dense = k < d.dense.size() && d.dense[k] != 0;
        decisions += (k > 0 ? ", " : "") + Json::quoted(info.tensors[k].name) + ": " +
                     (is_dense ? std::string("\"dense\"") : a.level_values[d.level[k]]);
      }
      char figures[160];
      std::snprintf(figures, sizeof figures,
                    "}, \"bytes\": %" PRIu64 ", \"error\": %.17g, \"uniform_bytes\": %" PRIu64
                    ", \"uniform_error\": %.17g}",
                    d.bytes, d.error, d.uniform_bytes, d.uniform_error);
      decisions += figures;
    }
    j.raw("decisions", decisions + "]");
    j.close();
  }

  j.boolean("stopped_early", result.stopped_early);
  j.string("stop_reason", result.stop_reason);
  // Checkpoints and faults: the round resumed from (-1: none), the stopping signal (0: none),
  // the last checkpoint written ("" none) and the warnings (skipped checkpoints, divergence).
  j.raw("resumed_from", std::to_string(result.resumed_from));
  j.integer("interrupted_by_signal", static_cast<std::uint64_t>(result.interrupted_by));
  j.string("checkpoint", result.checkpoint_written);
  std::string warnings = "[";
  for (std::size_t i = 0; i < result.warnings.size(); ++i) {
    warnings += (i > 0 ? ", " : "") + Json::quoted(result.warnings[i]);
  }
  j.raw("warnings", warnings + "]");
  j.close();
  return j.text();
}

void SummaryWriter::write(const RunResult& result) {
  std::fputs(summary_json(result).c_str(), file_.stream());
  file_.commit();
}

}  // namespace ecco
