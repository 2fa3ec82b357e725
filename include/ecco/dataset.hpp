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

  std::size_t rows() const { return static_cast<std::size_t>(features.rows()); }
  std::size_t dim() const { return static_cast<std::size_t>(features.cols()); }

  // Copy of rows [begin, end); std::out_of_range unless begin <= end <= rows().
  Dataset slice(std::size_t begin, std::size_t end) const;
  // Copy of the given rows in the given order; std::out_of_range for a row >= rows().
  Dataset select(std::span<const std::uint32_t> rows) const;
};

// A 64-bit FNV-1a hash of the values, indices and labels: equal datasets have equal
// fingerprints (used to check that every rank read the same data).
std::uint64_t fingerprint(const Dataset& data);

// Reads a LIBSVM / svmlight file: "label idx:value idx:value ..." per line, 1-based
// strictly increasing indices, optional "# comment" tails, blank lines skipped.
// d is the largest index present unless `dim` is given (then an index > dim is an error).
// Exactly two distinct labels are remapped to -1 / +1 (smallest label -> -1); any other
// label set is kept as read, and problems that need binary labels reject it.
// Every malformed input is a DataError "path:line: what (allowed: ...)".
Dataset read_libsvm(const std::string& path, std::optional<std::size_t> dim = std::nullopt);

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

// --data: a generator spec from data_generator_table() (synthetic_classification[:...],
// synthetic[:...]) or else a LIBSVM file path. `clients` is --clients (the regression
// generator makes one block of rows per client); `dim` is --dim.
Dataset load_dataset(const std::string& text, std::optional<std::size_t> dim, std::size_t clients);
std::span<const SpecEntry> data_generator_table();

}  // namespace ecco
