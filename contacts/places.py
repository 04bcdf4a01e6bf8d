"""Where a phone number is: its time zones and, in the United States, its state.

A contact's own time zone and state (Contact.time_zone, Contact.state) win where set, each on
its own; the rest comes from the number, through a table built once per process from
phonenumbers' time-zone data: for North America, one entry per area code ("+1212"), for other
countries one per country calling code ("+44"). A lookup is a dict access on the number's
prefix: nothing is parsed at send time.

An area code's zones are those of every exchange phonenumbers knows under it: where an area
code spans two zones (850 in Florida, 208 in Idaho), a number in it may be in either, and
quiet hours hold in both. Numbers that are not tied to a place (toll-free, 800) keep what
phonenumbers says of them: dozens of zones; a code it does not know has none.

States come from AREA_CODES below, written from phonenumbers' geocoder (its descriptions of
the exchanges under each code, "Miami, FL", "Florida", "Washington State"), which
tests/contacts/test_places.py holds to it: the geocoder loads the places of every country at
once, several times the memory of a worker, for a table of a few hundred codes.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumbers.timezone import TIMEZONE_DATA, UNKNOWN_TIMEZONE, time_zones_for_number

# The 50 states and the District of Columbia, by postal code.
STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming", "DC": "District of Columbia",
}  # fmt: skip
# The territories with area codes of their own; their postal codes are also their regions
# in phonenumbers.
TERRITORIES = {
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico", "VI": "U.S. Virgin Islands",
}  # fmt: skip
STATE_CHOICES = sorted({**STATES, **TERRITORIES}.items(), key=lambda item: item[1])

# Each state's and territory's area codes, as phonenumbers' geocoder places them (201 has one
# exchange it names in New York, and ninety-nine in New Jersey).
AREA_CODES = {
    "AK": "907",
    "AL": "205 251 256 334 659 938",
    "AR": "327 479 501 870",
    "AS": "684",
    "AZ": "480 520 602 623 928",
    "CA": "209 213 279 310 323 341 350 369 408 415 424 442 510 530 559 562 619 626 628 650 "
          "657 661 669 707 714 738 747 760 805 818 820 831 840 858 909 916 925 949 951",
    "CO": "303 719 720 748 970 983",
    "CT": "203 475 860 959",
    "DC": "202 771",
    "DE": "302",
    "FL": "239 305 321 324 352 386 407 448 561 645 656 689 727 728 754 772 786 813 850 863 "
          "904 941 954",
    "GA": "229 404 470 478 678 706 762 770 912 943",
    "GU": "671",
    "HI": "808",
    "IA": "319 515 563 641 712",
    "ID": "208 986",
    "IL": "217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 872",
    "IN": "219 260 317 463 574 765 812 930",
    "KS": "316 620 785 913",
    "KY": "270 364 502 606 859",
    "LA": "225 318 337 504 985",
    "MA": "339 351 413 508 617 774 781 857 978",
    "MD": "227 240 301 410 443 667",
    "ME": "207",
    "MI": "231 248 269 313 517 586 616 734 810 906 947 989",
    "MN": "218 320 507 612 651 763 952",
    "MO": "235 314 417 557 573 636 660 816 975",
    "MP": "670",
    "MS": "228 601 662 769",
    "MT": "406",
    "NC": "252 336 472 704 743 828 910 919 980 984",
    "ND": "701",
    "NE": "308 402 531",
    "NH": "603",
    "NJ": "201 551 609 640 732 848 856 862 908 973",
    "NM": "505 575",
    "NV": "702 725 775",
    "NY": "212 315 329 332 347 363 516 518 585 607 631 646 680 716 718 838 845 914 917 929 "
          "934",
    "OH": "216 220 234 283 326 330 380 419 440 513 567 614 740 937",
    "OK": "405 539 572 580 918",
    "OR": "458 503 541 971",
    "PA": "215 223 267 272 412 445 484 570 582 610 717 724 814 835 878",
    "PR": "787 939",
    "RI": "401",
    "SC": "803 821 839 843 854 864",
    "SD": "605",
    "TN": "423 615 629 731 865 901 931",
    "TX": "210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 830 832 "
          "903 915 936 940 945 956 972 979",
    "UT": "385 435 801",
    "VA": "276 434 540 571 686 703 757 804 826 948",
    "VI": "340",
    "VT": "802",
    "WA": "206 253 360 425 509 564",
    "WI": "262 274 353 414 534 608 715 920",
    "WV": "304 681",
    "WY": "307",
}  # fmt: skip

# Area codes added over others' areas (overlays), where phonenumbers' data of the newer code
# is wrong or thinner than the older's, which names the exchanges of a code that spans two
# zones: an overlay's numbers are wherever the older code's are. (689: Central in its data,
# Orlando is Eastern; 448: Eastern alone, Pensacola is Central.)
OVERLAYS = {
    "364": "270",  # western Kentucky: Central and Eastern
    "448": "850",  # the Florida Panhandle: Central and Eastern
    "458": "541",  # Oregon: Pacific and, in Malheur County, Mountain
    "689": "407 321",  # Orlando: Eastern
    "729": "423",  # eastern Tennessee: Eastern and Central (no data of its own)
    "930": "812",  # southern Indiana: Eastern and Central
    "986": "208",  # Idaho: Mountain and Pacific
    # Canada
    "236": "250 604",  # British Columbia: Pacific and, in the east, Mountain
    "257": "250 604",
    "672": "250 604",
    "778": "250 604",
    "367": "418",  # eastern Quebec: Eastern and, on the Magdalen Islands, Atlantic
    "581": "418",
    "474": "306",  # Saskatchewan: Central time all year (its data: Winnipeg's, which changes)
    "639": "306",
    "879": "709",  # Newfoundland and Labrador (its data: Puerto Rico's, no daylight saving)
}

STATE_OF_AREA_CODE = {code: state for state, codes in AREA_CODES.items() for code in codes.split()}

# What people call the zones of North American numbers, by their offset from UTC in January
# (standard time everywhere they are).
ZONE_NAMES_BY_OFFSET = {
    -3.5: "Newfoundland", -4: "Atlantic", -5: "Eastern", -6: "Central", -7: "Mountain",
    -8: "Pacific", -9: "Alaska", -10: "Hawaii-Aleutian", -11: "Samoa", 10: "Chamorro",
}  # fmt: skip

# A few subscriber numbers, one of which is valid under each area code phonenumbers knows:
# they ask it what a number under a code with no exchange data of its own says (toll-free).
SUBSCRIBER_NUMBERS = ("2345678", "5550100", "2001234", "3456789", "7654321")


@dataclass(frozen=True)
class Place:
    """Where a number is: its IANA time zones (none when nothing says), and its US state or
    territory's postal code ("" outside them, or when nothing says)."""

    zones: tuple[str, ...]
    state: str = ""


NOWHERE = Place(zones=())


def place_of_number(phone: str) -> Place:
    """Where the number `phone` (E.164) is, as phonenumbers' data say. Its first five
    characters are enough ("+1212", "+4420"): what a query can group numbers by."""
    table = _places()
    if phone.startswith("+1"):
        return table.get(phone[:5], NOWHERE)
    # Country calling codes are of one to three digits, and none is the start of another.
    return table.get(phone[:2]) or table.get(phone[:3]) or table.get(phone[:4]) or NOWHERE


def place_of(phone: str, time_zone: str = "", state: str = "") -> Place:
    """Where a contact is: its own time zone and state where set, each on its own, else the
    number's."""
    return with_own(place_of_number(phone), time_zone, state)


def with_own(number: Place, time_zone: str = "", state: str = "") -> Place:
    """The place of a contact whose number is in `number`, with its own time zone and state
    where set. A state of its own without a time zone adds the state's zones to the number's:
    the phone may be in either (a San Francisco number whose contact lives in Florida keeps
    Florida's window in Eastern, Central and Pacific time, the narrowest that covers them);
    so does a time zone of its own that is none of its state's (Texas, Eastern time)."""
    time_zone = known_zone(time_zone)
    if time_zone and state and not _keeps_a_clock_of(state, time_zone):
        # A zone that is none of the state's own: the contact is in one or the other.
        zones = tuple(sorted({time_zone, *zones_of_state(state)}))
    elif time_zone:
        zones = (time_zone,)
    elif state and state != number.state and number.zones:
        zones = tuple(sorted({*number.zones, *zones_of_state(state)}))
    else:
        zones = number.zones
    return _place(zones, state or number.state)


def _keeps_a_clock_of(state: str, time_zone: str) -> bool:
    """Whether `time_zone` keeps the clock of one of the state's zones (America/Detroit keeps
    New York's): a state without zones has every clock."""
    zones = zones_of_state(state)
    return not zones or clock_of(time_zone) in {clock_of(zone) for zone in zones}


@cache
def clock_of(zone: str) -> tuple:
    """What a zone's clocks show, as its offsets from UTC on days through the years around
    now: zones with the same offsets keep one clock."""
    year = datetime.now().year
    days = [datetime(year + years, month, day) for years in (-1, 0, 1) for month in range(1, 13)
            for day in (1, 15)]  # fmt: skip
    place = ZoneInfo(zone)
    return tuple(place.utcoffset(day) for day in days)


@cache
def zones_of_state(state: str) -> tuple[str, ...]:
    """The zones of a state's or territory's area codes."""
    places = _places().values()
    return tuple(sorted({zone for place in places if place.state == state for zone in place.zones}))


class NumberRange(NamedTuple):
    """The numbers from `low` up to `high` (None: no end), all in `place`."""

    low: str
    high: str | None
    place: Place


@cache
def number_ranges() -> tuple[NumberRange, ...]:
    """Every number's place, as ranges of numbers in order: one for each beginning that says
    where a number is, and between them ranges of NOWHERE, for the numbers that no beginning
    covers. Each number is in exactly one."""
    table = _places()
    ranges, start = [], "+"
    # The beginnings are prefix-free (country codes, and +1's area codes under no "+1"), so
    # their ranges follow each other in the beginnings' order.
    for prefix in sorted(table):
        low, high = number_range(prefix)
        # Not between "+121" and "+1210", say: the numbers of "+1209" end at "+121".
        if low > start and low.rstrip("0") != start:
            ranges.append(NumberRange(start, low, NOWHERE))
        ranges.append(NumberRange(low, high, table[prefix]))
        if high is None:
            return tuple(ranges)
        start = high
    return (*ranges, NumberRange(start, None, NOWHERE))


def number_range(prefix: str) -> tuple[str, str | None]:
    """The numbers that start with `prefix` (digits after a "+") as a range, in any collation
    that orders digits as digits: from `prefix` up to the next prefix of its length (None:
    no end)."""
    kept = prefix.rstrip("9")
    if kept == "+":
        return prefix, None
    return prefix, kept[:-1] + str(int(kept[-1]) + 1)


def area_codes_of(states: list[str]) -> list[str]:
    """The beginnings of the North American numbers of these states ("+1305", …)."""
    return sorted(
        prefix
        for prefix, place in _places().items()
        if prefix.startswith("+1") and place.state in states
    )


@cache
def _places() -> dict[str, Place]:
    table = {}
    zones_under: dict[str, set[str]] = {}
    # Country codes are prefix-free: every key of the data under a code is a number of it.
    for key, zones in TIMEZONE_DATA.items():
        prefix = key[:4] if key.startswith("1") else _country_code(key)
        if prefix and len(key) >= len(prefix):
            zones_under.setdefault(prefix, set()).update(zones)
    for code in range(200, 1000):
        zones = zones_under.get(f"1{code}") or _what_phonenumbers_says(code)
        table[f"+1{code}"] = _place(zones, STATE_OF_AREA_CODE.get(str(code), ""))
    for overlay, overlaid in OVERLAYS.items():
        covered = [table[f"+1{code}"] for code in overlaid.split()]
        zones = {zone for place in covered for zone in place.zones}
        table[f"+1{overlay}"] = _place(zones, covered[0].state)
    for country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        if country_code != 1:
            table[f"+{country_code}"] = _place(zones_under.get(str(country_code), ()), "")
    return table


def _country_code(key: str) -> str:
    for length in (1, 2, 3):
        if int(key[:length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return key[:length]
    return ""


def _what_phonenumbers_says(area_code: int) -> set[str]:
    """The zones of a valid number under an area code with no exchange data: phonenumbers'
    answer for numbers that are not tied to a place (all of North America's)."""
    for subscriber in SUBSCRIBER_NUMBERS:
        number = phonenumbers.parse(f"+1{area_code}{subscriber}")
        if phonenumbers.is_valid_number(number):
            return set(time_zones_for_number(number)) - {UNKNOWN_TIMEZONE}
    return set()


_interned: dict[Place, Place] = {}


def _place(zones, state: str) -> Place:
    place = Place(zones=tuple(sorted(set(zones) - {UNKNOWN_TIMEZONE})), state=state)
    return _interned.setdefault(place, place)


@cache
def us_zones() -> tuple[str, ...]:
    """Every zone of the area codes of the 50 states and DC: where a number with no zone may
    be, as far as a US sender knows."""
    table = _places()
    zones = {
        zone
        for code, state in STATE_OF_AREA_CODE.items()
        if state in STATES
        for zone in table[f"+1{code}"].zones
    }
    return tuple(sorted(zones))


@cache
def _north_american_zones() -> frozenset[str]:
    return frozenset(
        zone for key, place in _places().items() if key[:2] == "+1" for zone in place.zones
    )


@cache
def zone_label(zone: str) -> str:
    """What people call a North American zone ("Central" for America/Chicago), else its IANA
    name."""
    if zone not in _north_american_zones():
        return zone
    offset = ZoneInfo(zone).utcoffset(datetime(2026, 1, 15)).total_seconds() / 3600
    return ZONE_NAMES_BY_OFFSET.get(offset, zone)


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


# What people in the United States write for their zones, each as a place's zone, which keeps
# its daylight saving: "EST" as IANA has it is UTC-5 all year, so a Florida evening in July
# would read an hour early, and its 20:00 end of messages come at 21:00.
ZONE_WORDS = {
    **dict.fromkeys(("eastern", "eastern time", "et", "est", "edt"), "America/New_York"),
    **dict.fromkeys(("central", "central time", "ct", "cst", "cdt"), "America/Chicago"),
    "mdt": "America/Denver",
    **dict.fromkeys(("pacific", "pacific time", "pt", "pst", "pdt"), "America/Los_Angeles"),
    **dict.fromkeys(("alaska", "alaska time", "akst", "akdt"), "America/Anchorage"),
    **dict.fromkeys(("hawaii", "hawaii time", "hst"), "Pacific/Honolulu"),
}
# Mountain time, or Arizona's, an hour behind it from March to November (no daylight saving)?
MOUNTAIN_WORDS = ("mountain", "mountain time", "mt", "mst")


def time_zone_name(value: str) -> str:
    """A place's IANA time zone as written ("america/chicago" -> "America/Chicago"; "EST" ->
    "America/New_York", ZONE_WORDS), or "" for ""; a ValidationError for anything else, a zone
    of one offset all year among them ("UTC", "EST5EDT", "Etc/GMT+5")."""
    value = value.strip()
    if not value:
        return ""
    words = " ".join(value.lower().split())
    if name := ZONE_WORDS.get(words):
        return name
    if words in MOUNTAIN_WORDS:
        raise ValidationError(
            "“%(value)s”: write America/Denver for Mountain time, or America/Phoenix for "
            "Arizona (no daylight saving).",
            code="invalid_time_zone",
            params={"value": value[:60]},
        )
    name = _zone_names().get(value.lower())
    if name is None:
        raise ValidationError(
            "“%(value)s” is not a time zone: use an IANA name, such as America/Chicago.",
            code="invalid_time_zone",
            params={"value": value[:60]},
        )
    if not is_a_place(name):
        raise ValidationError(
            "“%(value)s” is not a place's time zone, whose clock a phone shows: use an IANA "
            "name, such as America/New_York, or Eastern, Central, Pacific, Alaska or Hawaii.",
            code="invalid_time_zone",
            params={"value": value[:60]},
        )
    return name


def known_zone(time_zone: str) -> str:
    """A contact's own time zone if it is a place's that this machine's zone data knows, else
    "" (one written in SQL past the checks, or one the data has since dropped): the number's
    zones stand for it, as for a contact without one, and no page or send fails on it."""
    return time_zone if time_zone in _place_zones() else ""


@cache
def _place_zones() -> frozenset[str]:
    return frozenset(zone for zone in available_timezones() if is_a_place(zone))


def is_a_place(zone: str) -> bool:
    """An IANA zone of a place ("America/Chicago"), not one named for an offset or a rule
    ("EST", "EST5EDT", "UTC", "Etc/GMT+5")."""
    return "/" in zone and not zone.startswith("Etc/")


STATE_OF_NAME = {
    **{name.lower(): code for code, name in {**STATES, **TERRITORIES}.items()},
    **{code.lower(): code for code in {**STATES, **TERRITORIES}},
    "washington state": "WA",
    "washington d.c.": "DC",
    "washington dc": "DC",
}


def state_code(value: str) -> str:
    """A US state or territory as its postal code ("tx", "Texas" -> "TX"), or "" for "";
    a ValidationError for anything else."""
    value = re.sub(r"\s+", " ", value.strip())
    if not value:
        return ""
    code = STATE_OF_NAME.get(value.lower())
    if code is None:
        raise ValidationError(
            "“%(value)s” is not a US state or territory: use its postal code, such as TX.",
            code="invalid_state",
            params={"value": value[:60]},
        )
    return code


def validate_time_zone(value: str) -> None:
    """A contact's time zone is stored as its IANA name is written."""
    name = time_zone_name(value)
    if name != value:
        raise ValidationError(
            "Write it “%(name)s”.", code="invalid_time_zone", params={"name": name}
        )


def in_words(phone: str, time_zone: str = "", state: str = "") -> str:
    """Where a contact is and what says so, as its page shows it: "Central (America/Chicago),
    TX — from the number"."""
    number = place_of_number(phone)
    time_zone = known_zone(time_zone)
    if not time_zone and not number.zones:
        unknown = "time zone not known from the number"
        return f"{unknown}; {state} — set for this contact" if state else unknown
    zones = (time_zone,) if time_zone else number.zones
    parts = [(zones_in_words(zones), bool(time_zone))]
    if state or number.state:
        parts.append((state or number.state, bool(state)))
    if len(parts) == 2 and parts[0][1] == parts[1][1]:
        parts = [(f"{parts[0][0]}, {parts[1][0]}", parts[0][1])]
    return "; ".join(
        f"{words} — {'set for this contact' if own else 'from the number'}" for words, own in parts
    )


def clocks_now(phone: str, time_zone: str, now: datetime) -> str:
    """What the clock shows at `now` where the contact is, in the zones `in_words` names:
    "09:42 Mon" (in each of them, as in London's four); "08:42 Central, 09:42 Eastern"; ""
    for none, or more than three clocks that differ."""
    time_zone = known_zone(time_zone)
    zones = (time_zone,) if time_zone else place_of_number(phone).zones
    clocks = {zone: now.astimezone(ZoneInfo(zone)) for zone in zones}
    if len({f"{clock:%H:%M %a}" for clock in clocks.values()}) == 1:
        return f"{next(iter(clocks.values())):%H:%M %a}"
    if not clocks or len(clocks) > 3:
        return ""
    return ", ".join(f"{clock:%H:%M} {zone_label(zone)}" for zone, clock in clocks.items())


def zones_in_words(zones: tuple[str, ...]) -> str:
    """ "Central (America/Chicago)"; "any of 42 time zones" for more than three."""
    if len(zones) > 3:
        return f"any of {len(zones)} time zones"
    return ", ".join(
        zone if zone_label(zone) == zone else f"{zone_label(zone)} ({zone})" for zone in zones
    )
