"""Password reset by e-mail: offered only when e-mail is configured, and limited per hour for
each e-mail address and each client address, without saying which addresses have an account."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from crm import accounts
from crm.roles import STAFF
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESET = reverse("password_reset")
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def ann():
    return UserFactory(username="ann", email="ann@example.com", role=STAFF)


@pytest.fixture
def email(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.PASSWORD_RESET_LIMIT = 3


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, moved by the test."""
    now = [START]
    monkeypatch.setattr(accounts, "now", lambda: now[0])

    def at(minutes: float) -> None:
        now[0] = START + timedelta(minutes=minutes)

    return at


def ask(client, address: str, client_address: str = "10.0.0.1"):
    return client.post(RESET, {"email": address}, REMOTE_ADDR=client_address)


def test_without_email_the_reset_pages_are_not_found_and_the_login_page_has_no_link(client, ann):
    token_url = reverse("password_reset_confirm", args=["MQ", "set-password"])
    for url in [RESET, reverse("password_reset_done"), token_url,
                reverse("password_reset_complete")]:  # fmt: skip
        assert client.get(url).status_code == 404, url
    assert ask(client, "ann@example.com").status_code == 404
    assert mail.outbox == []
    login = client.get(reverse("login")).content.decode()
    assert RESET not in login and "Forgotten your password" not in login


def test_with_email_a_reset_mails_the_user_a_link_that_sets_a_new_password(client, ann, email):
    login = client.get(reverse("login")).content.decode()
    assert f'href="{RESET}"' in login and "Forgotten your password" in login
    assert client.get(RESET).status_code == 200

    response = ask(client, "ANN@example.com")
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert "Check your e-mail" in client.get(response.url).content.decode()
    [message] = mail.outbox
    assert message.to == ["ann@example.com"]
    link = re.search(r"https?://testserver(/accounts/reset/\S+/)", message.body).group(1)

    form = client.get(link, follow=True)
    assert form.status_code == 200 and "New password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-new-long-password-2026", "new_password2": "a-new-long-password-2026"},
        follow=True,
    )  # fmt: skip
    assert "Your password has been set" in done.content.decode()
    logged_in = client.post(
        reverse("login"), {"username": "ann", "password": "a-new-long-password-2026"}
    )
    assert logged_in.status_code == 302 and client.session["_auth_user_id"] == str(ann.pk)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, ann, email):
    known, unknown = ask(client, "ann@example.com"), ask(client, "nobody@example.com")
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert [message.to for message in mail.outbox] == [["ann@example.com"]]


def test_the_fourth_request_for_one_address_within_the_hour_is_refused(client, ann, email, clock):
    for minute in (0, 10, 20):
        clock(minute)
        assert ask(client, "ann@example.com", f"10.0.0.{minute + 1}").status_code == 302
    assert len(mail.outbox) == 3

    clock(59)  # from another client address too
    refused = ask(client, "ann@example.com", "10.0.9.9")
    assert refused.status_code == 429
    assert "Too many password reset requests" in refused.content.decode()
    assert len(mail.outbox) == 3  # no mail

    clock(60)  # the first request is an hour old: one more may go
    assert ask(client, "ann@example.com", "10.0.9.9").status_code == 302
    assert len(mail.outbox) == 4
    assert ask(client, "ann@example.com", "10.0.9.9").status_code == 429


def test_one_client_address_may_ask_for_a_few_addresses_an_hour(client, ann, email, clock):
    for n in range(3):
        clock(n)
        assert ask(client, f"guess{n}@example.com", "203.0.113.9").status_code == 302
    clock(30)
    assert ask(client, "ann@example.com", "203.0.113.9").status_code == 429
    assert mail.outbox == []
    # Ann, from her own address, still may.
    assert ask(client, "ann@example.com", "10.0.0.1").status_code == 302
    assert len(mail.outbox) == 1


def test_a_throttled_request_says_nothing_of_whether_the_address_has_an_account(
    client, ann, email, clock
):
    for _ in range(3):
        ask(client, "ann@example.com", "10.0.0.1")
        ask(client, "nobody@example.com", "10.0.0.2")
    known = ask(client, "ann@example.com", "10.0.0.3")
    unknown = ask(client, "nobody@example.com", "10.0.0.4")
    assert known.status_code == unknown.status_code == 429
    assert known.content.replace(b"ann@", b"") == unknown.content.replace(b"nobody@", b"")


def test_behind_a_proxy_each_client_address_is_counted_apart(client, ann, email, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(3):
        client.post(RESET, {"email": f"guess{n}@example.com"},
                    REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="203.0.113.9")  # fmt: skip
    forged = client.post(RESET, {"email": "x@example.com"}, REMOTE_ADDR="10.0.0.254",
                         HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9")  # fmt: skip
    assert forged.status_code == 429
    other = client.post(RESET, {"email": "ann@example.com"}, REMOTE_ADDR="10.0.0.254",
                        HTTP_X_FORWARDED_FOR="198.51.100.7")  # fmt: skip
    assert other.status_code == 302 and len(mail.outbox) == 1


def test_a_malformed_address_is_the_form_again_and_counts_for_nothing(client, ann, email):
    for _ in range(5):
        response = ask(client, "not an address")
        assert response.status_code == 200
        assert "Enter a valid email address" in response.content.decode()
    assert ask(client, "ann@example.com").status_code == 302


def test_a_mail_server_that_cannot_be_reached_gets_the_same_answer_not_an_error(
    client, ann, settings, caplog
):
    smtp = "django.core.mail.backends.smtp.EmailBackend"
    closed_port = {"host": "127.0.0.1", "port": 1, "timeout": 5}  # refused at once
    settings.MAILERS = {"default": {"BACKEND": smtp, "OPTIONS": closed_port}}
    response = ask(client, "ann@example.com")
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert "Failed to send password reset email" in caplog.text  # for the operator
