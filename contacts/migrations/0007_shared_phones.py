"""How many contacts have each phone number, kept by triggers; a phone index that covers them.

A broadcast's preview counts duplicates (one message per number) among the numbers that more
than one contact has. Finding those by grouping a million contacts took 140 ms; the triggers
keep the counts as contacts come, go and change number, and a partial index lists the shared
ones. On PostgreSQL, statement triggers apply each statement's changes in one upsert, in the
numbers' order, so that concurrent statements lock shared rows in the same order; the row
locks of the upsert keep the counts exact under concurrent writes.

The phone index becomes (phone, id, status): the preview checks the contacts that share a
number from it alone. It replaces Django's two phone indexes (the plain one and `_like`,
which no query used). Only the indexes change, never the table, because rebuilding
contacts_contact on SQLite would drop its triggers (see 0002).
"""

from django.db import migrations, models

import contacts.phones


def upsert(deltas: str) -> str:
    """SQL adding up `deltas` (rows of phone, delta) into the counts."""
    return f"""
    INSERT INTO contacts_phonecount AS counted (phone, contacts)
    SELECT phone, SUM(delta) FROM ({deltas}) AS deltas (phone, delta)
    GROUP BY phone HAVING SUM(delta) <> 0 ORDER BY phone
    ON CONFLICT (phone) DO UPDATE SET contacts = counted.contacts + excluded.contacts;"""


POSTGRES = f"""
CREATE FUNCTION contacts_count_inserted_phones() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {upsert("SELECT phone, 1 FROM new_contacts")}
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_count_inserted_phones
    AFTER INSERT ON contacts_contact REFERENCING NEW TABLE AS new_contacts
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_inserted_phones();

CREATE FUNCTION contacts_count_deleted_phones() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {upsert("SELECT phone, -1 FROM old_contacts")}
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_count_deleted_phones
    AFTER DELETE ON contacts_contact REFERENCING OLD TABLE AS old_contacts
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_deleted_phones();

-- A row trigger: a statement trigger's transition tables would carry every updated row,
-- a million of them for a bulk change of status, to find the few that changed number.
CREATE FUNCTION contacts_count_changed_phone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {upsert("VALUES (OLD.phone, -1), (NEW.phone, 1)")}
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_count_changed_phone
    AFTER UPDATE OF phone ON contacts_contact
    FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone)
    EXECUTE FUNCTION contacts_count_changed_phone();

CREATE FUNCTION contacts_count_no_phones() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE contacts_phonecount;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_count_no_phones
    AFTER TRUNCATE ON contacts_contact
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_no_phones();
"""

POSTGRES_REVERSE = """
DROP TRIGGER contacts_count_no_phones ON contacts_contact;
DROP FUNCTION contacts_count_no_phones();
DROP TRIGGER contacts_count_changed_phone ON contacts_contact;
DROP FUNCTION contacts_count_changed_phone();
DROP TRIGGER contacts_count_deleted_phones ON contacts_contact;
DROP FUNCTION contacts_count_deleted_phones();
DROP TRIGGER contacts_count_inserted_phones ON contacts_contact;
DROP FUNCTION contacts_count_inserted_phones();
"""

ADD = """INSERT INTO contacts_phonecount (phone, contacts) VALUES (NEW.phone, 1)
    ON CONFLICT (phone) DO UPDATE SET contacts = contacts + 1;"""
REMOVE = "UPDATE contacts_phonecount SET contacts = contacts - 1 WHERE phone = OLD.phone;"

SQLITE = [
    f"""CREATE TRIGGER contacts_count_inserted_phone AFTER INSERT ON contacts_contact
        FOR EACH ROW BEGIN {ADD} END;""",
    f"""CREATE TRIGGER contacts_count_deleted_phone AFTER DELETE ON contacts_contact
        FOR EACH ROW BEGIN {REMOVE} END;""",
    f"""CREATE TRIGGER contacts_count_changed_phone AFTER UPDATE OF phone ON contacts_contact
        FOR EACH ROW WHEN NEW.phone IS NOT OLD.phone BEGIN {REMOVE} {ADD} END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER contacts_count_changed_phone;",
    "DROP TRIGGER contacts_count_deleted_phone;",
    "DROP TRIGGER contacts_count_inserted_phone;",
]

COUNT_EXISTING = """
INSERT INTO contacts_phonecount (phone, contacts)
SELECT phone, COUNT(*) FROM contacts_contact GROUP BY phone
"""


def create_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in [*([POSTGRES] if postgres else SQLITE), COUNT_EXISTING]:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in [POSTGRES_REVERSE] if postgres else SQLITE_REVERSE:
        schema_editor.execute(statement, params=None)


# Django's names for the indexes of PhoneField(db_index=True), on either database.
OLD_PHONE_INDEX = "contacts_contact_phone_2a8bc2d8"
PHONE_INDEX = models.Index(fields=["phone", "id", "status"], name="contact_phone")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0006_bulk_job")]

    operations = [
        migrations.CreateModel(
            name="PhoneCount",
            fields=[
                ("phone", models.CharField(max_length=16, primary_key=True, serialize=False)),
                ("contacts", models.IntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(contacts__gt=1), fields=["phone"], name="shared_phone"
                    )
                ]
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="contact",
                    name="phone",
                    field=contacts.phones.PhoneField(max_length=16),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {OLD_PHONE_INDEX}_like",
                    reverse_sql=migrations.RunSQL.noop,
                ),
                migrations.RunSQL(
                    f"DROP INDEX {OLD_PHONE_INDEX}",
                    reverse_sql=f"CREATE INDEX {OLD_PHONE_INDEX} ON contacts_contact (phone)",
                ),
            ],
        ),
        migrations.AddIndex(model_name="contact", index=PHONE_INDEX),
    ]
