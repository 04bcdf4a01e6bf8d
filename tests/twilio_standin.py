"""A local stand-in for Twilio's REST API, for the twilio backend driven by the official SDK.

`StandIn.answers` lists the answers to give, one per request (the last one repeats).
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

import pytest

from messaging.backends import TwilioBackend

ANSWERS = {
    "sent": (201, {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}),
    "opted_out": (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient",
                        "status": 400}),
    "too_many": (429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
    "server_error": (500, {"code": 20500, "message": "Internal Server Error", "status": 500}),
    "bad_number": (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}),
    "garbled": (400, {"code": 21211, "message": "Invalid\u0000 'To'", "status": 400}),
    "surrogate": (400, {"code": 21211, "message": "Invalid\ud800 'To'", "status": 400}),
    # Lookup v2, Reassigned Number: the FCC database's answer, or an error in its place.
    "reassigned": (200, {"reassigned_number": {"is_number_reassigned": "yes", "error_code": None}}),
    "not_reassigned": (200, {"reassigned_number": {"is_number_reassigned": "no",
                                                   "error_code": None}}),
    "no_data": (200, {"reassigned_number": {"is_number_reassigned": None, "error_code": None}}),
    "lookup_error": (200, {"reassigned_number": {"is_number_reassigned": None,
                                                 "error_code": 60617}}),
    "not_found": (404, {"code": 20404, "message": "Not Found", "status": 404}),
    # Created, said without the message's id: a proxy's page, or JSON that lacks the sid.
    "not_json": (201, "<html>upstream hiccup</html>"),
    "no_sid": (201, {"status": "queued"}),
}  # fmt: skip


class StandIn(BaseHTTPRequestHandler):
    answers = ["sent"]
    requests: list[tuple[str, dict]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        StandIn.requests.append((self.path, parse_qs(self.rfile.read(length).decode())))
        self.answer()

    def do_GET(self):
        path, _, query = self.path.partition("?")
        StandIn.requests.append((unquote(path), parse_qs(query)))
        self.answer()

    def answer(self):
        answer = StandIn.answers[min(len(StandIn.requests), len(StandIn.answers)) - 1]
        if answer == "slow":
            time.sleep(1)
            return
        status, body = ANSWERS[answer]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode() if isinstance(body, str) else json.dumps(body).encode())

    def log_message(self, *args):
        pass


def unreachable_address() -> str:
    """An address where nothing listens: a connection to it is refused."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def twilio(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+18885550199"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_TIMEOUT = 0.5
    settings.MESSAGING_BACKEND = "twilio"
    StandIn.answers, StandIn.requests = ["sent"], []
    yield TwilioBackend()
    server.shutdown()
    server.server_close()
