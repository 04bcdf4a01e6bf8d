"""A delivery status that says the number opted out at the carrier (error 21610) is the
contact's own revocation. Kept for the worker because its processing failed, it holds its
number as a kept STOP does: under the revoke-all scope, no call reaches the number before the
worker records it. (A cold review found such a status held nothing: only texts and keys
pressed did.)"""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from broadcasts import sending
from broadcasts import services as broadcast_services
from broadcasts.models import Broadcast
from contacts import evidence
from contacts.models import Channel, Contact
from messaging import inbound
from messaging.models import InboundEvent
from tests.factories import ContactFactory, UserFactory

PHONE, OTHER = "+14155550123", "+14155550124"
STATUS = "/webhooks/twilio/status/"
CARRIER_OPT_OUT = {
    "MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "21610", "To": PHONE,
    "ErrorMessage": "Attempt to send to unsubscribed recipient",
}  # fmt: skip

FAULT = {
    "sqlite": (
        ["CREATE TRIGGER test_fault BEFORE INSERT ON contacts_phoneoptout"
         " BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"],
        ["DROP TRIGGER test_fault"],
    ),
    "postgresql": (
        ["CREATE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql"
         " AS $$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$",
         "CREATE TRIGGER test_fault BEFORE INSERT ON contacts_phoneoptout"
         " FOR EACH ROW EXECUTE FUNCTION test_fault()"],
        ["DROP TRIGGER test_fault ON contacts_phoneoptout", "DROP FUNCTION test_fault()"],
    ),
}  # fmt: skip


@contextmanager
def opt_outs_refused():
    """Every number's opt-out refused, as a full disk would."""
    fault, repair = FAULT[connection.vendor]
    with connection.cursor() as cursor:
        for statement in fault:
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        for statement in repair:
            cursor.execute(statement)


@pytest.fixture
def voice_broadcast(settings, outbox):
    settings.MARKETING_NEEDS_CONSENT = False
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.BROADCAST_RATE = 10_000

    def send() -> list[str]:
        broadcast = Broadcast.objects.create(
            channel=Channel.CALLS, name="Reminder", script="Your visit is tomorrow."
        )
        broadcast_services.launch(broadcast=broadcast, by_user=UserFactory(role="Manager"))
        sending.run(broadcast.pk)
        return [message["to"] for message in outbox]

    return send


def test_a_kept_carrier_opt_out_holds_calls_under_the_revoke_all_scope(
    post_signed, settings, voice_broadcast
):
    settings.OPT_OUT_SCOPE = "all"
    contact = ContactFactory(phone=PHONE)
    ContactFactory(phone=OTHER)
    with opt_outs_refused():
        assert post_signed(STATUS, CARRIER_OPT_OUT).status_code == 200
    event = InboundEvent.objects.get()
    assert (event.processed_at, event.phone) == (None, PHONE)
    assert "the disk is full" in event.error
    assert voice_broadcast() == [OTHER]  # the number is held, not called
    later = timezone.now() + timedelta(seconds=1)
    # Recorded now; the status itself waits for a message of a broadcast's (none here).
    [(key, error)] = inbound.process_pending(received_before=later)
    assert key == event.key and isinstance(error, inbound.MessageNotRecordedYet)
    contact = Contact.objects.get(pk=contact.pk)
    assert {channel: contact.opt_in_status(channel) for channel in Channel} == {
        "sms": "hard", "calls": "hard"
    }  # fmt: skip


def test_a_kept_status_of_another_kind_holds_nothing(post_signed, voice_broadcast, settings):
    settings.OPT_OUT_SCOPE = "all"
    ContactFactory(phone=PHONE)
    delivered = {"MessageSid": "SM2", "MessageStatus": "delivered", "To": PHONE}
    assert post_signed(STATUS, delivered).status_code == 200  # kept: its message is unknown
    assert InboundEvent.objects.get().phone == ""
    assert voice_broadcast() == [PHONE]


def test_a_number_s_evidence_lists_the_carrier_s_opt_out(post_signed):
    ContactFactory(phone=PHONE)
    assert post_signed(STATUS, CARRIER_OPT_OUT).status_code == 200
    found = [m for m in evidence.for_number(PHONE)["messages"] if m["kind"] == "status"]
    assert [(m["provider_id"], m["detail"]) for m in found] == [("SM1", "undelivered, error 21610")]
