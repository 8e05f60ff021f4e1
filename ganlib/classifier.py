"""A small CNN classifier for 28×28 images: the feature extractor behind ganlib's sample-quality metrics.

One network per image dataset (MNIST, Fashion-MNIST), trained by ``python -m ganlib train-classifier``
and shipped in ``ganlib/weights/<dataset>.pt`` with a JSON record beside it that says which data,
split, seed and command produced the weights and what accuracy they reach on images they did not
train on. Images everywhere are float tensors (N, 1, 28, 28) in [−1, 1], like the generator's output.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data import REFERENCES, TITLES, ImageSet, load_images, to_float
from .datasets import IMAGE_DATASETS
from .errors import GanlibError, check_choice
from .files import save_json, save_torch

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FEATURE_DIM = 128
N_CLASSES = 10
IMAGE_SHAPE = (1, 28, 28)
# SmallCNN in one line, for the classifier's record: the first line of its docstring, written out again
# because python -OO removes docstrings (tests/test_metrics.py keeps the two identical)
ARCHITECTURE = ("conv 4×4/2 (24) → conv 4×4/2 (48) → conv 3×3/2 (48) → 768 → 128 → 10 logits; ReLU, "
                "batch norm on convs 2-3.")
class SmallCNN(nn.Module):
    """conv 4×4/2 (24) → conv 4×4/2 (48) → conv 3×3/2 (48) → 768 → 128 → 10 logits; ReLU, batch norm on convs 2-3.

    28×28 → 14×14 → 7×7 → 4×4; about 139k float32 parameters (≈ 560 KB). Strided convolutions instead
    of max-pooling: on a CPU, pooling full-resolution feature maps costs as much as the convolutions.
    The 128-unit layer φ(x) (after its ReLU) is the feature space of the Fréchet classifier distance.
    """

    def __init__(self, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 24, 4, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(24, 48, 4, 2, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU(inplace=True),
            nn.Conv2d(48, 48, 3, 2, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU(inplace=True),
            nn.Flatten(),
        )
        self.fc = nn.Linear(48 * 4 * 4, FEATURE_DIM)
        self.drop = nn.Dropout(dropout)  # on φ(x) during training only: the features stay deterministic
        self.head = nn.Linear(FEATURE_DIM, N_CLASSES)
        # channels-last convolutions are about twice as fast on a CPU (oneDNN); results are the same
        self.to(memory_format=torch.channels_last)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate-layer features φ(x) ∈ ℝ^128 (after the ReLU)."""
        x = x.contiguous(memory_format=torch.channels_last)
        return F.relu(self.fc(self.conv(x)))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.drop(self.features(x)))

    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Both outputs from one pass (the metrics need the features and the class probabilities)."""
        f = self.features(x)
        return f, self.head(self.drop(f))


def check_images(images: Tensor) -> Tensor:
    """Raise a one-line ``GanlibError`` unless ``images`` is a float tensor of shape (N, 1, 28, 28)."""
    if not isinstance(images, Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise GanlibError(f"expected images of shape (N, 1, 28, 28) in [-1, 1], got {shape}")
    if not images.is_floating_point():
        raise GanlibError(f"expected float images in [-1, 1], got dtype {images.dtype} "
                          f"(convert uint8 images with ganlib.data.to_float)")
    if len(images) == 0:
        raise GanlibError("expected at least one image, got an empty tensor")
    return images


def weights_path(dataset: str) -> Path:
    """``ganlib/weights/<dataset>.pt``: the shipped classifier weights for ``dataset``."""
    check_choice("classifier dataset", dataset, IMAGE_DATASETS)
    return WEIGHTS_DIR / f"{dataset}.pt"


def reference_path(dataset: str) -> Path:
    """``ganlib/weights/<dataset>-reference.pt``: μ, Σ of the classifier features of the FCD reference."""
    return WEIGHTS_DIR / f"{check_choice('classifier dataset', dataset, IMAGE_DATASETS)}-reference.pt"


def record_path(dataset: str) -> Path:
    """The JSON record beside the weights: data, split, seed, command and measured accuracy."""
    return weights_path(dataset).with_suffix(".json")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_LOADED: dict[tuple[str, str], SmallCNN] = {}


def load_classifier(dataset: str = "mnist", device: str | torch.device = "cpu") -> SmallCNN:
    """The shipped classifier for ``dataset`` in eval mode on ``device`` (loaded once, then cached)."""
    path = weights_path(dataset)
    key = (dataset, str(torch.device(device)))
    if key not in _LOADED:
        if not path.is_file():
            raise GanlibError(f"no classifier weights at {path}; make them with "
                              f"python -m ganlib train-classifier --dataset {dataset}")
        model = SmallCNN()
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        _LOADED[key] = model.to(device).eval()
    return _LOADED[key]


def load_record(dataset: str) -> dict:
    """The JSON record of the shipped weights for ``dataset``."""
    path = record_path(dataset)
    if not path.is_file():
        raise GanlibError(f"no classifier record at {path}; make it with "
                          f"python -m ganlib train-classifier --dataset {dataset}")
    return json.loads(path.read_text())


@torch.inference_mode()
def classify(model: SmallCNN, images: Tensor, batch: int = 2000) -> tuple[Tensor, Tensor]:
    """Features (N, 128) and logits (N, 10) of float images, computed in batches on the model's device."""
    check_images(images)
    device = next(model.parameters()).device
    feats, logits = [], []
    for i in range(0, len(images), batch):
        f, z = model.features_and_logits(images[i:i + batch].to(device, torch.float32))
        feats.append(f.cpu())
        logits.append(z.cpu())
    return torch.cat(feats), torch.cat(logits)


# ----------------------------------------------------------------------------------------- data splits

@dataclass
class Split:
    """Training and held-out images (uint8 (N, 28, 28)) with labels, and a sentence saying where from."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    description: str
    source: str


@dataclass
class ReferenceSet:
    """The FCD reference images of a dataset (uint8 (N, 28, 28)), its name and a sentence naming them."""

    name: str
    images: Tensor
    labels: Tensor
    description: str


def images_sha256_16(x: Tensor) -> str:
    """The first 16 hex digits of the sha256 of an image tensor's bytes: names an image set in records."""
    return hashlib.sha256(x.contiguous().numpy().tobytes()).hexdigest()[:16]


# the classifier's own validation images: the last ones of the train split (MNIST's classic 50,000 + 10,000
# split holds out the last 10,000 the same way); they choose nothing, they only report its accuracy
VALIDATION = 5_000


def _split(dataset: str, part: str, size: int, root: str | Path | None, verbose: bool) -> ImageSet:
    data = load_images(dataset, part, root, verbose)
    if len(data.images) != size:
        raise GanlibError(f"the {dataset} {part} split has {len(data.images):,} images, expected {size:,}; "
                          f"the FCD classifier and reference are made from the complete official splits")
    return data


def reference_set(dataset: str, root: str | Path | None = None, verbose: bool = True) -> ReferenceSet:
    """The FCD reference images of ``dataset`` (``REFERENCES`` names them): its whole official test split
    (10,000 images), which neither the classifier nor any GAN trains on."""
    check_choice("classifier dataset", dataset, IMAGE_DATASETS)
    test = _split(dataset, "test", 10_000, root, verbose)
    return ReferenceSet(REFERENCES[dataset], test.images, test.labels,
                        f"{TITLES[dataset]} official test split, all 10,000 images")


def classifier_split(dataset: str, root: str | Path | None = None, verbose: bool = True) -> Split:
    """The images the shipped classifier trains on, and its held-out validation images.

    Both come from the official train split (60,000): the first 55,000 train, the last ``VALIDATION`` =
    5,000 are held out. The FCD reference (the test split, ``reference_set``) takes no part.
    """
    check_choice("classifier dataset", dataset, IMAGE_DATASETS)
    train = _split(dataset, "train", 60_000, root, verbose)
    n = len(train.images) - VALIDATION
    desc = (f"{TITLES[dataset]} official train split: images 0-{n - 1:,} train, the last {VALIDATION:,} "
            f"are held out for validation; the test split (the FCD reference {REFERENCES[dataset]}) is not used")
    return Split(train.images[:n], train.labels[:n], train.images[n:], train.labels[n:], desc, train.kind)


# ---------------------------------------------------------------------------------------------- training

def augment(x: Tensor, gen: torch.Generator, max_rot: float = 10.0, max_shift: float = 2.0,
            scale: float = 0.1) -> Tensor:
    """Random small affine distortions of a float batch: rotation ±max_rot°, scale 1±scale, shift ±max_shift px.

    The background is −1 (black), so the padding value of the resampling is −1 as well.
    """
    n = len(x)
    u = torch.rand(n, 4, generator=gen) * 2 - 1
    angle = u[:, 0] * math.radians(max_rot)
    s = 1 + u[:, 1] * scale
    # affine_grid works in [-1, 1] coordinates where 28 px span 2 units
    tx, ty = u[:, 2] * max_shift * 2 / 28, u[:, 3] * max_shift * 2 / 28
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


@torch.inference_mode()
def accuracy(model: SmallCNN, images_u8: Tensor, labels: Tensor) -> float:
    """Share of ``images_u8`` (uint8) whose arg-max class equals ``labels``."""
    was_training = model.training
    model.eval()
    _, logits = classify(model, to_float(images_u8))
    model.train(was_training)
    return (logits.argmax(1) == labels).float().mean().item()


def cosine_factor(step: int, steps_per_epoch: int, epochs: int) -> float:
    """The learning rate's factor at optimiser step ``step``: ½(1 + cos(π·e/E)) at epoch e = step / steps per
    epoch of E, a cosine decay from 1 to 0 over the run (a smooth schedule: no step sizes to tune)."""
    epoch, i = divmod(step, steps_per_epoch)
    return 0.5 * (1 + math.cos(math.pi * (epoch + i / steps_per_epoch) / epochs))


def cosine_schedule(opt: torch.optim.Optimizer, steps_per_epoch: int, epochs: int) -> torch.optim.lr_scheduler.LambdaLR:
    """``cosine_factor`` as torch's LambdaLR: call ``step()`` after each optimiser step."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: cosine_factor(step, steps_per_epoch, epochs))


def train_classifier(dataset: str = "mnist", epochs: int | None = None, seed: int = 0, batch_size: int = 128,
                     lr: float = 2e-3, augmentation: bool = False, root: str | Path | None = None,
                     verbose: bool = True) -> tuple[SmallCNN, dict]:
    """Train a ``SmallCNN`` on ``classifier_split(dataset)`` with Adam and cosine decay; return it and its record.

    One recipe for both datasets: 5 epochs of 55,000 images, without ``augment`` unless asked for (with
    55,000 images the held-out accuracy needs none: 99 % on MNIST, 91 % on Fashion-MNIST).
    """
    check_choice("classifier dataset", dataset, IMAGE_DATASETS)
    epochs = epochs or 5
    augmentation = bool(augmentation)
    split = classifier_split(dataset, root, verbose)
    torch.manual_seed(seed)
    model = SmallCNN()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x_all, y_all = to_float(split.train_x), split.train_y
    n = len(x_all)
    steps_per_epoch = math.ceil(n / batch_size)
    schedule = cosine_schedule(opt, steps_per_epoch, epochs)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(steps_per_epoch):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            x = augment(x_all[idx], gen) if augmentation else x_all[idx]
            loss = F.cross_entropy(model(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
        if verbose:
            print(f"ganlib train-classifier: {dataset} epoch {epoch + 1}/{epochs}, last batch loss "
                  f"{loss.item():.4f}, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    seconds = time.perf_counter() - t0
    model.eval()
    record = {
        "dataset": dataset,
        "architecture": ARCHITECTURE,
        "parameters": sum(p.numel() for p in model.parameters()),
        "data_source": split.source,
        "split": split.description,
        "n_train": len(split.train_x),
        "n_heldout": len(split.test_x),
        "train_sha256_16": images_sha256_16(split.train_x),
        "heldout_sha256_16": images_sha256_16(split.test_x),
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": f"Adam lr {lr:g}, cosine decay to 0",
        "augmentation": ("random rotation ±10°, scale 1±0.1, shift ±2 px per image" if augmentation else "none"),
        "train_accuracy": round(accuracy(model, split.train_x, split.train_y), 5),
        "heldout_accuracy": round(accuracy(model, split.test_x, split.test_y), 5),
        "train_seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
    }
    return model, record


def save_classifier(model: SmallCNN, record: dict, out: str | Path) -> Path:
    """Write the weights (float32 state dict, atomically) and the JSON record beside them (``.json``)."""
    out = Path(out)
    save_torch({k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}, out)
    record = {**record, "weights_file": out.name, "weights_bytes": out.stat().st_size,
              "weights_sha256": file_sha256(out)}
    save_json(record, out.with_suffix(".json"))
    _LOADED.clear()  # a later load_classifier must read the new file
    return out.with_suffix(".json")
