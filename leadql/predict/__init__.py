"""PREDICT: Kumo-style predictive queries over the company's own tables.

    schema.py     the tables a query may use, their keys, time columns and links
    binding.py    a PREDICT statement checked against the catalog → BoundPredict
    pql_sql.py    PQL aggregations and conditions → DuckDB SQL evaluated at anchor times
    labels.py     anchor times, the entity filter, ASSUMING and the labels (training table)
    features.py   automatic relational features at each anchor
    models.py     scikit-learn pipelines per task type, calibration, per-row reasons
    evaluate.py   metrics, lift, calibration and plots
    registry.py   saved models and their versions
    statements.py the statement handlers (PREDICT, EVALUATE, EXPLAIN MODEL, ...)
"""
