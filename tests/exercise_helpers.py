"""Small helpers the exercise tests share."""


def status(exercise, answer) -> str:
    """``"correct"``, ``"incorrect"`` or ``"not attempted"`` for ``answer``."""
    return exercise.evaluate(answer).status


def message(exercise, answer) -> str:
    """The check's message for a wrong ``answer``; fails the test if the answer was not rejected."""
    result = exercise.evaluate(answer)
    assert result.status == "incorrect", result
    return result.message


def solution_namespace(exercise, **imports) -> dict:
    """Execute the code that ``exercise.solution()`` prints; return the names it defines.

    Tests use it as their reference answer, so the printed solution is itself checked.
    ``imports`` are the modules the solution expects (``np=numpy``, ``tf=tensorflow``...).
    """
    namespace = dict(imports)
    exec(exercise.solution_text, namespace)
    return namespace
