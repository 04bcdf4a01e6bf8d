"""A contact's own state adds to the state of its number's area code; it does not replace it.
Oklahoma's act presumes a number under its area codes is its resident's: 08:00-20:00, at most
3 a day. A Tulsa number whose contact says Texas (moved, or a billing address) keeps both
states' hours, and Oklahoma's limit. (A review found Texas's rule alone kept: texts at 20:30
Central, and a fourth in a day.)"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from broadcasts import services
from broadcasts.policy import FREQUENCY_LIMIT
from contacts import quiet_hours
from tests.broadcasts.engine import broadcast, launched, sent_earlier, sent_to
from tests.factories import ContactFactory

CENTRAL = ZoneInfo("America/Chicago")
TULSA = "+19185550101"  # area code 918: Oklahoma


@pytest.mark.usefixtures("quiet_hours")
def test_oklahoma_number_of_a_contact_who_says_texas_keeps_oklahoma_quiet_hours(
    manager, django_capture_on_commit_callbacks
):
    # A Tulsa mobile whose contact record says TX (moved, or a billing address).
    ContactFactory(phone=TULSA, state="TX")
    # Monday 20:30 in Tulsa: Oklahoma's window (08:00-20:00) is closed; Texas' is open.
    with time_machine.travel(datetime(2026, 12, 7, 20, 30, tzinfo=CENTRAL), tick=False):
        places = quiet_hours.places_of(TULSA)
        b = broadcast()
        launched(b, manager, django_capture_on_commit_callbacks)
        assert sent_to() == [], f"sent at 20:30 Central to an Oklahoma area code (places: {places})"


def test_oklahoma_number_of_a_contact_who_says_texas_keeps_oklahoma_frequency_limit(
    manager, django_capture_on_commit_callbacks
):
    ContactFactory(phone=TULSA, state="TX")
    sent_earlier(TULSA, hours_ago=2, times=3)  # three marketing messages today already
    b = broadcast()  # marketing, the default
    preview = services.preview(b)
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [], (
        "a 4th marketing message in 24 h to an Oklahoma area code "
        f"(preview: {preview.excluded.get(FREQUENCY_LIMIT.label)} left out by the limit)"
    )
