import threading
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import Channel, ConsentEvent, Contact, OptInStatus, PhoneOptOut
from messaging import inbound
from messaging.models import InboundEvent, PossibleOptOut
from tests.factories import ContactFactory
from tests.locks import wait_for_lock_waiters
from tests.messaging.conftest import FORM, sign

PHONE = "+14155550123"
LONG = 120  # seconds: how long a thread may take before the test gives up on it


def sms_status(contact: Contact) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS)


def test_stop_hard_opts_out_every_contact_with_the_number_and_confirms(sms):
    first, second = ContactFactory(phone=PHONE), ContactFactory(phone=PHONE)
    other = ContactFactory(phone="+14155550124")
    response = sms(" Stop. ")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    reply = response.content.decode()
    assert "You have been unsubscribed from Demo Dental" in reply
    assert "Reply START to resubscribe." in reply
    assert sms_status(first) == sms_status(second) == OptInStatus.HARD
    assert sms_status(other) == OptInStatus.SUBSCRIBED
    opt_out = Contact.objects.get(pk=first.pk).opt_out_for(Channel.SMS)
    assert (opt_out.source, opt_out.words) == ("keyword", " Stop. ")


def test_a_contact_created_after_the_stop_is_opted_out(sms):
    sms("STOP")
    assert sms_status(ContactFactory(phone=PHONE)) == OptInStatus.HARD


def test_start_after_stop_resubscribes_as_the_contacts_own_consent(sms):
    contact = ContactFactory(phone=PHONE)
    sms("STOP")
    response = sms("start")
    assert "subscribed to reminders and offers" in response.content.decode()
    assert sms_status(contact) == OptInStatus.SUBSCRIBED
    latest = ConsentEvent.objects.filter(contact=contact).first()
    assert (latest.before, latest.after, latest.source, latest.actor) == (
        "hard", "subscribed", "keyword", None,
    )  # fmt: skip


def test_help_replies_and_changes_nothing(sms):
    contact = ContactFactory(phone=PHONE)
    reply = sms("HELP").content.decode()
    assert "Demo Dental: help at (415) 555-9999. Reply STOP to opt out." in reply
    assert sms_status(contact) == OptInStatus.SUBSCRIBED


def test_a_clear_request_in_a_sentence_opts_out(sms):
    contact = ContactFactory(phone=PHONE)
    sms("please stop texting me")
    assert sms_status(contact) == OptInStatus.HARD


def test_a_possible_opt_out_waits_for_review_and_changes_nothing(sms):
    contact = ContactFactory(phone=PHONE)
    words = "stop sending me the promos but keep the appointment reminders"
    reply = sms(words).content.decode()
    assert "<Message>" not in reply
    assert sms_status(contact) == OptInStatus.SUBSCRIBED
    review = PossibleOptOut.objects.get()
    assert (review.phone, review.words, review.decision) == (PHONE, words, "pending")
    assert review.matched == "request “stop sending me the promos” that keeps some messages"


def test_a_keyword_inside_another_meaning_changes_nothing_and_waits_for_no_one(sms):
    contact = ContactFactory(phone=PHONE)
    assert "<Message>" not in sms("Cancel my appointment").content.decode()
    assert sms_status(contact) == OptInStatus.SUBSCRIBED
    assert not PossibleOptOut.objects.exists()


def test_a_retried_request_is_processed_once_with_the_same_answer(sms):
    ContactFactory(phone=PHONE)
    first = sms("STOP", sid="SMretried")
    again = sms("STOP", sid="SMretried")
    assert again.status_code == 200
    assert again.content == first.content
    assert InboundEvent.objects.count() == 1
    assert ConsentEvent.objects.filter(phone=PHONE, contact__isnull=False).count() == 1


def on_its_own_connection(function) -> threading.Thread:
    """Start `function` in a thread, on a connection of its own: what it writes is committed,
    outside the test's transaction."""

    def run() -> None:
        try:
            function()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
def test_a_retry_that_comes_while_the_first_is_processed_waits_for_its_answer(db, monkeypatch):
    """Twilio's retry can come before the first request is answered: it waits for the event's
    lock, then answers with the first's answer, and the handler runs once."""
    key = "sms:SMtwice"
    inside, release, calls, answers = threading.Event(), threading.Event(), [], {}

    def slow(payload, **reading):
        calls.append(payload)
        inside.set()
        release.wait(LONG)
        return "<Response/>"

    def deliver(name: str):
        return lambda: answers.setdefault(name, inbound.process(key).response)

    monkeypatch.setitem(inbound.HANDLERS, "sms", slow)
    store = lambda: InboundEvent.store(key=key, kind="sms", payload={"From": PHONE})  # noqa: E731
    on_its_own_connection(store).join(LONG)
    try:
        first = on_its_own_connection(deliver("first"))
        assert inside.wait(LONG)
        retry = on_its_own_connection(deliver("retry"))
        # It waits for the first's lock (seen in PostgreSQL, not guessed from a time).
        assert wait_for_lock_waiters(1, unless=lambda: not retry.is_alive())
        release.set()
        first.join(LONG)
        retry.join(LONG)
        assert answers == {"first": "<Response/>", "retry": "<Response/>"}
        assert len(calls) == 1
    finally:
        release.set()
        on_its_own_connection(InboundEvent.objects.filter(key=key).delete).join(LONG)


def test_a_bad_or_missing_signature_is_refused_and_nothing_is_recorded(client, db):
    data = urlencode({"MessageSid": "SM1", "From": PHONE, "Body": "STOP"})
    bad = client.post(
        "/webhooks/twilio/sms/", data, content_type=FORM, headers={"X-Twilio-Signature": "forged"}
    )
    missing = client.post("/webhooks/twilio/sms/", data, content_type=FORM)
    assert bad.status_code == missing.status_code == 403
    assert not InboundEvent.objects.exists()
    assert not PhoneOptOut.objects.exists()


def test_behind_a_tls_proxy_the_public_https_url_is_signed(post_signed):
    data = {"MessageSid": "SM2", "From": PHONE, "Body": "STOP"}
    response = post_signed(
        "/webhooks/twilio/sms/", data, scheme="https", headers={"X-Forwarded-Proto": "https"}
    )
    assert response.status_code == 200
    # The same https signature without the proxy's header does not match http.
    response = post_signed("/webhooks/twilio/sms/", data | {"MessageSid": "SM3"}, scheme="https")
    assert response.status_code == 403


def test_behind_a_proxy_that_hands_on_another_host_public_url_s_address_is_signed(
    client, db, settings
):
    """nginx hands its upstream's name as Host by default: the request reaches the app as
    http://app/…, signed for PUBLIC_URL's address, where Twilio was sent (and which the app
    writes into each call's key action). A cold review found the key to stop calls refused."""
    settings.PUBLIC_URL = "https://crm.example.com"
    settings.ALLOWED_HOSTS = ["crm.example.com", "app"]
    contact = ContactFactory(phone=PHONE)
    path = reverse("messaging:voice_gather") + "?digit=9"
    data = {"CallSid": "CA1", "From": "+14155559999", "To": PHONE, "Digits": "9",
            "Direction": "outbound-api"}  # fmt: skip
    signed = [("https://other.example" + path, 403), (settings.PUBLIC_URL + path, 200)]
    for signed_for, status in signed:
        response = client.post(
            path, urlencode(data), content_type=FORM,
            headers={"X-Twilio-Signature": sign(signed_for, data), "Host": "app"},
        )  # fmt: skip
        assert response.status_code == status
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.CALLS) == OptInStatus.HARD


def test_signatures_cannot_be_turned_off_without_debug():
    import os
    import subprocess
    import sys

    env = os.environ | {"DEBUG": "0", "SECRET_KEY": "x" * 60, "TWILIO_VALIDATE_SIGNATURES": "0",
                        "TWILIO_AUTH_TOKEN": "a-production-token"}  # fmt: skip
    code = "from django.conf import settings; print(settings.TWILIO_VALIDATE_SIGNATURES)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], env=env, capture_output=True, text=True
    )
    assert result.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"From": PHONE, "Body": "STOP"}, 400),  # no MessageSid
        ({"MessageSid": "SM4", "Body": "STOP"}, 400),  # no From
        ({"MessageSid": "SM5", "From": "not a number", "Body": "STOP"}, 400),
        ({"MessageSid": "SM6", "From": PHONE, "Body": "ST\x00OP"}, 400),
    ],
)
def test_malformed_requests_get_a_4xx_and_change_nothing(post_signed, data, status):
    assert post_signed("/webhooks/twilio/sms/", data).status_code == status
    assert not PhoneOptOut.objects.exists()


def test_a_wrong_content_type_or_method_or_size_gets_a_4xx(client, db, settings):
    url = "/webhooks/twilio/sms/"
    assert client.post(url, "{}", content_type="application/json").status_code == 415
    assert client.get(url).status_code == 405
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert client.post(url, urlencode({"Body": "x" * 5000}), content_type=FORM).status_code == 400
    assert not InboundEvent.objects.exists()


def test_a_failure_after_storing_is_reprocessed_exactly_once(sms, monkeypatch):
    contact = ContactFactory(phone=PHONE)
    original = inbound.HANDLERS["sms"]

    def broken(payload, **reading):
        raise RuntimeError("the disk is full")

    monkeypatch.setitem(inbound.HANDLERS, "sms", broken)
    response = sms("STOP", sid="SMfail")
    assert response.status_code == 200  # kept: acknowledged, and confirmed
    assert "You have been unsubscribed from Demo Dental" in response.content.decode()
    event = InboundEvent.objects.get()
    assert event.processed_at is None and "the disk is full" in event.error
    assert sms_status(contact) == OptInStatus.SUBSCRIBED

    monkeypatch.setitem(inbound.HANDLERS, "sms", original)
    call_command("reprocess_inbound")
    call_command("reprocess_inbound")
    assert sms("STOP", sid="SMfail").status_code == 200  # Twilio's retry: answered, not redone
    assert sms_status(contact) == OptInStatus.HARD
    assert ConsentEvent.objects.filter(contact=contact).count() == 1
    assert InboundEvent.objects.get().error == ""


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(max_size=300), phone=st.sampled_from([PHONE, "+442079460958", "12", ""]))
def test_any_message_gets_an_answer_or_a_4xx_never_a_500(post_signed, body, phone):
    data = {"MessageSid": f"SM{abs(hash((body, phone)))}", "From": phone, "Body": body}
    assert post_signed("/webhooks/twilio/sms/", data).status_code in (200, 400)


def test_a_start_signed_with_an_empty_token_is_refused(client, db, settings):
    from twilio.request_validator import RequestValidator

    from contacts import services
    from contacts.models import Source

    contact = ContactFactory(phone="+14155550123")
    services.record_hard_opt_out(phone=contact.phone, channel=Channel.SMS, source=Source.KEYWORD)
    settings.TWILIO_AUTH_TOKEN = ""
    data = {"MessageSid": "SM42", "From": contact.phone, "Body": "START"}
    signature = RequestValidator("").compute_signature(
        "http://testserver/webhooks/twilio/sms/", data
    )
    response = client.post(
        "/webhooks/twilio/sms/", urlencode(data), content_type=FORM,
        headers={"X-Twilio-Signature": signature},
    )  # fmt: skip
    assert response.status_code == 403
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD


@pytest.mark.parametrize("body", ["START\u00a0", "START\x0b", "\x0cUNSTOP", "START\u3000", "Yes!"])
def test_a_start_with_unusual_spaces_around_it_is_honoured(sms, body):
    from contacts import services
    from contacts.models import Source
    from tests.factories import ContactFactory

    contact = ContactFactory(phone=PHONE)
    services.record_hard_opt_out(phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD)
    response = sms(body)
    assert (
        response.status_code == 200
        and "subscribed to reminders and offers" in response.content.decode()
    )
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == "subscribed"


@pytest.mark.parametrize("body", ["ſtart", "YEſ", "S T A R T"])
def test_a_lookalike_of_start_lifts_nothing_and_is_answered(sms, body):
    from contacts import services
    from contacts.models import Source
    from tests.factories import ContactFactory

    contact = ContactFactory(phone=PHONE)
    services.record_hard_opt_out(phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD)
    assert sms(body).status_code == 200
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == "hard"


def test_an_sms_that_says_it_is_outbound_is_still_from_its_sender(post_signed):
    from contacts import services
    from contacts.models import Source
    from tests.factories import ContactFactory

    contact = ContactFactory(phone=PHONE)
    services.record_hard_opt_out(phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD)
    data = {"MessageSid": "SM77", "From": PHONE, "To": "+14155559999", "Body": "START",
            "Direction": "outbound-api"}  # fmt: skip
    assert post_signed("/webhooks/twilio/sms/", data).status_code == 200
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == "subscribed"


def test_an_id_too_long_to_keep_is_a_400(post_signed):
    data = {"MessageSid": "SM" + "9" * 300, "From": PHONE, "Body": "STOP"}
    response = post_signed("/webhooks/twilio/sms/", data)
    assert response.status_code == 400
    assert not InboundEvent.objects.exists() and not PhoneOptOut.objects.exists()


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ("STOP", "<Message>You have been unsubscribed from Demo Dental messages"),
        ("HELP", "<Message>Demo Dental: help at (415) 555-9999."),
        ("START", "<Response />"),
        ("Cancel my appointment", "<Response />"),
    ],
)
def test_a_message_whose_processing_failed_is_kept_and_acknowledged(sms, monkeypatch, body,
                                                                    answer):  # fmt: skip
    """Twilio retries nothing: a 200, with what holds whatever processing finds later."""

    def broken(payload, **reading):
        raise RuntimeError("the disk is full")

    monkeypatch.setitem(inbound.HANDLERS, "sms", broken)
    response = sms(body)
    assert (response.status_code, response["Content-Type"]) == (200, "text/xml")
    assert answer in response.content.decode()
    event = InboundEvent.objects.get()
    assert event.processed_at is None and "the disk is full" in event.error


@pytest.mark.postgres
def test_a_stop_that_waits_too_long_for_a_lock_is_answered_then_processed_later(
    sms, settings, django_db_blocker
):
    """A bulk change's transaction holding the lock that the STOP needs past
    INBOUND_LOCK_TIMEOUT: the webhook answers in time, and the worker's next look processes
    the kept STOP."""
    import psycopg
    from django.utils import timezone

    contact = ContactFactory(phone=PHONE)
    settings.INBOUND_LOCK_TIMEOUT = 0.2
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        other.execute("LOCK TABLE contacts_phoneoptout IN SHARE MODE")  # as bulk changes do
        response = sms("STOP")
        assert response.status_code == 200
        assert "You have been unsubscribed from Demo Dental" in response.content.decode()
        event = InboundEvent.objects.get()
        assert event.processed_at is None and "lock timeout" in event.error
        assert sms_status(contact) == OptInStatus.SUBSCRIBED
        other.rollback()
    assert list(inbound.process_pending(received_before=timezone.now())) == [(event.key, None)]
    assert sms_status(contact) == OptInStatus.HARD
