"""Tests of the lesson generator, and the single-source guarantee: lessons/ == generate(solutions/)."""

import copy
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


# ----------------------------------------------------------------- strict markers (issue 12)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SECRET = "secret_answer = 42  # SOLUTION TEXT"
EXACT_MARKERS = {"### BEGIN SOLUTION", "### END SOLUTION", "### SOLUTION ONLY"}

NEAR_MISSES = [
    "###BEGIN SOLUTION", "# ### Begin Solution", "### Begin Solution", "### begin solution",
    "###  BEGIN SOLUTION", "### BEGIN  SOLUTION", "## BEGIN SOLUTION", "#### BEGIN SOLUTION",
    "# BEGIN SOLUTION", "### BEGIN_SOLUTION", "### BEGIN-SOLUTION", "### BEGINSOLUTION",
    "### BEGIN SOLUTIONS", "### START SOLUTION", "### BEGIN SOLUTION:", "x = 1  ### BEGIN SOLUTION",
    "### SOLUTION BEGIN", "### Solution only", "###SOLUTION ONLY", "### SOLUTION_ONLY", "## SOLUTION ONLY",
    "<!-- SOLUTION ONLY -->", "### END OF SOLUTION", "###END SOLUTION", "### End Solution",
]


def _notebook(*cells):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = list(cells)
    return notebook


@pytest.mark.parametrize("marker", NEAR_MISSES)
def test_near_miss_marker_in_a_code_cell_is_an_error_naming_notebook_and_cell(marker):
    cell = nbformat.v4.new_code_cell(f"x = 0\n{marker}\n{SECRET}\n### END SOLUTION\nq1.check(x)")
    notebook = _notebook(nbformat.v4.new_markdown_cell("# Title"), cell)
    with pytest.raises(make_lessons.MarkerError, match=r"07_topic\.ipynb cell 1, line 2"):
        make_lessons.make_lesson(notebook, "07_topic.ipynb")


@pytest.mark.parametrize("marker", sorted(EXACT_MARKERS) + ["###BEGIN SOLUTION", "<!--SOLUTION ONLY-->",
                                                            "<!-- solution only -->"])
def test_marker_in_a_markdown_cell_is_an_error(marker):
    notebook = _notebook(nbformat.v4.new_markdown_cell(f"Some prose.\n{marker}\n{SECRET}"))
    with pytest.raises(make_lessons.MarkerError, match=r"nb\.ipynb cell 0, line 2"):
        make_lessons.make_lesson(notebook, "nb.ipynb")


def test_markdown_solution_only_must_be_a_line_of_its_own():
    ok = _notebook(nbformat.v4.new_markdown_cell("<!-- SOLUTION ONLY -->\nWhy it works."))
    assert make_lessons.make_lesson(ok).cells == []
    inline = _notebook(nbformat.v4.new_markdown_cell("Why it works. <!-- SOLUTION ONLY -->"))
    with pytest.raises(make_lessons.MarkerError):
        make_lessons.make_lesson(inline)


def test_prose_about_solutions_is_not_mistaken_for_a_marker():
    notebook = _notebook(nbformat.v4.new_markdown_cell("Run `q1.solution()` to see one solution; "
                                                       "the solution is only one way to do it."))
    assert len(make_lessons.make_lesson(notebook).cells) == 1


def _variants_of(marker: str):
    """Near-misses of a marker: case flips, spacing, hash count, separators, prefixes and suffixes."""
    words = marker.lstrip("#").split()
    case = st.sampled_from([str.upper, str.lower, str.title, str.capitalize, lambda w: w])
    return st.builds(
        lambda hashes, space1, sep, cases, prefix, suffix: (
            prefix + "#" * hashes + space1 + sep.join(c(w) for c, w in zip(cases, words)) + suffix),
        st.integers(0, 5),
        st.sampled_from(["", " ", "  ", "\t"]),
        st.sampled_from([" ", "  ", "_", "-", "", "\t"]),
        st.lists(case, min_size=len(words), max_size=len(words)),
        st.sampled_from(["", "# ", "    ", "x = 1  ", "<!-- "]),
        st.sampled_from(["", " ", ":", "S", " -->", " here"]),
    )


near_miss = st.one_of(*(_variants_of(m) for m in sorted(EXACT_MARKERS)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(begin=near_miss, end=near_miss, cell_type=st.sampled_from(["code", "markdown", "raw"]))
def test_no_solution_text_reaches_a_lesson_through_a_near_miss_marker(begin, end, cell_type):
    source = f"x = 0\n{begin}\n{SECRET}\n{end}\nprint(x)"
    new = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
           "raw": nbformat.v4.new_raw_cell}[cell_type]
    notebook = _notebook(new(source))
    try:
        lesson = make_lessons.make_lesson(notebook, "nb.ipynb")
    except make_lessons.MarkerError as exc:
        assert "nb.ipynb cell 0" in str(exc)
        return
    # Only the exact grammar in a code cell gets through, and then the secret is gone.
    assert cell_type == "code" and {begin.strip(), end.strip()} <= EXACT_MARKERS, (begin, end)
    assert all(SECRET not in cell.source for cell in lesson.cells)


def _write(path, notebook):
    nbformat.write(notebook, path)
    return path


def _point_generator_at(tmp_path, monkeypatch):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "lessons").mkdir()
    monkeypatch.setattr(make_lessons, "ROOT", tmp_path)
    monkeypatch.setattr(make_lessons, "SOLUTIONS", tmp_path / "solutions")
    monkeypatch.setattr(make_lessons, "LESSONS", tmp_path / "lessons")


def test_a_batch_is_all_or_nothing(tmp_path, monkeypatch, capsys):
    _point_generator_at(tmp_path, monkeypatch)
    good = _write(tmp_path / "solutions" / "01_good.ipynb", _notebook(nbformat.v4.new_code_cell("print(1)")))
    bad = _write(tmp_path / "solutions" / "02_bad.ipynb",
                 _notebook(nbformat.v4.new_code_cell(f"###BEGIN SOLUTION\n{SECRET}\n### END SOLUTION")))
    assert make_lessons.main([str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "solutions/02_bad.ipynb cell 0, line 1" in err and "No lesson written" in err
    assert list((tmp_path / "lessons").iterdir()) == []
    assert make_lessons.main(["--check", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "error: solutions/02_bad.ipynb cell 0, line 1" in out


def test_check_fails_on_a_near_miss_even_when_the_lesson_matches(tmp_path, monkeypatch, capsys):
    _point_generator_at(tmp_path, monkeypatch)
    path = _write(tmp_path / "solutions" / "01_x.ipynb", _notebook(nbformat.v4.new_code_cell("print(1)")))
    assert make_lessons.main([str(path)]) == 0
    assert make_lessons.main(["--check", str(path)]) == 0
    # A near-miss added to the solution: the old lesson stays, and --check refuses the solution.
    _write(path, _notebook(nbformat.v4.new_code_cell("print(1)"),
                           nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nthe answer")))
    assert make_lessons.main(["--check", str(path)]) == 1
    assert "01_x.ipynb cell 1, line 1" in capsys.readouterr().out


def test_an_unreadable_notebook_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    _point_generator_at(tmp_path, monkeypatch)
    broken = tmp_path / "solutions" / "03_broken.ipynb"
    broken.write_text("{ not json", encoding="utf-8")
    assert make_lessons.main([str(broken)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: solutions/03_broken.ipynb: cannot read this notebook")
    assert len(err) == 2 and "Traceback" not in "".join(err)


# ----------------------------------------------------------------- cell ids (issue 8)

def test_lessons_are_nbformat_4_5_with_the_solution_cell_ids():
    for solution_path in make_lessons.all_solutions():
        solution = nbformat.read(solution_path, as_version=4)
        lesson = nbformat.read(ROOT / "lessons" / solution_path.name, as_version=4)
        assert (lesson.nbformat, lesson.nbformat_minor) == (4, 5), solution_path.name
        ids = [cell.id for cell in lesson.cells]
        assert len(set(ids)) == len(ids) and all(make_lessons.CELL_ID.match(i) for i in ids)
        assert set(ids) <= {cell.get("id") for cell in solution.cells}, solution_path.name
        # JupyterLab marks a notebook modified on open when the kernel's language_info differs.
        assert lesson.metadata["language_info"] == solution.metadata["language_info"], solution_path.name
        assert lesson.metadata["kernelspec"] == make_lessons.KERNELSPEC
        nbformat.validate(lesson)


def test_cell_ids_are_stable_and_filled_in_when_missing():
    old = nbformat.v4.new_notebook()
    old.nbformat_minor = 4
    old.cells = [nbformat.v4.new_markdown_cell("a"), nbformat.v4.new_code_cell("b"), nbformat.v4.new_code_cell("c")]
    for cell in old.cells:
        del cell["id"]
    old.cells[2]["id"] = "bad id!"
    first = make_lessons.make_lesson(copy.deepcopy(old), "05_x.ipynb")
    second = make_lessons.make_lesson(copy.deepcopy(old), "05_x.ipynb")
    assert nbformat.writes(first) == nbformat.writes(second)
    assert first.nbformat_minor == 5 and len({c.id for c in first.cells}) == 3
    nbformat.validate(first)
    duplicated = make_lessons.ensure_cell_ids(_notebook(nbformat.v4.new_code_cell("a"), nbformat.v4.new_code_cell("b")), "n")
    duplicated.cells[1].id = duplicated.cells[0].id
    assert len({c.id for c in make_lessons.ensure_cell_ids(duplicated, "n").cells}) == 2


def test_regenerating_gives_byte_identical_lessons():
    for solution_path in make_lessons.all_solutions():
        assert make_lessons.render(solution_path) == make_lessons.render(solution_path)
        assert (ROOT / "lessons" / solution_path.name).read_text(encoding="utf-8") == make_lessons.render(solution_path)
