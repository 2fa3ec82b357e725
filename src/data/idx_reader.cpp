// IDX files (the format of MNIST and Fashion-MNIST), plain or gzip-compressed: an image
// file and its label file become one Dataset of sparse rows pixel / 255.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"

namespace ecco {
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;  // uint8 values, 3 dimensions: count, rows, cols
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // uint8 values, 1 dimension: count
constexpr std::uint64_t kMaxCount = std::uint64_t{1} << 31;
constexpr std::uint64_t kMaxPixels = std::uint64_t{1} << 24;  // rows * cols

std::string hex32(std::uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08X", static_cast<unsigned>(value));
  return buffer;
}

std::string describe_magic(std::uint32_t magic) {
  if (magic == kImagesMagic) return hex32(magic) + ": uint8 images with 3 dimensions count, rows, cols";
  if (magic == kLabelsMagic) return hex32(magic) + ": uint8 labels with 1 dimension count";
  return hex32(magic);
}

// One IDX file read through zlib, which passes a plain file through unchanged. Every
// failure is a DataError "path: what". Reads are sequential; `consumed_` counts the
// (decompressed) bytes handed out so far.
class IdxStream {
 public:
  explicit IdxStream(const std::string& path) : path_(path) {
    std::error_code fs_error;
    const auto status = std::filesystem::status(path, fs_error);
    if (status.type() == std::filesystem::file_type::not_found) fail("no such file");
    if (fs_error) fail("cannot access (" + fs_error.message() + ")");
    if (std::filesystem::is_directory(status)) fail("is a directory, not a regular file (expected an IDX file)");
    if (!std::filesystem::is_regular_file(status)) {
      fail("is not a regular file (a pipe or a device?); expected an IDX file");
    }
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      fail(std::string("cannot open (") + (errno != 0 ? std::strerror(errno) : "out of memory") + ")");
    }
    gzbuffer(file_, 1U << 17);  // fewer, larger reads of the compressed file
  }
  ~IdxStream() {
    if (file_ != nullptr) gzclose(file_);
  }
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;

  [[noreturn]] void fail(const std::string& what) const { throw DataError(path_ + ": " + what); }

  // Reads up to `size` bytes into `out`; fewer only at the end of the data. A corrupt or
  // truncated gzip stream and a read error are DataErrors, never a short read.
  std::size_t read(unsigned char* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      const auto chunk = static_cast<unsigned>(std::min<std::size_t>(size - done, std::size_t{1} << 30));
      const int got = gzread(file_, out + done, chunk);
      if (got < 0) {
        check_stream();
        fail("read error");
      }
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
      consumed_ += static_cast<std::uint64_t>(got);
    }
    if (done < size) check_stream();  // the end of the data: a gzip stream must end there too
    return done;
  }

  // The header: the magic must be `magic`, then one big-endian uint32 per dimension.
  std::vector<std::uint64_t> read_header(std::uint32_t magic, std::size_t dims) {
    std::array<unsigned char, 16> bytes{};
    const std::size_t size = 4 + 4 * dims;
    const std::size_t got = read(bytes.data(), std::min<std::size_t>(size, 4));
    if (got < 4) {
      fail("too short for an IDX header: " + std::to_string(got) + " bytes (the magic " + hex32(magic) +
           " alone is 4 bytes)");
    }
    const std::uint32_t found = big_endian(bytes.data());
    if (found != magic) {
      fail("wrong magic " + describe_magic(found) + " (expected " + describe_magic(magic) + ")");
    }
    const std::size_t got_dims = read(bytes.data() + 4, size - 4);
    if (got_dims < size - 4) {
      fail("header cut off: " + std::to_string(4 + got_dims) + " of its " + std::to_string(size) +
           " bytes (magic and " + std::to_string(dims) + " dimension sizes)");
    }
    std::vector<std::uint64_t> sizes(dims);
    for (std::size_t i = 0; i < dims; ++i) sizes[i] = big_endian(bytes.data() + 4 + 4 * i);
    return sizes;
  }

  // Exactly `size` bytes of data; `what` describes them for the message of a short file.
  std::vector<unsigned char> read_data(std::uint64_t size, const std::string& what) {
    std::vector<unsigned char> bytes;
    // The header is not trusted for the allocation: the buffer grows with the data read.
    bytes.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(size, std::uint64_t{1} << 28)));
    while (bytes.size() < size) {
      const std::size_t old = bytes.size();
      const auto step = static_cast<std::size_t>(
          std::min<std::uint64_t>(size - old, std::max<std::size_t>(old, std::size_t{1} << 20)));
      bytes.resize(old + step);
      const std::size_t got = read(bytes.data() + old, step);
      if (got < step) {
        fail("fewer bytes than the header promises: " + std::to_string(size) + " bytes of " + what +
             " expected after the header, the file has " + std::to_string(old + got));
      }
    }
    return bytes;
  }

  // Nothing may follow the data; closes the file.
  void expect_end() {
    const std::uint64_t data_end = consumed_;
    std::array<unsigned char, 4096> scratch{};
    std::uint64_t extra = 0;
    for (std::size_t got = read(scratch.data(), scratch.size()); got > 0; got = read(scratch.data(), scratch.size())) {
      extra += got;
    }
    if (extra > 0) {
      fail(std::to_string(extra) + " trailing bytes after the " + std::to_string(data_end) +
           " bytes the header declares (header and data)");
    }
    gzFile file = file_;
    file_ = nullptr;
    const int closed = gzclose(file);
    if (closed == Z_BUF_ERROR) fail("truncated gzip stream (unexpected end of file)");
    if (closed != Z_OK) fail("error closing the file (zlib code " + std::to_string(closed) + ")");
  }

 private:
  static std::uint32_t big_endian(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  }

  // Turns zlib's error state into a DataError; returns when there is none.
  void check_stream() const {
    int code = Z_OK;
    const char* text = gzerror(file_, &code);
    if (code == Z_OK) return;
    std::string message = text != nullptr ? text : "";
    // zlib prefixes the path given to gzopen; the DataError names it already.
    if (message.rfind(path_ + ": ", 0) == 0) message.erase(0, path_.size() + 2);
    if (code == Z_BUF_ERROR) {
      fail("truncated gzip stream: it ends after " + std::to_string(consumed_) + " bytes of data (" + message + ")");
    }
    if (code == Z_ERRNO) fail("read error (" + message + ")");
    fail("corrupt gzip stream (zlib: " + message + ")");
  }

  std::string path_;
  gzFile file_ = nullptr;
  std::uint64_t consumed_ = 0;
};

std::uint64_t checked_count(const IdxStream& in, std::uint64_t count, const char* what) {
  if (count == 0 || count > kMaxCount) {
    in.fail(std::string(what) + (count == 0 ? " count is 0" : " count " + std::to_string(count) + " is absurd") +
            " (allowed: 1 to 2^31 = " + std::to_string(kMaxCount) + ")");
  }
  return count;
}

}  // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path) {
  IdxStream images(images_path);
  const std::vector<std::uint64_t> shape = images.read_header(kImagesMagic, 3);
  const std::uint64_t count = checked_count(images, shape[0], "image");
  const std::uint64_t rows = shape[1];
  const std::uint64_t cols = shape[2];
  if (rows == 0 || cols == 0 || rows * cols > kMaxPixels) {
    const std::string size = "image size " + std::to_string(rows) + " x " + std::to_string(cols);
    images.fail(
        (rows * cols == 0 ? size + " is empty" : size + " = " + std::to_string(rows * cols) + " pixels is absurd") +
        " (allowed: rows, cols >= 1 and rows * cols <= 2^24 = " + std::to_string(kMaxPixels) + ")");
  }

  // Both headers before any data: a count mismatch fails without reading 47 MB first.
  IdxStream labels(labels_path);
  const std::uint64_t label_count = checked_count(labels, labels.read_header(kLabelsMagic, 1)[0], "label");
  if (label_count != count) {
    labels.fail("has " + std::to_string(label_count) + " labels but " + images_path + " has " + std::to_string(count) +
                " images (the counts must be equal)");
  }

  const std::uint64_t d = rows * cols;
  const std::vector<unsigned char> pixels =
      images.read_data(count * d, "pixels (" + std::to_string(count) + " images of " + std::to_string(rows) + " x " +
                                      std::to_string(cols) + ")");
  images.expect_end();
  const std::vector<unsigned char> label_bytes = labels.read_data(count, "labels (one byte each)");
  labels.expect_end();

  // CSR straight into the matrix: count the non-zeros, size the arrays once, fill them.
  const auto zeros = std::count(pixels.begin(), pixels.end(), static_cast<unsigned char>(0));
  const auto nnz = static_cast<Eigen::Index>(pixels.size() - static_cast<std::size_t>(zeros));
  std::array<double, 256> scaled{};
  for (std::size_t v = 0; v < scaled.size(); ++v) scaled[v] = static_cast<double>(v) / 255.0;

  Dataset data;
  data.source = images_path;
  data.files = {images_path, labels_path};
  data.features.resize(static_cast<Eigen::Index>(count), static_cast<Eigen::Index>(d));
  data.features.resizeNonZeros(nnz);  // the matrix stays compressed: outer, inner and values arrays
  std::int64_t* outer = data.features.outerIndexPtr();
  std::int64_t* inner = data.features.innerIndexPtr();
  double* values = data.features.valuePtr();
  std::int64_t at = 0;
  const unsigned char* pixel = pixels.data();
  outer[0] = 0;
  for (std::uint64_t r = 0; r < count; ++r) {
    for (std::uint64_t c = 0; c < d; ++c, ++pixel) {
      if (*pixel == 0) continue;
      inner[at] = static_cast<std::int64_t>(c);
      values[at] = scaled[*pixel];
      ++at;
    }
    outer[r + 1] = at;
  }

  data.labels.resize(static_cast<Eigen::Index>(count));
  for (std::size_t i = 0; i < label_bytes.size(); ++i) data.labels[static_cast<Eigen::Index>(i)] = label_bytes[i];
  return data;
}

}  // namespace ecco
