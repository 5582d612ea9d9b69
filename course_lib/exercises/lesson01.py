"""Exercises of lesson 01, *the embedding is a lookup table*.

- ``q1``: the vocabulary size (``input_dim``) that lets every ml-100k movie id be a row number;
- ``q2``: ``onehot_lookup(table, ids)``: the lookup written as one-hot(ids) @ table;
- ``q3``: the dense gradient of a lookup in which some ids repeat;
- ``q4``: ``table_bytes(input_dim, output_dim, dtype)``: the memory of an embedding table;
- ``q5``: ``safe_ids(ids, vocabulary_size)``: send out-of-range ids to an OOV row.

TensorFlow is imported only when a check needs it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from course_lib.checks import Case, Exercise, Mistake, run_case, show, to_numpy
from course_lib.checks import _kind as kind_of

#: Movie ids in MovieLens 100k run from 1 to this number (``u.item`` has one line per id).
ML100K_MAX_MOVIE_ID = 1682
#: ...and it has this many users and ratings (used to recognise a mixed-up count).
ML100K_USERS = 943
ML100K_RATINGS = 100_000


# --------------------------------------------------------------------------- q1


def _check_vocabulary_size(answer: Any) -> str:
    raw = answer
    if hasattr(raw, "numpy") and callable(raw.numpy) and _is_value_tensor(raw):
        raw = raw.numpy()
    if isinstance(raw, np.ndarray) and raw.size == 1:
        raw = raw.reshape(()).item() if raw.dtype.kind in "iuf" else raw
    if isinstance(raw, (float, np.floating)):
        raise Mistake(f"{show(raw)} is a float; input_dim counts rows, so it must be an int. Wrap it in int(...)")
    if isinstance(raw, str):
        raise Mistake(f"{raw!r} is a string; input_dim is a whole number (an int)")
    if not isinstance(raw, (int, np.integer)) or isinstance(raw, (bool, np.bool_)):
        raise Mistake(
            f"expected a whole number (the table's number of rows), got {kind_of(answer)}. Store the number itself, "
            "e.g. int(movies.movie_id.max()) + 1"
        )
    size = int(raw)
    needed = ML100K_MAX_MOVIE_ID + 1
    if size == needed:
        return "Ids 1 to 1682 are row numbers, so the table needs rows 0 to 1682; row 0 is never looked up."
    if size == ML100K_MAX_MOVIE_ID:
        raise Mistake(
            f"{size} is the number of movies and also the largest id. A table with {size} rows has rows "
            f"0 to {size - 1}, so looking up id {size} would fail: off by one"
        )
    if size in (ML100K_USERS, ML100K_USERS + 1):
        raise Mistake(f"{size} is about the number of users; this table holds one row per movie id")
    if size == ML100K_RATINGS:
        raise Mistake("100000 is the number of ratings, not of movies; the table needs one row per movie id")
    if size <= 0:
        raise Mistake(f"{size} rows: a table needs a positive number of rows")
    if size < needed:
        raise Mistake(f"{size} rows are too few: the largest movie id ({ML100K_MAX_MOVIE_ID}) must be a valid row number")
    raise Mistake(f"{size} rows would work but waste memory: the smallest table has the largest id as its last row")


def _is_value_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "dtype") and hasattr(value, "shape")


q1 = Exercise(
    "q1",
    "vocabulary size for ml-100k movie ids",
    _check_vocabulary_size,
    hint="""
    The id *is* the row number, and rows are numbered from 0. Which row does the largest movie id
    need, and how many rows does a table have if its last row has that number?
    """,
    solution="""
    vocabulary_size = int(movies.movie_id.max()) + 1   # 1683: rows 0..1682, row 0 unused
    """,
)


# --------------------------------------------------------------------------- q2

#: Row of the "poisoned" table in q2's behaviour case: never looked up, it holds inf in column 1.
_POISON_ROW, _POISON_COLUMN = 5, 1


def _q2_cases() -> list[Case]:
    import tensorflow as tf

    rng = np.random.default_rng(1)
    table32 = rng.normal(size=(7, 3)).astype(np.float32)
    table64 = rng.normal(size=(6, 4))  # a NumPy table is float64
    table16 = rng.normal(size=(5, 2)).astype(np.float16)
    big = rng.normal(size=(40, 3)).astype(np.float32)
    return [
        Case({"table": tf.constant(table32), "ids": tf.constant([0, 6, 2, 2], dtype=tf.int32)}, about="a float32 table and 1-D ids"),
        Case({"table": tf.constant(table32), "ids": tf.constant([[1, 5], [6, 0], [3, 3]], dtype=tf.int32)}, about="2-D ids"),
        Case({"table": tf.constant(table32), "ids": np.array([[1, 2, 0]], dtype=np.int64)},
             about="ids whose largest id is below the table's last row"),
        Case({"table": table64, "ids": np.array([5, 0, 3], dtype=np.int64)}, about="a float64 NumPy table (NumPy's default dtype)"),
        Case({"table": tf.constant(table16), "ids": tf.constant([4, 1], dtype=tf.int64)}, about="a float16 table"),
        Case({"table": big, "ids": np.array([39, 7, 21, 39], dtype=np.int32)}, about="a 40-row NumPy float32 table"),
        Case({"table": tf.constant(table32), "ids": tf.zeros((2, 0), tf.int32)}, about="2 rows of 0 ids each (empty rows)"),
    ]  # fmt: skip


def _poisoned_case() -> Case:
    import tensorflow as tf

    table = np.arange(24, dtype=np.float32).reshape(8, 3) / 10
    table[_POISON_ROW, _POISON_COLUMN] = np.inf
    ids = tf.constant([[0, 3], [7, 2]], dtype=tf.int32)
    return Case({"table": tf.constant(table), "ids": ids}, about=f"a table whose row {_POISON_ROW} (never looked up) holds inf")


def _call_quietly(function: Any, case: Case):
    import tensorflow as tf

    with np.errstate(all="ignore"), warnings.catch_warnings(), tf.device("/CPU:0"):  # exact float32 products on CPU
        warnings.simplefilter("ignore", RuntimeWarning)
        return run_case(function, case, "onehot_lookup")


def _diagnose_q2_error(case: Case, mistake: Mistake) -> Mistake:
    text = str(mistake)
    error = text.split("your function raised", 1)[-1]
    rows = int(np.shape(case.inputs["table"])[0])
    largest = int(np.max(np.asarray(case.inputs["ids"]))) if np.size(case.inputs["ids"]) else -1
    if "raised" not in text:
        return mistake
    if ("expected to be a" in error or "must be the same type" in error or "cannot compute" in error.lower()
            or "double" in error or "dtype" in error.lower()):
        return Mistake(f"{text}. The one-hot matrix must have the table's dtype: pass dtype=table.dtype to tf.one_hot")
    if largest + 1 < rows and ("Matrix size-incompatible" in error or "shape" in error.lower() or "Incompatible" in error):
        return Mistake(f"{text}. The one-hot depth must be the table's number of rows (table.shape[0] = {rows}), not the largest id + 1")
    return Mistake(f"{text}. Check that the depth is table.shape[0] and that the one-hot axis is the last one (the default)")


def _check_onehot_lookup(function: Any) -> str:
    import tensorflow as tf

    for case in _q2_cases():
        table, ids = case.inputs["table"], case.inputs["ids"]
        rows = int(np.shape(table)[0])
        expected = tf.gather(tf.convert_to_tensor(table), ids).numpy()
        try:
            result = _call_quietly(function, case)
        except Mistake as mistake:
            raise _diagnose_q2_error(case, mistake) from None
        array = to_numpy(result, "the result of onehot_lookup")
        if array.shape != expected.shape:
            if array.shape == tuple(np.shape(ids)) + (rows,):
                raise case.fail(f"you returned the one-hot matrix itself (shape {array.shape}); multiply it by the table to select the rows")
            if array.ndim >= 2 and array.shape[0] == rows and np.size(ids) in array.shape:
                raise case.fail(
                    f"the result has shape {array.shape}: the one-hot axis looks wrong. Keep the default axis=-1 so each id "
                    "becomes a row of length vocabulary size"
                )
            raise case.fail(f"the result has shape {array.shape}, expected {expected.shape} (the ids' shape plus the embedding dimension)")
        if array.dtype.kind != "f":
            raise case.fail(f"the result has dtype {array.dtype}; the looked-up rows are the table's floats")
        if not np.allclose(array.astype(np.float64), expected.astype(np.float64), atol=1e-2 if expected.dtype == np.float16 else 1e-5):
            raise case.fail("the shape is right but the rows are not the looked-up rows of the table")
    case = _poisoned_case()
    try:
        result = _call_quietly(function, case)
    except Mistake as mistake:
        raise _diagnose_q2_error(case, mistake) from None
    array = to_numpy(result, "the result of onehot_lookup").astype(np.float64)
    expected = tf.gather(case.inputs["table"], case.inputs["ids"]).numpy().astype(np.float64)
    others = [c for c in range(expected.shape[-1]) if c != _POISON_COLUMN]
    if array.shape != expected.shape or not np.allclose(array[..., others], expected[..., others]):
        raise case.fail("the rows of the other columns are not the looked-up rows")
    if not np.isnan(array[..., _POISON_COLUMN]).all():
        raise case.fail(
            "you returned the looked-up rows exactly, with no NaN. A one-hot *product* multiplies the 0s of each "
            f"one-hot vector by row {_POISON_ROW} too, and 0 x inf = nan, so column {_POISON_COLUMN} must come out NaN. "
            "Your function selects rows instead (tf.gather, indexing, embedding_lookup...). This exercise asks for "
            "tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype) multiplied by the table"
        )
    return "one_hot(ids) @ table selects exactly the rows tf.gather returns, for 1-D and 2-D ids and any float dtype."


q2 = Exercise(
    "q2",
    "the lookup as a one-hot matrix product",
    _check_onehot_lookup,
    hint="""
    tf.one_hot(ids, depth, dtype=...) turns each id into a vector of length `depth` with a single 1.
    The depth is the number of rows of the table, and the dtype must match the table's so the
    product can be computed. `onehot @ table` (or tf.tensordot(onehot, table, axes=1)) works for
    1-D and 2-D ids.
    """,
    solution="""
    def onehot_lookup(table, ids):
        onehot = tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype)   # ids.shape + (rows,)
        return tf.tensordot(onehot, table, axes=1)                          # ids.shape + (dim,)
    """,
)


# --------------------------------------------------------------------------- q3

#: The ids and table size of exercise q3 (the notebook shows the same values).
Q3_IDS = [[5, 9, 5], [9, 9, 2]]
Q3_ROWS, Q3_DIM = 10, 3


def _q3_expected() -> np.ndarray:
    counts = np.bincount(np.ravel(Q3_IDS), minlength=Q3_ROWS).astype(np.float64)
    return np.repeat(counts[:, None], Q3_DIM, axis=1)


def _as_dense_gradient(answer: Any) -> np.ndarray:
    if isinstance(answer, (list, tuple)) and len(answer) == 1 and hasattr(answer[0], "shape"):
        answer = answer[0]  # tape.gradient(loss, [variable]) returns a list
    if all(hasattr(answer, name) for name in ("indices", "values", "dense_shape")):
        import tensorflow as tf

        answer = tf.convert_to_tensor(answer)  # IndexedSlices -> dense, repeated ids summed
    return to_numpy(answer, "the gradient")


def _check_dense_gradient(answer: Any) -> str:
    array = _as_dense_gradient(answer)
    expected = _q3_expected()
    n_ids = int(np.size(Q3_IDS))
    if array.shape == (n_ids, Q3_DIM):
        raise Mistake(
            f"shape {array.shape} has one row per looked-up id (the .values of the IndexedSlices). The gradient "
            f"of the table has the table's shape ({Q3_ROWS}, {Q3_DIM}): add each value row into the row of its id, "
            "for example with tf.convert_to_tensor(grad)"
        )
    if array.shape == (Q3_DIM, Q3_ROWS):
        raise Mistake(f"shape {array.shape} is transposed: the table has one row per id, shape ({Q3_ROWS}, {Q3_DIM})")
    if array.shape != expected.shape:
        raise Mistake(f"the gradient has shape {array.shape}; it should have the table's shape ({Q3_ROWS}, {Q3_DIM})")
    if not np.issubdtype(array.dtype, np.number):
        raise Mistake(f"the gradient should hold numbers, got dtype {array.dtype}")
    values = array.astype(np.float64)
    if np.allclose(values, -expected):
        raise Mistake("those are the signs of the update (minus the gradient), not the gradient itself")
    if np.allclose(values, (expected > 0).astype(np.float64)):
        raise Mistake(
            "every looked-up row has the right place, but repeated ids accumulate: id 9 is looked up three "
            "times, so each entry of its row gets 1 + 1 + 1"
        )
    if not np.allclose(values, expected, atol=1e-5):
        raise Mistake("the shape is right but some numbers are not: row i should be (number of times id i is looked up) in every column")
    return "Ids 9 (three times) and 5 (twice) accumulate; rows never looked up get exactly 0."


q3 = Exercise(
    "q3",
    "the dense gradient of a lookup with repeated ids",
    _check_dense_gradient,
    hint="""
    The loss is the sum of every looked-up value, so each lookup sends a gradient of 1 to each entry
    of its row. Record the loss under tf.GradientTape, take the gradient with respect to
    layer.embeddings and turn the IndexedSlices into a dense tensor with tf.convert_to_tensor, or
    count how often each id appears (np.bincount).
    """,
    solution="""
    layer = keras.layers.Embedding(10, 3)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant([[5, 9, 5], [9, 9, 2]])))
    dense_gradient = tf.convert_to_tensor(tape.gradient(loss, layer.embeddings))
    """,
)


# --------------------------------------------------------------------------- q4


def _q4_cases() -> list[Case]:
    rows = [
        (1683, 32, "float32", "the prompt's float32 table"),
        (100_001, 300, "float16", "a float16 table"),
        (944, 8, "float64", "a float64 table"),
        (50_000, 64, "int8", "an int8 (quantised) table"),
        (7, 3, "uint16", "a uint16 table"),
        (10, 2, "complex64", "a complex64 table"),
        (3, 5, "bool", "a bool table"),
    ]
    out = [
        Case({"input_dim": n, "output_dim": d, "dtype": dtype}, n * d * np.dtype(dtype).itemsize, about)
        for n, d, dtype, about in rows
    ]
    out.append(Case({"input_dim": 10, "output_dim": 4}, 160, "no dtype given (the default float32)"))
    return out


def _check_table_bytes(function: Any) -> str:
    for case in _q4_cases():
        result = run_case(function, case, "table_bytes")
        expected = case.expected
        dtype = case.inputs.get("dtype", "float32")
        if isinstance(result, (bool, np.bool_)) or not isinstance(result, (int, np.integer, float, np.floating)) and not (
            _is_value_tensor(result) or isinstance(result, np.ndarray) and result.size == 1
        ):
            raise case.fail(f"your function returned {kind_of(result)}; return the number of bytes, a whole number (an int)")
        value = to_numpy(result, "the result").reshape(())
        got = value.item()
        params = case.inputs["input_dim"] * case.inputs["output_dim"]
        itemsize = np.dtype(dtype).itemsize
        if value.dtype.kind == "f":
            if got in (expected / 1e6, expected / 2**20, expected / 1e9, expected / 2**30):
                raise case.fail(f"your function returned {got:g}: return bytes, not megabytes or gigabytes")
            if got == expected:
                raise case.fail(f"your function returned the float {got:g}; the prompt asks for a whole number: return an int")
        if got == expected:
            continue
        if got == params:
            raise case.fail(f"your function returned {got:,}: that is the number of parameters; each {dtype} takes {itemsize} bytes")
        if got == expected * 8:
            raise case.fail(f"your function returned {got:,}: that is bits; a byte is 8 bits")
        if got == params * 4:
            raise case.fail(f"your function returned {got:,}, which assumes 4 bytes per number; a {dtype} takes {itemsize}")
        if got in ((case.inputs["input_dim"] + 1) * case.inputs["output_dim"] * itemsize,
                   (case.inputs["input_dim"] - 1) * case.inputs["output_dim"] * itemsize):
            raise case.fail(f"your function returned {got:,}: one row too many or too few. The table has exactly input_dim rows")
        if got in (expected // 10**6, expected // 2**20):
            raise case.fail(f"your function returned {got}: return bytes, not megabytes")
        raise case.fail(f"your function returned {got:,}, expected {expected:,} (rows x dimension x bytes per number)")
    return "Rows x dimension x bytes per number (np.dtype(dtype).itemsize), for any NumPy dtype."


q4 = Exercise(
    "q4",
    "memory of an embedding table",
    _check_table_bytes,
    hint="""
    A table has input_dim × output_dim numbers. np.dtype("float16").itemsize tells how many bytes
    one number of any NumPy dtype takes (float16: 2, float32: 4, float64: 8, int8: 1, ...).
    """,
    solution="""
    def table_bytes(input_dim, output_dim, dtype="float32"):
        return input_dim * output_dim * np.dtype(dtype).itemsize
    """,
)


# --------------------------------------------------------------------------- q5


def _q5_cases() -> list[Case]:
    import tensorflow as tf

    rng = np.random.default_rng(5)
    random_ids = rng.integers(-20, 1200, size=(4, 6)).astype(np.int32)
    return [
        Case({"ids": tf.constant([0, 5, 9, 10, -1, 12]), "vocabulary_size": 10}, about="the prompt's tensor"),
        Case({"ids": np.array([[3, 1683, -7], [1682, 0, 99_999]], dtype=np.int64), "vocabulary_size": 1683},
             about="a 2-D int64 NumPy array of movie ids"),
        Case({"ids": random_ids, "vocabulary_size": 1000}, about="an int32 NumPy array"),
        Case({"ids": tf.constant([[4, 2], [0, 1]], dtype=tf.int64), "vocabulary_size": 5}, about="ids that are all valid"),
        Case({"ids": np.array([-3, 7, 8], dtype=np.int64), "vocabulary_size": 7}, about="ids that are all out of range"),
        Case({"ids": np.zeros((0,), dtype=np.int64), "vocabulary_size": 4}, about="no ids at all"),
    ]  # fmt: skip


def _expected_safe(ids: np.ndarray, vocabulary_size: int) -> np.ndarray:
    return np.where((ids >= 0) & (ids < vocabulary_size), ids, vocabulary_size)


def _check_safe_ids(function: Any) -> str:
    for case in _q5_cases():
        original = to_numpy(case.inputs["ids"])
        vocabulary_size = case.inputs["vocabulary_size"]
        expected = _expected_safe(original, vocabulary_size)
        result = run_case(function, case, "safe_ids")
        array = to_numpy(result, "the result of safe_ids")
        if array.shape != expected.shape:
            raise case.fail(f"the result has shape {array.shape}; keep the shape of the ids, {expected.shape}")
        if not np.issubdtype(array.dtype, np.integer):
            raise case.fail(
                f"the result has dtype {array.dtype}; ids must stay integers (an Embedding "
                "silently truncates float ids, and large float32 ids lose digits)"
            )
        if np.array_equal(array, expected):
            continue
        oov = vocabulary_size
        negatives = original < 0
        if np.array_equal(array[~negatives], expected[~negatives]) and np.array_equal(array[negatives], original[negatives]):
            raise case.fail(
                "negative ids were left as they are. Keras wraps them around to the last rows "
                "without any error, so they need the OOV row too"
            )
        out_of_range = (original < 0) | (original >= vocabulary_size)
        if out_of_range.any() and (np.all(array[out_of_range] == vocabulary_size - 1) or np.all(
            array[out_of_range] == np.clip(original[out_of_range], 0, vocabulary_size - 1)
        )):
            raise case.fail(
                f"out-of-range ids were clipped onto a real row (id {vocabulary_size - 1} or 0): "
                f"the model would silently treat them as that movie. Send them to the extra OOV row {oov}"
            )
        if out_of_range.any() and np.all(array[out_of_range] == 0):
            raise case.fail(f"out-of-range ids went to row 0; this exercise reserves row vocabulary_size ({oov}) for them")
        in_range = ~out_of_range
        if not np.array_equal(array[in_range], original[in_range]):
            last_valid = in_range & (original == vocabulary_size - 1)
            if last_valid.any() and np.all(array[last_valid] == oov):
                raise case.fail(f"the valid id {vocabulary_size - 1} was sent to the OOV row: ids up to vocabulary_size - 1 are in range")
            raise case.fail("some valid ids were changed; ids in [0, vocabulary_size) must pass through unchanged")
        raise case.fail(f"some out-of-range ids did not go to the OOV row {oov}: expected {show(expected)}, got {show(array)}")
    return "Every id outside [0, vocabulary_size) now uses the OOV row; the table needs vocabulary_size + 1 rows."


q5 = Exercise(
    "q5",
    "guard ids with an OOV row",
    _check_safe_ids,
    hint="""
    Build a boolean tensor that is True where 0 <= id < vocabulary_size (note both ends), then
    tf.where(valid, ids, vocabulary_size). Keep the ids' integer dtype: tf.fill / tf.ones_like(ids)
    * vocabulary_size, or tf.cast the result.
    """,
    solution="""
    def safe_ids(ids, vocabulary_size):
        ids = tf.convert_to_tensor(ids)
        valid = (ids >= 0) & (ids < vocabulary_size)
        return tf.where(valid, ids, tf.cast(vocabulary_size, ids.dtype))
    """,
)

__all__ = ["q1", "q2", "q3", "q4", "q5", "Q3_IDS", "Q3_ROWS", "Q3_DIM", "ML100K_MAX_MOVIE_ID"]
