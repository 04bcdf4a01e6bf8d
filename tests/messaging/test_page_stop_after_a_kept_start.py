"""A START or YES kept for the worker, processed late, never lifts a revocation the contact
made after it on their subscriptions page or in an import (README, Twilio's webhooks: it "is
dropped if anything came after it"), though the number had opted out already: the page's
revocation of a number stopped already (an expired link stops "each, stopped already or not,
as a STOP is"; under the scope "all", unticking calls covers texts) is kept in the number's
ledger, as one told to staff is. (A cold review found it kept nowhere, and the late START
lifted it.) A carrier's refusal before the START does not drop it.

The ledger is dated by the database's clock, the START by the web host's: here they are one
clock, and what counts as "since" reaches back no further (CLOCKS_MAY_DIFFER_BY), so that the
STOP a few milliseconds before the START does not count as after it."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from contacts import subscriptions
from contacts.models import Channel, Contact, OptInStatus
from messaging import inbound
from messaging.models import InboundEvent
from tests.contacts.test_imports import applied, checked, csv_bytes
from tests.factories import ContactFactory
from tests.messaging.test_kept_in_order import PHONE, kept_sms, status, sweep

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_clock(monkeypatch):
    monkeypatch.setattr(inbound, "CLOCKS_MAY_DIFFER_BY", timedelta(0))


@pytest.mark.parametrize("body", ["START", "YES"])
def test_expired_page_stop_after_a_kept_start_stands(sms, outbox, monkeypatch, settings, body):
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop")
    signed = timezone.now() - timedelta(days=settings.SUBSCRIPTION_LINK_DAYS + 1)
    with time_machine.travel(signed):
        link = subscriptions.link(PHONE)  # in an old broadcast's text
    kept_sms(sms, monkeypatch, body, "SMstart")  # kept for the worker
    # After the START, the contact asks to stop texts on the page of its old link.
    response = Client().post(link, {"form": "stop", "stop": ["sms"]})
    assert "no longer shows what you are subscribed to" in response.content.decode()
    sweep()  # the worker processes the START now
    assert status(contact, Channel.SMS) == OptInStatus.HARD  # their last word: stop


def test_page_revoke_all_after_a_kept_start_stands(sms, outbox, monkeypatch, settings):
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop")  # texts only, under the scope "channel"
    settings.OPT_OUT_SCOPE = "all"  # e.g. OPT_OUT_SCOPE_ALL_FROM has come
    kept_sms(sms, monkeypatch, "START", "SMstart")
    # Unticks calls: a revocation of every channel under the scope "all".
    response = Client().post(subscriptions.link(PHONE), {"keep": []})
    assert "no more" in response.content.decode()
    assert status(contact, Channel.CALLS) == OptInStatus.HARD
    sweep()
    assert status(contact, Channel.SMS) == OptInStatus.HARD


def test_an_import_s_stop_after_a_kept_start_stands(sms, outbox, monkeypatch):
    contact = ContactFactory(name="Ana", phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop")
    kept_sms(sms, monkeypatch, "START", "SMstart")  # kept for the worker
    # After the START: another system's list says the contact stopped texts (hard).
    applied(checked(csv_bytes("name,phone,sms", f"Ana,{PHONE},hard")))
    sweep()
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD


REFUSAL = {"MessageSid": "SMq", "MessageStatus": "undelivered", "ErrorCode": "21610",
           "To": PHONE, "ErrorMessage": "Unsubscribed recipient"}  # fmt: skip


@pytest.mark.parametrize("stopped_before", [True, False])
def test_a_start_after_a_carrier_refusal_both_kept_is_not_lost(sms, outbox, stopped_before):
    """A carrier's refusal is kept as its event, and may be processed late: its ledger rows
    (if any: none where the number had opted out already) are dated then, not when it came.
    The START after it stands: the contact's last word (reviews found it dropped, either
    way)."""
    contact = ContactFactory(phone=PHONE)
    if stopped_before:
        sms("STOP", phone=PHONE, sid="SMstop")
    # A text queued before is refused by the carrier (21610): its status is kept (the
    # database is away from here on). Then the contact texts START; kept too.
    InboundEvent.store(key="status:SMq:undelivered", kind=InboundEvent.Kind.STATUS,
                       payload=REFUSAL, phone=PHONE)  # fmt: skip
    start = {"MessageSid": "SMstart", "From": PHONE, "To": "+14155559999", "Body": "START"}
    InboundEvent.store(key="sms:SMstart", kind=InboundEvent.Kind.SMS, payload=start,
                       phone=PHONE)  # fmt: skip
    # The worker processes both, in the order they came.
    assert [key for key, _ in sweep()] == ["status:SMq:undelivered", "sms:SMstart"]
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == OptInStatus.SUBSCRIBED


def test_a_carrier_refusal_after_a_kept_start_of_a_number_stopped_drops_it(
    sms, outbox, monkeypatch, post_signed
):
    """A review: a refusal of a number stopped already writes no opt-out or ledger row; its
    status, kept as an event, is what says it came after the START."""
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop")  # processed: the number is HARD
    t0 = timezone.now()
    with time_machine.travel(t0 + timedelta(minutes=1)):
        kept_sms(sms, monkeypatch, "START", "SMstart")  # kept for the worker
    with time_machine.travel(t0 + timedelta(minutes=5)):
        # Four minutes after the START, the carrier refuses our text: processed at once.
        assert post_signed("/webhooks/twilio/status/", REFUSAL).status_code == 200
    with time_machine.travel(t0 + timedelta(minutes=10)):
        sweep()  # the START, late
    # The carrier's refusal came after the START: it is dropped, the number stays stopped.
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD
