"""A contact's opt-in stands only on the inbound event it came in; the events stay as received.

The contacts guard (contacts migration 0013) lifts a hard opt-out only with an opt-in
(`contacts_optin`) from that very number. Here the database also asks of each opt-in the
stored webhook event it names (`reference` is the event's key), not yet processed:

- an SMS START: an inbound SMS from the opt-in's number whose text is the opt-in's words;
- calls: on a call that the contact placed, the digit that the menu offered for receiving
  calls again (the gather URL's `resubscribe`), pressed.

And an event, once stored, keeps what was received (kind, key, payload, number, time); once
processed it stays processed; one that an opt-in names cannot be deleted. On SQLite, an
INSERT OR REPLACE of a stored event is ignored, as the webhook's own ON CONFLICT DO NOTHING.

PostgreSQL functions name their tables with their schema and pin their search_path, as the
contacts guard's do.
"""

from django.core.exceptions import ValidationError
from django.db import migrations, models

OPT_IN_REFUSAL = (
    "An opt-in needs the inbound event it came in: a START from its number, or on the "
    "contact's own call the digit offered for calls, stored and not yet processed."
)
EVENT_REFUSAL = "A stored inbound event keeps what was received, and stays processed once it is."
PUNCTUATION = (
    " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
    ".,;:!?¡¿'\"()[]{}-_*~…"
)


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def opt_in_has_its_event(field) -> str:
    """SQL: the opt-in NEW names a stored, unprocessed event that says it. `field(name)`
    reads one field of the event's payload."""
    body, words = (
        f"upper(trim({value}, {sql_string(PUNCTUATION)}))" for value in (field("Body"), "NEW.words")
    )
    return f"""EXISTS (
        SELECT 1 FROM {{s}}messaging_inboundevent ev
        WHERE ev.key = NEW.reference AND ev.phone = NEW.phone AND ev.processed_at IS NULL
          AND ((NEW.channel = 'sms' AND ev.kind = 'sms' AND {body} = {words})
            OR (NEW.channel = 'calls' AND ev.kind = 'digits'
                AND lower(COALESCE({field("Direction")}, '')) NOT LIKE 'outbound%'
                AND {field("Digits")} = {field("url_resubscribe")}
                AND NEW.words = 'pressed ' || {field("Digits")})))"""


EVENT_CHANGED = """(NEW.id IS DISTINCT FROM OLD.id OR NEW.kind IS DISTINCT FROM OLD.kind
    OR NEW.key IS DISTINCT FROM OLD.key OR NEW.payload IS DISTINCT FROM OLD.payload
    OR NEW.phone IS DISTINCT FROM OLD.phone OR NEW.received_at IS DISTINCT FROM OLD.received_at
    OR (OLD.processed_at IS NOT NULL AND NEW.processed_at IS DISTINCT FROM OLD.processed_at))"""

NAMED_BY_AN_OPT_IN = "EXISTS (SELECT 1 FROM {s}contacts_optin i WHERE i.reference = OLD.key)"


def postgres_sql(schema: str) -> str:
    def function(name: str, body: str) -> str:
        return f"""
        CREATE FUNCTION {{s}}{name}() RETURNS trigger LANGUAGE plpgsql
        SET search_path = pg_catalog, {schema}, pg_temp AS $$
        BEGIN
            {body}
        END $$;"""

    def refuse(message: str) -> str:
        code = "integrity_constraint_violation"
        return f"RAISE EXCEPTION {sql_string(message)} USING ERRCODE = '{code}';"

    def field(name: str) -> str:
        return f"(ev.payload ->> {sql_string(name)})"

    return f"""
    {
        function(
            "messaging_opt_in_has_its_event",
            f'''
        IF NOT {opt_in_has_its_event(field)} THEN
            {refuse(OPT_IN_REFUSAL)}
        END IF;
        RETURN NEW;''',
        )
    }
    CREATE TRIGGER messaging_optin_has_its_event
        BEFORE INSERT ON {{s}}contacts_optin
        FOR EACH ROW EXECUTE FUNCTION {{s}}messaging_opt_in_has_its_event();

    {
        function(
            "messaging_guard_inboundevent",
            f'''
        IF (TG_OP = 'UPDATE' AND {EVENT_CHANGED})
           OR (TG_OP = 'DELETE' AND {NAMED_BY_AN_OPT_IN}) THEN
            {refuse(EVENT_REFUSAL)}
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;''',
        )
    }
    CREATE TRIGGER messaging_inboundevent_guard
        BEFORE UPDATE OR DELETE ON {{s}}messaging_inboundevent
        FOR EACH ROW EXECUTE FUNCTION {{s}}messaging_guard_inboundevent();
    {
        function(
            "messaging_refuse_events_truncate",
            f'''
        IF EXISTS (SELECT 1 FROM {{s}}contacts_optin) THEN
            {refuse(EVENT_REFUSAL)}
        END IF;
        RETURN NULL;''',
        )
    }
    CREATE TRIGGER messaging_inboundevent_no_truncate
        BEFORE TRUNCATE ON {{s}}messaging_inboundevent
        FOR EACH STATEMENT EXECUTE FUNCTION {{s}}messaging_refuse_events_truncate();
    """


POSTGRES_REVERSE = """
DROP TRIGGER messaging_inboundevent_no_truncate ON messaging_inboundevent;
DROP FUNCTION messaging_refuse_events_truncate();
DROP TRIGGER messaging_inboundevent_guard ON messaging_inboundevent;
DROP FUNCTION messaging_guard_inboundevent();
DROP TRIGGER messaging_optin_has_its_event ON contacts_optin;
DROP FUNCTION messaging_opt_in_has_its_event();
"""


def sqlite_trigger(name: str, when: str, condition: str, body: str) -> str:
    return f"CREATE TRIGGER {name} {when} FOR EACH ROW WHEN {condition} BEGIN {body} END;"


def sqlite_refusal(message: str) -> str:
    return f"SELECT RAISE(ABORT, {sql_string(message)});"


def sqlite_field(name: str) -> str:
    return f"json_extract(ev.payload, {sql_string('$.' + name)})"


SQLITE = [
    sqlite_trigger(
        "messaging_optin_has_its_event",
        "BEFORE INSERT ON contacts_optin",
        f"NOT {opt_in_has_its_event(sqlite_field)}",
        sqlite_refusal(OPT_IN_REFUSAL),
    ),
    sqlite_trigger(
        "messaging_inboundevent_no_change",
        "BEFORE UPDATE ON messaging_inboundevent",
        EVENT_CHANGED,
        sqlite_refusal(EVENT_REFUSAL),
    ),
    sqlite_trigger(
        "messaging_inboundevent_no_delete",
        "BEFORE DELETE ON messaging_inboundevent",
        NAMED_BY_AN_OPT_IN,
        sqlite_refusal(EVENT_REFUSAL),
    ),
    sqlite_trigger(
        "messaging_inboundevent_no_replace",
        "BEFORE INSERT ON messaging_inboundevent",
        "EXISTS (SELECT 1 FROM messaging_inboundevent WHERE key = NEW.key OR id = NEW.id)",
        "SELECT RAISE(IGNORE);",
    ),
]


def fill_phones(apps, schema_editor):
    """The events still to process get their contact's number, as the webhook now stores it,
    so that a START received before this migration can still be processed."""
    from contacts.phones import normalize_phone

    events = apps.get_model("messaging", "InboundEvent").objects.filter(processed_at=None)
    for event in events.exclude(kind="status"):
        fields = event.payload
        outbound = event.kind == "digits" and fields.get("Direction", "").lower().startswith(
            "outbound"
        )
        try:
            event.phone = normalize_phone(fields.get("To" if outbound else "From", ""))
        except ValidationError:
            continue
        event.save(update_fields=["phone"])


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        schema_editor.execute(postgres_sql(schema).replace("{s}", schema + "."), params=None)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement.replace("{s}", ""), params=None)
    else:
        raise NotImplementedError(f"No inbound event triggers for {vendor}.")


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE, params=None)
    else:
        for statement in SQLITE:
            schema_editor.execute(f"DROP TRIGGER {statement.split()[2]};", params=None)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial"), ("contacts", "0013_opt_ins_and_guard")]

    operations = [
        migrations.AddField(
            model_name="inboundevent",
            name="phone",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="The contact's number in E.164: the sender, or the callee of our call.",
                max_length=16,
            ),
        ),
        migrations.RunPython(fill_phones, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
