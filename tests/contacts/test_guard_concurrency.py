"""STOPs and STARTs from one number at the same moment, in committed transactions on a
PostgreSQL database of their own: whatever order they take, the number and each of its
contacts agree, and the newest ledger row of each says what holds."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres

RACE = """
import threading, uuid
import django

django.setup()
from django.db import connection
from contacts import services
from contacts.models import Channel, ConsentEvent, OptOut, PhoneOptOut, Source
from messaging import inbound
from messaging.models import InboundEvent

N = "+14155550100"
ids = [services.create_contact(name=f"C{i}", phone=N).pk for i in range(3)]


def stop():
    services.record_hard_opt_out(phone=N, channel=Channel.SMS, source=Source.KEYWORD)


def start():
    sid = f"SM{uuid.uuid4().hex}"
    payload = {"MessageSid": sid, "From": N, "Body": "START"}
    InboundEvent.store(key=f"sms:{sid}", kind="sms", payload=payload, phone=N)
    inbound.process(f"sms:{sid}")


def newest(**where):
    row = ConsentEvent.objects.filter(channel="sms", **where).order_by("-id").first()
    return row.after if row else "subscribed"


problems, orders = [], set()
for round in range(40):
    barrier, errors, done = threading.Barrier(2), [], []

    def run(action):
        try:
            barrier.wait()
            action()
            done.append(action.__name__)
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    actions = (stop, start) if round % 2 else (start, stop)
    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    orders.add(tuple(done))
    hard = PhoneOptOut.objects.filter(phone=N, channel="sms").exists()
    expected = "hard" if hard else "subscribed"
    opt_outs = OptOut.objects.filter(channel="sms", contact_id__in=ids)
    kinds = dict.fromkeys(ids, "subscribed") | dict(opt_outs.values_list("contact_id", "kind"))
    ledger = [newest(contact=None, phone=N)] + [newest(contact_id=c) for c in ids]
    if errors or set(kinds.values()) != {expected} or set(ledger) != {expected}:
        problems.append((round, errors, hard, kinds, ledger))
print("orders", sorted(orders))  # which came first, for whoever reads the output
print("problems", problems)
"""


@pytest.fixture
def database_url():
    server = settings.DATABASES["default"]
    name = f"crm_race_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        host=server["HOST"], port=server["PORT"], dbname="postgres", user=server["USER"],
        password=server["PASSWORD"] or None, autocommit=True,
    )  # fmt: skip
    admin.execute(f"CREATE DATABASE {name}")
    password = f":{server['PASSWORD']}" if server["PASSWORD"] else ""
    yield f"postgres://{server['USER']}{password}@{server['HOST']}:{server['PORT']}/{name}"
    admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


def test_stops_and_starts_at_the_same_moment_leave_number_contacts_and_ledger_agreeing(
    database_url,
):
    env = os.environ | {"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "crm.settings"}
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    race = subprocess.run(
        [sys.executable, "-c", RACE], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert race.returncode == 0, race.stderr
    assert "problems []" in race.stdout, race.stdout
