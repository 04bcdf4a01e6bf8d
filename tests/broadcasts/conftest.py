"""Broadcast tests send at once, in the test's process. Those with real `worker` processes
use a PostgreSQL database of their own (they need committed data, which the test database's
transaction would hide) and a stand-in provider."""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from messaging.backends import LocmemBackend
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _send_at_once(settings):
    """Tasks run in the test's process; messages go to the locmem outbox; no rate waits."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.MESSAGING_BACKEND = "locmem"
    settings.BROADCAST_RATE = settings.CALL_RATE = 10_000
    LocmemBackend.outbox.clear()
    yield
    LocmemBackend.outbox.clear()


@pytest.fixture(autouse=True)
def _consent_not_needed(request, settings):
    """These tests are about the other rules, with contacts made without consent on record:
    marketing does not need it here, but in tests marked `needs_consent`
    (tests/broadcasts/test_consent_rule.py), which hold the default."""
    if not request.node.get_closest_marker("needs_consent"):
        settings.MARKETING_NEEDS_CONSENT = False


@pytest.fixture
def manager(db):
    return UserFactory(username="boss", role="Manager")


@pytest.fixture
def committed(db):
    """A connection of the test's own, out of the test's transaction: what the test writes
    is committed, and seen by the connections of its threads. What it wrote is deleted
    afterwards. (A transactional test's flush cannot empty the ledgers: they refuse
    TRUNCATE.) PostgreSQL only: on SQLite the test's transaction holds the write lock."""
    from django.contrib.auth.models import User
    from django.contrib.sessions.models import Session
    from django_tasks_db.models import DBTaskResult

    from broadcasts.models import Broadcast, Recipient, SendRate, SentTest
    from contacts.models import Contact

    in_transaction = connections[DEFAULT_DB_ALIAS]
    connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        yield
    finally:
        for model in (
            Recipient,
            SentTest,
            Broadcast,
            SendRate,
            DBTaskResult,
            Session,
            Contact,
            User,
        ):
            model.objects.all().delete()
        connections[DEFAULT_DB_ALIAS].close()
        connections[DEFAULT_DB_ALIAS] = in_transaction


LAUNCH = """
from contacts.models import Contact
from broadcasts.models import Broadcast
from broadcasts import services
from django.contrib.auth.models import User
b = Broadcast.objects.create(name="Load", channel="sms", body="Hello")
services.launch(broadcast=b, by_user=User.objects.get(username="manager"))
print(b.recipients.count())
"""


@pytest.fixture
def worker_database():
    """A fresh, migrated database with 3,000 demo contacts; dropped afterwards."""
    params = connection.get_connection_params()
    admin = {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}
    name = f"crm_workers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    host, port = admin.get("host") or "127.0.0.1", admin.get("port") or 5432
    url = f"postgres://{admin.get('user', '')}:{admin.get('password') or ''}@{host}:{port}/{name}"
    env = os.environ | {"DATABASE_URL": url, "MESSAGING_BACKEND": "console",
                        "BROADCAST_RATE": "100000", "CALL_RATE": "100000", "BROADCAST_WORKERS": "3",
                        "QUIET_HOURS": "off"}  # fmt: skip
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*manage, "seed_demo", "--contacts", "3000", "-v0"], env=env, cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield env, {**admin, "dbname": name}
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def start_workers(env, count: int, *extra: str) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.1",
                *extra,
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(count)
    ]


def query(dsn: dict, sql: str) -> list[tuple]:
    with psycopg.connect(**dsn) as conn:
        return conn.execute(sql).fetchall()


def execute(dsn: dict, sql: str) -> None:
    with psycopg.connect(**dsn) as conn:
        conn.execute(sql)


def launch(env) -> int:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", LAUNCH], env=env, cwd=ROOT, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    return int(result.stdout.strip().splitlines()[-1])


class Provider(BaseHTTPRequestHandler):
    """Twilio's message API as workers in other processes reach it: it accepts every message
    and notes the number and the moment it arrived.

    While `gate` is closed (`hold_hand_overs`) it keeps each message unanswered, its number
    in `held`: the worker that sent it is in the middle of a hand-over, for as long as the
    test needs, whatever the machine's speed. The next `refusing` messages it refuses at
    once, as Twilio does one to a number that opted out at the carrier (error 21610).
    """

    received: list[tuple[str, float]] = []
    held: list[str] = []
    gate = threading.Event()
    refusing = 0

    def do_POST(self):
        fields = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        phone = fields["To"][0]
        Provider.received.append((phone, time.time()))
        if Provider.refusing:
            Provider.refusing -= 1
            refusal = {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}
            return self._answer(400, refusal | {"status": 400})
        if not Provider.gate.is_set():
            Provider.held.append(phone)
            Provider.gate.wait()
        self._answer(201, {"sid": f"SM{uuid.uuid4().hex}", "status": "queued"})

    def _answer(self, status: int, answer: dict) -> None:
        body = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the worker was killed while its message was held
            pass

    def log_message(self, *args):
        pass


def wait_until(condition, what: str) -> None:
    """Until `condition()` is true. The deadline only ends a broken test: a slow machine meets
    the condition later, not never."""
    deadline = time.monotonic() + 180
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


def hold_hand_overs(count: int = 1) -> list[str]:
    """Close the provider's gate, and wait until `count` messages are held; their numbers."""
    Provider.gate.clear()
    wait_until(lambda: len(Provider.held) >= count, f"{count} messages handed over")
    return list(Provider.held)


def release_hand_overs() -> None:
    Provider.held = []
    Provider.gate.set()


@pytest.fixture
def provider() -> dict[str, str]:
    """A stand-in for Twilio; the environment that points workers at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Provider.received, Provider.refusing = [], 0
    release_hand_overs()
    yield {
        "MESSAGING_BACKEND": "twilio",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{server.server_port}",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "fault-test-token",
        "TWILIO_FROM_NUMBER": "+18885550199",
        # A message held at the provider, or a busy test process, is no time-out: only a
        # worker's death makes a hand-over unknown here.
        "TWILIO_TIMEOUT": "600",
    }
    release_hand_overs()
    server.shutdown()
