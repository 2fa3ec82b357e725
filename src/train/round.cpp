// The round loop shared by the serial and the MPI driver (see algorithm.hpp for the
// order of a round). Messages travel as frames (frames.hpp); a process's frames are in
// client order, and the gather puts the processes in rank order, so the server reads all n
// frames in client order.
//
// --aggregation allgather: every process receives all frames (MPI_Allgatherv), runs its
// own copy of the server method on them and makes the downlink itself, so that no downlink
// travels; the operations are those of the server in gather mode, hence the same bits.
//
// --aggregation allreduce: no frames; each process sums its clients' weighted messages and
// one MPI_Allreduce sums the processes' sums (MessageSum); every process runs its own copy of
// the server method on the total and makes the downlink itself, as with allgather. Dense
// rounds of gd / sgd take no copy: each gradient goes from its buffer into the buffer MPI
// sums (ClientMethod::dense_message), the total from there into the server's fused update
// (ServerMethod::accumulate_dense_sum), and x is stepped in place (step_model_in_place).
//
// --aggregation sharded: each process is the server of its coordinate chunks
// (sharded_exchange.hpp): MPI_Alltoallv of the messages' chunks, the server method on them,
// allgather of the downlink's chunks, which every process applies.
//
// lowrank:factor=shared: every process that runs the server method updates the shared factor
// after each aggregation from the round's shared_lowrank messages, weighted as the server
// weighs them (the messages in client order, or the allreduced sum); in gather mode rank 0
// then sends it to the other processes with the next downlink.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "ecco/build_info.hpp"
#include "ecco/error.hpp"
#include "ecco/log.hpp"
#include "train/checkpoint.hpp"
#include "train/frames.hpp"
#include "train/level_adapter.hpp"
#include "train/message_sum.hpp"
#include "train/round_watchdog.hpp"
#include "train/run_state.hpp"
#include "train/sharded_exchange.hpp"

namespace ecco::detail {
namespace {

// The steps of a round in the order they run (docs/round.md), for ordering failures.
enum class RoundStep : std::uint64_t { downlink = 1, client_messages = 2, aggregate = 3, metrics = 4 };

// A failure's place in the round: its step, then the client (clients in id order, the
// step's own work, `client` omitted, after them). Smaller is earlier.
constexpr std::uint64_t kOwnWork = (std::uint64_t{1} << 40) - 1;
constexpr std::uint64_t place_in_round(RoundStep step, std::uint64_t client = kOwnWork) {
  return (static_cast<std::uint64_t>(step) << 40) | client;
}

// This process's peak resident set, in bytes (Linux reports ru_maxrss in KiB).
std::uint64_t peak_rss_bytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return 1024 * static_cast<std::uint64_t>(usage.ru_maxrss);
}

class Clock {
 public:
  Clock() = default;
  // A clock that starts at `offset` seconds (a resumed run continues its checkpoint's time).
  explicit Clock(double offset) : offset_(offset) {}
  double seconds() const {
    return offset_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  // Seconds since the last lap (or the start).
  double lap() {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return elapsed;
  }

 private:
  double offset_ = 0.0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

// Wraps a client's error with where it happened, keeping its category (error.hpp; a
// subclass such as CheckpointError becomes its category, DataError).
[[noreturn]] void rethrow_with_context(std::size_t client, std::int64_t round) {
  const std::string where = "client " + std::to_string(client) + ", round " + std::to_string(round) + ": ";
  try {
    throw;
  } catch (const NumericError& e) {
    throw NumericError(where + e.what());
  } catch (const ConfigError& e) {
    throw ConfigError(where + e.what());
  } catch (const DataError& e) {
    throw DataError(where + e.what());
  } catch (const DecodeError& e) {
    throw DecodeError(where + e.what());
  } catch (const CommError& e) {
    throw CommError(where + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(where + "out of memory");
  } catch (const std::exception& e) {
    throw Error(where + e.what());
  }
}

class RoundRunner {
 public:
  RoundRunner(RunState& state, Transport& transport, bool shortcuts, double timeout)
      : state_(state),
        transport_(transport),
        dim_(static_cast<std::uint32_t>(state.info.dim)),
        clients_(state.info.config.clients),
        wire_(state.info.config.wire),
        full_(state.info.full_metrics),
        classifies_(state.info.classifies),
        allgather_(state.info.config.aggregation == "allgather"),
        allreduce_(state.info.config.aggregation == "allreduce"),
        sharded_(state.info.config.aggregation == "sharded"),
        runs_server_(transport.is_server() || allgather_ || allreduce_ || sharded_),
        shortcuts_(shortcuts),
        timeout_(timeout),
        metrics_(static_cast<Eigen::Index>(full_ ? state.info.dim : 0) + kScalarMetrics),
        factor_(state.shared_factor.get()) {
    if (state.info.config.granularity == "tensor" && state.method->uses_compressor()) {
      tensor_bytes_.assign(state.info.tensors.size(), 0.0);
    }
    if (allreduce_) sum_ = std::make_unique<MessageSum>(dim_, wire_, factor_, state.clients.size());
    if (sharded_) {
      exchange_ = std::make_unique<ShardedExchange>(dim_, state.info.shard_chunk, transport.rank(), transport.size());
    }
  }

  // Every process: each local client's message (initial or round t) into one block of frames.
  void client_messages(std::int64_t t) {
    round_ = t;
    Clock clock;
    const double gradient_before = gradient_seconds();
    frames_.clear();
    if (allreduce_) sum_->begin(t);
    if (sharded_) {
      exchange_->begin_uplink();
      sent_split_ = EncodedSize{};
      sent_messages_ = 0;
    }
    for (LocalClient& c : state_.clients) {
      place_ = place_in_round(RoundStep::client_messages, c.id);
      ClientEnv env{c.id, *c.oracle, *state_.compressor, c.rng, c.sample_rng, c.workspace, wire_};
      bool sent = false;
      try {
        // Dense messages the method holds go from its buffer into the sum, rounded on the way.
        const bool shortcut = allreduce_ && shortcuts_;
        if (const Eigen::VectorXd* dense = shortcut ? c.method->dense_message(state_.x, t, env) : nullptr) {
          sum_->add_dense(c.id, *dense, state_.server->message_weight(c.id));
          continue;
        }
        sent = t == 0 ? c.method->initialize(state_.x, env, message_) : c.method->step(state_.x, t, env, message_);
      } catch (...) {
        // Kept for the end of the round; the client sends nothing, so the collectives go on.
        keep_failure([&] { rethrow_with_context(c.id, t); });
        sent = false;
      }
      if (sent && !tensor_bytes_.empty() && message_.layout == Layout::parts) count_tensor_bytes();
      if (sharded_) {
        const EncodedSize split = exchange_->add_client(sent ? &message_ : nullptr, wire_);
        sent_split_.header += split.header;
        sent_split_.index += split.index;
        sent_split_.value += split.value;
        sent_messages_ += sent ? 1 : 0;
      } else if (!allreduce_) {
        append_frame(sent ? &message_ : nullptr, wire_, frames_);
      } else if (sent) {
        sum_->add(c.id, message_, state_.server->message_weight(c.id));
      }
    }
    const double gradient = gradient_seconds() - gradient_before;
    phases_.gradient += gradient;
    phases_.compress_encode += clock.lap() - gradient;
  }

  // Collective: frames to the server (with allgather: to every process), which decodes them
  // in client order into the method. Returns the message bits the server received and adds
  // their split to row (every process that runs the server method).
  // --round-timeout, before the round's downlink and its uplink (the collectives a stopped
  // process holds up): the server names the ranks that have not arrived in time; the others
  // are then blocked in the collective, and ecco-train ends the job.
  void check_arrivals(std::int64_t t, const char* where) {
    if (timeout_ <= 0.0) return;
    const std::vector<int> missing = transport_.missing_arrivals(t, timeout_);
    if (missing.empty()) return;
    std::string ranks;
    for (const int r : missing) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", timeout_);
    throw CommError("round " + std::to_string(t) + ": rank" + (missing.size() > 1 ? "s " : " ") + ranks +
                    " did not arrive at the " + where + " within " + seconds +
                    " s (--round-timeout): stopped, hung or cut off; ending the job");
  }

  std::uint64_t aggregate(Phase phase, MetricsRow& row) {
    place_ = place_in_round(RoundStep::aggregate);
    check_arrivals(round_, "uplink");
    if (allreduce_) return aggregate_sum(phase, row);
    if (sharded_) return aggregate_sharded(phase, row);
    Clock clock;
    if (allgather_) {
      transport_.allgather(frames_, received_);
      // Each process received every block but its own: (P - 1) copies of all frames in total.
      const auto others = static_cast<std::uint64_t>(transport_.size() - 1);
      allgather_received_ += 8 * static_cast<std::uint64_t>(received_.size()) * others;
      received_bytes_ += received_.size() - frames_.size();
    } else {
      transport_.gather(frames_, received_);
      if (transport_.is_server()) received_bytes_ += received_.size() - frames_.size();
    }
    phases_.communicate += clock.lap();
    if (!runs_server_) return 0;
    std::uint64_t bits = 0;
    guarded([&] { bits = decode_and_aggregate(phase, row); });
    phases_.decode_aggregate += clock.lap();
    return bits;
  }

  // The server's part of aggregate() (local: no collective), between the frames' arrival
  // and the next collective.
  std::uint64_t decode_and_aggregate(Phase phase, MetricsRow& row) {
    std::uint64_t bytes = 0;
    FrameReader frames(received_);
    state_.server->begin_aggregation();
    if (factor_ != nullptr) factor_->begin();
    for (std::size_t i = 0; i < clients_; ++i) {
      const auto frame = frames.next("message of client", i);
      if (frame.empty()) continue;  // the client sent nothing this round
      try {
        const EncodedSize split = decode(frame, dim_, factor_, message_);
        row.bits_up_header += 8 * static_cast<std::uint64_t>(split.header);
        row.bits_up_index += 8 * static_cast<std::uint64_t>(split.index);
        row.bits_up_value += 8 * static_cast<std::uint64_t>(split.value);
      } catch (const DecodeError& e) {
        throw DecodeError("message of client " + std::to_string(i) + ": " + e.what());
      }
      state_.server->accumulate(i, message_);
      if (factor_ != nullptr && message_.layout == Layout::shared_lowrank) {
        factor_->add(message_, state_.server->message_weight(i));
      }
      bytes += frame.size();
      ++messages_;
    }
    frames.expect_end();
    state_.server->end_aggregation(phase);
    if (factor_ != nullptr) factor_->commit();
    return 8 * bytes;
  }

  // Collective (sharded): every process receives its chunks of every message and runs the
  // server method on them. The uplink bits are the encoded chunks (each process counts its
  // own clients' and one sum-allreduce adds them up; the 4-byte frame lengths are not counted,
  // as in gather mode).
  std::uint64_t aggregate_sharded(Phase phase, MetricsRow& row) {
    Clock clock;
    const auto blocks = exchange_->blocks();
    transport_.alltoall(blocks, exchange_->block_sizes(), received_);
    received_bytes_ += received_.size() - exchange_->block_sizes()[rank_index()];
    phases_.communicate += clock.lap();
    guarded([&] {
      exchange_->begin_receive(received_);
      state_.server->begin_aggregation();
      for (std::size_t i = 0; i < clients_; ++i) {
        if (exchange_->next_client(i, message_)) state_.server->accumulate(i, message_);
      }
      exchange_->end_receive();
      state_.server->end_aggregation(phase);
    });
    double counts[4] = {static_cast<double>(sent_split_.header), static_cast<double>(sent_split_.index),
                        static_cast<double>(sent_split_.value), static_cast<double>(sent_messages_)};
    transport_.allreduce_sum(std::span<double>(counts));
    const auto header = static_cast<std::uint64_t>(counts[0]);
    const auto index = static_cast<std::uint64_t>(counts[1]);
    const auto value = static_cast<std::uint64_t>(counts[2]);
    row.bits_up_header += 8 * header;
    row.bits_up_index += 8 * index;
    row.bits_up_value += 8 * value;
    messages_ += static_cast<std::uint64_t>(counts[3]);
    phases_.decode_aggregate += clock.lap();
    return 8 * (header + index + value);
  }

  // Collective (allreduce): the weighted sum of all messages at every process, which runs
  // the server method on it. The uplink bits are those of the values each sender contributes
  // (no header, no indices); the allreduce's own traffic is counted in allreduce_payload().
  std::uint64_t aggregate_sum(Phase phase, MetricsRow& row) {
    Clock clock;
    const bool any = sum_->reduce_in_place(transport_);
    phases_.communicate += clock.lap();
    guarded([&] {
      state_.server->begin_aggregation();
      const bool dense = any && shortcuts_ && sum_->is_dense();
      if (dense && wire_ == ValueFormat::fp32) {
        state_.server->accumulate_dense_sum(sum_->dense_fp32());
      } else if (dense) {
        state_.server->accumulate_dense_sum(sum_->dense_fp64());
      } else if (any) {
        sum_->materialise(summed_);
        state_.server->accumulate_sum(summed_);
      }
      state_.server->end_aggregation(phase);
      if (factor_ != nullptr && any && !dense && summed_.layout == Layout::shared_lowrank) {
        factor_->begin();
        factor_->add(summed_, 1.0);
        factor_->commit();
      }
    });
    phases_.decode_aggregate += clock.lap();
    // A round in which no client sent has no sum-allreduce (only the shape's): no payload.
    if (any) {
      allreduce_payload_ += 8 * static_cast<std::uint64_t>(sum_->payload_bytes());
      received_bytes_ += sum_->payload_bytes();
    }
    messages_ += sum_->senders();
    const std::uint64_t bits = 8 * sum_->senders() * sum_->count() * value_format_bytes(wire_);
    row.bits_up_value += bits;
    return bits;
  }

  // Collective (gather mode): the server's downlink to every process, which applies it to
  // its replica of the model, then the shared factor (lowrank:factor=shared) as fp64 doubles
  // [version, P, Q]. Returns the downlink bits of the round (what travels, for every client).
  // With allgather or allreduce every process makes the downlink itself and applies it as
  // made: nothing travels (0 bits), and no encoding is needed, since make_downlink already
  // rounds the message to its value format, so that decode(encode(m)) would give back the
  // same numbers (the modes are tested bit for bit against gather); where the method can, it
  // steps x in place instead (ServerMethod::step_model_in_place: the same bits, no copies).
  std::uint64_t downlink(std::int64_t t) {
    place_ = place_in_round(RoundStep::downlink);
    check_arrivals(t, "downlink");
    if (sharded_) return sharded_downlink(t);
    Clock clock;
    const bool travels = !allgather_ && !allreduce_;
    bool stepped = false;
    guarded([&] { stepped = !travels && shortcuts_ && state_.server->step_model_in_place(state_.x); });
    if (stepped) {
      phases_.apply += clock.lap();
      guarded([&] { check_model(t); });
      return 0;
    }
    model_bytes_.clear();
    if (runs_server_) {
      guarded([&] {
        const ValueFormat format = state_.server->make_downlink(state_.x, model_message_);
        if (travels) encode(model_message_, format, model_bytes_);
      });
      // A server that failed sends an empty downlink: the others fail to decode it and
      // everyone stops at the end of the round.
      if (failed()) model_bytes_.clear();
    }
    phases_.apply += clock.lap();
    std::uint64_t bytes = 0;
    if (travels) {
      transport_.broadcast(model_bytes_);
      bytes = model_bytes_.size();
      if (factor_ != nullptr) {
        transport_.broadcast(factor_->state());
        bytes += factor_->state().size_bytes();
      }
      if (!transport_.is_server()) received_bytes_ += bytes;
      phases_.communicate += clock.lap();
      if (failed()) return 8 * bytes * clients_;
      guarded([&] { decode(model_bytes_, dim_, model_message_); });
    }
    if (failed()) return travels ? 8 * bytes * clients_ : 0;
    guarded([&] {
      state_.replica->apply_downlink(model_message_, state_.x);
      check_model(t);
    });
    phases_.apply += clock.lap();
    return travels ? 8 * bytes * clients_ : 0;
  }

  // Collective (sharded): every process makes the downlink, encodes its own chunks of it, the
  // processes allgather them and each applies the whole. Returns the encoded chunks' bits
  // times the number of clients (every client's process receives all of them).
  std::uint64_t sharded_downlink(std::int64_t t) {
    Clock clock;
    own_downlink_.clear();
    guarded([&] {
      const ValueFormat format = state_.server->make_downlink(state_.x, model_message_);
      exchange_->own_downlink(model_message_, format, own_downlink_);
    });
    phases_.apply += clock.lap();
    transport_.allgather(own_downlink_, model_bytes_);
    received_bytes_ += model_bytes_.size() - own_downlink_.size();
    phases_.communicate += clock.lap();
    if (!failed()) {
      guarded([&] {
        exchange_->assemble_downlink(model_bytes_, downlink_parts_);
        state_.replica->apply_downlink(downlink_parts_, state_.x);
        check_model(t);
      });
    }
    phases_.apply += clock.lap();
    const std::uint64_t bytes = model_bytes_.size() - kFrameLengthBytes * exchange_->chunks();
    return 8 * bytes * clients_;
  }

  void check_model(std::int64_t t) const {
    if (!state_.x.allFinite()) {
      throw NumericError("round " + std::to_string(t) +
                         ": the model is not finite; the iterates diverged (step size too large?)");
    }
  }

  // Collective: the metrics of row t, summed in client order (so any number of ranks gives
  // the same bits). Training data: with full metrics f(x^t), ||grad f(x^t)||^2 and the
  // training accuracy over every row; otherwise the mean of the clients' minibatch losses
  // since the previous row. With evaluate, the loss and accuracy on the test set, each
  // client summing its slice.
  void measure(std::int64_t t, bool evaluate, MetricsRow& row) {
    Clock clock;
    const double gradient_before = gradient_seconds();
    const auto d = full_ ? static_cast<Eigen::Index>(dim_) : Eigen::Index{0};
    transport_.ordered_fold(metrics_, state_.clients.size(), [&](std::size_t k, Eigen::Ref<Eigen::VectorXd> term) {
      LocalClient& c = state_.clients[k];
      term.setZero();
      place_ = place_in_round(RoundStep::metrics, c.id);
      guarded([&] { client_metrics(c, t, evaluate, d, term); });
    });
    place_ = place_in_round(RoundStep::metrics);
    row.round = t;
    row.grad_norm_sq = full_ ? (metrics_.head(d) / static_cast<double>(clients_)).squaredNorm()
                             : std::numeric_limits<double>::quiet_NaN();
    row.loss = metrics_[d + kLoss] / metrics_[d + kLossCount];
    row.train_accuracy = full_ && classifies_ ? metrics_[d + kTrainCorrect] / static_cast<double>(state_.info.rows)
                                              : std::numeric_limits<double>::quiet_NaN();
    const auto test_rows = static_cast<double>(state_.info.test_rows);
    const bool tested = evaluate && state_.info.test_rows > 0;
    row.test_loss = tested ? metrics_[d + kTestLoss] / test_rows : std::numeric_limits<double>::quiet_NaN();
    row.test_accuracy = tested && classifies_ ? metrics_[d + kTestCorrect] / test_rows
                                              : std::numeric_limits<double>::quiet_NaN();
    const bool finite = std::isfinite(row.loss) && (!full_ || std::isfinite(row.grad_norm_sq)) &&
                        (!tested || std::isfinite(row.test_loss));
    if (transport_.is_server() && metrics_[d + kLossCount] > 0.0 && !finite) {
      keep_failure([&] {
        throw NumericError("round " + std::to_string(t) + ": the loss or ||grad f||^2 is not finite; the iterates "
                           "diverged (step size too large?)");
      });
    }
    const double gradient = gradient_seconds() - gradient_before;
    phases_.gradient += gradient;
    phases_.metrics += clock.lap() - gradient;
  }

  // Collective: whether the server says to stop (every process gets the same answer).
  bool agree(bool server_says_stop) {
    double flag = server_says_stop ? 1.0 : 0.0;
    transport_.broadcast(std::span<double>(&flag, 1));
    return flag != 0.0;
  }

  // Collective (--granularity tensor): every tensor's uplink bytes over the run, summed over
  // the processes (exact: whole numbers below 2^53), with the level each tensor ended on.
  std::vector<TensorTraffic> tensor_traffic() {
    if (tensor_bytes_.empty()) return {};
    transport_.allreduce_sum(std::span<double>(tensor_bytes_));
    std::vector<TensorTraffic> out;
    for (std::size_t k = 0; k < tensor_bytes_.size(); ++k) {
      const TensorShape& shape = state_.info.tensors[k];
      TensorTraffic t{.name = shape.name, .size = shape.size(), .bits_up = 8 * static_cast<std::uint64_t>(tensor_bytes_[k]),
                      .level = state_.info.config.compressor};
      // Per-tensor compressors (levelled or not) say which level and whether it is dense.
      if (const auto* levels = dynamic_cast<const LevelledCompressor*>(state_.compressor.get())) {
        const std::uint32_t c = levels->level(k);
        t.level = levels->dense(k, c) ? "dense" : levels->level_spec(c);
      }
      out.push_back(std::move(t));
    }
    return out;
  }

  // Collective: the run's counters for a checkpoint (tensor bytes summed over processes, the
  // busiest process's received bits); complete on the server.
  void save_totals(RunProgress& p) {
    p.tensor_bytes = tensor_bytes_;
    if (!p.tensor_bytes.empty()) transport_.allreduce_sum(std::span<double>(p.tensor_bytes));
    std::uint64_t received[1] = {received_bits()};
    transport_.allreduce_max(received);
    p.received_max_rank = received[0];
    p.messages = messages_;
    p.allgather_received = allgather_received_;
    p.allreduce_payload = allreduce_payload_;
    p.phases = phases_;
  }
  // After a resume: the server continues the checkpoint's counters; every other process
  // counts from zero (the totals are sums or maxima over processes).
  void restore_totals(const RunProgress& p) {
    if (!transport_.is_server()) return;
    if (p.tensor_bytes.size() == tensor_bytes_.size()) tensor_bytes_ = p.tensor_bytes;
    messages_ = p.messages;
    allgather_received_ = p.allgather_received;
    allreduce_payload_ = p.allreduce_payload;
    received_bytes_ = static_cast<std::size_t>(p.received_max_rank / 8);
    phases_ = p.phases;
  }

  // Local failures (an exception in a client, the server's decoding or step, a metric) are
  // kept instead of thrown, so that this process still takes part in every collective of
  // the round; the end-of-round agreement (execute) then stops every process together.
  bool failed() const { return failure_ != nullptr; }
  std::exception_ptr failure() const { return failure_; }
  // Where in the round the kept failure happened (place_in_round): when several processes
  // fail in one round, the earliest place is reported, so the message does not depend on
  // which rank hosts which client.
  std::uint64_t failure_place() const { return failure_place_; }
  // Runs f, keeping its exception (the first of the round wins) and the current place.
  template <class F>
  void guarded(F&& f) {
    try {
      f();
    } catch (...) {
      if (!failure_) {
        failure_ = std::current_exception();
        failure_place_ = place_;
      }
    }
  }
  // Keeps the exception that `throws_it` throws.
  template <class F>
  void keep_failure(F&& throws_it) {
    guarded(std::forward<F>(throws_it));
  }

  const PhaseSeconds& phases() const { return phases_; }
  std::uint64_t messages() const { return messages_; }
  std::uint64_t allgather_received() const { return allgather_received_; }
  std::uint64_t allreduce_payload() const { return allreduce_payload_; }
  std::uint64_t received_bits() const { return 8 * static_cast<std::uint64_t>(received_bytes_); }

 private:
  RunState& state_;
  Transport& transport_;
  std::uint32_t dim_;
  std::size_t clients_;
  ValueFormat wire_;
  Message message_;
  Message model_message_;
  std::vector<std::byte> frames_;
  std::vector<std::byte> received_;
  std::vector<std::byte> model_bytes_;
  // Adds the encoded size of each part of message_ (one per tensor) to tensor_bytes_.
  void count_tensor_bytes() {
    const std::size_t parts = std::min(tensor_bytes_.size(), message_.parts.size());
    for (std::size_t k = 0; k < parts; ++k) {
      const EncodedSize size = encoded_size(message_.parts[k], wire_);
      tensor_bytes_[k] += static_cast<double>(size.header + size.index + size.value);
    }
  }
  std::vector<double> tensor_bytes_;  // --granularity tensor: this process's clients' bytes per tensor

  // One client's terms of the metrics fold (measure).
  void client_metrics(LocalClient& c, std::int64_t t, bool evaluate, Eigen::Index d, Eigen::Ref<Eigen::VectorXd> term) {
    if (full_) {
      term.head(d) = c.oracle->gradient(state_.x, t);
      term[d + kLoss] = c.oracle->loss(state_.x, t);
      term[d + kLossCount] = 1.0;
      if (classifies_) term[d + kTrainCorrect] = static_cast<double>(c.problem->correct(state_.x).value_or(0));
    } else if (const double mean = c.oracle->take_mean_loss(); !std::isnan(mean)) {
      term[d + kLoss] = mean;
      term[d + kLossCount] = 1.0;
    }
    if (evaluate && c.test_problem != nullptr) {
      const auto rows = static_cast<double>(c.test_problem->rows());
      term[d + kTestLoss] = rows * c.test_problem->loss(state_.x);
      term[d + kTestCorrect] = static_cast<double>(c.test_problem->correct(state_.x).value_or(0));
    }
  }

  double gradient_seconds() const {
    double total = 0.0;
    for (const LocalClient& c : state_.clients) total += c.oracle->seconds();
    return total;
  }

  // Positions after the gradient block (full metrics only) of the folded metrics.
  static constexpr Eigen::Index kLoss = 0, kLossCount = 1, kTrainCorrect = 2, kTestLoss = 3, kTestCorrect = 4,
                                kScalarMetrics = 5;

  bool full_;        // full training metrics (RunInfo::full_metrics)
  bool classifies_;  // the problem has an accuracy
  bool allgather_;    // --aggregation allgather
  bool allreduce_;    // --aggregation allreduce
  bool sharded_;      // --aggregation sharded
  bool runs_server_;  // this process runs the server method (rank 0, or all with allgather / allreduce)
  bool shortcuts_;    // RunOptions::dense_shortcuts
  double timeout_;    // RunOptions::round_timeout (0: none)
  std::int64_t round_ = 0;  // the round of the last client_messages
  std::uint64_t allgather_received_ = 0;
  std::uint64_t allreduce_payload_ = 0;
  std::size_t received_bytes_ = 0;  // this process, in the rounds' collectives (bits_received_max_rank)
  std::size_t rank_index() const { return static_cast<std::size_t>(transport_.rank()); }
  std::unique_ptr<MessageSum> sum_;  // allreduce only
  std::unique_ptr<ShardedExchange> exchange_;  // sharded only
  EncodedSize sent_split_;                     // sharded: this process's clients' chunks this round
  std::uint64_t sent_messages_ = 0;            // ... and how many of its clients sent
  std::vector<std::byte> own_downlink_;        // sharded: this process's chunks of the downlink
  Message downlink_parts_;                     // sharded: the whole downlink
  Message summed_;                   // allreduce: the round's total
  Eigen::VectorXd metrics_;  // [sum_i grad f_i (full metrics only); the scalars above]
  SharedFactor* factor_;     // lowrank:factor=shared (null: none)
  PhaseSeconds phases_;
  std::uint64_t messages_ = 0;  // received by the server
  std::exception_ptr failure_;  // this round's first local failure (null: none)
  std::uint64_t place_ = 0;          // place_in_round(now): set at each step of the round
  std::uint64_t failure_place_ = 0;  // failure_place() of failure_
};

// The category of a round's failure, as it travels from the failing rank to the others.
enum class FailureKind : std::uint8_t { numeric = 'N', decode = 'D', data = 'F', config = 'C', comm = 'M', other = 'E' };

FailureKind kind_of(const std::exception_ptr& own, std::string& message) {
  try {
    std::rethrow_exception(own);
  } catch (const NumericError& e) {
    message = e.what();
    return FailureKind::numeric;
  } catch (const DecodeError& e) {
    message = e.what();
    return FailureKind::decode;
  } catch (const DataError& e) {
    message = e.what();
    return FailureKind::data;
  } catch (const ConfigError& e) {
    message = e.what();
    return FailureKind::config;
  } catch (const CommError& e) {
    message = e.what();
    return FailureKind::comm;
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "an unknown exception";
  }
  return FailureKind::other;
}

[[noreturn]] void throw_agreed(FailureKind kind, const std::string& message, bool report) {
  switch (kind) {
    case FailureKind::numeric: throw AgreedRoundFailure<NumericError>(message, report);
    case FailureKind::decode: throw AgreedRoundFailure<DecodeError>(message, report);
    case FailureKind::data: throw AgreedRoundFailure<DataError>(message, report);
    case FailureKind::config: throw AgreedRoundFailure<ConfigError>(message, report);
    case FailureKind::comm: throw AgreedRoundFailure<CommError>(message, report);
    case FailureKind::other: break;
  }
  throw AgreedRoundFailure<Error>(message, report);
}

}  // namespace

// Every process, once the end of round t found that some process failed (`own`: this
// process's failure, null if it has none, kept at `place`): every failing process's record
// [rank, place, category, message] reaches every process (one allgather; only failing
// processes contribute, 17 bytes plus the message each), and the earliest place in the
// round is reported (ties: the lowest rank), so that the message is the same whatever the
// rank layout. With a numeric failure (divergence: NaN or inf in a gradient, message, model
// or metric) rank 0's observer gets the run up to the last good row (the CSV and summary
// are written; nothing when the failure came before the first row); every process throws
// the same AgreedRoundFailure.
[[noreturn]] void fail_together(RunState& state, Transport& transport, std::exception_ptr own, std::uint64_t place,
                                std::int64_t t, bool logged, double seconds, const PhaseSeconds& phases,
                                RunObserver* observer, RunResult& result) {
  std::vector<std::byte> local, everyone;
  if (own) {
    std::string own_message;
    const FailureKind own_kind = kind_of(own, own_message);
    const auto rank = static_cast<std::uint32_t>(transport.rank());
    const auto length = static_cast<std::uint32_t>(std::min<std::size_t>(own_message.size(), 1U << 20));
    local.resize(17 + length);
    std::memcpy(local.data(), &rank, 4);
    std::memcpy(local.data() + 4, &place, 8);
    local[12] = static_cast<std::byte>(own_kind);
    std::memcpy(local.data() + 13, &length, 4);
    if (length > 0) std::memcpy(local.data() + 17, own_message.data(), length);
  }
  transport.allgather(local, everyone);
  // The records in rank order; the earliest place wins (strictly smaller: ties keep the
  // lower rank). Bytes from this run's own processes, still read within bounds.
  int reporter = -1;
  std::uint64_t best = ~std::uint64_t{0};
  FailureKind kind = FailureKind::other;
  std::string message = "a process failed";
  for (std::size_t at = 0; at + 17 <= everyone.size();) {
    std::uint32_t rank = 0, length = 0;
    std::uint64_t where = 0;
    std::memcpy(&rank, everyone.data() + at, 4);
    std::memcpy(&where, everyone.data() + at + 4, 8);
    std::memcpy(&length, everyone.data() + at + 13, 4);
    if (length > everyone.size() - at - 17) break;
    if (reporter < 0 || where < best) {
      reporter = static_cast<int>(rank);
      best = where;
      kind = static_cast<FailureKind>(everyone[at + 12]);
      message.assign(reinterpret_cast<const char*>(everyone.data()) + at + 17, length);
    }
    at += 17 + length;
  }
  const bool numeric = kind == FailureKind::numeric;
  if (transport.is_server()) {
    if (logged && !result.history.empty()) result.history.pop_back();  // the failed round's row
    result.rounds_run = t;
    result.stop_reason = "stopped at round " + std::to_string(t) + " (rank " + std::to_string(reporter) + "): " + message;
    if (numeric && observer != nullptr && !result.history.empty()) {
      result.info = state.info;
      result.x = state.x;
      result.seconds = seconds;
      result.phases = phases;
      observer->on_finish(result);
    }
  }
  throw_agreed(kind, message, transport.rank() == reporter);
}

RunResult execute(RunState& state, Transport& transport, const RunOptions& options) {
  RunInfo& info = state.info;
  const RunConfig& config = info.config;
  transport.broadcast(std::span<double>(&info.step_size, 1));
  MethodSetup setup;
  setup.dim = info.dim;
  setup.clients = config.clients;
  setup.schedule = StepSchedule::parse(config.lr_schedule, info.step_size, config.rounds);
  setup.batch_start = info.batch_start;
  setup.seed = config.seed;
  setup.wire = config.wire;
  setup.down_compressor = state.down_compressor.get();
  setup.delta_downlink = config.downlink == "delta";
  if (state.method->needs_smoothness()) {
    info.client_smoothness.resize(config.clients);
    transport.broadcast(std::span<double>(info.client_smoothness));
    setup.smoothness = info.client_smoothness;
  }
  for (LocalClient& c : state.clients) c.method = state.method->make_client(setup, c.id);
  if (transport.is_server() || config.aggregation != "gather") state.server = state.method->make_server(setup);
  state.replica = state.method->make_replica(setup);

  RunResult result;
  result.is_server = transport.is_server();
  RoundRunner runner(state, transport, options.dense_shortcuts, transport.size() > 1 ? options.round_timeout : 0.0);
  std::unique_ptr<RoundWatchdog> watchdog;
  if (options.round_timeout > 0.0) watchdog = transport.make_watchdog(options.round_timeout);
  RunObserver* observer = transport.is_server() ? options.observer : nullptr;
  std::optional<LevelAdapter> adapter;
  if (state.levels != nullptr) adapter.emplace(state, transport, observer);
  if (observer != nullptr) observer->on_start(info);
  if (result.is_server) {
    for (const std::string& text : info.warnings) {
      result.warnings.push_back(text);
      if (observer != nullptr) observer->on_warning(text);
    }
  }
  // --resume: the state, counters and rows of the newest usable checkpoint; the rounds go on
  // after its round.
  std::optional<RunProgress> resumed;
  std::vector<std::string> resume_warnings;
  if (!options.checkpoint.resume.empty()) {
    resumed = load_checkpoint(options.checkpoint.resume, state, transport, resume_warnings);
    result.warnings.insert(result.warnings.end(), resume_warnings.begin(), resume_warnings.end());
    runner.restore_totals(*resumed);
    if (adapter) adapter->restore(resumed->decisions);
    result.resumed_from = resumed->round;
  }
  const Clock clock(resumed ? resumed->seconds : 0.0);
  MetricsRow row;

  // Evaluation rounds (always logged): every eval_every rounds, or every logged round.
  const auto evaluates = [&](std::int64_t t) {
    return config.eval_every == 0 || t % config.eval_every == 0 || t == config.rounds;
  };
  // The row goes to the observer once the end of its round found no failure.
  const auto log_row = [&](std::int64_t t) {
    runner.measure(t, evaluates(t), row);
    if (!result.is_server) return;
    row.seconds = clock.seconds();
    result.history.push_back(row);
  };

  // NaN test accuracy (a row without evaluation) never reaches a target.
  const auto test_target_reached = [&]() {
    return config.target_test_accuracy && row.test_accuracy >= *config.target_test_accuracy;
  };
  const auto target_reached = [&]() {
    if (!result.is_server) return false;
    const bool grad = config.target_grad_norm_sq && row.grad_norm_sq <= *config.target_grad_norm_sq;
    const bool accuracy = config.target_accuracy && row.train_accuracy >= *config.target_accuracy;
    return grad || accuracy || test_target_reached();
  };
  const bool has_target = config.target_grad_norm_sq.has_value() || config.target_accuracy.has_value() ||
                          config.target_test_accuracy.has_value();

  // Collective: the checkpoint of round t (after its row and level choice).
  const bool checkpoints = !options.checkpoint.dir.empty();
  const auto write = [&](std::int64_t t) {
    const Clock write_clock;
    RunProgress progress;
    progress.round = t;
    runner.save_totals(progress);
    progress.row = row;
    progress.history = result.history;
    if (adapter) progress.decisions = adapter->decisions();
    progress.seconds = clock.seconds();
    result.checkpoint_written = write_checkpoint(options.checkpoint, state, progress, transport);
    if (observer != nullptr) observer->on_checkpoint(t, result.checkpoint_written, write_clock.seconds());
  };
  // A loss that stays finite but grows by an order of magnitude over its start is a
  // divergence too (a step size too large for the problem): said once, in the log and the
  // summary's warnings.
  bool diverging = false;
  const auto warn_if_diverging = [&]() {
    if (diverging || result.history.empty()) return;
    const double start = result.history.front().loss;
    if (!(start > 0.0) || !(row.loss > 10.0 * start)) return;
    diverging = true;
    char text[200];
    std::snprintf(text, sizeof text,
                  "round %lld: the loss grew from %.6g (round %lld) to %.6g; the run is diverging (step size too large?)",
                  static_cast<long long>(row.round), start, static_cast<long long>(result.history.front().round),
                  row.loss);
    result.warnings.emplace_back(text);
    if (observer != nullptr) observer->on_warning(text);
  };

  // Collective, after every round: one MPI_Allreduce (max) of [the signal any process
  // received (RunOptions::stop_signal), whether any process has a local failure]. A failure
  // stops every process here (fail_together); else the round's row goes out and the signal is
  // returned.
  const auto end_of_round = [&](std::int64_t t, bool logged) -> int {
    std::uint64_t flags[2] = {options.stop_signal != nullptr ? static_cast<std::uint64_t>(*options.stop_signal) : 0,
                              runner.failed() ? 1U : 0U};
    transport.allreduce_max(flags);
    if (flags[1] != 0) {
      fail_together(state, transport, runner.failure(), runner.failure_place(), t, logged, clock.seconds(),
                    runner.phases(), observer, result);
    }
    if (logged && result.is_server) warn_if_diverging();
    if (logged && observer != nullptr) observer->on_row(row);
    return static_cast<int>(flags[0]);
  };

  bool stop = false;
  std::int64_t t = 0;
  if (resumed) {
    t = resumed->round;
    row = resumed->row;
    if (result.is_server) {
      result.history = std::move(resumed->history);
      if (observer != nullptr) {
        observer->on_resume(t, resume_warnings);
        for (const MetricsRow& r : result.history) observer->on_row(r);
      }
    }
  } else {
    runner.client_messages(0);
    row.bits_up += runner.aggregate(Phase::initial, row);
    log_row(0);
    stop = has_target && runner.agree(target_reached());
    end_of_round(0, true);  // a stop signal this early ends the run after round 1
  }
  while (!stop && t < config.rounds) {
    ++t;
    row.bits_down += runner.downlink(t);
    runner.client_messages(t);
    row.bits_up += runner.aggregate(Phase::round, row);
    if (adapter && adapter->decides_after(t)) adapter->decide(t);
    if (observer != nullptr) observer->on_progress(t, clock.seconds());
    const bool evaluation = config.eval_every > 0 && evaluates(t);
    const bool logged = t % config.log_every == 0 || t == config.rounds || evaluation;
    if (logged) {
      log_row(t);
      stop = has_target && runner.agree(target_reached());
    }
    if (const int signal = end_of_round(t, logged); signal != 0 && !stop) {
      result.interrupted_by = signal;
      if (checkpoints) write(t);
      break;
    }
    if (checkpoints && options.checkpoint.every > 0 && t % options.checkpoint.every == 0 && !stop) write(t);
    if (watchdog) watchdog->completed(t);
  }
  result.rounds_run = t;
  result.stopped_early = stop && t < config.rounds;
  if (result.interrupted_by != 0) {
    result.stop_reason = "interrupted by signal " + std::to_string(result.interrupted_by) + " (" +
                         strsignal(result.interrupted_by) + ") after round " + std::to_string(t) +
                         (checkpoints ? "; checkpoint " + result.checkpoint_written : "; no checkpoint (no --checkpoint-dir)");
  } else if (stop) {
    char reason[160];
    if (config.target_grad_norm_sq && row.grad_norm_sq <= *config.target_grad_norm_sq) {
      std::snprintf(reason, sizeof reason, "target grad_norm_sq <= %.6g reached at round %lld",
                    *config.target_grad_norm_sq, static_cast<long long>(t));
    } else if (config.target_accuracy && row.train_accuracy >= *config.target_accuracy) {
      std::snprintf(reason, sizeof reason, "target train_accuracy >= %.6g reached at round %lld",
                    *config.target_accuracy, static_cast<long long>(t));
    } else {
      std::snprintf(reason, sizeof reason, "target test_accuracy >= %.6g reached at round %lld",
                    config.target_test_accuracy.value_or(0.0), static_cast<long long>(t));
    }
    result.stop_reason = reason;
  } else {
    result.stop_reason = has_target ? "all rounds done; target not reached" : "all rounds done";
  }
  result.phases = runner.phases();
  result.messages_up = runner.messages();
  result.bits_allgather_received = runner.allgather_received();
  result.bits_allreduce_payload = runner.allreduce_payload();
  result.tensor_traffic = runner.tensor_traffic();
  if (adapter) result.level_decisions = adapter->decisions();

  result.seconds = clock.seconds();
  std::uint64_t received[1] = {runner.received_bits()};
  transport.allreduce_max(received);
  result.bits_received_max_rank = received[0];
  std::uint64_t rss[1] = {peak_rss_bytes()};
  result.peak_rss_bytes_rank0 = rss[0];
  transport.allreduce_max(rss);
  result.peak_rss_bytes_max = rss[0];
  result.x = state.x;
  result.info = info;
  if (observer != nullptr) observer->on_finish(result);
  return result;
}

RunResult run_with(const RunConfig& config, Transport& transport, const RunOptions& options, SetupErrors errors) {
  if (errors == SetupErrors::propagate) {
    RunState state = prepare_local(config, options, transport.rank(), transport.size());
    return execute(state, transport, options);
  }
  RunState state;
  std::exception_ptr failure;
  try {
    state = prepare_local(config, options, transport.rank(), transport.size());
  } catch (...) {
    failure = std::current_exception();
  }
  int lowest = transport.lowest_failing_rank(failure != nullptr);
  if (lowest < 0) {
    // Every rank read its own copy of the data (on its own host, maybe): compare them.
    std::vector<std::byte> server_print(sizeof state.info.data_fingerprint);
    std::memcpy(server_print.data(), &state.info.data_fingerprint, server_print.size());
    transport.broadcast(server_print);
    std::uint64_t expected = 0;
    std::memcpy(&expected, server_print.data(), sizeof expected);
    const bool differs = expected != state.info.data_fingerprint;
    if (differs) {
      failure = std::make_exception_ptr(DataError(
          state.info.data_source + ": rank " + std::to_string(transport.rank()) +
          " read different data than rank 0 (every host needs the same file)"));
    }
    lowest = transport.lowest_failing_rank(differs);
  }
  if (lowest < 0) {
    // Builds for different instruction sets may round differently: the run would then depend
    // on which rank hosts which client.
    const std::string own = build_info().description();
    std::vector<std::byte> server_build(own.size());
    std::memcpy(server_build.data(), own.data(), own.size());
    transport.broadcast(server_build);
    const std::string server(reinterpret_cast<const char*>(server_build.data()), server_build.size());
    const bool differs = server != own;
    if (differs) {
      failure = std::make_exception_ptr(ConfigError(
          "rank " + std::to_string(transport.rank()) + " runs a build for " + own + ", rank 0 one for " + server +
          "; every rank must run the same build (cmake -DECCO_ARCH=portable or a level all hosts have, "
          "e.g. x86-64-v3, for hosts with different CPUs)"));
    }
    lowest = transport.lowest_failing_rank(differs);
  }
  if (lowest >= 0) {
    std::string message = "set-up failed on rank " + std::to_string(lowest);
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        message = e.what();
      }
    }
    throw SetupFailure(message, lowest == transport.rank());
  }
  return execute(state, transport, options);
}

}  // namespace ecco::detail
