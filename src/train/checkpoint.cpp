#include "train/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>

#include "compressors/crc32.hpp"
#include "ecco/build_info.hpp"
#include "ecco/codec.hpp"
#include "ecco/shared_factor.hpp"
#include "ecco/state_io.hpp"

namespace ecco::detail {
namespace {

namespace fs = std::filesystem;

// Every checkpoint file: magic, format version, kind, body length, CRC-32 of the body, body.
constexpr char kMagic[8] = {'E', 'C', 'C', 'O', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::uint32_t kRankFile = 1;
constexpr std::uint32_t kManifest = 2;
constexpr std::size_t kFileHeaderBytes = sizeof kMagic + 4 + 4 + 8 + 4;
constexpr const char* kManifestName = "manifest.bin";

std::string round_dir_name(std::int64_t round) {
  char name[40];
  std::snprintf(name, sizeof name, "round-%012" PRId64, round);
  return name;
}

std::string rank_file_name(int rank) { return "clients-rank" + std::to_string(rank) + ".bin"; }

std::uint32_t crc_of(std::span<const std::byte> bytes) { return crc32_update(0, bytes.data(), bytes.size()); }

std::vector<std::byte> framed(std::uint32_t kind, std::span<const std::byte> body) {
  std::vector<std::byte> out(kFileHeaderBytes + body.size());
  const std::uint64_t length = body.size();
  const std::uint32_t crc = crc_of(body);
  std::byte* p = out.data();
  std::memcpy(p, kMagic, sizeof kMagic);
  std::memcpy(p + 8, &kFormatVersion, 4);
  std::memcpy(p + 12, &kind, 4);
  std::memcpy(p + 16, &length, 8);
  std::memcpy(p + 24, &crc, 4);
  if (!body.empty()) std::memcpy(p + kFileHeaderBytes, body.data(), body.size());
  return out;
}

// The body of a file written by framed(), after checking every header field and the CRC.
std::span<const std::byte> unframed(std::span<const std::byte> file, std::uint32_t kind, const std::string& where) {
  if (file.size() < kFileHeaderBytes || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) {
    throw CheckpointError(where + ": not an ecco checkpoint file (" + std::to_string(file.size()) + " bytes, no header)");
  }
  std::uint32_t version = 0, stored_kind = 0, crc = 0;
  std::uint64_t length = 0;
  std::memcpy(&version, file.data() + 8, 4);
  std::memcpy(&stored_kind, file.data() + 12, 4);
  std::memcpy(&length, file.data() + 16, 8);
  std::memcpy(&crc, file.data() + 24, 4);
  if (version != kFormatVersion) {
    throw CheckpointError(where + ": checkpoint format version " + std::to_string(version) + ", this build reads " +
                          std::to_string(kFormatVersion));
  }
  if (stored_kind != kind) throw CheckpointError(where + ": holds another kind of checkpoint file");
  if (length != file.size() - kFileHeaderBytes) {
    throw CheckpointError(where + ": truncated or extended (" + std::to_string(file.size() - kFileHeaderBytes) +
                          " body bytes, the header says " + std::to_string(length) + ")");
  }
  const auto body = file.subspan(kFileHeaderBytes);
  if (crc_of(body) != crc) throw CheckpointError(where + ": checksum mismatch (the file is corrupt)");
  return body;
}

std::vector<std::byte> read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(path.string() + ": missing or unreadable (" + std::strerror(errno) + ")");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::streamoff>(in.tellg());
  if (size < 0) throw CheckpointError(path.string() + ": cannot read its size");
  in.seekg(0);
  std::vector<std::byte> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  if (!in) throw CheckpointError(path.string() + ": read failed");
  return bytes;
}

void fsync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) throw Error("checkpoint " + path.string() + ": cannot open to sync (" + std::strerror(errno) + ")");
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) throw Error("checkpoint " + path.string() + ": fsync failed (" + std::strerror(saved) + ")");
}

// path appears complete or not at all: temporary file, fsync, rename, fsync of the directory.
void write_durably(const fs::path& path, std::span<const std::byte> bytes) {
  const fs::path temporary = path.string() + ".tmp" + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("checkpoint " + temporary.string() + ": cannot create (" + std::strerror(errno) + ")");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      throw Error("checkpoint " + path.string() + ": write failed (" + std::strerror(saved) + "; disk full?)");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    throw Error("checkpoint " + path.string() + ": fsync failed (" + std::strerror(saved) + ")");
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    throw Error("checkpoint " + path.string() + ": rename failed (" + std::strerror(saved) + ")");
  }
  fsync_path(path.parent_path(), O_RDONLY | O_DIRECTORY);
}

// ---- the pieces of state ------------------------------------------------------------

void client_state(LocalClient& c, StateIO& io) {
  io.begin("compressor stream");
  c.rng.state(io);
  io.end();
  io.begin("sample stream");
  c.sample_rng.state(io);
  io.end();
  io.begin("workspace");
  workspace_state(c.workspace, io);
  io.end();
  io.begin("oracle");
  c.oracle->state(io);
  io.end();
  io.begin("method");
  c.method->state(io);
  io.end();
}

void row_state(MetricsRow& r, StateIO& io) {
  io.field("round", r.round);
  io.field("grad_norm_sq", r.grad_norm_sq);
  io.field("loss", r.loss);
  io.field("train_accuracy", r.train_accuracy);
  io.field("bits_up", r.bits_up);
  io.field("bits_down", r.bits_down);
  io.field("seconds", r.seconds);
  io.field("bits_up_header", r.bits_up_header);
  io.field("bits_up_index", r.bits_up_index);
  io.field("bits_up_value", r.bits_up_value);
  io.field("test_loss", r.test_loss);
  io.field("test_accuracy", r.test_accuracy);
}

void decision_state(LevelDecision& d, StateIO& io) {
  io.field("round", d.round);
  io.field("level", d.level);
  io.field("dense", d.dense);
  io.field("bytes", d.bytes);
  io.field("error", d.error);
  io.field("uniform_bytes", d.uniform_bytes);
  io.field("uniform_error", d.uniform_error);
}

// A list of n items, each listed by `item` (on load: resized from the stored count, which
// must not exceed `limit`).
template <class T, class F>
void list_state(std::string_view name, std::vector<T>& items, std::uint64_t limit, StateIO& io, F item) {
  std::uint64_t n = items.size();
  io.field(std::string(name) + " count", n);
  if (io.loading()) {
    if (n > limit) throw CheckpointError(std::string(name) + ": " + std::to_string(n) + " entries (at most " +
                                         std::to_string(limit) + ")");
    items.resize(n);
  }
  for (std::size_t k = 0; k < items.size(); ++k) {
    io.begin(std::string(name) + " " + std::to_string(k));
    item(items[k], io);
    io.end();
  }
}

std::vector<char> state_bytes(const auto& list) {
  StateWriter w;
  list(w);
  const auto& b = w.bytes();
  return {reinterpret_cast<const char*>(b.data()), reinterpret_cast<const char*>(b.data()) + b.size()};
}

void load_bytes(const std::vector<char>& bytes, const std::string& where, const auto& list) {
  StateReader r(std::as_bytes(std::span(bytes)), where);
  list(r);
  r.expect_end();
}

// What must be equal for a resumed run to continue the same trajectory, as "name = value"
// lines. --rounds / --epochs, --log-every, --eval-every, the targets, --dedicated-server, the
// rank count, the outputs and the checkpoint flags may change.
std::string run_identity(const RunInfo& info) {
  const RunConfig& c = info.config;
  char step[40];
  std::snprintf(step, sizeof step, "%.17g", info.step_size);
  std::string out;
  const auto line = [&](const char* name, const std::string& value) { out += std::string(name) + " = " + value + "\n"; };
  line("data", info.data_source);
  line("data fingerprint", std::to_string(info.data_fingerprint));
  line("test data", info.test_source);
  line("dim", std::to_string(info.dim));
  line("problem", info.problem_spec);
  line("algorithm", info.algorithm_spec);
  line("compressor", info.compressor_spec);
  line("down compressor", info.down_compressor_spec);
  line("split", info.split_spec);
  line("clients", std::to_string(c.clients));
  line("seed", std::to_string(c.seed));
  line("x0", c.x0);
  line("step size", step);
  line("lr schedule", info.lr_schedule_spec);
  line("train metrics", info.full_metrics ? "full" : "batch");
  line("start gradient", info.batch_start ? "batch" : "full");
  line("granularity", info.granularity);
  line("wire", std::string(to_string(c.wire)));
  line("precision", std::string(to_string(info.precision)));
  line("aggregation", c.aggregation);
  line("shard chunk", std::to_string(info.shard_chunk));
  line("downlink", c.downlink);
  line("adaptive", info.adaptive ? info.adaptive->spec : "");
  line("build", build_info().description());
  return out;
}

// "name: value (checkpoint: value)" for every line that differs.
std::string identity_differences(const std::string& now, const std::string& then) {
  const auto lines = [](const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t at = 0;
    while (at < text.size()) {
      const std::size_t end = std::min(text.find('\n', at), text.size());
      const std::string line = text.substr(at, end - at);
      const std::size_t eq = line.find(" = ");
      if (eq != std::string::npos) out.emplace_back(line.substr(0, eq), line.substr(eq + 3));
      at = end + 1;
    }
    return out;
  };
  const auto a = lines(now);
  const auto b = lines(then);
  std::string out;
  for (const auto& [name, value] : a) {
    const auto it = std::find_if(b.begin(), b.end(), [&](const auto& p) { return p.first == name; });
    const std::string old = it == b.end() ? "(absent)" : it->second;
    if (old != value) out += (out.empty() ? "" : "; ") + name + " '" + value + "' (checkpoint: '" + old + "')";
  }
  return out;
}

struct RankFileEntry {
  std::string name;
  std::uint64_t first_client = 0;
  std::uint64_t clients = 0;
  std::uint64_t size = 0;
  std::uint64_t crc = 0;
};

// The manifest's contents; one function lists them for writing and reading.
struct Manifest {
  std::int64_t round = 0;
  std::uint64_t ranks = 0;
  bool dedicated_server = false;
  std::string identity;
  Eigen::VectorXd x;
  std::vector<char> server;   // empty with --aggregation sharded (in the rank files)
  std::vector<char> replica;
  std::vector<double> shared_factor;
  std::vector<std::uint32_t> levels;
  RunProgress progress;
  std::vector<RankFileEntry> files;

  void state(StateIO& io) {
    io.field("round", round);
    io.field("ranks", ranks);
    io.field("dedicated_server", dedicated_server);
    io.field("identity", identity);
    io.field("x", x);
    io.field("server", server);
    io.field("replica", replica);
    io.field("shared_factor", shared_factor);
    io.field("levels", levels);
    RunProgress& p = progress;
    io.begin("row");
    row_state(p.row, io);
    io.end();
    list_state("history", p.history, std::uint64_t{1} << 32, io, row_state);
    list_state("decision", p.decisions, std::uint64_t{1} << 32, io, decision_state);
    io.field("tensor_bytes", p.tensor_bytes);
    io.field("messages", p.messages);
    io.field("allgather_received", p.allgather_received);
    io.field("allreduce_payload", p.allreduce_payload);
    io.field("received_max_rank", p.received_max_rank);
    io.field("gradient_seconds", p.phases.gradient);
    io.field("compress_encode_seconds", p.phases.compress_encode);
    io.field("communicate_seconds", p.phases.communicate);
    io.field("decode_aggregate_seconds", p.phases.decode_aggregate);
    io.field("apply_seconds", p.phases.apply);
    io.field("metrics_seconds", p.phases.metrics);
    io.field("seconds", p.seconds);
    list_state("file", files, std::uint64_t{1} << 24, io, [](RankFileEntry& f, StateIO& fio) {
      fio.field("name", f.name);
      fio.field("first_client", f.first_client);
      fio.field("clients", f.clients);
      fio.field("size", f.size);
      fio.field("crc", f.crc);
    });
  }
};

Manifest parse_manifest(std::span<const std::byte> file, const std::string& where) {
  Manifest m;
  StateReader r(unframed(file, kManifest, where), where);
  m.state(r);
  r.expect_end();
  return m;
}

bool shards_server(const RunState& state) { return state.info.config.aggregation == "sharded"; }
bool has_server(const RunState& state) { return state.server != nullptr; }

// Agrees on a local failure: every process throws AgreedRunError, the lowest failing one
// with its message (report() true there).
void agree_on(std::exception_ptr failure, Transport& transport, const std::string& context) {
  const int lowest = transport.lowest_failing_rank(failure != nullptr);
  if (lowest < 0) return;
  std::string message = context + ": failed on rank " + std::to_string(lowest);
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      message = e.what();
    }
  }
  throw AgreedRunError(message, lowest == transport.rank());
}

// The bytes of rank 0's string on every process.
std::string broadcast_text(const std::string& text, Transport& transport) {
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  transport.broadcast(bytes);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

std::string write_checkpoint(const CheckpointOptions& options, RunState& state, const RunProgress& progress,
                             Transport& transport) {
  const fs::path root(options.dir);
  const std::string final_name = round_dir_name(progress.round);
  const fs::path partial = root / (final_name + ".partial");
  std::exception_ptr failure;

  // Rank 0 makes a fresh partial directory; every rank then writes its file into it.
  try {
    if (transport.is_server()) {
      fs::create_directories(root);
      fs::remove_all(partial);
      fs::create_directory(partial);
    }
  } catch (const std::exception& e) {
    failure = std::make_exception_ptr(Error("--checkpoint-dir " + options.dir + ": " + e.what()));
  }
  agree_on(failure, transport, "checkpoint");

  std::uint64_t sizes[2] = {0, 0};  // this rank's file: size, CRC
  try {
    StateWriter w;
    std::int64_t round = progress.round;
    std::uint64_t first = state.first_client;
    std::uint64_t count = state.clients.size();
    w.field("round", round);
    w.field("first_client", first);
    w.field("clients", count);
    for (LocalClient& c : state.clients) {
      std::uint64_t id = c.id;
      std::vector<char> record = state_bytes([&](StateIO& io) { client_state(c, io); });
      w.field("client", id);
      w.field("state", record);
    }
    std::vector<char> server;
    if (shards_server(state)) server = state_bytes([&](StateIO& io) { state.server->state(io); });
    w.field("shard server", server);
    const auto file = framed(kRankFile, w.bytes());
    write_durably(partial / rank_file_name(transport.rank()), file);
    sizes[0] = file.size();
    sizes[1] = crc_of(std::span(file).subspan(kFileHeaderBytes));
  } catch (...) {
    failure = std::current_exception();
  }
  agree_on(failure, transport, "checkpoint");

  // The manifest needs every rank file's size and CRC: gathered as 16 bytes per rank.
  std::vector<std::byte> local(sizeof sizes), all;
  std::memcpy(local.data(), sizes, sizeof sizes);
  transport.gather(local, all);

  try {
    if (transport.is_server()) {
      Manifest m;
      m.round = progress.round;
      m.ranks = static_cast<std::uint64_t>(transport.size());
      m.dedicated_server = state.info.config.dedicated_server;
      m.identity = run_identity(state.info);
      m.x = state.x;
      if (!shards_server(state) && has_server(state)) {
        m.server = state_bytes([&](StateIO& io) { state.server->state(io); });
      }
      m.replica = state_bytes([&](StateIO& io) { state.replica->state(io); });
      if (state.shared_factor) {
        const auto s = state.shared_factor->state();
        m.shared_factor.assign(s.begin(), s.end());
      }
      if (state.levels != nullptr) {
        for (std::size_t k = 0; k < state.levels->tensor_count(); ++k) m.levels.push_back(state.levels->level(k));
      }
      m.progress = progress;
      for (int r = 0; r < transport.size(); ++r) {
        RankFileEntry f;
        f.name = rank_file_name(r);
        f.first_client = first_client_of_rank(state.info.config.clients, transport.size(), r,
                                              state.info.config.dedicated_server);
        f.clients = first_client_of_rank(state.info.config.clients, transport.size(), r + 1,
                                         state.info.config.dedicated_server) -
                    f.first_client;
        std::memcpy(&f.size, all.data() + 16 * static_cast<std::size_t>(r), 8);
        std::memcpy(&f.crc, all.data() + 16 * static_cast<std::size_t>(r) + 8, 8);
        m.files.push_back(std::move(f));
      }
      StateWriter w;
      m.state(w);
      write_durably(partial / kManifestName, framed(kManifest, w.bytes()));
      // The complete checkpoint takes its name; then the oldest beyond `keep` go.
      const fs::path final_dir = root / final_name;
      fs::remove_all(final_dir);
      fs::rename(partial, final_dir);
      fsync_path(root, O_RDONLY | O_DIRECTORY);
      std::vector<std::string> complete;
      for (const auto& entry : fs::directory_iterator(root)) {
        const std::string name = entry.path().filename().string();
        if (name.size() == final_name.size() && name.rfind("round-", 0) == 0) complete.push_back(name);
      }
      std::sort(complete.begin(), complete.end());
      const std::size_t keep = std::max<std::size_t>(options.keep, 1);
      for (std::size_t k = 0; k + keep < complete.size(); ++k) fs::remove_all(root / complete[k]);
    }
  } catch (const std::exception& e) {
    failure = std::make_exception_ptr(Error("--checkpoint-dir " + options.dir + ": " + e.what()));
  }
  agree_on(failure, transport, "checkpoint");
  return (root / final_name).string();
}

RunProgress load_checkpoint(const std::string& dir, RunState& state, Transport& transport,
                            std::vector<std::string>& skipped) {
  // Rank 0 picks the newest checkpoint whose every file checks out against this run.
  std::vector<std::byte> manifest_bytes;
  std::string chosen, error;
  if (transport.is_server()) {
    std::vector<std::string> rounds;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      error = "--resume " + dir + ": not a directory";
    } else {
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() == round_dir_name(0).size() && name.rfind("round-", 0) == 0) rounds.push_back(name);
      }
      std::sort(rounds.rbegin(), rounds.rend());
      if (rounds.empty()) error = "--resume " + dir + ": no complete checkpoint in it (round-<R> directories)";
    }
    const std::string identity = run_identity(state.info);
    for (const std::string& name : rounds) {
      const fs::path where = fs::path(dir) / name;
      try {
        auto bytes = read_whole(where / kManifestName);
        const Manifest m = parse_manifest(bytes, (where / kManifestName).string());
        if (m.identity != identity) {
          throw CheckpointError(where.string() + ": the checkpoint's run differs from this one: " +
                                identity_differences(identity, m.identity) +
                                " (may change on resume: --rounds, --epochs, --log-every, --eval-every, the targets, "
                                "--dedicated-server and the number of ranks)");
        }
        if (state.info.config.aggregation == "sharded" && m.ranks != static_cast<std::uint64_t>(transport.size())) {
          throw CheckpointError(where.string() + ": written by " + std::to_string(m.ranks) +
                                " ranks under --aggregation sharded, whose server state is cut by rank; resume it on " +
                                std::to_string(m.ranks) + " ranks");
        }
        for (const RankFileEntry& f : m.files) {
          const auto file = read_whole(where / f.name);
          if (file.size() != f.size) {
            throw CheckpointError((where / f.name).string() + ": " + std::to_string(file.size()) +
                                  " bytes, the manifest says " + std::to_string(f.size) + " (truncated?)");
          }
          unframed(file, kRankFile, (where / f.name).string());
        }
        manifest_bytes = std::move(bytes);
        chosen = where.string();
        break;
      } catch (const CheckpointError& e) {
        if (error.empty()) error = e.what();
        skipped.push_back(std::string(e.what()) + "; skipped");
      }
    }
    if (!chosen.empty()) error.clear();
    if (chosen.empty() && !rounds.empty()) error = "--resume " + dir + ": no usable checkpoint; newest: " + error;
  }
  error = broadcast_text(error, transport);
  if (!error.empty()) throw AgreedRunError(error, transport.is_server());
  chosen = broadcast_text(chosen, transport);
  transport.broadcast(manifest_bytes);
  if (!skipped.empty() && transport.is_server()) skipped.back() += "; resumed from " + chosen;

  RunProgress progress;
  std::exception_ptr failure;
  try {
    const std::string where = (fs::path(chosen) / kManifestName).string();
    Manifest m = parse_manifest(manifest_bytes, where);
    if (m.x.size() != state.x.size()) throw CheckpointError(where + ": the model has another dimension");
    state.x = m.x;
    if (!shards_server(state) && has_server(state)) {
      load_bytes(m.server, where + ": server", [&](StateIO& io) { state.server->state(io); });
    }
    load_bytes(m.replica, where + ": replica", [&](StateIO& io) { state.replica->state(io); });
    if (state.shared_factor) {
      const auto s = state.shared_factor->state();
      if (m.shared_factor.size() != s.size()) throw CheckpointError(where + ": the shared factor has another size");
      std::copy(m.shared_factor.begin(), m.shared_factor.end(), s.begin());
    }
    if (state.levels != nullptr) {
      if (m.levels.size() != state.levels->tensor_count()) throw CheckpointError(where + ": levels for another layout");
      for (const std::uint32_t level : m.levels) {
        if (level >= state.levels->level_count()) throw CheckpointError(where + ": a level out of range");
      }
      state.levels->set_levels(m.levels);
    }
    // This process's clients, from whichever rank files hold them.
    const std::uint64_t mine_begin = state.first_client;
    const std::uint64_t mine_end = state.first_client + state.clients.size();
    std::vector<char> loaded(state.clients.size(), 0);
    for (const RankFileEntry& f : m.files) {
      const bool overlaps = f.first_client < mine_end && mine_begin < f.first_client + f.clients;
      const bool needs_shard = shards_server(state) && f.name == rank_file_name(transport.rank());
      if (!overlaps && !needs_shard) continue;
      const std::string file_where = (fs::path(chosen) / f.name).string();
      const auto file = read_whole(fs::path(chosen) / f.name);
      StateReader r(unframed(file, kRankFile, file_where), file_where);
      std::int64_t round = 0;
      std::uint64_t first = 0, count = 0;
      r.field("round", round);
      r.field("first_client", first);
      r.field("clients", count);
      if (round != m.round || first != f.first_client || count != f.clients) {
        throw CheckpointError(file_where + ": belongs to another checkpoint or layout");
      }
      for (std::uint64_t k = 0; k < count; ++k) {
        std::uint64_t id = 0;
        std::vector<char> record;
        r.field("client", id);
        r.field("state", record);
        if (id != first + k) throw CheckpointError(file_where + ": client records out of order");
        if (id < mine_begin || id >= mine_end) continue;
        LocalClient& c = state.clients[id - mine_begin];
        load_bytes(record, file_where + ": client " + std::to_string(id), [&](StateIO& io) { client_state(c, io); });
        loaded[id - mine_begin] = 1;
      }
      std::vector<char> server;
      r.field("shard server", server);
      r.expect_end();
      if (needs_shard) load_bytes(server, file_where + ": server", [&](StateIO& io) { state.server->state(io); });
    }
    for (std::size_t k = 0; k < loaded.size(); ++k) {
      if (loaded[k] == 0) throw CheckpointError(chosen + ": no record of client " + std::to_string(mine_begin + k));
    }
    progress = std::move(m.progress);
    progress.round = m.round;
  } catch (...) {
    failure = std::current_exception();
  }
  agree_on(failure, transport, "--resume");
  return progress;
}

}  // namespace ecco::detail
