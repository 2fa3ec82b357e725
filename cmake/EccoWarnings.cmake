# ecco_target_warnings(<target>): the project's warning set, applied per target so that
# third-party headers (included as SYSTEM by their imported targets) stay quiet.
function(ecco_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  # GCC 12's AVX-512 intrinsics (avx512fintrin.h: "__m256d __Y = __Y;") trip
  # -Wuninitialized and -Wmaybe-uninitialized wherever Eigen's vector code inlines them (GCC
  # bug 105593, fixed in GCC 13), so builds for a CPU level with AVX-512 turn them off there;
  # the portable build (ECCO_ARCH=portable) keeps them.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13
     AND NOT ECCO_ARCH STREQUAL "portable")
    target_compile_options(${target} PRIVATE -Wno-uninitialized -Wno-maybe-uninitialized)
  endif()
  if(ECCO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
