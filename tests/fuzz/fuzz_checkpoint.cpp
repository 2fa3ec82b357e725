// libFuzzer target: the checkpoint reader behind --resume (src/train/checkpoint_format.cpp):
// a manifest or a rank file, its framing (magic, version, kind, length, CRC-32), then every
// field of a manifest or the records of a rank file.
//
// Input: the file's bytes. The CRC makes almost every mutation fail the checksum, which
// would leave the parser behind it unexercised, so the target reads each input twice: as
// given, and with its CRC field recomputed over its body (when it has a header).
//
// Expected: "manifest", "rank file", or CheckpointError. Findings besides crashes and sanitizer
// reports (fuzz_support.hpp): any other exception, or another returned kind.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "compressors/crc32.hpp"
#include "ecco/error.hpp"
#include "ecco/state_io.hpp"
#include "fuzz_support.hpp"
#include "train/checkpoint_format.hpp"

namespace {

void read_one(std::span<const std::byte> file) {
  std::string kind;
  if (!ecco_fuzz::accepts("check_checkpoint_file", [&] { kind = ecco::detail::check_checkpoint_file(file, "fuzz"); })) {
    return;
  }
  if (kind != "manifest" && kind != "rank file") ecco_fuzz::finding("check_checkpoint_file returned '" + kind + "'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  read_one({bytes, size});
  if (size >= ecco::detail::kFileHeaderBytes) {
    std::vector<std::byte> fixed(bytes, bytes + size);
    const std::uint32_t crc = ecco::detail::crc32_update(0, fixed.data() + ecco::detail::kFileHeaderBytes,
                                                         size - ecco::detail::kFileHeaderBytes);
    std::memcpy(fixed.data() + 24, &crc, sizeof crc);
    const std::uint64_t length = size - ecco::detail::kFileHeaderBytes;
    std::memcpy(fixed.data() + 16, &length, sizeof length);
    read_one(fixed);
  }
  return 0;
}
