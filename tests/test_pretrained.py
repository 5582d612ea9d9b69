"""Bad input to course_lib.pretrained, load_glove and course_lib.env: one clear error each (issue 12)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from course_lib.datasets import WordVectors, load_glove
from course_lib.env import gpu_hint, setup_notebook
from course_lib.pretrained import (
    analogy,
    build_embedding_matrix,
    similar_words,
)
from course_lib.vectors import cosine_similarity, nearest_neighbours, project_2d


def tiny_vectors(n: int = 20, dim: int = 4) -> WordVectors:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(n)]
    return WordVectors(words, rng.normal(size=(n, dim)).astype(np.float32), {w: i for i, w in enumerate(words)})


# --------------------------------------------------------------------------- load_glove


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a 1 2 3\nb 1 2 3\na 4 5 6\n", ["line 3", "'a' already appeared on line 1"]),
        ("a 1 2 3\nb 1 nan 3\n", ["line 2", "value 2 of 'b'", "'nan'", "NaN"]),
        ("a 1 2 3\nb inf 2 3\n", ["line 2", "value 1 of 'b'", "infinite"]),
        ("a 1 2 3\nb 1e50 2 3\n", ["line 2", "too large for float32"]),
        ("a 1 2 3\nb\n", ["line 2", "'b' has no numbers"]),
        ("a 1 2 3\n\nb 1 2 3\n", ["line 2", "'' has no numbers"]),
        ("a 1 2 3\nb 1 2\n", ["line 2: 2 values, but line 1 has 3"]),
        ("a 1 2 3\nb 1 x 3\n", ["line 2: not a number"]),
        ("", ["holds no word vectors"]),
    ],
)
def test_load_glove_refuses_damaged_files(tmp_path, text, words):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as error:
        load_glove(path)
    for word in words:
        assert word in str(error.value), (word, str(error.value))


def test_load_glove_refuses_other_encodings_and_broken_gzip(tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("a 1 2\ncafé 1 2\n".encode("latin-1"))
    with pytest.raises(ValueError, match="line 2: not UTF-8 text"):
        load_glove(latin)
    broken = tmp_path / "broken.txt.gz"
    broken.write_bytes(gzip.compress(b"a 1 2\nb 3 4\n" * 100)[:-20])
    with pytest.raises(ValueError, match="not a complete gzip file"):
        load_glove(broken)
    good = tmp_path / "good.txt.gz"
    good.write_bytes(gzip.compress("café 1 2\nb 3 4\n".encode()))
    assert load_glove(good).words == ["café", "b"]


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [({"max_words": 0}, ValueError, "^max_words=0"), ({"max_words": -1}, ValueError, "^max_words=-1"),
     ({"max_words": 1.5}, TypeError, "^max_words=1.5"), ({"max_words": "3"}, TypeError, "^max_words='3'"),
     ({"path": 3}, TypeError, "^path=3"), ({"path": ""}, ValueError, "^path=''")],
)
def test_load_glove_arguments(tmp_path, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        load_glove(**kwargs)


def test_load_glove_folder_and_missing_file(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_glove(tmp_path)
    with pytest.raises(FileNotFoundError, match="no GloVe file"):
        load_glove(tmp_path / "missing.txt")


def test_word_vectors_membership_of_non_strings():
    vectors = tiny_vectors()
    assert ["w1"] not in vectors and None not in vectors and "w1" in vectors
    with pytest.raises(KeyError, match="glove_form"):
        vectors["W1"]


# --------------------------------------------------------------------------- nearest neighbours


def test_nearest_neighbours_refuses_more_than_it_can_return():
    vectors = tiny_vectors(20)
    rows, sims = nearest_neighbours(vectors.vectors, vectors.vectors[0], 19, exclude=[0])
    assert rows.shape == sims.shape == (19,) and 0 not in rows
    with pytest.raises(ValueError, match=r"^k=50: only 20 rows can be returned \(20 rows, 0 excluded\)"):
        nearest_neighbours(vectors.vectors, vectors.vectors[0], 50)
    with pytest.raises(ValueError, match=r"only 18 rows .* 2 excluded"):
        nearest_neighbours(vectors.vectors, vectors.vectors[0], 19, exclude=[0, 1, 1])
    with pytest.raises(ValueError, match=r"^k=50: only 19 rows"):
        similar_words(vectors, "w0", 50)


@pytest.mark.parametrize(
    ("k", "exclude", "error", "pattern"),
    [(0, (), ValueError, "^k=0"), (-1, (), ValueError, "^k=-1"), (2.0, (), TypeError, "^k=2.0"), ("3", (), TypeError, "^k='3'"),
     (3, [-1], ValueError, "^exclude=.*-1 at index 0"), (3, [20], ValueError, "^exclude=.*above 19"),
     (3, [1.0], TypeError, "^exclude="), (3, None, TypeError, "^exclude=None")],
)  # fmt: skip
def test_nearest_neighbours_arguments(k, exclude, error, pattern):
    vectors = tiny_vectors(20)
    with pytest.raises(error, match=pattern):
        nearest_neighbours(vectors.vectors, vectors.vectors[0], k, exclude=exclude)


def test_cosine_similarity_refuses_nan_and_bad_shapes():
    matrix = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"^matrix=.*NaN or infinite.*index \(1, 2\)"):
        bad = matrix.copy()
        bad[1, 2] = np.nan
        cosine_similarity(bad, np.ones(4))
    with pytest.raises(ValueError, match="^query=.*NaN"):
        cosine_similarity(matrix, np.array([1, np.inf, 0, 0]))
    with pytest.raises(ValueError, match="query has 3 dimensions"):
        cosine_similarity(matrix, np.ones(3))
    with pytest.raises(ValueError, match="^matrix=.*expected a 2-D array"):
        cosine_similarity(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="all zeros"):
        cosine_similarity(matrix, np.zeros(4))
    with pytest.raises(TypeError, match="^matrix=.*strings"):
        cosine_similarity(np.array([["a", "b"]]), np.ones(2))
    assert cosine_similarity(matrix.astype(np.float64), np.ones(4)).dtype == np.float32


def test_similar_words_and_analogy_arguments():
    vectors = tiny_vectors()
    with pytest.raises(TypeError, match=r"^word=\['w1'\]"):
        similar_words(vectors, ["w1"])
    with pytest.raises(KeyError, match="not in this vocabulary"):
        similar_words(vectors, "nope")
    with pytest.raises(TypeError, match="^b=None"):
        analogy(vectors, "w1", None, "w2")
    with pytest.raises(TypeError, match="expected word vectors"):
        similar_words({"w1": [1, 2]}, "w1")
    assert len(analogy(vectors, "w1", "w2", "w3", k=17)) == 17
    with pytest.raises(ValueError, match="^k=18"):
        analogy(vectors, "w1", "w2", "w3", k=18)


# --------------------------------------------------------------------------- build_embedding_matrix, project_2d


@pytest.mark.parametrize(
    ("vocabulary", "kwargs", "error", "pattern"),
    [("w1 w2", {}, TypeError, "one str"), ([], {}, ValueError, "empty"), (["", "[UNK]", "w1", "w1"], {}, ValueError, "duplicate"),
     (["", "[UNK]", 3], {}, TypeError, "must be str"), (["", "w1"], {"reserved": 3}, ValueError, "^reserved=3"),
     (["", "w1"], {"reserved": -1}, ValueError, "^reserved=-1"), (["", "w1"], {"reserved": 1.0}, TypeError, "^reserved=1.0"),
     (["", "w1"], {"missing": "zero"}, ValueError, "^missing='zero'"),
     (["", "w1"], {"missing": "random", "seed": -1}, ValueError, "^seed=-1"),
     (["", "w1"], {"seed": "1"}, TypeError, "^seed='1'")],
)  # fmt: skip
def test_build_embedding_matrix_arguments(vocabulary, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        build_embedding_matrix(vocabulary, tiny_vectors(), **kwargs)


def test_project_2d_arguments():
    with pytest.raises(ValueError, match="need at least 2 rows"):
        project_2d(np.ones((1, 5)))
    with pytest.raises(ValueError, match="^points=.*NaN"):
        project_2d(np.array([[1.0, 2.0], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="^points=.*expected a 2-D array"):
        project_2d(np.ones(5))
    assert project_2d(np.eye(3)).shape == (3, 2)


# --------------------------------------------------------------------------- env


@pytest.mark.parametrize(("seed", "error"), [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), ("42", TypeError),
                                             (None, TypeError), (True, TypeError)])  # fmt: skip
def test_setup_notebook_refuses_bad_seeds_before_changing_anything(monkeypatch, seed, error):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    with pytest.raises(error, match=r"^seed=.*e\.g\. setup_notebook\(seed=42\)"):
        setup_notebook(seed=seed)
    import os

    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ  # refused before anything was set


def test_setup_notebook_deterministic_must_be_a_bool():
    with pytest.raises(TypeError, match="^deterministic='yes'"):
        setup_notebook(seed=1, deterministic="yes")


def test_gpu_hint_arguments():
    with pytest.raises(TypeError, match="environment_report"):
        gpu_hint("linux")
    with pytest.raises(KeyError, match="environment_report"):
        gpu_hint({"gpus": []})
    assert "No GPU found" in gpu_hint({"gpus": [], "platform": "Linux x86_64", "in_colab": False})
