"""Unit tests of lesson 01: its self-checks (course_lib/exercises/lesson01.py) and plot/widget
helpers (course_lib/lookup.py).

Each exercise's catalogue is tested with :func:`exercise_helpers.check_catalogue`: every
catalogued mistake, made by a realistic wrong answer, is named by its own detector and message.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.checks import ____
from exercise_helpers import check_catalogue, message, rejected, solution_namespace, status
from course_lib.exercises.lesson01 import Q3_DIM, Q3_IDS, Q3_ROWS, q1, q2, q3, q4, q5
from course_lib.lookup import as_table, draw_row, plot_table_change, row_explorer


@pytest.mark.parametrize("blank", [..., ____])
def test_blanks_are_not_attempted(blank):
    for exercise in (q1, q2, q3, q4, q5):
        assert status(exercise, blank) == "not attempted"


def test_check_prints_and_never_raises(capsys):
    q1.check(...)
    q1.check(1682)
    q1.check(1683)
    lines = capsys.readouterr().out.splitlines()
    assert "not attempted" in lines[0] and "not yet" in lines[1] and "correct" in lines[2]


# --------------------------------------------------------------------------- q1


def test_q1_accepts_what_the_next_cell_accepts():
    assert status(q1, 1683) == "correct"
    assert status(q1, int(np.int64(1682)) + 1) == "correct"
    keras.layers.Embedding(1683, 4)  # the next cell's use of the answer


Q1_MISTAKES = {
    "boolean": [True],
    "string": ["1683"],
    "pandas-object": [__import__("pandas").Series([1683])],
    "one-element-array": [np.array([1683])],
    "several-numbers": [np.array([1683, 1683])],
    "not-finite": [float("inf")],
    "not-a-number": [keras.layers.Embedding(1683, 8)],
    "fractional": [1682.5],
    "largest-id": [1682, np.int64(1682)],
    "users": [943, 944],
    "ratings": [100_000],
    "not-positive": [0, -1683],
    "too-few": [1000, 1],
    "one-row-too-many": [1684],
    "too-many": [2000],
    "float-size": [1683.0, np.float64(1683), tf.constant(1683.0)],
    "numpy-integer": [np.int64(1683), np.int32(1683)],
    "tensor-size": [tf.constant(1683)],
    "zero-d-array": [np.array(1683)],
}


def test_q1_catalogue():
    messages = check_catalogue(q1, Q1_MISTAKES)
    assert "wrap it in int(...)" in messages["numpy-integer"].lower()  # the issue: np.int64 passed, Embedding refused it


# --------------------------------------------------------------------------- q2


def onehot_reference(table, ids):
    onehot = tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype)
    return tf.tensordot(onehot, table, axes=1)


def onehot_matmul(table, ids):  # another correct form: `@` broadcasts over the leading axes
    table = tf.convert_to_tensor(table)
    return tf.one_hot(ids, table.shape[0], dtype=table.dtype) @ table


def onehot_numpy(table, ids):  # and a NumPy one
    table = np.asarray(table)
    return np.eye(table.shape[0], dtype=table.dtype)[np.asarray(ids)] @ table


def first_axis_contracted(table, ids):  # one-hot on axis 0, contracted on axis 0: also correct
    onehot = tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype, axis=0)
    return tf.tensordot(onehot, table, axes=[[0], [0]])


@pytest.mark.parametrize("function", [onehot_reference, onehot_matmul, onehot_numpy, first_axis_contracted,
                                      solution_namespace(q2, tf=tf)["onehot_lookup"]])
def test_q2_accepts_correct_functions(function):
    assert status(q2, function) == "correct"


def depth_from_ids(table, ids):
    ids = tf.convert_to_tensor(ids)
    onehot = tf.one_hot(ids, depth=int(tf.reduce_max(ids)) + 1, dtype=table.dtype)
    return tf.tensordot(onehot, table, axes=1)


def depth_plus_one(table, ids):
    return tf.tensordot(tf.one_hot(ids, depth=table.shape[0] + 1, dtype=table.dtype), table, axes=1)


def default_dtype(table, ids):
    return tf.tensordot(tf.one_hot(ids, depth=table.shape[0]), table, axes=1)


def onehot_only(table, ids):
    return tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype)


def wrong_axis(table, ids):
    onehot = tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype, axis=0)
    return tf.tensordot(onehot, table, axes=1)


def transposed_result(table, ids):  # one-hot on axis 0 and the product taken the other way round
    onehot = tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype, axis=0)
    return tf.transpose(tf.tensordot(tf.transpose(table), onehot, axes=1))


def summed_rows(table, ids):
    rows = tf.tensordot(tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype), table, axes=1)
    return tf.reshape(tf.reduce_sum(tf.reshape(rows, [-1, table.shape[1]]), axis=0), [-1])


def numpy_only(table, ids):  # works on NumPy ids, fails on the tensors the lesson uses
    return np.eye(table.shape[0], dtype=table.dtype)[ids.astype(int)] @ table


def integer_product(table, ids):
    return tf.cast(onehot_reference(table, ids), tf.int32)


def gather_only(table, ids):  # correct numbers, but the exercise forbids tf.gather
    return tf.gather(table, ids)


def sparse_onehot(table, ids):  # a "product" with a sparse one-hot skips the zeros: a lookup in disguise
    table = tf.convert_to_tensor(table)
    ids = tf.convert_to_tensor(ids)
    flat = tf.reshape(tf.cast(ids, tf.int64), [-1])
    n = tf.shape(flat, out_type=tf.int64)[0]
    onehot = tf.sparse.SparseTensor(tf.stack([tf.range(n), flat], 1), tf.ones_like(flat, dtype=table.dtype), [n, table.shape[0]])
    rows = tf.sparse.sparse_dense_matmul(onehot, table)
    return tf.reshape(rows, tf.concat([tf.shape(ids), [table.shape[1]]], 0))


def no_depth(table, ids):
    return tf.one_hot(ids, dtype=table.dtype) @ table


def swapped_at(table, ids):  # the walkthrough's answer: the table first
    return tf.convert_to_tensor(table) @ tf.one_hot(ids, len(table), dtype=table.dtype)


def swapped_matmul(table, ids):
    return tf.matmul(tf.convert_to_tensor(table), tf.one_hot(ids, table.shape[0], dtype=table.dtype))


def swapped_tensordot(table, ids):
    return tf.tensordot(table, tf.one_hot(ids, table.shape[0], dtype=table.dtype), axes=1)


def depth_is_number_of_ids(table, ids):
    return tf.one_hot(ids, len(ids), dtype=table.dtype) @ table


def both_transposed(table, ids):
    return tf.transpose(table) @ tf.transpose(tf.one_hot(ids, table.shape[0], dtype=table.dtype))


def cast_table_to_float32(table, ids):  # right numbers, but a float64 table comes back float32
    return tf.one_hot(ids, table.shape[0]) @ tf.cast(table, tf.float32)


def numpy_eye_default_dtype(table, ids):  # np.eye is float64 whatever the table
    return np.eye(len(table))[ids] @ table


def ids_to_numpy(table, ids):  # .numpy() exists on tensors only
    return tf.one_hot(ids.numpy(), table.shape[0], dtype=table.dtype) @ table


def depth_from_ids_sliced(table, ids):  # the walkthrough's answer: right until the ids are empty
    depth = int(tf.reduce_max(ids)) + 1
    return tf.one_hot(ids, depth, dtype=table.dtype) @ table[:depth]


def transposed_onehot(table, ids):  # the walkthrough's answer: the one-hot matrix transposed, then the product
    return tf.transpose(tf.one_hot(ids, table.shape[0], dtype=table.dtype)) @ table


def ids_minus_one(table, ids):  # the walkthrough's answer: ids read as positions counted from 1
    return tf.one_hot(ids - 1, table.shape[0], dtype=table.dtype) @ table


def onehot_astype(table, ids):  # the walkthrough's answer: .astype on a tensor (TF 2.21 prints it without quotes)
    return tf.one_hot(ids, table.shape[0]).astype(table.dtype) @ table


Q2_MISTAKES = {
    "dtype-mismatch": [default_dtype],
    "no-depth": [no_depth],
    "swapped-operands": [swapped_at, swapped_matmul, swapped_tensordot],
    "depth-not-rows": [depth_is_number_of_ids],
    "tensor-method-on-array": [ids_to_numpy],
    "transposed-result": [both_transposed],
    "result-dtype": [cast_table_to_float32, numpy_eye_default_dtype],
    "depth-from-ids": [depth_from_ids],
    "one-hot-axis": [wrong_axis, transposed_onehot],
    "depth-from-empty-ids": [depth_from_ids_sliced],
    "shifted-ids": [ids_minus_one, lambda table, ids: tf.one_hot(ids + 1, table.shape[0], dtype=table.dtype) @ table],
    "depth-too-large": [depth_plus_one],
    "numpy-on-tensors": [numpy_only, onehot_astype],
    "returned-one-hot": [onehot_only],
    "one-hot-axis-result": [lambda table, ids: tf.transpose(onehot_only(table, ids))],
    "summed-over-ids": [summed_rows],
    "integer-result": [integer_product],
    "wrong-rows": [lambda table, ids: tf.gather(table, ids) * 2, lambda table, ids: onehot_reference(table, ids) + 1],
    "row-selection": [gather_only, lambda table, ids: tf.nn.embedding_lookup(table, ids), sparse_onehot,
                      lambda table, ids: np.asarray(table)[np.asarray(ids)]],
    "not-a-function": ["onehot_lookup", onehot_reference(tf.ones((3, 2)), tf.constant([1]))],
}


def test_q2_catalogue():
    messages = check_catalogue(q2, Q2_MISTAKES)
    assert "dtype=table.dtype" in messages["dtype-mismatch"]
    assert "no NaN" in messages["row-selection"] and "tf.one_hot" in messages["row-selection"]


def test_q2_row_selection_is_caught_whatever_its_spelling_or_source():
    namespace = {"tf": tf}
    exec(  # no source file: nothing to read, the behaviour decides
        "def typed(table, ids):\n    return tf.gather(tf.convert_to_tensor(table), ids)\n"
        "def typed_onehot(table, ids):\n    return tf.one_hot(ids, tf.shape(table)[0], dtype=table.dtype) @ table\n",
        namespace,
    )
    assert status(q2, namespace["typed"]) == "incorrect"
    assert status(q2, namespace["typed_onehot"]) == "correct"
    assert status(q2, lambda table, ids: tf.einsum("...r,rd->...d", tf.one_hot(ids, len(table), dtype=table.dtype), table)) == "correct"


def test_q2_walkthrough_answers_name_their_mistake():
    swapped = rejected(q2, swapped_at)
    assert swapped.mistake == "swapped-operands" and "wrong way round" in swapped.message
    assert "one-hot axis" not in swapped.message  # was: blamed the one-hot axis the learner never changed
    astype = rejected(q2, onehot_astype)
    assert "tf.cast(t, dtype)" in astype.message and astype.error == "AttributeError: EagerTensor object has no attribute 'astype'"
    widened = rejected(q2, cast_table_to_float32)
    assert widened.mistake == "result-dtype" and "float32 for a float64 table" in widened.message  # was accepted


def test_q2_second_walkthrough_answers_name_their_mistake():
    """Walkthrough 17, re-run after the first fix pass: each answer gets its own detector's message."""
    empty = rejected(q2, depth_from_ids_sliced)  # was: "depth must be non-negative" + "run that call yourself"
    assert empty.mistake == "depth-from-empty-ids" and empty.detected == ("depth-from-empty-ids",)
    assert "table.shape[0]" in empty.message and "run that call yourself" not in empty.message
    transposed = rejected(q2, transposed_onehot)  # was: "keep tf.one_hot's default axis=-1" for an axis never set
    assert transposed.mistake == "one-hot-axis" and "transposed" in transposed.message and "[7, 4]" in transposed.message
    shifted = rejected(q2, ids_minus_one)  # was: "the numbers are not the looked-up rows"
    assert shifted.mistake == "shifted-ids" and shifted.detected == ("shifted-ids",) and "id - 1" in shifted.message
    eye = rejected(q2, numpy_eye_default_dtype)  # the table was never cast: no "leave the table as it is"
    assert eye.mistake == "result-dtype" and "leave the table" not in eye.message and "float64 for a float32 table" in eye.message


def test_q2_learner_errors_are_explained_not_bare():
    result = rejected(q2, numpy_only)
    assert "onehot_lookup raised TypeError" in result.message and "for a float32 table and 1-D ids" in result.message
    assert result.error and "function_node" not in result.message


def test_q2_an_uncatalogued_crash_still_gets_an_explanation():
    result = rejected(q2, lambda table, ids: tf.one_hot(ids, table.shape[0], dtype=table.dtype) @ tf.transpose(table))
    assert result.mistake == "raised" and "matrix product" in result.message


def test_q2_stub_function_is_not_attempted():
    def stub(table, ids):
        ...  # YOUR CODE HERE

    assert status(q2, stub) == "not attempted"


# --------------------------------------------------------------------------- q3


def tape_gradient():
    layer = keras.layers.Embedding(Q3_ROWS, Q3_DIM)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant(Q3_IDS)))
    return tape.gradient(loss, layer.embeddings), tape


def test_q3_accepts_every_form_of_the_gradient():
    gradient, _ = tape_gradient()
    assert isinstance(gradient, tf.IndexedSlices)
    counts = np.bincount(np.ravel(Q3_IDS), minlength=Q3_ROWS)
    forms = [
        tf.convert_to_tensor(gradient),
        gradient,  # the IndexedSlices itself
        [gradient],  # as tape.gradient(loss, [variable]) returns it
        np.repeat(counts[:, None], Q3_DIM, axis=1),  # int counts
        np.repeat(counts[:, None], Q3_DIM, axis=1).tolist(),
    ]
    for form in forms:
        assert status(q3, form) == "correct", form


def test_q3_hint_leads_to_accepted_answers(capsys):
    q3.hint()
    hint = " ".join(capsys.readouterr().out.split())
    assert "np.bincount(np.ravel(q3_ids), minlength=10)" in hint and "repeat each count across the 3 columns" in hint
    q3_ids = tf.constant(Q3_IDS)  # as the notebook defines it
    counts = np.bincount(np.ravel(q3_ids), minlength=10)
    assert status(q3, np.repeat(counts[:, None], 3, axis=1)) == "correct"
    assert rejected(q3, counts).mistake == "counts-per-id"  # half the hint: named, with the other half as the fix
    gradient, _ = tape_gradient()
    assert status(q3, tf.convert_to_tensor(gradient)) == "correct"


def test_q3_catalogue():
    gradient, tape = tape_gradient()
    dense = tf.convert_to_tensor(gradient).numpy()
    check_catalogue(q3, {
        "the-tape": [tape],
        "the-table": [keras.layers.Embedding(Q3_ROWS, Q3_DIM, embeddings_initializer="ones").embeddings
                      if False else _built_table()],
        "counts-per-id": [np.bincount(np.ravel(Q3_IDS), minlength=Q3_ROWS),
                          np.bincount(np.ravel(Q3_IDS), minlength=Q3_ROWS)[:, None]],
        "lookup-output": [keras.layers.Embedding(Q3_ROWS, Q3_DIM)(tf.constant(Q3_IDS)), tf.ones((2, 3, 3))],
        "not-numbers": [np.full((Q3_ROWS, Q3_DIM), "1")],
        "slices-values": [gradient.values],
        "slices-indices": [gradient.indices],
        "transposed": [dense.T],
        "wrong-shape": [dense[:5], dense[:, :2]],
        "update-sign": [-dense, -0.1 * dense],
        "mean-loss": [dense / (6 * 3)],
        "scaled": [2 * dense, dense / 3],
        "no-accumulation": [(dense > 0).astype(np.float32)],
        "all-zeros": [np.zeros((Q3_ROWS, Q3_DIM))],
    })


def _built_table():
    layer = keras.layers.Embedding(Q3_ROWS, Q3_DIM)
    layer.build()
    return layer.embeddings


def test_q3_a_gradient_of_none_is_explained_as_the_tape_returns_it():
    layer = keras.layers.Embedding(Q3_ROWS, Q3_DIM)
    loss = tf.reduce_sum(layer(tf.constant(Q3_IDS)))  # the walkthrough's answer: the loss computed before the tape
    with tf.GradientTape() as tape:
        pass
    gradient = tape.gradient(loss, layer.embeddings)
    assert gradient is None
    result = rejected(q3, gradient)
    assert "tape.gradient returns None" in result.message and "inside" in result.message
    assert "list.sort()" not in result.message  # was: blamed a function without `return`


def test_q3_other_numbers_say_where_to_look():
    dense = tf.convert_to_tensor(tape_gradient()[0]).numpy()
    wrong = dense.copy()
    wrong[2] = 5.0
    result = rejected(q3, wrong)
    assert result.mistake is None and "count the ids" in result.message
    assert "None" in message(q3, None)


# --------------------------------------------------------------------------- q4


def test_q4_accepts_correct_functions():
    assert status(q4, solution_namespace(q4, np=np)["table_bytes"]) == "correct"
    assert status(q4, lambda n, d, dtype="float32": np.int64(n) * d * tf.as_dtype(dtype).size) == "correct"
    assert status(q4, lambda n, d, dtype="float32": n * d * np.zeros(1, dtype).nbytes) == "correct"


_BYTES_PER_FLOAT = {"float16": 2, "float32": 4, "float64": 8}


def bits_from_name(input_dim, output_dim, dtype="float32"):  # the walkthrough's answer: 'bool' holds no digits
    return input_dim * output_dim * int(re.findall(r"\d+", dtype)[0]) // 8


def bytes_of_a_layer(input_dim, output_dim, dtype="float32"):  # lesson 01's Going-deeper pattern, on every dtype
    layer = keras.layers.Embedding(input_dim, output_dim, dtype=dtype)
    layer.build()
    return layer.embeddings.numpy().nbytes


def test_q4_catalogue():
    messages = check_catalogue(q4, {
        "own-dtype-table": [lambda n, d, dtype="float32": n * d * _BYTES_PER_FLOAT[dtype]],
        "size-from-name": [lambda n, d, dtype="float32": n * d * int(dtype[-2:]) // 8, bits_from_name],
        "keras-layer-dtype": [bytes_of_a_layer],
        "no-default-dtype": [lambda n, d, dtype: n * d * np.dtype(dtype).itemsize],
        "string-result": [lambda n, d, dtype="float32": str(n * d * np.dtype(dtype).itemsize),
                          lambda n, d, dtype="float32": f"{n * d * np.dtype(dtype).itemsize / 1e6:.1f} MB"],
        "not-a-number-result": [lambda n, d, dtype="float32": [n, d, np.dtype(dtype).itemsize], lambda n, d, dtype="float32": True],
        "megabytes": [lambda n, d, dtype="float32": n * d * np.dtype(dtype).itemsize / 1e6,
                      lambda n, d, dtype="float32": n * d * np.dtype(dtype).itemsize / 2**20,
                      lambda n, d, dtype="float32": round(n * d * np.dtype(dtype).itemsize / 1e6, 2)],
        "whole-megabytes": [lambda n, d, dtype="float32": n * d * np.dtype(dtype).itemsize // 2**20],
        "float-bytes": [lambda n, d, dtype="float32": float(n * d * np.dtype(dtype).itemsize),
                        lambda n, d, dtype="float32": n * d * np.dtype(dtype).itemsize / 1],
        "parameters": [lambda n, d, dtype="float32": n * d],
        "bits": [lambda n, d, dtype="float32": n * d * np.dtype(dtype).itemsize * 8],
        "always-4-bytes": [lambda n, d, dtype="float32": n * d * 4],
        "row-off-by-one": [lambda n, d, dtype="float32": (n + 1) * d * np.dtype(dtype).itemsize],
        "itemsize-of-name": [lambda n, d, dtype="float32": n * d * dtype.itemsize],
        "float-or-int-info": [lambda n, d, dtype="float32": n * d * np.finfo(dtype).bits // 8,
                              lambda n, d, dtype="float32": n * d * np.iinfo(dtype).bits // 8],
        "tensorflow-dtype-size": [lambda n, d, dtype="float32": n * d * tf.as_dtype(dtype).itemsize],
        "dtype-bits": [lambda n, d, dtype="float32": n * d * np.dtype(dtype).bits // 8],
        "array-overhead": [lambda n, d, dtype="float32": __import__("sys").getsizeof(np.zeros((n, d), dtype))],
        "one-element-result": [lambda n, d, dtype="float32": [n * d * np.dtype(dtype).itemsize],
                               lambda n, d, dtype="float32": np.array([n * d * np.dtype(dtype).itemsize])],
    })
    assert "KeyError: 'int8'" in messages["own-dtype-table"] and "np.dtype(dtype).itemsize" in messages["own-dtype-table"]
    assert "input_dim=1683, output_dim=32" in messages["parameters"]  # the values cited are shown


def test_q4_walkthrough_answers_name_their_mistake():
    getsizeof = rejected(q4, lambda n, d, dtype="float32": __import__("sys").getsizeof(np.zeros((n, d), dtype)))
    assert getsizeof.mistake == "array-overhead" and "header" in getsizeof.message  # was: "one row too many or too few"
    assert "one row" not in getsizeof.message
    # "a int8": the article follows the sound of the dtype's name
    four_bytes = rejected(q4, lambda n, d, dtype="float32": n * d * (np.dtype(dtype).itemsize if dtype.startswith("float") else 4))
    assert four_bytes.mistake == "always-4-bytes" and "an int8 takes 1" in four_bytes.message


def test_q4_second_walkthrough_answers_name_their_mistake():
    on_bool = rejected(q4, bits_from_name)  # was: "IndexError: list index out of range" + "run that call yourself"
    assert on_bool.mistake == "size-from-name" and on_bool.detected == ("size-from-name",)
    assert "'bool'" in on_bool.message and "np.dtype(dtype).itemsize" in on_bool.message
    layer = rejected(q4, bytes_of_a_layer)  # was: Keras's QuantizedDTypePolicy text + "run that call yourself"
    assert layer.mistake == "keras-layer-dtype" and layer.detected == ("keras-layer-dtype",)
    # Keras 3.15 reads "int8" as a quantisation mode; newer Keras makes an int8 variable, which the initializer refuses
    try:
        keras.layers.Embedding(2, 2, dtype="int8").build()
        keras_error = ""
    except ValueError as exc:
        keras_error = str(exc)
    reason = "as a quantisation mode" if "Policy" in keras_error else "is refused: its random initializer"
    assert reason in layer.message and "without a layer" in layer.message


def test_q3_second_walkthrough_answers_name_their_mistake():
    output = rejected(q3, keras.layers.Embedding(Q3_ROWS, Q3_DIM)(tf.constant(Q3_IDS)))  # was: "the gradient has shape (2, 3, 3)"
    assert output.mistake == "lookup-output" and "lookup's output" in output.message and "layer.embeddings" in output.message
    column = rejected(q3, np.bincount(np.ravel(Q3_IDS), minlength=Q3_ROWS)[:, None])  # (10, 1): was a bare shape mismatch
    assert column.mistake == "counts-per-id" and "np.repeat(counts, 3, axis=1)" in column.message


def test_q1_a_layer_is_told_its_number():
    layer = rejected(q1, keras.layers.Embedding(1683, 8))  # was: "store the number itself (a Python int or float)"
    assert layer.mistake == "not-a-number" and "input_dim=1683" in layer.message and "or float" not in layer.message


def test_q4_a_learner_function_that_crashes_is_explained():
    result = rejected(q4, lambda n, d, dtype="float32": n * d * np.dtype("float33").itemsize)
    assert result.mistake == "raised" and "TypeError" in result.message


# --------------------------------------------------------------------------- q5


def safe_reference(ids, vocabulary_size):
    ids = tf.convert_to_tensor(ids)
    valid = (ids >= 0) & (ids < vocabulary_size)
    return tf.where(valid, ids, tf.cast(vocabulary_size, ids.dtype))


def safe_numpy(ids, vocabulary_size):
    ids = np.asarray(ids)
    return np.where((ids < 0) | (ids >= vocabulary_size), vocabulary_size, ids)


def safe_numpy_copy(ids, vocabulary_size):
    ids = np.array(ids)  # a copy, so the assignment below is fine
    ids[(ids < 0) | (ids >= vocabulary_size)] = vocabulary_size
    return ids


def safe_python_int(ids, vocabulary_size):  # tf.where converts the Python int to the ids' dtype
    return tf.where((ids >= 0) & (ids < vocabulary_size), ids, vocabulary_size)


def hint_cast(ids, vocabulary_size):  # q5.hint() as written
    ids = tf.convert_to_tensor(ids)
    valid = (ids >= 0) & (ids < vocabulary_size)
    oov = tf.cast(vocabulary_size, ids.dtype)
    return tf.where(valid, ids, oov)


def hint_fill_in_dtype(ids, vocabulary_size):  # tf.fill, as the old hint said, with the value in the ids' dtype
    ids = tf.convert_to_tensor(ids)
    oov = tf.fill(tf.shape(ids), tf.cast(vocabulary_size, ids.dtype))
    return tf.where((ids >= 0) & (ids < vocabulary_size), ids, oov)


def hint_ones_like(ids, vocabulary_size):  # the alternative the message names
    ids = tf.convert_to_tensor(ids)
    return tf.where((ids >= 0) & (ids < vocabulary_size), ids, tf.ones_like(ids) * vocabulary_size)


@pytest.mark.parametrize("function", [safe_reference, safe_numpy, safe_numpy_copy, safe_python_int, hint_cast,
                                      hint_fill_in_dtype, hint_ones_like, solution_namespace(q5, tf=tf)["safe_ids"]])
def test_q5_accepts_correct_functions(function):
    assert status(q5, function) == "correct"


def old_hint_fill(ids, vocabulary_size):  # the walkthrough's answer to the old hint: tf.fill makes int32
    ids = tf.convert_to_tensor(ids)
    return tf.where((ids >= 0) & (ids < vocabulary_size), ids, tf.fill(tf.shape(ids), vocabulary_size))


def with_python_and(ids, vocabulary_size):
    ids = tf.convert_to_tensor(ids)
    return tf.where(ids >= 0 and ids < vocabulary_size, ids, vocabulary_size)


def chained_comparison(ids, vocabulary_size):
    ids = np.asarray(ids)
    return np.where(0 <= ids < vocabulary_size, ids, vocabulary_size)


def with_integer_lookup(ids, vocabulary_size):
    return keras.layers.IntegerLookup(vocabulary=list(range(vocabulary_size)))(ids)


def test_q5_hint_leads_to_an_accepted_answer(capsys):
    q5.hint()
    hint = " ".join(capsys.readouterr().out.split())
    assert "tf.cast(vocabulary_size, ids.dtype)" in hint and "(ids >= 0) & (ids < vocabulary_size)" in hint
    assert "tf.fill" not in hint  # the old hint's tf.fill(..., vocabulary_size) made int32 values for int64 ids
    assert status(q5, hint_cast) == "correct"
    result = rejected(q5, old_hint_fill)
    assert result.mistake == "oov-dtype-mix" and "int64" in result.message and "int32" in result.message


def in_place(ids, vocabulary_size):
    if isinstance(ids, np.ndarray):
        ids[(ids < 0) | (ids >= vocabulary_size)] = vocabulary_size
        return ids
    return safe_reference(ids, vocabulary_size)


def assigns_into_tensor(ids, vocabulary_size):
    ids[(ids < 0) | (ids >= vocabulary_size)] = vocabulary_size
    return ids


def numpy_copy_method(ids, vocabulary_size):
    ids = ids.copy()
    ids[(ids < 0) | (ids >= vocabulary_size)] = vocabulary_size
    return ids


def _where(condition_of, oov_of):
    def function(ids, vocabulary_size):
        ids = tf.convert_to_tensor(ids)
        return tf.where(condition_of(ids, vocabulary_size), ids, tf.cast(oov_of(ids, vocabulary_size), ids.dtype))

    return function


def test_q5_catalogue():
    check_catalogue(q5, {
        "assigns-into-tensor": [assigns_into_tensor],
        "numpy-method-on-tensor": [numpy_copy_method],
        "wrong-shape": [lambda ids, n: tf.reshape(safe_reference(ids, n), [-1])],
        "float-result": [lambda ids, n: tf.cast(safe_reference(ids, n), tf.float32)],
        "negatives-kept": [_where(lambda ids, n: ids < n, lambda ids, n: n)],
        "too-large-kept": [lambda ids, n: tf.where(ids < 0, n, ids)],
        "clipped": [lambda ids, n: tf.clip_by_value(tf.convert_to_tensor(ids), 0, n - 1),
                    _where(lambda ids, n: (ids >= 0) & (ids < n), lambda ids, n: n - 1)],
        "oov-row-zero": [_where(lambda ids, n: (ids >= 0) & (ids < n), lambda ids, n: 0)],
        "oov-minus-one": [_where(lambda ids, n: (ids >= 0) & (ids < n), lambda ids, n: -1)],
        "oov-one-past": [_where(lambda ids, n: (ids >= 0) & (ids < n), lambda ids, n: n + 1)],
        "zero-to-oov": [_where(lambda ids, n: (ids > 0) & (ids < n), lambda ids, n: n)],
        "last-valid-to-oov": [_where(lambda ids, n: (ids >= 0) & (ids < n - 1), lambda ids, n: n)],
        "valid-ids-changed": [lambda ids, n: safe_reference(ids, 10)],  # the notebook's size, not the argument
        "changed-input": [in_place],
        "tensor-method-on-array": [lambda ids, n: safe_reference(ids.numpy(), n)],
        "oov-dtype-mix": [old_hint_fill, lambda ids, n: tf.where((ids >= 0) & (ids < n), ids, tf.constant(n))],
        "python-and": [with_python_and, chained_comparison],
        "integer-lookup": [with_integer_lookup],
        "clipped-to-oov": [lambda ids, n: np.clip(ids, 0, n)],
    })


def test_q5_other_slips_say_where_to_look():
    result = rejected(q5, lambda ids, n: tf.where(ids < 0, n, tf.where(ids >= n, n - 1, ids)))
    assert result.mistake is None and "look at the ids" in result.message


# --------------------------------------------------------------------------- course_lib.lookup


def test_as_table_accepts_arrays_tensors_and_variables():
    values = np.arange(6.0).reshape(3, 2)
    for form in (values, values.tolist(), tf.constant(values), tf.Variable(values)):
        assert np.array_equal(as_table(form), values)


@pytest.mark.parametrize("bad, error", [(np.zeros(4), ValueError), (np.zeros((2, 3, 4)), ValueError), (np.zeros((0, 3)), ValueError), ("abc", TypeError),
                                        (np.array([[0.0, np.nan]]), ValueError)])
def test_as_table_rejects_bad_tables(bad, error):
    with pytest.raises(error):
        as_table(bad)


def test_plot_table_change_marks_the_touched_rows():
    before = np.zeros((6, 3))
    after = before.copy()
    after[[1, 4]] = 0.5
    figure = plot_table_change(before, after, touched=[4, 1, 4])
    heatmaps = [ax for ax in figure.axes if ax.get_title()]
    assert len(heatmaps) == 3
    marked = sorted(heatmaps[0].collections[0].get_offsets()[:, 1].tolist())
    assert marked == [1.0, 4.0]


def test_plot_table_change_rejects_bad_input():
    with pytest.raises(ValueError, match="same table"):
        plot_table_change(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="touched id.*above 2"):
        plot_table_change(np.zeros((3, 2)), np.zeros((3, 2)), touched=[3])
    with pytest.raises(TypeError, match="touched id.*integer"):
        plot_table_change(np.zeros((3, 2)), np.zeros((3, 2)), touched=[1.5])


def test_draw_row_highlights_the_chosen_row():
    table = np.arange(40.0).reshape(10, 4)
    figure = draw_row(table, 3, {3: "Toy Story"}, window=2)
    heatmap, bars = figure.axes
    assert [t.get_text().strip() for t in heatmap.get_yticklabels()] == ["1", "2", "3  Toy Story", "4", "5"]
    assert [patch.get_height() for patch in bars.patches] == [12.0, 13.0, 14.0, 15.0]
    assert "Toy Story" in bars.get_title()
    assert len(draw_row(table, tf.constant(0), window=3).axes[0].get_yticklabels()) == 4  # clipped at the top


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"row": 10}, ValueError),
        ({"row": -1}, ValueError),
        ({"row": True}, TypeError),
        ({"row": 2.0}, TypeError),
        ({"row": 2, "window": 0}, ValueError),
        ({"row": 2, "labels": ["a", "b"]}, ValueError),
    ],
)
def test_draw_row_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        draw_row(np.zeros((10, 4)), **kwargs)


def test_row_explorer_is_one_course_explorer_that_redraws_into_its_output():
    import ipywidgets

    table = np.arange(40.0).reshape(10, 4)
    box = row_explorer(table, {1: "Toy Story", 2: "GoldenEye"}, start=1, window=2)
    choose, id_box, out = box.children
    assert isinstance(box, ipywidgets.VBox) and "course-explorer" in box._dom_classes
    assert isinstance(choose, ipywidgets.Dropdown) and isinstance(out, ipywidgets.Output)
    assert [value for _, value in choose.options] == [1, 2] and box.row == 1
    choose.value = 2
    assert id_box.value == 2 and box.row == 2
    id_box.value = 7  # an id without a label still redraws
    assert box.row == 7 and choose.value == 7


def test_row_explorer_label_follows_a_typed_id_without_a_label():
    box = row_explorer(np.arange(40.0).reshape(10, 4), {1: "Toy Story", 2: "GoldenEye"}, start=1, window=2)
    choose, id_box, _ = box.children
    id_box.value = 0  # row 0 has no label: the drop-down must not keep saying "Toy Story"
    assert choose.value == 0 and "Toy Story" not in choose.label and "id 0" in choose.label
    id_box.value = 2
    assert choose.value == 2 and "GoldenEye" in choose.label


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"start": 10}, ValueError, "start"),
        ({"start": 1.5}, TypeError, "start"),
        ({"start": True}, TypeError, "start"),
        ({"window": 0}, ValueError, "window"),
        ({"labels": 5}, TypeError, "labels"),
    ],
)
def test_row_explorer_rejects_bad_input_before_making_widgets(kwargs, error, words):
    with pytest.raises(error, match=words):
        row_explorer(np.zeros((10, 4)), **kwargs)


def test_plot_table_change_rejects_a_single_touched_id_with_advice():
    with pytest.raises(TypeError, match="touched"):
        plot_table_change(np.zeros((3, 2)), np.zeros((3, 2)), touched=1)
