"""Consent records are kept: the database refuses to delete one recorded or made void less than
four years ago (the time within which a TCPA claim can be brought), or one of a number a contact
has, and refuses to empty the table; `purge_consent_records` deletes older ones. A disclosure's
time of writing never changes either.

This keeps its own copy of the triggers' SQL; contacts/guard/ holds what runs now.
"""

import sqlite3

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION {s}contacts_keep_consentrecord() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.recorded_at < now() - interval '4 years'
            AND COALESCE(OLD.voided_at, OLD.recorded_at) < now() - interval '4 years'
            AND NOT EXISTS (SELECT 1 FROM {s}contacts_contact c WHERE c.phone = OLD.phone) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION {kept} USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_consentrecord_kept BEFORE DELETE ON {s}contacts_consentrecord
    FOR EACH ROW EXECUTE FUNCTION {s}contacts_keep_consentrecord();

CREATE TRIGGER contacts_consentrecord_no_truncate BEFORE TRUNCATE ON {s}contacts_consentrecord
    FOR EACH STATEMENT EXECUTE FUNCTION {s}contacts_keep_consentrecord();

CREATE OR REPLACE FUNCTION {s}contacts_guard_disclosure() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.title IS DISTINCT FROM OLD.title
            OR NEW.version IS DISTINCT FROM OLD.version OR NEW.text IS DISTINCT FROM OLD.text
            OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION {unchanged} USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
"""

SQLITE = """
CREATE TRIGGER contacts_consentrecord_kept BEFORE DELETE ON contacts_consentrecord
    FOR EACH ROW WHEN NOT (
        OLD.recorded_at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-4 years')
        AND COALESCE(OLD.voided_at, OLD.recorded_at)
            < strftime('%Y-%m-%d %H:%M:%f', 'now', '-4 years')
        AND NOT EXISTS (SELECT 1 FROM contacts_contact c WHERE c.phone = OLD.phone))
BEGIN
    SELECT RAISE(ABORT, {kept});
END;

DROP TRIGGER contacts_disclosure_guard_update;

CREATE TRIGGER contacts_disclosure_guard_update BEFORE UPDATE ON contacts_disclosure
    FOR EACH ROW WHEN NEW.id IS NOT OLD.id OR NEW.title IS NOT OLD.title
        OR NEW.version IS NOT OLD.version OR NEW.text IS NOT OLD.text
        OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, {unchanged});
END;
"""

REFUSALS = {
    "{kept}": "'A consent record is kept for at least four years, and while a contact has its "
    "number.'",
    "{unchanged}": "'A disclosure never changes: add its next version.'",
}


def run(sql: str, schema_editor) -> None:
    for name, literal in REFUSALS.items():
        sql = sql.replace(name, literal)
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        schema_editor.execute(
            sql.replace("{schema}", schema).replace("{s}", schema + "."), params=None
        )
        return
    statement = ""
    for line in sql.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            schema_editor.execute(statement, params=None)
            statement = ""


def keep(apps, schema_editor):
    run(POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE, schema_editor)


def let_go(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION contacts_keep_consentrecord() CASCADE", params=None)
    else:
        schema_editor.execute("DROP TRIGGER contacts_consentrecord_kept", params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0032_consent_index_of_every_record")]

    operations = [migrations.RunPython(keep, let_go)]
