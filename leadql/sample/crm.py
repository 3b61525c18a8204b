"""The company's own data: leads, their events, customers and closed deals, with planted signals.

* Conversion: every response or meeting may lead to a conversion within 30 days, more likely
  for meetings, for engaged leads and for higher incomes; a few leads convert out of the blue.
* Keyboard buyers: people aged 25-45 earning 60-150k buy keyboards far more often than others,
  more so in CA, WA and NY; other customers buy mice, monitors and laptops.
* Orders: every customer's repeat-purchase history (BG/NBD-like: a Gamma purchase rate and a Beta
  dropout chance per customer), whose first order is the purchase in `customers`; purchase rate
  and spend rise with income, dropout is likelier after a returned order, sales peak in November
  and December, and customers re-buy within their own favourite product categories
  (see `_orders` and docs/sample-data.md for the exact process).

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

# ---- the product catalog: (name, category, price), most popular first within each category
CATEGORIES = ("keyboard", "mouse", "monitor", "laptop", "accessory")  # PRODUCTS + accessories
CATALOG: tuple[tuple[str, str, float], ...] = (
    ("Tessel K2 Wireless Keyboard", "keyboard", 99.99),
    ("Tessel K1 Mechanical Keyboard", "keyboard", 129.99),
    ("Arcfield Slim Keyboard", "keyboard", 84.99),
    ("Quillon Compact Keyboard", "keyboard", 89.99),
    ("Arcfield Pro Mechanical Keyboard", "keyboard", 179.99),
    ("Northkey 65% Keyboard", "keyboard", 149.99),
    ("Quillon Silent Keyboard", "keyboard", 109.99),
    ("Northkey Ergo Split Keyboard", "keyboard", 219.99),
    ("Tessel M3 Wireless Mouse", "mouse", 39.99),
    ("Arcfield Basic Mouse", "mouse", 25.99),
    ("Tessel M5 Ergonomic Mouse", "mouse", 69.99),
    ("Northkey Gaming Mouse", "mouse", 59.99),
    ("Arcfield Travel Mouse", "mouse", 29.99),
    ("Quillon Vertical Mouse", "mouse", 49.99),
    ("Quillon Trackball", "mouse", 79.99),
    ("Northkey Pro Mouse", "mouse", 89.99),
    ("Vistar 24in FHD Monitor", "monitor", 189.99),
    ("Vistar 27in QHD Monitor", "monitor", 329.99),
    ("Orbis 24in Portable Monitor", "monitor", 219.99),
    ("Lumen 27in 4K Monitor", "monitor", 449.99),
    ("Vistar 32in 4K Monitor", "monitor", 599.99),
    ("Lumen 34in Ultrawide Monitor", "monitor", 749.99),
    ("Lumen 27in OLED Monitor", "monitor", 899.99),
    ("Corvid 14 Laptop", "laptop", 899.99),
    ("Corvid 15 Laptop", "laptop", 1099.99),
    ("Corvid Flex 14 Laptop", "laptop", 749.99),
    ("Strata Air 13 Laptop", "laptop", 1299.99),
    ("Strata Pro 14 Laptop", "laptop", 1899.99),
    ("Strata Pro 16 Laptop", "laptop", 2499.99),
    ("Helix Workstation 16 Laptop", "laptop", 2599.99),
    ("USB-C Cable 2m", "accessory", 12.99),
    ("Mouse Pad XL", "accessory", 19.99),
    ("USB-C Hub 7-in-1", "accessory", 49.99),
    ("Cleaning Kit", "accessory", 9.99),
    ("Keycap Set", "accessory", 39.99),
    ("Wrist Rest", "accessory", 24.99),
    ("Laptop Sleeve 14in", "accessory", 29.99),
    ("Webcam 1080p", "accessory", 69.99),
    ("Monitor Arm", "accessory", 119.99),
)
LEMONS = ("Quillon Compact Keyboard", "Orbis 24in Portable Monitor", "Corvid Flex 14 Laptop")
RETURN_RATE, LEMON_RETURN_RATE = 0.04, 0.35
POPULARITY_EXPONENT = 1.2  # within a category, the k-th product has popularity 1 / k**1.2
PREMIUM_BETA = 0.8  # product choice weight pop * exp(0.8 * income_z * price_z within category)
RATE_SHAPE, RATE_SCALE, RATE_BETA, RATE_CAP = 1.5, 8.0, 0.5, 60.0  # orders per year
DROPOUT_A, DROPOUT_B, DROPOUT_BETA, RETURN_DROPOUT = 2.0, 18.0, 0.3, 0.5
# category affinity: 0.3 * the first purchase's category + 0.7 * Dirichlet(AFFINITY_ALPHA)
AFFINITY_FIRST, AFFINITY_ALPHA = 0.3, (0.3, 0.3, 0.15, 0.06, 0.6)
# sales by month (Jan..Dec): back to school in August, the holidays in November and December
SEASON = (0.8, 0.8, 0.9, 0.9, 0.9, 0.9, 1.0, 1.3, 1.0, 1.0, 1.8, 1.8)
DISCOUNTS, DISCOUNT_W = (1.0, 0.9, 0.8), (70.0, 20.0, 10.0)
MIN_GAP = 3_600  # seconds between two orders of one customer, at least
YEAR = 365.25 * DAY


def _catalog_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per product: category index, price, popularity, standardised log price, return rate."""
    cat = np.array([CATEGORIES.index(c) for _, c, _ in CATALOG])
    price = np.array([p for _, _, p in CATALOG])
    rank = np.zeros(len(CATALOG))
    price_z = np.zeros(len(CATALOG))
    for c in range(len(CATEGORIES)):
        idx = np.flatnonzero(cat == c)
        rank[idx] = np.arange(1, idx.size + 1)
        lp = np.log(price[idx])
        price_z[idx] = (lp - lp.mean()) / lp.std()
    ret = np.array([LEMON_RETURN_RATE if n in LEMONS else RETURN_RATE for n, _, _ in CATALOG])
    return cat, price, rank**-POPULARITY_EXPONENT, price_z, ret


def products_table() -> pa.Table:
    """The product catalog (product ids from 1, in catalog order)."""
    return pa.table(
        {
            "product_id": pa.array(np.arange(1, len(CATALOG) + 1, dtype=np.int64)),
            "name": strings([n for n, _, _ in CATALOG]),
            "category": strings([c for _, c, _ in CATALOG]),
            "price": pa.array([p for _, _, p in CATALOG], pa.float64()),
        }
    )


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
    bought = _AS_OF_S - rng.integers(DAY, 730 * DAY, cust.size)
    o_who, o_ts, o_product, o_qty, o_amount, o_returned = _orders(rng, z[cust], product, bought)
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
            "bought_at": _ts(bought),
            "amount": pa.array(o_amount[: cust.size]),  # the first order
        }
    )
    orders = pa.table(
        {
            "person_id": pa.array(pid[cust][o_who]),
            "product_id": pa.array(o_product + 1),
            "ordered_at": _ts(o_ts),
            "amount": pa.array(o_amount),
            "quantity": pa.array(o_qty),
            "returned": pa.array(o_returned),
            "seq": pa.array(seq * (1 << 32) + np.arange(o_who.size, dtype=np.int64)),
        }
    )
    return {
        "leads": leads,
        "events": events,
        "customers": customers,
        "closed_deals": deals,
        "orders": orders,
    }


def _orders(
    rng: np.random.Generator, z: np.ndarray, family: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Every customer's orders: (customer index, time, product index, quantity, amount, returned).

    The first `n` rows are the first orders, in customer order: at `start`, one unit of a product
    of the customer's first category `family`. Then, BG/NBD-like, with planted signals: each
    customer has a purchase rate (Gamma, times exp(RATE_BETA * income_z), at most RATE_CAP a
    year) modulated by SEASON (by thinning), and after every repeat order drops out for good with
    a chance p (Beta, odds times exp(-DROPOUT_BETA * income_z)), raised to
    p + RETURN_DROPOUT * (1 - p) if that order was returned (p = 0 for the first order). Each
    repeat order's category comes from the customer's own affinity; its product from popularity,
    tilted to pricier products for higher incomes. Vectorised over customers: one pass per
    purchase opportunity, until every customer has dropped out or reached AS_OF.
    """
    n = z.size
    n_cat = len(CATEGORIES)
    cat, price, pop, price_z, ret_rate = _catalog_arrays()
    first_of = np.array([np.flatnonzero(cat == c)[0] for c in range(n_cat)])
    last_of = np.array([np.flatnonzero(cat == c)[-1] for c in range(n_cat)])
    # product choice: per customer, cumulative weights within each category block, ending at 1
    w = pop[None, :] * np.exp(PREMIUM_BETA * z[:, None] * price_z[None, :])
    cw = np.empty_like(w)
    for c in range(n_cat):
        block = np.cumsum(w[:, first_of[c] : last_of[c] + 1], axis=1)
        cw[:, first_of[c] : last_of[c] + 1] = block / block[:, -1:]
    # category affinity, purchase rate and dropout chance per customer
    g = rng.gamma(np.array(AFFINITY_ALPHA)[None, :], size=(n, n_cat)) + 1e-12
    affinity = (1 - AFFINITY_FIRST) * g / g.sum(axis=1, keepdims=True)
    affinity[np.arange(n), family] += AFFINITY_FIRST
    cum_affinity = np.cumsum(affinity, axis=1)
    rate = np.clip(rng.gamma(RATE_SHAPE, RATE_SCALE, n) * np.exp(RATE_BETA * z), 1e-3, RATE_CAP)
    odds = rng.beta(DROPOUT_A, DROPOUT_B, n)
    odds = odds / (1 - odds) * np.exp(-DROPOUT_BETA * z)
    dropout = odds / (1 + odds)
    season = np.array(SEASON) / max(SEASON)
    discounts, discount_w = np.array(DISCOUNTS), np.array(DISCOUNT_W)

    def order(who: np.ndarray, c: np.ndarray, first: bool) -> tuple[np.ndarray, ...]:
        m = who.size
        below = (cw[who] < rng.random(m)[:, None]) & (cat[None, :] == c[:, None])
        prod = np.minimum(first_of[c] + below.sum(axis=1), last_of[c])
        if first:
            qty = np.ones(m, dtype=np.int64)
        else:
            acc = rng.poisson(0.3 * np.exp(0.4 * z[who]))
            qty = 1 + np.where(c == n_cat - 1, acc, rng.random(m) < 0.05).astype(np.int64)
        amount = np.round(price[prod] * qty * discounts[_pick(rng, discount_w, m)], 2)
        returned = rng.random(m) < ret_rate[prod]
        p = np.zeros(m) if first else dropout[who]  # as in BG/NBD, no dropout at the first
        stays = rng.random(m) >= np.where(returned, p + RETURN_DROPOUT * (1 - p), p)
        return prod, qty, amount, returned, stays

    who = np.arange(n)
    prod, qty, amount, returned, active = order(who, family, True)
    parts = [(who, start.astype(np.int64), prod, qty, amount, returned)]
    t = start.astype(np.int64)
    while True:
        idx = np.flatnonzero(active)
        if not idx.size:
            break
        gap = rng.exponential(YEAR / (rate[idx] * max(SEASON)))
        t[idx] += np.maximum(MIN_GAP, gap).astype(np.int64)
        tn = t[idx]
        alive = tn < _AS_OF_S
        month = tn.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12
        buy = alive & (rng.random(idx.size) < season[month])
        active[idx[~alive]] = False
        who = idx[buy]
        c = np.minimum((rng.random(who.size)[:, None] > cum_affinity[who]).sum(axis=1), n_cat - 1)
        prod, qty, amount, returned, stays = order(who, c, False)
        parts.append((who, tn[buy], prod, qty, amount, returned))
        active[who] = stays
    return tuple(np.concatenate(col) for col in zip(*parts, strict=True))


FILES = {
    "leads": "leads.parquet",
    "events": "events.csv",
    "customers": "customers.parquet",
    "closed_deals": "closed_deals.csv",
    "products": "products.parquet",
    "orders": "orders.parquet",
}
PARTS = ("leads", "events", "customers", "closed_deals", "orders")  # what chunks produce

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
    "products": "SELECT * FROM products ORDER BY product_id",
    "orders": """
        SELECT row_number() OVER (ORDER BY o.ordered_at, o.seq) AS order_id, c.customer_id,
               o.product_id, o.ordered_at, o.amount, o.quantity, o.returned
        FROM orders o JOIN customer_ids c USING (person_id) ORDER BY order_id""",
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
        con.execute(
            "CREATE TEMP TABLE customer_ids AS SELECT person_id, row_number() OVER "
            "(ORDER BY bought_at, person_id) AS customer_id FROM customers"
        )
        con.register("products", products_table())
        for name, file in FILES.items():
            if name not in parts and name != "products":
                continue
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
