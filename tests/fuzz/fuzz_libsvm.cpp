// libFuzzer target: ecco::read_libsvm, the LIBSVM / svmlight reader (src/data/libsvm_reader.cpp).
//
// Input: the file's bytes (written to an in-memory file, read back by path).
//
// Expected: a Dataset, or DataError. Findings besides crashes and sanitizer reports
// (fuzz_support.hpp): any other exception; for a file that reads, a dataset whose shape
// disagrees with itself, a value that is not finite or outside the fp32 range, an index
// outside [0, d), a re-read with dim = d that fails or differs, or a re-read with dim = d - 1 that does not fail with
// DataError (the largest index is d, so it must exceed that --dim).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "fuzz_support.hpp"

namespace {

constexpr double kFp32Max = 3.4028234663852886e38;  // the reader's largest magnitude

using ecco_fuzz::finding;

void check_shape(const ecco::Dataset& data) {
  if (static_cast<std::size_t>(data.labels.size()) != data.rows() || data.rows() == 0 || data.dim() == 0) {
    finding("read_libsvm: dataset shape disagrees (rows, labels, d)");
  }
  if (!data.features.isCompressed()) finding("read_libsvm: features not compressed");
  for (Eigen::Index k = 0; k < data.features.nonZeros(); ++k) {
    const std::int64_t j = data.features.innerIndexPtr()[k];
    if (j < 0 || static_cast<std::size_t>(j) >= data.dim()) finding("read_libsvm: feature index outside [0, d)");
    if (!(std::fabs(data.features.valuePtr()[k]) <= kFp32Max)) finding("read_libsvm: feature value not finite or above 3.4e38");
  }
  for (Eigen::Index i = 0; i < data.labels.size(); ++i) {
    if (!(std::fabs(data.labels[i]) <= kFp32Max)) finding("read_libsvm: label not finite or above 3.4e38");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ecco_fuzz::MemFile file("fuzz_libsvm");
  file.assign(data, size);

  std::optional<ecco::Dataset> read;
  if (!ecco_fuzz::accepts("read_libsvm", [&] { read.emplace(ecco::read_libsvm(file.path())); })) return 0;
  check_shape(*read);
  const std::size_t d = read->dim();

  std::optional<ecco::Dataset> with_dim;
  if (!ecco_fuzz::accepts("read_libsvm(dim = d)", [&] { with_dim.emplace(ecco::read_libsvm(file.path(), d)); })) {
    finding("read_libsvm rejects a file with --dim equal to its own d = " + std::to_string(d));
  }
  if (ecco::fingerprint(*with_dim) != ecco::fingerprint(*read) || with_dim->dim() != d) {
    finding("read_libsvm with --dim = d reads another dataset");
  }
  if (d > 1 && ecco_fuzz::accepts("read_libsvm(dim = d - 1)", [&] { ecco::read_libsvm(file.path(), d - 1); })) {
    finding("read_libsvm accepts --dim " + std::to_string(d - 1) + " below the largest index " + std::to_string(d));
  }
  return 0;
}
