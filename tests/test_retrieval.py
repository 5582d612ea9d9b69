"""course_lib.retrieval: the retrieval loss, the two-tower model, its training and its SavedModel (lesson 04)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from course_lib import recommender as rec
from course_lib import retrieval as rt
from test_recommender import synthetic_ratings

ops = keras.ops


def reference_loss(logits, ids=None, log_q=None, temperature=1.0):
    """The loss in NumPy, float64: TFRS's order (temperature, logQ, accidental hits), then the row softmax."""
    x = np.asarray(logits, np.float64) / temperature
    if log_q is not None:
        x = x - np.asarray(log_q, np.float64)[None, :]
    if ids is not None:
        ids = np.asarray(ids)
        duplicate = (ids[:, None] == ids[None, :]) & ~np.eye(len(ids), dtype=bool)
        x = np.where(duplicate, -np.inf, x)
    top = x.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.exp(x - top).sum(axis=1)) - np.diag(x)


# --------------------------------------------------------------------------- the loss


def test_loss_uses_the_diagonal_and_matches_numpy():
    logits = np.array([[5.0, 0.0], [0.0, 5.0]], dtype="float32")
    loss = ops.convert_to_numpy(rt.retrieval_loss(logits))
    assert loss.shape == (2,) and np.allclose(loss, np.log1p(np.exp(-5.0)), atol=1e-5)
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (8, 8)).astype("float32")
    ids = np.array([3, 7, 3, 1, 7, 3, 9, 2])
    log_q = np.log(rng.uniform(0.01, 0.2, 8)).astype("float32")
    for kwargs in ({}, {"candidate_ids": ids}, {"log_q": log_q}, {"candidate_ids": ids, "log_q": log_q, "temperature": 0.5}):
        got = ops.convert_to_numpy(rt.retrieval_loss(logits, **kwargs))
        expected = reference_loss(logits, kwargs.get("candidate_ids"), kwargs.get("log_q"), kwargs.get("temperature", 1.0))
        assert np.allclose(got, expected, atol=1e-4), kwargs


def test_accidental_hits_are_masked_off_the_diagonal_only():
    logits = np.zeros((4, 4), np.float32)
    masked = ops.convert_to_numpy(rt.mask_accidental_hits(logits, np.array([5, 6, 5, 5])))
    expected = np.zeros((4, 4), bool)
    for i, j in [(0, 2), (0, 3), (2, 0), (2, 3), (3, 0), (3, 2)]:
        expected[i, j] = True
    assert np.array_equal(masked == rt.MASKED_LOGIT, expected)  # the positives (diagonal) stay
    assert np.all(masked[~expected] == 0)
    # with the mask, a copy of the positive no longer counts as a negative: the loss of a
    # row whose positive is in the batch three times is the loss of a batch without the copies
    with_copies = ops.convert_to_numpy(rt.retrieval_loss(logits, np.array([5, 6, 5, 5])))
    assert with_copies[0] == pytest.approx(np.log(2), abs=1e-6)  # itself and movie 6 are left


def test_logq_lowers_each_column_by_its_log_probability():
    logits = np.zeros((3, 3), np.float32)
    corrected = ops.convert_to_numpy(rt.logq_correction(logits, np.log([0.5, 0.25, 0.25]).astype("float32")))
    assert np.allclose(corrected, np.tile(-np.log([0.5, 0.25, 0.25]), (3, 1)), atol=1e-6)


def test_non_square_logits_and_wrong_lengths_are_refused():
    """Issue 17: non-square logits used to give an in-batch loss silently."""
    with pytest.raises(ValueError, match=r"shape \(3, 5\).*square"):
        rt.retrieval_loss(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="matrix"):
        rt.retrieval_loss(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="candidate_ids has 2 entries but the logits have 3 columns"):
        rt.retrieval_loss(np.zeros((3, 3), np.float32), candidate_ids=np.array([1, 2]))
    with pytest.raises(ValueError, match="log_q has 4 entries"):
        rt.retrieval_loss(np.zeros((3, 3), np.float32), log_q=np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="temperature"):
        rt.retrieval_loss(np.zeros((3, 3), np.float32), temperature=0.0)


# --------------------------------------------------------------------------- the model and its training


def test_two_tower_returns_embeddings_and_its_loss_is_the_retrieval_loss():
    log_q = np.log(np.linspace(0.1, 1, 31) / 16.5).astype("float32")
    model = rt.TwoTower(40, 30, 8, log_q=log_q, seed=0)
    batch = {"user_id": np.array([1, 2, 3, 4], "int32"), "movie_id": np.array([4, 5, 4, 6], "int32")}
    out = model(batch)
    assert set(out) == {"user", "movie"} and tuple(out["user"].shape) == (4, 8) and tuple(out["movie"].shape) == (4, 8)
    logits = ops.convert_to_numpy(out["user"]) @ ops.convert_to_numpy(out["movie"]).T
    expected = reference_loss(logits, batch["movie_id"], log_q[batch["movie_id"]]).mean()
    assert float(model.compute_loss(batch, None, out)) == pytest.approx(expected, abs=1e-5)
    plain = rt.TwoTower(40, 30, 8, remove_accidental_hits=False, seed=0)
    assert float(plain.compute_loss(batch, None, plain(batch))) == pytest.approx(reference_loss(logits).mean(), abs=1e-5)


def test_training_keeps_the_best_validation_epoch_and_is_reproducible():
    split = rec.split_ratings(synthetic_ratings(n_users=60, n_movies=40, per_user=20), seed=0)
    config = rt.RetrievalConfig(dim=8, batch_size=64, epochs=4, learning_rate=0.05)
    model, history = rt.train_retrieval_model(split, config, seed=1, min_rating=3.0)
    assert len(history["loss"]) == len(history["val_recall"]) == 4 and history["loss"][-1] < history["loss"][0]
    assert history["best_epoch"] == int(np.argmax(history["val_recall"])) + 1
    again, _ = rt.train_retrieval_model(split, config, seed=1, min_rating=3.0)
    assert np.array_equal(model.movie_vectors(), again.movie_vectors())
    assert model.user_vectors().shape == (61, 8) and model.movie_vectors().shape == (41, 8)
    assert np.allclose(model.scores([2])[0], model.movie_vectors() @ model.user_vectors()[2], atol=1e-5)
    with pytest.raises(ValueError, match="user_ids"):
        model.scores([61])


def test_recall_at_k_equals_ranking_metrics():
    split = rec.split_ratings(synthetic_ratings(n_users=60, n_movies=40, per_user=20), seed=0)
    known = pd.concat([split.train, split.validation])
    exclude = rec.known_items_mask(known, split.n_users, split.n_movies)
    liked = split.test[split.test.rating >= 4]
    relevant = np.zeros_like(exclude)
    relevant[liked.user_id, liked.movie_id] = True
    scores = np.random.default_rng(0).normal(size=(split.n_users + 1, split.n_movies + 1))
    ours = rt.recall_at_k(lambda ids: scores[ids], exclude, relevant, np.unique(liked.user_id))
    assert ours == pytest.approx(rec.ranking_metrics(scores, known, split.test, k=10)["recall"])
    with pytest.raises(ValueError, match="no relevant movie"):
        rt.recall_at_k(lambda ids: scores[ids], exclude, relevant, [1, 2, 3, 4, 5, 6, 7])


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [("dim", 0, ValueError), ("batch_size", -1, ValueError), ("epochs", 2.0, TypeError), ("learning_rate", 0.0, ValueError),
     ("temperature", -1.0, ValueError), ("optimizer", "sgd", ValueError), ("logq", "yes", TypeError),
     ("initializer", "zeros", ValueError), ("weight_decay", -0.1, ValueError)],
)  # fmt: skip
def test_retrieval_config_refuses_nonsense(field, value, error):
    with pytest.raises(error, match=field):
        rt.RetrievalConfig(**{field: value})


def test_users_left_out_shape_nothing_of_the_model_not_even_log_q():
    """Lesson 04's cold start: log q is counted over the kept users' pairs only."""
    split = rec.split_ratings(synthetic_ratings(n_users=60, n_movies=40, per_user=20), seed=0)
    kept = np.arange(1, 41)
    model = rt.build_two_tower(split, rt.RetrievalConfig(dim=4), seed=0, users=kept)
    positives = rt.liked(split.train)
    expected = rt.log_sampling_probability(positives[positives.user_id.isin(kept)], split.n_movies)
    assert np.allclose(ops.convert_to_numpy(model.log_q), expected)
    everyone = rt.log_sampling_probability(positives, split.n_movies)
    assert not np.allclose(expected, everyone)  # the 20 users left out would have changed q
    trained, _ = rt.train_retrieval_model(split, rt.RetrievalConfig(dim=4, epochs=1), seed=0, min_rating=4.0, users=kept)
    assert np.allclose(ops.convert_to_numpy(trained.log_q), expected)


def test_training_refuses_wrong_arguments():
    split = rec.split_ratings(synthetic_ratings(), seed=0)
    with pytest.raises(TypeError, match="Split"):
        rt.train_retrieval_model(split.train)
    with pytest.raises(TypeError, match="RetrievalConfig"):
        rt.train_retrieval_model(split, {"dim": 8})
    with pytest.raises(ValueError, match="no rating >= 6"):
        rt.train_retrieval_model(split, min_rating=6.0)
    with pytest.raises(ValueError, match="log_q has shape"):
        rt.TwoTower(30, 20, 4, log_q=np.zeros(20))


# --------------------------------------------------------------------------- serving


FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    sys.modules["keras"] = None  # `import keras` (and course_lib) now raise ImportError, here and inside TensorFlow
    sys.modules["course_lib"] = None
    import numpy as np
    import tensorflow as tf

    served = tf.saved_model.load(sys.argv[1])
    users = np.array(json.loads(sys.argv[2]), np.int32)
    out = served.serve(tf.constant(users))
    try:
        import keras  # noqa: F401
        blocked = False
    except ImportError:
        blocked = True
    loaded = sorted(m for m, module in sys.modules.items() if module is not None and m.startswith(("course_lib", "keras")))
    print(json.dumps({"ids": out["movie_ids"].numpy().tolist(), "scores": out["scores"].numpy().tolist(),
                      "blocked": blocked, "loaded": loaded}))
    """
)


def served_in_a_fresh_process(folder, users) -> dict:
    """Load ``folder`` with tf.saved_model.load in a new Python that imports TensorFlow only."""
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(folder), json.dumps([int(u) for u in users])],
                          capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_exported_model_serves_the_notebooks_top_10_for_every_test_user(tmp_path):
    """Lesson 04's export on the real data: a fresh process with TensorFlow only gives the same lists."""
    from course_lib.datasets import load_movielens

    ml = load_movielens("100k")
    split = rec.split_ratings(ml.ratings, seed=42, n_users=int(ml.ratings.user_id.max()),
                              n_movies=int(ml.movies.movie_id.max()))  # fmt: skip
    config = rt.RetrievalConfig(**{**rt.RETRIEVAL_CONFIGS["100k"].__dict__, "epochs": 1})
    model, _ = rt.train_retrieval_model(split, config, seed=0)
    known = pd.concat([split.train, split.validation])
    folder = rt.export_top_k(model, known, tmp_path / "two_tower", k=10)
    users = np.unique(split.test.user_id)
    served = served_in_a_fresh_process(folder, users)
    assert served["blocked"] and served["loaded"] == [], "Keras or course_lib was importable or imported"
    expected = rec.top_n(model.scores(users), rec.known_items_mask(known, split.n_users, split.n_movies)[users], k=10)
    ids, scores = np.array(served["ids"]), np.array(served["scores"])
    assert ids.shape == (len(users), 10)
    assert np.array_equal(ids, expected), f"{int((ids != expected).any(axis=1).sum())} users differ"
    assert np.allclose(scores, np.take_along_axis(model.scores(users), expected, 1), atol=1e-4)


def test_export_refuses_wrong_arguments(tmp_path):
    split = rec.split_ratings(synthetic_ratings(), seed=0)
    model = rt.build_two_tower(split, rt.RetrievalConfig(dim=4), seed=0)
    with pytest.raises(TypeError, match="TwoTower"):
        rt.export_top_k(keras.Sequential(), split.train, tmp_path)
    with pytest.raises(ValueError, match="k=19 but user"):
        rt.export_top_k(model, split.train, tmp_path / "x", k=19)
