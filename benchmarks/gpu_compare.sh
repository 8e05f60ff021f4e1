#!/usr/bin/env bash
# Issue 10: chapter 6's comparison with the `book` budget (MNIST, Fashion-MNIST and the ring; both protocols;
# every seed; the MNIST learning-rate sweep) on a lent GPU, in as many sessions as it takes.
#
# Runs `python -m ganlib compare` for at most LIMIT seconds (default 420), then packs what has finished
# (each run's record, sample grids and toy points; no checkpoint, no training history, no unfinished run: a
# finished run is read back from its record alone) into $OUT/compare-<budget>.tgz.aa, .ab, ... (pieces of 15 MB:
# the device tool brings back at most 8 files of 16 MiB). A later session carries those pieces in .data/:
# this script unpacks them first (after the runs committed as benchmarks/compare-<budget>-*.tgz), and compare never
# redoes a finished run. benchmarks/README.md says how.
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
# runs finished earlier and committed, in the order of their names (compare-book-1-ring-cpu.tgz: the ring, trained
# on a CPU; compare-book-2-gpu.tgz: what a GPU session left unfinished, see benchmarks/README.md), then the
# pieces that an earlier session of this machine brought back into .data/; a later pack's results.json (its
# list of sessions) replaces an earlier one's
for seed in benchmarks/compare-"$BUDGET"-*.tgz; do
    [ -f "$seed" ] && tar xzf "$seed" && echo "unpacked the committed runs of $seed"
done
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
from ganlib.checkpoint import CHECKPOINT, HISTORY
from ganlib.layout import DONE
# a run folder holds a checkpoint or history once it has trained, and its marker once finished
folders = {p.parent for name in (DONE, HISTORY, CHECKPOINT) for p in Path(sys.argv[1]).rglob(name)}
unfinished = [f for f in folders if not (f / DONE).exists()]
for f in unfinished:
    shutil.rmtree(f)
print(f"packing {len(folders) - len(unfinished)} finished runs ({len(unfinished)} unfinished dropped)")
PY
# the training histories (about 0.5 MB a run at 5,000 steps) would not fit the 64 MiB the next session carries
tar czf - --exclude='*.pt' --exclude=history.json "$RUN" | split -b 15M - "$OUT/$PACK."
ls -l "$OUT"
[ -f "$RUN/results.json" ] && echo "COMPLETE: $RUN/results.json written" || echo "NOT COMPLETE: run again"
tail -n 20 "$OUT/compare.log"
