"""The two protocols: what each sets, that the words describing them match the code, the sweep."""

from __future__ import annotations

import pytest

from ganlib import GanlibError, TrainConfig, get_loss
from ganlib.losses import LOSS_NAMES, TOY_LR_SCALE
from ganlib.protocols import CONTROLLED, SWEEP_LRS, Experiment, describe, experiments, parse_variant


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_controlled_leaves_only_the_loss_and_its_own_clip_or_penalty_different(loss):
    recipe = TrainConfig(loss=loss, dataset="mnist", **Experiment("controlled", "mnist").overrides()).recipe()
    assert (recipe.optimizer, recipe.lr, recipe.betas, recipe.n_critic, recipe.d_norm) == \
           ("adam", 2e-4, (0.5, 0.999), 1, "layer")
    paper = get_loss(loss).recipe
    assert (recipe.clip, recipe.gp_lambda) == (paper.clip, paper.gp_lambda)
    toy = TrainConfig(loss=loss, dataset="ring", **Experiment("controlled", "ring").overrides()).recipe()
    assert toy.lr == pytest.approx(TOY_LR_SCALE * 2e-4) and toy.d_norm == "layer"


def test_paper_sets_nothing_and_its_description_matches_the_recipes():
    assert Experiment("paper", "mnist").overrides() == {}
    text = describe()["paper"]
    wgan, gp, ns = get_loss("wgan").recipe, get_loss("wgan-gp").recipe, get_loss("nonsaturating").recipe
    assert (wgan.optimizer, wgan.lr, wgan.n_critic, wgan.clip, wgan.d_norm) == ("rmsprop", 5e-5, 5, 0.01, "batch")
    assert (gp.optimizer, gp.lr, gp.betas, gp.n_critic, gp.gp_lambda, gp.d_norm) == (
        "adam", 1e-4, (0.0, 0.9), 5, 10.0, "layer")
    assert all(get_loss(n).recipe == ns for n in ("minimax", "lsgan", "hinge"))
    assert (ns.optimizer, ns.lr, ns.betas, ns.n_critic, ns.d_norm) == ("adam", 2e-4, (0.5, 0.999), 1, "batch")
    for words in ("RMSprop (lr 5·10⁻⁵), five critic steps", "clipping to ±0.01", "lr 10⁻⁴, β = (0, 0.9)",
                  "λ = 10 and a layer-norm critic", "Adam (lr 2·10⁻⁴, β = (0.5, 0.999)), one critic step"):
        assert words in text
    assert describe()["controlled_settings"] == {**CONTROLLED, "betas": [0.5, 0.999]}


def test_sweep_spans_ten_times_around_the_controlled_rate():
    assert SWEEP_LRS[-1] / SWEEP_LRS[0] == pytest.approx(10.0) and CONTROLLED["lr"] in SWEEP_LRS
    exps = experiments(["mnist", "ring"])
    assert [e.variant for e in exps] == ["paper", "controlled", "controlled-norm-batch", "controlled-norm-spectral",
                                         "controlled-lr6.3e-05", "controlled-lr6.3e-04", "paper", "controlled"]
    assert all(e.dataset == "mnist" for e in exps[:6]) and all(e.dataset == "ring" for e in exps[6:])
    assert [e.variant for e in experiments(["mnist"], sweep=False, norms=False)] == ["paper", "controlled"]
    assert [e.variant for e in experiments(["ring"])] == ["paper", "controlled"]
    assert [e.variant for e in experiments(["mnist"], ["paper"])] == ["paper"]
    assert Experiment("controlled", "mnist", 6.3e-4).overrides()["lr"] == 6.3e-4


def test_the_normalisation_factor_swaps_only_the_critic_normalisation():
    spectral = Experiment("controlled", "mnist", d_norm="spectral")
    assert spectral.variant == "controlled-norm-spectral"
    assert spectral.overrides() == {**CONTROLLED, "d_norm": "spectral"}
    assert Experiment("controlled", "mnist", d_norm="layer").variant == "controlled"  # the protocol's own
    assert not Experiment("controlled", "mnist", d_norm="batch").runs_loss("wgan-gp")
    assert Experiment("controlled", "mnist", d_norm="batch").runs_loss("wgan")
    for bad in (dict(protocol="paper", d_norm="spectral"), dict(protocol="controlled", lr=1e-3, d_norm="batch")):
        with pytest.raises(GanlibError, match="controlled protocol at its own rate"):
            Experiment(dataset="mnist", **bad)
    with pytest.raises(GanlibError, match="batch, spectral, layer"):
        Experiment("controlled", "mnist", d_norm="group")


def test_bad_protocols_are_named():
    with pytest.raises(GanlibError, match="paper, controlled"):
        Experiment("fair", "mnist")
    with pytest.raises(GanlibError, match="controlled protocol"):
        Experiment("paper", "mnist", 1e-3)
    with pytest.raises(GanlibError, match="paper, controlled"):
        experiments(["mnist"], ["fair"])


def test_a_variant_names_one_experiment_and_reads_back_as_it():
    for e in experiments(["mnist", "ring"]):
        protocol, lr, d_norm = parse_variant(e.variant)
        assert Experiment(protocol, e.dataset, lr, d_norm) == e
    assert parse_variant("controlled-lr6.3e-04") == ("controlled", 6.3e-4, None)
    assert parse_variant("controlled-norm-batch") == ("controlled", None, "batch")
    assert parse_variant("paper") == ("paper", None, None)
    # only what Experiment.variant writes: not the protocol's own rate or norm, nor another spelling of a rate
    for bad in ("controlled-lr2.0e-04", "controlled-norm-layer", "controlled-lr0.00063", "paper-lr6.3e-04",
                "controlled-lrx", "controlled-norm-group", "paper-x"):
        with pytest.raises(GanlibError, match=f"unknown experiment '{bad}'; an experiment is a protocol"):
            parse_variant(bad)
    with pytest.raises(GanlibError, match="unknown protocol 'sweep'; choose one of: paper, controlled"):
        parse_variant("sweep")

