// restrict_message: the piece of a message on one coordinate chunk (sharded aggregation).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "ecco/error.hpp"
#include "ecco/message.hpp"

namespace ecco {
namespace {

// The quantisation fields and the tag carry over; levels are sliced with the values.
void copy_encoding(const Message& m, Message& piece) {
  piece.code = m.code;
  piece.level_count = m.level_count;
  piece.scale = m.scale;
  piece.tag = m.tag;
}

}  // namespace

void restrict_message(const Message& m, std::uint32_t first, std::uint32_t length, Message& piece) {
  if (static_cast<std::uint64_t>(first) + length > m.dim || length == 0) {
    throw std::invalid_argument("restrict_message: chunk [" + std::to_string(first) + ", " +
                                std::to_string(static_cast<std::uint64_t>(first) + length) +
                                ") is empty or outside the message's " + std::to_string(m.dim) + " coordinates");
  }
  const bool quantised = m.code != ValueCode::raw;
  switch (m.layout) {
    case Layout::dense: {
      piece.prepare_dense(length);
      std::copy_n(m.values.begin() + first, length, piece.values.begin());
      copy_encoding(m, piece);
      if (quantised) piece.levels.assign(m.levels.begin() + first, m.levels.begin() + first + length);
      return;
    }
    case Layout::sparse: {
      piece.clear_sparse(length);
      const auto begin = std::lower_bound(m.indices.begin(), m.indices.end(), first);
      const auto end = std::lower_bound(begin, m.indices.end(), first + length);
      const auto from = static_cast<std::size_t>(begin - m.indices.begin());
      const auto count = static_cast<std::size_t>(end - begin);
      piece.indices.resize(count);
      for (std::size_t k = 0; k < count; ++k) piece.indices[k] = m.indices[from + k] - first;
      piece.values.assign(m.values.begin() + static_cast<std::ptrdiff_t>(from),
                          m.values.begin() + static_cast<std::ptrdiff_t>(from + count));
      copy_encoding(m, piece);
      if (quantised) {
        piece.levels.assign(m.levels.begin() + static_cast<std::ptrdiff_t>(from),
                            m.levels.begin() + static_cast<std::ptrdiff_t>(from + count));
      }
      return;
    }
    case Layout::parts: {
      std::uint64_t at = 0;
      for (const Message& part : m.active_parts()) {
        if (at == first && part.dim == length) {
          piece = part;
          if (m.tag != 0) piece.tag = m.tag;
          return;
        }
        at += part.dim;
      }
      throw ConfigError("a per-tensor message cannot be cut at coordinates [" + std::to_string(first) + ", " +
                        std::to_string(static_cast<std::uint64_t>(first) + length) +
                        "): its parts do not match the chunks (use --granularity global)");
    }
    case Layout::lowrank:
    case Layout::shared_lowrank:
      throw ConfigError("a low-rank message cannot be cut into coordinate chunks (sharded aggregation)");
  }
}

}  // namespace ecco
