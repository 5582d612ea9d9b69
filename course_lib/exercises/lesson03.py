"""Exercises of lesson 03, *pretrained weights*, in the order the lesson asks them.

- ``q1``: ``nearest(matrix, query, k)``: the top-k rows by cosine similarity;
- ``q2``: ``analogy_word(glove, a, b, c)``: "a is to b as c is to ?" with ``b - a + c``;
- ``q3``: ``fill_matrix(vocabulary, glove)``: the embedding matrix of a task vocabulary, with
  the padding / OOV / missing-word policy of the lesson;
- ``q4``: ``coverage(vocabulary, glove)``: the fraction of task words that have a GloVe vector;
- ``q5``: ``frozen_embedding(matrix)``: an ``Embedding`` holding exactly ``matrix``, frozen, masked.

Checks build small word-vector tables of their own (``q2`` also uses the course's GloVe subset),
so they never depend on the notebook's variables. TensorFlow is imported only by ``q5``.
"""

from __future__ import annotations

import numbers
from functools import lru_cache
from typing import Any

import numpy as np

from course_lib.checks import Case, Exercise, Mistake, error_text, fit_in_model, run_case, show, to_numpy
from course_lib.checks import _kind as kind_of
from course_lib.datasets import WordVectors


def _word_vectors(words: list[str], vectors: np.ndarray) -> WordVectors:
    vectors = np.asarray(vectors, dtype=np.float32)
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


def _as_rows(value: Any, k: int, case: Case) -> list[int]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") and not hasattr(value, "shape"):
        raise case.fail(f"expected the row numbers of the {k} nearest rows (a list or array of ints), got {kind_of(value)}")
    array = to_numpy(value, "your answer").reshape(-1)
    if array.dtype.kind == "f":
        if np.all(np.abs(array) <= 1.0 + 1e-6) and not np.all(array == np.round(array)):
            raise case.fail("you returned similarities (floats); return the row numbers (ints) of the nearest rows")
        if not np.all(array == np.round(array)):
            raise case.fail(f"expected row numbers (ints), got floats {show(array)}")
    elif array.dtype.kind not in "iu":
        raise case.fail(f"expected row numbers (ints), got {array.dtype}")
    if array.size != k:
        raise case.fail(f"asked for k={k} neighbours, got {array.size}")
    return [int(v) for v in array]


def _q1_cases() -> list[Case]:
    rng = np.random.default_rng(31)
    big = rng.normal(size=(300, 8))  # float64, like a NumPy computation
    query = rng.normal(size=8)
    big[[297, 123, 250]] = [3.0 * query, 0.2 * query + 0.01, 10.0 * query + rng.normal(size=8)]  # the best rows lie late
    small = _NEAREST_MATRIX
    return [
        Case({"matrix": small, "query": np.array([1.0, 0.0], np.float32), "k": 3}, about="the test matrix"),
        Case({"matrix": small, "query": np.array([0.2, 1.0], np.float32), "k": 2}, about="another query"),
        Case({"matrix": big, "query": query, "k": 5}, about="a 300-row float64 matrix whose best rows come late"),
        Case({"matrix": small, "query": np.array([-0.3, -2.0], np.float32), "k": len(small)}, about="k equal to the number of rows"),
        Case({"matrix": small, "query": np.array([5.0, 1.0], np.float32), "k": 1}, about="k=1"),
    ]


def _check_nearest(function: Any) -> str:
    for case in _q1_cases():
        matrix, query, k = case.inputs["matrix"], case.inputs["query"], case.inputs["k"]
        rows = _as_rows(run_case(function, case, "nearest"), k, case)
        expected = _cosine_top(matrix, query, k)
        if rows == expected:
            continue
        dot = [int(i) for i in np.argsort(-(matrix @ query), kind="stable")[:k]]
        euclid = [int(i) for i in np.argsort(np.linalg.norm(matrix - query, axis=1), kind="stable")[:k]]
        sims = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
        least = [int(i) for i in np.argsort(sims, kind="stable")[:k]]
        if rows == dot and dot != expected:
            raise case.fail(
                f"{rows} is the ranking by raw dot product: long vectors win. Cosine divides the dot product by "
                "both norms, so only the direction counts"
            )
        if rows == euclid:
            raise case.fail(f"{rows} ranks by Euclidean distance; this exercise asks for cosine similarity")
        if rows == least:
            raise case.fail(f"{rows} are the *least* similar rows: sort by similarity in descending order")
        if sorted(rows) == sorted(expected):
            raise case.fail(f"the right rows, but not most similar first: expected the order {expected}, got {rows}")
        if len(matrix) > 50 and all(r < 50 for r in rows):
            raise case.fail(f"expected {expected}, got {rows}: you only searched the first rows. Compare the query with every row")
        raise case.fail(
            f"the top-{k} rows by cosine are {expected}, you returned {rows}. "
            "Normalise each row (axis=1) and the query, then take the largest dot products"
        )
    return "Cosine ranks by direction only, so short and long vectors compete fairly."


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


def _analogy_answer(function: Any, glove: WordVectors, a: str, b: str, c: str, about: str) -> tuple[str, Case]:
    case = Case({"glove": glove, "a": a, "b": b, "c": c}, about=about)
    answer = run_case(function, case, "analogy_word")
    if isinstance(answer, (list, tuple, np.ndarray)) and len(answer) and isinstance(answer[0], (str, np.str_)):
        raise case.fail(f"you returned {list(answer)[:3]}; return just the best word, a str")
    if not isinstance(answer, (str, np.str_)):
        raise case.fail(f"return the answer word as a str, got {kind_of(answer)}")
    return str(answer), case


def _check_analogy(function: Any) -> str:
    glove = _glove()
    for a, b, c, expected in _ANALOGIES:
        question = f"'{a} is to {b} as {c} is to ?'"
        answer, case = _analogy_answer(function, glove, a, b, c, question)
        if answer == expected:
            continue
        if answer in (a, b, c):
            raise case.fail(
                f"you returned {answer!r}, one of the question's words. The vector "
                f"{b} - {a} + {c} is closest to {b} or {c} themselves: exclude the three input words"
            )
        if answer == _cosine_word(glove, glove[a] - glove[b] + glove[c], (a, b, c)):
            raise case.fail(f"you returned {answer!r}: the signs are swapped; the query is {b} - {a} + {c}")
        if answer == _cosine_word(glove, glove[a] + glove[b] - glove[c], (a, b, c)):
            raise case.fail(f"you returned {answer!r}: the query is {b} - {a} + {c}, not {a} + {b} - {c}")
        query = glove[b] - glove[a] + glove[c]
        by_dot = next(glove.words[i] for i in np.argsort(-(glove.vectors @ query), kind="stable") if glove.words[i] not in (a, b, c))
        if answer == by_dot:
            raise case.fail(
                f"you returned {answer!r}, the best word by raw dot product; long (frequent) "
                "word vectors win that. Rank by cosine similarity: divide by the vectors' norms"
            )
        raise case.fail(
            f"expected {expected!r}, got {answer!r}. Rank every word by cosine similarity "
            f"with {b} - {a} + {c}, skipping the three input words"
        )
    tiny = _word_vectors(list(_A_FIRST_TABLE), np.array(list(_A_FIRST_TABLE.values())))
    answer, case = _analogy_answer(function, tiny, "ant", "bee", "cat", "a small made-up table")
    if answer == "ant":
        raise case.fail(
            "right on GloVe, but here bee - ant + cat points almost exactly at 'ant', and you returned 'ant'. "
            "Leave out a as well as b and c: all three input words"
        )
    if answer != "dog":
        raise case.fail(
            "right on GloVe, but here the answer is 'dog', the best word by cosine with bee - ant + cat other than the "
            f"three input words; got {answer!r}. Use the `glove` argument, not a global table"
        )
    return "king - man + woman lands next to queen: the offset man -> woman is (roughly) a direction in the space."


q2 = Exercise(
    "q2",
    "word analogies with vector arithmetic",
    _check_analogy,
    hint="""
    query = glove[b] - glove[a] + glove[c]. Compute the cosine of every row of glove.vectors with it
    (your `nearest` from q1 gives the order), then return the first word of glove.words that is not a, b or c.
    """,
    solution="""
    def analogy_word(glove, a, b, c):
        query = glove[b] - glove[a] + glove[c]
        for row in nearest(glove.vectors, query, 4):  # a, b and c can take at most 3 of the top 4
            if glove.words[row] not in (a, b, c):
                return glove.words[row]
    """,
)
# --------------------------------------------------------------------------- q3


def _q3_cases() -> list[Case]:
    tiny = _tiny_glove()
    rng = np.random.default_rng(33)
    other_words = ["[UNK]", "movie", "night", "the", "of"]  # this "GloVe" even has a vector for "[UNK]"
    other = WordVectors(other_words, rng.uniform(0.5, 2.0, (5, 3)) * rng.choice([-1, 1], (5, 3)), {w: i for i, w in enumerate(other_words)})
    # ^ float64 vectors: the matrix must still be float32
    return [
        Case({"vocabulary": list(_FILL_VOCABULARY), "glove": tiny}, about="the test vocabulary"),
        Case({"vocabulary": ["", "[UNK]", "of", "night", "zzz", "movie"], "glove": other},
             about="a 3-d float64 table that has a vector for '[UNK]'"),
        Case({"vocabulary": ["", "[UNK]"], "glove": tiny}, about="a vocabulary with no task words"),
    ]  # fmt: skip


def _check_fill_matrix(function: Any) -> str:
    for case in _q3_cases():
        vocabulary, glove = case.inputs["vocabulary"], case.inputs["glove"]
        expected = _reference_matrix(vocabulary, glove)
        try:
            result = run_case(function, case, "fill_matrix")
        except Mistake as mistake:
            if "KeyError" in str(mistake):
                raise Mistake(
                    f"{mistake}. Some task words have no GloVe vector: check `word in glove` first and leave their row at zeros"
                ) from None
            raise
        if not isinstance(result, np.ndarray):
            raise case.fail(f"your function returned {kind_of(result)}; the prompt asks for a NumPy array (np.zeros(...) then fill it)")
        matrix = result
        n, dim = len(vocabulary), glove.dim
        if matrix.ndim != 2:
            raise case.fail(f"your matrix has shape {matrix.shape}; it should be 2-D: (len(vocabulary), glove.dim)")
        if matrix.shape == (n + 2, dim):
            raise case.fail(
                f"your matrix has {n + 2} rows for a vocabulary of {n}: two rows too many. The vocabulary already "
                "starts with '' (padding) and '[UNK]' (OOV), so it needs exactly len(vocabulary) rows"
            )
        if matrix.shape == (n + 1, dim):
            raise case.fail(f"your matrix has {n + 1} rows for a vocabulary of {n}: off by one; row i is vocabulary[i]")
        if matrix.shape == (n - 2, dim):
            raise case.fail(
                f"your matrix has {n - 2} rows: the padding and OOV rows are missing. Row 0 ('') and row 1 ('[UNK]') "
                "need rows too (zeros), so that row i is vocabulary[i]"
            )
        if matrix.shape == (dim, n) and dim != n:
            raise case.fail(f"your matrix is transposed: {matrix.shape}; it needs one row per word: ({n}, {dim})")
        if matrix.shape != (n, dim):
            raise case.fail(f"your matrix has shape {matrix.shape}, expected (len(vocabulary), glove.dim) = ({n}, {dim})")
        if matrix.dtype != np.float32:
            raise case.fail(
                f"your matrix has dtype {matrix.dtype}; Keras embeddings hold float32. Create it with "
                "np.zeros(..., dtype=np.float32) (NumPy's default is float64, twice the memory)"
            )
        if np.array_equal(matrix, expected):
            continue
        found_rows = [i for i in range(n) if np.any(expected[i] != 0)]
        for shift in (1, -1):
            if found_rows and all(0 <= r + shift < n and np.array_equal(matrix[r + shift], expected[r]) for r in found_rows):
                raise case.fail(
                    "the vectors are there but shifted by one row: row i must hold the vector of vocabulary[i] "
                    "(enumerate(vocabulary) gives the row number directly)"
                )
        if np.any(matrix[:2] != 0):
            raise case.fail("rows 0 ('' padding) and 1 ('[UNK]' OOV) should be zeros in this lesson's policy, even when GloVe has a vector for the token")
        missing = [i for i, word in enumerate(vocabulary) if i >= 2 and word not in glove]
        if any(np.any(matrix[i] != 0) for i in missing) and all(np.array_equal(matrix[i], expected[i]) for i in range(n) if i not in missing):
            raise case.fail(
                f"{vocabulary[missing[0]]!r} has no GloVe vector, yet its row is not zeros. This exercise's policy: a missing word keeps "
                "a zero row (the library's missing='random' is the other policy)"
            )
        wrong = [vocabulary[i] for i in range(n) if not np.array_equal(matrix[i], expected[i])]
        raise case.fail(f"the rows of {wrong} do not hold the expected numbers (row i = glove[vocabulary[i]], or zeros)")
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
)


# --------------------------------------------------------------------------- q4


def _as_float(value: Any, what: str) -> float:
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise Mistake(f"{what} should be one number, got an array of shape {value.shape}")
        value = value.reshape(()).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise Mistake(f"{what} should be a number between 0 and 1, got {value!r} ({type(value).__name__})")
    return float(value)


def _q4_cases() -> list[Case]:
    tiny = _tiny_glove()
    # 8 task words after the 2 reserved rows; 5 of them have vectors: coverage 0.625
    vocabulary = ["", "[UNK]", "the", "star", "zyzzyva", "love", "wars", "story", "thes", "qwxz"]
    return [
        Case({"vocabulary": vocabulary, "glove": tiny}, 5 / 8, "the test vocabulary"),
        Case({"vocabulary": ["", "[UNK]", "love", "story"], "glove": tiny}, 1.0, "a vocabulary whose words all have vectors"),
        Case({"vocabulary": ["", "[UNK]", "zzz", "qqq", "xxx"], "glove": tiny}, 0.0, "a vocabulary with no word in GloVe"),
        Case({"vocabulary": ["", "[UNK]", "wars", "x", "y"], "glove": tiny}, 1 / 3, "three task words, one found"),
    ]


def _check_coverage(function: Any) -> str:
    for case in _q4_cases():
        vocabulary, glove, expected = case.inputs["vocabulary"], case.inputs["glove"], case.expected
        words = vocabulary[2:]
        found = sum(w in glove for w in words)
        try:
            value = _as_float(run_case(function, case, "coverage"), "your coverage")
        except Mistake as mistake:
            raise Mistake(str(mistake) if str(mistake).startswith("for ") else f"{case.where()}: {mistake}") from None
        if np.isclose(value, expected, atol=1e-6):
            continue
        if np.isclose(value, found, atol=1e-6) and found != expected:
            raise case.fail(f"{value:g} is the number of words found; return the fraction found / number of task words")
        if np.isclose(value, 100 * expected, atol=1e-4):
            raise case.fail(f"{value:g} looks like a percentage; return a fraction between 0 and 1")
        if np.isclose(value, found / len(vocabulary), atol=1e-6):
            raise case.fail(
                f"{value:g} divides by the whole vocabulary ({len(vocabulary)} rows); the reserved rows '' and '[UNK]' "
                f"are not task words: divide by {len(words)}"
            )
        if np.isclose(value, 1 - expected, atol=1e-6):
            raise case.fail(f"{value:g} is the fraction of words *missing* from GloVe; coverage is the fraction found")
        raise case.fail(f"your coverage is {value:g}, expected {expected:g}: count the task words (after the two reserved rows) that are in glove")
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
)


# --------------------------------------------------------------------------- q5


def _check_frozen_embedding(function: Any) -> str:
    import keras

    rng = np.random.default_rng(5)
    for rows, dim, dtype in ((7, 3, np.float32), (12, 5, np.float32), (4, 2, np.float64)):
        matrix = rng.normal(size=(rows, dim)).astype(dtype)
        case = Case({"matrix": matrix}, about=f"a ({rows}, {dim}) {np.dtype(dtype).name} matrix")
        layer = run_case(function, case, "frozen_embedding")
        if isinstance(layer, keras.Model):
            raise case.fail("you returned a model; return the Embedding layer itself")
        if not isinstance(layer, keras.layers.Embedding):
            raise case.fail(f"expected a keras.layers.Embedding, got {kind_of(layer)}")
        if layer.input_dim != rows:
            raise case.fail(
                f"your layer has input_dim={layer.input_dim}: input_dim is the "
                "number of rows of the matrix (matrix.shape[0]), no +1: the padding row is already in it"
            )
        if layer.output_dim != dim:
            raise case.fail(f"output_dim={layer.output_dim}, but the matrix has {dim} columns (matrix.shape[1])")
        ids = np.array([[1, 2, 0], [rows - 1, 0, 0]], dtype=np.int32)
        try:
            output = layer(ids)  # builds it, as a model would
        except Exception as exc:  # noqa: BLE001
            raise case.fail(f"calling your layer on ids raised {error_text(exc)}") from None
        held = to_numpy(layer.embeddings, "the layer's embeddings")
        if not np.allclose(held, matrix.astype(held.dtype), rtol=1e-6, atol=0):
            raise case.fail(
                "the layer does not hold the matrix (its numbers differ): pass it with "
                "embeddings_initializer=keras.initializers.Constant(matrix) or weights=[matrix]"
            )
        if layer.trainable:
            raise case.fail("the layer is trainable, so fit() would change GloVe's numbers: pass trainable=False")
        if layer.embeddings.trainable:
            raise case.fail("the layer's embeddings variable is still trainable: pass trainable=False to the layer")
        if not layer.mask_zero or getattr(output, "_keras_mask", None) is None:
            raise case.fail(
                "mask_zero is False: the layers after it would average the padding row 0 into every title. "
                "Pass mask_zero=True"
            )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matrix = rng.normal(size=(6, 4)).astype(np.float32)
        layer = run_case(function, Case({"matrix": matrix}, about="a (6, 4) matrix"), "frozen_embedding")
        fit_in_model(layer, np.array([[1, 2, 0], [5, 3, 0]], dtype=np.int32), what="your Embedding")
    if not np.allclose(to_numpy(layer.embeddings), matrix, rtol=1e-6, atol=0):
        raise Mistake("inside a model, one fit() step changed the layer's numbers: the layer must not be trainable")
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
)
