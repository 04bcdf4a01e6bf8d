"""A soft opt-out while a batch hands a message to the number waits for the hand-over, as a
STOP does: the message went before the opt-out, never after it (a review saw the opt-out
commit between a batch's check and its hand-over). Committed transactions on a PostgreSQL
database of their own."""

import pytest

from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401
from tests.messaging.test_prompt_races import lines

pytestmark = pytest.mark.postgres

# A batch that holds `phone` (set by the script before it) while it checks and hands over.
HOLDING = """
locked, release = threading.Event(), threading.Event()


def batch():
    with transaction.atomic():
        services.lock_numbers([phone], shared=True)
        locked.set()
        release.wait(60)
"""

SOFT_DURING = (
    """
from contacts.models import Contact, OptOut

phone = "+14155550199"
contact = Contact.objects.create(name="Sam", phone=phone)
"""
    + HOLDING
    + """


holding = beside(batch)
locked.wait(60)
unsubscribing = beside(lambda: services.unsubscribe(contact=contact, channel="sms", by_user=None))
print("the opt-out waits:", wait_for_lock_waiters(1, unless=lambda: not unsubscribing.is_alive()))
print("opted out meanwhile:", OptOut.objects.filter(contact=contact).exists())
release.set()
holding.join(60)
unsubscribing.join(60)
print("opted out:", OptOut.objects.filter(contact=contact).exists())
"""
)


def test_a_soft_opt_out_during_a_hand_over_waits_for_it(request):
    assert lines(SOFT_DURING, request) == [
        "the opt-out waits: True", "opted out meanwhile: False", "opted out: True"
    ]  # fmt: skip


DNC_DURING = (
    """
from django.contrib.auth.models import Group, User
from django.test import Client
from contacts.models import Contact

phone = "+14155550198"
contact = Contact.objects.create(name="Dee", phone=phone)
admin = User.objects.create(username="admin-dnc")
admin.groups.add(Group.objects.get(name="Admin"))
settings.ALLOWED_HOSTS = ["testserver"]
client = Client()
client.force_login(admin)
"""
    + HOLDING
    + """


def mark():
    form = {"name": "Dee", "phone": phone, "email": "", "status": "do_not_contact"}
    assert client.post(f"/contacts/{contact.pk}/", form).status_code == 302


holding = beside(batch)
locked.wait(60)
marking = beside(mark)
print("the edit waits:", wait_for_lock_waiters(1, unless=lambda: not marking.is_alive()))
release.set()
holding.join(60)
marking.join(60)
print("status:", Contact.objects.get(pk=contact.pk).status)
"""
)


def test_marking_do_not_contact_during_a_hand_over_waits_for_it(request):
    assert lines(DNC_DURING, request) == ["the edit waits: True", "status: do_not_contact"]
