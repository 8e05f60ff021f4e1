"""Tests for ganlib.metrics and ganlib.classifier: hand-computed formulas, the shipped classifiers'
accuracy on images they did not train on, FCD and mode coverage on real digits, speed, determinism, CLI."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import torch

from ganlib import TrainConfig, cli, metrics, train
from ganlib.classifier import (
    ARCHITECTURE,
    IMAGE_SHAPE,
    SmallCNN,
    accuracy,
    augment,
    classifier_split,
    file_sha256,
    images_sha256_16,
    load_classifier,
    load_record,
    reference_path,
    reference_set,
    weights_path,
)
from ganlib.data import REFERENCES, load_images, to_float, toy_mixture
from ganlib.errors import GanlibError
from ganlib.step import new_run

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------ Fréchet distance, by hand

def test_frechet_1d_closed_form() -> None:
    # N(0, 2²) vs N(1, 3²): (0 − 1)² + (2 − 3)² = 2
    d = metrics.frechet_distance(torch.tensor([0.0]), torch.tensor([[4.0]]), torch.tensor([1.0]), torch.tensor([[9.0]]))
    assert d == pytest.approx(2.0, abs=1e-12)


def test_frechet_diagonal_closed_form() -> None:
    # per dimension (m1 − m2)² + (s1 − s2)²: (1 + 1) + (0 + 0) + (4 + 4) = 10
    m1, s1 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 2.0, 3.0])
    m2, s2 = torch.tensor([1.0, 1.0, 0.0]), torch.tensor([2.0, 2.0, 1.0])
    d = metrics.frechet_distance(m1, torch.diag(s1 ** 2), m2, torch.diag(s2 ** 2))
    assert d == pytest.approx(10.0, abs=1e-10)


def test_frechet_non_commuting_closed_form() -> None:
    # Σ₁ = I, Σ₂ = [[2, 1], [1, 2]] (eigenvalues 1 and 3): Tr(Σ₂^{1/2}) = 1 + √3,
    # d = 0 + Tr(I) + Tr(Σ₂) − 2 (1 + √3) = 2 + 4 − 2 − 2√3 = 4 − 2√3
    mu = torch.zeros(2)
    d = metrics.frechet_distance(mu, torch.eye(2), mu, torch.tensor([[2.0, 1.0], [1.0, 2.0]]))
    assert d == pytest.approx(4 - 2 * math.sqrt(3), abs=1e-12)


def test_frechet_matches_scipy_on_random_full_covariances() -> None:
    scipy_linalg = pytest.importorskip("scipy.linalg")
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 6, generator=g, dtype=torch.float64), torch.randn(6, 6, generator=g, dtype=torch.float64)
    s1, s2 = a @ a.T + 0.1 * torch.eye(6, dtype=torch.float64), b @ b.T + 0.1 * torch.eye(6, dtype=torch.float64)
    m1, m2 = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    root = scipy_linalg.sqrtm((s1 @ s2).numpy()).real
    expected = ((m1 - m2) ** 2).sum().item() + (s1.trace() + s2.trace()).item() - 2 * float(root.trace())
    assert metrics.frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-9)


def test_frechet_singular_covariances() -> None:
    # rank-deficient Σ (a dead feature): diag(1, 0) vs diag(4, 9) → (1 − 2)² + (0 − 3)² = 10, and a
    # rank-1 Σ against itself → exactly 0, never NaN
    d = metrics.frechet_distance(torch.zeros(2), torch.diag(torch.tensor([1.0, 0.0])),
                                 torch.zeros(2), torch.diag(torch.tensor([4.0, 9.0])))
    assert d == pytest.approx(10.0, abs=1e-10)
    v = torch.tensor([[1.0], [2.0], [-1.0]])
    s = v @ v.T
    same = metrics.frechet_distance(torch.ones(3), s, torch.ones(3), s)
    assert math.isfinite(same) and same == pytest.approx(0.0, abs=1e-9)


def test_frechet_rejects_mismatched_shapes() -> None:
    with pytest.raises(GanlibError, match="mismatched"):
        metrics.frechet_distance(torch.zeros(2), torch.eye(2), torch.zeros(3), torch.eye(3))


def test_gaussian_stats_are_unbiased_float64() -> None:
    # features 0 and 2: mean 1, unbiased variance ((−1)² + 1²) / (2 − 1) = 2
    st = metrics.gaussian_stats(torch.tensor([[0.0, 5.0], [2.0, 5.0]]))
    assert st.mu.dtype == torch.float64 and st.n == 2
    assert st.mu.tolist() == [1.0, 5.0]
    assert st.sigma.tolist() == [[2.0, 0.0], [0.0, 0.0]]


# ------------------------------------------------------------------ histogram metrics, by hand

def test_kl_to_uniform_known_values() -> None:
    assert metrics.kl_to_uniform([0.1] * 10) == pytest.approx(0.0, abs=1e-12)
    assert metrics.kl_to_uniform([1.0] + [0.0] * 9) == pytest.approx(math.log(10))
    # two classes at ½: 2 · ½ ln(½ · 10) = ln 5
    assert metrics.kl_to_uniform([0.5, 0.5] + [0.0] * 8) == pytest.approx(math.log(5))
    # K = 2, h = (¼, ¾): ¼ ln ½ + ¾ ln (3/2)
    assert metrics.kl_to_uniform([0.25, 0.75]) == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    with pytest.raises(GanlibError, match="histogram"):
        metrics.kl_to_uniform([0.5, 0.6])


def test_coverage_threshold_from_known_logits() -> None:
    # 100 predictions: 50 of class 0, 45 of class 1, 5 of class 2 (exactly the 0.05 threshold: covered)
    labels = torch.tensor([0] * 50 + [1] * 45 + [2] * 5)
    probs = torch.full((100, 10), 0.2 / 9, dtype=torch.float64)
    probs[torch.arange(100), labels] = 0.8  # top-class probability 0.8 everywhere
    out = metrics._coverage_from_logits(probs.log())
    assert out["histogram"] == pytest.approx([0.5, 0.45, 0.05] + [0.0] * 7)
    assert out["classes_covered"] == 3
    assert "confidence" not in out  # not a quality measure: noise scores best (see mode_coverage)
    assert out["kl_to_uniform"] == pytest.approx(0.5 * math.log(5) + 0.45 * math.log(4.5) + 0.05 * math.log(0.5))
    # 4 of 100 is below half the uniform share: not covered
    labels[-1] = 0
    probs = torch.full((100, 10), 0.01, dtype=torch.float64)
    probs[torch.arange(100), labels] = 0.91
    assert metrics._coverage_from_logits(probs.log())["classes_covered"] == 2


# ------------------------------------------------------------------ toy metrics, by hand

def test_toy_metrics_on_constructed_points() -> None:
    ring = toy_mixture("ring")
    c, s = ring.centres, ring.std
    pts = torch.cat([
        c[0].repeat(30, 1),                               # 30 exactly on mode 0
        c[1] + torch.tensor([2.9 * s, 0.0]).repeat(25, 1),  # 25 at 2.9σ of mode 1: high quality
        c[2].repeat(10, 1),                               # 10 on mode 2: high quality, too few to cover it
        c[3] + torch.tensor([0.0, 3.1 * s]).repeat(5, 1),   # 5 at 3.1σ of mode 3: not high quality
        torch.zeros(30, 2),                               # 30 at the ring's centre, far from every mode
    ])
    out = metrics.toy_metrics(pts, ring, min_count=20)
    assert out["high_quality"] == pytest.approx(65 / 100)
    assert out["modes_covered"] == 2 and out["n_modes"] == 8
    assert metrics.toy_metrics(pts, ring, min_count=10)["modes_covered"] == 3


def test_toy_metrics_default_threshold_and_perfect_samples() -> None:
    assert metrics.toy_min_count(2500) == 20
    assert metrics.toy_min_count(500) == 4
    assert metrics.toy_min_count(10) == 1
    grid = toy_mixture("grid")
    g = torch.Generator().manual_seed(0)
    k = torch.arange(2500) % 25
    pts = grid.centres[k] + grid.std * torch.randn(2500, 2, generator=g)
    out = metrics.toy_metrics(pts, grid)
    assert out["modes_covered"] == 25 and out["min_count"] == 20
    # within 3σ in 2-D: P(χ²₂ ≤ 9) = 1 − e^{−4.5} ≈ 0.989
    assert out["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    collapsed = metrics.toy_metrics(grid.centres[3] + 0 * pts, grid)
    assert collapsed["modes_covered"] == 1 and collapsed["high_quality"] == 1.0


# ------------------------------------------------------------------ bad input

def test_bad_dataset_and_shapes_raise_one_line_errors() -> None:
    x = torch.zeros(4, 1, 28, 28)
    with pytest.raises(GanlibError, match="mnist, fashion-mnist"):
        metrics.mode_coverage(x, dataset="cifar10")
    with pytest.raises(GanlibError, match="mnist, fashion-mnist"):
        metrics.frechet_classifier_distance(x, x, dataset="ring")
    with pytest.raises(GanlibError, match=r"\(N, 1, 28, 28\)"):
        metrics.mode_coverage(torch.zeros(4, 28, 28))
    with pytest.raises(GanlibError, match=r"\(N, 1, 28, 28\)"):
        metrics.frechet_classifier_distance(torch.zeros(4, 3, 28, 28), x)
    with pytest.raises(GanlibError, match=r"\[-1, 1\]"):
        metrics.mode_coverage(torch.full((4, 1, 28, 28), 255.0))
    with pytest.raises(GanlibError, match=r"\(N, 2\)"):
        metrics.toy_metrics(torch.zeros(5, 3), toy_mixture("ring"))
    for bad in (float("nan"), float("inf")):
        y = x.clone()
        y[1, 0, 3, 3] = bad
        with pytest.raises(GanlibError, match="1 of 4 images hold NaN or infinite values") as info:
            metrics.image_metrics(y)
        assert "\n" not in str(info.value)
        with pytest.raises(GanlibError, match="NaN or infinite"):
            metrics.frechet_classifier_distance(y)
    for err in ("cifar10", "ring"):
        with pytest.raises(GanlibError) as info:
            metrics.mode_coverage(x, dataset=err)
        assert "\n" not in str(info.value)


# ------------------------------------------------------------------ classifier and shipped weights

@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_shipped_weights_are_small_and_recorded(dataset: str) -> None:
    path = weights_path(dataset)
    rec = load_record(dataset)
    assert path.stat().st_size < 1_000_000, "the classifier must stay a few hundred KB"
    assert rec["weights_sha256"] == file_sha256(path)
    for key in ("command", "split", "seed", "heldout_accuracy", "n_train", "n_heldout", "data_source"):
        assert key in rec
    assert rec["command"].startswith(f"python -m ganlib train-classifier --dataset {dataset}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert all(v.dtype in (torch.float32, torch.int64) for v in state.values())
    ref = rec["reference"]
    assert ref["name"] == REFERENCES[dataset] and ref["stats_sha256"] == file_sha256(reference_path(dataset))
    assert ref["n"] == 10_000 and rec["n_train"] == 55_000 and rec["n_heldout"] == 5_000
    stats = metrics.reference_statistics(dataset)
    assert stats.mu.shape == (128,) and stats.sigma.shape == (128, 128) and stats.n == ref["n"]
    assert stats.source == REFERENCES[dataset]
    assert "/" not in rec["data_source"], "records carry no machine paths"
    model = load_classifier(dataset)
    assert not model.training
    f, z = model.features_and_logits(torch.zeros(2, *IMAGE_SHAPE))
    assert f.shape == (2, 128) and z.shape == (2, 10)


def test_the_recorded_architecture_is_the_first_line_of_the_classifiers_docstring() -> None:
    # ARCHITECTURE is written out because python -OO removes docstrings; the two must say the same
    assert SmallCNN.__doc__.splitlines()[0] == ARCHITECTURE


def test_augment_identity_and_background() -> None:
    x = to_float(torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8))
    g = torch.Generator().manual_seed(0)
    same = augment(x, g, max_rot=0.0, max_shift=0.0, scale=0.0)
    assert torch.allclose(same, x, atol=1e-5)
    # a pure shift of a black image keeps it black: the padding is the background value −1
    black = -torch.ones(4, 1, 28, 28)
    assert torch.allclose(augment(black, g), black, atol=1e-6)


# ------------------------------------------------------------------ on real data

@pytest.fixture(scope="module")
def offline_env(offline_data, tmp_path_factory):
    """GANLIB_DATA pointed at the offline data; the disk cache of real statistics in a temporary folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANLIB_DATA", offline_data)
        mp.setenv("GANLIB_CACHE", str(tmp_path_factory.mktemp("ganlib-cache")))
        yield offline_data


@pytest.fixture(scope="module")
def mnist(offline_env) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_images("mnist", verbose=False)
    return to_float(data.images), data.labels


@pytest.mark.parametrize("dataset, least", [("mnist", 0.98), ("fashion-mnist", 0.89)])
def test_classifier_accuracy_on_held_out_and_reference_images(offline_env, dataset: str, least: float) -> None:
    """The record names the images the classifier trained on and held out, and its accuracies on the held-out
    part of the train split and on the reference (the test split) are what it states and at least ``least``."""
    rec = load_record(dataset)
    split, ref = classifier_split(dataset, verbose=False), reference_set(dataset, verbose=False)
    assert images_sha256_16(split.train_x) == rec["train_sha256_16"], "not the training images the record names"
    assert images_sha256_16(split.test_x) == rec["heldout_sha256_16"], "not the held-out images the record names"
    assert images_sha256_16(ref.images) == rec["reference"]["images_sha256_16"]
    assert len(split.train_x) == 55_000 and len(split.test_x) == 5_000 and len(ref.images) == 10_000
    model = load_classifier(dataset)
    held, on_ref = accuracy(model, split.test_x, split.test_y), accuracy(model, ref.images, ref.labels)
    assert held >= least and on_ref >= least
    assert held == pytest.approx(rec["heldout_accuracy"], abs=1e-3)
    assert on_ref == pytest.approx(rec["reference"]["classifier_accuracy"], abs=1e-3)


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_classifier_training_images_are_disjoint_from_the_reference(offline_env, dataset: str) -> None:
    split, ref = classifier_split(dataset, verbose=False), reference_set(dataset, verbose=False)
    digest = lambda imgs: {bytes(x.numpy().tobytes()) for x in imgs}  # noqa: E731
    assert not digest(split.train_x) & digest(split.test_x)  # the held-out images are not trained on
    assert not digest(split.train_x) & digest(ref.images)  # nor the reference


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_reference_statistics_are_the_reference_images_and_need_no_data(offline_env, monkeypatch, dataset) -> None:
    """The shipped μ_r, Σ_r are recomputed from the test split's images through the shipped classifier."""
    ref = reference_set(dataset, verbose=False)
    again = metrics.gaussian_stats(metrics.classifier_features(to_float(ref.images), dataset))
    shipped = metrics.reference_statistics(dataset)
    assert shipped.n == again.n == 10_000
    assert torch.allclose(shipped.mu, again.mu, atol=1e-5) and torch.allclose(shipped.sigma, again.sigma, atol=1e-5)
    # the same FCD whatever GANLIB_DATA holds: the reference is read from the shipped file only
    fake = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    before = metrics.frechet_classifier_distance(fake, dataset=dataset)
    monkeypatch.setenv("GANLIB_DATA", "/nonexistent")
    monkeypatch.setattr(metrics, "_REFERENCE_STATS", {})
    assert metrics.frechet_classifier_distance(fake, dataset=dataset) == before


def test_a_damaged_reference_file_is_refused(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "mnist-reference.pt"
    bad.write_bytes(reference_path("mnist").read_bytes() + b"x")
    monkeypatch.setattr(metrics, "reference_path", lambda dataset: bad)
    monkeypatch.setattr(metrics, "_REFERENCE_STATS", {})
    with pytest.raises(GanlibError, match="does not match the sha256") as info:
        metrics.reference_statistics("mnist")
    assert "\n" not in str(info.value)


def test_fcd_sanity_values_against_the_reference(offline_env) -> None:
    """Real held-out digits, digits 0-4 and noise, each against the shipped reference (the 10,000 test
    digits), each with N = 5,000."""
    split = classifier_split("mnist", verbose=False)
    even = to_float(split.test_x)  # the 5,000 held-out train digits: real, and never trained on
    halves = metrics.frechet_classifier_distance(even)
    noise = metrics.frechet_classifier_distance(
        torch.rand(5000, 1, 28, 28, generator=torch.Generator().manual_seed(2)) * 2 - 1)
    low = split.test_y < 5
    dropped = metrics.frechet_classifier_distance(even[low])
    ref = reference_set("mnist", verbose=False)
    self_fcd = metrics.frechet_classifier_distance(to_float(ref.images))
    print(f"FCD vs reference: other half {halves:.3f}, digits 0-4 {dropped:.2f}, uniform noise {noise:.1f}, "
          f"the reference itself {self_fcd:.2e}")
    assert self_fcd == pytest.approx(0.0, abs=1e-3)
    assert halves < 0.01 * noise
    assert dropped >= 10 * halves


def test_mode_coverage_of_real_digits(mnist) -> None:
    x, y = mnist
    full = metrics.mode_coverage(x)
    noise = metrics.mode_coverage(torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    print(f"confidence: real digits {full['confidence']:.3f}, uniform noise {noise['confidence']:.3f}")
    low = metrics.mode_coverage(x[y < 5])
    assert full["classes_covered"] == 10 and low["classes_covered"] == 5
    assert sum(full["histogram"]) == pytest.approx(1.0)
    assert full["kl_to_uniform"] < 0.01
    # five equally likely classes: KL ≈ ln 2
    assert low["kl_to_uniform"] == pytest.approx(math.log(2), abs=0.05)
    assert full["confidence"] > 0.95


def _cpu_seconds(fn) -> tuple[float, object]:
    """CPU seconds of this process spent in ``fn()`` (with one torch thread, time another job takes from
    the CPU is not counted, and no idle thread spins), and its result."""
    c0 = time.process_time()
    out = fn()
    return time.process_time() - c0, out


def test_metrics_of_10000_images_cost_one_classifier_pass(mnist) -> None:
    """All image metrics of 10,000 images come from one pass of the classifier: their CPU time is at most
    1.5 times that of ``classifier_features`` alone (FCD's 128×128 matrix square roots and the coverage
    histogram add little), and under 10 CPU seconds on one thread. Both are measured in one run, in
    alternating rounds, each at its fastest, so a busy machine slows both alike."""
    x, _ = mnist
    x = x[:10_000]
    metrics.reference_statistics("mnist")  # read once per process
    metrics.classifier_features(x[:100])  # loads the classifier
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    features, seconds = [], []
    try:
        for _ in range(3):
            features.append(_cpu_seconds(lambda: metrics.classifier_features(x))[0])
            took, out = _cpu_seconds(lambda: metrics.image_metrics(x))
            seconds.append(took)
    finally:
        torch.set_num_threads(threads)
    features, seconds = min(features), min(seconds)
    print(f"one thread, 10,000 images: classifier features {features:.2f} CPU s, all image metrics {seconds:.2f} CPU s")
    assert seconds <= 1.5 * features, (seconds, features)
    assert seconds < 10
    assert set(out) == {"fcd", "fcd_n", "fcd_reference", "classes_covered", "kl_to_uniform", "histogram"}
    assert out["fcd_n"] == 10_000 and out["fcd_reference"] == "mnist-test"


def test_evaluate_run_is_deterministic(offline_env) -> None:
    result, _, _ = new_run(TrainConfig(loss="nonsaturating", dataset="mnist", steps=1, device="cpu"),
                           torch.device("cpu"))
    a = metrics.evaluate_run(result, n=500, seed=3)
    b = metrics.evaluate_run(result, n=500, seed=3)
    c = metrics.evaluate_run(result, n=500, seed=4)
    assert a == b
    assert a["fcd"] != c["fcd"]
    assert set(a) == {"fcd", "fcd_n", "fcd_reference", "classes_covered", "kl_to_uniform", "histogram"}
    assert a["fcd_n"] == 500 and metrics.evaluate_run(result, seed=3)["fcd_n"] == metrics.FCD_SAMPLES == 10_000
    toy, _, _ = new_run(TrainConfig(loss="hinge", dataset="ring", steps=1, device="cpu"), torch.device("cpu"))
    assert metrics.evaluate_run(toy, seed=1) == metrics.evaluate_run(toy, seed=1)
    assert {"modes_covered", "high_quality"} <= set(metrics.evaluate_run(toy))


# ------------------------------------------------------------------ command line

def test_cli_evaluate_writes_metrics_json(tmp_path, capsys) -> None:
    run = tmp_path / "ring"
    train(TrainConfig(loss="nonsaturating", dataset="ring", steps=20, device="cpu"), run, verbose=False)
    assert cli.main(["evaluate", str(run), "--samples", "1000", "--seed", "2"]) == 0
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["samples"] == 1000 and saved["seed"] == 2 and saved["step"] == 20
    assert saved["metrics"] == metrics.evaluate_run(__import__("ganlib").load_run(run), 1000, 2)
    assert "modes_covered" in capsys.readouterr().out


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_the_fcds_evaluate_compares_with_are_what_they_say(offline_env, dataset) -> None:
    """evaluate puts an FCD beside two others: 10,000 real training images against the reference
    (recomputed here) and one finished run of the stored comparison (read from its results.json)."""
    from ganlib.metrics_cli import REAL_FCD, TRAINED_FCD

    real = to_float(load_images(dataset, verbose=False).images[:10_000])
    assert round(metrics.image_metrics(real, dataset)["fcd"], 1) == REAL_FCD[dataset]
    loss, steps, fcd = TRAINED_FCD[dataset]
    stored = json.loads((ROOT / "book" / "results" / "grid" / "results.json").read_text())
    runs = stored["datasets"][dataset]["experiments"]["controlled"]["runs"]
    (run,) = [r for r in runs if r["loss"] == loss and r["seed"] == 0]
    assert (run["steps"], round(run["fcd"], 1)) == (steps, fcd)


def test_cli_evaluate_of_images_says_what_its_fcd_compares_with(offline_env, tmp_path, capsys) -> None:
    run = tmp_path / "mnist"
    train(TrainConfig(loss="nonsaturating", dataset="mnist", steps=2, batch_size=8, device="cpu"), run, verbose=False)
    assert cli.main(["evaluate", str(run), "--samples", "200"]) == 0
    out = capsys.readouterr().out
    assert "10,000 real MNIST training images score 1.2" in out and "61.9 after 3,000 steps" in out
    assert out.strip().splitlines()[-1].endswith("or compare the losses (python -m ganlib compare)")


def test_cli_evaluate_missing_or_invalid_dir(tmp_path, capsys) -> None:
    assert cli.main(["evaluate", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no run folder" in err
    assert cli.main(["evaluate", str(tmp_path)]) == 2  # a folder without checkpoint.pt
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "checkpoint" in err
    (tmp_path / "checkpoint.pt").write_text("not a checkpoint")
    assert cli.main(["evaluate", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_cli_train_classifier_writes_weights_and_record(offline_env, tmp_path) -> None:
    out = tmp_path / "cls.pt"
    assert cli.main(["train-classifier", "--dataset", "mnist", "--epochs", "1", "--out", str(out)]) == 0
    rec = json.loads(out.with_suffix(".json").read_text())
    expected = f"python -m ganlib train-classifier --dataset mnist --epochs 1 --seed 0 --no-augment --out {out}"
    assert rec["command"] == expected
    assert rec["n_train"] == 55_000 and rec["n_heldout"] == 5_000 and "held out for validation" in rec["split"]
    assert 0.5 < rec["heldout_accuracy"] <= 1.0
    model = SmallCNN()
    model.load_state_dict(torch.load(out, weights_only=True))
    # the shipped weights were not touched
    assert load_record("mnist")["epochs"] != 1


def test_non_finite_toy_points_are_refused() -> None:
    pts = torch.zeros(10, 2)
    pts[3, 1] = float("nan")
    with pytest.raises(metrics.NonFiniteSamples, match="1 of 10 points hold NaN") as info:
        metrics.toy_metrics(pts, toy_mixture("ring"))
    assert isinstance(info.value, GanlibError) and "\n" not in str(info.value)
