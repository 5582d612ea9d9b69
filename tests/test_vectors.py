"""course_lib.vectors: the one home of the vector helpers (lessons 03 and 04)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_lib import pretrained, recommender, vectors


def test_one_home_for_the_vector_helpers():
    """Lesson 03's and lesson 04's neighbours and 2-D maps come from course_lib.vectors only."""
    assert pretrained.nearest_neighbours is vectors.nearest_neighbours  # similar_words and analogy use it
    for gone in ("cosine_neighbours", "pca_2d"):
        assert not hasattr(recommender, gone)
    for gone in ("project_2d", "cosine_similarity"):
        assert not hasattr(pretrained, gone)


def test_neighbours_ignore_length_exclude_the_query_and_honour_candidates():
    table = np.array([[-0.1, -1], [1, 0], [10, 3], [0.9, 0.1], [0, 1], [-1, 0]], dtype="float32")
    ids, sims = vectors.nearest_neighbours(table, table[1], k=3, exclude=[1])
    assert ids.tolist() == [3, 2, 4] and ids.dtype == np.int64 and sims.dtype == np.float32
    assert sims[0] == pytest.approx(0.9 / np.hypot(0.9, 0.1))
    allowed = np.array([False, True, False, True, True, True])
    assert vectors.nearest_neighbours(table, table[1], k=2, exclude=[1], candidates=allowed)[0].tolist() == [3, 4]
    # a tensor works as well as an array (lesson 04 passes the model's tables)
    assert vectors.nearest_neighbours(tf.constant(table), table[1], k=3, exclude=[1])[0].tolist() == [3, 2, 4]
    with pytest.raises(ValueError, match=r"k=9: only 5 rows"):
        vectors.nearest_neighbours(table, table[1], k=9, exclude=[1])
    with pytest.raises(ValueError, match=r"k=4: only 3 rows"):
        vectors.nearest_neighbours(table, table[1], k=4, exclude=[1], candidates=allowed)
    with pytest.raises(ValueError, match="candidates must be a boolean array of shape \\(6,\\)"):
        vectors.nearest_neighbours(table, table[1], k=2, candidates=np.ones(6))
    with pytest.raises(ValueError, match="candidates"):
        vectors.nearest_neighbours(table, table[1], k=2, candidates=np.ones(5, bool))


def test_similarities_are_float32_whatever_the_input():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 8))
    sims = vectors.cosine_similarity(table, table[3])
    assert sims.dtype == np.float32 and sims[3] == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(sims, vectors.cosine_similarity(table.astype(np.float32), table[3].astype(np.float32)))


def test_project_2d_keeps_the_two_largest_directions():
    points = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    coords = vectors.project_2d(points)
    assert coords.shape == (6, 2) and coords.dtype == np.float32
    assert np.allclose(coords.mean(axis=0), 0, atol=1e-6) and np.var(coords[:, 0]) >= np.var(coords[:, 1])


def test_project_2d_refuses_one_column():
    """Issue 17: one column has one direction only; (n, 1) would break the promised (n, 2)."""
    with pytest.raises(ValueError, match=r"shape \(5, 1\).*2 columns"):
        vectors.project_2d(np.arange(5.0)[:, None])
