"""Consent on record: how each number agreed to each channel (ConsentRecord), with the words
it saw (Disclosure, versioned). The database keeps both as given: a consent record's evidence
never changes (only an awaited consent's confirmation and its voiding are written, once), and
a disclosure never changes (an edit adds a version). Admins record consent and add versions.

This keeps its own copy of the triggers' SQL; contacts/guard/ holds what runs now.
"""

import sqlite3

import django.db.models.deletion
import django.db.models.functions.datetime
import django.utils.timezone
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

POSTGRES = """
-- Consent records (contacts_consentrecord): what was given stays as it was given. Each is
-- recorded at the database's time; after that only an awaited consent's confirmation and a
-- record's voiding may be written, once each.
CREATE OR REPLACE FUNCTION {s}contacts_guard_consentrecord() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.recorded_at := now();
        RETURN NEW;
    END IF;
    IF NEW.id IS NOT DISTINCT FROM OLD.id AND NEW.phone IS NOT DISTINCT FROM OLD.phone
            AND NEW.channel IS NOT DISTINCT FROM OLD.channel
            AND NEW.method IS NOT DISTINCT FROM OLD.method
            AND NEW.given_at IS NOT DISTINCT FROM OLD.given_at
            AND NEW.recorded_at IS NOT DISTINCT FROM OLD.recorded_at
            AND NEW.contact_id IS NOT DISTINCT FROM OLD.contact_id
            AND NEW.recorded_by_id IS NOT DISTINCT FROM OLD.recorded_by_id
            AND NEW.disclosure_id IS NOT DISTINCT FROM OLD.disclosure_id
            AND NEW.words IS NOT DISTINCT FROM OLD.words
            AND NEW.reference IS NOT DISTINCT FROM OLD.reference
            AND ((OLD.status = 'awaiting' AND NEW.status = 'confirmed'
                    AND OLD.confirmed_at IS NULL AND NEW.confirmed_at IS NOT NULL
                    AND NEW.confirmation <> ''
                    AND NEW.voided_at IS NOT DISTINCT FROM OLD.voided_at
                    AND NEW.void_reason IS NOT DISTINCT FROM OLD.void_reason)
                OR (OLD.status IN ('awaiting', 'confirmed') AND NEW.status = 'void'
                    AND NEW.voided_at IS NOT NULL AND NEW.void_reason <> ''
                    AND NEW.confirmed_at IS NOT DISTINCT FROM OLD.confirmed_at
                    AND NEW.confirmation IS NOT DISTINCT FROM OLD.confirmation)) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION {record_refusal} USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_consentrecord_guard BEFORE INSERT OR UPDATE ON {s}contacts_consentrecord
    FOR EACH ROW EXECUTE FUNCTION {s}contacts_guard_consentrecord();

-- Disclosures (contacts_disclosure): the words a contact agreed to never change; an edit is
-- a new version.
CREATE OR REPLACE FUNCTION {s}contacts_guard_disclosure() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.title IS DISTINCT FROM OLD.title
            OR NEW.version IS DISTINCT FROM OLD.version OR NEW.text IS DISTINCT FROM OLD.text THEN
        RAISE EXCEPTION {disclosure_refusal} USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER contacts_disclosure_guard BEFORE UPDATE ON {s}contacts_disclosure
    FOR EACH ROW EXECUTE FUNCTION {s}contacts_guard_disclosure();
"""

SQLITE = """
-- Consent records (contacts_consentrecord): what was given stays as it was given; only an
-- awaited consent's confirmation and a record's voiding may be written, once each. A record
-- cannot be replaced.
-- SQLite has no trigger functions: each trigger holds its SQL.

CREATE TRIGGER contacts_consentrecord_guard_update BEFORE UPDATE ON contacts_consentrecord
    FOR EACH ROW WHEN NOT (NEW.id IS OLD.id AND NEW.phone IS OLD.phone
        AND NEW.channel IS OLD.channel AND NEW.method IS OLD.method
        AND NEW.given_at IS OLD.given_at AND NEW.recorded_at IS OLD.recorded_at
        AND NEW.contact_id IS OLD.contact_id AND NEW.recorded_by_id IS OLD.recorded_by_id
        AND NEW.disclosure_id IS OLD.disclosure_id AND NEW.words IS OLD.words
        AND NEW.reference IS OLD.reference
        AND ((OLD.status = 'awaiting' AND NEW.status = 'confirmed'
                AND OLD.confirmed_at IS NULL AND NEW.confirmed_at IS NOT NULL
                AND NEW.confirmation <> '' AND NEW.voided_at IS OLD.voided_at
                AND NEW.void_reason IS OLD.void_reason)
            OR (OLD.status IN ('awaiting', 'confirmed') AND NEW.status = 'void'
                AND NEW.voided_at IS NOT NULL AND NEW.void_reason <> ''
                AND NEW.confirmed_at IS OLD.confirmed_at
                AND NEW.confirmation IS OLD.confirmation)))
BEGIN
    SELECT RAISE(ABORT, {record_refusal});
END;

CREATE TRIGGER contacts_consentrecord_no_replace BEFORE INSERT ON contacts_consentrecord
    FOR EACH ROW WHEN EXISTS (SELECT 1 FROM contacts_consentrecord WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, {record_replaced});
END;

-- Disclosures (contacts_disclosure): the words a contact agreed to never change, and cannot
-- be replaced; an edit is a new version.
-- SQLite has no trigger functions: each trigger holds its SQL.

CREATE TRIGGER contacts_disclosure_guard_update BEFORE UPDATE ON contacts_disclosure
    FOR EACH ROW WHEN NEW.id IS NOT OLD.id OR NEW.title IS NOT OLD.title
        OR NEW.version IS NOT OLD.version OR NEW.text IS NOT OLD.text
BEGIN
    SELECT RAISE(ABORT, {disclosure_refusal});
END;

CREATE TRIGGER contacts_disclosure_no_replace BEFORE INSERT ON contacts_disclosure
    FOR EACH ROW WHEN EXISTS (SELECT 1 FROM contacts_disclosure
        WHERE id = NEW.id OR (title = NEW.title AND version = NEW.version))
BEGIN
    SELECT RAISE(ABORT, {disclosure_refusal});
END;
"""

# The refusals, as SQL string literals.
REFUSALS = {
    "{record_refusal}": "'A consent record keeps what was given: only an awaited consent''s "
    "confirmation, or making it void, may be written, once.'",
    "{record_replaced}": "'A consent record keeps what was given: it cannot be replaced.'",
    "{disclosure_refusal}": "'A disclosure never changes: add its next version.'",
}


def with_refusals(sql: str) -> str:
    for name, literal in REFUSALS.items():
        sql = sql.replace(name, literal)
    return sql


# Frozen here, as in crm/migrations/0001_roles.py.
ADMIN = "Admin"
CODENAMES = ["add_consentrecord", "add_disclosure"]


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        sql = POSTGRES.replace("{schema}", schema).replace("{s}", schema + ".")
        schema_editor.execute(with_refusals(sql), params=None)
    else:
        statement = ""
        for line in with_refusals(SQLITE).splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                schema_editor.execute(statement, params=None)
                statement = ""


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION contacts_guard_consentrecord() CASCADE;"
            " DROP FUNCTION contacts_guard_disclosure() CASCADE",
            params=None,
        )
    else:
        for trigger in [
            "contacts_consentrecord_guard_update", "contacts_consentrecord_no_replace",
            "contacts_disclosure_guard_update", "contacts_disclosure_no_replace",
        ]:  # fmt: skip
            schema_editor.execute(f"DROP TRIGGER {trigger}", params=None)


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations have run; the role needs them now.
    app_config = apps.get_app_config("contacts")
    app_config.models_module = True  # the migration state's stand-in app lacks it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    keep = Permission.objects.filter(content_type__app_label="contacts", codename__in=CODENAMES)
    for role in apps.get_model("auth", "Group").objects.filter(name=ADMIN):
        role.permissions.add(*keep)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    keep = Permission.objects.filter(content_type__app_label="contacts", codename__in=CODENAMES)
    for role in apps.get_model("auth", "Group").objects.filter(name=ADMIN):
        role.permissions.remove(*keep)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0026_revocation_matched"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Disclosure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "title",
                    models.CharField(
                        help_text="Where it is shown, e.g. “Website sign-up form”.", max_length=100
                    ),
                ),
                ("version", models.PositiveIntegerField(default=1)),
                (
                    "text",
                    models.TextField(
                        help_text="The words, exactly as the contact sees or hears them."
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["title", "-version"],
            },
        ),
        migrations.CreateModel(
            name="ConsentRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("phone", models.CharField(max_length=16)),
                (
                    "channel",
                    models.CharField(
                        choices=[("sms", "SMS"), ("calls", "Calls & Voicemails")], max_length=10
                    ),
                ),
                (
                    "method",
                    models.CharField(
                        choices=[
                            ("keyword", "Keyword reply"),
                            ("web_form", "Web form"),
                            ("paper", "Paper or in person"),
                            ("verbal", "Verbal"),
                            ("import", "Import from another system"),
                        ],
                        max_length=10,
                    ),
                ),
                ("given_at", models.DateTimeField(help_text="When the contact agreed.")),
                (
                    "recorded_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
                (
                    "words",
                    models.TextField(
                        blank=True,
                        help_text="The contact's message, or a note of how consent was given.",
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        blank=True,
                        help_text="The key of the stored webhook event it came in.",
                        max_length=200,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("confirmed", "Given"),
                            ("awaiting", "Awaiting confirmation"),
                            ("void", "Void"),
                        ],
                        default="confirmed",
                        max_length=10,
                    ),
                ),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "confirmation",
                    models.CharField(
                        blank=True,
                        help_text="The key of the stored event that confirmed it.",
                        max_length=200,
                    ),
                ),
                ("voided_at", models.DateTimeField(blank=True, null=True)),
                ("void_reason", models.CharField(blank=True, max_length=200)),
                (
                    "contact",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="Who had the number when it was recorded.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="consent_records",
                        to="contacts.contact",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="The user who recorded it; empty for the contact's own message.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "disclosure",
                    models.ForeignKey(
                        blank=True,
                        help_text="The words the contact saw or heard.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="consents",
                        to="contacts.disclosure",
                    ),
                ),
            ],
            options={
                "ordering": ["-given_at", "-id"],
            },
        ),
        migrations.AddConstraint(
            model_name="disclosure",
            constraint=models.UniqueConstraint(
                fields=("title", "version"), name="one_disclosure_version"
            ),
        ),
        migrations.AddIndex(
            model_name="consentrecord",
            index=models.Index(
                condition=models.Q(("status", "confirmed")),
                fields=["phone", "channel", "given_at"],
                name="consent_on_record",
            ),
        ),
        migrations.RunPython(guard, unguard),
        migrations.RunPython(grant, revoke),
    ]
