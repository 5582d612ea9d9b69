"""Training past one device and one machine, on TensorFlow's and Keras's own engines (lesson 05).

Nothing here distributes anything by itself: the engines do that (``tf.distribute`` and
``keras.distribution``). This module holds what lesson 05 (and, for the first two items and
:func:`rating_layout_map`, the benchmark's ``--devices``) would otherwise repeat:

- :func:`virtual_cpus`: split the CPU into N logical devices (must run before any TF op);
  :func:`jax_env`: the environment of a JAX child process with N CPU devices;
- :func:`free_ports`, :func:`tf_config`, :class:`Cluster`, :func:`run_cluster`: start worker
  processes on 127.0.0.1 with free ports, capture their logs, and stop every one of them (the
  whole process group) on success, failure, timeout or interrupt;
- the worker itself, ``python -m course_lib.distributed worker ...``: a
  ``MultiWorkerMirroredStrategy`` custom training loop for the lesson 04 rating model, with
  chief-only saving and ``tf.train.CheckpointManager`` checkpoints that survive a killed
  worker. It reads its place in the cluster from ``TF_CONFIG`` only, so the same command runs
  on a real cluster, with one or several replicas (devices) per worker;
- :func:`train_custom_loop`: that loop, callable in-process (one device) for comparison;
- :func:`rating_layout_map`, :func:`run_jax_processes` (``python -m course_lib.distributed
  jax-worker ...``) and ``... layout-check ...``: the lesson 04 model with its tables sharded
  row-wise by ``keras.distribution.ModelParallel`` on the JAX backend, in child processes,
  because the backend is fixed when Keras is imported;
- :data:`HandleEmbedding`, :func:`step_time`, :func:`rows_changed_by_one_step`,
  :func:`hashing_collisions`: the one-device measurements of the lesson.

The benchmark over N devices (``python -m course_lib.benchmark --devices N``) lives in
:mod:`course_lib.benchmark` and imports from here; this module never imports the benchmark.

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
import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from course_lib import validation as v  # imports neither TensorFlow nor Keras

__all__ = [
    "virtual_cpus", "jax_env", "child_processes", "free_ports", "port_is_free", "tf_config", "WorkerError", "Worker", "Cluster",
    "run_cluster", "run_jax_processes", "worker_command", "train_custom_loop", "LoopConfig", "step_time", "HandleEmbedding",
    "OPTIMIZERS", "LOOKUPS", "rows_changed_by_one_step", "hashing_collisions", "expected_collision_share", "run_module",
    "ps_demo", "rating_layout_map", "jax_worker_run", "layout_check", "layout_checks",
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
    devices = v.check_size(devices, "devices", maximum=64, hint="JAX CPU devices of the child process")
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
        TypeError: ``n`` is not a whole number. ValueError: ``n`` is outside 1..64.
        RuntimeError: TensorFlow already ran an op with other devices (restart the kernel and
            call this first).
    """
    n = v.check_size(n, "n", maximum=64, hint="the number of logical CPUs")
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
    Raises TypeError for a non-integer ``n``, ValueError for ``n`` outside 1..64.
    """
    n = v.check_size(n, "n", maximum=64, hint="the number of ports")
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
    ended_at: float | None = None  # time.monotonic() when the cluster saw the process end (0.1 s resolution)

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

    def failure(self) -> tuple[float, str] | None:
        """``(time.time() when it failed, "Type: cause")`` from the worker's ``FAILED`` line, or None."""
        for line in reversed(self.log().splitlines()):
            if line.startswith("FAILED "):
                _, when, text = line.split(" ", 2)
                return float(when), text
        return None

    def crashed_at(self) -> float | None:
        """``time.time()`` at which the worker exited on purpose (its ``CRASHED`` line, ``--crash-after``), or None."""
        found = [float(line.split()[1]) for line in self.log().splitlines() if line.startswith("CRASHED ")]
        return found[-1] if found else None

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
        """Wait until every worker has exited; return the workers (``Worker.ended_at`` says when each ended).

        With ``stop_on_failure`` (the default) the first worker that fails ends the wait at once,
        and leaving the ``with`` block stops the others: a cluster manager restarts every worker
        anyway. ``stop_on_failure=False`` lets the others finish or fail by themselves: under
        ``MultiWorkerMirroredStrategy`` a killed worker's closed connections abort its peers'
        collectives, which then fail with ``UnavailableError`` within a moment (lesson 05, section
        4). A peer whose process or machine vanishes without closing its connections is found by
        the coordination service's missed heartbeats; a live peer that hangs (it still sends its
        heartbeats) only by a collective timeout, or by ``timeout`` here.

        Raises:
            WorkerError: a worker exited with a non-zero code (at once, when ``stop_on_failure``;
                otherwise once every worker has ended), or ``timeout`` seconds passed. The message
                carries each worker's log tail; ``.workers`` the workers.
        """
        deadline = time.monotonic() + timeout
        while True:
            running = False
            for w in self.workers:
                if w.returncode is None:
                    w.returncode = w.process.poll()
                    if w.returncode is not None:
                        w.ended_at = time.monotonic()
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
                w.ended_at = time.monotonic()
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
                log_dir: str | Path | None = None, tf_config_job: str = "worker",
                stop_on_failure: bool = True) -> list[Worker]:  # fmt: skip
    """Run ``python -m course_lib.distributed <args>`` as ``n_workers`` processes on 127.0.0.1.

    Each gets ``TF_CONFIG`` (:func:`tf_config`) with freshly picked free ports. Waits for all
    (:meth:`Cluster.wait`: with ``stop_on_failure=False`` the others go on, or fail, by themselves
    after one has failed); every process is stopped when this returns or raises.

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
        return cluster.wait(timeout, stop_on_failure=stop_on_failure)


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

#: Optimizers of :func:`step_time` and :func:`rows_changed_by_one_step` (Keras 3, these settings).
OPTIMIZERS = ("sgd", "sgd_momentum", "adagrad", "adam")
#: How the table's rows are read in :func:`step_time`: Keras's ``Embedding`` (``ops.take`` on the
#: whole variable) or :data:`HandleEmbedding` (``tf.gather`` on the variable's handle).
LOOKUPS = ("take", "handle")

_HANDLE_EMBEDDING = None


def _handle_embedding_class():
    """Build :data:`HandleEmbedding` on first use (this module imports no Keras at import time)."""
    global _HANDLE_EMBEDDING
    if _HANDLE_EMBEDDING is None:
        import keras
        import tensorflow as tf

        if keras.backend.backend() != "tensorflow":
            raise RuntimeError("HandleEmbedding reads a TensorFlow variable's handle: it needs KERAS_BACKEND=tensorflow")

        class HandleEmbedding(keras.layers.Embedding):
            """A Keras ``Embedding`` that reads its rows through the TensorFlow variable's handle (lesson 05, q1).

            ``tf.gather(self.embeddings.value, ids)``: ``self.embeddings`` is the Keras
            variable, ``.value`` the ``tf.Variable`` behind it, and ``tf.gather`` on a resource
            variable calls its ``sparse_read``, one ``ResourceGather`` op that copies only the
            ``ids`` rows. Keras's own ``Embedding.call`` runs ``ops.take(self.embeddings, ...)``,
            which converts the variable to a tensor first (a ``ReadVariableOp``); a sparse op on
            the variable (a scatter update, a ``ResourceGather``) first calls
            ``EnsureSparseVariableAccess`` (``tensorflow/core/kernels/training_op_helpers.h``),
            which puts it in copy-on-read mode, and from then on ``ReadVariableOp`` copies the
            whole table on every read, until a read through ``read_value_no_copy`` (as a
            ``tf.train.Checkpoint`` save makes) turns the mode off again. Same numbers, same
            sparse ``IndexedSlices`` gradient; TensorFlow backend only.
            """

            def call(self, inputs):
                if inputs.dtype not in (tf.int32, tf.int64):
                    inputs = tf.cast(inputs, "int32")
                return tf.cast(tf.gather(self.embeddings.value, inputs), self.compute_dtype)

        _HANDLE_EMBEDDING = HandleEmbedding
    return _HANDLE_EMBEDDING


def __getattr__(name: str):
    if name == "HandleEmbedding":  # built lazily: it subclasses keras.layers.Embedding
        return _handle_embedding_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _one_table_model(rows: int, dim: int, optimizer, jit_compile: bool, seed: int = 0, lookup: str = "take"):
    import keras

    layer = keras.layers.Embedding if lookup == "take" else _handle_embedding_class()
    ids = keras.Input(shape=(), dtype="int32")
    vectors = layer(rows, dim, embeddings_initializer=keras.initializers.RandomNormal(seed=seed), name="table")(ids)
    model = keras.Model(ids, keras.ops.sum(vectors, axis=-1))
    model.compile(optimizer=optimizer, loss="mse", jit_compile=jit_compile)
    return model


def step_time(rows: int, *, dim: int = 16, batch: int = 1024, jit_compile: bool = False,
              optimizer: str = "sgd", lookup: str = "take", steps: int = 5, seed: int = 0) -> float:  # fmt: skip
    """Wall time (seconds) of the fastest of ``steps`` ``train_on_batch`` steps of a model that is one ``(rows, dim)`` table.

    Each step looks up ``batch`` random ids (drawn with ``seed``), sums each vector and fits
    an MSE target. The first step (tracing, XLA compilation) is not timed. The fastest step is
    the step's own cost; slower ones waited for other programs on a shared CPU. With
    ``jit_compile=True`` TensorFlow's op determinism is switched off during the measurement
    (while it is on, Keras 3 falls back to no XLA with only a UserWarning) and switched back on afterwards.

    Args:
        rows: table rows (the vocabulary size), 1 to 10**9.
        jit_compile: compile the step with XLA (``model.compile(jit_compile=True)``).
        optimizer: one of :data:`OPTIMIZERS` (Keras 3 optimizers: SGD 0.1, SGD 0.1 with momentum
            0.9, Adagrad 0.1, Adam 0.01).
        lookup: one of :data:`LOOKUPS`: ``"take"`` (Keras's ``Embedding``) or ``"handle"``
            (:data:`HandleEmbedding`).
        steps: timed steps (the fastest is returned).

    Raises TypeError/ValueError for a size, optimizer or lookup outside these ranges.
    """
    import numpy as np

    rows = v.check_size(rows, "rows", maximum=10**9)
    v.check_size(dim, "dim", maximum=4096)
    v.check_size(batch, "batch", maximum=10**7)
    v.check_size(steps, "steps", maximum=1000)
    v.check_choice(lookup, "lookup", LOOKUPS)
    v.check_bool(jit_compile, "jit_compile")
    rng = np.random.default_rng(seed)
    batches = [rng.integers(0, rows, size=batch, dtype=np.int32) for _ in range(steps + 1)]
    target = np.zeros(batch, np.float32)
    with _xla_allowed(jit_compile):
        model = _one_table_model(rows, dim, _optimizer(optimizer), jit_compile, seed, lookup)
        model.train_on_batch(batches[0], target)
        times = []
        for ids in batches[1:]:
            start = time.perf_counter()
            model.train_on_batch(ids, target)
            times.append(time.perf_counter() - start)
    return float(np.min(times))


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

    choices = {"sgd": lambda: keras.optimizers.SGD(0.1), "sgd_momentum": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
               "adagrad": lambda: keras.optimizers.Adagrad(0.1), "adam": lambda: keras.optimizers.Adam(0.01)}  # fmt: skip
    v.check_choice(name, "optimizer", OPTIMIZERS)
    return choices[name]()


def rows_changed_by_one_step(optimizer: str, *, rows: int = 10_000, dim: int = 8, batch: int = 64,
                             warmup_steps: int = 5, seed: int = 0) -> dict:  # fmt: skip
    """How many table rows one training step changes, after ``warmup_steps`` steps on random ids.

    Every step looks up ``batch`` random ids (the warm-up's ids may include some of the last
    step's). ``changed`` compares the table before and after the last step.

    Returns:
        ``{"looked_up": distinct ids of the last batch, "changed": rows whose values changed,
        "touched_so_far": distinct ids of all steps, the last one included, "rows": rows}`` (ints).

    Raises TypeError/ValueError for an optimizer not in :data:`OPTIMIZERS` or a size out of range.
    """
    import numpy as np

    v.check_size(rows, "rows", minimum=2, maximum=10**8)
    v.check_size(warmup_steps, "warmup_steps", minimum=0, maximum=1000)
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
            "touched_so_far": int(len(seen)), "rows": int(rows)}  # fmt: skip


def expected_collision_share(n_ids: int, bins: int) -> float:
    """Expected share of ``n_ids`` distinct ids that share their bin with at least one other id.

    With a uniform hash into ``bins`` bins, another given id misses my bin with probability
    ``1 - 1/bins``, so all ``n_ids - 1`` others miss it with ``(1 - 1/bins) ** (n_ids - 1)``:
    the share is ``1 - (1 - 1/bins) ** (n_ids - 1)`` (about ``1 - exp(-n_ids / bins)``).
    Raises ValueError for counts below 1, TypeError for counts that are not whole numbers.
    """
    v.check_size(n_ids, "n_ids")
    v.check_size(bins, "bins")
    return 1.0 - (1.0 - 1.0 / bins) ** (n_ids - 1)


def hashing_collisions(ids, bins: int, *, salt: int | None = None) -> dict:
    """Hash distinct ``ids`` with ``keras.layers.Hashing(bins, salt=salt)`` and measure the collisions.

    Args:
        ids: strings or integers (duplicates are dropped first).
        bins: number of hash bins (the rows of the ``Embedding`` behind the hashing layer).
        salt: ``None`` (FarmHash64, Keras's default) or a whole number (SipHash64 with that
            key): each salt is another hash function, to see how much one hash's collisions vary.

    Returns:
        ``{"ids": distinct ids, "bins": bins, "used_bins": bins holding at least one id,
        "colliding_share": share of ids sharing their bin with another id (measured),
        "expected_share": :func:`expected_collision_share`}``.

    Raises ValueError for ``bins`` < 1, a negative ``salt`` or no ids.
    """
    import keras
    import numpy as np

    v.check_size(bins, "bins")
    values = np.unique(np.asarray(list(ids)))
    if values.size == 0:
        raise ValueError("ids is empty: nothing to hash")
    if values.dtype.kind in "iu":
        values = values.astype(np.int64)
    else:
        values = values.astype(str).astype(object)
    if salt is not None:
        salt = v.check_size(salt, "salt", minimum=0)
    hashed = np.asarray(keras.layers.Hashing(num_bins=bins, salt=salt)(values)).reshape(-1)
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


@functools.lru_cache(maxsize=2)
def _training_arrays(config: LoopConfig):
    """The split and the shuffled training arrays of ``config`` (made once per process: ``--try-fit`` reuses them)."""
    import numpy as np

    from course_lib.datasets import load_movielens
    from course_lib.recommender import split_ratings

    split = split_ratings(load_movielens(config.variant).ratings, seed=config.seed)
    order = np.random.default_rng(config.seed).permutation(len(split.train))
    train = split.train.iloc[order]
    features = {"user_id": train["user_id"].to_numpy(np.int32), "movie_id": train["movie_id"].to_numpy(np.int32)}
    return split, features, train["rating"].to_numpy(np.float32)


def _global_batch_slices(arrays, global_batch: int, *, skip: int = 0):
    """The ``dataset_fn`` of ``strategy.distribute_datasets_from_function`` that gives each replica its slice of every global batch.

    Batches ``arrays`` (a tuple or dict of arrays with the same first axis, repeated without end)
    into global batches of ``global_batch`` examples and drops the first ``skip`` of them (the steps
    a resumed run already took). Each input pipeline (one per worker) keeps its consecutive part of
    every global batch, ``global_batch // num_input_pipelines`` examples from ``input_pipeline_id``
    times that, and cuts it into per-replica batches: a worker's replicas dequeue one each per step
    (``tensorflow/python/distribute/distribute_lib.py``, ``distribute_datasets_from_function``). So
    step ``s`` of the replicas together sees exactly global batch ``s``, as one device would, with one
    or several replicas per worker. Used by :func:`train_custom_loop` (lesson 05, section 4).

    Raises ValueError (from ``get_per_replica_batch_size``, when the dataset is made) if
    ``global_batch`` does not divide by the number of replicas.
    """
    import tensorflow as tf

    v.check_size(global_batch, "global_batch", maximum=10**8)
    v.check_size(skip, "skip", minimum=0)

    def dataset_fn(context):
        per_replica = context.get_per_replica_batch_size(global_batch)
        part = global_batch // context.num_input_pipelines  # this worker's examples of each global batch
        begin = context.input_pipeline_id * part
        data = tf.data.Dataset.from_tensor_slices(arrays).repeat().batch(global_batch, drop_remainder=True).skip(skip)
        data = data.map(lambda *batch: tf.nest.map_structure(lambda t: t[begin:begin + part], batch if len(batch) > 1 else batch[0]))
        return data.unbatch().batch(per_replica, drop_remainder=True)

    return dataset_fn


def train_custom_loop(strategy, config: LoopConfig = LoopConfig(), *, checkpoint_dir: str | Path | None = None,
                      crash_after: int | None = None, crash_worker: int = 1, model_path: str | Path | None = None,
                      report: bool = False) -> dict:  # fmt: skip
    """Train the lesson 04 rating model with ``strategy.run`` in a custom loop; return the losses.

    The loop is the one the TensorFlow guide gives for ``MultiWorkerMirroredStrategy``:
    ``distribute_datasets_from_function`` gives each worker its part of every global batch, cut
    into one batch per replica of the worker (:func:`_global_batch_slices`); each replica's loss
    is ``tf.nn.compute_average_loss(per_example, global_batch_size)`` (sum over its slice / global
    batch) and the reported loss is their ``SUM``, so the numbers are those of one device that
    sees the whole batch. Rating order and initial
    weights depend on ``config.seed`` only: every worker, and a one-device run, start equal.

    Args:
        strategy: a ``tf.distribute`` strategy with synchronous replicas, one or several per worker
            (``tf.distribute.get_strategy()`` for one device; ``MirroredStrategy``,
            ``MultiWorkerMirroredStrategy``). ``config.global_batch`` must divide by its replicas.
        checkpoint_dir: where ``tf.train.CheckpointManager`` keeps the newest checkpoint. The
            chief writes there; other workers write to a temporary folder they delete (each
            worker must take part in saving). A run finding a checkpoint resumes from it.
        crash_after: worker ``crash_worker`` exits abruptly (``os._exit(3)``) after this step: a killed worker.
        model_path: the chief saves the trained model there (``.keras``); other workers save nothing.
        report: print ``LOSS <step> <loss>`` after each step (so a killed run's losses are in its log).

    Returns:
        ``{"losses": {step: loss}, "start_step": int, "task": str, "is_chief": bool,
        "replicas": int}`` with float losses (MSE plus penalty, stars²).
    """
    import numpy as np
    import tensorflow as tf
    import keras

    from course_lib.recommender import build_rating_model, global_mean_baseline

    split, features, targets = _training_arrays(config)
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None) or "worker"
    task_id = getattr(resolver, "task_id", None) or 0
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0)
    G = config.global_batch

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
    iterator = iter(strategy.distribute_datasets_from_function(_global_batch_slices((features, targets), G, skip=first)))

    @tf.function
    def train_step(iterator):
        def replica_step(inputs):
            x, y = inputs
            with tf.GradientTape() as tape:
                predicted = tf.reshape(model(x, training=True), [-1])  # the model gives a (batch, 1) column
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
            print(f"worker {task_id}: crashing on purpose after step {step}\nCRASHED {time.time():.3f}", flush=True)
            os._exit(3)
    if model_path is not None and is_chief:
        model.save(model_path)
    return {"losses": losses, "start_step": first, "task": f"{task_type}:{task_id}", "is_chief": is_chief,
            "replicas": int(strategy.num_replicas_in_sync)}  # fmt: skip


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


def _failure_summary(exc: BaseException) -> str:
    """``"Type: cause (at node ...)"``: TensorFlow's "Graph execution error" header and traceback dropped."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    cause = next((line for line in lines if "aborted" in line.lower() or "unavailable" in line.lower()), None)
    cause = cause or next((line for line in lines if not line.startswith(("Graph execution error", "Detected at node",
                                                                          "File ", "[["))), "")  # fmt: skip
    node = re.search(r"\{\{node ([^}]+)\}\}", str(exc))
    return f"{type(exc).__name__}: {cause}" + (f" (at node {node[1]})" if node else "")


# --------------------------------------------------------------------------- a sharded table (JAX backend)


def rating_layout_map(mesh, tables=None):
    """A ``keras.distribution.LayoutMap`` that splits the rating model's tables row-wise over ``mesh``'s ``"model"`` axis.

    Each table in ``tables`` (default :data:`course_lib.recommender.EMBEDDING_TABLES`, the user
    and movie tables) gets the layout ``("model", None)``: rows split into equal consecutive
    blocks over the mesh's ``"model"`` axis, columns whole. The key is the variable's path,
    ``f"{table}/embeddings"``. Every other variable is replicated. Used by lesson 05 (section
    5), :func:`jax_worker_run` and ``python -m course_lib.benchmark
    --devices N --backend jax``. Sharding happens on the JAX backend only.
    """
    import keras

    from course_lib.recommender import EMBEDDING_TABLES

    layout = keras.distribution.LayoutMap(mesh)
    for table in EMBEDDING_TABLES if tables is None else tables:
        layout[f"{table}/embeddings"] = ("model", None)
    return layout


def _sharded_setup(pad_to: int):
    """Import Keras (JAX backend) and split ml-100k with tables padded to a multiple of ``pad_to`` rows."""
    import keras

    from course_lib import recommender as rec
    from course_lib.datasets import load_movielens

    if keras.backend.backend() != "jax":
        raise RuntimeError("run this with KERAS_BACKEND=jax (keras.distribution shards only on JAX)")
    ratings = load_movielens("100k").ratings
    return keras, rec, rec.split_ratings(ratings, seed=42, pad_to=pad_to), ratings


def _table_layout(variable) -> list[dict]:
    """Where the rows and columns of a 2-D (JAX-backed) Keras variable live: one dict per shard this process holds."""
    shards = sorted(variable.value.addressable_shards, key=lambda s: s.device.id)
    return [{"device": int(s.device.id), "process": int(s.device.process_index),
             "rows": [int(s.index[0].start or 0), int(s.index[0].stop or variable.shape[0])],
             "cols": [int(s.index[1].start or 0), int(s.index[1].stop or variable.shape[1])]} for s in shards]  # fmt: skip


def jax_worker_run(coordinator: str, num_processes: int, process_id: int, steps: int = 5) -> dict:
    """One of ``num_processes`` JAX processes that together hold the rating model's tables, split row-wise.

    ``keras.distribution.initialize`` connects the processes through the coordinator
    (``host:port`` of process 0); afterwards ``keras.distribution.list_devices()`` lists every
    process's devices, and :func:`rating_layout_map` (``("model", None)`` for the user and movie
    tables) spreads the rows over all of them. The tables are padded to a multiple of the
    device count (``split_ratings(pad_to=...)``). Each process trains 2 epochs of ``steps`` Adam
    steps on the same batches (ml-100k, batch 1024), then the same alone on one device.

    Returns:
        ``{"process_id", "global_devices", "local_devices", "table_shape", "table_layout" and
        "user_table_layout" (the rows of the movie and user tables this process holds, see
        ``_table_layout``), "adam_layout" (the same for the movie table's Adam moments),
        "losses" (per epoch, sharded), "one_device_losses", "uneven_error" (what JAX says when
        the unpadded 1,683-row movie table is to be split)}``.
    """
    import keras
    import numpy as np

    keras.distribution.initialize(job_addresses=coordinator, num_processes=num_processes, process_id=process_id)
    found = keras.distribution.list_devices()
    _, rec, split, ratings = _sharded_setup(pad_to=len(found))
    mesh = keras.distribution.DeviceMesh((1, len(found)), ("batch", "model"), found)
    distribution = keras.distribution.ModelParallel(layout_map=rating_layout_map(mesh), batch_dim_name="batch")
    distribution.auto_shard_dataset = False  # every process feeds the same whole batches (batch axis of size 1)
    inputs = rec.model_inputs(split.train.iloc[: 1024 * steps])
    targets = split.train["rating"].to_numpy(np.float32)[: 1024 * steps]

    def train(scope):
        keras.utils.set_random_seed(42)
        with scope:
            model = rec.build_rating_model(split.n_users, split.n_movies, global_mean=rec.global_mean_baseline(split.train),
                                           dim=16, seed=42)  # fmt: skip
            model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
            history = model.fit(inputs, targets, batch_size=1024, epochs=2, shuffle=False, verbose=0)
        return model, [float(v) for v in history.history["loss"]]

    model, losses = train(distribution.scope())
    _, local_losses = train(contextlib.nullcontext())  # this process alone, one device, nothing sharded
    table = model.get_layer(rec.MOVIE_EMBEDDING).embeddings
    moments = [m for m in model.optimizer.variables if rec.MOVIE_EMBEDDING in m.path]
    uneven_error = None
    try:  # the ratings' own sizes: 1,683 movie rows do not split into equal parts
        with distribution.scope():
            rec.build_rating_model(int(ratings.user_id.max()), int(ratings.movie_id.max()), global_mean=3.5, dim=16)
    except Exception as exc:
        uneven_error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return {"process_id": process_id, "global_devices": len(found), "local_devices": len(table.value.addressable_shards),
            "table_shape": list(table.shape), "table_layout": _table_layout(table),
            "user_table_layout": _table_layout(model.get_layer(rec.USER_EMBEDDING).embeddings),
            "adam_layout": [_table_layout(m) for m in moments],
            "losses": losses, "one_device_losses": local_losses, "uneven_error": uneven_error}  # fmt: skip


def layout_check(spec: dict) -> dict:
    """Train the rating model one SGD step with a given layout on JAX, sharded and on one device (lesson 05, q4).

    ``spec`` (JSON-able, so that a TensorFlow-backend process can hand it over): ``{"shape":
    [1, N], "axis_names": ["batch", "model"], "batch_dim_name": "batch", "layout": [[key,
    [axis or None, ...]], ...]}``: the ``DeviceMesh`` and the ``LayoutMap`` entries. Runs in a
    JAX process with at least N devices (:func:`jax_env`). The model has tables of 944 and
    1,684 rows (ml-100k's sizes padded to a multiple of 4), dimension 8; one batch of 512
    random ratings (seed 0), SGD 0.1, ``"mse"``. See :func:`layout_checks` for several specs.

    Returns:
        ``{"devices": N, "found_devices": devices this process has, "layouts": {variable path:
        [{"device", "rows": [begin, end], "cols": [begin, end]}, ...]}, "max_difference": largest
        absolute difference of any weight after the step, sharded against one device, "error":
        None or ``"Type: first line"`` of the error raised while building or training under the
        distribution}``.
    """
    return layout_checks([spec])[0]


def layout_checks(specs: list[dict]) -> list[dict]:
    """:func:`layout_check` for each spec in one process; the one-device step is trained once for all.

    One JAX process can thus check several layouts (lesson 05's tests check every answer of q4 in one child).
    """
    import keras
    import numpy as np

    from course_lib import recommender as rec
    from course_lib.checks import error_text  # imports NumPy only

    found = keras.distribution.list_devices()
    rng = np.random.default_rng(0)
    inputs = {"user_id": rng.integers(1, 944, 512).astype("int32"), "movie_id": rng.integers(1, 1683, 512).astype("int32")}
    targets = rng.integers(1, 6, 512).astype("float32")

    def one_step(scope):
        keras.utils.set_random_seed(0)
        with scope:
            model = rec.build_rating_model(943, 1683, global_mean=3.5, dim=8, l2=0.05, seed=0)
            model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
            model.fit(inputs, targets, batch_size=512, epochs=1, shuffle=False, verbose=0)
        return model

    plain = None
    results = []
    for spec in specs:
        shape, names = tuple(spec["shape"]), tuple(spec["axis_names"])
        count = int(np.prod(shape))
        result = {"devices": count, "found_devices": len(found), "layouts": {}, "max_difference": None, "error": None}
        results.append(result)
        try:
            mesh = keras.distribution.DeviceMesh(shape, names, np.array(found[:count]).reshape(shape))
            layout = keras.distribution.LayoutMap(mesh)
            for key, axes in spec["layout"]:
                layout[key] = tuple(axes)
            distribution = keras.distribution.ModelParallel(layout_map=layout, batch_dim_name=spec.get("batch_dim_name", "batch"))
            sharded = one_step(distribution.scope())
        except Exception as exc:  # the learner's layout: report what JAX or Keras said
            result["error"] = error_text(exc)
            continue
        plain = plain or one_step(contextlib.nullcontext())
        result["layouts"] = {w.path: _table_layout(w) for w in sharded.weights if len(w.shape) == 2}
        result["max_difference"] = float(max(
            np.max(np.abs(keras.ops.convert_to_numpy(a) - keras.ops.convert_to_numpy(b)))
            for a, b in zip(sharded.weights, plain.weights)))  # fmt: skip
    return results


# --------------------------------------------------------------------------- ParameterServerStrategy (tf_keras)


def ps_demo(rows: int = 1000, dim: int = 8, shards: int = 2) -> dict:
    """An ``Embedding`` under ``ParameterServerStrategy`` with ``FixedShardsPartitioner(shards)``, trained by ``fit``.

    Starts an in-process cluster (one worker and ``shards`` parameter servers on free ports of
    127.0.0.1, as in the TensorFlow guide "Parameter server training"), so run it in a child
    process (``python -m course_lib.distributed ps-demo``): the servers end with that process.
    Both ``fit`` calls get the same ``tf.data.Dataset`` (64 ids repeated, batches of 32) and
    ``steps_per_epoch=4``, so that the two Keras versions are compared on the same input. A
    third ``fit``, of ``tf_keras`` on the same 64 ids as NumPy arrays (``steps_per_epoch=2``),
    shows that ``tf_keras`` takes arrays under this strategy too: it wraps them in a
    ``DatasetCreator`` itself (``_ClusterCoordinatorDataHandler``,
    ``tf_keras/src/engine/data_adapter.py``, lines 1529-1556).

    Returns:
        ``{"tf_keras_variable": type name, "tf_keras_shards": [[rows, dim], ...],
        "tf_keras_fit": "ran, loss ..." or the error, "tf_keras_fit_numpy": the same for NumPy
        arrays, "keras3_variable": type name of a Keras
        3 Embedding's table under the same strategy, "keras3_shape": [rows, dim],
        "keras3_fit": "ran" or the error}``.
    """
    import numpy as np
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

    def dataset():
        ids = np.arange(64, dtype=np.int32) % rows
        return tf.data.Dataset.from_tensor_slices((ids, np.zeros(64, np.float32))).repeat().batch(32)

    def short(exc):
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"

    with strategy.scope():
        old = tf_keras.Sequential([tf_keras.Input(shape=(), dtype="int32"), tf_keras.layers.Embedding(rows, dim),
                                   tf_keras.layers.Lambda(lambda v: tf.reduce_sum(v, axis=-1))])  # fmt: skip
        old.compile(optimizer="sgd", loss="mse")
    table = old.layers[0].embeddings
    result = {"tf_keras_variable": type(table).__name__,
              "tf_keras_shards": [list(v.shape) for v in getattr(table, "variables", [table])]}  # fmt: skip
    try:
        history = old.fit(dataset(), epochs=1, steps_per_epoch=4, verbose=0)
        result["tf_keras_fit"] = f"ran, loss {history.history['loss'][0]:.4f}"
    except Exception as exc:
        result["tf_keras_fit"] = short(exc)
    try:
        history = old.fit(np.arange(64, dtype=np.int32) % rows, np.zeros(64, np.float32), batch_size=32, epochs=1,
                          steps_per_epoch=2, verbose=0)  # fmt: skip
        result["tf_keras_fit_numpy"] = f"ran, loss {history.history['loss'][0]:.4f}"
    except Exception as exc:
        result["tf_keras_fit_numpy"] = short(exc)
    import keras

    try:
        with strategy.scope():
            ids = keras.Input(shape=(), dtype="int32")
            new = keras.layers.Embedding(rows, dim)
            model = keras.Model(ids, keras.ops.sum(new(ids), axis=-1))
            model.compile(optimizer="sgd", loss="mse")
        value = getattr(new.embeddings, "value", new.embeddings)
        result["keras3_variable"] = type(value).__name__
        result["keras3_shape"] = list(new.embeddings.shape)
        model.fit(dataset(), epochs=1, steps_per_epoch=4, verbose=0)
        result["keras3_fit"] = "ran"
    except Exception as exc:
        result.setdefault("keras3_variable", f"error: {short(exc)}")
        result["keras3_fit"] = short(exc)
    return result


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
    jax_worker = commands.add_parser("jax-worker", help="one process of a multi-process JAX run")
    jax_worker.add_argument("--coordinator", required=True, help="host:port of process 0")
    jax_worker.add_argument("--num-processes", type=int, default=2)
    jax_worker.add_argument("--process-id", type=int, required=True)
    jax_worker.add_argument("--steps", type=int, default=5)
    commands.add_parser("ps-demo", help="an Embedding under ParameterServerStrategy with a partitioner (tf_keras)")
    check = commands.add_parser("layout-check", help="one sharded SGD step of the rating model with a given layout (JAX)")
    check.add_argument("--spec", required=True, help="JSON: mesh shape, axis names and LayoutMap entries (see "
                       "layout_check), or a list of such specs (layout_checks)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.update({k: v for k, v in CHILD_ENV.items() if k not in os.environ})
    from course_lib.env import quiet_native_stderr

    if args.command == "worker":
        os.environ["KERAS_BACKEND"] = "tensorflow"
        with quiet_native_stderr():
            import tensorflow  # noqa: F401
        try:
            result = _worker_main(args)
        except Exception as exc:  # say what failed on one line, then fail as before (traceback, exit code 1)
            print(f"FAILED {time.time():.3f} {_failure_summary(exc)}", flush=True)
            raise
        _print_result(result)
    elif args.command == "ps-demo":
        os.environ["KERAS_BACKEND"] = "tensorflow"
        with quiet_native_stderr():
            import tensorflow as tf
        tf.get_logger().setLevel("ERROR")
        _print_result(ps_demo())
    elif args.command in ("jax-worker", "layout-check"):
        os.environ["KERAS_BACKEND"] = "jax"
        # Nothing here needs TensorFlow; Keras would import it only to seed it (keras.utils.set_random_seed,
        # which keras.distribution.initialize also calls), 2-3 s of CPU per process. Mark it absent.
        sys.modules.setdefault("tensorflow", None)
        with quiet_native_stderr():
            import keras  # noqa: F401
        if args.command == "layout-check":  # one spec, or a list of them
            spec = json.loads(args.spec)
            _print_result(layout_checks(spec) if isinstance(spec, list) else layout_check(spec))
        else:
            _print_result(jax_worker_run(args.coordinator, args.num_processes, args.process_id, args.steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
