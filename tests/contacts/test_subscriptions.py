"""The contact's own subscriptions page: a signed link, no login; unticking a channel is the
contact's hard opt-out, with the page as its source. A tampered link gets a 403 and changes
nothing; one past its days shows nothing, but still stops messages."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from contacts import services, subscriptions
from contacts.models import (
    Channel,
    ConsentEvent,
    Contact,
    HardOptOutError,
    OptInStatus,
    PhoneOptOut,
)
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"


@pytest.fixture
def contact():
    return ContactFactory(name="Sam Self", phone=PHONE)


def statuses(contact: Contact) -> dict[str, str]:
    contact = Contact.objects.get(pk=contact.pk)
    return {channel: contact.opt_in_status(channel) for channel in Channel}


def test_staff_find_the_link_on_the_contact_page_and_it_opens_without_a_login(
    admin_client, contact
):
    page = admin_client.get(contact.get_absolute_url()).content.decode()
    found = re.search(r'value="http://[^/"]+(/subscriptions/[^"]+/)"', page)
    assert found, "no link on the contact page"
    response = Client().get(found.group(1))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your subscriptions to Demo Dental" in html and "(415) 555-0123" in html
    assert html.count('name="keep"') == 2 and html.count("checked") == 2
    assert "Contacts" not in html and "Sam Self" not in html  # nothing of the app or the contact


def test_unticking_texts_is_the_contact_s_own_hard_opt_out(contact, admin_role_user):
    response = Client().post(subscriptions.link(PHONE), {"keep": ["calls"]})
    assert "you will receive no more texts from Demo Dental" in response.content.decode()
    assert statuses(contact) == {"sms": OptInStatus.HARD, "calls": OptInStatus.SUBSCRIBED}
    opt_out = PhoneOptOut.objects.get()
    assert (opt_out.phone, opt_out.channel, opt_out.source) == (PHONE, "sms", "page")
    row = ConsentEvent.objects.filter(contact=contact).get()
    assert row.how == "unsubscribed on their subscriptions page"
    with pytest.raises(HardOptOutError):
        services.resubscribe(contact=contact, channel=Channel.SMS, by_user=admin_role_user)
    again = Client().get(subscriptions.link(PHONE)).content.decode()
    assert "To receive texts again, reply START" in again and again.count('name="keep"') == 1


def test_a_channel_the_business_paused_says_so_and_may_still_be_stopped_for_good(
    contact, admin_role_user
):
    services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=admin_role_user)
    page = Client().get(subscriptions.link(PHONE)).content.decode()
    assert page.count("We send you no texts at the moment, but may again.") == 1
    assert "calls at the moment" not in page
    Client().post(subscriptions.link(PHONE), {"keep": ["calls"]})
    assert statuses(contact) == {"sms": OptInStatus.HARD, "calls": OptInStatus.SUBSCRIBED}


@pytest.mark.parametrize("user", ["staff_user", "admin_role_user", "manager_user"])
def test_a_signed_in_user_sees_the_page_but_cannot_save_it_as_the_contact(
    client, request, contact, user
):
    """Opened from the contact's page in the same browser: what they saved was recorded as
    the contact's own unticking, with nothing of who did it."""
    client.force_login(request.getfixturevalue(user))
    page = client.get(subscriptions.link(PHONE)).content.decode()
    assert "this is the contact's own page" in page and "use “Asked to stop…”" in page
    assert '<button type="submit" class="button" disabled>Save</button>' in page

    response = client.post(subscriptions.link(PHONE), {"keep": []})
    assert response.status_code == 403
    assert "Nothing was changed." in response.content.decode()
    assert statuses(contact) == {"sms": OptInStatus.SUBSCRIBED, "calls": OptInStatus.SUBSCRIBED}
    assert not PhoneOptOut.objects.exists() and not ConsentEvent.objects.exists()


def test_keeping_both_changes_nothing(contact):
    Client().post(subscriptions.link(PHONE), {"keep": ["sms", "calls"]})
    assert not PhoneOptOut.objects.exists() and not ConsentEvent.objects.exists()


def test_a_channel_already_stopped_cannot_be_ticked_back_on(contact):
    Client().post(subscriptions.link(PHONE), {"keep": []})
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}
    Client().post(subscriptions.link(PHONE), {"keep": ["sms", "calls"]})
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}


def test_under_the_revoke_all_scope_unticking_texts_stops_calls_too(contact, settings):
    settings.OPT_OUT_SCOPE = "all"
    response = Client().post(subscriptions.link(PHONE), {"keep": ["calls"]})
    assert "no more texts or calls" in response.content.decode()
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}


@pytest.mark.parametrize(
    "token",
    [
        lambda: subscriptions.link(PHONE).split("/")[2][:-1] + "x",  # a character changed
        lambda: subscriptions.link(PHONE).split("/")[2][:20],  # cut short
        lambda: signing.dumps("+14155550999", salt="another.salt"),  # signed for something else
        lambda: signing.dumps("+14155550999", key="a guess"),  # signed with another key
        lambda: "not-a-token",
    ],
)
def test_a_tampered_link_gets_a_403_and_changes_nothing(contact, token):
    url = f"/subscriptions/{token()}/"
    for response in (Client().get(url), Client().post(url, {"keep": []})):
        assert response.status_code == 403
        assert "This link is not valid" in response.content.decode()
    assert statuses(contact) == {"sms": "subscribed", "calls": "subscribed"}


def test_a_link_signed_before_the_secret_key_changed_works_with_it_as_a_fallback(contact, settings):
    """An operator changes SECRET_KEY: the links texted before it stop messages only while
    the old key is among SECRET_KEY_FALLBACKS; without it, they are refused and change
    nothing."""
    url = subscriptions.link(PHONE)
    old, settings.SECRET_KEY = settings.SECRET_KEY, "a-new-secret-key-" + "n" * 50
    assert Client().post(url, {"keep": ["calls"]}).status_code == 403
    assert statuses(contact) == {"sms": "subscribed", "calls": "subscribed"}
    settings.SECRET_KEY_FALLBACKS = [old]
    response = Client().post(url, {"keep": ["calls"]})
    assert "you will receive no more texts from Demo Dental" in response.content.decode()
    assert statuses(contact) == {"sms": OptInStatus.HARD, "calls": OptInStatus.SUBSCRIBED}


def past_its_days(settings) -> time_machine.travel:
    later = timezone.now() + timedelta(days=settings.SUBSCRIPTION_LINK_DAYS, minutes=1)
    return time_machine.travel(later, tick=False)


def test_a_link_past_its_days_shows_nothing_of_the_subscriptions(contact, settings):
    services.unsubscribe(contact=contact, channel=Channel.CALLS, by_user=None)
    url = subscriptions.link(PHONE)
    with past_its_days(settings):
        response = Client().get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "This link is more than 30 days old, so it no longer shows what you are" in html
    assert 'name="keep"' not in html and "checked" not in html and "Unsubscribed" not in html
    assert html.count('name="stop"') == 2 and 'name="form" value="stop"' in html
    assert statuses(contact) == {"sms": "subscribed", "calls": "soft"}


def test_a_link_past_its_days_still_stops_messages(contact, settings):
    """The contact's revocation by the sender's own page is kept whatever the link's age (a
    cold review found it refused and forgotten: the next broadcast texted the number)."""
    url = subscriptions.link(PHONE)
    with past_its_days(settings):
        response = Client().post(url, {"form": "stop", "stop": ["sms"]})
        assert "Done: you will receive no more texts from Demo Dental." in (
            response.content.decode()
        )
        assert statuses(contact) == {"sms": "hard", "calls": "subscribed"}
        opt_out = PhoneOptOut.objects.get()
        assert (opt_out.channel, opt_out.source) == ("sms", "page")
        assert "by a link past its days" in opt_out.words
        # Nothing ticked, or something that is no channel: nothing changes; asked again, the
        # same answer, and the number's ledger keeps it as asked again (a START that came
        # before it, processed late, sees it: tests/messaging/test_page_stop_after_a_kept_start).
        ledger = ConsentEvent.objects.count()
        Client().post(url, {"form": "stop", "stop": ["email"]})
        Client().post(url, {"form": "stop"})
        assert ConsentEvent.objects.count() == ledger
        again = Client().post(url, {"form": "stop", "stop": ["sms"]}).content.decode()
        assert "Done: you will receive no more texts from Demo Dental." in again
        assert statuses(contact) == {"sms": "hard", "calls": "subscribed"}
        asked_again = ConsentEvent.objects.latest("pk")
        assert (asked_again.contact_id, asked_again.before, asked_again.after) == (
            None,
            "hard",
            "hard",
        )
        assert (ConsentEvent.objects.count(), asked_again.source) == (ledger + 1, "page")


def test_the_full_page_read_in_time_and_saved_late_stops_what_it_unticked(contact, settings):
    url = subscriptions.link(PHONE)
    with past_its_days(settings):
        Client().post(url, {"keep": ["sms"]})
    assert statuses(contact) == {"sms": "subscribed", "calls": "hard"}


def test_a_link_past_its_days_keeps_the_revoke_all_scope(contact, settings):
    settings.OPT_OUT_SCOPE = "all"
    url = subscriptions.link(PHONE)
    with past_its_days(settings):
        response = Client().post(url, {"form": "stop", "stop": ["sms"]})
    assert "no more texts or calls" in response.content.decode()
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}


def test_a_signed_in_user_cannot_save_a_link_past_its_days(
    client, admin_role_user, contact, settings
):
    url = subscriptions.link(PHONE)
    with past_its_days(settings):
        client.force_login(admin_role_user)
        assert "you cannot save it" in client.get(url).content.decode()
        response = client.post(url, {"form": "stop", "stop": ["sms", "calls"]})
    assert response.status_code == 403
    assert statuses(contact) == {"sms": "subscribed", "calls": "subscribed"}


def test_a_tampered_link_stops_nothing_without_a_form_s_token_either(contact):
    """The page takes no cookie (its signed link is the key): a link changed by a character
    is refused, as without the check of forged requests nothing else would be."""
    link = subscriptions.link(PHONE)
    tampered = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    response = Client(enforce_csrf_checks=True).post(tampered, {"keep": []})
    assert response.status_code == 403
    assert statuses(contact) == {"sms": "subscribed", "calls": "subscribed"}


@pytest.mark.parametrize(
    ("call_back", "ours", "said"),
    [("", "+14155559999", " at (415) 555-9999"), ("(888) 555-0123", "+14155559999",
     " at (888) 555-0123"), ("", "", "")],
)  # fmt: skip
def test_a_stopped_channel_says_how_to_receive_calls_again(
    contact, settings, call_back, ours, said
):
    settings.CALL_BACK_NUMBER, settings.TWILIO_FROM_NUMBER = call_back, ours
    services.record_hard_opt_out(phone=PHONE, channel=Channel.CALLS, source="keyword")
    page = Client().get(subscriptions.link(PHONE)).content.decode()
    assert f"To receive calls again, call us{said} from this number and press 1." in page
