"""`manage.py simulate_inbound` posts to the address the app is served at (PUBLIC_URL), which by
default follows `make run`'s HOST and PORT."""

import io
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from twilio.request_validator import RequestValidator

from messaging.management.commands import simulate_inbound

ROOT = Path(__file__).resolve().parents[2]


def public_url(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_URL", "HOST", "PORT")}
    code = "from django.conf import settings; print(settings.PUBLIC_URL)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env=environment | {"DJANGO_SETTINGS_MODULE": "crm.settings"} | env,
    )  # fmt: skip
    return result.stdout.strip()


def test_the_public_url_is_where_make_run_serves_unless_set():
    assert public_url() == "http://127.0.0.1:8000"
    assert public_url(PORT="8123") == "http://127.0.0.1:8123"
    assert public_url(HOST="localhost", PORT="8123") == "http://localhost:8123"
    assert public_url(HOST="0.0.0.0", PORT="8123") == "http://127.0.0.1:8123"  # every interface
    assert public_url(PUBLIC_URL="https://crm.example.com", PORT="8123") == (
        "https://crm.example.com"
    )


class Answer(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def sent(monkeypatch):
    requests = []

    def urlopen(request, timeout):
        requests.append(request)
        return Answer(b"<Response/>")

    monkeypatch.setattr(simulate_inbound, "urlopen", urlopen)
    return requests


def signed_for_its_url(request) -> bool:
    fields = dict(parse_qsl(request.data.decode()))
    signature = request.get_header("X-twilio-signature")
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(
        request.full_url, fields, signature
    )


def test_it_posts_to_the_public_url_signed_for_it(settings, sent):
    settings.PUBLIC_URL = "http://127.0.0.1:8123/"
    call_command(
        "simulate_inbound", "--from", "+14155550101", "--body", "STOP", stdout=io.StringIO()
    )
    call_command(
        "simulate_inbound", "--from", "+14155550101", "--digits", "9", stdout=io.StringIO()
    )
    sms, digits = sent
    assert sms.full_url == "http://127.0.0.1:8123/webhooks/twilio/sms/"
    assert digits.full_url.startswith("http://127.0.0.1:8123/webhooks/twilio/voice/gather/?")
    assert signed_for_its_url(sms) and signed_for_its_url(digits)


def test_server_overrides_the_public_url(settings, sent):
    call_command(
        "simulate_inbound", "--from", "+14155550101", "--body", "HELP",
        "--server", "http://localhost:9000", stdout=io.StringIO(),
    )  # fmt: skip
    assert sent[0].full_url == "http://localhost:9000/webhooks/twilio/sms/"


def test_without_a_server_it_says_where_it_looked_and_what_to_do(settings):
    settings.PUBLIC_URL = "http://127.0.0.1:1"  # nothing listens on port 1
    with pytest.raises(CommandError) as error:
        call_command("simulate_inbound", "--from", "+14155550101", "--body", "STOP")
    assert "No server at http://127.0.0.1:1" in str(error.value)
    assert "PUBLIC_URL" in str(error.value)
