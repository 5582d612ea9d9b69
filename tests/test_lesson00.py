"""The warm-up exercises of lesson 00 accept correct answers and reject realistic mistakes."""

import numpy as np
import pytest
import tensorflow as tf

from course_lib.exercises.lesson00 import make_density_exercise, q1, q2, q3, q4

DENSITY = 100_000 / (943 * 1_682)


def status(exercise, answer):
    return exercise.evaluate(answer).status


def test_q1_movie_id_tensor():
    assert status(q1, tf.constant([1, 50, 181], dtype=tf.int32)) == "correct"
    assert status(q1, tf.constant([1, 50, 181])) == "correct"  # tf.constant makes Python ints int32
    assert status(q1, tf.convert_to_tensor(np.array([1, 50, 181], dtype=np.int32))) == "correct"
    assert status(q1, ...) == "not attempted"
    wrong = {
        "int64": tf.constant([1, 50, 181], dtype=tf.int64),
        "list": [1, 50, 181],
        "numpy": np.array([1, 50, 181], dtype=np.int32),
        "order": tf.constant([181, 50, 1]),
        "shape": tf.constant([[1, 50, 181]]),
    }
    messages = {name: q1.evaluate(answer) for name, answer in wrong.items()}
    assert all(m.status == "incorrect" for m in messages.values())
    assert "dtype is int64" in messages["int64"].message
    assert "expected [1, 50, 181]" in q1.evaluate(tf.constant([1, 2, 3], dtype=tf.int64)).message
    assert "tf.constant" in messages["list"].message
    assert "shape (1, 3)" in messages["shape"].message


@pytest.mark.parametrize("answer", [DENSITY, np.float32(DENSITY), tf.constant(DENSITY), round(DENSITY, 5)])
def test_q2_density_correct_forms(answer):
    assert status(q2, answer) == "correct"


@pytest.mark.parametrize(
    "answer, clue",
    [
        (100 * DENSITY, "percentage"),
        (1 - DENSITY, "empty"),
        (100_000 / (943 * 100_000), "which counts"),
        (np.array([DENSITY, DENSITY]), "one number"),
    ],
)
def test_q2_density_mistakes(answer, clue):
    result = q2.evaluate(answer)
    assert result.status == "incorrect" and clue in result.message


def test_density_exercise_is_parameterised_by_dataset_size():
    ml1m = make_density_exercise(1_000_209, 6_040, 3_883)
    assert status(ml1m, 1_000_209 / (6_040 * 3_883)) == "correct"
    assert status(ml1m, DENSITY) == "incorrect"


def test_q3_title_by_id_not_position():
    assert status(q3, "Star Wars") == "correct"
    assert status(q3, ...) == "not attempted"
    assert "row* 50" in q3.evaluate("Legends of the Fall").message
    assert "no year" in q3.evaluate("Star Wars (1977)").message
    assert "string" in q3.evaluate(50).message
    assert q3.evaluate("Toy Story").status == "incorrect"


@pytest.mark.parametrize("answer", [100_000 / 943, np.float64(100_000 / 943), tf.constant(100_000 / 943)])
def test_q4_ratings_per_user_correct_forms(answer):
    assert status(q4, answer) == "correct"


@pytest.mark.parametrize(
    "answer, clue",
    [(100_000 / 1_682, "per *movie*"), (100_000 // 943, "integer division"), (65.0, "median"), (12.0, "not the mean")],
)
def test_q4_ratings_per_user_mistakes(answer, clue):
    result = q4.evaluate(answer)
    assert result.status == "incorrect" and clue in result.message
