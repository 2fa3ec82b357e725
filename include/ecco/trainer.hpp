#pragma once
// Running a training job: the same round code with all clients in one process
// (run_serial) or spread over MPI ranks (run_mpi). For the same RunConfig both produce
// the same history bit for bit, whatever the number of ranks.
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "ecco/adaptive_levels.hpp"
#include "ecco/codec.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/step_size.hpp"
#include "ecco/tensor_layout.hpp"

namespace ecco {

class Communicator;

struct RunConfig {
  std::string data = "synthetic_classification";  // LIBSVM path or data source spec (data_generator_table())
  std::optional<std::size_t> dim;  // feature dimension (default: largest index in the file)
  std::string problem = "logistic:lambda=0.1";
  std::size_t clients = 20;
  std::string algorithm = "ef21";
  std::string compressor = "topk:k=1";
  std::string down_compressor = "identity";  // ef21_bc's downlink compressor
  std::string split = "contiguous";          // --split spec (split_table())
  std::string step_size = "theory";  // "0.01" or "theory[:mult=,mean=]"
  std::string lr_schedule = "constant";  // --lr-schedule spec (step_schedule.hpp)
  std::optional<std::size_t> batch;      // --batch: sets the method's minibatch (rows)
  std::int64_t rounds = 1000;
  // --epochs E: rounds = ceil(E N / (n B)) (B: the method's minibatch on a shard of N/n
  // rows), so that the clients together read the training set E times; overrides rounds.
  std::optional<double> epochs;
  std::uint64_t seed = 1;
  // "auto" (the problem's own initialisation, e.g. the MLP's He init; else zero), "zero" or
  // "gaussian" (N(0, I) from the seed).
  std::string x0 = "auto";
  // Test set: "auto" (the t10k files for --data fashion_mnist, none otherwise), "none", a
  // LIBSVM path or idx:images=,labels= (load_test_dataset in dataset.hpp).
  std::string test_data = "auto";
  // Evaluate test_loss / test_accuracy every this many rounds (0: at every logged round);
  // evaluation rounds are always logged.
  std::int64_t eval_every = 0;
  // What a logged row measures on the training data: "full" (f, ||grad f||^2 and accuracy
  // over every row: exact, costs a full gradient), "batch" (the mean minibatch loss since
  // the previous row; no gradient norm) or "auto" (full unless the problem says its full
  // gradient is costly: softmax, mlp).
  std::string train_metrics = "auto";
  // Start of the minibatch estimators: "full" (full local gradient at x^0, as the papers),
  // "batch" (a minibatch gradient) or "auto" (as train_metrics decides).
  std::string start_gradient = "auto";
  // "global" (one compressor over x) or "tensor" (each named tensor of the problem
  // compressed separately; tensors below dense_below coordinates sent dense).
  // Let methods use compressors they would refuse for lack of a guarantee (EF methods with
  // unbiased or biased compressors, e.g. PowerSGD-style lowrank with EF): no theory step.
  bool allow_any_compressor = false;
  std::string granularity = "global";
  std::size_t dense_below = 0;
  ValueFormat wire = ValueFormat::fp32;
  // Arithmetic of the loss and gradient code (--precision): nullopt (auto) takes the
  // problem's preferred one, fp32 for softmax and mlp, fp64 for logistic and least squares.
  std::optional<ComputePrecision> precision;
  // Rank 0 hosts no clients (a parameter server); the clients are dealt over ranks 1..P-1.
  // Needs at least 2 processes (ConfigError with one, so run_serial refuses it).
  bool dedicated_server = false;
  // How the client messages reach the server method: "gather" (to rank 0, which broadcasts
  // the downlink), "allgather" (every rank receives every message and runs its own copy of
  // the server method; no downlink is sent) or "allreduce" (every rank receives the weighted
  // sum of the messages from one MPI_Allreduce, then as allgather; summable messages only:
  // identity or randk coords=common, mean-step methods, --wire fp32 or fp64) or "sharded"
  // (the coordinates are cut into chunks of shard_chunk, dealt to the ranks in contiguous
  // blocks; each rank receives its chunks of every message (MPI_Alltoallv), runs the server
  // method on them and the ranks allgather their chunks of the downlink).
  std::string aggregation = "gather";
  // --aggregation sharded: coordinates per chunk; 0 (auto): the method's own chunk
  // (onebit_adam's chunk=) or 65536.
  std::size_t shard_chunk = 0;
  // What the server broadcasts: "model" (x^{t+1}, dense fp64) or "delta" (its aggregated
  // update, from which every rank recomputes x^{t+1}; mean-step methods only).
  std::string downlink = "model";
  std::int64_t log_every = 1;
  // Stop at the first logged round with ||grad f||^2 <= this (checked on logged rounds).
  std::optional<double> target_grad_norm_sq;
  // Stop at the first logged round with train_accuracy >= this (classification problems).
  std::optional<double> target_accuracy;
  // Stop at the first evaluation with test_accuracy >= this (runs with a test set).
  std::optional<double> target_test_accuracy;
  // --adaptive: "" (fixed levels) or an adaptive spec (adaptive_levels.hpp), e.g.
  // "lgreco:every=100"; needs granularity "tensor".
  std::string adaptive;
};

// One logged round. Row t describes the model after t server updates (row 0: the start).
struct MetricsRow {
  std::int64_t round = 0;
  double grad_norm_sq = 0.0;   // ||grad f(x^t)||^2, f = (1/n) sum_i f_i
  double loss = 0.0;           // f(x^t)
  double train_accuracy = std::numeric_limits<double>::quiet_NaN();  // classification problems: correct rows / N
  std::uint64_t bits_up = 0;   // cumulative, all clients, encoded message bytes * 8
  std::uint64_t bits_down = 0; // cumulative, downlink bytes * 8 * clients (0 with --aggregation allgather)
  double seconds = 0.0;        // wall time since the start of round 0
  // bits_up split by section of the encoded messages (header incl. codec parameters).
  std::uint64_t bits_up_header = 0;
  std::uint64_t bits_up_index = 0;
  std::uint64_t bits_up_value = 0;
  // Evaluation rows: mean loss and accuracy on the test set (NaN when not evaluated).
  double test_loss = std::numeric_limits<double>::quiet_NaN();
  double test_accuracy = std::numeric_limits<double>::quiet_NaN();
};

// What the server knows after set-up, before round 1.
struct RunInfo {
  RunConfig config;
  std::string data_source;         // resolved data description
  std::string problem_spec;        // canonical specs
  std::string algorithm_spec;
  std::string compressor_spec;       // "(unused)" for methods without compression
  std::string down_compressor_spec;  // "(unused)" unless the method compresses the downlink
  std::string split_spec;
  std::string step_size_rule;
  std::string step_size_detail;    // how the theory rule got its value
  std::size_t dim = 0;
  std::size_t rows = 0;
  std::string test_source;      // "" without a test set
  // The files the run reads (Dataset::files): the training data's and the test set's. No
  // output may be one of them.
  std::vector<std::string> data_files;
  std::vector<std::string> test_files;
  std::size_t test_rows = 0;
  bool classifies = false;      // the problem has an accuracy (train_accuracy, test_accuracy)
  bool full_metrics = true;     // resolved train_metrics
  bool batch_start = false;     // resolved start_gradient
  std::string lr_schedule_spec; // canonical --lr-schedule
  std::string granularity;      // "global" or e.g. "tensor (6 tensors, dense below 1000)"
  ComputePrecision precision = ComputePrecision::fp64;  // resolved --precision
  TensorLayout tensors;         // the problem's named tensors
  std::uint64_t data_fingerprint = 0;  // fingerprint(data): every rank must have read the same
  int ranks = 1;
  bool constants_computed = false;  // L and L_i are computed for theory step sizes or on request
  SmoothnessConstants constants;
  std::vector<double> client_smoothness;  // the L_i, when computed
  double alpha = 1.0;                     // contraction parameter the step size used
  double step_size = 0.0;                 // gamma
  std::size_t shard_chunk = 0;            // --aggregation sharded: the resolved chunk (else 0)
  std::optional<AdaptiveLevels> adaptive;  // --adaptive, resolved (its levels, key, uniform level)
  // Values set-up capped to what the data allows (topk:k > d, lowrank:r above the matrix's
  // rank, a minibatch above a client's rows): said once at the start, in RunResult::warnings.
  std::vector<std::string> warnings;
};

// One choice of per-tensor levels (--adaptive lgreco), made after the aggregation of `round`
// and used from round + 1 on. Bytes are per client message (part sizes from the
// compressors' theoretical bits, levelled_compressor.hpp); errors are the summed squared
// compression errors over every client's inputs since the previous choice.
struct LevelDecision {
  std::int64_t round = 0;
  std::vector<std::uint32_t> level;  // per tensor, indices into RunInfo::adaptive->level_specs
  std::vector<char> dense;           // per tensor: it travels dense at its level
  std::uint64_t bytes = 0;
  double error = 0.0;
  std::uint64_t uniform_bytes = 0;  // every tensor at the --compressor's level
  double uniform_error = 0.0;
};

// Uplink traffic of one tensor over the run (--granularity tensor): the encoded bytes of its
// parts (part header, indices, values; not the part's 4-byte length) times 8, all clients.
struct TensorTraffic {
  std::string name;
  std::size_t size = 0;
  std::uint64_t bits_up = 0;
  std::string level;  // the compressor of its last round (its level's spec, or the inner spec; "dense")
};

// Wall time of a run split by phase, summed over the rounds, in seconds, as measured by one
// process (the server in RunResult): its clients' gradients, their compression and
// encoding, the collectives (waiting included), the server's decoding and aggregation, the
// downlink (server step, encoding, decoding, applying), and the metrics (ordered fold).
struct PhaseSeconds {
  double gradient = 0.0;
  double compress_encode = 0.0;
  double communicate = 0.0;
  double decode_aggregate = 0.0;
  double apply = 0.0;
  double metrics = 0.0;
};

struct RunResult {
  bool is_server = false;          // history and x are only filled on the server (rank 0)
  RunInfo info;
  std::vector<MetricsRow> history;
  Eigen::VectorXd x;               // final model
  double seconds = 0.0;            // wall time of the rounds (set-up excluded)
  std::int64_t rounds_run = 0;     // server updates performed
  std::uint64_t messages_up = 0;   // client messages the server received (absent clients excluded)
  // --aggregation allgather: bits of the frames (messages and their 4-byte lengths) that the
  // ranks received from the other ranks, summed over ranks: (P - 1) * all frames (0 otherwise).
  std::uint64_t bits_allgather_received = 0;
  // Bits the busiest rank received in the rounds' uplink and downlink collectives (frames,
  // chunks, broadcasts, with their 4-byte lengths; not its own block), in every aggregation
  // mode: gather counts rank 0's frames and the other ranks' broadcasts, allgather the others'
  // frames, sharded a rank's chunks of every message plus the others' chunks of the
  // downlink, allreduce the payload a rank put into the sums. The per-rank traffic to compare
  // modes and rank counts with.
  std::uint64_t bits_received_max_rank = 0;
  // --aggregation allreduce: 8 x the bytes each process put into the sum-allreduce (the
  // summed values and a sender count, fp32 or fp64), summed over rounds; 0 otherwise. A ring
  // allreduce sends 2 (P - 1) / P of that payload per process.
  std::uint64_t bits_allreduce_payload = 0;
  // Peak resident memory (getrusage ru_maxrss) of the largest process and of rank 0, in bytes,
  // at the end of the run: the data, the clients' problems and states, buffers, MPI.
  std::uint64_t peak_rss_bytes_max = 0;
  std::uint64_t peak_rss_bytes_rank0 = 0;
  std::vector<LevelDecision> level_decisions;  // --adaptive, in round order
  std::vector<TensorTraffic> tensor_traffic;   // --granularity tensor, in layout order
  bool stopped_early = false;      // a target was reached before --rounds
  int interrupted_by = 0;          // the signal that stopped the run (RunOptions::stop_signal), or 0
  std::int64_t resumed_from = -1;  // --resume: the round of the checkpoint the run continued from
  std::string checkpoint_written;  // the last checkpoint written ("" none)
  std::vector<std::string> warnings;  // e.g. checkpoints skipped on resume, a loss that grew by orders
  std::string stop_reason;         // why the run ended, in words
  PhaseSeconds phases;             // this process's time per phase
};

// Hooks called on the server only. on_setup runs during the local set-up, before the ranks
// agree that set-up succeeded: an exception thrown there (say, an unwritable output file)
// is a set-up error like a bad flag, and it must not print. on_start runs once every rank
// is ready, on_progress after every round, on_row for every logged round, on_levels for
// every choice of levels (--adaptive).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_setup(const RunInfo& /*info*/) {}
  virtual void on_start(const RunInfo& /*info*/) {}
  virtual void on_progress(std::int64_t /*round*/, double /*seconds*/) {}
  virtual void on_row(const MetricsRow& /*row*/) {}
  // --adaptive: each choice of levels, as it is made (before the next round).
  virtual void on_levels(const RunInfo& /*info*/, const LevelDecision& /*decision*/) {}
  // --resume: the run continues after `round`; `warnings` names the checkpoints skipped as
  // unusable. on_row then follows for every restored row.
  virtual void on_resume(std::int64_t /*round*/, const std::vector<std::string>& /*warnings*/) {}
  // Something the user should know that does not stop the run (also in RunResult::warnings).
  virtual void on_warning(const std::string& /*text*/) {}
  // A checkpoint of `round` was written to `path` in `seconds`.
  virtual void on_checkpoint(std::int64_t /*round*/, const std::string& /*path*/, double /*seconds*/) {}
  virtual void on_finish(const RunResult& /*result*/) {}
};

// Checkpoints (docs/checkpoints.md). The directory must be one every rank sees (a shared file
// system across hosts): each rank writes its own clients' file, rank 0 the manifest, last.
struct CheckpointOptions {
  std::string dir;            // --checkpoint-dir: where to write ("": no checkpoints)
  std::int64_t every = 0;     // --checkpoint-every N: after every N-th round (0: only on a stop signal)
  std::size_t keep = 2;       // --checkpoint-keep K: complete checkpoints kept (older ones removed)
  std::string resume;         // --resume D: continue from the newest usable checkpoint in D
};

// Options of a run that do not change its result.
struct RunOptions {
  bool compute_constants = false;  // compute L and L_i even with a constant step size
  RunObserver* observer = nullptr;
  // Dense rounds without copies (ClientMethod::dense_message, ServerMethod::
  // accumulate_dense_sum and step_model_in_place). False takes the Message path instead,
  // which gives the same bits: tests compare the two.
  bool dense_shortcuts = true;
  CheckpointOptions checkpoint;
  // Set asynchronously (a signal handler) to a signal number to ask the run to stop at the
  // end of the current round: every process agrees on it there, a checkpoint is written
  // when checkpoint.dir is set, and the run returns with RunResult::interrupted_by. Null:
  // not watched (no per-round agreement).
  const volatile std::sig_atomic_t* stop_signal = nullptr;
  // --round-timeout: seconds a round may take before the run is aborted with the ranks that
  // did not arrive (0: wait forever). MPI runs only.
  double round_timeout = 0.0;
};

// Thrown by run_mpi on every rank when set-up failed on some rank. All ranks agree on it,
// so they can exit normally; report() is true on exactly one rank (the lowest failing),
// whose what() is the original error message.
class SetupFailure : public Error {
 public:
  SetupFailure(const std::string& message, bool report) : Error(message), report_(report) {}
  bool report() const { return report_; }

 private:
  bool report_;
};

// A bad input that every rank found together during the rounds (e.g. --aggregation allreduce
// messages that cannot be summed), thrown on every rank alike, so they can exit normally;
// report() is true on rank 0 only.
class AgreedRunError : public ConfigError {
 public:
  AgreedRunError(const std::string& message, bool report) : ConfigError(message), report_(report) {}
  bool report() const { return report_; }

 private:
  bool report_;
};

// A failure during the rounds (an exception on one process: a client's non-finite gradient,
// a corrupt message, an I/O error), agreed on by every process at the end of the round in
// which it happened, so that none is left waiting in a collective. When several processes
// fail in one round, the earliest failure in the round is the one reported (by step:
// downlink, client messages, aggregation, metrics; then by client id; ties: the lowest
// rank), so the message does not depend on the number of ranks. Every process throws the
// same AgreedRoundFailure<E>, where E is that failure's category (NumericError, DecodeError,
// DataError, ConfigError, CommError, or Error for anything else), with its original message:
// catch (const NumericError&) and catch (const RoundFailure&) both see it. report() is true
// on the process whose failure it is (the one that prints it).
// numeric(): a divergence (NaN or inf); the observer then received on_finish with the rows
// before the failed round (the CSV and summary of the run so far).
class RoundFailure {
 public:
  virtual ~RoundFailure() = default;
  virtual const char* what() const noexcept = 0;
  virtual bool numeric() const = 0;
  bool report() const { return report_; }

 protected:
  explicit RoundFailure(bool report) : report_(report) {}

 private:
  bool report_;
};

template <class Category>
class AgreedRoundFailure final : public Category, public RoundFailure {
 public:
  AgreedRoundFailure(const std::string& message, bool report) : Category(message), RoundFailure(report) {}
  const char* what() const noexcept override { return Category::what(); }
  bool numeric() const override { return std::is_base_of_v<NumericError, Category>; }
};

// First client hosted by `rank` when n clients are dealt to `ranks` processes in contiguous
// blocks whose sizes differ by at most one: over ranks 0..P-1, or with dedicated_server over
// ranks 1..P-1 (rank 0 hosts none; needs ranks >= 2). rank == ranks gives n.
std::size_t first_client_of_rank(std::size_t clients, int ranks, int rank, bool dedicated_server);

RunResult run_serial(const RunConfig& config, const RunOptions& options = {});
RunResult run_mpi(const RunConfig& config, const Communicator& comm, const RunOptions& options = {});

}  // namespace ecco
