"""A late opt-in is dropped by a carrier's refusal that came after it only where the refusal
revokes its channel: a refusal of texts leaves a late press of the key to receive calls again,
a voice broadcast's refusal a late START of texts (a review found either dropped), unless the
revocation scope then covers every channel."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from contacts.models import Channel, Contact, OptInStatus
from messaging import inbound
from tests.messaging.test_kept_in_order import (
    OFFERED_1,
    PHONE,
    PRESS_1,
    kept_key,
    kept_sms,
    stopped_calls,  # noqa: F401 (fixture)
    sweep,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _scope_by_channel(settings):
    """Before the day every revocation covers every channel."""
    settings.OPT_OUT_SCOPE, settings.OPT_OUT_SCOPE_ALL_FROM = "channel", "2099-01-01"


REFUSAL = {"MessageSid": "SMq", "MessageStatus": "undelivered", "ErrorCode": "21610",
           "To": PHONE, "ErrorMessage": "Unsubscribed recipient"}  # fmt: skip


def test_a_text_refusal_does_not_drop_a_late_press_to_hear_calls_again(
    sms,
    outbox,
    monkeypatch,
    post_signed,
    stopped_calls,  # noqa: F811
):
    contact = stopped_calls  # pressed 9: calls HARD
    sms("STOP", phone=PHONE, sid="SMstop")  # texts HARD too (scope "channel")
    t0 = timezone.now()
    with time_machine.travel(t0 + timedelta(minutes=1)):
        kept_key(post_signed, monkeypatch, OFFERED_1, PRESS_1)  # presses 1: calls again, kept
    with time_machine.travel(t0 + timedelta(minutes=5)):
        # A text (queued before the STOP) is refused by the carrier: texts only.
        assert post_signed("/webhooks/twilio/status/", REFUSAL).status_code == 200
    with time_machine.travel(t0 + timedelta(minutes=10)):
        sweep()
    # Nothing about calls came after the 1: the contact's own consent to calls stands.
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.CALLS) == (
        OptInStatus.SUBSCRIBED
    )


def test_a_voice_refusal_does_not_drop_a_late_start_of_texts(
    sms,
    outbox,
    monkeypatch,
    stopped_calls,  # noqa: F811
):
    contact = stopped_calls  # calls HARD
    sms("STOP", phone=PHONE, sid="SMstop")  # texts HARD
    t0 = timezone.now()
    with time_machine.travel(t0 + timedelta(minutes=1)):
        kept_sms(sms, monkeypatch, "START", "SMstart")  # texts again, kept
    # A voice broadcast's call to the number is refused (21610): calls only.
    with time_machine.travel(t0 + timedelta(minutes=5)), transaction.atomic():
        inbound.keep_carrier_opt_out(PHONE, "recipient:999", "refused", Channel.CALLS)
    with time_machine.travel(t0 + timedelta(minutes=10)):
        sweep()
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == (OptInStatus.SUBSCRIBED)
