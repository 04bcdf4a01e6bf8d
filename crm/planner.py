"""What the query planners read: the statistics SQLite's planner reads, which nothing renews
by itself there; and PostgreSQL's settings for some queries."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def renew_statistics() -> None:
    """On SQLite, ANALYZE every table: without statistics, the planner took a search with the
    status filter through the whole index of statuses, 0.6 s at 100,000 contacts, rather than
    the search's own index, 0.02 s (bench/NOTES.md). Nothing on PostgreSQL, whose autovacuum
    analyzes each table as it changes."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


@contextmanager
def planned_with(settings: dict[str, str]) -> Iterator[None]:
    """On PostgreSQL, the queries inside (a transaction's: `transaction.atomic`) are planned
    with `settings` (a name and its value each), set for the transaction and put back as
    they were after them: in a caller's own transaction they would otherwise outlast the
    block. An error rolls the block's transaction or savepoint back, and them with it.
    Nothing elsewhere."""
    if connection.vendor != "postgresql":
        yield
        return
    names = list(settings)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(['current_setting(%s)'] * len(names))}", names)
        before = cursor.fetchone()
        _set_for_the_transaction(cursor, names, [settings[name] for name in names])
    yield
    with connection.cursor() as cursor:
        _set_for_the_transaction(cursor, names, before)


def _set_for_the_transaction(cursor, names: list[str], values) -> None:
    calls = ", ".join(["set_config(%s, %s, true)"] * len(names))
    cursor.execute(f"SELECT {calls}", [v for pair in zip(names, values, strict=True) for v in pair])
