"""Training budgets: one environment variable, ``GANLIB_BUDGET``, sizes every run in the book.

``smoke`` is for CI (seconds per chapter), ``book`` produces the stored outputs the book shows,
``full`` is for readers with a GPU and time.

The ``book`` comparison grid is trained on a 2-core CPU, two runs at once (one process and one thread
each), and must fit 14 hours of that machine. ``python -m ganlib compare --pilot`` times every kind of
run of the grid and prints the estimate; ``STEP_MS`` holds what it measured, so that a comparison can
plan its runs before any run of a kind has finished (``ganlib.compare_plan`` then uses the finished runs'
own seconds). Where the grid did not fit, it was cut in this order: the paper protocol's seeds 5 → 3,
MNIST's generator steps 5,000 → 3,000, then the seeds of the critic-normalisation factor 3 → 2; the
controlled protocol's 5 seeds and the sweep's 3 rates stay.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from .datasets import dataset_spec
from .errors import check_choice

BUDGET_ENV = "GANLIB_BUDGET"
BUDGET_NAMES: tuple[str, ...] = ("smoke", "book", "full")
# milliseconds per generator step on the project's 2-core CPU, two runs at once (one thread each), by
# (protocol, critic normalisation of the normalisation factor or None) and loss: ``compare --pilot``
STEP_MS: dict[tuple[str, str | None], dict[str, float]] = {
    ("paper", None): {"minimax": 205, "nonsaturating": 203, "wgan": 644, "wgan-gp": 1177, "lsgan": 202, "hinge": 212},
    ("controlled", None): {"minimax": 196, "nonsaturating": 191, "wgan": 201, "wgan-gp": 306, "lsgan": 206,
                           "hinge": 194},
    # the other four losses' batch-norm runs are their paper runs (ganlib.compare_plan.shared_runs)
    ("controlled", "batch"): {"minimax": 205, "nonsaturating": 203, "wgan": 190, "lsgan": 202, "hinge": 212},
    ("controlled", "spectral"): {"minimax": 198, "nonsaturating": 205, "wgan": 186, "wgan-gp": 295, "lsgan": 188,
                                 "hinge": 188},
}
# seconds of one evaluation, on average over a run's: 5,000 images through G and the classifier and the
# FCD along the run (2.3 s on one thread), 10,000 at its end (4.4 s)
EVAL_S = 2.7


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
    norm_seeds: int = 0  # seeds of the critic-normalisation factor (the first ones of ``seeds``)
    paper_seeds: int | None = None  # seeds of the paper protocol on the image datasets (None: all)
    fashion_seeds: int | None = None  # seeds of both protocols on Fashion-MNIST (None: all)

    def steps_for(self, dataset: str) -> int:
        """Generator steps of a comparison run on ``dataset``."""
        if dataset_spec(dataset).is_toy:
            return self.toy_steps
        if dataset == "fashion-mnist" and self.fashion_steps:
            return self.fashion_steps
        if dataset == "mnist" and self.mnist_steps:
            return self.mnist_steps
        return self.image_steps

    def seed_count(self, variant: str, dataset: str) -> int:
        """How many seeds (the first ones) one experiment (``protocols.Experiment.variant``) on ``dataset``
        trains: ``sweep_seeds`` for a swept rate, ``norm_seeds`` for a critic normalisation of the factor,
        ``fashion_seeds`` on Fashion-MNIST, ``paper_seeds`` for the paper protocol on images, else all."""
        if "-lr" in variant:
            return self.sweep_seeds
        if "-norm-" in variant:
            return self.norm_seeds
        if dataset == "fashion-mnist" and self.fashion_seeds:
            return self.fashion_seeds
        if variant == "paper" and dataset_spec(dataset).is_image and self.paper_seeds:
            return self.paper_seeds
        return len(self.seeds)

    def batch_for(self, dataset: str) -> int:
        return self.toy_batch_size if dataset_spec(dataset).is_toy else self.batch_size

    def as_dict(self) -> dict:
        return asdict(self)


_BUDGETS = {
    "smoke": Budget("smoke", image_steps=20, toy_steps=200, batch_size=64, toy_batch_size=256, seeds=(0,),
                    eval_points=2, sweep_seeds=1, norm_seeds=1),
    "book": Budget("book", image_steps=2000, mnist_steps=3000, toy_steps=2000, batch_size=64, toy_batch_size=256,
                   seeds=(0, 1, 2, 3, 4), eval_points=6, fashion_steps=2000, sweep_seeds=3, norm_seeds=2,
                   paper_seeds=3, fashion_seeds=3),
    "full": Budget("full", image_steps=10000, toy_steps=5000, batch_size=64, toy_batch_size=256,
                   seeds=tuple(range(10)), eval_points=10, sweep_seeds=5, norm_seeds=5),
}


def get_budget(name: str | None = None) -> Budget:
    """The budget called ``name``, else the one ``GANLIB_BUDGET`` names, else ``book``."""
    if name is None:
        name = os.environ.get(BUDGET_ENV, "book")
    return _BUDGETS[check_choice(f"budget (from {BUDGET_ENV} or --budget)", name, BUDGET_NAMES)]


def run_seconds(protocol: str, loss: str, steps: int, evals: int, d_norm: str | None = None) -> float:
    """Estimated seconds of one run in the grid's process layout (``STEP_MS``, ``EVAL_S``)."""
    return steps * STEP_MS[(protocol, d_norm)][loss] / 1000 + evals * EVAL_S
