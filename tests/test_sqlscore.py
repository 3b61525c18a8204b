"""gbm and logistic scoring as SQL (leadql.predict.sqlscore) give the scores of models.predict."""

from __future__ import annotations

import copy
import functools

import duckdb
import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from leadql.predict import models, sqlscore

TIMES = np.array(
    ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"], dtype="datetime64[D]"
)


def _frame(n: int, seed: int, n_values: int = 12, unseen: bool = False):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"n{i}" for i in range(5)])
    X.loc[rng.random(n) < 0.15, "n0"] = np.nan
    X.loc[rng.random(n) < 0.3, "n1"] = np.nan
    X["const"] = 1.0
    values = [f"v{i}" for i in range(n_values)]
    p = np.linspace(3, 0.05, n_values)
    if unseen:
        values += ["new-1", "new'2"]
        p = np.r_[p, [0.3, 0.3]]
    c = rng.choice(values, size=n, p=p / p.sum()).astype(object)
    c[rng.random(n) < 0.1] = None
    X["cat a"] = c  # a name that needs quoting
    X["c2"] = rng.choice(["x", "y", "z'q"], size=n).astype(object)
    z = (
        1.5 * np.nan_to_num(X["n0"])
        - np.nan_to_num(X["n1"])
        + 1.2 * (X["cat a"] == "v3")
        - 0.8 * (X["cat a"] == "v1")
        + 0.7 * X["cat a"].isna()
        + 0.8 * X["n1"].isna()
        + 0.5 * (X["c2"] == "z'q")
    ).to_numpy()
    return X, z


def _table(n_values: int = 12):
    """Rows to score in DuckDB: NULLs and a real NaN in numerics, NULL and unseen categories."""
    X, _ = _frame(3000, 2, n_values=n_values, unseen=True)
    X["entity_id"] = np.arange(len(X))[::-1]
    con = duckdb.connect()
    con.register("x_df", X)
    con.execute("CREATE TABLE feats AS SELECT * FROM x_df")
    con.execute("UPDATE feats SET n1 = 'NaN'::DOUBLE WHERE entity_id % 5 = 0 AND n1 IS NULL")
    con.execute("UPDATE feats SET n2 = 'NaN'::DOUBLE WHERE entity_id % 7 = 0")
    con.execute("UPDATE feats SET n0 = NULL WHERE entity_id % 11 = 0")
    return con


def _train(task_type: str, n_values: int = 12, seed: int = 0):
    """A fresh copy of a cached model (tests change its calibrator)."""
    return copy.copy(_trained(task_type, n_values, seed, models.MAX_GBM_CATEGORIES))


@functools.cache
def _trained(task_type: str, n_values: int, seed: int, max_categories: int):
    X, z = _frame(3000, 1, n_values=n_values)
    rng = np.random.default_rng(seed)
    if task_type == "regression":
        y = z + rng.normal(size=len(z))
    else:
        y = (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(int)
    times = TIMES[np.arange(len(X)) % len(TIMES)]
    with threadpool_limits(1):  # OpenMP threads on a busy machine stall
        return models.train(X, y, times, task_type=task_type, categorical=["cat a", "c2"])


def _check(con, model, order_by: str | None = None):
    ours = sqlscore.score_sql(con, model, "feats", order_by=order_by)
    frame = con.sql("SELECT * FROM feats" + (f" ORDER BY {order_by}" if order_by else "")).df()
    ref = models.predict(model, frame)
    assert ours is not None
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)
    return ours, ref


def test_binary_with_calibrators():
    con = _table()
    model = _train("binary_classification")
    assert sqlscore.compile_gbm(model) is not None
    # the raw sum is bit-identical to sklearn's
    frame = con.sql("SELECT * FROM feats").df()
    raw = con.sql(sqlscore.score_select(model, "feats")).fetchnumpy()["raw"]
    ref_raw = models._hgb_raw(model.estimator, model.encoder.transform(frame))
    assert np.array_equal(raw, ref_raw)
    E = model.encoder.transform(frame.iloc[:1500])
    proba = model.estimator.predict_proba(E)[:, 1]
    y = (np.random.default_rng(3).random(len(proba)) < proba).astype(int)
    cases = [(models.IsotonicCalibrator, True), (models.SigmoidCalibrator, False), (None, True)]
    for make, fast in cases:  # fast_path: numpy's sigmoid; else sklearn's predict_proba
        model.calibrator = make().fit(proba, y) if make else None
        model.fast_path = fast
        # score_sql = link and calibrator (_finish) over the raw scores; one full run below
        np.testing.assert_allclose(
            sqlscore._finish(model, raw.copy()), models.predict(model, frame), rtol=0, atol=1e-9
        )
    model.calibrator = models.IsotonicCalibrator().fit(proba, y)
    ours, _ = _check(con, model, order_by="entity_id")
    assert len(np.unique(ours)) > 20


def test_regression_and_other_codes(monkeypatch):
    # few kept categories: rare and unseen values share the "other" code
    monkeypatch.setattr(models, "MAX_GBM_CATEGORIES", 6)
    con = _table()
    model = _train("regression")
    assert model.encoder.has_other_["cat a"]
    _check(con, model)
    _check(con, model, order_by="entity_id DESC")


def test_many_categories_bit_string():
    # more than 61 categories: category groups are tested with get_bit on a bit string
    con = _table(n_values=90)
    model = _train("binary_classification", n_values=90)
    assert len(model.encoder.categories_["cat a"]) > 61
    _check(con, model)


def test_integer_categorical_and_decimal_columns():
    model = _train("regression")
    con = duckdb.connect()
    X, _ = _frame(500, 4)
    X["c2"] = X["c2"].map({"x": 1, "y": 2, "z'q": 3})
    con.register("x_df", X)
    con.execute(
        "CREATE TABLE feats AS SELECT * REPLACE (CAST(n0 AS DECIMAL(18, 3)) AS n0, "
        "CAST(round(n2 * 3) AS INTEGER) AS n2) FROM x_df"
    )
    _check(con, model)


def test_unsupported_models_return_none():
    X, z = _frame(400, 1)
    y = (z > 0).astype(int)
    times = TIMES[np.arange(len(X)) % len(TIMES)]
    with threadpool_limits(1):
        logistic = models.train(
            X, y, times, task_type="binary_classification", algorithm="logistic",
            categorical=["cat a", "c2"],
        )  # fmt: skip
        multi = models.train(
            X, np.digitize(z, [-1, 1]), times, task_type="multiclass_classification",
            categorical=["cat a", "c2"],
        )  # fmt: skip
    assert sqlscore.compile_gbm(logistic) is None  # (scored by compile_linear instead)
    con = _table()
    assert sqlscore.compile_gbm(multi) is None
    assert sqlscore.compile_linear(multi) is None
    assert sqlscore.score_sql(con, multi, "feats") is None


def test_only_models_sql_can_score_are_fetched_for_sql(monkeypatch):
    """PREDICT fetches its rows sorted (DuckDB's score order) only for a model it will score in
    SQL: a one-output gbm without the compiled walk; never a multiclass gbm or a logistic."""
    from leadql.predict import pipeline, treewalk

    X, z = _frame(400, 1)
    times = TIMES[np.arange(len(X)) % len(TIMES)]
    with threadpool_limits(1):
        multi = models.train(
            X, np.digitize(z, [-1, 1]), times, task_type="multiclass_classification",
            categorical=["cat a", "c2"],
        )  # fmt: skip
        logistic = models.train(
            X, (z > 0).astype(int), times, task_type="binary_classification", algorithm="logistic",
            categorical=["cat a", "c2"],
        )  # fmt: skip
    binary = _train("binary_classification")
    monkeypatch.setattr(treewalk, "AVAILABLE", False)
    assert pipeline._sql_scoring(binary) and sqlscore.compile_gbm(binary) is not None
    assert not pipeline._sql_scoring(multi)
    assert not pipeline._sql_scoring(logistic)
    monkeypatch.setattr(treewalk, "AVAILABLE", True)
    assert pipeline._sql_scoring(binary) is (not binary.fast_path)


@pytest.mark.parametrize("task_type", ["binary_classification", "regression"])
def test_logistic_and_ridge_as_a_linear_sum(task_type):
    """The linear models: imputation, scaling and one-hot groups (kept values, "(missing)",
    "other", unseen) in SQL give models.predict's scores, calibrator included."""
    X, z = _frame(3000, 1)
    rng = np.random.default_rng(5)
    y = z + rng.normal(size=len(z)) if task_type == "regression" else (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(int)
    times = TIMES[np.arange(len(X)) % len(TIMES)]
    with threadpool_limits(1):
        model = models.train(X, y, times, task_type=task_type, algorithm="logistic", categorical=["cat a", "c2"])
    assert sqlscore.compile_linear(model) is not None
    con = _table()
    ours, _ = _check(con, model, order_by="entity_id")
    assert len(np.unique(ours)) > 20
    if task_type == "binary_classification":
        proba = model.estimator.predict_proba(model.encoder.transform(X.iloc[:1500]))[:, 1]
        model.calibrator = models.IsotonicCalibrator().fit(proba, (rng.random(1500) < proba).astype(int))
        _check(con, model)
    # only the features a source knows (a pattern orders one source's records this way)
    part = sqlscore.compile_linear(model, available={"n0"})
    assert '"n1"' not in part and '"n0"' in part


def test_unsupported_column_types_return_none():
    model = _train("regression")
    con = duckdb.connect()
    con.execute("CREATE TABLE feats AS SELECT 1.0 AS n0")  # columns missing
    assert sqlscore.score_sql(con, model, "feats") is None


@pytest.mark.parametrize("value", [0.1, -2.5e-300, 1 / 3, 123456789.123456789, 5e-324])
def test_literals_round_trip(value):
    con = duckdb.connect()
    got = con.execute(f"SELECT {sqlscore._num(value)} AS v").fetchall()[0][0]
    assert got == value
