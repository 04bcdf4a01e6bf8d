"""Admins may delete contacts (contacts.delete_contact) from the contact's page. The numbers'
opt-outs and the consent ledger stay: deleting a contact never touches them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations have run; the role needs it now.
    app_config = apps.get_app_config("contacts")
    app_config.models_module = True  # the migration state's stand-in app lacks it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    delete = Permission.objects.get(content_type__app_label="contacts", codename="delete_contact")
    apps.get_model("auth", "Group").objects.get(name="Admin").permissions.add(delete)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    deletes = Permission.objects.filter(
        content_type__app_label="contacts", codename="delete_contact"
    )
    apps.get_model("auth", "Group").objects.get(name="Admin").permissions.remove(*deletes)


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_password_reset_requests"), ("contacts", "0001_initial")]

    operations = [migrations.RunPython(grant, revoke)]
