"""``python -m ganlib evaluate DIR`` and ``python -m ganlib train-classifier``: the metrics' commands."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from .cli_args import checked, nonnegative_int, positive_int
from .data import TITLES
from .datasets import IMAGE_DATASETS, dataset_spec
from .errors import GanlibError

# what an FCD printed by ``evaluate`` compares with: the first 10,000 images of the train split scored
# against the reference (the test split), and one finished run of chapter 7's stored comparison
# (book/results/grid, controlled protocol, batch 64, seed 0); tests/test_metrics.py recomputes the first and
# reads the second from the stored results
REAL_FCD = {"mnist": 1.2, "fashion-mnist": 0.4}
TRAINED_FCD = {"mnist": ("nonsaturating", 3000, 61.9), "fashion-mnist": ("minimax", 2000, 80.9)}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` and ``train-classifier`` to the ``python -m ganlib`` subcommands."""
    from .devices import check_device

    p = sub.add_parser("evaluate", help="compute the sample-quality metrics of a trained run, write DIR/metrics.json",
                       description="Load DIR/checkpoint.pt, generate samples and compute every metric that "
                                   "applies (images: FCD and mode coverage; toys: modes covered and "
                                   "high-quality share); print them and write DIR/metrics.json.")
    p.add_argument("run_dir", metavar="DIR", help="a run folder written by python -m ganlib train")
    p.add_argument("--samples", type=positive_int, default=None, metavar="N",
                   help="generated samples (default 10000 images, the N of every FCD ganlib reports, "
                        "or 2500 toy points)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the sampling noise (default 0)")
    p.add_argument("--device", default="cpu", type=checked(check_device), metavar="NAME",
                   help="auto, cpu, cuda, cuda:N or mps for the generator and classifier (default cpu)")
    p.set_defaults(func=_cmd_evaluate)

    q = sub.add_parser("train-classifier", help="train the metrics' classifier; write ganlib/weights/<dataset>.pt",
                       description="Train the small CNN behind the metrics and write its weights, a JSON "
                                   "record (data, split, seed, command, held-out accuracy) and the FCD reference "
                                   "statistics beside them. It trains on the first 55,000 images of the train split "
                                   "and holds out the last 5,000; the test split is the FCD reference.")
    q.add_argument("--dataset", required=True, choices=IMAGE_DATASETS, metavar="NAME",
                   help=f"{' or '.join(IMAGE_DATASETS)} (offline root from GANLIB_DATA)")
    q.add_argument("--epochs", type=positive_int, default=None, help="epochs (default 5)")
    q.add_argument("--seed", type=nonnegative_int, default=0,
                   help="seed of initialisation, shuffling, augmentation (default 0)")
    q.add_argument("--augment", action=argparse.BooleanOptionalAction, default=False,
                   help="small random rotations/scalings/shifts (default: off)")
    q.add_argument("--out", default=None, metavar="FILE",
                   help="weights file (default: the shipped ganlib/weights/<dataset>.pt)")
    q.add_argument("--reference-only", action="store_true",
                   help="train nothing: recompute the shipped classifier's FCD reference statistics")
    q.set_defaults(func=_cmd_train_classifier)


def _show(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.3f}" for v in value) + "]"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from .checkpoint import load_run
    from .files import save_json
    from .metrics import default_samples, evaluate_run

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise GanlibError(f"no run folder {run_dir} (expected a folder holding checkpoint.pt)")
    t0 = time.perf_counter()
    result = load_run(run_dir, args.device)
    n = args.samples or default_samples(result.config.dataset)
    metrics = evaluate_run(result, n, args.seed, device=result.device)
    seconds = time.perf_counter() - t0
    cfg = result.config
    print(f"ganlib evaluate: {run_dir} ({cfg.loss} on {cfg.dataset}, step {result.step}), "
          f"{n:,} samples, seed {args.seed}, {seconds:.1f} s")
    for key, value in metrics.items():
        print(f"  {key}: {_show(value)}")
    save_json({"run": str(run_dir), "loss": cfg.loss, "dataset": cfg.dataset, "step": result.step,
               "samples": n, "seed": args.seed, "device": str(result.device), "seconds": round(seconds, 2),
               "metrics": metrics},
              run_dir / "metrics.json")
    if dataset_spec(cfg.dataset).is_image:
        loss, steps, fcd = TRAINED_FCD[cfg.dataset]
        print(f"ganlib evaluate: FCD, lower is better: 10,000 real {TITLES[cfg.dataset]} training images score "
              f"{REAL_FCD[cfg.dataset]} against this reference, chapter 7's {loss} GAN {fcd} after {steps:,} steps; "
              f"classes_covered: how many of the 10 classes the classifier finds among the samples")
    print(f"ganlib evaluate: wrote {run_dir / 'metrics.json'}; next: train on (the same train command with a larger "
          f"--steps and --resume), or compare the losses (python -m ganlib compare)")


def _cmd_train_classifier(args: argparse.Namespace) -> None:
    from .classifier import save_classifier, train_classifier, weights_path
    from .metrics import write_reference

    if args.reference_only:
        if args.out:
            raise GanlibError("--reference-only recomputes the shipped reference; it takes no --out")
        entry = write_reference(args.dataset)
        print(f"ganlib train-classifier: {args.dataset} FCD reference {entry['name']} ({entry['n']:,} images) "
              f"written to {entry['stats_file']}")
        return
    model, record = train_classifier(args.dataset, args.epochs, args.seed, augmentation=args.augment)
    out = Path(args.out) if args.out else weights_path(args.dataset)
    words = ["python", "-m", "ganlib", "train-classifier", "--dataset", args.dataset, "--epochs",
             str(record["epochs"]), "--seed", str(args.seed),
             "--augment" if record["augmentation"] != "none" else "--no-augment"]
    if args.out:
        words += ["--out", args.out]
    record = {"command": shlex.join(words), **record}
    json_path = save_classifier(model, record, out)
    if not args.out:  # the shipped classifier: its reference statistics change with it
        write_reference(args.dataset)
    print(f"ganlib train-classifier: {args.dataset} held-out accuracy {record['heldout_accuracy']:.4f} "
          f"({record['n_heldout']:,} images), {record['train_seconds']:.0f} s; wrote {out} and {json_path}")
    print(f"ganlib train-classifier: {record['split']}", file=sys.stderr)
