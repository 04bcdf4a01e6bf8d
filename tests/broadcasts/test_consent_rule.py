"""Marketing reaches only contacts whose number has consent on record for the broadcast's
channel (MARKETING_NEEDS_CONSENT, on by default), and any broadcast may ask for it
(`consent_only`). The preview counts the others as "No consent on record", the launch leaves
them out, and each send checks again."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from broadcasts import sending, services
from broadcasts.models import Broadcast, Recipient
from broadcasts.policy import NO_CONSENT
from contacts import services as contact_services
from contacts.models import Channel, ConsentMethod, ConsentRecord
from tests.broadcasts.engine import broadcast, launched, sent_to
from tests.factories import ContactFactory

pytestmark = pytest.mark.needs_consent


def consented(channel=Channel.SMS, **fields):
    contact = ContactFactory(**fields)
    contact_services.record_consent(
        phone=contact.phone, channel=channel, method=ConsentMethod.PAPER,
        given_at=timezone.now() - timedelta(days=3),
    )  # fmt: skip
    return contact


def test_marketing_reaches_only_the_numbers_with_consent_for_its_channel(
    manager, django_capture_on_commit_callbacks
):
    texts = consented(Channel.SMS)
    consented(Channel.CALLS)  # consent to calls is not consent to texts
    ContactFactory()  # none at all
    b = broadcast()
    preview = services.preview(b)
    assert preview.excluded[NO_CONSENT.label] == 2
    assert preview.receive == 1
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [texts.phone]
    assert list(b.recipients.values_list("phone", flat=True)) == [texts.phone]


def test_a_voice_broadcast_needs_consent_to_calls(manager, django_capture_on_commit_callbacks):
    consented(Channel.SMS)
    calls = consented(Channel.CALLS)
    b = broadcast(Channel.CALLS)
    assert services.preview(b).excluded[NO_CONSENT.label] == 1
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [calls.phone]


def test_consent_belongs_to_the_number_whoever_has_it(manager, django_capture_on_commit_callbacks):
    first = consented(phone="+14155550111")
    second = ContactFactory(phone=first.phone)  # shares it: one message to the number
    b = broadcast()
    assert services.preview(b).excluded.get(NO_CONSENT.label, 0) == 0
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [second.phone]


def test_informational_broadcasts_reach_everyone_unless_asked(
    manager, django_capture_on_commit_callbacks
):
    with_consent, without = consented(), ContactFactory()
    b = broadcast(purpose=Broadcast.Purpose.INFORMATIONAL)
    assert NO_CONSENT.label not in services.preview(b).excluded
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == sorted([with_consent.phone, without.phone])

    asked = broadcast(purpose=Broadcast.Purpose.INFORMATIONAL, consent_only=True)
    assert services.preview(asked).excluded[NO_CONSENT.label] == 1


def test_the_setting_off_lets_marketing_reach_contacts_without_consent(
    manager, settings, django_capture_on_commit_callbacks
):
    settings.MARKETING_NEEDS_CONSENT = False
    contact = ContactFactory()
    b = broadcast()
    assert NO_CONSENT.label not in services.preview(b).excluded
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [contact.phone]


def test_a_consent_made_void_after_the_launch_is_skipped_at_send(manager):
    """Each send checks again: a record voided since the launch (a reassigned number)."""
    kept, voided = consented(), consented()
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)  # snapshot taken; sending not started
    ConsentRecord.objects.filter(phone=voided.phone).update(
        status=ConsentRecord.Status.VOID, voided_at=timezone.now(), void_reason="reassigned"
    )
    sending.run(b.pk)
    assert sent_to() == [kept.phone]
    skipped = b.recipients.get(phone=voided.phone)
    assert (skipped.status, skipped.error) == (Recipient.Status.SKIPPED, NO_CONSENT.label)


@pytest.mark.postgres
def test_a_send_reads_the_records_whatever_the_contacts_column_says(manager):
    """The preview and the launch read the contact's column; each send reads the records. A
    column made to say "on record" (its trigger switched off by the tables' owner) gets the
    contact into the launch, and the send still leaves it out."""
    kept, bare = consented(), ContactFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE contacts_contact DISABLE TRIGGER contacts_contact_consent_changed"
        )
        cursor.execute(
            "UPDATE contacts_contact SET sms_consent_on_record = TRUE WHERE id = %s", [bare.pk]
        )
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    assert set(b.recipients.values_list("phone", flat=True)) == {kept.phone, bare.phone}
    sending.run(b.pk)
    assert sent_to() == [kept.phone]
    skipped = b.recipients.get(phone=bare.phone)
    assert (skipped.status, skipped.error) == (Recipient.Status.SKIPPED, NO_CONSENT.label)


def test_a_consent_awaiting_confirmation_is_not_consent_on_record(manager):
    contact = ContactFactory()
    ConsentRecord.objects.create(
        phone=contact.phone, channel=Channel.SMS, method=ConsentMethod.WEB_FORM,
        given_at=timezone.now(), status=ConsentRecord.Status.AWAITING,
    )  # fmt: skip
    assert services.preview(broadcast()).excluded[NO_CONSENT.label] == 1


def test_the_form_asks_for_consent_and_the_page_says_it(manager_client):
    form = manager_client.get(reverse("broadcasts:new")).content.decode()
    assert "Only contacts with consent on record" in form
    assert "Marketing always reaches only them." in form
    response = manager_client.post(
        reverse("broadcasts:new"),
        {"name": "Closed today", "channel": "sms", "purpose": "informational",
         "consent_only": "on", "body": "We are closed today."},
    )  # fmt: skip
    b = Broadcast.objects.get()
    assert response.status_code == 302 and b.consent_only and b.needs_consent
    page = manager_client.get(reverse("broadcasts:detail", args=[b.pk])).content.decode()
    assert "Only contacts with consent on record for SMS." in page


@pytest.mark.parametrize("leaves", ["moves", "is deleted"])
def test_whoever_gets_a_number_next_is_not_reached_on_another_s_consent(
    manager, django_capture_on_commit_callbacks, leaves
):
    ada = consented(phone="+14155550111")
    ada_id = ada.pk
    if leaves == "moves":
        ada.phone = "+14155550222"
        ada.save()
    else:
        ada.delete()
    bob = ContactFactory(phone="+14155550111")
    b = broadcast()
    assert services.preview(b).excluded[NO_CONSENT.label] == 1 + (leaves == "moves")
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == []
    record = ConsentRecord.objects.get()
    assert (record.status, record.contact_id) == (ConsentRecord.Status.VOID, ada_id)
    reason = (
        "the contact moved to another number" if leaves == "moves" else "the contact was deleted"
    )
    assert record.void_reason == reason
    assert bob.consent_for(Channel.SMS) is None


def test_a_join_from_a_number_no_contact_had_stays_the_number_s(
    manager, django_capture_on_commit_callbacks
):
    contact_services.record_consent(
        phone="+14155550111", channel=Channel.SMS, method=ConsentMethod.KEYWORD,
        given_at=timezone.now(), words="JOIN",
    )  # fmt: skip
    later = ContactFactory(phone="+14155550111")
    launched(broadcast(), manager, django_capture_on_commit_callbacks)
    assert sent_to() == [later.phone]
