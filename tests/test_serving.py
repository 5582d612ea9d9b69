"""course_lib.serving: exact and FAISS top-k, their agreement and their timing (lesson 04, Going deeper)."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import serving


@pytest.fixture(scope="module")
def catalogue():
    base = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    return base, serving.synthetic_catalogue(base, 20_000, seed=1)


def test_synthetic_catalogue_keeps_the_tables_clusters(catalogue):
    base, table = catalogue
    assert table.shape == (20_000, 8) and table.dtype == np.float32
    nearest = np.argmax(table[:200] @ base.T / np.linalg.norm(base, axis=1), axis=1)
    assert len(np.unique(nearest)) > 30  # spread over the base rows, not one blob
    assert np.array_equal(serving.synthetic_catalogue(base, 100, seed=1), serving.synthetic_catalogue(base, 100, seed=1))
    with pytest.raises(ValueError, match="size"):
        serving.synthetic_catalogue(base, 0)


def test_brute_force_is_exact_and_faiss_finds_most_of_it(catalogue):
    base, table = catalogue
    queries = base[:20] + 0.1
    ids, scores = serving.brute_force_top_k(table, k=10)(queries)
    reference = np.argsort(-(queries @ table.T), axis=1, kind="stable")[:, :10]
    assert np.array_equal(ids, reference)
    assert np.allclose(scores, np.take_along_axis(queries @ table.T, reference, 1), atol=1e-3)
    index = serving.ivf_index(table, lists=64, train_size=5_000)
    every_list = serving.ivf_top_k(index, queries, nprobe=64)[0]  # all clusters scanned: exact
    assert serving.recall_against(ids, every_list) == pytest.approx(1.0)
    one_list = serving.recall_against(ids, serving.ivf_top_k(index, queries, nprobe=1)[0])
    assert 0.2 < one_list < 1.0  # fewer clusters scanned, fewer true neighbours found


def test_latency_reports_median_max_and_a_p99_only_from_enough_calls():
    timing = serving.latency(lambda q: q.sum(), np.ones((600, 4), np.float32), batch=256, calls=5)
    assert set(timing) == {"median_ms", "p99_ms", "max_ms", "per_query_ms"}
    assert timing["max_ms"] >= timing["median_ms"] >= 0 and timing["per_query_ms"] == timing["median_ms"] / 256
    assert np.isnan(timing["p99_ms"])  # 5 calls: a "99th percentile" would only be the slowest call
    many = serving.latency(lambda q: q.sum(), np.ones((600, 4), np.float32), batch=1, calls=serving.P99_MIN_CALLS)
    assert many["max_ms"] >= many["p99_ms"] >= many["median_ms"] >= 0
    with pytest.raises(ValueError, match="batch"):
        serving.latency(lambda q: q, np.ones((4, 2)), batch=0, calls=1)
    with pytest.raises(ValueError, match="shape"):
        serving.recall_against(np.zeros((2, 10)), np.zeros((2, 5)))
