"""A launched broadcast's page lists every recipient: names, pages, a status filter, and a
table that refreshes while the broadcast sends."""

import re

import pytest
from django.urls import reverse

from broadcasts.models import Broadcast, Recipient
from tests.factories import ContactFactory


def launched(count: int, *, status: str = "done") -> Broadcast:
    broadcast = Broadcast.objects.create(name="Fair", channel="sms", body="x", status=status)
    contacts = [ContactFactory(name=f"Person {n:03d}") for n in range(count)]
    Recipient.objects.bulk_create(
        Recipient(broadcast=broadcast, contact=contact, phone=contact.phone, status="sent")
        for contact in contacts
    )
    return broadcast


def names(response) -> list[str]:
    table = response.content.decode().split('id="recipients"')[1]
    return re.findall(r'<a href="/contacts/\d+/">(Person \d+)</a>', table)


def link(response, rel: str) -> str | None:
    found = re.search(rf'href="([^"]+)" rel="{rel}"', response.content.decode())
    return found and found[1].replace("&amp;", "&")


def test_every_recipient_is_listed_by_name_a_page_at_a_time(manager_client):
    broadcast = launched(120)
    seen, url = [], reverse("broadcasts:detail", args=[broadcast.pk])
    pages = 0
    while url:
        response = manager_client.get(url)
        seen += names(response)
        url, pages = link(response, "next"), pages + 1
    assert pages == 3
    assert seen == [f"Person {n:03d}" for n in range(120)]  # numbers given in name order


def test_previous_goes_back_to_the_page_before(manager_client):
    broadcast = launched(120)
    first = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]))
    second = manager_client.get(link(first, "next"))
    back = manager_client.get(link(second, "prev"))
    assert names(back) == names(first)
    assert link(first, "prev") is None


def test_the_status_filter_keeps_to_its_status_across_pages(manager_client):
    broadcast = launched(60)
    failed = broadcast.recipients.order_by("phone")[:55]
    Recipient.objects.filter(pk__in=[r.pk for r in failed]).update(status="failed")
    url = reverse("broadcasts:detail", args=[broadcast.pk]) + "?status=failed"
    first = manager_client.get(url)
    second = manager_client.get(link(first, "next"))
    assert "status=failed" in link(first, "next")
    assert len(names(first)) + len(names(second)) == 55
    assert "Recipients: failed" in first.content.decode()


def test_a_deleted_contact_s_recipient_still_shows_its_number(manager_client):
    broadcast = launched(1)
    recipient = broadcast.recipients.get()
    recipient.contact.delete()
    response = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]))
    assert "Deleted contact" in response.content.decode()
    assert recipient.phone_display in response.content.decode()


@pytest.mark.parametrize(
    "query", ["?after=%00", "?before=x' OR 1=1", "?status=nope", "?after=" + "9" * 300]
)
def test_odd_page_parameters_give_the_first_page(manager_client, query):
    broadcast = launched(3)
    response = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]) + query)
    assert response.status_code == 200
    assert names(response) == ["Person 000", "Person 001", "Person 002"]


def test_the_table_refreshes_itself_while_the_broadcast_sends(manager_client):
    broadcast = launched(3, status="sending")
    page = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]) + "?status=sent")
    poll = reverse("broadcasts:recipients", args=[broadcast.pk]) + "?status=sent"
    assert f'hx-get="{poll}"' in page.content.decode()
    Recipient.objects.filter(broadcast=broadcast).update(status="delivered")
    fragment = manager_client.get(poll, headers={"HX-Request": "true"})
    assert "None." in fragment.content.decode()  # none sent any more: all delivered
    Broadcast.objects.filter(pk=broadcast.pk).update(status="done")
    done = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]))
    assert "hx-get" not in done.content.decode().split('id="recipients"')[1]


def test_staff_see_the_recipients_too(client, staff_user):
    broadcast = launched(2)
    client.force_login(staff_user)
    response = client.get(reverse("broadcasts:recipients", args=[broadcast.pk]))
    assert names(response) == ["Person 000", "Person 001"]
