"""Self-checked exercises, in the style of Kaggle's *learntools*.

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

Exercise authors write a *checker*: a function that takes the learner's answer and raises
:class:`Mistake` with a message in the learner's terms when it is wrong. To test a function,
a checker runs it on several :class:`Case` objects (the prompt's example first, then generated
edge cases) with :func:`run_case`, which

- hands the function fresh, read-only copies of every input (NumPy arrays get
  ``flags.writeable = False``; lists and dicts are deep copies compared before and after), so
  an answer cannot corrupt the check's data, and an answer that changes its input is told so:
  "your function changed its input `scores`: work on a copy";
- turns any exception of the learner's code into a :class:`Mistake` that names the case and the
  learner's own error, first line only, without TensorFlow's wrappers
  (``{{function_node __wrapped__...}}``, "Exception encountered when calling ...");
- never re-runs the answer on other inputs to hide an error.

:func:`tensor_cases` turns NumPy cases into TensorFlow-tensor cases, and :func:`fit_in_model`
uses a learner's layer inside a functional model and one ``fit`` step.

When an answer is correct, :meth:`Exercise.check` records the pass in a small local progress
file (see :mod:`course_lib.progress`); recording never breaks a check.
"""

from __future__ import annotations

import copy
import dis
import re
import sys
import textwrap
import traceback
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

import numpy as np

#: Status markers printed by :meth:`Exercise.check` (plain text: no emoji font needed).
MARK_CORRECT = "[correct]"
MARK_NOT_YET = "[not yet]"
MARK_NOT_ATTEMPTED = "[not attempted]"


class _Placeholder:
    """The blank a learner replaces: ``answer = ____``."""

    def __repr__(self) -> str:
        return "____"


#: Blank that lessons may use instead of ``...`` in a stub.
____ = _Placeholder()


class Mistake(Exception):
    """Raised by a checker: the answer is wrong; the message says how, in the learner's terms."""


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


def error_text(exc: BaseException) -> str:
    """The learner's exception as ``"TypeName: first line of the real cause"``.

    TensorFlow and Keras wrap errors: ``{{function_node __wrapped__...}}`` prefixes, ``[Op:...]``
    suffixes, and Keras's "Exception encountered when calling X.call()." header followed by the
    cause and an "Arguments received by" list. All of that is stripped down to the cause's first
    line, at most 200 characters.
    """
    lines = []
    skipping = False
    for raw in _ANSI.sub("", str(exc)).splitlines():
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
    while first.endswith((".", ":", ";", ",")) and not first.endswith("..."):
        first = first[:-1].rstrip()
    if not first and (exc.__cause__ or exc.__context__) is not None:
        return error_text(exc.__cause__ or exc.__context__)
    if len(first) > 200:
        first = first[:197].rstrip() + "..."
    name = type(exc).__name__
    if isinstance(exc, SystemExit):
        return f"SystemExit (your code called exit() or sys.exit() with {exc.code!r})"
    return f"{name}: {first}" if first else name


_READ_ONLY = ("read-only", "not writeable", "is not writable", "read only")


def _is_read_only_error(exc: BaseException) -> bool:
    return isinstance(exc, (ValueError, TypeError)) and any(word in str(exc) for word in _READ_ONLY)


# --------------------------------------------------------------------------- showing values


def show(value: Any, limit: int = 80) -> str:
    """A short text for ``value`` in the learner's terms: lists for arrays and tensors, dtype when it matters."""
    text = _show(value)
    return text if len(text) <= limit else text[: limit - 3].rstrip(", ") + "..."


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
    return repr(value)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" or word.startswith(("int", "uint")) else "a"


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


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith(("tensorflow", "keras")) and hasattr(value, "dtype") and hasattr(value, "shape")


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
    if _is_tensor(value):
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
    if _is_tensor(value):
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


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    """One call of a learner's function, with what it should give.

    Args:
        inputs: the arguments, by the names the prompt uses (``{"ids": ..., "k": 3}``), in call order.
        expected: what a correct answer returns (the checker decides how to compare).
        about: a few words on what this case tests, e.g. ``"ids that do not start at 1"``;
            used in messages. The first case of a check should be the prompt's own example.
        extra: anything else the checker wants to keep with the case.
    """

    inputs: dict
    expected: Any = None
    about: str = ""
    extra: dict = field(default_factory=dict)

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

    def fail(self, message: str, name: str = "your function") -> Mistake:
        """A :class:`Mistake` whose message starts by naming this case."""
        return Mistake(f"{self.where(name)}: {message}")


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


def run_case(function: Callable, case: Case, name: str = "your function") -> Any:
    """Call ``function`` on fresh read-only copies of ``case.inputs``; return what it returns.

    Raises:
        NotAttempted: the function is still the stub, or returns ``...``.
        Mistake: it is not callable; it raised (the message names the case and the learner's
            own error, TensorFlow's wrappers stripped); it changed one of its inputs; it
            returned ``None`` (a forgotten ``return``).
    """
    if not callable(function):
        raise Mistake(f"expected a function, got {_kind(function)}")
    if is_stub_function(function):
        raise NotAttempted
    inputs = {key: fresh(value) for key, value in case.inputs.items()}
    before = {key: _snapshot(value) for key, value in inputs.items()}
    try:
        result = function(*inputs.values())
    except (KeyboardInterrupt, NotAttempted, Mistake):
        raise
    except BaseException as exc:  # noqa: BLE001 - the learner's code failed: say how, in one line
        if _is_read_only_error(exc):
            changed = _written_input(exc, [key for key, value in inputs.items() if _holds_array(value)])
            which = f"`{changed}`" if changed else "one of its inputs"
            first = changed or "x"
            raise case.fail(
                f"your function changed its input {which} in place (NumPy refused: {error_text(exc)}): work on a copy, "
                f"e.g. `{first} = {first}.copy()` first, or use operations that return a new array",
                name,
            ) from None
        raise case.fail(f"your function raised {error_text(exc)}", name) from None
    for key, value in inputs.items():
        if not _same(before[key], _snapshot(value)):
            raise case.fail(f"your function changed its input `{key}`: work on a copy", name)
    if result is None:
        raise case.fail("your function returned None: did you forget the `return` statement?", name)
    if is_blank(result):
        raise NotAttempted
    return result


def _holds_array(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_array(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_array(v) for v in value.values())
    return any(isinstance(v, np.ndarray) for v in getattr(value, "__dict__", {}).values())


def _written_input(exc: BaseException, candidates: list[str]) -> str | None:
    """Which input a read-only error came from: the one named on the learner's failing line."""
    if len(candidates) == 1:
        return candidates[0]
    line = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if "site-packages" not in frame.filename and "/numpy/" not in frame.filename and frame.filename != __file__:
            line = frame.line or line
    first = re.match(r"\s*(?:return\s+)?([A-Za-z_]\w*)", line)
    if first and first.group(1) in candidates:  # `scores /= ...`, `ids[mask] = ...`, `scores.sort()`
        return first.group(1)
    named = [name for name in candidates if re.search(rf"\b{re.escape(name)}\b", line)]
    return named[0] if len(named) == 1 else None


def _kind(value: Any) -> str:
    """How to name what a learner gave: "a float", "the class X", "a Dense layer", ..."""
    if isinstance(value, type):
        return f"the class {value.__name__}"
    module = type(value).__module__
    if module.startswith(("keras", "tensorflow", "tf_keras")):
        return f"a {type(value).__name__} object"
    return f"{_article(type(value).__name__)} {type(value).__name__} ({show(value, 40)})"


def call_learner(function: Callable, *args, **kwargs):
    """Call the learner's function on exactly these arguments and return what it returns.

    Raises :class:`NotAttempted` if the function is still the stub (or returns ``...``), and
    :class:`Mistake` if it is not callable or returns ``None`` although it has a body (a
    forgotten ``return``). Prefer :func:`run_case`, which also protects the inputs.
    """
    if not callable(function):
        raise Mistake(f"expected a function, got {_kind(function)}")
    result = function(*args, **kwargs)
    if result is None and not is_stub_function(function):
        raise Mistake("your function returned None: did you forget the `return` statement?")
    if is_blank(result):
        raise NotAttempted
    return result


def fit_in_model(
    layer: Any,
    inputs: Any,
    *,
    before: Iterable[Any] = (),
    what: str = "your layer",
    head_units: int = 1,
) -> np.ndarray:
    """Use ``layer`` inside a Keras functional model and run one ``fit`` step on ``inputs``.

    The model is ``keras.Input(like inputs) -> *before -> layer -> Flatten -> Dense(head_units)``
    (``before``: layers of the check's own, e.g. an ``Embedding(mask_zero=True)`` that feeds the
    learner's pooling layer a mask), compiled with SGD and mean squared error and fitted for one
    epoch on zero targets. Returns the model's output for ``inputs`` after that step, shape
    ``(batch, head_units)``. ``inputs`` is one NumPy array, batch first.

    Raises:
        Mistake: the layer cannot be used on a ``keras.Input``, in ``fit`` or in ``predict``; the
            message says where it failed and gives the learner's own error.
    """
    import keras

    inputs = np.asarray(inputs)
    stage = "when called on a keras.Input (inside a functional model)"
    try:
        dtype = "string" if inputs.dtype.kind in "US" else str(inputs.dtype)
        symbolic = keras.Input(shape=inputs.shape[1:], dtype=dtype)
        hidden = symbolic
        for own in before:
            hidden = own(hidden)
        hidden = layer(hidden)
        if len(hidden.shape) > 2:
            hidden = keras.layers.Flatten()(hidden)
        output = keras.layers.Dense(head_units)(hidden)
        model = keras.Model(symbolic, output)
        stage = "during model.fit (one training step)"
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        targets = np.zeros((len(inputs), head_units), np.float32)
        model.fit(inputs, targets, epochs=1, batch_size=len(inputs), verbose=0)
        stage = "in model.predict"
        return np.asarray(model.predict(inputs, batch_size=len(inputs), verbose=0))
    except (KeyboardInterrupt, Mistake, NotAttempted):
        raise
    except Exception as exc:  # noqa: BLE001
        raise Mistake(f"{what} works when called directly, but {stage} it raised {error_text(exc)}") from None


# --------------------------------------------------------------------------- comparisons


def to_numpy(value: Any, what: str = "your answer") -> np.ndarray:
    """Turn a tensor, variable, list or array into a NumPy array; :class:`Mistake` if impossible."""
    if hasattr(value, "numpy") and callable(value.numpy):
        try:
            value = value.numpy()
        except Exception as exc:  # noqa: BLE001 - e.g. a symbolic KerasTensor
            raise Mistake(f"{what} should hold numbers, got {_kind(value)}") from exc
    if isinstance(value, type) or callable(value) and not isinstance(value, np.ndarray):
        raise Mistake(f"{what} should be an array or tensor, got {_kind(value)}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise Mistake(f"{what} should be an array or tensor, got {_kind(value)}") from exc
    if array.dtype == object:
        raise Mistake(f"{what} should be an array or tensor of numbers, got {_kind(value)}")
    return array


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
    """
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
    """Return ``value`` as a Python int; :class:`Mistake` if it is a float, string, array..."""
    if isinstance(value, (bool, np.bool_)):
        raise Mistake(f"{what} should be a whole number, got a boolean")
    if hasattr(value, "numpy") and callable(value.numpy) and not isinstance(value, type):
        try:
            value = value.numpy()
        except Exception:  # noqa: BLE001
            pass
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise Mistake(f"{what} should be a whole number, got {_kind(value)}")


# --------------------------------------------------------------------------- messages


_SPACES = re.compile(r"[ \t]+")


def tidy(message: str) -> str:
    """One tidy sentence: single spaces, no trailing punctuation (the caller adds a full stop)."""
    text = _SPACES.sub(" ", str(message)).strip()
    while text and text[-1] in ".;,:" and not text.endswith("..."):
        text = text[:-1].rstrip()
    return text


def _sentence(text: str) -> str:
    """``text`` ending with exactly one full stop (or its own ``!``, ``?`` or ``...``)."""
    text = tidy(text)
    if not text or text.endswith(("!", "?", "...")):
        return text
    return text + "."


@dataclass(frozen=True)
class Result:
    """Outcome of checking one answer: ``status`` is ``"correct"``, ``"incorrect"`` or ``"not attempted"``."""

    status: str
    message: str

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
    """

    def __init__(
        self,
        name: str,
        title: str,
        checker: Callable[[Any], str | None],
        hint: str,
        solution: str,
        lesson: str | None = None,
    ):
        self.name = name
        self.title = title
        self.lesson = lesson or _caller_lesson()
        self._checker = checker
        self._hint = textwrap.dedent(hint).strip()
        self._solution = textwrap.dedent(solution).strip()
        self.last_result: Result | None = None

    def evaluate(self, answer: Any = ____) -> Result:
        """Check ``answer`` and return a :class:`Result` without printing.

        Never raises, except ``KeyboardInterrupt``: any other exception of the learner's code,
        ``SystemExit`` included, becomes an "incorrect" result naming it.
        """
        if answer is None:
            return Result(
                "incorrect",
                "your answer is None: did you store the result of something that returns nothing "
                "(a function without `return`, list.sort(), a pandas method with inplace=True)?",
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
            return Result("incorrect", tidy(str(mistake)))
        except BaseException as exc:  # noqa: BLE001 - the learner's code failed while being checked
            return Result("incorrect", f"running your answer raised {error_text(exc)}")
        return Result("correct", tidy(note) if isinstance(note, str) else "")

    def check(self, answer: Any = ____) -> None:
        """Print whether ``answer`` is correct, what is wrong with it, or that it is not attempted yet.

        A correct answer is recorded in the local progress file (:mod:`course_lib.progress`).
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

    def hint(self) -> None:
        """Print the hint."""
        print(f"Hint for {self.name}: {self._hint}")

    def solution(self) -> None:
        """Print the reference solution."""
        print(f"Solution for {self.name}:\n{self._solution}")

    def __repr__(self) -> str:
        return f"<Exercise {self.lesson}.{self.name}: {self.title}>"
