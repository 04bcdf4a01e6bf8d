"""A contact who says Texas and a time zone that is none of Texas's (Eastern), on a Dallas
number, is in one or the other: it waits for 09:00 Central, Texas's first hour in every
Texas zone, not 09:00 Eastern alone. (A contact who gives a zone of its state keeps that zone
alone: tests/broadcasts/test_quiet_hours_same_state.py.)"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from contacts.places import Place, place_of
from contacts.quiet_hours import is_open, places_said
from tests.broadcasts.test_quiet_hours_sending import at, launch, manager, new_broadcast  # noqa: F401
from tests.broadcasts.test_scheduling import sent_to
from tests.factories import ContactFactory

pytestmark = pytest.mark.usefixtures("db", "quiet_hours")
CENTRAL = ZoneInfo("America/Chicago")
DALLAS = "+12145550101"


@pytest.fixture(autouse=True)
def _tasks_in_the_database(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_a_texan_who_says_eastern_time_is_not_texted_before_9_in_texas():
    monday_0830_central = datetime(2026, 12, 7, 8, 30, tzinfo=CENTRAL)
    places = places_said(DALLAS, [("America/New_York", "TX")])
    assert not all(is_open(place, monday_0830_central) for place in places)


def test_the_broadcast_waits_for_9_central(manager):  # noqa: F811
    ContactFactory(phone=DALLAS, state="TX", time_zone="America/New_York")
    with at(2026, 12, 7, 8, 30, zone=CENTRAL):  # Monday 08:30 in Dallas, 09:30 Eastern
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        assert sent_to() == []


@pytest.mark.parametrize(
    ("phone", "zone", "state"),
    [
        ("+13135550100", "America/Detroit", "MI"),
        ("+13175550100", "America/Indiana/Indianapolis", "IN"),
        ("+15025550100", "America/Kentucky/Louisville", "KY"),
    ],
)
def test_a_zone_that_keeps_a_clock_of_its_state_decides_alone(phone, zone, state):
    """Detroit keeps New York's clock, a zone of Michigan's area codes, though its name is
    not among them (a review found such contacts held to Central time too)."""
    assert place_of(phone, zone, state) == Place((zone,), state)
    monday_0830 = datetime(2026, 12, 7, 8, 30, tzinfo=ZoneInfo(zone))
    assert is_open(place_of(phone, zone, state), monday_0830)
