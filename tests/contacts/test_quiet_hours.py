"""Quiet hours: when a message may go to a place, in its local time (settings.QUIET_HOURS)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from broadcasts.checks import check_quiet_hours
from contacts import quiet_hours
from contacts.places import Place, place_of_number, us_zones
from contacts.quiet_hours import HORIZON, closes_at, describe, is_open, opens_at

pytestmark = pytest.mark.usefixtures("quiet_hours")  # as the app ships them

EASTERN = ZoneInfo("America/New_York")
CENTRAL = ZoneInfo("America/Chicago")
PACIFIC = ZoneInfo("America/Los_Angeles")
NEW_YORK = place_of_number("+12125550100")
MIAMI = place_of_number("+13055550100")
AUSTIN = place_of_number("+15125550100")
SEATTLE = place_of_number("+12065550100")
ALASKA = place_of_number("+19075550100")
# Wednesday 9 December 2026, and Sunday 13 December.
WEDNESDAY, SUNDAY = (2026, 12, 9), (2026, 12, 13)


def at(day: tuple[int, int, int], hour: int, minute: int = 0, zone=EASTERN) -> datetime:
    return datetime(*day, hour, minute, tzinfo=zone)


def test_at_half_past_eight_in_the_evening_new_york_is_open_and_florida_waits_till_eight():
    evening = at(WEDNESDAY, 20, 30)
    assert is_open(NEW_YORK, evening)
    assert not is_open(MIAMI, evening)
    assert opens_at(MIAMI, evening) == at((2026, 12, 10), 8)
    assert opens_at(NEW_YORK, evening) == evening


def test_new_york_closes_at_nine():
    assert is_open(NEW_YORK, at(WEDNESDAY, 20, 59))
    assert not is_open(NEW_YORK, at(WEDNESDAY, 21))
    assert not is_open(NEW_YORK, at(WEDNESDAY, 7, 59))
    assert is_open(NEW_YORK, at(WEDNESDAY, 8))


def test_texas_opens_at_nine_on_weekdays_and_at_noon_on_sunday():
    assert not is_open(AUSTIN, at(WEDNESDAY, 8, 59, CENTRAL))
    assert is_open(AUSTIN, at(WEDNESDAY, 9, 0, CENTRAL))
    assert not is_open(AUSTIN, at(SUNDAY, 11, 0, CENTRAL))
    assert not is_open(AUSTIN, at(SUNDAY, 11, 59, CENTRAL))
    assert is_open(AUSTIN, at(SUNDAY, 12, 0, CENTRAL))
    assert opens_at(AUSTIN, at(SUNDAY, 11, 0, CENTRAL)) == at(SUNDAY, 12, 0, CENTRAL)
    # Saturday night waits for Sunday noon, not nine.
    assert opens_at(AUSTIN, at((2026, 12, 12), 21, 0, CENTRAL)) == at(SUNDAY, 12, 0, CENTRAL)


def test_washington_closes_at_eight_in_the_evening_pacific_time():
    assert Place(zones=("America/Los_Angeles",), state="WA") == SEATTLE
    assert is_open(SEATTLE, at(WEDNESDAY, 19, 59, PACIFIC))
    assert not is_open(SEATTLE, at(WEDNESDAY, 20, 0, PACIFIC))
    assert opens_at(SEATTLE, at(WEDNESDAY, 20, 0, PACIFIC)) == at((2026, 12, 10), 8, 0, PACIFIC)


def test_a_number_with_no_zone_waits_for_every_us_zone():
    """From 08:00 in Hawaii (13:00 Eastern in winter) to 21:00 on the East Coast."""
    nowhere = place_of_number("+19995550100")
    assert nowhere.zones == ()
    assert not is_open(nowhere, at(WEDNESDAY, 12, 59))
    assert is_open(nowhere, at(WEDNESDAY, 13, 0))
    assert is_open(nowhere, at(WEDNESDAY, 20, 59))
    assert not is_open(nowhere, at(WEDNESDAY, 21, 0))
    assert opens_at(nowhere, at(WEDNESDAY, 8)) == at(WEDNESDAY, 13)


def test_several_zones_are_open_only_while_every_one_is():
    """Alaska's numbers: from 08:00 Hawaii-Aleutian time to 21:00 Alaska time."""
    assert not is_open(ALASKA, datetime(2026, 12, 9, 17, 59, tzinfo=UTC))  # 07:59 in Adak
    assert is_open(ALASKA, datetime(2026, 12, 9, 18, 0, tzinfo=UTC))
    assert is_open(ALASKA, datetime(2026, 12, 10, 5, 59, tzinfo=UTC))  # 20:59 in Anchorage
    assert not is_open(ALASKA, datetime(2026, 12, 10, 6, 0, tzinfo=UTC))
    assert opens_at(ALASKA, datetime(2026, 12, 10, 6, 0, tzinfo=UTC)) == datetime(
        2026, 12, 10, 18, 0, tzinfo=UTC
    )


def test_an_open_window_says_when_it_closes_and_a_closed_one_says_nothing():
    assert closes_at(NEW_YORK, at(WEDNESDAY, 12)) == at(WEDNESDAY, 21)
    assert closes_at(MIAMI, at(WEDNESDAY, 12)) == at(WEDNESDAY, 20)
    assert closes_at(NEW_YORK, at(WEDNESDAY, 21)) is None
    # Several zones: the first of their windows to end (Anchorage's, at 21:00 there).
    assert closes_at(ALASKA, datetime(2026, 12, 9, 18, 0, tzinfo=UTC)) == datetime(
        2026, 12, 10, 6, 0, tzinfo=UTC
    )


def test_zones_whose_windows_never_meet_never_open():
    """London, Shanghai and Los Angeles are eight hours apart each: no hour is between 08:00
    and 21:00 in all three."""
    apart = Place(zones=("Europe/London", "Asia/Shanghai", "America/Los_Angeles"))
    moment = at(WEDNESDAY, 12)
    assert opens_at(apart, moment) is None
    assert not any(is_open(apart, moment + timedelta(minutes=m)) for m in range(0, 60 * 24, 5))


def test_the_window_starts_at_the_same_clock_time_on_the_days_clocks_change():
    spring = opens_at(NEW_YORK, datetime(2026, 3, 8, 5, 0, tzinfo=UTC))  # midnight, EST
    assert spring == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT
    autumn = opens_at(NEW_YORK, datetime(2026, 11, 1, 4, 0, tzinfo=UTC))  # midnight, EDT
    assert autumn == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 08:00 EST


def test_a_start_in_the_hour_the_clock_skips_opens_when_the_clock_jumps(settings):
    """On 8 March 2026 New York's clocks go from 02:00 EST to 03:00 EDT: 02:30 never comes."""
    settings.QUIET_HOURS = {"default": ("02:30", "21:00")}
    place = Place(zones=("America/New_York",))
    jump = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert not is_open(place, jump - timedelta(seconds=1))  # 01:59:59 EST
    assert is_open(place, jump)  # 03:00 EDT
    assert opens_at(place, datetime(2026, 3, 8, 5, 0, tzinfo=UTC)) == jump


def test_a_start_in_the_hour_that_happens_twice_opens_at_its_first_pass(settings):
    """On 1 November 2026 New York's clocks go from 02:00 EDT back to 01:00 EST."""
    settings.QUIET_HOURS = {"default": ("01:30", "21:00")}
    place = Place(zones=("America/New_York",))
    first_pass = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert opens_at(place, datetime(2026, 11, 1, 4, 0, tzinfo=UTC)) == first_pass
    # Open through the hour again, though the clock shows 01:15 once more.
    assert is_open(place, datetime(2026, 11, 1, 6, 15, tzinfo=UTC))  # 01:15 EST


def test_an_end_in_the_hour_that_happens_twice_closes_at_its_first_pass(settings):
    settings.QUIET_HOURS = {"default": ("00:00", "01:30")}
    place = Place(zones=("America/New_York",))
    assert is_open(place, datetime(2026, 11, 1, 5, 29, tzinfo=UTC))  # 01:29 EDT
    assert not is_open(place, datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 01:30 EDT
    assert not is_open(place, datetime(2026, 11, 1, 6, 15, tzinfo=UTC))  # 01:15 EST
    assert opens_at(place, datetime(2026, 11, 1, 6, 15, tzinfo=UTC)) == datetime(
        2026, 11, 2, 5, 0, tzinfo=UTC
    )  # midnight EST the next day


def test_a_moment_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        is_open(NEW_YORK, datetime(2026, 12, 9, 20, 30))


@pytest.mark.parametrize(
    ("place", "words"),
    [
        (MIAMI, "08:00–20:00 Eastern (FL)"),
        (NEW_YORK, "08:00–21:00 Eastern (NY)"),
        (AUSTIN, "09:00–21:00 Mon–Sat, 12:00–21:00 Sun Central (TX)"),
        (Place(zones=("America/Adak", "America/Anchorage"), state="AK"),
         "08:00–21:00 in Hawaii-Aleutian and Alaska time (AK)"),
        (Place(zones=()), "08:00–21:00 in every US time zone"),
        (Place(zones=("Europe/London",)), "08:00–21:00 Europe/London"),
    ],
)  # fmt: skip
def test_a_place_s_window_is_described_for_people(place, words):
    assert describe(place) == words


def test_a_closed_day_is_described_and_never_opens(settings):
    settings.QUIET_HOURS = {
        "default": {"Mon-Sat": ("08:00", "21:00"), "Sun": None},
    }
    place = Place(zones=("America/New_York",))
    assert describe(place) == "08:00–21:00 Mon–Sat, closed Sun Eastern"
    assert not is_open(place, at(SUNDAY, 12))
    assert opens_at(place, at(SUNDAY, 12)) == at((2026, 12, 14), 8)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"FL": ("08:00", "20:00")}, "QUIET_HOURS has no “default”"),
        ({"default": ("08:00", "21:00"), "XX": ("08:00", "20:00")},
         "QUIET_HOURS['XX']: not a US state or territory"),
        ({"default": ("8am", "21:00")}, "QUIET_HOURS['default']: '8am' is not a time of day"),
        ({"default": ("21:00", "08:00")}, "21:00–08:00 ends before it starts"),
        ({"default": "08:00-21:00"}, "is not a window such as"),
        ({"default": {"Mon-Fri": ("08:00", "21:00")}}, "no window for Sat, Sun"),
        ({"default": {"Mon-Sun": ("08:00", "21:00"), "Sun": ("12:00", "21:00")}},
         "Sun is given twice"),
        ({"default": {"Mon-Sat": ("08:00", "21:00"), "Sunday": ("12:00", "21:00")}},
         "“Sunday”: days are written Mon, Tue"),
        ({"default": {"Sat-Mon": ("08:00", "21:00")}}, "a range goes from Mon towards Sun"),
        (["08:00", "21:00"], "QUIET_HOURS must be a dict"),
    ],
)  # fmt: skip
def test_a_setting_that_cannot_be_read_is_an_error_of_manage_py_check(
    db, settings, config, problem
):
    settings.QUIET_HOURS = config
    errors = check_quiet_hours(None)
    assert [error.id for error in errors] == ["broadcasts.E001"]
    assert isinstance(errors[0], Error) and problem in errors[0].msg
    with pytest.raises(SystemCheckError, match="broadcasts.E001"):
        call_command("check")
    with pytest.raises(ImproperlyConfigured, match=problem.replace("[", r"\[")):
        quiet_hours.is_open(NEW_YORK, at(WEDNESDAY, 12))


def test_the_default_setting_passes_the_check():
    assert check_quiet_hours(None) == []


ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles", "America/Anchorage", "America/Adak", "Pacific/Honolulu",
    "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Auckland",
]  # fmt: skip


# Places (a few zones, a state of their own or none) and moments, for the properties below.
PLACES_AND_MOMENTS = {
    "zones": st.lists(st.sampled_from(ZONES), max_size=3, unique=True).map(tuple),
    "state": st.sampled_from(["", "FL", "TX", "WA", "NY"]),
    "moment": st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
}


@hypothesis_settings(max_examples=150)
@given(**PLACES_AND_MOMENTS)
def test_opens_at_is_the_first_open_moment(zones, state, moment):
    place = Place(zones=zones, state=state)
    opens = opens_at(place, moment)
    end = opens if opens is not None else moment + HORIZON
    if opens is not None:
        assert opens >= moment
        assert is_open(place, opens)
        assert opens == moment or not is_open(place, opens - timedelta(seconds=1))
        if opens > moment:  # a window opened then: where, its clock passes the window's start
            zone = ZoneInfo(quiet_hours.opens_where(place, opens))
            window = quiet_hours.rule_for(state)[opens.astimezone(zone).weekday()]
            assert opens.astimezone(zone).time() >= window.start
            assert (opens - timedelta(seconds=1)).astimezone(zone).time() < window.start
    step = moment
    while step < end:
        assert not is_open(place, step), step
        step += timedelta(minutes=1)


@hypothesis_settings(max_examples=150)
@given(**PLACES_AND_MOMENTS)
def test_an_open_window_is_open_until_it_closes(zones, state, moment):
    """What a send's batch reads instead of asking each message's place again, held to the
    clocks on the wall: open while each zone's clock is within its day's window (the rules
    here start and end away from the hours clocks change)."""
    place = Place(zones=zones, state=state)
    closes = closes_at(place, moment)
    assert (closes is not None) == by_the_clocks(place, moment)
    if closes is not None:
        assert closes > moment
        assert not by_the_clocks(place, closes)
        assert by_the_clocks(place, closes - timedelta(seconds=1))
        step = moment
        while step < closes:
            assert by_the_clocks(place, step), step
            step += timedelta(minutes=7)


def by_the_clocks(place: Place, at: datetime) -> bool:
    rule = quiet_hours.rule_for(place.state)
    for zone in place.zones or us_zones():
        local = at.astimezone(ZoneInfo(zone))
        window = rule[local.weekday()]
        if window is None or not window.start <= local.time() < window.end:
            return False
    return True


def test_several_places_are_open_only_while_each_one_is():
    """The places the contacts who share a number say: New York's 08:00–21:00 and Honolulu's
    (13:00–02:00 Eastern) meet from 13:00 to 21:00 Eastern."""
    places = (NEW_YORK, place_of_number("+18085550100"))
    assert quiet_hours.opens_at_all(places, at(WEDNESDAY, 10)) == at(WEDNESDAY, 13)
    assert quiet_hours.closes_at_all(places, at(WEDNESDAY, 14)) == at(WEDNESDAY, 21)
    assert quiet_hours.closes_at_all(places, at(WEDNESDAY, 10)) is None
    # At 22:00 Honolulu's is open and New York's not; at 08:00 New York's, not Honolulu's.
    assert quiet_hours.opens_at_all(places, at(WEDNESDAY, 22)) == at((2026, 12, 10), 13)
    assert quiet_hours.last_to_open(places, at(WEDNESDAY, 10)).zones == ("Pacific/Honolulu",)
    assert quiet_hours.opening_at(places, at(WEDNESDAY, 13)).zones == ("Pacific/Honolulu",)


def test_a_deferral_waits_for_the_place_that_opens_last_and_names_it():
    """San Francisco's number, and a contact of it in Florida (Eastern and Central time), at
    20:00 in New York: Florida's opens at 08:00 Central, San Francisco's at 08:00 Pacific,
    later, when both are open; the place named is San Francisco's, not Florida's."""
    from contacts.places import place_of

    places = (place_of("+14155550101"), place_of("+12125550100", state="FL"))
    opens = quiet_hours.opens_at_all(places, at((2026, 10, 29), 20))
    assert opens == at((2026, 10, 30), 8, zone=PACIFIC)
    assert quiet_hours.opening_at(places, opens) == places[0]
