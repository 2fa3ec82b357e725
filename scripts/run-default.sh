#!/usr/bin/env bash
# README command 1: install what is missing, build the release preset, and run the built-in
# default job (ecco-train without --data): an MLP on Fashion-MNIST trained for 5 epochs with
# error feedback, momentum and rank-4 PowerSGD factors per weight matrix, 4 clients on 4
# ranks, writing runs/default.csv and runs/default.json. Extra arguments go to ecco-train
# (e.g. --compressor identity); README, "The default job", lists the flags.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/mpi-env.sh
cmake --preset release > /dev/null
cmake --build --preset release
mkdir -p runs
exec mpirun -np 4 build/release/apps/ecco-train --out runs/default.csv --summary runs/default.json "$@"
