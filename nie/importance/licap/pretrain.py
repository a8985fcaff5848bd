"""LICAP as a pre-training stage any NIE config can switch on (``data.pretraining``).

For one fold: sample the bins from that fold's training labels, train a PreGAT encoder on
L1 + L2 full-batch (its own Lightning ``Trainer`` on the run's device, the loss logged to the run's
TensorBoard as ``pretrain/loss``) until the loss stops improving, and return the best epoch's
embeddings, cached on disk by a hash of everything that determines them (inputs, graph, fold
labels, settings, seed). The datamodule then replaces (or extends) the input features with them.
Under DDP every process computes the same (seeded) embeddings or reads them from the cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal, Optional, Sequence

import lightning.pytorch as pl
import numpy as np
import numpy.typing as npt
import torch
from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor
from typing_extensions import override

from nie.core.cache import cached_array
from nie.core.errors import ConfigError
from nie.core.lightning_private import keeping_global_rank
from nie.core.seed import isolated_rng
from nie.importance.kernels import Graph
from nie.importance.licap.bins import TopBins, check_bin_settings, top_bins
from nie.importance.licap.losses import finer_bin_loss, top_bin_loss
from nie.importance.licap.module import LICAPPretraining
from nie.importance.spec import NodePretraining


class LICAP(NodePretraining):
    """Label-informed contrastive pre-training (Zhang et al., TNNLS 2024) of node embeddings.

    Args:
        mode: ``replace`` the input features with the embeddings, or ``concat`` them.
        inputs: which inputs are pre-trained, each separately with its own encoder: ``structural``
            (the network's features) and/or ``semantic`` (the text embeddings of ``data.semantic_features``).
        important_ratio, negative_ratio, negative_pool, bin_width: the bins (``nie.importance.licap.bins``).
        temperature: τ of both InfoNCE losses.
        top_weight, finer_weight: loss = top_weight·L1 + finer_weight·L2.
        hidden, heads, out_dim, predicate_dim: the PreGAT encoder.
        lr, weight_decay, max_epochs, patience, clip: Adam on the full graph; stop when the loss has
            not improved for ``patience`` epochs and keep the best epoch's embeddings; gradient norm
            clipped at ``clip``.
    """

    def __init__(
        self,
        mode: Literal["replace", "concat"] = "replace",
        inputs: Sequence[Literal["structural", "semantic"]] = ("structural",),
        important_ratio: float = 0.1,
        negative_ratio: float = 2.0,
        negative_pool: float = 0.5,
        bin_width: float = 1.0,
        temperature: float = 0.05,
        top_weight: float = 1.0,
        finer_weight: float = 1.0,
        hidden: int = 8,
        heads: int = 8,
        out_dim: int = 64,
        predicate_dim: int = 10,
        lr: float = 5e-3,
        weight_decay: float = 5e-4,
        max_epochs: int = 1000,
        patience: int = 20,
        clip: float = 10.0,
    ) -> None:
        check_bin_settings(important_ratio, negative_pool, bin_width)  # fail at start-up, not after loading
        if not inputs or len(set(inputs)) != len(inputs):
            raise ConfigError(f"LICAP inputs: name structural and/or semantic once each, got {list(inputs)}")
        self.mode, self.inputs = mode, tuple(inputs)
        self.settings = {k: v for k, v in locals().items() if k not in ("self", "mode", "inputs")}

    @override
    @property
    def run_name(self) -> str:
        """How run directories name this stage (``HParamCheckpoint`` dirs/hparams key ``pretraining``)."""
        name = "licap" if self.mode == "replace" else "licap_concat"
        return name if self.inputs == ("structural",) else "_".join([name, *self.inputs])

    @override
    def apply(self, x: Tensor, embeddings: Tensor) -> Tensor:
        return embeddings if self.mode == "replace" else torch.cat([x, embeddings], dim=1)

    @override
    def embeddings(
        self,
        graph: Graph,
        x: Tensor,
        num_relations: int,
        train_ids: Tensor,
        train_labels: Tensor,
        seed: int,
        cache_dir: str | Path,
        trainer: Optional[pl.Trainer] = None,
        input_name: str = "structural",
    ) -> Tensor:
        """Pre-trained embeddings [N, out_dim] (on the CPU) for this fold: only ``train_ids``' labels
        are given. Pre-training runs on the device of ``trainer`` (the run's), logging to its TensorBoard
        (the structural input's curve in the run's folder, another input's in a sub-folder of its name)."""
        key = {
            "method": "licap-v1",
            "settings": self.settings,
            "seed": seed,
            "inputs": _digest(x, graph.src, graph.dst, graph.rel, train_ids, train_labels),
        }
        shape = (graph.num_dst, self.settings["out_dim"])

        def build() -> npt.NDArray[np.float32]:
            embeddings = self.pretrain(graph, x, num_relations, train_ids, train_labels, seed, trainer, input_name)
            array: npt.NDArray[np.float32] = embeddings.cpu().numpy()
            return array

        return torch.from_numpy(cached_array(cache_dir, "licap", key, shape, build))

    def pretrain(
        self,
        graph: Graph,
        x: Tensor,
        num_relations: int,
        train_ids: Tensor,
        train_labels: Tensor,
        seed: int,
        run_trainer: Optional[pl.Trainer] = None,
        input_name: str = "structural",
    ) -> Tensor:
        """Sample the bins, train PreGAT on the run's device until the loss stops improving, and return the best
        epoch's embeddings."""
        device = run_trainer.strategy.root_device if run_trainer is not None else torch.device("cpu")
        with isolated_rng():  # PreGAT has no dropout: only its initialisation draws, on the CPU generator
            torch.manual_seed(seed)
            bins = self.sample_bins(train_ids, train_labels, seed)
            module = LICAPPretraining(graph, x, bins, num_relations, self.settings, self.loss)
            logger = _pretrain_logger(run_trainer, "" if input_name == "structural" else input_name)
            with keeping_global_rank():
                self.make_trainer(device, logger).fit(module)
        rank_zero_info(
            f"LICAP pre-training ({input_name}): best loss {module.best_loss:.4f} after {module.epochs} epochs "
            f"({len(bins.top)} top nodes in {bins.num_bins} finer bins, {len(bins.negatives)} negatives)"
        )
        if module.best is None:
            raise RuntimeError(f"LICAP pre-training ({input_name}) found no finite loss in {module.epochs} epochs")
        return module.best

    def sample_bins(self, train_ids: Tensor, train_labels: Tensor, seed: int) -> TopBins:
        """The top bin, its negatives and finer bins of this fold's training nodes (seeded)."""
        s = self.settings
        return top_bins(
            train_ids.cpu(),
            train_labels.cpu(),
            s["important_ratio"],
            s["negative_ratio"],
            s["negative_pool"],
            s["bin_width"],
            generator=torch.Generator().manual_seed(seed),
        )

    def make_trainer(self, device: torch.device, logger: TensorBoardLogger | bool) -> pl.Trainer:
        """A single-device Trainer that stops when the loss has not improved for ``patience`` epochs."""
        s = self.settings
        return pl.Trainer(
            accelerator={"cuda": "gpu", "mps": "mps"}.get(device.type, "cpu"),
            strategy=SingleDeviceStrategy(device),
            max_epochs=s["max_epochs"],
            callbacks=[
                EarlyStopping("pretrain/loss", patience=s["patience"], mode="min", check_on_train_epoch_end=True)
            ],
            gradient_clip_val=s["clip"],
            gradient_clip_algorithm="norm",
            logger=logger,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            log_every_n_steps=1,
            num_sanity_val_steps=0,
            limit_val_batches=0,
        )

    def loss(self, embeddings: Tensor, bins: TopBins) -> Tensor:
        top = embeddings[bins.top]
        s = self.settings
        top_term = top_bin_loss(top, embeddings[bins.negatives], s["temperature"])
        loss: Tensor = s["top_weight"] * top_term + s["finer_weight"] * finer_bin_loss(
            top, bins.bin_of_top, bins.bin_weights, s["temperature"]
        )
        return loss


def _digest(*tensors: Tensor) -> str:
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(np.ascontiguousarray(t.detach().cpu().numpy()).tobytes())
    return digest.hexdigest()


def _pretrain_logger(run_trainer: Optional[pl.Trainer], folder: str) -> TensorBoardLogger | bool:
    """The run's TensorBoard folder (one process writes), so ``pretrain/loss`` sits beside its curves."""
    if run_trainer is None or not run_trainer.is_global_zero:
        return False
    run_logger = run_trainer.logger
    if not isinstance(run_logger, TensorBoardLogger):
        return False
    return TensorBoardLogger(save_dir=run_logger.log_dir, name="", version=folder, default_hp_metric=False)
