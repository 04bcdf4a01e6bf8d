"""Consent that did not come from the phone itself (a web form, a paper form an Admin records)
waits for the number's own YES: one text asks for it, the record is "awaiting confirmation"
and marketing leaves the contact out until a YES within 30 days confirms it, with the YES as
its proof."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.models import Channel, ConsentRecord, OptInStatus, Source, consent_on_record
from messaging.models import InboundEvent, OutboundMessage, PossibleOptOut
from tests.factories import ContactFactory
from tests.messaging.test_keyword_consent import PHONE, reply

pytestmark = pytest.mark.django_db

FORM = {"channels": ["sms", "calls"], "method": "web_form", "confirm_by_text": "on"}


def recorded(admin_client, contact, **form):
    data = FORM | {"given_on": timezone.localdate().isoformat()} | form
    return admin_client.post(reverse("contacts:consent", args=[contact.pk]), data, follow=True)


def test_a_web_form_consent_waits_for_the_number_s_yes(admin_client, sms, outbox):
    contact = ContactFactory(phone=PHONE, name="Dee")
    page = recorded(admin_client, contact).content.decode()
    assert "Dee: consent to SMS and Calls &amp; Voicemails recorded, awaiting confirmation." in page
    assert "A text asked the number to reply YES within 30 days to confirm it." in page
    [prompt] = outbox
    assert prompt["to"] == PHONE and prompt["body"] == (
        "Demo Dental: reply YES to confirm you want reminders and offers by text and calls, up "
        "to 4 msgs/mo. Msg & data rates may apply. Reply HELP for help, STOP to cancel."
    )
    assert OutboundMessage.objects.get().sid == prompt["sid"]  # in the outbox and evidence
    assert set(ConsentRecord.objects.values_list("status", flat=True)) == {"awaiting"}
    contacts = type(contact).objects.filter(pk=contact.pk)
    assert not contacts.filter(consent_on_record(Channel.SMS)).exists()

    answer = reply(sms("Yes!", sid="SMyes1"))
    assert answer.startswith("Demo Dental: you're subscribed to reminders and offers")
    records = ConsentRecord.objects.all()
    assert {(r.status, r.confirmation) for r in records} == {("confirmed", "sms:SMyes1")}
    assert all(r.confirmed_at == InboundEvent.objects.get().received_at for r in records)
    assert contacts.filter(consent_on_record(Channel.CALLS)).exists()
    assert not ConsentRecord.objects.filter(method="keyword").exists()  # the YES is the proof


def test_a_yes_after_thirty_days_confirms_nothing(sms, outbox):
    contact = ContactFactory(phone=PHONE)
    services.record_consent(
        phone=PHONE, channel=Channel.SMS, method="web_form", given_at=timezone.now(),
        awaiting=True, contact=contact,
    )  # fmt: skip
    services.ask_to_confirm(PHONE, [Channel.SMS])
    later = timezone.now() + timedelta(days=31)
    assert services.confirm_awaited(phone=PHONE, reference="sms:SMlate", at=later) == 0
    assert ConsentRecord.objects.get().status == "awaiting"
    assert services.confirm_awaited(phone=PHONE, reference="sms:SMok", at=timezone.now()) == 1


def test_no_prompt_to_a_number_that_opted_out_of_texts(admin_client, outbox):
    contact = ContactFactory(phone=PHONE)
    services.record_hard_opt_out(phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD)
    page = recorded(admin_client, contact, channels=["calls"]).content.decode()
    assert "No text asked to confirm it: the number opted out of texts." in page
    assert not outbox
    assert ConsentRecord.objects.get().status == "awaiting"


def test_a_web_form_is_always_confirmed_by_text_and_paper_may_be_not(admin_client, outbox):
    contact = ContactFactory(phone=PHONE)
    page = recorded(admin_client, contact, confirm_by_text="").content.decode()
    assert "Consent from a web form holds once the number confirms it: tick this." in page
    assert not ConsentRecord.objects.exists() and not outbox
    recorded(admin_client, contact, method="paper", confirm_by_text="")
    assert set(ConsentRecord.objects.values_list("status", flat=True)) == {"confirmed"}
    assert not outbox


def test_a_yes_from_an_opted_out_number_lifts_it_but_confirms_nothing_unasked(sms, outbox):
    contact = ContactFactory(phone=PHONE)
    services.record_consent(
        phone=PHONE, channel=Channel.SMS, method="web_form", given_at=timezone.now(),
        awaiting=True,
    )  # fmt: skip
    services.record_hard_opt_out(phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD)
    reply(sms("YES"))
    assert type(contact).objects.get(pk=contact.pk).opt_in_status("sms") == OptInStatus.SUBSCRIBED
    # No prompt went to the opted-out number: its YES was for texts, not for what awaits.
    assert not ConsentRecord.objects.filter(status="confirmed", method="web_form").exists()


def test_no_prompt_to_a_number_reported_reassigned(admin_client, outbox):
    contact = ContactFactory(phone=PHONE)
    services.record_reassigned(phone=PHONE, how="reply", words="Wrong number")
    page = recorded(admin_client, contact).content.decode()
    assert "No text asked to confirm it: the number was reported reassigned (replied" in page
    assert "Check the contact&#x27;s number first." in page
    assert not outbox


def test_a_yes_confirms_only_what_a_prompt_asked_about(sms, outbox):
    """No prompt (the number opted out of texts, or the prompt failed): a YES confirms
    nothing; a prompt about texts: a YES confirms texts, not calls recorded since."""
    contact = ContactFactory(phone=PHONE)
    services.record_consent(phone=PHONE, channel=Channel.CALLS, method="web_form",
                            given_at=timezone.now(), awaiting=True)  # fmt: skip
    reply(sms("YES", sid="SMyes0"))
    assert set(ConsentRecord.objects.values_list("status", flat=True)) == {"awaiting"}
    services.record_consent(phone=PHONE, channel=Channel.SMS, method="web_form",
                            given_at=timezone.now(), awaiting=True)  # fmt: skip
    services.ask_to_confirm(PHONE, [Channel.SMS])
    reply(sms("YES", sid="SMyes1"))
    statuses = dict(ConsentRecord.objects.values_list("channel", "status"))
    assert statuses == {"sms": "confirmed", "calls": "awaiting"}
    assert contact.pk


@pytest.mark.parametrize("why", ["not active", "awaiting review"])
def test_no_prompt_to_a_number_that_must_not_be_texted(outbox, why):
    contact = ContactFactory(phone=PHONE)
    services.record_consent(phone=PHONE, channel=Channel.SMS, method="web_form",
                            given_at=timezone.now(), awaiting=True)  # fmt: skip
    if why == "not active":
        contact.status = "do_not_contact"
        contact.save()
    else:
        PossibleOptOut.objects.create(phone=PHONE, words="who is this", matched="x")
    said = services.ask_to_confirm(PHONE, [Channel.SMS])
    assert said.startswith(
        "No text asked to confirm it: a contact with the number is not active: record the consent "
        "again once it is."
        if why == "not active"
        else "A text will ask the number to reply YES within 30 days to confirm it, held to be "
        "looked at again in 5 minutes (a reply of the number waits in Possible opt-outs)."
    )
    assert not outbox
