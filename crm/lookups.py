"""A lookup Django leaves to the database driver, where a number no integer column holds
made a query fail."""

from django.db.models import IntegerField
from django.db.models.lookups import In


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
            field_type = self.lhs.output_field.get_internal_type()
            low, high = connection.ops.integer_field_range(field_type)
            self.rhs = [v for v in self.rhs if not isinstance(v, int) or low <= v <= high]
        return super().process_rhs(compiler, connection)
