include(GoogleTest)

# Where tests find the papers' datasets: $ECCO_DATA_DIR, else ../shared/datasets next to
# the repository root. Tests that need them report SKIPPED when they are absent.
set(ECCO_DEFAULT_DATA_DIR "${PROJECT_SOURCE_DIR}/../shared/datasets")

# Environment that lets Open MPI run as root and with more ranks than cores. It belongs
# to the test set-up only; the library and the apps never set it.
set(ECCO_TEST_MPI_ENV
  OMPI_ALLOW_RUN_AS_ROOT=1
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_rmaps_base_oversubscribe=1
  OMPI_MCA_btl=self,tcp
  OMPI_MCA_btl_tcp_if_include=lo
  OMPI_MCA_oob_tcp_if_include=lo)

# ecco_add_mpi_test(NAME <name> TARGET <target> NP <ranks> [TIMEOUT <s>] [ARGS ...])
# Runs <target> under mpiexec with <ranks> ranks. Every MPI test gets a timeout, because a
# failure on one rank can leave the others waiting in a collective.
function(ecco_add_mpi_test)
  cmake_parse_arguments(T "" "NAME;TARGET;NP;TIMEOUT" "ARGS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${T_NAME}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${T_NP} ${MPIEXEC_PREFLAGS}
                   $<TARGET_FILE:${T_TARGET}> ${MPIEXEC_POSTFLAGS} ${T_ARGS})
  set_tests_properties(${T_NAME} PROPERTIES
    TIMEOUT ${T_TIMEOUT}
    PROCESSORS ${T_NP}
    LABELS "mpi;${T_LABELS}"
    SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]"
    ENVIRONMENT "${ECCO_TEST_MPI_ENV};ECCO_DEFAULT_DATA_DIR=${ECCO_DEFAULT_DATA_DIR}")
endfunction()
