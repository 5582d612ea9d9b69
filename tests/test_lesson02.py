"""Unit tests of lesson 02: its self-checks (course_lib/exercises/lesson02.py) and the plot and
widget helpers (course_lib/masking.py).

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

from course_lib.checks import ____
from exercise_helpers import check_catalogue, message, rejected, solution_namespace, status
from course_lib.exercises.lesson02 import Q3_PAD_VALUE, q1, q1_expected, q2, q3, q4
from course_lib.masking import draw_padding, is_right_padded, padded_mean, padding_explorer, plot_padded_batch


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4])
@pytest.mark.parametrize("blank", [..., ____])
def test_blanks_are_not_attempted(exercise, blank):
    assert status(exercise, blank) == "not attempted"


def test_check_prints_not_attempted_and_never_raises(capsys):
    for exercise in (q1, q2, q3, q4):
        exercise.check(...)
    assert capsys.readouterr().out.count("[not attempted]") == 4


# --------------------------------------------------------------------------- q1

EXPECTED = q1_expected()
Q1 = EXPECTED["input_dim"]


def test_q1_numbers_come_from_the_data():
    # 2391 with the ASCII tokenizer, 2389 once accented letters stay in their words: the check follows the tokenizer
    assert 2300 < EXPECTED["vocabulary"] < 2400
    assert Q1 == EXPECTED["frequent"] + 2 and 2 < Q1 < EXPECTED["vocabulary"]


def test_q1_accepts_what_the_next_cell_accepts():
    assert status(q1, Q1) == "correct"
    keras.layers.Embedding(Q1, 8)


def test_q1_catalogue():
    rare = EXPECTED["vocabulary"] - EXPECTED["frequent"]
    check_catalogue(q1, {
        "boolean": [True],
        "string": [str(Q1)],
        "pandas-object": [pd.Series([Q1])],
        "one-element-array": [np.array([Q1])],
        "several-numbers": [[Q1, Q1]],
        "not-finite": [float("nan")],
        "not-a-number": [keras.layers.Embedding(Q1, 8)],
        "fractional": [Q1 + 0.5],
        "no-special-rows": [Q1 - 2],
        "one-row-short": [Q1 - 1],
        "one-row-too-many": [Q1 + 1],
        "whole-vocabulary": [EXPECTED["vocabulary"], EXPECTED["vocabulary"] + 1, EXPECTED["vocabulary"] + 2],
        "more-than-twice": [EXPECTED["more_than_twice"] + 2],
        "rare-words": [rare, rare + 2],
        "not-positive": [0],
        "float-size": [float(Q1), np.float32(Q1), tf.constant(float(Q1))],
        "numpy-integer": [np.int64(Q1)],
        "tensor-size": [tf.constant(Q1)],
        "zero-d-array": [np.array(Q1)],
    })


def test_q1_other_numbers_say_where_to_look():
    result = rejected(q1, 1000)
    assert result.mistake is None and "word_counts" in result.message


# --------------------------------------------------------------------------- q2


reference_tf = solution_namespace(q2, tf=tf)["masked_mean"]  # what q2.solution() prints


def with_keras_ops(x, mask):
    weights = keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    return keras.ops.sum(x * weights, axis=1) / keras.ops.sum(weights, axis=1)


def with_divide_no_nan(x, mask):
    weights = tf.cast(mask, tf.float32)
    return tf.math.divide_no_nan(tf.einsum("btd,bt->bd", x, weights), tf.reduce_sum(weights, axis=1, keepdims=True))


def with_keras_layer(x, mask):
    return keras.layers.GlobalAveragePooling1D()(x, mask=mask)


def hint_approach(x, mask):  # exactly what q2.hint() describes
    weights = tf.cast(mask, x.dtype)[..., None]
    return tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(tf.cast(mask, x.dtype), axis=1, keepdims=True)


@pytest.mark.parametrize("answer", [reference_tf, with_keras_ops, with_divide_no_nan, with_keras_layer, hint_approach])
def test_q2_accepts_every_correct_function(answer):
    assert status(q2, answer) == "correct", q2.evaluate(answer)


def with_np_sum(x, mask):  # NumPy functions accept eager tensors, not the graph Keras runs
    weights = np.asarray(mask, dtype=np.float64)[..., None]
    return np.sum(np.asarray(x) * weights, axis=1) / np.sum(weights, axis=1)


def with_array_methods(x, mask):  # works on NumPy arrays only (tensors have no .sum)
    return (x * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)


def python_loop_over_batch(x, mask):  # works eagerly; in a graph the batch size is unknown
    weights = tf.cast(mask, x.dtype)[:, :, None]
    rows = [tf.reduce_sum(x[i] * weights[i], axis=0) / tf.reduce_sum(weights[i]) for i in range(x.shape[0])]
    return tf.stack(rows)


def hard_coded_batch(x, mask):
    weights = tf.cast(mask, x.dtype)[:, :, None]
    mean = tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(weights, axis=1)
    return tf.reshape(mean, (4, 3))  # the notebook's batch and dim, not this batch's


def _masked(x, mask):
    return tf.reduce_sum(x * tf.cast(mask, x.dtype)[:, :, None], axis=1)


def no_feature_axis(x, mask):  # the walkthrough's answer: the weights lack the feature axis
    weights = tf.cast(mask, x.dtype)
    return tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(weights, axis=1, keepdims=True)


def count_nonzero(x, mask):  # an int64 count
    weights = tf.cast(mask, x.dtype)[:, :, None]
    return tf.reduce_sum(x * weights, axis=1) / tf.math.count_nonzero(mask, axis=1, keepdims=True)


def float64_weights(x, mask):
    weights = tf.cast(mask, tf.float64)[:, :, None]
    return tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(weights, axis=1)


def astype_on_tensor(x, mask):  # TF 2.21 prints "EagerTensor object has no attribute 'astype'" (no quotes)
    weights = mask.astype("float32")[..., None]
    return tf.reduce_sum(x * weights, 1) / tf.reduce_sum(weights, 1)


def mask_axis_in_middle(x, mask):  # the walkthrough's answer: the new axis in the middle, (batch, 1, time)
    weights = tf.cast(mask, x.dtype)[:, None]
    return tf.reduce_sum(x * weights, 1) / tf.reduce_sum(weights, 1)


def nonzero_values_count(x, mask):  # the walkthrough's answer: counts non-zero numbers, not real steps
    zeroed = tf.where(mask[..., None], x, 0.0)
    return tf.reduce_sum(zeroed, 1) / tf.cast(tf.math.count_nonzero(zeroed, 1), x.dtype)


def python_if_on_a_tensor(x, mask):  # the walkthrough's answer: a guard written with Python's if
    weights = tf.cast(mask, x.dtype)[..., None]
    count = tf.reduce_sum(weights, 1)
    if tf.reduce_any(count == 0):
        count = tf.maximum(count, 1.0)
    return tf.reduce_sum(x * weights, 1) / count


def batch_size_from_shape(x, mask):  # the walkthrough's answer: x.shape[0] is None in a graph
    weights = tf.cast(mask, x.dtype)[..., None]
    return tf.reduce_sum(x * weights, 1) / (tf.reduce_sum(weights, 1) * tf.ones((x.shape[0], 1)))


def test_q2_catalogue():
    messages = check_catalogue(q2, {
        "missing-feature-axis": [no_feature_axis],
        "mask-axis-in-middle": [mask_axis_in_middle],
        "nonzero-count": [nonzero_values_count],
        "dtype-mix": [count_nonzero, float64_weights],
        "all-real-steps": [lambda x, m: tf.reduce_mean(tf.boolean_mask(x, m), axis=0)],
        "bool-arithmetic": [lambda x, m: tf.reduce_sum(x * m[:, :, None], axis=1),
                            lambda x, m: _masked(x, m) / tf.reduce_sum(m, axis=1, keepdims=True),
                            lambda x, m: tf.multiply(x, m[:, :, None])],
        "missing-keepdims": [lambda x, m: _masked(x, m) / tf.reduce_sum(tf.cast(m, x.dtype), axis=1)],
        "numpy-method-on-tensor": [with_array_methods, astype_on_tensor],
        "fixed-sizes": [hard_coded_batch],
        "boolean-result": [lambda x, m: tf.reduce_any(m, axis=1, keepdims=True) & tf.ones(x.shape[::2], bool)],
        "kept-time-axis": [lambda x, m: _masked(x, m)[:, None] / tf.reduce_sum(tf.cast(m, x.dtype), 1)[:, None, None]],
        "reduced-features": [lambda x, m: tf.reduce_sum(x * tf.cast(m, x.dtype)[:, :, None], axis=2)],
        "reduced-batch": [lambda x, m: tf.reduce_mean(x * tf.cast(m, x.dtype)[:, :, None], axis=0)],
        "inverted-mask": [lambda x, m: tf.math.divide_no_nan(_masked(x, ~m), tf.reduce_sum(tf.cast(~m, x.dtype), 1, keepdims=True))],
        "plain-mean": [lambda x, m: tf.reduce_mean(x, axis=1)],
        "padded-length": [lambda x, m: _masked(x, m) / x.shape[1]],
        "masked-sum": [_masked],
        "batch-count": [lambda x, m: _masked(x, m) / tf.reduce_sum(tf.cast(m, x.dtype))],
        "first-n-steps": [lambda x, m: np.stack([np.asarray(x)[r, :n].mean(axis=0) for r, n in enumerate(np.asarray(m).sum(1))])],
        "not-graph-compatible": [with_np_sum, python_loop_over_batch],
        "not-a-function": [reference_tf(tf.ones((1, 2, 3)), tf.ones((1, 2), bool)), keras.layers.GlobalAveragePooling1D],
    })
    assert "keepdims=True" in messages["missing-keepdims"]  # was: a bare "Incompatible shapes: [4,3] vs. [4]"
    assert "graph" in messages["not-graph-compatible"] and "no NumPy calls" in messages["not-graph-compatible"]


def test_q2_walkthrough_answers_name_their_mistake():
    axis = rejected(q2, no_feature_axis)
    assert axis.mistake == "missing-feature-axis" and "[:, :, None]" in axis.message
    assert "batches of every size" not in axis.message and "smaller last one" not in axis.message  # was: "fixed sizes"
    later = rejected(q2, hard_coded_batch)  # fails on the second, smaller batch: there the batch text is right
    assert later.mistake == "fixed-sizes" and "for a (3, 7, 2) batch" in later.message and "smaller last one" in later.message
    astype = rejected(q2, astype_on_tensor)
    assert "tf.cast(t, dtype)" in astype.message  # was: no explanation at all
    named = rejected(q2, "masked_mean")
    assert "without quotes" in named.message and "parentheses" not in named.message


def test_q2_second_walkthrough_answers_name_their_mistake():
    """Walkthrough 17, re-run after the first fix pass: each answer gets its own detector's message."""
    middle = rejected(q2, mask_axis_in_middle)  # was: "check where each size comes from (a number of your own...)"
    assert middle.mistake == "mask-axis-in-middle" and "in the middle" in middle.message and "[:, :, None]" in middle.message
    nonzero = rejected(q2, nonzero_values_count)  # was accepted: no case had a real step that is exactly 0.0
    assert nonzero.mistake == "nonzero-count" and nonzero.detected == ("nonzero-count",)
    assert "exactly 0.0" in nonzero.message and "row 0, step 1" in nonzero.message
    python_if = rejected(q2, python_if_on_a_tensor)  # was: the generic graph rules, which never name `if`
    assert python_if.mistake == "not-graph-compatible" and "Python if" in python_if.message and "tf.where" in python_if.message
    none_size = rejected(q2, batch_size_from_shape)  # was: the generic graph rules
    assert none_size.mistake == "not-graph-compatible" and "tf.shape(x)[0]" in none_size.message
    assert "x.shape[0] is None" in rejected(q2, python_loop_over_batch).message


def test_q3_second_walkthrough_answer_names_the_lookup_layer():
    embedding = rejected(q3, keras.layers.Embedding(10, 4, mask_zero=True))  # was: "the mask has shape (3, 6, 1)"
    assert embedding.mistake == "lookup-layer" and "looks up ids" in embedding.message
    assert "keras.layers.Masking(mask_value=...)" in embedding.message


def test_q2_messages_make_no_false_claims_about_tensorflow(capsys):
    text = message(q2, lambda x, m: tf.reduce_sum(x * m[:, :, None], axis=1))
    assert "logical AND" not in text and "will not multiply" not in text
    q2.hint()
    hint = " ".join(capsys.readouterr().out.split())
    assert "tf.reduce_sum(tf.cast(mask, x.dtype), axis=1, keepdims=True)" in hint  # the bool mask cannot be summed


def test_q2_stub_function_is_not_attempted():
    def masked_mean(x, mask):
        ...  # YOUR CODE HERE

    assert status(q2, masked_mean) == "not attempted"


# --------------------------------------------------------------------------- q3


class InvertedMasking(keras.layers.Layer):
    def call(self, x):
        return x

    def compute_mask(self, x, mask=None):
        return tf.reduce_all(tf.equal(x, Q3_PAD_VALUE), axis=-1)


class PadValueMask(keras.layers.Layer):  # a hand-written Masking: also correct
    def call(self, x):
        return x

    def compute_mask(self, x, mask=None):
        return tf.reduce_any(tf.not_equal(x, Q3_PAD_VALUE), axis=-1)


class MaskWithFeatureAxis(keras.layers.Layer):  # a (batch, time, 1) mask: one per number, not per step
    def call(self, x):
        return x

    def compute_mask(self, x, mask=None):
        return tf.not_equal(x, Q3_PAD_VALUE)


class Crashes(keras.layers.Layer):
    def call(self, x):
        return x[:, :, 5]


@pytest.mark.parametrize(
    "layer",
    [
        PadValueMask(),
        keras.Sequential([keras.layers.Masking(Q3_PAD_VALUE)]),
        keras.layers.Masking(mask_value=Q3_PAD_VALUE),
        keras.layers.Masking(int(Q3_PAD_VALUE)),
        tf.keras.layers.Masking(Q3_PAD_VALUE),
        solution_namespace(q3, keras=keras)["masking"],
    ],
)
def test_q3_accepts_masking_layers_with_the_pad_value(layer):
    assert status(q3, layer) == "correct"


def test_q3_catalogue():
    check_catalogue(q3, {
        "the-class": [keras.layers.Masking],
        "layer-method": [keras.layers.Masking(mask_value=Q3_PAD_VALUE).compute_mask],
        "called-on-data": [keras.layers.Masking(Q3_PAD_VALUE)(np.zeros((1, 2, 1), np.float32))],
        "mask-value-text": [keras.layers.Masking(mask_value=str(Q3_PAD_VALUE))],
        "not-a-layer": ["Masking(-9.0)", Q3_PAD_VALUE, lambda x: x],
        "no-mask": [keras.layers.Dense(1)],
        "mask-shape": [MaskWithFeatureAxis()],
        "lookup-layer": [keras.layers.Embedding(10, 4, mask_zero=True), keras.layers.IntegerLookup(vocabulary=[1, 2])],
        "default-zero": [keras.layers.Masking()],
        "hides-real-value": [keras.layers.Masking(mask_value=-1.0)],
        "inverted": [InvertedMasking()],
        "keeps-everything": [keras.layers.Masking(mask_value=-Q3_PAD_VALUE), keras.layers.Masking(mask_value=Q3_PAD_VALUE - 0.5)],
        "raised": [Crashes()],
    })


# --------------------------------------------------------------------------- q4


ReferenceMaxPooling = solution_namespace(q4, keras=keras, tf=tf)["MaskedMaxPooling"]  # what q4.solution() prints


class MinusInfinity(ReferenceMaxPooling):
    def call(self, x, mask=None):
        return keras.ops.max(keras.ops.where(keras.ops.expand_dims(mask, -1), x, float("-inf")), axis=1)


class HintApproach(ReferenceMaxPooling):  # exactly what q4.hint() describes
    def call(self, x, mask=None):
        return tf.reduce_max(tf.where(mask[:, :, None], x, x.dtype.min), axis=1)


class WithoutSupportsMasking(keras.layers.Layer):  # right numbers, but Keras warns
    def call(self, x, mask=None):
        return tf.reduce_max(tf.where(mask[:, :, None], x, x.dtype.min), axis=1)


class KerasOpsPooling(keras.layers.Layer):  # keras.ops and -inf, supports_masking set as a class attribute
    supports_masking = True

    def call(self, x, mask=None):
        return keras.ops.max(keras.ops.where(mask[..., None], x, float("-inf")), axis=1)

    def compute_mask(self, x, mask=None):
        return None


@pytest.mark.parametrize("answer", [ReferenceMaxPooling, ReferenceMaxPooling(), MinusInfinity, KerasOpsPooling, HintApproach])
def test_q4_accepts_correct_layers(answer):
    assert status(q4, answer) == "correct", q4.evaluate(answer)


def test_q4_accepts_a_layer_without_supports_masking_with_a_note():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the check must keep Keras's warning to itself
        result = q4.evaluate(WithoutSupportsMasking)
    assert result.status == "correct" and "supports_masking" in result.message


class VeryNegative(ReferenceMaxPooling):  # a constant real values can go below: what the old hint led to
    def call(self, x, mask=None):
        return tf.reduce_max(tf.where(mask[:, :, None], x, -1e9), axis=1)


class MaxOverPadding(ReferenceMaxPooling):
    def call(self, x, mask=None):
        return tf.reduce_max(tf.where(mask[:, :, None], x.dtype.min, x), axis=1)


class NumpyInCall(ReferenceMaxPooling):  # fine on eager tensors, breaks inside a functional model
    def call(self, x, mask=None):
        values = np.where(np.asarray(mask)[:, :, None], np.asarray(x), -np.inf)
        return tf.constant(values.max(axis=1))


class FixedBatchSize(ReferenceMaxPooling):  # reshapes with the test batch's numbers
    def call(self, x, mask=None):
        x = tf.where(mask[:, :, None], x, x.dtype.min)
        return tf.reshape(tf.reduce_max(x, axis=1), (3, 3))


class LoopsOverTheBatch(ReferenceMaxPooling):  # a Python loop over a static batch size: fails in fit's last batch
    def call(self, x, mask=None):
        x = tf.where(mask[:, :, None], x, x.dtype.min)
        return tf.stack([tf.reduce_max(x[i], axis=0) for i in range(x.shape[0] or 3)])


class IgnoresMask(ReferenceMaxPooling):
    def call(self, x, mask=None):
        return tf.reduce_max(x, axis=1)


class NoMaskArgument(keras.layers.Layer):
    def call(self, x):
        return tf.reduce_max(x, axis=1)


class ZerosForPadding(ReferenceMaxPooling):
    def call(self, x, mask=None):
        return tf.reduce_max(x * tf.cast(mask, x.dtype)[:, :, None], axis=1)


class WrongAxis(ReferenceMaxPooling):
    def call(self, x, mask=None):
        return tf.reduce_max(tf.where(mask[:, :, None], x, x.dtype.min), axis=2)


class KeepsMask(ReferenceMaxPooling):  # supports_masking=True and the default compute_mask
    compute_mask = keras.layers.Layer.compute_mask


class StubCall(ReferenceMaxPooling):
    def call(self, x, mask=None):
        return ...

    def compute_mask(self, x, mask=None):
        return ...


class StubComputeMask(ReferenceMaxPooling):
    def compute_mask(self, x, mask=None):
        return ...


class NeedsArguments(ReferenceMaxPooling):
    def __init__(self, axis, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis


class MaskNotUsedInCall(keras.layers.Layer):  # supports_masking, but call never uses the mask
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, mask=None):
        return tf.reduce_max(x, axis=1)

    def compute_mask(self, x, mask=None):
        return None


class WhereWithoutFeatureAxis(ReferenceMaxPooling):
    def call(self, x, mask=None):
        return tf.reduce_max(tf.where(mask, x, x.dtype.min), axis=1)


class MultipliesByBoolMask(ReferenceMaxPooling):
    def call(self, x, mask=None):
        return tf.reduce_max(x * mask[:, :, None], axis=1)


class NoSuperInit(keras.layers.Layer):
    def __init__(self):
        self.supports_masking = True

    def call(self, x, mask=None):
        return tf.reduce_max(tf.where(mask[:, :, None], x, x.dtype.min), axis=1)


class MaskWithoutDefault(ReferenceMaxPooling):
    def call(self, x, mask):
        return tf.reduce_max(tf.where(mask[:, :, None], x, x.dtype.min), axis=1)


class PoolsTheMaskToo(ReferenceMaxPooling):  # leaves a (batch,) mask on the output
    def compute_mask(self, x, mask=None):
        return tf.reduce_any(mask, axis=1)


def test_q4_catalogue():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        messages = check_catalogue(q4, {
            "not-layer-subclass": [int],
            "not-a-layer": [lambda x, mask=None: x, "MaskedMaxPooling", keras.layers.GlobalMaxPooling1D()(np.zeros((1, 2, 3), np.float32))],
            "wrong-axis": [WrongAxis],
            "padding-in-max": [IgnoresMask, NoMaskArgument, keras.layers.GlobalMaxPooling1D, MaskNotUsedInCall],
            "zeros-for-padding": [ZerosForPadding],
            "constant-fill": [VeryNegative],
            "max-over-padding": [MaxOverPadding],
            "keeps-mask": [KeepsMask, PoolsTheMaskToo],
            "where-without-feature-axis": [WhereWithoutFeatureAxis],
            "bool-in-arithmetic": [MultipliesByBoolMask],
            "no-super-init": [NoSuperInit],
            "mask-without-default": [MaskWithoutDefault],
            "stub-compute-mask": [StubComputeMask],
            "constructor-needs-arguments": [NeedsArguments],
            "not-graph-compatible": [NumpyInCall, LoopsOverTheBatch],
            "raised": [FixedBatchSize],
        })
    assert "lower still" in messages["constant-fill"] and "x.dtype.min" in messages["constant-fill"]
    assert "batches of 2, the last one smaller" in messages["not-graph-compatible"] or "inside a functional model" in messages["not-graph-compatible"]


def test_q4_walkthrough_answers_name_their_mistake(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kept = rejected(q4, PoolsTheMaskToo)
        assert kept.mistake == "keeps-mask" and "mask of shape (3,)" in kept.message  # was: "a (batch, time) mask"
        axis = rejected(q4, WhereWithoutFeatureAxis)
        assert "mask[:, :, None]" in axis.message
        q4.check(WithoutSupportsMasking)
    printed = capsys.readouterr().out
    assert "[correct]" in printed and ".)." not in printed  # the note in brackets ends the line once


class WrapsGlobalMaxPooling(ReferenceMaxPooling):  # the walkthrough's answer: Keras warned from inside the check
    def call(self, x, mask=None):
        return keras.layers.GlobalMaxPooling1D()(x)


def test_q4_a_wrapped_keras_layer_prints_no_keras_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = rejected(q4, WrapsGlobalMaxPooling)
    assert result.mistake == "padding-in-max" and result.detected == ("padding-in-max",)
    assert not [w for w in caught if "does not support masking" in str(w.message)]  # was: Keras's UserWarning printed


def test_q4_hint_leads_to_an_accepted_answer(capsys):
    q4.hint()
    hint = " ".join(capsys.readouterr().out.split())
    assert "x.dtype.min" in hint and "very_negative" not in hint
    assert status(q4, HintApproach) == "correct"


def test_q4_stub_layer_is_not_attempted():
    assert status(q4, StubCall) == "not attempted"


# --------------------------------------------------------------------------- course_lib.masking


def test_padded_mean_matches_keras_and_the_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 2)).astype(np.float32)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 1, 1]], dtype=bool)
    masked, plain = padded_mean(tf.constant(x), tf.constant(mask))
    keras_mean = keras.layers.GlobalAveragePooling1D()(tf.constant(x), mask=tf.constant(mask)).numpy()
    assert masked.shape == plain.shape == (3, 2) and masked.dtype == np.float64
    assert np.allclose(masked, keras_mean, atol=1e-6)
    assert np.allclose(plain, x.mean(axis=1), atol=1e-6)


def test_padded_mean_gives_nan_for_an_empty_row_and_checks_shapes():
    masked, _ = padded_mean(np.ones((2, 3, 2)), np.array([[1, 0, 0], [0, 0, 0]]))
    assert np.allclose(masked[0], 1.0) and np.isnan(masked[1]).all()
    with pytest.raises(ValueError, match="3-D"):
        padded_mean(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, length\) = \(2, 3\)"):
        padded_mean(np.ones((2, 3, 4)), np.ones((3, 2)))


def test_plot_padded_batch_draws_two_panels_and_checks_inputs():
    import matplotlib.pyplot as plt

    ids = np.array([[3, 1, 0], [2, 0, 0]])
    axes = plot_padded_batch(ids, row_labels=["a", "b"])
    assert len(axes) == 2 and "3 of 6 real" in axes[1].get_title()
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["a", "b"]
    plt.close("all")
    with pytest.raises(ValueError, match="2-D"):
        plot_padded_batch(np.array([1, 2, 0]))
    with pytest.raises(TypeError, match="integer ids"):
        plot_padded_batch(np.array([[1.0, 0.0]]))
    with pytest.raises(ValueError, match="mask has shape"):
        plot_padded_batch(ids, np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="1 row labels for 2 rows"):
        plot_padded_batch(ids, row_labels=["a"])


TABLE = np.arange(12, dtype=np.float32).reshape(6, 2) - 5.0  # row 0 = padding vector (-5, -4)
SEQUENCES = [[1, 2], [3, 4, 5]]


def test_draw_padding_keeps_the_masked_mean_and_moves_the_plain_mean():
    short_fig, short = draw_padding(SEQUENCES, TABLE, 3)
    long_fig, long = draw_padding(SEQUENCES, TABLE, 10, "pre")
    assert short["padded"].tolist() == [[1, 2, 0], [3, 4, 5]]
    assert long["padded"].shape == (2, 10) and long["padded"][0, -2:].tolist() == [1, 2]
    assert np.allclose(short["masked_mean"], long["masked_mean"])
    assert np.allclose(long["masked_mean"][1], TABLE[[3, 4, 5]].mean(axis=0))
    assert np.allclose(long["plain_mean"][0], (TABLE[1] + TABLE[2] + 8 * TABLE[0]) / 10)
    cut = draw_padding(SEQUENCES, TABLE, 2)[1]  # rows longer than maxlen are cut on the padding side
    assert cut["padded"].tolist() == [[1, 2], [3, 4]]
    assert len(short_fig.axes) == 5  # ids, mask, two means, colour bar


@pytest.mark.parametrize(
    "args, kwargs, words",
    [
        (([[1, 0]], TABLE, 3), {}, r"sequences\[0\].*ids below 1.*padding id"),
        (([[1, 6]], TABLE, 3), {}, r"sequences\[0\].*ids above 5"),
        (([[1], []], TABLE, 3), {}, r"sequences\[1\].*is empty"),
        (([], TABLE, 3), {}, "sequences is empty"),
        ((SEQUENCES, TABLE[0], 3), {}, "2-D"),
        ((SEQUENCES, np.full((6, 2), np.nan), 3), {}, "table"),
        ((SEQUENCES, TABLE, 0), {}, "maxlen=0"),
        ((SEQUENCES, TABLE, 3, "middle"), {}, "padding='middle'"),
        ((SEQUENCES, TABLE, 3), {"row_labels": ["only one"]}, "1 row labels for 2 sequences"),
    ],
)
def test_draw_padding_rejects_bad_input(args, kwargs, words):
    with pytest.raises(ValueError, match=words):
        draw_padding(*args, **kwargs)


def test_padding_explorer_starts_at_longest_plus_4_and_redraws():
    import ipywidgets

    box = padding_explorer(SEQUENCES, TABLE, row_labels=["one", "two"])
    slider, side, out = box.children
    assert "course-explorer" in box._dom_classes and isinstance(out, ipywidgets.Output)
    assert isinstance(slider, ipywidgets.IntSlider) and isinstance(side, ipywidgets.Dropdown)
    assert box.result["padded"].shape == (2, 7) and side.value == "post"
    slider.value = 4
    assert box.result["padded"].shape == (2, 4)
    side.value = "pre"
    assert box.result["padded"][0].tolist() == [0, 0, 1, 2]
    slider.value = slider.min  # every state of the controls draws without an error
    assert box.result["padded"].shape == (2, 1)


@pytest.mark.parametrize(
    "mask, expected",
    [
        ([[1, 1, 0], [1, 0, 0]], True),
        ([[0, 1, 1]], False),  # pad_sequences' default, padding="pre"
        ([[1, 0, 1]], False),  # a hole in the middle
        ([[1, 1, 0], [0, 0, 0]], False),  # an all-padding row
        ([[True, True]], True),
    ],
)
def test_is_right_padded_follows_the_cudnn_rule(mask, expected):
    assert is_right_padded(np.array(mask)) is expected
    assert is_right_padded(tf.constant(np.array(mask, dtype=bool))) is expected


def test_is_right_padded_agrees_with_keras_own_cudnn_check():
    from keras.src.backend.tensorflow.rnn import _assert_valid_mask  # private: pinned Keras 3.15

    for mask in ([[1, 1, 0], [1, 0, 0]], [[0, 1, 1]], [[1, 0, 1]], [[1, 1], [0, 0]]):
        mask = tf.constant(np.array(mask, dtype=bool))
        try:
            _assert_valid_mask(mask)
            keras_ok = True
        except tf.errors.InvalidArgumentError:
            keras_ok = False
        assert is_right_padded(mask) is keras_ok


@pytest.mark.parametrize(
    "mask, error, words",
    [
        (np.array([[1, 2, 0]]), ValueError, "only True/False"),
        (np.array([["a", "b"]]), TypeError, "True/False"),
        (np.array([1, 0, 0]), ValueError, "2-D"),
    ],
)
def test_is_right_padded_rejects_bad_masks(mask, error, words):
    with pytest.raises(error, match=words):
        is_right_padded(mask)


def test_padded_mean_and_draw_padding_refuse_silent_coercions():
    with pytest.raises(ValueError, match="only True/False"):
        padded_mean(np.ones((1, 3, 2)), np.array([[2, 1, 0]]))  # ids passed as a mask
    with pytest.raises(TypeError, match="whole numbers|integer"):
        draw_padding([[1.9, 2]], TABLE, 3)  # a float id is never truncated
    with pytest.raises(TypeError, match="maxlen"):
        draw_padding(SEQUENCES, TABLE, True)
