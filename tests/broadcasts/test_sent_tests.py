"""A manager sends a draft to their own phone before launching it: as a recipient gets it,
never to a number that may not receive the channel, and never as a recipient."""

from datetime import datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from broadcasts import sending, services
from broadcasts.models import Broadcast, Recipient
from broadcasts.policy import FREQUENCY_LIMIT
from contacts import services as contact_services
from contacts.models import Channel, PhoneOptOut, Source
from messaging.backends import LocmemBackend
from messaging.models import InboundEvent, PossibleOptOut
from tests.broadcasts.engine import broadcast, in_flight, launched, sent_earlier
from tests.factories import ContactFactory

SMS = Channel.SMS
EASTERN = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def outbox(settings):
    settings.MESSAGING_BACKEND = "locmem"
    LocmemBackend.outbox.clear()
    return LocmemBackend.outbox


def draft(**fields) -> Broadcast:
    return Broadcast.objects.create(
        **{"name": "Fair", "channel": "sms", "body": "See you at the fair", **fields}
    )


def post_test(client, broadcast: Broadcast, phone: str):
    return client.post(
        reverse("broadcasts:test", args=[broadcast.pk]), {"phone": phone}, follow=True
    )


def test_a_manager_gets_the_text_as_recipients_will(manager_client, outbox):
    broadcast = draft()
    response = post_test(manager_client, broadcast, "(415) 555-0199")
    assert "Test sent to (415) 555-0199." in response.content.decode()
    assert [(m["to"], m["body"]) for m in outbox] == [("+14155550199", broadcast.sms_text)]
    assert not Recipient.objects.exists()
    assert "to (415) 555-0199 by manager" in response.content.decode()


def test_a_voice_test_is_the_call_recipients_will_get(manager_client, outbox):
    broadcast = draft(channel="calls", body="", script="The fair opens at nine.")
    post_test(manager_client, broadcast, "+14155550199")
    (call,) = outbox
    assert call["kind"] == "call" and "The fair opens at nine." in call["body"]
    assert f"press {broadcast.unsubscribe_digit}" in call["body"]


@pytest.mark.parametrize("opted_out", ["number", "contact", "reply"])
def test_nothing_goes_to_a_number_that_may_not_receive_the_channel(
    manager_client, manager_user, outbox, opted_out
):
    phone = "+14155550199"
    if opted_out == "number":
        contact_services.record_hard_opt_out(phone=phone, channel=SMS, source=Source.KEYWORD)
    elif opted_out == "contact":
        contact = ContactFactory(phone=phone)
        contact_services.unsubscribe(contact=contact, channel=SMS, by_user=manager_user)
    else:
        InboundEvent.objects.create(
            kind=InboundEvent.Kind.SMS, key="SM1", phone=phone, payload={"Body": "STOP"}
        )
    response = post_test(manager_client, draft(), phone)
    assert "No test sent:" in response.content.decode()
    if opted_out == "contact":  # the reason, as the preview words it
        assert "may not receive SMS: opted out of this channel (soft)." in response.content.decode()
    assert not outbox


@pytest.mark.parametrize("contact", [True, False])
def test_nothing_goes_to_a_number_awaiting_review(manager_client, outbox, contact):
    """A reply from the number waits in Possible opt-outs: it may be a revocation, and no
    broadcast of SMS reaches the number until someone decides; nor does a test."""
    phone = "+14155550199"
    if contact:
        ContactFactory(phone=phone)
    PossibleOptOut.objects.create(phone=phone, words="please no more of these")
    response = post_test(manager_client, draft(), phone)
    assert "(415) 555-0199: possible opt-out awaiting review." in response.content.decode()
    assert not outbox


def test_nothing_goes_to_a_number_over_its_frequency_limit(manager_client, outbox):
    """Miami's number had three marketing messages today: Florida allows no fourth, not even
    a test of the next broadcast. A San Francisco number as busy is no Florida number."""
    miami, san_francisco = "+13055550101", "+14155550101"
    for phone in (miami, san_francisco):
        ContactFactory(phone=phone)
        sent_earlier(phone, hours_ago=2, times=3)
    broadcast = draft()
    response = post_test(manager_client, broadcast, miami)
    assert "(305) 555-0101: frequency limit reached (last 24 hours)." in response.content.decode()
    post_test(manager_client, broadcast, san_francisco)
    assert [m["to"] for m in outbox] == [san_francisco]


def test_tests_count_towards_a_frequency_limit(
    manager, manager_client, outbox, django_capture_on_commit_callbacks
):
    """A test to a customer's Miami number is a message to it like any: after two texts
    today, a test is the third, and neither a fourth test nor the next broadcast goes."""
    miami = "+13055550101"
    ContactFactory(phone=miami)
    sent_earlier(miami, hours_ago=2, times=2)
    post_test(manager_client, draft(), miami)
    response = post_test(manager_client, draft(), miami)
    assert "(305) 555-0101: frequency limit reached (last 24 hours)." in response.content.decode()
    assert [m["to"] for m in outbox] == [miami]
    b = broadcast()
    assert services.preview(b).excluded[FREQUENCY_LIMIT.label] == 1
    launched(b, manager, django_capture_on_commit_callbacks)
    assert [m["to"] for m in outbox] == [miami]


@pytest.mark.usefixtures("quiet_hours")
@pytest.mark.parametrize("contact", [True, False])
def test_a_test_keeps_the_number_s_quiet_hours(manager_client, outbox, contact):
    """23:30 in Miami (Florida: 08:00–20:00): a test is a real message to a real phone,
    whoever's it is, and waits as a recipient would; at 10:00 it goes (a cold review found
    tests sent at any hour)."""
    miami = "+13055550101"
    if contact:
        ContactFactory(phone=miami)
    broadcast = draft(purpose=Broadcast.Purpose.INFORMATIONAL)
    with time_machine.travel(datetime(2026, 12, 7, 23, 30, tzinfo=EASTERN), tick=False):
        page = post_test(manager_client, broadcast, miami).content.decode()
    assert (
        "(305) 555-0101: quiet hours there until Tuesday 08:00 their time (08:00–20:00 Eastern "
        "(FL)), that is 8 Dec 2026, 13:00 UTC. A test keeps them, as this broadcast's messages "
        "will: send it then." in unescape(page)
    )
    assert not outbox and not broadcast.tests.exists()
    with time_machine.travel(datetime(2026, 12, 8, 10, tzinfo=EASTERN), tick=False):
        page = post_test(manager_client, broadcast, miami).content.decode()
    assert "Test sent to (305) 555-0101." in page
    assert [m["to"] for m in outbox] == [miami]


def test_a_test_to_a_number_whose_quiet_hours_never_end_says_so(manager_client, outbox, settings):
    """Two contacts of the number, in New York and Tokyo, under windows too short to meet."""
    settings.QUIET_HOURS = {"default": ("08:00", "12:00")}
    ContactFactory(phone="+12125550123", time_zone="America/New_York")
    ContactFactory(phone="+12125550123", time_zone="Asia/Tokyo")
    page = post_test(manager_client, draft(), "+12125550123").content.decode()
    assert "(212) 555-0123: its quiet hours never end (08:00–12:00" in page
    assert not outbox


@pytest.mark.usefixtures("quiet_hours")
def test_an_urgent_broadcast_s_test_goes_at_once_as_its_messages_do(manager_client, outbox):
    broadcast = draft(
        purpose=Broadcast.Purpose.INFORMATIONAL, urgent=True,
        urgent_reason="The office flooded: tomorrow's appointments are cancelled.",
    )  # fmt: skip
    with time_machine.travel(datetime(2026, 12, 7, 23, 30, tzinfo=EASTERN), tick=False):
        page = post_test(manager_client, broadcast, "+13055550101").content.decode()
    assert "Test sent to (305) 555-0101." in page


def test_no_fourth_message_goes_to_a_florida_number_that_no_contact_has(manager_client, outbox):
    """Its contact was deleted since the day's three texts: a test is no fourth."""
    sent_earlier("+13055550101", hours_ago=2, times=3)
    response = post_test(manager_client, draft(), "+13055550101")
    assert "(305) 555-0101: frequency limit reached (last 24 hours)." in response.content.decode()
    assert not outbox


def test_messages_in_flight_to_other_numbers_hold_no_test_back(manager_client, outbox, settings):
    """Another broadcast is handing a text to a Miami number; a manager tests on his own."""
    settings.FREQUENCY_LIMIT = 1
    ContactFactory(phone="+13055550101")
    in_flight("+13055550101", times=3)
    post_test(manager_client, draft(), "+14155550199")
    assert [m["to"] for m in outbox] == ["+14155550199"]


def test_a_carrier_refusal_is_recorded_as_the_number_s_opt_out(
    manager_user, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(self, *, to, body, valid_for=None):
        raise sending.RecipientOptedOut("21610")

    monkeypatch.setattr(LocmemBackend, "send_sms", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        test_sent = sending.send_test(draft(), phone="+14155550199", by_user=manager_user)
    assert test_sent.error == sending.CARRIER_OPT_OUT
    assert PhoneOptOut.objects.filter(phone="+14155550199", channel=SMS).exists()


@pytest.mark.parametrize(
    ("phone", "error"), [("", "This field is required"), ("555", "not a valid phone number")]
)
def test_a_bad_number_is_explained(manager_client, outbox, phone, error):
    response = post_test(manager_client, draft(), phone)
    assert "No test sent:" in response.content.decode() and error in response.content.decode()
    assert not outbox


def test_a_launched_broadcast_is_not_tested(manager_client, outbox):
    response = post_test(manager_client, draft(status="sending"), "+14155550199")
    assert "Tests are for a broadcast before launch." in response.content.decode()
    assert not outbox


def test_tests_of_one_broadcast_are_limited(manager_client, outbox):
    broadcast = draft()
    for _ in range(sending.TESTS_PER_BROADCAST + 1):
        response = post_test(manager_client, broadcast, "+14155550199")
    assert len(outbox) == sending.TESTS_PER_BROADCAST
    assert "tested 10 times already" in response.content.decode()


def test_staff_and_admins_cannot_send_tests(client, staff_user, outbox):
    client.force_login(staff_user)
    response = client.post(reverse("broadcasts:test", args=[draft().pk]), {"phone": "+14155550199"})
    assert response.status_code == 403
    assert not outbox


@pytest.mark.needs_consent
def test_a_marketing_test_to_a_number_without_consent_says_how_to_test_it(manager_client):
    response = post_test(manager_client, draft(), "(415) 555-0199")
    page = response.content.decode()
    assert "(415) 555-0199: no consent on record. Nothing is sent to it." in page
    # A manager may not add contacts nor record consent: the page says who does.
    assert (
        "To test a marketing broadcast on your own phone, it needs consent on record: an Admin "
        "adds it as a contact and records its consent" in page
    )


def test_the_number_typed_stays_in_the_field_refused_or_sent(manager_client, manager_user, outbox):
    """A number refused stays as typed, to mend; one tested stays for the next test, of this
    draft or another."""
    first, second = draft(), draft(name="Spring")

    def field_value(broadcast: Broadcast) -> str:
        page = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]))
        return page.context["test_form"]["phone"].value()

    response = post_test(manager_client, first, "(415) 555-019")
    assert "No test sent:" in response.content.decode()
    assert 'value="(415) 555-019"' in response.content.decode()
    contact_services.record_hard_opt_out(phone="+14155550188", channel=SMS, source=Source.KEYWORD)
    post_test(manager_client, first, "(415) 555-0188")
    assert field_value(first) == "(415) 555-0188" and not outbox
    post_test(manager_client, first, "(415) 555-0199")
    assert [m["to"] for m in outbox] == ["+14155550199"]
    assert field_value(second) == "(415) 555-0199"


@pytest.mark.parametrize(
    "phone", ["9" * 10_000, "\x00(415)", "<script>x</script>\"'", "", "  (415) 555-0199  "]
)
def test_an_odd_number_typed_is_no_500(manager_client, phone, outbox):
    """An odd number typed is refused (or sent) and shown back, escaped."""
    b = draft()
    response = manager_client.post(reverse("broadcasts:test", args=[b.pk]), {"phone": phone})
    assert response.status_code == 302
    page = manager_client.get(reverse("broadcasts:detail", args=[b.pk]))
    assert page.status_code == 200
    assert "<script>x" not in page.content.decode()
