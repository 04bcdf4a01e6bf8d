"""Lookups of our own: one Django leaves to the database driver, where a number no integer
column holds made a query fail; and `in` for lists of thousands, sent as one array."""

import json

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, IntegerField
from django.db.models.lookups import In

from crm.arrays import array_text, array_type


@IntegerField.register_lookup
class IntegerFieldIn(In):
    """`in`, without the numbers past the column's range, which match no row anyway.

    Django leaves such a number out of `exact` and the comparisons (its ticket #27397), not
    out of `in`: there SQLite's driver raised OverflowError, and a form that chooses rows by
    their ids (ModelMultipleChoiceField, e.g. the contacts of a bulk action) answered 500
    to an id past 64 bits instead of "not one of the available choices".
    """

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            self.rhs = _within_range(self.lhs, self.rhs, connection)
        return super().process_rhs(compiler, connection)


@Field.register_lookup
class AnyOf(In):
    """`in`, written `column = ANY(%s)` on PostgreSQL: the values go to the database as one
    array, rather than as a parameter each that Django prepares and psycopg parses one by
    one (for a send's batch of a thousand numbers: bench/NOTES.md); numbers and strings as
    its text (crm.arrays). On SQLite, `column IN (SELECT value FROM json_each(%s))`: one
    parameter, where SQLite allows 32,766 a statement (Debian's build 250,000), and a
    preview may list 100,000 numbers (broadcasts.policy.LISTED); values that JSON cannot
    carry as they are (dates, decimals) go as `in`. The values are given as the column holds
    them; elsewhere this is `in`."""

    lookup_name = "any"

    def get_prep_lookup(self):
        if self.rhs_is_direct_value():
            return self.rhs  # as the column holds them: not prepared one by one
        return super().get_prep_lookup()

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            self.rhs = _within_range(self.lhs, self.rhs, connection)
        return super().process_rhs(compiler, connection)

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        values = self._values(connection)
        lhs, params = self.process_lhs(compiler, connection)
        if cast := array_type(values, self.lhs.output_field):
            return f"{lhs} = ANY(%s::{cast})", (*params, array_text(values))
        return f"{lhs} = ANY(%s)", (*params, values)

    def as_sqlite(self, compiler, connection):
        if not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        values = self._values(connection)
        lhs, params = self.process_lhs(compiler, connection)
        if (among := sqlite_in_json(lhs, values)) is None:
            return super().as_sql(compiler, connection)  # dates, decimals: as Django gives them
        sql, json_values = among
        return sql, (*params, *json_values)

    def _values(self, connection) -> list:
        """The values, each once, without None (which equals nothing) and the numbers the
        column cannot hold; EmptyResultSet if none is left."""
        values = _within_range(self.lhs, dict.fromkeys(self.rhs), connection)
        values = [value for value in values if value is not None]
        if not values:
            raise EmptyResultSet
        return values


def sqlite_in_json(column: str, values: list) -> tuple[str, list] | None:
    """On SQLite, SQL that `column` is one of `values`, with the values as one JSON parameter
    (SQLite allows 32,766 parameters a statement, Debian's build 250,000); None if JSON
    cannot carry them as they are."""
    if not all(_as_json(value) for value in values):
        return None
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(values)]


def _as_json(value) -> bool:
    """Whether SQLite's json_each gives `value` back as it is: numbers and strings, save a
    string with a NUL (where SQLite's JSON ends it)."""
    if isinstance(value, str):
        return "\x00" not in value
    return isinstance(value, int)


def _within_range(lhs, values, connection) -> list:
    """`values`, without the numbers that `lhs`'s column cannot hold if it holds integers."""
    if not isinstance(lhs.output_field, IntegerField):
        return list(values)
    low, high = connection.ops.integer_field_range(lhs.output_field.get_internal_type())
    return [v for v in values if not isinstance(v, int) or low <= v <= high]
