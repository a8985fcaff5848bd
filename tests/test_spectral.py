"""The spectral embedding's memory-saving steps compute the same numbers as the direct ones."""

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
