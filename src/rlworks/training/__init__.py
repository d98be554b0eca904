"""The training architecture: driver and observers, metrics, trainer loop, evaluation,
checkpoints and run directories (TF-Agents' concepts, lean)."""

from rlworks.training.callbacks import (
    Callback,
    CheckpointCallback,
    CSVLogger,
    ProgressBar,
    TensorBoardLogger,
)
from rlworks.training.checkpoint import load_checkpoint, save_checkpoint
from rlworks.training.driver import Driver, DriverResult, Observer, Policy
from rlworks.training.evaluation import EvalResult, evaluate
from rlworks.training.metrics import (
    AverageEpisodeLength,
    AverageReturn,
    EnvironmentSteps,
    EpisodeProgress,
    Metric,
    NumberOfEpisodes,
    log_metrics,
)
from rlworks.training.trainer import TrainConfig, TrainResult, TrainState, train

__all__ = [
    "AverageEpisodeLength",
    "AverageReturn",
    "CSVLogger",
    "Callback",
    "CheckpointCallback",
    "Driver",
    "DriverResult",
    "EnvironmentSteps",
    "EpisodeProgress",
    "EvalResult",
    "Metric",
    "NumberOfEpisodes",
    "Observer",
    "Policy",
    "ProgressBar",
    "TensorBoardLogger",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "evaluate",
    "load_checkpoint",
    "log_metrics",
    "save_checkpoint",
    "train",
]
