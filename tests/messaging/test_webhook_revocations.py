"""Revocation by any reasonable means, through the signed webhook: what a reply does, what it
answers and in which language, and what the ledger keeps of the rule that read it."""

import pytest

from contacts.models import Channel, ConsentEvent, Contact, OptInStatus, PhoneOptOut
from messaging.models import PossibleOptOut
from tests.factories import ContactFactory

PHONE = "+14155550123"


def statuses(contact: Contact) -> dict[str, str]:
    contact = Contact.objects.get(pk=contact.pk)
    return {channel: contact.opt_in_status(channel) for channel in Channel.values}


@pytest.mark.parametrize(
    ("words", "matched"),
    [
        ("please stop", "keyword STOP with “please”"),
        ("STOP STOP STOP", "keyword STOP repeated"),
        ("Please remove my number", "request “remove my number”"),
        ("Stopp", "keyword STOP"),
        ("Thanks, but I'm not interested. STOP", "keyword STOP, as the last sentence"),
    ],
)
def test_a_clear_request_is_a_hard_opt_out_whose_ledger_says_why(sms, words, matched):
    contact = ContactFactory(phone=PHONE)
    reply = sms(words).content.decode()
    assert "You have been unsubscribed from Demo Dental messages" in reply
    assert statuses(contact) == {"sms": OptInStatus.HARD, "calls": OptInStatus.SUBSCRIBED}
    ledger = ConsentEvent.objects.filter(phone=PHONE, channel=Channel.SMS)
    assert {(event.contact_id, event.note, event.matched) for event in ledger} == {
        (None, words, matched),
        (contact.pk, words, matched),
    }
    assert PhoneOptOut.objects.get(phone=PHONE).matched == matched
    assert not PossibleOptOut.objects.exists()


def test_the_contact_page_shows_the_rule_that_matched(sms, admin_client):
    contact = ContactFactory(phone=PHONE)
    sms("stop please!!")
    page = admin_client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "matched: keyword STOP with “please”" in page


@pytest.mark.parametrize(
    "words", ["ALTO", "No más mensajes", "Ya no me manden mensajes por favor", "Stop por favor"]
)
def test_a_request_in_spanish_is_confirmed_in_spanish(sms, words):
    contact = ContactFactory(phone=PHONE)
    reply = sms(words).content.decode()
    assert "Demo Dental: te diste de baja; ya no te enviaremos mensajes." in reply
    assert "Responde START para volver a suscribirte." in reply
    assert statuses(contact)["sms"] == OptInStatus.HARD


def test_a_text_that_asks_for_no_more_calls_stops_calls_only(sms):
    contact = ContactFactory(phone=PHONE)
    reply = sms("Please stop calling me").content.decode()
    assert "You will receive no more calls from Demo Dental." in reply
    assert statuses(contact) == {"sms": OptInStatus.SUBSCRIBED, "calls": OptInStatus.HARD}
    assert ConsentEvent.objects.get(contact=contact).matched == "request “stop calling”"


def test_a_number_without_texts_that_asks_for_no_more_calls_hears_it_gets_neither(sms):
    contact = ContactFactory(phone=PHONE)
    sms("STOP")
    reply = sms("Ya no me llamen por favor").content.decode()
    assert "ya no te enviaremos mensajes ni te llamaremos" in reply
    assert statuses(contact) == {"sms": OptInStatus.HARD, "calls": OptInStatus.HARD}


def test_a_text_that_asks_for_no_more_texts_or_calls_stops_both(sms):
    contact = ContactFactory(phone=PHONE)
    reply = sms("don't call or text me again").content.decode()
    assert "no more texts or calls" in reply
    assert statuses(contact) == {"sms": OptInStatus.HARD, "calls": OptInStatus.HARD}


def test_an_mms_with_text_is_read_like_an_sms(sms):
    contact = ContactFactory(phone=PHONE)
    media = {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/media/ME1",
             "MediaContentType0": "image/jpeg"}  # fmt: skip
    reply = sms("take me off your list 🙏", **media).content.decode()
    assert "You have been unsubscribed" in reply
    assert statuses(contact)["sms"] == OptInStatus.HARD


def test_a_picture_alone_changes_nothing(sms):
    contact = ContactFactory(phone=PHONE)
    media = {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/media/ME2"}
    assert "<Message>" not in sms("", **media).content.decode()
    assert statuses(contact)["sms"] == OptInStatus.SUBSCRIBED


@pytest.mark.parametrize(
    "words", ["Can you stop by at 3?", "I can't stop laughing", "cancel my appointment"]
)
def test_a_keyword_inside_another_meaning_changes_nothing(sms, words):
    contact = ContactFactory(phone=PHONE)
    assert "<Message>" not in sms(words).content.decode()
    assert statuses(contact)["sms"] == OptInStatus.SUBSCRIBED
    assert not PossibleOptOut.objects.exists()


def test_an_unclear_reply_waits_for_review_saying_why(sms):
    contact = ContactFactory(phone=PHONE)
    assert "<Message>" not in sms("Who is this? Do I know you?").content.decode()
    assert statuses(contact)["sms"] == OptInStatus.SUBSCRIBED
    review = PossibleOptOut.objects.get()
    assert review.matched == "may ask to stop: “who is this”"


def test_a_very_long_request_is_recorded_whole_with_its_rule_cut_to_fit(sms):
    contact = ContactFactory(phone=PHONE)
    words = "Stop " + "please " * 60
    assert "You have been unsubscribed" in sms(words).content.decode()
    assert statuses(contact)["sms"] == OptInStatus.HARD
    event = ConsentEvent.objects.get(contact=contact)
    assert event.note == words and event.matched.startswith("keyword STOP with “please please")
