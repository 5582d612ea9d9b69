"""Exercises of lesson 05, *past one device and one machine*.

- ``q1``: which Keras 3 optimizers move rows the batch did not look up;
- ``q2``: ``collision_share(n_ids, bins)``: the expected share of ids that share a hash bin;
- ``q3``: how many rows the all-reduce of an embedding gradient carries under ``MirroredStrategy``;
- ``q4``: ``make_tf_config(hosts, index)``: the ``TF_CONFIG`` of one worker of a real cluster;
- ``q5`` (going deeper): which rows of a row-sharded table one device holds.

No check imports TensorFlow.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from course_lib.checks import Exercise, Mistake, call_learner, expect_int, show

_OPTIMIZERS = {"sgd", "adagrad", "adam"}


# --------------------------------------------------------------------------- q1


def _names(answer: Any) -> set[str]:
    if isinstance(answer, str):
        items = answer.replace(",", " ").split()
    else:
        try:
            items = list(answer)
        except TypeError:
            raise Mistake(f"give a set of optimizer names such as {{'sgd'}}, got {type(answer).__name__}") from None
    names = set()
    for item in items:
        if not isinstance(item, str):
            raise Mistake(f"the set holds a {type(item).__name__}, not an optimizer name: use the strings 'sgd', "
                          "'adagrad', 'adam'")
        name = item.strip().lower()
        if name not in _OPTIMIZERS:
            raise Mistake(f"{show(item)} is not one of 'sgd', 'adagrad', 'adam'")
        names.add(name)
    return names


def _check_optimizers(answer: Any) -> str:
    names = _names(answer)
    if "sgd" in names:
        raise Mistake("SGD's step is -learning_rate * gradient, and the gradient of an unused row is zero: "
                      "it only moves the rows looked up")  # fmt: skip
    if "adagrad" in names:
        raise Mistake("Adagrad divides the gradient by its accumulated squares; a zero gradient still gives a zero "
                      "step, and Keras applies its IndexedSlices update to the looked-up rows only")  # fmt: skip
    if not names:
        raise Mistake("one of them does move rows that were not looked up: look at the 'changed' counts again")
    return "Adam's moving averages keep pushing every row that was ever looked up, batch after batch."


q1 = Exercise(
    "q1",
    "optimizers that move rows the batch did not look up",
    _check_optimizers,
    hint="""
    Compare 'changed' with 'looked_up' in the table above. An optimizer whose step depends only on
    this batch's gradient cannot move a row the batch did not touch; one with momentum can.
    """,
    solution="""
    moving_unused_rows = {"adam"}   # its first and second moments decay, and move, every row ever touched
    """,
)


# --------------------------------------------------------------------------- q2


def _reference_share(n_ids: int, bins: int) -> float:
    return 1.0 - (1.0 - 1.0 / bins) ** (n_ids - 1)


_Q2_CASES = [(3, 4), (2, 2), (3, 2), (10, 100), (1659, 8000), (1659, 32000), (50_000, 1_000_000), (1, 10)]


def _check_collision_share(function: Any) -> str:
    for n_ids, bins in _Q2_CASES:
        got = call_learner(function, n_ids, bins)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Mistake(f"collision_share({n_ids}, {bins}) returned {show(got)}, not a number") from None
        want = _reference_share(n_ids, bins)
        if abs(got - want) <= 1e-6 + 1e-6 * want:
            continue
        if abs(got - (1.0 - (1.0 - 1.0 / bins) ** n_ids)) < 1e-9:
            raise Mistake(f"collision_share({n_ids}, {bins}) = {got:.4f} counts the id itself among the others: "
                          "an id collides with one of the n_ids - 1 *other* ids")  # fmt: skip
        if n_ids > 1 and abs(got - (1.0 - (1.0 - 1.0 / bins) ** (n_ids - 1)) * n_ids) < 1e-6:
            raise Mistake("that is an expected *count* of colliding ids; the exercise asks for the share (divide by n_ids)")
        if abs(got - min(1.0, n_ids / bins)) < 1e-9 or abs(got - (n_ids - 1) / bins) < 1e-9:
            raise Mistake(f"collision_share({n_ids}, {bins}) = {got:.4f} is the linear rule of thumb; it holds only when "
                          "bins >> n_ids and passes 1 otherwise. Use the probability that all others miss the bin")  # fmt: skip
        raise Mistake(f"collision_share({n_ids}, {bins}) returned {got:.6f}, expected {want:.6f}")
    return "1 - (1 - 1/bins)^(n - 1): the measured shares above follow it."


q2 = Exercise(
    "q2",
    "collision_share(n_ids, bins) for a uniform hash",
    _check_collision_share,
    hint="""
    Take one id. Each of the other n_ids - 1 ids lands in its bin with probability 1/bins, independently.
    What is the probability that none of them does? The share of colliding ids is one minus that.
    """,
    solution="""
    def collision_share(n_ids, bins):
        return 1 - (1 - 1 / bins) ** (n_ids - 1)
    """,
)


# --------------------------------------------------------------------------- q3

#: The set-up of q3: replicas and ids looked up per replica.
Q3_REPLICAS, Q3_PER_REPLICA = 4, 512


def _check_all_reduce_rows(answer: Any) -> str:
    rows = expect_int(answer, "rows")
    if rows == Q3_REPLICAS * Q3_PER_REPLICA:
        return ("The all-reduce of IndexedSlices concatenates every replica's (index, row) pairs; "
                "duplicates are summed only when the optimizer applies them.")  # fmt: skip
    if rows == Q3_PER_REPLICA:
        raise Mistake("that would be a sum of four equal-shaped dense tensors; IndexedSlices from different replicas "
                      "hold different ids, so they cannot be added row by row")  # fmt: skip
    if Q3_PER_REPLICA < rows < Q3_REPLICAS * Q3_PER_REPLICA:
        raise Mistake("the all-reduce does not look for repeated ids: nothing is de-duplicated on the way")
    if rows > 10_000:
        raise Mistake("the all-reduce would then carry the whole table; on CPU devices the gradient stays IndexedSlices")
    raise Mistake(f"{rows} rows: count the (index, row) pairs each replica sends")


q3 = Exercise(
    "q3",
    "rows in an all-reduced embedding gradient",
    _check_all_reduce_rows,
    hint="""
    Look at the shapes printed by the all-reduce cell: each replica's IndexedSlices has one row per id it
    looked up, and the reduced one has ... ?
    """,
    solution="""
    all_reduced_rows = 4 * 512   # every replica's rows, concatenated (2048), duplicates included
    """,
)


# --------------------------------------------------------------------------- q4

_Q4_HOSTS = ["node-a.example.org:2222", "node-b.example.org:2222", "node-c.example.org:2222"]


def _as_dict(value: Any, what: str) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise Mistake(f"{what} is a string but not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise Mistake(f"{what} must be a dict (or its JSON string), got {type(value).__name__}")
    return value


def _check_tf_config(function: Any) -> str:
    for index in (1, 0, 2):
        config = _as_dict(call_learner(function, list(_Q4_HOSTS), index), f"make_tf_config(hosts, {index})")
        if "cluster" not in config or "task" not in config:
            raise Mistake(f"TF_CONFIG has two keys, 'cluster' and 'task'; got {sorted(config)}")
        cluster, task = config["cluster"], config["task"]
        if not isinstance(cluster, dict) or list(cluster) != ["worker"]:
            raise Mistake(f"'cluster' should map the job name 'worker' to the list of addresses, got {cluster!r}")
        if list(cluster["worker"]) != _Q4_HOSTS:
            raise Mistake("'cluster' must list every worker's address, the same list (same order) on every worker")
        if not isinstance(task, dict) or task.get("type") != "worker":
            raise Mistake(f"'task' should say {{'type': 'worker', 'index': ...}}, got {task!r}")
        if isinstance(task.get("index"), str) or isinstance(task.get("index"), bool):
            raise Mistake("the task index must be an int, not a string")
        if task.get("index") != index:
            raise Mistake(f"for index={index} the task index was {task.get('index')!r}: "
                          "each worker names its own position in the list")  # fmt: skip
    return "Only 'task.index' differs between workers; worker 0 is the chief."


q4 = Exercise(
    "q4",
    "make_tf_config(hosts, index) for a real cluster",
    _check_tf_config,
    hint="""
    Print distributed.tf_config([12345, 12346], 1) again: the cluster part lists every address, the
    task part says which of them this process is.
    """,
    solution="""
    def make_tf_config(hosts, index):
        return {"cluster": {"worker": list(hosts)}, "task": {"type": "worker", "index": index}}
    """,
)


# --------------------------------------------------------------------------- q5

#: The set-up of q5: a (rows, dim) table split row-wise over this many devices; the device asked about.
Q5_ROWS, Q5_DEVICES, Q5_DEVICE = 1_688, 8, 3


def _check_shard_rows(answer: Any) -> str:
    if isinstance(answer, range):
        answer = (answer.start, answer.stop)
    try:
        pair = tuple(int(v) for v in np.asarray(answer).reshape(-1))
    except (TypeError, ValueError):
        raise Mistake(f"give (first_row, end_row) as two ints, got {show(answer)}") from None
    if len(pair) != 2:
        raise Mistake(f"give two numbers, the first row and the end (one past the last row); got {len(pair)}")
    per_device = Q5_ROWS // Q5_DEVICES
    want = (Q5_DEVICE * per_device, (Q5_DEVICE + 1) * per_device)
    if pair == want:
        return f"Rows {want[0]} to {want[1] - 1}: {per_device} rows, one eighth of the table."
    if pair == (want[0], want[1] - 1):
        raise Mistake("the end is exclusive here, as in Python slices and in the shard index printed above")
    if pair == (want[0] + per_device, want[1] + per_device) or pair == (want[0] - per_device, want[1] - per_device):
        raise Mistake("devices are numbered from 0: device 3 is the fourth block of rows")
    raise Mistake(f"{pair} is not device {Q5_DEVICE}'s block: the {Q5_ROWS} rows are cut into {Q5_DEVICES} equal blocks in order")


q5 = Exercise(
    "q5",
    "the rows device 3 holds",
    _check_shard_rows,
    hint="""
    ("model", None) splits axis 0 (rows) into as many equal, consecutive blocks as the mesh's
    "model" axis has devices; the columns stay whole.
    """,
    solution="""
    shard_rows = (3 * 1688 // 8, 4 * 1688 // 8)   # (633, 844): rows 633..843
    """,
)
