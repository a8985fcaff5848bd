"""How exact each kernel backend's float32 gradients are on a real graph, against float64.

    python bench/kernel_precision.py [--root ../shared/data/fb15k]

One GENI forward and backward (3 layers, dropout off, the same seed) on the full graph with DGL's
and the torch kernels, in float32 and float64. Prints, per run, the largest relative error of any
parameter's gradient (max |g − g64| / max |g64| per tensor) against the torch kernels in float64;
the float64 runs of the two backends agreeing shows both compute the same function.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import torch

import nie.importance
from datamodules import KnowledgeGraphDataModule
from nie.importance.task import split_outputs


def gradients(root: str, backend: str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    dm = KnowledgeGraphDataModule(root=root, features=["structural"], backend=backend)
    dm.setup()
    torch.manual_seed(0)
    net = nie.importance.GENI(dm.spec, num_layers=3, feat_drop=0.0).to(dtype)
    batch = dm.transfer_batch_to_device(next(iter(dm.train_dataloader())), torch.device("cpu"), 0)
    batch = replace(batch, x=batch.x.to(dtype), in_degree=batch.in_degree.to(dtype), labels=batch.labels.to(dtype))
    out = split_outputs(net(batch))[0]
    ((out[batch.target_index] - batch.labels) ** 2).mean().backward()
    return {k: p.grad.double() for k, p in net.named_parameters() if p.grad is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data/fb15k")
    args = parser.parse_args()
    reference = gradients(args.root, "torch", torch.float64)
    for backend, dtype in (("dgl", torch.float64), ("dgl", torch.float32), ("torch", torch.float32)):
        grads = gradients(args.root, backend, dtype)
        errors = {k: float((grads[k] - reference[k]).abs().max() / reference[k].abs().max()) for k in reference}
        worst = max(errors, key=errors.__getitem__)
        name = str(dtype).removeprefix("torch.")
        print(f"{backend} {name}: largest relative gradient error {errors[worst]:.1e} ({worst})")


if __name__ == "__main__":
    main()
