"""Exercises of lesson 02 (padding and masking): ``from course_lib.exercises.lesson02 import q1, q2, q3, q4``.

- ``q1``: how many rows (``input_dim``) an Embedding needs for a vocabulary with a padding
  id 0, an out-of-vocabulary (OOV) id 1 and one id per frequent title word;
- ``q2``: a function ``masked_mean(x, mask)`` that averages only the real steps;
- ``q3``: a ``Masking`` layer for float sequences in which 0.0 is a real value;
- ``q4``: a custom layer ``MaskedMaxPooling`` that takes the maximum over the real steps only.

The checkers build their own test inputs, so they do not depend on notebook state.
Importing this module does not import TensorFlow; the checks of q2-q4 do.
"""

from __future__ import annotations

import collections
import functools
import inspect
import warnings

import numpy as np

from course_lib.checks import Exercise, Mistake, NotAttempted, expect_int, is_blank, show, to_numpy
from course_lib.masking import padded_mean

#: Value used to pad the centred rating sequences of q3 (ratings minus 3 stars lie in -2 .. 2).
Q3_PAD_VALUE = -9.0

#: In q1, a word gets its own id when it occurs at least this many times in all titles together.
Q1_MIN_COUNT = 2


# ----------------------------------------------------------------------------- q1


@functools.lru_cache(maxsize=1)
def _title_word_counts() -> collections.Counter:
    from course_lib.datasets import load_movielens
    from course_lib.text import title_words

    titles = load_movielens("100k").movies.title
    return collections.Counter(word for title in titles for word in title_words(title))


def q1_expected() -> dict:
    """The numbers behind q1: ``vocabulary`` (distinct title words), ``frequent`` (words with at
    least :data:`Q1_MIN_COUNT` occurrences) and ``input_dim`` (``frequent`` + 2)."""
    counts = _title_word_counts()
    frequent = sum(1 for n in counts.values() if n >= Q1_MIN_COUNT)
    return {
        "vocabulary": len(counts),
        "frequent": frequent,
        "more_than_twice": sum(1 for n in counts.values() if n > Q1_MIN_COUNT),
        "input_dim": frequent + 2,
    }


def _check_q1(answer) -> str:
    raw = answer.numpy() if hasattr(answer, "numpy") else answer
    if isinstance(raw, (float, np.floating)) or (isinstance(raw, np.ndarray) and raw.dtype.kind == "f"):
        raise Mistake(
            f"{show(answer)} is a float, and Keras refuses a float input_dim (it counts rows): "
            "use int(...) or integer arithmetic (len(...) + 2)"
        )
    value = expect_int(answer, "input_dim")
    numbers = q1_expected()
    expected, frequent, everything = numbers["input_dim"], numbers["frequent"], numbers["vocabulary"]
    if value == expected:
        return f"{frequent} frequent words + the padding row (id 0) + the OOV row (id 1) = {expected} rows."
    if value == frequent:
        raise Mistake(
            f"{value} gives every frequent word a row, but none is left for the padding id 0 or the OOV id 1. "
            "Ids run from 0 up to the largest id, and the table needs one row per id"
        )
    if value == frequent + 1:
        raise Mistake(
            f"one row short: with {value} rows the Embedding accepts ids 0 .. {value - 1}, "
            f"but the largest id here is {expected - 1} (the frequent words start after padding 0 and OOV 1)"
        )
    if value == frequent + 3:
        raise Mistake("one row too many: padding (id 0) and OOV (id 1) are the only two extra rows")
    if value in (everything, everything + 1, everything + 2):
        raise Mistake(
            f"{value} counts all {everything} distinct title words; only words that occur at least "
            f"{Q1_MIN_COUNT} times get their own id, the rare ones share the OOV id"
        )
    if value in (numbers["more_than_twice"] + 2, numbers["more_than_twice"] + 1):
        raise Mistake(f"words that occur exactly {Q1_MIN_COUNT} times count as frequent too (at least {Q1_MIN_COUNT})")
    if value <= 0:
        raise Mistake("a table needs a positive number of rows")
    raise Mistake(
        f"{value} is not the number of rows this table needs. Count the words of `word_counts` that occur "
        f"at least {Q1_MIN_COUNT} times, then add the rows of the special ids"
    )


q1 = Exercise(
    "q1",
    "input_dim with a padding id and an OOV id",
    _check_q1,
    hint="""
    Ids: 0 = padding, 1 = OOV (every rare word), 2, 3, ... = one per word that occurs at least twice.
    An Embedding with input_dim rows accepts ids 0 .. input_dim - 1. What is the largest id?
    """,
    solution="""
    frequent = [word for word, n in word_counts.items() if n >= 2]
    input_dim = len(frequent) + 2   # + padding row (id 0) + OOV row (id 1)
    """,
)


# ----------------------------------------------------------------------------- q2


def _q2_inputs():
    """Float32 (4, 5, 3) vectors and a bool (4, 5) mask: post-padded, full, one-step and pre-padded rows."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 5, 3)).astype(np.float32)
    mask = np.array(
        [
            [True, True, False, False, False],
            [True, True, True, True, True],
            [True, False, False, False, False],
            [False, False, True, True, True],
        ]
    )
    x[~mask] += 3.0  # padding vectors far from the real ones, as the padding row of a trained table can be
    return x, mask


def _is_bool_dtype_error(exc: Exception) -> bool:
    text = str(exc)
    return "bool" in text and ("Mul" in text or "expected to be a" in text or "attr 'T'" in text or "dtype" in text)


def _check_q2(masked_mean) -> str | None:
    import tensorflow as tf

    if not callable(masked_mean):
        raise Mistake(f"answer with the function itself (masked_mean, no parentheses), not a {type(masked_mean).__name__}")
    x, mask = _q2_inputs()
    note = None
    try:
        result = masked_mean(tf.constant(x), tf.constant(mask))
    except Exception as exc:  # noqa: BLE001 - we sort the learner's errors into hints
        if _is_bool_dtype_error(exc):
            raise Mistake(
                "a TF op received the bool mask: cast it to x.dtype (tf.cast(mask, x.dtype)) "
                "before multiplying or summing"
            ) from None
        try:  # a NumPy-only answer (x.sum(axis=1), ...) is still a correct masked mean
            result = masked_mean(x, mask)
        except Exception:  # noqa: BLE001
            raise exc from None
        note = "(It works on NumPy arrays; inside a Keras layer use tf or keras.ops functions, which accept tensors.)"
    if is_blank(result):
        raise NotAttempted
    array = to_numpy(result, "the result")
    batch, steps, dim = x.shape
    if array.dtype == bool:
        raise Mistake(
            "the result is boolean: cast the mask to x.dtype (tf.cast(mask, x.dtype)) before "
            "multiplying or summing"
        )
    if array.shape == (batch, 1, dim):
        raise Mistake(f"the shape is {array.shape}: drop the time axis you kept (expected {(batch, dim)})")
    if array.shape == (batch, steps):
        raise Mistake(f"wrong axis: the shape is {array.shape}, so you reduced the embedding axis; average over axis 1 (time) instead")
    if array.shape == (steps, dim):
        raise Mistake(f"wrong axis: the shape is {array.shape}, so you averaged over the batch (axis 0); average over axis 1 (time)")
    if array.shape != (batch, dim):
        raise Mistake(f"the result has shape {array.shape}, expected (batch, dim) = {(batch, dim)}")
    expected, plain = padded_mean(x, mask)
    values = array.astype(np.float64)
    if np.allclose(values, expected, atol=1e-5):
        return note
    weights = mask.astype(np.float64)[..., None]
    masked_sum = (x * weights).sum(axis=1)
    if np.allclose(values, plain, atol=1e-5):
        raise Mistake("this is the plain mean over all 5 steps: the padding steps were averaged in. Multiply by the mask first")
    if np.allclose(values, masked_sum / steps, atol=1e-5):
        raise Mistake(
            "you zeroed the padding but divided by the padded length (5); divide each row by its own "
            "number of real steps (the mask summed over axis 1)"
        )
    if np.allclose(values, masked_sum, atol=1e-5):
        raise Mistake("that is the masked sum; divide each row by its number of real steps")
    if np.allclose(values, masked_sum / mask.sum(), atol=1e-5):
        raise Mistake("you divided by the number of real steps in the whole batch; count them per row (keepdims=True)")
    if np.allclose(values, x[:, :2].mean(axis=1), atol=1e-5) or any(
        np.allclose(values[3], x[3, :k].mean(axis=0), atol=1e-5) for k in range(1, steps + 1)
    ):
        raise Mistake("row 4 of the test batch is padded at the front: use the mask itself, not the first n steps")
    worst = float(np.max(np.abs(values - expected)))
    raise Mistake(f"the shape is right but the numbers differ from the masked mean (largest difference {worst:.3g})")


q2 = Exercise(
    "q2",
    "masked mean by hand",
    _check_q2,
    hint="""
    Turn the mask into numbers (tf.cast(mask, x.dtype)), give it a feature axis (mask[..., None])
    so it multiplies every embedding dimension, sum over axis 1, and divide by the number of real
    steps of each row: tf.reduce_sum(tf.cast(mask, x.dtype), axis=1, keepdims=True).
    """,
    solution="""
    def masked_mean(x, mask):
        weights = tf.cast(mask, x.dtype)[:, :, None]          # (batch, time, 1)
        return tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(weights, axis=1)
    """,
)


# ----------------------------------------------------------------------------- q3


def _q3_batch() -> tuple[np.ndarray, np.ndarray]:
    """Centred ratings (stars - 3) of three users, padded with Q3_PAD_VALUE: (3, 6, 1) float32, and the true mask."""
    centred = [[1.0, 0.0, -2.0, 2.0], [0.0, 0.0, 1.0, -1.0, 2.0, 0.0], [-1.0, 0.0]]
    steps = max(map(len, centred))
    batch = np.full((len(centred), steps, 1), Q3_PAD_VALUE, dtype=np.float32)
    mask = np.zeros((len(centred), steps), dtype=bool)
    for row, values in enumerate(centred):
        batch[row, : len(values), 0] = values
        mask[row, : len(values)] = True
    return batch, mask


def _mask_from_layer(layer, batch):
    import tensorflow as tf

    if inspect.isclass(layer):
        raise Mistake(f"that is the class {layer.__name__}; make a layer by calling it: {layer.__name__}(mask_value=...)")
    if hasattr(layer, "compute_mask") and callable(layer.compute_mask):
        try:
            return layer.compute_mask(tf.constant(batch))
        except TypeError:
            pass
    if not callable(layer):
        raise Mistake(f"expected a Keras layer, got {type(layer).__name__}")
    return getattr(layer(tf.constant(batch)), "_keras_mask", None)


def _check_q3(layer) -> str | None:
    batch, expected = _q3_batch()
    mask = _mask_from_layer(layer, batch)
    if mask is None:
        raise Mistake("your layer attaches no mask to its output; keras.layers.Masking does")
    mask = to_numpy(mask, "the mask").astype(bool)
    if mask.shape != expected.shape:
        raise Mistake(f"the mask has shape {mask.shape}, expected (batch, time) = {expected.shape}")
    if np.array_equal(mask, expected):
        return None
    real_zeros = int(np.sum(expected & (batch[..., 0] == 0.0)))
    if np.array_equal(mask, expected & (batch[..., 0] != 0.0)) or np.array_equal(mask, batch[..., 0] != 0.0):
        raise Mistake(
            f"your mask hides the {real_zeros} real 3-star ratings (0.0 after centring) in the test batch: "
            f"0.0 is a real value here. Mask the value the sequences were padded with ({Q3_PAD_VALUE})"
        )
    if mask.all():
        raise Mistake(f"your mask keeps every step, padding included: mask_value must equal the padding value {Q3_PAD_VALUE}")
    raise Mistake(f"your mask differs from the padding pattern; the sequences were padded with {Q3_PAD_VALUE}")


q3 = Exercise(
    "q3",
    "a Masking layer when 0.0 is a real value",
    _check_q3,
    hint=f"""
    keras.layers.Masking hides a step when every feature equals its mask_value (default 0.0).
    Which value did pad_sequences write into the empty slots of `centred`? ({Q3_PAD_VALUE})
    """,
    solution=f"""
    masking = keras.layers.Masking(mask_value={Q3_PAD_VALUE})
    """,
)


# ----------------------------------------------------------------------------- q4


def _q4_inputs():
    """Ids (3, 5), an embedding table whose padding row is large and whose dimension 1 is all negative."""
    ids = np.array([[3, 1, 0, 0, 0], [2, 4, 5, 1, 3], [0, 0, 0, 5, 2]], dtype=np.int32)
    table = np.array(
        [
            [9.0, 9.0, 9.0],  # row 0: what the padding looks up (would win any unmasked max)
            [0.5, -2.0, 1.0],
            [-1.0, -0.5, 2.0],
            [2.0, -1.5, -3.0],
            [1.5, -3.0, 0.0],
            [-0.5, -0.25, -1.0],
        ],
        dtype=np.float32,
    )
    return ids, table


def _check_q4(answer) -> str | None:
    import keras

    layer = answer
    if inspect.isclass(answer):
        if not issubclass(answer, keras.layers.Layer):
            raise Mistake(f"{answer.__name__} should subclass keras.layers.Layer")
        try:
            layer = answer()
        except TypeError as exc:
            raise Mistake(f"{answer.__name__}() should work without arguments ({exc})") from None
    if not isinstance(layer, keras.layers.Layer):
        raise Mistake(f"expected your layer class (MaskedMaxPooling), got {type(answer).__name__}")
    ids, table = _q4_inputs()
    embedding = keras.layers.Embedding(len(table), table.shape[1], mask_zero=True,
                                       embeddings_initializer=keras.initializers.Constant(table))  # fmt: skip
    embedded = embedding(ids)
    keras_mask = embedded._keras_mask
    # The lesson's stub leaves `return ...` in call and compute_mask: look before Keras trips over it.
    try:
        takes_mask = "mask" in inspect.signature(layer.call).parameters
        raw = layer.call(embedded, mask=keras_mask) if takes_mask else layer.call(embedded)
    except Exception:  # noqa: BLE001 - e.g. a layer that must be built first; the real call below reports errors
        raw = None
    if is_blank(raw) and raw is not None:
        raise NotAttempted
    try:
        stub_mask = layer.compute_mask(embedded, keras_mask)
    except Exception:  # noqa: BLE001
        stub_mask = None
    if is_blank(stub_mask) and stub_mask is not None:
        raise Mistake("compute_mask still returns `...`: what mask should a (batch, dim) output carry, now that the time axis is gone?")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        output = layer(embedded)
    if is_blank(output):
        raise NotAttempted
    values = to_numpy(output, "your layer's output").astype(np.float64)
    mask = ids != 0
    vectors = table[ids].astype(np.float64)
    expected = np.where(mask[..., None], vectors, -np.inf).max(axis=1)
    if values.shape == (ids.shape[0], ids.shape[1]):
        raise Mistake(f"wrong axis: the output has shape {values.shape}; take the max over axis 1 (time), not over the features")
    if values.shape != expected.shape:
        raise Mistake(f"the output has shape {values.shape}, expected (batch, dim) = {expected.shape}")
    if not np.allclose(values, expected, atol=1e-6):
        if np.allclose(values, vectors.max(axis=1)):
            raise Mistake(
                "the padding steps took part in the max (in the test batch the padding row is 9.0 everywhere). "
                "Does `call` take a `mask` argument, and do you use it?"
            )
        if np.allclose(values, np.where(mask[..., None], vectors, 0.0).max(axis=1)):
            raise Mistake(
                "you replaced the padding by 0 before the max: where all real values are negative, 0 wins. "
                "Use a very negative number instead (x.dtype.min, or -inf)"
            )
        worst = float(np.max(np.abs(values - expected)))
        raise Mistake(f"the output differs from the max over the real steps (largest difference {worst:.3g})")
    if getattr(output, "_keras_mask", None) is not None:
        raise Mistake(
            "the numbers are right, but a (batch, time) mask is still attached to your (batch, dim) output. "
            "A pooling layer consumes the mask: make compute_mask return None"
        )
    if any("does not support masking" in str(w.message) for w in caught):
        return "(Keras warned that your layer does not support masking: set self.supports_masking = True in __init__.)"
    return None


q4 = Exercise(
    "q4",
    "a max-pooling layer that respects the mask",
    _check_q4,
    hint="""
    Give `call` a `mask=None` argument: Keras passes the mask in. Use tf.where(mask[:, :, None], x, very_negative)
    before tf.reduce_max(..., axis=1), and make compute_mask return None (the time axis is gone).
    """,
    solution="""
    class MaskedMaxPooling(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, x, mask=None):
            if mask is not None:
                x = tf.where(mask[:, :, None], x, x.dtype.min)
            return tf.reduce_max(x, axis=1)

        def compute_mask(self, x, mask=None):
            return None
    """,
)

__all__ = ["q1", "q2", "q3", "q4", "Q3_PAD_VALUE", "Q1_MIN_COUNT", "q1_expected"]
