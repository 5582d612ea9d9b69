"""Generate ``lessons/`` from ``solutions/`` (the single source of every notebook).

Authors write ``solutions/NN_topic.ipynb`` and mark what learners must write themselves:

* a region of a code cell between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes a
  stub: the lines in the region that start with ``#>`` (the marker and one space removed),
  or, when there are none, ``...  # YOUR CODE HERE`` at the region's indentation;
* a code cell containing a line ``### SOLUTION ONLY`` (or a markdown cell containing
  ``<!-- SOLUTION ONLY -->``) is left out of the lesson;
* every output and execution count is cleared, ``# NBVAL_CHECK_OUTPUT`` lines are removed
  (a lesson has no reference output to compare), and widget state is dropped.

Usage::

    python tools/make_lessons.py            # write every lessons/NN_topic.ipynb
    python tools/make_lessons.py --check    # exit 1 and list the lessons that drifted
    python tools/make_lessons.py solutions/01_lookup_tables.ipynb   # just one

It works on notebooks through nbformat, never on JSON text.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_SOLUTION_ONLY = "### SOLUTION ONLY"
MARKDOWN_SOLUTION_ONLY = "<!-- SOLUTION ONLY -->"
DROPPED_LINES = re.compile(r"^\s*# NBVAL_(CHECK_OUTPUT|IGNORE_OUTPUT)\s*$")
KEPT_CELL_METADATA = ("tags", "editable", "deletable", "jupyter")


class MarkerError(ValueError):
    """A solution notebook has unbalanced or nested solution markers."""


def stub_source(source: str, where: str = "cell") -> str:
    """Replace each solution region in a code cell's source by its stub; see the module docstring."""
    output: list[str] = []
    region: list[str] | None = None
    indent = ""
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if region is not None:
                raise MarkerError(f"{where}, line {number}: {BEGIN} inside another solution region")
            region, indent = [], line[: len(line) - len(line.lstrip())]
        elif stripped.startswith(END):
            if region is None:
                raise MarkerError(f"{where}, line {number}: {END} without {BEGIN}")
            prompts = [r for r in region if r.strip().startswith("#>")]
            if prompts:
                output.extend(indent + p.strip()[2:].removeprefix(" ") for p in prompts)
            else:
                output.append(f"{indent}...  # YOUR CODE HERE")
            region = None
        elif region is not None:
            region.append(line)
        elif not DROPPED_LINES.match(line):
            output.append(line)
    if region is not None:
        raise MarkerError(f"{where}: {BEGIN} without {END}")
    return "\n".join(output)


def make_lesson(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the lesson notebook generated from a solution notebook (the input is not changed)."""
    lesson = nbformat.v4.new_notebook()
    lesson.metadata = copy.deepcopy({k: v for k, v in solution.metadata.items() if k in ("kernelspec", "language_info")})
    lesson.metadata.get("language_info", {}).pop("version", None)
    for index, cell in enumerate(solution.cells):
        where = f"{name} cell {index}"
        if cell.cell_type == "code":
            if any(line.strip() == CODE_SOLUTION_ONLY for line in cell.source.splitlines()):
                continue
            new = nbformat.v4.new_code_cell(stub_source(cell.source, where))
        elif cell.cell_type == "markdown":
            if MARKDOWN_SOLUTION_ONLY in cell.source:
                continue
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        new.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
        new.pop("id", None)
        lesson.cells.append(new)
    lesson.nbformat, lesson.nbformat_minor = 4, 4  # no cell ids: stable, diff-friendly files
    return lesson


def lesson_path(solution_path: Path) -> Path:
    return LESSONS / solution_path.name


def render(solution_path: Path) -> str:
    """The exact text the lesson file for ``solution_path`` should contain."""
    solution = nbformat.read(solution_path, as_version=4)
    return nbformat.writes(make_lesson(solution, solution_path.name)) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    os.chmod(tmp.name, 0o644)  # temporary files are owner-only; the result is an ordinary file
    os.replace(tmp.name, path)


def drifted(solution_paths: list[Path]) -> list[str]:
    """Names of lessons that differ from what the generator would write (or are missing/extra)."""
    problems = []
    for path in solution_paths:
        target = lesson_path(path)
        if not target.exists():
            problems.append(f"{target.relative_to(ROOT)} is missing")
        elif target.read_text(encoding="utf-8") != render(path):
            problems.append(f"{target.relative_to(ROOT)} differs from its solution")
    expected = {lesson_path(p).name for p in solution_paths}
    for extra in sorted(LESSONS.glob("*.ipynb")):
        if extra.name not in expected and len(solution_paths) == len(all_solutions()):
            problems.append(f"{extra.relative_to(ROOT)} has no solution notebook")
    return problems


def all_solutions() -> list[Path]:
    return sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="solution notebooks (default: all)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if lessons/ drifted")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or all_solutions()
    if args.check:
        problems = drifted(paths)
        for problem in problems:
            print(problem)
        if problems:
            print("Regenerate with: make lessons (or python tools/make_lessons.py)")
        return 1 if problems else 0
    for path in paths:
        write_atomically(lesson_path(path), render(path))
        print(f"wrote {lesson_path(path).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
