"""A contact moved to another number while the number it leaves replies START, in another
transaction: one waits for the other, so that the contact either carries its opt-out to the
new number (the move first) or has it lifted (the START first), never what neither order
gives. A cold review found the move held only the new number: the START lifted the opt-out
Sam was carrying, and N stayed opted out while Sam, its contact, was subscribed; moved on to
P, he carried nothing. Committed transactions on a PostgreSQL database of its own."""

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
from django.db import connection, transaction

from contacts import services
from contacts.models import Channel, Contact, PhoneOptOut, Source
from tests.factories import reply_start

M, N, P = "+14155550181", "+14155550182", "+14155550183"
sam = services.create_contact(name="Sam", phone=M)
services.record_hard_opt_out(phone=M, channel=Channel.SMS, source=Source.KEYWORD, words="STOP")

moved, go = threading.Event(), threading.Event()


def move_to_n():  # an ORM save of Sam's new number, N, held open
    try:
        with transaction.atomic():
            contact = Contact.objects.get(pk=sam.pk)
            contact.phone = N
            contact.save()
            moved.set()
            go.wait(30)
    finally:
        connection.close()


def start_from_m():  # meanwhile M, the number Sam is leaving, replies START
    try:
        reply_start(M)
    finally:
        connection.close()


mover = threading.Thread(target=move_to_n)
mover.start()
moved.wait(30)
starter = threading.Thread(target=start_from_m)
starter.start()
waited = one_waits()
go.set()
mover.join(30)
starter.join(30)

sam = Contact.objects.get(pk=sam.pk)
print("START waited:", waited)
print("N opted out:", PhoneOptOut.objects.filter(phone=N, channel="sms").exists())
print("Sam at N:", sam.opt_in_status(Channel.SMS))
sam.phone = P
sam.save()
sam = Contact.objects.get(pk=sam.pk)
print("P opted out:", PhoneOptOut.objects.filter(phone=P, channel="sms").exists())
print("Sam at P:", sam.opt_in_status(Channel.SMS))
"""


def test_a_start_of_the_number_a_contact_leaves_waits_for_the_move(migrated):  # noqa: F811
    output = run(UNTIL_ONE_WAITS + SCRIPT, migrated).splitlines()
    # The move holds both numbers from its update on: the START of M waits, and finds Sam
    # gone from M; Sam carries his STOP to N, and on to P.
    assert output == [
        "START waited: True",
        "N opted out: True",
        "Sam at N: hard",
        "P opted out: True",
        "Sam at P: hard",
    ], output
