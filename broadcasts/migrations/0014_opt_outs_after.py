"""Each number's own opt-out counted against the broadcast that reached it last in the 48
hours before, as the ledger records it (broadcasts.models.OptOutAfter): database triggers on
the ledger, and the opt-outs recorded before."""

import django.db.models.deletion
from django.db import migrations, models

# The ledger's rows of a number's own opt-out that a broadcast of its channel can provoke: a
# reply to a text, a key on a call. Frozen here, as broadcasts.insights says them.
PROVOKED = """{e}."after" = 'hard' AND {e}."before" <> 'hard' AND {e}.copied_from IS NULL
    AND (({e}.source = 'keyword' AND {e}.channel = 'sms')
         OR ({e}.source = 'digit' AND {e}.channel = 'calls'))"""


def latest_broadcast(e: str, window: str) -> str:
    """The broadcast of the row's channel that reached its number last in the 48 hours
    before it (`window`: that moment, in the database's SQL)."""
    return f"""
    SELECT r.broadcast_id FROM broadcasts_recipient r
    JOIN broadcasts_broadcast b ON b.id = r.broadcast_id
    WHERE r.phone = {e}.phone AND r.sent_at IS NOT NULL AND r.sent_at <= {e}.at
      AND r.sent_at > {window} AND b.channel = {e}.channel
    ORDER BY r.sent_at DESC, r.id DESC LIMIT 1"""


POSTGRES_WINDOW = "e.at - interval '48 hours'"
SQLITE_WINDOW = "strftime('%Y-%m-%d %H:%M:%f', {e}.at, '-48 hours')"

POSTGRES = f"""
CREATE FUNCTION broadcasts_count_opt_outs_after() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO public.broadcasts_optoutafter (broadcast_id, event_id, phone, at)
    SELECT latest.broadcast_id, e.id, e.phone, e.at
    FROM new_rows e CROSS JOIN LATERAL ({latest_broadcast("e", POSTGRES_WINDOW)}) latest
    WHERE {PROVOKED.format(e="e")};
    RETURN NULL;
END $$;
CREATE TRIGGER broadcasts_count_opt_outs_after
    AFTER INSERT ON contacts_consentevent REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION broadcasts_count_opt_outs_after();
"""
POSTGRES_REVERSE = """
DROP TRIGGER broadcasts_count_opt_outs_after ON contacts_consentevent;
DROP FUNCTION broadcasts_count_opt_outs_after();
"""
SQLITE = f"""
CREATE TRIGGER broadcasts_count_opt_outs_after AFTER INSERT ON contacts_consentevent
FOR EACH ROW WHEN {PROVOKED.format(e="NEW")}
BEGIN
    INSERT INTO broadcasts_optoutafter (broadcast_id, event_id, phone, at)
    SELECT ({latest_broadcast("NEW", SQLITE_WINDOW.format(e="NEW"))}), NEW.id, NEW.phone, NEW.at
    WHERE ({latest_broadcast("NEW", SQLITE_WINDOW.format(e="NEW"))}) IS NOT NULL;
END;
"""
SQLITE_REVERSE = "DROP TRIGGER broadcasts_count_opt_outs_after;"


def count_recorded(postgres: bool) -> str:
    window = POSTGRES_WINDOW if postgres else SQLITE_WINDOW.format(e="e")
    return f"""
    INSERT INTO broadcasts_optoutafter (broadcast_id, event_id, phone, at)
    SELECT latest, id, phone, at FROM (
        SELECT ({latest_broadcast("e", window)}) AS latest, e.id, e.phone, e.at
        FROM contacts_consentevent e WHERE {PROVOKED.format(e="e")}
    ) counted WHERE latest IS NOT NULL
    """


def create_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in [POSTGRES if postgres else SQLITE, count_recorded(postgres)]:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(POSTGRES_REVERSE if postgres else SQLITE_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("broadcasts", "0013_reach_counts"),
        ("contacts", "0038_ledger_counts"),
    ]

    operations = [
        migrations.CreateModel(
            name="OptOutAfter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("phone", models.CharField(max_length=16)),
                ("at", models.DateTimeField()),
                (
                    "broadcast",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="broadcasts.broadcast",
                    ),
                ),
                (
                    "event",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="contacts.consentevent",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["broadcast", "at"], name="opt_out_after_broadcast")
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
