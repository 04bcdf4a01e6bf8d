"""A partial index of the contacts whose phone is not E.164, on PostgreSQL.

There are few or none, and a broadcast's preview counts them: with this index the count
reads those few rows, not a regular expression over every contact. Its predicate is the
SQL Django writes for `exclude(phone__regex=VALID_PHONE)`, which the planner must match.
"""

from django.db import migrations

VALID_PHONE = r"^\+[1-9][0-9]{6,14}$"  # as it was; 0013 writes the index anew

CREATE = f"""
CREATE INDEX contact_invalid_phone ON contacts_contact (id)
WHERE NOT (phone::text ~ '{VALID_PHONE}')
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX contact_invalid_phone", params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0004_search_indexes")]

    operations = [migrations.RunPython(create, drop)]
