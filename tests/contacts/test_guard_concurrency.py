"""STOPs, STARTs and contacts of one number at the same moment, in committed transactions on
a PostgreSQL database of their own: whatever order they take, the number and each of its
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

# One transaction stays open while another, on its own connection, writes the other side:
# the second must wait for the first, and the contact end up opted out either way.
HELD_OPEN = """
import threading
import time

import django

django.setup()
from django.db import connection, transaction
from contacts import services
from contacts.models import Channel, Contact, OptOut, Source


def stop(number):
    services.record_hard_opt_out(phone=number, channel=Channel.SMS, source=Source.KEYWORD)


def create(number):
    services.create_contact(name="New", phone=number)


def move(number):
    contact = Contact.objects.get(name=f"Mover to {number}")
    contact.phone = number
    contact.save()


# `action` on a connection of its own, started; and whether it waits for a lock (True), or
# ended without waiting (False). However slow the machine, a thread still starting is neither.
def beside(action, number):
    thread = threading.Thread(target=lambda: (action(number), connection.close()))
    thread.start()
    deadline = time.monotonic() + 120  # only so that a broken test ends
    while thread.is_alive() and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # read the activity afresh
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return thread, True
        time.sleep(0.01)
    return thread, False


for round, (first, second) in enumerate(
    [(create, stop), (stop, create), (move, stop), (stop, move)]
):
    number = f"+1415666{round:04d}"
    services.create_contact(name=f"Mover to {number}", phone=f"+1415777{round:04d}")
    with transaction.atomic():
        first(number)
        other, waited = beside(second, number)
    other.join(30)
    kinds = list(OptOut.objects.filter(contact__phone=number).values_list("kind", flat=True))
    print(first.__name__, "then", second.__name__, "waited" if waited else "did not wait",
          kinds)
"""

# Two bulk opt-outs of the same contacts at once, the second started while the first is not
# committed: it waits for the first, then finds them opted out, and the ledger has one row
# for each.
BULK_TWICE = """
import threading
import time

import django

django.setup()
from django.db import connection, transaction
from contacts import services
from contacts.models import Channel, ConsentEvent

ids = [services.create_contact(name=f"C{i}", phone=f"+1415555{i:04d}").pk for i in range(200)]
second = []


def again():
    try:
        second.append(services.unsubscribe_many(contacts=ids[::-1], channel=Channel.SMS,
                                                by_user=None))
    except Exception as error:
        second.append(repr(error))
    finally:
        connection.close()


with transaction.atomic():
    first = services.unsubscribe_many(contacts=ids, channel=Channel.SMS, by_user=None)
    other = threading.Thread(target=again)
    other.start()
    deadline = time.monotonic() + 120  # only so that a broken test ends
    while other.is_alive() and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
        time.sleep(0.01)
other.join(60)
print(first, second, ConsentEvent.objects.filter(contact_id__in=ids).count())
"""

REPEATABLE_READ = """
import django

django.setup()
from django.db import connection, transaction
from contacts import services
from contacts.models import Channel, Source

with transaction.atomic():
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    for write in (
        lambda: services.create_contact(name="Late", phone="+14155550199"),
        lambda: services.record_hard_opt_out(
            phone="+14155550198", channel=Channel.SMS, source=Source.KEYWORD
        ),
    ):
        try:
            with transaction.atomic():
                write()
        except Exception as error:
            print("refused:", error)
        else:
            print("written")
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


# For a script: whether another connection waits for an advisory lock (a number held) within
# 5 seconds.
UNTIL_ONE_WAITS = """
def one_waits(seconds=5):
    for _ in range(int(seconds / 0.05)):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False
"""


def run(script: str, database_url: str) -> str:
    """`script` in a process of its own on the migrated database; what it printed."""
    env = os.environ | {"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "crm.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def migrated(database_url):
    run("import django; django.setup(); from django.core.management import call_command;"
        " call_command('migrate', verbosity=0)", database_url)  # fmt: skip
    return database_url


def test_stops_starts_and_contacts_at_the_same_moment_leave_everything_agreeing(migrated):
    output = run(RACE, migrated)
    assert "problems []" in output, output


def test_a_contact_written_while_its_number_opts_out_is_opted_out(migrated):
    lines = run(HELD_OPEN, migrated).splitlines()
    assert lines == [
        "create then stop waited ['hard']",
        "stop then create waited ['hard']",
        "move then stop waited ['hard']",
        "stop then move waited ['hard']",
    ]


def test_contacts_and_opt_outs_are_not_written_at_repeatable_read(migrated):
    output = run(REPEATABLE_READ, migrated)
    assert output.count("refused: Contacts and the opt-outs of numbers are written at") == 2


def test_two_bulk_opt_outs_of_the_same_contacts_at_once_both_finish(migrated):
    assert run(BULK_TWICE, migrated).split("\n")[0] == "200 [0] 200"
