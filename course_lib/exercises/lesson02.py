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
import re
import warnings

import numpy as np

from course_lib.checks import (
    NUMBER_PITFALLS,
    Case,
    Exercise,
    Mistake,
    NotAttempted,
    Pitfall,
    describe,
    diagnose,
    explain_error,
    explained_error,
    facts,
    fallback,
    fit_function_in_model,
    fit_in_model,
    is_blank,
    is_tensor,
    read_number,
    run_case,
    run_in_graph,
    show,
    table_size_pitfalls,
    broadcast_shapes,
    function_advice,
    misplaced_feature_axis,
    missing_feature_axis,
    mixed_dtypes,
    tensor_advice,
    tensor_lacks,
    to_numpy,
    with_article,
)
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


def _q1_pitfalls() -> list[Pitfall]:
    def numbers():
        return q1_expected()

    def whole(f) -> bool:
        return float(f.value).is_integer()

    return [
        Pitfall("fractional", lambda f: not whole(f),
                lambda f: f"{show(f.answer)} is not a whole number; input_dim counts rows"),
        Pitfall("no-special-rows", lambda f: f.value == numbers()["frequent"],
                lambda f: f"{int(f.value)} gives every frequent word a row, but none is left for the padding id 0 or the "
                          "OOV id 1. Ids run from 0 up to the largest id, and the table needs one row per id"),
        Pitfall("one-row-short", lambda f: f.value == numbers()["frequent"] + 1,
                lambda f: f"one row short: with {int(f.value)} rows the Embedding accepts ids 0 .. {int(f.value) - 1}, but "
                          f"the largest id here is {numbers()['input_dim'] - 1} (the frequent words start after padding 0 "
                          "and OOV 1)"),
        Pitfall("one-row-too-many", lambda f: f.value == numbers()["frequent"] + 3,
                "one row too many: padding (id 0) and OOV (id 1) are the only two extra rows"),
        Pitfall("whole-vocabulary", lambda f: f.value in (numbers()["vocabulary"] + d for d in range(3)),
                lambda f: f"{int(f.value)} counts all {numbers()['vocabulary']} distinct title words; only words that "
                          f"occur at least {Q1_MIN_COUNT} times get their own id, the rare ones share the OOV id"),
        Pitfall("more-than-twice", lambda f: f.value in (numbers()["more_than_twice"] + 2, numbers()["more_than_twice"] + 1,
                                                         numbers()["more_than_twice"]),
                f"words that occur exactly {Q1_MIN_COUNT} times count as frequent too (at least {Q1_MIN_COUNT}: n >= 2, "
                "not n > 2)"),
        Pitfall("rare-words", lambda f: f.value in (numbers()["vocabulary"] - numbers()["frequent"] + d for d in range(3)),
                lambda f: f"{int(f.value)} counts the rare words (seen once); the words with their own id are the others, "
                          f"those seen at least {Q1_MIN_COUNT} times"),
        Pitfall("not-positive", lambda f: whole(f) and f.value <= 0, "a table needs a positive number of rows"),
    ]


_Q1_VALUE = _q1_pitfalls()
_Q1_TYPE = table_size_pitfalls(lambda: q1_expected()["input_dim"])


def _check_q1(answer) -> str:
    number = read_number(answer, "input_dim")
    found = facts(answer=answer, number=number, value=number.value)
    diagnose(_Q1_VALUE, found)
    numbers = q1_expected()
    expected, frequent = numbers["input_dim"], numbers["frequent"]
    if number.value != expected:
        raise fallback(f"{show(answer)} is not the number of rows this table needs",
                       f"count the words of `word_counts` that occur at least {Q1_MIN_COUNT} times, then add the rows "
                       "of the two special ids")
    diagnose(_Q1_TYPE, found)
    return f"{frequent} frequent words + the padding row (id 0) + the OOV row (id 1) = {expected} rows."


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
    mistakes=[*NUMBER_PITFALLS, *_Q1_VALUE, *_Q1_TYPE],
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
    x4 = rng.normal(size=(2, 4, 3)).astype(np.float32)  # a real step can be 0.0: a zero row (lesson 03's missing words)
    x4[0, 1] = 0.0
    mask4 = np.array([[True, True, True, False], [False, True, True, True]])
    x4[~mask4] += 3.0
    return [
        Case({"x": tf.constant(x), "mask": tf.constant(mask)}, about="the test batch (rows padded at the end, at the front, not at all)"),
        Case({"x": tf.constant(x2), "mask": tf.constant(mask2)}, about="a (3, 7, 2) batch with large values",
             extra={"later": True}),
        Case({"x": tf.constant(x3), "mask": tf.constant(mask3)}, about="a (2, 3, 4) batch of negative values",
             extra={"later": True}),
        Case({"x": tf.constant(x4), "mask": tf.constant(mask4)},
             about="a batch whose row 0 has a real step that is exactly 0.0 (step 1, a zero vector)", extra={"later": True}),
    ]


def _later_batch(f) -> bool:
    return f.case is not None and bool(f.case.extra.get("later"))


_Q2_ERRORS = [  # explain=: masked_mean raised
    Pitfall("bool-arithmetic", lambda f: "bool" in f.text and re.search(
            r"expected to be a \w+ tensor|allowed values|cannot compute|must be the same type|unsupported operand", f.text),
            "a TensorFlow op received the bool mask: cast it to x.dtype (tf.cast(mask, x.dtype)) before multiplying or "
            "summing"),
    Pitfall("missing-keepdims", lambda f: re.search(r"Incompatible shapes: \[(\d+),(\d+)\] vs\. \[\1\]", f.text),
            "the masked sum has shape (batch, dim) but the count of real steps (batch,): divide by a count that keeps "
            "its axis, tf.reduce_sum(weights, axis=1, keepdims=True) (or count[:, None])"),
    Pitfall("mask-axis-in-middle", lambda f: misplaced_feature_axis(f.text) is not None,
            lambda f: f"the mask's new axis went in the middle: a value of shape {misplaced_feature_axis(f.text)[0]} "
                      f"met x, of shape {misplaced_feature_axis(f.text)[1]}. Add the axis at the end, "
                      "tf.cast(mask, x.dtype)[:, :, None] (or [..., None]), so the weights are (batch, time, 1)"),
    Pitfall("missing-feature-axis", lambda f: missing_feature_axis(f.text) is not None,
            lambda f: f"a value of shape {missing_feature_axis(f.text)[0]}, (batch, time), met x, of shape "
                      f"{missing_feature_axis(f.text)[1]}: the mask (or the weights made from it) has no "
                      "feature axis. Give it one, tf.cast(mask, x.dtype)[:, :, None], so it multiplies every embedding "
                      "dimension"),
    Pitfall("dtype-mix", lambda f: mixed_dtypes(f.text) is not None and "bool" not in mixed_dtypes(f.text),
            lambda f: f"one operation got {with_article(mixed_dtypes(f.text)[0])} and {with_article(mixed_dtypes(f.text)[1])} value, and "
                      "TensorFlow never converts dtypes on its own (tf.math.count_nonzero counts in int64, tf.cast(mask, "
                      "tf.float64) makes float64): make the weights and the count in x's dtype, tf.cast(mask, x.dtype)"),
    Pitfall("numpy-method-on-tensor", lambda f: tensor_lacks(f.text) is not None,
            lambda f: f"the inputs x and mask are tensors, as Keras hands them to a layer: {tensor_advice(f.text)}"),
    Pitfall("fixed-sizes", lambda f: _later_batch(f) and ("Input to reshape" in f.text or broadcast_shapes(f.text))
            and missing_feature_axis(f.text) is None and misplaced_feature_axis(f.text) is None and not re.search(r"Incompatible shapes: \[(\d+),(\d+)\] vs\. \[\1\]", f.text),
            lambda f: f"it works on the first batch but not on this one, of other sizes: {explain_error(f.text)}. A layer "
                      "sees batches of every size, including a smaller last one"),
]


def _q2_facts(case: Case, array: np.ndarray) -> object:
    x, mask = case.inputs["x"].numpy(), case.inputs["mask"].numpy()
    batch, steps, dim = x.shape
    expected, plain = padded_mean(x, mask)
    weights = mask.astype(np.float64)[..., None]
    masked_sum = (x * weights).sum(axis=1)
    inverted = (~mask).astype(np.float64)[..., None]
    with np.errstate(all="ignore"):
        inverted_mean = (x * inverted).sum(axis=1) / inverted.sum(axis=1)
    lengths = mask.sum(axis=1)
    first_n = np.stack([x[r, : max(lengths[r], 1)].mean(axis=0) for r in range(batch)])
    with np.errstate(all="ignore"):  # what dividing by tf.math.count_nonzero of the zeroed vectors gives
        nonzero_mean = masked_sum / ((x * weights) != 0).sum(axis=1)
    values = array.astype(np.float64) if array.dtype.kind in "biuf" else None
    scale = max(1.0, float(np.abs(expected).max()))
    return facts(array=array, values=values, x=x, mask=mask, batch=batch, steps=steps, dim=dim, expected=expected,
                 plain=plain, masked_sum=masked_sum, inverted_mean=inverted_mean, first_n=first_n, scale=scale,
                 nonzero_mean=nonzero_mean,
                 rows_with_padding=[r for r in range(batch) if (~mask[r]).any()])


def _near(f, candidate) -> bool:
    return f.values is not None and f.values.shape == candidate.shape and bool(
        np.allclose(f.values, candidate, atol=1e-5 * f.scale, rtol=1e-5))


def _all_real_steps(f):
    """The mean of every real step of the batch, rows mixed (what tf.boolean_mask(x, mask) then a mean gives)."""
    return f.x[f.mask].astype(np.float64).mean(axis=0)


_Q2 = [
    Pitfall("all-real-steps", lambda f: f.values is not None and f.values.shape == (f.dim,)
            and np.allclose(f.values, _all_real_steps(f), atol=1e-5 * f.scale, rtol=1e-5),
            lambda f: f"the result has shape {f.array.shape}, one mean for the whole batch: tf.boolean_mask(x, mask) (or "
                      "x[mask]) puts the real steps of every row into one list, so the rows are mixed. Keep the rows "
                      "apart: multiply x by the mask, sum over axis 1 and divide by each row's count"),
    Pitfall("boolean-result", lambda f: f.array.dtype == bool,
            "the result is boolean: cast the mask to x.dtype (tf.cast(mask, x.dtype)) before multiplying or summing"),
    Pitfall("kept-time-axis", lambda f: f.array.shape == (f.batch, 1, f.dim),
            lambda f: f"the shape is {f.array.shape}: drop the time axis you kept (expected {(f.batch, f.dim)})"),
    Pitfall("reduced-features", lambda f: f.array.shape == (f.batch, f.steps) and f.steps != f.dim,
            lambda f: f"wrong axis: the shape is {f.array.shape}, so you reduced the embedding axis; average over axis "
                      "1 (time) instead"),
    Pitfall("reduced-batch", lambda f: f.array.shape == (f.steps, f.dim) and f.steps != f.batch,
            lambda f: f"wrong axis: the shape is {f.array.shape}, so you averaged over the batch (axis 0); average "
                      "over axis 1 (time)"),
    Pitfall("inverted-mask", lambda f: f.rows_with_padding and f.values is not None and f.values.shape == f.expected.shape
            and np.allclose(f.values[f.rows_with_padding], f.inverted_mean[f.rows_with_padding], atol=1e-5 * f.scale),
            "you averaged the padding steps and skipped the real ones: in a Keras mask, True marks a real step, so "
            "weight by the mask as it is (not ~mask or 1 - mask)"),
    Pitfall("plain-mean", lambda f: _near(f, f.plain),
            lambda f: f"this is the plain mean over all {f.steps} steps: the padding steps were averaged in. Multiply by "
                      "the mask first"),
    Pitfall("padded-length", lambda f: _near(f, f.masked_sum / f.steps),
            lambda f: f"you zeroed the padding but divided by the padded length ({f.steps}); divide each row by its own "
                      "number of real steps (the mask summed over axis 1)"),
    Pitfall("masked-sum", lambda f: _near(f, f.masked_sum),
            "that is the masked sum; divide each row by its number of real steps"),
    Pitfall("batch-count", lambda f: _near(f, f.masked_sum / f.mask.sum()),
            "you divided by the number of real steps in the whole batch; count them per row "
            "(tf.reduce_sum(weights, axis=1, keepdims=True))"),
    Pitfall("nonzero-count", lambda f: not _near(f, f.expected) and _near(f, f.nonzero_mean),
            "you divided by the number of non-zero values (tf.math.count_nonzero of the zeroed vectors), not by the "
            "number of real steps: a real step can be exactly 0.0 (here row 0, step 1), and it still counts. Count "
            "the mask, tf.reduce_sum(tf.cast(mask, x.dtype), axis=1, keepdims=True)"),
    Pitfall("first-n-steps", lambda f: _near(f, f.first_n),
            "you averaged the first n steps of each row (n = its number of real steps); a row padded at the front has "
            "its real steps at the end: use the mask itself, not the lengths"),
]


def _check_q2(masked_mean) -> str | None:
    import keras

    if not callable(masked_mean) or inspect.isclass(masked_mean):
        raise Mistake(f"expected the function masked_mean, got {describe(masked_mean)}: "
                      f"{function_advice(masked_mean, 'masked_mean')}", key="not-a-function")  # fmt: skip
    for case in _q2_cases():
        result = run_case(masked_mean, case, "masked_mean", explain=_Q2_ERRORS)
        found = _q2_facts(case, to_numpy(result, "the result"))
        if found.array.shape == found.expected.shape and _near(found, found.expected):
            continue
        diagnose(_Q2, found, case=case, name="masked_mean")
        if found.array.shape != found.expected.shape:
            raise fallback(f"the result has shape {found.array.shape}, expected (batch, dim) = {found.expected.shape}",
                           "average over axis 1, the time axis", case=case)
        worst = float(np.max(np.abs(found.values - found.expected)))
        raise fallback(f"the shape is right but the numbers differ from the masked mean (largest difference {worst:.3g})",
                       "sum x * mask over axis 1, then divide by the number of real steps of each row", case=case)
    # As the lesson uses it: inside a layer's call, as a graph, with batches of any size.
    first = _q2_cases()[0]
    graph_case = Case(first.inputs, about="the test batch inside tf.function (as Keras runs a layer's call)")
    result = run_in_graph(masked_mean, graph_case, "masked_mean")
    expected, _ = padded_mean(*_q2_inputs())
    if not np.allclose(to_numpy(result, "the result").astype(np.float64), expected, atol=1e-5):
        raise fallback("the numbers differ from the masked mean when run as a graph", "look for Python code that "
                       "depends on tensor values (if, for, .numpy())", case=graph_case)
    ids, table = _q4_inputs()
    embedding = keras.layers.Embedding(len(table), table.shape[1], mask_zero=True,
                                       embeddings_initializer=keras.initializers.Constant(table))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_function_in_model(masked_mean, ids, before=[embedding], what="masked_mean in a layer's call")
    return None


q2 = Exercise(
    "q2",
    "masked mean by hand",
    _check_q2,
    hint="""
    Use tf functions only (Keras runs a layer's call as a graph, where NumPy cannot run). Turn the
    mask into numbers (tf.cast(mask, x.dtype)), give it a feature axis (mask[..., None]) so it
    multiplies every embedding dimension, sum over axis 1, and divide by the number of real steps
    of each row: tf.reduce_sum(tf.cast(mask, x.dtype), axis=1, keepdims=True).
    """,
    solution="""
    def masked_mean(x, mask):
        weights = tf.cast(mask, x.dtype)[:, :, None]          # (batch, time, 1)
        return tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(weights, axis=1)
    """,
    mistakes=[*_Q2_ERRORS, *_Q2],
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
        raise explained_error(exc, "calling your layer on the batch", case=case) from None
    mask = getattr(output, "_keras_mask", None)
    if mask is None and hasattr(layer, "compute_mask"):
        try:
            mask = layer.compute_mask(tf.constant(batch))
        except Exception:  # noqa: BLE001
            mask = None
    return mask


def _is_keras_layer(value) -> bool:
    import keras

    return isinstance(value, keras.layers.Layer) or type(value).__module__.startswith("tf_keras") and hasattr(value, "compute_mask")


_Q3_TYPE = [
    Pitfall("the-class", lambda f: inspect.isclass(f.answer),
            lambda f: f"that is the class {f.answer.__name__}; make a layer by calling it: {f.answer.__name__}(mask_value=...)"),
    Pitfall("layer-method", lambda f: inspect.ismethod(f.answer) and _is_keras_layer(f.answer.__self__),
            lambda f: f"that is the method {f.answer.__name__} of a layer; answer with the layer itself, "
                      "e.g. keras.layers.Masking(mask_value=...)"),
    Pitfall("called-on-data", lambda f: is_tensor(f.answer),
            lambda f: f"that is {describe(f.answer)}, what a layer returns when called on data: keep the layer itself, "
                      "masking = keras.layers.Masking(mask_value=...), without calling it on centred_padded"),
    Pitfall("not-a-layer", lambda f: not inspect.isclass(f.answer) and not inspect.ismethod(f.answer)
            and not _is_keras_layer(f.answer) and not is_tensor(f.answer),
            lambda f: f"expected a Keras layer, got {describe(f.answer)}: "
                      + ("write the layer without quotes, " if isinstance(f.answer, str) else "make one, ")
                      + "keras.layers.Masking(mask_value=...)"),
    Pitfall("lookup-layer", lambda f: type(f.answer).__name__ in ("Embedding", "StringLookup", "IntegerLookup"),
            lambda f: f"that is {describe(f.answer)}, a layer that looks up ids; centred_padded holds ratings, floats "
                      f"padded with {Q3_PAD_VALUE}, with no ids to look up. A Masking layer attaches the mask to such "
                      "steps: keras.layers.Masking(mask_value=...)"),
    Pitfall("mask-value-text", lambda f: _is_keras_layer(f.answer) and isinstance(getattr(f.answer, "mask_value", None), str),
            lambda f: f"mask_value is the string {f.answer.mask_value!r}: Masking compares numbers, so write the number "
                      "without quotes, keras.layers.Masking(mask_value=...)"),
]

def _hidden_value(f) -> float | None:
    """The real (non-zero) value a Masking layer with the wrong mask_value hides, if that is what the mask shows."""
    for value in np.unique(f.values[f.expected]):
        if value != 0.0 and (np.array_equal(f.mask, f.values != value) or np.array_equal(f.mask, f.expected & (f.values != value))):
            return float(value)
    return None


_Q3 = [
    Pitfall("no-mask", lambda f: f.mask is None,
            "your layer attaches no mask to its output: use keras.layers.Masking(mask_value=...), which does"),
    Pitfall("mask-shape", lambda f: f.mask.shape != f.expected.shape,
            lambda f: f"the mask has shape {f.mask.shape}, expected (batch, time) = {f.expected.shape}: a Masking layer "
                      "hides whole time steps, keras.layers.Masking(mask_value=...)"),
    Pitfall("default-zero", lambda f: np.array_equal(f.mask, f.expected & (f.values != 0.0)) or np.array_equal(f.mask, f.values != 0.0),
            lambda f: f"your mask hides the {int(np.sum(f.expected & (f.values == 0.0)))} real 3-star ratings (0.0 after "
                      f"centring): 0.0 is a real value here. Mask the value the sequences were padded with ({Q3_PAD_VALUE})"),
    Pitfall("hides-real-value", lambda f: _hidden_value(f) is not None,
            lambda f: f"your mask hides the real ratings {show(_hidden_value(f))} (after centring) instead of the "
                      f"padding: mask_value must be the padding value {Q3_PAD_VALUE}, a value no real rating takes"),
    Pitfall("inverted", lambda f: np.array_equal(f.mask, ~f.expected),
            "your mask is inverted: True must mark the real steps, False the padding (keras.layers.Masking does that "
            "for the value you give it)"),
    Pitfall("keeps-everything", lambda f: f.mask.all(),
            f"your mask keeps every step, padding included: mask_value must equal the padding value {Q3_PAD_VALUE}"),
]


def _check_q3(layer) -> str | None:
    diagnose(_Q3_TYPE, facts(answer=layer))
    first, first_mask = _q3_batch()
    second, second_mask = _q3_second_batch()
    for batch, expected, about in ((first, first_mask, "the centred batch padded with -9.0"),
                                   (second, second_mask, "a batch padded at the front")):
        case = Case({"x": batch}, about=about)
        mask = _mask_from_layer(layer, batch, case)
        if mask is not None:
            mask = to_numpy(mask, "the mask").astype(bool)
        found = facts(mask=mask, expected=expected, values=batch[..., 0])
        if mask is not None and np.array_equal(mask, expected):
            continue
        diagnose(_Q3, found, case=case)
        raise fallback("your mask differs from the padding pattern", f"the sequences were padded with {Q3_PAD_VALUE}: "
                       "a step is padding exactly when all its features equal that value", case=case)
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
    mistakes=[*_Q3_TYPE, *_Q3],
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


_Q4_TYPE = [
    Pitfall("not-layer-subclass", lambda f: inspect.isclass(f.answer) and not _is_layer_class(f.answer),
            lambda f: f"{f.answer.__name__} should subclass keras.layers.Layer: class MaskedMaxPooling(keras.layers.Layer)"),
    Pitfall("not-a-layer", lambda f: not inspect.isclass(f.answer) and not _is_keras_layer(f.answer),
            lambda f: f"expected your layer class (MaskedMaxPooling), got {describe(f.answer)}: "
                      + ("write the class name without quotes, MaskedMaxPooling" if isinstance(f.answer, str) else
                         "that is what a layer returns when called; answer with the class itself, MaskedMaxPooling"
                         if is_tensor(f.answer) else "answer with the class you completed, MaskedMaxPooling")),
]

_Q4_CALL_ERRORS = [  # explain=: calling the learner's layer raised
    Pitfall("where-without-feature-axis", lambda f: missing_feature_axis(f.text) is not None,
            lambda f: f"the mask {missing_feature_axis(f.text)[0]} has no feature axis, but x has one "
                      f"{missing_feature_axis(f.text)[1]}: give the mask one, "
                      "tf.where(mask[:, :, None], x, x.dtype.min)"),
    Pitfall("bool-in-arithmetic", lambda f: re.search(r"of bool is not in the list of allowed values|DataType bool not in "
                                                      r"list", f.text) is not None or "bool" in (mixed_dtypes(f.text) or ()),
            "the bool mask went into arithmetic (x * mask): a bool tensor cannot be multiplied. Pick values with "
            "tf.where(mask[:, :, None], x, x.dtype.min) instead, no product needed"),
    _Q4_NO_SUPER := Pitfall("no-super-init", lambda f: "super().__init__()" in f.text,
            "your __init__ does not call super().__init__(**kwargs) first: Keras sets up every layer there; make it "
            "the first line of __init__ (and take **kwargs)"),
    Pitfall("mask-without-default", lambda f: "missing a required argument: 'mask'" in f.text
            or "required positional argument: 'mask'" in f.text,
            "call's mask argument needs a default, def call(self, x, mask=None): Keras calls a layer without a mask "
            "whenever its input carries none"),
]


_Q4_CONSTRUCTOR = Pitfall(
    "constructor-needs-arguments", lambda f: isinstance(f.error, TypeError) and "required positional argument" in f.text,
    "give every argument of __init__ a default (and pass **kwargs on to super().__init__): Keras and the lesson create "
    "the layer as MaskedMaxPooling()",
)
_Q4_STUB_MASK = Pitfall(
    "stub-compute-mask", lambda f: f.stub_mask is Ellipsis,
    "compute_mask still returns `...`: what mask should a (batch, dim) output carry, now that the time axis is gone?",
)


def _is_layer_class(value) -> bool:
    import keras

    return issubclass(value, keras.layers.Layer)


def _make_layer(answer):
    diagnose(_Q4_TYPE, facts(answer=answer))
    if inspect.isclass(answer):
        try:
            return answer()
        except Exception as exc:  # noqa: BLE001
            raise explained_error(exc, f"{answer.__name__}(), called without arguments as the lesson does,",
                                  explain=[_Q4_CONSTRUCTOR, _Q4_NO_SUPER]) from None
    return answer


def _run_pooling(answer, ids, table, case: Case):
    layer = _make_layer(answer)
    embedded = _embedding_for(table)(ids)
    keras_mask = embedded._keras_mask
    # The lesson's stub leaves `return ...` in call and compute_mask: look before Keras trips over it.
    with warnings.catch_warnings():  # a look only: what Keras warns about is reported by the real call below
        warnings.simplefilter("ignore")
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
    diagnose([_Q4_STUB_MASK], facts(stub_mask=stub_mask))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            output = layer(embedded)
        except Exception as exc:  # noqa: BLE001
            raise explained_error(exc, "calling your layer", case=case, explain=_Q4_CALL_ERRORS) from None
    if output is None:
        raise case.fail("your layer's call returned None: did you forget the `return` statement?", key="returned-none")
    if is_blank(output):
        raise NotAttempted
    return layer, output, caught


def _q4_facts(values: np.ndarray, ids: np.ndarray, table: np.ndarray, output) -> object:
    mask = ids != 0
    vectors = table[ids].astype(np.float64)
    expected = np.where(mask[..., None], vectors, -np.inf).max(axis=1)
    padded = ~mask.all(axis=1)
    return facts(values=values, ids=ids, table=table, mask=mask, vectors=vectors, expected=expected, padded=padded,
                 output=output, right=values.shape == expected.shape and np.allclose(values, expected, rtol=1e-6, atol=1e-6))


def _same_shape_as(f, candidate) -> bool:
    return f.values.shape == candidate.shape and bool(np.allclose(f.values, candidate, rtol=1e-6, atol=1e-6))


_Q4 = [
    Pitfall("wrong-axis", lambda f: f.values.shape == f.ids.shape and f.ids.shape[1] != f.table.shape[1],
            lambda f: f"wrong axis: the output has shape {f.values.shape}; take the max over axis 1 (time), not over "
                      "the features"),
    Pitfall("padding-in-max", lambda f: not f.right and _same_shape_as(f, f.vectors.max(axis=1)),
            "the padding steps took part in the max (the padding row is 9.0 everywhere): give call a mask=None "
            "argument and use it, tf.where(mask[:, :, None], x, x.dtype.min) before the max"),
    Pitfall("zeros-for-padding", lambda f: not f.right and _same_shape_as(f, np.where(f.mask[..., None], f.vectors, 0.0).max(axis=1)),
            "you replaced the padding by 0 before the max: where all real values are negative, 0 wins. Use the most "
            "negative number of the dtype (x.dtype.min) or -inf"),
    Pitfall("constant-fill", lambda f: not f.right and f.values.shape == f.expected.shape
            and np.all(f.values[f.padded] >= f.expected[f.padded]) and np.any(f.values[f.padded] > f.expected[f.padded])
            and np.all(f.values[f.padded] < 0) and np.allclose(f.values[~f.padded], f.expected[~f.padded]),
            lambda f: f"the padding won the max with a 'very negative' constant ({show(float(f.values[f.padded].max()))}): "
                      "real values can be lower still (here near -1e30). Use the most negative number of the dtype "
                      "(x.dtype.min) or -inf"),
    Pitfall("max-over-padding", lambda f: not f.right and f.padded.any() and f.values.shape == f.expected.shape
            and not _same_shape_as(f, f.vectors.max(axis=1))
            and np.allclose(f.values[f.padded], np.where(~f.mask[..., None], f.vectors, -np.inf).max(axis=1)[f.padded]),
            "you took the max over the padding steps only: in a Keras mask, True marks a real step, so keep x where "
            "the mask is True, tf.where(mask[:, :, None], x, x.dtype.min)"),
    Pitfall("keeps-mask", lambda f: f.right and getattr(f.output, "_keras_mask", None) is not None,
            lambda f: f"the numbers are right, but a mask of shape {tuple(f.output._keras_mask.shape)} is still attached "
                      f"to your {tuple(f.values.shape)} output. A pooling layer consumes the mask: make compute_mask "
                      "return None"),
]


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
        found = _q4_facts(values, ids, table, output)
        diagnose(_Q4, found, case=case)
        if values.shape != found.expected.shape:
            raise fallback(f"the output has shape {values.shape}, expected (batch, dim) = {found.expected.shape}",
                           "reduce over axis 1, the time axis", case=case)
        if not found.right:
            worst = float(np.max(np.abs(values - found.expected)))
            raise fallback(f"the output differs from the max over the real steps (largest difference {worst:.3g})",
                           "replace the padding steps by x.dtype.min with tf.where, then tf.reduce_max over axis 1",
                           case=case)  # fmt: skip
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
    Give `call` a `mask=None` argument: Keras passes the mask in. Replace the padding steps by the most
    negative number x's dtype can hold, tf.where(mask[:, :, None], x, x.dtype.min) (a constant such as
    -1e9 loses to real values below it), then tf.reduce_max(..., axis=1); make compute_mask return None
    (the time axis is gone).
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
    mistakes=[*_Q4_TYPE, _Q4_CONSTRUCTOR, _Q4_STUB_MASK, *_Q4_CALL_ERRORS, *_Q4],
)

__all__ = ["q1", "q2", "q3", "q4", "Q3_PAD_VALUE", "Q1_MIN_COUNT", "q1_expected"]
