"""Staff decisions teach the reading of replies: a reviewer's decision, kept for its wording,
decides the next reply worded the same way at once; Admins keep the list of phrases."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from contacts.models import Channel, Contact, OptInStatus, ReassignedNumber
from messaging.models import InboundEvent, PossibleOptOut, ReplyPhrase
from tests.factories import ContactFactory, UserFactory

PHONE = "+14155550123"
LIST = reverse("messaging:reply_phrases")


def decide(client, review, decision, **extra):
    url = reverse("messaging:decide", args=[review.pk])
    return client.post(url, {"decision": decision, "keep_wording": "yes", **extra})


def test_a_confirmed_wording_kept_makes_the_next_such_reply_an_opt_out_at_once(sms, admin_client):
    first, second = ContactFactory(phone=PHONE), ContactFactory(phone="+14155550124")
    sms("pls take me off ur stuff")
    review = PossibleOptOut.objects.get()
    decide(admin_client, review, "confirmed", sure="yes")
    assert Contact.objects.get(pk=first.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD

    reply = sms("PLS take me off ur stuff!!", phone=second.phone).content.decode()
    assert "You have been unsubscribed" in reply
    assert Contact.objects.get(pk=second.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD
    assert PossibleOptOut.objects.count() == 1  # the second waited for no one
    matched = second.consent_events.get().matched
    assert matched.startswith("phrase “pls take me off ur stuff” added by admintest on ")


def test_a_dismissed_wording_kept_lets_the_next_such_reply_pass(sms, admin_client):
    contact = ContactFactory(phone=PHONE)
    sms("Who is this? Do I know you?")
    decide(admin_client, PossibleOptOut.objects.get(), "dismissed")
    sms("who is this?? do i know you")
    assert PossibleOptOut.objects.count() == 1
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == OptInStatus.SUBSCRIBED


def test_a_dismissed_wording_of_a_wrong_number_still_voids_the_next_one_s_consent(
    sms, admin_client
):
    """A phrase decides the rest of what such a reply says; the number is still reported."""
    sms("Número equivocado, quién es?")
    decide(admin_client, PossibleOptOut.objects.get(), "dismissed")
    assert ReassignedNumber.objects.filter(phone=PHONE).count() == 1
    sms("numero equivocado quien es", phone="+14155550124")
    assert PossibleOptOut.objects.count() == 1  # the phrase decided it
    assert ReassignedNumber.objects.filter(phone="+14155550124").exists()


def test_staff_cannot_keep_a_wording_and_then_nothing_is_decided(sms, client, staff_user):
    client.force_login(staff_user)
    sms("Who is this?")
    review = PossibleOptOut.objects.get()
    assert decide(client, review, "dismissed").status_code == 403
    assert not ReplyPhrase.objects.exists()
    assert PossibleOptOut.objects.get().decision == "pending"


def test_no_phrase_can_make_a_stop_ordinary(admin_client):
    response = admin_client.post(LIST, {"words": "Stop please", "meaning": "ordinary"})
    assert response.status_code == 400
    assert "is always read as a request to stop (keyword STOP with “please”)" in (
        response.content.decode()
    )
    assert not ReplyPhrase.objects.exists()


@pytest.mark.parametrize("words", ["START", "help"])
def test_no_phrase_can_change_a_start_or_a_help(admin_client, words):
    assert admin_client.post(LIST, {"words": words, "meaning": "opt_out"}).status_code == 400
    assert not ReplyPhrase.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"words": "🙏 !!", "meaning": "opt_out"}, "There are no words to keep"),
        ({"words": "nah", "meaning": "maybe"}, "Choose what the wording means."),
        ({"words": "x" * 501, "meaning": "opt_out"}, "Too long to keep as a phrase"),
        ({"words": "½" * 300, "meaning": "opt_out"}, "Too long to keep as a phrase"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(admin_client, data, error):
    response = admin_client.post(LIST, data)
    assert response.status_code == 400 and error in response.content.decode()
    assert not ReplyPhrase.objects.exists()


def test_an_admin_adds_and_deletes_a_phrase_and_staff_only_read_the_list(
    admin_client, staff_user, sms
):
    contact = ContactFactory(phone=PHONE)
    response = admin_client.post(LIST, {"words": "Count me out, pal", "meaning": "opt_out"})
    assert response.status_code == 302
    page = admin_client.get(LIST).content.decode()
    assert "Count me out, pal" in page and "Add phrase" in page
    phrase = ReplyPhrase.objects.get()
    assert phrase.meaning == "opt_out"

    staff = Client()
    staff.force_login(staff_user)
    staff_page = staff.get(LIST).content.decode()
    assert "Count me out, pal" in staff_page and "Add phrase" not in staff_page

    admin_client.post(reverse("messaging:delete_reply_phrase", args=[phrase.pk]))
    assert not ReplyPhrase.objects.exists()
    sms("count me out pal")  # read by the built-in rules again: an ordinary reply
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == OptInStatus.SUBSCRIBED


@pytest.mark.parametrize("words", ["START 🙂", "Yes 👍", "Help 🙏", "opt-out!", "STOP 😂"])
def test_no_phrase_can_be_kept_for_a_carrier_keyword_with_emoji_around_it(admin_client, words):
    response = admin_client.post(LIST, {"words": words, "meaning": "opt_out"})
    assert response.status_code == 400
    assert "a phrase cannot change that" in response.content.decode()
    assert not ReplyPhrase.objects.exists()


def test_a_phrase_kept_for_a_carrier_keyword_some_other_way_is_never_read(sms):
    """Written past the page (the admin site, SQL): START with an emoji stays what the rules
    say, never an opt-out."""
    contact = ContactFactory(phone=PHONE)
    ReplyPhrase.objects.create(wording="start", example="START 🙂", meaning="opt_out")
    sms("Start 😊")
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == OptInStatus.SUBSCRIBED


def test_only_who_may_change_phrases_changes_what_a_kept_one_means(admin_client):
    admin_client.post(LIST, {"words": "count me out", "meaning": "opt_out"})
    adder = UserFactory(username="adder")
    adder.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_replyphrase", "view_replyphrase"])
    )
    client = Client()
    client.force_login(adder)
    response = client.post(LIST, {"words": "Count me out!", "meaning": "ordinary"})
    assert response.status_code == 400
    assert "only someone who may change phrases can change it" in response.content.decode()
    assert ReplyPhrase.objects.get().meaning == "opt_out"
    assert (
        admin_client.post(LIST, {"words": "Count me out!", "meaning": "ordinary"}).status_code
        == 302
    )
    assert ReplyPhrase.objects.get().meaning == "ordinary"


def test_a_nul_in_a_phrase_is_refused_with_a_reason(admin_client):
    response = admin_client.post(LIST, {"words": "count\x00 me out", "meaning": "opt_out"})
    assert response.status_code == 400 and "NUL" in response.content.decode()
    assert not ReplyPhrase.objects.exists()


def test_each_reply_keeps_how_it_was_read_and_the_page_counts_a_phrase_s_replies(sms, admin_client):
    ContactFactory(phone=PHONE)
    sms("please stop", sid="SMread1")
    assert InboundEvent.objects.get(key="sms:SMread1").reading == (
        "opt-out: keyword STOP with “please”"
    )
    admin_client.post(LIST, {"words": "Is this the Smith residence", "meaning": "ordinary"})
    phrase = ReplyPhrase.objects.get()
    sms("is this the smith residence??", sid="SMread2")
    sms("Is this the Smith residence", sid="SMread3")
    event = InboundEvent.objects.get(key="sms:SMread3")
    assert event.phrase == phrase
    assert event.reading.startswith("ordinary: phrase “Is this the Smith residence” added by")
    row = admin_client.get(LIST).content.decode()
    assert ">2</a>, the last " in row  # a link to the replies it decided
