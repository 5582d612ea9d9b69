"""Plots and the row explorer of lesson 01 (*the embedding is a lookup table*).

- :func:`plot_table_change`: an embedding matrix before and after some training steps, side
  by side with the change, the rows the batches looked up marked;
- :func:`draw_row`: one row of a table, highlighted among its neighbours, and its vector;
- :func:`row_explorer`: a drop-down of labels (say MovieLens titles) and an id box that
  redraw :func:`draw_row` for the chosen row.

Every function takes a table as a NumPy array, a ``tf.Tensor`` or a ``tf.Variable``/Keras
variable of shape ``(rows, dim)`` and only reads it. Importing this module does not import
TensorFlow.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from course_lib import validation as v

__all__ = ["as_table", "plot_table_change", "draw_row", "row_explorer"]


def as_table(table: Any, what: str = "table") -> np.ndarray:
    """Return ``table`` as a 2-D float NumPy array ``(rows, dim)``.

    Accepts a NumPy array, a nested list, a ``tf.Tensor`` or a (Keras/TensorFlow) variable.

    Raises:
        TypeError: ``table`` cannot be turned into an array of real numbers.
        ValueError: it holds NaN or inf, is not 2-D, or has no rows or no columns.
    """
    array = v.check_finite(table, what, hint="pass layer.embeddings or a NumPy array of its weights")
    if array.ndim != 2:
        raise ValueError(
            f"{what} should be 2-D (rows, embedding dimension), got shape {array.shape}; "
            "pass layer.embeddings (or layer.get_weights()[0]), not the output of a lookup"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{what} is empty: shape {array.shape}; a table needs at least one row and one column")
    return array.astype(np.float64)


def _row_index(row: Any, rows: int, what: str = "row") -> int:
    """One id of a table with ``rows`` rows, as an int (validation.check_ids: no float, bool or negative id)."""
    return int(v.check_ids(row, what, maximum=rows - 1, ndim=0, hint=f"this table has rows 0 to {rows - 1}"))


def _label_map(labels: Mapping[int, str] | Sequence[str] | None, rows: int) -> dict[int, str]:
    if labels is None:
        return {}
    if isinstance(labels, Mapping):
        pairs: Iterable = labels.items()
    elif isinstance(labels, (str, bytes)):
        raise TypeError("labels should be a dict {id: label} or a list with one label per row, not a string")
    else:
        try:
            labels = list(labels)
        except TypeError:
            raise TypeError(f"labels should be a dict {{id: label}} or a list with one label per row, "
                            f"got {type(labels).__name__}") from None
        if len(labels) != rows:
            raise ValueError(f"labels has {len(labels)} entries but the table has {rows} rows; use a dict {{id: label}}")
        pairs = enumerate(labels)
    out = {}
    for key, value in pairs:
        index = _row_index(key, rows, "label id")
        if value is not None:
            out[index] = str(value)
    return out


def plot_table_change(before: Any, after: Any, touched: Iterable[int] = (), *, title: str | None = None):
    """Heatmaps of an embedding matrix before and after training, and of the change.

    Args:
        before, after: the same table at two moments, shape ``(rows, dim)`` each (arrays,
            tensors or variables; copy a variable with ``.numpy()`` *before* training).
        touched: the row ids the training batches looked up; each is marked with a ▶ on
            the left edge of the three panels, so a reader can see that the change panel
            is non-zero on exactly those rows.
        title: figure title (optional).

    Returns:
        The ``matplotlib.figure.Figure`` (3 axes with heatmaps plus their colour bars),
        already closed so that it is shown once: display it with ``display(fig)`` or make it
        the last expression of a cell.

    Raises:
        ValueError: shapes differ, a table is not 2-D, or a touched id is outside the table.
        TypeError: a table is not numeric or a touched id is not a whole number.
    """
    import matplotlib.pyplot as plt

    before = as_table(before, "before")
    after = as_table(after, "after")
    if before.shape != after.shape:
        raise ValueError(f"before has shape {before.shape} but after has shape {after.shape}; pass the same table twice "
                         "(copy it with .numpy().copy() before training)")
    rows, dim = before.shape
    if hasattr(touched, "numpy"):
        touched = touched.numpy()
    try:
        touched = list(np.ravel(touched)) if isinstance(touched, np.ndarray) else list(touched)
    except TypeError:
        raise TypeError(f"touched should be a list of row ids, got {touched!r}; wrap a single id as [id]") from None
    touched = sorted({_row_index(t, rows, "touched id") for t in touched})
    change = after - before
    scale = float(max(np.abs(before).max(), np.abs(after).max())) or 1.0
    change_scale = float(np.abs(change).max()) or 1.0

    height = min(10.0, 1.5 + 0.16 * rows)
    fig, axes = plt.subplots(1, 3, figsize=(9.5, height), sharey=True)
    panels = [
        (before, "before", scale, "RdBu_r"),
        (after, "after", scale, "RdBu_r"),
        (change, "change (after − before)", change_scale, "PuOr_r"),
    ]
    for ax, (data, name, limit, cmap) in zip(axes, panels):
        image = ax.imshow(data, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("embedding dimension")
        ax.set_xticks(range(dim) if dim <= 16 else np.linspace(0, dim - 1, 5).astype(int))
        if touched:
            ax.scatter([-0.9] * len(touched), touched, marker=">", s=28, color="crimson", clip_on=False, zorder=3)
        fig.colorbar(image, ax=ax, fraction=0.08, pad=0.03)
    axes[0].set_ylabel("row (id)")
    axes[0].set_xlim(-1.2, dim - 0.5)
    for ax in axes[1:]:
        ax.set_xlim(-1.2, dim - 0.5)
    fig.suptitle(title or f"{len(touched)} of {rows} rows looked up (▶) — only they changed", fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def draw_row(table: Any, row: Any, labels: Mapping[int, str] | Sequence[str] | None = None, *, window: int = 8):
    """One row of a table, lit up among its neighbours, next to a bar chart of its vector.

    Args:
        table: shape ``(rows, dim)``: array, tensor or variable.
        row: the id to show (0 <= row < rows): int, NumPy int or 0-d tensor.
        labels: optional names of the rows: a dict ``{id: label}`` or a list with one label per
            row (``None`` entries allowed); used for the tick labels and the title.
        window: how many neighbouring rows to show on each side (a positive int).

    Returns:
        A closed ``matplotlib.figure.Figure`` with two axes (heatmap, bar chart).

    Raises:
        ValueError: row out of range, window < 1, labels of the wrong length, table not 2-D.
        TypeError: row or window not a whole number, table not numeric.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    matrix = as_table(table)
    rows, dim = matrix.shape
    row = _row_index(row, rows)
    window = v.check_size(window, "window", hint="rows shown on each side of the chosen one")
    names = _label_map(labels, rows)
    first, last = max(0, row - window), min(rows, row + window + 1)
    limit = float(np.abs(matrix).max()) or 1.0

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1.1, 1]})
    block = matrix[first:last]
    faded = np.ones(len(block), dtype=bool)
    faded[row - first] = False
    left.imshow(block, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest",
                extent=(-0.5, dim - 0.5, last - 0.5, first - 0.5))  # fmt: skip
    shade = np.where(faded[:, None], 0.55, 0.0) * np.ones((1, dim))
    left.imshow(np.zeros_like(block), aspect="auto", cmap="Greys", alpha=shade, vmin=0, vmax=1,
                extent=(-0.5, dim - 0.5, last - 0.5, first - 0.5))  # fmt: skip
    left.add_patch(Rectangle((-0.5, row - 0.5), dim, 1, fill=False, edgecolor="gold", linewidth=3))
    left.set_yticks(range(first, last))
    left.set_yticklabels([f"{i}  {names.get(i, '')[:28]}" for i in range(first, last)], fontsize=7)
    left.get_yticklabels()[row - first].set_fontweight("bold")
    left.set_xlabel("embedding dimension")
    left.set_title(f"rows {first}–{last - 1} of {rows}", fontsize=10)

    vector = matrix[row]
    colors = ["#b2182b" if v > 0 else "#2166ac" for v in vector]
    right.bar(range(dim), vector, color=colors)
    right.axhline(0, color="black", linewidth=0.8)
    right.set_ylim(-limit * 1.05, limit * 1.05)
    right.set_xlabel("embedding dimension")
    right.set_ylabel("value")
    right.set_title(f"row {row}: {names.get(row, 'no label')}"[:60], fontsize=10)
    if dim <= 16:
        right.set_xticks(range(dim))
    fig.tight_layout()
    plt.close(fig)
    return fig


def _vector_text(matrix: np.ndarray, row: int, names: dict[int, str]) -> str:
    values = np.array2string(matrix[row], precision=3, suppress_small=True, max_line_width=100)
    return f"row {row} ({names.get(row, 'no label')}):\n{values}"


def _option(row: int, names: dict[int, str]) -> tuple[str, int]:
    return (f"{names[row]}  (id {row})" if row in names else f"id {row} (no label)", row)


def row_explorer(table: Any, labels: Mapping[int, str] | Sequence[str] | None = None, start: Any = 0, *, window: int = 8):
    """Widget: pick a label (or type an id) and see that row light up and its vector printed.

    Follows the course's explorer convention: one ``VBox`` with the CSS class
    ``course-explorer``, everything it shows drawn into an ``ipywidgets.Output`` inside it (so
    it keeps working after the page is reloaded). Make it the last expression of a cell to
    show it. The drop-down and the id box always agree: typing an id without a label (row 0,
    say) adds an ``"id 0 (no label)"`` entry to the drop-down and selects it.

    Args:
        table: shape ``(rows, dim)``: array, tensor or variable (copied once, so later
            training does not change what the explorer shows).
        labels: as in :func:`draw_row`; rows with a label appear in the drop-down.
        start: the id shown first.
        window: neighbouring rows shown on each side.

    Returns:
        An ``ipywidgets.VBox`` holding the drop-down (``.children[0]``), the id box
        (``.children[1]``) and the ``Output`` with the figure and the vector
        (``.children[2]``). Its attribute ``row`` is the id shown now. Setting the drop-down's
        or the id box's ``value`` redraws.

    Raises:
        ValueError, TypeError: as :func:`draw_row` (a bad ``table``, ``labels``, ``start`` or
            ``window``), before any widget is made.
    """
    import ipywidgets as widgets
    from IPython.display import Pretty, display

    matrix = as_table(table).copy()
    rows = matrix.shape[0]
    start = _row_index(start, rows, "start")
    names = _label_map(labels, rows)
    draw_row(matrix, start, names, window=window)  # validates window before any widget is made

    labelled = [_option(i, names) for i in sorted(names)] or [_option(i, names) for i in range(min(rows, 5000))]

    def options_with(row: int) -> list[tuple[str, int]]:
        known = {value for _, value in labelled}
        return labelled if row in known else sorted(labelled + [_option(row, names)], key=lambda option: option[1])

    choose = widgets.Dropdown(options=options_with(start), value=start, description="row:",
                              layout=widgets.Layout(width="420px"))  # fmt: skip
    id_box = widgets.BoundedIntText(value=start, min=0, max=rows - 1, description="id:", layout=widgets.Layout(width="160px"))
    out = widgets.Output()
    box = widgets.VBox([choose, id_box, out])
    box.add_class("course-explorer")
    busy = False

    def show(row: Any) -> None:
        nonlocal busy
        if busy or row is None:
            return
        busy = True
        try:
            row = _row_index(row, rows)
            if row not in {value for _, value in choose.options}:
                choose.options = options_with(row)
            choose.value = row
            id_box.value = row
            box.row = row
            with out:
                out.clear_output(wait=True)
                display(draw_row(matrix, row, names, window=window))
                display(Pretty(_vector_text(matrix, row, names)))
        finally:
            busy = False

    choose.observe(lambda change: show(change["new"]), names="value")
    id_box.observe(lambda change: show(change["new"]), names="value")
    show(start)
    return box
