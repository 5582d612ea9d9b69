"""Helper library for the course *Embeddings with TensorFlow*.

It holds only what the notebooks would otherwise repeat:

- :mod:`course_lib.env`: notebook set-up (quiet TensorFlow, seeds) and the environment report;
- :mod:`course_lib.datasets`: verified, cached MovieLens and GloVe loaders;
- :mod:`course_lib.text`: the title tokenizer and the GloVe lookup rule (accents kept, folded on lookup);
- :mod:`course_lib.validation`: the argument checks every public function uses (one clear error);
- :mod:`course_lib.checks`: the self-check machinery (``check()``, ``hint()``, ``solution()``);
- :mod:`course_lib.exercises`: one module of exercises per lesson.

Importing ``course_lib`` does not import TensorFlow.
"""

from pathlib import Path

__version__ = "0.1.0"

#: The repository root (the folder holding ``lessons/``, ``solutions/`` and ``datasets/``).
REPO_ROOT = Path(__file__).resolve().parent.parent

from course_lib.env import setup_notebook  # noqa: E402  (needs REPO_ROOT defined first)

__all__ = ["REPO_ROOT", "setup_notebook", "__version__"]
