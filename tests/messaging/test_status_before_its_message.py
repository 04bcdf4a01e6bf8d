"""A delivery status may come before the batch that handed its message over has recorded the
message's id (it records them when it ends): it is kept and applied once the id is there; a
carrier's opt-out in it is recorded at once, and once only."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from broadcasts.models import Broadcast, Recipient, SentTest
from contacts.models import Channel, ConsentEvent, Contact, Source
from messaging import inbound
from messaging.models import InboundEvent
from tests.factories import ContactFactory

PHONE = "+14155550123"
STATUS = "/webhooks/twilio/status/"


def handed_over_not_recorded() -> Recipient:
    """A recipient whose message was handed over, its batch not ended yet."""
    broadcast = Broadcast.objects.create(name="B", channel="sms", body="x", status="sending")
    return Recipient.objects.create(broadcast=broadcast, phone=PHONE, status="sending")


def sweep() -> list:
    return list(inbound.process_pending(received_before=timezone.now() + timedelta(seconds=1)))


def test_a_status_before_its_message_is_recorded_is_applied_once_it_is(post_signed):
    recipient = handed_over_not_recorded()
    data = {"MessageSid": "SM21", "MessageStatus": "delivered", "To": PHONE}
    assert post_signed(STATUS, data).status_code == 200
    event = InboundEvent.objects.get()
    assert event.processed_at is None and event.error == "Its message is not recorded yet."
    Recipient.objects.filter(pk=recipient.pk).update(status="sent", sid="SM21")  # the batch ends
    assert sweep() == [(event.key, None)]
    assert Recipient.objects.get(pk=recipient.pk).status == "delivered"


def test_a_kept_status_applied_after_a_later_one_leaves_the_later_one(post_signed):
    recipient = handed_over_not_recorded()
    failed = {"MessageSid": "SM24", "MessageStatus": "undelivered", "To": PHONE,
              "ErrorCode": "30003", "ErrorMessage": "Unreachable destination handset"}  # fmt: skip
    assert post_signed(STATUS, failed).status_code == 200  # kept: the batch has not ended
    Recipient.objects.filter(pk=recipient.pk).update(status="sent", sid="SM24")  # it ends
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        delivered = {"MessageSid": "SM24", "MessageStatus": "delivered", "To": PHONE}
        assert post_signed(STATUS, delivered).status_code == 200
    recipient.refresh_from_db()
    assert (recipient.status, recipient.error) == ("delivered", "")
    [(key, error)] = sweep()  # the kept status, applied now
    assert error is None
    recipient.refresh_from_db()
    assert (recipient.status, recipient.error) == ("delivered", "")
    assert InboundEvent.objects.get(key=key).processed_at is not None  # done with, not kept


def test_a_status_of_a_message_no_broadcast_sent_is_let_go_after_a_while(post_signed):
    data = {"MessageSid": "SM22", "MessageStatus": "delivered", "To": PHONE}
    assert post_signed(STATUS, data).status_code == 200
    [(key, error)] = sweep()
    assert isinstance(error, inbound.MessageNotRecordedYet)  # kept, tried again
    with time_machine.travel(timezone.now() + inbound.STATUS_WAIT + timedelta(seconds=2)):
        assert sweep() == [(key, None)]
    assert InboundEvent.objects.get().processed_at is not None
    assert not Recipient.objects.exists()


def test_a_carrier_opt_out_is_recorded_at_once_and_its_message_marked_when_recorded(
    post_signed,
):
    contact = ContactFactory(phone=PHONE)
    recipient = handed_over_not_recorded()
    data = {"MessageSid": "SM23", "MessageStatus": "undelivered", "ErrorCode": "21610",
            "To": PHONE, "ErrorMessage": "Attempt to send to unsubscribed recipient"}  # fmt: skip
    assert post_signed(STATUS, data).status_code == 200
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == "hard"
    ledger = list(ConsentEvent.objects.values_list("phone", "source", "after"))
    assert ledger == [(PHONE, Source.CARRIER, "hard")] * 2  # the number's row, the contact's
    event = InboundEvent.objects.get()
    assert event.processed_at is None and event.error == inbound.NOT_RECORDED_YET
    Recipient.objects.filter(pk=recipient.pk).update(status="sent", sid="SM23")  # the batch ends
    assert sweep() == [(event.key, None)]
    recipient.refresh_from_db()
    assert (recipient.status, recipient.error) == ("skipped", data["ErrorMessage"])
    assert list(ConsentEvent.objects.values_list("phone", "source", "after")) == ledger


def test_a_test_send_s_status_is_not_kept_waiting(post_signed, django_user_model):
    broadcast = Broadcast.objects.create(name="B", channel="sms", body="x")
    SentTest.objects.create(broadcast=broadcast, phone=PHONE, sid="SM24",
                            sent_by=django_user_model.objects.create(username="m"))  # fmt: skip
    data = {"MessageSid": "SM24", "MessageStatus": "delivered", "To": PHONE}
    assert post_signed(STATUS, data).status_code == 200
    assert InboundEvent.objects.get().processed_at is not None


def test_a_status_waits_as_long_as_a_batch_may_live(post_signed, settings):
    settings.BROADCAST_SEND_TIMEOUT = 3600  # an operator's longer batches
    data = {"MessageSid": "SM25", "MessageStatus": "delivered", "To": PHONE}
    post_signed(STATUS, data)
    with time_machine.travel(timezone.now() + inbound.STATUS_WAIT + timedelta(seconds=2)):
        [(_, error)] = sweep()
        assert isinstance(error, inbound.MessageNotRecordedYet)  # still kept
    with time_machine.travel(timezone.now() + timedelta(seconds=3602)):
        assert sweep() == [(InboundEvent.objects.get().key, None)]


def test_a_start_after_a_kept_carrier_opt_out_outlives_the_retry(post_signed, sms):
    contact = ContactFactory(phone=PHONE)
    recipient = handed_over_not_recorded()
    data = {"MessageSid": "SM26", "MessageStatus": "undelivered", "ErrorCode": "21610",
            "To": PHONE}  # fmt: skip
    assert post_signed(STATUS, data).status_code == 200
    sms("START")  # the contact's own new consent, while the status waits for its message
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == "subscribed"
    ledger = ConsentEvent.objects.count()
    [(key, error)] = sweep()
    assert isinstance(error, inbound.MessageNotRecordedYet)  # still waiting
    Recipient.objects.filter(pk=recipient.pk).update(status="sent", sid="SM26")
    assert sweep() == [(key, None)]
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == "subscribed"
    assert ConsentEvent.objects.count() == ledger
    assert Recipient.objects.get(pk=recipient.pk).status == "skipped"
