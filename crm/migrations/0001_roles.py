"""Create the three roles as groups, each with its Django permissions (see crm/roles.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen here: a later change of roles is a new migration, not an edit of this one.
VIEW = [
    "contacts.view_contact",
    "contacts.view_tag",
    "contacts.view_optout",
    "contacts.view_phoneoptout",
    "contacts.view_consentevent",
    "broadcasts.view_broadcast",
]
ROLES = {
    "Staff": VIEW,
    "Admin": VIEW
    + [
        "contacts.add_contact",
        "contacts.change_contact",
        "contacts.change_subscription",
        "contacts.import_contacts",
        "contacts.add_tag",
    ],
    "Manager": VIEW
    + [
        "broadcasts.add_broadcast",
        "broadcasts.change_broadcast",
        "broadcasts.launch_broadcast",
        "broadcasts.cancel_broadcast",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations have run; the groups need them now.
    for label in ("contacts", "broadcasts"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True  # the migration state's stand-in app lacks it
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("contacts", "0001_initial"),
        ("broadcasts", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
