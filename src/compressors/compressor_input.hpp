#pragma once
// Checks shared by all compressors (private to src/compressors).
#include <cmath>
#include <limits>
#include <string>

#include <Eigen/Core>

#include "ecco/error.hpp"

namespace ecco::detail {

// Throws NumericError naming the first non-finite coordinate, or ConfigError when the
// dimension does not fit the 32-bit wire indices.
inline void check_compressor_input(const Eigen::Ref<const Eigen::VectorXd>& x, const char* compressor) {
  if (x.size() < 1 || static_cast<unsigned long long>(x.size()) > std::numeric_limits<std::uint32_t>::max()) {
    throw ConfigError(std::string(compressor) + ": input dimension " + std::to_string(x.size()) +
                      " is outside [1, 2^32)");
  }
  for (Eigen::Index j = 0; j < x.size(); ++j) {
    if (!std::isfinite(x[j])) {
      throw NumericError(std::string(compressor) + ": input coordinate " + std::to_string(j) + " is not finite (" +
                         std::to_string(x[j]) + ")");
    }
  }
}

}  // namespace ecco::detail
