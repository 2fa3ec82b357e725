// The instruction-set extensions this build may use, read from the compiler's predefined
// macros. Compiled with the project's flags (ECCO_ARCH); read by build_cpu.cpp, which is
// compiled for the baseline so that it can run the check on any x86-64 CPU.
#include "core/build_features.hpp"

namespace ecco::detail {

std::uint64_t compiled_cpu_features() {
  std::uint64_t mask = 0;
  [[maybe_unused]] const auto set = [&mask](CpuFeature f) { mask |= std::uint64_t{1} << static_cast<unsigned>(f); };
#ifdef __SSE3__
  set(CpuFeature::sse3);
#endif
#ifdef __SSSE3__
  set(CpuFeature::ssse3);
#endif
#ifdef __SSE4_1__
  set(CpuFeature::sse4_1);
#endif
#ifdef __SSE4_2__
  set(CpuFeature::sse4_2);
#endif
#ifdef __POPCNT__
  set(CpuFeature::popcnt);
#endif
#ifdef __AVX__
  set(CpuFeature::avx);
#endif
#ifdef __AVX2__
  set(CpuFeature::avx2);
#endif
#ifdef __FMA__
  set(CpuFeature::fma);
#endif
#ifdef __F16C__
  set(CpuFeature::f16c);
#endif
#ifdef __BMI__
  set(CpuFeature::bmi);
#endif
#ifdef __BMI2__
  set(CpuFeature::bmi2);
#endif
#ifdef __LZCNT__
  set(CpuFeature::lzcnt);
#endif
#ifdef __MOVBE__
  set(CpuFeature::movbe);
#endif
#ifdef __PCLMUL__
  set(CpuFeature::pclmul);
#endif
#ifdef __AES__
  set(CpuFeature::aes);
#endif
#ifdef __AVX512F__
  set(CpuFeature::avx512f);
#endif
#ifdef __AVX512CD__
  set(CpuFeature::avx512cd);
#endif
#ifdef __AVX512VL__
  set(CpuFeature::avx512vl);
#endif
#ifdef __AVX512BW__
  set(CpuFeature::avx512bw);
#endif
#ifdef __AVX512DQ__
  set(CpuFeature::avx512dq);
#endif
#ifdef __AVX512IFMA__
  set(CpuFeature::avx512ifma);
#endif
#ifdef __AVX512VBMI__
  set(CpuFeature::avx512vbmi);
#endif
#ifdef __AVX512VBMI2__
  set(CpuFeature::avx512vbmi2);
#endif
#ifdef __AVX512VNNI__
  set(CpuFeature::avx512vnni);
#endif
#ifdef __AVX512BITALG__
  set(CpuFeature::avx512bitalg);
#endif
#ifdef __AVX512VPOPCNTDQ__
  set(CpuFeature::avx512vpopcntdq);
#endif
#ifdef __AVX512BF16__
  set(CpuFeature::avx512bf16);
#endif
#ifdef __AVX512VP2INTERSECT__
  set(CpuFeature::avx512vp2intersect);
#endif
#ifdef __AVXVNNI__
  set(CpuFeature::avxvnni);
#endif
#ifdef __GFNI__
  set(CpuFeature::gfni);
#endif
#ifdef __VPCLMULQDQ__
  set(CpuFeature::vpclmulqdq);
#endif
  return mask;
}

}  // namespace ecco::detail
