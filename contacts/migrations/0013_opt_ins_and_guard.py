"""The hard opt-out guard, whole: opt-ins as the only proof that lifts a hard opt-out, a ledger
whose order the database decides, opt-outs that follow the contact who made them to a new
number, and functions that a TEMP table cannot redirect.

This migration drops the triggers of 0002 and 0009 and writes every one again from the SQL
below, which is the guard as it runs now (0007's phone counts get the same pinned
search_path). It keeps its own copy of that SQL: a later change writes a new migration.

The rules, on PostgreSQL and SQLite alike:

- A hard opt-out belongs to a number (`contacts_phoneoptout`): a STOP from N opts N out for
  whoever has N, now or later, until a START from N. The database writes the number's ledger
  row and copies the opt-out onto N's contacts: held by those who have N when it opts out,
  inherited by those who get N later (`contacts_optout.inherited`). A ledger row of the copy
  names the number's opt-out it came from (`copied_from`): what "held" is read from. An
  inherited row may only become held (a STOP again from N, `services.record_hard_opt_out`).
- When a contact's number changes from N to M, each hard opt-out the contact held is carried
  over to M as an opt-out of the number M (source `carried`, words N); an inherited one is
  dropped, for this contact never had N when N opted out; then M's own opt-outs are copied.
- A hard opt-out (of a number, or a contact's) may be deleted only when the newest ledger row
  for it names an opt-in (`contacts_optin`: an SMS START, or the digit offered on a call) from
  that very number. The database checks the ledger row when it is written: the opt-in's
  number, channel and words, and that it lifts only before it is applied (on PostgreSQL,
  only in the transaction that recorded it). An inherited opt-out may also go once its
  contact has moved away from the number, and any with its contact (the number keeps its own).
- The ledger is append-only; on PostgreSQL its ids and times come from the database, never
  from the writer; on SQLite a ledger row must take the next id.
- Opt-ins are kept unchanged; only `applied` may turn on. A contact's id never changes.
- A contact written while its number opts out, in another transaction, waits for it: contact
  writes take the number's advisory lock shared, opt-outs of numbers exclusive (the keys of
  `services.lock_numbers`), and both are refused outside READ COMMITTED.

Every PostgreSQL function names its tables with their schema and runs with
`search_path = pg_catalog, <schema>, pg_temp`, so that a TEMP table of the caller's cannot
stand in for a guarded one.

Irreversible: going back would need the old SQL, which lives in 0002 and 0009.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models

REFUSAL = (
    "A hard opt-out cannot be reversed: only the number's own new consent "
    "(a START reply, or the digit on a call) can lift it."
)
LEDGER_REFUSAL = "The consent ledger is append-only: its rows cannot be changed or deleted."
LEDGER_ORDER_REFUSAL = "A consent ledger row takes the next id: its id cannot be chosen."
LIFT_REFUSAL = (
    "A new consent must name the contact's own opt-in, from the same number and for the "
    "same channel, recorded in this transaction and not applied before."
)
OPT_IN_REFUSAL = (
    "An opt-in is an SMS START (or UNSTOP, YES) for SMS, or a digit pressed on a call for "
    "calls, from a valid number; once recorded it cannot be changed or deleted."
)
NUMBER_REFUSAL = "The number has opted out already: its opt-out cannot be replaced."
# A contact given another id would leave its opt-outs looking like a deleted contact's.
ID_REFUSAL = "A contact's id cannot change."
READ_COMMITTED_REFUSAL = (
    "Contacts and the opt-outs of numbers are written at READ COMMITTED, the default: at "
    "another isolation level a contact could miss its number's opt-out."
)
# Above this many numbers, a statement locks a table rather than each number.
MOST_NUMBER_LOCKS = 64

VALID_PHONE = r"^\+(1[2-9][0-9]{2}[2-9][0-9]{6}|[2-9][0-9]{6,14})\Z"
OPT_IN_PUNCTUATION = (
    " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
    ".,;:!?¡¿'\"()[]{}-_*~…"
)
PRESSED_DIGIT = "^pressed [0-9*#]$"


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def opt_in_is_valid(regex) -> str:
    """SQL: the opt-in NEW says what an opt-in may say. `regex(value, pattern)` writes a
    regular expression match for the engine."""
    words = f"upper(trim(NEW.words, {sql_string(OPT_IN_PUNCTUATION)}))"
    return f"""(
        {regex("NEW.phone", VALID_PHONE)}
        AND ((NEW.channel = 'sms' AND NEW.source = 'keyword'
              AND {words} IN ('START', 'UNSTOP', 'YES'))
          OR (NEW.channel = 'calls' AND NEW.source = 'digit'
              AND {regex("NEW.words", PRESSED_DIGIT)})))"""


def lift_is_valid(same_transaction: str) -> str:
    """SQL: the ledger row NEW, which names an opt-in, is that opt-in's lift."""
    return f"""(NEW."after" = 'subscribed' AND EXISTS (
        SELECT 1 FROM {{s}}contacts_optin i
        WHERE i.id = NEW.opt_in_id AND NOT i.applied AND i.phone = NEW.phone
          AND i.channel = NEW.channel AND i.source = NEW.source{same_transaction}))"""


# A new consent without the opt-in that proves it: refused, so that no ledger row claims one.
UNPROVEN_CONSENT = """(NEW.opt_in_id IS NULL AND NEW."after" = 'subscribed'
    AND NEW.source IN ('keyword', 'digit'))"""


def newest_is_lift(where: str) -> str:
    """SQL: the newest ledger row matching `where` lifts with an opt-in."""
    return f"""COALESCE((
        SELECT e.opt_in_id IS NOT NULL FROM {{s}}contacts_consentevent e
        WHERE {where} ORDER BY e.id DESC LIMIT 1), FALSE)"""


# In a row trigger on contacts_optout: the number of OLD's contact, if it still exists.
OLD_CONTACT_PHONE = "(SELECT c.phone FROM {s}contacts_contact c WHERE c.id = OLD.contact_id)"

HARD_ROW_DELETE_REFUSED = f"""OLD.kind = 'hard'
    AND EXISTS (SELECT 1 FROM {{s}}contacts_contact c WHERE c.id = OLD.contact_id)
    AND NOT (OLD.inherited AND OLD.phone IS DISTINCT FROM {OLD_CONTACT_PHONE})
    AND NOT {
    newest_is_lift(
        "e.contact_id = OLD.contact_id AND e.channel = OLD.channel"
        f" AND e.phone = {OLD_CONTACT_PHONE}"
    )
}"""

PHONE_DELETE_REFUSED = f"""NOT {
    newest_is_lift("e.contact_id IS NULL AND e.phone = OLD.phone AND e.channel = OLD.channel")
}"""

# A hard row changes only to become the contact's own: a STOP from the number the contact
# inherited it with, received while the contact has it (its words, source and time with it).
HARD_ROW_CHANGED = """OLD.kind = 'hard' AND (
    NEW.id IS DISTINCT FROM OLD.id
    OR NEW.kind IS DISTINCT FROM OLD.kind
    OR NEW.contact_id IS DISTINCT FROM OLD.contact_id
    OR NEW.channel IS DISTINCT FROM OLD.channel
    OR NEW.actor_id IS DISTINCT FROM OLD.actor_id
    OR NEW.phone IS DISTINCT FROM OLD.phone
    OR (NEW.inherited AND NOT OLD.inherited)
    OR ((NEW.opted_out_at IS DISTINCT FROM OLD.opted_out_at
         OR NEW.source IS DISTINCT FROM OLD.source
         OR NEW.words IS DISTINCT FROM OLD.words)
        AND NOT (OLD.inherited AND NOT NEW.inherited)))"""


def hits_hard_row(self_id: str) -> str:
    """SQL: an insert, or an update that moves a row, lands on a hard row's id or (contact,
    channel). Each look-up goes by a unique key and then checks the kind: with the kind
    inside it, a planner whose statistics predate a bulk insert of hard rows may pick the
    (channel, kind) index and scan all of them for every row."""
    return f"""(
    COALESCE((SELECT h.kind FROM {{s}}contacts_optout h
              WHERE h.id = NEW.id AND h.id IS DISTINCT FROM {self_id}), '') = 'hard'
    OR COALESCE((SELECT h.kind FROM {{s}}contacts_optout h
                 WHERE h.contact_id = NEW.contact_id AND h.channel = NEW.channel
                 AND h.id IS DISTINCT FROM {self_id}), '') = 'hard')"""


OPT_IN_CHANGED = """(OLD.applied OR NOT NEW.applied
    OR NEW.id IS DISTINCT FROM OLD.id OR NEW.phone IS DISTINCT FROM OLD.phone
    OR NEW.channel IS DISTINCT FROM OLD.channel OR NEW.source IS DISTINCT FROM OLD.source
    OR NEW.words IS DISTINCT FROM OLD.words OR NEW.reference IS DISTINCT FROM OLD.reference
    OR NEW.at IS DISTINCT FROM OLD.at)"""

# The contact c had the number when the number's opt-out p was made: the database copied p
# onto it then (a ledger row of its own, via 'number', that names p). A ledger row written by
# anyone else can only make a contact look held, which carries more opt-outs, never fewer.
HELD_SINCE_OPT_OUT = """EXISTS (
    SELECT 1 FROM {s}contacts_consentevent e
    WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
      AND e.copied_from = p.id)"""


def propagation(pairs: str, inherited: str) -> str:
    """Statements that give every contact c the hard number opt-outs p that the FROM clause
    `pairs` yields, if it is subscribed or opted out softly: a ledger row quoting the
    contact's words, and the hard opt-out. `inherited` is SQL: true when the number opted out
    before the contact had it."""
    return f"""
    INSERT INTO {{s}}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
         copied_from)
    SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
           NULL, p.words, CASE WHEN {inherited} THEN 'inherited' ELSE 'number' END, p.id
    FROM {pairs}
    LEFT JOIN {{s}}contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
    WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE {{s}}contacts_optout
    SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = {inherited}
    FROM {pairs}
    WHERE {{s}}contacts_optout.contact_id = c.id AND {{s}}contacts_optout.channel = p.channel
      AND {{s}}contacts_optout.kind = 'soft';

    INSERT INTO {{s}}contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
    SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
           {inherited}
    FROM {pairs}
    WHERE NOT EXISTS (
        SELECT 1 FROM {{s}}contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
    );
    """


def number_row(opt_outs: str) -> str:
    """The ledger row of each new opt-out p of a number that the FROM clause names."""
    return f"""
    INSERT INTO {{s}}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note)
    SELECT NULL, p.phone, p.channel, 'subscribed', 'hard', p.source, NULL,
           p.words
    FROM {opt_outs};
    """


# The contact NEW's hard opt-outs that it held, not inherited.
HELD = "o.contact_id = NEW.id AND o.kind = 'hard' AND NOT o.inherited"


# For the contact NEW and the channel of `row`: what the newest ledger row of its own that
# made it hard (or soft) says.
def _newest(row: str, after: str, column: str) -> str:
    return f"""(SELECT e.{column} FROM {{s}}contacts_consentevent e
        WHERE e.contact_id = NEW.id AND e.channel = {row}.channel AND e."after" = '{after}'
          AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1)"""


def phone_changed(now: str) -> str:
    """Statements for a contact NEW whose number changed from OLD.phone: drop what it
    inherited (back to the soft opt-out it had before, if any), carry what it held over to
    the new number, take the new number's opt-outs."""
    was_soft = f"""{_newest("o", "hard", '"before"')} = 'soft'"""
    return f"""
    INSERT INTO {{s}}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via)
    SELECT NEW.id, NEW.phone, o.channel, 'hard',
           CASE WHEN {was_soft} THEN 'soft' ELSE 'subscribed' END, 'carried', NULL,
           o.phone, 'moved'
    FROM {{s}}contacts_optout o
    WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND o.inherited AND o.phone <> NEW.phone;

    DELETE FROM {{s}}contacts_optout
    WHERE contact_id = NEW.id AND kind = 'hard' AND inherited AND phone <> NEW.phone;

    -- The soft opt-out a user made before the number's opt-out reached the contact.
    INSERT INTO {{s}}contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
    SELECT NEW.id, m.channel, 'soft', COALESCE({_newest("m", "soft", "at")}, {now}), 'user',
           {_newest("m", "soft", "actor_id")}, '', '', FALSE
    FROM {{s}}contacts_consentevent m
    WHERE m.contact_id = NEW.id AND m.via = 'moved' AND m."after" = 'soft'
      AND m.id = (SELECT MAX(e.id) FROM {{s}}contacts_consentevent e
                  WHERE e.contact_id = NEW.id AND e.channel = m.channel)
      AND NOT EXISTS (SELECT 1 FROM {{s}}contacts_optout o
                      WHERE o.contact_id = NEW.id AND o.channel = m.channel);

    INSERT INTO {{s}}contacts_phoneoptout (phone, channel, opted_out_at, source, words)
    SELECT NEW.phone, o.channel, {now}, 'carried', OLD.phone
    FROM {{s}}contacts_optout o
    WHERE {HELD} AND NOT EXISTS (
        SELECT 1 FROM {{s}}contacts_phoneoptout p
        WHERE p.phone = NEW.phone AND p.channel = o.channel);

    INSERT INTO {{s}}contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
         copied_from)
    SELECT NEW.id, NEW.phone, o.channel, 'hard', 'hard', 'carried', NULL, OLD.phone,
           'number', (SELECT p.id FROM {{s}}contacts_phoneoptout p
                      WHERE p.phone = NEW.phone AND p.channel = o.channel)
    FROM {{s}}contacts_optout o WHERE {HELD};
    {
        propagation(
            "{s}contacts_contact c JOIN {s}contacts_phoneoptout p"
            " ON p.phone = c.phone AND c.id = NEW.id",
            inherited=f"NOT {HELD_SINCE_OPT_OUT}",
        )
    }
    """


def postgres_sql(schema: str) -> str:
    """The PostgreSQL functions and triggers, for tables in `schema` (quoted)."""

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

    def regex(value: str, pattern: str) -> str:
        return f"{value} ~ {sql_string(pattern)}"

    ledger_row_written = f"""
        -- The database decides the order and the time: "newest" is never the writer's word.
        NEW.id := nextval('{{s}}contacts_consentevent_id_seq'::regclass);
        NEW.at := statement_timestamp();  -- the column's default (Django's Now())
        IF (NEW.opt_in_id IS NOT NULL AND NOT {lift_is_valid(" AND i.at = now()")})
           OR {UNPROVEN_CONSENT} THEN
            {refuse(LIFT_REFUSAL)}
        END IF;
        RETURN NEW;"""
    guard_optin = f"""
        IF TG_OP = 'INSERT' THEN
            IF NEW.applied OR NOT {opt_in_is_valid(regex)} THEN
                {refuse(OPT_IN_REFUSAL)}
            END IF;
            NEW.at := now();
            RETURN NEW;
        ELSIF TG_OP = 'UPDATE' AND NOT {OPT_IN_CHANGED} THEN
            RETURN NEW;
        END IF;
        {refuse(OPT_IN_REFUSAL)}"""
    guard_optout = f"""
        IF TG_OP = 'INSERT' THEN
            IF {hits_hard_row("NULL")} THEN
                {refuse(REFUSAL)}
            END IF;
            RETURN NEW;
        ELSIF TG_OP = 'UPDATE' THEN
            IF ({HARD_ROW_CHANGED}) OR {hits_hard_row("OLD.id")} THEN
                {refuse(REFUSAL)}
            END IF;
            RETURN NEW;
        END IF;
        IF {HARD_ROW_DELETE_REFUSED} THEN
            {refuse(REFUSAL)}
        END IF;
        RETURN OLD;"""
    guard_optout_truncate = f"""
        IF EXISTS (SELECT 1 FROM {{s}}contacts_optout WHERE kind = 'hard') THEN
            {refuse(REFUSAL)}
        END IF;
        RETURN NULL;"""
    guard_phoneoptout = f"""
        IF TG_OP = 'DELETE' AND NOT ({PHONE_DELETE_REFUSED}) THEN
            RETURN OLD;
        END IF;
        {refuse(REFUSAL)}"""
    # A contact written while its number opts out, in two transactions, must end up opted
    # out: each side waits for the other's number lock (services.lock_numbers' keys: shared
    # for contacts, exclusive for opt-outs) before it looks for the other's rows, and reads
    # them committed. A statement of many numbers locks the other table instead, which holds
    # no more than one lock. At REPEATABLE READ the look would miss what committed since the
    # transaction's snapshot: refused.
    read_committed = f"""
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            {refuse(READ_COMMITTED_REFUSAL)}
        END IF;"""

    def lock(numbers: str, *, shared: bool, or_table: str, mode: str) -> str:
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        return f"""{read_committed}
        IF (SELECT count(DISTINCT phone) FROM {numbers}) <= {MOST_NUMBER_LOCKS} THEN
            PERFORM {function}(hashtextextended(n.phone, 0))
            FROM (SELECT DISTINCT phone FROM {numbers} ORDER BY phone) n;
        ELSE
            LOCK TABLE {{s}}{or_table} IN {mode} MODE;
        END IF;"""

    contact_inserted = lock(
        "new_contacts", shared=True, or_table="contacts_phoneoptout", mode="SHARE"
    ) + propagation(
        "new_contacts c JOIN {s}contacts_phoneoptout p ON p.phone = c.phone",
        inherited="TRUE",
    )
    phone_changed_locked = f"""{read_committed}
        PERFORM pg_advisory_xact_lock_shared(hashtextextended(NEW.phone, 0));
        {phone_changed("now()")}"""
    phoneoptout_inserted = (
        lock("new_opt_outs", shared=False, or_table="contacts_contact", mode="SHARE")
        + number_row("new_opt_outs p")
        + propagation(
            "{s}contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone",
            inherited="FALSE",
        )
    )
    return f"""
    {function("contacts_refuse_ledger_change", refuse(LEDGER_REFUSAL))}
    CREATE TRIGGER contacts_consentevent_append_only
        BEFORE UPDATE OR DELETE ON {{s}}contacts_consentevent
        FOR EACH ROW EXECUTE FUNCTION {{s}}contacts_refuse_ledger_change();
    CREATE TRIGGER contacts_consentevent_no_truncate
        BEFORE TRUNCATE ON {{s}}contacts_consentevent
        FOR EACH STATEMENT EXECUTE FUNCTION {{s}}contacts_refuse_ledger_change();

    {function("contacts_ledger_row_written", ledger_row_written)}
    -- Only for the rows that need it: a writer's own id or time, or a new consent
    -- (bench/NOTES.md: what the call costs a bulk change when it runs for every row).
    CREATE TRIGGER contacts_consentevent_written
        BEFORE INSERT ON {{s}}contacts_consentevent
        FOR EACH ROW WHEN (
            NEW.id IS DISTINCT FROM currval('{{s}}contacts_consentevent_id_seq'::regclass)
            OR NEW.at IS DISTINCT FROM statement_timestamp()
            OR NEW.opt_in_id IS NOT NULL
            OR (NEW."after" = 'subscribed' AND NEW.source IN ('keyword', 'digit')))
        EXECUTE FUNCTION {{s}}contacts_ledger_row_written();

    {function("contacts_guard_optin", guard_optin)}
    CREATE TRIGGER contacts_optin_guard
        BEFORE INSERT OR UPDATE OR DELETE ON {{s}}contacts_optin
        FOR EACH ROW EXECUTE FUNCTION {{s}}contacts_guard_optin();
    {function("contacts_refuse_opt_in_change", refuse(OPT_IN_REFUSAL))}
    CREATE TRIGGER contacts_optin_no_truncate
        BEFORE TRUNCATE ON {{s}}contacts_optin
        FOR EACH STATEMENT EXECUTE FUNCTION {{s}}contacts_refuse_opt_in_change();

    {function("contacts_guard_optout", guard_optout)}
    CREATE TRIGGER contacts_optout_guard
        BEFORE INSERT OR UPDATE OR DELETE ON {{s}}contacts_optout
        FOR EACH ROW EXECUTE FUNCTION {{s}}contacts_guard_optout();
    {function("contacts_guard_optout_truncate", guard_optout_truncate)}
    CREATE TRIGGER contacts_optout_no_truncate
        BEFORE TRUNCATE ON {{s}}contacts_optout
        FOR EACH STATEMENT EXECUTE FUNCTION {{s}}contacts_guard_optout_truncate();

    {function("contacts_guard_phoneoptout", guard_phoneoptout)}
    CREATE TRIGGER contacts_phoneoptout_guard
        BEFORE UPDATE OR DELETE ON {{s}}contacts_phoneoptout
        FOR EACH ROW EXECUTE FUNCTION {{s}}contacts_guard_phoneoptout();
    {function("contacts_refuse_hard_reversal", refuse(REFUSAL))}
    CREATE TRIGGER contacts_phoneoptout_no_truncate
        BEFORE TRUNCATE ON {{s}}contacts_phoneoptout
        FOR EACH STATEMENT EXECUTE FUNCTION {{s}}contacts_refuse_hard_reversal();

    {function("contacts_refuse_contact_id_change", refuse(ID_REFUSAL))}
    CREATE TRIGGER contacts_contact_keeps_id
        BEFORE UPDATE ON {{s}}contacts_contact
        FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id)
        EXECUTE FUNCTION {{s}}contacts_refuse_contact_id_change();

    {function("contacts_contact_inserted", contact_inserted + "RETURN NULL;")}
    CREATE TRIGGER contacts_contact_inserted
        AFTER INSERT ON {{s}}contacts_contact REFERENCING NEW TABLE AS new_contacts
        FOR EACH STATEMENT EXECUTE FUNCTION {{s}}contacts_contact_inserted();

    {function("contacts_contact_phone_changed", phone_changed_locked + "RETURN NULL;")}
    CREATE TRIGGER contacts_contact_phone_changed
        AFTER UPDATE OF phone ON {{s}}contacts_contact
        FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone)
        EXECUTE FUNCTION {{s}}contacts_contact_phone_changed();

    {function("contacts_phoneoptout_inserted", phoneoptout_inserted + "RETURN NULL;")}
    CREATE TRIGGER contacts_phoneoptout_inserted
        AFTER INSERT ON {{s}}contacts_phoneoptout REFERENCING NEW TABLE AS new_opt_outs
        FOR EACH STATEMENT EXECUTE FUNCTION {{s}}contacts_phoneoptout_inserted();
    {phone_counts(function)}
    """


def upsert(deltas: str) -> str:
    """SQL adding up `deltas` (rows of phone, delta) into the phone counts (0007)."""
    return f"""
    INSERT INTO {{s}}contacts_phonecount AS counted (phone, contacts)
    SELECT phone, SUM(delta) FROM ({deltas}) AS deltas (phone, delta)
    GROUP BY phone HAVING SUM(delta) <> 0 ORDER BY phone
    ON CONFLICT (phone) DO UPDATE SET contacts = counted.contacts + excluded.contacts;"""


def phone_counts(function) -> str:
    """0007's functions as they were, but for their tables' schema and the search_path; its
    triggers stay."""
    functions = {
        "contacts_count_inserted_phones": upsert("SELECT phone, 1 FROM new_contacts"),
        "contacts_count_deleted_phones": upsert("SELECT phone, -1 FROM old_contacts"),
        "contacts_count_changed_phone": upsert("VALUES (OLD.phone, -1), (NEW.phone, 1)"),
        "contacts_count_no_phones": "TRUNCATE {s}contacts_phonecount;",
    }
    return "".join(
        function(name, body + " RETURN NULL;").replace(
            "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
        )
        for name, body in functions.items()
    )


# Dropped before the tables change, written again after: SQLite rebuilds a table to add a
# column, and the triggers of other tables name it.
POSTGRES_DROP = """
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


def sqlite_regex(value: str, pattern: str) -> str:
    """SQLite has no regular expressions of its own (Django adds REGEXP to its connections
    only): GLOB patterns that say the same as VALID_PHONE and PRESSED_DIGIT."""
    if pattern == PRESSED_DIGIT:
        return f"({value} GLOB 'pressed [0-9*#]')"
    assert pattern == VALID_PHONE
    return f"""({value} GLOB '+1[2-9][0-9][0-9][2-9][0-9][0-9][0-9][0-9][0-9][0-9]'
        OR ({value} GLOB '+[2-9]*' AND substr({value}, 2) NOT GLOB '*[^0-9]*'
            AND length({value}) BETWEEN 8 AND 16))"""


def sqlite_trigger(name: str, when: str, condition: str, body: str) -> str:
    return f"CREATE TRIGGER {name} {when} FOR EACH ROW WHEN {condition} BEGIN {body} END;"


def sqlite_refusal(message: str) -> str:
    return f"SELECT RAISE(ABORT, {sql_string(message)});"


SQLITE_LEDGER_NEXT_ID = """NEW.id <> 1 + COALESCE(
    (SELECT MAX(e.id) FROM contacts_consentevent e WHERE e.id < NEW.id), 0)"""

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
        "contacts_consentevent_lift",
        "BEFORE INSERT ON contacts_consentevent",
        f"(NEW.opt_in_id IS NOT NULL AND NOT {lift_is_valid('')}) OR {UNPROVEN_CONSENT}",
        sqlite_refusal(LIFT_REFUSAL),
    ),
    sqlite_trigger(
        "contacts_consentevent_next_id",
        "AFTER INSERT ON contacts_consentevent",
        SQLITE_LEDGER_NEXT_ID,
        sqlite_refusal(LEDGER_ORDER_REFUSAL),
    ),
    sqlite_trigger(
        "contacts_optin_insert",
        "BEFORE INSERT ON contacts_optin",
        f"NEW.applied OR NOT {opt_in_is_valid(sqlite_regex)} OR EXISTS (SELECT 1 FROM"
        " contacts_optin i WHERE i.id = NEW.id OR i.reference = NEW.reference)",
        sqlite_refusal(OPT_IN_REFUSAL),
    ),
    sqlite_trigger(
        "contacts_optin_update",
        "BEFORE UPDATE ON contacts_optin",
        OPT_IN_CHANGED,
        sqlite_refusal(OPT_IN_REFUSAL),
    ),
    sqlite_trigger(
        "contacts_optin_delete",
        "BEFORE DELETE ON contacts_optin",
        "1",
        sqlite_refusal(OPT_IN_REFUSAL),
    ),
    sqlite_trigger(
        "contacts_optout_guard_insert",
        "BEFORE INSERT ON contacts_optout",
        hits_hard_row("NULL"),
        sqlite_refusal(REFUSAL),
    ),
    sqlite_trigger(
        "contacts_optout_guard_update",
        "BEFORE UPDATE ON contacts_optout",
        f"({HARD_ROW_CHANGED}) OR {hits_hard_row('OLD.id')}",
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
    # INSERT OR REPLACE would rewrite the number's opt-out (its id, source, words and date).
    sqlite_trigger(
        "contacts_phoneoptout_no_replace",
        "BEFORE INSERT ON contacts_phoneoptout",
        "EXISTS (SELECT 1 FROM contacts_phoneoptout"
        " WHERE id = NEW.id OR (phone = NEW.phone AND channel = NEW.channel))",
        sqlite_refusal(NUMBER_REFUSAL),
    ),
    sqlite_trigger(
        "contacts_contact_no_replace",
        "BEFORE INSERT ON contacts_contact",
        "EXISTS (SELECT 1 FROM contacts_contact WHERE id = NEW.id)",
        sqlite_refusal("A contact cannot be replaced: update it instead."),
    ),
    # Not UPDATE OF id: an UPDATE that names rowid changes the id too.
    sqlite_trigger(
        "contacts_contact_keeps_id",
        "BEFORE UPDATE ON contacts_contact",
        "NEW.id IS NOT OLD.id",
        sqlite_refusal(ID_REFUSAL),
    ),
    sqlite_trigger(
        "contacts_contact_inserted",
        "AFTER INSERT ON contacts_contact",
        "EXISTS (SELECT 1 FROM contacts_phoneoptout WHERE phone = NEW.phone)",
        propagation(
            "contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id",
            inherited="TRUE",
        ),
    ),
    sqlite_trigger(
        "contacts_contact_phone_changed",
        "AFTER UPDATE OF phone ON contacts_contact",
        "NEW.phone IS NOT OLD.phone",
        phone_changed(SQLITE_NOW),
    ),
    sqlite_trigger(
        "contacts_phoneoptout_inserted",
        "AFTER INSERT ON contacts_phoneoptout",
        "1",
        number_row("contacts_phoneoptout p WHERE p.id = NEW.id")
        + propagation(
            "contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id",
            inherited="FALSE",
        ),
    ),
]


def drop_old_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)
    else:
        for statement in SQLITE:
            name = statement.split()[2]
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};", params=None)


# The hard opt-outs from before this migration: of the number their contact has now. Whether
# the contact held it or inherited it is not known; held, the safe side, carries it on a move.
BACKFILL_PHONES = """UPDATE contacts_optout SET phone = (
    SELECT c.phone FROM contacts_contact c WHERE c.id = contacts_optout.contact_id)
WHERE kind = 'hard' AND phone = ''"""


def create_guard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute(BACKFILL_PHONES, params=None)
    if vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        schema_editor.execute(postgres_sql(schema).replace("{s}", schema + "."), params=None)
        # The index of the contacts without a valid number, as Django now writes
        # `exclude(phone__regex=VALID_PHONE)`, which the planner must match.
        schema_editor.execute("DROP INDEX contact_invalid_phone", params=None)
        schema_editor.execute(
            "CREATE INDEX contact_invalid_phone ON contacts_contact (id)"
            f" WHERE NOT (phone::text ~ {sql_string(VALID_PHONE)})",
            params=None,
        )
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement.replace("{s}", ""), params=None)
    else:
        raise NotImplementedError(f"The hard opt-out guard has no triggers for {vendor}.")


# Source's choices as this migration leaves them.
SOURCES = [
    ("user", "a platform user"),
    ("import", "an import"),
    ("keyword", "an SMS reply"),
    ("digit", "a key pressed on a call"),
    ("carrier", "the carrier"),
    ("carried", "a change of number"),
]


class Migration(migrations.Migration):
    dependencies = [("contacts", "0012_status_order")]

    operations = [
        migrations.RunPython(drop_old_guard, migrations.RunPython.noop),
        migrations.CreateModel(
            name="OptIn",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("phone", models.CharField(max_length=16)),
                (
                    "channel",
                    models.CharField(
                        choices=[("sms", "SMS"), ("calls", "Calls & Voicemails")], max_length=10
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=SOURCES,
                        max_length=10,
                    ),
                ),
                ("words", models.TextField(help_text="The reply, or the digit pressed.")),
                (
                    "reference",
                    models.CharField(
                        help_text="The key of the stored webhook event it came in.",
                        max_length=200,
                        unique=True,
                    ),
                ),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("applied", models.BooleanField(db_default=False, default=False)),
            ],
            options={
                "verbose_name": "opt-in",
            },
        ),
        migrations.AddField(
            model_name="consentevent",
            name="via",
            field=models.CharField(
                blank=True,
                choices=[
                    ("number", "the contact's number"),
                    ("inherited", "a number that had opted out before the contact had it"),
                    ("moved", "a move away from a number that had opted out before"),
                ],
                db_default="",
                default="",
                help_text="How a change of the contact's number reached the contact.",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="optout",
            name="inherited",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="The number had opted out before this contact had it.",
            ),
        ),
        migrations.AddField(
            model_name="optout",
            name="phone",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="For a hard opt-out, the number whose opt-out it is.",
                max_length=16,
            ),
        ),
        *(
            migrations.AlterField(
                model_name=model,
                name="source",
                field=models.CharField(choices=SOURCES, max_length=10),
            )
            for model in ("consentevent", "optout", "phoneoptout")
        ),
        migrations.AddField(
            model_name="consentevent",
            name="copied_from",
            field=models.BigIntegerField(
                blank=True,
                help_text="For a row the database copied from a number's opt-out: its id.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="consentevent",
            name="opt_in",
            field=models.ForeignKey(
                blank=True,
                help_text="For a hard opt-out lifted, the contact's own opt-in that lifted it.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contacts.optin",
            ),
        ),
        migrations.AlterField(
            model_name="consentevent",
            name="at",
            field=models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
        ),
        migrations.RunPython(create_guard),
    ]
