"""Money: what a FIND has spent, source by source, and the guarantee that it never exceeds BUDGET.

Every purchase goes through `Ledger.charge`, which refuses (raises) rather than overspend; callers
ask `affordable()` first and buy only that many. Records already paid for are remembered per
source, so a retry or a failover never pays twice for the same record key.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from leadql.errors import LeadQLBudgetError

MICRO = Decimal("0.000001")  # money is kept, stored and charged in micro-dollars


def micro(amount: Decimal) -> Decimal:
    """`amount` rounded to the micro-dollar (half up), as the warehouse stores it."""
    return amount.quantize(MICRO, rounding=ROUND_HALF_UP)


@dataclass
class SourceAccount:
    name: str
    price_record: Decimal
    price_query: Decimal
    quality: float | None
    records: int = 0
    queries: int = 0
    amount: Decimal = Decimal(0)
    keys: set[str] = field(default_factory=set)


class Ledger:
    def __init__(self, budget: Decimal) -> None:
        self.budget = budget
        self.spent = Decimal(0)
        self.accounts: dict[str, SourceAccount] = {}
        self._lock = threading.Lock()

    def open(self, name: str, price_record: Decimal, price_query: Decimal, quality: float | None) -> SourceAccount:
        with self._lock:
            if name not in self.accounts:
                self.accounts[name] = SourceAccount(name, price_record, price_query, quality)
            return self.accounts[name]

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.spent

    def affordable(self, name: str, wanted: int, *, with_query: bool = False) -> int:
        """How many of `wanted` new records of source `name` the remaining budget pays for."""
        account = self.accounts[name]
        left = self.remaining - (account.price_query if with_query else 0)
        if left < 0:
            return 0
        if account.price_record <= 0:
            return wanted
        k = max(0, min(wanted, int(left / account.price_record) + 1))  # rounding may fit one more
        while k and self._records_cost(account, k) > left:  # the micro-dollar rounding
            k -= 1
        return k

    @staticmethod
    def _records_cost(account: SourceAccount, k: int) -> Decimal:
        """What k more records of the account cost: the rounded price of all its records after
        them less that of those before, so that a price per several records (PRICE 1 PER 3
        RECORDS) totals exactly however the records were bought."""
        return micro(account.price_record * (account.records + k)) - micro(account.price_record * account.records)

    def can_query(self, name: str) -> bool:
        return micro(self.accounts[name].price_query) <= self.remaining

    def charge_query(self, name: str) -> None:
        with self._lock:
            account = self.accounts[name]
            price = micro(account.price_query)
            self._spend(price, f"a query to {name}")
            account.queries += 1
            account.amount += price

    def new_keys(self, name: str, keys: list[str]) -> list[str]:
        """The keys of `keys` not yet paid for (in order, without repeats)."""
        held = self.accounts[name].keys
        return [k for k in dict.fromkeys(keys) if k not in held]  # dict: ordered, C-speed dedupe

    def charge_records(self, name: str, keys: list[str]) -> None:
        """Pay for these records (keys must be new; see `new_keys`)."""
        with self._lock:
            account = self.accounts[name]
            amount = self._records_cost(account, len(keys))
            self._spend(amount, f"{len(keys):,} records of {name}")
            account.records += len(keys)
            account.amount += amount
            account.keys.update(keys)

    def _spend(self, amount: Decimal, what: str) -> None:
        if self.spent + amount > self.budget:
            # Callers check affordable() first; reaching this is a bug, and money must not move.
            raise LeadQLBudgetError(
                f"buying {what} for ${amount} would exceed the budget "
                f"(${self.spent} of ${self.budget} spent)",
                hint="this is a LeadQL bug: please report it",
            )
        self.spent += amount
