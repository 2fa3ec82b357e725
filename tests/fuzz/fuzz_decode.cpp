// libFuzzer target: ecco::decode, the wire-format decoder (include/ecco/codec.hpp,
// docs/wire-format.md), for every layout (dense, sparse, lowrank, shared_lowrank, parts).
//
// Input: one control byte, then the message bytes.
//   bit 0     1: keep the CRC fields as given; 0: recompute them first (each part's, then the
//             whole message's) so that mutations reach the checks behind the checksum
//   bits 1-3  the receiver: 0 decode(bytes, out); k = 1..7 decode(bytes, kDims[k], factor, out)
//             with the shared factor of that dimension where there is one (kFactors)
//   bit 4     decode into a Message that already holds a parts message with spare parts and
//             stale buffers (the receiver reuses its Message from round to round)
//
// Expected: the message decodes, or decode throws DecodeError. Findings besides crashes and
// sanitizer reports (fuzz_support.hpp): any other exception; for a decoded message, sizes
// that do not add up to the input's length, or a message that encode() refuses (fp64, which
// holds every decoded value exactly) or that does not decode back to the same message.
#include <zlib.h>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ecco/codec.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"
#include "ecco/rng.hpp"
#include "ecco/shared_factor.hpp"
#include "fuzz_support.hpp"

namespace {

using ecco::Layout;
using ecco::Message;
using ecco_fuzz::finding;

constexpr std::uint32_t kDims[8] = {0, 1, 3, 7, 16, 64, 100, 1000};  // kDims[0]: no expected dimension

struct FactorShape {
  std::uint32_t dim;
  std::uint32_t rows;
  std::uint32_t rank;
};
constexpr FactorShape kFactors[] = {{7, 3, 1}, {16, 4, 2}, {64, 8, 2}, {100, 10, 3}, {1000, 25, 4}};

const ecco::SharedFactor* factor_for(std::uint32_t dim) {
  static const auto factors = [] {
    std::vector<std::unique_ptr<ecco::SharedFactor>> all;
    ecco::Rng rng(17);
    for (const FactorShape& s : kFactors) all.push_back(std::make_unique<ecco::SharedFactor>(s.dim, s.rows, s.rank, rng));
    return all;
  }();
  for (const auto& f : factors) {
    if (f->dim() == dim) return f.get();
  }
  return nullptr;
}

std::uint32_t get_u32(const std::byte* p) {
  std::uint32_t v = 0;
  std::memcpy(&v, p, 4);
  return v;  // little-endian host (x86-64)
}

// The wire CRC (zlib's CRC-32 of every byte but offsets 16..19) written into a message of
// at least a header's size.
void fix_crc(std::byte* m, std::size_t size) {
  if (size < ecco::kHeaderBytes) return;
  const auto* b = reinterpret_cast<const Bytef*>(m);
  uLong crc = crc32(0L, b, 16);
  crc = crc32(crc, b + 20, static_cast<uInt>(size - 20));
  const auto value = static_cast<std::uint32_t>(crc);
  std::memcpy(m + 16, &value, 4);
}

// Recomputes the CRCs: of each part a parts message's framing reaches, then of the whole.
void fix_crcs(std::byte* m, std::size_t size) {
  if (size < ecco::kHeaderBytes) return;
  const auto layout_byte = static_cast<std::uint8_t>(m[5]);
  if ((layout_byte & 0x7F) == static_cast<std::uint8_t>(Layout::parts)) {
    std::size_t at = ecco::kHeaderBytes + ((layout_byte & 0x80) != 0 ? 1 : 0);
    const std::uint32_t count = get_u32(m + 12);
    for (std::uint32_t k = 0; k < count && at + 4 <= size; ++k) {
      const std::uint32_t length = get_u32(m + at);
      at += 4;
      if (length > size - at) break;
      fix_crc(m + at, length);
      at += length;
    }
  }
  fix_crc(m, size);
}

// A Message as a receiver holds it after earlier rounds: a parts message with spare parts
// whose buffers hold stale content.
Message used_message() {
  Message m;
  m.set_parts(40, 2);
  m.parts.resize(4);
  m.parts[0].set_dense(Eigen::VectorXd::Constant(10, 1.5));
  m.parts[1].clear_sparse(30);
  m.parts[1].indices = {1, 5, 29};
  m.parts[1].values = {1.0, -2.0, 3.0};
  m.parts[2].set_lowrank(12, 3, 1);
  m.parts[3].prepare_dense(5);
  m.parts[3].levels = {1, -1, 2, 0, 1};
  m.parts[3].code = ecco::ValueCode::uniform_levels;
  return m;
}

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (!same_bits(a[k], b[k])) return false;
  }
  return true;
}

// b is the dense form of the sparse a (the encoder may send a sparse message dense when that
// is smaller): the same vector, levels and quantisation, +0 and level 0 elsewhere.
bool same_densified(const Message& a, const Message& b) {
  if (b.values.size() != a.dim || a.indices.size() != a.values.size()) return false;
  const bool quantised = a.code != ecco::ValueCode::raw;
  if (quantised && (b.levels.size() != a.dim || a.levels.size() != a.values.size())) return false;
  std::size_t k = 0;
  for (std::uint32_t j = 0; j < a.dim; ++j) {
    const bool kept = k < a.indices.size() && a.indices[k] == j;
    if (!same_bits(b.values[j], kept ? a.values[k] : 0.0)) return false;
    if (quantised && b.levels[j] != (kept ? a.levels[k] : 0)) return false;
    if (kept) ++k;
  }
  return k == a.indices.size();
}

// The decoded message a and its re-encoded, re-decoded copy b hold the same message.
bool same_message(const Message& a, const Message& b) {
  if (a.dim != b.dim || a.code != b.code || a.level_count != b.level_count || !same_bits(a.scale, b.scale) ||
      a.tag != b.tag || a.rows != b.rows || a.cols != b.cols || a.rank != b.rank ||
      a.factor_version != b.factor_version) {
    return false;
  }
  if (a.layout == Layout::sparse && b.layout == Layout::dense) return same_densified(a, b);
  if (a.layout != b.layout || a.indices != b.indices || a.levels != b.levels || !same_values(a.values, b.values)) {
    return false;
  }
  if (a.layout != Layout::parts) return true;
  if (a.part_count != b.part_count || a.active_parts().size() != a.part_count ||
      b.active_parts().size() != b.part_count) {
    return false;
  }
  for (std::size_t k = 0; k < a.part_count; ++k) {
    if (!same_message(a.parts[k], b.parts[k])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t control = data[0];
  // The message in a heap buffer of exactly its size, so that a read past its end is an
  // AddressSanitizer report.
  std::vector<std::byte> bytes(size - 1);
  if (size > 1) std::memcpy(bytes.data(), data + 1, size - 1);
  if ((control & 1) == 0) fix_crcs(bytes.data(), bytes.size());
  const std::uint32_t dim = kDims[(control >> 1) & 7];
  const ecco::SharedFactor* factor = dim == 0 ? nullptr : factor_for(dim);

  Message out = (control & 0x10) != 0 ? used_message() : Message{};
  ecco::EncodedSize size_read;
  const bool decoded = ecco_fuzz::accepts("decode", [&] {
    size_read = dim == 0 ? ecco::decode(bytes, out) : ecco::decode(bytes, dim, factor, out);
  });
  if (!decoded) return 0;

  if (size_read.total() != bytes.size()) {
    finding("decode reports " + std::to_string(size_read.total()) + " bytes for a message of " +
            std::to_string(bytes.size()));
  }
  if (dim != 0 && out.dim != dim) finding("decode accepted a message of another dimension");
  // Every decoded value is exact in fp64: the message must re-encode and decode to itself.
  std::vector<std::byte> again;
  Message back;
  try {
    const ecco::EncodedSize written = ecco::encode(out, ecco::ValueFormat::fp64, again);
    if (written.total() != again.size() ||
        ecco::encoded_size(out, ecco::ValueFormat::fp64).total() != again.size()) {
      finding("encode of a decoded message: sizes disagree");
    }
    ecco::decode(again, out.dim, factor, back);
  } catch (const std::exception& e) {
    finding(std::string("a decoded message does not re-encode and decode: ") + e.what());
  }
  if (!same_message(out, back)) finding("a decoded message re-encoded (fp64) decodes to another message");
  return 0;
}
