"""Self-checked exercises, in the style of Kaggle's *learntools*.

Each exercise is an :class:`Exercise` with three methods a learner calls in a notebook::

    q1.check(answer)   # prints "correct", what is wrong, or "not attempted yet"
    q1.hint()          # prints a hint
    q1.solution()      # prints the reference solution

An answer that is still the stub the lesson ships with (``...`` or ``____``, or a function
whose body is still ``...``) is reported as *not attempted yet* and never raises, so every
lesson runs top to bottom with its exercises undone. ``None`` is a mistake with a hint (a
forgotten ``return`` is the usual cause).

Exercise authors write a *checker*: a function that takes the learner's answer and raises
:class:`Mistake` with a message in the learner's terms ("off by the padding row") when it is
wrong. Any other exception raised while checking (say, by the learner's own function) is
reported as a failure with its one-line message, not as a traceback.
"""

from __future__ import annotations

import dis
import textwrap
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


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


def call_learner(function: Callable, *args, **kwargs):
    """Call the learner's function and return what it returns.

    Raises :class:`NotAttempted` if the function is still the stub (or returns ``...``), and
    :class:`Mistake` if it is not callable or returns ``None`` although it has a body (a
    forgotten ``return``).
    """
    if not callable(function):
        raise Mistake(f"expected a function, got {type(function).__name__}")
    result = function(*args, **kwargs)
    if result is None and not is_stub_function(function):
        raise Mistake("your function returned None: did you forget the `return` statement?")
    if is_blank(result):
        raise NotAttempted
    return result


def to_numpy(value: Any, what: str = "your answer") -> np.ndarray:
    """Turn a tensor, variable, list or array into a NumPy array; :class:`Mistake` if impossible."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise Mistake(f"{what} should be an array or tensor, got {type(value).__name__}") from exc


def expect_shape(value: Any, expected: tuple, what: str = "your answer") -> np.ndarray:
    """Return ``value`` as an array; :class:`Mistake` naming both shapes if they differ."""
    array = to_numpy(value, what)
    if tuple(array.shape) != tuple(expected):
        raise Mistake(f"{what} has shape {tuple(array.shape)}, expected {tuple(expected)}")
    return array


def expect_close(value: Any, expected: Any, what: str = "your answer", *, atol: float = 1e-5) -> np.ndarray:
    """Return ``value`` as an array; :class:`Mistake` if shape or numbers differ from ``expected``.

    Numbers are compared with ``np.allclose(value, expected, atol=atol, rtol=1e-5)``.
    """
    expected = to_numpy(expected, "the expected value")
    array = expect_shape(value, expected.shape, what)
    if not np.allclose(array.astype(np.float64), expected.astype(np.float64), atol=atol, rtol=1e-5):
        worst = float(np.max(np.abs(array.astype(np.float64) - expected)))
        raise Mistake(f"{what} has the right shape but its numbers differ (largest difference {worst:.3g})")
    return array


def expect_int(value: Any, what: str = "your answer") -> int:
    """Return ``value`` as a Python int; :class:`Mistake` if it is a float, string, array..."""
    if isinstance(value, (bool, np.bool_)):
        raise Mistake(f"{what} should be a whole number, got a boolean")
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise Mistake(f"{what} should be a whole number, got {value!r} ({type(value).__name__})")


@dataclass(frozen=True)
class Result:
    """Outcome of checking one answer: ``status`` is ``"correct"``, ``"incorrect"`` or ``"not attempted"``."""

    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == "correct"


class Exercise:
    """One self-checked exercise.

    Args:
        name: how the notebook refers to it, e.g. ``"q1"`` (used in messages).
        title: a few words saying what is asked.
        checker: ``checker(answer)`` raises :class:`Mistake` (wrong) or :class:`NotAttempted`,
            or returns ``None`` or a short string shown with the "correct" line.
        hint: text printed by :meth:`hint`.
        solution: code (or text) printed by :meth:`solution`.
    """

    def __init__(self, name: str, title: str, checker: Callable[[Any], str | None], hint: str, solution: str):
        self.name = name
        self.title = title
        self._checker = checker
        self._hint = textwrap.dedent(hint).strip()
        self._solution = textwrap.dedent(solution).strip()
        self.last_result: Result | None = None

    def evaluate(self, answer: Any = ____) -> Result:
        """Check ``answer`` and return a :class:`Result` without printing. Never raises."""
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
        except NotAttempted:
            return Result("not attempted", "")
        except Mistake as mistake:
            return Result("incorrect", str(mistake))
        except Exception as exc:  # the learner's code failed while being checked
            first_line = (str(exc).strip().splitlines() or [""])[0]
            return Result("incorrect", f"running your answer raised {type(exc).__name__}: {first_line}")
        return Result("correct", note or "")

    def check(self, answer: Any = ____) -> None:
        """Print whether ``answer`` is correct, what is wrong with it, or that it is not attempted yet."""
        result = self.last_result = self.evaluate(answer)
        label = f"[{self.name}] {self.title}"
        if result.status == "correct":
            print(f"✅ {label}: correct." + (f" {result.message}" if result.message else ""))
        elif result.status == "not attempted":
            print(f"⏳ {label}: not attempted yet. Replace the `...` with your answer and run the cell again.")
        else:
            message = result.message[:1].upper() + result.message[1:]
            print(f"❌ {label}: not yet. {message}. ({self.name}.hint() may help.)")

    @property
    def solution_text(self) -> str:
        """The reference solution as printed by :meth:`solution` (tests execute it where it is code)."""
        return self._solution

    def hint(self) -> None:
        """Print the hint."""
        print(f"💡 Hint for {self.name}: {self._hint}")

    def solution(self) -> None:
        """Print the reference solution."""
        print(f"Solution for {self.name}:\n{self._solution}")

    def __repr__(self) -> str:
        return f"<Exercise {self.name}: {self.title}>"
