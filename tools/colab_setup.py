"""Prepare a Google Colab runtime for the course, without replacing Colab's TensorFlow.

Run from the first cell of a lesson on Colab (README, "Working on Google Colab")::

    %run /content/course/tools/colab_setup.py

On Colab it installs the ``tf-keras`` release that matches the TensorFlow Colab already has
(``tf-keras=={major}.{minor}.*``; each tf-keras release requires exactly its TensorFlow minor
version), with ``tensorflow=={installed version}`` named on the same pip command, so pip fails
loudly instead of replacing TensorFlow if no matching tf-keras exists. Nothing is installed when
a matching tf-keras is already there. Then it puts the course on ``sys.path`` and moves to
``lessons/``. Anywhere else (a laptop, CI) it does nothing and says so.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent


def on_colab() -> bool:
    """True inside a Google Colab runtime (its ``google.colab`` package is importable)."""
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


def minor(version: str) -> str:
    """``"2.19.0"`` -> ``"2.19"``; ``ValueError`` naming the version if it is not ``X.Y...``."""
    parts = version.split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        raise ValueError(f"cannot read a TensorFlow version from {version!r}")
    return f"{parts[0]}.{parts[1]}"


def pip_command(tf_version: str, tf_keras_version: str | None) -> list[str] | None:
    """The pip command that adds the matching tf-keras, or None when the installed one matches."""
    wanted = minor(tf_version)
    if tf_keras_version is not None and minor(tf_keras_version) == wanted:
        return None
    return [sys.executable, "-m", "pip", "install", "--quiet", f"tf-keras=={wanted}.*",
            f"tensorflow=={tf_version}"]


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def main() -> int:
    if not on_colab():
        print("Not on Google Colab: nothing to do (use `make lab` on your own machine).")
        return 0
    tf_version = installed("tensorflow")
    if tf_version is None:
        print("Colab has no TensorFlow in this runtime; choose a standard Python 3 runtime.", file=sys.stderr)
        return 1
    command = pip_command(tf_version, installed("tf-keras"))
    if command is None:
        print(f"TensorFlow {tf_version} with a matching tf-keras {installed('tf-keras')}: nothing to install.")
    else:
        print(f"Installing {command[-2]} to match Colab's TensorFlow {tf_version} (TensorFlow is kept) …")
        subprocess.run(command, check=True)
    sys.path.insert(0, str(COURSE))
    os.chdir(COURSE / "lessons")
    print(f"Course ready: {COURSE} on sys.path, working folder {COURSE / 'lessons'}.")
    return 0


if __name__ == "__main__":
    main()  # no sys.exit: `%run` in a notebook would show SystemExit
