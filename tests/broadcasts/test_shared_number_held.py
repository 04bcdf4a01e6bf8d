"""A phone is one, whichever of its contacts a message is addressed to. A contact the business
opted out of a channel (soft), or marked "Do not contact", holds back the number it shares
with others: a broadcast reaches it through none of them, as a test to it is refused. (A new
user found a text sent to a number through its second contact while its first was opted out
of texts, though the contact form said the number's opt-outs held for every contact of it.)
An archived contact holds nothing: an old record of someone entered again."""

import pytest
from django.urls import reverse

from broadcasts import sending, services
from broadcasts.models import Recipient
from broadcasts.policy import HELD_BY_ANOTHER
from contacts import services as contact_services
from contacts.models import Channel, Contact
from tests.broadcasts.engine import broadcast, launched, sent_to
from tests.factories import ContactFactory

PHONE, OTHER = "+19712000004", "+19712000005"


def held_by_aisha(manager, how: str) -> Contact:
    """Aisha and Sam have one number; Aisha is opted out of texts or marked as `how` says."""
    aisha = ContactFactory(name="Aisha Moore", phone=PHONE)
    ContactFactory(name="Sam Shared", phone=PHONE)
    ContactFactory(name="Olga Other", phone=OTHER)
    if how == "soft":
        contact_services.unsubscribe(contact=aisha, channel=Channel.SMS, by_user=manager)
    else:
        Contact.objects.filter(pk=aisha.pk).update(status=how)
    return aisha


@pytest.mark.parametrize("how", ["soft", Contact.Status.DO_NOT_CONTACT])
def test_the_number_gets_no_text_through_its_other_contact(
    manager, manager_client, how, django_capture_on_commit_callbacks
):
    held_by_aisha(manager, how)
    b = broadcast()
    page = manager_client.get(reverse("broadcasts:detail", args=[b.pk])).content.decode()
    assert "Another contact of the number opted out (soft) or marked “Do not contact”" in page
    preview = services.preview(b)
    assert (preview.receive, preview.excluded[HELD_BY_ANOTHER.label]) == (1, 1)
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [OTHER]


def test_an_opt_out_after_the_launch_holds_the_number_at_its_turn(manager):
    ContactFactory(name="Sam Shared", phone=PHONE)  # the number's recipient is his
    aisha = ContactFactory(name="Aisha Moore", phone=PHONE)
    b = broadcast()
    assert services.start(b) == 1  # the recipients as a launch selects them
    contact_services.unsubscribe(contact=aisha, channel=Channel.SMS, by_user=manager)
    sending.send_batch(b, sending.claim(b, size=10))
    recipient = b.recipients.get()
    assert (recipient.status, recipient.error) == (Recipient.Status.SKIPPED, HELD_BY_ANOTHER.label)
    assert sent_to() == []


def test_an_opt_out_of_texts_holds_no_call(manager, django_capture_on_commit_callbacks):
    held_by_aisha(manager, "soft")
    launched(broadcast(Channel.CALLS), manager, django_capture_on_commit_callbacks)
    assert sent_to() == [PHONE, OTHER]


def test_an_archived_contact_holds_nothing(manager, django_capture_on_commit_callbacks):
    held_by_aisha(manager, Contact.Status.ARCHIVED)
    launched(broadcast(), manager, django_capture_on_commit_callbacks)
    assert sent_to() == [PHONE, OTHER]


def test_resubscribed_the_number_gets_texts_again(manager, django_capture_on_commit_callbacks):
    aisha = held_by_aisha(manager, "soft")
    contact_services.resubscribe(contact=aisha, channel=Channel.SMS, by_user=manager)
    launched(broadcast(), manager, django_capture_on_commit_callbacks)
    assert sent_to() == [PHONE, OTHER]


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("soft", "is opted out of SMS (soft): no SMS broadcast reaches the number"),
        (Contact.Status.DO_NOT_CONTACT, "is marked “Do not contact”: no broadcast reaches the "
         "number"),
    ],
)  # fmt: skip
def test_the_other_contact_s_page_says_who_holds_the_number(manager, admin_client, how, said):
    held_by_aisha(manager, how)
    sam = Contact.objects.get(name="Sam Shared")
    page = admin_client.get(reverse("contacts:detail", args=[sam.pk])).content.decode()
    assert f"Aisha Moore</a>, who has this number too, {said}, through any of its contacts." in page


def test_an_archived_contact_opted_out_softly_holds_nothing(
    manager, django_capture_on_commit_callbacks
):
    """An old record, opted out and then archived, holds nothing: its new record's number
    gets broadcasts (a review found archived contacts left out of "Do not contact" only)."""
    old = ContactFactory(name="Aisha (old record)", phone=PHONE)
    contact_services.unsubscribe(contact=old, channel=Channel.SMS, by_user=manager)
    Contact.objects.filter(pk=old.pk).update(status=Contact.Status.ARCHIVED)
    ContactFactory(name="Aisha Moore", phone=PHONE)
    b = broadcast()
    preview = services.preview(b)
    assert preview.excluded.get(HELD_BY_ANOTHER.label, 0) == 0
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [PHONE]


def test_a_contact_opted_out_of_both_holds_every_broadcast(manager, admin_client, quiet_hours):
    held_by_aisha(manager, "soft")
    aisha = Contact.objects.get(name="Aisha Moore")
    contact_services.unsubscribe(contact=aisha, channel=Channel.CALLS, by_user=manager)
    sam = Contact.objects.get(name="Sam Shared")
    page = admin_client.get(reverse("contacts:detail", args=[sam.pk])).content.decode()
    assert (
        "Aisha Moore</a>, who has this number too, is opted out of SMS and Calls &amp; "
        "Voicemails (soft): no broadcast reaches the number, through any of its contacts."
    ) in page
    assert "Quiet hours now" not in page  # nothing reaches it, now or later


def test_a_test_to_a_number_of_an_archived_record_goes_as_its_messages_would(
    manager, manager_client
):
    """An archived old record beside the active one holds nothing for a test either; a
    number whose only contact is archived gets no test, as it gets no broadcast."""
    old = ContactFactory(name="Aisha (old record)", phone=PHONE)
    Contact.objects.filter(pk=old.pk).update(status=Contact.Status.ARCHIVED)
    b = broadcast()
    refused = manager_client.post(
        reverse("broadcasts:test", args=[b.pk]), {"phone": PHONE}, follow=True
    ).content.decode()
    assert "may not receive SMS: marked “do not contact” or archived." in refused
    ContactFactory(name="Aisha Moore", phone=PHONE)
    sent = manager_client.post(
        reverse("broadcasts:test", args=[b.pk]), {"phone": PHONE}, follow=True
    ).content.decode()
    assert "Test sent to (971) 200-0004." in sent
    assert sent_to() == [PHONE]
