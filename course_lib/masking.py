"""Pictures and a widget for lesson 02 (padding and masking).

Only what the notebook would otherwise repeat lives here:

- :func:`padded_mean` computes the masked and the plain mean of padded embeddings (NumPy);
- :func:`plot_padded_batch` draws a padded batch of ids next to its mask;
- :func:`draw_padding` pads a few sequences and draws the batch, its mask and both means;
- :func:`padding_explorer` is the widget around it: a slider for the padded length.

Importing this module does not import TensorFlow; :func:`draw_padding` imports Keras
(for ``keras.utils.pad_sequences``) when it is called.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["padded_mean", "plot_padded_batch", "draw_padding", "padding_explorer"]


def _as_id_batch(padded, name: str = "padded") -> np.ndarray:
    """``padded`` as a 2-D integer NumPy array; TypeError/ValueError saying what is wrong."""
    if hasattr(padded, "numpy"):
        padded = padded.numpy()
    array = np.asarray(padded)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (batch, length), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integer ids, got dtype {array.dtype}; pad with keras.utils.pad_sequences")
    return array


def padded_mean(vectors, mask) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the time axis of padded vectors, with and without the mask.

    Args:
        vectors: array or tensor of shape (batch, length, dim), e.g. an Embedding's output.
        mask: array or tensor of shape (batch, length): True (or 1) where a real step is,
            False (or 0) at padding, e.g. ``ids != 0``.

    Returns:
        ``(masked, plain)``, two float64 arrays of shape (batch, dim): ``masked`` averages
        the real steps only (what ``GlobalAveragePooling1D`` computes when the mask reaches
        it), ``plain`` averages all ``length`` steps, padding included. A row without any
        real step gives NaN in ``masked``, as Keras does.

    Raises:
        ValueError: the shapes do not fit together (the message gives both).
    """
    x = np.asarray(vectors.numpy() if hasattr(vectors, "numpy") else vectors, dtype=np.float64)
    m = np.asarray(mask.numpy() if hasattr(mask, "numpy") else mask)
    if x.ndim != 3:
        raise ValueError(f"vectors must be 3-D (batch, length, dim), got shape {x.shape}")
    if m.shape != x.shape[:2]:
        raise ValueError(f"mask must have shape (batch, length) = {x.shape[:2]}, got {m.shape}")
    weights = m.astype(np.float64)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        masked = (x * weights).sum(axis=1) / weights.sum(axis=1)
    return masked, x.mean(axis=1)


def plot_padded_batch(
    padded,
    mask=None,
    *,
    row_labels: Sequence[str] | None = None,
    axes=None,
    max_label: int = 28,
    annotate: bool = True,
):
    """Draw a padded batch of ids (left) and its mask (right) as two images.

    Real steps are blue and padding is grey; each cell shows its id when ``annotate`` is
    True and the batch is small enough to read (at most 30 columns and 20 rows).

    Args:
        padded: integer array or tensor of shape (batch, length).
        mask: bool/0-1 array or tensor of the same shape; ``padded != 0`` when omitted.
        row_labels: one label per row (e.g. the movie titles), cut to ``max_label`` characters.
        axes: two matplotlib Axes to draw on; a new (1, 2) figure when omitted.

    Returns:
        The two Axes.

    Raises:
        TypeError: ``padded`` does not hold integers.
        ValueError: ``padded`` is not 2-D, or ``mask``/``row_labels`` do not match it.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    ids = _as_id_batch(padded)
    if mask is None:
        mask = ids != 0
    mask = np.asarray(mask.numpy() if hasattr(mask, "numpy") else mask).astype(bool)
    if mask.shape != ids.shape:
        raise ValueError(f"mask has shape {mask.shape} but padded has shape {ids.shape}")
    if row_labels is not None and len(row_labels) != ids.shape[0]:
        raise ValueError(f"{len(row_labels)} row labels for {ids.shape[0]} rows")
    if axes is None:
        width = min(14.0, 3.0 + 0.55 * ids.shape[1] * 2)
        _, axes = plt.subplots(1, 2, figsize=(width, 0.9 + 0.38 * ids.shape[0]), constrained_layout=True)
    ax_ids, ax_mask = axes
    real_padding = ListedColormap(["#d9d9d9", "#9ecae1"])
    ax_ids.imshow(mask.astype(int), cmap=real_padding, vmin=0, vmax=1, aspect="auto")
    ax_mask.imshow(mask.astype(int), cmap="gray", vmin=0, vmax=1, aspect="auto")
    readable = annotate and ids.shape[1] <= 30 and ids.shape[0] <= 20
    for r in range(ids.shape[0]):
        for c in range(ids.shape[1]):
            if readable:
                ax_ids.text(c, r, str(ids[r, c]), ha="center", va="center", fontsize=7)
                ax_mask.text(c, r, "1" if mask[r, c] else "0", ha="center", va="center", fontsize=7,
                             color="black" if mask[r, c] else "white")  # fmt: skip
    ax_ids.set_title(f"padded ids {ids.shape}: blue = real, grey = padding")
    ax_mask.set_title(f"mask (True = real step), {int(mask.sum())} of {mask.size} real")
    for ax in axes:
        ax.set_xlabel("position in the sequence")
        ax.set_xticks(range(ids.shape[1]) if ids.shape[1] <= 30 else ax.get_xticks())
        ax.tick_params(axis="x", labelsize=7)
    if row_labels is not None:
        ax_ids.set_yticks(range(ids.shape[0]))
        ax_ids.set_yticklabels([str(t)[:max_label] for t in row_labels], fontsize=8)
    ax_mask.set_yticks([])
    return axes


def draw_padding(sequences, table, maxlen: int, padding: str = "post", *, row_labels=None):
    """Pad ``sequences`` to ``maxlen`` and draw the batch, its mask and both means of its vectors.

    Four panels: the padded ids, the mask, the masked mean of each row's embedding vectors,
    and the plain mean over every slot (padding included). Rows longer than ``maxlen`` are
    cut on the same side as the padding (``truncating=padding``).

    Args:
        sequences: lists of ids, each id in 1 .. ``len(table) - 1`` (0 is the padding id).
        table: embedding matrix, array of shape (vocabulary + 1, dim); row 0 is what the
            padding looks up (e.g. ``embedding_layer.get_weights()[0]``).
        maxlen: padded length, a positive int.
        padding: ``"post"`` (pad at the end) or ``"pre"`` (pad at the front).
        row_labels: one label per sequence (e.g. titles).

    Returns:
        ``(figure, result)``: the closed matplotlib Figure (display it to see it) and a dict
        with ``padded`` (int32, (batch, maxlen)), ``mask`` (bool, same shape), ``masked_mean``
        and ``plain_mean`` (float64, (batch, dim)).

    Raises:
        ValueError: no sequences, an empty sequence, an id outside 1 .. len(table) - 1,
            ``table`` not 2-D, ``maxlen`` < 1, an unknown ``padding``, or a label count that
            differs from the number of sequences.
    """
    import keras
    import matplotlib.pyplot as plt

    table, sequences = _check_explorer_inputs(sequences, table, row_labels)
    if not isinstance(maxlen, (int, np.integer)) or maxlen < 1:
        raise ValueError(f"maxlen must be a positive int, got {maxlen!r}")
    if padding not in ("post", "pre"):
        raise ValueError(f"padding must be 'post' or 'pre', got {padding!r}")
    padded = keras.utils.pad_sequences(sequences, maxlen=int(maxlen), padding=padding, truncating=padding)
    mask = padded != 0
    masked, plain = padded_mean(table[padded], mask)
    fig = plt.figure(figsize=(12, 1.7 + 0.45 * len(sequences)), constrained_layout=True)
    width = max(int(maxlen), 3)
    grid = fig.add_gridspec(1, 4, width_ratios=[width, width, table.shape[1], table.shape[1]])
    axes = [fig.add_subplot(grid[0, i]) for i in range(4)]
    plot_padded_batch(padded, mask, row_labels=row_labels, axes=axes[:2], max_label=22, annotate=maxlen <= 20)
    axes[0].set_title("padded ids (grey = padding)")
    axes[1].set_title("mask")
    limit = float(np.nanmax(np.abs(np.concatenate([masked, plain])))) or 1.0
    image = None
    for ax, values, title in ((axes[2], masked, "masked mean"), (axes[3], plain, "plain mean (padding in)")):
        image = ax.imshow(values, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_title(title)
        ax.set_xlabel("dimension")
        ax.set_yticks([])
    fig.colorbar(image, ax=axes[2:], shrink=0.8)
    fig.suptitle(f"maxlen = {maxlen}, padding = {padding!r}: {mask.mean():.0%} of the slots hold a real id")
    plt.close(fig)
    return fig, {"padded": padded, "mask": mask, "masked_mean": masked, "plain_mean": plain}


def _check_explorer_inputs(sequences, table, row_labels):
    table = np.asarray(table.numpy() if hasattr(table, "numpy") else table)
    if table.ndim != 2:
        raise ValueError(f"table must be 2-D (vocabulary + 1, dim), got shape {table.shape}")
    sequences = [[int(i) for i in s] for s in sequences]
    if not sequences or any(len(s) == 0 for s in sequences):
        raise ValueError("give at least one sequence, and no empty sequence (an all-padding row has no mean)")
    bad = [i for s in sequences for i in s if not 1 <= i < len(table)]
    if bad:
        raise ValueError(f"ids must be in 1 .. {len(table) - 1} (0 is padding); got {bad[:5]}")
    if row_labels is not None and len(row_labels) != len(sequences):
        raise ValueError(f"{len(row_labels)} row labels for {len(sequences)} sequences")
    return table, sequences


def _summary(result: dict) -> str:
    mask = result["mask"]
    lengths = mask.sum(axis=1)
    drift = np.abs(result["plain_mean"] - result["masked_mean"]).max(axis=1)
    return (
        f"padded batch {mask.shape}: real steps per row {lengths.tolist()}, "
        f"{mask.size - int(mask.sum())} padding slots\n"
        f"largest |plain mean - masked mean| per row: {np.round(drift, 3).tolist()}"
    )


def padding_explorer(sequences: Sequence[Sequence[int]], table, *, row_labels: Sequence[str] | None = None):
    """Widget: a slider for the padded length and a padding side; redraws :func:`draw_padding`.

    The figure and a two-line summary for the starting values are displayed as ordinary
    outputs, so the notebook shows them without a live kernel (nbval, GitHub); moving the
    slider or changing the side replaces both in place (``display_id`` updates).

    Args:
        sequences, table, row_labels: as in :func:`draw_padding`.

    Returns:
        The displayed ``ipywidgets.VBox`` holding an IntSlider ``maxlen`` (``.children[0]``,
        starting at the longest sequence + 4) and a Dropdown ``padding`` (``.children[1]``,
        ``"post"`` or ``"pre"``). Its attribute ``result`` is the dict of :func:`draw_padding`
        for the current view. Setting either control's ``value`` redraws.

    Raises:
        ValueError: as :func:`draw_padding`.
    """
    import ipywidgets as widgets
    from IPython.display import Pretty, display

    table, sequences = _check_explorer_inputs(sequences, table, row_labels)
    longest = max(map(len, sequences))
    slider = widgets.IntSlider(value=longest + 4, min=1, max=longest + 12, description="maxlen", continuous_update=False)
    side = widgets.Dropdown(options=["post", "pre"], value="post", description="padding")

    class PaddingExplorer(widgets.VBox):
        def __repr__(self) -> str:  # what a page without a live kernel shows instead of the controls
            return "Padding explorer: a maxlen slider and a padding drop-down; run the notebook to use them."

    box = PaddingExplorer([slider, side])
    figure, box.result = draw_padding(sequences, table, slider.value, side.value, row_labels=row_labels)
    display(box)
    figure_handle = display(figure, display_id=True)
    text_handle = display(Pretty(_summary(box.result)), display_id=True)

    def redraw(_change=None) -> None:
        new_figure, box.result = draw_padding(sequences, table, slider.value, side.value, row_labels=row_labels)
        if figure_handle is not None:  # None outside IPython: nothing on screen to update
            figure_handle.update(new_figure)
            text_handle.update(Pretty(_summary(box.result)))

    slider.observe(redraw, names="value")
    side.observe(redraw, names="value")
    return box
