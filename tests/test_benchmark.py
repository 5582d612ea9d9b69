"""Unit tests of course_lib.benchmark: flags, one short seed in this process, and the real ``--devices``
path end to end at a small size (one epoch, one seed) on TensorFlow and on JAX, each in a fresh process."""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys

import keras
import pytest

from course_lib import benchmark, distributed

# --------------------------------------------------------------------------- benchmark


def test_benchmark_device_and_argument_errors():
    assert benchmark.describe_device("tensorflow").startswith(("CPU", "GPU"))
    with pytest.raises(SystemExit):
        benchmark.main(["--seeds", "0"])
    with pytest.raises(SystemExit):
        benchmark.main(["--variant", "10m"])


def test_benchmark_refuses_a_second_backend_in_one_process():
    other = "jax" if keras.backend.backend() != "jax" else "torch"
    with pytest.raises(SystemExit, match="fresh process"):
        benchmark._select_backend(other)


def test_benchmark_runs_one_short_seed(capsys):
    status = benchmark.main(["--variant", "100k", "--seeds", "1", "--epochs", "1", "--batch-size", "8192"])
    out = capsys.readouterr().out
    assert status in (0, 2)  # one epoch need not reach the target
    assert "examples/s" in out and "global mean" in out and "Target: mean test RMSE <= 0.89" in out
    assert "validation pass included" in out  # the speed is labelled as including validation




@pytest.mark.parametrize(
    "flags, message",
    [(["--batch-size", "0"], "--batch-size"), (["--epochs", "-1"], "--epochs"), (["--seeds", "0"], "--seeds"),
     (["--learning-rate", "0"], "--learning-rate"), (["--learning-rate", "nan"], "--learning-rate"),
     (["--dim", "0"], "--dim"), (["--l2", "-1"], "--l2"), (["--history-length", "-2"], "--history-length"),
     (["--implicit-method", "sparse"], "--implicit-method"),
     (["--implicit-method", "matmul", "--implicit-l2", "0.1"], "--implicit-method gather"),
     (["--steps-per-execution", "0"], "--steps-per-execution"), (["--compare-backends", "tensorflow"], "two or more"),
     (["--compare-backends", "tensorflow,cuda"], "two or more"), (["--repeats", "0"], "--repeats"),
     (["--devices", "0"], "--devices"), (["--devices", "2", "--backend", "torch"], "tensorflow or jax"),
     (["--devices", "2", "--dim", "3"], "drop --dim"), (["--devices", "2", "--l2", "0.1"], "drop --l2")],
)  # fmt: skip
def test_benchmark_refuses_nonsense_before_loading_anything(flags, message, monkeypatch, capsys):
    import course_lib.datasets

    def must_not_load(*args, **kwargs):
        raise AssertionError("data loaded before the flags were checked")

    monkeypatch.setattr(course_lib.datasets, "load_movielens", must_not_load)
    with pytest.raises(SystemExit) as exit_info:
        benchmark.main(flags)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def _run_devices(*flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **distributed.CHILD_ENV}
    env.pop("KERAS_BACKEND", None)  # the benchmark chooses it from --backend
    command = [sys.executable, "-m", "course_lib.benchmark", "--variant", "100k", "--seeds", "1", "--epochs", "1", *flags]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def test_devices_trains_data_parallel_on_tensorflow_end_to_end():
    """The real path: MirroredStrategy over 2 logical CPUs, one epoch of CONFIGS['100k'] on ml-100k."""
    done = _run_devices("--devices", "2", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MirroredStrategy over 2 logical CPU(s)" in done.stdout and "seed 0:" in done.stdout
    run = next(json.loads(line) for line in done.stdout.splitlines() if line.startswith("{"))
    assert run["epochs"] == 1 and 0.8 < run["test_rmse"] < run["global_mean_rmse"]


def test_devices_shards_the_tables_on_jax_end_to_end():
    """ModelParallel with both tables split over 2 JAX devices; the tables padded to a multiple of 2 rows."""
    done = _run_devices("--devices", "2", "--backend", "jax", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "both tables row-sharded over 2 devices" in done.stdout
    run = next(json.loads(line) for line in done.stdout.splitlines() if line.startswith("{"))
    assert 0.8 < run["test_rmse"] < run["global_mean_rmse"]


def test_training_scope_rejects_unknown_backend_and_bad_counts():
    with pytest.raises(ValueError, match="backend='torch'"):
        benchmark.training_scope("torch", 2)
    with pytest.raises(ValueError, match="devices"):
        benchmark.training_scope("jax", 0)
    with pytest.raises(TypeError, match="devices"):
        benchmark.training_scope("jax", 2.0)


def test_benchmark_imports_the_engines_one_way():
    """benchmark -> distributed, never back; no monkeypatching of split_ratings (pad_to is an argument)."""
    source = inspect.getsource(distributed)
    assert "benchmark" not in {n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)}
    assert "rec.split_ratings =" not in source and "split_ratings = " not in inspect.getsource(benchmark)
    assert "pad_to=pad_to" in inspect.getsource(benchmark.run_once)
