#!/usr/bin/env bash
# The whole test suite, as a new user runs it and as CI runs it (.ci/run calls this after its root-only
# steps): installs what needs no root (the Python requirements, an npm copy of MathJax for the browser
# test), lints, builds the book, then runs ganlib's tests, the browser and Colab-like tests and every
# chapter, English and Chinese, under nbval with the small `smoke` budget. Idempotent: what is already
# installed is not installed again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
# the chapters' kernels must use Jupyter's inline backend (a forced Agg backend shows no figures, and nbval
# then finds outputs missing); scripts and tests pick Agg by themselves on a machine without a display
unset MPLBACKEND

python3 -m pip install -q -r requirements.txt

# the pages load MathJax 3 from jsDelivr; the browser test serves it from this npm copy instead
MATHJAX=3.2.2
if ! grep -qs "\"version\": \"$MATHJAX\"" .cache/web/node_modules/mathjax/package.json; then
  if command -v npm >/dev/null; then
    npm install --silent --no-save --no-audit --no-fund --prefix .cache/web "mathjax@$MATHJAX"
  else
    echo "tools/test.sh: no npm, so no copy of MathJax for the browser test (install Node.js's npm to run it)"
  fi
fi

# what this machine cannot run, said in one line before the long part (under CI, with CI set, it fails instead)
skips=""
chromium="${GANLIB_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
[ -n "$chromium" ] || skips+=", the browser tests (no Chromium, which needs root to install: apt-get install chromium)"
[ -n "${GANLIB_DATA:-}" ] || skips+=", the tests that read MNIST (GANLIB_DATA is not set: see the README's Data section)"
[ -z "$skips" ] || echo "tools/test.sh: skips${skips#,}"

# lint first (settings in pyproject.toml): it takes seconds
python3 -m ruff check ganlib tests book/tools

# the build comes before the tests, so that the browser test reuses it instead of building the book again
export GANLIB_BOOK_HTML="$PWD/_build/html"
jupyter-book build . -W -n --keep-going
GANLIB_BUDGET=smoke python3 -m pytest tests book --nbval -q "$@"
