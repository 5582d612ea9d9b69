"""Unit tests of lesson 03: its exercises (course_lib.exercises.lesson03) and course_lib.pretrained.

Each exercise's catalogue is tested with :func:`exercise_helpers.check_catalogue`: every
catalogued mistake, made by a realistic wrong answer, is named by its own detector and message.
"""

from __future__ import annotations

from fractions import Fraction

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.checks import ____
from exercise_helpers import check_catalogue, message, rejected, solution_namespace, status
from course_lib.datasets import WordVectors, load_glove
from course_lib.exercises.lesson03 import q1, q2, q3, q4, q5
from course_lib.pretrained import (
    RESERVED_TOKENS,
    analogy,
    build_embedding_matrix,
    similar_words,
)
from course_lib.vectors import cosine_similarity, nearest_neighbours, project_2d


def stub(*args):
    return ...


@pytest.fixture(scope="module")
def glove():
    return load_glove()


def tiny_vectors():
    words = ["alpha", "beta", "gamma"]
    vectors = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]], dtype=np.float32)
    return WordVectors(words, vectors, {w: i for i, w in enumerate(words)})


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4, q5])
def test_blanks_are_not_attempted(exercise):
    assert status(exercise, ...) == "not attempted"
    assert status(exercise, ____) == "not attempted"
    assert status(exercise, stub) == "not attempted"


# --------------------------------------------------------------------------- q1


nearest = solution_namespace(q1, np=np)["nearest"]  # what q1.solution() prints


def test_q1_accepts_reference_and_other_forms():
    assert status(q1, nearest) == "correct"
    assert status(q1, lambda m, q, k: list(nearest(m, q, k))) == "correct"
    assert status(q1, lambda m, q, k: nearest_neighbours(m, q, k)[0]) == "correct"
    assert status(q1, lambda m, q, k: [int(i) for i in nearest(m, q, k)]) == "correct"

    def with_tensorflow(matrix, query, k):
        sims = tf.linalg.l2_normalize(matrix, axis=1) @ tf.linalg.l2_normalize(query[:, None], axis=0)
        return tf.math.top_k(sims[:, 0], k).indices  # an int32 tensor

    assert status(q1, with_tensorflow) == "correct"


def normalises_in_place(matrix, query, k):
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.argsort(-(matrix @ query))[:k]


def columns_normalised(matrix, query, k):
    unit = matrix / np.linalg.norm(matrix, axis=0, keepdims=True)
    return np.argsort(-(unit @ query))[:k]


def column_of_rows(matrix, query, k):  # the walkthrough's answer: the query as a column gives (k, 1) rows
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    similarities = unit @ (query / np.linalg.norm(query))[:, None]
    return np.argsort(-similarities, axis=0)[:k]


def rows_and_similarities(matrix, query, k):
    rows = nearest(matrix, query, k)
    return rows, nearest_neighbours(matrix, query, k)[1]


def row_similarity_pairs(matrix, query, k):  # the walkthrough's answer: (row, similarity) pairs
    rows, similarities = nearest_neighbours(matrix, query, k)
    return [(int(row), float(similarity)) for row, similarity in zip(rows, similarities)]


def skips_the_best_row(matrix, query, k):  # the walkthrough's answer: [1:k + 1], as if the query were a row
    return nearest(matrix, query, k + 1)[1:]


def negated_cosine(matrix, query, k):  # the walkthrough's answer: Keras's cosine_similarity is minus the cosine
    similarities = keras.losses.cosine_similarity(matrix, query[None, :])
    return np.argsort(-np.asarray(similarities))[:k]


def test_q1_catalogue():
    messages = check_catalogue(q1, {
        "column-of-rows": [column_of_rows, lambda m, q, k: nearest(m, q, k)[None, :]],
        "rows-and-similarities": [rows_and_similarities],
        "not-rows": [lambda m, q, k: "row 2", lambda m, q, k: 3],
        "similarities": [lambda m, q, k: nearest_neighbours(m, q, k)[1]],
        "float-rows": [lambda m, q, k: nearest(m, q, k).astype(float)],
        "not-integers": [lambda m, q, k: np.array(["a"] * k), lambda m, q, k: nearest(m, q, k) + 1.5],
        "fixed-length": [lambda m, q, k: nearest(m, q, 3)],
        "k-plus-one": [lambda m, q, k: nearest(m, q, k + 1)],
        "wrong-length": [lambda m, q, k: nearest(m, q, k)[: max(k - 1, 1)]],
        "dot-product": [lambda m, q, k: np.argsort(-(m @ q))[:k]],
        "euclidean": [lambda m, q, k: np.argsort(np.linalg.norm(m - q, axis=1))[:k]],
        "least-similar": [lambda m, q, k: nearest_neighbours(m, q, len(m))[0][::-1][:k], negated_cosine],
        "skipped-best": [skips_the_best_row],
        "row-similarity-pairs": [row_similarity_pairs],
        "columns-normalised": [columns_normalised],
        "unordered": [lambda m, q, k: np.sort(nearest(m, q, k))],
        "first-rows-only": [lambda m, q, k: nearest(m[:50], q, k)],
        "changed-input": [normalises_in_place],
    })
    assert "whatever k is" in messages["fixed-length"]  # the issue: not "your list has k + 1 rows"


def test_q1_second_walkthrough_answers_name_their_mistake():
    """Walkthrough 17, re-run after the first fix pass: each answer gets its own detector's message."""
    skipped = rejected(q1, skips_the_best_row)  # was: "normalise each row (axis=1) and the query" (they had)
    assert skipped.mistake == "skipped-best" and skipped.detected == ("skipped-best",) and "[:k]" in skipped.message
    assert "normalise" not in skipped.message
    pairs = rejected(q1, row_similarity_pairs)  # was: "got [2, 1, 1, 0.995, 5, 0.9487]", the pairs flattened
    assert pairs.mistake == "row-similarity-pairs" and "[(2, 1), (1, 0.995), ...]" in pairs.message
    negated = rejected(q1, negated_cosine)  # was: "use np.argsort(-similarities)", which the learner had used
    assert negated.mistake == "least-similar" and "minus the cosine" in negated.message


def test_q1_rows_in_a_column_are_refused_as_the_next_cells_would():
    result = rejected(q1, column_of_rows)  # was accepted: the check flattened it, glove.words[row] does not
    assert result.mistake == "column-of-rows" and "(3, 1)" in result.message
    words = [str(i) for i in range(6)]
    with pytest.raises(TypeError):
        [words[row] for row in column_of_rows(np.eye(6), np.ones(6), 3)]


# --------------------------------------------------------------------------- q2


reference_analogy = solution_namespace(q2, np=np, nearest=nearest)["analogy_word"]  # the code q2.solution() prints


def test_q2_solution_defines_the_function_the_notebook_checks():
    assert "def analogy_word(glove, a, b, c)" in q2.solution_text
    import course_lib.exercises.lesson03 as lesson03

    assert "``analogy_word(glove, a, b, c)``" in lesson03.__doc__


def by_exclusion(glove, a, b, c):  # every row ranked, the input words skipped
    query = glove[b] - glove[a] + glove[c]
    return next(glove.words[i] for i in nearest(glove.vectors, query, len(glove)) if glove.words[i] not in (a, b, c))


def minus_infinity(glove, a, b, c):  # the input words' similarities set to -inf
    query = glove[b] - glove[a] + glove[c]
    sims = glove.vectors @ query / (np.linalg.norm(glove.vectors, axis=1) * np.linalg.norm(query))
    for word in (a, b, c):
        sims[glove.index[word]] = -np.inf
    return glove.words[int(np.argmax(sims))]


def test_q2_accepts_reference_and_other_forms():
    assert status(q2, reference_analogy) == "correct"
    assert status(q2, by_exclusion) == "correct"
    assert status(q2, minus_infinity) == "correct"
    assert status(q2, lambda g, a, b, c: analogy(g, a, b, c)[0][0]) == "correct"
    assert status(q2, lambda g, a, b, c: np.str_(reference_analogy(g, a, b, c))) == "correct"


def no_exclusion(glove, a, b, c):
    return glove.words[nearest(glove.vectors, glove[b] - glove[a] + glove[c], 1)[0]]


def excludes_only_b_and_c(glove, a, b, c):
    query = glove[b] - glove[a] + glove[c]
    return next(glove.words[i] for i in nearest(glove.vectors, query, 4) if glove.words[i] not in (b, c))


def top_three_only(glove, a, b, c):  # a search that stops early
    query = glove[b] - glove[a] + glove[c]
    for row in nearest(glove.vectors, query, 3):
        if glove.words[row] not in (a, b, c):
            return glove.words[row]


def zero_for_inputs(glove, a, b, c):  # "excluded" by a similarity of 0
    query = glove[b] - glove[a] + glove[c]
    sims = glove.vectors @ query / (np.linalg.norm(glove.vectors, axis=1) * np.linalg.norm(query))
    for word in (a, b, c):
        sims[glove.index[word]] = 0.0
    return glove.words[int(np.argmax(sims))]


def by_dot_product(glove, a, b, c):
    query = glove[b] - glove[a] + glove[c]
    return next(glove.words[i] for i in np.argsort(-(glove.vectors @ query)) if glove.words[i] not in (a, b, c))


_WITH_OWN_NEAREST = """
def analogy_word(glove, a, b, c):   # the hint's approach, on the learner's own nearest
    query = glove[b] - glove[a] + glove[c]
    for row in nearest(glove.vectors, query, 4):
        if glove.words[row] not in (a, b, c):
            return glove.words[row]
"""


def analogy_on(own_nearest):
    """analogy_word as the notebook defines it, calling the notebook's (the learner's) nearest."""
    namespace = {"np": np, "nearest": own_nearest}
    exec(_WITH_OWN_NEAREST, namespace)
    return namespace["analogy_word"]


def unit_inputs(glove, a, b, c):  # the walkthrough's answer: a, b and c scaled to length 1 first
    def unit(word):
        return glove[word] / np.linalg.norm(glove[word])

    for row in nearest(glove.vectors, unit(b) - unit(a) + unit(c), 6):
        if glove.words[row] not in (a, b, c):
            return glove.words[row]


def vectors_by_word(glove, a, b, c):
    query = glove.vectors[b] - glove.vectors[a] + glove.vectors[c]
    return glove.words[nearest(glove.vectors, query, 1)[0]]


def test_q2_catalogue():
    real_glove = load_glove()
    messages = check_catalogue(q2, {
        "vectors-by-word": [vectors_by_word],
        "row-number": [lambda g, a, b, c: g.index[reference_analogy(g, a, b, c)]],
        "nearest-rejected": [analogy_on(lambda m, q, k: np.argsort(-(m @ q))[:k]), analogy_on(column_of_rows),
                             analogy_on(lambda m, q, k: nearest(m, q, 3))],
        "other-table-lookup": [lambda g, a, b, c: reference_analogy(real_glove, a, b, c)],  # the notebook's table, not g
        "global-table": [lambda g, a, b, c: "queen" if len(g) < 100 else reference_analogy(g, a, b, c)],
        "returned-list": [lambda g, a, b, c: [w for w, _ in analogy(g, a, b, c, k=3)]],
        "not-a-string": [lambda g, a, b, c: 4.2, lambda g, a, b, c: g.vectors[g.index[reference_analogy(g, a, b, c)]]],
        "capitalised": [lambda g, a, b, c: reference_analogy(g, a, b, c).capitalize()],
        "kept-a": [excludes_only_b_and_c],
        "zero-instead-of-excluded": [zero_for_inputs],
        "input-word": [no_exclusion],
        "swapped-signs": [lambda g, a, b, c: reference_analogy(g, b, a, c)],
        "a-plus-b-minus-c": [lambda g, a, b, c: _a_plus_b_minus_c(g, a, b, c)],
        "dot-product": [by_dot_product],
        "unit-inputs": [unit_inputs],
        "wordvectors-attribute": [lambda g, a, b, c: g.get(a)],
        "search-stops-early": [top_three_only],
        "changed-input": [lambda g, a, b, c: reference_analogy(g, a, b, c) + ("" if g.vectors.__setitem__(0, 0) else "")],
    })
    assert "returned 'ant'" in messages["kept-a"] and "Leave out a as well" in messages["kept-a"]


def test_q2_blames_nearest_when_the_learners_nearest_is_wrong():
    by_dot = analogy_on(lambda m, q, k: np.argsort(-(m @ q))[:k])  # the walkthrough: nearest ranked by dot product
    result = rejected(q2, by_dot)
    assert result.mistake == "nearest-rejected" and "q1.check(nearest)" in result.message
    assert "you returned 'emperor'" not in result.message  # was: blamed analogy_word for nearest's ranking
    assert status(q2, analogy_on(nearest)) == "correct"  # the hint's approach, with a nearest that q1 accepts
    assert rejected(q2, analogy_on(lambda m, q, k: None)).mistake == "nearest-rejected"


def _a_plus_b_minus_c(glove, a, b, c):
    query = glove[a] + glove[b] - glove[c]
    return next(glove.words[i] for i in nearest(glove.vectors, query, len(glove)) if glove.words[i] not in (a, b, c))


def test_q2_keeps_the_checks_glove_intact():
    def normalises_glove_in_place(glove, a, b, c):  # would corrupt the check's cached GloVe
        glove.vectors /= np.linalg.norm(glove.vectors, axis=1, keepdims=True)
        return reference_analogy(glove, a, b, c)

    result = rejected(q2, normalises_glove_in_place)
    assert result.mistake == "changed-input" and "glove.copy()" not in result.message  # WordVectors has no .copy()
    assert "glove.vectors.copy()" in result.message
    assert status(q2, reference_analogy) == "correct"  # the check's data survived


def test_q2_an_unknown_word_is_explained():
    result = rejected(q2, lambda g, a, b, c: g["Queen"])
    assert "raised KeyError" in result.message and result.mistake == "raised"


# --------------------------------------------------------------------------- q3


fill_matrix = solution_namespace(q3, np=np)["fill_matrix"]  # the code q3.solution() prints


def test_q3_accepts_reference_and_other_forms():
    assert status(q3, fill_matrix) == "correct"
    assert status(q3, lambda v, g: build_embedding_matrix(v, g)[0]) == "correct"

    def with_index(vocabulary, glove):  # uses glove.index and glove.vectors directly
        matrix = np.zeros((len(vocabulary), glove.vectors.shape[1]), np.float32)
        for i, word in enumerate(vocabulary[2:], start=2):
            if word in glove.index:
                matrix[i] = glove.vectors[glove.index[word]]
        return matrix

    assert status(q3, with_index) == "correct"


def keyerror(vocabulary, glove):
    matrix = np.zeros((len(vocabulary), glove.dim), np.float32)
    for i, word in enumerate(vocabulary[2:], start=2):
        matrix[i] = glove[word]
    return matrix


def glove_row_by_task_row(vocabulary, glove):  # the IndexError: a task row used as a GloVe row
    matrix = np.zeros((len(vocabulary), glove.dim), np.float32)
    for i, word in enumerate(vocabulary):
        if i >= 2 and word in glove:
            matrix[i] = glove.vectors[i]
    return matrix


def fixed_dim(vocabulary, glove):  # the test table's dimension, not glove.dim
    matrix = np.zeros((len(vocabulary), 4), np.float32)
    for i, word in enumerate(vocabulary[2:], start=2):
        if word in glove:
            matrix[i] = glove[word]
    return matrix


def shifted(vocabulary, glove):
    matrix = np.zeros((len(vocabulary), glove.dim), np.float32)
    for i, word in enumerate(vocabulary[2:], start=1):  # off by one
        if word in glove:
            matrix[i] = glove[word]
    return matrix


def enumerate_from_zero(vocabulary, glove):  # the walkthrough's answer: enumerate(vocabulary[2:]) without start=2
    matrix = np.zeros((len(vocabulary), glove.dim), np.float32)
    for i, word in enumerate(vocabulary[2:]):
        if word in glove:
            matrix[i] = glove[word]
    return matrix


def test_q3_a_shift_by_two_is_named_with_its_cause():
    result = rejected(q3, enumerate_from_zero)
    assert result.mistake == "shifted" and "2 rows too high" in result.message and "start=2" in result.message


def reserved_not_skipped(vocabulary, glove):  # fills row 1 when GloVe has a vector for '[UNK]'
    matrix = np.zeros((len(vocabulary), glove.dim), np.float32)
    for i, word in enumerate(vocabulary):
        if word in glove:
            matrix[i] = glove[word]
    return matrix


def keeps_dtype_of_glove(vocabulary, glove):
    matrix = np.zeros((len(vocabulary), glove.dim), dtype=glove.vectors.dtype)
    for i, word in enumerate(vocabulary[2:], start=2):
        if word in glove:
            matrix[i] = glove[word]
    return matrix


def random_missing(vocabulary, glove):
    matrix = fill_matrix(vocabulary, glove)
    for i, word in enumerate(vocabulary):
        if i >= 2 and word not in glove:
            matrix[i] = 0.1
    return matrix


def pops_reserved(vocabulary, glove):
    vocabulary.pop(0)
    return fill_matrix(vocabulary, glove)


def truth_test_on_row_number(vocabulary, glove):  # the walkthrough's answer: GloVe's row 0 reads as False
    matrix = np.zeros((len(vocabulary), glove.dim), np.float32)
    for i, word in enumerate(vocabulary[2:], 2):
        row = glove.index.get(word)
        if row:
            matrix[i] = glove.vectors[row]
    return matrix


def dict_get(vocabulary, glove):  # the walkthrough's answer: a WordVectors is no dict
    matrix = np.zeros((len(vocabulary), glove.dim), np.float32)
    for i, word in enumerate(vocabulary[2:], 2):
        vector = glove.get(word)
        if vector is not None:
            matrix[i] = vector
    return matrix


def test_q3_second_walkthrough_answers_name_their_mistake():
    dropped = rejected(q3, truth_test_on_row_number)  # was: "the rows of ['the'] do not hold the expected numbers"
    assert dropped.mistake == "row-zero-word-dropped" and dropped.detected == ("row-zero-word-dropped",)
    assert "row 0" in dropped.message and "word in glove" in dropped.message
    no_get = rejected(q3, dict_get)  # was: "check what type that value is at that line"
    assert no_get.mistake == "wordvectors-attribute" and "`word in glove`" in no_get.message and "print(type" not in no_get.message


def test_q3_catalogue():
    messages = check_catalogue(q3, {
        "missing-word-keyerror": [keyerror],
        "task-row-as-glove-row": [glove_row_by_task_row],
        "fixed-dimension": [fixed_dim],
        "not-numpy": [lambda v, g: tf.constant(fill_matrix(v, g)), lambda v, g: fill_matrix(v, g).tolist()],
        "not-2d": [lambda v, g: fill_matrix(v, g).ravel()],
        "two-rows-too-many": [lambda v, g: np.vstack([np.zeros((2, g.dim), np.float32), fill_matrix(v, g)])],
        "one-row-off": [lambda v, g: fill_matrix(v, g)[1:], lambda v, g: np.vstack([np.zeros((1, g.dim), np.float32), fill_matrix(v, g)])],
        "reserved-rows-missing": [lambda v, g: fill_matrix(v, g)[2:]],
        "transposed": [lambda v, g: fill_matrix(v, g).T],
        "float64": [lambda v, g: fill_matrix(v, g).astype(np.float64), keeps_dtype_of_glove],
        "shifted": [shifted, enumerate_from_zero],
        "reserved-not-zero": [reserved_not_skipped, lambda v, g: np.vstack([np.ones((2, g.dim), np.float32), fill_matrix(v, g)[2:]])],
        "missing-word-not-zero": [random_missing],
        "row-zero-word-dropped": [truth_test_on_row_number],
        "wordvectors-attribute": [dict_get],
        "changed-input": [pops_reserved],
    })
    assert "glove[word]" in messages["task-row-as-glove-row"]  # was a bare IndexError
    assert "float32" in messages["float64"] and "Keras" in messages["float64"]


# --------------------------------------------------------------------------- q4


coverage = solution_namespace(q4)["coverage"]


def test_q4_accepts_reference_and_other_forms():
    assert status(q4, coverage) == "correct"
    assert status(q4, lambda v, g: np.float32(coverage(v, g))) == "correct"
    assert status(q4, lambda v, g: tf.constant(coverage(v, g))) == "correct"
    assert status(q4, lambda v, g: build_embedding_matrix(v, g)[1][2:].mean()) == "correct"
    assert status(q4, lambda v, g: Fraction(sum(w in g for w in v[2:]), len(v) - 2)) == "correct"


def test_q4_catalogue():
    check_catalogue(q4, {
        "boolean": [lambda v, g: coverage(v, g) > 0.5],
        "string": [lambda v, g: "62%", lambda v, g: f"{coverage(v, g):.1%}"],
        "pandas-object": [lambda v, g: __import__("pandas").Series([coverage(v, g)])],
        "one-element-array": [lambda v, g: np.array([coverage(v, g)])],
        "several-numbers": [lambda v, g: np.array([0.625, 0.375])],
        "not-finite": [lambda v, g: float("nan")],
        "not-a-number": [lambda v, g: {"coverage": coverage(v, g)}],
        "integer-division": [lambda v, g: sum(w in g for w in v[2:]) // len(v[2:])],
        "count-not-fraction": [lambda v, g: sum(w in g for w in v[2:])],
        "percentage": [lambda v, g: 100 * coverage(v, g)],
        "whole-vocabulary": [lambda v, g: sum(w in g for w in v) / len(v)],
        "one-reserved-row": [lambda v, g: sum(w in g for w in v[2:]) / (len(v) - 1)],
        "counted-reserved": [lambda v, g: sum(w in g for w in v) / (len(v) - 2)],
        "missing-fraction": [lambda v, g: 1 - coverage(v, g)],
        "missing-brackets": [lambda v, g: sum(w in g for w in v[2:]) / len(v) - 2],
        "rounded": [lambda v, g: round(coverage(v, g), 2)],
        "wordvectors-attribute": [lambda v, g: sum(g.get(w) is not None for w in v[2:]) / len(v[2:])],
        "changed-input": [lambda v, g: coverage(v, g) + 0 * len([v.remove("")])],
    })


def test_q4_other_mistakes_say_where_to_look():
    result = rejected(q4, lambda v, g: max(coverage(v, g), 0.5))
    assert result.mistake is None and "count the task words" in result.message
    assert "raised ZeroDivisionError" in message(q4, lambda v, g: 5 / 8 if len(v) == 10 else 1 / 0)


# --------------------------------------------------------------------------- q5


frozen_embedding = solution_namespace(q5, keras=keras)["frozen_embedding"]


def test_q5_accepts_every_way_of_loading():
    assert status(q5, frozen_embedding) == "correct"
    # seed 001's way, through tf.keras
    assert status(q5, lambda m: tf.keras.layers.Embedding(*m.shape, weights=[m], trainable=False, mask_zero=True)) == "correct"

    def with_set_weights(matrix):
        layer = keras.layers.Embedding(matrix.shape[0], matrix.shape[1], mask_zero=True)
        layer.build()
        layer.set_weights([matrix])
        layer.trainable = False
        return layer

    assert status(q5, with_set_weights) == "correct"
    assert status(q5, lambda m: frozen_embedding(np.array(m, dtype=np.float32))) == "correct"


class CrashingEmbedding(keras.layers.Embedding):
    def call(self, inputs):
        raise ValueError("broken on purpose")


def set_weights_before_build(matrix):
    layer = keras.layers.Embedding(*matrix.shape, trainable=False, mask_zero=True)
    layer.set_weights([matrix])
    return layer


def assign_before_build(matrix):  # the walkthrough's answer: the variable does not exist yet
    layer = keras.layers.Embedding(*matrix.shape, trainable=False, mask_zero=True)
    layer.embeddings.assign(matrix)
    return layer


def keras_2_embedding(matrix):  # the walkthrough's answer: tf_keras, the Keras 2 package
    import tf_keras

    return tf_keras.layers.Embedding(*matrix.shape, embeddings_initializer=tf_keras.initializers.Constant(matrix),
                                     trainable=False, mask_zero=True)


def numpy_sizes(matrix):  # the walkthrough's answer: np.array(matrix.shape) holds NumPy int64s
    rows, dim = np.array(matrix.shape)
    return keras.layers.Embedding(rows, dim, embeddings_initializer=keras.initializers.Constant(matrix),
                                  trainable=False, mask_zero=True)


def trainable_as_text(matrix):
    return keras.layers.Embedding(*matrix.shape, embeddings_initializer=keras.initializers.Constant(matrix),
                                  trainable="False", mask_zero=True)


def test_q5_second_walkthrough_answers_name_their_mistake():
    for answer, key, words in [(assign_before_build, "embeddings-before-build", "Constant(matrix)"),
                               (keras_2_embedding, "keras-2-layer", "keras.layers.Embedding"),
                               (numpy_sizes, "numpy-integer-size", "int(...)"),
                               (trainable_as_text, "trainable-text", "without quotes")]:
        result = rejected(q5, answer)  # was: Keras's own text, then "run that call yourself" (tf_keras: "a str has no .base_dtype")
        assert result.mistake == key and result.detected == (key,) and words in result.message, result
        assert "run that call yourself" not in result.message and "base_dtype" not in result.message


def test_q5_catalogue():
    check_catalogue(q5, {
        "returned-model": [lambda m: keras.Sequential([keras.Input((3,), dtype="int32"), frozen_embedding(m)])],
        "not-embedding": [lambda m: keras.layers.Dense(3, trainable=False), lambda m: m, lambda m: keras.layers.Embedding,
                          lambda m: frozen_embedding(m)(np.array([[1]]))],
        "input-dim-plus-one": [lambda m: keras.layers.Embedding(m.shape[0] + 1, m.shape[1], trainable=False, mask_zero=True)],
        "input-dim-fixed": [lambda m: keras.layers.Embedding(7, 3, embeddings_initializer=keras.initializers.Constant(m),
                                                             trainable=False, mask_zero=True) if m.shape[0] != 7 else frozen_embedding(m)],
        "output-dim": [lambda m: keras.layers.Embedding(m.shape[0], 8, trainable=False, mask_zero=True)],
        "numbers-differ": [lambda m: keras.layers.Embedding(*m.shape, trainable=False, mask_zero=True),
                           lambda m: frozen_embedding(np.round(m, 1))],
        "trainable": [lambda m: keras.layers.Embedding(*m.shape, weights=[m], mask_zero=True)],
        "shape-as-one-argument": [lambda m: keras.layers.Embedding(m.shape, trainable=False, mask_zero=True),
                                  lambda m: keras.layers.Embedding(input_dim=m.shape, output_dim=m.shape[1])],
        "set-weights-before-build": [set_weights_before_build],
        "embeddings-before-build": [assign_before_build],
        "trainable-text": [trainable_as_text],
        "numpy-integer-size": [numpy_sizes],
        "keras-2-layer": [keras_2_embedding],
        "initializer-not-object": [lambda m: keras.layers.Embedding(*m.shape, embeddings_initializer="matrix",
                                                                    trainable=False, mask_zero=True)],
        "no-mask-zero": [lambda m: keras.layers.Embedding(*m.shape, weights=[m], trainable=False)],
        "raised": [lambda m: CrashingEmbedding(*m.shape, weights=[m], trainable=False, mask_zero=True)],
    })


# --------------------------------------------------------------------------- course_lib.pretrained


def test_build_embedding_matrix_policy():
    vectors = tiny_vectors()
    vocabulary = [*RESERVED_TOKENS, "gamma", "delta", "alpha"]
    matrix, found = build_embedding_matrix(vocabulary, vectors)
    assert matrix.dtype == np.float32 and matrix.shape == (5, 2)
    np.testing.assert_array_equal(matrix, [[0, 0], [0, 0], [3, 3], [0, 0], [1, 0]])
    np.testing.assert_array_equal(found, [False, False, True, False, True])
    random_matrix, found_again = build_embedding_matrix(vocabulary, vectors, missing="random", seed=1)
    np.testing.assert_array_equal(found_again, found)
    assert np.all(random_matrix[3] != 0) and np.all(random_matrix[:2] == 0)
    np.testing.assert_array_equal(random_matrix[found], matrix[found])
    again, _ = build_embedding_matrix(vocabulary, vectors, missing="random", seed=1)
    np.testing.assert_array_equal(again, random_matrix)  # seeded
    # a reserved row is never looked up, even if the word exists
    matrix0, found0 = build_embedding_matrix(["alpha", "beta"], vectors, reserved=1)
    np.testing.assert_array_equal(matrix0, [[0, 0], [0, 2]])
    assert found0.tolist() == [False, True]


def test_build_embedding_matrix_errors():
    vectors = tiny_vectors()
    with pytest.raises(ValueError, match="duplicate"):
        build_embedding_matrix(["", "[UNK]", "alpha", "alpha"], vectors)
    with pytest.raises(ValueError, match="empty"):
        build_embedding_matrix([], vectors)
    with pytest.raises(TypeError, match="must be str"):
        build_embedding_matrix(["", "[UNK]", 7], vectors)
    with pytest.raises(TypeError, match="load_glove"):
        build_embedding_matrix(["", "[UNK]", "alpha"], {"alpha": [1, 0]})
    with pytest.raises(ValueError, match="missing="):
        build_embedding_matrix(["", "[UNK]", "alpha"], vectors, missing="mean")
    with pytest.raises(ValueError, match="reserved"):
        build_embedding_matrix(["", "[UNK]"], vectors, reserved=3)


def test_cosine_similarity_and_neighbours():
    matrix = np.array([[1, 0], [0, 1], [0, 0], [-2, 0], [1, 1]], dtype=np.float32)
    sims = cosine_similarity(matrix, np.array([2.0, 0.0]))
    np.testing.assert_allclose(sims, [1, 0, 0, -1, np.sqrt(0.5)], atol=1e-6)  # zero row: 0, not NaN
    rows, values = nearest_neighbours(matrix, [2.0, 0.0], 2)
    assert rows.tolist() == [0, 4] and rows.dtype == np.int64
    np.testing.assert_allclose(values, [1, np.sqrt(0.5)], atol=1e-6)
    rows, _ = nearest_neighbours(matrix, [2.0, 0.0], 2, exclude=[0])
    assert rows.tolist() == [4, 1]  # tie between rows 1 and 2 (both 0) broken by the lower row
    rows, _ = nearest_neighbours(matrix, [1.0, 0.0], 3, exclude=[0, 1])  # every row left (asking for more is lib's to refuse)
    assert len(rows) == 3 and not {0, 1} & set(rows.tolist())
    with pytest.raises(ValueError, match="all zeros"):
        cosine_similarity(matrix, [0.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        cosine_similarity(matrix, [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="2-D"):
        cosine_similarity(matrix[0], [1.0, 0.0])
    with pytest.raises(ValueError, match="at least one"):
        nearest_neighbours(matrix, [1.0, 0.0], 0)


def test_similar_words_and_analogy(glove):
    top = similar_words(glove, "star", 3)
    assert [w for w, _ in top][0] == "stars" and "star" not in [w for w, _ in top]
    assert all(a >= b for (_, a), (_, b) in zip(top, top[1:]))
    assert analogy(glove, "man", "king", "woman")[0][0] == "queen"
    assert analogy(glove, "france", "paris", "italy")[0][0] == "rome"
    with pytest.raises(KeyError, match="lower case"):
        similar_words(glove, "Star")
    with pytest.raises(KeyError, match="qwxzv"):
        analogy(glove, "man", "qwxzv", "woman")
    with pytest.raises(TypeError):
        similar_words(glove, 3)


def test_project_2d():
    rng = np.random.default_rng(0)
    # points spread mostly along one direction: the first axis must carry most variance
    points = np.outer(rng.normal(size=40), [3.0, 1.0, 0.0]) + 0.1 * rng.normal(size=(40, 3))
    coords = project_2d(points)
    assert coords.shape == (40, 2) and coords.dtype == np.float32
    np.testing.assert_allclose(coords.mean(axis=0), 0, atol=1e-5)
    assert coords[:, 0].var() > 50 * coords[:, 1].var()
    np.testing.assert_array_equal(project_2d(points), coords)  # deterministic signs
    np.testing.assert_allclose(project_2d(-points), coords, atol=1e-5)  # sign convention fixed
    with pytest.raises(ValueError, match="shape"):
        project_2d(np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        project_2d(np.array([[1.0, np.nan], [0.0, 1.0]]))
