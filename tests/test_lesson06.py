"""Unit tests of lesson 06: its self-checks (course_lib/exercises/lesson06.py) and helpers
(course_lib/features.py).

Each exercise's catalogue is tested with :func:`exercise_helpers.check_catalogue`: every
catalogued mistake, made by a realistic wrong answer, is named by its own detector and message.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import tf_keras

from course_lib.checks import ____
from exercise_helpers import check_catalogue, rejected, solution_namespace, status
from course_lib.exercises.lesson06 import q1, q2, q3, q4, q5
from course_lib.features import COMBINERS, MaskedPooling, feature_column_ids

fc = tf.feature_column
L = keras.layers
OCCUPATIONS = [f"job{i}" for i in range(21)]


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4, q5])
@pytest.mark.parametrize("blank", [..., ____])
def test_blank_answers_are_not_attempted(exercise, blank):
    assert status(exercise, blank) == "not attempted"


@pytest.mark.parametrize("exercise", [q2, q4])
def test_a_function_that_still_returns_the_stub_is_not_attempted(exercise):
    assert status(exercise, lambda *args: ...) == "not attempted"


def test_check_prints_and_never_raises(capsys):
    for exercise in (q1, q2, q3, q4, q5):
        exercise.check(...)
        exercise.check("nonsense")
    out = capsys.readouterr().out
    assert out.count("[not attempted]") == 5 and out.count("[not yet]") == 5


# --------------------------------------------------------------------------- q1: rows of the Keras table


def test_q1_accepts_what_the_next_cell_accepts():
    lookup = L.StringLookup(vocabulary=OCCUPATIONS, mask_token="")
    for answer in (23, lookup.vocabulary_size(), len(lookup.get_vocabulary())):
        assert status(q1, answer) == "correct"
        L.Embedding(answer, 4)


def test_q1_catalogue():
    lookup = L.StringLookup(vocabulary=OCCUPATIONS, mask_token="")
    check_catalogue(q1, {
        "lookup-object": [lookup, L.StringLookup(vocabulary=["a"], mask_token="")],
        "uncalled-method": [lookup.vocabulary_size],
        "vocabulary-list": [lookup.get_vocabulary()],
        "boolean": [True],
        "string": ["23"],
        "pandas-object": [pd.Series([23])],
        "one-element-array": [np.array([23])],
        "several-numbers": [np.array([21, 2])],
        "not-finite": [float("inf")],
        "not-a-number": [{"rows": 23}],
        "fractional": [23.5],
        "vocabulary-alone": [21],
        "one-row-short": [22],
        "one-row-too-many": [24],
        "two-rows-too-many": [25],
        "not-positive": [-23, 0],
        "float-size": [23.0, tf.constant(23.0)],
        "numpy-integer": [np.int64(23), np.int32(23)],
        "tensor-size": [tf.constant(23)],
        "zero-d-array": [np.array(23)],
    })


def test_q1_other_numbers_say_where_to_look():
    result = rejected(q1, 30)
    assert result.mistake is None and "vocabulary_size()" in result.message


# --------------------------------------------------------------------------- q2: port a table


port_numpy = solution_namespace(q2, np=np)["fc_table_to_keras"]


def port_tensorflow(table):  # returns a tf.Tensor: still correct
    table = tf.convert_to_tensor(table)
    return tf.concat([tf.zeros((1, table.shape[1]), table.dtype), table[-1:], table[:-1]], axis=0)


def port_tensorflow_float32_only(table):  # right for float32 tables only
    table = tf.convert_to_tensor(table)
    return tf.concat([tf.zeros((1, table.shape[1])), table[-1:], table[:-1]], axis=0)


def port_in_place(table):  # rolls the caller's table in place
    table[:] = np.roll(table, 1, axis=0)
    return np.concatenate([np.zeros((1, table.shape[1]), table.dtype), table], axis=0)


def port_list(table):  # the walkthrough's answer: right rows, but a list has no dtype (the prompt asks for the table's)
    return port_numpy(table).tolist()


def port_into_a_layer(table):  # the walkthrough's answer: the table handed back inside an Embedding
    ported = port_numpy(table)
    return L.Embedding(len(ported), ported.shape[1], weights=[ported])


@pytest.mark.parametrize("answer", [port_numpy, port_tensorflow])
def test_q2_accepts_correct_ports(answer):
    assert status(q2, answer) == "correct"


def _zeros(t):
    return np.zeros((1, t.shape[1]), t.dtype)


def port_tf_concat_numpy_zeros(table):  # a float64 NumPy zero row into tf.concat with a float32 tensor
    table = tf.convert_to_tensor(table)
    return tf.concat([tf.constant(np.zeros((1, table.shape[1]))), table[-1:], table[:-1]], axis=0)


def port_one_d_row(table):
    return np.concatenate([_zeros(table), table[-1], table[:-1]])


def port_fixed_width(table):
    return np.concatenate([np.zeros((1, 3), table.dtype), table[-1:], table[:-1]])


def port_starts_late(table):  # the walkthrough's answer: table[1:] drops word 0 (and keeps the OOV row)
    return np.concatenate([_zeros(table), table[-1:], table[1:]])


def port_astype_on_tensor(table):
    return tf.concat([tf.zeros((1, table.shape[1])), table[-1:], table[:-1]], 0).astype(table.dtype)


def test_q2_catalogue():
    messages = check_catalogue(q2, {
        "dtype-mix": [port_tensorflow_float32_only, port_tf_concat_numpy_zeros],
        "numpy-method-on-tensor": [port_astype_on_tensor],
        "one-d-row": [port_one_d_row],
        "fixed-width": [port_fixed_width],
        "oov-twice": [lambda t: np.concatenate([_zeros(t), t[-1:], t]) if len(t) > 1 else port_numpy(t)],
        "not-a-matrix": [lambda t: t.ravel()],
        "no-mask-row": [lambda t: t, lambda t: np.concatenate([t[-1:], t[:-1]])],
        "added-column": [lambda t: np.concatenate([np.zeros((t.shape[0], 1), t.dtype), t], axis=1)],
        "not-float": [lambda t: np.concatenate([_zeros(t), t[-1:], t[:-1]]).astype(int)],
        "dropped-row": [lambda t: np.concatenate([_zeros(t), t[-1:], t[-1:], t[:-2]]) if len(t) > 1 else port_numpy(t),
                        port_starts_late, lambda t: np.concatenate([_zeros(t), t[-1:], t[1:-1]]) if len(t) > 1 else port_numpy(t)],
        "oov-still-last": [lambda t: np.concatenate([_zeros(t), t])],
        "oov-at-zero": [lambda t: np.concatenate([t[-1:], _zeros(t), t[:-1]])],
        "reversed-words": [lambda t: np.concatenate([_zeros(t), t[-1:], t[:-1][::-1]])],
        "mask-row-not-zero": [lambda t: np.concatenate([np.ones((1, t.shape[1]), t.dtype), t[-1:], t[:-1]]),
                              lambda t: np.concatenate([t[-1:], t[-1:], t[:-1]])],
        "upcast": [lambda t: np.concatenate([np.zeros((1, t.shape[1])), t[-1:], t[:-1]]),
                   lambda t: np.vstack([[0.0] * t.shape[1], t[-1:], t[:-1]]),
                   lambda t: tf.concat([tf.zeros((1, t.shape[1])), t[-1:], t[:-1]], 0)],
        "changed-input": [port_in_place],
        "python-list": [port_list, lambda t: [list(row) for row in port_numpy(t)]],
        "returned-layer": [port_into_a_layer],
    })
    assert "missing" in messages["dropped-row"]  # the issue: was "rows are in the wrong order"


def test_q2_walkthrough_answers_name_their_mistake():
    late = rejected(q2, port_starts_late)
    assert late.mistake == "dropped-row" and "starts one row late" in late.message
    assert "stops too early" not in late.message  # was: blamed a slice that stops too early
    both_late = rejected(q2, lambda t: np.concatenate([_zeros(t), t[-1:], t[1:-1]]) if len(t) > 1 else port_numpy(t))
    assert both_late.mistake == "dropped-row"  # was: "needs one more row, for the mask" though the mask row is there
    mixed = rejected(q2, port_tf_concat_numpy_zeros)
    assert "float64 and float32" in mixed.message or "float32 and float64" in mixed.message
    assert "tf.zeros makes float32" not in mixed.message  # was: blamed tf.zeros, which this answer never used
    downcast = rejected(q2, lambda t: tf.concat([tf.zeros((1, t.shape[1])), t[-1:], t[:-1]], 0))  # float32 from float64
    assert downcast.mistake == "upcast" and "tf.zeros: float32" in downcast.message
    assert "np.zeros makes float64 unless" not in downcast.message  # was: blamed np.zeros


def test_q2_second_walkthrough_answers_name_their_mistake():
    """Walkthrough 17, re-run after the first fix pass: each answer gets its own detector's message."""
    listed = rejected(q2, port_list)  # was accepted, though the prompt asks for the table's dtype
    assert listed.mistake == "python-list" and listed.detected == ("python-list",) and "(float32)" in listed.message
    layer = rejected(q2, port_into_a_layer)  # was: "call what computes them and keep its result"
    assert layer.mistake == "returned-layer" and "the table itself" in layer.message and "call what" not in layer.message


def test_q1_second_walkthrough_answers_name_their_mistake():
    largest = rejected(q1, 22)  # the largest index: was told to "count both the mask and the OOV index"
    assert largest.mistake == "one-row-short" and "largest id is 22" in largest.message and "count both" not in largest.message
    layer = rejected(q1, L.Embedding(23, 4))  # was: "store the number itself (a Python int or float)"
    assert layer.mistake == "not-a-number" and "input_dim=23" in layer.message and "float" not in layer.message


def test_q2_hard_coded_sizes_fail_on_the_other_tables():
    def port_hard_coded(table):  # the test table's 3 words
        return np.concatenate([_zeros(table), table[3:4], table[:3]], axis=0)

    assert "for the 21 occupations + OOV" in rejected(q2, port_hard_coded).message


def test_q2_reports_a_crash_in_the_learners_function():
    def broken(table):
        raise IndexError("list index out of range")

    assert "IndexError" in rejected(q2, broken).message


# --------------------------------------------------------------------------- q3: Hashing


@pytest.mark.parametrize(
    "answer",
    [
        L.Hashing(num_bins=50),
        L.Hashing(50, output_mode="int"),
        tf_keras.layers.Hashing(num_bins=50),
        keras.Sequential([keras.Input((1,), dtype="string"), L.Hashing(50)]),  # a model is a layer too
        L.Hashing(num_bins=50, name="zip_hash"),
    ],
)
def test_q3_accepts_layers_and_functions_with_the_same_buckets(answer):
    assert status(q3, answer) == "correct"


def test_q3_catalogue():
    check_catalogue(q3, {
        "the-class": [L.Hashing],
        "not-a-layer": [lambda zips: tf.strings.to_hash_bucket_fast(zips, 50), 50],  # right ids, not a layer
        "no-string-input": [keras.Sequential([L.Hashing(50)])],
        "one-hot-output": [L.Hashing(num_bins=50, output_mode="one_hot"), L.Hashing(num_bins=50, output_mode="count")],
        "wrong-output-size": [L.Hashing(num_bins=50, output_mode="multi_hot") if False else keras.Sequential(
            [keras.Input((1,), dtype="string"), L.Hashing(50), L.Flatten(), L.RepeatVector(2)])],
        "not-integers": [keras.Sequential([keras.Input((1,), dtype="string"), L.Hashing(50),
                                           L.Lambda(lambda x: keras.ops.cast(x, "float32"))])],
        "wrong-bins": [L.Hashing(num_bins=51), L.Hashing(num_bins=100)],
        "mask-value-shift": [L.Hashing(num_bins=50, mask_value="")],
        "vocabulary-lookup": [L.StringLookup(vocabulary=["94043"])],
        "salted": [L.Hashing(num_bins=50, salt=7)],
        "numeric-layer": [L.IntegerLookup(vocabulary=[1, 2])],
        "crossing-layer": [L.HashedCrossing(50)],
        "lambda-output-shape": [L.Lambda(lambda zips: tf.strings.to_hash_bucket_fast(zips, 50))],
    })
    assert "feature column itself" in rejected(q3, fc.categorical_column_with_hash_bucket("zip", 50)).message
    assert "without calling it" in rejected(q3, L.Hashing(50)(np.array([["a"]]))).message
    assert "without quotes" in rejected(q3, "Hashing(50)").message


def test_q3_second_walkthrough_answers_name_their_mistake():
    crossing = rejected(q3, L.HashedCrossing(50))  # was: Keras's text, then "run that call yourself"
    assert crossing.mistake == "crossing-layer" and "keras.layers.Hashing" in crossing.message
    in_lambda = rejected(q3, L.Lambda(lambda zips: tf.strings.to_hash_bucket_fast(zips, 50)))  # the same
    assert in_lambda.mistake == "lambda-output-shape" and in_lambda.detected == ("lambda-output-shape",)
    assert "keras.layers.Hashing(num_bins=50)" in in_lambda.message and "run that call yourself" not in in_lambda.message


def test_q3_a_number_layer_is_not_told_to_add_a_string_input():
    result = rejected(q3, L.IntegerLookup(vocabulary=[1, 2]))
    assert result.mistake == "numeric-layer" and "string Input" not in result.message  # was: "your model has no string Input"


# --------------------------------------------------------------------------- q4: sqrtn pooling


sqrtn_tf = solution_namespace(q4, tf=tf)["sqrtn_pool"]


def sqrtn_numpy(vectors, mask):
    count = mask.sum(axis=1, keepdims=True)
    return (vectors * mask[..., None]).sum(axis=1) / np.sqrt(np.maximum(count, 1))


def sqrtn_library(vectors, mask):
    return MaskedPooling("sqrtn")(vectors, mask=mask)


def sqrtn_numpy_where(vectors, mask):  # divides 0 by 0 on the empty row, then np.where discards it
    count = mask.sum(axis=1, keepdims=True)
    total = (vectors * mask[..., None]).sum(axis=1)
    return np.where(count > 0, total / np.sqrt(count), 0)


def hint_approach(vectors, mask):  # q4.hint() as written, on the NumPy inputs the check passes
    weights = tf.cast(mask, vectors.dtype)[..., None]
    total = tf.reduce_sum(vectors * weights, axis=1)
    count = tf.reduce_sum(weights, axis=1)
    return tf.math.divide_no_nan(total, tf.sqrt(count))


def hint_with_numpy_sums(vectors, mask):  # the hint's divide_no_nan on NumPy sums of float weights
    weights = mask[..., None].astype(vectors.dtype)
    return tf.math.divide_no_nan((vectors * weights).sum(axis=1), np.sqrt(weights.sum(axis=1)))


@pytest.mark.parametrize("answer", [sqrtn_tf, sqrtn_numpy, sqrtn_numpy_where, sqrtn_library, hint_approach, hint_with_numpy_sums])
def test_q4_accepts_numpy_tensorflow_and_keras_versions(answer):
    assert status(q4, answer) == "correct"


def integer_count(vectors, mask):  # the walkthrough's answer: an int count into tf.sqrt, as the old hint allowed
    weights = tf.cast(mask, vectors.dtype)[..., None]
    count = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1, keepdims=True)
    return tf.math.divide_no_nan(tf.reduce_sum(vectors * weights, axis=1), tf.sqrt(count))


def float32_weights(vectors, mask):  # right for float32 vectors only
    vectors = tf.convert_to_tensor(vectors)
    weights = tf.cast(mask, tf.float32)[..., None]
    return tf.math.divide_no_nan(tf.reduce_sum(vectors * weights, 1), tf.sqrt(tf.reduce_sum(weights, 1)))


def no_feature_axis(vectors, mask):
    weights = tf.cast(mask, vectors.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(vectors * weights, 1), tf.sqrt(tf.reduce_sum(weights, 1, keepdims=True)))


def test_q4_hint_leads_to_an_accepted_answer(capsys):
    q4.hint()
    hint = " ".join(capsys.readouterr().out.split())
    assert "tf.cast(mask, vectors.dtype)" in hint and "tf.math.divide_no_nan(total, tf.sqrt(count))" in hint
    assert status(q4, hint_approach) == "correct"
    result = rejected(q4, integer_count)
    assert result.mistake == "integer-sqrt" and "float weights" in result.message  # was: a bare "not in the list"


def test_q4_walkthrough_answers_name_their_mistake():
    axis = rejected(q4, no_feature_axis)
    assert axis.mistake == "missing-feature-axis" and "mask[..., None]" in axis.message
    assert "other sizes" not in axis.message  # was: "the check tries batches of other sizes"
    numpy_axis = rejected(q4, lambda v, m: (v * m).sum(axis=1) / np.sqrt(np.maximum(m.sum(axis=1, keepdims=True), 1)))
    assert numpy_axis.mistake == "missing-feature-axis"
    mixed = rejected(q4, float32_weights)
    assert mixed.mistake == "dtype-mix" and "float64" in mixed.message and "float32" in mixed.message


def test_q4_check_shows_no_runtime_warning_for_a_correct_numpy_answer(capsys):
    vectors, mask = np.ones((1, 2, 3), "float32"), np.zeros((1, 2), bool)
    with pytest.warns(RuntimeWarning):  # called directly, the empty row warns...
        sqrtn_numpy_where(vectors, mask)
    settings = np.geterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        q4.check(sqrtn_numpy_where)  # ...but not inside the check
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []
    assert "not yet" not in capsys.readouterr().out
    assert np.geterr() == settings  # the learner's NumPy error settings are left as they were


def zeroes_padding_in_place(vectors, mask):
    vectors[~mask] = 0.0
    return sqrtn_numpy(vectors, mask)


def _masked(vectors, mask):
    return tf.reduce_sum(vectors * tf.cast(mask, vectors.dtype)[..., None], 1), tf.reduce_sum(tf.cast(mask, vectors.dtype), 1, keepdims=True)


def padding_summed_no_nan(vectors, mask):  # the walkthrough's answer: the hint's divide_no_nan, the padding summed
    count = tf.reduce_sum(tf.cast(mask, vectors.dtype), 1, keepdims=True)
    return tf.math.divide_no_nan(tf.reduce_sum(vectors, 1), tf.sqrt(count))


def test_q4_catalogue():
    messages = check_catalogue(q4, {
        "bool-arithmetic": [lambda v, m: tf.reduce_sum(tf.constant(v) * tf.constant(m)[..., None], 1)],
        "missing-keepdims": [lambda v, m: (v * m[..., None]).sum(axis=1) / np.sqrt(np.maximum(m.sum(axis=1), 1))],
        "numpy-method-on-tensor": [lambda v, m: tf.convert_to_tensor(v).sum(axis=1)],
        "fixed-sizes": [lambda v, m: tf.reshape(sqrtn_tf(v, m), (4, 3))],
        "missing-feature-axis": [no_feature_axis],
        "dtype-mix": [float32_weights],
        "integer-sqrt": [integer_count],
        "pooled-features": [lambda v, m: tf.reduce_sum(v, -1)],
        "kept-dimension": [lambda v, m: tf.reduce_sum(v, 1, keepdims=True)],
        "not-float": [lambda v, m: tf.cast(sqrtn_tf(v, m) * 100, tf.int32)],
        "nan-for-empty-row": [lambda v, m: _masked(v, m)[0] / tf.sqrt(_masked(v, m)[1])],
        "mean-combiner": [lambda v, m: tf.math.divide_no_nan(*_masked(v, m))],
        "sum-combiner": [lambda v, m: _masked(v, m)[0]],
        "mask-ignored": [lambda v, m: tf.reduce_sum(v, 1) / np.sqrt(v.shape[1])],
        "padded-length": [lambda v, m: _masked(v, m)[0] / np.sqrt(v.shape[1])],
        "padding-summed": [lambda v, m: tf.reduce_sum(v, 1) / tf.sqrt(tf.maximum(_masked(v, m)[1], 1.0)),
                           padding_summed_no_nan],
        "batch-count": [lambda v, m: _masked(v, m)[0] / tf.sqrt(tf.maximum(tf.reduce_sum(tf.cast(m, v.dtype)), 1.0))],
        "inverted-mask": [lambda v, m: sqrtn_tf(v, ~m)],
        "changed-input": [zeroes_padding_in_place],
    })
    assert "padding vectors were added" in messages["padding-summed"]  # the issue: was "right shape, wrong numbers"


def test_q4_other_numbers_say_where_to_look():
    result = rejected(q4, lambda v, m: tf.reduce_max(v, 1))
    assert result.mistake is None and "sum the vectors where mask is True" in result.message
    assert "for a (2, 7, 2) batch" in rejected(q4, lambda v, m: sqrtn_tf(v[:, :5], m[:, :5])).message


# --------------------------------------------------------------------------- q5: shared table


def two_tower(shared=True, combine="dot", keras_module=keras, rows=1683, dtype="int32", dim=8):
    layers = keras_module.layers
    table = layers.Embedding(rows, dim)
    other = table if shared else layers.Embedding(rows, dim)
    watched = keras_module.Input(shape=(1,), dtype=dtype)
    candidate = keras_module.Input(shape=(1,), dtype=dtype)
    w, c = layers.Flatten()(table(watched)), layers.Flatten()(other(candidate))
    if combine == "dot":
        out = layers.Dot(axes=-1)([w, c])
    elif combine == "cosine":
        out = layers.Dot(axes=-1, normalize=True)([w, c])
    else:
        out = layers.Concatenate()([w, c])
    return keras_module.Model([watched, candidate], out)


def with_bias_table():
    table, bias = L.Embedding(1683, 8), L.Embedding(1683, 1)
    watched, candidate = keras.Input(shape=(1,), dtype="int32"), keras.Input(shape=(1,), dtype="int32")
    score = L.Dot(axes=-1)([L.Flatten()(table(watched)), L.Flatten()(table(candidate))])
    return keras.Model([watched, candidate], L.Add()([score, L.Flatten()(bias(candidate))]))


def one_input_model():
    pair = keras.Input(shape=(2,), dtype="int32")
    vectors = L.Embedding(1683, 8)(pair)
    return keras.Model(pair, L.Dot(axes=-1)([vectors[:, 0], vectors[:, 1]]))


def one_input_sequential():  # the walkthrough's answer: it scored a list of two without complaint
    return keras.Sequential([keras.Input((1,), dtype="int32"), L.Embedding(1683, 8), L.Flatten(), L.Dense(1)])


def dict_input_model():
    table = L.Embedding(1683, 8)
    watched = keras.Input(shape=(1,), dtype="int32", name="watched")
    candidate = keras.Input(shape=(1,), dtype="int32", name="candidate")
    score = L.Dot(axes=-1)([L.Flatten()(table(watched)), L.Flatten()(table(candidate))])
    return keras.Model({"watched": watched, "candidate": candidate}, score)


def test_q5_a_one_input_model_is_named_before_its_weights():
    result = rejected(q5, one_input_sequential())
    assert result.mistake == "one-input"  # was: "extra-weights", since Keras scored the list with the first input only


class SubclassedTwoTower(keras.Model):  # weights exist only after the first call: still correct
    def __init__(self):
        super().__init__()
        self.table = L.Embedding(1683, 8)

    def call(self, inputs):
        watched, candidate = inputs
        return tf.reduce_sum(self.table(watched)[:, 0] * self.table(candidate)[:, 0], axis=-1, keepdims=True)


def test_q5_accepts_a_subclassed_model_never_called_before():
    model = SubclassedTwoTower()
    assert not model.weights
    assert status(q5, model) == "correct", q5.evaluate(model)


def test_q5_check_leaves_the_learners_model_as_it_was():
    model = two_tower()
    before = [w.copy() for w in model.get_weights()]
    assert status(q5, model) == "correct"
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert getattr(model, "optimizer", None) is None  # not compiled by the check
    subclassed = SubclassedTwoTower()
    assert status(q5, subclassed) == "correct"  # built by the check's call, trained, then restored
    built = [w.copy() for w in subclassed.get_weights()]
    assert status(q5, subclassed) == "correct"
    assert all(np.array_equal(a, b) for a, b in zip(built, subclassed.get_weights()))


def test_q5_accepts_a_keras3_and_a_tf_keras_model_and_the_solution():
    assert status(q5, two_tower()) == "correct"
    assert status(q5, two_tower(keras_module=tf_keras)) == "correct"
    namespace = solution_namespace(q5, keras=keras, L=L)
    assert status(q5, namespace["two_tower"]) == "correct"


def test_q5_accepts_a_model_with_unflattened_output():
    table = L.Embedding(1683, 8)
    watched, candidate = keras.Input(shape=(1,), dtype="int32"), keras.Input(shape=(1,), dtype="int32")
    score = L.Dot(axes=-1)([table(watched), table(candidate)])  # shape (batch, 1, 1)
    assert status(q5, keras.Model([watched, candidate], score)) == "correct"


def test_q5_catalogue():
    messages = check_catalogue(q5, {
        "the-class": [keras.Model],
        "a-layer": [L.Embedding(1683, 8)],
        "not-a-model": ["model", 42, lambda: two_tower()],
        "table-one-row-short": [two_tower(rows=1682)],
        "one-input": [one_input_model(), one_input_sequential()],
        "dict-inputs": [dict_input_model()],
        "float-inputs": [two_tower(dtype="float32")],
        "two-tables": [two_tower(shared=False)],
        "no-movie-table": [two_tower(dim=16)],
        "extra-weights": [with_bias_table()],
        "not-one-score": [two_tower(combine="concat")],
        "cosine": [two_tower(combine="cosine")],
    })
    assert "Embedding(1683, 8)" in messages["table-one-row-short"]  # the issue: was a raw InvalidArgumentError


# --------------------------------------------------------------------------- course_lib.features


def test_masked_pooling_matches_the_combiner_formulas():
    vectors = np.arange(24, dtype="float32").reshape(2, 4, 3)
    mask = np.array([[True, True, False, False], [False, False, False, False]])
    real = vectors[0, :2]
    expected = {"mean": real.mean(0), "sqrtn": real.sum(0) / np.sqrt(2), "sum": real.sum(0)}
    for combiner in COMBINERS:
        out = MaskedPooling(combiner)(vectors, mask=mask).numpy()
        assert out.shape == (2, 3) and out.dtype == np.float32
        np.testing.assert_allclose(out[0], expected[combiner], rtol=1e-6)
        np.testing.assert_array_equal(out[1], 0.0)  # empty row: zeros, not NaN


def test_masked_pooling_without_a_mask_counts_every_step():
    vectors = np.ones((1, 4, 2), "float32")
    np.testing.assert_allclose(MaskedPooling("sqrtn")(vectors).numpy(), [[2.0, 2.0]])


def test_masked_pooling_takes_the_mask_from_an_embedding_and_equals_the_feature_column():
    vocabulary = ["a", "b", "c"]
    table = np.random.default_rng(0).normal(size=(3, 2)).astype("float32")
    values = tf.constant([["a", "c", ""], ["", "", ""], ["b", "b", "a"]])
    lookup = L.StringLookup(vocabulary=vocabulary, mask_token="")
    embedding = L.Embedding(5, 2, mask_zero=True, weights=[np.concatenate([np.zeros((2, 2), "float32"), table])])
    column = fc.categorical_column_with_vocabulary_list("x", vocabulary)
    for combiner in COMBINERS:
        keras_out = MaskedPooling(combiner)(embedding(lookup(values))).numpy()
        embedded = fc.embedding_column(column, 2, combiner=combiner, initializer=tf.constant_initializer(table))
        fc_out = tf_keras.layers.DenseFeatures([embedded])({"x": values}).numpy()
        np.testing.assert_allclose(keras_out, fc_out, atol=1e-6)


def test_masked_pooling_in_a_model_and_its_config_round_trip():
    inputs = keras.Input(shape=(3,), dtype="int32")
    pooled = MaskedPooling("sum")(L.Embedding(4, 2, mask_zero=True)(inputs))
    model = keras.Model(inputs, pooled)
    assert model.output.shape == (None, 2)
    clone = MaskedPooling.from_config(MaskedPooling("sqrtn", name="pool").get_config())
    assert clone.combiner == "sqrtn" and clone.name == "pool"


@pytest.mark.parametrize("combiner", ["max", "avg", None])
def test_masked_pooling_rejects_unknown_combiners(combiner):
    with pytest.raises(ValueError, match="combiner must be one of"):
        MaskedPooling(combiner)


def test_masked_pooling_rejects_inputs_of_the_wrong_rank():
    with pytest.raises(ValueError, match=r"\(batch, steps, dim\)"):
        MaskedPooling()(np.zeros((2, 3), "float32"))


def test_feature_column_ids_for_each_kind_of_categorical_column():
    vocabulary = fc.categorical_column_with_vocabulary_list("job", ["a", "b", "c"])
    assert feature_column_ids(vocabulary, ["a", "c", "zzz"]).tolist() == [0, 2, -1]
    with_oov = fc.categorical_column_with_vocabulary_list("job", ["a", "b", "c"], num_oov_buckets=1)
    assert feature_column_ids(with_oov, ["b", "zzz"]).tolist() == [1, 3]
    identity = fc.categorical_column_with_identity("movie", num_buckets=10, default_value=0)
    assert feature_column_ids(identity, [3, 9, 10, -5]).tolist() == [3, 9, 0, 0]
    assert feature_column_ids(identity, [-1]).tolist() == [-1]  # -1 is the integer "missing" value: no id
    bucketized = fc.bucketized_column(fc.numeric_column("age"), [18, 25])
    assert feature_column_ids(bucketized, [5, 18, 24.5, 80]).tolist() == [0, 1, 1, 2]
    hashed = fc.categorical_column_with_hash_bucket("zip", 20)
    ids = feature_column_ids(hashed, ["94043", "55414"])
    assert ids.dtype == np.int64 and ids.shape == (2,)
    np.testing.assert_array_equal(ids, L.Hashing(20)(np.array(["94043", "55414"])).numpy())


def test_feature_column_ids_errors_say_what_to_fix():
    column = fc.categorical_column_with_vocabulary_list("job", ["a", "b"])
    with pytest.raises(TypeError, match="categorical feature column"):
        feature_column_ids("job", ["a"])
    with pytest.raises(TypeError, match="categorical feature column"):
        feature_column_ids(fc.numeric_column("age"), [1.0])
    with pytest.raises(TypeError, match="expects values of dtype string, got int"):
        feature_column_ids(column, [1, 2])
    with pytest.raises(ValueError, match="1-D"):
        feature_column_ids(column, [["a"], ["b"]])
    crossed = fc.crossed_column(["job", "zip"], hash_bucket_size=10)
    with pytest.raises(ValueError, match="single-input column"):
        feature_column_ids(crossed, ["a"])
    huge = fc.categorical_column_with_identity("video", num_buckets=1_000_000)
    with pytest.raises(ValueError, match="too large"):
        feature_column_ids(huge, list(range(100)))
