# ECCO_ARCH: the instruction set the whole project is compiled for (every target, so that
# Eigen's vector code and alignment agree across translation units).
#   native    (default) the CPU of the build machine (-march=native: AVX2 / AVX-512 where it
#             has them). Fastest; the binaries run only on CPUs with the same features, and
#             refuse to start elsewhere with a message (src/core/build_cpu.cpp).
#   portable  the compiler's baseline (x86-64: SSE2): runs on every x86-64 CPU.
#   <level>   any -march value, e.g. x86-64-v3 (AVX2 + FMA) for a cluster whose hosts all
#             have at least that level.
# Results are bit-identical across runs and rank counts for one binary (one ECCO_ARCH);
# binaries built for different levels may differ in the last bits, and a run whose ranks
# run different builds is refused at set-up.
# Floating-point contraction is off (-ffp-contract=off): a * b + c is never fused into an
# FMA behind the code's back, so two code paths written with the same operations give the
# same bits at every level (Eigen's matrix kernels use FMA explicitly where the level has it).
set(ECCO_ARCH "native" CACHE STRING "Instruction set: native (default), portable, or a -march value such as x86-64-v3")

function(ecco_arch_flags out)
  set(flags -ffp-contract=off)
  if(ECCO_ARCH STREQUAL "native")
    list(APPEND flags -march=native)
  elseif(NOT ECCO_ARCH STREQUAL "portable")
    list(APPEND flags -march=${ECCO_ARCH})
  endif()
  set(${out} ${flags} PARENT_SCOPE)
endfunction()

ecco_arch_flags(ECCO_ARCH_FLAGS)
include(CheckCXXCompilerFlag)
set(CMAKE_REQUIRED_FLAGS "${ECCO_ARCH_FLAGS}")
string(REPLACE ";" " " CMAKE_REQUIRED_FLAGS "${CMAKE_REQUIRED_FLAGS}")
check_cxx_source_compiles("int main() { return 0; }" ECCO_ARCH_FLAGS_WORK_${ECCO_ARCH})
unset(CMAKE_REQUIRED_FLAGS)
if(NOT ECCO_ARCH_FLAGS_WORK_${ECCO_ARCH})
  message(FATAL_ERROR "ECCO_ARCH=${ECCO_ARCH}: the compiler rejects '${ECCO_ARCH_FLAGS}' "
                      "(allowed: native, portable, or a -march value of this compiler such as x86-64-v3)")
endif()
add_compile_options(${ECCO_ARCH_FLAGS})
message(STATUS "ecco: ECCO_ARCH=${ECCO_ARCH} (${ECCO_ARCH_FLAGS})")
