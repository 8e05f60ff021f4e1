"""Training budgets: one environment variable, ``GANLIB_BUDGET``, sizes every run in the book.

``smoke`` is for CI (seconds per chapter), ``book`` produced the stored outputs the book shows,
``full`` is for readers with a GPU.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from .errors import check_choice

BUDGET_ENV = "GANLIB_BUDGET"
BUDGET_NAMES: tuple[str, ...] = ("smoke", "book", "full")


@dataclass(frozen=True)
class Budget:
    """How much training every experiment of the course gets."""

    name: str
    image_steps: int  # generator steps on MNIST / Fashion-MNIST
    toy_steps: int  # generator steps on the 2-D mixtures
    batch_size: int  # images
    toy_batch_size: int  # 2-D points: cheap, and small batches let the toy generators escape the data
    seeds: tuple[int, ...]  # seeds of the loss comparison
    eval_points: int  # evaluations during a comparison run (the last one at the final step)
    eval_samples: int  # generated images per evaluation

    def as_dict(self) -> dict:
        return asdict(self)


_BUDGETS = {
    "smoke": Budget("smoke", image_steps=20, toy_steps=200, batch_size=64, toy_batch_size=256, seeds=(0,),
                    eval_points=2, eval_samples=500),
    "book": Budget("book", image_steps=2000, toy_steps=2000, batch_size=64, toy_batch_size=256, seeds=(0, 1, 2),
                   eval_points=5, eval_samples=5000),
    "full": Budget("full", image_steps=10000, toy_steps=5000, batch_size=64, toy_batch_size=256, seeds=(0, 1, 2, 3, 4),
                   eval_points=10, eval_samples=10000),
}


def get_budget(name: str | None = None) -> Budget:
    """The budget called ``name``, else the one ``GANLIB_BUDGET`` names, else ``book``."""
    if name is None:
        name = os.environ.get(BUDGET_ENV, "book")
    return _BUDGETS[check_choice(f"budget (from {BUDGET_ENV} or --budget)", name, BUDGET_NAMES)]
