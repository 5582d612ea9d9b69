"""Unit tests of lesson 05: its self-checks (course_lib/exercises/lesson05.py) and the process,
port and measurement helpers of course_lib/distributed.py (small runs; no process or port left behind)."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from course_lib import distributed
from course_lib.checks import ____
from course_lib.exercises.lesson05 import q1, q2, q3, q4, q5
from exercise_helpers import message, solution_namespace, status


# --------------------------------------------------------------------------- q1


@pytest.mark.parametrize("answer", [{"adam"}, ["Adam"], "adam", ("ADAM",), frozenset({"adam"})])
def test_q1_accepts_adam_in_any_form(answer):
    assert status(q1, answer) == "correct"


@pytest.mark.parametrize("answer, words", [({"adam", "adagrad"}, "Adagrad"), ({"sgd", "adam"}, "SGD"),
                                           (set(), "does move"), ({"rmsprop"}, "not one of"), (3, "set")])  # fmt: skip
def test_q1_rejects_typical_mistakes(answer, words):
    assert words in message(q1, answer)


_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _children_before_the_test():
    """Children this test process already had (e.g. multiprocessing's resource tracker from other tests)."""
    global _BEFORE
    _BEFORE = set(distributed.child_processes())


def new_children() -> list[int]:
    """Child processes started during this test and still running."""
    return sorted(set(distributed.child_processes()) - _BEFORE)


def test_q1_not_attempted():
    assert status(q1, ...) == status(q1, ____) == "not attempted"


# --------------------------------------------------------------------------- q2


def test_q2_accepts_the_printed_solution_and_the_exponential_free_forms():
    assert status(q2, solution_namespace(q2)["collision_share"]) == "correct"
    assert status(q2, lambda n, b: 1 - ((b - 1) / b) ** (n - 1)) == "correct"
    assert status(q2, lambda n, b: float(1 - np.power(1 - 1 / b, n - 1))) == "correct"


@pytest.mark.parametrize("function, words", [
    (lambda n, b: 1 - (1 - 1 / b) ** n, "itself"),
    (lambda n, b: n / b, "rule of thumb"),
    (lambda n, b: n * (1 - (1 - 1 / b) ** (n - 1)), "count"),
    (lambda n, b: "high", "not a number"),
    (lambda n, b: 1 - np.exp(-n / b), "expected"),
])  # fmt: skip
def test_q2_rejects_typical_mistakes(function, words):
    assert words in message(q2, function)


def test_q2_stub_is_not_attempted():
    def collision_share(n_ids, bins):
        ...  # YOUR CODE HERE

    assert status(q2, collision_share) == "not attempted"


def test_q2_formula_matches_the_library():
    share = solution_namespace(q2)["collision_share"]
    assert share(1659, 8000) == pytest.approx(distributed.expected_collision_share(1659, 8000))


# --------------------------------------------------------------------------- q3


@pytest.mark.parametrize("answer", [2048, np.int64(2048), 4 * 512])
def test_q3_accepts(answer):
    assert status(q3, answer) == "correct"


@pytest.mark.parametrize("answer, words", [(512, "sum"), (1500, "de-duplicated"), (100_000, "whole table"),
                                           (2048.5, "whole number")])  # fmt: skip
def test_q3_rejects(answer, words):
    assert words in message(q3, answer)


# --------------------------------------------------------------------------- q4


def test_q4_accepts_dict_and_json_string_answers():
    reference = solution_namespace(q4)["make_tf_config"]
    assert status(q4, reference) == "correct"
    assert status(q4, lambda hosts, i: json.dumps(reference(hosts, i))) == "correct"


@pytest.mark.parametrize("function, words", [
    (lambda h, i: {"cluster": {"worker": h}, "task": {"type": "worker", "index": str(i)}}, "int"),
    (lambda h, i: {"cluster": {"worker": h}, "task": {"type": "worker", "index": 0}}, "own position"),
    (lambda h, i: {"cluster": {"worker": [h[i]]}, "task": {"type": "worker", "index": i}}, "every worker"),
    (lambda h, i: {"worker": h, "index": i}, "two keys"),
    (lambda h, i: {"cluster": {"worker": h}, "task": {"type": "chief", "index": i}}, "'type'"),
    (lambda h, i: "{cluster}", "JSON"),
])  # fmt: skip
def test_q4_rejects_typical_mistakes(function, words):
    assert words in message(q4, function)


def test_q4_matches_the_library_on_loopback():
    reference = solution_namespace(q4)["make_tf_config"]
    assert reference(["127.0.0.1:1", "127.0.0.1:2"], 1) == distributed.tf_config([1, 2], 1)


# --------------------------------------------------------------------------- q5


@pytest.mark.parametrize("answer", [(633, 844), [633, 844], range(633, 844), np.array([633, 844])])
def test_q5_accepts(answer):
    assert status(q5, answer) == "correct"


@pytest.mark.parametrize("answer, words", [((633, 843), "exclusive"), ((844, 1055), "numbered from 0"),
                                           ((0, 211), "not device"), ((1, 2, 3), "two numbers")])  # fmt: skip
def test_q5_rejects(answer, words):
    assert words in message(q5, answer)


# --------------------------------------------------------------------------- ports and processes


def test_free_ports_are_distinct_and_free():
    ports = distributed.free_ports(3)
    assert len(set(ports)) == 3 and all(distributed.port_is_free(p) for p in ports)


def test_tf_config_names_the_task_and_rejects_bad_index():
    assert distributed.tf_config([5, 6], 0) == {"cluster": {"worker": ["127.0.0.1:5", "127.0.0.1:6"]},
                                                "task": {"type": "worker", "index": 0}}  # fmt: skip
    with pytest.raises(ValueError, match="index=2"):
        distributed.tf_config([5, 6], 2)


@pytest.mark.parametrize("bad", [0, -1, 65, 2.0, True, "2"])
def test_counts_are_validated(bad):
    with pytest.raises(ValueError, match="n="):
        distributed.free_ports(bad)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_cluster_success_keeps_logs_and_leaves_no_process():
    with distributed.Cluster() as cluster:
        for i in range(2):
            cluster.start(f"w{i}", _python(f"print('LOSS 1 0.5'); print('RESULT {{\"i\": {i}}}')"))
        workers = cluster.wait(timeout=60)
    assert [w.result() for w in workers] == [{"i": 0}, {"i": 1}]
    assert workers[0].losses() == {1: 0.5}
    assert new_children() == []


def test_cluster_failure_stops_the_others_and_shows_the_log():
    with pytest.raises(distributed.WorkerError) as failure:
        with distributed.Cluster() as cluster:
            cluster.start("sleeper", _python("import time; time.sleep(600)"))
            cluster.start("crasher", _python("import sys; print('about to fail'); sys.exit(3)"))
            cluster.wait(timeout=60)
    assert "crasher exited with code 3" in str(failure.value) and "about to fail" in str(failure.value)
    assert failure.value.workers[0].returncode is not None  # the sleeper was stopped
    assert new_children() == []


def test_cluster_timeout_kills_the_whole_process_group():
    # the worker starts a grandchild that would outlive a plain kill of the worker
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"
    with pytest.raises(distributed.WorkerError, match="still running"):
        with distributed.Cluster(grace=1) as cluster:
            worker = cluster.start("stuck", _python(code))
            cluster.wait(timeout=3)
    import time

    deadline = time.monotonic() + 10  # the orphaned grandchild is reaped by init shortly after SIGKILL
    while time.monotonic() < deadline:
        try:
            os.killpg(worker.process.pid, 0)
        except ProcessLookupError:
            break  # no process of the group is left, the grandchild included
        time.sleep(0.2)
    else:
        pytest.fail("a process of the worker's group survived the stop")
    assert new_children() == []


def test_run_cluster_with_real_workers_frees_ports_and_processes(tmp_path, monkeypatch):
    """Two MultiWorkerMirroredStrategy workers, 4 steps: identical losses, ports free afterwards."""
    picked = []
    original = distributed.free_ports
    monkeypatch.setattr(distributed, "free_ports", lambda n: picked.extend(original(n)) or picked[-n:])
    workers = distributed.run_cluster(["worker", "--steps", 4, "--checkpoint-every", 2, "--checkpoint-dir", tmp_path,
                                       "--global-batch", 256], n_workers=2, timeout=300)  # fmt: skip
    results = [w.result() for w in workers]
    assert results[0]["losses"] == results[1]["losses"] and len(results[0]["losses"]) == 4
    assert [r["is_chief"] for r in results] == [True, False] and results[0]["replicas"] == 2
    assert len(picked) == 2 and all(distributed.port_is_free(p) for p in picked)
    assert new_children() == []
    assert (tmp_path / "checkpoint").exists() and not list(tmp_path.glob("worker1-tmp*"))


# --------------------------------------------------------------------------- measurements


def test_expected_collision_share_limits():
    assert distributed.expected_collision_share(1, 10) == 0.0
    assert distributed.expected_collision_share(2, 2) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="bins"):
        distributed.expected_collision_share(5, 0)


def test_hashing_collisions_counts_shared_bins():
    result = distributed.hashing_collisions([f"id{i}" for i in range(200)] * 2, 50)
    assert result["ids"] == 200 and result["used_bins"] <= 50 and result["colliding_share"] > 0.9
    with pytest.raises(ValueError, match="empty"):
        distributed.hashing_collisions([], 10)


def test_rows_changed_by_sparse_and_dense_optimizers():
    sgd = distributed.rows_changed_by_one_step("sgd", rows=500, batch=16, warmup_steps=2)
    adam = distributed.rows_changed_by_one_step("adam", rows=500, batch=16, warmup_steps=2)
    assert sgd["changed"] == sgd["looked_up"]
    assert adam["changed"] == adam["touched_before"] > adam["looked_up"]
    with pytest.raises(ValueError, match="optimizer"):
        distributed.rows_changed_by_one_step("rmsprop")


def test_step_time_is_positive_and_validates():
    assert distributed.step_time(1000, batch=32, steps=2) > 0
    with pytest.raises(ValueError, match="rows"):
        distributed.step_time(0)


def test_padded_sizes_make_rows_divisible():
    import pandas as pd

    ratings = pd.DataFrame({"user_id": [1, 943], "movie_id": [5, 1682], "rating": [3, 4]})
    sizes = distributed.padded_sizes(ratings, 8)
    assert sizes == {"n_users": 943, "n_movies": 1687}  # 944 rows and 1688 rows, both multiples of 8
    assert distributed.padded_sizes(ratings, 1) == {"n_users": 943, "n_movies": 1682}
    with pytest.raises(ValueError, match="pad_to"):
        distributed.padded_sizes(ratings, 0)


def test_training_scope_rejects_unknown_backend():
    with pytest.raises(ValueError, match="backend='torch'"):
        distributed.training_scope("torch", 2)
    with pytest.raises(ValueError, match="devices"):
        distributed.training_scope("jax", 0)


@pytest.mark.parametrize("bad", [0, 65, 2.5, "4"])
def test_virtual_cpus_validates_before_touching_tensorflow(bad):
    with pytest.raises(ValueError, match="logical CPUs"):
        distributed.virtual_cpus(bad)


def test_jax_env_gives_the_cpu_client_spare_threads_for_collectives():
    """A child started with jax_env(4) sees 4 devices, all-reduces over them, and its PjRt pool is larger."""
    import subprocess

    env = {**os.environ, **distributed.jax_env(4)}
    assert int(env["PJRT_NPROC"]) > 4  # more pool threads than devices: a blocked launch cannot starve a collective
    code = (
        "import jax, jax.numpy as jnp, numpy as np\n"
        "from jax.sharding import Mesh, NamedSharding, PartitionSpec as P\n"
        "mesh = Mesh(np.array(jax.devices()), ('d',))\n"
        "x = jax.device_put(jnp.arange(8.0), NamedSharding(mesh, P('d')))\n"
        "total = jax.jit(jnp.sum, out_shardings=NamedSharding(mesh, P()))(x)\n"
        "print(len(jax.devices()), float(total))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["4", "28.0"]
    with pytest.raises(ValueError, match="devices=0"):
        distributed.jax_env(0)
