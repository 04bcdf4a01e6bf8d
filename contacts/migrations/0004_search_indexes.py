"""Trigram indexes for the Contacts table's search on PostgreSQL.

The search matches part of a name, an email or a phone number (`icontains`, `contains`),
which no B-tree index serves; pg_trgm's GIN indexes do. They index the expressions Django's
lookups produce (UPPER(name::text) LIKE UPPER(...)). SQLite has no such index and scans.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contact_name_trgm ON contacts_contact USING gin (UPPER(name::text) gin_trgm_ops);
CREATE INDEX contact_email_trgm ON contacts_contact USING gin (UPPER(email::text) gin_trgm_ops);
CREATE INDEX contact_phone_trgm ON contacts_contact USING gin ((phone::text) gin_trgm_ops);
"""
DROP = """
DROP INDEX contact_name_trgm;
DROP INDEX contact_email_trgm;
DROP INDEX contact_phone_trgm;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_contact_table")]

    operations = [migrations.RunPython(create, drop)]
