"""Execute solution notebooks in place, so their committed outputs are fresh, then time them.

Usage::

    python tools/run_notebooks.py                       # every solutions/NN_*.ipynb
    python tools/run_notebooks.py solutions/00_welcome.ipynb

Each notebook runs in a fresh kernel of this Python environment, in its own folder, with
a per-cell timeout; widget state is not kept in the saved file. The file is replaced only after the whole
notebook ran without error (temporary file, then rename). Prints the wall time of each.
Run ``python tools/make_lessons.py`` afterwards (``make solutions`` does both). Saved files are
nbformat 4.5 with stable cell ids (see ``make_lessons.ensure_cell_ids``). A notebook that cannot be
read, or whose cell fails, is reported in one line naming the file (and the cell); the exit
status is 1 and that file is left as it was.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_lessons import KERNELSPEC, NotebookError, all_solutions, display, ensure_cell_ids, read_notebook, write_atomically  # noqa: E402


def merge_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) chunks: how a print is split into messages varies from run to run."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.output_type == "stream" and previous is not None and previous.output_type == "stream"
                and previous.name == output.name):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


class RunError(RuntimeError):
    """A notebook could not be run to the end; the message is one line naming the file."""


def positive_seconds(text: str) -> int:
    """argparse type for ``--timeout``: a whole number of seconds, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--timeout must be a whole number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--timeout must be positive (seconds per cell), got {value}; "
                                         f"the default is 300")
    return value


def execute(path: Path, timeout: int = 300) -> float:
    """Run ``path`` top to bottom and save it with outputs; return the wall time in seconds.

    Raises:
        ValueError: ``timeout`` is not a positive number of seconds.
        NotebookError: the notebook cannot be read (one line naming the file).
        RunError: a cell raised, timed out, or the kernel died (one line naming file and cell).
    """
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise ValueError(f"timeout must be a positive whole number of seconds per cell, got {timeout!r}")
    notebook = read_notebook(path)
    # The kernel inherits this environment: a tool's run of the solutions is no learner's pass
    # (course_lib.progress records only in a learner's own kernel).
    os.environ["COURSE_PROGRESS"] = "off"
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,  # False makes nbclient crash on Output widgets; the state is dropped below
    )
    start = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        raise RunError(f"{display(path)}: {_failed_cell(notebook, exc)}; file left unchanged") from None
    seconds = time.perf_counter() - start
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)  # what JupyterLab would write on open
    ensure_cell_ids(notebook, display(path))
    write_atomically(path, nbformat.writes(notebook) + "\n")
    return seconds


def _failed_cell(notebook, exc: Exception) -> str:
    """'cell N: ErrorName: value' for the first cell with an error output, else the error's first line."""
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index} raised {output.get('ename')}: {str(output.get('evalue'))[:200]}"
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--timeout", type=positive_seconds, default=300, help="seconds per cell, at least 1 (default 300)")
    args = parser.parse_args(argv)
    failed = 0
    for path in [p.resolve() for p in args.notebooks] or all_solutions():
        try:
            print(f"{path.name}: {execute(path, args.timeout):.1f} s", flush=True)
        except (NotebookError, RunError) as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
