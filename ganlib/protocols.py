"""The two protocols of the loss comparison, and the learning-rate sweep.

The protocols in words are the constants ``PAPER_DESCRIPTION`` (every loss with its own paper's recipe),
``CONTROLLED_DESCRIPTION`` (the loss is the only difference), ``SWEEP_DESCRIPTION`` (the learning-rate sweep
on MNIST) and ``NORMALISATION_DESCRIPTION`` (the critic-normalisation factor on MNIST); ``describe()``
returns them for results.json. They are written out below, not read from this docstring, which
``python -OO`` removes.

Equal compute: a generator step costs n_critic critic updates plus one generator update, so at equal
generator steps the paper protocol gives WGAN and WGAN-GP five times the critic updates of the others;
every evaluation therefore records its generator step, its critic updates and its training seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from .datasets import dataset_spec
from .errors import GanlibError, check_choice

# the protocols in words (describe(), results.json; the chapters quote them from there)
PAPER_DESCRIPTION = ("paper: every loss trains with the recipe of its own paper (ganlib.get_loss(name).recipe): "
                     "minimax, non-saturating, LSGAN and hinge with Adam (lr 2·10⁻⁴, β = (0.5, 0.999)), one critic "
                     "step per generator step and a batch-norm discriminator; WGAN with RMSprop (lr 5·10⁻⁵), five "
                     "critic steps, weight clipping to ±0.01 and a batch-norm critic; WGAN-GP with Adam (lr 10⁻⁴, "
                     "β = (0, 0.9)), five critic steps, the penalty λ = 10 and a layer-norm critic (its paper rules "
                     "out batch norm in the critic). The networks are the same DCGAN pair (the ring: the same small "
                     "MLPs, with every rate TOY_LR_SCALE = 5 times the recipe's); the recipes differ.")
CONTROLLED_DESCRIPTION = ("controlled: the loss is the only difference. Every loss trains the same generator and "
                          "the same critic with layer normalisation (d_norm=\"layer\": GroupNorm with one group in "
                          "the image critic, LayerNorm in the toy critic; it treats each sample on its own, which "
                          "WGAN-GP's penalty allows, unlike batch norm), one optimiser for both networks, Adam with "
                          "lr 2·10⁻⁴ and β = (0.5, 0.999), and one critic update per generator step (n_critic=1) "
                          "for every loss. What belongs to a loss stays with it: WGAN clips every critic weight to "
                          "±0.01 after each critic update, WGAN-GP adds λ·GP with λ = 10. On the 2-D toys the "
                          "learning rate is TOY_LR_SCALE × 2·10⁻⁴ = 10⁻³, as for the paper recipes.")
SWEEP_DESCRIPTION = ("Sweep: under controlled on MNIST, every loss also trains at SWEEP_LRS = 6.3·10⁻⁵, 2·10⁻⁴ and "
                     "6.3·10⁻⁴ (a factor 10 from the smallest to the largest, the middle one the protocol's own "
                     "rate, whose runs are the controlled grid itself), everything else as in controlled; the two "
                     "extra rates run with the first budget.sweep_seeds seeds.")
NORMALISATION_DESCRIPTION = ("Normalisation: under controlled on MNIST, every loss also trains with the critic's "
                             "layer norm replaced by NORM_FACTOR: batch norm (d_norm=\"batch\") and spectral "
                             "normalisation of every critic weight (d_norm=\"spectral\", Miyato et al. 2018), "
                             "everything else as in controlled, with the first budget.norm_seeds seeds. WGAN-GP is "
                             "not run with batch norm: its penalty treats each sample's gradient on its own, which "
                             "batch norm couples across the batch (Gulrajani et al. 2017, §4).")

PROTOCOLS: tuple[str, ...] = ("paper", "controlled")
# the controlled protocol's settings, the same for all six losses (clip and gp_lambda stay with theirs)
CONTROLLED: dict = {"optimizer": "adam", "lr": 2e-4, "betas": (0.5, 0.999), "n_critic": 1, "d_norm": "layer"}
SWEEP_LRS: tuple[float, ...] = (6.3e-5, 2e-4, 6.3e-4)
SWEEP_DATASET = "mnist"  # the sweep and the normalisation factor run on this dataset only
NORM_FACTOR: tuple[str, ...] = ("batch", "spectral")  # the controlled protocol's own, layer, is the third level
# (loss, d_norm) pairs that are not run: WGAN-GP's per-sample penalty with batch norm
INVALID_PAIRS: frozenset[tuple[str, str]] = frozenset({("wgan-gp", "batch")})


@dataclass(frozen=True)
class Experiment:
    """One cell group of the comparison: a protocol on a dataset, at the protocol's or a swept lr."""

    protocol: str
    dataset: str
    lr: float | None = None  # None: the protocol's own rate
    d_norm: str | None = None  # None: the protocol's own critic normalisation

    def __post_init__(self) -> None:
        check_choice("protocol", self.protocol, PROTOCOLS)
        if self.lr is not None and (self.protocol != "controlled" or self.lr <= 0):
            raise GanlibError(f"a swept learning rate needs the controlled protocol and lr > 0, got "
                              f"{self.protocol} with lr {self.lr}")
        if self.d_norm is not None:
            check_choice("critic normalisation", self.d_norm, NORM_FACTOR + (CONTROLLED["d_norm"],))
            if self.protocol != "controlled" or self.lr is not None:
                raise GanlibError(f"a critic normalisation of the factor needs the controlled protocol at its own "
                                  f"rate, got {self.protocol} with lr {self.lr}")

    @property
    def variant(self) -> str:
        """``paper``, ``controlled``, ``controlled-lr6.3e-05`` or ``controlled-norm-spectral``: names the
        experiment in paths and results."""
        if self.d_norm is not None and self.d_norm != CONTROLLED["d_norm"]:
            return f"{self.protocol}-norm-{self.d_norm}"
        if self.lr is None or self.lr == CONTROLLED["lr"]:
            return self.protocol
        return f"{self.protocol}-lr{self.lr:.1e}"

    def runs_loss(self, loss: str) -> bool:
        """Whether this experiment trains ``loss`` (not WGAN-GP with batch norm)."""
        return (loss, self.d_norm) not in INVALID_PAIRS

    @property
    def resolved_lr(self) -> float | None:
        """The learning rate every loss gets (``None`` under ``paper``: each recipe's own)."""
        return None if self.protocol == "paper" else (self.lr or CONTROLLED["lr"])

    def overrides(self) -> dict:
        """``TrainConfig`` fields this experiment sets (none under ``paper``); the learning rate on the
        dataset's scale (``DatasetSpec.lr_scale``)."""
        if self.protocol == "paper":
            return {}
        lr = self.resolved_lr * dataset_spec(self.dataset).lr_scale
        return {**CONTROLLED, "lr": lr, "d_norm": self.d_norm or CONTROLLED["d_norm"]}


def parse_variant(variant: str) -> tuple[str, float | None, str | None]:
    """``(protocol, lr, d_norm)`` of the experiment that ``variant`` names: the inverse of
    ``Experiment.variant``, which writes ``paper``, ``controlled``, ``controlled-lr6.3e-05`` or
    ``controlled-norm-spectral``; ``None`` for the protocol's own rate and normalisation."""
    protocol, _, change = variant.partition("-")
    check_choice("protocol", protocol, PROTOCOLS)
    lr, d_norm = None, None
    try:
        if change.startswith("lr"):
            lr = float(change[2:])
        elif change.startswith("norm-"):
            d_norm = change[len("norm-"):]
        elif change:
            raise ValueError(change)
        canonical = Experiment(protocol, "", lr, d_norm).variant
    except (ValueError, GanlibError):
        canonical = None
    if canonical != variant:
        raise GanlibError(f"unknown experiment {variant!r}; an experiment is a protocol (paper, controlled), "
                          f"optionally followed by -lr<rate> (as in controlled-lr{SWEEP_LRS[0]:.1e}) or "
                          f"-norm-<normalisation> ({', '.join(NORM_FACTOR)})")
    return protocol, lr, d_norm


def experiments(datasets: list[str] | tuple[str, ...], protocols: list[str] | tuple[str, ...] = PROTOCOLS,
                sweep: bool = True, norms: bool = True) -> list[Experiment]:
    """Every experiment of a comparison, in the order they are trained: on each dataset, each protocol,
    then on ``SWEEP_DATASET`` (when it and ``controlled`` are included) the critic normalisations of
    ``NORM_FACTOR`` and the lr sweep's two rates besides the controlled one."""
    for p in protocols:
        check_choice("protocol", p, PROTOCOLS)
    out = []
    for d in datasets:
        out += [Experiment(p, d) for p in protocols]
        if d == SWEEP_DATASET and "controlled" in protocols:
            out += [Experiment("controlled", d, d_norm=n) for n in NORM_FACTOR] if norms else []
            out += [Experiment("controlled", d, lr) for lr in SWEEP_LRS if lr != CONTROLLED["lr"]] if sweep else []
    return out


def describe() -> dict:
    """The protocols in words, for results.json (the chapter quotes them from there)."""
    return {"paper": PAPER_DESCRIPTION, "controlled": CONTROLLED_DESCRIPTION, "sweep": SWEEP_DESCRIPTION,
            "normalisation": NORMALISATION_DESCRIPTION,
            "norm_factor": list(NORM_FACTOR), "controlled_settings": {**CONTROLLED, "betas": list(CONTROLLED["betas"])},
            "sweep_lrs": list(SWEEP_LRS)}
