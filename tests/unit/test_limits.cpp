// The limits of issue 17 ("defects found when tried as a hostile user would"): what set-up
// refuses because it cannot fit or cannot end, and what it clamps with a warning.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "ecco/error.hpp"
#include "ecco/trainer.hpp"
#include "train/memory.hpp"

namespace {

// The message of the ConfigError that running `config` throws ("" and a failure otherwise).
std::string config_error_of(const ecco::RunConfig& config) {
  try {
    (void)ecco::run_serial(config);
  } catch (const ecco::ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ecco::ConfigError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected ecco::ConfigError, the run succeeded";
  return {};
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

std::string write_file(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  std::ofstream(path) << content;
  return path.string();
}

}  // namespace

TEST(MemoryEstimate, CountsVectorsOfDPerClientAndPerProcess) {
  const auto compressing = ecco::detail::estimate_memory(1000, 3, true, 500.0);
  EXPECT_EQ(compressing.vectors, 3 * ecco::detail::kVectorsPerCompressingClient + ecco::detail::kVectorsPerProcess);
  EXPECT_EQ(compressing.vector_bytes, 8000.0);
  EXPECT_EQ(compressing.total(), 8000.0 * (3 * 4 + 6) + 2 * 500.0);
  const auto dense = ecco::detail::estimate_memory(1000, 3, false, 0.0);
  EXPECT_EQ(dense.total(), 8000.0 * (3 * 2 + 6));
}

TEST(MemoryEstimate, LimitFromTheEnvironment) {
  {
    const ScopedEnv env("ECCO_MEMORY_LIMIT", "2.5");
    const auto limit = ecco::detail::memory_limit();
    EXPECT_EQ(limit.bytes, 2.5 * 1024 * 1024 * 1024);
    EXPECT_EQ(limit.what, "ECCO_MEMORY_LIMIT");
  }
  {
    const ScopedEnv env("ECCO_MEMORY_LIMIT", "lots");
    EXPECT_THROW(ecco::detail::memory_limit(), ecco::ConfigError);
  }
  const auto host = ecco::detail::memory_limit();
  EXPECT_GT(host.bytes, 0.0);
  EXPECT_FALSE(host.what.empty());
}

// --dim 2^31 used to be accepted and fail with a bare std::bad_alloc (16 GiB per vector).
TEST(MemoryEstimate, RunThatCannotFitIsRefusedAtSetUp) {
  const ScopedEnv env("ECCO_MEMORY_LIMIT", "64");  // whatever this host has
  ecco::RunConfig config;
  config.data = write_file("ecco-limits-huge.svm", "1 1:1\n-1 2:1\n1 3:1\n-1 1:2\n");
  config.dim = std::size_t{1} << 31;
  config.clients = 2;
  config.rounds = 1;
  const std::string what = config_error_of(config);
  EXPECT_NE(what.find("rank 0 would need at least 224.0 GiB of memory (2 clients x 4 + 6 vectors of d = "
                      "2147483648 doubles, 16.0 GiB each"),
            std::string::npos)
      << what;
  EXPECT_NE(what.find("more than the 64.0 GiB it may use (ECCO_MEMORY_LIMIT)"), std::string::npos) << what;
  std::filesystem::remove(config.data);
}

TEST(MemoryEstimate, LimitAppliesToSmallRunsToo) {
  const ScopedEnv env("ECCO_MEMORY_LIMIT", "0.000001");  // about 1 kB
  ecco::RunConfig config;
  config.rounds = 1;
  const std::string what = config_error_of(config);
  EXPECT_NE(what.find("more than the 0.0 GiB it may use (ECCO_MEMORY_LIMIT)"), std::string::npos) << what;
}
