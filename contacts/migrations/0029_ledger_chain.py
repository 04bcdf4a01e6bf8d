"""The consent ledger is tamper-evident: each row carries a hash over its content and the hash
of the row before it of the same number and channel (`chain`, `chained_to`), written by the
database (contacts/chain.py says the content; `manage.py verify_ledger` checks it).

The columns are added by ALTER TABLE ADD COLUMN: Django would rebuild the table on SQLite,
which drops its triggers. On SQLite the hash is written just after the row, by an update that
`contacts_consentevent_no_update` now lets through (and nothing else). Rows written before
this migration keep an empty chain. This keeps its own copy of the SQL; contacts/guard/ holds
what runs now.
"""

from django.db import migrations, models

REFUSAL = "'The consent ledger is append-only: its rows cannot be changed or deleted.'"

POSTGRES = """
-- The hash chain (contacts/chain.py): each row carries a hash over its content and the hash
-- of the row before it of the same number and channel (chained_to), written here.
CREATE OR REPLACE FUNCTION {s}contacts_ledger_chained() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    previous_chain text;
    part text;
    content text := '';
BEGIN
    SELECT e.id, e.chain INTO NEW.chained_to, previous_chain FROM {s}contacts_consentevent e
        WHERE e.phone = NEW.phone AND e.channel = NEW.channel AND e.id < NEW.id
        ORDER BY e.id DESC LIMIT 1;
    FOREACH part IN ARRAY ARRAY[
            NEW.id::text, to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
            NEW.contact_id::text, NEW.phone, NEW.channel, NEW."before", NEW."after", NEW.source,
            NEW.actor_id::text, NEW.note, NEW.via, NEW.copied_from::text, NEW.opt_in_id::text,
            NEW.matched, NEW.chained_to::text, previous_chain] LOOP
        part := coalesce(part, '');
        content := content || length(part) || ':' || part || ';';
    END LOOP;
    NEW.chain := encode(sha256(convert_to(content, 'UTF8')), 'hex');
    RETURN NEW;
END
$$;

-- After contacts_consentevent_written (triggers fire in the order of their names), which
-- may set the row's id and time.
CREATE TRIGGER contacts_consentevent_written_chain
    BEFORE INSERT ON {s}contacts_consentevent
    FOR EACH ROW EXECUTE FUNCTION {s}contacts_ledger_chained();
"""

SQLITE_NO_UPDATE_BEFORE = """
CREATE TRIGGER contacts_consentevent_no_update BEFORE UPDATE ON contacts_consentevent
    FOR EACH ROW WHEN 1
BEGIN
    SELECT RAISE(ABORT, {refusal});
END;
"""

SQLITE_NO_UPDATE = """
CREATE TRIGGER contacts_consentevent_no_update BEFORE UPDATE ON contacts_consentevent
    FOR EACH ROW WHEN NOT (OLD.chain = '' AND NEW.id IS OLD.id AND NEW.at IS OLD.at
        AND NEW.contact_id IS OLD.contact_id AND NEW.phone IS OLD.phone
        AND NEW.channel IS OLD.channel AND NEW."before" IS OLD."before"
        AND NEW."after" IS OLD."after" AND NEW.source IS OLD.source
        AND NEW.actor_id IS OLD.actor_id AND NEW.note IS OLD.note AND NEW.via IS OLD.via
        AND NEW.copied_from IS OLD.copied_from AND NEW.opt_in_id IS OLD.opt_in_id
        AND NEW.matched IS OLD.matched)
BEGIN
    SELECT RAISE(ABORT, {refusal});
END;
"""

SQLITE_CHAIN = """
-- The hash chain (contacts/chain.py): each row carries a hash over its content and the hash
-- of the row before it of the same number and channel (chained_to), written here, as the
-- one change contacts_consentevent_no_update lets through. SHA256 is the function Django
-- gives its SQLite connections.
CREATE TRIGGER contacts_consentevent_chained AFTER INSERT ON contacts_consentevent
    FOR EACH ROW WHEN 1
BEGIN
    UPDATE contacts_consentevent SET chained_to = (
        SELECT p.id FROM contacts_consentevent p WHERE p.phone = NEW.phone
        AND p.channel = NEW.channel AND p.id < NEW.id ORDER BY p.id DESC LIMIT 1
    ) WHERE id = NEW.id;
    UPDATE contacts_consentevent SET chain = SHA256(
            length(COALESCE(CAST(NEW.id AS TEXT), '')) || ':' || COALESCE(CAST(NEW.id AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.at AS TEXT), '')) || ':' || COALESCE(CAST(NEW.at AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.contact_id AS TEXT), '')) || ':' || COALESCE(CAST(NEW.contact_id AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.phone AS TEXT), '')) || ':' || COALESCE(CAST(NEW.phone AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.channel AS TEXT), '')) || ':' || COALESCE(CAST(NEW.channel AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW."before" AS TEXT), '')) || ':' || COALESCE(CAST(NEW."before" AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW."after" AS TEXT), '')) || ':' || COALESCE(CAST(NEW."after" AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.source AS TEXT), '')) || ':' || COALESCE(CAST(NEW.source AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.actor_id AS TEXT), '')) || ':' || COALESCE(CAST(NEW.actor_id AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.note AS TEXT), '')) || ':' || COALESCE(CAST(NEW.note AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.via AS TEXT), '')) || ':' || COALESCE(CAST(NEW.via AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.copied_from AS TEXT), '')) || ':' || COALESCE(CAST(NEW.copied_from AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.opt_in_id AS TEXT), '')) || ':' || COALESCE(CAST(NEW.opt_in_id AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.matched AS TEXT), '')) || ':' || COALESCE(CAST(NEW.matched AS TEXT), '') || ';' ||
            length(COALESCE(CAST(chained_to AS TEXT), '')) || ':' || COALESCE(CAST(chained_to AS TEXT), '') || ';' ||
            length(COALESCE((SELECT p.chain FROM contacts_consentevent p
                WHERE p.id = contacts_consentevent.chained_to), '')) || ':'
            || COALESCE((SELECT p.chain FROM contacts_consentevent p
                WHERE p.id = contacts_consentevent.chained_to), '') || ';'
    ) WHERE id = NEW.id;
END;
"""  # noqa: E501 (the fields, one a line, as contacts/guard/ has them)


def chain(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        sql = POSTGRES.replace("{schema}", schema).replace("{s}", schema + ".")
        schema_editor.execute(sql, params=None)
    else:
        schema_editor.execute("DROP TRIGGER contacts_consentevent_no_update", params=None)
        schema_editor.execute(SQLITE_NO_UPDATE.replace("{refusal}", REFUSAL), params=None)
        schema_editor.execute(SQLITE_CHAIN, params=None)


def unchain(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION contacts_ledger_chained() CASCADE", params=None)
    else:
        schema_editor.execute("DROP TRIGGER contacts_consentevent_chained", params=None)
        schema_editor.execute("DROP TRIGGER contacts_consentevent_no_update", params=None)
        schema_editor.execute(SQLITE_NO_UPDATE_BEFORE.replace("{refusal}", REFUSAL), params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0028_source_join")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE contacts_consentevent ADD COLUMN chained_to bigint NULL",
                    reverse_sql="ALTER TABLE contacts_consentevent DROP COLUMN chained_to",
                ),
                migrations.RunSQL(
                    "ALTER TABLE contacts_consentevent"
                    " ADD COLUMN chain varchar(64) DEFAULT '' NOT NULL",
                    reverse_sql="ALTER TABLE contacts_consentevent DROP COLUMN chain",
                ),
            ],
            state_operations=[
                migrations.AddField(
                    model_name="consentevent",
                    name="chained_to",
                    field=models.BigIntegerField(blank=True, editable=False, null=True),
                ),
                migrations.AddField(
                    model_name="consentevent",
                    name="chain",
                    field=models.CharField(
                        blank=True, db_default="", default="", editable=False, max_length=64
                    ),
                ),
            ],
        ),
        migrations.RunPython(chain, unchain),
    ]
