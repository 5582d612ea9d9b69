"""Exercises of lesson 06, feature columns versus Keras layers.

``from course_lib.exercises.lesson06 import q1, q2, q3, q4, q5``. Each checker raises
:class:`~course_lib.checks.Mistake` with a message that names the usual slip (forgotten mask or
OOV row, wrong number of hash bins, padding counted in a combiner, two tables instead of one).
TensorFlow is imported only when a check that needs it runs.
"""

from __future__ import annotations

import warnings

import numpy as np

from course_lib.checks import Exercise, Mistake, call_learner, expect_int, to_numpy

#: Occupations in MovieLens 100k's ``u.occupation`` (lesson 06 asserts the count).
NUM_OCCUPATIONS = 21

#: Rows of the movie table in q5: ids 1..1682 of ml-100k, plus the unused row 0.
NUM_MOVIE_ROWS = 1683


# --------------------------------------------------------------------------------------------
# q1: rows of the Keras table behind StringLookup(vocabulary=occupations, mask_token="")


def _check_q1(answer) -> str:
    rows = expect_int(answer, "the number of rows")
    expected = NUM_OCCUPATIONS + 2
    if rows == expected:
        return "Index 0 is the mask, 1 is OOV, 2..22 are the 21 occupations."
    if rows == NUM_OCCUPATIONS:
        raise Mistake(
            "21 is the vocabulary alone: StringLookup also reserves index 0 for the mask token '' "
            "and index 1 for out-of-vocabulary values, and the Embedding needs a row for every index"
        )
    if rows == NUM_OCCUPATIONS + 1:
        raise Mistake("one row short: count both the mask index (0) and the OOV index (1) in front of the 21 occupations")
    if rows == NUM_OCCUPATIONS + 3:
        raise Mistake("one row too many: the default num_oov_indices=1 adds one OOV row, and the mask adds one")
    raise Mistake(
        f"{rows} rows does not match the ids StringLookup produces: call "
        "lookup.vocabulary_size() or count mask + OOV + occupations"
    )


q1 = Exercise(
    name="q1",
    title="Rows in the Keras occupation table",
    checker=_check_q1,
    hint="""
        Print lookup.get_vocabulary() for StringLookup(vocabulary=occupations, mask_token=""):
        every entry of that list is one id, and the Embedding needs one row per id.
    """,
    solution="""
        lookup = keras.layers.StringLookup(vocabulary=occupations, mask_token="")
        keras_rows = lookup.vocabulary_size()   # 1 mask + 1 OOV + 21 occupations = 23
    """,
)


# --------------------------------------------------------------------------------------------
# q2: move a feature-column table (OOV row last) into the Keras layout (mask, OOV, vocabulary)


def _q2_tables() -> list[np.ndarray]:
    rng = np.random.default_rng(44)
    small = np.arange(12, dtype=np.float32).reshape(4, 3) + 1.0  # 3 words + OOV, all rows distinct
    occupations = rng.normal(size=(NUM_OCCUPATIONS + 1, 2)).astype(np.float32)
    return [small, occupations]


def _check_q2_port(function) -> str:
    for table in _q2_tables():
        rows, dim = table.shape
        result = to_numpy(call_learner(function, table.copy()), "your table")
        if result.ndim != 2:
            raise Mistake(f"the Keras table should be a matrix (rows, dim), got shape {result.shape}")
        if result.shape == (rows, dim):
            raise Mistake(
                f"same shape as the feature-column table ({rows}, {dim}): the Keras table needs one more row, "
                "index 0, for the mask token ''"
            )
        if result.shape[0] == rows and result.shape[1] != dim:
            raise Mistake(f"shape {result.shape}: you added a column; add a row instead (concatenate along axis=0)")
        if result.shape != (rows + 1, dim):
            raise Mistake(f"for a feature-column table of shape {table.shape} expected shape {(rows + 1, dim)}, got {result.shape}")
        result = result.astype(np.float64)
        vocab, oov = table[:-1], table[-1]
        if np.allclose(result[1], oov) and np.allclose(result[2:], vocab):
            if not np.allclose(result[0], 0.0):
                raise Mistake(
                    "the rows are in the right order, but row 0 (the mask row) should be zeros: "
                    "start the table with np.zeros((1, dim))"
                )
            continue
        if np.allclose(result[-1], oov):
            raise Mistake(
                "the OOV row is still last: StringLookup puts OOV ids before the vocabulary, so the "
                "feature column's last row belongs at index 1"
            )
        if np.allclose(result[0], oov) and np.allclose(result[2:], vocab):
            raise Mistake("index 0 is the mask and index 1 is OOV: you put the OOV row at index 0")
        if np.allclose(result[1:], table):
            raise Mistake("you added the mask row but kept the feature-column order: move the last (OOV) row to index 1")
        raise Mistake("rows are in the wrong order: Keras wants [mask, OOV, word 0, word 1, ...]")
    return "Row 0 is the zero mask row, row 1 the OOV row, then the vocabulary in its original order."


q2 = Exercise(
    name="q2",
    title="Port a feature-column table to the Keras row order",
    checker=_check_q2_port,
    hint="""
        Feature column with num_oov_buckets=1: rows [word 0, ..., word n-1, OOV].
        StringLookup(vocabulary, mask_token=""): ids [mask, OOV, word 0, ..., word n-1].
        Build the new table with np.concatenate([...], axis=0) from a zero row, table[-1:] and table[:-1].
    """,
    solution="""
        def fc_table_to_keras(table):
            table = np.asarray(table)
            mask_row = np.zeros((1, table.shape[1]), table.dtype)
            return np.concatenate([mask_row, table[-1:], table[:-1]], axis=0)
    """,
)


# --------------------------------------------------------------------------------------------
# q3: a Keras layer that gives the ids of categorical_column_with_hash_bucket("zip", 50)

#: Zip codes the q3 check hashes: ml-100k zips, a Canadian one that ml-100k also has, unseen ones.
_Q3_ZIPS = ["94043", "55414", "85711", "V3N4P", "00000", "K7L5J", "99999", "E2A4H", "12345", "60402"]
_Q3_BUCKETS = 50


def _fc_hash_ids(buckets: int = _Q3_BUCKETS) -> np.ndarray:
    import tensorflow as tf

    from course_lib.features import feature_column_ids

    column = tf.feature_column.categorical_column_with_hash_bucket("zip", hash_bucket_size=buckets)
    return feature_column_ids(column, _Q3_ZIPS)


def _check_q3_hash(layer) -> str:
    import tensorflow as tf

    if not callable(layer):
        raise Mistake(f"expected a Keras layer (something you can call on strings), got {type(layer).__name__}")
    zips = tf.constant([[z] for z in _Q3_ZIPS])
    ids = to_numpy(layer(zips), "the layer's output")
    if ids.ndim >= 1 and ids.shape[-1] == _Q3_BUCKETS and ids.size != len(_Q3_ZIPS):
        raise Mistake(
            f"the layer returns vectors of length {_Q3_BUCKETS} (one-hot), not ids: keep the default output_mode='int'"
        )
    if ids.size != len(_Q3_ZIPS):
        raise Mistake(f"for {len(_Q3_ZIPS)} zip codes of shape (10, 1) the layer returned shape {ids.shape}; expected one id per zip")
    ids = ids.reshape(-1)
    if not np.issubdtype(ids.dtype, np.integer):
        raise Mistake(f"the ids should be integers, got dtype {ids.dtype}")
    expected = _fc_hash_ids()
    if np.array_equal(ids, expected):
        return "Same FarmHash fingerprint modulo 50 as the feature column."
    for bins in range(2, 2 * _Q3_BUCKETS + 1):
        candidate = tf.strings.to_hash_bucket_fast(zips, bins).numpy().reshape(-1)
        if np.array_equal(ids, candidate):
            raise Mistake(f"your layer hashes into {bins} bins; the column has hash_bucket_size=50, so num_bins=50")
        if np.array_equal(ids, candidate + 1):
            raise Mistake(
                "your ids are shifted by one: mask_value reserves bin 0 for the mask and hashes the rest "
                "into num_bins - 1 bins; the feature column has no mask, so leave mask_value out"
            )
    raise Mistake(
        "right number of ids but different buckets: the feature column hashes with no salt "
        "(leave salt=None) and uses the fast FarmHash fingerprint, as keras.layers.Hashing does by default"
    )


q3 = Exercise(
    name="q3",
    title="A Keras layer with the hash buckets of categorical_column_with_hash_bucket",
    checker=_check_q3_hash,
    hint="""
        keras.layers.Hashing(num_bins=...) maps each string to an id in [0, num_bins). Which of its
        arguments (num_bins, mask_value, salt, output_mode) change the ids, and what should they be
        to match categorical_column_with_hash_bucket("zip", hash_bucket_size=50)?
    """,
    solution="""
        zip_hashing = keras.layers.Hashing(num_bins=50)
    """,
)


# --------------------------------------------------------------------------------------------
# q4: the 'sqrtn' combiner as masked pooling


def _q4_inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(4, 5, 3)).astype(np.float32)  # padding steps hold non-zero vectors too
    mask = np.array(
        [[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]],
        dtype=bool,
    )
    return vectors, mask


def _pool(vectors, mask, divide_by):
    weights = mask.astype(np.float64)[..., None]
    total = (vectors * weights).sum(axis=1)
    count = weights.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(count > 0, total / divide_by(count), 0.0)
    return out


def _check_q4_sqrtn(function) -> str:
    vectors, mask = _q4_inputs()
    # a correct NumPy answer such as np.where(count > 0, total / np.sqrt(count), 0) divides by zero
    # on the empty row before np.where discards it: keep that warning out of the learner's notebook
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = to_numpy(call_learner(function, vectors.copy(), mask.copy()), "sqrtn_pool's result")
    batch, steps, dim = vectors.shape
    if result.shape != (batch, dim):
        if result.shape == (batch, steps):
            raise Mistake(
                f"the result has shape {result.shape}: you pooled over the last axis (the embedding "
                "dimension); pool over the sequence axis, axis=1"
            )
        if result.size == batch * dim:
            raise Mistake(f"the result has shape {result.shape}, expected {(batch, dim)}: drop the kept dimension")
        raise Mistake(f"for vectors of shape {vectors.shape} the result should have shape {(batch, dim)}, got {result.shape}")
    result = result.astype(np.float64)
    if np.isnan(result).any():
        raise Mistake(
            "a row whose mask is all False (no valid entries) gave NaN (0 / 0); the feature column "
            "returns zeros there: guard the division, e.g. tf.math.divide_no_nan or np.maximum(count, 1)"
        )
    expected = _pool(vectors, mask, np.sqrt)

    def close(candidate):
        return np.allclose(result, candidate, atol=1e-4)

    if close(expected):
        return "Masked sum divided by the square root of the number of real entries."
    everything = np.ones_like(mask)
    diagnoses = [
        (_pool(vectors, mask, lambda n: n), "that is the 'mean' combiner (divided by the count); 'sqrtn' divides by sqrt(count)"),
        (_pool(vectors, mask, lambda n: 1.0), "that is the 'sum' combiner: divide the masked sum by sqrt(count)"),
        (_pool(vectors, everything, np.sqrt), "the mask is ignored: padding vectors were summed and counted; multiply by the mask first"),
        (_pool(vectors, mask, lambda n: np.sqrt(steps)), f"you divided by sqrt({steps}), the padded length; divide by the square root of the number of True entries in each row"),
        ((vectors.sum(axis=1)) / np.sqrt(np.maximum(mask.sum(axis=1, keepdims=True), 1)), "the padding vectors were added into the sum: multiply the vectors by the mask before summing"),
    ]
    for candidate, message in diagnoses:
        if close(candidate):
            raise Mistake(message)
    raise Mistake("right shape, wrong numbers: sum the vectors where mask is True, then divide by sqrt of how many there were")


q4 = Exercise(
    name="q4",
    title="The 'sqrtn' combiner as masked pooling",
    checker=_check_q4_sqrtn,
    hint="""
        Turn the mask into 0.0/1.0 weights of shape (batch, steps, 1), multiply, sum over axis 1;
        count the True entries per row; divide by the square root of that count, and give zeros
        where the count is 0 (tf.math.divide_no_nan does both).
    """,
    solution="""
        def sqrtn_pool(vectors, mask):
            weights = tf.cast(mask, vectors.dtype)[..., tf.newaxis]      # (batch, steps, 1)
            total = tf.reduce_sum(vectors * weights, axis=1)             # (batch, dim)
            count = tf.reduce_sum(weights, axis=1)                       # (batch, 1)
            return tf.math.divide_no_nan(total, tf.sqrt(count))
    """,
)


# --------------------------------------------------------------------------------------------
# q5: one movie table shared by the watched and the candidate movie


def _check_q5(model) -> str:
    if not callable(model) or not hasattr(model, "weights"):
        raise Mistake(f"expected a Keras model, got {type(model).__name__}")
    tables = [w for w in model.weights if len(w.shape) == 2 and int(w.shape[0]) == NUM_MOVIE_ROWS]
    if len(tables) > 1:
        raise Mistake(
            f"your model holds {len(tables)} movie tables of shape {tuple(tables[0].shape)}: create the "
            "Embedding layer once and call that same layer object on both inputs"
        )
    if not tables:
        shapes = [tuple(int(d) for d in w.shape) for w in model.weights]
        raise Mistake(f"no table with {NUM_MOVIE_ROWS} rows found among the model's weights {shapes}: use Embedding({NUM_MOVIE_ROWS}, 8)")
    table = to_numpy(tables[0]).astype(np.float64)
    watched = np.array([[1], [50], [1682], [7], [181]], dtype=np.int32)
    candidate = np.array([[50], [1], [1], [7], [258]], dtype=np.int32)
    scores = to_numpy(model([watched, candidate]), "the model's output")
    if scores.size != len(watched):
        raise Mistake(
            f"for 5 pairs the model returned shape {scores.shape}: it should give one score per pair, "
            "the dot product of the two movie vectors (keras.layers.Dot(axes=-1) on the flattened vectors)"
        )
    expected = np.sum(table[watched[:, 0]] * table[candidate[:, 0]], axis=-1)
    if not np.allclose(scores.reshape(-1).astype(np.float64), expected, atol=1e-5):
        raise Mistake("one shared table, but the scores are not the dot products of the two looked-up rows")
    return "One variable, used by both inputs."


q5 = Exercise(
    name="q5",
    title="One movie table shared by two inputs",
    checker=_check_q5,
    hint="""
        movie_table = keras.layers.Embedding(1683, 8) once; then movie_table(watched_in) and
        movie_table(candidate_in); Flatten both and join them with keras.layers.Dot(axes=-1).
    """,
    solution="""
        movie_table = keras.layers.Embedding(1683, 8, name="movie_table")
        watched_in = keras.Input(shape=(1,), dtype="int32", name="watched")
        candidate_in = keras.Input(shape=(1,), dtype="int32", name="candidate")
        watched_vec = keras.layers.Flatten()(movie_table(watched_in))
        candidate_vec = keras.layers.Flatten()(movie_table(candidate_in))
        score = keras.layers.Dot(axes=-1)([watched_vec, candidate_vec])
        two_tower = keras.Model([watched_in, candidate_in], score)
    """,
)

__all__ = ["q1", "q2", "q3", "q4", "q5"]
