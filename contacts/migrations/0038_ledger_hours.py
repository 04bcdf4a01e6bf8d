"""The ledger's changes counted by the hour, by database triggers, for the Insights page's
charts: a chart of 90 days reads a few thousand counts instead of the ledger."""

from django.db import migrations, models

# The ledger rows counted: changes of status, a number's own row and not its copies onto
# contacts, and no change of number. A possible opt-out confirmed in review says so in its
# rule (contacts.models.CONFIRMED_IN_REVIEW, frozen here).
COUNTED = """copied_from IS NULL AND "before" <> "after" AND source <> 'carried'"""
REVIEWED = "matched LIKE 'confirmed in review%'"
HOUR_POSTGRES = "date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"

# PostgreSQL: once a statement, from its rows (a bulk action writes thousands), the counts
# updated in the order of their keys, so that two writers never wait for each other's.
POSTGRES = f"""
CREATE FUNCTION contacts_count_ledger_hours() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO public.contacts_ledgerhour AS counted
        (hour, channel, source, "after", reviewed, changes)
    SELECT {HOUR_POSTGRES}, channel, source, "after", {REVIEWED}, COUNT(*)
    FROM new_rows WHERE {COUNTED}
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (hour, channel, source, "after", reviewed)
    DO UPDATE SET changes = counted.changes + excluded.changes;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_count_ledger_hours
    AFTER INSERT ON contacts_consentevent REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_ledger_hours();
"""
POSTGRES_REVERSE = """
DROP TRIGGER contacts_count_ledger_hours ON contacts_consentevent;
DROP FUNCTION contacts_count_ledger_hours();
"""
SQLITE = """
CREATE TRIGGER contacts_count_ledger_hours AFTER INSERT ON contacts_consentevent
FOR EACH ROW WHEN NEW.copied_from IS NULL AND NEW.before <> NEW.after
    AND NEW.source <> 'carried'
BEGIN
    INSERT INTO contacts_ledgerhour (hour, channel, source, after, reviewed, changes)
    VALUES (strftime('%Y-%m-%d %H:00:00', NEW.at), NEW.channel, NEW.source, NEW.after,
            NEW.matched LIKE 'confirmed in review%', 1)
    ON CONFLICT (hour, channel, source, after, reviewed) DO UPDATE SET changes = changes + 1;
END;
"""
SQLITE_REVERSE = "DROP TRIGGER contacts_count_ledger_hours;"


def count_existing(postgres: bool) -> str:
    hour = HOUR_POSTGRES if postgres else "strftime('%Y-%m-%d %H:00:00', at)"
    return f"""
    INSERT INTO contacts_ledgerhour (hour, channel, source, "after", reviewed, changes)
    SELECT {hour}, channel, source, "after", {REVIEWED}, COUNT(*)
    FROM contacts_consentevent WHERE {COUNTED} GROUP BY 1, 2, 3, 4, 5
    """


def create_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in [POSTGRES if postgres else SQLITE, count_existing(postgres)]:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(POSTGRES_REVERSE if postgres else SQLITE_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0037_export_pieces_lz4"),
    ]

    operations = [
        migrations.CreateModel(
            name="LedgerHour",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("hour", models.DateTimeField()),
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
                "constraints": [
                    models.UniqueConstraint(
                        fields=("hour", "channel", "source", "after", "reviewed"),
                        name="one_ledger_hour",
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
