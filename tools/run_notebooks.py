"""Execute solution notebooks in place, so their committed outputs are fresh, then time them.

Usage::

    python tools/run_notebooks.py                       # every solutions/NN_*.ipynb
    python tools/run_notebooks.py solutions/00_welcome.ipynb

Each notebook runs in a fresh kernel of this Python environment, in its own folder, with
a per-cell timeout; widget state is not kept in the saved file. The file is replaced only after the whole
notebook ran without error (temporary file, then rename). Prints the wall time of each.
Run ``python tools/make_lessons.py`` afterwards (``make solutions`` does both).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_lessons import all_solutions, write_atomically  # noqa: E402


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


def execute(path: Path, timeout: int = 300) -> float:
    """Run ``path`` top to bottom and save it with outputs; return the wall time in seconds."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,  # False makes nbclient crash on Output widgets; the state is dropped below
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    write_atomically(path, nbformat.writes(notebook) + "\n")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell (default 300)")
    args = parser.parse_args(argv)
    for path in [p.resolve() for p in args.notebooks] or all_solutions():
        print(f"{path.name}: {execute(path, args.timeout):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
