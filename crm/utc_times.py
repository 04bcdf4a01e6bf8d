"""Aware times reach PostgreSQL in UTC. Python writes offsets up to ±23:59, PostgreSQL takes
±15:59 at most ("time zone displacement out of range"): a send time, an import's consent
date or an admin's filter written with such an offset was a 500, and an import so refused
stayed "being checked"."""

from contextlib import suppress
from datetime import UTC, datetime

from django.db.backends.signals import connection_created
from psycopg.types.datetime import DatetimeDumper


class UtcDatetimeDumper(DatetimeDumper):
    """psycopg's dumper of aware datetimes, which writes them as they are, in UTC."""

    def dump(self, obj: datetime):
        with suppress(OverflowError):  # past 9999 in UTC: as it is, which PostgreSQL reads
            obj = obj.astimezone(UTC)
        return super().dump(obj)


def dump_in_utc(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql":
        connection.connection.adapters.register_dumper(datetime, UtcDatetimeDumper)


def connect() -> None:
    connection_created.connect(dump_in_utc, dispatch_uid="crm.utc_times")
