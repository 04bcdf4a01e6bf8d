"""The database writes a number's own ledger row when the number opts out (hard).

A hard opt-out of a number (`contacts_phoneoptout`) had its ledger row (contact empty) from
whoever inserted it: record_hard_opt_out and seed_demo. Now the insert trigger of 0002
writes it, before it copies the opt-out onto the number's contacts with their rows, so that
no opt-out of a number can exist without its record, and a STOP takes one round trip less.
The row is the one record_hard_opt_out wrote: subscribed → hard, at the opt-out's time,
with its source and the contact's words as the note.

It keeps its own copy of the SQL it took from 0002, as 0002 wrote it.
"""

from django.db import migrations

SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def propagation(pairs: str, now: str) -> str:
    """0002's statements that give every contact `c` the hard phone opt-outs `p` that `pairs`
    yields (a FROM clause naming contacts as c and phone opt-outs as p)."""
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


def number_row(opt_outs: str) -> str:
    """SQL writing the ledger row of each new opt-out `p` that the FROM clause `opt_outs`
    names."""
    return f"""
    INSERT INTO contacts_consentevent
        (at, contact_id, phone, channel, "before", "after", source, actor_id, note)
    SELECT p.opted_out_at, NULL, p.phone, p.channel, 'subscribed', 'hard', p.source, NULL,
           p.words
    FROM {opt_outs};
    """


def postgres_function(row: str) -> str:
    pairs = "contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone"
    return f"""
    CREATE OR REPLACE FUNCTION contacts_phoneoptout_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        {row}
        {propagation(pairs, "now()")}
        RETURN NULL;
    END $$;
    """


def sqlite_trigger(row: str) -> str:
    pairs = "contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id"
    body = row + propagation(pairs, SQLITE_NOW)
    return (
        "CREATE TRIGGER contacts_phoneoptout_inserted AFTER INSERT ON contacts_phoneoptout"
        f" FOR EACH ROW WHEN 1 BEGIN {body} END;"
    )


def replace_trigger(schema_editor, *, with_number_row: bool) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        row = number_row("new_opt_outs p") if with_number_row else ""
        schema_editor.execute(postgres_function(row), params=None)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER contacts_phoneoptout_inserted;", params=None)
        row = number_row("contacts_phoneoptout p WHERE p.id = NEW.id") if with_number_row else ""
        schema_editor.execute(sqlite_trigger(row), params=None)
    else:
        raise NotImplementedError(f"No hard opt-out triggers for {vendor}.")


def add_number_row(apps, schema_editor):
    replace_trigger(schema_editor, with_number_row=True)


def remove_number_row(apps, schema_editor):
    replace_trigger(schema_editor, with_number_row=False)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0008_inactive_index")]

    operations = [migrations.RunPython(add_number_row, remove_number_row)]
