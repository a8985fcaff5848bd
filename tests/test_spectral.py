"""The spectral embedding's memory-saving steps compute the same numbers as the direct ones (float32 ones: to
float32 noise)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from datamodules.kg.spectral import propagate, randomized_svd, undirected_adjacency, write_scaled_vectors
from datamodules.kg.synthetic import make_synthetic_tables


def _adjacency(num_nodes: int = 300) -> sp.csr_matrix:
    _, triples = make_synthetic_tables(num_nodes=num_nodes, avg_degree=5, seed=3)
    return undirected_adjacency(triples[:, 0].astype(np.int64), triples[:, 2].astype(np.int64), num_nodes)


def test_propagating_columns_in_blocks_gives_the_whole_matrix_result() -> None:
    adjacency = _adjacency()
    embedding = np.random.default_rng(0).standard_normal((adjacency.shape[0], 24))
    whole = propagate(adjacency, embedding.copy(), order=10, mu=0.2, theta=0.5, block=24)
    blocks = propagate(adjacency, embedding.copy(), order=10, mu=0.2, theta=0.5, block=5)  # uneven last block
    np.testing.assert_allclose(blocks, whole, rtol=0, atol=1e-12)
    assert not np.allclose(whole, embedding)


def test_randomized_svd_finds_the_top_singular_pairs() -> None:
    rng = np.random.default_rng(1)
    left, _ = np.linalg.qr(rng.standard_normal((500, 8)))
    right, _ = np.linalg.qr(rng.standard_normal((400, 8)))
    values = np.array([50.0, 40, 30, 20, 10, 5, 2, 1])
    matrix = sp.csr_matrix(left @ np.diag(values) @ right.T)
    vectors, found = randomized_svd(matrix, 5, np.random.default_rng(0))
    np.testing.assert_allclose(found, values[:5], rtol=1e-8)
    np.testing.assert_allclose(np.abs(vectors.T @ left[:, :5]), np.eye(5), atol=1e-8)  # same vectors up to sign
    peaks = vectors[np.abs(vectors).argmax(axis=0), np.arange(5)]
    assert (peaks > 0).all()  # signs fixed: the largest entry of each vector is positive


def test_the_final_vectors_written_in_row_chunks_equal_one_pass() -> None:
    block = np.random.default_rng(2).standard_normal((50, 6))
    block[:, 2] *= -3  # a column whose largest entry is negative before the sign fix
    one_pass, chunks = np.zeros((50, 6), np.float32), np.zeros((50, 6), np.float32)
    write_scaled_vectors(block, one_pass, rows=50)
    write_scaled_vectors(block, chunks, rows=7)
    np.testing.assert_array_equal(chunks, one_pass)
    u, values, _ = np.linalg.svd(block, full_matrices=False)
    signs = np.sign(u[np.abs(u).argmax(axis=0), np.arange(6)])
    direct = u * signs * np.sqrt(values)
    np.testing.assert_allclose(one_pass, direct / np.linalg.norm(direct, axis=1, keepdims=True), atol=1e-6)


def _previous_method(src: np.ndarray, dst: np.ndarray, n: int, dim: int, seed: int) -> np.ndarray:
    """The embedding as the float64 implementation before issue 40 computed it, written directly on dense
    arrays (whole-array Householder QR, SVDs, the Chebyshev series in Y): the reference that the float32,
    in-place, row-chunked steps must reproduce to float32 noise."""
    from scipy.special import iv

    rng = np.random.default_rng(seed)
    adjacency = undirected_adjacency(src, dst, n).toarray().astype(np.float64)
    transition = adjacency / np.maximum(adjacency.sum(1), 1)[:, None]
    negative = transition.sum(0) ** 0.75
    negative /= negative.sum()
    edges = adjacency > 0
    ratio = np.where(edges, np.log(np.where(edges, transition, 1)) - np.log(np.maximum(negative, 1e-300)), 0)
    basis = np.linalg.qr(ratio @ rng.standard_normal((n, dim + 10)))[0]
    for _ in range(2):
        basis = np.linalg.qr(ratio @ np.linalg.qr(ratio.T @ basis)[0])[0]
    small_u, values, _ = np.linalg.svd(basis.T @ ratio, full_matrices=False)
    embedding = _signed(basis @ small_u[:, :dim]) * np.sqrt(values[:dim])
    embedding /= np.linalg.norm(embedding, axis=1, keepdims=True)
    looped = adjacency + np.eye(n)
    shift = 0.8 * np.eye(n) - looped / looped.sum(1)[:, None]
    y = shift @ shift / 2 - np.eye(n)
    previous, current = embedding, y @ embedding
    filtered = iv(0, 0.5) * previous - 2 * iv(1, 0.5) * current
    for k in range(2, 10):
        previous, current = current, 2 * y @ current - previous
        filtered += (-1) ** k * 2 * iv(k, 0.5) * current
    u, values, _ = np.linalg.svd(looped @ (embedding - filtered), full_matrices=False)
    scaled = _signed(u) * np.sqrt(values)
    return scaled / np.linalg.norm(scaled, axis=1, keepdims=True)


def _signed(vectors: np.ndarray) -> np.ndarray:
    return vectors * np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(vectors.shape[1])])


def test_the_float32_embedding_reproduces_the_previous_float64_method() -> None:
    from datamodules.kg.spectral import spectral_embeddings

    _, triples = make_synthetic_tables(num_nodes=400, avg_degree=6, seed=5)
    src, dst = triples[:, 0].astype(np.int64), triples[:, 2].astype(np.int64)
    embedding = spectral_embeddings(src, dst, 400, 16, seed=0)
    assert embedding.dtype == np.float32
    difference = np.abs(embedding - _previous_method(src, dst, 400, 16, seed=0))
    assert difference.max() < 1e-5 and difference.mean() < 1e-6  # measured: 1.7e-6 and 1.7e-7


def test_cholesky_qr_keeps_the_subspace_and_falls_back_on_dependent_columns() -> None:
    from datamodules.kg.spectral import _orthonormal

    rng = np.random.default_rng(4)
    block = (rng.standard_normal((1000, 6)) @ np.diag([1e3, 100, 10, 1, 0.1, 0.01])).astype(np.float32)
    once = _orthonormal(block.copy())  # one pass: the span (what the power iterations need)
    basis = _orthonormal(once.copy())  # two: orthonormal (the last basis)
    np.testing.assert_allclose(basis.T @ basis, np.eye(6), atol=1e-5)
    np.testing.assert_allclose(np.abs(once.T @ basis), np.eye(6), atol=1e-4)
    householder = np.linalg.qr(block.astype(np.float64))[0]
    np.testing.assert_allclose(np.abs(basis.T @ householder), np.eye(6), atol=1e-4)  # same columns up to sign
    dependent = np.concatenate([block[:, :3], block[:, :3] * 2], axis=1)
    basis = _orthonormal(dependent)  # Cholesky fails: Householder QR still gives orthonormal columns
    np.testing.assert_allclose(basis.T @ basis, np.eye(6), atol=1e-5)
