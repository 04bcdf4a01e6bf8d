"""The application's database role: one that neither owns the tables nor is a superuser
cannot switch the guard off, and the start-up check says so when the role could."""

import logging

import pytest
from django.db import ProgrammingError, connection, transaction

from crm import checks, database_role

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def as_role(name: str, *, member_of_owner: bool = False) -> None:
    """Become a new role, granted what the README grants the application's role."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}"
        )
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}")
        if member_of_owner:
            cursor.execute(
                "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'contacts_optout'"
            )
            cursor.execute(f"GRANT {cursor.fetchone()[0]} TO {name}")
        cursor.execute(f"SET ROLE {name}")


def test_the_application_role_cannot_disable_the_guard():
    as_role("crm_app_test")
    with connection.cursor() as cursor:
        assert database_role.privileged_because(cursor) is None
        cursor.execute("SELECT count(*) FROM contacts_optout")  # it may use the tables
        for statement in [
            "ALTER TABLE contacts_optout DISABLE TRIGGER ALL",
            "DROP TRIGGER contacts_optout_guard ON contacts_optout",
            "TRUNCATE contacts_optout",
        ]:
            refused = pytest.raises(ProgrammingError, match="must be owner|permission denied")
            with refused, transaction.atomic():
                cursor.execute(statement)


def test_a_superuser_or_the_owner_is_reported():
    with connection.cursor() as cursor:
        assert database_role.privileged_because(cursor) == "is a superuser"
    as_role("crm_owner_member_test", member_of_owner=True)
    with connection.cursor() as cursor:
        assert database_role.privileged_because(cursor) == "owns the contacts tables"


def test_the_start_up_check_warns_in_production_once(settings, caplog, monkeypatch):
    monkeypatch.setattr(database_role, "_warned", False)
    settings.DEBUG = False
    with caplog.at_level(logging.WARNING, logger="crm.database_role"):
        database_role.warn_if_privileged(sender=None, connection=connection)
        database_role.warn_if_privileged(sender=None, connection=connection)
    warnings = [r.getMessage() for r in caplog.records if r.name == "crm.database_role"]
    assert len(warnings) == 1
    assert "is a superuser" in warnings[0] and "Database roles" in warnings[0]


def test_no_warning_while_developing(settings, caplog, monkeypatch):
    monkeypatch.setattr(database_role, "_warned", False)
    settings.DEBUG = True
    with caplog.at_level(logging.WARNING, logger="crm.database_role"):
        database_role.warn_if_privileged(sender=None, connection=connection)
    assert not [r for r in caplog.records if r.name == "crm.database_role"]


def test_check_deploy_with_the_database_warns_of_a_privileged_role(settings):
    """An operator's `check --deploy` said nothing of a superuser or the owner as the
    application's role (a cold operator's deploy): with `--database default` it warns."""
    settings.DEBUG = False
    found = checks.check_application_role(None, databases=["default"])
    assert [warning.id for warning in found] == ["crm.W002"]
    assert "is a superuser" in found[0].msg
    assert checks.check_application_role(None, databases=None) == []
    as_role("crm_app_check_test")
    assert checks.check_application_role(None, databases=["default"]) == []
