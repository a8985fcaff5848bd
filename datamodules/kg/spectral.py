"""Spectral structural embeddings in seconds (ProNE-style: factorise, then propagate).

1. **Sparse factorisation.** Skip-gram with negative sampling factorises, in expectation, the
   log ratio between a node's one-step transition probabilities and the negative-sampling
   distribution (degree^0.75). Kept only on the graph's edges that matrix is as sparse as the
   graph; a seeded randomized truncated SVD of it gives a first embedding U·√Σ.
2. **Spectral propagation.** The embedding is filtered by a band-pass kernel of the normalised
   Laplacian of the graph with self-loops, g(λ) = exp(−θ((λ − μ)²/2 − 1)), evaluated as a Chebyshev
   series (its coefficients are modified Bessel functions of θ), so each term costs one sparse
   product; the residual (I − g(L))·U is propagated once over the adjacency with self-loops and
   orthogonalised by a dense SVD.

Everything is sparse-by-dense products and small dense factorisations: a graph with 115k nodes and
760k edges takes seconds (BENCHMARKS.md), against minutes for random-walk skip-gram. Edges are
treated as undirected and unweighted; nodes without edges get zero rows.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import torch
from scipy.special import iv

BLOCK = 8  # columns propagated at a time: bounds the dense temporaries at 10⁷ nodes
ROWS = 65_536  # rows of the final embedding computed at a time

Floats = npt.NDArray[np.float64]
Ids = npt.NDArray[np.int64]


def undirected_adjacency(src: Ids, dst: Ids, num_nodes: int) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency without self-loops (duplicate and reverse edges collapse)."""
    keep = src != dst
    rows = np.concatenate([src[keep], dst[keep]])
    cols = np.concatenate([dst[keep], src[keep]])
    adjacency = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_nodes, num_nodes))
    adjacency.data[:] = 1.0
    return adjacency


def _orthonormal(block: Floats) -> Floats:
    """An orthonormal basis of the columns (torch's multi-threaded QR is ~2x NumPy's here)."""
    basis: Floats = torch.linalg.qr(torch.from_numpy(np.ascontiguousarray(block)))[0].numpy()
    return basis


def randomized_svd(
    matrix: sp.spmatrix, rank: int, rng: np.random.Generator, oversample: int = 10, power_iterations: int = 2
) -> tuple[Floats, Floats]:
    """Left singular vectors and values of the top ``rank`` components (Halko et al.), with each
    vector's sign fixed (largest entry positive) so the result depends on the seed only."""
    width = min(rank + oversample, min(matrix.shape))
    basis = matrix @ rng.standard_normal((matrix.shape[1], width))
    basis = _orthonormal(basis)
    for _ in range(power_iterations):  # power iterations sharpen the spectrum; QR keeps them stable
        basis = matrix.T @ basis  # one step at a time, each result replacing the basis: the product (or
        basis = _orthonormal(basis)  # QR's input) and its result are the only [nodes, width] arrays held
        basis = matrix @ basis
        basis = _orthonormal(basis)
    # basisᵀ·M is wide: its left singular pairs are the eigenpairs of the small Gram matrix (basisᵀ·M)(Mᵀ·basis)
    # (square roots), cheaper than its SVD, and holding one [nodes, width] array beside the basis
    projected = matrix.T @ basis
    gram = projected.T @ projected
    del projected
    squares, small_u = np.linalg.eigh(gram)
    order = np.argsort(squares)[::-1][:rank]
    values, small_u = np.sqrt(np.clip(squares[order], 0, None)), small_u[:, order]
    return _fix_signs(basis @ small_u), values


def write_scaled_vectors(block: Floats, out: npt.NDArray[np.float32], rows: int = ROWS) -> None:
    """``out`` ← the rows of U·√Σ (U, Σ: the thin SVD of a tall dense ``block``, QR first so the SVD is
    tiny), each scaled to unit length, with each column's sign fixed as ``_fix_signs`` fixes U's. Written
    ``rows`` at a time, so U·√Σ is never held whole beside Q."""
    q, r = torch.linalg.qr(torch.from_numpy(np.ascontiguousarray(block)))
    small_u, values, _ = np.linalg.svd(r.numpy())
    weights, basis = small_u * np.sqrt(values), q.numpy()
    peaks = np.zeros(weights.shape[1])  # each column's entry of largest magnitude so far (the first one)
    for start in range(0, len(basis), rows):
        scaled = basis[start : start + rows] @ weights
        at = np.abs(scaled).argmax(axis=0)
        candidates = scaled[at, np.arange(scaled.shape[1])]
        larger = np.abs(candidates) > np.abs(peaks)
        peaks[larger] = candidates[larger]
        out[start : start + rows] = _row_normalise(scaled, 2)
    out *= np.where(peaks < 0, -1.0, 1.0).astype(out.dtype)


def _fix_signs(vectors: Floats) -> Floats:
    """In place (a [nodes, dim] copy less at the peak)."""
    peaks = vectors[np.abs(vectors).argmax(axis=0), np.arange(vectors.shape[1])]
    vectors *= np.where(peaks < 0, -1.0, 1.0)
    return vectors


@overload
def _row_normalise(matrix: Floats, norm: int) -> Floats: ...


@overload
def _row_normalise(matrix: sp.spmatrix, norm: int) -> sp.spmatrix: ...


def _row_normalise(matrix: sp.spmatrix | Floats, norm: int) -> sp.spmatrix | Floats:
    """Rows scaled to unit L1 (``norm`` 1) or L2 norm (``norm`` 2, dense only, in place); all-zero rows
    stay zero."""
    totals = np.asarray(abs(matrix).sum(axis=1)).ravel() if norm == 1 else np.linalg.norm(matrix, axis=1)
    scale = np.divide(1.0, totals, out=np.zeros_like(totals, dtype=float), where=totals > 0)
    if sp.issparse(matrix):
        return sp.diags(scale) @ matrix
    matrix *= scale[:, None]
    return matrix


def factorised_embedding(
    adjacency: sp.csr_matrix, dim: int, rng: np.random.Generator, negative_exponent: float = 0.75
) -> Floats:
    """Step 1: truncated SVD of log(transition probability) − log(negative-sampling probability) on edges."""
    transition = _row_normalise(adjacency, 1).tocsr()
    negative = np.asarray(transition.sum(axis=0)).ravel() ** negative_exponent
    negative /= negative.sum()
    values = np.log(transition.data) - np.log(negative[transition.indices])  # on the same sparsity pattern
    ratio = sp.csr_matrix((values, transition.indices, transition.indptr), shape=adjacency.shape)
    del transition, values
    vectors, singular = randomized_svd(ratio, dim, rng)
    vectors *= np.sqrt(singular)
    return _row_normalise(vectors, 2)


def propagate(
    adjacency: sp.csr_matrix, embedding: Floats, order: int, mu: float, theta: float, block: int = BLOCK
) -> Floats:
    """Step 2: Σ_k c_k T_k(Y)·U with Y = (L − μI)²/2 − I (spectrum in [−1, 1]) and c_k = (−1)^k·2·I_k(θ),
    i.e. g(L)·U; then (A + I)·(U − g(L)·U), written over U. Columns filter independently, so they go
    ``block`` at a time: the recurrence's dense temporaries are [nodes, block], not [nodes, dim] (the same
    numbers)."""
    looped = adjacency + sp.identity(adjacency.shape[0], format="csr")
    laplacian_shift = sp.identity(adjacency.shape[0], format="csr") * (1.0 - mu) - _row_normalise(looped, 1)
    for start in range(0, embedding.shape[1], block):  # in place: a block's columns serve only that block
        columns = np.ascontiguousarray(embedding[:, start : start + block])
        embedding[:, start : start + block] = looped @ (columns - _chebyshev(laplacian_shift, columns, order, theta))
    return embedding


def _chebyshev(laplacian_shift: sp.csr_matrix, columns: Floats, order: int, theta: float) -> Floats:
    """g(L)·X for the band-pass kernel, as its Chebyshev series in Y."""

    def apply_y(block: Floats) -> Floats:  # Y·X = ((L − μI)²/2 − I)·X
        product: Floats = laplacian_shift @ (laplacian_shift @ block)
        return 0.5 * product - block

    previous, current = columns, apply_y(columns)
    filtered: Floats = iv(0, theta) * previous - 2 * iv(1, theta) * current
    for k in range(2, order):
        previous, current = current, 2 * apply_y(current) - previous
        filtered += (-1) ** k * 2 * iv(k, theta) * current
    return filtered


def spectral_embeddings(
    src: npt.ArrayLike,
    dst: npt.ArrayLike,
    num_nodes: int,
    dim: int,
    seed: int,
    order: int = 10,
    mu: float = 0.2,
    theta: float = 0.5,
) -> npt.NDArray[np.float32]:
    """[num_nodes, dim] float32 embeddings, deterministic for a seed (zero columns past the graph's rank)."""
    rng = np.random.default_rng(seed)
    rank = min(dim, num_nodes - 1)
    adjacency = undirected_adjacency(np.asarray(src, np.int64), np.asarray(dst, np.int64), num_nodes)
    out = np.zeros((num_nodes, dim), dtype=np.float32)
    if rank < 1 or adjacency.nnz == 0:
        return out
    propagated = propagate(adjacency, factorised_embedding(adjacency, rank, rng), order, mu, theta)
    del adjacency
    write_scaled_vectors(propagated, out[:, :rank] if rank < dim else out)
    return out
