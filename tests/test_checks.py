"""Tests of the self-check machinery in course_lib.checks."""

import numpy as np
import pytest

from course_lib.checks import (
    Exercise,
    Mistake,
    ____,
    call_learner,
    expect_close,
    expect_int,
    expect_shape,
    is_blank,
)


def square_checker(function):
    result = call_learner(function, 3)
    if expect_int(result, "square(3)") != 9:
        raise Mistake(f"square(3) returned {result}, expected 9")


square = Exercise("q1", "square a number", square_checker, hint="Multiply x by itself.", solution="return x * x")


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


def test_correct_and_incorrect_answers():
    assert square.evaluate(lambda x: x * x).correct
    assert square.evaluate(lambda x: np.int64(x) ** 2).correct
    wrong = square.evaluate(lambda x: x + x)
    assert wrong.status == "incorrect" and "returned 6, expected 9" in wrong.message


def test_learner_exception_is_reported_not_raised():
    result = square.evaluate(lambda x: 1 / 0)
    assert result.status == "incorrect"
    assert result.message == "running your answer raised ZeroDivisionError: division by zero"


def test_check_prints_one_line_and_never_raises(capsys):
    square.check(...)
    square.check(lambda x: x * x)
    square.check(lambda x: "nine")
    lines = capsys.readouterr().out.splitlines()
    assert "not attempted yet" in lines[0]
    assert lines[1].startswith("✅ [q1] square a number: correct")
    assert lines[2].startswith("❌ [q1]") and "whole number" in lines[2] and "q1.hint()" in lines[2]
    assert square.last_result.status == "incorrect"


def test_hint_and_solution_print(capsys):
    square.hint()
    square.solution()
    out = capsys.readouterr().out
    assert "Multiply x by itself." in out and "return x * x" in out


def test_expect_helpers():
    assert expect_shape([[1, 2, 3]], (1, 3)).shape == (1, 3)
    with pytest.raises(Mistake, match=r"shape \(3,\), expected \(1, 3\)"):
        expect_shape([1, 2, 3], (1, 3))
    expect_close(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-7])
    with pytest.raises(Mistake, match="numbers differ"):
        expect_close([1.0, 2.5], [1.0, 2.0])
    assert expect_int(np.int32(4)) == 4 and expect_int(np.array(5)) == 5 and expect_int(6.0) == 6
    for bad in (True, 4.5, "4", [4]):
        with pytest.raises(Mistake):
            expect_int(bad)
