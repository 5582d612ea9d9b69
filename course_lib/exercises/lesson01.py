"""Exercises of lesson 01, *the embedding is a lookup table*.

- ``q1``: the vocabulary size (``input_dim``) that lets every ml-100k movie id be a row number;
- ``q2``: ``onehot_lookup(table, ids)``: the lookup written as one-hot(ids) @ table;
- ``q3``: the dense gradient of a lookup in which some ids repeat;
- ``q4``: ``table_bytes(input_dim, output_dim, dtype)``: the memory of an embedding table;
- ``q5``: ``safe_ids(ids, vocabulary_size)``: send out-of-range ids to an OOV row.

Each exercise's mistakes are catalogued (``qN.mistakes``): a detector and a message for each.
TensorFlow is imported only when a check needs it.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np

from course_lib.checks import (
    NUMBER_PITFALLS,
    Case,
    Exercise,
    Pitfall,
    describe,
    diagnose,
    facts,
    fallback,
    is_tensor,
    read_number,
    run_case,
    show,
    table_size_pitfalls,
    failing_line,
    missing_attribute,
    mixed_dtypes,
    tensor_advice,
    tensor_lacks,
    to_numpy,
    with_article,
)

#: Movie ids in MovieLens 100k run from 1 to this number (``u.item`` has one line per id).
ML100K_MAX_MOVIE_ID = 1682
#: ...and it has this many users and ratings (used to recognise a mixed-up count).
ML100K_USERS = 943
ML100K_RATINGS = 100_000


# --------------------------------------------------------------------------- q1

_Q1_NEEDED = ML100K_MAX_MOVIE_ID + 1


def _whole(f) -> bool:
    return float(f.value).is_integer()


_Q1_VALUE = [
    Pitfall("fractional", lambda f: not float(f.value).is_integer(),
            lambda f: f"{show(f.answer)} is not a whole number; input_dim counts rows: the largest id + 1"),
    Pitfall("largest-id", lambda f: _whole(f) and f.value == ML100K_MAX_MOVIE_ID,
            lambda f: f"{int(f.value)} is the number of movies and also the largest id. A table with {int(f.value)} rows "
                      f"has rows 0 to {int(f.value) - 1}, so looking up id {int(f.value)} would fail: off by one"),
    Pitfall("users", lambda f: _whole(f) and f.value in (ML100K_USERS, ML100K_USERS + 1),
            lambda f: f"{int(f.value)} is about the number of users; this table holds one row per movie id"),
    Pitfall("ratings", lambda f: f.value == ML100K_RATINGS,
            "100000 is the number of ratings, not of movies; the table needs one row per movie id"),
    Pitfall("not-positive", lambda f: _whole(f) and f.value <= 0,
            lambda f: f"{show(f.answer)} rows: a table needs a positive number of rows"),
    Pitfall("too-few", lambda f: _whole(f) and 0 < f.value < _Q1_NEEDED and f.value not in (ML100K_USERS, ML100K_USERS + 1, ML100K_MAX_MOVIE_ID),
            lambda f: f"{show(f.answer)} rows are too few: the largest movie id ({ML100K_MAX_MOVIE_ID}) must be a "
                      "valid row number"),
    Pitfall("one-row-too-many", lambda f: f.value == _Q1_NEEDED + 1,
            lambda f: f"{int(f.value)} rows: one more than needed (+1 twice?). Rows 0 to {ML100K_MAX_MOVIE_ID} are "
                      f"{_Q1_NEEDED} rows"),
    Pitfall("too-many", lambda f: _whole(f) and f.value > _Q1_NEEDED + 1 and f.value != ML100K_RATINGS,
            lambda f: f"{show(f.answer)} rows would work but waste memory: the smallest table has the largest id as "
                      "its last row"),
]

_Q1_TYPE = table_size_pitfalls(_Q1_NEEDED)  # the value is right: does the next cell's Embedding accept it?


def _check_vocabulary_size(answer: Any) -> str:
    number = read_number(answer, "input_dim")
    found = facts(answer=answer, number=number, value=number.value)
    diagnose(_Q1_VALUE, found)
    diagnose(_Q1_TYPE, found)
    return "Ids 1 to 1682 are row numbers, so the table needs rows 0 to 1682; row 0 is never looked up."


q1 = Exercise(
    "q1",
    "vocabulary size for ml-100k movie ids",
    _check_vocabulary_size,
    hint="""
    The id *is* the row number, and rows are numbered from 0. Which row does the largest movie id
    need, and how many rows does a table have if its last row has that number? Keras wants a
    Python int: int(...) turns a NumPy number into one.
    """,
    solution="""
    vocabulary_size = int(movies.movie_id.max()) + 1   # 1683: rows 0..1682, row 0 unused
    """,
    mistakes=[*NUMBER_PITFALLS, *_Q1_VALUE, *_Q1_TYPE],
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


def _rows_of(found) -> int:
    return int(np.shape(found.inputs["table"])[0])


def _largest_id(found) -> int:
    ids = np.asarray(found.inputs["ids"])
    return int(ids.max()) if ids.size else -1


def _matmul_shapes(found) -> tuple[list[int], list[int]] | None:
    match = re.search(r"In\[0\]: \[([\d,]+)\], In\[1\]: \[([\d,]+)\]", found.text)
    return ([int(x) for x in match[1].split(",")], [int(x) for x in match[2].split(",")]) if match else None


def _product_mismatch(found) -> bool:
    return "Matrix size-incompatible" in found.text or "Incompatible shapes" in found.text or \
        "not aligned" in found.text or "mismatch in its core dimension" in found.text


def _onehot_length(found) -> int | None:
    """The one-hot length a failed product shows: In[0]'s last size when In[1] is the table itself."""
    shapes = _matmul_shapes(found)
    if shapes is None or shapes[1] != list(np.shape(found.inputs["table"])):
        return None
    return shapes[0][-1]


def _swapped(found) -> bool:
    """table @ one_hot(ids): In[0] is the table, In[1] the one-hot matrix (rows as its last size)."""
    shapes = _matmul_shapes(found)
    return shapes is not None and shapes[0] == list(np.shape(found.inputs["table"])) and shapes[1][-1] == _rows_of(found)


_Q2_ERRORS = [  # explain=: the learner's function raised
    Pitfall("dtype-mismatch", lambda f: re.search(r"expected to be a \w+ tensor but is a \w+ tensor|must be the same type|"
                                                  r"cannot compute|not in list of allowed values|must have the same dtype",
                                                  f.text) is not None,
            lambda f: "tf.one_hot makes float32 by default, and a product needs both sides in one dtype"
                      + (f" (here {' and '.join(mixed_dtypes(f.text))})" if mixed_dtypes(f.text) else "")
                      + ": pass dtype=table.dtype to tf.one_hot"),
    Pitfall("depth-from-empty-ids", lambda f: "depth must be non-negative" in f.text,
            "the depth came from the ids (their largest id + 1?), and these ids hold no id at all: the largest of "
            "nothing is the smallest int32, so the depth went negative. The depth is the table's number of rows, "
            "table.shape[0], whatever the ids hold"),
    Pitfall("no-depth", lambda f: "Missing required positional argument" in f.text and "one_hot" in failing_line(f.error),
            "tf.one_hot needs the depth, the length of each one-hot vector: the table's number of rows, "
            "tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype)"),
    Pitfall("swapped-operands", lambda f: _product_mismatch(f) and _swapped(f),
            lambda f: f"the product is the wrong way round: the table ({_rows_of(f)} rows) came first and the one-hot "
                      "matrix second. One-hot rows pick table rows: one_hot @ table (or tf.tensordot(one_hot, table, axes=1))"),
    Pitfall("depth-from-ids", lambda f: _product_mismatch(f) and _largest_id(f) + 1 < _rows_of(f)
            and _matmul_shapes(f) is not None and _matmul_shapes(f)[0][-1] == _largest_id(f) + 1 and not _swapped(f),
            lambda f: f"the one-hot depth must be the table's number of rows (table.shape[0] = {_rows_of(f)}), not "
                      "the largest id + 1: ids below the last row still need one-hot vectors as long as the table"),
    Pitfall("depth-not-rows", lambda f: _product_mismatch(f) and _onehot_length(f) is not None
            and _onehot_length(f) < _rows_of(f) and _onehot_length(f) != _largest_id(f) + 1
            and not (_matmul_shapes(f)[0][0] == _rows_of(f) and np.ndim(f.inputs["ids"]) == 1),
            lambda f: f"the one-hot vectors have length {_onehot_length(f)} (the number of ids?), but the table has "
                      f"{_rows_of(f)} rows: the depth is the table's number of rows, table.shape[0]"),
    Pitfall("one-hot-axis", lambda f: _product_mismatch(f) and _matmul_shapes(f) is not None and not _swapped(f)
            and _matmul_shapes(f)[0][0] == _rows_of(f) and np.ndim(f.inputs["ids"]) == 1,
            lambda f: f"the one-hot matrix came first with shape {_matmul_shapes(f)[0]}, (table rows, ids): "
                      "transposed (tf.transpose, or axis=0 in tf.one_hot?). Each id must be a row of length "
                      "table.shape[0]: tf.one_hot(ids, depth) with its default axis=-1, not transposed, times the table"),
    Pitfall("depth-too-large", lambda f: _product_mismatch(f) and _matmul_shapes(f) is not None and not _swapped(f)
            and _matmul_shapes(f)[0][-1] > _rows_of(f),
            lambda f: f"the one-hot vectors are longer than the table has rows ({_rows_of(f)}): use "
                      "depth=table.shape[0]"),
    Pitfall("numpy-on-tensors", lambda f: tensor_lacks(f.text) is not None or re.search(
            r"Cannot interpret 'tf\.\w+' as a data type", f.text) is not None,
            lambda f: "ids and table may be tensors (the lesson passes tensors): "
                      + (tensor_advice(f.text) if tensor_advice(f.text) else
                         "NumPy functions do not take TensorFlow dtypes. Use tf functions (tf.one_hot, tf.tensordot, @), "
                         "or np.asarray(...) first")),
    Pitfall("tensor-method-on-array", lambda f: missing_attribute(f.text) == "numpy" and "ndarray" in f.text,
            "ids or table may also be a NumPy array, which has no .numpy() (only tensors do): tf functions take "
            "both as they are, or convert first with tf.convert_to_tensor(...)"),
]


def _q2_value(found) -> np.ndarray:
    return found.array


_Q2_RESULT = [
    Pitfall("transposed-result", lambda f: f.array.ndim == 2 and f.expected.ndim == 2 and f.array.shape == f.expected.shape[::-1]
            and f.array.shape != f.expected.shape and np.allclose(f.array.astype(np.float64), f.expected.T.astype(np.float64), atol=f.atol),
            lambda f: f"the result has shape {f.array.shape}, the looked-up rows transposed: the transposed table times "
                      "the transposed one-hot matrix gives one column per id. Take one_hot @ table, which gives one row "
                      f"per id, shape {f.expected.shape}"),
    Pitfall("returned-one-hot", lambda f: f.array.shape == tuple(np.shape(f.inputs["ids"])) + (_rows_of(f),)
            and f.array.shape != f.expected.shape,
            lambda f: f"you returned the one-hot matrix itself (shape {f.array.shape}); multiply it by the table to "
                      "select the rows"),
    Pitfall("one-hot-axis-result", lambda f: f.array.shape != f.expected.shape and f.array.ndim >= 2
            and f.array.shape[0] == _rows_of(f) and np.size(f.inputs["ids"]) in f.array.shape,
            lambda f: f"the result has shape {f.array.shape}: the one-hot axis looks wrong. Keep the default axis=-1 "
                      "so each id becomes a row of length table.shape[0]"),
    Pitfall("summed-over-ids", lambda f: f.array.shape == f.expected.shape[-1:] and f.expected.ndim > 1
            and np.allclose(f.array, f.expected.reshape(-1, f.expected.shape[-1]).sum(axis=0), atol=1e-3),
            lambda f: f"the result has shape {f.array.shape}: the rows of all ids were added up. The product one_hot "
                      "@ table keeps one row per id"),
    Pitfall("integer-result", lambda f: f.array.shape == f.expected.shape and f.array.dtype.kind != "f",
            lambda f: f"the result has dtype {f.array.dtype}; the looked-up rows are the table's floats: no cast "
                      "after the product"),
    Pitfall("result-dtype", lambda f: f.array.shape == f.expected.shape and f.array.dtype.kind == "f"
            and f.array.dtype != f.expected.dtype
            and np.allclose(f.array.astype(np.float64), f.expected.astype(np.float64), atol=f.atol),
            lambda f: f"the numbers are right, but the result is {f.array.dtype} for a {f.expected.dtype} table, and "
                      "tf.gather keeps the table's dtype: make the one-hot matrix in the table's dtype, "
                      "tf.one_hot(ids, depth, dtype=table.dtype), and cast nothing else (a cast of the table or of the "
                      "result changes its precision)"),
    Pitfall("shifted-ids", lambda f: f.array.shape == f.expected.shape and f.array.dtype.kind == "f"
            and _shift_of(f) is not None,
            lambda f: f"each row of the result is the table row of id {'- 1' if _shift_of(f) < 0 else '+ 1'} (the ids "
                      f"were shifted by {_shift_of(f):+d} before the one-hot?): an id is its own row number, so "
                      "tf.one_hot(ids, depth, dtype=table.dtype) takes the ids as they are"),
    Pitfall("wrong-rows", lambda f: f.array.shape == f.expected.shape and f.array.dtype.kind == "f" and _shift_of(f) is None
            and not np.allclose(f.array.astype(np.float64), f.expected.astype(np.float64), atol=f.atol),
            "the shape is right but the numbers are not the looked-up rows of the table: one_hot(ids) @ table"),
]


def _shift_of(f) -> int | None:
    """-1 or +1 when the result is one_hot(ids + shift) @ table (ids off the table give zero rows), else None."""
    table = np.asarray(f.inputs["table"], dtype=np.float64)
    ids = np.asarray(f.inputs["ids"])
    if ids.size == 0:
        return None
    for shift in (-1, 1):
        moved = ids + shift
        inside = (moved >= 0) & (moved < len(table))
        candidate = np.where(inside[..., None], table[np.clip(moved, 0, len(table) - 1)], 0.0)
        if np.allclose(f.array.astype(np.float64), candidate, atol=f.atol):
            return shift
    return None


def _call_quietly(function: Any, case: Case):
    import tensorflow as tf

    with np.errstate(all="ignore"), warnings.catch_warnings(), tf.device("/CPU:0"):  # exact float32 products on CPU
        warnings.simplefilter("ignore", RuntimeWarning)
        return run_case(function, case, "onehot_lookup", explain=_Q2_ERRORS)


_Q2_GATHER = Pitfall(
    "row-selection", lambda f: not np.isnan(f.array[..., _POISON_COLUMN]).all(),
    "you returned the looked-up rows exactly, with no NaN. A one-hot *product* multiplies the 0s of each one-hot "
    f"vector by row {_POISON_ROW} too, and 0 x inf = nan, so column {_POISON_COLUMN} must come out NaN. Your function "
    "selects rows instead (tf.gather, indexing, embedding_lookup...). This exercise asks for "
    "tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype) multiplied by the table",
)


def _check_onehot_lookup(function: Any) -> str:
    import tensorflow as tf

    for case in _q2_cases():
        table, ids = case.inputs["table"], case.inputs["ids"]
        expected = tf.gather(tf.convert_to_tensor(table), ids).numpy()
        array = to_numpy(_call_quietly(function, case), "the result of onehot_lookup")
        found = facts(array=array, expected=expected, inputs=case.inputs, atol=1e-2 if expected.dtype == np.float16 else 1e-5)
        diagnose(_Q2_RESULT, found, case=case, name="onehot_lookup")
        if array.shape != expected.shape:
            raise fallback(f"the result has shape {array.shape}, expected {expected.shape}",
                           "the ids' shape plus the embedding dimension, as tf.gather(table, ids) gives", case=case)
    case = _poisoned_case()
    array = to_numpy(_call_quietly(function, case), "the result of onehot_lookup").astype(np.float64)
    expected = tf.gather(case.inputs["table"], case.inputs["ids"]).numpy().astype(np.float64)
    others = [c for c in range(expected.shape[-1]) if c != _POISON_COLUMN]
    if array.shape != expected.shape or not np.allclose(array[..., others], expected[..., others]):
        raise fallback("the rows of the columns without inf are not the looked-up rows",
                       "multiply tf.one_hot(ids, table.shape[0], dtype=table.dtype) by the table", case=case)
    diagnose([_Q2_GATHER], facts(array=array), case=case, name="onehot_lookup")
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
    mistakes=[*_Q2_ERRORS, *_Q2_RESULT, _Q2_GATHER],
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


_N_IDS = int(np.size(Q3_IDS))


def _scale(f) -> float | None:
    """k if the answer is k times the gradient (k != 0), else None."""
    expected = _q3_expected()
    k = float(f.values[expected > 0].ravel()[0]) / float(expected[expected > 0].ravel()[0])
    return k if k != 0 and np.allclose(f.values, k * expected, rtol=1e-5, atol=1e-7) else None


def _counts_only(f) -> bool:
    """The counts per id, (rows,) or (rows, 1): right numbers, not yet repeated across the columns."""
    counts = np.bincount(np.ravel(Q3_IDS), minlength=Q3_ROWS)
    return f.array.shape in ((Q3_ROWS,), (Q3_ROWS, 1)) and np.array_equal(f.array.reshape(-1), counts)


_Q3_TYPE = [  # on the answer as given, before it is read as numbers
    Pitfall("the-tape", lambda f: type(f.answer).__name__ == "GradientTape",
            "that is the tape itself; the gradient is what it computes: tape.gradient(loss, layer.embeddings), "
            "made dense with tf.convert_to_tensor"),
    Pitfall("the-table", lambda f: "Variable" in type(f.answer).__name__,
            "that is the table itself (its current numbers), not the gradient of the loss with respect to it: "
            "tape.gradient(loss, layer.embeddings)"),
]

_Q3 = [
    Pitfall("not-numbers", lambda f: not np.issubdtype(f.array.dtype, np.number) and f.array.dtype != bool,
            lambda f: f"the gradient should hold numbers, got dtype {f.array.dtype}: keep the tensor tape.gradient "
                      "returns (made dense), not text"),
    Pitfall("slices-values", lambda f: f.array.shape == (_N_IDS, Q3_DIM),
            lambda f: f"shape {f.array.shape} has one row per looked-up id (the .values of the IndexedSlices). The "
                      f"gradient of the table has the table's shape ({Q3_ROWS}, {Q3_DIM}): add each value row into the "
                      "row of its id, for example with tf.convert_to_tensor(grad)"),
    Pitfall("slices-indices", lambda f: f.array.shape in ((_N_IDS,), np.shape(Q3_IDS)) and np.array_equal(
            np.sort(f.array.ravel()), np.sort(np.ravel(Q3_IDS))),
            "those are the looked-up ids (the .indices of the IndexedSlices), not the gradient: turn the whole "
            "IndexedSlices into a dense tensor with tf.convert_to_tensor"),
    Pitfall("transposed", lambda f: f.array.shape == (Q3_DIM, Q3_ROWS),
            lambda f: f"shape {f.array.shape} is transposed: the table has one row per id, shape ({Q3_ROWS}, {Q3_DIM})"),
    Pitfall("counts-per-id", lambda f: _counts_only(f),
            lambda f: f"those are the counts per id, shape {f.array.shape}: right numbers, but the gradient has the "
                      f"table's shape ({Q3_ROWS}, {Q3_DIM}), each count repeated in every column (each looked-up "
                      "number gets 1). "
                      + ("np.repeat(counts[:, None], 3, axis=1)" if f.array.ndim == 1 else "np.repeat(counts, 3, axis=1)")
                      + " does that"),
    Pitfall("lookup-output", lambda f: f.array.shape == np.shape(Q3_IDS) + (Q3_DIM,),
            lambda f: f"shape {f.array.shape} is the shape of the lookup's output, layer(q3_ids): the ids' shape "
                      f"{np.shape(Q3_IDS)} plus the dimension {Q3_DIM}. The gradient asked for is that of the loss with "
                      f"respect to the table, tape.gradient(loss, layer.embeddings), shape ({Q3_ROWS}, {Q3_DIM})"),
    Pitfall("wrong-shape", lambda f: f.array.shape not in ((Q3_ROWS, Q3_DIM), (_N_IDS, Q3_DIM), (Q3_DIM, Q3_ROWS),
                                                            (_N_IDS,), np.shape(Q3_IDS), np.shape(Q3_IDS) + (Q3_DIM,))
            and not _counts_only(f),
            lambda f: f"the gradient has shape {f.array.shape}; it should have the table's shape ({Q3_ROWS}, {Q3_DIM})"),
    Pitfall("update-sign", lambda f: _scale(f) is not None and _scale(f) < 0,
            "those are the signs of the update (minus the gradient, times the learning rate), not the gradient itself: "
            "drop the minus sign and the learning rate"),
    Pitfall("mean-loss", lambda f: _scale(f) is not None and np.isclose(_scale(f), 1 / (_N_IDS * Q3_DIM)),
            lambda f: f"that is the gradient of the *mean* of the looked-up numbers (divided by {_N_IDS * Q3_DIM}); "
                      "the loss here is their sum (tf.reduce_sum)"),
    Pitfall("scaled", lambda f: _scale(f) is not None and _scale(f) > 0 and not np.isclose(_scale(f), 1)
            and not np.isclose(_scale(f), 1 / (_N_IDS * Q3_DIM)),
            lambda f: f"every entry is {_scale(f):g} times the gradient: the loss is the plain sum of the looked-up "
                      "numbers, so each lookup adds exactly 1"),
    Pitfall("no-accumulation", lambda f: np.array_equal(f.values, (_q3_expected() > 0).astype(np.float64)),
            "every looked-up row has the right place, but repeated ids accumulate: id 9 is looked up three times, "
            "so each entry of its row gets 1 + 1 + 1"),
    Pitfall("all-zeros", lambda f: f.values.shape == (Q3_ROWS, Q3_DIM) and not f.values.any(),
            "the gradient is zero everywhere: compute the loss from the layer's output inside the GradientTape, "
            "then take tape.gradient(loss, layer.embeddings)"),
]


def _check_dense_gradient(answer: Any) -> str:
    diagnose(_Q3_TYPE, facts(answer=answer))
    array = _as_dense_gradient(answer)
    values = array.astype(np.float64) if np.issubdtype(array.dtype, np.number) else None
    diagnose(_Q3, facts(array=array, values=values))
    if not np.allclose(values, _q3_expected(), atol=1e-5):
        raise fallback("the shape is right but some numbers are not",
                       "row i should be (number of times id i is looked up) in every column: count the ids of q3_ids")
    return "Ids 9 (three times) and 5 (twice) accumulate; rows never looked up get exactly 0."


q3 = Exercise(
    "q3",
    "the dense gradient of a lookup with repeated ids",
    _check_dense_gradient,
    hint="""
    The loss is the sum of every looked-up value, so each lookup sends a gradient of 1 to each entry
    of its row. Record the loss under tf.GradientTape, take the gradient with respect to
    layer.embeddings and turn the IndexedSlices into a dense tensor with tf.convert_to_tensor. Or count
    how often each id appears, np.bincount(np.ravel(q3_ids), minlength=10), and repeat each count
    across the 3 columns.
    """,
    solution="""
    layer = keras.layers.Embedding(10, 3)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant([[5, 9, 5], [9, 9, 2]])))
    dense_gradient = tf.convert_to_tensor(tape.gradient(loss, layer.embeddings))
    """,
    mistakes=[*_Q3_TYPE, *_Q3],
    if_none="your answer is None: tape.gradient returns None when the loss was not computed from the table inside "
            "the `with tf.GradientTape() as tape:` block (or when you ask for another variable): compute "
            "loss = tf.reduce_sum(layer(q3_ids)) inside the block, then tape.gradient(loss, layer.embeddings)",
)


# --------------------------------------------------------------------------- q4


def _q4_cases() -> list[Case]:
    rows = [
        (1683, 32, "float32", "the movie table of section 2 in float32"),
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


_Q4_ERRORS = [
    Pitfall("own-dtype-table", lambda f: isinstance(f.error, KeyError),
            lambda f: f"your function looks the dtype up in a table of its own, which lacks {f.text.split(': ', 1)[-1]}: "
                      "np.dtype(dtype).itemsize knows the size of every NumPy dtype"),
    Pitfall("size-from-name", lambda f: isinstance(f.error, ValueError) and "invalid literal for int()" in f.text
            or isinstance(f.error, IndexError) and "dtype" in failing_line(f.error),
            lambda f: f"reading the size from the dtype's name fails for {f.inputs.get('dtype', 'float32')!r}: bool has no "
                      "number in its name, and int8's number has one digit: np.dtype(dtype).itemsize gives the bytes "
                      "of any dtype"),
    Pitfall("keras-layer-dtype", lambda f: re.search(r"QuantizedDTypePolicy|Argument `dtype` got invalid value", f.text) is not None,
            lambda f: f"a Keras layer made with dtype={f.inputs.get('dtype', 'float32')!r} "
                      + (f"reads {f.inputs.get('dtype', 'float32')!r} as a quantisation mode, not as the table's dtype" if "Policy" in f.text else
                         "is refused: its random initializer makes floats and a few integer dtypes only")
                      + ", so no layer is made: compute the bytes without a layer, "
                        "input_dim * output_dim * np.dtype(dtype).itemsize"),
    Pitfall("no-default-dtype", lambda f: isinstance(f.error, TypeError) and "required positional argument" in f.text,
            "the call gave no dtype: the exercise asks for table_bytes(input_dim, output_dim, dtype=\"float32\"), "
            "with float32 as the default"),
    Pitfall("itemsize-of-name", lambda f: isinstance(f.error, AttributeError) and missing_attribute(f.text) == "itemsize"
            and "'str'" in f.text,
            lambda f: f"the dtype argument is a name, the string {f.inputs.get('dtype', 'float32')!r}, and a string has no "
                      ".itemsize: turn the name into a NumPy dtype first, np.dtype(dtype).itemsize"),
    Pitfall("float-or-int-info", lambda f: isinstance(f.error, ValueError) and re.search(
            r"not inexact|Invalid integer data type", f.text) is not None,
            lambda f: f"np.finfo knows only float dtypes and np.iinfo only integer ones, and this call used "
                      f"{f.inputs.get('dtype', 'float32')!r}: np.dtype(dtype).itemsize gives the bytes of any dtype"),
    Pitfall("tensorflow-dtype-size", lambda f: isinstance(f.error, AttributeError) and "'DType'" in f.text,
            "tf.as_dtype(...) gives a TensorFlow DType, whose bytes are .size, not .itemsize; the NumPy way, "
            "np.dtype(dtype).itemsize, also knows every NumPy dtype"),
    Pitfall("dtype-bits", lambda f: isinstance(f.error, AttributeError) and "DType" in f.text and "'DType'" not in f.text,
            lambda f: f"a NumPy dtype has no .{missing_attribute(f.text)}: its size in bytes is .itemsize, "
                      "np.dtype(dtype).itemsize"),
]


def _array_overhead(dtype: str) -> int:
    """What sys.getsizeof adds to the bytes of a 2-D NumPy array: its header (128 bytes on 64-bit CPython)."""
    import sys

    return sys.getsizeof(np.empty((1, 1), dtype)) - np.dtype(dtype).itemsize


def _q4_facts(case: Case, result: Any, others: list | None = None) -> Any:
    n, d = case.inputs["input_dim"], case.inputs["output_dim"]
    dtype = case.inputs.get("dtype", "float32")
    try:
        got = to_numpy(result).reshape(()).item()
    except Exception:  # noqa: BLE001 - not one number: the type pitfalls name it
        got = None
    return facts(result=result, got=got, n=n, d=d, dtype=dtype, itemsize=np.dtype(dtype).itemsize, expected=case.expected,
                 overhead=_array_overhead(dtype), others=others or [])


def _with_overhead(f) -> bool:
    """Every case returned its bytes plus a NumPy array's header: sys.getsizeof of an array."""
    return all(o.got == o.expected + o.overhead for o in [f, *f.others] if _is_number_result(o))


def _rounding_of(got, value: float) -> bool:
    """``got`` is ``value`` or a rounding of it to 0-3 decimals (how learners print megabytes)."""
    return isinstance(got, (int, float)) and value > 0 and got != 0 and (np.isclose(got, value, rtol=1e-12, atol=0) or any(
        np.isclose(got, round(value, digits), rtol=1e-12, atol=0) for digits in range(0, 4)))


def _is_number_result(f) -> bool:
    return f.got is not None and not isinstance(f.result, (bool, np.bool_, str)) and isinstance(f.got, (int, float))


def _one_element(f) -> bool:
    return isinstance(f.result, (list, tuple, np.ndarray)) and np.size(f.result) == 1 and np.ndim(f.result) >= 1


_UNITS = (1e3, 2**10, 1e6, 2**20, 1e9, 2**30)

_Q4 = [
    Pitfall("string-result", lambda f: isinstance(f.result, str),
            lambda f: f"your function returned the string {f.result!r}; return the number itself (an int), not text"),
    Pitfall("one-element-result", lambda f: _one_element(f),
            lambda f: f"your function returned {describe(f.result)} holding the number; return the number itself, "
                      "an int (take it out with [0], or do not wrap it in brackets)"),
    Pitfall("not-a-number-result", lambda f: not isinstance(f.result, str) and not _is_number_result(f) and not _one_element(f),
            lambda f: f"your function returned {describe(f.result)}; return the number of bytes, a whole number (an int)"),
    Pitfall("megabytes", lambda f: _is_number_result(f) and not _one_element(f)
            and any(_rounding_of(f.got, f.expected / unit) for unit in _UNITS) and f.got != f.expected,
            lambda f: f"your function returned {f.got:g}: return bytes, not kilobytes, megabytes or gigabytes (and "
                      "do not round: the exercise asks for the exact number of bytes)"),
    Pitfall("array-overhead", lambda f: _is_number_result(f) and not _one_element(f) and _with_overhead(f),
            lambda f: f"your function returned {f.got:,}, {f.overhead} bytes more than the table's numbers take: "
                      "sys.getsizeof also counts the array object's header. Count the numbers' bytes only: "
                      "rows x dimension x np.dtype(dtype).itemsize (an array's .nbytes gives the same)"),
    Pitfall("whole-megabytes", lambda f: _is_number_result(f) and not _one_element(f) and f.got != f.expected
            and f.got in (f.expected // 10**6, f.expected // 2**20) and not any(_rounding_of(f.got, f.expected / u) for u in _UNITS),
            lambda f: f"your function returned {f.got}: that is whole megabytes; return bytes"),
    Pitfall("float-bytes", lambda f: _is_number_result(f) and not _one_element(f) and isinstance(f.got, float) and f.got == f.expected,
            lambda f: f"your function returned the float {f.got:g}; the prompt asks for a whole number: return an int "
                      "(/ always makes a float; multiply only, or wrap in int(...))"),
    Pitfall("parameters", lambda f: _is_number_result(f) and not _one_element(f) and f.got == f.n * f.d and f.itemsize != 1,
            lambda f: f"your function returned {f.got:,}: that is the number of parameters; each {f.dtype} takes "
                      f"{f.itemsize} bytes"),
    Pitfall("bits", lambda f: _is_number_result(f) and not _one_element(f) and f.got == f.expected * 8,
            lambda f: f"your function returned {f.got:,}: that is bits; a byte is 8 bits"),
    Pitfall("always-4-bytes", lambda f: _is_number_result(f) and not _one_element(f) and f.got == f.n * f.d * 4 and f.itemsize != 4,
            lambda f: f"your function returned {f.got:,}, which assumes 4 bytes per number; {with_article(f.dtype)} "
                      f"takes {f.itemsize}: np.dtype(dtype).itemsize"),
    Pitfall("row-off-by-one", lambda f: _is_number_result(f) and not _one_element(f) and not _with_overhead(f)
            and f.got in ((f.n + 1) * f.d * f.itemsize, (f.n - 1) * f.d * f.itemsize),
            lambda f: f"your function returned {f.got:,}: one row too many or too few. The table has exactly input_dim rows"),
]


def _others(function: Any, cases: list[Case], case: Case) -> list:
    """The facts of the other cases, for detectors that look at every case (an answer that raises there is skipped)."""
    out = []
    for other in cases:
        if other is case:
            continue
        try:
            out.append(_q4_facts(other, run_case(function, other, "table_bytes")))
        except Exception:  # noqa: BLE001 - that case raises: its error is reported when its turn comes
            continue
    return out


def _check_table_bytes(function: Any) -> str:
    cases = _q4_cases()
    for case in cases:
        result = run_case(function, case, "table_bytes", explain=_Q4_ERRORS)
        found = _q4_facts(case, result)
        if _is_number_result(found) and not isinstance(found.got, float) and not _one_element(found) and found.got == case.expected:
            continue
        found = _q4_facts(case, result, _others(function, cases, case))
        diagnose(_Q4, found, case=case, name="table_bytes")
        raise fallback(f"your function returned {found.got:,}, expected {case.expected:,}",
                       "rows x dimension x bytes per number (np.dtype(dtype).itemsize)", case=case)
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
    mistakes=[*_Q4_ERRORS, *_Q4],
)


# --------------------------------------------------------------------------- q5


def _q5_cases() -> list[Case]:
    import tensorflow as tf

    rng = np.random.default_rng(5)
    random_ids = rng.integers(-20, 1200, size=(4, 6)).astype(np.int32)
    return [
        Case({"ids": tf.constant([0, 5, 9, 10, -1, 12]), "vocabulary_size": 10}, about="ids on both sides of a 10-id vocabulary"),
        Case({"ids": np.array([[3, 1683, -7], [1682, 0, 99_999]], dtype=np.int64), "vocabulary_size": 1683},
             about="a 2-D int64 NumPy array of movie ids"),
        Case({"ids": random_ids, "vocabulary_size": 1000}, about="an int32 NumPy array"),
        Case({"ids": tf.constant([[4, 2], [0, 1]], dtype=tf.int64), "vocabulary_size": 5}, about="ids that are all valid"),
        Case({"ids": np.array([-3, 7, 8], dtype=np.int64), "vocabulary_size": 7}, about="ids that are all out of range"),
        Case({"ids": np.zeros((0,), dtype=np.int64), "vocabulary_size": 4}, about="no ids at all"),
    ]  # fmt: skip


def _expected_safe(ids: np.ndarray, vocabulary_size: int) -> np.ndarray:
    return np.where((ids >= 0) & (ids < vocabulary_size), ids, vocabulary_size)


_Q5_ERRORS = [
    Pitfall("assigns-into-tensor", lambda f: is_tensor(f.inputs["ids"]) and isinstance(f.error, TypeError)
            and ("item assignment" in f.text or "scalar index" in f.text),
            "ids may be a TensorFlow tensor, and a tensor cannot be changed in place: build the result with "
            "tf.where(valid, ids, vocabulary_size), which works for tensors and arrays"),
    Pitfall("numpy-method-on-tensor", lambda f: tensor_lacks(f.text) is not None,
            lambda f: f"ids may be a TensorFlow tensor: {tensor_advice(f.text)}; or convert first "
                      "(np.array(ids) for a NumPy copy)"),
    Pitfall("tensor-method-on-array", lambda f: missing_attribute(f.text) == "numpy" and "ndarray" in f.text,
            "ids may also be a NumPy array, which has no .numpy() (only tensors do): tf.convert_to_tensor(ids) or "
            "np.asarray(ids) works on both"),
    Pitfall("oov-dtype-mix", lambda f: mixed_dtypes(f.text) is not None and all(
            d.startswith(("int", "uint")) for d in mixed_dtypes(f.text)),
            lambda f: f"the ids are {mixed_dtypes(f.text)[0]} here but the OOV value you built is "
                      f"{mixed_dtypes(f.text)[1]} (tf.fill and tf.constant make int32 from a Python int), and tf.where "
                      "needs one dtype: make the OOV value in the ids' dtype, tf.cast(vocabulary_size, ids.dtype) "
                      "(tf.ones_like(ids) * vocabulary_size also keeps it)"),
    Pitfall("python-and", lambda f: "truth value of an array" in f.text,
            "Python's and, if and chained comparisons (0 <= ids < n) need one True or False, but ids holds many: "
            "combine the two tests element by element with & in brackets, (ids >= 0) & (ids < vocabulary_size), "
            "then tf.where(valid, ids, ...)"),
]


def _q5_facts(case: Case, array: np.ndarray) -> Any:
    original = to_numpy(case.inputs["ids"])
    size = case.inputs["vocabulary_size"]
    out_of_range = (original < 0) | (original >= size)
    return facts(array=array, original=original, size=size, expected=_expected_safe(original, size),
                 out_of_range=out_of_range, negatives=original < 0, too_large=original >= size)


def _same_except(f, where: np.ndarray, values) -> bool:
    """The result equals the expected ids, except at ``where``, which hold ``values``."""
    return bool(where.any()) and np.array_equal(f.array[~where], f.expected[~where]) and np.array_equal(
        f.array[where], np.broadcast_to(values, f.array.shape)[where])


def _integer_lookup(f) -> bool:
    """What keras.layers.IntegerLookup(vocabulary=range(vocabulary_size)) gives: OOV index 0, every id moved up by one."""
    return f.array.shape == f.expected.shape and np.array_equal(
        f.array, np.where(f.out_of_range, 0, f.original + 1)) and bool((~f.out_of_range).any())


_Q5 = [
    Pitfall("integer-lookup", lambda f: _integer_lookup(f),
            lambda f: f"every valid id came back one higher and the out-of-range ids as 0: that is IntegerLookup's "
                      "layout (its OOV index is 0, the vocabulary follows from 1). This exercise keeps the ids as they "
                      f"are and sends only the others to row vocabulary_size ({f.size}): tf.where(valid, ids, ...)"),
    Pitfall("clipped-to-oov", lambda f: f.negatives.any() and f.too_large.any() and _same_except(
            f, f.out_of_range, np.where(f.negatives, 0, f.size)),
            lambda f: f"the ids above the vocabulary went to the OOV row {f.size}, but the negative ones to row 0, a "
                      "real row (clipping ids to [0, vocabulary_size] does that): send every out-of-range id to the OOV "
                      "row, tf.where((ids >= 0) & (ids < vocabulary_size), ids, ...)"),
    Pitfall("wrong-shape", lambda f: f.array.shape != f.expected.shape,
            lambda f: f"the result has shape {f.array.shape}; keep the shape of the ids, {f.expected.shape}"),
    Pitfall("float-result", lambda f: not np.issubdtype(f.array.dtype, np.integer),
            lambda f: f"the result has dtype {f.array.dtype}; ids must stay integers (an Embedding silently truncates "
                      "float ids, and large float32 ids lose digits)"),
    Pitfall("negatives-kept", lambda f: _same_except(f, f.negatives, f.original),
            "negative ids were left as they are. Keras wraps them around to the last rows without any error, so "
            "they need the OOV row too: test both ends, 0 <= id < vocabulary_size"),
    Pitfall("too-large-kept", lambda f: _same_except(f, f.too_large, f.original),
            "ids of vocabulary_size or more were left as they are: they have no row, so they need the OOV row too"),
    Pitfall("clipped", lambda f: f.out_of_range.any() and (_same_except(f, f.out_of_range, f.size - 1) or _same_except(
            f, f.out_of_range, np.clip(f.original, 0, f.size - 1))),
            lambda f: f"out-of-range ids were clipped onto a real row (id {f.size - 1} or 0): the model would silently "
                      f"treat them as that movie. Send them to the extra OOV row {f.size}"),
    Pitfall("oov-row-zero", lambda f: _same_except(f, f.out_of_range, 0) and not _same_except(
            f, f.out_of_range, np.clip(f.original, 0, f.size - 1)),
            lambda f: f"out-of-range ids went to row 0; this exercise reserves row vocabulary_size ({f.size}) for them"),
    Pitfall("oov-minus-one", lambda f: _same_except(f, f.out_of_range, -1),
            "out-of-range ids became -1: a negative id is itself out of range (Keras wraps it to the last row). "
            "The OOV row is vocabulary_size"),
    Pitfall("oov-one-past", lambda f: _same_except(f, f.out_of_range, f.size + 1),
            lambda f: f"out-of-range ids went to {f.size + 1}; the OOV row is the first row after the vocabulary, "
                      f"vocabulary_size = {f.size}"),
    Pitfall("last-valid-to-oov", lambda f: _same_except(f, f.out_of_range | (f.original == f.size - 1), f.size)
            and (f.original == f.size - 1).any(),
            lambda f: f"the valid id {f.size - 1} was sent to the OOV row: ids up to vocabulary_size - 1 are in range "
                      "(< vocabulary_size, not < vocabulary_size - 1)"),
    Pitfall("zero-to-oov", lambda f: _same_except(f, f.out_of_range | (f.original == 0), f.size) and (f.original == 0).any(),
            "the valid id 0 was sent to the OOV row: ids from 0 up are in range (>= 0, not > 0)"),
    Pitfall("valid-ids-changed", lambda f: f.array.shape == f.expected.shape
            and not np.array_equal(f.array[~f.out_of_range], f.original[~f.out_of_range])
            and not _same_except(f, f.out_of_range | (f.original == f.size - 1), f.size)
            and not _same_except(f, f.out_of_range | (f.original == 0), f.size) and not _integer_lookup(f),
            lambda f: f"some valid ids were changed ({show(f.original[~f.out_of_range])} became "
                      f"{show(f.array[~f.out_of_range])}): ids in [0, vocabulary_size) must pass through unchanged; "
                      "use the vocabulary_size argument, not a number of your own"),
]


def _check_safe_ids(function: Any) -> str:
    for case in _q5_cases():
        result = run_case(function, case, "safe_ids", explain=_Q5_ERRORS)
        array = to_numpy(result, "the result of safe_ids")
        found = _q5_facts(case, array)
        if array.shape == found.expected.shape and np.issubdtype(array.dtype, np.integer) and np.array_equal(array, found.expected):
            continue
        diagnose(_Q5, found, case=case, name="safe_ids")
        raise fallback(f"some out-of-range ids did not go to the OOV row {found.size}: expected {show(found.expected)}, "
                       f"got {show(array)}", "look at the ids below 0 and at or above vocabulary_size", case=case,
                       name="safe_ids")  # fmt: skip
    return "Every id outside [0, vocabulary_size) now uses the OOV row; the table needs vocabulary_size + 1 rows."


q5 = Exercise(
    "q5",
    "guard ids with an OOV row",
    _check_safe_ids,
    hint="""
    Build a boolean tensor that is True where 0 <= id < vocabulary_size, testing both ends with &:
    valid = (ids >= 0) & (ids < vocabulary_size). Then tf.where(valid, ids, oov), with the OOV value
    in the ids' own dtype (ids may be int64): oov = tf.cast(vocabulary_size, ids.dtype), after
    ids = tf.convert_to_tensor(ids).
    """,
    solution="""
    def safe_ids(ids, vocabulary_size):
        ids = tf.convert_to_tensor(ids)
        valid = (ids >= 0) & (ids < vocabulary_size)
        return tf.where(valid, ids, tf.cast(vocabulary_size, ids.dtype))
    """,
    mistakes=[*_Q5_ERRORS, *_Q5],
)

__all__ = ["q1", "q2", "q3", "q4", "q5", "Q3_IDS", "Q3_ROWS", "Q3_DIM", "ML100K_MAX_MOVIE_ID"]
