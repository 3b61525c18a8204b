"""When a schedule runs: EVERY n unit [AT 'hh:mm'] and CRON '…', and the periods MAX SPEND counts.

All stored times are naive UTC. AT and CRON are read in the schedule's time zone (recorded when
the schedule is made: LEADQL_TIMEZONE, else TZ, else the machine's zone), so 06:00 stays 06:00
across daylight-saving changes and a scheduler on another machine agrees on the times.

EVERY counts from an anchor: the first AT time at or after the moment of SCHEDULE, or that
moment itself without AT (so the first run is due at once). Occurrences are anchor + k·interval:
hours and shorter in absolute time, days and weeks on the wall clock, months and years by
calendar (the 31st becomes the last day of shorter months). Occurrences missed while no
scheduler ran are coalesced: the next run is the first occurrence after now, not a backlog.
"""

from __future__ import annotations

import calendar
import os
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

_ABSOLUTE = {"second": 1, "minute": 60, "hour": 3600}  # seconds per unit
_WALL_DAYS = {"day": 1, "week": 7}
_CALENDAR_MONTHS = {"month": 1, "year": 12}
UNITS = (*_ABSOLUTE, *_WALL_DAYS, *_CALENDAR_MONTHS)
MAX_PERIOD_YEARS = 100  # EVERY n unit: at most this long between runs


def period_years(amount: int, unit: str) -> float:
    """How long EVERY `amount` `unit` is, in years (months as twelfths)."""
    if unit in _CALENDAR_MONTHS:
        return amount * _CALENDAR_MONTHS[unit] / 12
    seconds = _ABSOLUTE.get(unit) or _WALL_DAYS[unit] * 86_400
    return amount * seconds / (365.25 * 86_400)


@dataclass(frozen=True)
class Timing:
    """A schedule's rule: exactly one of `every_unit` or `cron`."""

    every_amount: int | None = None
    every_unit: str | None = None  # singular: "day", "hour", …
    at_time: str | None = None  # 'hh:mm'
    cron: str | None = None
    timezone: str = "UTC"

    def describe(self) -> str:
        if self.cron is not None:
            return f"CRON '{self.cron}'"
        n, unit = self.every_amount or 1, self.every_unit or "day"
        text = f"every {unit}" if n == 1 else f"every {n} {unit}s"
        return text + (f" at {self.at_time}" if self.at_time else "")

    @property
    def zone(self) -> tzinfo:
        return zone_named(self.timezone)


# ------------------------------------------------------------------------ time zones


def utc_now() -> datetime:
    """Now, as the naive UTC timestamps the catalog stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def zone_named(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def default_zone_name() -> str:
    """The zone new schedules are read in: LEADQL_TIMEZONE, TZ, the machine's zone, or UTC."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    chosen = os.environ.get("LEADQL_TIMEZONE")
    if chosen:  # asked for by name: a bad one is reported (check_zone), not replaced by UTC
        return chosen.lstrip(":")
    for candidate in (os.environ.get("TZ"),):  # TZ may be a POSIX rule ("UTC+5"): skipped if so
        if candidate:
            name = candidate.lstrip(":")
            try:
                ZoneInfo(name)
                return name
            except (ZoneInfoNotFoundError, ValueError):
                continue
    try:  # /etc/localtime is a link into the zoneinfo database on Linux and macOS
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            ZoneInfo(name)
            return name
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return "UTC"


def check_zone(name: str) -> str | None:
    """None when `name` is a known time zone, else a problem to report."""
    try:
        zone_named(name)
    except Exception:  # noqa: BLE001 - zoneinfo raises several kinds for bad keys
        return f"unknown time zone {name!r}"
    return None


def _local(moment_utc: datetime, zone: tzinfo) -> datetime:
    return moment_utc.replace(tzinfo=timezone.utc).astimezone(zone)


def _utc(moment_local: datetime) -> datetime:
    return moment_local.astimezone(timezone.utc).replace(tzinfo=None)


# ------------------------------------------------------------------------ occurrences


def check_cron(expression: str) -> str | None:
    """None when croniter accepts the expression, else the problem."""
    from croniter import croniter

    if not croniter.is_valid(expression):
        return f"'{expression}' is not a valid cron expression"
    try:  # valid fields can still name a day that never comes (February 30th)
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except Exception:  # noqa: BLE001 - croniter's CroniterBadDateError and friends
        return f"'{expression}' never fires: no date matches it"
    return None


def first_run(timing: Timing, now: datetime) -> tuple[datetime, datetime]:
    """(anchor, first occurrence) for a schedule made at `now` (both naive UTC)."""
    if timing.cron is not None:
        nxt = next_cron(timing, now)
        return nxt, nxt
    if not timing.at_time:
        return now, now
    zone = timing.zone
    local = _local(now, zone)
    hour, minute = (int(p) for p in timing.at_time.split(":"))
    at = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
    if _utc(at) < now:
        at = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), tzinfo=zone)
    anchor = _utc(at)
    return anchor, anchor


def next_cron(timing: Timing, after: datetime) -> datetime:
    from croniter import croniter

    assert timing.cron is not None
    start = _local(after, timing.zone)
    return _utc(croniter(timing.cron, start).get_next(datetime))


def occurrence(timing: Timing, anchor: datetime, k: int) -> datetime:
    """The k-th occurrence of an EVERY schedule (k = 0 is the anchor), naive UTC."""
    n = int(timing.every_amount or 1)
    unit = timing.every_unit or "day"
    if unit in _ABSOLUTE:
        return anchor + timedelta(seconds=_ABSOLUTE[unit] * n * k)
    local = _local(anchor, timing.zone)
    if unit in _WALL_DAYS:  # aware + timedelta is wall-clock arithmetic: 06:00 stays 06:00
        wall = local.replace(tzinfo=None) + timedelta(days=_WALL_DAYS[unit] * n * k)
        return _utc(wall.replace(tzinfo=timing.zone))
    months = local.month - 1 + _CALENDAR_MONTHS[unit] * n * k
    year, month = local.year + months // 12, months % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return _utc(local.replace(tzinfo=None).replace(year=year, month=month, day=day).replace(tzinfo=timing.zone))


def next_run(timing: Timing, anchor: datetime, after: datetime) -> datetime:
    """The first occurrence strictly after `after` (missed occurrences are not replayed)."""
    if timing.cron is not None:
        return next_cron(timing, after)
    n = int(timing.every_amount or 1)
    unit = timing.every_unit or "day"
    if after < anchor:
        return anchor
    seconds = {**_ABSOLUTE, "day": 86400, "week": 604800, "month": 2_629_746, "year": 31_556_952}[unit]
    k = max(0, int((after - anchor).total_seconds() // (seconds * n)) - 1)
    while occurrence(timing, anchor, k) <= after:
        k += 1
    while k > 1 and occurrence(timing, anchor, k - 1) > after:
        k -= 1
    return occurrence(timing, anchor, k)


# ------------------------------------------------------------------------ MAX SPEND periods


def period_start(per: str, now: datetime, zone: tzinfo) -> datetime:
    """The start (naive UTC) of the calendar period containing `now` in the schedule's zone:
    PER MONTH counts from the 1st at 00:00, PER WEEK from Monday, PER DAY from midnight."""
    local = _local(now, zone).replace(tzinfo=None)
    if per == "second":
        start = local.replace(microsecond=0)
    elif per == "minute":
        start = local.replace(second=0, microsecond=0)
    elif per == "hour":
        start = local.replace(minute=0, second=0, microsecond=0)
    elif per == "day":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif per == "week":
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())
    elif per == "month":
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif per == "year":
        start = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        raise ValueError(f"unknown period {per!r}")
    return _utc(start.replace(tzinfo=zone))


def money(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)
