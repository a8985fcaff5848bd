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

Sparse-by-dense products run on torch's CSR kernel (MKL, the run's threads; ~2.4x scipy's on one thread at
10⁶ nodes), over the scipy matrices' own arrays (no copy).

Sized for 10⁷ nodes on one machine: the [nodes, width] arrays and the sparse values are float32 (half
the memory, ~1.8x faster sparse products; the embedding moves by ~1e-6), small matrices are float64,
bases are orthonormalised in place by Cholesky QR (Gram matrices summed over row chunks in float64; one pass
per power iteration, where only the span matters, a second on the last basis), and
every [nodes, width] step that would need a second copy runs ``ROWS`` rows at a time.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Iterator

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import torch
from scipy.linalg import solve_triangular
from scipy.special import iv

BLOCK = 16  # columns propagated at a time: bounds the dense temporaries at 10⁷ nodes (~1.4x faster per column than 8)
ROWS = 65_536  # rows of a [nodes, width] array transformed at a time
DTYPE = np.float32  # of the [nodes, width] arrays and the sparse values
DEPENDENT = 1e-6  # Cholesky QR falls back to Householder QR below this ratio of R's smallest to largest diagonal

Floats = npt.NDArray[np.floating[Any]]
Ids = npt.NDArray[np.int64]


def undirected_adjacency(src: Ids, dst: Ids, num_nodes: int) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency (float32) without self-loops (duplicate and reverse edges collapse)."""
    keep = src != dst
    index = np.int32 if num_nodes < 2**31 else np.int64
    rows = np.concatenate([src[keep], dst[keep]], dtype=index)
    cols = np.concatenate([dst[keep], src[keep]], dtype=index)
    adjacency = sp.csr_matrix((np.ones(len(rows), DTYPE), (rows, cols)), shape=(num_nodes, num_nodes))
    adjacency.data[:] = 1.0
    return adjacency


class SparseProduct:
    """``matrix @ X`` on torch's CSR kernel over ``matrix``'s own index and value arrays, in the wider of the two
    dtypes (as scipy's product: float32 for the embedding's arrays)."""

    def __init__(self, matrix: sp.csr_matrix) -> None:
        self.matrix = matrix
        self.tensors: dict[np.dtype[Any], torch.Tensor] = {}

    def _tensor(self, dtype: np.dtype[Any]) -> torch.Tensor:
        if dtype not in self.tensors:
            m = self.matrix
            rows, columns = torch.from_numpy(m.indptr), torch.from_numpy(m.indices)
            values = torch.from_numpy(m.data.astype(dtype, copy=False))
            with warnings.catch_warnings():  # "sparse CSR support is in beta": its product is all that is used
                warnings.simplefilter("ignore", UserWarning)
                self.tensors[dtype] = torch.sparse_csr_tensor(rows, columns, values, size=m.shape)
        return self.tensors[dtype]

    def __matmul__(self, dense: Floats) -> Floats:
        dtype = np.result_type(self.matrix.dtype, dense.dtype)
        columns = torch.from_numpy(np.ascontiguousarray(dense, dtype=dtype))
        product: Floats = (self._tensor(dtype) @ columns).numpy()
        return product


def _chunks(length: int, rows: int = ROWS) -> Iterator[slice]:
    return (slice(start, start + rows) for start in range(0, length, rows))


def _gram(block: Floats) -> npt.NDArray[np.float64]:
    """blockᵀ·block in float64, summed over row chunks (no float64 copy of the block)."""
    gram = np.zeros((block.shape[1], block.shape[1]))
    for rows in _chunks(len(block)):
        chunk = block[rows].astype(np.float64)
        gram += chunk.T @ chunk
    return gram


def _multiply_rows(block: Floats, matrix: npt.NDArray[np.float64]) -> None:
    """block ← block·matrix (square), in place, a row chunk at a time, in the block's dtype (float32: BLAS's
    single-precision product, no float64 copy; the second Cholesky pass removes what float32 leaves)."""
    weights = matrix.astype(block.dtype)
    for rows in _chunks(len(block)):
        block[rows] = block[rows] @ weights


def _orthonormal(block: Floats) -> Floats:
    """A basis of the columns' span, written over them: one Cholesky QR pass, no second [nodes, width] array
    (it leaves errors of cond²·ε: a second pass on its result is orthonormal to float noise); Householder QR
    where the columns are nearly dependent."""
    try:
        lower = np.linalg.cholesky(_gram(block))  # gram = R^T R with R = lowerᵀ
    except np.linalg.LinAlgError:
        return _householder(block)
    diagonal = np.diag(lower)
    if diagonal.min() <= DEPENDENT * diagonal.max():
        return _householder(block)
    _multiply_rows(block, solve_triangular(lower, np.eye(len(lower)), lower=True).T)  # block·R⁻¹
    return block


def _householder(block: Floats) -> Floats:
    basis: Floats = torch.linalg.qr(torch.from_numpy(np.ascontiguousarray(block)))[0].numpy()
    return basis


def _gaussian(rng: np.random.Generator, rows: int, width: int) -> Floats:
    """Standard normal [rows, width] float32, drawn in float64 a chunk at a time: the same numbers as one
    float64 draw (the stream fills rows in order), without the float64 array."""
    out = np.empty((rows, width), DTYPE)
    for chunk in _chunks(rows):
        out[chunk] = rng.standard_normal((len(out[chunk]), width))
    return out


def randomized_svd(
    csr: sp.csr_matrix,
    rank: int,
    rng: np.random.Generator,
    oversample: int = 10,
    power_iterations: int = 2,
    transposed: sp.csr_matrix | None = None,
) -> tuple[Floats, npt.NDArray[np.float64]]:
    """Left singular vectors ([nodes, rank] float32) and values of the top ``rank`` components (Halko et
    al.), with each vector's sign fixed (largest entry positive) so the result depends on the seed only.
    ``transposed``: ``csr``ᵀ as a CSR matrix, where the caller has it cheaper than a transposed copy."""
    width = min(rank + oversample, min(csr.shape))
    matrix = SparseProduct(csr)
    transpose = SparseProduct(csr.T.tocsr() if transposed is None else transposed)
    basis = _orthonormal(matrix @ _gaussian(rng, csr.shape[1], width))
    for _ in range(power_iterations):  # power iterations sharpen the spectrum; QR keeps them stable
        # each product replaces the basis: it and the basis are the only [nodes, width] arrays held; one
        # Cholesky pass each, as only their span matters
        basis = _orthonormal(transpose @ basis)
        basis = _orthonormal(matrix @ basis)
    basis = _orthonormal(basis)  # the second pass: the last basis must be orthonormal
    # basisᵀ·M is wide: its left singular pairs are the eigenpairs of the small Gram matrix (basisᵀ·M)(Mᵀ·basis)
    squares, small_u = np.linalg.eigh(_gram(transpose @ basis))
    order = np.argsort(squares)[::-1][:rank]
    values = np.sqrt(np.clip(squares[order], 0, None))
    vectors = np.empty((len(basis), len(order)), DTYPE)
    _rows_product(basis, small_u[:, order], vectors, normalise=False)
    return vectors, values


def _rows_product(
    block: Floats, weights: npt.NDArray[np.float64], out: Floats, normalise: bool, rows: int = ROWS
) -> None:
    """``out`` ← block·weights a row chunk at a time (rows scaled to unit length if ``normalise``), each column's
    sign then fixed: its entry of largest magnitude before the scaling (the first one) made positive."""
    peaks = np.zeros(weights.shape[1])
    for chunk in _chunks(len(block), rows):
        product = block[chunk].astype(np.float64) @ weights
        at = np.abs(product).argmax(axis=0)
        candidates = product[at, np.arange(product.shape[1])]
        larger = np.abs(candidates) > np.abs(peaks)
        peaks[larger] = candidates[larger]
        out[chunk] = _row_normalise(product) if normalise else product
    out *= np.where(peaks < 0, -1.0, 1.0).astype(out.dtype)


def write_scaled_vectors(block: Floats, out: npt.NDArray[np.float32], rows: int = ROWS) -> None:
    """``out`` ← the rows of U·√Σ (U, Σ: the thin SVD of a tall dense ``block``), each scaled to unit length,
    with each column's sign fixed as ``randomized_svd`` fixes U's. U·√Σ = block·W·Σ^(-1/2) with W, Σ² the
    eigenpairs of blockᵀ·block, so nothing [nodes, width] is held beside ``block`` and ``out`` (directions
    with σ below ``DEPENDENT``·σ₁, noise in float32, get zero weight). Written ``rows`` at a time."""
    squares, vectors = np.linalg.eigh(_gram(block))
    order = np.argsort(squares)[::-1]
    values = np.sqrt(np.clip(squares[order], 0, None))
    kept = values > DEPENDENT * values[0]
    scale = np.divide(1.0, np.sqrt(values), out=np.zeros_like(values), where=kept)
    _rows_product(block, vectors[:, order] * scale, out, normalise=True, rows=rows)


def _row_normalise(matrix: Floats) -> Floats:
    """Rows scaled to unit L2 norm, in place; all-zero rows stay zero."""
    totals = np.linalg.norm(matrix, axis=1)
    matrix *= np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)[:, None]
    return matrix


def _entry_values(matrix: sp.csr_matrix, value: Callable[[Ids, Ids], Floats]) -> sp.csr_matrix:
    """A matrix with ``matrix``'s sparsity pattern (its index arrays shared, not copied) and the float32
    values ``value(rows, columns)`` of its stored entries, computed ``ROWS`` rows at a time: the float64
    temporaries are a chunk's, not [entries] ones (gigabytes each at 10⁸ edges)."""
    values = np.empty(matrix.nnz, DTYPE)
    for start in range(0, matrix.shape[0], ROWS):
        pointers = matrix.indptr[start : start + ROWS + 1]
        entries = slice(pointers[0], pointers[-1])
        rows = np.repeat(np.arange(start, start + len(pointers) - 1), np.diff(pointers))
        values[entries] = value(rows, matrix.indices[entries])
    return sp.csr_matrix((values, matrix.indices, matrix.indptr), shape=matrix.shape)


def _log(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """log where positive (only gathered where positive: entries' rows and columns), 0 elsewhere."""
    logs: npt.NDArray[np.float64] = np.log(np.where(values > 0, values, 1.0))
    return logs


def factorised_embedding(
    adjacency: sp.csr_matrix, dim: int, rng: np.random.Generator, negative_exponent: float = 0.75
) -> Floats:
    """Step 1: truncated SVD of log(transition probability) − log(negative-sampling probability) on edges."""
    degree = np.diff(adjacency.indptr).astype(np.float64)  # 0/1 rows: the row sums
    inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)  # each row's transition value
    negative = (adjacency.T @ inverse) ** negative_exponent  # column sums of the transition matrix
    negative /= negative.sum()
    log_inverse, log_negative = _log(inverse), _log(negative)
    ratio = _entry_values(adjacency, lambda rows, columns: log_inverse[rows] - log_negative[columns])
    # the adjacency is symmetric, so ratioᵀ has its pattern too: only the values are swapped, not the indices
    transposed = _entry_values(adjacency, lambda rows, columns: log_inverse[columns] - log_negative[rows])
    vectors, singular = randomized_svd(ratio, dim, rng, transposed=transposed)
    del ratio, transposed
    for rows_slice in _chunks(len(vectors)):
        vectors[rows_slice] = _row_normalise(vectors[rows_slice] * np.sqrt(singular))
    return vectors


def _filter_matrices(adjacency: sp.csr_matrix, mu: float) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """A + I and (1 − μ)·I − D⁻¹(A + I) (D: the row sums of A + I), sharing one index array."""
    looped = (adjacency + sp.identity(adjacency.shape[0], dtype=DTYPE, format="csr")).tocsr()
    degree = np.diff(looped.indptr).astype(np.float64)  # 0/1 entries, every row holding its self-loop
    shift = _entry_values(looped, lambda rows, columns: np.where(columns == rows, 1.0 - mu, 0.0) - 1.0 / degree[rows])
    return looped, shift


def propagate(
    adjacency: sp.csr_matrix, embedding: Floats, order: int, mu: float, theta: float, block: int = BLOCK
) -> Floats:
    """Step 2: Σ_k c_k T_k(Y)·U with Y = (L − μI)²/2 − I (spectrum in [−1, 1]) and c_k = (−1)^k·2·I_k(θ),
    i.e. g(L)·U; then (A + I)·(U − g(L)·U), written over U. Columns filter independently, so they go
    ``block`` at a time: the recurrence's dense temporaries are [nodes, block], not [nodes, dim] (the same
    numbers)."""
    looped_csr, shift_csr = _filter_matrices(adjacency, mu)
    looped, laplacian_shift = SparseProduct(looped_csr), SparseProduct(shift_csr)
    for start in range(0, embedding.shape[1], block):  # in place: a block's columns serve only that block
        columns = np.ascontiguousarray(embedding[:, start : start + block])
        columns -= _chebyshev(laplacian_shift, columns, order, theta)
        embedding[:, start : start + block] = looped @ columns
    return embedding


def _chebyshev(laplacian_shift: SparseProduct, columns: Floats, order: int, theta: float) -> Floats:
    """g(L)·X for the band-pass kernel, as its Chebyshev series in Y (coefficients as Python floats, so the
    float32 columns stay float32)."""

    def apply_y(block: Floats) -> Floats:  # Y·X = ((L − μI)²/2 − I)·X
        result: Floats = laplacian_shift @ (laplacian_shift @ block)
        result *= 0.5
        result -= block
        return result

    previous, current = columns, apply_y(columns)
    filtered: Floats = float(iv(0, theta)) * previous - float(2 * iv(1, theta)) * current
    for k in range(2, order):
        following = apply_y(current)
        following *= 2
        following -= previous
        previous, current = current, following
        filtered += float((-1) ** k * 2 * iv(k, theta)) * current
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
    if rank < 1 or adjacency.nnz == 0:
        return np.zeros((num_nodes, dim), dtype=np.float32)
    propagated = propagate(adjacency, factorised_embedding(adjacency, rank, rng), order, mu, theta)
    del adjacency
    out = np.zeros((num_nodes, dim), dtype=np.float32)  # allocated last: not held through the propagation
    write_scaled_vectors(propagated, out[:, :rank] if rank < dim else out)
    return out
