"""Exercises of lesson 04, *A movie recommender*: ``from course_lib.exercises.lesson04 import q1, q2, q3, q4, q5, q6``.

In the order a learner meets them:

- ``q1``: RMSE by hand, ``rmse_by_hand(y_true, y_pred) -> float``;
- ``q2``: the per-row dot product, ``row_dot(u, m) -> (batch,)`` with ``keras.ops``;
- ``q3``: Recall@k for one user over the full catalogue, ``recall_at_k(scores, exclude, relevant, k) -> float``;
- ``q4``: the in-batch softmax loss of a two-tower model, ``in_batch_softmax(logits) -> (batch,)``;
- ``q5``: the logQ correction and the accidental-hit mask, ``correct_logits(logits, movie_ids, log_q) -> (batch, batch)``,
  checked on tensors and inside a real ``fit`` whose last batch is smaller;
- ``q6`` (Going deeper): nearest movies by cosine similarity, ``most_similar(vectors, movie_id, k) -> ids``.

Every check runs the answer on several cases (``course_lib.checks.run_case``): the prompt's example first, then made-up cases
from a fixed seed that expose the usual slips (scores that are all negative, relevant items
deep in a long catalogue, predictions outside the star scale, very large logits, more
relevant items than ``k``...). NumPy inputs are handed over read-only, so an answer that
changes its caller's array is caught and named. Answers that feed a Keras model (``q2``,
``q4``) are also called with tensors inside a ``tf.function`` graph, as ``fit`` calls them.
A message names the first case that fails, with its inputs, the expected value and the
answer's value.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks import Case, Exercise, Mistake, NotAttempted, call_learner, error_text, run_case, to_numpy

__all__ = ["q1", "q2", "q3", "q4", "q5", "q6"]


# --------------------------------------------------------------------------- shared helpers


def _call(function, args: dict, about: str, name: str):
    """Run the learner's ``function`` on one case with :func:`course_lib.checks.run_case`.

    Inputs are fresh read-only copies (a changed input is named as the mistake); an error of the
    learner's code becomes a Mistake naming the case and the learner's own first line.
    """
    return run_case(function, Case(dict(args), about=about), name)


def _graph_error(exc: BaseException) -> str:
    """The learner's error raised inside a ``tf.function``: autograph prefixes "in user code:" and a
    stack; the cause is its last line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if lines and lines[0].startswith("in user code"):
        last = lines[-1].split(". ")[0].rstrip(".")
        if len(last) > 200:
            last = last[:197].rstrip() + "..."
        head = last.split(":", 1)[0]
        return last if head.isidentifier() and head[:1].isupper() else f"{type(exc).__name__}: {last}"
    return error_text(exc)


def _scalar(value, what: str) -> float:
    """A float from a Python/NumPy number or a 0-d (or one-element) array or tensor."""
    array = to_numpy(value, what)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise Mistake(f"{what} should be a number, got {type(value).__name__}")
    if array.size != 1:
        raise Mistake(f"{what} should be one number, but it has shape {array.shape}")
    return float(array.reshape(()))


def _ids(value, what: str) -> np.ndarray:
    """A 1-D int64 array of ids from a list, array or tensor; Mistake for floats that are not whole."""
    array = to_numpy(value, what)
    if array.ndim != 1:
        raise Mistake(f"{what} should be a 1-D list of ids, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if np.issubdtype(array.dtype, np.floating) and np.all(np.isfinite(array)) and np.all(np.mod(array, 1) == 0):
            return array.astype(np.int64)
        raise Mistake(f"{what} should hold movie ids (whole numbers), but it holds {array.dtype} values "
                      "such as scores; return the positions (np.argsort gives them), not the scores")  # fmt: skip
    return array.astype(np.int64)


def _short(array, limit: int = 8) -> str:
    """A short printable form of a small array for messages."""
    array = np.asarray(array)
    flat = np.round(array.astype(np.float64), 3).tolist() if array.dtype.kind == "f" else array.tolist()
    if array.ndim == 1 and len(flat) > limit:
        return "[" + ", ".join(str(v) for v in flat[:limit]) + f", ... ({len(flat)} values)]"
    return str(flat)


# --------------------------------------------------------------------------- q1: RMSE


def _rmse(y_true, y_pred) -> float:
    error = np.ravel(y_true).astype(np.float64) - np.ravel(y_pred).astype(np.float64)
    return float(np.sqrt(np.mean(error**2)))


def _q1_cases():
    rng = np.random.default_rng(5)
    # the prompt's example: four ratings
    yield "the prompt's example", np.array([4.0, 3.0, 5.0, 1.0], np.float32), np.array([3.5, 3.0, 4.0, 2.0], np.float32)
    y_true = rng.integers(1, 6, size=50).astype(np.float32)
    y_pred = (y_true + rng.normal(0.6, 1.1, size=50)).astype(np.float32)  # biased, some beyond the star scale
    yield "50 ratings, predictions biased upwards and some above 5 stars", y_true, y_pred
    yield "the same 50 ratings, y_pred of shape (n, 1) as model.predict returns it", y_true, y_pred.reshape(-1, 1)
    yield "integer ratings and integer predictions", np.array([5, 4, 1, 2, 3], np.int64), np.array([4, 4, 2, 2, 1], np.int64)
    yield "perfect predictions", y_true[:7], y_true[:7].copy()
    yield "one rating", np.array([2.0]), np.array([4.5])


def _check_q1(rmse_by_hand) -> str:
    for name, y_true, y_pred in _q1_cases():
        args = {"y_true": (y_true), "y_pred": (y_pred)}
        got = _scalar(_call(rmse_by_hand, args, name, "rmse_by_hand"), "rmse_by_hand(y_true, y_pred)")
        expected = _rmse(y_true, y_pred)
        if np.isclose(got, expected, rtol=1e-5, atol=1e-6):
            continue
        t, p = np.ravel(y_true).astype(np.float64), np.ravel(y_pred).astype(np.float64)
        error = t - p
        where = f"on {name} (y_true {_short(y_true)}, y_pred shape {np.shape(y_pred)})"
        diagnoses = [
            (expected**2, "that is the mean squared error (squared stars); take its square root"),
            (np.mean(np.abs(error)), "that is the mean absolute error (MAE); RMSE squares the errors before "
                                     "averaging, then takes the square root"),
            (np.sqrt(np.sum(error**2)), "that is sqrt(sum of squared errors); divide by the number of ratings "
                                        "(take the mean) before the square root"),
            (np.mean(error), "you averaged the signed errors, so over- and under-predictions cancel out; square them"),
            (np.std(error), "that is the standard deviation of the errors: it subtracts their mean first, so a "
                            "model that is off by the same amount everywhere would score 0; RMSE does not "
                            "subtract anything"),
            (_rmse(t, np.clip(p, 1, 5)), "you clipped the predictions to [1, 5] inside the metric; a metric must "
                                         "score the predictions it is given (clip in the model if you want)"),
        ]  # fmt: skip
        if len(t) > 1:
            diagnoses.append((np.sqrt(np.sum(error**2) / (len(t) - 1)), "you divided by n - 1; RMSE takes the plain "
                                                                        "mean of the squared errors (divide by n)"))
        if np.ndim(y_pred) == 2:
            diagnoses.append((_rmse(np.zeros(1), t[:, None] - p[None, :]), "y_true - y_pred broadcast to an (n, n) "
                              "matrix because y_pred has shape (n, 1); flatten both first, e.g. np.ravel(y_pred)"))
        for value, reason in diagnoses:
            if np.isfinite(value) and np.isclose(got, value, rtol=1e-5, atol=1e-6):
                raise Mistake(f"{where} you returned {got:.4f} but the RMSE is {expected:.4f}: {reason}")
        if np.isclose(got, round(expected, 1)) or np.isclose(got, round(expected, 2)):
            raise Mistake(f"{where} you returned {got} but the RMSE is {expected:.6f}: do not round the result")
        raise Mistake(f"{where} you returned {got:.4f} but the RMSE is {expected:.4f}")
    return "Right on all six cases: the prompt's example, y_pred of shape (n, 1), integers, beyond the star scale."


q1 = Exercise(
    "q1",
    "RMSE by hand",
    _check_q1,
    hint="""Three steps, in this order: square each error (y_true - y_pred), take the mean, then the
    square root. Flatten both inputs first (np.ravel) so a (n, 1) column does not broadcast, and do
    not change or clip the inputs.""",
    solution="""
    def rmse_by_hand(y_true, y_pred):
        error = np.ravel(y_true).astype("float64") - np.ravel(y_pred).astype("float64")
        return float(np.sqrt(np.mean(error ** 2)))
    """,
)


# --------------------------------------------------------------------------- q2: per-row dot product


def _in_graph(function, *tensors):
    """Run ``function`` on ``tensors`` inside a ``tf.function`` (symbolic tensors, as in ``fit``)."""
    import tensorflow as tf

    return tf.function(function, reduce_retracing=True)(*tensors)


def _q2_cases():
    rng = np.random.default_rng(3)
    yield "the prompt's example (batch 2, dim 3)", np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]], np.float32), \
        np.array([[1.0, 0.0, 1.0], [2.0, 2.0, 2.0]], np.float32)  # fmt: skip
    yield "batch 5, dim 3", rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)
    yield "batch 4, dim 32, float64", rng.normal(size=(4, 32)), rng.normal(size=(4, 32))
    yield "batch 3, dim 3 (square)", rng.normal(size=(3, 3)).astype(np.float32), rng.normal(size=(3, 3)).astype(np.float32)


def _diagnose_q2(got: np.ndarray, u: np.ndarray, m: np.ndarray, where: str) -> None:
    batch, dim = u.shape
    u64, m64 = u.astype(np.float64), m.astype(np.float64)
    expected = np.sum(u64 * m64, axis=-1)
    if got.shape == (batch,) and np.allclose(got, expected, atol=1e-4):
        return
    if got.shape == (batch, 1) and np.allclose(got[:, 0], expected, atol=1e-4):
        raise Mistake(f"{where} you returned shape {got.shape}; the prompt asks for ({batch},): sum over the last "
                      "axis without keepdims (keras.layers.Dot gives (batch, 1))")  # fmt: skip
    if got.size == 1:
        raise Mistake(f"{where} you returned one number ({float(got.reshape(-1)[0]):.3f}) for a batch of {batch} "
                      "rows: the sum ran over the batch axis too, as ops.tensordot(u, m, 2) does in the keras.io "
                      "example; sum over the last axis only")  # fmt: skip
    if got.shape == (batch, batch) and batch != dim:
        raise Mistake(f"{where} shape {got.shape}: that is every user with every movie (u @ m.T); the per-row "
                      "score is u[i] · m[i], one number per row")  # fmt: skip
    if got.shape == (batch, dim) and np.allclose(got, u64 * m64, atol=1e-4):
        raise Mistake(f"{where} shape {got.shape}: you multiplied element by element but did not add up each row")
    if got.shape == (dim,) and batch != dim:
        raise Mistake(f"{where} shape {got.shape}: you summed over axis 0, the batch; sum over the last axis (axis=-1)")
    if got.shape == (batch, batch):
        raise Mistake(f"{where} you returned shape {got.shape}, a matrix; the per-row score is one number per row")
    if got.shape != (batch,):
        raise Mistake(f"{where} you returned shape {got.shape}; expected ({batch},), one number per row")
    if np.allclose(got, np.sum(u64 * m64, axis=0)[:batch], atol=1e-4) and batch == dim:
        raise Mistake(f"{where} you summed over axis 0, the batch; sum over the last axis (axis=-1)")
    if np.allclose(got, expected / dim, atol=1e-4):
        raise Mistake(f"{where} you took the mean over the embedding axis; the dot product is the sum")
    unit = np.sum(u64 * m64, -1) / (np.linalg.norm(u64, axis=1) * np.linalg.norm(m64, axis=1))
    if np.allclose(got, unit, atol=1e-4):
        raise Mistake(f"{where} you divided by the vectors' lengths (cosine); the model's score is the plain dot product")
    if np.allclose(got, np.sum(u64 + m64, axis=-1), atol=1e-4):
        raise Mistake(f"{where} you added the two vectors (u + m) and summed; the dot product multiplies them "
                      "element by element (u * m), then sums each row")  # fmt: skip
    pairs = u64 @ m64.T  # pairs[i, j] = u[i] · m[j]
    partner = [np.flatnonzero(np.isclose(pairs[i], got[i], atol=1e-4)) for i in range(batch)]
    if all(len(js) for js in partner) and any(i not in js for i, js in enumerate(partner)):
        i = next(i for i, js in enumerate(partner) if i not in js)
        raise Mistake(f"{where} row {i}'s score is u[{i}] · m[{int(partner[i][0])}], another row's movie: each rating "
                      f"needs its own user and movie, u[{i}] · m[{i}]; do not reorder or shift m")  # fmt: skip
    raise Mistake(f"{where} the shape is right but the numbers are not the per-row dot products: expected "
                  f"{_short(expected)}, got {_short(got)}. Check that row i uses u[i] and m[i] only: multiply "
                  "element by element (u * m), then sum over the last axis")  # fmt: skip


def _check_q2(row_dot) -> str:
    import tensorflow as tf

    what = "row_dot(u, m)"
    for name, u, m in _q2_cases():
        where = f"on {name}:"
        got = to_numpy(_call(row_dot, {"u": u, "m": m}, name, what), what)
        _diagnose_q2(got.astype(np.float64) if got.dtype.kind in "fiu" else got, u, m, where)
    # Inside a model the inputs are tensors, and inside fit they are symbolic (a tf.function graph).
    name, u, m = next(_q2_cases())
    got = to_numpy(_call(row_dot, {"u": tf.constant(u), "m": tf.constant(m)}, f"{name} (as tensors)", what), what)
    _diagnose_q2(got.astype(np.float64), u, m, f"on {name}, given as tensors:")
    try:
        graph = _in_graph(lambda a, b: call_learner(row_dot, a, b), tf.constant(u), tf.constant(m))
    except (Mistake, NotAttempted):
        raise
    except Exception as exc:
        raise Mistake(f"{what} works on arrays but fails inside a tf.function graph (as in a model trained with fit): "
                      f"{_graph_error(exc)}; use keras.ops (keras.ops.sum, keras.ops.einsum), "
                      "not NumPy") from exc  # fmt: skip
    _diagnose_q2(to_numpy(graph, what).astype(np.float64), u, m, f"on {name}, inside a tf.function graph:")
    # Each row must depend on its own row only: change row 2 and see which outputs move.
    _, u, m = list(_q2_cases())[1]
    base = to_numpy(_call(row_dot, {"u": u, "m": m}, "batch 5, dim 3", what), what).reshape(-1)
    shifted = u.copy()
    shifted[2] += 1.0
    moved = to_numpy(_call(row_dot, {"u": shifted, "m": m}, "batch 5, dim 3, row 2 of u changed", what), what).reshape(-1) - base
    if np.any(np.abs(np.delete(moved, 2)) > 1e-4):
        raise Mistake("changing the user vector of row 2 changed other rows' scores: rows must not mix")
    return "Each row's score depends on its own user and movie only, on arrays, tensors and inside a graph."


q2 = Exercise(
    "q2",
    "per-row dot product",
    _check_q2,
    hint="""Multiply u and m element by element (shape (batch, dim)), then add up along the last
    axis: keras.ops.sum(..., axis=-1). Use keras.ops, not NumPy: inside a model u and m are
    symbolic tensors.""",
    solution="""
    def row_dot(u, m):
        return keras.ops.sum(u * m, axis=-1)
    """,
)


# --------------------------------------------------------------------------- q3: Recall@k with exclusions


def _recall_reference(scores, exclude, relevant, k) -> float:
    masked = np.array(scores, dtype=np.float64, copy=True)
    masked[np.asarray(exclude, dtype=bool)] = -np.inf
    top = np.argsort(-masked, kind="stable")[:k]
    relevant = np.unique(np.asarray(relevant, dtype=np.int64))
    return float(np.isin(top, relevant).sum() / len(relevant))


def _q3_cases():
    rng = np.random.default_rng(13)
    # the prompt's example: 8 ids, id 0 is padding, ids 2 and 5 already rated
    scores = np.array([9.0, 0.5, 3.0, 0.1, 3.5, 4.0, 1.0, 0.2])
    exclude = np.array([True, False, True, False, False, True, False, False])
    yield "the prompt's example", scores, exclude, np.array([4, 6, 7]), 3
    # every score negative, and the best ones excluded: masking with 0 would put them first
    scores = -rng.uniform(1, 5, size=40)
    exclude = np.zeros(40, dtype=bool)
    exclude[0] = True
    best = np.argsort(-scores)[:6]
    exclude[best[:3]] = True
    relevant = np.array([best[3], best[5], 17 if 17 not in best else 18])
    yield "all scores negative, the three best excluded", scores, exclude, relevant, 5
    # a long catalogue whose best movies sit at the end: searching only the first candidates misses them
    scores = rng.normal(size=3000)
    scores[2990:] += 10.0
    exclude = np.zeros(3000, dtype=bool)
    exclude[[0, 2991, 5, 10]] = True
    relevant = np.array([2999, 2993, 2995, 7, 1500])
    yield "3,000 movies, the best at the end", scores, exclude, relevant, 10
    # more relevant movies than k: standard recall divides by all of them
    scores = rng.normal(size=60)
    exclude = np.zeros(60, dtype=bool)
    exclude[[0, 1, 2]] = True
    order = [i for i in np.argsort(-scores, kind="stable") if not exclude[i]]
    relevant = np.array(order[:3] + order[20:29])  # 12 relevant, 3 of them in the top 4
    yield "12 relevant movies and k=4", scores, exclude, relevant[rng.permutation(len(relevant))], 4
    # fewer candidates than k: only 3 movies are not excluded
    scores = rng.normal(size=9)
    exclude = np.array([True, True, False, True, False, True, True, False, True])
    yield "only 3 movies left to recommend and k=5", scores, exclude, np.array([4, 7]), 5
    # one relevant movie, and it is outside the top k
    scores = np.arange(20, dtype=np.float64)[::-1].copy()
    exclude = np.zeros(20, dtype=bool)
    exclude[0] = True
    yield "one relevant movie, ranked 15th", scores, exclude, np.array([15]), 10


_SORT_KIND = ["stable"]  # the sort the slips below use; the check tries NumPy's default too (ties order differently)


def _top(values, k):
    return np.argsort(-np.asarray(values, dtype=np.float64), kind=_SORT_KIND[0])[:k]


def _hits(top, relevant) -> int:
    return int(np.isin(top, relevant).sum())


#: Recall@k as the usual slips compute it: (function of (scores, exclude, relevant, k), what went wrong).
_Q3_SLIPS = [
    (lambda s, e, r, k: _hits(_top(np.where(e, -np.inf, s), k), r) / min(k, len(r)),
     "you divided by min(k, relevant): that is the truncated variant (with more relevant movies than k it equals "
     "precision@k), which gives a perfect list 1.0; the standard Recall@k divides by all relevant movies"),
    (lambda s, e, r, k: _hits(_top(np.where(e, -np.inf, s), k), r) / k,
     "you divided by k: that is precision@k; recall divides by the number of relevant movies"),
    (lambda s, e, r, k: _hits(_top(np.where(e, -np.inf, s), k), r),
     "you returned the number of hits; divide by the number of relevant movies"),
    (lambda s, e, r, k: _hits(_top(np.where(e, 0.0, s), k), r) / len(r),
     "excluded movies reached your list: setting their scores to 0 does not push them down when every score "
     "is negative; use -np.inf, or drop them"),
    *[(lambda s, e, r, k, c=c: _hits(_top(np.where(e, c, s), k), r) / len(r),
       f"you gave excluded movies the score {c:g}, but some scores are lower, so excluded movies reached your "
       "list; no constant is below every score: use -np.inf, or drop them") for c in (-1, -5, -10, -100)],
    (lambda s, e, r, k: _hits(_top(s, k), r) / len(r),
     "your top-k ignores `exclude`: movies the user already rated (and the padding id) must not take places "
     "in the list"),
    (lambda s, e, r, k: _hits(np.argsort(np.where(e, np.inf, s), kind=_SORT_KIND[0])[:k], r) / len(r),
     "you took the k lowest scores; sort in descending order (np.argsort(-scores))"),
    (lambda s, e, r, k: _hits(_top(np.where(e, s, -np.inf), k), r) / len(r),
     "you kept only the excluded movies; `exclude` is True where a movie must be left out"),
    (lambda s, e, r, k: _hits(_top(np.where(e, -np.inf, s), k + 1), r) / len(r),
     "your list has k + 1 movies; keep exactly the k best"),
    (lambda s, e, r, k: _hits(_top(np.where(e, -np.inf, s), k - 1), r) / len(r),
     "your list has k - 1 movies; keep exactly the k best"),
]


def _check_q3(recall_at_k) -> str:
    what = "recall_at_k(scores, exclude, relevant, k)"
    cases, answers = list(_q3_cases()), []
    for name, scores, exclude, relevant, k in cases:
        args = {"scores": (scores), "exclude": (exclude), "relevant": (relevant), "k": k}
        answers.append(_scalar(_call(recall_at_k, args, name, what), what))
    expected = [_recall_reference(*case[1:]) for case in cases]
    wrong = [i for i, (got, right) in enumerate(zip(answers, expected)) if not np.isclose(got, right, atol=1e-9)]
    if not wrong:
        return ("Right on all six cases, including all-negative scores, a 3,000-movie catalogue, more relevant "
                "movies than k, and fewer candidates than k; the inputs were left unchanged.")
    name, scores, exclude, relevant, k = cases[wrong[0]]
    hits = _hits(_top(np.where(exclude, -np.inf, scores), k), relevant)
    where = (f"on {name} (k={k}, {len(relevant)} relevant movies {_short(np.sort(relevant))}, "
             f"{int(exclude.sum())} excluded): expected {expected[wrong[0]]:.4f} ({hits} hits / {len(relevant)} "
             f"relevant), got {answers[wrong[0]]:.4g}.")  # fmt: skip
    # A slip explains the answer only if it reproduces it on every case.
    for slip, reason in _Q3_SLIPS:
        for kind in ("stable", "quicksort"):
            _SORT_KIND[0] = kind
            with np.errstate(all="ignore"):
                explained = all(np.isclose(got, slip(*case[1:]), atol=1e-9) for got, case in zip(answers, cases))
            _SORT_KIND[0] = "stable"
            if explained:
                raise Mistake(f"{where} It looks like {reason}")
    if wrong == [1]:
        raise Mistake(f"{where} Only the case with all scores negative fails: excluded movies reached your list. "
                      "A \"very negative\" constant (or 0) is not below every score; use -np.inf, or drop them")
    if 2 in wrong and all(i == 2 or i not in wrong for i in range(len(cases))):
        raise Mistake(f"{where} Only the 3,000-movie case fails, whose best movies sit at the end: did you rank "
                      "only the first movies of the catalogue? Rank all of them")  # fmt: skip
    raise Mistake(where)


q3 = Exercise(
    "q3",
    "Recall@k for one user, over the full catalogue",
    _check_q3,
    hint="""Work on a copy: masked = np.array(scores, dtype=float); set masked[exclude] = -np.inf (not 0:
    scores can be negative). The top k are np.argsort(-masked)[:k]. Count how many of them are in
    `relevant` (np.isin), and divide by len(relevant).""",
    solution="""
    def recall_at_k(scores, exclude, relevant, k=10):
        masked = np.array(scores, dtype="float64")   # a copy: the caller's scores stay as they were
        masked[exclude] = -np.inf                    # never recommended, whatever the other scores are
        top = np.argsort(-masked, kind="stable")[:k]
        return float(np.isin(top, relevant).sum() / len(relevant))
    """,
)


# --------------------------------------------------------------------------- q4: in-batch softmax loss


def _softmax_reference(logits) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_z = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return log_z - np.diag(logits)


def _q4_cases():
    rng = np.random.default_rng(21)
    yield "the prompt's example", np.array([[2.0, 0.0, 1.0], [0.5, 1.0, 3.0], [0.0, 0.0, 0.0]], np.float32)
    yield "a batch of 6, float32", rng.normal(0, 2, size=(6, 6)).astype(np.float32)
    big = rng.normal(0, 1, size=(4, 4)) * 400.0
    big[1, 1] = -300.0  # a positive scored far below its negatives
    yield "a batch of 4 with scores in the hundreds", big.astype(np.float32)
    yield "a batch of 1 (its only movie is the positive: loss 0)", np.array([[7.5]], np.float32)
    yield "a batch of 5 with a column of very popular scores", np.c_[rng.normal(size=(5, 4)), np.full(5, 6.0)].astype(np.float32)


def _diagnose_q4(got: np.ndarray, logits: np.ndarray, where: str) -> None:
    batch = logits.shape[0]
    expected = _softmax_reference(logits)
    if got.shape == (batch,) and np.allclose(got, expected, rtol=1e-4, atol=1e-3):
        return
    x = logits.astype(np.float64)
    if got.size == 1 and batch > 1:
        value = float(got.reshape(-1)[0])
        if np.isclose(value, expected.mean(), rtol=1e-4, atol=1e-4) or np.isclose(value, expected.sum(), rtol=1e-4):
            raise Mistake(f"{where} you returned one number ({value:.4f}), the loss averaged or summed over the batch; "
                          f"return one loss per row, shape ({batch},): Keras averages it itself")  # fmt: skip
        raise Mistake(f"{where} you returned one number; the prompt asks for one loss per row, shape ({batch},)")
    if got.shape != (batch,):
        raise Mistake(f"{where} you returned shape {got.shape}; expected ({batch},), one loss per row")
    if not np.all(np.isfinite(got)):
        raise Mistake(f"{where} your loss has inf or nan ({_short(got)}): exp of large scores overflows; use a "
                      "numerically stable form (keras.ops.log_softmax, keras.ops.logsumexp, or a Keras loss with "
                      "from_logits=True)")  # fmt: skip
    columns = _softmax_reference(x.T)
    if np.allclose(got, columns, rtol=1e-4, atol=1e-3):
        raise Mistake(f"{where} you normalised over the wrong axis (each column, i.e. each movie over users); "
                      "row i is user i's scores for every movie in the batch: normalise each row (axis=1)")  # fmt: skip
    if np.allclose(got, -np.diag(x), rtol=1e-4, atol=1e-3):
        raise Mistake(f"{where} you returned minus the positive's score only; the softmax also pushes down the other "
                      "movies of the row: subtract log(sum(exp(row)))")  # fmt: skip
    off = np.where(np.eye(batch, dtype=bool), -np.inf, x)
    if batch > 1:
        exclusive = np.logaddexp.reduce(off, axis=1) - np.diag(x)
        if np.allclose(got, exclusive, rtol=1e-4, atol=1e-3):
            raise Mistake(f"{where} your normaliser leaves the positive out; the softmax sums over every movie in "
                          "the row, the positive included")  # fmt: skip
    first_column = np.logaddexp.reduce(x, axis=1) - x[:, 0]
    if np.allclose(got, first_column, rtol=1e-4, atol=1e-3) and batch > 1:
        raise Mistake(f"{where} every row's positive is taken to be column 0; row i's positive is column i "
                      "(labels = keras.ops.arange(batch))")  # fmt: skip
    bce = np.log1p(np.exp(-np.abs(np.diag(x)))) + np.maximum(-np.diag(x), 0)
    if np.allclose(got, bce, rtol=1e-4, atol=1e-3):
        raise Mistake(f"{where} that is a sigmoid (binary) loss on the positives alone; the in-batch softmax "
                      "compares each positive with the other movies of its row")  # fmt: skip
    with np.errstate(all="ignore"):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        soft = e / e.sum(axis=1, keepdims=True)
        eps = -np.log(np.diag(soft) + 1e-7)
    if np.allclose(got, eps, rtol=1e-3, atol=1e-2) or (np.max(np.abs(got - expected)) > 1 and np.all(got < 40)
                                                       and np.max(np.abs(x)) > 100):
        raise Mistake(f"{where} expected {_short(expected)}, got {_short(got)}: with large scores the softmax "
                      "rounds to 0 and its log is clipped; compute the log-softmax directly "
                      "(keras.ops.log_softmax or logsumexp), or use from_logits=True")  # fmt: skip
    with np.errstate(all="ignore"):
        as_probabilities = np.log(np.clip(x, 1e-7, 1 - 1e-7))
    if np.allclose(got, _softmax_reference(as_probabilities), rtol=1e-4, atol=1e-3):
        raise Mistake(f"{where} you treated the scores as probabilities: Keras's crossentropy losses expect "
                      "probabilities unless you pass from_logits=True, which raw scores (logits) need")  # fmt: skip
    raise Mistake(f"{where} expected {_short(expected)}, got {_short(got)}. Row i's loss is "
                  "logsumexp(row i) - logits[i, i]: check the axis of the normaliser and which column is the positive")


def _check_q4(in_batch_softmax) -> str:
    import tensorflow as tf

    what = "in_batch_softmax(logits)"
    for name, logits in _q4_cases():
        got = to_numpy(_call(in_batch_softmax, {"logits": tf.constant(logits)}, name, what), what)
        if got.dtype.kind not in "fiu":
            raise Mistake(f"{what} should return float losses, got {got.dtype}")
        _diagnose_q4(got.astype(np.float64), logits, f"on {name} (logits {logits.shape}):")
    # fit calls the loss inside a tf.function graph, where shapes and values are symbolic.
    name, logits = list(_q4_cases())[1]
    try:
        graph = _in_graph(lambda x: call_learner(in_batch_softmax, x), tf.constant(logits))
    except (Mistake, NotAttempted):
        raise
    except Exception as exc:
        raise Mistake(f"{what} works on eager tensors but fails inside a tf.function graph, as Keras's fit calls a "
                      f"loss: {_graph_error(exc)}; use keras.ops, not NumPy or .numpy()") from exc  # fmt: skip
    _diagnose_q4(to_numpy(graph, what).astype(np.float64), logits, f"on {name}, inside a tf.function graph:")
    return "One loss per row, stable for scores in the hundreds, and it runs inside a model's graph."


q4 = Exercise(
    "q4",
    "the in-batch softmax loss",
    _check_q4,
    hint="""Row i holds user i's scores for every movie in the batch, and its positive is column i. The
    loss of row i is logsumexp(row i) - logits[i, i], i.e. -log_softmax(row i)[i]. With keras.ops:
    labels = keras.ops.arange(batch), then keras.losses.sparse_categorical_crossentropy(labels, logits,
    from_logits=True); or keras.ops.logsumexp(logits, axis=1) - keras.ops.diagonal(logits).""",
    solution="""
    def in_batch_softmax(logits):
        labels = keras.ops.arange(keras.ops.shape(logits)[0])  # row i's positive is column i
        return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    """,
)


# --------------------------------------------------------------------------- q5: logQ and accidental hits


def _corrected_reference(logits, ids, log_q) -> np.ndarray:
    """float64: logits - log_q per column, copies of a row's positive off the diagonal at -inf."""
    x = np.asarray(logits, np.float64) - np.asarray(log_q, np.float64)[None, :]
    ids = np.asarray(ids)
    return np.where(_duplicates(ids), -np.inf, x)


def _duplicates(ids) -> np.ndarray:
    ids = np.asarray(ids)
    return (ids[:, None] == ids[None, :]) & ~np.eye(len(ids), dtype=bool)


def _q5_cases():
    rng = np.random.default_rng(55)
    yield ("the prompt's example", np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], np.float32),
           np.array([7, 9, 7], np.int32), np.array([-1.0, -2.0, -1.0], np.float32))  # fmt: skip
    ids = np.array([3, 8, 3, 5, 8, 3], np.int32)  # movie 3 three times, movie 8 twice
    yield ("a batch of 6, movie 3 three times and movie 8 twice", rng.normal(0, 2, (6, 6)).astype(np.float32), ids,
           np.log(np.array([0.2, 0.1, 0.2, 0.05, 0.1, 0.2])).astype(np.float32))  # fmt: skip
    big = rng.normal(0, 1, (5, 5)) * 300.0
    ids = np.array([2, 4, 2, 9, 4], np.int32)
    big[0, 2], big[1, 4] = 900.0, 800.0  # the copies score far above the positives
    yield "a batch of 5 with scores in the hundreds", big.astype(np.float32), ids, np.log(np.full(5, 0.01)).astype(np.float32)
    yield ("a batch of 4 with four different movies (nothing to mask)", rng.normal(size=(4, 4)).astype(np.float32),
           np.array([1, 2, 3, 4], np.int32), np.log(np.array([0.4, 0.3, 0.2, 0.1])).astype(np.float32))  # fmt: skip
    yield ("a batch of 3, all three the same movie", rng.normal(size=(3, 3)).astype(np.float32),
           np.array([6, 6, 6], np.int32), np.log(np.full(3, 0.3)).astype(np.float32))  # fmt: skip


def _q5_explanations(got, logits, ids, log_q):
    """(value a slip gives, what went wrong) for the usual slips, on one case; compared on the visible entries."""
    x, lq = np.asarray(logits, np.float64), np.asarray(log_q, np.float64)
    dup, eye = _duplicates(ids), np.eye(len(ids), dtype=bool)
    masked = lambda values, where=dup: np.where(where, -np.inf, values)  # noqa: E731
    same_ids = np.asarray(ids)[:, None] == np.asarray(ids)[None, :]
    return [
        (masked(x - lq[:, None]), "you subtracted log_q from each row; log_q[j] belongs to column j's movie: "
                                  "subtract log_q[None, :] (one correction per column)"),
        (masked(x + lq[None, :]), "you added log_q; the correction subtracts it, so that a popular movie (large "
                                  "log q) loses what it gains from being a negative in many batches"),
        (masked(x), "the accidental hits are masked but the logQ correction is missing: subtract log_q[None, :]"),
        (x - lq[None, :], "the logQ correction is there but no accidental hit is masked: where movie_ids[j] == "
                          "movie_ids[i] and j != i, the entry must get no weight (-inf)"),
        (masked(x - lq[None, :], same_ids), "you masked the diagonal too: entry (i, i) is row i's positive, the one "
                                            "the softmax must pick; mask only the copies off the diagonal"),
        (masked(x - lq[None, :], ~same_ids), "you masked the movies that differ from the row's positive; mask the "
                                             "copies of it (movie_ids[j] == movie_ids[i], j != i)"),
        (masked(x - lq[None, :], dup & np.triu(np.ones_like(eye), 1)), "you masked only the copies to the right of "
                                                                      "the diagonal; a copy can come before row i's "
                                                                      "positive too: mask both sides"),
        (masked(x - lq[None, :], dup & np.tril(np.ones_like(eye), -1)), "you masked only the copies to the left of "
                                                                       "the diagonal; a copy can come after row i's "
                                                                       "positive too: mask both sides"),
        (masked(x - np.exp(lq)[None, :]), "you subtracted q itself (exp(log_q)); the correction subtracts its log, "
                                          "which log_q already is"),
    ]


def _q5_compare(got: np.ndarray, logits, ids, log_q, where: str) -> None:
    """Mistake unless ``got`` is the corrected logits: exact where visible, no softmax weight where masked."""
    expected = _corrected_reference(logits, ids, log_q)
    batch = len(ids)
    if got.shape != expected.shape:
        if got.shape == (batch,):
            raise Mistake(f"{where} you returned shape {got.shape}, one number per row (a loss?); return the "
                          f"corrected logits, shape ({batch}, {batch}): exercise 4's loss is applied to them next")  # fmt: skip
        raise Mistake(f"{where} you returned shape {got.shape}; return the corrected logits, shape ({batch}, {batch})")
    if np.isnan(got).any():
        if np.all(np.asarray(log_q) < 0):
            raise Mistake(f"{where} your logits hold NaN: the log of a negative number. log_q is already the log "
                          "of the sampling probability: subtract it as it is")  # fmt: skip
        raise Mistake(f"{where} your logits hold NaN (for example inf - inf): build the masked entries with "
                      "keras.ops.where instead of arithmetic on -inf")  # fmt: skip
    visible = np.isfinite(expected)
    dup = _duplicates(ids)
    masked_ok = np.all(got[dup] <= np.min(np.where(visible, expected, np.inf), axis=1, keepdims=True)
                       .repeat(batch, 1)[dup] - 100.0) if dup.any() else True  # fmt: skip
    if np.allclose(got[visible], expected[visible], rtol=1e-5, atol=1e-4) and masked_ok:
        return
    for value, reason in _q5_explanations(got, logits, ids, log_q):
        shown = np.isfinite(value)
        hidden_ok = np.all(got[~shown] <= np.min(np.where(shown, value, np.inf)) - 100.0) if (~shown).any() else True
        if hidden_ok and np.allclose(got[shown], value[shown], rtol=1e-5, atol=1e-4):
            raise Mistake(f"{where} {reason}")
    if np.allclose(got[visible], expected[visible], rtol=1e-5, atol=1e-4):
        fills = np.unique(got[dup])
        top = float(np.max(expected[visible]))
        fill = f"the value {fills[0]:g}" if len(fills) == 1 else f"values such as {fills[0]:g}"
        if np.all(fills == 0):
            raise Mistake(f"{where} the accidental hits got 0 (multiplying by the mask, or a fill of 0): 0 is "
                          "no lower than the other scores, so the copies still count as negatives; give them -inf "
                          "(keras.ops.where(mask, -np.inf, logits))")  # fmt: skip
        raise Mistake(f"{where} the accidental hits got {fill}, but scores in this batch reach {top:g}, so a copy "
                      "still takes weight in the softmax; no constant is low enough for every score: use -np.inf "
                      "(keras.ops.where(mask, -np.inf, logits))")  # fmt: skip
    bad = np.argwhere(~np.isclose(np.where(visible, got, 0), np.where(visible, expected, 0), rtol=1e-5, atol=1e-4))
    i, j = (int(n) for n in bad[0]) if len(bad) else (0, 0)
    raise Mistake(f"{where} entry ({i}, {j}) should be logits[{i}, {j}] - log_q[{j}] = {expected[i, j]:.4g}, got "
                  f"{got[i, j]:.4g}; check the correction of column {j} (the movie it holds, {int(ids[j])})")  # fmt: skip


def _fit_losses(correct, pairs: int, batch: int) -> list[float]:
    """Train a tiny two-tower model for 2 epochs on ``pairs`` liked pairs in batches of ``batch``; the loss per epoch.

    Its loss is exercise 4's softmax of ``correct(logits, movie_ids, log_q)``: q5's check in a real ``fit``.
    """
    import keras

    class TwoTowerWith(keras.Model):
        def __init__(self, log_q_table):
            super().__init__()
            self.users = keras.layers.Embedding(12, 4, embeddings_initializer=keras.initializers.RandomNormal(0, 0.5, 3))
            self.movies = keras.layers.Embedding(8, 4, embeddings_initializer=keras.initializers.RandomNormal(0, 0.5, 4))
            self.log_q_table = keras.ops.convert_to_tensor(log_q_table, "float32")

        def call(self, inputs):
            return self.users(inputs["user_id"]), self.movies(inputs["movie_id"])

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            users, movies = y_pred
            logits = keras.ops.matmul(users, keras.ops.transpose(movies))
            log_q = keras.ops.take(self.log_q_table, x["movie_id"], axis=0)
            corrected = correct(logits, x["movie_id"], log_q)
            labels = keras.ops.arange(keras.ops.shape(logits)[0])
            return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(labels, corrected, from_logits=True))

    rng = np.random.default_rng(7)
    data = {"user_id": rng.integers(1, 12, pairs).astype("int32"),
            "movie_id": rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 7], pairs).astype("int32")}  # fmt: skip
    log_q = np.log(np.r_[0.01, np.bincount(data["movie_id"], minlength=8)[1:] / pairs + 0.01]).astype("float32")
    keras.utils.set_random_seed(3)
    model = TwoTowerWith(log_q)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    history = model.fit(data, batch_size=batch, epochs=2, shuffle=False, verbose=0).history["loss"]
    return [float(value) for value in history]


def fit_with_a_partial_last_batch(function, reference, what: str, *, pairs: int = 70, batch: int = 32) -> None:
    """Run ``function`` inside a real Keras ``fit`` whose last batch is smaller; Mistake if it fails or trains differently.

    A generic helper of this module (another lesson's graph exercise could use it): the tiny model's
    loss calls ``function(logits, movie_ids, log_q)``, so Keras traces it the way ``fit`` does.
    When ``pairs`` is not a multiple of ``batch``, Keras traces the step with an unknown batch
    size (``None``), which breaks code that reads the batch size as a Python number; when the
    fit fails, the same fit without the last batch tells whether that was the cause. The losses
    per epoch must equal those of ``reference``.
    """
    expected = _fit_losses(reference, pairs, batch)
    try:
        got = _fit_losses(lambda *args: call_learner(function, *args), pairs, batch)
    except (Mistake, NotAttempted):
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's code failed inside fit
        try:
            _fit_losses(lambda *args: call_learner(function, *args), pairs - pairs % batch, batch)
            full_only = True
        except Exception:  # noqa: BLE001
            full_only = False
        if full_only:
            raise Mistake(f"{what} works when every batch has {batch} pairs but fails in a fit whose last batch is "
                          f"smaller ({pairs % batch} pairs): Keras then traces it with an unknown batch size: "
                          f"{_graph_error(exc)}. Take every size from the tensors themselves "
                          "(keras.ops.shape(logits)[0]) and use keras.ops on whole tensors, no Python loop over "
                          "rows") from exc  # fmt: skip
        raise Mistake(f"{what} works on eager tensors but fails inside model.fit, where Keras runs it as a graph: "
                      f"{_graph_error(exc)}; use keras.ops on whole tensors (no NumPy, no .numpy(), no item "
                      "assignment)") from exc  # fmt: skip
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        raise Mistake(f"{what} gives the right logits on its own but trains differently inside fit (loss per epoch "
                      f"{_short(np.array(got))} instead of {_short(np.array(expected))}): does it depend on the batch "
                      "size or on the order of the batch?")  # fmt: skip


def _q5_reference(logits, ids, log_q):
    from keras import ops

    corrected = logits - log_q[None, :]
    copies = ops.logical_and(ops.equal(ids[:, None], ids[None, :]), ops.logical_not(ops.eye(ops.shape(logits)[0]) > 0))
    return ops.where(copies, -np.inf, corrected)


def _check_q5(correct_logits) -> str:
    import tensorflow as tf

    what = "correct_logits(logits, movie_ids, log_q)"
    for name, logits, ids, log_q in _q5_cases():
        args = {"logits": tf.constant(logits), "movie_ids": tf.constant(ids), "log_q": tf.constant(log_q)}
        try:
            result = run_case(correct_logits, Case(args, about=name), what)
        except Mistake as mistake:
            raise _q5_fixed_size(correct_logits, name, mistake) from None
        got = to_numpy(result, what)
        if got.dtype.kind not in "fiu":
            raise Mistake(f"on {name}: {what} should return float logits, got {got.dtype}")
        _q5_compare(got.astype(np.float64), logits, ids, log_q, f"on {name} (movie_ids {ids.tolist()}):")
    fit_with_a_partial_last_batch(correct_logits, _q5_reference, what)
    return ("Popular movies are no longer punished for being frequent negatives, copies of a row's positive no "
            "longer count against it, and it trains inside fit with a smaller last batch.")


def _q5_fixed_size(function, name: str, mistake: Mistake) -> Mistake:
    """A learner's error on a case: named as a fixed batch size when the function works for one other size only."""
    import tensorflow as tf

    rng = np.random.default_rng(1)
    for size in (8, 16, 32, 64, 128, 256, 512, 1024):
        args = (tf.constant(rng.normal(size=(size, size)).astype(np.float32)),
                tf.constant(rng.integers(1, 5, size).astype(np.int32)), tf.constant(np.full(size, -2.0, np.float32)))  # fmt: skip
        try:
            call_learner(function, *args)
        except Exception:  # noqa: BLE001 - this size fails too
            continue
        return Mistake(f"on {name}: your function raised an error, but it works for a batch of {size}: it assumes a "
                       f"fixed batch size; take it from the logits (keras.ops.shape(logits)[0]), since the batch "
                       "sizes differ (the last batch of an epoch is smaller)")  # fmt: skip
    text = str(mistake)
    if "does not support item assignment" in text or "object does not support" in text:
        return Mistake(f"on {name}: you assigned into a tensor (logits[i, j] = ...), which TensorFlow tensors do not "
                       "allow; build a new tensor with keras.ops.where(mask, -np.inf, logits)")  # fmt: skip
    return mistake


q5 = Exercise(
    "q5",
    "the logQ correction and the accidental-hit mask",
    _check_q5,
    hint="""Two steps on whole tensors. The correction: logits - log_q[None, :] (one value per column). The
    mask: copies = keras.ops.equal(movie_ids[:, None], movie_ids[None, :]) is True where column j holds the
    same movie as row i's positive; leave out the diagonal with
    keras.ops.logical_and(copies, keras.ops.logical_not(keras.ops.eye(keras.ops.shape(logits)[0]) > 0)).
    Then keras.ops.where(mask, -np.inf, corrected).""",
    solution="""
    def correct_logits(logits, movie_ids, log_q):
        corrected = logits - log_q[None, :]                  # logQ: one correction per column
        same = keras.ops.equal(movie_ids[:, None], movie_ids[None, :])
        diagonal = keras.ops.eye(keras.ops.shape(logits)[0]) > 0
        copies = keras.ops.logical_and(same, keras.ops.logical_not(diagonal))
        return keras.ops.where(copies, -np.inf, corrected)   # copies of the positive get no weight
    """,
)


# --------------------------------------------------------------------------- q6: cosine neighbours


def _cosine_reference(vectors, movie_id, k) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit[movie_id]
    cosine[movie_id] = -np.inf
    return np.argsort(-cosine, kind="stable")[:k]


def _q6_cases():
    rng = np.random.default_rng(6)
    vectors = rng.normal(size=(12, 4))
    vectors[5] = 3.0 * vectors[1] + rng.normal(scale=0.1, size=4)  # near row 1 in angle, long
    vectors[8] = 20.0 * rng.normal(size=4)  # very long: wins any dot-product ranking
    vectors[8] *= np.sign(vectors[8] @ vectors[1])
    yield "12 movies, query 1 (row 8 is very long, row 5 points almost the same way)", vectors.astype(np.float32), 1, 4
    vectors = rng.normal(size=(40, 6))
    vectors[3] = 2.0 * vectors[9]  # row 3 points exactly the same way as the query, and comes before it
    yield "40 movies, query 9, row 3 a longer copy of it (cosine 1)", vectors, 9, 5
    vectors = rng.normal(size=(1500, 8))
    vectors[1490:] = vectors[700] * rng.uniform(0.5, 2, size=(10, 1)) + rng.normal(scale=0.05, size=(10, 8))
    yield "1,500 movies, query 700, its neighbours at the end of the table", vectors, 700, 10


def _check_q6(most_similar) -> str:
    what = "most_similar(vectors, movie_id, k)"
    for name, vectors, query, k in _q6_cases():
        args = {"vectors": (vectors), "movie_id": query, "k": k}
        got = _ids(_call(most_similar, args, name, what), what)
        expected = _cosine_reference(vectors, query, k)
        if np.array_equal(got, expected):
            continue
        where = f"on {name}, k={k}: expected {expected.tolist()}, got {got.tolist()}."
        if len(got) != k:
            raise Mistake(f"{where} Asked for k={k} neighbours, got {len(got)}")
        v = np.asarray(vectors, dtype=np.float64)
        unit = v / np.linalg.norm(v, axis=1, keepdims=True)
        cosine = unit @ unit[query]
        for ranked in (np.argsort(-cosine, kind="stable"), np.argsort(-cosine)):
            if np.array_equal(got, ranked[1:k + 1]):
                raise Mistake(f"{where} You dropped the first entry of the ranking, assuming it is the movie itself; "
                              "another movie can have cosine 1 too (a longer copy): remove the movie by its id")
        if query in got:
            raise Mistake(f"{where} Movie {query} is in its own neighbour list (its cosine with itself is 1); leave it out")
        alternatives = []
        dots = v @ v[query]
        dots[query] = -np.inf
        alternatives.append((np.argsort(-dots, kind="stable")[:k], "you ranked by the raw dot product, which favours "
                             "long vectors; divide by both vectors' lengths to get the cosine"))
        distance = np.linalg.norm(v - v[query], axis=1)
        distance[query] = np.inf
        alternatives.append((np.argsort(distance, kind="stable")[:k], "you ranked by Euclidean distance, which "
                             "depends on the vectors' lengths; the cosine compares directions only"))
        column = v / np.linalg.norm(v, axis=0, keepdims=True)
        col_scores = column @ column[query]
        col_scores[query] = -np.inf
        alternatives.append((np.argsort(-col_scores, kind="stable")[:k], "you normalised the columns (axis=0); "
                             "normalise each row, i.e. each movie's vector (axis=1)"))
        ranked = np.argsort(-cosine, kind="stable")
        alternatives.append((ranked[1:k + 1], "you dropped the first entry of the ranking, assuming it is the movie "
                             "itself; another movie can have cosine 1 too (a longer copy): remove the movie by its id"))
        low = cosine.copy()
        low[query] = np.inf
        alternatives.append((np.argsort(low, kind="stable")[:k], "those are the least similar movies; sort by "
                             "cosine in descending order"))
        if len(v) > 1000:
            for limit in (100, 200, 500, 1000):
                head = cosine[:limit].copy()
                if query < limit:
                    head[query] = -np.inf
                alternatives.append((np.argsort(-head, kind="stable")[:k], f"you only searched the first {limit} "
                                     "movies; compare with every row of the table"))
        for ids, reason in alternatives:
            if np.array_equal(got, ids):
                raise Mistake(f"{where} It looks like {reason}")
        if set(got.tolist()) == set(expected.tolist()):
            raise Mistake(f"{where} The right movies, but not most similar first")
        raise Mistake(where)
    return "Cosine compares directions only, so a few very long vectors cannot crowd every list."


q6 = Exercise(
    "q6",
    "nearest movies by cosine similarity",
    _check_q6,
    hint="""Divide every row by its length (np.linalg.norm(vectors, axis=1, keepdims=True)) into a new
    array (do not change `vectors`), then the cosine with the query is unit @ unit[movie_id]. Set the
    query's own entry to -inf, rank descending, keep k.""",
    solution="""
    def most_similar(vectors, movie_id, k=10):
        vectors = np.asarray(vectors, dtype="float64")
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        cosine = unit @ unit[movie_id]
        cosine[movie_id] = -np.inf            # not its own neighbour
        return np.argsort(-cosine, kind="stable")[:k]
    """,
)
