"""django-axes: five wrong passwords pause one username from one address, for a while."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from crm.roles import ADMIN
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "right-password-2026"


@pytest.fixture
def users():
    return [UserFactory(username=name, role=ADMIN, password=PASSWORD) for name in ("ann", "bob")]


def log_in(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_five_wrong_passwords_pause_that_username_from_that_address_only(client, users):
    for _ in range(4):
        assert log_in(client, "ann", "guess").status_code == 200  # the form, with its error
    assert log_in(client, "ann", "guess").status_code == 429  # the fifth
    locked = log_in(client, "ann", PASSWORD)  # even the right password, now
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session

    # Another user from the same address, and the same user from elsewhere, still get in.
    assert log_in(client, "bob", PASSWORD).status_code == 302
    client.logout()
    assert log_in(client, "ann", PASSWORD, address="10.0.0.2").status_code == 302


def test_the_pause_ends_by_itself(client, users, settings):
    for _ in range(5):
        log_in(client, "ann", "guess")
    assert log_in(client, "ann", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time
                                 - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))  # fmt: skip
    assert log_in(client, "ann", PASSWORD).status_code == 302


def test_an_attacker_trying_every_username_locks_nobody_else_out(client, users):
    for name in ["ann", "bob", "carol", "dave", "erin", "frank"]:
        for _ in range(5):
            log_in(client, name, "guess", address="203.0.113.9")
    # The real users, from their own addresses, are unaffected.
    assert log_in(client, "ann", PASSWORD, address="10.0.0.1").status_code == 302
    client.logout()
    assert log_in(client, "bob", PASSWORD, address="10.0.0.3").status_code == 302
