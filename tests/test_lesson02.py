"""Unit tests of lesson 02: its self-checks (course_lib/exercises/lesson02.py) and the plot and
widget helpers (course_lib/masking.py)."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.checks import ____
from exercise_helpers import message, solution_namespace, status
from course_lib.exercises.lesson02 import Q3_PAD_VALUE, q1, q1_expected, q2, q3, q4
from course_lib.masking import draw_padding, padded_mean, padding_explorer, plot_padded_batch


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


@pytest.mark.parametrize("form", [int, np.int64, np.int32, tf.constant, np.array])
def test_q1_accepts_every_integer_form(form):
    assert status(q1, form(Q1)) == "correct"


@pytest.mark.parametrize(
    "answer, words",
    [
        (Q1 - 2, "padding id 0 or the OOV id 1"),  # forgot both special rows
        (Q1 - 1, "one row short"),  # forgot one of them
        (Q1 + 1, "one row too many"),
        (EXPECTED["vocabulary"] + 1, f"all {EXPECTED['vocabulary']} distinct title words"),  # the whole vocabulary
        (EXPECTED["vocabulary"] + 2, f"all {EXPECTED['vocabulary']} distinct title words"),
        (EXPECTED["more_than_twice"] + 2, "exactly 2 times"),  # > 2 instead of >= 2
        (float(Q1), "float"),  # Keras refuses a float input_dim
        (np.float32(Q1), "float"),
        (tf.constant(float(Q1)), "float"),
        (str(Q1), "whole number"),
        (0, "positive"),
        (1000, "not the number of rows"),
    ],
)
def test_q1_rejects_typical_mistakes_with_a_hint(answer, words):
    assert words in message(q1, answer)


# --------------------------------------------------------------------------- q2


def reference_tf(x, mask):
    weights = tf.cast(mask, x.dtype)[:, :, None]
    return tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(weights, axis=1)


def with_np_sum(x, mask):  # NumPy functions accept tensors
    weights = np.asarray(mask, dtype=np.float64)[..., None]
    return np.sum(np.asarray(x) * weights, axis=1) / np.sum(weights, axis=1)


def with_array_methods(x, mask):  # works on NumPy arrays only (tensors have no .sum)
    return (x * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)


def with_keras_ops(x, mask):
    weights = keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    return keras.ops.sum(x * weights, axis=1) / keras.ops.sum(weights, axis=1)


def with_divide_no_nan(x, mask):
    weights = tf.cast(mask, tf.float32)
    return tf.math.divide_no_nan(tf.einsum("btd,bt->bd", x, weights), tf.reduce_sum(weights, axis=1, keepdims=True))


def with_keras_layer(x, mask):
    return keras.layers.GlobalAveragePooling1D()(x, mask=mask)


@pytest.mark.parametrize("answer", [reference_tf, with_keras_ops, with_divide_no_nan, with_keras_layer])
def test_q2_accepts_every_correct_function(answer):
    assert status(q2, answer) == "correct", q2.evaluate(answer)


def test_q2_numpy_only_answers_get_their_own_error_never_a_rerun():
    text = message(q2, with_array_methods)  # tensors have no .sum: the learner sees that, not another run's error
    assert "AttributeError" in text and "has no attribute 'sum'" in text
    text = message(q2, with_np_sum)  # NumPy functions accept eager tensors, not the graph Keras runs
    assert "graph" in text and "no .numpy() or NumPy calls" in text


def inverted_mask(x, mask):
    weights = tf.cast(tf.logical_not(mask), x.dtype)[:, :, None]
    return tf.math.divide_no_nan(tf.reduce_sum(x * weights, axis=1), tf.reduce_sum(weights, axis=1))


def hard_coded_batch(x, mask):
    weights = tf.cast(mask, x.dtype)[:, :, None]
    mean = tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(weights, axis=1)
    return tf.reshape(mean, (4, 3))  # the notebook's batch and dim, not this batch's


def in_place_numpy(x, mask):  # changes the caller's array
    x = x.numpy() if hasattr(x, "numpy") else x
    x[~np.asarray(mask)] = 0.0
    return x.sum(axis=1) / np.asarray(mask).sum(axis=1, keepdims=True)


def plain_mean(x, mask):
    return tf.reduce_mean(x, axis=1)


def divide_by_padded_length(x, mask):
    return tf.reduce_sum(x * tf.cast(mask, x.dtype)[:, :, None], axis=1) / x.shape[1]


def masked_sum(x, mask):
    return tf.reduce_sum(x * tf.cast(mask, x.dtype)[:, :, None], axis=1)


def bool_times_float(x, mask):  # forgot the cast: TensorFlow refuses float * bool
    return tf.reduce_sum(x * mask[:, :, None], axis=1) / tf.reduce_sum(tf.cast(mask, x.dtype), axis=1, keepdims=True)


def bool_multiply(x, mask):
    return tf.multiply(x, mask[:, :, None])


def sums_the_bool_mask(x, mask):  # casts before multiplying, but counts the steps on the bool mask
    weights = tf.cast(mask, x.dtype)[:, :, None]
    return tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(mask, axis=1, keepdims=True)


def returns_a_bool(x, mask):
    return tf.reduce_any(mask, axis=1, keepdims=True) & tf.ones(x.shape[::2], bool)


def wrong_axis_features(x, mask):
    return tf.reduce_sum(x * tf.cast(mask, x.dtype)[:, :, None], axis=2)


def wrong_axis_batch(x, mask):
    return tf.reduce_mean(x * tf.cast(mask, x.dtype)[:, :, None], axis=0)


def keepdims(x, mask):
    weights = tf.cast(mask, x.dtype)[:, :, None]
    return tf.reduce_sum(x * weights, axis=1, keepdims=True) / tf.reduce_sum(weights, axis=1, keepdims=True)


def count_whole_batch(x, mask):
    weights = tf.cast(mask, x.dtype)[:, :, None]
    return tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(weights)


def first_n_steps(x, mask):  # assumes padding at the end
    counts = np.asarray(mask).sum(axis=1)
    return np.stack([np.asarray(x)[row, :n].mean(axis=0) for row, n in enumerate(counts)])


@pytest.mark.parametrize(
    "answer, words",
    [
        (plain_mean, "padding steps were averaged in"),
        (divide_by_padded_length, "divided by the padded length"),
        (masked_sum, "masked sum"),
        (bool_times_float, "tf.cast(mask, x.dtype)"),
        (bool_multiply, "tf.cast(mask, x.dtype)"),
        (sums_the_bool_mask, "before multiplying or summing"),
        (returns_a_bool, "the result is boolean"),
        (wrong_axis_features, "wrong axis"),
        (wrong_axis_batch, "over the batch"),
        (keepdims, "drop the time axis"),
        (count_whole_batch, "whole batch"),
        (first_n_steps, "padded at the front"),
        (inverted_mask, "True marks a real step"),
        (hard_coded_batch, "for a (3, 7, 2) batch with large values"),
        (with_np_sum, "graph"),
        (with_array_methods, "no attribute 'sum'"),
        (reference_tf(tf.ones((1, 2, 3)), tf.ones((1, 2), bool)), "function itself"),
    ],
)
def test_q2_rejects_typical_mistakes_with_a_hint(answer, words):
    assert words in message(q2, answer)


def test_q2_messages_make_no_false_claims_about_tensorflow(capsys):
    for answer in (bool_times_float, sums_the_bool_mask, returns_a_bool):
        text = message(q2, answer)
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


@pytest.mark.parametrize(
    "layer",
    [
        PadValueMask(),
        keras.Sequential([keras.layers.Masking(Q3_PAD_VALUE)]),
        keras.layers.Masking(mask_value=Q3_PAD_VALUE),
        keras.layers.Masking(int(Q3_PAD_VALUE)),
        tf.keras.layers.Masking(Q3_PAD_VALUE),
    ],
)
def test_q3_accepts_masking_layers_with_the_pad_value(layer):
    assert status(q3, layer) == "correct"


@pytest.mark.parametrize(
    "answer, words",
    [
        (keras.layers.Masking(), "real 3-star ratings"),  # default mask_value 0.0
        (keras.layers.Masking(mask_value=-Q3_PAD_VALUE), "keeps every step"),  # sign slip
        (keras.layers.Masking, "that is the class Masking"),
        (keras.layers.Dense(1), "attaches no mask"),
        ("Masking(-9.0)", "expected a Keras layer"),
        (Q3_PAD_VALUE, "expected a Keras layer"),
        (keras.layers.Masking(mask_value=Q3_PAD_VALUE - 0.5), "keeps every step"),
        (InvertedMasking(), "inverted"),
        (keras.layers.Embedding(10, 2, mask_zero=True), "the mask has shape (3, 6, 1)"),
        (keras.layers.Masking(mask_value=Q3_PAD_VALUE).compute_mask, "expected a Keras layer"),
    ],
)
def test_q3_rejects_typical_mistakes_with_a_hint(answer, words):
    assert words in message(q3, answer)


# --------------------------------------------------------------------------- q4


ReferenceMaxPooling = solution_namespace(q4, keras=keras, tf=tf)["MaskedMaxPooling"]  # what q4.solution() prints


class MinusInfinity(ReferenceMaxPooling):
    def call(self, x, mask=None):
        return keras.ops.max(keras.ops.where(keras.ops.expand_dims(mask, -1), x, float("-inf")), axis=1)


class WithoutSupportsMasking(keras.layers.Layer):  # right numbers, but Keras warns
    def call(self, x, mask=None):
        return tf.reduce_max(tf.where(mask[:, :, None], x, x.dtype.min), axis=1)


class VeryNegative(ReferenceMaxPooling):  # a constant real values can go below
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


class KerasOpsPooling(keras.layers.Layer):  # keras.ops and -inf, supports_masking set as a class attribute
    supports_masking = True

    def call(self, x, mask=None):
        return keras.ops.max(keras.ops.where(mask[..., None], x, float("-inf")), axis=1)

    def compute_mask(self, x, mask=None):
        return None


@pytest.mark.parametrize("answer", [ReferenceMaxPooling, ReferenceMaxPooling(), MinusInfinity, KerasOpsPooling])
def test_q4_accepts_correct_layers(answer):
    assert status(q4, answer) == "correct", q4.evaluate(answer)


def test_q4_accepts_a_layer_without_supports_masking_with_a_note():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the check must keep Keras's warning to itself
        result = q4.evaluate(WithoutSupportsMasking)
    assert result.status == "correct" and "supports_masking" in result.message


@pytest.mark.parametrize(
    "answer, words",
    [
        (IgnoresMask, "padding steps took part in the max"),
        (NoMaskArgument, "padding steps took part in the max"),
        (ZerosForPadding, "replaced the padding by 0"),
        (WrongAxis, "wrong axis"),
        (KeepsMask, "make compute_mask return None"),
        (StubComputeMask, "compute_mask still returns `...`"),
        (keras.layers.GlobalMaxPooling1D, "padding steps took part in the max"),
        (lambda x, mask=None: x, "expected your layer class"),
        (int, "should subclass keras.layers.Layer"),
        (VeryNegative, "lower still"),
        (MaxOverPadding, "padding steps only"),
        (NumpyInCall, "inside a functional model"),
        (FixedBatchSize, "raised"),
    ],
)
def test_q4_rejects_typical_mistakes_with_a_hint(answer, words):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert words in message(q4, answer)


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
        (([[1, 0]], TABLE, 3), {}, r"ids must be in 1 \.\. 5"),
        (([[1, 6]], TABLE, 3), {}, r"ids must be in 1 \.\. 5"),
        (([[1], []], TABLE, 3), {}, "no empty sequence"),
        ((SEQUENCES, TABLE[0], 3), {}, "2-D"),
        ((SEQUENCES, TABLE, 0), {}, "positive int"),
        ((SEQUENCES, TABLE, 3, "middle"), {}, "'post' or 'pre'"),
        ((SEQUENCES, TABLE, 3), {"row_labels": ["only one"]}, "1 row labels for 2 sequences"),
    ],
)
def test_draw_padding_rejects_bad_input(args, kwargs, words):
    with pytest.raises(ValueError, match=words):
        draw_padding(*args, **kwargs)


def test_padding_explorer_starts_at_longest_plus_4_and_redraws():
    box = padding_explorer(SEQUENCES, TABLE, row_labels=["one", "two"])
    slider, side = box.children
    assert box.result["padded"].shape == (2, 7) and side.value == "post"
    slider.value = 4
    assert box.result["padded"].shape == (2, 4)
    side.value = "pre"
    assert box.result["padded"][0].tolist() == [0, 0, 1, 2]
    assert "run the notebook" in repr(box)
