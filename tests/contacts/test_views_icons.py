"""The Opt-In icons are the app's own SVG drawings, not emoji, wherever they show: a browser
without an emoji font drew the emoji as empty boxes."""

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

from contacts import services
from contacts.models import Channel, Source
from tests.factories import ContactFactory

SMS_ICON = f'<img class="glyph" src="{static("icons/sms.svg")}" alt=""'
CALLS_ICON = f'<img class="glyph" src="{static("icons/calls.svg")}" alt=""'
EMOJI = ("📩", "📞")


@pytest.fixture
def contact(admin_role_user):
    """Soft on SMS, hard on calls: the icons of all three looks on one page."""
    contact = ContactFactory(name="Ida Icon", phone="+14155550170")
    services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=admin_role_user)
    services.record_hard_opt_out(
        phone=contact.phone, channel=Channel.CALLS, source=Source.DIGIT, words="pressed 9"
    )
    ContactFactory(name="Sue Subscribed", phone="+14155550171")
    return contact


def assert_drawn_with_svg(page: str, icons: int) -> None:
    assert page.count(SMS_ICON) == icons
    assert page.count(CALLS_ICON) == icons
    for emoji in EMOJI:
        assert emoji not in page


@pytest.mark.parametrize("user", ["staff_user", "admin_role_user"])  # icons, and icon menus
def test_the_table_draws_the_svg_icons_and_no_emoji(client, request, user, contact):
    client.force_login(request.getfixturevalue(user))
    page = client.get(reverse("contacts:list")).content.decode()
    assert_drawn_with_svg(page, icons=2)
    assert 'aria-label="SMS: opted out (soft)"' in page
    assert 'aria-label="Calls &amp; Voicemails: opted out (hard)"' in page


@pytest.mark.parametrize("user", ["staff_user", "admin_role_user"])
def test_the_contact_page_draws_them_too(client, request, user, contact):
    client.force_login(request.getfixturevalue(user))
    page = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert_drawn_with_svg(page, icons=1)


def test_an_icon_changed_in_place_is_drawn_with_svg(admin_client, contact):
    response = admin_client.post(
        reverse("contacts:subscription", args=[contact.pk]),
        {"channel": "sms", "action": "resubscribe"},
        headers={"HX-Request": "true"},
    )
    assert 'aria-label="SMS: subscribed"' in response.content.decode()
    assert_drawn_with_svg(response.content.decode(), icons=1)


def test_the_admin_changelist_draws_them_too(client, admin_role_user, contact):
    admin_role_user.is_staff = True
    admin_role_user.save()
    client.force_login(admin_role_user)
    page = client.get(reverse("admin:contacts_contact_changelist")).content.decode()
    assert_drawn_with_svg(page, icons=2)
    assert 'title="Opted out of SMS: by admintest on' in page


@pytest.mark.parametrize("name", ["icons/sms.svg", "icons/calls.svg"])
def test_the_drawings_are_the_apps_own_svg_files(name):
    path = finders.find(name)
    assert path, f"static/{name} is missing"
    with open(path, encoding="utf-8") as drawing:
        svg = drawing.read()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"')
    assert "<script" not in svg and "href" not in svg  # self-contained, nothing to fetch
