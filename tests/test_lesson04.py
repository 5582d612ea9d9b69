"""The self-checks of lesson 04 accept right answers in every form and reject the usual mistakes.

Per exercise: the printed solution, at least two other correct answers, and at least eight
realistic wrong answers, each with the words its message must contain (so a misdiagnosis fails).
Each exercise's catalogue is tested with :func:`exercise_helpers.check_catalogue` (end of the
file): every catalogued mistake, made by a realistic wrong answer, is named by its own detector
and no other.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.checks import ____
from course_lib.exercises.lesson04 import q1, q2, q3, q4, q5, q6
from exercise_helpers import check_catalogue, message, solution_namespace, status

ops = keras.ops


def solution_of(exercise, name):
    return solution_namespace(exercise, np=np, keras=keras)[name]


def test_printed_solutions_are_accepted():
    for exercise, name in ((q1, "rmse_by_hand"), (q2, "row_dot"), (q3, "recall_at_k"), (q4, "in_batch_softmax"),
                           (q5, "correct_logits"), (q6, "most_similar")):  # fmt: skip
        assert status(exercise, solution_of(exercise, name)) == "correct", exercise


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4, q5, q6])
def test_not_attempted(exercise):
    def stub(*args):
        ...  # YOUR CODE HERE

    assert status(exercise, stub) == "not attempted"
    assert status(exercise, ...) == "not attempted"
    assert status(exercise, ____) == "not attempted"


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4, q5, q6])
def test_forgotten_return_and_learner_errors_are_reported(exercise):
    def no_return(*args):
        args[0]

    def broken(*args):
        raise ZeroDivisionError("oops")

    assert "return" in message(exercise, no_return)
    assert "ZeroDivisionError: oops" in message(exercise, broken)


def test_hints_and_solutions_print(capsys):
    for exercise in (q1, q2, q3, q4, q5, q6):
        exercise.hint()
        exercise.solution()
    printed = capsys.readouterr().out
    assert printed.count("Hint for") == 6 and printed.count("Solution for") == 6


def test_messages_read_well():
    """No TensorFlow internals, no double punctuation, in any message of the wrong answers below."""
    answers = [(q1, w) for w, _ in Q1_WRONG] + [(q2, w) for w, _ in Q2_WRONG] + [(q3, w) for w, _ in Q3_WRONG] + \
              [(q4, w) for w, _ in Q4_WRONG] + [(q5, w) for w, _ in Q5_WRONG] + [(q6, w) for w, _ in Q6_WRONG]  # fmt: skip
    for exercise, answer in answers:
        text = message(exercise, answer)
        assert "{{function_node" not in text and "Exception encountered" not in text, text
        assert ".." not in text.replace("...", "") and ".;" not in text and ",." not in text, text


# --------------------------------------------------------------------------- q1: RMSE by hand


def _flat(t, p):
    return np.ravel(t).astype("float64"), np.ravel(p).astype("float64")


def q1_in_place(t, p):
    p -= t  # changes the caller's predictions
    return float(np.sqrt(np.mean(np.ravel(p) ** 2)))


Q1_CORRECT = [
    lambda t, p: np.sqrt(np.mean((np.ravel(t) - np.ravel(p)) ** 2)),  # a NumPy float, float32 arithmetic
    lambda t, p: ops.sqrt(ops.mean(ops.square(ops.ravel(t) - ops.ravel(p)))),  # a 0-d tensor
    lambda t, p: np.linalg.norm(np.subtract(*_flat(t, p))) / np.sqrt(np.size(t)),
    lambda t, p: np.array([np.sqrt(((np.subtract(*_flat(t, p))) ** 2).mean())]),  # one-element array
    lambda t, p: float(keras.metrics.RootMeanSquaredError()(np.ravel(t), np.ravel(p))),
]

Q1_WRONG = [
    (lambda t, p: np.mean(np.subtract(*_flat(t, p)) ** 2), "square root"),
    (lambda t, p: np.mean(np.abs(np.subtract(*_flat(t, p)))), "absolute"),
    (lambda t, p: np.sqrt(np.sum(np.subtract(*_flat(t, p)) ** 2)), "divide by the number"),
    (lambda t, p: np.sqrt(np.mean((t - p) ** 2)), "(n, n) matrix"),  # no flattening
    (lambda t, p: np.mean(np.subtract(*_flat(t, p))), "cancel"),
    (lambda t, p: np.subtract(*_flat(t, p)) ** 2, "one number"),
    (lambda t, p: np.std(np.subtract(*_flat(t, p))), "standard deviation"),
    (lambda t, p: np.sqrt(np.mean((_flat(t, p)[0] - np.clip(_flat(t, p)[1], 1, 5)) ** 2)), "clipped"),
    (lambda t, p: np.sqrt(np.sum(np.subtract(*_flat(t, p)) ** 2) / (np.size(t) - 1)), "n - 1"),
    (q1_in_place, "in place"),
    (lambda t, p: round(float(np.sqrt(np.mean(np.subtract(*_flat(t, p)) ** 2))), 2), "round"),
    (lambda t, p: np.sqrt(np.mean(np.subtract(*_flat(t, p)) ** 2)) if np.size(t) > 1 else 0.0, "one rating"),
]


@pytest.mark.parametrize("answer", Q1_CORRECT)
def test_q1_accepts_other_correct_answers(answer):
    assert status(q1, answer) == "correct"


def test_q1_accepts_course_lib():
    from course_lib.recommender import rmse

    assert status(q1, rmse) == "correct"


@pytest.mark.parametrize("wrong, words", Q1_WRONG)
def test_q1_rejects_typical_mistakes(wrong, words):
    assert words in message(q1, wrong)


def test_q1_message_names_the_case():
    text = message(q1, lambda t, p: np.mean(np.subtract(*_flat(t, p)) ** 2))
    assert "prompt's example" in text and "0.5625" in text and "0.7500" in text


# --------------------------------------------------------------------------- q2: per-row dot product


Q2_CORRECT = [
    lambda u, m: ops.einsum("bd,bd->b", u, m),
    lambda u, m: ops.diagonal(ops.matmul(u, ops.transpose(m))),  # wasteful but right
    lambda u, m: ops.squeeze(ops.sum(ops.multiply(u, m), axis=1, keepdims=True), axis=-1),
    lambda u, m: tf.reduce_sum(u * m, axis=-1),
]

Q2_WRONG = [
    (lambda u, m: ops.tensordot(u, m, 2), "tensordot"),  # the keras.io bug
    (lambda u, m: ops.sum(u * m, axis=0), "axis 0"),
    (lambda u, m: ops.matmul(u, ops.transpose(m)), "every user with every movie"),
    (lambda u, m: u * m, "add up"),
    (lambda u, m: ops.sum(u + m, axis=-1), "added the two vectors"),
    (lambda u, m: ops.mean(u * m, axis=-1), "mean"),
    (lambda u, m: ops.sum(u * m, axis=-1, keepdims=True), "keepdims"),
    (lambda u, m: keras.layers.Dot(axes=1)([u, m]), "keepdims"),
    (lambda u, m: np.einsum("bd,bd->b", u, m), "keras.ops"),  # NumPy: fails on symbolic tensors in fit
    (lambda u, m: ops.sum(u * m, axis=-1) / (ops.norm(u, axis=-1) * ops.norm(m, axis=-1)), "cosine"),
    (lambda u, m: ops.sum(u * m, axis=-1) + 0.01 * ops.sum(u * m), "row i uses u[i] and m[i] only"),  # mixes the batch
    (lambda u, m: ops.sum(u * ops.flip(m, axis=0), axis=-1), "another row's movie"),  # pairs the wrong rows
]


@pytest.mark.parametrize("answer", Q2_CORRECT)
def test_q2_accepts_other_correct_answers(answer):
    assert status(q2, answer) == "correct"


def test_q2_accepts_course_lib_layer():
    from course_lib.recommender import RowDot

    assert status(q2, lambda u, m: RowDot()([u, m])) == "correct"


@pytest.mark.parametrize("wrong, words", Q2_WRONG)
def test_q2_rejects_typical_mistakes(wrong, words):
    assert words in message(q2, wrong)


# --------------------------------------------------------------------------- q3: Recall@k with exclusions


def recall_filtering(scores, exclude, relevant, k=10):
    candidates = np.flatnonzero(~np.asarray(exclude))
    best = candidates[np.argsort(-np.asarray(scores)[candidates], kind="stable")[:k]]
    return len(set(best.tolist()) & set(np.asarray(relevant).tolist())) / len(relevant)


def recall_argpartition(scores, exclude, relevant, k=10):
    masked = np.where(exclude, -np.inf, scores)
    k_eff = min(k, len(masked))
    top = np.argpartition(-masked, k_eff - 1)[:k_eff]  # the k best, in no order: recall does not care
    return np.isin(top, relevant).mean() * k_eff / len(relevant)


def recall_course_lib(scores, exclude, relevant, k=10):
    from course_lib.recommender import top_n

    k = min(k, int((~np.asarray(exclude)).sum()))  # top_n refuses to return excluded ids
    return float(np.isin(top_n(scores, exclude, k=k, exclude_padding=False), relevant).sum()) / len(relevant)


def recall_in_place(scores, exclude, relevant, k=10):
    scores[exclude] = -np.inf  # writes into the caller's scores
    return np.isin(np.argsort(-scores)[:k], relevant).sum() / len(relevant)


def recall_zero_mask(scores, exclude, relevant, k=10):
    masked = np.where(exclude, 0.0, scores)
    return np.isin(np.argsort(-masked)[:k], relevant).sum() / len(relevant)


def recall_no_exclusion(scores, exclude, relevant, k=10):
    return np.isin(np.argsort(-np.asarray(scores))[:k], relevant).sum() / len(relevant)


def recall_truncated(scores, exclude, relevant, k=10):
    masked = np.where(exclude, -np.inf, scores)
    return np.isin(np.argsort(-masked)[:k], relevant).sum() / min(k, len(relevant))


def recall_precision(scores, exclude, relevant, k=10):
    masked = np.where(exclude, -np.inf, scores)
    return np.isin(np.argsort(-masked)[:k], relevant).sum() / k


def recall_first_candidates(scores, exclude, relevant, k=10):
    masked = np.where(exclude, -np.inf, scores)[:1000]  # "the first 1,000 are enough"
    return np.isin(np.argsort(-masked)[:k], relevant).sum() / len(relevant)


def recall_hits(scores, exclude, relevant, k=10):
    masked = np.where(exclude, -np.inf, scores)
    return int(np.isin(np.argsort(-masked)[:k], relevant).sum())


def recall_ascending(scores, exclude, relevant, k=10):
    masked = np.where(exclude, np.inf, scores)
    return np.isin(np.argsort(masked)[:k], relevant).sum() / len(relevant)


def recall_k_plus_one(scores, exclude, relevant, k=10):
    masked = np.where(exclude, -np.inf, scores)
    return np.isin(np.argsort(-masked)[:k + 1], relevant).sum() / len(relevant)


def recall_inverted_mask(scores, exclude, relevant, k=10):
    masked = np.where(exclude, scores, -np.inf)
    return np.isin(np.argsort(-masked)[:k], relevant).sum() / len(relevant)


def recall_very_negative(scores, exclude, relevant, k=10):
    masked = np.where(exclude, -1.0, scores)  # "scores are never below -1"
    return np.isin(np.argsort(-masked)[:k], relevant).sum() / len(relevant)


def recall_sorts_in_place(scores, exclude, relevant, k=10):
    relevant.sort()  # sorts the caller's array
    masked = np.where(exclude, -np.inf, scores)
    return np.isin(np.argsort(-masked)[:k], relevant).sum() / len(relevant)


Q3_CORRECT = [recall_filtering, recall_argpartition, recall_course_lib]

Q3_WRONG = [
    (recall_in_place, "in place"),
    (recall_zero_mask, "every score is negative"),
    (recall_very_negative, "-np.inf"),
    (recall_no_exclusion, "must be left out before you keep the k best"),
    (recall_truncated, "truncated"),
    (recall_precision, "precision"),
    (recall_first_candidates, "only the first movies"),
    (recall_hits, "number of hits"),
    (recall_ascending, "lowest"),
    (recall_k_plus_one, "k + 1"),
    (recall_inverted_mask, "only the excluded"),
    (recall_sorts_in_place, "in place"),
]


@pytest.mark.parametrize("answer", Q3_CORRECT)
def test_q3_accepts_other_correct_answers(answer):
    assert status(q3, answer) == "correct"


@pytest.mark.parametrize("wrong, words", Q3_WRONG)
def test_q3_rejects_typical_mistakes(wrong, words):
    assert words in message(q3, wrong)


def test_q3_never_changes_the_callers_arrays():
    scores = np.array([9.0, 0.5, 3.0, 0.1, 3.5, 4.0, 1.0, 0.2])
    exclude = np.array([True, False, True, False, False, True, False, False])
    solution = solution_of(q3, "recall_at_k")
    before = scores.copy()
    assert np.isclose(solution(scores, exclude, np.array([4, 6, 7]), 3), 2 / 3)
    assert np.array_equal(scores, before)


# --------------------------------------------------------------------------- q4: in-batch softmax loss


def loss_logsumexp(logits):
    return ops.logsumexp(logits, axis=1) - ops.diagonal(logits)


def loss_log_softmax(logits):
    return -ops.diagonal(ops.log_softmax(logits, axis=1))


def loss_tf(logits):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.range(tf.shape(logits)[0]), logits=logits)


def loss_one_hot(logits):
    with warnings.catch_warnings():  # the check also tries a batch of one, which Keras warns about
        warnings.filterwarnings("ignore", message="In loss categorical_crossentropy")
        return keras.losses.categorical_crossentropy(ops.eye(ops.shape(logits)[0]), logits, from_logits=True)


def loss_mean(logits):
    return ops.mean(loss_logsumexp(logits))


def loss_columns(logits):
    return ops.logsumexp(logits, axis=0) - ops.diagonal(logits)


def loss_positive_only(logits):
    return -ops.diagonal(logits)


def loss_naive(logits):
    return ops.log(ops.sum(ops.exp(logits), axis=1)) - ops.diagonal(logits)


def loss_softmax_eps(logits):
    return -ops.log(ops.diagonal(ops.softmax(logits, axis=1)) + 1e-7)


def loss_not_from_logits(logits):
    labels = ops.arange(ops.shape(logits)[0])
    return keras.losses.sparse_categorical_crossentropy(labels, logits)  # treats scores as probabilities


def loss_exclusive(logits):
    batch = ops.shape(logits)[0]
    off = ops.where(ops.eye(batch) > 0, -1e9, logits)
    return ops.logsumexp(off, axis=1) - ops.diagonal(logits)


def loss_column_zero(logits):
    labels = ops.zeros((ops.shape(logits)[0],), "int32")
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def loss_sigmoid(logits):
    diagonal = ops.diagonal(logits)
    return keras.losses.binary_crossentropy(ops.ones_like(diagonal)[:, None], diagonal[:, None], from_logits=True)


def loss_numpy(logits):
    x = np.asarray(logits, dtype="float64")
    top = x.max(axis=1, keepdims=True)
    return (top[:, 0] + np.log(np.exp(x - top).sum(axis=1))) - np.diag(x)


def loss_numpy_method(logits):
    x = logits.numpy()
    return np.log(np.exp(x - x.max(1, keepdims=True)).sum(1)) + x.max(1) - np.diag(x)


Q4_CORRECT = [loss_logsumexp, loss_log_softmax, loss_tf, loss_one_hot]

Q4_WRONG = [
    (loss_mean, "one number"),
    (loss_columns, "wrong axis"),
    (loss_positive_only, "positive's score only"),
    (loss_naive, "overflows"),
    (loss_softmax_eps, "log-softmax"),
    (loss_not_from_logits, "from_logits=True"),
    (loss_exclusive, "leaves the positive out"),
    (loss_column_zero, "column 0"),
    (loss_sigmoid, "sigmoid"),
    (loss_numpy, "keras.ops"),
    (loss_numpy_method, "keras.ops"),
    (lambda logits: ops.sum(loss_logsumexp(logits)), "one number"),
]


@pytest.mark.parametrize("answer", Q4_CORRECT)
def test_q4_accepts_other_correct_answers(answer):
    assert status(q4, answer) == "correct"


def test_q4_accepts_course_lib():
    from course_lib.retrieval import retrieval_loss

    result = q4.evaluate(retrieval_loss)
    assert result.status == "correct", result.message


@pytest.mark.parametrize("wrong, words", Q4_WRONG)
def test_q4_rejects_typical_mistakes(wrong, words):
    assert words in message(q4, wrong)


def test_q4_solution_trains_a_two_tower_step():
    """The reference loss, used as a Keras loss in fit, lowers the loss on a tiny in-batch task."""
    solution = solution_of(q4, "in_batch_softmax")
    users, movies = keras.Input((), dtype="int32"), keras.Input((), dtype="int32")
    u = keras.layers.Embedding(8, 4, embeddings_initializer=keras.initializers.RandomNormal(seed=1))(users)
    m = keras.layers.Embedding(8, 4, embeddings_initializer=keras.initializers.RandomNormal(seed=2))(movies)
    model = keras.Model([users, movies], ops.matmul(u, ops.transpose(m)))
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=lambda y, logits: solution(logits))
    ids = np.arange(8, dtype="int32")
    history = model.fit([ids, ids], np.zeros(8), batch_size=8, epochs=20, verbose=0, shuffle=False).history
    assert history["loss"][-1] < history["loss"][0] - 0.5


# --------------------------------------------------------------------------- q5: logQ and accidental hits


def _copies(logits, ids):
    same = ops.equal(ids[:, None], ids[None, :])
    return ops.logical_and(same, ops.logical_not(ops.eye(ops.shape(logits)[0]) > 0))


def logits_tfrs(logits, ids, log_q):  # TFRS's RemoveAccidentalHits: add a huge negative number
    return logits - log_q[None, :] + ops.cast(_copies(logits, ids), logits.dtype) * (np.finfo("float32").min / 100)


def logits_tf(logits, ids, log_q):
    same = tf.equal(tf.expand_dims(ids, 1), tf.expand_dims(ids, 0))
    copies = tf.logical_and(same, tf.logical_not(tf.cast(tf.eye(tf.shape(logits)[0]), tf.bool)))
    return tf.where(copies, tf.constant(-np.inf, logits.dtype), logits - log_q)


def logits_course_lib(logits, ids, log_q):
    from course_lib.retrieval import logq_correction, mask_accidental_hits

    return mask_accidental_hits(logq_correction(logits, log_q), ids)


def logits_minus_1e9(logits, ids, log_q):  # a fill far below any score a model produces
    return ops.where(_copies(logits, ids), -1e9, logits - log_q[None, :])


def logits_rows(logits, ids, log_q):
    return ops.where(_copies(logits, ids), -np.inf, logits - log_q[:, None])


def logits_added(logits, ids, log_q):
    return ops.where(_copies(logits, ids), -np.inf, logits + log_q[None, :])


def logits_no_logq(logits, ids, log_q):
    return ops.where(_copies(logits, ids), -np.inf, logits)


def logits_no_mask(logits, ids, log_q):
    return logits - log_q[None, :]


def logits_diagonal_too(logits, ids, log_q):
    return ops.where(ops.equal(ids[:, None], ids[None, :]), -np.inf, logits - log_q[None, :])


def logits_inverted(logits, ids, log_q):
    return ops.where(ops.not_equal(ids[:, None], ids[None, :]), -np.inf, logits - log_q[None, :])


def logits_upper_only(logits, ids, log_q):
    upper = ops.triu(ops.ones_like(logits), 1) > 0
    return ops.where(ops.logical_and(_copies(logits, ids), upper), -np.inf, logits - log_q[None, :])


def logits_zero_fill(logits, ids, log_q):  # multiplies by the mask instead of excluding
    keep = 1.0 - ops.cast(_copies(logits, ids), logits.dtype)
    return (logits - log_q[None, :]) * keep


def logits_small_fill(logits, ids, log_q):
    return ops.where(_copies(logits, ids), -100.0, logits - log_q[None, :])


def logits_log_again(logits, ids, log_q):
    return ops.where(_copies(logits, ids), -np.inf, logits - ops.log(log_q)[None, :])


def logits_q_itself(logits, ids, log_q):
    return ops.where(_copies(logits, ids), -np.inf, logits - ops.exp(log_q)[None, :])


def logits_loss(logits, ids, log_q):
    corrected = ops.where(_copies(logits, ids), -np.inf, logits - log_q[None, :])
    return keras.losses.sparse_categorical_crossentropy(ops.arange(ops.shape(logits)[0]), corrected, from_logits=True)


def logits_fixed_batch(logits, ids, log_q):
    copies = ops.logical_and(ops.equal(ids[:, None], ids[None, :]), ops.logical_not(ops.eye(32) > 0))
    return ops.where(copies, -np.inf, logits - log_q[None, :])


def logits_python_loop(logits, ids, log_q):  # works while the batch size is known, fails on fit's last batch
    rows = []
    for i in range(logits.shape[0]):
        other = ops.logical_and(ops.equal(ids, ids[i]), ops.not_equal(ops.arange(logits.shape[0]), i))
        rows.append(ops.where(other, -np.inf, logits[i] - log_q))
    return ops.stack(rows)


def logits_numpy(logits, ids, log_q):
    ids = np.asarray(ids)
    copies = (ids[:, None] == ids[None, :]) & ~np.eye(len(ids), dtype=bool)
    return np.where(copies, -np.inf, np.asarray(logits) - np.asarray(log_q)[None, :])


def logits_item_assignment(logits, ids, log_q):
    corrected = logits - log_q[None, :]
    for i in range(len(ids)):
        for j in range(len(ids)):
            if i != j and ids[i] == ids[j]:
                corrected[i, j] = -np.inf
    return corrected


Q5_CORRECT = [logits_tfrs, logits_tf, logits_course_lib, logits_minus_1e9]

Q5_WRONG = [
    (logits_rows, "from each row"),
    (logits_added, "you added log_q"),
    (logits_no_logq, "logQ correction is missing"),
    (logits_no_mask, "no accidental hit is masked"),
    (logits_diagonal_too, "masked the diagonal too"),
    (logits_inverted, "movies that differ"),
    (logits_upper_only, "only the copies to the right"),
    (logits_zero_fill, "got 0"),
    (logits_small_fill, "got the value -100"),
    (logits_log_again, "already the log"),
    (logits_q_itself, "subtracted q itself"),
    (logits_loss, "a loss?"),
    (logits_fixed_batch, "fixed batch size"),
    (logits_python_loop, "last batch is smaller"),
    (logits_numpy, "inside model.fit"),
    (logits_item_assignment, "assigned into a tensor"),
]


@pytest.mark.parametrize("answer", Q5_CORRECT)
def test_q5_accepts_other_correct_answers(answer):
    assert status(q5, answer) == "correct"


@pytest.mark.parametrize("wrong, words", Q5_WRONG)
def test_q5_rejects_typical_mistakes(wrong, words):
    assert words in message(q5, wrong)


def test_q5_hint_leads_to_an_accepted_answer():
    """The hint's own steps, written out as a learner would."""

    def from_the_hint(logits, movie_ids, log_q):
        corrected = logits - log_q[None, :]
        copies = keras.ops.equal(movie_ids[:, None], movie_ids[None, :])
        mask = keras.ops.logical_and(copies, keras.ops.logical_not(keras.ops.eye(keras.ops.shape(logits)[0]) > 0))
        return keras.ops.where(mask, -np.inf, corrected)

    assert status(q5, from_the_hint) == "correct"


def test_q5_runs_the_answer_in_a_real_fit_with_a_partial_last_batch():
    from course_lib.exercises import lesson04

    seen = []

    def recording(logits, ids, log_q):
        seen.append(logits.shape[0])
        return logits_course_lib(logits, ids, log_q)

    lesson04.fit_with_a_partial_last_batch(recording, logits_course_lib, "recording", pairs=70, batch=32)
    assert None in seen  # 70 pairs in batches of 32: Keras traces with an unknown batch size (newer Keras: after 32s)


# --------------------------------------------------------------------------- q6: cosine neighbours


def neighbours_course_lib(vectors, movie_id, k=10):
    from course_lib.vectors import nearest_neighbours

    return nearest_neighbours(vectors, vectors[movie_id], k, exclude=[movie_id])[0]


def neighbours_keras(vectors, movie_id, k=10):
    unit = ops.normalize(ops.convert_to_tensor(vectors, "float64"), axis=1)
    cosine = ops.convert_to_numpy(ops.matmul(unit, unit[movie_id]))
    cosine[movie_id] = -np.inf
    return np.argsort(-cosine, kind="stable")[:k].tolist()


def neighbours_in_place(vectors, movie_id, k=10):
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = vectors @ vectors[movie_id]
    cosine[movie_id] = -np.inf
    return np.argsort(-cosine)[:k]


def neighbours_dot(vectors, movie_id, k=10):
    scores = vectors @ vectors[movie_id]
    scores[movie_id] = -np.inf
    return np.argsort(-scores)[:k]


def neighbours_with_itself(vectors, movie_id, k=10):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.argsort(-(unit @ unit[movie_id]))[:k]


def neighbours_columns(vectors, movie_id, k=10):
    unit = vectors / np.linalg.norm(vectors, axis=0, keepdims=True)
    scores = unit @ unit[movie_id]
    scores[movie_id] = -np.inf
    return np.argsort(-scores)[:k]


def neighbours_least(vectors, movie_id, k=10):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ unit[movie_id]
    scores[movie_id] = np.inf
    return np.argsort(scores)[:k]


def neighbours_skip_first(vectors, movie_id, k=10):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.argsort(-(unit @ unit[movie_id]), kind="stable")[1:k + 1]


def neighbours_euclidean(vectors, movie_id, k=10):
    distance = np.linalg.norm(vectors - vectors[movie_id], axis=1)
    distance[movie_id] = np.inf
    return np.argsort(distance)[:k]


def neighbours_first_candidates(vectors, movie_id, k=10):
    unit = vectors[:500] / np.linalg.norm(vectors[:500], axis=1, keepdims=True)
    scores = unit @ (vectors[movie_id] / np.linalg.norm(vectors[movie_id]))
    if movie_id < 500:
        scores[movie_id] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]


def neighbours_fixed_k(vectors, movie_id, k=10):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ unit[movie_id]
    scores[movie_id] = -np.inf
    return np.argsort(-scores)[:10]


def neighbours_scores(vectors, movie_id, k=10):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ unit[movie_id]
    scores[movie_id] = -np.inf
    return np.sort(scores)[::-1][:k]


Q6_CORRECT = [neighbours_course_lib, neighbours_keras]

Q6_WRONG = [
    (neighbours_in_place, "in place"),
    (neighbours_dot, "raw dot product"),
    (neighbours_with_itself, "its own neighbour"),
    (neighbours_columns, "axis=0"),
    (neighbours_least, "least similar"),
    (neighbours_skip_first, "remove the movie by its id"),
    (neighbours_euclidean, "Euclidean"),
    (neighbours_first_candidates, "first 500"),
    (neighbours_fixed_k, "k=4"),
    (neighbours_scores, "not the scores"),
]


@pytest.mark.parametrize("answer", Q6_CORRECT)
def test_q6_accepts_other_correct_answers(answer):
    assert status(q6, answer) == "correct"


@pytest.mark.parametrize("wrong, words", Q6_WRONG)
def test_q6_rejects_typical_mistakes(wrong, words):
    assert words in message(q6, wrong)


def test_each_exercise_has_enough_answers_in_these_tests():
    correct = {"q1": Q1_CORRECT, "q2": Q2_CORRECT, "q3": Q3_CORRECT, "q4": Q4_CORRECT, "q5": Q5_CORRECT,
               "q6": Q6_CORRECT}
    wrong = {"q1": Q1_WRONG, "q2": Q2_WRONG, "q3": Q3_WRONG, "q4": Q4_WRONG, "q5": Q5_WRONG, "q6": Q6_WRONG}
    assert all(len(answers) >= 2 for answers in correct.values())
    assert all(len(answers) >= 8 for answers in wrong.values())


def test_every_hint_leads_to_an_accepted_answer():
    """Each hint's steps, written the plain way a learner following it would (default sorts, no extras)."""

    def q1_hint(y_true, y_pred):
        return np.sqrt(np.mean((np.ravel(y_true) - np.ravel(y_pred)) ** 2))

    def q2_hint(u, m):
        return keras.ops.sum(u * m, axis=-1)

    def q3_hint(scores, exclude, relevant, k=10):
        masked = np.array(scores, dtype=float)
        masked[exclude] = -np.inf
        top = np.argsort(-masked)[:k]
        return np.isin(top, relevant).sum() / len(relevant)

    def q4_hint(logits):
        return keras.ops.logsumexp(logits, axis=1) - keras.ops.diagonal(logits)

    def q6_hint(vectors, movie_id, k=10):
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        cosine = unit @ unit[movie_id]
        cosine[movie_id] = -np.inf
        return np.argsort(-cosine)[:k]

    for exercise, answer in ((q1, q1_hint), (q2, q2_hint), (q3, q3_hint), (q4, q4_hint), (q6, q6_hint)):
        assert status(exercise, answer) == "correct", exercise


# --------------------------------------------------------------------------- the catalogues: each mistake named by its own detector


def _reference_rmse(t, p):
    return float(np.sqrt(np.mean(np.subtract(*_flat(t, p)) ** 2)))


def test_q1_catalogue():
    messages = check_catalogue(q1, {
        "not-a-number": [lambda t, p: "0.75", lambda t, p: {"rmse": 0.75}],
        "several-numbers": [lambda t, p: np.subtract(*_flat(t, p)) ** 2, lambda t, p: []],
        "mse": [Q1_WRONG[0][0]],
        "mae": [Q1_WRONG[1][0]],
        "sqrt-of-sum": [Q1_WRONG[2][0]],
        "signed-mean": [Q1_WRONG[4][0]],
        "std": [Q1_WRONG[6][0]],
        "clipped": [Q1_WRONG[7][0]],
        "n-minus-1": [Q1_WRONG[8][0]],
        "broadcast": [Q1_WRONG[3][0]],
        "rounded": [lambda t, p: round(_reference_rmse(t, p), 2), lambda t, p: round(_reference_rmse(t, p), 3)],
        "changed-input": [q1_in_place, rmse_view_in_place, rmse_out_argument],
        "per-rating-losses": [rmse_keras_mse],
        "column-index": [rmse_column_index],
        "returned-none": [lambda t, p: None if np.size(t) else 0],
        "raised": [lambda t, p: np.sqrt(np.mean((t - p) ** 2)) / np.ones(2)[3]],
    })
    assert "0.5625" in messages["mse"] and "square root" in messages["mse"]


def numpy_method(u, m):
    return ops.sum(u.numpy() * m.numpy(), axis=-1)  # NumPy arrays (and symbolic tensors) have no .numpy()


def test_q2_catalogue():
    messages = check_catalogue(q2, {
        "numpy-method": [numpy_method],
        "not-numbers": [lambda u, m: "the score", lambda u, m: object()],
        "keepdims": [Q2_WRONG[6][0], Q2_WRONG[7][0]],
        "summed-over-batch": [Q2_WRONG[0][0]],
        "every-pair": [Q2_WRONG[2][0]],
        "no-row-sum": [Q2_WRONG[3][0]],
        "summed-axis-0": [Q2_WRONG[1][0]],
        "mean-not-sum": [Q2_WRONG[5][0]],
        "cosine": [Q2_WRONG[9][0]],
        "added-vectors": [Q2_WRONG[4][0]],
        "integer": [row_dot_int],
        "another-row": [Q2_WRONG[11][0], lambda u, m: ops.sum(u * ops.roll(m, 1, axis=0), axis=-1)],
        "not-graph-compatible": [Q2_WRONG[8][0]],
        "raised": [lambda u, m: ops.sum(u * m[:, :2], axis=-1), row_dot_numpy_sum],
    })
    assert "keras.ops" in messages["numpy-method"] and "graph" in messages["not-graph-compatible"]


def recall_lowest_score(scores, exclude, relevant, k=10):
    masked = np.where(exclude, np.min(scores), scores)  # "the lowest score is low enough": ties can still win
    return np.isin(np.argsort(-masked, kind="stable")[:k], relevant).sum() / len(relevant)


def test_q3_catalogue():
    messages = check_catalogue(q3, {
        "not-a-number": [lambda s, e, r, k: "2/3"],
        "several-numbers": [lambda s, e, r, k: np.isin(np.argsort(-np.where(e, -np.inf, s))[:k], r) / len(r)],
        "truncated": [recall_truncated],
        "precision": [recall_precision],
        "hits": [recall_hits],
        "zero-fill": [recall_zero_mask],
        "constant-fill": [recall_very_negative],
        "no-exclusion": [recall_no_exclusion],
        "ascending": [recall_ascending],
        "only-excluded": [recall_inverted_mask],
        "k-plus-one": [recall_k_plus_one],
        "fixed-k": [recall_ten],
        "positions": [recall_positions, recall_deleted],
        "k-minus-one": [lambda s, e, r, k=10: np.isin(np.argsort(-np.where(e, -np.inf, s))[:k - 1], r).sum() / len(r)],
        "finite-fill": [recall_lowest_score],
        "first-movies-only": [recall_first_candidates],
        "changed-input": [recall_in_place, recall_sorts_in_place, recall_alias, recall_put],
    })
    assert "-np.inf" in messages["finite-fill"] and "only the first movies" in messages["first-movies-only"]


def test_q4_catalogue():
    messages = check_catalogue(q4, {
        "not-numbers": [lambda logits: "loss"],
        "reduced": [loss_mean, lambda logits: ops.sum(loss_logsumexp(logits))],
        "one-number": [lambda logits: ops.max(logits)],
        "wrong-shape": [lambda logits: ops.logsumexp(logits, axis=1, keepdims=True) - logits],
        "overflow": [loss_naive, loss_log_of_softmax],
        "columns": [loss_columns],
        "positive-only": [loss_positive_only],
        "positive-left-out": [loss_exclusive],
        "column-zero": [loss_column_zero],
        "sigmoid": [loss_sigmoid],
        "clipped-softmax": [loss_softmax_eps],
        "probabilities": [loss_not_from_logits],
        "not-graph-compatible": [loss_numpy, loss_numpy_method, loss_shape_attribute],
        "raised": [lambda logits: ops.logsumexp(logits, axis=2)],
    })
    assert "the model reduces it (sum or mean)" in messages["reduced"]
    assert "Keras averages" not in messages["reduced"]


def logits_lower_only(logits, ids, log_q):
    lower = ops.tril(ops.ones_like(logits), -1) > 0
    return ops.where(ops.logical_and(_copies(logits, ids), lower), -np.inf, logits - log_q[None, :])


def logits_times_inf(logits, ids, log_q):  # 0 * -inf is NaN: the mask multiplied by -inf
    return logits - log_q[None, :] + ops.cast(_copies(logits, ids), logits.dtype) * -np.inf


def logits_stop_gradient(logits, ids, log_q):  # right numbers, but nothing flows back to the towers
    return ops.where(_copies(logits, ids), -np.inf, ops.stop_gradient(logits) - log_q[None, :])


def test_q5_catalogue():
    messages = check_catalogue(q5, {
        "item-assignment": [logits_item_assignment],
        "fixed-batch-size": [logits_fixed_batch],
        "not-float": [lambda logits, ids, log_q: "logits", lambda logits, ids, log_q: _copies(logits, ids)],
        "returned-a-loss": [logits_loss],
        "wrong-shape": [lambda logits, ids, log_q: (logits - log_q[None, :])[:, :1]],
        "log-again": [logits_log_again],
        "nan": [logits_times_inf],
        "per-row": [logits_rows],
        "added": [logits_added],
        "no-logq": [logits_no_logq],
        "no-mask": [logits_no_mask],
        "diagonal-too": [logits_diagonal_too],
        "inverted": [logits_inverted],
        "upper-only": [logits_upper_only],
        "lower-only": [logits_lower_only],
        "q-itself": [logits_q_itself],
        "zero-fill": [logits_zero_fill],
        "fill-too-high": [logits_small_fill],
        "plus-inf": [logits_plus_inf],
        "len-in-fit": [logits_len],
        "partial-last-batch": [logits_python_loop],
        "not-in-fit": [logits_numpy, logits_python_if],
        "no-gradient": [logits_stop_gradient],
        "raised": [lambda logits, ids, log_q: logits - log_q[None, :] - ids[:, None]],
    })
    assert "fixed batch size" in messages["fixed-batch-size"] and "inside model.fit" in messages["partial-last-batch"]


def test_q6_catalogue():
    messages = check_catalogue(q6, {
        "not-ids": [lambda v, q, k: "Star Wars", lambda v, q, k: np.zeros((k, 2), int)],
        "scores-not-ids": [neighbours_scores],
        "wrong-length": [neighbours_fixed_k],
        "skip-first": [neighbours_skip_first, neighbours_reversed_skip_first],
        "positions": [neighbours_deleted],
        "includes-itself": [neighbours_with_itself],
        "dot-product": [neighbours_dot],
        "euclidean": [neighbours_euclidean],
        "columns": [neighbours_columns],
        "least-similar": [neighbours_least],
        "first-rows-only": [neighbours_first_candidates],
        "unordered": [lambda v, q, k=10: np.sort(neighbours_course_lib(v, q, k))],
        "changed-input": [neighbours_in_place],
    })
    assert "first 500" in messages["first-rows-only"]


# --------------------------------------------------------------------------- the new-learner walkthrough's answers
# Each answer below is written as the walkthrough wrote it; the test pins the mistake it is now named by.


def rmse_keras_mse(y_true, y_pred):  # keras.losses.mean_squared_error averages the last axis only
    return float(np.sqrt(keras.losses.mean_squared_error(y_true, y_pred)))


def rmse_column_index(y_true, y_pred):  # y_pred is 1-D in the prompt's example
    return np.sqrt(np.mean((y_true - y_pred[:, 0]) ** 2))


def rmse_view_in_place(y_true, y_pred):  # p is a view of y_pred: y_pred is the input changed, not y_true
    p = y_pred.ravel()
    p -= y_true
    return np.sqrt(np.mean(p ** 2))


def rmse_out_argument(y_true, y_pred):
    y_pred = np.ravel(y_pred)
    np.subtract(y_pred, y_true, out=y_pred)
    return np.sqrt(np.mean(y_pred ** 2))


def test_q1_walkthrough_answers():
    assert "mean_squared_error averages the last axis only" in message(q1, rmse_keras_mse)
    assert "np.ravel(y_pred)" in message(q1, rmse_column_index)
    for answer in (rmse_view_in_place, rmse_out_argument):
        text = message(q1, answer)
        assert "changed its input `y_pred` in place" in text and "y_true = " not in text, text


def row_dot_int(u, m):
    return ops.cast(ops.sum(u * m, axis=-1), "int32")


def row_dot_numpy_sum(u, m):
    return (u * m).sum(axis=1)


def test_q2_walkthrough_answers():
    assert status(q2, row_dot_int) == "incorrect" and q2.evaluate(row_dot_int).mistake == "integer"
    text = message(q2, row_dot_int)
    assert "lost their fractions" in text and "row i uses u[i]" not in text, text
    assert "keras.ops.sum(t, axis)" in message(q2, row_dot_numpy_sum)


def recall_alias(scores, exclude, relevant, k=10):
    masked = scores
    masked[exclude] = -np.inf
    top = np.argsort(-masked)[:k]
    return np.isin(top, relevant).sum() / len(relevant)


def recall_put(scores, exclude, relevant, k=10):
    np.put(scores, np.flatnonzero(exclude), -np.inf)
    top = np.argsort(-scores)[:k]
    return np.isin(top, relevant).sum() / len(relevant)


def recall_ten(scores, exclude, relevant, k=10):
    top = np.argsort(-np.where(exclude, -np.inf, scores))[:10]
    return np.isin(top, relevant).sum() / len(relevant)


def recall_positions(scores, exclude, relevant, k=10):
    top = np.argsort(-scores[~exclude])[:k]
    return np.isin(top, relevant).sum() / len(relevant)


def recall_deleted(scores, exclude, relevant, k=10):
    kept = np.delete(scores, np.flatnonzero(exclude))
    top = np.argsort(-kept)[:k]
    return np.isin(top, relevant).sum() / len(relevant)


def recall_filtered_after(scores, exclude, relevant, k=10):
    top = np.argsort(-scores)[:k]
    top = top[~exclude[top]]
    return np.isin(top, relevant).sum() / len(relevant)


def test_q3_walkthrough_answers():
    for answer in (recall_alias, recall_put):
        text = message(q3, answer)
        assert "changed its input `scores` in place" in text and "exclude = " not in text, text
        assert "its input one of" not in text
    assert q3.evaluate(recall_ten).mistake == "fixed-k" and "always has 10 movies" in message(q3, recall_ten)
    for answer in (recall_positions, recall_deleted):
        assert q3.evaluate(answer).mistake == "positions", message(q3, answer)
        assert "not movie ids" in message(q3, answer)
    assert "before you keep the k best" in message(q3, recall_filtered_after)


def loss_shape_attribute(logits):  # what the old hint's arange(batch) invited: logits.shape[0] is None in a graph
    labels = ops.arange(logits.shape[0])
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def loss_log_of_softmax(logits):
    return -ops.log(ops.diagonal(ops.softmax(logits, axis=1)))


def test_q4_walkthrough_answers():
    text = message(q4, loss_shape_attribute)
    assert q4.evaluate(loss_shape_attribute).mistake == "not-graph-compatible"
    assert "x.shape[0] is None there" in text and "keras.ops.shape(x)[0]" in text, text
    assert "a probability rounds to 0" in message(q4, loss_log_of_softmax)
    hint = q4.hint_text
    assert "arange(batch)" not in hint and "keras.ops.arange(keras.ops.shape(logits)[0])" in " ".join(hint.split())


def logits_len(logits, movie_ids, log_q):
    copies = ops.logical_and(ops.equal(movie_ids[:, None], movie_ids[None, :]),
                             ops.logical_not(ops.eye(len(movie_ids)) > 0))
    return ops.where(copies, -np.inf, logits - log_q[None, :])


def logits_python_if(logits, movie_ids, log_q):
    n = ops.shape(logits)[0]
    corrected = logits - log_q[None, :]
    copies = ops.logical_and(ops.equal(movie_ids[:, None], movie_ids[None, :]), ops.logical_not(ops.eye(n) > 0))
    if ops.any(copies):
        return ops.where(copies, -np.inf, corrected)
    return corrected


def logits_plus_inf(logits, movie_ids, log_q):
    n = ops.shape(logits)[0]
    copies = ops.logical_and(ops.equal(movie_ids[:, None], movie_ids[None, :]), ops.logical_not(ops.eye(n) > 0))
    return ops.where(copies, np.inf, logits - log_q[None, :])


def test_q5_walkthrough_answers():
    assert q5.evaluate(logits_len).mistake == "len-in-fit"
    assert "keras.ops.shape(logits)[0]" in message(q5, logits_len)
    text = message(q5, logits_python_if)
    assert q5.evaluate(logits_python_if).mistake == "not-in-fit"
    assert "a Python if" in text and "no NumPy" not in text, text
    assert q5.evaluate(logits_plus_inf).mistake == "plus-inf" and "the sign is wrong" in message(q5, logits_plus_inf)


def neighbours_reversed_skip_first(vectors, movie_id, k=10):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.argsort(unit @ unit[movie_id])[::-1][1:k + 1]


def neighbours_deleted(vectors, movie_id, k=10):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = np.delete(unit @ unit[movie_id], movie_id)
    return np.argsort(-cosine)[:k]


def test_q6_walkthrough_answers():
    assert q6.evaluate(neighbours_reversed_skip_first).mistake == "skip-first"
    assert q6.evaluate(neighbours_deleted).mistake == "positions" and "not movie ids" in message(q6, neighbours_deleted)


def test_q6_accepts_any_order_of_exact_copies():
    """Rows 3, 13 and 30 of the second case are exact copies of the query (cosine 1): any order of them is right."""

    def copies_reversed(vectors, movie_id, k=10):
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        cosine = unit @ unit[movie_id]
        cosine[movie_id] = -np.inf
        return np.argsort(cosine, kind="stable")[::-1][:k]  # ties in reverse order of their ids

    assert status(q6, copies_reversed) == "correct", message(q6, copies_reversed)


def rmse_true_column_index(y_true, y_pred):  # the walkthrough's other indexing slip: y_true[:, 0] on 1-D input
    return np.sqrt(np.mean((y_true[:, 0] - np.ravel(y_pred)) ** 2))


def test_q1_column_index_names_the_input_the_line_indexes():
    result = q1.evaluate(rmse_true_column_index)
    assert result.mistake == "column-index" and "y_true[:, 0] fails" in result.message and "y_pred[:, 0]" not in result.message


def softmax_with_len(logits):  # len() works under AutoGraph, but fit's step is never converted
    labels = keras.ops.arange(len(logits))
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def test_q4_refuses_len_of_the_logits_as_fit_does():
    result = q4.evaluate(softmax_with_len)
    assert result.status == "incorrect" and "len() of a tensor fails there" in result.message, result.message
