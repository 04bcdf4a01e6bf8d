"""A broadcast's text may carry each recipient's own link to their subscriptions page: written
{subscriptions_link}, it becomes the signed address of the recipient's number, which opens
that number's page and no other."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from broadcasts.models import Broadcast
from contacts import subscriptions
from contacts.models import Channel, Contact, OptInStatus
from messaging.backends import LocmemBackend
from tests.broadcasts.engine import broadcast, launched
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_each_recipient_gets_the_link_of_its_own_number(
    manager, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_URL = "https://crm.example.com"
    ann, bob = ContactFactory(), ContactFactory()
    launched(
        broadcast(body="Offers this week. Manage your texts: {subscriptions_link}"),
        manager, django_capture_on_commit_callbacks,
    )  # fmt: skip
    links = {}
    for message in LocmemBackend.outbox:
        [link] = re.findall(r"https://crm\.example\.com(/subscriptions/\S+/)", message["body"])
        assert message["body"].endswith("\nReply STOP to opt out")
        links[message["to"]] = link
    assert set(links) == {ann.phone, bob.phone}
    # Ann's link opens Ann's page; unticking SMS there opts out her number, not Bob's.
    page = Client().get(links[ann.phone])
    assert page.status_code == 200 and ann.phone_display in page.content.decode()
    Client().post(links[ann.phone], {"keep": ["calls"]})
    assert Contact.objects.get(pk=ann.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD
    assert Contact.objects.get(pk=bob.pk).opt_in_status(Channel.SMS) == OptInStatus.SUBSCRIBED


def test_the_form_counts_the_link_as_long_as_the_longest_number_s(manager_client):
    """As the form's limit counts it (1,600 characters): the counter never says a text fits
    that the form refuses."""
    sample = subscriptions.longest_link(subscriptions.PLACEHOLDER)
    assert len(sample) >= len(
        subscriptions.with_link(subscriptions.PLACEHOLDER, "+14155550123", 10**12)
    )
    form = manager_client.get(reverse("broadcasts:new")).content.decode()
    assert f'data-link-length="{len(sample)}"' in form
    assert "Write {subscriptions_link} for each contact" in form
    b = Broadcast.objects.create(name="x", channel="sms", body="See {subscriptions_link}")
    page = manager_client.get(reverse("broadcasts:detail", args=[b.pk])).content.decode()
    length = len(f"See {sample}\nReply STOP to opt out")
    assert f"{length} characters" in page


@pytest.mark.parametrize("launch", [False, True])
def test_the_page_shows_where_the_link_goes_not_its_placeholder(
    launch, manager, manager_client, settings, django_capture_on_commit_callbacks
):
    """Before and after the launch, the broadcast's page shows the text as it reads, each
    link marked as the contact's own: not "{subscriptions_link}", and no working link."""
    settings.PUBLIC_URL = "https://crm.example.com"
    ContactFactory()
    b = broadcast(body="Deals <today>! Manage: {subscriptions_link} or call us")
    if launch:
        launched(b, manager, django_capture_on_commit_callbacks)
    page = manager_client.get(reverse("broadcasts:detail", args=[b.pk])).content.decode()
    [text] = re.findall(r'<pre class="body">(.*?)</pre>', page, re.S)
    assert "{subscriptions_link}" not in text
    assert text == (
        'Deals &lt;today&gt;! Manage: <mark title="Each contact\'s own link">'
        "https://crm.example.com/subscriptions/…/</mark> or call us\nReply STOP to opt out"
    )
    assert "the contact's own link to their subscriptions page" in page


@pytest.mark.parametrize(
    "body",
    [
        "</pre><script>alert(1)</script> {subscriptions_link}",
        "<a href=\"{subscriptions_link}\" onclick='x()'>{subscriptions_link}{subscriptions_link}",
        "{subscriptions_{subscriptions_link}link} &amp; {subscriptions_link",
    ],
)
def test_the_text_is_escaped_around_each_mark(body, manager_client, settings):
    """The manager's text never becomes markup, nor the PUBLIC_URL; each placeholder is one
    mark."""
    from django.utils.html import escape

    settings.PUBLIC_URL = 'https://crm.example.com/"><b>'
    b = broadcast(body=body)
    page = manager_client.get(reverse("broadcasts:detail", args=[b.pk])).content.decode()
    [text] = re.findall(r'<pre class="body">(.*?)</pre>', page, re.S)
    mark = (
        '<mark title="Each contact\'s own link">https://crm.example.com/&quot;&gt;&lt;b&gt;'
        "/subscriptions/…/</mark>"
    )
    assert text.count("<") == 2 * body.count("{subscriptions_link}")
    assert text == mark.join(escape(p) for p in b.sms_text.split("{subscriptions_link}"))


def test_the_evidence_file_gives_the_text_with_each_link_unsigned(
    manager, admin_client, settings, django_capture_on_commit_callbacks
):
    """What the number was sent, as its evidence file tells it: the link as the address it
    was, with no working token in a file that is handed around."""
    settings.PUBLIC_URL = "https://crm.example.com"
    ann = ContactFactory()
    launched(broadcast(body="Manage: {subscriptions_link}"), manager,
             django_capture_on_commit_callbacks)  # fmt: skip
    url = reverse("contacts:evidence", args=[ann.pk]) + "?format=json"
    texts = [m["text"] for m in admin_client.get(url).json()["messages"]]
    assert texts == ["Manage: https://crm.example.com/subscriptions/…/\nReply STOP to opt out"]
