"""Choose the two-tower retrieval model's settings on the validation slice: a reproducible grid search.

    python tools/tune_retrieval.py --dim 32 64 --learning-rate 0.003 0.01 --seeds 0 1 2
    python tools/tune_retrieval.py --from previous --remove-accidental-hits true --seeds 0 1 2

Every combination of the listed values (the other settings come from ``--from``: ``chosen``, the
lesson's ``RETRIEVAL_CONFIGS["100k"]``, or ``previous``, the course's settings before the search)
is trained on the liked pairs (ratings >= 4) of ``split_ratings(seed=42)``'s training part, once
per model seed, exactly as lesson 04 trains it (``course_lib.retrieval.train_retrieval_model``):
each epoch ends with the validation Recall@10 over the full catalogue, and the best epoch is kept.
The table lists the mean best validation Recall@10 over the seeds, the epochs kept, and the
seconds per run, best first. The test part is never scored, except with ``--report-test``: then,
once the grid is done, the test Recall@10 of the single best-validation setting is printed per
seed, and nothing else's. ``--out FILE`` appends one JSON line per run.

Runs with TensorFlow's op determinism on, as the lesson does, so a setting gives the lesson's
numbers to the digit on the same machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict, fields, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def main(argv: list[str] | None = None) -> int:
    from course_lib import setup_notebook

    setup_notebook(seed=42)
    import numpy as np
    import pandas as pd

    from course_lib import recommender as rec
    from course_lib import retrieval as rt
    from course_lib.datasets import load_movielens

    kinds = {f.name: (_bool if f.type in ("bool", bool) else {"int": int, "float": float, "str": str}.get(f.type, str))
             for f in fields(rt.RetrievalConfig)}  # fmt: skip
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="start", default="chosen", choices=("chosen", "previous"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="model seeds (default: 0 1 2)")
    parser.add_argument("--report-test", action="store_true", help="print the test Recall@10 of the best setting")
    parser.add_argument("--out", type=Path, help="append one JSON line per run to this file")
    for name, kind in kinds.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, nargs="+", help="values to try")
    args = parser.parse_args(argv)
    if any(seed < 0 for seed in args.seeds):
        parser.error(f"--seeds must be >= 0, got {args.seeds}")
    start = rt.RETRIEVAL_CONFIGS["100k"] if args.start == "chosen" else rt.PREVIOUS_RETRIEVAL_CONFIG
    grid = {name: getattr(args, name) for name in kinds if getattr(args, name)}
    settings = [replace(start, **dict(zip(grid, values))) for values in itertools.product(*grid.values())]

    ml = load_movielens("100k")
    split = rec.split_ratings(ml.ratings, seed=42, n_users=int(ml.ratings.user_id.max()),
                              n_movies=int(ml.movies.movie_id.max()))  # fmt: skip
    rows = []
    for config in settings:
        runs = []
        for seed in args.seeds:
            _, history = rt.train_retrieval_model(split, config, seed=seed)
            runs.append(history)
            if args.out:
                with args.out.open("a") as out:
                    out.write(json.dumps({"config": asdict(config), "seed": seed, **history}) + "\n")
        changed = {k: v for k, v in asdict(config).items() if getattr(start, k) != v} or {"(start)": args.start}
        rows.append({"setting": ", ".join(f"{k}={v}" for k, v in changed.items()),
                     "validation Recall@10": np.mean([max(h["val_recall"]) for h in runs]),
                     "per seed": " ".join(f"{max(h['val_recall']):.4f}" for h in runs),
                     "epochs kept": " ".join(str(h["best_epoch"]) for h in runs),
                     "s per run": np.mean([h["seconds"] for h in runs]), "config": config})  # fmt: skip
        print(f"{rows[-1]['setting']}: validation {rows[-1]['validation Recall@10']:.4f}", flush=True)
    table = pd.DataFrame(rows).sort_values("validation Recall@10", ascending=False, kind="stable")
    print(table.drop(columns="config").to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if args.report_test:
        best = table.iloc[0]["config"]
        known = pd.concat([split.train, split.validation])
        exclude = rec.known_items_mask(known, split.n_users, split.n_movies)
        liked = split.test[split.test.rating >= 4]
        relevant = np.zeros_like(exclude)
        relevant[liked.user_id, liked.movie_id] = True
        tests = [rt.recall_at_k(rt.train_retrieval_model(split, best, seed=seed)[0].scores, exclude, relevant,
                                np.unique(liked.user_id)) for seed in args.seeds]  # fmt: skip
        print(f"test Recall@10 of the best setting ({table.iloc[0]['setting']}): "
              + ", ".join(f"seed {s}: {t:.4f}" for s, t in zip(args.seeds, tests)) + f"; mean {np.mean(tests):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
