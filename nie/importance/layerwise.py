"""Evaluation one layer at a time: every node's values of a layer, ``step`` destination nodes at a time over their
full in-neighbourhoods, before the next layer. A sampled run's validation, test and prediction then cost one
pass over the edges per layer, where batches of output nodes would each bring their whole L-hop neighbourhood
(at 10⁷ nodes, most of the graph per batch)."""

from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor, nn

from nie.core.seed import import_dgl
from nie.importance.contracts import LayerByLayer, NetworkOutput
from nie.importance.kernels import Graph
from nie.importance.spec import GraphBatch


def run_layers(network: LayerByLayer, batch: GraphBatch) -> NetworkOutput:
    """The forward pass of a ``LayerByLayer`` network over the batch's graphs (one per layer)."""
    values = network.layer_inputs(batch.x, batch.x_semantic)
    for depth, graph in enumerate(batch.with_graphs(network.num_layers)):
        values = network.layer(depth, graph, values)
    return network.readout(values, batch.in_degree)


def network_outputs(network: nn.Module, batch: GraphBatch, step: Optional[int]) -> NetworkOutput:
    """``network(batch)``; or, with a ``step`` (a sampled run's evaluation) on a batch of the full graph, the
    prediction of a ``LayerByLayer`` network computed one layer at a time (the same numbers)."""
    graph = batch.graphs[0]
    whole_graph = len(batch.graphs) == 1 and graph.num_src == graph.num_dst
    if step is None or not whole_graph or not isinstance(network, LayerByLayer):
        output: NetworkOutput = network(batch)
        return output
    return layer_by_layer(network, batch, step)


def layer_by_layer(network: LayerByLayer, batch: GraphBatch, step: int) -> Tensor:
    """The prediction (without auxiliary outputs) of every node of the batch's full graph, each layer computed
    for ``step`` destination nodes at a time from their in-neighbours' values of the layer before."""
    graph = batch.graphs[0].dgl()
    sampler = import_dgl().dataloading.MultiLayerFullNeighborSampler(1)
    x, x_semantic = batch.x, batch.x_semantic
    values = by_rows(
        lambda rows: network.layer_inputs(x[rows], None if x_semantic is None else x_semantic[rows]), batch
    )
    for depth in range(network.num_layers):

        def apply(rows: Tensor, previous: Tensor = values, depth: int = depth) -> Tensor:
            inputs, _, (block,) = sampler.sample_blocks(graph, rows)
            return network.layer(depth, Graph.from_dgl_block(block), previous[inputs])

        values = by_rows(apply, batch, step)
    return by_rows(lambda rows: first_output(network.readout(values[rows], batch.in_degree[rows])), batch, step)


def first_output(output: NetworkOutput) -> Tensor:
    return output[0] if isinstance(output, tuple) else output


def by_rows(function: Callable[[Tensor], Tensor], batch: GraphBatch, step: int = 65_536) -> Tensor:
    """``function`` of every node of the batch, ``step`` node ids at a time, into one preallocated array."""
    count, device = batch.x.shape[0], batch.x.device
    out: Optional[Tensor] = None
    for start in range(0, count, step):
        rows = torch.arange(start, min(start + step, count), device=device)
        part = function(rows)
        if out is None:
            out = part.new_empty((count, *part.shape[1:]))
        out[rows] = part
    assert out is not None, "a graph has nodes"
    return out
