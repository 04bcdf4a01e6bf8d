"""A broadcast's subscriptions link is the page of the contact it was sent to: when staff
change the contact's number (N to M) and nobody else had N when it was sent, the link of N,
in a text on the contact's handset, stops the contact's messages at M, and neither shows nor
stops anything of N, someone else's now. (A cold review found it stopped N, the newcomer's,
and left the contact who asked texted at M; the link signed the number alone.) While another
contact may have had N when it was sent (the handset shared), it is N's page, as it is for a
link of the number alone, sent before links named their contact. (A review of the first
fix found it stopped the moved contact's M on the word of the one still at N.)

Newcomers come a day after the link: its time is in whole seconds."""

from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from broadcasts import sending
from broadcasts import services as broadcast_services
from broadcasts.models import Broadcast
from contacts import subscriptions
from contacts.models import Channel, Contact, OptInStatus
from messaging.backends import LocmemBackend
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
N, M, Q = "+14155550123", "+14155550177", "+14155550188"


def texts_of_a_broadcast(settings, body: str) -> list[dict]:
    """The texts an SMS broadcast to everyone sends now (the locmem backend's outbox)."""
    settings.MESSAGING_BACKEND = "locmem"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.BROADCAST_RATE = 10_000
    broadcast = Broadcast.objects.create(channel=Channel.SMS, name="Offer", body=body)
    broadcast_services.launch(broadcast=broadcast, by_user=UserFactory(role="Manager"))
    LocmemBackend.outbox.clear()
    sending.run(broadcast.pk)
    texts = list(LocmemBackend.outbox)
    LocmemBackend.outbox.clear()
    return texts


def newcomer(name: str = "Nia") -> Contact:
    """A contact given N a day after the link was sent."""
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        return ContactFactory(name=name, phone=N)


def test_revocation_by_the_link_a_contact_was_sent_reaches_the_contact(settings):
    settings.MARKETING_NEEDS_CONSENT = False
    sam = ContactFactory(name="Sam", phone=N)
    link = subscriptions.link(N, sam.pk)  # in a broadcast Sam got at N last week
    sam.phone = M  # Sam tells the front desk their new number; staff edit it
    sam.save()
    nia = newcomer()  # N given to someone else later

    page = Client().get(link).content.decode()
    assert "a number you no longer have with us" in page and "555-0123" not in page
    assert "555-0177" not in page
    Client().post(link, {"keep": ["calls"]})  # Sam unticks texts on the page they were sent
    assert Contact.objects.get(pk=sam.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD
    assert Contact.objects.get(pk=sam.pk).opt_in_status(Channel.CALLS) == OptInStatus.SUBSCRIBED
    texted = {message["to"] for message in texts_of_a_broadcast(settings, "Hello")}
    assert M not in texted and N in texted
    assert Contact.objects.get(pk=nia.pk).opt_in_status(Channel.SMS) == OptInStatus.SUBSCRIBED


def test_a_link_older_than_the_number_change_does_not_show_the_new_holders_subscriptions():
    sam = ContactFactory(name="Sam", phone=N)
    link = subscriptions.link(N, sam.pk)
    Contact.objects.filter(phone=N).update(phone=M)
    newcomer()  # N is someone else's now
    page = Client().get(link).content.decode()
    assert 'name="keep"' not in page and 'name="stop"' in page


def test_a_link_of_a_contact_who_kept_the_number_is_the_full_page():
    sam = ContactFactory(name="Sam", phone=N)
    page = Client().get(subscriptions.link(N, sam.pk)).content.decode()
    assert 'name="keep"' in page and "For the number (415) 555-0123." in page


def test_a_link_of_the_number_alone_is_the_number_s_page_as_before():
    ContactFactory(name="Sam", phone=N)
    link = subscriptions.link(N)
    Contact.objects.filter(phone=N).update(phone=M)
    newcomer()
    Client().post(link, {"keep": ["calls"]})
    assert Contact.objects.get(name="Nia").opt_in_status(Channel.SMS) == OptInStatus.HARD


def test_a_link_of_a_deleted_contact_shows_nothing_and_stops_the_number_it_came_to():
    """Nothing tells where the one who asks is: the number it came to is stopped, to be safe,
    and its contacts now (perhaps someone else) are not shown."""
    sam = ContactFactory(name="Sam", phone=N)
    link = subscriptions.link(N, sam.pk)
    sam.phone = M
    sam.save()
    nia = newcomer()
    sam.delete()
    page = Client().get(link).content.decode()
    assert 'name="keep"' not in page and "no longer shows what you are subscribed to" in page
    Client().post(link, {"form": "stop", "stop": ["sms"]})
    assert Contact.objects.get(pk=nia.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD


def test_a_link_of_a_deleted_contact_whose_number_others_shared_is_the_number_s_page():
    sam = ContactFactory(name="Sam", phone=N)
    ContactFactory(name="Pat", phone=N)
    link = subscriptions.link(N, sam.pk)
    sam.delete()
    page = Client().get(link).content.decode()
    assert 'name="keep"' in page and "For the number (415) 555-0123." in page


def test_the_link_on_a_shared_handset_stops_the_number_it_came_to_after_one_moves():
    sam = ContactFactory(name="Sam", phone=N)
    pat = ContactFactory(name="Pat", phone=N)  # the household's shared line
    link = subscriptions.link(N, sam.pk)  # the text went to N, addressed to Sam
    sam.phone = M  # Sam gets a mobile of their own
    sam.save()
    newcomer()  # and someone else joins N: Pat had it first
    page = Client().get(link).content.decode()
    assert 'name="keep"' in page and "For the number (415) 555-0123." in page
    Client().post(link, {"keep": ["calls"]})  # Pat, at N, unticks texts
    assert Contact.objects.get(pk=pat.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD
    assert Contact.objects.get(pk=sam.pk).opt_in_status(Channel.SMS) == OptInStatus.SUBSCRIBED


def test_a_broadcast_s_text_carries_its_recipient_s_link(settings):
    settings.MARKETING_NEEDS_CONSENT = False
    sam = ContactFactory(name="Sam", phone=N)
    [message] = texts_of_a_broadcast(settings, "Hello {subscriptions_link}")
    token = message["body"].split()[1].rstrip("/").rsplit("/", 1)[1]
    assert subscriptions._sent_to(signing.loads(token, salt=subscriptions.SALT)) == (N, sam.pk)


def test_a_contact_given_n_after_the_link_is_not_shown_to_it():
    """A review of the first form: a contact made long before, at another number, given N
    after the link was sent, was taken for one who had N then: the link showed her
    subscriptions and stopped her alone, while Sam, who asked, was texted on at M."""
    with time_machine.travel(timezone.now() - timedelta(days=400)):
        olga = ContactFactory(name="Olga", phone=Q)  # a customer for years, at Q
    sam = ContactFactory(name="Sam", phone=N)
    link = subscriptions.link(N, sam.pk)  # in a broadcast Sam got at N
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        sam.phone = M  # Sam's new number
        sam.save()
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        olga.phone = N  # N, recycled, is Olga's new number; staff edit her
        olga.save()
        # Sam, on the handset that has the old text, opens the link.
        page = Client().get(link).content.decode()
        assert 'name="keep"' not in page, "Olga's subscriptions shown to Sam's link"
        assert "555-0123" not in page
        Client().post(link, {"form": "stop", "stop": ["sms"]})
    # Sam asked to stop: Sam stops; and Olga, who may have shared N (nothing tells a move onto
    # it from an edit), is stopped too, to be safe: whoever asked is.
    assert Contact.objects.get(pk=sam.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD
    assert Contact.objects.get(pk=olga.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD


def test_an_archived_record_of_n_s_previous_holder_is_not_a_shared_handset():
    """The number's previous holder, kept archived (their number reassigned), holds nothing:
    the link is Sam's, at M, and neither shows nor stops the newcomer at N."""
    with time_machine.travel(timezone.now() - timedelta(days=900)):
        ContactFactory(name="Olga", phone=N, status=Contact.Status.ARCHIVED)  # N, years ago
    sam = ContactFactory(name="Sam", phone=N)  # N reassigned to Sam
    link = subscriptions.link(N, sam.pk)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        sam.phone = M
        sam.save()
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        nia = ContactFactory(name="Nia", phone=N)  # N is Nia's now
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        page = Client().get(link).content.decode()
        assert 'name="keep"' not in page, "Nia's subscriptions shown on Sam's link"
        Client().post(link, {"form": "stop", "stop": ["sms"]})
    assert Contact.objects.get(pk=sam.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD
    assert Contact.objects.get(pk=nia.pk).opt_in_status(Channel.SMS) == OptInStatus.SUBSCRIBED


def test_a_shared_number_s_contact_edited_since_is_stopped_with_the_one_who_moved():
    """Pat shares N with Sam, and was edited after the link was sent: nothing tells that from a
    move onto N, so the link stops both Sam (at M) and N, and shows neither."""
    sam = ContactFactory(name="Sam", phone=N)
    pat = ContactFactory(name="Pat", phone=N)
    link = subscriptions.link(N, sam.pk)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        sam.phone = M
        sam.save()
        pat.name = "Pat Lee"
        pat.save()
        page = Client().get(link).content.decode()
        assert 'name="keep"' not in page and "a number you no longer have with us" in page
        Client().post(link, {"form": "stop", "stop": ["sms"]})
    for each in (sam, pat):
        assert Contact.objects.get(pk=each.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD


def test_a_link_to_a_contact_archived_since_does_not_show_the_newcomer_at_its_number():
    sam = ContactFactory(name="Sam", phone=N)
    link = subscriptions.link(N, sam.pk)  # in a broadcast Sam got at N
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        sam.status = Contact.Status.ARCHIVED  # N reassigned: Sam's record kept, archived
        sam.save()
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        ContactFactory(name="Nia", phone=N)  # N is Nia's now
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        page = Client().get(link).content.decode()
    # Archived contacts hold no number: Nia's subscriptions are not shown (a review found
    # them shown); the link still stops the number it came to.
    assert 'name="keep"' not in page and "no longer shows what you are subscribed to" in page
