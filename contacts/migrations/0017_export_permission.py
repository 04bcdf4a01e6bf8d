"""Exporting contacts is a permission of its own (contacts.export_contact), which Admins and
Managers hold; Staff only view."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen here, as in crm/migrations/0001_roles.py.
ROLES = ["Admin", "Manager"]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations have run; the roles need it now.
    app_config = apps.get_app_config("contacts")
    app_config.models_module = True  # the migration state's stand-in app lacks it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    export = Permission.objects.get(content_type__app_label="contacts", codename="export_contact")
    for role in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        role.permissions.add(export)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    exports = Permission.objects.filter(
        content_type__app_label="contacts", codename="export_contact"
    )
    for role in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        role.permissions.remove(*exports)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0016_phone_digits_trgm"), ("crm", "0001_roles")]

    operations = [
        migrations.AlterModelOptions(
            name="contact",
            options={
                "ordering": ["name", "id"],
                "permissions": [
                    ("change_subscription", "Can unsubscribe (soft) and resubscribe contacts"),
                    ("import_contacts", "Can import contacts"),
                    ("export_contact", "Can export contacts as CSV"),
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
