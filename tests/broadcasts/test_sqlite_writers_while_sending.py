"""On SQLite, where a writing transaction holds the whole database, a broadcast that sends
leaves a moment between batches for others to write: a cancellation and a STOP made while
it sends go through at once, rather than wait for the whole broadcast and fail ("database
is locked")."""

import pytest

from tests.contacts.test_guard_concurrency import run

pytestmark = pytest.mark.sqlite

SENDING = """
import threading
import time

import django

django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from broadcasts import sending, services
from broadcasts.models import Broadcast
from contacts import services as contact_services
from contacts.models import Contact, PhoneOptOut, Source
from messaging.backends import LocmemBackend

settings.MESSAGING_BACKEND = "locmem"
settings.BROADCAST_RATE = 10
Contact.objects.bulk_create(
    [Contact(name=f"Person {n}", phone=f"+1415{2_000_000 + n}") for n in range(100)]
)
manager = get_user_model().objects.create(username="manager")
b = Broadcast.objects.create(name="Sale", channel="sms", body="Hi", purpose="informational")
services.launch(broadcast=b, by_user=manager)


def send():
    try:
        sending.run(b.pk)
    finally:
        connection.close()


worker = threading.Thread(target=send)
worker.start()
time.sleep(2)
contact_services.record_hard_opt_out(phone="+14152000099", channel="sms", source=Source.KEYWORD)
print("STOP recorded:", PhoneOptOut.objects.filter(phone="+14152000099").exists())
stopped = services.cancel(broadcast=b)
worker.join(60)
sent = len(LocmemBackend.outbox)
cancelled = b.recipients.filter(status="cancelled").count()
print("cancelled:", stopped is not None and cancelled + sent == 100 and sent < 60)
"""


def test_a_stop_and_a_cancellation_while_a_broadcast_sends_go_through(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    run("import django; django.setup(); from django.core.management import call_command;"
        " call_command('migrate', verbosity=0)", url)  # fmt: skip
    assert run(SENDING, url).splitlines() == ["STOP recorded: True", "cancelled: True"]
