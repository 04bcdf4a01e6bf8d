"""The consent ledger and the opt-outs of numbers say which rule read the contact's words as a
revocation (`matched`, messaging.keywords): "keyword STOP with “please”".

The columns are added by ALTER TABLE ADD COLUMN, with a database default of "" for the rows
written in SQL: Django would rebuild the tables on SQLite for a NOT NULL column, which drops
their triggers (the guard's). `contacts_phoneoptout_inserted` copies the rule into the ledger
rows it writes. This keeps its own copy of that function (PostgreSQL) and trigger (SQLite),
before and after; contacts/guard/ holds what runs now.
"""

from django.db import migrations, models

READ_COMMITTED_REFUSAL = (
    "Contacts and the opt-outs of numbers are written at READ COMMITTED, the default: at "
    "another isolation level a contact could miss its number's opt-out."
)
QUOTED_REFUSAL = "'" + READ_COMMITTED_REFUSAL.replace("'", "''") + "'"

POSTGRES_BEFORE = """
CREATE OR REPLACE FUNCTION {s}contacts_phoneoptout_inserted() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION {refusal} USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (SELECT count(DISTINCT phone) FROM new_opt_outs) <= 64 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(n.phone, 0))
            FROM (SELECT DISTINCT phone FROM new_opt_outs ORDER BY phone) n;
    ELSE
        LOCK TABLE {s}contacts_contact IN SHARE MODE;
    END IF;
    INSERT INTO {s}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note)
        SELECT NULL, p.phone, p.channel, 'subscribed', 'hard', p.source, NULL,
        p.words
        FROM new_opt_outs p;

    INSERT INTO {s}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN FALSE THEN 'inherited' ELSE 'number' END, p.id
        FROM {s}contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone
        LEFT JOIN {s}contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE {s}contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = FALSE
        FROM {s}contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone
        WHERE {s}contacts_optout.contact_id = c.id AND {s}contacts_optout.channel = p.channel
        AND {s}contacts_optout.kind = 'soft';

    INSERT INTO {s}contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        FALSE
        FROM {s}contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone
        WHERE NOT EXISTS (
            SELECT 1 FROM {s}contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );
    RETURN NULL;
END
$$;
"""

POSTGRES_AFTER = """
CREATE OR REPLACE FUNCTION {s}contacts_phoneoptout_inserted() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION {refusal} USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (SELECT count(DISTINCT phone) FROM new_opt_outs) <= 64 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(n.phone, 0))
            FROM (SELECT DISTINCT phone FROM new_opt_outs ORDER BY phone) n;
    ELSE
        LOCK TABLE {s}contacts_contact IN SHARE MODE;
    END IF;
    INSERT INTO {s}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, matched)
        SELECT NULL, p.phone, p.channel, 'subscribed', 'hard', p.source, NULL,
        p.words, p.matched
        FROM new_opt_outs p;

    INSERT INTO {s}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from, matched)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN FALSE THEN 'inherited' ELSE 'number' END, p.id, p.matched
        FROM {s}contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone
        LEFT JOIN {s}contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE {s}contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = FALSE
        FROM {s}contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone
        WHERE {s}contacts_optout.contact_id = c.id AND {s}contacts_optout.channel = p.channel
        AND {s}contacts_optout.kind = 'soft';

    INSERT INTO {s}contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        FALSE
        FROM {s}contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone
        WHERE NOT EXISTS (
            SELECT 1 FROM {s}contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );
    RETURN NULL;
END
$$;
"""

SQLITE_BEFORE = """
CREATE TRIGGER contacts_phoneoptout_inserted AFTER INSERT ON contacts_phoneoptout
    FOR EACH ROW WHEN 1
BEGIN
    INSERT INTO contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note)
        SELECT NULL, p.phone, p.channel, 'subscribed', 'hard', p.source, NULL,
        p.words
        FROM contacts_phoneoptout p WHERE p.id = NEW.id;

    INSERT INTO contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN FALSE THEN 'inherited' ELSE 'number' END, p.id
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id
        LEFT JOIN contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = FALSE
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id
        WHERE contacts_optout.contact_id = c.id AND contacts_optout.channel = p.channel
        AND contacts_optout.kind = 'soft';

    INSERT INTO contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        FALSE
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id
        WHERE NOT EXISTS (
            SELECT 1 FROM contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );
END;
"""

SQLITE_AFTER = """
CREATE TRIGGER contacts_phoneoptout_inserted AFTER INSERT ON contacts_phoneoptout
    FOR EACH ROW WHEN 1
BEGIN
    INSERT INTO contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, matched)
        SELECT NULL, p.phone, p.channel, 'subscribed', 'hard', p.source, NULL,
        p.words, p.matched
        FROM contacts_phoneoptout p WHERE p.id = NEW.id;

    INSERT INTO contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from, matched)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN FALSE THEN 'inherited' ELSE 'number' END, p.id, p.matched
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id
        LEFT JOIN contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = FALSE
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id
        WHERE contacts_optout.contact_id = c.id AND contacts_optout.channel = p.channel
        AND contacts_optout.kind = 'soft';

    INSERT INTO contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        FALSE
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id
        WHERE NOT EXISTS (
            SELECT 1 FROM contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );
END;
"""


def add_column(table: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        f"ALTER TABLE {table} ADD COLUMN matched varchar(200) DEFAULT '' NOT NULL",
        reverse_sql=f"ALTER TABLE {table} DROP COLUMN matched",
    )


def replacing_with(postgres: str, sqlite: str):
    def replace(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute("SELECT quote_ident(current_schema())")
                schema = cursor.fetchone()[0]
            sql = postgres.replace("{schema}", schema).replace("{s}", schema + ".")
            sql = sql.replace("{refusal}", QUOTED_REFUSAL)
            schema_editor.execute(sql, params=None)
        else:
            schema_editor.execute("DROP TRIGGER contacts_phoneoptout_inserted", params=None)
            schema_editor.execute(sqlite, params=None)

    return replace


MATCHED = models.CharField(
    blank=True,
    db_default="",
    default="",
    max_length=200,
    help_text="For a revocation in the contact's words, the rule that read it so.",
)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0025_search_text_sqlite")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                add_column("contacts_phoneoptout"),
                add_column("contacts_consentevent"),
            ],
            state_operations=[
                migrations.AddField(model_name="phoneoptout", name="matched", field=MATCHED),
                migrations.AddField(model_name="consentevent", name="matched", field=MATCHED),
            ],
        ),
        migrations.RunPython(
            replacing_with(POSTGRES_AFTER, SQLITE_AFTER),
            replacing_with(POSTGRES_BEFORE, SQLITE_BEFORE),
        ),
    ]
