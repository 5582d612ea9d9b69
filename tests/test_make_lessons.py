"""Tests of the lesson generator, and the single-source guarantee: lessons/ == generate(solutions/)."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("make_lessons", ROOT / "tools" / "make_lessons.py")
make_lessons = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_lessons)


def test_region_becomes_prompt_lines():
    source = "x = 1\n### BEGIN SOLUTION\n#> answer = ...  # the row count\nanswer = x + 1\n### END SOLUTION\nq1.check(answer)"
    assert make_lessons.stub_source(source) == "x = 1\nanswer = ...  # the row count\nq1.check(answer)"


def test_region_without_prompt_gets_indented_default_stub():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x * 2\n    ### END SOLUTION"
    assert make_lessons.stub_source(source) == "def f(x):\n    ...  # YOUR CODE HERE"


def test_nbval_comment_lines_are_dropped():
    assert make_lessons.stub_source("# NBVAL_CHECK_OUTPUT\nprint(1)") == "print(1)"


@pytest.mark.parametrize(
    "source, problem",
    [
        ("### BEGIN SOLUTION\nx = 1", "without ### END SOLUTION"),
        ("x = 1\n### END SOLUTION", "without ### BEGIN SOLUTION"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
    ],
)
def test_unbalanced_markers_are_errors(source, problem):
    with pytest.raises(make_lessons.MarkerError, match=problem):
        make_lessons.stub_source(source)


def test_make_lesson_drops_solution_cells_and_outputs():
    solution = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print('hi')", execution_count=3)
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    solution.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        code,
        nbformat.v4.new_code_cell("### SOLUTION ONLY\nprint('secret')"),
        nbformat.v4.new_markdown_cell("<!-- SOLUTION ONLY -->\nWhy the answer works."),
    ]
    lesson = make_lessons.make_lesson(solution)
    assert [c.source for c in lesson.cells] == ["# Title", "print('hi')"]
    assert lesson.cells[1].outputs == [] and lesson.cells[1].execution_count is None
    nbformat.validate(lesson)


def test_lessons_are_in_sync_with_solutions():
    solutions = make_lessons.all_solutions()
    assert solutions, "no solution notebooks found"
    problems = make_lessons.drifted(solutions)
    assert not problems, "lessons/ drifted from solutions/ (run `make lessons`):\n" + "\n".join(problems)


def test_an_edited_solution_is_detected_as_drift(tmp_path, monkeypatch):
    solution_path = make_lessons.all_solutions()[0]
    notebook = nbformat.read(solution_path, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("An edit nobody regenerated."))
    edited = tmp_path / solution_path.name
    nbformat.write(notebook, edited)
    assert make_lessons.drifted([edited]) == [f"lessons/{solution_path.name} differs from its solution"]


def test_lessons_hold_no_solutions_or_outputs():
    for path in sorted((ROOT / "lessons").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            assert "### BEGIN SOLUTION" not in cell.source, path.name
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path.name} has outputs"
