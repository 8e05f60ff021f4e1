"""``python -m ganlib COMMAND``: train a GAN (and, from other modules, evaluate and compare runs).

Every error the user can cause is printed as one line ``ganlib: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .cli_args import checked, nonnegative_int, positive_int
from .datasets import DATASETS
from .devices import check_device
from .errors import GanlibError, TrainingDiverged, TrainingInterrupted
from .losses import LOSS_NAMES

# modules that add subcommands: each has add_parser(subparsers) and sets args.func
_COMMAND_MODULES: tuple[str, ...] = ("ganlib.compare_cli", "ganlib.bench", "ganlib.metrics_cli", "ganlib.one_setting")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument on one line, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one GAN and write checkpoint.pt, history.json, samples.png",
                       description="Train one GAN with one of the six losses and its paper recipe.")
    p.add_argument("--loss", required=True, choices=LOSS_NAMES, metavar="NAME",
                   help=f"the loss: {', '.join(LOSS_NAMES)}")
    p.add_argument("--dataset", default="mnist", choices=DATASETS, metavar="NAME",
                   help=f"training data: {', '.join(DATASETS)} (default mnist; offline root from GANLIB_DATA)")
    p.add_argument("--steps", type=positive_int, default=500, help="generator steps (default 500)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="batch size (default 64)")
    p.add_argument("--seed", type=nonnegative_int, default=0,
                   help="random seed (default 0); same seed, same run on CPU")
    p.add_argument("--device", default="auto", type=checked(check_device), metavar="NAME",
                   help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt")
    p.add_argument("--checkpoint-every", type=positive_int, default=None, metavar="N",
                   help="also write a checkpoint every N steps (always: at the start, every 60 s and at the end)")
    p.add_argument("--progress", action="store_true", help="show a progress bar even when not on a terminal")
    p.add_argument("--cuda-graph", action="store_true", help="replay the whole step as one CUDA graph (CUDA only)")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> None:
    from .config import TrainConfig
    from .loop import train

    n = args.steps
    cfg = TrainConfig(loss=args.loss, dataset=args.dataset, steps=n, batch_size=args.batch_size, seed=args.seed,
                      device=args.device, snapshot_steps=(0, n // 4, n // 2, n),
                      checkpoint_every=args.checkpoint_every or 0, cuda_graph=args.cuda_graph)
    result = train(cfg, args.out, resume=args.resume, progress=args.progress or None)
    print(f"ganlib train: done, step {result.step} in {result.elapsed:.1f} s; wrote {args.out}/checkpoint.pt, "
          f"history.json, samples.png; next: python -m ganlib evaluate {args.out}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m ganlib", description="GAN Loss Lab: train and compare GAN losses.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_train(sub)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (GanlibError, TrainingDiverged) as exc:
        print(f"ganlib: error: {exc}", file=sys.stderr)
        return 2
    except TrainingInterrupted as exc:  # SIGINT/SIGTERM during training: it says what it saved
        print(f"ganlib: {exc}", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("ganlib: interrupted; files already written are complete (every write is atomic)", file=sys.stderr)
        return 130
    return 0
