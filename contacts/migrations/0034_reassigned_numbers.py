"""Reports of reassigned numbers: a number whose holder replied "wrong number", or that the
reassigned numbers database says was disconnected since its consent. The database stamps each
and keeps it as written; Admins may run the check (add_reassignednumber).

This keeps its own copy of the triggers' SQL; contacts/guard/ holds what runs now.
"""

import sqlite3

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

POSTGRES = """
CREATE OR REPLACE FUNCTION {s}contacts_guard_reassignednumber() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.reported_at := now();
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'A report of a reassigned number is kept as written.' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_reassignednumber_guard
    BEFORE INSERT OR UPDATE OR DELETE ON {s}contacts_reassignednumber
    FOR EACH ROW EXECUTE FUNCTION {s}contacts_guard_reassignednumber();

CREATE TRIGGER contacts_reassignednumber_no_truncate
    BEFORE TRUNCATE ON {s}contacts_reassignednumber
    FOR EACH STATEMENT EXECUTE FUNCTION {s}contacts_guard_reassignednumber();
"""  # noqa: E501

SQLITE = """
CREATE TRIGGER contacts_reassignednumber_no_update BEFORE UPDATE ON contacts_reassignednumber
    FOR EACH ROW
BEGIN
    SELECT RAISE(ABORT, 'A report of a reassigned number is kept as written.');
END;

CREATE TRIGGER contacts_reassignednumber_no_delete BEFORE DELETE ON contacts_reassignednumber
    FOR EACH ROW
BEGIN
    SELECT RAISE(ABORT, 'A report of a reassigned number is kept as written.');
END;

CREATE TRIGGER contacts_reassignednumber_no_replace BEFORE INSERT ON contacts_reassignednumber
    FOR EACH ROW WHEN EXISTS (SELECT 1 FROM contacts_reassignednumber WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'A report of a reassigned number is kept as written.');
END;
"""

# Frozen here, as in crm/migrations/0001_roles.py.
ADMIN = "Admin"
CODENAMES = ["add_reassignednumber"]


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        sql = POSTGRES.replace("{schema}", schema).replace("{s}", schema + ".")
        schema_editor.execute(sql, params=None)
    else:
        statement = ""
        for line in SQLITE.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                schema_editor.execute(statement, params=None)
                statement = ""


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION contacts_guard_reassignednumber() CASCADE", params=None
        )
    else:
        for trigger in ["no_update", "no_delete", "no_replace"]:
            schema_editor.execute(f"DROP TRIGGER contacts_reassignednumber_{trigger}", params=None)


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations have run; the role needs them now.
    app_config = apps.get_app_config("contacts")
    app_config.models_module = True  # the migration state's stand-in app lacks it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    check = Permission.objects.filter(content_type__app_label="contacts", codename__in=CODENAMES)
    for role in apps.get_model("auth", "Group").objects.filter(name=ADMIN):
        role.permissions.add(*check)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    check = Permission.objects.filter(content_type__app_label="contacts", codename__in=CODENAMES)
    for role in apps.get_model("auth", "Group").objects.filter(name=ADMIN):
        role.permissions.remove(*check)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0033_consent_records_kept"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReassignedNumber",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("phone", models.CharField(max_length=16)),
                (
                    "reported_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
                (
                    "how",
                    models.CharField(
                        choices=[
                            ("reply", "The number's reply"),
                            ("check", "Reassigned numbers check"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "words",
                    models.TextField(
                        blank=True,
                        help_text="The reply, or what the reassigned numbers database answered.",
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        blank=True,
                        help_text="The key of the stored webhook event of the reply.",
                        max_length=200,
                    ),
                ),
                (
                    "by_user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="Who ran the check.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-reported_at", "-id"],
                "indexes": [
                    models.Index(fields=["phone", "reported_at"], name="reassigned_number")
                ],
            },
        ),
        migrations.RunPython(guard, unguard),
        migrations.RunPython(grant, revoke),
    ]
