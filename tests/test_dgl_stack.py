"""The pinned stack imports together and DGL passes messages."""

import dgl
import dgl.function as fn
import torch


def test_dgl_message_passing_step() -> None:
    g = dgl.graph((torch.tensor([0, 1, 2]), torch.tensor([1, 2, 0])))
    g.ndata["h"] = torch.tensor([[1.0], [2.0], [3.0]])
    g.update_all(fn.copy_u("h", "m"), fn.sum("m", "h_new"))
    assert g.ndata["h_new"].flatten().tolist() == [3.0, 1.0, 2.0]


def test_graphbolt_loads() -> None:
    from dgl import graphbolt  # fails with a torch other than 2.2.0/2.2.1

    assert graphbolt is not None
