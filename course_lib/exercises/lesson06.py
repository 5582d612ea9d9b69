"""Exercises of lesson 06, feature columns versus Keras layers.

``from course_lib.exercises.lesson06 import q1, q2, q3, q4, q5``. Each checker raises
:class:`~course_lib.checks.Mistake` with a message that names the usual slip (forgotten mask or
OOV row, wrong number of hash bins, padding counted in a combiner, two tables instead of one).
TensorFlow is imported only when a check that needs it runs.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from course_lib.checks import (
    NUMBER_PITFALLS,
    Case,
    Exercise,
    Mistake,
    Pitfall,
    describe,
    diagnose,
    explain_error,
    explained_error,
    facts,
    fallback,
    read_number,
    run_case,
    show,
    table_size_pitfalls,
    broadcast_shapes,
    function_advice,
    is_tensor,
    missing_feature_axis,
    mixed_dtypes,
    tensor_advice,
    tensor_lacks,
    to_numpy,
    with_article,
)

#: Occupations in MovieLens 100k's ``u.occupation`` (lesson 06 asserts the count).
NUM_OCCUPATIONS = 21

#: Rows of the movie table in q5: ids 1..1682 of ml-100k, plus the unused row 0.
NUM_MOVIE_ROWS = 1683


# --------------------------------------------------------------------------------------------
# q1: rows of the Keras table behind StringLookup(vocabulary=occupations, mask_token="")


_Q1_ROWS = NUM_OCCUPATIONS + 2

_Q1_TYPE = [
    Pitfall("lookup-object", lambda f: callable(getattr(f.answer, "vocabulary_size", None)),
            lambda f: f"that is {describe(f.answer)}; store the number of rows it needs: call its vocabulary_size() method"),
    Pitfall("uncalled-method", lambda f: getattr(f.answer, "__name__", "") == "vocabulary_size" and callable(f.answer),
            "that is the method vocabulary_size itself, not its result: call it, with ()"),
    Pitfall("vocabulary-list", lambda f: isinstance(f.answer, (list, tuple)) and len(f.answer) > 1
            and all(isinstance(w, str) for w in f.answer),
            lambda f: f"that is the vocabulary itself ({len(f.answer)} entries); the answer is how many rows the table "
                      "needs, a number (its length counts the ids)"),
]

_Q1_VALUE = [
    Pitfall("fractional", lambda f: not float(f.value).is_integer(),
            lambda f: f"{show(f.answer)} is not a whole number; a number of rows is an int"),
    Pitfall("vocabulary-alone", lambda f: f.value == NUM_OCCUPATIONS,
            "21 is the vocabulary alone: StringLookup also reserves index 0 for the mask token '' and index 1 for "
            "out-of-vocabulary values, and the Embedding needs a row for every index"),
    Pitfall("one-row-short", lambda f: f.value == NUM_OCCUPATIONS + 1,
            "22 rows is one short: StringLookup's ids run 0 (the mask), 1 (OOV) and 2 to 22 (the 21 occupations), so "
            "the largest id is 22 and the table needs a row for each of the 23 ids"),
    Pitfall("one-row-too-many", lambda f: f.value == NUM_OCCUPATIONS + 3,
            "one row too many: the default num_oov_indices=1 adds one OOV row, and the mask adds one"),
    Pitfall("two-rows-too-many", lambda f: f.value == NUM_OCCUPATIONS + 4,
            "two rows too many: StringLookup adds exactly two ids in front of the 21 occupations (mask 0, OOV 1)"),
    Pitfall("not-positive", lambda f: float(f.value).is_integer() and f.value <= 0,
            lambda f: f"{show(f.answer)} rows: a table needs a positive number of rows"),
]


def _check_q1(answer) -> str:
    diagnose(_Q1_TYPE, facts(answer=answer))
    number = read_number(answer, "the number of rows")
    found = facts(answer=answer, number=number, value=number.value)
    diagnose(_Q1_VALUE, found)
    if number.value != _Q1_ROWS:
        raise fallback(f"{show(answer)} rows does not match the ids StringLookup produces",
                       "call lookup.vocabulary_size(), or count mask + OOV + occupations")
    diagnose(_Q1_TYPE_SIZE, found)
    return "Index 0 is the mask, 1 is OOV, 2..22 are the 21 occupations."


_Q1_TYPE_SIZE = table_size_pitfalls(_Q1_ROWS)


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
    mistakes=[*_Q1_TYPE, *NUMBER_PITFALLS, *_Q1_VALUE, *_Q1_TYPE_SIZE],
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


def _q2_facts(case: Case, result) -> object:
    table = case.inputs["table"]
    rows, dim = table.shape
    array = to_numpy(result, "your table")
    values = array.astype(np.float64) if array.dtype.kind in "biuf" else None
    vocab, oov = table[:-1].astype(np.float64), table[-1].astype(np.float64)
    return facts(table=table, rows=rows, dim=dim, array=array, values=values, vocab=vocab, oov=oov, result=result,
                 full=table.astype(np.float64), has_dtype=hasattr(result, "dtype"))


def _close(a, b) -> bool:
    return a is not None and a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=0))


def _right_shape(f) -> bool:
    return f.array.shape == (f.rows + 1, f.dim) and f.values is not None


def _right_order(f) -> bool:
    return _right_shape(f) and _close(f.values[1], f.oov) and _close(f.values[2:], f.vocab)


def _dropped_rows(f) -> list[int]:
    """Word rows of the feature-column table that appear nowhere in the answer."""
    if f.values is None or f.values.ndim != 2 or f.values.shape[1] != f.dim:
        return []
    return [i for i in range(f.rows - 1) if not any(np.allclose(f.values[j], f.vocab[i]) for j in range(len(f.values)))]


def _has_mask_and_oov(f) -> bool:
    """Row 0 zeros and row 1 the OOV row: the Keras layout's head is right."""
    return (f.values is not None and f.values.ndim == 2 and f.values.shape[1] == f.dim and len(f.values) >= 2
            and np.allclose(f.values[0], 0.0) and _close(f.values[1], f.oov))


def _which_slice(f) -> str:
    missing = _dropped_rows(f)
    if missing and missing[0] == 0 and missing == list(range(len(missing))):
        return "a slice that starts one row late, like table[1:...]?"
    if missing and missing[-1] == f.rows - 2 and missing == list(range(missing[0], f.rows - 1)):
        return "a slice that stops too early, like table[:-2]?"
    return "check the slices you join"


def _concat_widths(text: str) -> tuple[int, int] | None:
    """The two widths a concatenation error names (NumPy's or tf.concat's), if the pieces differ in width."""
    match = re.search(r"along dimension 1, the array at index \d+ has size (\d+) and the array at index \d+ has size (\d+)", text)
    if match:
        return int(match[1]), int(match[2])
    match = re.search(r"Dimension 1 in both shapes must be equal: shape\[\d+\] = \[\d+,(\d+)\] vs\. shape\[\d+\] = \[\d+,(\d+)\]", text)
    return (int(match[1]), int(match[2])) if match else None


_Q2_ERRORS = [
    Pitfall("dtype-mix", lambda f: mixed_dtypes(f.text) is not None or "must be the same type" in f.text,
            lambda f: "the pieces you join have different dtypes"
                      + (f" ({mixed_dtypes(f.text)[0]} and {mixed_dtypes(f.text)[1]})" if mixed_dtypes(f.text) else "")
                      + ", and tf.concat never converts: make the zero row in the table's dtype, "
                      "np.zeros((1, dim), table.dtype) or tf.zeros((1, dim), table.dtype)"),
    Pitfall("numpy-method-on-tensor", lambda f: tensor_lacks(f.text) is not None,
            lambda f: f"the tf functions give tensors, and NumPy methods do not work on them: {tensor_advice(f.text)} "
                      "(or stay with NumPy throughout: np.concatenate and np.zeros)"),
    Pitfall("one-d-row", lambda f: "must have same number of dimensions" in f.text,
            "one piece you join is 1-D (a single row taken as table[-1], or np.zeros(dim)), and np.concatenate joins "
            "pieces with the same number of axes: table[-1:] and np.zeros((1, dim), table.dtype) keep them 2-D"),
    Pitfall("fixed-width", lambda f: _concat_widths(f.text) is not None,
            lambda f: f"the pieces you join have {_concat_widths(f.text)[0]} and {_concat_widths(f.text)[1]} columns: "
                      "take the zero row's width from the table, table.shape[1], not a number of your own"),
]

_Q2_LAYER = Pitfall(
    "returned-layer", lambda f: type(f.result).__module__.startswith(("keras", "tf_keras")) and not is_tensor(f.result),
    lambda f: f"you returned {describe(f.result)}, a layer that holds a table: return the table itself, the array of "
              "numbers (the lesson's next cells put it into an Embedding)",
)

_Q2 = [
    Pitfall("not-a-matrix", lambda f: f.array.ndim != 2,
            lambda f: f"the Keras table should be a matrix (rows, dim), got shape {f.array.shape}: join 2-D pieces "
                      "along axis 0, np.concatenate([...], axis=0)"),
    Pitfall("no-mask-row", lambda f: f.array.shape == (f.rows, f.dim) and not (f.rows > 1 and _has_mask_and_oov(f)),
            lambda f: f"same shape as the feature-column table ({f.rows}, {f.dim}): the Keras table needs one more row, "
                      "index 0, for the mask token ''"),
    Pitfall("added-column", lambda f: f.array.ndim == 2 and f.array.shape[0] == f.rows and f.array.shape[1] != f.dim,
            lambda f: f"shape {f.array.shape}: you added a column; add a row instead (concatenate along axis=0)"),
    Pitfall("not-float", lambda f: _right_shape(f) and f.array.dtype.kind != "f" or f.values is None and f.array.ndim == 2,
            lambda f: f"the table holds {f.array.dtype}; keep the table's float numbers (no cast, and a zero row in "
                      "table.dtype)"),
    Pitfall("dropped-row", lambda f: f.values is not None and f.array.shape in ((f.rows + 1, f.dim), (f.rows, f.dim))
            and len(_dropped_rows(f)) > 0 and (_right_shape(f) or _has_mask_and_oov(f)),
            lambda f: f"word row {_dropped_rows(f)[0]} of the feature-column table is missing from your table "
                      f"({_which_slice(f)}): every word row must move, table[:-1] holds them all"),
    Pitfall("oov-twice", lambda f: f.array.shape == (f.rows + 2, f.dim) and f.values is not None and f.rows > 1
            and _has_mask_and_oov(f) and _close(f.values[2:], f.full),
            "the OOV row appears twice, at index 1 and again at the end: the words are table[:-1], without the "
            "feature column's last (OOV) row"),
    Pitfall("oov-still-last", lambda f: _right_shape(f) and f.rows > 1 and _close(f.values[-1], f.oov) and not _dropped_rows(f),
            "the OOV row is still last: StringLookup puts OOV ids before the vocabulary, so the feature column's last "
            "row belongs at index 1"),
    Pitfall("oov-at-zero", lambda f: _right_shape(f) and _close(f.values[0], f.oov) and _close(f.values[2:], f.vocab)
            and not _close(f.values[1], f.oov),
            "index 0 is the mask and index 1 is OOV: you put the OOV row at index 0"),
    Pitfall("reversed-words", lambda f: _right_shape(f) and f.rows > 2 and _close(f.values[2:], f.vocab[::-1]),
            "the words are in reverse order: keep the vocabulary's order after the mask and OOV rows"),
    Pitfall("mask-row-not-zero", lambda f: _right_order(f) and not np.allclose(f.values[0], 0.0),
            "the rows are in the right order, but row 0 (the mask row) should be zeros: start the table with "
            "np.zeros((1, dim), table.dtype)"),
    Pitfall("python-list", lambda f: _right_order(f) and np.allclose(f.values[0], 0.0) and not f.has_dtype,
            lambda f: f"the rows are right, but you returned a Python {type(f.result).__name__}, which has no dtype: the "
                      f"prompt asks for the table's dtype ({f.table.dtype}). Return an array or a tensor: join the pieces "
                      "with np.concatenate, or np.asarray(rows, dtype=table.dtype)"),
    Pitfall("upcast", lambda f: _right_order(f) and np.allclose(f.values[0], 0.0) and f.has_dtype and f.array.dtype != f.table.dtype
            and f.array.dtype.kind == "f",
            lambda f: f"the numbers are right, but the table became {f.array.dtype} (it was {f.table.dtype}): a piece "
                      "made without a dtype has its library's default (np.zeros and Python lists: float64; tf.zeros: "
                      "float32), and the join takes it on. Create the zero row with the table's dtype, "
                      "np.zeros((1, dim), table.dtype)"),
]


def _check_q2_port(function) -> str:
    for case in _q2_cases():
        result = run_case(function, case, "fc_table_to_keras", explain=_Q2_ERRORS)
        diagnose([_Q2_LAYER], facts(result=result), case=case, name="fc_table_to_keras")
        found = _q2_facts(case, result)
        if _right_order(found) and np.allclose(found.values[0], 0.0) and found.has_dtype and found.array.dtype == found.table.dtype:
            continue
        diagnose(_Q2, found, case=case, name="fc_table_to_keras")
        if not _right_shape(found):
            raise fallback(f"expected shape {(found.rows + 1, found.dim)}, got {found.array.shape}",
                           "one zero row in front of the table's rows: (len(table) + 1, dim)", case=case)
        raise fallback("the rows are not in the Keras order", "Keras wants [mask (zeros), OOV (the table's last row), "
                       "word 0, word 1, ...]", case=case)
    return "Row 0 is the zero mask row, row 1 the OOV row, then the vocabulary in its original order."


q2 = Exercise(
    name="q2",
    title="port a feature-column table to the Keras row order",
    checker=_check_q2_port,
    hint="""
        Feature column with num_oov_buckets=1: rows [word 0, ..., word n-1, OOV].
        StringLookup(vocabulary, mask_token=""): ids [mask, OOV, word 0, ..., word n-1].
        Build the new table with np.concatenate([...], axis=0) from a zero row of the table's dtype
        (np.zeros((1, dim), table.dtype)), table[-1:] and table[:-1].
    """,
    solution="""
        def fc_table_to_keras(table):
            table = np.asarray(table)
            mask_row = np.zeros((1, table.shape[1]), table.dtype)
            return np.concatenate([mask_row, table[-1:], table[:-1]], axis=0)
    """,
    mistakes=[*_Q2_ERRORS, _Q2_LAYER, *_Q2],
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


def _matching_bins(ids: np.ndarray, zips_2d, shift: int = 0) -> int | None:
    import tensorflow as tf

    for bins in range(2, 2 * _Q3_BUCKETS + 1):
        if np.array_equal(ids, tf.strings.to_hash_bucket_fast(zips_2d, bins).numpy().reshape(-1) + shift):
            return bins
    return None


def _not_a_layer_advice(answer) -> str:
    if isinstance(answer, str):
        return "write the layer without quotes, keras.layers.Hashing(num_bins=...)"
    if is_tensor(answer):
        return "that is what a layer returns when called on data; keep the layer itself, without calling it"
    if "Column" in type(answer).__name__:
        return "that is the feature column itself; the Keras layer that gives its ids is keras.layers.Hashing(num_bins=...)"
    return "make one, keras.layers.Hashing(num_bins=...)"


_Q3_TYPE = [
    Pitfall("the-class", lambda f: isinstance(f.answer, type),
            lambda f: f"that is the class {f.answer.__name__}; make a layer by calling it, e.g. {f.answer.__name__}(num_bins=...)"),
    Pitfall("not-a-layer", lambda f: not isinstance(f.answer, type) and _keras_of(f.answer) is None,
            lambda f: f"expected a Keras layer (something you can put in a model and call on strings), got "
                      f"{describe(f.answer)}: {_not_a_layer_advice(f.answer)}"),
]


def _is_keras_model(layer) -> bool:
    return all(hasattr(layer, name) for name in ("fit", "compile", "layers"))


_Q3_CALL = [
    Pitfall("no-string-input", lambda f: "Cast string to" in f.text and _is_keras_model(f.inputs["layer"]),
            "your model has no string Input, so Keras fed it floats and could not cast the zip codes: start it with "
            "keras.Input(shape=(1,), dtype=\"string\"), or answer with the Hashing layer itself"),
    Pitfall("crossing-layer", lambda f: "should be called on a list or tuple" in f.text,
            lambda f: f"{describe(f.inputs['layer'])} hashes a *cross* of two or more features, so it is called on a "
                      "list of inputs; one feature's strings are hashed by keras.layers.Hashing(num_bins=...)"),
    Pitfall("numeric-layer", lambda f: "Cast string to" in f.text and not _is_keras_model(f.inputs["layer"]),
            lambda f: f"{describe(f.inputs['layer'])} works on numbers, so it cannot take the zip codes, which are strings: the "
                      "feature column hashes strings, as keras.layers.Hashing does"),
]

_Q3_IN_MODEL = [
    Pitfall("lambda-output-shape", lambda f: "Lambda" in f.text and "output_shape" in f.text,
            "a Lambda layer does not tell Keras the shape of its output, so a model cannot be built around it (its ids "
            "are right): keras.layers.Hashing(num_bins=50) hashes with the same FarmHash fingerprint and works in a "
            "model"),
]

_Q3 = [
    Pitfall("one-hot-output", lambda f: f.ids.ndim >= 1 and f.ids.shape[-1] == _Q3_BUCKETS and f.ids.size != len(_Q3_ZIPS),
            f"the layer returns vectors of length {_Q3_BUCKETS} (one-hot or counts), not ids: keep the default "
            "output_mode='int'"),
    Pitfall("wrong-output-size", lambda f: f.ids.size != len(_Q3_ZIPS) and not (f.ids.ndim >= 1 and f.ids.shape[-1] == _Q3_BUCKETS),
            lambda f: f"for {len(_Q3_ZIPS)} zip codes of shape (10, 1) the layer returned shape {f.ids.shape}; expected "
                      "one id per zip, (10, 1), as keras.layers.Hashing alone gives"),
    Pitfall("not-integers", lambda f: f.ids.size == len(_Q3_ZIPS) and not np.issubdtype(f.ids.dtype, np.integer),
            lambda f: f"the ids should be integers, got dtype {f.ids.dtype}: keep the Hashing layer's int64 ids, with "
                      "no cast or other layer after it"),
    Pitfall("wrong-bins", lambda f: f.flat is not None and _matching_bins(f.flat, f.zips) not in (None, _Q3_BUCKETS),
            lambda f: f"your layer hashes into {_matching_bins(f.flat, f.zips)} bins; the column has "
                      f"hash_bucket_size={_Q3_BUCKETS}, so num_bins={_Q3_BUCKETS}"),
    Pitfall("mask-value-shift", lambda f: f.flat is not None and _matching_bins(f.flat, f.zips) is None
            and _matching_bins(f.flat, f.zips, shift=1) is not None,
            "your ids are shifted by one: mask_value reserves bin 0 for the mask and hashes the rest into num_bins - 1 "
            "bins; the feature column has no mask, so leave mask_value out"),
    Pitfall("vocabulary-lookup", lambda f: f.flat is not None and "Lookup" in type(f.layer).__name__,
            lambda f: f"that is {describe(f.layer)}, a vocabulary lookup: zip codes it has not seen all share its OOV "
                      "id. The feature column hashes every string: keras.layers.Hashing"),
    Pitfall("salted", lambda f: f.flat is not None and getattr(f.layer, "salt", None) is not None
            and _matching_bins(f.flat, f.zips) is None,
            "your layer hashes with a salt: the feature column uses none (salt=None), so the buckets differ"),
]


def _check_q3_hash(layer) -> str:
    import tensorflow as tf

    diagnose(_Q3_TYPE, facts(answer=layer))
    backend = _keras_of(layer)
    expected = _fc_hash_ids()
    zips_2d = tf.constant([[z] for z in _Q3_ZIPS])
    case = Case({"zips": np.array([[z] for z in _Q3_ZIPS])}, about="10 zip codes as a (10, 1) string tensor")
    try:
        raw = layer(zips_2d)
    except Exception as exc:  # noqa: BLE001
        raise explained_error(exc, "calling your layer", case=case, explain=_Q3_CALL, inputs={"layer": layer}) from None
    ids = to_numpy(raw, "the layer's output")
    flat = ids.reshape(-1) if ids.size == len(_Q3_ZIPS) and np.issubdtype(ids.dtype, np.integer) else None
    found = facts(ids=ids, flat=flat, zips=zips_2d, layer=layer)
    if flat is not None and np.array_equal(flat, expected):
        try:  # the same layer inside a functional model, as a migrated model uses it
            inputs = backend.Input(shape=(1,), dtype="string")
            model = backend.Model(inputs, layer(inputs))
            in_model = to_numpy(model(zips_2d), "the model's output").reshape(-1)
        except Exception as exc:  # noqa: BLE001
            mistake = explained_error(exc, "your layer gives the right ids when called directly, but inside a functional model it",
                                      explain=_Q3_IN_MODEL)
            raise Mistake(str(mistake), key=mistake.key if mistake.key != "raised" else "not-graph-compatible",
                          detected=mistake.detected, error=mistake.error) from None
        if not np.array_equal(in_model, expected):
            raise fallback("your layer gives the right ids when called directly, but other ids inside a functional model",
                           "use keras.layers.Hashing(num_bins=50) as it is")
        return "Same FarmHash fingerprint modulo 50 as the feature column."
    diagnose(_Q3, found, case=case)
    raise fallback("right number of ids but different buckets", "the feature column hashes with no salt (leave "
                   "salt=None) and uses the fast FarmHash fingerprint, as keras.layers.Hashing does by default", case=case)


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
    mistakes=[*_Q3_TYPE, *_Q3_CALL, *_Q3_IN_MODEL, *_Q3],
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
        Case({"vectors": big, "mask": big_mask}, about="a (2, 7, 2) batch with large values", extra={"later": True}),
        Case({"vectors": rng.normal(size=(3, 2, 4)), "mask": np.zeros((3, 2), bool)}, about="a float64 batch with no real entries at all",
             extra={"later": True}),
    ]


_KEEPDIMS = (r"Incompatible shapes: \[(\d+),(\d+)\] vs\. \[\1\]|could not be broadcast together with shapes "
             r"\((\d+),(\d+)\) \(\3,\)")


_Q4_ERRORS = [
    Pitfall("bool-arithmetic", lambda f: "bool" in f.text and re.search(
            r"expected to be a \w+ tensor|allowed values|cannot compute|must be the same type|unsupported operand", f.text),
            "a TensorFlow op received the bool mask: cast it to the vectors' dtype first (tf.cast(mask, vectors.dtype))"),
    Pitfall("missing-keepdims", lambda f: re.search(_KEEPDIMS, f.text),
            "the masked sum has shape (batch, dim) but the count (batch,): keep the counted axis "
            "(keepdims=True, or count[:, None]) so the division lines up row by row"),
    Pitfall("missing-feature-axis", lambda f: missing_feature_axis(f.text) is not None,
            lambda f: f"the mask {missing_feature_axis(f.text)[0]} met the vectors "
                      f"{missing_feature_axis(f.text)[1]} without a feature axis: give the mask (or its "
                      "weights) one, mask[..., None], so it multiplies every dimension of each vector"),
    Pitfall("dtype-mix", lambda f: mixed_dtypes(f.text) is not None and "bool" not in mixed_dtypes(f.text),
            lambda f: f"one operation got {with_article(mixed_dtypes(f.text)[0])} and {with_article(mixed_dtypes(f.text)[1])} "
                      "value, and TensorFlow never converts dtypes on its own (NumPy counts and square roots come out "
                      "int64 or float64): make the weights and the count in the vectors' dtype, "
                      "tf.cast(mask, vectors.dtype)"),
    Pitfall("integer-sqrt", lambda f: re.search(r"of (int\d+|uint\d+) is not in the list of allowed values", f.text) is not None,
            "the count is an integer tensor, and tf.sqrt (like tf.math.divide_no_nan) takes floats only: count with "
            "float weights, tf.reduce_sum(tf.cast(mask, vectors.dtype), axis=1, keepdims=True)"),
    Pitfall("numpy-method-on-tensor", lambda f: tensor_lacks(f.text) is not None,
            lambda f: f"NumPy or TensorFlow are both fine, but not mixed on one value: {tensor_advice(f.text)} "
                      "(or np.asarray(...) first and NumPy throughout)"),
    Pitfall("fixed-sizes", lambda f: f.case is not None and bool(f.case.extra.get("later"))
            and ("Input to reshape" in f.text or broadcast_shapes(f.text))
            and missing_feature_axis(f.text) is None and not re.search(_KEEPDIMS, f.text),
            lambda f: f"it works on the first batch but not on this one, of other sizes: {explain_error(f.text)}"),
]


def _q4_facts(case: Case, result) -> object:
    vectors, mask = case.inputs["vectors"], case.inputs["mask"]
    array = to_numpy(result, "sqrtn_pool's result")
    batch, steps, dim = vectors.shape
    values = array.astype(np.float64) if array.dtype.kind in "biuf" else None
    expected = _pool(vectors, mask, np.sqrt)
    return facts(array=array, values=values, vectors=vectors, mask=mask, batch=batch, steps=steps, dim=dim,
                 expected=expected, scale=max(1.0, float(np.abs(expected).max())))


def _is(f, candidate) -> bool:
    return (f.values is not None and f.values.shape == candidate.shape and not np.isnan(f.values).any()
            and bool(np.allclose(f.values, candidate, atol=1e-4 * f.scale, rtol=1e-5))
            and not np.allclose(candidate, f.expected, atol=1e-4 * f.scale, rtol=1e-5))


def _is_on_real_rows(f, candidate) -> bool:
    """Like :func:`_is`, compared on the rows with real entries only: a guard (divide_no_nan, np.maximum) decides the rest."""
    real = f.mask.any(axis=1)
    if f.values is None or f.values.shape != candidate.shape or np.isnan(f.values[real]).any() or not real.any():
        return False
    scale = 1e-4 * f.scale
    return (bool(np.allclose(f.values[real], candidate[real], atol=scale, rtol=1e-5))
            and not np.allclose(candidate[real], f.expected[real], atol=scale, rtol=1e-5))


_Q4 = [
    Pitfall("pooled-features", lambda f: f.array.shape == (f.batch, f.steps) and f.steps != f.dim,
            lambda f: f"the result has shape {f.array.shape}: you pooled over the last axis (the embedding dimension); "
                      "pool over the sequence axis, axis=1"),
    Pitfall("kept-dimension", lambda f: f.array.shape != (f.batch, f.dim) and f.array.size == f.batch * f.dim
            and 1 in f.array.shape,
            lambda f: f"the result has shape {f.array.shape}, expected {(f.batch, f.dim)}: drop the kept dimension"),
    Pitfall("not-float", lambda f: f.array.shape == (f.batch, f.dim) and f.array.dtype.kind != "f",
            lambda f: f"the result has dtype {f.array.dtype}; pooled vectors are floats"),
    Pitfall("nan-for-empty-row", lambda f: f.values is not None and f.values.shape == (f.batch, f.dim) and np.isnan(f.values).any()
            and np.allclose(f.values[f.mask.any(axis=1)], f.expected[f.mask.any(axis=1)], atol=1e-4 * f.scale),
            "a row whose mask is all False (no valid entries) gave NaN (0 / 0); the feature column returns zeros "
            "there: guard the division, e.g. tf.math.divide_no_nan or np.maximum(count, 1)"),
    Pitfall("mean-combiner", lambda f: _is(f, _pool(f.vectors, f.mask, lambda n: n)),
            "that is the 'mean' combiner (divided by the count); 'sqrtn' divides by sqrt(count)"),
    Pitfall("sum-combiner", lambda f: _is(f, _pool(f.vectors, f.mask, lambda n: 1.0)),
            "that is the 'sum' combiner: divide the masked sum by sqrt(count)"),
    Pitfall("mask-ignored", lambda f: _is(f, _pool(f.vectors, np.ones_like(f.mask), np.sqrt)),
            "the mask is ignored: padding vectors were summed and counted; multiply by the mask first"),
    Pitfall("padded-length", lambda f: _is(f, _pool(f.vectors, f.mask, lambda n: np.sqrt(f.steps))),
            lambda f: f"you divided by sqrt({f.steps}), the padded length; divide by the square root of the number of "
                      "True entries in each row"),
    Pitfall("padding-summed", lambda f: _is_on_real_rows(f, f.vectors.sum(axis=1) / np.sqrt(np.maximum(f.mask.sum(axis=1, keepdims=True), 1))),
            "the count is right, but the padding vectors were added into the sum: multiply the vectors by the mask "
            "before summing"),
    Pitfall("batch-count", lambda f: _is(f, _pool(f.vectors, f.mask, lambda n: np.sqrt(f.mask.sum()))),
            "you divided by sqrt of the number of real entries in the whole batch; count them per row "
            "(sum the mask over axis 1)"),
    Pitfall("inverted-mask", lambda f: _is(f, _pool(f.vectors, ~f.mask, np.sqrt)),
            "you pooled the padding entries: True in the mask marks the real ones"),
]


def _check_q4_sqrtn(function) -> str:
    for case in _q4_cases():
        # a correct NumPy answer such as np.where(count > 0, total / np.sqrt(count), 0) divides by zero
        # on the empty row before np.where discards it: keep that warning out of the learner's notebook
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = run_case(function, case, "sqrtn_pool", explain=_Q4_ERRORS)
        found = _q4_facts(case, result)
        if (found.values is not None and found.array.shape == found.expected.shape and found.array.dtype.kind == "f"
                and not np.isnan(found.values).any()
                and np.allclose(found.values, found.expected, atol=1e-4 * found.scale, rtol=1e-5)):
            continue
        diagnose(_Q4, found, case=case, name="sqrtn_pool")
        if found.array.shape != found.expected.shape:
            raise fallback(f"the result should have shape {found.expected.shape}, got {found.array.shape}",
                           "sum over axis 1, the steps", case=case)
        raise fallback("right shape, but the numbers are not the sqrtn pooling of these inputs",
                       "sum the vectors where mask is True, then divide by the square root of how many there were; "
                       "zeros for a row with none", case=case)
    return "Masked sum divided by the square root of the number of real entries."


q4 = Exercise(
    name="q4",
    title="the 'sqrtn' combiner as masked pooling",
    checker=_check_q4_sqrtn,
    hint="""
        Turn the mask into 0.0/1.0 weights in the vectors' dtype, shape (batch, steps, 1):
        tf.cast(mask, vectors.dtype)[..., None]. Multiply, sum over axis 1; sum the same weights
        over axis 1 for the count per row (a float, so tf.sqrt takes it); then
        tf.math.divide_no_nan(total, tf.sqrt(count)) divides and gives zeros where the count is 0.
    """,
    solution="""
        def sqrtn_pool(vectors, mask):
            weights = tf.cast(mask, vectors.dtype)[..., tf.newaxis]      # (batch, steps, 1)
            total = tf.reduce_sum(vectors * weights, axis=1)             # (batch, dim)
            count = tf.reduce_sum(weights, axis=1)                       # (batch, 1)
            return tf.math.divide_no_nan(total, tf.sqrt(count))
    """,    mistakes=[*_Q4_ERRORS, *_Q4],
)


# --------------------------------------------------------------------------------------------
# q5: one movie table shared by the watched and the candidate movie


def _clone_of(model):
    """A copy of a functional or Sequential model (Keras 3 or tf_keras) with the same weights."""
    module = __import__("tf_keras") if type(model).__module__.startswith("tf_keras") else __import__("keras")
    clone = module.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def _is_model(value) -> bool:
    return callable(value) and not isinstance(value, type) and all(hasattr(value, n) for n in ("weights", "fit", "compile"))


def _shape(weight) -> tuple[int, ...]:
    return tuple(int(d) for d in weight.shape)


_Q5_TYPE = [
    Pitfall("the-class", lambda f: isinstance(f.answer, type),
            lambda f: f"that is the class {f.answer.__name__}; answer with a model built from it, "
                      "keras.Model([watched_in, candidate_in], score)"),
    Pitfall("a-layer", lambda f: not isinstance(f.answer, type) and not _is_model(f.answer) and _keras_of(f.answer) is not None,
            lambda f: f"that is {describe(f.answer)}; build a keras.Model with two inputs and answer with the model"),
    Pitfall("not-a-model", lambda f: not isinstance(f.answer, type) and not _is_model(f.answer) and _keras_of(f.answer) is None,
            lambda f: f"expected a Keras model, got {describe(f.answer)}: "
                      + ("answer with the model itself (two_tower = keras.Model([watched_in, candidate_in], score)), "
                         "not a function that builds one" if callable(f.answer) else
                         "build it, two_tower = keras.Model([watched_in, candidate_in], score)")),
]


def _model_of(f):
    return getattr(f, "model", None) or (getattr(f, "inputs", None) or {}).get("model")


def _declared_inputs(model) -> list | dict | None:
    """The Inputs a functional or Sequential model declares (None for a subclassed model, which has none yet)."""
    try:
        return model.inputs if model.inputs is not None else None
    except Exception:  # noqa: BLE001 - a subclassed model never called: no inputs to read
        return None


_Q5_ONE_INPUT = Pitfall(
    "one-input", lambda f: isinstance(_declared_inputs(_model_of(f)), list) and len(_declared_inputs(_model_of(f))) == 1
    or re.search(r"expects 1 (named )?input|received 2 input", getattr(f, "text", "")) is not None,
    "the model takes one input, but the lesson calls it with a list of two (watched ids, candidate ids): build it "
    "with two Inputs, keras.Model([watched_in, candidate_in], score)",
)
_Q5_DICT_INPUTS = Pitfall(
    "dict-inputs", lambda f: isinstance(_declared_inputs(_model_of(f)), dict)
    or "structure of `inputs` doesn't match" in getattr(f, "text", ""),
    "the model takes its inputs as a dict, but the lesson calls it with a list of two (watched ids, candidate ids): "
    "build it with a list, keras.Model([watched_in, candidate_in], score)",
)

_Q5_CALL = [
    Pitfall("table-one-row-short", lambda f: re.search(r"indices\[[^\]]*\] = 1682 is not in \[0, 1682\)", f.text),
            "your movie table has 1682 rows, so id 1682 has no row (rows are 0..1681): ids run 1..1682 and row 0 stays "
            "unused, so the table needs Embedding(1683, 8)"),
    _Q5_ONE_INPUT,
    _Q5_DICT_INPUTS,
]

_Q5_WEIGHTS = [
    Pitfall("float-inputs", lambda f: any("float" in str(getattr(t, "dtype", "")) for t in getattr(f.model, "inputs", None) or []),
            lambda f: "your model's Inputs are float ("
                      + ", ".join(str(t.dtype) for t in f.model.inputs) + "): ids must be integers, "
                      "keras.Input(shape=(1,), dtype=\"int32\"); float32 ids above 16,777,216 lose digits and land "
                      "on the wrong row without an error"),
    Pitfall("two-tables", lambda f: len(f.movie_tables) > 1,
            lambda f: f"your model holds {len(f.movie_tables)} movie tables of shape {_shape(f.movie_tables[0])}: create "
                      "the Embedding layer once and call that same layer object on both inputs"),
    Pitfall("no-movie-table", lambda f: not f.movie_tables,
            lambda f: f"no (1683, 8) table among the model's weights {[_shape(w) for w in f.model.weights]}: use one "
                      "Embedding(1683, 8)"),
    Pitfall("extra-weights", lambda f: len(f.movie_tables) == 1 and len(f.model.weights) > 1,
            lambda f: "besides the shared (1683, 8) movie table your model has more weights "
                      f"{[_shape(w) for w in f.model.weights if w is not f.movie_tables[0]]} (a bias table, a Dense "
                      "layer...): this exercise's score is the dot product of the two movie vectors only"),
]

_Q5_SCORES = [
    Pitfall("not-one-score", lambda f: f.scores.size != f.pairs,
            lambda f: f"the model returned shape {f.scores.shape}: it should give one score per pair, the dot product "
                      "of the two movie vectors (keras.layers.Dot(axes=-1) on the flattened vectors)"),
    Pitfall("cosine", lambda f: f.scores.size == f.pairs and np.allclose(f.got, f.expected / f.norms, atol=1e-5)
            and not np.allclose(f.got, f.expected, atol=1e-5),
            "the scores are cosine similarities (Dot(normalize=True)); this exercise asks for the plain dot product: "
            "keras.layers.Dot(axes=-1), without normalize"),
]


def _check_q5(model) -> str:
    import tensorflow as tf

    diagnose(_Q5_TYPE, facts(answer=model))
    diagnose([_Q5_ONE_INPUT, _Q5_DICT_INPUTS], facts(model=model, text=""))  # as declared, before any call
    watched = np.array([[1], [50], [1682], [7], [181]], dtype=np.int32)
    candidate = np.array([[50], [1], [1], [7], [258]], dtype=np.int32)
    case = Case({"inputs": [watched, candidate]}, about="5 (watched, candidate) pairs")
    try:
        # called first: a subclassed model creates its weights on its first call
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = to_numpy(model([tf.constant(watched), tf.constant(candidate)]), "the model's output")
    except Exception as exc:  # noqa: BLE001
        raise explained_error(exc, "calling two_tower([watched_ids, candidate_ids])", case=case, explain=_Q5_CALL,
                              inputs={**case.inputs, "model": model}) from None
    tables = [w for w in model.weights if len(w.shape) == 2 and int(w.shape[0]) == NUM_MOVIE_ROWS]
    movie_tables = [w for w in tables if int(w.shape[1]) == 8]
    diagnose(_Q5_WEIGHTS, facts(model=model, movie_tables=movie_tables), objects={"model": model})
    table = to_numpy(movie_tables[0]).astype(np.float64)
    expected = np.sum(table[watched[:, 0]] * table[candidate[:, 0]], axis=-1)
    norms = np.linalg.norm(table[watched[:, 0]], axis=1) * np.linalg.norm(table[candidate[:, 0]], axis=1)
    got = scores.reshape(-1).astype(np.float64)
    diagnose(_Q5_SCORES, facts(scores=scores, pairs=len(watched), got=got, expected=expected, norms=norms), case=case)
    if not np.allclose(got, expected, atol=1e-5):
        raise fallback("one shared table, but the scores are not the dot products of the two looked-up rows",
                       "Flatten both looked-up vectors and join them with keras.layers.Dot(axes=-1)", case=case)
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
            trained.fit([watched, candidate], np.ones((len(watched), 1), np.float32), epochs=1, batch_size=3, verbose=0)
    except Exception as exc:  # noqa: BLE001
        mistake = explained_error(exc, "the model scores right, but fit() on 5 pairs in batches of 3 (the last one smaller)")
        raise Mistake(str(mistake), key="not-graph-compatible", error=mistake.error) from None
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
    """,    mistakes=[*_Q5_TYPE, *_Q5_CALL, *_Q5_WEIGHTS, *_Q5_SCORES],
)

__all__ = ["q1", "q2", "q3", "q4", "q5"]
