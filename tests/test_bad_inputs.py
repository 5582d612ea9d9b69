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


# --------------------------------------------------------------------------- issue 17: the classes still silent or unclear


def _ratings(n: int = 200, users: int = 20, movies: int = 15, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user_id": rng.integers(1, users + 1, n), "movie_id": rng.integers(1, movies + 1, n),
                         "rating": rng.integers(1, 6, n).astype(np.float32)})


def _with(frame, column, value):
    frame = frame.copy()
    frame.loc[0, column] = value
    return frame


def _env(name: str, value: str, call):
    return _env_case(name, value, call)


def issue17_bad_inputs(tmp: Path):
    """(id, class, call, expected exception type, fragment). Every one was silent or unclear before issue 17."""
    import keras
    import pandas as pd

    from course_lib import checks, progress, recommender as rec, retrieval, validation as v

    ratings = _ratings()
    split = rec.split_ratings(ratings, seed=0)
    baseline = rec.fit_bias_baseline(split.train, split.n_users, split.n_movies)
    tower = retrieval.TwoTower(5, 7, dim=2)
    model = rec.build_rating_model(5, 7, global_mean=3.5, dim=2)
    scorer = rec.rating_scorer(model)
    pitfall = checks.Pitfall("odd", lambda f: f.x % 2, "odd")
    case = checks.Case({"x": np.ones((3, 2), np.float32)})
    layer = keras.layers.Dense(1)
    return [
        # ids: never wrapped, never a TiB table, never read from the end
        ("model_inputs(id 2**32)", "ids", lambda: rec.model_inputs(_with(ratings, "user_id", 2**32)), ValueError, "above 2147483647"),
        ("model_inputs(id 2**31)", "ids", lambda: rec.model_inputs(_with(ratings, "movie_id", 2**31)), ValueError, "wrap around"),
        ("split_ratings(id 2**40)", "ids", lambda: rec.split_ratings(_with(ratings, "user_id", 2**40)), ValueError, "above"),
        ("fit_bias_baseline(id 10**8)", "ids", lambda: rec.fit_bias_baseline(_with(ratings, "movie_id", 10**8)), ValueError,
         "pd.factorize"),
        ("fit_bias_baseline(n_users=10**9)", "ids", lambda: rec.fit_bias_baseline(ratings, n_users=10**9), ValueError, "GB"),
        ("rating_scorer([-1])", "ids", lambda: scorer([-1]), ValueError, "last row"),
        ("rating_scorer([6])", "ids", lambda: scorer([6]), ValueError, "above 5"),
        ("rating_scorer([1.0])", "ids", lambda: scorer([1.0]), TypeError, "user_ids"),
        ("rating_scorer(2-D)", "ids", lambda: scorer([[1, 2]]), ValueError, "1-D"),
        ("TwoTower.scores([-1])", "ids", lambda: tower.scores([-1]), ValueError, "below 0"),
        ("TwoTower.scores([99])", "ids", lambda: tower.scores([99]), ValueError, "above 5"),
        ("TwoTower.scores(['1'])", "ids", lambda: tower.scores(["1"]), TypeError, "strings"),
        ("BiasBaseline.predict(movie 99)", "ids", lambda: baseline.predict([1], [99]), IndexError, "refit with n_movies=99"),
        ("BiasBaseline.predict(user -1)", "ids", lambda: baseline.predict([-1], [1]), ValueError, "below 0"),
        ("BiasBaseline.predict(float ids)", "ids", lambda: baseline.predict([1.0], [1]), TypeError, "stored as floats"),
        # shapes: never broadcast
        ("BiasBaseline.predict(3 users, 1 movie)", "shapes", lambda: baseline.predict([1, 2, 3], [1]), ValueError,
         "same length"),
        ("BiasBaseline.predict(2 users, 3 movies)", "shapes", lambda: baseline.predict([1, 2], [1, 2, 3]), ValueError,
         "expected shape (2,)"),
        ("BiasBaseline.predict(2-D users)", "shapes", lambda: baseline.predict([[1, 2]], [1, 2]), ValueError, "shape"),
        # sizes: never an empty part, an ignored 0 or min() of nothing
        ("split_ratings(3 ratings)", "sizes", lambda: rec.split_ratings(ratings.head(3)), ValueError, "too few"),
        ("split_ratings(9 ratings)", "sizes", lambda: rec.split_ratings(ratings.head(9)), ValueError,
         "validation part would be empty"),
        ("split_ratings(1 rating, no validation)", "sizes", lambda: rec.split_ratings(ratings.head(1), validation_fraction=0),
         ValueError, "test part"),
        ("fit_in_model(batch_size=0)", "sizes", lambda: checks.fit_in_model(layer, np.ones((3, 2)), batch_size=0), ValueError,
         "batch_size=0"),
        ("fit_in_model(batch_size=-2)", "sizes", lambda: checks.fit_in_model(layer, np.ones((3, 2)), batch_size=-2), ValueError,
         "batch_size=-2"),
        ("fit_in_model(no rows)", "sizes", lambda: checks.fit_in_model(layer, np.ones((0, 2))), ValueError, "at least one row"),
        ("tune_bias_baseline(user_regs=())", "sizes", lambda: rec.tune_bias_baseline(split, user_regs=()), ValueError, "empty"),
        ("tune_bias_baseline(movie_regs=[])", "sizes", lambda: rec.tune_bias_baseline(split, movie_regs=[]), ValueError, "empty"),
        # types: never split into letters, never an AttributeError deep inside
        ("tune_bias_baseline(DataFrame)", "types", lambda: rec.tune_bias_baseline(ratings), TypeError, "expected a Split"),
        ("tune_bias_baseline('split')", "types", lambda: rec.tune_bias_baseline("split"), TypeError, "split_ratings(ratings)"),
        ("tune_bias_baseline(user_regs='10')", "types", lambda: rec.tune_bias_baseline(split, user_regs="10"), TypeError,
         "sequence of penalties"),
        ("tune_bias_baseline(user_regs=('a',))", "types", lambda: rec.tune_bias_baseline(split, user_regs=("a",)), TypeError,
         "user_regs[0]"),
        ("tune_bias_baseline(movie_regs=(-1,))", "types", lambda: rec.tune_bias_baseline(split, movie_regs=(-1,)), ValueError,
         "movie_regs[0]=-1"),
        ("check_labels('abc')", "types", lambda: v.check_labels("abc", "labels"), TypeError, "split into letters"),
        ("check_labels(3 for 2 rows)", "types", lambda: v.check_labels(["a", "b", "c"], "labels", length=2), ValueError,
         "expected 2 labels"),
        ("check_instance(DataFrame)", "types", lambda: v.check_instance(ratings, "split", rec.Split, what="a Split"), TypeError,
         "<DataFrame of shape (200, 3)>"),
        ("BiasBaseline(2-D user_bias)", "types", lambda: rec.BiasBaseline(3.5, np.zeros((2, 2)), np.zeros(3)), ValueError,
         "user_bias"),
        ("BiasBaseline(NaN mean)", "types", lambda: rec.BiasBaseline(np.nan, np.zeros(3), np.zeros(3)), ValueError, "global_mean"),
        ("BiasBaseline('3.5')", "types", lambda: rec.BiasBaseline("3.5", np.zeros(3), np.zeros(3)), TypeError, "global_mean"),
        ("BiasBaseline(empty movie_bias)", "types", lambda: rec.BiasBaseline(3.5, np.zeros(3), []), ValueError, "movie_bias"),
        ("predict_ratings('model')", "types", lambda: rec.predict_ratings("model", ratings), TypeError,
         "a rating model from build_rating_model"),
        ("predict_ratings(a Split)", "types", lambda: rec.predict_ratings(split, ratings), TypeError, "got Split"),
        ("rating_scorer('model')", "types", lambda: rec.rating_scorer("model"), TypeError, "model='model'"),
        ("build_model_for(DataFrame)", "types", lambda: rec.build_model_for(ratings), TypeError, "expected a Split"),
        ("build_model_for(config=dict)", "types", lambda: rec.build_model_for(split, {"dim": 4}), TypeError,
         "expected a TrainConfig"),
        ("predict_ratings(batch_size=0)", "sizes", lambda: rec.predict_ratings(model, _ratings(4, users=5, movies=7), batch_size=0),
         ValueError, "batch_size=0"),
        # contracts: the checks' own helpers do what their docstrings say
        ("expect_int(3.0)", "contracts", lambda: checks.expect_int(3.0), checks.Mistake, "whole number"),
        ("expect_int(np.float64(2.0))", "contracts", lambda: checks.expect_int(np.float64(2.0)), checks.Mistake, "int(...)"),
        ("expect_close(atol=-1)", "contracts", lambda: checks.expect_close([1.0], [1.0], atol=-1), ValueError, "atol=-1"),
        ("expect_close(atol='0.1')", "contracts", lambda: checks.expect_close([1.0], [1.0], atol="0.1"), ValueError, "atol='0.1'"),
        ("is_rounding_of(decimals=-1)", "contracts", lambda: checks.is_rounding_of(1.0, 1.0, decimals=-1), ValueError, "decimals"),
        ("Case(inputs=list)", "contracts", lambda: checks.Case([1, 2]), TypeError, "dict of the arguments"),
        ("Pitfall(key='')", "contracts", lambda: checks.Pitfall("", lambda f: True, "m"), ValueError, "non-empty"),
        ("Pitfall(detect=str)", "contracts", lambda: checks.Pitfall("k", "x", "m"), TypeError, "detect"),
        ("diagnose(not pitfalls)", "contracts", lambda: checks.diagnose(["odd"], checks.facts(x=1)), TypeError, "Pitfall"),
        ("Exercise(checker=None)", "contracts", lambda: checks.Exercise("q1", "t", None, hint="h", solution="s"), TypeError,
         "checker"),
        ("Exercise(mistakes=[1])", "contracts", lambda: checks.Exercise("q1", "t", print, hint="h", solution="s", mistakes=[1]),
         TypeError, "Pitfall"),
        ("Exercise(duplicate keys)", "contracts", lambda: checks.Exercise("q1", "t", print, hint="h", solution="s",
                                                                           mistakes=[pitfall, pitfall]), ValueError, "unique"),
        ("run_case(not a function)", "contracts", lambda: checks.run_case(3, case), checks.Mistake, "expected a function"),
        ("run_case(a class)", "contracts", lambda: checks.run_case(int, case), checks.Mistake, "the class int"),
        ("check_ids(maximum < minimum)", "contracts", lambda: v.check_ids([1], "ids", minimum=5, maximum=2), ValueError,
         "maximum=2 is below minimum=5"),
        ("check_table_rows(10**9)", "contracts", lambda: v.check_table_rows(10**9, "n_users"), ValueError, "GB"),
        # environment variables outside their documented set
        ("COURSE_OFFLINE=maybe, data cached", "environment",
         _env("COURSE_OFFLINE", "maybe", lambda: datasets.fetch("100k")), ValueError, "COURSE_OFFLINE='maybe'"),
        ("COURSE_OFFLINE=2, data cached", "environment",
         _env("COURSE_OFFLINE", "2", lambda: datasets.load_movielens("100k")), ValueError, "COURSE_OFFLINE='2'"),
        ("COURSE_PROGRESS=maybe", "environment", _env("COURSE_PROGRESS", "maybe", progress.recording_enabled), ValueError,
         "COURSE_PROGRESS='maybe'"),
        ("COURSE_PROGRESS=yes", "environment", _env("COURSE_PROGRESS", "yes", progress.recording_enabled), ValueError,
         "'on', 'off'"),
        ("progress --file a folder", "environment", lambda: progress.report(tmp), IsADirectoryError, "is a folder"),
        ("check_env(X=b)", "environment", _env("COURSE_TEST_SWITCH", "b",
                                              lambda: v.check_env("COURSE_TEST_SWITCH", {"a": 1}, default=0)), ValueError,
         "COURSE_TEST_SWITCH='b'"),
    ]


CASES_17 = issue17_bad_inputs(Path("/nonexistent-placeholder"))


@pytest.mark.parametrize("index", range(len(CASES_17)), ids=[case[0] for case in CASES_17])
def test_issue17_bad_input_is_refused_clearly(tmp_path, index):
    name, _, call, expected, fragment = issue17_bad_inputs(tmp_path)[index]
    with pytest.raises(BaseException) as caught:
        call()
    error = caught.value
    assert isinstance(error, expected), (name, repr(error))
    assert raised_by_course_lib(error), (name, traceback.format_exception(error)[-3:])
    assert fragment in str(error), (name, fragment, str(error))


def test_issue17_count_and_classes():
    classes = {}
    for case in CASES_17:
        classes[case[1]] = classes.get(case[1], 0) + 1
    assert len(CASES_17) == len({case[0] for case in CASES_17})
    assert set(classes) == {"ids", "shapes", "sizes", "types", "contracts", "environment"}, classes
    assert all(n >= 2 for n in classes.values()), classes
