"""Addresses Twilio cannot reach, which a cold review of crm.E003 found passing
check --deploy, so each call's unsubscribe key (and each status callback) is posted where
it never arrives: a pressed key stops no call."""

import pytest

from crm.checks import check_public_url


@pytest.mark.parametrize(
    "url",
    [
        "http://0.0.0.0:8000",  # the address runserver/gunicorn is bound to
        "https://192.168.1.20",  # private network
        "https://10.0.0.5",
        "https://127.1",  # loopback, written short
        "https://localhost.",  # localhost, fully qualified
        "https://crm.localhost",  # *.localhost is this machine (RFC 6761)
    ],
)
def test_a_public_url_twilio_cannot_reach_is_refused(settings, url):
    settings.DEBUG = False
    settings.PUBLIC_URL = url
    assert [error.id for error in check_public_url(None)] == ["crm.E003"]
