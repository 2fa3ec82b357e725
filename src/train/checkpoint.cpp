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
#include <optional>
#include <span>

#include "ecco/build_info.hpp"
#include "ecco/codec.hpp"
#include "ecco/shared_factor.hpp"
#include "ecco/state_io.hpp"

namespace ecco::detail {
namespace {

namespace fs = std::filesystem;

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
  if (!text.empty()) std::memcpy(bytes.data(), text.data(), text.size());
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
