"""``python -m ganlib bench``: training throughput of every loss on this machine (generator steps/s).

Timing starts after warm-up steps and ends after a device synchronisation, so queued GPU work is
counted. The same networks and batch as the comparison.
"""

from __future__ import annotations

import sys
import time

import torch

from .data import make_sampler
from .losses import LOSS_NAMES
from .train import TrainConfig, TrainStep, new_run, resolve_device


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(loss: str, dataset: str = "mnist", steps: int = 50, warmup: int = 5, batch_size: int = 64,
               device: str = "auto", data_root=None) -> dict:
    """Generator steps per second and images per second of one loss's training step."""
    cfg = TrainConfig(loss=loss, dataset=dataset, steps=steps, batch_size=batch_size, device=device)
    dev = resolve_device(device)
    result, opt, gen = new_run(cfg, dev)
    step = TrainStep(result, opt, make_sampler(dataset, dev, data_root, verbose=False), gen)
    for _ in range(warmup):
        step()
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(dev)
    dt = time.perf_counter() - t0
    return {"loss": loss, "device": str(dev), "steps_per_s": steps / dt, "images_per_s": steps * batch_size / dt,
            "ms_per_step": 1000 * dt / steps}


def add_parser(sub) -> None:
    from .cli import positive_int

    p = sub.add_parser("bench", help="measure training steps per second of each loss",
                       description="Throughput of the training step (generator step with its critic steps).")
    p.add_argument("--losses", default="all", help="comma list or 'all'")
    p.add_argument("--dataset", default="mnist", help="mnist or fashion-mnist or a toy (default mnist)")
    p.add_argument("--steps", type=positive_int, default=50, help="timed generator steps per loss (default 50)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.set_defaults(func=_cmd)


def _cmd(args) -> None:
    from .cli import choice_list

    losses = choice_list(args.losses, LOSS_NAMES, "loss")
    print(f"ganlib bench: {args.dataset}, batch {args.batch_size}, {args.steps} timed steps, "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads", file=sys.stderr)
    for loss in losses:
        r = throughput(loss, args.dataset, args.steps, batch_size=args.batch_size, device=args.device)
        print(f"{loss:14s} {r['device']:6s} {r['ms_per_step']:8.2f} ms/step {r['images_per_s']:10.0f} images/s",
              flush=True)
