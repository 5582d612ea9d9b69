"""Small helpers the exercise tests share."""


def status(exercise, answer) -> str:
    """``"correct"``, ``"incorrect"`` or ``"not attempted"`` for ``answer``."""
    return exercise.evaluate(answer).status


def message(exercise, answer) -> str:
    """The check's message for a wrong ``answer``; fails the test if the answer was not rejected."""
    result = exercise.evaluate(answer)
    assert result.status == "incorrect", result
    return result.message
