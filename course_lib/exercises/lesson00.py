"""Warm-up exercises of lesson 00 (welcome and setup), numbered in the order they appear.

- ``q1``: warm-up 1, a tensor of movie ids (1, 50, 181) of dtype int32;
- ``q2``: warm-up 2, the title of movie **id** 50 (ids are labels, not positions);
- ``q3``: warm-up 3, the mean number of ratings per user;
- ``q4``: warm-up 4, the density of the user-movie rating matrix (:func:`make_density_exercise`).

The checks compare with ml-100k's own numbers, so they never read the notebook's variables.
"""

from __future__ import annotations

import numbers

import numpy as np

from course_lib.checks import Exercise, Mistake, show, to_numpy
from course_lib.checks import _kind as kind_of

WANTED_IDS = [1, 50, 181]

#: ml-100k's size: ratings, users, movies.
ML100K_RATINGS, ML100K_USERS, ML100K_MOVIES = 100_000, 943, 1_682


def _is_tensor(value) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "dtype") and hasattr(value, "numpy")


# --------------------------------------------------------------------------- q1


def _check_movie_ids(answer) -> str | None:
    if isinstance(answer, (list, tuple)):
        raise Mistake(f"expected a TensorFlow tensor, got a {type(answer).__name__}: wrap it in tf.constant(...)")
    if isinstance(answer, np.ndarray):
        raise Mistake("expected a TensorFlow tensor, got a NumPy array: build it with tf.constant(...)")
    if not _is_tensor(answer):
        raise Mistake(f"expected a TensorFlow tensor, got {kind_of(answer)}: use tf.constant(...)")
    try:
        values = np.asarray(answer.numpy())
    except Exception as exc:  # noqa: BLE001 - a symbolic tensor
        raise Mistake("expected a tensor that holds numbers (tf.constant), not a symbolic one") from exc
    if values.dtype.kind not in "iuf":
        raise Mistake(f"the tensor holds {values.dtype.name if values.dtype.kind != 'O' else 'strings'}, not numbers: ids are whole numbers")
    if values.shape != (3,):
        if values.size == 3 and sorted(values.ravel().tolist()) == WANTED_IDS:
            raise Mistake(f"the tensor has shape {values.shape}; a flat list of three ids has shape (3,)")
        raise Mistake(f"the tensor has shape {values.shape} and holds {show(values)}, expected the three ids {WANTED_IDS}")
    if values.tolist() != WANTED_IDS:
        if sorted(values.tolist()) == WANTED_IDS:
            raise Mistake(f"the tensor holds {values.tolist()}: the right ids in another order; expected {WANTED_IDS}")
        if (values - 1).tolist() == WANTED_IDS:
            raise Mistake(f"the tensor holds {values.tolist()}: one more than each id. Ids are labels: use them as they are")
        raise Mistake(f"the tensor holds {show(values)}, expected {WANTED_IDS} in that order")
    if answer.dtype.name != "int32":
        raise Mistake(f"the ids are right but the dtype is {answer.dtype.name}: pass dtype=tf.int32")
    return None


q1 = Exercise(
    "q1",
    "a tensor of movie ids",
    _check_movie_ids,
    hint="tf.constant(list_of_numbers, dtype=...) builds a tensor; ids are whole numbers.",
    solution="movie_ids = tf.constant([1, 50, 181], dtype=tf.int32)",
)


# --------------------------------------------------------------------------- q2


def _check_title_of_50(answer) -> str:
    if type(answer).__name__ == "Series" or type(answer).__name__ == "DataFrame":
        raise Mistake(
            f"expected the title as a string, got a pandas {type(answer).__name__}: take the one cell out of it "
            "with .item() (or .iloc[0])"
        )
    if isinstance(answer, np.ndarray) and answer.size == 1:
        raise Mistake("expected the title as a string, got a NumPy array: take its one element with .item()")
    if not isinstance(answer, str):
        raise Mistake(f"expected the title as a string, got {kind_of(answer)}: take one cell, e.g. with .item()")
    if answer == "Star Wars":
        return "Ids are labels, not positions: lesson 01 makes them row numbers of an embedding table on purpose."
    if answer == "Legends of the Fall":
        raise Mistake("that is the movie in *row* 50, whose id is 51: ids start at 1, rows at 0. Select by the movie_id column")
    if answer == "I.Q.":
        raise Mistake("that is movie id 49 (row 48 and 49 mixed up?): select the row whose movie_id equals 50")
    if answer.strip() == "Star Wars":
        raise Mistake(f"{answer!r} has extra spaces around the title: store the cell as it is")
    if answer.startswith("Star Wars"):
        raise Mistake("right movie, but the title in ml.movies has no year: the year is in its own column")
    if answer.lower() == "star wars":
        raise Mistake(f"{answer!r}: right movie, but store the title exactly as ml.movies spells it")
    if answer.isdigit() or answer.strip() == "50":
        raise Mistake(f"{answer!r} is the id; the question asks for the title of that movie")
    raise Mistake(f"{answer!r} is not the title of movie 50: select the row whose movie_id equals 50")


q2 = Exercise(
    "q2",
    "the title of movie id 50",
    _check_title_of_50,
    hint="ml.movies.loc[ml.movies.movie_id == 50, 'title'] selects by id; .iloc[50] selects by position.",
    solution="title_50 = ml.movies.loc[ml.movies.movie_id == 50, 'title'].item()",
)


# --------------------------------------------------------------------------- q3 and q4: one number


def _one_number(answer, what: str) -> tuple[float, bool]:
    """``(value, is_integer_type)``; :class:`Mistake` for anything that is not one real number."""
    if isinstance(answer, (bool, np.bool_)):
        raise Mistake(f"{what} should be a number, got a boolean")
    if isinstance(answer, str):
        raise Mistake(f"{what} should be a number, got the string {answer!r}: drop the quotes or the formatting")
    if type(answer).__name__ in ("Series", "DataFrame"):
        raise Mistake(f"{what} should be one number, got a pandas {type(answer).__name__}: reduce it (e.g. .mean()) to one value")
    value = to_numpy(answer, what)
    if value.size != 1 or value.ndim > 1:
        raise Mistake(f"{what} should be one number, got an array of shape {value.shape}")
    if value.dtype.kind not in "iuf":
        raise Mistake(f"{what} should be a number, got {kind_of(answer)}")
    number = float(value.reshape(()))
    if not np.isfinite(number):
        raise Mistake(f"{what} is {number}: check for a division by zero")
    integer = value.dtype.kind in "iu" or isinstance(answer, numbers.Integral)
    return number, integer


def _check_ratings_per_user(answer) -> str:
    value, integer = _one_number(answer, "your answer")
    per_user, per_movie = ML100K_RATINGS / ML100K_USERS, ML100K_RATINGS / ML100K_MOVIES
    if integer and value == int(per_user):
        raise Mistake(f"{value:.0f} is a whole number: the fraction was dropped (// or int() or round() without digits). Use / for the mean")
    if np.isclose(value, per_user, rtol=1e-3, atol=0.05):  # 106.045..., also 106.0 or 106.05 rounded
        return "The mean (106) is far above the median (65): a few users rate hundreds of movies."
    if np.isclose(value, per_movie, rtol=1e-3, atol=0.05):
        raise Mistake(f"{value:.2f} is ratings per *movie*: divide by the number of users")
    if np.isclose(value, ML100K_USERS / ML100K_RATINGS, rtol=1e-3):
        raise Mistake(f"{value:.4g} is users per rating: the division is upside down")
    if np.isclose(value, 65, atol=0.5):
        raise Mistake("that is the median number of ratings per user; the question asks for the mean")
    if value == ML100K_RATINGS:
        raise Mistake("100000 is the number of ratings: divide it by the number of users")
    if np.isclose(value, per_user, rtol=0.05):
        raise Mistake(f"{value:g} is close but rounded too far; keep at least one decimal (106.0)")
    raise Mistake(f"{value:.4g} is not the mean number of ratings per user (ratings divided by distinct users)")


q3 = Exercise(
    "q3",
    "ratings per user, on average",
    _check_ratings_per_user,
    hint="Count the ratings, count the distinct users, divide; or use ml.ratings.groupby('user_id').size().mean().",
    solution="ratings_per_user = ml.ratings.groupby('user_id').size().mean()  # = n_ratings / n_users",
)


def _density_checker(n_ratings: int, n_users: int, n_movies: int):
    expected = n_ratings / (n_users * n_movies)

    def check(answer):
        value, integer = _one_number(answer, "your density")
        if integer and value == 0:
            raise Mistake("0 is a whole number: floor division (//) drops the fraction. Use / for a fraction")
        if np.isclose(value, expected, rtol=1e-3, atol=5e-4):  # full precision or rounded to 3 decimals
            return f"Only {100 * expected:.1f}% of the user-movie matrix is filled: ratings are sparse."
        if np.isclose(value, 100 * expected, rtol=1e-2):
            raise Mistake(f"{value:.2f} looks like a percentage: give the fraction (between 0 and 1)")
        if np.isclose(value, 1 - expected, rtol=1e-3):
            raise Mistake("that is the fraction of *empty* cells: divide the ratings by the number of cells")
        if np.isclose(value, n_ratings / (n_users + n_movies), rtol=1e-3):
            raise Mistake("you added users and movies; the matrix has users x movies cells")
        if np.isclose(value, (n_users * n_movies) / n_ratings, rtol=1e-3):
            raise Mistake(f"{value:.4g} is cells per rating: the division is upside down")
        if value > 1 or value < 0:
            raise Mistake(f"{value:.4g} is not between 0 and 1: a fraction of cells is")
        if np.isclose(value, expected, rtol=0.2):
            raise Mistake(f"{value:g} is close but rounded too far; keep at least three decimals")
        raise Mistake(f"{value:.4g} is not ratings / (users x movies); check which counts you multiplied")

    return check


def make_density_exercise(n_ratings: int = ML100K_RATINGS, n_users: int = ML100K_USERS, n_movies: int = ML100K_MOVIES) -> Exercise:
    """Warm-up 4 (``q4``), the density exercise, for a dataset of the given size (defaults: ml-100k)."""
    return Exercise(
        "q4",
        "how full is the rating matrix?",
        _density_checker(n_ratings, n_users, n_movies),
        hint="A full matrix would hold one rating for every (user, movie) pair: users x movies cells.",
        solution="density = n_ratings / (n_users * n_movies)",
        lesson="lesson00",
    )


q4 = make_density_exercise()

__all__ = ["q1", "q2", "q3", "q4", "make_density_exercise", "WANTED_IDS"]
