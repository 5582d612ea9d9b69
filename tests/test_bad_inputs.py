"""One table of bad inputs to the public functions of datasets, text, pretrained and env (issue 12).

Each must raise the stated error, raised by course_lib itself (not deep inside NumPy, pandas or
TensorFlow), with a message that holds the stated fragment (the argument, the value or the
fix). The table is the count the issue asks for: ``len(BAD_INPUTS)`` inputs, all refused clearly.
The cache's fault scenarios (concurrency, unreadable, read-only, folder-shaped entries, full
disk) are in tests/test_cache.py.
"""

from __future__ import annotations

import gzip
import traceback
import zipfile
from pathlib import Path

import numpy as np
import pytest

from course_lib import datasets, env, pretrained, text, vectors
from course_lib.datasets import DataUnavailableError, WordVectors


def _vectors(n: int = 20) -> WordVectors:
    words = [f"w{i}" for i in range(n)]
    values = np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)
    return WordVectors(words, values, {w: i for i, w in enumerate(words)})


def _glove_file(tmp: Path, name: str, content: bytes) -> Path:
    path = tmp / name
    path.write_bytes(content)
    return path


def _env_case(name: str, value: str, call):
    def run():
        import os

        saved = os.environ.get(name)
        os.environ[name] = value
        try:
            call()
        finally:
            if saved is None:
                del os.environ[name]
            else:
                os.environ[name] = saved

    return run


def bad_inputs(tmp: Path):
    """(id, call, expected exception type, fragment of the message)."""
    v = _vectors()
    m, q = v.vectors, v.vectors[0]
    nan_matrix = m.copy()
    nan_matrix[3, 1] = np.nan
    def archive():
        return zipfile.ZipFile(_glove_file(tmp, "empty.zip", b"PK\x05\x06" + b"\0" * 18))

    lines = b"a 1 2 3\n"
    return [
        # text
        ("title_words(None)", lambda: text.title_words(None), TypeError, "expected a str"),
        ("title_words(bytes)", lambda: text.title_words(b"Toy Story"), TypeError, "expected a str"),
        ("title_words(list)", lambda: text.title_words(["Toy Story"]), TypeError, "expected a str"),
        ("fold_accents(1)", lambda: text.fold_accents(1), TypeError, "expected a str"),
        ("glove_form(None)", lambda: text.glove_form(None, {"a"}), TypeError, "expected a str"),
        # datasets: load_movielens / fetch arguments
        ("load_movielens(download='no')", lambda: datasets.load_movielens("100k", download="no"), TypeError, "download='no'"),
        ("load_movielens(download=0)", lambda: datasets.load_movielens("100k", download=0), TypeError, "download=0"),
        ("load_movielens(download=None)", lambda: datasets.load_movielens("100k", download=None), TypeError, "True or False"),
        ("load_movielens(100)", lambda: datasets.load_movielens(100), TypeError, "choose one of"),
        ("load_movielens('10m')", lambda: datasets.load_movielens("10m"), ValueError, "choose one of"),
        ("load_movielens(None)", lambda: datasets.load_movielens(None), TypeError, "choose one of"),
        ("fetch(cache='')", lambda: datasets.fetch("100k", cache=""), ValueError, "cache=''"),
        ("fetch(cache=3)", lambda: datasets.fetch("100k", cache=3), TypeError, "cache=3"),
        ("fetch(download='False')", lambda: datasets.fetch("100k", download="False"), TypeError, "download='False'"),
        ("COURSE_OFFLINE=maybe", _env_case("COURSE_OFFLINE", "maybe", lambda: datasets.fetch("100k", cache=tmp / "c")),
         ValueError, "COURSE_OFFLINE='maybe'"),
        ("COURSE_DATA_DIR=' '", _env_case("COURSE_DATA_DIR", " ", lambda: datasets.fetch("100k")), ValueError,
         "COURSE_DATA_DIR"),
        ("cache folder is a file", lambda: datasets.fetch("100k", cache=_glove_file(tmp, "cache-file", b"x")), NotADirectoryError, "is a file"),
        ("cache on a missing drive", lambda: datasets.fetch("100k", cache=tmp / "no" / "c"), FileNotFoundError, "create it"),
        ("sha256_of(folder)", lambda: datasets.sha256_of(tmp), IsADirectoryError, "is a folder"),
        ("sha256_of(3)", lambda: datasets.sha256_of(3), TypeError, "path=3"),
        ("sha256_of(missing)", lambda: datasets.sha256_of(tmp / "missing"), FileNotFoundError, "does not exist"),
        ("split_title_year(None)", lambda: datasets.split_title_year(None), TypeError, "expected a title str"),
        ("parse_archive(str)", lambda: datasets.parse_archive("x.zip", "grouplens-100k", ""), TypeError, "zipfile.ZipFile"),
        ("parse_archive(bad layout)", lambda: datasets.parse_archive(archive(), "csv", ""), ValueError, "unknown layout"),
        ("parse_archive(wrong prefix)", lambda: datasets.parse_archive(archive(), "grouplens-100k", "x/"), KeyError,
         "prefix='x/'"),
        # datasets: load_glove
        ("load_glove duplicate word", lambda: datasets.load_glove(_glove_file(tmp, "d.txt", lines + b"b 1 2 3\na 4 5 6\n")),
         ValueError, "line 3: 'a' already appeared on line 1"),
        ("load_glove nan", lambda: datasets.load_glove(_glove_file(tmp, "n.txt", lines + b"b nan 2 3\n")), ValueError, "line 2"),
        ("load_glove inf", lambda: datasets.load_glove(_glove_file(tmp, "i.txt", lines + b"b 1 -inf 3\n")), ValueError, "line 2"),
        ("load_glove 1e50", lambda: datasets.load_glove(_glove_file(tmp, "o.txt", lines + b"b 1e50 2 3\n")), ValueError,
         "too large for float32"),
        ("load_glove word only", lambda: datasets.load_glove(_glove_file(tmp, "w.txt", lines + b"b\n")), ValueError,
         "line 2: 'b' has no numbers"),
        ("load_glove blank line", lambda: datasets.load_glove(_glove_file(tmp, "b.txt", lines + b"\n" + lines)), ValueError,
         "line 2: '' has no numbers"),
        ("load_glove ragged", lambda: datasets.load_glove(_glove_file(tmp, "r.txt", lines + b"b 1 2\n")), ValueError,
         "line 2: 2 values"),
        ("load_glove text value", lambda: datasets.load_glove(_glove_file(tmp, "t.txt", lines + b"b 1 x 3\n")), ValueError,
         "line 2: not a number"),
        ("load_glove latin-1", lambda: datasets.load_glove(_glove_file(tmp, "l.txt", lines + "é 1 2 3\n".encode("latin-1"))),
         ValueError, "line 2: not UTF-8"),
        ("load_glove broken gzip", lambda: datasets.load_glove(_glove_file(tmp, "g.txt.gz", gzip.compress(b"".join(b"w%d 1 2 3\n" % i for i in range(99)))[:-9])),
         ValueError, "not a complete gzip file"),
        ("load_glove empty file", lambda: datasets.load_glove(_glove_file(tmp, "e.txt", b"")), ValueError, "no word vectors"),
        ("load_glove(folder)", lambda: datasets.load_glove(tmp), IsADirectoryError, "is a folder"),
        ("load_glove(missing)", lambda: datasets.load_glove(tmp / "missing.txt"), FileNotFoundError, "no GloVe file"),
        ("load_glove(path=3)", lambda: datasets.load_glove(3), TypeError, "path=3"),
        ("load_glove(path='')", lambda: datasets.load_glove(""), ValueError, "path=''"),
        ("load_glove(max_words=0)", lambda: datasets.load_glove(max_words=0), ValueError, "max_words=0"),
        ("load_glove(max_words=-5)", lambda: datasets.load_glove(max_words=-5), ValueError, "max_words=-5"),
        ("load_glove(max_words=1.5)", lambda: datasets.load_glove(max_words=1.5), TypeError, "max_words=1.5"),
        ("load_glove(max_words='3')", lambda: datasets.load_glove(max_words="3"), TypeError, "max_words='3'"),
        ("WordVectors[list]", lambda: v[["w1"]], KeyError, "not in this GloVe vocabulary"),
        ("WordVectors[upper case]", lambda: v["W1"], KeyError, "lower case"),
        # pretrained
        ("nearest_neighbours(k=50) on 20 rows", lambda: vectors.nearest_neighbours(m, q, 50), ValueError,
         "only 20 rows can be returned"),
        ("nearest_neighbours(k=0)", lambda: vectors.nearest_neighbours(m, q, 0), ValueError, "k=0"),
        ("nearest_neighbours(k=-2)", lambda: vectors.nearest_neighbours(m, q, -2), ValueError, "k=-2"),
        ("nearest_neighbours(k=2.0)", lambda: vectors.nearest_neighbours(m, q, 2.0), TypeError, "k=2.0"),
        ("nearest_neighbours(k='3')", lambda: vectors.nearest_neighbours(m, q, "3"), TypeError, "k='3'"),
        ("nearest_neighbours(k=True)", lambda: vectors.nearest_neighbours(m, q, True), TypeError, "k=True"),
        ("nearest_neighbours(exclude=[-1])", lambda: vectors.nearest_neighbours(m, q, 3, exclude=[-1]), ValueError,
         "-1 at index 0"),
        ("nearest_neighbours(exclude=[20])", lambda: vectors.nearest_neighbours(m, q, 3, exclude=[20]), ValueError,
         "above 19"),
        ("nearest_neighbours(exclude=[1.0])", lambda: vectors.nearest_neighbours(m, q, 3, exclude=[1.0]), TypeError,
         "exclude="),
        ("nearest_neighbours(exclude=None)", lambda: vectors.nearest_neighbours(m, q, 3, exclude=None), TypeError,
         "exclude=None"),
        ("nearest_neighbours(exclude=['w1'])", lambda: vectors.nearest_neighbours(m, q, 3, exclude=["w1"]), TypeError,
         "strings"),
        ("cosine_similarity(NaN matrix)", lambda: vectors.cosine_similarity(nan_matrix, q), ValueError,
         "nan at index (3, 1)"),
        ("cosine_similarity(inf query)", lambda: vectors.cosine_similarity(m, [1, np.inf, 0, 0]), ValueError, "query="),
        ("cosine_similarity(dim mismatch)", lambda: vectors.cosine_similarity(m, [1.0, 2.0]), ValueError,
         "query has 2 dimensions"),
        ("cosine_similarity(1-D matrix)", lambda: vectors.cosine_similarity(q, q), ValueError, "2-D"),
        ("cosine_similarity(zero query)", lambda: vectors.cosine_similarity(m, np.zeros(4)), ValueError, "all zeros"),
        ("cosine_similarity(strings)", lambda: vectors.cosine_similarity([["a", "b"]], [1, 2]), TypeError, "strings"),
        ("cosine_similarity(None)", lambda: vectors.cosine_similarity(None, q), TypeError, "matrix=None"),
        ("cosine_similarity(bool query)", lambda: vectors.cosine_similarity(m, [True, False, True, True]), TypeError,
         "booleans"),
        ("similar_words(word=list)", lambda: pretrained.similar_words(v, ["w1"]), TypeError, "word=['w1']"),
        ("similar_words(unknown)", lambda: pretrained.similar_words(v, "nope"), KeyError, "not in this vocabulary"),
        ("similar_words(dict)", lambda: pretrained.similar_words({"w1": [1.0]}, "w1"), TypeError, "load_glove"),
        ("similar_words(k=50) on 20 words", lambda: pretrained.similar_words(v, "w1", 50), ValueError, "only 19 rows"),
        ("analogy(b=None)", lambda: pretrained.analogy(v, "w1", None, "w2"), TypeError, "b=None"),
        ("analogy(unknown)", lambda: pretrained.analogy(v, "w1", "w2", "zzz"), KeyError, "'zzz' is not"),
        ("analogy(k=18) on 20 words", lambda: pretrained.analogy(v, "w1", "w2", "w3", k=18), ValueError, "only 17 rows"),
        ("build_embedding_matrix(str)", lambda: pretrained.build_embedding_matrix("w1 w2", v), TypeError, "one str"),
        ("build_embedding_matrix([])", lambda: pretrained.build_embedding_matrix([], v), ValueError, "empty"),
        ("build_embedding_matrix(dupes)", lambda: pretrained.build_embedding_matrix(["", "a", "a"], v), ValueError,
         "duplicate"),
        ("build_embedding_matrix(int word)", lambda: pretrained.build_embedding_matrix(["", 3], v), TypeError, "must be str"),
        ("build_embedding_matrix(reserved=5)", lambda: pretrained.build_embedding_matrix(["", "a"], v, reserved=5),
         ValueError, "reserved=5"),
        ("build_embedding_matrix(reserved=-1)", lambda: pretrained.build_embedding_matrix(["", "a"], v, reserved=-1),
         ValueError, "reserved=-1"),
        ("build_embedding_matrix(reserved=1.0)", lambda: pretrained.build_embedding_matrix(["", "a"], v, reserved=1.0),
         TypeError, "reserved=1.0"),
        ("build_embedding_matrix(missing='zero')", lambda: pretrained.build_embedding_matrix(["", "a"], v, missing="zero"),
         ValueError, "missing='zero'"),
        ("build_embedding_matrix(seed=-1)", lambda: pretrained.build_embedding_matrix(["", "[UNK]", "a"], v, missing="random", seed=-1),
         ValueError, "seed=-1"),
        ("build_embedding_matrix(seed='1')", lambda: pretrained.build_embedding_matrix(["", "[UNK]", "a"], v, seed="1"), TypeError,
         "seed='1'"),
        ("build_embedding_matrix(vectors=dict)", lambda: pretrained.build_embedding_matrix(["a"], {"a": [1.0]}), TypeError,
         "load_glove"),
        ("project_2d(1 row)", lambda: vectors.project_2d(np.ones((1, 5))), ValueError, "at least 2 rows"),
        ("project_2d(NaN)", lambda: vectors.project_2d([[1.0, 2.0], [np.nan, 1.0]]), ValueError, "points="),
        ("project_2d(1-D)", lambda: vectors.project_2d(np.ones(5)), ValueError, "2-D"),
        ("project_2d(strings)", lambda: vectors.project_2d([["a", "b"], ["c", "d"]]), TypeError, "strings"),
        # env
        ("setup_notebook(seed=-1)", lambda: env.setup_notebook(seed=-1), ValueError, "seed=-1"),
        ("setup_notebook(seed=2**32)", lambda: env.setup_notebook(seed=2**32), ValueError, "at most 4294967295"),
        ("setup_notebook(seed=1.5)", lambda: env.setup_notebook(seed=1.5), TypeError, "seed=1.5"),
        ("setup_notebook(seed='42')", lambda: env.setup_notebook(seed="42"), TypeError, "seed='42'"),
        ("setup_notebook(seed=None)", lambda: env.setup_notebook(seed=None), TypeError, "seed=None"),
        ("setup_notebook(seed=True)", lambda: env.setup_notebook(seed=True), TypeError, "seed=True"),
        ("setup_notebook(deterministic='yes')", lambda: env.setup_notebook(deterministic="yes"), TypeError,
         "deterministic='yes'"),
        ("gpu_hint(str)", lambda: env.gpu_hint("linux"), TypeError, "environment_report"),
        ("gpu_hint({})", lambda: env.gpu_hint({}), KeyError, "environment_report"),
    ]


def raised_by_course_lib(error: BaseException) -> bool:
    """True when the innermost frame of the traceback is course_lib code (not NumPy/pandas/TensorFlow)."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and "course_lib" in Path(frames[-1].filename).parts


CASES = bad_inputs(Path("/nonexistent-placeholder"))  # ids only; the real calls use a tmp_path


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case[0] for case in CASES])
def test_bad_input_is_refused_clearly(tmp_path, index):
    name, call, expected, fragment = bad_inputs(tmp_path)[index]
    with pytest.raises(BaseException) as caught:
        call()
    error = caught.value
    assert isinstance(error, expected) and not isinstance(error, DataUnavailableError), (name, repr(error))
    assert raised_by_course_lib(error), (name, traceback.format_exception(error)[-3:])
    assert fragment in str(error), (name, fragment, str(error))


def test_the_count():
    assert len(CASES) == len({case[0] for case in CASES}) >= 90  # every input named once
