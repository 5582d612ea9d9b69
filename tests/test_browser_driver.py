"""Browser-free tests of tools/browser_test.py (the browser run itself is `make test-browser`)."""

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
spec = importlib.util.spec_from_file_location("browser_test", ROOT / "tools" / "browser_test.py")
browser_test = importlib.util.module_from_spec(spec)
sys.modules["browser_test"] = browser_test  # dataclasses look their module up there
spec.loader.exec_module(browser_test)


def test_every_lesson_is_picked_up_by_a_glob():
    names = [p.name for p in browser_test.lessons_to_run([])]
    assert names == sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]_*.ipynb")) and names
    assert [p.name for p in browser_test.lessons_to_run(["00"])] == ["00_welcome.ipynb"]


def test_the_server_never_autosaves_and_renders_every_cell():
    settings = browser_test.LAB_SETTINGS
    assert settings["@jupyterlab/docmanager-extension/plugin.jupyterlab-settings"] == {"autosave": False}
    assert settings["@jupyterlab/notebook-extension/tracker.jupyterlab-settings"]["windowingMode"] == "none"
    assert "--no-sandbox" in browser_test.CHROMIUM_FLAGS and "--disable-quic" in browser_test.CHROMIUM_FLAGS


def test_stop_tree_ends_the_group_and_children_in_their_own_session():
    # A parent in its own group, with a child that starts a new session (as Jupyter kernels do).
    code = ("import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'], start_new_session=True); "
            "time.sleep(300)")
    parent = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.monotonic() + 20
    while not psutil.Process(parent.pid).children() and time.monotonic() < deadline:
        time.sleep(0.1)
    children = psutil.Process(parent.pid).children(recursive=True)
    assert children, "the test's child process did not start"
    browser_test.stop_tree(parent)
    assert parent.poll() is not None
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive
