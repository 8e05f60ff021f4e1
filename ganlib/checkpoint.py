"""Checkpoints: models, optimisers, RNG state, step, history, snapshots; written atomically and read
with ``torch.load(weights_only=True)`` so an untrusted file cannot run code."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .errors import GanlibError, first_line
from .io import save_json, save_torch

if TYPE_CHECKING:
    from .train import TrainConfig, TrainResult, _Optimisers

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"
SAMPLES = "samples.png"
FORMAT = 1
# config fields that may change when a run is resumed: they do not alter what has been trained
_RESUMABLE_CHANGES = {"steps", "device", "snapshot_steps", "check_every", "checkpoint_every", "cuda_graph"}


def load_checkpoint(path: str | Path) -> dict:
    """Read a ganlib checkpoint safely (tensors and plain containers only)."""
    path = Path(path)
    if not path.is_file():
        raise GanlibError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        raise GanlibError(f"{path} is not a readable ganlib checkpoint ({first_line(exc)})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise GanlibError(f"{path} is not a ganlib checkpoint of format {FORMAT}")
    return state


def _state(result: "TrainResult", opt: "_Optimisers", gen: torch.Generator) -> dict:
    return {
        "format": FORMAT,
        "config": result.config.to_dict(),
        "step": result.step,
        "device_type": result.device.type,
        "generator": result.generator.state_dict(),
        "discriminator": result.discriminator.state_dict(),
        "opt_g": opt.g.state_dict(),
        "opt_d": opt.d.state_dict(),
        "rng": gen.get_state(),
        "history": result.history,
        "snapshots": {str(k): v for k, v in result.snapshots.items()},
        "evals": result.evals,
        "fixed_noise": result.fixed_noise,
        "elapsed": result.elapsed,
    }


def save(result: "TrainResult", opt: "_Optimisers", gen: torch.Generator, path: Path) -> None:
    save_torch(_state(result, opt, gen), path)


def prepare_out_dir(out: Path | None, cfg: "TrainConfig", resume: bool, verbose: bool) -> dict | None:
    """Refuse to overwrite an existing run unless resuming; return the checkpoint to resume, if any."""
    if out is None:
        if resume:
            raise GanlibError("resume needs an output folder (--out DIR) holding checkpoint.pt")
        return None
    if out.exists() and not out.is_dir():
        raise GanlibError(f"output path {out} exists and is not a folder")
    path = out / CHECKPOINT
    if not path.exists():
        if resume and verbose:
            print(f"ganlib train: no checkpoint in {out}; starting from step 0", file=sys.stderr)
        return None
    if not resume:
        raise GanlibError(f"{path} already exists; pass --resume to continue it or choose another --out")
    state = load_checkpoint(path)
    _check_same_run(state["config"], cfg, path)
    return state


def _check_same_run(saved: dict, cfg: "TrainConfig", path: Path) -> None:
    now = cfg.to_dict()
    differ = sorted(k for k in now if k not in _RESUMABLE_CHANGES and _norm(saved.get(k)) != _norm(now[k]))
    if differ:
        pairs = ", ".join(f"{k}: {saved.get(k)!r} there vs {now[k]!r} now" for k in differ)
        raise GanlibError(f"cannot resume {path}: it was trained with other settings ({pairs})")
    if saved["steps"] > cfg.steps:
        raise GanlibError(f"cannot resume {path}: it is set for {saved['steps']} steps, more than {cfg.steps}")


def _norm(v: object) -> object:
    return list(v) if isinstance(v, tuple) else v


def restore(state: dict, result: "TrainResult", opt: "_Optimisers | None" = None,
            gen: torch.Generator | None = None) -> None:
    """Load a checkpoint into a fresh run built from the same config; with ``opt`` and ``gen`` also
    the optimiser and random state, so that training continues exactly where it stopped."""
    if gen is not None and state["device_type"] != result.device.type:
        raise GanlibError(f"the checkpoint was written on {state['device_type']} and its random state only "
                          f"resumes there; resume with --device {state['device_type']} or start afresh")
    result.generator.load_state_dict(state["generator"])
    result.discriminator.load_state_dict(state["discriminator"])
    if opt is not None and gen is not None:
        opt.g.load_state_dict(state["opt_g"])
        opt.d.load_state_dict(state["opt_d"])
        gen.set_state(state["rng"])
    result.step = state["step"]
    result.history = {k: list(v) for k, v in state["history"].items()}
    result.snapshots = {int(k): v for k, v in state["snapshots"].items()}
    result.evals = list(state["evals"])
    result.fixed_noise = state["fixed_noise"]
    result.elapsed = state["elapsed"]


def describe_kept(out: Path | None) -> str:
    """What a diverged run leaves behind, for its error message."""
    if out is None or not (out / CHECKPOINT).exists():
        return "no checkpoint was written (give an output folder and checkpoint_every to keep one)"
    step = load_checkpoint(out / CHECKPOINT)["step"]
    return f"the last good checkpoint is kept at {out / CHECKPOINT} (step {step})"


def write_outputs(result: "TrainResult", opt: "_Optimisers", gen: torch.Generator, out: Path) -> None:
    """checkpoint.pt, history.json (config, history, evaluations) and samples.png."""
    from .plot import save_samples

    save(result, opt, gen, out / CHECKPOINT)
    save_json({"config": result.config.to_dict(), "device": str(result.device), "step": result.step,
               "elapsed_s": result.elapsed, "history": result.history, "evals": result.evals},
              out / HISTORY)
    save_samples(result, out / SAMPLES)


def load_run(run_dir: str | Path, device: str = "cpu") -> "TrainResult":
    """Rebuild a trained run from ``run_dir/checkpoint.pt`` for sampling and evaluation."""
    from .train import TrainConfig, new_run, resolve_device

    state = load_checkpoint(Path(run_dir) / CHECKPOINT)
    cfg = TrainConfig.from_dict(state["config"])
    dev = resolve_device(device)
    result, _, _ = new_run(cfg, dev)
    restore(state, result)
    return result
