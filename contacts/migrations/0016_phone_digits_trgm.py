"""The trigram index of phone numbers, for the search by digits, on the digits after the
"+": one on the number itself also served `phone = ANY(...)`, and the planner chose it for an
import's look-up of a batch's numbers, where it was hundreds of times slower than the B-tree
index (each number's trigrams are those of most numbers; bench/NOTES.md). An expression that
no equality of phones names leaves those look-ups to the B-tree index.
"""

from django.db import migrations

CREATE = """
CREATE INDEX contact_phone_digits_trgm
    ON contacts_contact USING gin (SUBSTRING(phone::text, 2) gin_trgm_ops);
DROP INDEX contact_phone_trgm;
"""
DROP = """
CREATE INDEX contact_phone_trgm ON contacts_contact USING gin ((phone::text) gin_trgm_ops);
DROP INDEX contact_phone_digits_trgm;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0015_contact_imports")]

    operations = [migrations.RunPython(create, drop)]
