#pragma once
// Datasets: sparse feature rows with one label each, readers, generators and the split of
// the rows over clients.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

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
};

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

// Half-open row range [begin, end) owned by one client.
struct RowRange {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const { return end - begin; }
};

// The papers' split: contiguous blocks of floor(N / n) rows in file order, the remainder
// to the last client. ConfigError when n == 0 or n > N.
std::vector<RowRange> split_contiguous(std::size_t rows, std::size_t clients);

}  // namespace ecco
