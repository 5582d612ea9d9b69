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

from course_lib.checks import (
    Case,
    Exercise,
    Mistake,
    NotAttempted,
    error_text,
    expect_int,
    fit_in_model,
    is_blank,
    run_case,
    show,
    to_numpy,
)
from course_lib.checks import _kind as kind_of
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


def _q2_cases() -> list[Case]:
    import tensorflow as tf

    x, mask = _q2_inputs()
    rng = np.random.default_rng(22)
    x2 = (rng.normal(size=(3, 7, 2)) * 1e6).astype(np.float32)  # other sizes, values beyond any constant
    mask2 = np.array([[False] * 4 + [True] * 3, [True] * 7, [True, True] + [False] * 5])
    x3 = -np.abs(rng.normal(size=(2, 3, 4))).astype(np.float32) - 1.0  # every value negative
    mask3 = np.array([[True, False, False], [True, True, False]])
    return [
        Case({"x": tf.constant(x), "mask": tf.constant(mask)}, about="the test batch (rows padded at the end, at the front, not at all)"),
        Case({"x": tf.constant(x2), "mask": tf.constant(mask2)}, about="a (3, 7, 2) batch with large values"),
        Case({"x": tf.constant(x3), "mask": tf.constant(mask3)}, about="a (2, 3, 4) batch of negative values"),
    ]


def _graph_mode(function):
    """``function`` traced by tf.function, as Keras runs a layer's call inside fit()."""
    import tensorflow as tf

    def call(x, mask):
        return function(x, mask)

    traced = tf.function(call, reduce_retracing=True)

    def run(x, mask):
        return traced(x, mask)

    return run


def _check_q2(masked_mean) -> str | None:
    import tensorflow as tf

    if not callable(masked_mean) or inspect.isclass(masked_mean):
        raise Mistake(f"answer with the function itself (masked_mean, no parentheses), not {kind_of(masked_mean)}")
    for index, case in enumerate(_q2_cases()):
        x, mask = case.inputs["x"].numpy(), case.inputs["mask"].numpy()
        try:
            result = run_case(masked_mean, case, "masked_mean")
        except Mistake as mistake:
            error = str(mistake).split("your function raised", 1)
            if len(error) == 2 and "bool" in error[1]:
                raise Mistake(
                    f"{mistake}. A TF op received the bool mask: cast it to x.dtype (tf.cast(mask, x.dtype)) "
                    "before multiplying or summing"
                ) from None
            raise
        array = to_numpy(result, "the result")
        batch, steps, dim = x.shape
        if array.dtype == bool:
            raise case.fail("the result is boolean: cast the mask to x.dtype (tf.cast(mask, x.dtype)) before multiplying or summing")
        if array.shape == (batch, 1, dim):
            raise case.fail(f"the shape is {array.shape}: drop the time axis you kept (expected {(batch, dim)})")
        if array.shape == (batch, steps) and steps != dim:
            raise case.fail(f"wrong axis: the shape is {array.shape}, so you reduced the embedding axis; average over axis 1 (time) instead")
        if array.shape == (steps, dim) and steps != batch:
            raise case.fail(f"wrong axis: the shape is {array.shape}, so you averaged over the batch (axis 0); average over axis 1 (time)")
        if array.shape != (batch, dim):
            raise case.fail(f"the result has shape {array.shape}, expected (batch, dim) = {(batch, dim)}")
        expected, plain = padded_mean(x, mask)
        values = array.astype(np.float64)
        scale = max(1.0, float(np.abs(expected).max()))
        close = lambda a, b: np.allclose(a, b, atol=1e-5 * scale, rtol=1e-5)  # noqa: E731
        if close(values, expected):
            continue
        weights = mask.astype(np.float64)[..., None]
        masked_sum = (x * weights).sum(axis=1)
        inverted = (~mask).astype(np.float64)[..., None]
        with np.errstate(all="ignore"):
            inverted_mean = (x * inverted).sum(axis=1) / inverted.sum(axis=1)
        rows_ok = [r for r in range(batch) if (~mask[r]).any()]
        if rows_ok and np.allclose(values[rows_ok], inverted_mean[rows_ok], atol=1e-5 * scale):
            raise case.fail("you averaged the padding steps and skipped the real ones: in a Keras mask, True marks a real step")
        if close(values, plain):
            raise case.fail(f"this is the plain mean over all {steps} steps: the padding steps were averaged in. Multiply by the mask first")
        if close(values, masked_sum / steps):
            raise case.fail(
                f"you zeroed the padding but divided by the padded length ({steps}); divide each row by its own "
                "number of real steps (the mask summed over axis 1)"
            )
        if close(values, masked_sum):
            raise case.fail("that is the masked sum; divide each row by its number of real steps")
        if close(values, masked_sum / mask.sum()):
            raise case.fail("you divided by the number of real steps in the whole batch; count them per row (keepdims=True)")
        lengths = mask.sum(axis=1)
        first_n = np.stack([x[r, : max(lengths[r], 1)].mean(axis=0) for r in range(batch)])
        if close(values, first_n):
            raise case.fail(
                "you averaged the first n steps of each row (n = its number of real steps); a row padded at the front "
                "has its real steps at the end: use the mask itself, not the lengths"
            )
        worst = float(np.max(np.abs(values - expected)))
        raise case.fail(f"the shape is right but the numbers differ from the masked mean (largest difference {worst:.3g})")
    case = _q2_cases()[0]
    graph_case = Case(case.inputs, about="the test batch inside a Keras layer (graph mode, as in fit)")
    try:
        result = run_case(_graph_mode(masked_mean), graph_case, "masked_mean")
    except Mistake as mistake:
        raise Mistake(
            f"{mistake}. Your function works on eager tensors, but Keras runs a layer's call as a graph: use tf (or "
            "keras.ops) functions only, no .numpy() or NumPy calls"
        ) from None
    expected, _ = padded_mean(*_q2_inputs())
    if not np.allclose(to_numpy(result, "the result").astype(np.float64), expected, atol=1e-5):
        raise graph_case.fail("the numbers differ from the masked mean when run as a graph")
    return None


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


def _q3_second_batch() -> tuple[np.ndarray, np.ndarray]:
    """Another (2, 5, 1) batch: real 0.0 and negative values, a row padded at the front."""
    batch = np.array([[[Q3_PAD_VALUE], [Q3_PAD_VALUE], [0.0], [-2.0], [0.0]], [[2.0], [0.0], [0.0], [-1.0], [Q3_PAD_VALUE]]], np.float32)
    return batch, batch[..., 0] != Q3_PAD_VALUE


def _mask_from_layer(layer, batch, case: Case):
    import tensorflow as tf

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            output = layer(tf.constant(batch))
    except Exception as exc:  # noqa: BLE001
        raise case.fail(f"calling your layer raised {error_text(exc)}") from None
    mask = getattr(output, "_keras_mask", None)
    if mask is None and hasattr(layer, "compute_mask"):
        try:
            mask = layer.compute_mask(tf.constant(batch))
        except Exception:  # noqa: BLE001
            mask = None
    return mask


def _check_q3(layer) -> str | None:
    import keras

    if inspect.isclass(layer):
        raise Mistake(f"that is the class {layer.__name__}; make a layer by calling it: {layer.__name__}(mask_value=...)")
    if not isinstance(layer, keras.layers.Layer):
        raise Mistake(f"expected a Keras layer (e.g. keras.layers.Masking(...)), got {kind_of(layer)}")
    first, first_mask = _q3_batch()
    second, second_mask = _q3_second_batch()
    for batch, expected, about in ((first, first_mask, "the centred test batch"), (second, second_mask, "a batch padded at the front")):
        case = Case({"x": batch}, about=about)
        mask = _mask_from_layer(layer, batch, case)
        if mask is None:
            raise case.fail("your layer attaches no mask to its output; keras.layers.Masking does")
        mask = to_numpy(mask, "the mask").astype(bool)
        if mask.shape != expected.shape:
            raise case.fail(f"the mask has shape {mask.shape}, expected (batch, time) = {expected.shape}")
        if np.array_equal(mask, expected):
            continue
        values = batch[..., 0]
        real_zeros = int(np.sum(expected & (values == 0.0)))
        if np.array_equal(mask, expected & (values != 0.0)) or np.array_equal(mask, values != 0.0):
            raise case.fail(
                f"your mask hides the {real_zeros} real 3-star ratings (0.0 after centring): "
                f"0.0 is a real value here. Mask the value the sequences were padded with ({Q3_PAD_VALUE})"
            )
        if np.array_equal(mask, ~expected):
            raise case.fail("your mask is inverted: True must mark the real steps, False the padding")
        if mask.all():
            raise case.fail(f"your mask keeps every step, padding included: mask_value must equal the padding value {Q3_PAD_VALUE}")
        raise case.fail(f"your mask differs from the padding pattern; the sequences were padded with {Q3_PAD_VALUE}")
    return None


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


def _q4_deep_inputs():
    """Ids (2, 4) and a table whose real values lie far below any 'very negative' constant (-1e30)."""
    ids = np.array([[1, 2, 0, 0], [0, 3, 1, 0]], dtype=np.int32)
    table = np.array([[9.0, 9.0], [-1e30, -3e30], [-2e30, -1e30], [-5e29, -2e31]], dtype=np.float32)
    return ids, table


def _embedding_for(table: np.ndarray):
    import keras

    return keras.layers.Embedding(
        len(table), table.shape[1], mask_zero=True, embeddings_initializer=keras.initializers.Constant(table)
    )


def _make_layer(answer):
    import keras

    if inspect.isclass(answer):
        if not issubclass(answer, keras.layers.Layer):
            raise Mistake(f"{answer.__name__} should subclass keras.layers.Layer")
        try:
            return answer()
        except Exception as exc:  # noqa: BLE001
            raise Mistake(f"{answer.__name__}() should work without arguments; it raised {error_text(exc)}") from None
    if isinstance(answer, keras.layers.Layer):
        return answer
    raise Mistake(f"expected your layer class (MaskedMaxPooling), got {kind_of(answer)}")


def _run_pooling(answer, ids, table, case: Case):
    layer = _make_layer(answer)
    embedded = _embedding_for(table)(ids)
    keras_mask = embedded._keras_mask
    # The lesson's stub leaves `return ...` in call and compute_mask: look before Keras trips over it.
    try:
        takes_mask = "mask" in inspect.signature(layer.call).parameters
        raw = layer.call(embedded, mask=keras_mask) if takes_mask else layer.call(embedded)
    except Exception:  # noqa: BLE001 - e.g. a layer that must be built first; the real call below reports errors
        raw = None
    if raw is Ellipsis:
        raise NotAttempted
    try:
        stub_mask = layer.compute_mask(embedded, keras_mask)
    except Exception:  # noqa: BLE001
        stub_mask = None
    if stub_mask is Ellipsis:
        raise Mistake("compute_mask still returns `...`: what mask should a (batch, dim) output carry, now that the time axis is gone?")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            output = layer(embedded)
        except Exception as exc:  # noqa: BLE001
            raise case.fail(f"calling your layer raised {error_text(exc)}") from None
    if output is None:
        raise case.fail("your layer's call returned None: did you forget the `return` statement?")
    if is_blank(output):
        raise NotAttempted
    return layer, output, caught


def _check_q4(answer) -> str | None:
    note = None
    mask_cases = [
        (*_q4_inputs(), "the test batch (padding row 9.0 everywhere, dimension 1 all negative)"),
        (*_q4_deep_inputs(), "real values near -1e30, below any 'very negative' constant"),
    ]
    for ids, table, about in mask_cases:
        case = Case({"ids": ids}, about=about)
        layer, output, caught = _run_pooling(answer, ids, table, case)
        values = to_numpy(output, "your layer's output").astype(np.float64)
        mask = ids != 0
        vectors = table[ids].astype(np.float64)
        expected = np.where(mask[..., None], vectors, -np.inf).max(axis=1)
        if values.shape == (ids.shape[0], ids.shape[1]) and ids.shape[1] != table.shape[1]:
            raise case.fail(f"wrong axis: the output has shape {values.shape}; take the max over axis 1 (time), not over the features")
        if values.shape != expected.shape:
            raise case.fail(f"the output has shape {values.shape}, expected (batch, dim) = {expected.shape}")
        if not np.allclose(values, expected, rtol=1e-6, atol=1e-6):
            if np.allclose(values, vectors.max(axis=1)):
                raise case.fail(
                    "the padding steps took part in the max (the padding row is 9.0 everywhere). "
                    "Does `call` take a `mask` argument, and do you use it?"
                )
            if np.allclose(values, np.where(mask[..., None], vectors, 0.0).max(axis=1)):
                raise case.fail(
                    "you replaced the padding by 0 before the max: where all real values are negative, 0 wins. "
                    "Use the most negative number of the dtype (x.dtype.min) or -inf"
                )
            padded_rows = ~mask.all(axis=1)
            if np.all(values[padded_rows] > expected[padded_rows]) and np.all(values[padded_rows] < 0):
                raise case.fail(
                    f"the padding won the max with a 'very negative' constant ({show(values[padded_rows].max())}): real values can "
                    "be lower still. Use the most negative number of the dtype (x.dtype.min) or -inf"
                )
            padded = ~mask.all(axis=1)
            over_padding = np.where(~mask[..., None], vectors, -np.inf).max(axis=1)
            if padded.any() and np.allclose(values[padded], over_padding[padded]):
                raise case.fail("you took the max over the padding steps only: in a Keras mask, True marks a real step")
            worst = float(np.max(np.abs(values - expected)))
            raise case.fail(f"the output differs from the max over the real steps (largest difference {worst:.3g})")
        if getattr(output, "_keras_mask", None) is not None:
            raise case.fail(
                "the numbers are right, but a (batch, time) mask is still attached to your (batch, dim) output. "
                "A pooling layer consumes the mask: make compute_mask return None"
            )
        if any("does not support masking" in str(w.message) for w in caught):
            note = "(Keras warned that your layer does not support masking: set self.supports_masking = True in __init__.)"
    ids, table = _q4_inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_in_model(_make_layer(answer), ids, before=[_embedding_for(table)], what="your MaskedMaxPooling")
    return note


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
