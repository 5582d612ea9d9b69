"""Vectors as objects: cosine similarity, nearest neighbours, a 2-D map (lessons 03 and 04).

The one home of the course's vector helpers: lesson 03 uses them on GloVe word vectors
(through :mod:`course_lib.pretrained`'s ``similar_words`` and ``analogy``, and directly),
lesson 04 on the learned movie vectors. Pure NumPy: importing this module does not import
TensorFlow. Tensors are accepted wherever arrays are (they are converted with ``np.asarray``).

Similarities are computed and returned in float32, the precision of the tables they come
from (lesson 04's movie vectors and lesson 03's GloVe rows alike); ranks are deterministic, ties
broken by the lower row number. The 2-D map is computed in float64 and returned in float32.

Sources: cosine similarity and nearest neighbours as in Manning, Raghavan and Schütze,
*Introduction to Information Retrieval* (2008), chapter 6; principal component analysis via
the singular value decomposition (any linear algebra text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from course_lib.validation import check_finite, check_ids, check_size

__all__ = ["cosine_similarity", "nearest_neighbours", "project_2d"]


def _as_array(values: Any) -> Any:
    """A tensor's NumPy value (``.numpy()``), anything else unchanged (the checks convert it)."""
    if hasattr(values, "numpy") and callable(values.numpy) and not isinstance(values, np.ndarray):
        return values.numpy()
    return values


def cosine_similarity(matrix: Any, query: Any) -> np.ndarray:
    """Cosine similarity of every row of ``matrix`` with ``query``.

    Args:
        matrix: array-like of shape (rows, dim), e.g. an embedding matrix or a tensor.
        query: array-like of shape (dim,).

    Returns:
        float32 array of shape (rows,), values in [-1, 1]; a zero row (padding, a missing
        word) gets 0, never NaN.

    Raises:
        TypeError: ``matrix`` or ``query`` does not hold real numbers.
        ValueError: ``matrix`` is not 2-D, ``query`` is not 1-D, their dimensions differ, either
            holds NaN or infinity, or ``query`` is all zeros (no direction to compare with).
    """
    matrix = check_finite(_as_array(matrix), "matrix", ndim=2).astype(np.float32, copy=False)
    query = check_finite(_as_array(query), "query", ndim=1).astype(np.float32, copy=False)
    if query.shape[0] != matrix.shape[1]:
        raise ValueError(f"query has {query.shape[0]} dimensions but the matrix rows have {matrix.shape[1]}; "
                         f"pass a query of shape ({matrix.shape[1]},), e.g. one row of the same matrix")  # fmt: skip
    query_norm = float(np.linalg.norm(query))
    if query_norm == 0.0:
        raise ValueError("the query vector is all zeros (a padding or missing word?): it has no direction")
    row_norms = np.linalg.norm(matrix, axis=1)
    safe = np.where(row_norms > 0, row_norms, 1.0)
    return (matrix @ query) / (safe * query_norm)


def nearest_neighbours(matrix: Any, query: Any, k: int = 10, *, exclude: Sequence[int] = (),
                       candidates: Any = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The ``k`` rows of ``matrix`` most similar to ``query`` by cosine similarity (top-k).

    Args:
        matrix: shape (rows, dim), real and finite (a word table, the movie tower...).
        query: shape (dim,), e.g. ``matrix[i]`` or ``b - a + c``.
        k: how many rows to return: 1 <= k <= the rows left once ``exclude`` and ``candidates``
            have removed theirs.
        exclude: row numbers (0 <= row < rows) never returned (e.g. the query's own row).
        candidates: optional boolean (rows,), True for rows allowed in the answer (e.g. movies
            with enough ratings for their vector to mean something).

    Returns:
        ``(rows, similarities)``: int64 row numbers and their float32 cosine similarities,
        both shape (k,), most similar first; ties broken by the lower row number.

    Raises:
        TypeError: ``k`` is not an int, ``exclude`` does not hold integer row numbers.
        ValueError: as :func:`cosine_similarity`; ``k`` < 1; ``k`` larger than the rows that
            can be returned (asking for more is refused, never answered with fewer); an
            ``exclude`` row outside 0..rows-1 (a negative row never counts from the end);
            ``candidates`` not a boolean array of shape (rows,).
    """
    similarities = cosine_similarity(matrix, query).astype(np.float64)
    rows = similarities.shape[0]
    k = check_size(k, "k", hint="ask for at least one neighbour")
    excluded = np.zeros(rows, dtype=bool)
    excluded[np.unique(check_ids(exclude, "exclude", maximum=rows - 1, ndim=1))] = True
    if candidates is not None:
        allowed = np.asarray(_as_array(candidates))
        if allowed.dtype != bool or allowed.shape != (rows,):
            raise ValueError(f"candidates must be a boolean array of shape ({rows},) (True = may be returned), got "
                             f"{allowed.dtype} {allowed.shape}")  # fmt: skip
        excluded |= ~allowed
    available = int(rows - excluded.sum())
    if k > available:
        raise ValueError(f"k={k}: only {available} rows can be returned ({rows} rows, {int(excluded.sum())} excluded); "
                         f"ask for at most {available} neighbours")  # fmt: skip
    ranked = np.where(excluded, -np.inf, similarities)
    order = np.argsort(-ranked, kind="stable")[:k]
    return order.astype(np.int64), similarities[order].astype(np.float32)


def project_2d(points: Any) -> np.ndarray:
    """Project points onto their first two principal components (PCA by SVD, centred), for a 2-D map.

    Args:
        points: shape (n, dim) with n >= 2 and dim >= 2, e.g. the vectors of chosen words or movies.

    Returns:
        float32 array of shape (n, 2): coordinates along the two directions of largest
        variance, centred at 0. Signs are fixed (the largest-magnitude coordinate of each
        axis is positive), so the same input always gives the same picture.

    Raises:
        TypeError: ``points`` does not hold real numbers.
        ValueError: ``points`` is not 2-D, has fewer than 2 rows or 2 columns (one column has
            no second direction: a map needs two), or holds NaN/inf.
    """
    points = check_finite(_as_array(points), "points", ndim=2).astype(np.float64)
    if points.shape[0] < 2 or points.shape[1] < 2:
        raise ValueError(f"points=<array of shape {points.shape}>: need at least 2 rows and 2 columns (a 2-D map "
                         f"needs two directions); pass the vectors of two or more items")  # fmt: skip
    centred = points - points.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    coords = u[:, :2] * s[:2]
    flip = np.sign(coords[np.abs(coords).argmax(axis=0), [0, 1]])
    flip[flip == 0] = 1.0
    return (coords * flip).astype(np.float32)
