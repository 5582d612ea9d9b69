"""Serving top-k: brute force against an approximate index, timed per query (lesson 04, Going deeper).

Used by lesson 04's serving section (small catalogues) and by ``python -m course_lib.serving``
(the ml-100k catalogue and a synthetic catalogue of 1,000,000 vectors; README, "The retrieval search
and serving").

- :func:`synthetic_catalogue`: many vectors shaped like a trained movie tower (each a real movie
  vector plus noise), so that an index meets the clusters of a real catalogue, not uniform noise;
- :func:`brute_force_top_k`: exact top-k by maximum inner product, ``tf.linalg.matmul`` then
  ``tf.math.top_k`` in one ``tf.function`` (what the exported SavedModel runs);
- :func:`ivf_index`, :func:`ivf_top_k`: FAISS's inverted-file index (``IndexIVFFlat``, inner
  product), which scores only the ``nprobe`` clusters nearest to a query;
- :func:`latency`: per-call wall times: median, 99th percentile (from 1,000 calls or more) and maximum;
- :func:`recall_against`: the share of the exact top-k an approximate search returns.

FAISS: J. Johnson, M. Douze, H. Jégou, "Billion-scale similarity search with GPUs", IEEE
Transactions on Big Data, 2019; https://github.com/facebookresearch/faiss (``faiss-cpu`` on PyPI,
pinned in requirements.txt).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from course_lib import validation as v

__all__ = ["synthetic_catalogue", "brute_force_top_k", "ivf_index", "ivf_top_k", "latency", "recall_against",
           "P99_MIN_CALLS"]

#: Fewest calls for which :func:`latency` reports a 99th percentile: 1,000 leaves 10 calls above it,
#: so it is not just the slowest call or two.
P99_MIN_CALLS = 1000


def synthetic_catalogue(vectors, size: int, *, noise: float = 0.5, seed: int = 0) -> np.ndarray:
    """float32 (size, dim): each row a random row of ``vectors`` plus Gaussian noise.

    The noise's standard deviation is ``noise`` times the per-dimension standard deviation of
    ``vectors``, so the catalogue keeps the trained table's clusters and scale.

    Raises ValueError for a table that is not 2-D finite numbers, a size below 1 or negative noise.
    """
    table = v.check_finite(np.asarray(vectors), "vectors", ndim=2).astype(np.float32)
    size = v.check_size(size, "size")
    noise = v.check_positive(noise, "noise", allow_zero=True)
    rng = np.random.default_rng(v.check_seed(seed))
    rows = rng.integers(0, len(table), size)
    scale = (noise * table.std(axis=0)).astype(np.float32)
    out = np.empty((size, table.shape[1]), np.float32)
    for start in range(0, size, 262_144):  # in blocks: no float64 copy of a big catalogue
        end = min(start + 262_144, size)
        out[start:end] = table[rows[start:end]] + rng.standard_normal((end - start, table.shape[1]), np.float32) * scale
    return out


def brute_force_top_k(catalogue, k: int = 10):
    """A function ``queries float32 (n, dim) -> (ids int32 (n, k), scores float32 (n, k))``: exact top-k by inner product.

    The catalogue is held as a TensorFlow constant; ties go to the lower id (``tf.math.top_k``).
    """
    import tensorflow as tf

    k = v.check_size(k, "k")
    table = tf.constant(v.check_finite(np.asarray(catalogue), "catalogue", ndim=2).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec((None, table.shape[1]), tf.float32)])
    def search(queries):
        top = tf.math.top_k(tf.linalg.matmul(queries, table, transpose_b=True), k=k)
        return top.indices, top.values

    return lambda queries: tuple(t.numpy() for t in search(tf.constant(np.asarray(queries, np.float32))))


def ivf_index(catalogue, *, lists: int, train_size: int = 65_536, seed: int = 0):
    """A FAISS ``IndexIVFFlat`` (inner product) over ``catalogue``: k-means into ``lists`` clusters, then every row added.

    The clusters are learned on a random sample of ``train_size`` rows (FAISS wants at least
    about 39 rows per cluster). Raises ValueError for bad sizes; ImportError (with the install
    command) when faiss-cpu is missing.
    """
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is in requirements.txt
        raise ImportError("FAISS is not installed: pip install faiss-cpu (pinned in requirements.txt)") from exc
    table = np.ascontiguousarray(v.check_finite(np.asarray(catalogue), "catalogue", ndim=2), dtype=np.float32)
    lists = v.check_size(lists, "lists", maximum=len(table))
    train_size = min(v.check_size(train_size, "train_size"), len(table))
    quantizer = faiss.IndexFlatIP(table.shape[1])
    index = faiss.IndexIVFFlat(quantizer, table.shape[1], lists, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = int(seed)
    sample = np.random.default_rng(seed).choice(len(table), train_size, replace=False)
    index.train(table[np.sort(sample)])
    index.add(table)
    return index


def ivf_top_k(index, queries, k: int = 10, *, nprobe: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Approximate top-k: ``(ids int64 (n, k), scores float32 (n, k))`` from the ``nprobe`` nearest clusters."""
    index.nprobe = v.check_size(nprobe, "nprobe")
    scores, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), v.check_size(k, "k"))
    return ids, scores


def latency(search, queries, *, batch: int, calls: int) -> dict:
    """Wall time of ``calls`` calls of ``search`` on consecutive batches of ``batch`` rows of ``queries`` (after one warm-up).

    Returns, in milliseconds per call (a query waits for its whole batch): ``median_ms``,
    ``p99_ms`` (the 99th percentile; NaN with fewer than :data:`P99_MIN_CALLS` calls, too few
    for it to be more than the slowest call or two) and ``max_ms``; and ``per_query_ms``
    (median call time / batch: the cost per query, not what a query waits).

    Raises ValueError for a batch or a number of calls below 1.
    """
    batch, calls = v.check_size(batch, "batch"), v.check_size(calls, "calls")
    queries = np.asarray(queries)  # vectors for an index, user ids for a SavedModel
    search(queries[:batch])
    times = []
    for call in range(calls):
        start = (call * batch) % max(len(queries) - batch + 1, 1)
        chunk = queries[start:start + batch]
        began = time.perf_counter()
        search(chunk)
        times.append(1000 * (time.perf_counter() - began))
    median = float(np.median(times))
    p99 = float(np.percentile(times, 99)) if calls >= P99_MIN_CALLS else float("nan")
    return {"median_ms": median, "p99_ms": p99, "max_ms": float(np.max(times)), "per_query_ms": median / batch}


def recall_against(exact_ids, approximate_ids) -> float:
    """Mean over queries of |approximate top-k ∩ exact top-k| / k (recall@k of the index against brute force)."""
    exact, approximate = np.asarray(exact_ids), np.asarray(approximate_ids)
    if exact.shape != approximate.shape or exact.ndim != 2:
        raise ValueError(f"both id tables must have shape (queries, k), got {exact.shape} and {approximate.shape}")
    return float(np.mean([len(set(a) & set(b)) / exact.shape[1] for a, b in zip(exact, approximate)]))


def main(argv: list[str] | None = None) -> int:
    """``python -m course_lib.serving``: the README's latency and FAISS tables."""
    parser = argparse.ArgumentParser(description="Brute-force and FAISS top-10 latency over ml-100k and a synthetic catalogue")
    parser.add_argument("--size", type=int, default=1_000_000, help="rows of the synthetic catalogue")
    parser.add_argument("--lists", type=int, default=2048, help="IVF clusters")
    parser.add_argument("--nprobe", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--calls", type=int, default=P99_MIN_CALLS,
                        help=f"calls per batch-1 figure (a p99 needs {P99_MIN_CALLS:,} or more)")
    parser.add_argument("--batch-calls", type=int, default=20, help="calls per batch-256 figure (median and max only)")
    args = parser.parse_args(argv)

    from course_lib import setup_notebook

    setup_notebook(seed=42)
    import pandas as pd

    from course_lib import recommender as rec
    from course_lib import retrieval as rt
    from course_lib.datasets import load_movielens

    ml = load_movielens("100k")
    split = rec.split_ratings(ml.ratings, seed=42, n_users=int(ml.ratings.user_id.max()),
                              n_movies=int(ml.movies.movie_id.max()))  # fmt: skip
    model, _ = rt.train_retrieval_model(split, rt.RETRIEVAL_CONFIGS["100k"], seed=0)
    users = model.user_vectors()[1:]
    queries = np.tile(users, (max(1, -(-256 * 4 // len(users))), 1))
    rows = []
    for name, catalogue in (("ml-100k", model.movie_vectors()[1:]),
                            (f"synthetic {args.size:,}", synthetic_catalogue(model.movie_vectors()[1:], args.size))):  # fmt: skip
        exact = brute_force_top_k(catalogue)
        for batch, calls in ((1, args.calls), (256, args.batch_calls)):
            rows.append({"catalogue": name, "method": "brute force (TensorFlow)", "batch": batch, "recall@10": 1.0,
                         **latency(exact, queries, batch=batch, calls=calls)})  # fmt: skip
        if len(catalogue) >= 100_000:
            began = time.perf_counter()
            index = ivf_index(catalogue, lists=args.lists)
            built = time.perf_counter() - began
            truth = exact(users)[0]
            for nprobe in args.nprobe:
                found = ivf_top_k(index, users, nprobe=nprobe)[0]
                for batch, calls in ((1, args.calls), (256, args.batch_calls)):
                    search = lambda q, n=nprobe: ivf_top_k(index, q, nprobe=n)  # noqa: E731
                    rows.append({"catalogue": name, "method": f"FAISS IVF{args.lists}, nprobe {nprobe}",
                                 "batch": batch, "recall@10": recall_against(truth, found),
                                 **latency(search, queries, batch=batch, calls=calls)})  # fmt: skip
            print(f"IVF index on {name}: built in {built:.1f} s")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
