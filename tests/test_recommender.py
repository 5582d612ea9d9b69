"""Unit tests of course_lib.recommender (lesson 04; the rating model also lesson 05). Retrieval: test_retrieval.py; the benchmark: test_benchmark.py."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pandas as pd
import pytest

from course_lib import recommender as rec
from course_lib.features import MaskedPooling


def synthetic_ratings(n_users=30, n_movies=20, per_user=12, seed=0) -> pd.DataFrame:
    """Ratings from a known rank-2 model plus biases, rounded to 1..5 stars."""
    rng = np.random.default_rng(seed)
    p, q = rng.normal(size=(n_users + 1, 2)), rng.normal(size=(n_movies + 1, 2))
    bu, bm = rng.normal(0, 0.5, n_users + 1), rng.normal(0, 0.5, n_movies + 1)
    rows = []
    for user in range(1, n_users + 1):
        for movie in rng.choice(np.arange(1, n_movies + 1), per_user, replace=False):
            rows.append((user, movie, np.clip(np.round(3.5 + bu[user] + bm[movie] + p[user] @ q[movie]), 1, 5)))
    frame = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    frame["timestamp"] = np.arange(len(frame), dtype=np.int64)
    return frame.astype({"user_id": "int32", "movie_id": "int32", "rating": "float32"})


# --------------------------------------------------------------------------- backend-agnostic


def test_module_uses_keras_ops_only_never_tensorflow():
    tree = ast.parse(inspect.getsource(rec))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert not imported & {"tensorflow", "tf_keras", "jax", "torch"}, imported
    assert imported <= {"__future__", "os", "tempfile", "time", "warnings", "dataclasses", "pathlib", "keras", "numpy", "pandas",
                        "course_lib"}, imported  # course_lib: validation, and features.MaskedPooling (Keras only)
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "tf" not in names


# --------------------------------------------------------------------------- split


def test_split_sizes_disjoint_and_reproducible():
    ratings = synthetic_ratings()
    split = rec.split_ratings(ratings, seed=7)
    n = len(ratings)
    assert len(split.test) == round(0.1 * n) and len(split.validation) == round(0.05 * n)
    assert len(split.train) + len(split.validation) + len(split.test) == n
    keys = [set(zip(p.user_id, p.movie_id)) for p in (split.train, split.validation, split.test)]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    again = rec.split_ratings(ratings, seed=7)
    pd.testing.assert_frame_equal(split.test, again.test)
    other = rec.split_ratings(ratings, seed=8)
    assert not split.test.equals(other.test)
    assert (split.n_users, split.n_movies) == (30, 20)
    assert "seed=7" in repr(split)


@pytest.mark.parametrize("kwargs", [{"test_fraction": 0}, {"test_fraction": 1.2}, {"validation_fraction": -0.1},
                                    {"test_fraction": 0.6, "validation_fraction": 0.5}])  # fmt: skip
def test_split_rejects_bad_fractions(kwargs):
    with pytest.raises(ValueError, match="fraction"):
        rec.split_ratings(synthetic_ratings(), **kwargs)


def test_split_rejects_wrong_input():
    with pytest.raises(TypeError, match="DataFrame"):
        rec.split_ratings(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="rating"):
        rec.split_ratings(pd.DataFrame({"user_id": [1], "movie_id": [2]}))


def test_split_pads_the_tables_to_a_multiple_of_the_shards():
    ratings = pd.DataFrame({"user_id": [1, 943] * 10, "movie_id": [5, 1682] * 10, "rating": [3.0, 4.0] * 10})
    split = rec.split_ratings(ratings, seed=0, pad_to=8)
    assert (split.n_users + 1, split.n_movies + 1) == (944, 1688)  # 944 rows already a multiple of 8
    assert (rec.split_ratings(ratings, seed=0).n_users, rec.split_ratings(ratings, seed=0).n_movies) == (943, 1682)
    assert rec.split_ratings(ratings, seed=0, n_movies=1700, pad_to=4).n_movies == 1703  # on top of the catalogue's size
    assert rec.split_ratings(ratings, seed=0, pad_to=8).test.equals(rec.split_ratings(ratings, seed=0).test)
    for bad, error in ((0, ValueError), (2.0, TypeError), (5000, ValueError)):
        with pytest.raises(error, match="pad_to"):
            rec.split_ratings(ratings, pad_to=bad)


def test_model_inputs_dtypes():
    inputs = rec.model_inputs(synthetic_ratings())
    assert set(inputs) == {"user_id", "movie_id"}
    assert all(v.dtype == np.int32 and v.ndim == 1 for v in inputs.values())


# --------------------------------------------------------------------------- metrics and baselines


def test_rmse_and_mae_by_hand():
    assert rec.rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(np.sqrt(4 / 3))
    assert rec.mae([1, 2, 3], [1, 2, 5]) == pytest.approx(2 / 3)
    assert rec.rmse(np.array([1.0, 3.0]), np.array([[2.0], [2.0]])) == pytest.approx(1.0)  # (n, 1) column
    assert rec.rmse(keras.ops.convert_to_tensor([1.0, 3.0]), pd.Series([2.0, 2.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        rec.rmse([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        rec.mae([], [])
    with pytest.raises(TypeError, match="y_pred must hold numbers"):
        rec.rmse([1, 2], ["a", "b"])


def test_bias_baseline_recovers_exact_biases():
    users, movies = np.meshgrid(np.arange(1, 6), np.arange(1, 5), indexing="ij")
    bu, bm = np.array([0, 0.5, -0.5, 0.25, 0.0, -0.25]), np.array([0, 1.0, -1.0, 0.5, -0.5])
    ratings = pd.DataFrame({"user_id": users.ravel(), "movie_id": movies.ravel()})
    ratings["rating"] = 3.0 + bu[ratings.user_id] + bm[ratings.movie_id]
    model = rec.fit_bias_baseline(ratings, user_reg=0, movie_reg=0, iterations=50)
    assert model.global_mean == pytest.approx(3.0)
    predicted = model.predict(ratings.user_id, ratings.movie_id)
    assert rec.rmse(ratings.rating, predicted) < 1e-6
    assert model.predict([1], [1])[0] == pytest.approx(4.5)
    with pytest.raises(IndexError, match="movie id 9"):
        model.predict([1], [9])
    with pytest.raises(ValueError, match="-3 at index 0"):  # the negative id is named, never wrapped around
        model.predict([-3, 5], [1, 1])
    with pytest.raises(ValueError, match=">= 0"):
        rec.fit_bias_baseline(ratings, user_reg=-1)


def test_bias_baseline_clips_and_leaves_unseen_at_zero():
    ratings = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [1, 2, 1], "rating": [5.0, 5.0, 5.0]})
    model = rec.fit_bias_baseline(ratings, n_users=3, n_movies=3)
    assert model.user_bias[3] == 0 and model.movie_bias[3] == 0
    assert np.all(model.predict([1, 3], [1, 3]) <= 5.0)


def test_tune_bias_baseline_picks_the_best_validation_pair():
    split = rec.split_ratings(synthetic_ratings(n_users=60, per_user=15), seed=1)
    model, best, scores = rec.tune_bias_baseline(split, user_regs=(0.5, 50), movie_regs=(1, 100))
    assert set(scores) == {(0.5, 1), (0.5, 100), (50, 1), (50, 100)}
    assert scores[best] == min(scores.values())
    again = rec.fit_bias_baseline(split.train, split.n_users, split.n_movies, user_reg=best[0], movie_reg=best[1])
    assert np.allclose(model.movie_bias, again.movie_bias)
    with pytest.raises(ValueError, match="validation"):
        rec.tune_bias_baseline(rec.split_ratings(synthetic_ratings(), validation_fraction=0))


# --------------------------------------------------------------------------- the rating model


def small_model(**kwargs):
    model = rec.build_rating_model(6, 5, global_mean=3.5, dim=4, seed=1, **kwargs)
    # Non-zero biases, so the test below also covers them.
    model.get_layer(rec.USER_BIAS).set_weights([np.linspace(-0.5, 0.5, 7)[:, None].astype("float32")])
    model.get_layer(rec.MOVIE_BIAS).set_weights([np.linspace(0.3, -0.3, 6)[:, None].astype("float32")])
    return model


def test_each_rows_score_depends_only_on_its_own_user_and_movie():
    """The keras.io example's tensordot(u, m, 2) gives every row the batch's summed interaction; ours must not."""
    model = small_model()
    users = np.array([1, 2, 3, 4], dtype="int32")
    movies = np.array([5, 4, 3, 2], dtype="int32")
    before = model.predict({"user_id": users, "movie_id": movies}, verbose=0)
    assert before.shape == (4, 1)  # one row per rating: a column (lesson 05, section 3)
    before = before[:, 0]
    changed_users, changed_movies = users.copy(), movies.copy()
    changed_users[2], changed_movies[2] = 6, 1
    after = model.predict({"user_id": changed_users, "movie_id": changed_movies}, verbose=0)[:, 0]
    assert np.allclose(np.delete(after, 2), np.delete(before, 2), atol=1e-6)
    assert abs(after[2] - before[2]) > 1e-4
    # and each row equals the formula computed by hand
    p = model.get_layer(rec.USER_EMBEDDING).get_weights()[0]
    q = model.get_layer(rec.MOVIE_EMBEDDING).get_weights()[0]
    bu = model.get_layer(rec.USER_BIAS).get_weights()[0][:, 0]
    bm = model.get_layer(rec.MOVIE_BIAS).get_weights()[0][:, 0]
    by_hand = 3.5 + bu[users] + bm[movies] + np.sum(p[users] * q[movies], axis=1)
    assert np.allclose(before, by_hand, atol=1e-5)
    # one row alone gives the same score as inside the batch
    alone = model.predict({"user_id": users[:1], "movie_id": movies[:1]}, verbose=0)
    assert alone[0, 0] == pytest.approx(before[0], abs=1e-6)


def test_row_dot_layer_matches_numpy_and_keeps_batch_shape():
    u, m = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(rec.RowDot()([u, m]))
    assert out.shape == (5,)
    assert np.allclose(out, np.einsum("bd,bd->b", u, m), atol=1e-6)
    assert rec.RowDot().compute_output_shape([(None, 3), (None, 3)]) == (None,)


def test_rating_model_outputs_a_column_and_its_layers_carry_the_named_constants():
    model = small_model()
    assert model.output.shape == (None, 1)
    names = {layer.name for layer in model.layers}
    assert {rec.USER_EMBEDDING, rec.MOVIE_EMBEDDING, rec.USER_BIAS, rec.MOVIE_BIAS, rec.INTERACTION, rec.RATING} <= names
    assert set(rec.EMBEDDING_TABLES) == {rec.USER_EMBEDDING, rec.MOVIE_EMBEDDING}
    assert rec.AddBiases(3.0).compute_output_shape([(None,), (None, 1), (None, 1)]) == (None, 1)
    out = rec.AddBiases(3.0)([np.array([1.0, 2.0], "float32"), np.ones((2, 1), "float32"), np.zeros((2, 1), "float32")])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), [[5.0], [6.0]])
    implicit = rec.build_rating_model(6, 5, global_mean=3.5, rated_movies=np.zeros((7, 2), np.int32))
    assert {rec.RATED_MOVIES, rec.IMPLICIT_EMBEDDING, rec.IMPLICIT_MEAN, rec.USER_TOTAL} <= {l.name for l in implicit.layers}


def test_one_device_mse_is_the_same_for_targets_of_shape_n_and_n_1():
    """Keras expands (batch,) targets to the (batch, 1) output: one loss per rating, as before the column."""
    model = small_model()
    inputs = {"user_id": np.array([1, 2, 3], "int32"), "movie_id": np.array([1, 2, 3], "int32")}
    predictions = model(inputs)
    per_rating = keras.losses.MeanSquaredError(reduction=None)
    flat = keras.ops.convert_to_numpy(per_rating(np.array([3.0, 4.0, 5.0], "float32"), predictions))
    column = keras.ops.convert_to_numpy(per_rating(np.array([[3.0], [4.0], [5.0]], "float32"), predictions))
    by_hand = (keras.ops.convert_to_numpy(predictions)[:, 0] - [3.0, 4.0, 5.0]) ** 2
    assert flat.shape == column.shape == (3,)  # one loss per rating, which Keras then averages and scales per replica
    np.testing.assert_allclose(flat, by_hand, rtol=1e-5)
    np.testing.assert_allclose(column, by_hand, rtol=1e-5)


_MIRRORED_STEP = textwrap.dedent("""
    import json
    from course_lib import distributed
    devices = distributed.virtual_cpus(2)
    import keras, numpy as np, tensorflow as tf
    from course_lib import recommender as rec
    rng = np.random.default_rng(0)
    inputs = {"user_id": rng.integers(1, 50, 64).astype("int32"), "movie_id": rng.integers(1, 40, 64).astype("int32")}
    targets = rng.integers(1, 6, 64).astype("float32")

    def step(strategy, squeeze):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = rec.build_rating_model(49, 39, global_mean=3.5, dim=4, l2=0.05, seed=0)
            if squeeze:  # the (batch,) twin: "mse" is one number, never scaled per replica
                model = keras.Model(model.inputs, keras.ops.squeeze(model.outputs[0], -1))
            before = [w.numpy() for w in model.weights]
            model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
            loss = model.fit(inputs, targets, batch_size=64, epochs=1, shuffle=False, verbose=0).history["loss"][0]
        return [w.numpy() - b for w, b in zip(model.weights, before)], loss

    one, one_loss = step(tf.distribute.get_strategy(), False)
    two, two_loss = step(tf.distribute.MirroredStrategy(devices), False)
    flat, _ = step(tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice()), True)
    print("RESULT " + json.dumps({
        "replicas": len(devices), "largest_difference": max(float(np.abs(a - b).max()) for a, b in zip(one, two)),
        "losses": [one_loss, two_loss],
        "flat_ratio": float(np.linalg.norm(np.concatenate([f.ravel() for f in flat]))
                            / np.linalg.norm(np.concatenate([o.ravel() for o in one])))}))
""")


def test_one_sgd_step_under_mirrored_strategy_equals_one_device():
    """The course's rating model, "mse" and SGD, one step on 2 logical CPUs: one device's weights and loss.

    Runs in a child process (logical CPUs must be made before TensorFlow's first op). The (batch,)
    twin of the same model steps twice as far, so the test would fail if the column were not the fix.
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
    done = subprocess.run([sys.executable, "-c", _MIRRORED_STEP], env=env, capture_output=True, text=True, timeout=300)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, done.stderr[-3000:]
    result = json.loads(line[len("RESULT "):])
    assert result["replicas"] == 2 and result["largest_difference"] < 1e-6
    assert result["losses"][0] == pytest.approx(result["losses"][1], rel=1e-6)
    assert result["flat_ratio"] == pytest.approx(2.0, rel=1e-3)


def test_per_example_l2_is_added_as_a_loss():
    model = small_model(l2=0.5)
    inputs = {"user_id": np.array([1, 2], "int32"), "movie_id": np.array([3, 4], "int32")}
    model(inputs, training=True)
    p = model.get_layer(rec.USER_EMBEDDING).get_weights()[0]
    q = model.get_layer(rec.MOVIE_EMBEDDING).get_weights()[0]
    expected = 0.5 * (np.sum(p[[1, 2]] ** 2) + np.sum(q[[3, 4]] ** 2)) / 2  # per example, batch mean
    assert float(sum(keras.ops.convert_to_numpy(loss) for loss in model.losses)) == pytest.approx(expected, rel=1e-4)


def test_build_rating_model_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_movies"):
        rec.build_rating_model(10, 0, global_mean=3.0)
    with pytest.raises(TypeError, match="dim"):
        rec.build_rating_model(10, 10, global_mean=3.0, dim=2.5)
    with pytest.raises(ValueError, match="penalties"):
        rec.build_rating_model(10, 10, global_mean=3.0, l2=-1)


def test_training_beats_the_global_mean_and_saves(tmp_path):
    keras.utils.set_random_seed(0)
    ratings = synthetic_ratings(n_users=60, n_movies=30, per_user=20)
    split = rec.split_ratings(ratings, seed=0)
    mean = rec.global_mean_baseline(split.train)
    model = rec.build_rating_model(split.n_users, split.n_movies, global_mean=mean, dim=4, l2=0.01)
    config = rec.TrainConfig(dim=4, l2=0.01, learning_rate=0.05, batch_size=128, epochs=30, patience=5)
    history, seconds = rec.train_rating_model(model, split, config)
    assert set(history) >= {"loss", "rmse", "val_rmse"} and len(seconds) == len(history["loss"])
    predicted = rec.predict_ratings(model, split.test)
    assert predicted.dtype == np.float32 and predicted.min() >= 1 and predicted.max() <= 5
    baseline = rec.rmse(split.test.rating, np.full(len(split.test), mean))
    assert rec.rmse(split.test.rating, predicted) < baseline - 0.1
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert np.allclose(rec.predict_ratings(reloaded, split.test), predicted, atol=1e-5)


def test_an_epoch_is_one_pass_over_the_training_part_whatever_steps_per_execution():
    """With 32 steps per call and 5 batches per epoch, fit still takes exactly 5 steps per epoch."""
    keras.utils.set_random_seed(0)
    split = rec.split_ratings(synthetic_ratings(n_users=60, n_movies=30, per_user=20), seed=0)
    config = rec.TrainConfig(dim=4, batch_size=200, epochs=3, patience=3, steps_per_execution=32)
    model = rec.build_model_for(split, config, seed=0)
    history, _ = rec.train_rating_model(model, split, config)
    batches_per_epoch = -(-len(split.train) // config.batch_size)
    assert batches_per_epoch < config.steps_per_execution
    assert int(model.optimizer.iterations) == batches_per_epoch * len(history["loss"])


def test_ids_outside_the_tables_give_a_clear_error():
    model = rec.build_rating_model(5, 5, global_mean=3.0)
    frame = pd.DataFrame({"user_id": [1, 9], "movie_id": [1, 2], "rating": [4.0, 3.0]})
    with pytest.raises(ValueError, match="user_id 9 has no row"):
        rec.predict_ratings(model, frame)
    with pytest.raises(ValueError, match=r"movie_id.*below 1.*padding"):
        rec.predict_ratings(model, frame.assign(user_id=[1, 2], movie_id=[0, 1]))
    with pytest.raises(TypeError, match="build_rating_model"):
        rec.predict_ratings(keras.Sequential([keras.layers.Dense(1)]), frame)
    split = rec.split_ratings(synthetic_ratings(), seed=0)
    with pytest.raises(ValueError, match="n_users >= 30"):
        rec.train_rating_model(rec.build_rating_model(10, 20, global_mean=3.0), split)


def test_training_needs_a_validation_slice():
    split = rec.split_ratings(synthetic_ratings(), validation_fraction=0)
    model = rec.build_rating_model(split.n_users, split.n_movies, global_mean=3.0)
    with pytest.raises(ValueError, match="validation"):
        rec.train_rating_model(model, split)


# --------------------------------------------------------------------------- retrieval and top-N


def test_known_items_mask_and_top_n():
    ratings = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [2, 3, 1], "rating": [4.0, 5.0, 3.0]})
    known = rec.known_items_mask(ratings, n_users=2, n_movies=4)
    assert known.shape == (3, 5) and known[:, 0].all() and known[1, 2] and known[1, 3] and not known[1, 1]
    scores = np.array([[9.0, 1.0, 8.0, 7.0, 2.0]] * 3)
    assert rec.top_n(scores, known, k=2)[1].tolist() == [4, 1]
    assert rec.top_n(scores[0], k=2).tolist() == [2, 3]  # the padding id 0 is never recommended
    assert rec.top_n(scores[0], k=2, exclude_padding=False).tolist() == [0, 2]
    assert rec.top_n(np.zeros(4), k=3).tolist() == [1, 2, 3]  # ties: lower id first
    with pytest.raises(ValueError, match="k=9"):
        rec.top_n(scores, known, k=9)
    with pytest.raises(ValueError, match="shape"):
        rec.top_n(scores, known[:2], k=2)
    with pytest.raises(ValueError, match="exceed"):
        rec.known_items_mask(ratings, n_users=1, n_movies=4)


def test_ranking_metrics_by_hand():
    known = pd.DataFrame({"user_id": [1, 2], "movie_id": [1, 1], "rating": [5.0, 5.0]})
    test = pd.DataFrame({"user_id": [1, 1, 2, 2], "movie_id": [2, 4, 3, 2], "rating": [5.0, 4.0, 5.0, 2.0]})
    scores = np.zeros((3, 6))  # movie 5 has no rating: the catalogue is named with n_movies=5
    scores[1] = [0, 9, 8, 1, 7, 0]  # user 1: movie 1 is known, so the list (k=2) is [2, 4]: both relevant
    scores[2] = [0, 9, 8, 1, 7, 0]  # user 2: list = [2, 4]: relevant is {3} only (movie 2 got 2 stars)
    result = rec.ranking_metrics(scores, known, test, k=2, n_movies=5)
    assert result["users"] == 2
    assert result["recall"] == pytest.approx((1.0 + 0.0) / 2)
    assert result["ndcg"] == pytest.approx((1.0 + 0.0) / 2)
    scores[2] = [0, 9, 1, 8, 7, 0]  # user 2: list = [3, 4]: hit at rank 1
    assert rec.ranking_metrics(scores, known, test, k=2, n_movies=5)["ndcg"] == pytest.approx(1.0)
    scores[2] = [0, 9, 1, 7, 8, 0]  # user 2: list = [4, 3]: hit at rank 2
    ndcg = rec.ranking_metrics(scores, known, test, k=2, n_movies=5)["ndcg"]
    assert ndcg == pytest.approx((1.0 + 1 / np.log2(3)) / 2)
    # the same scores as a function of user ids, one user per chunk
    assert rec.ranking_metrics(lambda ids: scores[ids], known, test, k=2, chunk=1, n_movies=5)["ndcg"] == pytest.approx(ndcg)
    assert rec.ranking_metrics(scores, known, test, k=2, max_users=1, n_movies=5)["users"] == 1
    popularity = rec.popularity_scores(known, 5)
    assert popularity.tolist() == [0, 2, 0, 0, 0, 0]
    assert rec.ranking_metrics(popularity, known, test, k=2, n_movies=5)["users"] == 2
    with pytest.raises(ValueError, match="nothing to recall"):
        rec.ranking_metrics(scores, known, test, min_rating=6, n_movies=5)
    with pytest.raises(ValueError, match="shape"):
        rec.ranking_metrics(lambda ids: scores[:1], known, test, k=2, n_movies=5)


def test_rating_scorer_matches_predict():
    model = small_model()
    users = np.array([1, 3], dtype="int32")
    table = rec.rating_scorer(model)(users)
    assert table.shape == (2, 6)
    movies = np.array([4, 2], dtype="int32")
    predicted = model.predict({"user_id": users, "movie_id": movies}, verbose=0)[:, 0]  # the model gives a (batch, 1) column
    assert np.allclose(table[[0, 1], movies], predicted, atol=1e-5)


# --------------------------------------------------------------------------- vectors for the Projector


def test_projector_export(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    labels = pd.DataFrame({"title": [f"Movie\t{i}" for i in range(6)], "year": range(2000, 2006)})
    vector_path, meta_path = rec.export_projector_tsv(vectors, labels, tmp_path / "projector")
    loaded = np.loadtxt(vector_path, delimiter="\t")
    assert loaded.shape == (6, 4) and np.allclose(loaded, vectors, atol=1e-5)
    lines = meta_path.read_text().splitlines()
    assert lines[0] == "title\tyear" and lines[1] == "Movie 0\t2000" and len(lines) == 7
    with pytest.raises(ValueError, match="one label per vector"):
        rec.export_projector_tsv(vectors, ["a", "b"], tmp_path)


def test_epoch_timer_includes_the_validation_pass():
    # Keras calls on_epoch_end after validating: the recorded time covers training and validation
    import time

    import keras

    class SlowValidation(keras.callbacks.Callback):
        def on_test_end(self, logs=None):
            time.sleep(0.3)

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    timer = rec.EpochTimer()
    x = np.zeros((8, 1), "float32")
    model.fit(x, x, validation_data=(x, x), epochs=1, callbacks=[SlowValidation(), timer], verbose=0)
    assert timer.seconds[0] >= 0.3


# --------------------------------------------------------------------------- top_n against a brute-force reference

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


def brute_force_top_n(row, excluded, k):
    """Sort the allowed (score, id) pairs by score descending, then id ascending; take k."""
    allowed = [(-float(score), item) for item, score in enumerate(row) if not excluded[item]]
    return [item for _, item in sorted(allowed)[:k]]


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n_rows=st.integers(1, 4),
    n_items=st.integers(2, 12),
    exclude_padding=st.booleans(),
)
def test_top_n_matches_a_brute_force_reference(data, n_rows, n_items, exclude_padding):
    # few distinct values, so ties are common; -inf is a legal (lowest) score
    values = st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 1.0, 2.0])
    scores = data.draw(arrays(np.float64, (n_rows, n_items), elements=values))
    exclude = data.draw(arrays(np.bool_, (n_rows, n_items)))
    excluded = exclude.copy()
    if exclude_padding:
        excluded[:, 0] = True
    left = int((~excluded).sum(axis=1).min())
    k = data.draw(st.integers(1, n_items))
    if k > left:  # asking for more than remain is an error naming the shortfall, never a padded list
        with pytest.raises(ValueError, match=f"k={k} but row"):
            rec.top_n(scores, exclude, k=k, exclude_padding=exclude_padding)
        return
    got = rec.top_n(scores, exclude, k=k, exclude_padding=exclude_padding)
    assert got.shape == (n_rows, k) and got.dtype == np.int64
    for row in range(n_rows):
        assert got[row].tolist() == brute_force_top_n(scores[row], excluded[row], k)
        assert not excluded[row, got[row]].any()


def test_top_n_refuses_nan_and_non_boolean_masks():
    with pytest.raises(ValueError, match="NaN"):
        rec.top_n(np.array([[0.0, np.nan, 1.0]]), k=1)
    with pytest.raises(TypeError, match="boolean"):
        rec.top_n(np.zeros((1, 3)), np.zeros((1, 3)), k=1)
    with pytest.raises(TypeError, match="k"):
        rec.top_n(np.zeros(3), k=1.0)
    with pytest.raises(ValueError, match="k"):
        rec.top_n(np.zeros(3), k=0)


# --------------------------------------------------------------------------- refused inputs (issue 12)


@pytest.mark.parametrize(
    "column, values, error, message",
    [
        ("user_id", [1.9, 2.0, 3.0], TypeError, "non-integer"),  # never truncated to 1
        ("user_id", [1.0, 2.0, 3.0], TypeError, "stored as floats"),
        ("user_id", ["1", "2", "10"], TypeError, "strings"),  # never compared as text
        ("movie_id", [1, -2, 3], ValueError, "below 1"),  # never wrapped to the last row
        ("movie_id", [1, 0, 3], ValueError, "padding"),
        ("rating", [4.0, np.nan, 3.0], ValueError, "missing values"),  # never trained on
        ("rating", [4.0, np.inf, 3.0], ValueError, "infinite"),
    ],
)
def test_bad_ids_and_ratings_are_refused(column, values, error, message):
    frame = pd.DataFrame({"user_id": [1, 2, 3], "movie_id": [1, 2, 3], "rating": [4.0, 5.0, 3.0]})
    frame[column] = values
    with pytest.raises(error, match=message):
        rec.split_ratings(frame)
    with pytest.raises(error, match=message):
        rec.model_inputs(frame)


@pytest.mark.parametrize(
    "field, value, error",
    [("batch_size", 0, ValueError), ("batch_size", -5, ValueError), ("learning_rate", 0.0, ValueError),
     ("learning_rate", -0.01, ValueError), ("learning_rate", float("nan"), ValueError), ("epochs", 0, ValueError),
     ("dim", 0, ValueError), ("dim", -3, ValueError), ("dim", 8.0, TypeError), ("l2", -0.1, ValueError),
     ("history_length", -1, ValueError), ("steps_per_execution", 0, ValueError), ("jit_compile", "yes", TypeError),
     ("plateau_factor", 1.5, ValueError)],
)  # fmt: skip
def test_train_config_refuses_nonsense(field, value, error):
    with pytest.raises(error, match=field):
        rec.TrainConfig(**{field: value})


def test_rating_model_refuses_a_nan_global_mean():
    with pytest.raises(ValueError, match="global_mean"):
        rec.build_rating_model(5, 5, global_mean=float("nan"))


def test_rmse_of_nan_is_refused():
    with pytest.raises(ValueError, match="y_pred.*NaN"):
        rec.rmse([4.0, 3.0], [np.nan, 3.0])
    with pytest.raises(ValueError, match="y_true"):
        rec.mae([np.nan, 3.0], [4.0, 3.0])


def test_ranking_metrics_refuses_wrong_tables_and_sizes():
    known = pd.DataFrame({"user_id": [1, 2], "movie_id": [1, 1], "rating": [5.0, 5.0]})
    test = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [2, 4, 3], "rating": [5.0, 4.0, 5.0]})
    scores = np.zeros((3, 5))
    with pytest.raises(ValueError, match="columns"):  # too narrow: movie 4 has no column
        rec.ranking_metrics(scores[:, :4], known, test, k=2)
    with pytest.raises(ValueError, match="7 columns but 6"):  # wider than the catalogue the caller named
        rec.ranking_metrics(np.zeros((3, 7)), known, test, k=2, n_movies=5)
    with pytest.raises(ValueError, match="rows"):  # no row for user 2
        rec.ranking_metrics(scores[:2], known, test, k=2)
    with pytest.raises(ValueError, match="every score"):
        rec.ranking_metrics(np.full((3, 5), np.nan), known, test, k=2)
    with pytest.raises(ValueError, match="max_users"):
        rec.ranking_metrics(scores, known, test, k=2, max_users=0)
    with pytest.raises(ValueError, match="k"):
        rec.ranking_metrics(scores, known, test, k=0)
    with pytest.raises(ValueError, match="columns"):  # a scoring function whose width changes between chunks
        rec.ranking_metrics(lambda ids: np.zeros((len(ids), 6 + int(ids[0]))), known, test, k=2, chunk=1)


def test_ranking_metrics_refuses_a_table_wider_than_the_catalogue():
    """Issue 17: extra columns would take places in every list and never be hits (a recall of 0, silently)."""
    known = pd.DataFrame({"user_id": [1, 2], "movie_id": [1, 1], "rating": [5.0, 5.0]})
    test = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [2, 4, 3], "rating": [5.0, 4.0, 5.0]})
    wide = np.r_[np.zeros(5), np.full(20, 9.0)]  # 25 "movies", the 20 unknown ones scored best
    with pytest.raises(ValueError, match=r"25 columns.*largest movie id is 4.*n_movies=24"):
        rec.ranking_metrics(wide, known, test, k=2)
    with pytest.raises(ValueError, match="25 columns"):
        rec.ranking_metrics(np.tile(wide, (3, 1)), known, test, k=2)
    assert rec.ranking_metrics(wide, known, test, k=2, n_movies=24)["recall"] == 0.0  # asked for: the caller's catalogue
    assert rec.ranking_metrics(wide[:5], known, test, k=2)["users"] == 2


def test_recall_is_the_standard_one_and_the_capped_variant_is_named():
    known = pd.DataFrame({"user_id": [1], "movie_id": [1], "rating": [5.0]})
    test = pd.DataFrame({"user_id": [1, 1, 1], "movie_id": [2, 3, 4], "rating": [5.0, 5.0, 5.0]})
    scores = np.array([[0, 0, 0, 0, 0], [0, 9, 8, 7, 1.0]])  # user 1's list (k=1): [2]; relevant {2, 3, 4}
    result = rec.ranking_metrics(scores, known, test, k=1)
    assert result["recall"] == pytest.approx(1 / 3)  # hits / relevant
    assert result["recall_capped"] == pytest.approx(1.0)  # hits / min(k, relevant)
    # a user with fewer than k movies left gets a shorter list, not excluded movies
    short = rec.ranking_metrics(scores, known, test, k=10)
    assert short["recall"] == pytest.approx(1.0) and short["ndcg"] == pytest.approx(1.0)


def test_export_projector_tsv_stays_in_its_folder_and_is_atomic(tmp_path, monkeypatch):
    vectors = np.ones((2, 3), "float32")
    for name in ("../x", "a/b", "", ".."):
        with pytest.raises(ValueError, match="name"):
            rec.export_projector_tsv(vectors, ["a", "b"], tmp_path / "out", name=name)
    assert not (tmp_path / "x_vectors.tsv").exists()
    with pytest.raises(ValueError, match="NaN"):
        rec.export_projector_tsv(np.full((2, 3), np.nan), ["a", "b"], tmp_path / "out")

    def broken_to_csv(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken_to_csv)
    with pytest.raises(OSError, match="disk full"):
        rec.export_projector_tsv(vectors, ["a", "b"], tmp_path / "out")
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert left == ["movies_vectors.tsv"], left  # complete file only: no 0-byte metadata, no temporary
    assert (tmp_path / "out" / "movies_vectors.tsv").stat().st_size > 0


# --------------------------------------------------------------------------- implicit feedback and training options


def test_rated_movies_table_uses_training_ratings_only_padded_at_the_end():
    train = pd.DataFrame({"user_id": [1, 2, 1, 1, 3], "movie_id": [5, 2, 7, 9, 4], "rating": [4.0] * 5})
    table = rec.rated_movies_table(train, n_users=4, max_length=3)
    assert table.dtype == np.int32 and table.shape == (5, 3)
    assert table[1].tolist() == [5, 7, 9] and table[2].tolist() == [2, 0, 0] and table[3].tolist() == [4, 0, 0]
    assert not table[0].any() and not table[4].any()  # padding row; a user without training ratings
    sampled = rec.rated_movies_table(train, n_users=4, max_length=2, seed=1)
    assert set(sampled[1]) < {5, 7, 9} and len(set(sampled[1])) == 2  # a sample, in train's order
    assert np.array_equal(sampled, rec.rated_movies_table(train, n_users=4, max_length=2, seed=1))
    with pytest.raises(ValueError, match="max_length"):
        rec.rated_movies_table(train, 4, 0)
    with pytest.raises(ValueError, match="n_users"):
        rec.rated_movies_table(train, 2, 3)


def test_build_model_for_takes_the_history_from_train_only():
    split = rec.split_ratings(synthetic_ratings(), seed=0)
    model = rec.build_model_for(split, rec.TrainConfig(dim=4, history_length=20), seed=0)
    table = keras.ops.convert_to_numpy(model.get_layer(rec.RATED_MOVIES).table)
    for part, should_appear in ((split.train, True), (split.validation, False), (split.test, False)):
        listed = {(u, m) for u, row in enumerate(table) for m in row if m}
        pairs = set(zip(part.user_id.tolist(), part.movie_id.tolist()))
        assert (pairs <= listed) if should_appear else not (pairs & listed)


def test_masked_mean_ignores_padding_and_gives_zeros_for_an_empty_row():
    vectors = np.array([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]], [[5.0, 5.0], [7.0, 7.0], [1.0, 1.0]]], "float32")
    mask = np.array([[True, True, False], [False, False, False]])
    out = keras.ops.convert_to_numpy(MaskedPooling()(vectors, mask=mask))
    np.testing.assert_allclose(out, [[2.0, 3.0], [0.0, 0.0]])
    # inside a model, Embedding(mask_zero=True) supplies the mask
    ids = keras.Input(shape=(3,), dtype="int32")
    pooled = MaskedPooling()(keras.layers.Embedding(4, 2, mask_zero=True, embeddings_initializer="ones")(ids))
    result = keras.Model(ids, pooled).predict(np.array([[1, 0, 0], [0, 0, 0]]), verbose=0)
    np.testing.assert_allclose(result, [[1.0, 1.0], [0.0, 0.0]])


def test_implicit_model_trains_with_xla_and_its_scorer_matches_predict():
    keras.utils.set_random_seed(0)
    split = rec.split_ratings(synthetic_ratings(n_users=60, n_movies=30, per_user=20), seed=0)
    config = rec.TrainConfig(dim=4, history_length=8, implicit_l2=0.01, batch_size=64, epochs=3, learning_rate=0.02,
                             jit_compile=True, steps_per_execution=4)  # fmt: skip
    model = rec.build_model_for(split, config, seed=0)
    history, seconds = rec.train_rating_model(model, split, config)
    assert len(seconds) == len(history["val_rmse"]) >= 1 and np.isfinite(history["val_rmse"]).all()
    assert model.steps_per_execution == 4
    if keras.backend.backend() == "jax":
        assert model.jit_compile is True
    elif keras.backend.backend() == "tensorflow":
        from tensorflow.python.framework.config import is_op_determinism_enabled  # what Keras itself consults

        assert model.jit_compile is not is_op_determinism_enabled()  # XLA unless op determinism is on
    users = np.array([1, 2, 3])
    movies = np.array([4, 5, 6])
    table = rec.rating_scorer(model)(users)
    frame = pd.DataFrame({"user_id": users, "movie_id": movies, "rating": [3.0, 3.0, 3.0]})
    np.testing.assert_allclose(table[np.arange(3), movies], rec.predict_ratings(model, frame, clip=False), atol=1e-4)


def test_no_jit_config_compiles_without_xla():
    keras.utils.set_random_seed(0)
    split = rec.split_ratings(synthetic_ratings(), seed=0)
    config = rec.TrainConfig(dim=4, batch_size=64, epochs=1, jit_compile=False, steps_per_execution=1)
    model = rec.build_model_for(split, config, seed=0)
    rec.train_rating_model(model, split, config)
    assert model.jit_compile is False and model.steps_per_execution == 1


def test_lesson_configs_are_plain_mf_and_the_benchmark_configs_use_the_implicit_term():
    assert rec.TrainConfig() == rec.LESSON_CONFIGS["100k"]
    for variant, config in rec.LESSON_CONFIGS.items():
        assert config.history_length == 0 and rec.CONFIGS[variant].history_length > 0


@pytest.mark.parametrize("normalization", ["mean", "sqrt"])
def test_implicit_weights_spread_one_over_n_or_one_over_sqrt_n(normalization):
    rated = np.array([[0, 0, 0], [2, 3, 0], [4, 0, 0], [1, 2, 4]], dtype=np.int32)
    weights = rec.implicit_weights(rated, n_movies=5, normalization=normalization)
    assert weights.dtype == np.float32 and weights.shape == (4, 6)
    scale = {"mean": lambda n: 1 / n, "sqrt": lambda n: n ** -0.5}[normalization]
    expected = np.zeros((4, 6))
    expected[1, [2, 3]] = scale(2)
    expected[2, 4] = scale(1)
    expected[3, [1, 2, 4]] = scale(3)
    np.testing.assert_allclose(weights, expected, rtol=1e-6)  # padding column 0 and an empty row stay 0
    with pytest.raises(ValueError, match="normalization"):
        rec.implicit_weights(rated, 5, "median")
    with pytest.raises(ValueError, match="movie ids 0..3"):
        rec.implicit_weights(rated, 3)


def test_masked_mean_with_sqrt_normalization_divides_the_sum_by_sqrt_n():
    vectors = np.array([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]], [[5.0, 5.0], [7.0, 7.0], [1.0, 1.0]]], "float32")
    mask = np.array([[True, True, False], [False, False, False]])
    out = keras.ops.convert_to_numpy(MaskedPooling("sqrtn")(vectors, mask=mask))
    np.testing.assert_allclose(out, [[4.0 / np.sqrt(2), 6.0 / np.sqrt(2)], [0.0, 0.0]], rtol=1e-6)
    with pytest.raises(ValueError, match="combiner"):
        MaskedPooling("max")


@pytest.mark.parametrize("normalization", ["mean", "sqrt"])
def test_matmul_implicit_term_equals_the_masked_gather_and_trains(normalization):
    split = rec.split_ratings(synthetic_ratings(n_users=60, n_movies=30, per_user=20), seed=0)
    base = rec.TrainConfig(dim=4, history_length=8, implicit_normalization=normalization, batch_size=64, epochs=2,
                           learning_rate=0.02, steps_per_execution=4)  # fmt: skip
    gather = rec.build_model_for(split, base, seed=0)
    matmul_config = dataclasses.replace(base, implicit_method="matmul")
    matmul = rec.build_model_for(split, matmul_config, seed=0)
    names = {layer.name for layer in matmul.layers}
    assert rec.IMPLICIT_MATMUL in names and rec.RATED_MOVIES not in names and rec.IMPLICIT_EMBEDDING not in names
    # same seed, same initial tables: the two ways give the same predictions
    np.testing.assert_allclose(rec.predict_ratings(gather, split.test, clip=False),
                               rec.predict_ratings(matmul, split.test, clip=False), atol=1e-5)  # fmt: skip
    # a different normalisation gives different predictions (the option is not ignored)
    other = "sqrt" if normalization == "mean" else "mean"
    changed = rec.build_model_for(split, dataclasses.replace(matmul_config, implicit_normalization=other), seed=0)
    assert np.abs(rec.predict_ratings(changed, split.test, clip=False)
                  - rec.predict_ratings(matmul, split.test, clip=False)).max() > 1e-4  # fmt: skip
    keras.utils.set_random_seed(0)
    history, _ = rec.train_rating_model(matmul, split, matmul_config)
    assert np.isfinite(history["val_rmse"]).all() and history["val_rmse"][-1] < history["val_rmse"][0] + 0.05
    users, movies = split.test["user_id"].to_numpy()[:5], split.test["movie_id"].to_numpy()[:5]
    table = rec.rating_scorer(matmul)(users)
    np.testing.assert_allclose(table[np.arange(5), movies],
                               rec.predict_ratings(matmul, split.test.iloc[:5], clip=False), atol=1e-4)  # fmt: skip


def test_implicit_options_refuse_nonsense():
    with pytest.raises(ValueError, match="implicit_normalization"):
        rec.TrainConfig(implicit_normalization="median")
    with pytest.raises(ValueError, match="implicit_method"):
        rec.TrainConfig(implicit_method="sparse")
    with pytest.raises(ValueError, match="implicit_l2"):
        rec.TrainConfig(history_length=8, implicit_method="matmul", implicit_l2=0.01)
    with pytest.raises(ValueError, match="implicit_l2"):
        rec.build_rating_model(5, 5, global_mean=3.0, rated_movies=np.zeros((6, 2), np.int32), implicit_l2=0.1,
                               implicit_method="matmul")  # fmt: skip
    with pytest.raises(ValueError, match="shape"):
        rec.ImplicitMatmul(5, 5, 2, np.zeros((3, 3), np.float32))
