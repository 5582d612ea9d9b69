"""Self-checked exercises, in the style of Kaggle's *learntools*, and the one toolkit every check uses.

Each exercise is an :class:`Exercise` with three methods a learner calls in a notebook::

    q1.check(answer)   # prints "[correct]", what is wrong ("[not yet]"), or "[not attempted]"
    q1.hint()          # prints a hint
    q1.solution()      # prints the reference solution

The status markers are plain words in brackets, readable in any font (no emoji).

An answer that is still the stub the lesson ships with (``...`` or ``____``, or a function
whose body is still ``...``) is reported as *not attempted* and never raises, so every lesson
runs top to bottom with its exercises undone. ``None`` is a mistake with a hint (a forgotten
``return`` is the usual cause). :meth:`Exercise.evaluate` never raises, except
``KeyboardInterrupt`` (the learner's interrupt button must still work); a ``SystemExit`` from
the learner's code (``exit()``, ``sys.exit()``) is reported as a failure.

The toolkit (AUTHORING.md shows it at work)
-------------------------------------------

Exercise authors write a *checker*: a function that takes the learner's answer and raises
:class:`Mistake` with a message in the learner's terms when it is wrong. The toolkit:

- **A mistake catalogue.** Each exercise lists the mistakes learners make as :class:`Pitfall`
  objects (a key, a detector run on the facts of this answer, a message naming the mistake) and
  passes them to :class:`Exercise` as ``mistakes=``. A checker gathers facts (the value read,
  the case, the expected value...) and calls :func:`diagnose`, which raises the first pitfall
  whose detector fires. The result names it (:attr:`Result.mistake`), so tests check that each
  catalogued mistake is caught by its own detector and message. A generic message
  (:func:`fallback`) is the last resort, and says where to look.
- **Cases.** To test a function, a checker runs it on several :class:`Case` objects (the
  prompt's example first, then generated edge cases) with :func:`run_case`, which

  - hands the function fresh, read-only copies of every input (:func:`fresh`), so an answer
    cannot corrupt the check's data, and an answer that changes its input is told so, with a
    way to copy that the input really has (never ``.copy()`` on an object without one);
  - turns any exception of the learner's code into a :class:`Mistake` that names the call, the
    case's inputs and the learner's own error (first line, TensorFlow's wrappers stripped), and
    explains it in the lesson's terms: first by the exercise's own pitfalls (``explain=``), else
    by :func:`explain_error`, which knows the usual TensorFlow, Keras and NumPy errors;
  - never re-runs the answer on other inputs to hide an error.

  :func:`error_text` reads the cause behind TensorFlow's and Keras's wrappers; :func:`explain_error`
  names what an error shows (the shapes of a broadcast, with :func:`broadcast_shapes` and
  :func:`missing_last_axis`, and a mask's axis added in the middle, :func:`misplaced_feature_axis`; the
  dtypes of a mix, :func:`mixed_dtypes`; the tf function to use for a NumPy method on a tensor,
  :func:`tensor_alternative`; why graph code fails, :func:`graph_advice`). :func:`failing_line` is the
  learner's own line that raised, for detectors; :func:`function_advice` says how to hand over
  a function, by what was given instead.

  :func:`cases` joins case lists, :func:`tensor_cases` turns NumPy cases into tensor cases.
- **Graph mode and fit.** :func:`run_in_graph` runs a function inside ``tf.function`` (as Keras
  runs a layer's ``call``); :func:`fit_in_model` uses a learner's layer, and
  :func:`fit_function_in_model` a learner's function, inside a functional model and a real
  ``fit`` whose last batch is partial (code that only works for one batch size fails there).
- **Reading answers.** :func:`read_number` (one number: Python, NumPy, 0-d array or tensor;
  refuses booleans, strings, pandas objects and one-element arrays, naming each),
  :func:`expect_int`, :func:`to_numpy`, :func:`expect_shape`, :func:`expect_close`,
  :func:`describe` (how to name what the learner gave), :func:`with_article` ("an int8"),
  :func:`show` (a value in the learner's terms), :func:`raised` (whether a call raises: use an answer the way the lesson's next cell
  does, e.g. ``keras.layers.Embedding(answer, 4)``).

When an answer is correct, :meth:`Exercise.check` records the pass in a small local progress
file (see :mod:`course_lib.progress`) when this is a learner's own kernel; recording never
breaks a check, and tests and tools never record.
"""

from __future__ import annotations

import copy
import dis
import linecache
import math
import numbers
import re
import sys
import textwrap
import traceback
import types
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Sequence

import numpy as np

#: Status markers printed by :meth:`Exercise.check` (plain text: no emoji font needed).
MARK_CORRECT = "[correct]"
MARK_NOT_YET = "[not yet]"
MARK_NOT_ATTEMPTED = "[not attempted]"

#: :attr:`Mistake.key` of the mistakes the toolkit itself names (an exercise's own keys are its own).
RAISED = "raised"  # the learner's code raised an error no pitfall of the exercise explains
CHANGED_INPUT = "changed-input"  # the function changed one of its inputs
RETURNED_NONE = "returned-none"  # a forgotten `return`
NOT_A_FUNCTION = "not-a-function"
NOT_IN_GRAPH = "not-graph-compatible"  # works eagerly, fails inside tf.function / a model / fit
TOOLKIT_KEYS = (RAISED, CHANGED_INPUT, RETURNED_NONE, NOT_A_FUNCTION, NOT_IN_GRAPH)


class _Placeholder:
    """The blank a learner replaces: ``answer = ____``."""

    def __repr__(self) -> str:
        return "____"


#: Blank that lessons may use instead of ``...`` in a stub.
____ = _Placeholder()


class Mistake(Exception):
    """Raised by a checker: the answer is wrong; the message says how, in the learner's terms.

    Args:
        message: the text the learner reads.
        key: the catalogued mistake (:class:`Pitfall` key, or one of :data:`TOOLKIT_KEYS`) this
            message names; ``None`` for a generic message.
        error: the learner's own exception text when the message reports one (``"KeyError: 'int8'"``).
        objects: the learner-visible objects a message may name (``{"glove": ..., "x": ...}``):
            tests check that every ``name.attribute`` a message suggests exists on them.
        detected: keys of every pitfall whose detector fired on this answer (the first is ``key``).
    """

    def __init__(self, message: str = "", *, key: str | None = None, error: str | None = None,
                 objects: dict | None = None, detected: Sequence[str] = ()):  # fmt: skip
        super().__init__(message)
        self.key = key
        self.error = error
        self.objects = dict(objects or {})
        self.detected = tuple(detected) or ((key,) if key else ())


class NotAttempted(Exception):
    """Raised by a checker when the learner's function still returns the stub value."""


def is_blank(value: Any) -> bool:
    """True for the values a stub leaves behind: ``...``, ``None`` and ``____``."""
    return value is Ellipsis or value is None or isinstance(value, _Placeholder)


def _stub_body(*args, **kwargs):
    ...  # YOUR CODE HERE


def is_stub_function(function: Callable) -> bool:
    """True if ``function``'s body is still only the lesson's ``...`` stub (a docstring may stand before it)."""
    code = getattr(function, "__code__", None)
    return code is not None and _instructions(code) == _instructions(_stub_body.__code__)


def _instructions(code) -> list[tuple]:
    # Compare what the code does (operations and their values), not raw bytes: a docstring
    # shifts constant indices without changing the behaviour.
    return [(op.opname, op.argval) for op in dis.get_instructions(code)]


# --------------------------------------------------------------------------- error text


_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_OP_SUFFIX = re.compile(r"\s*\[Op:[A-Za-z0-9_]+\]( name: ?\S*)?\s*$")
_ERROR_LINE = re.compile(r"^\s*([A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning)):\s?(.*)$")
#: Keras's wrapper around an error of a layer's ``call`` met while building a functional model
#: (``keras/src/ops/operation.py``, ``compute_output_spec``): the cause follows "Error encountered:".
_KERAS_INFER = re.compile(r"Could not automatically infer the output shape / dtype of .*?Error encountered:\s*", re.S)
#: What TensorFlow prints around an error met while a graph runs (fit's compiled step): the cause is
#: the first line after the "File ..." stack that is not a node marker.
_GRAPH_EXECUTION = "Graph execution error"
_GRAPH_TENSOR_NAME = re.compile(r" \([\w/]+:\d+\)")


def _cause_lines(text: str) -> tuple[str | None, list[str]]:
    """The lines of the real cause in an exception text, and the cause's type name when the text names one."""
    text = _ANSI.sub("", text)
    infer = _KERAS_INFER.search(text)
    if infer:
        text = text[infer.end():]
    raw_lines = text.splitlines()
    stripped = [line.strip() for line in raw_lines]
    if stripped and stripped[0].startswith("in user code"):  # autograph: the cause is the last "XxxError: ..." line
        for line in reversed(stripped):
            match = _ERROR_LINE.match(line)
            if match:
                return match[1], [match[2]]
        last = next((line for line in reversed(stripped) if line), "")
        return None, [last]
    if stripped and stripped[0].startswith(_GRAPH_EXECUTION):
        causes = [line for line in stripped[1:] if line and not line.startswith(("Detected at node", "File ", "[[", "{{"))]
        return None, causes[:1]
    return None, raw_lines


def error_text(exc: BaseException) -> str:
    """The learner's exception as ``"TypeName: first line of the real cause"``.

    TensorFlow and Keras wrap errors: ``{{function_node __wrapped__...}}`` prefixes, ``[Op:...]``
    suffixes, Keras's "Exception encountered when calling X.call()." header followed by the
    cause and an "Arguments received by" list, Keras's "Could not automatically infer the output
    shape / dtype of ..." wrapper (a layer's ``call`` failed on a ``keras.Input``), TensorFlow's
    "Graph execution error" with its stack (an error met in ``fit``'s compiled step), and
    autograph's "in user code:" stack. All of that is stripped down to the cause's first line,
    at most 200 characters.
    """
    if isinstance(exc, SystemExit):
        return f"SystemExit (your code called exit() or sys.exit() with {exc.code!r})"
    name, raw_lines = _cause_lines(str(exc))
    lines = []
    skipping = False
    for raw in raw_lines:
        line = _FUNCTION_NODE.sub("", raw).strip()
        if line.startswith("Arguments received by"):
            skipping = True
        if skipping or not line:
            continue
        if line.startswith("Exception encountered when calling"):
            continue
        lines.append(line)
    first = lines[0] if lines else ""
    first = _OP_SUFFIX.sub("", first).strip()
    first = _GRAPH_TENSOR_NAME.sub("", first)  # "(Placeholder_1:0)": a graph's internal name, not the learner's
    first = re.sub(r"[ \t]+", " ", first)  # as the message shows it (tidy() makes single spaces)
    while first.endswith((".", ":", ";", ",")) and not first.endswith("..."):
        first = first[:-1].rstrip()
    if not first and (exc.__cause__ or exc.__context__) is not None:
        return error_text(exc.__cause__ or exc.__context__)
    if len(first) > 200:
        first = first[:197].rstrip(" .,;:") + "..."
    name = name or type(exc).__name__
    return f"{name}: {first}" if first else name


_READ_ONLY = ("read-only", "not writeable", "is not writable", "read only")


def _is_read_only_error(exc: BaseException) -> bool:
    return isinstance(exc, (ValueError, TypeError)) and any(word in str(exc) for word in _READ_ONLY)


#: TensorFlow's names for dtypes in its error texts, as the course writes them.
_TF_DTYPE_NAMES = {"float": "float32", "double": "float64", "half": "float16", "int": "int32", "long": "int64"}


def _dtype_name(name: str) -> str:
    return _TF_DTYPE_NAMES.get(name, name)


def _shape_of(text: str) -> tuple[int, ...]:
    return tuple(int(size) for size in re.findall(r"-?\d+", text))


#: Shapes a broadcasting error names: TensorFlow's "[4,5,3] vs. [4,5]", NumPy's "(4,5,3) (4,5)", tf.where's
#: "condition [3,5], then [3,5,3], and else []".
_BROADCAST = re.compile(r"Incompatible shapes: (\[[\d,]*\]) vs\. (\[[\d,]*\])|operands could not be broadcast together with "
                        r"(?:remapped )?shapes ((?:\([\d,]*\)\s*)+)|condition (\[[\d,]*\]), then (\[[\d,]*\]), and else (\[[\d,]*\])")


def broadcast_shapes(text: str) -> list[tuple[int, ...]]:
    """The shapes a broadcasting error text names (TensorFlow, NumPy or ``tf.where``), in order; ``[]`` if none."""
    match = _BROADCAST.search(text)
    if not match:
        return []
    if match[3]:
        return [_shape_of(part) for part in re.findall(r"\([\d,]*\)", match[3])]
    return [_shape_of(part) for part in match.groups() if part is not None]


def missing_last_axis(shapes: Sequence[tuple[int, ...]]) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """``(short, long)`` when one shape is another minus its last axes (``(4, 5)`` and ``(4, 5, 3)``), else None.

    Shapes line up from the right, so a mask ``(batch, time)`` cannot multiply vectors ``(batch, time, dim)``
    and a count ``(batch,)`` cannot divide sums ``(batch, dim)``: the short one lacks an axis at its end.
    """
    shapes = [tuple(s) for s in shapes if len(s)]
    for short in shapes:
        for long in shapes:
            if len(short) < len(long) and long[: len(short)] == short:
                return short, long
    return None


def missing_feature_axis(text: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """``(mask_shape, vectors_shape)`` when a broadcasting error shows a (batch, time) value meeting (batch, time, dim)
    vectors: a mask (or weights made from it) without its feature axis, ``mask[..., None]``. Else None."""
    pair = missing_last_axis(broadcast_shapes(text))
    return pair if pair is not None and len(pair[0]) == 2 and len(pair[1]) == 3 else None


def misplaced_feature_axis(text: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """``(mask_shape, vectors_shape)`` when a broadcasting error shows a (batch, 1, time) value meeting (batch, time, dim)
    vectors: a mask given its new axis in the middle (``mask[:, None]``) instead of at the end (``mask[..., None]``)."""
    shapes = [tuple(s) for s in broadcast_shapes(text) if len(s) == 3]
    for short in shapes:
        for long in shapes:
            if short[1] == 1 and short[0] == long[0] and short[2] == long[1] and long[1] != 1:
                return short, long
    return None


def _broadcast_explanation(text: str) -> str:
    misplaced = misplaced_feature_axis(text)
    if misplaced:
        short, long = misplaced
        return (f"a value of shape {short} met one of shape {long}: its new axis went in the middle (t[:, None]); shapes "
                f"line up from the right, so add the axis at the end, t[..., None], giving {long[:2] + (1,)}")
    shapes = broadcast_shapes(text)
    pair = missing_last_axis(shapes)
    if pair:
        short, long = pair
        return (f"values of shapes {short} and {long} were combined element by element; shapes line up from the right, "
                f"so {short} needs the last axis of {long} too: keep it when you reduce (keepdims=True) or add it "
                "with [..., None]")
    real = [s for s in shapes if len(s)]
    if len(real) >= 2 and len(set(map(len, real))) == 1:
        a, b = real[0], real[1]
        axes = [i for i, (x, y) in enumerate(zip(a, b)) if x != y and 1 not in (x, y)]
        if axes:
            i = axes[0]
            return (f"values of shapes {a} and {b} were combined element by element, but axis {i} has {a[i]} entries "
                    f"in one and {b[i]} in the other: check where each size comes from (a number of your own, "
                    "another input, a reduction over the wrong axis?)")
    return ("two values were combined element by element but their shapes do not line up: a reduction dropped an "
            "axis the next step needs (keep it with keepdims=True), or an axis is missing (add it with [..., None])")


def mixed_dtypes(text: str) -> tuple[str, str] | None:
    """The two dtypes an error text says an operation mixed (``("float32", "int64")``), course spelling; else None."""
    for pattern in (r"expected to be a (\w+) tensor but is a (\w+) tensor", r"got tf\.(\w+) != tf\.(\w+)",
                    r"must have the same dtype.*?(\w+) and (\w+)"):
        match = re.search(pattern, text)
        if match:
            return _dtype_name(match[1]), _dtype_name(match[2])
    return None


def _dtype_explanation(text: str) -> str:
    pair = mixed_dtypes(text)
    if pair and "bool" in pair:
        return ("a bool tensor (a mask) went into arithmetic: tf.cast it to the other value's dtype first, "
                "e.g. tf.cast(mask, x.dtype)")
    if pair:
        return (f"one operation got {with_article(pair[0])} and {with_article(pair[1])} value; TensorFlow never converts between dtypes on "
                f"its own: tf.cast one to the other's dtype first (NumPy makes float64 and int64 by default, "
                "TensorFlow float32 and int32)")
    return "an operation mixed two dtypes: tf.cast one value to the other's dtype first"


#: What to use on a TensorFlow tensor instead of a NumPy array's method or attribute (``t`` is the tensor).
_TENSOR_ALTERNATIVES = {
    "astype": "tf.cast(t, dtype)", "reshape": "tf.reshape(t, shape)", "clip": "tf.clip_by_value(t, low, high)",
    "T": "tf.transpose(t)", "transpose": "tf.transpose(t)", "size": "tf.size(t)", "sum": "tf.reduce_sum(t, axis)",
    "mean": "tf.reduce_mean(t, axis)", "max": "tf.reduce_max(t, axis)", "min": "tf.reduce_min(t, axis)",
    "any": "tf.reduce_any(t, axis)", "all": "tf.reduce_all(t, axis)", "prod": "tf.reduce_prod(t, axis)",
    "std": "tf.math.reduce_std(t, axis)", "argmax": "tf.argmax(t, axis)", "argmin": "tf.argmin(t, axis)",
    "argsort": "tf.argsort(t)", "sort": "tf.sort(t)", "cumsum": "tf.cumsum(t, axis)", "flatten": "tf.reshape(t, [-1])",
    "ravel": "tf.reshape(t, [-1])", "squeeze": "tf.squeeze(t)", "dot": "t @ other (or tf.tensordot)",
    "round": "tf.round(t)", "nonzero": "tf.where(t)", "ndim": "len(t.shape)", "itemsize": "t.dtype.size",
    "nbytes": "tf.size(t) times t.dtype.size", "fill": "tf.fill(shape, value)", "append": "tf.concat([t, more], axis=0)",
    "tolist": "the tensor itself: tf functions take tensors (a list is only needed to print it)",
    "copy": "no copy at all: a tensor never changes in place, so build a new one (tf.where, tf.concat...)",
    "item": "the 0-d tensor itself inside a layer, or float(t) / int(t) outside one",
}
#: Alternatives that are not a function of ``t`` but a sentence of their own.
_TENSOR_SENTENCES = {
    "tolist": "tf functions take the tensor itself (a list is only needed to print it)",
    "copy": "it needs no copy at all: a tensor never changes in place, so build a new one (tf.where, tf.concat...)",
    "item": "inside a layer use the 0-d tensor itself, outside one float(t) or int(t)",
}


#: The keras.ops name of the same operation, given beside the tf one (``t`` is the tensor).
_KERAS_OPS_ALTERNATIVES = {
    "astype": "keras.ops.cast(t, dtype)", "reshape": "keras.ops.reshape(t, shape)", "clip": "keras.ops.clip(t, low, high)",
    "T": "keras.ops.transpose(t)", "transpose": "keras.ops.transpose(t)", "size": "keras.ops.size(t)",
    "sum": "keras.ops.sum(t, axis)", "mean": "keras.ops.mean(t, axis)", "max": "keras.ops.max(t, axis)",
    "min": "keras.ops.min(t, axis)", "any": "keras.ops.any(t, axis)", "all": "keras.ops.all(t, axis)",
    "prod": "keras.ops.prod(t, axis)", "std": "keras.ops.std(t, axis)", "argmax": "keras.ops.argmax(t, axis)",
    "argmin": "keras.ops.argmin(t, axis)", "argsort": "keras.ops.argsort(t)", "sort": "keras.ops.sort(t)",
    "cumsum": "keras.ops.cumsum(t, axis)", "flatten": "keras.ops.reshape(t, (-1,))", "ravel": "keras.ops.reshape(t, (-1,))",
    "squeeze": "keras.ops.squeeze(t)", "round": "keras.ops.round(t)",
}


def tensor_alternative(attribute: str) -> str | None:
    """What to use on a TensorFlow tensor instead of NumPy's ``.attribute`` (``"tf.cast(t, dtype)"`` for ``astype``).

    ``t`` stands for the tensor. None when the course knows no replacement.
    """
    return _TENSOR_ALTERNATIVES.get(attribute)


def _tensor_attribute_explanation(attribute: str) -> str:
    alternative = tensor_alternative(attribute)
    if alternative is None:
        return (f"a TensorFlow tensor has no .{attribute} (NumPy arrays do): use the tf function of that name, or "
                "turn the tensor into an array first with np.asarray(t)")
    if attribute in _TENSOR_SENTENCES:
        return f"a TensorFlow tensor has no .{attribute}, a NumPy array method: {_TENSOR_SENTENCES[attribute]}"
    keras_ops = _KERAS_OPS_ALTERNATIVES.get(attribute)
    also = f" or {keras_ops}" if keras_ops else ""
    return f"a TensorFlow tensor has no .{attribute}, a NumPy array method: use {alternative}{also} (t is the tensor)"


def _attribute_explanation(m: re.Match) -> str:
    owner, attribute = m[1].rsplit(".", 1)[-1], m[2]
    if owner.endswith(("Tensor", "Variable")):
        return _tensor_attribute_explanation(attribute)
    if owner == "ndarray" and attribute == "numpy":
        return ("a NumPy array has no .numpy() (tensors do): np.asarray(value) gives an array from either, "
                "tf.convert_to_tensor(value) a tensor")
    if owner == "DType":
        return (f"a TensorFlow DType has no .{attribute}: its number of bytes is .size (NumPy's np.dtype(name) has "
                ".itemsize)")
    if owner.endswith("DType") or owner == "dtype":
        return f"a NumPy dtype has no .{attribute}: its number of bytes is .itemsize (bits: 8 x .itemsize)"
    return f"{with_article(owner)} has no .{attribute}: check what type that value is at that line (print(type(...)))"


#: The usual library errors, explained in the course's terms: (pattern on "Type: text", explanation).
#: The explanation says what the error means here and what to check; it never repeats the text.
_LIBRARY_ERRORS: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(r"indices\[[^\]]*\] = (-?\d+) is not in \[0, (\d+)\)"),
     lambda m: f"a lookup (tf.gather, tf.one_hot or an Embedding) got id {m[1]}, but the table has only {m[2]} rows "
               f"(0 to {int(m[2]) - 1}): check the table size or the depth you used"),
    (re.compile(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)"),
     lambda m: f"an index {m[1]} went past the end of axis {m[2]}, which has {m[3]} entries: check which numbers "
               "you index with (a row number, not an id or a word's position elsewhere?)"),
    (_BROADCAST, lambda m: _broadcast_explanation(m.string)),
    (re.compile(r"must be broadcastable|could not be broadcast"), lambda m: _broadcast_explanation(m.string)),
    (re.compile(r"Input to reshape is a tensor with (\d+) values, but the requested shape has (\d+)"),
     lambda m: f"a reshape to a fixed shape: this input has {m[1]} values, the shape asked for {m[2]}. Take sizes from "
               "the input itself (tf.shape(t), t.shape[-1]), never from one example"),
    (re.compile(r"Matrix size-incompatible: In\[0\]: \[([\d,]+)\], In\[1\]: \[([\d,]+)\]"),
     lambda m: f"a matrix product (@, tf.matmul, tf.tensordot, or a function built on one) got shapes [{m[1]}] and "
               f"[{m[2]}]: the last size of the first must equal the first size of the second"),
    (re.compile(r"object does not support item assignment|'tensorflow.python.framework.ops.EagerTensor' object .*assign"),
     lambda m: "a TensorFlow tensor cannot be changed in place (t[i] = ...): build a new tensor instead, e.g. "
               "tf.where(condition, new_values, t)"),
    (re.compile(r"'?([\w.]*(?:EagerTensor|SymbolicTensor|Tensor|ResourceVariable|KerasTensor))'? object has no attribute '(\w+)'"),
     lambda m: _tensor_attribute_explanation(m[2])),
    (re.compile(r"truth value of an? (?:array|empty array)[\w ]* is ambiguous"),
     lambda m: "Python's and, or, not, if and chained comparisons (0 <= ids < n) need one True or False, but got an "
               "array or tensor of many: combine element-wise conditions with & and | in brackets, "
               "(ids >= 0) & (ids < n), and choose values with tf.where or np.where"),
    (re.compile(r"(Cannot convert a symbolic|numpy\(\) is only available when eager|as a Python `bool` is not allowed|"
                r"symbolic [`']?tf\.Tensor|iterating over `tf\.Tensor` is not allowed|KerasTensor cannot be used as input to a TensorFlow function)"),
     lambda m: "inside a graph (tf.function, or a Keras layer during fit) tensors have no values yet: NumPy calls, "
               ".numpy(), Python if/for on tensor values and fixed sizes fail there; use tf or keras.ops functions only"),
    (re.compile(r"Cannot interpret 'tf\.(\w+)' as a data type"),
     lambda m: f"a NumPy function got a TensorFlow dtype (tf.{m[1]}, a tensor's .dtype): on tensors use tf "
               "functions, or turn the tensor into an array first with np.asarray(...)"),
    (re.compile(r"of (bool) is not in the list of allowed values|DataType (bool) not in list of allowed values"),
     lambda m: "a TensorFlow operation does not accept bool tensors (a bool mask cannot be summed or multiplied): "
               "tf.cast it to a float dtype first"),
    (re.compile(r"of (\w+) is not in the list of allowed values: ([\w, ]+)|DataType (\w+) not in list of allowed values"),
     lambda m: f"this TensorFlow operation does not accept {_dtype_name(m[1] or m[3])} tensors"
               + (" (it takes floats only: tf.sqrt, tf.math.divide_no_nan and the like)" if m[2] and "int32" not in m[2] else "")
               + ": tf.cast the value to a float dtype first"),
    (re.compile(r"expected to be a \w+ tensor but is a \w+ tensor|must be the same type|must have the same dtype|"
                r"cannot compute \w+ as input"),
     lambda m: _dtype_explanation(m.string)),
    (re.compile(r"all the input arrays must have same number of dimensions.*?has (\d+) dimension\(s\).*?has (\d+) dimension"),
     lambda m: f"the pieces joined have {m[1]} and {m[2]} axes; np.concatenate and np.vstack need the same number: "
               "one row taken as t[i] is 1-D, t[i:i + 1] (or t[-1:]) keeps it 2-D"),
    (re.compile(r"all the input array dimensions except for the concatenation axis must match exactly, but along "
                r"dimension (\d+), the array at index (\d+) has size (\d+) and the array at index (\d+) has size (\d+)"),
     lambda m: f"the pieces joined differ along axis {m[1]} ({m[3]} and {m[5]} entries): take sizes from the data "
               "itself (its .shape), never a number of your own"),
    (re.compile(r"^KeyError: (.*)$"),
     lambda m: f"your code looked up {'the key ' + m[1] if len(m[1]) <= 40 else 'a key'} in a dict or table that does "
               "not hold it: check which keys exist before looking one up (`key in table`), or compute the value "
               "instead of listing it"),
    (re.compile(r"^ZeroDivisionError"),
     lambda m: "a division by zero: which divisor is 0 for these inputs (an empty list, a row with no real steps)?"),
    (re.compile(r"^NameError: name '(\w+)' is not defined"),
     lambda m: f"your function uses the name {m[1]}, which is not defined where it runs: a typo, a missing import, "
               "or a notebook variable the function should take as an argument"),
    (re.compile(r"^TypeError: '(\w+)' object is not callable"),
     lambda m: f"{with_article(m[1])} was called like a function: drop the parentheses after it (an attribute such as "
               "a shape or a dimension is a value, not a method)"),
    (re.compile(r"^TypeError: '(\w+)' object is not subscriptable"),
     lambda m: f"{with_article(m[1])} was indexed with [...]: check what that value is (a number, a function?) "
               "before indexing it"),
    (re.compile(r"^AttributeError: '?([\w.]+)'? object has no attribute '(\w+)'"), _attribute_explanation),
    (re.compile(r"setting an array element with a sequence|could not broadcast input array from shape"),
     lambda m: "a row was assigned values of another shape: check that the right side has the shape of the row"),
    (re.compile(r"^SystemExit"),
     lambda m: "a check cannot run code that exits: remove exit() / sys.exit() from your function"),
    (re.compile(r"^RecursionError"),
     lambda m: "your function calls itself without end: check the name it calls"),
]


def explain_error(text: str) -> str:
    """What a library error means in the course's terms and what to check (never the error itself).

    ``text`` is :func:`error_text` of the learner's exception. Known TensorFlow, Keras and NumPy
    errors get their own explanation (broadcasting and dtype errors name the shapes and dtypes
    involved, a NumPy method on a tensor names the tf function to use); anything else: where to look.
    """
    for pattern, explain in _LIBRARY_ERRORS:
        match = pattern.search(text)
        if match:
            return explain(match)
    return ("run that call yourself on the inputs shown: the traceback's last line in your own code shows where it "
            "fails, and the error names what was wrong there")


_MISSING_ATTRIBUTE = re.compile(r"'?([\w.]+)'? object has no attribute '(\w+)'")


def missing_attribute(text: str) -> str | None:
    """The attribute an ``AttributeError`` text says is missing (``"sum"``), or None.

    Both forms TensorFlow prints are read: ``'EagerTensor' object has no attribute 'sum'`` and
    (TensorFlow 2.21, for NumPy methods such as ``astype``) ``EagerTensor object has no attribute 'astype'``.
    """
    match = _MISSING_ATTRIBUTE.search(text)
    return match[2] if match else None


def tensor_lacks(text: str) -> str | None:
    """The attribute a TensorFlow tensor lacked, when ``text`` is such an ``AttributeError`` (a NumPy method on a tensor).

    Reads both forms TensorFlow prints (with and without quotes around the type); see :func:`tensor_alternative`
    for what to use instead.
    """
    match = _MISSING_ATTRIBUTE.search(text)
    return match[2] if match and match[1].endswith(("Tensor", "Variable")) else None


def tensor_advice(text: str) -> str | None:
    """For a NumPy method used on a tensor (``text`` an error text), what the tensor lacks and what to use instead."""
    attribute = tensor_lacks(text)
    return _tensor_attribute_explanation(attribute) if attribute else None



# --------------------------------------------------------------------------- showing values


def show(value: Any, limit: int = 80) -> str:
    """A short text for ``value`` in the learner's terms: lists for arrays and tensors, dtype when it matters."""
    text = _show(value)
    return text if len(text) <= limit else text[: limit - 3].rstrip(", (") + "..."


def _show(value: Any) -> str:
    if _is_tensor(value):
        try:
            array = np.asarray(value.numpy())
        except Exception:  # noqa: BLE001 - a symbolic tensor has no numbers
            return f"a symbolic tensor of shape {tuple(value.shape)}"
        if array.size > 12:
            return f"{_article(value.dtype.name)} {value.dtype.name} tensor of shape {tuple(array.shape)}"
        return f"tf.constant({_show_array(array)}, dtype={value.dtype.name})"
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _show(value.item())
        if value.size > 12:
            return f"{_article(str(value.dtype))} {value.dtype} array of shape {value.shape}"
        default = value.dtype in (np.dtype(np.float64), np.dtype(np.int64), np.dtype(bool)) or value.dtype.kind in "US"
        return _show_array(value) + ("" if default else f" ({value.dtype})")
    if isinstance(value, np.generic):
        return _show(value.item())
    if isinstance(value, float):
        if np.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return f"{value:.1f}"  # 1683.0, so that a float reads as one
        return f"{value:.6g}" if np.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (np.ndarray, np.generic)) for v in value):
        inner = ", ".join(_show(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if type(value).__name__ == "WordVectors":
        return f"a WordVectors table of {len(value)} words"
    return repr(value)


def _article(word: str) -> str:
    word = str(word).lower()
    if word.startswith(("uint", "uni", "use", "one", "eu")):  # "a uint8", "a unit": a consonant sound
        return "a"
    return "an" if word[:1] in ("a", "e", "i", "o", "u") or word.startswith("nd") else "a"


def with_article(word: str) -> str:
    """``word`` with "a" or "an" before it, by its sound: "an int8", "a uint8", "an Embedding", "a float32"."""
    return f"{_article(word)} {word}"


def _show_array(array: np.ndarray) -> str:
    """Nested-list text of an array, floats with 4 significant digits, long axes cut with '...'."""
    if array.size > 24:
        flat = array.ravel()
        head = ", ".join(_show_item(x) for x in flat[:3])
        tail = ", ".join(_show_item(x) for x in flat[-2:])
        return f"<shape {array.shape}: {head}, ..., {tail}>"
    if array.ndim == 0:
        return _show_item(array.item())
    return "[" + ", ".join(_show_array(row) if array.ndim > 1 else _show_item(row) for row in array) + "]"


def _show_item(x: Any) -> str:
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, bytes):
        x = x.decode("utf-8", "replace")
    if isinstance(x, float):
        return f"{x:.4g}"  # also gives inf, -inf and nan
    return repr(x)


def is_tensor(value: Any) -> bool:
    """True for TensorFlow / Keras tensors and variables (eager or symbolic), not for NumPy arrays."""
    return type(value).__module__.startswith(("tensorflow", "keras", "tf_keras")) and hasattr(value, "dtype") and hasattr(value, "shape")


_is_tensor = is_tensor  # the name other modules used before it was public


def describe(value: Any) -> str:
    """How to name what a learner gave: "a float (2.5)", "the class Masking", "a Dense object", ...

    Tensors are named with dtype and shape, NumPy scalars with their type, pandas objects as such.
    """
    if isinstance(value, type):
        return f"the class {value.__name__}"
    if is_tensor(value):
        kind = "variable" if "Variable" in type(value).__name__ else "tensor"
        dtype = getattr(value.dtype, "name", str(value.dtype))
        return f"{_article(dtype)} {dtype} {kind} of shape {tuple(value.shape)}"
    module = type(value).__module__
    if module.startswith("tensorflow") and hasattr(value, "element_spec") and hasattr(value, "batch"):
        return "a tf.data.Dataset"  # its own class is private (_TensorSliceDataset...)
    if module.startswith(("keras", "tensorflow", "tf_keras")):
        return f"{with_article(type(value).__name__)} object"
    if module.startswith("pandas"):
        return f"a pandas {type(value).__name__}"
    if isinstance(value, np.generic):
        return f"a NumPy {type(value).__name__} ({show(value, 40)})"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, types.FunctionType):
        return "a lambda function" if value.__name__ == "<lambda>" else f"the function {value.__name__}"
    return f"{_article(type(value).__name__)} {type(value).__name__} ({show(value, 40)})"


_kind = describe  # the private name five modules imported before the toolkit was public


# --------------------------------------------------------------------------- inputs


def fresh(value: Any) -> Any:
    """A deep copy of ``value`` that the learner's code cannot change unnoticed.

    NumPy arrays (also inside lists, tuples and dicts) are copied and made read-only
    (``flags.writeable = False``); TensorFlow tensors are immutable and passed as they are
    (a ``tf.Variable`` is copied into a new variable); anything else is deep-copied.
    """
    if isinstance(value, np.ndarray):
        array = np.array(value, copy=True)
        array.flags.writeable = False
        return array
    if is_tensor(value):
        if type(value).__name__.endswith("Variable") or "Variable" in type(value).__name__:
            import tensorflow as tf

            return tf.Variable(value.numpy(), dtype=value.dtype, trainable=getattr(value, "trainable", True))
        return value
    if isinstance(value, list):
        return [fresh(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(fresh(v) for v in value)
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    try:
        clone = copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - an object that cannot be copied is passed as it is
        return value
    for attribute, inner in getattr(clone, "__dict__", {}).items():  # e.g. WordVectors.vectors
        if isinstance(inner, np.ndarray):
            inner.flags.writeable = False
    return clone


def _snapshot(value: Any) -> Any:
    if is_tensor(value):
        try:
            return ("tensor", np.array(value.numpy(), copy=True))
        except Exception:  # noqa: BLE001
            return ("tensor", None)
    if isinstance(value, np.ndarray):
        return ("array", np.array(value, copy=True))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_snapshot(v) for v in value])
    if isinstance(value, dict):
        return ("dict", {k: _snapshot(v) for k, v in value.items()})
    if isinstance(value, (str, bytes, int, float, bool, type(None), np.generic)):
        return ("scalar", value)
    try:
        return ("object", copy.deepcopy(vars(value)))
    except Exception:  # noqa: BLE001 - no comparable state: treat as unchanged
        return ("opaque", None)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if a is None:
        return True
    try:
        equal = a == b
        if isinstance(equal, np.ndarray):
            return bool(equal.all())
        if isinstance(a, float) and a != a and b != b:
            return True
        return bool(equal)
    except Exception:  # noqa: BLE001
        return True


def copy_advice(name: str, value: Any) -> str:
    """How to work on a copy of input ``name``, using only what ``value`` really has.

    An array gets ``name = name.copy()``, a list ``name = list(name)``; an object holding arrays
    (a GloVe ``WordVectors``) gets a copy of the array attribute it holds, never a ``.copy()``
    method it lacks.
    """
    if isinstance(value, np.ndarray):
        return f"`{name} = {name}.copy()` first, or use operations that return a new array"
    if isinstance(value, list):
        return f"`{name} = list({name})` first, or build a new list"
    if isinstance(value, dict):
        return f"`{name} = dict({name})` first, or build a new dict"
    arrays = [attribute for attribute, inner in getattr(value, "__dict__", {}).items() if isinstance(inner, np.ndarray)]
    if arrays:
        return f"`{arrays[0]} = {name}.{arrays[0]}.copy()` and change that copy, never {name} itself"
    return "build new values instead of changing the inputs"


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    """One call of a learner's function, with what it should give.

    Args:
        inputs: the arguments, by the names the prompt uses (``{"ids": ..., "k": 3}``), in call order.
        expected: what a correct answer returns (the checker decides how to compare).
        about: a few words on what this case tests, e.g. ``"ids that do not start at 1"``;
            used in messages. Messages show the inputs themselves: say "the prompt's example"
            only for values the prompt shows.
        extra: anything else the checker wants to keep with the case.
    """

    inputs: dict
    expected: Any = None
    about: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.inputs, dict):
            raise TypeError(f"Case(inputs={self.inputs!r}): inputs is a dict of the arguments by name, e.g. "
                            "{'ids': ids, 'k': 3}")
        if not isinstance(self.about, str):
            raise TypeError(f"Case(about={self.about!r}): about is a few words (str) on what the case tests")

    def call_text(self, name: str = "your function", limit: int = 160) -> str:
        """``name(ids=[3, 1], k=2)``-style text for messages."""
        args = ", ".join(f"{key}={show(value, 60)}" for key, value in self.inputs.items())
        text = f"{name}({args})"
        return text if len(text) <= limit else text[: limit - 4] + "...)"

    def where(self, name: str = "your function") -> str:
        """``"for <about> (ids=[3, 1], k=2)"``: the opening of a message about this case."""
        args = ", ".join(f"{key}={show(value, 60)}" for key, value in self.inputs.items())
        if len(args) > 160:
            args = args[:156] + "..."
        return f"for {self.about} ({args})" if self.about else f"for {args}"

    def fail(self, message: str, name: str = "your function", *, key: str | None = None, **details) -> Mistake:
        """A :class:`Mistake` whose message starts by naming this case (its inputs are the message's objects)."""
        objects = {**self.inputs, **details.pop("objects", {})}
        return Mistake(f"{self.where(name)}: {message}", key=key, objects=objects, **details)


def cases(*items: Case | Iterable[Case]) -> list[Case]:
    """Flatten cases and lists of cases into one list, in order (the prompt's example first)."""
    out: list[Case] = []
    for item in items:
        if isinstance(item, Case):
            out.append(item)
        else:
            out.extend(item)
    return out


def tensor_cases(items: Iterable[Case], names: Iterable[str] | None = None) -> list[Case]:
    """The same cases with their NumPy inputs (or only ``names``) passed as TensorFlow tensors."""
    import tensorflow as tf

    out = []
    for case in items:
        inputs = {
            key: tf.constant(value) if isinstance(value, np.ndarray) and (names is None or key in names) else value
            for key, value in case.inputs.items()
        }
        about = f"{case.about} (as tensors)" if case.about else "tensor inputs"
        out.append(replace(case, inputs=inputs, about=about))
    return out


# --------------------------------------------------------------------------- the mistake catalogue


@dataclass(frozen=True)
class Pitfall:
    """One catalogued mistake of an exercise: a key, a detector and the message that names it.

    Args:
        key: a short stable name, e.g. ``"size-is-largest-id"`` (tests refer to it).
        detect: ``detect(facts) -> bool``, run on the facts a checker gathered about this answer
            (a :class:`types.SimpleNamespace`). A detector that raises counts as not firing.
        message: the text, or ``message(facts) -> str`` to show this answer's values. It names
            this mistake and how to fix it, and nothing a detector did not find.
    """

    key: str
    detect: Callable[[Any], bool]
    message: str | Callable[[Any], str]

    def __post_init__(self):
        if not isinstance(self.key, str) or not self.key.strip():
            raise ValueError(f"Pitfall(key={self.key!r}): the key is a short non-empty name, e.g. 'off-by-one'")
        if not callable(self.detect):
            raise TypeError(f"Pitfall {self.key!r}: detect must be a function of the facts, got {type(self.detect).__name__}")
        if not (isinstance(self.message, str) or callable(self.message)):
            raise TypeError(f"Pitfall {self.key!r}: message must be a str or a function of the facts")

    def fires(self, facts: Any) -> bool:
        import warnings

        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():  # a detector never warns in a learner's notebook
                warnings.simplefilter("ignore")
                return bool(self.detect(facts))
        except Exception:  # noqa: BLE001 - a detector that cannot decide did not detect
            return False

    def text(self, facts: Any) -> str:
        with np.errstate(all="ignore"):
            return self.message(facts) if callable(self.message) else self.message


def facts(**values) -> types.SimpleNamespace:
    """The facts a checker gathered about one answer, for :func:`diagnose` (attribute access)."""
    return types.SimpleNamespace(**values)


def diagnose(pitfalls: Iterable[Pitfall], found: Any, *, case: Case | None = None, name: str = "your function",
             objects: dict | None = None) -> None:  # fmt: skip
    """Raise :class:`Mistake` for the first pitfall whose detector fires on ``found``; else return.

    Every detector runs (so tests see which ones fire together); the message is the first one's,
    opened by ``case.where()`` when a case is given. ``objects`` (and the case's inputs) are the
    objects the message may name.
    """
    pitfalls = tuple(pitfalls)
    strangers = [p for p in pitfalls if not isinstance(p, Pitfall)]
    if strangers:
        raise TypeError(f"diagnose() takes Pitfall objects, got {type(strangers[0]).__name__}")
    fired = [pitfall for pitfall in pitfalls if pitfall.fires(found)]
    if not fired:
        return
    first = fired[0]
    text = first.text(found)
    detected = tuple(p.key for p in fired)
    if case is not None:
        raise case.fail(text, name, key=first.key, detected=detected, objects=dict(objects or {}))
    raise Mistake(text, key=first.key, detected=detected, objects=objects)


def fallback(text: str, look: str, *, case: Case | None = None, name: str = "your function",
             objects: dict | None = None) -> Mistake:  # fmt: skip
    """The last-resort message when no pitfall matched: what differs, and where to look."""
    message = f"{tidy(text)}: {look}"
    return case.fail(message, name, objects=objects or {}) if case is not None else Mistake(message, objects=objects)


# --------------------------------------------------------------------------- running the learner's code


def run_case(function: Callable, case: Case, name: str = "your function", *, explain: Iterable[Pitfall] = ()) -> Any:
    """Call ``function`` on fresh read-only copies of ``case.inputs``; return what it returns.

    Args:
        function: the learner's function.
        case: its inputs (passed positionally, in order).
        name: how messages call the function (``"safe_ids"``).
        explain: pitfalls for the learner's own exceptions: their facts are ``error`` (the
            exception), ``text`` (:func:`error_text`), ``case`` and ``inputs``.

    Raises:
        NotAttempted: the function is still the stub, or returns ``...``.
        Mistake: it is not callable; it raised (the message names the call and the case's inputs,
            gives the learner's own error, and explains it: by a pitfall of ``explain``, else by
            :func:`explain_error`); it changed one of its inputs; it returned ``None``.
    """
    if not callable(function) or isinstance(function, type):
        raise Mistake(f"expected a function, got {describe(function)}: {function_advice(function, name)}",
                      key=NOT_A_FUNCTION)  # fmt: skip
    if is_stub_function(function):
        raise NotAttempted
    inputs = {key: fresh(value) for key, value in case.inputs.items()}
    before = {key: _snapshot(value) for key, value in inputs.items()}
    try:
        result = function(*inputs.values())
    except (KeyboardInterrupt, NotAttempted, Mistake):
        raise
    except BaseException as exc:  # noqa: BLE001 - the learner's code failed: say how, in one line
        raise _learner_error(exc, case, name, inputs, explain) from None
    for key, value in inputs.items():
        if not _same(before[key], _snapshot(value)):
            raise case.fail(f"your function changed its input `{key}`: work on a copy, {copy_advice(key, value)}",
                            name, key=CHANGED_INPUT)  # fmt: skip
    if result is None:
        raise case.fail("your function returned None: did you forget the `return` statement?", name, key=RETURNED_NONE)
    if is_blank(result):
        raise NotAttempted
    return result


def function_advice(value: Any, name: str = "your function") -> str:
    """How to hand over a function when the learner gave ``value`` instead: by what ``value`` is.

    A string gets "without quotes", a class "write a function", anything else "the name, without
    parentheses" (``name`` is the function's name in the lesson, e.g. ``"nearest"``).
    """
    called = name if name.isidentifier() else "its name after def"
    if isinstance(value, str):
        if value.isidentifier():
            return f"pass the function itself, its name without quotes: {value}, not {value!r}"
        return f"pass the function itself ({called}), not a string"
    if isinstance(value, type):
        return f"{value.__name__} is a class: pass the function you wrote with def ({called})"
    return f"pass the function itself: {called}, with no parentheses after it"


def _learner_error(exc: BaseException, case: Case, name: str, inputs: dict, explain: Iterable[Pitfall]) -> Mistake:
    text = error_text(exc)
    if _is_read_only_error(exc):
        changed = _written_input(exc, {key: value for key, value in inputs.items() if _holds_array(value)})
        which = f"its input `{changed}`" if changed else "one of its inputs"
        advice = copy_advice(changed, inputs[changed]) if changed else "copy the input you change first"
        return case.fail(f"your function changed {which} in place, and NumPy raised {text} (the check passes "
                         f"read-only copies): work on a copy, {advice}", name, key=CHANGED_INPUT, error=text)  # fmt: skip
    caller = "your function" if name == "your function" else name
    return explained_error(exc, f"{caller}", case=case, explain=explain, inputs=inputs)


def explained_error(exc: BaseException, call: str, *, case: Case | None = None, explain: Iterable[Pitfall] = (),
                    inputs: dict | None = None, objects: dict | None = None) -> Mistake:  # fmt: skip
    """A :class:`Mistake` for an exception of the learner's code: which call raised what, and what it means.

    The message is ``"<case>: <call> raised <Type: first line>. <explanation>"``; the explanation
    comes from the first pitfall of ``explain`` that fires (facts: ``error``, ``text``, ``case``,
    ``inputs``), else from :func:`explain_error`. ``call`` names what raised, in the learner's terms:
    ``"safe_ids"``, ``"calling your layer on the batch"``.
    """
    text = error_text(exc)
    explain = tuple(explain)
    found = facts(error=exc, text=text, case=case, inputs=inputs if inputs is not None else (case.inputs if case else {}))
    fired = [pitfall for pitfall in explain if pitfall.fires(found)]
    if fired:
        key, why, detected = fired[0].key, fired[0].text(found), tuple(p.key for p in fired)
    else:
        key, why, detected = RAISED, explain_error(text), (RAISED,)
    message = f"{call} raised {_stopped(text)} {capitalised(why)}"
    if case is not None:
        return case.fail(message, key=key, error=text, detected=detected, objects=dict(objects or {}))
    return Mistake(message, key=key, error=text, detected=detected, objects=objects)


def _holds_array(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_array(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_array(v) for v in value.values())
    return any(isinstance(v, np.ndarray) for v in getattr(value, "__dict__", {}).values())


def learner_frames(exc: BaseException) -> list[tuple[types.FrameType, int]]:
    """The frames ``exc`` went through in the learner's own code, outermost first, as (frame, line number).

    The learner's code is whatever is not in an installed library (``site-packages``, NumPy) and
    not in ``course_lib`` (the checks and the lessons' exercise modules).
    """
    def own(filename: str) -> bool:
        path = filename.replace("\\", "/")
        return "site-packages" not in path and "/numpy/" not in path and "/course_lib/" not in path

    return [(frame, line) for frame, line in traceback.walk_tb(exc.__traceback__) if own(frame.f_code.co_filename)]


def failing_line(exc: BaseException) -> str:
    """The source line of the learner's own code where ``exc`` was raised (the last of :func:`learner_frames`
    whose source is kept), or ``""`` when there is none (code typed where no source is kept).

    Lets a detector see what the learner wrote, e.g. ``"tf.one_hot(" in failing_line(f.error)``.
    """
    line = ""
    for frame, number in learner_frames(exc):
        line = linecache.getline(frame.f_code.co_filename, number, frame.f_globals).strip() or line
    return line


#: Calls that write into their first argument (``np.put(scores, ...)``), and ``out=name``: the array written there.
_WRITES_FIRST = re.compile(r"\b(?:np|numpy)\.(?:put|putmask|place|copyto|fill_diagonal|random\.shuffle)\(\s*([A-Za-z_]\w*)")
_WRITES_OUT = re.compile(r"\bout\s*=\s*\(?\s*([A-Za-z_]\w*)")


def _written_input(exc: BaseException, inputs: dict) -> str | None:
    """Which input (by name, of ``inputs``) a read-only error came from, or None when that cannot be seen.

    The array written on the learner's failing line is the line's target (``scores /= ...``,
    ``masked[exclude] = ...``, ``scores.sort()``), the first argument of ``np.put``/``np.copyto``/...,
    or an ``out=`` argument. When that is an input, it is named; when it is a local of the learner's
    function, the input it is a view of (``masked = scores``, ``p = y_pred.ravel()``). An input that
    the line only reads is never named.
    """
    if len(inputs) == 1:
        return next(iter(inputs))
    line = failing_line(exc)
    targets = [m.group(1) for m in (_WRITES_FIRST.search(line), _WRITES_OUT.search(line)) if m]
    first = re.match(r"\s*(?:return\s+)?([A-Za-z_]\w*)", line)
    if first and first.group(1) not in ("np", "numpy"):
        targets.append(first.group(1))
    frames = learner_frames(exc)
    local = frames[-1][0].f_locals if frames else {}
    for target in targets:
        if target in inputs and (target not in local or local[target] is inputs[target]):
            return target
        value = local.get(target)
        if isinstance(value, np.ndarray):
            shared = [name for name, given in inputs.items()
                      if isinstance(given, np.ndarray) and np.shares_memory(value, given)]
            if len(shared) == 1:
                return shared[0]
    return None


def call_learner(function: Callable, *args, **kwargs):
    """Call the learner's function on exactly these arguments and return what it returns.

    Raises :class:`NotAttempted` if the function is still the stub (or returns ``...``), and
    :class:`Mistake` if it is not callable or returns ``None`` although it has a body (a
    forgotten ``return``). Prefer :func:`run_case`, which also protects the inputs.
    """
    if not callable(function):
        raise Mistake(f"expected a function, got {describe(function)}: {function_advice(function)}", key=NOT_A_FUNCTION)
    result = function(*args, **kwargs)
    if result is None and not is_stub_function(function):
        raise Mistake("your function returned None: did you forget the `return` statement?", key=RETURNED_NONE)
    if is_blank(result):
        raise NotAttempted
    return result


#: The opening of every graph advice: where the learner's code runs during fit.
_IN_FIT = "Keras runs a layer's call and a model's loss as a graph (tf.function) during fit, where "
_GRAPH_ADVICE = (_IN_FIT + "tensors have no values: "
                 "use tf or keras.ops functions only, no NumPy calls, .numpy(), Python loops over a tensor or fixed sizes")
#: Errors that mean "this code needs values or a known batch size", which a graph does not have.
_GRAPH_ERRORS = re.compile(r"Cannot convert a symbolic|numpy\(\) is only available when eager|as a Python `bool` is not "
                           r"allowed|symbolic [`']?tf\.Tensor|[Ii]terating over (a symbolic )?`tf\.Tensor`|KerasTensor cannot be "
                           r"used|SymbolicTensor object|'SymbolicTensor'|Failed to convert elements of \(None|NoneType|"
                           r"OperatorNotAllowedInGraph|__array__")
_GRAPH_BOOL_ADVICE = (_IN_FIT + "a tensor has no True or False "
                      "value yet: a Python if, while, and, or on a tensor fails there. Choose values element by element "
                      "with tf.where (a guard against dividing by 0: tf.maximum(count, 1) or tf.math.divide_no_nan)")
_GRAPH_NONE_ADVICE = (_IN_FIT + "the batch size is unknown: "
                      "x.shape[0] is None there, so range(x.shape[0]) or a shape built from it fails. Take sizes with "
                      "tf.shape(x)[0] (keras.ops.shape(x)[0]), or let the tf functions handle the batch axis (no "
                      "Python loop over it)")
_GRAPH_LEN_ADVICE = (_IN_FIT + "a tensor's "
                     "size is known only when the step runs, so len() of a tensor fails there (and x.shape[0] can be "
                     "None). Take sizes with tf.shape(x)[0] (keras.ops.shape(x)[0])")
#: len() of a symbolic tensor.
_GRAPH_LEN = re.compile(r"len is not well defined")
#: Errors of a Python ``if``/``and`` on a tensor's value, and of a size that is None in a graph.
_GRAPH_BOOL = re.compile(r"as a Python `bool` is not allowed|OperatorNotAllowedInGraph")
_GRAPH_NONE = re.compile(r"got None of type 'NoneType'|'NoneType' object cannot be interpreted as an integer|"
                         r"Failed to convert elements of \(None|Invalid dtype: NoneType")


def graph_advice(text: str) -> str:
    """Why code that works on eager tensors fails in a graph (``text``: :func:`error_text`), by what the error shows.

    A Python ``if``/``and`` on a tensor's value gets its own advice (``tf.where``), a size read from ``x.shape[0]``
    (None in a graph) or with ``len()`` its own (``tf.shape(x)[0]``); anything else the graph rules: tf functions only, no NumPy,
    ``.numpy()``, Python loops over a tensor or fixed sizes.
    """
    if _GRAPH_BOOL.search(text):
        return _GRAPH_BOOL_ADVICE
    if _GRAPH_NONE.search(text):
        return _GRAPH_NONE_ADVICE
    if _GRAPH_LEN.search(text):
        return _GRAPH_LEN_ADVICE
    return _GRAPH_ADVICE


_BATCH_ADVICE = ("code written for one batch size (a reshape to fixed numbers, a Python loop over the batch, a size "
                 "taken from one example) fails on fit's smaller last batch: take sizes from the input itself "
                 "(tf.shape(t)[0]) or let the tf functions handle the batch axis")


_BATCH_ERRORS = re.compile(r"Input to reshape|Matrix size-incompatible|slice index \d+ of dimension 0 out of bounds|"
                           r"index \d+ is out of bounds for axis 0")


def _fit_advice(text: str, partial_batch: bool) -> str:
    """Why a learner's layer failed in a model or in fit: graph rules, the smaller last batch, or the error itself."""
    if _GRAPH_ERRORS.search(text):
        return graph_advice(text)
    if partial_batch and (broadcast_shapes(text) or _BATCH_ERRORS.search(text)):
        return capitalised(_BATCH_ADVICE)
    explanation = explain_error(text)
    if explanation == explain_error(""):  # nothing known about this error: say how to see it whole
        return ("Put your layer in a small model and run fit on a few rows yourself: the traceback's last line in your "
                "own code shows where it fails")
    return capitalised(explanation)


def run_in_graph(function: Callable, case: Case, name: str = "your function") -> Any:
    """Run ``function`` on ``case`` inside ``tf.function``, its array inputs as tensors, as Keras runs ``call``.

    Returns the result as a NumPy array (or what the graph returned). The trace uses an unknown
    batch size (``None`` first axis) and no AutoGraph (Keras's train step is ``do_not_convert``,
    ``keras/src/backend/tensorflow/trainer.py``), so code written for one batch size, ``len()`` of
    a tensor or a Python ``if`` on one fails here as it would in ``fit``.

    Raises:
        NotAttempted: the stub.
        Mistake: the function fails in graph mode (key :data:`NOT_IN_GRAPH`): the message names
            the call and the learner's own error, and says what graph mode allows.
    """
    import tensorflow as tf

    if is_stub_function(function):
        raise NotAttempted
    tensors = {key: tf.constant(value) if isinstance(value, np.ndarray) else value for key, value in case.inputs.items()}
    specs = [tf.TensorSpec((None, *value.shape[1:]), value.dtype) for value in tensors.values() if is_tensor(value)]
    names = [key for key, value in tensors.items() if is_tensor(value)]
    others = {key: value for key, value in tensors.items() if not is_tensor(value)}

    def call(*args):
        values = dict(others, **dict(zip(names, args)))
        return call_learner(function, *(values[key] for key in case.inputs))

    try:
        traced = tf.function(call, input_signature=specs, reduce_retracing=True, autograph=False)  # as fit: its step is do_not_convert (keras trainer.py:131)
        result = traced(*(tensors[key] for key in names))
    except (KeyboardInterrupt, NotAttempted):
        raise
    except Mistake as mistake:
        raise case.fail(tidy(str(mistake)), name, key=mistake.key) from None
    except Exception as exc:  # noqa: BLE001
        text = error_text(exc)
        raise case.fail(f"{name} works on eager tensors, but inside a tf.function graph it raised {_stopped(text)} {graph_advice(text)}",
                        name, key=NOT_IN_GRAPH, error=text) from None  # fmt: skip
    return result


def _fit_model(symbolic, output, inputs: np.ndarray, head_units: int, batch_size: int | None):
    import keras

    if len(output.shape) > 2:
        output = keras.layers.Flatten()(output)
    output = keras.layers.Dense(head_units)(output)
    model = keras.Model(symbolic, output)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    size = batch_size or max(1, len(inputs) - 1)  # a partial last batch whenever there are 2 rows or more
    return model, size


def fit_in_model(
    layer: Any,
    inputs: Any,
    *,
    before: Iterable[Any] = (),
    what: str = "your layer",
    head_units: int = 1,
    batch_size: int | None = None,
) -> np.ndarray:
    """Use ``layer`` inside a Keras functional model and train it for one epoch on ``inputs``.

    The model is ``keras.Input(like inputs, batch size unknown) -> *before -> layer -> Flatten ->
    Dense(head_units)`` (``before``: layers of the check's own, e.g. an
    ``Embedding(mask_zero=True)`` that feeds the learner's pooling layer a mask), compiled with
    SGD and mean squared error and fitted for one epoch on zero targets, with ``batch_size``
    (default ``len(inputs) - 1``, so the last batch is partial: code written for one batch size
    fails as it would in a learner's ``fit``). Returns the model's output for ``inputs`` after that
    epoch, shape ``(batch, head_units)``. ``inputs`` is one NumPy array, batch first.

    Raises:
        Mistake: the layer cannot be used on a ``keras.Input``, in ``fit`` or in ``predict``; the
            message says where it failed, gives the learner's own error and what graph mode allows.
    """
    import keras

    from course_lib.validation import check_size

    if batch_size is not None:
        batch_size = check_size(batch_size, "batch_size", hint="rows per fit step; None: len(inputs) - 1")
    inputs = np.asarray(inputs)
    if inputs.ndim < 1 or len(inputs) == 0:
        raise ValueError(f"fit_in_model: inputs must hold at least one row (batch first), got shape {inputs.shape}")
    stage = "when called on a keras.Input (inside a functional model)"
    try:
        dtype = "string" if inputs.dtype.kind in "US" else str(inputs.dtype)
        symbolic = keras.Input(shape=inputs.shape[1:], dtype=dtype)
        hidden = symbolic
        for own in before:
            hidden = own(hidden)
        hidden = layer(hidden)
        model, size = _fit_model(symbolic, hidden, inputs, head_units, batch_size)
        stage = f"during model.fit (batches of {size}, the last one smaller)" if len(inputs) % size else "during model.fit"
        targets = np.zeros((len(inputs), head_units), np.float32)
        model.fit(inputs, targets, epochs=1, batch_size=size, verbose=0, shuffle=False)
        stage = "in model.predict"
        return np.asarray(model.predict(inputs, batch_size=size, verbose=0))
    except (KeyboardInterrupt, Mistake, NotAttempted):
        raise
    except Exception as exc:  # noqa: BLE001
        text = error_text(exc)
        partial = "the last one smaller" in stage
        raise Mistake(f"{what} works when called directly, but {stage} it raised {_stopped(text)} "
                      f"{_fit_advice(text, partial)}", key=NOT_IN_GRAPH, error=text) from None  # fmt: skip


def fit_function_in_model(function: Callable, inputs: Any, *, before: Iterable[Any] = (), what: str = "your function",
                          takes_mask: bool = True, batch_size: int | None = None) -> np.ndarray:  # fmt: skip
    """Call a learner's ``function(x, mask)`` (or ``function(x)``) as a layer's ``call`` inside :func:`fit_in_model`.

    This is how a lesson uses such a function: in a custom layer, in a model, trained with
    ``fit`` (partial last batch included). ``before`` must produce the mask when ``takes_mask``.
    """
    import keras

    class FunctionLayer(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, x, mask=None):
            return call_learner(function, x, mask) if takes_mask else call_learner(function, x)

        def compute_mask(self, x, mask=None):
            return None

    # Named after the learner's function, so that any Keras message names what the learner wrote.
    own = re.sub(r"\W", "_", getattr(function, "__name__", "") or "") or "your_function"
    own = "your_function" if own == "_lambda_" else own
    FunctionLayer.__name__ = FunctionLayer.__qualname__ = own
    return fit_in_model(FunctionLayer(name=own), inputs, before=before, what=what, batch_size=batch_size)


def raised(call: Callable[[], Any]) -> BaseException | None:
    """The exception ``call()`` raises, or ``None``: use an answer the way the lesson's next cell does.

    Example: ``raised(lambda: keras.layers.Embedding(answer, 4))`` is a ``ValueError`` for
    ``np.int64(1683)`` on Keras 3.15, so a check can say the value is right but the type is not.
    """
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001
        return exc
    return None


# --------------------------------------------------------------------------- reading answers


def to_numpy(value: Any, what: str = "your answer") -> np.ndarray:
    """Turn a tensor, variable, list or array into a NumPy array; :class:`Mistake` if impossible."""
    if hasattr(value, "numpy") and callable(value.numpy):
        try:
            value = value.numpy()
        except Exception as exc:  # noqa: BLE001 - e.g. a symbolic KerasTensor
            raise Mistake(f"{what} should hold numbers, got {describe(value)}, which has no values yet: compute it "
                          "from real data (a tensor or array), not from a keras.Input") from exc
    if isinstance(value, type) or callable(value) and not isinstance(value, np.ndarray):
        raise Mistake(f"{what} should be an array or tensor, got {describe(value)}: give the numbers themselves "
                      "(call what computes them and keep its result)")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise Mistake(f"{what} should be an array or tensor, got {describe(value)}: give the numbers as an array, "
                      "a tensor or a list of equal-length rows") from exc
    if array.dtype == object:
        raise Mistake(f"{what} should be an array or tensor of numbers, got {describe(value)}: give the numbers as an "
                      "array, a tensor or a list of equal-length rows")
    return array


@dataclass(frozen=True)
class Number:
    """One number read from an answer by :func:`read_number`.

    Attributes:
        value: the number as a Python ``float`` (or ``int`` when it is an integer type).
        is_integer_type: the answer had an integer type (Python/NumPy int, integer tensor).
        is_python: the answer was a plain Python ``int``/``float`` (what ``keras`` and ``range`` accept).
        original: the answer itself.
    """

    value: float | int
    is_integer_type: bool
    is_python: bool
    original: Any


def _number_array(answer: Any) -> np.ndarray | None:
    """``answer`` as an array of numbers if it is array-like (tensor, array, list), else None."""
    if isinstance(answer, (str, bytes, bool, np.bool_, type)) or type(answer).__module__.startswith("pandas"):
        return None
    if isinstance(answer, numbers.Real) and not isinstance(answer, np.generic):  # a Python number: read as it is
        return None
    if callable(answer) and not is_tensor(answer):
        return None
    try:
        array = to_numpy(answer)
    except Mistake:
        return None
    return array if array.dtype.kind in "biuf" else None


def _scalar_of(found: Any) -> float:
    return float(np.asarray(found.array).reshape(-1)[0]) if found.array is not None else float(found.answer)


#: How an answer fails to be one number; :func:`read_number` runs them. An exercise that asks for
#: a number lists them in its catalogue (``mistakes=[*NUMBER_PITFALLS, ...]``).
NUMBER_PITFALLS: tuple[Pitfall, ...] = (
    Pitfall("boolean", lambda f: isinstance(f.answer, (bool, np.bool_)) or f.array is not None and f.array.dtype == bool,
            lambda f: f"{f.what} should be a number, got {describe(f.answer)}: a comparison (==, <, >) gives True or "
                      "False; store the number itself"),
    Pitfall("string", lambda f: isinstance(f.answer, (str, bytes)),
            lambda f: f"{f.what} should be a number, got the string {f.answer!r}: drop the quotes and the formatting "
                      "(f-strings and round(..., n) inside str(...) make text)"),
    Pitfall("pandas-object", lambda f: type(f.answer).__module__.startswith("pandas"),
            lambda f: f"{f.what} should be one number, got {describe(f.answer)}: reduce it to one value "
                      "(.mean(), .sum(), or .item() for a single cell)"),
    Pitfall("one-element-array", lambda f: f.array is not None and f.array.dtype != bool and f.array.size == 1 and f.array.ndim >= 1,
            lambda f: f"{f.what} should be one number, got {describe(f.answer)} holding it: take the number out "
                      "with .item()"),
    Pitfall("several-numbers", lambda f: f.array is not None and f.array.dtype != bool and f.array.size != 1,
            lambda f: f"{f.what} should be one number, got {describe(f.answer)} with {f.array.size} "
                      f"value{'' if f.array.size == 1 else 's'}: keep only the number asked for"
                      + (" (a shape is a tuple: pick one of its sizes, e.g. [0])" if isinstance(f.answer, tuple) else "")),
    Pitfall("not-finite", lambda f: not math.isfinite(_scalar_of(f)),
            lambda f: f"{f.what} is {_scalar_of(f)}: a division by zero or a missing value made it; check what you "
                      "divided by and whether the data you counted has missing values"),
    Pitfall("not-a-number",
            lambda f: f.array is None and not isinstance(f.answer, (numbers.Real, str, bytes, bool, np.bool_))
            and not type(f.answer).__module__.startswith("pandas"),
            lambda f: f"{f.what} should be a number, got {describe(f.answer)}: "
                      + (f"store the number itself, not an object made with it (this one was made with "
                         f"input_dim={f.answer.input_dim}): a Python int" if isinstance(getattr(f.answer, "input_dim", None), int)
                         else "store the number itself, not an object made with it"
                         if type(f.answer).__module__.startswith(("keras", "tensorflow", "tf_keras"))
                         else "store the number itself (a Python int or float)")),
)


def read_number(value: Any, what: str = "your answer") -> Number:
    """One real number from an answer: a Python number, NumPy scalar, 0-d array or 0-d tensor.

    Raises:
        Mistake: one of :data:`NUMBER_PITFALLS`, each with its own key: a boolean, a string, a
            pandas Series/DataFrame (reduce it), a one-element array (``.item()``), several
            numbers, NaN or infinity, or anything else.
    """
    array = _number_array(value)
    diagnose(NUMBER_PITFALLS, facts(answer=value, array=array, what=what), objects={})
    if array is None:  # a Python number (int, float, Fraction, Decimal...)
        integer = isinstance(value, numbers.Integral)
        return Number(int(value) if integer else float(value), integer, type(value) in (int, float), value)
    number = array.item()
    integer = array.dtype.kind in "iu"
    return Number(int(number) if integer else float(number), integer, False, value)


def _embedding_refuses(size: Any) -> bool:
    import keras

    return raised(lambda: keras.layers.Embedding(size, 4)) is not None


def table_size_pitfalls(right: int | Callable[[], int]) -> tuple[Pitfall, ...]:
    """Pitfalls for a table size whose value is ``right`` but whose type the next cell's Embedding refuses.

    Each uses the answer as the lessons do, ``keras.layers.Embedding(answer, ...)``: on Keras 3.15
    a float, a NumPy integer (``df.movie_id.max() + 1``), a 0-d array or a tensor is refused with
    "input_dim must be a positive integer". On a Keras that accepts the type, no pitfall fires.
    ``right`` may be a function (computed when first needed, e.g. from data). Facts: ``answer``
    and ``number`` (:func:`read_number`). Keys: ``"float-size"``, ``"numpy-integer"``,
    ``"tensor-size"``, ``"zero-d-array"``.
    """
    def size() -> int:
        return right() if callable(right) else right

    def refused(f, kind: Callable[[Any], bool]) -> bool:
        return float(f.number.value) == size() and kind(f) and _embedding_refuses(f.answer)

    fix = "Wrap it in int(...)"
    return (
        Pitfall("float-size", lambda f: refused(f, lambda f: not f.number.is_integer_type),
                lambda f: f"{show(f.answer)} is the right number of rows, but a float: keras.layers.Embedding refuses "
                          f"a float input_dim (it counts rows). {fix}"),
        Pitfall("numpy-integer", lambda f: refused(f, lambda f: f.number.is_integer_type and isinstance(f.answer, np.generic)),
                lambda f: f"{size()} is right, but it is {describe(f.answer)}, and keras.layers.Embedding({size()}, ...), "
                          f"where a number of rows goes, refuses a NumPy integer as input_dim on this Keras version. {fix} "
                          "(NumPy and pandas give NumPy integers: df.column.max() + 1 is one)"),
        Pitfall("tensor-size", lambda f: refused(f, lambda f: f.number.is_integer_type and is_tensor(f.answer)),
                lambda f: f"{size()} is right, but it is {describe(f.answer)}: keras.layers.Embedding needs a Python int "
                          f"as input_dim. {fix}"),
        Pitfall("zero-d-array", lambda f: refused(f, lambda f: f.number.is_integer_type and isinstance(f.answer, np.ndarray)),
                lambda f: f"{size()} is right, but it is {describe(f.answer)}: keras.layers.Embedding needs a Python int "
                          "as input_dim. Take it out with int(...) or .item()"),
    )


def is_rounding_of(value: float, expected: float, *, decimals: int, rtol: float = 1e-6) -> bool:
    """True if ``value`` is ``expected`` (within ``rtol``, e.g. float32) or ``expected`` rounded to ``decimals`` or more.

    Tighter than a tolerance: 943 users instead of 944 moves a density from 0.063046 to 0.062941,
    which a tolerance wide enough for "0.063" would accept; a rounding check refuses it.
    """
    if rtol < 0 or decimals < 0:
        raise ValueError(f"rtol={rtol!r} and decimals={decimals!r} must be >= 0")
    if math.isclose(value, expected, rel_tol=rtol, abs_tol=0.0):
        return True
    return any(math.isclose(value, round(expected, digits), rel_tol=1e-9, abs_tol=1e-12) for digits in range(decimals, 16))


def expect_shape(value: Any, expected: tuple, what: str = "your answer") -> np.ndarray:
    """Return ``value`` as an array; :class:`Mistake` naming both shapes if they differ."""
    array = to_numpy(value, what)
    if tuple(array.shape) != tuple(expected):
        raise Mistake(f"{what} has shape {tuple(array.shape)}, expected {tuple(expected)}")
    return array


def expect_close(value: Any, expected: Any, what: str = "your answer", *, atol: float = 1e-5) -> np.ndarray:
    """Return ``value`` as an array; :class:`Mistake` if shape or numbers differ from ``expected``.

    Numbers are compared with ``np.allclose(value, expected, atol=atol, rtol=1e-5)``; NaN equals
    NaN and infinities must match.

    Raises:
        ValueError: ``atol`` is negative or not a finite number (an author's error, not the learner's).
        Mistake: the shapes or numbers differ, or ``value`` holds no numbers.
    """
    if isinstance(atol, bool) or not isinstance(atol, numbers.Real) or not math.isfinite(atol) or atol < 0:
        raise ValueError(f"atol={atol!r}: a tolerance is a finite number >= 0")
    expected = to_numpy(expected, "the expected value")
    array = expect_shape(value, expected.shape, what)
    if array.dtype.kind not in "biuf":
        raise Mistake(f"{what} should hold numbers, got dtype {array.dtype}")
    got, want = array.astype(np.float64), expected.astype(np.float64)
    if not np.allclose(got, want, atol=atol, rtol=1e-5, equal_nan=True):
        with np.errstate(invalid="ignore"):
            diff = np.abs(got - want)
        diff = np.where(np.isnan(diff), np.inf, diff)
        worst = float(np.max(diff))
        raise Mistake(f"{what} has the right shape but its numbers differ (largest difference {worst:.3g})")
    return array


def expect_int(value: Any, what: str = "your answer") -> int:
    """Return ``value`` as a Python int; :class:`Mistake` if it is a float (even ``3.0``), string, array...

    Accepted: Python and NumPy integers, 0-d integer arrays and tensors.
    """
    number = read_number(value, what)
    if not number.is_integer_type:
        whole = float(number.value).is_integer()
        advice = f": write {int(number.value)}, or wrap it in int(...)" if whole else ""
        raise Mistake(f"{what} should be a whole number (an int), got {describe(value)}{advice}", key="float-for-int")
    return int(number.value)


# --------------------------------------------------------------------------- messages


_SPACES = re.compile(r"[ \t]+")


def tidy(message: str) -> str:
    """One tidy sentence: single spaces, no trailing punctuation (the caller adds a full stop)."""
    text = _SPACES.sub(" ", str(message)).strip()
    while text and text[-1] in ".;,:" and not text.endswith("..."):
        text = text[:-1].rstrip()
    return text


def capitalised(text: str) -> str:
    """``text`` with its first letter upper case when its first word is a plain word (never ``tf.where``)."""
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        return text[:1].upper() + text[1:]
    return text


def _ends_sentence(text: str) -> bool:
    """``text`` ends with its own ``!``, ``?`` or ``...`` (also inside a closing bracket), not with code's ``f(...)``."""
    if text.endswith("...)"):  # code such as int(...) or tf.where(valid, ids, ...) is no sentence's end
        depth, opening = 0, -1
        for index in range(len(text) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(text[index], 0)
            if depth == 0:
                opening = index
                break
        if opening > 0 and (text[opening - 1].isalnum() or text[opening - 1] in "_]"):
            return False
    return text.endswith(("!", "?", "...", ".)", "!)", "?)"))


def _stopped(text: str) -> str:
    """``text`` as it is, with a full stop after it unless it ends with its own ``!``, ``?`` or ``...``."""
    return text if _ends_sentence(text) else text + "."


def _sentence(text: str) -> str:
    """``text`` ending with exactly one full stop (or its own ``!``, ``?`` or ``...``, also inside a closing bracket)."""
    text = tidy(text)
    if not text or _ends_sentence(text):
        return text
    return text + "."


@dataclass(frozen=True)
class Result:
    """Outcome of checking one answer: ``status`` is ``"correct"``, ``"incorrect"`` or ``"not attempted"``.

    Attributes:
        message: what the learner reads.
        mistake: the key of the catalogued mistake the message names (``None``: a generic message).
        detected: keys of every pitfall whose detector fired at the stage that rejected the answer.
        error: the learner's own exception text when the message reports one.
        objects: the learner-visible objects the message may name (for tests of its wording).
    """

    status: str
    message: str
    mistake: str | None = None
    detected: tuple = ()
    error: str | None = None
    objects: dict | None = field(default=None, compare=False, hash=False)

    @property
    def correct(self) -> bool:
        return self.status == "correct"


def _caller_lesson(depth: int = 2) -> str:
    """``"lesson01"`` for an exercise defined in ``course_lib.exercises.lesson01``; else the module name."""
    try:
        module = sys._getframe(depth).f_globals.get("__name__", "")
    except ValueError:
        module = ""
    return module.rsplit(".", 1)[-1] if module.startswith("course_lib.exercises.") else module


def _mistake_details(mistake: Mistake) -> tuple[str | None, tuple, str | None, dict]:
    """Key, detected keys, error and objects of ``mistake`` or of the Mistake it was raised from."""
    key, detected = mistake.key, mistake.detected
    error, objects = mistake.error, dict(mistake.objects)
    inner = mistake.__context__
    while isinstance(inner, Mistake) and (error is None or not objects):  # `raise Mistake(f"{m}...") from None`
        error = error or inner.error
        objects = objects or dict(inner.objects)
        if key is None and str(inner) in str(mistake):
            key, detected = inner.key, inner.detected
        inner = inner.__context__
    return key, detected, error, objects


class Exercise:
    """One self-checked exercise.

    Args:
        name: how the notebook refers to it, e.g. ``"q1"`` (used in messages).
        title: a few words saying what is asked.
        checker: ``checker(answer)`` raises :class:`Mistake` (wrong) or :class:`NotAttempted`,
            or returns ``None`` or a short string shown with the "correct" line.
        hint: text printed by :meth:`hint`.
        solution: code (or text) printed by :meth:`solution`.
        lesson: the key under which passes are recorded (default: the defining module's last
            name part, e.g. ``"lesson01"``).
        mistakes: the exercise's mistake catalogue (:class:`Pitfall` objects; keys unique).
        if_none: what an answer of ``None`` means in this exercise (default: something that returns
            nothing was stored); e.g. ``tape.gradient`` returns ``None`` for a loss computed outside the tape.
    """

    def __init__(
        self,
        name: str,
        title: str,
        checker: Callable[[Any], str | None],
        hint: str,
        solution: str,
        lesson: str | None = None,
        mistakes: Iterable[Pitfall] = (),
        if_none: str | None = None,
    ):
        for label, value in (("name", name), ("title", title), ("hint", hint), ("solution", solution)):
            if not isinstance(value, str):
                raise TypeError(f"Exercise {label}={value!r}: expected a str")
        if if_none is not None and not isinstance(if_none, str):
            raise TypeError(f"Exercise if_none={if_none!r}: expected a str (what a None answer means here) or None")
        self._if_none = if_none
        if not callable(checker):
            raise TypeError(f"Exercise {name}: checker must be a function of the answer, got {type(checker).__name__}")
        self.name = name
        self.title = title
        self.lesson = lesson or _caller_lesson()
        self._checker = checker
        self._hint = textwrap.dedent(hint).strip()
        self._solution = textwrap.dedent(solution).strip()
        self.mistakes: tuple[Pitfall, ...] = tuple(mistakes)
        if not all(isinstance(p, Pitfall) for p in self.mistakes):
            raise TypeError(f"Exercise {name}: mistakes must be Pitfall objects")
        keys = [p.key for p in self.mistakes]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"{self.lesson}.{name}: pitfall keys must be unique, repeated: {duplicates}")
        self.last_result: Result | None = None

    def evaluate(self, answer: Any = ____) -> Result:
        """Check ``answer`` and return a :class:`Result` without printing.

        Never raises, except ``KeyboardInterrupt``: any other exception of the learner's code,
        ``SystemExit`` included, becomes an "incorrect" result naming it.
        """
        if answer is None:
            return Result(
                "incorrect",
                self._if_none or "your answer is None: did you store the result of something that returns nothing "
                "(a function without `return`, list.sort(), a pandas method with inplace=True)?",
                mistake=RETURNED_NONE,
            )
        if is_blank(answer):
            return Result("not attempted", "")
        try:
            note = self._checker(answer)
        except KeyboardInterrupt:
            raise
        except NotAttempted:
            return Result("not attempted", "")
        except Mistake as mistake:
            key, detected, error, objects = _mistake_details(mistake)
            return Result("incorrect", tidy(str(mistake)), key, detected, error, objects)
        except BaseException as exc:  # noqa: BLE001 - the learner's code failed while being checked
            text = error_text(exc)
            return Result("incorrect", f"running your answer raised {_stopped(text)} {capitalised(explain_error(text))}",
                          RAISED, (RAISED,), text)
        return Result("correct", tidy(note) if isinstance(note, str) else "")

    def check(self, answer: Any = ____) -> None:
        """Print whether ``answer`` is correct, what is wrong with it, or that it is not attempted yet.

        A correct answer is recorded in the local progress file (:mod:`course_lib.progress`) when
        this kernel is a learner's own (never under pytest or the course's tools).
        """
        result = self.last_result = self.evaluate(answer)
        label = f"{self.name} ({self.title})"
        if result.status == "correct":
            print(f"{MARK_CORRECT} {label}." + (f" {_sentence(result.message)}" if result.message else ""))
            self._record()
        elif result.status == "not attempted":
            print(f"{MARK_NOT_ATTEMPTED} {label}: replace the `...` with your answer and run the cell again.")
        else:
            print(f"{MARK_NOT_YET} {label}: {_sentence(result.message)} ({self.name}.hint() may help.)")

    def _record(self) -> None:
        try:
            from course_lib import progress

            progress.record_pass(self.lesson, self.name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - recording must never break a check
            print(f"(Your progress could not be saved: {error_text(exc)}.)")

    @property
    def solution_text(self) -> str:
        """The reference solution as printed by :meth:`solution` (tests execute it where it is code)."""
        return self._solution

    @property
    def hint_text(self) -> str:
        """The hint as printed by :meth:`hint` (tests check that its approach is accepted)."""
        return self._hint

    def hint(self) -> None:
        """Print the hint."""
        print(f"Hint for {self.name}: {self._hint}")

    def solution(self) -> None:
        """Print the reference solution."""
        print(f"Solution for {self.name}:\n{self._solution}")

    def __repr__(self) -> str:
        return f"<Exercise {self.lesson}.{self.name}: {self.title}>"
