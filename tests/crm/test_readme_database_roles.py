"""The README's "Database roles" setup, run as written on a fresh PostgreSQL database: the
owner migrates, and the application's role can use the tables but neither switch the guard
off nor get around it."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def readme_sql() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("### Database roles")[1].split("```sql")[1].split("```")[0]


def connect(database: str, user: str) -> psycopg.Connection:
    server = settings.DATABASES["default"]
    return psycopg.connect(
        host=server["HOST"], port=server["PORT"], dbname=database, user=user,
        password=server["PASSWORD"] or None, autocommit=True,
    )  # fmt: skip


@pytest.fixture
def names():
    """Names of this run's own for the README's crm, crm_owner and crm_app."""
    suffix = uuid.uuid4().hex[:8]
    names = {"crm": f"crm_{suffix}", "crm_owner": f"crm_owner_{suffix}",
             "crm_app": f"crm_app_{suffix}"}  # fmt: skip
    yield names
    with connect("postgres", settings.DATABASES["default"]["USER"]) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {names['crm']} WITH (FORCE)")
        for role in ("crm_app", "crm_owner"):
            admin.execute(f"DROP ROLE IF EXISTS {names[role]}")


def run_as_written(names: dict[str, str]) -> None:
    """The README's statements, as psql would run them, with this run's names."""
    sql = re.sub(r"\b(crm_owner|crm_app|crm)\b", lambda m: names[m.group(1)], readme_sql())
    sql = sql.replace("'…'", "'a-password'")
    superuser = settings.DATABASES["default"]["USER"]
    database, statement = "postgres", []
    for line in sql.splitlines():
        if line.startswith("\\c "):
            database = line.split()[1]
            continue
        if line.startswith("--") or not line.strip():
            continue
        statement.append(line)
        if line.rstrip().endswith(";"):
            with connect(database, superuser) as conn:
                conn.execute("\n".join(statement))
            statement = []
    assert not statement and database == names["crm"]


def test_the_readme_database_roles_work_as_written(names):
    run_as_written(names)
    server = settings.DATABASES["default"]
    url = f"postgres://{{}}@{server['HOST']}:{server['PORT']}/{names['crm']}"
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT,
        env=os.environ | {"DATABASE_URL": url.format(names["crm_owner"])},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    with connect(names["crm"], names["crm_app"]) as app:
        # It may use the tables: a contact, and its STOP.
        contact = app.execute(
            "INSERT INTO contacts_contact (name, phone, email, status, created_at, updated_at)"
            " VALUES ('Ann', '+14155550100', '', 'active', now(), now()) RETURNING id"
        ).fetchone()[0]
        app.execute(
            "INSERT INTO contacts_phoneoptout (phone, channel, opted_out_at, source, words)"
            " VALUES ('+14155550100', 'sms', now(), 'keyword', 'STOP')"
        )
        app.execute(
            "INSERT INTO contacts_consentrecord (phone, channel, method, given_at, words,"
            " reference, status, confirmation, void_reason)"
            " VALUES ('+14155550100', 'sms', 'paper', now(), '', '', 'confirmed', '', '')"
        )
        # Whether the contact has consent on record is the database's word, not the app's.
        app.execute(
            f"UPDATE contacts_contact SET calls_consent_on_record = TRUE WHERE id = {contact}"
        )
        flags = app.execute(
            "SELECT sms_consent_on_record, calls_consent_on_record FROM contacts_contact"
            f" WHERE id = {contact}"
        ).fetchone()
        assert flags == (True, False)
        # And nothing gets past the guard.
        for statement, refusal in [
            ("CREATE TEMP TABLE contacts_consentevent (id bigint)", "temporary tables"),
            ("ALTER TABLE contacts_optout DISABLE TRIGGER ALL", "must be owner"),
            ("DROP TRIGGER contacts_optout_guard ON contacts_optout", "must be owner"),
            ("TRUNCATE contacts_optout", "permission denied"),
            (f"DELETE FROM contacts_optout WHERE contact_id = {contact}", "cannot be reversed"),
            ("DELETE FROM contacts_phoneoptout", "cannot be reversed"),
            ("ALTER FUNCTION contacts_guard_optout() RESET search_path", "must be owner"),
            ("DELETE FROM contacts_consentrecord", "kept for at least four years"),
            ("TRUNCATE contacts_consentrecord", "permission denied"),
            ("DELETE FROM contacts_consentevent", "append-only"),
            # Marking a migration as run would have the owner's next migrate skip it.
            (
                "INSERT INTO django_migrations (app, name, applied)"
                " VALUES ('contacts', '9999_next_guard', now())",
                "permission denied",
            ),
            ("DELETE FROM django_migrations", "permission denied"),
        ]:
            with pytest.raises(psycopg.Error, match=refusal):
                app.execute(statement)
        kind = app.execute(
            "SELECT kind FROM contacts_optout WHERE contact_id = %s AND channel = 'sms'",
            [contact],
        ).fetchone()
        assert kind == ("hard",)
        assert app.execute("SELECT COUNT(*) FROM contacts_consentrecord").fetchone() == (1,)


def test_the_application_role_cannot_record_the_migrations_as_run(names):
    """A cold review: with the old default privileges, the application's role, migrating by
    mistake, ran crm 0007's REVOKEs as warnings and recorded it as run, with the very right
    it takes away. It fails instead, and the owner's migrate then takes the right away."""
    run_as_written(names)
    server = settings.DATABASES["default"]
    url = f"postgres://{{}}:a-password@{server['HOST']}:{server['PORT']}/{names['crm']}"

    def migrate(role: str, *target: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", *target], cwd=ROOT,
            env=os.environ | {"DATABASE_URL": url.format(names[role])},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    assert migrate("crm_owner", "crm", "0006").returncode == 0
    by_mistake = migrate("crm_app", "crm")
    assert by_mistake.returncode != 0
    assert "Run migrations as the tables' owner" in by_mistake.stderr
    assert migrate("crm_owner").returncode == 0
    app = connect(names["crm"], names["crm_app"])
    with app, pytest.raises(psycopg.Error, match="permission denied"):
        app.execute("INSERT INTO django_migrations (app, name, applied)"
                    " VALUES ('contacts', '9999_next_guard', now())")  # fmt: skip
