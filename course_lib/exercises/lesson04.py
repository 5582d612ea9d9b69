"""Exercises of lesson 04, *A movie recommender*: ``from course_lib.exercises.lesson04 import q1, q2, q3, q4, q5, q6``.

In the order a learner meets them:

- ``q1``: RMSE by hand, ``rmse_by_hand(y_true, y_pred) -> float``;
- ``q2``: the per-row dot product, ``row_dot(u, m) -> (batch,)`` with ``keras.ops``;
- ``q3``: Recall@k for one user over the full catalogue, ``recall_at_k(scores, exclude, relevant, k) -> float``;
- ``q4``: the in-batch softmax loss of a two-tower model, ``in_batch_softmax(logits) -> (batch,)``;
- ``q5``: the logQ correction and the accidental-hit mask, ``correct_logits(logits, movie_ids, log_q) -> (batch, batch)``,
  checked on tensors and inside a real ``fit`` whose last batch is smaller;
- ``q6`` (Going deeper): nearest movies by cosine similarity, ``most_similar(vectors, movie_id, k) -> ids``.

Built on the public toolkit of :mod:`course_lib.checks`: each exercise lists its mistake catalogue
(``qN.mistakes``, :class:`~course_lib.checks.Pitfall` objects), and a check gathers the facts of
an answer and calls :func:`~course_lib.checks.diagnose`, which names the mistake found. Answers
run on several :class:`~course_lib.checks.Case` objects with :func:`~course_lib.checks.run_case`
(the prompt's example first, then made-up cases from a fixed seed that expose the usual slips:
all-negative scores, relevant movies deep in a long catalogue, predictions outside the star
scale, very large logits, more relevant movies than ``k``...): inputs are read-only copies, so an
answer that changes its caller's array is named, and a learner's exception is explained in the
lesson's terms. Answers that feed a Keras model (``q2``, ``q4``) also run inside a
``tf.function`` graph (:func:`~course_lib.checks.run_in_graph`); ``q5``'s runs inside a real
``fit`` (:func:`fit_with_a_partial_last_batch`, this module's, since the answer goes into a
model's loss rather than a layer). TensorFlow is imported only when a check needs it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from course_lib.checks import (
    Case,
    Exercise,
    Mistake,
    NotAttempted,
    Pitfall,
    call_learner,
    describe,
    diagnose,
    explained_error,
    facts,
    failing_line,
    fallback,
    graph_advice,
    run_case,
    run_in_graph,
    tensor_cases,
    to_numpy,
)

__all__ = ["q1", "q2", "q3", "q4", "q5", "q6", "fit_with_a_partial_last_batch"]


# --------------------------------------------------------------------------- shared helpers


def _numbers(value: Any) -> np.ndarray | None:
    """``value`` as a NumPy array of numbers (int or float), or None when it holds none."""
    if isinstance(value, (str, bytes, bool, np.bool_)) or callable(value) and not hasattr(value, "numpy"):
        return None
    try:
        array = to_numpy(value)
    except Mistake:
        return None
    return array if array.dtype.kind in "iuf" else None


def _short(array, limit: int = 8) -> str:
    """A short printable form of a small array for messages."""
    array = np.asarray(array)
    flat = np.round(array.astype(np.float64), 3).tolist() if array.dtype.kind == "f" else array.tolist()
    if array.ndim == 1 and len(flat) > limit:
        return "[" + ", ".join(str(v) for v in flat[:limit]) + f", ... ({len(flat)} values)]"
    return str(flat)


def _close(a, b, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """Both finite numbers (or arrays of one shape) and equal within the tolerance."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.isfinite(b))) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _diagnose_array(result, case: Case, what: str, form: list[Pitfall], pitfalls: list[Pitfall], make_facts,
                    look: str) -> None:  # fmt: skip
    """Name what is wrong with an array answer on ``case``: its form, then the catalogue, else a fallback.

    ``form``'s facts are ``answer`` and ``array``; ``make_facts(array, case)`` gathers the facts of
    ``pitfalls``, with ``right`` (the answer is correct), ``got`` and ``expected``.
    """
    array = _numbers(result)
    diagnose(form, facts(answer=result, array=array), case=case, name=what)
    found = make_facts(array.astype(np.float64), case)
    if found.right:
        return
    diagnose(pitfalls, found, case=case, name=what)
    raise fallback(f"expected {_short(found.expected)}, got {_short(found.got)} (shape {found.got.shape})", look,
                   case=case, name=what)


def _one_number_pitfalls(name: str, what: str, how: str) -> list[Pitfall]:
    """The two ways an answer fails to be one number (facts: ``answer``, ``array``); ``how`` says how to get one."""
    return [
        Pitfall("not-a-number", lambda f: f.array is None,
                lambda f: f"{name} returned {describe(f.answer)}; return {what} as one number"),
        Pitfall("several-numbers", lambda f: f.array is not None and f.array.size != 1,
                lambda f: f"{name} returned {f.array.size} numbers (shape {f.array.shape}); return {what} as one "
                          f"number: {how}"),
    ]  # fmt: skip


# --------------------------------------------------------------------------- q1: RMSE


def _rmse(y_true, y_pred) -> float:
    error = np.ravel(y_true).astype(np.float64) - np.ravel(y_pred).astype(np.float64)
    return float(np.sqrt(np.mean(error**2)))


def _q1_cases() -> list[Case]:
    rng = np.random.default_rng(5)
    y_true = rng.integers(1, 6, size=50).astype(np.float32)
    y_pred = (y_true + rng.normal(0.6, 1.1, size=50)).astype(np.float32)  # biased, some beyond the star scale
    pairs = [
        ("the prompt's example", np.array([4.0, 3.0, 5.0, 1.0], np.float32), np.array([3.5, 3.0, 4.0, 2.0], np.float32)),
        ("50 ratings, predictions biased upwards and some above 5 stars", y_true, y_pred),
        ("the same 50 ratings, y_pred of shape (n, 1) as model.predict returns it", y_true, y_pred.reshape(-1, 1)),
        ("integer ratings and integer predictions", np.array([5, 4, 1, 2, 3], np.int64), np.array([4, 4, 2, 2, 1], np.int64)),
        ("perfect predictions", y_true[:7], y_true[:7].copy()),
        ("one rating", np.array([2.0]), np.array([4.5])),
    ]  # fmt: skip
    return [Case({"y_true": t, "y_pred": p}, expected=_rmse(t, p), about=about) for about, t, p in pairs]


def _q1_slips(case: Case) -> dict:
    """What the usual slips return on ``case``: {key: value}."""
    t = np.ravel(case.inputs["y_true"]).astype(np.float64)
    p = np.ravel(case.inputs["y_pred"]).astype(np.float64)
    error = t - p
    slips = {"mse": np.mean(error**2), "mae": np.mean(np.abs(error)), "sqrt-of-sum": np.sqrt(np.sum(error**2)),
             "signed-mean": np.mean(error), "clipped": _rmse(t, np.clip(p, 1, 5))}  # fmt: skip
    if len(t) > 1:  # the spread of one error is 0 whatever the error: it names nothing there
        slips["n-minus-1"] = np.sqrt(np.sum(error**2) / (len(t) - 1))
        slips["std"] = np.std(error)
    if np.ndim(case.inputs["y_pred"]) == 2:
        slips["broadcast"] = _rmse(np.zeros(1), t[:, None] - p[None, :])
    return slips


def _slip(key: str):
    """Detector: the answer is what slip ``key`` gives on this case, and that differs from the RMSE."""
    return lambda f: key in f.slips and _close(f.got, f.slips[key]) and not _close(f.slips[key], f.expected)


def _q1_message(reason: str):
    return lambda f: f"you returned {f.got:.4f} but the RMSE is {f.expected:.4f}: {reason}"


_Q1_FORM = _one_number_pitfalls("rmse_by_hand", "the RMSE", "average the squared errors over all ratings, then take "
                                                            "the square root")

_Q1 = [
    Pitfall("mse", _slip("mse"), _q1_message("that is the mean squared error (squared stars); take its square root")),
    Pitfall("mae", _slip("mae"), _q1_message("that is the mean absolute error (MAE); RMSE squares the errors before "
                                             "averaging, then takes the square root")),
    Pitfall("sqrt-of-sum", _slip("sqrt-of-sum"), _q1_message("that is sqrt(sum of squared errors); divide by the number "
                                                             "of ratings (take the mean) before the square root")),
    Pitfall("signed-mean", _slip("signed-mean"), _q1_message("you averaged the signed errors, so over- and "
                                                             "under-predictions cancel out; square them")),
    Pitfall("std", _slip("std"), _q1_message("that is the standard deviation of the errors: it subtracts their mean "
                                             "first, so a model that is off by the same amount everywhere would score "
                                             "0; RMSE does not subtract anything")),
    Pitfall("clipped", _slip("clipped"), _q1_message("you clipped the predictions to [1, 5] inside the metric; a metric "
                                                     "must score the predictions it is given (clip in the model if you "
                                                     "want)")),
    Pitfall("n-minus-1", _slip("n-minus-1"), _q1_message("you divided by n - 1; RMSE takes the plain mean of the squared "
                                                         "errors (divide by n)")),
    Pitfall("broadcast", _slip("broadcast"), _q1_message("y_true - y_pred broadcast to an (n, n) matrix because y_pred "
                                                         "has shape (n, 1); flatten both first, e.g. np.ravel(y_pred)")),
    Pitfall("rounded", lambda f: not _close(f.got, f.expected) and any(_close(f.got, round(f.expected, d)) for d in range(4)),
            lambda f: f"you returned {f.got} but the RMSE is {f.expected:.6f}: do not round the result"),
]  # fmt: skip


def _q1_mse_line(f) -> bool:
    return "mean_squared_error" in failing_line(f.error)


def _q1_indexed(f) -> str:
    """The input the failing line indexes with [:, ...]: y_true when only it is, else y_pred."""
    line = failing_line(f.error)
    return "y_true" if re.search(r"y_true\s*\[\s*:\s*,", line) and not re.search(r"y_pred\s*\[\s*:\s*,", line) else "y_pred"


_Q1_ERRORS = [  # explain=: the learner's code raised (facts: error, text, case, inputs)
    Pitfall("per-rating-losses", lambda f: "0-dimensional" in f.text and np.ndim(f.inputs["y_pred"]) == 2,
            lambda f: ("with y_pred of shape (n, 1), keras.losses.mean_squared_error averages the last axis only and "
                       "returns one loss per rating (n numbers), which cannot become one float"
                       if _q1_mse_line(f) else
                       "with y_pred of shape (n, 1) each element of y_pred is an array of one number, which float() "
                       "refuses")
                      + ": flatten both inputs (np.ravel) and average the squared errors over all ratings yourself"),
    Pitfall("column-index", lambda f: "too many indices" in f.text and np.ndim(f.inputs["y_pred"]) == 1,
            lambda f: f"{_q1_indexed(f)} is 1-D here (the prompt's example; only model.predict gives (n, 1)), so "
                      f"{_q1_indexed(f)}[:, 0] fails on it: np.ravel({_q1_indexed(f)}) flattens both shapes"),
]


def _check_q1(rmse_by_hand) -> str:
    for case in _q1_cases():
        result = run_case(rmse_by_hand, case, "rmse_by_hand", explain=_Q1_ERRORS)
        array = _numbers(result)
        diagnose(_Q1_FORM, facts(answer=result, array=array), case=case, name="rmse_by_hand")
        got = float(array.reshape(()))
        if np.isclose(got, case.expected, rtol=1e-5, atol=1e-6):
            continue
        diagnose(_Q1, facts(got=got, expected=case.expected, slips=_q1_slips(case)), case=case, name="rmse_by_hand")
        raise fallback(f"you returned {got:.4f} but the RMSE is {case.expected:.4f}",
                       "square each error (y_true - y_pred), average the squares over all ratings, then take the "
                       "square root", case=case, name="rmse_by_hand")  # fmt: skip
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
    mistakes=[*_Q1_ERRORS, *_Q1_FORM, *_Q1],
)


# --------------------------------------------------------------------------- q2: per-row dot product


def _q2_cases() -> list[Case]:
    rng = np.random.default_rng(3)
    raw = [
        ("the prompt's example (batch 2, dim 3)", np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]], np.float32),
         np.array([[1.0, 0.0, 1.0], [2.0, 2.0, 2.0]], np.float32)),
        ("batch 5, dim 3", rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)),
        ("batch 4, dim 32, float64", rng.normal(size=(4, 32)), rng.normal(size=(4, 32))),
        ("batch 3, dim 3 (square)", rng.normal(size=(3, 3)).astype(np.float32), rng.normal(size=(3, 3)).astype(np.float32)),
    ]  # fmt: skip
    return [Case({"u": u, "m": m}, about=about) for about, u, m in raw]


def _q2_facts(got: np.ndarray, case: Case):
    u = np.asarray(case.inputs["u"], np.float64)
    m = np.asarray(case.inputs["m"], np.float64)
    batch, dim = u.shape
    expected = np.sum(u * m, axis=-1)
    pairs = u @ m.T  # pairs[i, j] = u[i] · m[j]
    partner = [np.flatnonzero(np.isclose(pairs[i], got[i], atol=1e-4)) for i in range(batch)] if got.shape == (batch,) else []
    return facts(got=got, u=u, m=m, batch=batch, dim=dim, expected=expected, pairs=pairs, partner=partner,
                 right=got.shape == (batch,) and np.allclose(got, expected, atol=1e-4))  # fmt: skip


def _row(f) -> bool:
    """One number per row, but not the right ones."""
    return f.got.shape == (f.batch,) and not f.right


def _other_row(f) -> int:
    return next(i for i, js in enumerate(f.partner) if i not in js)


_Q2_ERRORS = [  # explain=: the learner's code raised on NumPy inputs
    Pitfall("numpy-method", lambda f: "'numpy.ndarray' object has no attribute 'numpy'" in f.text,
            "the first cases pass NumPy arrays, which have no .numpy(), and inside a model u and m are symbolic "
            "tensors, which have no values at all: use keras.ops functions, which take both"),
]

_Q2_FORM = [
    Pitfall("not-numbers", lambda f: f.array is None,
            lambda f: f"row_dot returned {describe(f.answer)}; return one score per row, an array or tensor of shape (batch,)"),
]

_Q2 = [
    Pitfall("keepdims", lambda f: f.got.shape == (f.batch, 1) and np.allclose(f.got[:, 0], f.expected, atol=1e-4),
            lambda f: f"you returned shape {f.got.shape}; the prompt asks for ({f.batch},): sum over the last axis "
                      "without keepdims (keras.layers.Dot gives (batch, 1))"),
    Pitfall("summed-over-batch", lambda f: f.got.size == 1 and f.batch > 1,
            lambda f: f"you returned one number ({float(f.got.reshape(-1)[0]):.3f}) for a batch of {f.batch} rows: the "
                      "sum ran over the batch axis too, as ops.tensordot(u, m, 2) does in the keras.io example; sum "
                      "over the last axis only"),
    Pitfall("every-pair", lambda f: f.got.shape == (f.batch, f.batch) and np.allclose(f.got, f.pairs, atol=1e-4),
            lambda f: f"shape {f.got.shape}: that is every user with every movie (u @ m.T); the per-row score is "
                      "u[i] · m[i], one number per row"),
    Pitfall("no-row-sum", lambda f: f.got.shape == (f.batch, f.dim) and np.allclose(f.got, f.u * f.m, atol=1e-4),
            lambda f: f"shape {f.got.shape}: you multiplied element by element but did not add up each row"),
    Pitfall("summed-axis-0", lambda f: f.got.shape == (f.dim,) and np.allclose(f.got, np.sum(f.u * f.m, axis=0), atol=1e-4)
            and not (f.batch == f.dim and f.right),
            "you summed over axis 0, the batch; sum over the last axis (axis=-1)"),
    Pitfall("mean-not-sum", lambda f: _row(f) and np.allclose(f.got, f.expected / f.dim, atol=1e-4),
            "you took the mean over the embedding axis; the dot product is the sum"),
    Pitfall("cosine", lambda f: _row(f) and np.allclose(f.got, f.expected / (np.linalg.norm(f.u, axis=1) * np.linalg.norm(f.m, axis=1)), atol=1e-4),
            "you divided by the vectors' lengths (cosine); the model's score is the plain dot product"),
    Pitfall("added-vectors", lambda f: _row(f) and np.allclose(f.got, np.sum(f.u + f.m, axis=-1), atol=1e-4),
            "you added the two vectors (u + m) and summed; the dot product multiplies them element by element "
            "(u * m), then sums each row"),
    Pitfall("integer", lambda f: _row(f) and (np.allclose(f.got, np.trunc(f.expected), atol=1e-4)
                                              or np.allclose(f.got, np.round(f.expected), atol=1e-4)),
            lambda f: f"expected {_short(f.expected)}, got {_short(f.got)}: your scores lost their fractions (a cast "
                      "to an integer dtype, or rounding?); keep the float dtype of u and m"),
    Pitfall("another-row", lambda f: _row(f) and all(len(js) for js in f.partner) and any(i not in js for i, js in enumerate(f.partner)),
            lambda f: f"row {_other_row(f)}'s score is u[{_other_row(f)}] · m[{int(f.partner[_other_row(f)][0])}], "
                      f"another row's movie: each rating needs its own user and movie, u[{_other_row(f)}] · "
                      f"m[{_other_row(f)}]; do not reorder or shift m"),
]  # fmt: skip


def _q2_diagnose(result, case: Case, what: str) -> None:
    _diagnose_array(result, case, what, _Q2_FORM, _Q2, _q2_facts,
                    "row i uses u[i] and m[i] only: multiply element by element (u * m), then sum over the last axis, "
                    "one number per row")  # fmt: skip


def _check_q2(row_dot) -> str:
    what = "row_dot"
    every = _q2_cases()
    for case in every:
        _q2_diagnose(run_case(row_dot, case, what, explain=_Q2_ERRORS), case, what)
    # Inside a model the inputs are tensors, and inside fit they are symbolic (a tf.function graph).
    as_tensors = tensor_cases(every[:1])[0]
    _q2_diagnose(run_case(row_dot, as_tensors, what, explain=_Q2_ERRORS), as_tensors, what)
    in_graph = Case(every[0].inputs, about=f"{every[0].about}, inside a tf.function graph")
    _q2_diagnose(run_in_graph(row_dot, in_graph, what), in_graph, what)
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
    mistakes=[*_Q2_ERRORS, *_Q2_FORM, *_Q2],
)


# --------------------------------------------------------------------------- q3: Recall@k with exclusions


def _recall_reference(scores, exclude, relevant, k) -> float:
    masked = np.array(scores, dtype=np.float64, copy=True)
    masked[np.asarray(exclude, dtype=bool)] = -np.inf
    top = np.argsort(-masked, kind="stable")[:k]
    relevant = np.unique(np.asarray(relevant, dtype=np.int64))
    return float(np.isin(top, relevant).sum() / len(relevant))


def _q3_cases() -> list[Case]:
    rng = np.random.default_rng(13)
    raw = []
    # the prompt's example: 8 ids, id 0 is padding, ids 2 and 5 already rated
    scores = np.array([9.0, 0.5, 3.0, 0.1, 3.5, 4.0, 1.0, 0.2])
    exclude = np.array([True, False, True, False, False, True, False, False])
    raw.append(("the prompt's example", scores, exclude, np.array([4, 6, 7]), 3))
    # every score negative, and the best ones excluded: masking with 0 would put them first
    scores = -rng.uniform(1, 5, size=40)
    exclude = np.zeros(40, dtype=bool)
    exclude[0] = True
    best = np.argsort(-scores)[:6]
    exclude[best[:3]] = True
    raw.append(("all scores negative, the three best excluded", scores, exclude,
                np.array([best[3], best[5], 17 if 17 not in best else 18]), 5))  # fmt: skip
    # a long catalogue whose best movies sit at the end: searching only the first candidates misses them
    scores = rng.normal(size=3000)
    scores[2990:] += 10.0
    exclude = np.zeros(3000, dtype=bool)
    exclude[[0, 2991, 5, 10]] = True
    raw.append(("3,000 movies, the best at the end", scores, exclude, np.array([2999, 2993, 2995, 7, 1500]), 10))
    # more relevant movies than k: standard recall divides by all of them
    scores = rng.normal(size=60)
    exclude = np.zeros(60, dtype=bool)
    exclude[[0, 1, 2]] = True
    order = [i for i in np.argsort(-scores, kind="stable") if not exclude[i]]
    relevant = np.array(order[:3] + order[20:29])  # 12 relevant, 3 of them in the top 4
    raw.append(("12 relevant movies and k=4", scores, exclude, relevant[rng.permutation(len(relevant))], 4))
    # fewer candidates than k: only 3 movies are not excluded
    scores = rng.normal(size=9)
    exclude = np.array([True, True, False, True, False, True, True, False, True])
    raw.append(("only 3 movies left to recommend and k=5", scores, exclude, np.array([4, 7]), 5))
    # one relevant movie, and it is outside the top k
    scores = np.arange(20, dtype=np.float64)[::-1].copy()
    exclude = np.zeros(20, dtype=bool)
    exclude[0] = True
    raw.append(("one relevant movie, ranked 15th", scores, exclude, np.array([15]), 10))
    # the last place of the list is the only hit: a list one short misses it
    raw.append(("one relevant movie, in the k-th place", scores, exclude, np.array([3]), 3))
    # k=3 and the only relevant movie 7th: a list of 10 finds it, a list of k or of k + 1 does not
    raw.append(("one relevant movie, ranked 7th, and k=3", scores, exclude, np.array([7]), 3))
    return [Case({"scores": s, "exclude": e, "relevant": r, "k": k}, expected=_recall_reference(s, e, r, k), about=about)
            for about, s, e, r, k in raw]  # fmt: skip


def _top(values, k, kind):
    return np.argsort(-np.asarray(values, dtype=np.float64), kind=kind)[:k]


def _hits(top, relevant) -> int:
    return int(np.isin(top, relevant).sum())


def _masked(fill):
    """The top k after giving excluded movies the score ``fill``, as a function of (s, e, r, k, sort kind)."""
    return lambda s, e, r, k, o: _hits(_top(np.where(e, fill, s), k, o), r) / len(r)


#: Recall@k as the usual slips compute it: key -> the ways to make that slip, each a function of
#: (scores, exclude, relevant, k, sort kind). A slip explains an answer only if one way reproduces
#: it on every case, with a stable sort or NumPy's default (which orders ties differently).
_Q3_SLIPS = {
    "truncated": [lambda s, e, r, k, o: _hits(_top(np.where(e, -np.inf, s), k, o), r) / min(k, len(r))],
    "precision": [lambda s, e, r, k, o: _hits(_top(np.where(e, -np.inf, s), k, o), r) / k],
    "hits": [lambda s, e, r, k, o: _hits(_top(np.where(e, -np.inf, s), k, o), r)],
    "zero-fill": [_masked(0.0)],
    "constant-fill": [_masked(c) for c in (-1.0, -5.0, -10.0, -100.0)],
    "no-exclusion": [lambda s, e, r, k, o: _hits(_top(s, k, o), r) / len(r)],
    "ascending": [lambda s, e, r, k, o: _hits(np.argsort(np.where(e, np.inf, s), kind=o)[:k], r) / len(r)],
    "only-excluded": [lambda s, e, r, k, o: _hits(_top(np.where(e, s, -np.inf), k, o), r) / len(r)],
    "fixed-k": [lambda s, e, r, k, o: _hits(_top(np.where(e, -np.inf, s), 10, o), r) / len(r)],
    "positions": [lambda s, e, r, k, o: _hits(_top(s[~e], k, o), r) / len(r)],
    "k-plus-one": [lambda s, e, r, k, o: _hits(_top(np.where(e, -np.inf, s), k + 1, o), r) / len(r)],
    "k-minus-one": [lambda s, e, r, k, o: _hits(_top(np.where(e, -np.inf, s), k - 1, o), r) / len(r)],
}


def _explains(ways, answers: list[float], cases: list[Case]) -> bool:
    for way in ways:
        for kind in ("stable", "quicksort"):
            if all(np.isclose(got, way(*case.inputs.values(), kind), atol=1e-9) for got, case in zip(answers, cases)):
                return True
    return False


def _q3_facts(answers: list[float], cases: list[Case]):
    wrong = [i for i, (got, case) in enumerate(zip(answers, cases)) if not np.isclose(got, case.expected, atol=1e-9)]
    slips = {key for key, ways in _Q3_SLIPS.items() if _explains(ways, answers, cases)}
    first = cases[wrong[0]]
    s, e, r, k = first.inputs.values()
    hits = _hits(_top(np.where(e, -np.inf, s), k, "stable"), r)
    return facts(wrong=wrong, slips=slips, answers=answers,
                 summary=f"expected {first.expected:.4f} ({hits} hits / {len(r)} relevant), got {answers[wrong[0]]:.4g}")


#: The cases of :func:`_q3_cases` where an excluded movie given a finite score can take a place in the
#: list: all scores negative (1) and fewer movies left than k (4).
_EXCLUDED_CAN_WIN = {1, 4}


def _q3_slip(key: str, reason: str) -> Pitfall:
    return Pitfall(key, lambda f: key in f.slips, lambda f: f"{f.summary}. It looks like {reason}")


_Q3_FORM = _one_number_pitfalls("recall_at_k", "Recall@k", "the hits in the top k divided by the number of relevant "
                                                           "movies")

_Q3 = [
    _q3_slip("truncated", "you divided by min(k, relevant): that is the truncated variant (with more relevant movies "
                          "than k it equals precision@k), which gives a perfect list 1.0; the standard Recall@k divides "
                          "by all relevant movies"),
    _q3_slip("precision", "you divided by k: that is precision@k; recall divides by the number of relevant movies"),
    _q3_slip("hits", "you returned the number of hits; divide by the number of relevant movies"),
    _q3_slip("zero-fill", "excluded movies reached your list: setting their scores to 0 does not push them down when "
                          "every score is negative; use -np.inf, or drop them"),
    _q3_slip("constant-fill", "you gave excluded movies a constant score, but some scores are lower, so excluded movies "
                              "reached your list; no constant is below every score: use -np.inf, or drop them"),
    _q3_slip("no-exclusion", "excluded movies took places in your top k: movies the user already rated (and the "
                             "padding id) must be left out before you keep the k best (dropping them after cutting to "
                             "k leaves a shorter list)"),
    _q3_slip("ascending", "you took the k lowest scores; sort in descending order (np.argsort(-scores))"),
    _q3_slip("only-excluded", "you kept only the excluded movies; `exclude` is True where a movie must be left out"),
    _q3_slip("fixed-k", "your list always has 10 movies, whatever k is: keep the k best ([:k], k the argument)"),
    _q3_slip("positions", "after leaving the excluded movies out (scores[~exclude], np.delete), argsort gives "
                          "positions in the shorter array, not movie ids: mask with -np.inf instead, or map the "
                          "positions back to ids (np.flatnonzero(~exclude)[top])"),
    _q3_slip("k-plus-one", "your list has k + 1 movies; keep exactly the k best"),
    _q3_slip("k-minus-one", "your list has k - 1 movies; keep exactly the k best"),
    Pitfall("finite-fill", lambda f: set(f.wrong) <= _EXCLUDED_CAN_WIN and not f.slips,
            lambda f: f"{f.summary}. Only the cases where an excluded movie can outscore the others fail (all scores "
                      "negative, or fewer movies left than k): excluded movies reached your list. Any finite score you "
                      "give them can beat a real one; use -np.inf, or drop them"),
    Pitfall("first-movies-only", lambda f: f.wrong == [2] and not f.slips,
            lambda f: f"{f.summary}. Only the 3,000-movie case fails, whose best movies sit at the end: did you rank "
                      "only the first movies of the catalogue? Rank all of them"),
]  # fmt: skip


def _check_q3(recall_at_k) -> str:
    what = "recall_at_k"
    cases, answers = _q3_cases(), []
    for case in cases:
        result = run_case(recall_at_k, case, what)
        array = _numbers(result)
        diagnose(_Q3_FORM, facts(answer=result, array=array), case=case, name=what)
        answers.append(float(array.reshape(())))
    found = _q3_facts(answers, cases) if any(not np.isclose(a, c.expected, atol=1e-9) for a, c in zip(answers, cases)) else None
    if found is None:
        return ("Right on all eight cases, including all-negative scores, a 3,000-movie catalogue, more relevant "
                "movies than k, fewer candidates than k, and a hit in the last place; the inputs were left unchanged.")
    case = cases[found.wrong[0]]
    diagnose(_Q3, found, case=case, name=what)
    raise fallback(found.summary, "mask the excluded movies with -np.inf, rank the whole catalogue best first, keep k, "
                                  "and divide the hits by the number of relevant movies", case=case, name=what)


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
    mistakes=[*_Q3_FORM, *_Q3],
)


# --------------------------------------------------------------------------- q4: in-batch softmax loss


def _softmax_reference(logits) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_z = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return log_z - np.diag(logits)


def _q4_cases() -> list[Case]:
    import tensorflow as tf

    rng = np.random.default_rng(21)
    big = rng.normal(0, 1, size=(4, 4)) * 400.0
    big[1, 1] = -300.0  # a positive scored far below its negatives
    raw = [
        ("the prompt's example", np.array([[2.0, 0.0, 1.0], [0.5, 1.0, 3.0], [0.0, 0.0, 0.0]], np.float32)),
        ("a batch of 6, float32", rng.normal(0, 2, size=(6, 6)).astype(np.float32)),
        ("a batch of 4 with scores in the hundreds", big.astype(np.float32)),
        ("a batch of 1 (its only movie is the positive: loss 0)", np.array([[7.5]], np.float32)),
        ("a batch of 5 with a column of very popular scores", np.c_[rng.normal(size=(5, 4)), np.full(5, 6.0)].astype(np.float32)),
    ]  # fmt: skip
    return [Case({"logits": tf.constant(x)}, expected=_softmax_reference(x), about=about, extra={"logits": x})
            for about, x in raw]


def _q4_facts(got: np.ndarray, case: Case):
    x = case.extra["logits"].astype(np.float64)
    batch = x.shape[0]
    expected = case.expected
    off = np.where(np.eye(batch, dtype=bool), -np.inf, x)
    with np.errstate(all="ignore"):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        eps = -np.log(np.diag(e / e.sum(axis=1, keepdims=True)) + 1e-7)
        as_probabilities = _softmax_reference(np.log(np.clip(x, 1e-7, 1 - 1e-7)))
    rows = got.shape == (batch,) and bool(np.all(np.isfinite(got)))
    return facts(got=got, x=x, batch=batch, expected=expected, rows=rows,
                 right=rows and np.allclose(got, expected, rtol=1e-4, atol=1e-3),
                 columns=_softmax_reference(x.T), exclusive=np.logaddexp.reduce(off, axis=1) - np.diag(x),
                 first_column=np.logaddexp.reduce(x, axis=1) - x[:, 0],
                 bce=np.log1p(np.exp(-np.abs(np.diag(x)))) + np.maximum(-np.diag(x), 0),
                 eps=eps, as_probabilities=as_probabilities)  # fmt: skip


def _like(name: str):
    """Detector: one finite loss per row, not the right ones, equal to what the slip ``name`` gives."""
    return lambda f: f.rows and not f.right and np.allclose(f.got, getattr(f, name), rtol=1e-4, atol=1e-3)


def _reduced(f) -> bool:
    value = float(f.got.reshape(-1)[0])
    return np.isclose(value, f.expected.mean(), rtol=1e-4, atol=1e-4) or np.isclose(value, f.expected.sum(), rtol=1e-4)


_Q4_FORM = [
    Pitfall("not-numbers", lambda f: f.array is None or f.array.dtype.kind not in "fiu",
            lambda f: f"in_batch_softmax returned {describe(f.answer)}; return one float loss per row, shape (batch,)"),
]

_Q4 = [
    Pitfall("reduced", lambda f: f.got.size == 1 and f.batch > 1 and _reduced(f),
            lambda f: f"you returned one number ({float(f.got.reshape(-1)[0]):.4f}), the loss averaged or summed over "
                      f"the batch; return one loss per row, shape ({f.batch},): the model reduces it (sum or mean)"),
    Pitfall("one-number", lambda f: f.got.size == 1 and f.batch > 1 and not _reduced(f),
            lambda f: f"you returned one number; the prompt asks for one loss per row, shape ({f.batch},)"),
    Pitfall("wrong-shape", lambda f: f.got.shape != (f.batch,) and f.got.size != 1,
            lambda f: f"you returned shape {f.got.shape}; expected ({f.batch},), one loss per row"),
    Pitfall("overflow", lambda f: f.got.shape == (f.batch,) and not np.all(np.isfinite(f.got)),
            lambda f: f"your loss has inf or nan ({_short(f.got)}): exp of large scores overflows, or a "
                      "probability rounds to 0 and its log is -inf; use a numerically stable form (keras.ops.log_softmax, keras.ops.logsumexp, or a Keras loss with from_logits=True)"),
    Pitfall("columns", _like("columns"),
            "you normalised over the wrong axis (each column, i.e. each movie over users); row i is user i's scores "
            "for every movie in the batch: normalise each row (axis=1)"),
    Pitfall("positive-only", lambda f: f.rows and not f.right and np.allclose(f.got, -np.diag(f.x), rtol=1e-4, atol=1e-3),
            "you returned minus the positive's score only; the softmax also pushes down the other movies of the row: "
            "subtract log(sum(exp(row)))"),
    Pitfall("positive-left-out", lambda f: f.batch > 1 and _like("exclusive")(f),
            "your normaliser leaves the positive out; the softmax sums over every movie in the row, the positive included"),
    Pitfall("column-zero", lambda f: f.batch > 1 and _like("first_column")(f),
            "every row's positive is taken to be column 0; row i's positive is column i (labels = "
            "keras.ops.arange(keras.ops.shape(logits)[0]))"),
    Pitfall("sigmoid", _like("bce"),
            "that is a sigmoid (binary) loss on the positives alone; the in-batch softmax compares each positive with "
            "the other movies of its row"),
    Pitfall("clipped-softmax", lambda f: f.rows and not f.right and np.max(np.abs(f.x)) > 100
            and np.allclose(f.got, f.eps, rtol=1e-3, atol=1e-2),
            lambda f: f"expected {_short(f.expected)}, got {_short(f.got)}: with large scores the softmax rounds to 0 and "
                      "its log is clipped; compute the log-softmax directly (keras.ops.log_softmax or logsumexp), or use "
                      "from_logits=True"),
    Pitfall("probabilities", _like("as_probabilities"),
            "you treated the scores as probabilities: Keras's crossentropy losses expect probabilities unless you pass "
            "from_logits=True, which raw scores (logits) need"),
]  # fmt: skip


def _q4_diagnose(result, case: Case, what: str) -> None:
    _diagnose_array(result, case, what, _Q4_FORM, _Q4, _q4_facts,
                    "row i's loss is logsumexp(row i) - logits[i, i]: check the axis of the normaliser and which "
                    "column is the positive")  # fmt: skip


def _check_q4(in_batch_softmax) -> str:
    what = "in_batch_softmax"
    every = _q4_cases()
    for case in every:
        _q4_diagnose(run_case(in_batch_softmax, case, what), case, what)
    # fit calls the loss inside a tf.function graph, where shapes and values are symbolic.
    in_graph = Case(every[1].inputs, expected=every[1].expected, about=f"{every[1].about}, inside a tf.function graph",
                    extra=every[1].extra)  # fmt: skip
    _q4_diagnose(run_in_graph(in_batch_softmax, in_graph, what), in_graph, what)
    return "One loss per row, stable for scores in the hundreds, and it runs inside a model's graph."


q4 = Exercise(
    "q4",
    "the in-batch softmax loss",
    _check_q4,
    hint="""Row i holds user i's scores for every movie in the batch, and its positive is column i. The
    loss of row i is logsumexp(row i) - logits[i, i], i.e. -log_softmax(row i)[i]. With keras.ops:
    labels = keras.ops.arange(keras.ops.shape(logits)[0]) (the batch size as a tensor: logits.shape[0] can be None
    inside fit), then keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True); or
    keras.ops.logsumexp(logits, axis=1) - keras.ops.diagonal(logits).""",
    solution="""
    def in_batch_softmax(logits):
        labels = keras.ops.arange(keras.ops.shape(logits)[0])  # row i's positive is column i
        return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    """,
    mistakes=[*_Q4_FORM, *_Q4],
)


# --------------------------------------------------------------------------- q5: logQ and accidental hits


def _duplicates(ids) -> np.ndarray:
    ids = np.asarray(ids)
    return (ids[:, None] == ids[None, :]) & ~np.eye(len(ids), dtype=bool)


def _corrected_reference(logits, ids, log_q) -> np.ndarray:
    """float64: logits - log_q per column, copies of a row's positive off the diagonal at -inf."""
    x = np.asarray(logits, np.float64) - np.asarray(log_q, np.float64)[None, :]
    return np.where(_duplicates(ids), -np.inf, x)


def _q5_cases() -> list[Case]:
    import tensorflow as tf

    rng = np.random.default_rng(55)
    big = rng.normal(0, 1, (5, 5)) * 300.0
    big[0, 2], big[1, 4] = 900.0, 800.0  # the copies score far above the positives
    raw = [
        ("the prompt's example", np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], np.float32),
         np.array([7, 9, 7], np.int32), np.array([-1.0, -2.0, -1.0], np.float32)),
        ("a batch of 6, movie 3 three times and movie 8 twice", rng.normal(0, 2, (6, 6)).astype(np.float32),
         np.array([3, 8, 3, 5, 8, 3], np.int32), np.log(np.array([0.2, 0.1, 0.2, 0.05, 0.1, 0.2])).astype(np.float32)),
        ("a batch of 5 with scores in the hundreds", big.astype(np.float32), np.array([2, 4, 2, 9, 4], np.int32),
         np.log(np.full(5, 0.01)).astype(np.float32)),
        ("a batch of 4 with four different movies (nothing to mask)", rng.normal(size=(4, 4)).astype(np.float32),
         np.array([1, 2, 3, 4], np.int32), np.log(np.array([0.4, 0.3, 0.2, 0.1])).astype(np.float32)),
        ("a batch of 3, all three the same movie", rng.normal(size=(3, 3)).astype(np.float32),
         np.array([6, 6, 6], np.int32), np.log(np.full(3, 0.3)).astype(np.float32)),
    ]  # fmt: skip
    return [Case({"logits": tf.constant(x), "movie_ids": tf.constant(ids), "log_q": tf.constant(lq)},
                 expected=_corrected_reference(x, ids, lq), about=about, extra={"raw": (x, ids, lq)})
            for about, x, ids, lq in raw]  # fmt: skip


def _works_at_another_size(function) -> int | None:
    """The first batch size (8 to 1,024) on which ``function`` runs without error, or None."""
    import tensorflow as tf

    rng = np.random.default_rng(1)
    for size in (8, 16, 32, 64, 128, 256, 512, 1024):
        args = (tf.constant(rng.normal(size=(size, size)).astype(np.float32)),
                tf.constant(rng.integers(1, 5, size).astype(np.int32)), tf.constant(np.full(size, -2.0, np.float32)))  # fmt: skip
        try:
            call_learner(function, *args)
        except KeyboardInterrupt:
            raise
        except BaseException:  # noqa: BLE001 - this size fails too (SystemExit included: never leave the check)
            continue
        return size
    return None


_Q5_ERRORS = [  # explain=: the learner's function raised on a case (facts: error, text, case, inputs)
    Pitfall("item-assignment", lambda f: "does not support item assignment" in f.text,
            "you assigned into a tensor (logits[i, j] = ...), which TensorFlow tensors do not allow; build a new "
            "tensor with keras.ops.where(mask, -np.inf, logits)"),
    Pitfall("fixed-batch-size", lambda f: _works_at_another_size(f.case.extra["function"]) is not None,
            lambda f: f"your function runs on a batch of {_works_at_another_size(f.case.extra['function'])}, though: it "
                      "assumes a fixed batch size; take it from the logits (keras.ops.shape(logits)[0]), since batch "
                      "sizes differ (the last batch of an epoch is smaller)"),
]

_Q5_FORM = [
    Pitfall("not-float", lambda f: f.array is None or f.array.dtype.kind not in "fiu",
            lambda f: f"correct_logits returned {describe(f.answer)}; return the corrected logits, a float tensor of "
                      "shape (batch, batch)"),
]

_Q5_SHAPE = [
    Pitfall("returned-a-loss", lambda f: f.got.shape == (f.batch,),
            lambda f: f"you returned shape {f.got.shape}, one number per row (a loss?); return the corrected logits, "
                      f"shape ({f.batch}, {f.batch}): exercise 4's loss is applied to them next"),
    Pitfall("wrong-shape", lambda f: f.got.shape not in ((f.batch,), (f.batch, f.batch)),
            lambda f: f"you returned shape {f.got.shape}; return the corrected logits, shape ({f.batch}, {f.batch})"),
    Pitfall("log-again", lambda f: f.got.shape == (f.batch, f.batch) and np.isnan(f.got).any() and not f.nan_at_log_q_0,
            "your logits hold NaN: the log of a negative number. log_q is already the log of the sampling probability: "
            "subtract it as it is"),
    Pitfall("nan", lambda f: f.got.shape == (f.batch, f.batch) and np.isnan(f.got).any() and f.nan_at_log_q_0,
            "your logits hold NaN (for example inf - inf): build the masked entries with keras.ops.where instead of "
            "arithmetic on -inf"),
]


def _hidden_low(got, shown) -> bool:
    """The entries hidden in ``shown`` (non-finite there) are far below every shown entry of ``got``'s row."""
    hidden = ~np.isfinite(shown)
    if not hidden.any():
        return True
    floor = np.min(np.where(hidden, np.inf, shown), axis=1, keepdims=True).repeat(shown.shape[1], 1)
    return bool(np.all(got[hidden] <= floor[hidden] - 100.0))


def _nan_at_log_q_0(function) -> bool:
    """Whether ``function`` gives NaN even where the log of log_q cannot (log_q = 0, four different movies)."""
    import tensorflow as tf

    try:
        out = call_learner(function, tf.constant(np.arange(16, dtype=np.float32).reshape(4, 4)),
                           tf.constant([1, 2, 3, 4], tf.int32), tf.constant(np.zeros(4, np.float32)))  # fmt: skip
        return bool(np.isnan(to_numpy(out).astype(np.float64)).any())
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - a probe that fails tells nothing
        return False


def _q5_facts(got: np.ndarray, case: Case):
    x, ids, lq = (np.asarray(a, np.float64) if i != 1 else np.asarray(a) for i, a in enumerate(case.extra["raw"]))
    dup, eye = _duplicates(ids), np.eye(len(ids), dtype=bool)
    same = ids[:, None] == ids[None, :]
    masked = lambda values, where=dup: np.where(where, -np.inf, values)  # noqa: E731
    slips = {
        "per-row": masked(x - lq[:, None]), "added": masked(x + lq[None, :]), "no-logq": masked(x),
        "no-mask": x - lq[None, :], "diagonal-too": masked(x - lq[None, :], same),
        "inverted": masked(x - lq[None, :], ~same), "upper-only": masked(x - lq[None, :], dup & np.triu(np.ones_like(eye), 1)),
        "lower-only": masked(x - lq[None, :], dup & np.tril(np.ones_like(eye), -1)),
        "q-itself": masked(x - np.exp(lq)[None, :]),
    }  # fmt: skip
    expected = case.expected
    visible = np.isfinite(expected)
    batch = len(ids)
    square = got.shape == (batch, batch) and not np.isnan(got).any()
    visible_right = square and np.allclose(got[visible], expected[visible], rtol=1e-5, atol=1e-4)
    nan_at_log_q_0 = bool(got.shape == (batch, batch) and np.isnan(got).any() and _nan_at_log_q_0(case.extra["function"]))
    return facts(got=got, batch=batch, ids=ids, log_q=lq, expected=expected, dup=dup, square=square, nan_at_log_q_0=nan_at_log_q_0,
                 visible_right=visible_right, right=visible_right and _hidden_low(got, expected), slips=slips,
                 top=float(np.max(expected[visible])))  # fmt: skip


def _q5_slip(key: str, reason: str) -> Pitfall:
    def detect(f) -> bool:
        shown = f.slips[key]
        finite = np.isfinite(shown)
        return (f.square and not f.right and _hidden_low(f.got, shown)
                and np.allclose(f.got[finite], shown[finite], rtol=1e-5, atol=1e-4))

    return Pitfall(key, detect, reason)


def _fills(f) -> np.ndarray:
    return np.unique(f.got[f.dup])


def _filled(f) -> bool:
    """The visible entries are right and the copies were given something, but not low enough (nor left as they were)."""
    kept = np.isclose(f.got[f.dup], f.slips["no-mask"][f.dup], rtol=1e-5, atol=1e-4)
    return f.visible_right and not f.right and not kept.any()


_Q5 = [
    _q5_slip("per-row", "you subtracted log_q from each row; log_q[j] belongs to column j's movie: subtract "
                        "log_q[None, :] (one correction per column)"),
    _q5_slip("added", "you added log_q; the correction subtracts it, so that a popular movie (large log q) loses what "
                      "it gains from being a negative in many batches"),
    _q5_slip("no-logq", "the accidental hits are masked but the logQ correction is missing: subtract log_q[None, :]"),
    _q5_slip("no-mask", "the logQ correction is there but no accidental hit is masked: where movie_ids[j] == "
                        "movie_ids[i] and j != i, the entry must get no weight (-inf)"),
    _q5_slip("diagonal-too", "you masked the diagonal too: entry (i, i) is row i's positive, the one the softmax must "
                             "pick; mask only the copies off the diagonal"),
    _q5_slip("inverted", "you masked the movies that differ from the row's positive; mask the copies of it "
                         "(movie_ids[j] == movie_ids[i], j != i)"),
    _q5_slip("upper-only", "you masked only the copies to the right of the diagonal; a copy can come before row i's "
                           "positive too: mask both sides"),
    _q5_slip("lower-only", "you masked only the copies to the left of the diagonal; a copy can come after row i's "
                           "positive too: mask both sides"),
    _q5_slip("q-itself", "you subtracted q itself (exp(log_q)); the correction subtracts its log, which log_q already is"),
    Pitfall("zero-fill", lambda f: _filled(f) and np.all(_fills(f) == 0),
            "the accidental hits got 0 (multiplying by the mask, or a fill of 0): 0 is no lower than the other scores, "
            "so the copies still count as negatives; give them -inf (keras.ops.where(mask, -np.inf, logits))"),
    Pitfall("plus-inf", lambda f: _filled(f) and np.all(np.isposinf(_fills(f))),
            "the accidental hits got +inf, which gives a copy all the weight of the softmax (the loss becomes inf or "
            "NaN): the sign is wrong, use -np.inf (keras.ops.where(mask, -np.inf, logits))"),
    Pitfall("fill-too-high", lambda f: _filled(f) and not np.all(_fills(f) == 0) and not np.all(np.isposinf(_fills(f))),
            lambda f: f"the accidental hits got {'the value' if len(_fills(f)) == 1 else 'values such as'} "
                      f"{_fills(f)[0]:g}, but scores in this batch reach {f.top:g}, so a copy still takes weight in "
                      "the softmax; no constant is low enough for every score: use -np.inf "
                      "(keras.ops.where(mask, -np.inf, logits))"),
]  # fmt: skip


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


_Q5_FIT_ERRORS = [  # explain=: the function failed inside fit (facts: error, text, case, inputs)
    Pitfall("no-gradient", lambda f: "No gradients provided" in f.text,
            "no gradient reaches the towers through your corrected logits (keras.ops.stop_gradient, or values "
            "computed outside TensorFlow and turned back into a tensor): compute them from logits with keras.ops, so "
            "that training can follow them back to the embeddings"),
    Pitfall("len-in-fit", lambda f: "len is not well defined" in f.text,
            "len() needs a Python number, and inside fit logits is a symbolic tensor whose size is known only when "
            "the step runs: take the batch size with keras.ops.shape(logits)[0] (logits.shape[0] can be None there "
            "too, when the last batch is smaller)"),
    Pitfall("partial-last-batch", lambda f: f.case.extra["full_only"] and "No gradients provided" not in f.text
            and "len is not well defined" not in f.text,
            lambda f: f"it works while every batch has {f.inputs['batch_size']} pairs, but the last batch is smaller "
                      f"({f.inputs['pairs'] % f.inputs['batch_size']} pairs), and Keras then traces the loss with an "
                      "unknown batch size: take every size from the tensors themselves (keras.ops.shape(logits)[0]) "
                      "and use keras.ops on whole tensors, no Python loop over rows"),
    Pitfall("not-in-fit", lambda f: not f.case.extra["full_only"] and "No gradients provided" not in f.text
            and "len is not well defined" not in f.text,
            lambda f: "Keras runs a model's loss as a graph during fit, where " + (
                "a tensor has no True or False value yet: a Python if (or and, or, while) on a tensor fails there. "
                "keras.ops.where(mask, -np.inf, corrected) needs no if: where nothing is masked it changes nothing"
                if graph_advice(f.text) == graph_advice("OperatorNotAllowedInGraph") else
                "tensors have no values yet: use keras.ops on whole tensors (no NumPy, no .numpy(), no item "
                "assignment)")),
]

def fit_with_a_partial_last_batch(function, reference, what: str, *, pairs: int = 70, batch: int = 32) -> None:
    """Run ``function`` inside a real Keras ``fit`` whose last batch is smaller; Mistake if it fails or trains differently.

    The tiny model's loss calls ``function(logits, movie_ids, log_q)``, so Keras traces it the way
    ``fit`` does. When ``pairs`` is not a multiple of ``batch``, Keras traces the step with an
    unknown batch size (``None``), which breaks code that reads the batch size as a Python
    number; when the fit fails, the same fit without the last batch tells whether that was the
    cause (pitfalls ``partial-last-batch`` and ``not-in-fit``). The losses per epoch must equal
    those of ``reference``. Written here, not taken from
    :func:`course_lib.checks.fit_function_in_model`, because the answer goes into a model's loss,
    not into a layer's ``call``.
    """
    expected = _fit_losses(reference, pairs, batch)
    fit = Case({"pairs": pairs, "batch_size": batch}, about="a small two-tower model trained with fit, its loss built "
                                                           "on your function")  # fmt: skip
    try:
        got = _fit_losses(lambda *args: call_learner(function, *args), pairs, batch)
    except (KeyboardInterrupt, Mistake, NotAttempted):
        raise
    except BaseException as exc:  # noqa: BLE001 - the learner's code failed inside fit
        try:
            _fit_losses(lambda *args: call_learner(function, *args), pairs - pairs % batch, batch)
            full_only = True
        except KeyboardInterrupt:
            raise
        except BaseException:  # noqa: BLE001
            full_only = False
        fit.extra["full_only"] = full_only and pairs % batch != 0
        raise explained_error(exc, f"{what}, inside model.fit,", case=fit, explain=_Q5_FIT_ERRORS) from None
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        raise fallback(f"your function gives the right logits on its own but trains differently inside fit (loss per "
                       f"epoch {_short(np.array(got))} instead of {_short(np.array(expected))})",
                       "does it depend on the batch size or on the order of the batch?", case=fit, name=what)


def _q5_reference(logits, ids, log_q):
    from keras import ops

    corrected = logits - log_q[None, :]
    copies = ops.logical_and(ops.equal(ids[:, None], ids[None, :]), ops.logical_not(ops.eye(ops.shape(logits)[0]) > 0))
    return ops.where(copies, -np.inf, corrected)


def _check_q5(correct_logits) -> str:
    from dataclasses import replace

    what = "correct_logits"
    for case in _q5_cases():
        case = replace(case, extra={**case.extra, "function": correct_logits})
        result = run_case(correct_logits, case, what, explain=_Q5_ERRORS)
        array = _numbers(result)
        diagnose(_Q5_FORM, facts(answer=result, array=array), case=case, name=what)
        found = _q5_facts(array.astype(np.float64), case)
        if found.right:
            continue
        diagnose(_Q5_SHAPE, found, case=case, name=what)
        diagnose(_Q5, found, case=case, name=what)
        bad = np.argwhere(~np.isclose(np.where(np.isfinite(found.expected), found.got, 0),
                                      np.where(np.isfinite(found.expected), found.expected, 0), rtol=1e-5, atol=1e-4))
        i, j = (int(n) for n in bad[0]) if len(bad) else (0, 0)
        raise fallback(f"entry ({i}, {j}) should be logits[{i}, {j}] - log_q[{j}] = {found.expected[i, j]:.4g}, got "
                       f"{found.got[i, j]:.4g}", f"check the correction of column {j} (the movie it holds, "
                       f"{int(found.ids[j])}) and the mask of row {i}", case=case, name=what)  # fmt: skip
    fit_with_a_partial_last_batch(correct_logits, _q5_reference, what)
    return ("Popular movies are no longer punished for being frequent negatives, copies of a row's positive no "
            "longer count against it, and it trains inside fit with a smaller last batch.")


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
    mistakes=[*_Q5_ERRORS, *_Q5_FORM, *_Q5_SHAPE, *_Q5, *_Q5_FIT_ERRORS],
)


# --------------------------------------------------------------------------- q6: cosine neighbours


def _cosine_reference(vectors, movie_id, k) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit[movie_id]
    cosine[movie_id] = -np.inf
    return np.argsort(-cosine, kind="stable")[:k]


def _q6_cases() -> list[Case]:
    rng = np.random.default_rng(6)
    raw = []
    vectors = rng.normal(size=(12, 4))
    vectors[5] = 3.0 * vectors[1] + rng.normal(scale=0.1, size=4)  # near row 1 in angle, long
    vectors[8] = 20.0 * rng.normal(size=4)  # very long: wins any dot-product ranking
    vectors[8] *= np.sign(vectors[8] @ vectors[1])
    raw.append(("12 movies, query 1 (row 8 is very long, row 5 points almost the same way)", vectors.astype(np.float32), 1, 4))
    vectors = rng.normal(size=(40, 6))
    # rows 3, 13 and 30 point exactly the same way as the query (scaled by powers of 2, so their unit rows equal its
    # own bit for bit), before and after it: dropping the first of the ranking drops a copy in either sort direction,
    # stable or not (NumPy's default sort orders ties by the array's layout)
    vectors[[3, 13, 30]] = np.array([[2.0], [4.0], [8.0]]) * vectors[9]
    raw.append(("40 movies, query 9, rows 3, 13 and 30 longer copies of it (cosine 1)", vectors, 9, 5))
    vectors = rng.normal(size=(1500, 8))
    vectors[1490:] = vectors[700] * rng.uniform(0.5, 2, size=(10, 1)) + rng.normal(scale=0.05, size=(10, 8))
    raw.append(("1,500 movies, query 700, its neighbours at the end of the table", vectors, 700, 10))
    return [Case({"vectors": v, "movie_id": q, "k": k}, expected=_cosine_reference(v, q, k), about=about)
            for about, v, q, k in raw]


def _q6_ids(answer) -> np.ndarray | None:
    """Whole-number ids as int64 (floats such as 3.0 accepted), or None."""
    array = _numbers(answer)
    if array is None or array.ndim != 1:
        return None
    if array.dtype.kind == "f" and not (np.all(np.isfinite(array)) and np.all(np.mod(array, 1) == 0)):
        return None
    return array.astype(np.int64)


def _q6_rankings(case: Case) -> dict:
    """The id lists the usual slips give on ``case``: {key: ids}."""
    v = np.asarray(case.inputs["vectors"], dtype=np.float64)
    query, k = case.inputs["movie_id"], case.inputs["k"]
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    cosine = unit @ unit[query]
    dots = v @ v[query]
    dots[query] = -np.inf
    distance = np.linalg.norm(v - v[query], axis=1)
    distance[query] = np.inf
    column = v / np.linalg.norm(v, axis=0, keepdims=True)
    by_columns = column @ column[query]
    by_columns[query] = -np.inf
    low = cosine.copy()
    low[query] = np.inf
    rankings = {"dot-product": [np.argsort(-dots, kind=o)[:k] for o in ("stable", "quicksort")],
                "euclidean": [np.argsort(distance, kind=o)[:k] for o in ("stable", "quicksort")],
                "columns": [np.argsort(-by_columns, kind=o)[:k] for o in ("stable", "quicksort")],
                "skip-first": [*(np.argsort(-cosine, kind=o)[1:k + 1] for o in ("stable", "quicksort")),
                               *(np.argsort(cosine, kind=o)[::-1][1:k + 1] for o in ("stable", "quicksort"))],
                "positions": [np.argsort(-np.delete(cosine, query), kind=o)[:k] for o in ("stable", "quicksort")],
                "least-similar": [np.argsort(low, kind=o)[:k] for o in ("stable", "quicksort")],
                "first-rows-only": []}  # fmt: skip
    if len(v) > 1000:
        for limit in (100, 200, 500, 1000):
            head = cosine[:limit].copy()
            if query < limit:
                head[query] = -np.inf
            rankings["first-rows-only"].append(np.argsort(-head, kind="stable")[:k])
    return rankings


def _tied_ranking(ids: np.ndarray, case: Case) -> bool:
    """``ids`` rank like the expected list, up to the order of movies whose cosines are equal (exact copies)."""
    v = np.asarray(case.inputs["vectors"], dtype=np.float64)
    query = case.inputs["movie_id"]
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    cosine = unit @ unit[query]
    return (len(ids) == len(case.expected) and len(set(ids.tolist())) == len(ids) and query not in ids
            and bool(np.all((ids >= 0) & (ids < len(v))))
            and np.allclose(cosine[ids], cosine[case.expected], rtol=0, atol=1e-9))


def _ranked_like(key: str):
    return lambda f: not f.right and any(np.array_equal(f.got, ids) for ids in f.rankings[key])


def _first_rows_limit(f) -> int:
    return (100, 200, 500, 1000)[next(i for i, ids in enumerate(f.rankings["first-rows-only"]) if np.array_equal(f.got, ids))]


_Q6_FORM = [
    Pitfall("not-ids", lambda f: f.ids is None and not (f.array is not None and f.array.ndim == 1 and f.array.dtype.kind == "f"),
            lambda f: f"most_similar returned {describe(f.answer)}; return a 1-D list or array of k movie ids (row numbers)"),
    Pitfall("scores-not-ids", lambda f: f.ids is None and f.array is not None and f.array.ndim == 1 and f.array.dtype.kind == "f",
            lambda f: f"you returned {f.array.dtype} values such as {f.array[0]:.3g}, scores rather than movie ids; return "
                      "the positions (np.argsort gives them), not the scores"),
]  # fmt: skip

_Q6 = [
    Pitfall("wrong-length", lambda f: len(f.got) != f.k,
            lambda f: f"expected {f.expected.tolist()}, got {f.got.tolist()}. Asked for k={f.k} neighbours, got {len(f.got)}"),
    Pitfall("skip-first", lambda f: len(f.got) == f.k and _ranked_like("skip-first")(f),
            lambda f: f"expected {f.expected.tolist()}, got {f.got.tolist()}. You dropped the first entry of the ranking, "
                      "assuming it is the movie itself; another movie can have cosine 1 too (a longer copy): remove the "
                      "movie by its id"),
    Pitfall("includes-itself", lambda f: len(f.got) == f.k and f.query in f.got and not _ranked_like("skip-first")(f),
            lambda f: f"expected {f.expected.tolist()}, got {f.got.tolist()}. Movie {f.query} is in its own neighbour "
                      "list (its cosine with itself is 1); leave it out"),
    Pitfall("positions", lambda f: len(f.got) == f.k and _ranked_like("positions")(f) and not _ranked_like("skip-first")(f),
            lambda f: f"expected {f.expected.tolist()}, got {f.got.tolist()}. After np.delete removed movie {f.query}, "
                      f"every movie after it moved up one place, so argsort gives positions in the shorter array, not "
                      f"movie ids (movie {f.query + 1} is at position {f.query}): keep the full array and set the "
                      "query's own cosine to -np.inf instead"),
    Pitfall("dot-product", lambda f: f.query not in f.got and _ranked_like("dot-product")(f),
            lambda f: f"expected {f.expected.tolist()}, got {f.got.tolist()}. You ranked by the raw dot product, which "
                      "favours long vectors; divide by both vectors' lengths to get the cosine"),
    Pitfall("euclidean", lambda f: f.query not in f.got and _ranked_like("euclidean")(f),
            lambda f: f"expected {f.expected.tolist()}, got {f.got.tolist()}. You ranked by Euclidean distance, which "
                      "depends on the vectors' lengths; the cosine compares directions only"),
    Pitfall("columns", lambda f: f.query not in f.got and _ranked_like("columns")(f),
            lambda f: f"expected {f.expected.tolist()}, got {f.got.tolist()}. You normalised the columns (axis=0); "
                      "normalise each row, i.e. each movie's vector (axis=1)"),
    Pitfall("least-similar", lambda f: f.query not in f.got and _ranked_like("least-similar")(f),
            lambda f: f"expected {f.expected.tolist()}, got {f.got.tolist()}. Those are the least similar movies; sort "
                      "by cosine in descending order"),
    Pitfall("first-rows-only", lambda f: f.query not in f.got and _ranked_like("first-rows-only")(f),
            lambda f: f"expected {f.expected.tolist()}, got {f.got.tolist()}. You only searched the first "
                      f"{_first_rows_limit(f)} movies; compare with every row of the table"),
    Pitfall("unordered", lambda f: not f.right and sorted(f.got.tolist()) == sorted(f.expected.tolist()),
            lambda f: f"expected {f.expected.tolist()}, got {f.got.tolist()}. The right movies, but not most similar first"),
]  # fmt: skip


def _check_q6(most_similar) -> str:
    what = "most_similar"
    for case in _q6_cases():
        result = run_case(most_similar, case, what)
        array = _numbers(result)
        ids = _q6_ids(result)
        diagnose(_Q6_FORM, facts(answer=result, array=array, ids=ids), case=case, name=what)
        if np.array_equal(ids, case.expected) or _tied_ranking(ids, case):
            continue
        found = facts(got=ids, expected=case.expected, k=case.inputs["k"], query=case.inputs["movie_id"], right=False,
                      rankings=_q6_rankings(case))  # fmt: skip
        diagnose(_Q6, found, case=case, name=what)
        raise fallback(f"expected {case.expected.tolist()}, got {ids.tolist()}",
                       "divide each row by its length, take the dot products with the query's unit row, leave the "
                       "query out, and rank best first", case=case, name=what)  # fmt: skip
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
    mistakes=[*_Q6_FORM, *_Q6],
)
