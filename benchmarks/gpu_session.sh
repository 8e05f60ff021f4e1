#!/usr/bin/env bash
# Issues 8 and 10 in one call of the device tool (under its 600 s limit per command): gpu_check.sh with shorter
# limits and no grid stage (test_gpu 90 s; bench 90 s, 100 timed steps), then gpu_compare.sh for LIMIT seconds
# (default 300), through CUDA graphs only if tests/test_gpu.py passed. Carry .data with MNIST and Fashion-MNIST
# (benchmarks/README.md). Everything lands in $OUT: env.txt, test_gpu.log, bench.log, bench.json, compare.log
# and the compare-book.tgz.* pieces (at most 8 files come back).
set -u
cd "$(dirname "$0")/.."
export OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
DATA="${GANLIB_DATA:-.data}"
for d in MNIST FashionMNIST; do  # without them the MNIST graph tests skip and would count as passed
    if [ ! -d "$DATA/$d/raw" ]; then
        echo "gpu_session: $DATA/$d/raw is missing; copy ../shared/data/MNIST and FashionMNIST into .data and carry it"
        exit 2
    fi
done
TEST_LIMIT=90 BENCH_LIMIT=90 BENCH_STEPS=100 GRID_LIMIT=0 bash benchmarks/gpu_check.sh
# pytest's last line says "N passed" alone when every graph test passed (no "failed", no "error")
if tail -n 1 "$OUT/test_gpu.log" | grep -q ' passed' && ! tail -n 1 "$OUT/test_gpu.log" | grep -qE 'failed|error'; then
    echo "== graph tests passed: the comparison trains through CUDA graphs"
    export GRAPH=--cuda-graph
else
    echo "== graph tests did not pass: the comparison trains eagerly"
    export GRAPH=
fi
LIMIT="${LIMIT:-300}" bash benchmarks/gpu_compare.sh
