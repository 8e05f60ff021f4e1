"""The comparison explorer: pick loss, seed and training step; see that run's fixed-noise sample grid and
its metrics at that step.

It is one self-contained piece of HTML (the grids embedded as data URIs, the metric tables pre-rendered,
a few lines of JavaScript that swap them), so the same output works live in Jupyter and Colab and in the
static HTML book, where no kernel runs. Without JavaScript (an untrusted notebook) it shows the selection
it was made with, its controls disabled, so controls and picture never disagree.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

from .compare_paths import sample_png
from .errors import GanlibError, check_choice
from .language import tr
from .losses import LOSS_NAMES
from .report import experiment

CSS_CLASS = "ganlib-explorer"  # the browser test finds explorers by this class

# Scoped by the class; colours inherited, so the page's light or dark theme applies.
_STYLE = f"""
.{CSS_CLASS} fieldset {{ border: 0; padding: 0; margin: 0 0 .5em; display: flex; flex-wrap: wrap; gap: .4em 1.2em;
  align-items: center; }}
.{CSS_CLASS} .ganlib-view {{ display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }}
.{CSS_CLASS} img {{ width: 220px; height: 220px; image-rendering: pixelated; }}
.{CSS_CLASS} table {{ border-collapse: collapse; }}
.{CSS_CLASS} td {{ padding: .1em .6em; border-bottom: 1px solid rgba(128, 128, 128, .35); }}
.{CSS_CLASS} td:last-child {{ text-align: right; font-variant-numeric: tabular-nums; }}
"""

# Finds its own root (the script's parent; by id where currentScript is unavailable), then swaps the picture
# and the table on every change of a control.
_SCRIPT = """
(function () {
  var root = (document.currentScript && document.currentScript.parentElement) || document.getElementById("%s");
  var data = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  var loss = root.querySelector("select[name=loss]"), seed = root.querySelector("select[name=seed]");
  var step = root.querySelector("input[name=step]"), label = root.querySelector("output[name=step-label]");
  var img = root.querySelector("img"), info = root.querySelector(".ganlib-metrics");
  function update() {
    var i = Number(step.value), run = data.runs[loss.value + "|" + seed.value];
    label.textContent = data.steps[i];
    img.hidden = !run;
    if (run) {
      img.src = data.images[run.images[i]];
      img.alt = data.alt.replace("{loss}", loss.value).replace("{seed}", seed.value).replace("{step}", data.steps[i]);
    }
    info.innerHTML = run ? run.tables[i] : data.diverged;
  }
  [loss, seed, step].forEach(function (c) { c.addEventListener("input", update); });
  root.querySelector("fieldset").disabled = false;
  update();
})();
"""


@dataclass(frozen=True, repr=False)
class Explorer:
    """The explorer's HTML; Jupyter, Colab and the book display it through ``_repr_html_``."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:  # the plain-text output beside the HTML: short, not megabytes of it
        return "<ganlib explorer: an HTML view, shown by Jupyter, Colab and the book>"


def metrics_table(ev: dict) -> str:
    """One evaluation's metrics as a small HTML table (floats to three decimals)."""
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.3f}</td></tr>" if isinstance(v, float) else
                   f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in ev.items() if k != "step")
    return f"<table>{rows}</table>"


def _data_uri(path: Path) -> str:
    if not path.exists():
        raise GanlibError(f"explorer: sample grid {path.name} is missing from the comparison's samples/ folder")
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def explorer_data(results: dict, out: str | Path, dataset: str = "mnist", variant: str = "paper") -> dict:
    """What the explorer shows of one experiment (``variant``): losses, seeds and steps to choose from, every
    run's grid per step (as indices into one list of distinct images, since runs may share a grid) and metric
    tables."""
    check_choice("dataset", dataset, tuple(results["datasets"]))
    block = experiment(results, dataset, variant)
    runs = {(r["loss"], r["seed"]): r for r in block["runs"] if "evals" in r}
    if not runs:
        raise GanlibError(f"explorer: no finished {dataset} run in these results (all diverged?)")
    steps = [e["step"] for e in next(iter(runs.values()))["evals"]]
    images: list[str] = []
    index: dict[str, int] = {}
    table: dict[str, dict] = {}
    for (loss, seed), rec in runs.items():
        by_step = {e["step"]: e for e in rec["evals"]}
        ids = []
        for step in steps:
            uri = _data_uri(sample_png(Path(out), dataset, loss, seed, step, variant))
            ids.append(index.setdefault(uri, len(images)))
            if ids[-1] == len(images):
                images.append(uri)
        missing = f"<p>{html.escape(tr('no evaluation at this step'))}</p>"
        tables = [metrics_table(by_step[s]) if s in by_step else missing for s in steps]
        table[f"{loss}|{seed}"] = {"images": ids, "tables": tables}
    return {"losses": [name for name in LOSS_NAMES if any(k[0] == name for k in runs)],
            "seeds": sorted({r["seed"] for r in block["runs"]}), "steps": steps, "images": images,
            "runs": table, "diverged": diverged_note(),
            "alt": tr("samples of {loss}, seed {seed}, step {step}")}


def diverged_note() -> str:
    """What the explorer shows in place of a diverged run's metrics."""
    return f"<p>{html.escape(tr('this run diverged: no samples'))}</p>"


def _select(name: str, label: str, options: list, value) -> str:
    opts = "".join(f'<option value="{html.escape(str(o))}"{" selected" if o == value else ""}>{html.escape(str(o))}'
                   f"</option>" for o in options)
    return f'<label>{html.escape(label)} <select name="{name}">{opts}</select></label>'


def explorer(results: dict, out: str | Path, dataset: str = "mnist", loss: str = "nonsaturating",
             variant: str = "paper") -> Explorer:
    """An interactive view of one experiment's sample grids (``out`` holds its samples/ folder), opening on
    ``loss`` (the first loss of the comparison if that one is not in it), the first seed and the last step."""
    data = explorer_data(results, out, dataset, variant)
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # cannot close its <script>
    uid = f"{CSS_CLASS}-{hashlib.sha256(payload.encode()).hexdigest()[:12]}"
    loss = loss if loss in data["losses"] else data["losses"][0]
    seed, last = data["seeds"][0], len(data["steps"]) - 1
    run = data["runs"].get(f"{loss}|{seed}")
    picture = (f'<img src="{data["images"][run["images"][last]]}" '
               f'alt="{html.escape(data["alt"].format(loss=loss, seed=seed, step=data["steps"][last]))}">'
               if run else "<img hidden alt=''>")
    controls = (f'<fieldset disabled>{_select("loss", tr("loss"), data["losses"], loss)}'
                f'{_select("seed", tr("seed"), data["seeds"], seed)}'
                f'<label>{html.escape(tr("step"))} '
                f'<input type="range" name="step" min="0" max="{last}" value="{last}"> '
                f'<output name="step-label">{data["steps"][last]}</output></label></fieldset>')
    view = (f'<div class="ganlib-view">{picture}<div class="ganlib-metrics">'
            f'{run["tables"][last] if run else data["diverged"]}</div></div>')
    return Explorer(f'<div class="{CSS_CLASS}" id="{uid}"><style>{_STYLE}</style>{controls}{view}'
                    f'<script type="application/json">{payload}</script><script>{_SCRIPT % uid}</script></div>')
