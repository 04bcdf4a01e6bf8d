"""A wording kept as ordinary decides every later reply worded so, with nobody to review it:
its page lists the replies it decided, and one let pass by mistake goes back to review."""

import pytest
from django.urls import reverse

from contacts.models import Channel, Contact, OptInStatus
from crm.roles import ADMIN, MANAGER, STAFF
from messaging.models import InboundEvent, PossibleOptOut, ReplyPhrase
from tests.factories import ContactFactory, UserFactory

FIRST, LATER = "+13122000000", "+19712000001"
WORDS = "please dont send these anymore"


@pytest.fixture
def passed(sms, client, admin_role_user) -> InboundEvent:
    """As a new user did it: the first such reply dismissed with "Same for this wording";
    the next one, from another number, passed at once."""
    sms(WORDS, phone=FIRST)
    client.force_login(admin_role_user)
    client.post(
        reverse("messaging:decide", args=[PossibleOptOut.objects.get().pk]),
        {"decision": "dismissed", "keep_wording": "yes"},
    )
    ContactFactory(name="Ines Later", phone=LATER)
    sms("Please dont send these anymore!!", phone=LATER)
    assert not PossibleOptOut.objects.filter(phone=LATER).exists()  # nobody reviews it
    return InboundEvent.objects.get(phone=LATER)


def phrase_page(client) -> str:
    phrase = ReplyPhrase.objects.get()
    return client.get(reverse("messaging:reply_phrase", args=[phrase.pk])).content.decode()


@pytest.mark.parametrize("role", [STAFF, ADMIN, MANAGER])
def test_every_role_sees_what_a_wording_decided_and_may_send_a_reply_back(client, passed, role):
    client.force_login(UserFactory(role=role))
    phrases = client.get(reverse("messaging:reply_phrases")).content.decode()
    phrase = ReplyPhrase.objects.get()
    assert f'<a href="{reverse("messaging:reply_phrase", args=[phrase.pk])}">1</a>' in phrases

    page = phrase_page(client)
    assert "Read as <strong>an ordinary reply: nothing changes</strong>" in page
    assert "(971) 200-0001" in page and ">Ines Later</a>" in page
    assert "<q>Please dont send these anymore!!</q>" in page
    url = reverse("messaging:review_again", args=[phrase.pk, passed.pk])
    assert f'action="{url}"' in page

    answer = client.post(url, follow=True).content.decode()
    assert "(971) 200-0001: to review in Possible opt-outs. Its number gets no SMS meanwhile." in (
        answer
    )
    review = PossibleOptOut.objects.get(phone=LATER)
    assert (review.decision, review.words) == ("pending", "Please dont send these anymore!!")
    assert review.received_at == passed.received_at
    assert review.matched.startswith("sent back to review by ")
    waiting = client.get(reverse("messaging:possible_opt_outs")).content.decode()
    assert "sent back to review by" in waiting and "it passed as ordinary by the phrase" in waiting


def test_a_reply_sent_back_and_confirmed_is_the_contact_s_hard_opt_out(client, staff_user, passed):
    client.force_login(staff_user)
    phrase = ReplyPhrase.objects.get()
    client.post(reverse("messaging:review_again", args=[phrase.pk, passed.pk]))
    review = PossibleOptOut.objects.get(phone=LATER)
    client.post(reverse("messaging:decide", args=[review.pk]), {"decision": "confirmed",
                                                                 "sure": "yes"})  # fmt: skip
    contact = Contact.objects.get(phone=LATER)
    assert contact.opt_in_status(Channel.SMS) == OptInStatus.HARD


def test_sent_back_twice_it_waits_once(client, staff_user, passed):
    client.force_login(staff_user)
    url = reverse("messaging:review_again", args=[ReplyPhrase.objects.get().pk, passed.pk])
    client.post(url)
    page = client.post(url, follow=True).content.decode()
    assert "That reply is waiting in Possible opt-outs already." in page
    assert PossibleOptOut.objects.filter(phone=LATER).count() == 1


def test_an_opt_out_wording_s_replies_offer_nothing_to_send_back(client, sms, admin_role_user):
    client.force_login(admin_role_user)
    client.post(reverse("messaging:reply_phrases"),
                {"words": WORDS, "meaning": "opt_out"})  # fmt: skip
    sms("Please dont send these anymore!!", phone=LATER)
    event = InboundEvent.objects.get()
    assert event.phrase_id == ReplyPhrase.objects.get().pk
    page = phrase_page(client)
    assert "Each of these opted its number out." in page and "Send back to review" not in page
    url = reverse("messaging:review_again", args=[event.phrase_id, event.pk])
    assert client.post(url).status_code == 404
    assert not PossibleOptOut.objects.exists()


def test_a_reply_of_another_wording_cannot_be_sent_back_through_this_one(
    client, sms, staff_user, passed
):
    sms("hello there", phone="+19712000009")
    other = InboundEvent.objects.get(phone="+19712000009")
    client.force_login(staff_user)
    url = reverse("messaging:review_again", args=[ReplyPhrase.objects.get().pk, other.pk])
    assert client.post(url).status_code == 404
    assert not PossibleOptOut.objects.filter(phone="+19712000009").exists()
