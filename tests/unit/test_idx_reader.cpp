// Unit tests of read_idx (IDX image / label pairs, plain and gzip), the fashion_mnist and idx
// data sources, load_test_dataset, and the real Fashion-MNIST files when the Debian package
// dataset-fashion-mnist is installed. Every IDX file here is written byte by byte by the
// test itself; every malformed case must be one DataError "path: what".
#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "ecco/command_line.hpp"
#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "test_data.hpp"

namespace {

namespace fs = std::filesystem;

using Bytes = std::vector<unsigned char>;

constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device device;
    for (int attempt = 0;; ++attempt) {
      const fs::path candidate =
          fs::temp_directory_path() / ("ecco-unit-idx-" + std::to_string(device()) + "-" + std::to_string(attempt));
      if (fs::create_directory(candidate)) {
        path_ = candidate;
        break;
      }
    }
  }
  ~TempDir() {
    std::error_code ignored;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // Writes the bytes as they are.
  std::string write_plain(const std::string& name, const Bytes& bytes) const {
    const std::string path = file(name);
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();
    EXPECT_TRUE(out) << "could not write " << path;
    return path;
  }

  // Writes the bytes as one gzip stream (zlib's gzwrite).
  std::string write_gzip(const std::string& name, const Bytes& bytes) const {
    const std::string path = file(name);
    gzFile out = gzopen(path.c_str(), "wb");
    EXPECT_NE(out, nullptr) << "could not open " << path;
    if (out == nullptr) return path;
    if (!bytes.empty()) {
      EXPECT_EQ(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
    }
    EXPECT_EQ(gzclose(out), Z_OK) << "could not write " << path;
    return path;
  }

 private:
  fs::path path_;
};

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void append_be32(Bytes& out, std::uint64_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>((value >> shift) & 0xFFU));
}

// An IDX file: magic, the dimension sizes, the data.
Bytes idx_file(std::uint32_t magic, const std::vector<std::uint64_t>& dims, const Bytes& data) {
  Bytes out;
  append_be32(out, magic);
  for (const std::uint64_t d : dims) append_be32(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes images_file(std::uint64_t count, std::uint64_t rows, std::uint64_t cols, const Bytes& pixels) {
  return idx_file(kImagesMagic, {count, rows, cols}, pixels);
}

Bytes labels_file(const Bytes& labels) { return idx_file(kLabelsMagic, {labels.size()}, labels); }

// Three 2 x 3 images: one with zeros among its pixels, one all zero, one without zeros.
const Bytes kPixels = {0, 255, 0, 51, 0, 0,  //
                       0, 0,   0, 0,  0, 0,  //
                       1, 2,   3, 4,  5, 128};
const Bytes kLabels = {7, 0, 9};

Bytes small_images() { return images_file(3, 2, 3, kPixels); }
Bytes small_labels() { return labels_file(kLabels); }

// The dataset the small files describe, computed here: pixel / 255, labels as bytes.
Eigen::MatrixXd small_expected() {
  Eigen::MatrixXd expected(3, 6);
  for (Eigen::Index r = 0; r < 3; ++r) {
    for (Eigen::Index c = 0; c < 6; ++c) expected(r, c) = kPixels[static_cast<std::size_t>(r * 6 + c)] / 255.0;
  }
  return expected;
}

Eigen::MatrixXd dense(const ecco::Dataset& data) { return Eigen::MatrixXd(data.features.toDense()); }

std::vector<double> labels_of(const ecco::Dataset& data) {
  return std::vector<double>(data.labels.data(), data.labels.data() + data.labels.size());
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

template <class Error, class Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected another exception type, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "nothing was thrown";
  return {};
}

// Expects read_idx to throw one DataError "blamed: ..." containing every needle.
void expect_idx_error(const std::string& images, const std::string& labels, const std::string& blamed,
                      const std::vector<std::string>& needles) {
  const std::string msg = error_message<ecco::DataError>([&] { (void)ecco::read_idx(images, labels); });
  EXPECT_TRUE(starts_with(msg, blamed + ": "))
      << "message: '" << msg << "'\nexpected to start with '" << blamed << ": '";
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
  for (const std::string& needle : needles) {
    EXPECT_NE(msg.find(needle), std::string::npos) << "message: '" << msg << "' lacks '" << needle << "'";
  }
}

// ---------------------------------------------------------------------------------------
// Good files

TEST(IdxRead, PlainFilesValuesZerosAndLabels) {
  const TempDir dir;
  const std::string images = dir.write_plain("images.idx", small_images());
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  const ecco::Dataset data = ecco::read_idx(images, labels);
  ASSERT_EQ(data.rows(), 3U);
  ASSERT_EQ(data.dim(), 6U);
  EXPECT_EQ(dense(data), small_expected());
  EXPECT_EQ(data.features.coeff(0, 1), 1.0);           // 255 -> 1
  EXPECT_EQ(data.features.coeff(0, 3), 51.0 / 255.0);  // 0.2
  // Zeros are not stored: 2 + 0 + 6 non-zero pixels.
  EXPECT_TRUE(data.features.isCompressed());
  EXPECT_EQ(data.features.nonZeros(), 8);
  const std::int64_t* outer = data.features.outerIndexPtr();
  EXPECT_EQ(outer[1] - outer[0], 2);
  EXPECT_EQ(outer[2] - outer[1], 0);
  EXPECT_EQ(outer[3] - outer[2], 6);
  for (Eigen::Index k = 0; k < data.features.nonZeros(); ++k) EXPECT_NE(data.features.valuePtr()[k], 0.0);
  // Labels are the bytes, not remapped to -1 / +1.
  EXPECT_EQ(labels_of(data), (std::vector<double>{7.0, 0.0, 9.0}));
  EXPECT_EQ(data.source, images);
}

TEST(IdxRead, GzipAndPlainGiveTheSameDataset) {
  const TempDir dir;
  const std::string plain_images = dir.write_plain("images.idx", small_images());
  const std::string plain_labels = dir.write_plain("labels.idx", small_labels());
  const std::string gz_images = dir.write_gzip("images.idx.gz", small_images());
  const std::string gz_labels = dir.write_gzip("labels.idx.gz", small_labels());
  ASSERT_EQ(read_bytes(gz_images)[0], 0x1F);  // really compressed
  const ecco::Dataset plain = ecco::read_idx(plain_images, plain_labels);
  for (const auto& [images, labels] :
       {std::pair{gz_images, gz_labels}, std::pair{gz_images, plain_labels}, std::pair{plain_images, gz_labels}}) {
    const ecco::Dataset data = ecco::read_idx(images, labels);
    EXPECT_EQ(dense(data), small_expected()) << images << " + " << labels;
    EXPECT_EQ(labels_of(data), labels_of(plain));
    EXPECT_EQ(ecco::fingerprint(data), ecco::fingerprint(plain));
    EXPECT_EQ(data.source, images);
  }
}

TEST(IdxRead, ManyImagesRoundTrip) {
  // 3000 images of 28 x 28: more than one read chunk (1 MiB), half the pixels zero.
  const std::size_t count = 3000;
  const std::size_t d = 28 * 28;
  std::mt19937 gen(5);
  std::uniform_int_distribution<int> byte(0, 255);
  Bytes pixels(count * d);
  for (unsigned char& p : pixels) p = byte(gen) < 128 ? 0 : static_cast<unsigned char>(byte(gen));
  Bytes labels(count);
  for (std::size_t i = 0; i < count; ++i) labels[i] = static_cast<unsigned char>(i % 10);

  const TempDir dir;
  const std::string images_path = dir.write_gzip("images.gz", images_file(count, 28, 28, pixels));
  const std::string labels_path = dir.write_gzip("labels.gz", labels_file(labels));
  const ecco::Dataset data = ecco::read_idx(images_path, labels_path);
  ASSERT_EQ(data.rows(), count);
  ASSERT_EQ(data.dim(), d);
  std::size_t nonzero = 0;
  for (const unsigned char p : pixels) nonzero += p != 0 ? 1U : 0U;
  EXPECT_EQ(static_cast<std::size_t>(data.features.nonZeros()), nonzero);
  const Eigen::MatrixXd got = dense(data);
  bool all_equal = true;
  for (std::size_t r = 0; r < count && all_equal; ++r) {
    for (std::size_t c = 0; c < d; ++c) {
      if (got(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) != pixels[r * d + c] / 255.0) {
        ADD_FAILURE() << "row " << r << " column " << c;
        all_equal = false;
        break;
      }
    }
    EXPECT_EQ(data.labels[static_cast<Eigen::Index>(r)], static_cast<double>(r % 10));
  }
}

// ---------------------------------------------------------------------------------------
// Malformed files: one DataError naming the file at fault and the problem.

TEST(IdxMalformed, MissingFiles) {
  const TempDir dir;
  const std::string images = dir.write_plain("images.idx", small_images());
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  const std::string missing = dir.file("missing.idx");
  expect_idx_error(missing, labels, missing, {"no such file"});
  expect_idx_error(images, missing, missing, {"no such file"});
}

TEST(IdxMalformed, NotARegularFile) {
  const TempDir dir;
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  const fs::path sub = dir.path() / "a-directory";
  ASSERT_TRUE(fs::create_directory(sub));
  expect_idx_error(sub.string(), labels, sub.string(), {"not a regular file"});
  expect_idx_error(dir.write_plain("images.idx", small_images()), sub.string(), sub.string(), {"not a regular file"});
  if (fs::exists("/dev/null")) expect_idx_error("/dev/null", labels, "/dev/null", {"not a regular file"});
}

TEST(IdxMalformed, UnreadableFile) {
  const TempDir dir;
  const std::string images = dir.write_plain("images.idx", small_images());
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  fs::permissions(images, fs::perms::none);
  if (std::ifstream(images)) {
    fs::permissions(images, fs::perms::owner_read | fs::perms::owner_write);
    GTEST_SKIP() << "file permissions are not enforced for this user (e.g. root)";
  }
  expect_idx_error(images, labels, images, {"cannot open", "Permission denied"});
  fs::permissions(images, fs::perms::owner_read | fs::perms::owner_write);
}

TEST(IdxMalformed, GzipCutInTheMiddle) {
  const TempDir dir;
  // Random pixels compress poorly, so the middle of the file is the middle of the data.
  std::mt19937 gen(3);
  Bytes pixels(40 * 28 * 28);
  for (unsigned char& p : pixels) p = static_cast<unsigned char>(gen() & 0xFFU);
  const std::string images = dir.write_gzip("images.gz", images_file(40, 28, 28, pixels));
  const std::string labels = dir.write_gzip("labels.gz", labels_file(Bytes(40, 3)));
  ASSERT_NO_THROW((void)ecco::read_idx(images, labels));

  const Bytes whole = read_bytes(images);
  const std::string cut = dir.write_plain(
      "cut-images.gz", Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(whole.size() / 2)));
  expect_idx_error(cut, labels, cut, {"truncated gzip"});

  // Cut just before the 8-byte trailer: all the data is there, the stream is not complete.
  const std::string no_trailer = dir.write_plain("no-trailer.gz", Bytes(whole.begin(), whole.end() - 8));
  expect_idx_error(no_trailer, labels, no_trailer, {"truncated gzip"});

  const Bytes label_bytes = read_bytes(labels);
  const std::string cut_labels = dir.write_plain(
      "cut-labels.gz",
      Bytes(label_bytes.begin(), label_bytes.begin() + static_cast<std::ptrdiff_t>(label_bytes.size() / 2)));
  expect_idx_error(images, cut_labels, cut_labels, {"truncated gzip"});
}

TEST(IdxMalformed, CorruptGzip) {
  const TempDir dir;
  std::mt19937 gen(4);
  Bytes pixels(40 * 28 * 28);
  for (unsigned char& p : pixels) p = static_cast<unsigned char>(gen() & 0xFFU);
  const std::string images = dir.write_gzip("images.gz", images_file(40, 28, 28, pixels));
  const std::string labels = dir.write_gzip("labels.gz", labels_file(Bytes(40, 3)));
  const Bytes whole = read_bytes(images);

  // A wrong CRC-32 in the trailer: the data decodes, the check fails.
  Bytes bad_crc = whole;
  bad_crc[bad_crc.size() - 8] ^= 0xFFU;
  const std::string crc = dir.write_plain("bad-crc.gz", bad_crc);
  expect_idx_error(crc, labels, crc, {"corrupt gzip", "incorrect data check"});

  // Garbage in the middle of the compressed data.
  Bytes garbled = whole;
  for (std::size_t i = whole.size() / 2; i < whole.size() / 2 + 64; ++i) garbled[i] ^= 0x5AU;
  const std::string middle = dir.write_plain("garbled.gz", garbled);
  expect_idx_error(middle, labels, middle, {"gzip"});
}

TEST(IdxMalformed, PlainFileCutInTheMiddle) {
  const TempDir dir;
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  Bytes images_bytes = small_images();
  images_bytes.resize(16 + 10);  // 10 of the 18 pixels
  const std::string images = dir.write_plain("images.idx", images_bytes);
  expect_idx_error(images, labels, images, {"fewer bytes than the header promises", "18 bytes", "has 10"});

  Bytes label_bytes = small_labels();
  label_bytes.pop_back();
  const std::string short_labels = dir.write_plain("short-labels.idx", label_bytes);
  expect_idx_error(dir.write_plain("good-images.idx", small_images()), short_labels, short_labels,
                   {"fewer bytes than the header promises", "3 bytes", "has 2"});
}

TEST(IdxMalformed, CompleteGzipOfAShortFile) {
  const TempDir dir;
  const std::string labels = dir.write_gzip("labels.gz", small_labels());
  Bytes images_bytes = small_images();
  images_bytes.resize(16 + 17);
  const std::string images = dir.write_gzip("images.gz", images_bytes);
  expect_idx_error(images, labels, images, {"fewer bytes than the header promises", "has 17"});
}

TEST(IdxMalformed, HeaderTooShort) {
  const TempDir dir;
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  const std::string empty = dir.write_plain("empty.idx", {});
  expect_idx_error(empty, labels, empty, {"too short for an IDX header", "0 bytes"});
  const std::string empty_gz = dir.write_gzip("empty.gz", {});
  expect_idx_error(empty_gz, labels, empty_gz, {"too short for an IDX header"});
  const std::string two = dir.write_plain("two.idx", {0, 0});
  expect_idx_error(two, labels, two, {"too short for an IDX header", "2 bytes"});
  const std::string cut_dims = dir.write_plain("cut-dims.idx", idx_file(kImagesMagic, {3, 2}, {}));
  expect_idx_error(cut_dims, labels, cut_dims, {"header cut off", "12 of its 16 bytes"});
  const std::string cut_label_dims = dir.write_plain("cut-label-dims.idx", {0, 0, 8, 1, 0, 0});
  expect_idx_error(dir.write_plain("images.idx", small_images()), cut_label_dims, cut_label_dims,
                   {"header cut off", "6 of its 8 bytes"});
}

TEST(IdxMalformed, WrongMagic) {
  const TempDir dir;
  const std::string images = dir.write_plain("images.idx", small_images());
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  // The two files swapped: each magic names what it is and what was expected.
  expect_idx_error(labels, images, labels, {"wrong magic 0x00000801", "expected 0x00000803"});
  expect_idx_error(images, images, images, {"wrong magic 0x00000803", "expected 0x00000801"});
  // int32 values (type 0x0C) and a little-endian magic.
  const std::string ints = dir.write_plain("ints.idx", idx_file(0x00000C03, {3, 2, 3}, Bytes(72, 0)));
  expect_idx_error(ints, labels, ints, {"wrong magic 0x00000C03", "expected 0x00000803"});
  const std::string little = dir.write_plain("little.idx", {3, 8, 0, 0, 0, 0, 0, 3});
  expect_idx_error(little, labels, little, {"wrong magic 0x03080000", "expected 0x00000803"});
}

TEST(IdxMalformed, ZeroDimensions) {
  const TempDir dir;
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  const std::string no_images = dir.write_plain("count0.idx", images_file(0, 2, 3, {}));
  expect_idx_error(no_images, labels, no_images, {"image count is 0", "allowed"});
  const std::string no_rows = dir.write_plain("rows0.idx", images_file(3, 0, 3, {}));
  expect_idx_error(no_rows, labels, no_rows, {"image size 0 x 3 is empty", "allowed"});
  const std::string no_cols = dir.write_plain("cols0.idx", images_file(3, 2, 0, {}));
  expect_idx_error(no_cols, labels, no_cols, {"image size 2 x 0 is empty"});
  const std::string no_labels = dir.write_plain("labels0.idx", labels_file({}));
  expect_idx_error(dir.write_plain("images.idx", small_images()), no_labels, no_labels, {"label count is 0"});
}

TEST(IdxMalformed, AbsurdDimensions) {
  const TempDir dir;
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  const std::string huge_images = dir.write_plain("huge.idx", images_file(0xFFFFFFFFU, 2, 3, kPixels));
  expect_idx_error(huge_images, labels, huge_images, {"image count 4294967295 is absurd", "2^31"});
  const std::string big_count = dir.write_plain("big-count.idx", images_file((std::uint64_t{1} << 31) + 1, 2, 3, {}));
  expect_idx_error(big_count, labels, big_count, {"image count 2147483649 is absurd"});
  const std::string huge_pixels = dir.write_plain("huge-pixels.idx", images_file(3, 65535, 65535, {}));
  expect_idx_error(huge_pixels, labels, huge_pixels, {"image size 65535 x 65535", "absurd", "2^24"});
  const std::string just_above = dir.write_plain("above.idx", images_file(3, 4097, 4096, {}));
  expect_idx_error(just_above, labels, just_above, {"image size 4097 x 4096", "absurd"});
  const std::string huge_labels = dir.write_plain("huge-labels.idx", idx_file(kLabelsMagic, {0x80000001U}, {}));
  expect_idx_error(dir.write_plain("images.idx", small_images()), huge_labels, huge_labels,
                   {"label count 2147483649 is absurd"});
}

TEST(IdxMalformed, LargestCountIsReadNotAllocated) {
  // 2^31 images of 2 x 3 pass the caps; the data is missing, which must be reported (and not
  // end in an allocation of 12 GiB).
  const TempDir dir;
  const std::string images = dir.write_plain("images.idx", images_file(std::uint64_t{1} << 31, 2, 3, kPixels));
  const std::string labels = dir.write_plain("labels.idx", idx_file(kLabelsMagic, {std::uint64_t{1} << 31}, kLabels));
  expect_idx_error(images, labels, images, {"fewer bytes than the header promises", "has 18"});
}

TEST(IdxMalformed, TrailingBytes) {
  const TempDir dir;
  Bytes images_bytes = small_images();
  images_bytes.insert(images_bytes.end(), {1, 2, 3});
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  const std::string images = dir.write_plain("images.idx", images_bytes);
  expect_idx_error(images, labels, images, {"3 trailing bytes", "34 bytes the header declares"});
  const std::string gz_images = dir.write_gzip("images.gz", images_bytes);
  expect_idx_error(gz_images, labels, gz_images, {"3 trailing bytes"});

  Bytes label_bytes = small_labels();
  label_bytes.push_back(0);
  const std::string long_labels = dir.write_gzip("labels.gz", label_bytes);
  expect_idx_error(dir.write_plain("good.idx", small_images()), long_labels, long_labels, {"1 trailing bytes"});
}

TEST(IdxMalformed, ImageAndLabelCountsDiffer) {
  const TempDir dir;
  const std::string images = dir.write_plain("images.idx", small_images());
  const std::string labels = dir.write_plain("labels.idx", labels_file({1, 2}));
  expect_idx_error(images, labels, labels, {"has 2 labels", images + " has 3 images"});
  const std::string more = dir.write_plain("more-labels.idx", labels_file({1, 2, 3, 4}));
  expect_idx_error(images, more, more, {"has 4 labels", images + " has 3 images"});
}

// ---------------------------------------------------------------------------------------
// The fashion_mnist and idx data sources

// A folder laid out like /usr/share/datasets/fashion-mnist: train 5 images and t10k 3
// images of 2 x 2, gzip-compressed.
class FakeFashionMnist {
 public:
  FakeFashionMnist() {
    dir_.write_gzip("train-images-idx3-ubyte.gz", images_file(5, 2, 2, train_pixels()));
    dir_.write_gzip("train-labels-idx1-ubyte.gz", labels_file({9, 0, 0, 3, 1}));
    dir_.write_gzip("t10k-images-idx3-ubyte.gz", images_file(3, 2, 2, test_pixels()));
    dir_.write_gzip("t10k-labels-idx1-ubyte.gz", labels_file({4, 4, 2}));
  }
  std::string dir() const { return dir_.path().string(); }
  const TempDir& temp() const { return dir_; }

  static Bytes train_pixels() { return {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 255, 0, 0, 0, 17}; }
  static Bytes test_pixels() { return {200, 0, 0, 100, 0, 0, 0, 0, 50, 60, 70, 80}; }

  static Eigen::MatrixXd expected(const Bytes& pixels, Eigen::Index rows) {
    Eigen::MatrixXd out(rows, 4);
    for (Eigen::Index r = 0; r < rows; ++r) {
      for (Eigen::Index c = 0; c < 4; ++c) out(r, c) = pixels[static_cast<std::size_t>(r * 4 + c)] / 255.0;
    }
    return out;
  }

 private:
  TempDir dir_;
};

TEST(FashionMnistSource, LoadsTheTrainFiles) {
  const FakeFashionMnist fake;
  const std::string spec = "fashion_mnist:dir=" + fake.dir();
  const ecco::Dataset data = ecco::load_dataset(spec, std::nullopt, 2);
  ASSERT_EQ(data.rows(), 5U);
  ASSERT_EQ(data.dim(), 4U);
  EXPECT_EQ(dense(data), FakeFashionMnist::expected(FakeFashionMnist::train_pixels(), 5));
  EXPECT_EQ(labels_of(data), (std::vector<double>{9.0, 0.0, 0.0, 3.0, 1.0}));  // not remapped
  EXPECT_EQ(data.source, "fashion_mnist:dir=" + fake.dir() + ",rows=0,test_rows=0");
  EXPECT_EQ(ecco::load_dataset(spec, std::size_t{4}, 1).dim(), 4U);
  const std::string message =
      error_message<ecco::ConfigError>([&] { (void)ecco::load_dataset(spec, std::size_t{784}, 1); });
  EXPECT_NE(message.find("--dim 784"), std::string::npos) << message;
}

TEST(FashionMnistSource, RowsKeepsTheFirstRows) {
  const FakeFashionMnist fake;
  const std::string spec = "fashion_mnist:dir=" + fake.dir();
  const ecco::Dataset two = ecco::load_dataset(spec + ",rows=2", std::nullopt, 1);
  ASSERT_EQ(two.rows(), 2U);
  EXPECT_EQ(dense(two), FakeFashionMnist::expected(FakeFashionMnist::train_pixels(), 2));
  EXPECT_EQ(labels_of(two), (std::vector<double>{9.0, 0.0}));
  EXPECT_EQ(two.source, "fashion_mnist:dir=" + fake.dir() + ",rows=2,test_rows=0");
  EXPECT_EQ(ecco::load_dataset(spec + ",rows=5", std::nullopt, 1).rows(), 5U);
  const std::string too_many =
      error_message<ecco::ConfigError>([&] { (void)ecco::load_dataset(spec + ",rows=6", std::nullopt, 1); });
  EXPECT_NE(too_many.find("rows=6"), std::string::npos) << too_many;
  EXPECT_NE(too_many.find("5 rows"), std::string::npos) << too_many;
  EXPECT_THROW((void)ecco::load_dataset(spec + ",rows=-1", std::nullopt, 1), ecco::ConfigError);
  EXPECT_THROW((void)ecco::load_dataset(spec + ",rows=two", std::nullopt, 1), ecco::ConfigError);
  EXPECT_THROW((void)ecco::load_dataset(spec + ",size=2", std::nullopt, 1), ecco::ConfigError);
}

TEST(FashionMnistSource, MissingFolderNamesTheDebianPackage) {
  const TempDir dir;
  const std::string missing = dir.file("no-fashion-mnist");
  const std::string message = error_message<ecco::DataError>(
      [&] { (void)ecco::load_dataset("fashion_mnist:dir=" + missing, std::nullopt, 1); });
  EXPECT_TRUE(starts_with(message, missing + ": no such directory")) << message;
  EXPECT_NE(message.find("apt-get install dataset-fashion-mnist"), std::string::npos) << message;
}

TEST(FashionMnistSource, MissingFileNamesTheDebianPackage) {
  const FakeFashionMnist fake;
  const std::string labels = fake.temp().file("train-labels-idx1-ubyte.gz");
  fs::remove(labels);
  const std::string message = error_message<ecco::DataError>(
      [&] { (void)ecco::load_dataset("fashion_mnist:dir=" + fake.dir(), std::nullopt, 1); });
  EXPECT_TRUE(starts_with(message, labels + ": no such file")) << message;
  EXPECT_NE(message.find("apt-get install dataset-fashion-mnist"), std::string::npos) << message;
}

TEST(FashionMnistSource, MalformedFileIsTheReadersDataError) {
  const FakeFashionMnist fake;
  const std::string images = fake.temp().write_plain("train-images-idx3-ubyte.gz", labels_file({1}));
  const std::string message = error_message<ecco::DataError>(
      [&] { (void)ecco::load_dataset("fashion_mnist:dir=" + fake.dir(), std::nullopt, 1); });
  EXPECT_TRUE(starts_with(message, images + ": wrong magic")) << message;
}

TEST(FashionMnistSource, ListShowsTheSourcesAndThePackage) {
  const std::string list = ecco::list_text();
  EXPECT_NE(list.find("fashion_mnist"), std::string::npos);
  EXPECT_NE(list.find("dataset-fashion-mnist"), std::string::npos);
  EXPECT_NE(list.find("dir=/usr/share/datasets/fashion-mnist"), std::string::npos);
  EXPECT_NE(list.find("test_rows=0"), std::string::npos);
  EXPECT_NE(list.find("\n  idx "), std::string::npos) << list;
  EXPECT_NE(list.find("images=(required)"), std::string::npos);
  EXPECT_NE(list.find("labels=(required)"), std::string::npos);
}

TEST(IdxSource, LoadsThePair) {
  const TempDir dir;
  const std::string images = dir.write_gzip("images.gz", small_images());
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  const ecco::Dataset data = ecco::load_dataset("idx:labels=" + labels + ",images=" + images, std::nullopt, 3);
  EXPECT_EQ(dense(data), small_expected());
  EXPECT_EQ(labels_of(data), (std::vector<double>{7.0, 0.0, 9.0}));
  EXPECT_EQ(data.source, "idx:images=" + images + ",labels=" + labels);
  EXPECT_THROW((void)ecco::load_dataset("idx:images=" + images + ",labels=" + labels, std::size_t{5}, 1),
               ecco::ConfigError);
}

TEST(IdxSource, BothKeysAreRequired) {
  const std::string message =
      error_message<ecco::ConfigError>([] { (void)ecco::load_dataset("idx:images=a.idx", std::nullopt, 1); });
  EXPECT_NE(message.find("labels"), std::string::npos) << message;
  EXPECT_THROW((void)ecco::load_dataset("idx", std::nullopt, 1), ecco::ConfigError);
}

TEST(IdxSource, MissingFileIsADataError) {
  const TempDir dir;
  const std::string images = dir.write_plain("images.idx", small_images());
  const std::string missing = dir.file("labels.idx");
  const std::string message = error_message<ecco::DataError>(
      [&] { (void)ecco::load_dataset("idx:images=" + images + ",labels=" + missing, std::nullopt, 1); });
  EXPECT_TRUE(starts_with(message, missing + ": no such file")) << message;
}

// ---------------------------------------------------------------------------------------
// load_test_dataset

TEST(LoadTestDataset, AutoForFashionMnistReadsTheT10kFiles) {
  const FakeFashionMnist fake;
  const std::string train = "fashion_mnist:dir=" + fake.dir() + ",rows=2";
  const std::optional<ecco::Dataset> test = ecco::load_test_dataset("auto", train, 4);
  ASSERT_TRUE(test.has_value());
  ASSERT_EQ(test->rows(), 3U);  // rows= limits the training set only
  ASSERT_EQ(test->dim(), 4U);
  EXPECT_EQ(dense(*test), FakeFashionMnist::expected(FakeFashionMnist::test_pixels(), 3));
  EXPECT_EQ(labels_of(*test), (std::vector<double>{4.0, 4.0, 2.0}));
  EXPECT_EQ(test->source, fake.temp().file("t10k-images-idx3-ubyte.gz"));
}

TEST(LoadTestDataset, TestRowsKeepsTheFirstTestRows) {
  const FakeFashionMnist fake;
  const std::string train = "fashion_mnist:dir=" + fake.dir();
  const std::optional<ecco::Dataset> two = ecco::load_test_dataset("auto", train + ",test_rows=2", 4);
  ASSERT_TRUE(two.has_value());
  ASSERT_EQ(two->rows(), 2U);
  EXPECT_EQ(dense(*two), FakeFashionMnist::expected(FakeFashionMnist::test_pixels(), 2));
  EXPECT_EQ(labels_of(*two), (std::vector<double>{4.0, 4.0}));
  const std::string message =
      error_message<ecco::ConfigError>([&] { (void)ecco::load_test_dataset("auto", train + ",test_rows=4", 4); });
  EXPECT_NE(message.find("test_rows=4"), std::string::npos) << message;
  EXPECT_NE(message.find("3 rows"), std::string::npos) << message;
}

TEST(LoadTestDataset, AutoWithoutT10kFilesNamesTheDebianPackage) {
  const FakeFashionMnist fake;
  const std::string images = fake.temp().file("t10k-images-idx3-ubyte.gz");
  fs::remove(images);
  const std::string message = error_message<ecco::DataError>(
      [&] { (void)ecco::load_test_dataset("auto", "fashion_mnist:dir=" + fake.dir(), 4); });
  EXPECT_TRUE(starts_with(message, images + ": no such file")) << message;
  EXPECT_NE(message.find("apt-get install dataset-fashion-mnist"), std::string::npos) << message;
}

TEST(LoadTestDataset, AutoForOtherDataAndNoneAreNoTestSet) {
  const TempDir dir;
  const std::string images = dir.write_plain("images.idx", small_images());
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  const std::string svm = dir.write_plain("train.svm", Bytes{'1', ' ', '1', ':', '1', '\n'});
  EXPECT_FALSE(ecco::load_test_dataset("auto", "synthetic_classification", 50).has_value());
  EXPECT_FALSE(ecco::load_test_dataset("auto", "synthetic:rows=10,dim=3", 3).has_value());
  EXPECT_FALSE(ecco::load_test_dataset("auto", svm, 1).has_value());
  EXPECT_FALSE(ecco::load_test_dataset("auto", "idx:images=" + images + ",labels=" + labels, 6).has_value());
  // A file that merely starts like the name is not the fashion_mnist source.
  EXPECT_FALSE(ecco::load_test_dataset("auto", "fashion_mnist.svm", 6).has_value());

  const FakeFashionMnist fake;
  EXPECT_FALSE(ecco::load_test_dataset("none", "fashion_mnist:dir=" + fake.dir(), 4).has_value());
  EXPECT_FALSE(ecco::load_test_dataset("none", svm, 1).has_value());
}

TEST(LoadTestDataset, IdxPair) {
  const TempDir dir;
  const std::string images = dir.write_gzip("images.gz", small_images());
  const std::string labels = dir.write_gzip("labels.gz", small_labels());
  const std::optional<ecco::Dataset> test =
      ecco::load_test_dataset("idx:images=" + images + ",labels=" + labels, "synthetic_classification", 6);
  ASSERT_TRUE(test.has_value());
  EXPECT_EQ(dense(*test), small_expected());
  EXPECT_EQ(labels_of(*test), (std::vector<double>{7.0, 0.0, 9.0}));
  EXPECT_THROW((void)ecco::load_test_dataset("idx:images=" + images, "synthetic_classification", 6), ecco::ConfigError);
  // Only idx is a spec here: other source names are not test sets.
  EXPECT_THROW((void)ecco::load_test_dataset("idx:images=" + images + ",labels=" + labels + ",rows=1",
                                             "synthetic_classification", 6),
               ecco::ConfigError);
}

TEST(LoadTestDataset, TestSetWithAnotherDimIsADataError) {
  const TempDir dir;
  const std::string images = dir.write_plain("images.idx", small_images());
  const std::string labels = dir.write_plain("labels.idx", small_labels());
  const std::string message = error_message<ecco::DataError>(
      [&] { (void)ecco::load_test_dataset("idx:images=" + images + ",labels=" + labels, "synthetic", 20); });
  EXPECT_TRUE(starts_with(message, images + ": ")) << message;
  EXPECT_NE(message.find("d = 6"), std::string::npos) << message;
  EXPECT_NE(message.find("d = 20"), std::string::npos) << message;

  const FakeFashionMnist fake;
  const std::string auto_message = error_message<ecco::DataError>(
      [&] { (void)ecco::load_test_dataset("auto", "fashion_mnist:dir=" + fake.dir(), 784); });
  EXPECT_NE(auto_message.find("d = 4"), std::string::npos) << auto_message;
  EXPECT_NE(auto_message.find("d = 784"), std::string::npos) << auto_message;
}

TEST(LoadTestDataset, LibsvmFileIsReadWithTheTrainingDim) {
  const TempDir dir;
  const std::string path = dir.write_plain("test.svm", Bytes{'3', ' ', '2', ':', '0', '.',  '5', '\n',  //
                                                             '1', ' ', '4', ':', '2', '\n',             //
                                                             '2', ' ', '1', ':', '1', '\n'});
  const std::optional<ecco::Dataset> test = ecco::load_test_dataset(path, "synthetic_classification", 6);
  ASSERT_TRUE(test.has_value());
  ASSERT_EQ(test->rows(), 3U);
  EXPECT_EQ(test->dim(), 6U);  // the training dim, not the largest index
  EXPECT_EQ(test->features.coeff(0, 1), 0.5);
  EXPECT_EQ(test->features.coeff(1, 3), 2.0);
  EXPECT_EQ(labels_of(*test), (std::vector<double>{3.0, 1.0, 2.0}));  // three labels: kept as read
  const std::string message =
      error_message<ecco::DataError>([&] { (void)ecco::load_test_dataset(path, "synthetic_classification", 3); });
  EXPECT_TRUE(starts_with(message, path + ":2:")) << message;
  EXPECT_NE(message.find("exceeds --dim 3"), std::string::npos) << message;
  EXPECT_THROW((void)ecco::load_test_dataset(dir.file("missing.svm"), "synthetic", 6), ecco::DataError);
}

// ---------------------------------------------------------------------------------------
// The real Fashion-MNIST files of the Debian package (skipped when it is not installed).

TEST(FashionMnistReal, DebianFiles) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(dir)) {
    const std::string why = dir + " not found: apt-get install dataset-fashion-mnist (scripts/setup.sh installs it)";
    if (ecco::testing::data_required()) FAIL() << why;
    GTEST_SKIP() << why;
  }
  const ecco::Dataset train = ecco::load_dataset("fashion_mnist", std::nullopt, 1);
  ASSERT_EQ(train.rows(), 60000U);
  ASSERT_EQ(train.dim(), 784U);
  const std::optional<ecco::Dataset> test = ecco::load_test_dataset("auto", "fashion_mnist", train.dim());
  ASSERT_TRUE(test.has_value());
  ASSERT_EQ(test->rows(), 10000U);
  ASSERT_EQ(test->dim(), 784U);

  for (const auto& [data, per_class] : {std::pair{&train, 6000}, std::pair{&*test, 1000}}) {
    std::array<int, 10> counts{};
    for (Eigen::Index i = 0; i < data->labels.size(); ++i) {
      const double y = data->labels[i];
      ASSERT_TRUE(y >= 0.0 && y <= 9.0 && y == static_cast<double>(static_cast<int>(y))) << "row " << i << ": " << y;
      ++counts[static_cast<std::size_t>(y)];
    }
    for (std::size_t c = 0; c < counts.size(); ++c) EXPECT_EQ(counts[c], per_class) << data->source << " class " << c;
    const double* values = data->features.valuePtr();
    const auto nnz = data->features.nonZeros();
    EXPECT_GT(nnz, 0);
    EXPECT_LT(static_cast<std::size_t>(nnz), data->rows() * data->dim());
    for (Eigen::Index k = 0; k < nnz; ++k) {
      ASSERT_TRUE(values[k] > 0.0 && values[k] <= 1.0) << data->source << " value " << values[k];
    }
  }
  EXPECT_EQ(ecco::fingerprint(ecco::load_dataset("fashion_mnist", std::nullopt, 1)), ecco::fingerprint(train));
  EXPECT_NE(ecco::fingerprint(*test), ecco::fingerprint(train));
}

}  // namespace
