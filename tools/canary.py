"""The canary: the course's tests on the next TensorFlow and Keras (``make test-canary``).

Builds a separate, git-ignored environment (``.canary-venv/``) with the newest pre-releases of
TensorFlow (``tf-nightly``), Keras (``keras-nightly``) and tf-keras (``tf-keras-nightly``) and
the newest jax that resolves beside them. Every other package of ``requirements.txt`` is
pinned as in ``constraints.txt`` wherever that pin is compatible with what the nightlies
require; both files are read as they are when the canary runs, so a package added to
``requirements.txt`` is in the canary too. Then it runs the tests ``make test`` runs (the unit
tests and every notebook in ``lessons/`` and ``solutions/``), in one pytest process so that its
warnings plugin sees every test, and writes
``canary-report/REPORT.md`` and ``canary-report/report.json``: the resolved versions, the
pins it had to drop, tests run/passed/failed per test file and per notebook, and for each
failure its first error line (or the first line of an output difference).

Usage::

    make test-canary                                   # or: python3 tools/canary.py
    CANARY_STRICT=1 make test-canary                   # exit 1 when anything failed
    make test-canary CANARY_ARGS="--reuse-env --tests solutions/02_masking.ipynb"   # investigate

Exit status: 0 when the canary ran (whatever broke: the report says what), 1 only with
``CANARY_STRICT=1`` (or ``--strict``) and at least one failure, 2 when it could not run (no
environment could be resolved or installed, the data could not be fetched, or pytest itself
stopped before it finished). The report is written in every case.

It is not part of ``.ci/run``: nightlies change every day, CI must not. The hosted workflow
``.github/workflows/canary.yml`` runs it weekly. MAINTAINING.md explains how to read the
report. pytest's results come from its own JUnit XML report (``--junitxml``), read with the
standard library; the warnings the unit tests raise come from a small pytest plugin
(``tools/canary_warnings.py``, pytest's public ``pytest_warning_recorded`` hook).

The script starts on any Python >= 3.11 with the standard library only; once the environment
exists it runs itself again inside it (``--inside``), where ``packaging`` is installed, to
compare version specifiers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".canary-venv"
REPORT_DIR = ROOT / "canary-report"

# Pinned package of requirements.txt -> the nightly that replaces it (newest pre-release).
NIGHTLIES = {"tensorflow": "tf-nightly", "keras": "keras-nightly", "tf-keras": "tf-keras-nightly"}
# Pinned packages that float to the newest release that resolves beside the nightlies (with
# the packages that must move with them).
FLOATING = {"jax": ("jax", "jaxlib")}
# Versions shown first in the report.
KEY_PACKAGES = ("tf-nightly", "keras-nightly", "tf-keras-nightly", "jax", "jaxlib", "numpy", "protobuf",
                "ml-dtypes", "tb-nightly", "tensorboard", "tensorflow", "keras", "tf-keras", "pytest", "nbval")
PIP = ("-m", "pip", "--disable-pip-version-check")


# --------------------------------------------------------------------------- helpers


def canonical(name: str) -> str:
    """PEP 503 normalised project name: ``Tf_Keras`` -> ``tf-keras``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def log(message: str) -> None:
    print(f"[canary] {message}", flush=True)


def run_streamed(command: list[str], log_path: Path, env: dict | None = None) -> int:
    """Run ``command``, showing its output as it comes and appending it to ``log_path``; its exit status."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        log_file.write(("$ " + " ".join(command) + "\n").encode())
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        while chunk := os.read(process.stdout.fileno(), 4096):
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            log_file.write(chunk)
        return process.wait()


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a requirements/constraints file: comments, blanks and options dropped."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    return lines


# --------------------------------------------------------------------------- the plan (inside the venv)


def canary_requirements(requirements: list[str]) -> tuple[list[str], set[str]]:
    """The requirements of the canary, and the canonical names whose pins it drops.

    Each pinned package of ``requirements`` stays, without its version (``constraints.txt`` pins
    it); TensorFlow, Keras and tf-keras become their nightlies (``>=0.dev0`` lets pip take a
    pre-release); jax keeps its extras and floats.
    """
    from packaging.requirements import Requirement

    out, dropped = [], set()
    for line in requirements:
        req = Requirement(line)
        name = canonical(req.name)
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        marker = f"; {req.marker}" if req.marker else ""
        if name in NIGHTLIES:
            out.append(f"{NIGHTLIES[name]}{extras}>=0.dev0{marker}")
            dropped |= {name, NIGHTLIES[name]}
        elif name in FLOATING:
            out.append(f"{req.name}{extras}{marker}")
            dropped |= set(FLOATING[name])
        else:
            out.append(f"{req.name}{extras}{marker}")
    return out, dropped


def nightly_part(requirements: list[str]) -> list[str]:
    """The requirements that move: the nightlies and the floating packages."""
    moving = set(NIGHTLIES.values()) | set(FLOATING)
    return [line for line in requirements if canonical(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0]) in moving]


def incompatible_pins(pins: dict[str, str], report: dict) -> dict[str, str]:
    """Pins that some package of a pip ``--report`` cannot use: ``{name: why}``.

    ``pins`` maps canonical names to pinned versions; ``report`` is pip's installation report
    (``pip install --dry-run --report``) of the nightlies alone: every package it resolved,
    with its ``requires_dist``. A pin is incompatible when one of those requirements, with its
    environment marker true here (and the requested extras), excludes the pinned version.
    """
    from packaging.requirements import Requirement
    from packaging.version import Version

    environment = report.get("environment", {})
    why = {}
    for item in report.get("install", []):
        metadata = item.get("metadata", {})
        extras = [""] + list(item.get("requested_extras") or [])
        for text in metadata.get("requires_dist") or []:
            req = Requirement(text)
            name = canonical(req.name)
            if name not in pins or name in why:
                continue
            if req.marker is not None and not any(req.marker.evaluate({**environment, "extra": e}) for e in extras):
                continue
            if not req.specifier.contains(Version(pins[name]), prereleases=True):
                why[name] = f"{metadata.get('name')} {metadata.get('version')} requires {req.name}{req.specifier}"
    return why


def write_constraints(path: Path, pins: dict[str, str], names: dict[str, str]) -> None:
    path.write_text("".join(f"{names[n]}=={pins[n]}\n" for n in sorted(pins)), encoding="utf-8")


def installed_versions(python: Path) -> dict[str, str]:
    out = subprocess.run([str(python), *PIP, "list", "--format", "json"], capture_output=True, text=True, check=True)
    return {canonical(p["name"]): p["version"] for p in json.loads(out.stdout)}


# --------------------------------------------------------------------------- the report


ANSI = re.compile(r"(\x1b|#x1B)\[[0-9;]*m")  # colour codes, raw or as JUnit XML escapes them


def first_error_line(text: str) -> str:
    """The line of a failure text that says what went wrong (at most 300 characters).

    - an exception: the last ``SomeError: message`` line of the traceback; when the exception
      has no message (a bare ``assert``), the code line that raised it is added;
    - nbval's output difference (``mismatch 'stdout'``): the first line that differs;
    - otherwise nbval's own line after ``Traceback:`` (``Unexpected output fields ...``), or
      the first non-empty line.
    """
    lines = [line.rstrip() for line in ANSI.sub("", text or "").splitlines() if line.strip()]
    exception = re.compile(r"^(E\s+)?([\w.]*(Error|Exception|Exit|Interrupt|Warning))(:.*)?$")
    pytest_e = [line[1:].strip() for line in lines if re.match(r"^E\s", line)]  # pytest's own report: "E   ..."
    if pytest_e:
        trailer = re.match(r"^\S+:\d+: ([\w.]+)$", lines[-1].strip())  # "tests/test_x.py:3: AssertionError"
        first = pytest_e[0]
        if trailer and not exception.match(first.split(" ", 1)[0].rstrip(":")):
            first = f"{trailer.group(1)}: {first}"
        return first[:300]
    errors = [(i, exception.match(line.strip())) for i, line in enumerate(lines) if exception.match(line.strip())]
    if errors:
        i, match = errors[-1]
        message = (match.group(4) or "").strip(": ")
        line = f"{match.group(2)}: {message}" if message else match.group(2)
        if not message:
            raised = [re.match(r"^\s*-+>\s*(\d+)\s+(.*)", x) for x in lines[:i]]
            raised = [m for m in raised if m]
            if raised:
                line += f" at line {raised[-1].group(1)}: {raised[-1].group(2).strip()}"
        return line[:300]
    for i, line in enumerate(lines):
        if line.strip().startswith("mismatch "):
            changed = next((x.strip() for x in lines[i + 1:] if re.match(r"^\s*[-+] ", x)), "")
            return f"{line.strip()}: {changed}"[:300]
    if "Traceback:" in lines:
        after = lines[lines.index("Traceback:") + 1:]
        if after:
            return after[0].strip()[:300]
    return (lines[0].strip() if lines else "(no message)")[:300]


def kind_of(path: str) -> str:
    if path.startswith("lessons/"):
        return "lesson"
    if path.startswith("solutions/"):
        return "solution"
    return "test file"


def read_junit(path: Path) -> tuple[list[dict], list[dict]]:
    """Per-file counts and failures from pytest's JUnit XML (``-o junit_family=xunit1``).

    Returns ``(files, failures)``: ``files`` is a list of ``{"file", "kind", "run", "passed",
    "failed", "skipped"}`` sorted by kind and name; ``failures`` a list of ``{"file", "test",
    "first_line"}``. A test that errored (in set-up or collection) counts as failed.
    """
    root = ElementTree.parse(path).getroot()
    counts: dict[str, dict] = defaultdict(lambda: {"run": 0, "passed": 0, "failed": 0, "skipped": 0})
    failures = []
    for case in root.iter("testcase"):
        file = case.get("file") or case.get("classname") or "(unknown)"  # xunit1 names the file, collection errors too
        entry = counts[file]
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if case.find("skipped") is not None and bad is None:
            entry["skipped"] += 1
            continue
        entry["run"] += 1
        if bad is None:
            entry["passed"] += 1
        else:
            entry["failed"] += 1
            detail = (bad.text or "") + "\n" + (bad.get("message") or "")
            failures.append({"file": file, "test": case.get("name"), "first_line": first_error_line(detail)})
    order = {"test file": 0, "lesson": 1, "solution": 2}
    files = [{"file": f, "kind": kind_of(f), **c} for f, c in counts.items()]
    files.sort(key=lambda e: (order[e["kind"]], e["file"]))
    return files, failures


def totals(files: list[dict]) -> dict:
    return {key: sum(f[key] for f in files) for key in ("run", "passed", "failed", "skipped")}


def render_markdown(report: dict) -> str:
    """REPORT.md from the dict of report.json."""
    lines = [f"# Canary report, {report['started']}", ""]
    if report["status"] != "ran":
        lines += [f"**The canary could not run:** {report['reason']}", ""]
    t = report.get("totals") or {}
    if t:
        lines += [f"**{report['failed']} failed** of {t['run']} run ({t['passed']} passed, {t['skipped']} skipped). "
                  f"Wall time {report['wall_time_s']:.0f} s (environment {report['setup_s']:.0f} s, "
                  f"data {report.get('data_s', 0):.0f} s, tests {report['tests_s']:.0f} s) on Python {report['python']}.", ""]
    lines += ["## Versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {name} | {version} |" for name, version in report.get("versions", {}).items()]
    unpinned = report.get("unpinned", {})
    if unpinned:
        lines += ["", "Everything else: pinned as in `constraints.txt`, except these pins, which the nightlies cannot use "
                  "(so pip chose):", ""] + [f"- `{name}`: {why}" for name, why in unpinned.items()]
    else:
        lines += ["", "Everything else: pinned as in `constraints.txt`."]
    for warning in report.get("warnings", []):
        lines += ["", f"**Warning:** {warning}"]
    if report.get("failures"):
        lines += ["", "## Failures", "", "| file | test | first error line or output difference |", "|---|---|---|"]
        lines += [f"| `{f['file']}` | {f['test']} | `{f['first_line'].replace('|', '/')}` |" for f in report["failures"]]
    if report.get("test_warnings"):
        lines += ["", "## Warnings raised in the unit tests", "",
                  "Not failures; often the first sign of what breaks next (notebook cells' warnings are not collected here).", "",
                  "| category | message | where | first test |", "|---|---|---|---|"]
        lines += [f"| {w['category']} | `{w['message'].replace('|', '/')}` | `{w['where']}` | `{w['test']}` |"
                  for w in report["test_warnings"]]
    if report.get("files"):
        lines += ["", "## Per test file and notebook", "", "| file | kind | run | passed | failed | skipped |", "|---|---|---|---|---|---|"]
        lines += [f"| `{f['file']}` | {f['kind']} | {f['run']} | {f['passed']} | {f['failed']} | {f['skipped']} |"
                  for f in report["files"]]
    lines += ["", "Logs: `pip.log`, `pytest.log`, `junit.xml` beside this file. How to read this report: MAINTAINING.md.", ""]
    return "\n".join(lines)


def write_report(report: dict, report_dir: Path) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (report_dir / "REPORT.md").write_text(render_markdown(report), encoding="utf-8")


# --------------------------------------------------------------------------- the two phases


def outside(args) -> int:
    """Make the environment (a venv with pip and packaging), then run the rest inside it."""
    started = time.time()
    report_dir = Path(args.report_dir)
    if report_dir.exists():
        shutil.rmtree(report_dir)
    report_dir.mkdir(parents=True)
    venv = Path(args.venv)
    python = venv_python(venv)
    if args.reuse_env and python.exists():
        log(f"reusing {venv.name}/ (--reuse-env): the nightlies are upgraded in place")
    else:
        if venv.exists():
            shutil.rmtree(venv)
        log(f"creating {venv.name}/ with {sys.executable} (Python {sys.version.split()[0]})")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bootstrap = [str(python), *PIP, "install", "--upgrade", "pip", "packaging", "-c", str(ROOT / "constraints.txt")]
    if run_streamed(bootstrap, report_dir / "pip.log") != 0:
        report = {"status": "could not run", "reason": "pip could not be installed into the canary environment (see pip.log)",
                  "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)), "failed": None}
        write_report(report, report_dir)
        return 2
    os.environ["CANARY_STARTED"] = str(started)
    return subprocess.call([str(python), __file__, "--inside", *sys.argv[1:]])


def inside(args) -> int:
    started = float(os.environ.get("CANARY_STARTED", time.time()))
    report_dir = Path(args.report_dir)
    python = Path(sys.executable)
    pip_log = report_dir / "pip.log"
    report = {"status": "ran", "reason": None, "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
              "python": sys.version.split()[0], "failed": None, "warnings": []}

    def stop(reason: str) -> int:
        report.update(status="could not run", reason=reason, wall_time_s=round(time.time() - started, 1))
        write_report(report, report_dir)
        log(f"could not run: {reason}")
        return 2

    requirements, dropped = canary_requirements(requirement_lines(ROOT / "requirements.txt"))
    names = {}
    pins = {}
    for line in requirement_lines(ROOT / "constraints.txt"):
        name, _, version = line.partition("==")
        names[canonical(name)], pins[canonical(name)] = name.strip(), version.strip()
    pins = {n: v for n, v in pins.items() if n not in dropped}
    (report_dir / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")

    # 1. What do the nightlies need? Resolve them alone (no constraints), then drop the pins they exclude.
    log("resolving the nightlies alone, to find the pins of constraints.txt they cannot use")
    probe = report_dir / "nightlies-resolve.json"
    command = [str(python), *PIP, "install", "--dry-run", "--ignore-installed", "--report", str(probe), *nightly_part(requirements)]
    if run_streamed(command, pip_log) != 0:
        return stop("pip could not resolve the nightlies on their own (see pip.log)")
    unpinned = incompatible_pins(pins, json.loads(probe.read_text(encoding="utf-8")))
    closure = {canonical(item["metadata"]["name"]) for item in json.loads(probe.read_text(encoding="utf-8"))["install"]}

    # 2. Install with the compatible pins; if pip still finds no solution, free every package the nightlies need.
    constraints = report_dir / "constraints.txt"
    for attempt in ("pins the nightlies can use", "no pins on what the nightlies need"):
        kept = {n: v for n, v in pins.items() if n not in unpinned}
        write_constraints(constraints, kept, names)
        log(f"installing the canary environment ({attempt}; {len(kept)} pins kept, {len(unpinned)} dropped)")
        command = [str(python), *PIP, "install", "--upgrade", "--upgrade-strategy", "only-if-needed",
                   "-r", str(report_dir / "requirements.txt"), "-c", str(constraints)]
        if run_streamed(command, pip_log) == 0:
            break
        for name in sorted(closure & set(pins) - set(unpinned)):
            unpinned[name] = "freed on the second attempt: pip found no solution with it pinned (see pip.log)"
    else:
        return stop("pip found no set of packages that installs beside the nightlies (see pip.log)")
    report["unpinned"] = {n: f"was {names[n]}=={pins[n]}; {why}" for n, why in sorted(unpinned.items())}

    versions = installed_versions(python)
    report["versions"] = {n: versions[n] for n in KEY_PACKAGES if n in versions}
    report["all_versions"] = versions
    for official, nightly in NIGHTLIES.items():
        if official in versions and nightly in versions:
            report["warnings"].append(f"both `{official}` {versions[official]} and `{nightly}` {versions[nightly]} are "
                                      f"installed (a requirement asks for `{official}`): they share one module folder")
    # course_lib importable without building a package, as the Makefile does for .venv/.
    import sysconfig

    Path(sysconfig.get_paths()["purelib"], "course_lib_repo.pth").write_text(str(ROOT) + "\n", encoding="utf-8")
    check = subprocess.run([str(python), "-c", "import tensorflow as tf, keras, tf_keras, jax; "
                            "print('TensorFlow', tf.__version__, '| Keras', keras.__version__, '| tf_keras', "
                            "tf_keras.__version__, '| jax', jax.__version__)"],
                           capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if check.returncode != 0:
        return stop("the installed nightlies do not import: " + first_error_line(check.stderr))
    log("imported: " + check.stdout.strip())
    report["setup_s"] = round(time.time() - started, 1)

    # 3. The data, then the tests, as make test runs them.
    data_started = time.time()
    if run_streamed([str(python), "-m", "course_lib.datasets", "fetch", *args.variants], report_dir / "pytest.log") != 0:
        return stop("the course data could not be fetched (see pytest.log)")
    report["data_s"] = round(time.time() - data_started, 1)
    tests_started = time.time()
    junit = report_dir / "junit.xml"
    warnings_file = report_dir / "warnings.json"
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(python.parent.parent),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "CANARY_WARNINGS": str(warnings_file)}
    log(f"running pytest on {' '.join(args.tests) or 'tests/, lessons/ and solutions/'}")
    code = run_streamed([str(python), "-m", "pytest", "-p", "tools.canary_warnings", "-o", "junit_family=xunit1",
                         f"--junitxml={junit}", *args.tests], report_dir / "pytest.log", env=env)
    report["tests_s"] = round(time.time() - tests_started, 1)
    report["pytest_exit_code"] = code
    if code not in (0, 1) or not junit.exists():
        return stop(f"pytest stopped with exit status {code} before it finished (see pytest.log)")
    report["files"], report["failures"] = read_junit(junit)
    report["test_warnings"] = json.loads(warnings_file.read_text(encoding="utf-8")) if warnings_file.exists() else []
    report["totals"] = totals(report["files"])
    report["failed"] = report["totals"]["failed"]
    report["wall_time_s"] = round(time.time() - started, 1)
    write_report(report, report_dir)
    minutes, seconds = divmod(int(report["wall_time_s"]), 60)
    log(f"{report['failed']} failed of {report['totals']['run']} run; wall time {minutes} min {seconds} s "
        f"(environment {report['setup_s']:.0f} s, tests {report['tests_s']:.0f} s); report: {report_dir.relative_to(ROOT)}/REPORT.md")
    for failure in report["failures"]:
        log(f"FAILED {failure['file']}::{failure['test']}: {failure['first_line']}")
    if report["failed"] and args.strict:
        log("CANARY_STRICT=1: exit status 1")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", default=str(VENV), help="the canary environment (default: .canary-venv/)")
    parser.add_argument("--report-dir", default=str(REPORT_DIR), help="where the report goes (default: canary-report/)")
    parser.add_argument("--reuse-env", action="store_true", help="keep an existing canary environment (upgrade in place)")
    parser.add_argument("--tests", nargs="*", default=[], help="pytest targets (default: pyproject's testpaths)")
    parser.add_argument("--variants", nargs="*", default=["100k"], help="MovieLens variants to fetch first (default: 100k)")
    parser.add_argument("--strict", action="store_true", default=os.environ.get("CANARY_STRICT", "") not in ("", "0"),
                        help="exit 1 when anything failed (also CANARY_STRICT=1)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if sys.version_info < (3, 11):
        print("The canary needs Python 3.11 or newer: make test-canary PYTHON=python3.11", file=sys.stderr)
        return 2
    started = time.time()
    code = inside(args) if args.inside else outside(args)
    if not args.inside:
        minutes, seconds = divmod(int(time.time() - started), 60)
        log(f"make test-canary: wall time {minutes} min {seconds} s, exit status {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
