"""Choose the rating model's settings on the validation slice: a reproducible grid search.

    python tools/tune_recommender.py --variant 1m --backend jax --dim 64 128 --l2 0.03 0.05 \\
        --history-length 0 32 --seeds 0

For every combination of the listed values (the others come from
``course_lib.recommender.CONFIGS[variant]``), it splits MovieLens with each seed exactly as the
benchmark does, trains with early stopping on the validation slice, and records the best
validation RMSE. The test part is never scored here: pick the setting with the lowest mean
validation RMSE, then report its test RMSE once with ``python -m course_lib.benchmark``.
Results go to stdout as a table, and with ``--out FILE`` as JSON lines (one per run), so a
search can be resumed or reviewed. Same data, grid, seeds and backend give the same splits and
initial weights; floating-point sums on several threads can still move the last digits.

JAX (``--backend jax``, ``pip install 'jax[cpu]'``) runs the same model several times faster
on a CPU, which helps for a search; the course reports the final figures on TensorFlow.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib.benchmark import BACKENDS, _select_backend  # noqa: E402  (imports no Keras)

GRID_FIELDS = {  # flag -> (TrainConfig field, type)
    "dim": ("dim", int),
    "l2": ("l2", float),
    "learning_rate": ("learning_rate", float),
    "batch_size": ("batch_size", int),
    "history_length": ("history_length", int),
    "implicit_l2": ("implicit_l2", float),
    "plateau_factor": ("plateau_factor", float),
    "implicit_normalization": ("implicit_normalization", str),
    "implicit_method": ("implicit_method", str),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="100k", choices=("100k", "1m"))
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"), choices=BACKENDS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="split seeds (default: 0)")
    parser.add_argument("--out", type=Path, help="append one JSON line per run to this file")
    for flag, (_, kind) in GRID_FIELDS.items():
        parser.add_argument(f"--{flag.replace('_', '-')}", type=kind, nargs="+", help="values to try")
    args = parser.parse_args(argv)
    if any(seed < 0 for seed in args.seeds):
        parser.error(f"--seeds must be >= 0, got {args.seeds}")
    grid = {field: getattr(args, flag) for flag, (field, _) in GRID_FIELDS.items() if getattr(args, flag)}
    for field, values in grid.items():
        if isinstance(values[0], str):
            continue  # checked by TrainConfig below
        bad = [v for v in values if not math.isfinite(v) or v < 0 or (v == 0 and field in ("dim", "learning_rate", "batch_size"))]
        if bad:
            parser.error(f"--{field.replace('_', '-')} has out-of-range values {bad}")

    _select_backend(args.backend)
    import keras
    import numpy as np

    from course_lib import recommender as rec
    from course_lib.datasets import load_movielens

    ratings = load_movielens(args.variant).ratings
    base = rec.CONFIGS[args.variant]
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())] or [{}]
    for combo in combos:
        try:
            replace(base, **combo)
        except (TypeError, ValueError) as exc:  # before any training
            parser.error(str(exc))
    print(f"{len(combos)} setting(s) x {len(args.seeds)} seed(s) on MovieLens {args.variant}, {args.backend}; "
          f"base {asdict(base)}", flush=True)  # fmt: skip
    summary = []
    for combo in combos:
        config = replace(base, **combo)
        scores = []
        for seed in args.seeds:
            keras.utils.set_random_seed(seed)
            split = rec.split_ratings(ratings, seed=seed)
            model = rec.build_model_for(split, config, seed=seed)
            start = time.perf_counter()
            history, seconds = rec.train_rating_model(model, split, config)
            record = {"variant": args.variant, "backend": args.backend, "seed": seed, **combo,
                      "val_rmse": float(min(history["val_rmse"])), "best_epoch": int(np.argmin(history["val_rmse"])) + 1,
                      "epochs": len(seconds), "s_per_epoch": float(np.median(seconds[1:] or seconds)),
                      "train_s": time.perf_counter() - start}  # fmt: skip
            scores.append(record["val_rmse"])
            print(json.dumps(record), flush=True)
            if args.out:
                with args.out.open("a") as handle:
                    handle.write(json.dumps(record) + "\n")
        summary.append((float(np.mean(scores)), combo))
    print("\nmean validation RMSE, best first:")
    for score, combo in sorted(summary, key=lambda item: item[0]):
        print(f"  {score:.4f}  {combo}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
