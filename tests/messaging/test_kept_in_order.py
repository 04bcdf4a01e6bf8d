"""A START, JOIN or 1 kept for the worker (the webhook could not process it in time) is the
contact's word of when it came: processed late (by the worker, or at a retry), it is dropped
where anything came after it (a later reply of the number, whatever it says, or a change
recorded since by staff, the carrier, a review, another reply processed first, or a change
of a contact of the number), so it never lifts the STOP or the 9 sent after it, and the
number may send it again; the confirmation of a kept JOIN never follows a STOP. A reply that
cannot be processed holds up no other."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from broadcasts import sending
from broadcasts import services as broadcasts
from contacts import services
from contacts.models import Channel, ConsentEvent, Contact, OptInStatus, PhoneOptOut, Source
from messaging import inbound
from messaging.models import InboundEvent, ReplyPhrase
from messaging.phrases import teach
from tests.broadcasts.engine import broadcast
from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"
BUSINESS = "+14155559999"
SUBSCRIBED_TEXT = "you're subscribed"


def status(contact: Contact, channel: Channel) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(channel)


def sweep(received_before=None) -> list[tuple[str, Exception | None]]:
    received_before = received_before or timezone.now()
    return list(inbound.process_pending(received_before=received_before))


def later_than_the_clocks_may_differ():
    """A moment after which a reply comes after what was recorded now, whatever the clocks."""
    return timezone.now() + inbound.CLOCKS_MAY_DIFFER_BY + timedelta(seconds=1)


def busy(payload, **reading):
    raise RuntimeError("the database is busy")


def kept_sms(sms, monkeypatch, body: str, sid: str) -> None:
    """A text from PHONE whose processing fails: kept for the worker."""
    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "sms", busy)
        assert sms(body, phone=PHONE, sid=sid).status_code == 200
    assert InboundEvent.objects.get(key=f"sms:{sid}").processed_at is None


def kept_key(post_signed, monkeypatch, path: str, data: dict) -> None:
    """A key pressed on a call, whose processing fails: kept for the worker."""
    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "digits", busy)
        post_signed(path, data)
    key = f"digits:{data['CallSid']}:{data['Digits']}"
    assert InboundEvent.objects.get(key=key).processed_at is None


def subscribed_texts(outbox) -> list[dict]:
    return [message for message in outbox if SUBSCRIBED_TEXT in message["body"]]


def broadcast_reaches(phone: str, settings, outbox) -> bool:
    """Whether an SMS broadcast to everyone, launched and sent now, texts `phone`."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.MARKETING_NEEDS_CONSENT, settings.BROADCAST_RATE = False, 10_000
    outbox.clear()
    launched = broadcast(Channel.SMS)
    broadcasts.launch(broadcast=launched, by_user=UserFactory(role="Manager"))
    sending.run(launched.pk)
    return any(message["to"] == phone for message in outbox)


def test_a_start_kept_for_the_worker_never_lifts_the_stop_sent_after_it(
    sms, outbox, monkeypatch, settings
):
    contact = ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, "START", "SMstart")

    answer = sms("STOP", phone=PHONE, sid="SMstop").content.decode()
    assert "You have been unsubscribed" in answer
    assert status(contact, Channel.SMS) == OptInStatus.HARD

    assert sweep() == [("sms:SMstart", None)]
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert PhoneOptOut.objects.filter(phone=PHONE, channel=Channel.SMS).exists()
    assert not subscribed_texts(outbox)
    assert not broadcast_reaches(PHONE, settings, outbox)


def test_a_start_kept_for_the_worker_never_lifts_a_stop_said_again_after_it(
    sms, outbox, monkeypatch
):
    """Opted out already, the number sends START, then STOP again: the opt-out it stood by
    is older than the START, but the number's last word is to stop."""
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop1")
    kept_sms(sms, monkeypatch, "START", "SMstart")
    sms("Stop texting me", phone=PHONE, sid="SMstop2")
    sweep()
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert not subscribed_texts(outbox)


def test_a_start_kept_for_the_worker_still_lifts_the_stop_sent_before_it(sms, outbox, monkeypatch):
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop")
    with time_machine.travel(later_than_the_clocks_may_differ()):
        kept_sms(sms, monkeypatch, "START", "SMstart")
        assert status(contact, Channel.SMS) == OptInStatus.HARD  # until the worker's look
        assert sweep() == [("sms:SMstart", None)]
    assert status(contact, Channel.SMS) == OptInStatus.SUBSCRIBED
    [late] = subscribed_texts(outbox)  # the confirmation the webhook could not give
    assert late["to"] == PHONE


def test_a_join_kept_for_the_worker_never_lifts_a_soft_opt_out_made_after_it(
    sms, outbox, monkeypatch, admin_role_user
):
    contact = ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, "JOIN", "SMjoin")
    services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=admin_role_user)
    sweep()
    assert status(contact, Channel.SMS) == OptInStatus.SOFT
    assert not subscribed_texts(outbox)  # it may not receive texts


def test_a_kept_join_from_a_web_host_whose_clock_runs_ahead_never_lifts_a_later_opt_out(
    sms, outbox, monkeypatch, admin_role_user
):
    """The web host that kept the JOIN reads its clock a second ahead of the database's,
    which times the ledger: the opt-out recorded just after it must still count as after."""
    contact = ContactFactory(phone=PHONE)
    with time_machine.travel(timezone.now() + inbound.CLOCKS_MAY_DIFFER_BY / 2):
        kept_sms(sms, monkeypatch, "JOIN", "SMjoin")
    services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=admin_role_user)
    assert ConsentEvent.objects.latest("id").at < InboundEvent.objects.get().received_at
    sweep(received_before=timezone.now() + inbound.CLOCKS_MAY_DIFFER_BY)
    assert status(contact, Channel.SMS) == OptInStatus.SOFT
    assert not subscribed_texts(outbox)


# A call back to us from a number that pressed 9 before: the menu offers 1 to hear calls again.
PRESS_1 = {"CallSid": "CA1", "From": PHONE, "To": BUSINESS, "Digits": "1", "Direction": "inbound"}
OFFERED_1 = "/webhooks/twilio/voice/gather/?digit=9&resubscribe=1"
OFFERED_9 = "/webhooks/twilio/voice/gather/?digit=9"


@pytest.fixture
def stopped_calls(db) -> Contact:
    """A contact whose number pressed 9: opted out of calls (hard)."""
    contact = ContactFactory(phone=PHONE)
    services.record_hard_opt_out(
        phone=PHONE, channel=Channel.CALLS, source=Source.DIGIT, words="pressed 9"
    )
    return contact


def test_a_1_kept_for_the_worker_never_lifts_the_9_pressed_after_it(
    post_signed, monkeypatch, stopped_calls
):
    contact = stopped_calls
    kept_key(post_signed, monkeypatch, OFFERED_1, PRESS_1)

    stop = PRESS_1 | {"CallSid": "CA2", "Digits": "9"}
    answer = post_signed(OFFERED_9, stop).content.decode()
    assert "You will receive no more calls from us." in answer
    assert sweep() == [("digits:CA1:1", None)]
    assert status(contact, Channel.CALLS) == OptInStatus.HARD


def test_a_reply_that_cannot_be_processed_holds_up_no_stop_after_it(sms, monkeypatch):
    """A reply that fails every time (a fault in its handling) leaves the number's STOP to be
    recorded at once, as any other."""
    contact = ContactFactory(phone=PHONE)
    handle = inbound.HANDLERS["sms"]

    def fails_on_poison(payload, **reading):
        if payload.get("Body") == "poison":
            raise RuntimeError("a fault")
        return handle(payload, **reading)

    monkeypatch.setitem(inbound.HANDLERS, "sms", fails_on_poison)
    sms("poison", phone=PHONE, sid="SMpoison")
    assert "You have been unsubscribed" in sms("STOP", phone=PHONE, sid="SMstop").content.decode()
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert [key for key, error in sweep() if error] == ["sms:SMpoison"]


def test_a_kept_join_followed_by_another_reply_is_dropped_and_may_be_sent_again(
    sms, outbox, monkeypatch
):
    """Overtaken by any later reply, a JOIN kept for the worker records and answers nothing:
    the number gets no "you're subscribed" it cannot place, and may send JOIN again."""
    from contacts.models import ConsentRecord

    ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, "JOIN", "SMjoin")
    sms("Thanks!", phone=PHONE, sid="SMthanks")
    sweep()
    assert not subscribed_texts(outbox) and not ConsentRecord.objects.exists()
    assert SUBSCRIBED_TEXT in sms("JOIN", phone=PHONE, sid="SMagain").content.decode()
    assert ConsentRecord.objects.get().reference == "sms:SMagain"


@pytest.mark.postgres
def test_a_start_that_waited_too_long_for_its_lock_never_lifts_the_stop_after_it(
    sms, outbox, settings
):
    """As the reviewer found it: an import holds the number while a START comes, past
    INBOUND_LOCK_TIMEOUT; the STOP comes when the import is done."""
    import psycopg

    contact = ContactFactory(phone=PHONE)
    settings.INBOUND_LOCK_TIMEOUT = 0.2
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        # As an import batch holds the numbers of the contacts it writes.
        other.execute("SELECT pg_advisory_xact_lock_shared(hashtextextended(%s, 0))", [PHONE])
        assert sms("START", phone=PHONE, sid="SMstart").status_code == 200
        assert "lock timeout" in InboundEvent.objects.get(key="sms:SMstart").error
        other.rollback()
    assert "You have been unsubscribed" in sms("STOP", phone=PHONE, sid="SMstop").content.decode()
    assert sweep() == [("sms:SMstart", None)]
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert not subscribed_texts(outbox)


# The cases a second review found (each failed with the first form of this rule).


def test_a_reply_to_review_after_a_kept_start_keeps_the_number_held(
    sms, outbox, monkeypatch, settings, django_capture_on_commit_callbacks
):
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop")
    kept_sms(sms, monkeypatch, "START", "SMstart")
    with django_capture_on_commit_callbacks(execute=True):  # as in production
        sms("stop sending me the promos but keep the appointment reminders", phone=PHONE,
            sid="SMmaybe")  # fmt: skip
    sweep()
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert not subscribed_texts(outbox)
    assert not broadcast_reaches(PHONE, settings, outbox)


def test_a_request_to_stop_told_to_staff_after_a_kept_start_stands(sms, outbox, monkeypatch):
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop")
    kept_sms(sms, monkeypatch, "START", "SMstart")
    services.record_revocation(  # as contacts.consent_views.record_request_to_stop does
        phone=PHONE, channel=Channel.SMS, source=Source.TOLD,
        words="please never text me again", matched="told ana by phone",
    )  # fmt: skip
    sweep()
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert not subscribed_texts(outbox)


def test_a_stop_said_again_in_a_phrase_since_changed_stands(
    sms, outbox, monkeypatch, admin_role_user
):
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop")
    kept_sms(sms, monkeypatch, "START", "SMstart")
    teach(words="I am done with you people", meaning=ReplyPhrase.Meaning.OPT_OUT,
          by=admin_role_user, may_change=False)  # fmt: skip
    sms("I am done with you people", phone=PHONE, sid="SMagain")
    teach(words="I am done with you people", meaning=ReplyPhrase.Meaning.ORDINARY,
          by=admin_role_user, may_change=True)  # fmt: skip
    sweep()
    assert status(contact, Channel.SMS) == OptInStatus.HARD


def test_a_start_after_a_stop_both_kept_lifts_nothing_and_may_be_sent_again(
    sms, outbox, monkeypatch
):
    """Its processing came after the STOP's, which it cannot tell from a STOP sent after it:
    the STOP stands, and nothing is texted; a START sent again lifts it."""
    contact = ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, "STOP", "SMstop")
    kept_sms(sms, monkeypatch, "START", "SMstart")
    assert [error for _, error in sweep()] == [None, None]
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert not subscribed_texts(outbox)
    assert SUBSCRIBED_TEXT in sms("START", phone=PHONE, sid="SMagain").content.decode()
    assert status(contact, Channel.SMS) == OptInStatus.SUBSCRIBED


def test_a_retry_of_a_kept_start_after_a_stop_is_late_too(sms, outbox, monkeypatch):
    """Twilio's retry of the kept START reaches the webhook, which finds it kept: it is
    processed as the worker would."""
    contact = ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, "START", "SMstart")
    assert "You have been unsubscribed" in sms("STOP", phone=PHONE, sid="SMstop").content.decode()
    retry = sms("START", phone=PHONE, sid="SMstart").content.decode()
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert SUBSCRIBED_TEXT not in retry


def test_a_retry_of_a_kept_1_after_a_9_is_late_too(post_signed, monkeypatch, stopped_calls):
    kept_key(post_signed, monkeypatch, OFFERED_1, PRESS_1)
    post_signed(OFFERED_9, PRESS_1 | {"CallSid": "CA2", "Digits": "9"})
    post_signed(OFFERED_1, PRESS_1)  # the retry
    assert status(stopped_calls, Channel.CALLS) == OptInStatus.HARD


def test_a_review_confirmed_after_a_kept_start_stands(
    sms, outbox, monkeypatch, staff_user, client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from messaging.models import PossibleOptOut

    contact = ContactFactory(phone=PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        sms("stop sending me the promos but keep the appointment reminders", phone=PHONE,
            sid="SMmaybe")  # fmt: skip
    kept_sms(sms, monkeypatch, "START", "SMstart")
    client.force_login(staff_user)
    review = PossibleOptOut.objects.get(phone=PHONE)
    client.post(reverse("messaging:decide", args=[review.pk]),
                {"decision": "confirmed", "sure": "yes"})  # fmt: skip
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    sweep()
    assert status(contact, Channel.SMS) == OptInStatus.HARD


def test_a_late_start_leaves_a_contact_who_moved_onto_the_number_since_as_they_were(
    sms, outbox, monkeypatch, admin_role_user
):
    ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, "START", "SMstart")
    bob = ContactFactory(phone="+14155550777")
    services.unsubscribe(contact=bob, channel=Channel.SMS, by_user=admin_role_user)
    bob.phone = PHONE
    bob.save()
    sweep()
    assert status(bob, Channel.SMS) == OptInStatus.SOFT


@pytest.mark.parametrize("keyword", ["JOIN", "START"])
@pytest.mark.parametrize("processed_by", ["the worker", "Twilio's retry"])
def test_no_confirmation_to_a_holder_who_said_wrong_number_after_a_kept_keyword(
    sms, outbox, monkeypatch, keyword, processed_by
):
    ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, keyword, "SMjoin")
    sms("Wrong number", phone=PHONE, sid="SMwrong")
    outbox.clear()
    if processed_by == "Twilio's retry":
        assert SUBSCRIBED_TEXT not in sms(keyword, phone=PHONE, sid="SMjoin").content.decode()
    sweep()
    assert not [message for message in outbox if message["to"] == PHONE]


# The cases a fifth review found.


@pytest.mark.parametrize("start", ["kept", "processed at once"])
def test_a_retry_of_a_processed_start_after_a_stop_replays_no_confirmation(
    sms, outbox, monkeypatch, start
):
    """Twilio retries a START the app has answered already; the number sent STOP since: the
    retry is answered with nothing, not the "you're subscribed" kept for it."""
    contact = ContactFactory(phone=PHONE)
    if start == "kept":
        kept_sms(sms, monkeypatch, "START", "SMstart")
        sweep()
    else:
        sms("START", phone=PHONE, sid="SMstart")
    sms("STOP", phone=PHONE, sid="SMstop")
    retry = sms("START", phone=PHONE, sid="SMstart").content.decode()
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert SUBSCRIBED_TEXT not in retry


def test_a_retry_of_a_processed_start_with_nothing_since_gets_its_answer_again(sms, outbox):
    ContactFactory(phone=PHONE)
    first = sms("START", phone=PHONE, sid="SMstart").content.decode()
    assert SUBSCRIBED_TEXT in first
    assert sms("START", phone=PHONE, sid="SMstart").content.decode() == first


@pytest.mark.parametrize("keyword", ["START", "JOIN"])
def test_a_wrong_number_said_during_the_sweep_gets_no_late_confirmation(
    sms, outbox, monkeypatch, keyword
):
    ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, keyword, "SMjoin")
    pending = inbound.process_pending(received_before=timezone.now())
    assert next(pending) == ("sms:SMjoin", None)  # processed; its confirmation waits
    sms("Wrong number", phone=PHONE, sid="SMwrong")  # processed at once
    outbox.clear()
    list(pending)
    assert not [message for message in outbox if message["to"] == PHONE]


RACE = """
import threading
import django
django.setup()
from django.db import connection
from django.utils import timezone
from contacts import services
from contacts.models import Channel, ConsentEvent, Contact, PhoneOptOut
from messaging import inbound
from messaging.models import InboundEvent

PHONE = "+14155550123"
contact = services.create_contact(name="Ann", phone=PHONE)


def webhook(sid, body):
    payload = {"MessageSid": sid, "From": PHONE, "To": "+14155559999", "Body": body}
    InboundEvent.store(key=f"sms:{sid}", kind="sms", payload=payload, phone=PHONE)
    return inbound.process(f"sms:{sid}")


def stop_again():
    try:
        webhook("SMstop2", "STOP")
    finally:
        connection.close()


webhook("SMstop1", "STOP")
payload = {"MessageSid": "SMstart", "From": PHONE, "To": "+14155559999", "Body": "START"}
InboundEvent.store(key="sms:SMstart", kind="sms", payload=payload, phone=PHONE)  # kept
looked = inbound._overtaken
other = threading.Thread(target=stop_again)


def a_stop_comes_as_it_looks(*args, **kwargs):
    found = looked(*args, **kwargs)  # under the number's lock: a STOP waits for the commit
    other.start()
    other.join(2)
    print("the STOP waited:", other.is_alive())
    return found


inbound._overtaken = a_stop_comes_as_it_looks
list(inbound.process_pending(received_before=timezone.now()))
other.join(60)
print("opted out:", PhoneOptOut.objects.filter(phone=PHONE, channel="sms").exists())
print("status:", Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS))
"""


@pytest.mark.postgres
def test_a_stop_that_comes_while_a_late_start_is_applied_is_applied_after_it(request):
    """The STOP waits for the START's commit, then stands: the START's look and its lifting
    are one step under the number's lock."""
    lines = run(RACE, request.getfixturevalue("migrated")).splitlines()
    assert lines == ["the STOP waited: True", "opted out: True", "status: hard"], lines
