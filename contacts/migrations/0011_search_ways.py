"""The search's indexes on PostgreSQL, for each way a name or an email matches.

A search for "Sofia" is for every contact whose name or email holds it (contacts.filters
.text_matches). Looked up through one trigram index of names and one of emails, its 25,000
matches were read from every one of the table's 14,000 pages to sort them by name: 30 to
50 ms. Split by where the words fall:
- a name or an email that starts with them. Two B-trees for each, and the planner takes the
  cheaper: one keyed by the first three letters in capitals, then the name and id, gives those
  under "SOF" in name order, so the first Sofias come from the index alone (the email's holds
  the email too, to check it there); the other, of the whole name or email in capitals, finds
  the few that start with "sofia.smith" without going through every "SOF".
- a name or an email that holds them after its first letter: trigram indexes, as before,
  which a first name (like most words people search for) seldom matches.
The expressions are those Django writes for the lookups (UPPER(LEFT(name, 3)), ...).
SQLite has no such index and scans.
"""

from django.db import migrations

CREATE = """
CREATE INDEX contact_name_key ON contacts_contact ((UPPER(LEFT(name::text, 3))), name, id);
CREATE INDEX contact_email_key
    ON contacts_contact ((UPPER(LEFT(email::text, 3))), name, id) INCLUDE (email);
CREATE INDEX contact_name_start ON contacts_contact ((UPPER(name::text)) text_pattern_ops);
CREATE INDEX contact_email_start ON contacts_contact ((UPPER(email::text)) text_pattern_ops);
CREATE INDEX contact_name_rest_trgm
    ON contacts_contact USING gin (UPPER(SUBSTRING(name::text, 2)) gin_trgm_ops);
CREATE INDEX contact_email_rest_trgm
    ON contacts_contact USING gin (UPPER(SUBSTRING(email::text, 2)) gin_trgm_ops);
DROP INDEX contact_name_trgm;
DROP INDEX contact_email_trgm;
"""
DROP = """
CREATE INDEX contact_name_trgm ON contacts_contact USING gin (UPPER(name::text) gin_trgm_ops);
CREATE INDEX contact_email_trgm ON contacts_contact USING gin (UPPER(email::text) gin_trgm_ops);
DROP INDEX contact_name_key;
DROP INDEX contact_email_key;
DROP INDEX contact_name_start;
DROP INDEX contact_email_start;
DROP INDEX contact_name_rest_trgm;
DROP INDEX contact_email_rest_trgm;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0010_opt_out_status_indexes")]

    operations = [migrations.RunPython(create, drop)]
