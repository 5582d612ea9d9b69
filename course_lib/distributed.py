"""Training past one device and one machine, on TensorFlow's and Keras's own engines (lesson 05).

Nothing here distributes anything by itself: the engines do that (``tf.distribute`` and
``keras.distribution``). This module holds what lesson 05 would otherwise repeat:

- :func:`virtual_cpus`: split the CPU into N logical devices (must run before any TF op);
- :func:`free_ports`, :func:`tf_config`, :class:`Cluster`, :func:`run_cluster`: start worker
  processes on 127.0.0.1 with free ports, capture their logs, and stop every one of them (the
  whole process group) on success, failure, timeout or interrupt;
- the worker itself, ``python -m course_lib.distributed worker ...``: a
  ``MultiWorkerMirroredStrategy`` custom training loop for the lesson 04 rating model, with
  chief-only saving and checkpoints that survive a killed worker. It reads its place in the
  cluster from ``TF_CONFIG`` only, so the same command runs on a real cluster;
- :func:`train_custom_loop`: that loop, callable in-process (one device) for comparison;
- ``python -m course_lib.distributed sharded ...`` and ``... jax-worker ...``: the lesson 04
  model with its tables sharded row-wise by ``keras.distribution.ModelParallel`` on the JAX
  backend (run in a subprocess, because the backend is fixed when Keras is imported);
- :func:`step_time`, :func:`rows_changed_by_one_step`, :func:`hashing_collisions`: the
  one-device measurements of the lesson;
- ``python -m course_lib.distributed benchmark --devices N``: the benchmark's figures, trained
  data-parallel (TensorFlow, ``MirroredStrategy``) or sharded (JAX, ``ModelParallel``).

Importing this module imports neither TensorFlow nor Keras: worker processes choose their
backend first. Sources: the TensorFlow guides "Distributed training with TensorFlow",
"Multi-worker training with Keras" and "Custom training loop with
MultiWorkerMirroredStrategy" (tensorflow.org/guide/distributed_training,
tensorflow.org/tutorials/distribute); Keras "Distributed training with JAX"
(keras.io/guides/distribution/); keras-team/keras#20585 (Keras 3 ``fit`` and
``MultiWorkerMirroredStrategy``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = [
    "virtual_cpus", "jax_env", "child_processes", "free_ports", "port_is_free", "tf_config", "WorkerError", "Worker", "Cluster",
    "run_cluster", "run_jax_processes", "worker_command", "train_custom_loop", "LoopConfig", "step_time",
    "rows_changed_by_one_step", "hashing_collisions", "expected_collision_share", "run_module", "ps_demo",
    "sharded_run", "jax_worker_run", "benchmark_main", "training_scope", "padded_sizes",
]  # fmt: skip

#: Environment for every child process: quiet TensorFlow, no oneDNN (bit-repeatable CPU sums).
CHILD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "PYTHONUNBUFFERED": "1",
             "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}  # fmt: skip


# --------------------------------------------------------------------------- devices and ports


def jax_env(devices: int) -> dict:
    """Environment for a JAX child process with ``devices`` virtual CPU devices.

    ``KERAS_BACKEND=jax``; ``XLA_FLAGS`` with ``--xla_force_host_platform_device_count``; and
    ``PJRT_NPROC=4 * devices``, the size of the thread pool on which JAX's CPU client runs each
    device's share of a program. By default that pool has ``max(cores, devices)`` threads: on a
    2-core machine exactly one per device. A sharded step's all-reduce needs all ``devices``
    shares running at once, but a pool thread can also sit blocked while it launches the next
    program on a busy device; with no spare thread the last share never starts and the run
    hangs for good (seen in about 1 run in 12 on a loaded 2-core machine: 7 threads waiting in
    ``AllReduce``, the 8th blocked in ``Semaphore::Acquire``; XLA sizes the pool in
    ``GetPjRtCpuClient``, ``xla/pjrt/cpu/cpu_client.cc``). The spare threads remove that
    deadlock; they cost memory for their stacks, not CPU. The flags also turn off XLA's
    multi-threaded Eigen pool and raise its CPU collective time-outs (40 s by default) to
    600 s, so a slow but live step on a loaded machine is not aborted. Raises ValueError for
    ``devices`` outside 1..64.
    """
    if isinstance(devices, bool) or not isinstance(devices, int) or not 1 <= devices <= 64:
        raise ValueError(f"devices={devices!r} must be a whole number from 1 to 64")
    flags = (f"--xla_force_host_platform_device_count={devices} --xla_cpu_multi_thread_eigen=false "
             "--xla_cpu_collective_call_terminate_timeout_seconds=600 --xla_cpu_collective_timeout_seconds=600")  # fmt: skip
    return {"KERAS_BACKEND": "jax", "XLA_FLAGS": flags, "PJRT_NPROC": str(4 * devices)}


def virtual_cpus(n: int) -> list[str]:
    """Split the first physical CPU into ``n`` logical devices; return their names.

    ``tf.distribute`` then treats them like ``n`` GPUs (one replica each). TensorFlow fixes its
    devices when it runs its first op, so call this before any TensorFlow op (``setup_notebook``
    runs none). Calling it again with the same ``n`` is harmless.

    Returns:
        ``["/device:CPU:0", ..., "/device:CPU:{n-1}"]``.

    Raises:
        ValueError: ``n`` is not a whole number from 1 to 64.
        RuntimeError: TensorFlow already ran an op with other devices (restart the kernel and
            call this first).
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 64:
        raise ValueError(f"n={n!r}: the number of logical CPUs must be a whole number from 1 to 64")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError:
        have = tf.config.list_logical_devices("CPU")
        if len(have) != n:
            raise RuntimeError(
                f"TensorFlow already started with {len(have)} logical CPU(s), so it cannot make {n}: "
                "restart the kernel and call virtual_cpus() before anything runs a TensorFlow op"
            ) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if no socket listens on ``host:port``, so a new server can bind it now.

    Binds with ``SO_REUSEADDR`` (as servers such as TensorFlow's gRPC do): connections of a
    finished run that linger in TIME_WAIT do not count as using the port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError:
            return False
    return True


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct TCP ports that are free on ``host`` right now (the OS picks them).

    The sockets are closed before returning, so another program could take a port in the
    meantime; :func:`run_cluster` asks for new ports on each launch to keep that window short.
    Raises ValueError for ``n`` outside 1..64.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 64:
        raise ValueError(f"n={n!r}: ask for 1 to 64 ports")
    sockets, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
            if s.getsockname()[1] not in ports:
                ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


def tf_config(ports, index: int, *, job: str = "worker", host: str = "127.0.0.1") -> dict:
    """The ``TF_CONFIG`` dict of worker ``index`` in a cluster of ``len(ports)`` workers on ``host``.

    On a real cluster only the addresses change, e.g.
    ``{"cluster": {"worker": ["node-a:12345", "node-b:12345"]}, "task": {"type": "worker", "index": 1}}``.
    Worker 0 is the chief (the one that writes the final model). Raises ValueError for an
    index outside the cluster.
    """
    ports = [int(p) for p in ports]
    if not 0 <= index < len(ports):
        raise ValueError(f"index={index} is not a worker of a {len(ports)}-worker cluster (0..{len(ports) - 1})")
    return {"cluster": {job: [f"{host}:{p}" for p in ports]}, "task": {"type": job, "index": int(index)}}


# --------------------------------------------------------------------------- processes


class WorkerError(RuntimeError):
    """A worker failed or timed out; ``str()`` includes the tail of every worker's log.

    ``.workers`` holds the :class:`Worker` objects (their logs stay readable after the stop).
    """

    def __init__(self, message: str, workers=()):
        super().__init__(message)
        self.workers = list(workers)


def child_processes(pid: int | None = None) -> list[int]:
    """Process ids whose parent is ``pid`` (default: this process), read from ``/proc`` (Linux; [] elsewhere)."""
    pid = os.getpid() if pid is None else pid
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat") if Path("/proc/self/stat").exists() else []:
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.parent.name))
    return found


@dataclass
class Worker:
    """One child process: its command, log file and, once finished, return code."""

    name: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen | None = None
    returncode: int | None = None
    output: str | None = None  # the whole log, kept once the cluster has stopped

    def log(self, tail: int | None = None) -> str:
        """The worker's stdout and stderr so far (the last ``tail`` lines if given)."""
        text = self.output
        if text is None:
            try:
                text = self.log_path.read_text(errors="replace")
            except FileNotFoundError:
                return ""
        lines = text.splitlines()
        return "\n".join(lines[-tail:] if tail else lines)

    def losses(self) -> dict[int, float]:
        """``{step: loss}`` from the worker's ``LOSS <step> <loss>`` lines (also those of a killed run)."""
        found = {}
        for line in self.log().splitlines():
            if line.startswith("LOSS "):
                _, step, value = line.split()
                found[int(step)] = float(value)
        return found

    def result(self) -> dict | None:
        """The JSON the worker printed on its last ``RESULT `` line, or None."""
        for line in reversed(self.log().splitlines()):
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
        return None


class Cluster:
    """Start worker processes and make sure every one of them is gone afterwards.

    Use it as a context manager::

        with Cluster() as cluster:
            for i in range(2):
                cluster.start(f"worker{i}", command, env={"TF_CONFIG": json.dumps(tf_config(ports, i))})
            cluster.wait(timeout=120)

    Each worker runs in its own session (process group) with stdout and stderr going to a
    log file in ``log_dir`` (default: a temporary folder, deleted on exit; each worker's log is
    then kept in ``Worker.output``). Leaving the ``with`` block, normally or by an exception (timeout,
    a failed worker, KeyboardInterrupt), sends SIGTERM to each process group, then SIGKILL to
    what is still alive after ``grace`` seconds, and reaps every child.
    """

    def __init__(self, log_dir: str | Path | None = None, *, grace: float = 3.0):
        self._tmp = None if log_dir else tempfile.TemporaryDirectory(prefix="course-cluster-")
        self.log_dir = Path(log_dir or self._tmp.name)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.grace = grace
        self.workers: list[Worker] = []

    def start(self, name: str, command: list[str], env: dict | None = None) -> Worker:
        """Start ``command`` (a list of strings) with ``env`` added to this process's environment."""
        full_env = {**os.environ, **CHILD_ENV, **(env or {})}
        worker = Worker(name, list(command), self.log_dir / f"{name}.log")
        with open(worker.log_path, "wb") as log:
            worker.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=full_env,
                                              stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        self.workers.append(worker)
        return worker

    def wait(self, timeout: float, *, stop_on_failure: bool = True) -> list[Worker]:
        """Wait until every worker has exited; return the workers.

        Raises:
            WorkerError: a worker exited with a non-zero code (at once, when
                ``stop_on_failure``: the others would wait forever for their peer), or
                ``timeout`` seconds passed. The message carries each worker's log tail.
        """
        deadline = time.monotonic() + timeout
        while True:
            running = False
            for w in self.workers:
                if w.returncode is None:
                    w.returncode = w.process.poll()
                if w.returncode is None:
                    running = True
                elif w.returncode != 0 and stop_on_failure:
                    raise WorkerError(f"{w.name} exited with code {w.returncode}.\n" + self.logs(tail=15), self.workers)
            if not running:
                failed = [w for w in self.workers if w.returncode != 0]
                if failed:
                    raise WorkerError(f"{failed[0].name} exited with code {failed[0].returncode}.\n" + self.logs(tail=15), self.workers)
                return self.workers
            if time.monotonic() > deadline:
                raise WorkerError(f"workers still running after {timeout:.0f} s; stopped.\n" + self.logs(tail=15), self.workers)
            time.sleep(0.1)

    def logs(self, tail: int | None = None) -> str:
        """Every worker's log, one after the other, under a ``--- name ---`` line."""
        return "\n".join(f"--- {w.name} (exit code {w.returncode}) ---\n{w.log(tail)}" for w in self.workers)

    def stop(self) -> None:
        """SIGTERM each worker's process group, SIGKILL after ``grace`` s, and reap them."""
        for w in self.workers:
            if w.process and w.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(w.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for w in self.workers:
            if not w.process:
                continue
            try:
                w.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(w.process.pid, signal.SIGKILL)
                w.process.wait()
            # the group may hold grandchildren even after its leader exited
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(w.process.pid, signal.SIGKILL)
            if w.returncode is None:
                w.returncode = w.process.returncode
            w.output = w.log()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        if self._tmp is not None:  # logs are kept in memory (Worker.output)
            self._tmp.cleanup()


def worker_command(*args: str) -> list[str]:
    """``[python, "-m", "course_lib.distributed", *args]`` with this interpreter."""
    return [sys.executable, "-m", "course_lib.distributed", *map(str, args)]


def run_cluster(args, n_workers: int = 2, *, timeout: float = 180, env: dict | None = None,
                log_dir: str | Path | None = None, tf_config_job: str = "worker") -> list[Worker]:  # fmt: skip
    """Run ``python -m course_lib.distributed <args>`` as ``n_workers`` processes on 127.0.0.1.

    Each gets ``TF_CONFIG`` (:func:`tf_config`) with freshly picked free ports. Waits for all;
    every process is stopped when this returns or raises.

    Returns:
        The :class:`Worker` objects (``.result()`` is what each printed on its ``RESULT`` line,
        ``.log()`` its output).

    Raises:
        WorkerError: a worker failed or the timeout passed; the message shows the logs.
    """
    ports = free_ports(n_workers)
    with Cluster(log_dir) as cluster:
        for i in range(n_workers):
            config = json.dumps(tf_config(ports, i, job=tf_config_job))
            cluster.start(f"worker{i}", worker_command(*args), env={**(env or {}), "TF_CONFIG": config})
        return cluster.wait(timeout)


def run_jax_processes(n_processes: int = 2, *, devices_per_process: int = 2, steps: int = 5,
                      timeout: float = 240) -> list[dict]:  # fmt: skip
    """Run ``n_processes`` JAX processes on 127.0.0.1 that share one sharded table; return their RESULT dicts.

    Process 0 hosts the coordinator on a free port; each process gets
    ``devices_per_process`` CPU devices (``XLA_FLAGS``) and ``KERAS_BACKEND=jax``. See
    :func:`jax_worker_run`. Every process is stopped on return or error (WorkerError with logs).
    """
    port = free_ports(1)[0]
    env = jax_env(devices_per_process)
    with Cluster() as cluster:
        for i in range(n_processes):
            cluster.start(f"process{i}", worker_command("jax-worker", "--coordinator", f"127.0.0.1:{port}",
                                                        "--num-processes", n_processes, "--process-id", i,
                                                        "--steps", steps), env=env)  # fmt: skip
        cluster.wait(timeout)
    results = [w.result() for w in cluster.workers]
    if any(r is None for r in results):
        raise WorkerError("a process printed no RESULT line.\n" + cluster.logs(tail=20))
    return results


def run_module(args, *, timeout: float = 180, env: dict | None = None) -> dict:
    """Run ``python -m course_lib.distributed <args>`` once (no ``TF_CONFIG``); return its RESULT dict.

    Used for the JAX parts: ``env`` sets ``KERAS_BACKEND=jax`` and ``XLA_FLAGS`` in the child.
    Raises WorkerError (with the log) on failure or timeout.
    """
    with Cluster() as cluster:
        worker = cluster.start("main", worker_command(*args), env=env)
        cluster.wait(timeout)
    result = worker.result()
    if result is None:
        raise WorkerError("the process printed no RESULT line.\n" + worker.log(tail=20))
    return result


# --------------------------------------------------------------------------- one device, a big table


def _check_count(value, what: str, low: int = 1, high: int = 10**9) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{what}={value!r} must be a whole number from {low:,} to {high:,}")
    return value


def _one_table_model(rows: int, dim: int, optimizer, jit_compile: bool, seed: int = 0):
    import keras

    ids = keras.Input(shape=(), dtype="int32")
    vectors = keras.layers.Embedding(rows, dim, embeddings_initializer=keras.initializers.RandomNormal(seed=seed),
                                     name="table")(ids)  # fmt: skip
    model = keras.Model(ids, keras.ops.sum(vectors, axis=-1))
    model.compile(optimizer=optimizer, loss="mse", jit_compile=jit_compile)
    return model


def step_time(rows: int, *, dim: int = 16, batch: int = 1024, jit_compile: bool = False,
              optimizer: str = "sgd", steps: int = 5, seed: int = 0) -> float:  # fmt: skip
    """Median wall time (seconds) of one ``train_on_batch`` step of a model that is one ``(rows, dim)`` table.

    Each step looks up ``batch`` random ids (drawn with ``seed``), sums each vector and fits
    an MSE target. The first step (tracing, XLA compilation) is not timed. With
    ``jit_compile=True`` TensorFlow's op determinism is switched off during the measurement
    (Keras 3 silently falls back to no XLA while it is on) and switched back on afterwards.

    Args:
        rows: table rows (the vocabulary size), 1 to 10**9.
        jit_compile: compile the step with XLA (``model.compile(jit_compile=True)``).
        optimizer: ``"sgd"``, ``"adagrad"`` or ``"adam"`` (Keras 3 optimizers, default settings).
        steps: timed steps (the median is returned).

    Raises ValueError for a size or optimizer outside these ranges.
    """
    import numpy as np

    rows = _check_count(rows, "rows")
    _check_count(dim, "dim", 1, 4096)
    _check_count(batch, "batch", 1, 10**7)
    _check_count(steps, "steps", 1, 1000)
    rng = np.random.default_rng(seed)
    batches = [rng.integers(0, rows, size=batch, dtype=np.int32) for _ in range(steps + 1)]
    target = np.zeros(batch, np.float32)
    with _xla_allowed(jit_compile):
        model = _one_table_model(rows, dim, _optimizer(optimizer), jit_compile, seed)
        model.train_on_batch(batches[0], target)
        times = []
        for ids in batches[1:]:
            start = time.perf_counter()
            model.train_on_batch(ids, target)
            times.append(time.perf_counter() - start)
    return float(np.median(times))


@contextlib.contextmanager
def _xla_allowed(jit_compile: bool):
    """Turn TensorFlow's op determinism off inside the block when ``jit_compile`` (restored after).

    Keras 3 ignores ``jit_compile=True`` (with only a UserWarning) while op determinism is
    enabled, which ``setup_notebook`` does; timing XLA needs it off.
    """
    from tensorflow.python.framework import config  # the flag Keras itself reads (no public getter)

    was_on = jit_compile and config.is_op_determinism_enabled()
    if was_on:
        config.disable_op_determinism()
    try:
        yield
    finally:
        if was_on:
            config.enable_op_determinism()


def _optimizer(name: str):
    import keras

    choices = {"sgd": lambda: keras.optimizers.SGD(0.1), "adagrad": lambda: keras.optimizers.Adagrad(0.1),
               "adam": lambda: keras.optimizers.Adam(0.01)}  # fmt: skip
    if name not in choices:
        raise ValueError(f"optimizer={name!r}: choose one of {sorted(choices)}")
    return choices[name]()


def rows_changed_by_one_step(optimizer: str, *, rows: int = 10_000, dim: int = 8, batch: int = 64,
                             warmup_steps: int = 5, seed: int = 0) -> dict:  # fmt: skip
    """How many table rows one training step changes, after ``warmup_steps`` steps on other ids.

    Every step looks up ``batch`` random ids. The returned figures compare the table before
    and after the last step.

    Returns:
        ``{"looked_up": distinct ids of the last batch, "changed": rows whose values changed,
        "touched_before": distinct ids of all steps, "rows": rows}`` (ints).

    Raises ValueError for an unknown optimizer or a size out of range.
    """
    import numpy as np

    _check_count(rows, "rows", 2)
    _check_count(warmup_steps, "warmup_steps", 0, 1000)
    model = _one_table_model(rows, dim, _optimizer(optimizer), False, seed)
    rng = np.random.default_rng(seed)
    target = np.ones(batch, np.float32)
    seen = set()
    for _ in range(warmup_steps):
        ids = rng.integers(0, rows, size=batch, dtype=np.int32)
        seen.update(ids.tolist())
        model.train_on_batch(ids, target)
    ids = rng.integers(0, rows, size=batch, dtype=np.int32)
    before = np.array(model.get_layer("table").embeddings.numpy())
    model.train_on_batch(ids, target)
    after = model.get_layer("table").embeddings.numpy()
    seen.update(ids.tolist())
    return {"looked_up": int(len(np.unique(ids))), "changed": int(np.any(before != after, axis=1).sum()),
            "touched_before": int(len(seen)), "rows": int(rows)}  # fmt: skip


def expected_collision_share(n_ids: int, bins: int) -> float:
    """Expected share of ``n_ids`` distinct ids that share their bin with at least one other id.

    With a uniform hash into ``bins`` bins, another given id misses my bin with probability
    ``1 - 1/bins``, so all ``n_ids - 1`` others miss it with ``(1 - 1/bins) ** (n_ids - 1)``:
    the share is ``1 - (1 - 1/bins) ** (n_ids - 1)`` (about ``1 - exp(-n_ids / bins)``).
    Raises ValueError for counts below 1.
    """
    _check_count(n_ids, "n_ids")
    _check_count(bins, "bins")
    return 1.0 - (1.0 - 1.0 / bins) ** (n_ids - 1)


def hashing_collisions(ids, bins: int) -> dict:
    """Hash distinct ``ids`` with ``keras.layers.Hashing(bins)`` and measure the collisions.

    Args:
        ids: strings or integers (duplicates are dropped first).
        bins: number of hash bins (the rows of the ``Embedding`` behind the hashing layer).

    Returns:
        ``{"ids": distinct ids, "bins": bins, "used_bins": bins holding at least one id,
        "colliding_share": share of ids sharing their bin with another id (measured),
        "expected_share": :func:`expected_collision_share`}``.

    Raises ValueError for ``bins`` < 1 or no ids.
    """
    import keras
    import numpy as np

    _check_count(bins, "bins")
    values = np.unique(np.asarray(list(ids)))
    if values.size == 0:
        raise ValueError("ids is empty: nothing to hash")
    if values.dtype.kind in "iu":
        values = values.astype(np.int64)
    else:
        values = values.astype(str).astype(object)
    hashed = np.asarray(keras.layers.Hashing(num_bins=bins)(values)).reshape(-1)
    counts = np.bincount(hashed, minlength=bins)
    return {"ids": int(values.size), "bins": int(bins), "used_bins": int((counts > 0).sum()),
            "colliding_share": float((counts[hashed] > 1).mean()),
            "expected_share": expected_collision_share(int(values.size), bins)}  # fmt: skip


# --------------------------------------------------------------------------- the custom training loop


@dataclass(frozen=True)
class LoopConfig:
    """Settings of :func:`train_custom_loop` (kept small so a 2-core CPU runs it in seconds).

    Attributes:
        steps: optimizer steps to run in total (a resumed run continues up to this number).
        global_batch: ratings per step, over all replicas together.
        dim: embedding dimension of the rating model.
        learning_rate: Adam's step size.
        checkpoint_every: save a checkpoint after every this many steps (0: never).
        seed: seed of the model's initial weights and of the rating order.
        variant: MovieLens variant.
    """

    steps: int = 60
    global_batch: int = 1024
    dim: int = 16
    learning_rate: float = 0.01
    checkpoint_every: int = 10
    seed: int = 42
    variant: str = "100k"


def _training_arrays(config: LoopConfig):
    import numpy as np

    from course_lib.datasets import load_movielens
    from course_lib.recommender import split_ratings

    split = split_ratings(load_movielens(config.variant).ratings, seed=config.seed)
    order = np.random.default_rng(config.seed).permutation(len(split.train))
    train = split.train.iloc[order]
    features = {"user_id": train["user_id"].to_numpy(np.int32), "movie_id": train["movie_id"].to_numpy(np.int32)}
    return split, features, train["rating"].to_numpy(np.float32)


def train_custom_loop(strategy, config: LoopConfig = LoopConfig(), *, checkpoint_dir: str | Path | None = None,
                      crash_after: int | None = None, crash_worker: int = 1, model_path: str | Path | None = None,
                      report: bool = False) -> dict:  # fmt: skip
    """Train the lesson 04 rating model with ``strategy.run`` in a custom loop; return the losses.

    The loop is the one the TensorFlow guide gives for ``MultiWorkerMirroredStrategy``:
    ``distribute_datasets_from_function`` gives each worker its slice of every global batch,
    each replica's loss is ``tf.nn.compute_average_loss(per_example, global_batch_size)``
    (sum over its slice / global batch) and the reported loss is their ``SUM``, so the
    numbers are those of one device that sees the whole batch. Rating order and initial
    weights depend on ``config.seed`` only: every worker, and a one-device run, start equal.

    Args:
        strategy: any ``tf.distribute`` strategy (``tf.distribute.get_strategy()`` for one device).
        checkpoint_dir: where ``tf.train.CheckpointManager`` keeps the newest checkpoint. The
            chief writes there; other workers write to a temporary folder they delete (each
            worker must take part in saving). A run finding a checkpoint resumes from it.
        crash_after: worker ``crash_worker`` exits abruptly (``os._exit(3)``) after this step: a killed worker.
        model_path: the chief saves the trained model there (``.keras``); other workers save nothing.
        report: print ``LOSS <step> <loss>`` after each step (so a killed run's losses are in its log).

    Returns:
        ``{"losses": {step: loss}, "start_step": int, "task": str, "is_chief": bool,
        "replicas": int, "test_rmse": float}`` with float losses (MSE plus penalty, stars²).
    """
    import numpy as np
    import tensorflow as tf
    import keras

    from course_lib.recommender import build_rating_model, global_mean_baseline, predict_ratings, rmse

    split, features, targets = _training_arrays(config)
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None) or "worker"
    task_id = getattr(resolver, "task_id", None) or 0
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0)
    G = config.global_batch

    def dataset_fn(context):
        per_replica = context.get_per_replica_batch_size(G)
        begin = context.input_pipeline_id * per_replica
        data = tf.data.Dataset.from_tensor_slices((features, targets)).repeat().batch(G, drop_remainder=True)
        data = data.skip(start_step.numpy())
        return data.map(lambda x, y: ({k: v[begin:begin + per_replica] for k, v in x.items()}, y[begin:begin + per_replica]))

    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        model = build_rating_model(split.n_users, split.n_movies, global_mean=global_mean_baseline(split.train),
                                   dim=config.dim, seed=config.seed)  # fmt: skip
        optimizer = keras.optimizers.Adam(config.learning_rate)
        optimizer.build(model.trainable_variables)
        start_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=start_step)
    manager = None
    if checkpoint_dir is not None:
        checkpoint_dir = str(checkpoint_dir)
        write_dir = checkpoint_dir if is_chief else os.path.join(checkpoint_dir, f"worker{task_id}-tmp")
        latest = tf.train.latest_checkpoint(checkpoint_dir)
        if latest:
            checkpoint.restore(latest)
        manager = tf.train.CheckpointManager(checkpoint, write_dir, max_to_keep=1)
    first = int(start_step.numpy())
    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))

    @tf.function
    def train_step(iterator):
        def replica_step(inputs):
            x, y = inputs
            with tf.GradientTape() as tape:
                predicted = model(x, training=True)
                loss = tf.nn.compute_average_loss(tf.square(y - predicted), global_batch_size=G)
                if model.losses:
                    loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss

        return strategy.reduce("SUM", strategy.run(replica_step, args=(next(iterator),)), axis=None)

    losses = {}
    for step in range(first + 1, config.steps + 1):
        losses[step] = float(train_step(iterator))
        if report:
            print(f"LOSS {step} {losses[step]!r}", flush=True)
        start_step.assign(step)
        if manager is not None and config.checkpoint_every and step % config.checkpoint_every == 0:
            manager.save(checkpoint_number=step)
            if not is_chief:
                tf.io.gfile.rmtree(write_dir)
        if crash_after is not None and step == crash_after and task_id == crash_worker:
            print(f"worker {task_id}: crashing on purpose after step {step}", flush=True)
            os._exit(3)
    test_rmse = rmse(split.test["rating"], predict_ratings(model, split.test))
    if model_path is not None and is_chief:
        model.save(model_path)
    return {"losses": losses, "start_step": first, "task": f"{task_type}:{task_id}", "is_chief": is_chief,
            "replicas": int(strategy.num_replicas_in_sync), "test_rmse": test_rmse}  # fmt: skip


def _keras_fit_under_multiworker(strategy, config: LoopConfig) -> str:
    """Try Keras 3 ``fit`` under the strategy; return the error it raises (type and first lines)."""
    import keras

    from course_lib.recommender import build_rating_model, global_mean_baseline

    split, features, targets = _training_arrays(config)
    with strategy.scope():
        model = build_rating_model(split.n_users, split.n_movies, global_mean=global_mean_baseline(split.train),
                                   dim=config.dim, seed=config.seed)  # fmt: skip
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    try:
        model.fit(features, targets, batch_size=config.global_batch, epochs=1, steps_per_epoch=2, verbose=0)
    except Exception as exc:  # the point: show what Keras 3 says
        message = re.sub(r"numpy=\s*array\(\[[^\]]*\]?[^)]*\)", "numpy=array([...])", " ".join(str(exc).split()))
        if len(message) > 500:
            message = message[:250] + " ... " + message[-250:]
        return f"{type(exc).__name__}: {message}"
    return "no error: fit ran"


def _worker_main(args) -> dict:
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    config = LoopConfig(steps=args.steps, global_batch=args.global_batch, checkpoint_every=args.checkpoint_every)
    if "TF_CONFIG" in os.environ:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    result = {}
    if args.try_fit:
        result["fit_error"] = _keras_fit_under_multiworker(strategy, config)
        print("FIT " + result["fit_error"], flush=True)
    result.update(train_custom_loop(strategy, config, checkpoint_dir=args.checkpoint_dir,
                                    crash_after=args.crash_after, crash_worker=args.crash_worker,
                                    model_path=args.model_path, report=True))  # fmt: skip
    return result


# --------------------------------------------------------------------------- a sharded table (JAX backend)


def _sharded_setup(devices_per_table: int, epochs: int, pad_to: int):
    """Import Keras (JAX backend), load the split; return (keras, rec, split, n_movies padded)."""
    import keras

    from course_lib import recommender as rec
    from course_lib.datasets import load_movielens

    if keras.backend.backend() != "jax":
        raise RuntimeError("run this with KERAS_BACKEND=jax (keras.distribution shards only on JAX)")
    split = rec.split_ratings(load_movielens("100k").ratings, seed=42)
    rows = -(-(split.n_movies + 1) // pad_to) * pad_to  # round the movie table up to a multiple of pad_to
    return keras, rec, split, rows - 1


def _table_layout(variable) -> list[dict]:
    """Where the rows of a (JAX-backed) Keras variable live: one dict per shard this process holds."""
    shards = sorted(variable.value.addressable_shards, key=lambda s: s.device.id)
    return [{"device": int(s.device.id), "process": int(s.device.process_index),
             "rows": [int(s.index[0].start or 0), int(s.index[0].stop or variable.shape[0])]} for s in shards]  # fmt: skip


def _train_rating(keras, rec, split, n_movies: int, epochs: int, distribution=None):
    keras.utils.set_random_seed(42)
    scope = distribution.scope() if distribution is not None else contextlib.nullcontext()
    with scope:
        model = rec.build_rating_model(split.n_users, n_movies, global_mean=rec.global_mean_baseline(split.train),
                                       dim=16, seed=42)  # fmt: skip
        config = rec.TrainConfig(dim=16, epochs=epochs, patience=epochs)
        history, _ = rec.train_rating_model(model, split, config)
        rmse = rec.rmse(split.test["rating"], rec.predict_ratings(model, split.test))
    return model, history, rmse


def sharded_run(devices: int = 8, epochs: int = 2) -> dict:
    """Train the rating model twice on JAX: unsharded, then with both tables split row-wise over ``devices``.

    Uses ``keras.distribution.ModelParallel`` with a ``DeviceMesh`` of shape (1, devices) and a
    ``LayoutMap`` mapping ``user_embedding/embeddings`` and ``movie_embedding/embeddings`` to
    ``("model", None)``: rows split over the ``model`` axis, columns whole. Must run in a
    process started with ``KERAS_BACKEND=jax`` and, on CPU,
    ``XLA_FLAGS=--xla_force_host_platform_device_count=<devices>``.

    Returns:
        dict with ``devices`` (names), ``table_layout`` and ``adam_layout`` (rows per device
        of the movie table and of its Adam moments), ``losses`` and ``test_rmse`` of both runs,
        ``max_weight_difference`` (largest absolute difference of the trained movie tables)
        and ``uneven_error`` (what JAX says when the rows do not divide evenly, or None).
    """
    keras, rec, split, n_movies = _sharded_setup(devices, epochs, pad_to=devices)
    import numpy as np

    found = keras.distribution.list_devices()
    if len(found) < devices:
        raise RuntimeError(f"{len(found)} JAX devices, {devices} asked: set XLA_FLAGS=--xla_force_host_platform_device_count={devices}")
    mesh = keras.distribution.DeviceMesh((1, devices), ("batch", "model"), found[:devices])
    layout = keras.distribution.LayoutMap(mesh)
    layout["user_embedding/embeddings"] = ("model", None)
    layout["movie_embedding/embeddings"] = ("model", None)
    distribution = keras.distribution.ModelParallel(layout_map=layout, batch_dim_name="batch")
    plain, plain_history, plain_rmse = _train_rating(keras, rec, split, n_movies, epochs)
    sharded, sharded_history, sharded_rmse = _train_rating(keras, rec, split, n_movies, epochs, distribution)
    table = sharded.get_layer("movie_embedding").embeddings
    moments = [v for v in sharded.optimizer.variables if "movie_embedding" in v.path]
    user_table = sharded.get_layer("user_embedding").embeddings
    uneven_error = None
    try:  # the ratings' own size: 1683 rows do not split into equal parts
        with distribution.scope():
            rec.build_rating_model(split.n_users, split.n_movies, global_mean=3.5, dim=16)
    except Exception as exc:
        uneven_error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return {
        "backend": keras.backend.backend(),
        "devices": [str(d) for d in found[:devices]],
        "table_shape": list(table.shape),
        "user_table_shape": list(user_table.shape),
        "table_layout": _table_layout(table),
        "user_table_layout": _table_layout(user_table),
        "adam_layout": {v.path: _table_layout(v) for v in moments},
        "losses": {"one_device": plain_history["loss"], "sharded": sharded_history["loss"]},
        "test_rmse": {"one_device": plain_rmse, "sharded": sharded_rmse},
        "max_weight_difference": float(np.max(np.abs(
            keras.ops.convert_to_numpy(plain.get_layer("movie_embedding").embeddings)
            - keras.ops.convert_to_numpy(table)))),
        "uneven_error": uneven_error,
    }


def jax_worker_run(coordinator: str, num_processes: int, process_id: int, steps: int = 5) -> dict:
    """One of ``num_processes`` JAX processes that together hold one movie table, split row-wise.

    ``keras.distribution.initialize`` connects the processes through the coordinator
    (``host:port`` of process 0); afterwards ``keras.distribution.list_devices()`` lists every
    process's devices, and a ``LayoutMap`` entry ``("model", None)`` spreads the rows over all
    of them. Each process trains ``steps`` Adam steps on the same batches and reports the rows it
    holds and the losses (equal in every process, and to one process alone).
    """
    import keras
    import numpy as np

    keras.distribution.initialize(job_addresses=coordinator, num_processes=num_processes, process_id=process_id)
    keras_, rec, split, n_movies = _sharded_setup(0, 0, pad_to=8)
    found = keras.distribution.list_devices()
    mesh = keras.distribution.DeviceMesh((1, len(found)), ("batch", "model"), found)
    layout = keras.distribution.LayoutMap(mesh)
    layout["movie_embedding/embeddings"] = ("model", None)
    layout["user_embedding/embeddings"] = ("model", None)
    distribution = keras.distribution.ModelParallel(layout_map=layout, batch_dim_name="batch")
    distribution.auto_shard_dataset = False  # every process feeds the same whole batches (batch axis of size 1)
    inputs = rec.model_inputs(split.train.iloc[: 1024 * steps])
    targets = split.train["rating"].to_numpy(np.float32)[: 1024 * steps]

    def train(scope):
        keras.utils.set_random_seed(42)
        with scope:
            model = rec.build_rating_model(split.n_users, n_movies, global_mean=rec.global_mean_baseline(split.train),
                                           dim=16, seed=42)  # fmt: skip
            model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
            history = model.fit(inputs, targets, batch_size=1024, epochs=2, shuffle=False, verbose=0)
        return model, [float(v) for v in history.history["loss"]]

    model, losses = train(distribution.scope())
    _, local_losses = train(contextlib.nullcontext())  # this process alone, one device, nothing sharded
    table = model.get_layer("movie_embedding").embeddings
    return {"process_id": process_id, "global_devices": len(found), "local_devices": len(table.value.addressable_shards),
            "table_shape": list(table.shape), "table_layout": _table_layout(table),
            "losses": losses, "one_device_losses": local_losses}  # fmt: skip


# --------------------------------------------------------------------------- ParameterServerStrategy (tf_keras)


def ps_demo(rows: int = 1000, dim: int = 8, shards: int = 2) -> dict:
    """Build an ``Embedding`` under ``ParameterServerStrategy`` with ``FixedShardsPartitioner(shards)``.

    Starts an in-process cluster (one worker and ``shards`` parameter servers on free ports of
    127.0.0.1, as in the TensorFlow guide "Parameter server training"), so run it in a child
    process (``python -m course_lib.distributed ps-demo``): the servers end with that process.

    Returns:
        ``{"tf_keras_shards": [[rows, dim], ...], "tf_keras_variable": type name,
        "keras3_variable": type name of a Keras 3 Embedding's table under the same strategy
        (or the error it raised)}``.
    """
    import tensorflow as tf
    import tf_keras

    ports = free_ports(1 + shards)
    spec = tf.train.ClusterSpec({"worker": [f"127.0.0.1:{ports[0]}"], "ps": [f"127.0.0.1:{p}" for p in ports[1:]]})
    servers = [tf.distribute.Server(spec, job_name="worker", task_index=0, protocol="grpc", start=True)]
    servers += [tf.distribute.Server(spec, job_name="ps", task_index=i, protocol="grpc", start=True)
                for i in range(shards)]  # fmt: skip
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(spec, rpc_layer="grpc")
    partitioner = tf.distribute.experimental.partitioners.FixedShardsPartitioner(shards)
    strategy = tf.distribute.experimental.ParameterServerStrategy(resolver, variable_partitioner=partitioner)
    with strategy.scope():
        old = tf_keras.layers.Embedding(rows, dim)
        old.build((None,))
    result = {"tf_keras_variable": type(old.embeddings).__name__,
              "tf_keras_shards": [list(v.shape) for v in getattr(old.embeddings, "variables", [old.embeddings])]}  # fmt: skip
    try:
        import keras

        with strategy.scope():
            new = keras.layers.Embedding(rows, dim)
            new.build((None,))
        value = getattr(new.embeddings, "value", new.embeddings)
        result["keras3_variable"] = type(value).__name__
        result["keras3_shape"] = list(new.embeddings.shape)
    except Exception as exc:
        result["keras3_variable"] = f"error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    try:  # Keras 3's fit under the same strategy
        import numpy as np

        with strategy.scope():
            ids = keras.Input(shape=(), dtype="int32")
            model = keras.Model(ids, keras.ops.sum(keras.layers.Embedding(rows, dim)(ids), axis=-1))
            model.compile(optimizer="sgd", loss="mse")
        model.fit(np.arange(64, dtype=np.int32), np.zeros(64, np.float32), batch_size=32, epochs=1, verbose=0)
        result["keras3_fit"] = "ran"
    except Exception as exc:
        result["keras3_fit"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return result


# --------------------------------------------------------------------------- benchmark over N devices


def training_scope(backend: str, devices: int):
    """How to train the rating model over ``devices`` devices on ``backend``.

    - ``"tensorflow"``: data parallel, ``tf.distribute.MirroredStrategy`` over the first
      ``devices`` GPUs, or over ``devices`` logical CPUs when there is no GPU (so call this
      before TensorFlow runs any op).
    - ``"jax"``: model parallel, ``keras.distribution.ModelParallel`` with the user and movie
      tables split row-wise over ``devices`` devices (on CPU start the process with
      ``XLA_FLAGS=--xla_force_host_platform_device_count=<devices>``).

    Returns:
        ``(scope, description, pad_to, penalty_factor)``: ``scope()`` is a context manager to
        build and train the model in; ``description`` says what it does; ``pad_to`` is the
        multiple that table rows must be padded to (1 for TensorFlow, ``devices`` for JAX; see
        :func:`padded_sizes`); ``penalty_factor`` multiplies the model's ``l2``: Keras 3's
        ``fit`` under a TensorFlow strategy divides extra losses (activity penalties) by the
        replica count but not the data loss, so the same ``l2`` would regularise less
        (``devices`` for TensorFlow, 1 for JAX).

    Raises:
        ValueError: unknown backend or ``devices`` outside 1..64.
        RuntimeError: fewer devices than asked (with the setting that makes more).
    """
    _check_count(devices, "devices", 1, 64)
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus and len(gpus) < devices:
            raise RuntimeError(f"{len(gpus)} GPU(s) found, {devices} asked")
        names = [f"/gpu:{i}" for i in range(devices)] if gpus else virtual_cpus(devices)
        kind = "GPU" if gpus else "logical CPU"
        return tf.distribute.MirroredStrategy(names).scope, f"MirroredStrategy over {devices} {kind}(s)", 1, devices
    if backend == "jax":
        import keras

        found = keras.distribution.list_devices()
        if len(found) < devices:
            raise RuntimeError(f"{len(found)} JAX device(s), {devices} asked: on CPU start the process with "
                               f"XLA_FLAGS=--xla_force_host_platform_device_count={devices}")  # fmt: skip
        mesh = keras.distribution.DeviceMesh((1, devices), ("batch", "model"), found[:devices])
        layout = keras.distribution.LayoutMap(mesh)
        layout["user_embedding/embeddings"] = ("model", None)
        layout["movie_embedding/embeddings"] = ("model", None)
        distribution = keras.distribution.ModelParallel(layout_map=layout, batch_dim_name="batch")
        return distribution.scope, f"ModelParallel, both tables row-sharded over {devices} devices", devices, 1
    raise ValueError(f"backend={backend!r}: choose 'tensorflow' or 'jax'")


def padded_sizes(ratings, pad_to: int) -> dict:
    """``{"n_users": ..., "n_movies": ...}`` for ``split_ratings``: tables of ``n + 1`` rows, a multiple of ``pad_to``.

    The extra rows are never looked up; they only let the rows split evenly over the shards.
    """
    _check_count(pad_to, "pad_to", 1, 4096)
    sizes = {}
    for column, key in (("user_id", "n_users"), ("movie_id", "n_movies")):
        rows = int(ratings[column].max()) + 1
        sizes[key] = -(-rows // pad_to) * pad_to - 1
    return sizes


@contextlib.contextmanager
def _split_with_sizes(rec, sizes: dict):
    """Make ``rec.split_ratings`` use ``sizes`` inside the block (restored after)."""
    original = rec.split_ratings
    rec.split_ratings = lambda ratings, **kw: original(ratings, **{**sizes, **kw})
    try:
        yield
    finally:
        rec.split_ratings = original


def benchmark_main(devices: int, backend: str, variant: str, seeds: int) -> int:
    """The figures of ``python -m course_lib.benchmark``, trained over ``devices`` devices (:func:`training_scope`).

    Runs :func:`course_lib.benchmark.run_once` for seeds 0 .. ``seeds - 1`` inside the scope and
    prints one line per seed and the mean test RMSE.

    On JAX the process gets :func:`jax_env`'s ``XLA_FLAGS`` and ``PJRT_NPROC`` unless they are
    set already (they must be, before JAX makes its CPU client). Before ``PJRT_NPROC`` was set,
    8 virtual devices on a loaded 2-core machine hung in XLA's all-reduce in 3 of 4 runs (see
    :func:`jax_env` for why). CPU figures show the mechanics; real figures need accelerators.
    """
    from course_lib import benchmark

    if backend == "jax":
        for name, value in jax_env(devices).items():  # read when JAX makes its CPU client
            os.environ.setdefault(name, value)
    benchmark._select_backend(backend)
    scope, what, pad_to, penalty_factor = training_scope(backend, devices)  # before any TensorFlow op
    import keras
    import numpy as np

    from course_lib import recommender as rec
    from course_lib.datasets import load_movielens

    ratings = load_movielens(variant).ratings
    config = rec.CONFIGS[variant]
    config = replace(config, l2=config.l2 * penalty_factor, bias_l2=config.bias_l2 * penalty_factor)
    if backend == "tensorflow":  # Keras 3.15 / TF 2.21 under MirroredStrategy: more steps per call fail, and
        # XLA fails on logical CPUs ("Trying to access resource .../replica_1/... on CPU:1 from CPU:0")
        config = replace(config, steps_per_execution=1, jit_compile=False)
    device = benchmark.describe_device(backend)
    print(f"MovieLens {variant}, Keras {keras.__version__} on {backend}, {device}; {what}")
    runs = []
    for seed in range(seeds):
        with scope(), _split_with_sizes(rec, padded_sizes(ratings, pad_to)):
            run = benchmark.run_once(ratings, variant, seed, config, device)
        runs.append(run)
        print(f"seed {seed}: {run['examples_per_s']:,.0f} examples/s, {run['s_per_epoch']:.2f} s/epoch, "
              f"{run['epochs']} epochs, test RMSE {run['test_rmse']:.4f}, MAE {run['test_mae']:.4f}, "
              f"global mean {run['global_mean_rmse']:.4f}, bias only {run['bias_only_rmse']:.4f}", flush=True)  # fmt: skip
    print(f"mean test RMSE {np.mean([r['test_rmse'] for r in runs]):.4f} over {seeds} seed(s)")
    return 0


# --------------------------------------------------------------------------- command line


def _print_result(result: dict) -> None:
    print("RESULT " + json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.distributed", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="one tf.distribute worker; its place in the cluster comes from TF_CONFIG")
    worker.add_argument("--try-fit", action="store_true", help="first try Keras 3 fit and report its error")
    worker.add_argument("--steps", type=int, default=LoopConfig.steps)
    worker.add_argument("--global-batch", type=int, default=LoopConfig.global_batch)
    worker.add_argument("--checkpoint-every", type=int, default=LoopConfig.checkpoint_every)
    worker.add_argument("--checkpoint-dir", help="shared folder for checkpoints (resume from the newest)")
    worker.add_argument("--crash-after", type=int, help="exit abruptly after this step (a killed worker)")
    worker.add_argument("--crash-worker", type=int, default=1, help="which worker --crash-after kills (default 1)")
    worker.add_argument("--model-path", help="the chief saves the trained model here (.keras)")
    sharded = commands.add_parser("sharded", help="the rating model with row-sharded tables on JAX (needs KERAS_BACKEND=jax)")
    sharded.add_argument("--devices", type=int, default=8)
    sharded.add_argument("--epochs", type=int, default=2)
    jax_worker = commands.add_parser("jax-worker", help="one process of a multi-process JAX run")
    jax_worker.add_argument("--coordinator", required=True, help="host:port of process 0")
    jax_worker.add_argument("--num-processes", type=int, default=2)
    jax_worker.add_argument("--process-id", type=int, required=True)
    jax_worker.add_argument("--steps", type=int, default=5)
    commands.add_parser("ps-demo", help="an Embedding under ParameterServerStrategy with a partitioner (tf_keras)")
    bench = commands.add_parser("benchmark", help="the benchmark's figures, data-parallel (TF) or sharded (JAX)")
    bench.add_argument("--devices", type=int, default=2)
    bench.add_argument("--backend", default="tensorflow", choices=["tensorflow", "jax"])
    bench.add_argument("--variant", default="100k", choices=["100k", "1m"])
    bench.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.update({k: v for k, v in CHILD_ENV.items() if k not in os.environ})
    from course_lib.env import quiet_native_stderr

    if args.command == "worker":
        os.environ["KERAS_BACKEND"] = "tensorflow"
        with quiet_native_stderr():
            import tensorflow  # noqa: F401
        _print_result(_worker_main(args))
    elif args.command == "ps-demo":
        os.environ["KERAS_BACKEND"] = "tensorflow"
        with quiet_native_stderr():
            import tensorflow as tf
        tf.get_logger().setLevel("ERROR")
        _print_result(ps_demo())
    elif args.command == "benchmark":
        if args.backend == "jax":
            for name, value in jax_env(args.devices).items():  # before JAX makes its CPU client
                os.environ.setdefault(name, value)
            os.environ["KERAS_BACKEND"] = "jax"
            with quiet_native_stderr():  # Keras's data adapters import TensorFlow: do it before JAX runs anything
                import keras  # noqa: F401
                import tensorflow  # noqa: F401
        return benchmark_main(args.devices, args.backend, args.variant, args.seeds)
    elif args.command in ("sharded", "jax-worker"):
        os.environ["KERAS_BACKEND"] = "jax"
        with quiet_native_stderr():
            import keras  # noqa: F401  (Keras imports TensorFlow for its data utilities: keep it quiet)
            import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        if args.command == "sharded":
            _print_result(sharded_run(args.devices, args.epochs))
        else:
            _print_result(jax_worker_run(args.coordinator, args.num_processes, args.process_id, args.steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
