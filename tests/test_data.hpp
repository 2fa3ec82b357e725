#pragma once
// Where tests find the papers' datasets: $ECCO_DATA_DIR, else $ECCO_DEFAULT_DATA_DIR (set
// by ctest to ../shared/datasets beside the repository). A test that needs a file that is
// absent calls GTEST_SKIP with the reason, so ctest reports it as skipped — or fails when
// ECCO_REQUIRE_DATA=1 (CI sets it: there the datasets must be found).
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace ecco::testing {

inline std::optional<std::string> dataset_path(const std::string& relative, std::string* why_missing) {
  const char* dir = std::getenv("ECCO_DATA_DIR");
  const char* fallback = std::getenv("ECCO_DEFAULT_DATA_DIR");
  const std::string base = dir != nullptr ? dir : (fallback != nullptr ? fallback : "");
  if (base.empty()) {
    *why_missing = "neither ECCO_DATA_DIR nor ECCO_DEFAULT_DATA_DIR is set";
    return std::nullopt;
  }
  const std::filesystem::path path = std::filesystem::path(base) / relative;
  if (!std::filesystem::is_regular_file(path)) {
    *why_missing = "dataset " + path.string() + " not found (set ECCO_DATA_DIR to the datasets folder)";
    return std::nullopt;
  }
  return path.string();
}

inline bool data_required() {
  const char* flag = std::getenv("ECCO_REQUIRE_DATA");
  return flag != nullptr && std::string(flag) == "1";
}

}  // namespace ecco::testing

// Declares `var` as the dataset's path or skips the current test with the reason.
#define ECCO_REQUIRE_DATASET(var, relative)                                   \
  std::string var;                                                            \
  do {                                                                        \
    std::string ecco_why_missing_;                                            \
    auto ecco_found_ = ::ecco::testing::dataset_path(relative, &ecco_why_missing_); \
    if (!ecco_found_ && ::ecco::testing::data_required()) FAIL() << ecco_why_missing_; \
    if (!ecco_found_) GTEST_SKIP() << ecco_why_missing_;                     \
    var = *ecco_found_;                                                       \
  } while (0)

// Skips the current test when Debian's Fashion-MNIST package is absent (fails instead under
// ECCO_REQUIRE_DATA=1, as in CI, whose set-up installs it).
#define ECCO_REQUIRE_FASHION_MNIST()                                                              \
  do {                                                                                            \
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) { \
      const char* ecco_why_ = "/usr/share/datasets/fashion-mnist is absent (apt-get install dataset-fashion-mnist)"; \
      if (::ecco::testing::data_required()) FAIL() << ecco_why_;                                  \
      GTEST_SKIP() << ecco_why_;                                                                  \
    }                                                                                             \
  } while (0)
