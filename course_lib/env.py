"""Notebook set-up and the environment report.

Call :func:`setup_notebook` in a lesson's first cell, *before* anything imports TensorFlow:
TensorFlow reads its logging settings from the environment when it is first imported.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import warnings

#: Environment variables that keep TensorFlow's C++ start-up chatter out of the notebook.
QUIET_TF_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # C++ INFO, WARNING and ERROR lines off
    "TF_ENABLE_ONEDNN_OPTS": "0",  # no oneDNN notice, and bit-for-bit repeatable CPU results
    "KERAS_BACKEND": "tensorflow",
}


def setup_notebook(seed: int = 42, *, deterministic: bool = True) -> None:
    """Quiet TensorFlow, seed every random number generator and set plot defaults.

    Args:
        seed: seed for Python's ``random``, NumPy and TensorFlow (via
            ``keras.utils.set_random_seed``). Same seed, same numbers on the same machine.
        deterministic: also call ``tf.config.experimental.enable_op_determinism()`` so GPU
            kernels are repeatable too (slightly slower on GPU, no effect on speed on CPU).

    Environment variables already set by the user win over the defaults in
    :data:`QUIET_TF_ENV`. Prints one line saying what it did.

    Raises:
        TypeError: ``seed`` is not an int (``1.5``, ``"42"``, ``None``, ``True``), or
            ``deterministic`` is not a bool. Checked first: nothing is changed then.
        ValueError: ``seed`` is outside 0 .. 2**32 - 1 (the range NumPy's generator accepts).
    """
    from course_lib.validation import check_bool, check_seed

    seed = check_seed(seed, hint="e.g. setup_notebook(seed=42)")
    deterministic = check_bool(deterministic, "deterministic")
    for key, value in QUIET_TF_ENV.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)

    _import_tensorflow_quietly()
    import absl.logging
    import keras
    import tensorflow as tf

    absl.logging.set_verbosity(absl.logging.ERROR)
    tf.get_logger().setLevel("ERROR")
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()

    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 90, "figure.figsize": (7, 4), "axes.grid": False})
    print(f"Ready: TensorFlow {tf.__version__}, Keras {keras.__version__}, seed {seed}.")


@contextlib.contextmanager
def quiet_native_stderr():
    """Send the process's stderr (file descriptor 2) to /dev/null inside the block.

    TensorFlow 2.21 writes a few C++ lines while it loads ("Could not find cuda drivers...",
    "All log messages before absl::InitializeLog()...") before ``TF_CPP_MIN_LOG_LEVEL`` is
    honoured; Jupyter would show them in the cell. Python exceptions are not affected: they
    travel through ``sys.stderr``, not through the descriptor.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow inside :func:`quiet_native_stderr` (once; later calls do nothing)."""
    if "tensorflow" in sys.modules:
        return
    with quiet_native_stderr():
        import tensorflow  # noqa: F401


def environment_report() -> dict:
    """Versions and devices of this machine, as a dict of strings and lists.

    Keys: ``python``, ``platform``, ``tensorflow``, ``keras``, ``tf_keras`` (``None`` when not
    installed), ``gpus`` (names of the GPUs TensorFlow sees; empty list when none), ``in_colab``.
    """
    import keras
    import tensorflow as tf

    try:
        import tf_keras

        tf_keras_version = tf_keras.__version__
    except ImportError:  # lesson 06 needs it; the report says so
        tf_keras_version = None
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf_keras": tf_keras_version,
        "gpus": [gpu.name for gpu in tf.config.list_physical_devices("GPU")],
        "in_colab": "google.colab" in sys.modules,
    }


def gpu_hint(report: dict) -> str:
    """One paragraph saying how to get a GPU on this platform, or that one is in use.

    ``report`` is the dict returned by :func:`environment_report`.

    Raises:
        TypeError: ``report`` is not a dict.
        KeyError: it lacks ``gpus``, ``platform`` or ``in_colab`` (the message says to pass
            ``environment_report()``).
    """
    if not isinstance(report, dict):
        raise TypeError(f"report={report!r}: expected the dict returned by environment_report()")
    missing = [key for key in ("gpus", "platform", "in_colab") if key not in report]
    if missing:
        raise KeyError(f"report lacks {missing}; pass the dict returned by environment_report()")
    if report["gpus"]:
        return f"TensorFlow sees {len(report['gpus'])} GPU(s): {', '.join(report['gpus'])}. Lesson 04 will train on it."
    system = report["platform"].split()[0]
    if report["in_colab"]:
        advice = "In Colab choose Runtime > Change runtime type > T4 GPU, then run this notebook again."
    elif system == "Linux":
        advice = (
            "On Linux with an NVIDIA GPU and driver, install the CUDA build inside the course's "
            "environment: `.venv/bin/pip install 'tensorflow[and-cuda]==2.21.0'`."
        )
    elif system == "Windows":
        advice = (
            "TensorFlow 2.11+ has no GPU support on native Windows: use WSL2 (Ubuntu) and "
            "`pip install 'tensorflow[and-cuda]==2.21.0'` there, or Google Colab."
        )
    elif system == "Darwin":
        advice = "On a Mac TensorFlow runs on the CPU here; for a GPU use Google Colab (lesson 04 runs there)."
    else:
        advice = "For a GPU, use Google Colab or a Linux machine with an NVIDIA GPU."
    return "No GPU found: every lesson runs on the CPU in well under two minutes. " + advice
