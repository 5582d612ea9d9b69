"""Unit tests of lesson 05: its self-checks (course_lib/exercises/lesson05.py) and the process,
port and measurement helpers of course_lib/distributed.py (small runs; no process or port left behind).

Every exercise: the printed solution and other correct answers are accepted; every catalogued
mistake (``qN.mistakes``) is named by its own detector for the wrong answers of
tests/lesson05_answers.py that make it (:func:`exercise_helpers.check_catalogue`), and the
last-resort messages say what differs. Child processes are few and shared: the checks of q2 and q3
run under ``MirroredStrategy`` over 4 logical CPUs, which a test process cannot make any more
(TensorFlow fixed its devices at its first op), so all their answers are checked in one child;
every answer of q4 that reaches the sharded JAX step is checked in one JAX child
(``lesson05.check_layouts``), whose results the checks then reuse.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import lesson05_answers as answers
from course_lib import distributed
from course_lib import recommender as rec
from course_lib.checks import ____
from course_lib.exercises import lesson05
from course_lib.exercises.lesson05 import q1, q2, q3, q4, q5
from exercise_helpers import check_catalogue, message, solution_namespace, status


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4, q5])
def test_not_attempted_never_stops_the_notebook(exercise, capsys):
    def stub(*args):
        ...  # YOUR CODE HERE

    class Stub(keras.layers.Embedding):
        def call(self, inputs):
            ...  # YOUR CODE HERE

    for answer in (..., ____, Stub if exercise is q1 else stub):
        assert status(exercise, answer) == "not attempted"
    exercise.check(...)
    assert "[not attempted]" in capsys.readouterr().out


def test_hints_and_solutions_print(capsys):
    for exercise in (q1, q2, q3, q4, q5):
        exercise.hint()
        exercise.solution()
    printed = capsys.readouterr().out
    assert printed.count("Hint for") == 5 and printed.count("Solution for") == 5


# --------------------------------------------------------------------------- q1: HandleEmbedding


def test_q1_accepts_the_printed_solution_an_instance_and_the_library_layer():
    solution = solution_namespace(q1, keras=keras, tf=tf)["HandleEmbedding"]
    assert status(q1, solution) == "correct"
    assert status(q1, answers.Handle(10, 2)) == "correct"  # an instance: its class is checked
    assert status(q1, distributed.HandleEmbedding) == "correct"


@pytest.mark.parametrize("name", sorted(answers.Q1_CORRECT))
def test_q1_accepts_other_correct_answers(name):
    assert status(q1, answers.Q1_CORRECT[name]) == "correct"


def test_q1_names_the_op_that_reads_the_table():
    """The success message names what the traced call runs: ResourceGather, or ResourceGatherNd for gather_nd."""
    assert "with ResourceGather and no ReadVariableOp" in q1.evaluate(answers.Handle).message
    assert "with ResourceGatherNd and no ReadVariableOp" in q1.evaluate(answers.GatherNd).message


def test_q1_catalogue():
    messages = check_catalogue(q1, answers.Q1_MISTAKES)
    assert "self.embeddings.value" in messages["keras_variable"] and "ReadVariableOp" in messages["keras_variable"]


def test_q1_walkthrough_answers_get_their_own_explanations():
    """Walkthrough D11-D13: a forgotten return, indexing the variable with the ids (directly, or in a loop), and
    super().call are named as such, not as a shape (), a bare TensorFlow error or the Keras variable."""
    no_return = q1.evaluate(answers.NoReturn)
    assert no_return.mistake == "returned-none" and "forget the `return`" in no_return.message
    assert "shape ()" not in no_return.message
    indexed, looped = q1.evaluate(answers.IndexedVariable), q1.evaluate(answers.LoopOverIds)
    assert indexed.mistake == looped.mistake == "indexing"
    assert "tf.gather(self.embeddings.value, inputs)" in indexed.message and "loop" not in indexed.message
    assert "fit's graph cannot loop over the ids" in looped.message
    super_call = q1.evaluate(answers.SuperCall)
    assert super_call.mistake == "super_call" and "super().call" in super_call.message
    assert "the Keras variable" not in super_call.message


@pytest.mark.parametrize("name", sorted(answers.Q1_FALLBACK))
def test_q1_other_wrong_layers_say_what_differs(name):
    answer, phrase = answers.Q1_FALLBACK[name]
    result = q1.evaluate(answer)
    assert result.status == "incorrect" and result.mistake is None and phrase in result.message


# --------------------------------------------------------------------------- q2 and q3 (in one child with 4 logical CPUs)


@pytest.fixture(scope="module")
def engine():
    env = {**os.environ, **distributed.CHILD_ENV}
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("lesson05_answers.py"))], env=env,
                          capture_output=True, text=True, timeout=600, cwd=Path(__file__).parent.parent)  # fmt: skip
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULTS ")), None)
    assert line, f"the child printed no results (exit {done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(line[len("RESULTS "):])


ENGINE = {"q2": (q2, answers.Q2_CORRECT, answers.Q2_MISTAKES, answers.Q2_FALLBACK),
          "q3": (q3, answers.Q3_CORRECT, answers.Q3_MISTAKES, answers.Q3_FALLBACK)}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ENGINE))
def test_q2_q3_accept_the_printed_solution_and_other_correct_answers(engine, name):
    _, correct, _, _ = ENGINE[name]
    for label in [f"{name}.solution()", *correct]:
        assert engine[name][label]["status"] == "correct", (label, engine[name][label])


@pytest.mark.parametrize("name", sorted(ENGINE))
def test_q2_q3_catalogues(engine, name):
    """check_catalogue, on results obtained under MirroredStrategy in the child."""
    exercise, _, mistakes, _ = ENGINE[name]
    catalogue = [p.key for p in exercise.mistakes]
    assert not set(catalogue) - set(mistakes), f"no example answer for {sorted(set(catalogue) - set(mistakes))}"
    assert len(set(catalogue)) >= 8
    for key, examples in mistakes.items():
        for i in range(len(examples)):
            result = engine[name][f"mistake {key} {i}"]
            assert result["status"] == "incorrect" and result["mistake"] == key, (key, result)
            assert set(result["detected"]) <= {key}, (key, result)
            assert result["lint"] == [], (key, result)


@pytest.mark.parametrize("name", sorted(ENGINE))
def test_q2_q3_fallbacks_and_generic_wrong_answers_under_the_engine(engine, name):
    """The last resort says what differs; test_feedback's generic wrong answers get clean messages with 4 CPUs too."""
    _, _, _, fallbacks = ENGINE[name]
    for label, (_, phrase) in fallbacks.items():
        result = engine[name][f"fallback {label}"]
        assert result["status"] == "incorrect" and result["mistake"] is None and phrase in result["message"], result
    generic = {label: result for label, result in engine[name].items() if label.startswith("generic ")}
    assert generic and all(r["status"] == "incorrect" and r["lint"] == [] for r in generic.values()), generic


def test_q2_tries_the_uneven_split_tf_distribute_makes(engine):
    """15 examples on 4 replicas: tf.distribute splits them 4/4/4/3, and the forms that ignore global_batch_size
    (right on the even splits) are named there."""
    assert "with 15 examples on 4 replicas (split 4/4/4/3)" in engine["q2"]["q2.solution()"]["message"]
    for i in range(len(answers.Q2_MISTAKES["equal_slices"])):
        text = engine["q2"][f"mistake equal_slices {i}"]["message"]
        assert "split 4/4/4/3" in text and "compute_average_loss(per_example, global_batch_size=global_batch_size)" in text


def test_q2_walkthrough_answers_are_blamed_for_what_they_did(engine):
    """Walkthrough D7-D10: a penalty divided by global_batch_size (not mistaken for dividing by the replicas twice),
    a global batch of one's own, a Python if on a tensor (not NumPy), sum([]) into scale_regularization_loss (not a
    float64 of one's own), and a fallback that says "a plain factor" only when the step is none."""
    q2_results = engine["q2"]
    by_batch = q2_results["mistake penalty_by_batch 0"]["message"]
    assert f"1/6 of one device's, as if divided by global_batch_size ({lesson05.Q2_GLOBAL_BATCH})" in by_batch
    assert lesson05.Q2_GLOBAL_BATCH not in {r * r for r in lesson05.Q2_REPLICAS}  # G = R * R would confuse the two
    assert "already does" in q2_results["mistake penalty_twice 0"]["message"]
    assert "divided by 16 instead of global_batch_size (24)" in q2_results["mistake own_batch 0"]["message"]
    tensor_if = q2_results["mistake tensor_if 0"]["message"]
    assert "an empty replica needs no guard" in tensor_if and "NumPy" not in tensor_if
    sum_empty = q2_results["mistake sum_empty 0"]["message"]
    assert "sum(penalties) is the Python int 0" in sum_empty and "np.float64" not in sum_empty
    assert "not by a plain factor" not in q2_results["fallback half the penalty"]["message"]


def test_q3_column_formula_is_tried_on_4_replicas(engine):
    """Walkthrough D1: the column is tried on 4 replicas against the 2-replica log, which real fit confirms (the
    column's log does not depend on the replicas); a returned tuple is not told about shapes (D24)."""
    logs = engine["q3 column logs"]
    assert logs["4"] == pytest.approx(logs["2"], rel=1e-6)
    assert lesson05.Q3_CASES[4, 2] == (2, 2)
    tuple_message = engine["q3"]["mistake tuple 0"]["message"]
    assert "(2.0, 0.5)" in tuple_message and "shape" not in tuple_message


def test_q2_q3_explain_a_learner_error_in_the_lessons_terms(engine):
    zero_division = engine["q2"]["generic 13"]  # lambda *args: 1 / 0
    assert "raised ZeroDivisionError" in zero_division["message"] and "which divisor is 0" in zero_division["message"]
    assert "(16,) for a (batch,) output" in engine["q3"]["mistake shape_index 0"]["message"]


def test_q2_q3_say_which_devices_they_need_in_a_process_with_one():
    """In this test process TensorFlow has one logical CPU: the checks say how to get four."""
    if len(tf.config.list_logical_devices("CPU")) >= 4:
        pytest.skip("this process has 4 logical CPUs")
    for exercise, answer in ((q2, answers.replica_loss), (q3, answers.logged_loss)):
        text = message(exercise, answer)
        assert "4 logical CPUs" in text and "first cell" in text


# --------------------------------------------------------------------------- q4: LayoutMap (one JAX child for all)


@pytest.fixture(scope="module")
def layouts():
    """Every q4 answer that reaches the sharded step, checked in one JAX child; the checks below reuse the results."""
    specs = [lesson05._q4_spec(answer) for answer in answers.Q4_JAX_ANSWERS]
    return lesson05.check_layouts(specs)


def test_q4_child_has_the_devices_jax_env_promises(layouts):
    """jax_env(4) gives the child 4 CPU devices, and more PjRt pool threads than devices (no collective deadlock)."""
    assert int(distributed.jax_env(4)["PJRT_NPROC"]) > 4
    assert {r["found_devices"] for r in layouts} == {4}
    assert [r["error"] is None for r in layouts] == [True, True, True, True, False]  # the last one splits bias columns


@pytest.mark.parametrize("name", sorted(answers.Q4_CORRECT))
def test_q4_accepts_layouts_that_split_both_tables_in_a_jax_step(layouts, name):
    answer = answers.Q4_CORRECT[name]
    if name == "the printed solution":
        answer = solution_namespace(q4, keras=keras, rec=rec)["shard_tables"]
    assert status(q4, answer) == "correct"


def test_q4_catalogue(layouts):
    checked = dict(lesson05._LAYOUT_RESULTS)
    messages = check_catalogue(q4, answers.Q4_MISTAKES)
    assert "raised IndexError" in messages["raised"]
    # walkthrough D14: a list or a string as the layout; D27: a misspelt key is named, not "add an entry"
    assert "it refuses a list" in messages["layout_type"]
    assert "it refuses a str" in message(q4, answers.Q4_MISTAKES["layout_type"][1])
    misspelt = message(q4, answers.Q4_MISTAKES["one_table"][1])
    assert "your key 'movies_embedding/embeddings' matches no variable" in misspelt and "add an entry" not in misspelt
    assert lesson05._LAYOUT_RESULTS == checked  # no other JAX child: the sharded step came from the shared one


# --------------------------------------------------------------------------- q5: collision_share


@pytest.mark.parametrize("name", sorted(answers.Q5_CORRECT))
def test_q5_accepts(name):
    assert status(q5, answers.Q5_CORRECT[name]) == "correct"


def test_q5_printed_solution_matches_the_library():
    share = solution_namespace(q5)["collision_share"]
    assert status(q5, share) == "correct"
    assert share(1659, 8000) == pytest.approx(distributed.expected_collision_share(1659, 8000))


def test_q5_catalogue():
    messages = check_catalogue(q5, answers.Q5_MISTAKES)
    assert "ZeroDivisionError" in messages["raised"]
    # walkthrough D16-D17: the pair count is not "the linear rule" (they meet at 3 ids, 4 bins); // and rounding named
    assert "colliding *pairs*" in messages["pairs"] and "linear" not in messages["pairs"]
    assert "(bins - 1) // bins are 0" in message(q5, answers.Q5_MISTAKES["integer_division"][1])
    assert "rounded to 4 decimals" in messages["rounded"]


def test_q5_fallback_cites_what_the_hint_says():
    """Walkthrough D15: the hint has no formula, so the last resort does not point to one."""
    text = message(q5, answers.Q5_FALLBACK["something else"][0])
    assert "formula in the hint" not in text and "1 - 1/bins" in text and "probability 1/bins" in q5.hint_text


@pytest.mark.parametrize("name", sorted(answers.Q5_FALLBACK))
def test_q5_other_formulas_say_what_differs(name):
    answer, phrase = answers.Q5_FALLBACK[name]
    result = q5.evaluate(answer)
    assert result.status == "incorrect" and result.mistake is None and phrase in result.message


# --------------------------------------------------------------------------- module structure


def test_distributed_never_imports_the_benchmark():
    tree = ast.parse(inspect.getsource(distributed))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 for alias in node.names}  # fmt: skip
    assert not any("benchmark" in name for name in imported), imported


def test_the_layout_map_uses_the_rating_models_layer_names():
    mesh = keras.distribution.DeviceMesh((1, 2), ("batch", "model"), ["cpu:0", "cpu:1"])
    layout = distributed.rating_layout_map(mesh)
    assert sorted(layout) == sorted(f"{name}/embeddings" for name in rec.EMBEDDING_TABLES)
    model = rec.build_rating_model(5, 5, global_mean=3.0)
    paths = {w.path for w in model.weights}
    assert all(key in paths for key in layout) and all(layout[key].axes == ("model", None) for key in layout)


# --------------------------------------------------------------------------- ports and processes

_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _children_before_the_test():
    """Children this test process already had (e.g. multiprocessing's resource tracker from other tests)."""
    global _BEFORE
    _BEFORE = set(distributed.child_processes())


def new_children() -> list[int]:
    """Child processes started during this test and still running."""
    return sorted(set(distributed.child_processes()) - _BEFORE)


def test_free_ports_are_distinct_and_free():
    ports = distributed.free_ports(3)
    assert len(set(ports)) == 3 and all(distributed.port_is_free(p) for p in ports)


def test_tf_config_names_the_task_and_rejects_bad_index():
    assert distributed.tf_config([5, 6], 0) == {"cluster": {"worker": ["127.0.0.1:5", "127.0.0.1:6"]},
                                                "task": {"type": "worker", "index": 0}}  # fmt: skip
    with pytest.raises(ValueError, match="index=2"):
        distributed.tf_config([5, 6], 2)


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (65, ValueError), (2.0, TypeError),
                                        (True, TypeError), ("2", TypeError)])  # fmt: skip
def test_counts_are_validated_with_the_argument_named(bad, error):
    with pytest.raises(error, match="n"):
        distributed.free_ports(bad)
    with pytest.raises(error, match="devices"):
        distributed.jax_env(bad)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_cluster_success_keeps_logs_and_leaves_no_process():
    with distributed.Cluster() as cluster:
        for i in range(2):
            cluster.start(f"w{i}", _python(f"print('LOSS 1 0.5'); print('CRASHED 12.5'); print('FAILED 13.25 "
                                           f"UnavailableError: Socket closed'); print('RESULT {{\"i\": {i}}}')"))
        workers = cluster.wait(timeout=60)
    assert [w.result() for w in workers] == [{"i": 0}, {"i": 1}]
    assert workers[0].losses() == {1: 0.5} and workers[0].crashed_at() == 12.5
    assert workers[0].failure() == (13.25, "UnavailableError: Socket closed")
    assert all(w.ended_at is not None for w in workers) and new_children() == []


def test_cluster_can_let_the_others_run_on_after_a_failure():
    """stop_on_failure=False: the wait lasts until every worker has ended, then reports the failure."""
    with pytest.raises(distributed.WorkerError, match="crasher exited with code 3") as failure:
        with distributed.Cluster() as cluster:
            cluster.start("crasher", _python("import sys; sys.exit(3)"))
            cluster.start("finisher", _python("import time; time.sleep(1); print('done')"))
            cluster.wait(timeout=60, stop_on_failure=False)
    crasher, finisher = failure.value.workers
    assert finisher.returncode == 0 and "done" in finisher.log() and finisher.ended_at > crasher.ended_at
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
        with distributed.Cluster(grace=0.5) as cluster:
            worker = cluster.start("stuck", _python(code))
            cluster.wait(timeout=1.5)
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
    workers = distributed.run_cluster(["worker", "--steps", 2, "--checkpoint-every", 2, "--checkpoint-dir", tmp_path,
                                       "--global-batch", 256], n_workers=2, timeout=300)  # fmt: skip
    results = [w.result() for w in workers]
    assert results[0]["losses"] == results[1]["losses"] and len(results[0]["losses"]) == 2
    assert [r["is_chief"] for r in results] == [True, False] and results[0]["replicas"] == 2
    assert len(picked) == 2 and all(distributed.port_is_free(p) for p in picked)
    assert new_children() == []
    assert (tmp_path / "checkpoint").exists() and not list(tmp_path.glob("worker1-tmp*"))


def test_custom_loop_on_one_device_uses_the_column_output_without_broadcasting():
    """The loop flattens the (batch, 1) predictions: its first loss is the MSE (plus penalty) of the batch."""
    config = distributed.LoopConfig(steps=1, global_batch=64)
    result = distributed.train_custom_loop(tf.distribute.get_strategy(), config)
    assert 0.5 < result["losses"][1] < 3.0  # a broadcast (64, 64) difference would give the ratings' variance + more
    assert result["replicas"] == 1


_TWO_REPLICAS_PER_WORKER = """
import json
import numpy as np
import tensorflow as tf
from course_lib import distributed

distributed.virtual_cpus(2)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice())
seen = {}
for skip in (0, 2):
    data = strategy.distribute_datasets_from_function(distributed._global_batch_slices((np.arange(100), -np.arange(100)), 8, skip=skip))
    seen[skip] = [[[t.numpy().tolist() for t in strategy.experimental_local_results(part)] for part in next(iter(data))]]
config = distributed.LoopConfig(steps=2, global_batch=128)
two = distributed.train_custom_loop(strategy, config)
one = distributed.train_custom_loop(tf.distribute.get_strategy(), config)
print("RESULT " + json.dumps({"seen": seen, "two": two, "one": one}))
"""


def test_custom_loop_with_two_replicas_on_one_worker_takes_one_devices_steps():
    """MirroredStrategy over 2 logical CPUs (one worker, two replicas): each step's replicas together see the
    whole global batch, in order, a resumed run skips whole global batches, and the loop's losses are one
    device's (step 2's loss shows step 1's update)."""
    done = subprocess.run([sys.executable, "-c", _TWO_REPLICAS_PER_WORKER], env={**os.environ, **distributed.CHILD_ENV},
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent)  # fmt: skip
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, f"the child printed no result (exit {done.returncode}):\n{done.stderr[-3000:]}"
    result = json.loads(line[len("RESULT "):])
    assert result["seen"]["0"] == [[[[0, 1, 2, 3], [4, 5, 6, 7]], [[0, -1, -2, -3], [-4, -5, -6, -7]]]]
    assert result["seen"]["2"][0][0] == [[16, 17, 18, 19], [20, 21, 22, 23]]  # global batch 3 after skipping 2
    assert result["two"]["replicas"] == 2 and list(result["two"]["losses"]) == ["1", "2"]
    assert np.allclose(list(result["two"]["losses"].values()), list(result["one"]["losses"].values()), rtol=1e-5)


# --------------------------------------------------------------------------- measurements


def test_expected_collision_share_limits():
    assert distributed.expected_collision_share(1, 10) == 0.0
    assert distributed.expected_collision_share(2, 2) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="bins"):
        distributed.expected_collision_share(5, 0)


def test_hashing_collisions_counts_shared_bins_and_salts_change_the_hash():
    ids = [f"id{i}" for i in range(200)]
    result = distributed.hashing_collisions(ids * 2, 50)
    assert result["ids"] == 200 and result["used_bins"] <= 50 and result["colliding_share"] > 0.9
    shares = {distributed.hashing_collisions(ids, 1000, salt=s)["colliding_share"] for s in range(1, 6)}
    assert len(shares) > 1  # other salts, other hash functions
    with pytest.raises(ValueError, match="empty"):
        distributed.hashing_collisions([], 10)
    with pytest.raises(ValueError, match="salt"):
        distributed.hashing_collisions(ids, 10, salt=-1)


@pytest.mark.parametrize("optimizer, moves_unused_rows", [("sgd", False), ("sgd_momentum", True), ("adagrad", False),
                                                          ("adam", True)])  # fmt: skip
def test_rows_changed_by_each_optimizer(optimizer, moves_unused_rows):
    moved = distributed.rows_changed_by_one_step(optimizer, rows=500, batch=16, warmup_steps=2)
    assert moved["changed"] == (moved["touched_so_far"] if moves_unused_rows else moved["looked_up"])
    assert moved["touched_so_far"] > moved["looked_up"]


def test_unknown_optimizer_and_lookup_are_refused():
    with pytest.raises(ValueError, match="optimizer"):
        distributed.rows_changed_by_one_step("rmsprop")
    with pytest.raises(ValueError, match="lookup"):
        distributed.step_time(100, lookup="dense")


@pytest.mark.parametrize("lookup", distributed.LOOKUPS)
def test_step_time_is_positive_and_validates(lookup):
    assert distributed.step_time(1000, batch=32, steps=2, lookup=lookup) > 0
    with pytest.raises(ValueError, match="rows"):
        distributed.step_time(0)


def test_handle_embedding_reads_rows_through_the_handle_with_the_same_numbers():
    layer = distributed.HandleEmbedding(20, 3)
    reference = keras.layers.Embedding(20, 3)
    reference.build((None,))
    layer.build((None,))
    layer.embeddings.assign(reference.embeddings.numpy())
    ids = tf.constant([[1, 19], [0, 7]])
    assert np.array_equal(layer(ids).numpy(), reference(ids).numpy())
    ops = {op.type for op in tf.function(lambda i: layer(i)).get_concrete_function(tf.TensorSpec([None], tf.int32)).graph.get_operations()}
    assert "ResourceGather" in ops and "ReadVariableOp" not in ops


def test_virtual_cpus_validates_before_touching_tensorflow():
    for bad, error in ((0, ValueError), (65, ValueError), (2.5, TypeError), ("4", TypeError)):
        with pytest.raises(error, match="logical CPUs"):
            distributed.virtual_cpus(bad)
