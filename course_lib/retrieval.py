"""Two-tower retrieval on MovieLens: the loss, the model, its training and its serving (lesson 04).

The pieces, in the order lesson 04 uses them:

- :func:`logq_correction`, :func:`mask_accidental_hits`, :func:`retrieval_loss`: the in-batch
  softmax of a (batch, batch) logit matrix, with the sampling-bias ("logQ") correction and the
  removal of accidental hits, as TensorFlow Recommenders' ``tfrs.tasks.Retrieval`` computes them
  (``tensorflow_recommenders/tasks/retrieval.py`` and ``layers/loss.py``), in its order:
  temperature, then logQ, then accidental hits. TFRS's task takes the two batches of embeddings
  and the sampling *probabilities* (clipped to [1e-6, 1] before the log) and builds the logits
  itself; here the model's ``compute_loss`` builds the logits and the loss takes them with the
  candidate ids and log q. Either way the model only returns embeddings.
- :class:`TwoTower`: a user tower and a movie tower (one ``Embedding`` each). ``call`` returns
  the two batches of embeddings; ``compute_loss`` builds the logits and calls
  :func:`retrieval_loss`.
- :class:`RetrievalConfig`, :data:`RETRIEVAL_CONFIGS`, :func:`liked`, :func:`log_sampling_probability`,
  :func:`train_retrieval_model`: the settings chosen on validation (``tools/tune_retrieval.py``)
  and the training loop that keeps the epoch with the best validation Recall@10.
- :func:`recall_at_k`: a vectorised full-catalogue Recall@k (the same numbers as
  :func:`course_lib.recommender.ranking_metrics`, faster, for per-epoch validation).
- :func:`export_top_k`: a SavedModel with one endpoint ``user ids -> (top-k movie ids, scores)``,
  known movies excluded, written with Keras's ``keras.export.ExportArchive``; it loads with
  ``tf.saved_model.load`` alone.

Sources: X. Yi et al., "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item
Recommendations", RecSys 2019 (in-batch softmax, logQ correction, temperature; they estimate
the sampling probability by streaming frequency estimation, while here it is counted once over
the static training set); TensorFlow Recommenders 0.7 (``remove_accidental_hits``, off by
default, ``tasks/retrieval.py`` line 54; the logit fill ``np.finfo(np.float32).min / 100``);
P. Covington, J. Adams, E. Sargin, "Deep Neural Networks for YouTube Recommendations", RecSys
2016 (serving by nearest-neighbour search over the candidate vectors).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from keras import ops

from course_lib import validation as v
from course_lib.recommender import Split, _check_ids_fit, _check_ratings, known_items_mask, model_inputs

__all__ = [
    "MASKED_LOGIT", "logq_correction", "mask_accidental_hits", "retrieval_loss", "TwoTower", "RetrievalConfig",
    "RETRIEVAL_CONFIGS", "PREVIOUS_RETRIEVAL_CONFIG", "build_two_tower", "liked", "log_sampling_probability", "recall_at_k", "train_retrieval_model", "export_top_k",
]  # fmt: skip

#: The logit given to an accidental hit: TFRS's ``MIN_FLOAT`` (``layers/loss.py``), far below any
#: score, yet finite, so no ``inf - inf`` can appear in the softmax.
MASKED_LOGIT = float(np.finfo(np.float32).min / 100.0)

OPTIMIZERS = ("adam", "adagrad")
INITIALIZERS = ("normal", "uniform")


# --------------------------------------------------------------------------- the loss


def _check_logits(logits, what: str = "logits"):
    """ValueError unless ``logits`` is a 2-D square (batch, batch) matrix (checked on the static shape)."""
    shape = tuple(logits.shape)
    if len(shape) != 2:
        raise ValueError(f"{what} must be a (batch, batch) matrix of scores, got shape {shape}")
    rows, columns = shape
    if rows is not None and columns is not None and rows != columns:
        raise ValueError(f"{what} has shape {shape}, but the in-batch softmax needs a square (batch, batch) "
                         "matrix: row i is user i's score for each movie of the batch, its positive in column i; "
                         "score every user of the batch against the batch's own movies")  # fmt: skip


def _check_columns(values, logits, what: str):
    length = tuple(values.shape)
    if len(length) != 1:
        raise ValueError(f"{what} must be 1-D, one entry per column of the logits, got shape {length}")
    if length[0] is not None and logits.shape[1] is not None and length[0] != logits.shape[1]:
        raise ValueError(f"{what} has {length[0]} entries but the logits have {logits.shape[1]} columns: "
                         "pass one entry per movie of the batch")  # fmt: skip


def logq_correction(logits, log_q):
    """Yi et al.'s sampling-bias correction: ``logits - log_q[None, :]``.

    Args:
        logits: float (batch, batch), row ``i`` user ``i``'s scores for the batch's movies.
        log_q: float (batch,), the log probability that a column of the batch holds column ``j``'s
            movie (its share of the training positives, :func:`log_sampling_probability`).

    Returns:
        float (batch, batch). A popular movie (large ``log_q``) loses more: it is a negative in
        many batches, and the correction keeps the softmax from punishing it for that alone.

    Raises:
        ValueError: logits not square, ``log_q`` not one entry per column.
    """
    logits, log_q = ops.convert_to_tensor(logits), ops.convert_to_tensor(log_q)
    _check_logits(logits)
    _check_columns(log_q, logits, "log_q")
    return logits - ops.cast(log_q, logits.dtype)[None, :]


def mask_accidental_hits(logits, candidate_ids):
    """Give :data:`MASKED_LOGIT` to every copy of row ``i``'s positive outside the diagonal.

    A popular movie can be the positive of several rows of one batch. Without the mask, row
    ``i`` would count the other copies of its own positive as negatives. Entry ``(i, j)`` is
    masked when ``candidate_ids[j] == candidate_ids[i]`` and ``j != i`` (TFRS's
    ``RemoveAccidentalHits``, which adds ``MIN_FLOAT`` to the same entries).

    Args:
        logits: float (batch, batch).
        candidate_ids: int (batch,), the movie id of each column (= each row's positive).

    Returns:
        float (batch, batch), the same logits with accidental hits at :data:`MASKED_LOGIT`.

    Raises:
        ValueError: logits not square, ids not one per column.
    """
    logits, ids = ops.convert_to_tensor(logits), ops.convert_to_tensor(candidate_ids)
    _check_logits(logits)
    _check_columns(ids, logits, "candidate_ids")
    same = ops.equal(ids[:, None], ids[None, :])
    diagonal = ops.cast(ops.eye(ops.shape(logits)[0]), "bool")
    return ops.where(ops.logical_and(same, ops.logical_not(diagonal)), ops.cast(MASKED_LOGIT, logits.dtype), logits)


def retrieval_loss(logits, candidate_ids=None, log_q=None, *, temperature: float = 1.0):
    """The in-batch softmax cross-entropy of each row, its positive on the diagonal: float (batch,).

    Row ``i`` of ``logits`` holds user ``i``'s scores for the batch's movies, and its own liked
    movie is column ``i``; the other columns are its negatives. As ``tfrs.tasks.Retrieval``:
    divide by ``temperature``, subtract ``log_q`` per column when given (:func:`logq_correction`),
    mask accidental hits when ``candidate_ids`` are given (:func:`mask_accidental_hits`), then
    ``sparse_categorical_crossentropy(arange(batch), logits, from_logits=True)``.

    Raises:
        ValueError: logits not square, ``log_q``/``candidate_ids`` not one entry per column,
            ``temperature`` not a finite number > 0.
    """
    temperature = v.check_positive(temperature, "temperature")
    logits = ops.convert_to_tensor(logits)
    _check_logits(logits)
    if temperature != 1.0:
        logits = logits / temperature
    if log_q is not None:
        logits = logq_correction(logits, log_q)
    if candidate_ids is not None:
        logits = mask_accidental_hits(logits, candidate_ids)
    labels = ops.arange(ops.shape(logits)[0])
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


# --------------------------------------------------------------------------- the model


@keras.saving.register_keras_serializable(package="course_lib")
class TwoTower(keras.Model):
    """Two-tower retrieval model: a user ``Embedding`` and a movie ``Embedding`` (lesson 04).

    ``call({"user_id": int (batch,), "movie_id": int (batch,)})`` returns the embeddings,
    ``{"user": float32 (batch, dim), "movie": float32 (batch, dim)}`` (unit length when
    ``normalize``). Training goes through :meth:`compute_loss`: the (batch, batch) logits
    ``user @ movie.T`` and :func:`retrieval_loss` with this model's temperature, its
    ``log_q[movie_id]`` (when ``log_q`` is given) and the batch's movie ids (when
    ``remove_accidental_hits``). ``fit`` needs only ``x``; no ``y``, no ``loss`` in ``compile``.

    Args:
        n_users, n_movies: largest ids (tables of ``n + 1`` rows; row 0 is the padding id).
        dim: embedding dimension.
        log_q: float (n_movies + 1,), log sampling probability of each movie
            (:func:`log_sampling_probability`), or None for no correction.
        remove_accidental_hits: mask copies of a row's positive (:func:`mask_accidental_hits`).
        temperature: logits are divided by it (> 0).
        normalize: L2-normalise both embeddings (cosine scores), as Yi et al. do.
        loss_sum: add the rows' losses (TFRS's default ``Reduction.SUM``) instead of averaging them.
        initializer: ``"normal"`` (std ``init_scale``) or ``"uniform"`` (±``init_scale``,
            the Keras 2 ``Embedding`` default TFRS's tutorials get).
        seed: seeds the two initialisers (None: Keras's global generator).
    """

    def __init__(self, n_users: int, n_movies: int, dim: int = 32, *, log_q=None, remove_accidental_hits: bool = True,
                 temperature: float = 1.0, normalize: bool = False, initializer: str = "normal",
                 init_scale: float = 0.05, loss_sum: bool = False, seed: int | None = 42, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.n_users, self.n_movies = v.check_size(n_users, "n_users"), v.check_size(n_movies, "n_movies")
        self.dim = v.check_size(dim, "dim")
        self.remove_accidental_hits = v.check_bool(remove_accidental_hits, "remove_accidental_hits")
        self.temperature = v.check_positive(temperature, "temperature")
        self.normalize = v.check_bool(normalize, "normalize")
        self.initializer = v.check_choice(initializer, "initializer", INITIALIZERS)
        self.init_scale = v.check_positive(init_scale, "init_scale")
        self.loss_sum = v.check_bool(loss_sum, "loss_sum")
        self.seed = None if seed is None else v.check_seed(seed)

        def init(offset):
            seeded = None if seed is None else seed + offset
            if self.initializer == "uniform":
                return keras.initializers.RandomUniform(-self.init_scale, self.init_scale, seed=seeded)
            return keras.initializers.RandomNormal(stddev=self.init_scale, seed=seeded)

        self.user_tower = keras.layers.Embedding(self.n_users + 1, self.dim, embeddings_initializer=init(10),
                                                 name="user_tower")  # fmt: skip
        self.movie_tower = keras.layers.Embedding(self.n_movies + 1, self.dim, embeddings_initializer=init(11),
                                                  name="movie_tower")  # fmt: skip
        self.has_log_q = log_q is not None
        if self.has_log_q:
            log_q = v.check_finite(keras.ops.convert_to_numpy(log_q), "log_q", ndim=1)
            if log_q.shape != (self.n_movies + 1,):
                raise ValueError(f"log_q has shape {log_q.shape}; it needs one entry per movie id 0..n_movies, "
                                 f"shape ({self.n_movies + 1},): use log_sampling_probability(positives, n_movies)")
        self.log_q = self.add_weight(shape=(self.n_movies + 1,), name="log_q", trainable=False,
                                     initializer=keras.initializers.Constant(
                                         np.zeros(self.n_movies + 1) if log_q is None else np.asarray(log_q)))  # fmt: skip

    def _unit(self, vectors):
        return ops.normalize(vectors, axis=-1) if self.normalize else vectors

    def call(self, inputs):
        return {"user": self._unit(self.user_tower(inputs["user_id"])),
                "movie": self._unit(self.movie_tower(inputs["movie_id"]))}  # fmt: skip

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean (or, with ``loss_sum``, sum) of :func:`retrieval_loss` over the batch, plus any layer penalties.

        The loss is not scaled per replica: under a ``tf.distribute`` strategy (never used with this
        model in the course) each replica would compute its own slice's loss, and the gradients
        summed over replicas would not be those of the global batch's mean (lesson 05 shows the rule).
        """
        logits = ops.matmul(y_pred["user"], ops.transpose(y_pred["movie"]))
        movie_ids = x["movie_id"]
        log_q = ops.take(self.log_q, movie_ids, axis=0) if self.has_log_q else None
        ids = movie_ids if self.remove_accidental_hits else None
        rows = retrieval_loss(logits, ids, log_q, temperature=self.temperature)
        loss = ops.sum(rows) if self.loss_sum else ops.mean(rows)
        for penalty in self.losses:
            loss = loss + penalty
        return loss

    def user_vectors(self) -> np.ndarray:
        """float32 (n_users + 1, dim): the user tower's table (unit rows when ``normalize``)."""
        return self._numpy_unit(self.user_tower.embeddings)

    def movie_vectors(self) -> np.ndarray:
        """float32 (n_movies + 1, dim): the movie tower's table (unit rows when ``normalize``)."""
        return self._numpy_unit(self.movie_tower.embeddings)

    def _numpy_unit(self, table) -> np.ndarray:
        table = keras.ops.convert_to_numpy(table).astype(np.float32)
        if self.normalize:
            table = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
        return table

    def scores(self, user_ids) -> np.ndarray:
        """float32 (len(user_ids), n_movies + 1): each user's dot product with every movie (no correction).

        Raises ValueError for an id outside 0..n_users.
        """
        ids = v.check_ids(user_ids, "user_ids", minimum=0, maximum=self.n_users, ndim=1)
        return self.user_vectors()[ids] @ self.movie_vectors().T

    def get_config(self):
        return {**super().get_config(), "n_users": self.n_users, "n_movies": self.n_movies, "dim": self.dim,
                "remove_accidental_hits": self.remove_accidental_hits, "temperature": self.temperature,
                "normalize": self.normalize, "initializer": self.initializer, "init_scale": self.init_scale,
                "loss_sum": self.loss_sum, "seed": self.seed}  # fmt: skip


# --------------------------------------------------------------------------- settings and training


@dataclass(frozen=True)
class RetrievalConfig:
    """Settings of the two-tower model and its training, chosen on validation (``tools/tune_retrieval.py``).

    Attributes:
        dim: embedding dimension.
        batch_size: liked pairs per step (each row's negatives are the batch's other movies).
        learning_rate: the optimizer's step size.
        optimizer: ``"adam"`` or ``"adagrad"`` (TFRS's tutorials use Adagrad 0.1).
        epochs: upper limit; the epoch with the best validation Recall@10 is kept.
        temperature: logits are divided by it.
        logq: subtract the log sampling probability of each in-batch movie (Yi et al.).
        remove_accidental_hits: mask copies of a row's positive elsewhere in the batch.
        normalize: unit-length embeddings (cosine scores).
        initializer, init_scale: the towers' initial values (see :class:`TwoTower`).
        weight_decay: decoupled weight decay of the optimizer (``keras.optimizers.*(weight_decay=...)``),
            0 for none.
        loss_sum: add the rows' losses (TFRS's ``Reduction.SUM``) instead of averaging them.
    """

    dim: int = 32
    batch_size: int = 1024
    learning_rate: float = 0.01
    optimizer: str = "adam"
    epochs: int = 10
    temperature: float = 1.0
    logq: bool = True
    remove_accidental_hits: bool = True
    normalize: bool = False
    initializer: str = "normal"
    init_scale: float = 0.05
    weight_decay: float = 0.0
    loss_sum: bool = False

    def __post_init__(self):
        for name in ("dim", "batch_size", "epochs"):
            v.check_size(getattr(self, name), f"RetrievalConfig.{name}")
        for name in ("learning_rate", "temperature", "init_scale"):
            v.check_positive(getattr(self, name), f"RetrievalConfig.{name}")
        v.check_positive(self.weight_decay, "RetrievalConfig.weight_decay", allow_zero=True)
        for name in ("logq", "remove_accidental_hits", "normalize", "loss_sum"):
            v.check_bool(getattr(self, name), f"RetrievalConfig.{name}")
        v.check_choice(self.optimizer, "RetrievalConfig.optimizer", OPTIMIZERS)
        v.check_choice(self.initializer, "RetrievalConfig.initializer", INITIALIZERS)


#: The course's previous two-tower settings (before issue 19): Adam 0.01 on the mean loss, normal
#: initial values, dimension 32, no masking (the epoch cap is the search's, 6).
PREVIOUS_RETRIEVAL_CONFIG = RetrievalConfig(epochs=6, remove_accidental_hits=False)

#: Settings chosen on the validation slice only, for the ratings >= 4 of ``split_ratings(seed=42)``
#: (``tools/tune_retrieval.py``; README, "The retrieval search and serving"): the optimizer recipe of
#: TFRS's retrieval tutorial (Adagrad on the summed loss, uniform initial values in ±0.05) with
#: Adagrad 0.07, dimension 64, batches of 1,024 and at most 6 epochs (the lesson's time budget; the
#: best validation epoch is kept), with logQ and accidental-hit masking, which that tutorial does
#: not use (it passes no sampling probabilities, and ``tfrs.tasks.Retrieval``'s
#: ``remove_accidental_hits`` defaults to False). Masking tied with no masking on validation (0.2887
#: both) and is kept because the lesson teaches it and it costs nothing; no TFRS document recommends
#: it either way. ``"1m"`` was not searched: it reuses the 100k settings.
RETRIEVAL_CONFIGS: dict[str, RetrievalConfig] = {
    "100k": RetrievalConfig(dim=64, batch_size=1024, learning_rate=0.07, optimizer="adagrad", epochs=6,
                            loss_sum=True, initializer="uniform"),
}
RETRIEVAL_CONFIGS["1m"] = RETRIEVAL_CONFIGS["100k"]


def liked(ratings: pd.DataFrame, min_rating: float = 4.0) -> pd.DataFrame:
    """The rows of ``ratings`` with a rating >= ``min_rating``: the (user, movie) pairs the retrieval model learns from."""
    _check_ratings(ratings)
    min_rating = float(v.check_finite(min_rating, "min_rating", ndim=0))
    return ratings[ratings["rating"] >= min_rating]


def log_sampling_probability(positives: pd.DataFrame, n_movies: int) -> np.ndarray:
    """float32 (n_movies + 1,): ``log((count + 1) / (total + n_movies + 1))`` per movie id.

    Each movie's share of the positive pairs, counted once over the static training set (+1 so
    that a movie never liked gets a finite value). With batches drawn uniformly from the shuffled
    positives, it is the probability that a given in-batch column holds that movie. Yi et al.
    (RecSys 2019) estimate, from streaming data, the probability that an item is in a batch
    (1 / the average number of steps between its occurrences); for a movie rarer than one per
    batch that is ``batch_size`` times ours, which shifts every logit of a row by the same
    ``log(batch_size)`` and leaves the softmax unchanged. A movie in several columns of a typical
    batch differs more: ours is its expected count / ``batch_size`` (ml-100k's The English Patient,
    about 10 per batch of 1,024: about 0.01), while its probability of being in a batch saturates near 1.

    Raises ValueError when ``n_movies`` is smaller than a movie id of ``positives``.
    """
    _check_ratings(positives, "positives")
    n_movies = v.check_size(n_movies, "n_movies", minimum=int(positives["movie_id"].max()),
                            hint="it is the largest movie id")  # fmt: skip
    counts = np.bincount(positives["movie_id"].to_numpy(np.int64), minlength=n_movies + 1).astype(np.float64)
    return np.log((counts + 1.0) / (counts.sum() + len(counts))).astype(np.float32)


def recall_at_k(score_rows, exclude: np.ndarray, relevant: np.ndarray, users, k: int = 10) -> float:
    """Mean Recall@k over ``users``: hits in the top ``k`` of the full catalogue / relevant movies.

    Args:
        score_rows: function ``ids -> float (len(ids), n_movies + 1)`` (e.g. :meth:`TwoTower.scores`).
        exclude: bool (n_users + 1, n_movies + 1): never recommended (known movies, column 0).
        relevant: bool, same shape: the movies each user liked in the part being scored.
        users: int (n,) ids, each with at least one relevant movie.

    Ties are broken by the lower movie id, as :func:`course_lib.recommender.top_n` and
    :func:`course_lib.recommender.ranking_metrics`, which give the same number.

    Raises ValueError for mismatched shapes, a user without a relevant movie, or bad ``k``.
    """
    k = v.check_size(k, "k")
    exclude, relevant = np.asarray(exclude), np.asarray(relevant)
    if exclude.shape != relevant.shape or exclude.ndim != 2 or exclude.dtype != bool or relevant.dtype != bool:
        raise ValueError(f"exclude and relevant must be boolean (n_users + 1, n_movies + 1) matrices of one shape, "
                         f"got {exclude.dtype} {exclude.shape} and {relevant.dtype} {relevant.shape}")  # fmt: skip
    users = v.check_ids(users, "users", minimum=0, maximum=exclude.shape[0] - 1, ndim=1)
    n_relevant = relevant[users].sum(axis=1)
    if (n_relevant == 0).any():
        raise ValueError(f"user {int(users[np.argmax(n_relevant == 0)])} has no relevant movie: pass only users "
                         "with at least one")  # fmt: skip
    scores = np.asarray(score_rows(users))
    if scores.shape != (len(users), exclude.shape[1]):
        raise ValueError(f"score_rows gave shape {scores.shape}; expected ({len(users)}, {exclude.shape[1]})")
    scores = np.where(exclude[users], -np.inf, scores)
    k = min(k, scores.shape[1])
    # The top k of a stable sort, without sorting: every score above the k-th largest, then the
    # lowest ids among those equal to it (a partition is several times faster than argsort).
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1:k]
    above, tied = scores > kth, scores == kth
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= (k - above.sum(axis=1))[:, None]))
    hits = (chosen & relevant[users]).sum(axis=1)
    return float(np.mean(hits / n_relevant))


class _KeepBestRecall(keras.callbacks.Callback):
    """After each epoch: validation Recall@10; keeps the best epoch's weights (ties: the earlier)."""

    def __init__(self, exclude, relevant, users, k=10):
        super().__init__()
        self.checked = (exclude, relevant, users, k)
        self.recall: list[float] = []
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        self.recall.append(recall_at_k(self.model.scores, *self.checked))
        if self.recall[-1] > max(self.recall[:-1], default=-1.0):
            self.best_weights = self.model.get_weights()


def _positives(split: Split, min_rating: float, users) -> pd.DataFrame:
    """The liked training pairs of ``split`` (ratings >= ``min_rating``), of ``users`` only when given."""
    positives = liked(split.train, min_rating)
    if users is not None:
        positives = positives[positives["user_id"].isin(v.check_ids(users, "users", minimum=1, ndim=1))]
    return positives


def build_two_tower(split: Split, config: RetrievalConfig = RetrievalConfig(), *, seed: int = 0,
                    min_rating: float = 4.0, users: np.ndarray | None = None) -> TwoTower:  # fmt: skip
    """A :class:`TwoTower` with ``config``'s settings; ``log_q`` from the liked training pairs when ``config.logq``.

    With ``users`` (int ids), ``log_q`` counts only those users' pairs: the pairs the model will
    train on, so that users left out (lesson 04's cold start) shape nothing of the model, not even q.
    """
    positives = _positives(split, min_rating, users)
    log_q = log_sampling_probability(positives, split.n_movies) if config.logq else None
    return TwoTower(split.n_users, split.n_movies, config.dim, log_q=log_q,
                    remove_accidental_hits=config.remove_accidental_hits, temperature=config.temperature,
                    normalize=config.normalize, initializer=config.initializer, init_scale=config.init_scale,
                    loss_sum=config.loss_sum, seed=seed)  # fmt: skip


def train_retrieval_model(split: Split, config: RetrievalConfig = RetrievalConfig(), *, seed: int = 0,
                          min_rating: float = 4.0, users: np.ndarray | None = None) -> tuple[TwoTower, dict]:  # fmt: skip
    """Train a two-tower model on the liked pairs of ``split.train``; keep its best validation epoch.

    Each epoch shuffles the training pairs (ratings >= ``min_rating``) with Keras's seeded
    generator and ends with the validation Recall@10 over the full catalogue (movies rated in
    training excluded, validation ratings >= ``min_rating`` relevant); the weights of the best
    epoch are restored. The test part is never touched. Used by lesson 04 and
    ``tools/tune_retrieval.py``.

    Args:
        split: from :func:`course_lib.recommender.split_ratings`; needs a validation part.
        config: the settings.
        seed: seeds Keras's generators (initial values, shuffling).
        users: optional user ids whose training pairs are used (the others' are dropped, from the
            training and from ``log_q`` alike), for a cold-start test on users the model never saw.

    Returns:
        ``(model, history)``: ``history`` has ``loss`` and ``val_recall`` per epoch, ``best_epoch``
        (1-based), ``seconds`` (whole fit).

    Raises:
        ValueError: no validation ratings >= ``min_rating``, or ids outside the split's sizes.
    """
    if not isinstance(split, Split):
        raise TypeError(f"split must be a Split (course_lib.recommender.split_ratings), got {type(split).__name__}")
    if not isinstance(config, RetrievalConfig):
        raise TypeError(f"config must be a RetrievalConfig, got {type(config).__name__}")
    seed = v.check_seed(seed)
    positives = _positives(split, min_rating, users)
    _check_ids_fit(positives, split.n_users, split.n_movies, "train")
    val_liked = split.validation[split.validation["rating"] >= min_rating]
    if val_liked.empty:
        raise ValueError(f"split.validation has no rating >= {min_rating}: nothing to choose the epoch on")
    if users is not None:
        val_liked = val_liked[val_liked["user_id"].isin(positives["user_id"].unique())]
    exclude = known_items_mask(split.train, split.n_users, split.n_movies)
    relevant = np.zeros_like(exclude)
    relevant[val_liked["user_id"].to_numpy(), val_liked["movie_id"].to_numpy()] = True
    keep = _KeepBestRecall(exclude, relevant, np.unique(val_liked["user_id"].to_numpy()))
    keras.utils.set_random_seed(seed)
    model = build_two_tower(split, config, seed=seed, min_rating=min_rating, users=users)
    optimizer = (keras.optimizers.Adam if config.optimizer == "adam" else keras.optimizers.Adagrad)(
        config.learning_rate, weight_decay=config.weight_decay or None)
    model.compile(optimizer=optimizer, steps_per_execution=64)
    start = time.perf_counter()
    fitted = model.fit(model_inputs(positives), batch_size=config.batch_size, epochs=config.epochs, shuffle=True,
                       callbacks=[keep], verbose=0)  # fmt: skip
    seconds = time.perf_counter() - start
    model.set_weights(keep.best_weights)
    history = {"loss": [float(x) for x in fitted.history["loss"]], "val_recall": keep.recall,
               "best_epoch": int(np.argmax(keep.recall)) + 1, "seconds": seconds}  # fmt: skip
    return model, history


# --------------------------------------------------------------------------- serving


def export_top_k(model: TwoTower, known: pd.DataFrame, folder, *, k: int = 10):
    """Write a SavedModel whose endpoint ``serve(user_ids) -> {"movie_ids", "scores"}`` gives the top ``k``.

    Built with ``keras.export.ExportArchive``: the archive tracks ``model`` (its two tables)
    and a non-trainable boolean (n_users + 1, n_movies + 1) table of the movies each user
    already rated in ``known``; the endpoint takes int32 user ids (any batch size), scores
    every movie (``user_vector @ movie_vectors.T``), puts ``-inf`` on known movies and id 0,
    and returns ``tf.math.top_k`` (ties: the lower id first, as :func:`course_lib.recommender.top_n`).
    ``tf.saved_model.load(folder).serve(ids)`` then needs TensorFlow only.

    Returns ``folder`` as a Path. Raises ValueError for ``k`` larger than the movies left to some
    user, TypeError for a model that is not a :class:`TwoTower`.
    """
    import tensorflow as tf

    if not isinstance(model, TwoTower):
        raise TypeError(f"model must be a TwoTower, got {type(model).__name__}")
    k = v.check_size(k, "k")
    folder = v.check_path(folder, "folder")
    exclude = known_items_mask(known, model.n_users, model.n_movies)
    left = (~exclude).sum(axis=1)
    if left.min() < k:
        raise ValueError(f"k={k} but user {int(np.argmin(left))} has only {int(left.min())} movies left to recommend")
    known_table = tf.Variable(exclude, trainable=False, name="known")

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(known_table)  # keeps the variable in the SavedModel

    def serve(user_ids):
        users = model._unit(tf.gather(model.user_tower.embeddings, user_ids))
        scores = tf.linalg.matmul(users, model._unit(model.movie_tower.embeddings), transpose_b=True)
        scores = tf.where(tf.gather(known_table, user_ids), tf.constant(-np.inf, tf.float32), scores)
        top = tf.math.top_k(scores, k=k)
        return {"movie_ids": top.indices, "scores": top.values}

    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec((None,), tf.int32, name="user_ids")])
    archive.write_out(str(folder), verbose=False)
    return Path(folder)
