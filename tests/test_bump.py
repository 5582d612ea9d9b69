"""tools/bump.py (make bump) and the Makefile's PYTHON= switch (issue 18): the parts without network.

The resolve itself (pip against the package index) and the make test that follows are exercised by
running make bump (MAINTAINING.md); here: the checks of the arguments, the rewrite of
requirements.txt, constraints.txt from pip's report, the summary of what changed, and the list of
stale mentions.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bump", ROOT / "tools" / "bump.py")
bump = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bump)

REQUIREMENTS = """# Pinned, tested versions.
tensorflow==2.21.0
keras==3.15.1
tf-keras==2.21.0
jax[cpu]==0.10.2
numpy==2.4.6  # arrays
"""


def test_the_pins_move_and_everything_else_stays():
    text, changes = bump.rewrite_requirements(REQUIREMENTS, {"tensorflow": "2.22.0", "keras": "3.16.0", "tf-keras": "2.22.0",
                                                             "jax": "0.11.0"})
    assert text == REQUIREMENTS.replace("2.21.0", "2.22.0").replace("3.15.1", "3.16.0").replace("0.10.2", "0.11.0")
    assert changes == {"tensorflow": ("2.21.0", "2.22.0"), "keras": ("3.15.1", "3.16.0"), "tf-keras": ("2.21.0", "2.22.0"),
                       "jax": ("0.10.2", "0.11.0")}


def test_the_real_requirements_file_has_a_line_for_each_package_bump_moves():
    _, changes = bump.rewrite_requirements((ROOT / "requirements.txt").read_text(encoding="utf-8"),
                                           {"tensorflow": "9.9.9", "keras": "9.9.9", "tf-keras": "9.9.9", "jax": "9.9.9"})
    assert set(changes) == {"tensorflow", "keras", "tf-keras", "jax"}


def test_a_package_without_a_pin_is_an_error_not_a_silent_skip():
    with pytest.raises(bump.BumpError, match="no 'name==version' line for tf-keras"):
        bump.rewrite_requirements("tensorflow==2.21.0\nkeras==3.15.1\n", {"tensorflow": "2.22.0", "tf-keras": "2.22.0"})


@pytest.mark.parametrize("versions, words", [
    ({"tf": "2.22.0", "keras": "3.16.0", "tf_keras": None}, "TF_KERAS= is missing"),
    ({"tf": "", "keras": "3.16.0", "tf_keras": "2.22.0"}, "TF= is missing: make bump TF=2.22.0"),
    ({"tf": "2.22", "keras": "3.16.0", "tf_keras": "2.23.0"}, "needs TensorFlow 2.23.*, but TF=2.22"),
    ({"tf": "latest", "keras": "3.16.0", "tf_keras": "2.22.0"}, "TF='latest' is not a release number"),
    ({"tf": "2.22.0", "keras": "2.16.0", "tf_keras": "2.22.0"}, "written for Keras 3"),
    ({"tf": "2.22.0", "keras": "3.16.0", "tf_keras": "2.22.0", "jax": "0.11"}, None),
    ({"tf": "2.22.0rc1", "keras": "3.16.0.dev2026102704", "tf_keras": "2.22.0"}, None),
])
def test_versions_are_checked_before_anything_is_resolved(versions, words):
    if words is None:
        pins = bump.check_versions(versions)
        assert pins["tensorflow"] == versions["tf"] and pins["tf-keras"] == versions["tf_keras"]
        assert ("jax" in pins) == bool(versions.get("jax"))
    else:
        with pytest.raises(bump.BumpError, match=words.replace("*", r"\*").replace("(", r"\(")):
            bump.check_versions(versions)


REPORT = {
    "environment": {"python_version": "3.11", "sys_platform": "linux", "platform_machine": "x86_64"},
    "install": [{"metadata": {"name": name, "version": version}} for name, version in
                [("tensorflow", "2.22.0"), ("Jinja2", "3.1.6"), ("absl-py", "2.5.1"), ("tf_keras", "2.22.0"),
                 ("MarkupSafe", "3.0.4"), ("course-lib", "0.1.0"), ("protobuf", "7.40.0")]],
}


def test_constraints_are_every_resolved_package_sorted_as_pip_freeze_sorts():
    text = bump.constraints_from_report(REPORT)
    header = [line for line in text.splitlines() if line.startswith("#")]
    pins = [line for line in text.splitlines() if not line.startswith("#")]
    assert "on Python 3.11," in header[0] and "linux x86_64" in header[1] and "make bump" in header[-1]
    assert pins == ["absl-py==2.5.1", "Jinja2==3.1.6", "MarkupSafe==3.0.4", "protobuf==7.40.0", "tensorflow==2.22.0",
                    "tf_keras==2.22.0"]  # course-lib (this repository) is never pinned


def test_the_summary_lists_what_moved_came_and_went():
    old = "# header\nabsl-py==2.5.1\nprotobuf==7.36.2\ntensorflow==2.21.0\ngone-pkg==1.0\n"
    new = bump.constraints_from_report(REPORT)
    text = bump.describe_changes({"tensorflow": ("2.21.0", "2.22.0")}, old, new)
    assert text.splitlines()[:3] == ["requirements.txt:", "  tensorflow: 2.21.0 -> 2.22.0",
                                     "constraints.txt: 2 moved, 3 new, 1 gone, 1 unchanged"]
    assert "  protobuf: 7.36.2 -> 7.40.0" in text and "  Jinja2==3.1.6 (new)" in text and "  gone-pkg==1.0 (gone)" in text


def test_stale_mentions_are_found_in_the_maintained_pages():
    found = bump.mentions({"tensorflow": "2.21.0"})
    assert any(line.startswith("README.md:") and "TensorFlow 2.21.0" in line for line in found)
    assert bump.mentions({"tensorflow": "0.0.1"}) == []


def test_bump_stops_with_one_line_when_an_argument_is_missing(capsys):
    assert bump.main(["--tf", "2.22.0", "--keras", "3.16.0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["make bump: TF_KERAS= is missing: make bump TF=2.22.0 KERAS=3.16.0 TF_KERAS=2.22.0 (JAX=... optional)"]


# --------------------------------------------------------------------------- Makefile: PYTHON=


def fake_python(path: Path, version: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture()
def course_copy(tmp_path):
    for name in ("Makefile", "requirements.txt", "constraints.txt", "pyproject.toml"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    fake_python(tmp_path / ".venv" / "bin" / "python", "3.11.7")
    (tmp_path / ".venv" / ".installed").touch()
    return tmp_path


def make_n(folder: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "MAKEFLAGS", "MFLAGS")}
    result = subprocess.run(["make", "-n", "setup", *args], cwd=folder, capture_output=True, text=True, env=env)
    return result.stdout + result.stderr


def test_make_with_another_python_on_the_command_line_makes_the_venv_anew(course_copy):
    other = fake_python(course_copy / "py313", "3.13.0")
    out = make_n(course_copy, f"PYTHON={other}")
    assert ".venv/ was made with Python 3.11.7; PYTHON=" in out and "is Python 3.13.0: making .venv/ anew" in out
    assert "rm -rf .venv" in out


def test_make_with_the_same_python_or_none_keeps_the_venv(course_copy):
    same = fake_python(course_copy / "py311", "3.11.7")
    assert "Nothing to be done" in make_n(course_copy, f"PYTHON={same}")
    assert "Nothing to be done" in make_n(course_copy)  # no PYTHON=: the existing .venv/, whatever made it


def test_a_python_that_does_not_run_is_named(course_copy):
    out = make_n(course_copy, "PYTHON=python3.99-does-not-exist")
    assert "PYTHON=python3.99-does-not-exist does not run" in out
