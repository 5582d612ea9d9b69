"""Answers to lesson 05's exercises for tests/test_lesson05.py: right ones in several forms, and for every
catalogued mistake (``qN.mistakes`` in course_lib/exercises/lesson05.py) wrong answers that make it
(``QN_MISTAKES``, the examples :func:`exercise_helpers.check_catalogue` takes), plus wrong answers no
catalogued mistake names (``QN_FALLBACK``: the last-resort message and a phrase it must contain).

A plain module (not a test file), so that a child process with 4 logical CPUs can import the
same answers: the checks of q2 and q3 run ``MirroredStrategy``, and TensorFlow fixes its devices
at its first op, which the test process has long run.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from course_lib import distributed
from course_lib import recommender as rec

# --------------------------------------------------------------------------- q1: HandleEmbedding


class Handle(keras.layers.Embedding):
    def call(self, inputs):
        return tf.gather(self.embeddings.value, inputs)


class SparseRead(keras.layers.Embedding):
    def call(self, inputs):
        return self.embeddings.value.sparse_read(inputs)


class LookupOnValue(keras.layers.Embedding):
    def call(self, inputs):
        return tf.nn.embedding_lookup(self.embeddings.value, inputs)


class GatherNd(keras.layers.Embedding):
    def call(self, inputs):
        return tf.gather_nd(self.embeddings.value, inputs[..., None])


class WithDocstring(keras.layers.Embedding):
    """Reads rows through the handle, and casts ids like Keras does."""

    def call(self, inputs):
        if inputs.dtype not in (tf.int32, tf.int64):
            inputs = tf.cast(inputs, "int32")
        return tf.gather(self.embeddings.value, inputs)


Q1_CORRECT = {"tf.gather on .value": Handle, "sparse_read": SparseRead, "embedding_lookup on .value": LookupOnValue,
              "gather_nd on .value": GatherNd, "casts the ids first": WithDocstring}  # fmt: skip


class NoCall(keras.layers.Embedding):
    pass


class NotEmbedding(keras.layers.Layer):
    def call(self, inputs):
        return inputs


class KerasVariable(keras.layers.Embedding):
    def call(self, inputs):
        return tf.gather(self.embeddings, inputs)


class ReadValue(keras.layers.Embedding):
    def call(self, inputs):
        return tf.gather(self.embeddings.value.read_value(), inputs)


class OneHot(keras.layers.Embedding):
    def call(self, inputs):
        return tf.matmul(tf.one_hot(inputs, self.input_dim), self.embeddings.value)


class PlusZero(keras.layers.Embedding):
    def call(self, inputs):
        return tf.gather(self.embeddings.value * 1.0, inputs)  # arithmetic on the whole table first


class Columns(keras.layers.Embedding):
    def call(self, inputs):
        return tf.gather(self.embeddings.value, inputs, axis=1)


class OffByOne(keras.layers.Embedding):
    def call(self, inputs):
        return tf.gather(self.embeddings.value, inputs - 1)


class ClippedOffByOne(keras.layers.Embedding):
    def call(self, inputs):
        return tf.gather(self.embeddings.value, tf.minimum(inputs + 1, self.input_dim - 1))


class WholeTable(keras.layers.Embedding):
    def call(self, inputs):
        return self.embeddings.value + tf.zeros((), self.embeddings.dtype)


class NumPyRows(keras.layers.Embedding):
    def call(self, inputs):
        return self.embeddings.numpy()[np.asarray(inputs)]


class StopGradient(keras.layers.Embedding):
    def call(self, inputs):
        return tf.stop_gradient(tf.gather(self.embeddings.value, inputs))


class Float64(keras.layers.Embedding):
    def call(self, inputs):
        return tf.cast(tf.gather(self.embeddings.value, inputs), "float64")


class OwnConstructor(keras.layers.Embedding):
    def __init__(self, input_dim, output_dim):
        super().__init__(input_dim, output_dim)

    def call(self, inputs):
        return tf.gather(self.embeddings.value, inputs)


class HalfRows(keras.layers.Embedding):
    def call(self, inputs):
        return tf.gather(self.embeddings.value, inputs)[..., :2]


class Doubled(keras.layers.Embedding):
    def call(self, inputs):
        return 2.0 * tf.gather(self.embeddings.value, inputs)


class Broken(keras.layers.Embedding):
    def call(self, inputs):
        return tf.gather(self.embeddings.value, tf.strings.as_string(inputs))


class NoReturn(keras.layers.Embedding):  # walkthrough D11: the rows are computed, never returned
    def call(self, inputs):
        rows = tf.gather(self.embeddings.value, inputs)  # noqa: F841


class IndexedVariable(keras.layers.Embedding):  # walkthrough D12
    def call(self, inputs):
        return self.embeddings.value[inputs]


class LoopOverIds(keras.layers.Embedding):  # walkthrough D12: fails on the 2-D ids (rows of ids)
    def call(self, inputs):
        return tf.stack([self.embeddings.value[i] for i in inputs])


class SuperCall(keras.layers.Embedding):  # walkthrough D13
    def call(self, inputs):
        return super().call(inputs)


def lookup_function(table, ids):
    return tf.gather(table, ids)


class NotALayer:
    def call(self, inputs):
        return inputs


#: {pitfall key: [answers making that mistake]} for every key of q1.mistakes (exercise_helpers.check_catalogue).
Q1_MISTAKES = {
    "not_a_class": [lookup_function, NotALayer, int, "HandleEmbedding"],
    "not_an_embedding": [NotEmbedding],
    "no_call": [NoCall],
    "constructor": [OwnConstructor],
    "call_raised": [Broken],
    "indexing": [IndexedVariable, LoopOverIds],
    "super_call": [SuperCall],
    "returned-none": [NoReturn],
    "columns": [Columns],
    "off_by_one": [OffByOne, ClippedOffByOne],
    "numpy_in_call": [NumPyRows],
    "whole_table": [WholeTable],
    "dtype": [Float64],
    "no_gradient": [StopGradient],
    "one_hot": [OneHot],
    "dense_gradient": [PlusZero],
    "keras_variable": [KerasVariable],
    "read_value": [ReadValue],
}

#: Wrong answers no catalogued mistake names: the last-resort message says what differs and where to look.
Q1_FALLBACK = {"half of each row": (HalfRows, "expected (6, 4)"), "rows times two": (Doubled, "not the table's rows")}


# --------------------------------------------------------------------------- q2: replica_loss


def replica_loss(labels, predictions, penalties, global_batch_size):
    per_example = tf.square(labels - tf.reshape(predictions, [-1]))
    loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
    if penalties:
        loss += tf.nn.scale_regularization_loss(tf.add_n(penalties))
    return loss


def keras_mse_global_batch(labels, predictions, penalties, global_batch_size):
    per_example = keras.losses.mean_squared_error(labels[:, None], predictions)  # (batch,)
    loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
    return loss + (tf.nn.scale_regularization_loss(tf.add_n(penalties)) if penalties else 0.0)


def manual_division(labels, predictions, penalties, global_batch_size):
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    loss = tf.reduce_sum((labels - predictions[:, 0]) ** 2) / global_batch_size
    return loss + sum(penalties) / replicas


Q2_CORRECT = {"the printed solution": replica_loss, "keras MSE, global batch given": keras_mse_global_batch,
              "by hand": manual_division}  # fmt: skip


# Right only when every replica gets as many examples (they ignore global_batch_size): the "equal_slices" mistake.


def keras_mse_inferred_batch(labels, predictions, penalties, global_batch_size):
    per_example = keras.losses.mean_squared_error(labels[:, None], predictions)  # (batch,)
    loss = tf.nn.compute_average_loss(per_example)  # global batch inferred: per-replica batch x replicas
    return loss + (tf.nn.scale_regularization_loss(tf.add_n(penalties)) if penalties else 0.0)


def mean_over_replicas(labels, predictions, penalties, global_batch_size):
    replicas = tf.distribute.get_replica_context().num_replicas_in_sync
    loss = tf.reduce_mean(tf.square(labels - tf.squeeze(predictions, -1))) / replicas  # equal slices
    return loss + tf.add_n(penalties) / replicas if penalties else loss


def keras_share(labels, predictions, penalties, global_batch_size):
    loss = keras.losses.MeanSquaredError()(labels, predictions)  # Keras's share: the replica's mean / replicas
    return loss + (tf.nn.scale_regularization_loss(tf.add_n(penalties)) if penalties else 0.0)


def _penalty(penalties, scale=1.0):
    return scale * tf.nn.scale_regularization_loss(tf.add_n(penalties)) if penalties else 0.0


def per_replica_mean(labels, predictions, penalties, global_batch_size):
    return tf.reduce_mean(tf.square(labels - predictions[:, 0])) + _penalty(penalties)


def plain_sum(labels, predictions, penalties, global_batch_size):
    return tf.reduce_sum(tf.square(labels - predictions[:, 0])) + _penalty(penalties)


def divided_twice(labels, predictions, penalties, global_batch_size):
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    per_example = tf.square(labels - predictions[:, 0])
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size) / replicas + _penalty(penalties)


def penalty_unscaled(labels, predictions, penalties, global_batch_size):
    loss = tf.nn.compute_average_loss(tf.square(labels - predictions[:, 0]), global_batch_size=global_batch_size)
    return loss + tf.add_n(penalties) if penalties else loss


def penalty_missing(labels, predictions, penalties, global_batch_size):
    return tf.nn.compute_average_loss(tf.square(labels - predictions[:, 0]), global_batch_size=global_batch_size)


def penalty_twice(labels, predictions, penalties, global_batch_size):
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    loss = tf.nn.compute_average_loss(tf.square(labels - predictions[:, 0]), global_batch_size=global_batch_size)
    return loss + _penalty(penalties) / replicas


def no_data(labels, predictions, penalties, global_batch_size):
    return _penalty(penalties) + 0.0 * tf.reduce_sum(predictions)


def broadcast(labels, predictions, penalties, global_batch_size):
    return tf.nn.compute_average_loss(tf.square(labels - predictions), global_batch_size=global_batch_size) + _penalty(penalties)


def absolute(labels, predictions, penalties, global_batch_size):
    return tf.nn.compute_average_loss(tf.abs(labels - predictions[:, 0]), global_batch_size=global_batch_size) + _penalty(penalties)


def per_example_vector(labels, predictions, penalties, global_batch_size):
    return tf.square(labels - predictions[:, 0]) / global_batch_size


def numpy_mean(labels, predictions, penalties, global_batch_size):
    return np.mean(np.square(np.asarray(labels) - np.asarray(predictions)[:, 0]))


def float64_labels(labels, predictions, penalties, global_batch_size):
    return tf.reduce_sum(tf.square(tf.cast(labels, "float64") - predictions[:, 0])) / global_batch_size


def add_n_unguarded(labels, predictions, penalties, global_batch_size):
    loss = tf.nn.compute_average_loss(tf.square(labels - predictions[:, 0]), global_batch_size=global_batch_size)
    return loss + tf.nn.scale_regularization_loss(tf.add_n(penalties))


def wrong_axis(labels, predictions, penalties, global_batch_size):
    return tf.reduce_sum(tf.square(labels - predictions[:, 0]), axis=1) / global_batch_size


def half_penalty(labels, predictions, penalties, global_batch_size):
    loss = tf.nn.compute_average_loss(tf.square(labels - predictions[:, 0]), global_batch_size=global_batch_size)
    return loss + _penalty(penalties, 0.5)


def sum_of_no_penalties(labels, predictions, penalties, global_batch_size):  # walkthrough D10
    per_example = tf.square(labels - predictions[:, 0])
    return (tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
            + tf.nn.scale_regularization_loss(sum(penalties)))


def guard_on_a_tensor(labels, predictions, penalties, global_batch_size):  # walkthrough D9
    if tf.size(labels) == 0:
        return tf.constant(0.0)
    return replica_loss(labels, predictions, penalties, global_batch_size)


def penalty_by_batch(labels, predictions, penalties, global_batch_size):  # walkthrough D7
    loss = tf.nn.compute_average_loss(tf.square(labels - predictions[:, 0]), global_batch_size=global_batch_size)
    if penalties:
        loss += tf.add_n(penalties) / global_batch_size
    return loss


def own_batch(labels, predictions, penalties, global_batch_size):  # walkthrough D8: a number of one's own
    loss = tf.nn.compute_average_loss(tf.square(labels - predictions[:, 0]), global_batch_size=16)
    if penalties:
        loss += tf.nn.scale_regularization_loss(tf.add_n(penalties))
    return loss


def returns_text(labels, predictions, penalties, global_batch_size):
    return "loss"


def constant(labels, predictions, penalties, global_batch_size):
    return tf.constant(0.0)  # a number, but not computed from the inputs


def loss_doubled_for_the_log(labels, predictions, penalties, global_batch_size):
    loss = replica_loss(labels, predictions, penalties, global_batch_size)
    return loss + tf.stop_gradient(loss)  # the right gradient, twice the loss value


#: {pitfall key: [answers]} for every key of q2.mistakes, plus the toolkit's "raised" (an error no pitfall explains).
Q2_MISTAKES = {
    "add_n_empty": [add_n_unguarded],
    "tensor_if": [guard_on_a_tensor],
    "sum_empty": [sum_of_no_penalties],
    "numpy": [numpy_mean],
    "dtype": [float64_labels],
    "not_a_loss": [returns_text],
    "not_scalar": [per_example_vector],
    "broadcast": [broadcast],
    "not_squared": [absolute],
    "no_gradient": [constant],
    "no_data": [no_data],
    "per_replica_mean": [per_replica_mean],
    "sum": [plain_sum],
    "divided_twice": [divided_twice],
    "penalty_unscaled": [penalty_unscaled],
    "penalty_missing": [penalty_missing],
    "penalty_twice": [penalty_twice],
    "penalty_by_batch": [penalty_by_batch],
    "own_batch": [own_batch],
    "equal_slices": [keras_share, mean_over_replicas, keras_mse_inferred_batch],
    "loss_differs": [loss_doubled_for_the_log],
    "raised": [wrong_axis],
}

Q2_FALLBACK = {"half the penalty": (half_penalty, "the data part of the step was 1 times one device's and its penalty "
                                                   "part 0.5 times")}


# --------------------------------------------------------------------------- q3: logged_loss


def logged_loss(mse, penalty, replicas, output_shape):
    if len(output_shape) == 1:
        return replicas * mse + penalty
    return mse + penalty


Q3_CORRECT = {
    "the printed solution": logged_loss,
    "by the last axis": lambda mse, penalty, replicas, shape: (mse if shape[-1] == 1 else replicas * mse) + penalty,
    "a NumPy number": lambda mse, penalty, replicas, shape: np.float32((replicas if np.ndim(np.empty(shape)) == 1 else 1) * mse + penalty),
}  # fmt: skip

#: {pitfall key: [answers]} for every key of q3.mistakes (NUMBER_PITFALLS included), plus the toolkit's "raised".
Q3_MISTAKES = {
    "boolean": [lambda m, p, r, s: True],
    "string": [lambda m, p, r, s: f"{m + p:.3f}"],
    "pandas-object": [lambda m, p, r, s: __import__("pandas").Series([m + p])],
    "one-element-array": [lambda m, p, r, s: np.array([m + p])],
    "several-numbers": [lambda m, p, r, s: np.array([r * m + p, m + p])],
    "not-finite": [lambda m, p, r, s: float("nan")],
    "not-a-number": [lambda m, p, r, s: {"loss": m + p}],
    "shape_index": [lambda m, p, r, s: s[1] * m],
    "tuple": [lambda m, p, r, s: (r * m, p) if len(s) == 1 else (m, p)],  # walkthrough D24
    "always_one_device": [lambda m, p, r, s: m + p],
    "always_summed": [lambda m, p, r, s: r * m + p],
    "swapped": [lambda m, p, r, s: r * m + p if len(s) == 2 else m + p],
    "penalty_summed": [lambda m, p, r, s: r * (m + p) if len(s) == 1 else m + p],
    "old_rule": [lambda m, p, r, s: r * m + p / r],
    "penalty_divided": [lambda m, p, r, s: (r * m if len(s) == 1 else m) + p / r],
    "no_penalty": [lambda m, p, r, s: r * m if len(s) == 1 else m],
    "one_replica": [lambda m, p, r, s: (m + p) / r],
    "batch": [lambda m, p, r, s: s[0] * m + p if len(s) == 1 else m + p],
    "raised": [lambda m, p, r, s: m / (r - r)],
}

#: Wrong formulas no catalogued mistake names; the last two are right on 2 replicas only, for the (batch, 1) column
#: (walkthrough D1): the column is tried on 4 replicas too.
Q3_FALLBACK = {"something else": (lambda m, p, r, s: m * p * r, "fit logs"),
               "divided by the rank": (lambda m, p, r, s: r * m / len(s) + p, "for output_shape=(16, 1) on 4 replicas"),
               "column times replicas / 2": (lambda m, p, r, s: (r * m if len(s) == 1 else r / 2 * m) + p,
                                             "for output_shape=(16, 1) on 4 replicas")}  # fmt: skip


# --------------------------------------------------------------------------- q4: shard_tables


def shard_tables(mesh):
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map[f"{rec.USER_EMBEDDING}/embeddings"] = ("model", None)
    layout_map[f"{rec.MOVIE_EMBEDDING}/embeddings"] = ("model", None)
    return layout_map


def one_regex(mesh):
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map["(user|movie)_embedding/embeddings"] = keras.distribution.TensorLayout(("model", None))
    return layout_map


def every_table(mesh):  # the bias tables too: allowed
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map[".*/embeddings"] = ("model", None)
    return layout_map


Q4_CORRECT = {"the printed solution": shard_tables, "one regular expression": one_regex,
              "every table, biases too": every_table, "the library's": distributed.rating_layout_map}  # fmt: skip


def _layout(mesh, entries):
    layout_map = keras.distribution.LayoutMap(mesh)
    for key, axes in entries:
        layout_map[key] = axes
    return layout_map


def _bias_columns(mesh):
    return _layout(mesh, [(".*_embedding/embeddings", ("model", None)), (".*_bias/embeddings", (None, "model"))])


#: {pitfall key: [answers]} for every key of q4.mistakes, plus the toolkit's "raised" and "not-a-function".
Q4_MISTAKES = {
    "not_a_layout_map": [lambda mesh: {"user_embedding/embeddings": ("model", None)}, lambda mesh: mesh],
    "distribution": [lambda mesh: keras.distribution.ModelParallel(layout_map=shard_tables(mesh), batch_dim_name="batch")],
    "other_mesh": [lambda mesh: shard_tables(keras.distribution.DeviceMesh((4,), ("model",), [f"cpu:{i}" for i in range(4)]))],
    "layer_name_key": [lambda mesh: _layout(mesh, [("user_embedding", ("model", None)), ("movie_embedding", ("model", None))])],
    "glob": [lambda mesh: _layout(mesh, [("*_embedding/embeddings", ("model", None))])],
    "two_keys": [lambda mesh: _layout(mesh, [(".*embedding.*", ("model", None)), (".*/embeddings", ("model", None))])],
    "no_match": [lambda mesh: _layout(mesh, [("user_embedding/embeddings:0", ("model", None))])],
    "one_table": [lambda mesh: _layout(mesh, [("movie_embedding/embeddings", ("model", None))]),
                  lambda mesh: _layout(mesh, [("user_embedding/embeddings", ("model", None)),
                                              ("movies_embedding/embeddings", ("model", None))])],  # walkthrough D27
    "columns": [lambda mesh: _layout(mesh, [(".*_embedding/embeddings", (None, "model"))])],
    "batch_axis": [lambda mesh: _layout(mesh, [(".*_embedding/embeddings", ("batch", None))])],
    "rank": [lambda mesh: _layout(mesh, [(".*_embedding/embeddings", ("model",))])],
    "axis_name": [lambda mesh: _layout(mesh, [(".*_embedding/embeddings", ("rows", None))])],
    "layout_type": [lambda mesh: _layout(mesh, [(".*_embedding/embeddings", [mesh.axis_names[1], None])]),
                    lambda mesh: _layout(mesh, [(".*_embedding/embeddings", "model")])],  # walkthrough D14
    "jax_error": [_bias_columns],
    "raised": [lambda mesh: mesh.devices["model"]],
    "not-a-function": [shard_tables(keras.distribution.DeviceMesh((1, 4), ("batch", "model"), [f"cpu:{i}" for i in range(4)]))],
}

#: The answers whose check runs a sharded step in a JAX child: one child checks them all (lesson05.check_layouts).
Q4_JAX_ANSWERS = [shard_tables, one_regex, every_table, distributed.rating_layout_map, _bias_columns]


# --------------------------------------------------------------------------- q5: collision_share


def collision_share(n_ids, bins):
    return 1 - (1 - 1 / bins) ** (n_ids - 1)


Q5_CORRECT = {"the printed solution": collision_share, "(b - 1) / b": lambda n, b: 1 - ((b - 1) / b) ** (n - 1),
              "NumPy": lambda n, b: float(1 - np.power(1 - 1 / b, n - 1)),
              "the library's": distributed.expected_collision_share}  # fmt: skip


def _birthday(n, b):
    return 1.0 if n > b else 1 - float(np.prod(1 - np.arange(n) / b))


#: {pitfall key: [answers]} for every key of q5.mistakes (NUMBER_PITFALLS included), plus the toolkit's "raised".
Q5_MISTAKES = {
    "boolean": [lambda n, b: n > b],
    "string": [lambda n, b: "high"],
    "pandas-object": [lambda n, b: __import__("pandas").Series([n / b])],
    "one-element-array": [lambda n, b: np.array([1 - (1 - 1 / b) ** (n - 1)])],
    "several-numbers": [lambda n, b: np.array([n, b])],
    "not-finite": [lambda n, b: float("inf")],
    "not-a-number": [lambda n, b: {"share": n / b}],
    "itself": [lambda n, b: 1 - (1 - 1 / b) ** n],
    "count": [lambda n, b: n * (1 - (1 - 1 / b) ** (n - 1))],
    "linear": [lambda n, b: n / b],
    "exponential": [lambda n, b: 1 - np.exp(-n / b)],
    "complement": [lambda n, b: (1 - 1 / b) ** (n - 1)],
    "birthday": [_birthday],
    "integer_division": [lambda n, b: 1 - (1 - 1 // b) ** (n - 1), lambda n, b: 1 - ((b - 1) // b) ** (n - 1)],
    "pairs": [lambda n, b: n * (n - 1) / (2 * b)],  # walkthrough D16: equals n / b at (3, 4)
    "rounded": [lambda n, b: round(1 - (1 - 1 / b) ** (n - 1), 4)],  # walkthrough D17
    "percent": [lambda n, b: 100 * (1 - (1 - 1 / b) ** (n - 1))],
    "raised": [lambda n, b: 1 / (b - b)],
}

Q5_FALLBACK = {"something else": (lambda n, b: 1 / b, "expected 0.437500"),
               "one over bins - 1": (lambda n, b: 1 - (1 - 1 / (b - 1)) ** (n - 1), "each of the n_ids - 1 other ids misses "
                                                                                  "the id's bin with probability 1 - 1/bins")}


def engine_answers() -> dict:
    """``{exercise name: {answer name: answer}}`` of q2 and q3: the printed solution, the correct forms, every
    catalogued mistake's examples (``"mistake <key> <i>"``), the fallbacks and test_feedback's generic wrong answers
    (``"generic <i>"``)."""
    from course_lib.exercises.lesson05 import q2, q3
    from exercise_helpers import solution_namespace
    from test_feedback import GENERIC_WRONG

    answers = {}
    printed = {"q2": solution_namespace(q2, tf=tf)["replica_loss"], "q3": solution_namespace(q3)["logged_loss"]}
    for name, correct, mistakes, fallbacks in (("q2", Q2_CORRECT, Q2_MISTAKES, Q2_FALLBACK),
                                               ("q3", Q3_CORRECT, Q3_MISTAKES, Q3_FALLBACK)):  # fmt: skip
        answers[name] = {f"{name}.solution()": printed[name], **correct,
                         **{f"mistake {key} {i}": a for key, examples in mistakes.items() for i, a in enumerate(examples)},
                         **{f"fallback {label}": answer for label, (answer, _) in fallbacks.items()},
                         **{f"generic {i}": answer for i, answer in enumerate(GENERIC_WRONG)}}  # fmt: skip
    return answers


def engine_results() -> dict:
    """Run in a child process with 4 logical CPUs: ``{exercise: {answer name: {"status", "mistake", "detected",
    "message", "lint"}}}`` for q2 and q3 (``lint``: what :func:`exercise_helpers.lint_result` found)."""
    from course_lib.exercises.lesson05 import q2, q3
    from exercise_helpers import lint_result

    results = {}
    for name, answers in engine_answers().items():
        exercise = {"q2": q2, "q3": q3}[name]
        results[name] = {}
        for label, answer in answers.items():
            result = exercise.evaluate(answer)
            results[name][label] = {"status": result.status, "mistake": result.mistake, "detected": list(result.detected),
                                    "message": result.message, "lint": lint_result(result)}  # fmt: skip
    results["q3 column logs"] = column_logs()
    return results


def column_logs() -> dict:
    """What real fit logs for the (batch, 1) column on 2 and on 4 replicas: q3 compares the learner's column formula on
    4 replicas with the 2-replica log (lesson05.Q3_CASES), which is right only if the two are equal."""
    from course_lib.exercises import lesson05

    saved, saved_truth = lesson05.Q3_FITS, dict(lesson05._Q3_TRUTH)
    lesson05.Q3_FITS, lesson05._Q3_TRUTH = ((2, 2), (4, 2)), {}
    try:
        logged = lesson05._q3_truth()["logged"]
    finally:
        lesson05.Q3_FITS, lesson05._Q3_TRUTH = saved, saved_truth
    return {str(replicas): logged[replicas, 2] for replicas in (2, 4)}


if __name__ == "__main__":
    import json
    import sys

    distributed.virtual_cpus(4)
    print("RESULTS " + json.dumps(engine_results()), flush=True)
    sys.exit(0)
