#include "train/memory.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>

#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

// Ranks of this job on this host, from the launcher's environment (1 when it says nothing).
int ranks_on_this_host() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE"}) {
    if (const char* text = std::getenv(name)) {
      const long value = std::strtol(text, nullptr, 10);
      if (value >= 1 && value <= (1L << 20)) return static_cast<int>(value);
    }
  }
  return 1;
}

// The cgroup v2 limit of this process, or infinity ("max", no cgroup file).
double cgroup_limit() {
  std::ifstream in("/sys/fs/cgroup/memory.max");
  std::string text;
  if (!(in >> text) || text == "max") return std::numeric_limits<double>::infinity();
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  return end != text.c_str() && value > 0.0 ? value : std::numeric_limits<double>::infinity();
}

}  // namespace

std::string gib(double bytes) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.1f GiB", bytes / double(1ULL << 30));
  return buffer;
}

MemoryEstimate estimate_memory(std::size_t dim, std::size_t clients, bool compresses, double data_bytes) {
  MemoryEstimate e;
  const double per_client = compresses ? kVectorsPerCompressingClient : kVectorsPerDenseClient;
  e.vectors = per_client * static_cast<double>(clients) + kVectorsPerProcess;
  e.vector_bytes = 8.0 * static_cast<double>(dim);
  e.data_bytes = 2.0 * data_bytes;
  return e;
}

MemoryLimit memory_limit() {
  if (const char* text = std::getenv("ECCO_MEMORY_LIMIT")) {
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !(value > 0.0)) {
      throw ConfigError(std::string("ECCO_MEMORY_LIMIT='") + text + "' is not a number of GiB > 0");
    }
    return {value * double(1ULL << 30), "ECCO_MEMORY_LIMIT"};
  }
  MemoryLimit limit{std::numeric_limits<double>::infinity(), "no known limit"};
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) {
    const double physical = static_cast<double>(pages) * static_cast<double>(page);
    const int ranks = ranks_on_this_host();
    limit.bytes = physical / ranks;
    limit.what = gib(physical) + " of physical memory" +
                 (ranks > 1 ? " shared by the " + std::to_string(ranks) + " ranks on this host" : std::string());
  }
  const double cgroup = cgroup_limit() / ranks_on_this_host();
  if (cgroup < limit.bytes) {
    limit.bytes = cgroup;
    limit.what = "the cgroup's memory.max" +
                 (ranks_on_this_host() > 1 ? " shared by the " + std::to_string(ranks_on_this_host()) + " ranks"
                                           : std::string());
  }
  for (const auto& [resource, name] : {std::pair{RLIMIT_AS, "ulimit -v"}, std::pair{RLIMIT_DATA, "ulimit -d"}}) {
    rlimit value{};
    if (::getrlimit(resource, &value) == 0 && value.rlim_cur != RLIM_INFINITY &&
        static_cast<double>(value.rlim_cur) < limit.bytes) {
      limit.bytes = static_cast<double>(value.rlim_cur);
      limit.what = std::string("the limit ") + name;
    }
  }
  return limit;
}

}  // namespace ecco::detail
