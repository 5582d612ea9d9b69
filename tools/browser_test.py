"""Run every lesson in a real JupyterLab in headless Chromium, the way a learner does.

``make test-browser`` runs this. It:

1. starts the course with ``make lab`` exactly as the README says, adding only
   ``LAB_ARGS="--no-browser --port P --IdentityProvider.token=T"``, and waits for the server;
2. drives Debian's Chromium (``/usr/bin/chromium``) with Playwright for Python (Playwright's
   own browser downloads are never used);
3. for every ``lessons/NN_*.ipynb`` (a glob: a new lesson is picked up):

   * opens it in JupyterLab and checks it opens unmodified (no dirty indicator);
   * runs all cells in the browser and fails on any error or stderr output;
   * finds every explorer (a container with the CSS class ``course-explorer``), checks that
     it renders, changes its first Dropdown or slider and checks that what it shows changes;
     then runs the rest of the notebook after it (later cells must work whatever was picked);
   * saves, reloads the page, and checks every explorer comes back and still responds;
   * saves a screenshot under ``browser-test-output/`` and prints the lesson's wall time.

Each lesson is opened as a byte-identical copy under ``browser-test-output/lessons/`` (saving
for the reload step never touches ``lessons/``). The server runs with its own, temporary
JupyterLab settings (autosave off, no news fetch, every cell rendered) and workspaces, so a
learner's own settings are neither used nor changed. The server, the browser and every
kernel are stopped in all cases (process groups, then any process left that this run started).

Usage::

    make test-browser                                   # what CI runs
    .venv/bin/python tools/browser_test.py --lessons 02 03   # some lessons only
    .venv/bin/python tools/browser_test.py --notebooks tools/browser_test_fixtures/*.ipynb  # self-test

The self-test notebooks hold one explorer that follows the convention and one that breaks it
(a display handle, and a later cell that depends on the explorer's state): the test must
pass the first and report both defects of the second.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "browser-test-output"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAB_SETTINGS = {  # written to a temporary JUPYTERLAB_SETTINGS_DIR for the server of this run only
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
}
STDERR_MIME = "application/vnd.jupyter.stderr"  # JupyterLab renders stderr streams and errors with it


class Failure(AssertionError):
    """A check failed; the message names the lesson, the cell and what was expected."""


@dataclass
class LessonResult:
    name: str
    seconds: float = 0.0
    explorers: int = 0
    failures: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_environment(tmp: Path) -> dict:
    """The environment of the ``make lab`` this test starts (and of every kernel it runs).

    Temporary JupyterLab settings and workspaces, and ``COURSE_PROGRESS=off``: a test's kernels
    never write to the learner's progress record (course_lib.progress).
    """
    return dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
                JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), COURSE_PROGRESS="off")


class LabServer:
    """``make lab`` in its own process group, with a temporary settings folder."""

    def __init__(self, port: int, token: str, log: Path, make_args: list[str]):
        self.port, self.token, self.log_path = port, token, log
        self.base = f"http://127.0.0.1:{port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="course-browser-test-"))
        for name, value in LAB_SETTINGS.items():
            path = self.tmp / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value), encoding="utf-8")
        env = lab_environment(self.tmp)
        lab_args = f"--no-browser --port {port} --IdentityProvider.token={token}"
        self.command = ["make", *make_args, "lab", f"LAB_ARGS={lab_args}"]
        self.log = open(log, "w", encoding="utf-8")
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failure(f"`{' '.join(self.command)}` exited with status {self.process.returncode} before "
                              f"the server answered; last lines of its log:\n{self.tail()}")
            try:
                self.api("/api/status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(1)
        raise Failure(f"JupyterLab did not answer on port {self.port} within {timeout:.0f} s; log:\n{self.tail()}")

    def tail(self, lines: int = 25) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def kernel_state(self, notebook_path: str) -> str | None:
        for session in self.api("/api/sessions"):
            if session.get("path") == notebook_path and session.get("kernel"):
                return session["kernel"].get("execution_state")
        return None

    def shutdown_kernels(self) -> None:
        try:
            for kernel in self.api("/api/kernels"):
                self.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        except Exception:  # the server may be gone already; stop() kills what is left
            pass

    def stop(self) -> None:
        """Shut kernels down, then stop the whole process tree of `make lab`, whatever it takes."""
        self.shutdown_kernels()
        stop_tree(self.process)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def stop_tree(process: subprocess.Popen) -> None:
    """SIGTERM the process group and every descendant (kernels start their own sessions), then SIGKILL."""
    import psutil

    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for child in descendants:
            try:
                child.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(descendants, timeout=10)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
        if not alive:
            return


# ----------------------------------------------------------------------------- the page

JS_CELLS = "() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'))"

JS_PROBLEMS = """() => {
  const cells = Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'));
  const found = [];
  cells.forEach((cell, index) => {
    cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="%s"]').forEach(out => {
      const prompt = cell.querySelector('.jp-InputPrompt');
      found.push({cell: index, prompt: prompt ? prompt.textContent.trim() : '',
                  text: out.innerText.trim().split('\\n').slice(-3).join(' | ').slice(0, 400)});
    });
  });
  return found;
}""" % STDERR_MIME

JS_PROMPTS = """() => Array.from(document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell .jp-InputArea-prompt')).map(p => p.textContent.trim())"""

# A Dropdown/slider outside any .course-explorer is a failure of the convention; to still report how
# that explorer behaves, the outermost widget of its output is tagged and checked like an explorer.
JS_TAG_LOOSE = """() => {
  let tagged = 0;
  document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .widget-dropdown, .jp-NotebookPanel:not(.lm-mod-hidden) .widget-slider')
    .forEach(el => {
      if (el.closest('.course-explorer')) return;
      const output = el.closest('.jp-OutputArea-output');
      const top = output ? output.querySelector('.jupyter-widgets') : null;
      if (top) { top.classList.add('course-explorer', 'course-explorer-inferred'); tagged++; }
    });
  return tagged;
}"""

JS_EXPLORERS = """() => {
  const cells = Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'));
  return Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .course-explorer')).map(el => {
    const box = el.getBoundingClientRect();
    const control = el.querySelector('.widget-dropdown select, .widget-slider');
    return {cell: cells.indexOf(el.closest('.jp-Cell')), width: box.width, height: box.height,
            inferred: el.classList.contains('course-explorer-inferred'),
            control: control ? (control.tagName === 'SELECT' ? 'Dropdown' : 'slider') : null};
  });
}"""

JS_LOOSE_CONTROLS = """() => {
  const cells = Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'));
  return Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .widget-dropdown, .jp-NotebookPanel:not(.lm-mod-hidden) .widget-slider'))
    .filter(el => !el.closest('.course-explorer')).map(el => cells.indexOf(el.closest('.jp-Cell')));
}"""

# What an explorer shows: everything in it except its controls (a slider's readout or a
# Dropdown's selection changing is not a change of what is shown).
JS_SHOWN = """(index) => {
  const el = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .course-explorer')[index];
  if (!el) return null;
  const clone = el.cloneNode(true);
  clone.querySelectorAll('.widget-dropdown, .widget-slider, .widget-text, .widget-button, .widget-toggle-buttons, .widget-checkbox, .widget-label')
       .forEach(c => c.remove());
  const imgs = Array.from(clone.querySelectorAll('img')).map(i => i.getAttribute('src') || '');
  return clone.innerText + '\\n' + imgs.join('\\n') + '\\n' + Array.from(clone.querySelectorAll('svg')).map(s => s.outerHTML).join('');
}"""


class Lesson:
    """One lesson open in the page; every method raises :class:`Failure` with a precise message."""

    def __init__(self, page, server: LabServer, name: str, lab_path: str, timeout: float):
        self.page, self.server, self.name, self.lab_path, self.timeout = page, server, name, lab_path, timeout

    def fail(self, message: str) -> Failure:
        return Failure(f"{self.name}: {message}")

    def open(self, url_suffix: str = "?reset") -> None:
        self.page.goto(f"{self.server.base}/lab/tree/{self.lab_path}{url_suffix}", wait_until="domcontentloaded")
        self.wait_loaded()

    def wait_loaded(self) -> None:
        try:
            self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell", timeout=90_000)
        except Exception:
            raise self.fail("the notebook did not open in JupyterLab within 90 s") from None
        self.wait_idle(90, "the kernel did not start")

    def wait_idle(self, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.kernel_state(self.lab_path) == "idle":
                return
            time.sleep(0.5)
        raise self.fail(f"{what} within {timeout:.0f} s (kernel state: {self.server.kernel_state(self.lab_path)})")

    def dirty(self) -> bool:
        return self.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() > 0

    def cells(self) -> int:
        return self.page.evaluate(f"() => ({JS_CELLS})().length")

    def command(self, menu: str, label: str) -> None:
        """Click a JupyterLab menu entry by its exact label, as a learner does."""
        self.page.keyboard.press("Escape")  # close any open menu; command mode
        self.page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=menu).first.click()
        item = self.page.locator(".lm-Menu:not(.lm-mod-hidden) .lm-Menu-item", has=self.page.locator(
            ".lm-Menu-itemLabel", has_text=re.compile(rf"^{label}$")))
        item.first.click()

    def select_cell(self, index: int) -> None:
        cell = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt, .jp-InputArea-prompt").first.click()

    def run(self, menu_command: str, what: str) -> float:
        """Run cells with a Run-menu command; wait until nothing is queued and the kernel is idle."""
        start = time.monotonic()
        self.command("Run", menu_command)
        time.sleep(1)
        deadline = start + self.timeout
        while time.monotonic() < deadline:
            prompts = self.page.evaluate(JS_PROMPTS)
            if not any("*" in p for p in prompts) and self.server.kernel_state(self.lab_path) == "idle":
                time.sleep(1)  # let late messages (widget renders, figures) arrive
                if not any("*" in p for p in self.page.evaluate(JS_PROMPTS)):
                    return time.monotonic() - start
            time.sleep(0.5)
        running = [i for i, p in enumerate(self.page.evaluate(JS_PROMPTS)) if "*" in p]
        raise self.fail(f"{what}: still running after {self.timeout:.0f} s (code cells {running[:3]} busy or queued)")

    def check_no_error_output(self, what: str) -> None:
        problems = self.page.evaluate(JS_PROBLEMS)
        if problems:
            lines = [f"cell {p['cell']} {p['prompt']} has error/stderr output: {p['text']}" for p in problems[:5]]
            raise self.fail(f"{what}: expected no error or stderr output, found {len(problems)}:\n    "
                            + "\n    ".join(lines))
        prompts = self.page.evaluate(JS_PROMPTS)
        not_run = [i for i, p in enumerate(prompts) if not any(ch.isdigit() for ch in p)]
        if not_run:
            raise self.fail(f"{what}: code cells number {not_run[:5]} (counting code cells only) did not run")

    def explorers(self) -> list[dict]:
        self.page.evaluate(JS_TAG_LOOSE)  # untagged explorers re-rendered by a run are tagged again
        return self.page.evaluate(JS_EXPLORERS)

    def change_explorer(self, index: int, info: dict, when: str) -> tuple[str, str | None]:
        """Change the explorer's first Dropdown/slider. Returns (what was changed, failure or None):
        the failure says what it shows did not change (or the explorer did not render)."""
        untagged = ", untagged: its outermost widget was used" if info.get("inferred") else ""
        where = f"explorer {index + 1} (cell {info['cell']}{untagged}) {when}"
        if info["width"] < 10 or info["height"] < 10:
            raise self.fail(f"{where}: expected it to render, but it is {info['width']:.0f}x{info['height']:.0f} px")
        if info["control"] is None:
            raise self.fail(f"{where}: expected a Dropdown or slider inside the .course-explorer container, found none")
        explorer = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .course-explorer").nth(index)
        explorer.scroll_into_view_if_needed()
        before = self.page.evaluate(JS_SHOWN, index)
        control = explorer.locator(".widget-dropdown select, .widget-slider").first
        if info["control"] == "Dropdown":
            options = [o.replace("\xa0", " ") for o in control.locator("option").all_text_contents()]
            current = control.evaluate("s => s.selectedIndex")
            if len(options) < 2:
                raise self.fail(f"{where}: its Dropdown has {len(options)} option(s); expected at least 2")
            target = (current + 1) % len(options)
            control.select_option(index=target)
            change = f"Dropdown from {options[current]!r} to {options[target]!r}"
        else:
            handle = control.locator(".noUi-handle").first
            readout = control.locator(".widget-readout").first
            old = readout.text_content() if readout.count() else ""
            handle.focus()
            handle.press("ArrowRight")
            new = readout.text_content() if readout.count() else ""
            if new == old:  # already at the maximum
                handle.press("ArrowLeft")
                handle.press("ArrowLeft")
                new = readout.text_content() if readout.count() else ""
            change = f"slider from {old.strip()!r} to {new.strip()!r}"
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            time.sleep(0.5)
            after = self.page.evaluate(JS_SHOWN, index)
            if after is not None and after != before:
                self.wait_idle(self.timeout, f"{where}: the kernel did not finish handling the change")
                self.check_no_error_output(f"after changing the {change} of {where}")
                return change, None
        return change, (f"{self.name}: {where}: changed its {change}, expected what it shows (figure, table or "
                        f"text inside the container) to change within 45 s, but it did not (an explorer must "
                        f"render into widgets inside its container, e.g. an Output widget, not a display "
                        f"handle or plain cell output)")

    def save(self) -> None:
        self.command("File", "Save( Notebook)?")
        deadline = time.monotonic() + 30
        while self.dirty() and time.monotonic() < deadline:
            time.sleep(0.3)
        if self.dirty():
            raise self.fail("File → Save did not save the notebook within 30 s")


def check_lesson(page, server: LabServer, source: Path, copy_dir: Path, timeout: float) -> LessonResult:
    name = source.name
    result = LessonResult(name)
    start = time.monotonic()
    copy = copy_dir / name
    shutil.copyfile(source, copy)
    lab_path = copy.relative_to(ROOT).as_posix()
    lesson = Lesson(page, server, name, lab_path, timeout)

    def soft(check, *args):
        try:
            return check(*args)
        except Failure as exc:
            result.failures.append(str(exc))
            return None

    try:
        lesson.open()
        time.sleep(2)
        if lesson.dirty():
            result.failures.append(f"{name}: expected it to open unmodified, but JupyterLab marks it modified "
                                   "(dirty indicator on its tab)")
        if copy.read_bytes() != source.read_bytes():
            result.failures.append(f"{name}: opening it changed the file on disk")
        seconds = lesson.run("Run All Cells", "Run All Cells")
        print(f"  {name}: all {lesson.cells()} cells ran in the browser in {seconds:.1f} s", flush=True)
        lesson.check_no_error_output("after Run All Cells")
        loose = page.evaluate(JS_LOOSE_CONTROLS)
        if loose:
            result.failures.append(f"{name}: cells {sorted(set(loose))} show a Dropdown or slider outside any "
                                   "container with CSS class 'course-explorer' (the explorer convention)")
        explorers = lesson.explorers()
        result.explorers = len(explorers)
        for index in range(len(explorers)):
            info = lesson.explorers()[index]
            outcome = soft(lesson.change_explorer, index, info, "after Run All Cells")
            if outcome is None:
                continue
            change, problem = outcome
            if problem:
                result.failures.append(problem)
            else:
                print(f"  {name}: explorer {index + 1} (cell {info['cell']}) responds: {change}", flush=True)
            if info["cell"] + 1 < lesson.cells():
                lesson.select_cell(info["cell"] + 1)
                # JupyterLab disables "... and All Below" on the last cell
                command = ("Run Selected Cell and All Below" if info["cell"] + 2 < lesson.cells()
                           else "Run Selected Cell and Do not Advance")
                try:
                    lesson.run(command, f"running the cells after explorer {index + 1}")
                    lesson.check_no_error_output(f"after changing the {change} of explorer {index + 1} "
                                                 f"(cell {info['cell']}) and running every cell after it")
                except Failure as exc:
                    result.failures.append(str(exc))
        if explorers:  # the reload check needs the outputs saved, as a learner's autosave does
            lesson.save()
            page.reload(wait_until="domcontentloaded")
            lesson.wait_loaded()
            try:
                if any(e.get("inferred") for e in explorers):  # tag them again (the page is new)
                    page.wait_for_function("() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
                                           ".widget-dropdown, .jp-NotebookPanel:not(.lm-mod-hidden) .widget-slider')"
                                           f".length >= {len(explorers)}", timeout=60_000)
                    page.evaluate(JS_TAG_LOOSE)
                page.wait_for_function(f"() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
                                       f".course-explorer').length >= {len(explorers)}", timeout=60_000)
            except Exception:
                result.failures.append(f"{name}: after reloading the page, expected {len(explorers)} explorer(s) "
                                       f"to come back, found {len(lesson.explorers())}")
            for index, info in enumerate(lesson.explorers()):
                outcome = soft(lesson.change_explorer, index, info, "after reloading the page")
                if outcome and outcome[1]:
                    result.failures.append(outcome[1])
                elif outcome:
                    print(f"  {name}: explorer {index + 1} still responds after a reload: {outcome[0]}", flush=True)
    except Failure as exc:
        result.failures.append(str(exc))
    except Exception as exc:  # a driver error (timeout of a click, ...) is a failure of this lesson
        detail = " / ".join(line.strip() for line in str(exc).splitlines()[:3])
        result.failures.append(f"{name}: the browser test could not continue: {type(exc).__name__}: {detail}")
    finally:
        try:
            page.screenshot(path=str(OUT / f"{copy.stem}.png"), full_page=False)
        except Exception:
            pass
        server.shutdown_kernels()
        result.seconds = time.monotonic() - start
    return result


def lessons_to_run(selected: list[str]) -> list[Path]:
    every = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    if not selected:
        return every
    chosen = [p for p in every if any(p.name.startswith(s) or p.stem == s for s in selected)]
    if not chosen:
        raise SystemExit(f"no lesson matches {selected}; lessons: {[p.name for p in every]}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lessons", nargs="*", default=[], help="lesson numbers or names (default: all)")
    parser.add_argument("--notebooks", nargs="*", type=Path, default=[],
                        help="other notebooks to test instead of lessons/ (e.g. tools/browser_test_fixtures/*.ipynb)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable (Debian's package)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for one Run command (default 300)")
    parser.add_argument("--make-arg", action="append", default=[], help=argparse.SUPPRESS)  # e.g. -o .venv/.installed
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"error: {args.chromium} not found; install Debian's Chromium: apt-get install -y chromium "
              "(make test-browser does it)", file=sys.stderr)
        return 1
    lessons = [p.resolve() for p in args.notebooks] or lessons_to_run(args.lessons)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks on `timeout`/CI stop
    OUT.mkdir(exist_ok=True)
    copy_dir = OUT / "lessons"
    shutil.rmtree(copy_dir, ignore_errors=True)
    copy_dir.mkdir()
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in lessons}
    total_start = time.monotonic()
    server = LabServer(free_port(), secrets.token_hex(16), OUT / "jupyterlab.log", args.make_arg)
    results: list[LessonResult] = []
    playwright = browser = None
    try:
        server.wait_ready(timeout=600)  # `make lab` may have to set up and fetch the data first
        print(f"JupyterLab is up ({time.monotonic() - total_start:.1f} s): {' '.join(server.command[:-1])} "
              f"LAB_ARGS='--no-browser --port {server.port} --IdentityProvider.token=…'", flush=True)
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{server.base}/lab?token={server.token}", wait_until="domcontentloaded")  # sets the auth cookie
        for source in lessons:
            print(f"{source.name}:", flush=True)
            result = check_lesson(page, server, source, copy_dir, args.timeout)
            results.append(result)
            status = "ok" if not result.failures else f"{len(result.failures)} failure(s)"
            print(f"  {source.name}: {result.seconds:.1f} s wall time, {result.explorers} explorer(s), {status}",
                  flush=True)
    except Failure as exc:
        results.append(LessonResult("(server)", failures=[str(exc)]))
    finally:
        for closer in (lambda: browser and browser.close(), lambda: playwright and playwright.stop()):
            try:
                closer()
            except Exception:
                pass
        server.stop()
    changed = [p.name for p, digest in before.items() if hashlib.sha256(p.read_bytes()).hexdigest() != digest]
    if changed:
        results.append(LessonResult("(lessons/)", failures=[f"lessons/ files changed during the test: {changed}"]))
    total = time.monotonic() - total_start
    print("\nWall time per lesson (s): " + ", ".join(f"{r.name} {r.seconds:.1f}" for r in results if r.seconds))
    print(f"Browser test total: {total:.1f} s; screenshots in {OUT.relative_to(ROOT)}/")
    failures = [f for r in results for f in r.failures]
    for failure in failures:
        print(f"FAIL {failure}")
    passed = sum(1 for r in results if not r.failures and r.seconds)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
