"""Helpers for lesson 06 (feature columns versus Keras layers).

- :class:`MaskedPooling`: the Keras 3 layer that does what an ``embedding_column`` combiner
  (``"mean"``, ``"sqrtn"``, ``"sum"``) does to a multi-valued feature;
- :func:`feature_column_ids`: the integer id a categorical feature column assigns to each value,
  so a lesson can put it next to the id a Keras lookup layer assigns.

Importing this module imports TensorFlow and Keras: call ``course_lib.setup_notebook()`` first.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
from keras import ops

from course_lib import validation as v

#: The combiners ``tf.feature_column.embedding_column`` accepts, in its documentation's order.
COMBINERS = ("mean", "sqrtn", "sum")

#: Largest ``len(values) * num_buckets`` :func:`feature_column_ids` builds a one-hot matrix for.
_MAX_INDICATOR_CELLS = 20_000_000


@keras.saving.register_keras_serializable(package="course_lib")
class MaskedPooling(keras.layers.Layer):
    """Pool a padded sequence of vectors into one vector, counting only unmasked steps.

    The Keras 3 counterpart of the ``combiner`` of ``tf.feature_column.embedding_column``
    (source: the ``combiner`` argument of ``tf.nn.safe_embedding_lookup_sparse``). With ``n``
    unmasked steps in a row and ``s`` the sum of their vectors, the output is ``s / n``
    (``"mean"``), ``s / sqrt(n)`` (``"sqrtn"``) or ``s`` (``"sum"``). A row with no unmasked step
    gives a vector of zeros, as the feature column does (``keras.layers.GlobalAveragePooling1D``
    gives NaN there).

    Input: float tensor of shape ``(batch, steps, dim)``, e.g. the output of
    ``Embedding(..., mask_zero=True)``; the mask (bool, ``(batch, steps)``) arrives with it
    through Keras masking, or is passed as ``mask=``. Without a mask every step counts.
    Output: shape ``(batch, dim)``, same dtype as the input; the mask stops here.

    Args:
        combiner: ``"mean"``, ``"sqrtn"`` or ``"sum"``.

    Raises:
        ValueError: ``combiner`` is not one of :data:`COMBINERS`; the input does not have rank 3;
            or a mask passed with ``mask=`` does not have the input's ``(batch, steps)`` shape.
        TypeError: the input is not floating point (e.g. integer ids fed in directly instead
            of through an ``Embedding``).
    """

    def __init__(self, combiner: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if not (isinstance(combiner, str) and combiner in COMBINERS):
            raise ValueError(f"combiner must be one of {COMBINERS}, got {combiner!r}: these are the combiners of "
                             "tf.feature_column.embedding_column ('mean' is its default)")
        self.combiner = combiner
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"MaskedPooling expects vectors of shape (batch, steps, dim), got shape {tuple(input_shape)}; "
                "feed it the output of an Embedding called on (batch, steps) ids"
            )

    def __call__(self, inputs, *args, **kwargs):
        # Checked here, before Keras wraps errors raised in call() in a long notice.
        self._check_inputs(inputs, kwargs.get("mask", args[0] if args else None))
        return super().__call__(inputs, *args, **kwargs)

    @staticmethod
    def _check_inputs(inputs, mask):
        dtype = keras.backend.standardize_dtype(getattr(inputs, "dtype", None) or np.asarray(inputs).dtype)
        shape = tuple(getattr(inputs, "shape", np.shape(inputs)))
        if "float" not in dtype:
            raise TypeError(
                f"MaskedPooling expects float vectors of shape (batch, steps, dim), got {dtype} values of shape "
                f"{shape}; look the ids up with an Embedding first and pool its output"
            )
        if mask is not None:
            mask_shape, wanted = tuple(getattr(mask, "shape", np.shape(mask))), shape[:-1]
            if len(mask_shape) != 2 or any(m is not None and w is not None and m != w for m, w in zip(mask_shape, wanted)):
                raise ValueError(
                    f"mask has shape {mask_shape}, but the vectors of shape {shape} need a mask of shape {wanted} "
                    "(one True/False per step); pass Embedding.compute_mask(ids) for the same ids"
                )

    def call(self, inputs, mask=None):
        vectors = ops.convert_to_tensor(inputs)
        if mask is None:
            weights = ops.ones(ops.shape(vectors)[:-1], dtype=vectors.dtype)
        else:
            weights = ops.cast(mask, vectors.dtype)
        total = ops.sum(vectors * ops.expand_dims(weights, -1), axis=1)
        if self.combiner == "sum":
            return total
        count = ops.sum(weights, axis=1, keepdims=True)
        scale = count if self.combiner == "mean" else ops.sqrt(count)
        return ops.divide_no_nan(total, scale)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "combiner": self.combiner}


def feature_column_ids(column, values: Sequence) -> np.ndarray:
    """The id a categorical feature column gives each value (``-1`` where it drops the value).

    Works for the single-input categorical columns of ``tf.feature_column``
    (``categorical_column_with_vocabulary_list`` / ``_with_vocabulary_file`` /
    ``_with_identity`` / ``_with_hash_bucket``, and ``bucketized_column``). It runs the
    column's own code through public APIs only: an ``indicator_column`` in a
    ``tf_keras.layers.DenseFeatures`` layer, then the position of the 1 in each one-hot row.
    A value the column maps to no id (an out-of-vocabulary value when ``default_value=-1``, the
    default) gives a row of zeros, reported as ``-1``.

    Args:
        column: a categorical feature column.
        values: one value per example (1-D: list, tuple or array), of the column's input type:
            str for string columns, int for identity columns, a number for bucketized columns.

    Returns:
        ``np.ndarray`` of int64, shape ``(len(values),)``.

    Raises:
        TypeError: ``column`` is not a categorical feature column, or the values do not have
            the column's input type: strings for a string column, integers (never floats,
            booleans or strings) for an integer column, real numbers for a bucketized column.
        ValueError: ``values`` is not 1-D (a single value: wrap it in a list), holds NaN or
            infinity for a bucketized column, the column reads more than one input feature
            (e.g. ``crossed_column``), or ``len(values) * num_buckets`` exceeds 20 million
            (the one-hot matrix would not fit comfortably in memory).
    """
    import tensorflow as tf
    import tf_keras

    if not (hasattr(column, "num_buckets") and hasattr(column, "parse_example_spec")):
        raise TypeError(
            f"expected a categorical feature column (tf.feature_column.categorical_column_with_* or "
            f"bucketized_column), got {type(column).__name__}"
        )
    spec = column.parse_example_spec
    if len(spec) != 1:
        raise ValueError(f"{type(column).__name__} reads {len(spec)} input features; pass a single-input column")
    (key, feature_spec), = spec.items()
    hint = f"column {key!r} reads one value per example"
    if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        raise ValueError(f"values must be 1-D (one value per example), got the single value {values!r}: "
                         f"wrap it in a list, e.g. [{values!r}]")
    if feature_spec.dtype.is_integer:
        array = v.check_ids(values, "values", minimum=np.iinfo(np.int64).min, ndim=1,
                            hint=f"{hint}, an integer")
    elif feature_spec.dtype.is_floating:
        array = v.check_finite(values, "values", ndim=1, hint=f"{hint}, a number")
    else:
        array = np.asarray(values, dtype=object)
        if array.ndim != 1:
            raise ValueError(f"values must be 1-D (one value per example), got shape {array.shape}")
        wrong = [x for x in array.tolist() if not isinstance(x, (str, bytes))]
        if wrong:
            raise TypeError(f"column {key!r} expects values of dtype string, got {type(wrong[0]).__name__} values "
                            f"such as {wrong[0]!r}: pass strings, e.g. [str(x) for x in values]")
    if array.size * column.num_buckets > _MAX_INDICATOR_CELLS:
        raise ValueError(
            f"{array.size} values x {column.num_buckets} buckets is too large a one-hot matrix; pass fewer values"
        )
    try:
        tensor = tf.constant(array.tolist(), dtype=feature_spec.dtype)
    except (TypeError, ValueError, tf.errors.InvalidArgumentError) as exc:
        first = array.tolist()[0] if array.size else None
        raise TypeError(
            f"column {key!r} expects values of dtype {feature_spec.dtype.name}, "
            f"got {type(first).__name__} values such as {first!r}"
        ) from exc
    one_hot = tf_keras.layers.DenseFeatures([tf.feature_column.indicator_column(column)])(
        {key: tf.reshape(tensor, (-1, 1))}
    ).numpy()
    ids = one_hot.argmax(axis=1).astype(np.int64)
    ids[one_hot.sum(axis=1) == 0] = -1
    return ids
