"""Every role may record a contact's request to stop told to them (by a call, in person or in
writing): a revocation is honoured as soon as someone hears it, as everyone who reads replies
may confirm a possible opt-out (contacts.record_request_to_stop)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ("Staff", "Admin", "Manager")


def _permission(apps):
    return apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="contacts", codename="record_request_to_stop"
    )


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations have run; the roles need it now.
    app_config = apps.get_app_config("contacts")
    app_config.models_module = True  # the migration state's stand-in app lacks it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    [record] = _permission(apps)
    for role in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        role.permissions.add(record)


def revoke(apps, schema_editor):
    for role in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        role.permissions.remove(*_permission(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_managers_delete_drafts"),
        ("contacts", "0043_request_to_stop"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
