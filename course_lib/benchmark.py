"""Benchmark the course's rating model: ``python -m course_lib.benchmark --variant 1m --backend jax``.

For each seed it splits MovieLens at random (90 % train, of which 5 % of all ratings are the
validation slice for early stopping; 10 % test), computes the global-mean and bias-only
baselines (bias penalties chosen on validation), trains the model of
:func:`course_lib.recommender.build_model_for` with the settings of
:data:`course_lib.recommender.CONFIGS` (the flags below override them), and prints one line
per run: training examples per second, seconds per epoch, epochs run, the whole training
time, the best validation RMSE, test RMSE and MAE, and both baselines' test RMSE. A summary
line averages the seeds and says whether the course's target is met (mean test RMSE at most
0.89 on 100k, 0.84 on 1m).

Examples per second and seconds per epoch are the median over epochs after the first (the
first epoch also traces or compiles the training step). Both include each epoch's validation
pass (Keras ends an epoch after validating): examples per second is training ratings divided by
the whole epoch's wall time. Example runs::

    python -m course_lib.benchmark                                  # 100k, TensorFlow, 3 seeds
    python -m course_lib.benchmark --variant 1m --seeds 3
    python -m course_lib.benchmark --variant 1m --no-jit --steps-per-execution 1   # TensorFlow as before XLA
    KERAS_BACKEND=jax python -m course_lib.benchmark --variant 1m --backend jax
    python -m course_lib.benchmark --variant 1m --compare-backends tensorflow,jax --repeats 3 --epochs 5

``--compare-backends`` runs one-seed benchmarks of each backend back to back, each in a fresh
process, alternating which backend goes first, and prints the ratio of their examples per
second for every pair: on a shared, noisy machine only such paired ratios mean anything.

``--devices N`` trains over N devices with the engines of lesson 05 (:func:`training_scope`):
data parallel on TensorFlow (``MirroredStrategy`` over N GPUs, or N logical CPUs), the user and
movie tables split row-wise on JAX (``keras.distribution.ModelParallel``, tables padded to a
multiple of N rows). It uses :mod:`course_lib.distributed` for the devices and the layout; that
module never imports this one.

Every flag is checked before any data or backend is loaded (exit status 2 and a message naming
the flag). The backend must be chosen before Keras is imported, so this module imports Keras
(and :mod:`course_lib.recommender`) only inside :func:`main`, after setting ``KERAS_BACKEND``.
JAX and PyTorch are not in the course's requirements: install ``jax[cpu]`` (or ``jax[cuda12]``)
or ``torch`` yourself to benchmark them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, replace

from course_lib import validation as v
from course_lib.env import quiet_native_stderr  # imports no Keras or TensorFlow

#: Test-RMSE targets (stars) the course promises, per variant.
TARGETS = {"100k": 0.89, "1m": 0.84}
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


def training_scope(backend: str, devices: int):
    """How ``--devices N`` trains the rating model over ``devices`` devices on ``backend``.

    - ``"tensorflow"``: data parallel, ``tf.distribute.MirroredStrategy`` over the first
      ``devices`` GPUs, or over ``devices`` logical CPUs when there is no GPU
      (:func:`course_lib.distributed.virtual_cpus`, so call this before TensorFlow runs any op).
      The rating model's (batch, 1) output makes ``"mse"`` a per-rating loss, which Keras
      scales per replica: the step is one device's (lesson 05, section 3).
    - ``"jax"``: model parallel, ``keras.distribution.ModelParallel`` with the user and movie
      tables split row-wise over ``devices`` devices
      (:func:`course_lib.distributed.rating_layout_map`; on CPU start the process with
      :func:`course_lib.distributed.jax_env`'s ``XLA_FLAGS``, as :func:`main` does).

    Returns:
        ``(scope, description, pad_to)``: ``scope()`` is a context manager to build and train
        the model in; ``description`` says what it does; ``pad_to`` is the multiple that each
        table's rows must be padded to (``split_ratings(pad_to=...)``: 1 for TensorFlow,
        ``devices`` for JAX).

    Raises:
        TypeError/ValueError: ``devices`` is not a whole number from 1 to 64; ValueError: unknown backend.
        RuntimeError: fewer devices than asked (with the setting that makes more).
    """
    from course_lib import distributed

    devices = v.check_size(devices, "devices", maximum=64)
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus and len(gpus) < devices:
            raise RuntimeError(f"{len(gpus)} GPU(s) found, {devices} asked")
        names = [f"/gpu:{i}" for i in range(devices)] if gpus else distributed.virtual_cpus(devices)
        kind = "GPU" if gpus else "logical CPU"
        return tf.distribute.MirroredStrategy(names).scope, f"MirroredStrategy over {devices} {kind}(s)", 1
    if backend == "jax":
        import keras

        found = keras.distribution.list_devices()
        if len(found) < devices:
            raise RuntimeError(f"{len(found)} JAX device(s), {devices} asked: on CPU start the process with "
                               f"XLA_FLAGS=--xla_force_host_platform_device_count={devices}")  # fmt: skip
        mesh = keras.distribution.DeviceMesh((1, devices), ("batch", "model"), found[:devices])
        distribution = keras.distribution.ModelParallel(layout_map=distributed.rating_layout_map(mesh),
                                                        batch_dim_name="batch")  # fmt: skip
        return distribution.scope, f"ModelParallel, both tables row-sharded over {devices} devices", devices
    raise ValueError(f"backend={backend!r}: choose 'tensorflow' or 'jax'")


def run_once(ratings, variant: str, seed: int, config, device: str, *, pad_to: int = 1) -> dict:
    """Split with ``seed``, fit the baselines and the rating model, return the measured figures.

    ``pad_to`` pads the tables to a multiple of that many rows (``split_ratings(pad_to=...)``),
    for tables split over that many shards (:func:`training_scope`).
    """
    import keras
    import numpy as np

    from course_lib import recommender as rec

    keras.utils.set_random_seed(seed)
    split = rec.split_ratings(ratings, seed=seed, pad_to=pad_to)
    mean = rec.global_mean_baseline(split.train)
    biases, _, _ = rec.tune_bias_baseline(split)  # penalties chosen on the validation slice
    model = rec.build_model_for(split, config, seed=seed)  # implicit-feedback table from split.train only
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
        "best_val_rmse": float(min(history["val_rmse"])),
        "test_rmse": rec.rmse(test, predicted),
        "test_mae": rec.mae(test, predicted),
        "global_mean_rmse": rec.rmse(test, np.full(len(test), mean)),
        "bias_only_rmse": rec.rmse(test, biases.predict(split.test["user_id"], split.test["movie_id"])),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_lib.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="100k", choices=sorted(TARGETS), help="MovieLens variant (default 100k)")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"), choices=BACKENDS,
                        help="Keras backend (default: $KERAS_BACKEND or tensorflow)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, help="ratings per step (default: the variant's setting)")
    parser.add_argument("--epochs", type=int, help="maximum epochs (early stopping usually ends sooner)")
    parser.add_argument("--learning-rate", type=float, help="Adam step size (default: the variant's setting)")
    parser.add_argument("--dim", type=int, help="embedding dimension (default: the variant's setting)")
    parser.add_argument("--l2", type=float, help="per-example L2 on the user and movie vectors")
    parser.add_argument("--history-length", type=int,
                        help="implicit feedback: movies per user in the masked mean (0: plain biased MF)")
    parser.add_argument("--implicit-l2", type=float, help="per-example L2 on the implicit-feedback vectors")
    parser.add_argument("--implicit-method", choices=("gather", "matmul"),
                        help="how the implicit term is computed (same numbers; default: the variant's setting)")
    parser.add_argument("--implicit-normalization", choices=("mean", "sqrt"),
                        help="divide the implicit sum by n (mean) or sqrt(n) (SVD++); default: the variant's setting")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=None,
                        help="compile the training step with XLA (default: on, the variant's setting)")
    parser.add_argument("--steps-per-execution", type=int, help="training steps per compiled call (default 32)")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds, 0, 1, 2, ... (default 3)")
    parser.add_argument("--json", action="store_true", help="also print each run as one JSON line")
    parser.add_argument("--devices", type=int, default=1,
                        help="train over N devices: data parallel on TensorFlow (MirroredStrategy over the GPUs, or N "
                             "logical CPUs), row-sharded tables on JAX (keras.distribution.ModelParallel); lesson 05. "
                             "Uses the variant's settings (only --epochs, --seeds and --json may be added)")
    parser.add_argument("--compare-backends", metavar="A,B", nargs="?", const="tensorflow,jax",
                        help="measure training speed of these backends back to back (default tensorflow,jax), "
                             "each in a fresh process, alternating which goes first; prints each pair's ratio")
    parser.add_argument("--repeats", type=int, default=3, help="with --compare-backends: pairs to run (default 3)")
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """parser.error (exit status 2) for any nonsensical flag, before anything is loaded."""
    for name in ("seeds", "batch_size", "epochs", "dim", "steps_per_execution", "repeats", "devices"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive whole number, got {value}")
    if args.history_length is not None and args.history_length < 0:
        parser.error(f"--history-length must be >= 0 (0 turns implicit feedback off), got {args.history_length}")
    for name, low in (("learning_rate", "positive"), ("l2", "non-negative"), ("implicit_l2", "non-negative")):
        value = getattr(args, name)
        if value is None:
            continue
        if not math.isfinite(value) or (value <= 0 if low == "positive" else value < 0):
            parser.error(f"--{name.replace('_', '-')} must be a finite {low} number, got {value}")
    if args.implicit_method == "matmul" and args.implicit_l2:
        parser.error(f"--implicit-l2 {args.implicit_l2} needs --implicit-method gather (a penalty on the looked-up "
                     "rows); drop one of them")  # fmt: skip
    if args.devices > 1:
        if args.backend not in ("tensorflow", "jax"):
            parser.error(f"--devices {args.devices} needs --backend tensorflow or jax, got {args.backend}")
        tuned = [f"--{n.replace('_', '-')}" for n in ("batch_size", "learning_rate", "dim", "l2",
                                                        "history_length", "implicit_l2", "implicit_method",
                                                        "implicit_normalization", "jit", "steps_per_execution")
                 if getattr(args, n, None) is not None] + (["--compare-backends"] if args.compare_backends else [])
        if tuned:
            parser.error(f"--devices {args.devices} trains with the variant's settings; drop {', '.join(tuned)}")
    if args.compare_backends is not None:
        chosen = [b.strip() for b in args.compare_backends.split(",") if b.strip()]
        unknown = [b for b in chosen if b not in BACKENDS]
        if unknown or len(chosen) < 2 or len(set(chosen)) != len(chosen):
            parser.error(f"--compare-backends takes two or more different backends out of {', '.join(BACKENDS)}, "
                         f"separated by commas; got {args.compare_backends!r}")  # fmt: skip
        args.compare_backends = chosen


def _forwarded_flags(args: argparse.Namespace) -> list[str]:
    flags = ["--variant", args.variant]
    for name in ("batch_size", "epochs", "learning_rate", "dim", "l2", "history_length", "implicit_l2",
                 "implicit_method", "implicit_normalization", "steps_per_execution"):  # fmt: skip
        value = getattr(args, name)
        if value is not None:
            flags += [f"--{name.replace('_', '-')}", str(value)]
    if args.jit is not None:
        flags.append("--jit" if args.jit else "--no-jit")
    return flags


def compare_backends(args: argparse.Namespace) -> int:
    """Run ``--repeats`` pairs of one-seed benchmarks, one per backend, and print the speed ratios.

    Each run is a fresh ``python -m course_lib.benchmark --backend B --seeds 1 --json`` process
    (a process can use one backend only). The order alternates between pairs, so that neither
    backend always runs first on a machine whose load drifts. The ratio of a pair is
    ``examples/s of the first listed backend / examples/s of the other``.
    """
    first, *others = args.compare_backends
    epochs = args.epochs or 6
    flags = _forwarded_flags(args)
    if args.epochs is None:
        flags += ["--epochs", str(epochs)]
    print(f"Comparing {', '.join(args.compare_backends)} on MovieLens {args.variant}: {args.repeats} pairs of "
          f"one-seed runs of at most {epochs} epochs (examples/s: median over epochs after the first)", flush=True)  # fmt: skip
    ratios: dict[str, list[float]] = {other: [] for other in others}
    for repeat in range(args.repeats):
        order = args.compare_backends if repeat % 2 == 0 else args.compare_backends[::-1]
        speeds = {}
        for backend in order:
            env = {**os.environ, "KERAS_BACKEND": backend}
            command = [sys.executable, "-m", "course_lib.benchmark", "--backend", backend, "--seeds", "1", "--json", *flags]
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            runs = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
            if not runs:
                print(f"the {backend} run failed (exit status {done.returncode}):\n{done.stderr[-2000:]}", file=sys.stderr)
                return 1
            speeds[backend] = runs[0]["examples_per_s"]
            print(f"pair {repeat + 1}: {backend:<10} {speeds[backend]:>11,.0f} examples/s "
                  f"({runs[0]['device']}, test RMSE {runs[0]['test_rmse']:.4f})", flush=True)  # fmt: skip
        for other in others:
            ratios[other].append(speeds[first] / speeds[other])
            print(f"pair {repeat + 1}: {first} / {other} = {ratios[other][-1]:.2f}", flush=True)
    for other, values in ratios.items():
        print(f"{first} / {other} examples/s: median {statistics.median(values):.2f} over {len(values)} pairs "
              f"(each: {', '.join(f'{v:.2f}' for v in values)})")  # fmt: skip
    return 0


def run_on_devices(args: argparse.Namespace) -> int:
    """``--devices N``: the figures of :func:`run_once` for seeds 0 .. ``--seeds - 1``, trained in :func:`training_scope`.

    Prints one line per seed and the mean test RMSE; returns 0 (or 1 when the data is missing).
    On JAX the process first gets :func:`course_lib.distributed.jax_env`'s ``XLA_FLAGS`` and
    ``PJRT_NPROC`` unless they are set already (JAX reads them when it makes its CPU client).
    On TensorFlow the step runs without XLA and one step per call: Keras 3's default
    ``jit_compile="auto"`` means no XLA under ``tf.distribute`` (``_resolve_auto_jit_compile`` in
    ``keras/src/trainers/trainer.py``), an explicit ``jit_compile=True`` on logical CPUs fails ("Trying to access resource
    .../replica_1/... on CPU:1 from CPU:0"), and ``steps_per_execution > 1`` fails under
    ``MirroredStrategy`` in Keras 3.15 (lesson 05, Going deeper, has the minimal reproduction).
    CPU figures show the mechanics; real figures need accelerators.
    """
    from course_lib import distributed

    if args.backend == "jax":
        for name, value in distributed.jax_env(args.devices).items():
            os.environ.setdefault(name, value)
        os.environ["KERAS_BACKEND"] = "jax"
        with quiet_native_stderr():  # Keras's data adapters import TensorFlow: do it before JAX runs anything
            import tensorflow  # noqa: F401
    _select_backend(args.backend)
    scope, what, pad_to = training_scope(args.backend, args.devices)  # before any TensorFlow op
    import keras
    import numpy as np

    from course_lib import recommender as rec
    from course_lib.datasets import DataUnavailableError, load_movielens

    try:
        ratings = load_movielens(args.variant).ratings
    except DataUnavailableError as exc:
        print(exc, file=sys.stderr)
        return 1
    config = rec.CONFIGS[args.variant]
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs)
    if args.backend == "tensorflow":
        config = replace(config, steps_per_execution=1, jit_compile=False)
    with quiet_native_stderr():
        device = describe_device(args.backend)
    print(f"MovieLens {args.variant}, Keras {keras.__version__} on {args.backend}, {device}; {what}; "
          f"settings {asdict(config)}", flush=True)  # fmt: skip
    runs = []
    for seed in range(args.seeds):
        with scope():
            run = run_once(ratings, args.variant, seed, config, device, pad_to=pad_to)
        runs.append(run)
        print(f"seed {seed}: {run['examples_per_s']:,.0f} examples/s, {run['s_per_epoch']:.2f} s/epoch, "
              f"{run['epochs']} epochs, test RMSE {run['test_rmse']:.4f}, MAE {run['test_mae']:.4f}, "
              f"global mean {run['global_mean_rmse']:.4f}, bias only {run['bias_only_rmse']:.4f}", flush=True)  # fmt: skip
        if args.json:
            print(json.dumps(run), flush=True)
    print(f"mean test RMSE {np.mean([r['test_rmse'] for r in runs]):.4f} over {args.seeds} seed(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    if args.compare_backends:
        return compare_backends(args)
    if args.devices > 1:  # lesson 05's engines: before any backend or TensorFlow op is set up
        return run_on_devices(args)

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
                                   "learning_rate": args.learning_rate, "dim": args.dim, "l2": args.l2,
                                   "history_length": args.history_length, "implicit_l2": args.implicit_l2,
                                   "implicit_method": args.implicit_method,
                                   "implicit_normalization": args.implicit_normalization,
                                   "jit_compile": args.jit,
                                   "steps_per_execution": args.steps_per_execution}.items() if v is not None}  # fmt: skip
    try:
        config = replace(rec.CONFIGS[args.variant], **overrides)
    except (TypeError, ValueError) as exc:  # e.g. --implicit-l2 with the matmul method
        parser.error(str(exc))
    with quiet_native_stderr():
        device = describe_device(args.backend)
    print(f"MovieLens {args.variant}, Keras {keras.__version__} on {args.backend}, {device}; settings {asdict(config)}")
    header = (f"{'seed':>4} {'examples/s':>11} {'s/epoch':>8} {'epochs':>6} {'train s':>7} {'val RMSE':>8} "
              f"{'test RMSE':>9} {'test MAE':>8} {'global mean':>11} {'bias only':>9}")  # fmt: skip
    print("examples/s and s/epoch: whole epochs, the validation pass included; train s: the whole fit", flush=True)
    print(header, flush=True)
    keys = ("examples_per_s", "s_per_epoch", "epochs", "train_s", "best_val_rmse", "test_rmse", "test_mae",
            "global_mean_rmse", "bias_only_rmse")  # fmt: skip

    def line(label, r, epochs_format=">6"):
        return (f"{label:>4} {r['examples_per_s']:>11,.0f} {r['s_per_epoch']:>8.2f} {r['epochs']:{epochs_format}} "
                f"{r['train_s']:>7.1f} {r['best_val_rmse']:>8.4f} {r['test_rmse']:>9.4f} {r['test_mae']:>8.4f} "
                f"{r['global_mean_rmse']:>11.4f} {r['bias_only_rmse']:>9.4f}")  # fmt: skip

    runs = []
    for seed in range(args.seeds):
        run = run_once(ratings, args.variant, seed, config, device)
        runs.append(run)
        print(line(str(seed), run), flush=True)
        if args.json:
            print(json.dumps(run), flush=True)
    mean = {key: sum(r[key] for r in runs) / len(runs) for key in keys}
    print(line("mean", mean, ">6.1f"))
    target = TARGETS[args.variant]
    verdict = "met" if mean["test_rmse"] <= target else "NOT met"
    per_seed = ", ".join(f"{r['test_rmse']:.4f}" for r in runs)
    print(f"Target: mean test RMSE <= {target} on {args.variant}: {verdict} (per seed: {per_seed}; "
          f"training time per seed {statistics.mean(r['train_s'] for r in runs):.0f} s on {device}).")  # fmt: skip
    return 0 if mean["test_rmse"] <= target else 2


if __name__ == "__main__":
    sys.exit(main())
