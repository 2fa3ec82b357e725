#!/usr/bin/env bash
# README command 1: install what is missing, build the release preset, and run the built-in
# default job (ecco-train without --data): an MLP on Fashion-MNIST trained with EF21-SGDM
# and Top-1%, 8 clients on 4 ranks, writing runs/default.csv and runs/default.json. Extra
# arguments go to ecco-train (e.g. --compressor identity).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/mpi-env.sh
cmake --preset release > /dev/null
cmake --build --preset release
mkdir -p runs
exec mpirun -np 4 build/release/apps/ecco-train --out runs/default.csv --summary runs/default.json "$@"
