"""PREDICT feature generation: the training table for 100k entities x 5M events, in DuckDB
(leadql.predict.features) vs a straightforward vectorised pandas implementation of the same
features, and featuretools' Deep Feature Synthesis when it installs.

    python bench/bench_features.py [--entities 100000] [--events 5000000] [--quick]
                                   [--pandas-fraction 1.0] [--no-featuretools]

Data (synthetic, generated in DuckDB):

    leads   : lead_id, created_at (over the last 2 years), channel (5 values), region (8), score
    events  : event_id, lead_id, ts (after the lead was created), type (5 values), amount

Anchors are what labels pass: every lead x the first of each of the last 12 months at which it
already existed (about 0.7M anchors at full size). Goal: plan + compute under 60 s on 2 cores,
>= 10x faster than pandas. If pandas would not finish at full size (`--pandas-fraction` < 1),
it runs on that fraction of the leads (with their events) and its time is scaled up linearly.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from leadql.catalog.definitions import Reference  # noqa: E402
from leadql.predict.features import FeaturePlan, compute_features, plan_features  # noqa: E402
from leadql.predict.schema import Schema, TableMeta  # noqa: E402

END = "2026-11-01"
TYPES = ["visit", "email_open", "click", "meeting", "conversion"]
CHANNELS = ["web", "ads", "referral", "event", "partner"]
REGIONS = ["na", "emea", "apac", "latam", "anz", "uk", "dach", "nordics"]


def make_data(con, entities: int, events: int) -> None:
    con.execute(f"""
        CREATE OR REPLACE TABLE leads AS
        SELECT range AS lead_id,
               TIMESTAMP '{END}' - to_seconds(730 * 86400 * ((hash(range) % 100000) / 100000.0)) AS created_at,
               {CHANNELS}[1 + (hash(range * 3) % {len(CHANNELS)})::BIGINT] AS channel,
               {REGIONS}[1 + (hash(range * 5) % {len(REGIONS)})::BIGINT] AS region,
               round((hash(range * 7) % 1000) / 10.0, 1) AS score
        FROM range({entities})
    """)  # fmt: skip
    # events: spread over the leads; timestamps uniform between creation and END
    con.execute(f"""
        CREATE OR REPLACE TABLE events AS
        SELECT e.range AS event_id, l.lead_id,
               l.created_at + to_seconds(
                 (epoch(TIMESTAMP '{END}') - epoch(l.created_at)) * ((hash(e.range * 11) % 1000003) / 1000003.0)
               ) AS ts,
               {TYPES}[1 + (hash(e.range * 13) % 100 // 21)::INT] AS type,
               round((hash(e.range * 17) % 100000) / 100.0, 2) AS amount
        FROM range({events}) e
        JOIN leads l ON l.lead_id = (hash(e.range) % {entities})::BIGINT
    """)  # fmt: skip
    con.execute(f"""
        CREATE OR REPLACE TABLE anchors AS
        SELECT l.lead_id AS entity_id, m.anchor_ts
        FROM leads l JOIN (
          SELECT CAST(TIMESTAMP '{END}' - to_months(range) AS TIMESTAMP) AS anchor_ts FROM range(1, 13)
        ) m ON m.anchor_ts >= l.created_at
        ORDER BY 1, 2
    """)  # fmt: skip


def schema_of(con) -> Schema:
    def meta(name, key, time_column=None, refs=()):
        cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}").fetchall()}
        return TableMeta(name, name, cols, (key,), time_column, tuple(refs))

    return Schema({
        "leads": meta("leads", "lead_id", "created_at"),
        "events": meta("events", "event_id", "ts", [Reference("lead_id", "leads", "lead_id")]),
    })  # fmt: skip


# ---------------------------------------------------------------------------------------------
# pandas: what a competent analyst writes for the same features


def pandas_features(leads: pd.DataFrame, events: pd.DataFrame, anchors: pd.DataFrame,
                    plan: FeaturePlan) -> pd.DataFrame:
    """Merge events to anchors, keep those at or before the anchor, group-by-aggregate per
    window; then the static attributes and age. Returns one row per anchor, plan columns."""
    day = pd.Timedelta(days=1)
    out = anchors.copy()
    keys = ["entity_id", "anchor_ts"]
    static = leads.rename(columns={"lead_id": "entity_id"})
    out = out.merge(static, on="entity_id", how="left")
    cols: dict[str, pd.Series] = {}
    cols["leads__created_at__days_since"] = (out["anchor_ts"] - out["created_at"]) / day
    for c in ("channel", "region"):
        cols[f"leads__{c}"] = out[c]
    cols["leads__score"] = out["score"].astype(float)
    out = out.set_index(keys)

    m = anchors.merge(events.rename(columns={"lead_id": "entity_id"}), on="entity_id")
    m = m[m["ts"] <= m["anchor_ts"]]
    m["age"] = (m["anchor_ts"] - m["ts"]) / day
    windows = sorted({f.window_days for f in plan.features if f.window_days is not None})
    per: dict[str, pd.Series] = {}
    g_all = m.groupby(keys, sort=False)
    per["events__days_since_last"] = g_all["age"].min()
    per["events__days_since_first"] = g_all["age"].max()
    values = sorted({f.value for f in plan.features if f.kind == "frequency"})
    for w in windows + [None]:
        wl = "all" if w is None else f"{w:g}d"
        sub = m if w is None else m[m["age"] < w]
        g = sub.groupby(keys, sort=False)
        per[f"events__count__{wl}"] = g.size()
        agg = g["amount"].agg(["sum", "mean", "min", "max"])
        for func in ("sum", "mean", "min", "max"):
            per[f"events__amount__{func}__{wl}"] = agg[func]
        per[f"events__type__count_distinct__{wl}"] = g["type"].nunique()
        counts = sub.groupby(keys + ["type"], sort=False).size().unstack("type", fill_value=0)
        for v in values:
            if v in counts:
                per[f"events__type_is_{v}__count__{wl}"] = counts[v]
            if w is None and v in counts:
                per[f"events__type_is_{v}__share__all"] = counts[v] / per["events__count__all"]
    for w in windows:
        prev = m[(m["age"] >= w) & (m["age"] < 2 * w)].groupby(keys, sort=False).size()
        last = per[f"events__count__{w:g}d"]
        per[f"events__count__trend__{w:g}d"] = last.sub(prev, fill_value=0)
    frame = pd.DataFrame(per)
    out = out.join(frame, how="left")
    for name, s in cols.items():
        out[name] = s.to_numpy()
    zero = [c for c in out.columns if c.endswith(tuple(f"__{x}" for x in ("all", "7d", "30d", "90d", "365d")))
            and ("__count" in c or "__sum__" in c)]
    out[zero] = out[zero].fillna(0)
    return out.reset_index()


# ---------------------------------------------------------------------------------------------
# featuretools


def featuretools_dfs(leads: pd.DataFrame, events: pd.DataFrame, anchors: pd.DataFrame):
    import featuretools as ft

    es = ft.EntitySet("bench")
    es.add_dataframe(dataframe_name="leads", dataframe=leads, index="lead_id",
                     time_index="created_at")
    es.add_dataframe(dataframe_name="events", dataframe=events, index="event_id", time_index="ts")
    es.add_relationship("leads", "lead_id", "events", "lead_id")
    cutoff = anchors.rename(columns={"entity_id": "lead_id", "anchor_ts": "time"})
    return ft.dfs(entityset=es, target_dataframe_name="leads", cutoff_time=cutoff,
                  agg_primitives=["count", "sum", "mean", "min", "max", "num_unique"],
                  trans_primitives=[], max_depth=2, n_jobs=1, verbose=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--quick", action="store_true", help="10k entities x 500k events")
    parser.add_argument("--pandas-fraction", type=float, default=None,
                        help="share of the leads pandas runs on (default: all up to 20k leads, "
                             "else 20k leads' worth), its time scaled up")
    parser.add_argument("--no-featuretools", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.quick:
        args.entities, args.events = 10_000, 500_000
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    started = time.perf_counter()
    make_data(con, args.entities, args.events)
    n_anchors = con.execute("SELECT count(*) FROM anchors").fetchone()[0]
    print(f"data: {args.entities:,} leads, {args.events:,} events, {n_anchors:,} anchors "
          f"in {time.perf_counter() - started:.1f}s ({args.threads} DuckDB threads)")
    schema = schema_of(con)

    started = time.perf_counter()
    plan = plan_features(con, schema, "leads", "lead_id", anchors="anchors")
    t_plan = time.perf_counter() - started
    started = time.perf_counter()
    compute_features(con, plan, schema, "anchors", "features")
    t_compute = time.perf_counter() - started
    t_duck = t_plan + t_compute
    rows = con.execute("SELECT count(*) FROM features").fetchone()[0]
    print(f"DuckDB: plan {t_plan:.2f}s + compute {t_compute:.2f}s = {t_duck:.2f}s "
          f"for {rows:,} rows x {len(plan.features)} features")

    # pandas on the same data (a fraction of leads if asked), features as the plan names them
    frac = args.pandas_fraction
    if frac is None:
        frac = min(1.0, 20_000 / args.entities)
    lead_filter = "" if frac >= 1 else f"WHERE hash(lead_id) % 1000 < {int(frac * 1000)}"
    leads = con.execute(f"SELECT * FROM leads {lead_filter}").df()
    ids = "SELECT lead_id FROM leads " + lead_filter
    events = con.execute(f"SELECT * FROM events WHERE lead_id IN ({ids})").df()
    anchors = con.execute(f"SELECT * FROM anchors WHERE entity_id IN ({ids})").df()
    scale = n_anchors / max(len(anchors), 1)
    started = time.perf_counter()
    pdf = pandas_features(leads, events, anchors, plan)
    t_pandas_run = time.perf_counter() - started
    t_pandas = t_pandas_run * scale
    note = "" if frac >= 1 else f" (ran on {len(anchors):,} anchors, scaled x{scale:.1f})"
    print(f"pandas: {t_pandas:.2f}s{note}")

    # agreement on a sample of anchors
    ddf = con.execute("SELECT * FROM features").df()
    merged = ddf.merge(pdf, on=["entity_id", "anchor_ts"], suffixes=("", "__pd"))
    sample = merged.sample(min(len(merged), 20_000), random_state=1)
    mismatched = []
    compared = 0
    for f in plan.features:
        other = f.name + "__pd"
        if other not in sample:
            continue
        compared += 1
        a, b = sample[f.name], sample[other]
        if f.dtype == "categorical":
            ok = (a.fillna("<na>").astype(str) == b.fillna("<na>").astype(str)).all()
        else:
            a, b = a.astype(float).to_numpy(), b.astype(float).to_numpy()
            ok = bool(np.all(np.isclose(a, b, rtol=1e-9, atol=1e-6, equal_nan=True)))
        if not ok:
            mismatched.append(f.name)
    print(f"agreement: {compared} features compared on {len(sample):,} anchors, "
          f"{len(mismatched)} differ{': ' + ', '.join(mismatched[:5]) if mismatched else ''}")

    ft_result: dict = {"status": "skipped"}
    if not args.no_featuretools:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import featuretools  # noqa: F401
        except Exception as e:  # noqa: BLE001
            ft_result = {"status": f"not installed ({type(e).__name__})"}
        else:
            try:
                ft_frac = min(1.0, 20_000 / n_anchors)
                k = max(1, int(ft_frac * 1000))
                sub_ids = f"SELECT lead_id FROM leads WHERE hash(lead_id) % 1000 < {k}"
                fl = con.execute(f"SELECT * FROM leads WHERE lead_id IN ({sub_ids})").df()
                fe = con.execute(f"SELECT * FROM events WHERE lead_id IN ({sub_ids})").df()
                fa = con.execute(f"SELECT * FROM anchors WHERE entity_id IN ({sub_ids})").df()
                started = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fm, defs = featuretools_dfs(fl, fe, fa)
                t_ft_run = time.perf_counter() - started
                ft_scale = n_anchors / max(len(fa), 1)
                ft_result = {"status": "ok", "seconds": t_ft_run * ft_scale,
                             "ran_anchors": len(fa), "scale": ft_scale,
                             "features": len(defs), "windows": "all history only"}
                print(f"featuretools DFS (all history only, {len(defs)} features): "
                      f"{t_ft_run:.2f}s on {len(fa):,} anchors -> ~{t_ft_run * ft_scale:.0f}s scaled")
            except Exception as e:  # noqa: BLE001
                ft_result = {"status": f"failed: {type(e).__name__}: {str(e)[:200]}"}
        if ft_result["status"] != "ok":
            print(f"featuretools: {ft_result['status']}")

    ratio = t_pandas / t_duck
    print()
    print(f"{'':28}{'seconds':>10}")
    print(f"{'DuckDB plan + compute':28}{t_duck:>10.2f}   goal < 60 s: {'met' if t_duck < 60 else 'MISSED'}")
    print(f"{'pandas':28}{t_pandas:>10.2f}   {ratio:.1f}x slower (goal >= 10x)")
    if ft_result.get("status") == "ok":
        print(f"{'featuretools DFS (scaled)':28}{ft_result['seconds']:>10.2f}   "
              f"{ft_result['seconds'] / t_duck:.0f}x slower, one window only")
    results = {
        "entities": args.entities, "events": args.events, "anchors": n_anchors,
        "threads": args.threads, "features": len(plan.features),
        "duckdb_plan_s": t_plan, "duckdb_compute_s": t_compute, "duckdb_s": t_duck,
        "pandas_s": t_pandas, "pandas_fraction": frac, "pandas_scale": scale,
        "ratio": ratio, "agreement_mismatches": mismatched, "featuretools": ft_result,
    }  # fmt: skip
    folder = ROOT / "bench" / "results"
    folder.mkdir(exist_ok=True)
    path = folder / f"features-{args.entities}x{args.events}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {path.relative_to(ROOT)}")
    assert math.isfinite(ratio)


if __name__ == "__main__":
    main()
