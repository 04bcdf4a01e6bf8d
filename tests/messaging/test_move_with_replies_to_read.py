"""A contact leaves its number only once the number's replies are read: one may be the
contact's own request to stop, which is recorded for whoever has the number then. Moved
before it was read, the contact kept receiving at its new number what it had asked to stop.
(A cold review: a STOP kept for the worker, or an unclear reply waiting in Possible opt-outs,
from Ana's number; an Admin moved Ana; the opt-out stayed with the old number.)"""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from contacts.models import Channel, Contact, OptInStatus
from messaging import inbound
from messaging.models import InboundEvent, PossibleOptOut
from tests.factories import ContactFactory, UserFactory
from tests.messaging.test_kept_in_order import broadcast_reaches

pytestmark = pytest.mark.django_db
OLD, NEW = "+14155550123", "+14155550188"


def move(client, contact: Contact, phone: str):
    data = {"name": contact.name, "phone": phone, "email": contact.email or "",
            "status": contact.status, "time_zone": "", "state": ""}  # fmt: skip
    return client.post(reverse("contacts:detail", args=[contact.pk]), data)


def sms_state(contact: Contact) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS)


def busy(payload, **reading):
    raise RuntimeError("the database is busy")


def test_a_stop_kept_for_the_worker_holds_its_contact_on_the_number_until_it_is_read(
    sms, admin_client, monkeypatch, settings, outbox
):
    ana = ContactFactory(phone=OLD, name="Ana Alvarez")
    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "sms", busy)
        assert "You have been unsubscribed" in sms("STOP", phone=OLD, sid="SMstop").content.decode()

    refused = move(admin_client, ana, NEW)
    assert refused.status_code == 200
    assert (
        "Not saved: (415) 555-0123 has a reply not read yet: one the worker reads within a "
        "minute. If it asks to stop, the opt-out must follow Ana Alvarez to the new number: "
        "change the number once it is read."
    ) in refused.content.decode()
    assert Contact.objects.get(pk=ana.pk).phone == OLD

    list(inbound.process_pending(received_before=timezone.now()))
    assert move(admin_client, ana, NEW).status_code == 302
    assert Contact.objects.get(pk=ana.pk).phone == NEW
    assert sms_state(ana) == OptInStatus.HARD  # her own STOP went with her
    assert not broadcast_reaches(NEW, settings, outbox)


def test_a_reply_waiting_for_review_holds_its_contact_on_the_number_until_decided(
    sms, admin_client, settings, outbox
):
    ana = ContactFactory(phone=OLD, name="Ana Alvarez")
    sms("stop texting me lol", phone=OLD, sid="SMreview")
    review = PossibleOptOut.objects.get(phone=OLD)

    refused = move(admin_client, ana, NEW).content.decode()
    assert "(415) 555-0123 has a reply not read yet: “stop texting me lol”, waiting in " \
        "Possible opt-outs. If it asks to stop" in refused  # fmt: skip
    assert Contact.objects.get(pk=ana.pk).phone == OLD

    decided = admin_client.post(
        reverse("messaging:decide", args=[review.pk]), {"decision": "confirmed", "sure": "yes"}
    )
    assert decided.status_code == 302
    assert move(admin_client, ana, NEW).status_code == 302
    assert sms_state(ana) == OptInStatus.HARD
    assert not broadcast_reaches(NEW, settings, outbox)


def test_the_django_admin_holds_the_contact_on_the_number_too(sms):
    ana = ContactFactory(phone=OLD)
    sms("stop texting me lol", phone=OLD, sid="SMreview")
    request = RequestFactory().post("/admin/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    form_class = admin.site._registry[Contact].get_form(request, ana)
    data = {"name": ana.name, "phone": NEW, "email": "", "status": ana.status,
            "time_zone": "", "state": ""}  # fmt: skip
    form = form_class(data, instance=ana)
    assert not form.is_valid()
    assert "has a reply not read yet" in str(form.non_field_errors())
    assert Contact.objects.get(pk=ana.pk).phone == OLD


def test_a_delivery_status_kept_for_its_message_holds_nobody(admin_client):
    ana = ContactFactory(phone=OLD)
    delivered = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": OLD}
    InboundEvent.store(key="status:SM1:delivered", kind=InboundEvent.Kind.STATUS,
                       payload=delivered, phone=OLD)  # fmt: skip
    assert move(admin_client, ana, NEW).status_code == 302
    assert Contact.objects.get(pk=ana.pk).phone == NEW
