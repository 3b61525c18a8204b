"""PREDICT's training table end to end, as a user's statement runs it: labels at every anchor
(one set-based DuckDB query) plus the automatic features, for 100k leads x 5M events.

    python bench/bench_training_table.py [--entities 100000] [--events 5000000] [--quick]

The data is bench_features.py's synthetic leads/events, written to Parquet and registered with
CREATE TABLE, so the timing includes reading through the catalog's views. The query:

    PREDICT COUNT(events.* WHERE events.type = 'conversion', 0, 30, days) > 0
    FOR EACH leads.lead_id WHERE COUNT(events.*, -90, 0, days) > 0

Steps timed: bind (catalog → schema), labels (12 monthly anchors), feature plan, features.
Baseline in the same run: the same labels written by hand in pandas (merge events to anchors,
filter the windows, group) — what an analyst would write without LeadQL. Goal (issue #5):
training table + features under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

import leadql  # noqa: E402
from bench.bench_features import make_data  # noqa: E402
from leadql.context import Context  # noqa: E402
from leadql.grammar.parser import parse  # noqa: E402
from leadql.predict import features  # noqa: E402
from leadql.predict.binding import bind_predict  # noqa: E402
from leadql.predict.labels import (  # noqa: E402
    PredictSettings,
    build_examples,
    prediction_time,
    training_anchors,
)

QUERY = (
    "PREDICT COUNT(events.* WHERE events.type = 'conversion', 0, 30, days) > 0 "
    "FOR EACH leads.lead_id WHERE COUNT(events.*, -90, 0, days) > 0"
)


def pandas_labels(leads: pd.DataFrame, events: pd.DataFrame, anchors: list) -> pd.DataFrame:
    """The same training table by hand: per anchor, leads that existed and had an event in the
    90 days before it; label = a conversion in the 30 days after it."""
    out = []
    day = pd.Timedelta(days=1)
    for anchor in anchors:
        a = pd.Timestamp(anchor)
        alive = leads.loc[leads["created_at"] <= a, ["lead_id"]]
        past = events[(events["ts"] > a - 90 * day) & (events["ts"] <= a)]
        active = alive[alive["lead_id"].isin(past["lead_id"])]
        future = events[(events["ts"] > a) & (events["ts"] <= a + 30 * day)
                        & (events["type"] == "conversion")]  # fmt: skip
        label = active["lead_id"].isin(future["lead_id"])
        out.append(pd.DataFrame({"entity_id": active["lead_id"].to_numpy(), "anchor_ts": a,
                                 "label": label.to_numpy()}))  # fmt: skip
    return pd.concat(out, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--quick", action="store_true", help="10k entities x 500k events")
    args = parser.parse_args()
    if args.quick:
        args.entities, args.events = 10_000, 500_000
    with tempfile.TemporaryDirectory(prefix="leadql-bench-") as tmp:
        ws = leadql.connect()
        con = ws.con
        make_data(con, args.entities, args.events)
        for table in ("leads", "events"):
            con.execute(f"COPY {table} TO '{tmp}/{table}.parquet' (FORMAT parquet)")
            con.execute(f"DROP TABLE {table}")
        con.execute("DROP TABLE anchors")
        ws.execute(f"""
            CREATE TABLE leads FROM '{tmp}/leads.parquet' TIME COLUMN created_at KEY lead_id;
            CREATE TABLE events FROM '{tmp}/events.parquet' TIME COLUMN ts KEY event_id
              REFERENCES (lead_id -> leads.lead_id);
        """)
        times: dict[str, float] = {}
        started = time.perf_counter()
        ctx = Context(ws, {}, QUERY)
        bound = bind_predict(ctx, parse(QUERY)[0])
        times["bind"] = time.perf_counter() - started

        started = time.perf_counter()
        at = prediction_time(con, bound)
        anchors = training_anchors(con, bound, at, PredictSettings())
        n = build_examples(con, bound, anchors, "ex", training=True)
        times["labels"] = time.perf_counter() - started

        started = time.perf_counter()
        con.execute("CREATE OR REPLACE TEMP VIEW ex_anchors AS SELECT entity_id, anchor_ts FROM ex")
        plan = features.plan_features(con, bound.schema, "leads", "lead_id", anchors="ex_anchors")
        times["feature_plan"] = time.perf_counter() - started
        started = time.perf_counter()
        features.compute_features(con, plan, bound.schema, "ex_anchors", "fx")
        times["features"] = time.perf_counter() - started
        total = sum(times.values())

        leads = con.sql("SELECT lead_id, created_at FROM leads").df()
        events = con.sql("SELECT lead_id, ts, type FROM events").df()
        started = time.perf_counter()
        by_hand = pandas_labels(leads, events, anchors)
        t_pandas = time.perf_counter() - started
        positives = con.sql("SELECT count(*) FILTER (WHERE label) FROM ex").fetchall()[0][0]
        agree = len(by_hand) == n and int(by_hand["label"].sum()) == positives

    print(f"{args.entities:,} leads x {args.events:,} events; {len(anchors)} anchors; "
          f"{n:,} training examples ({positives:,} positive); {len(plan.features)} features")
    for step, seconds in times.items():
        print(f"  {step:<13} {seconds:7.2f} s")
    print(f"  {'total':<13} {total:7.2f} s   (goal < 60 s)")
    print(f"labels by hand in pandas: {t_pandas:.2f} s vs LeadQL labels {times['labels']:.2f} s "
          f"({t_pandas / times['labels']:.1f}x); same examples and positives: {agree}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "training_table.json").write_text(json.dumps({
        "entities": args.entities, "events": args.events, "anchors": len(anchors), "examples": n,
        "positives": positives, "features": len(plan.features), "seconds": times, "total": total,
        "pandas_labels_seconds": t_pandas, "agree": agree,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
