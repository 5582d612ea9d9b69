"""The warm-up exercises of lesson 00 accept correct answers and reject realistic mistakes.

Numbering follows the notebook: q1 = warm-up 1 (tensor of ids), q2 = warm-up 2 (title of id 50),
q3 = warm-up 3 (ratings per user), q4 = warm-up 4 (density).
"""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from exercise_helpers import message, status

from course_lib.exercises.lesson00 import make_density_exercise, q1, q2, q3, q4

DENSITY = 100_000 / (943 * 1_682)
PER_USER = 100_000 / 943

CORRECT = {
    q1: [
        tf.constant([1, 50, 181], dtype=tf.int32),
        tf.constant([1, 50, 181]),  # tf.constant makes Python ints int32
        tf.convert_to_tensor(np.array([1, 50, 181], dtype=np.int32)),
        tf.cast(tf.constant([1.0, 50.0, 181.0]), tf.int32),
        tf.Variable([1, 50, 181]),  # a variable holding the ids works wherever the tensor does
    ],
    q2: ["Star Wars", np.str_("Star Wars"), pd.Series(["Star Wars"]).item()],
    q3: [PER_USER, np.float64(PER_USER), tf.constant(PER_USER), round(PER_USER, 1), round(PER_USER, 2), np.float32(PER_USER)],
    q4: [DENSITY, np.float32(DENSITY), tf.constant(DENSITY), round(DENSITY, 5), round(DENSITY, 3), np.array(DENSITY)],
}

WRONG = {
    q1: [
        (tf.constant([1, 50, 181], dtype=tf.int64), "dtype is int64"),
        (tf.constant([1.0, 50.0, 181.0]), "dtype is float32"),
        ([1, 50, 181], "tf.constant"),
        (np.array([1, 50, 181], dtype=np.int32), "NumPy array"),
        (tf.constant([181, 50, 1]), "another order"),
        (tf.constant([[1, 50, 181]]), "shape (1, 3)"),
        (tf.constant([2, 51, 182]), "one more than each id"),
        (tf.constant([1, 2, 3], dtype=tf.int64), "expected [1, 50, 181]"),
        (tf.constant(["1", "50", "181"]), "not numbers"),
        (tf.keras.layers.Embedding(182, 2), "Embedding object"),
    ],
    q2: [
        ("Legends of the Fall", "row* 50"),
        ("I.Q.", "id 49"),
        ("Star Wars (1977)", "no year"),
        ("star wars", "exactly"),
        (" Star Wars", "extra spaces"),
        ("50", "the id"),
        (50, "string"),
        (pd.Series(["Star Wars"]), ".item()"),
        (np.array(["Star Wars"]), ".item()"),
        ("Toy Story", "movie_id equals 50"),
    ],
    q3: [
        (100_000 / 1_682, "per *movie*"),
        (100_000 // 943, "fraction was dropped"),
        (round(PER_USER), "fraction was dropped"),
        (np.int64(106), "fraction was dropped"),
        (65.0, "median"),
        (943 / 100_000, "upside down"),
        (100_000, "number of ratings"),
        (105.0, "rounded too far"),
        (f"{PER_USER:.1f}", "string"),
        (pd.Series([PER_USER, PER_USER]), "pandas Series"),
        (12.0, "not the mean"),
    ],
    q4: [
        (100 * DENSITY, "percentage"),
        (1 - DENSITY, "empty"),
        (100_000 // (943 * 1_682), "floor division"),
        (100_000 / (943 + 1_682), "added users and movies"),
        ((943 * 1_682) / 100_000, "upside down"),
        (0.06, "rounded too far"),
        (100_000 / (943 * 100_000), "which counts"),
        (np.array([DENSITY, DENSITY]), "one number"),
        ("0.063", "string"),
        (float("nan"), "division by zero"),
    ],
}


@pytest.mark.parametrize("exercise, answer", [(e, a) for e, answers in CORRECT.items() for a in answers])
def test_correct_answers_are_accepted(exercise, answer):
    result = exercise.evaluate(answer)
    assert result.status == "correct", (exercise, answer, result)


@pytest.mark.parametrize("exercise, answer, clue", [(e, a, c) for e, pairs in WRONG.items() for a, c in pairs])
def test_wrong_answers_are_rejected_with_a_diagnosis(exercise, answer, clue):
    assert clue in message(exercise, answer)


def test_every_exercise_has_enough_wrong_and_correct_answers():
    for exercise in (q1, q2, q3, q4):
        assert len(WRONG[exercise]) >= 8 and len(CORRECT[exercise]) >= 2, exercise


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
