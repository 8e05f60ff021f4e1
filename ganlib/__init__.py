"""ganlib: the tested library behind the GAN Loss Lab course.

The six losses, the networks, device-resident data, one training loop, figures and the CLI.
``ganlib.train`` is the training function: ``ganlib.train(ganlib.TrainConfig(...))``. Training is split by job
into ``config`` (TrainConfig), ``step`` (TrainStep, TrainResult), ``loop`` (train) and ``checkpoint``.
"""

from .budget import BUDGET_NAMES, Budget, get_budget
from .checkpoint import load_run
from .config import TrainConfig
from .data import load_images, make_sampler, toy_mixture
from .datasets import DATASETS, DatasetSpec, dataset_spec
from .errors import GanlibError, TrainingDiverged, TrainingInterrupted
from .loop import train
from .losses import LOSS_NAMES, GANLoss, Recipe, get_loss, gradient_penalty
from .metrics import evaluate_run, frechet_classifier_distance, mode_coverage, toy_metrics
from .step import TrainResult

__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it from here
__all__ = ["BUDGET_NAMES", "Budget", "get_budget", "DATASETS", "DatasetSpec", "dataset_spec", "load_images",
           "make_sampler", "toy_mixture", "GanlibError", "TrainingDiverged", "TrainingInterrupted", "LOSS_NAMES",
           "GANLoss", "Recipe", "get_loss", "gradient_penalty", "TrainConfig", "TrainResult", "train", "load_run",
           "evaluate_run", "frechet_classifier_distance", "mode_coverage", "toy_metrics"]
