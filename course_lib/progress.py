"""Which exercises this learner has passed: a small local record, and a classroom view.

``q1.check(answer)`` records a correct answer here (:func:`record_pass`). The record is one JSON
file per user, outside the course's folder, so it is never committed and survives a fresh clone::

    $COURSE_PROGRESS_FILE                              if set (tests use a temporary file)
    platformdirs.user_state_dir("embeddings-course")/progress.json   otherwise
    (e.g. ~/.local/state/embeddings-course/progress.json on Linux)

Its content is ``{"version": 1, "passed": {"lesson01": {"q2": "2026-11-30T20:15:00+00:00"}}}``:
for each lesson (exercise module) and exercise, when it was first passed (UTC, ISO 8601).

Writes are atomic (a temporary file in the same folder, then :func:`os.replace`), and serialised
by a file lock (``filelock`` when installed, else ``fcntl`` on POSIX) so that several kernels
checking at once never lose a pass or leave a half-written file. A record that cannot be read
(corrupted by hand, say) is set aside as ``progress.json.bad`` and started afresh.

Only a learner's own kernel records a pass. Tests and tools never write to the learner's
record (:func:`recording_enabled`): ``$COURSE_PROGRESS`` says so explicitly,

    COURSE_PROGRESS unset or ""   automatic: off under pytest (nbval kernels included, which
                                  inherit pytest's PYTEST_VERSION), on otherwise
    COURSE_PROGRESS=off           never record (tools/run_notebooks.py and tools/browser_test.py
                                  set it for the kernels they start)
    COURSE_PROGRESS=on            always record (the tests of this module use it, with their own file)

Any other value is an error naming the variable (``COURSE_PROGRESS=maybe`` is never ignored).

Run ``python -m course_lib.progress`` to list, per lesson, the exercises passed and those not
yet passed; ``--file PATH`` reads another record (an instructor collecting them, say).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import importlib
import json
import os
import pkgutil
import sys
import tempfile
from pathlib import Path

ENV_VAR = "COURSE_PROGRESS_FILE"
#: Whether checks record passes: unset/"" (automatic), "on" or "off".
SWITCH_VAR = "COURSE_PROGRESS"
#: Set by pytest for its whole run (inherited by every kernel nbval starts), and per test phase.
_PYTEST_VARS = ("PYTEST_VERSION", "PYTEST_CURRENT_TEST")
APP_NAME = "embeddings-course"
_VERSION = 1


def recording_enabled() -> bool:
    """Whether :meth:`Exercise.check <course_lib.checks.Exercise.check>` records passes in this process.

    ``$COURSE_PROGRESS``: ``"on"`` always, ``"off"`` never; unset or empty: never under pytest
    (``$PYTEST_VERSION`` or ``$PYTEST_CURRENT_TEST`` set, which nbval's kernels inherit), else yes.

    Raises:
        ValueError: ``$COURSE_PROGRESS`` holds another value (named, with the values allowed).
    """
    from course_lib.validation import check_env

    switch = check_env(SWITCH_VAR, {"on": True, "off": False}, default=None,
                       hint="unset means automatic: off under pytest, on in a learner's kernel")
    if switch is not None:
        return switch
    return not any(os.environ.get(name) for name in _PYTEST_VARS)


def progress_file() -> Path:
    """The progress file of this user: ``$COURSE_PROGRESS_FILE``, else the per-user state folder.

    The file (and its folder) may not exist yet.
    """
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    try:
        from platformdirs import user_state_dir

        folder = Path(user_state_dir(APP_NAME, appauthor=False))
    except ImportError:  # platformdirs ships with the course's set-up; keep a sane default anyway
        folder = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / APP_NAME
    return folder / "progress.json"


@contextlib.contextmanager
def _locked(path: Path):
    """Hold an exclusive lock on ``path``'s ``.lock`` file (inter-process)."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        import filelock
    except ImportError:
        filelock = None
    if filelock is not None:
        with filelock.FileLock(str(lock_path), timeout=10):
            yield
        return
    try:
        import fcntl
    except ImportError:  # Windows without filelock: atomic replace alone still avoids torn files
        yield
        return
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(path: Path) -> dict:
    """The record's ``passed`` mapping; ``{}`` if there is none. A corrupt file is set aside."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
        passed = data["passed"]
        if not isinstance(passed, dict) or not all(isinstance(v, dict) for v in passed.values()):
            raise ValueError("unexpected layout")
        return passed
    except (ValueError, KeyError, TypeError):
        with contextlib.suppress(OSError):
            os.replace(path, path.with_name(path.name + ".bad"))
        return {}


def _write(path: Path, passed: dict) -> None:
    fd, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"version": _VERSION, "passed": passed}, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def record_pass(lesson: str, exercise: str, path: Path | None = None) -> bool:
    """Record that ``exercise`` (e.g. ``"q2"``) of ``lesson`` (e.g. ``"lesson01"``) was passed.

    The first pass's time is kept. Creates the folder and file if needed. Without an explicit
    ``path``, nothing is written unless :func:`recording_enabled` (a learner's own kernel).

    Returns:
        True if the pass is in the record now, False if recording is off in this process.

    Raises:
        OSError: the file cannot be written (read-only home, full disk). :meth:`Exercise.check`
            catches it and prints one line.
        ValueError: ``$COURSE_PROGRESS`` holds a value other than on/off/unset.
    """
    if path is None and not recording_enabled():
        return False
    path = Path(path) if path is not None else progress_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        passed = _read(path)
        lesson_record = passed.setdefault(str(lesson), {})
        if str(exercise) not in lesson_record:
            lesson_record[str(exercise)] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            _write(path, passed)
    return True


def passed_exercises(path: Path | None = None) -> dict[str, dict[str, str]]:
    """``{lesson: {exercise: first-pass time}}`` as recorded; ``{}`` when nothing is recorded yet."""
    path = Path(path) if path is not None else progress_file()
    try:
        text = path.read_text(encoding="utf-8")
        passed = json.loads(text)["passed"]
        return {str(k): dict(v) for k, v in passed.items() if isinstance(v, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def course_exercises() -> dict[str, list[str]]:
    """``{lesson: [exercise names]}`` for every exercise module of the course, in lesson order.

    Importing an exercise module does not import TensorFlow.
    """
    from course_lib import exercises
    from course_lib.checks import Exercise

    found: dict[str, list[str]] = {}
    for info in sorted(pkgutil.iter_modules(exercises.__path__), key=lambda m: m.name):
        if not info.name.startswith("lesson"):
            continue
        try:
            module = importlib.import_module(f"course_lib.exercises.{info.name}")
        except Exception:  # noqa: BLE001 - a broken module must not hide the others
            continue
        names = [n for n, v in vars(module).items() if isinstance(v, Exercise) and n.startswith("q") and n[1:].isdigit()]
        found[info.name] = sorted(names, key=lambda n: int(n[1:]))
    return found


def report(path: Path | None = None) -> str:
    """The text ``python -m course_lib.progress`` prints: one line per lesson."""
    path = Path(path) if path is not None else progress_file()
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: pass the progress file itself (progress.json)")
    passed = passed_exercises(path)
    if not path.exists():
        lines = [f"No progress recorded yet: there is no file {path}"]
    elif not passed and path.stat().st_size and _unreadable(path):
        lines = [f"The progress record {path} cannot be read (not a course progress file): nothing counted"]
    else:
        lines = [f"Progress recorded in {path}"]
    total = done = 0
    for lesson, names in course_exercises().items():
        got = passed.get(lesson, {})
        ok = [n for n in names if n in got]
        todo = [n for n in names if n not in got]
        total += len(names)
        done += len(ok)
        number = lesson.removeprefix("lesson")
        lines.append(
            f"lesson {number}: {len(ok)}/{len(names)} passed"
            + (f"  passed: {' '.join(ok)}" if ok else "")
            + (f"  not yet: {' '.join(todo)}" if todo else "")
        )
    lines.append(f"total: {done}/{total} exercises passed")
    return "\n".join(lines)


def _unreadable(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return not isinstance(data, dict) or not isinstance(data.get("passed"), dict)
    except (OSError, ValueError):
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.progress", description="List which exercises this learner has passed, per lesson."
    )
    parser.add_argument("--file", type=Path, default=None, help=f"progress file to read (default: ${ENV_VAR} or the per-user state folder)")
    args = parser.parse_args(argv)
    try:
        print(report(args.file))
    except (OSError, ValueError) as exc:  # a folder as --file, a bad $COURSE_PROGRESS_FILE: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
