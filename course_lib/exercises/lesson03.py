"""Exercises of lesson 03, *pretrained weights*, in the order the lesson asks them.

- ``q1``: ``nearest(matrix, query, k)``: the top-k rows by cosine similarity;
- ``q2``: ``analogy_word(glove, a, b, c)``: "a is to b as c is to ?" with ``b - a + c``;
- ``q3``: ``fill_matrix(vocabulary, glove)``: the embedding matrix of a task vocabulary, with
  the padding / OOV / missing-word policy of the lesson;
- ``q4``: ``coverage(vocabulary, glove)``: the fraction of task words that have a GloVe vector;
- ``q5``: ``frozen_embedding(matrix)``: an ``Embedding`` holding exactly ``matrix``, frozen, masked.

Checks build small word-vector tables of their own (``q2`` also uses the course's GloVe subset),
so they never depend on the notebook's variables. Each exercise's mistakes are catalogued
(``qN.mistakes``). TensorFlow is imported only by ``q5``.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from course_lib.checks import (
    NUMBER_PITFALLS,
    RETURNED_NONE,
    Case,
    Exercise,
    Mistake,
    Pitfall,
    describe,
    diagnose,
    explained_error,
    facts,
    failing_line,
    fallback,
    fit_in_model,
    is_tensor,
    missing_attribute,
    raised,
    read_number,
    run_case,
    show,
    to_numpy,
)
from course_lib.datasets import WordVectors


def _word_vectors(words: list[str], vectors: np.ndarray, dtype=np.float32) -> WordVectors:
    vectors = np.asarray(vectors, dtype=dtype)
    return WordVectors(list(words), vectors, {w: i for i, w in enumerate(words)})


def _tiny_glove() -> WordVectors:
    """Five 4-d "GloVe" vectors with distinct, non-zero numbers."""
    rng = np.random.default_rng(3)
    words = ["the", "star", "wars", "love", "story"]
    return _word_vectors(words, rng.uniform(0.5, 2.0, (5, 4)) * rng.choice([-1, 1], (5, 4)))


#: A task vocabulary in the lesson's layout: padding, OOV, then words; "zyzzyva" has no vector.
_FILL_VOCABULARY = ["", "[UNK]", "star", "zyzzyva", "love", "the", "wars"]


def _reference_matrix(vocabulary: list[str], glove: WordVectors) -> np.ndarray:
    matrix = np.zeros((len(vocabulary), glove.dim), dtype=np.float32)
    for row, word in enumerate(vocabulary[2:], start=2):
        if word in glove:
            matrix[row] = glove[word]
    return matrix


# --------------------------------------------------------------------------- q1

#: Rows chosen so that cosine, dot product and Euclidean distance rank them differently.
_NEAREST_MATRIX = np.array(
    [[10.0, 10.0], [1.0, 0.1], [0.5, 0.0], [-1.0, 0.0], [0.0, 1.0], [3.0, 1.0]], dtype=np.float32
)


def _cosine_top(matrix: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    sims = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    return [int(i) for i in np.argsort(-sims, kind="stable")[:k]]


def _q1_cases() -> list[Case]:
    rng = np.random.default_rng(31)
    big = rng.normal(size=(300, 8))  # float64, like a NumPy computation
    query = rng.normal(size=8)
    big[[297, 123, 250]] = [3.0 * query, 0.2 * query + 0.01, 10.0 * query + rng.normal(size=8)]  # the best rows lie late
    small = _NEAREST_MATRIX
    return [
        Case({"matrix": small, "query": np.array([1.0, 0.0], np.float32), "k": 3}, about="a 6-row test matrix"),
        Case({"matrix": small, "query": np.array([0.2, 1.0], np.float32), "k": 2}, about="another query"),
        Case({"matrix": big, "query": query, "k": 5}, about="a 300-row float64 matrix whose best rows come late"),
        Case({"matrix": small, "query": np.array([-0.3, -2.0], np.float32), "k": len(small)}, about="k equal to the number of rows"),
        Case({"matrix": small, "query": np.array([5.0, 1.0], np.float32), "k": 1}, about="k=1"),
    ]


def _as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, (str, bytes)) or not (hasattr(value, "__len__") or hasattr(value, "shape")):
        return None
    try:
        return to_numpy(value).reshape(-1)
    except (Mistake, ValueError):
        return None


def _shape(value: Any) -> tuple | None:
    try:
        return tuple(np.shape(to_numpy(value)))
    except Exception:  # noqa: BLE001 - not array-like
        return None


def _indexable_by(value: Any) -> bool:
    """What the lesson does next with the rows: ``glove.words[row]`` for each, and ``matrix[rows]``."""
    words = [str(i) for i in range(1000)]
    return raised(lambda: [words[row] for row in value]) is None and raised(lambda: np.zeros(1000)[value]) is None


def _two_results(result: Any) -> bool:
    """(rows, similarities): two array-likes of one length, as nearest_neighbours returns them."""
    return isinstance(result, (tuple, list)) and len(result) == 2 and all(
        hasattr(part, "__len__") and not isinstance(part, (str, bytes)) for part in result) and len(result[0]) == len(result[1])


def _pairs(result: Any) -> bool:
    """[(row, similarity), ...]: one (int, float) pair per row."""
    return isinstance(result, (list, tuple)) and len(result) > 0 and all(
        isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[1], (float, np.floating)) for pair in result)


_Q1_PAIRS = Pitfall(
    "row-similarity-pairs", lambda f: _pairs(f.result),
    lambda f: f"you returned (row, similarity) pairs, [{', '.join(f'({show(r)}, {float(v):.3g})' for r, v in list(f.result)[:2])}, "
              "...]: return only the row "
              "numbers, most similar first ([row for row, _ in pairs], or np.argsort(-similarities)[:k])",
)

_Q1_TYPE = [
    Pitfall("rows-and-similarities", lambda f: _two_results(f.result),
            "you returned two things, the rows and their similarities (as nearest_neighbours does): return only the "
            "row numbers, most similar first"),
    Pitfall("column-of-rows", lambda f: not _two_results(f.result) and f.shape is not None and len(f.shape) >= 2
            and 1 in f.shape and f.array is not None,
            lambda f: f"you returned shape {f.shape}, a 2-D array: the next cells take one row number at a time "
                      "(glove.words[row]), which fails for a row that is itself an array. Return a flat list of k row "
                      "numbers: keep the similarities 1-D (the query as a 1-D vector), or flatten the result"),
    Pitfall("not-rows", lambda f: f.array is None,
            lambda f: f"expected the row numbers of the nearest rows (a list or array of ints), got {describe(f.result)}: "
                      "return the rows, e.g. np.argsort(-similarities)[:k]"),
    Pitfall("similarities", lambda f: not _two_results(f.result) and f.array.dtype.kind == "f" and np.all(np.abs(f.array) <= 1 + 1e-6)
            and not np.all(f.array == np.round(f.array)),
            "you returned similarities (floats); return the row numbers (ints) of the nearest rows, e.g. from np.argsort"),
    Pitfall("float-rows", lambda f: f.array.dtype.kind == "f" and np.all(f.array == np.round(f.array)) and not _indexable_by(f.result)
            and not (f.shape is not None and len(f.shape) >= 2),
            lambda f: f"the row numbers {show(f.array)} are floats, and the next cells index with them (glove.words[row], "
                      "matrix[rows]), which refuses floats: return ints, as np.argsort gives them"),
    Pitfall("not-integers", lambda f: not _two_results(f.result) and (f.array.dtype.kind not in "iuf" or f.array.dtype.kind == "f"
            and not np.all(f.array == np.round(f.array)) and not np.all(np.abs(f.array) <= 1 + 1e-6)),
            lambda f: f"expected row numbers (ints), got {show(f.array)}: return positions in matrix, as np.argsort "
                      "gives them"),
]

_Q1_LENGTH = [  # over every case at once: lengths that ignore k
    Pitfall("fixed-length", lambda f: len({n for _, n in f.lengths}) == 1 and len({k for k, _ in f.lengths}) > 1,
            lambda f: f"you return {f.lengths[0][1]} rows whatever k is (k was {', '.join(str(k) for k, _ in f.lengths)}): "
                      "take the first k, [:k], with the k argument"),
    Pitfall("k-plus-one", lambda f: all(n == min(k + 1, f.rows_of[i]) for i, (k, n) in enumerate(f.lengths)) and any(
            n == k + 1 for k, n in f.lengths),
            "you return k + 1 rows for every k: [:k] takes exactly k (the query itself is not excluded here)"),
]


def _q1_value_facts(case: Case, rows: list[int]) -> Any:
    matrix, query, k = case.inputs["matrix"], case.inputs["query"], case.inputs["k"]
    sims = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    unit_columns = matrix / np.linalg.norm(matrix, axis=0, keepdims=True)
    return facts(rows=rows, k=k, matrix=matrix, expected=_cosine_top(matrix, query, k),
                 dot=[int(i) for i in np.argsort(-(matrix @ query), kind="stable")[:k]],
                 euclid=[int(i) for i in np.argsort(np.linalg.norm(matrix - query, axis=1), kind="stable")[:k]],
                 least=[int(i) for i in np.argsort(sims, kind="stable")[:k]],
                 skip_best=[int(i) for i in np.argsort(-sims, kind="stable")[1:k + 1]],
                 columns=[int(i) for i in np.argsort(-(unit_columns @ query), kind="stable")[:k]])


def _everywhere(f, ranking: str) -> bool:
    """The answer ranks like ``ranking`` on every case, and that differs from cosine on one at least."""
    return all(c.rows == getattr(c, ranking) for c in f.cases) and any(getattr(c, ranking) != c.expected for c in f.cases)


def _first_wrong(f):
    return next(c for c in f.cases if c.rows != c.expected)


_Q1 = [  # over every case at once, so that a ranking is named only when it explains every answer
    Pitfall("wrong-length", lambda f: len(_first_wrong(f).rows) != _first_wrong(f).k,
            lambda f: f"asked for k={_first_wrong(f).k} rows, got {len(_first_wrong(f).rows)}: return exactly k, the "
                      "first k of the ranking ([:k])"),
    Pitfall("dot-product", lambda f: _everywhere(f, "dot") and not _everywhere(f, "columns"),
            lambda f: f"{_first_wrong(f).rows} is the ranking by raw dot product: long vectors win. Cosine divides the "
                      "dot product by both norms, so only the direction counts"),
    Pitfall("euclidean", lambda f: _everywhere(f, "euclid"),
            lambda f: f"{_first_wrong(f).rows} ranks by Euclidean distance; this exercise asks for cosine similarity: "
                      "the dot product of the row with the query, divided by both norms"),
    Pitfall("least-similar", lambda f: _everywhere(f, "least"),
            lambda f: f"{_first_wrong(f).rows} are the *least* similar rows: the sort runs the wrong way round, either "
                      "ascending (np.argsort(similarities)) or on similarities that are negated (keras.losses."
                      "cosine_similarity returns minus the cosine, a loss to minimise). Put the largest cosine first"),
    Pitfall("skipped-best", lambda f: _everywhere(f, "skip_best"),
            lambda f: f"{_first_wrong(f).rows} is the ranking from its second place on ([1:k + 1]?): the best row "
                      f"{_first_wrong(f).expected[0]} is missing. The query is not one of the matrix's rows here, so "
                      "nothing needs skipping: take the first k, [:k]"),
    Pitfall("columns-normalised", lambda f: _everywhere(f, "columns") and not _everywhere(f, "dot"),
            "the ranking is right for vectors normalised along axis 0 (columns): divide each *row* by its length, "
            "np.linalg.norm(matrix, axis=1, keepdims=True)"),
    Pitfall("unordered", lambda f: all(sorted(c.rows) == sorted(c.expected) for c in f.cases),
            lambda f: f"the right rows, but not most similar first: expected the order {_first_wrong(f).expected}, got "
                      f"{_first_wrong(f).rows}"),
    Pitfall("first-rows-only", lambda f: all(c.rows == c.expected or len(c.matrix) > 50 and all(r < 50 for r in c.rows)
                                             for c in f.cases),
            lambda f: f"expected {_first_wrong(f).expected}, got {_first_wrong(f).rows}: you only searched the first "
                      "rows. Compare the query with every row"),
]


def _check_nearest(function: Any) -> str:
    results = []
    for case in _q1_cases():
        result = run_case(function, case, "nearest")
        array = _as_array(result)
        diagnose([_Q1_PAIRS], facts(result=result), case=case, name="nearest")
        diagnose(_Q1_TYPE, facts(result=result, array=array, shape=_shape(result)), case=case, name="nearest")
        results.append((case, [int(v) for v in array]))
    lengths = [(case.inputs["k"], len(rows)) for case, rows in results]
    diagnose(_Q1_LENGTH, facts(lengths=lengths, rows_of=[len(case.inputs["matrix"]) for case, _ in results]))
    per_case = [_q1_value_facts(case, rows) for case, rows in results]
    if all(c.rows == c.expected for c in per_case):
        return "Cosine ranks by direction only, so short and long vectors compete fairly."
    case = next(case for (case, _), c in zip(results, per_case) if c.rows != c.expected)
    diagnose(_Q1, facts(cases=per_case), case=case, name="nearest")
    wrong = _first_wrong(facts(cases=per_case))
    raise fallback(f"the top-{wrong.k} rows by cosine are {wrong.expected}, you returned {wrong.rows}",
                   "normalise each row (axis=1) and the query, then take the largest dot products", case=case)


q1 = Exercise(
    "q1",
    "top-k rows by cosine similarity",
    _check_nearest,
    hint="""
    Divide every row by its length (np.linalg.norm(matrix, axis=1, keepdims=True)) and the query by its
    length; the dot products are then cosines. np.argsort(-similarities)[:k] gives the top-k rows.
    """,
    solution="""
    def nearest(matrix, query, k):
        unit_rows = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        similarities = unit_rows @ (query / np.linalg.norm(query))
        return np.argsort(-similarities)[:k]
    """,
    mistakes=[_Q1_PAIRS, *_Q1_TYPE, *_Q1_LENGTH, *_Q1],
)


# --------------------------------------------------------------------------- q2

#: (a, b, c, expected d): "a is to b as c is to d", all solved by the course's GloVe subset.
_ANALOGIES = [("man", "king", "woman", "queen"), ("france", "paris", "japan", "tokyo"), ("man", "actor", "woman", "actress")]


@lru_cache(maxsize=1)
def _glove() -> WordVectors:
    from course_lib.datasets import load_glove

    return load_glove()


def _cosine_word(glove: WordVectors, query: np.ndarray, exclude: tuple[str, ...]) -> str:
    sims = glove.vectors @ query / (np.linalg.norm(glove.vectors, axis=1) * np.linalg.norm(query))
    for i in np.argsort(-sims, kind="stable"):
        if glove.words[i] not in exclude:
            return glove.words[i]
    raise AssertionError("unreachable")


#: A made-up table in which ``bee - ant + cat`` points almost exactly at ``ant`` (cosine 0.98), then at
#: ``dog`` (0.97); ``bee`` and ``cat`` are far from it. Only an answer that also leaves out ``a`` gets "dog".
_A_FIRST_TABLE = {
    "ant": (1.0, 0.0, 0.0), "bee": (1.0, 5.0, 0.0), "cat": (1.0, -5.0, 0.2),
    "dog": (1.0, 0.0, 0.5), "eel": (0.0, 1.0, 0.0), "fox": (0.0, 0.0, 1.0),
}
#: ``bee - ant + cat`` = (2.1, 0.1, 0.15): ant, bee and cat are its three nearest words, "dog" is fourth.
_CROWDED_TABLE = {
    "ant": (1.0, 0.1, 0.0), "bee": (2.0, 0.2, 0.1), "cat": (1.1, 0.0, 0.05),
    "dog": (1.0, 0.5, 0.5), "eel": (0.0, 1.0, 0.0), "fox": (-1.0, 0.0, 1.0),
}
#: ``bee - ant + cat`` = (0, 2): every other word has a *negative* cosine with it; the best is "eel".
_NEGATIVE_TABLE = {
    "ant": (1.0, 0.0), "bee": (1.0, 1.0), "cat": (0.0, 1.0),
    "dog": (0.2, -1.0), "eel": (-1.0, -0.1), "fox": (1.0, -0.3),
}
_MADE_UP = [
    (_A_FIRST_TABLE, "dog", "a small made-up table where bee - ant + cat points at 'ant'"),
    (_CROWDED_TABLE, "dog", "a made-up table where ant, bee and cat are the 3 nearest words to bee - ant + cat"),
    (_NEGATIVE_TABLE, "eel", "a made-up table where every other word has a negative cosine with bee - ant + cat"),
]

#: A dict method (or another name) used on a WordVectors: what it has instead.
_NOT_A_DICT = Pitfall(
    "wordvectors-attribute", lambda f: isinstance(f.error, AttributeError) and "'WordVectors'" in f.text,
    lambda f: f"the glove argument is a WordVectors table, not a dict, and has no .{missing_attribute(f.text)}: "
              "test a word with `word in glove`, then take its vector with glove[word] (its words are glove.words, "
              "its rows glove.vectors)",
)

_Q2_ERRORS = [
    _NOT_A_DICT,
    Pitfall("vectors-by-word", lambda f: isinstance(f.error, IndexError) and "only integers" in f.text
            and ".vectors[" in failing_line(f.error),
            "glove.vectors is indexed by row numbers, not by words: a word's vector is glove[word] (or "
            "glove.vectors[glove.index[word]])"),
    Pitfall("other-table-lookup", lambda f: isinstance(f.error, KeyError) and len(f.inputs["glove"]) < 100
            and all(word in f.inputs["glove"] for word in (f.inputs["a"], f.inputs["b"], f.inputs["c"])),
            lambda f: "a, b and c are all in the table passed as `glove`, so the lookup that failed used another table "
                      f"(a notebook variable?): here `glove` holds only {', '.join(f.inputs['glove'].words)}. Use the "
                      "argument everywhere"),
]

_Q2_TYPE = [
    Pitfall("returned-list", lambda f: isinstance(f.answer, (list, tuple, np.ndarray)) and len(f.answer)
            and isinstance(f.answer[0], (str, np.str_)),
            lambda f: f"you returned {show(f.answer, 60)}; return just the best word, a str"),
    Pitfall("row-number", lambda f: isinstance(f.answer, (int, np.integer)) and not isinstance(f.answer, (bool, np.bool_)),
            lambda f: f"you returned {show(f.answer)}, a row number: return the word in that row, glove.words[row]"),
    Pitfall("not-a-string", lambda f: not isinstance(f.answer, (str, np.str_, int, np.integer)) and not (
            isinstance(f.answer, (list, tuple, np.ndarray)) and len(f.answer) and isinstance(f.answer[0], (str, np.str_)))
            or isinstance(f.answer, (bool, np.bool_)),
            lambda f: f"return the answer word as a str, got {describe(f.answer)}: the word is glove.words[row] for the "
                      "best row"),
]


def _by_dot(glove: WordVectors, a: str, b: str, c: str) -> str:
    query = glove[b] - glove[a] + glove[c]
    return next(glove.words[i] for i in np.argsort(-(glove.vectors @ query), kind="stable") if glove.words[i] not in (a, b, c))


def _by_unit_inputs(glove: WordVectors, a: str, b: str, c: str) -> str:
    def unit(word: str) -> np.ndarray:
        return glove[word] / np.linalg.norm(glove[word])

    return _cosine_word(glove, unit(b) - unit(a) + unit(c), (a, b, c))


_Q2 = [
    Pitfall("global-table", lambda f: f.answer.lower() not in f.glove,
            lambda f: f"you returned {f.answer!r}, which is not a word of the table passed as `glove` (here: "
                      f"{', '.join(f.glove.words[:6])}): use the argument everywhere, never a notebook variable"),
    Pitfall("capitalised", lambda f: f.answer != f.expected and f.answer.lower() == f.expected,
            lambda f: f"{f.answer!r}: GloVe's words are lower case; return the word as glove.words spells it"),
    Pitfall("kept-a", lambda f: f.table == "a-first" and f.answer == f.a,
            "right on GloVe, but here bee - ant + cat points almost exactly at 'ant', and you returned 'ant'. Leave out "
            "a as well as b and c: all three input words"),
    Pitfall("zero-instead-of-excluded", lambda f: f.table == "negative" and f.answer in (f.a, f.b, f.c),
            lambda f: f"you returned {f.answer!r}, an input word: here every other word has a negative cosine, so a "
                      "similarity set to 0 still wins. Skip the input words (or give them -inf), never 0"),
    Pitfall("input-word", lambda f: f.table not in ("a-first", "negative") and f.answer in (f.a, f.b, f.c),
            lambda f: f"you returned {f.answer!r}, one of the question's words. The vector {f.b} - {f.a} + {f.c} is "
                      f"closest to {f.b} or {f.c} themselves: exclude the three input words"),
    Pitfall("swapped-signs", lambda f: f.answer == _cosine_word(f.glove, f.glove[f.a] - f.glove[f.b] + f.glove[f.c], (f.a, f.b, f.c)),
            lambda f: f"you returned {f.answer!r}: the signs are swapped; the query is {f.b} - {f.a} + {f.c}"),
    Pitfall("a-plus-b-minus-c", lambda f: f.answer == _cosine_word(f.glove, f.glove[f.a] + f.glove[f.b] - f.glove[f.c], (f.a, f.b, f.c)),
            lambda f: f"you returned {f.answer!r}: the query is {f.b} - {f.a} + {f.c}, not {f.a} + {f.b} - {f.c}"),
    Pitfall("unit-inputs", lambda f: f.answer == _by_unit_inputs(f.glove, f.a, f.b, f.c) != f.expected,
            lambda f: f"you returned {f.answer!r}, the answer when a, b and c are first scaled to length 1. The "
                      f"exercise's query is {f.b} - {f.a} + {f.c} with the vectors as they are, glove[b] - glove[a] + "
                      "glove[c]; the cosine then compares directions on its own"),
    Pitfall("dot-product", lambda f: f.answer == _by_dot(f.glove, f.a, f.b, f.c),
            lambda f: f"you returned {f.answer!r}, the best word by raw dot product; long (frequent) word vectors win "
                      "that. Rank by cosine similarity: divide by the vectors' norms"),
]

_Q2_STOPS_EARLY = Pitfall(
    "search-stops-early", lambda f: f.key == RETURNED_NONE and f.table == "crowded",
    "your function returned None: here a, b and c are the three words nearest to bee - ant + cat, so a search of the "
    "top 3 finds nothing else. Search further (the top 4, or every row)",
)


#: Catalogued for the tests and the counts; raised by :func:`_check_analogy` itself (it needs q1's verdict).
_Q2_NEAREST = Pitfall(
    "nearest-rejected", lambda f: f.verdict is not None and not f.verdict.correct,
    lambda f: "analogy_word calls your nearest, which "
              + ("is still the stub" if f.verdict.status == "not attempted" else
                 f"does not pass exercise 1 yet ({f.verdict.message})")
              + ". The mistake may be there rather than in analogy_word: fix nearest first (q1.check(nearest)), then "
                "check analogy_word again",
)


def _learner_nearest(function: Any) -> Any:
    """The learner's own ``nearest`` when ``function`` calls a global of that name (as the hint suggests), else None."""
    code, names = getattr(function, "__code__", None), getattr(function, "__globals__", {})
    if code is None or "nearest" not in code.co_names:
        return None
    candidate = names.get("nearest")
    return candidate if callable(candidate) else None


def _check_analogy(function: Any) -> str:
    try:
        return _check_analogy_cases(function)
    except Mistake as mistake:
        failure = mistake
    # analogy_word is wrong: is it the learner's nearest that is wrong? (Checked outside the except block, so
    # that nearest's check does not inherit analogy_word's error as its context.)
    own = _learner_nearest(function)
    found = facts(verdict=q1.evaluate(own) if own is not None else None)
    if not _Q2_NEAREST.fires(found):
        raise failure
    raise Mistake(_Q2_NEAREST.text(found), key=_Q2_NEAREST.key, detected=(_Q2_NEAREST.key,), error=found.verdict.error,
                  objects=found.verdict.objects or {})


def _check_analogy_cases(function: Any) -> str:
    glove = _glove()
    questions = [(glove, a, b, c, d, f"'{a} is to {b} as {c} is to ?'", "glove") for a, b, c, d in _ANALOGIES]
    names = {id(_A_FIRST_TABLE): "a-first", id(_CROWDED_TABLE): "crowded", id(_NEGATIVE_TABLE): "negative"}
    for table, expected, about in _MADE_UP:
        tiny = _word_vectors(list(table), np.array(list(table.values())))
        questions.append((tiny, "ant", "bee", "cat", expected, about, names[id(table)]))
    for table, a, b, c, expected, about, kind in questions:
        case = Case({"glove": table, "a": a, "b": b, "c": c}, about=about)
        try:
            answer = run_case(function, case, "analogy_word", explain=_Q2_ERRORS)
        except Mistake as mistake:
            diagnose([_Q2_STOPS_EARLY], facts(key=mistake.key, table=kind), case=case, name="analogy_word")
            raise
        diagnose(_Q2_TYPE, facts(answer=answer), case=case, name="analogy_word")
        answer = str(answer)
        if answer == expected:
            continue
        found = facts(answer=answer, expected=expected, glove=table, a=a, b=b, c=c, table=kind)
        diagnose(_Q2, found, case=case, name="analogy_word")
        raise fallback(f"expected {expected!r}, got {answer!r}", f"rank every word of the `glove` argument by cosine "
                       f"similarity with {b} - {a} + {c}, skipping the three input words", case=case)
    return "king - man + woman lands next to queen: the offset man -> woman is (roughly) a direction in the space."


q2 = Exercise(
    "q2",
    "word analogies with vector arithmetic",
    _check_analogy,
    hint="""
    query = glove[b] - glove[a] + glove[c]. Compute the cosine of every row of glove.vectors with it
    (your `nearest` from q1 gives the order), then return the first word of glove.words that is not a, b or c.
    a, b and c can take the top 3 places: look at least at the top 4.
    """,
    solution="""
    def analogy_word(glove, a, b, c):
        query = glove[b] - glove[a] + glove[c]
        for row in nearest(glove.vectors, query, 4):  # a, b and c can take at most 3 of the top 4
            if glove.words[row] not in (a, b, c):
                return glove.words[row]
    """,
    mistakes=[*_Q2_ERRORS, *_Q2_TYPE, *_Q2, _Q2_STOPS_EARLY, _Q2_NEAREST],
)
# --------------------------------------------------------------------------- q3


def _q3_cases() -> list[Case]:
    tiny = _tiny_glove()
    rng = np.random.default_rng(33)
    other_words = ["[UNK]", "movie", "night", "the", "of"]  # this "GloVe" even has a vector for "[UNK]"
    other = _word_vectors(other_words, rng.uniform(0.5, 2.0, (5, 3)) * rng.choice([-1, 1], (5, 3)), dtype=np.float64)
    # ^ float64 vectors: the matrix must still be float32
    return [
        Case({"vocabulary": list(_FILL_VOCABULARY), "glove": tiny}, about="a task vocabulary of 7 rows and a 4-d table"),
        Case({"vocabulary": ["", "[UNK]", "of", "night", "zzz", "movie"], "glove": other},
             about="a 3-d float64 table that has a vector for '[UNK]'"),
        Case({"vocabulary": ["", "[UNK]"], "glove": tiny}, about="a vocabulary with no task words"),
    ]  # fmt: skip


_Q3_ERRORS = [
    _NOT_A_DICT,
    Pitfall("missing-word-keyerror", lambda f: isinstance(f.error, KeyError),
            "some task words have no GloVe vector, so glove[word] raises for them: check `word in glove` first and "
            "leave their row at zeros"),
    Pitfall("task-row-as-glove-row", lambda f: isinstance(f.error, IndexError) and re.search(
            rf"with size {len(f.inputs['glove'])}\b", f.text),
            "glove.vectors[i] uses the task row i as a GloVe row; the rows of glove.vectors follow glove.words, not "
            "your vocabulary. Look the word up instead: glove[word]"),
    Pitfall("fixed-dimension", lambda f: "could not broadcast" in f.text,
            "a GloVe vector does not fit the row of your matrix: its number of columns must be glove.dim, not a "
            "number of your own"),
]


def _q3_facts(case: Case, result: Any) -> Any:
    vocabulary, glove = case.inputs["vocabulary"], case.inputs["glove"]
    matrix = result if isinstance(result, np.ndarray) else None
    return facts(result=result, matrix=matrix, vocabulary=vocabulary, glove=glove, n=len(vocabulary), dim=glove.dim,
                 expected=_reference_matrix(vocabulary, glove))


def _shift(f) -> int | None:
    """By how many rows the found vectors moved (-2 .. 2, not 0): row r + shift holds vocabulary[r]'s vector."""
    found_rows = [i for i in range(f.n) if np.any(f.expected[i] != 0)]
    for shift in (-2, -1, 1, 2):
        if found_rows and all(0 <= r + shift < f.n and np.array_equal(f.matrix[r + shift], f.expected[r])
                              for r in found_rows if 0 <= r + shift < f.n) and any(0 <= r + shift < f.n for r in found_rows):
            return shift
    return None


def _shifted(f) -> bool:
    return f.matrix.shape == f.expected.shape and _shift(f) is not None


def _shift_cause(shift: int) -> str:
    if shift == -2:
        return ("the first task word landed in row 0, where enumerate(vocabulary[2:]) starts counting: use "
                "enumerate(vocabulary[2:], start=2), or enumerate(vocabulary) and skip i < 2")
    return ("write the vector of vocabulary[i] into row i itself: check the + or - on the row number and the start= "
            "of enumerate (enumerate(vocabulary) gives the row number directly)")


def _dropped_row_zero(f) -> list[int]:
    """Rows left at zeros although their word has a vector, when every such word is GloVe's row 0 (and nothing else differs)."""
    wrong = [i for i in range(f.n) if not np.allclose(f.matrix[i], f.expected[i])]
    dropped = [i for i in wrong if not f.matrix[i].any() and f.glove.index.get(f.vocabulary[i]) == 0]
    return dropped if wrong and dropped == wrong else []


def _missing_rows(f) -> list[int]:
    return [i for i, word in enumerate(f.vocabulary) if i >= 2 and word not in f.glove]


_Q3_SHAPE = [
    Pitfall("not-numpy", lambda f: f.matrix is None,
            lambda f: f"your function returned {describe(f.result)}; the exercise asks for a float32 NumPy array "
                      "(np.zeros(..., dtype=np.float32), then fill it)"),
    Pitfall("not-2d", lambda f: f.matrix.ndim != 2,
            lambda f: f"your matrix has shape {f.matrix.shape}; it should be 2-D: (len(vocabulary), glove.dim)"),
    Pitfall("two-rows-too-many", lambda f: f.matrix.shape == (f.n + 2, f.dim),
            lambda f: f"your matrix has {f.n + 2} rows for a vocabulary of {f.n}: two rows too many. The vocabulary "
                      "already starts with '' (padding) and '[UNK]' (OOV), so it needs exactly len(vocabulary) rows"),
    Pitfall("one-row-off", lambda f: f.matrix.shape in ((f.n + 1, f.dim), (f.n - 1, f.dim)),
            lambda f: f"your matrix has {f.matrix.shape[0]} rows for a vocabulary of {f.n}: off by one; row i is "
                      "vocabulary[i], so it needs len(vocabulary) rows"),
    Pitfall("reserved-rows-missing", lambda f: f.matrix.shape == (f.n - 2, f.dim) and f.n > 2,
            lambda f: f"your matrix has {f.n - 2} rows: the padding and OOV rows are missing. Row 0 ('') and row 1 "
                      "('[UNK]') need rows too (zeros), so that row i is vocabulary[i]"),
    Pitfall("transposed", lambda f: f.matrix.shape == (f.dim, f.n) and f.dim != f.n,
            lambda f: f"your matrix is transposed: {f.matrix.shape}; it needs one row per word: ({f.n}, {f.dim})"),
]

_Q3 = [
    Pitfall("float64", lambda f: f.matrix.dtype != np.float32 and np.allclose(f.matrix, f.expected),
            lambda f: f"your matrix has dtype {f.matrix.dtype}; the exercise asks for float32, what Keras embeddings "
                      "hold. Create it with np.zeros(..., dtype=np.float32) (NumPy's default is float64, twice the memory)"),
    Pitfall("shifted", lambda f: _shifted(f),
            lambda f: f"the vectors are there but {abs(_shift(f))} row{'s' if abs(_shift(f)) > 1 else ''} "
                      f"{'too high' if _shift(f) < 0 else 'too low'}: row i must hold the vector of vocabulary[i]; "
                      + _shift_cause(_shift(f))),
    Pitfall("reserved-not-zero", lambda f: np.any(f.matrix[:2] != 0) and np.allclose(f.matrix[2:], f.expected[2:])
            and not _shifted(f),
            "rows 0 ('' padding) and 1 ('[UNK]' OOV) should be zeros in this lesson's policy, even when GloVe has a "
            "vector for the token: skip the first two rows"),
    Pitfall("row-zero-word-dropped", lambda f: _dropped_row_zero(f) != [],
            lambda f: f"{f.vocabulary[_dropped_row_zero(f)[0]]!r} has a GloVe vector, yet its row stayed zeros: it is "
                      f"GloVe's row 0 (glove.index[{f.vocabulary[_dropped_row_zero(f)[0]]!r}] == 0), and a truth test "
                      "such as `if glove.index.get(word):` reads row 0 as False. Test membership, `if word in glove:`"),
    Pitfall("missing-word-not-zero", lambda f: _missing_rows(f) and any(np.any(f.matrix[i] != 0) for i in _missing_rows(f))
            and all(np.allclose(f.matrix[i], f.expected[i]) for i in range(f.n) if i not in _missing_rows(f)),
            lambda f: f"{f.vocabulary[_missing_rows(f)[0]]!r} has no GloVe vector, yet its row is not zeros. This "
                      "exercise's policy: a missing word keeps a zero row (the library's missing='random' is the other policy)"),
]


def _check_fill_matrix(function: Any) -> str:
    for case in _q3_cases():
        result = run_case(function, case, "fill_matrix", explain=_Q3_ERRORS)
        found = _q3_facts(case, result)
        diagnose(_Q3_SHAPE, found, case=case, name="fill_matrix")
        if found.matrix.shape != (found.n, found.dim):
            raise fallback(f"your matrix has shape {found.matrix.shape}, expected ({found.n}, {found.dim})",
                           "(len(vocabulary), glove.dim)", case=case)
        if found.matrix.dtype == np.float32 and np.array_equal(found.matrix, found.expected):
            continue
        diagnose(_Q3, found, case=case, name="fill_matrix")
        wrong = [found.vocabulary[i] for i in range(found.n) if not np.allclose(found.matrix[i], found.expected[i])]
        raise fallback(f"the rows of {wrong} do not hold the expected numbers", "row i = glove[vocabulary[i]] when "
                       "`vocabulary[i] in glove`, zeros otherwise", case=case)
    return "Row i holds the vector of vocabulary[i]; padding, OOV and the missing word stay zeros."


q3 = Exercise(
    "q3",
    "fill the embedding matrix of a task vocabulary",
    _check_fill_matrix,
    hint="""
    Start from np.zeros((len(vocabulary), glove.dim), dtype=np.float32): that already gives the padding,
    OOV and missing-word rows. Then loop with enumerate(vocabulary) and copy glove[word] into row i
    whenever `word in glove`. Skip the first two (reserved) rows.
    """,
    solution="""
    def fill_matrix(vocabulary, glove):
        matrix = np.zeros((len(vocabulary), glove.dim), dtype=np.float32)
        for i, word in enumerate(vocabulary):
            if i >= 2 and word in glove:
                matrix[i] = glove[word]
        return matrix
    """,
    mistakes=[*_Q3_ERRORS, *_Q3_SHAPE, *_Q3],
)


# --------------------------------------------------------------------------- q4


def _q4_cases() -> list[Case]:
    tiny = _tiny_glove()
    with_reserved = _word_vectors(["", "[UNK]", "love", "story"], np.ones((4, 2)) + np.arange(8).reshape(4, 2))
    # 8 task words after the 2 reserved rows; 5 of them have vectors: coverage 0.625
    vocabulary = ["", "[UNK]", "the", "star", "zyzzyva", "love", "wars", "story", "thes", "qwxz"]
    return [
        Case({"vocabulary": vocabulary, "glove": tiny}, 5 / 8, "8 task words, 5 of them in the table"),
        Case({"vocabulary": ["", "[UNK]", "love", "story"], "glove": tiny}, 1.0, "a vocabulary whose words all have vectors"),
        Case({"vocabulary": ["", "[UNK]", "zzz", "qqq", "xxx"], "glove": tiny}, 0.0, "a vocabulary with no word in GloVe"),
        Case({"vocabulary": ["", "[UNK]", "wars", "x", "y"], "glove": tiny}, 1 / 3, "three task words, one found"),
        Case({"vocabulary": ["", "[UNK]", "love", "zzz", "qqq", "xxx", "yyy", "www", "vvv"], "glove": with_reserved}, 1 / 7,
             "a table that has vectors for '' and '[UNK]' too"),
    ]


def _q4_facts(case: Case, number) -> Any:
    vocabulary, glove = case.inputs["vocabulary"], case.inputs["glove"]
    words = vocabulary[2:]
    found = sum(w in glove for w in words)
    return facts(number=number, value=float(number.value), expected=case.expected, found=found, words=len(words),
                 rows=len(vocabulary), all_found=sum(w in glove for w in vocabulary))


def _q4_is(f, candidate: float) -> bool:
    return candidate != f.expected and np.isclose(f.value, candidate, atol=1e-6)


_Q4 = [
    Pitfall("integer-division", lambda f: f.number.is_integer_type and f.value == f.found // f.words != f.expected,
            "your coverage is a whole number: // drops the fraction. Use / for a fraction"),
    Pitfall("count-not-fraction", lambda f: f.value == f.found != f.expected and f.found != f.found // f.words,
            lambda f: f"{f.value:g} is the number of words found; return the fraction found / number of task words"),
    Pitfall("percentage", lambda f: _q4_is(f, 100 * f.expected),
            lambda f: f"{f.value:g} looks like a percentage; return a fraction between 0 and 1"),
    Pitfall("whole-vocabulary", lambda f: _q4_is(f, f.found / f.rows) or _q4_is(f, f.all_found / f.rows),
            lambda f: f"{f.value:g} divides by the whole vocabulary ({f.rows} rows); the reserved rows '' and '[UNK]' "
                      f"are not task words: divide by {f.words}"),
    Pitfall("one-reserved-row", lambda f: _q4_is(f, f.found / (f.rows - 1)),
            lambda f: f"{f.value:g} divides by len(vocabulary) - 1 = {f.rows - 1}; both reserved rows ('' and '[UNK]') "
                      f"are no task words: divide by {f.words}"),
    Pitfall("counted-reserved", lambda f: _q4_is(f, f.all_found / f.words) and f.all_found != f.found,
            "you counted the reserved tokens '' and '[UNK]' as found (this table has vectors for them): count only the "
            "task words, vocabulary[2:]"),
    Pitfall("missing-brackets", lambda f: _q4_is(f, f.found / f.rows - 2),
            lambda f: f"{f.value:g} is found / len(vocabulary) - 2: Python divides first and then subtracts 2. Put the "
                      "count of task words in brackets: found / (len(vocabulary) - 2), or divide by len(vocabulary[2:])"),
    Pitfall("missing-fraction", lambda f: _q4_is(f, 1 - f.expected),
            lambda f: f"{f.value:g} is the fraction of words *missing* from GloVe; coverage is the fraction found"),
    Pitfall("rounded", lambda f: any(f.value == round(f.expected, d) != f.expected for d in range(0, 4)),
            lambda f: f"{f.value:g} is the coverage rounded; return the exact fraction (round only when you print it)"),
]


def _check_coverage(function: Any) -> str:
    for case in _q4_cases():
        value = run_case(function, case, "coverage", explain=[_NOT_A_DICT])
        try:
            number = read_number(value, "your coverage")
        except Mistake as mistake:
            raise case.fail(str(mistake), key=mistake.key, detected=mistake.detected) from None
        if np.isclose(number.value, case.expected, rtol=1e-6, atol=1e-9):
            continue
        found = _q4_facts(case, number)
        diagnose(_Q4, found, case=case, name="coverage")
        raise fallback(f"your coverage is {found.value:g}, expected {case.expected:g}", "count the task words (after the "
                       "two reserved rows) that are `in glove`, and divide by how many task words there are", case=case)
    return "Coverage counts task words only: the two reserved rows are neither found nor missing."


q4 = Exercise(
    "q4",
    "coverage of a task vocabulary by GloVe",
    _check_coverage,
    hint="""
    The task words are vocabulary[2:] (rows 0 and 1 are padding and OOV). Count how many of them
    are `in glove`, and divide by how many task words there are.
    """,
    solution="""
    def coverage(vocabulary, glove):
        words = vocabulary[2:]
        return sum(word in glove for word in words) / len(words)
    """,
    mistakes=[_NOT_A_DICT, *NUMBER_PITFALLS, *_Q4],
)


# --------------------------------------------------------------------------- q5


def _is_keras_embedding(layer) -> bool:
    import keras

    if isinstance(layer, keras.layers.Embedding):
        return True
    if type(layer).__module__.startswith("tf_keras"):
        import tf_keras

        return isinstance(layer, tf_keras.layers.Embedding)
    return False


def _is_model(layer) -> bool:
    return all(hasattr(layer, name) for name in ("fit", "compile", "layers"))


_Q5_ERRORS = [
    Pitfall("shape-as-one-argument", lambda f: "output_dim" in f.text and "missing" in f.text
            or re.search(r"input_dim=\(|output_dim=\(", f.text) is not None,
            "keras.layers.Embedding takes two numbers, input_dim and output_dim, not the shape tuple: "
            "keras.layers.Embedding(rows, dim, ...) with rows, dim = matrix.shape"),
    Pitfall("set-weights-before-build", lambda f: "set_weights" in f.text and "expecting 0 weights" in f.text,
            "a new Embedding has no table yet (it is made when the layer is built), so set_weights has nothing to fill: "
            "pass the matrix when you create the layer, embeddings_initializer=keras.initializers.Constant(matrix), "
            "or call build() before set_weights"),
    Pitfall("embeddings-before-build", lambda f: "build the layer before accessing" in f.text,
            "a new Embedding has no table yet: its embeddings variable is made when the layer is built (by "
            "layer.build((None,)) or its first call), so there is nothing to assign to. Pass the matrix when you "
            "create the layer, embeddings_initializer=keras.initializers.Constant(matrix)"),
    Pitfall("trainable-text", lambda f: "`trainable` to be a boolean" in f.text,
            "the trainable argument takes the bool False, not the text 'False' (a string is not a bool, and any non-empty text "
            "reads as true): trainable=False, without quotes"),
    Pitfall("numpy-integer-size", lambda f: "must be a positive integer" in f.text
            and re.search(r"of type (u?int\d+|<class 'numpy)", f.text) is not None,
            lambda f: "keras.layers.Embedding refuses NumPy integers as sizes on this Keras version, as lesson 01's "
                      "vocabulary size showed, and np.array(matrix.shape) or np.shape(...) math makes NumPy integers: "
                      "matrix.shape itself holds Python ints (rows, dim = matrix.shape), or wrap each size in int(...)"),
    Pitfall("initializer-not-object", lambda f: "Could not interpret initializer" in f.text,
            "embeddings_initializer takes an initializer (or the name of a standard one), not your matrix or a name of "
            "your own: keras.initializers.Constant(matrix) starts the table at the matrix"),
]

_Q5_TYPE = [
    Pitfall("keras-2-layer", lambda f: type(f.layer).__module__.startswith("tf_keras"),
            lambda f: f"that is a Keras 2 layer ({type(f.layer).__name__} from tf_keras); the lesson's models are "
                      "Keras 3 and cannot hold it: use keras.layers.Embedding (and keras.initializers.Constant(matrix))"),
    Pitfall("returned-model", lambda f: _is_model(f.layer) and not type(f.layer).__module__.startswith("tf_keras"),
            "you returned a model; return the Embedding layer itself"),
    Pitfall("not-embedding", lambda f: not _is_model(f.layer) and not _is_keras_embedding(f.layer),
            lambda f: f"expected a keras.layers.Embedding, got {describe(f.layer)}: "
                      + ("create the layer, keras.layers.Embedding(rows, dim, ...), and return it" if isinstance(f.layer, type)
                         else "that is what the layer returns when called; return the layer itself, without calling it"
                         if is_tensor(f.layer) and "Variable" not in type(f.layer).__name__
                         else "return keras.layers.Embedding(rows, dim, ...) built from the matrix")),
]

_Q5_CONFIG = [
    Pitfall("input-dim-plus-one", lambda f: f.layer.input_dim == f.rows + 1,
            lambda f: f"your layer has input_dim={f.layer.input_dim} for a matrix of {f.rows} rows: input_dim is the "
                      "number of rows of the matrix (matrix.shape[0]), no +1: the padding row is already in it"),
    Pitfall("input-dim-fixed", lambda f: f.layer.input_dim not in (f.rows, f.rows + 1),
            lambda f: f"your layer has input_dim={f.layer.input_dim} for a matrix of {f.rows} rows: take the sizes "
                      "from the matrix itself (matrix.shape), not a number of your own"),
    Pitfall("output-dim", lambda f: f.layer.input_dim == f.rows and f.layer.output_dim != f.dim,
            lambda f: f"output_dim={f.layer.output_dim}, but the matrix has {f.dim} columns: take it from the matrix, "
                      "matrix.shape[1]"),
]

_Q5 = [
    Pitfall("numbers-differ", lambda f: not f.holds_matrix,
            "the layer does not hold the matrix (its numbers differ): pass it with "
            "embeddings_initializer=keras.initializers.Constant(matrix) or weights=[matrix]"),
    Pitfall("trainable", lambda f: f.holds_matrix and f.layer.trainable,
            "the layer is trainable, so fit() would change GloVe's numbers: pass trainable=False"),
    Pitfall("no-mask-zero", lambda f: f.holds_matrix and not f.layer.trainable and not f.masks,
            "mask_zero is False: the layers after it would average the padding row 0 into every title. Pass mask_zero=True"),
]


def _check_frozen_embedding(function: Any) -> str:
    rng = np.random.default_rng(5)
    for rows, dim, dtype in ((7, 3, np.float32), (12, 5, np.float32), (4, 2, np.float64)):
        matrix = rng.normal(size=(rows, dim)).astype(dtype)
        case = Case({"matrix": matrix}, about=f"a ({rows}, {dim}) {np.dtype(dtype).name} matrix")
        layer = run_case(function, case, "frozen_embedding", explain=_Q5_ERRORS)
        diagnose(_Q5_TYPE, facts(layer=layer), case=case, name="frozen_embedding")
        diagnose(_Q5_CONFIG, facts(layer=layer, rows=rows, dim=dim), case=case, name="frozen_embedding")
        ids = np.array([[1, 2, 0], [rows - 1, 0, 0]], dtype=np.int32)
        try:
            output = layer(ids)  # builds it, as a model would
        except Exception as exc:  # noqa: BLE001
            raise explained_error(exc, "calling your layer on ids", case=case, objects={"layer": layer}) from None
        held = to_numpy(layer.embeddings, "the layer's embeddings")
        found = facts(layer=layer, holds_matrix=held.shape == matrix.shape and np.allclose(held, matrix.astype(held.dtype), rtol=1e-6, atol=0),
                      masks=bool(layer.mask_zero) and getattr(output, "_keras_mask", None) is not None)
        diagnose(_Q5, found, case=case, name="frozen_embedding", objects={"layer": layer})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matrix = rng.normal(size=(6, 4)).astype(np.float32)
        layer = run_case(function, Case({"matrix": matrix}, about="a (6, 4) matrix"), "frozen_embedding")
        fit_in_model(layer, np.array([[1, 2, 0], [5, 3, 0], [4, 0, 0]], dtype=np.int32), what="your Embedding")
    if not np.allclose(to_numpy(layer.embeddings), matrix, rtol=1e-6, atol=0):
        raise fallback("inside a model, one epoch of fit() changed the layer's numbers",
                       "the layer and its embeddings variable must not be trainable (trainable=False)")
    return "Same numbers as the matrix, not trainable (fit leaves them alone), and padding masked."


q5 = Exercise(
    "q5",
    "a frozen Embedding holding a given matrix",
    _check_frozen_embedding,
    hint="""
    keras.layers.Embedding(input_dim=..., output_dim=..., embeddings_initializer=keras.initializers.Constant(matrix),
    trainable=..., mask_zero=...): input_dim and output_dim are the two numbers of matrix.shape.
    """,
    solution="""
    def frozen_embedding(matrix):
        rows, dim = matrix.shape
        return keras.layers.Embedding(
            rows, dim, embeddings_initializer=keras.initializers.Constant(matrix), trainable=False, mask_zero=True
        )
    """,
    mistakes=[*_Q5_ERRORS, *_Q5_TYPE, *_Q5_CONFIG, *_Q5],
)
