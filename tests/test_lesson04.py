"""The self-checks of lesson 04 accept right answers in every form and reject the usual mistakes."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib.checks import ____
from exercise_helpers import message, status
from course_lib.exercises.lesson04 import q1, q2, q3, q4, q5


# --------------------------------------------------------------------------- q1: RMSE by hand


def rmse_reference(y_true, y_pred):
    error = np.ravel(y_true).astype("float64") - np.ravel(y_pred).astype("float64")
    return float(np.sqrt(np.mean(error**2)))


def test_q1_accepts_numpy_keras_and_course_lib_forms():
    from course_lib.recommender import rmse

    assert status(q1, rmse_reference) == "correct"
    assert status(q1, rmse) == "correct"
    assert status(q1, lambda t, p: np.sqrt(np.mean((np.ravel(t) - np.ravel(p)) ** 2))) == "correct"  # numpy float
    assert status(q1, lambda t, p: keras.ops.sqrt(keras.ops.mean(  # a 0-d tensor
        keras.ops.square(keras.ops.ravel(t) - keras.ops.ravel(p))))) == "correct"  # fmt: skip
    assert status(q1, lambda t, p: np.array([rmse_reference(t, p)])) == "correct"  # one-element array


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda t, p: np.mean((np.ravel(t) - np.ravel(p)) ** 2), "square root"),
        (lambda t, p: np.mean(np.abs(np.ravel(t) - np.ravel(p))), "absolute"),
        (lambda t, p: np.sqrt(np.sum((np.ravel(t) - np.ravel(p)) ** 2)), "divide by the number"),
        (lambda t, p: np.sqrt(np.mean((t - p) ** 2)), "(n, n) matrix"),  # no flattening
        (lambda t, p: np.mean(np.ravel(t) - np.ravel(p)), "cancel"),
        (lambda t, p: (np.ravel(t) - np.ravel(p)) ** 2, "one number"),
    ],
)
def test_q1_rejects_typical_mistakes(wrong, words):
    assert words in message(q1, wrong)


def test_q1_not_attempted():
    def stub(y_true, y_pred):
        ...  # YOUR CODE HERE

    assert status(q1, stub) == "not attempted"
    assert status(q1, ...) == "not attempted"
    assert status(q1, ____) == "not attempted"


def test_q1_learner_error_is_reported_not_raised():
    def broken(y_true, y_pred):
        raise ZeroDivisionError("oops")

    assert "ZeroDivisionError" in message(q1, broken)


# --------------------------------------------------------------------------- q2: rows needed


def test_q2_accepts_int_numpy_int_and_tensor():
    assert status(q2, lambda ids: int(np.max(ids)) + 1) == "correct"
    assert status(q2, lambda ids: np.max(ids) + 1) == "correct"  # numpy integer
    assert status(q2, lambda ids: keras.ops.max(ids) + 1) == "correct"  # 0-d tensor
    assert status(q2, lambda ids: max(ids.tolist()) + 1.0) == "correct"  # a whole float


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda ids: int(np.max(ids)), "off by one"),
        (lambda ids: len(np.unique(ids)), "distinct"),
        (lambda ids: len(np.unique(ids)) + 1, "distinct"),
        (lambda ids: len(ids), "number of ratings"),
        (lambda ids: int(np.max(ids)) + 2, "needs"),
        (lambda ids: float(np.max(ids)) + 0.5, "whole number"),
    ],
)
def test_q2_rejects_typical_mistakes(wrong, words):
    assert words in message(q2, wrong)


def test_q2_not_attempted():
    assert status(q2, lambda ids: ...) == "not attempted"
    assert status(q2, ...) == "not attempted"


# --------------------------------------------------------------------------- q3: per-row dot product


def test_q3_accepts_keras_numpy_and_column_forms():
    assert status(q3, lambda u, m: keras.ops.sum(u * m, axis=-1)) == "correct"
    assert status(q3, lambda u, m: np.einsum("bd,bd->b", u, m)) == "correct"
    assert status(q3, lambda u, m: keras.layers.Dot(axes=1)([u, m])) == "correct"  # (batch, 1)
    assert status(q3, lambda u, m: np.diag(u @ m.T)) == "correct"  # wasteful but right


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda u, m: keras.ops.tensordot(u, m, 2), "tensordot"),  # the keras.io bug
        (lambda u, m: keras.ops.sum(u * m, axis=0), "axis 0"),
        (lambda u, m: u @ m.T, "every user with every movie"),
        (lambda u, m: u * m, "add up"),
        (lambda u, m: keras.ops.sum(u + m, axis=-1), "numbers are not"),
        (lambda u, m: np.sum(u * m, axis=-1) + np.sum(u * m) * 0.01, "numbers are not"),
    ],
)
def test_q3_rejects_typical_mistakes(wrong, words):
    assert words in message(q3, wrong)


def test_q3_not_attempted():
    assert status(q3, lambda u, m: None) == "not attempted"
    assert status(q3, ...) == "not attempted"


# --------------------------------------------------------------------------- q4: top-N without rated movies


def recommend_reference(scores, rated, k=10):
    scores = np.array(scores, dtype="float64")
    scores[0] = -np.inf
    scores[np.asarray(rated)] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]


def test_q4_accepts_arrays_lists_and_tensors():
    from course_lib.recommender import top_n

    assert status(q4, recommend_reference) == "correct"
    assert status(q4, lambda s, r, k: recommend_reference(s, r, k).tolist()) == "correct"
    assert status(q4, lambda s, r, k: keras.ops.convert_to_tensor(recommend_reference(s, r, k))) == "correct"

    def with_course_lib(scores, rated, k):
        exclude = np.zeros(len(scores), dtype=bool)
        exclude[0] = True
        exclude[rated] = True
        return top_n(scores, exclude, k)

    assert status(q4, with_course_lib) == "correct"


def no_mask(scores, rated, k):
    return np.argsort(-np.asarray(scores))[:k]


def rated_only(scores, rated, k):  # forgets the padding row
    scores = np.array(scores, dtype=float)
    scores[rated] = -np.inf
    return np.argsort(-scores)[:k]


def padding_only(scores, rated, k):  # forgets the rated movies
    scores = np.array(scores, dtype=float)
    scores[0] = -np.inf
    return np.argsort(-scores)[:k]


def ascending(scores, rated, k):
    scores = np.array(scores, dtype=float)
    scores[0] = scores[rated] = -np.inf
    return np.argsort(scores)[:k]


def sliced_off_by_one(scores, rated, k):
    real = np.array(scores[1:], dtype=float)
    real[np.asarray(rated) - 1] = -np.inf
    return np.argsort(-real)[:k]  # positions, not ids


def returns_scores(scores, rated, k):
    scores = np.array(scores, dtype=float)
    scores[0] = scores[rated] = -np.inf
    return np.sort(scores)[::-1][:k]


@pytest.mark.parametrize(
    "wrong, words",
    [
        (no_mask, "padding row 0 and movie"),
        (rated_only, "padding row"),
        (padding_only, "already rated"),
        (ascending, "worst first"),
        (sliced_off_by_one, "off by one"),
        (returns_scores, "not the scores"),
        (lambda s, r, k: recommend_reference(s, r, 10)[:5], "k=3"),  # hard-coded k=5 list sliced
    ],
)
def test_q4_rejects_typical_mistakes(wrong, words):
    assert words in message(q4, wrong)


def test_q4_not_attempted():
    assert status(q4, lambda s, r, k=10: ...) == "not attempted"


# --------------------------------------------------------------------------- q5: cosine neighbours


def most_similar_reference(vectors, movie_id, k=10):
    vectors = np.asarray(vectors, dtype="float64")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit[movie_id]
    cosine[movie_id] = -np.inf
    return np.argsort(-cosine, kind="stable")[:k]


def test_q5_accepts_reference_and_course_lib():
    from course_lib.recommender import cosine_neighbours

    assert status(q5, most_similar_reference) == "correct"
    assert status(q5, lambda v, i, k: cosine_neighbours(v, i, k)[0]) == "correct"
    assert status(q5, lambda v, i, k: most_similar_reference(v, i, k).tolist()) == "correct"


def by_dot(vectors, movie_id, k):
    scores = vectors @ vectors[movie_id]
    scores[movie_id] = -np.inf
    return np.argsort(-scores)[:k]


def with_itself(vectors, movie_id, k):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.argsort(-(unit @ unit[movie_id]))[:k]


def column_normalised(vectors, movie_id, k):
    unit = vectors / np.linalg.norm(vectors, axis=0, keepdims=True)
    scores = unit @ unit[movie_id]
    scores[movie_id] = -np.inf
    return np.argsort(-scores)[:k]


def least_similar(vectors, movie_id, k):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ unit[movie_id]
    scores[movie_id] = np.inf
    return np.argsort(scores)[:k]


@pytest.mark.parametrize(
    "wrong, words",
    [
        (by_dot, "dot product"),
        (with_itself, "its own neighbour"),
        (column_normalised, "axis=0"),
        (least_similar, "least similar"),
    ],
)
def test_q5_rejects_typical_mistakes(wrong, words):
    assert words in message(q5, wrong)


def test_q5_not_attempted():
    assert status(q5, lambda v, i, k=10: ...) == "not attempted"
    assert status(q5, ...) == "not attempted"


def test_hints_and_solutions_print(capsys):
    for exercise in (q1, q2, q3, q4, q5):
        exercise.hint()
        exercise.solution()
    printed = capsys.readouterr().out
    assert printed.count("Hint for") == 5 and printed.count("Solution for") == 5
