"""course_lib.masking.mask_flow: lesson 02's table of what layers do with the padding mask (issue 18).

The table is computed from the running Keras because it changes between versions (keras-nightly
3.16.0.dev stops declaring mask support for recurrent layers). These tests hold on every
version: they check the rules the lesson teaches, not one version's answers. The canary
(``make test-canary``) runs them on the nightlies too.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from course_lib.masking import mask_flow

IDS = np.array([[5, 7, 0, 0], [3, 4, 5, 6]])


@pytest.fixture(scope="module")
def embedded():
    keras.utils.set_random_seed(0)
    return keras.layers.Embedding(10, 4, mask_zero=True)(IDS)


class IgnoresTheMask(keras.layers.Layer):
    # Declares support (so the mask goes on) but never reads it.
    def __init__(self):
        super().__init__()
        self.supports_masking = True

    def call(self, x):
        return 2 * x


def test_the_three_cases_of_the_lesson(embedded):
    flow = mask_flow([keras.layers.Dense(3), keras.layers.GlobalAveragePooling1D(), keras.layers.GlobalMaxPooling1D(),
                      keras.layers.Conv1D(3, 2, padding="same")], embedded)
    assert flow.verdict.to_dict() == {"Dense": "passed on", "GlobalAveragePooling1D": "consumed",
                                      "GlobalMaxPooling1D": "dropped", "Conv1D": "dropped"}
    assert flow.uses.to_dict() == {"Dense": False, "GlobalAveragePooling1D": True, "GlobalMaxPooling1D": False, "Conv1D": False}
    assert (flow.warned == ~flow.declares).all()
    assert list(flow.columns) == ["uses", "declares", "warned", "passes_on", "verdict"]


def test_uses_means_the_numbers_change_without_the_mask(embedded):
    # A layer that declares support but ignores the mask passes it on without using it.
    flow = mask_flow({"ignores": IgnoresTheMask()}, embedded)
    assert flow.loc["ignores"].to_dict() == {"uses": False, "declares": True, "warned": False, "passes_on": True,
                                            "verdict": "passed on"}


def test_an_lstm_uses_the_mask_and_passes_it_on_exactly_when_it_declares_support(embedded):
    # Holds on Keras 3.15.1 (declares, passes on) and on keras-nightly 3.16.0.dev (neither, warns).
    flow = mask_flow([keras.layers.LSTM(3), keras.layers.LSTM(3, return_sequences=True)], embedded)
    assert flow.uses.all() and flow.verdict["LSTM"] == "consumed"
    row = flow.loc["LSTM(return_sequences=True)"]
    assert row.passes_on == row.declares != row.warned
    assert row.verdict == ("passed on" if row.declares else "used, not passed on")


def test_a_masked_lstm_ends_in_the_state_of_the_unpadded_sequence():
    # What lesson 02 states for every version: the LSTM skips the padded steps.
    keras.utils.set_random_seed(0)
    embed, lstm = keras.layers.Embedding(10, 4, mask_zero=True), keras.layers.LSTM(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # keras-nightly 3.16.0.dev warns that LSTM "does not support masking"
        padded, alone = lstm(embed(IDS[:1])), lstm(embed(IDS[:1, :2]))
    assert np.allclose(padded, alone, atol=1e-6)
    without_mask = lstm(keras.ops.copy(embed(IDS[:1])))  # the same numbers, no mask: it reads the padding
    assert not np.allclose(without_mask, alone, atol=1e-6)


def test_bad_inputs_get_clear_errors(embedded):
    with pytest.raises(ValueError, match="x carries no mask.*mask_zero=True"):
        mask_flow([keras.layers.Dense(3)], keras.ops.copy(embedded))
    with pytest.raises(ValueError, match="two layers would both be called 'Dense'.*dict"):
        mask_flow([keras.layers.Dense(3), keras.layers.Dense(2)], embedded)
    with pytest.raises(ValueError, match="list of Keras layers"):
        mask_flow([], embedded)
    with pytest.raises(ValueError, match="list of Keras layers"):
        mask_flow({"relu": np.maximum}, embedded)


# --------------------------------------------------------------------------- lesson 02's order (issue 18)


def _cells(path):
    import json
    from pathlib import Path

    notebook = json.loads((Path(__file__).resolve().parent.parent / path).read_text(encoding="utf-8"))
    return [("".join(cell["source"]), cell["cell_type"]) for cell in notebook["cells"]]


@pytest.mark.parametrize("path", ["solutions/02_masking.ipynb", "lessons/02_masking.ipynb"])
def test_lesson02_shows_the_mask_before_cudnn_and_keeps_private_imports_out_of_the_core_path(path):
    cells = _cells(path)
    heading = lambda prefix: next(i for i, (text, kind) in enumerate(cells) if kind == "markdown" and text.startswith(prefix))  # noqa: E731
    section_1, deeper = heading("## 1 ·"), heading("## Going deeper")
    section_4 = next(i for i, (text, _) in enumerate(cells) if "\n## 4 ·" in text or text.startswith("## 4 ·"))
    assert not any("cuDNN" in text for text, _ in cells[section_1:section_4]), "the cuDNN rule belongs with the RNN layers"
    assert any("cuDNN" in text for text, _ in cells[section_4:deeper])
    mask_picture = next(i for i, (text, _) in enumerate(cells) if "plot_padded_batch(" in text)
    assert section_1 < mask_picture < section_4
    assert not any("keras.src" in text for text, kind in cells[:deeper] if kind == "code"), "no private import in the core path"


# --------------------------------------------------------------------------- the cuDNN path (lesson 02, section 4)


@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, keras.layers.GRU])
def test_the_cudnn_path_checks_only_a_mask_and_an_eager_call_falls_back(monkeypatch, layer_class):
    """What lesson 02 states of cuDNN ``LSTM``s and ``GRU``s, on the running Keras
    (``keras/src/backend/tensorflow/rnn.py``): the right-padding check runs only when a mask
    reaches the layer (``_cudnn_lstm``/``_cudnn_gru``: ``if mask is not None``), and in an eager
    call a failed check is caught (``lstm``/``gru`` turn it into NotImplementedError) and the
    layer runs the generic loop (``inner_loop``) with no error. cuDNN needs a GPU:
    ``_is_gpu_available`` is patched so that this CPU takes the cuDNN path up to the op itself.
    (In a graph the check fails when the graph runs, outside that ``try``: the lesson shows it.)
    """
    import importlib

    tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")
    real_check, checked = tf_rnn._assert_valid_mask, []

    def spy(mask):
        checked.append(np.asarray(mask).tolist())
        return real_check(mask)

    monkeypatch.setattr(tf_rnn, "_is_gpu_available", lambda: True)
    monkeypatch.setattr(tf_rnn, "_assert_valid_mask", spy)
    keras.utils.set_random_seed(0)
    x = keras.random.normal((2, 4, 3))
    pre = np.array([[False, False, True, True], [True, True, True, True]])
    layer = layer_class(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer(x)
        assert checked == [], "without a mask nothing is checked"
        fell_back = layer(x, mask=pre)  # eager, padded at the front: checked, refused, no error
        assert checked == [pre.tolist()]
        generic = layer_class(2, use_cudnn=False)
        generic.build(x.shape)
        generic.set_weights(layer.get_weights())
        assert np.allclose(fell_back, generic(x, mask=pre), atol=1e-6)
