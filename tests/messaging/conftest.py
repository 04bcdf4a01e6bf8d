import itertools
from urllib.parse import urlencode

import pytest
from django.conf import settings
from twilio.request_validator import RequestValidator

from messaging.backends import LocmemBackend

FORM = "application/x-www-form-urlencoded"
_sids = itertools.count(1)


def sign(url: str, data: dict) -> str:
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, data)


@pytest.fixture
def outbox(settings):
    """What the locmem backend sends, for the test."""
    settings.MESSAGING_BACKEND = "locmem"
    LocmemBackend.outbox.clear()
    yield LocmemBackend.outbox
    LocmemBackend.outbox.clear()


@pytest.fixture
def post_signed(client, db):
    """POST a form to a webhook as Twilio would, signed for the URL the app sees."""

    def post(path: str, data: dict, *, scheme: str = "http", **extra):
        url = f"{scheme}://testserver{path}"
        headers = {"X-Twilio-Signature": sign(url, data)} | extra.pop("headers", {})
        return client.post(path, urlencode(data), content_type=FORM, headers=headers, **extra)

    return post


@pytest.fixture
def sms(post_signed):
    """Send an inbound SMS; a new MessageSid each time unless one is given."""

    def send(body: str, *, phone: str = "+14155550123", sid: str | None = None, **fields):
        """`fields`: more of the webhook's fields, as an MMS has them (NumMedia, MediaUrl0)."""
        data = {"MessageSid": sid or f"SM{next(_sids):032d}", "From": phone, "To": "+14155559999",
                "Body": body} | fields  # fmt: skip
        return post_signed("/webhooks/twilio/sms/", data)

    return send


def pytest_terminal_summary(terminalreporter):
    """How replies are read on the labelled set, when its tests ran."""
    from tests.messaging.test_revocation_replies import figures, summary

    if figures.cache_info().currsize:
        terminalreporter.write_sep("-", "revocation replies")
        terminalreporter.write_line(summary())
