"""Small helpers the exercise tests share, and the lint every learner-facing message passes.

Every message a test obtains through :func:`message` is linted for its wording (:func:`lint`).
:func:`lint_result` is the full lint of issue 17, run by tests/test_feedback.py over every
exercise of every lesson and by the catalogue tests (:func:`check_catalogue`):

- no bare library exception text: a library error may appear only as the learner's own error
  (``Result.error``), and then the message names the call and explains it in the lesson's terms;
- no attribute suggested that the learner's object lacks (``glove.copy()`` for a GloVe
  ``WordVectors``): every ``name.attribute`` chain in a message whose root is an object the
  message concerns (``Result.objects``), a module (``tf``, ``np``, ``keras``...) or a notebook
  name the test supplies, must resolve;
- no "the prompt's" values that the message does not show (in brackets after it);
- a catalogued mistake is named only when its own detector found it (:func:`check_catalogue`).
"""

from __future__ import annotations

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

#: Library text that may appear only inside the learner's own, explained error.
_LIBRARY_TEXT = [
    (re.compile(r"\b[A-Z]\w*(Error|Exception)\s*:"), "a library exception"),
    (re.compile(r"\[Op:\w+\]"), "a TensorFlow op name"),
    (re.compile(r"Received: \w+="), "Keras's 'Received:' text"),
    (re.compile(r"node __wrapped__"), "a TensorFlow node name"),
    (re.compile(r"in user code:"), "autograph's stack"),
]

_CHAIN = re.compile(r"(?<![\w.)\]'\"/-])([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)")


def lint(text: str) -> list[str]:
    """Problems with a learner-facing message: wrappers, double punctuation, capitalised identifiers, emoji."""
    return [f"{why}: {text!r}" for pattern, why in _LINT if pattern.search(text)]


def _modules() -> dict:
    import keras
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    modules = {"tf": tf, "np": np, "keras": keras, "pd": pd, "L": keras.layers, "ops": keras.ops}
    try:
        import tf_keras

        modules["tf_keras"] = tf_keras
    except ImportError:
        pass
    return modules


def _resolves(root, attributes: list[str]) -> str | None:
    """The first attribute of the chain ``root.a.b`` that does not exist, or None."""
    value = root
    for name in attributes:
        try:
            value = getattr(value, name)
        except Exception:  # noqa: BLE001 - missing, or a property that fails: not there
            return name
    return None


def attribute_problems(text: str, objects: dict | None = None, names: dict | None = None) -> list[str]:
    """``name.attr`` chains in ``text`` whose root is a known object or module but whose attribute is missing."""
    known = {**_modules(), **(names or {}), **(objects or {})}
    problems = []
    for match in _CHAIN.finditer(text):
        root, chain = match.group(1), match.group(2).split(".")[1:]
        if root not in known or chain[-1] in ("io", "org", "com", "net"):  # keras.io, tensorflow.org: web sites
            continue
        missing = _resolves(known[root], chain)
        if missing is not None:
            problems.append(f"suggests {root}.{'.'.join(chain)}, but {root} ({type(known[root]).__name__}) has no "
                            f".{missing}: {text!r}")
    return problems


def lint_result(result, names: dict | None = None) -> list[str]:
    """Every problem of a result's message (see the module docstring); ``[]`` when it is clean."""
    text = result.message
    problems = lint(text)
    error = getattr(result, "error", None)
    rest = text
    if error:
        if error not in text:
            problems.append(f"the learner's error {error!r} is not in the message: {text!r}")
        else:
            before, _, after = text.partition(error)
            rest = before + " " + after
            if "raised" not in before:
                problems.append(f"the learner's error is not introduced by the call that raised it: {text!r}")
            if len(re.findall(r"[A-Za-z]{2,}", after)) < 5:
                problems.append(f"the learner's error is not explained (what it means, what to check): {text!r}")
    problems += [f"{why} outside the learner's own error: {text!r}" for pattern, why in _LIBRARY_TEXT if pattern.search(rest)]
    for match in re.finditer(r"the prompt's", rest):
        shown = re.match(r"[^(:]{0,60}\(([^)]*[=\d][^)]*)\)", rest[match.end():])
        if not shown:  # "the prompt's table" with nothing shown: the learner scrolls up looking for it
            problems.append(f"cites 'the prompt's' values without showing them: {text!r}")
    problems += attribute_problems(rest, getattr(result, "objects", None), names)
    return problems


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


def rejected(exercise, answer, names: dict | None = None):
    """The :class:`~course_lib.checks.Result` for a wrong ``answer``, after the full :func:`lint_result`."""
    result = exercise.evaluate(answer)
    assert result.status == "incorrect", result
    problems = lint_result(result, names)
    assert not problems, problems
    return result


def check_catalogue(exercise, examples: dict, names: dict | None = None) -> dict:
    """Each catalogued mistake of ``exercise`` is caught by its own detector, and only by it.

    ``examples`` maps each pitfall key of ``exercise.mistakes`` (toolkit keys too, such as
    ``"changed-input"``) to a list of wrong answers that make that mistake and no other. For each: the
    answer is rejected, :attr:`Result.mistake` is that key, no other detector of the stage fired
    on it (each detector is thereby tested on answers that make other mistakes), and the message
    passes :func:`lint_result`. Returns ``{key: message}``.
    """
    catalogue = [p.key for p in exercise.mistakes]
    missing = [key for key in catalogue if key not in examples]
    assert not missing, f"{exercise}: catalogued mistakes without an example answer: {missing}"
    assert len(set(catalogue)) >= 8, f"{exercise}: {len(set(catalogue))} catalogued mistakes, fewer than 8"
    messages = {}
    for key, answers in examples.items():
        assert isinstance(answers, list) and answers, f"{key!r}: give a list of example answers"
        for answer in answers:
            result = exercise.evaluate(answer)
            assert result.status == "incorrect", (exercise, key, answer, result)
            assert result.mistake == key, f"{exercise}: an answer making {key!r} was named {result.mistake!r}: {result.message}"
            assert set(result.detected) <= {key}, f"{exercise}: {key!r} answer also fired {result.detected}: {result.message}"
            problems = lint_result(result, names)
            assert not problems, problems
            messages.setdefault(key, result.message)
    return messages


def solution_namespace(exercise, **imports) -> dict:
    """Execute the code that ``exercise.solution()`` prints; return the names it defines.

    Tests use it as their reference answer, so the printed solution is itself checked.
    ``imports`` are the modules the solution expects (``np=numpy``, ``tf=tensorflow``...).
    """
    namespace = dict(imports)
    exec(exercise.solution_text, namespace)
    return namespace
