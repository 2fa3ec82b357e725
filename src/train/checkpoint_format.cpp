#include "train/checkpoint_format.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "compressors/crc32.hpp"

namespace ecco::detail {

namespace fs = std::filesystem;

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

void Manifest::state(StateIO& io) {
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

Manifest parse_manifest(std::span<const std::byte> file, const std::string& where) {
  Manifest m;
  StateReader r(unframed(file, kManifest, where), where);
  m.state(r);
  r.expect_end();
  return m;
}

void walk_record(std::span<const std::byte> bytes, const std::string& where) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    std::uint8_t type = 0;
    std::uint16_t name_length = 0;
    std::uint64_t count = 0;
    if (bytes.size() - at < 3) throw CheckpointError(where + ": a field header is truncated");
    std::memcpy(&type, bytes.data() + at, 1);
    std::memcpy(&name_length, bytes.data() + at + 1, 2);
    at += 3;
    if (bytes.size() - at < name_length + std::size_t{8}) throw CheckpointError(where + ": a field header is truncated");
    at += name_length;
    std::memcpy(&count, bytes.data() + at, 8);
    at += 8;
    static constexpr std::size_t kElementBytes[] = {0, 8, 0, 4, 4, 8, 1, 1, 8, 8, 8};
    if (type == 0 || type > 10) throw CheckpointError(where + ": a field of unknown type " + std::to_string(type));
    const std::size_t element = kElementBytes[type];
    if (element != 0 && count > (bytes.size() - at) / element) throw CheckpointError(where + ": a field is truncated");
    at += element * count;
  }
}

std::string check_checkpoint_file(std::span<const std::byte> file, const std::string& where) {
  std::uint32_t kind = 0;
  if (file.size() >= kFileHeaderBytes) std::memcpy(&kind, file.data() + 12, 4);
  if (kind == kManifest) {
    Manifest m = parse_manifest(file, where);
    for (const std::vector<char>* record : {&m.server, &m.replica}) {
      walk_record(std::as_bytes(std::span(*record)), where + ": nested record");
    }
    return "manifest";
  }
  StateReader r(unframed(file, kRankFile, where), where);
  std::int64_t round = 0;
  std::uint64_t first = 0, count = 0;
  r.field("round", round);
  r.field("first_client", first);
  r.field("clients", count);
  for (std::uint64_t k = 0; k < count; ++k) {
    std::uint64_t id = 0;
    std::vector<char> record;
    r.field("client", id);
    r.field("state", record);
    walk_record(std::as_bytes(std::span(record)), where + ": client " + std::to_string(id));
  }
  std::vector<char> server;
  r.field("shard server", server);
  r.expect_end();
  walk_record(std::as_bytes(std::span(server)), where + ": server");
  return "rank file";
}

}  // namespace ecco::detail
