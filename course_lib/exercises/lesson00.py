"""Warm-up exercises of lesson 00 (welcome and setup)."""

from __future__ import annotations

import numpy as np

from course_lib.checks import Exercise, Mistake, expect_shape, to_numpy

WANTED_IDS = [1, 50, 181]


def _check_movie_ids(answer):
    if not hasattr(answer, "dtype") or not hasattr(answer, "numpy"):
        raise Mistake(f"expected a TensorFlow tensor, got {type(answer).__name__}: wrap the list in tf.constant(...)")
    values = expect_shape(answer, (3,), "your tensor")
    if str(answer.dtype.name) != "int32":
        raise Mistake(f"the ids are right but the dtype is {answer.dtype.name}: pass dtype=tf.int32")
    if values.tolist() != WANTED_IDS:
        raise Mistake(f"the tensor holds {values.tolist()}, expected {WANTED_IDS} in that order")


q1 = Exercise(
    "q1",
    "a tensor of movie ids",
    _check_movie_ids,
    hint="tf.constant(list_of_numbers, dtype=...) builds a tensor; ids are whole numbers.",
    solution="movie_ids = tf.constant([1, 50, 181], dtype=tf.int32)",
)


def _density_checker(n_ratings: int, n_users: int, n_movies: int):
    expected = n_ratings / (n_users * n_movies)

    def check(answer):
        value = to_numpy(answer, "your density")
        if value.shape != ():
            raise Mistake(f"expected one number, got an array of shape {value.shape}")
        if not np.issubdtype(value.dtype, np.number):
            raise Mistake(f"expected a number, got {value.dtype}")
        value = float(value)
        if np.isclose(value, 100 * expected, rtol=1e-3):
            raise Mistake(f"{value:.2f} looks like a percentage: give the fraction (between 0 and 1)")
        if np.isclose(value, 1 - expected, rtol=1e-3):
            raise Mistake("that is the fraction of *empty* cells: divide the ratings by the number of cells")
        if not np.isclose(value, expected, rtol=1e-3):
            raise Mistake(f"{value:.4g} is not ratings / (users x movies); check which counts you multiplied")
        return f"Only {100 * expected:.1f}% of the user-movie matrix is filled: ratings are sparse."

    return check


def make_density_exercise(n_ratings: int = 100_000, n_users: int = 943, n_movies: int = 1_682) -> Exercise:
    """The density exercise for a dataset of the given size (defaults: ml-100k)."""
    return Exercise(
        "q2",
        "how full is the rating matrix?",
        _density_checker(n_ratings, n_users, n_movies),
        hint="A full matrix would hold one rating for every (user, movie) pair: users x movies cells.",
        solution="density = len(ml.ratings) / (ml.ratings.user_id.nunique() * len(ml.movies))",
    )


q2 = make_density_exercise()
