"""Pre-flight check a learner runs before a workshop: one green line, or what to fix.

Run ``make preflight`` (or ``python -m course_lib.preflight`` in the course's environment).
It checks, in order:

1. Python: 3.11 or newer (Keras 3.15 needs it);
2. set-up: the packages pinned in ``requirements.txt`` are installed at those versions (and,
   in the course's ``.venv``, set-up ran after ``requirements.txt`` last changed);
3. data: MovieLens 100K is in the cache and matches its pinned SHA-256 (no download is
   attempted), and the committed GloVe subset is there;
4. a kernel: a Jupyter kernel of this environment really starts, imports ``course_lib`` and
   computes ``1 + 1``;
5. free disk: at least :data:`MIN_FREE_GB` GB where the course and its data live.

Exit status 0 and one line starting with ``READY`` when all pass; otherwise exit status 1, a
line starting with ``NOT READY`` and one line per problem with the command that fixes it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MIN_PYTHON = (3, 11)
MIN_FREE_GB = 2.0
KERNEL_TIMEOUT_S = 120


@dataclass
class Check:
    """The result of one check: ``ok``, a short summary for the green line, or the fix."""

    name: str
    ok: bool
    summary: str  # shown in the READY line when ok, else the problem
    fix: str = ""


def check_python(version: tuple = tuple(sys.version_info[:3])) -> Check:
    text = ".".join(map(str, version))
    if tuple(version[:2]) >= MIN_PYTHON:
        return Check("python", True, f"Python {text}")
    return Check("python", False, f"Python {text} is too old (Keras 3.15 needs 3.11 or newer)",
                 "install Python 3.11 or newer, then `make clean` and `make setup PYTHON=python3.11`")


def pinned_requirements(path: Path = REPO_ROOT / "requirements.txt") -> dict[str, str]:
    """``{name: version}`` for every ``name==version`` line of requirements.txt."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def check_setup(root: Path = REPO_ROOT, prefix: str = sys.prefix) -> Check:
    problems = []
    for name, wanted in pinned_requirements(root / "requirements.txt").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} is not installed")
            continue
        if installed != wanted:
            problems.append(f"{name} {installed} is installed, {wanted} is pinned")
    venv = root / ".venv"
    in_course_venv = venv.exists() and Path(prefix).resolve() == venv.resolve()
    stamp = venv / ".installed"
    if in_course_venv:
        inputs = [root / name for name in ("requirements.txt", "constraints.txt", "pyproject.toml")]
        if not stamp.exists():
            problems.append("set-up did not finish")
        else:
            newer = [p.name for p in inputs if p.exists() and p.stat().st_mtime > stamp.stat().st_mtime]
            if newer:
                problems.append(f"{', '.join(newer)} changed since set-up ran")
    if problems:
        return Check("setup", False, "set-up is not complete: " + "; ".join(problems[:4])
                     + (f" (and {len(problems) - 4} more)" if len(problems) > 4 else ""), "make setup")
    where = ".venv" if in_course_venv else sys.prefix
    return Check("setup", True, f"set-up done ({len(pinned_requirements(root / 'requirements.txt'))} pinned "
                 f"packages match, in {where})")


def check_data() -> Check:
    from course_lib import datasets

    try:
        _, source = datasets.fetch("100k", download=False)
    except datasets.DataUnavailableError:
        return Check("data", False, "MovieLens 100K is not in the cache (or failed its checksum)",
                     "make data   (offline: copy datasets/cache/ from a connected machine; README, 'Offline')")
    except (OSError, ValueError) as exc:
        return Check("data", False, f"the data cache cannot be read: {type(exc).__name__}: {exc}",
                     "check COURSE_DATA_DIR and the cache folder's permissions, then `make data`")
    if not Path(datasets.GLOVE_SUBSET_PATH).is_file():
        return Check("data", False, f"the GloVe subset {Path(datasets.GLOVE_SUBSET_PATH).name} is missing",
                     "restore it with `git checkout -- datasets/glove`")
    return Check("data", True, "MovieLens 100K cached and verified (sha256)")


def check_kernel(kernel_name: str = "python3", timeout: float = KERNEL_TIMEOUT_S) -> Check:
    """Start a real Jupyter kernel, import course_lib in it and execute ``1 + 1``."""
    fix = "make setup (then start JupyterLab with `make lab`, which uses the course's environment)"
    try:
        from jupyter_client.manager import start_new_kernel
    except ImportError:
        return Check("kernel", False, "jupyter_client is not installed", fix)
    start = time.perf_counter()
    manager = client = None
    try:
        manager, client = start_new_kernel(kernel_name=kernel_name, startup_timeout=timeout,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        reply = client.execute_interactive("import course_lib\n1 + 1", timeout=timeout, store_history=False,
                                           output_hook=_collect(result := {}))
        if reply["content"]["status"] != "ok":
            content = reply["content"]
            return Check("kernel", False, f"the kernel started but failed: {content.get('ename')}: "
                         f"{content.get('evalue')}", fix)
        if result.get("value") != "2":
            return Check("kernel", False, f"the kernel answered {result.get('value')!r} to 1 + 1", fix)
    except Exception as exc:  # no kernelspec, a kernel that dies or never answers: all say the same fix
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        return Check("kernel", False, f"a Jupyter kernel did not start or answer: {type(exc).__name__}: {first}", fix)
    finally:
        if client is not None:
            client.stop_channels()
        if manager is not None:
            manager.shutdown_kernel(now=True)
    return Check("kernel", True, f"a kernel starts and runs 1 + 1 = 2 ({time.perf_counter() - start:.1f} s)")


def _collect(result: dict):
    def hook(message):
        if message["msg_type"] == "execute_result":
            result["value"] = message["content"]["data"].get("text/plain")
    return hook


def check_disk(paths: list[Path] | None = None, min_free_gb: float = MIN_FREE_GB) -> Check:
    if paths is None:
        from course_lib.datasets import cache_dir

        paths = [REPO_ROOT, cache_dir()]
    lowest = None
    for path in paths:
        existing = Path(path)
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        free = shutil.disk_usage(existing).free / 1e9
        if lowest is None or free < lowest[0]:
            lowest = (free, Path(path))
    free, where = lowest
    if free < min_free_gb:
        return Check("disk", False, f"only {free:.1f} GB free on the disk of {where}",
                     f"free at least {min_free_gb:.0f} GB (lessons save models and exports; 1M data is 25 MB)")
    return Check("disk", True, f"{free:.0f} GB free")


def run_checks() -> list[Check]:
    checks = [check_python(), check_setup()]
    checks.append(check_data())
    checks.append(check_kernel())
    checks.append(check_disk())
    return checks


def report(checks: list[Check], color: bool = False) -> str:
    green, red, reset = ("\033[32m", "\033[31m", "\033[0m") if color else ("", "", "")
    failed = [c for c in checks if not c.ok]
    if not failed:
        return f"{green}READY: " + " · ".join(c.summary for c in checks) + f"{reset}"
    lines = [f"{red}NOT READY: {len(failed)} thing(s) to fix before the workshop:{reset}"]
    lines += [f"  - {c.summary}\n    fix: {c.fix}" for c in failed]
    passed = [c.summary for c in checks if c.ok]
    if passed:
        lines.append("  fine: " + " · ".join(passed))
    return "\n".join(lines)


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    checks = run_checks()
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    print(report(checks, color=color))
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
