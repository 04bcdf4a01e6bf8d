"""Lists sent to PostgreSQL as one array parameter, written as the text PostgreSQL reads an
array from: psycopg's own conversion of a long list, element by element, took longer than
the database's reading of the text (an import's 20,000 ids, a send's batch of a thousand
numbers: bench/NOTES.md). The statement casts the parameter (`%s::text[]`)."""

from datetime import datetime

from django.db.models import CharField, Field, IntegerField, TextField

Element = int | str | datetime | None


def array_text(values: list[Element]) -> str:
    """`values` as PostgreSQL writes an array of them: `{1,2}`, `{"+12125550100"}`."""
    return "{" + ",".join(map(_element, values)) + "}"


def _element(value: Element) -> str:
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    if isinstance(value, datetime):
        value = value.isoformat()
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_type(values: list, field: Field) -> str | None:
    """The type to cast `values`' array text to, for comparing them with a column of `field`:
    `bigint[]` for integers to an integer column, `text[]` for strings to a text column; None
    for anything else, which psycopg converts."""
    kinds = set(map(type, values))
    if kinds == {int} and isinstance(field, IntegerField):
        return "bigint[]"
    if kinds == {str} and isinstance(field, CharField | TextField):
        return "text[]"
    return None
