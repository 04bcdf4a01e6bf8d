"""Who may receive a broadcast is defined once (contacts.models.EXCLUSIONS, then the
broadcast's own broadcasts.policy.RULES), and when: quiet hours. The preview counts it, the
launch selects it and each send checks it again, each by a plan of its own. On any mix of
contacts, opt-outs of contacts and of numbers, statuses, phones, shared numbers (one of whose
contacts the business opted out or marked "Do not contact"), possible
opt-outs awaiting review, consent on record (given, awaiting, void; made void after the
launch), places (numbers' and contacts' own), send histories (messages handed over, in flight
and tests), purposes, frequency limits and moments, the three agree with the definition, and
with each other, exactly."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import time_machine
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from broadcasts import sending, services
from broadcasts.models import Broadcast, Recipient, SentTest
from broadcasts.policy import AWAITING_REVIEW, FREQUENCY_LIMIT, HELD_BY_ANOTHER, NO_CONSENT
from contacts import quiet_hours
from contacts import services as contact_services
from contacts.models import (
    EXCLUSIONS,
    HARD_OPT_OUT,
    NO_VALID_PHONE,
    NOT_ACTIVE,
    SOFT_OPT_OUT,
    VALID_PHONE,
    Channel,
    ConsentMethod,
    ConsentRecord,
    Contact,
    Source,
)
from contacts.places import known_zone, place_of, place_of_number
from messaging.models import PossibleOptOut
from tests.broadcasts.engine import broadcast, sent_earlier
from tests.factories import ContactFactory, store_old_phone

# California, Florida (3 messages a day at most; quiet from 20:00), Texas (noon on Sunday),
# Hawaii, Alaska (two zones), a toll-free number (every US zone), and London.
NUMBERS = ["+14155550101", "+14155550102", "+13055550103", "+13055550104", "+15125550105",
           "+18085550106", "+19075550107", "+18005550108", "+442071838750"]  # fmt: skip
# Stored before the phone check: the send's pattern passes it, but no country code covers it
# (no zone: the window of every US zone).
NO_PLACE = "+2145550109"
INVALID = ["555", "+0123"]  # stored before the phone check existed
STATES_LIMITED = {"FL": 3, "OK": 3, "MD": 3}


def review_channels(phone: str) -> str:
    """What a possible opt-out of the number asks to stop: texts, calls or both, by number."""
    return ("sms", "calls", "sms calls")[sum(map(ord, phone)) % 3]


contacts = st.lists(
    st.fixed_dictionaries({
        "phone": st.sampled_from(NUMBERS + [NO_PLACE] + INVALID),
        # Mostly contacts who may receive, so that the rules of who and when meet many.
        "status": st.sampled_from([Contact.Status.ACTIVE] * 4 + list(Contact.Status)),
        "soft": st.sampled_from([set()] * 4 + [{Channel.SMS}, {Channel.CALLS}, set(Channel)]),
        "tagged": st.booleans(),
        "time_zone": st.sampled_from(["", "", "America/New_York", "Pacific/Honolulu"]),
        "state": st.sampled_from(["", "", "FL", "TX", "NY"]),
    }),
    max_size=12,
)  # fmt: skip
number_opt_outs = st.sets(
    st.tuples(st.sampled_from(NUMBERS), st.sampled_from(list(Channel))), max_size=3
)
# Consent records of numbers: of which channel, in which status (mostly given, so that the
# rule meets numbers that have it and numbers that do not).
consents = st.sets(
    st.tuples(
        st.sampled_from(NUMBERS + INVALID),
        st.sampled_from(list(Channel)),
        st.sampled_from([ConsentRecord.Status.CONFIRMED] * 3 + list(ConsentRecord.Status)),
    ),
    max_size=16,
)
# Earlier broadcast messages: to which number, of which channel, how many hours ago (never
# exactly 24: which side of the limit's edge a message falls is not what this tests), and
# how: handed over, claimed by a broadcast still handing it over, or a test of a draft.
histories = st.lists(
    st.tuples(
        st.sampled_from(NUMBERS),
        st.sampled_from(list(Channel)),
        st.sampled_from([0.5, 3.5, 12.5, 23.5, 24.5, 40.5]),
        st.sampled_from(["handed over", "handed over", "in flight", "test"]),
    ),  # fmt: skip
    max_size=10,
)
# Any minute of a week, Monday 7 December 2026 00:00 UTC on.
moments = st.integers(0, 7 * 24 * 60 - 1).map(
    lambda minute: datetime(2026, 12, 7, tzinfo=UTC) + timedelta(minutes=minute)
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=contacts,
    stops=number_opt_outs,
    channel=st.sampled_from(list(Channel)),
    only_tagged=st.booleans(),
    later_stops=number_opt_outs,
    reviews=st.sets(st.sampled_from(NUMBERS + INVALID), max_size=2),
    later_reviews=st.sets(st.sampled_from(NUMBERS)),
    sends=histories,
    informational=st.booleans(),
    limit=st.sampled_from([None, 1, 2]),
    moment=moments,
    needs_consent=st.booleans(),
    given=consents,
    later_voids=st.sets(st.sampled_from(NUMBERS), max_size=3),
)
@example(  # a contact soft opted out of calls, then its number's STOP of them: hard, so
    # the number is held by no soft opt-out (a full run found the model behind)
    people=[
        {"phone": "+14155550101", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": ""},
        {"phone": "+14155550101", "status": "active", "soft": {Channel.CALLS}, "tagged": False,
         "time_zone": "", "state": ""},
    ],
    stops={("+14155550101", Channel.CALLS)}, channel=Channel.CALLS, only_tagged=False,
    later_stops=set(), reviews=set(), later_reviews=set(), sends=[], informational=False,
    limit=None, moment=datetime(2026, 12, 7, tzinfo=UTC), needs_consent=False, given=set(),
    later_voids=set(),
)  # fmt: skip
@example(  # one broadcast handed a Miami number a text, another is handing it one, and a
    # test went to it: 3, Florida's limit, though only 2 broadcasts reached it
    people=[
        {"phone": "+13055550103", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": ""},
    ],
    stops=set(), channel=Channel.SMS, only_tagged=False, later_stops=set(), reviews=set(),
    later_reviews=set(), sends=[("+13055550103", Channel.SMS, 3.5, "handed over"),
                                ("+13055550103", Channel.SMS, 0.5, "in flight"),
                                ("+13055550103", Channel.SMS, 12.5, "test")],
    informational=False, limit=None, moment=datetime(2026, 12, 7, 18, tzinfo=UTC),
    needs_consent=False, given=set(), later_voids=set(),
)  # fmt: skip
@example(  # our own limit of 1, and a test the only message of the day
    people=[
        {"phone": "+14155550101", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": ""},
    ],
    stops=set(), channel=Channel.SMS, only_tagged=False, later_stops=set(), reviews=set(),
    later_reviews=set(), sends=[("+14155550101", Channel.SMS, 0.5, "test")],
    informational=False, limit=1, moment=datetime(2026, 12, 7, 18, tzinfo=UTC),
    needs_consent=False, given=set(), later_voids=set(),
)  # fmt: skip
@example(  # every area code open, one contact's own state closed (found by a run)
    people=[
        {"phone": "+14155550101", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": ""},
        {"phone": "+18005550108", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": "FL"},
    ],
    stops=set(), channel=Channel.SMS, only_tagged=False, later_stops=set(), reviews=set(),
    later_reviews=set(), sends=[], informational=False, limit=None,
    moment=datetime(2026, 12, 7, tzinfo=UTC), needs_consent=False, given=set(), later_voids=set(),
)  # fmt: skip
@example(  # a number shared with a contact in Florida, who comes second, keeps to its limit
    people=[
        {"phone": "+14155550101", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": ""},
        {"phone": "+14155550101", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": "FL"},
    ],
    stops=set(), channel=Channel.SMS, only_tagged=False, later_stops=set(), reviews=set(),
    later_reviews=set(), sends=[("+14155550101", Channel.SMS, 3.5, "handed over")] * 3,
    informational=False, limit=None, moment=datetime(2026, 12, 7, 20, tzinfo=UTC),
    needs_consent=False, given=set(), later_voids=set(),
)  # fmt: skip
@example(  # a San Francisco number shared with a contact in Florida, at 20:30 there: it waits
    people=[
        {"phone": "+14155550101", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": ""},
        {"phone": "+14155550101", "status": "archived", "soft": set(), "tagged": False,
         "time_zone": "", "state": "FL"},
    ],
    stops=set(), channel=Channel.SMS, only_tagged=False, later_stops=set(), reviews=set(),
    later_reviews=set(), sends=[], informational=False, limit=None,
    moment=datetime(2026, 12, 8, 4, 30, tzinfo=UTC), needs_consent=False, given=set(),
    later_voids=set(),
)  # fmt: skip
@example(  # consent on record for one number of two; the other's made void after the launch
    people=[
        {"phone": "+14155550101", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": ""},
        {"phone": "+14155550102", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": ""},
        {"phone": "+15125550105", "status": "active", "soft": set(), "tagged": False,
         "time_zone": "", "state": ""},
    ],
    stops=set(), channel=Channel.SMS, only_tagged=False, later_stops=set(), reviews=set(),
    later_reviews=set(), sends=[], informational=False, limit=None,
    moment=datetime(2026, 12, 8, 18, tzinfo=UTC), needs_consent=True,
    given={("+14155550101", Channel.SMS, "confirmed"), ("+14155550102", Channel.SMS, "confirmed"),
           ("+15125550105", Channel.CALLS, "confirmed")},
    later_voids={"+14155550102"},
)  # fmt: skip
def test_the_preview_the_launch_and_the_send_agree(manager, quiet_hours, **drawn):
    # Each example's settings put back after it: the `settings` fixture keeps every change
    # until the test ends, one layer of settings each, and a hundred examples of three went
    # deeper than Python's recursion limit on a settings look-up.
    each = override_settings(
        FREQUENCY_LIMIT=drawn["limit"],
        MARKETING_NEEDS_CONSENT=drawn["needs_consent"],
        STATE_FREQUENCY_LIMITS=STATES_LIMITED,
    )
    with each, time_machine.travel(drawn["moment"], tick=False), transaction.atomic():
        _check_agreement(manager, **drawn)
        transaction.set_rollback(True)  # each example on its own


def _check_agreement(
    manager, *, people, stops, channel, only_tagged, later_stops, reviews, later_reviews,
    sends, informational, limit, moment, needs_consent, given, later_voids,
):  # fmt: skip
    from contacts.models import Tag

    tag = Tag.objects.create(name="Audience")
    created = []
    for person in people:
        contact = ContactFactory(
            phone=NUMBERS[0], status=person["status"],
            time_zone=person["time_zone"], state=person["state"],
        )  # fmt: skip
        store_old_phone(contact, person["phone"])
        if person["tagged"]:
            contact.tags.add(tag)
        for soft_channel in person["soft"]:
            contact_services.unsubscribe(contact=contact, channel=soft_channel, by_user=manager)
        created.append((contact.pk, person))
    for phone, stop_channel in stops:
        contact_services.record_hard_opt_out(phone=phone, channel=stop_channel,
                                             source=Source.KEYWORD)  # fmt: skip
    for phone in reviews:
        PossibleOptOut.objects.create(
            phone=phone, words="is this the last one", channels=review_channels(phone)
        )
    for phone, given_channel, status in given:
        void = status == ConsentRecord.Status.VOID
        ConsentRecord.objects.create(
            phone=phone, channel=given_channel, method=ConsentMethod.PAPER, status=status,
            given_at=moment - timedelta(days=1), voided_at=moment if void else None,
            void_reason="a test" if void else "",
        )  # fmt: skip
    with_consent = {
        phone for phone, given_channel, status in given
        if given_channel == channel and status == ConsentRecord.Status.CONFIRMED
    }  # fmt: skip
    consent_rule = needs_consent and not informational
    for phone, sent_channel, hours_ago, how in sends:
        _reached_earlier(phone, sent_channel, hours_ago, how)
    sent_lately = Counter(
        phone for phone, sent_channel, hours_ago, _ in sends
        if hours_ago < 24  # texts and calls together
    )  # fmt: skip

    def state_limit(person) -> int:
        # The contact's own state, and the area code's, whatever the contact says.
        states = {person["state"], place_of_number(person["phone"]).state}
        return min(STATES_LIMITED.get(state, 99) for state in states)

    def over_the_limit(person) -> bool:
        if informational:
            return False
        count = sent_lately[person["phone"]]
        # A number keeps to the limit of any state one of its contacts is in.
        sharing = [other for _, other in created if other["phone"] == person["phone"]]
        return (limit is not None and count >= limit) or count >= min(map(state_limit, sharing))

    # The numbers another of whose contacts (in the audience or not) the business opted out
    # of the channel or marked "Do not contact". A soft opt-out of a number that stopped the
    # channel since is hard (the guard copies the number's to each of its contacts).
    sharing = Counter(person["phone"] for _, person in created)
    held = {
        person["phone"] for _, person in created
        if sharing[person["phone"]] > 1
        and person["status"] != Contact.Status.ARCHIVED
        and (
            channel in person["soft"] and (person["phone"], channel) not in stops
            or person["status"] == Contact.Status.DO_NOT_CONTACT
        )
    }  # fmt: skip

    # The definition, worked out here from what the test wrote.
    audience = [(pk, person) for pk, person in created if person["tagged"] or not only_tagged]
    expected, eligible = Counter(), {}
    for pk, person in audience:
        if (person["phone"], channel) in stops:
            expected[HARD_OPT_OUT.label] += 1
        elif channel in person["soft"]:
            expected[SOFT_OPT_OUT.label] += 1
        elif person["status"] != Contact.Status.ACTIVE:
            expected[NOT_ACTIVE.label] += 1
        elif not re.fullmatch(VALID_PHONE, person["phone"]):
            expected[NO_VALID_PHONE.label] += 1
        elif person["phone"] in held:
            expected[HELD_BY_ANOTHER.label] += 1
        elif consent_rule and person["phone"] not in with_consent:
            expected[NO_CONSENT.label] += 1
        elif person["phone"] in reviews and channel in review_channels(person["phone"]):
            expected[AWAITING_REVIEW.label] += 1
        elif over_the_limit(person):
            expected[FREQUENCY_LIMIT.label] += 1
        else:
            eligible.setdefault(person["phone"], (pk, person))  # a number's first contact
    expected[services.DUPLICATE] = len(audience) - sum(expected.values()) - len(eligible)

    # A number waits until the place of each of its contacts is open (the places they say),
    # and its area code's where one of them says another state, or a time zone the area code
    # is not in and no state while the area code's state has hours of its own.
    def places(phone):
        said = [(other["time_zone"], other["state"]) for _, other in created
                if other["phone"] == phone]  # fmt: skip
        number = place_of_number(phone)
        own_hours = number.state in quiet_hours.rules()
        elsewhere = number.state and any(
            state not in ("", number.state)
            or (
                own_hours
                and not state
                and known_zone(zone)
                and known_zone(zone) not in number.zones
            )
            for zone, state in said
        )
        return [place_of(phone, *fields) for fields in said] + ([number] if elsewhere else [])

    outside = {
        phone for phone in eligible
        if not all(quiet_hours.is_open(place, moment) for place in places(phone))
    }  # fmt: skip

    purpose = Broadcast.Purpose.INFORMATIONAL if informational else Broadcast.Purpose.MARKETING
    b = broadcast(channel, audience=f"tag={tag.pk}" if only_tagged else "", purpose=purpose)
    preview = services.preview(b)
    rules = [HELD_BY_ANOTHER.label] if held else []
    rules += [NO_CONSENT.label] if consent_rule else []
    rules += [AWAITING_REVIEW.label]
    rules += [] if informational else [FREQUENCY_LIMIT.label]
    labels = [*(e.label for e in EXCLUSIONS), *rules, services.DUPLICATE]
    assert preview.excluded == {label: expected[label] for label in labels}
    assert preview.receive == len(eligible)
    assert preview.deferred == len(outside)

    assert services.start(b) == len(eligible)
    recipients = list(b.recipients.all())
    assert {r.phone: r.contact_id for r in recipients} == {p: c for p, (c, _) in eligible.items()}
    assert sending._eligible(b, recipients) == {r.pk for r in recipients}

    # Sent now: those outside their quiet hours wait; the others go.
    sending.send_batch(b, sending.claim(b, size=100))
    statuses = dict(b.recipients.values_list("phone", "status"))
    assert statuses == {
        phone: Recipient.Status.DEFERRED if phone in outside else Recipient.Status.SENT
        for phone in eligible
    }

    # Opt-outs and reviews after the launch: the send-time check sees them.
    for phone, stop_channel in later_stops:
        contact_services.record_hard_opt_out(phone=phone, channel=stop_channel,
                                             source=Source.KEYWORD)  # fmt: skip
    for phone in later_reviews:
        PossibleOptOut.objects.create(phone=phone, words="how do I make this end")
    ConsentRecord.objects.filter(
        phone__in=later_voids, status=ConsentRecord.Status.CONFIRMED
    ).update(status=ConsentRecord.Status.VOID, voided_at=moment, void_reason="reassigned")
    held = later_reviews if channel == Channel.SMS else set()
    held = held | (later_voids if consent_rule else set())
    still = {
        r.pk for r in recipients if (r.phone, channel) not in later_stops and r.phone not in held
    }  # fmt: skip
    # (The messages just sent count towards the frequency limits from now on.)
    assert sending._eligible(b, recipients) <= still
    waiting = [r for r in recipients if r.phone in outside]
    assert sending._eligible(b, waiting) <= still


def _reached_earlier(phone: str, channel: str, hours_ago: float, how: str) -> None:
    """A message of another broadcast of `channel` to `phone`, `hours_ago` hours ago: handed
    over, claimed by a broadcast still handing it over, or a test of a draft."""
    if how == "handed over":
        sent_earlier(phone, channel=channel, hours_ago=hours_ago)
        return
    at = timezone.now() - timedelta(hours=hours_ago)
    if how == "in flight":
        other = broadcast(channel, status=Broadcast.Status.SENDING)
        other.recipients.create(phone=phone, status=Recipient.Status.SENDING, claimed_at=at)
    else:
        SentTest.objects.create(broadcast=broadcast(channel), phone=phone, sent_at=at)
