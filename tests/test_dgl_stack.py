"""The pinned stack imports together and DGL passes messages."""

import dgl
import dgl.function as fn
import torch


def test_dgl_message_passing_step() -> None:
    g = dgl.graph((torch.tensor([0, 1, 2]), torch.tensor([1, 2, 0])))
    g.ndata["h"] = torch.tensor([[1.0], [2.0], [3.0]])
    g.update_all(fn.copy_u("h", "m"), fn.sum("m", "h_new"))
    assert g.ndata["h_new"].flatten().tolist() == [3.0, 1.0, 2.0]


def test_graphbolt_loads_and_samples() -> None:
    """GraphBolt's C++ library loads with this torch (it fails with a torch other than 2.2.0/2.2.1) and runs:
    sampling every in-neighbour of two nodes goes through its compiled kernels."""
    from dgl import graphbolt

    # CSC of the edges 2 → 0, 0 → 1, 1 → 2: node i's in-neighbours are indices[indptr[i]:indptr[i + 1]]
    graph = graphbolt.fused_csc_sampling_graph(torch.tensor([0, 1, 2, 3]), torch.tensor([2, 0, 1]))
    sampled = graph.sample_neighbors(torch.tensor([0, 2]), torch.LongTensor([-1])).sampled_csc
    assert sampled.indptr.tolist() == [0, 1, 2] and sampled.indices.tolist() == [2, 1]
