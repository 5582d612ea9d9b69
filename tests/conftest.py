"""Test-session set-up shared by every test module: quiet TensorFlow, headless plots.

Runs before any test module imports TensorFlow or matplotlib.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")

# Exercise checks record passes in a per-user progress file: tests (and the notebook kernels
# nbval starts, which inherit this environment) write to a throw-away one instead.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

_progress_dir = tempfile.mkdtemp(prefix="course-progress-")
os.environ["COURSE_PROGRESS_FILE"] = os.path.join(_progress_dir, "progress.json")
atexit.register(shutil.rmtree, _progress_dir, ignore_errors=True)
