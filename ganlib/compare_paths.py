"""Where a comparison keeps its files, relative to its output folder (compare, report, widgets, fetch).

    results.json                                      the results (``RESULTS``)
    runs/<dataset>/<loss>/seed<s>/                    a paper-protocol run (checkpoint, history, marker;
                                                      a toy run also its final samples, ``POINTS``)
    runs/<variant>/<dataset>/<loss>/seed<s>/          a run of another variant (controlled, controlled-lr…)
    samples/<dataset>_<loss>_seed<s>_step<t>.png      a paper run's 6×6 fixed-noise grid at step t
    samples/<variant>/<dataset>_<loss>_seed<s>_step<t>.png

The paper protocol keeps the layout of the comparisons made before the protocols existed, so their
stored results still find their sample grids.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = "results.json"
DONE = "done.json"  # a run's completion marker: written last, holds the run's record
# a toy run's final fixed-noise points, which report draws: the checkpoint holds them too, but a finished
# run copied from another machine may come without its checkpoint (compare reads it back from its record)
POINTS = "points.json"
PAPER = "paper"


def run_dir(out: str | Path, dataset: str, loss: str, seed: int, variant: str = PAPER) -> Path:
    """The folder of one run of the grid."""
    base = Path(out) / "runs"
    return (base if variant == PAPER else base / variant) / dataset / loss / f"seed{seed}"


def sample_png(out: str | Path, dataset: str, loss: str, seed: int, step: int, variant: str = PAPER) -> Path:
    """The fixed-noise sample grid of one run at one evaluation step."""
    base = Path(out) / "samples"
    return (base if variant == PAPER else base / variant) / f"{dataset}_{loss}_seed{seed}_step{step}.png"
