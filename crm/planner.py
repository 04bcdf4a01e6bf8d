"""The statistics SQLite's query planner reads, which nothing renews by itself there."""

from django.db import connection


def renew_statistics() -> None:
    """On SQLite, ANALYZE every table: without statistics, the planner took a search with the
    status filter through the whole index of statuses, 0.6 s at 100,000 contacts, rather than
    the search's own index, 0.02 s (bench/NOTES.md). Nothing on PostgreSQL, whose autovacuum
    analyzes each table as it changes."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
