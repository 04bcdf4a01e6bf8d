"""A launch sends what its page confirmed. An edit saved between the launch page and "Yes,
launch it" (a second manager, a second tab) is not launched unseen: the launch is refused,
and the page shows what the broadcast is now. (A review found an SMS to one tag launched as
robocalls to every contact.)"""

import re

from django.test import Client
from django.urls import reverse

from broadcasts.models import Broadcast
from contacts.models import Tag
from crm.roles import MANAGER
from messaging.backends import LocmemBackend
from tests.factories import ContactFactory, UserFactory


def _hidden_fields(page: str) -> dict[str, str]:
    """The launch form's hidden inputs (but the CSRF token), so that a fix that carries what
    was confirmed in the form is exercised."""
    form = page.split('<form method="post"', 1)[1].split("</form>", 1)[0]
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and name[1] != "csrfmiddlewaretoken":
            fields[name[1]] = value[1] if value else ""
    return fields


def test_an_edit_between_the_confirmation_and_the_launch_is_not_launched(
    db, django_capture_on_commit_callbacks
):
    vip = Tag.objects.create(name="VIP")
    ContactFactory(phone="+12125550101").tags.add(vip)
    ContactFactory(phone="+12125550102")
    ContactFactory(phone="+12125550103")
    alice, bob = Client(), Client()
    alice.force_login(UserFactory(username="alice", role=MANAGER))
    bob.force_login(UserFactory(username="bob", role=MANAGER))

    alice.post(reverse("broadcasts:new"), {
        "name": "Sale", "channel": "sms", "purpose": "informational", "body": "Sale today",
        "promotes_nothing": "on", "audience-tag": vip.pk,
    })  # fmt: skip
    b = Broadcast.objects.get()
    assert b.channel == "sms" and b.audience_contacts().count() == 1

    # Alice opens the confirmation: one number, by SMS.
    page = alice.get(reverse("broadcasts:launch", args=[b.pk])).content.decode()
    assert "<strong>1</strong> phone number by SMS" in page
    hidden = _hidden_fields(page)

    # Meanwhile Bob edits the draft: a voice message to everyone.
    bob.post(reverse("broadcasts:edit", args=[b.pk]), {
        "name": "Sale", "channel": "calls", "purpose": "informational",
        "script": "Big sale today", "unsubscribe_digit": "9", "promotes_nothing": "on",
    })  # fmt: skip
    b.refresh_from_db()
    assert b.channel == "calls" and b.audience == ""

    # Alice presses "Yes, launch it" on the page that said one SMS: refused, and shown what
    # the broadcast is now.
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("broadcasts:launch", args=[b.pk]), hidden, follow=True)
    assert [(m["kind"], m["to"]) for m in LocmemBackend.outbox] == []
    assert Broadcast.objects.get().status == Broadcast.Status.DRAFT
    page = response.content.decode()
    assert "Not launched: this broadcast was edited since you opened its launch page." in page
    assert "<strong>3</strong> phone numbers by Calls &amp; Voicemails" in page
    assert '<pre class="body">Big sale today</pre>' in page  # what it now says

    # Launched from that page, it is what she now confirms.
    with django_capture_on_commit_callbacks(execute=True):
        alice.post(reverse("broadcasts:launch", args=[b.pk]), _hidden_fields(page))
    assert sorted(m["to"] for m in LocmemBackend.outbox) == [
        "+12125550101",
        "+12125550102",
        "+12125550103",
    ]


def test_a_launch_without_the_page_s_confirmation_is_refused(manager_client):
    """A form of an older page, or a post of none: nothing says what was confirmed."""
    b = Broadcast.objects.create(name="B", channel="sms", body="x")
    ContactFactory(phone="+12125550101")
    response = manager_client.post(reverse("broadcasts:launch", args=[b.pk]), follow=True)
    assert "Not launched: this broadcast was edited" in response.content.decode()
    assert Broadcast.objects.get().status == Broadcast.Status.DRAFT
