"""Node importance regression: one LightningModule drives every network (GNNs and baselines)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, cast, get_args

import pandas as pd
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor, nn
from torchmetrics import MetricCollection
from typing_extensions import override

from nie.core.contracts import LabelledStages
from nie.core.errors import ConfigError
from nie.core.naming import network_class
from nie.core.settings import Settings
from nie.core.task import BaseTask, OptimizerName
from nie.importance.contracts import (
    Explains,
    FitsOnTrainingData,
    NetworkFactory,
    NetworkOutput,
    OwnsTrainingLoss,
    check_sampled_layers,
    full_batch_only,
    predicts_labels,
)
from nie.importance.contracts import split_outputs as split_outputs  # re-exported: tests and benches import it here
from nie.importance.layerwise import evaluation_step, network_outputs
from nie.importance.losses import approx_ndcg_loss, lambdarank_loss, listnet_loss, pairwise_margin_loss
from nie.importance.metrics import importance_metrics
from nie.importance.plots import explanation_figure, importance_figure
from nie.importance.spec import GraphBatch, GraphData, GraphSpec, scores_to_labels

RankingLoss = Literal["listnet", "pairwise", "lambdarank", "approxndcg"]


@dataclass(frozen=True)
class ImportanceTaskSettings(Settings):
    """``NodeImportanceTask``'s arguments but the network (its ``hparams``, typed).

    Args:
        lr, weight_decay, optimizer: the optimiser (literature defaults: Adam, 5e-3, 5e-4).
        aux_weight: λ for networks with auxiliary branches (RGTN):
            (1 - λ)·MSE(main) + λ·mean(MSE(branches)).
        ltr_weight: α, weight of the learning-to-rank term (0 disables it).
        ltr_list_size: nodes per ranking list.
        ltr_loss: ``listnet`` (cross-entropy of the lists' softmax orders), ``pairwise`` (a hinge
            on every ordered pair of a list: the more important node ahead by ``ltr_margin``), or the
            top-focused ones: ``lambdarank`` (logistic pairs weighted by their |ΔNDCG|) and
            ``approxndcg`` (1 − NDCG of smooth ranks), both with ``ltr_temperature``.
        ltr_margin: the pairwise hinge's margin, in the labels' units.
        ltr_top_nodes: the most important nodes of a step's labels kept in every list (the rest of
            the list drawn at random), so the top that NDCG@k rewards is always ranked; 0: random lists.
        ltr_temperature: score scale of ``lambdarank``'s logistic and ``approxndcg``'s smooth ranks,
            in the labels' units (smaller: sharper, closer to the exact order).
        top_k: k of NDCG@k and OVERLAP@k.
        figures: draw predicted against true labels and the top-k overlap curve during validation
            (TensorBoard ``val/importance``) and beside predict's CSV (the fold's test nodes).
        figure_every: validation checks per figure (the first check draws one); a figure costs
            more than a validation check of a full-batch graph network.
    """

    lr: float = 5e-3
    weight_decay: float = 5e-4
    optimizer: OptimizerName = "adam"
    aux_weight: float = 0.8
    ltr_weight: float = 0.0
    ltr_list_size: int = 100
    ltr_loss: RankingLoss = "listnet"
    ltr_margin: float = 0.1
    ltr_top_nodes: int = 0
    ltr_temperature: float = 1.0
    top_k: int = 100
    figures: bool = True
    figure_every: int = 10


def check_ranking(loss: str, list_size: int, margin: float, top_nodes: int, temperature: float) -> None:
    """Refuse ranking settings that cannot train, one line each, before any data is read."""
    prefix = "model.init_args."
    choices = get_args(RankingLoss)
    if loss not in choices:
        raise ConfigError(f"{prefix}ltr_loss must be one of {', '.join(choices)}, got {loss!r}")
    if list_size < 2:
        raise ConfigError(f"{prefix}ltr_list_size must be at least 2 (a list ranks pairs), got {list_size}")
    if margin < 0:
        raise ConfigError(f"{prefix}ltr_margin must be at least 0, got {margin}")
    if not 0 <= top_nodes < list_size:
        raise ConfigError(
            f"{prefix}ltr_top_nodes must be at least 0 and below ltr_list_size={list_size} "
            f"(the rest of each list is drawn at random), got {top_nodes}"
        )
    if not temperature > 0:
        raise ConfigError(f"{prefix}ltr_temperature must be above 0 (a score scale), got {temperature}")


class NodeImportanceTask(BaseTask):
    """Regress log-importance of labeled nodes; scored by NDCG@k, Spearman, OVERLAP@k and RMSE.

    Args:
        network: a network class and its arguments (``class_path``/``init_args``); it is built with
            the data's ``GraphSpec`` once the datamodule is set up.
        arguments: the fields of ``ImportanceTaskSettings`` (documented there).
    """

    headline_metrics = ("ndcg@100", "spearman", "overlap@100", "rmse")

    def __init__(self, network: NetworkFactory, **arguments: Any) -> None:
        super().__init__()
        s = ImportanceTaskSettings(**arguments)
        check_ranking(s.ltr_loss, s.ltr_list_size, s.ltr_margin, s.ltr_top_nodes, s.ltr_temperature)
        if s.figure_every < 1:
            raise ConfigError(f"model.init_args.figure_every must be at least 1 (per figure), got {s.figure_every}")
        self.save_hyperparameters(ignore=["network"], logger=False)  # with what the command line adds (_class_path)
        self.hparams.update(s.values())  # every argument, defaults too
        self.network_factory = network
        self.network: nn.Module | None = None
        self.evaluation_step: int | None = None  # set by build

    @override
    @classmethod
    def default_monitor(cls, init_args: Mapping[str, Any]) -> tuple[str, Literal["min", "max"]]:
        return "val/spearman", "max"  # the ranking quality the literature selects on

    @property
    def settings(self) -> ImportanceTaskSettings:
        """The hyper-parameters, typed."""
        return ImportanceTaskSettings.of(self.hparams)

    @property
    def data(self) -> GraphData:
        return cast(GraphData, self.datamodule)

    @property
    def built_network(self) -> nn.Module:
        """The network, once ``build`` has made it."""
        if self.network is None:
            raise RuntimeError("the network is built by configure_model, once the datamodule's spec is known")
        return self.network

    @override
    def build(self) -> None:
        settings, data = self.settings, self.data
        batch_size = data.hparams.get("batch_size")
        if settings.ltr_weight > 0 and batch_size is not None and batch_size < settings.ltr_list_size:
            raise ConfigError(
                f"data.batch_size={batch_size} is smaller than model.ltr_list_size="
                f"{settings.ltr_list_size}: every batch must hold a full ranking list"
            )
        self.spec: GraphSpec = data.spec
        self.evaluation_step = evaluation_step(data.hparams)
        self.network = network = self.network_factory(self.spec)
        if full_batch_only(network) and batch_size is not None:
            raise ConfigError(
                f"{type(network).__name__} needs the whole graph in every step: "
                "leave data.batch_size unset (full-batch training)"
            )
        if batch_size is not None:
            check_sampled_layers(network, data.hparams.get("fanouts"))
        if not self.trainable and not isinstance(network, FitsOnTrainingData):
            raise ConfigError(
                f"{type(network).__name__} has no trainable parameters, so it must be a baseline that fits "
                "on the training data (nie.core.baseline.Baseline)"
            )

    @override
    def make_metrics(self) -> MetricCollection:
        return importance_metrics(self.settings.top_k, with_rmse=predicts_labels(self.network))

    def score_names(self) -> set[str]:
        """``make_metrics``' names, known before the network is built (``contracts.NamesScores``)."""
        network = self.network if self.network is not None else network_class(self.network_factory)
        return {f"val/{name}" for name in importance_metrics(self.settings.top_k, with_rmse=predicts_labels(network))}

    @override
    def forward(self, batch: GraphBatch) -> NetworkOutput:
        """The network's outputs; a sampled run evaluates (on the full graph) one layer at a time."""
        return network_outputs(self.built_network, batch, None if self.training else self.evaluation_step)

    def ranking_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """The learning-to-rank term chosen by ``ltr_loss``, on lists of the step's labelled nodes."""
        s = self.settings
        size, top = s.ltr_list_size, s.ltr_top_nodes
        if s.ltr_loss == "pairwise":
            return pairwise_margin_loss(pred, target, size, s.ltr_margin, top_nodes=top)
        if s.ltr_loss == "lambdarank":
            return lambdarank_loss(pred, target, size, top, s.ltr_temperature)
        if s.ltr_loss == "approxndcg":
            return approx_ndcg_loss(pred, target, size, top, s.ltr_temperature)
        return listnet_loss(pred, target, size, top_nodes=top)

    def loss(self, batch: GraphBatch, outputs: NetworkOutput) -> Tensor:
        settings = self.settings
        main, branches = split_outputs(outputs)
        idx, y = batch.target_index, batch.target_labels()
        loss = F.mse_loss(main[idx], y)
        if branches:
            aux = torch.stack([F.mse_loss(b[idx], y) for b in branches]).mean()
            loss = (1 - settings.aux_weight) * loss + settings.aux_weight * aux
        if settings.ltr_weight > 0:
            loss = loss + settings.ltr_weight * self.ranking_loss(main[idx], y)
        return loss

    @override
    def training_terms(self, batch: GraphBatch) -> dict[str, Tensor]:
        """The task's loss, or the network's own (``OwnsTrainingLoss``: semi-supervised networks, whose
        loss needs several passes and the unlabeled nodes), term by term."""
        network = self.built_network
        if isinstance(network, OwnsTrainingLoss):
            terms: dict[str, Tensor] = network.training_loss(batch)
            return terms
        return {"loss": self.loss(batch, self(batch))}

    @override
    def batch_size(self, batch: GraphBatch) -> int:
        return batch.target_index.numel()

    @override
    def evaluate(self, batch: GraphBatch, metrics: MetricCollection) -> dict[str, Tensor]:
        """Accumulate predictions; the loss is RMSE², which the metrics report exactly (also under DDP)."""
        main, _ = split_outputs(self(batch))
        prediction, labels = main[batch.target_index], batch.target_labels()
        metrics.update(prediction, labels)
        return {"prediction": prediction, "label": labels, **self.explanation(batch)}

    def explanation(self, batch: GraphBatch) -> dict[str, Tensor]:
        """What an ``Explains`` network says of the batch's target nodes (after its forward pass), as
        ``explain/<part>`` entries; nothing for other networks."""
        network = self.built_network
        if not isinstance(network, Explains):
            return {}
        return {f"explain/{k}": v[batch.target_index] for k, v in network.explain(batch).items()}

    def draws_figures(self) -> bool:
        return self.settings.figures

    def figure_every(self) -> int:
        return self.settings.figure_every

    def validation_figures(self, outputs: list[dict[str, Tensor]]) -> list[tuple[str, Figure]]:
        preds, labels = (torch.cat([o[key] for o in outputs]) for key in ("prediction", "label"))
        figures = [("val/importance", importance_figure(preds, labels, "validation nodes", max_k=self.settings.top_k))]
        parts = [k for k in outputs[0] if k.startswith("explain/")]
        if parts:  # the mean of each explained part over the validation nodes (SKES: attention per view and hop)
            means = [float(torch.cat([o[k] for o in outputs]).float().mean()) for k in parts]
            names = [k.removeprefix("explain/") for k in parts]
            figures.append(("val/explanation", explanation_figure(names, means, "validation nodes")))
        return figures

    @override
    def predict_step(self, batch: GraphBatch, batch_idx: int) -> dict[str, Tensor]:
        main, _ = split_outputs(self(batch))
        prediction = main[batch.target_index]
        outputs = {
            "node": batch.output_nodes[batch.target_index],
            "score": self.spec.to_scores(prediction),
            "prediction": prediction,  # in the labels' space, where the metrics and an ensemble work
        }
        return outputs | self.explanation(batch)  # explained parts become extra columns of predict's CSV

    def prediction_figure(self, table: pd.DataFrame) -> Figure | None:
        """The validation figure for predict's CSV, drawn on the fold's test nodes: the table holds no
        labels, the datamodule does, and test nodes are the ones neither training nor model selection saw.
        None when figures are off or the datamodule has no labelled test nodes."""
        data = self.data
        if not self.settings.figures or not isinstance(data, LabelledStages):
            return None
        nodes, labels = data.stage_labels("test")
        scores = table.set_index("node_id")["score"].reindex(nodes.cpu().numpy())
        known = torch.from_numpy(scores.notna().to_numpy())
        if not known.any():
            return None
        preds = torch.from_numpy(scores_to_labels(scores.to_numpy()[known.numpy()], self.spec.label_transform))
        return importance_figure(preds, labels.cpu()[known], "test nodes", max_k=self.settings.top_k)
