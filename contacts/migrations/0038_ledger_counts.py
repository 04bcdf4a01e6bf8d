"""The ledger's changes counted by the quarter hour, by database triggers, for the Insights
page's charts (contacts.models.LedgerCount): a chart of 90 days reads a few thousand counts
instead of the ledger."""

from django.db import migrations, models

# The ledger rows counted: changes of status; a number's own row, not its copies onto
# contacts; no change of number; once a number, channel and change (the first of the rows
# that one change writes for the number). A possible opt-out confirmed in review says so in its rule
# (contacts.models.CONFIRMED_IN_REVIEW, frozen here).
COUNTED = """{n}.copied_from IS NULL AND {n}."before" <> {n}."after" AND {n}.source <> 'carried'
    AND NOT EXISTS (SELECT 1 FROM {ledger} e WHERE e.phone = {n}.phone
        AND e.channel = {n}.channel AND e."after" = {n}."after" AND e.id < {n}.id
        AND e.copied_from IS NULL AND e."before" <> e."after" AND {same_change})"""
REVIEWED = "{n}.matched LIKE 'confirmed in review%'"
# The rows of one change (a STOP, a START, an opt-out of contacts) are written within
# milliseconds of each other: the first of a number's rows of a change in two seconds counts.
SAME_CHANGE_POSTGRES = "e.at >= {n}.at - interval '2 seconds'"
SAME_CHANGE_SQLITE = "e.at >= strftime('%Y-%m-%d %H:%M:%f', {n}.at, '-2 seconds')"
PERIOD_POSTGRES = "date_bin('15 minutes', {n}.at, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
PERIOD_SQLITE = (
    "strftime('%Y-%m-%d %H:', {n}.at)"
    " || printf('%02d:00', CAST(strftime('%M', {n}.at) AS INTEGER) / 15 * 15)"
)


def counted(n: str, postgres: bool) -> str:
    ledger = "public.contacts_consentevent" if postgres else "contacts_consentevent"
    same = (SAME_CHANGE_POSTGRES if postgres else SAME_CHANGE_SQLITE).format(n=n)
    return COUNTED.format(n=n, ledger=ledger, same_change=same)


# PostgreSQL: a row added once a statement, from its rows (a bulk action writes thousands):
# no row is updated, so no writer waits for another's count.
POSTGRES = f"""
CREATE FUNCTION contacts_count_ledger() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO public.contacts_ledgercount (period, channel, source, "after", reviewed, changes)
    SELECT {PERIOD_POSTGRES.format(n="n")}, n.channel, n.source, n."after",
        {REVIEWED.format(n="n")}, COUNT(*)
    FROM new_rows n WHERE {counted("n", postgres=True)}
    GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_count_ledger
    AFTER INSERT ON contacts_consentevent REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_ledger();
"""
POSTGRES_REVERSE = """
DROP TRIGGER contacts_count_ledger ON contacts_consentevent;
DROP FUNCTION contacts_count_ledger();
"""
SQLITE = f"""
CREATE TRIGGER contacts_count_ledger AFTER INSERT ON contacts_consentevent
FOR EACH ROW WHEN {counted("NEW", postgres=False)}
BEGIN
    INSERT INTO contacts_ledgercount (period, channel, source, after, reviewed, changes)
    VALUES ({PERIOD_SQLITE.format(n="NEW")}, NEW.channel, NEW.source, NEW.after,
            {REVIEWED.format(n="NEW")}, 1);
END;
"""
SQLITE_REVERSE = "DROP TRIGGER contacts_count_ledger;"


def count_existing(postgres: bool) -> str:
    period = (PERIOD_POSTGRES if postgres else PERIOD_SQLITE).format(n="n")
    return f"""
    INSERT INTO contacts_ledgercount (period, channel, source, "after", reviewed, changes)
    SELECT {period}, n.channel, n.source, n."after", {REVIEWED.format(n="n")}, COUNT(*)
    FROM contacts_consentevent n WHERE {counted("n", postgres)} GROUP BY 1, 2, 3, 4, 5
    """


def create_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in [POSTGRES if postgres else SQLITE, count_existing(postgres)]:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(POSTGRES_REVERSE if postgres else SQLITE_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0037_export_pieces_lz4")]

    operations = [
        migrations.CreateModel(
            name="LedgerCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("period", models.DateTimeField()),
                (
                    "channel",
                    models.CharField(
                        choices=[("sms", "SMS"), ("calls", "Calls & Voicemails")], max_length=10
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("user", "a platform user"),
                            ("import", "an import"),
                            ("keyword", "an SMS reply"),
                            ("digit", "a key pressed on a call"),
                            ("carrier", "the carrier"),
                            ("carried", "a change of number"),
                            ("join", "a reply asking to join"),
                            ("page", "the contact's subscriptions page"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "after",
                    models.CharField(
                        choices=[
                            ("subscribed", "Subscribed"),
                            ("soft", "Opted out (soft)"),
                            ("hard", "Opted out (hard)"),
                        ],
                        max_length=10,
                    ),
                ),
                ("reviewed", models.BooleanField()),
                ("changes", models.IntegerField()),
            ],
            options={
                "indexes": [models.Index(fields=["period"], name="ledger_count_period")],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
