"""A broadcast's call states a telephone number of the business, other than the one calling
(47 CFR 64.1200(b)(2)), and the number to call back to stop the calls, which a voicemail must
give (64.1200(b)(3)); without a number of the business, no voice broadcast is launched. A
cold review of the voice path found calls that stated an e-mail address, and voicemails that
said "call us back" without the number."""

import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.core import checks
from django.urls import reverse
from django.utils import timezone

from broadcasts import services
from broadcasts.models import Broadcast
from messaging.twiml import voice_message
from tests.broadcasts.engine import broadcast, sent_to
from tests.factories import ContactFactory

NEW = reverse("broadcasts:new")
CALLING = "+18885550199"  # TWILIO_FROM_NUMBER: our calls come from it, and its menu stops them


@pytest.fixture(autouse=True)
def _a_business_that_writes_from_the_web(settings):
    settings.BUSINESS_NAME = "Smile Dental"
    settings.BUSINESS_CONTACT = "smiledental.example/help"  # for the reply to HELP
    settings.BUSINESS_PHONE = ""
    settings.TWILIO_FROM_NUMBER = CALLING


def said(**message) -> str:
    twiml = voice_message(digit="9", **message)
    return " ".join(step.text or "" for step in ElementTree.fromstring(twiml).iter("Say"))


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_a_call_states_the_business_phone_and_the_number_to_call_back(settings):
    settings.BUSINESS_PHONE = "(415) 555-0100"
    call = said(script="Your cleaning is due.")
    assert "You can reach Smile Dental at 4 1 5, 5 5 5, 0 1 0 0." in call
    assert "or call us back at 8 8 8, 5 5 5, 0 1 9 9 and press 9." in call
    assert "smiledental.example" not in call


def test_a_business_contact_that_is_a_phone_number_is_the_one_stated(settings):
    settings.BUSINESS_CONTACT = "415-555-0100"
    assert "4155550100" in digits(said(script="Hi"))


def voice_form(**fields) -> dict:
    return {"name": "Recall", "channel": "calls", "script": "Your cleaning is due.",
            "unsubscribe_digit": "9", **fields}  # fmt: skip


@pytest.mark.parametrize("business_phone", ["", "not a number", CALLING])
def test_without_a_number_of_the_business_no_voice_broadcast_is_saved(
    manager_client, settings, business_phone
):
    settings.BUSINESS_PHONE = business_phone  # none, none readable, or the number calling
    page = manager_client.post(NEW, voice_form()).content.decode()
    assert "Calls must state a telephone number where the business can be reached" in page
    assert not Broadcast.objects.exists()
    texts = manager_client.post(NEW, {"name": "Hi", "channel": "sms", "body": "Hi"})
    assert texts.status_code == 302  # texts state no number: saved


def test_a_draft_saved_before_is_not_launched(manager_client, manager_user, settings):
    ContactFactory()
    settings.BUSINESS_PHONE = "(415) 555-0100"
    manager_client.post(NEW, voice_form())
    draft = Broadcast.objects.get()
    settings.BUSINESS_PHONE = ""  # the settings changed since
    page = manager_client.get(reverse("broadcasts:launch", args=[draft.pk]), follow=True)
    assert "Not launched. Calls must state a telephone number" in page.content.decode()
    with pytest.raises(services.CannotBePlaced):
        services.launch(broadcast=draft, by_user=manager_user)
    sent = manager_client.post(reverse("broadcasts:launch", args=[draft.pk]), follow=True)
    assert "Not launched. Calls must state" in sent.content.decode()
    assert Broadcast.objects.get().status == "draft" and sent_to() == []


def test_a_scheduled_one_goes_back_to_draft_at_its_time(db):
    ContactFactory()
    scheduled = broadcast("calls", status=Broadcast.Status.SCHEDULED,
                          send_at=timezone.now() - timedelta(minutes=1))  # fmt: skip
    assert not services.start_due(broadcast_id=scheduled.pk)
    scheduled.refresh_from_db()
    assert scheduled.status == "draft" and not scheduled.recipients.exists()


def test_check_deploy_warns_that_no_voice_broadcast_can_be_launched():
    warnings = [m for m in checks.run_checks(include_deployment_checks=True)
                if m.id == "messaging.W005"]  # fmt: skip
    assert len(warnings) == 1 and "BUSINESS_PHONE" in warnings[0].hint


def test_the_demo_s_number_is_not_the_business_s(settings):
    """A cold review: with neither BUSINESS_PHONE nor BUSINESS_CONTACT set, the calls stated
    the demo's "(415) 555-9999" (DEBUG is off here, as in production)."""
    settings.BUSINESS_CONTACT = settings.DEMO_BUSINESS_CONTACT
    assert "and none is set" in Broadcast(channel="calls").cannot_be_placed()
    settings.DEBUG = True  # make run's demo
    assert not Broadcast(channel="calls").cannot_be_placed()


def test_a_number_with_an_extension_is_refused_by_name(settings):
    settings.BUSINESS_PHONE = "(415) 555-0100 ext 12"
    why = Broadcast(channel="calls").cannot_be_placed()
    assert "BUSINESS_PHONE ((415) 555-0100 ext 12) is not such a number" in why


def test_the_calling_number_written_without_plus_is_still_the_calling_number(settings):
    settings.TWILIO_FROM_NUMBER, settings.BUSINESS_PHONE = "18885550199", "+1 888 555 0199"
    assert Broadcast(channel="calls").cannot_be_placed()
    settings.BUSINESS_PHONE = "(415) 555-0100"
    assert "call us back at 8 8 8, 5 5 5, 0 1 9 9 and press 9" in said(script="Hi")


def test_the_demo_s_number_set_as_business_phone_is_none_either(settings):
    """A second review: refused from BUSINESS_CONTACT, it was taken from BUSINESS_PHONE."""
    settings.BUSINESS_PHONE = settings.DEMO_BUSINESS_CONTACT
    assert "is not such a number" in Broadcast(channel="calls").cannot_be_placed()


def test_a_draft_that_cannot_be_placed_still_shows_words_of_its_close(settings):
    settings.BUSINESS_PHONE = ""
    assert "You can reach Smile Dental at smiledental.example/help." in said(script="Hi")
