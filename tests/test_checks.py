"""Tests of the self-check machinery (course_lib.checks) and the progress record (course_lib.progress)."""

import importlib
import json
from fractions import Fraction
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
    Pitfall,
    ____,
    call_learner,
    copy_advice,
    diagnose,
    error_text,
    expect_close,
    expect_int,
    expect_shape,
    explained_error,
    facts,
    fit_in_model,
    fresh,
    is_blank,
    is_rounding_of,
    raised,
    read_number,
    run_case,
    run_in_graph,
    show,
    table_size_pitfalls,
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
    """A progress file of the test's own, with recording forced on (under pytest it is off by default)."""
    monkeypatch.setenv(progress.ENV_VAR, str(tmp_path / "state" / "progress.json"))
    monkeypatch.setenv(progress.SWITCH_VAR, "on")
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
    assert result.message == ("for the prompt's example (x=3): your function raised ZeroDivisionError: division by zero. "
                              "A division by zero: which divisor is 0 for these inputs (an empty list, a row with no real steps)?")
    assert result.mistake == "raised" and result.error == "ZeroDivisionError: division by zero"


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
    assert lines[2].startswith(f"{MARK_NOT_YET} q1 (square a number): ") and "got the string 'nine'" in lines[2]
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


def test_the_changed_input_is_the_array_written_not_one_only_read():
    """An alias or a view of an input is traced back to it; an input the line only reads is never blamed."""
    case = Case({"y_true": np.array([4.0, 3.0]), "y_pred": np.array([[3.5], [3.0]])}, about="two ratings")

    def subtracts_into_a_view(y_true, y_pred):
        p = y_pred.ravel()
        p -= y_true
        return p

    def subtracts_with_out(y_true, y_pred):
        y_pred = np.ravel(y_pred)
        np.subtract(y_pred, y_true, out=y_pred)
        return y_pred

    def puts_into_an_alias(y_true, y_pred):
        masked = y_pred
        masked[y_true > 3.5] = 0.0
        return masked

    def puts(y_true, y_pred):
        np.put(y_pred, np.flatnonzero(y_true > 3.5), 0.0)
        return y_pred

    for answer in (subtracts_into_a_view, subtracts_with_out, puts_into_an_alias, puts):
        with pytest.raises(Mistake, match=r"changed its input `y_pred` in place.*`y_pred = y_pred.copy\(\)` first") as info:
            run_case(answer, case)
        assert "y_true" not in str(info.value).split("):", 1)[1], answer.__name__
        assert not lint(str(info.value))


def test_a_changed_input_that_cannot_be_seen_is_not_named():
    namespace = {"np": np}
    exec(compile("def sorts(a, b):\n    np.put(a, [0], 1.0)\n    return a\n", "<typed>", "exec"), namespace)
    with pytest.raises(Mistake, match=r"your function changed one of its inputs in place, .*copy the input you change "
                                      r"first") as info:
        run_case(namespace["sorts"], Case({"a": np.zeros(2), "b": np.ones(2)}))
    assert "its input one" not in str(info.value)


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
    assert expect_int(np.int32(4)) == 4 and expect_int(np.array(5)) == 5 and expect_int(6) == 6
    for bad in (True, 4.5, "4", [4], 6.0, np.float64(3.0)):  # the docstring: a float, even 3.0, is refused
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
    from pathlib import Path

    repository = Path(__file__).resolve().parent.parent
    assert not path.is_relative_to(repository) and path.name == "progress.json"  # a folder, not a string prefix
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


# --------------------------------------------------------------------------- the toolkit's contracts


def test_helpers_enforce_their_docstrings():
    with pytest.raises(ValueError, match="atol=-0.1"):
        expect_close([1.0], [1.0], atol=-0.1)  # a negative tolerance would accept nothing, silently
    with pytest.raises(ValueError, match="atol=nan"):
        expect_close([1.0], [1.0], atol=float("nan"))
    with pytest.raises(ValueError):
        is_rounding_of(0.5, 0.5, decimals=-1)
    with pytest.raises(Mistake, match="whole number"):
        expect_int(3.0)


@pytest.mark.parametrize(
    "answer, key",
    [(True, "boolean"), ("3.5", "string"), (np.array([3.5]), "one-element-array"), ([1.0, 2.0], "several-numbers"),
     (float("nan"), "not-finite"), (len, "not-a-number"), (object(), "not-a-number")],
)
def test_read_number_names_each_way_of_not_being_one_number(answer, key):
    with pytest.raises(Mistake) as info:
        read_number(answer, "the mean")
    assert info.value.key == key and info.value.detected == (key,) and "the mean" in str(info.value)


def test_read_number_accepts_every_scalar_form():
    import tensorflow as tf

    for answer in (3, 3.5, np.int64(3), np.float32(3.5), np.array(2.0), tf.constant(2.5), Fraction(1, 2)):
        read_number(answer)
    assert read_number(7).is_python and not read_number(np.int64(7)).is_python
    assert read_number(np.int64(7)).is_integer_type and not read_number(7.0).is_integer_type


def test_is_rounding_of_refuses_the_classic_off_by_one():
    density = 100_000 / (943 * 1_682)
    assert is_rounding_of(0.063, density, decimals=3) and is_rounding_of(np.float32(density), density, decimals=3)
    assert not is_rounding_of(100_000 / (944 * 1_683), density, decimals=3)  # a tolerance of 1e-3 accepted it
    assert not is_rounding_of(0.06, density, decimals=3)


def test_a_catalogue_names_the_first_mistake_and_records_every_detector():
    pitfalls = [
        Pitfall("negative", lambda f: f.x < 0, "negative"),
        Pitfall("odd", lambda f: f.x % 2 == 1, lambda f: f"{f.x} is odd"),
        Pitfall("breaks", lambda f: 1 / 0, "never shown"),  # a detector that raises does not fire
        Pitfall("warns", lambda f: np.float64(0) / 0 > 0, "never shown"),  # nor warn in a learner's notebook
    ]
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        diagnose(pitfalls, facts(x=4))  # nothing fires: returns
    assert caught == []
    with pytest.raises(Mistake) as info:
        diagnose(pitfalls, facts(x=-3))
    assert info.value.key == "negative" and info.value.detected == ("negative", "odd")
    case = Case({"x": 5}, about="five")
    with pytest.raises(Mistake, match=r"^for five \(x=5\): 5 is odd$"):
        diagnose(pitfalls[:2], facts(x=5), case=case)
    with pytest.raises(ValueError, match="unique"):
        Exercise("q1", "t", lambda a: None, hint="h", solution="s", mistakes=[pitfalls[0], pitfalls[0]])


def test_the_result_names_the_catalogued_mistake():
    exercise = Exercise("q1", "t", lambda a: diagnose([Pitfall("odd", lambda f: f.x % 2, "odd")], facts(x=a)),
                        hint="h", solution="s", mistakes=[Pitfall("odd", lambda f: f.x % 2, "odd")])
    assert exercise.evaluate(3).mistake == "odd" and exercise.evaluate(3).detected == ("odd",)
    assert exercise.evaluate(4).correct


def test_learner_errors_are_explained_in_the_lessons_terms():
    import tensorflow as tf

    def gathers_too_far(ids):
        return tf.gather(tf.ones((3, 2)), ids)

    with pytest.raises(Mistake) as info:
        run_case(gathers_too_far, Case({"ids": np.array([5])}, about="one id"), "lookup")
    mistake = info.value
    assert mistake.key == "raised" and mistake.error.startswith("InvalidArgumentError")
    assert str(mistake).startswith("for one id (ids=[5]): lookup raised InvalidArgumentError")
    assert "the table has only 3 rows" in str(mistake)
    own = Pitfall("own", lambda f: "is not in" in f.text, "the ids go past the table: this exercise's own explanation")
    with pytest.raises(Mistake, match="this exercise's own explanation") as info:
        run_case(gathers_too_far, Case({"ids": np.array([5])}), "lookup", explain=[own])
    assert info.value.key == "own"
    text = str(explained_error(KeyError("int8"), "table_bytes"))
    assert text.startswith("table_bytes raised KeyError: 'int8'. Your code looked up the key 'int8'")


def test_copy_advice_never_suggests_a_method_the_input_lacks():
    from course_lib.datasets import WordVectors

    glove = WordVectors(["a", "b"], np.ones((2, 3), np.float32), {"a": 0, "b": 1})

    def normalises_in_place(glove):
        glove.vectors /= 2
        return 1

    with pytest.raises(Mistake) as info:
        run_case(normalises_in_place, Case({"glove": glove}))
    assert "glove.copy()" not in str(info.value) and "glove.vectors.copy()" in str(info.value)
    assert not hasattr(glove, "copy") and hasattr(glove.vectors, "copy")
    assert "list(ids)" in copy_advice("ids", [1, 2]) and "x.copy()" in copy_advice("x", np.zeros(2))


def test_run_in_graph_fails_code_that_needs_one_batch_size():
    import tensorflow as tf

    def loop(x):
        return tf.stack([tf.reduce_sum(x[i]) for i in range(x.shape[0])])

    case = Case({"x": np.ones((3, 2), np.float32)}, about="three rows")
    assert np.allclose(run_case(loop, case), [2, 2, 2])  # eagerly it works
    with pytest.raises(Mistake, match="inside a tf.function graph") as info:
        run_in_graph(loop, case, "loop")
    assert info.value.key == "not-graph-compatible" and not lint(str(info.value))
    assert np.allclose(run_in_graph(lambda x: tf.reduce_sum(x, axis=1), case), [2, 2, 2])


def test_fit_in_model_has_a_partial_last_batch():
    import keras
    import tensorflow as tf

    class StaticBatch(keras.layers.Layer):
        def call(self, x):
            return tf.reshape(x, (3, 3))  # the example's batch size

    with pytest.raises(Mistake, match="the last one smaller") as info:
        fit_in_model(StaticBatch(), np.ones((3, 3), np.float32))
    assert info.value.key == "not-graph-compatible"


def test_table_size_pitfalls_use_the_answer_as_the_next_cell_does():
    import keras
    import tensorflow as tf

    pitfalls = table_size_pitfalls(1683)
    for answer, key in ((np.int64(1683), "numpy-integer"), (1683.0, "float-size"), (tf.constant(1683), "tensor-size"),
                        (np.array(1683), "zero-d-array")):
        if raised(lambda: keras.layers.Embedding(answer, 4)) is None:
            continue  # a Keras that accepts the type: no mistake to name
        with pytest.raises(Mistake) as info:
            diagnose(pitfalls, facts(answer=answer, number=read_number(answer)))
        assert info.value.key == key and "int(...)" in str(info.value)
    diagnose(pitfalls, facts(answer=1683, number=read_number(1683)))  # a Python int: no pitfall


# --------------------------------------------------------------------------- only a learner's kernel records


def test_recording_is_off_under_pytest_and_for_tools(monkeypatch, tmp_path):
    monkeypatch.delenv(progress.SWITCH_VAR)
    assert not progress.recording_enabled()  # PYTEST_VERSION / PYTEST_CURRENT_TEST are set right now
    assert progress.record_pass("lesson01", "q1") is False
    monkeypatch.setenv(progress.SWITCH_VAR, "off")
    assert not progress.recording_enabled()
    monkeypatch.setenv(progress.SWITCH_VAR, "maybe")
    with pytest.raises(ValueError, match="COURSE_PROGRESS='maybe'"):
        progress.recording_enabled()
    assert progress.record_pass("lesson01", "q1", path=tmp_path / "explicit.json") is True  # an explicit file is written


def test_a_bad_switch_is_reported_by_check_not_ignored(monkeypatch, capsys):
    monkeypatch.setenv(progress.SWITCH_VAR, "maybe")
    square.check(lambda x: x * x)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(MARK_CORRECT) and "COURSE_PROGRESS='maybe'" in lines[1]


def _learner_env(tmp_path) -> dict:
    """The environment of a learner's shell: no pytest variables, no progress overrides, a state folder of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and not k.startswith("COURSE_PROGRESS")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PASSING_CELL = "from course_lib.exercises.lesson00 import q4\nq4.check(100_000 / (943 * 1_682))\n"


def _learner_record(env) -> str:
    import subprocess

    return subprocess.run([sys.executable, "-m", "course_lib.progress"], env=env, capture_output=True, text=True,
                          check=True).stdout


def test_a_learners_own_kernel_records(tmp_path):
    import subprocess

    env = _learner_env(tmp_path)
    subprocess.run([sys.executable, "-c", _PASSING_CELL], env=env, check=True, capture_output=True)
    assert "lesson 00: 1/4 passed  passed: q4" in _learner_record(env)


def test_nbval_and_the_tools_never_write_the_learners_record(tmp_path):
    """`pytest` on a notebook (nbval's kernel) and tools/run_notebooks.py, in a learner's environment: nothing recorded."""
    import subprocess

    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_PASSING_CELL)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "passing.ipynb"
    nbformat.write(notebook, path)
    env = _learner_env(tmp_path)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", str(path)],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:]
    run = subprocess.run([sys.executable, os.path.join(REPO_ROOT, "tools", "run_notebooks.py"), str(path)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "[correct]" in path.read_text()  # the check ran and passed in both kernels...
    record = _learner_record(env)
    assert "total: 0/" in record, record  # ...and neither wrote the learner's record


def test_the_browser_test_starts_its_lab_with_recording_off(tmp_path):
    sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))
    try:
        import browser_test
    finally:
        sys.path.pop(0)
    assert browser_test.lab_environment(tmp_path)[progress.SWITCH_VAR] == "off"


def test_authoring_documents_the_toolkit_that_exists():
    """Every toolkit name AUTHORING.md's "Writing a check" shows as a call exists in course_lib.checks, and back."""
    import re

    from course_lib import checks

    text = open(os.path.join(REPO_ROOT, "AUTHORING.md"), encoding="utf-8").read()
    section = text.split("## Writing a check: the toolkit", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-z_]+|[A-Z][A-Za-z]+)\(", section)) | set(re.findall(r"`([A-Z_]{6,})`", section))
    elsewhere = {"check_catalogue", "COURSE_PROGRESS_FILE", "PYTEST_VERSION", "COURSE_PROGRESS"}  # tests' helper, variables
    missing = sorted(name for name in documented - elsewhere if not hasattr(checks, name))
    assert not missing, missing
    used = {"Exercise", "Pitfall", "diagnose", "facts", "fallback", "run_case", "explained_error", "run_in_graph",
            "fit_in_model", "fit_function_in_model", "raised", "read_number", "table_size_pitfalls", "is_rounding_of",
            "NUMBER_PITFALLS"}
    assert used <= documented, sorted(used - documented)


# --------------------------------------------------------------------------- the walkthrough of issue 17: toolkit classes


def test_numpy_methods_on_tensors_are_explained_in_both_forms_tensorflow_prints():
    """TF 2.21 prints NumPy methods on a tensor without quotes ("EagerTensor object has no attribute 'astype'")."""
    import tensorflow as tf

    from course_lib.checks import explain_error, missing_attribute, tensor_alternative, tensor_lacks

    tensor = tf.constant([[1.0, 2.0]])
    expected = {"astype": "tf.cast(t, dtype)", "reshape": "tf.reshape", "clip": "tf.clip_by_value", "T": "tf.transpose",
                "tolist": "the tensor itself", "size": "tf.size", "sum": "tf.reduce_sum", "copy": "no copy"}
    for attribute, replacement in expected.items():
        error = raised(lambda: getattr(tensor, attribute))
        text = error_text(error)
        assert tensor_lacks(text) == attribute == missing_attribute(text), text
        assert replacement in explain_error(text), (attribute, explain_error(text))
        assert tensor_alternative(attribute) is not None
    quoted = "AttributeError: 'tensorflow.python.framework.ops.EagerTensor' object has no attribute 'astype'"
    bare = "AttributeError: EagerTensor object has no attribute 'astype'"
    assert tensor_lacks(quoted) == tensor_lacks(bare) == "astype"
    assert explain_error(quoted) == explain_error(bare)


def test_the_cause_is_read_behind_graph_and_keras_wrappers():
    import keras
    import tensorflow as tf

    @tf.function
    def astype_in_graph(x):
        return x.astype("int32")

    text = error_text(raised(lambda: astype_in_graph(tf.constant([1.0]))))
    assert text == "AttributeError: SymbolicTensor object has no attribute 'astype'", text  # was: the last line of TF's advice

    class NumpyInCall(keras.layers.Layer):
        def call(self, x):
            return np.asarray(x).sum(axis=1)

    text = error_text(raised(lambda: NumpyInCall()(keras.Input((5, 3)))))
    assert text.startswith("NotImplementedError: Cannot convert a symbolic tf.Tensor to a numpy array"), text
    assert "Could not automatically infer" not in text and "Placeholder" not in text and "NumpyInCall" not in text

    class Wrapped(Exception):
        pass

    graph_run = Wrapped("Graph execution error:\n\nDetected at node sub defined at (most recent call last):\n"
                        '  File "x.py", line 1, in <module>\n\nIncompatible shapes: [2,1] vs. [3,1]\n\t [[{{node sub}}]] '
                        "[Op:__inference_one_step_on_data_558]")
    assert error_text(graph_run) == "Wrapped: Incompatible shapes: [2,1] vs. [3,1]"


def test_fit_names_the_learners_function_never_the_checks_wrapper():
    import keras
    import tensorflow as tf

    from course_lib.checks import fit_function_in_model

    def masked_mean(x, mask):
        return np.asarray(x).mean(axis=1)  # fails on the symbolic tensors of a model

    embedding = keras.layers.Embedding(6, 3, mask_zero=True)
    with pytest.raises(Mistake) as info:
        fit_function_in_model(masked_mean, np.array([[1, 2, 0], [3, 0, 0]], np.int32), before=[embedding], what="masked_mean")
    text = str(info.value)
    assert info.value.key == "not-graph-compatible" and "graph" in text and not lint(text)
    for internal in ("LearnerFunction", "learner_function", "FunctionLayer", "function_layer", "Could not automatically"):
        assert internal not in text, text

    def loops_over_batch(x, mask):  # works for the symbolic call, fails on fit's smaller last batch
        return tf.stack([tf.reduce_mean(x[i], axis=0) for i in range(3)])

    with pytest.raises(Mistake) as info:
        fit_function_in_model(loops_over_batch, np.ones((4, 3), np.int32), before=[keras.layers.Embedding(6, 3, mask_zero=True)])
    assert "Graph execution error" not in str(info.value) and "smaller last batch" in str(info.value)


def test_shapes_and_dtypes_are_named_in_explanations():
    from course_lib.checks import broadcast_shapes, explain_error, missing_feature_axis, missing_last_axis, mixed_dtypes

    tf_text = "InvalidArgumentError: Incompatible shapes: [4,5,3] vs. [4,5]"
    np_text = "ValueError: operands could not be broadcast together with shapes (4,5,3) (4,5)"
    where_text = "InvalidArgumentError: condition [3,5], then [3,5,3], and else [] must be broadcastable"
    assert broadcast_shapes(tf_text) == broadcast_shapes(np_text) == [(4, 5, 3), (4, 5)]
    assert missing_last_axis(broadcast_shapes(where_text)) == ((3, 5), (3, 5, 3)) == missing_feature_axis(where_text)
    assert missing_feature_axis("X: Incompatible shapes: [4,3] vs. [4]") is None  # a count without keepdims, not a mask
    for text in (tf_text, np_text):
        explanation = explain_error(text)
        assert "(4, 5)" in explanation and "(4, 5, 3)" in explanation and "[..., None]" in explanation
    assert "axis 1 has 5 entries in one and 7 in the other" in explain_error("X: Incompatible shapes: [4,5,3] vs. [4,7,3]")
    dtype_text = "InvalidArgumentError: cannot compute Mul as input #1(zero-based) was expected to be a float tensor but is a double tensor"
    assert mixed_dtypes(dtype_text) == ("float32", "float64") and "a float32 and a float64" in explain_error(dtype_text)
    assert mixed_dtypes("TypeError: `x` and `y` must have the same dtype, got tf.float32 != tf.int64") == ("float32", "int64")
    assert "tf.cast" in explain_error("InvalidArgumentError: Value for attr 'T' of int32 is not in the list of allowed values: "
                                      "bfloat16, half, float, double, complex64, complex128")


def test_and_or_on_arrays_uncallable_values_and_joins_are_explained():
    from course_lib.checks import explain_error

    ambiguous = ("ValueError: The truth value of an array with more than one element is ambiguous. Use a.any() or a.all()")
    assert "&" in explain_error(ambiguous) and "chained comparisons" in explain_error(ambiguous)
    assert "drop the parentheses" in explain_error("TypeError: 'int' object is not callable")
    assert "an int was called" in explain_error("TypeError: 'int' object is not callable").lower()
    one_d = ("ValueError: all the input arrays must have same number of dimensions, but the array at index 0 has 2 "
             "dimension(s) and the array at index 1 has 1 dimension(s)")
    assert "t[i:i + 1]" in explain_error(one_d)
    assert "np.asarray" in explain_error("AttributeError: 'numpy.ndarray' object has no attribute 'numpy'")
    assert ".itemsize" in explain_error("AttributeError: 'numpy.dtypes.Float32DType' object has no attribute 'bits'")
    for text in (ambiguous, one_d):
        assert not lint(explain_error(text))


def test_articles_follow_the_sound_of_the_word():
    import keras

    from course_lib.checks import describe, with_article

    assert [with_article(w) for w in ("int8", "uint8", "Embedding", "float32", "ndarray", "str")] == [
        "an int8", "a uint8", "an Embedding", "a float32", "an ndarray", "a str"]
    assert describe(keras.layers.Embedding(3, 2)) == "an Embedding object"  # was: "a Embedding object"
    assert describe(lambda x: x) == "a lambda function"


def test_function_advice_fits_what_was_given():
    from course_lib.checks import function_advice

    assert "without quotes" in function_advice("nearest", "nearest") and "parentheses" not in function_advice("nearest")
    assert "no parentheses" in function_advice(np.zeros(3), "nearest")
    assert "is a class" in function_advice(int, "nearest")
    with pytest.raises(Mistake, match="without quotes") as info:
        run_case("nearest", Case({"x": 1}), "nearest")
    assert info.value.key == "not-a-function"


def test_a_note_in_brackets_is_not_stopped_twice(capsys):
    exercise = Exercise("q1", "t", lambda a: "Right. (Keras warned about masking: set supports_masking.)", hint="h",
                        solution="s", lesson="lesson77")
    exercise.check(1)
    printed = capsys.readouterr().out
    assert printed.strip().endswith("supports_masking.)") and ".)." not in printed


def test_a_none_answer_can_be_explained_by_the_exercise():
    plain = Exercise("q1", "t", lambda a: None, hint="h", solution="s")
    assert "list.sort()" in plain.evaluate(None).message
    gradient = Exercise("q1", "t", lambda a: None, hint="h", solution="s", if_none="tape.gradient returned None: ...")
    result = gradient.evaluate(None)
    assert result.message.startswith("tape.gradient returned None") and result.mistake == "returned-none"
    with pytest.raises(TypeError, match="if_none"):
        Exercise("q1", "t", lambda a: None, hint="h", solution="s", if_none=3)


def test_failing_line_is_the_learners_own_line():
    from course_lib.checks import failing_line

    def learner(ids):
        return np.eye(3)[ids].astype(np.float32).reshape(-1, 7)

    error = raised(lambda: learner(np.array([1, 2])))
    assert "reshape(-1, 7)" in failing_line(error)


# --------------------------------------------------------------------------- walkthrough 17, re-run: toolkit classes


def test_graph_advice_names_a_python_if_and_a_batch_size_that_is_none():
    import keras
    import tensorflow as tf

    from course_lib.checks import graph_advice, run_in_graph

    class PythonIf(keras.layers.Layer):  # Keras does not convert a layer's `if` on a tensor (autograph would)
        def call(self, x):
            if tf.reduce_any(x > 0):
                return x
            return -x

    text = error_text(raised(lambda: PythonIf()(keras.Input((3,)))))
    assert "Python if" in graph_advice(text) and "tf.where" in graph_advice(text), text

    def loop_over_batch(x):
        return tf.stack([x[i] for i in range(x.shape[0])])

    def ones_of_batch(x):
        return x * tf.ones((x.shape[0], 1))

    case = Case({"x": np.ones((2, 3), np.float32)})
    for function in (loop_over_batch, ones_of_batch):
        with pytest.raises(Mistake) as info:
            run_in_graph(function, case, "f")
        assert info.value.key == "not-graph-compatible" and "tf.shape(x)[0]" in str(info.value), str(info.value)
        assert "x.shape[0] is None" in str(info.value)
    assert "no NumPy calls" in graph_advice("NotImplementedError: Cannot convert a symbolic tf.Tensor to a numpy array")


def test_a_mask_axis_added_in_the_middle_is_named():
    from course_lib.checks import explain_error, misplaced_feature_axis, missing_feature_axis

    middle = "InvalidArgumentError: Incompatible shapes: [4,5,3] vs. [4,1,5]"
    assert misplaced_feature_axis(middle) == ((4, 1, 5), (4, 5, 3)) and missing_feature_axis(middle) is None
    where = "InvalidArgumentError: condition [3,1,5], then [3,5,3], and else [] must be broadcastable"
    assert misplaced_feature_axis(where) == ((3, 1, 5), (3, 5, 3))
    assert "in the middle" in explain_error(middle) and "t[..., None]" in explain_error(middle) and "(4, 5, 1)" in explain_error(middle)
    assert misplaced_feature_axis("X: Incompatible shapes: [4,5,3] vs. [4,5]") is None  # the axis is missing, not misplaced
    assert misplaced_feature_axis("X: Incompatible shapes: [4,5,3] vs. [4,7,3]") is None


def test_a_message_that_ends_in_code_gets_its_full_stop(capsys):
    exercise = Exercise("q1", "t", lambda a: (_ for _ in ()).throw(Mistake("wrap it in int(...)")), hint="h",
                        solution="s", lesson="lesson77")
    exercise.check(1)
    assert "int(...). (q1.hint() may help.)" in capsys.readouterr().out
    ending = Exercise("q1", "t", lambda a: (_ for _ in ()).throw(Mistake("use a layer (Masking, Embedding...)")), hint="h",
                      solution="s", lesson="lesson77")
    ending.check(1)
    assert "Embedding...) (q1.hint() may help.)" in capsys.readouterr().out  # a sentence's own "...)" stays as it is
    nested = Exercise("q1", "t", lambda a: (_ for _ in ()).throw(Mistake("use tf.where((ids >= 0) & (ids < n), ids, ...)")),
                      hint="h", solution="s", lesson="lesson77")
    nested.check(1)
    assert "ids, ...). (q1.hint() may help.)" in capsys.readouterr().out


def test_a_dataset_is_named_as_the_learner_made_it():
    import tensorflow as tf

    from course_lib.checks import describe

    assert describe(tf.data.Dataset.from_tensor_slices([1, 50, 181])) == "a tf.data.Dataset"  # was: "a _TensorSliceDataset object"


def test_tensor_methods_without_a_tf_function_read_as_sentences():
    from course_lib.checks import explain_error

    copy = explain_error("AttributeError: 'tensorflow.python.framework.ops.EagerTensor' object has no attribute 'copy'")
    assert "use no copy" not in copy and "needs no copy at all" in copy and "tf.where" in copy
    assert "use the tensor itself" not in explain_error("AttributeError: EagerTensor object has no attribute 'tolist'")


def test_a_library_object_for_a_number_is_told_the_number_it_was_made_with():
    import keras

    from course_lib.checks import NUMBER_PITFALLS

    result = Exercise("q1", "t", lambda a: read_number(a, "input_dim"), hint="h", solution="s",
                      lesson="lesson77", mistakes=NUMBER_PITFALLS).evaluate(keras.layers.Embedding(1683, 4))
    assert result.mistake == "not-a-number" and "input_dim=1683" in result.message and "or float" not in result.message
    other = Exercise("q1", "t", lambda a: read_number(a, "x"), hint="h", solution="s", lesson="lesson77").evaluate({"x": 1})
    assert "a Python int or float" in other.message  # plain Python objects keep the general advice


def test_show_never_cuts_a_value_at_an_opening_bracket():
    from course_lib.checks import show

    matrix = np.array([[10.0, 10.0], [1.0, 0.1], [0.5, 0.0], [-1.0, 0.0], [0.0, 1.0], [3.0, 1.0]], np.float32)
    text = show(matrix, 60)
    assert text.endswith("...") and not text.endswith("(...")
