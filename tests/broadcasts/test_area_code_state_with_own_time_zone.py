"""A Tulsa number (area code 918, which Oklahoma's act presumes its resident's) whose contact
gives a time zone of its own (Pacific) and no state keeps Oklahoma's 08:00–20:00 on Tulsa's
clock too ("several zones: the narrowest window"). A cold review found the rule read on the
Pacific clock alone: on Sunday 14 March 2027 a marketing text went at 21:30 in Tulsa."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from contacts import quiet_hours
from tests.broadcasts.engine import broadcast, launched, sent_to
from tests.factories import ContactFactory

CENTRAL = ZoneInfo("America/Chicago")
TULSA = "+19185550101"


@pytest.mark.usefixtures("quiet_hours")
def test_an_oklahoma_number_with_a_pacific_time_zone_keeps_oklahomas_clock_too(
    manager, django_capture_on_commit_callbacks
):
    ContactFactory(phone=TULSA, time_zone="America/Los_Angeles")
    # Sunday 14 March 2027, 21:30 in Tulsa (CDT, the first evening of daylight time).
    with time_machine.travel(datetime(2027, 3, 14, 21, 30, tzinfo=CENTRAL), tick=False):
        places = quiet_hours.places_of(TULSA)
        b = broadcast()
        launched(b, manager, django_capture_on_commit_callbacks)
        assert sent_to() == [], f"sent at 21:30 in Tulsa to an Oklahoma area code ({places})"


@pytest.mark.usefixtures("quiet_hours")
def test_a_number_of_a_state_without_hours_of_its_own_follows_its_contact_s_zone(
    manager, django_capture_on_commit_callbacks
):
    """A New York number whose contact says Pacific time: the contact's own data wins (the
    federal 08:00–21:00 on the Pacific clock), as no state's law presumes otherwise."""
    ContactFactory(phone="+12125550101", time_zone="America/Los_Angeles")
    # 22:30 in New York, 19:30 in Los Angeles.
    with time_machine.travel(datetime(2027, 3, 15, 22, 30, tzinfo=ZoneInfo("America/New_York"))):
        b = broadcast()
        launched(b, manager, django_capture_on_commit_callbacks)
        assert sent_to() == ["+12125550101"]
