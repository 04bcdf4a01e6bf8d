"""The project's admin site: Django's, with what its pages would answer with a 500 refused."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from contacts.models import Tag


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "name", ["admin:contacts_tag_change", "admin:contacts_tag_delete", "admin:auth_user_change"]
)
def test_an_empty_to_field_is_a_400_and_changes_nothing(client, superuser, method, name):
    # Django's change and delete pages looked the object up by a field named "":
    # FieldDoesNotExist, a 500 (the admin's own models and the others alike).
    tag = Tag.objects.create(name="VIP")
    obj = tag if "tag" in name else superuser
    client.force_login(superuser)
    url = reverse(name, args=[obj.pk])
    if method == "get":
        response = client.get(url, {"_to_field": ""})
    else:
        response = client.post(url, {"_to_field": "", "post": "yes", "name": "Changed"})
    assert response.status_code == 400
    assert Tag.objects.get().name == "VIP"
    assert get_user_model().objects.filter(pk=superuser.pk).exists()


def test_the_admin_still_changes_a_tag(client, superuser):
    tag = Tag.objects.create(name="VIP")
    client.force_login(superuser)
    url = reverse("admin:contacts_tag_change", args=[tag.pk])
    response = client.post(url, {"name": "Very important", "_to_field": "id"})
    assert response.status_code == 302
    assert Tag.objects.get().name == "Very important"
