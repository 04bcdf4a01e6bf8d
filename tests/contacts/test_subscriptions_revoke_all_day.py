"""The contact's subscriptions page, opened by a link past its days, under the revoke-all rule
from a day on (OPT_OUT_SCOPE_ALL_FROM: from that day a revocation in one channel covers every
channel), as a STOP is: a number that stopped texts before the day and asks again to stop
them stops calls too, and the page's answer says nothing of what it had stopped (a cold
review found both)."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from contacts import services, subscriptions
from contacts.models import Channel, Contact, Source
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"
OTHER = "+14155550124"
BEFORE = datetime(2026, 12, 7, 15, tzinfo=UTC)  # a STOP, and the link sent in a text
AFTER = datetime(2027, 2, 15, 15, tzinfo=UTC)  # revoke-all in force; the link past its days


@pytest.fixture(autouse=True)
def revoke_all_from_31_january(settings):
    settings.OPT_OUT_SCOPE = "channel"
    settings.OPT_OUT_SCOPE_ALL_FROM = "2027-01-31"


def statuses(contact: Contact) -> dict[str, str]:
    contact = Contact.objects.get(pk=contact.pk)
    return {channel: str(contact.opt_in_status(channel)) for channel in Channel}


def stopped_texts_before_revoke_all(phone: str) -> tuple[Contact, str]:
    """A contact whose number replied STOP before the revoke-all day (texts only, as the rule
    then was), and the link of its subscriptions page sent to it then."""
    with time_machine.travel(BEFORE, tick=False):
        contact = ContactFactory(name=f"Contact {phone[-4:]}", phone=phone)
        services.record_revocation(
            phone=phone, channel=Channel.SMS, source=Source.KEYWORD, words="STOP"
        )
        link = subscriptions.link(phone)
    assert statuses(contact) == {"sms": "hard", "calls": "subscribed"}
    return contact, link


def test_stop_texts_on_an_old_link_after_the_revoke_all_day_stops_calls_too():
    """After 31 Jan 2027 the contact opens the link of an old text (the page shows nothing
    of the subscriptions), ticks "Stop texts" and saves. Under revoke-all that revocation
    covers calls; the page says "Done" but calls stay subscribed, and the next voice
    broadcast calls the number."""
    contact, link = stopped_texts_before_revoke_all(PHONE)
    with time_machine.travel(AFTER, tick=False):
        response = Client().post(link, {"form": "stop", "stop": ["sms"]})
    assert response.status_code == 200
    assert "Done: you will receive no more texts" in response.content.decode()
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}, (
        "the contact's revocation on their page did not reach calls under revoke-all"
    )


def test_the_same_request_by_a_stop_text_stops_calls_too():
    """The control: the same number's STOP text on the same day covers calls, as
    record_revocation does for every revocation whatever the number had stopped before."""
    contact, _ = stopped_texts_before_revoke_all(PHONE)
    with time_machine.travel(AFTER, tick=False):
        services.record_revocation(
            phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD, words="STOP"
        )
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}


def test_an_old_link_does_not_tell_its_holder_whether_the_number_had_stopped_texts():
    """A page past its days "no longer shows what you are subscribed to" (whoever holds an
    old message may open it). Yet under revoke-all its answer to "Stop texts" tells a number
    that had stopped texts ("no more texts") from one that had not ("no more texts or
    calls")."""
    _, link = stopped_texts_before_revoke_all(PHONE)
    with time_machine.travel(BEFORE, tick=False):
        ContactFactory(name="Ada Other", phone=OTHER)
        other_link = subscriptions.link(OTHER)
    said = {}
    with time_machine.travel(AFTER, tick=False):
        for phone, url in ((PHONE, link), (OTHER, other_link)):
            html = Client().post(url, {"form": "stop", "stop": ["sms"]}).content.decode()
            said[phone] = html.split("Done:")[1].split("</p>")[0]
    assert said[PHONE] == said[OTHER], said
