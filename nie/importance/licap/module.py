"""LICAP pre-training as a LightningModule: one full-graph step per epoch on the contrastive loss,
keeping the embeddings of the epoch with the lowest loss (computed before that epoch's update)."""

from __future__ import annotations

from typing import Any, Callable, cast

import lightning.pytorch as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from typing_extensions import override

from nie.importance.kernels import Graph
from nie.importance.licap.bins import TopBins
from nie.importance.models.pregat import PreGAT


class LICAPPretraining(pl.LightningModule):
    """PreGAT on the whole graph; ``loss(embeddings, bins)`` is LICAP's top-bin + finer-bin loss."""

    def __init__(
        self,
        graph: Graph,
        x: Tensor,
        bins: TopBins,
        num_relations: int,
        settings: dict[str, Any],
        loss: Callable[[Tensor, TopBins], Tensor],
    ) -> None:
        super().__init__()
        s = settings
        self.encoder = PreGAT(x.shape[1], num_relations, s["hidden"], s["heads"], s["out_dim"], s["predicate_dim"])
        self.graph, self.x, self.bins, self.settings, self.contrastive_loss = graph, x, bins, settings, loss
        self.best: Tensor | None = None
        self.best_loss = float("inf")
        self.epochs = 0

    @override
    def train_dataloader(self) -> DataLoader[int]:
        one_step = cast(Dataset[int], [0])  # a list serves as a map-style dataset (length and indexing)
        return DataLoader(one_step, batch_size=None)  # one full-graph step per epoch

    @override
    def on_fit_start(self) -> None:
        self.graph, self.x, self.bins = self.graph.to(self.device), self.x.to(self.device), self.bins.to(self.device)

    @override
    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        embeddings = self.encoder(self.graph, self.x)
        loss = self.contrastive_loss(embeddings, self.bins)
        if loss.item() < self.best_loss:
            self.best, self.best_loss = embeddings.detach(), loss.item()
        self.epochs += 1
        self.log("pretrain/loss", loss, on_step=False, on_epoch=True, batch_size=1)
        return loss

    @override
    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(
            self.encoder.parameters(), lr=self.settings["lr"], weight_decay=self.settings["weight_decay"]
        )
