"""Early stopping warm-up and gradient-norm logging, on Lightning's BoringModel."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from lightning.pytorch.demos.boring_classes import BoringModel

from callbacks import GradientNormClipping, MinEpochsEarlyStopping


class FlatMetricModel(BoringModel):
    """A model whose monitored metric never improves."""

    def on_validation_epoch_end(self) -> None:
        self.log("val/spearman", 0.5)


def _fit(model: pl.LightningModule, *callbacks: pl.Callback, epochs: int = 30) -> pl.Trainer:
    trainer = pl.Trainer(
        max_epochs=epochs,
        callbacks=list(callbacks),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_train_batches=2,
        limit_val_batches=1,
    )
    trainer.fit(model)
    return trainer


def test_early_stopping_waits_for_min_epochs() -> None:
    spearman = {"monitor": "val/spearman", "mode": "max"}
    without = _fit(FlatMetricModel(), MinEpochsEarlyStopping(patience=2, min_epochs=0, **spearman))
    with_warmup = _fit(FlatMetricModel(), MinEpochsEarlyStopping(patience=2, min_epochs=10, **spearman))
    never = _fit(FlatMetricModel(), MinEpochsEarlyStopping(patience=None, **spearman), epochs=8)
    assert without.current_epoch == 3  # best at epoch 0, two epochs of patience
    assert with_warmup.current_epoch == 13  # the same, counted from epoch 10
    assert never.current_epoch == 8  # patience null: trains to max_epochs


def test_callbacks_need_a_monitor_and_a_positive_patience() -> None:
    import pytest

    from nie.core.errors import ConfigError

    with pytest.raises(ConfigError, match="needs monitor and mode"):
        MinEpochsEarlyStopping(patience=2)
    with pytest.raises(ConfigError, match="patience must be at least 1 or null"):
        MinEpochsEarlyStopping(monitor="val/rmse", mode="min", patience=0)


class NormProbe(pl.Callback):
    """Runs after the clipping callback and records the gradient norm the optimiser sees."""

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        grads = [p.grad for p in pl_module.parameters() if p.grad is not None]
        self.norm = float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])))


def test_gradient_clipping_logs_the_pre_clip_norm() -> None:
    probe = NormProbe()
    trainer = _fit(BoringModel(), GradientNormClipping(max_norm=1e-3), probe, epochs=1)
    logged = float(trainer.callback_metrics["train/grad_norm"])
    assert logged > 1e-3  # the norm before clipping ...
    assert probe.norm <= 1e-3 * 1.001  # ... while the optimiser saw the clipped gradients


class AmbiguousBatchModel(BoringModel):
    """Batches are dicts of tensors of different lengths, as graph batches are: no batch size to infer."""

    def train_dataloader(self):
        batches = [{"x": torch.randn(4, 32), "edges": torch.zeros(7)} for _ in range(2)]
        return torch.utils.data.DataLoader(batches, batch_size=None)

    def training_step(self, batch, batch_idx):
        return super().training_step(batch["x"], batch_idx)


def test_gradient_norm_is_logged_per_step_without_batch_size_inference(recwarn) -> None:
    _fit(AmbiguousBatchModel(), GradientNormClipping(max_norm=None), epochs=1)
    assert not [w for w in recwarn if "batch_size" in str(w.message)]
