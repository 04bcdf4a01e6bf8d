"""The Outbox: every message to contacts as people read it (what was sent, and the webhooks'
replies), newest first, a page at a time, of one number if asked."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging import twiml
from messaging.backends import ConsoleBackend
from messaging.models import OutboundMessage
from tests.factories import ContactFactory

OUTBOX = reverse("messaging:outbox")
PHONE = "+14155550123"


@pytest.fixture
def page(client, staff_user):
    client.force_login(staff_user)

    def get(**params):
        response = client.get(OUTBOX, params)
        assert response.status_code == 200
        return response.content.decode()

    return get


def test_it_shows_what_the_console_backend_sent(page):
    ConsoleBackend().send_sms(to=PHONE, body="See you <tomorrow>")
    html = page()
    assert "(415) 555-0123" in html and "See you &lt;tomorrow&gt;" in html


def test_it_shows_the_replies_to_stop_start_and_help_with_what_they_answered(page, sms):
    for body in ["STOP", "START", "HELP", "see you then"]:
        sms(body, phone=PHONE)
    html = page()
    assert html.count("SMS reply") == 3  # "see you then" got no reply
    assert "to <q>STOP</q>" in html and "You have been unsubscribed from Demo Dental" in html
    assert (
        "to <q>START</q>" in html
        and "Demo Dental: you&#x27;re subscribed to reminders and offers" in html
    )
    assert "to <q>HELP</q>" in html and "Demo Dental: help at (415) 555-9999." in html
    assert "<Message>" not in html and "&lt;Message&gt;" not in html


def test_a_call_reads_as_what_it_says_and_where_its_key_goes(page, settings):
    settings.PUBLIC_URL = "http://127.0.0.1:8123"
    ConsoleBackend().make_call(to=PHONE, twiml=twiml.voice_message(script="Hi & bye", digit="9"))
    html = page()
    assert "Says: <q>Hi &amp; bye</q>" in html
    assert "press 9 now" in html and "Hangs up" in html
    assert "http://127.0.0.1:8123/webhooks/twilio/voice/gather/?digit=9" in html
    assert "&lt;Gather" not in html and "&lt;?xml" not in html


def test_the_answer_to_a_call_and_to_its_digit_are_listed(page, post_signed):
    call = {"CallSid": "CA1", "From": PHONE, "To": "+14155559999", "Direction": "inbound"}
    post_signed("/webhooks/twilio/voice/", call)
    post_signed("/webhooks/twilio/voice/gather/?digit=9", call | {"Digits": "9"})
    html = page()
    assert html.count("Answer to a call") == 2
    assert "Says: <q>Thank you for calling Demo Dental.</q>" in html
    assert "to <q>pressed 9</q>" in html and "You will receive no more calls from us." in html


def test_it_names_the_contacts_with_the_number(page):
    contact = ContactFactory(name="Ana Díaz", phone=PHONE)
    ConsoleBackend().send_sms(to=PHONE, body="Hello")
    assert f'<a href="/contacts/{contact.pk}/">Ana Díaz</a>' in page()


def sent(count: int, *, to: str = PHONE) -> None:
    now = timezone.now()
    OutboundMessage.objects.bulk_create(
        OutboundMessage(
            kind="sms",
            to=to,
            body=f"Message {n}",
            sid=f"CO{to}-{n}",
            sent_at=now - timedelta(minutes=count - n),
        )  # fmt: skip
        for n in range(count)
    )


def test_it_pages_through_every_message_newest_first(page):
    sent(260)
    first = page()
    assert "Message 259<" in first and "Message 210<" in first and "Message 209<" not in first
    assert "Page 1 of 6 (260 messages)" in first and "Older ›" in first
    last = page(page=6)
    assert "Message 9<" in last and "Message 0<" in last and "Message 10<" not in last
    assert "‹ Newer" in last and "Older ›" not in last


def test_its_pages_merge_what_was_sent_and_the_replies_in_time_order(page, sms):
    """Each side of the Outbox is cut at a page's end before the two are merged (PostgreSQL):
    a page past the first holds both, in time order, none twice."""
    start = timezone.now() - timedelta(hours=1)
    for n in range(60):
        ConsoleBackend().send_sms(to=PHONE, body=f"Message {n}")
        OutboundMessage.objects.filter(body=f"Message {n}").update(
            sent_at=start + timedelta(minutes=n)
        )
    sms("HELP")  # answered now, after every message above
    second = page(page=2)
    assert "Page 2 of 2 (61 messages)" in second
    assert "Message 10<" in second and "Message 0<" in second
    assert "Message 11<" not in second  # on the first page, with the reply
    first = page()
    assert first.index("help at") < first.index("Message 59<")
    assert "Message 11<" in first and "Message 10<" not in first


@pytest.mark.parametrize("number", ["abc", "0", "-1", "1.5", "99999999999999999999", "", "\x00"])
def test_a_bad_page_number_shows_a_page_that_says_which(page, number):
    sent(60)
    html = page(page=number)
    assert "Page 1 of 2" in html or "Page 2 of 2" in html


def test_it_filters_by_a_number_written_in_any_format(page, sms):
    sent(3)
    sent(2, to="+14155550199")
    sms("HELP", phone="+14155550199")
    html = page(number="(415) 555-0199")
    assert html.count("(415) 555-0199</a>") == 3 and "(415) 555-0123" not in html
    assert 'value="(415) 555-0199"' in html and "All numbers" in html
    assert "Nothing sent to +1 415 555 0100." in page(number="+1 415 555 0100")


@pytest.mark.parametrize("number", ["abc", "+1", "555", "(415) 555-01234567", "\x00", "x" * 5000])
def test_a_number_it_cannot_read_says_so_and_lists_nothing(page, number):
    sent(3)
    html = page(number=number)
    assert "is not a phone number" in html and "Message 0" not in html
    assert "No messages: the number could not be read." in html
