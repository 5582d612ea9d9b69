"""Exercises of lesson 01, *the embedding is a lookup table*.

- ``q1``: the vocabulary size (``input_dim``) that lets every ml-100k movie id be a row number;
- ``q2``: ``onehot_lookup(table, ids)``: the lookup written as one-hot(ids) @ table;
- ``q3``: the dense gradient of a lookup in which some ids repeat;
- ``q4``: ``table_bytes(input_dim, output_dim, dtype)``: the memory of an embedding table;
- ``q5``: ``safe_ids(ids, vocabulary_size)``: send out-of-range ids to an OOV row.

TensorFlow is imported only when a check needs it.
"""

from __future__ import annotations

import inspect
import io
import re
import textwrap
import tokenize
from typing import Any

import numpy as np

from course_lib.checks import Exercise, Mistake, NotAttempted, call_learner, expect_int, show, to_numpy

#: Movie ids in MovieLens 100k run from 1 to this number (``u.item`` has one line per id).
ML100K_MAX_MOVIE_ID = 1682
#: ...and it has this many users and ratings (used to recognise a mixed-up count).
ML100K_USERS = 943
ML100K_RATINGS = 100_000


# --------------------------------------------------------------------------- q1


def _is_float(value: Any) -> bool:
    if isinstance(value, (float, np.floating)):
        return True
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return False
    try:
        return np.dtype(getattr(dtype, "as_numpy_dtype", dtype)).kind == "f"
    except TypeError:
        return False


def _check_vocabulary_size(answer: Any) -> str:
    if _is_float(answer):
        raise Mistake(f"{show(answer)} is a float; input_dim counts rows, so it must be an int. Wrap it in int(...)")
    size = expect_int(answer, "vocabulary_size")
    needed = ML100K_MAX_MOVIE_ID + 1
    if size == ML100K_MAX_MOVIE_ID:
        raise Mistake(
            f"{size} is the number of movies and also the largest id. A table with {size} rows has rows "
            f"0 to {size - 1}, so looking up id {size} would fail: off by one"
        )
    if size in (ML100K_USERS, ML100K_USERS + 1):
        raise Mistake(f"{size} is about the number of users; this table holds one row per movie id")
    if size == ML100K_RATINGS:
        raise Mistake("100,000 is the number of ratings, not of movies; the table needs one row per movie id")
    if size < needed:
        raise Mistake(f"{size} rows are too few: the largest movie id must be a valid row number")
    if size > needed:
        raise Mistake(f"{size} rows would work but waste memory: the smallest table has the largest id as its last row")
    return "Ids 1 to 1682 are row numbers, so the table needs rows 0 to 1682; row 0 is never looked up."


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


def _q2_cases():
    rng = np.random.default_rng(1)
    import tensorflow as tf

    table32 = tf.constant(rng.normal(size=(7, 3)).astype(np.float32))
    table64 = rng.normal(size=(6, 4))  # a NumPy table is float64
    return [
        ("a float32 table and 1-D ids", table32, tf.constant([0, 6, 2, 2], dtype=tf.int32)),
        ("a float32 table and 2-D ids", table32, tf.constant([[1, 5], [6, 0], [3, 3]], dtype=tf.int32)),
        ("a float32 table and ids whose largest id is below its last row", table32, np.array([[1, 2, 0]], dtype=np.int64)),
        ("a float64 NumPy table (NumPy's default dtype)", table64, np.array([5, 0, 3], dtype=np.int64)),
    ]


#: Names of the row-selecting functions exercise q2 asks the learner not to call.
_Q2_FORBIDDEN = ("gather", "gather_nd", "embedding_lookup")


def _names_called(function: Any) -> set[str]:
    """The names (NAME tokens, not comments or strings) in ``function``'s source; empty if unavailable.

    Lambdas give the whole line they sit on, often cut mid-expression: tokens read before the
    tokenizer gives up are kept.
    """
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):  # built-ins, functools.partial, code typed where no source is kept
        return set()
    names: set[str] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NAME:
                names.add(token.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return names


def _check_onehot_lookup(function: Any) -> str:
    import tensorflow as tf

    for description, table, ids in _q2_cases():
        rows = int(np.shape(table)[0])
        expected = tf.gather(tf.convert_to_tensor(table), ids).numpy()
        try:
            with tf.device("/CPU:0"):  # exact float32 products: some GPUs multiply in TF32
                result = call_learner(function, table, ids)
        except (NotAttempted, Mistake):
            raise
        except Exception as exc:  # a typical error of the one-hot path: name the likely cause
            message = str(exc)
            if "expected to be a" in message or "dtype" in message.lower() or "double" in message:
                raise Mistake(
                    f"with {description} your function raised {type(exc).__name__}: the one-hot matrix must have "
                    "the table's dtype; pass dtype=table.dtype to tf.one_hot"
                ) from None
            if int(np.max(ids)) + 1 < rows:
                raise Mistake(
                    f"with {description} your function raised {type(exc).__name__}. The one-hot depth must be the "
                    f"table's number of rows (table.shape[0] = {rows}), not the largest id + 1"
                ) from None
            first = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", (message.strip().splitlines() or [""])[0])[:150]
            raise Mistake(
                f"with {description} your function raised {type(exc).__name__} ({first}). Check that the depth is "
                "table.shape[0] and that the one-hot axis is the last one (the default)"
            ) from None
        array = to_numpy(result, "the result of onehot_lookup")
        if array.shape != expected.shape:
            n_ids = int(np.size(ids))
            if array.shape == tuple(np.shape(ids)) + (rows,):
                raise Mistake(
                    f"with {description} you returned the one-hot matrix itself (shape {array.shape}); "
                    "multiply it by the table to select the rows"
                )
            if rows in array.shape[:1] and n_ids in array.shape:
                raise Mistake(
                    f"with {description} the result has shape {array.shape}: the one-hot axis looks wrong. Keep the "
                    "default axis=-1 so each id becomes a row of length vocabulary size"
                )
            raise Mistake(
                f"with {description} the result has shape {array.shape}, expected {expected.shape} "
                "(the ids' shape plus the embedding dimension)"
            )
        if not np.allclose(array.astype(np.float64), expected.astype(np.float64), atol=1e-5):
            raise Mistake(f"with {description} the shape is right but the rows are not the looked-up rows of the table")
    used = sorted(set(_Q2_FORBIDDEN) & _names_called(function))
    if used:
        raise Mistake(
            f"the numbers are right, but your function calls {', '.join(used)}: that is the lookup itself. This "
            "exercise asks for it as a matrix product: build tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype) "
            "and multiply it by the table"
        )
    return "one_hot(ids) @ table selects exactly the rows tf.gather returns, for 1-D and 2-D ids and any dtype."


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

_Q4_CASES = [
    ((1683, 32, "float32"), 1683 * 32 * 4),
    ((100_001, 300, "float16"), 100_001 * 300 * 2),
    ((944, 8, "float64"), 944 * 8 * 8),
]


def _check_table_bytes(function: Any) -> str:
    for (input_dim, output_dim, dtype), expected in _Q4_CASES:
        call = f"for table_bytes({input_dim}, {output_dim}, {dtype!r}) your function"
        result = call_learner(function, input_dim, output_dim, dtype)
        if isinstance(result, (float, np.floating)) and not float(result).is_integer():
            raise Mistake(f"{call} returned {result}, not a whole number: return bytes, not megabytes or gigabytes")
        got = expect_int(result, f"the result of table_bytes({input_dim}, {output_dim}, {dtype!r})")
        params = input_dim * output_dim
        itemsize = expected // params
        if got == expected:
            continue
        if got == params:
            raise Mistake(f"{call} returned {got:,}: that is the number of parameters; each {dtype} takes {itemsize} bytes")
        if got == expected * 8:
            raise Mistake(f"{call} returned {got:,}: that is bits; a byte is 8 bits")
        if got == params * 4:
            raise Mistake(f"{call} returned {got:,}, which assumes 4 bytes per number; a {dtype} takes {itemsize}")
        if got in ((input_dim + 1) * output_dim * itemsize, (input_dim - 1) * output_dim * itemsize):
            raise Mistake(f"{call} returned {got:,}: one row too many or too few. The table has exactly input_dim rows")
        if got in (expected / 1e6, expected / 2**20, expected // 2**20, expected // 10**6):
            raise Mistake(f"{call} returned {got}: return bytes, not megabytes")
        raise Mistake(f"{call} returned {got:,}, expected {expected:,}")
    if call_learner(function, 10, 4) != 160:
        raise Mistake("without a dtype, table_bytes(10, 4) should use the default float32 and return 160")
    return "rows × dimension × bytes per number (np.dtype(dtype).itemsize)."


q4 = Exercise(
    "q4",
    "memory of an embedding table",
    _check_table_bytes,
    hint="""
    A table has input_dim × output_dim numbers. np.dtype("float16").itemsize tells how many bytes
    one number of that type takes (float16: 2, float32: 4, float64: 8).
    """,
    solution="""
    def table_bytes(input_dim, output_dim, dtype="float32"):
        return input_dim * output_dim * np.dtype(dtype).itemsize
    """,
)


# --------------------------------------------------------------------------- q5


def _q5_cases():
    import tensorflow as tf

    return [
        ("tf.constant([0, 5, 9, 10, -1, 12]) with vocabulary_size=10",
         tf.constant([0, 5, 9, 10, -1, 12]), 10, np.array([0, 5, 9, 10, 10, 10])),
        ("a 2-D int64 NumPy array of movie ids with vocabulary_size=1683",
         np.array([[3, 1683, -7], [1682, 0, 99_999]], dtype=np.int64), 1683,
         np.array([[3, 1683, 1683], [1682, 0, 1683]])),
    ]  # fmt: skip


def _check_safe_ids(function: Any) -> str:
    for description, ids, vocabulary_size, expected in _q5_cases():
        result = call_learner(function, ids, vocabulary_size)
        array = to_numpy(result, "the result of safe_ids")
        if array.shape != expected.shape:
            raise Mistake(f"for {description} the result has shape {array.shape}; keep the shape of the ids, {expected.shape}")
        if not np.issubdtype(array.dtype, np.integer):
            raise Mistake(
                f"for {description} the result has dtype {array.dtype}; ids must stay integers (an Embedding "
                "silently truncates float ids, and large float32 ids lose digits)"
            )
        original = to_numpy(ids)
        oov = vocabulary_size
        if np.array_equal(array, expected):
            continue
        negatives = original < 0
        if np.array_equal(array[~negatives], expected[~negatives]) and np.array_equal(array[negatives], original[negatives]):
            raise Mistake(
                f"for {description} negative ids were left as they are. Keras wraps them around to the last rows "
                "without any error, so they need the OOV row too"
            )
        out_of_range = (original < 0) | (original >= vocabulary_size)
        if np.all(array[out_of_range] == vocabulary_size - 1) or np.all(
            array[out_of_range] == np.clip(original[out_of_range], 0, vocabulary_size - 1)
        ):
            raise Mistake(
                f"for {description} out-of-range ids were clipped onto a real row (id {vocabulary_size - 1} or 0): "
                f"the model would silently treat them as that movie. Send them to the extra OOV row {oov}"
            )
        if np.all(array[out_of_range] == 0):
            raise Mistake(f"for {description} out-of-range ids went to row 0; this exercise reserves row vocabulary_size ({oov}) for them")
        in_range = ~out_of_range
        if not np.array_equal(array[in_range], original[in_range]):
            last_valid = in_range & (original == vocabulary_size - 1)
            if last_valid.any() and np.all(array[last_valid] == oov):
                raise Mistake(f"for {description} the valid id {vocabulary_size - 1} was sent to the OOV row: ids up to vocabulary_size - 1 are in range")
            raise Mistake(f"for {description} some valid ids were changed; ids in [0, vocabulary_size) must pass through unchanged")
        raise Mistake(f"for {description} some out-of-range ids did not go to the OOV row {oov}")
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
