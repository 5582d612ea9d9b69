"""The lint of issue 17 over every message every exercise's check can print, for every lesson.

Generic: it discovers the exercise modules (``course_lib/exercises/lessonNN.py``) and their
``Exercise`` objects, so a lesson added or rewritten is linted as soon as it lands.

- Every exercise rejects a set of generic wrong answers (and its own catalogue's example
  answers, in tests/test_lessonNN.py) with messages that pass :func:`exercise_helpers.lint_result`:
  no bare library exception text (a library error appears only as the learner's own, named and
  explained); no ``name.attribute`` suggested that the object lacks; no "the prompt's" values.
- Every exercise has a mistake catalogue of at least 8 pitfalls with unique keys, and its
  hint passes the same lint.
- A catalogued mistake is named only by its own detector: tests/test_lessonNN.py run
  :func:`exercise_helpers.check_catalogue`, which evaluates every detector of a stage on every
  example answer, each making another mistake.

A lesson whose exercises are being rewritten may be listed in :data:`PENDING`: it is linted
too, and reported as an expected failure until it meets the same bar; remove it once it does
(an unexpected pass is shown as XPASS). No lesson is pending now.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys

import numpy as np
import pytest
from exercise_helpers import attribute_problems, lint, lint_result

from course_lib import exercises as exercise_package
from course_lib.checks import Exercise

#: Lessons whose exercises are being rewritten elsewhere; their lint failures are expected for now.
PENDING: set[str] = set()

#: Generic wrong answers every check must reject without crashing, with a clean message.
GENERIC_WRONG = [
    0, -1, 2.5, "text", True, [1, 2], {"a": 1}, np.zeros((2, 2)), object(), np.float32(0.5), int,
    lambda *args: 0, lambda *args: "x", lambda *args: 1 / 0, lambda *args: np.zeros(3), lambda *args: [],
    lambda *args: sys.exit(3), lambda *args: {}["missing"], lambda *args: np.ones(3)[7],
]


def _modules() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(exercise_package.__path__) if info.name.startswith("lesson"))


def _exercises(lesson: str) -> list[tuple[str, Exercise]]:
    module = importlib.import_module(f"course_lib.exercises.{lesson}")
    return [(name, value) for name, value in vars(module).items() if isinstance(value, Exercise)]


def _marks(lesson: str):
    if lesson in PENDING:
        return [pytest.mark.xfail(reason=f"{lesson} is being rewritten; the lint applies once it lands", strict=False)]
    return []


LESSONS = [pytest.param(lesson, marks=_marks(lesson), id=lesson) for lesson in _modules()]


def test_every_lesson_with_exercises_is_linted():
    assert {"lesson00", "lesson01", "lesson02", "lesson03", "lesson06"} <= set(_modules())


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_message_for_a_generic_wrong_answer_passes_the_lint(lesson):
    problems = []
    for name, exercise in _exercises(lesson):
        assert exercise.name == name, f"{lesson}.{name} calls itself {exercise.name}"
        for answer in GENERIC_WRONG:
            result = exercise.evaluate(answer)
            if result.status != "incorrect":
                problems.append(f"{lesson}.{name} accepted {answer!r}: {result}")
            problems += [f"{lesson}.{name} for {answer!r}: {p}" for p in lint_result(result)]
    assert not problems, "\n".join(problems)


#: Grammar slips the walkthrough of issue 17 found in messages: "a Embedding", "a int8", "1 ids", ".).".
_GRAMMAR = [
    (re.compile(r"\ba (?:int\d*|Embedding|IntegerLookup|Input|array|object|ndarray|int|empty|ArrowStringArray)\b"), "a / an"),
    (re.compile(r"(?<![-\d.])\b1 (?:ids|rows|values|numbers|words|entries|columns|steps)\b"), "a singular count with a plural noun"),
    (re.compile(r"\w\.\)\."), "a full stop after a bracket that ends with one"),
    (re.compile(r"\w\(\w*=?\.\.\.\) \(q\d+\.hint\(\)"), "no full stop after a message that ends in code such as int(...)"),
]


def grammar_problems(text: str, error: str | None = None) -> list[str]:
    """Grammar slips in the course's own words (the learner's error text, quoted as it is, is left out)."""
    own = text.replace(error, " ") if error else text
    return [f"{why}: {own!r}" for pattern, why in _GRAMMAR if pattern.search(own)]


@pytest.mark.parametrize("lesson", LESSONS)
def test_messages_and_printed_lines_have_no_grammar_slips(lesson, capsys):
    problems = []
    for name, exercise in _exercises(lesson):
        for answer in GENERIC_WRONG:
            result = exercise.evaluate(answer)
            problems += [f"{lesson}.{name} for {answer!r}: {p}" for p in grammar_problems(result.message, result.error)]
            exercise.check(answer)
    printed = capsys.readouterr().out
    problems += [f"printed: {p}" for line in printed.splitlines() for p in grammar_problems(line)]
    assert not problems, "\n".join(problems)


def test_the_grammar_check_can_fail():
    assert grammar_problems("got a Embedding object") and grammar_problems("the tensor holds 1 ids ([50])")
    assert grammar_problems("[correct] q4 (t). Right. (set supports_masking.).")
    assert grammar_problems("[not yet] q1 (t): Wrap it in int(...) (q1.hint() may help.)")
    assert not grammar_problems("[not yet] q1 (t): Wrap it in int(...). (q1.hint() may help.)")
    assert not grammar_problems("got an Embedding object, a uint8 tensor, 1 id and (x.dtype.min).")
    assert not grammar_problems("raised X: expected to be a int64 tensor. Explained", error="X: expected to be a int64 tensor")


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_a_catalogue_of_at_least_8_mistakes(lesson):
    for name, exercise in _exercises(lesson):
        keys = [p.key for p in exercise.mistakes]
        assert len(keys) == len(set(keys)), f"{lesson}.{name}: repeated keys"
        assert len(keys) >= 8, f"{lesson}.{name}: {len(keys)} catalogued mistakes"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_hint_passes_the_lint(lesson):
    problems = []
    for name, exercise in _exercises(lesson):
        hint = exercise.hint_text if hasattr(exercise, "hint_text") else exercise._hint
        problems += [f"{lesson}.{name} hint: {p}" for p in lint(hint) + attribute_problems(hint)]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the lint itself can fail


class _Result:
    def __init__(self, message, error=None, objects=None):
        self.message, self.error, self.objects = message, error, objects


def test_the_lint_catches_each_kind_of_bad_message():
    from course_lib.datasets import WordVectors

    glove = WordVectors(["a"], np.ones((1, 2), np.float32), {"a": 0})
    bad = {
        "a library exception": _Result("InvalidArgumentError: indices[1] = 1683 is not in [0, 1683)"),
        "Keras's 'Received:' text": _Result("`input_dim` must be a positive integer. Received: input_dim=-4"),
        "not explained": _Result("safe_ids raised KeyError: 'int8'", error="KeyError: 'int8'"),
        "not introduced": _Result("KeyError: 'int8'. Something went wrong, check your code please", error="KeyError: 'int8'"),
        "has no .copy": _Result("work on a copy: `glove = glove.copy()`", objects={"glove": glove}),
        "np has no .sume": _Result("use np.sume(x) instead"),
        "the prompt's": _Result("for the prompt's float32 table: wrong"),
        "the prompt's, nothing shown": _Result("the prompt's tensor is not what you returned (look above)"),
    }
    for why, result in bad.items():
        problems = lint_result(result)
        assert problems, why
    good = _Result("for one id (ids=[5]): lookup raised KeyError: 'int8'. Your code looked up a key that is not there",
                   error="KeyError: 'int8'", objects={"glove": glove})
    assert lint_result(good) == []
    assert lint_result(_Result("for the prompt's example (x=3): wrong")) == []  # the values are shown
    assert attribute_problems("glove.vectors.copy() and np.zeros and keras.layers.Embedding", {"glove": glove}) == []
