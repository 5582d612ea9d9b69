"""Compute each lesson's learner time from its content, and keep the stated times honest.

The method (also in AUTHORING.md) counts what a learner sees in ``lessons/NN_topic.ipynb``:

* **teaching**: words of markdown at :data:`WORDS_PER_MINUTE` (careful reading of technical
  prose), plus non-blank code lines at :data:`CODE_LINES_PER_MINUTE` (reading the code and
  its output), plus :data:`MINUTES_PER_CODE_CELL` per code cell (running it, looking at it);
* **exercises**: :data:`MINUTES_PER_EXERCISE` per exercise (each ``qN.check(`` a learner runs,
  counted once per ``qN``), as Carpentries keeps teaching and exercise minutes apart.

A lesson's *core path* is every cell outside its optional part. The optional part starts at
a markdown cell whose first line begins with ``## Going deeper`` and ends at the next
``## Key points`` cell (or at the end). Minutes are rounded up to the next 5.

Each solution notebook states its time in its first markdown cell, on one line::

    **Time:** core path about 55 min (35 min teaching, 20 min exercises); going deeper about 25 min more, optional.

Usage::

    python tools/lesson_times.py            # print the table
    python tools/lesson_times.py --write    # write the computed times into solutions/ headers,
                                            # README.md's and INSTRUCTORS.md's lesson tables and lesson 00's map
    python tools/lesson_times.py --check    # exit 1 if a stated time is > 20% below the computed one

After ``--write``, regenerate the lessons (``make lessons``).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_lessons import LESSONS, ROOT, SOLUTIONS, write_atomically  # noqa: E402

WORDS_PER_MINUTE = 140
CODE_LINES_PER_MINUTE = 10
MINUTES_PER_CODE_CELL = 0.25
MINUTES_PER_EXERCISE = 6
#: A stated time may be at most this fraction below the computed one.
TOLERANCE = 0.20

GOING_DEEPER = re.compile(r"^##\s+Going deeper", re.IGNORECASE)
KEY_POINTS = re.compile(r"^##\s+Key points", re.IGNORECASE)
EXERCISE_CALL = re.compile(r"\b(q\d+)\.check\(")
TIME_LINE = re.compile(r"^\*\*Time:\*\*.*$", re.MULTILINE)
STATED = re.compile(r"core path about (\d+) min.*?going deeper about (\d+) min", re.IGNORECASE)
WORD = re.compile(r"[A-Za-z0-9][\w'’.-]*")
#: Pages whose lesson tables (rows starting ``| NN |``) carry each lesson's time.
TABLE_PAGES = (ROOT / "README.md", ROOT / "INSTRUCTORS.md")
TIME_CELL = re.compile(r"^\s*\d+ min( core)?( \+ \d+ optional)?\s*$")


def round_up(minutes: float, step: int = 5) -> int:
    return int(step * math.ceil(minutes / step)) if minutes > 0 else 0


@dataclass
class Part:
    words: int = 0
    code_lines: int = 0
    code_cells: int = 0
    exercises: int = 0

    @property
    def teaching(self) -> float:
        return (self.words / WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE
                + self.code_cells * MINUTES_PER_CODE_CELL)

    @property
    def exercise_minutes(self) -> float:
        return self.exercises * MINUTES_PER_EXERCISE

    @property
    def total(self) -> int:
        return round_up(self.teaching + self.exercise_minutes)


@dataclass
class LessonTime:
    name: str
    core: Part
    optional: Part

    def header(self) -> str:
        teaching = math.ceil(self.core.teaching)  # the parts add up to at most the rounded total
        exercises = math.ceil(self.core.exercise_minutes)
        return (f"**Time:** core path about {self.core.total} min ({teaching} min teaching, "
                f"{exercises} min exercises); going deeper about {self.optional.total} min more, optional.")

    def short(self) -> str:
        return f"{self.core.total} min" + (f" + {self.optional.total} optional" if self.optional.total else "")


def measure(notebook: nbformat.NotebookNode, name: str = "") -> LessonTime:
    """Count words, code and exercises of a lesson notebook, split into core and optional."""
    core, optional = Part(), Part()
    part = core
    seen: dict[int, set] = {id(core): set(), id(optional): set()}
    for cell in notebook.cells:
        first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
        if cell.cell_type == "markdown" and GOING_DEEPER.match(first):
            part = optional
        elif cell.cell_type == "markdown" and KEY_POINTS.match(first):
            part = core
        if cell.cell_type == "markdown":
            text = TIME_LINE.sub("", re.sub(r"<[^>]+>|\(https?://[^)]*\)", " ", cell.source))
            part.words += len(WORD.findall(text))
        elif cell.cell_type == "code":
            part.code_cells += 1
            part.code_lines += sum(1 for line in cell.source.splitlines() if line.strip())
            seen[id(part)].update(EXERCISE_CALL.findall(cell.source))
    core.exercises, optional.exercises = len(seen[id(core)]), len(seen[id(optional)] - seen[id(core)])
    return LessonTime(name, core, optional)


def lesson_names() -> list[str]:
    return [p.name for p in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))]


def computed_times() -> list[LessonTime]:
    """The computed time of every lesson (from ``lessons/``, what learners see)."""
    return [measure(nbformat.read(LESSONS / name, as_version=4), name) for name in lesson_names()]


def stated_time(solution_path: Path) -> tuple[int, int] | None:
    """(core, optional) minutes stated in a solution's header, or None when it states none."""
    notebook = nbformat.read(solution_path, as_version=4)
    first = next((c for c in notebook.cells if c.cell_type == "markdown"), None)
    match = STATED.search(first.source) if first else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def problems() -> list[str]:
    """Every lesson whose stated time is missing or more than TOLERANCE below the computed time."""
    found = []
    for time in computed_times():
        stated = stated_time(SOLUTIONS / time.name)
        if stated is None:
            found.append(f"{time.name}: no '**Time:** core path about N min ...' line in its first markdown cell")
            continue
        for label, said, computed in (("core path", stated[0], time.core.total),
                                      ("going deeper", stated[1], time.optional.total)):
            if said < (1 - TOLERANCE) * computed:
                found.append(f"{time.name}: states {label} {said} min, computed {computed} min")
    return found


def _replace_time_cells(text: str, times: dict[str, str]) -> str:
    """In markdown table rows starting ``| NN |``, replace the time cell by the computed one."""
    out = []
    for line in text.split("\n"):
        match = re.match(r"^\|\s*(\d\d)\s*\|", line)
        if match and match.group(1) in times:
            cells = line.split("|")
            for i, cell in enumerate(cells):
                if TIME_CELL.match(cell):
                    cells[i] = f" {times[match.group(1)]} "
                    break
            line = "|".join(cells)
        out.append(line)
    return "\n".join(out)


def write_times() -> None:
    times = computed_times()
    short = {t.name[:2]: t.short() for t in times}
    for time in times:
        path = SOLUTIONS / time.name
        notebook = nbformat.read(path, as_version=4)
        first = next(c for c in notebook.cells if c.cell_type == "markdown")
        if TIME_LINE.search(first.source):
            first.source = TIME_LINE.sub(time.header(), first.source, count=1)
        else:
            lines = first.source.split("\n")
            first.source = "\n".join(lines[:1] + ["", time.header()] + lines[1:])
        if time.name.startswith("00_"):
            for cell in notebook.cells:
                if cell.cell_type == "markdown" and "| 01 |" in cell.source:
                    cell.source = _replace_time_cells(cell.source, short)
        write_atomically(path, nbformat.writes(notebook) + "\n")
    for page in TABLE_PAGES:
        write_atomically(page, _replace_time_cells(page.read_text(encoding="utf-8"), short))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="write the computed times into the notebooks and README")
    group.add_argument("--check", action="store_true", help="exit 1 if a stated time is too low")
    args = parser.parse_args(argv)
    if args.write:
        write_times()
        print("Wrote the times; now run: make lessons")
        return 0
    if args.check:
        found = problems()
        for problem in found:
            print(problem)
        return 1 if found else 0
    print(f"{'lesson':<36}{'core':>6}{'teach':>7}{'exer':>6}{'optional':>10}   words/lines/cells core")
    total_core = total_optional = 0
    for t in computed_times():
        total_core += t.core.total
        total_optional += t.optional.total
        print(f"{t.name:<36}{t.core.total:>6}{t.core.teaching:>7.0f}{t.core.exercise_minutes:>6.0f}"
              f"{t.optional.total:>10}   {t.core.words}/{t.core.code_lines}/{t.core.code_cells}")
    print(f"{'total':<36}{total_core:>6}{'':>13}{total_optional:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
