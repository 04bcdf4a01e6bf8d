import re
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from broadcasts import sending, services
from broadcasts.models import Broadcast, Recipient
from contacts import services as contact_services
from contacts.models import VALID_PHONE, Channel, Contact, OptInStatus, Source
from messaging.backends import LocmemBackend
from messaging.models import InboundEvent
from tests.factories import ContactFactory, UserFactory, store_old_phone
from tests.twilio_standin import StandIn


@pytest.fixture
def manager(db):
    return UserFactory(username="boss", role="Manager")


def broadcast(channel=Channel.SMS, audience="", **fields) -> Broadcast:
    defaults = {"body": "Hello", "script": "" if channel == Channel.SMS else "Hello"}
    return Broadcast.objects.create(
        name="Test", channel=channel, audience=audience, **(defaults | fields)
    )


def launched(b: Broadcast, manager, capture) -> Broadcast:
    with capture(execute=True):
        services.launch(broadcast=b, by_user=manager)
    return Broadcast.objects.get(pk=b.pk)


def sent_to() -> list[str]:
    return sorted(message["to"] for message in LocmemBackend.outbox)


def test_the_briefs_example(manager, django_capture_on_commit_callbacks):
    a = ContactFactory(name="Contact A", phone="+14155550101")
    b = ContactFactory(name="Contact B", phone="+14155550102")
    contact_services.unsubscribe(contact=a, channel=Channel.SMS, by_user=manager)
    contact_services.unsubscribe(contact=b, channel=Channel.CALLS, by_user=manager)

    sms = broadcast(Channel.SMS)
    assert services.preview(sms).receive == 1
    assert launched(sms, manager, django_capture_on_commit_callbacks).status == "done"
    assert sent_to() == ["+14155550102"]
    assert LocmemBackend.outbox[0]["body"] == "Hello\nReply STOP to opt out"

    LocmemBackend.outbox.clear()
    voice = broadcast(Channel.CALLS)
    launched(voice, manager, django_capture_on_commit_callbacks)
    assert sent_to() == ["+14155550101"]
    assert "<Say>Hello</Say>" in LocmemBackend.outbox[0]["body"]
    assert "press 9" in LocmemBackend.outbox[0]["body"]


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
    preview = services.preview(broadcast())
    assert preview.receive == 1
    assert preview.excluded == {
        "Opted out of this channel (hard)": 1,
        "Opted out of this channel (soft)": 1,
        "Overall status do not contact or archived": 2,
        "No or invalid phone": 1,
        "Duplicate phone (one message per number)": 1,
    }
    assert {reason for _, reason in preview.sample_out} >= {"Opted out of this channel (hard)"}


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.CALLS])
@pytest.mark.parametrize("audience", ["", "status=active", "q=a"])
def test_the_preview_agrees_with_the_launch_on_a_mixed_audience(manager, channel, audience):
    """The preview counts by arithmetic over a partition of eligible_for(); the launch reads
    eligible_in_number_order(). On a mix of every reason, they must agree, contact by
    contact, and each number goes to its first eligible contact."""
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

    b = broadcast(channel, audience=audience)
    preview = services.preview(b)
    assert preview.excluded == _reasons_one_by_one(b.audience_contacts(), channel)
    assert preview.receive + sum(preview.excluded.values()) == b.audience_contacts().count()
    assert preview.receive == services.start(b) == b.recipients.count()
    assert all(n >= 0 for n in preview.excluded.values())
    first_eligible = dict(
        b.audience_contacts().eligible_for(channel).order_by("phone")
        .values_list("phone").annotate(first=Min("id"))
    )  # fmt: skip
    assert dict(b.recipients.values_list("phone", "contact_id")) == first_eligible


def _reasons_one_by_one(audience, channel) -> dict[str, int]:
    """What the preview must count, found contact by contact in Python."""
    reasons = Counter()
    eligible_phones = []
    for contact in audience.prefetch_related("opt_outs"):
        opt_out = contact.opt_out_for(channel)
        if opt_out:
            reasons[services.HARD if opt_out.kind == "hard" else services.SOFT] += 1
        elif contact.status != Contact.Status.ACTIVE:
            reasons[services.STATUS] += 1
        elif not re.fullmatch(VALID_PHONE, contact.phone):
            reasons[services.PHONE] += 1
        else:
            eligible_phones.append(contact.phone)
    reasons[services.DUPLICATE] = len(eligible_phones) - len(set(eligible_phones))
    order = (services.HARD, services.SOFT, services.STATUS, services.PHONE, services.DUPLICATE)
    return {reason: reasons[reason] for reason in order}


def test_the_audience_is_the_contacts_tables_filters(manager, django_capture_on_commit_callbacks):
    ContactFactory(name="Ann", status=Contact.Status.ACTIVE)
    ContactFactory(name="Bob")
    launched(broadcast(audience="q=ann"), manager, django_capture_on_commit_callbacks)
    assert len(LocmemBackend.outbox) == 1


def test_launch_snapshots_one_recipient_per_number_in_one_statement(manager):
    ContactFactory.create_batch(30)
    ContactFactory(phone=Contact.objects.first().phone)
    b = broadcast()
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        services.launch(broadcast=b, by_user=manager)  # sending waits for the commit
    inserts = [q["sql"] for q in queries if "INSERT INTO \"broadcasts_recipient\"" in q["sql"]
               or "INSERT INTO broadcasts_recipient" in q["sql"]]  # fmt: skip
    assert len(inserts) == 1
    assert b.recipients.count() == 30
    assert set(b.recipients.values_list("status", flat=True)) == {"pending"}


def test_a_stop_between_launch_and_send_is_skipped(manager):
    stopper, other = ContactFactory(), ContactFactory()
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)  # snapshot taken; sending not started
    contact_services.record_hard_opt_out(
        phone=stopper.phone, channel=Channel.SMS, source=Source.KEYWORD
    )
    sending.run(b.pk)
    assert sent_to() == [other.phone]
    assert b.recipients.get(phone=stopper.phone).status == Recipient.Status.SKIPPED
    assert Broadcast.objects.get(pk=b.pk).status == Broadcast.Status.DONE


def test_a_reply_kept_but_not_processed_yet_holds_its_number_back(manager):
    """A STOP whose processing failed is kept for the worker to process within seconds; until
    then no message goes to its number (nor to a number whose pending reply was HELP: which it
    was is not known before processing)."""
    stopper, other = ContactFactory(), ContactFactory()
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    InboundEvent.store(key="sms:SMkept", kind="sms", payload={"From": stopper.phone,
                       "Body": "STOP"}, phone=stopper.phone)  # fmt: skip
    InboundEvent.store(key="digits:CAkept:9", kind="digits", payload={}, phone=other.phone)
    sending.run(b.pk)
    assert sent_to() == [other.phone]  # a digit is a reply to a call, not to an SMS
    held = b.recipients.get(phone=stopper.phone)
    assert (held.status, held.error) == (Recipient.Status.SKIPPED, sending.REPLY_PENDING)


def test_a_soft_opt_out_after_launch_is_skipped_too(manager):
    contact = ContactFactory()
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    contact_services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=manager)
    sending.run(b.pk)
    assert sent_to() == []


def test_a_dead_workers_sending_rows_become_unknown_and_are_never_resent(manager):
    ContactFactory.create_batch(2)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    first = b.recipients.order_by("id").first()
    # A worker claimed it and died before recording the outcome.
    Recipient.objects.filter(pk=first.pk).update(
        status="sending", claimed_at=timezone.now() - timedelta(hours=1)
    )
    sending.run(b.pk)
    assert b.recipients.get(pk=first.pk).status == Recipient.Status.UNKNOWN
    assert len(LocmemBackend.outbox) == 1  # only the other one
    assert first.phone not in sent_to()


def test_cancelling_stops_what_was_not_sent(manager):
    ContactFactory.create_batch(5)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    sending.send_batch(b, sending.claim(b, size=2))
    assert services.cancel(broadcast=b) == 3
    sending.run(b.pk)
    assert len(LocmemBackend.outbox) == 2
    assert services.progress(b).counts["cancelled"] == 3


def test_the_provider_saying_opted_out_skips_and_records_a_carrier_opt_out(manager, twilio):
    contact = ContactFactory()
    StandIn.answers = ["opted_out"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    sending.run(b.pk)
    assert b.recipients.get().status == Recipient.Status.SKIPPED
    opt_out = Contact.objects.get(pk=contact.pk).opt_out_for(Channel.SMS)
    assert (opt_out.kind, opt_out.source) == (OptInStatus.HARD, "carrier")


def test_a_claim_takes_the_recipients_after_an_id_or_from_the_start(manager):
    """A worker claims on from its last claim; back at the start it finds what was given
    back behind it."""
    ContactFactory.create_batch(3)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    first, second, third = b.recipients.order_by("id").values_list("pk", flat=True)
    assert [r.pk for r in sending.claim(b, after=first)] == [second, third]
    Recipient.objects.filter(pk=second).update(status=Recipient.Status.PENDING)  # given back
    assert sending.claim(b, after=third) == []
    claimed = sending.claim(b)
    assert [(r.pk, r.status, r.attempts) for r in claimed] == [
        (first, "sending", 1), (second, "sending", 2)
    ]  # fmt: skip


def test_only_too_many_requests_is_retried(manager, twilio):
    ContactFactory()
    StandIn.answers = ["too_many", "sent"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    sending.run(b.pk)
    recipient = b.recipients.get()
    assert (recipient.status, recipient.attempts, len(StandIn.requests)) == ("sent", 2, 2)


def test_a_server_error_is_never_retried(manager, twilio):
    ContactFactory()
    StandIn.answers = ["server_error", "sent"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    sending.run(b.pk)
    assert b.recipients.get().status == Recipient.Status.UNKNOWN
    assert len(StandIn.requests) == 1


class ControlledClock(sending.Clock):
    """Time that passes only when sending waits, by as long as it asks: the spacing it
    checks is the limiter's, whatever the machine's speed."""

    def __init__(self, start: float):
        self.moment, self.waits = start, []

    def now(self) -> float:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.moment += seconds


def seconds_after(start: float, moments) -> list[float]:
    return [round(moment.timestamp() - start, 6) for moment in moments]


def test_the_rate_limit_spaces_the_messages(manager, settings):
    settings.BROADCAST_RATE = 20
    ContactFactory.create_batch(5)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    start = timezone.now().timestamp()
    clock = ControlledClock(start)
    sending.run(b.pk, clock=clock)
    times = b.recipients.order_by("sent_at").values_list("sent_at", flat=True)
    assert seconds_after(start, times) == [0, 0.05, 0.1, 0.15, 0.2]  # at once, then every 50 ms
    assert sum(clock.waits) == pytest.approx(0.2, abs=1e-6)  # waits for each slot, no longer


def test_a_batch_waits_for_the_slots_other_workers_reserved(manager, settings):
    settings.BROADCAST_RATE = 20
    ContactFactory.create_batch(2)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    start = timezone.now().timestamp()
    sending.reserve_slots(20, now=start)  # another worker's next second of messages
    clock = ControlledClock(start)
    sending.send_batch(b, sending.claim(b), clock=clock)
    times = b.recipients.order_by("sent_at").values_list("sent_at", flat=True)
    assert seconds_after(start, times) == [1, 1.05]
    assert sum(clock.waits) == pytest.approx(1.05, abs=1e-6)


def test_slots_are_shared_and_a_pause_saves_up_no_burst(db, settings):
    settings.BROADCAST_RATE = 10
    start = timezone.now().timestamp()

    def reserve(count: int, *, after: float) -> tuple[float, float]:
        first, interval = sending.reserve_slots(count, now=start + after)
        return round(first - start, 6), interval

    assert reserve(3, after=0) == (0, 0.1)
    # A second worker at the same moment: its slots come after the first's.
    assert reserve(2, after=0) == (0.3, 0.1)
    # After a quiet minute: from now on, one every 100 ms, not the slots left unused.
    assert reserve(1, after=60) == (60, 0.1)
    assert reserve(1, after=60) == (60.1, 0.1)


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


def test_a_stop_after_the_claim_and_before_the_hand_over_wins(manager):
    contact = ContactFactory()
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    claimed = sending.claim(b)
    contact_services.record_hard_opt_out(
        phone=contact.phone, channel=Channel.SMS, source=Source.KEYWORD
    )
    sending.send_batch(b, claimed)
    assert not LocmemBackend.outbox
    assert b.recipients.get().status == Recipient.Status.SKIPPED
