#pragma once
// Datasets: sparse feature rows with one label each, readers, generators and the split of
// the rows over clients.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "ecco/spec.hpp"

namespace ecco {

using SparseRows = Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t>;

struct Dataset {
  SparseRows features;     // N x d
  Eigen::VectorXd labels;  // N; binary labels are -1 / +1
  std::string source;      // file path or generator spec, for messages and summaries
  // The files the data was read from, as named to the reader (empty for generators): the
  // LIBSVM file, or an IDX image file and its label file. Output paths are checked against
  // them (an output must never overwrite an input).
  std::vector<std::string> files;

  std::size_t rows() const { return static_cast<std::size_t>(features.rows()); }
  std::size_t dim() const { return static_cast<std::size_t>(features.cols()); }

  // Copy of rows [begin, end) (source and files kept); std::out_of_range unless begin <= end <= rows().
  Dataset slice(std::size_t begin, std::size_t end) const;
  // Copy of the given rows in the given order; std::out_of_range for a row >= rows().
  Dataset select(std::span<const std::uint32_t> rows) const;
};

// Sets `out` to the rows x cols compressed matrix of these CSR arrays (outer: rows + 1 row
// starts), allocating exactly their size. (Assigning an Eigen::Map or a block to a SparseRows
// reserves 2 max(rows, cols) entries first: 64 GiB for one row of d = 2^31.)
void assign_rows(SparseRows& out, Eigen::Index rows, Eigen::Index cols, std::span<const std::int64_t> outer,
                 std::span<const std::int64_t> inner, std::span<const double> values);

// A 64-bit FNV-1a hash of the values, indices and labels: equal datasets have equal
// fingerprints (used to check that every rank read the same data).
std::uint64_t fingerprint(const Dataset& data);

// Reads a LIBSVM / svmlight file: "label idx:value idx:value ..." per line, 1-based
// strictly increasing indices, optional "# comment" tails, blank lines skipped.
// d is the largest index present unless `dim` is given (then an index > dim is an error).
// Exactly two distinct labels are remapped to -1 / +1 (smallest label -> -1); any other
// label set is kept as read, and problems that need binary labels reject it.
// Every malformed input is a DataError "path:line: what (allowed: ...)", among them a line
// longer than kMaxLibsvmLineBytes and a byte no text file holds (NUL and the other control
// characters but tab and CR), found as the file is read in blocks: a binary file fails in
// its first block, whatever its size.
inline constexpr std::size_t kMaxLibsvmLineBytes = std::size_t{64} << 20;  // 64 MiB
Dataset read_libsvm(const std::string& path, std::optional<std::size_t> dim = std::nullopt);

// Reads an IDX image file and its label file (the format of MNIST and Fashion-MNIST), each
// plain or gzip-compressed (detected from the content). Images: big-endian uint32 magic
// 0x00000803, then count, rows, cols, then count * rows * cols uint8 pixels; labels: magic
// 0x00000801, then count, then count uint8 labels. Row i holds image i's pixels / 255 in
// row-major order, zeros omitted (d = rows * cols); its label is the byte as a number (not
// remapped). source = images_path. Every malformed input is a DataError "path: what" naming
// the file at fault: missing, not a regular file, unreadable, corrupt or truncated gzip,
// wrong magic, a count of 0 or above 2^31, rows or cols 0 or rows * cols above 2^24, fewer
// bytes than the header promises, trailing bytes, image count != label count.
Dataset read_idx(const std::string& images_path, const std::string& labels_path);

// Binary classification data generated from a seed: each row has `density * dim` non-zero
// features (at least one) drawn uniformly in [0, 1), label = sign(<w, a> + noise) for a
// hidden w ~ N(0, I). Deterministic for a given seed.
struct SyntheticClassification {
  std::size_t rows = 2000;
  std::size_t dim = 50;
  double density = 0.2;
  double noise = 0.1;
  std::uint64_t seed = 1;
};
Dataset make_synthetic_classification(const SyntheticClassification& config);

// Heterogeneous linear-regression clients like the EF21-W paper's synthetic experiment.
// Client i gets `rows` rows A_i = sqrt(rows c_i) Q_i diag(sqrt(s)) with Q_i orthonormal
// columns (from a seeded Gaussian), so (2/rows) A_i^T A_i = 2 c_i diag(s) exactly:
//  * c_i spread geometrically over a ratio `spread` (max/min) and normalised to mean 1, so
//    L_i = 2 c_i max(s) (+ 2 lambda) vary while L of f stays 2 max(s) = 2 for every spread;
//  * s spread geometrically from 1/cond to 1 (condition number of f, mu = 2/cond).
// Targets b_i = A_i x* + noise N(0, 1) with one hidden x* ~ N(0, I). Rows are in client
// order (client i owns rows [i rows, (i+1) rows)). Needs rows >= dim. With one client there
// is no spread (c = 1) and with dim = 1 no conditioning (s = 1).
struct SyntheticRegression {
  std::size_t clients = 20;
  std::size_t rows = 50;
  std::size_t dim = 20;
  double spread = 100.0;
  double cond = 10.0;
  double noise = 0.0;
  std::uint64_t seed = 1;
};
Dataset make_synthetic_regression(const SyntheticRegression& config);

// Half-open range [begin, end) of positions in ClientSplit::order owned by one client.
struct RowRange {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const { return end - begin; }
};

// The papers' split: contiguous blocks of floor(N / n) rows in file order, the remainder
// to the last client. ConfigError when n == 0 or n > N.
std::vector<RowRange> split_contiguous(std::size_t rows, std::size_t clients);

// Which rows each client owns: client i gets rows order[ranges[i].begin .. ranges[i].end).
struct ClientSplit {
  std::vector<std::uint32_t> order;  // a permutation of 0..N-1
  std::vector<RowRange> ranges;      // one per client, contiguous in `order`
  std::size_t clients() const { return ranges.size(); }
  // Copy of client i's rows, in split order.
  Dataset shard(const Dataset& data, std::size_t client) const;
};

// --split spec (split_table() lists them): contiguous (default), shuffle:seed=,
// label_sorted (rows sorted by label, stable: non-iid), one_per_client (n must equal N),
// by_smoothness (rows sorted by ||a_j||^2, which orders the rows' own smoothness
// constants for logistic and least squares, so that the L_i are as uneven as possible).
// Every split then deals contiguous blocks as split_contiguous does.
ClientSplit make_split(const Dataset& data, std::size_t clients, std::string_view spec_text);
std::span<const SpecEntry> split_table();

// --data: a spec from data_generator_table() or else a LIBSVM file path. The specs:
//  * synthetic_classification[:...], synthetic[:...]: the generators above;
//  * fashion_mnist[:dir=,rows=,test_rows=]: train-{images-idx3,labels-idx1}-ubyte.gz of
//    `dir` (default /usr/share/datasets/fashion-mnist, where the Debian package
//    dataset-fashion-mnist installs them), the first `rows` rows (0: all 60000);
//  * idx:images=PATH,labels=PATH: any IDX pair (read_idx).
// `clients` is --clients (the regression generator makes one block of rows per client);
// `dim` is --dim, which must equal the d of a spec's data (ConfigError otherwise). source is
// the file path or the canonical spec; files lists the files read (fashion_mnist: its two
// train files; generators: none). A missing Fashion-MNIST file is a DataError that
// names the Debian package; a bad spec or a rows= above the file's count is a ConfigError.
Dataset load_dataset(const std::string& text, std::optional<std::size_t> dim, std::size_t clients);
std::span<const SpecEntry> data_generator_table();

// The held-out test set for training data `train_text` (a --data value) of dimension `dim`:
//  * "none": nullopt;
//  * "auto": for fashion_mnist training data the t10k-{images-idx3,labels-idx1}-ubyte.gz
//    files of the same dir (the first `test_rows` rows of that spec; 0: all 10000), for any
//    other training data nullopt;
//  * idx:images=PATH,labels=PATH: that IDX pair (read_idx);
//  * synthetic_classification[:...]: that generator (give it another seed than --data's);
//  * anything else: a LIBSVM file, read_libsvm(test_text, dim) (an index > dim is an error).
// A test set whose d differs from `dim` is a DataError "source: ..." naming both. Its files
// lists the files read (auto: the two t10k files).
std::optional<Dataset> load_test_dataset(const std::string& test_text, const std::string& train_text,
                                         std::size_t dim);

}  // namespace ecco
