#!/usr/bin/env bash
# Runs tests/scripts/test_sweep.py (a tiny sweep with scripts/sweep.py) with Debian's Python.
# usage: test_sweep.sh <ecco-train> [mpiexec]
# Exits 77 (ctest: skipped) when python3-numpy or python3-matplotlib is missing.
set -eu
train=$1 mpiexec=${2:-mpirun}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
[ -x "$python" ] || python=python3
if ! "$python" -c "import numpy, matplotlib" 2>/dev/null; then
  echo "SKIPPED: python3-numpy or python3-matplotlib is not installed"
  exit 77
fi
exec "$python" "$here/test_sweep.py" "$train" "$mpiexec"
