// build_info() and the start-up check that the CPU can run this build (ecco/build_info.hpp).
// This file is compiled for the baseline x86-64 level whatever ECCO_ARCH is (src/CMakeLists.txt),
// so that the check itself runs on any x86-64 CPU; it must not use Eigen or anything else that
// would pull vector code of the build's level into it.
#include "ecco/build_info.hpp"

#include <unistd.h>

#include <array>
#include <cstdlib>

#include "core/build_features.hpp"

#ifndef ECCO_ARCH_NAME
#error "ECCO_ARCH_NAME must be defined (src/CMakeLists.txt)"
#endif

namespace ecco {
namespace {

using detail::CpuFeature;

constexpr std::array<const char*, static_cast<std::size_t>(CpuFeature::count)> kNames = {
    "sse3",         "ssse3",         "sse4.1",       "sse4.2",          "popcnt",          "avx",
    "avx2",         "fma",           "f16c",         "bmi",             "bmi2",            "lzcnt",
    "movbe",        "pclmul",        "aes",          "avx512f",         "avx512cd",        "avx512vl",
    "avx512bw",     "avx512dq",      "avx512ifma",   "avx512vbmi",      "avx512vbmi2",     "avx512vnni",
    "avx512bitalg", "avx512vpopcntdq", "avx512bf16", "avx512vp2intersect", "avxvnni",      "gfni",
    "vpclmulqdq"};

// __builtin_cpu_supports takes string literals only, hence one case per feature.
bool cpu_has(CpuFeature f) {
  switch (f) {
    case CpuFeature::sse3: return __builtin_cpu_supports("sse3");
    case CpuFeature::ssse3: return __builtin_cpu_supports("ssse3");
    case CpuFeature::sse4_1: return __builtin_cpu_supports("sse4.1");
    case CpuFeature::sse4_2: return __builtin_cpu_supports("sse4.2");
    case CpuFeature::popcnt: return __builtin_cpu_supports("popcnt");
    case CpuFeature::avx: return __builtin_cpu_supports("avx");
    case CpuFeature::avx2: return __builtin_cpu_supports("avx2");
    case CpuFeature::fma: return __builtin_cpu_supports("fma");
    case CpuFeature::f16c: return __builtin_cpu_supports("f16c");
    case CpuFeature::bmi: return __builtin_cpu_supports("bmi");
    case CpuFeature::bmi2: return __builtin_cpu_supports("bmi2");
    case CpuFeature::lzcnt: return __builtin_cpu_supports("lzcnt");
    case CpuFeature::movbe: return __builtin_cpu_supports("movbe");
    case CpuFeature::pclmul: return __builtin_cpu_supports("pclmul");
    case CpuFeature::aes: return __builtin_cpu_supports("aes");
    case CpuFeature::avx512f: return __builtin_cpu_supports("avx512f");
    case CpuFeature::avx512cd: return __builtin_cpu_supports("avx512cd");
    case CpuFeature::avx512vl: return __builtin_cpu_supports("avx512vl");
    case CpuFeature::avx512bw: return __builtin_cpu_supports("avx512bw");
    case CpuFeature::avx512dq: return __builtin_cpu_supports("avx512dq");
    case CpuFeature::avx512ifma: return __builtin_cpu_supports("avx512ifma");
    case CpuFeature::avx512vbmi: return __builtin_cpu_supports("avx512vbmi");
    case CpuFeature::avx512vbmi2: return __builtin_cpu_supports("avx512vbmi2");
    case CpuFeature::avx512vnni: return __builtin_cpu_supports("avx512vnni");
    case CpuFeature::avx512bitalg: return __builtin_cpu_supports("avx512bitalg");
    case CpuFeature::avx512vpopcntdq: return __builtin_cpu_supports("avx512vpopcntdq");
    case CpuFeature::avx512bf16: return __builtin_cpu_supports("avx512bf16");
    case CpuFeature::avx512vp2intersect: return __builtin_cpu_supports("avx512vp2intersect");
    case CpuFeature::avxvnni: return __builtin_cpu_supports("avxvnni");
    case CpuFeature::gfni: return __builtin_cpu_supports("gfni");
    case CpuFeature::vpclmulqdq: return __builtin_cpu_supports("vpclmulqdq");
    case CpuFeature::count: break;
  }
  return false;
}

// Names of the features in mask, space-separated, in CpuFeature order.
std::string names_of(std::uint64_t mask) {
  std::string out;
  for (std::size_t k = 0; k < kNames.size(); ++k) {
    if ((mask >> k) & 1U) out += std::string(out.empty() ? "" : " ") + kNames[k];
  }
  return out;
}

std::uint64_t missing_mask() {
  __builtin_cpu_init();
  const std::uint64_t required = detail::compiled_cpu_features();
  std::uint64_t missing = 0;
  for (std::size_t k = 0; k < kNames.size(); ++k) {
    if (((required >> k) & 1U) != 0 && !cpu_has(static_cast<CpuFeature>(k))) missing |= std::uint64_t{1} << k;
  }
  return missing;
}

// Runs before the program's own constructors (priority 101), hence before any code that
// could use the missing instructions. One line on stderr, exit status 2 (a bad set-up).
__attribute__((constructor(101))) void refuse_unsupported_cpu() {
  const std::uint64_t missing = missing_mask();
  if (missing == 0) return;
  const std::string line = "ecco: this binary was built with ECCO_ARCH=" + std::string(ECCO_ARCH_NAME) +
                           " and uses " + names_of(missing) +
                           ", which this CPU lacks; rebuild it here, or for every host of a cluster with "
                           "cmake -DECCO_ARCH=portable (any x86-64) or a level all hosts have "
                           "(e.g. -DECCO_ARCH=x86-64-v3)\n";
  const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  static_cast<void>(written);
  std::_Exit(2);
}

}  // namespace

std::string BuildInfo::description() const {
  return arch + " (" + (cpu_features.empty() ? std::string("baseline x86-64") : cpu_features) + "), " + compiler;
}

const BuildInfo& build_info() {
  static const BuildInfo info{
      ECCO_ARCH_NAME, names_of(detail::compiled_cpu_features()),
#if defined(__clang__)
      "Clang " __clang_version__,
#else
      "GCC " __VERSION__,
#endif
  };
  return info;
}

std::vector<std::string> missing_cpu_features() {
  std::vector<std::string> out;
  const std::uint64_t missing = missing_mask();
  for (std::size_t k = 0; k < kNames.size(); ++k) {
    if ((missing >> k) & 1U) out.emplace_back(kNames[k]);
  }
  return out;
}

}  // namespace ecco
