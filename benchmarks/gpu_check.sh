#!/usr/bin/env bash
# The GPU check of ganlib's CUDA-graph training step and its throughput, on any machine with a CUDA GPU
# (about 6 minutes on one H100 or H200). From the repository root:
#
#     bash benchmarks/gpu_check.sh [FOLDER]
#
# Stages, each under its own time limit (the next runs anyway): tests/test_gpu.py (graph against eager), bench
# (every loss and variant), bench --grid (6 losses x 3 seeds). Writes env.txt, test_gpu.log, bench.log,
# bench.json, grid.log and grid.json into FOLDER (or $OUT; default a new runs/gpu-check-<UTC time>/), then prints
# a summary. Data: GANLIB_DATA, default .data (the offline MNIST in torchvision's raw layout). TEST_LIMIT,
# BENCH_LIMIT and GRID_LIMIT (seconds; 0 skips the stage) change the limits, BENCH_STEPS bench's timed steps.
# benchmarks/README.md says how to read the results.
set -u
cd "$(dirname "$0")/.."
OUT="${1:-${OUT:-runs/gpu-check-$(date -u +%Y%m%d-%H%M%S)}}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 GANLIB_DATA="${GANLIB_DATA:-.data}"
PY=python3
status=()

# without MNIST the MNIST graph tests skip, and the tally would look like a pass
if [ ! -d "$GANLIB_DATA/MNIST/raw" ]; then
    echo "gpu_check: no MNIST in $GANLIB_DATA/MNIST/raw; copy the offline MNIST there or set GANLIB_DATA" >&2
    exit 2
fi

stage() {  # stage NAME SECONDS LOG COMMAND...: run one stage under a time limit (0: skip it); the next runs anyway
    local name=$1 limit=$2 log=$3; shift 3
    local t0=$SECONDS
    if [ "$limit" -eq 0 ]; then status+=("$(printf '%-10s skipped' "$name")"); return; fi
    timeout -k 5 "$limit" "$@" >"$OUT/$log" 2>&1
    local rc=$?
    status+=("$(printf '%-10s exit %3d  %4d s  (limit %d s; 124 = ran out of time)' "$name" "$rc" $((SECONDS - t0)) "$limit")")
}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv; $PY -c \
  "import sys, torch; print(sys.version); print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
  ls -R "$GANLIB_DATA" | head -20; } >"$OUT/env.txt" 2>&1

# graph vs eager for every loss on the ring and MNIST, no host sync, exact resume (eager and graph)
stage test_gpu "${TEST_LIMIT:-100}" test_gpu.log $PY -m pytest tests/test_gpu.py -q -rs -p no:cacheprovider
# one run alone, batch 64: tutorial loop vs ganlib eager vs graph, every loss (200 timed steps each)
stage bench "${BENCH_LIMIT:-120}" bench.log $PY -m ganlib bench --device cuda --losses all --variants all \
    --steps "${BENCH_STEPS:-200}" --json "$OUT/bench.json"
# the comparison grid: 18 runs at once, one process each, vs the same runs one by one (tutorial)
stage grid "${GRID_LIMIT:-120}" grid.log $PY -m ganlib bench --device cuda --grid --losses all --seeds 3 --steps 80 \
    --json "$OUT/grid.json"

echo "== results in $OUT"
echo "== tests";  tail -n 4 "$OUT/test_gpu.log" 2>/dev/null
echo "== bench";  grep -v '^ganlib bench' "$OUT/bench.log" 2>/dev/null | tail -n 20
echo "== grid";   tail -n 3 "$OUT/grid.log" 2>/dev/null
echo "== stages"; printf '%s\n' "${status[@]}"
