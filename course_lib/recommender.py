"""The course's movie recommender: split, baselines, models, training and metrics (lesson 04).

Everything here is backend-agnostic Keras 3: the models use ``keras.layers`` and
``keras.ops`` only, never ``tensorflow`` directly, so the same code trains with
``KERAS_BACKEND=tensorflow`` (the lessons), ``jax`` or ``torch`` (the benchmark,
``python -m course_lib.benchmark``). Baselines and metrics are plain NumPy.

The pieces, in the order lesson 04 uses them:

- :func:`split_ratings`: a fixed-seed random split into training, validation and test ratings;
- :func:`rmse`, :func:`mae`, :func:`global_mean_baseline`, :func:`fit_bias_baseline`,
  :func:`tune_bias_baseline`: the star-scale metrics and the two baselines every model must beat;
- :func:`build_rating_model`, :func:`train_rating_model`, :func:`predict_ratings`: biased
  matrix factorisation (user and movie embeddings, a per-row dot product, user and movie
  biases and the global mean, a ``(batch, 1)`` output) trained with ``fit``, large batches and
  early stopping; its layer names are the constants :data:`USER_EMBEDDING`,
  :data:`MOVIE_EMBEDDING`, :data:`USER_BIAS`, :data:`MOVIE_BIAS`, ... (a contract with
  :func:`rating_scorer` and lesson 05's ``LayoutMap``);
- :func:`known_items_mask`, :func:`top_n`, :func:`popularity_scores`, :func:`rating_scorer`,
  :func:`ranking_metrics`: top-N lists and full-catalogue Recall@k and NDCG@k;
- :func:`export_projector_tsv`: the learned vectors for the Embedding Projector.

The two-tower retrieval model, its loss and its serving live in :mod:`course_lib.retrieval`;
cosine neighbours and the 2-D map of vectors in :mod:`course_lib.vectors`.

Biased matrix factorisation is the model of Koren, Bell and Volinsky, "Matrix Factorization
Techniques for Recommender Systems", IEEE Computer 42(8), 2009. Recall and NDCG are defined
as in Järvelin and Kekäläinen, "Cumulated gain-based evaluation of IR techniques", ACM TOIS
20(4), 2002, NDCG with the ``1 / log2(rank + 1)`` discount of Burges et al., "Learning to Rank
using Gradient Descent", ICML 2005 (Järvelin and Kekäläinen discount by ``1 / log_b(rank)``
from rank ``b`` on).
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from keras import ops

from course_lib import validation as v
from course_lib.features import MaskedPooling

__all__ = [
    "TrainConfig", "CONFIGS", "LESSON_CONFIGS", "Split", "split_ratings", "model_inputs", "rmse", "mae",
    "global_mean_baseline", "BiasBaseline", "fit_bias_baseline", "tune_bias_baseline", "RowDot", "AddBiases",
    "rated_movies_table", "RatedMovies", "implicit_weights", "ImplicitMatmul", "build_rating_model", "build_model_for", "EpochTimer", "train_rating_model", "predict_ratings",
    "USER_EMBEDDING", "MOVIE_EMBEDDING", "USER_BIAS", "MOVIE_BIAS", "INTERACTION", "RATING", "RATED_MOVIES",
    "IMPLICIT_EMBEDDING", "IMPLICIT_MEAN", "IMPLICIT_MATMUL", "USER_TOTAL", "EMBEDDING_TABLES",
    "known_items_mask", "top_n", "popularity_scores", "ranking_metrics", "rating_scorer", "export_projector_tsv",
]  # fmt: skip

_RATING_COLUMNS = ("user_id", "movie_id", "rating")
IMPLICIT_NORMALIZATIONS = ("mean", "sqrt")
IMPLICIT_METHODS = ("gather", "matmul")

# Layer names of the rating model (:func:`build_rating_model`). They are a contract: :func:`rating_scorer`
# reads the tables by these names, lesson 05's ``LayoutMap`` keys and the benchmark's sharding are
# ``f"{USER_EMBEDDING}/embeddings"``, and the tests look layers up by them. Name them here only.
USER_EMBEDDING = "user_embedding"  #: the user table p, (n_users + 1, dim)
MOVIE_EMBEDDING = "movie_embedding"  #: the movie table q, (n_movies + 1, dim)
USER_BIAS = "user_bias"  #: the user biases b_u, an (n_users + 1, 1) Embedding
MOVIE_BIAS = "movie_bias"  #: the movie biases b_m, an (n_movies + 1, 1) Embedding
INTERACTION = "interaction"  #: the :class:`RowDot` layer, p_u · q_m
RATING = "rating"  #: the :class:`AddBiases` output layer (holds ``global_mean``)
RATED_MOVIES = "rated_movies"  #: implicit term, "gather" method: the :class:`RatedMovies` history table
IMPLICIT_EMBEDDING = "implicit_embedding"  #: implicit term, "gather" method: the second movie table y
IMPLICIT_MEAN = "implicit_mean"  #: implicit term, "gather" method: the ``MaskedPooling`` combiner
IMPLICIT_MATMUL = "implicit_matmul"  #: implicit term, "matmul" method: the :class:`ImplicitMatmul` layer
USER_TOTAL = "user_total"  #: p_u plus the implicit term
#: The two big tables, the ones worth sharding (lesson 05, ``python -m course_lib.benchmark --devices N``).
EMBEDDING_TABLES = (USER_EMBEDDING, MOVIE_EMBEDDING)


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of the rating model, chosen on the validation slice (never on test).

    Every field is checked when the config is made: sizes must be positive whole numbers
    (``history_length`` may be 0), ``learning_rate`` > 0, penalties >= 0, ``plateau_factor``
    in [0, 1); otherwise TypeError/ValueError naming the field.

    Attributes:
        dim: embedding dimension (numbers per user and per movie).
        l2: per-example L2 penalty on the looked-up user and movie vectors.
        bias_l2: per-example L2 penalty on the looked-up user and movie biases.
        learning_rate: Adam's step size.
        batch_size: ratings per gradient step.
        epochs: upper limit; early stopping usually ends training sooner.
        patience: epochs without a better validation RMSE before stopping.
        plateau_factor: when > 0, multiply the learning rate by this factor after each epoch
            without a better validation RMSE (``ReduceLROnPlateau``, patience 1).
        history_length: 0 for plain biased matrix factorisation; ``L > 0`` adds the implicit
            feedback term (:func:`rated_movies_table`, :class:`~course_lib.features.MaskedPooling`): each user is also
            the mean of the vectors of up to ``L`` movies they rated in training (all of them
            when ``L`` is at least the longest training history).
        implicit_l2: per-example L2 penalty on the implicit-feedback movie vectors (``"gather"``
            method only).
        implicit_normalization: how the implicit vectors of a user's ``n`` listed movies are
            combined: ``"mean"`` (their sum divided by ``n``) or ``"sqrt"`` (divided by
            ``sqrt(n)``, as in Koren 2008's SVD++: users with long histories get a larger term).
        implicit_method: how the term is computed; both give the same numbers.
            ``"gather"`` looks up a (batch, L, dim) block of movie vectors per step and averages
            it under the padding mask (lesson 02's masking); ``"matmul"`` multiplies a fixed
            (n_users + 1, n_movies + 1) weight matrix by the implicit table once per step and
            takes the batch's rows, which is much faster when users x movies is small (ml-100k)
            and makes long histories cheap. See :func:`build_rating_model`.
        jit_compile: compile the training step with XLA (``Model.compile(jit_compile=...)``).
            Keras turns XLA on by itself only on a GPU (``"auto"``); on a CPU it makes the
            TensorFlow step several times faster (README, "The recommender benchmark"). Ignored
            (off) on the PyTorch backend, where it would mean ``torch.compile``.
        steps_per_execution: training steps run per call into the compiled function (fewer
            Python round trips per epoch; callbacks still see every epoch).
    """

    dim: int = 32
    l2: float = 0.1
    bias_l2: float = 0.0
    learning_rate: float = 0.01
    batch_size: int = 2048
    epochs: int = 40
    patience: int = 3
    plateau_factor: float = 0.0
    history_length: int = 0
    implicit_l2: float = 0.0
    implicit_normalization: str = "mean"
    implicit_method: str = "gather"
    jit_compile: bool = True
    steps_per_execution: int = 32

    def __post_init__(self):
        for name in ("dim", "batch_size", "epochs", "patience", "steps_per_execution"):
            v.check_size(getattr(self, name), f"TrainConfig.{name}")
        v.check_size(self.history_length, "TrainConfig.history_length", minimum=0, hint="0 turns implicit feedback off")
        v.check_positive(self.learning_rate, "TrainConfig.learning_rate")
        for name in ("l2", "bias_l2", "implicit_l2", "plateau_factor"):
            v.check_positive(getattr(self, name), f"TrainConfig.{name}", allow_zero=True)
        if self.plateau_factor >= 1:
            raise ValueError(f"TrainConfig.plateau_factor={self.plateau_factor!r} must be < 1 (it shrinks the "
                             "learning rate); use 0 to turn ReduceLROnPlateau off")  # fmt: skip
        v.check_bool(self.jit_compile, "TrainConfig.jit_compile")
        v.check_choice(self.implicit_normalization, "TrainConfig.implicit_normalization", IMPLICIT_NORMALIZATIONS)
        v.check_choice(self.implicit_method, "TrainConfig.implicit_method", IMPLICIT_METHODS)
        if self.implicit_method == "matmul" and self.implicit_l2:
            raise ValueError(f"TrainConfig.implicit_l2={self.implicit_l2!r} needs implicit_method='gather' (the "
                             "per-example penalty on the looked-up rows); use implicit_l2=0 with 'matmul'")  # fmt: skip


#: Settings per MovieLens variant, chosen on the validation slice only (never on test) with
#: ``tools/tune_recommender.py`` (README, "The recommender benchmark"): 100k on seeds 0-2 (JAX),
#: 1m on seed 0 (TensorFlow). Both add the implicit-feedback term over each user's whole training
#: history (``history_length`` above the longest one: 737 ratings in 100k, 2,314 in 1m),
#: computed as one matrix product per step (``implicit_method="matmul"``).
CONFIGS: dict[str, TrainConfig] = {
    "100k": TrainConfig(l2=0.125, plateau_factor=0.3, history_length=1000, implicit_method="matmul"),
    "1m": TrainConfig(dim=128, l2=0.07, learning_rate=0.005, batch_size=16384, epochs=60, plateau_factor=0.3,
                      history_length=2400, implicit_method="matmul"),
}

#: Lesson 04's cheaper settings: plain biased MF without the implicit-feedback term (the
#: previous defaults, chosen on validation before the term existed), so a notebook stays within
#: its time budget. Use with ``build_rating_model`` or ``build_model_for``; cite
#: :data:`CONFIGS`' benchmark for the rest.
LESSON_CONFIGS: dict[str, TrainConfig] = {
    "100k": TrainConfig(),  # dimension 32, L2 0.1 (best without the term)
    "1m": TrainConfig(dim=64, l2=0.05, learning_rate=0.002, batch_size=4096, epochs=60, plateau_factor=0.3),
}


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Split:
    """Ratings split three ways. Each frame has the columns of ``MovieLens.ratings``.

    Attributes:
        train: fits the model.
        validation: picks hyper-parameters and the early-stopping epoch.
        test: touched once, to report the final numbers.
        n_users: largest user id (the user Embedding needs ``n_users + 1`` rows).
        n_movies: largest movie id (the movie Embedding needs ``n_movies + 1`` rows).
        seed: the seed the split was drawn with.
    """

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    n_users: int
    n_movies: int
    seed: int

    def __repr__(self) -> str:
        return (
            f"Split(seed={self.seed}: train {len(self.train):,}, validation {len(self.validation):,}, "
            f"test {len(self.test):,} ratings; ids up to {self.n_users:,} users, {self.n_movies:,} movies)"
        )


def _check_ratings(ratings, what: str = "ratings") -> None:
    """TypeError/ValueError unless ``ratings`` is a non-empty frame of integer ids >= 1 and finite ratings.

    Float ids (even 3.0), string ids, booleans, ids below 1 (0 is the padding id, negative ids
    would wrap around to the last row) and NaN/inf ratings are refused, never coerced.
    """
    if not isinstance(ratings, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame (e.g. load_movielens('100k').ratings), "
                        f"got {type(ratings).__name__}")  # fmt: skip
    missing = [c for c in _RATING_COLUMNS if c not in ratings.columns]
    if missing:
        raise ValueError(f"{what} lacks the column(s) {missing}; expected {list(_RATING_COLUMNS)}")
    if len(ratings) == 0:
        raise ValueError(f"{what} is empty")
    for column in ("user_id", "movie_id"):
        v.check_ids(ratings[column], f"{what}[{column!r}]", minimum=1, maximum=v.MAX_ID,
                    hint="MovieLens ids start at 1; id 0 is the padding row of every table; model inputs are int32, "
                         "so a larger id would wrap around (to the padding id 0, say)")  # fmt: skip
    v.check_ratings(ratings["rating"], f"{what}['rating']")


def split_ratings(
    ratings: pd.DataFrame,
    *,
    test_fraction: float = 0.1,
    validation_fraction: float = 0.05,
    seed: int = 42,
    n_users: int | None = None,
    n_movies: int | None = None,
    pad_to: int = 1,
) -> Split:
    """Random split of the ratings: ``test_fraction`` for test, the rest for training.

    The ratings are shuffled with ``numpy.random.default_rng(seed).permutation``; the first
    ``round(test_fraction * len(ratings))`` rows are the test set, the next
    ``round(validation_fraction * len(ratings))`` the validation slice (held out from the
    training part for early stopping and tuning), the rest the training set. Same ratings
    and seed, same split on every machine. Each part keeps its rows in their original order.

    Args:
        ratings: DataFrame with ``user_id``, ``movie_id`` (ints from 1) and ``rating``.
        test_fraction: share of all ratings for test, in (0, 1).
        validation_fraction: share of all ratings for validation, in [0, 1).
        seed: the shuffle's seed.
        n_users, n_movies: largest ids (default: the largest in ``ratings``); pass the
            catalogue's when some movies have no ratings.
        pad_to: round ``n_users`` and ``n_movies`` up so that each table's ``n + 1`` rows are
            a multiple of ``pad_to`` (default 1: no padding). The extra ids are never rated;
            they let a table's rows split evenly over ``pad_to`` shards (lesson 05's
            ``LayoutMap``, ``python -m course_lib.benchmark --devices N --backend jax``).

    Raises:
        TypeError: ``ratings`` is not a DataFrame, or an id column does not hold integers.
        ValueError: a column is missing, an id is below 1, a rating is NaN or infinite, the
            fractions are out of range, ``n_users``/``n_movies`` is smaller than an id, or
            ``pad_to`` is not a whole number from 1 to 4096.
    """
    _check_ratings(ratings)
    seed = v.check_seed(seed)
    for value, name in ((test_fraction, "test_fraction"), (validation_fraction, "validation_fraction")):
        v.check_positive(value, name, allow_zero=True)
    largest = {"n_users": int(ratings["user_id"].max()), "n_movies": int(ratings["movie_id"].max())}
    for value, name in ((n_users, "n_users"), (n_movies, "n_movies")):
        if value is not None:
            v.check_size(value, name, minimum=largest[name],
                         hint=f"it is the largest id, and the ratings hold id {largest[name]}")  # fmt: skip
    pad_to = v.check_size(pad_to, "pad_to", maximum=4096, hint="the number of shards each table is split into")
    if not 0 < test_fraction < 1 or not 0 <= validation_fraction < 1 or test_fraction + validation_fraction >= 1:
        raise ValueError(
            f"test_fraction={test_fraction} and validation_fraction={validation_fraction} must be "
            "fractions with 0 < test, 0 <= validation and test + validation < 1"
        )
    order = np.random.default_rng(seed).permutation(len(ratings))
    n_test = int(round(test_fraction * len(ratings)))
    n_validation = int(round(validation_fraction * len(ratings)))
    empty = [name for name, size, wanted in (("test", n_test, True), ("validation", n_validation, validation_fraction > 0),
                                             ("train", len(ratings) - n_test - n_validation, True)) if wanted and size < 1]
    if empty:
        needed = int(np.ceil(0.5 / min(f for f in (test_fraction, validation_fraction) if f > 0)))
        raise ValueError(
            f"{len(ratings)} ratings are too few for test_fraction={test_fraction} and "
            f"validation_fraction={validation_fraction}: the {' and '.join(empty)} part would be empty "
            f"(test {n_test}, validation {n_validation}, train {len(ratings) - n_test - n_validation} ratings); "
            f"pass at least {needed + 1} ratings or larger fractions (validation_fraction=0 for no validation part)"
        )
    parts = np.split(order, [n_test, n_test + n_validation])
    test, validation, train = (ratings.iloc[np.sort(p)].reset_index(drop=True) for p in parts)
    def padded(largest_id: int) -> int:  # n + 1 rows rounded up to a multiple of pad_to, minus the row 0
        return -(-(largest_id + 1) // pad_to) * pad_to - 1

    return Split(
        train=train,
        validation=validation,
        test=test,
        n_users=padded(int(n_users if n_users is not None else largest["n_users"])),
        n_movies=padded(int(n_movies if n_movies is not None else largest["n_movies"])),
        seed=int(seed),
    )


def model_inputs(ratings: pd.DataFrame) -> dict[str, np.ndarray]:
    """``{"user_id": int32 array (n,), "movie_id": int32 array (n,)}``: the inputs of both models.

    Raises TypeError/ValueError like :func:`split_ratings` for a frame without the columns, and
    ValueError for an id above 2**31 - 1, which int32 would wrap around (to the padding id 0, say).
    """
    _check_ratings(ratings)
    return {
        "user_id": ratings["user_id"].to_numpy(np.int32),
        "movie_id": ratings["movie_id"].to_numpy(np.int32),
    }


# --------------------------------------------------------------------------- metrics and baselines


def _as_float_array(values, what: str) -> np.ndarray:
    if hasattr(values, "numpy"):
        values = values.numpy()
    if hasattr(values, "detach"):  # torch tensors
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must hold numbers (stars), got {type(values).__name__}") from None
    return array.reshape(-1) if array.ndim == 2 and 1 in array.shape else array


def _paired(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    true = v.check_finite(_as_float_array(y_true, "y_true"), "y_true")
    pred = v.check_finite(_as_float_array(y_pred, "y_pred"), "y_pred",
                          hint="a NaN prediction usually means training diverged: lower the learning rate")  # fmt: skip
    if true.shape != pred.shape:
        raise ValueError(f"y_true has shape {true.shape} but y_pred has shape {pred.shape}: one prediction per rating")
    if true.size == 0:
        raise ValueError("no ratings to score (empty arrays)")
    return true, pred


def rmse(y_true, y_pred) -> float:
    """Root mean squared error, in stars: ``sqrt(mean((y_true - y_pred) ** 2))``.

    Accepts arrays, lists, pandas Series or tensors of shape (n,) or (n, 1).
    Raises ValueError when the shapes differ, there are no ratings, or a value is NaN or
    infinite (an RMSE of NaN is never returned), TypeError for non-numbers.
    """
    true, pred = _paired(y_true, y_pred)
    return float(np.sqrt(np.mean((true - pred) ** 2)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error, in stars: ``mean(|y_true - y_pred|)``. Same inputs and errors as :func:`rmse`."""
    true, pred = _paired(y_true, y_pred)
    return float(np.mean(np.abs(true - pred)))


def global_mean_baseline(train: pd.DataFrame) -> float:
    """The mean training rating, in stars: the prediction of the simplest baseline."""
    _check_ratings(train, "train")
    return float(train["rating"].astype(np.float64).mean())


@dataclass
class BiasBaseline:
    """``rating ≈ global_mean + user_bias[user] + movie_bias[movie]``, no interaction term.

    Attributes:
        global_mean: mean training rating (stars).
        user_bias: float64 array (n_users + 1,), indexed by user id (row 0 unused).
        movie_bias: float64 array (n_movies + 1,), indexed by movie id (row 0 unused).
    """

    global_mean: float
    user_bias: np.ndarray
    movie_bias: np.ndarray

    def __post_init__(self):
        self.global_mean = float(v.check_finite(self.global_mean, "global_mean", ndim=0))
        for name in ("user_bias", "movie_bias"):
            table = v.check_finite(getattr(self, name), name, ndim=1, allow_empty=False,
                                   hint="one bias per id, row 0 for the unused id 0: fit_bias_baseline makes them")
            setattr(self, name, table.astype(np.float64))

    def predict(self, user_ids, movie_ids) -> np.ndarray:
        """Predicted stars, float64 array (n,), clipped to [1, 5].

        ``user_ids`` and ``movie_ids`` are integer ids of one shape (one pair per position).

        Raises:
            TypeError: ids that are not integers (floats, strings).
            ValueError: a negative id, or ``movie_ids`` of another shape than ``user_ids`` (never broadcast).
            IndexError: an id without a row (above the largest id the baseline was fitted for); the
                message names it and the table's range.
        """
        users = v.check_ids(user_ids, "user_ids")
        movies = v.check_ids(movie_ids, "movie_ids", shape=users.shape,
                             hint="one movie id per user id: the two must have the same length")
        for ids, table, what in ((users, self.user_bias, "user"), (movies, self.movie_bias, "movie")):
            if ids.size and ids.max() >= len(table):
                raise IndexError(f"{what}_ids holds {what} id {int(ids.max())}, outside this baseline's table (ids "
                                 f"0..{len(table) - 1}): refit with n_{what}s={int(ids.max())} or higher, or drop "
                                 f"the unknown {what}s")  # fmt: skip
        return np.clip(self.global_mean + self.user_bias[users] + self.movie_bias[movies], 1.0, 5.0)


def fit_bias_baseline(
    train: pd.DataFrame,
    n_users: int | None = None,
    n_movies: int | None = None,
    *,
    user_reg: float = 10.0,
    movie_reg: float = 25.0,
    iterations: int = 10,
) -> BiasBaseline:
    """Fit regularised user and movie biases by alternating least squares (NumPy, < 1 s).

    Each iteration sets every movie's bias to ``sum(r - mu - b_user) / (movie_reg + n_ratings)``
    and then every user's to ``sum(r - mu - b_movie) / (user_reg + n_ratings)``: the exact
    minimiser of squared error plus ``reg * bias**2`` for one side given the other (Koren 2010,
    "Factor in the neighbors", ACM TKDD 4(1), section 2.1). Users or movies without training
    ratings keep bias 0.

    Raises TypeError/ValueError for a frame without the rating columns, ValueError for a
    negative regulariser, or for ids so large that the bias tables would not fit in memory
    (over :data:`course_lib.validation.MAX_TABLE_ROWS` rows: re-map sparse ids first).
    """
    _check_ratings(train, "train")
    v.check_positive(user_reg, "user_reg", allow_zero=True)
    v.check_positive(movie_reg, "movie_reg", allow_zero=True)
    iterations = v.check_size(iterations, "iterations")
    for value, name, column in ((n_users, "n_users", "user_id"), (n_movies, "n_movies", "movie_id")):
        if value is not None:
            v.check_size(value, name, minimum=int(train[column].max()), hint=f"train holds {column} {train[column].max()}")
    n_users = int(n_users if n_users is not None else train["user_id"].max())
    n_movies = int(n_movies if n_movies is not None else train["movie_id"].max())
    v.check_table_rows(n_users, "n_users (the largest user id)", hint="the bias table has one row per user id")
    v.check_table_rows(n_movies, "n_movies (the largest movie id)", hint="the bias table has one row per movie id")
    users = train["user_id"].to_numpy(np.int64)
    movies = train["movie_id"].to_numpy(np.int64)
    ratings = train["rating"].to_numpy(np.float64)
    mu = float(ratings.mean())
    user_count = np.bincount(users, minlength=n_users + 1)
    movie_count = np.bincount(movies, minlength=n_movies + 1)
    user_bias = np.zeros(n_users + 1)
    movie_bias = np.zeros(n_movies + 1)
    def solve(totals, denominators):  # 0 where nothing was rated (and no regulariser)
        return np.divide(totals, denominators, out=np.zeros_like(totals), where=denominators > 0)

    for _ in range(iterations):
        movie_bias = solve(np.bincount(movies, ratings - mu - user_bias[users], n_movies + 1), movie_reg + movie_count)
        user_bias = solve(np.bincount(users, ratings - mu - movie_bias[movies], n_users + 1), user_reg + user_count)
    return BiasBaseline(mu, user_bias, movie_bias)


def tune_bias_baseline(
    split: Split,
    user_regs=(2, 3, 5, 10, 25),
    movie_regs=(1, 2, 3, 5, 10, 25),
) -> tuple[BiasBaseline, tuple[float, float], dict]:
    """Fit :func:`fit_bias_baseline` for every pair of penalties; keep the best on ``split.validation``.

    Returns:
        ``(baseline, (user_reg, movie_reg), validation_rmse)``: the chosen model (fitted on
        ``split.train``), its penalties, and a dict mapping every tried pair to its
        validation RMSE (stars).

    Raises:
        TypeError: ``split`` is not a :class:`Split` (a DataFrame, say: pass ``split_ratings(ratings)``),
            or a penalty is not a number.
        ValueError: the split has no validation ratings, a grid is empty or a penalty negative.
    """
    v.check_instance(split, "split", Split, what="a Split, as split_ratings(ratings) returns",
                     hint="the penalties are chosen on split.validation")
    grids = {}
    for name, grid in (("user_regs", user_regs), ("movie_regs", movie_regs)):
        if isinstance(grid, (str, bytes)) or not hasattr(grid, "__iter__"):
            raise TypeError(f"{name}={grid!r}: expected a sequence of penalties, e.g. (2, 5, 10)")
        values = [v.check_positive(reg, f"{name}[{i}]", allow_zero=True) for i, reg in enumerate(grid)]
        if not values:
            raise ValueError(f"{name}={grid!r} is empty: give at least one penalty to try, e.g. (2, 5, 10)")
        grids[name] = values
    user_regs, movie_regs = grids["user_regs"], grids["movie_regs"]
    if len(split.validation) == 0:
        raise ValueError("the split has no validation ratings to choose the penalties on")
    truth = split.validation["rating"].to_numpy()
    scores, fitted = {}, {}
    for user_reg in user_regs:
        for movie_reg in movie_regs:
            model = fit_bias_baseline(split.train, split.n_users, split.n_movies, user_reg=user_reg,
                                      movie_reg=movie_reg)  # fmt: skip
            fitted[user_reg, movie_reg] = model
            scores[user_reg, movie_reg] = rmse(truth, model.predict(split.validation["user_id"], split.validation["movie_id"]))
    best = min(scores, key=scores.get)
    return fitted[best], best, scores


# --------------------------------------------------------------------------- the rating model


@keras.saving.register_keras_serializable(package="course_lib")
class RowDot(keras.layers.Layer):
    """Per-row dot product: inputs ``[u, m]`` of shape (batch, dim) give (batch,).

    Row ``i`` of the output is ``sum_j u[i, j] * m[i, j]``: it depends on row ``i`` of the
    inputs only. (The keras.io collaborative-filtering example uses
    ``ops.tensordot(u, m, 2)``, which sums over the batch as well and gives every row the
    same number.)
    """

    def call(self, inputs):
        user_vectors, movie_vectors = inputs
        return ops.sum(user_vectors * movie_vectors, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1])


@keras.saving.register_keras_serializable(package="course_lib")
class AddBiases(keras.layers.Layer):
    """``global_mean + interaction + user_bias + movie_bias``: shapes (batch,), (batch, 1), (batch, 1) -> (batch, 1).

    ``global_mean`` (stars) is a constant, not trained: the model learns deviations from it.

    The output is a column, one row per rating, like ``Dense(1)``'s: with targets of shape
    (batch,) Keras's losses then give one loss per rating (``mean_squared_error`` averages the
    last axis, of size 1 here) and reduce them to the batch mean in ``reduce_values``
    (``keras/src/losses/loss.py``), which also divides by the number of replicas under a
    ``tf.distribute`` strategy (``scale_loss_for_distribution``). A (batch,) output would make
    ``"mse"`` one number already, ``reduce_values`` would return it unscaled, and under
    ``MirroredStrategy`` with R replicas the replicas' gradients would add up to R times one
    device's step (lesson 05, section 3).
    """

    def __init__(self, global_mean: float, **kwargs):
        super().__init__(**kwargs)
        self.global_mean = float(global_mean)

    def call(self, inputs):
        interaction, user_bias, movie_bias = inputs
        return self.global_mean + ops.expand_dims(interaction, -1) + user_bias + movie_bias

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape[0]), 1)

    def get_config(self):
        return {**super().get_config(), "global_mean": self.global_mean}


def _check_finite_number(value, what: str) -> float:
    return float(v.check_finite(value, what, ndim=0))


def _check_positive_int(value, what: str) -> int:
    return v.check_size(value, what)


def rated_movies_table(train: pd.DataFrame, n_users: int, max_length: int, *, seed: int = 0) -> np.ndarray:
    """int32 (n_users + 1, max_length): row ``u`` lists movies user ``u`` rated in ``train``, padded with 0.

    The padding id 0 (no movie has it) goes at the end of each row (``padding="post"``), so an
    ``Embedding(mask_zero=True)`` masks it. A user with more than ``max_length`` training
    ratings keeps a fixed random sample of ``max_length`` of them (drawn with ``seed``), in
    their original order; a user with none gets a row of zeros.

    Build it from the **training** ratings only: listing a movie the user rated in the
    validation or test part would tell the model which movies it will be asked about.

    Raises:
        TypeError/ValueError: ``train`` lacks the rating columns; ValueError: ``n_users`` or
            ``max_length`` is not a positive whole number, or a user id exceeds ``n_users``.
    """
    _check_ratings(train, "train")
    n_users = _check_positive_int(n_users, "n_users")
    max_length = _check_positive_int(max_length, "max_length")
    users = train["user_id"].to_numpy(np.int64)
    movies = train["movie_id"].to_numpy(np.int64)
    if users.min() < 0 or users.max() > n_users:
        raise ValueError(f"train has user id {users.max() if users.max() > n_users else users.min()} outside "
                         f"0..n_users={n_users}")  # fmt: skip
    rng = np.random.default_rng(seed)
    # a random key per rating, ranked within each user: the max_length smallest keys are kept
    keys = rng.random(len(users))
    order = np.lexsort((keys, users))
    counts = np.bincount(users, minlength=n_users + 1)
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = np.flatnonzero(rank < max_length)  # in train's row order
    by_user = np.argsort(users[keep], kind="stable")  # grouped by user, train's order within a user
    kept_users, kept_movies = users[keep][by_user], movies[keep][by_user]
    kept_counts = np.bincount(kept_users, minlength=n_users + 1)
    position = np.arange(len(kept_users)) - (np.cumsum(kept_counts) - kept_counts)[kept_users]
    table = np.zeros((n_users + 1, max_length), dtype=np.int32)
    table[kept_users, position] = kept_movies
    return table


@keras.saving.register_keras_serializable(package="course_lib")
class RatedMovies(keras.layers.Layer):
    """Looks up the row of a fixed (n_users + 1, L) id table: user ids (batch,) give movie ids (batch, L).

    The table (from :func:`rated_movies_table`) is a non-trainable int32 weight of the layer,
    so the model's inputs stay ``user_id`` and ``movie_id``.
    """

    def __init__(self, n_users: int, history_length: int, table=None, **kwargs):
        super().__init__(**kwargs)
        self.n_users, self.history_length = int(n_users), int(history_length)
        init = "zeros" if table is None else keras.initializers.Constant(np.asarray(table, np.int32))
        self.table = self.add_weight(shape=(self.n_users + 1, self.history_length), dtype="int32",
                                     initializer=init, trainable=False, name="table")  # fmt: skip

    def call(self, user_ids):
        return ops.take(self.table, user_ids, axis=0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.history_length)

    def get_config(self):
        return {**super().get_config(), "n_users": self.n_users, "history_length": self.history_length}


def implicit_weights(rated_movies, n_movies: int, normalization: str = "mean") -> np.ndarray:
    """float32 (n_users + 1, n_movies + 1): row ``u`` spreads weight ``1/n`` (or ``1/sqrt(n)``) over the ``n`` movies of row ``u``.

    ``rated_movies`` is the int32 (n_users + 1, L) table of :func:`rated_movies_table` (0 =
    padding, ignored). ``implicit_weights(...) @ Y`` is then, row by row, the masked mean (or
    the ``sqrt``-normalised sum) of the listed rows of ``Y``: the same numbers as looking the
    rows up and pooling them with ``MaskedPooling`` (``"mean"``/``"sqrtn"``). A row without movies is all zeros.

    Raises ValueError for a table that is not 2-D integer ids in 0..n_movies, or an unknown
    ``normalization`` (``"mean"`` or ``"sqrt"``).
    """
    normalization = v.check_choice(normalization, "normalization", IMPLICIT_NORMALIZATIONS)
    n_movies = _check_positive_int(n_movies, "n_movies")
    table = np.asarray(rated_movies)
    if table.ndim != 2 or not np.issubdtype(table.dtype, np.integer) or table.min() < 0 or table.max() > n_movies:
        raise ValueError(f"rated_movies must be a 2-D integer table of movie ids 0..{n_movies} (0 = padding), got "
                         f"{table.dtype} {table.shape}; build it with rated_movies_table")  # fmt: skip
    weights = np.zeros((table.shape[0], n_movies + 1), dtype=np.float64)
    rows = np.repeat(np.arange(table.shape[0]), table.shape[1])
    np.add.at(weights, (rows, table.reshape(-1)), 1.0)
    weights[:, 0] = 0.0  # the padding id
    count = weights.sum(axis=1, keepdims=True)
    scale = count if normalization == "mean" else np.sqrt(count)
    return np.divide(weights, scale, out=np.zeros_like(weights), where=count > 0).astype(np.float32)


@keras.saving.register_keras_serializable(package="course_lib")
class ImplicitMatmul(keras.layers.Layer):
    """User ids (batch,) -> (batch, dim): the implicit-feedback term as one matrix product per step.

    Holds the implicit movie table ``embeddings`` (trainable, float32 (n_movies + 1, dim)) and
    a fixed weight matrix ``weights`` (non-trainable, float32 (n_users + 1, n_movies + 1), from
    :func:`implicit_weights`). ``call`` returns rows ``user_ids`` of ``weights @ embeddings``:
    the same numbers as :class:`RatedMovies` + ``Embedding(mask_zero=True)`` + ``MaskedPooling``,
    but each step costs one dense product of ``(n_users + 1) x (n_movies + 1) x dim``
    multiply-adds instead of a (batch, L, dim) gather and its scattered gradient. That is
    cheap for ml-100k (944 x 1,683) and the history length then costs nothing. For ml-1m
    (6,041 x 3,953, dimension 128: about 3 billion multiply-adds per step) ``CONFIGS["1m"]``
    takes batches of 16,384 so that the product runs fewer times per epoch; with short
    histories and small batches the gather is the cheaper one.
    """

    def __init__(self, n_users: int, n_movies: int, dim: int, weights=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.n_users, self.n_movies, self.dim, self.seed = int(n_users), int(n_movies), int(dim), seed
        shape = (self.n_users + 1, self.n_movies + 1)
        if weights is not None and np.shape(weights) != shape:
            raise ValueError(f"weights must have shape {shape} (n_users + 1, n_movies + 1), got {np.shape(weights)}")
        init = "zeros" if weights is None else keras.initializers.Constant(np.asarray(weights, np.float32))
        self.weights_matrix = self.add_weight(shape=shape, dtype="float32", initializer=init, trainable=False,
                                              name="weights")  # fmt: skip
        self.embeddings = self.add_weight(shape=(self.n_movies + 1, self.dim), name="embeddings",
                                          initializer=keras.initializers.RandomNormal(stddev=0.05, seed=seed))  # fmt: skip

    def call(self, user_ids):
        return ops.take(ops.matmul(self.weights_matrix, self.embeddings), user_ids, axis=0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        return {**super().get_config(), "n_users": self.n_users, "n_movies": self.n_movies, "dim": self.dim,
                "seed": self.seed}  # fmt: skip


def build_rating_model(
    n_users: int,
    n_movies: int,
    *,
    global_mean: float,
    dim: int = 32,
    l2: float = 0.05,
    bias_l2: float = 0.0,
    seed: int | None = 42,
    rated_movies=None,
    implicit_l2: float = 0.0,
    implicit_normalization: str = "mean",
    implicit_method: str = "gather",
) -> keras.Model:
    """Biased matrix factorisation as a functional Keras model, optionally with implicit feedback.

    ``rating(u, m) = global_mean + b_u + b_m + p_u · q_m`` where ``p_u``, ``q_m`` are rows of
    the user and movie ``Embedding`` tables (``n + 1`` rows each: ids start at 1, row 0 is
    unused) and ``b_u``, ``b_m`` rows of one-column bias tables (initialised at 0).

    With ``rated_movies`` (the int32 (n_users + 1, L) table of :func:`rated_movies_table`),
    the user side becomes ``p_u + mean(y_j for j rated by u)``: a second movie table ``Y``
    (``Embedding(mask_zero=True)``, so the padding 0 is masked) looked up at the movies the
    user rated in training and averaged by ``course_lib.features.MaskedPooling`` (lesson 06's
    combiner layer). This is the implicit-feedback
    idea of SVD++ (Koren, "Factorization Meets the Neighborhood", KDD 2008, which normalises
    by ``|N(u)|**-0.5``: ``implicit_normalization="sqrt"``; the default ``"mean"`` divides by
    the count): users with few ratings are described by the movies they chose, not just by
    their own few-times-updated vector. ``implicit_method="matmul"`` computes the same term as
    :class:`ImplicitMatmul` (one dense product per step, no per-example gather; faster when
    ``n_users x n_movies`` is small; ``implicit_l2`` must then be 0).

    Regularisation is *per example*: an ``activity_regularizer`` adds ``l2 * |p_u|**2`` and
    ``l2 * |q_m|**2`` for the rows each rating looks up (and ``implicit_l2 * |y_j|**2`` for
    the implicit rows), averaged over the batch (Keras 3 divides activity penalties by the
    batch size). An ``embeddings_regularizer`` would instead penalise the whole table at every
    step, rows the batch never touched included.

    Inputs: ``{"user_id": int (batch,), "movie_id": int (batch,)}``.
    Output: predicted stars, float32 (batch, 1), one row per rating (not clipped;
    :func:`predict_ratings` clips and flattens). A column, so that ``compile(loss="mse")`` gives
    one loss per rating and, under ``tf.distribute.MirroredStrategy``, the same step as one
    device with any optimizer (:class:`AddBiases`; lesson 05). Targets may be (batch,) or (batch, 1).

    Layer names are this module's constants (:data:`USER_EMBEDDING`, :data:`MOVIE_EMBEDDING`,
    :data:`USER_BIAS`, :data:`MOVIE_BIAS`, :data:`INTERACTION`, :data:`RATING`, and for the
    implicit term :data:`RATED_MOVIES`, :data:`IMPLICIT_EMBEDDING`, :data:`IMPLICIT_MEAN`,
    :data:`IMPLICIT_MATMUL`, :data:`USER_TOTAL`).

    Raises:
        ValueError: a size is not a positive whole number, a penalty is negative,
            ``rated_movies`` is not an (n_users + 1, L) table of movie ids, an unknown
            ``implicit_normalization``/``implicit_method``, or ``implicit_l2 > 0`` with ``"matmul"``.
    """
    v.check_choice(implicit_normalization, "implicit_normalization", IMPLICIT_NORMALIZATIONS)
    v.check_choice(implicit_method, "implicit_method", IMPLICIT_METHODS)
    if implicit_method == "matmul" and implicit_l2:
        raise ValueError(f"implicit_l2={implicit_l2!r} needs implicit_method='gather'; use implicit_l2=0 with 'matmul'")
    n_users = _check_positive_int(n_users, "n_users")
    n_movies = _check_positive_int(n_movies, "n_movies")
    dim = _check_positive_int(dim, "dim")
    for value, what in ((l2, "l2"), (bias_l2, "bias_l2"), (implicit_l2, "implicit_l2"), (global_mean, "global_mean")):
        _check_finite_number(value, what)
    if l2 < 0 or bias_l2 < 0 or implicit_l2 < 0:
        raise ValueError(f"penalties must be >= 0, got l2={l2}, bias_l2={bias_l2}, implicit_l2={implicit_l2}")
    if rated_movies is not None:
        rated_movies = np.asarray(rated_movies)
        if (rated_movies.ndim != 2 or rated_movies.shape[0] != n_users + 1 or rated_movies.shape[1] < 1
                or not np.issubdtype(rated_movies.dtype, np.integer)
                or rated_movies.min() < 0 or rated_movies.max() > n_movies):
            raise ValueError(f"rated_movies must be an integer table of shape (n_users + 1, L) = ({n_users + 1}, L) "
                             f"holding movie ids 0..{n_movies} (0 = padding), got {rated_movies.dtype} "
                             f"{rated_movies.shape}; build it with rated_movies_table(split.train, n_users, L)")  # fmt: skip
    user = keras.Input(shape=(), dtype="int32", name="user_id")
    movie = keras.Input(shape=(), dtype="int32", name="movie_id")

    def table(rows, width, name, penalty, init, mask_zero=False):
        return keras.layers.Embedding(
            rows, width, name=name, embeddings_initializer=init, mask_zero=mask_zero,
            activity_regularizer=keras.regularizers.L2(penalty) if penalty else None,
        )  # fmt: skip

    def normal(offset):
        return keras.initializers.RandomNormal(stddev=0.05, seed=None if seed is None else seed + offset)

    user_vector = table(n_users + 1, dim, USER_EMBEDDING, l2, normal(0))(user)
    movie_vector = table(n_movies + 1, dim, MOVIE_EMBEDDING, l2, normal(1))(movie)
    if rated_movies is not None and implicit_method == "matmul":
        weights = implicit_weights(rated_movies, n_movies, implicit_normalization)
        implicit = ImplicitMatmul(n_users, n_movies, dim, weights, seed=None if seed is None else seed + 2,
                                  name=IMPLICIT_MATMUL)(user)  # fmt: skip
        user_vector = keras.layers.Add(name=USER_TOTAL)([user_vector, implicit])
    elif rated_movies is not None:
        history = RatedMovies(n_users, rated_movies.shape[1], rated_movies, name=RATED_MOVIES)(user)
        implicit_vectors = table(n_movies + 1, dim, IMPLICIT_EMBEDDING, implicit_l2, normal(2), mask_zero=True)(history)
        combiner = {"mean": "mean", "sqrt": "sqrtn"}[implicit_normalization]
        implicit = MaskedPooling(combiner, name=IMPLICIT_MEAN)(implicit_vectors)
        user_vector = keras.layers.Add(name=USER_TOTAL)([user_vector, implicit])
    user_bias = table(n_users + 1, 1, USER_BIAS, bias_l2, "zeros")(user)
    movie_bias = table(n_movies + 1, 1, MOVIE_BIAS, bias_l2, "zeros")(movie)
    interaction = RowDot(name=INTERACTION)([user_vector, movie_vector])
    rating = AddBiases(global_mean, name=RATING)([interaction, user_bias, movie_bias])
    name = "biased_mf" if rated_movies is None else "biased_mf_implicit"
    return keras.Model({"user_id": user, "movie_id": movie}, rating, name=name)


def build_model_for(split: Split, config: TrainConfig = TrainConfig(), *, seed: int | None = 42) -> keras.Model:
    """:func:`build_rating_model` for ``split`` with ``config``'s settings (the benchmark's and lesson 04's model).

    The global mean is ``split.train``'s; when ``config.history_length > 0`` the implicit
    term's table is :func:`rated_movies_table` of ``split.train`` (never validation or test).

    Raises:
        TypeError: ``split`` is not a :class:`Split` (a DataFrame, say) or ``config`` not a :class:`TrainConfig`.
    """
    v.check_instance(split, "split", Split, what="a Split, from split_ratings(ratings)")
    v.check_instance(config, "config", TrainConfig, what="a TrainConfig, e.g. CONFIGS['100k']")
    rated = None
    if config.history_length:
        rated = rated_movies_table(split.train, split.n_users, config.history_length, seed=0 if seed is None else seed)
    return build_rating_model(split.n_users, split.n_movies, global_mean=global_mean_baseline(split.train),
                              dim=config.dim, l2=config.l2, bias_l2=config.bias_l2, seed=seed,
                              rated_movies=rated, implicit_l2=config.implicit_l2,
                              implicit_normalization=config.implicit_normalization,
                              implicit_method=config.implicit_method)  # fmt: skip


def _check_ids_fit(ratings: pd.DataFrame, n_users: int, n_movies: int, what: str) -> None:
    """ValueError naming the first id that has no row in the model's tables (instead of a backend error)."""
    for column, rows in (("user_id", n_users + 1), ("movie_id", n_movies + 1)):
        ids = ratings[column].to_numpy()
        if len(ids) and (ids.min() < 1 or ids.max() >= rows):
            bad = int(ids.max()) if ids.max() >= rows else int(ids.min())
            raise ValueError(f"{what}: {column} {bad} has no row in a table of {rows} rows (ids 1..{rows - 1}); "
                             f"build the model with n_{column.split('_')[0]}s >= {bad}")  # fmt: skip


def _check_rating_model(model) -> keras.Model:
    """TypeError unless ``model`` is a Keras model (a string or a Split passed by mistake is named)."""
    return v.check_instance(model, "model", keras.Model, what="a rating model from build_rating_model or build_model_for")


def _table_sizes(model: keras.Model) -> tuple[int, int]:
    _check_rating_model(model)
    try:
        return model.get_layer(USER_EMBEDDING).input_dim - 1, model.get_layer(MOVIE_EMBEDDING).input_dim - 1
    except ValueError:
        raise TypeError(f"expected a model made by build_rating_model (layers {USER_EMBEDDING}, {MOVIE_EMBEDDING})") from None


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of each epoch in ``self.seconds`` (a list of floats).

    Each figure runs from ``on_epoch_begin`` to ``on_epoch_end``. Keras calls ``on_epoch_end``
    after the validation pass, so when ``fit`` has ``validation_data`` the time includes
    validation; "training ratings per second" computed from it is a figure *including
    validation* (the meaning of the README's benchmark table).
    """

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def train_rating_model(
    model: keras.Model,
    split: Split,
    config: TrainConfig = TrainConfig(),
    *,
    verbose: int = 0,
) -> tuple[dict[str, list[float]], list[float]]:
    """Compile and fit ``model`` on ``split.train`` with Adam and MSE, early-stopping on validation RMSE.

    Keeps the weights of the epoch with the lowest validation RMSE
    (``EarlyStopping(restore_best_weights=True)``); shuffles with Keras's seeded generator.
    The inputs are NumPy arrays (a hand-made ``tf.data`` pipeline that gathers once per epoch
    instead of once per batch was measured only about 8% faster on TensorFlow, so Keras's own
    adapter stays); the step is compiled with XLA when ``config.jit_compile`` and runs
    ``config.steps_per_execution`` steps per call.
    Every id is checked against the tables *before* ``fit``: under XLA an out-of-range id
    would not raise but silently read the last row. Keras itself keeps XLA off (silently,
    here) when TensorFlow's op determinism is enabled, as ``setup_notebook()`` does by
    default: ``model.jit_compile`` tells which path ran.

    Returns:
        ``(history, epoch_seconds)``: ``history`` maps ``loss`` (MSE plus penalties),
        ``rmse`` (training, stars, during the epoch) and ``val_rmse`` (stars) to one value
        per epoch; ``epoch_seconds`` is the wall time of each epoch, validation pass
        included (the first also includes tracing).

    Raises:
        ValueError: the split's validation slice is empty (early stopping needs one), or an
            id has no row in the model's tables.
        TypeError: ``model`` was not made by :func:`build_rating_model`.
    """
    if len(split.validation) == 0:
        raise ValueError("the split has no validation ratings; use split_ratings(validation_fraction=0.05)")
    n_users, n_movies = _table_sizes(model)
    for part, frame in (("train", split.train), ("validation", split.validation)):
        _check_ids_fit(frame, n_users, n_movies, part)
    with warnings.catch_warnings():
        # With TensorFlow's op determinism on (setup_notebook's default), Keras keeps XLA off and
        # warns; that is documented above, so the lesson stays quiet.
        warnings.filterwarnings("ignore", message="Model doesn't support `jit_compile=True`")
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate),
            loss="mse",
            metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
            jit_compile=bool(config.jit_compile) and keras.backend.backend() != "torch",
            steps_per_execution=config.steps_per_execution,
        )
    timer = EpochTimer()
    stop = keras.callbacks.EarlyStopping(
        monitor="val_rmse", mode="min", patience=config.patience, restore_best_weights=True
    )
    callbacks = [stop, timer]
    if config.plateau_factor:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_rmse", mode="min", factor=config.plateau_factor,
                                                           patience=1, min_delta=1e-4))  # fmt: skip
    fitted = model.fit(
        model_inputs(split.train),
        split.train["rating"].to_numpy(np.float32),
        validation_data=(model_inputs(split.validation), split.validation["rating"].to_numpy(np.float32)),
        batch_size=config.batch_size,
        epochs=config.epochs,
        shuffle=True,
        callbacks=callbacks,
        verbose=verbose,
    )
    return {k: [float(v) for v in vs] for k, vs in fitted.history.items()}, timer.seconds


def predict_ratings(model: keras.Model, ratings: pd.DataFrame, *, batch_size: int = 8192, clip: bool = True):
    """Predicted stars for each row of ``ratings``: float32 array (n,), clipped to [1, 5] unless ``clip=False``.

    Clipping to the star scale can only lower the error, since every true rating lies in [1, 5].
    Raises ValueError for an id without a row in the model's tables or a ``batch_size`` that is
    not a positive whole number, TypeError for a model not made by :func:`build_rating_model`
    (a string, a Split, another model) or a ``clip`` that is not a bool.
    """
    batch_size = v.check_size(batch_size, "batch_size")
    clip = v.check_bool(clip, "clip")
    _check_ratings(ratings)
    _check_ids_fit(ratings, *_table_sizes(model), "ratings")
    predictions = model.predict(model_inputs(ratings), batch_size=batch_size, verbose=0)
    predictions = np.asarray(predictions, dtype=np.float32).reshape(-1)
    return np.clip(predictions, 1.0, 5.0) if clip else predictions


# --------------------------------------------------------------------------- top-N


def known_items_mask(ratings: pd.DataFrame, n_users: int, n_movies: int) -> np.ndarray:
    """Boolean (n_users + 1, n_movies + 1): True where the user rated the movie, and in column 0 (padding).

    Use it to keep movies a user already rated (and the unused id 0) out of their top-N list.
    Raises ValueError if an id in ``ratings`` exceeds ``n_users``/``n_movies`` (or they are
    not positive whole numbers), TypeError/ValueError for bad ids as :func:`split_ratings`.
    """
    _check_ratings(ratings)
    n_users, n_movies = v.check_size(n_users, "n_users"), v.check_size(n_movies, "n_movies")
    users = ratings["user_id"].to_numpy(np.int64)
    movies = ratings["movie_id"].to_numpy(np.int64)
    if users.max() > n_users or movies.max() > n_movies:
        raise ValueError(f"ids up to user {users.max()} / movie {movies.max()} exceed n_users={n_users} / "
                         f"n_movies={n_movies}")  # fmt: skip
    mask = np.zeros((n_users + 1, n_movies + 1), dtype=bool)
    mask[users, movies] = True
    mask[:, 0] = True
    return mask


def _ranked(scores: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Column order per row: allowed columns by score (best first, ties: lower id first), then excluded ones."""
    order = np.argsort(-scores, axis=1, kind="stable")
    # a stable sort on "is excluded" moves excluded columns behind every allowed one, keeping the score order
    return np.take_along_axis(order, np.argsort(np.take_along_axis(excluded, order, 1), axis=1, kind="stable"), 1)


def top_n(scores, exclude=None, k: int = 10, *, exclude_padding: bool = True) -> np.ndarray:
    """Column indices (ids) of the ``k`` highest scores per row, best first, never an excluded id.

    Args:
        scores: float array (n_rows, n_items) or (n_items,); column ``j`` is id ``j``. No NaN
            (``-inf`` is allowed: a lowest possible score, still recommendable).
        exclude: boolean array of the same shape, True where an id must not be recommended.
        k: list length.
        exclude_padding: also never return id 0, the padding row of the course's tables
            (default True; pass False for tables without a padding row).

    Returns:
        int64 array (n_rows, k), or (k,) for one row. Ties keep the lower id first.

    Raises:
        ValueError: mismatched shapes, NaN scores, ``k`` not a positive whole number, or
            **fewer than ``k`` ids left** in some row once ``exclude`` (and id 0) are removed:
            the message names the row and how many remain. ``top_n`` never pads a list with
            excluded ids; ask for at most that many.
        TypeError: ``exclude`` is not boolean, or ``scores`` is not numeric.
    """
    k = v.check_size(k, "k")
    if not isinstance(scores, np.ndarray):
        scores = keras.ops.convert_to_numpy(scores)
    table = np.asarray(scores)
    if table.dtype.kind not in "iuf":
        raise TypeError(f"scores must be a numeric array, got dtype {table.dtype}")
    table = np.array(table, dtype=np.float64)
    single = table.ndim == 1
    table = np.atleast_2d(table)
    if table.ndim != 2 or table.shape[1] == 0:
        raise ValueError(f"scores must have shape (n_items,) or (n_rows, n_items), got {np.shape(scores)}")
    if np.isnan(table).any():
        rows = np.flatnonzero(np.isnan(table).any(axis=1))
        raise ValueError(f"scores hold NaN (row(s) {rows[:5].tolist()}): a NaN cannot be ranked; "
                         "check the model (diverged training?) or replace NaN by -inf to rank it last")  # fmt: skip
    excluded = np.zeros(table.shape, dtype=bool)
    if exclude is not None:
        mask = np.asarray(exclude)
        if mask.dtype != bool:
            raise TypeError(f"exclude must be a boolean array (True = never recommend), got dtype {mask.dtype}")
        mask = np.atleast_2d(mask)
        if mask.shape != table.shape:
            raise ValueError(f"exclude has shape {np.shape(exclude)} but scores has {np.shape(scores)}")
        excluded |= mask
    if v.check_bool(exclude_padding, "exclude_padding"):
        excluded[:, 0] = True
    left = (~excluded).sum(axis=1)
    if left.min() < k:
        row = int(np.argmin(left))
        raise ValueError(f"k={k} but row {row} has only {int(left[row])} ids left once the excluded ones"
                         f"{' and the padding id 0' if exclude_padding else ''} are removed; ask for k <= "
                         f"{int(left.min())}")  # fmt: skip
    order = _ranked(table, excluded)[:, :k]
    return order[0] if single else order


def popularity_scores(train: pd.DataFrame, n_movies: int) -> np.ndarray:
    """float64 (n_movies + 1,): how many training ratings each movie has (the popularity baseline).

    Raises ValueError when ``n_movies`` is smaller than a movie id of ``train``.
    """
    _check_ratings(train, "train")
    n_movies = v.check_size(n_movies, "n_movies", minimum=int(train["movie_id"].max()),
                            hint="it is the largest movie id")  # fmt: skip
    return np.bincount(train["movie_id"].to_numpy(np.int64), minlength=n_movies + 1).astype(np.float64)


def ranking_metrics(
    scores,
    known: pd.DataFrame,
    test: pd.DataFrame,
    *,
    k: int = 10,
    min_rating: float = 4.0,
    max_users: int | None = None,
    seed: int = 0,
    chunk: int = 1024,
    n_movies: int | None = None,
) -> dict:
    """Full-catalogue Recall@k and NDCG@k, averaged over users with a liked test movie.

    For each user with at least one test rating >= ``min_rating`` (the *relevant* movies),
    every movie of the catalogue is ranked by ``scores``, the movies in ``known`` (already
    rated in training or validation) and id 0 are removed, and the top ``k`` are compared with
    the relevant set:

    - ``recall``: Recall@k = hits / n_relevant, the standard definition (the share of the
      relevant movies found in the list; Manning, Raghavan and Schütze, *Introduction to
      Information Retrieval*, 2008, section 8.3). It cannot reach 1 when a user has more than
      ``k`` relevant movies.
    - ``recall_capped``: hits / min(k, n_relevant), a truncated variant that is 1.0 when the
      list is as good as it can be (the "Recall@R" of Liang et al., "Variational Autoencoders
      for Collaborative Filtering", WWW 2018).
    - ``ndcg``: NDCG@k = sum(1 / log2(rank + 1) over hits) divided by the same sum for a
      perfect list. (n)DCG is Järvelin and Kekäläinen's ("Cumulated gain-based evaluation of IR
      techniques", ACM TOIS 20(4), 2002); the ``1 / log2(rank + 1)`` discount at every rank is
      the form of Burges et al. ("Learning to Rank using Gradient Descent", ICML 2005), used by
      most recommender papers; with binary relevance every hit has gain 1.

    A user with fewer than ``k`` movies left to recommend gets a shorter list.

    Args:
        scores: one of: float (n_users + 1, n_movies + 1) per-user scores; float
            (n_movies + 1,) one ranking shared by all users (popularity); or a function taking
            an int array of user ids and returning their rows, float (len(ids), n_movies + 1)
            (e.g. :func:`rating_scorer`, :meth:`TwoTower.scores`), so big catalogues are scored
            ``chunk`` users at a time. No NaN.
        known: ratings the recommender already knew (train and validation): never recommended.
        test: held-out ratings.
        k: list length (positive whole number).
        min_rating: a test rating at least this high marks a relevant movie (finite number).
        max_users: score at most this many users (>= 1), drawn at random with ``seed`` (for 25m).
        chunk: users scored per call of a scoring function.
        n_movies: the catalogue's largest movie id; when given, every row of scores must have
            exactly ``n_movies + 1`` columns. Otherwise rows must have exactly one column per
            movie id up to the largest in ``known`` and ``test`` (a wider table is refused:
            its extra columns would take places in the lists and never be hits).

    Returns:
        ``{"recall": float, "recall_capped": float, "ndcg": float, "users": int}`` (``users``:
        how many were scored).

    Raises:
        ValueError: no test rating reaches ``min_rating``; scores of the wrong shape or width,
            or holding NaN; ``k``, ``max_users`` or ``chunk`` not positive whole numbers; a
            user id with no row in a score table.
        TypeError: bad ids or ratings in the frames, as :func:`split_ratings`.
    """
    _check_ratings(test, "test")
    _check_ratings(known, "known")
    k, chunk = v.check_size(k, "k"), v.check_size(chunk, "chunk")
    min_rating = float(v.check_finite(min_rating, "min_rating", ndim=0))
    seed = v.check_seed(seed)
    if max_users is not None:
        max_users = v.check_size(max_users, "max_users", hint="use None to score every user")
    largest_movie = int(max(test["movie_id"].max(), known["movie_id"].max()))
    if n_movies is not None:
        n_movies = v.check_size(n_movies, "n_movies", minimum=largest_movie, hint="it is the largest movie id")
    liked = test[test["rating"] >= min_rating]
    if liked.empty:
        raise ValueError(f"no test rating is >= {min_rating}: nothing to recall")
    relevant = liked.groupby("user_id")["movie_id"].apply(lambda s: set(s.tolist()))
    users = relevant.index.to_numpy(np.int64)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
        relevant = relevant.loc[users]
    if callable(scores):
        rows_of = scores
    else:
        table = np.asarray(keras.ops.convert_to_numpy(scores) if not isinstance(scores, np.ndarray) else scores)
        if table.dtype.kind not in "iuf":
            raise TypeError(f"scores must be numeric, got dtype {table.dtype}")
        table = table.astype(np.float64)
        if table.ndim == 1:
            rows_of = lambda ids: np.broadcast_to(table, (len(ids), len(table)))  # noqa: E731
        elif table.ndim == 2:
            if table.shape[0] <= users.max():
                raise ValueError(f"scores has {table.shape[0]} rows but test user {int(users.max())} needs row "
                                 f"{int(users.max())}: pass one row per user id (n_users + 1 rows)")  # fmt: skip
            rows_of = lambda ids: table[ids]  # noqa: E731
        else:
            raise ValueError(f"scores must be 1-D (one ranking) or 2-D (one row per user), got shape {table.shape}")
    seen = known.groupby("user_id")["movie_id"].apply(lambda s: s.to_numpy(np.int64))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recalls, capped, ndcgs = [], [], []
    width = None
    for begin in range(0, len(users), chunk):
        ids = users[begin:begin + chunk]
        block = np.array(rows_of(ids), dtype=np.float64)
        if block.ndim != 2 or block.shape[0] != len(ids):
            raise ValueError(f"scores for {len(ids)} users came back with shape {block.shape}; expected "
                             f"({len(ids)}, n_movies + 1)")  # fmt: skip
        expected = n_movies + 1 if n_movies is not None else width
        if n_movies is None and block.shape[1] > largest_movie + 1:
            raise ValueError(f"scores rows have {block.shape[1]} columns (movie ids 0..{block.shape[1] - 1}) but the "
                             f"ratings' largest movie id is {largest_movie}: columns past it would be recommended "
                             "and never count as hits. Score the catalogue (n_movies + 1 columns), or pass "
                             f"n_movies={block.shape[1] - 1} if it really has movies nobody rated")  # fmt: skip
        if (expected is not None and block.shape[1] != expected) or block.shape[1] <= largest_movie:
            wanted = f"{expected}" if expected is not None else f"at least {largest_movie + 1}"
            raise ValueError(f"scores rows have {block.shape[1]} columns but {wanted} are needed (one per movie "
                             f"id 0..n_movies; the ratings hold movie id {largest_movie})")  # fmt: skip
        width = block.shape[1]
        if np.isnan(block).any():
            bad = ids[np.isnan(block).any(axis=1)]
            raise ValueError(f"scores hold NaN for user(s) {bad[:5].tolist()}"
                             f"{' (every score)' if np.isnan(block).all() else ''}: a NaN cannot be ranked; "
                             "check the model (diverged training?)")  # fmt: skip
        excluded = np.zeros(block.shape, dtype=bool)
        excluded[:, 0] = True
        for row, user in enumerate(ids):
            if user in seen.index:
                excluded[row, seen[user]] = True
        order = _ranked(block, excluded)[:, :k]
        allowed = ~np.take_along_axis(excluded, order, 1)  # False past the end of a short list
        for user_list, ok, user in zip(order, allowed, ids):
            wanted = relevant[user]
            hits = np.zeros(k)  # a list shorter than k (catalogue smaller than k) scores no hit past its end
            hits[:len(user_list)] = [ok_i and movie in wanted for movie, ok_i in zip(user_list, ok)]
            ideal = min(k, len(wanted))
            recalls.append(hits.sum() / len(wanted))
            capped.append(hits.sum() / ideal)
            ndcgs.append(float(hits @ discounts) / discounts[:ideal].sum())
    return {"recall": float(np.mean(recalls)), "recall_capped": float(np.mean(capped)), "ndcg": float(np.mean(ndcgs)),
            "users": int(len(users))}


def rating_scorer(model: keras.Model):
    """A function ``user_ids -> float32 (len(user_ids), n_movies + 1)``: the rating model's stars for every movie.

    ``user_ids`` is a 1-D sequence of integer ids in 0..n_users; the function raises TypeError for
    other ids (floats, strings) and ValueError for negative ids or ids beyond the user table.
    ``rating_scorer`` itself raises TypeError when ``model`` is not a model made by
    :func:`build_rating_model` (a string, a Split).

    Computed from the model's tables with NumPy (the same formula as the model, implicit
    feedback included, not clipped), far faster than ``model.predict`` on every (user, movie) pair. Use it with
    :func:`ranking_metrics` or :func:`top_n`.
    """
    _table_sizes(model)  # a rating model (TypeError otherwise), before any layer is read
    p = keras.ops.convert_to_numpy(model.get_layer(USER_EMBEDDING).embeddings).astype(np.float64)
    q = keras.ops.convert_to_numpy(model.get_layer(MOVIE_EMBEDDING).embeddings).astype(np.float64)
    names = {layer.name for layer in model.layers}
    if RATED_MOVIES in names:  # implicit feedback: p_u + masked mean (or sqrt-normalised sum) of y_j
        rated = keras.ops.convert_to_numpy(model.get_layer(RATED_MOVIES).table).astype(np.int64)
        y = keras.ops.convert_to_numpy(model.get_layer(IMPLICIT_EMBEDDING).embeddings).astype(np.float64)
        mask = (rated != 0)[:, :, None]
        count = np.maximum(mask.sum(axis=1), 1)
        sqrt = model.get_layer(IMPLICIT_MEAN).combiner == "sqrtn"
        p = p + (y[rated] * mask).sum(axis=1) / (np.sqrt(count) if sqrt else count)
    elif IMPLICIT_MATMUL in names:  # the same term as one product
        layer = model.get_layer(IMPLICIT_MATMUL)
        weights = keras.ops.convert_to_numpy(layer.weights_matrix).astype(np.float64)
        p = p + weights @ keras.ops.convert_to_numpy(layer.embeddings).astype(np.float64)
    user_bias = keras.ops.convert_to_numpy(model.get_layer(USER_BIAS).embeddings)[:, 0]
    movie_bias = keras.ops.convert_to_numpy(model.get_layer(MOVIE_BIAS).embeddings)[:, 0]
    mean = model.get_layer(RATING).global_mean

    def scores(user_ids) -> np.ndarray:
        ids = v.check_ids(user_ids, "user_ids", minimum=0, maximum=len(p) - 1, ndim=1,
                          hint=f"the model's user table has rows 0..{len(p) - 1}; a negative id would read the last row")
        return mean + user_bias[ids, None] + movie_bias[None, :] + p[ids] @ q.T

    return scores


# --------------------------------------------------------------------------- vectors as objects


def _write_atomically(path: Path, write) -> None:
    """Call ``write(temporary_path)``, then rename the file to ``path``: a failure leaves no partial file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_projector_tsv(vectors, labels, folder, *, name: str = "movies") -> tuple[Path, Path]:
    """Write ``{name}_vectors.tsv`` and ``{name}_metadata.tsv`` for https://projector.tensorflow.org.

    The vectors file has one row per vector, numbers separated by tabs, no header. The
    metadata file has a header line and one row per vector: either one label per row (a
    list of strings) or the columns of a DataFrame. Tabs and newlines in labels become
    spaces. Load both files with the Projector's "Load" button. Each file is written to a
    temporary file in ``folder`` and renamed into place, so a failure never leaves a partial
    or empty file behind.

    Returns the two paths.

    Raises:
        ValueError: the row counts differ; ``vectors`` is not a 2-D table of finite numbers;
            ``name`` is not a plain file name (``"../x"``, ``"a/b"``: the files always stay
            in ``folder``).
        TypeError: ``folder`` is not a path, ``name`` not a string.
    """
    table = v.check_finite(keras.ops.convert_to_numpy(vectors), "vectors", ndim=2).astype(np.float32)
    name = v.check_file_name(name, "name", hint="the files are always written inside folder")
    folder = v.check_path(folder, "folder")
    meta = labels if isinstance(labels, pd.DataFrame) else pd.DataFrame({"label": list(labels)})
    if len(meta) != len(table):
        raise ValueError(f"{len(table)} vectors but {len(meta)} labels: one label per vector")
    folder.mkdir(parents=True, exist_ok=True)
    vector_path, meta_path = folder / f"{name}_vectors.tsv", folder / f"{name}_metadata.tsv"
    clean = meta.astype(str).apply(lambda c: c.str.replace(r"[\t\r\n]", " ", regex=True))
    _write_atomically(vector_path, lambda path: np.savetxt(path, table, delimiter="\t", fmt="%.5f"))
    _write_atomically(meta_path, lambda path: clean.to_csv(path, sep="\t", index=False, lineterminator="\n"))
    return vector_path, meta_path
