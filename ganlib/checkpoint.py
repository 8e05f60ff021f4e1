"""Checkpoints: saving, loading and validation of the file that lets a run resume.

A checkpoint is a dict of tensors and plain containers (models, optimisers, RNG state, step, history,
snapshots), written atomically and read with ``torch.load(weights_only=True)`` so an untrusted file
cannot run code. Everything read is then checked (format, keys, types, shapes) before anything uses
it, so a damaged or foreign file is a one-line ``GanlibError``, never a traceback. A checkpoint's meaning
for a run is here too: building it from a ``TrainResult`` (``save_run``), restoring a run from it
(``restore``, ``load_run``) and the run's other files (``write_outputs``).
"""

from __future__ import annotations

import math
import pickle
import sys
import warnings
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import torch

from .config import TrainConfig
from .data import toy_mixture
from .devices import resolve_device
from .errors import GanlibError, TrainingDiverged, first_line
from .files import os_reason, save_json, save_torch
from .images import save_samples
from .step import WEIGHT_LIMIT, Optimisers, TrainResult, new_run

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
    # a field the checkpoint's ganlib did not have yet was at its default (all four aids of chapter 6: off)
    saved = {**_DEFAULTS, **saved}
    differ = sorted(k for k in config if k not in RESUMABLE_CHANGES and _norm(saved.get(k)) != _norm(config[k]))
    if differ:
        pairs = ", ".join(f"{k}: {saved.get(k)!r} there vs {config[k]!r} now" for k in differ)
        raise GanlibError(f"cannot resume {path}: it was trained with other settings ({pairs})")
    if not isinstance(saved.get("steps"), int) or saved["steps"] > config["steps"]:
        raise GanlibError(f"cannot resume {path}: it is set for {saved.get('steps')!r} steps, more than "
                          f"{config['steps']}")
    if config.get("instance_noise") and saved["steps"] != config["steps"]:
        raise GanlibError(f"cannot resume {path} for {config['steps']} steps: its instance noise anneals to 0 over "
                          f"its {saved['steps']} steps; resume it with --steps {saved['steps']}")


_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}


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


def check_finite_weights(result: TrainResult, out: Path | None) -> None:
    """Stop on NaN/Inf or exploded (past ``WEIGHT_LIMIT``) parameters or floating buffers (batch-norm
    running statistics): an update can break them before any loss shows it. One host sync."""
    nets = [result.generator, result.discriminator] + [result.generator_ema] * (result.generator_ema is not None)
    tensors = [t for net in nets for t in (*net.parameters(), *net.buffers()) if t.is_floating_point()]
    with torch.no_grad():
        worst = torch.stack([t.detach().abs().max().float() for t in tensors if t.numel()]).max().item()
    if not worst <= WEIGHT_LIMIT:  # NaN compares false
        what = "non-finite" if not math.isfinite(worst) else f"exploded (|w| = {worst:.3g} > {WEIGHT_LIMIT:g})"
        raise TrainingDiverged(f"loss {result.config.loss!r} diverged: {what} weights or batch-norm statistics "
                               f"after step {result.step}; {describe_kept(out)}")


def save_run(result: TrainResult, opt: Optimisers, gen: torch.Generator, out: Path) -> None:
    """Write a checkpoint, after checking that the weights are sound (never save a diverged run)."""
    check_finite_weights(result, out)
    save_checkpoint(_state(result, opt, gen), out)


def _state(result: TrainResult, opt: Optimisers, gen: torch.Generator) -> dict:
    """What a checkpoint holds: everything a resumed run needs to continue bit for bit (with ``ema``, the
    weight average too, under ``generator_ema``; without it the checkpoint is as it was before the average)."""
    state = {
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
        "cpu_elapsed": result.cpu_elapsed,
    }
    if result.generator_ema is not None:
        state["generator_ema"] = result.generator_ema.state_dict()
    return state


def restore(state: dict, path: Path, result: TrainResult, opt: Optimisers | None = None,
            gen: torch.Generator | None = None) -> None:
    """Load a checkpoint (from ``load_checkpoint(path)``) into a fresh run built from the same config;
    with ``opt`` also the optimiser state and with ``gen`` the random state, so that training continues
    exactly where it stopped. Shapes are checked first: a checkpoint that does not fit is a one-line error."""
    if gen is not None and state["device_type"] != result.device.type:
        raise GanlibError(f"the checkpoint was written on {state['device_type']} and its random state only "
                          f"resumes there; resume with --device {state['device_type']} or start afresh")
    check_tensors(state["generator"], result.generator.state_dict(), "generator", path)
    check_tensors(state["discriminator"], result.discriminator.state_dict(), "discriminator", path)
    if result.generator_ema is not None:
        if not isinstance(state.get("generator_ema"), dict):
            raise GanlibError(f"{path}: it holds no generator weight average, which this config (ema "
                              f"{result.config.ema:g}) needs")
        check_tensors(state["generator_ema"], result.generator_ema.state_dict(), "generator average", path)
    noise = state["fixed_noise"]
    if noise.shape != result.fixed_noise.shape:
        raise GanlibError(f"{path}: its fixed noise has shape {tuple(noise.shape)}, this config needs "
                          f"{tuple(result.fixed_noise.shape)}")
    if any(len(v) != len(noise) for v in state["snapshots"].values()):
        raise GanlibError(f"{path}: a snapshot does not hold {len(noise)} samples")
    result.generator.load_state_dict(state["generator"])
    result.discriminator.load_state_dict(state["discriminator"])
    if result.generator_ema is not None:
        result.generator_ema.load_state_dict(state["generator_ema"])
    if opt is not None:
        check_optimiser(state["opt_g"], opt.g, "generator", path)
        check_optimiser(state["opt_d"], opt.d, "discriminator", path)
    try:
        if opt is not None:
            opt.g.load_state_dict(state["opt_g"])
            opt.d.load_state_dict(state["opt_d"])
        if gen is not None:
            gen.set_state(state["rng"])
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise GanlibError(f"{path}: its optimiser or random state does not fit this run "
                          f"({type(exc).__name__})") from None
    result.step = state["step"]
    result.history = {k: list(v) for k, v in state["history"].items()}
    result.snapshots = {int(k): v for k, v in state["snapshots"].items()}
    result.evals = list(state["evals"])
    result.fixed_noise = noise
    result.elapsed = float(state["elapsed"])
    result.cpu_elapsed = float(state.get("cpu_elapsed", 0.0))  # checkpoints from before it was kept: 0


def write_outputs(result: TrainResult, opt: Optimisers, gen: torch.Generator, out: Path) -> None:
    """checkpoint.pt, history.json (config, history, evaluations) and samples.png, in that order."""
    save_checkpoint(_state(result, opt, gen), out)
    try:
        save_json({"config": result.config.to_dict(), "device": str(result.device), "step": result.step,
                   "elapsed_s": result.elapsed, "cpu_s": result.cpu_elapsed, "history": result.history,
                   "evals": result.evals}, out / HISTORY)
        _save_last_snapshot(result, out / SAMPLES)
    except OSError as exc:
        raise GanlibError(f"could not write the results in {out} ({os_reason(exc)}); the final checkpoint "
                          f"(step {result.step}) is complete: rerun with --resume to write them") from None


def _save_last_snapshot(result: TrainResult, path: Path) -> None:
    """The run's last snapshot as a PNG: an image grid, or the toy's points with its mode centres."""
    cfg, last = result.config, result.snapshots[max(result.snapshots)]
    if cfg.spec.is_toy:
        save_samples(last, path, toy_mixture(cfg.dataset).centres, lim=cfg.toy_scale())
    else:
        save_samples(last, path)



def load_run(run_dir: str | Path, device: str = "cpu") -> TrainResult:
    """Rebuild a trained run from ``run_dir/checkpoint.pt`` for sampling and evaluation."""
    path = Path(run_dir) / CHECKPOINT
    state = load_checkpoint(path)
    cfg = config_from_checkpoint(state, path)
    result, opt, _ = new_run(cfg, resolve_device(device))
    restore(state, path, result, opt)  # the optimiser state too: it is checked, though unused here
    return result


def config_from_checkpoint(state: dict, path: Path) -> TrainConfig:
    """The checkpoint's TrainConfig; a config this ganlib cannot build is a one-line error."""
    try:
        return TrainConfig.from_dict(state["config"])
    except (GanlibError, TypeError, ValueError) as exc:
        raise GanlibError(f"{path}: its config is not valid ({first_line(exc)})") from None
