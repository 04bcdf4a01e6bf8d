"""A reply to review that asks to stop calls ("Please stop leaving voicemails") holds the
number's calls while it waits, and its texts (it came by text), and confirming it opts the
number out of both. Beside a clear request, what the reply asks beyond it is reviewed for the
channels the request leaves: calls alone, or texts alone."""

import pytest

from broadcasts import sending
from broadcasts import services as broadcast_services
from contacts.models import Channel, Contact, OptInStatus, PhoneOptOut, ReassignedNumber
from messaging.models import InboundEvent, PossibleOptOut
from tests.broadcasts.engine import broadcast, sent_to
from tests.factories import ContactFactory, UserFactory
from tests.messaging.conftest import post_signed, sms  # noqa: F401

PHONE = "+14155550123"


@pytest.mark.parametrize(
    "words",
    ["Please stop leaving voicemails", "stop calling me lol", "Please stop calling me so much"],
)
def test_a_request_to_stop_calls_holds_calls_and_texts_and_confirmed_stops_both(
    sms,  # noqa: F811
    client,
    manager,
    words,
):
    contact = ContactFactory(phone=PHONE)
    sms(words, phone=PHONE)
    review = PossibleOptOut.objects.get()
    voice, texts = broadcast(Channel.CALLS), broadcast(Channel.SMS)
    for held in (broadcast_services.preview(voice), broadcast_services.preview(texts)):
        assert held.receive == 0 and held.excluded["Possible opt-out awaiting review"] == 1

    client.force_login(UserFactory(username="reader", role="Staff"))
    page = client.post(f"/messaging/possible-opt-outs/{review.pk}/", {"decision": "confirmed"})
    assert "Opt (415) 555-0123 out for good?" in page.content.decode()
    assert "will receive no more of what is ticked below" in page.content.decode()
    for channel in ("sms", "calls"):  # both, to be unticked where the words ask less
        assert f'name="channels" value="{channel}" checked' in page.content.decode()
    page = client.post(
        f"/messaging/possible-opt-outs/{review.pk}/",
        {"decision": "confirmed", "sure": "yes"},
        follow=True,
    )
    assert "opted out of SMS and Calls &amp; Voicemails (hard)" in page.content.decode()
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.opt_in_status(Channel.CALLS) == OptInStatus.HARD
    assert contact.opt_in_status(Channel.SMS) == OptInStatus.HARD
    broadcast_services.launch(broadcast=voice, by_user=manager)
    sending.run(voice.pk)
    assert sent_to() == []


def test_a_reply_with_two_requests_stops_both_channels(sms):  # noqa: F811
    sms("Stop calling me and unsubscribe me", phone=PHONE)
    assert set(PhoneOptOut.objects.filter(phone=PHONE).values_list("channel", flat=True)) == {
        Channel.SMS, Channel.CALLS
    }  # fmt: skip


@pytest.mark.parametrize(
    ("words", "stopped", "reviewed"),
    [
        ("Stop calling me after 9pm. Unsubscribe me", Channel.SMS, Channel.CALLS),
        ("Unsubscribe me for a week. Stop calling me", Channel.CALLS, Channel.SMS),
    ],
)
def test_a_request_held_back_beside_a_clear_one_holds_its_channel_for_review(
    sms,  # noqa: F811
    client,
    words,
    stopped,
    reviewed,
    django_capture_on_commit_callbacks,
):
    ContactFactory(phone=PHONE)
    with django_capture_on_commit_callbacks(execute=True):  # and still pending after
        sms(words, phone=PHONE)
    assert set(PhoneOptOut.objects.filter(phone=PHONE).values_list("channel", flat=True)) == {
        stopped
    }
    review = PossibleOptOut.objects.get()
    assert (review.decision, review.channels) == ("pending", reviewed)
    assert "; to review: request “" in InboundEvent.objects.get().reading
    held = broadcast_services.preview(broadcast(reviewed))
    assert held.receive == 0 and held.excluded["Possible opt-out awaiting review"] == 1

    client.force_login(UserFactory(username="reader", role="Staff"))
    client.post(
        f"/messaging/possible-opt-outs/{review.pk}/", {"decision": "confirmed", "sure": "yes"}
    )
    assert set(PhoneOptOut.objects.filter(phone=PHONE).values_list("channel", flat=True)) == {
        Channel.SMS, Channel.CALLS
    }  # fmt: skip


def test_a_held_back_request_of_a_channel_stopped_already_adds_no_review(sms):  # noqa: F811
    sms("Unsubscribe me for a week. STOP", phone=PHONE)
    assert not PossibleOptOut.objects.exists()


def test_under_the_revoke_all_scope_nothing_is_left_to_review(sms, settings):  # noqa: F811
    settings.OPT_OUT_SCOPE = "all"
    sms("Stop calling me after 9pm. Unsubscribe me", phone=PHONE)
    assert set(PhoneOptOut.objects.filter(phone=PHONE).values_list("channel", flat=True)) == {
        Channel.SMS, Channel.CALLS
    }  # fmt: skip
    assert not PossibleOptOut.objects.exists()


@pytest.mark.parametrize(
    ("words", "stopped", "other"),
    [
        ("Wrong number. Stop calling me", Channel.CALLS, Channel.SMS),
        ("Stop calling me. I'm not Dana", Channel.CALLS, Channel.SMS),
        ("Wrong number, STOP", Channel.SMS, Channel.CALLS),
    ],
)
def test_a_wrong_number_beside_a_request_to_stop_voids_the_consent(
    sms,  # noqa: F811
    words,
    stopped,
    other,
):
    ContactFactory(phone=PHONE)
    sms(words, phone=PHONE)
    assert list(PhoneOptOut.objects.filter(phone=PHONE).values_list("channel", flat=True)) == [
        stopped
    ]
    assert ReassignedNumber.objects.filter(phone=PHONE).exists()
    held = broadcast_services.preview(broadcast(other))
    assert held.receive == 0 and held.excluded["Number reported reassigned"] == 1


def test_no_phrase_is_offered_for_what_a_clear_request_left_to_review(sms, client):  # noqa: F811
    """The rules decide a reply with a clear request: a phrase of its words would be refused."""
    client.force_login(UserFactory(username="teacher", role="Admin"))
    sms("Stop calling me after 9pm. Unsubscribe me", phone=PHONE)
    page = client.get("/messaging/possible-opt-outs/").content.decode()
    assert "confirming stops: Calls &amp; Voicemails" in page
    assert "Same for this wording</label>" not in page
    sms("Ok cancel", phone="+14155550124")
    page = client.get("/messaging/possible-opt-outs/").content.decode()
    assert page.count("Same for this wording</label>") == 1


def test_the_contact_page_says_what_a_review_of_its_number_holds(sms, client):  # noqa: F811
    contact = ContactFactory(phone=PHONE)
    sms("Stop calling me after 9pm. Unsubscribe me", phone=PHONE)
    client.force_login(UserFactory(username="reader", role="Staff"))
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "A reply from this number waits in Possible opt-outs:" in page
    assert "Until someone decides, it gets no Calls &amp; Voicemails." in page
    PossibleOptOut.objects.update(decision="dismissed")
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "waits in Possible opt-outs" not in page


def test_the_confirmation_page_s_address_opened_again_leads_to_the_list(sms, client):  # noqa: F811
    sms("Please stop calling me so much", phone=PHONE)
    review = PossibleOptOut.objects.get()
    client.force_login(UserFactory(username="reader", role="Staff"))
    response = client.get(f"/messaging/possible-opt-outs/{review.pk}/")
    assert response.status_code == 302 and response.url == "/messaging/possible-opt-outs/"
    assert PossibleOptOut.objects.get().decision == "pending"
