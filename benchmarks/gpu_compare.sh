#!/usr/bin/env bash
# Issue 10: chapter 6's comparison with the `book` budget (MNIST, Fashion-MNIST and the ring; both protocols;
# every seed; the MNIST learning-rate sweep) on a lent GPU, in as many sessions as it takes.
#
# Runs `python -m ganlib compare` for at most LIMIT seconds (default 420), then packs what has finished
# (JSON and PNG; no checkpoint, no unfinished run) into $OUT/compare-<budget>.tgz.aa, .ab, ... (pieces of 15 MB:
# the device tool brings back at most 8 files of 16 MiB). A later session carries those pieces in .data/:
# this script unpacks them first, and compare never redoes a finished run. benchmarks/README.md says how.
# GRAPH=--cuda-graph trains through CUDA graphs (only once tests/test_gpu.py has passed on a GPU).
# BUDGET, DATASETS and DEVICE (default book, mnist,fashion-mnist,ring and cuda) exist for trying the script
# on a CPU with a small budget.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-$(mktemp -d)}"  # the device tool sets OUT; elsewhere a fresh temporary folder
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 GANLIB_DATA="${GANLIB_DATA:-.data}"
BUDGET="${BUDGET:-book}"
RUN="runs/compare-$BUDGET"
LIMIT="${LIMIT:-420}"

PACK="compare-$BUDGET.tgz"
if ls .data/"$PACK".* >/dev/null 2>&1; then
    cat .data/"$PACK".* | tar xzf - && echo "unpacked the finished runs of earlier sessions"
fi
t0=$SECONDS
# SIGINT first: each run saves a checkpoint at its next step; the packing below keeps finished runs only
timeout -k 20 -s INT "$LIMIT" python3 -m ganlib compare --budget "$BUDGET" \
    --dataset "${DATASETS:-mnist,fashion-mnist,ring}" --device "${DEVICE:-cuda}" --jobs "${JOBS:-12}" ${GRAPH:-} \
    --out "$RUN" >"$OUT/compare.log" 2>&1
rc=$?
echo "compare: exit $rc after $((SECONDS - t0)) s (124 or 130: stopped at the limit; run the script again)"

# unfinished runs would block the next session (a run folder without a checkpoint cannot resume): drop them
python3 - "$RUN" <<'PY'
import shutil, sys
from pathlib import Path
from ganlib.layout import DONE
folders = [p.parent for p in Path(sys.argv[1]).rglob("history.json")]
unfinished = [f for f in folders if not (f / DONE).exists()]
for f in unfinished:
    shutil.rmtree(f)
print(f"packing {len(folders) - len(unfinished)} finished runs ({len(unfinished)} unfinished dropped)")
PY
tar czf - --exclude='*.pt' "$RUN" | split -b 15M - "$OUT/$PACK."
ls -l "$OUT"
[ -f "$RUN/results.json" ] && echo "COMPLETE: $RUN/results.json written" || echo "NOT COMPLETE: run again"
tail -n 20 "$OUT/compare.log"
