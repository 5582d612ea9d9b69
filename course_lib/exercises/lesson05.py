"""Exercises of lesson 05, *past one device and one machine*: ``from course_lib.exercises.lesson05 import q1, q2, q3, q4, q5``.

In the order a learner meets them:

- ``q1``: ``HandleEmbedding``, an ``Embedding`` whose ``call`` reads its rows through the
  TensorFlow variable's handle (``ResourceGather``) instead of copying the whole table;
- ``q2``: ``replica_loss(labels, predictions, penalties, global_batch_size)``, the loss one
  replica differentiates in a custom loop so that ``MirroredStrategy`` takes one device's step;
- ``q3``: ``logged_loss(mse, penalty, replicas, output_shape)``, the loss Keras 3's ``fit`` logs
  under ``MirroredStrategy`` for a model with a given output shape;
- ``q4``: ``shard_tables(mesh)``, a ``keras.distribution.LayoutMap`` that splits the rows of
  both tables of the rating model;
- ``q5`` (Going deeper): ``collision_share(n_ids, bins)`` for a hashed table.

The checks run the learner's code on the real engines: q1 in a traced step and a ``fit`` step
of TensorFlow, q2 inside ``strategy.run`` under ``MirroredStrategy`` over the lesson's logical
CPUs, compared with one device, q3 against the loss real ``fit`` calls log, q4 by one sharded
training step in a JAX child process. Each check has a catalogue of the mistakes learners make,
each with a detector and its own message (the ``_Q*_MESSAGES`` dictionaries, which the tests
walk). TensorFlow and Keras are imported only when a check runs.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

import numpy as np

from course_lib.checks import Case, Exercise, Mistake, NotAttempted, call_learner, error_text, is_stub_function, run_case, show

__all__ = ["q1", "q2", "q3", "q4", "q5", "logical_cpus"]


# --------------------------------------------------------------------------- shared helpers


def logical_cpus(needed: int) -> list[str]:
    """The names of the first ``needed`` logical CPUs TensorFlow has (lesson 05's first cell makes 4).

    A generic helper of this module (not of ``course_lib.checks``): checks q2 and q3 build their
    own ``MirroredStrategy`` over these devices. Raises :class:`Mistake` with the fix (restart,
    run the first cell) when there are fewer.
    """
    import tensorflow as tf

    found = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(found) < needed:
        raise Mistake(f"this check needs {needed} logical CPUs and TensorFlow has {len(found)}: restart the kernel and "
                      "run the lesson from its first cell, which splits the CPU with distributed.virtual_cpus(4) "
                      "before TensorFlow runs anything")  # fmt: skip
    return found[:needed]


_STRATEGIES: dict[int, Any] = {}


def _strategy(replicas: int):
    """A ``MirroredStrategy`` over ``replicas`` logical CPUs (the default strategy for 1), cached.

    ``ReductionToOneDevice`` sums the gradients: the same sums as the default collective
    all-reduce, without its group keys, which two strategies of different sizes in one process
    would share (``_collective_key_base = 0`` in ``tensorflow/python/distribute/mirrored_strategy.py``).
    """
    import tensorflow as tf

    if replicas == 1:
        return tf.distribute.get_strategy()
    if replicas not in _STRATEGIES:
        _STRATEGIES[replicas] = tf.distribute.MirroredStrategy(
            logical_cpus(replicas), cross_device_ops=tf.distribute.ReductionToOneDevice())
    return _STRATEGIES[replicas]


def _attempted_function(function: Any, name: str) -> None:
    """Mistake unless ``function`` is a function; NotAttempted while it is still the lesson's stub.

    Checked before a check starts an engine, so that an unattempted exercise costs nothing.
    """
    if not callable(function) or isinstance(function, type):
        raise Mistake(f"give the function {name}, got {show(function, 40)}")
    if is_stub_function(function):
        raise NotAttempted


def _number(value: Any, what: str) -> float:
    """A float from a Python/NumPy number or a one-element array or tensor; Mistake naming ``what`` otherwise."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise Mistake(f"{what} returned {show(value)}: return a number")
    if hasattr(value, "numpy") and callable(value.numpy):
        try:
            value = value.numpy()
        except Exception:  # noqa: BLE001 - a symbolic tensor
            raise Mistake(f"{what} returned a symbolic tensor: return a number") from None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mistake(f"{what} returned {show(value)}: return a number") from None
    if array.size != 1:
        raise Mistake(f"{what} returned {array.size} numbers (shape {array.shape}): return one number")
    return float(array.reshape(()))


# --------------------------------------------------------------------------- q1: reading rows through the handle

Q1_ROWS, Q1_DIM = 50, 4

#: q1's catalogue: each mistake a learner makes, with its message (detectors in ``_check_handle_embedding``).
_Q1_MESSAGES = {
    "not_a_class": "give the class HandleEmbedding (a subclass of keras.layers.Embedding), not {kind}",
    "not_an_embedding": "{name} is not a subclass of keras.layers.Embedding: write class {name}(keras.layers.Embedding) so "
                        "it keeps the table (self.embeddings), its initializer and its mask, and override only call",
    "no_call": "{name} still runs Embedding's own call, ops.take(self.embeddings, ...), the dense read measured above: "
               "override call(self, inputs)",
    "constructor": "{name}(50, 4) raised {error}: keep Embedding's constructor (do not override __init__, or pass "
                   "**kwargs on to super().__init__)",
    "call_raised": "calling your layer on ids {ids} raised {error}: call(self, inputs) gets a tensor of ids and must "
                   "return their rows, shape ids.shape + (dimension,)",
    "numpy_in_call": "your call uses NumPy or .numpy(), but fit runs call inside a compiled step where ids has no "
                     "values yet ({error}): use TensorFlow ops, e.g. tf.gather",
    "whole_table": "for ids {ids} your layer returned shape {got}, the whole table: gather the rows of ids",
    "columns": "for ids {ids} your layer returned shape {got}: tf.gather(..., axis=1) picks columns; the rows of a "
               "table are axis 0, the default",
    "off_by_one": "for ids {ids} your layer read the rows of {shift}1: row i of the table belongs to id i (ids "
                  "here start at 0, and id 0 is a row like any other): gather at the ids themselves",
    "wrong_shape": "for ids {ids} your layer returned shape {got}, expected {want}: one row of {dim} numbers per id",
    "wrong_values": "for ids {ids} your layer returned numbers that are not the table's rows at those ids (largest "
                    "difference {diff:.3g}): return the rows themselves",
    "dtype": "your layer returned {dtype} rows: keep the table's float32 (do not cast)",
    "no_gradient": "no gradient reaches the table from your layer's output: the rows must come from the variable "
                   "itself (no .numpy() copy, no tf.stop_gradient)",
    "dense_gradient": "the gradient of the table is a dense {shape} tensor, not IndexedSlices: every row is computed "
                      "and every row is written back. Gather the rows instead",
    "one_hot": "one-hot ids times the table (tf.one_hot, matmul) reads and multiplies every row of the table, and its "
               "gradient is a dense table: gather the rows with tf.gather(self.embeddings.value, inputs)",
    "keras_variable": "the traced step reads the whole table (a ReadVariableOp, which copies the table once a sparse "
                      "update has touched it) and never touched self.embeddings.value: a TensorFlow op given "
                      "self.embeddings, the Keras variable, converts it to a tensor first. Pass the TensorFlow "
                      "variable behind it: tf.gather(self.embeddings.value, inputs)",
    "read_value": "the traced step reads the whole table (a ReadVariableOp) before picking rows: read_value(), "
                  "tf.convert_to_tensor, tf.identity or an arithmetic op on self.embeddings.value make a dense copy. "
                  "Give the variable itself to tf.gather: tf.gather(self.embeddings.value, inputs)",
    "no_resource_gather": "the traced step has no ResourceGather op (it runs {ops}): read the rows with "
                          "tf.gather(self.embeddings.value, inputs), which TensorFlow turns into ResourceGather",
    "fit_differs": "one SGD step of fit with your layer moved the table differently from Keras's Embedding (largest "
                   "difference {diff:.3g}): the layer must compute the same rows and gradient, only read them differently",
    "fit_raised": "your layer works when called directly, but in model.fit it raised {error}: check that call "
                  "returns a float32 tensor and uses only TensorFlow ops",
}


#: Messages of q1 used only when no catalogued mistake matches (each still says where to look).
_Q1_LAST_RESORT = {"call_raised", "wrong_shape", "wrong_values", "no_resource_gather", "fit_differs", "fit_raised"}


def _q1_message(which: str, **fields) -> Mistake:
    return Mistake(_Q1_MESSAGES[which].format(**fields))


def _trace_ops(layer) -> set[str]:
    """Op types of ``layer``'s call traced on int32 ids of unknown length (as ``fit`` traces it)."""
    import tensorflow as tf

    function = tf.function(lambda ids: layer(ids), autograph=False)
    return {op.type for op in function.get_concrete_function(tf.TensorSpec([None], tf.int32)).graph.get_operations()}


class _ValueSpy:
    """Records whether code outside Keras and TensorFlow reads ``.value`` of a Keras variable while the block runs.

    The variable's class is swapped for a subclass whose ``value`` property notes its caller, and
    swapped back after. Keras itself reads ``.value`` when a TensorFlow op converts the variable to
    a tensor; only a read from the learner's own code counts.
    """

    def __init__(self, variable):
        self.variable, self.read = variable, False
        self._class = type(variable)

    def __enter__(self):
        original, spy = self._class, self

        def value(variable):
            caller = sys._getframe(1).f_code.co_filename.replace("\\", "/")
            if "/keras/" not in caller and "/tensorflow/" not in caller:
                spy.read = True
            return original.value.fget(variable)

        self.variable.__class__ = type(f"Spied{original.__name__}", (original,), {"value": property(value)})
        return self

    def __exit__(self, *exc):
        self.variable.__class__ = self._class


def _is_graph_numpy_error(exc: BaseException) -> bool:
    """True for the errors NumPy code raises on the symbolic tensors of a traced step."""
    text = str(exc).lower()
    return any(word in text for word in ("numpy", "symbolic", "__array__", "iterating over `tf.tensor`"))


def _check_handle_embedding(answer: Any) -> str:
    import keras
    import tensorflow as tf

    if isinstance(answer, type):
        cls = answer
    elif isinstance(answer, keras.layers.Layer):
        cls = type(answer)  # an instance: use its class, built afresh
    else:
        raise _q1_message("not_a_class", kind=show(answer, 40) if not callable(answer) else "a function")
    name = cls.__name__
    if is_stub_function(getattr(cls, "call", None)):
        raise NotAttempted
    if not issubclass(cls, keras.layers.Layer):
        raise _q1_message("not_a_class", kind=f"the class {name}")
    if not issubclass(cls, keras.layers.Embedding):
        raise _q1_message("not_an_embedding", name=name)
    if cls.call is keras.layers.Embedding.call:
        raise _q1_message("no_call", name=name)
    initializer = keras.initializers.RandomNormal(seed=5)
    try:
        layer = cls(Q1_ROWS, Q1_DIM, embeddings_initializer=initializer)
        layer.build((None,))
    except Exception as exc:  # noqa: BLE001 - the learner's constructor
        raise _q1_message("constructor", name=name, error=error_text(exc)) from None
    reference = keras.layers.Embedding(Q1_ROWS, Q1_DIM, embeddings_initializer=initializer)
    reference.build((None,))
    table = np.asarray(reference.embeddings.numpy())
    layer.embeddings.assign(table)

    for ids in (np.array([3, 0, 49, 3, 17, 8], np.int32), np.array([[1, 2], [48, 0], [7, 7]], np.int64)):
        shown = show(ids)
        try:
            got = layer(tf.constant(ids))
        except Exception as exc:  # noqa: BLE001 - the learner's call
            text = error_text(exc)
            if f"is not in [0, {Q1_DIM})" in text:  # gathered along the columns
                raise _q1_message("columns", ids=shown, got="an error: ids above the dimension") from None
            if "= -1 is not in" in text or f"= {Q1_ROWS} is not in" in text:  # ids shifted by one
                raise _q1_message("off_by_one", ids=shown, shift="id - " if "-1" in text else "id + ") from None
            raise _q1_message("call_raised", ids=shown, error=text) from None
        got_array = np.asarray(got)
        want = table[ids]
        if got_array.shape == table.shape and got_array.shape != want.shape:
            raise _q1_message("whole_table", ids=shown, got=got_array.shape)
        if got_array.shape != want.shape:
            if got_array.shape[:1] == (Q1_ROWS,) or (got_array.ndim >= 2 and got_array.shape[0] == Q1_ROWS):
                raise _q1_message("columns", ids=shown, got=got_array.shape)
            raise _q1_message("wrong_shape", ids=shown, got=got_array.shape, want=want.shape, dim=Q1_DIM)
        if got_array.dtype != np.float32:
            raise _q1_message("dtype", dtype=got_array.dtype)
        if not np.allclose(got_array, want, atol=1e-6):
            for shift, sign in ((-1, "-"), (1, "+")):
                shifted = np.clip(ids + shift, 0, Q1_ROWS - 1)
                if np.allclose(got_array, table[shifted], atol=1e-6):
                    raise _q1_message("off_by_one", ids=shown, shift=f"id {sign} ")
            raise _q1_message("wrong_values", ids=shown, diff=float(np.max(np.abs(got_array - want))))

    try:
        with _ValueSpy(layer.embeddings) as spy:
            ops = _trace_ops(layer)
    except Exception as exc:  # noqa: BLE001 - fails only in a traced step
        if _is_graph_numpy_error(exc):
            raise _q1_message("numpy_in_call", error=error_text(exc)) from None
        raise _q1_message("fit_raised", error=error_text(exc)) from None
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant([3, 0, 49, 3])) ** 2)
    gradient = tape.gradient(loss, layer.embeddings)
    if gradient is None:
        raise _q1_message("no_gradient")
    if "OneHot" in ops or "MatMul" in ops or "BatchMatMulV2" in ops:
        raise _q1_message("one_hot")
    if not isinstance(gradient, tf.IndexedSlices):
        raise _q1_message("dense_gradient", shape=tuple(gradient.shape))
    if "ReadVariableOp" in ops:
        raise _q1_message("read_value" if spy.read else "keras_variable")
    if "ResourceGather" not in ops and "ResourceGatherNd" not in ops:
        raise _q1_message("no_resource_gather", ops=", ".join(sorted(ops - {"Placeholder", "NoOp", "Identity", "Const"})))

    # one SGD step of fit, next to Keras's Embedding: same table afterwards
    ids = np.array([1, 5, 5, 9, 30, 49, 0, 12], np.int32)
    targets = np.linspace(-1, 1, len(ids)).astype(np.float32)
    tables = []
    for kind in (cls, keras.layers.Embedding):
        inputs = keras.Input(shape=(), dtype="int32")
        model = keras.Model(inputs, keras.ops.sum(kind(Q1_ROWS, Q1_DIM, embeddings_initializer=initializer,
                                                       name="table")(inputs), axis=-1))  # fmt: skip
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        try:
            model.fit(ids, targets, batch_size=len(ids), epochs=1, shuffle=False, verbose=0)
        except Exception as exc:  # noqa: BLE001 - the learner's layer inside fit
            raise _q1_message("fit_raised", error=error_text(exc)) from None
        tables.append(np.asarray(model.get_layer("table").embeddings.numpy()))
    if not np.allclose(tables[0], tables[1], atol=1e-6):
        raise _q1_message("fit_differs", diff=float(np.max(np.abs(tables[0] - tables[1]))))
    return ("The traced step runs one ResourceGather and no ReadVariableOp, the gradient stays IndexedSlices, and "
            "fit moves the table exactly as Keras's Embedding does")


q1 = Exercise(
    "q1",
    "HandleEmbedding: read the rows through the variable's handle",
    _check_handle_embedding,
    hint="""
    Subclass keras.layers.Embedding and override only call(self, inputs). self.embeddings is the Keras
    variable; self.embeddings.value is the tf.Variable behind it. tf.gather on a tf.Variable becomes one
    ResourceGather op, which reads only the rows asked for.
    """,
    solution="""
    class HandleEmbedding(keras.layers.Embedding):
        def call(self, inputs):
            return tf.gather(self.embeddings.value, inputs)   # ResourceGather: only the looked-up rows
    """,
)


# --------------------------------------------------------------------------- q2: a replica's loss in a custom loop

#: q2's set-up: the global batch, the replica counts tried, the per-example penalty of the model.
Q2_GLOBAL_BATCH, Q2_REPLICAS, Q2_L2 = 16, (4, 2), 0.1

_Q2_MESSAGES = {
    "raised": "inside strategy.run, {call} raised {error}: check that your function computes with TensorFlow "
              "ops on the tensors it gets (labels, predictions, the penalties list) and returns one number",
    "add_n_empty": "with a model without penalties, penalties is an empty list and tf.add_n([]) fails ({error}): add "
                   "the penalty only when there is one (if penalties: ...)",
    "numpy": "your function runs inside strategy.run in a compiled step, where labels and predictions are symbolic "
             "tensors: NumPy cannot compute with them ({error}). Use TensorFlow ops (tf.square, tf.reduce_sum, "
             "tf.nn.compute_average_loss)",
    "dtype": "{call} raised {error}: mixing float64 numbers (np.float64, a NumPy array) with the float32 tensors; use "
             "Python numbers or tf.cast",
    "not_scalar": "your function returned shape {shape} on one replica: return one number, the replica's share of the "
                  "loss (tf.nn.compute_average_loss sums the per-example losses for you)",
    "per_replica_mean": "with {replicas} replicas the step was {replicas} times one device's: each replica averaged "
                        "over its own {per_replica} examples, and the replicas' gradients are added up. Divide the sum "
                        "of the per-example losses by the global batch: tf.nn.compute_average_loss(per_example, "
                        "global_batch_size=global_batch_size)",
    "sum": "the step was {factor:.0f} times one device's: you summed the per-example losses without dividing by the "
           "global batch size ({global_batch})",
    "divided_twice": "the step was 1/{replicas} of one device's: you divided by the global batch and again by the "
                     "number of replicas. tf.nn.compute_average_loss(per_example, global_batch_size=...) already "
                     "gives each replica its share",
    "penalty_unscaled": "the penalty counted {replicas} times: each replica's penalties are already a mean over its "
                        "examples, and the replicas' gradients are added. Scale them: "
                        "tf.nn.scale_regularization_loss(tf.add_n(penalties))",
    "penalty_missing": "the penalty is missing: add the model's penalties (the list penalties, model.losses in a real "
                       "loop), scaled with tf.nn.scale_regularization_loss",
    "penalty_twice": "the penalty counted only 1/{replicas} of one device's: tf.nn.scale_regularization_loss already "
                     "divides by the number of replicas; do not divide again",
    "no_data": "the data term is missing: the gradient has no squared-error part (labels - predictions) ** 2",
    "broadcast": "labels has shape (batch,) and predictions (batch, 1), so labels - predictions broadcast to a "
                 "(batch, batch) table of every label against every prediction: flatten the predictions first, "
                 "e.g. tf.reshape(predictions, [-1]) or predictions[:, 0]",
    "not_squared": "the per-example loss is not the squared error: the lesson's loss is mean squared error, "
                   "(labels - predictions) ** 2 per example",
    "step_differs": "with {replicas} replicas the weights moved differently from one device's step (largest "
                    "difference {diff:.3g}) and not by a plain factor: check the per-example loss "
                    "(labels - flattened predictions) ** 2, its division by global_batch_size and the scaled penalty",
    "loss_differs": "the weights moved as on one device, but the losses you returned add up to {got:.5g} over the "
                    "{replicas} replicas instead of one device's {want:.5g}: return the same number you differentiate",
}


_Q2_LAST_RESORT = {"raised", "step_differs", "loss_differs"}


def _q2_message(which: str, **fields) -> Mistake:
    return Mistake(_Q2_MESSAGES[which].format(**fields))


def _q2_data():
    rng = np.random.default_rng(7)
    features = rng.normal(size=(Q2_GLOBAL_BATCH, 3)).astype(np.float32)
    labels = (features @ np.array([1.0, -2.0, 0.5]) + 3.0 + rng.normal(0, 0.3, Q2_GLOBAL_BATCH)).astype(np.float32)
    return features, labels


def _q2_model(l2: float):
    import keras

    return keras.Sequential([
        keras.Input(shape=(3,)),
        keras.layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(seed=3), bias_initializer="ones",
                           activity_regularizer=keras.regularizers.L2(l2) if l2 else None),
    ])  # fmt: skip


def _q2_step(loss_fn, replicas: int, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """One SGD step with ``loss_fn`` as the replica loss; returns (change of all weights, flattened; the summed loss)."""
    import keras
    import tensorflow as tf

    strategy = _strategy(replicas)
    with strategy.scope():
        model = _q2_model(l2)
        optimizer = keras.optimizers.SGD(0.1)
    before = np.concatenate([np.ravel(w.numpy()) for w in model.trainable_variables])
    features, labels = _q2_data()
    data = tf.data.Dataset.from_tensor_slices((features, labels)).batch(Q2_GLOBAL_BATCH)
    batch = next(iter(strategy.experimental_distribute_dataset(data)))

    @tf.function(autograph=False)
    def step(batch):
        def replica(inputs):
            x, y = inputs
            with tf.GradientTape() as tape:
                predictions = model(x, training=True)
                loss = loss_fn(y, predictions, list(model.losses), Q2_GLOBAL_BATCH)
            variables = model.trainable_variables
            gradients = tape.gradient(loss, variables)
            gradients = [tf.zeros_like(v) if g is None else g for g, v in zip(gradients, variables)]
            optimizer.apply_gradients(zip(gradients, variables))
            return loss

        return strategy.reduce("SUM", strategy.run(replica, args=(batch,)), axis=None)

    loss = np.asarray(step(batch))
    after = np.concatenate([np.ravel(w.numpy()) for w in model.trainable_variables])
    return after - before, loss


def _reference_loss(data: float, penalty: float):
    """The right replica loss, with its data and penalty terms weighted (1, 1 is correct)."""
    import tensorflow as tf

    def loss(labels, predictions, penalties, global_batch_size):
        per_example = tf.square(labels - tf.reshape(predictions, [-1]))
        total = data * tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
        if penalties and penalty:
            total += penalty * tf.nn.scale_regularization_loss(tf.add_n(penalties))
        return total

    return loss


_Q2_REFERENCES: dict = {}


def _q2_references():
    """One device: the step of the data term alone, of the penalty alone, and the full loss value."""
    if not _Q2_REFERENCES:
        data_step, _ = _q2_step(_reference_loss(1, 0), 1, Q2_L2)
        penalty_step, _ = _q2_step(_reference_loss(0, 1), 1, Q2_L2)
        _, full_loss = _q2_step(_reference_loss(1, 1), 1, Q2_L2)
        _, plain_loss = _q2_step(_reference_loss(1, 0), 1, 0.0)
        _Q2_REFERENCES.update(data=data_step, penalty=penalty_step, loss=float(full_loss), plain_loss=float(plain_loss))
    return _Q2_REFERENCES


def _q2_call_text(replicas: int, penalties: bool) -> str:
    per = Q2_GLOBAL_BATCH // replicas
    return (f"replica_loss(labels of shape ({per},), predictions of shape ({per}, 1), "
            f"penalties={'[one penalty]' if penalties else '[]'}, global_batch_size={Q2_GLOBAL_BATCH}) "
            f"on {replicas} replica{'s' if replicas > 1 else ''}")  # fmt: skip


def _q2_run_learner(function, replicas: int, l2: float):
    call = _q2_call_text(replicas, bool(l2))
    try:
        return _q2_step(function, replicas, l2)
    except (KeyboardInterrupt, Mistake, NotAttempted):
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's function failed inside the engine
        text = str(exc)
        if not l2 and ("add_n" in text or "at least one" in text.lower()):
            raise _q2_message("add_n_empty", error=error_text(exc)) from None
        if _is_graph_numpy_error(exc) or "NumPy" in text or "numpy" in text:
            raise _q2_message("numpy", error=error_text(exc)) from None
        if "float64" in text and "float32" in text:
            raise _q2_message("dtype", call=call, error=error_text(exc)) from None
        raise _q2_message("raised", call=call, error=error_text(exc)) from None


def _probe_broadcast(function) -> str | None:
    """Call the learner's function eagerly on one replica's inputs; say which per-example loss it computes."""
    import tensorflow as tf

    labels = tf.constant([1.0, 2.0, 4.0])
    predictions = tf.constant([[1.5], [1.0], [3.0]])
    try:
        got = float(np.asarray(function(labels, predictions, [], 3)).reshape(-1)[0])
    except Exception:  # noqa: BLE001 - the engine run already reported errors
        return None
    errors = np.array([1.0, 2.0, 4.0]) - np.array([1.5, 1.0, 3.0])
    table = np.array([1.0, 2.0, 4.0])[None, :] - np.array([1.5, 1.0, 3.0])[:, None]
    candidates = {"broadcast": [np.sum(table**2) / 3, np.mean(table**2), np.sum(table**2) / 9],
                  "not_squared": [np.sum(np.abs(errors)) / 3, np.sum(errors) / 3, np.sum(np.abs(table)) / 3]}
    for key, values in candidates.items():
        if any(np.isclose(got, value, rtol=1e-5) for value in values):
            return key
    return None


def _check_replica_loss(function: Any) -> str:
    _attempted_function(function, "replica_loss")
    reference = _q2_references()
    basis = np.stack([reference["data"], reference["penalty"]], axis=1)
    for replicas, l2 in ((Q2_REPLICAS[0], Q2_L2), (Q2_REPLICAS[1], Q2_L2), (Q2_REPLICAS[0], 0.0)):
        step, loss = _q2_run_learner(function, replicas, l2)
        if loss.shape != ():
            raise _q2_message("not_scalar", shape=tuple(int(n) for n in loss.shape))
        want = reference["data"] + (reference["penalty"] if l2 else 0)
        if np.allclose(step, want, rtol=1e-4, atol=1e-6):
            expected_loss = reference["loss"] if l2 else reference["plain_loss"]
            if not np.isclose(float(loss), expected_loss, rtol=1e-4, atol=1e-6):
                raise _q2_message("loss_differs", got=float(loss), want=expected_loss, replicas=replicas)
            continue
        columns = basis if l2 else basis[:, :1]
        (data_factor, *penalty_factor), *_ = np.linalg.lstsq(columns, step, rcond=None)
        penalty_factor = penalty_factor[0] if penalty_factor else 1.0
        fitted = columns @ ([data_factor, penalty_factor] if l2 else [data_factor])
        plain_factor = np.linalg.norm(fitted - step) <= 1e-3 * max(np.linalg.norm(step), 1e-9)
        if plain_factor:
            per_replica = Q2_GLOBAL_BATCH // replicas

            def near(value, target):
                return abs(value - target) <= 1e-3 * max(1.0, abs(target))

            if near(data_factor, 0):
                raise _q2_message("no_data")
            if near(data_factor, replicas) and replicas > 1:
                raise _q2_message("per_replica_mean", replicas=replicas, per_replica=per_replica)
            if near(data_factor, Q2_GLOBAL_BATCH) or near(data_factor, per_replica * replicas / 1):
                raise _q2_message("sum", factor=data_factor, global_batch=Q2_GLOBAL_BATCH)
            if near(data_factor, 1 / replicas):
                raise _q2_message("divided_twice", replicas=replicas)
            if l2 and near(data_factor, 1):
                if near(penalty_factor, replicas):
                    raise _q2_message("penalty_unscaled", replicas=replicas)
                if near(penalty_factor, 0):
                    raise _q2_message("penalty_missing")
                if near(penalty_factor, 1 / replicas):
                    raise _q2_message("penalty_twice", replicas=replicas)
        probed = _probe_broadcast(function)
        if probed:
            raise _q2_message(probed)
        raise _q2_message("step_differs", replicas=replicas, diff=float(np.max(np.abs(step - want))))
    return (f"On {Q2_REPLICAS[0]} and on {Q2_REPLICAS[1]} replicas, with and without a penalty, the summed gradients "
            "took one device's step and the replicas' losses add up to one device's loss")


q2 = Exercise(
    "q2",
    "replica_loss: one device's step from every replica's share",
    _check_replica_loss,
    hint="""
    Each replica sees global_batch_size / replicas examples, and the replicas' gradients are added up.
    So a replica's loss is the sum of its per-example squared errors divided by the *global* batch size
    (tf.nn.compute_average_loss does that), plus its penalties divided by the number of replicas
    (tf.nn.scale_regularization_loss). Flatten predictions (batch, 1) to (batch,) first, and add the
    penalty only if the list is not empty.
    """,
    solution="""
    def replica_loss(labels, predictions, penalties, global_batch_size):
        per_example = tf.square(labels - tf.reshape(predictions, [-1]))        # (per-replica batch,)
        loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
        if penalties:
            loss += tf.nn.scale_regularization_loss(tf.add_n(penalties))
        return loss
    """,
)


# --------------------------------------------------------------------------- q3: the loss fit logs

#: q3's set-up: global batch, replica counts and the per-example L2 of the model whose fit is observed.
Q3_GLOBAL_BATCH, Q3_REPLICAS, Q3_L2 = 16, (2, 4), 0.5

_Q3_MESSAGES = {
    "not_a_number": "{call} returned {value}: return the loss as a number",
    "raised": "{call} raised {error}: output_shape is a tuple such as (16,) or (16, 1), replicas an int",
    "always_one_device": "for a ({batch},) output on {replicas} replicas fit logs {truth:.4f}, you returned one device's "
                         "{got:.4f}: with a (batch,) output \"mse\" is already one number, reduce_values returns it "
                         "unscaled, and each replica's data loss counts in full: the log is replicas * mse + penalty",
    "always_summed": "for a ({batch}, 1) output fit logs one device's loss, mse + penalty ({truth:.4f}); you returned "
                     "{got:.4f}: with one loss per example Keras divides by the number of replicas and undoes it "
                     "for the log",
    "swapped": "the two shapes are the other way round: the (batch, 1) column gives per-example losses, which Keras "
               "scales per replica (one device's log); the (batch,) output gives one number, unscaled (replicas * mse "
               "+ penalty)",
    "penalty_summed": "for a ({batch},) output you multiplied the penalty by the replicas too: Keras scales the "
                      "penalty per replica (_aggregate_additional_loss) in both cases; only the data loss escapes "
                      "the scaling. The log is replicas * mse + penalty",
    "old_rule": "that is the rule the lesson disproves (data summed, penalty divided by the replicas): the penalty "
                "is scaled down per replica and the log undoes that, so it appears once, as on one device",
    "penalty_divided": "you divided the penalty by the replicas: the log multiplies each replica's loss back "
                       "(unscale_loss_for_distribution) before averaging, so the penalty appears as on one device",
    "no_penalty": "the penalty is missing: fit logs the data loss plus the model's penalties (model.losses)",
    "one_replica": "you returned one replica's scaled share; fit logs the loss multiplied back by the number of "
                   "replicas and averaged over them",
    "batch": "you multiplied by output_shape[0], the batch size; the factor is the number of replicas",
    "differs": "for output_shape={shape} on {replicas} replicas fit logs {truth:.5f}, you returned {got:.5f}; compare "
               "with the lesson's cell that prints the logged losses of both output shapes",
}


_Q3_LAST_RESORT = {"raised", "differs"}


def _q3_message(which: str, **fields) -> Mistake:
    return Mistake(_Q3_MESSAGES[which].format(**fields))


_Q3_TRUTH: dict = {}


def _q3_truth() -> dict:
    """What real ``fit`` logs for one SGD step of a Dense model on 16 examples: {(replicas, rank): loss}, plus mse and penalty."""
    if _Q3_TRUTH:
        return _Q3_TRUTH
    import keras

    rng = np.random.default_rng(11)
    features = rng.normal(size=(Q3_GLOBAL_BATCH, 3)).astype(np.float32)
    labels = (features @ np.array([0.5, 1.0, -1.0]) + 2.0).astype(np.float32)

    def build(rank: int):
        inputs = keras.Input(shape=(3,))
        outputs = keras.layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=4),
                                     activity_regularizer=keras.regularizers.L2(Q3_L2))(inputs)  # fmt: skip
        if rank == 1:
            outputs = keras.ops.squeeze(outputs, -1)
        return keras.Model(inputs, outputs)

    probe = build(2)
    predictions = np.asarray(probe(features, training=True)).reshape(-1)
    penalty = float(sum(np.asarray(loss) for loss in probe.losses))
    mse = float(np.mean((labels - predictions) ** 2))
    logged = {}
    for replicas in Q3_REPLICAS:
        strategy = _strategy(replicas)
        for rank in (1, 2):
            with strategy.scope():
                model = build(rank)
                model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
            history = model.fit(features, labels, batch_size=Q3_GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
            logged[replicas, rank] = float(history.history["loss"][0])
    _Q3_TRUTH.update(mse=mse, penalty=penalty, logged=logged)
    return _Q3_TRUTH


def _q3_candidates(mse: float, penalty: float, replicas: int, rank: int, batch: int) -> dict:
    """What each catalogued mistake would return."""
    R = replicas
    return {
        "always_one_device": mse + penalty,
        "always_summed": R * mse + penalty,
        "swapped": (mse + penalty) if rank == 1 else R * mse + penalty,
        "penalty_summed": R * (mse + penalty) if rank == 1 else mse + penalty,
        "old_rule": R * mse + penalty / R,
        "penalty_divided": (R * mse if rank == 1 else mse) + penalty / R,
        "no_penalty": R * mse if rank == 1 else mse,
        "one_replica": (mse + penalty) / R,
        "batch": batch * mse + penalty if rank == 1 else mse + penalty,
    }


def _check_logged_loss(function: Any) -> str:
    _attempted_function(function, "logged_loss")
    truth = _q3_truth()
    mse, penalty = truth["mse"], truth["penalty"]
    results, cases = {}, []
    for (replicas, rank), logged in sorted(truth["logged"].items()):
        shape = (Q3_GLOBAL_BATCH,) if rank == 1 else (Q3_GLOBAL_BATCH, 1)
        call = f"logged_loss({mse:.4f}, {penalty:.4f}, {replicas}, {shape})"
        try:
            value = call_learner(function, mse, penalty, replicas, shape)
        except (KeyboardInterrupt, Mistake, NotAttempted):
            raise
        except Exception as exc:  # noqa: BLE001
            raise _q3_message("raised", call=call, error=error_text(exc)) from None
        try:
            got = _number(value, call)
        except Mistake:
            raise _q3_message("not_a_number", call=call, value=show(value, 40)) from None
        results[replicas, rank] = got
        cases.append((replicas, rank, shape, logged, got))
    wrong = [(r, k, s, t, g) for r, k, s, t, g in cases if not math.isclose(g, t, rel_tol=1e-4, abs_tol=1e-6)]
    if not wrong:
        return ("Your formula gives the loss real fit logged on 2 and 4 replicas for both output shapes: "
                "replicas * mse + penalty for (batch,), one device's mse + penalty for (batch, 1)")
    for key in ("swapped", "always_one_device", "always_summed", "penalty_summed", "old_rule", "penalty_divided",
                "no_penalty", "one_replica", "batch"):  # fmt: skip
        if all(math.isclose(g, _q3_candidates(mse, penalty, r, k, Q3_GLOBAL_BATCH)[key], rel_tol=1e-4, abs_tol=1e-6)
               for r, k, _, _, g in cases):  # fmt: skip
            replicas, rank, shape, logged, got = wrong[0]
            raise _q3_message(key, batch=Q3_GLOBAL_BATCH, replicas=replicas, truth=logged, got=got)
    replicas, rank, shape, logged, got = wrong[0]
    raise _q3_message("differs", shape=shape, replicas=replicas, truth=logged, got=got)


q3 = Exercise(
    "q3",
    "logged_loss: what fit logs under MirroredStrategy",
    _check_logged_loss,
    hint="""
    Two things decide it: whether "mse" is already one number per replica (a (batch,) output) or one number
    per example (a (batch, 1) output), and that fit multiplies each replica's loss back by the number of
    replicas before it averages them for the log. The penalty is scaled per replica in both cases.
    """,
    solution="""
    def logged_loss(mse, penalty, replicas, output_shape):
        if len(output_shape) == 1:          # (batch,): "mse" is one number, never divided by the replicas
            return replicas * mse + penalty
        return mse + penalty                # (batch, 1): per-example losses, scaled per replica: one device's log
    """,
)


# --------------------------------------------------------------------------- q4: a LayoutMap for both tables

#: q4's mesh: one batch shard and 4 model shards (the lesson's 4 devices).
Q4_MESH_SHAPE, Q4_AXES = (1, 4), ("batch", "model")

_Q4_MESSAGES = {
    "not_a_layout_map": "shard_tables(mesh) returned {kind}: return a keras.distribution.LayoutMap(mesh) with an entry "
                        "per table",
    "distribution": "shard_tables(mesh) returned the ModelParallel distribution: return only its LayoutMap; the check "
                    "(like the lesson) builds ModelParallel(layout_map=..., batch_dim_name=\"batch\") from it",
    "raised": "shard_tables(mesh) raised {error}",
    "axis_name": "shard_tables(mesh) raised {error}: a layout names the mesh's axes, here \"batch\" and \"model\" "
                 "(or None for a dimension that is not split)",
    "other_mesh": "your LayoutMap is built on another DeviceMesh ({shape}, axes {names}): build it on the mesh "
                  "passed in, keras.distribution.LayoutMap(mesh)",
    "layer_name_key": "the key {key!r} is a layer name, but LayoutMap matches keys against whole variable paths "
                      "(re.fullmatch): use {path!r}",
    "glob": "the key {key!r} is not a valid regular expression ({error}): keys are regular expressions, not file "
            "patterns; \".*\" matches any text",
    "two_keys": "the variable {path!r} matches more than one key of your LayoutMap ({keys}); Keras refuses that: "
                "keep one key per table",
    "no_match": "no key of your LayoutMap matches {path!r} (keys: {keys}): the rating model's table variables are "
                "{paths}",
    "one_table": "only {done} is split; {missing} stays whole on every device: add an entry for {missing_path!r}",
    "columns": "{path!r} has the layout {axes}: that splits the columns (the {dim} numbers of each row) over the "
               "devices. Split the rows: (\"model\", None)",
    "batch_axis": "{path!r} has the layout {axes}: the mesh's \"batch\" axis has one device, so nothing is split. Use "
                  "the \"model\" axis, which has 4: (\"model\", None)",
    "rank": "{path!r} is a 2-D table (rows, columns) but its layout {axes} has {count} entr{ies}: give one per "
            "dimension, (\"model\", None)",
    "jax_error": "one sharded training step on JAX with your LayoutMap failed: {error}",
    "not_sharded": "in the sharded step on JAX, {path!r} was not split by rows over the 4 devices ({layout}): check "
                   "its layout",
    "differs": "the sharded step on JAX gave other weights than one device (largest difference {diff:.3g})",
}


_Q4_LAST_RESORT = {"raised", "not_sharded", "differs"}


def _q4_message(which: str, **fields) -> Mistake:
    return Mistake(_Q4_MESSAGES[which].format(**fields))


def _q4_paths() -> dict[str, str]:
    """The rating model's 2-D variables: {path: layer name}."""
    from course_lib import recommender as rec

    return {f"{name}/embeddings": name for name in (rec.USER_EMBEDDING, rec.MOVIE_EMBEDDING, rec.USER_BIAS, rec.MOVIE_BIAS)}


def _check_shard_tables(function: Any) -> str:
    import keras

    from course_lib import distributed
    from course_lib import recommender as rec

    _attempted_function(function, "shard_tables")
    mesh = keras.distribution.DeviceMesh(Q4_MESH_SHAPE, Q4_AXES, [f"cpu:{i}" for i in range(int(np.prod(Q4_MESH_SHAPE)))])
    try:
        answer = call_learner(function, mesh)
    except (KeyboardInterrupt, Mistake, NotAttempted):
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's function
        which = "axis_name" if "axis names" in str(exc).lower() else "raised"
        raise _q4_message(which, error=error_text(exc)) from None
    if isinstance(answer, keras.distribution.ModelParallel):
        raise _q4_message("distribution")
    if not isinstance(answer, keras.distribution.LayoutMap):
        raise _q4_message("not_a_layout_map", kind=show(answer, 40) if not isinstance(answer, dict) else "a dict")
    own_mesh = answer.device_mesh
    if own_mesh is not mesh and (tuple(own_mesh.shape) != Q4_MESH_SHAPE or tuple(own_mesh.axis_names) != Q4_AXES):
        raise _q4_message("other_mesh", shape=tuple(own_mesh.shape), names=tuple(own_mesh.axis_names))
    keys = list(answer)
    paths = _q4_paths()
    layouts = {}
    for path in paths:
        matching = []
        for key in keys:
            try:
                if key == path or re.fullmatch(key, path):
                    matching.append(key)
            except re.error as exc:
                raise _q4_message("glob", key=key, error=str(exc)) from None
        if len(matching) > 1 and path not in matching:
            raise _q4_message("two_keys", path=path, keys=", ".join(repr(k) for k in matching))
        layouts[path] = answer[path]
    tables = {f"{name}/embeddings": name for name in rec.EMBEDDING_TABLES}
    missing = [path for path in tables if layouts[path] is None]
    if len(missing) == len(tables):
        for key in keys:
            if key in tables.values():
                raise _q4_message("layer_name_key", key=key, path=f"{key}/embeddings")
        raise _q4_message("no_match", path=missing[0], keys=", ".join(repr(k) for k in keys) or "none",
                          paths=", ".join(repr(p) for p in tables))  # fmt: skip
    for path in tables:
        layout = layouts[path]
        if layout is None:
            continue
        axes = tuple(layout.axes)
        if len(axes) != 2:
            raise _q4_message("rank", path=path, axes=axes, count=len(axes), ies="y" if len(axes) == 1 else "ies")
        if axes[0] is None and axes[1] == "model":
            raise _q4_message("columns", path=path, axes=axes, dim="dimension")
        if axes[0] == "batch":
            raise _q4_message("batch_axis", path=path, axes=axes)
    if missing:
        done = [tables[p] for p in tables if p not in missing]
        raise _q4_message("one_table", done=done[0], missing=tables[missing[0]], missing_path=missing[0])

    spec = {"shape": list(Q4_MESH_SHAPE), "axis_names": list(Q4_AXES), "batch_dim_name": "batch",
            "layout": [[key, list(answer[key].axes) if answer[key] is not None else None] for key in keys]}  # fmt: skip
    result = distributed.run_module(["layout-check", "--spec", json.dumps(spec)],
                                    env=distributed.jax_env(int(np.prod(Q4_MESH_SHAPE))), timeout=300)  # fmt: skip
    if result["error"]:
        raise _q4_message("jax_error", error=result["error"])
    for path in tables:
        shards = result["layouts"].get(path, [])
        rows = sorted(tuple(s["rows"]) for s in shards)
        whole_columns = all(s["cols"][0] == 0 and s["cols"][1] == shards[0]["cols"][1] for s in shards)
        if len(shards) != 4 or len(set(rows)) != 4 or not whole_columns:
            raise _q4_message("not_sharded", path=path, layout=rows)
    if result["max_difference"] > 1e-5:
        raise _q4_message("differs", diff=result["max_difference"])
    blocks = [s["rows"] for s in result["layouts"][f"{rec.MOVIE_EMBEDDING}/embeddings"]]
    return (f"In a JAX process with 4 devices each table was split into 4 blocks of rows (movie table: {blocks}), "
            "and one sharded SGD step gave the same weights as one device")


q4 = Exercise(
    "q4",
    "shard_tables(mesh): a LayoutMap that splits both tables",
    _check_shard_tables,
    hint="""
    keras.distribution.LayoutMap(mesh) works like a dict from variable paths (regular expressions matched
    against the whole path) to axes, one entry per dimension of the variable. The rating model's tables
    are the variables "user_embedding/embeddings" and "movie_embedding/embeddings"; ("model", None) splits
    the rows over the mesh's "model" axis and keeps each row whole.
    """,
    solution="""
    def shard_tables(mesh):
        layout_map = keras.distribution.LayoutMap(mesh)
        layout_map[f"{rec.USER_EMBEDDING}/embeddings"] = ("model", None)    # "user_embedding/embeddings"
        layout_map[f"{rec.MOVIE_EMBEDDING}/embeddings"] = ("model", None)   # "movie_embedding/embeddings"
        return layout_map
    """,
)


# --------------------------------------------------------------------------- q5: collisions of a hashed table


def _reference_share(n_ids: int, bins: int) -> float:
    return 1.0 - (1.0 - 1.0 / bins) ** (n_ids - 1)


_Q5_CASES = [(3, 4), (2, 2), (3, 2), (10, 100), (1659, 8000), (1659, 32000), (50_000, 1_000_000), (1, 10)]

_Q5_MESSAGES = {
    "not_a_number": "collision_share({n}, {bins}) returned {value}: return the share as a number",
    "itself": "collision_share({n}, {bins}) = {got:.4f} counts the id itself among the others: an id collides with one "
              "of the n_ids - 1 *other* ids, so the exponent is n_ids - 1",
    "count": "collision_share({n}, {bins}) = {got:.4f} is an expected *count* of colliding ids; the exercise asks for the "
             "share (divide by n_ids)",
    "linear": "collision_share({n}, {bins}) = {got:.4f} is the linear rule of thumb n_ids / bins; it holds only when "
              "bins >> n_ids and passes 1 otherwise. Use the probability that all the other ids miss the bin",
    "exponential": "collision_share({n}, {bins}) = {got:.6f} is the approximation 1 - exp(-n/bins), close only for "
                   "many bins; the exact share is 1 - (1 - 1/bins) ** (n_ids - 1) ({want:.6f})",
    "complement": "collision_share({n}, {bins}) = {got:.4f} is the share of ids that do *not* collide: take one minus it",
    "birthday": "collision_share({n}, {bins}) = {got:.4f} is the chance that at least one pair collides anywhere (the "
                "birthday problem); the exercise asks for the share of ids that share their bin",
    "integer_division": "collision_share({n}, {bins}) = {got} because 1 // bins is integer division (0 for bins > 1): "
                        "use 1 / bins",
    "percent": "collision_share({n}, {bins}) = {got:.4f} is a percentage: return a share between 0 and 1",
    "differs": "collision_share({n}, {bins}) returned {got:.6f}, expected {want:.6f}: compare with the formula in the "
               "hint (the probability that none of the other n_ids - 1 ids lands in the id's bin)",
}


_Q5_LAST_RESORT = {"differs"}


def _birthday(n_ids: int, bins: int) -> float:
    if n_ids > bins:
        return 1.0
    return 1.0 - float(np.prod(1.0 - np.arange(n_ids) / bins))


def _check_collision_share(function: Any) -> str:
    for n_ids, bins in _Q5_CASES:
        value = run_case(function, Case({"n_ids": n_ids, "bins": bins}), "collision_share")
        try:
            got = _number(value, f"collision_share({n_ids}, {bins})")
        except Mistake:
            raise Mistake(_Q5_MESSAGES["not_a_number"].format(n=n_ids, bins=bins, value=show(value, 40))) from None
        want = _reference_share(n_ids, bins)
        if abs(got - want) <= 1e-6 + 1e-6 * want:
            continue
        fields = {"n": n_ids, "bins": bins, "got": got, "want": want}
        candidates = [
            ("itself", 1.0 - (1.0 - 1.0 / bins) ** n_ids),
            ("count", want * n_ids),
            ("linear", n_ids / bins), ("linear", (n_ids - 1) / bins), ("linear", min(1.0, n_ids / bins)),
            ("exponential", 1.0 - math.exp(-n_ids / bins)), ("exponential", 1.0 - math.exp(-(n_ids - 1) / bins)),
            ("complement", 1.0 - want),
            ("birthday", _birthday(n_ids, bins)),
            ("integer_division", 1.0 - (1 - 1 // bins) ** (n_ids - 1)),
            ("percent", 100.0 * want),
        ]  # fmt: skip
        for key, value in candidates:
            if n_ids > 1 and abs(got - value) <= 1e-9 + 1e-6 * abs(value):
                raise Mistake(_Q5_MESSAGES[key].format(**fields))
        raise Mistake(_Q5_MESSAGES["differs"].format(**fields))
    return "1 - (1 - 1/bins)^(n - 1): the measured shares above follow it."


q5 = Exercise(
    "q5",
    "collision_share(n_ids, bins) for a uniform hash",
    _check_collision_share,
    hint="""
    Take one id. Each of the other n_ids - 1 ids lands in its bin with probability 1/bins, independently.
    What is the probability that none of them does? The share of colliding ids is one minus that.
    """,
    solution="""
    def collision_share(n_ids, bins):
        return 1 - (1 - 1 / bins) ** (n_ids - 1)
    """,
)
