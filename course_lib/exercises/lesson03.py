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

from course_lib.checks import Exercise, Mistake, NotAttempted, call_learner, to_numpy
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


def _as_rows(value: Any, k: int) -> list[int]:
    array = to_numpy(value, "your answer").reshape(-1)
    if array.dtype.kind == "f":
        if np.all(np.abs(array) <= 1.0 + 1e-6) and not np.all(array == np.round(array)):
            raise Mistake("you returned similarities (floats); return the row numbers (ints) of the nearest rows")
        if not np.all(array == np.round(array)):
            raise Mistake(f"expected row numbers (ints), got floats {array.tolist()}")
    elif array.dtype.kind not in "iu":
        raise Mistake(f"expected row numbers (ints), got {array.dtype}")
    if array.size != k:
        raise Mistake(f"asked for k={k} neighbours, got {array.size}")
    return [int(v) for v in array]


def _check_nearest(function: Any) -> str:
    matrix = _NEAREST_MATRIX
    query = np.array([1.0, 0.0], dtype=np.float32)
    k = 3
    rows = _as_rows(call_learner(function, matrix.copy(), query.copy(), k), k)
    expected = _cosine_top(matrix, query, k)  # [2, 1, 5]
    if rows != expected:
        dot = [int(i) for i in np.argsort(-(matrix @ query), kind="stable")[:k]]
        euclid = [int(i) for i in np.argsort(np.linalg.norm(matrix - query, axis=1), kind="stable")[:k]]
        sims = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
        least = [int(i) for i in np.argsort(sims, kind="stable")[:k]]
        if rows == dot:
            raise Mistake(
                f"{rows} is the ranking by raw dot product: long vectors win. Cosine divides the dot product by "
                "both norms, so only the direction counts"
            )
        if rows == euclid:
            raise Mistake(f"{rows} ranks by Euclidean distance; this exercise asks for cosine similarity")
        if rows == least:
            raise Mistake(f"{rows} are the *least* similar rows: sort by similarity in descending order")
        if sorted(rows) == sorted(expected):
            raise Mistake(f"the right rows, but not most similar first: expected the order {expected}")
        raise Mistake(
            f"for query {query.tolist()} the top-{k} rows by cosine are {expected}, you returned {rows}. "
            "Normalise each row (axis=1) and the query, then take the largest dot products"
        )
    # a second case, against hard-coded answers, with a tensor-friendly query
    query2 = np.array([0.2, 1.0], dtype=np.float32)
    rows2 = _as_rows(call_learner(function, matrix.copy(), query2.copy(), 2), 2)
    if rows2 != _cosine_top(matrix, query2, 2):
        raise Mistake(f"right for one query, but for query {query2.tolist()} expected {_cosine_top(matrix, query2, 2)}, got {rows2}")
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


def _check_analogy(function: Any) -> str:
    glove = _glove()
    for a, b, c, expected in _ANALOGIES:
        answer = call_learner(function, glove, a, b, c)
        if isinstance(answer, (list, tuple)) and answer and isinstance(answer[0], (str, np.str_)):
            raise Mistake(f"you returned {list(answer)[:3]}...; return just the best word, a str")
        if not isinstance(answer, (str, np.str_)):
            raise Mistake(f"return the answer word as a str, got {type(answer).__name__}")
        answer = str(answer)
        if answer == expected:
            continue
        if answer in (a, b, c):
            raise Mistake(
                f"for '{a} is to {b} as {c} is to ?' you returned {answer!r}, one of the question's words. The vector "
                f"{b} - {a} + {c} is closest to {b} or {c} themselves: exclude the three input words"
            )
        if answer == _cosine_word(glove, glove[a] - glove[b] + glove[c], (a, b, c)):
            raise Mistake(f"for '{a} is to {b} as {c} is to ?' you returned {answer!r}: the signs are swapped; the query is {b} - {a} + {c}")
        if answer == _cosine_word(glove, glove[a] + glove[b] - glove[c], (a, b, c)):
            raise Mistake(f"for '{a} is to {b} as {c} is to ?' you returned {answer!r}: the query is {b} - {a} + {c}, not {a} + {b} - {c}")
        query = glove[b] - glove[a] + glove[c]
        by_dot = next(glove.words[i] for i in np.argsort(-(glove.vectors @ query), kind="stable") if glove.words[i] not in (a, b, c))
        if answer == by_dot:
            raise Mistake(
                f"for '{a} is to {b} as {c} is to ?' you returned {answer!r}, the best word by raw dot product; long (frequent) "
                "word vectors win that. Rank by cosine similarity: divide by the vectors' norms"
            )
        raise Mistake(
            f"for '{a} is to {b} as {c} is to ?' expected {expected!r}, got {answer!r}. Rank every word by cosine similarity "
            f"with {b} - {a} + {c}, skipping the three input words"
        )
    tiny = _word_vectors(list(_A_FIRST_TABLE), np.array(list(_A_FIRST_TABLE.values())))
    answer = call_learner(function, tiny, "ant", "bee", "cat")
    if not isinstance(answer, (str, np.str_)):
        raise Mistake(f"on a small made-up table your function returned {type(answer).__name__}; return the answer word as a str")
    if str(answer) == "ant":
        raise Mistake(
            "right on GloVe, but on a small made-up table where bee - ant + cat points almost exactly at 'ant', "
            "you returned 'ant' for 'ant is to bee as cat is to ?'. Leave out a as well as b and c: all three input words"
        )
    if str(answer) != "dog":
        raise Mistake(
            f"right on GloVe, but on a small made-up table (words {list(_A_FIRST_TABLE)}) 'ant is to bee as cat is to ?' should "
            f"give 'dog', the best word by cosine with bee - ant + cat other than the three input words; got {str(answer)!r}"
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


def _check_fill_matrix(function: Any) -> str:
    glove = _tiny_glove()
    vocabulary = list(_FILL_VOCABULARY)
    expected = _reference_matrix(vocabulary, glove)
    try:
        result = call_learner(function, vocabulary, glove)
    except KeyError as exc:
        raise Mistake(
            f"your function raised KeyError for {exc.args[0]!r}. Some task words have no GloVe vector: "
            "check `word in glove` first and leave their row at zeros"
        ) from None
    if list(vocabulary) != _FILL_VOCABULARY:
        raise Mistake("your function changed the vocabulary list it was given; build a new matrix instead")
    matrix = to_numpy(result, "your matrix")
    n, dim = len(vocabulary), glove.dim
    if matrix.ndim != 2:
        raise Mistake(f"your matrix has shape {matrix.shape}; it should be 2-D: (len(vocabulary), glove.dim)")
    if matrix.shape == (n + 2, dim):
        raise Mistake(
            f"your matrix has {n + 2} rows for a vocabulary of {n}: two rows too many. The vocabulary already "
            "starts with '' (padding) and '[UNK]' (OOV), so it needs exactly len(vocabulary) rows"
        )
    if matrix.shape == (n + 1, dim):
        raise Mistake(f"your matrix has {n + 1} rows for a vocabulary of {n}: off by one; row i is vocabulary[i]")
    if matrix.shape == (n - 2, dim):
        raise Mistake(
            f"your matrix has {n - 2} rows: the padding and OOV rows are missing. Row 0 ('') and row 1 ('[UNK]') "
            "need rows too (zeros), so that row i is vocabulary[i]"
        )
    if matrix.shape == (dim, n):
        raise Mistake(f"your matrix is transposed: {matrix.shape}; it needs one row per word: ({n}, {dim})")
    if matrix.shape != (n, dim):
        raise Mistake(f"your matrix has shape {matrix.shape}, expected (len(vocabulary), glove.dim) = ({n}, {dim})")
    if matrix.dtype != np.float32:
        raise Mistake(
            f"your matrix has dtype {matrix.dtype}; Keras embeddings hold float32. Create it with "
            "np.zeros(..., dtype=np.float32) (NumPy's default is float64, twice the memory)"
        )
    if np.array_equal(matrix, expected):
        return "Row i holds the vector of vocabulary[i]; padding, OOV and the missing word stay zeros."
    found_rows = [i for i in range(n) if np.any(expected[i] != 0)]
    for shift in (1, -1):
        if all(0 <= r + shift < n and np.array_equal(matrix[r + shift], expected[r]) for r in found_rows):
            raise Mistake(
                "the vectors are there but shifted by one row: row i must hold the vector of vocabulary[i] "
                "(enumerate(vocabulary) gives the row number directly)"
            )
    if np.any(matrix[:2] != 0):
        raise Mistake("rows 0 ('' padding) and 1 ('[UNK]' OOV) should be zeros in this lesson's policy")
    missing_row = vocabulary.index("zyzzyva")
    if np.any(matrix[missing_row] != 0) and np.array_equal(np.delete(matrix, missing_row, 0), np.delete(expected, missing_row, 0)):
        raise Mistake(
            "'zyzzyva' has no GloVe vector, yet its row is not zeros. This exercise's policy: a missing word keeps "
            "a zero row (the library's missing='random' is the other policy)"
        )
    wrong = [vocabulary[i] for i in range(n) if not np.array_equal(matrix[i], expected[i])]
    raise Mistake(f"the rows of {wrong} do not hold the expected numbers (row i = glove[vocabulary[i]], or zeros)")


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


def _check_coverage(function: Any) -> str:
    glove = _tiny_glove()
    # 8 task words after the 2 reserved rows; 5 of them have vectors: coverage 0.625
    vocabulary = ["", "[UNK]", "the", "star", "zyzzyva", "love", "wars", "story", "thes", "qwxz"]
    words = vocabulary[2:]
    found = sum(w in glove for w in words)
    expected = found / len(words)
    value = _as_float(call_learner(function, vocabulary, glove), "your coverage")
    if np.isclose(value, expected, atol=1e-6):
        full = _as_float(call_learner(function, ["", "[UNK]", "love", "story"], glove), "your coverage")
        if not np.isclose(full, 1.0, atol=1e-6):
            raise Mistake(f"for a vocabulary whose words all have vectors your function returned {full:g}, not 1.0")
        return "Coverage counts task words only: the two reserved rows are neither found nor missing."
    if np.isclose(value, found, atol=1e-6):
        raise Mistake(f"{value:g} is the number of words found; return the fraction found / number of task words")
    if np.isclose(value, 100 * expected, atol=1e-4):
        raise Mistake(f"{value:g} looks like a percentage; return a fraction between 0 and 1")
    if np.isclose(value, found / len(vocabulary), atol=1e-6):
        raise Mistake(
            f"{value:g} divides by the whole vocabulary ({len(vocabulary)} rows); the reserved rows '' and '[UNK]' "
            f"are not task words: divide by {len(words)}"
        )
    if np.isclose(value, 1 - expected, atol=1e-6):
        raise Mistake(f"{value:g} is the fraction of words *missing* from GloVe; coverage is the fraction found")
    raise Mistake(f"your coverage is {value:g}; count the task words (after the two reserved rows) that are in glove")


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
    for rows, dim in ((7, 3), (12, 5)):
        matrix = rng.normal(size=(rows, dim)).astype(np.float32)
        layer = call_learner(function, matrix.copy())
        if isinstance(layer, keras.Model):
            raise Mistake("you returned a model; return the Embedding layer itself")
        if not isinstance(layer, keras.layers.Embedding):
            raise Mistake(f"expected a keras.layers.Embedding, got {type(layer).__name__}")
        if not layer.built:
            layer(np.array([[1, 2, 0]], dtype=np.int32))  # build it, as a model would
        if layer.input_dim != rows:
            raise Mistake(
                f"for a matrix of {rows} rows your layer has input_dim={layer.input_dim}: input_dim is the "
                "number of rows of the matrix (matrix.shape[0]), no +1: the padding row is already in it"
            )
        if layer.output_dim != dim:
            raise Mistake(f"output_dim={layer.output_dim}, but the matrix has {dim} columns (matrix.shape[1])")
        held = to_numpy(layer.embeddings, "the layer's embeddings")
        if not np.array_equal(held, matrix):
            raise Mistake(
                "the layer does not hold the matrix (its numbers differ): pass it with "
                "embeddings_initializer=keras.initializers.Constant(matrix) or weights=[matrix]"
            )
        if layer.trainable:
            raise Mistake("the layer is trainable, so fit() would change GloVe's numbers: pass trainable=False")
        if layer.embeddings.trainable:
            raise Mistake("the layer's embeddings variable is still trainable: pass trainable=False to the layer")
        if not layer.mask_zero:
            raise Mistake(
                "mask_zero is False: the layers after it would average the padding row 0 into every title. "
                "Pass mask_zero=True"
            )
    return "Same numbers as the matrix, not trainable, and padding masked."


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
