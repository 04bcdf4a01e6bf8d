"""The app in real processes on a database of its own, of the engine of the test run: a
PostgreSQL database on the test server, or an SQLite file (WAL, with its busy timeout, as in
`make run`; pytest-django's SQLite test database is in memory, where locks behave otherwise).
For what concurrency decides: committed data, which the test database's transaction would
hide, and real lock waits between processes.

Each test gets a copy of a database migrated once for the session, with the demo users
(fixtures `database`, `serve`, `worker`, registered in tests/conftest.py).
"""

import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import psycopg
import pytest
from django.db import connection
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "processes-test-token"
MANAGE = [sys.executable, "manage.py"]


def _sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


class Database:
    """One database, and the environment of the app's processes that use it."""

    def __init__(self, url: str, env: dict[str, str]):
        self.url, self.env = url, env

    @property
    def vendor(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of `sql` (placeholders %s), read committed, on a connection of its own."""
        if self.vendor == "sqlite":
            with sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=60) as conn:
                # The ledger's hash chain calls SHA256, which Django gives its connections.
                conn.create_function("SHA256", 1, _sha256, deterministic=True)
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def value(self, sql: str, params: tuple = ()):
        return self.query(sql, params)[0][0]

    def shell(self, code: str, **popen) -> subprocess.Popen:
        """`manage.py shell -c code`, started."""
        return subprocess.Popen([*MANAGE, "shell", "-v0", "-c", code], env=self.env, cwd=ROOT,
                                text=True, **popen)  # fmt: skip

    def run(self, code: str) -> str:
        """`manage.py shell -c code`, run; its output."""
        return subprocess.run(
            [*MANAGE, "shell", "-v0", "-c", code], env=self.env, cwd=ROOT, text=True, check=True,
            capture_output=True,
        ).stdout  # fmt: skip

    def add_contacts(self, count: int) -> None:
        """`count` active contacts, subscribed to everything, each with a number of its own,
        in one statement (the database's triggers do what they do for any insert)."""
        numbers = "'+1919' || (2000000 + i)"
        columns = "(name, phone, email, status, created_at, updated_at)"
        if self.vendor == "sqlite":
            rows = (f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                    f"WHERE i < {count}) SELECT 'Contact ' || i, {numbers}, '', 'active', "
                    "datetime('now'), datetime('now') FROM n")  # fmt: skip
        else:
            rows = (f"SELECT 'Contact ' || i, {numbers}, '', 'active', now(), now() "
                    f"FROM generate_series(1, {count}) i")  # fmt: skip
        self.query(f"INSERT INTO contacts_contact {columns} {rows}")
        if self.vendor == "postgresql":
            self.query("ANALYZE")


def _server_params() -> dict:
    params = connection.get_connection_params()
    return {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}


def _postgres_url(name: str) -> str:
    admin = _server_params()
    host, port = admin.get("host") or "127.0.0.1", admin.get("port") or 5432
    return f"postgres://{admin.get('user', '')}:{admin.get('password') or ''}@{host}:{port}/{name}"


def _admin_execute(sql: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **_server_params()) as conn:
        conn.execute(sql)


def environment(url: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"} | {
        "DATABASE_URL": url, "TWILIO_AUTH_TOKEN": TOKEN, "MESSAGING_BACKEND": "console",
        "DEMO_PASSWORD": "processes-test-password",
        # Sent at any hour the test runs (tests/conftest.py: quiet hours are off in tests).
        "QUIET_HOURS": "off",
    }  # fmt: skip


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory) -> str:
    """A migrated database with the demo users and no contacts, to copy: an SQLite file, or
    the name of a PostgreSQL database."""
    if connection.vendor == "sqlite":
        path = tmp_path_factory.mktemp("processes") / "migrated.sqlite3"
        url = f"sqlite:///{path}"
    else:
        path = f"crm_processes_{uuid.uuid4().hex[:8]}"
        _admin_execute(f'CREATE DATABASE "{path}"')
        url = _postgres_url(path)
    env = environment(url)
    subprocess.run([*MANAGE, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*MANAGE, "seed_demo", "--contacts", "2", "-v0"], env=env, cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    # The two demo contacts go: each test adds the contacts it needs.
    delete = "from contacts.models import Contact; Contact.objects.all().delete()"
    subprocess.run([*MANAGE, "shell", "-v0", "-c", delete], env=env, cwd=ROOT, check=True)
    if connection.vendor == "sqlite":
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield str(path)
        return
    try:
        yield path
    finally:
        _admin_execute(f'DROP DATABASE "{path}" WITH (FORCE)')


@pytest.fixture
def database(_migrated, tmp_path) -> Database:
    """A database of its own for the test, a copy of the migrated one."""
    if connection.vendor == "sqlite":
        copy = tmp_path / "app.sqlite3"
        shutil.copy(_migrated, copy)
        yield Database(f"sqlite:///{copy}", environment(f"sqlite:///{copy}"))
        return
    name = f"crm_processes_{uuid.uuid4().hex[:8]}"
    _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{_migrated}"')
    try:
        yield Database(_postgres_url(name), environment(_postgres_url(name)))
    finally:
        _admin_execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The app served by gunicorn, as in production: Twilio's webhooks come here."""

    def __init__(self, env: dict[str, str]):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "crm.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--timeout", "120", "--log-level", "warning"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    pytest.fail(f"gunicorn did not start: {self.process.stderr.read()}")
                time.sleep(0.1)
        pytest.fail("gunicorn did not listen within a minute")

    def sms(self, phone: str, body: str, sid: str | None = None) -> tuple[int, str]:
        """A signed inbound SMS webhook, as Twilio sends it; the answer's status and body."""
        url = f"{self.url}/webhooks/twilio/sms/"
        fields = {"MessageSid": sid or f"SM{uuid.uuid4().hex}", "From": phone,
                  "To": "+14155559999", "Body": body}  # fmt: skip
        signature = RequestValidator(TOKEN).compute_signature(url, fields)
        request = Request(url, data=urlencode(fields).encode(),
                          headers={"X-Twilio-Signature": signature})  # fmt: skip
        try:
            with urlopen(request, timeout=120) as response:
                return response.status, response.read().decode()
        except HTTPError as error:
            return error.code, error.read().decode()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def serve():
    """Start gunicorn for a database: serve(database, **env) -> Server; stopped after the
    test."""
    servers = []

    def start(database: Database, **env: str) -> Server:
        servers.append(Server(database.env | env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def worker():
    """Start `manage.py worker` as `make run` does: worker(database, **env) -> Popen."""
    workers = []

    def start(database: Database, **env: str) -> subprocess.Popen:
        workers.append(
            subprocess.Popen(
                [*MANAGE, "worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"],
                env=database.env | env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        )
        return workers[-1]

    yield start
    for process in workers:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(condition, what: str, seconds: float = 180) -> None:
    """Poll `condition` until it holds; fail, saying `what` never happened, after `seconds`:
    a bound for a hang, far above how long it takes, not a measurement."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds} s")
        time.sleep(0.05)
