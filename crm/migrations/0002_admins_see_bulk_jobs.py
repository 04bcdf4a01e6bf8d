"""Admins may see every user's bulk jobs (contacts.view_bulkjob); others see their own only."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations have run; the role needs it now.
    app_config = apps.get_app_config("contacts")
    app_config.models_module = True  # the migration state's stand-in app lacks it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="contacts", codename="view_bulkjob")
    apps.get_model("auth", "Group").objects.get(name="Admin").permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for permission in Permission.objects.filter(
        content_type__app_label="contacts", codename="view_bulkjob"
    ):
        apps.get_model("auth", "Group").objects.get(name="Admin").permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_roles"), ("contacts", "0006_bulk_job")]

    operations = [migrations.RunPython(grant, revoke)]
