#pragma once
// The checkpoint file format (private to src/train; docs/checkpoints.md): the framing every
// file shares (magic, version, kind, length, CRC-32), the manifest's contents and the rank
// files' outer structure. No MPI and no run state: the checkpoint reader's fuzz target links
// this alone.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "ecco/state_io.hpp"
#include "ecco/trainer.hpp"

namespace ecco::detail {

// Every checkpoint file: magic, format version, kind, body length, CRC-32 of the body, body.
inline constexpr char kMagic[8] = {'E', 'C', 'C', 'O', 'C', 'K', 'P', 'T'};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::uint32_t kRankFile = 1;
inline constexpr std::uint32_t kManifest = 2;
inline constexpr std::size_t kFileHeaderBytes = sizeof kMagic + 4 + 4 + 8 + 4;
inline constexpr const char* kManifestName = "manifest.bin";


// What the round loop carries besides the run's objects, as of the end of `round`. Complete
// on the server; other processes need only `round`.
struct RunProgress {
  std::int64_t round = 0;
  MetricsRow row;                     // the cumulative bit counters as of `round`
  std::vector<MetricsRow> history;    // the logged rows so far
  std::vector<LevelDecision> decisions;
  std::vector<double> tensor_bytes;   // per tensor, summed over processes
  std::uint64_t messages = 0;
  std::uint64_t allgather_received = 0;
  std::uint64_t allreduce_payload = 0;
  std::uint64_t received_max_rank = 0;  // bits, the busiest process
  PhaseSeconds phases;
  double seconds = 0.0;
};

std::string round_dir_name(std::int64_t round);  // "round-000000001200"
std::string rank_file_name(int rank);            // "clients-rank3.bin"
std::uint32_t crc_of(std::span<const std::byte> bytes);
// A file of `kind`: the header, then body.
std::vector<std::byte> framed(std::uint32_t kind, std::span<const std::byte> body);
// The body of a file written by framed(), after checking every header field and the CRC;
// CheckpointError naming `where` otherwise.
std::span<const std::byte> unframed(std::span<const std::byte> file, std::uint32_t kind, const std::string& where);
// The whole file; CheckpointError if it is missing or unreadable.
std::vector<std::byte> read_whole(const std::filesystem::path& path);

void row_state(MetricsRow& r, StateIO& io);
void decision_state(LevelDecision& d, StateIO& io);

// A list of n items, each listed by `item` (on load: resized from the stored count, which
// must not exceed `limit`).
template <class T, class F>
void list_state(std::string_view name, std::vector<T>& items, std::uint64_t limit, StateIO& io, F item) {
  std::uint64_t n = items.size();
  io.field(std::string(name) + " count", n);
  if (io.loading()) {
    if (n > limit) throw CheckpointError(std::string(name) + ": " + std::to_string(n) + " entries (at most " +
                                         std::to_string(limit) + ")");
    // One entry at a time: a corrupt count runs out of record bytes, never into a huge
    // allocation (found by fuzz_checkpoint).
    items.clear();
    for (std::uint64_t k = 0; k < n; ++k) {
      items.emplace_back();
      io.begin(std::string(name) + " " + std::to_string(k));
      item(items.back(), io);
      io.end();
    }
    return;
  }
  for (std::size_t k = 0; k < items.size(); ++k) {
    io.begin(std::string(name) + " " + std::to_string(k));
    item(items[k], io);
    io.end();
  }
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

  void state(StateIO& io);
};

Manifest parse_manifest(std::span<const std::byte> file, const std::string& where);

// Walks a record's fields by their headers (types and counts), without knowing the object;
// CheckpointError at the first field that does not fit.
void walk_record(std::span<const std::byte> bytes, const std::string& where);

// Reads one checkpoint file as resuming does, without a run: the header and checksum, then a
// manifest's every field or a rank file's records (each record's framing and field headers).
// Returns the file's kind ("manifest" or "rank file"); CheckpointError on anything else. The
// entry point of the checkpoint reader's fuzz target.
std::string check_checkpoint_file(std::span<const std::byte> file, const std::string& where);

}  // namespace ecco::detail
