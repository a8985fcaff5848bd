"""The two kernel backends agree for every exported network; the torch softmax is stable; no DGL needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nie.importance import kernels
from nie.importance.agreement import NUM_NODES, agreement, networks, outputs_and_gradients, random_graph
from nie.importance.kernels import Graph


@pytest.mark.parametrize("name", sorted(networks()))
def test_backends_agree_on_outputs_and_gradients(name: str) -> None:
    out_dgl, grads_dgl = outputs_and_gradients(name, "dgl")
    out_torch, grads_torch = outputs_and_gradients(name, "torch")
    torch.testing.assert_close(out_torch, out_dgl, atol=1e-5, rtol=1e-5)
    has_parameters = any(p.requires_grad for p in networks()[name]().parameters())
    assert grads_torch.keys() == grads_dgl.keys() and bool(grads_dgl) == has_parameters
    for key in grads_dgl:
        torch.testing.assert_close(grads_torch[key], grads_dgl[key], atol=1e-5, rtol=1e-5, msg=key)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_torch_kernels_on_cuda_agree_with_the_cpu_reference() -> None:
    result = agreement("cuda")
    assert result["agree"], result


def test_segment_softmax_is_stable_for_large_logits_and_isolated_nodes() -> None:
    graph = random_graph()
    logits = torch.randn(graph.num_edges, 2) * 1e4  # exp() alone would overflow
    weights = kernels.edge_softmax(graph, logits)
    assert torch.isfinite(weights).all()
    totals = torch.zeros(NUM_NODES, 2).index_add_(0, graph.dst, weights)
    torch.testing.assert_close(totals[:-1], torch.ones(NUM_NODES - 1, 2))
    assert (totals[-1] == 0).all()  # the node without in-edges receives nothing, not NaN
    summed = kernels.u_mul_e_sum(graph, torch.ones(NUM_NODES, 2, 1), weights.unsqueeze(-1))
    mean = kernels.u_mul_e_mean(graph, torch.ones(NUM_NODES, 2, 1), weights.unsqueeze(-1))
    assert torch.isfinite(summed).all() and torch.isfinite(mean).all() and (mean[-1] == 0).all()


def test_full_batch_path_runs_where_dgl_cannot_be_imported(tmp_path: Path, tiny_graph_dir: Path) -> None:
    """Full-batch fit, cv, baselines and predict.py in a process where ``import dgl`` fails."""
    from tests.conftest import DEMO, ROOT, TINY

    pagerank = str(Path(DEMO).parent / "fb15k" / "ppr.yaml")
    script = f"""
import sys, json
sys.modules['dgl'] = None
sys.path.insert(0, {str(ROOT)!r})
from train import main
tiny = {TINY!r} + ['--data.init_args.features', '[structural]', '--data.init_args.structural_method', 'spectral']
main(['fit', '--config', {DEMO!r}, '--trainer.max_epochs', '2', *tiny])
main(['cv', '--config', {pagerank!r}, '--data.init_args.root', {str(tiny_graph_dir)!r}, '--folds', '0',
      '--out', 'pr.json'])
import predict
ckpt = next(__import__('pathlib').Path('runs').glob('geni/**/last.ckpt'))
predict.main(['--ckpt', str(ckpt), '--out', 'p.csv'])
try:
    main(['fit', '--config', {DEMO!r}, '--data.init_args.batch_size', '32', '--data.init_args.fanouts', '[5, 5, 5]',
          *tiny])
except SystemExit as stop:
    print('sampled exit', stop.code)
assert sys.modules['dgl'] is None
print('spearman', json.load(open('pr.json'))['spearman']['mean'])
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "message passing on the torch kernels (data.backend: auto" in done.stderr
    assert (
        "sampled exit error: data.batch_size (neighbour-sampled mini-batches) needs DGL: pip install dgl" in done.stdout
    )
    assert (tmp_path / "p.csv").is_file() and "spearman" in done.stdout


def test_backend_dgl_without_dgl_names_backend_and_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from nie.core.errors import ConfigError

    monkeypatch.setitem(sys.modules, "dgl", None)
    with pytest.raises(
        ConfigError, match=r"data.backend: dgl on cpu, but DGL cannot be imported.*pip install dgl.*backend: torch"
    ):
        kernels.resolve_backend("dgl", torch.device("cpu"))
    assert kernels.resolve_backend("auto", torch.device("cpu")) == "torch"


def test_spectral_features_are_deterministic_for_a_seed_and_handle_isolated_nodes() -> None:
    import numpy as np

    from datamodules.kg.spectral import spectral_embeddings
    from datamodules.kg.synthetic import make_synthetic_tables

    _, triples = make_synthetic_tables(num_nodes=400, avg_degree=5, seed=3)
    num_nodes = 401  # the last node has no edges at all
    first = spectral_embeddings(triples[:, 0], triples[:, 2], num_nodes, 16, seed=0)
    again = spectral_embeddings(triples[:, 0], triples[:, 2], num_nodes, 16, seed=0)
    other = spectral_embeddings(triples[:, 0], triples[:, 2], num_nodes, 16, seed=1)
    assert first.shape == (num_nodes, 16) and first.dtype == np.float32 and np.isfinite(first).all()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    has_edges = np.bincount(np.concatenate([triples[:, 0], triples[:, 2]]), minlength=num_nodes) > 0
    norms = np.linalg.norm(first, axis=1)
    assert not has_edges[-1] and (norms[~has_edges] == 0).all()  # nodes without edges: zero rows
    np.testing.assert_allclose(norms[has_edges], 1.0, rtol=1e-5)  # the others: unit rows


def test_torch_kernels_agree_on_unsorted_and_destination_sorted_edges() -> None:
    """Graphs built directly (not through ``with_backend``) may have edges in any order; the CSR
    layout then permutes values in and out, with the same results per edge and per node."""
    unsorted = random_graph()
    assert unsorted.backend == "torch" and not bool((unsorted.dst[1:] >= unsorted.dst[:-1]).all())
    order = torch.argsort(unsorted.dst, stable=True)
    ordered = Graph(unsorted.src[order], unsorted.dst[order], unsorted.rel[order], NUM_NODES, NUM_NODES)
    generator = torch.Generator().manual_seed(2)
    feat = torch.randn(NUM_NODES, 3, 4, generator=generator)
    weight = torch.rand(unsorted.num_edges, 3, 1, generator=generator)
    coefficient = torch.linspace(-1, 1, unsorted.num_edges * 3).view(-1, 3, 1)
    results = []
    for graph, w, c in ((unsorted, weight, coefficient), (ordered, weight[order], coefficient[order])):
        x, w = feat.clone().requires_grad_(), w.clone().requires_grad_()
        dots = kernels.u_dot_v(graph, x, x)
        summed = kernels.u_mul_e_sum(graph, x, w)
        (summed.square().sum() + (dots * c).sum()).backward()
        results.append((dots, summed, x.grad, w.grad))
    (dots_a, sum_a, gx_a, gw_a), (dots_b, sum_b, gx_b, gw_b) = results
    torch.testing.assert_close(dots_a[order], dots_b)
    torch.testing.assert_close(sum_a, sum_b)
    torch.testing.assert_close(gx_a, gx_b)
    torch.testing.assert_close(gw_a[order], gw_b)


def test_torch_kernels_on_a_graph_without_edges() -> None:
    empty = torch.zeros(0, dtype=torch.int64)
    graph = Graph(empty, empty, empty, 3, 3).with_backend("torch")
    feat = torch.randn(3, 2, 4, requires_grad=True)
    logits = kernels.u_dot_v(graph, feat, feat).squeeze(-1)
    weights = kernels.edge_softmax(graph, logits)
    summed = kernels.u_mul_e_sum(graph, feat, weights.unsqueeze(-1))
    assert weights.shape == (0, 2) and summed.shape == (3, 2, 4) and (summed == 0).all()
    summed.sum().backward()
    assert feat.grad is not None and (feat.grad == 0).all()
