"""Pretrained vectors in a task: embedding matrices, similar words and analogies (lesson 03).

Lesson 03 builds each of these by hand first; the notebooks then call these versions so
later cells never depend on a learner's exercise answer. The generic vector helpers
(cosine similarity, nearest neighbours, the 2-D map) live in :mod:`course_lib.vectors`, their
one home; ``similar_words`` and ``analogy`` use them on GloVe's word vectors. Pure NumPy: importing this module
does not import TensorFlow.

Conventions (the same as Keras' ``StringLookup(mask_token="")``): a *vocabulary* is the
list of row labels of an embedding matrix, ``vocabulary[i]`` names row ``i``; the first
rows are reserved tokens, by default ``""`` (row 0, padding) and ``"[UNK]"`` (row 1,
out-of-vocabulary), then one row per task word.

Sources: J. Pennington, R. Socher, C. D. Manning, "GloVe: Global Vectors for Word
Representation", EMNLP 2014 (https://nlp.stanford.edu/projects/glove/); T. Mikolov, W. Yih,
G. Zweig, "Linguistic Regularities in Continuous Space Word Representations", NAACL 2013
(the ``b - a + c`` analogy test).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from course_lib.text import glove_form
from course_lib.validation import check_choice, check_seed, check_size
from course_lib.vectors import nearest_neighbours

#: Row labels Keras' ``StringLookup(mask_token="")`` puts first: padding, then OOV.
RESERVED_TOKENS = ("", "[UNK]")


def _check_word_vectors(vectors: Any) -> None:
    if not (hasattr(vectors, "vectors") and hasattr(vectors, "index")):
        raise TypeError(
            f"expected word vectors as returned by course_lib.datasets.load_glove(), got {type(vectors).__name__}"
        )


def build_embedding_matrix(
    vocabulary: Sequence[str],
    vectors: Any,
    *,
    reserved: int = 2,
    missing: str = "zeros",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill an embedding matrix for a task vocabulary from pretrained word vectors.

    Policy, row by row: the first ``reserved`` rows (padding, OOV) are zeros; a word found
    in ``vectors`` gets its pretrained vector, where "found" follows
    :func:`course_lib.text.glove_form` (the word as written, else its accent-folded form:
    ``"café"`` uses GloVe's ``"café"`` if present, else ``"cafe"``); a word not found gets zeros
    (``missing="zeros"``) or a random normal vector with the same per-dimension standard
    deviation as the pretrained vectors (``missing="random"``, seeded by ``seed``), which
    fine-tuning can then move.

    Args:
        vocabulary: row labels, e.g. ``["", "[UNK]", "the", "star", ...]`` (strings, no duplicates).
        vectors: a :class:`course_lib.datasets.WordVectors` (``load_glove()``), shape (words, dim).
        reserved: how many leading rows are reserved tokens (never looked up in ``vectors``).
        missing: ``"zeros"`` or ``"random"``: what a task word without a vector gets.
        seed: seed of the random rows (only used with ``missing="random"``).

    Returns:
        ``(matrix, found)``: ``matrix`` float32 of shape (len(vocabulary), dim);
        ``found`` bool of shape (len(vocabulary),), True where the row holds a pretrained
        vector (always False for reserved rows). Coverage = ``found[reserved:].mean()``.

    Raises:
        TypeError: ``vocabulary`` is a single string or holds a non-string, ``vectors`` is not
            word vectors, ``reserved`` or ``seed`` is not an int.
        ValueError: ``vocabulary`` is empty or has duplicates, ``reserved`` is out of range,
            ``seed`` is negative, or ``missing`` is not one of the two policies.
    """
    _check_word_vectors(vectors)
    if isinstance(vocabulary, (str, bytes)):
        raise TypeError(f"vocabulary={vocabulary[:40]!r}: expected a list of words, got one {type(vocabulary).__name__}; "
                        f"pass e.g. lookup.get_vocabulary()")  # fmt: skip
    vocabulary = list(vocabulary)
    if not vocabulary:
        raise ValueError("vocabulary=[]: the vocabulary is empty; pass the list of row labels, e.g. lookup.get_vocabulary()")
    for word in vocabulary:
        if not isinstance(word, str):
            raise TypeError(f"vocabulary entries must be str, got {word!r} ({type(word).__name__}); "
                            f"convert them with str() or build the vocabulary from words")  # fmt: skip
    counts = Counter(vocabulary)
    if len(counts) != len(vocabulary):
        duplicates = sorted(w for w, n in counts.items() if n > 1)[:5]
        raise ValueError(f"the vocabulary has duplicate words (e.g. {duplicates}); each row needs one word")
    reserved = check_size(reserved, "reserved", minimum=0, maximum=len(vocabulary),
                          hint="reserved rows are the leading padding/OOV rows of the vocabulary")  # fmt: skip
    missing = check_choice(missing, "missing", ("zeros", "random"))
    seed = check_seed(seed)
    table = np.asarray(vectors.vectors, dtype=np.float32)
    matrix = np.zeros((len(vocabulary), table.shape[1]), dtype=np.float32)
    found = np.zeros(len(vocabulary), dtype=bool)
    for row, word in enumerate(vocabulary[reserved:], start=reserved):
        key = glove_form(word, vectors.index)
        if key is not None:
            position = vectors.index[key]
            matrix[row] = table[position]
            found[row] = True
    if missing == "random":
        unfilled = ~found
        unfilled[:reserved] = False
        scale = table.std(axis=0)
        rng = np.random.default_rng(seed)
        matrix[unfilled] = rng.normal(0.0, 1.0, (int(unfilled.sum()), table.shape[1])) * scale
    return matrix, found


def similar_words(vectors: Any, word: str, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` words nearest to ``word`` by cosine similarity, the word itself left out.

    Args:
        vectors: :class:`course_lib.datasets.WordVectors`.
        word: a word of its vocabulary (GloVe 6B is lower case).
        k: how many neighbours, 1 <= k <= len(vectors) - 1.

    Returns:
        list of ``k`` ``(word, cosine similarity)``, most similar first.

    Raises:
        KeyError: ``word`` is not in the vocabulary (the message says so).
        TypeError: ``vectors`` is not word vectors, ``word`` is not a str, ``k`` is not an int.
        ValueError: ``k`` out of range (see :func:`nearest_neighbours`).
    """
    _check_word_vectors(vectors)
    if not isinstance(word, str):
        raise TypeError(f"word={word!r}: expected a str, got {type(word).__name__}")
    if word not in vectors.index:
        raise KeyError(f"{word!r} is not in this vocabulary ({len(vectors.index):,} words); try lower case")
    row = vectors.index[word]
    rows, sims = nearest_neighbours(vectors.vectors, vectors.vectors[row], k, exclude=[row])
    return [(vectors.words[r], float(s)) for r, s in zip(rows, sims)]


def analogy(vectors: Any, a: str, b: str, c: str, k: int = 1) -> list[tuple[str, float]]:
    """Solve "``a`` is to ``b`` as ``c`` is to ?" with the vector ``b - a + c`` (Mikolov et al., 2013).

    The three input words are excluded from the answers (the nearest vector to
    ``b - a + c`` is very often ``b`` or ``c`` itself).

    Returns:
        list of ``k`` ``(word, cosine similarity)``, best first.

    Raises:
        KeyError: one of the words is not in the vocabulary.
        TypeError: ``vectors`` is not word vectors, a word is not a str, ``k`` is not an int.
        ValueError: ``k`` out of range (see :func:`nearest_neighbours`).
    """
    _check_word_vectors(vectors)
    for name, word in (("a", a), ("b", b), ("c", c)):
        if not isinstance(word, str):
            raise TypeError(f"{name}={word!r}: expected a str, got {type(word).__name__}")
        if word not in vectors.index:
            raise KeyError(f"{word!r} is not in this vocabulary ({len(vectors.index):,} words)")
    query = vectors.vectors[vectors.index[b]] - vectors.vectors[vectors.index[a]] + vectors.vectors[vectors.index[c]]
    rows, sims = nearest_neighbours(vectors.vectors, query, k, exclude=[vectors.index[w] for w in (a, b, c)])
    return [(vectors.words[r], float(s)) for r, s in zip(rows, sims)]
