"""The consent ledger's hash chain: each row carries a hash over its content and the hash of
the row before it of the same number and channel, written by the database as the row is
(contacts/guard/*/contacts_consentevent.sql, migration 0029). `manage.py verify_ledger`
recomputes it here and names the first row that does not match: a row changed after it was
written, or one deleted that a later row followed.

The content is written as text, each field as its length, ":", the field and ";" (so that no
field's text can pass for two), in this order: id, at (UTC, "2026-12-05 09:30:00.123456" on
PostgreSQL; on SQLite, as the database keeps it), contact_id, phone, channel, before, after,
source, actor_id, note, via, copied_from, opt_in_id, matched, chained_to, and the previous
row's hash. The hash is SHA-256 of its UTF-8, in hex. Rows written before the chain began
(chain empty, dated before migration 0029 ran, as Django recorded it) are counted, not
checked; a row after with no hash lost it.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

FIELDS = (
    "id", "at", "contact_id", "phone", "channel", "before", "after", "source", "actor_id",
    "note", "via", "copied_from", "opt_in_id", "matched", "chained_to",
)  # fmt: skip


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # PostgreSQL's; SQLite's is read as its text
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(value)


def chain_of(row: dict, previous: str) -> str:
    """The hash of a ledger row (FIELDS) that follows the hash `previous` ("" for the first)."""
    parts = [_text(row[name]) for name in FIELDS] + [previous]
    content = "".join(f"{len(part)}:{part};" for part in parts)
    return hashlib.sha256(content.encode()).hexdigest()


@dataclass
class Finding:
    row: int
    phone: str
    channel: str
    problem: str

    def __str__(self) -> str:
        return f"Row {self.row} ({self.phone}, {self.channel}): {self.problem}"


@dataclass
class Verified:
    rows: int = 0
    before_the_chain: int = 0
    findings: list[Finding] | None = None
    # Rows that follow a row another row follows too: written at the same moment by two
    # writers of the number. Each is checked, but the deletion of one would not be seen.
    forked: int = 0

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.row) if self.findings else None


def _rows() -> Iterator[dict]:
    """Every ledger row, by number, channel and id (the chain's order, along its index)."""
    at = "CAST(at AS TEXT)" if connection.vendor == "sqlite" else "at"
    columns = [at if name == "at" else connection.ops.quote_name(name) for name in FIELDS]
    sql = (
        f"SELECT {', '.join(columns)}, chain FROM contacts_consentevent ORDER BY phone, channel, id"
    )
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while batch := cursor.fetchmany(5000):
            for values in batch:
                yield dict(zip((*FIELDS, "chain"), values, strict=True))


def _chain_began() -> datetime | None:
    """When migration 0029 wrote the chain's trigger, as Django recorded it: no row written
    since lacks a hash, whoever blanks one or all of them."""
    recorder = MigrationRecorder(connection)
    began = recorder.migration_qs.filter(app="contacts", name="0029_ledger_chain")
    return began.values_list("applied", flat=True).first()


def _at(value) -> datetime:
    """A row's time as `_rows` reads it (SQLite's as its text), in UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def verify() -> Verified:
    """Recompute every row's hash from its content and the row it follows."""
    result = Verified(findings=[])
    began = _chain_began()
    group, seen = None, {}  # the number and channel read, and its rows' hashes by id
    followed: dict[int, int] = {}  # of the group's rows, how many rows follow each
    for row in _rows():
        result.rows += 1
        if (row["phone"], row["channel"]) != group:
            result.forked += sum(count for count in followed.values() if count > 1)
            group, seen, followed = (row["phone"], row["channel"]), {}, {}
        if not row["chain"]:
            seen[row["id"]] = ""
            if began is None or _at(row["at"]) >= began:
                problem = "it has no hash, yet it was written after the chain began"
                result.findings.append(Finding(row["id"], *group, problem))
            else:
                result.before_the_chain += 1
            continue
        follows = row["chained_to"]
        if follows is not None:
            followed[follows] = followed.get(follows, 0) + 1
        if follows is not None and follows not in seen:
            problem = f"it follows row {follows}, which is not in its number's ledger any more"
            result.findings.append(Finding(row["id"], *group, problem))
        elif row["chain"] != chain_of(row, seen.get(follows, "")):
            problem = "its content or its hash changed after it was written"
            result.findings.append(Finding(row["id"], *group, problem))
        seen[row["id"]] = row["chain"]
    result.forked += sum(count for count in followed.values() if count > 1)
    return result
