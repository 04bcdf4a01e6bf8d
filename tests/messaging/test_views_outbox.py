from django.urls import reverse

from messaging.backends import ConsoleBackend


def test_the_outbox_shows_what_the_console_backend_sent(client, staff_user):
    ConsoleBackend().send_sms(to="+14155550123", body="See you <tomorrow>")
    client.force_login(staff_user)
    page = client.get(reverse("messaging:outbox")).content.decode()
    assert "+14155550123" in page and "See you &lt;tomorrow&gt;" in page
