"""The learner's pre-flight check (course_lib.preflight): each check passes and fails for real."""

import os
import time

import pytest

from course_lib import datasets, preflight


def test_python_version():
    assert preflight.check_python((3, 11, 7)).ok
    old = preflight.check_python((3, 10, 12))
    assert not old.ok and "3.10.12" in old.summary and "3.11" in old.fix


def _course(tmp_path, pins="numpy==0.0.1\npytest==9.0.1\n"):
    (tmp_path / "requirements.txt").write_text("# pins\n" + pins, encoding="utf-8")
    return tmp_path


def test_setup_names_a_wrong_or_missing_package(tmp_path):
    import numpy

    course = _course(tmp_path, f"numpy=={numpy.__version__}\nno-such-package-xyz==1.0\nnumpy-typo==1\n")
    result = preflight.check_setup(course, prefix="/somewhere/else")
    assert not result.ok and result.fix == "make setup"
    assert "no-such-package-xyz is not installed" in result.summary
    course = _course(tmp_path, "numpy==0.0.1\n")
    assert f"numpy {numpy.__version__} is installed, 0.0.1 is pinned" in preflight.check_setup(course, "/x").summary


def test_setup_in_the_course_venv_needs_a_fresh_stamp(tmp_path):
    import numpy

    course = _course(tmp_path, f"numpy=={numpy.__version__}\n")
    venv = course / ".venv"
    venv.mkdir()
    result = preflight.check_setup(course, prefix=str(venv))
    assert not result.ok and "set-up did not finish" in result.summary
    (venv / ".installed").touch()
    old = time.time() - 100
    os.utime(venv / ".installed", (old, old))
    assert "requirements.txt changed since set-up ran" in preflight.check_setup(course, prefix=str(venv)).summary
    os.utime(course / "requirements.txt", (old - 100, old - 100))
    ok = preflight.check_setup(course, prefix=str(venv))
    assert ok.ok and "1 pinned packages match" in ok.summary


def test_data_missing_and_present(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "empty-cache"))
    missing = preflight.check_data()
    assert not missing.ok and "make data" in missing.fix
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "fetch", lambda variant, download: (tmp_path, None))
    assert preflight.check_data().ok


def test_a_real_kernel_starts_and_computes():
    result = preflight.check_kernel()
    assert result.ok, result.summary
    assert "1 + 1 = 2" in result.summary


def test_a_kernel_that_does_not_exist_is_reported():
    result = preflight.check_kernel(kernel_name="no-such-kernel-xyz", timeout=20)
    assert not result.ok and "did not start" in result.summary and "make setup" in result.fix


def test_disk(tmp_path):
    assert preflight.check_disk([tmp_path], min_free_gb=0.001).ok
    low = preflight.check_disk([tmp_path / "not" / "yet"], min_free_gb=1e9)
    assert not low.ok and "GB free" in low.summary


def test_report_is_one_green_line_or_the_fixes():
    good = [preflight.Check("a", True, "Python 3.11.7"), preflight.Check("b", True, "5 GB free")]
    assert preflight.report(good) == "READY: Python 3.11.7 · 5 GB free"
    assert preflight.report(good, color=True).startswith("\033[32mREADY")
    bad = good + [preflight.Check("c", False, "MovieLens 100K is not in the cache", "make data")]
    text = preflight.report(bad)
    assert text.splitlines()[0].startswith("NOT READY: 1 thing(s)")
    assert "fix: make data" in text and not text.startswith("READY")


def test_main_exit_status(monkeypatch, capsys):
    monkeypatch.setattr(preflight, "run_checks", lambda: [preflight.Check("a", True, "ok")])
    assert preflight.main() == 0 and capsys.readouterr().out == "READY: ok\n"
    monkeypatch.setattr(preflight, "run_checks", lambda: [preflight.Check("a", False, "broken", "fix it")])
    assert preflight.main() == 1 and "NOT READY" in capsys.readouterr().out


@pytest.mark.parametrize("line, expected", [("tensorflow==2.21.0", {"tensorflow": "2.21.0"}),
                                            ("  tf-keras == 2.21.0  # note", {"tf-keras": "2.21.0"}),
                                            ("# comment", {}), ("jax>=0.4", {})])
def test_pinned_requirements(tmp_path, line, expected):
    (tmp_path / "r.txt").write_text(line + "\n", encoding="utf-8")
    assert preflight.pinned_requirements(tmp_path / "r.txt") == expected
