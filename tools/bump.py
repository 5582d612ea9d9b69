"""Move the course to new TensorFlow, Keras and tf-keras releases (``make bump``; MAINTAINING.md).

Usage::

    make bump TF=2.22.0 KERAS=3.16.0 TF_KERAS=2.22.0            # JAX=0.11.0 to move jax too
    python3 tools/bump.py --tf 2.22.0 --keras 3.16.0 --tf-keras 2.22.0 --no-test   # files only

1. checks the versions (tf-keras X.Y is made for TensorFlow X.Y only: each tf-keras release
   requires ``tensorflow>=X.Y,<X.(Y+1)``);
2. writes the new pins into a copy of ``requirements.txt`` and resolves it from scratch, in a
   throw-away virtual environment, with ``pip install --dry-run --ignore-installed --report``:
   no old constraint steers the resolve, nothing is installed;
3. only if that resolve succeeds, rewrites ``requirements.txt`` and ``constraints.txt`` (every
   package of the resolve, ``name==version``, as ``pip freeze`` would list them);
4. prints what changed: the pins, and every package of ``constraints.txt`` that moved, came or went;
5. runs ``make test`` in a fresh ``.venv/`` (the old one is removed, so nothing stale is tested;
   ``--keep-venv`` upgrades it in place instead, ``--no-test`` skips the step), and prints the
   changes again with the result. The exit status is ``make test``'s.

Lines that mention the old versions elsewhere (README, lesson text) are listed at the end: a
person decides what they should say. Runs on any Python >= 3.11 with the standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
CONSTRAINTS = ROOT / "constraints.txt"
VERSION = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")
#: requirements.txt's name for each argument.
PACKAGES = {"tf": "tensorflow", "keras": "keras", "tf_keras": "tf-keras", "jax": "jax"}
CONSTRAINTS_HEADER = """\
# Every package of the tested environment: a clean resolve of requirements.txt on Python {python},
# {platform} (pip install --dry-run --ignore-installed --report, by tools/bump.py). The Makefile
# installs with -c constraints.txt so indirect dependencies (protobuf, ml-dtypes, nbclient, ...)
# are the tested versions too. Regenerate with make bump (MAINTAINING.md).
"""
#: Files where the old versions may still be named after a bump (listed, never edited).
MENTIONS = ("README.md", "INSTRUCTORS.md", "AUTHORING.md", "MAINTAINING.md", "pyproject.toml", "Makefile")


class BumpError(ValueError):
    """A bad argument or file: the message says which and what to do."""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def check_versions(versions: dict[str, str | None]) -> dict[str, str]:
    """The versions to pin, by requirements.txt name; BumpError naming the argument when one is wrong."""
    flags = {"tf": "TF", "keras": "KERAS", "tf_keras": "TF_KERAS", "jax": "JAX"}
    for key in ("tf", "keras", "tf_keras"):
        if not versions.get(key):
            raise BumpError(f"{flags[key]}= is missing: make bump TF=2.22.0 KERAS=3.16.0 TF_KERAS=2.22.0 (JAX=... optional)")
    for key, value in versions.items():
        if value and not VERSION.fullmatch(value):
            raise BumpError(f"{flags[key]}={value!r} is not a release number such as 2.22.0")
    tf_minor, tf_keras_minor = versions["tf"].split(".")[:2], versions["tf_keras"].split(".")[:2]
    if tf_minor != tf_keras_minor:
        raise BumpError(f"TF_KERAS={versions['tf_keras']} needs TensorFlow {'.'.join(tf_keras_minor)}.*, but TF={versions['tf']}: "
                        f"each tf-keras release requires its own TensorFlow minor version (use TF_KERAS={'.'.join(tf_minor)}.x)")
    if not versions["keras"].startswith("3."):
        raise BumpError(f"KERAS={versions['keras']}: the course is written for Keras 3")
    return {PACKAGES[key]: value for key, value in versions.items() if value}


def rewrite_requirements(text: str, pins: dict[str, str]) -> tuple[str, dict[str, tuple[str, str]]]:
    """``text`` with each package of ``pins`` pinned to its new version, and ``{name: (old, new)}``.

    Comments, extras (``jax[cpu]``) and the order of lines stay. BumpError when a package has no
    ``name==version`` line.
    """
    changes, lines = {}, []
    for line in text.splitlines(keepends=True):
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s#;]+)", line)
        name = canonical(match.group(1)) if match else None
        if name in pins:
            changes[name] = (match.group(3), pins[name])
            line = f"{match.group(1)}{match.group(2) or ''}=={pins[name]}{line[match.end():]}"
        lines.append(line)
    missing = sorted(set(pins) - set(changes))
    if missing:
        raise BumpError(f"requirements.txt has no 'name==version' line for {', '.join(missing)}: add it first")
    return "".join(lines), changes


def constraints_from_report(report: dict) -> str:
    """constraints.txt from pip's installation report: a header, then ``name==version`` sorted as pip freeze sorts."""
    packages = {item["metadata"]["name"]: item["metadata"]["version"] for item in report["install"]
                if canonical(item["metadata"]["name"]) != "course-lib"}
    environment = report.get("environment", {})
    header = CONSTRAINTS_HEADER.format(python=environment.get("python_version", "?"),
                                       platform=f"{environment.get('sys_platform', '?')} {environment.get('platform_machine', '')}".strip())
    return header + "".join(f"{name}=={packages[name]}\n" for name in sorted(packages, key=str.lower))


def read_pins(text: str) -> dict[str, tuple[str, str]]:
    """``{canonical name: (name as written, version)}`` of a constraints file."""
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[canonical(match.group(1))] = (match.group(1), match.group(2))
    return pins


def describe_changes(pin_changes: dict[str, tuple[str, str]], old_constraints: str, new_constraints: str) -> str:
    """What a bump changed, as lines a maintainer reads (and pastes into a commit message)."""
    old, new = read_pins(old_constraints), read_pins(new_constraints)
    lines = ["requirements.txt:"]
    lines += [f"  {name}: {before} -> {after}" if before != after else f"  {name}: {before} (unchanged)"
              for name, (before, after) in pin_changes.items()]
    moved = [f"  {new[n][0]}: {old[n][1]} -> {new[n][1]}" for n in sorted(set(old) & set(new)) if old[n][1] != new[n][1]]
    added = [f"  {new[n][0]}=={new[n][1]} (new)" for n in sorted(set(new) - set(old))]
    removed = [f"  {old[n][0]}=={old[n][1]} (gone)" for n in sorted(set(old) - set(new))]
    kept = len(set(old) & set(new)) - len(moved)
    lines += [f"constraints.txt: {len(moved)} moved, {len(added)} new, {len(removed)} gone, {kept} unchanged"]
    return "\n".join(lines + moved + added + removed)


def mentions(old_versions: dict[str, str]) -> list[str]:
    """``file:line: text`` for lines of the maintained pages that still name an old version."""
    names = {"tensorflow": "TensorFlow", "keras": "Keras", "tf-keras": "tf-keras", "jax": "jax"}
    patterns = [re.compile(rf"\b{re.escape(names[n])}\W{{0,3}}{re.escape(v)}\b", re.IGNORECASE) for n, v in old_versions.items()]
    found = []
    for relative in MENTIONS:
        path = ROOT / relative
        if path.exists():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if any(p.search(line) for p in patterns):
                    found.append(f"{relative}:{number}: {line.strip()[:120]}")
    return found


def resolve(requirements_text: str, python: str) -> dict:
    """pip's report of a clean resolve of ``requirements_text`` (network: the package index)."""
    with tempfile.TemporaryDirectory(prefix="bump-") as folder:
        folder = Path(folder)
        (folder / "requirements.txt").write_text(requirements_text, encoding="utf-8")
        print(f"[bump] resolving requirements.txt from scratch with {python} (nothing is installed)", flush=True)
        subprocess.run([python, "-m", "venv", str(folder / "venv")], check=True)
        pip = [str(folder / "venv" / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
        command = [*pip, "install", "--dry-run", "--ignore-installed", "--report", str(folder / "report.json"),
                   "-r", str(folder / "requirements.txt")]
        if subprocess.run(command).returncode != 0:
            raise BumpError("pip found no set of packages for the new pins (its message is above); nothing was changed")
        return json.loads((folder / "report.json").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tf", help="TensorFlow version, e.g. 2.22.0")
    parser.add_argument("--keras", help="Keras version, e.g. 3.16.0")
    parser.add_argument("--tf-keras", dest="tf_keras", help="tf-keras version, e.g. 2.22.0 (same minor as --tf)")
    parser.add_argument("--jax", help="jax version (optional; jax[cpu] stays as it is without it)")
    parser.add_argument("--no-test", action="store_true", help="write the files, do not run make test")
    parser.add_argument("--keep-venv", action="store_true", help="test in the existing .venv/ (upgraded in place)")
    args = parser.parse_args(argv)
    try:
        pins = check_versions({"tf": args.tf, "keras": args.keras, "tf_keras": args.tf_keras, "jax": args.jax})
        old_requirements = REQUIREMENTS.read_text(encoding="utf-8")
        new_requirements, pin_changes = rewrite_requirements(old_requirements, pins)
        report = resolve(new_requirements, sys.executable)
    except BumpError as error:
        print(f"make bump: {error}", file=sys.stderr)
        return 2
    old_constraints = CONSTRAINTS.read_text(encoding="utf-8")
    new_constraints = constraints_from_report(report)
    REQUIREMENTS.write_text(new_requirements, encoding="utf-8")
    CONSTRAINTS.write_text(new_constraints, encoding="utf-8")
    summary = describe_changes(pin_changes, old_constraints, new_constraints)
    print("[bump] " + summary.replace("\n", "\n[bump] "), flush=True)
    stale = mentions({name: before for name, (before, _after) in pin_changes.items()})
    code = 0
    if not args.no_test:
        if not args.keep_venv and (ROOT / ".venv").exists():
            print("[bump] removing .venv/ so that make test installs the new set from scratch", flush=True)
            shutil.rmtree(ROOT / ".venv")
        code = subprocess.run(["make", "test", f"PYTHON={sys.executable}"], cwd=ROOT).returncode
        print("[bump] " + summary.replace("\n", "\n[bump] "))
        print(f"[bump] make test: {'passed' if code == 0 else f'FAILED (exit status {code})'}")
    if stale:
        print("[bump] still naming an old version (update what should change):\n[bump]   " + "\n[bump]   ".join(stale))
    if code:
        print("[bump] the files are changed; fix what failed, or undo with: git checkout requirements.txt constraints.txt")
    return code


if __name__ == "__main__":
    sys.exit(main())
