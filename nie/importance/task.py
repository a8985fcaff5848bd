"""Node importance regression: one LightningModule drives every network (GNNs and baselines)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MetricCollection

from nie.core.errors import ConfigError
from nie.core.task import BaseTask, OptimizerName
from nie.importance.losses import listnet_loss
from nie.importance.metrics import importance_metrics
from nie.importance.spec import GraphBatch, GraphSpec

NetworkFactory = Callable[[GraphSpec], nn.Module]


def split_outputs(outputs: Tensor | tuple[Tensor, list[Tensor]]) -> tuple[Tensor, list[Tensor]]:
    """A network returns its prediction, or (prediction, auxiliary branch predictions)."""
    return outputs if isinstance(outputs, tuple) else (outputs, [])


class NodeImportanceTask(BaseTask):
    """Regress log-importance of labeled nodes; scored by NDCG@k, Spearman, OVERLAP@k and RMSE.

    Args:
        network: a network class and its arguments (``class_path``/``init_args``); it is built with
            the data's ``GraphSpec`` once the datamodule is set up.
        lr, weight_decay, optimizer: the optimiser (literature defaults: Adam, 5e-3, 5e-4).
        aux_weight: λ for networks with auxiliary branches (RGTN):
            (1 - λ)·MSE(main) + λ·mean(MSE(branches)).
        ltr_weight: α, weight of the ListNet learning-to-rank term (0 disables it).
        ltr_list_size: nodes per ListNet list.
        top_k: k of NDCG@k and OVERLAP@k.
    """

    headline_metrics = ("ndcg@100", "spearman", "overlap@100", "rmse")

    def __init__(
        self,
        network: NetworkFactory,
        lr: float = 5e-3,
        weight_decay: float = 5e-4,
        optimizer: OptimizerName = "adam",
        aux_weight: float = 0.8,
        ltr_weight: float = 0.0,
        ltr_list_size: int = 100,
        top_k: int = 100,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["network"], logger=False)
        self.network_factory = network
        self.network: nn.Module | None = None

    def build(self) -> None:
        datamodule = self.trainer.datamodule
        batch_size = datamodule.hparams.get("batch_size")
        if self.hparams.ltr_weight > 0 and batch_size is not None and batch_size < self.hparams.ltr_list_size:
            raise ConfigError(
                f"data.batch_size={batch_size} is smaller than model.ltr_list_size="
                f"{self.hparams.ltr_list_size}: every batch must hold a full ranking list"
            )
        self.spec: GraphSpec = datamodule.spec
        self.network = self.network_factory(self.spec)
        if getattr(self.network, "full_batch_only", False) and batch_size is not None:
            raise ConfigError(
                f"{type(self.network).__name__} needs the whole graph in every step: "
                "leave data.batch_size unset (full-batch training)"
            )

    def make_metrics(self) -> MetricCollection:
        return importance_metrics(self.hparams.top_k, with_rmse=getattr(self.network, "predicts_labels", True))

    def forward(self, batch: GraphBatch) -> Tensor | tuple[Tensor, list[Tensor]]:
        return self.network(batch)

    def loss(self, batch: GraphBatch, outputs: Tensor | tuple[Tensor, list[Tensor]]) -> Tensor:
        main, branches = split_outputs(outputs)
        idx, y = batch.target_index, batch.labels
        loss = F.mse_loss(main[idx], y)
        if branches:
            aux = torch.stack([F.mse_loss(b[idx], y) for b in branches]).mean()
            loss = (1 - self.hparams.aux_weight) * loss + self.hparams.aux_weight * aux
        if self.hparams.ltr_weight > 0:
            loss = loss + self.hparams.ltr_weight * listnet_loss(main[idx], y, self.hparams.ltr_list_size)
        return loss

    def training_step(self, batch: GraphBatch, batch_idx: int) -> Tensor | None:
        """The task's loss, or the network's own (``training_loss``: semi-supervised networks, whose
        loss needs several passes and the unlabeled nodes), logged term by term."""
        if not self.trainable:  # non-learned baselines were fit in on_fit_start
            return None
        own_loss = getattr(self.network, "training_loss", None)
        terms = own_loss(batch) if own_loss is not None else {"loss": self.loss(batch, self(batch))}
        for name, value in terms.items():
            self.log(f"train/{name}", value, on_step=False, on_epoch=True, batch_size=batch.target_index.numel())
        return terms["loss"]

    def _evaluate(self, batch: GraphBatch, metrics: MetricCollection) -> None:
        """Accumulate predictions; the loss is RMSE², which the metrics report exactly (also under DDP)."""
        main, _ = split_outputs(self(batch))
        metrics.update(main[batch.target_index], batch.labels)

    def validation_step(self, batch: GraphBatch, batch_idx: int) -> None:
        self._evaluate(batch, self.val_metrics)

    def test_step(self, batch: GraphBatch, batch_idx: int) -> None:
        self._evaluate(batch, self.test_metrics)

    def predict_step(self, batch: GraphBatch, batch_idx: int) -> dict[str, Tensor]:
        main, _ = split_outputs(self(batch))
        prediction = main[batch.target_index]
        return {
            "node": batch.output_nodes[batch.target_index],
            "score": self.spec.to_scores(prediction),
            "prediction": prediction,  # in the labels' space, where the metrics and an ensemble work
        }
