"""The twilio backend, through the official SDK, against a local stand-in for Twilio's API."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from messaging.backends import (
    ConsoleBackend,
    LocmemBackend,
    MaybeSent,
    RecipientOptedOut,
    RetryLater,
    SendError,
    TwilioBackend,
)
from messaging.models import OutboundMessage

ANSWERS = {
    "sent": (201, {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}),
    "opted_out": (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient",
                        "status": 400}),
    "too_many": (429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
    "server_error": (500, {"code": 20500, "message": "Internal Server Error", "status": 500}),
    "bad_number": (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}),
}  # fmt: skip


class StandIn(BaseHTTPRequestHandler):
    answer = "sent"
    requests: list[tuple[str, dict]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        StandIn.requests.append((self.path, parse_qs(self.rfile.read(length).decode())))
        if StandIn.answer == "slow":
            time.sleep(1)
            return
        status, body = ANSWERS[StandIn.answer]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def twilio(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+14155559999"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_TIMEOUT = 0.5
    StandIn.answer, StandIn.requests = "sent", []
    yield TwilioBackend()
    server.shutdown()
    server.server_close()


def test_it_sends_through_the_sdk(twilio):
    assert twilio.send_sms(to="+14155550123", body="Hello") == "SM0123456789abcdef0123456789abcdef"
    path, form = StandIn.requests[0]
    assert path == "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json"
    assert form == {"To": ["+14155550123"], "Body": ["Hello"], "From": ["+14155559999"]}


def test_it_uses_the_messaging_service_when_set(twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    twilio.send_sms(to="+14155550123", body="Hello")
    assert StandIn.requests[0][1]["MessagingServiceSid"] == ["MG" + "1" * 32]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("opted_out", RecipientOptedOut),
        ("too_many", RetryLater),
        ("server_error", MaybeSent),
        ("slow", MaybeSent),
        ("bad_number", SendError),
    ],
)
def test_each_failure_says_what_it_means(twilio, answer, error):
    StandIn.answer = answer
    with pytest.raises(error) as raised:
        twilio.send_sms(to="+14155550123", body="Hello")
    assert type(raised.value) is error
    assert len(StandIn.requests) == 1  # never retried by the SDK


def test_the_console_backend_prints_and_keeps_an_outbox(db, capsys):
    sid = ConsoleBackend().send_sms(to="+14155550123", body="Hello there")
    assert "[sms to +14155550123] Hello there" in capsys.readouterr().out
    assert OutboundMessage.objects.get(sid=sid).body == "Hello there"


def test_the_locmem_backend_keeps_what_was_sent():
    LocmemBackend.outbox.clear()
    LocmemBackend().make_call(to="+14155550123", twiml="<Response/>")
    assert LocmemBackend.outbox[0]["kind"] == "call"
