"""PREDICT models and evaluation (leadql/predict/models.py, evaluate.py) on synthetic data."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from leadql.errors import LeadQLExecutionError
from leadql.predict import evaluate, models

MONTHS = np.array(
    ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01"],
    dtype="datetime64[ns]",
)


@pytest.fixture(autouse=True)
def _one_thread():
    # One OpenMP thread: small fits are faster and timing does not depend on machine load.
    with threadpool_limits(1):
        yield


def make_binary(n: int, seed: int, months=MONTHS):
    """`signal` drives the outcome, `plan` = 'gold' adds to it, `noise` and `other` do not."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "other": rng.uniform(0, 100, size=n),
            "plan": rng.choice(["gold", "silver", "bronze"], size=n, p=[0.2, 0.4, 0.4]),
        }
    )
    X.loc[rng.random(n) < 0.15, "noise"] = np.nan
    X.loc[rng.random(n) < 0.05, "plan"] = None
    logit = 2.5 * X["signal"] + 1.2 * (X["plan"] == "gold") - 1.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    times = months[rng.integers(0, len(months), n)]
    return X, y, times


@pytest.fixture(scope="module")
def binary_data():
    return make_binary(3000, seed=1), make_binary(3000, seed=2)


@pytest.fixture(scope="module")
def trained(binary_data):
    with threadpool_limits(1):
        (X, y, t), _ = binary_data
        return {
            alg: models.train(
                X,
                y,
                t,
                task_type="binary_classification",
                algorithm=alg,
                categorical=["plan"],
                seed=0,
            )
            for alg in models.ALGORITHMS
        }


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_recovers_planted_signal_on_later_slice(trained, binary_data, algorithm):
    model = trained[algorithm]
    m = model.metrics
    assert m["validation"]["scheme"] == "time"
    assert 0.15 <= m["validation"]["valid_share"] <= 0.25
    assert m["validation"]["valid_from"].startswith("2026-06-01")
    assert model.train_rows + model.valid_rows == 3000
    assert m["auc"] > 0.8
    assert model.importance[0][0] == "signal"
    assert "plan" in [f for f, _ in model.importance[:3]], model.importance
    _, (X_test, y_test, _) = binary_data
    test = evaluate.metrics(
        y_test, models.predict(model, X_test), task_type="binary_classification"
    )
    assert test["auc"] > 0.8
    json.dumps(m)  # the registry stores it as JSON


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_calibration_keeps_or_improves_brier(trained, binary_data, algorithm):
    model = trained[algorithm]
    assert model.metrics["calibration_method"] in ("isotonic", "sigmoid", None)
    _, (X_test, y_test, _) = binary_data
    raw = model.estimator.predict_proba(model.encoder.transform(X_test))[:, 1]
    calibrated = models.predict(model, X_test)
    brier_raw = np.mean((raw - y_test) ** 2)
    brier_cal = np.mean((calibrated - y_test) ** 2)
    assert brier_cal <= brier_raw + 0.006  # fresh data: the validation slice is only ~500 rows
    # on the validation slice, with calibrators cross-fitted (no row scored by one that saw it)
    assert model.metrics["brier"] <= model.metrics["uncalibrated"]["brier"] + 0.001
    # the calibrated probabilities keep the raw ordering
    assert evaluate.metrics(y_test, calibrated, task_type="binary_classification")["auc"] == (
        pytest.approx(
            evaluate.metrics(y_test, raw, task_type="binary_classification")["auc"], abs=1e-9
        )
    )


def test_calibration_method_choice():
    assert models.calibrator_class(np.r_[np.ones(150), np.zeros(5000)]).method == "sigmoid"
    assert models.calibrator_class(np.r_[np.ones(500), np.zeros(5000)]).method == "isotonic"


def test_miscalibrated_model_gets_calibrated():
    # Trained where positives are rare, validated (later) where they are common: the model's
    # probabilities are far too low on the later slice and calibration must step in.
    X, y, t = make_binary(4000, seed=3)
    late = t == MONTHS[-1]
    y = np.where(late, (np.random.default_rng(0).random(4000) < 0.6) | (y == 1), y)
    model = models.train(
        X, y, t, task_type="binary_classification", algorithm="logistic", categorical=["plan"]
    )
    m = model.metrics
    assert m["calibration_method"] in ("isotonic", "sigmoid")
    assert model.calibrator is not None
    assert m["brier"] < m["uncalibrated"]["brier"]


def test_miscalibrated_scores_get_fixed():
    # Heavily imbalanced training classes with class weights would skew probabilities; here we
    # skew them by hand: the isotonic calibrator must bring a squashed score back to the rate.
    rng = np.random.default_rng(0)
    raw = rng.uniform(0, 1, 5000)
    y = (rng.random(5000) < raw**3).astype(int)
    cal = models.IsotonicCalibrator().fit(raw, y)
    assert np.mean((cal(raw) - y) ** 2) < np.mean((raw - y) ** 2)
    sig = models.SigmoidCalibrator().fit(raw, y)
    assert np.mean((sig(raw) - y) ** 2) < np.mean((raw - y) ** 2)


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_unseen_categories_and_missing_values(trained, algorithm):
    model = trained[algorithm]
    X = pd.DataFrame(
        {
            "signal": [0.0, np.nan, 2.0, None],
            "noise": [np.nan, np.nan, 1.0, 0.0],
            "other": [50.0, 10.0, np.nan, 1.0],
            "plan": ["platinum", None, "gold", np.nan],
        }
    )
    p = models.predict(model, X)
    assert p.shape == (4,)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    assert p[2] > p[0]  # gold with a high signal scores above an unknown plan at signal 0
    assert len(models.reasons(model, X)) == 4


def test_gbm_fast_path_matches_sklearn(trained, binary_data):
    model = trained["gbm"]
    assert model.fast_path
    _, (X_test, _, _) = binary_data
    public = model.estimator.predict_proba(model.encoder.transform(X_test))[:, 1]
    if model.calibrator is not None:
        public = model.calibrator(public)
    np.testing.assert_allclose(models.predict(model, X_test), public, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_chunks_and_category_dtype_give_the_same_scores(
    trained, binary_data, algorithm, monkeypatch
):
    model = trained[algorithm]
    _, (X_test, _, _) = binary_data
    expected = models.predict(model, X_test)
    as_category = X_test.assign(plan=X_test["plan"].astype("category"))
    np.testing.assert_array_equal(models.predict(model, as_category), expected)
    expected_reasons = models.reasons(model, X_test)
    monkeypatch.setattr(models, "SCORE_CHUNK_CELLS", 1)  # 1024-row chunks
    np.testing.assert_array_equal(models.predict(model, X_test), expected)
    monkeypatch.setattr(models, "SCORE_THREADS", 2)  # gbm: two OpenMP threads per tree walk
    np.testing.assert_array_equal(models.predict(model, X_test), expected)
    assert models.reasons(model, X_test) == expected_reasons


def test_missing_feature_column_is_a_clear_error(trained):
    with pytest.raises(LeadQLExecutionError, match="lacks feature column"):
        models.predict(trained["gbm"], pd.DataFrame({"signal": [1.0]}))


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_reasons_name_the_planted_feature(trained, algorithm):
    model = trained[algorithm]
    base = model.baseline
    X = pd.DataFrame(
        {
            "signal": [3.0, -3.0],
            "noise": [base["noise"]] * 2,
            "other": [base["other"]] * 2,
            "plan": [base["plan"]] * 2,
        }
    )
    out = models.reasons(model, X, k=2)
    assert out[0].startswith("signal=3 (+")
    assert out[1].startswith("signal=-3 (-")
    assert models.reasons(model, X.iloc[:0]) == []


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_pickle_round_trip(trained, binary_data, algorithm):
    model = trained[algorithm]
    _, (X_test, _, _) = binary_data
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(models.predict(again, X_test), models.predict(model, X_test))
    assert models.reasons(again, X_test.head(20)) == models.reasons(model, X_test.head(20))


def make_regression(n: int, seed: int):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {"x": rng.normal(size=n), "z": rng.normal(size=n), "kind": rng.choice(["a", "b"], size=n)}
    )
    X.loc[rng.random(n) < 0.1, "z"] = np.nan
    y = 10 * X["x"] + 5 * (X["kind"] == "a") + rng.normal(size=n)
    return X, y.to_numpy(), MONTHS[rng.integers(0, 6, n)]


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_regression(algorithm):
    X, y, t = make_regression(1500, 4)
    model = models.train(X, y, t, task_type="regression", algorithm=algorithm, categorical=["kind"])
    assert model.calibrator is None
    assert model.metrics["r2"] > 0.8
    assert model.importance[0][0] == "x"
    X2, y2, _ = make_regression(500, 5)
    pred = models.predict(model, X2)
    assert pred.shape == (500,)
    assert evaluate.metrics(y2, pred, task_type="regression")["r2"] > 0.8
    assert len(evaluate.lift_rows(model.metrics)) == 10
    if algorithm == "logistic":
        assert type(model.estimator).__name__ == "Ridge"


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_multiclass(algorithm):
    rng = np.random.default_rng(6)
    n = 1500
    X = pd.DataFrame({"x": rng.normal(size=n), "noise": rng.normal(size=n)})
    y = np.where(X["x"] < -0.5, "low", np.where(X["x"] > 0.5, "high", "mid"))
    t = MONTHS[rng.integers(0, 6, n)]
    model = models.train(X, y, t, task_type="multiclass_classification", algorithm=algorithm)
    assert sorted(model.classes) == ["high", "low", "mid"]
    assert model.metrics["accuracy"] > 0.8
    assert model.metrics["macro_f1"] > 0.7
    p = models.predict(model, X.head(10))
    assert p.shape == (10, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    labels = models.predict_label(model, pd.DataFrame({"x": [-3.0, 0.0, 3.0], "noise": 0.0}))
    assert list(labels) == ["low", "mid", "high"]
    assert models.reasons(model, X.head(5))[0].startswith("x=")
    json.dumps(model.metrics)


def test_link_prediction_trains_and_ranks():
    rng = np.random.default_rng(7)
    entities, items = 300, 8
    g = np.repeat(np.arange(entities), items)
    affinity = rng.normal(size=len(g))
    popularity = np.tile(np.linspace(1, 0, items), entities)
    y = (rng.random(len(g)) < 1 / (1 + np.exp(-(3 * affinity - 2)))).astype(int)
    X = pd.DataFrame({"affinity": affinity, "popularity": popularity})
    t = MONTHS[(g % 6)]
    model = models.train(
        X, y, t, task_type="link_prediction", groups=g, k=3, baseline_feature="popularity"
    )
    m = model.metrics
    assert m["task_type"] == "link_prediction" and m["k"] == 3
    assert m["ndcg_at_k"] > 0.6
    assert m["ndcg_at_k"] > m["baseline"]["ndcg_at_k"] + 0.2
    scores = models.predict(model, X)
    assert scores.shape == (len(X),)
    assert model.importance[0][0] == "affinity"


# --- evaluation by hand ---------------------------------------------------------------------


def test_precision_at_k_and_lift_deciles_by_hand():
    # 20 rows, scores 20…1 (descending), positives at ranks 1, 2, 3, 5, 11 → base rate 0.25.
    scores = np.arange(20, 0, -1) / 20
    y = np.zeros(20)
    y[[0, 1, 2, 4, 10]] = 1
    m = evaluate.metrics(y, scores, task_type="binary_classification", k=4)
    assert m["base_rate"] == 0.25
    pak = {e["k"]: e for e in m["precision_at_k"]}
    assert pak["1%"]["rows"] == 1 and pak["1%"]["precision"] == 1.0
    assert pak["5%"]["rows"] == 1
    assert pak["10%"]["rows"] == 2 and pak["10%"]["precision"] == 1.0
    assert pak["4"]["precision"] == 0.75 and pak["4"]["lift"] == 3.0
    dec = m["lift_by_decile"]
    assert [d["rows"] for d in dec] == [2] * 10
    assert [d["positives"] for d in dec] == [2, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert dec[0]["lift"] == 4.0 and dec[1]["lift"] == 2.0
    assert [d["cumulative_gain"] for d in dec][:3] == [0.4, 0.6, 0.8]
    assert dec[-1]["cumulative_gain"] == 1.0
    assert sum(c["rows"] for c in m["calibration"]) == 20
    assert m["auc"] == pytest.approx(1 - (1 + 6) / (5 * 15))  # 7 of 75 pairs misordered
    rows = {r["metric"]: r["value"] for r in evaluate.metrics_rows(m)}
    assert rows["precision@4"] == 0.75
    assert len(evaluate.lift_rows(m)) == 10 and len(evaluate.calibration_rows(m)) == 10


def test_ranking_metrics_by_hand():
    # entity A: candidates scored 0.9 (hit), 0.8, 0.7 (hit), 0.1 — 2 positives
    # entity B: 0.5, 0.4 (hit) — 1 positive;  entity C: no positives (not evaluated)
    groups = np.array(["A", "A", "A", "A", "B", "B", "C"])
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.5, 0.4, 0.3])
    y = np.array([1, 0, 1, 0, 0, 1, 0])
    m = evaluate.metrics(y, scores, task_type="link_prediction", groups=groups, k=2)
    assert m["evaluated_entities"] == 2 and m["entities"] == 3
    # A: top2 = hit, miss → P@2 = 0.5, R@2 = 0.5, AP@2 = (1/1)/2 = 0.5
    #    DCG = 1, IDCG = 1 + 1/log2(3) → nDCG = 1 / (1 + 0.63093)
    # B: top2 = miss, hit → P@2 = 0.5, R@2 = 1, AP@2 = (1/2)/1 = 0.5, nDCG = (1/log2(3)) / 1
    assert m["precision_at_k"] == pytest.approx(0.5)
    assert m["recall_at_k"] == pytest.approx(0.75)
    assert m["map_at_k"] == pytest.approx(0.5)
    ndcg_a = 1 / (1 + 1 / math.log2(3))
    ndcg_b = 1 / math.log2(3)
    assert m["ndcg_at_k"] == pytest.approx((ndcg_a + ndcg_b) / 2)
    pop = np.array([0.1, 0.2, 0.3, 0.4, 0.9, 0.1, 0.5])
    m2 = evaluate.metrics(
        y, scores, task_type="link_prediction", groups=groups, k=2, baseline_scores=pop
    )
    # popularity: A ranks 0.1 (miss) then 0.7 (hit); B ranks 0.5 (miss) then 0.4 (hit)
    assert m2["baseline"]["recall_at_k"] == pytest.approx((0.5 + 1.0) / 2)
    assert m2["baseline"]["map_at_k"] == pytest.approx((0.5 / 2 + 0.5 / 1) / 2)
    json.dumps(m2)


def test_multiclass_metrics_by_hand():
    y = np.array(["a", "a", "b", "c"])
    p = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    m = evaluate.metrics(y, p, task_type="multiclass_classification", classes=["a", "b", "c"])
    assert m["accuracy"] == 0.75
    assert m["confusion"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    # f1: a = 2·1·0.5/1.5 = 2/3, b = 2·0.5·1/1.5 = 2/3, c = 1
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.3, 0.7, 0.8])))


def test_importance_rows(trained):
    rows = evaluate.importance_rows(trained["gbm"])
    assert rows[0]["rank"] == 1 and rows[0]["feature"] == "signal"
    assert len(rows) == 4


# --- plots ----------------------------------------------------------------------------------


def test_plot_writes_files(trained, tmp_path):
    pytest.importorskip("matplotlib")
    m = trained["gbm"].metrics
    png = tmp_path / "lift.png"
    evaluate.plot(m, png, title="lead_conversion")
    assert png.stat().st_size > 1000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rng = np.random.default_rng(0)
    actual = rng.normal(size=200)
    reg = evaluate.metrics(actual, actual + rng.normal(size=200), task_type="regression")
    evaluate.plot(reg, tmp_path / "reg.svg", title="regression")
    assert (tmp_path / "reg.svg").read_text().lstrip().startswith("<?xml")
    mc = evaluate.metrics(
        np.array(["a", "b"]),
        np.array([[0.9, 0.1], [0.2, 0.8]]),
        task_type="multiclass_classification",
    )
    evaluate.plot(mc, tmp_path / "mc.svg", title="multiclass")
    assert (tmp_path / "mc.svg").stat().st_size > 1000


def test_plot_errors(trained, tmp_path):
    m = trained["gbm"].metrics
    with pytest.raises(LeadQLExecutionError, match="unknown file type") as err:
        evaluate.plot(m, tmp_path / "lift.jpeg", title="x")
    assert ".png" in err.value.hint
    with pytest.raises(LeadQLExecutionError, match="does not exist"):
        evaluate.plot(m, tmp_path / "nope" / "lift.png", title="x")


# --- errors ---------------------------------------------------------------------------------


def test_error_single_class():
    X, _, t = make_binary(200, seed=9)
    with pytest.raises(LeadQLExecutionError, match="nothing to learn"):
        models.train(X, np.zeros(200), t, task_type="binary_classification")
    with pytest.raises(LeadQLExecutionError, match="nothing to learn"):
        models.train(X, np.array(["a"] * 200), t, task_type="multiclass_classification")


def test_error_too_few_rows_and_positives():
    X, _, t = make_binary(200, seed=10)
    with pytest.raises(LeadQLExecutionError, match="no training examples"):
        models.train(X.iloc[:0], np.array([]), t[:0], task_type="binary_classification")
    with pytest.raises(LeadQLExecutionError, match="only 5 training examples"):
        models.train(
            X.iloc[:5], np.array([0, 1, 0, 1, 0]), t[:5], task_type="binary_classification"
        )
    y = np.zeros(200)
    y[:3] = 1
    with pytest.raises(LeadQLExecutionError, match="only 3 positive training example"):
        models.train(X, y, t, task_type="binary_classification")


def test_error_unknown_algorithm():
    X, y, t = make_binary(200, seed=11)
    with pytest.raises(LeadQLExecutionError, match="unknown model algorithm `gbn`") as err:
        models.train(X, y, t, task_type="binary_classification", algorithm="gbn")
    assert "gbm" in err.value.hint


def test_single_anchor_time_falls_back_to_random_split():
    X, y, _ = make_binary(1000, seed=12)
    t = np.full(1000, np.datetime64("2026-03-01"))
    model = models.train(
        X, y, t, task_type="binary_classification", algorithm="logistic", categorical=["plan"]
    )
    v = model.metrics["validation"]
    assert v["scheme"] == "random" and "single anchor time" in v["reason"]
    assert 0.18 <= v["valid_share"] <= 0.22
    assert model.metrics["auc"] > 0.8


def test_progress_is_reported():
    X, y, t = make_binary(500, seed=13)
    seen = []
    models.train(
        X,
        y,
        t,
        task_type="binary_classification",
        algorithm="logistic",
        categorical=["plan"],
        progress=lambda stage, f: seen.append((stage, f)),
    )
    assert seen[0][0] == "splitting" and seen[-1] == ("done", 1.0)
    assert [f for _, f in seen] == sorted(f for _, f in seen)


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_reason_deltas_are_score_changes(trained, binary_data, algorithm):
    """The (one-pass, for logistic) deltas equal re-scoring with the feature at its baseline."""
    model = trained[algorithm]
    _, (X_test, _, _) = binary_data
    enc = model.encoder
    E = enc.transform(X_test.head(200))
    base = enc.encode_values(model.baseline)
    probe = list(model.features)
    got = models._deltas(model, E.copy(), base, probe, 1)
    own = models._scores_from_encoded(model, E)
    for j, f in enumerate(probe):
        a, b = enc.slices_[f]
        E2 = E.copy()
        E2[:, a:b] = base[a:b]
        np.testing.assert_allclose(
            got[:, j], own - models._scores_from_encoded(model, E2), atol=1e-9
        )


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_a_feature_with_no_values_is_left_out(binary_data, algorithm):
    (X, y, t), (X2, _, _) = binary_data
    X = X.assign(empty=np.nan, empty_text=None)
    model = models.train(X, y, t, task_type="binary_classification", algorithm=algorithm,
                         categorical=["plan", "empty_text"])  # fmt: skip
    assert "empty" not in model.features and "empty_text" not in model.features
    assert any("no value in the training rows" in note for note in model.notes)
    scores = models.predict(model, X2.assign(empty=1.0, empty_text="x"))
    assert np.isfinite(scores).all()


def test_compiled_tree_walk_is_bit_identical_to_sklearns(trained, binary_data, monkeypatch):
    """leadql/predict/treewalk.py (numba) gives exactly scikit-learn's raw scores, missing values,
    unseen and out-of-range category codes included, and predict() the same probabilities."""
    pytest.importorskip("numba")
    from leadql.predict import treewalk

    model = trained["gbm"]
    _, (X_test, _, _) = binary_data
    big = pd.concat([X_test] * 8, ignore_index=True)  # ≥ treewalk.MIN_ROWS rows: the compiled path
    big.loc[::7, "plan"] = "platinum"  # unseen in training
    big.loc[::11, "signal"] = np.nan
    E = model.encoder.transform(big)
    E[::13, model.encoder.slices_["plan"][0]] = -1.0  # a negative code: treated as missing
    E[::17, model.encoder.slices_["plan"][0]] = 3.0  # a code past the known categories
    walked = treewalk.raw_scores(model.estimator, E)
    assert walked is not None
    np.testing.assert_array_equal(walked, models._hgb_raw(model.estimator, E, 1))
    odd = E[: len(E) - 3]  # rows walk in blocks of treewalk.BLOCK: a short last block
    assert len(odd) % treewalk.BLOCK
    np.testing.assert_array_equal(treewalk.raw_scores(model.estimator, odd), walked[: len(odd)])
    compiled = models.predict(model, big)
    monkeypatch.setattr(treewalk, "AVAILABLE", False)
    np.testing.assert_array_equal(compiled, models.predict(model, big))
    assert treewalk.raw_scores(model.estimator, E) is None  # without numba: scikit-learn walks


def test_the_compiled_walk_reads_a_frames_columns_where_they_are(trained, binary_data):
    """predict() walks the frame's own columns (no matrix copy): C-ordered and strided columns,
    and columns that are not float64 (converted first), give the matrix walk's scores."""
    pytest.importorskip("numba")
    from leadql.predict import treewalk

    model = trained["gbm"]
    _, (X_test, _, _) = binary_data
    big = pd.concat([X_test] * 8, ignore_index=True)
    E = np.ascontiguousarray(model.encoder.transform(big))  # C order: every column is strided
    expected = treewalk.raw_scores(model.estimator, np.asfortranarray(E))
    cols = [E[:, f] for f in range(E.shape[1])]
    assert cols[0].strides[0] == 8 * E.shape[1]
    np.testing.assert_array_equal(treewalk.raw_scores_of_columns(model.estimator, cols), expected)
    code = model.encoder.slices_["plan"][0]
    as_int = [c.astype(np.int64) if f == code and not np.isnan(c).any() else c for f, c in enumerate(cols)]
    np.testing.assert_array_equal(treewalk.raw_scores_of_columns(model.estimator, as_int), expected)
    table, kept = treewalk.column_table(cols)
    assert (table[:, 1] == E.shape[1]).all() and all(k.base is not None for k in kept)  # views, no copies


def test_compiled_tree_walk_compares_like_floats_at_every_edge():
    """The compiled walk compares integer keys of the numbers (treewalk's docstring); that must
    be exactly scikit-learn's float tests: a value equal to a threshold goes left, -0.0 and
    0.0 are one number, ±inf are ordered numbers, and a missing value takes its node's side
    even at a split of missing against everything else (threshold +inf)."""
    pytest.importorskip("numba")
    from leadql.predict import treewalk

    rng = np.random.default_rng(5)
    n = 4000
    a = rng.normal(size=n)
    gap = rng.random(n) < 0.3  # missing values carry the signal: a missing-vs-rest split
    b = np.where(gap, np.nan, rng.integers(-2, 3, n).astype(float))
    y = ((a > 0.2) ^ gap).astype(int)
    X = pd.DataFrame({"a": a, "b": b, "c": rng.normal(size=n)})
    times = np.array(MONTHS, dtype="datetime64[D]")[np.arange(n) % len(MONTHS)]
    with threadpool_limits(1):
        model = models.train(X, y, times, task_type="binary_classification", algorithm="gbm")
    est = model.estimator
    thresholds = np.concatenate([p[0].nodes["num_threshold"][~p[0].nodes["is_leaf"].astype(bool)]
                                 for p in est._predictors])  # fmt: skip
    assert np.isinf(thresholds).any()  # the missing-vs-rest split is there
    edges = np.concatenate([thresholds, np.nextafter(thresholds, np.inf), np.nextafter(thresholds, -np.inf),
                            [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, np.finfo(float).max]])  # fmt: skip
    edges = edges[np.isfinite(edges) | np.isnan(edges) | np.isinf(edges)]
    rows = max(treewalk.MIN_ROWS, 3 * len(edges)) + 3
    E = np.column_stack([rng.choice(edges, rows) for _ in range(model.encoder.n_out_)])
    walked = treewalk.raw_scores(est, E)
    assert walked is not None and np.ptp(walked) > 0
    np.testing.assert_array_equal(walked, models._hgb_raw(est, E, 1))
    base = model.encoder.encode_values(model.baseline)
    probe = [f for f, _ in model.importance]
    for value in (0.0, -0.0, np.inf, np.nan, float(thresholds[np.isfinite(thresholds)][0])):
        base_enc = np.full_like(base, value)
        fast = models._fast_deltas(model, E.copy(), base_enc, probe)
        slow = models._deltas(model, E.copy(), base_enc, probe, 1)
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_compiled_tree_walk_regression_is_bit_identical_to_sklearns():
    """A gbm regression walks compiled too (baseline = the mean, no link), bit-identical."""
    pytest.importorskip("numba")
    from leadql.predict import treewalk

    Xr, yr, tr = make_regression(3000, 4)
    model = models.train(Xr, yr, tr, task_type="regression", algorithm="gbm", categorical=["kind"])
    X2, _, _ = make_regression(treewalk.MIN_ROWS + 5, 5)
    X2.loc[::9, "kind"] = None
    E = model.encoder.transform(X2)
    walked = treewalk.raw_scores(model.estimator, E)
    assert walked is not None and np.ptp(walked) > 0
    np.testing.assert_array_equal(walked, models._hgb_raw(model.estimator, E, 1))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_compiled_reason_deltas_equal_rescoring_each_probe(trained, binary_data, task, monkeypatch):
    """reasons' deltas from treewalk.raw_deltas (one walk; a probe re-walks only the trees that
    split on it) equal re-scoring every row with each probed feature at its baseline, to
    rounding; so the reasons are the same."""
    pytest.importorskip("numba")
    from leadql.predict import treewalk

    if task == "binary":
        model = trained["gbm"]
        _, (X, _, _) = binary_data
        X = pd.concat([X] * 8, ignore_index=True)
        X.loc[::7, "plan"] = "platinum"
        X.loc[::11, "signal"] = np.nan
    else:
        Xr, yr, tr = make_regression(3000, 4)
        model = models.train(Xr, yr, tr, task_type="regression", algorithm="gbm", categorical=["kind"])
        X, _, _ = make_regression(treewalk.MIN_ROWS + 5, 5)
        X.loc[::9, "kind"] = None
    assert len(X) >= treewalk.MIN_ROWS
    E = model.encoder.transform(X)
    base = model.encoder.encode_values(model.baseline)
    probe = [f for f, _ in model.importance][: models.REASON_FEATURES]
    fast = models._fast_deltas(model, E.copy(), base, probe)
    assert fast is not None and np.abs(fast).max() > 0
    monkeypatch.setattr(models, "_fast_deltas", lambda *a: None)
    slow = models._deltas(model, E.copy(), base, probe, 1)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    monkeypatch.undo()
    explained = models.reasons(model, X)
    monkeypatch.setattr(models, "_fast_deltas", lambda *a: None)
    assert explained == models.reasons(model, X)


def _awkward_frame(X: pd.DataFrame) -> pd.DataFrame:
    """X with every kind of column the encoder meets: ints, nullable ints, booleans, numbers as
    objects, unseen and missing categories."""
    X = X.copy()
    X["noise"] = X["noise"].astype(object)  # numbers (and NaN) as Python objects
    X["other"] = X["other"].round().astype("Int64")  # nullable integers
    X.loc[::9, "other"] = pd.NA
    X.loc[::7, "plan"] = "platinum"  # unseen in training
    return X


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_fill_from_columns_equals_transform(trained, binary_data, algorithm):
    """encoder.columns + fill (what scoring uses, chunk by chunk, into a Fortran buffer) give
    exactly transform's matrix, in both encodings."""
    enc = trained[algorithm].encoder
    _, (X_test, _, _) = binary_data
    X = _awkward_frame(X_test)
    expected = enc.transform(X)
    cols = enc.columns(X)
    out = np.full((len(X), enc.n_out_), -7.0, order="F")
    for start in range(0, len(X), 701):  # an odd chunk size: a short last chunk
        stop = min(len(X), start + 701)
        enc.fill(cols, start, stop, out[start:stop])
    np.testing.assert_array_equal(out, expected)


def test_linear_scoring_without_the_onehot_matrix_matches_sklearn(trained, binary_data):
    """A logistic model scores by folded coefficients and table lookups (scoring.linear_scores):
    the same probabilities as the saved scikit-learn pipeline, unseen categories and missing
    numbers included; a ridge regression the same values."""
    from leadql.predict import scoring

    model = trained["logistic"]
    assert scoring.linear_supported(model)
    _, (X_test, _, _) = binary_data
    X = _awkward_frame(X_test)
    E = model.encoder.transform(X)
    np.testing.assert_allclose(
        scoring.linear_scores(model, X), model.estimator.decision_function(E), rtol=1e-10, atol=1e-10
    )
    public = model.estimator.predict_proba(E)[:, 1]
    if model.calibrator is not None:
        public = model.calibrator(public)
    np.testing.assert_allclose(models.predict(model, X), public, rtol=1e-9, atol=1e-12)

    Xr, yr, tr = make_regression(1500, 4)
    ridge = models.train(Xr, yr, tr, task_type="regression", algorithm="logistic", categorical=["kind"])
    X2, _, _ = make_regression(500, 5)
    np.testing.assert_allclose(
        models.predict(ridge, X2), ridge.estimator.predict(ridge.encoder.transform(X2)), rtol=1e-10
    )


def test_compiled_walk_takes_any_memory_order(trained, binary_data):
    """The compiled walk gives the same raw scores on C-ordered, Fortran-ordered and strided
    matrices (scoring fills Fortran-ordered chunks)."""
    pytest.importorskip("numba")
    from leadql.predict import treewalk

    model = trained["gbm"]
    _, (X_test, _, _) = binary_data
    E = model.encoder.transform(pd.concat([X_test] * 8, ignore_index=True))
    expected = models._hgb_raw(model.estimator, E, 1)
    np.testing.assert_array_equal(treewalk.raw_scores(model.estimator, np.asfortranarray(E)), expected)
    wide = np.asfortranarray(np.concatenate([E, E], axis=0))[: len(E)]  # not contiguous
    assert not wide.flags.c_contiguous and not wide.flags.f_contiguous
    np.testing.assert_array_equal(treewalk.raw_scores(model.estimator, wide), expected)


@pytest.mark.parametrize(
    "values", [["a", None, "b", "a"], [1, None, 3, 1], [1.0, np.nan, 2.5, 1.0], [True, None, False, True]]
)
def test_categorical_dtype_gives_the_same_category_strings(values):
    """PREDICT fetches text features as pandas Categoricals: training and scoring must see the
    same category strings as from plain object columns."""
    plain = pd.Series(values, dtype=object)
    for missing in (False, True):
        assert (
            models._category_strings(plain.astype("category"), missing).tolist()
            == models._category_strings(plain, missing).tolist()
        )


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_tree_permutation_importance_equals_walking_every_tree(trained, binary_data, task, monkeypatch):
    """gbm permutation importance walks only the trees that split on the permuted feature (and
    none for a feature no tree uses): exactly the values of re-walking every tree."""
    if task == "binary":
        model = trained["gbm"]
        (X, y, _), _ = binary_data
        X = X.assign(unused=0.0)  # a constant: no tree can split on it
        model = models.train(X, y, MONTHS[np.arange(len(X)) % 6], task_type="binary_classification",
                             algorithm="gbm", categorical=["plan"], seed=0)  # fmt: skip
    else:
        X, y, t = make_regression(1500, 4)
        model = models.train(X, y, t, task_type="regression", algorithm="gbm", categorical=["kind"])
    assert models._tree_permutation_importance(model, model.encoder.transform(X), y, np.random.default_rng(3))
    fast = models._importance(model, X, y, seed=3)
    monkeypatch.setattr(models, "_tree_permutation_importance", lambda *a: None)
    assert fast == models._importance(model, X, y, seed=3)
    if task == "binary":
        assert dict(fast)["unused"] == 0.0


def test_reason_values_format_the_same_one_by_one_and_in_bulk():
    values = np.array([1.0, np.nan, 2.5, 1e20, -3.0, 0.000123456, np.inf, -np.inf, 123456.789, 1e15, -0.0])
    assert models._fmt_numbers(values) == [models._fmt_value(v) for v in values]
    assert models._fmt_numbers(values)[:3] == ["1", "missing", "2.5"]
