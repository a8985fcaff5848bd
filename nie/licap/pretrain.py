"""LICAP as a pre-training stage any NIE config can switch on (``data.pretraining``).

For one fold: sample the bins from that fold's training labels, train a PreGAT encoder on
L1 + L2 full-batch until the loss stops improving, and return the best epoch's embeddings,
cached on disk by a hash of everything that determines them (inputs, graph, fold labels,
settings, seed). The datamodule then replaces (or extends) the input features with them.
Under DDP every process computes the same (seeded) embeddings or reads them from the cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor

from nie.cache import cached_array
from nie.kernels import Graph
from nie.licap.bins import TopBins, check_bin_settings, top_bins
from nie.licap.losses import finer_bin_loss, top_bin_loss
from nie.models.pregat import PreGAT


class LICAP:
    """Label-informed contrastive pre-training (Zhang et al., TNNLS 2024) of node embeddings.

    Args:
        mode: ``replace`` the input features with the embeddings, or ``concat`` them.
        important_ratio, negative_ratio, negative_pool, bin_width: the bins (``nie.licap.bins``).
        temperature: τ of both InfoNCE losses.
        top_weight, finer_weight: loss = top_weight·L1 + finer_weight·L2.
        hidden, heads, out_dim, predicate_dim: the PreGAT encoder.
        lr, weight_decay, max_epochs, patience, clip: Adam on the full graph; stop when the loss has
            not improved for ``patience`` epochs and keep the best epoch's embeddings.
    """

    def __init__(self, mode: Literal["replace", "concat"] = "replace", important_ratio: float = 0.1,
                 negative_ratio: float = 2.0, negative_pool: float = 0.5, bin_width: float = 1.0,
                 temperature: float = 0.05, top_weight: float = 1.0, finer_weight: float = 1.0,
                 hidden: int = 8, heads: int = 8, out_dim: int = 64, predicate_dim: int = 10,
                 lr: float = 5e-3, weight_decay: float = 5e-4, max_epochs: int = 1000, patience: int = 20,
                 clip: float = 10.0) -> None:
        check_bin_settings(important_ratio, negative_pool, bin_width)  # fail at start-up, not after loading
        self.mode = mode
        self.settings = {k: v for k, v in locals().items() if k not in ("self", "mode")}

    @property
    def run_name(self) -> str:
        """How run directories name this stage (``HParamCheckpoint`` dirs/hparams key ``pretraining``)."""
        return "licap" if self.mode == "replace" else "licap_concat"

    def apply(self, x: Tensor, embeddings: Tensor) -> Tensor:
        return embeddings if self.mode == "replace" else torch.cat([x, embeddings], dim=1)

    def embeddings(self, graph: Graph, x: Tensor, num_relations: int, train_ids: Tensor,
                   train_labels: Tensor, seed: int, cache_dir: str | Path,
                   device: torch.device | str = "cpu") -> Tensor:
        """Pre-trained embeddings [N, out_dim] (on the CPU) for this fold: only ``train_ids``' labels
        are given. Pre-training runs on ``device`` (the trainer's, when there is one)."""
        key = {"method": "licap-v1", "settings": self.settings, "seed": seed,
               "inputs": _digest(x, graph.src, graph.dst, graph.rel, train_ids, train_labels)}
        shape = (graph.num_dst, self.settings["out_dim"])
        build = lambda: self.pretrain(graph.to(device), x.to(device), num_relations, train_ids, train_labels,  # noqa: E731
                                      seed).cpu().numpy()
        return torch.from_numpy(cached_array(cache_dir, "licap", key, shape, build))

    def pretrain(self, graph: Graph, x: Tensor, num_relations: int, train_ids: Tensor,
                 train_labels: Tensor, seed: int) -> Tensor:
        s = self.settings
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            bins = top_bins(train_ids.cpu(), train_labels.cpu(), s["important_ratio"], s["negative_ratio"],
                            s["negative_pool"], s["bin_width"], generator=torch.Generator().manual_seed(seed)).to(x.device)
            encoder = PreGAT(x.shape[1], num_relations, s["hidden"], s["heads"], s["out_dim"],
                             s["predicate_dim"]).to(x.device)
            optimizer = torch.optim.Adam(encoder.parameters(), lr=s["lr"], weight_decay=s["weight_decay"])
            best, best_loss, waited = None, float("inf"), 0
            for epoch in range(s["max_epochs"]):
                embeddings = encoder(graph, x)
                loss = self.loss(embeddings, bins)
                if loss.item() < best_loss:
                    best, best_loss, waited = embeddings.detach(), loss.item(), 0
                else:
                    waited += 1
                    if waited >= s["patience"]:
                        break
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(encoder.parameters(), s["clip"])
                optimizer.step()
        rank_zero_info(f"LICAP pre-training: best loss {best_loss:.4f} after {epoch + 1} epochs "
                       f"({len(bins.top)} top nodes in {bins.num_bins} finer bins, {len(bins.negatives)} negatives)")
        return best

    def loss(self, embeddings: Tensor, bins: TopBins) -> Tensor:
        top = embeddings[bins.top]
        s = self.settings
        return (s["top_weight"] * top_bin_loss(top, embeddings[bins.negatives], s["temperature"])
                + s["finer_weight"] * finer_bin_loss(top, bins.bin_of_top, bins.bin_weights, s["temperature"]))


def _digest(*tensors: Tensor) -> str:
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(np.ascontiguousarray(t.detach().cpu().numpy()).tobytes())
    return digest.hexdigest()
