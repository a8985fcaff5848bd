"""Top-focused ranking losses: lists that keep the top, LambdaRank's |ΔNDCG| weights, ApproxNDCG's
smooth ranks, a toy ranking where they beat plain MSE on NDCG@k, and one-line refusals of bad values."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import torch
import torch.nn.functional as F

from nie.importance.losses import approx_ndcg_loss, draw_lists, lambdarank_loss, listnet_loss
from nie.importance.metrics import NDCGAtK
from tests.conftest import DEMO, TINY, run_train

TOP_FOCUSED = {"lambdarank": lambdarank_loss, "approxndcg": approx_ndcg_loss}


def test_lists_keep_the_top_and_draw_the_rest_without_repeats() -> None:
    target = torch.randn(500, generator=torch.Generator().manual_seed(0))
    top = set(torch.topk(target, 30).indices.tolist())
    index = draw_lists(target, 120, num_lists=4, top_nodes=30, generator=torch.Generator().manual_seed(1))
    assert index is not None and index.shape == (4, 120)
    for row in index.tolist():
        assert top <= set(row) and len(set(row)) == 120
    rest = [set(row) - top for row in index.tolist()]
    assert rest[0] != rest[1]  # the random part differs between lists
    assert draw_lists(target[:1], 120) is None  # one node: no pair to rank


def test_random_lists_are_drawn_as_before_the_top_was_kept() -> None:
    """top_nodes = 0 draws the permutation ListNet always drew, so committed ListNet runs stay comparable."""
    target = torch.randn(300)
    drawn = draw_lists(target, 100, num_lists=2, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    expected = torch.stack([torch.randperm(300, generator=g)[:100] for _ in range(2)])
    assert drawn is not None and torch.equal(drawn, expected)


@pytest.mark.parametrize("name", sorted(TOP_FOCUSED))
def test_right_order_costs_less_and_gradients_are_finite(name: str) -> None:
    loss = TOP_FOCUSED[name]
    target = torch.linspace(0, 10, 200)
    right = loss(target.clone(), target, 200, temperature=0.1, generator=torch.Generator().manual_seed(0))
    wrong = loss(target.flip(0), target, 200, temperature=0.1, generator=torch.Generator().manual_seed(0))
    assert right < wrong
    pred = torch.randn(200).requires_grad_()
    loss(pred, target, 100, top_nodes=20, temperature=0.1).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().max() > 0


def test_approx_ndcg_tends_to_exact_ndcg_as_temperature_falls() -> None:
    target = torch.rand(50, generator=torch.Generator().manual_seed(2)) * 5
    pred = torch.randn(50, generator=torch.Generator().manual_seed(3))
    gain = target - target.min()  # the losses' gain: the label above the list's lowest
    metric = NDCGAtK(top_k=50)
    metric.update(pred, gain)
    exact = 1 - float(metric.compute())
    approx = approx_ndcg_loss(pred, target, 50, temperature=1e-4, generator=torch.Generator().manual_seed(0))
    assert float(approx) == pytest.approx(exact, abs=1e-4)


def test_lambdarank_weighs_a_swap_at_the_top_more_than_one_at_the_bottom() -> None:
    target = torch.arange(20.0).flip(0)  # node 0 most important
    top_swap, bottom_swap = target.clone(), target.clone()
    top_swap[[0, 1]] = top_swap[[1, 0]]
    bottom_swap[[18, 19]] = bottom_swap[[19, 18]]
    g: Callable[[], torch.Generator] = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    perfect = lambdarank_loss(target.clone(), target, 20, temperature=0.01, generator=g())
    top = lambdarank_loss(top_swap, target, 20, temperature=0.01, generator=g())
    bottom = lambdarank_loss(bottom_swap, target, 20, temperature=0.01, generator=g())
    assert top - perfect > 2 * (bottom - perfect) > 0


def toy_ndcg(ranking: str, seed: int) -> float:
    """A linear model on a ranking it cannot fit everywhere: the bulk's order follows feature 0, the
    top's (the largest labels) feature 1. MSE fits the bulk; a top-focused term should rank the top.
    Returns test NDCG@20 after 300 full-batch Adam steps of MSE (+ 10 x the ranking term)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2000, 8, generator=g)
    y = 2 + x[:, 0] + 4 * F.relu(x[:, 1] - 1.5) + 0.1 * torch.randn(2000, generator=g)
    torch.manual_seed(seed)
    model = torch.nn.Linear(8, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    lists = torch.Generator().manual_seed(seed)
    for _ in range(300):
        pred = model(x[:1400]).squeeze(1)
        loss = F.mse_loss(pred, y[:1400])
        if ranking in TOP_FOCUSED:
            loss = loss + 10 * TOP_FOCUSED[ranking](pred, y[:1400], 200, 50, 0.1, generator=lists)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    metric = NDCGAtK(top_k=20)
    with torch.no_grad():
        metric.update(model(x[1400:]).squeeze(1), y[1400:])
    return float(metric.compute())


@pytest.mark.parametrize("name", sorted(TOP_FOCUSED))
def test_top_focused_loss_beats_mse_on_ndcg_at_k(name: str) -> None:
    seeds = (0, 1, 2)
    mse = [toy_ndcg("mse", s) for s in seeds]
    ranked = [toy_ndcg(name, s) for s in seeds]
    assert sum(ranked) / 3 > sum(mse) / 3 + 0.05, (ranked, mse)  # measured: about +0.10 for both
    assert ranked == [toy_ndcg(name, s) for s in seeds]  # seeded: the same numbers again


def test_listnet_with_the_top_kept_still_prefers_the_right_order() -> None:
    target = torch.linspace(0, 10, 300)
    right = listnet_loss(target.clone(), target, 100, top_nodes=30, generator=torch.Generator().manual_seed(0))
    wrong = listnet_loss(target.flip(0), target, 100, top_nodes=30, generator=torch.Generator().manual_seed(0))
    assert right < wrong


BAD_VALUES = {
    "unknown loss": (["--model.init_args.ltr_loss", "bogus"], "ltr_loss", "lambdarank"),
    "list of one": (["--model.init_args.ltr_list_size", "1"], "ltr_list_size must be at least 2", "got 1"),
    "zero temperature": (["--model.init_args.ltr_temperature", "0"], "ltr_temperature must be above 0", "got 0"),
    "negative temperature": (["--model.init_args.ltr_temperature", "-1"], "ltr_temperature must be above 0", "-1"),
    "top fills the list": (["--model.init_args.ltr_top_nodes", "100"], "ltr_top_nodes must be", "below"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_ranking_values_are_one_line(workdir: Path, case: str) -> None:
    extra, field, detail = BAD_VALUES[case]
    with pytest.raises(SystemExit) as raised:
        run_train("fit", "--config", DEMO, *TINY, *extra)
    message = str(raised.value)
    assert message.lower().startswith("error:") and "\n" not in message, message
    assert field in message and detail in message, message
    assert not Path("runs").exists()  # refused before any run directory
