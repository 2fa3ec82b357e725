#pragma once
// How much memory a process of a run needs and may use (private to src/train): set-up
// refuses a run whose estimate exceeds the limit before it allocates the clients' states.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ecco::detail {

// Vectors of the model's dimension d (8 d bytes each) a process holds, at least:
inline constexpr double kVectorsPerCompressingClient = 4.0;  // state, estimate, message, compressor scratch
inline constexpr double kVectorsPerDenseClient = 2.0;        // gd, sgd, adam: estimate, message
inline constexpr double kVectorsPerProcess = 6.0;  // model, server state, replica, downlink, metrics, receive buffer

// A rough lower bound of the bytes a process hosting `clients` clients needs: 8 d bytes per
// vector, kVectorsPer... of them, plus twice the data's arrays (the rows read and the
// clients' copies of their shards). Measured peaks (docs/round.md, "Memory") are 1.2 to 2
// times it, so a run it refuses cannot fit.
struct MemoryEstimate {
  double vectors = 0.0;  // vectors of d doubles
  double vector_bytes = 0.0;
  double data_bytes = 0.0;
  double total() const { return vectors * vector_bytes + data_bytes; }
};
MemoryEstimate estimate_memory(std::size_t dim, std::size_t clients, bool compresses, double data_bytes);

// What one process may use: the smallest of the physical memory (sysconf) shared by the
// ranks on this host (OMPI_COMM_WORLD_LOCAL_SIZE or MPI_LOCALNRANKS, else 1), the cgroup's
// memory.max and the address-space and data limits (ulimit -v, -d). ECCO_MEMORY_LIMIT=<GiB>
// in the environment replaces it (for a host whose swap should count, say). `what` says
// where the value comes from, for the error message.
struct MemoryLimit {
  double bytes = 0.0;  // infinity: unknown, no limit
  std::string what;
};
MemoryLimit memory_limit();

// "12.3 GiB".
std::string gib(double bytes);

}  // namespace ecco::detail
