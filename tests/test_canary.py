"""tools/canary.py (make test-canary, issue 18): the parts that need no network.

Building the environment and running the nightlies needs the package index and takes a long
time; MAINTAINING.md says how that was checked. Here: which requirements and pins the canary
derives from requirements.txt and constraints.txt as they are, how it reads pytest's JUnit XML,
the first error line it reports for each kind of failure, and the report it writes.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("canary", ROOT / "tools" / "canary.py")
canary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(canary)


def test_requirements_become_nightlies_and_unpinned_names_read_from_the_file_as_it_is(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# a comment\ntensorflow==2.21.0\nkeras==3.15.1\ntf-keras==2.21.0  # Keras 2\njax[cpu]==0.10.2\n"
        "numpy==2.4.6\nfaiss-cpu==1.13.0\nsome_pkg[extra]==1.0 ; python_version >= '3.11'\n\n",
        encoding="utf-8")
    lines, dropped = canary.canary_requirements(canary.requirement_lines(requirements))
    assert lines == ["tf-nightly>=0.dev0", "keras-nightly>=0.dev0", "tf-keras-nightly>=0.dev0", "jax[cpu]", "numpy",
                     "faiss-cpu", 'some_pkg[extra]; python_version >= "3.11"']
    assert dropped == {"tensorflow", "tf-nightly", "keras", "keras-nightly", "tf-keras", "tf-keras-nightly", "jax", "jaxlib"}
    assert canary.nightly_part(lines) == ["tf-nightly>=0.dev0", "keras-nightly>=0.dev0", "tf-keras-nightly>=0.dev0", "jax[cpu]"]


def test_the_real_requirements_file_names_every_package_the_canary_replaces():
    lines, _ = canary.canary_requirements(canary.requirement_lines(ROOT / "requirements.txt"))
    assert {"tf-nightly>=0.dev0", "keras-nightly>=0.dev0", "tf-keras-nightly>=0.dev0", "jax[cpu]"} <= set(lines)
    assert not any("==" in line for line in lines), "versions come from constraints.txt, not requirements.txt"


def test_a_pin_is_dropped_only_when_a_resolved_package_excludes_it():
    report = {
        "environment": {"python_version": "3.11", "sys_platform": "linux", "platform_machine": "x86_64"},
        "install": [
            {"metadata": {"name": "tf-nightly", "version": "2.23.0.dev20261026",
                          "requires_dist": ["protobuf>=7.40", "numpy<3,>=2.1", "ml_dtypes>=0.5.1",
                                            "tensorflow-cpu-aws; platform_machine == 'aarch64'",
                                            "nvidia-cudnn-cu12; extra == 'and-cuda'"]}},
            {"metadata": {"name": "jax", "version": "0.10.2", "requires_dist": ["jaxlib==0.10.2", "scipy>=1.13; extra == 'cpu'"]},
             "requested_extras": ["cpu"]},
        ],
    }
    pins = {"protobuf": "7.36.2", "numpy": "2.4.6", "ml-dtypes": "0.6.0", "scipy": "1.12.0", "tensorflow-cpu-aws": "2.0",
            "nvidia-cudnn-cu12": "1.0", "pandas": "3.1.1"}
    why = canary.incompatible_pins(pins, report)
    assert set(why) == {"protobuf", "scipy"}  # markers false here (aarch64, extra and-cuda) do not count
    assert why["protobuf"] == "tf-nightly 2.23.0.dev20261026 requires protobuf>=7.40"
    assert "jax 0.10.2 requires scipy>=1.13" == why["scipy"]


NBVAL_EXCEPTION = """#x1B[91mNotebook cell execution failed#x1B[0m
#x1B[94mCell 9: Cell execution caused an exception

Input:
#x1B[0m# NBVAL_CHECK_OUTPUT
assert flow == expected

#x1B[94mTraceback:#x1B[0m

#x1B[31m---------------------------------------------------------------------------#x1B[39m
#x1B[31mAssertionError#x1B[39m                            Traceback (most recent call last)
#x1B[36mCell#x1B[39m#x1B[36m #x1B[39m#x1B[32mIn[1]#x1B[39m#x1B[32m, line 31#x1B[39m
#x1B[32m---> #x1B[39m#x1B[32m31#x1B[39m #x1B[38;5;28;01massert#x1B[39;00m flow == expected

#x1B[31mAssertionError#x1B[39m:
"""

NBVAL_STDERR = """#x1B[91mNotebook cell execution failed#x1B[0m
#x1B[94mCell 23: Cell outputs differ

Input:
#x1B[0m# NBVAL_CHECK_OUTPUT
print(1)

#x1B[94mTraceback:#x1B[0m
#x1B[91mUnexpected output fields from running code: {'stderr'}#x1B[0m
"""

NBVAL_DIFF = """#x1B[91mNotebook cell execution failed#x1B[0m
#x1B[94mCell 43: Cell outputs differ

Input:
#x1B[0m# NBVAL_CHECK_OUTPUT
space.adapt(data)

#x1B[94mTraceback:#x1B[0m
#x1B[94m mismatch 'stdout'#x1B[91m

 assert reference_output == test_output failed:

  'ids: ...' == '4/4 ...'

  - #x1B[1m4/4#x1B[0m #x1B[32m━━━━#x1B[0m 0s 822us/step
    ids: {'occupation': (None, 1)}
"""

UNIT_TEST = """def test_x():
>       assert add(1, 1) == 3
E       assert 2 == 3
E        +  where 2 = add(1, 1)

tests/test_x.py:3: AssertionError"""


@pytest.mark.parametrize("text, expected", [
    (NBVAL_EXCEPTION, "AssertionError at line 31: assert flow == expected"),
    (NBVAL_STDERR, "Unexpected output fields from running code: {'stderr'}"),
    (NBVAL_DIFF, "mismatch 'stdout': - 4/4 ━━━━ 0s 822us/step"),
    ("Traceback ...\nValueError: input_dim must be a positive integer\n", "ValueError: input_dim must be a positive integer"),
    ("tensorflow.python.framework.errors_impl.InvalidArgumentError: indices[5,0] = 2389 is not in [0, 2389)",
     "tensorflow.python.framework.errors_impl.InvalidArgumentError: indices[5,0] = 2389 is not in [0, 2389)"),
    (UNIT_TEST, "AssertionError: assert 2 == 3"),
    ("E   ModuleNotFoundError: No module named 'gone'\n\ntests/test_y.py:1: ModuleNotFoundError",
     "ModuleNotFoundError: No module named 'gone'"),
    ("", "(no message)"),
])
def test_the_first_error_line_says_what_went_wrong(text, expected):
    got = canary.first_error_line(text)
    assert got == expected
    assert "#x1B" not in got and "\x1b" not in got and len(got) <= 300


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="2" skipped="1" tests="7">
<testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py" line="3" time="0.1"/>
<testcase classname="tests.test_a" name="test_bad" file="tests/test_a.py" line="5" time="0.1">
  <failure message="AssertionError: assert 2 == 3">E   AssertionError: assert 2 == 3</failure></testcase>
<testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py" line="9" time="0">
  <skipped type="pytest.skip" message="no GPU">no GPU</skipped></testcase>
<testcase classname="lessons.02_masking.ipynb" name="Cell 0" file="lessons/02_masking.ipynb" line="0" time="1"/>
<testcase classname="solutions.02_masking.ipynb" name="Cell 0" file="solutions/02_masking.ipynb" line="0" time="1"/>
<testcase classname="solutions.02_masking.ipynb" name="Cell 9" file="solutions/02_masking.ipynb" line="0" time="1">
  <failure message="x">Traceback:
Unexpected output fields from running code: {'stderr'}</failure></testcase>
<testcase classname="" name="tests.test_broken" file="tests/test_broken.py" time="0.000">
  <error message="collection failure">ImportError while importing test module '/somewhere/tests/test_broken.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
tests/test_broken.py:1: in &lt;module&gt;
    import gone_module
E   ModuleNotFoundError: No module named 'gone_module'</error></testcase>
</testsuite></testsuites>"""


def test_junit_is_counted_per_test_file_and_per_notebook(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT, encoding="utf-8")
    files, failures = canary.read_junit(path)
    by_file = {f["file"]: f for f in files}
    assert [f["file"] for f in files] == ["tests/test_a.py", "tests/test_broken.py", "lessons/02_masking.ipynb",
                                          "solutions/02_masking.ipynb"]
    assert by_file["tests/test_a.py"] == {"file": "tests/test_a.py", "kind": "test file", "run": 2, "passed": 1,
                                          "failed": 1, "skipped": 1}
    assert by_file["tests/test_broken.py"]["failed"] == 1  # a collection error counts as a failure
    assert by_file["solutions/02_masking.ipynb"]["kind"] == "solution" and by_file["lessons/02_masking.ipynb"]["kind"] == "lesson"
    assert canary.totals(files) == {"run": 6, "passed": 3, "failed": 3, "skipped": 1}
    assert [(f["file"], f["test"], f["first_line"]) for f in failures] == [
        ("tests/test_a.py", "test_bad", "AssertionError: assert 2 == 3"),
        ("solutions/02_masking.ipynb", "Cell 9", "Unexpected output fields from running code: {'stderr'}"),
        ("tests/test_broken.py", "tests.test_broken", "ModuleNotFoundError: No module named 'gone_module'"),
    ]


def test_the_report_states_failures_versions_and_wall_time(tmp_path):
    report = {"status": "ran", "reason": None, "started": "2026-10-27 09:00 UTC", "python": "3.11.7", "failed": 1,
              "warnings": [], "versions": {"tf-nightly": "2.23.0.dev20261026", "keras-nightly": "3.16.0.dev2026102704"},
              "unpinned": {"protobuf": "was protobuf==7.36.2; tf-nightly requires protobuf>=7.40"},
              "totals": {"run": 3, "passed": 2, "failed": 1, "skipped": 0},
              "files": [{"file": "lessons/02_masking.ipynb", "kind": "lesson", "run": 3, "passed": 2, "failed": 1, "skipped": 0}],
              "failures": [{"file": "lessons/02_masking.ipynb", "test": "Cell 9", "first_line": "AssertionError | x"}],
              "wall_time_s": 1234.5, "setup_s": 100.0, "data_s": 2.0, "tests_s": 1100.0,
              "test_warnings": [{"test": "tests/test_r.py::test_fit", "category": "UserWarning",
                                 "message": "Model doesn't support `jit_compile=True`.", "where": "keras/src/trainers/trainer.py:250"}]}
    canary.write_report(report, tmp_path)
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["failed"] == 1
    text = (tmp_path / "REPORT.md").read_text(encoding="utf-8")
    assert "**1 failed** of 3 run" in text and "Wall time 1234 s" in text
    assert "| tf-nightly | 2.23.0.dev20261026 |" in text and "`protobuf`: was protobuf==7.36.2" in text
    assert "| `lessons/02_masking.ipynb` | Cell 9 | `AssertionError / x` |" in text  # a | would break the table
    assert "| UserWarning | `Model doesn't support `jit_compile=True`.` | `keras/src/trainers/trainer.py:250` |" in text


def test_a_run_that_could_not_start_still_writes_a_report(tmp_path):
    canary.write_report({"status": "could not run", "reason": "pip found no set of packages", "started": "today",
                         "failed": None}, tmp_path)
    assert "**The canary could not run:** pip found no set of packages" in (tmp_path / "REPORT.md").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["status"] == "could not run"


def test_strict_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CANARY_STRICT", "1")
    seen = {}
    monkeypatch.setattr(canary, "outside", lambda args: seen.setdefault("strict", args.strict) and 0)
    canary.main([])
    assert seen["strict"] is True
    monkeypatch.setenv("CANARY_STRICT", "0")
    seen.clear()
    canary.main([])
    assert seen["strict"] is False


def test_the_warnings_plugin_records_each_distinct_warning_once(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "test_w.py").write_text(
        "import warnings\n\n"
        "def test_a():\n    warnings.warn('jit_compile fell back', UserWarning)\n\n"
        "def test_b():\n    for _ in range(3):\n        warnings.warn('jit_compile fell back', UserWarning)\n", encoding="utf-8")
    out = tmp_path / "warnings.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CANARY_WARNINGS": str(out)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tools.canary_warnings", "-p", "no:cacheprovider",
                             "-c", os.devnull, str(tmp_path / "test_w.py")], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    first, second = json.loads(out.read_text(encoding="utf-8"))  # test_b's three warnings from one line: one entry
    assert first["category"] == "UserWarning" and first["message"] == "jit_compile fell back"
    assert first["test"].endswith("::test_a") and first["where"].endswith("test_w.py:4")
    assert second["test"].endswith("::test_b") and second["where"].endswith("test_w.py:8")
