import pytest
from django.urls import reverse

from contacts.models import Channel, Contact, OptInStatus
from messaging.backends import ConsoleBackend
from messaging.models import PossibleOptOut
from tests.factories import ContactFactory

LIST = reverse("messaging:possible_opt_outs")


@pytest.fixture
def review(db):
    return PossibleOptOut.objects.create(phone="+14155550123", words="cancel my <b>appointment</b>")


def decide(client, review, decision):
    return client.post(reverse("messaging:decide", args=[review.pk]), {"decision": decision},
                       follow=True)  # fmt: skip


def test_staff_see_the_list_without_decisions(client, staff_user, review):
    client.force_login(staff_user)
    page = client.get(LIST).content.decode()
    assert "cancel my &lt;b&gt;appointment&lt;/b&gt;" in page
    assert "Confirm: opt out" not in page
    assert decide(client, review, "confirmed").status_code == 403


def test_confirming_records_a_hard_opt_out_in_their_words(client, admin_role_user, review):
    contact = ContactFactory(phone=review.phone)
    client.force_login(admin_role_user)
    response = decide(client, review, "confirmed")
    assert "+14155550123: opted out of SMS (hard), in their words." in response.content.decode()
    opt_out = Contact.objects.get(pk=contact.pk).opt_out_for(Channel.SMS)
    assert (opt_out.kind, opt_out.words) == ("hard", "cancel my <b>appointment</b>")
    review.refresh_from_db()
    assert (review.decision, review.decided_by) == ("confirmed", admin_role_user)


def test_dismissing_changes_nothing_and_a_second_decision_is_ignored(
    client, admin_role_user, review
):
    contact = ContactFactory(phone=review.phone)
    client.force_login(admin_role_user)
    decide(client, review, "dismissed")
    response = decide(client, review, "confirmed")
    assert "already decided" in response.content.decode()
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == OptInStatus.SUBSCRIBED
    assert PossibleOptOut.objects.get().decision == "dismissed"


def test_a_bad_decision_is_a_400(client, admin_role_user, review):
    client.force_login(admin_role_user)
    assert decide(client, review, "maybe").status_code == 400


def test_the_outbox_shows_what_the_console_backend_sent(client, staff_user):
    ConsoleBackend().send_sms(to="+14155550123", body="See you <tomorrow>")
    client.force_login(staff_user)
    page = client.get(reverse("messaging:outbox")).content.decode()
    assert "+14155550123" in page and "See you &lt;tomorrow&gt;" in page
