"""Warm-up exercises of lesson 00 (welcome and setup)."""

from __future__ import annotations

import numpy as np

from course_lib.checks import Exercise, Mistake, expect_shape, to_numpy

WANTED_IDS = [1, 50, 181]


def _check_movie_ids(answer):
    if not hasattr(answer, "dtype") or not hasattr(answer, "numpy"):
        raise Mistake(f"expected a TensorFlow tensor, got {type(answer).__name__}: wrap the list in tf.constant(...)")
    values = expect_shape(answer, (3,), "your tensor")
    if values.tolist() != WANTED_IDS:
        raise Mistake(f"the tensor holds {values.tolist()}, expected {WANTED_IDS} in that order")
    if str(answer.dtype.name) != "int32":
        raise Mistake(f"the ids are right but the dtype is {answer.dtype.name}: pass dtype=tf.int32")


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


def _check_title_of_50(answer):
    if not isinstance(answer, str):
        raise Mistake(f"expected the title as a string, got {type(answer).__name__}: take one cell, e.g. with .item()")
    if answer == "Legends of the Fall":
        raise Mistake("that is the movie in *row* 50, whose id is 51: ids start at 1, rows at 0. Select by the movie_id column")
    if answer == "I.Q.":
        raise Mistake("that is movie id 49 (row 48 and 49 mixed up?): select the row whose movie_id equals 50")
    if answer.startswith("Star Wars") and answer != "Star Wars":
        raise Mistake("right movie, but the canonical title has no year: the year is in its own column")
    if answer != "Star Wars":
        raise Mistake(f"{answer!r} is not the title of movie 50: select the row whose movie_id equals 50")
    return "Ids are labels, not positions: lesson 01 makes them row numbers of an embedding table on purpose."


q3 = Exercise(
    "q3",
    "the title of movie id 50",
    _check_title_of_50,
    hint="ml.movies.loc[ml.movies.movie_id == 50, 'title'] selects by id; .iloc[50] selects by position.",
    solution="title_50 = ml.movies.loc[ml.movies.movie_id == 50, 'title'].item()",
)


def _check_ratings_per_user(answer):
    value = to_numpy(answer, "your answer")
    if value.shape != () or not np.issubdtype(value.dtype, np.number):
        raise Mistake(f"expected one number, got {value.dtype} of shape {value.shape}")
    value = float(value)
    per_user, per_movie = 100_000 / 943, 100_000 / 1_682
    if np.isclose(value, per_movie, rtol=1e-3):
        raise Mistake(f"{value:.2f} is ratings per *movie*: divide by the number of users")
    if value == int(per_user):
        raise Mistake(f"{value:.0f} dropped the fraction (integer division //): use / for the mean")
    if np.isclose(value, 65, atol=0.5):
        raise Mistake("that is the median number of ratings per user; the question asks for the mean")
    if not np.isclose(value, per_user, rtol=1e-3):
        raise Mistake(f"{value:.4g} is not the mean number of ratings per user")
    return "The mean (106) is far above the median (65): a few users rate hundreds of movies."


q4 = Exercise(
    "q4",
    "ratings per user, on average",
    _check_ratings_per_user,
    hint="Count the ratings, count the distinct users, divide; or use ml.ratings.groupby('user_id').size().mean().",
    solution="ratings_per_user = ml.ratings.groupby('user_id').size().mean()  # = n_ratings / n_users",
)
