#include "ecco/command_line.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <cxxopts.hpp>

#include "ecco/adaptive_levels.hpp"
#include "ecco/algorithm.hpp"
#include "ecco/compressor.hpp"
#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/step_schedule.hpp"

namespace ecco {
namespace {

// Whole-number flag value in [min, max] (decimal digits only; cxxopts' own messages do not
// say which flag was wrong).
std::uint64_t integer_flag(const cxxopts::ParseResult& parsed, const std::string& flag, std::uint64_t min,
                           std::uint64_t max) {
  const std::string text = parsed[flag].as<std::string>();
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool digits = !text.empty() && ptr == text.data() + text.size() && ec != std::errc::invalid_argument;
  if (!digits) throw ConfigError("--" + flag + ": '" + text + "' is not a whole number");
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    throw ConfigError("--" + flag + ": " + text + " is outside [" + std::to_string(min) + ", " + std::to_string(max) +
                      "]");
  }
  return value;
}

void list_family(std::string& out, const char* title, const char* flag, std::span<const SpecEntry> table) {
  out += std::string(title) + " (" + flag + ")\n";
  for (const auto& entry : table) {
    out += "  " + entry.name;
    out.append(entry.name.size() < 26 ? 26 - entry.name.size() : 1, ' ');
    out += entry.help + "\n";
    for (const auto& key : entry.keys) {
      out += "      " + key.name + "=" + (key.default_value.empty() ? std::string("(required)") : key.default_value);
      out += "  " + key.help + "\n";
    }
  }
  out += "\n";
}

// The default job: what ecco-train runs without --data, or with --data fashion_mnist[:...].
// Each flag applies unless the command line gives it, and unless it would conflict with a
// flag that was given (default_job_skips); an empty value is a switch.
constexpr std::pair<const char*, const char*> kDefaultJob[] = {
    {"data", "fashion_mnist"},
    {"problem", "mlp:hidden=512x512"},
    {"clients", "4"},
    {"algorithm", "ef14:momentum=0.9"},
    {"compressor", "lowrank:r=4"},
    {"granularity", "tensor"},
    {"allow-any-compressor", ""},
    {"aggregation", "allgather"},
    {"batch", "64"},
    {"lr", "0.1"},
    {"lr-schedule", "cosine"},
    {"epochs", "5"},
    {"eval-every", "235"},
    {"log-every", "10"},
};

std::string default_job_text() {
  std::string text;
  for (const auto& [flag, value] : kDefaultJob) {
    text += std::string(text.empty() ? "" : " ") + "--" + flag + (*value != '\0' ? std::string(" ") + value : "");
  }
  return text;
}

// Why a default-job flag stays out given what the command line set ("" : it applies).
std::string default_job_skips(std::string_view flag, const cxxopts::ParseResult& given) {
  const auto given_value = [&](const char* name) {
    return given.count(name) > 0 ? given[name].as<std::string>() : std::string();
  };
  if (flag == "epochs" && given.count("rounds") > 0) return "--rounds";
  if (flag == "batch" && given.count("algorithm") > 0) {
    try {
      (void)method_with_batch(given_value("algorithm"), 64);
    } catch (const ConfigError&) {
      return "--algorithm";  // no minibatch, or its own batch=
    }
  }
  // The default compressor is PowerSGD's lowrank, which has no contraction guarantee: the
  // switch belongs to it, not to a compressor the user chose.
  if (flag == "allow-any-compressor" && given.count("compressor") > 0) return "--compressor";
  if (flag == "granularity") {
    const std::string aggregation = given_value("aggregation");
    if (aggregation == "allreduce" || aggregation == "sharded") return "--aggregation";
  }
  return "";
}

// --help: each group of flags followed by an example of it.
std::string grouped_help(const cxxopts::Options& options) {
  const std::pair<const char*, const char*> groups[] = {
      {"Data", "--data ../shared/datasets/libsvm/w8a.txt --clients 100 --split by_smoothness"},
      {"Method", "--problem logistic:lambda=0.1 --algorithm ef21_pp:participation=0.25 --compressor topk:k=0.01 "
                 "--lr theory:mult=2"},
      {"Run", "--rounds 5000 --seed 7 --target-grad-norm-sq 1e-8"},
      {"Output", "--out run.csv --summary run.json --log-every 10 --print-constants"},
  };
  std::string text =
      "Distributed training with compressed communication and error feedback.\n"
      "Run under mpirun; rank 0 is the server, clients are spread over all ranks.\n"
      "Every part is chosen by a spec string name:key=value,...; --list shows them all.\n\n"
      "Usage:\n  mpirun -np P ecco-train [OPTION...]\n";
  for (const auto& [group, example] : groups) {
    text += options.help({group}, false);
    text += "  e.g. " + std::string(example) + "\n";
  }
  text += "\nDefault job (without --data, or with --data fashion_mnist[:...]; any flag given replaces its default,\n"
          "and defaults that would conflict with a given flag stay out):\n  " + default_job_text() + "\n";
  text += "\nExample:\n  mpirun -np 4 ecco-train --data mushrooms.txt --problem logistic:lambda=0.1 --clients 20 \\\n"
          "      --algorithm ef21 --compressor topk:k=1 --lr theory --rounds 1000 --seed 1 --out run.csv\n";
  return text;
}

}  // namespace

std::string list_text() {
  std::string out;
  list_family(out, "algorithms", "--algorithm", method_table());
  list_family(out, "compressors", "--compressor, --down-compressor", compressor_table());
  out += describe_compressors() + "\n";
  list_family(out, "problems", "--problem", problem_table());
  list_family(out, "data sources", "--data; any other value is a LIBSVM file", data_generator_table());
  list_family(out, "splits", "--split", split_table());
  list_family(out, "step-size schedules", "--lr-schedule", step_schedule_table());
  list_family(out, "adaptive levels", "--adaptive, with --granularity tensor", adaptive_table());
  out += "step sizes (--lr)\n  a number > 0, or theory[:mult=1,mean=auto|qm|am,pl=false]: the method's theory rule\n";
  return out;
}

CommandLine parse_command_line(int argc, const char* const* argv) {
  cxxopts::Options options("ecco-train", "");
  const RunConfig defaults;
  // clang-format off
  options.add_options("Data")
    ("data", "LIBSVM file, fashion_mnist[:dir=], idx:images=,labels=, or a generator: synthetic_classification[:...], "
     "synthetic[:...] (see --list). Without --data: the default job (below)", cxxopts::value<std::string>(), "PATH|SPEC")
    ("test-data", "test set: auto (t10k files for fashion_mnist, else none), none, a LIBSVM file, idx:images=,labels= or "
     "synthetic_classification:seed=...",
     cxxopts::value<std::string>()->default_value(defaults.test_data), "PATH|SPEC")
    ("dim", "feature dimension (default: largest index in the file)", cxxopts::value<std::string>(), "D")
    ("clients", "number of clients n",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.clients)), "N")
    ("split", "rows to clients: contiguous, shuffle[:seed=], label_sorted, one_per_client, by_smoothness",
     cxxopts::value<std::string>()->default_value(defaults.split), "SPEC");
  options.add_options("Method")
    ("problem", "objective: logistic[:lambda=], least_squares[:lambda=]",
     cxxopts::value<std::string>()->default_value(defaults.problem), "SPEC")
    ("algorithm", "method: gd, sgd, dcgd, ef14, ef21, ef21w, ef21_plus, ef21_sgd, ef21_sgdm, ef21_page, ef21_pp, ef21_bc, "
     "ef21_hb, econtrol, adam, onebit_adam (keys: --list)", cxxopts::value<std::string>()->default_value(defaults.algorithm), "SPEC")
    ("compressor", "uplink compressor, e.g. identity, topk:k=1 (count), topk:k=0.01 (fraction)",
     cxxopts::value<std::string>()->default_value(defaults.compressor), "SPEC")
    ("down-compressor", "downlink compressor of ef21_bc",
     cxxopts::value<std::string>()->default_value(defaults.down_compressor), "SPEC")
    ("lr", "step size: a number, or theory[:mult=M,mean=auto|qm|am,pl=false]",
     cxxopts::value<std::string>()->default_value(defaults.step_size), "RULE")
    ("lr-schedule", "constant[:warmup=W] or cosine[:warmup=W,final=F] (over --rounds)",
     cxxopts::value<std::string>()->default_value(defaults.lr_schedule), "SPEC")
    ("batch", "minibatch rows per client and round (sets batch= of sgd, ef14, ef21_sgd, ef21_sgdm, ef21_page, "
     "econtrol, adam, onebit_adam)", cxxopts::value<std::string>(), "B")
    ("start-gradient", "minibatch methods' estimate at x0: full, batch, or auto (batch for softmax/mlp)",
     cxxopts::value<std::string>()->default_value(defaults.start_gradient), "G")
    ("granularity", "global (one compressor over x) or tensor (each named tensor of the model separately)",
     cxxopts::value<std::string>()->default_value(defaults.granularity), "G")
    ("allow-any-compressor", "let EF methods use compressors without a contraction guarantee (qsgd, lowrank, "
     "onebit): runs without the theory's guarantee, constant --lr only")
    ("adaptive", "with --granularity tensor: per-tensor levels chosen during the run, lgreco[:every=100,"
     "levels=auto,budget=0,buckets=4096] (L-GreCo; see --list)", cxxopts::value<std::string>(), "SPEC")
    ("dense-below", "with --granularity tensor: tensors smaller than N coordinates travel dense",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.dense_below)), "N")
    ("x0", "starting point: auto (the problem's own init, e.g. the MLP's; else zero), zero or gaussian (seeded)",
     cxxopts::value<std::string>()->default_value(defaults.x0), "P")
    ("wire", "value precision on the wire: fp32 or fp64", cxxopts::value<std::string>()->default_value("fp32"), "F")
    ("precision", "arithmetic of the loss and gradient code: auto (fp32 for softmax and mlp, fp64 for logistic "
     "and least squares), fp32 or fp64 (models, states and messages stay fp64)",
     cxxopts::value<std::string>()->default_value("auto"), "P")
    ("aggregation", "gather (messages to rank 0, which broadcasts the downlink), allgather (every rank gets "
     "every message and runs the server step itself; no downlink), allreduce (every rank gets the sum of the "
     "messages; identity or randk:...,coords=common) or sharded (each rank is the server of its coordinate "
     "chunks: MPI_Alltoallv of the messages' chunks, allgather of the downlink's)",
     cxxopts::value<std::string>()->default_value(defaults.aggregation), "A")
    ("shard-chunk", "coordinates per chunk of --aggregation sharded (default: the method's own, e.g. onebit_adam's "
     "chunk=, else 65536)", cxxopts::value<std::string>(), "C")
    ("downlink", "model (the server broadcasts x, fp64) or delta (its aggregated update, sparse when it is; "
     "every rank steps its own x; mean-step methods)", cxxopts::value<std::string>()->default_value(defaults.downlink), "D")
    ("dedicated-server", "rank 0 hosts no clients; they are dealt over ranks 1..P-1 (needs P >= 2)");
  options.add_options("Run")
    ("rounds", "number of server updates", cxxopts::value<std::string>()->default_value(std::to_string(defaults.rounds)), "T")
    ("epochs", "passes over the training set instead of --rounds: rounds = ceil(E N / (n B))", cxxopts::value<std::string>(), "E")
    ("eval-every", "test-set evaluation every N rounds (0: at every logged round)",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.eval_every)), "N")
    ("seed", "global seed of every random stream", cxxopts::value<std::string>()->default_value(std::to_string(defaults.seed)), "S")
    ("target-grad-norm-sq", "stop at the first logged round with ||grad f||^2 <= EPS", cxxopts::value<std::string>(), "EPS")
    ("target-accuracy", "stop at the first logged round with training accuracy >= A (classification)",
     cxxopts::value<std::string>(), "A")
    ("target-test-accuracy", "stop at the first evaluation with test accuracy >= A (runs with a test set)",
     cxxopts::value<std::string>(), "A");
  options.add_options("Output")
    ("out", "CSV file, one row per logged round", cxxopts::value<std::string>(), "PATH")
    ("summary", "JSON summary: resolved config, constants, totals, time per phase", cxxopts::value<std::string>(), "PATH")
    ("quiet", "no banner, progress or final summary (errors and warnings only)")
    ("log-every", "log a CSV row every N rounds (and the last)",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.log_every)), "N")
    ("train-metrics", "what a row measures on the training data: full (f, ||grad f||^2, accuracy over all rows), "
     "batch (mean minibatch loss since the last row), auto (batch for softmax/mlp)",
     cxxopts::value<std::string>()->default_value(defaults.train_metrics), "M")
    ("print-constants", "print L, L_i statistics, alpha, xi and the step size")
    ("plan", "instead of the run: measure the links and a few rounds per candidate compressor, predict the time "
     "per round against a dense allreduce, recommend one")
    ("checkpoint-dir", "write checkpoints here (a directory every rank sees): every client's state, the server's, "
     "the model, the rows so far", cxxopts::value<std::string>(), "DIR")
    ("checkpoint-every", "with --checkpoint-dir: a checkpoint after every N rounds (0: only when stopped by "
     "SIGINT, SIGTERM or SIGUSR1)", cxxopts::value<std::string>(), "N")
    ("checkpoint-keep", "with --checkpoint-dir: complete checkpoints kept, newest first",
     cxxopts::value<std::string>()->default_value("2"), "K")
    ("resume", "continue from the newest usable checkpoint in DIR (same flags; --rounds, --epochs, --log-every, "
     "--eval-every, the targets, --dedicated-server and -np may change)", cxxopts::value<std::string>(), "DIR")
    ("round-timeout", "abort when a round takes longer than S seconds, naming the ranks that did not arrive "
     "(0: wait forever)", cxxopts::value<std::string>()->default_value("0"), "S")
    ("log-level", "trace, debug, info, warn or error", cxxopts::value<std::string>()->default_value("info"), "LEVEL")
    ("list", "list every algorithm, compressor, problem, data source and split with keys and defaults")
    ("version", "print the version and exit")
    ("h,help", "print this help and exit");
  // clang-format on

  const auto parse = [&](int count, const char* const* args) {
    try {
      return options.parse(count, args);
    } catch (const cxxopts::exceptions::exception& e) {
      // cxxopts quotes with U+2018/U+2019; keep the line plain ASCII.
      std::string what = e.what();
      for (const char* quote : {"\u2018", "\u2019"}) {
        for (auto at = what.find(quote); at != std::string::npos; at = what.find(quote)) what.replace(at, 3, "'");
      }
      throw ConfigError(what + " (see --help)");
    }
  };
  cxxopts::ParseResult parsed = parse(argc, argv);
  const cxxopts::ParseResult given = parsed;
  const std::string data_given = parsed.count("data") > 0 ? parsed["data"].as<std::string>() : std::string();
  const bool default_job = parsed.count("data") == 0 || data_given == "fashion_mnist" ||
                           data_given.rfind("fashion_mnist:", 0) == 0;
  std::string applied;
  if (default_job && argc >= 1) {
    // The default job: its flags first, then the user's, so that a given flag wins.
    std::vector<std::string> flags;
    for (const auto& [flag, value] : kDefaultJob) {
      if (parsed.count(flag) > 0 || !default_job_skips(flag, given).empty()) continue;
      flags.push_back(std::string("--") + flag);
      if (*value != '\0') flags.emplace_back(value);
      applied += (applied.empty() ? "--" : " --") + std::string(flag) + (*value != '\0' ? std::string(" ") + value : "");
    }
    std::vector<const char*> args{argv[0]};
    for (const std::string& f : flags) args.push_back(f.c_str());
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
    parsed = parse(static_cast<int>(args.size()), args.data());
  }
  if (!parsed.unmatched().empty()) {
    throw ConfigError("unexpected argument '" + parsed.unmatched().front() + "' (flags start with --; see --help)");
  }

  CommandLine cl;
  cl.show_help = parsed.count("help") > 0;
  cl.show_version = parsed.count("version") > 0;
  cl.show_list = parsed.count("list") > 0;
  cl.help_text = grouped_help(options);
  if (cl.show_help || cl.show_version || cl.show_list) return cl;

  RunConfig& c = cl.config;
  c.data = parsed["data"].as<std::string>();
  cl.default_job = default_job;
  cl.default_flags = applied;
  constexpr std::uint64_t kMaxDim = std::uint64_t{1} << 31;  // 16 GiB per double vector
  constexpr std::uint64_t kMaxCount = std::uint64_t{1} << 62;
  if (parsed.count("dim") > 0) c.dim = static_cast<std::size_t>(integer_flag(parsed, "dim", 1, kMaxDim));
  c.clients = static_cast<std::size_t>(integer_flag(parsed, "clients", 1, std::uint64_t{1} << 31));
  c.problem = parsed["problem"].as<std::string>();
  c.algorithm = parsed["algorithm"].as<std::string>();
  c.compressor = parsed["compressor"].as<std::string>();
  c.down_compressor = parsed["down-compressor"].as<std::string>();
  cl.down_compressor_given = given.count("down-compressor") > 0;
  c.split = parsed["split"].as<std::string>();
  cl.compressor_given = given.count("compressor") > 0;
  c.test_data = parsed["test-data"].as<std::string>();
  c.lr_schedule = parsed["lr-schedule"].as<std::string>();
  if (parsed.count("batch") > 0) c.batch = static_cast<std::size_t>(integer_flag(parsed, "batch", 1, std::uint64_t{1} << 31));
  c.start_gradient = parsed["start-gradient"].as<std::string>();
  c.granularity = parsed["granularity"].as<std::string>();
  c.dense_below = static_cast<std::size_t>(integer_flag(parsed, "dense-below", 0, kMaxDim));
  c.eval_every = static_cast<std::int64_t>(integer_flag(parsed, "eval-every", 0, kMaxCount));
  c.train_metrics = parsed["train-metrics"].as<std::string>();
  c.allow_any_compressor = parsed.count("allow-any-compressor") > 0;
  c.step_size = parsed["lr"].as<std::string>();
  c.x0 = parsed["x0"].as<std::string>();
  c.wire = parse_value_format(parsed["wire"].as<std::string>());
  if (const std::string precision = parsed["precision"].as<std::string>(); precision != "auto") {
    c.precision = parse_compute_precision(precision);
  }
  c.aggregation = parsed["aggregation"].as<std::string>();
  c.downlink = parsed["downlink"].as<std::string>();
  if (parsed.count("shard-chunk") > 0) {
    c.shard_chunk = static_cast<std::size_t>(integer_flag(parsed, "shard-chunk", 1, std::uint64_t{1} << 31));
    if (c.aggregation != "sharded") throw ConfigError("--shard-chunk applies to --aggregation sharded only");
  }
  c.dedicated_server = parsed.count("dedicated-server") > 0;
  // 10^12 rounds: weeks at a microsecond per round; a larger count is a typo, not a run.
  constexpr std::uint64_t kMaxRounds = 1'000'000'000'000;
  c.rounds = static_cast<std::int64_t>(integer_flag(parsed, "rounds", 0, kMaxRounds));
  if (parsed.count("epochs") > 0) {  // given, or the default job's
    if (given.count("rounds") > 0) throw ConfigError("--epochs and --rounds both set the length of the run; give one");
    const std::string text = parsed["epochs"].as<std::string>();
    char* end = nullptr;
    const double epochs = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(epochs > 0.0 && epochs <= 1e6)) {
      throw ConfigError("--epochs: '" + text + "' is not a number in (0, 1e6]");
    }
    c.epochs = epochs;
  }
  c.seed = integer_flag(parsed, "seed", 0, ~std::uint64_t{0});
  c.log_every = static_cast<std::int64_t>(integer_flag(parsed, "log-every", 1, kMaxCount));
  if (parsed.count("out") > 0) {
    cl.out = parsed["out"].as<std::string>();
    if (cl.out.empty()) throw ConfigError("--out: empty path");
  }
  if (parsed.count("summary") > 0) {
    cl.summary = parsed["summary"].as<std::string>();
    if (cl.summary.empty()) throw ConfigError("--summary: empty path");
    if (cl.summary == cl.out) throw ConfigError("--summary and --out name the same file " + cl.out);
  }
  if (parsed.count("target-grad-norm-sq") > 0) {
    const std::string text = parsed["target-grad-norm-sq"].as<std::string>();
    char* end = nullptr;
    const double eps = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(eps) || eps < 0.0) {
      throw ConfigError("--target-grad-norm-sq: '" + text + "' is not a finite number >= 0");
    }
    c.target_grad_norm_sq = eps;
  }
  // An accuracy target: a number in [0, 1].
  const auto accuracy_flag = [&](const char* flag, std::optional<double>& target) {
    if (parsed.count(flag) == 0) return;
    const std::string text = parsed[flag].as<std::string>();
    char* end = nullptr;
    const double a = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(a >= 0.0 && a <= 1.0)) {
      throw ConfigError("--" + std::string(flag) + ": '" + text + "' is not a number in [0, 1]");
    }
    target = a;
  };
  accuracy_flag("target-accuracy", c.target_accuracy);
  accuracy_flag("target-test-accuracy", c.target_test_accuracy);
  if (parsed.count("adaptive") > 0) {
    c.adaptive = parsed["adaptive"].as<std::string>();
    if (c.adaptive.empty()) throw ConfigError("--adaptive: empty spec (e.g. lgreco:every=100; see --list)");
  }
  CheckpointOptions& k = cl.checkpoint;
  if (parsed.count("checkpoint-dir") > 0) {
    k.dir = parsed["checkpoint-dir"].as<std::string>();
    if (k.dir.empty()) throw ConfigError("--checkpoint-dir: empty path");
  }
  if (parsed.count("checkpoint-every") > 0) {
    if (k.dir.empty()) throw ConfigError("--checkpoint-every needs --checkpoint-dir DIR (where to write)");
    k.every = static_cast<std::int64_t>(integer_flag(parsed, "checkpoint-every", 0, kMaxCount));
  }
  k.keep = static_cast<std::size_t>(integer_flag(parsed, "checkpoint-keep", 1, 1000000));
  if (given.count("checkpoint-keep") > 0 && k.dir.empty()) {
    throw ConfigError("--checkpoint-keep needs --checkpoint-dir DIR (where to write)");
  }
  if (parsed.count("resume") > 0) {
    k.resume = parsed["resume"].as<std::string>();
    if (k.resume.empty()) throw ConfigError("--resume: empty path");
  }
  {
    const std::string text = parsed["round-timeout"].as<std::string>();
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(seconds >= 0.0 && seconds <= 1e6)) {
      throw ConfigError("--round-timeout: '" + text + "' is not a number of seconds in [0, 1e6]");
    }
    cl.round_timeout = seconds;
  }
  cl.quiet = parsed.count("quiet") > 0;
  cl.print_constants = parsed.count("print-constants") > 0;
  cl.plan = parsed.count("plan") > 0;
  cl.log_level = parsed["log-level"].as<std::string>();
  return cl;
}

}  // namespace ecco
