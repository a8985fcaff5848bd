"""Optimal-transport distances between small point sets: a node's representation read as an
empirical distribution [M points, P dims] against one reference set, for every node at once."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from nie.core.errors import ConfigError


def sliced_wasserstein(points: Tensor, reference: Tensor, directions: Tensor) -> Tensor:
    """Sliced Wasserstein-2 distance between each row's point set ``points`` [N, M, P] and one
    ``reference`` set [M, P] (uniform weights), over unit ``directions`` [P, L]: [N]. In one
    dimension, transport is exact by sorting."""
    projected = torch.sort(points @ directions, dim=1).values
    reference_projected = torch.sort(reference @ directions, dim=0).values
    squared = ((projected - reference_projected.unsqueeze(0)) ** 2).mean(dim=(1, 2))
    return torch.sqrt(squared + 1e-12) - 1e-6


def check_sinkhorn(epsilon: float, iterations: int) -> None:
    """Refuse settings under which the entropic distance is undefined or never computed."""
    owner = "model.init_args.network.init_args"
    if not epsilon > 0 or not math.isfinite(epsilon):
        raise ConfigError(f"{owner}.sinkhorn_epsilon must be a positive number (the regulariser), got {epsilon}")
    if iterations < 1:
        raise ConfigError(f"{owner}.sinkhorn_iterations must be at least 1, got {iterations}")


def sinkhorn(points: Tensor, reference: Tensor, epsilon: float, iterations: int) -> Tensor:
    """Entropic Wasserstein-2 distance (squared-Euclidean cost, uniform weights) between each row's
    point set [N, M, P] and ``reference`` [K, P]: √⟨plan, cost⟩ of the regularised optimal plan, [N].

    Log-domain Sinkhorn iterations (stable for small ``epsilon``) on costs scaled by their mean, so
    ``epsilon`` is relative to the typical cost; as it goes to 0 the plan becomes the exact one.
    """
    cost = torch.cdist(points, reference.unsqueeze(0).expand(points.shape[0], -1, -1)) ** 2  # [N, M, K]
    scale = cost.mean(dim=(1, 2), keepdim=True).detach().clamp_min(1e-12)
    logits = -cost / (epsilon * scale)
    log_a = torch.full(cost.shape[:2], -math.log(cost.shape[1]), dtype=cost.dtype, device=cost.device)
    log_b = torch.full((cost.shape[0], cost.shape[2]), -math.log(cost.shape[2]), dtype=cost.dtype, device=cost.device)
    f, g = torch.zeros_like(log_a), torch.zeros_like(log_b)
    for _ in range(iterations):
        f = log_a - torch.logsumexp(logits + g.unsqueeze(1), dim=2)
        g = log_b - torch.logsumexp(logits + f.unsqueeze(2), dim=1)
    plan = torch.exp(logits + f.unsqueeze(2) + g.unsqueeze(1))
    return torch.sqrt((plan * cost).sum(dim=(1, 2)) + 1e-12) - 1e-6
