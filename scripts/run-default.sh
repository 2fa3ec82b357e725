#!/usr/bin/env bash
# README command 1: install what is missing, build the release preset, and run the built-in
# default job: EF21 with Top-1 on a generated logistic-regression problem, 20 clients on 4
# ranks, writing runs/default.csv. Extra arguments go to ecco-train.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/mpi-env.sh
cmake --preset release > /dev/null
cmake --build --preset release
mkdir -p runs
exec mpirun -np 4 build/release/apps/ecco-train --out runs/default.csv "$@"
