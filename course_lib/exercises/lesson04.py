"""Exercises of lesson 04, *A movie recommender*: ``from course_lib.exercises.lesson04 import q1, q2, q3, q4, q5``.

Every answer is a function; each checker calls it on small made-up inputs whose right
answers are known, so the checks do not depend on the training run or the data variant.

- ``q1``: RMSE by hand, ``rmse_by_hand(y_true, y_pred) -> float``;
- ``q2``: rows an Embedding needs, ``rows_needed(ids) -> int``;
- ``q3``: the per-row dot product, ``row_dot(u, m) -> (batch,)``;
- ``q4``: top-N without the movies already rated, ``recommend(scores, rated, k) -> ids``;
- ``q5``: nearest movies by cosine similarity, ``most_similar(vectors, movie_id, k) -> ids``.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks import Exercise, Mistake, call_learner, expect_int, to_numpy

__all__ = ["q1", "q2", "q3", "q4", "q5"]


def _scalar(value, what: str) -> float:
    """A float from a Python/NumPy number or a 0-d (or one-element) array or tensor."""
    array = to_numpy(value, what)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise Mistake(f"{what} should be a number, got {type(value).__name__}")
    if array.size != 1:
        raise Mistake(f"{what} should be one number, but it has shape {array.shape}: "
                      "average over all ratings to get a single value")  # fmt: skip
    return float(array.reshape(()))


def _ids(value, what: str) -> np.ndarray:
    """A 1-D int64 array of ids from a list, array or tensor; Mistake for floats that are not whole."""
    array = to_numpy(value, what)
    if array.ndim != 1:
        raise Mistake(f"{what} should be a 1-D list of ids, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if np.issubdtype(array.dtype, np.floating) and np.all(np.mod(array, 1) == 0):
            return array.astype(np.int64)
        raise Mistake(f"{what} should hold movie ids (whole numbers), but it holds {array.dtype} values "
                      "such as scores; return the positions (np.argsort gives them), not the scores")  # fmt: skip
    return array.astype(np.int64)


# --------------------------------------------------------------------------- q1: RMSE


def _rmse_reference(y_true, y_pred) -> float:
    true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    return float(np.sqrt(np.mean((true - pred) ** 2)))


def _check_q1(rmse_by_hand) -> str:
    rng = np.random.default_rng(5)
    y_true = rng.integers(1, 6, size=50).astype(np.float32)
    y_pred = np.clip(y_true + rng.normal(0, 1.1, size=50), 1, 5).astype(np.float32)
    expected = _rmse_reference(y_true, y_pred)
    got = _scalar(call_learner(rmse_by_hand, y_true.copy(), y_pred.copy()), "rmse_by_hand(...)")
    error = y_true.astype(np.float64) - y_pred
    if np.isclose(got, expected**2, rtol=1e-4):
        raise Mistake(f"you returned {got:.4f}, the mean squared error (squared stars); take its square root")
    if np.isclose(got, np.mean(np.abs(error)), rtol=1e-4):
        raise Mistake(f"you returned {got:.4f}, the mean absolute error (MAE); RMSE squares the errors "
                      "before averaging, then takes the square root")  # fmt: skip
    if np.isclose(got, np.sqrt(np.sum(error**2)), rtol=1e-4):
        raise Mistake(f"you returned {got:.4f} = sqrt(sum of squared errors); divide by the number of "
                      "ratings (take the mean) before the square root")  # fmt: skip
    if np.isclose(got, np.mean(error), rtol=1e-4, atol=1e-6):
        raise Mistake("you averaged the signed errors, so over- and under-predictions cancel out; square them first")
    if not np.isclose(got, expected, rtol=1e-4):
        raise Mistake(f"rmse_by_hand gave {got:.4f} but the RMSE of these ratings is {expected:.4f}")
    # Keras's predict often returns shape (n, 1): (n,) - (n, 1) broadcasts to an (n, n) matrix.
    column = _scalar(call_learner(rmse_by_hand, y_true.copy(), y_pred.reshape(-1, 1).copy()), "rmse_by_hand(...)")
    if not np.isclose(column, expected, rtol=1e-4):
        raise Mistake(f"with y_pred of shape (n, 1), as model.predict often returns, you get {column:.4f} "
                      f"instead of {expected:.4f}: y_true - y_pred broadcast to an (n, n) matrix. "
                      "Flatten both first, e.g. np.ravel(y_pred)")  # fmt: skip
    perfect = _scalar(call_learner(rmse_by_hand, y_true.copy(), y_true.copy()), "rmse_by_hand(...)")
    if not np.isclose(perfect, 0.0, atol=1e-6):
        raise Mistake(f"perfect predictions should give RMSE 0, yours give {perfect:.4g}")
    return f"On the check's 50 made-up ratings your function gives {expected:.4f} stars, for y_pred of shape (n,) and (n, 1)."


q1 = Exercise(
    "q1",
    "RMSE by hand",
    _check_q1,
    hint="""Three steps, in this order: square each error (y_true - y_pred), take the mean, then the
    square root. Flatten both inputs first (np.ravel) so a (n, 1) column does not broadcast.""",
    solution="""
    def rmse_by_hand(y_true, y_pred):
        error = np.ravel(y_true).astype("float64") - np.ravel(y_pred).astype("float64")
        return float(np.sqrt(np.mean(error ** 2)))
    """,
)


# --------------------------------------------------------------------------- q2: rows of an Embedding


def _check_q2(rows_needed) -> str:
    cases = [
        np.array([1, 2, 2, 3, 5, 9, 9], dtype=np.int32),  # ids from 1, repeated, with gaps: 9 needs row 9
        np.array([4, 1, 2, 2, 3], dtype=np.int64),  # unsorted, repeated
        np.arange(1, 1683, dtype=np.int32),  # the ml-100k movie ids
    ]
    for ids in cases:
        result = call_learner(rows_needed, ids.copy())
        got = expect_int(result, "rows_needed(ids)")
        expected = int(ids.max()) + 1
        if got == expected:
            continue
        if got == expected - 1:
            raise Mistake(f"off by one: for ids up to {ids.max()} you say {got} rows, but rows are numbered "
                          f"from 0, so id {ids.max()} needs {expected} rows (input_dim = largest id + 1; "
                          "row 0 stays unused)")  # fmt: skip
        if got == len(np.unique(ids)) or got == len(np.unique(ids)) + 1:
            raise Mistake(f"for ids {ids.tolist()[:6]} you counted distinct ids ({got}); the table is "
                          "indexed by the id itself, so it needs largest id + 1 rows even when ids skip numbers")  # fmt: skip
        if got in (len(ids), len(ids) + 1):
            raise Mistake(f"{got} is about the number of ratings (entries), not the largest id + 1")
        raise Mistake(f"for ids up to {ids.max()} you say {got} rows; the table needs {expected}")
    return "Row 0 is never looked up: ids start at 1."


q2 = Exercise(
    "q2",
    "rows an Embedding needs",
    _check_q2,
    hint="""An Embedding looks up row number `id` directly; its rows are numbered 0 .. input_dim - 1.
    What is the largest id it must hold?""",
    solution="""
    def rows_needed(ids):
        return int(np.max(ids)) + 1
    """,
)


# --------------------------------------------------------------------------- q3: per-row dot product


def _check_q3(row_dot) -> str:
    rng = np.random.default_rng(3)
    batch, dim = 5, 3
    u = rng.normal(size=(batch, dim)).astype(np.float32)
    m = rng.normal(size=(batch, dim)).astype(np.float32)
    expected = np.sum(u.astype(np.float64) * m, axis=1)
    got = to_numpy(call_learner(row_dot, u.copy(), m.copy()), "row_dot(u, m)")
    if got.size == 1:
        raise Mistake(f"you returned one number ({float(got.reshape(-1)[0]):.3f}) for a batch of {batch} rows: "
                      "the sum ran over the batch axis too, as ops.tensordot(u, m, 2) does in the keras.io "
                      "example; sum over the last axis only")  # fmt: skip
    if got.shape == (dim,):
        raise Mistake(f"shape {got.shape}: you summed over axis 0, the batch; sum over the last axis (axis=-1)")
    if got.shape == (batch, batch):
        raise Mistake(f"shape {got.shape}: that is every user with every movie (u @ m.T); the per-row "
                      "score is u[i] · m[i], the diagonal of that matrix, and needs no matrix product")  # fmt: skip
    if got.shape == (batch, dim):
        raise Mistake(f"shape {got.shape}: you multiplied element by element but did not add up each row")
    if got.shape not in ((batch,), (batch, 1)):
        raise Mistake(f"for u and m of shape {u.shape} you returned shape {got.shape}; expected ({batch},)")
    got = got.reshape(-1).astype(np.float64)
    if not np.allclose(got, expected, atol=1e-4):
        raise Mistake(f"the shape is right but the numbers are not the per-row dot products "
                      f"(row 0 should be {expected[0]:.4f}, yours is {got[0]:.4f})")  # fmt: skip
    # Each row must depend on its own row only: change row 2 and see which outputs move.
    u2 = u.copy()
    u2[2] += 1.0
    moved = to_numpy(call_learner(row_dot, u2, m.copy()), "row_dot(u, m)").reshape(-1) - got
    if np.any(np.abs(np.delete(moved, 2)) > 1e-4):
        raise Mistake("changing the user vector of row 2 changed other rows' scores: rows must not mix")
    return "Each row's score depends on its own user and movie only."


q3 = Exercise(
    "q3",
    "per-row dot product",
    _check_q3,
    hint="""Multiply u and m element by element (shape (batch, dim)), then add up along the last
    axis: keras.ops.sum(..., axis=-1).""",
    solution="""
    def row_dot(u, m):
        return keras.ops.sum(u * m, axis=-1)
    """,
)


# --------------------------------------------------------------------------- q4: top-N without rated movies


def _expect_ranking(got: np.ndarray, expected: np.ndarray, order: str) -> None:
    """Mistake unless ``got`` lists the ``expected`` ids in the same order (``order`` says which)."""
    if not np.array_equal(got, expected) and set(got.tolist()) == set(expected.tolist()):
        raise Mistake(f"the right movies, but not {order}")
    if not np.array_equal(got, expected):
        raise Mistake(f"expected the ids {expected.tolist()}, got {got.tolist()}")


def _recommend_reference(scores, rated, k):
    scores = np.array(scores, dtype=np.float64, copy=True)
    scores[0] = -np.inf
    scores[np.asarray(rated, dtype=np.int64)] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]


def _check_q4(recommend) -> str:
    rng = np.random.default_rng(4)
    n_movies = 20
    scores = rng.normal(size=n_movies + 1)  # index = movie id; index 0 is the padding row
    scores[0] = 9.0  # an untrained padding row can score anything
    scores[7] = 8.0  # the best-scoring movie ...
    rated = np.array([7, 3, 12, 15], dtype=np.int64)  # ... is one the user already rated
    scores[3] = 7.0
    k = 5
    expected = _recommend_reference(scores, rated, k)
    got = _ids(call_learner(recommend, scores.copy(), rated.copy(), k), "recommend(scores, rated, k)")
    if len(got) != k:
        raise Mistake(f"asked for k={k} movies, got {len(got)}")
    masked = scores.copy()
    masked[0] = masked[rated] = -np.inf
    lowest = [set(np.argsort(values, kind="stable")[:k].tolist()) for values in (masked, scores)]
    if set(got.tolist()) in lowest or np.all(np.diff(scores[np.clip(got, 0, n_movies)]) > 0):
        raise Mistake("your list is ordered worst first (the masked movies come first); sort the scores "
                      "in descending order, e.g. np.argsort(-scores)")  # fmt: skip
    if np.array_equal(got - 1, expected) or np.array_equal(got + 1, expected):
        raise Mistake("your ids are off by one: position j of `scores` is movie id j; if you ranked "
                      "scores[1:], add 1 back to the positions")  # fmt: skip
    seen = sorted(set(got.tolist()) & set(rated.tolist()))
    if seen and 0 in got:
        raise Mistake(f"your list contains the padding row 0 and movie(s) {seen}, which the user already "
                      "rated; set their scores to -inf before ranking")  # fmt: skip
    if seen:
        raise Mistake(f"your list contains movie(s) {seen}, which the user already rated; set their scores "
                      "to -inf (or drop them) before ranking")  # fmt: skip
    if 0 in got:
        raise Mistake("your list contains id 0: that is the padding row, not a movie; never recommend it")
    _expect_ranking(got, expected, "best first; order them by score, highest first")
    # A second user, with a different k, to catch answers that hard-code 10 or ignore `rated`.
    rated2 = np.array([1, 2], dtype=np.int64)
    expected2 = _recommend_reference(scores, rated2, 3)
    got2 = _ids(call_learner(recommend, scores.copy(), rated2.copy(), 3), "recommend(scores, rated, k)")
    if not np.array_equal(got2, expected2):
        raise Mistake(f"with rated={rated2.tolist()} and k=3 expected {expected2.tolist()}, got {got2.tolist()}")
    return "Rated movies and the padding row never reach the list."


q4 = Exercise(
    "q4",
    "top-N without the movies already rated",
    _check_q4,
    hint="""Copy the scores, set scores[0] and scores[rated] to -np.inf, then take the positions of the
    k largest: np.argsort(-scores)[:k]. Positions are movie ids because row j is movie j.""",
    solution="""
    def recommend(scores, rated, k=10):
        scores = np.array(scores, dtype="float64")  # a copy: do not change the caller's array
        scores[0] = -np.inf                          # the padding row is not a movie
        scores[np.asarray(rated)] = -np.inf          # already rated: not a recommendation
        return np.argsort(-scores, kind="stable")[:k]
    """,
)


# --------------------------------------------------------------------------- q5: cosine neighbours


def _check_q5(most_similar) -> str:
    rng = np.random.default_rng(6)
    vectors = rng.normal(size=(12, 4))
    vectors[5] = 3.0 * vectors[1] + rng.normal(scale=0.1, size=4)  # near row 1 in angle, long
    vectors[8] = 20.0 * rng.normal(size=4)  # very long: wins any dot-product ranking
    vectors[8] *= np.sign(vectors[8] @ vectors[1])  # points roughly towards row 1, not exactly
    query, k = 1, 4
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit[query]
    cosine_ranked = np.argsort(-cosine, kind="stable")
    expected = cosine_ranked[cosine_ranked != query][:k]
    got = _ids(call_learner(most_similar, vectors.astype(np.float32), query, k), "most_similar(vectors, movie_id, k)")
    if len(got) != k:
        raise Mistake(f"asked for k={k} neighbours, got {len(got)}")
    if query in got:
        raise Mistake(f"movie {query} is in its own neighbour list (its cosine with itself is 1); leave it out")
    dots = vectors @ vectors[query]
    dot_ranked = np.argsort(-dots, kind="stable")
    if np.array_equal(got, dot_ranked[dot_ranked != query][:k]):
        raise Mistake("you ranked by the raw dot product, which favours long vectors (row 8 here); "
                      "divide by both vectors' lengths to get the cosine")  # fmt: skip
    column_unit = vectors / np.linalg.norm(vectors, axis=0, keepdims=True)
    column_ranked = np.argsort(-(column_unit @ column_unit[query]), kind="stable")
    if np.array_equal(got, column_ranked[column_ranked != query][:k]):
        raise Mistake("you normalised the columns (axis=0); normalise each row, i.e. each movie's vector (axis=1)")
    if np.array_equal(got, cosine_ranked[::-1][cosine_ranked[::-1] != query][:k]):
        raise Mistake("those are the least similar movies; sort by cosine in descending order")
    _expect_ranking(got, expected, "most similar first")
    return "Cosine compares directions only, so a few very long vectors cannot crowd every list."


q5 = Exercise(
    "q5",
    "nearest movies by cosine similarity",
    _check_q5,
    hint="""Divide every row by its length (np.linalg.norm(vectors, axis=1, keepdims=True)), then the
    cosine with the query is unit @ unit[movie_id]. Rank descending and skip the movie itself.""",
    solution="""
    def most_similar(vectors, movie_id, k=10):
        vectors = np.asarray(vectors, dtype="float64")
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        cosine = unit @ unit[movie_id]
        cosine[movie_id] = -np.inf            # not its own neighbour
        return np.argsort(-cosine, kind="stable")[:k]
    """,
)
