"""Each inbound SMS keeps how it was read (`reading`) and the phrase that decided it, if one
did; every role may read the reply phrases (Admins keep them, messaging 0004).

The columns are added by ALTER TABLE ADD COLUMN, with database defaults: Django would rebuild
the table on SQLite for a NOT NULL column, which drops its triggers (messaging 0002's guard).
`phrase_id` has no foreign-key constraint, as the ledger's references: deleting a phrase
never touches the events it decided.
"""

import django.db.models.deletion
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

# Frozen here, as in crm/migrations/0001_roles.py.
READERS = ["Staff", "Manager"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("messaging")
    app_config.models_module = True  # the migration state's stand-in app lacks it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    view = apps.get_model("auth", "Permission").objects.get(
        content_type__app_label="messaging", codename="view_replyphrase"
    )
    for role in apps.get_model("auth", "Group").objects.filter(name__in=READERS):
        role.permissions.add(view)


def revoke(apps, schema_editor):
    view = apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="messaging", codename="view_replyphrase"
    )
    for role in apps.get_model("auth", "Group").objects.filter(name__in=READERS):
        role.permissions.remove(*view)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_reply_phrases")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE messaging_inboundevent"
                    " ADD COLUMN reading varchar(250) DEFAULT '' NOT NULL",
                    reverse_sql="ALTER TABLE messaging_inboundevent DROP COLUMN reading",
                ),
                migrations.RunSQL(
                    "ALTER TABLE messaging_inboundevent ADD COLUMN phrase_id bigint NULL",
                    reverse_sql="ALTER TABLE messaging_inboundevent DROP COLUMN phrase_id",
                ),
            ],
            state_operations=[
                migrations.AddField(
                    model_name="inboundevent",
                    name="reading",
                    field=models.CharField(
                        blank=True,
                        db_default="",
                        default="",
                        help_text="For an SMS, how it was read and by which rule or phrase.",
                        max_length=250,
                    ),
                ),
                migrations.AddField(
                    model_name="inboundevent",
                    name="phrase",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        help_text="For an SMS, the phrase staff taught that decided it, if "
                        "one did.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="events",
                        to="messaging.replyphrase",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="inboundevent",
            index=models.Index(
                condition=models.Q(("phrase__isnull", False)),
                fields=["phrase", "received_at"],
                name="inbound_by_phrase",
            ),
        ),
        migrations.RunPython(grant, revoke),
    ]
