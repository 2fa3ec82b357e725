// libFuzzer target: ecco::read_idx, the IDX image / label reader, plain and gzip
// (src/data/idx_reader.cpp).
//
// Input: [control: 1 byte][n: uint32 little-endian][n bytes: the image file][the rest: the
// label file] (n is clamped to what is there). Control bits:
//   bit 0  gzip the image file's bytes before writing it (the fuzzer then explores the IDX
//          header and data behind a valid gzip stream; without it the bytes go as they are,
//          so a gzip file in the input exercises zlib's corrupt and truncated streams)
//   bit 1  gzip the label file's bytes likewise
//   bit 2  cut the last byte off each stream this input gzips (a truncated gzip stream)
// Both files are in-memory files read back by path.
//
// Expected: a Dataset, or DataError. Findings besides crashes and sanitizer reports
// (fuzz_support.hpp): any other exception; for a pair that reads, a dataset whose shape
// disagrees with its header (rows = count, d = rows * cols, one label per image), a pixel
// outside [0, 1] or a label outside [0, 255].
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "fuzz_support.hpp"

namespace {

using ecco_fuzz::finding;

// The gzip stream (RFC 1952) of bytes, cut by one byte if `cut`.
std::vector<unsigned char> gzipped(const unsigned char* bytes, std::size_t size, bool cut) {
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) finding("deflateInit2 failed");
  std::vector<unsigned char> out(deflateBound(&z, static_cast<uLong>(size)) + 32);
  z.next_in = const_cast<unsigned char*>(bytes);  // zlib's API is not const-correct
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) finding("deflate failed");
  out.resize(z.total_out - (cut ? 1 : 0));
  deflateEnd(&z);
  return out;
}

void write(ecco_fuzz::MemFile& file, const unsigned char* bytes, std::size_t size, bool gzip, bool cut) {
  if (!gzip) {
    file.assign(bytes, size);
    return;
  }
  const std::vector<unsigned char> z = gzipped(bytes, size, cut);
  file.assign(z.data(), z.size());
}

std::uint32_t big_endian(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ecco_fuzz::MemFile images("fuzz_idx_images");
  static ecco_fuzz::MemFile labels("fuzz_idx_labels");
  if (size < 5) return 0;
  const std::uint8_t control = data[0];
  std::uint32_t n = 0;
  std::memcpy(&n, data + 1, 4);  // little-endian host (x86-64)
  const unsigned char* rest = data + 5;
  const std::size_t rest_size = size - 5;
  const std::size_t image_size = std::min<std::size_t>(n, rest_size);
  const bool cut = (control & 4) != 0;
  write(images, rest, image_size, (control & 1) != 0, cut);
  write(labels, rest + image_size, rest_size - image_size, (control & 2) != 0, cut);

  std::optional<ecco::Dataset> read;
  if (!ecco_fuzz::accepts("read_idx", [&] { read.emplace(ecco::read_idx(images.path(), labels.path())); })) return 0;

  // An image file given uncompressed (or gzipped by this target) starts with the header the
  // shape must match; a gzip stream starts with 1f 8b, never with the magic.
  if (image_size >= 16 && big_endian(rest) == 0x00000803) {
    const std::uint64_t count = big_endian(rest + 4);
    const std::uint64_t d = std::uint64_t{big_endian(rest + 8)} * big_endian(rest + 12);
    if (read->rows() != count || read->dim() != d) finding("read_idx: dataset shape differs from the image header");
  }
  if (static_cast<std::size_t>(read->labels.size()) != read->rows() || read->rows() == 0 || read->dim() == 0) {
    finding("read_idx: dataset shape disagrees (rows, labels, d)");
  }
  for (Eigen::Index k = 0; k < read->features.nonZeros(); ++k) {
    const double v = read->features.valuePtr()[k];
    const std::int64_t j = read->features.innerIndexPtr()[k];
    if (!(v > 0.0 && v <= 1.0) || j < 0 || static_cast<std::size_t>(j) >= read->dim()) {
      finding("read_idx: a stored pixel outside (0, 1] or outside [0, d)");
    }
  }
  for (Eigen::Index i = 0; i < read->labels.size(); ++i) {
    const double y = read->labels[i];
    if (!(y >= 0.0 && y <= 255.0) || y != static_cast<double>(static_cast<int>(y))) {
      finding("read_idx: a label that is not a byte");
    }
  }
  return 0;
}
