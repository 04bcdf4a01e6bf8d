"""When a message may go to a place: quiet hours, in the recipient's local time.

settings.QUIET_HOURS gives each US state's window (its postal code), and "default" for every
other place: a pair of local times, ("08:00", "20:00"), for every day; or by weekday, {"Mon-Sat":
("09:00", "21:00"), "Sun": ("12:00", "21:00")}, with None for a day on which nothing may go. A
message may go from the window's start up to, not including, its end.

A place's window is its state's rule in each of its zones, on that zone's local date. With
several zones, it is open only while it is open in every one: the narrowest window that
covers them all. With none, in every zone of the United States (`contacts.places.us_zones`,
from the same phonenumbers data as the numbers' zones, so that an unknown number is never
treated more loosely than any US number; the territories' zones are left out, as Guam's day
and Hawaii's would leave no hour in common).

On the days clocks change, a window starts at the first moment the local clock shows its
start or later: a start in the hour that is skipped (02:30 when 02:00 becomes 03:00) is the
moment of the change; a start in the hour that happens twice is its first pass. Its end
likewise, so a window that has closed stays closed through the repeated hour.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from contacts.models import Contact
from contacts.places import (
    STATES,
    TERRITORIES,
    Place,
    known_zone,
    place_of,
    place_of_number,
    us_zones,
    zone_label,
)

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# A daily window of a place whose zones share some hours opens within a week; a day more
# covers the longest weekly rule.
HORIZON = timedelta(days=8)
CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True)
class Window:
    """Local times from which, and until which, messages may go."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


# A window for each weekday, Monday first; None on a day when nothing may go.
Rule = tuple[Window | None, ...]


def enforced() -> bool:
    """Whether quiet hours apply: unless QUIET_HOURS is None (README: Quiet hours)."""
    return settings.QUIET_HOURS is not None


def problems(config: object) -> list[str]:
    """What is wrong with a QUIET_HOURS setting, in words; [] when nothing is."""
    if config is None:
        return []  # off
    if not isinstance(config, dict):
        return ["QUIET_HOURS must be a dict of windows by state, with a “default”."]
    found = []
    if "default" not in config:
        found.append("QUIET_HOURS has no “default”: the window of every other place.")
    for key, value in config.items():
        if key != "default" and key not in STATES and key not in TERRITORIES:
            found.append(
                f"QUIET_HOURS[{key!r}]: not a US state or territory; use its postal code, "
                "such as TX, or “default”."
            )
            continue
        try:
            _rule(value)
        except ValueError as error:
            found.append(f"QUIET_HOURS[{key!r}]: {error}")
    return found


def _rule(value: object) -> Rule:
    """A QUIET_HOURS value as a rule; ValueError saying what is wrong."""
    if not isinstance(value, dict):
        return (_window(value),) * 7
    days: dict[int, Window | None] = {}
    for spec, window in value.items():
        for day in _days(spec):
            if day in days:
                raise ValueError(f"{DAYS[day]} is given twice.")
            days[day] = None if window is None else _window(window, spec)
    missing = [DAYS[day] for day in range(7) if day not in days]
    if missing:
        raise ValueError(
            f"no window for {', '.join(missing)}: give every day one (None: nothing may go)."
        )
    return tuple(days[day] for day in range(7))


def _days(spec: object) -> list[int]:
    """ "Mon-Sat", "Sun", "Sat, Sun" as weekday numbers, Monday 0."""
    if not isinstance(spec, str):
        raise ValueError(f"{spec!r} is not days such as “Mon-Fri” or “Sun”.")
    days = []
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(
                f"“{spec}”: days are written {', '.join(DAYS)}, or a range such as Mon-Fri."
            )
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            raise ValueError(f"“{part.strip()}”: a range goes from Mon towards Sun.")
        days.extend(range(start, end + 1))
    return days


def _window(value: object, days: str = "") -> Window:
    where = f"{days}: " if days else ""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(f"{where}{value!r} is not a window such as (“08:00”, “21:00”).")
    clocks = []
    for clock in value:
        match = CLOCK.fullmatch(clock) if isinstance(clock, str) else None
        if not match:
            raise ValueError(f"{where}{clock!r} is not a time of day such as “08:00”.")
        clocks.append(time(int(match[1]), int(match[2])))
    if clocks[0] >= clocks[1]:
        raise ValueError(f"{where}{value[0]}–{value[1]} ends before it starts.")
    return Window(*clocks)


@cache
def rules() -> dict[str, Rule]:
    """settings.QUIET_HOURS, read once (again when a test changes it)."""
    config = settings.QUIET_HOURS
    if found := problems(config):
        raise ImproperlyConfigured(" ".join(found))
    return {key: _rule(value) for key, value in config.items()}


@receiver(setting_changed)
def _forget_rules(*, setting: str, **kwargs) -> None:
    if setting == "QUIET_HOURS":
        rules.cache_clear()


def rule_for(state: str) -> Rule:
    """The rule of a state (its postal code), or the default."""
    found = rules()
    return found.get(state) or found["default"]


def is_open(place: Place, at: datetime) -> bool:
    """Whether a message may go to `place` at the moment `at` (aware)."""
    return closes_at(place, at) is not None


def closes_at(place: Place, at: datetime) -> datetime | None:
    """When the window open for `place` at the moment `at` (aware) ends, in UTC: the first of
    its zones' windows to end. None when it is not open at `at`."""
    at = _utc(at)
    rule = rule_for(place.state)
    ends = []
    for zone in place.zones or us_zones():
        if (end := _open_until(zone, rule, at)) is None:
            return None
        ends.append(end)
    return min(ends)


def opens_at(place: Place, after: datetime) -> datetime | None:
    """The first moment from `after` (aware) on when a message may go to `place`: `after`
    itself, or the start of a window in one of its zones, in UTC. None when its zones' windows
    never meet within HORIZON (zones too far apart for any hour to be open in all)."""
    after = _utc(after)
    if is_open(place, after):
        return after
    rule = rule_for(place.state)
    # Where windows overlap, their common part begins where one of them does.
    starts = set()
    for zone in place.zones or us_zones():
        first = after.astimezone(_zone(zone)).date() - timedelta(days=1)
        for offset in range(HORIZON.days + 2):
            day = first + timedelta(days=offset)
            if window := rule[day.weekday()]:
                start = _moments(zone, day, window)[0]
                if after < start <= after + HORIZON:
                    starts.add(start)
    return next((start for start in sorted(starts) if is_open(place, start)), None)


# The places of the contacts who share a number: it may be in any of them, and a message
# goes to it only while each one's window is open.
Places = tuple[Place, ...]


def said_by_contacts(phones: list[str]) -> dict[str, set[tuple[str, str]]]:
    """For those of the numbers that a contact with a time zone or state of its own has (few,
    as a rule): what each contact of the number says, (time zone, state), "" where not set."""
    with_own = Contact.objects.exclude(time_zone="", state="").filter(phone__any=phones)
    said: dict[str, set[tuple[str, str]]] = {}
    if numbers := list(with_own.values_list("phone", flat=True).distinct()):
        contacts = Contact.objects.filter(phone__any=numbers)
        for phone, time_zone, state in contacts.values_list("phone", "time_zone", "state"):
            said.setdefault(phone, set()).add((time_zone, state))
    return said


def places_of(phone: str) -> Places:
    """Where a number may be: the place each contact with it says (its own time zone and
    state where set, else the number's), one as a rule."""
    return places_said(phone, said_by_contacts([phone]).get(phone, {("", "")}))


def places_said(phone: str, said: Iterable[tuple[str, str]]) -> Places:
    """The places of a number by what its contacts say (`said_by_contacts`), in one order.
    A state a contact says that is not the one of the number's area code keeps the number's
    place too: the phone may be in either, and a state's law may presume a number under its
    area codes is its resident's (Oklahoma's act says so). So does a time zone the area code
    is not in, without a state, where the area code's state has hours of its own: a Tulsa
    number whose contact says Pacific time keeps Oklahoma's 20:00 on Tulsa's clock too (a
    contact who says the area code's state and a zone of it is in that state, on that
    clock)."""
    said = list(said)
    places = {place_of(phone, *fields) for fields in said}
    number = place_of_number(phone)
    own_hours = number.state in rules()

    def elsewhere(time_zone: str, state: str) -> bool:
        if state and state != number.state:
            return True
        zone = known_zone(time_zone)
        return own_hours and not state and bool(zone) and zone not in number.zones

    if number.state and any(elsewhere(*fields) for fields in said):
        places.add(number)
    return tuple(sorted(places, key=str))


def closes_at_all(places: Places, at: datetime) -> datetime | None:
    """When the first of the places' windows open at `at` ends; None if one is closed."""
    ends = [closes_at(place, at) for place in places]
    return None if None in ends else min(ends)


def opens_at_all(places: Places, after: datetime) -> datetime | None:
    """The first moment from `after` on when every one of the places' windows is open; None
    when they do not meet within HORIZON."""
    moment = _utc(after)
    while moment <= _utc(after) + HORIZON:
        openings = [opens_at(place, moment) for place in places]
        if None in openings:
            return None
        latest = max(openings)
        if all(is_open(place, latest) for place in places):
            return latest
        moment = latest  # one of them is closed then: from there on, it opens later
    return None


def opening_at(places: Places, opens: datetime) -> Place:
    """Of the places, the one whose window opens at `opens` (from opens_at_all): closed just
    before it."""
    just_before = _utc(opens) - timedelta(minutes=1)
    return next((place for place in places if not is_open(place, just_before)), places[0])


def last_to_open(places: Places, after: datetime) -> Place:
    """The place whose window opens last from `after` on: the one a deferral waits for."""
    return max(places, key=lambda place: opens_at(place, after) or _utc(after) + HORIZON)


def opens_where(place: Place, opens: datetime) -> str:
    """The zone of `place` whose window opens at `opens` (from opens_at), the last of its
    zones to open: there the clock then shows the window's start. Its first zone if none."""
    rule = rule_for(place.state)
    zones = place.zones or us_zones()
    for zone in zones:
        day = _utc(opens).astimezone(_zone(zone)).date()
        if (window := rule[day.weekday()]) and _moments(zone, day, window)[0] == opens:
            return zone
    return zones[0]


def opening_in_words(places: Places, opens: datetime, note: str = "") -> str:
    """`opens` (from opens_at_all) on the clock of the place whose window opens then, with
    its window and `note`: "Monday 08:00 their time (08:00–20:00 Eastern (FL))"; for a place
    of several zones, the one whose window opens last: "Monday 08:00 Central time (…)"."""
    place = opening_at(places, opens)
    zone = opens_where(place, opens)
    theirs = "their time" if len(place.zones) == 1 else f"{zone_label(zone)} time"
    return f"{opens.astimezone(_zone(zone)):%A %H:%M} {theirs} ({describe(place)}{note})"


def now_in_words(places: Places, now: datetime) -> str:
    """Whether a broadcast may reach a number with these places at `now`, for its contact's
    page."""
    opens = opens_at_all(places, now)
    if opens is None:
        never = describe(last_to_open(places, now))
        return f"Its quiet hours never end ({never} never opens): no broadcast reaches it."
    if opens > now:
        return f"Quiet hours now: broadcasts wait until {opening_in_words(places, opens)}."
    windows = "; ".join(describe(place) for place in places)
    return f"Broadcasts may reach the number now ({windows})."


def describe(place: Place) -> str:
    """The place's window for people: "08:00–20:00 Eastern (FL)"."""
    labels = list(dict.fromkeys(zone_label(zone) for zone in place.zones))
    if not labels:
        where = "in every US time zone"
    elif len(labels) == 1:
        where = labels[0]
    elif len(labels) <= 3:
        where = f"in {', '.join(labels[:-1])} and {labels[-1]} time"
    else:
        where = f"in each of {len(place.zones)} time zones"
    state = f" ({place.state})" if place.state else ""
    return f"{rule_in_words(rule_for(place.state))} {where}{state}"


def rule_in_words(rule: Rule) -> str:
    """ "08:00–20:00"; "09:00–21:00 Mon–Sat, 12:00–21:00 Sun"; "closed" for a closed day."""
    if len(set(rule)) == 1:
        return str(rule[0]) if rule[0] else "closed every day"
    runs: list[tuple[int, int]] = []  # first and last day of each run of the same window
    for day in range(7):
        if runs and rule[runs[-1][1]] == rule[day]:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return ", ".join(
        f"{rule[first] or 'closed'} {DAYS[first]}" + (f"–{DAYS[last]}" if last > first else "")
        for first, last in runs
    )


@cache
def _zone(name: str) -> ZoneInfo:
    """The time zone `name`, read once: ZoneInfo keeps only the last few it made, and a
    preview asks for the zones of every place numbers are in (about 300), each read again
    from its file (9 ms a preview, bench/NOTES.md)."""
    return ZoneInfo(name)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment} has no time zone: quiet hours need an aware moment.")
    return moment.astimezone(UTC)


def _open_until(zone: str, rule: Rule, at: datetime) -> datetime | None:
    """When the window of `zone`'s local day that `at` is in ends, if `at` is in it."""
    day = at.astimezone(_zone(zone)).date()
    window = rule[day.weekday()]
    if window is None:
        return None
    start, end = _moments(zone, day, window)
    return end if start <= at < end else None


@lru_cache(maxsize=4096)
def _moments(zone: str, day: date, window: Window) -> tuple[datetime, datetime]:
    """When `window` opens and closes on the local date `day` in `zone`, in UTC."""
    return _first_moment(zone, day, window.start), _first_moment(zone, day, window.end)


def _first_moment(zone: str, day: date, clock: time) -> datetime:
    """The first moment of the local date `day` at which the clock in `zone` shows `clock` or
    later."""
    wall = datetime.combine(day, clock)
    first_pass = wall.replace(tzinfo=_zone(zone)).astimezone(UTC)
    second_pass = wall.replace(tzinfo=_zone(zone), fold=1).astimezone(UTC)
    if first_pass <= second_pass:
        return first_pass  # a time that happens once, or the first of two
    # A time the clock skips: the offset before the change puts it after the change (fold 0),
    # the offset after it before (fold 1). The change itself is the moment, found to the second.
    early, late = int(second_pass.timestamp()), int(first_pass.timestamp())
    while late - early > 1:
        middle = (early + late) // 2
        if datetime.fromtimestamp(middle, _zone(zone)).replace(tzinfo=None) >= wall:
            late = middle
        else:
            early = middle
    return datetime.fromtimestamp(late, UTC)
