"""Fewer writes for each contact, tag link and staged row an import writes (issue 18;
bench/NOTES.md has the figures).

- Indexes that another index already starts with go: of an opt-out's and a ledger row's
  contact, of a staged row's import, and of a tag link's contact; and the pattern index
  PostgreSQL's backend adds to a text primary key, which no query of phone counts uses.
- Tag links and staged rows are no longer foreign-key constraints, each checked at commit:
  the app deletes a contact's or tag's links, and an import's rows, with them.
"""

import django.db.models.deletion
from django.db import migrations, models

# Named so on both engines.
INDEXES = {
    "contacts_consentevent_contact_id_3cb04190": "contacts_consentevent (contact_id)",
    "contacts_optout_contact_id_bb2af71a": "contacts_optout (contact_id)",
    "contacts_contact_tags_contact_id_ff2c136b": "contacts_contact_tags (contact_id)",
}
PATTERN_INDEX = "contacts_phonecount_phone_86da79dc_like"


def drop_pattern_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX {PATTERN_INDEX}")


def create_pattern_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {PATTERN_INDEX} ON contacts_phonecount (phone varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0017_export_permission"),
    ]

    operations = [
        migrations.AlterField(
            model_name="contact",
            name="tags",
            field=models.ManyToManyField(
                blank=True, db_constraint=False, related_name="contacts", to="contacts.tag"
            ),
        ),
        migrations.AlterField(
            model_name="importrow",
            name="contact_import",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                to="contacts.contactimport",
            ),
        ),
        # The database drops only the index: SQLite would rebuild these tables, which the
        # guard's triggers name, and PostgreSQL would drop and check again the opt-outs'
        # constraint.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="consentevent",
                    name="contact",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="consent_events",
                        to="contacts.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="optout",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        related_name="opt_outs",
                        to="contacts.contact",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f"DROP INDEX {name}" for name in INDEXES],
                    [f"CREATE INDEX {name} ON {on}" for name, on in INDEXES.items()],
                )
            ],
        ),
        migrations.RunPython(drop_pattern_index, create_pattern_index),
    ]
