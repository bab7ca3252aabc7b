#!/usr/bin/env bash
# The GPU check of issue 17: the CUDA tests and GPU timings in one run of a few
# minutes, written to benchmarks/results/gpu.json (see gpu_check.py).
# Run from the repository root with the project installed, e.g.
#   bash benchmarks/gpu_check.sh            # on a machine with a GPU
#   bash benchmarks/gpu_check.sh --quick --device cpu   # plumbing only
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
[ -x .venv/bin/python ] && PY=.venv/bin/python
exec timeout 480 "$PY" benchmarks/gpu_check.py "$@"
