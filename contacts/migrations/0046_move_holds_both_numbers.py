"""A contact's move to another number waits for a START (or any lift) of the number it
leaves, as it waited for one of the number it goes to: the database's trigger held only the
new number, and a START of the old one, at the same moment, lifted the opt-out the contact was
carrying to the new number, which kept it without its contact (a cold review). PostgreSQL
only: SQLite writes one transaction at a time. This keeps its own copy of the SQL;
contacts/guard/ holds what runs now.
"""

from django.db import migrations

MOVE_HOLDS_BOTH_NUMBERS = """
CREATE OR REPLACE FUNCTION {s}contacts_contact_phone_changed() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'Contacts and the opt-outs of numbers are written at READ COMMITTED, the default: at another isolation level a contact could miss its number''s opt-out.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- Both numbers, in their order: a START of the number the contact leaves waits for the
    -- move, or the move for it, so that the contact carries the number's opt-out or not,
    -- never leaves it behind for the number it goes to (a cold review found that race).
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(n.phone, 0))
        FROM (SELECT DISTINCT phone FROM unnest(ARRAY[OLD.phone, NEW.phone]) phone ORDER BY phone) n;

    INSERT INTO {s}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via)
        SELECT NEW.id, NEW.phone, o.channel, 'hard',
        CASE WHEN (SELECT e."before" FROM {s}contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = o.channel AND e."after" = 'hard'
            AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1) = 'soft' THEN 'soft' ELSE 'subscribed' END, 'carried', NULL,
        o.phone, 'moved'
        FROM {s}contacts_optout o
        WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND o.inherited AND o.phone <> NEW.phone;

    DELETE FROM {s}contacts_optout
        WHERE contact_id = NEW.id AND kind = 'hard' AND inherited AND phone <> NEW.phone;

    -- The soft opt-out a user made before the number's opt-out reached the contact.
    INSERT INTO {s}contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT NEW.id, m.channel, 'soft', COALESCE((SELECT e.at FROM {s}contacts_consentevent e
                WHERE e.contact_id = NEW.id AND e.channel = m.channel AND e."after" = 'soft'
                AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1), now()), 'user',
        (SELECT e.actor_id FROM {s}contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = m.channel AND e."after" = 'soft'
            AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1), '', '', FALSE
        FROM {s}contacts_consentevent m
        WHERE m.contact_id = NEW.id AND m.via = 'moved' AND m."after" = 'soft'
        AND m.id = (SELECT MAX(e.id) FROM {s}contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = m.channel)
        AND NOT EXISTS (SELECT 1 FROM {s}contacts_optout o
            WHERE o.contact_id = NEW.id AND o.channel = m.channel);

    INSERT INTO {s}contacts_phoneoptout (phone, channel, opted_out_at, source, words)
        SELECT NEW.phone, o.channel, now(), 'carried', OLD.phone
        FROM {s}contacts_optout o
        WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND NOT o.inherited AND NOT EXISTS (
            SELECT 1 FROM {s}contacts_phoneoptout p
            WHERE p.phone = NEW.phone AND p.channel = o.channel);

    INSERT INTO {s}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT NEW.id, NEW.phone, o.channel, 'hard', 'hard', 'carried', NULL, OLD.phone,
        'number', (SELECT p.id FROM {s}contacts_phoneoptout p
            WHERE p.phone = NEW.phone AND p.channel = o.channel)
        FROM {s}contacts_optout o WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND NOT o.inherited;

    INSERT INTO {s}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN NOT EXISTS (
            SELECT 1 FROM {s}contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id) THEN 'inherited' ELSE 'number' END, p.id
        FROM {s}contacts_contact c JOIN {s}contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        LEFT JOIN {s}contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE {s}contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = NOT EXISTS (
            SELECT 1 FROM {s}contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id)
        FROM {s}contacts_contact c JOIN {s}contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        WHERE {s}contacts_optout.contact_id = c.id AND {s}contacts_optout.channel = p.channel
        AND {s}contacts_optout.kind = 'soft';

    INSERT INTO {s}contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        NOT EXISTS (
            SELECT 1 FROM {s}contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id)
        FROM {s}contacts_contact c JOIN {s}contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        WHERE NOT EXISTS (
            SELECT 1 FROM {s}contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );

    RETURN NULL;
END
$$;
"""  # noqa: E501 (as contacts/guard/ has it)

MOVE_HELD_THE_NEW_NUMBER = """
CREATE OR REPLACE FUNCTION {s}contacts_contact_phone_changed() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'Contacts and the opt-outs of numbers are written at READ COMMITTED, the default: at another isolation level a contact could miss its number''s opt-out.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(NEW.phone, 0));

    INSERT INTO {s}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via)
        SELECT NEW.id, NEW.phone, o.channel, 'hard',
        CASE WHEN (SELECT e."before" FROM {s}contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = o.channel AND e."after" = 'hard'
            AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1) = 'soft' THEN 'soft' ELSE 'subscribed' END, 'carried', NULL,
        o.phone, 'moved'
        FROM {s}contacts_optout o
        WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND o.inherited AND o.phone <> NEW.phone;

    DELETE FROM {s}contacts_optout
        WHERE contact_id = NEW.id AND kind = 'hard' AND inherited AND phone <> NEW.phone;

    -- The soft opt-out a user made before the number's opt-out reached the contact.
    INSERT INTO {s}contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT NEW.id, m.channel, 'soft', COALESCE((SELECT e.at FROM {s}contacts_consentevent e
                WHERE e.contact_id = NEW.id AND e.channel = m.channel AND e."after" = 'soft'
                AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1), now()), 'user',
        (SELECT e.actor_id FROM {s}contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = m.channel AND e."after" = 'soft'
            AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1), '', '', FALSE
        FROM {s}contacts_consentevent m
        WHERE m.contact_id = NEW.id AND m.via = 'moved' AND m."after" = 'soft'
        AND m.id = (SELECT MAX(e.id) FROM {s}contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = m.channel)
        AND NOT EXISTS (SELECT 1 FROM {s}contacts_optout o
            WHERE o.contact_id = NEW.id AND o.channel = m.channel);

    INSERT INTO {s}contacts_phoneoptout (phone, channel, opted_out_at, source, words)
        SELECT NEW.phone, o.channel, now(), 'carried', OLD.phone
        FROM {s}contacts_optout o
        WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND NOT o.inherited AND NOT EXISTS (
            SELECT 1 FROM {s}contacts_phoneoptout p
            WHERE p.phone = NEW.phone AND p.channel = o.channel);

    INSERT INTO {s}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT NEW.id, NEW.phone, o.channel, 'hard', 'hard', 'carried', NULL, OLD.phone,
        'number', (SELECT p.id FROM {s}contacts_phoneoptout p
            WHERE p.phone = NEW.phone AND p.channel = o.channel)
        FROM {s}contacts_optout o WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND NOT o.inherited;

    INSERT INTO {s}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN NOT EXISTS (
            SELECT 1 FROM {s}contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id) THEN 'inherited' ELSE 'number' END, p.id
        FROM {s}contacts_contact c JOIN {s}contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        LEFT JOIN {s}contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE {s}contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = NOT EXISTS (
            SELECT 1 FROM {s}contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id)
        FROM {s}contacts_contact c JOIN {s}contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        WHERE {s}contacts_optout.contact_id = c.id AND {s}contacts_optout.channel = p.channel
        AND {s}contacts_optout.kind = 'soft';

    INSERT INTO {s}contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        NOT EXISTS (
            SELECT 1 FROM {s}contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id)
        FROM {s}contacts_contact c JOIN {s}contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        WHERE NOT EXISTS (
            SELECT 1 FROM {s}contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );

    RETURN NULL;
END
$$;
"""  # noqa: E501 (as contacts/guard/ has it)


def replace_function(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        sql_here = sql.replace("{schema}", schema).replace("{s}", schema + ".")
        schema_editor.execute(sql_here, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("contacts", "0045_place_time_zones")]

    operations = [
        migrations.RunPython(
            replace_function(MOVE_HOLDS_BOTH_NUMBERS), replace_function(MOVE_HELD_THE_NEW_NUMBER)
        )
    ]
