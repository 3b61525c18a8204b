"""Saved queries and schedules: SAVE QUERY, SCHEDULE, RUN QUERY, `leadql scheduler`.

    store.py       saved queries (catalog objects), schedules and run history (tables)
    timing.py      EVERY / AT / CRON occurrences and MAX SPEND periods, in the schedule's zone
    runner.py      one run of a saved query: recorded, capped, excluding its earlier deliveries
    scheduler.py   the scheduler: leases, crashed-run recovery, retries with backoff
    log.py         the rotating log file several processes share (concurrent-log-handler)
    statements.py  the statements' handlers
"""

from leadql.scheduling.scheduler import RetryPolicy, Scheduler

__all__ = ["RetryPolicy", "Scheduler"]
