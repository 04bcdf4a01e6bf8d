"""The database half of "a hard unsubscribe cannot be reversed".

Two kinds of trigger, on PostgreSQL and on SQLite:

- Propagation: a hard opt-out of a phone number (`contacts_phoneoptout`) is copied onto
  every contact that has the number, or gets it later by insert or by a change of phone,
  with a ledger row for each contact whose status changes.
- Guards: a hard `contacts_optout` row cannot be changed, replaced or deleted, a
  `contacts_phoneoptout` row cannot be changed or deleted, and the ledger cannot be changed
  or deleted at all. The one exception is the contact's own new consent: a hard opt-out may
  be deleted when the latest ledger row for that contact (or number) and channel is an
  opt-in by the contact (a START reply), so the lift and its record always go together.
  A hard row may still be deleted together with its contact (ON DELETE CASCADE): the
  number keeps the opt-out.

The guards are written by hand rather than with django-pgtrigger, whose `ignore()` would
switch them off. SQLite's `INSERT OR REPLACE` and `UPDATE OR REPLACE` delete rows without
firing delete triggers, so inserts and updates that would replace a guarded row are refused
before they happen. On SQLite, a migration that rebuilds one of these tables drops its
triggers: such a migration must create them again (the SQLite guard tests catch it).
"""

from django.db import migrations

REFUSAL = (
    "A hard opt-out cannot be reversed: only the contact's own new consent "
    "(a START reply) can lift it."
)
LEDGER_REFUSAL = "The consent ledger is append-only: its rows cannot be changed or deleted."

NEW_CONSENT_SOURCES = "('keyword')"


def latest_is_new_consent(where: str) -> str:
    """SQL that is true when the newest ledger row matching `where` is the contact's opt-in."""
    return f"""COALESCE((
        SELECT e."after" = 'subscribed' AND e.source IN {NEW_CONSENT_SOURCES}
        FROM contacts_consentevent e WHERE {where} ORDER BY e.id DESC LIMIT 1), FALSE)"""


def propagation(pairs: str, now: str) -> str:
    """Statements that give every contact `c` the hard phone opt-outs `p` that `pairs` yields.

    `pairs` is a FROM clause naming contacts as c and phone opt-outs as p.
    """
    return f"""
    INSERT INTO contacts_consentevent
        (at, contact_id, phone, channel, "before", "after", source, actor_id, note)
    SELECT {now}, c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
           NULL, 'The number ' || c.phone || ' is opted out (hard), so this contact is too.'
    FROM {pairs}
    LEFT JOIN contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
    WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE contacts_optout
    SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL
    FROM {pairs}
    WHERE contacts_optout.contact_id = c.id AND contacts_optout.channel = p.channel
      AND contacts_optout.kind = 'soft';

    INSERT INTO contacts_optout (contact_id, channel, kind, opted_out_at, source, words)
    SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, p.words
    FROM {pairs}
    WHERE NOT EXISTS (
        SELECT 1 FROM contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
    );
    """


# In a row trigger on contacts_contact: the contact NEW with its number's hard opt-outs.
ROW_CONTACT_PAIRS = (
    "contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id"
)

HARD_ROW_CHANGED = """OLD.kind = 'hard' AND (
    NEW.kind IS DISTINCT FROM OLD.kind
    OR NEW.contact_id IS DISTINCT FROM OLD.contact_id
    OR NEW.channel IS DISTINCT FROM OLD.channel
    OR NEW.opted_out_at IS DISTINCT FROM OLD.opted_out_at
    OR NEW.source IS DISTINCT FROM OLD.source
    OR NEW.words IS DISTINCT FROM OLD.words)"""

# An insert, or an update that moves a row, onto a hard row's id or (contact, channel).
# Each looks the row up by a unique key and then checks its kind: with the kind inside the
# look-up, a planner whose statistics predate a bulk insert of hard rows may pick the
# (channel, kind) index instead and scan all of them for every row.
HITS_HARD_ROW = """(
    COALESCE((SELECT h.kind FROM contacts_optout h
              WHERE h.id = NEW.id AND h.id IS DISTINCT FROM {self_id}), '') = 'hard'
    OR COALESCE((SELECT h.kind FROM contacts_optout h
                 WHERE h.contact_id = NEW.contact_id AND h.channel = NEW.channel
                 AND h.id IS DISTINCT FROM {self_id}), '') = 'hard')"""

HARD_ROW_DELETE_REFUSED = f"""OLD.kind = 'hard'
    AND EXISTS (SELECT 1 FROM contacts_contact c WHERE c.id = OLD.contact_id)
    AND NOT {latest_is_new_consent("e.contact_id = OLD.contact_id AND e.channel = OLD.channel")}"""

PHONE_DELETE_REFUSED = f"""NOT {
    latest_is_new_consent(
        "e.contact_id IS NULL AND e.phone = OLD.phone AND e.channel = OLD.channel"
    )
}"""


RAISE_REFUSAL = f"RAISE EXCEPTION $m${REFUSAL}$m$ USING ERRCODE = 'integrity_constraint_violation';"

POSTGRES = f"""
CREATE FUNCTION contacts_refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION $m${LEDGER_REFUSAL}$m$ USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER contacts_consentevent_append_only
    BEFORE UPDATE OR DELETE ON contacts_consentevent
    FOR EACH ROW EXECUTE FUNCTION contacts_refuse_ledger_change();
CREATE TRIGGER contacts_consentevent_no_truncate
    BEFORE TRUNCATE ON contacts_consentevent
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_refuse_ledger_change();

CREATE FUNCTION contacts_refuse_hard_reversal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {RAISE_REFUSAL}
END $$;

CREATE FUNCTION contacts_guard_optout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF {HITS_HARD_ROW.format(self_id="NULL")} THEN
            {RAISE_REFUSAL}
        END IF;
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        IF ({HARD_ROW_CHANGED}) OR {HITS_HARD_ROW.format(self_id="OLD.id")} THEN
            {RAISE_REFUSAL}
        END IF;
        RETURN NEW;
    END IF;
    IF {HARD_ROW_DELETE_REFUSED} THEN
        {RAISE_REFUSAL}
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER contacts_optout_guard
    BEFORE INSERT OR UPDATE OR DELETE ON contacts_optout
    FOR EACH ROW EXECUTE FUNCTION contacts_guard_optout();

CREATE FUNCTION contacts_guard_optout_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM contacts_optout WHERE kind = 'hard') THEN
        {RAISE_REFUSAL}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_optout_no_truncate
    BEFORE TRUNCATE ON contacts_optout
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_guard_optout_truncate();

CREATE FUNCTION contacts_guard_phoneoptout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT ({PHONE_DELETE_REFUSED}) THEN
        RETURN OLD;
    END IF;
    {RAISE_REFUSAL}
END $$;
CREATE TRIGGER contacts_phoneoptout_guard
    BEFORE UPDATE OR DELETE ON contacts_phoneoptout
    FOR EACH ROW EXECUTE FUNCTION contacts_guard_phoneoptout();
CREATE TRIGGER contacts_phoneoptout_no_truncate
    BEFORE TRUNCATE ON contacts_phoneoptout
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_refuse_hard_reversal();

CREATE FUNCTION contacts_contact_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {propagation("new_contacts c JOIN contacts_phoneoptout p ON p.phone = c.phone", "now()")}
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_contact_inserted
    AFTER INSERT ON contacts_contact REFERENCING NEW TABLE AS new_contacts
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_contact_inserted();

CREATE FUNCTION contacts_contact_phone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {propagation(ROW_CONTACT_PAIRS, "now()")}
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_contact_phone_changed
    AFTER UPDATE OF phone ON contacts_contact
    FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone)
    EXECUTE FUNCTION contacts_contact_phone_changed();

CREATE FUNCTION contacts_phoneoptout_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {propagation("contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone", "now()")}
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_phoneoptout_inserted
    AFTER INSERT ON contacts_phoneoptout REFERENCING NEW TABLE AS new_opt_outs
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_phoneoptout_inserted();
"""

POSTGRES_REVERSE = """
DROP TRIGGER contacts_phoneoptout_inserted ON contacts_phoneoptout;
DROP FUNCTION contacts_phoneoptout_inserted();
DROP TRIGGER contacts_contact_phone_changed ON contacts_contact;
DROP FUNCTION contacts_contact_phone_changed();
DROP TRIGGER contacts_contact_inserted ON contacts_contact;
DROP FUNCTION contacts_contact_inserted();
DROP TRIGGER contacts_phoneoptout_no_truncate ON contacts_phoneoptout;
DROP TRIGGER contacts_phoneoptout_guard ON contacts_phoneoptout;
DROP FUNCTION contacts_guard_phoneoptout();
DROP TRIGGER contacts_optout_no_truncate ON contacts_optout;
DROP FUNCTION contacts_guard_optout_truncate();
DROP TRIGGER contacts_optout_guard ON contacts_optout;
DROP FUNCTION contacts_guard_optout();
DROP FUNCTION contacts_refuse_hard_reversal();
DROP TRIGGER contacts_consentevent_no_truncate ON contacts_consentevent;
DROP TRIGGER contacts_consentevent_append_only ON contacts_consentevent;
DROP FUNCTION contacts_refuse_ledger_change();
"""

SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def sqlite_trigger(name: str, when: str, condition: str, body: str) -> str:
    return f"CREATE TRIGGER {name} {when} FOR EACH ROW WHEN {condition} BEGIN {body} END;"


def sqlite_refusal(message: str) -> str:
    return "SELECT RAISE(ABORT, '{}');".format(message.replace("'", "''"))


SQLITE = [
    sqlite_trigger(
        "contacts_consentevent_no_update",
        "BEFORE UPDATE ON contacts_consentevent",
        "1",
        sqlite_refusal(LEDGER_REFUSAL),
    ),
    sqlite_trigger(
        "contacts_consentevent_no_delete",
        "BEFORE DELETE ON contacts_consentevent",
        "1",
        sqlite_refusal(LEDGER_REFUSAL),
    ),
    sqlite_trigger(
        "contacts_consentevent_no_replace",
        "BEFORE INSERT ON contacts_consentevent",
        "EXISTS (SELECT 1 FROM contacts_consentevent WHERE id = NEW.id)",
        sqlite_refusal(LEDGER_REFUSAL),
    ),
    sqlite_trigger(
        "contacts_optout_guard_insert",
        "BEFORE INSERT ON contacts_optout",
        HITS_HARD_ROW.format(self_id="NULL"),
        sqlite_refusal(REFUSAL),
    ),
    sqlite_trigger(
        "contacts_optout_guard_update",
        "BEFORE UPDATE ON contacts_optout",
        f"({HARD_ROW_CHANGED}) OR {HITS_HARD_ROW.format(self_id='OLD.id')}",
        sqlite_refusal(REFUSAL),
    ),
    sqlite_trigger(
        "contacts_optout_guard_delete",
        "BEFORE DELETE ON contacts_optout",
        HARD_ROW_DELETE_REFUSED,
        sqlite_refusal(REFUSAL),
    ),
    sqlite_trigger(
        "contacts_phoneoptout_guard_update",
        "BEFORE UPDATE ON contacts_phoneoptout",
        "1",
        sqlite_refusal(REFUSAL),
    ),
    sqlite_trigger(
        "contacts_phoneoptout_guard_delete",
        "BEFORE DELETE ON contacts_phoneoptout",
        PHONE_DELETE_REFUSED,
        sqlite_refusal(REFUSAL),
    ),
    sqlite_trigger(
        "contacts_phoneoptout_no_replace",
        "BEFORE INSERT ON contacts_phoneoptout",
        "EXISTS (SELECT 1 FROM contacts_phoneoptout WHERE id = NEW.id)",
        sqlite_refusal(REFUSAL),
    ),
    sqlite_trigger(
        "contacts_contact_no_replace",
        "BEFORE INSERT ON contacts_contact",
        "EXISTS (SELECT 1 FROM contacts_contact WHERE id = NEW.id)",
        sqlite_refusal("A contact cannot be replaced: update it instead."),
    ),
    sqlite_trigger(
        "contacts_contact_keeps_id",
        "BEFORE UPDATE OF id ON contacts_contact",
        "NEW.id IS NOT OLD.id",
        sqlite_refusal("A contact's id cannot change."),
    ),
    sqlite_trigger(
        "contacts_contact_inserted",
        "AFTER INSERT ON contacts_contact",
        "EXISTS (SELECT 1 FROM contacts_phoneoptout WHERE phone = NEW.phone)",
        propagation(ROW_CONTACT_PAIRS, SQLITE_NOW),
    ),
    sqlite_trigger(
        "contacts_contact_phone_changed",
        "AFTER UPDATE OF phone ON contacts_contact",
        "NEW.phone IS NOT OLD.phone"
        " AND EXISTS (SELECT 1 FROM contacts_phoneoptout WHERE phone = NEW.phone)",
        propagation(ROW_CONTACT_PAIRS, SQLITE_NOW),
    ),
    sqlite_trigger(
        "contacts_phoneoptout_inserted",
        "AFTER INSERT ON contacts_phoneoptout",
        "1",
        propagation(
            "contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id",
            SQLITE_NOW,
        ),
    ),
]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement, params=None)
    else:
        raise NotImplementedError(
            f"The hard opt-out guard has no triggers for {schema_editor.connection.vendor}."
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE, params=None)
    else:
        for statement in SQLITE:
            schema_editor.execute(f"DROP TRIGGER {statement.split()[2]};", params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
