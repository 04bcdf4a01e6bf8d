"""A contact's consent on record stays with the contact, not with a number it leaves: moving
to another number or being deleted makes its records of the old number void, so that whoever
has the number next is not reached on another's consent. This keeps its own copy of the SQL;
contacts/guard/ holds what runs now.
"""

import sqlite3

from django.db import migrations

POSTGRES = """
-- A contact's consent on record stays with the contact, not with a number it leaves: when the
-- contact moves to another number or is deleted, its records of that number are made void
-- (kept, as every record is). Consent from a number no contact had (a JOIN) stays the number's.
CREATE OR REPLACE FUNCTION {s}contacts_consent_left_behind() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    UPDATE {s}contacts_consentrecord SET status = 'void', voided_at = now(),
        void_reason = CASE WHEN TG_OP = 'DELETE' THEN 'the contact was deleted'
                           ELSE 'the contact moved to another number' END
        WHERE contact_id = OLD.id AND phone = OLD.phone AND status IN ('confirmed', 'awaiting');
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_contact_moved_consent AFTER UPDATE OF phone ON {s}contacts_contact
    FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone)
    EXECUTE FUNCTION {s}contacts_consent_left_behind();

CREATE TRIGGER contacts_contact_deleted_consent AFTER DELETE ON {s}contacts_contact
    FOR EACH ROW EXECUTE FUNCTION {s}contacts_consent_left_behind();
"""

SQLITE = """
-- A contact's consent on record stays with the contact, not with a number it leaves: when the
-- contact moves to another number or is deleted, its records of that number are made void
-- (kept, as every record is). Consent from a number no contact had (a JOIN) stays the number's.
CREATE TRIGGER contacts_contact_moved_consent AFTER UPDATE OF phone ON contacts_contact
    FOR EACH ROW WHEN OLD.phone IS NOT NEW.phone
BEGIN
    UPDATE contacts_consentrecord SET status = 'void',
        voided_at = strftime('%Y-%m-%d %H:%M:%f', 'now'),
        void_reason = 'the contact moved to another number'
        WHERE contact_id = OLD.id AND phone = OLD.phone AND status IN ('confirmed', 'awaiting');
END;

CREATE TRIGGER contacts_contact_deleted_consent AFTER DELETE ON contacts_contact
    FOR EACH ROW WHEN 1
BEGIN
    UPDATE contacts_consentrecord SET status = 'void',
        voided_at = strftime('%Y-%m-%d %H:%M:%f', 'now'), void_reason = 'the contact was deleted'
        WHERE contact_id = OLD.id AND phone = OLD.phone AND status IN ('confirmed', 'awaiting');
END;
"""


def add(apps, schema_editor):
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
        schema_editor.execute("DROP FUNCTION contacts_consent_left_behind() CASCADE", params=None)
    else:
        schema_editor.execute("DROP TRIGGER contacts_contact_moved_consent", params=None)
        schema_editor.execute("DROP TRIGGER contacts_contact_deleted_consent", params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0030_source_page")]

    operations = [migrations.RunPython(add, remove)]
