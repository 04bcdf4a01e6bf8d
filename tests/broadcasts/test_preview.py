"""The preview: who a broadcast reaches and who is left out, for which reason; the same
contacts the launch takes."""

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Min
from django.utils import timezone

from broadcasts import policy, services
from broadcasts.models import Recipient
from broadcasts.policy import AWAITING_REVIEW, FREQUENCY_LIMIT, HELD_BY_ANOTHER
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
from messaging.backends import LocmemBackend
from messaging.models import PossibleOptOut
from tests.broadcasts.engine import broadcast, launched, sent_earlier
from tests.factories import ContactFactory, store_old_phone


def test_the_preview_counts_every_reason_once(manager):
    ContactFactory(phone="+14155550101")  # receives
    ContactFactory(phone="+14155550101")  # the same number: one message
    soft = ContactFactory(phone="+14155550103")
    contact_services.unsubscribe(contact=soft, channel=Channel.SMS, by_user=manager)
    hard = ContactFactory(phone="+14155550104")
    contact_services.record_hard_opt_out(
        phone=hard.phone, channel=Channel.SMS, source=Source.KEYWORD
    )
    ContactFactory(phone="+14155550105", status=Contact.Status.DO_NOT_CONTACT)
    ContactFactory(phone="+14155550106", status=Contact.Status.ARCHIVED)
    invalid = ContactFactory(phone="+14155550107")
    store_old_phone(invalid, "555")
    ContactFactory(phone="+14155550108")
    PossibleOptOut.objects.create(phone="+14155550108", words="please no more")
    ContactFactory(phone="+13055550109")  # Florida: 3 messages in 24 hours at most
    sent_earlier("+13055550109", hours_ago=23, times=3)
    ContactFactory(phone="+13055550110")  # two in the last 24 hours, one before them
    sent_earlier("+13055550110", hours_ago=2, times=2)
    sent_earlier("+13055550110", hours_ago=25)
    preview = services.preview(broadcast())
    assert preview.receive == 2
    assert preview.excluded == {
        "Opted out of this channel (hard)": 1,
        "Opted out of this channel (soft)": 1,
        "Marked “Do not contact” or archived": 2,
        "No or invalid phone": 1,
        "Possible opt-out awaiting review": 1,
        "Frequency limit reached (last 24 hours)": 1,
        "Duplicate phone (one message per number)": 1,
    }
    assert {reason for _, reason in preview.sample_out} >= {"Opted out of this channel (hard)"}


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.CALLS])
@pytest.mark.parametrize("audience", ["", "status=active", "q=a"])
def test_the_preview_agrees_with_the_launch_on_a_mixed_audience(manager, channel, audience):
    """The preview counts by arithmetic over a partition of policy.may_receive(); the launch
    reads policy.may_receive_in_number_order(). On a mix of every reason, they must agree,
    contact by contact, and each number goes to its first eligible contact."""
    import random

    rng = random.Random(7)
    for n in range(120):
        contact = ContactFactory(
            name=rng.choice(["Ann", "Bob", "Cat"]),
            phone=f"+1415555{rng.randrange(100):04d}",  # many shared numbers
            status=rng.choice(["active"] * 4 + ["archived", "do_not_contact"]),
        )
        if n % 11 == 0:
            store_old_phone(contact, rng.choice(["555", "+0123", "+112125550123"]))
        if rng.random() < 0.2:
            contact_services.unsubscribe(contact=contact, channel=rng.choice(list(Channel)),
                                         by_user=manager)  # fmt: skip
    for phone in {f"+1415555{rng.randrange(100):04d}" for _ in range(8)}:
        contact_services.record_hard_opt_out(phone=phone, channel=channel, source=Source.KEYWORD)
    for phone in {f"+1415555{rng.randrange(100):04d}" for _ in range(8)}:
        # What each asks to stop: its words' channels, else SMS.
        channels = rng.choice(["sms", "calls", "sms calls"])
        PossibleOptOut.objects.create(phone=phone, words="stop it now please", channels=channels)
    for n in range(12):  # Florida numbers, some sent to 3 times in the last 24 hours
        ContactFactory(name="Dee", phone=f"+1305555{n:04d}")
        sent_earlier(f"+1305555{n:04d}", channel=channel, times=n % 4)

    b = broadcast(channel, audience=audience)
    preview = services.preview(b)
    assert preview.excluded == _reasons_one_by_one(b.audience_contacts(), channel)
    assert preview.receive + sum(preview.excluded.values()) == b.audience_contacts().count()
    assert preview.receive == services.start(b) == b.recipients.count()
    assert all(n >= 0 for n in preview.excluded.values())
    first_eligible = dict(
        policy.may_receive(b, b.audience_contacts()).order_by("phone")
        .values_list("phone").annotate(first=Min("id"))
    )  # fmt: skip
    assert dict(b.recipients.values_list("phone", "contact_id")) == first_eligible


def _reasons_one_by_one(audience, channel) -> dict[str, int]:
    """What the preview must count, found contact by contact in Python."""
    reviewed = set(
        PossibleOptOut.objects.filter(channels__contains=channel).values_list("phone", flat=True)
    )
    since = timezone.now() - timedelta(hours=24)
    sent = Counter(
        Recipient.objects.filter(sent_at__gte=since)  # texts and calls together
        .values_list("phone", flat=True)
    )  # fmt: skip
    # Numbers another of whose contacts (of the audience or not) the business opted out of
    # the channel or marked "Do not contact".
    sharing = Counter(Contact.objects.values_list("phone", flat=True))
    held = {
        contact.phone
        for contact in Contact.objects.prefetch_related("opt_outs")
        if sharing[contact.phone] > 1
        and contact.status != Contact.Status.ARCHIVED
        and (
            contact.status == Contact.Status.DO_NOT_CONTACT
            or getattr(contact.opt_out_for(channel), "kind", "") == "soft"
        )
    }
    reasons = Counter()
    eligible_phones = []
    for contact in audience.prefetch_related("opt_outs"):
        opt_out = contact.opt_out_for(channel)
        if opt_out:
            reasons[HARD_OPT_OUT.label if opt_out.kind == "hard" else SOFT_OPT_OUT.label] += 1
        elif contact.status != Contact.Status.ACTIVE:
            reasons[NOT_ACTIVE.label] += 1
        elif not re.fullmatch(VALID_PHONE, contact.phone):
            reasons[NO_VALID_PHONE.label] += 1
        elif contact.phone in held:
            reasons[HELD_BY_ANOTHER.label] += 1
        elif contact.phone in reviewed:
            reasons[AWAITING_REVIEW.label] += 1
        elif contact.phone.startswith("+1305") and sent[contact.phone] >= 3:
            reasons[FREQUENCY_LIMIT.label] += 1
        else:
            eligible_phones.append(contact.phone)
    reasons[services.DUPLICATE] = len(eligible_phones) - len(set(eligible_phones))
    rules = [HELD_BY_ANOTHER.label] if held else []
    rules += [AWAITING_REVIEW.label, FREQUENCY_LIMIT.label]  # a marketing broadcast
    order = (*(exclusion.label for exclusion in EXCLUSIONS), *rules, services.DUPLICATE)
    return {reason: reasons[reason] for reason in order}


def test_the_audience_is_the_contacts_tables_filters(manager, django_capture_on_commit_callbacks):
    ContactFactory(name="Ann", status=Contact.Status.ACTIVE)
    ContactFactory(name="Bob")
    launched(broadcast(audience="q=ann"), manager, django_capture_on_commit_callbacks)
    assert len(LocmemBackend.outbox) == 1


def test_an_audience_whose_tag_was_deleted_reaches_nobody(
    manager, django_capture_on_commit_callbacks
):
    from contacts.models import Tag

    tag = Tag.objects.create(name="Gone")
    ContactFactory().tags.add(tag)
    b = broadcast(audience=f"tag={tag.pk}")
    tag.delete()
    assert services.preview(b).receive == 0
    assert launched(b, manager, django_capture_on_commit_callbacks).status == "done"
    assert not LocmemBackend.outbox


def test_the_samples_are_the_first_by_name_of_an_audience_far_along_the_names(manager):
    """A search whose matches come last in name order: the preview shows the first of them
    who receive it, and the first of them left out, each with the reason."""
    for n in range(300):  # before any Zed, by name
        ContactFactory(name=f"Aaron {n:03d}")
    zeds = [ContactFactory(name=f"Zed {n}") for n in (3, 1, 2)]
    contact_services.unsubscribe(contact=zeds[1], channel=Channel.SMS, by_user=manager)
    preview = services.preview(broadcast(audience="q=Zed"))
    assert [c.name for c in preview.sample_in] == ["Zed 2", "Zed 3"]
    assert [(c.name, reason) for c, reason in preview.sample_out] == [("Zed 1", SOFT_OPT_OUT.label)]


def test_a_number_shared_is_one_of_those_who_receive_it(manager):
    """The samples of who receives it list a number once, as it gets one message: of a
    household's contacts, the first by name; ten numbers in all."""
    household = "+14155550100"
    for name in ("Ada Home", "Bea Home", "Cy Home"):
        ContactFactory(name=name, phone=household)
    others = [ContactFactory(name=f"Dee {n:02d}") for n in range(12)]
    preview = services.preview(broadcast())
    assert preview.receive == 13 and preview.excluded[services.DUPLICATE] == 2
    assert [c.name for c in preview.sample_in] == ["Ada Home"] + [c.name for c in others[:9]]


@pytest.mark.parametrize("audience", ["", "q=Ann", "status=active"])
def test_the_samples_left_out_are_the_first_by_name_reason_by_reason(manager, audience):
    """Ten at most: the first reason's first by name, then the next reason's, as far as the
    ten go."""
    soft = [ContactFactory(name=f"Ann A{n}") for n in range(8)]
    hard = [ContactFactory(name=f"Ann B{n}") for n in range(4)]
    for contact in soft:
        contact_services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=manager)
    for contact in hard:
        contact_services.record_hard_opt_out(
            phone=contact.phone, channel=Channel.SMS, source=Source.KEYWORD
        )
    ContactFactory(name="Ann C", status=Contact.Status.ARCHIVED)
    preview = services.preview(broadcast(audience=audience))
    assert [(c.name, reason) for c, reason in preview.sample_out] == [
        *((f"Ann B{n}", HARD_OPT_OUT.label) for n in range(4)),
        *((f"Ann A{n}", SOFT_OPT_OUT.label) for n in range(6)),
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("audience", ["", "tag=1"])
def test_the_preview_leaves_the_planner_s_settings_as_it_found_them(manager, audience):
    """It plans its counts with settings of its own (broadcasts.services), for its own
    transaction: run inside a caller's, they must not outlast it."""
    from django.db import connection, transaction

    names = ["enable_hashjoin", "jit", "work_mem", "max_parallel_workers_per_gather"]

    def settings() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(['current_setting(%s)'] * len(names))}", names)
            return list(cursor.fetchone())

    ContactFactory().tags.create(name="Audience", pk=1)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL work_mem = '3MB'")
        before = settings()
        services.preview(broadcast(audience=audience))
        assert settings() == before == ["off", *before[1:2], "3MB", before[3]]
