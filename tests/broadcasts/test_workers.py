"""Real `db_worker` processes sharing broadcasts on PostgreSQL, in a database of their own
(they need committed data, which the test database's transaction would hide)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres

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
                        "BROADCAST_RATE": "100000", "BROADCAST_WORKERS": "3"}  # fmt: skip
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
                "db_worker",
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


def test_three_workers_share_a_broadcast_and_send_each_number_once(worker_database):
    env, dsn = worker_database
    recipients = launch(env)
    assert recipients > 2000
    workers = start_workers(env, 3, "--batch")
    for worker in workers:
        assert worker.wait(timeout=300) == 0
    assert query(dsn, "SELECT status, count(*) FROM broadcasts_recipient GROUP BY status") == [
        ("sent", recipients)
    ]
    assert query(dsn, 'SELECT count(*), count(DISTINCT "to") FROM messaging_outboundmessage') == [
        (recipients, recipients)
    ]
    assert query(dsn, "SELECT status FROM broadcasts_broadcast") == [("done",)]
    # The three tasks were run by different workers.
    assert (
        query(dsn, "SELECT count(DISTINCT worker_ids) FROM django_tasks_database_dbtaskresult")[0][
            0
        ]
        >= 2
    )


def test_a_killed_worker_sends_nothing_twice_and_its_rows_become_unknown(worker_database):
    env, dsn = worker_database
    env = env | {"BROADCAST_RATE": "200", "BROADCAST_WORKERS": "1"}
    recipients = launch(env)
    [worker] = start_workers(env, 1)
    deadline = time.monotonic() + 60
    # Mid-send: some messages handed over, and a claimed batch not finished yet.
    while query(
        dsn,
        """SELECT (SELECT count(*) FROM messaging_outboundmessage) < 50
                  OR NOT EXISTS (SELECT 1 FROM broadcasts_recipient WHERE status = 'sending')""",
    )[0][0]:
        assert time.monotonic() < deadline, "the worker sent nothing"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    # Time passes: the reaper's time-out is over. A new worker finishes the job.
    execute(dsn, "UPDATE broadcasts_recipient SET claimed_at = claimed_at - interval '1 hour'"
                 " WHERE status = 'sending'")  # fmt: skip
    # The killed worker's task is run again, as a restarted worker would.
    execute(dsn, "UPDATE django_tasks_database_dbtaskresult SET status = 'READY'"
                 " WHERE status = 'RUNNING'")  # fmt: skip
    env = env | {"BROADCAST_RATE": "100000"}
    [worker] = start_workers(env, 1, "--batch")
    assert worker.wait(timeout=300) == 0
    sent_twice = query(
        dsn, 'SELECT "to" FROM messaging_outboundmessage GROUP BY "to" HAVING count(*) > 1'
    )
    assert sent_twice == []
    statuses = dict(query(dsn, "SELECT status, count(*) FROM broadcasts_recipient GROUP BY status"))
    assert set(statuses) == {"sent", "unknown"}  # the killed worker's batch is unknown
    assert sum(statuses.values()) == recipients
    sent_not_once = query(
        dsn,
        """SELECT r.phone FROM broadcasts_recipient r WHERE r.status = 'sent' AND
           (SELECT count(*) FROM messaging_outboundmessage o WHERE o."to" = r.phone) <> 1""",
    )
    assert sent_not_once == []
