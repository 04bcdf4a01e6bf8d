"""Confirming or dismissing a possible opt-out is a permission of its own,
messaging.decide_possibleoptout, which every role holds: the people who read the replies decide,
so that a revocation is honoured as soon as it is read. Admins held it alone before (as
contacts.change_subscription)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen here, as in crm/migrations/0001_roles.py.
ROLES = ["Staff", "Admin", "Manager"]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations have run; the roles need it now.
    app_config = apps.get_app_config("messaging")
    app_config.models_module = True  # the migration state's stand-in app lacks it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    decide = Permission.objects.get(
        content_type__app_label="messaging", codename="decide_possibleoptout"
    )
    for role in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        role.permissions.add(decide)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    decide = Permission.objects.filter(
        content_type__app_label="messaging", codename="decide_possibleoptout"
    )
    for role in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        role.permissions.remove(*decide)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_inbound_proof"), ("crm", "0001_roles")]

    operations = [
        migrations.AlterModelOptions(
            name="possibleoptout",
            options={
                "ordering": ["-received_at", "-id"],
                "permissions": [
                    ("decide_possibleoptout", "Can confirm or dismiss possible opt-outs")
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
