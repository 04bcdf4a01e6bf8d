"""A user's resubscribe of one contact while another user's unsubscribe of another contact of
the same number is under way: the resubscribe waits, so the number's ledger rows follow one
another, and a row deleted behind the guard is named by the row that followed it. A cold
review found the two rows both following the same row (the resubscribe took no lock), and the
deletion of the first unseen. Committed transactions on a PostgreSQL database of its own."""

import pytest

from tests.contacts.test_guard_concurrency import (  # noqa: F401
    UNTIL_ONE_WAITS,
    database_url,
    migrated,
    run,
)

pytestmark = pytest.mark.postgres

SCRIPT = """
import threading
import time

import django

django.setup()
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from contacts import services
from contacts.models import Channel, ConsentEvent

PHONE = "+14155550177"
ana = services.create_contact(name="Ana", phone=PHONE)
bea = services.create_contact(name="Bea", phone=PHONE)
services.unsubscribe(contact=bea, channel=Channel.SMS, by_user=None)

written, go = threading.Event(), threading.Event()


def unsubscribe_ana():  # a user unsubscribes Ana, held open
    try:
        with transaction.atomic():
            services.unsubscribe(contact=ana, channel=Channel.SMS, by_user=None)
            written.set()
            go.wait(30)
    finally:
        connection.close()


def resubscribe_bea():  # meanwhile another user resubscribes Bea
    try:
        services.resubscribe(contact=bea, channel=Channel.SMS, by_user=None)
    finally:
        connection.close()


first = threading.Thread(target=unsubscribe_ana)
first.start()
written.wait(30)
second = threading.Thread(target=resubscribe_bea)
second.start()
waited = one_waits()
go.set()
first.join(30)
second.join(30)
services.resubscribe(contact=ana, channel=Channel.SMS, by_user=None)

rows = list(ConsentEvent.objects.filter(phone=PHONE, channel=Channel.SMS).order_by("id"))
print("resubscribe waited:", waited)
print("each row follows the one before:",
      all(row.chained_to == before.pk for before, row in zip(rows, rows[1:])))
anas = next(r for r in rows if r.contact_id == ana.pk and r.after == "soft")
with transaction.atomic(), connection.cursor() as cursor:  # deleted behind the guard
    cursor.execute("SET LOCAL session_replication_role = replica")
    cursor.execute("DELETE FROM contacts_consentevent WHERE id = %s", [anas.pk])
try:
    call_command("verify_ledger")
except CommandError as error:
    print("verify_ledger:", "names a row" if "Row " in str(error) else str(error))
else:
    print("verify_ledger: every one matches")
"""


def test_the_number_s_writers_take_turns_and_a_deletion_is_seen(migrated):  # noqa: F811
    assert run(UNTIL_ONE_WAITS + SCRIPT, migrated).splitlines() == [
        "resubscribe waited: True",
        "each row follows the one before: True",
        "verify_ledger: names a row",
    ]
