"""Warm-up exercises of lesson 00 (welcome and setup), numbered in the order they appear.

- ``q1``: warm-up 1, a tensor of movie ids (1, 50, 181) of dtype int32;
- ``q2``: warm-up 2, the title of movie **id** 50 (ids are labels, not positions);
- ``q3``: warm-up 3, the mean number of ratings per user;
- ``q4``: warm-up 4, the density of the user-movie rating matrix (:func:`make_density_exercise`).

The checks compare with ml-100k's own numbers, so they never read the notebook's variables.
Each exercise's mistakes are catalogued (``qN.mistakes``): a detector and a message for each.
"""

from __future__ import annotations

import re

import numpy as np

from course_lib.checks import (
    NUMBER_PITFALLS,
    Exercise,
    Pitfall,
    describe,
    diagnose,
    facts,
    fallback,
    is_rounding_of,
    is_tensor,
    read_number,
    show,
)

WANTED_IDS = [1, 50, 181]

#: ml-100k's size: ratings, users, movies.
ML100K_RATINGS, ML100K_USERS, ML100K_MOVIES = 100_000, 943, 1_682
#: ml-100k's mean rating (stars) and the mean of the users' mean ratings (what averaging stars gives).
ML100K_MEAN_STARS, ML100K_MEAN_OF_USER_MEANS = 3.52986, 3.588191
#: ml-100k's median number of ratings per user.
ML100K_MEDIAN_PER_USER = 65


# --------------------------------------------------------------------------- q1


def _tensor_values(answer) -> np.ndarray | None:
    try:
        return np.asarray(answer.numpy())
    except Exception:  # noqa: BLE001 - a symbolic tensor or no tensor at all
        return None


def _ids_are(f, values) -> bool:
    return f.values is not None and f.values.dtype.kind in "iuf" and f.values.ravel().tolist() == list(values)


_Q1_TYPE = [
    Pitfall("python-list", lambda f: isinstance(f.answer, (list, tuple)),
            lambda f: f"expected a TensorFlow tensor, got a Python {type(f.answer).__name__}: wrap it in tf.constant(...)"),
    Pitfall("numpy-array", lambda f: isinstance(f.answer, np.ndarray),
            "expected a TensorFlow tensor, got a NumPy array: build it with tf.constant(...)"),
    Pitfall("a-layer", lambda f: type(f.answer).__module__.startswith(("keras", "tf_keras")) and not is_tensor(f.answer),
            lambda f: f"expected the tensor of ids, got {describe(f.answer)}: the ids go into tf.constant(...), "
                      "not into a layer"),
    Pitfall("not-a-tensor", lambda f: not is_tensor(f.answer) and not isinstance(f.answer, (list, tuple, np.ndarray))
            and not type(f.answer).__module__.startswith(("keras", "tf_keras")),
            lambda f: f"expected a TensorFlow tensor, got {describe(f.answer)}: use tf.constant(...)"),
    Pitfall("not-dense", lambda f: type(f.answer).__name__ in ("RaggedTensor", "SparseTensor"),
            lambda f: f"expected a plain tensor, got a {type(f.answer).__name__}: three ids fit a plain one, "
                      "tf.constant([1, 50, 181], dtype=tf.int32)"),
    Pitfall("symbolic-tensor", lambda f: is_tensor(f.answer) and f.values is None
            and type(f.answer).__name__ not in ("RaggedTensor", "SparseTensor"),
            "expected a tensor that holds numbers (tf.constant), not a symbolic one such as keras.Input: "
            "tf.constant([1, 50, 181], dtype=tf.int32)"),
]

_Q1_VALUE = [
    Pitfall("strings", lambda f: f.values.dtype.kind in "SU" or f.values.dtype.kind == "O"
            and all(isinstance(v, (bytes, str)) for v in f.values.ravel()),
            "the tensor holds strings, not numbers: write the ids without quotes, tf.constant([1, 50, 181], ...)"),
    Pitfall("extra-axis", lambda f: f.values.shape != (3,) and _ids_are(f, WANTED_IDS),
            lambda f: f"the tensor has shape {f.values.shape}: a flat list of three ids has shape (3,); "
                      "drop the extra brackets"),
    Pitfall("another-order", lambda f: f.values.shape == (3,) and f.values.tolist() != WANTED_IDS
            and sorted(f.values.tolist()) == WANTED_IDS,
            lambda f: f"the tensor holds {f.values.tolist()}: the right ids in another order; expected {WANTED_IDS}"),
    Pitfall("plus-one", lambda f: _ids_are(f, [i + 1 for i in WANTED_IDS]),
            lambda f: f"the tensor holds {f.values.tolist()}: one more than each id. Ids are labels: use them as they are"),
    Pitfall("minus-one", lambda f: _ids_are(f, [i - 1 for i in WANTED_IDS]),
            lambda f: f"the tensor holds {f.values.tolist()}: one less than each id (row positions of ml.movies?). "
                      "The ids themselves are 1, 50 and 181"),
    Pitfall("ids-missing-or-extra", lambda f: f.values.ndim == 1 and f.values.size != 3
            and set(f.values.tolist()) & set(WANTED_IDS),
            lambda f: f"the tensor holds {f.values.size} id{'' if f.values.size == 1 else 's'} ({show(f.values)}); "
                      "the prompt asks for exactly three: 1, 50 and 181"),
    Pitfall("float-ids", lambda f: _ids_are(f, WANTED_IDS) and f.values.dtype.kind == "f",
            lambda f: f"the ids are right but the tensor is {f.answer.dtype.name}: ids are whole numbers, pass "
                      "dtype=tf.int32 (or write them without a decimal point)"),
    Pitfall("int64", lambda f: _ids_are(f, WANTED_IDS) and f.answer.dtype.name != "int32" and f.values.dtype.kind in "iu",
            lambda f: f"the ids are right but the dtype is {f.answer.dtype.name}: pass dtype=tf.int32"),
]


def _check_movie_ids(answer) -> str | None:
    values = _tensor_values(answer) if is_tensor(answer) else None
    found = facts(answer=answer, values=values)
    diagnose(_Q1_TYPE, found)
    diagnose(_Q1_VALUE, found)
    if values.tolist() != WANTED_IDS:
        raise fallback(f"the tensor holds {show(values)}, expected {WANTED_IDS} in that order",
                       "look at the three ids the prompt names (Toy Story, Star Wars, Return of the Jedi)")
    return None


q1 = Exercise(
    "q1",
    "a tensor of movie ids",
    _check_movie_ids,
    hint="tf.constant(list_of_numbers, dtype=...) builds a tensor; ids are whole numbers.",
    solution="movie_ids = tf.constant([1, 50, 181], dtype=tf.int32)",
    mistakes=[*_Q1_TYPE, *_Q1_VALUE],
)


# --------------------------------------------------------------------------- q2

_STAR_WARS = "Star Wars"

def _is_pandas(answer) -> bool:
    return type(answer).__module__.startswith("pandas")


def _is_movie_row(answer) -> bool:
    """A Series that is one row of ml.movies (its index holds the column names)."""
    return type(answer).__name__ == "Series" and "title" in list(answer.index)


_SELECT = "ml.movies.loc[ml.movies.movie_id == 50, 'title'].item()"

_Q2 = [
    Pitfall("pandas-object", lambda f: type(f.answer).__name__ in ("Series", "DataFrame") and np.size(f.answer) == 1,
            lambda f: f"expected the title as a string, got a pandas {type(f.answer).__name__} holding it: take the one "
                      "cell out of it with " + (".item()" if hasattr(f.answer, "item") else ".iloc[0, 0]")),
    Pitfall("whole-row", lambda f: _is_movie_row(f.answer) and np.size(f.answer) > 1,
            "expected the title as a string, got a whole row of ml.movies (every column of one movie): take its "
            "title, row['title'], or select the title column in the first place: " + _SELECT),
    Pitfall("empty-selection", lambda f: _is_pandas(f.answer) and np.size(f.answer) == 0,
            lambda f: f"your selection is an empty pandas {type(f.answer).__name__}: no row matched. Compare the "
                      "movie_id column with the number 50: " + _SELECT),
    Pitfall("several-cells", lambda f: _is_pandas(f.answer) and np.size(f.answer) > 1 and not _is_movie_row(f.answer),
            lambda f: f"expected the title as a string, got a pandas {type(f.answer).__name__} of {np.size(f.answer)} "
                      "values: select the one title cell, " + _SELECT),
    Pitfall("pandas-array", lambda f: _is_pandas(f.answer) and np.size(f.answer) == 1
            and type(f.answer).__name__ not in ("Series", "DataFrame"),
            lambda f: f"expected the title as a string, got a pandas {type(f.answer).__name__} holding it (.values "
                      "makes one): take its element with [0], or select with " + _SELECT),
    Pitfall("numpy-array", lambda f: isinstance(f.answer, np.ndarray),
            lambda f: "expected the title as a string, got a NumPy array: "
                      + ("take its one element with .item()" if f.answer.size == 1 else
                         f"it holds {f.answer.size} values; select the one title cell, " + _SELECT)),
    Pitfall("list-of-title", lambda f: isinstance(f.answer, (list, tuple)) and len(f.answer) == 1,
            lambda f: f"expected the title as a string, got a {type(f.answer).__name__} holding it: take its element "
                      "([0]), or select with .item() instead of .tolist()"),
    Pitfall("bytes", lambda f: isinstance(f.answer, bytes), "that is bytes (b'...'), not a string: decode it or store the str cell"),
    Pitfall("not-a-string", lambda f: not isinstance(f.answer, (str, bytes, np.ndarray, list, tuple))
            and not _is_pandas(f.answer),
            lambda f: f"expected the title as a string, got {describe(f.answer)}: select the title cell, " + _SELECT),
]

_Q2_VALUE = [  # on a str answer
    Pitfall("row-50", lambda f: f.answer == "Legends of the Fall",
            "that is the movie in *row* 50, whose id is 51: ids start at 1, rows at 0. Select by the movie_id column"),
    Pitfall("id-49", lambda f: f.answer == "I.Q.",
            "that is movie id 49, in row 48: select the row whose movie_id equals 50 instead of counting positions"),
    Pitfall("extra-spaces", lambda f: f.answer != _STAR_WARS and f.answer.strip() == _STAR_WARS,
            lambda f: f"{f.answer!r} has extra spaces around the title: store the cell as it is"),
    Pitfall("with-year", lambda f: re.fullmatch(re.escape(_STAR_WARS) + r"\s*\(?\d{4}\)?", f.answer.strip()) is not None,
            "right movie, but the title in ml.movies has no year: the year is in its own column"),
    Pitfall("typed-title", lambda f: _STAR_WARS.lower() in f.answer.lower() and f.answer.strip().lower() != _STAR_WARS.lower()
            and re.fullmatch(re.escape(_STAR_WARS) + r"\s*\(?\d{4}\)?", f.answer.strip()) is None,
            lambda f: f"{f.answer!r} names the right movie, but not as ml.movies spells its title: store the title "
                      "cell itself, selected by id, instead of typing a title: " + _SELECT),
    Pitfall("other-case", lambda f: f.answer.lower() == _STAR_WARS.lower() and f.answer != _STAR_WARS,
            lambda f: f"{f.answer!r}: right movie, but store the title exactly as ml.movies spells it"),
    Pitfall("the-id", lambda f: f.answer.strip() == "50",
            lambda f: f"{f.answer!r} is the id; the question asks for the title of that movie"),
]


def _check_title_of_50(answer) -> str:
    diagnose(_Q2, facts(answer=answer))
    diagnose(_Q2_VALUE, facts(answer=answer))
    if answer == _STAR_WARS:
        return "Ids are labels, not positions: lesson 01 makes them row numbers of an embedding table on purpose."
    raise fallback(f"{answer!r} is not the title of movie 50", "select the row whose movie_id equals 50 "
                   "(ml.movies.movie_id == 50), then its title column")


q2 = Exercise(
    "q2",
    "the title of movie id 50",
    _check_title_of_50,
    hint="ml.movies.loc[ml.movies.movie_id == 50, 'title'] selects by id; .iloc[50] selects by position.",
    solution="title_50 = ml.movies.loc[ml.movies.movie_id == 50, 'title'].item()",
    mistakes=[*_Q2, *_Q2_VALUE],
)


# --------------------------------------------------------------------------- q3 and q4: one number


def _close(value: float, target: float, rtol: float = 1e-3) -> bool:
    return bool(np.isclose(value, target, rtol=rtol, atol=0.0))


def _rounded_coarser(value: float, expected: float, decimals: int) -> bool:
    """``value`` is ``expected`` rounded to fewer than ``decimals`` decimals (and is not 0)."""
    return value != 0 and any(value == round(expected, d) and round(expected, d) != round(expected, decimals)
                               for d in range(-3, decimals))


def _decimals(value: float) -> int:
    """How many decimals a float as the learner wrote it has (106.05: 2), from its shortest repr."""
    text = repr(float(value))
    return 0 if "e" in text or "." not in text else len(text.split(".")[1].rstrip("0"))


def _misrounded(value: float, expected: float) -> bool:
    """``value`` has a few decimals and lies within one unit of its last decimal of ``expected``, but is not its rounding."""
    digits = _decimals(value)
    return 0 < digits <= 6 and abs(value - expected) <= 10.0 ** -digits and value != round(expected, digits)


PER_USER = ML100K_RATINGS / ML100K_USERS

_Q3 = [
    Pitfall("integer-tensor-mean", lambda f: f.number.is_integer_type and is_tensor(f.number.original)
            and f.value == int(PER_USER),
            lambda f: f"{f.value} is a whole number because the mean of an integer tensor stays an integer: "
                      f"tf.reduce_mean of {f.number.original.dtype.name} counts divides like //. Cast the counts to "
                      "float first, tf.reduce_mean(tf.cast(counts, tf.float32)), or take the mean in pandas (.mean())"),
    Pitfall("integer-division", lambda f: f.number.is_integer_type and f.value == int(PER_USER)
            and not is_tensor(f.number.original),
            lambda f: f"{f.value} is a whole number: the fraction was dropped (// or int() or round() without "
                      "digits). Use / for the mean"),
    Pitfall("table-size-users", lambda f: any(_close(f.value, ML100K_RATINGS / n, 1e-4) for n in (ML100K_USERS + 1, ML100K_USERS - 1)),
            lambda f: f"{f.value:.4g} divides by {round(ML100K_RATINGS / f.value)} users; ml-100k has {ML100K_USERS}: "
                      "count the distinct users (nunique()), not the largest id + 1"),
    Pitfall("per-movie", lambda f: _close(f.value, ML100K_RATINGS / ML100K_MOVIES),
            lambda f: f"{f.value:.2f} is ratings per *movie*: divide by the number of users"),
    Pitfall("upside-down", lambda f: _close(f.value, ML100K_USERS / ML100K_RATINGS),
            lambda f: f"{f.value:.4g} is users per rating: the division is upside down"),
    Pitfall("rows-for-users", lambda f: f.value == 1,
            lambda f: f"{show(f.number.original)} is the number of ratings divided by itself: .count(), len() and .size "
                      "count rows, one per rating, not users. Count the distinct users with ml.ratings.user_id.nunique(), then divide"),
    Pitfall("density", lambda f: _close(f.value, ML100K_RATINGS / (ML100K_USERS * ML100K_MOVIES), 1e-3),
            lambda f: f"{f.value:.4g} also divides by the number of movies: that is the density of the rating matrix "
                      "(warm-up 4). Ratings per user divides the ratings by the number of users only"),
    Pitfall("median", lambda f: abs(f.value - ML100K_MEDIAN_PER_USER) <= 0.5,
            "that is the median number of ratings per user; the question asks for the mean (.mean(), not .median())"),
    Pitfall("number-of-ratings", lambda f: f.value == ML100K_RATINGS,
            "100000 is the number of ratings: divide it by the number of users"),
    Pitfall("averaged-stars", lambda f: any(_close(f.value, s, 2e-3) for s in (ML100K_MEAN_STARS, ML100K_MEAN_OF_USER_MEANS)),
            lambda f: f"{f.value:.3f} is an average of the stars (the rating column's values); the question counts "
                      "ratings: count each user's ratings (groupby('user_id').size()), then average those counts"),
    Pitfall("summed-stars", lambda f: _close(f.value, ML100K_MEAN_STARS * PER_USER),
            lambda f: f"{f.value:.4g} sums the stars of each user; count the ratings instead (.size() or len, not .sum())"),
    Pitfall("rounded-too-far", lambda f: _rounded_coarser(f.value, PER_USER, 1),
            lambda f: f"{f.value:g} is the mean rounded too far; keep at least one decimal ({round(PER_USER, 1)})"),
    Pitfall("misrounded", lambda f: not f.number.is_integer_type and _misrounded(f.value, PER_USER),
            lambda f: f"{show(f.value)} is close to the mean but not a rounding of it: rounded to "
                      f"{_decimals(f.value)} decimal{'s' if _decimals(f.value) > 1 else ''} the mean is "
                      f"{PER_USER:.{_decimals(f.value)}f}. Round once, from the unrounded value (or give it unrounded)"),
]


def _check_ratings_per_user(answer) -> str:
    number = read_number(answer, "your answer")
    value = number.value
    if not number.is_integer_type and is_rounding_of(value, PER_USER, decimals=1):  # 106.045..., 106.0, 106.04
        return "The mean (106) is far above the median (65): a few users rate hundreds of movies."
    diagnose(_Q3, facts(number=number, value=value))
    raise fallback(f"{show(value)} is not the mean number of ratings per user",
                   "count the ratings (len(ml.ratings)), count the distinct users (ml.ratings.user_id.nunique()) and divide")


q3 = Exercise(
    "q3",
    "ratings per user, on average",
    _check_ratings_per_user,
    hint="Count the ratings, count the distinct users, divide; or use ml.ratings.groupby('user_id').size().mean().",
    solution="ratings_per_user = ml.ratings.groupby('user_id').size().mean()  # = n_ratings / n_users",
    mistakes=[*NUMBER_PITFALLS, *_Q3],
)


def _density_pitfalls(n_ratings: int, n_users: int, n_movies: int) -> list[Pitfall]:
    expected = n_ratings / (n_users * n_movies)
    cells = n_users * n_movies
    return [
        Pitfall("integer-division", lambda f: f.number.is_integer_type and f.value == 0,
                "0 is a whole number: floor division (//) drops the fraction. Use / for a fraction"),
        Pitfall("percentage", lambda f: _close(f.value, 100 * expected, 1e-2),
                lambda f: f"{f.value:.2f} looks like a percentage: give the fraction (between 0 and 1)"),
        Pitfall("empty-cells", lambda f: _close(f.value, 1 - expected),
                "that is the fraction of *empty* cells: divide the ratings by the number of cells"),
        Pitfall("added-sizes", lambda f: _close(f.value, n_ratings / (n_users + n_movies)),
                "you added users and movies; the matrix has users x movies cells: n_ratings / (n_users * n_movies)"),
        Pitfall("upside-down", lambda f: _close(f.value, cells / n_ratings),
                lambda f: f"{f.value:.4g} is cells per rating: the division is upside down"),
        Pitfall("missing-brackets", lambda f: _close(f.value, n_ratings / n_users * n_movies),
                lambda f: f"{f.value:.4g} is n_ratings / n_users * n_movies: Python divides by n_users and then "
                          "*multiplies* by n_movies. Put the cells in brackets: n_ratings / (n_users * n_movies)"),
        Pitfall("table-sizes", lambda f: any(_close(f.value, n_ratings / (u * m), 1e-4) for u, m in
                                             ((n_users + 1, n_movies + 1), (n_users + 1, n_movies), (n_users, n_movies + 1))),
                lambda f: f"{f.value:.6f} counts one user or movie too many (the largest id + 1, a table size): the "
                          f"matrix has {n_users} x {n_movies} cells, one per real user and movie"),
        Pitfall("per-user", lambda f: _close(f.value, n_ratings / n_users),
                lambda f: f"{f.value:.4g} is ratings per user; the fraction of cells also divides by the number of movies"),
        Pitfall("per-movie", lambda f: _close(f.value, n_ratings / n_movies),
                lambda f: f"{f.value:.4g} is ratings per movie; the fraction of cells also divides by the number of users"),
        Pitfall("rounded-too-far", lambda f: _rounded_coarser(f.value, expected, 3),
                lambda f: f"{f.value:g} is the density rounded too far; keep at least three decimals ({round(expected, 3)})"),
        Pitfall("misrounded", lambda f: not f.number.is_integer_type and _decimals(f.value) >= 3
                and _misrounded(f.value, expected),
                lambda f: f"{show(f.value)} is close to the density but not a rounding of it: rounded to "
                          f"{_decimals(f.value)} decimals the density is {expected:.{_decimals(f.value)}f}. Round "
                          "once, from the unrounded value (or give it unrounded)"),
    ]


def _density_checker(n_ratings: int, n_users: int, n_movies: int, pitfalls: list[Pitfall]):
    expected = n_ratings / (n_users * n_movies)

    def check(answer):
        number = read_number(answer, "your density")
        value = number.value
        if not number.is_integer_type and is_rounding_of(value, expected, decimals=3):  # full precision or rounded
            return f"Only {100 * expected:.1f}% of the user-movie matrix is filled: ratings are sparse."
        diagnose(pitfalls, facts(number=number, value=value))
        if not 0 <= value <= 1:
            raise fallback(f"{show(value)} is not between 0 and 1, so it is not a fraction of cells",
                           "divide the number of ratings by the number of cells, n_users * n_movies")
        raise fallback(f"{show(value)} is not ratings / (users x movies)", "check which counts you divided and multiplied")

    return check


def make_density_exercise(n_ratings: int = ML100K_RATINGS, n_users: int = ML100K_USERS, n_movies: int = ML100K_MOVIES) -> Exercise:
    """Warm-up 4 (``q4``), the density exercise, for a dataset of the given size (defaults: ml-100k)."""
    pitfalls = _density_pitfalls(n_ratings, n_users, n_movies)
    return Exercise(
        "q4",
        "how full is the rating matrix?",
        _density_checker(n_ratings, n_users, n_movies, pitfalls),
        hint="A full matrix would hold one rating for every (user, movie) pair: users x movies cells.",
        solution="density = n_ratings / (n_users * n_movies)",
        lesson="lesson00",
        mistakes=[*NUMBER_PITFALLS, *pitfalls],
    )


q4 = make_density_exercise()

__all__ = ["q1", "q2", "q3", "q4", "make_density_exercise", "WANTED_IDS"]
