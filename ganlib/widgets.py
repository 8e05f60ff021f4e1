"""The comparison explorer: pick loss, seed and training step; see the fixed-noise sample grid and its
metrics. Built from ipywidgets, so it runs live in Jupyter and Colab, and its saved state renders in
the built book (showing the selection it was saved with)."""

from __future__ import annotations

import html
from pathlib import Path

from .compare import sample_png
from .losses import LOSS_NAMES
from .report import block as experiment_block


def _metrics_html(rec: dict, step: int) -> str:
    ev = next((e for e in rec.get("evals", []) if e["step"] == step), None)
    if ev is None:
        return "<p>no evaluation at this step</p>"
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.3f}</td></tr>" if isinstance(v, float) else
                   f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in ev.items())
    return f"<table>{rows}</table>"


def explorer(results: dict, out: str | Path, dataset: str = "mnist", loss: str = "nonsaturating"):
    """An interactive view of a comparison's sample grids (``out`` holds its samples/ folder),
    opening on ``loss`` (the first loss of the comparison if that one is not in it)."""
    import ipywidgets as W

    block = experiment_block(results, dataset)  # the paper protocol
    runs = {(r["loss"], r["seed"]): r for r in block["runs"] if "evals" in r}
    losses = [name for name in LOSS_NAMES if any(k[0] == name for k in runs)]
    seeds = sorted({k[1] for k in runs})
    steps = [e["step"] for e in next(iter(runs.values()))["evals"]]
    loss_w = W.Dropdown(options=losses, value=loss if loss in losses else losses[0], description="loss")
    seed_w = W.Dropdown(options=seeds, value=seeds[0], description="seed")
    step_w = W.SelectionSlider(options=steps, value=steps[-1], description="step", continuous_update=False)
    image = W.Image(format="png", width=220, height=220)
    info = W.HTML()

    def update(*_):
        rec = runs.get((loss_w.value, seed_w.value))
        path = sample_png(Path(out), dataset, loss_w.value, seed_w.value, step_w.value)
        image.value = path.read_bytes() if path.exists() else b""
        info.value = _metrics_html(rec, step_w.value) if rec else "<p>this run diverged</p>"

    for w in (loss_w, seed_w, step_w):
        w.observe(update, names="value")
    update()
    return W.VBox([W.HBox([loss_w, seed_w]), step_w, W.HBox([image, info])])
