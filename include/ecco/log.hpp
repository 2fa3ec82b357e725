#pragma once
// One spdlog logger per process, writing to stderr, with the MPI rank in every line:
//   [12:00:01.234] [ecco r0/4] [info] message
#include <memory>
#include <string_view>

#include <spdlog/logger.h>

namespace ecco {

// Creates (or re-creates) the process logger. level: trace, debug, info, warn or error.
// Throws ConfigError on an unknown level.
void init_logging(int rank, int size, std::string_view level = "info");

// The process logger; a default one (rank 0 of 1) is created on first use.
spdlog::logger& log();

}  // namespace ecco
