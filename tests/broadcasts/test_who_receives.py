"""Who may receive a broadcast is defined once (contacts.models.EXCLUSIONS, then the
broadcast's own broadcasts.policy.RULES); the preview counts it, the launch selects it and
each send checks it again, each by a plan of its own. On any mix of contacts, opt-outs of
contacts and of numbers, statuses, phones, shared numbers and possible opt-outs awaiting
review, the three agree with the definition, and with each other, exactly."""

import re
from collections import Counter

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcasts import sending, services
from broadcasts.policy import AWAITING_REVIEW
from contacts import services as contact_services
from contacts.models import (
    EXCLUSIONS,
    HARD_OPT_OUT,
    NO_VALID_PHONE,
    NOT_ACTIVE,
    SOFT_OPT_OUT,
    VALID_PHONE,
    Channel,
    Contact,
    Source,
)
from messaging.models import PossibleOptOut
from tests.broadcasts.engine import broadcast
from tests.factories import ContactFactory, store_old_phone

NUMBERS = [f"+1415555{n:04d}" for n in range(101, 106)]
INVALID = ["555", "+0123"]  # stored before the phone check existed

contacts = st.lists(
    st.fixed_dictionaries({
        "phone": st.sampled_from(NUMBERS + INVALID),
        "status": st.sampled_from(list(Contact.Status)),
        "soft": st.sets(st.sampled_from(list(Channel))),
        "tagged": st.booleans(),
    }),
    max_size=12,
)  # fmt: skip
number_opt_outs = st.sets(st.tuples(st.sampled_from(NUMBERS), st.sampled_from(list(Channel))))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=contacts,
    stops=number_opt_outs,
    channel=st.sampled_from(list(Channel)),
    only_tagged=st.booleans(),
    later_stops=number_opt_outs,
    reviews=st.sets(st.sampled_from(NUMBERS + INVALID)),
    later_reviews=st.sets(st.sampled_from(NUMBERS)),
)
def test_the_preview_the_launch_and_the_send_agree(
    manager, people, stops, channel, only_tagged, later_stops, reviews, later_reviews
):
    with transaction.atomic():  # each example on its own, rolled back
        _check_agreement(manager, people, stops, channel, only_tagged, later_stops, reviews,
                         later_reviews)  # fmt: skip
        transaction.set_rollback(True)


def _check_agreement(
    manager, people, stops, channel, only_tagged, later_stops, reviews, later_reviews
):
    from contacts.models import Tag

    tag = Tag.objects.create(name="Audience")
    created = []
    for person in people:
        contact = ContactFactory(phone=NUMBERS[0], status=person["status"])
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
        PossibleOptOut.objects.create(phone=phone, words="is this the last one")

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
        elif channel == Channel.SMS and person["phone"] in reviews:
            expected[AWAITING_REVIEW.label] += 1
        else:
            eligible.setdefault(person["phone"], pk)  # a number's first contact
    expected[services.DUPLICATE] = len(audience) - sum(expected.values()) - len(eligible)

    b = broadcast(channel, audience=f"tag={tag.pk}" if only_tagged else "")
    preview = services.preview(b)
    rules = [AWAITING_REVIEW.label] if channel == Channel.SMS else []
    labels = [*(e.label for e in EXCLUSIONS), *rules, services.DUPLICATE]
    assert preview.excluded == {label: expected[label] for label in labels}
    assert preview.receive == len(eligible)

    assert services.start(b) == len(eligible)
    recipients = list(b.recipients.all())
    assert {r.phone: r.contact_id for r in recipients} == eligible

    assert sending._eligible(b, recipients) == {r.pk for r in recipients}
    for phone, stop_channel in later_stops:
        contact_services.record_hard_opt_out(phone=phone, channel=stop_channel,
                                             source=Source.KEYWORD)  # fmt: skip
    for phone in later_reviews:
        PossibleOptOut.objects.create(phone=phone, words="how do I make this end")
    held = later_reviews if channel == Channel.SMS else set()
    still = {
        r.pk for r in recipients if (r.phone, channel) not in later_stops and r.phone not in held
    }
    assert sending._eligible(b, recipients) == still
