"""The database runs exactly the guard that contacts/guard/*.sql declares (both databases).

Each test drops the guard the migrations wrote, runs the files instead, and compares what
the database then holds with what it held before: a migration that changes a trigger
without its file, or a trigger that no file declares, fails here. Whitespace outside
string literals does not count; everything else does.
"""

import re
import sqlite3
from pathlib import Path

import pytest
from django.db import connection

GUARD = Path(__file__).resolve().parents[2] / "contacts" / "guard"

# A token of SQL: a comment, a string literal (kept exactly), whitespace, or anything else.
TOKEN = re.compile(r"--[^\n]*|'(?:[^']|'')*'|\s+|[^\s'-]+|-")


def normalised(sql: str) -> str:
    tokens = (" " if token.isspace() else token for token in TOKEN.findall(sql))
    return "".join(tokens).strip()


def files(engine: str) -> list[str]:
    # newline="": the opt-in words literal holds a raw carriage return, among others.
    return [
        path.read_text(encoding="utf-8", newline="")
        for path in sorted((GUARD / engine).glob("*.sql"))
    ]


# Triggers on the contacts tables that are not the guard: messaging's proof that an opt-in
# has its stored event (messaging/migrations/0002_inbound_proof.py), broadcasts' count of the
# opt-outs that followed a broadcast (broadcasts/migrations/0014_opt_outs_after.py), and on
# SQLite those that keep the search's text index (contacts/migrations/0025_search_text_sqlite.py).
OTHER_APPS = ["messaging", "broadcasts"]


def others_left_out(column: str) -> str:
    return " AND ".join(f"{column} NOT LIKE '{app}\\_%' ESCAPE '\\'" for app in OTHER_APPS)


NOT_GUARD = rf"{others_left_out('name')} AND name NOT LIKE 'search\_%' ESCAPE '\'"

# The test database's schema: `public`, as the files name it.
SCHEMA = "current_schema()::text::regnamespace"


def postgres_guard(cursor) -> dict[str, str]:
    cursor.execute(
        rf"""
        SELECT 'function ' || p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
        WHERE p.proname LIKE 'contacts\_%' AND p.pronamespace = {SCHEMA}
        UNION ALL
        SELECT 'trigger ' || t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE NOT t.tgisinternal AND c.relname LIKE 'contacts\_%'
          AND c.relnamespace = {SCHEMA} AND {others_left_out("t.tgname")}
        """
    )
    return {name: normalised(definition) for name, definition in cursor.fetchall()}


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_runs_the_functions_and_triggers_of_the_files():
    with connection.cursor() as cursor:
        migrated = postgres_guard(cursor)
        cursor.execute(
            rf"""
            SELECT format('DROP TRIGGER %I ON %s;', t.tgname, t.tgrelid::regclass)
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND c.relname LIKE 'contacts\_%'
              AND c.relnamespace = {SCHEMA} AND {others_left_out("t.tgname")}
            UNION ALL
            SELECT format('DROP FUNCTION %s;', p.oid::regprocedure) FROM pg_proc p
            WHERE p.proname LIKE 'contacts\_%' AND p.pronamespace = {SCHEMA}
            """
        )
        for (drop,) in cursor.fetchall():  # triggers first, then their functions
            cursor.execute(drop)
        assert postgres_guard(cursor) == {}
        for sql in files("postgres"):
            cursor.execute(sql)
        assert postgres_guard(cursor) == migrated


def sqlite_guard(cursor) -> dict[str, str]:
    cursor.execute(
        rf"""
        SELECT name, sql FROM sqlite_master
        WHERE type = 'trigger' AND tbl_name LIKE 'contacts\_%' ESCAPE '\' AND {NOT_GUARD}
        """
    )
    return {name: normalised(sql) for name, sql in cursor.fetchall()}


def statements(sql: str) -> list[str]:
    """The statements of a file, each ended by its semicolon, as sqlite3 sees them."""
    found, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending)
            pending = ""
    assert not pending.strip(), f"An unfinished statement: {pending!r}"
    return found


@pytest.mark.sqlite
@pytest.mark.django_db
def test_sqlite_runs_the_triggers_of_the_files():
    with connection.cursor() as cursor:
        migrated = sqlite_guard(cursor)
        for name in migrated:
            cursor.execute(f"DROP TRIGGER {name}")
        for sql in files("sqlite"):
            for statement in statements(sql):
                cursor.execute(statement)
        assert sqlite_guard(cursor) == migrated
