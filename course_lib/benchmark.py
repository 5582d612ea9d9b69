"""Benchmark the course's rating model: ``python -m course_lib.benchmark --variant 1m --backend jax``.

For each seed it splits MovieLens at random (90 % train, of which 5 % of all ratings are the
validation slice for early stopping; 10 % test), computes the global-mean and bias-only
baselines (bias penalties chosen on validation), trains
:func:`course_lib.recommender.build_rating_model` with the settings of
:data:`course_lib.recommender.CONFIGS` (``--batch-size`` and friends override them), and
prints one line per run: device, training examples per second, seconds per epoch, epochs
run, test RMSE and MAE, and both baselines' test RMSE. A summary line averages the seeds and
says whether the course's target is met (test RMSE at most 0.91 on 100k, 0.85 on 1m).

Examples per second and seconds per epoch are the median over epochs after the first (the
first epoch also traces or compiles the training step). Both include each epoch's validation
pass (Keras ends an epoch after validating): examples per second is training ratings divided by
the whole epoch's wall time. Example runs::

    python -m course_lib.benchmark                                  # 100k, TensorFlow, 3 seeds
    python -m course_lib.benchmark --variant 1m --seeds 3           # about 5 minutes per seed on 2 CPU cores
    KERAS_BACKEND=jax python -m course_lib.benchmark --variant 1m --backend jax --batch-size 4096

The backend must be chosen before Keras is imported, so this module imports Keras (and
:mod:`course_lib.recommender`) only inside :func:`main`, after setting ``KERAS_BACKEND``.
JAX and PyTorch are not in the course's requirements: install ``jax[cuda12]`` or ``torch``
yourself to benchmark them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, replace

from course_lib.env import quiet_native_stderr  # imports no Keras or TensorFlow

#: Test-RMSE targets (stars) the course promises, per variant.
TARGETS = {"100k": 0.91, "1m": 0.85}
BACKENDS = ("tensorflow", "jax", "torch")


def describe_device(backend: str) -> str:
    """A short name of the device the backend trains on, e.g. ``"GPU: NVIDIA H100 80GB HBM3"`` or ``"CPU (x86_64, 2 cores)"``."""
    cpu = f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return f"GPU: {details.get('device_name', gpus[0].name)}"
        elif backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return f"{device.platform.upper()}: {device.device_kind}"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"GPU: {torch.cuda.get_device_name(0)}"
    except Exception as exc:  # a broken driver should not stop a CPU benchmark
        return f"{cpu} (GPU query failed: {type(exc).__name__})"
    return cpu


def _select_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise SystemExit(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            raise SystemExit(
                f"Keras was already imported with the {keras.backend.backend()} backend; run the benchmark "
                f"in a fresh process: KERAS_BACKEND={backend} python -m course_lib.benchmark --backend {backend}"
            )
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if backend == "jax":
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    try:
        with quiet_native_stderr():
            __import__(backend)
    except ImportError as exc:
        package = {"jax": "jax (pip install 'jax[cuda12]' for a GPU)", "torch": "torch"}.get(backend, backend)
        raise SystemExit(f"the {backend} backend cannot be imported ({exc}); install {package}") from None
    if backend == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # no retracing notices between seeds


def run_once(ratings, variant: str, seed: int, config, device: str) -> dict:
    """Split with ``seed``, fit the baselines and the rating model, return the measured figures."""
    import keras
    import numpy as np

    from course_lib import recommender as rec

    keras.utils.set_random_seed(seed)
    split = rec.split_ratings(ratings, seed=seed)
    mean = rec.global_mean_baseline(split.train)
    biases, _, _ = rec.tune_bias_baseline(split)  # penalties chosen on the validation slice
    model = rec.build_rating_model(split.n_users, split.n_movies, global_mean=mean, dim=config.dim, l2=config.l2,
                                   bias_l2=config.bias_l2, seed=seed)  # fmt: skip
    start = time.perf_counter()
    history, seconds = rec.train_rating_model(model, split, config)
    train_seconds = time.perf_counter() - start
    predicted = rec.predict_ratings(model, split.test)
    steady = seconds[1:] or seconds
    per_epoch = float(np.median(steady))
    test = split.test["rating"].to_numpy()
    return {
        "variant": variant,
        "seed": seed,
        "device": device,
        "batch_size": config.batch_size,
        "examples_per_s": len(split.train) / per_epoch,
        "s_per_epoch": per_epoch,
        "epochs": len(seconds),
        "best_epoch": int(np.argmin(history["val_rmse"])) + 1,
        "train_s": train_seconds,
        "test_rmse": rec.rmse(test, predicted),
        "test_mae": rec.mae(test, predicted),
        "global_mean_rmse": rec.rmse(test, np.full(len(test), mean)),
        "bias_only_rmse": rec.rmse(test, biases.predict(split.test["user_id"], split.test["movie_id"])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="100k", choices=sorted(TARGETS), help="MovieLens variant (default 100k)")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"), choices=BACKENDS,
                        help="Keras backend (default: $KERAS_BACKEND or tensorflow)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, help="ratings per step (default: the variant's setting)")
    parser.add_argument("--epochs", type=int, help="maximum epochs (early stopping usually ends sooner)")
    parser.add_argument("--learning-rate", type=float, help="Adam step size (default: the variant's setting)")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds, 0, 1, 2, ... (default 3)")
    parser.add_argument("--json", action="store_true", help="also print each run as one JSON line")
    args = parser.parse_args(argv)
    if args.seeds < 1 or (args.batch_size is not None and args.batch_size < 1):
        parser.error("--seeds and --batch-size must be positive")

    _select_backend(args.backend)
    import keras

    from course_lib import recommender as rec
    from course_lib.datasets import DataUnavailableError, load_movielens

    try:
        ratings = load_movielens(args.variant).ratings
    except DataUnavailableError as exc:
        print(exc, file=sys.stderr)
        return 1
    overrides = {k: v for k, v in {"batch_size": args.batch_size, "epochs": args.epochs,
                                   "learning_rate": args.learning_rate}.items() if v is not None}  # fmt: skip
    config = replace(rec.CONFIGS[args.variant], **overrides)
    with quiet_native_stderr():
        device = describe_device(args.backend)
    print(f"MovieLens {args.variant}, Keras {keras.__version__} on {args.backend}, {device}; settings {asdict(config)}")
    header = (f"{'seed':>4} {'examples/s':>11} {'s/epoch':>8} {'epochs':>6} {'test RMSE':>9} {'test MAE':>8} "
              f"{'global mean':>11} {'bias only':>9}")  # fmt: skip
    print("examples/s and s/epoch: whole epochs, the validation pass included", flush=True)
    print(header, flush=True)
    runs = []
    for seed in range(args.seeds):
        run = run_once(ratings, args.variant, seed, config, device)
        runs.append(run)
        print(f"{seed:>4} {run['examples_per_s']:>11,.0f} {run['s_per_epoch']:>8.2f} {run['epochs']:>6} "
              f"{run['test_rmse']:>9.4f} {run['test_mae']:>8.4f} {run['global_mean_rmse']:>11.4f} "
              f"{run['bias_only_rmse']:>9.4f}", flush=True)  # fmt: skip
        if args.json:
            print(json.dumps(run), flush=True)
    mean = {key: sum(r[key] for r in runs) / len(runs) for key in
            ("examples_per_s", "s_per_epoch", "epochs", "test_rmse", "test_mae", "global_mean_rmse", "bias_only_rmse")}  # fmt: skip
    target = TARGETS[args.variant]
    verdict = "met" if mean["test_rmse"] <= target else "NOT met"
    print(f"mean {mean['examples_per_s']:>11,.0f} {mean['s_per_epoch']:>8.2f} {mean['epochs']:>6.1f} "
          f"{mean['test_rmse']:>9.4f} {mean['test_mae']:>8.4f} {mean['global_mean_rmse']:>11.4f} "
          f"{mean['bias_only_rmse']:>9.4f}")  # fmt: skip
    print(f"Target: mean test RMSE <= {target} on {args.variant}: {verdict}.")
    return 0 if mean["test_rmse"] <= target else 2


if __name__ == "__main__":
    sys.exit(main())
