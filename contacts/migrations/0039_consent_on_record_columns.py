"""Whether a contact's number has consent on record for each channel, as columns of the
contact that the database keeps (`Contact.sms_consent_on_record`, `calls_consent_on_record`):
a broadcast's preview and launch, the table's filter and Insights read them instead of looking
the records up for every contact. Worked out for the contacts there are, then kept by
triggers. This keeps its own copy of the SQL; contacts/guard/ holds what runs now.
"""

import sqlite3

from django.db import migrations, models

POSTGRES = """
-- Whether a contact's number has consent on record for each channel (sms_consent_on_record,
-- calls_consent_on_record): the database's word, never a writer's, worked out here when a
-- contact is added or changes number, or when a writer sets either; and for a number's
-- contacts when its records change (contacts_consentrecord.sql).
CREATE OR REPLACE FUNCTION {s}contacts_contact_consent() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    SELECT COALESCE(bool_or(r.channel = 'sms'), FALSE),
        COALESCE(bool_or(r.channel = 'calls'), FALSE)
        INTO NEW.sms_consent_on_record, NEW.calls_consent_on_record
        FROM {s}contacts_consentrecord r WHERE r.phone = NEW.phone AND r.status = 'confirmed';
    RETURN NEW;
END
$$;

CREATE TRIGGER contacts_contact_consent BEFORE INSERT ON {s}contacts_contact
    FOR EACH ROW EXECUTE FUNCTION {s}contacts_contact_consent();

CREATE TRIGGER contacts_contact_consent_changed
    BEFORE UPDATE OF phone, sms_consent_on_record, calls_consent_on_record ON {s}contacts_contact
    FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone
        OR OLD.sms_consent_on_record IS DISTINCT FROM NEW.sms_consent_on_record
        OR OLD.calls_consent_on_record IS DISTINCT FROM NEW.calls_consent_on_record)
    EXECUTE FUNCTION {s}contacts_contact_consent();

-- A number's records changed (one given, confirmed or made void): its contacts' consent on
-- record is worked out again (contacts_contact_consent, contacts_contact.sql). A record is
-- deleted only once no contact has its number.
CREATE OR REPLACE FUNCTION {s}contacts_consent_on_contacts() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    UPDATE {s}contacts_contact c
        SET sms_consent_on_record = n.sms, calls_consent_on_record = n.calls
        FROM (SELECT changed.phone, COALESCE(bool_or(r.channel = 'sms'), FALSE) AS sms,
                COALESCE(bool_or(r.channel = 'calls'), FALSE) AS calls
            FROM (SELECT DISTINCT phone FROM changed_records) changed
            LEFT JOIN {s}contacts_consentrecord r
                ON r.phone = changed.phone AND r.status = 'confirmed'
            GROUP BY changed.phone) n
        WHERE c.phone = n.phone
        AND (c.sms_consent_on_record <> n.sms OR c.calls_consent_on_record <> n.calls);
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_consentrecord_added AFTER INSERT ON {s}contacts_consentrecord
    REFERENCING NEW TABLE AS changed_records
    FOR EACH STATEMENT EXECUTE FUNCTION {s}contacts_consent_on_contacts();

CREATE TRIGGER contacts_consentrecord_changed AFTER UPDATE ON {s}contacts_consentrecord
    REFERENCING NEW TABLE AS changed_records
    FOR EACH STATEMENT EXECUTE FUNCTION {s}contacts_consent_on_contacts();
"""

SQLITE = """
-- Whether a contact's number has consent on record for each channel (sms_consent_on_record,
-- calls_consent_on_record): the database's word, never a writer's, worked out here when a
-- contact is added or changes number, or when a writer sets either; and for a number's
-- contacts when its records change (contacts_consentrecord.sql).
CREATE TRIGGER contacts_contact_consent AFTER INSERT ON contacts_contact
    FOR EACH ROW WHEN NEW.sms_consent_on_record IS NOT (EXISTS (
            SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'))
        OR NEW.calls_consent_on_record IS NOT (EXISTS (
            SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed'))
BEGIN
    UPDATE contacts_contact SET
        sms_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'),
        calls_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed')
        WHERE id = NEW.id;
END;

CREATE TRIGGER contacts_contact_consent_changed
    AFTER UPDATE OF phone, sms_consent_on_record, calls_consent_on_record ON contacts_contact
    FOR EACH ROW WHEN NEW.sms_consent_on_record IS NOT (EXISTS (
            SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'))
        OR NEW.calls_consent_on_record IS NOT (EXISTS (
            SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed'))
BEGIN
    UPDATE contacts_contact SET
        sms_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'),
        calls_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed')
        WHERE id = NEW.id;
END;

-- A number's records changed (one given, confirmed or made void): its contacts' consent on
-- record is worked out again (as contacts_contact_consent does, contacts_contact.sql). A record
-- is deleted only once no contact has its number.
CREATE TRIGGER contacts_consentrecord_added AFTER INSERT ON contacts_consentrecord
    FOR EACH ROW WHEN 1
BEGIN
    UPDATE contacts_contact SET
        sms_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'),
        calls_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed')
        WHERE phone = NEW.phone;
END;

CREATE TRIGGER contacts_consentrecord_changed AFTER UPDATE ON contacts_consentrecord
    FOR EACH ROW WHEN 1
BEGIN
    UPDATE contacts_contact SET
        sms_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'),
        calls_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed')
        WHERE phone = NEW.phone;
END;
"""


def add_column(name: str):
    """ALTER TABLE ADD COLUMN on both databases: Django would rebuild the table on SQLite for
    a NOT NULL column, which drops its triggers (the hard opt-out guard's among them)."""

    def add(apps, schema_editor):
        postgres = schema_editor.connection.vendor == "postgresql"
        kind = "boolean DEFAULT false" if postgres else "bool DEFAULT 0"
        schema_editor.execute(
            f"ALTER TABLE contacts_contact ADD COLUMN {name} {kind} NOT NULL", params=None
        )

    return add


def drop_column(name: str):
    def drop(apps, schema_editor):
        schema_editor.execute(f"ALTER TABLE contacts_contact DROP COLUMN {name}", params=None)

    return drop


# The contacts there are, worked out once, before the triggers and the indexes that read them.
BACKFILL = """
UPDATE contacts_contact SET
    sms_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
        WHERE r.phone = contacts_contact.phone AND r.channel = 'sms' AND r.status = 'confirmed'),
    calls_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
        WHERE r.phone = contacts_contact.phone AND r.channel = 'calls' AND r.status = 'confirmed')
WHERE EXISTS (SELECT 1 FROM contacts_consentrecord r
    WHERE r.phone = contacts_contact.phone AND r.status = 'confirmed')
"""


def add(apps, schema_editor):
    schema_editor.execute(BACKFILL, params=None)
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        sql = POSTGRES.replace("{schema}", schema).replace("{s}", schema + ".")
        schema_editor.execute(sql, params=None)
    else:
        statement = ""
        for line in SQLITE.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                schema_editor.execute(statement, params=None)
                statement = ""


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for function in ("contacts_contact_consent()", "contacts_consent_on_contacts()"):
            schema_editor.execute(f"DROP FUNCTION {function} CASCADE", params=None)
    else:
        for trigger in (
            "contacts_contact_consent",
            "contacts_contact_consent_changed",
            "contacts_consentrecord_added",
            "contacts_consentrecord_changed",
        ):
            schema_editor.execute(f"DROP TRIGGER {trigger}", params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0038_ledger_counts")]

    operations = [
        migrations.RemoveIndex(model_name="contact", name="contact_phone"),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(
                    add_column("sms_consent_on_record"), drop_column("sms_consent_on_record")
                ),
                migrations.RunPython(
                    add_column("calls_consent_on_record"), drop_column("calls_consent_on_record")
                ),
            ],
            state_operations=[
                migrations.AddField(
                    model_name="contact",
                    name="sms_consent_on_record",
                    field=models.BooleanField(db_default=False, default=False, editable=False),
                ),
                migrations.AddField(
                    model_name="contact",
                    name="calls_consent_on_record",
                    field=models.BooleanField(db_default=False, default=False, editable=False),
                ),
            ],
        ),
        migrations.RunPython(add, remove),
        migrations.AddIndex(
            model_name="consentrecord",
            index=models.Index(
                condition=models.Q(("status", "confirmed")),
                fields=["phone", "channel"],
                name="consent_given",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                fields=[
                    "phone",
                    "id",
                    "status",
                    "sms_consent_on_record",
                    "calls_consent_on_record",
                ],
                name="contact_phone",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("sms_consent_on_record", False)),
                fields=["id"],
                name="contact_no_sms_consent",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("calls_consent_on_record", False)),
                fields=["id"],
                name="contact_no_calls_consent",
            ),
        ),
    ]
