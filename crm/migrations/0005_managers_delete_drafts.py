"""Managers may delete a broadcast that is still a draft and was never tested
(broadcasts.delete_broadcast; broadcasts.services.why_kept says which)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations have run; the role needs it now.
    app_config = apps.get_app_config("broadcasts")
    app_config.models_module = True  # the migration state's stand-in app lacks it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    delete = Permission.objects.get(
        content_type__app_label="broadcasts", codename="delete_broadcast"
    )
    apps.get_model("auth", "Group").objects.get(name="Manager").permissions.add(delete)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    deletes = Permission.objects.filter(
        content_type__app_label="broadcasts", codename="delete_broadcast"
    )
    apps.get_model("auth", "Group").objects.get(name="Manager").permissions.remove(*deletes)


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_admins_delete_contacts"), ("broadcasts", "0001_initial")]

    operations = [migrations.RunPython(grant, revoke)]
