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

Strict markers: a line that looks like a marker (any case, spacing, number of ``#``,
``_``/``-`` instead of a space, ``START``/``STOP`` for ``BEGIN``/``END``, a code marker in a
markdown cell or the other way round) but is not exactly one of the markers above is an
error naming the notebook, the cell and the line, so no solution can reach ``lessons/``
through a typo. A batch is all or nothing: every notebook is read and rendered first, and
nothing is written if any of them fails. Files are nbformat 4.5 with stable cell ids (the
solution cell's id, or one derived from the notebook name and cell index), so running the
generator twice gives byte-identical files and JupyterLab opens a lesson unmodified.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
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
# What a marker looks like once case, spaces, '#', '_', '-', '<!--' and the like are ignored.
MARKER_LIKE = re.compile(r"(begin|start|end|stop)(of)?solution|solution(begin|start|end|stop|only)|onlysolution")
# The kernel every notebook runs on, as ipykernel names it: JupyterLab rewrites any other
# kernelspec when the kernel starts, which marks the notebook modified on open.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")  # nbformat 4.5's rule for a cell id


class MarkerError(ValueError):
    """A solution notebook has a malformed, misplaced, unbalanced or nested solution marker."""


class NotebookError(ValueError):
    """A notebook could not be read (missing, not JSON, not a valid notebook)."""


def looks_like_marker(line: str) -> bool:
    """True if ``line`` resembles a solution marker, whatever its case, spacing or punctuation."""
    return bool(MARKER_LIKE.search(re.sub(r"[^a-z]", "", line.lower())))


def check_markdown(source: str, where: str = "cell") -> None:
    """Raise :class:`MarkerError` for marker-like lines in a markdown cell other than the exact
    ``<!-- SOLUTION ONLY -->`` line (a code marker in markdown would publish the solution)."""
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() != MARKDOWN_SOLUTION_ONLY and looks_like_marker(line):
            raise MarkerError(f"{where}, line {number}: {line.strip()!r} looks like a solution marker but is "
                              f"not one; in a markdown cell the only marker is a line {MARKDOWN_SOLUTION_ONLY!r}")


def is_solution_only(source: str, where: str = "cell") -> bool:
    """True if a code cell is marked ``### SOLUTION ONLY`` (checks every marker-like line first)."""
    exact = (BEGIN, END, CODE_SOLUTION_ONLY)
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() not in exact and looks_like_marker(line):
            raise MarkerError(f"{where}, line {number}: {line.strip()!r} looks like a solution marker but is "
                              f"not one; write exactly {BEGIN!r}, {END!r} or {CODE_SOLUTION_ONLY!r} on a line of its own")
    return any(line.strip() == CODE_SOLUTION_ONLY for line in source.splitlines())


def stub_source(source: str, where: str = "cell") -> str:
    """Replace each solution region in a code cell's source by its stub; see the module docstring."""
    is_solution_only(source, where)  # raises on any near-miss marker
    output: list[str] = []
    region: list[str] | None = None
    indent = ""
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if region is not None:
                raise MarkerError(f"{where}, line {number}: {BEGIN} inside another solution region")
            region, indent = [], line[: len(line) - len(line.lstrip())]
        elif stripped == END:
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


def stable_cell_id(name: str, index: int, used: set[str]) -> str:
    """A cell id derived from the notebook's file name and the cell's index (same input, same id)."""
    salt = 0
    while True:
        candidate = hashlib.sha256(f"{name}:{index}:{salt}".encode()).hexdigest()[:12]
        if candidate not in used:
            return candidate
        salt += 1


def ensure_cell_ids(notebook: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Make ``notebook`` nbformat 4.5 with a valid, unique id on every cell (in place; returned).

    Existing valid ids are kept; a missing, invalid or repeated one is replaced by
    :func:`stable_cell_id`, so the result depends only on the notebook and its file name.
    """
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    used: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        cell_id = cell.get("id")
        if not (isinstance(cell_id, str) and CELL_ID.match(cell_id)) or cell_id in used:
            cell_id = stable_cell_id(name, index, used)
        cell["id"] = cell_id
        used.add(cell_id)
    return notebook


def make_lesson(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the lesson notebook generated from a solution notebook (the input is not changed).

    Raises:
        MarkerError: a malformed, misplaced or unbalanced marker; the message names ``name``,
            the cell index and the line.
    """
    lesson = nbformat.v4.new_notebook()
    lesson.metadata = copy.deepcopy({k: v for k, v in solution.metadata.items() if k == "language_info"})
    lesson.metadata["kernelspec"] = dict(KERNELSPEC)
    # language_info (with the Python version) is kept as the runner wrote it: JupyterLab fills it in
    # when the kernel starts, and would mark a lesson without it (or with another version) modified.
    for index, cell in enumerate(solution.cells):
        where = f"{name} cell {index}"
        if cell.cell_type == "code":
            if is_solution_only(cell.source, where):
                continue
            new = nbformat.v4.new_code_cell(stub_source(cell.source, where))
        elif cell.cell_type == "markdown":
            check_markdown(cell.source, where)
            if any(line.strip() == MARKDOWN_SOLUTION_ONLY for line in cell.source.splitlines()):
                continue
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            check_markdown(cell.source, where)  # raw cells are copied verbatim: no marker may hide there
            new = nbformat.v4.new_raw_cell(cell.source)
        new.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
        new["id"] = cell.get("id")  # the solution cell's id when valid; ensure_cell_ids fixes the rest
        lesson.cells.append(new)
    return ensure_cell_ids(lesson, name)


def lesson_path(solution_path: Path) -> Path:
    return LESSONS / solution_path.name


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook; :class:`NotebookError` with one line naming the file otherwise."""
    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, nbformat.ValidationError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise NotebookError(f"{display(path)}: cannot read this notebook ({type(exc).__name__}: {first})") from None
    return notebook


def display(path: Path) -> str:
    """``path`` relative to the course folder when inside it (messages never show absolute paths)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def render(solution_path: Path) -> str:
    """The exact text the lesson file for ``solution_path`` should contain.

    Raises:
        NotebookError: the solution notebook cannot be read.
        MarkerError: a marker problem (see :func:`make_lesson`).
    """
    solution = read_notebook(solution_path)
    return nbformat.writes(make_lesson(solution, display(solution_path))) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    os.chmod(tmp.name, 0o644)  # temporary files are owner-only; the result is an ordinary file
    os.replace(tmp.name, path)


def drifted(solution_paths: list[Path]) -> list[str]:
    """Problems that make lessons/ differ from what the generator would write: a missing, extra
    or different lesson, or a solution the generator refuses (marker error, unreadable)."""
    problems = []
    for path in solution_paths:
        target = lesson_path(path)
        try:
            text = render(path)
        except (MarkerError, NotebookError) as exc:
            problems.append(f"error: {exc}")
            continue
        if not target.exists():
            problems.append(f"{display(target)} is missing")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"{display(target)} differs from its solution")
    expected = {lesson_path(p).name for p in solution_paths}
    for extra in sorted(LESSONS.glob("*.ipynb")):
        if extra.name not in expected and len(solution_paths) == len(all_solutions()):
            problems.append(f"{display(extra)} has no solution notebook")
    return problems


def all_solutions() -> list[Path]:
    return sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


def generate(solution_paths: list[Path]) -> list[Path]:
    """Render every lesson first, then write them all; on any error write nothing.

    Raises:
        MarkerError or NotebookError: with every problem of the batch in the message.
    """
    rendered, errors = {}, []
    for path in solution_paths:
        try:
            rendered[lesson_path(path)] = render(path)
        except (MarkerError, NotebookError) as exc:
            errors.append(exc)
    if errors:
        kind = MarkerError if any(isinstance(e, MarkerError) for e in errors) else NotebookError
        raise kind("\n".join(str(e) for e in errors) + f"\nNo lesson written ({len(errors)} of "
                   f"{len(solution_paths)} notebooks failed).")
    for target, text in rendered.items():
        write_atomically(target, text)
    return list(rendered)


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
    try:
        written = generate(paths)
    except (MarkerError, NotebookError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for target in written:
        print(f"wrote {display(target)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
