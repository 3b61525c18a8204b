"""The company's own data: leads, their events, customers and closed deals, with planted signals.

* Conversion: every response or meeting may lead to a conversion within 30 days, more likely
  for meetings, for engaged leads and for higher incomes; a few leads convert out of the blue.
* Keyboard buyers: people aged 25-45 earning 60-150k buy keyboards far more often than others,
  more so in CA, WA and NY; other customers buy mice, monitors and laptops.

Chunks produce parts keyed by person; `finish` gives ids in time order and writes the tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadql.sample._arrow import (
    STRING,
    duck_connect,
    duck_reader,
    replace_where,
    set_null,
    strings,
    take,
    to_numpy,
)
from leadql.sample.population import AS_OF, _pick, income_z

_AS_OF_S = np.datetime64(AS_OF, "s").astype(np.int64)
DAY = 86_400
LEAD_DAYS = 548  # leads were created over the last 18 months
CHANNELS = ("web", "paid_search", "social", "referral", "event", "partner", "outbound")
_CHANNEL_W = np.array([35, 15, 12, 10, 8, 8, 12])
EVENT_TYPES = ("response", "click", "call", "meeting", "conversion")
PRODUCTS = ("keyboard", "mouse", "monitor", "laptop")
_PRICE = {"keyboard": (80, 220), "mouse": (25, 90), "monitor": (180, 900), "laptop": (700, 2600)}
KEYBOARD_STATES = ("CA", "WA", "NY")


def counts(people: int) -> tuple[int, int]:
    """How many leads and customers a population of this size gets."""
    leads = min(people // 2, max(1_000, people // 10))
    customers = min(people // 4, max(500, people // 25))
    return leads, customers


def _ts(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("datetime64[s]"), pa.timestamp("s"))


def chunk_parts(
    truth: pa.Table, rng: np.random.Generator, people: int, seq: int
) -> dict[str, pa.Table]:
    """Leads, events, customers and deals for the people of one truth chunk (ids per person)."""
    n = truth.num_rows
    n_leads, n_customers = counts(people)
    pid = truth["person_id"].to_numpy()
    age = to_numpy(truth["age"])
    income = to_numpy(truth["income"])
    z = income_z(income)
    employed = pc.is_valid(truth["company_id"]).to_numpy(zero_copy_only=False)

    # ---- leads
    w = 1.0 + 0.5 * employed + 0.5 * ((age >= 25) & (age <= 60))
    p = np.minimum(1.0, n_leads / people * w / w.mean())
    lead = np.flatnonzero(rng.random(n) < p)
    k = lead.size
    created = _AS_OF_S - rng.integers(DAY, LEAD_DAYS * DAY, k)
    lt = truth.take(pa.array(lead, pa.int64()))
    work = employed[lead] & (rng.random(k) < 0.3)
    email = replace_where(
        lt["email"].combine_chunks(), work, pc.fill_null(lt["work_email"].combine_chunks(), "")
    )
    leads = pa.table(
        {
            "person_id": pa.array(pid[lead]),
            "email": email,
            "first_name": lt["first_name"],
            "last_name": lt["last_name"],
            "phone": set_null(lt["phone"].combine_chunks(), rng.random(k) < 0.2),
            "state": lt["state"],
            "channel": take(strings(CHANNELS), _pick(rng, _CHANNEL_W, k)),
            "created_at": _ts(created),
        }
    )

    # ---- events
    engagement = rng.normal(0, 1, k) + 0.4 * z[lead]
    life = (_AS_OF_S - created) / DAY
    kinds: list[tuple[str, float, float]] = [
        ("click", 1.2, 0.4),
        ("response", 0.35, 0.5),
        ("call", 0.2, 0.3),
        ("meeting", 0.06, 0.6),
    ]
    e_lead, e_ts, e_type, e_source = [], [], [], []
    for name, rate, beta in kinds:
        c = rng.poisson(rate * life / 30.0 * np.exp(beta * engagement))
        who = np.repeat(np.arange(k), c)
        ts = created[who] + (rng.random(who.size) * (_AS_OF_S - created[who])).astype(np.int64)
        if name == "click":
            src = np.where(rng.random(who.size) < 0.65, "web", "email")
        elif name == "response":
            src = np.where(rng.random(who.size) < 0.7, "email", "web")
        else:
            src = np.full(who.size, "sales")
        e_lead.append(who)
        e_ts.append(ts)
        e_type.append(np.full(who.size, name))
        e_source.append(src)
    # conversions: within 30 days of a response or meeting, likelier for meetings, engaged
    # leads and higher incomes; plus rare conversions out of the blue
    who = np.concatenate(e_lead[1:4:2])  # responses and meetings
    when = np.concatenate(e_ts[1:4:2])
    meeting = np.concatenate([np.zeros(e_lead[1].size, bool), np.ones(e_lead[3].size, bool)])
    logit = -3.3 + 0.9 * z[lead][who] + 1.4 * meeting + 0.3 * engagement[who]
    hit = rng.random(who.size) < 1 / (1 + np.exp(-logit))
    conv_ts = when + (rng.uniform(0.5, 29.5, who.size) * DAY).astype(np.int64)
    blue = np.flatnonzero(rng.random(k) < 0.015 * life / 365)
    blue_ts = created[blue] + (rng.random(blue.size) * (_AS_OF_S - created[blue])).astype(np.int64)
    cand_lead = np.concatenate([who[hit], blue])
    cand_ts = np.concatenate([conv_ts[hit], blue_ts])
    cand_meeting = np.concatenate([meeting[hit], np.zeros(blue.size, bool)])
    ok = cand_ts < _AS_OF_S
    cand_lead, cand_ts, cand_meeting = cand_lead[ok], cand_ts[ok], cand_meeting[ok]
    order = np.lexsort((cand_ts, cand_lead))
    first = (
        order[np.r_[True, cand_lead[order][1:] != cand_lead[order][:-1]]] if order.size else order
    )
    conv_lead, conv_time = cand_lead[first], cand_ts[first]
    conv_src = np.where(cand_meeting[first] | (rng.random(first.size) < 0.4), "sales", "web")
    e_lead.append(conv_lead)
    e_ts.append(conv_time)
    e_type.append(np.full(conv_lead.size, "conversion"))
    e_source.append(conv_src)
    ev_lead = np.concatenate(e_lead)
    events = pa.table(
        {
            "person_id": pa.array(pid[lead][ev_lead]),
            "ts": _ts(np.concatenate(e_ts)),
            "type": pa.array(np.concatenate(e_type).astype(str), STRING),
            "source": pa.array(np.concatenate(e_source).astype(str), STRING),
            "seq": pa.array(seq * (1 << 32) + np.arange(ev_lead.size, dtype=np.int64)),
        }
    )

    # ---- closed deals: won after a conversion, lost some time after a meeting without one
    converted = np.zeros(k, bool)
    converted[conv_lead] = True
    won_at = conv_time + (rng.uniform(0, 10, conv_lead.size) * DAY).astype(np.int64)
    met = np.zeros(k, bool)
    last_meeting = np.full(k, -1, dtype=np.int64)
    np.maximum.at(last_meeting, e_lead[3], e_ts[3])
    met[e_lead[3]] = True
    lost = np.flatnonzero(met & ~converted & (rng.random(k) < 0.7))
    lost_at = last_meeting[lost] + (rng.uniform(10, 60, lost.size) * DAY).astype(np.int64)
    deal_lead = np.concatenate([conv_lead, lost])
    deal_at = np.concatenate([won_at, lost_at])
    deal_won = np.concatenate([np.ones(conv_lead.size, bool), np.zeros(lost.size, bool)])
    keep = deal_at < _AS_OF_S
    deal_lead, deal_at, deal_won = deal_lead[keep], deal_at[keep], deal_won[keep]
    amount = np.round(np.exp(rng.normal(np.log(2_500) + 0.35 * z[lead][deal_lead], 0.7)), 2)
    deals = pa.table(
        {
            "person_id": pa.array(pid[lead][deal_lead]),
            "won": pa.array(deal_won),
            "closed_at": _ts(deal_at),
            "amount": pa.array(amount),
        }
    )

    # ---- customers, with the planted keyboard-buyer profile
    pc_ = np.minimum(
        1.0, n_customers / people * (1.0 + 0.2 * employed) / (1.0 + 0.2 * employed).mean()
    )
    cust = np.flatnonzero(rng.random(n) < pc_)
    ct = truth.take(pa.array(cust, pa.int64()))
    profile = (
        (age[cust] >= 25) & (age[cust] <= 45) & (income[cust] >= 60_000) & (income[cust] <= 150_000)
    )
    p_kb = np.where(profile, 0.5, 0.07)
    odds = (
        p_kb
        / (1 - p_kb)
        * np.where(
            pc.is_in(ct["state"], value_set=pa.array(KEYBOARD_STATES)).to_numpy(
                zero_copy_only=False
            ),
            3.5,
            1.0,
        )
    )
    keyboard = rng.random(cust.size) < odds / (1 + odds)
    other = 1 + _pick(rng, np.array([40.0, 30.0, 30.0]), cust.size)
    product = np.where(keyboard, 0, other)
    lo = np.array([_PRICE[p][0] for p in PRODUCTS])[product]
    hi = np.array([_PRICE[p][1] for p in PRODUCTS])[product]
    customers = pa.table(
        {
            "person_id": pa.array(pid[cust]),
            "email": ct["email"],
            "first_name": ct["first_name"],
            "last_name": ct["last_name"],
            "phone": ct["phone"],
            "state": ct["state"],
            "zip": ct["zip"],
            "product": take(strings(PRODUCTS), product),
            "bought_at": _ts(_AS_OF_S - rng.integers(DAY, 730 * DAY, cust.size)),
            "amount": pa.array(np.round(rng.uniform(lo, hi) - 0.01, 2)),
        }
    )
    return {"leads": leads, "events": events, "customers": customers, "closed_deals": deals}


FILES = {
    "leads": "leads.parquet",
    "events": "events.csv",
    "customers": "customers.parquet",
    "closed_deals": "closed_deals.csv",
}

_FINAL_SQL = {
    "leads": """
        SELECT row_number() OVER (ORDER BY created_at, person_id) AS lead_id, person_id, email,
               first_name, last_name, phone, state, channel, created_at
        FROM leads ORDER BY lead_id""",
    "events": """
        SELECT row_number() OVER (ORDER BY e.ts, e.seq) AS event_id, l.lead_id, e.ts, e.type,
               e.source
        FROM events e JOIN lead_ids l USING (person_id) ORDER BY event_id""",
    "customers": """
        SELECT row_number() OVER (ORDER BY bought_at, person_id) AS customer_id, person_id, email,
               first_name, last_name, phone, state, zip, product, bought_at, amount
        FROM customers ORDER BY customer_id""",
    "closed_deals": """
        SELECT l.lead_id, d.won, d.closed_at, d.amount
        FROM closed_deals d JOIN lead_ids l USING (person_id) ORDER BY d.closed_at, l.lead_id""",
}


def finish(parts: dict[str, Path], folder: Path, scratch: Path) -> dict[str, Path]:
    """Number the rows in time order and write the CRM tables; returns table -> path."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    con = duck_connect(scratch)
    try:
        for name, path in parts.items():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        con.execute(
            "CREATE TEMP TABLE lead_ids AS SELECT person_id, row_number() OVER "
            "(ORDER BY created_at, person_id) AS lead_id FROM leads"
        )
        for name, file in FILES.items():
            reader = duck_reader(con, _FINAL_SQL[name], 200_000)
            target = folder / file
            schema = _schema(reader.schema)
            if file.endswith(".parquet"):
                with pq.ParquetWriter(target, schema, compression="snappy") as w:
                    for batch in reader:
                        w.write_table(pa.Table.from_batches([batch]).cast(schema))
            else:
                with pacsv.CSVWriter(target, schema) as w:
                    for batch in reader:
                        w.write_table(pa.Table.from_batches([batch]).cast(schema))
            out[name] = target
    finally:
        con.close()
    return out


def _schema(schema: pa.Schema) -> pa.Schema:
    """Seconds for timestamps, plain strings, int64 ids."""
    fields = []
    for f in schema:
        t = f.type
        if pa.types.is_timestamp(t):
            t = pa.timestamp("s")
        elif pa.types.is_large_string(t) or pa.types.is_string_view(t):
            t = STRING
        fields.append(pa.field(f.name, t))
    return pa.schema(fields)
