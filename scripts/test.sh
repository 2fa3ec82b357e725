#!/usr/bin/env bash
# README command 2: install what is missing, build the ci preset, run the whole test suite.
# Extra arguments go to ctest (e.g. scripts/test.sh -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/mpi-env.sh
cmake --preset ci > build-configure.log 2>&1 || { cat build-configure.log; exit 1; }
rm -f build-configure.log
cmake --build --preset ci
ctest --preset ci -j 2 "$@"
