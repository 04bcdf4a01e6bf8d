"""A bulk job on many contacts, and STOPs that arrive while it runs: real processes (gunicorn,
`manage.py worker`) on a database of their own, of the test run's engine
(tests/app_processes.py). A STOP is answered and holds in the middle of the job, and the job
still finishes right."""

import subprocess

import pytest

from tests.app_processes import wait_until

QUEUE = """
from django.contrib.auth.models import User
from django.db import transaction
from contacts import bulk
from contacts.models import Contact
with transaction.atomic():
    job = bulk.queue(action="{action}", query="", tag=None, count=Contact.objects.count(),
                     user=User.objects.get(username="admin"))
print(job.pk)
"""


def queue(database, action: str) -> int:
    """Queue a bulk action on every contact, as its confirmation page does."""
    return int(database.run(QUEUE.format(action=action)).split()[-1])


def test_a_stop_in_the_middle_of_a_bulk_job_is_answered_and_holds(database, serve, worker):
    database.add_contacts(100_000)
    contact, phone = database.query("SELECT id, phone FROM contacts_contact ORDER BY id DESC")[0]
    server = serve(database)
    assert server.sms("+12125550100", "HELP")[0] == 200  # the server is up, and warm
    worker(database, BULK_BATCH_SIZE="1000")
    job = queue(database, "unsubscribe_sms")
    progress = "SELECT status, done, total, result FROM contacts_bulkjob WHERE id = %s"
    wait_until(lambda: database.query(progress, (job,))[0][1] > 0, "the job's first transaction")

    status, answer = server.sms(phone, "STOP")
    # Read after the answer: the job was under way before the STOP and after its answer.
    during = database.query(progress, (job,))[0]
    assert status == 200
    assert "You have been unsubscribed from Demo Dental" in answer
    assert during[0] == "running" and 0 < during[1] < during[2], during
    assert database.query(
        "SELECT kind, source, words FROM contacts_optout WHERE contact_id = %s AND channel = 'sms'",
        (contact,),
    ) == [("hard", "keyword", "STOP")]
    assert database.value(
        "SELECT count(*) FROM messaging_inboundevent WHERE phone = %s AND processed_at IS NOT NULL",
        (phone,),
    ) == 1  # fmt: skip

    finished = "SELECT status FROM contacts_bulkjob WHERE id = %s AND finished_at IS NOT NULL"
    wait_until(lambda: database.query(finished, (job,)), "the end of the job")
    # Every other contact was unsubscribed (soft), once, with its ledger row; the STOP's
    # contact kept its hard opt-out.
    assert database.query(progress, (job,))[0] == (
        "done", 100_000, 100_000, "SMS: 99,999 of 100,000 unsubscribed; 1 was already opted out."
    )  # fmt: skip
    assert database.query(
        "SELECT kind, count(*) FROM contacts_optout WHERE channel = 'sms' GROUP BY kind"
        " ORDER BY kind"
    ) == [("hard", 1), ("soft", 99_999)]
    assert database.query(
        "SELECT count(*), count(DISTINCT contact_id) FROM contacts_consentevent"
        " WHERE channel = 'sms' AND \"after\" = 'soft'"
        " AND contact_id IN (SELECT id FROM contacts_contact)"
    ) == [(99_999, 99_999)]


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
