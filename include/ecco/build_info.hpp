#pragma once
// What this build of ecco was compiled for (cmake -DECCO_ARCH=..., cmake/EccoArch.cmake), and
// whether the CPU it runs on can execute it.
//
// A program linked with ecco that calls build_info() checks, before any other code of the
// program runs (a constructor of priority 101), that the CPU has every instruction-set
// extension the build may use; if not, it writes one line naming the missing extensions and
// how to rebuild to stderr and exits with status 2, instead of dying later on an illegal
// instruction.
#include <string>
#include <vector>

namespace ecco {

struct BuildInfo {
  std::string arch;          // ECCO_ARCH: "native", "portable" or a -march value
  std::string cpu_features;  // extensions the compiler may use, e.g. "sse3 ... avx2 fma avx512f"
  std::string compiler;      // e.g. "GCC 12.2.0"
  std::string description() const;  // "native (avx2 fma ...), GCC 12.2.0"
};

const BuildInfo& build_info();

// The extensions of build_info().cpu_features this CPU lacks (empty: it can run this build).
std::vector<std::string> missing_cpu_features();

}  // namespace ecco
