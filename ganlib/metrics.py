"""Sample-quality metrics: Fréchet classifier distance, mode coverage of the ten classes, toy-mixture modes.

Images are float tensors (N, 1, 28, 28) in [−1, 1], like the generator's output; ``dataset`` picks the
shipped classifier (``ganlib.classifier``) whose features and class probabilities the metrics use.

* FCD (the FID recipe with a small in-domain classifier instead of Inception): fit Gaussians
  N(μ_r, Σ_r), N(μ_g, Σ_g) to the 128-d penultimate features φ(x) of real and generated images;
  d² = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}). Lower is better, 0 for identical statistics.
  The real side is always the dataset's named reference (``ganlib.data.REFERENCES``: the whole
  10,000-image official test split of MNIST or Fashion-MNIST), whose μ_r, Σ_r ship
  with the classifier weights: every machine measures against the same numbers, whatever data it has,
  and neither the classifier nor any GAN trained on those images. The generated side always uses
  ``FCD_SAMPLES`` = 10,000 images: FCD is biased upwards for small N, so only numbers with the same N compare, and each
  reported FCD carries its N and reference name beside it (``fcd_n``, ``fcd_reference``).
* Mode coverage: the histogram h of predicted classes, how many classes hold at least half of their
  uniform share (h_k ≥ 0.05) and KL(h ‖ uniform) = Σ_k h_k ln(10 h_k).
* Toy mixtures: the share of points within 3σ of their nearest mode centre ("high quality") and how
  many modes receive enough of those points to count as covered.
"""

from __future__ import annotations

import math
import sys
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from .classifier import (
    N_CLASSES,
    check_images,
    classify,
    file_sha256,
    images_sha256_16,
    load_classifier,
    load_record,
    record_path,
    reference_path,
    reference_set,
)
from .data import ToyMixture, to_float
from .datasets import IMAGE_DATASETS, dataset_spec
from .devices import resolve_device  # "auto" → cuda > mps > cpu, a missing device is an error
from .errors import GanlibError, check_choice
from .files import save_json, save_torch

if TYPE_CHECKING:
    from .step import TrainResult

__all__ = ["FeatureStats", "gaussian_stats", "frechet_distance", "trace_sqrt_product", "classifier_features",
           "reference_statistics", "write_reference", "frechet_classifier_distance", "kl_to_uniform", "mode_coverage",
           "image_metrics", "toy_metrics", "toy_min_count", "default_samples", "evaluate_run", "COVERED_SHARE",
           "TOY_SIGMAS", "TOY_MIN_COUNT", "TOY_REFERENCE_SAMPLES", "FCD_SAMPLES", "TRAJECTORY_SAMPLES",
           "NonFiniteSamples"]

# a class counts as covered when it holds at least half of its uniform share 1/10
COVERED_SHARE = 0.5 / N_CLASSES
# toy mixtures (the unrolled-GAN / VEEGAN / PacGAN protocol): a point is high quality when it lies
# within 3 standard deviations of its nearest centre; a mode is covered when at least 20 of 2,500
# generated points are high-quality points assigned to it. For another sample size the threshold
# keeps that share, 20/2,500 = 0.8 % (at least one point).
TOY_SIGMAS = 3.0
TOY_MIN_COUNT = 20
TOY_REFERENCE_SAMPLES = 2500
# generated images behind every FCD the project reports (compare, evaluate, chapters): one fixed N
FCD_SAMPLES = 10_000
# generated images of the FCDs along a run (the comparison's intermediate evaluations): half as many, at
# half the cost; the final evaluation reports both, so that a trajectory keeps one N throughout
TRAJECTORY_SAMPLES = 5_000


class NonFiniteSamples(GanlibError):
    """Generated images or points hold NaN or infinite values: the generator diverged."""


# ------------------------------------------------------------------------------- Fréchet distance

@dataclass
class FeatureStats:
    """Mean μ (d,) and covariance Σ (d, d) of a feature set, float64, with its size and origin."""

    mu: Tensor
    sigma: Tensor
    n: int
    source: str = ""


def gaussian_stats(features: Tensor, source: str = "") -> FeatureStats:
    """μ = (1/N) Σ_i φ_i and the unbiased covariance Σ = (1/(N−1)) Σ_i (φ_i − μ)(φ_i − μ)ᵀ, in float64."""
    if features.dim() != 2 or len(features) < 2:
        raise GanlibError(f"need at least 2 feature vectors of shape (N, d), got {tuple(features.shape)}")
    f = features.to(torch.float64)
    mu = f.mean(0)
    centred = f - mu
    sigma = centred.T @ centred / (len(f) - 1)
    return FeatureStats(mu, sigma, len(f), source)


def _psd_sqrt(s: Tensor) -> Tensor:
    """S^{1/2} of a symmetric positive semi-definite S via S = V diag(λ) Vᵀ, with λ < 0 (round-off) set to 0."""
    lam, v = torch.linalg.eigh((s + s.T) / 2)
    return (v * lam.clamp_min(0).sqrt()) @ v.T


def trace_sqrt_product(sigma1: Tensor, sigma2: Tensor) -> float:
    """Tr((Σ₁ Σ₂)^{1/2}) for symmetric PSD Σ₁, Σ₂.

    Σ₁Σ₂ is not symmetric, and a general matrix square root of it (scipy's sqrtm) can fail or return
    complex round-off when the covariances are nearly singular, which they are here: ReLU features
    include units that are (almost) never active. Instead use M = Σ₁^{1/2} Σ₂ Σ₁^{1/2}: it is symmetric
    PSD and has the same eigenvalues as Σ₁Σ₂ (AB and BA share their spectrum, with A = Σ₁^{1/2},
    B = Σ₁^{1/2}Σ₂), so Tr((Σ₁Σ₂)^{1/2}) = Σ_i √λ_i(M). ``eigh`` on a symmetric matrix is backward stable,
    needs no inverse, and the tiny negative eigenvalues that round-off produces are clamped to 0.
    """
    a = _psd_sqrt(sigma1.to(torch.float64))
    m = a @ sigma2.to(torch.float64) @ a
    lam = torch.linalg.eigvalsh((m + m.T) / 2)
    return lam.clamp_min(0).sqrt().sum().item()


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """d² = ‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2 Tr((Σ₁ Σ₂)^{1/2}): the squared 2-Wasserstein (Fréchet)
    distance between N(μ₁, Σ₁) and N(μ₂, Σ₂), computed in float64. Round-off below 0 is returned as 0."""
    mu1, mu2 = mu1.to(torch.float64).reshape(-1), mu2.to(torch.float64).reshape(-1)
    sigma1, sigma2 = torch.atleast_2d(sigma1.to(torch.float64)), torch.atleast_2d(sigma2.to(torch.float64))
    d = len(mu1)
    if len(mu2) != d or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise GanlibError(f"mismatched Gaussian statistics: means {tuple(mu1.shape)}, {tuple(mu2.shape)}, "
                          f"covariances {tuple(sigma1.shape)}, {tuple(sigma2.shape)}")
    mean_term = (mu1 - mu2).square().sum().item()
    cov_term = sigma1.trace().item() + sigma2.trace().item() - 2 * trace_sqrt_product(sigma1, sigma2)
    return max(mean_term + cov_term, 0.0)


# ------------------------------------------------------------------------------- classifier features

def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cpu")
    return resolve_device(device) if isinstance(device, str) else device


def _check_range(images: Tensor) -> None:
    """Refuse non-finite images (a diverged generator) and values outside [−1, 1], on one line."""
    finite = torch.isfinite(images)
    if not bool(finite.all()):
        bad = int((~finite).flatten(1).any(1).sum().item())
        raise NonFiniteSamples(f"{bad} of {len(images)} images hold NaN or infinite values (a diverged generator?); "
                          f"the metrics need finite images in [-1, 1]")
    lo, hi = images.min().item(), images.max().item()
    if lo < -1.001 or hi > 1.001:
        raise GanlibError(f"expected images in [-1, 1] (like the generator's output), got values in "
                          f"[{lo:.3g}, {hi:.3g}]; convert uint8 images with ganlib.data.to_float")


def _classify(images: Tensor, dataset: str, device: str | torch.device | None) -> tuple[Tensor, Tensor]:
    check_choice("classifier dataset", dataset, IMAGE_DATASETS)
    check_images(images)
    _check_range(images)
    return classify(load_classifier(dataset, _device(device)), images)


def classifier_features(images: Tensor, dataset: str = "mnist", device: str | torch.device | None = None) -> Tensor:
    """The 128-d penultimate features φ(x) of ``dataset``'s classifier, float32 (N, 128) on the CPU."""
    return _classify(images, dataset, device)[0]


_REFERENCE_STATS: dict[str, FeatureStats] = {}


def reference_statistics(dataset: str = "mnist") -> FeatureStats:
    """μ_r, Σ_r of the classifier features of ``dataset``'s FCD reference, read from the shipped
    ``ganlib/weights/<dataset>-reference.pt`` (checked against the sha256 in the classifier's record).

    No data is read: the statistics are the same on every machine, whatever ``GANLIB_DATA`` holds.
    """
    check_choice("classifier dataset", dataset, IMAGE_DATASETS)
    if dataset not in _REFERENCE_STATS:
        path, ref = reference_path(dataset), load_record(dataset).get("reference")
        if ref is None or not path.is_file():
            raise GanlibError(f"no FCD reference statistics for {dataset} at {path.name}; make them with "
                              f"python -m ganlib train-classifier --dataset {dataset} --reference-only")
        if file_sha256(path) != ref["stats_sha256"]:
            raise GanlibError(f"{path.name} does not match the sha256 in {record_path(dataset).name}; "
                              f"reinstall ganlib or rerun train-classifier --reference-only")
        d = torch.load(path, map_location="cpu", weights_only=True)
        _REFERENCE_STATS[dataset] = FeatureStats(d["mu"], d["sigma"], int(d["n"]), ref["name"])
    return _REFERENCE_STATS[dataset]


def write_reference(dataset: str, root: str | Path | None = None, verbose: bool = True) -> dict:
    """Compute μ_r, Σ_r of the shipped classifier's features on ``dataset``'s reference images, write
    them beside the weights and add their name, size and sha256 to the classifier's record."""
    ref = reference_set(dataset, root, verbose)
    features, logits = _classify(to_float(ref.images), dataset, "cpu")
    stats = gaussian_stats(features, ref.name)
    path = reference_path(dataset)
    save_torch({"mu": stats.mu, "sigma": stats.sigma, "n": stats.n}, path)
    accuracy = (logits.argmax(1) == ref.labels).double().mean().item()
    entry = {"name": ref.name, "images": ref.description, "n": stats.n,
             "images_sha256_16": images_sha256_16(ref.images), "classifier_accuracy": round(accuracy, 5),
             "stats_file": path.name, "stats_sha256": file_sha256(path)}
    save_json({**load_record(dataset), "reference": entry}, record_path(dataset))
    _REFERENCE_STATS.pop(dataset, None)
    if verbose:
        print(f"ganlib metrics: {dataset} reference {ref.name}: {stats.n:,} images, statistics in {path.name}",
              file=sys.stderr)
    return entry


def _as_stats(x: Tensor | FeatureStats | None, dataset: str, device: str | torch.device | None) -> FeatureStats:
    if x is None:
        return reference_statistics(dataset)
    if isinstance(x, FeatureStats):
        return x
    return gaussian_stats(classifier_features(x, dataset, device))


def frechet_classifier_distance(fake: Tensor | FeatureStats, real: Tensor | FeatureStats | None = None,
                                dataset: str = "mnist", device: str | torch.device | None = None) -> float:
    """FCD = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}) between Gaussians fitted to the classifier
    features of ``real`` and ``fake`` images. ``real=None``: ``dataset``'s shipped reference statistics."""
    check_choice("classifier dataset", dataset, IMAGE_DATASETS)
    g = _as_stats(fake, dataset, device)
    r = _as_stats(real, dataset, device)
    return frechet_distance(r.mu, r.sigma, g.mu, g.sigma)


# ------------------------------------------------------------------------------------- mode coverage

def kl_to_uniform(histogram: Tensor | list[float]) -> float:
    """KL(h ‖ u) = Σ_k h_k ln(h_k / (1/K)) in nats, with 0 ln 0 = 0; 0 for a uniform h, ln K for one class."""
    h = torch.as_tensor(histogram, dtype=torch.float64)
    if h.dim() != 1 or (h < 0).any() or not math.isclose(h.sum().item(), 1.0, abs_tol=1e-6):
        raise GanlibError("expected a histogram: a 1-d list of non-negative fractions that sum to 1")
    nz = h[h > 0]
    return (nz * torch.log(nz * len(h))).sum().item()


def _coverage_from_logits(logits: Tensor) -> dict:
    counts = torch.bincount(logits.argmax(1), minlength=N_CLASSES).to(torch.float64)  # softmax keeps the argmax
    hist = counts / counts.sum()
    return {"classes_covered": int((hist >= COVERED_SHARE).sum().item()),
            "kl_to_uniform": kl_to_uniform(hist),
            "histogram": hist.tolist()}


def mode_coverage(images: Tensor, dataset: str = "mnist", device: str | torch.device | None = None) -> dict:
    """The predicted-class histogram h (10 fractions), ``classes_covered`` = #{k : h_k ≥ 0.05},
    ``kl_to_uniform`` = KL(h ‖ uniform) in nats, and ``confidence`` = mean over images of max_k p(k | x).

    ``confidence`` is not a quality measure: the classifier is most sure of itself on pure noise (1.00),
    so no table or chapter reports it; ``tests/test_metrics.py`` shows that failure.
    """
    logits = _classify(images, dataset, device)[1]
    confidence = torch.softmax(logits.double(), 1).max(1).values.mean().item()
    return {**_coverage_from_logits(logits), "confidence": confidence}


def image_metrics(images: Tensor, dataset: str = "mnist", device: str | torch.device | None = None,
                  subset: int | None = None) -> dict:
    """FCD to ``dataset``'s shipped reference (with its N and reference name) and the mode-coverage
    metrics, from one pass of the classifier. Report FCDs of exactly ``FCD_SAMPLES`` images.

    ``subset``: also ``fcd_<subset>``, the FCD of the first ``subset`` images alone (an FCD at a smaller N
    that compares with other FCDs at that N, since FCD's bias depends on N)."""
    feats, logits = _classify(images, dataset, device)
    real = reference_statistics(dataset)
    fcd = lambda f: frechet_distance(real.mu, real.sigma, *astuple(gaussian_stats(f))[:2])  # noqa: E731
    out = {"fcd": fcd(feats), "fcd_n": len(feats), "fcd_reference": real.source}
    if subset is not None:
        if not 2 <= subset <= len(feats):
            raise GanlibError(f"subset must lie in 2..{len(feats)} images, got {subset}")
        out[f"fcd_{subset}"] = out["fcd"] if subset == len(feats) else fcd(feats[:subset])
    return {**out, **_coverage_from_logits(logits)}


# ---------------------------------------------------------------------------------------- 2-D toys

def toy_min_count(n: int) -> int:
    """Points a mode needs to count as covered: 20 per 2,500 samples (VEEGAN/PacGAN), at least 1."""
    return max(1, round(TOY_MIN_COUNT * n / TOY_REFERENCE_SAMPLES))


def toy_metrics(points: Tensor, mixture: ToyMixture, min_count: int | None = None) -> dict:
    """``high_quality``: share of points within 3σ of their nearest centre; ``modes_covered``: number of
    centres that are the nearest centre of at least ``min_count`` high-quality points (default
    ``toy_min_count(N)``: 20 for N = 2,500); also ``n_modes`` and the ``min_count`` used."""
    if not isinstance(points, Tensor) or points.dim() != 2 or points.shape[1] != 2 or len(points) == 0:
        shape = tuple(points.shape) if isinstance(points, Tensor) else type(points).__name__
        raise GanlibError(f"expected points of shape (N, 2), got {shape}")
    if not bool(torch.isfinite(points).all()):
        bad = int((~torch.isfinite(points)).any(1).sum().item())
        raise NonFiniteSamples(f"{bad} of {len(points)} points hold NaN or infinite values (a diverged generator?); "
                               f"the metrics need finite points")
    need = toy_min_count(len(points)) if min_count is None else int(min_count)
    centres = mixture.centres.to(torch.float64)
    dist = torch.cdist(points.detach().cpu().to(torch.float64), centres)
    nearest_dist, nearest = dist.min(1)
    good = nearest_dist <= TOY_SIGMAS * mixture.std
    counts = torch.bincount(nearest[good], minlength=len(centres))
    return {"modes_covered": int((counts >= need).sum().item()),
            "high_quality": good.to(torch.float64).mean().item(),
            "n_modes": len(centres),
            "min_count": need}


# ---------------------------------------------------------------------------------------- a whole run

def default_samples(dataset: str) -> int:
    """Samples an evaluation of a run on ``dataset`` draws when not told: ``FCD_SAMPLES`` images (the N of
    every FCD the project reports), or ``TOY_REFERENCE_SAMPLES`` points (the VEEGAN protocol's)."""
    return FCD_SAMPLES if dataset_spec(dataset).is_image else TOY_REFERENCE_SAMPLES


def evaluate_run(result: TrainResult, n: int | None = None, seed: int = 0,
                 device: str | torch.device | None = None, subset: int | None = None) -> dict:
    """Every metric that applies to ``result``, on ``result.sample(n, seed)``.

    Images (default n = ``FCD_SAMPLES`` = 10,000): fcd, fcd_n, fcd_reference, classes_covered,
    kl_to_uniform, histogram.
    Toys (default n = 2,500, the VEEGAN protocol): modes_covered, high_quality (and n_modes, min_count).
    The classifier runs on ``device`` (default: the run's device).
    """
    from .data import toy_mixture

    dataset = result.config.dataset
    n = n or default_samples(dataset)
    if n < 2:
        raise GanlibError(f"evaluation needs at least 2 samples, got {n}")
    samples = result.sample(n, seed)
    if result.config.spec.is_toy:
        return toy_metrics(samples, toy_mixture(dataset))
    return image_metrics(samples, dataset, device if device is not None else result.device, subset)
