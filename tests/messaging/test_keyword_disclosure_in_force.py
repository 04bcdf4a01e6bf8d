"""A JOIN kept for the worker and processed after the keyword's disclosure got a new version
is recorded against the words in force when the contact texted it, not the new ones ("each
consent keeps the version its contact saw"; the records keep "the request as shown to the
person"). A cold review found the newest version taken."""

import pytest
from django.utils import timezone

from contacts.models import ConsentRecord, Disclosure
from messaging import inbound
from messaging.models import InboundEvent

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"


def test_a_late_join_keeps_the_disclosure_in_force_when_it_was_texted(settings, outbox):
    settings.KEYWORD_DISCLOSURE = "Poster"
    seen = Disclosure.objects.create(title="Poster", version=1, text="Text JOIN for offers")
    payload = {"MessageSid": "SMjoin", "From": PHONE, "To": "+14155559999", "Body": "JOIN"}
    # The webhook kept the JOIN (a lock it needed was busy); the worker processes it later.
    InboundEvent.store(key="sms:SMjoin", kind=InboundEvent.Kind.SMS, payload=payload, phone=PHONE)
    # Meanwhile an Admin edits the poster's words: version 2, written after the JOIN came.
    seen.revise("Text JOIN for offers, up to 30 msgs a day", by_user=None)
    list(inbound.process_pending(received_before=timezone.now()))
    record = ConsentRecord.objects.get(phone=PHONE)
    assert record.disclosure.created_at <= record.given_at, (
        f"consent given at {record.given_at} recorded against {record.disclosure}, "
        f"written at {record.disclosure.created_at}"
    )
    assert record.disclosure == seen
