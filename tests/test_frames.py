"""leadql/predict/frames.py: DuckDB results as pandas through Arrow, typed as DuckDB's .df()."""

from __future__ import annotations

import duckdb
import pandas as pd

from leadql.predict.frames import fetch_frame

QUERY = """
SELECT * FROM (VALUES
  (1::BIGINT, TIMESTAMP '2026-01-01', true, 1.5::DOUBLE, 'a', 2::BIGINT, 1.5::DECIMAL(10, 2),
   DATE '2026-01-02', TIMESTAMPTZ '2026-01-01 00:00:00+00', 3::INTEGER, true, 4::UTINYINT),
  (NULL, NULL, NULL, NULL, NULL, 3, NULL, NULL, NULL, NULL, false, NULL)
) t(big, ts, flag, num, txt, dense, dec, day, tstz, small, dense_flag, tiny)
"""


def test_same_frame_as_duckdb_df():
    con = duckdb.connect()
    pd.testing.assert_frame_equal(fetch_frame(con.sql(QUERY)), con.sql(QUERY).df())


def test_empty_result_keeps_columns_and_types():
    con = duckdb.connect()
    query = "SELECT 1::BIGINT AS a, 'x' AS b WHERE false"
    got = fetch_frame(con.sql(query))
    assert list(got.columns) == ["a", "b"] and len(got) == 0
    assert got["a"].dtype == con.sql(query).df()["a"].dtype


def test_text_columns_as_categoricals_keep_their_values_and_nulls():
    con = duckdb.connect()
    query = "SELECT * FROM (VALUES ('a', NULL::VARCHAR, 1), (NULL, NULL, 2), ('b', NULL, 3)) t(txt, empty, n)"
    got = fetch_frame(con.sql(query), categorical=["txt", "empty", "n", "absent"])
    assert isinstance(got["txt"].dtype, pd.CategoricalDtype) and isinstance(got["empty"].dtype, pd.CategoricalDtype)
    assert got["txt"].astype(object).where(got["txt"].notna(), None).tolist() == ["a", None, "b"]
    assert got["empty"].isna().all()
    assert got["n"].tolist() == [1, 2, 3]  # not text: left as it is
