"""What the catalog stores about each object, as plain typed records (JSON in the database).

Money is kept as decimal strings in JSON, so a price read back is exactly the price written.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

SOURCE = "source"
TABLE = "table"
CATEGORY = "category"


@dataclass(frozen=True)
class Price:
    amount: Decimal
    per: int  # the price is for this many units
    unit: str  # "record" | "query"

    @property
    def per_unit(self) -> Decimal:
        return self.amount / self.per


@dataclass(frozen=True)
class Reference:
    column: str
    table: str
    target_column: str


@dataclass(frozen=True)
class DataDef:
    """A vendor source (priced) or one of the company's own tables (free)."""

    kind: str  # SOURCE | TABLE
    name: str
    location: str
    format: str
    options: dict[str, Any] = field(default_factory=dict)
    key: tuple[str, ...] = ()
    mappings: dict[str, str] = field(default_factory=dict)  # category → SQL over source columns
    columns: dict[str, str] = field(default_factory=dict)  # source column → DuckDB type at CREATE
    prices: tuple[Price, ...] = ()
    quality: Decimal | None = None
    updated: str | None = None
    time_column: str | None = None
    references: tuple[Reference, ...] = ()

    @property
    def price_per_record(self) -> Decimal:
        return sum((p.per_unit for p in self.prices if p.unit == "record"), Decimal(0))

    @property
    def price_per_query(self) -> Decimal:
        return sum((p.per_unit for p in self.prices if p.unit == "query"), Decimal(0))

    def to_json(self) -> str:
        data = asdict(self)
        data["prices"] = [
            {"amount": str(p.amount), "per": p.per, "unit": p.unit} for p in self.prices
        ]
        data["quality"] = None if self.quality is None else str(self.quality)
        return json.dumps(data, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> DataDef:
        data = json.loads(text)
        data["prices"] = tuple(
            Price(Decimal(p["amount"]), int(p["per"]), p["unit"]) for p in data.get("prices", [])
        )
        data["quality"] = None if data.get("quality") is None else Decimal(data["quality"])
        data["key"] = tuple(data.get("key", ()))
        data["references"] = tuple(Reference(**r) for r in data.get("references", []))
        return DataDef(**data)


@dataclass(frozen=True)
class CategoryDef:
    """A canonical category: the vocabulary FIND speaks."""

    name: str
    type: str = "VARCHAR"
    normalizer: str | None = None  # a stdlib normaliser's name
    normalize_sql: str | None = None  # or an SQL expression over `value`
    group: str | None = None
    description: str | None = None
    builtin: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> CategoryDef:
        return CategoryDef(**json.loads(text))
