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

The checks run the learner's code on the real engines: q1 in a traced call and a ``fit`` step
of TensorFlow, q2 eagerly first, then inside ``strategy.run`` under ``MirroredStrategy`` over the
lesson's logical CPUs (even splits, and 15 examples on 4 replicas), compared with one device, q3 against the loss real ``fit`` calls log, q4 by
one sharded training step in a JAX child process (:func:`check_layouts`, one child for several
layouts, results kept per layout). Every check uses the toolkit of :mod:`course_lib.checks`: each
exercise's mistakes are catalogued (``qN.mistakes``, :class:`~course_lib.checks.Pitfall` objects
with a detector and a message), the learner's own errors are explained in the lesson's terms, and
:func:`~course_lib.checks.fallback` says where to look when no catalogued mistake matches.
TensorFlow and Keras are imported only when a check runs.
"""

from __future__ import annotations

import dis
import json
import math
import re
import sys
from fractions import Fraction
from typing import Any

import numpy as np

from course_lib.checks import (
    NOT_A_FUNCTION,
    NUMBER_PITFALLS,
    RETURNED_NONE,
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
    failing_line,
    fallback,
    is_stub_function,
    is_rounding_of,
    is_tensor,
    learner_frames,
    read_number,
    run_case,
    show,
    with_article,
)

__all__ = ["q1", "q2", "q3", "q4", "q5", "logical_cpus", "check_layouts"]


# --------------------------------------------------------------------------- shared helpers


def logical_cpus(needed: int) -> list[str]:
    """The names of the first ``needed`` logical CPUs TensorFlow has (lesson 05's first cell makes 4).

    A helper of this module (not of ``course_lib.checks``): checks q2 and q3 build their own
    ``MirroredStrategy`` over these devices. Raises :class:`Mistake` with the fix (restart, run the
    first cell) when there are fewer.
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


def _expect_function(answer: Any, name: str) -> None:
    """:class:`Mistake` unless ``answer`` is a function; NotAttempted while it is still the lesson's stub.

    Checked before a check starts an engine, so that an unattempted exercise costs nothing.
    """
    if not callable(answer) or isinstance(answer, type):
        raise Mistake(f"give the function {name} itself (its name, without parentheses), got {describe(answer)}",
                      key=NOT_A_FUNCTION)  # fmt: skip
    if is_stub_function(answer):
        raise NotAttempted


#: A Python ``if``/``and``/``while`` on a tensor inside a traced step (not a NumPy error, though its text says "symbolic").
_TENSOR_BOOL = re.compile(r"as a Python `bool` is not allowed|OperatorNotAllowedInGraph")


def _is_graph_numpy_error(text: str) -> bool:
    """True for the errors NumPy code raises on the symbolic tensors of a traced step (a Python ``if`` on one excluded)."""
    if _TENSOR_BOOL.search(text):
        return False
    text = text.lower()
    return any(word in text for word in ("numpy", "symbolic", "__array__", "iterating over `tf.tensor`"))


def _learner_names(exc: BaseException) -> set[str]:
    """The names (functions, attributes) the learner's own code uses in the frames an exception went through."""
    return {name for frame, _ in learner_frames(exc) for name in frame.f_code.co_names}


def _near(value: float, target: float) -> bool:
    return abs(value - target) <= 1e-3 * max(1.0, abs(target))


# --------------------------------------------------------------------------- q1: reading rows through the handle

Q1_ROWS, Q1_DIM = 50, 4
_Q1_IDS = (np.array([3, 0, 49, 3, 17, 8], np.int32), np.array([[1, 2], [48, 0], [7, 7]], np.int64))


def _q1_kind(f) -> str:
    return "a function" if callable(f.answer) and not isinstance(f.answer, type) else describe(f.answer)


_Q1_ANSWER = [
    Pitfall("not_a_class", lambda f: f.cls is None or not f.is_layer,
            lambda f: f"give the class HandleEmbedding, a subclass of keras.layers.Embedding; you gave {_q1_kind(f)}"),
    Pitfall("not_an_embedding", lambda f: f.is_layer and not f.is_embedding,
            lambda f: f"{f.name} is not a subclass of keras.layers.Embedding: write class {f.name}(keras.layers.Embedding) "
                      "so it keeps the table (self.embeddings), its initializer and its mask, and override only call"),
    Pitfall("no_call", lambda f: f.is_embedding and not f.own_call,
            lambda f: f"{f.name} still runs Embedding's own call, ops.take(self.embeddings, ...), the dense read measured "
                      "above: override call(self, inputs)"),
]

_Q1_CONSTRUCTOR = Pitfall(
    "constructor", lambda f: True,  # any error of the constructor: it is the learner's, Embedding's works
    "keep Embedding's constructor: do not override __init__, or give it **kwargs and pass them on to super().__init__, "
    "as the check creates the layer with an initializer",
)


def _call_error_columns(f) -> bool:
    return f"is not in [0, {Q1_DIM})" in f.text


def _call_error_shifted(f) -> bool:
    return "= -1 is not in" in f.text or f"= {Q1_ROWS} is not in" in f.text


def _values_shifted(f) -> str | None:
    """``"id - "`` or ``"id + "`` when the rows returned are those of the ids shifted by one."""
    for shift, sign in ((-1, "-"), (1, "+")):
        if np.allclose(f.got, f.table[np.clip(f.ids + shift, 0, Q1_ROWS - 1)], atol=1e-6):
            return f"id {sign} "
    return None


def _q1_columns(f) -> bool:
    if hasattr(f, "text"):  # the call raised
        return _call_error_columns(f)
    return f.got.shape != f.want.shape and f.got.shape != f.table.shape and f.got.ndim >= 2 and f.got.shape[0] == Q1_ROWS


def _q1_off_by_one(f) -> bool:
    if hasattr(f, "text"):
        return _call_error_shifted(f)
    return f.got.shape == f.want.shape and f.got.dtype == np.float32 and not np.allclose(f.got, f.want, atol=1e-6) \
        and _values_shifted(f) is not None


def _q1_columns_message(f) -> str:
    where = "ids above the dimension make the lookup fail" if hasattr(f, "text") else f"the result has shape {f.got.shape}"
    return (f"tf.gather(..., axis=1) picks columns ({where}): the rows of a table are axis 0, the default, and the "
            "layer must return one row per id")


def _q1_off_by_one_message(f) -> str:
    if hasattr(f, "text"):
        shift = "id - " if "-1" in f.text else "id + "
    else:
        shift = _values_shifted(f)
    where = "" if hasattr(f, "text") else f"for ids {f.shown} "
    return (f"{where}your layer reads the rows of {shift}1: row i of the table belongs to id i (ids start at 0 here, "
            "and id 0 is a row like any other); gather at the ids themselves")


_Q1_COLUMNS = Pitfall("columns", _q1_columns, _q1_columns_message)
_Q1_OFF_BY_ONE = Pitfall("off_by_one", _q1_off_by_one, _q1_off_by_one_message)
def _call_error_indexing(f) -> bool:
    return "are valid indices" in f.text


_Q1_INDEXING = Pitfall(
    "indexing", _call_error_indexing,
    lambda f: "a tf.Variable cannot be indexed with a tensor of ids (table[ids] takes integers and slices only)"
              + (", and fit's graph cannot loop over the ids" if re.search(r"\bfor\b", failing_line(f.error)) else "")
              + ": gather the rows with tf.gather(self.embeddings.value, inputs)",
)
_Q1_CALL_RAISED = Pitfall(
    "call_raised", lambda f: not (_call_error_columns(f) or _call_error_shifted(f) or _call_error_indexing(f)),
    lambda f: f"call(self, inputs) gets a tensor of ids and must return their rows, shape ids.shape + (dimension,). "
              f"{explain_error(f.text)[:1].upper()}{explain_error(f.text)[1:]}",
)
_Q1_CALL_ERRORS = [_Q1_COLUMNS, _Q1_OFF_BY_ONE, _Q1_INDEXING, _Q1_CALL_RAISED]

_Q1_RESULT = [
    Pitfall("whole_table", lambda f: f.got.shape == f.table.shape and f.got.shape != f.want.shape,
            lambda f: f"for ids {f.shown} your layer returned shape {f.got.shape}, the whole table: gather the rows of ids"),
    _Q1_COLUMNS,
    Pitfall("dtype", lambda f: f.got.shape == f.want.shape and f.got.dtype != np.float32,
            lambda f: f"your layer returned {f.got.dtype} rows: keep the table's float32 (do not cast)"),
    _Q1_OFF_BY_ONE,
]

_Q1_NUMPY_IN_CALL = Pitfall(
    "numpy_in_call", lambda f: _is_graph_numpy_error(f.text),
    "your call uses NumPy or .numpy(), but fit runs call inside a compiled step where ids has no values yet: use "
    "TensorFlow ops, e.g. tf.gather",
)

_ONE_HOT_OPS = {"OneHot", "MatMul", "BatchMatMulV2"}

_Q1_GRADIENT = [
    Pitfall("no_gradient", lambda f: f.gradient == "none",
            "no gradient reaches the table from your layer's output: the rows must come from the variable itself (no "
            ".numpy() copy, no tf.stop_gradient)"),
    Pitfall("one_hot", lambda f: f.gradient != "none" and bool(f.ops & _ONE_HOT_OPS),
            "one-hot ids times the table (tf.one_hot, matmul) reads and multiplies every row of the table, and its "
            "gradient is a dense table: gather the rows with tf.gather(self.embeddings.value, inputs)"),
    Pitfall("dense_gradient", lambda f: f.gradient == "dense" and not f.ops & _ONE_HOT_OPS,
            lambda f: f"the gradient of the table is a dense {f.shape} tensor, not IndexedSlices: the step computes every "
                      "row (arithmetic on the whole table before the gather?) and writes every row back. Gather the rows "
                      "of the variable itself instead"),
    Pitfall("super_call", lambda f: f.super_call and f.gradient == "sparse" and "ReadVariableOp" in f.ops and not f.spy_read,
            "your call hands the work back to Embedding's own call (super().call), which reads the whole table with "
            "ops.take(self.embeddings, ...), the dense read measured above: read the rows yourself with "
            "tf.gather(self.embeddings.value, inputs)"),
    Pitfall("keras_variable", lambda f: not f.super_call and f.gradient == "sparse" and "ReadVariableOp" in f.ops
            and not f.spy_read,
            "the traced call reads the whole table (a ReadVariableOp, which copies the table once a sparse update has "
            "touched it) and never touched self.embeddings.value: a TensorFlow op given self.embeddings, the Keras "
            "variable, converts it to a tensor first. Pass the TensorFlow variable behind it: "
            "tf.gather(self.embeddings.value, inputs)"),
    Pitfall("read_value", lambda f: f.gradient == "sparse" and "ReadVariableOp" in f.ops and f.spy_read,
            "the traced call reads the whole table (a ReadVariableOp) before picking rows: read_value(), "
            "tf.convert_to_tensor, tf.identity or an arithmetic op on self.embeddings.value make a dense copy. Give the "
            "variable itself to tf.gather: tf.gather(self.embeddings.value, inputs)"),
]


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


def _q1_class(answer: Any):
    import keras

    cls = answer if isinstance(answer, type) else type(answer) if isinstance(answer, keras.layers.Layer) else None
    if cls is not None and is_stub_function(getattr(cls, "call", None)):
        raise NotAttempted
    is_layer = cls is not None and issubclass(cls, keras.layers.Layer)
    is_embedding = is_layer and issubclass(cls, keras.layers.Embedding)
    found = facts(answer=answer, cls=cls, name=getattr(cls, "__name__", "your class"), is_layer=is_layer,
                  is_embedding=is_embedding, own_call=is_embedding and cls.call is not keras.layers.Embedding.call)
    diagnose(_Q1_ANSWER, found)
    return cls


def _calls_super_call(cls) -> bool:
    """True if the class's own ``call`` calls ``super().call`` (Embedding's call, the dense read)."""
    code = getattr(cls.__dict__.get("call"), "__code__", None)
    if code is None:
        return False
    instructions = list(dis.get_instructions(code))
    return any(i.opname == "LOAD_SUPER_ATTR" and i.argval == "call" for i in instructions) or \
        {"super", "call"} <= set(code.co_names)


def _check_handle_embedding(answer: Any) -> str:
    import keras
    import tensorflow as tf

    cls = _q1_class(answer)
    name = cls.__name__
    initializer = keras.initializers.RandomNormal(seed=5)
    try:
        layer = cls(Q1_ROWS, Q1_DIM, embeddings_initializer=initializer)
        layer.build((None,))
    except Exception as exc:  # noqa: BLE001 - the learner's constructor
        raise explained_error(exc, f"{name}({Q1_ROWS}, {Q1_DIM}, embeddings_initializer=...)", explain=[_Q1_CONSTRUCTOR]) from None
    reference = keras.layers.Embedding(Q1_ROWS, Q1_DIM, embeddings_initializer=initializer)
    reference.build((None,))
    table = np.asarray(reference.embeddings.numpy())
    layer.embeddings.assign(table)

    for ids in _Q1_IDS:
        shown = show(ids)
        try:
            got = layer(tf.constant(ids))
        except Exception as exc:  # noqa: BLE001 - the learner's call
            raise explained_error(exc, f"calling your layer on ids {shown}", explain=_Q1_CALL_ERRORS) from None
        if got is None:
            raise Mistake(f"for ids {shown} your call returned None: did you forget the `return` statement?",
                          key=RETURNED_NONE)  # fmt: skip
        got = np.asarray(got)
        want = table[ids]
        diagnose(_Q1_RESULT, facts(got=got, want=want, table=table, ids=ids, shown=shown))
        if got.shape != want.shape:
            raise fallback(f"for ids {shown} your layer returned shape {got.shape}, expected {want.shape}",
                           f"one row of {Q1_DIM} numbers per id: tf.gather(self.embeddings.value, inputs)")
        if not np.allclose(got, want, atol=1e-6):
            raise fallback(f"for ids {shown} your layer returned numbers that are not the table's rows at those ids "
                           f"(largest difference {np.max(np.abs(got - want)):.3g})", "return the rows themselves, unchanged")

    try:
        with _ValueSpy(layer.embeddings) as spy:
            ops = _trace_ops(layer)
    except Exception as exc:  # noqa: BLE001 - fails only in a traced step
        raise explained_error(exc, "tracing your layer's call as fit does", explain=[_Q1_NUMPY_IN_CALL]) from None
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant([3, 0, 49, 3])) ** 2)
    gradient = tape.gradient(loss, layer.embeddings)
    kind = "none" if gradient is None else "sparse" if isinstance(gradient, tf.IndexedSlices) else "dense"
    diagnose(_Q1_GRADIENT, facts(gradient=kind, ops=ops, spy_read=spy.read, super_call=_calls_super_call(cls),
                                 shape=tuple(getattr(gradient, "shape", ()))))  # fmt: skip
    gathers = sorted(ops & {"ResourceGather", "ResourceGatherNd"})
    if not gathers:
        shown_ops = ", ".join(sorted(ops - {"Placeholder", "NoOp", "Identity", "Const"}))
        raise fallback(f"the traced call has no ResourceGather op (it runs {shown_ops})",
                       "read the rows with tf.gather(self.embeddings.value, inputs), which TensorFlow turns into "
                       "ResourceGather")  # fmt: skip

    # one SGD step of fit, next to Keras's Embedding: same table afterwards
    ids = np.array([1, 5, 5, 9, 30, 49, 0, 12], np.int32)
    targets = np.linspace(-1, 1, len(ids)).astype(np.float32)
    tables = []
    for kind_of_layer in (cls, keras.layers.Embedding):
        inputs = keras.Input(shape=(), dtype="int32")
        model = keras.Model(inputs, keras.ops.sum(kind_of_layer(Q1_ROWS, Q1_DIM, embeddings_initializer=initializer,
                                                                name="table")(inputs), axis=-1))  # fmt: skip
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        try:
            model.fit(ids, targets, batch_size=len(ids), epochs=1, shuffle=False, verbose=0)
        except Exception as exc:  # noqa: BLE001 - the learner's layer inside fit
            raise explained_error(exc, "one SGD step of model.fit with your layer") from None
        tables.append(np.asarray(model.get_layer("table").embeddings.numpy()))
    if not np.allclose(tables[0], tables[1], atol=1e-6):
        raise fallback(f"one SGD step of fit with your layer moved the table differently from Keras's Embedding (largest "
                       f"difference {np.max(np.abs(tables[0] - tables[1])):.3g})",
                       "the layer must compute the same rows and gradient, only read them differently")  # fmt: skip
    return (f"Traced as fit traces it, your call reads the table with {' and '.join(gathers)} and no ReadVariableOp, "
            "its gradient stays IndexedSlices, and a fit step moves the table exactly as Keras's Embedding does")


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
    mistakes=[*_Q1_ANSWER, _Q1_CONSTRUCTOR, _Q1_COLUMNS, _Q1_OFF_BY_ONE, _Q1_INDEXING, _Q1_CALL_RAISED, _Q1_RESULT[0],
              _Q1_RESULT[2], _Q1_NUMPY_IN_CALL, *_Q1_GRADIENT],
)


# --------------------------------------------------------------------------- q2: a replica's loss in a custom loop

#: q2's set-up: the global batch, the replica counts tried, the per-example penalty of the model. The global batch is
#: not the square of a replica count (16 = 4 x 4 would make a penalty divided by it look divided by the replicas twice).
Q2_GLOBAL_BATCH, Q2_REPLICAS, Q2_L2 = 24, (4, 2), 0.1
#: q2's uneven case: a global batch of 15 on 4 replicas, no penalty; tf.distribute splits it 4/4/4/3 (the check reads
#: the split from the distributed batch and names it).
Q2_UNEVEN_BATCH, Q2_UNEVEN_REPLICAS = 15, 4
#: (replicas, l2, global batch) of each case the check runs, in order.
Q2_CASES = ((Q2_REPLICAS[0], Q2_L2, Q2_GLOBAL_BATCH), (Q2_REPLICAS[1], 0.0, Q2_GLOBAL_BATCH),
            (Q2_UNEVEN_REPLICAS, 0.0, Q2_UNEVEN_BATCH))  # fmt: skip

def _float64_added(f) -> bool:
    """An addition whose second operand is float64 (TensorFlow's "double") while the first is float32."""
    return "AddV2" in f.text and "expected to be a float tensor but is a double tensor" in f.text


_Q2_ERRORS = [  # explain=: the learner's function raised, eagerly or inside strategy.run
    Pitfall("add_n_empty", lambda f: f.inputs.get("penalties") == [] and ("add_n" in f.text or "at least one" in f.text.lower()),
            "with a model without penalties, penalties is an empty list and tf.add_n([]) fails: add the penalty only "
            "when there is one (if penalties: ...)"),
    Pitfall("tensor_if", lambda f: f.inputs.get("graph", False) and bool(_TENSOR_BOOL.search(f.text)),
            "a Python `if` (or `and`, `or`, `while`) needs a tensor's True or False value, and inside strategy.run's "
            "compiled step a tensor has none yet: write the loss without branching on tensors (an empty replica needs "
            "no guard: tf.nn.compute_average_loss gives 0 there; `if penalties:` on the Python list is fine)"),
    Pitfall("sum_empty", lambda f: f.inputs.get("penalties") == [] and _float64_added(f)
            and {"sum", "scale_regularization_loss"} <= _learner_names(f.error),
            "without penalties, sum(penalties) is the Python int 0, and tf.nn.scale_regularization_loss(0) gives a "
            "float64 tensor, which cannot be added to the float32 loss: add the penalty only when there is one "
            "(if penalties: ...)"),
    Pitfall("numpy", lambda f: f.inputs.get("graph", False) and _is_graph_numpy_error(f.text),
            "your function runs inside strategy.run in a compiled step, where labels and predictions are symbolic "
            "tensors that NumPy cannot compute with. Use TensorFlow ops (tf.square, tf.reduce_sum, "
            "tf.nn.compute_average_loss)"),
    Pitfall("dtype", lambda f: "float64" in f.text.lower().replace("double", "float64") and "float" in f.text.lower()
            and not (_float64_added(f) and {"sum", "scale_regularization_loss"} <= _learner_names(f.error)),
            "that mixes float64 numbers (np.float64, a NumPy array, tf.cast to float64) with the float32 tensors; "
            "compute in float32: Python numbers, or tf.cast to float32"),
]

#: The probe: one replica's inputs, called eagerly before any engine runs.
_Q2_PROBE_LABELS, _Q2_PROBE_PREDICTIONS = [1.0, 2.0, 4.0], [[1.5], [1.0], [3.0]]


def _q2_probe_candidates() -> dict[str, list[float]]:
    labels, predictions = np.array(_Q2_PROBE_LABELS), np.array(_Q2_PROBE_PREDICTIONS)[:, 0]
    errors = labels - predictions
    table = labels[None, :] - predictions[:, None]  # (batch,) - (batch, 1): every label against every prediction
    return {"broadcast": [np.sum(table**2) / 3, np.mean(table**2)],
            "not_squared": [np.sum(np.abs(errors)) / 3, np.sum(errors) / 3, np.sum(np.abs(table)) / 3]}


def _probe_value(f) -> float | None:
    try:
        array = np.asarray(f.value.numpy() if hasattr(f.value, "numpy") else f.value, dtype=np.float64)
    except Exception:  # noqa: BLE001 - not numbers
        return None
    return float(array) if array.shape == () else None


def _is_numbers(value: Any) -> bool:
    try:
        array = np.asarray(value.numpy() if is_tensor(value) else value)
    except Exception:  # noqa: BLE001
        return False
    return array.dtype.kind in "biuf"


_Q2_PROBE = [
    Pitfall("not_a_loss", lambda f: not _is_numbers(f.value),
            lambda f: f"{f.call} returned {describe(f.value)}: return the replica's loss, one number (a float32 tensor)"),
    Pitfall("not_scalar", lambda f: _is_numbers(f.value) and np.shape(f.value.numpy() if is_tensor(f.value) else f.value) != (),
            lambda f: f"{f.call} returned shape {tuple(np.shape(f.value))}: return one number, the replica's share of the "
                      "loss (tf.nn.compute_average_loss sums the per-example losses for you)"),
    Pitfall("broadcast", lambda f: any(np.isclose(_probe_value(f), v, rtol=1e-5) for v in _q2_probe_candidates()["broadcast"]),
            "labels has shape (batch,) and predictions (batch, 1), so labels - predictions broadcast to a (batch, batch) "
            "table of every label against every prediction: flatten the predictions first, e.g. "
            "tf.reshape(predictions, [-1]) or predictions[:, 0]"),
    Pitfall("not_squared", lambda f: any(np.isclose(_probe_value(f), v, rtol=1e-5) for v in _q2_probe_candidates()["not_squared"]),
            "the per-example loss is not the squared error: the lesson's loss is mean squared error, "
            "(labels - predictions) ** 2 per example"),
]

_Q2_STEP = [
    Pitfall("no_gradient", lambda f: f.plain and _near(f.data, 0) and (not f.l2 or _near(f.penalty, 0)),
            "the loss you return does not depend on the predictions or the penalties, so no gradient reaches the "
            "weights: compute it from labels, predictions and penalties with TensorFlow ops"),
    Pitfall("no_data", lambda f: f.plain and f.l2 and _near(f.data, 0) and not _near(f.penalty, 0),
            "the data term is missing: the gradient has no squared-error part (labels - predictions) ** 2"),
    Pitfall("per_replica_mean", lambda f: f.plain and f.replicas > 1 and _near(f.data, f.replicas),
            lambda f: f"with {f.replicas} replicas the step was {f.replicas} times one device's: each replica averaged "
                      f"over its own {Q2_GLOBAL_BATCH // f.replicas} examples, and the replicas' gradients are added up. "
                      "Divide the sum of the per-example losses by the global batch: "
                      "tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)"),
    Pitfall("sum", lambda f: f.plain and _near(f.data, f.batch),
            lambda f: f"the step was {f.data:.0f} times one device's: you summed the per-example losses without dividing "
                      f"by the global batch size ({f.batch})"),
    Pitfall("divided_twice", lambda f: f.plain and f.replicas > 1 and _near(f.data, 1 / f.replicas),
            lambda f: f"the step was 1/{f.replicas} of one device's: you divided by the global batch and again by the "
                      "number of replicas. tf.nn.compute_average_loss(per_example, global_batch_size=...) already gives "
                      "each replica its share"),
    Pitfall("penalty_unscaled", lambda f: f.plain and f.l2 and _near(f.data, 1) and _near(f.penalty, f.replicas),
            lambda f: f"the penalty counted {f.replicas} times: each replica's penalties are already a mean over its "
                      "examples, and the replicas' gradients are added. Scale them: "
                      "tf.nn.scale_regularization_loss(tf.add_n(penalties))"),
    Pitfall("penalty_missing", lambda f: f.plain and f.l2 and _near(f.data, 1) and _near(f.penalty, 0),
            "the penalty is missing: add the model's penalties (the list penalties, model.losses in a real loop), "
            "scaled with tf.nn.scale_regularization_loss"),
    Pitfall("penalty_twice", lambda f: f.plain and f.l2 and f.replicas > 1 and _near(f.data, 1) and _near(f.penalty, 1 / f.replicas),
            lambda f: f"the penalty counted only 1/{f.replicas} of one device's, as if divided by the {f.replicas} replicas "
                      "twice: divide it once (tf.nn.scale_regularization_loss already does)"),
    Pitfall("penalty_by_batch", lambda f: f.plain and f.l2 and _near(f.data, 1) and _near(f.penalty, f.replicas / f.batch),
            lambda f: f"the penalty counted {Fraction(f.replicas, f.batch)} of one device's, as if divided by global_batch_size "
                      f"({f.batch}) on each of the {f.replicas} replicas: each replica's penalties are already a mean over its examples, so divide them by the "
                      "number of replicas only: tf.nn.scale_regularization_loss(tf.add_n(penalties))"),
    Pitfall("own_batch", lambda f: _own_batch(f) is not None,
            lambda f: f"the step was {f.data:.4g} times one device's, as if the squared errors were divided by "
                      f"{_own_batch(f)} instead of global_batch_size ({f.batch}): divide by the argument "
                      "global_batch_size, not a number of your own"),
    Pitfall("equal_slices", lambda f: f.uneven and f.equal_slices,
            lambda f: f"with {f.batch} examples on {f.replicas} replicas, split {f.split}, your loss took the step of a "
                      "replica's mean divided by the replicas (as Keras's MeanSquaredError share, or compute_average_loss "
                      f"without global_batch_size, does), not one device's (largest weight difference {f.difference:.2g}): "
                      "that is right only when every replica gets as many examples. Divide the sum by global_batch_size: "
                      "tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)"),
    Pitfall("loss_differs", lambda f: f.step_right and not f.loss_right,
            lambda f: f"the weights moved as on one device, but the losses you returned add up to {f.loss:.5g} over the "
                      f"{f.replicas} replicas instead of one device's {f.want_loss:.5g}: return the same number you "
                      "differentiate"),
]


def _own_batch(f) -> int | None:
    """The whole number the data term was divided by instead of the global batch, when the step says so; else None."""
    if not f.plain or f.step_right or (f.l2 and not _near(f.penalty, 1)) or f.data < 1e-3:
        return None
    divisor = f.batch / f.data
    whole = round(divisor)
    known = {1, f.batch, f.batch * f.replicas, *([f.batch / f.replicas] if f.replicas > 1 else [])}
    if whole < 2 or abs(divisor - whole) > 1e-3 * whole or any(_near(whole, k) for k in known):
        return None
    return whole


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


_Q2_SETUPS: dict = {}


def _q2_setup(replicas: int, l2: float, global_batch: int = Q2_GLOBAL_BATCH):
    """The strategy, model, optimizer and distributed batch (the first ``global_batch`` examples) of one set-up, made
    once; weights reset."""
    import keras
    import tensorflow as tf

    key = replicas, l2, global_batch
    if key not in _Q2_SETUPS:
        strategy = _strategy(replicas)
        with strategy.scope():
            model = _q2_model(l2)
            optimizer = keras.optimizers.SGD(0.1)
            optimizer.build(model.trainable_variables)
        data = tf.data.Dataset.from_tensor_slices(_q2_data()).take(global_batch).batch(global_batch)
        batch = next(iter(strategy.experimental_distribute_dataset(data)))
        _Q2_SETUPS[key] = (strategy, model, optimizer, batch, model.get_weights())
    strategy, model, optimizer, batch, initial = _Q2_SETUPS[key]
    model.set_weights(initial)
    return strategy, model, optimizer, batch


def _q2_split(replicas: int, global_batch: int) -> list[int]:
    """How many examples each replica got of the set-up's global batch (tf.distribute's split: 15 on 4 is 4/4/4/3)."""
    strategy, _, _, (_, labels) = _q2_setup(replicas, 0.0, global_batch)
    return [int(t.shape[0]) for t in strategy.experimental_local_results(labels)]


def _q2_step(loss_fn, replicas: int, l2: float, global_batch: int = Q2_GLOBAL_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """One SGD step with ``loss_fn`` as the replica loss; returns (change of all weights, flattened; the summed loss)."""
    import tensorflow as tf

    strategy, model, optimizer, batch = _q2_setup(replicas, l2, global_batch)
    before = np.concatenate([np.ravel(w.numpy()) for w in model.trainable_variables])

    @tf.function(autograph=False)
    def step(batch):
        def replica(inputs):
            x, y = inputs
            with tf.GradientTape() as tape:
                predictions = model(x, training=True)
                loss = tf.convert_to_tensor(loss_fn(y, predictions, list(model.losses), global_batch), tf.float32)
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


def _equal_slices_loss(labels, predictions, penalties, global_batch_size):
    """A replica's mean divided by the replicas: one device's step only when every replica gets as many examples."""
    import tensorflow as tf

    replicas = tf.distribute.get_replica_context().num_replicas_in_sync
    return tf.reduce_mean(tf.square(labels - tf.reshape(predictions, [-1]))) / replicas


_Q2_REFERENCES: dict = {}


def _q2_references():
    """One device: the step and loss of the data term alone, and of the penalty alone (model with the penalty); one
    device on the uneven case's examples; the step of a replica's mean divided by the replicas on the uneven split."""
    if not _Q2_REFERENCES:
        data_step, data_loss = _q2_step(_reference_loss(1, 0), 1, Q2_L2)
        penalty_step, penalty_loss = _q2_step(_reference_loss(0, 1), 1, Q2_L2)
        uneven_step, uneven_loss = _q2_step(_reference_loss(1, 0), 1, 0.0, Q2_UNEVEN_BATCH)
        _Q2_REFERENCES.update(data=data_step, penalty=penalty_step, loss=float(data_loss + penalty_loss),
                              plain_loss=float(data_loss), uneven=uneven_step, uneven_loss=float(uneven_loss))  # fmt: skip
    return _Q2_REFERENCES


_Q2_EQUAL_SLICES: dict = {}


def _q2_equal_slices_step() -> np.ndarray:
    """The step of a replica's mean divided by the replicas on the uneven split (made only for a wrong answer)."""
    if not _Q2_EQUAL_SLICES:
        _Q2_EQUAL_SLICES["step"] = _q2_step(_equal_slices_loss, Q2_UNEVEN_REPLICAS, 0.0, Q2_UNEVEN_BATCH)[0]
    return _Q2_EQUAL_SLICES["step"]


def _q2_call_text(replicas: int, penalties: bool, global_batch: int = Q2_GLOBAL_BATCH) -> str:
    if global_batch % replicas:
        labels = f"labels of {global_batch} examples split {_show_split(_q2_split(replicas, global_batch))}"
    else:
        per = global_batch // replicas
        labels = f"labels of shape ({per},), predictions of shape ({per}, 1)"
    return (f"replica_loss({labels}, penalties={'[one penalty]' if penalties else '[]'}, "
            f"global_batch_size={global_batch}) on {replicas} replicas")


def _show_split(split: list[int]) -> str:
    return "/".join(map(str, split))


def _q2_probe(function) -> None:
    """Call the learner's function eagerly on one replica's inputs: errors, what it returns, the per-example loss."""
    import tensorflow as tf

    case = Case({"labels": tf.constant(_Q2_PROBE_LABELS), "predictions": tf.constant(_Q2_PROBE_PREDICTIONS),
                 "penalties": [], "global_batch_size": 3}, about="one replica's 3 examples, called eagerly")  # fmt: skip
    value = run_case(function, case, "replica_loss", explain=_Q2_ERRORS)
    call = "replica_loss(labels of shape (3,), predictions of shape (3, 1), penalties=[], global_batch_size=3)"
    diagnose(_Q2_PROBE, facts(value=value, call=call))


def _q2_run_learner(function, replicas: int, l2: float, global_batch: int):
    call = _q2_call_text(replicas, bool(l2), global_batch)
    try:
        return _q2_step(function, replicas, l2, global_batch)
    except (KeyboardInterrupt, Mistake, NotAttempted):
        raise
    except BaseException as exc:  # noqa: BLE001 - the learner's function failed inside the engine
        inputs = {"penalties": [1] if l2 else [], "graph": True}
        raise explained_error(exc, f"inside strategy.run, {call}", explain=_Q2_ERRORS, inputs=inputs) from None


def _check_replica_loss(function: Any) -> str:
    _expect_function(function, "replica_loss")
    _q2_probe(function)
    logical_cpus(max(Q2_REPLICAS))  # before any engine runs: the fix if the lesson's first cell did not run first
    reference = _q2_references()
    for replicas, l2, global_batch in Q2_CASES:
        uneven = global_batch != Q2_GLOBAL_BATCH
        step, loss = _q2_run_learner(function, replicas, l2, global_batch)
        data_step = reference["uneven" if uneven else "data"]
        want = data_step + (reference["penalty"] if l2 else 0)
        want_loss = reference["uneven_loss"] if uneven else reference["loss"] if l2 else reference["plain_loss"]
        step_right = bool(np.allclose(step, want, rtol=1e-4, atol=1e-6))
        loss_right = loss.shape == () and bool(np.isclose(float(loss), want_loss, rtol=1e-4, atol=1e-6))
        if step_right and loss_right:
            continue
        columns = np.stack([data_step, reference["penalty"]], axis=1) if l2 else data_step[:, None]
        (data_factor, *penalty_factor), *_ = np.linalg.lstsq(columns, step, rcond=None)
        penalty_factor = penalty_factor[0] if penalty_factor else 0.0
        fitted = columns @ ([data_factor, penalty_factor] if l2 else [data_factor])
        plain = bool(np.linalg.norm(fitted - step) <= 1e-3 * max(np.linalg.norm(want), 1e-9))
        equal_slices = uneven and not step_right and bool(np.allclose(step, _q2_equal_slices_step(), rtol=1e-4, atol=1e-6))
        split = _show_split(_q2_split(replicas, global_batch)) if uneven else None
        found = facts(replicas=replicas, l2=bool(l2), data=float(data_factor), penalty=float(penalty_factor), plain=plain,
                      step_right=step_right, loss_right=loss_right, loss=float(np.sum(loss)), want_loss=want_loss,
                      uneven=uneven, equal_slices=equal_slices, batch=global_batch, split=split,
                      difference=float(np.max(np.abs(step - want))))  # fmt: skip
        diagnose(_Q2_STEP, found)
        where = f"with {global_batch} examples on {replicas} replicas, split {split}," if uneven else f"with {replicas} replicas"
        if plain:
            how = f"the data part of the step was {data_factor:.3g} times one device's" + \
                (f" and its penalty part {penalty_factor:.3g} times" if l2 else "")
        else:
            how = (f"the weights moved differently from one device's step (largest difference "
                   f"{np.max(np.abs(step - want)):.3g}) and not by a plain factor")
        raise fallback(f"{where} {how}",
                       "check the per-example loss (labels - flattened predictions) ** 2, its division by "
                       "global_batch_size and the scaled penalty")  # fmt: skip
    split = _show_split(_q2_split(Q2_UNEVEN_REPLICAS, Q2_UNEVEN_BATCH))
    return (f"On {Q2_REPLICAS[0]} replicas with a penalty, on {Q2_REPLICAS[1]} without, and with {Q2_UNEVEN_BATCH} examples "
            f"on {Q2_UNEVEN_REPLICAS} replicas (split {split}), the summed gradients took one device's step and the "
            "replicas' losses add up to one device's loss")


q2 = Exercise(
    "q2",
    "replica_loss: one device's step from every replica's share",
    _check_replica_loss,
    hint="""
    Each replica sees part of the global batch, and the replicas' gradients are added up. So a replica's
    loss is the sum of its per-example squared errors divided by the *global* batch size
    (tf.nn.compute_average_loss does that), plus its penalties divided by the number of replicas
    (tf.nn.scale_regularization_loss). Flatten predictions (batch, 1) to (batch,) first, and add the
    penalty only if the list is not empty. The check also tries an uneven split (15 examples on 4
    replicas: 4, 4, 4 and 3), where a replica's own mean divided by the replicas is not its share.
    """,
    solution="""
    def replica_loss(labels, predictions, penalties, global_batch_size):
        per_example = tf.square(labels - tf.reshape(predictions, [-1]))        # (per-replica batch,)
        loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
        if penalties:
            loss += tf.nn.scale_regularization_loss(tf.add_n(penalties))
        return loss
    """,
    mistakes=[*_Q2_ERRORS, *_Q2_PROBE, *_Q2_STEP],
)


# --------------------------------------------------------------------------- q3: the loss fit logs

#: q3's set-up: global batch, replica counts and the per-example L2 of the model whose fit is observed.
Q3_GLOBAL_BATCH, Q3_REPLICAS, Q3_L2 = 16, (2, 4), 0.5
#: The fits q3 compares with: (replicas, rank of the output). A column's log does not depend on the replicas, so
#: 2 replicas show it (tests/test_lesson05.py fits it on 4 too and finds the same log); (batch,) outputs are fitted on
#: 2 and 4 to tell "times the replicas" from "times 2".
Q3_FITS = ((2, 1), (2, 2), (4, 1))
#: The cases the learner's formula is tried on, (replicas, rank) -> the fit whose log it must give: the column on 4
#: replicas too (its log is the 2-replica one), so that a formula right for a column only on 2 replicas fails.
Q3_CASES = {(2, 1): (2, 1), (2, 2): (2, 2), (4, 1): (4, 1), (4, 2): (2, 2)}

def _number_tuple(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) > 1 and all(_is_numbers(v) and np.ndim(v) == 0 for v in value)


_Q3_ANSWER = [
    Pitfall("tuple", lambda f: _number_tuple(f.value),
            lambda f: f"{f.call} returned a tuple of {len(f.value)} numbers ({show(f.value)}): fit logs one number, the "
                      "data loss with the penalty added to it: return that one number"),
]

_Q3_ERRORS = [
    Pitfall("shape_index", lambda f: "output_shape" in f.inputs and ("tuple index" in f.text or "'tuple'" in f.text),
            "output_shape is a tuple, (16,) for a (batch,) output or (16, 1) for a column: a (batch,) output has no "
            "second entry, so compare len(output_shape) (or output_shape[-1] only for the column)"),
]


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


def _q3_matches(key: str):
    def detect(f) -> bool:
        return all(math.isclose(got, _q3_candidates(f.mse, f.penalty, r, k, Q3_GLOBAL_BATCH)[key], rel_tol=1e-4, abs_tol=1e-6)
                   for r, k, _, _, got in f.cases)  # fmt: skip

    return detect


def _q3_first_wrong(f):
    return f.wrong[0]  # (replicas, rank, shape, truth, got)


_Q3_FORMULAS = [
    Pitfall("swapped", _q3_matches("swapped"),
            "the two shapes are the other way round: the (batch, 1) column gives per-example losses, which Keras scales "
            "per replica (one device's log); the (batch,) output gives one number, unscaled (replicas * mse + penalty)"),
    Pitfall("always_one_device", _q3_matches("always_one_device"),
            lambda f: f"for a ({Q3_GLOBAL_BATCH},) output on {_q3_first_wrong(f)[0]} replicas fit logs "
                      f"{_q3_first_wrong(f)[3]:.4f}, you returned one device's {_q3_first_wrong(f)[4]:.4f}: with a (batch,) "
                      "output \"mse\" is already one number, reduce_values returns it unscaled, and each replica's data "
                      "loss counts in full: the log is replicas * mse + penalty"),
    Pitfall("always_summed", _q3_matches("always_summed"),
            lambda f: f"for a ({Q3_GLOBAL_BATCH}, 1) output fit logs one device's loss, mse + penalty "
                      f"({_q3_first_wrong(f)[3]:.4f}); you returned {_q3_first_wrong(f)[4]:.4f}: with one loss per example "
                      "Keras divides by the number of replicas and undoes it for the log"),
    Pitfall("penalty_summed", _q3_matches("penalty_summed"),
            "for a (batch,) output you multiplied the penalty by the replicas too: Keras scales the penalty per replica "
            "(scale_loss_for_distribution) in both cases; only the data loss escapes the scaling. The log is replicas * "
            "mse + penalty"),
    Pitfall("old_rule", _q3_matches("old_rule"),
            "that is the rule \"data summed over the replicas, penalty divided by them\": the data part is right for a "
            "(batch,) output only, and the penalty is scaled down per replica and multiplied back for the log "
            "(unscale_loss_for_distribution), so it appears once, as on one device, for both shapes"),
    Pitfall("penalty_divided", _q3_matches("penalty_divided"),
            "you divided the penalty by the replicas: the log multiplies each replica's loss back "
            "(unscale_loss_for_distribution) before averaging, so the penalty appears as on one device"),
    Pitfall("no_penalty", _q3_matches("no_penalty"),
            "the penalty is missing: fit logs the data loss plus the model's penalties (model.losses)"),
    Pitfall("one_replica", _q3_matches("one_replica"),
            "you returned one replica's scaled share; fit logs the loss multiplied back by the number of replicas and "
            "averaged over them"),
    Pitfall("batch", _q3_matches("batch"),
            "you multiplied by output_shape[0], the batch size; the factor is the number of replicas"),
]

_Q3_TRUTH: dict = {}


def _q3_truth() -> dict:
    """What real ``fit`` logs for one SGD step of a Dense model on 16 examples: {(replicas, rank): loss}, plus mse and penalty."""
    if _Q3_TRUTH:
        return _Q3_TRUTH
    import keras

    logical_cpus(max(Q3_REPLICAS))
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
    for replicas, rank in Q3_FITS:
        with _strategy(replicas).scope():
            model = build(rank)
            model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        history = model.fit(features, labels, batch_size=Q3_GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
        logged[replicas, rank] = float(history.history["loss"][0])
    _Q3_TRUTH.update(mse=mse, penalty=penalty, logged=logged)
    return _Q3_TRUTH


def _q3_call(function, mse: float, penalty: float, replicas: int, shape: tuple) -> float:
    case = Case({"mse": mse, "penalty": penalty, "replicas": replicas, "output_shape": shape})
    value = run_case(function, case, "logged_loss", explain=_Q3_ERRORS)
    call = f"logged_loss({mse:.4g}, {penalty:.4g}, {replicas}, {shape})"
    diagnose(_Q3_ANSWER, facts(value=value, call=call))
    return read_number(value, call).value


def _check_logged_loss(function: Any) -> str:
    _expect_function(function, "logged_loss")
    _q3_call(function, 1.0, 0.5, 2, (Q3_GLOBAL_BATCH,))  # errors and non-numbers first, before any engine runs
    truth = _q3_truth()
    mse, penalty = truth["mse"], truth["penalty"]
    cases = []
    for (replicas, rank), fit in sorted(Q3_CASES.items()):
        shape = (Q3_GLOBAL_BATCH,) if rank == 1 else (Q3_GLOBAL_BATCH, 1)
        logged = truth["logged"][fit]
        cases.append((replicas, rank, shape, logged, _q3_call(function, mse, penalty, replicas, shape)))
    wrong = [c for c in cases if not math.isclose(c[4], c[3], rel_tol=1e-4, abs_tol=1e-6)]
    if not wrong:
        return ("Your formula gives the loss real fit logged for both output shapes on 2 and 4 replicas: "
                "replicas * mse + penalty for (batch,), one device's mse + penalty for (batch, 1)")
    diagnose(_Q3_FORMULAS, facts(cases=cases, wrong=wrong, mse=mse, penalty=penalty))
    replicas, rank, shape, logged, got = wrong[0]
    raise fallback(f"for output_shape={shape} on {replicas} replicas fit logs {logged:.5f}, you returned {got:.5f}",
                   "compare with the lesson's cell that prints the logged losses of both output shapes")


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
    mistakes=[*_Q3_ANSWER, *NUMBER_PITFALLS, *_Q3_ERRORS, *_Q3_FORMULAS],
)


# --------------------------------------------------------------------------- q4: a LayoutMap for both tables

#: q4's mesh: one batch shard and 4 model shards (the lesson's 4 devices).
Q4_MESH_SHAPE, Q4_AXES = (1, 4), ("batch", "model")

_Q4_GIVEN = re.compile(r"should be a TensorLayout type, got <class '(\w+)'>")

_Q4_ERRORS = [
    Pitfall("axis_name", lambda f: "axis names" in f.text.lower(),
            "a layout names the mesh's axes, here \"batch\" and \"model\" (or None for a dimension that is not split)"),
    Pitfall("layout_type", lambda f: _Q4_GIVEN.search(f.text) is not None,
            lambda f: f"LayoutMap takes a tuple with one axis name or None per dimension of the variable, (\"model\", None), "
                      f"or keras.distribution.TensorLayout((\"model\", None)); it refuses "
                      f"{with_article(_Q4_GIVEN.search(f.text).group(1))}"),
]


def _q4_tables() -> dict[str, str]:
    """The rating model's embedding tables: {variable path: layer name}."""
    from course_lib import recommender as rec

    return {f"{name}/embeddings": name for name in rec.EMBEDDING_TABLES}


def _q4_paths() -> dict[str, str]:
    """The rating model's 2-D variables: {path: layer name}."""
    from course_lib import recommender as rec

    return {f"{name}/embeddings": name for name in (rec.USER_EMBEDDING, rec.MOVIE_EMBEDDING, rec.USER_BIAS, rec.MOVIE_BIAS)}


def _bad_regex(key: str) -> str | None:
    try:
        re.compile(key)
    except re.error as exc:
        return str(exc)
    return None


def _matching(f, path: str) -> list[str]:
    return [key for key in f.keys if key == path or (_bad_regex(key) is None and re.fullmatch(key, path))]


def _is_layout_map(value) -> bool:
    import keras

    return isinstance(value, keras.distribution.LayoutMap)


def _is_distribution(value) -> bool:
    import keras

    return isinstance(value, (keras.distribution.ModelParallel, keras.distribution.DataParallel))


def _layout_axes(f, path: str):
    layout = f.answer[path]
    return None if layout is None else tuple(layout.axes)


def _split(f) -> list[str]:
    return [path for path in f.tables if _layout_axes(f, path) is not None]


def _stray_keys(f) -> list[str]:
    """The keys of the answer that match none of the model's variables (its four tables; a misspelt layer name, say)."""
    return [key for key in f.keys if _bad_regex(key) is None and not any(key in _matching(f, p) for p in f.paths)]


def _q4_wrong_axes(f, test) -> str | None:
    for path in _split(f):
        if test(_layout_axes(f, path)):
            return path
    return None


_Q4_ANSWER = [
    Pitfall("distribution", lambda f: _is_distribution(f.answer),
            "shard_tables(mesh) returned the ModelParallel distribution: return only its LayoutMap; the check (like the "
            "lesson) builds ModelParallel(layout_map=..., batch_dim_name=\"batch\") from it"),
    Pitfall("not_a_layout_map", lambda f: not _is_layout_map(f.answer) and not _is_distribution(f.answer),
            lambda f: f"shard_tables(mesh) returned {'a dict' if isinstance(f.answer, dict) else describe(f.answer)}: "
                      "return a keras.distribution.LayoutMap(mesh) with an entry per table"),
]

_Q4_MAP = [
    Pitfall("other_mesh", lambda f: (tuple(f.answer.device_mesh.shape), tuple(f.answer.device_mesh.axis_names))
            != (Q4_MESH_SHAPE, Q4_AXES),
            lambda f: f"your LayoutMap is built on another DeviceMesh ({tuple(f.answer.device_mesh.shape)}, axes "
                      f"{tuple(f.answer.device_mesh.axis_names)}): build it on the mesh passed in, "
                      "keras.distribution.LayoutMap(mesh)"),
    Pitfall("glob", lambda f: any(_bad_regex(key) for key in f.keys),
            lambda f: next(f"the key {key!r} is not a valid regular expression ({_bad_regex(key)}): keys are regular "
                           "expressions, not file patterns; \".*\" matches any text" for key in f.keys if _bad_regex(key))),
    Pitfall("two_keys", lambda f: any(len(_matching(f, p)) > 1 and p not in _matching(f, p) for p in f.paths),
            lambda f: next(f"the variable {p!r} matches more than one key of your LayoutMap "
                           f"({', '.join(repr(k) for k in _matching(f, p))}); Keras refuses that: keep one key per table"
                           for p in f.paths if len(_matching(f, p)) > 1 and p not in _matching(f, p))),
]

_Q4_TABLES = [
    Pitfall("layer_name_key", lambda f: not _split(f) and any(key in f.tables.values() for key in f.keys),
            lambda f: next(f"the key {key!r} is a layer name, but LayoutMap matches keys against whole variable paths "
                           f"(re.fullmatch): use {key + '/embeddings'!r}" for key in f.keys if key in f.tables.values())),
    Pitfall("no_match", lambda f: not _split(f) and not any(key in f.tables.values() for key in f.keys),
            lambda f: f"no key of your LayoutMap matches {next(iter(f.tables))!r} (keys: "
                      f"{', '.join(repr(k) for k in f.keys) or 'none'}): the rating model's table variables are "
                      f"{', '.join(repr(p) for p in f.tables)}"),
    Pitfall("rank", lambda f: _q4_wrong_axes(f, lambda axes: len(axes) != 2) is not None,
            lambda f: (lambda path, axes: f"{path!r} is a 2-D table (rows, columns) but its layout {axes} has "
                                          f"{len(axes)} entr{'y' if len(axes) == 1 else 'ies'}: give one per dimension, "
                                          "(\"model\", None)")(
                *(lambda p: (p, _layout_axes(f, p)))(_q4_wrong_axes(f, lambda axes: len(axes) != 2)))),
    Pitfall("columns", lambda f: _q4_wrong_axes(f, lambda axes: axes == (None, "model")) is not None,
            lambda f: f"{_q4_wrong_axes(f, lambda axes: axes == (None, 'model'))!r} has the layout (None, 'model'): that "
                      "splits the columns (the numbers of each row) over the devices. Split the rows: (\"model\", None)"),
    Pitfall("batch_axis", lambda f: _q4_wrong_axes(f, lambda axes: len(axes) == 2 and axes[0] == "batch") is not None,
            lambda f: f"{_q4_wrong_axes(f, lambda axes: len(axes) == 2 and axes[0] == 'batch')!r} has a layout on the "
                      "mesh's \"batch\" axis, which has one device, so nothing is split. Use the \"model\" axis, which has "
                      "4: (\"model\", None)"),
    Pitfall("one_table", lambda f: 0 < len(_split(f)) < len(f.tables),
            lambda f: (lambda done, missing, stray: f"only {f.tables[done]} is split; {f.tables[missing]} stays whole on "
                                                    "every device: " + (f"your key {stray[0]!r} matches no variable; the "
                                                                        f"variable's path is {missing!r}" if stray else
                                                                        f"add an entry for {missing!r}"))(
                _split(f)[0], next(p for p in f.tables if p not in _split(f)), _stray_keys(f))),
]

_Q4_JAX = Pitfall(
    "jax_error", lambda f: True,  # the step failed: explained below by what JAX said
    lambda f: ("every dimension a layout splits must divide evenly over the devices of its mesh axis: which variable "
               "got an axis it cannot be split on (a one-column bias table split by columns, say)?"
               if "divis" in f.text.lower() or "indivisible" in f.text.lower() else
               "check each entry's axes against the shape of the variables its key matches: one axis name or None per "
               "dimension"),
)

_LAYOUT_RESULTS: dict[str, dict] = {}


def check_layouts(specs: list[dict], *, timeout: float = 300) -> list[dict]:
    """Run :func:`course_lib.distributed.layout_checks` on the specs not checked yet, in one JAX child; return every result.

    Results are kept per spec (a layout's sharded step is deterministic), so checking the same answer
    again costs nothing, and a test can check many answers with one child process.
    """
    from course_lib import distributed

    keys = [json.dumps(spec, sort_keys=True) for spec in specs]
    todo = list(dict.fromkeys(key for key in keys if key not in _LAYOUT_RESULTS))
    if todo:
        results = distributed.run_module(["layout-check", "--spec", json.dumps([json.loads(k) for k in todo])],
                                         env=distributed.jax_env(int(np.prod(Q4_MESH_SHAPE))), timeout=timeout)  # fmt: skip
        _LAYOUT_RESULTS.update(zip(todo, results))
    return [_LAYOUT_RESULTS[key] for key in keys]


def _q4_mesh():
    import keras

    return keras.distribution.DeviceMesh(Q4_MESH_SHAPE, Q4_AXES, [f"cpu:{i}" for i in range(int(np.prod(Q4_MESH_SHAPE)))])


def _q4_spec(function: Any) -> dict:
    """Run ``shard_tables`` on the lesson's mesh, catch what can be seen without JAX, and return the layout to run there."""
    _expect_function(function, "shard_tables")
    mesh = _q4_mesh()
    case = Case({"mesh": mesh})
    answer = run_case(function, case, "shard_tables", explain=_Q4_ERRORS)
    diagnose(_Q4_ANSWER, facts(answer=answer))
    found = facts(answer=answer, keys=list(answer), paths=_q4_paths(), tables=_q4_tables())
    diagnose(_Q4_MAP, found)
    diagnose(_Q4_TABLES, found)
    return {"shape": list(Q4_MESH_SHAPE), "axis_names": list(Q4_AXES), "batch_dim_name": "batch",
            "layout": [[key, list(answer[key].axes) if answer[key] is not None else None] for key in found.keys]}  # fmt: skip


def _check_shard_tables(function: Any) -> str:
    spec = _q4_spec(function)
    result = check_layouts([spec])[0]
    if result["error"]:
        text = result["error"]
        why = _Q4_JAX.text(facts(text=text))
        stop = " " if text.endswith("...") else ". "
        raise Mistake(f"one sharded training step on JAX with your LayoutMap raised {text}{stop}{why[:1].upper()}{why[1:]}",
                      key=_Q4_JAX.key, error=text)  # fmt: skip
    for path in _q4_tables():
        shards = result["layouts"].get(path, [])
        rows = sorted(tuple(s["rows"]) for s in shards)
        whole_columns = all(s["cols"][0] == 0 and s["cols"][1] == shards[0]["cols"][1] for s in shards)
        if len(shards) != 4 or len(set(rows)) != 4 or not whole_columns:
            raise fallback(f"in the sharded step on JAX, {path!r} was not split by rows over the 4 devices "
                           f"(rows per device: {rows})", "check its layout: (\"model\", None)")
    if result["max_difference"] > 1e-5:
        raise fallback(f"the sharded step on JAX gave other weights than one device (largest difference "
                       f"{result['max_difference']:.3g})", "split only the rows of the two tables")
    from course_lib import recommender as rec

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
    mistakes=[*_Q4_ERRORS, *_Q4_ANSWER, *_Q4_MAP, *_Q4_TABLES, _Q4_JAX],
)


# --------------------------------------------------------------------------- q5: collisions of a hashed table


def _reference_share(n_ids: int, bins: int) -> float:
    return 1.0 - (1.0 - 1.0 / bins) ** (n_ids - 1)


_Q5_CASES = [(3, 4), (2, 2), (3, 2), (10, 100), (1659, 8000), (1659, 32000), (50_000, 1_000_000), (1, 10)]


def _birthday(n_ids: int, bins: int) -> float:
    if n_ids > bins:
        return 1.0
    return 1.0 - float(np.prod(1.0 - np.arange(n_ids) / bins))


def _uses_floor_division(function: Any) -> bool:
    """True if the function's code (or a function nested in it) divides with ``//``."""
    codes = [getattr(function, "__code__", None)]
    while codes:
        code = codes.pop()
        if code is None:
            continue
        for instruction in dis.get_instructions(code):
            if instruction.opname == "BINARY_FLOOR_DIVIDE" or instruction.argrepr in ("//", "//="):
                return True
        codes.extend(const for const in code.co_consts if hasattr(const, "co_code"))
    return False


def _q5_is(*values):
    """A detector: one of the formulas ``values`` (of a case's facts) gives what the answer returned on every failing
    case (ids alone, n_ids = 1, excepted), not on the first only: two formulas can meet on one case (3 ids, 4 bins)."""
    def same(value, case) -> bool:
        return abs(case.got - value(case)) <= 1e-9 + 1e-6 * abs(value(case))

    def detect(f) -> bool:
        cases = [case for case in f.wrong if case.n > 1]
        return bool(cases) and any(all(same(value, case) for case in cases) for value in values)

    return detect


def _q5_rounded(f) -> int | None:
    """The decimals the answer was rounded to, when every failing case is the share rounded to 1 to 10 decimals."""
    for decimals in range(1, 11):
        if all(math.isclose(case.got, round(case.want, decimals), rel_tol=1e-9, abs_tol=1e-12) for case in f.wrong) \
                and all(is_rounding_of(case.got, case.want, decimals=decimals) for case in f.wrong):
            return decimals
    return None


_Q5 = [
    Pitfall("itself", _q5_is(lambda f: 1.0 - (1.0 - 1.0 / f.bins) ** f.n),
            lambda f: f"collision_share({f.n}, {f.bins}) = {f.got:.4f} counts the id itself among the others: an id "
                      "collides with one of the n_ids - 1 *other* ids, so the exponent is n_ids - 1"),
    Pitfall("count", _q5_is(lambda f: f.want * f.n),
            lambda f: f"collision_share({f.n}, {f.bins}) = {f.got:.4f} is an expected *count* of colliding ids; the "
                      "exercise asks for the share (divide by n_ids)"),
    Pitfall("linear", _q5_is(lambda f: f.n / f.bins, lambda f: (f.n - 1) / f.bins, lambda f: min(1.0, f.n / f.bins)),
            lambda f: f"collision_share({f.n}, {f.bins}) = {f.got:.4f} is the linear rule of thumb n_ids / bins; it holds "
                      "only when bins >> n_ids and passes 1 otherwise. Use the probability that all the other ids miss the bin"),
    Pitfall("exponential", _q5_is(lambda f: 1.0 - math.exp(-f.n / f.bins), lambda f: 1.0 - math.exp(-(f.n - 1) / f.bins)),
            lambda f: f"collision_share({f.n}, {f.bins}) = {f.got:.6f} is the approximation 1 - exp(-n/bins), close only "
                      f"for many bins; the exact share is 1 - (1 - 1/bins) ** (n_ids - 1) ({f.want:.6f})"),
    Pitfall("complement", _q5_is(lambda f: 1.0 - f.want),
            lambda f: f"collision_share({f.n}, {f.bins}) = {f.got:.4f} is the share of ids that do *not* collide: take "
                      "one minus it"),
    Pitfall("birthday", _q5_is(lambda f: _birthday(f.n, f.bins)),
            lambda f: f"collision_share({f.n}, {f.bins}) = {f.got:.4f} is the chance that at least one pair collides "
                      "anywhere (the birthday problem); the exercise asks for the share of ids that share their bin"),
    Pitfall("pairs", _q5_is(lambda f: f.n * (f.n - 1) / (2 * f.bins)),
            lambda f: f"collision_share({f.n}, {f.bins}) = {f.got:.4f} is n_ids (n_ids - 1) / (2 bins), the expected "
                      "number of colliding *pairs*; the exercise asks for the share of ids that share their bin: one "
                      "minus the probability that all the other ids miss the id's bin"),
    Pitfall("integer_division", lambda f: f.floor_division,
            lambda f: f"collision_share({f.n}, {f.bins}) = {f.got:g}, and your function divides with //, integer "
                      "division: 1 // bins and (bins - 1) // bins are 0 for bins > 1. Use /"),
    Pitfall("rounded", lambda f: not f.floor_division and _q5_rounded(f) is not None,
            lambda f: f"collision_share({f.n}, {f.bins}) = {f.got:g} is the share rounded to {_q5_rounded(f)} decimals "
                      f"({f.want:.6f} unrounded): return it unrounded, and round only to print"),
    Pitfall("percent", _q5_is(lambda f: 100.0 * f.want),
            lambda f: f"collision_share({f.n}, {f.bins}) = {f.got:.4f} is a percentage: return a share between 0 and 1"),
]


def _check_collision_share(function: Any) -> str:
    floor_division = _uses_floor_division(function)
    wrong = []  # every failing case, so that a pitfall fires only if its formula explains them all
    for n_ids, bins in _Q5_CASES:
        case = Case({"n_ids": n_ids, "bins": bins})
        value = run_case(function, case, "collision_share")
        got = read_number(value, f"collision_share({n_ids}, {bins})").value
        want = _reference_share(n_ids, bins)
        if abs(got - want) > 1e-6 + 1e-6 * want:
            wrong.append(facts(n=n_ids, bins=bins, got=float(got), want=want))
    if not wrong:
        return "1 - (1 - 1/bins)^(n - 1): the measured shares above follow it."
    first = wrong[0]
    diagnose(_Q5, facts(n=first.n, bins=first.bins, got=first.got, want=first.want, wrong=wrong,
                        floor_division=floor_division))  # fmt: skip
    raise fallback(f"collision_share({first.n}, {first.bins}) returned {first.got:.6f}, expected {first.want:.6f}",
                   "follow the hint's reasoning: each of the n_ids - 1 other ids misses the id's bin with probability "
                   "1 - 1/bins, independently, and the share is one minus the chance that they all miss")


q5 = Exercise(
    "q5",
    "collision_share(n_ids, bins) for a uniform hash",
    _check_collision_share,
    hint="""
    Take one id. Each of the other ids (n_ids - 1 of them) lands in its bin with probability 1/bins, independently.
    What is the probability that none of them does? The share of colliding ids is one minus that.
    """,
    solution="""
    def collision_share(n_ids, bins):
        return 1 - (1 - 1 / bins) ** (n_ids - 1)
    """,
    mistakes=[*NUMBER_PITFALLS, *_Q5],
)
