"""The warm-up exercises of lesson 00 accept correct answers and name each catalogued mistake.

Numbering follows the notebook: q1 = warm-up 1 (tensor of ids), q2 = warm-up 2 (title of id 50),
q3 = warm-up 3 (ratings per user), q4 = warm-up 4 (density).
"""

from fractions import Fraction

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from exercise_helpers import check_catalogue, message, rejected, status

from course_lib.datasets import load_movielens
from course_lib.exercises.lesson00 import make_density_exercise, q1, q2, q3, q4

DENSITY = 100_000 / (943 * 1_682)
PER_USER = 100_000 / 943


@pytest.fixture(scope="module")
def names():
    ml = load_movielens("100k")
    return {"ml": ml}


CORRECT = {
    q1: [
        tf.constant([1, 50, 181], dtype=tf.int32),
        tf.constant([1, 50, 181]),  # tf.constant makes Python ints int32
        tf.convert_to_tensor(np.array([1, 50, 181], dtype=np.int32)),
        tf.cast(tf.constant([1.0, 50.0, 181.0]), tf.int32),
        tf.Variable([1, 50, 181]),  # a variable holding the ids works wherever the tensor does
    ],
    q2: ["Star Wars", np.str_("Star Wars"), pd.Series(["Star Wars"]).item()],
    q3: [PER_USER, np.float64(PER_USER), tf.constant(PER_USER), round(PER_USER, 1), round(PER_USER, 2), np.float32(PER_USER),
         Fraction(100_000, 943), 106.0],
    q4: [DENSITY, np.float32(DENSITY), tf.constant(DENSITY), round(DENSITY, 5), round(DENSITY, 3), np.array(DENSITY)],
}

#: Every catalogued mistake, with answers that make it (and no other).
MISTAKES = {
    q1: {
        "python-list": [[1, 50, 181], (1, 50, 181)],
        "numpy-array": [np.array([1, 50, 181], dtype=np.int32)],
        "a-layer": [keras.layers.Embedding(182, 2)],
        "not-a-tensor": [{"ids": [1, 50, 181]}, "1, 50, 181"],
        "symbolic-tensor": [keras.Input(shape=(3,), dtype="int32")],
        "not-dense": [tf.ragged.constant([[1, 50], [181]]), tf.sparse.from_dense(tf.constant([1, 50, 181]))],
        "strings": [tf.constant(["1", "50", "181"])],
        "extra-axis": [tf.constant([[1, 50, 181]])],
        "another-order": [tf.constant([181, 50, 1])],
        "plus-one": [tf.constant([2, 51, 182])],
        "minus-one": [tf.constant([0, 49, 180])],
        "ids-missing-or-extra": [tf.constant([1, 50]), tf.constant([1, 50, 181, 258]), tf.constant([50])],
        "float-ids": [tf.constant([1.0, 50.0, 181.0])],
        "int64": [tf.constant([1, 50, 181], dtype=tf.int64)],
    },
    q2: {
        "pandas-object": [pd.Series(["Star Wars"]), pd.DataFrame({"title": ["Star Wars"]})],
        "whole-row": [pd.Series({"movie_id": 50, "title": "Star Wars", "year": 1977})],
        "empty-selection": [pd.Series([], dtype=object), pd.DataFrame({"title": []})],
        "several-cells": [pd.DataFrame({"movie_id": [50], "title": ["Star Wars"]}), pd.Series(["Star Wars", "Fargo"])],
        "pandas-array": [pd.array(["Star Wars"], dtype="string[pyarrow]")],
        "numpy-array": [np.array(["Star Wars"]), np.array(["Star Wars", "Fargo"])],
        "list-of-title": [["Star Wars"]],
        "bytes": [b"Star Wars"],
        "not-a-string": [50, None.__class__],
        "row-50": ["Legends of the Fall"],
        "id-49": ["I.Q."],
        "extra-spaces": [" Star Wars", "Star Wars\n"],
        "with-year": ["Star Wars (1977)", "Star Wars 1977"],
        "typed-title": ["Star Wars: A New Hope", "Star Wars Episode IV"],
        "other-case": ["star wars", "STAR WARS"],
        "the-id": ["50"],
    },
    q3: {
        "boolean": [True],
        "string": [f"{PER_USER:.1f}"],
        "pandas-object": [pd.Series([PER_USER, PER_USER]), pd.DataFrame({"n": [PER_USER]})],
        "one-element-array": [np.array([PER_USER])],
        "several-numbers": [np.array([PER_USER, 1.0]), [PER_USER, 2.0]],
        "not-finite": [float("nan"), np.float64("inf")],
        "not-a-number": [len, object()],
        "integer-division": [100_000 // 943, round(PER_USER), np.int64(106)],
        "integer-tensor-mean": [tf.reduce_mean(tf.constant([100, 112])), tf.constant(106, tf.int64)],
        "misrounded": [106.05, 106.1],
        "table-size-users": [100_000 / 944],
        "per-movie": [100_000 / 1_682],
        "upside-down": [943 / 100_000],
        "median": [65.0, 65],
        "number-of-ratings": [100_000],
        "averaged-stars": [3.52986, 3.588191],
        "summed-stars": [374.3224],
        "rounded-too-far": [110.0, 100.0],
        "rows-for-users": [100_000 / 100_000, 1],
        "density": [100_000 / 943 / 1_682],
    },
    q4: {
        "boolean": [np.True_],
        "string": ["0.063"],
        "pandas-object": [pd.Series([DENSITY])],
        "one-element-array": [np.array([DENSITY])],
        "several-numbers": [np.array([DENSITY, DENSITY])],
        "not-finite": [float("nan")],
        "not-a-number": [{"density": DENSITY}],
        "integer-division": [100_000 // (943 * 1_682)],
        "percentage": [100 * DENSITY],
        "empty-cells": [1 - DENSITY],
        "added-sizes": [100_000 / (943 + 1_682)],
        "upside-down": [(943 * 1_682) / 100_000],
        "missing-brackets": [100_000 / 943 * 1_682],
        "table-sizes": [100_000 / (944 * 1_683), 100_000 / (944 * 1_682)],
        "per-user": [PER_USER],
        "per-movie": [100_000 / 1_682],
        "rounded-too-far": [0.06, 0.1],
        "misrounded": [0.0631, 0.06304],
    },
}

#: Wrong answers no pitfall names: the last-resort message says where to look.
UNCATALOGUED = {
    q1: [(tf.constant([1, 2, 3]), "look at the three ids")],
    q2: [("Toy Story", "movie_id equals 50")],
    q3: [(12.0, "count the ratings"), (105.0, "count the ratings")],
    q4: [(100_000 / (943 * 100_000), "which counts"), (2.5, "not between 0 and 1")],
}


@pytest.mark.parametrize("exercise, answer", [(e, a) for e, answers in CORRECT.items() for a in answers])
def test_correct_answers_are_accepted(exercise, answer):
    result = exercise.evaluate(answer)
    assert result.status == "correct", (exercise, answer, result)


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4], ids=["q1", "q2", "q3", "q4"])
def test_every_catalogued_mistake_is_named_by_its_own_detector(exercise, names):
    messages = check_catalogue(exercise, MISTAKES[exercise], names)
    assert len(set(messages.values())) == len(messages)  # each mistake has its own message


@pytest.mark.parametrize("exercise, answer, clue", [(e, a, c) for e, pairs in UNCATALOGUED.items() for a, c in pairs])
def test_other_wrong_answers_get_a_message_that_says_where_to_look(exercise, answer, clue, names):
    result = rejected(exercise, answer, names)
    assert result.mistake is None and clue in result.message


def test_the_issue_examples_name_the_actual_mistake():
    assert "average of the stars" in message(q3, 3.588)  # was: "3.588 is not the mean number of ratings per user"
    assert "brackets" in message(q4, 100_000 / 943 * 1_682)  # was: "not between 0 and 1"
    assert "944" in message(q3, 100_000 / 944)  # the classic off-by-one: was accepted by a wide tolerance
    assert "one user or movie too many" in message(q4, 100_000 / (944 * 1_683))


def test_the_walkthrough_answers_name_their_mistake(names):
    ml = names["ml"]
    counts = ml.ratings.groupby("user_id").size()
    tensor_mean = rejected(q3, tf.reduce_mean(tf.constant(counts.values)))  # an int64 tensor: its mean is 106
    assert tensor_mean.mistake == "integer-tensor-mean" and "tf.cast" in tensor_mean.message
    assert "//" in tensor_mean.message and "round()" not in tensor_mean.message  # was: blamed // or int() or round()
    assert status(q3, tf.reduce_mean(tf.constant(counts.values, tf.float32))) == "correct"  # the fix the message names
    shown = rejected(q3, 106.05)
    assert shown.message.startswith("106.05 ") and "106.04" in shown.message  # was: "106 is not the mean..."
    assert message(q3, 943).startswith("943 is not")
    row = rejected(q2, ml.movies.loc[ml.movies.movie_id == 50].iloc[0], names)  # a whole row: .item() would fail on it
    assert row.mistake == "whole-row" and "row['title']" in row.message
    assert "1 id (" in message(q1, tf.constant([50]))  # was: "1 ids"


def test_the_second_walkthrough_answers_name_their_mistake(names):
    """Walkthrough 17, re-run after the first fix pass: each answer gets its own detector's message."""
    ml = names["ml"]
    typed = rejected(q2, "Star Wars: A New Hope", names)  # was: "the title in ml.movies has no year"
    assert typed.mistake == "typed-title" and typed.detected == ("typed-title",) and "year" not in typed.message
    assert "not as ml.movies spells its title" in typed.message
    rows = rejected(q3, len(ml.ratings) / ml.ratings.user_id.count(), names)  # count() counts rows, not users
    assert rows.mistake == "rows-for-users" and rows.detected == ("rows-for-users",) and "nunique()" in rows.message
    density = rejected(q3, ml.ratings.groupby("user_id").size().mean() / len(ml.movies), names)
    assert density.mistake == "density" and density.detected == ("density",) and "warm-up 4" in density.message
    shown = rejected(q4, 0.0631)  # the density rounded to 4 decimals is shown with its 4 decimals
    assert shown.mistake == "misrounded" and "the density is 0.0630." in shown.message


def test_numbering_follows_the_notebook():
    assert [q.title for q in (q1, q2, q3, q4)] == [
        "a tensor of movie ids",
        "the title of movie id 50",
        "ratings per user, on average",
        "how full is the rating matrix?",
    ]
    assert [q.name for q in (q1, q2, q3, q4)] == ["q1", "q2", "q3", "q4"]
    assert q4.lesson == "lesson00" and make_density_exercise().name == "q4"


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4])
def test_undone_is_not_attempted(exercise):
    assert status(exercise, ...) == "not attempted"


def test_density_exercise_is_parameterised_by_dataset_size():
    ml1m = make_density_exercise(1_000_209, 6_040, 3_883)
    assert status(ml1m, 1_000_209 / (6_040 * 3_883)) == "correct"
    assert status(ml1m, DENSITY) == "incorrect"


def test_mean_rounded_to_one_decimal_is_not_called_integer_division():
    assert status(q3, 106.0) == "correct"


def test_the_solutions_are_accepted(names):
    ml = names["ml"]
    n_ratings, n_users, n_movies = len(ml.ratings), ml.ratings.user_id.nunique(), ml.ratings.movie_id.nunique()
    assert status(q1, tf.constant([1, 50, 181], dtype=tf.int32)) == "correct"
    assert status(q2, ml.movies.loc[ml.movies.movie_id == 50, "title"].item()) == "correct"
    assert status(q3, ml.ratings.groupby("user_id").size().mean()) == "correct"
    assert status(q4, n_ratings / (n_users * n_movies)) == "correct"
    assert "average of the stars" in message(q3, ml.ratings.groupby("user_id").rating.mean().mean())
