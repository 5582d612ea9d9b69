"""Answers to lesson 05's exercises for tests/test_lesson05.py: right ones in several forms, and the
catalogued mistakes, each with the key of the message it must get (``_Q*_MESSAGES`` in
course_lib/exercises/lesson05.py).

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


def lookup_function(table, ids):
    return tf.gather(table, ids)


#: (answer, message key). Every key of _Q1_MESSAGES not in _Q1_LAST_RESORT appears at least once.
Q1_WRONG = {
    "a function": (lookup_function, "not_a_class"),
    "a Layer, not an Embedding": (NotEmbedding, "not_an_embedding"),
    "no call": (NoCall, "no_call"),
    "tf.gather on the Keras variable": (KerasVariable, "keras_variable"),
    "read_value first": (ReadValue, "read_value"),
    "one-hot matmul": (OneHot, "one_hot"),
    "arithmetic on the value": (PlusZero, "dense_gradient"),
    "axis=1": (Columns, "columns"),
    "ids - 1": (OffByOne, "off_by_one"),
    "ids + 1, clipped": (ClippedOffByOne, "off_by_one"),
    "the whole table": (WholeTable, "whole_table"),
    "NumPy in call": (NumPyRows, "numpy_in_call"),
    "stop_gradient": (StopGradient, "no_gradient"),
    "float64 rows": (Float64, "dtype"),
    "own constructor": (OwnConstructor, "constructor"),
    "half of each row": (HalfRows, "wrong_shape"),
    "rows times two": (Doubled, "wrong_values"),
    "a string op on ids": (Broken, "call_raised"),
}


# --------------------------------------------------------------------------- q2: replica_loss


def replica_loss(labels, predictions, penalties, global_batch_size):
    per_example = tf.square(labels - tf.reshape(predictions, [-1]))
    loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
    if penalties:
        loss += tf.nn.scale_regularization_loss(tf.add_n(penalties))
    return loss


def keras_mse_inferred_batch(labels, predictions, penalties, global_batch_size):
    per_example = keras.losses.mean_squared_error(labels[:, None], predictions)  # (batch,)
    loss = tf.nn.compute_average_loss(per_example)  # global batch inferred: per-replica batch x replicas
    return loss + (tf.nn.scale_regularization_loss(tf.add_n(penalties)) if penalties else 0.0)


def manual_division(labels, predictions, penalties, global_batch_size):
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    loss = tf.reduce_sum((labels - predictions[:, 0]) ** 2) / global_batch_size
    return loss + sum(penalties) / replicas


def mean_over_replicas(labels, predictions, penalties, global_batch_size):
    replicas = tf.distribute.get_replica_context().num_replicas_in_sync
    loss = tf.reduce_mean(tf.square(labels - tf.squeeze(predictions, -1))) / replicas  # equal slices
    return loss + tf.add_n(penalties) / replicas if penalties else loss


Q2_CORRECT = {"the printed solution": replica_loss, "keras MSE, batch inferred": keras_mse_inferred_batch,
              "by hand": manual_division, "mean / replicas": mean_over_replicas}  # fmt: skip


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


Q2_WRONG = {
    "mean over the replica's slice": (per_replica_mean, "per_replica_mean"),
    "sum, not divided": (plain_sum, "sum"),
    "divided by the replicas again": (divided_twice, "divided_twice"),
    "penalty added as it is": (penalty_unscaled, "penalty_unscaled"),
    "penalty forgotten": (penalty_missing, "penalty_missing"),
    "penalty scaled twice": (penalty_twice, "penalty_twice"),
    "penalty only": (no_data, "no_data"),
    "(batch,) minus (batch, 1)": (broadcast, "broadcast"),
    "absolute error": (absolute, "not_squared"),
    "a vector per replica": (per_example_vector, "not_scalar"),
    "NumPy": (numpy_mean, "numpy"),
    "float64 labels": (float64_labels, "dtype"),
    "tf.add_n on an empty list": (add_n_unguarded, "add_n_empty"),
    "sum over an axis that is not there": (wrong_axis, "raised"),
    "half the penalty": (half_penalty, "step_differs"),
}


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

Q3_WRONG = {
    "always one device's": (lambda m, p, r, s: m + p, "always_one_device"),
    "always summed": (lambda m, p, r, s: r * m + p, "always_summed"),
    "shapes swapped": (lambda m, p, r, s: r * m + p if len(s) == 2 else m + p, "swapped"),
    "penalty summed too": (lambda m, p, r, s: r * (m + p) if len(s) == 1 else m + p, "penalty_summed"),
    "the disproved rule": (lambda m, p, r, s: r * m + p / r, "old_rule"),
    "penalty divided": (lambda m, p, r, s: (r * m if len(s) == 1 else m) + p / r, "penalty_divided"),
    "no penalty": (lambda m, p, r, s: r * m if len(s) == 1 else m, "no_penalty"),
    "one replica's share": (lambda m, p, r, s: (m + p) / r, "one_replica"),
    "batch as the factor": (lambda m, p, r, s: s[0] * m + p if len(s) == 1 else m + p, "batch"),
    "a string": (lambda m, p, r, s: f"{m + p:.3f}", "not_a_number"),
    "an error": (lambda m, p, r, s: s[1] * m, "raised"),
    "something else": (lambda m, p, r, s: m * p * r, "differs"),
}


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


Q4_WRONG = {
    "a dict": (lambda mesh: {"user_embedding/embeddings": ("model", None)}, "not_a_layout_map"),
    "the distribution": (lambda mesh: keras.distribution.ModelParallel(layout_map=shard_tables(mesh), batch_dim_name="batch"),
                         "distribution"),
    "an own mesh": (lambda mesh: shard_tables(keras.distribution.DeviceMesh((4,), ("model",), [f"cpu:{i}" for i in range(4)])),
                    "other_mesh"),
    "layer names as keys": (lambda mesh: _layout(mesh, [("user_embedding", ("model", None)), ("movie_embedding", ("model", None))]),
                            "layer_name_key"),
    "a file pattern": (lambda mesh: _layout(mesh, [("*_embedding/embeddings", ("model", None))]), "glob"),
    "two keys for one table": (lambda mesh: _layout(mesh, [(".*embedding.*", ("model", None)), (".*/embeddings", ("model", None))]),
                               "two_keys"),
    "TensorFlow variable names": (lambda mesh: _layout(mesh, [("user_embedding/embeddings:0", ("model", None))]), "no_match"),
    "only the movie table": (lambda mesh: _layout(mesh, [("movie_embedding/embeddings", ("model", None))]), "one_table"),
    "columns": (lambda mesh: _layout(mesh, [(".*_embedding/embeddings", (None, "model"))]), "columns"),
    "the batch axis": (lambda mesh: _layout(mesh, [(".*_embedding/embeddings", ("batch", None))]), "batch_axis"),
    "one entry": (lambda mesh: _layout(mesh, [(".*_embedding/embeddings", ("model",))]), "rank"),
    "an axis the mesh lacks": (lambda mesh: _layout(mesh, [(".*_embedding/embeddings", ("rows", None))]), "axis_name"),
    "bias columns split": (_bias_columns, "jax_error"),
    "an error of its own": (lambda mesh: mesh.devices["model"], "raised"),
}


# --------------------------------------------------------------------------- q5: collision_share


def collision_share(n_ids, bins):
    return 1 - (1 - 1 / bins) ** (n_ids - 1)


Q5_CORRECT = {"the printed solution": collision_share, "(b - 1) / b": lambda n, b: 1 - ((b - 1) / b) ** (n - 1),
              "NumPy": lambda n, b: float(1 - np.power(1 - 1 / b, n - 1)),
              "the library's": distributed.expected_collision_share}  # fmt: skip


def _birthday(n, b):
    return 1.0 if n > b else 1 - float(np.prod(1 - np.arange(n) / b))


Q5_WRONG = {
    "counts itself": (lambda n, b: 1 - (1 - 1 / b) ** n, "itself"),
    "a count": (lambda n, b: n * (1 - (1 - 1 / b) ** (n - 1)), "count"),
    "rule of thumb": (lambda n, b: n / b, "linear"),
    "exponential": (lambda n, b: 1 - np.exp(-n / b), "exponential"),
    "complement": (lambda n, b: (1 - 1 / b) ** (n - 1), "complement"),
    "birthday problem": (_birthday, "birthday"),
    "integer division": (lambda n, b: 1 - (1 - 1 // b) ** (n - 1), "integer_division"),
    "percent": (lambda n, b: 100 * (1 - (1 - 1 / b) ** (n - 1)), "percent"),
    "not a number": (lambda n, b: "high", "not_a_number"),
    "something else": (lambda n, b: 1 / b, "differs"),
}


def engine_results() -> dict:
    """Run in a child process with 4 logical CPUs: ``{exercise: {answer name: [status, message]}}`` for q2 and q3."""
    from course_lib.exercises.lesson05 import q2, q3
    from exercise_helpers import solution_namespace

    printed = {q2: solution_namespace(q2, tf=tf)["replica_loss"], q3: solution_namespace(q3)["logged_loss"]}
    results = {}
    for exercise, correct, wrong in ((q2, Q2_CORRECT, Q2_WRONG), (q3, Q3_CORRECT, Q3_WRONG)):
        answers = {f"{exercise.name}.solution()": printed[exercise], **correct,
                   **{name: answer for name, (answer, _) in wrong.items()}}
        results[exercise.name] = {}
        for name, answer in answers.items():
            result = exercise.evaluate(answer)
            results[exercise.name][name] = [result.status, result.message]
    return results


if __name__ == "__main__":
    import json
    import sys

    distributed.virtual_cpus(4)
    print("RESULTS " + json.dumps(engine_results()), flush=True)
    sys.exit(0)
