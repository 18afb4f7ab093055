"""One trainer for every method."""

from artforge.train.config import TrainConfig
from artforge.train.trainer import config_for_resume, train

__all__ = ["TrainConfig", "config_for_resume", "train"]
