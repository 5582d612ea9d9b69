"""Unit tests of lesson 01: its self-checks (course_lib/exercises/lesson01.py) and plot/widget
helpers (course_lib/lookup.py)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_lib.checks import ____
from exercise_helpers import message, status
from course_lib.exercises.lesson01 import Q3_DIM, Q3_IDS, Q3_ROWS, q1, q2, q3, q4, q5
from course_lib.lookup import as_table, draw_row, plot_table_change, row_explorer


# --------------------------------------------------------------------------- q1


@pytest.mark.parametrize("answer", [1683, np.int64(1683), np.int32(1683), tf.constant(1683), np.array(1683)])
def test_q1_accepts_every_integer_form(answer):
    assert status(q1, answer) == "correct"


@pytest.mark.parametrize(
    "answer, words",
    [
        (1682, "off by one"),
        (1683.0, "float"),
        (tf.constant(1683.0), "float"),
        (944, "users"),
        (100_000, "ratings"),
        (1684, "smallest"),
        (1000, "too few"),
        ("1683", "string"),
        (np.int64(1682), "off by one"),
        (0, "positive number of rows"),
        (tf.keras.layers.Embedding(1683, 8), "Embedding object"),
        (np.array([1683, 1683]), "whole number"),
    ],
)
def test_q1_rejects_typical_mistakes_with_a_hint(answer, words):
    assert words in message(q1, answer)


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


@pytest.mark.parametrize("function", [onehot_reference, onehot_matmul, onehot_numpy, first_axis_contracted])
def test_q2_accepts_correct_functions(function):
    assert status(q2, function) == "correct"


def depth_from_ids(table, ids):
    ids = tf.convert_to_tensor(ids)
    onehot = tf.one_hot(ids, depth=int(tf.reduce_max(ids)) + 1, dtype=table.dtype)
    return tf.tensordot(onehot, table, axes=1)


def default_dtype(table, ids):
    return tf.tensordot(tf.one_hot(ids, depth=table.shape[0]), table, axes=1)


def onehot_only(table, ids):
    return tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype)


def wrong_axis(table, ids):
    onehot = tf.one_hot(ids, depth=table.shape[0], dtype=table.dtype, axis=0)
    return tf.tensordot(onehot, table, axes=1)


def stub(table, ids):
    ...  # YOUR CODE HERE


@pytest.mark.parametrize(
    "function, words",
    [
        (depth_from_ids, "depth must be the table's number of rows"),
        (default_dtype, "dtype=table.dtype"),
        (onehot_only, "one-hot matrix itself"),
        (wrong_axis, "axis"),
        (lambda table, ids: tf.gather(table, ids) * 2, "not the looked-up rows"),
        ("onehot_lookup", "expected a function"),
    ],
)
def test_q2_rejects_typical_mistakes_with_a_hint(function, words):
    assert words in message(q2, function)


def gather_only(table, ids):  # correct numbers, but the exercise forbids tf.gather
    return tf.gather(table, ids)


def lookup_only(table, ids):  # the TF 1 name of the same lookup
    return tf.nn.embedding_lookup(table, ids)


def gather_nd_only(table, ids):
    return tf.gather_nd(table, tf.expand_dims(ids, -1))


def onehot_mentioning_gather(table, ids):
    """Same numbers as tf.gather(table, ids), computed without it."""
    # a comment naming tf.gather is fine too
    return tf.tensordot(tf.one_hot(ids, table.shape[0], dtype=table.dtype), table, axes=1)


def indexes_numpy(table, ids):  # NumPy fancy indexing: the same rows, no product
    return np.asarray(table)[np.asarray(ids)]


def numpy_only(table, ids):  # works on NumPy ids, fails on the tensors the lesson uses
    return np.eye(table.shape[0], dtype=table.dtype)[ids.astype(int)] @ table


def sparse_onehot(table, ids):  # a "product" with a sparse one-hot skips the zeros: a lookup in disguise
    table = tf.convert_to_tensor(table)
    ids = tf.convert_to_tensor(ids)
    flat = tf.reshape(tf.cast(ids, tf.int64), [-1])
    n = tf.shape(flat, out_type=tf.int64)[0]
    onehot = tf.sparse.SparseTensor(tf.stack([tf.range(n), flat], 1), tf.ones_like(flat, dtype=table.dtype), [n, table.shape[0]])
    rows = tf.sparse.sparse_dense_matmul(onehot, table)
    return tf.reshape(rows, tf.concat([tf.shape(ids), [table.shape[1]]], 0))


@pytest.mark.parametrize(
    "function", [gather_only, lookup_only, gather_nd_only, lambda table, ids: tf.gather(table, ids), indexes_numpy]
)
def test_q2_rejects_row_selection_by_what_it_does(function):
    text = message(q2, function)
    assert "no NaN" in text and "tf.one_hot" in text


def test_q2_row_selection_is_caught_whatever_its_spelling_or_source():
    assert status(q2, onehot_mentioning_gather) == "correct"
    namespace = {"tf": tf}
    exec(  # no source file: nothing to read, the behaviour decides
        "def typed(table, ids):\n    return tf.gather(tf.convert_to_tensor(table), ids)\n"
        "def typed_onehot(table, ids):\n    return tf.one_hot(ids, tf.shape(table)[0], dtype=table.dtype) @ table\n",
        namespace,
    )
    assert status(q2, namespace["typed"]) == "incorrect"
    assert status(q2, namespace["typed_onehot"]) == "correct"
    assert status(q2, lambda table, ids: tf.tensordot(tf.one_hot(ids, table.shape[0], dtype=table.dtype), table, 1)) == "correct"
    assert status(q2, lambda table, ids: tf.einsum("...r,rd->...d", tf.one_hot(ids, len(table), dtype=table.dtype), table)) == "correct"


def test_q2_numpy_only_code_shows_the_learners_own_error_on_tensors():
    text = message(q2, numpy_only)
    assert "your function raised" in text and "for a float32 table and 1-D ids" in text


def test_q2_a_sparse_lookup_in_disguise_is_rejected():
    message(q2, sparse_onehot)


def test_q2_error_messages_drop_tensorflow_internals():
    text = message(q2, wrong_axis)
    assert "function_node" not in text and "Matrix size-incompatible" in text


def test_q2_stub_function_is_not_attempted():
    assert status(q2, stub) == "not attempted"


# --------------------------------------------------------------------------- q3


def tape_gradient():
    import keras

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


def test_q3_rejects_typical_mistakes_with_a_hint():
    gradient, _ = tape_gradient()
    dense = tf.convert_to_tensor(gradient).numpy()
    assert "accumulate" in message(q3, (dense > 0).astype(np.float32))
    assert "one row per looked-up id" in message(q3, gradient.values)
    assert "transposed" in message(q3, dense.T)
    assert "minus the gradient" in message(q3, -dense)
    assert "table's shape" in message(q3, dense[:5])
    assert "table's shape" in message(q3, dense[:, 0])
    assert "some numbers" in message(q3, dense / dense.sum())
    assert "some numbers" in message(q3, np.zeros((Q3_ROWS, Q3_DIM)))
    assert "should hold numbers" in message(q3, np.full((Q3_ROWS, Q3_DIM), "1"))
    assert "None" in message(q3, None)


# --------------------------------------------------------------------------- q4


def test_q4_accepts_correct_functions():
    assert status(q4, lambda n, d, dtype="float32": n * d * np.dtype(dtype).itemsize) == "correct"
    assert status(q4, lambda n, d, dtype="float32": np.int64(n) * d * tf.as_dtype(dtype).size) == "correct"
    assert status(q4, lambda n, d, dtype="float32": n * d * np.zeros(1, dtype).nbytes) == "correct"


_BYTES_PER_FLOAT = {"float16": 2, "float32": 4, "float64": 8}


@pytest.mark.parametrize(
    "function, words",
    [
        (lambda n, d, dtype="float32": n * d, "number of parameters"),
        (lambda n, d, dtype="float32": n * d * np.dtype(dtype).itemsize * 8, "bits"),
        (lambda n, d, dtype="float32": n * d * 4, "4 bytes per number"),
        (lambda n, d, dtype="float32": (n + 1) * d * np.dtype(dtype).itemsize, "one row too many"),
        (lambda n, d, dtype="float32": n * d * np.dtype(dtype).itemsize / 1e6, "megabytes"),
        (lambda n, d, dtype="float32": n * d * np.dtype(dtype).itemsize // 2**20, "megabytes"),
        (lambda n, d, dtype="float32": n * d * _BYTES_PER_FLOAT[dtype], "KeyError: 'int8'"),
        (lambda n, d, dtype="float32": float(n * d * np.dtype(dtype).itemsize), "return an int"),
        (lambda n, d, dtype: n * d * np.dtype(dtype).itemsize, "no dtype given"),
        (lambda n, d, dtype="float32": n * d * int(dtype[-2:]) // 8, "int8"),
        (lambda n, d, dtype="float32": str(n * d * np.dtype(dtype).itemsize), "str"),
    ],
)
def test_q4_rejects_typical_mistakes_with_a_hint(function, words):
    assert words in message(q4, function)


def test_q4_a_learner_function_that_crashes_is_reported_not_raised():
    result = q4.evaluate(lambda n, d, dtype="float32": n * d * np.dtype("float33").itemsize)
    assert result.status == "incorrect" and "TypeError" in result.message


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


def in_place(ids, vocabulary_size):
    if isinstance(ids, np.ndarray):
        ids[(ids < 0) | (ids >= vocabulary_size)] = vocabulary_size
        return ids
    return safe_reference(ids, vocabulary_size)


def numpy_copy_method(ids, vocabulary_size):
    ids = ids.copy()
    ids[(ids < 0) | (ids >= vocabulary_size)] = vocabulary_size
    return ids


def global_vocabulary(ids, vocabulary_size):
    return safe_reference(ids, 10)  # the notebook's example size instead of the argument


@pytest.mark.parametrize("function", [safe_reference, safe_numpy, safe_numpy_copy])
def test_q5_accepts_correct_functions(function):
    assert status(q5, function) == "correct"


def upper_bound_only(ids, vocabulary_size):
    ids = tf.convert_to_tensor(ids)
    return tf.where(ids < vocabulary_size, ids, tf.cast(vocabulary_size, ids.dtype))


def clipped(ids, vocabulary_size):
    return tf.clip_by_value(tf.convert_to_tensor(ids), 0, vocabulary_size - 1)


def to_zero(ids, vocabulary_size):
    ids = tf.convert_to_tensor(ids)
    return tf.where((ids >= 0) & (ids < vocabulary_size), ids, tf.zeros_like(ids))


def as_float(ids, vocabulary_size):
    return tf.cast(safe_reference(ids, vocabulary_size), tf.float32)


def off_by_one(ids, vocabulary_size):
    ids = tf.convert_to_tensor(ids)
    return tf.where((ids >= 0) & (ids < vocabulary_size - 1), ids, tf.cast(vocabulary_size, ids.dtype))


@pytest.mark.parametrize(
    "function, words",
    [
        (upper_bound_only, "negative ids"),
        (clipped, "clipped onto a real row"),
        (to_zero, "row 0"),
        (as_float, "stay integers"),
        (off_by_one, "valid id 9"),
        (lambda ids, n: tf.reshape(safe_reference(ids, n), [-1]), "keep the shape"),
        (in_place, "changed its input `ids` in place"),
        (numpy_copy_method, "AttributeError"),
        (global_vocabulary, "some valid ids were changed"),
        (lambda ids, n: tf.where(ids < 0, n, ids), "some out-of-range ids"),
    ],
)
def test_q5_rejects_typical_mistakes_with_a_hint(function, words):
    assert words in message(q5, function)


# --------------------------------------------------------------------------- course_lib.lookup


def test_as_table_accepts_arrays_tensors_and_variables():
    values = np.arange(6.0).reshape(3, 2)
    for form in (values, values.tolist(), tf.constant(values), tf.Variable(values)):
        assert np.array_equal(as_table(form), values)


@pytest.mark.parametrize("bad, error", [(np.zeros(4), ValueError), (np.zeros((2, 3, 4)), ValueError), (np.zeros((0, 3)), ValueError), ("abc", TypeError)])
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
    with pytest.raises(ValueError, match="out of range"):
        plot_table_change(np.zeros((3, 2)), np.zeros((3, 2)), touched=[3])
    with pytest.raises(TypeError, match="whole number"):
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
        ({"row": 2.0}, TypeError),
        ({"row": 2, "window": 0}, ValueError),
        ({"row": 2, "labels": ["a", "b"]}, ValueError),
    ],
)
def test_draw_row_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        draw_row(np.zeros((10, 4)), **kwargs)


def test_row_explorer_redraws_when_the_choice_changes(monkeypatch):
    import IPython.display

    shown, updates = [], []

    class Handle:
        def update(self, obj):
            updates.append(obj)

    def fake_display(*objs, **kwargs):
        shown.extend(objs)
        return Handle() if kwargs.get("display_id") else None

    monkeypatch.setattr(IPython.display, "display", fake_display)
    table = np.arange(40.0).reshape(10, 4)
    box = row_explorer(table, {1: "Toy Story", 2: "GoldenEye"}, start=1, window=2)
    choose, id_box = box.children
    assert [value for _, value in choose.options] == [1, 2]
    assert "Toy Story" in shown[2].data and "4." in shown[2].data  # the printed vector of row 1
    choose.value = 2
    assert id_box.value == 2 and "GoldenEye" in updates[-1].data
    id_box.value = 7  # an id without a label still redraws
    assert "row 7" in updates[-1].data
    with pytest.raises(ValueError):
        row_explorer(table, start=10)
