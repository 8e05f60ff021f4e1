"""Checkpoints: saving, loading and validation of the file that lets a run resume.

A checkpoint is a dict of tensors and plain containers (models, optimisers, RNG state, step, history,
snapshots), written atomically and read with ``torch.load(weights_only=True)`` so an untrusted file
cannot run code. Everything read is then checked (format, keys, types, shapes) before anything uses
it, so a damaged or foreign file is a one-line ``GanlibError``, never a traceback. What a checkpoint
means for a run (building it from a TrainResult, restoring one) lives in ``train``; this module knows
only the file.
"""

from __future__ import annotations

import pickle
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from .errors import GanlibError, first_line
from .files import os_reason, save_torch

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"
SAMPLES = "samples.png"
FORMAT = 1
# config fields that may change when a run is resumed: they do not alter what has been trained
RESUMABLE_CHANGES = frozenset({"steps", "device", "snapshot_steps", "check_every", "checkpoint_every", "cuda_graph"})
# every key a checkpoint holds, with the type its value must have
_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": int, "config": dict, "step": int, "device_type": str, "generator": dict, "discriminator": dict,
    "opt_g": dict, "opt_d": dict, "rng": torch.Tensor, "history": dict, "snapshots": dict, "evals": list,
    "fixed_noise": torch.Tensor, "elapsed": (int, float)}
# config fields every format-1 checkpoint has (fields added later take their defaults when missing)
_CONFIG_KEYS: tuple[str, ...] = ("loss", "dataset", "steps", "batch_size", "seed")


def load_checkpoint(path: str | Path) -> dict:
    """Read a ganlib checkpoint safely (tensors and plain containers only) and check its structure."""
    path = Path(path)
    if not path.is_file():
        raise GanlibError(f"no checkpoint at {path}")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols on stderr; the error says enough
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message advises weights_only=False, which would run the file's code: never repeat it
        raise GanlibError(f"{path} is not a readable ganlib checkpoint: not a file of tensors and plain "
                          f"containers (damaged, or holding other objects, which are refused without running "
                          f"them)") from None
    except Exception as exc:  # noqa: BLE001  torch's parsers raise anything (IndexError, KeyError, ...) on bad bytes
        raise GanlibError(f"{path} is not a readable ganlib checkpoint (truncated or not a torch file: "
                          f"{_short(exc)})") from None
    validate(state, path)
    return state


def _short(exc: BaseException) -> str:
    text = first_line(exc)
    return type(exc).__name__ if "weights_only" in text else text


def validate(state: object, path: Path) -> None:
    """Check a loaded checkpoint's format, keys, value types and history; a one-line error otherwise."""
    if not isinstance(state, dict):
        raise GanlibError(f"{path} is not a ganlib checkpoint (it holds a {type(state).__name__}, not a dict)")
    if state.get("format") != FORMAT:
        raise GanlibError(f"{path} is not a ganlib checkpoint of format {FORMAT} (format {state.get('format')!r})")
    missing = [k for k in _KEYS if k not in state]
    if missing:
        raise GanlibError(f"{path} is not a complete ganlib checkpoint: it lacks {', '.join(missing)}")
    for key, kind in _KEYS.items():
        if not isinstance(state[key], kind) or (kind is int and isinstance(state[key], bool)):
            raise GanlibError(f"{path}: '{key}' is a {type(state[key]).__name__}, not what a ganlib checkpoint holds")
    lacking = [k for k in _CONFIG_KEYS if k not in state["config"]]
    if lacking:
        raise GanlibError(f"{path}: its config lacks {', '.join(lacking)}")
    for key in ("generator", "discriminator"):
        if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state[key].items()):
            raise GanlibError(f"{path}: '{key}' is not a dict of named tensors")
    for key in ("opt_g", "opt_d"):
        if not isinstance(state[key].get("state"), dict) or not isinstance(state[key].get("param_groups"), list):
            raise GanlibError(f"{path}: '{key}' is not an optimiser state (it needs 'state' and 'param_groups')")
    if not all(isinstance(v, torch.Tensor) for v in state["snapshots"].values()):
        raise GanlibError(f"{path}: 'snapshots' is not a dict of tensors")
    _check_history(state["history"], state["step"], path)


def _check_history(history: dict, step: int, path: Path) -> None:
    """Every step exactly once: the history's 'step' column is 1..step and every column has that length."""
    steps = history.get("step")
    if not isinstance(steps, list) or steps != list(range(1, step + 1)):
        raise GanlibError(f"{path}: the history does not hold steps 1..{step} exactly once")
    bad = [k for k, v in history.items() if not isinstance(v, list) or len(v) != step]
    if bad:
        raise GanlibError(f"{path}: history column(s) {', '.join(map(str, bad))} do not hold {step} values")


def check_tensors(saved: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor], what: str,
                  path: Path) -> None:
    """``saved`` must have exactly ``expected``'s names and shapes (a model's state_dict, say)."""
    missing, extra = sorted(set(expected) - set(saved)), sorted(set(saved) - set(expected))
    if missing or extra:
        parts = ([f"missing {', '.join(missing[:3])}"] if missing else []) + (
            [f"unexpected {', '.join(extra[:3])}"] if extra else [])
        raise GanlibError(f"{path}: the {what} does not fit this config ({'; '.join(parts)})")
    for name, tensor in expected.items():
        if saved[name].shape != tensor.shape:
            raise GanlibError(f"{path}: the {what}'s {name} has shape {tuple(saved[name].shape)}, this config "
                              f"needs {tuple(tensor.shape)}")


def check_optimiser(saved: dict, opt: torch.optim.Optimizer, what: str, path: Path) -> None:
    """The saved optimiser state must fit ``opt``: same groups, and moments shaped like the parameters."""
    params = [p for group in opt.param_groups for p in group["params"]]
    groups = saved["param_groups"]
    if len(groups) != len(opt.param_groups) or sum(len(g.get("params", ())) for g in groups) != len(params):
        raise GanlibError(f"{path}: the {what} optimiser state does not fit this config's network")
    for index, entry in saved["state"].items():
        if not isinstance(index, int) or not 0 <= index < len(params) or not isinstance(entry, dict):
            raise GanlibError(f"{path}: the {what} optimiser state names no parameter {index!r}")
        for key, value in entry.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != params[index].shape:
                raise GanlibError(f"{path}: the {what} optimiser's {key} for parameter {index} has shape "
                                  f"{tuple(value.shape)}, the parameter {tuple(params[index].shape)}")


def save_checkpoint(state: dict, out: Path) -> None:
    """Write ``state`` to ``out/checkpoint.pt`` atomically; a failed write is a one-line error that says
    what is kept (the previous checkpoint, intact, or none); no temporary file stays behind."""
    path = out / CHECKPOINT
    try:
        save_torch(state, path)
    except OSError as exc:
        raise GanlibError(f"could not write {path} ({os_reason(exc)}); {describe_kept(out)}") from None


def prepare_out_dir(out: Path | None, config: dict, resume: bool, verbose: bool) -> dict | None:
    """Refuse to overwrite an existing run unless resuming; return the checkpoint to resume, if any.

    ``config`` is the new run's ``TrainConfig.to_dict()``; a resumed checkpoint must have been trained
    with the same settings, apart from ``RESUMABLE_CHANGES``.
    """
    if out is None:
        if resume:
            raise GanlibError("resume needs an output folder (--out DIR) holding checkpoint.pt")
        return None
    path = out / CHECKPOINT
    if not path.exists():
        others = [name for name in (HISTORY, SAMPLES) if (out / name).exists()]
        if others:  # results without the checkpoint that made them: never overwritten, never resumed
            raise GanlibError(f"{out} holds {', '.join(others)} but no {CHECKPOINT}, so it cannot be resumed "
                              f"and is not overwritten; move it away or choose another --out")
        if resume and verbose:
            print(f"ganlib train: no checkpoint in {out}; starting from step 0", file=sys.stderr)
        return None
    if not resume:
        raise GanlibError(f"{path} already exists; pass --resume to continue it or choose another --out")
    state = load_checkpoint(path)
    check_same_run(state["config"], config, path)
    return state


def check_same_run(saved: dict, config: dict, path: Path) -> None:
    """A checkpoint resumes only with the settings it was trained with (``RESUMABLE_CHANGES`` apart)."""
    differ = sorted(k for k in config if k not in RESUMABLE_CHANGES and _norm(saved.get(k)) != _norm(config[k]))
    if differ:
        pairs = ", ".join(f"{k}: {saved.get(k)!r} there vs {config[k]!r} now" for k in differ)
        raise GanlibError(f"cannot resume {path}: it was trained with other settings ({pairs})")
    if not isinstance(saved.get("steps"), int) or saved["steps"] > config["steps"]:
        raise GanlibError(f"cannot resume {path}: it is set for {saved.get('steps')!r} steps, more than "
                          f"{config['steps']}")


def _norm(v: object) -> object:
    return list(v) if isinstance(v, tuple) else v


def describe_kept(out: Path | None) -> str:
    """What a failed or diverged run leaves behind, for its error message (checked, not assumed)."""
    if out is None:
        return "no checkpoint was written (give an output folder to keep one)"
    if not (out / CHECKPOINT).exists():
        return f"no checkpoint was written in {out} yet"
    try:
        step = load_checkpoint(out / CHECKPOINT)["step"]
    except GanlibError as exc:
        return f"the checkpoint there is not usable ({exc})"
    return f"the last good checkpoint is kept at {out / CHECKPOINT} (step {step})"
