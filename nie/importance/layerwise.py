"""Evaluation one layer at a time: every node's values of a layer, ``step`` destination nodes at a time over their
full in-neighbourhoods, before the next layer. A sampled run's validation, test and prediction then cost one
pass over the edges per layer, where batches of output nodes would each bring their whole L-hop neighbourhood
(at 10⁷ nodes, most of the graph per batch). The graph and the layers' values stay where the batch is (the
host, for a sampled run); each step's block and inputs go to the network's device."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import torch
from torch import Tensor, nn

from nie.core.seed import import_dgl
from nie.importance.contracts import LayerByLayer, NetworkOutput, split_outputs
from nie.importance.kernels import Graph
from nie.importance.spec import GraphBatch


def run_layers(network: LayerByLayer, batch: GraphBatch) -> NetworkOutput:
    """The forward pass of a ``LayerByLayer`` network over the batch's graphs (one per layer)."""
    values = network.layer_inputs(batch.x, batch.x_semantic)
    for depth, graph in enumerate(batch.with_graphs(network.num_layers)):
        values = network.layer(depth, graph, values)
    return network.readout(values, batch.in_degree)


def evaluation_step(data_settings: Mapping[str, Any]) -> Optional[int]:
    """Destination nodes per step of a sampled run's evaluation (``data.eval_batch_size``, else
    ``data.batch_size``); None for a full-batch run, which evaluates the graph whole."""
    batch_size: Optional[int] = data_settings.get("batch_size")
    return None if batch_size is None else data_settings.get("eval_batch_size") or batch_size


def network_outputs(network: nn.Module, batch: GraphBatch, step: Optional[int]) -> NetworkOutput:
    """``network(batch)``; or, with a ``step`` (a sampled run's evaluation) on a batch of the full graph, the
    prediction of a ``LayerByLayer`` network computed one layer at a time (the same numbers)."""
    graph = batch.graphs[0]
    whole_graph = len(batch.graphs) == 1 and not graph.is_block
    if step is None or not whole_graph:
        output: NetworkOutput = network(batch)
        return output
    device = next((p.device for p in network.parameters()), batch.x.device)  # the batch's, without parameters
    if not isinstance(network, LayerByLayer):  # evaluated on the whole graph at once
        whole: NetworkOutput = network(batch.to(device))
        return whole
    return layer_by_layer(network, batch, step, device)


def layer_by_layer(network: LayerByLayer, batch: GraphBatch, step: int, device: torch.device) -> Tensor:
    """The prediction (without auxiliary outputs), on ``device``, of every node of the batch's full graph, each
    layer computed for ``step`` destination nodes at a time from their in-neighbours' values of the layer
    before. In eval mode only: a training pass would normalise and drop out per step, not per graph."""
    if getattr(network, "training", False):
        raise RuntimeError("layer-by-layer evaluation runs in eval mode (network.eval())")
    graph = batch.graphs[0].dgl()
    sampler = import_dgl().dataloading.MultiLayerFullNeighborSampler(1)
    x, x_semantic = batch.x, batch.x_semantic

    def inputs(rows: Tensor) -> Tensor:
        semantic = None if x_semantic is None else x_semantic[rows].to(device)
        return network.layer_inputs(x[rows].to(device), semantic)

    values = by_rows(inputs, batch, step)
    for depth in range(network.num_layers):

        def apply(rows: Tensor, previous: Tensor = values, depth: int = depth) -> Tensor:
            nodes, _, (block,) = sampler.sample_blocks(graph, rows)
            return network.layer(depth, Graph.from_dgl_block(block).to(device), previous[nodes].to(device))

        values = by_rows(apply, batch, step)

    def readout(rows: Tensor) -> Tensor:
        return split_outputs(network.readout(values[rows].to(device), batch.in_degree[rows].to(device)))[0]

    return by_rows(readout, batch, step).to(device)


def by_rows(function: Callable[[Tensor], Tensor], batch: GraphBatch, step: int) -> Tensor:
    """``function`` of every node of the batch, ``step`` node ids at a time, into one array where the batch is."""
    count, home = batch.x.shape[0], batch.x.device
    out: Optional[Tensor] = None
    for start in range(0, count, step):
        rows = torch.arange(start, min(start + step, count), device=home)
        part = function(rows).to(home)
        if out is None:
            out = part.new_empty((count, *part.shape[1:]))
        out[rows] = part
    assert out is not None, "a graph has nodes"
    return out
