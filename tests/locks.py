"""Waiting for other connections to wait for a lock (PostgreSQL): how a test lines up a race
deterministically, whatever the machine's speed."""

import time
from collections.abc import Callable

from django.db import connection


def waiting_for_locks() -> int:
    """How many connections to this database wait for a lock (a row's, say)."""
    with connection.cursor() as cursor:
        # Within a transaction PostgreSQL would show the activity as it first read it.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def wait_for_lock_waiters(count: int, *, unless: Callable[[], bool] = lambda: False) -> bool:
    """Until `count` connections wait for a lock (True), or `unless()` is true first (False).

    `unless` says when waiting is pointless, e.g. the threads expected to wait have finished:
    the test then fails on what they did, not here. The deadline is only there so that a
    broken test ends; a slow machine meets the condition later, not never.
    """
    deadline = time.monotonic() + 120
    while waiting_for_locks() < count:
        if unless():
            return False
        assert time.monotonic() < deadline, f"{count} connections never waited for a lock"
        time.sleep(0.01)
    return True
