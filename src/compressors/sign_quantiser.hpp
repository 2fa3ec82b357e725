#pragma once
// The sign codec shared by sign and onebit (private to src/compressors): levels -1 for
// negative values and +1 otherwise, scale = the nearest fp32 value of `magnitude`.
#include <string>

#include "compressors/quantised.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"

namespace ecco::detail {

inline void quantise_signs(const double* input, double magnitude, const char* name, Message& out) {
  double scale = 0.0;
  if (!round_to_fp32(magnitude, scale)) {
    throw NumericError(std::string(name) + ": the scale " + std::to_string(magnitude) + " overflows fp32");
  }
  const std::size_t n = out.values.size();
  out.code = ValueCode::sign;
  out.level_count = 0;
  out.scale = scale;
  out.levels.resize(n);
  std::int32_t* levels = out.levels.data();
  double* v = out.values.data();
  for (std::size_t j = 0; j < n; ++j) {
    const std::int32_t level = 1 - 2 * static_cast<std::int32_t>(input[j] < 0.0);
    levels[j] = level;
    v[j] = sign_level_value(level, scale);
  }
}

}  // namespace ecco::detail
