"""Bulk changes of many contacts, and STOPs that arrive meanwhile: real processes on a
database of their own (tests/app_processes.py)."""

import subprocess

import pytest

from tests.app_processes import wait_until

# Between a STOP and a bulk transaction on the same contact, on PostgreSQL, whichever comes
# second waits for the first, then does its part: neither fails. (On SQLite a writing
# transaction holds the whole database, and they cannot overlap.)

HOLD = """
import sys
from django.db import transaction
from contacts import services
from contacts.models import Channel, Source
from contacts.models import Contact
from django.contrib.auth.models import User
with transaction.atomic():
    {action}
    print("written", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""
UNSUBSCRIBE_ALL = """services.unsubscribe_many(contacts=Contact.objects.all(), channel=Channel.SMS,
                               by_user=User.objects.get(username="admin"))"""
STOP = 'services.record_hard_opt_out(phone="{phone}", channel=Channel.SMS, source=Source.KEYWORD)'


def start(database, action: str) -> subprocess.Popen:
    process = database.shell(HOLD.format(action=action), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    return process


def waiting_for_a_lock(database) -> bool:
    return bool(database.value(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock'"
    ))  # fmt: skip


def sms_opt_outs(database) -> list[tuple]:
    return database.query(
        "SELECT c.phone, o.kind FROM contacts_optout o JOIN contacts_contact c"
        " ON c.id = o.contact_id WHERE o.channel = 'sms' ORDER BY c.phone"
    )


@pytest.mark.postgres
def test_a_stop_during_a_bulk_transaction_waits_for_it_then_holds(database):
    database.add_contacts(3)
    phone = database.value("SELECT max(phone) FROM contacts_contact")
    bulk = start(database, UNSUBSCRIBE_ALL)
    assert bulk.stdout.readline() == "written\n"  # not committed yet
    stop = start(database, STOP.format(phone=phone))
    wait_until(lambda: waiting_for_a_lock(database), "the STOP's wait")
    bulk.communicate("commit\n", timeout=60)
    output, errors = stop.communicate("commit\n", timeout=60)
    assert (stop.returncode, output) == (0, "written\ncommitted\n"), errors
    assert [kind for _, kind in sms_opt_outs(database)] == ["soft", "soft", "hard"]


@pytest.mark.postgres
def test_a_bulk_transaction_during_a_stop_waits_for_it_then_skips_its_contact(database):
    database.add_contacts(3)
    phone = database.value("SELECT max(phone) FROM contacts_contact")
    stop = start(database, STOP.format(phone=phone))
    assert stop.stdout.readline() == "written\n"  # not committed yet
    bulk = start(database, UNSUBSCRIBE_ALL)
    wait_until(lambda: waiting_for_a_lock(database), "the bulk transaction's wait")
    stop.communicate("commit\n", timeout=60)
    output, errors = bulk.communicate("commit\n", timeout=60)
    assert (bulk.returncode, output) == (0, "written\ncommitted\n"), errors
    assert [kind for _, kind in sms_opt_outs(database)] == ["soft", "soft", "hard"]
