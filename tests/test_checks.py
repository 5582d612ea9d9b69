"""Tests of the self-check machinery (course_lib.checks) and the progress record (course_lib.progress)."""

import importlib
import json
import multiprocessing
import os
import pkgutil
import sys

import numpy as np
import pytest

from course_lib import progress
from course_lib.checks import (
    MARK_CORRECT,
    MARK_NOT_ATTEMPTED,
    MARK_NOT_YET,
    Case,
    Exercise,
    Mistake,
    NotAttempted,
    ____,
    call_learner,
    error_text,
    expect_close,
    expect_int,
    expect_shape,
    fresh,
    is_blank,
    run_case,
    show,
    tensor_cases,
)
from exercise_helpers import lint



def square_checker(function):
    for case in (Case({"x": 3}, 9, "the prompt's example"), Case({"x": -4}, 16, "a negative number")):
        got = run_case(function, case)
        if expect_int(got, "the result") != case.expected:
            raise case.fail(f"expected {case.expected}, got {got!r}")


square = Exercise("q1", "square a number", square_checker, hint="Multiply x by itself.", solution="return x * x")


@pytest.fixture(autouse=True)
def _own_progress_file(tmp_path, monkeypatch):
    monkeypatch.setenv(progress.ENV_VAR, str(tmp_path / "state" / "progress.json"))
    return tmp_path / "state" / "progress.json"


# --------------------------------------------------------------------------- statuses


@pytest.mark.parametrize("blank", [..., ____])
def test_blank_answers_are_not_attempted(blank):
    assert is_blank(blank)
    assert square.evaluate(blank).status == "not attempted"


def test_none_is_a_mistake_with_a_hint():
    result = square.evaluate(None)
    assert result.status == "incorrect" and "None" in result.message


def test_forgotten_return_is_reported_not_called_unattempted():
    def no_return(x):
        x * x

    def stub_with_docstring(x):
        """Square x."""
        ...  # YOUR CODE HERE

    result = square.evaluate(no_return)
    assert result.status == "incorrect" and "forget the `return`" in result.message
    assert square.evaluate(stub_with_docstring).status == "not attempted"


def test_function_returning_stub_is_not_attempted():
    def stub(x):
        ...  # YOUR CODE HERE

    assert square.evaluate(stub).status == "not attempted"
    assert square.evaluate(lambda x: ...).status == "not attempted"


def test_correct_and_incorrect_answers_name_the_case():
    assert square.evaluate(lambda x: x * x).correct
    assert square.evaluate(lambda x: np.int64(x) ** 2).correct
    wrong = square.evaluate(lambda x: x + x)
    assert wrong.status == "incorrect"
    assert wrong.message == "for the prompt's example (x=3): expected 9, got 6"
    only_positive = square.evaluate(lambda x: 9 if x == 3 else x)
    assert "for a negative number (x=-4): expected 16, got -4" == only_positive.message


def test_learner_exception_is_reported_not_raised():
    result = square.evaluate(lambda x: 1 / 0)
    assert result.status == "incorrect"
    assert result.message == "for the prompt's example (x=3): your function raised ZeroDivisionError: division by zero"


def test_system_exit_is_a_failure_and_keyboard_interrupt_still_interrupts():
    def exits(x):
        sys.exit(2)

    def interrupted(x):
        raise KeyboardInterrupt

    result = square.evaluate(exits)
    assert result.status == "incorrect" and "SystemExit" in result.message and "exit()" in result.message
    checker_exits = Exercise("q9", "t", lambda answer: exit(), hint="h", solution="s")
    assert checker_exits.evaluate(1).status == "incorrect"
    with pytest.raises(KeyboardInterrupt):
        square.evaluate(interrupted)


def test_check_prints_plain_markers_and_never_raises(capsys):
    square.check(...)
    square.check(lambda x: x * x)
    square.check(lambda x: "nine")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{MARK_NOT_ATTEMPTED} q1 (square a number)")
    assert lines[1] == f"{MARK_CORRECT} q1 (square a number)."
    assert lines[2].startswith(f"{MARK_NOT_YET} q1 (square a number): ") and "whole number" in lines[2]
    assert lines[2].endswith("(q1.hint() may help.)")
    assert square.last_result.status == "incorrect"
    for line in lines:
        assert line.isascii() and not lint(line), line


def test_identifiers_keep_their_case_and_punctuation_is_single(capsys):
    def checker(answer):
        raise Mistake("input_dim should be 10.")

    Exercise("q2", "t", checker, hint="h", solution="s").check(1)
    out = capsys.readouterr().out.strip()
    assert out == f"{MARK_NOT_YET} q2 (t): input_dim should be 10. (q2.hint() may help.)"


def test_hint_and_solution_print(capsys):
    square.hint()
    square.solution()
    out = capsys.readouterr().out
    assert "Hint for q1: Multiply x by itself." in out and "return x * x" in out
    assert out.isascii()


# --------------------------------------------------------------------------- run_case


def test_inputs_are_read_only_copies_and_changes_are_named():
    scores = np.array([3.0, -1.0, 2.0])
    case = Case({"scores": scores, "k": 2}, about="three scores")

    def divides_in_place(scores, k):
        scores /= scores.max()
        return scores

    def sorts_in_place(scores, k):
        scores.sort()
        return scores[:k]

    for answer in (divides_in_place, sorts_in_place):
        with pytest.raises(Mistake, match=r"changed its input `scores` in place.*work on a copy") as info:
            run_case(answer, case)
        assert not lint(str(info.value))
    assert scores.tolist() == [3.0, -1.0, 2.0]  # the check's own data is untouched

    def pops_from_list(ids):
        ids.pop()
        return len(ids)

    with pytest.raises(Mistake, match=r"changed its input `ids`: work on a copy"):
        run_case(pops_from_list, Case({"ids": [1, 2, 3]}))


def test_a_copy_is_fine_and_every_call_gets_fresh_inputs():
    case = Case({"scores": np.array([1.0, 2.0])})

    def normalises_a_copy(scores):
        scores = scores.copy()
        scores /= scores.sum()
        return scores

    for _ in range(2):
        np.testing.assert_allclose(run_case(normalises_a_copy, case), [1 / 3, 2 / 3])
    a, b = fresh({"x": [np.zeros(2)]}), fresh({"x": [np.zeros(2)]})
    assert not a["x"][0].flags.writeable and a["x"][0] is not b["x"][0]


def test_tensorflow_wrappers_are_stripped():
    class Wrapped(Exception):
        pass

    exc = Wrapped(
        "Exception encountered when calling MaskedMaxPooling.call().\n\n"
        "{{function_node __wrapped__SelectV2_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
        "condition [3,5,1] and then [3,5,3] must be broadcastable [Op:SelectV2] name: \n\n"
        "Arguments received by MaskedMaxPooling.call():\n  • x=tf.Tensor(shape=(3, 5, 3), dtype=float32)"
    )
    text = error_text(exc)
    assert text == "Wrapped: condition [3,5,1] and then [3,5,3] must be broadcastable"
    assert not lint(text)


def test_real_tensorflow_errors_reach_the_learner_cleanly():
    import tensorflow as tf

    def adds_bool(x):
        return tf.constant([True, False]) + x

    with pytest.raises(Mistake) as info:
        run_case(adds_bool, Case({"x": np.array([1.0, 2.0])}))
    message = str(info.value)
    assert "your function raised" in message and not lint(message), message


def test_tensor_cases_and_show():
    import tensorflow as tf

    (case,) = tensor_cases([Case({"ids": np.array([3, 1]), "k": 1}, about="two ids")])
    assert isinstance(case.inputs["ids"], tf.Tensor) and case.inputs["k"] == 1
    assert case.about == "two ids (as tensors)"
    assert show(case.inputs["ids"]) == "tf.constant([3, 1], dtype=int64)"
    assert show(np.array([[1.5, -np.inf]], np.float32)) == "[[1.5, -inf]] (float32)"
    assert show(np.arange(100)) == "an int64 array of shape (100,)"


def test_fit_in_model_uses_a_layer_symbolically_and_in_fit():
    import keras
    import tensorflow as tf

    from course_lib.checks import fit_in_model

    class Doubles(keras.layers.Layer):
        def call(self, x):
            return 2.0 * x

    class NeedsNumpy(keras.layers.Layer):
        def call(self, x):
            return np.asarray(x) * 2.0  # fails on a symbolic tensor

    x = np.ones((4, 3), np.float32)
    assert fit_in_model(Doubles(), x).shape == (4, 1)
    with pytest.raises(Mistake, match="inside a functional model") as info:
        fit_in_model(NeedsNumpy(), x)
    assert not lint(str(info.value))
    del tf


def test_helpers():
    assert expect_shape([[1, 2, 3]], (1, 3)).shape == (1, 3)
    with pytest.raises(Mistake, match=r"shape \(3,\), expected \(1, 3\)"):
        expect_shape([1, 2, 3], (1, 3))
    expect_close(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-7])
    with pytest.raises(Mistake, match="numbers differ"):
        expect_close([1.0, 2.5], [1.0, 2.0])
    with pytest.raises(Mistake, match="numbers differ"):
        expect_close([1.0, np.nan], [1.0, 2.0])
    assert expect_int(np.int32(4)) == 4 and expect_int(np.array(5)) == 5 and expect_int(6.0) == 6
    for bad in (True, 4.5, "4", [4]):
        with pytest.raises(Mistake):
            expect_int(bad)
    with pytest.raises(Mistake, match="a Dense object"):
        import keras

        expect_int(keras.layers.Dense(3))
    with pytest.raises(NotAttempted):
        call_learner(lambda: ...)


# --------------------------------------------------------------------------- progress


def test_check_records_passes_only(_own_progress_file, capsys):
    exercise = Exercise("q1", "square", square_checker, hint="h", solution="s", lesson="lesson77")
    exercise.check(...)
    exercise.check(lambda x: x + x)
    assert not _own_progress_file.exists()
    exercise.check(lambda x: x * x)
    recorded = json.loads(_own_progress_file.read_text())
    assert list(recorded["passed"]) == ["lesson77"] and list(recorded["passed"]["lesson77"]) == ["q1"]
    first = recorded["passed"]["lesson77"]["q1"]
    exercise.check(lambda x: x * x)
    assert json.loads(_own_progress_file.read_text())["passed"]["lesson77"]["q1"] == first
    assert not list(_own_progress_file.parent.glob("*.tmp"))
    assert "[correct]" in capsys.readouterr().out


def test_exercises_know_their_lesson():
    from course_lib.exercises import lesson01

    assert lesson01.q1.lesson == "lesson01"


def test_recording_never_breaks_a_check(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(progress.ENV_VAR, str(blocker / "progress.json"))
    square.check(lambda x: x * x)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(MARK_CORRECT) and len(lines) == 2
    assert lines[1].startswith("(Your progress could not be saved:")


def test_corrupt_record_is_set_aside(_own_progress_file):
    _own_progress_file.parent.mkdir(parents=True)
    _own_progress_file.write_text("{ half written")
    progress.record_pass("lesson01", "q2")
    assert progress.passed_exercises()["lesson01"].keys() == {"q2"}
    assert _own_progress_file.with_name("progress.json.bad").exists()


def _record_many(path, worker):
    for i in range(10):
        progress.record_pass(f"lesson{worker}", f"q{i}", path=path)


def test_concurrent_kernels_lose_no_pass(tmp_path):
    path = tmp_path / "progress.json"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_record_many, args=(path, w)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    passed = progress.passed_exercises(path)
    assert {lesson: len(names) for lesson, names in passed.items()} == {"lesson0": 10, "lesson1": 10, "lesson2": 10}


def test_progress_report_lists_passed_and_missing(_own_progress_file, capsys):
    progress.record_pass("lesson01", "q2")
    progress.record_pass("lesson01", "q1")
    assert progress.main([]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("lesson 01:"))
    assert "2/5 passed" in line and "passed: q1 q2" in line and "not yet: q3 q4 q5" in line
    assert "lesson 00:" in out and out.strip().splitlines()[-1].startswith("total: 2/")
    assert progress.progress_file() == _own_progress_file


def test_default_progress_file_is_outside_the_repository(monkeypatch):
    monkeypatch.delenv(progress.ENV_VAR)
    path = progress.progress_file().resolve()
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert not str(path).startswith(repository) and path.name == "progress.json"
    assert "embeddings-course" in str(path)


# --------------------------------------------------------------------------- every exercise's messages


def _all_exercises():
    from course_lib import exercises

    found = []
    for info in pkgutil.iter_modules(exercises.__path__):
        if info.name.startswith("lesson"):
            module = importlib.import_module(f"course_lib.exercises.{info.name}")
            found += [(info.name, name, value) for name, value in vars(module).items() if isinstance(value, Exercise)]
    return found


#: Generic wrong answers every check must reject without crashing, with a clean message.
_GENERIC_WRONG = [
    0, -1, 2.5, "text", True, [1, 2], {"a": 1}, np.zeros((2, 2)), object(), np.float32(0.5), int,
    lambda *args: 0, lambda *args: "x", lambda *args: 1 / 0, lambda *args: np.zeros(3),
    lambda *args: sys.exit(3),
]


def test_every_exercise_rejects_generic_wrong_answers_with_clean_messages():
    exercises = _all_exercises()
    lessons = {lesson for lesson, _, _ in exercises}
    assert {"lesson00", "lesson01", "lesson02", "lesson03", "lesson06"} <= lessons
    problems = []
    for lesson, name, exercise in exercises:
        assert exercise.name == name, f"{lesson}.{name} calls itself {exercise.name}"
        for answer in _GENERIC_WRONG:
            result = exercise.evaluate(answer)
            if result.status != "incorrect":
                problems.append(f"{lesson}.{name} accepted {answer!r}: {result}")
            problems += [f"{lesson}.{name}: {p}" for p in lint(result.message)]
        problems += [f"{lesson}.{name} hint: {p}" for p in lint(exercise._hint)]
    assert not problems, "\n".join(problems)
