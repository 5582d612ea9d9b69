"""Small helpers the exercise tests share.

Every message a test obtains through :func:`message` is also linted (:func:`lint`), so every
wrong answer of every lesson's tests checks the wording of the message it gets.
"""

import re

#: Patterns no learner-facing message may contain, with why.
_LINT = [
    (re.compile(r"\{\{function_node"), "TensorFlow's function_node wrapper"),
    (re.compile(r"Exception encountered when calling"), "Keras's call() wrapper instead of the cause"),
    (re.compile(r"Arguments received by"), "Keras's argument list"),
    (re.compile(r"Traceback \(most recent call last\)"), "a traceback"),
    (re.compile(r"\w[,;:]\s*[.,;:!?](\s|$)"), "double punctuation"),
    (re.compile(r"\w\.\s*[,;:!?](\s|$)"), "double punctuation"),
    (re.compile(r"[!?][.,;:](\s|$)"), "double punctuation"),
    (re.compile(r"\w\. ?\.(\s|$)"), "double full stop"),
    (re.compile(r"\b[A-Z][a-z0-9]*_[a-z0-9_]+\b"), "an identifier capitalised (identifiers as written)"),
    (re.compile(r"[\u2600-\u27bf\U0001F300-\U0001FAFF]"), "an emoji (unreadable without an emoji font)"),
]


def lint(text: str) -> list[str]:
    """Problems with a learner-facing message: wrappers, double punctuation, capitalised identifiers, emoji."""
    return [f"{why}: {text!r}" for pattern, why in _LINT if pattern.search(text)]


def status(exercise, answer) -> str:
    """``"correct"``, ``"incorrect"`` or ``"not attempted"`` for ``answer``."""
    return exercise.evaluate(answer).status


def message(exercise, answer) -> str:
    """The check's message for a wrong ``answer``; fails the test if the answer was not rejected
    or if the message fails :func:`lint`."""
    result = exercise.evaluate(answer)
    assert result.status == "incorrect", result
    problems = lint(result.message)
    assert not problems, problems
    return result.message


def solution_namespace(exercise, **imports) -> dict:
    """Execute the code that ``exercise.solution()`` prints; return the names it defines.

    Tests use it as their reference answer, so the printed solution is itself checked.
    ``imports`` are the modules the solution expects (``np=numpy``, ``tf=tensorflow``...).
    """
    namespace = dict(imports)
    exec(exercise.solution_text, namespace)
    return namespace
