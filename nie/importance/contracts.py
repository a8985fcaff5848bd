"""What a node-importance network offers the task: the one file to read before adding a network.

Required of every network (``ImportanceNetwork``): built from the data's ``GraphSpec`` by the
config's ``class_path``/``init_args``, it maps a ``GraphBatch`` to one prediction per output node of
the batch's last graph (the labels' space: log-importance for ``label_transform: log1p``), or to
``(prediction, [auxiliary branch predictions])`` (RGTN), which the task's loss also fits. A short
``name`` (class attribute) names its run directories.

Optional, each declared by the network and looked up by the task (or ``BaseTask``) here:

``predicts_labels``     ``False``: scores on the network's own scale that only rank nodes: RMSE is not
                        reported, an ensemble does not average them with labels. PageRank, PPR, InDegree.
``full_batch_only``     ``True``: every step needs the whole graph (structural statistics, pseudo-labels
                        on all unlabeled nodes): the task refuses ``data.batch_size``. SKES, EASING.
``OwnsTrainingLoss``    ``training_loss(batch)``: the task trains on it instead of its own loss. EASING.
``FitsOnTrainingData``  ``fit(datamodule)``: a network without trainable parameters is fit once at the
                        start of training and never stepped. The baselines (``nie.core.baseline.Baseline``).
``Explains``            ``explain(batch)``: named per-node values (attention weights) that ``predict``
                        writes beside each node's score. SKES.
``Layered``             ``num_layers``: one graph per layer (``GraphBatch.with_graphs``), so the task refuses
                        ``data.fanouts`` of another length before anything is written. The GNNs.
``LayerByLayer``        ``layer_inputs``/``layer``/``readout``: the forward pass as steps that each compute one
                        layer for any set of destination nodes, so a sampled run evaluates every node one
                        layer at a time, ``data.eval_batch_size`` nodes per step
                        (``nie.importance.layerwise``): one pass over the edges per layer. A network without
                        it is evaluated on the whole graph at once. GENI, GAT, RGCN, RGTN.

Subclassing ``ImportanceNetwork`` gives the defaults (labels predicted, mini-batches allowed);
a plain ``nn.Module`` works too and gets the same defaults.
"""

from __future__ import annotations

from typing import Callable, Protocol, Union, runtime_checkable

from torch import Tensor, nn
from typing_extensions import override

from nie.core.baseline import FitsOnTrainingData as FitsOnTrainingData
from nie.core.errors import ConfigError
from nie.importance.kernels import Graph
from nie.importance.spec import GraphBatch, GraphSpec

NetworkOutput = Union[Tensor, tuple[Tensor, list[Tensor]]]  # prediction, or (prediction, branch predictions)
NetworkFactory = Callable[[GraphSpec], nn.Module]  # the config's network class with its init_args bound


def split_outputs(outputs: NetworkOutput) -> tuple[Tensor, list[Tensor]]:
    """A network returns its prediction, or (prediction, auxiliary branch predictions)."""
    return outputs if isinstance(outputs, tuple) else (outputs, [])


class ImportanceNetwork(nn.Module):
    """Base of the project's networks: ``forward(batch)`` and the declared defaults of the options below."""

    name: str  # short name for run directories (``nie.core.naming``; without it: the lower-cased class name)
    predicts_labels: bool = True
    full_batch_only: bool = False

    @override
    def forward(self, batch: GraphBatch) -> NetworkOutput:
        raise NotImplementedError


@runtime_checkable
class Layered(Protocol):
    """A network passing messages over one graph per layer: a neighbour-sampled batch must bring one block
    per layer (``data.fanouts``, one entry each), which the task checks when it builds the network."""

    num_layers: int


def check_sampled_layers(network: object, fanouts: list[int] | None) -> None:
    """Refuse, in one line, ``fanouts`` of another length than ``network``'s layers."""
    if isinstance(network, Layered) and fanouts and len(fanouts) != network.num_layers:
        raise ConfigError(
            f"data.fanouts has {len(fanouts)} entries but the network has {network.num_layers} layers; "
            f"set data.fanouts to {network.num_layers} entries (neighbours per layer, -1 = all)"
        )


@runtime_checkable
class LayerByLayer(Protocol):
    """A network whose forward pass is ``readout(layer(L-1, g, ... layer(0, g, layer_inputs(x))))``: each
    step needs the previous step's values of its graph's source nodes only."""

    num_layers: int

    def layer_inputs(self, x: Tensor, x_semantic: Tensor | None) -> Tensor:
        """Per-node values entering the first layer, for the nodes whose features are given."""
        ...

    def layer(self, depth: int, graph: Graph, values: Tensor) -> Tensor:
        """Layer ``depth``'s values of ``graph``'s destination nodes from its source nodes' ``values``."""
        ...

    def readout(self, values: Tensor, in_degree: Tensor) -> NetworkOutput:
        """The prediction from the last layer's values (and the in-degrees) of the same nodes."""
        ...


@runtime_checkable
class OwnsTrainingLoss(Protocol):
    """A network whose training loss needs more than one prediction of the labelled nodes (several passes,
    the unlabeled nodes: semi-supervised EASING). The task logs every term as ``train/<name>`` and
    optimises ``"loss"``; validation, test and prediction still call the network."""

    def training_loss(self, batch: GraphBatch) -> dict[str, Tensor]:
        """``{"loss": total, <term>: value, ...}`` for one training batch."""
        ...


@runtime_checkable
class Explains(Protocol):
    """A network that can say why a node scores as it does: per node, one value per named part
    (SKES: its attention weight on each view and layer), written by ``predict`` as extra columns."""

    def explain(self, batch: GraphBatch) -> dict[str, Tensor]:
        """``{column name: [output nodes] values}`` for the batch's output nodes (after a forward pass)."""
        ...


def predicts_labels(network: object) -> bool:
    """Whether ``network`` (or its class) predicts labels: unless it declares otherwise."""
    return bool(getattr(network, "predicts_labels", True))


def full_batch_only(network: object) -> bool:
    """Whether ``network`` needs the whole graph in every step: only if it declares so."""
    return bool(getattr(network, "full_batch_only", False))
