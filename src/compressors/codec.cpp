#include "ecco/codec.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "compressors/crc32.hpp"
#include "compressors/index_codecs.hpp"
#include "compressors/level_packing.hpp"
#include "compressors/quantised.hpp"
#include "compressors/value_format.hpp"
#include "compressors/wire_bytes.hpp"
#include "ecco/error.hpp"
#include "ecco/shared_factor.hpp"

namespace ecco {
namespace {

using detail::get_u32;
using detail::get_u64;
using detail::put_u32;
using detail::put_u64;

constexpr std::uint8_t kMagic[4] = {'E', 'C', 'C', 'M'};
constexpr std::size_t kCrcOffset = 16;
constexpr std::size_t kLowrankParamBytes = 12;  // rows, cols, rank
constexpr std::size_t kFactorVersionBytes = 8;  // shared_lowrank: the factor version after rows, cols, rank
constexpr std::size_t kLevelsParamBytes = 8;    // s, scale
constexpr std::size_t kScaleParamBytes = 4;     // scale (natural, sign)
constexpr std::size_t kPartLengthBytes = 4;     // parts layout: uint32 byte length before each part

bool is_quantised(ValueCode code) { return code != ValueCode::raw; }

bool valid_value_format(std::uint8_t tag) { return tag >= 1 && tag <= 4; }

bool valid_value_code(std::uint8_t tag) { return tag >= 16 && tag <= 19; }

// A tagged message (layout byte | kTaggedLayout) carries one tag byte first among its
// parameters.
constexpr std::uint8_t kTaggedLayout = 0x80;
constexpr std::size_t kTagBytes = 1;

std::size_t param_bytes(Layout layout, ValueCode code) {
  std::size_t bytes = 0;
  if (layout == Layout::lowrank) bytes = kLowrankParamBytes;
  if (layout == Layout::shared_lowrank) bytes = kLowrankParamBytes + kFactorVersionBytes;
  if (code == ValueCode::uniform_levels || code == ValueCode::power_levels) bytes += kLevelsParamBytes;
  if (code == ValueCode::natural || code == ValueCode::sign) bytes += kScaleParamBytes;
  return bytes;
}

std::uint64_t value_section_bytes(ValueCode code, std::uint32_t s, ValueFormat format, std::uint64_t n) {
  if (code == ValueCode::raw) return n * value_format_bytes(format);
  return (n * detail::level_width(code, s) + 7) / 8;
}

std::uint32_t crc_of_message(const std::byte* message, std::size_t size) {
  // Every byte except the CRC field itself: [0, 16) then [20, size).
  const std::uint32_t head = detail::crc32_update(0, message, kCrcOffset);
  return detail::crc32_update(head, message + kHeaderBytes, size - kHeaderBytes);
}

// %.6g: "1e+308", not the 309 digits of std::to_string.
std::string shown_value(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

[[noreturn]] void throw_not_finite(double v, std::size_t coordinate) {
  throw NumericError("message value at coordinate " + std::to_string(coordinate) + " is not finite (" +
                     shown_value(v) + ")");
}

[[noreturn]] void throw_overflow(double v, std::size_t coordinate, ValueFormat format) {
  throw NumericError("message value " + shown_value(v) + " at coordinate " + std::to_string(coordinate) +
                     " overflows the " + std::string(to_string(format)) + " wire format (the value grew out of its range: "
                     "a step size too large, or use --wire fp64)");
}

// The stored values that travel: all but a shared_lowrank message's P (the first rows x rank),
// which the receiver has.
std::size_t first_wire_value(const Message& m) {
  return m.layout == Layout::shared_lowrank ? static_cast<std::size_t>(m.rows) * m.rank : 0;
}
std::size_t wire_count(const Message& m) { return m.count() - std::min(m.count(), first_wire_value(m)); }

// Coordinate of stored value k in the whole vector; base is where the message starts in it
// (the offset of a part, 0 otherwise), so errors name the coordinate of the model.
std::size_t coordinate_of(const Message& m, std::size_t k, std::size_t base) {
  return base + (m.layout == Layout::sparse && k < m.indices.size() ? m.indices[k] : k);
}

void check_scale(const Message& m) {
  double fp32 = 0.0;
  if (!std::isfinite(m.scale) || m.scale < 0.0 || std::signbit(m.scale) || !detail::round_to_fp32(m.scale, fp32) ||
      fp32 != m.scale) {
    throw NumericError("quantised message scale " + std::to_string(m.scale) +
                       " is not a finite non-negative fp32 value");
  }
  if (m.code == ValueCode::natural && m.scale > 1.0) {
    throw NumericError("natural message scale " + std::to_string(m.scale) + " exceeds 1");
  }
}

// Largest |level| of a code.
std::uint32_t max_level_of(ValueCode code, std::uint32_t s) {
  switch (code) {
    case ValueCode::uniform_levels:
    case ValueCode::power_levels:
      return s;
    case ValueCode::natural:
      return static_cast<std::uint32_t>(detail::kNaturalMaxLevel);
    default:
      return 1;
  }
}

// values[k] = the decoded value of levels[k], one loop per code.
void values_from_levels(Message& m) {
  const std::size_t n = std::min(m.values.size(), m.levels.size());
  double* v = m.values.data();
  const std::int32_t* l = m.levels.data();
  const double scale = m.scale;
  const std::uint32_t s = m.level_count;
  switch (m.code) {
    case ValueCode::uniform_levels:
      for (std::size_t k = 0; k < n; ++k) v[k] = detail::uniform_level_value(l[k], s, scale);
      break;
    case ValueCode::power_levels:
      if (s <= 1022) {  // the loop without power_level_value's branch vectorises
        for (std::size_t k = 0; k < n; ++k) v[k] = detail::power_level_value_normal(l[k], s, scale);
      } else {
        for (std::size_t k = 0; k < n; ++k) v[k] = detail::power_level_value(l[k], s, scale);
      }
      break;
    case ValueCode::natural:
      for (std::size_t k = 0; k < n; ++k) v[k] = detail::natural_level_value(l[k], scale);
      break;
    case ValueCode::sign:
      for (std::size_t k = 0; k < n; ++k) v[k] = detail::sign_level_value(l[k], scale);
      break;
    case ValueCode::raw:
      break;
  }
}

void check_structure(const Message& m);

// A parts message: 1 <= part_count <= dim, parts that are not parts messages, each valid,
// whose dimensions sum to dim; nothing of its own but the tag.
void check_parts_structure(const Message& m) {
  const auto fail = [](const std::string& what) { throw std::invalid_argument("encode: " + what); };
  if (m.part_count == 0 || m.part_count > m.dim || m.part_count > m.parts.size()) {
    fail("parts message has part_count " + std::to_string(m.part_count) + " (needs 1 <= part_count <= dim " +
         std::to_string(m.dim) + " and <= parts.size() " + std::to_string(m.parts.size()) + ")");
  }
  if (m.code != ValueCode::raw || m.seeded || !m.values.empty() || !m.indices.empty() || !m.levels.empty()) {
    fail("a parts message carries its values in its parts only");
  }
  std::uint64_t sum = 0;
  for (std::size_t k = 0; k < m.part_count; ++k) {
    const Message& part = m.parts[k];
    if (part.layout == Layout::parts) fail("part " + std::to_string(k) + " is itself a parts message");
    try {
      check_structure(part);
    } catch (const std::invalid_argument& e) {
      fail("part " + std::to_string(k) + ": " + e.what());
    }
    sum += part.dim;
  }
  if (sum != m.dim) {
    fail("part dimensions sum to " + std::to_string(sum) + ", not the message dimension " + std::to_string(m.dim));
  }
}

// Structural validity of a message given to encode() (std::invalid_argument otherwise).
void check_structure(const Message& m) {
  const auto fail = [](const std::string& what) { throw std::invalid_argument("encode: " + what); };
  if (m.dim == 0) fail("message dimension is 0");
  switch (m.layout) {
    case Layout::parts:
      check_parts_structure(m);
      return;
    case Layout::dense:
      if (m.values.size() != m.dim) {
        fail("dense message has " + std::to_string(m.values.size()) + " values for dimension " + std::to_string(m.dim));
      }
      break;
    case Layout::sparse: {
      if (m.indices.size() != m.values.size()) {
        fail("sparse message has " + std::to_string(m.indices.size()) + " indices but " +
             std::to_string(m.values.size()) + " values");
      }
      bool ordered = m.indices.empty() || m.indices.back() < m.dim;
      for (std::size_t k = 1; k < m.indices.size(); ++k) ordered &= m.indices[k - 1] < m.indices[k];
      if (!ordered) fail("sparse message indices must be strictly increasing and < dim");
      break;
    }
    case Layout::lowrank:
    case Layout::shared_lowrank: {
      const std::uint64_t cols = m.rows == 0 ? 0 : (static_cast<std::uint64_t>(m.dim) + m.rows - 1) / m.rows;
      const std::uint64_t p_blocks = m.layout == Layout::shared_lowrank ? 2 : 1;  // P (and S)
      if (m.rows == 0 || m.rows > m.dim || m.cols != cols || m.rank == 0 || m.rank > std::min<std::uint64_t>(m.rows, cols) ||
          m.values.size() != static_cast<std::uint64_t>(m.rank) * (p_blocks * m.rows + cols)) {
        fail("lowrank message shape is inconsistent (rows " + std::to_string(m.rows) + ", cols " +
             std::to_string(m.cols) + ", rank " + std::to_string(m.rank) + ", " + std::to_string(m.values.size()) +
             " values, dimension " + std::to_string(m.dim) + ")");
      }
      if (m.code != ValueCode::raw) fail("lowrank messages carry raw values");
      break;
    }
    default:
      fail("unknown layout");
  }
  if (is_quantised(m.code)) {
    if (!valid_value_code(static_cast<std::uint8_t>(m.code))) fail("unknown value code");
    if (m.levels.size() != m.values.size()) fail("quantised message needs one level per value");
    if ((m.code == ValueCode::uniform_levels || m.code == ValueCode::power_levels) &&
        (m.level_count < 1 || m.level_count > detail::kMaxLevelCount)) {
      fail("level count s = " + std::to_string(m.level_count) + " outside [1, 2^20]");
    }
    const std::uint32_t max_level = max_level_of(m.code, m.level_count);
    // Branch-free on 32-bit integers so that the pass vectorises: a level is bad when its
    // magnitude exceeds max_level or, for the sign code, when it is 0 (min_level 1).
    const std::uint32_t min_level = m.code == ValueCode::sign ? 1 : 0;
    std::uint32_t bad_levels = 0;
    for (const std::int32_t l : m.levels) {
      const std::uint32_t magnitude = detail::magnitude_of(l);
      bad_levels |= static_cast<std::uint32_t>(magnitude > max_level) | static_cast<std::uint32_t>(magnitude < min_level);
    }
    if (bad_levels != 0) fail("a quantised level is out of range");
    check_scale(m);
  }
  if (m.seeded && m.layout != Layout::sparse) fail("only sparse messages can have seeded indices");
}

// What encode() writes for a message.
struct Plan {
  Layout layout = Layout::dense;
  IndexCodec index = IndexCodec::none;
  std::size_t params = 0;
  std::size_t index_bytes = 0;
  std::size_t value_bytes = 0;
  std::size_t total() const { return kHeaderBytes + params + index_bytes + value_bytes; }
};

Plan plan_for(const Message& m, const EncodeOptions& options) {
  Plan plan;
  plan.layout = m.layout;
  plan.params = param_bytes(m.layout, m.code) + (m.tag != 0 ? kTagBytes : 0);
  if (m.layout != Layout::sparse) {
    plan.value_bytes = value_section_bytes(m.code, m.level_count, options.format, wire_count(m));
    return plan;
  }
  const std::uint64_t sparse_values = value_section_bytes(m.code, m.level_count, options.format, m.count());
  if (options.index != IndexCodec::none) {
    plan.index = options.index;
    plan.value_bytes = sparse_values;
    switch (options.index) {
      case IndexCodec::raw32:
        plan.index_bytes = detail::raw32_bytes(m.count());
        break;
      case IndexCodec::delta_varint:
        plan.index_bytes = detail::delta_varint_bytes(m.indices);
        break;
      case IndexCodec::bitmap:
        plan.index_bytes = detail::bitmap_bytes(m.dim);
        break;
      case IndexCodec::seed:
        if (!m.seeded) throw std::invalid_argument("encode: the seed index codec needs a seeded message");
        plan.index_bytes = detail::kSeedBytes;
        break;
      default:
        throw std::invalid_argument("encode: unknown index codec");
    }
    return plan;
  }
  // Smallest; ties in the order dense, seed, delta-varint, bitmap, raw32.
  std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
  if (m.code != ValueCode::sign) {
    best = value_section_bytes(m.code, m.level_count, options.format, m.dim);
    plan.layout = Layout::dense;
    plan.value_bytes = best;
  }
  const auto consider = [&](IndexCodec codec, std::uint64_t index_bytes) {
    if (index_bytes + sparse_values < best) {
      best = index_bytes + sparse_values;
      plan.layout = Layout::sparse;
      plan.index = codec;
      plan.index_bytes = index_bytes;
      plan.value_bytes = sparse_values;
    }
  };
  if (m.seeded) consider(IndexCodec::seed, detail::kSeedBytes);
  consider(IndexCodec::delta_varint, detail::delta_varint_bytes(m.indices));
  consider(IndexCodec::bitmap, detail::bitmap_bytes(m.dim));
  consider(IndexCodec::raw32, detail::raw32_bytes(m.count()));
  return plan;
}

EncodedSize size_of(const Plan& plan) {
  EncodedSize size;
  size.header = kHeaderBytes + plan.params;
  size.index = plan.index_bytes;
  size.value = plan.value_bytes;
  size.layout = plan.layout;
  size.index_codec = plan.index;
  return size;
}

[[noreturn]] void throw_bad_value(const Message& m, std::size_t k, ValueFormat format, std::size_t base) {
  const double v = m.values[k];
  if (!std::isfinite(v)) throw_not_finite(v, coordinate_of(m, k, base));
  throw_overflow(v, coordinate_of(m, k, base), format);
}

void write_values(const Message& m, const Plan& plan, ValueFormat format, std::size_t base, std::byte* p) {
  const bool densify = m.layout == Layout::sparse && plan.layout == Layout::dense;
  if (m.code == ValueCode::raw) {
    const std::size_t width = value_format_bytes(format);
    if (densify) {
      std::memset(p, 0, plan.value_bytes);  // +0 in every format
      for (std::size_t k = 0; k < m.count(); ++k) {
        if (!detail::put_value(m.values[k], p + static_cast<std::size_t>(m.indices[k]) * width, format)) {
          throw_bad_value(m, k, format, base);
        }
      }
    } else {
      const std::size_t first = first_wire_value(m);
      const std::size_t bad_at = detail::put_values(m.values.data() + first, wire_count(m), p, format);
      if (bad_at != wire_count(m)) throw_bad_value(m, first + bad_at, format, base);
    }
    return;
  }
  const unsigned width = detail::level_width(m.code, m.level_count);
  if (densify) {
    detail::BitWriter writer(p, width);
    std::size_t k = 0;
    for (std::uint32_t j = 0; j < m.dim; ++j) {
      if (k < m.indices.size() && m.indices[k] == j) {
        writer.put(detail::level_field(m.levels[k++], width, m.code));
      } else {
        writer.put(0);
      }
    }
    writer.flush();
  } else {
    detail::pack_levels(m.levels.data(), m.levels.size(), m.code, width, p);
  }
}

void write_params(const Message& m, std::byte* p) {
  if (m.tag != 0) {
    *p = static_cast<std::byte>(m.tag);
    p += kTagBytes;
  }
  if (m.layout == Layout::lowrank || m.layout == Layout::shared_lowrank) {
    put_u32(p, m.rows);
    put_u32(p + 4, m.cols);
    put_u32(p + 8, m.rank);
    p += kLowrankParamBytes;
  }
  if (m.layout == Layout::shared_lowrank) {
    put_u64(p, m.factor_version);
    p += kFactorVersionBytes;
  }
  if (m.code == ValueCode::uniform_levels || m.code == ValueCode::power_levels) {
    put_u32(p, m.level_count);
    p += 4;
  }
  if (is_quantised(m.code)) put_u32(p, std::bit_cast<std::uint32_t>(static_cast<float>(m.scale)));
}

[[noreturn]] void bad(const std::string& what) { throw DecodeError(what); }

std::string str(std::uint64_t v) { return std::to_string(v); }

// Reads the levels of the value section into out (levels and values).
void read_levels(const std::byte* p, const std::byte* end, std::uint32_t count, Message& out) {
  const unsigned width = detail::level_width(out.code, out.level_count);
  const unsigned magnitude_bits = out.code == ValueCode::sign ? 0 : width - 1;
  const std::uint32_t max_level = max_level_of(out.code, out.level_count);
  const std::uint32_t magnitude_mask = (1U << magnitude_bits) - 1;
  out.levels.resize(count);
  out.values.resize(count);
  std::int32_t* levels = out.levels.data();
  detail::BitReader reader(p, end, width);
  bool valid = true;
  if (out.code == ValueCode::sign) {
    for (std::uint32_t k = 0; k < count; ++k) levels[k] = 1 - 2 * static_cast<std::int32_t>(reader.get());
  } else {
    for (std::uint32_t k = 0; k < count; ++k) {
      const std::uint32_t field = reader.get();
      const std::uint32_t magnitude = field & magnitude_mask;
      const auto negative = static_cast<std::int32_t>(field >> magnitude_bits);  // 0 or 1
      valid &= magnitude <= max_level && !(negative != 0 && magnitude == 0);
      const auto m = static_cast<std::int32_t>(magnitude);
      levels[k] = (m ^ -negative) + negative;  // negative ? -m : m
    }
  }
  if (!valid) {
    for (std::uint32_t k = 0; k < count; ++k) {
      if (detail::magnitude_of(levels[k]) > max_level) {
        bad("quantised level " + str(detail::magnitude_of(levels[k])) + " at entry " + str(k) + " exceeds " + str(max_level));
      }
    }
    bad("a quantised level is a negative zero");
  }
  if (!reader.leftover_zero()) bad("value section has non-zero padding bits");
  values_from_levels(out);
}

void read_raw_values(const std::byte* p, std::uint32_t count, ValueFormat format, Message& out) {
  out.values.resize(count);
  const std::size_t bad_at = detail::get_values(p, count, out.values.data(), format);
  if (bad_at != count) bad("message value at entry " + str(bad_at) + " is not finite");
}

// Sizes of a parts message: its fixed header (and tag), a length per part, and the sums of
// the parts' own header, index and value bytes.
EncodedSize parts_size(const Message& m, const EncodeOptions& options) {
  EncodedSize size;
  size.layout = Layout::parts;
  size.header = kHeaderBytes + (m.tag != 0 ? kTagBytes : 0) + kPartLengthBytes * m.active_parts().size();
  for (const Message& part : m.active_parts()) {
    const EncodedSize p = size_of(plan_for(part, options));
    size.header += p.header;
    size.index += p.index;
    size.value += p.value;
  }
  return size;
}

// round_to_wire of a message that is not a parts message; base as in coordinate_of.
void round_single_to_wire(Message& message, ValueFormat format, std::size_t base) {
  if (message.code == ValueCode::raw) {
    // A shared_lowrank message's P stays as the shared factor has it (it does not travel).
    const std::size_t first = std::min(first_wire_value(message), message.values.size());
    const std::size_t n = message.values.size() - first;
    double* v = message.values.data() + first;
    const std::size_t bad_at = detail::first_unrepresentable(v, n, format);
    if (bad_at != n) {
      if (!std::isfinite(v[bad_at])) throw_not_finite(v[bad_at], coordinate_of(message, first + bad_at, base));
      throw_overflow(v[bad_at], coordinate_of(message, first + bad_at, base), format);
    }
    detail::round_values(v, n, format);
    return;
  }
  check_scale(message);
  values_from_levels(message);
}

// Appends the encoding of a message that is not a parts message (structure checked by the
// caller, who also restores out if this throws); base as in coordinate_of.
EncodedSize append_single(const Message& message, const EncodeOptions& options, std::size_t base,
                          std::vector<std::byte>& out) {
  const Plan plan = plan_for(message, options);
  const std::size_t start = out.size();
  out.resize(start + plan.total());
  std::byte* header = out.data() + start;
  std::byte* params = header + kHeaderBytes;
  std::byte* index = params + plan.params;
  std::byte* values = index + plan.index_bytes;
  write_values(message, plan, options.format, base, values);
  write_params(message, params);
  switch (plan.index) {
    case IndexCodec::raw32:
      detail::write_raw32(message.indices, index);
      break;
    case IndexCodec::delta_varint:
      detail::write_delta_varint(message.indices, index);
      break;
    case IndexCodec::bitmap:
      detail::write_bitmap(message.indices, message.dim, index);
      break;
    case IndexCodec::seed:
      put_u64(index, message.seed);
      break;
    case IndexCodec::none:
      break;
  }
  std::memcpy(header, kMagic, 4);
  header[4] = static_cast<std::byte>(kWireVersion);
  header[5] = static_cast<std::byte>(static_cast<std::uint8_t>(plan.layout) | (message.tag != 0 ? kTaggedLayout : 0));
  header[6] = static_cast<std::byte>(message.code == ValueCode::raw ? static_cast<std::uint8_t>(options.format)
                                                                    : static_cast<std::uint8_t>(message.code));
  header[7] = static_cast<std::byte>(plan.index);
  put_u32(header + 8, message.dim);
  put_u32(header + 12, static_cast<std::uint32_t>(plan.layout == Layout::dense ? message.dim : wire_count(message)));
  put_u32(header + kCrcOffset, crc_of_message(header, plan.total()));
  return size_of(plan);
}

// Appends a parts message: its header (value and index codec 0, count = part_count), the
// tag if any, then per part a uint32 byte length and the part's own complete encoding. The
// CRC is computed last, over everything. Structure checked and out restored by the caller.
EncodedSize append_parts(const Message& message, const EncodeOptions& options, std::vector<std::byte>& out) {
  const std::size_t start = out.size();
  const std::size_t params = message.tag != 0 ? kTagBytes : 0;
  out.resize(start + kHeaderBytes + params);
  EncodedSize size;
  size.layout = Layout::parts;
  size.header = kHeaderBytes + params;
  std::size_t base = 0;
  std::size_t k = 0;
  for (const Message& part : message.active_parts()) {
    const std::size_t length_at = out.size();
    out.resize(length_at + kPartLengthBytes);
    const EncodedSize p = append_single(part, options, base, out);
    if (p.total() > std::numeric_limits<std::uint32_t>::max()) {
      throw std::invalid_argument("encode: part " + std::to_string(k) + " encodes to " + std::to_string(p.total()) +
                                  " bytes, more than its uint32 length can state");
    }
    put_u32(out.data() + length_at, static_cast<std::uint32_t>(p.total()));
    size.header += kPartLengthBytes + p.header;
    size.index += p.index;
    size.value += p.value;
    base += part.dim;
    ++k;
  }
  std::byte* header = out.data() + start;
  std::memcpy(header, kMagic, 4);
  header[4] = static_cast<std::byte>(kWireVersion);
  header[5] = static_cast<std::byte>(static_cast<std::uint8_t>(Layout::parts) | (message.tag != 0 ? kTaggedLayout : 0));
  header[6] = std::byte{0};
  header[7] = std::byte{0};
  put_u32(header + 8, message.dim);
  put_u32(header + 12, message.part_count);
  if (message.tag != 0) header[kHeaderBytes] = static_cast<std::byte>(message.tag);
  put_u32(header + kCrcOffset, crc_of_message(header, out.size() - start));
  return size;
}

}  // namespace

ValueFormat parse_value_format(std::string_view text) {
  if (text == "fp32") return ValueFormat::fp32;
  if (text == "fp64") return ValueFormat::fp64;
  if (text == "bf16") return ValueFormat::bf16;
  if (text == "fp16") return ValueFormat::fp16;
  throw ConfigError("--wire: unknown value format '" + std::string(text) + "' (valid: fp32, fp64, bf16, fp16)");
}

std::string_view to_string(ValueFormat format) {
  switch (format) {
    case ValueFormat::fp32:
      return "fp32";
    case ValueFormat::fp64:
      return "fp64";
    case ValueFormat::bf16:
      return "bf16";
    case ValueFormat::fp16:
      return "fp16";
  }
  return "unknown";
}

std::size_t value_format_bytes(ValueFormat format) {
  switch (format) {
    case ValueFormat::fp64:
      return 8;
    case ValueFormat::fp32:
      return 4;
    case ValueFormat::bf16:
    case ValueFormat::fp16:
      return 2;
  }
  return 0;
}

std::string_view to_string(IndexCodec codec) {
  switch (codec) {
    case IndexCodec::none:
      return "none";
    case IndexCodec::raw32:
      return "raw32";
    case IndexCodec::delta_varint:
      return "delta-varint";
    case IndexCodec::bitmap:
      return "bitmap";
    case IndexCodec::seed:
      return "seed";
  }
  return "unknown";
}

EncodedSize encoded_size(const Message& message, ValueFormat format) {
  return encoded_size(message, EncodeOptions{.format = format});
}

EncodedSize encoded_size(const Message& message, const EncodeOptions& options) {
  if (message.layout == Layout::parts) return parts_size(message, options);
  return size_of(plan_for(message, options));
}

void round_to_wire(Message& message, ValueFormat format) {
  if (message.layout != Layout::parts) {
    round_single_to_wire(message, format, 0);
    return;
  }
  std::size_t base = 0;
  for (Message& part : message.active_parts()) {
    round_single_to_wire(part, format, base);
    base += part.dim;
  }
}

EncodedSize encode(const Message& message, ValueFormat format, std::vector<std::byte>& out) {
  return encode(message, EncodeOptions{.format = format}, out);
}

EncodedSize encode(const Message& message, const EncodeOptions& options, std::vector<std::byte>& out) {
  check_structure(message);
  if (!valid_value_format(static_cast<std::uint8_t>(options.format))) {
    throw std::invalid_argument("encode: unknown value format");
  }
  const std::size_t start = out.size();
  try {
    if (message.layout == Layout::parts) return append_parts(message, options, out);
    return append_single(message, options, 0, out);
  } catch (...) {
    out.resize(start);
    throw;
  }
}

namespace {

EncodedSize decode_parts(std::span<const std::byte> bytes, bool tagged, const SharedFactor* factor, Message& out);

// Decodes one message; a part (is_part) must not be a parts message itself. A
// shared_lowrank message needs the factor it was made with.
EncodedSize decode_message(std::span<const std::byte> bytes, const SharedFactor* factor, Message& out, bool is_part) {
  if (bytes.size() < kHeaderBytes) {
    bad("message truncated: " + str(bytes.size()) + " bytes, header needs " + str(kHeaderBytes));
  }
  const std::byte* h = bytes.data();
  const std::byte* end = h + bytes.size();
  if (std::memcmp(h, kMagic, 4) != 0) bad("bad message magic (not an ecco message)");
  const auto version = static_cast<std::uint8_t>(h[4]);
  if (version != kWireVersion) {
    bad("unsupported message version " + str(version) + " (this build reads version " + str(kWireVersion) + ")");
  }
  const bool tagged = (static_cast<std::uint8_t>(h[5]) & kTaggedLayout) != 0;
  const auto layout_tag = static_cast<std::uint8_t>(static_cast<std::uint8_t>(h[5]) & ~kTaggedLayout);
  if (layout_tag < 1 || layout_tag > 5) bad("unknown message layout " + str(layout_tag));
  if (is_part && layout_tag == static_cast<std::uint8_t>(Layout::shared_lowrank)) {
    bad("a part is a shared-factor lowrank message (only whole messages can be)");
  }
  if (layout_tag == static_cast<std::uint8_t>(Layout::parts)) {
    if (is_part) bad("a part is itself a parts message (parts nest one level only)");
    return decode_parts(bytes, tagged, factor, out);
  }
  const auto value_tag = static_cast<std::uint8_t>(h[6]);
  if (!valid_value_format(value_tag) && !valid_value_code(value_tag)) bad("unknown value codec " + str(value_tag));
  const auto index_tag = static_cast<std::uint8_t>(h[7]);
  if (index_tag > 4) bad("unknown index codec " + str(index_tag));
  const auto layout = static_cast<Layout>(layout_tag);
  const auto index_codec = static_cast<IndexCodec>(index_tag);
  const bool quantised = valid_value_code(value_tag);
  const ValueCode code = quantised ? static_cast<ValueCode>(value_tag) : ValueCode::raw;
  const ValueFormat format = quantised ? ValueFormat::fp32 : static_cast<ValueFormat>(value_tag);
  const std::uint32_t dim = get_u32(h + 8);
  const std::uint32_t count = get_u32(h + 12);
  if (dim == 0) bad("message dimension is 0");
  const bool low_rank = layout == Layout::lowrank || layout == Layout::shared_lowrank;
  if (count > dim && !low_rank) bad("message count " + str(count) + " exceeds its dimension " + str(dim));
  if (layout == Layout::sparse) {
    if (index_codec == IndexCodec::none) bad("sparse message without an index codec");
  } else if (index_codec != IndexCodec::none) {
    bad("index codec " + str(index_tag) + " on a message without indices");
  }
  if (layout == Layout::dense && count != dim) {
    bad("dense message count " + str(count) + " differs from its dimension " + str(dim));
  }
  if (low_rank && quantised) bad("lowrank message with a quantised value codec");

  // Parameters.
  const std::size_t params = param_bytes(layout, code) + (tagged ? kTagBytes : 0);
  if (bytes.size() < kHeaderBytes + params) bad("message truncated inside its codec parameters");
  const std::byte* p = h + kHeaderBytes;
  std::uint8_t message_tag = 0;
  if (tagged) {
    message_tag = static_cast<std::uint8_t>(*p);
    p += kTagBytes;
    if (message_tag == 0) bad("tagged message with tag 0");
  }
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  std::uint32_t rank = 0;
  std::uint64_t factor_version = 0;
  if (low_rank) {
    rows = get_u32(p);
    cols = get_u32(p + 4);
    rank = get_u32(p + 8);
    p += kLowrankParamBytes;
    if (rows == 0 || rows > dim) bad("lowrank rows " + str(rows) + " outside [1, " + str(dim) + "]");
    const std::uint64_t expected_cols = (static_cast<std::uint64_t>(dim) + rows - 1) / rows;
    if (cols != expected_cols) bad("lowrank cols " + str(cols) + " should be ceil(dim / rows) = " + str(expected_cols));
    if (rank == 0 || rank > std::min(rows, cols)) bad("lowrank rank " + str(rank) + " outside [1, min(rows, cols)]");
    if (count != static_cast<std::uint64_t>(rank) * (static_cast<std::uint64_t>(rows) + cols)) {
      bad("lowrank count " + str(count) + " differs from rank (rows + cols)");
    }
  }
  if (layout == Layout::shared_lowrank) {
    factor_version = get_u64(p);
    p += kFactorVersionBytes;
  }
  std::uint32_t level_count = 0;
  double scale = 0.0;
  if (code == ValueCode::uniform_levels || code == ValueCode::power_levels) {
    level_count = get_u32(p);
    p += 4;
    if (level_count < 1 || level_count > detail::kMaxLevelCount) bad("level count s = " + str(level_count) + " outside [1, 2^20]");
  }
  if (quantised) {
    const float f = std::bit_cast<float>(get_u32(p));
    p += 4;
    if (!std::isfinite(f) || std::signbit(f)) bad("quantised message scale is negative or not finite");
    if (code == ValueCode::natural && f > 1.0f) bad("natural message scale exceeds 1");
    scale = static_cast<double>(f);
  }

  // Section sizes and the exact length.
  const std::uint64_t stored = layout == Layout::dense ? dim : count;
  const std::uint64_t value_bytes = value_section_bytes(code, level_count, format, stored);
  const std::uint64_t after_params = static_cast<std::uint64_t>(end - p);
  std::uint64_t index_bytes = 0;
  switch (index_codec) {
    case IndexCodec::raw32:
      index_bytes = detail::raw32_bytes(count);
      break;
    case IndexCodec::bitmap:
      index_bytes = detail::bitmap_bytes(dim);
      break;
    case IndexCodec::seed:
      index_bytes = detail::kSeedBytes;
      break;
    case IndexCodec::delta_varint:
      // At least one byte per index, at most five.
      if (after_params < value_bytes + count || after_params - value_bytes > 5 * static_cast<std::uint64_t>(count)) {
        bad("message length " + str(bytes.size()) + " bytes does not fit " + str(count) + " delta-varint indices");
      }
      index_bytes = after_params - value_bytes;
      break;
    case IndexCodec::none:
      break;
  }
  if (after_params != index_bytes + value_bytes) {
    bad("message length " + str(bytes.size()) + " bytes does not match its header (" +
        str(kHeaderBytes + params + index_bytes + value_bytes) + " bytes expected)");
  }
  if (crc_of_message(h, bytes.size()) != get_u32(h + kCrcOffset)) bad("message checksum mismatch (corrupted message)");
  if (layout == Layout::shared_lowrank) {  // an intact message: does it fit this receiver?
    if (factor == nullptr) bad("shared-factor lowrank message, but this receiver has no shared factor");
    if (factor->dim() != dim || factor->rows() != rows || factor->rank() != rank) {
      bad("shared-factor lowrank message of dimension " + str(dim) + ", rows " + str(rows) + ", rank " + str(rank) +
          " does not fit the shared factor (dimension " + str(factor->dim()) + ", rows " + str(factor->rows()) +
          ", rank " + str(factor->rank()) + ")");
    }
    if (factor_version != factor->version()) {
      bad("shared-factor lowrank message made with factor version " + str(factor_version) + ", this receiver has " +
          str(factor->version()));
    }
  }

  // Content.
  out.layout = layout;
  out.dim = dim;
  out.code = code;
  out.level_count = level_count;
  out.scale = scale;
  out.seeded = index_codec == IndexCodec::seed;
  out.seed = 0;
  out.tag = message_tag;
  out.rows = rows;
  out.cols = cols;
  out.rank = rank;
  out.factor_version = factor_version;
  out.part_count = 0;
  const std::byte* index = p;
  const std::byte* values = p + index_bytes;
  switch (index_codec) {
    case IndexCodec::raw32:
      detail::read_raw32(index, count, dim, out.indices);
      break;
    case IndexCodec::delta_varint:
      detail::read_delta_varint(index, values, count, dim, out.indices);
      break;
    case IndexCodec::bitmap:
      detail::read_bitmap(index, count, dim, out.indices);
      break;
    case IndexCodec::seed:
      out.seed = get_u64(index);
      sample_indices(out.seed, dim, count, out.indices);
      break;
    case IndexCodec::none:
      out.indices.clear();
      break;
  }
  const auto n = static_cast<std::uint32_t>(stored);
  if (quantised) {
    read_levels(values, end, n, out);
  } else if (layout == Layout::shared_lowrank) {
    out.levels.clear();
    const auto p_size = static_cast<std::size_t>(rows) * rank;
    out.values.resize(p_size + n);
    const std::size_t bad_at = detail::get_values(values, n, out.values.data() + p_size, format);
    if (bad_at != n) bad("message value at entry " + str(bad_at) + " is not finite");
    std::copy(factor->p().data(), factor->p().data() + p_size, out.values.begin());
  } else {
    out.levels.clear();
    read_raw_values(values, n, format, out);
  }
  EncodedSize size;
  size.header = kHeaderBytes + params;
  size.index = static_cast<std::size_t>(index_bytes);
  size.value = static_cast<std::size_t>(value_bytes);
  size.layout = layout;
  size.index_codec = index_codec;
  return size;
}

// The parts layout (header already read up to the layout byte): value and index codec 0,
// 1 <= count <= dim, the tag if flagged; then count times a uint32 length and a part of at
// least a header's size, ending exactly at the end; the CRC; then every part by the rules
// of decode_message (no nesting) and their dimensions summing to dim. The framing is checked
// before out.parts grows, so out.parts never grows past bytes.size() / 24 entries.
EncodedSize decode_parts(std::span<const std::byte> bytes, bool tagged, const SharedFactor* factor, Message& out) {
  const std::byte* h = bytes.data();
  const std::byte* end = h + bytes.size();
  const auto value_tag = static_cast<std::uint8_t>(h[6]);
  const auto index_tag = static_cast<std::uint8_t>(h[7]);
  if (value_tag != 0) bad("parts message with value codec " + str(value_tag) + " (must be 0: each part has its own)");
  if (index_tag != 0) bad("parts message with index codec " + str(index_tag) + " (must be 0: each part has its own)");
  const std::uint32_t dim = get_u32(h + 8);
  const std::uint32_t count = get_u32(h + 12);
  if (dim == 0) bad("message dimension is 0");
  if (count == 0) bad("parts message with no parts");
  if (count > dim) bad("parts message count " + str(count) + " exceeds its dimension " + str(dim));
  const std::size_t params = tagged ? kTagBytes : 0;
  if (bytes.size() < kHeaderBytes + params) bad("message truncated inside its codec parameters");
  std::uint8_t message_tag = 0;
  if (tagged) {
    message_tag = static_cast<std::uint8_t>(h[kHeaderBytes]);
    if (message_tag == 0) bad("tagged message with tag 0");
  }
  const std::byte* first = h + kHeaderBytes + params;

  // Framing.
  const std::byte* p = first;
  for (std::uint32_t k = 0; k < count; ++k) {
    if (static_cast<std::size_t>(end - p) < kPartLengthBytes) {
      bad("parts message truncated before the length of part " + str(k) + " of " + str(count));
    }
    const std::uint32_t length = get_u32(p);
    p += kPartLengthBytes;
    if (length < kHeaderBytes) bad("part " + str(k) + " is " + str(length) + " bytes, shorter than a message header");
    if (length > static_cast<std::size_t>(end - p)) {
      bad("part " + str(k) + " of " + str(count) + " claims " + str(length) + " bytes, only " +
          str(static_cast<std::uint64_t>(end - p)) + " remain");
    }
    p += length;
  }
  if (p != end) {
    bad("parts message has " + str(static_cast<std::uint64_t>(end - p)) + " trailing bytes after its last part");
  }
  if (crc_of_message(h, bytes.size()) != get_u32(h + kCrcOffset)) bad("message checksum mismatch (corrupted message)");

  // Content.
  out.layout = Layout::parts;
  out.dim = dim;
  out.indices.clear();
  out.values.clear();
  out.levels.clear();
  out.code = ValueCode::raw;
  out.level_count = 0;
  out.scale = 0.0;
  out.seeded = false;
  out.seed = 0;
  out.tag = message_tag;
  out.rows = 0;
  out.cols = 0;
  out.rank = 0;
  out.factor_version = 0;
  if (out.parts.size() < count) out.parts.resize(count);
  out.part_count = count;
  EncodedSize size;
  size.layout = Layout::parts;
  size.header = kHeaderBytes + params + kPartLengthBytes * static_cast<std::size_t>(count);
  std::uint64_t covered = 0;
  p = first;
  for (std::uint32_t k = 0; k < count; ++k) {
    const std::uint32_t length = get_u32(p);
    p += kPartLengthBytes;
    EncodedSize part;
    try {
      part = decode_message(std::span<const std::byte>(p, length), factor, out.parts[k], true);
    } catch (const DecodeError& e) {
      bad("part " + str(k) + " of " + str(count) + ": " + e.what());
    }
    p += length;
    covered += out.parts[k].dim;
    size.header += part.header;
    size.index += part.index;
    size.value += part.value;
  }
  if (covered != dim) {
    bad("part dimensions sum to " + str(covered) + ", not the message dimension " + str(dim));
  }
  return size;
}

}  // namespace

EncodedSize decode(std::span<const std::byte> bytes, Message& out) {
  return decode_message(bytes, nullptr, out, false);
}

EncodedSize decode(std::span<const std::byte> bytes, std::uint32_t expected_dim, Message& out) {
  return decode(bytes, expected_dim, nullptr, out);
}

EncodedSize decode(std::span<const std::byte> bytes, std::uint32_t expected_dim, const SharedFactor* factor,
                   Message& out) {
  const EncodedSize size = decode_message(bytes, factor, out, false);
  if (out.dim != expected_dim) {
    throw DecodeError("message dimension " + std::to_string(out.dim) + " differs from the model dimension " +
                      std::to_string(expected_dim));
  }
  return size;
}

}  // namespace ecco
