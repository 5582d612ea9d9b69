"""course_lib.validation: every bad value gives one clear error; good values pass unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import validation as v


def assert_clear(error: pytest.ExceptionInfo, name: str, *words: str) -> None:
    """A clear message: starts with the argument's name and '=', shows the value, says what to do."""
    message = str(error.value)
    assert message.startswith(f"{name}="), message
    assert ";" in message, message  # problem; what to do
    for word in words:
        assert word in message, (word, message)


# --------------------------------------------------------------------------- ids

BAD_IDS = [
    ([1.9, 2], TypeError, "non-integer ids (1.9 at index 0)"),
    ([1.0, 2.0], TypeError, "whole numbers stored as floats"),
    (["1", "20"], TypeError, "strings"),
    (np.array(["1", "20"], dtype=object), TypeError, "strings"),
    ([True, False], TypeError, "booleans"),
    ([1 + 2j], TypeError, "complex"),
    ([1, -1, 5], ValueError, "-1 at index 1"),
    ([1, np.nan], ValueError, "missing ids"),
    ([1, None], ValueError, "missing values"),
    (pd.Series([1, None], dtype="Int64"), ValueError, "missing values"),
    (None, TypeError, "NoneType"),
    ("12", TypeError, "got str"),
    ({1, 2}, TypeError, "got set"),
    ([[1, 2], [3]], TypeError, "rectangular"),
    ([2**70], ValueError, "2**63"),
    (np.array([2**63], dtype=np.uint64), ValueError, "2**63"),
]


@pytest.mark.parametrize(("values", "error", "words"), BAD_IDS)
def test_check_ids_refuses(values, error, words):
    with pytest.raises(error) as caught:
        v.check_ids(values, "user_ids")
    assert_clear(caught, "user_ids", words)


def test_check_ids_bounds_shape_and_emptiness():
    with pytest.raises(ValueError) as caught:
        v.check_ids([1, 0, 3], "movie_ids", minimum=1)
    assert_clear(caught, "movie_ids", "below 1", "0 at index 1", "padding")
    with pytest.raises(ValueError) as caught:
        v.check_ids([1, 2000, 5], "movie_ids", minimum=1, maximum=1682)
    assert_clear(caught, "movie_ids", "above 1682", "2000 at index 1", "1..1682")
    with pytest.raises(ValueError) as caught:
        v.check_ids([[1, 2]], "ids", ndim=1)
    assert_clear(caught, "ids", "expected a 1-D array, got 2-D")
    with pytest.raises(ValueError) as caught:
        v.check_ids([1, 2, 3], "ids", shape=(2,))
    assert_clear(caught, "ids", "shape (2,)")
    with pytest.raises(ValueError) as caught:
        v.check_ids([], "ids", allow_empty=False)
    assert_clear(caught, "ids", "empty")
    assert v.check_ids([], "ids").dtype == np.int64  # [] is float64 to NumPy, but holds no float


def test_check_ids_accepts_every_integer_container():
    import tensorflow as tf

    expected = np.array([1, 2, 3], dtype=np.int64)
    for values in ([1, 2, 3], np.array([1, 2, 3], np.int32), np.array([1, 2, 3], np.uint16),
                   pd.Series([1, 2, 3], dtype="Int64"), pd.Series([1, 2, 3], dtype=object), tf.constant([1, 2, 3])):  # fmt: skip
        result = v.check_ids(values, "ids")
        assert result.dtype == np.int64 and np.array_equal(result, expected), type(values)
    assert v.check_ids(np.int32(4), "ids").shape == ()


@given(hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, max_side=6), elements=st.integers(0, 10**6)))
def test_check_ids_returns_valid_ids_unchanged(ids):
    result = v.check_ids(ids, "ids", maximum=10**6)
    assert result.dtype == np.int64 and np.array_equal(result, ids)


@given(st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=20), st.integers(0, 10), st.integers(10, 10**5))
def test_check_ids_refuses_exactly_the_out_of_range_ids(ids, minimum, maximum):
    outside = [i for i in ids if not minimum <= i <= maximum]
    if not outside:
        assert v.check_ids(ids, "ids", minimum=minimum, maximum=maximum).tolist() == ids
        return
    with pytest.raises(ValueError) as caught:
        v.check_ids(ids, "ids", minimum=minimum, maximum=maximum)
    first = next(i for i in ids if i < minimum) if any(i < minimum for i in ids) else outside[0]
    assert_clear(caught, "ids", f"{first} at index {ids.index(first)}")


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=10))
def test_check_ids_never_accepts_floats(values):
    with pytest.raises((TypeError, ValueError)) as caught:
        v.check_ids(np.array(values, dtype=np.float64), "ids")
    assert_clear(caught, "ids")


# --------------------------------------------------------------------------- ratings, finite arrays


def test_check_ratings_and_finite():
    with pytest.raises(ValueError) as caught:
        v.check_ratings([4, np.nan, 3], "ratings")
    assert_clear(caught, "ratings", "NaN", "nan at index 1")
    with pytest.raises(ValueError) as caught:
        v.check_ratings([1, 6, 3], "ratings", minimum=1, maximum=5)
    assert_clear(caught, "ratings", "above 5", "6.0 at index 1", "[1, 5]")
    with pytest.raises(ValueError) as caught:
        v.check_ratings([0, 3], "ratings", minimum=1)
    assert_clear(caught, "ratings", "below 1")
    with pytest.raises(TypeError) as caught:
        v.check_ratings(["4"], "ratings")
    assert_clear(caught, "ratings", "strings")
    with pytest.raises(TypeError) as caught:
        v.check_finite([True], "scores")
    assert_clear(caught, "scores", "booleans")
    with pytest.raises(ValueError) as caught:
        v.check_finite(np.array([[1, np.inf], [np.nan, 2]]), "scores", ndim=2)
    assert_clear(caught, "scores", "2 NaN or infinite", "inf at index (0, 1)", "nan at index (1, 0)")
    assert v.check_ratings([1, 2.5], "ratings").dtype == np.float32
    assert v.check_finite(np.ones(2, np.float32), "x").dtype == np.float32
    assert v.check_finite([1, 2], "x").dtype == np.float64


@given(hnp.arrays(np.float64, st.integers(1, 30), elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_check_finite_refuses_iff_some_value_is_not_finite(values):
    if np.isfinite(values).all():
        np.testing.assert_array_equal(v.check_finite(values, "x"), values)
    else:
        with pytest.raises(ValueError, match=r"^x=.*NaN or infinite"):
            v.check_finite(values, "x")


# --------------------------------------------------------------------------- scalars


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [(0, ValueError, "at least 1"), (-3, ValueError, "at least 1"), (32.0, TypeError, "such as 32"),
     (2.5, TypeError, "got float"), (True, TypeError, "got bool"), ("8", TypeError, "got str"),
     (None, TypeError, "NoneType"), (np.float32(4), TypeError, "got float32")],
)
def test_check_size_refuses(value, error, words):
    with pytest.raises(error) as caught:
        v.check_size(value, "batch_size")
    assert_clear(caught, "batch_size", words)


def test_check_size_maximum_and_hint():
    with pytest.raises(ValueError) as caught:
        v.check_size(50, "k", maximum=18, hint="20 rows, 2 of them excluded")
    assert_clear(caught, "k", "at most 18", "20 rows, 2 of them excluded")
    assert v.check_size(np.int64(5), "k") == 5 and type(v.check_size(np.int64(5), "k")) is int


@given(st.integers())
def test_check_seed_accepts_exactly_the_numpy_range(seed):
    if 0 <= seed <= 2**32 - 1:
        assert v.check_seed(seed) == seed
        np.random.default_rng(seed)  # and NumPy agrees
    else:
        with pytest.raises(ValueError, match=r"^seed="):
            v.check_seed(seed)


@pytest.mark.parametrize("seed", [1.5, "42", None, True, 42.0])
def test_check_seed_refuses_non_integers(seed):
    with pytest.raises(TypeError) as caught:
        v.check_seed(seed)
    assert_clear(caught, "seed", "expected an int")


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [(-0.1, ValueError, "> 0"), (0, ValueError, "> 0"), (float("nan"), ValueError, "not finite"),
     (float("inf"), ValueError, "not finite"), ("0.1", TypeError, "got str"), (True, TypeError, "got bool"),
     (None, TypeError, "NoneType"), (1j, TypeError, "complex")],
)
def test_check_positive_refuses(value, error, words):
    with pytest.raises(error) as caught:
        v.check_positive(value, "learning_rate")
    assert_clear(caught, "learning_rate", words)


def test_check_positive_accepts():
    assert v.check_positive(1e-3, "learning_rate") == 1e-3
    assert v.check_positive(np.float32(0.5), "x") == 0.5 and v.check_positive(2, "x") == 2.0
    assert v.check_positive(0, "x", allow_zero=True) == 0.0


@pytest.mark.parametrize("value", ["no", "False", "", 0, 1, None, [], np.array([True])])
def test_check_bool_refuses_truthy_and_falsy_non_booleans(value):
    with pytest.raises(TypeError) as caught:
        v.check_bool(value, "download")
    assert_clear(caught, "download", "True or False")


def test_check_bool_accepts_booleans():
    assert v.check_bool(True, "x") is True and v.check_bool(np.False_, "x") is False


def test_check_choice():
    assert v.check_choice("zeros", "missing", ("zeros", "random")) == "zeros"
    for bad in ("Zeros", "", None, 1):
        with pytest.raises(ValueError) as caught:
            v.check_choice(bad, "missing", ("zeros", "random"))
        assert_clear(caught, "missing", "'zeros', 'random'")
    with pytest.raises(ValueError):
        v.check_choice(True, "n", (1, 2))  # True == 1, yet not a choice


# --------------------------------------------------------------------------- paths


def test_check_path(tmp_path):
    assert v.check_path(str(tmp_path), "folder", kind="dir") == tmp_path
    assert v.check_path(tmp_path / "new.txt", "path", kind="file") == tmp_path / "new.txt"  # need not exist
    for bad, error, words in [("", ValueError, "empty"), ("  ", ValueError, "empty"), (3, TypeError, "got int"),
                              (None, TypeError, "NoneType"), (b"x", TypeError, "got bytes"),
                              ("a\0b", ValueError, "NUL")]:  # fmt: skip
        with pytest.raises(error) as caught:
            v.check_path(bad, "path")
        assert_clear(caught, "path", words)
    with pytest.raises(FileNotFoundError) as caught:
        v.check_path(tmp_path / "missing", "path", must_exist=True)
    assert_clear(caught, "path", "does not exist")
    with pytest.raises(IsADirectoryError) as caught:
        v.check_path(tmp_path, "path", kind="file")
    assert_clear(caught, "path", "is a folder")
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError) as caught:
        v.check_path(tmp_path / "f", "folder", kind="dir")
    assert_clear(caught, "folder", "is a file")


@pytest.mark.parametrize("bad", ["../x", "a/b", "a\\b", "", ".", "..", "/etc/passwd", "x\0"])
def test_check_file_name_refuses_anything_with_folders(bad):
    with pytest.raises(ValueError) as caught:
        v.check_file_name(bad, "name")
    assert_clear(caught, "name", "plain file name")


@given(st.text(min_size=1, max_size=20))
def test_check_file_name_never_escapes_its_folder(name):
    folder = Path("/some/folder")
    try:
        accepted = v.check_file_name(name, "name")
    except ValueError:
        return
    assert (folder / accepted).parent == folder and accepted not in (".", "..")


def test_api_is_small_and_documented():
    checks = [n for n in v.__all__ if n.startswith("check_")]
    assert sorted(checks) == sorted(n for n in dir(v) if n.startswith("check_"))
    assert sorted(set(v.__all__) - set(checks)) == ["MAX_ID", "MAX_TABLE_ROWS"]
    for name in checks:
        doc = getattr(v, name).__doc__
        assert doc and ("Raises" in doc or "raises" in doc.lower()), name
    assert re.search(r"check_ids.*int64", v.__doc__, re.S)


# --------------------------------------------------------------------------- issue 17


def test_check_table_rows_refuses_tables_that_would_not_fit():
    assert v.check_table_rows(1682, "n_movies") == 1683
    assert v.check_table_rows(v.MAX_TABLE_ROWS - 1, "n") == v.MAX_TABLE_ROWS
    with pytest.raises(ValueError) as caught:
        v.check_table_rows(10**12, "n_users")
    assert_clear(caught, "n_users", "pd.factorize")
    assert "8,000.0 GB" in str(caught.value)


def test_check_instance_names_what_was_expected():
    assert v.check_instance(3, "x", int, what="an int") == 3
    with pytest.raises(TypeError) as caught:
        v.check_instance(pd.DataFrame({"a": [1]}), "split", dict, what="a Split, from split_ratings(ratings)")
    assert_clear(caught, "split", "split_ratings(ratings)")


def test_check_labels_never_splits_a_string_into_letters():
    assert v.check_labels(("a", 2), "labels") == ["a", "2"]
    assert v.check_labels(pd.Series(["x", "y"]), "labels", length=2) == ["x", "y"]
    for bad, error in (("abc", TypeError), (b"abc", TypeError), (3, TypeError), ({"a": 1}, TypeError)):
        with pytest.raises(error) as caught:
            v.check_labels(bad, "labels")
        assert_clear(caught, "labels", "one label per row")
    with pytest.raises(ValueError):
        v.check_labels(["a"], "labels", length=3)


def test_check_env_never_ignores_a_value_outside_its_set(monkeypatch):
    choices = {"1": True, "0": False}
    monkeypatch.delenv("COURSE_TEST_VAR", raising=False)
    assert v.check_env("COURSE_TEST_VAR", choices, default=None) is None
    monkeypatch.setenv("COURSE_TEST_VAR", " 1 ")
    assert v.check_env("COURSE_TEST_VAR", choices, default=None) is True
    monkeypatch.setenv("COURSE_TEST_VAR", "maybe")
    with pytest.raises(ValueError, match="COURSE_TEST_VAR='maybe': is not one of '1', '0'"):
        v.check_env("COURSE_TEST_VAR", choices, default=None)


def test_check_ids_refuses_a_maximum_below_its_minimum():
    with pytest.raises(ValueError, match="maximum=0 is below minimum=1"):
        v.check_ids([1], "ids", minimum=1, maximum=0)
