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


PROXY = "10.0.0.254"  # the TLS proxy: every request behind it comes from here


def log_in_through(client, username: str, password: str, forwarded_for: str, proxy=PROXY):
    return client.post(
        reverse("login"), {"username": username, "password": password},
        REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded_for,
    )  # fmt: skip


def test_without_a_proxy_a_forged_x_forwarded_for_is_ignored(client, users):
    # TRUSTED_PROXY_COUNT is 0: X-Forwarded-For is whatever the client wrote.
    for n in range(5):
        log_in_through(client, "ann", "guess", f"192.0.2.{n}", proxy="10.0.0.1")
    locked = log_in_through(client, "ann", PASSWORD, "192.0.2.99", proxy="10.0.0.1")
    assert locked.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "10.0.0.1"


def test_behind_a_proxy_a_lockout_holds_for_the_attackers_address_only(client, users, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        log_in_through(client, "ann", "guess", "203.0.113.9")
    assert log_in_through(client, "ann", PASSWORD, "203.0.113.9").status_code == 429
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"

    # Ann herself, behind the same proxy from her own address, still gets in.
    assert log_in_through(client, "ann", PASSWORD, "198.51.100.7").status_code == 302


def test_behind_a_proxy_a_client_cannot_escape_its_lockout_by_forging_addresses(
    client, users, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        log_in_through(client, "ann", "guess", "203.0.113.9")
    # The proxy appends the address it saw; whatever the client wrote stands before it.
    for forged in ["198.51.100.7, 203.0.113.9", "198.51.100.7,10.0.0.1, 203.0.113.9"]:
        assert log_in_through(client, "ann", PASSWORD, forged).status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "count, forwarded_for, proxy, client_address",
    [
        (0, "", "10.0.0.1", "10.0.0.1"),
        (1, "203.0.113.9", PROXY, "203.0.113.9"),
        (1, "1.2.3.4, 203.0.113.9", PROXY, "203.0.113.9"),
        (1, "2001:db8::9", PROXY, "2001:db8::9"),
        (2, "1.2.3.4, 203.0.113.9, 10.0.0.253", PROXY, "203.0.113.9"),  # two proxies
        (1, "", PROXY, PROXY),  # a request from the proxy itself: a health check
        (1, "unknown", PROXY, PROXY),  # no address: the proxy's, not a failure
        (1, "203.0.113.9:51234", PROXY, PROXY),  # not an address either
    ],
)
def test_failures_are_recorded_against_the_client_address_the_proxies_saw(
    client, users, settings, count, forwarded_for, proxy, client_address
):
    settings.TRUSTED_PROXY_COUNT = count
    assert log_in_through(client, "ann", "guess", forwarded_for, proxy).status_code == 200
    assert AccessAttempt.objects.get().ip_address == client_address


def test_a_username_too_long_for_any_account_is_refused_and_counted(client, users):
    # Django's form lets a username of any length through to the password check, and axes
    # keeps it in a column of 255 characters: it used to answer with a server error.
    name = "ann" + "n" * 300
    for _ in range(4):
        assert log_in(client, name, "guess").status_code == 200
    assert log_in(client, name, "guess").status_code == 429
    (attempt,) = AccessAttempt.objects.all()
    assert attempt.username == name[:255]
    assert log_in(client, "ann", PASSWORD).status_code == 302  # the real one is not held
