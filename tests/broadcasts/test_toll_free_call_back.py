"""A call gives a toll-free number to call back and stop the calls: a prerecorded message left
on a voicemail must, where it advertises or is made without consent under an exemption (47
CFR 64.1200(b)(3), extended to the latter by FCC 20-186), and the app can tell neither a
voicemail from a person nor every exemption from consent. The calls named TWILIO_FROM_NUMBER,
whatever it was: a business that calls from a local number left voicemails with no
toll-free way to stop them."""

import re
from datetime import timedelta

import pytest
from django.core import checks
from django.urls import reverse
from django.utils import timezone

from broadcasts import services
from broadcasts.models import Broadcast
from contacts.phones import is_toll_free
from messaging.backends import LocmemBackend
from tests.broadcasts.engine import broadcast, launched, sent_to
from tests.factories import ContactFactory

NEW = reverse("broadcasts:new")
LOCAL = "+14155550111"  # the number the calls come from: a local one
TOLL_FREE = "+18885550123"
NOT_TOLL_FREE = "A call must give a toll-free number to call back"


@pytest.fixture(autouse=True)
def _calls_from_a_local_number(settings):
    settings.TWILIO_FROM_NUMBER = LOCAL
    settings.CALL_BACK_NUMBER = ""


def voice_form(**fields) -> dict:
    return {"name": "Whitening", "channel": "calls", "script": "Whitening, half price.",
            "unsubscribe_digit": "9", **fields}  # fmt: skip


def said() -> str:
    """What the one call placed says, its words alone."""
    [call] = LocmemBackend.outbox
    return " ".join(re.findall(r"<Say>(.*?)</Say>", call["body"]))


@pytest.mark.parametrize(
    ("number", "toll_free"),
    [("+18005550100", True), ("+18335550100", True), ("+18885550123", True),
     ("+14155550100", False), ("+448001234567", False), ("", False)],
)  # fmt: skip
def test_a_toll_free_number_is_one_of_north_america_s_free_codes(number, toll_free):
    """A British freephone number is not free to call from the US."""
    assert is_toll_free(number) == toll_free


@pytest.mark.parametrize("purpose", ["marketing", "informational"])
def test_a_call_from_a_local_number_alone_is_refused(manager_client, purpose):
    fields = {"purpose": purpose, "script": "The office is closed today."}
    page = manager_client.post(NEW, voice_form(**fields)).content.decode()
    assert NOT_TOLL_FREE in page
    assert "TWILIO_FROM_NUMBER (+14155550111) is not a toll-free number" in page
    assert "sets CALL_BACK_NUMBER" in page
    assert not Broadcast.objects.exists()


def test_with_a_toll_free_number_to_call_back_a_call_gives_it(
    manager_client, manager_user, settings, django_capture_on_commit_callbacks
):
    """Right after the key, and again at its end; the call still comes from the local
    number, and calling the toll-free one reaches the same menu (the voice webhook)."""
    settings.CALL_BACK_NUMBER = "(888) 555-0123"
    ContactFactory(phone="+12125550100")
    assert manager_client.post(NEW, voice_form()).status_code == 302
    launched(Broadcast.objects.get(), manager_user, django_capture_on_commit_callbacks)
    assert sent_to() == ["+12125550100"]
    call = said()
    assert call.startswith(
        "This is Demo Dental. To stop our calls, press 9 at any time, or call "
        "8 8 8, 5 5 5, 0 1 2 3 toll-free. Whitening, half price."
    )
    assert call.endswith("or call us back at 8 8 8, 5 5 5, 0 1 2 3 and press 9.")
    assert "4 1 5, 5 5 5, 0 1 1 1" not in call


def test_a_call_broadcast_sending_when_the_settings_change_places_no_more_calls(
    manager_user, settings, django_capture_on_commit_callbacks
):
    """A cold review: launched while there was a toll-free number, a broadcast still sending
    (or deferred by quiet hours) when the setting went placed its calls without one."""
    settings.CALL_BACK_NUMBER = TOLL_FREE
    ContactFactory(phone="+12125550100")
    sending = broadcast("calls", script="Closed today.", purpose="informational")
    from broadcasts import sending as engine

    services.start(sending)
    settings.CALL_BACK_NUMBER = ""
    engine.send_batch(sending, engine.claim(sending))
    assert sent_to() == []
    [recipient] = sending.recipients.all()
    assert recipient.status == "skipped" and recipient.error.startswith(
        f"Not placed: {NOT_TOLL_FREE}"
    )


def test_a_draft_saved_while_there_was_one_is_not_launched(manager_client, manager_user, settings):
    ContactFactory()
    settings.CALL_BACK_NUMBER = TOLL_FREE
    manager_client.post(NEW, voice_form())
    draft = Broadcast.objects.get()
    settings.CALL_BACK_NUMBER = ""  # the settings changed since
    page = manager_client.get(reverse("broadcasts:launch", args=[draft.pk]), follow=True)
    assert f"Not launched. {NOT_TOLL_FREE}" in page.content.decode()
    with pytest.raises(services.CannotBePlaced):
        services.launch(broadcast=draft, by_user=manager_user)
    assert Broadcast.objects.get().status == "draft" and sent_to() == []


def test_a_scheduled_one_goes_back_to_draft_at_its_time(db):
    ContactFactory()
    scheduled = broadcast("calls", status=Broadcast.Status.SCHEDULED,
                          send_at=timezone.now() - timedelta(minutes=1))  # fmt: skip
    assert not services.start_due(broadcast_id=scheduled.pk)
    scheduled.refresh_from_db()
    assert scheduled.status == "draft" and sent_to() == []


def test_a_draft_s_page_calls_no_number_toll_free_that_is_not(manager_client, settings):
    """Saved while there was one; the settings changed since: the page says what a call
    would say, were it placed."""
    draft = broadcast("calls", script="Whitening, half price.")
    page = manager_client.get(reverse("broadcasts:detail", args=[draft.pk])).content.decode()
    assert "toll-free." not in page
    assert "press 9 at any time.”" in page
    settings.CALL_BACK_NUMBER = TOLL_FREE
    page = manager_client.get(reverse("broadcasts:detail", args=[draft.pk])).content.decode()
    assert "press 9 at any time, or call 8 8 8, 5 5 5, 0 1 2 3 toll-free.”" in page


def test_a_call_back_number_that_is_no_number_is_named(settings):
    settings.CALL_BACK_NUMBER = "0800 FREE"
    why = Broadcast(channel="calls").cannot_be_placed()
    assert "CALL_BACK_NUMBER (0800 FREE) is not a toll-free number" in why


def test_check_deploy_warns_that_no_marketing_call_can_be_launched(settings):
    def warned() -> list:
        found = checks.run_checks(include_deployment_checks=True)
        return [message for message in found if message.id == "messaging.W006"]

    [warning] = warned()
    assert "CALL_BACK_NUMBER" in warning.hint
    settings.CALL_BACK_NUMBER = TOLL_FREE
    assert warned() == []


def test_make_run_s_demo_names_a_toll_free_number_of_its_own(settings):
    settings.DEBUG, settings.TWILIO_FROM_NUMBER = True, ""
    assert not Broadcast(channel="calls").cannot_be_placed()
    settings.DEBUG = False  # no number is made up outside the demo
    assert NOT_TOLL_FREE in Broadcast(channel="calls").cannot_be_placed()


def test_a_call_with_no_number_to_come_from_is_refused_by_the_form(manager_client, settings):
    """Twilio with a Messaging Service, which sends texts only, and no TWILIO_FROM_NUMBER: a
    cold review found such a call saved, to be refused at its launch only."""
    settings.MESSAGING_BACKEND = "twilio"
    settings.TWILIO_FROM_NUMBER = ""
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG0123456789abcdef0123456789abcdef"
    settings.CALL_BACK_NUMBER = TOLL_FREE
    page = manager_client.post(NEW, voice_form()).content.decode()
    assert "Calls are placed from TWILIO_FROM_NUMBER, which is not set" in page
    assert not Broadcast.objects.exists()
    settings.TWILIO_FROM_NUMBER = LOCAL
    assert manager_client.post(NEW, voice_form()).status_code == 302
