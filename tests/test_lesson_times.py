"""Stated lesson times are honest: computed from the content by tools/lesson_times.py (method in AUTHORING.md)."""

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import lesson_times  # noqa: E402


def test_stated_times_are_not_below_the_computed_ones():
    assert lesson_times.problems() == []


def test_every_core_path_fits_about_an_hour():
    for time in lesson_times.computed_times():
        assert time.core.total <= 65, f"{time.name}: core path {time.core.total} min; move digressions to 'Going deeper'"


def test_total_of_stated_times_is_within_20_percent_of_computed():
    computed = sum(t.core.total + t.optional.total for t in lesson_times.computed_times())
    stated = sum(sum(lesson_times.stated_time(lesson_times.SOLUTIONS / t.name)) for t in lesson_times.computed_times())
    assert abs(stated - computed) <= 0.2 * computed


def _time_cells(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^\|\s*(\d\d)\s*\|", line)
        if match:
            cells = [c.strip() for c in line.split("|")]
            rows[match.group(1)] = next((c for c in cells if lesson_times.TIME_CELL.match(c)), None)
    return rows


def test_readme_instructors_and_lesson_00_map_match_the_headers():
    expected = {t.name[:2]: t.short() for t in lesson_times.computed_times()}
    readme = _time_cells((ROOT / "README.md").read_text(encoding="utf-8"))
    instructors = _time_cells((ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8"))
    welcome = nbformat.read(ROOT / "solutions" / "00_welcome.ipynb", as_version=4)
    course_map = _time_cells(next(c.source for c in welcome.cells if c.cell_type == "markdown" and "| 01 |" in c.source))
    for name, short in expected.items():
        assert readme.get(name) == short, f"README row {name}: {readme.get(name)!r}, computed {short!r}"
        assert course_map.get(name) == short, f"lesson 00 map row {name}: {course_map.get(name)!r}, computed {short!r}"
        assert instructors.get(name) == short, f"INSTRUCTORS.md row {name}: {instructors.get(name)!r}, computed {short!r}"


@pytest.mark.parametrize(
    "cells, core, optional",
    [
        ([("markdown", "word " * 140)], 5, 0),
        ([("markdown", "# L"), ("code", "q1.check(x)\nq1.check(y)"), ("markdown", "## Going deeper\n" + "w " * 690),
          ("markdown", "## Key points\n- one")], 10, 5),
    ],
)
def test_measure_splits_core_and_going_deeper(cells, core, optional):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(s) if kind == "markdown" else nbformat.v4.new_code_cell(s)
                      for kind, s in cells]
    time = lesson_times.measure(notebook, "x")
    assert (time.core.total, time.optional.total) == (core, optional)
    assert time.core.exercises == (1 if len(cells) > 1 else 0)
