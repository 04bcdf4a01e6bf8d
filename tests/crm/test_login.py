from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory


@pytest.mark.parametrize("url", ["/", "/contacts/", "/admin/"])
def test_it_requires_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/") or response.url.startswith("/admin/login/")


def test_the_login_page_has_the_apps_look(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "css/app.css" in page
    assert 'id="login-form"' in page


def test_a_user_logs_in_and_lands_on_the_insights(client, staff_user):
    response = client.post(
        reverse("login"), {"username": "stafftest", "password": "secret-pass-123"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("broadcasts:insights")
    assert "Signed in as <strong>stafftest</strong>" in response.content.decode()


def test_a_wrong_password_is_refused_with_a_message(client, staff_user):
    response = client.post(reverse("login"), {"username": "stafftest", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_is_a_post_and_shows_the_logged_out_page(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert client.get("/contacts/").status_code == 302


def test_a_user_without_a_role_is_forbidden_from_the_contacts(client, db):
    client.force_login(UserFactory())
    response = client.get("/contacts/")
    assert response.status_code == 403
    assert "Your role does not allow this page" in response.content.decode()


def sent_to_login(client) -> bool:
    response = client.get("/contacts/")
    return response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_session_cookie_kept_after_logging_out_opens_nothing(client, staff_user):
    client.force_login(staff_user)
    cookie = client.cookies["sessionid"].value
    client.post(reverse("logout"))
    client.cookies["sessionid"] = cookie  # replayed, say by someone who copied it
    assert sent_to_login(client)


def test_an_expired_session_signs_the_user_out(client, staff_user):
    client.force_login(staff_user)
    assert not sent_to_login(client)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert sent_to_login(client)


def test_a_deactivated_user_is_signed_out_at_the_next_page(client, staff_user):
    client.force_login(staff_user)
    staff_user.is_active = False
    staff_user.save()
    assert sent_to_login(client)


def test_a_new_password_signs_out_the_users_other_sessions(client, staff_user):
    client.force_login(staff_user)
    staff_user.set_password("another-pass-456")
    staff_user.save()
    assert sent_to_login(client)
