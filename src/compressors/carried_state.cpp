#include <string>

#include "ecco/compressor.hpp"
#include "ecco/message.hpp"
#include "ecco/state_io.hpp"

namespace ecco {
namespace {

// More parts than any layout has tensors x levels: a corrupt count, refused before allocating.
constexpr std::uint64_t kMaxParts = std::uint64_t{1} << 20;

// Narrows a stored number to a field of `bits` bits, or throws naming the field.
std::uint64_t checked(std::uint64_t v, std::uint64_t max, const char* what) {
  if (v > max) throw CheckpointError(std::string("state: ") + what + " " + std::to_string(v) + " is out of range");
  return v;
}

}  // namespace

void workspace_state(CompressorWorkspace& workspace, StateIO& io) {
  io.field("warm_start", workspace.warm_start);
  io.field("accumulated", workspace.accumulated);
  std::uint64_t parts = workspace.parts.size();
  io.field("parts", parts);
  if (io.loading()) {
    // Part by part: a count beyond the record's bytes fails when they run out, before any
    // allocation the record does not hold.
    checked(parts, kMaxParts, "workspace part count");
    workspace.parts.clear();
    for (std::uint64_t k = 0; k < parts; ++k) {
      workspace.parts.emplace_back();
      io.begin("part " + std::to_string(k));
      workspace_state(workspace.parts.back(), io);
      io.end();
    }
    return;
  }
  for (std::size_t k = 0; k < workspace.parts.size(); ++k) {
    io.begin("part " + std::to_string(k));
    workspace_state(workspace.parts[k], io);
    io.end();
  }
}


void message_state(Message& m, StateIO& io) {
  std::uint64_t layout = static_cast<std::uint64_t>(m.layout);
  std::uint64_t dim = m.dim;
  std::uint64_t code = static_cast<std::uint64_t>(m.code);
  std::uint64_t level_count = m.level_count;
  std::uint64_t tag = m.tag;
  std::uint64_t rows = m.rows, cols = m.cols, rank = m.rank;
  std::uint64_t parts = m.active_parts().size();
  std::vector<std::uint32_t> levels(m.levels.begin(), m.levels.end());
  io.field("layout", layout);
  io.field("dim", dim);
  io.field("indices", m.indices);
  io.field("values", m.values);
  io.field("code", code);
  io.field("level_count", level_count);
  io.field("scale", m.scale);
  io.field("levels", levels);
  io.field("seeded", m.seeded);
  io.field("seed", m.seed);
  io.field("tag", tag);
  io.field("rows", rows);
  io.field("cols", cols);
  io.field("rank", rank);
  io.field("factor_version", m.factor_version);
  io.field("parts", parts);
  if (io.loading()) {
    const std::uint64_t l = checked(layout, 5, "layout");
    if (l == 0) throw CheckpointError("message: layout 0 is out of range");
    m.layout = static_cast<Layout>(l);
    m.dim = static_cast<std::uint32_t>(checked(dim, 0xFFFFFFFFu, "dim"));
    const std::uint64_t c = checked(code, 19, "value code");
    if (c != 0 && c < 16) throw CheckpointError("message: value code " + std::to_string(c) + " is out of range");
    m.code = static_cast<ValueCode>(c);
    m.level_count = static_cast<std::uint32_t>(checked(level_count, 0xFFFFFFFFu, "level count"));
    m.levels.assign(levels.begin(), levels.end());
    m.tag = static_cast<std::uint8_t>(checked(tag, 0xFF, "tag"));
    m.rows = static_cast<std::uint32_t>(checked(rows, 0xFFFFFFFFu, "rows"));
    m.cols = static_cast<std::uint32_t>(checked(cols, 0xFFFFFFFFu, "cols"));
    m.rank = static_cast<std::uint32_t>(checked(rank, 0xFFFFFFFFu, "rank"));
    m.part_count = static_cast<std::uint32_t>(checked(parts, kMaxParts, "part count"));
  }
  for (std::size_t k = 0; k < parts; ++k) {
    // On load, part by part (a corrupt count runs out of record bytes first).
    if (io.loading() && m.parts.size() <= k) m.parts.emplace_back();
    io.begin("part " + std::to_string(k));
    message_state(m.parts[k], io);
    io.end();
  }
}

}  // namespace ecco
