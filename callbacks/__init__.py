"""Training callbacks: early stopping with a warm-up, gradient clipping with norm logging, named checkpoints."""

from callbacks.checkpoint import HParamCheckpoint
from callbacks.early_stopping import MinEpochsEarlyStopping
from callbacks.gradient_clipping import GradientNormClipping

__all__ = ["GradientNormClipping", "HParamCheckpoint", "MinEpochsEarlyStopping"]
