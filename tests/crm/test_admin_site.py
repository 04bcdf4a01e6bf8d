"""The project's admin site: Django's, with what its pages would answer with a 500 refused."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from contacts.models import Contact, Tag
from tests.factories import ContactFactory


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "name, to_field",
    [
        ("admin:contacts_tag_change", ""),
        ("admin:contacts_tag_delete", ""),
        ("admin:contacts_tag_changelist", ""),
        ("admin:auth_user_change", ""),
        ("admin:contacts_contact_change", "opt_outs"),  # a reverse relation
        ("admin:contacts_contact_delete", "+"),  # a hidden one (Recipient.contact)
        ("admin:contacts_contact_changelist", "Contact_tags+"),
        ("admin:auth_user_changelist", "logentry"),
    ],
)
def test_a_to_field_that_names_no_column_is_a_400_and_changes_nothing(
    client, superuser, method, name, to_field
):
    # Django's admin failed on these, on every model's pages: "" names no field
    # (FieldDoesNotExist), and a reverse relation has no primary_key (AttributeError).
    tag = Tag.objects.create(name="VIP")
    contact = ContactFactory(name="Ana")
    obj = {"tag": tag, "user": superuser, "contact": contact}[name.split("_")[1]]
    client.force_login(superuser)
    url = reverse(name, args=[] if name.endswith("changelist") else [obj.pk])
    if method == "get":
        response = client.get(url, {"_to_field": to_field})
    else:
        response = client.post(url, {"_to_field": to_field, "post": "yes", "name": "Changed"})
    assert response.status_code == 400
    assert Tag.objects.get().name == "VIP"
    assert Contact.objects.get().name == "Ana"
    assert get_user_model().objects.filter(pk=superuser.pk).exists()


def test_the_admin_still_changes_a_tag(client, superuser):
    tag = Tag.objects.create(name="VIP")
    client.force_login(superuser)
    url = reverse("admin:contacts_tag_change", args=[tag.pk])
    response = client.post(url, {"name": "Very important", "_to_field": "id"})
    assert response.status_code == 302
    assert Tag.objects.get().name == "Very important"


@pytest.mark.parametrize(
    "query", ["after=%00", "q=a%00b", "source=keyword&channel=s%00ms", "o%00=1", "after=hard"]
)
def test_a_nul_in_a_lists_filters_or_search_is_a_400(client, superuser, query):
    """PostgreSQL's text cannot hold a NUL: a filter with one was a 500 on the ledger's list."""
    client.force_login(superuser)
    response = client.get(reverse("admin:contacts_consentevent_changelist") + "?" + query)
    assert response.status_code == (200 if query == "after=hard" else 400)


@pytest.mark.parametrize("selected", ["", "x", "1.5"])
def test_an_action_on_rows_that_name_no_object_is_a_400_and_changes_nothing(
    client, superuser, selected
):
    """An action's selected rows went into a query as they were: "" was a 500 on every
    model's list (a fuzzed request found it)."""
    tag = Tag.objects.create(name="VIP")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:contacts_tag_changelist"),
        {"action": "delete_selected", "_selected_action": [str(tag.pk), selected], "post": "yes"},
    )
    assert response.status_code == 400
    assert Tag.objects.filter(pk=tag.pk).exists()


def test_an_action_on_rows_still_runs(client, superuser):
    tag = Tag.objects.create(name="VIP")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:contacts_tag_changelist"),
        {"action": "delete_selected", "_selected_action": [str(tag.pk)], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Tag.objects.exists()
