"""course_lib.features: the combiner layer and feature-column ids, on good and bad input."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import setup_notebook
from course_lib.features import MaskedPooling, feature_column_ids

fc = tf.feature_column


@pytest.fixture(autouse=True, scope="module")
def _lesson_setup():
    """The lessons' set-up (seed 0, op determinism on), undone after this module.

    Left on, op determinism made Keras drop ``jit_compile=True`` (with a UserWarning) in the
    tests that ran after this module in the same process.
    """
    from tensorflow.python.framework import config  # the flag Keras reads (no public getter)

    was_on = config.is_op_determinism_enabled()
    setup_notebook(seed=0)
    yield
    if not was_on:
        config.disable_op_determinism()


def test_masked_pooling_combiners_and_empty_row():
    vectors = np.arange(2 * 3 * 2, dtype="float32").reshape(2, 3, 2)
    mask = np.array([[True, True, False], [False, False, False]])
    total = vectors[0, :2].sum(axis=0)
    for combiner, expected in [("mean", total / 2), ("sqrtn", total / np.sqrt(2)), ("sum", total)]:
        out = MaskedPooling(combiner)(vectors, mask=mask).numpy()
        assert np.allclose(out[0], expected) and np.all(out[1] == 0)


@pytest.mark.parametrize("combiner", ["max", "Mean", None, 1])
def test_masked_pooling_refuses_unknown_combiner(combiner):
    with pytest.raises(ValueError, match="combiner"):
        MaskedPooling(combiner)


def test_masked_pooling_refuses_ids_and_rank_2():
    with pytest.raises(TypeError, match="Embedding"):
        MaskedPooling()(np.ones((2, 3, 1), dtype="int32"))
    with pytest.raises(ValueError, match=r"\(batch, steps, dim\)"):
        MaskedPooling()(np.ones((2, 3), dtype="float32"))


def test_masked_pooling_refuses_a_mask_of_the_wrong_shape():
    with pytest.raises(ValueError, match="mask has shape"):
        MaskedPooling()(np.ones((2, 3, 4), dtype="float32"), mask=np.ones((2, 4), dtype=bool))


def test_masked_pooling_in_a_model_round_trips():
    ids = keras.Input((3,), dtype="int32")
    model = keras.Model(ids, MaskedPooling("sqrtn")(keras.layers.Embedding(5, 2, mask_zero=True)(ids)))
    restored = keras.Model.from_config(model.get_config())
    assert restored.layers[-1].combiner == "sqrtn"


def test_feature_column_ids_good_input():
    column = fc.categorical_column_with_vocabulary_list("occupation", ["a", "b"])
    assert feature_column_ids(column, ["b", "a", "zzz"]).tolist() == [1, 0, -1]
    identity = fc.categorical_column_with_identity("movie", num_buckets=10, default_value=0)
    assert feature_column_ids(identity, np.array([3, 12, -1])).tolist() == [3, 0, -1]
    ages = fc.bucketized_column(fc.numeric_column("age"), boundaries=[18, 25])
    assert feature_column_ids(ages, [17, 18, 30.5]).tolist() == [0, 1, 2]
    assert feature_column_ids(column, []).tolist() == []


@pytest.mark.parametrize(
    ("values", "error", "pattern"),
    [
        ("a", ValueError, "wrap it in a list"),
        (3, ValueError, "wrap it in a list"),
        ([["a"], ["b"]], ValueError, "1-D"),
        ([1, 2], TypeError, "dtype string"),
        (["a", None], TypeError, "dtype string"),
    ],
)
def test_feature_column_ids_string_column_bad_values(values, error, pattern):
    column = fc.categorical_column_with_vocabulary_list("occupation", ["a", "b"])
    with pytest.raises(error, match=pattern):
        feature_column_ids(column, values)


@pytest.mark.parametrize(
    ("values", "error", "pattern"),
    [
        ([1.9, 2.0], TypeError, "non-integer"),
        ([1.0, 2.0], TypeError, "floats"),
        ([True, False], TypeError, "booleans"),
        (["1", "2"], TypeError, "strings"),
        ([1, np.nan], ValueError, "NaN"),
    ],
)
def test_feature_column_ids_integer_column_never_coerces(values, error, pattern):
    identity = fc.categorical_column_with_identity("movie", num_buckets=10)
    with pytest.raises(error, match=pattern):
        feature_column_ids(identity, values)


@pytest.mark.parametrize("values", [[20, np.nan], [np.inf], ["20"], [True]])
def test_feature_column_ids_bucketized_column_needs_finite_numbers(values):
    ages = fc.bucketized_column(fc.numeric_column("age"), boundaries=[18, 25])
    with pytest.raises((TypeError, ValueError), match="values"):
        feature_column_ids(ages, values)


def test_feature_column_ids_refuses_non_categorical_and_crossed_columns():
    numeric = fc.numeric_column("age")
    with pytest.raises(TypeError, match="categorical feature column"):
        feature_column_ids(numeric, [1.0])
    with pytest.raises(TypeError, match="categorical feature column"):
        feature_column_ids("occupation", ["a"])
    crossed = fc.crossed_column(["a", "b"], hash_bucket_size=10)
    with pytest.raises(ValueError, match="single-input"):
        feature_column_ids(crossed, ["x"])


def test_feature_column_ids_refuses_a_huge_one_hot_matrix():
    identity = fc.categorical_column_with_identity("video", num_buckets=1_000_000)
    with pytest.raises(ValueError, match="too large"):
        feature_column_ids(identity, list(range(100)))
