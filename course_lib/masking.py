"""Pictures and a widget for lesson 02 (padding and masking).

Only what the notebook would otherwise repeat lives here:

- :func:`padded_mean` computes the masked and the plain mean of padded embeddings (NumPy);
- :func:`plot_padded_batch` draws a padded batch of ids next to its mask;
- :func:`draw_padding` pads a few sequences and draws the batch, its mask and both means;
- :func:`padding_explorer` is the widget around it: a slider for the padded length;
- :func:`is_right_padded` says whether a mask meets the cuDNN rule of Keras 3 ``LSTM``/``GRU``
  on a GPU (real steps first, padding only at the end, no all-padding row);
- :func:`mask_flow` asks the running Keras what each of some layers does with a padding mask
  (lesson 02, section 4: the table is computed, never written down, because it changes
  between Keras versions).

Importing this module does not import TensorFlow; :func:`draw_padding` imports Keras
(for ``keras.utils.pad_sequences``) when it is called.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from course_lib import validation as v

__all__ = ["padded_mean", "plot_padded_batch", "draw_padding", "padding_explorer", "is_right_padded", "mask_flow"]


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


def _as_mask(mask, name: str = "mask") -> np.ndarray:
    """``mask`` as a bool NumPy array; TypeError/ValueError when it holds anything but 0/1/True/False."""
    if hasattr(mask, "numpy"):
        mask = mask.numpy()
    array = np.asarray(mask)
    if array.dtype == bool:
        return array
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must hold True/False (or 1/0), got dtype {array.dtype}; use ids != 0")
    if not np.isin(array, (0, 1)).all():
        bad = np.unique(array[~np.isin(array, (0, 1))])[:5].tolist()
        raise ValueError(f"{name} must hold only True/False (or 1/0), got values such as {bad}; "
                         "a mask is ids != 0, not the ids themselves")
    return array.astype(bool)


def is_right_padded(mask) -> bool:
    """True when every row of ``mask`` is some real steps followed only by padding, and no row is all padding.

    This is the rule Keras 3 ``LSTM``/``GRU`` need on the cuDNN path (TensorFlow backend, GPU)
    when they get a mask: it must be strictly right-padded, ``[True, True, False]`` but not
    ``[False, True, True]`` (what ``keras.utils.pad_sequences``' default ``padding="pre"``
    gives) nor ``[True, False, True]``, and no row may be fully masked. The same test is
    made by Keras's private ``keras.src.backend.tensorflow.rnn._assert_valid_mask``; a mask
    that fails it stops ``fit`` (a graph) with InvalidArgumentError, while an eager call falls
    back to the generic loop (Keras 3.15.1; lesson 02, section 4 and *Going deeper*).

    Args:
        mask: bool (or 0/1) array or tensor of shape ``(batch, length)``, e.g. ``ids != 0``.

    Returns:
        A Python bool.

    Raises:
        ValueError: ``mask`` is not 2-D or holds values other than 0/1.
        TypeError: ``mask`` is not boolean or numeric.
    """
    m = _as_mask(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (batch, length), got shape {m.shape}")
    lengths = m.sum(axis=1)
    right = np.arange(m.shape[1])[None, :] < lengths[:, None]
    return bool(np.array_equal(m, right) and (lengths > 0).all())


def mask_flow(layers, x):
    """What each layer does with the padding mask attached to ``x``, asked of the running Keras.

    Each layer is called on ``x`` (which carries a mask, e.g. the output of an ``Embedding``
    with ``mask_zero=True``), and once more on a copy of the same numbers without a mask. The
    columns of the result:

    - ``uses``: the output changes when the mask is taken away (the layer reads the mask);
    - ``declares``: ``layer.supports_masking``;
    - ``warned``: Keras warned that the layer "does not support masking" (it does so exactly
      when support is not declared: ``Layer.__call__`` in ``keras/src/layers/layer.py``);
    - ``passes_on``: the output carries a mask for the next layer;
    - ``verdict``: ``"passed on"`` (the output carries the mask), ``"consumed"`` (used, and the
      time axis is gone), ``"used, not passed on"`` (used, the time axis stays, no mask on it)
      or ``"dropped"`` (not used, no mask on the output: later layers see padding as data).

    Args:
        layers: a list of Keras layers, named in the table by their class (``LSTM``, and
            ``LSTM(return_sequences=True)`` for a recurrent layer that returns sequences), or
            a dict ``{name: layer}``.
        x: float tensor ``(batch, time, dim)`` with a Keras mask attached.

    Returns:
        A pandas DataFrame indexed by name, with the bool columns ``uses``, ``declares``,
        ``warned``, ``passes_on`` and the str column ``verdict``.

    Raises:
        ValueError: ``x`` carries no mask (there would be nothing to follow), ``layers`` is
            empty or holds something other than Keras layers, or two layers of a list get the
            same name (pass a dict then).
    """
    import warnings

    import keras
    import pandas as pd

    if getattr(x, "_keras_mask", None) is None:
        raise ValueError("x carries no mask: pass the output of an Embedding with mask_zero=True "
                         "(or of a Masking layer), called on padded ids")
    if isinstance(layers, (list, tuple)):
        names = [type(layer).__name__ + ("(return_sequences=True)" if getattr(layer, "return_sequences", False) else "")
                 for layer in layers]
        if len(set(names)) < len(names):
            raise ValueError(f"two layers would both be called {max(names, key=names.count)!r}: "
                             "pass a dict {name: layer} to name them yourself")
        layers = dict(zip(names, layers))
    if not isinstance(layers, dict) or not layers or not all(isinstance(v, keras.layers.Layer) for v in layers.values()):
        raise ValueError("layers must be a non-empty list of Keras layers (or a dict {name: layer}), "
                         f"got {type(layers).__name__}: {layers!r:.80}")
    rows = {}
    for name, layer in layers.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = layer(x)
        without_mask = layer(keras.ops.copy(x))  # the same numbers, no mask attached
        uses = not np.allclose(keras.ops.convert_to_numpy(out), keras.ops.convert_to_numpy(without_mask), atol=1e-6)
        passes_on = getattr(out, "_keras_mask", None) is not None
        if passes_on:
            verdict = "passed on"
        elif not uses:
            verdict = "dropped"
        else:
            verdict = "consumed" if len(out.shape) == 2 else "used, not passed on"
        rows[name] = {"uses": uses, "declares": bool(layer.supports_masking),
                      "warned": any("does not support masking" in str(w.message) for w in caught),
                      "passes_on": passes_on, "verdict": verdict}
    return pd.DataFrame.from_dict(rows, orient="index")


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
        ValueError: the shapes do not fit together (the message gives both), or ``mask`` holds
            values other than 0/1.
        TypeError: ``vectors`` is not numeric, or ``mask`` is not boolean or numeric.
    """
    x = v.check_finite(vectors, "vectors", hint="pass an Embedding's output, shape (batch, length, dim)").astype(np.float64)
    m = _as_mask(mask)
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
    mask = _as_mask(mask)
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
            ``table`` not 2-D or not finite, ``maxlen`` < 1, an unknown ``padding``, or a label
            count that differs from the number of sequences.
        TypeError: a non-integer id (floats are never rounded), a non-int ``maxlen``, a
            non-numeric ``table``.
    """
    import keras
    import matplotlib.pyplot as plt

    table, sequences = _check_explorer_inputs(sequences, table, row_labels)
    maxlen = v.check_size(maxlen, "maxlen", hint="the padded length")
    padding = v.check_choice(padding, "padding", ("post", "pre"))
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
    table = v.check_finite(table, "table", hint="pass embedding_layer.embeddings.numpy()")
    if table.ndim != 2:
        raise ValueError(f"table must be 2-D (vocabulary + 1, dim), got shape {table.shape}")
    if sequences is None or isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__iter__"):
        raise TypeError(f"sequences should be a list of lists of ids, got {type(sequences).__name__}")
    sequences = [
        v.check_ids(s, f"sequences[{k}]", minimum=1, maximum=len(table) - 1, ndim=1, allow_empty=False,
                    hint="0 is the padding id, and an empty sequence has no mean").tolist()
        for k, s in enumerate(sequences)
    ]
    if not sequences:
        raise ValueError("sequences is empty: give at least one sequence of ids")
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

    Follows the course's explorer convention: one ``VBox`` with the CSS class
    ``course-explorer``, the figure and a two-line summary drawn into an
    ``ipywidgets.Output`` inside it (so it keeps working after the page is reloaded). Make it
    the last expression of a cell to show it. Nothing else reads its state: cells after it
    should recompute what they need with :func:`draw_padding`.

    Args:
        sequences, table, row_labels: as in :func:`draw_padding`.

    Returns:
        An ``ipywidgets.VBox`` holding an IntSlider ``maxlen`` (``.children[0]``, starting at
        the longest sequence + 4), a Dropdown ``padding`` (``.children[1]``, ``"post"`` or
        ``"pre"``) and the ``Output`` (``.children[2]``). Its attribute ``result`` is the dict
        of :func:`draw_padding` for the current view. Setting either control's ``value``
        redraws.

    Raises:
        ValueError, TypeError: as :func:`draw_padding`, before any widget is made.
    """
    import ipywidgets as widgets
    from IPython.display import Pretty, display

    table, sequences = _check_explorer_inputs(sequences, table, row_labels)
    longest = max(map(len, sequences))
    slider = widgets.IntSlider(value=longest + 4, min=1, max=longest + 12, description="maxlen", continuous_update=False)
    side = widgets.Dropdown(options=["post", "pre"], value="post", description="padding")
    out = widgets.Output()
    box = widgets.VBox([slider, side, out])
    box.add_class("course-explorer")

    def redraw(_change=None) -> None:
        figure, box.result = draw_padding(sequences, table, slider.value, side.value, row_labels=row_labels)
        with out:
            out.clear_output(wait=True)
            display(figure)
            display(Pretty(_summary(box.result)))

    redraw()
    slider.observe(redraw, names="value")
    side.observe(redraw, names="value")
    return box
