#pragma once
// Instruction-set extensions a build may use (private to src/core; see ecco/build_info.hpp).
#include <cstdint>

namespace ecco::detail {

// Bit positions in compiled_cpu_features(); names in build_cpu.cpp, in this order.
enum class CpuFeature : unsigned {
  sse3, ssse3, sse4_1, sse4_2, popcnt, avx, avx2, fma, f16c, bmi, bmi2, lzcnt, movbe, pclmul, aes,
  avx512f, avx512cd, avx512vl, avx512bw, avx512dq, avx512ifma, avx512vbmi, avx512vbmi2, avx512vnni,
  avx512bitalg, avx512vpopcntdq, avx512bf16, avx512vp2intersect, avxvnni, gfni, vpclmulqdq,
  count
};

// The extensions the compiler was allowed to use for this build (one bit per CpuFeature).
std::uint64_t compiled_cpu_features();

}  // namespace ecco::detail
