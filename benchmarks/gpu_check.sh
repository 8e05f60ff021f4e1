#!/usr/bin/env bash
# One GPU check for issue 8, sized for a lent H100/H200 (about 6 minutes in all): graph against eager
# (tests/test_gpu.py), then bench (every loss, every variant), then bench --grid (6 losses x 3 seeds).
# Run from the repository root with the offline MNIST in .data/ (see benchmarks/README.md). Writes
# env.txt, test_gpu.log, bench.log, bench.json, grid.log and grid.json into $OUT. TEST_LIMIT, BENCH_LIMIT and
# GRID_LIMIT (seconds; 0 skips the stage) change the stages' limits, BENCH_STEPS bench's timed steps (gpu_session.sh
# sets them).
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-$(mktemp -d)}"  # the device tool sets OUT; elsewhere a fresh temporary folder
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 GANLIB_DATA="${GANLIB_DATA:-.data}"
PY=python3
status=()

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
stage bench "${BENCH_LIMIT:-120}" bench.log $PY -m ganlib bench --device cuda --losses all --variants all --steps "${BENCH_STEPS:-200}" \
    --json "$OUT/bench.json"
# the comparison grid: 18 runs at once, one process each, vs the same runs one by one (tutorial)
stage grid "${GRID_LIMIT:-120}" grid.log $PY -m ganlib bench --device cuda --grid --losses all --seeds 3 --steps 80 \
    --json "$OUT/grid.json"

echo "== tests";  tail -n 4 "$OUT/test_gpu.log" 2>/dev/null
echo "== bench";  grep -v '^ganlib bench' "$OUT/bench.log" 2>/dev/null | tail -n 20
echo "== grid";   tail -n 3 "$OUT/grid.log" 2>/dev/null
echo "== stages"; printf '%s\n' "${status[@]}"
