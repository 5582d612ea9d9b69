"""Exercises of lesson 06, feature columns versus Keras layers.

``from course_lib.exercises.lesson06 import q1, q2, q3, q4, q5``. Each checker raises
:class:`~course_lib.checks.Mistake` with a message that names the usual slip (forgotten mask or
OOV row, wrong number of hash bins, padding counted in a combiner, two tables instead of one).
TensorFlow is imported only when a check that needs it runs.
"""

from __future__ import annotations

import warnings

import numpy as np

from course_lib.checks import Case, Exercise, Mistake, error_text, expect_int, run_case, show, to_numpy
from course_lib.checks import _kind as kind_of

#: Occupations in MovieLens 100k's ``u.occupation`` (lesson 06 asserts the count).
NUM_OCCUPATIONS = 21

#: Rows of the movie table in q5: ids 1..1682 of ml-100k, plus the unused row 0.
NUM_MOVIE_ROWS = 1683


# --------------------------------------------------------------------------------------------
# q1: rows of the Keras table behind StringLookup(vocabulary=occupations, mask_token="")


def _check_q1(answer) -> str:
    if hasattr(answer, "vocabulary_size") and callable(answer.vocabulary_size):
        raise Mistake(f"that is {kind_of(answer)}; store the number of rows it needs, e.g. lookup.vocabulary_size()")
    if isinstance(answer, (float, np.floating)):
        raise Mistake(f"{show(answer)} is a float; a number of rows is an int")
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
    title="rows in the Keras occupation table",
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


def _q2_cases() -> list[Case]:
    small, occupations = _q2_tables()
    rng = np.random.default_rng(45)
    return [
        Case({"table": small}, about="a table of 3 words + OOV"),
        Case({"table": occupations}, about="the 21 occupations + OOV"),
        Case({"table": rng.normal(size=(6, 4))}, about="a float64 table"),
        Case({"table": np.array([[7.0, -7.0]], np.float32)}, about="a table with no words, only the OOV row"),
    ]


def _check_q2_port(function) -> str:
    for case in _q2_cases():
        table = case.inputs["table"]
        rows, dim = table.shape
        result = to_numpy(run_case(function, case, "fc_table_to_keras"), "your table")
        if result.ndim != 2:
            raise case.fail(f"the Keras table should be a matrix (rows, dim), got shape {result.shape}")
        if result.shape == (rows, dim):
            raise case.fail(
                f"same shape as the feature-column table ({rows}, {dim}): the Keras table needs one more row, "
                "index 0, for the mask token ''"
            )
        if result.shape[0] == rows and result.shape[1] != dim:
            raise case.fail(f"shape {result.shape}: you added a column; add a row instead (concatenate along axis=0)")
        if result.shape != (rows + 1, dim):
            raise case.fail(f"expected shape {(rows + 1, dim)}, got {result.shape}")
        if result.dtype.kind not in "f":
            raise case.fail(f"the table holds {result.dtype}; keep the table's float numbers")
        result = result.astype(np.float64)
        vocab, oov = table[:-1].astype(np.float64), table[-1].astype(np.float64)
        close = lambda a, b: a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=0)  # noqa: E731
        if close(result[1], oov) and close(result[2:], vocab):
            if not np.allclose(result[0], 0.0):
                raise case.fail(
                    "the rows are in the right order, but row 0 (the mask row) should be zeros: "
                    "start the table with np.zeros((1, dim))"
                )
            continue
        if close(result[-1], oov) and rows > 1:
            raise case.fail(
                "the OOV row is still last: StringLookup puts OOV ids before the vocabulary, so the "
                "feature column's last row belongs at index 1"
            )
        if close(result[0], oov) and close(result[2:], vocab):
            raise case.fail("index 0 is the mask and index 1 is OOV: you put the OOV row at index 0")
        if close(result[1:], table.astype(np.float64)):
            raise case.fail("you added the mask row but kept the feature-column order: move the last (OOV) row to index 1")
        if close(result[2:], vocab[::-1]):
            raise case.fail("the words are in reverse order: keep the vocabulary's order after the mask and OOV rows")
        raise case.fail("rows are in the wrong order: Keras wants [mask, OOV, word 0, word 1, ...]")
    return "Row 0 is the zero mask row, row 1 the OOV row, then the vocabulary in its original order."


q2 = Exercise(
    name="q2",
    title="port a feature-column table to the Keras row order",
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


def _keras_of(layer):
    """The Keras package (Keras 3 or tf_keras) whose Layer ``layer`` is; ``None`` if it is no layer."""
    import keras

    if isinstance(layer, keras.layers.Layer):
        return keras
    if type(layer).__module__.startswith("tf_keras"):
        import tf_keras

        if isinstance(layer, tf_keras.layers.Layer):
            return tf_keras
    return None


def _check_q3_hash(layer) -> str:
    import keras
    import tensorflow as tf

    if isinstance(layer, type):
        raise Mistake(f"that is the class {layer.__name__}; make a layer by calling it, e.g. {layer.__name__}(num_bins=...)")
    backend = _keras_of(layer)
    if backend is None:
        raise Mistake(f"expected a Keras layer (something you can call on strings), got {kind_of(layer)}")
    expected = _fc_hash_ids()
    zips_2d = tf.constant([[z] for z in _Q3_ZIPS])
    try:
        raw = layer(zips_2d)
    except Exception as exc:  # noqa: BLE001
        raise Mistake(f"calling your layer on a (10, 1) string tensor of zip codes raised {error_text(exc)}") from None
    ids = to_numpy(raw, "the layer's output")
    if ids.ndim >= 1 and ids.shape[-1] == _Q3_BUCKETS and ids.size != len(_Q3_ZIPS):
        raise Mistake(
            f"the layer returns vectors of length {_Q3_BUCKETS} (one-hot), not ids: keep the default output_mode='int'"
        )
    if ids.size != len(_Q3_ZIPS):
        raise Mistake(f"for {len(_Q3_ZIPS)} zip codes of shape (10, 1) the layer returned shape {ids.shape}; expected one id per zip")
    ids = ids.reshape(-1)
    if not np.issubdtype(ids.dtype, np.integer):
        raise Mistake(f"the ids should be integers, got dtype {ids.dtype}")
    if not np.array_equal(ids, expected):
        for bins in range(2, 2 * _Q3_BUCKETS + 1):
            candidate = tf.strings.to_hash_bucket_fast(zips_2d, bins).numpy().reshape(-1)
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
    try:  # the same layer inside a functional model, as a migrated model uses it
        inputs = backend.Input(shape=(1,), dtype="string")
        model = backend.Model(inputs, layer(inputs))
        in_model = to_numpy(model(zips_2d), "the model's output").reshape(-1)
    except Exception as exc:  # noqa: BLE001
        raise Mistake(f"your layer gives the right ids when called directly, but inside a functional model it raised {error_text(exc)}") from None
    if not np.array_equal(in_model, expected):
        raise Mistake("your layer gives the right ids when called directly, but other ids inside a functional model")
    return "Same FarmHash fingerprint modulo 50 as the feature column."


q3 = Exercise(
    name="q3",
    title="a Keras layer with the hash buckets of categorical_column_with_hash_bucket",
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


def _q4_cases() -> list[Case]:
    vectors, mask = _q4_inputs()
    rng = np.random.default_rng(46)
    big = (rng.normal(size=(2, 7, 2)) * 1e5).astype(np.float32)
    big_mask = np.array([[False, True, False, True, True, False, True], [True] * 7])
    return [
        Case({"vectors": vectors, "mask": mask}, about="the test batch (one row with no real entries)"),
        Case({"vectors": big, "mask": big_mask}, about="a (2, 7, 2) batch with large values"),
        Case({"vectors": rng.normal(size=(3, 2, 4)), "mask": np.zeros((3, 2), bool)}, about="a float64 batch with no real entries at all"),
    ]


def _check_q4_sqrtn(function) -> str:
    for case in _q4_cases():
        vectors, mask = case.inputs["vectors"], case.inputs["mask"]
        # a correct NumPy answer such as np.where(count > 0, total / np.sqrt(count), 0) divides by zero
        # on the empty row before np.where discards it: keep that warning out of the learner's notebook
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = to_numpy(run_case(function, case, "sqrtn_pool"), "sqrtn_pool's result")
        batch, steps, dim = vectors.shape
        if result.shape != (batch, dim):
            if result.shape == (batch, steps) and steps != dim:
                raise case.fail(
                    f"the result has shape {result.shape}: you pooled over the last axis (the embedding "
                    "dimension); pool over the sequence axis, axis=1"
                )
            if result.size == batch * dim:
                raise case.fail(f"the result has shape {result.shape}, expected {(batch, dim)}: drop the kept dimension")
            raise case.fail(f"the result should have shape {(batch, dim)}, got {result.shape}")
        if result.dtype.kind not in "f":
            raise case.fail(f"the result has dtype {result.dtype}; pooled vectors are floats")
        result = result.astype(np.float64)
        if np.isnan(result).any():
            raise case.fail(
                "a row whose mask is all False (no valid entries) gave NaN (0 / 0); the feature column "
                "returns zeros there: guard the division, e.g. tf.math.divide_no_nan or np.maximum(count, 1)"
            )
        expected = _pool(vectors, mask, np.sqrt)
        scale = max(1.0, float(np.abs(expected).max()))

        def close(candidate):
            return np.allclose(result, candidate, atol=1e-4 * scale, rtol=1e-5)

        if close(expected):
            continue
        everything = np.ones_like(mask)
        diagnoses = [
            (_pool(vectors, mask, lambda n: n), "that is the 'mean' combiner (divided by the count); 'sqrtn' divides by sqrt(count)"),
            (_pool(vectors, mask, lambda n: 1.0), "that is the 'sum' combiner: divide the masked sum by sqrt(count)"),
            (_pool(vectors, everything, np.sqrt), "the mask is ignored: padding vectors were summed and counted; multiply by the mask first"),
            (_pool(vectors, mask, lambda n: np.sqrt(steps)), f"you divided by sqrt({steps}), the padded length; divide by the square root of the number of True entries in each row"),
            ((vectors.sum(axis=1)) / np.sqrt(np.maximum(mask.sum(axis=1, keepdims=True), 1)), "the padding vectors were added into the sum: multiply the vectors by the mask before summing"),
            (_pool(vectors, ~mask, np.sqrt), "you pooled the padding entries: True in the mask marks the real ones"),
        ]
        for candidate, text in diagnoses:
            if close(candidate):
                raise case.fail(text)
        raise case.fail("right shape, wrong numbers: sum the vectors where mask is True, then divide by sqrt of how many there were")
    return "Masked sum divided by the square root of the number of real entries."


q4 = Exercise(
    name="q4",
    title="the 'sqrtn' combiner as masked pooling",
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


def _clone_of(model):
    """A copy of a functional or Sequential model (Keras 3 or tf_keras) with the same weights."""
    module = __import__("tf_keras") if type(model).__module__.startswith("tf_keras") else __import__("keras")
    clone = module.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def _check_q5(model) -> str:
    import keras
    import tensorflow as tf

    if isinstance(model, type):
        raise Mistake(f"that is the class {model.__name__}; answer with the model itself (an instance)")
    is_model = callable(model) and all(hasattr(model, name) for name in ("weights", "fit", "compile"))  # Keras 3 or tf_keras
    if not is_model:
        if isinstance(model, keras.layers.Layer):
            raise Mistake(f"that is {kind_of(model)}; build a keras.Model with two inputs and answer with the model")
        raise Mistake(f"expected a Keras model, got {kind_of(model)}")
    watched = np.array([[1], [50], [1682], [7], [181]], dtype=np.int32)
    candidate = np.array([[50], [1], [1], [7], [258]], dtype=np.int32)
    case = Case({"inputs": [watched, candidate]}, about="5 (watched, candidate) pairs")
    try:
        # called first: a subclassed model creates its weights on its first call
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = to_numpy(model([tf.constant(watched), tf.constant(candidate)]), "the model's output")
    except Exception as exc:  # noqa: BLE001
        raise case.fail(f"calling two_tower([watched_ids, candidate_ids]) raised {error_text(exc)}") from None
    tables = [w for w in model.weights if len(w.shape) == 2 and int(w.shape[0]) == NUM_MOVIE_ROWS]
    movie_tables = [w for w in tables if int(w.shape[1]) == 8]
    if len(movie_tables) > 1:
        raise Mistake(
            f"your model holds {len(movie_tables)} movie tables of shape {tuple(int(d) for d in movie_tables[0].shape)}: create the "
            "Embedding layer once and call that same layer object on both inputs"
        )
    if not movie_tables:
        shapes = [tuple(int(d) for d in w.shape) for w in model.weights]
        raise Mistake(f"no ({NUM_MOVIE_ROWS}, 8) table among the model's weights {shapes}: use one Embedding({NUM_MOVIE_ROWS}, 8)")
    extra = [tuple(int(d) for d in w.shape) for w in model.weights if w is not movie_tables[0]]
    if extra:
        raise Mistake(
            f"besides the shared ({NUM_MOVIE_ROWS}, 8) movie table your model has more weights {extra} (a bias table, "
            "a Dense layer...): this exercise's score is the dot product of the two movie vectors only"
        )
    if scores.size != len(watched):
        raise case.fail(
            f"the model returned shape {scores.shape}: it should give one score per pair, "
            "the dot product of the two movie vectors (keras.layers.Dot(axes=-1) on the flattened vectors)"
        )
    table = to_numpy(movie_tables[0]).astype(np.float64)
    expected = np.sum(table[watched[:, 0]] * table[candidate[:, 0]], axis=-1)
    got = scores.reshape(-1).astype(np.float64)
    if not np.allclose(got, expected, atol=1e-5):
        norms = np.linalg.norm(table[watched[:, 0]], axis=1) * np.linalg.norm(table[candidate[:, 0]], axis=1)
        if np.allclose(got, expected / norms, atol=1e-5):
            raise case.fail("the scores are cosine similarities (Dot(normalize=True)); this exercise asks for the plain dot product")
        raise case.fail("one shared table, but the scores are not the dot products of the two looked-up rows")
    # One training step, as lesson 04 trains such a model, on a copy: the learner's model keeps its
    # weights and its compile settings (a subclassed model cannot be cloned: its weights are restored).
    saved = model.get_weights()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                trained = _clone_of(model)
            except Exception:  # noqa: BLE001 - e.g. a subclassed model
                trained = model
            trained.compile(optimizer="sgd", loss="mse")  # a name: works for Keras 3 and tf_keras models
            trained.fit([watched, candidate], np.ones((len(watched), 1), np.float32), epochs=1, batch_size=5, verbose=0)
    except Exception as exc:  # noqa: BLE001
        raise Mistake(f"the model scores right, but one fit() step on 5 pairs raised {error_text(exc)}") from None
    finally:
        model.set_weights(saved)
    return "One variable, used by both inputs."


q5 = Exercise(
    name="q5",
    title="one movie table shared by two inputs",
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
