"""Unit tests of lesson 03: its exercises (course_lib.exercises.lesson03) and course_lib.pretrained."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from course_lib.checks import ____
from exercise_helpers import message, solution_namespace, status
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


# --------------------------------------------------------------------------- q1


def nearest(matrix, query, k):
    unit_rows = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    similarities = unit_rows @ (query / np.linalg.norm(query))
    return np.argsort(-similarities)[:k]


def test_q1_accepts_reference_and_other_forms():
    import tensorflow as tf

    assert status(q1, nearest) == "correct"
    assert status(q1, lambda m, q, k: list(nearest(m, q, k))) == "correct"
    assert status(q1, lambda m, q, k: nearest_neighbours(m, q, k)[0]) == "correct"

    def with_tensorflow(matrix, query, k):
        sims = tf.linalg.l2_normalize(matrix, axis=1) @ tf.linalg.l2_normalize(query[:, None], axis=0)
        return tf.math.top_k(sims[:, 0], k).indices  # an int32 tensor

    assert status(q1, with_tensorflow) == "correct"


def test_q1_rejects_typical_mistakes():
    assert "dot product" in message(q1, lambda m, q, k: np.argsort(-(m @ q))[:k])
    assert "least" in message(q1, lambda m, q, k: nearest_neighbours(m, q, len(m))[0][::-1][:k])
    assert "Euclidean" in message(q1, lambda m, q, k: np.argsort(np.linalg.norm(m - q, axis=1))[:k])
    assert "similarities" in message(q1, lambda m, q, k: nearest_neighbours(m, q, k)[1])
    assert "k=3" in message(q1, lambda m, q, k: nearest(m, q, k + 1))

    def wrong_axis(matrix, query, k):  # normalises the columns instead of the rows
        unit = matrix / np.linalg.norm(matrix, axis=0, keepdims=True)
        return np.argsort(-(unit @ query))[:k]

    assert status(q1, wrong_axis) == "incorrect"


def test_q1_rejects_mistakes_that_only_show_on_other_inputs():
    def normalises_in_place(matrix, query, k):
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        return np.argsort(-(matrix @ query))[:k]

    assert "changed its input `matrix` in place" in message(q1, normalises_in_place)

    def first_rows_only(matrix, query, k):
        return nearest(matrix[:50], query, k)

    assert "only searched the first rows" in message(q1, first_rows_only)

    def fixed_k(matrix, query, k):
        return nearest(matrix, query, 3)

    assert "k=2" in message(q1, fixed_k)

    def unordered(matrix, query, k):
        return np.sort(nearest(matrix, query, k))

    assert "most similar first" in message(q1, unordered)

    def returns_words(matrix, query, k):
        return "row 2"

    assert "got a str" in message(q1, returns_words)


def test_q1_blank_is_not_attempted():
    assert status(q1, ...) == "not attempted"
    assert status(q1, stub) == "not attempted"


# --------------------------------------------------------------------------- q2


reference_analogy = solution_namespace(q2, np=np, nearest=nearest)["analogy_word"]  # the code q2.solution() prints


def test_q2_solution_defines_the_function_the_notebook_checks():
    assert "def analogy_word(glove, a, b, c)" in q2.solution_text
    import course_lib.exercises.lesson03 as lesson03

    assert "``analogy_word(glove, a, b, c)``" in lesson03.__doc__


def test_q2_accepts_reference_and_other_forms():
    assert status(q2, reference_analogy) == "correct"
    assert status(q2, lambda g, a, b, c: analogy(g, a, b, c)[0][0]) == "correct"
    assert status(q2, lambda g, a, b, c: np.str_(reference_analogy(g, a, b, c))) == "correct"


def test_q2_rejects_typical_mistakes():
    def no_exclusion(glove, a, b, c):
        return glove.words[nearest(glove.vectors, glove[b] - glove[a] + glove[c], 1)[0]]

    assert "exclude the three input words" in message(q2, no_exclusion)

    def swapped(glove, a, b, c):
        return reference_analogy(glove, b, a, c)  # a - b + c

    assert "signs are swapped" in message(q2, swapped)
    assert "just the best word" in message(q2, lambda g, a, b, c: [w for w, _ in analogy(g, a, b, c, k=3)])

    def by_dot_product(glove, a, b, c):
        query = glove[b] - glove[a] + glove[c]
        return next(glove.words[i] for i in np.argsort(-(glove.vectors @ query)) if glove.words[i] not in (a, b, c))

    assert "raw dot product" in message(q2, by_dot_product)


def test_q2_rejects_keeping_a():
    def excludes_only_b_and_c(glove, a, b, c):
        query = glove[b] - glove[a] + glove[c]
        return next(glove.words[i] for i in nearest(glove.vectors, query, 4) if glove.words[i] not in (b, c))

    assert status(q2, lambda g, a, b, c: analogy(g, a, b, c)[0][0]) == "correct"  # GloVe never catches this one ...
    text = message(q2, excludes_only_b_and_c)  # ... the made-up table does
    assert "returned 'ant'" in text and "Leave out a as well" in text


def test_q2_rejects_mistakes_that_corrupt_or_ignore_the_table():
    def normalises_glove_in_place(glove, a, b, c):  # would corrupt the check's cached GloVe
        glove.vectors /= np.linalg.norm(glove.vectors, axis=1, keepdims=True)
        return reference_analogy(glove, a, b, c)

    assert "changed its input `glove` in place" in message(q2, normalises_glove_in_place)
    assert status(q2, reference_analogy) == "correct"  # the check's data survived

    real_glove = load_glove()

    def uses_a_global_table(glove, a, b, c):
        return reference_analogy(real_glove, a, b, c)

    assert "KeyError" in message(q2, uses_a_global_table)  # the global table lacks the made-up words

    def sums_all_three(glove, a, b, c):
        return reference_analogy(glove, "the", b, c) if a != "the" else "x"

    assert status(q2, sums_all_three) == "incorrect"
    assert "a str" in message(q2, lambda g, a, b, c: 42)
    assert "raised KeyError" in message(q2, lambda g, a, b, c: g["Queen"])


def test_q2_blank_is_not_attempted():
    assert status(q2, ...) == "not attempted"
    assert status(q2, stub) == "not attempted"


# --------------------------------------------------------------------------- q3


fill_matrix = solution_namespace(q3, np=np)["fill_matrix"]  # the code q3.solution() prints


def test_q3_accepts_reference_and_other_forms():
    import tensorflow as tf

    assert status(q3, fill_matrix) == "correct"
    assert "NumPy array" in message(q3, lambda v, g: tf.constant(fill_matrix(v, g)))  # the prompt asks for NumPy
    assert status(q3, lambda v, g: build_embedding_matrix(v, g)[0]) == "correct"

    def with_index(vocabulary, glove):  # uses glove.index and glove.vectors directly
        matrix = np.zeros((len(vocabulary), glove.vectors.shape[1]), np.float32)
        for i, word in enumerate(vocabulary[2:], start=2):
            if word in glove.index:
                matrix[i] = glove.vectors[glove.index[word]]
        return matrix

    assert status(q3, with_index) == "correct"


def test_q3_rejects_typical_mistakes():
    def keyerror(vocabulary, glove):
        matrix = np.zeros((len(vocabulary), glove.dim), np.float32)
        for i, word in enumerate(vocabulary[2:], start=2):
            matrix[i] = glove[word]
        return matrix

    assert "KeyError" in message(q3, keyerror)

    def extra_rows(vocabulary, glove):  # adds padding and OOV rows a second time
        return np.vstack([np.zeros((2, glove.dim), np.float32), fill_matrix(vocabulary, glove)])

    assert "two rows too many" in message(q3, extra_rows)
    assert "float32" in message(q3, lambda v, g: fill_matrix(v, g).astype(np.float64))

    def shifted(vocabulary, glove):
        matrix = np.zeros((len(vocabulary), glove.dim), np.float32)
        for i, word in enumerate(vocabulary[2:], start=1):  # off by one
            if word in glove:
                matrix[i] = glove[word]
        return matrix

    assert "shifted" in message(q3, shifted)

    def random_missing(vocabulary, glove):
        matrix = fill_matrix(vocabulary, glove)
        matrix[3] = 0.1
        return matrix

    assert "zyzzyva" in message(q3, random_missing)

    def no_reserved(vocabulary, glove):
        return fill_matrix(vocabulary, glove)[2:]

    assert "padding and OOV rows are missing" in message(q3, no_reserved)
    assert "transposed" in message(q3, lambda v, g: fill_matrix(v, g).T)

    def ones_padding(vocabulary, glove):
        matrix = fill_matrix(vocabulary, glove)
        matrix[0] = 1.0
        return matrix

    assert "rows 0" in message(q3, ones_padding)


def test_q3_rejects_mistakes_that_only_show_on_other_inputs():
    def reserved_not_skipped(vocabulary, glove):  # fills row 1 when GloVe has a vector for '[UNK]'
        matrix = np.zeros((len(vocabulary), glove.dim), np.float32)
        for i, word in enumerate(vocabulary):
            if word in glove:
                matrix[i] = glove[word]
        return matrix

    assert "even when GloVe has a vector" in message(q3, reserved_not_skipped)

    def fixed_dim(vocabulary, glove):  # the test table's dimension, not glove.dim
        matrix = np.zeros((len(vocabulary), 4), np.float32)
        for i, word in enumerate(vocabulary[2:], start=2):
            if word in glove:
                matrix[i] = glove[word]
        return matrix

    assert "raised ValueError" in message(q3, fixed_dim)

    def keeps_dtype_of_glove(vocabulary, glove):
        matrix = np.zeros((len(vocabulary), glove.dim), dtype=glove.vectors.dtype)
        for i, word in enumerate(vocabulary[2:], start=2):
            if word in glove:
                matrix[i] = glove[word]
        return matrix

    assert "float32" in message(q3, keeps_dtype_of_glove)

    def pops_reserved(vocabulary, glove):
        vocabulary.pop(0)
        return fill_matrix(vocabulary, glove)

    assert "changed its input `vocabulary`" in message(q3, pops_reserved)


def test_q3_blank_is_not_attempted():
    assert status(q3, ...) == "not attempted"
    assert status(q3, ____) == "not attempted"
    assert status(q3, stub) == "not attempted"


# --------------------------------------------------------------------------- q4


def coverage(vocabulary, glove):
    words = vocabulary[2:]
    return sum(word in glove for word in words) / len(words)


def test_q4_accepts_reference_and_other_forms():
    import tensorflow as tf

    assert status(q4, coverage) == "correct"
    assert status(q4, lambda v, g: np.float32(coverage(v, g))) == "correct"
    assert status(q4, lambda v, g: tf.constant(coverage(v, g))) == "correct"
    assert status(q4, lambda v, g: build_embedding_matrix(v, g)[1][2:].mean()) == "correct"
    assert status(q4, lambda v, g: Fraction(sum(w in g for w in v[2:]), len(v) - 2)) == "correct"


def test_q4_rejects_typical_mistakes():
    assert "divides by the whole vocabulary" in message(q4, lambda v, g: sum(w in g for w in v) / len(v))
    assert "number of words found" in message(q4, lambda v, g: sum(w in g for w in v[2:]))
    assert "percentage" in message(q4, lambda v, g: 100 * coverage(v, g))
    assert "missing" in message(q4, lambda v, g: 1 - coverage(v, g))
    assert "number between 0 and 1" in message(q4, lambda v, g: "62%")
    assert "one number" in message(q4, lambda v, g: np.array([0.625, 0.375]))


def test_q4_rejects_mistakes_that_only_show_on_other_inputs():
    assert "raised ZeroDivisionError" in message(q4, lambda v, g: 5 / 8 if len(v) == 10 else 1 / 0)
    assert "expected 0" in message(q4, lambda v, g: max(coverage(v, g), 0.5))
    assert "expected 0.625" in message(q4, lambda v, g: sum(w in g for w in v[2:]) / (len(v) - 1))
    assert "number of words found" in message(q4, lambda v, g: sum(w in g for w in v[2:]) // 1 if False else sum(w in g for w in v[2:]))
    assert "changed its input `vocabulary`" in message(q4, lambda v, g: coverage(v, g) + 0 * len([v.remove("")]))


def test_q4_blank_is_not_attempted():
    assert status(q4, ...) == "not attempted"
    assert status(q4, stub) == "not attempted"


# --------------------------------------------------------------------------- q5


def frozen_embedding(matrix):
    import keras

    rows, dim = matrix.shape
    return keras.layers.Embedding(
        rows, dim, embeddings_initializer=keras.initializers.Constant(matrix), trainable=False, mask_zero=True
    )


def test_q5_accepts_every_way_of_loading():
    import keras
    import tensorflow as tf

    assert status(q5, frozen_embedding) == "correct"
    # seed 001's way, through tf.keras
    assert (
        status(q5, lambda m: tf.keras.layers.Embedding(*m.shape, weights=[m], trainable=False, mask_zero=True))
        == "correct"
    )

    def with_set_weights(matrix):
        layer = keras.layers.Embedding(matrix.shape[0], matrix.shape[1], mask_zero=True)
        layer.build()
        layer.set_weights([matrix])
        layer.trainable = False
        return layer

    assert status(q5, with_set_weights) == "correct"

    def float32_copy(matrix):
        return frozen_embedding(np.array(matrix, dtype=np.float32))

    assert status(q5, float32_copy) == "correct"


def test_q5_rejects_typical_mistakes():
    import keras

    assert "trainable" in message(
        q5, lambda m: keras.layers.Embedding(*m.shape, weights=[m], mask_zero=True)
    )
    assert "mask_zero" in message(q5, lambda m: keras.layers.Embedding(*m.shape, weights=[m], trainable=False))
    assert "no +1" in message(
        q5,
        lambda m: keras.layers.Embedding(m.shape[0] + 1, m.shape[1], trainable=False, mask_zero=True),
    )
    assert "numbers differ" in message(
        q5, lambda m: keras.layers.Embedding(*m.shape, trainable=False, mask_zero=True)
    )

    def model(matrix):
        return keras.Sequential([keras.Input((3,), dtype="int32"), frozen_embedding(matrix)])

    assert "model" in message(q5, model)


def test_q5_rejects_mistakes_that_only_show_in_a_model():
    import keras

    def frozen_after_the_fact(matrix):  # variable frozen, layer flag forgotten: fit would still train it? no: caught earlier
        layer = keras.layers.Embedding(*matrix.shape, embeddings_initializer=keras.initializers.Constant(matrix), mask_zero=True)
        return layer

    assert "trainable" in message(q5, frozen_after_the_fact)

    def float32_cast_of_another_matrix(matrix):
        return frozen_embedding(np.round(matrix, 1))

    assert "numbers differ" in message(q5, float32_cast_of_another_matrix)

    def fixed_shape(matrix):
        return keras.layers.Embedding(7, 3, embeddings_initializer=keras.initializers.Constant(matrix), trainable=False, mask_zero=True)

    assert "for a (12, 5) float32 matrix" in message(q5, fixed_shape)
    assert "expected a keras.layers.Embedding" in message(q5, lambda m: keras.layers.Dense(3, trainable=False))
    assert "expected a keras.layers.Embedding" in message(q5, lambda m: m)


def test_q5_blank_is_not_attempted():
    assert status(q5, ...) == "not attempted"
    assert status(q5, stub) == "not attempted"


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
