"""Training budgets: one environment variable, ``GANLIB_BUDGET``, sizes every run in the book.

``smoke`` is for CI (seconds per chapter), ``book`` produces the stored outputs the book shows,
``full`` is for readers with a GPU and time.

Does the ``book`` comparison fit one GPU session (≤ 8 minutes on one H100)? ``estimate_seconds``
does this arithmetic; every input is stated here and none of it is measured on the new trainer.

* Measured today (H200, batch 64, one run alone, ``python -m ganlib bench``): 7 ms per generator step
  for the four losses with one critic step, 24 ms for WGAN, 44 ms for WGAN-GP (five critic steps).
  Summed over the six losses, one generator step of each costs 4·7 + 24 + 44 = 96 ms under the
  ``paper`` protocol. Under ``controlled`` (one critic step for every loss) WGAN costs about 7 ms and
  WGAN-GP about 44/5 + 3 ≈ 12 ms (one penalised critic step, plus the generator step; an estimate):
  5·7 + 12 = 47 ms. The ring's small MLPs are assumed to cost as much per step (launch-bound).
* One evaluation (5,000 generated images through G and the classifier, FCD on the CPU): ≈ 0.1 s.
* Throughput when runs share the GPU: the old grid (18 runs × 2,000 steps, 576 s of one-run time)
  took 90–170 s per data set with 12–18 runs at once: 3.4–6.4 one-run seconds per wall second. The
  faster trainer is assumed 5× faster per run; if sharing still helps as much, 17–32 old one-run
  seconds pass per wall second (``SHARED_SPEEDUP``). That assumption is the weak point: with CUDA
  graphs one run keeps the GPU busier, and processes sharing a GPU take turns.

``book``: MNIST 5,000 generator steps, Fashion-MNIST and the ring 2,000; 5 seeds; both protocols;
the MNIST sweep's two extra learning rates with 3 seeds; 8 evaluations per run (plus step 0).

    MNIST paper       5 seeds × 5,000 × 96 ms = 2,400 s
    MNIST controlled  5 seeds × 5,000 × 47 ms = 1,175 s
    MNIST sweep       2 lrs × 3 seeds × 5,000 × 47 ms = 1,410 s
    Fashion-MNIST     5 seeds × 2,000 × (96 + 47) ms = 1,430 s
    ring              5 seeds × 2,000 × (96 + 47) ms = 1,430 s
    evaluations       156 image runs × 9 evaluations = 1,404 × 0.1 s ≈ 140 s (the ring's: negligible)
    total ≈ 7,990 one-run seconds → 250 s (32×) to 470 s (17×) of wall time

So it fits 8 minutes only if the assumed 5× and today's sharing gain both hold; at the slow end there
is no margin. The ring has since been trained on the project's 2-core CPU in 340 s of wall time and its runs
committed (``benchmarks/compare-book-1-ring-cpu.tgz``), which leaves the GPU 6,560 one-run seconds: 205 to 385 s. If the first GPU session measures less, cut the sweep to MNIST's 3,000 steps or the
ring to 3 seeds before cutting MNIST's 5,000 steps or its 5 seeds. ``compare`` is resumable, so a
session that runs out of time loses nothing: the next one finishes the grid.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from .data import TOY_DATASETS
from .errors import check_choice

BUDGET_ENV = "GANLIB_BUDGET"
BUDGET_NAMES: tuple[str, ...] = ("smoke", "book", "full")
# milliseconds per generator step, one run alone on today's trainer (H200), per protocol and loss
STEP_MS: dict[str, dict[str, float]] = {
    "paper": {"minimax": 7, "nonsaturating": 7, "wgan": 24, "wgan-gp": 44, "lsgan": 7, "hinge": 7},
    "controlled": {"minimax": 7, "nonsaturating": 7, "wgan": 7, "wgan-gp": 12, "lsgan": 7, "hinge": 7},
}
EVAL_S = 0.1  # one evaluation of 5,000 images on a GPU
SHARED_SPEEDUP = (17.0, 32.0)  # old one-run seconds per wall second, faster trainer with shared GPU


@dataclass(frozen=True)
class Budget:
    """How much training every experiment of the course gets."""

    name: str
    image_steps: int  # generator steps of the chapters' image runs (each chapter takes a share of them)
    toy_steps: int  # generator steps on the 2-D mixtures
    batch_size: int  # images
    toy_batch_size: int  # 2-D points: cheap, and small batches let the toy generators escape the data
    seeds: tuple[int, ...]  # seeds of the loss comparison
    eval_points: int  # evaluations during a comparison run (the last one at the final step), plus step 0
    fashion_steps: int | None = None  # generator steps on Fashion-MNIST (None: image_steps)
    sweep_seeds: int = 0  # seeds of the learning-rate sweep's extra rates (the first ones of ``seeds``)
    mnist_steps: int | None = None  # generator steps of a comparison run on MNIST (None: image_steps)

    def steps_for(self, dataset: str) -> int:
        """Generator steps of a comparison run on ``dataset``."""
        if dataset in TOY_DATASETS:
            return self.toy_steps
        if dataset == "fashion-mnist" and self.fashion_steps:
            return self.fashion_steps
        if dataset == "mnist" and self.mnist_steps:
            return self.mnist_steps
        return self.image_steps

    def batch_for(self, dataset: str) -> int:
        return self.toy_batch_size if dataset in TOY_DATASETS else self.batch_size

    def as_dict(self) -> dict:
        return asdict(self)


_BUDGETS = {
    "smoke": Budget("smoke", image_steps=20, toy_steps=200, batch_size=64, toy_batch_size=256, seeds=(0,),
                    eval_points=2, sweep_seeds=1),
    "book": Budget("book", image_steps=2000, mnist_steps=5000, toy_steps=2000, batch_size=64, toy_batch_size=256,
                   seeds=(0, 1, 2, 3, 4), eval_points=8, fashion_steps=2000, sweep_seeds=3),
    "full": Budget("full", image_steps=10000, toy_steps=5000, batch_size=64, toy_batch_size=256,
                   seeds=tuple(range(10)), eval_points=10, sweep_seeds=5),
}


def get_budget(name: str | None = None) -> Budget:
    """The budget called ``name``, else the one ``GANLIB_BUDGET`` names, else ``book``."""
    if name is None:
        name = os.environ.get(BUDGET_ENV, "book")
    return _BUDGETS[check_choice(f"budget (from {BUDGET_ENV} or --budget)", name, BUDGET_NAMES)]


def run_seconds(protocol: str, loss: str, steps: int, evals: int) -> float:
    """Estimated one-run-alone seconds of one run on today's trainer (see the module docstring)."""
    return steps * STEP_MS[protocol][loss] / 1000 + evals * EVAL_S
