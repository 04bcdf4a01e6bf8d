"""Where a number is: its time zones and US state, from phonenumbers' data, and the contact's
own fields where set."""

import importlib
import re
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, example, given
from hypothesis import strategies as st
from phonenumbers.timezone import UNKNOWN_TIMEZONE, time_zones_for_number

from contacts.models import VALID_PHONE
from contacts.places import (
    AREA_CODES,
    OVERLAYS,
    STATES,
    TERRITORIES,
    Place,
    in_words,
    number_ranges,
    place_of,
    place_of_number,
    state_code,
    time_zone_name,
    us_zones,
    validate_time_zone,
    zone_label,
)


def test_a_new_york_number_is_in_new_york():
    assert place_of_number("+12125550100") == Place(zones=("America/New_York",), state="NY")


def test_a_miami_number_is_in_florida_on_eastern_time():
    assert place_of_number("+13055550100") == Place(zones=("America/New_York",), state="FL")


def test_an_austin_number_is_in_texas_on_central_time():
    assert place_of_number("+15125550100") == Place(zones=("America/Chicago",), state="TX")


def test_an_alaska_number_has_both_alaska_zones():
    place = place_of_number("+19075550100")
    assert {"America/Anchorage", "America/Adak"} <= set(place.zones)
    assert place.state == "AK"


def test_an_area_code_across_two_zones_has_both():
    """850, Florida's panhandle: Pensacola is on Central time, Tallahassee on Eastern."""
    assert place_of_number("+18505550100") == Place(
        zones=("America/Chicago", "America/New_York"), state="FL"
    )


def test_a_toll_free_number_keeps_the_dozens_of_zones_phonenumbers_gives_and_no_state():
    place = place_of_number("+18005550100")
    assert len(place.zones) > 30
    assert {"America/New_York", "Pacific/Honolulu", "Pacific/Guam"} <= set(place.zones)
    assert place.state == ""


def test_an_area_code_phonenumbers_does_not_know_has_no_zone():
    assert place_of_number("+19995550100") == Place(zones=(), state="")


def test_a_uk_number_has_the_uk_zones_and_no_state():
    place = place_of_number("+447400123456")
    assert "Europe/London" in place.zones
    assert all(zone.startswith("Europe/") for zone in place.zones)
    assert place.state == ""


def test_a_canadian_number_has_its_zone_and_no_us_state():
    assert place_of_number("+14165550100") == Place(zones=("America/Toronto",), state="")


def test_a_territory_s_number_has_its_postal_code():
    assert place_of_number("+17875550100") == Place(zones=("America/Puerto_Rico",), state="PR")


def test_something_that_is_not_a_number_is_nowhere():
    assert place_of_number("") == place_of_number("555") == Place(zones=())


def test_the_contact_s_own_fields_win_each_on_its_own():
    phone = "+12125550100"  # New York
    assert place_of(phone) == Place(zones=("America/New_York",), state="NY")
    assert place_of(phone, "America/Chicago", "TX") == Place(("America/Chicago",), "TX")
    # A zone that is none of its state's: the narrowest window of both.
    assert place_of(phone, "America/New_York", "TX") == Place(
        ("America/Chicago", "America/Denver", "America/New_York"), "TX"
    )
    assert place_of(phone, "America/Denver") == Place(zones=("America/Denver",), state="NY")
    # A state without a zone: the phone may be in the state's zones or the number's.
    assert place_of(phone, state="FL") == Place(("America/Chicago", "America/New_York"), "FL")
    assert place_of("+14155550101", state="FL") == Place(
        ("America/Chicago", "America/Los_Angeles", "America/New_York"), "FL"
    )
    assert place_of("+13055550101", state="FL") == place_of_number("+13055550101")


def test_every_zone_of_the_united_states_spans_hawaii_to_the_east_coast():
    zones = set(us_zones())
    assert {"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
            "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"} <= zones  # fmt: skip
    # The territories' are left out: Guam is a day ahead of Hawaii.
    assert not zones & {"Pacific/Guam", "America/Puerto_Rico", "America/Toronto"}


def _state_of(description: str) -> str:
    """A US state (or DC) as the geocoder names it: "Miami, FL", "Florida", "Washington
    State", "Washington D.C."."""
    names = {name.lower(): code for code, name in STATES.items()}
    names |= {"washington state": "WA", "washington d.c.": "DC"}
    city_state = re.fullmatch(r".+, ([A-Z]{2})", description)
    if city_state and city_state[1] in STATES:
        return city_state[1]
    return names.get(description.lower(), "")


def test_the_area_codes_states_are_those_phonenumbers_geocoder_names():
    """AREA_CODES is written from the geocoder (whose data no process but this test loads):
    the state most of each code's exchanges are in, and the territories' codes by
    phonenumbers' regions."""
    from phonenumbers.geodata import GEOCODE_DATA

    expected = {}
    for region in TERRITORIES:
        leading = phonenumbers.PhoneMetadata.metadata_for_region(region).leading_digits
        expected |= {code: region for code in leading.split("|")}
    votes: dict[str, Counter] = {}
    for prefix, names in GEOCODE_DATA.items():
        code = prefix[1:4]
        if prefix[0] != "1" or len(prefix) < 4 or code in expected:
            continue
        if state := _state_of(names.get("en", "")):
            votes.setdefault(code, Counter())[state] += 1
    expected |= {code: counts.most_common(1)[0][0] for code, counts in votes.items()}
    written = {code: state for state, codes in AREA_CODES.items() for code in codes.split()}
    assert written == expected


# What phonenumbers answers for a North American number it cannot place (a toll-free one).
NOT_PLACED = set(time_zones_for_number(phonenumbers.parse("+18002345678"))) - {UNKNOWN_TIMEZONE}


@given(
    area_code=st.integers(200, 999),
    subscriber=st.integers(2_000_000, 9_999_999),
)
@example(area_code=242, subscriber=4_210_000)  # the Bahamas, not placed (above)
@example(area_code=850, subscriber=2_345_678)  # Florida's panhandle: two zones
def test_a_number_s_zones_are_among_its_area_code_s(area_code, subscriber):
    """Whatever zone phonenumbers places a number in, its place has: quiet hours hold there.
    (A number it cannot place, such as +1 242 421 0000 in the Bahamas, it answers with every
    zone of North America, as for a toll-free number: its area code's place stands.)"""
    number = phonenumbers.parse(f"+1{area_code}{subscriber}")
    zones = set(time_zones_for_number(number)) - {UNKNOWN_TIMEZONE}
    assume(zones != NOT_PLACED)
    # An overlay's numbers are where the older code's are: its data may be wrong (689, Orlando,
    # is Eastern, not Central): test_an_overlay_s_numbers_are_wherever_the_older_code_s_are.
    assume(str(area_code) not in OVERLAYS)
    assert zones <= set(place_of_number(f"+1{area_code}{subscriber}").zones)


@pytest.mark.parametrize(("overlay", "overlaid"), OVERLAYS.items())
def test_an_overlay_s_numbers_are_wherever_the_older_code_s_are(overlay, overlaid):
    """phonenumbers knows the exchanges of older codes, not of the overlays over them: 448
    has Eastern alone, though it covers the 850 of Pensacola, on Central time."""
    older = [place_of_number(f"+1{code}5550100") for code in overlaid.split()]
    assert place_of_number(f"+1{overlay}5550100") == Place(
        zones=tuple(sorted({zone for place in older for zone in place.zones})),
        state=older[0].state,
    )
    assert len({place.state for place in older}) == 1


def test_a_western_kentucky_overlay_number_keeps_both_clocks():
    assert place_of_number("+13645550100") == Place(
        zones=("America/Chicago", "America/New_York"), state="KY"
    )
    assert place_of_number("+16895550100") == Place(zones=("America/New_York",), state="FL")


@pytest.mark.parametrize(
    ("written", "zone"),
    [("America/Chicago", "America/Chicago"), (" america/new_york ", "America/New_York"),
     ("", ""), ("US/Eastern", "US/Eastern"), ("Europe/London", "Europe/London"),
     # What people write, as the place's zone, which keeps its daylight saving.
     ("EST", "America/New_York"), ("Central", "America/Chicago"),
     ("pacific  time", "America/Los_Angeles"), ("PDT", "America/Los_Angeles"),
     ("HST", "Pacific/Honolulu"), ("akst", "America/Anchorage")],
)  # fmt: skip
def test_a_time_zone_is_read_as_its_iana_name(written, zone):
    assert time_zone_name(written) == zone


def test_est_is_eastern_time_with_its_daylight_saving():
    """IANA's "EST" is UTC-5 in July too: 20:30 on a Florida phone would read 19:30, before
    Florida's 20:00 end of messages (a new user's click-through found it taken as it is)."""
    july_evening = datetime(2026, 7, 15, 0, 30, tzinfo=ZoneInfo("UTC"))  # 20:30 in Miami
    zone = ZoneInfo(time_zone_name("EST"))
    assert july_evening.astimezone(zone).hour == 20


@pytest.mark.parametrize("written", ["UTC", "EST5EDT", "Etc/GMT+5", "GMT", "Japan"])
def test_a_zone_of_no_place_is_refused(written):
    with pytest.raises(ValidationError) as error:
        time_zone_name(written)
    assert "is not a place's time zone, whose clock a phone shows" in error.value.messages[0]


@pytest.mark.parametrize("written", ["MST", "Mountain", "mountain  time", "MT"])
def test_mountain_time_asks_which_it_means(written):
    """Denver's, or Arizona's, an hour behind it from March to November (a cold review found
    "Mountain" read as Denver's for an Arizona contact: texts at 07:30 on the phone)."""
    with pytest.raises(ValidationError) as error:
        time_zone_name(written)
    message = error.value.messages[0]
    assert "America/Denver for Mountain time, or America/Phoenix for Arizona" in message
    assert time_zone_name("MDT") == "America/Denver"  # daylight saving: not Arizona


@pytest.mark.parametrize("written", ["Centrale", "America/Chicgo", "../etc/passwd", "x" * 300])
def test_anything_else_is_not_a_time_zone(written):
    with pytest.raises(ValidationError) as error:
        time_zone_name(written)
    assert error.value.messages == [
        f"“{written.strip()[:60]}” is not a time zone: use an IANA name, such as America/Chicago."
    ]


@pytest.mark.parametrize(
    ("written", "code"),
    [("TX", "TX"), ("tx", "TX"), ("Texas", "TX"), (" new  york ", "NY"), ("Washington", "WA"),
     ("Washington D.C.", "DC"), ("Puerto Rico", "PR"), ("", "")],
)  # fmt: skip
def test_a_state_is_read_as_its_postal_code(written, code):
    assert state_code(written) == code


@pytest.mark.parametrize("written", ["XX", "Ontario", "ON", "Texsa"])
def test_anything_else_is_not_a_state(written):
    with pytest.raises(ValidationError) as error:
        state_code(written)
    assert error.value.messages == [
        f"“{written}” is not a US state or territory: use its postal code, such as TX."
    ]


def test_zones_have_the_names_people_know_in_north_america_only():
    assert zone_label("America/Chicago") == "Central"
    assert zone_label("America/Phoenix") == "Mountain"
    assert zone_label("America/Adak") == "Hawaii-Aleutian"
    assert zone_label("Europe/London") == "Europe/London"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (("+15125550100", "", ""), "Central (America/Chicago), TX — from the number"),
        (("+15125550100", "America/Denver", "CO"),
         "Mountain (America/Denver), CO — set for this contact"),
        (("+15125550100", "America/Denver", ""),
         "Mountain (America/Denver) — set for this contact; TX — from the number"),
        (("+14165550100", "", ""), "Eastern (America/Toronto) — from the number"),
        (("+19995550100", "", ""), "time zone not known from the number"),
        (("+19995550100", "", "TX"),
         "time zone not known from the number; TX — set for this contact"),
        (("+447400123456", "Europe/London", ""), "Europe/London — set for this contact"),
    ],
)  # fmt: skip
def test_the_contact_page_says_where_the_contact_is_and_what_says_so(fields, words):
    assert in_words(*fields) == words


def test_the_contact_page_counts_the_zones_of_a_toll_free_number():
    zones = len(place_of_number("+18005550100").zones)
    assert in_words("+18005550100") == f"any of {zones} time zones — from the number"


@pytest.mark.parametrize("phone", ["+13055550100", "+447400123456", "+33123456789"])
def test_a_number_s_first_five_characters_place_it_as_the_whole_number_does(phone):
    assert place_of_number(phone[:5]) == place_of_number(phone)


def test_a_contact_s_time_zone_is_stored_only_as_its_iana_name_is_written():
    validate_time_zone("America/Chicago")
    validate_time_zone("")
    with pytest.raises(ValidationError, match="Write it “America/Chicago”."):
        validate_time_zone("america/chicago")
    with pytest.raises(ValidationError, match="Write it “America/Chicago”."):
        validate_time_zone("Central")
    with pytest.raises(ValidationError, match="is not a place's time zone"):
        validate_time_zone("EST5EDT")


@given(st.from_regex(VALID_PHONE, fullmatch=True))
def test_each_number_is_in_one_range_of_its_place(phone):
    """The ranges the preview counts numbers by cover every number once, each in its place."""
    holding = [r for r in number_ranges() if r.low <= phone and (r.high is None or phone < r.high)]
    assert [r.place for r in holding] == [place_of_number(phone)]


@pytest.mark.django_db
def test_zones_of_no_place_kept_before_become_the_place_they_stand_for():
    """Contacts migration 0045: "EST" kept by the old form is Eastern time with its daylight
    saving; "MST" (Denver or Arizona?) and the like are emptied, so the number decides."""
    from django.apps import apps

    from contacts.models import Contact
    from tests.factories import ContactFactory

    kept = {
        "EST": "America/New_York", "HST": "Pacific/Honolulu", "MST": "", "UTC": "",
        "Etc/GMT+5": "", "America/Chicago": "America/Chicago", "US/Eastern": "US/Eastern",
    }  # fmt: skip
    contacts = {zone: ContactFactory() for zone in kept}
    for zone, contact in contacts.items():
        Contact.objects.filter(pk=contact.pk).update(time_zone=zone)  # as the old form kept it
    migration = importlib.import_module("contacts.migrations.0045_place_time_zones")
    migration.to_places(apps, None)
    assert {
        zone: Contact.objects.get(pk=contact.pk).time_zone for zone, contact in contacts.items()
    } == kept
