"""Frequency limits on marketing broadcasts: each state's own (Florida, Oklahoma, Maryland: 3
messages in 24 hours) and, when set, one of our own for every number. The preview counts who
they leave out, and each send applies them again, with what was sent since the launch."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from broadcasts import policy, sending, services
from broadcasts.models import Broadcast, Recipient, SendRate
from broadcasts.policy import FREQUENCY_LIMIT
from contacts.models import Channel, Contact
from tests.broadcasts.conftest import Provider, hold_hand_overs, release_hand_overs
from tests.broadcasts.engine import broadcast, in_flight, launched, sent_earlier, sent_to
from tests.factories import ContactFactory
from tests.locks import wait_for_lock_waiters

MIAMI, TULSA, BALTIMORE = "+13055550101", "+19185550101", "+14105550101"
SAN_FRANCISCO = "+14155550101"


def test_florida_oklahoma_and_maryland_numbers_get_3_marketing_messages_a_day(
    manager, django_capture_on_commit_callbacks
):
    for phone in (MIAMI, TULSA, BALTIMORE, SAN_FRANCISCO):
        ContactFactory(phone=phone)
        sent_earlier(phone, hours_ago=2, times=3)
    b = broadcast()
    preview = services.preview(b)
    assert preview.excluded[FREQUENCY_LIMIT.label] == 3
    assert preview.receive == 1
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [SAN_FRANCISCO]


def test_many_numbers_over_a_limit_are_looked_up_rather_than_listed(
    manager, django_capture_on_commit_callbacks, monkeypatch
):
    """A preview or a launch holds the numbers over a limit as a list when they are few
    (`policy.LISTED`), else looks them up in each query: the same contacts either way."""
    monkeypatch.setattr(policy, "LISTED", 1)
    for phone in (MIAMI, TULSA, SAN_FRANCISCO):
        ContactFactory(phone=phone)
        sent_earlier(phone, hours_ago=2, times=3)
    b = broadcast()
    assert services.preview(b).excluded[FREQUENCY_LIMIT.label] == 2
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [SAN_FRANCISCO]


def test_a_preview_counts_the_day_s_messages_once(db, settings):
    """Each of the preview's counts leaves out the numbers over a limit; they are looked up
    once, not in each count (a day's messages can be a million: bench/NOTES.md)."""
    settings.FREQUENCY_LIMIT = 5
    ContactFactory(phone=MIAMI)
    ContactFactory(phone=TULSA)
    sent_earlier(MIAMI, hours_ago=2, times=5)
    with CaptureQueriesContext(connection) as queries:
        preview = services.preview(broadcast())
    assert preview.excluded[FREQUENCY_LIMIT.label] == 1
    # The broadcasts' last hand-overs and those in flight, then the numbers over each limit.
    assert len([q for q in queries if "broadcasts_recipient" in q["sql"]]) == 4


def test_no_number_can_be_over_a_limit_that_fewer_broadcasts_reached(db, settings):
    """Two texts to everyone today: nobody is over Florida's 3, and the preview shows so
    without listing the day's messages (a million after two texts to everyone)."""
    settings.FREQUENCY_LIMIT = 3
    for phone in (MIAMI, TULSA):
        ContactFactory(phone=phone)
    for hours_ago in (5, 1):
        earlier = broadcast(status=Broadcast.Status.DONE)
        for phone in (MIAMI, TULSA):
            sent_at = timezone.now() - timedelta(hours=hours_ago)
            earlier.recipients.create(phone=phone, status=Recipient.Status.SENT, sent_at=sent_at)
    with CaptureQueriesContext(connection) as queries:
        preview = services.preview(broadcast())
    assert (preview.receive, preview.excluded[FREQUENCY_LIMIT.label]) == (2, 0)
    # The broadcasts' last hand-overs and those in flight; no list.
    assert len([q for q in queries if "broadcasts_recipient" in q["sql"]]) == 2


def test_only_the_last_24_hours_count_and_calls_count_with_texts(
    manager, django_capture_on_commit_callbacks
):
    """Florida's limit is three calls or texts in 24 hours, together."""
    ContactFactory(phone=MIAMI)
    sent_earlier(MIAMI, hours_ago=2)
    sent_earlier(MIAMI, hours_ago=25)  # a day and an hour ago
    sent_earlier(MIAMI, channel=Channel.CALLS, hours_ago=1)
    launched(broadcast(), manager, django_capture_on_commit_callbacks)
    assert sent_to() == [MIAMI]  # the third
    launched(broadcast(Channel.CALLS), manager, django_capture_on_commit_callbacks)
    assert sent_to() == [MIAMI]  # not a fourth, by call


def test_a_contacts_own_state_adds_to_its_area_code_s(manager, django_capture_on_commit_callbacks):
    """A Floridian with a California number keeps Florida's limit; a Miami number keeps it
    too, whatever its contact says: Florida presumes it its resident's."""
    ContactFactory(phone=SAN_FRANCISCO, state="FL")
    ContactFactory(phone=MIAMI, state="CA")
    ContactFactory(phone="+14155550102", state="CA")
    for phone in (SAN_FRANCISCO, MIAMI, "+14155550102"):
        sent_earlier(phone, hours_ago=2, times=3)
    launched(broadcast(), manager, django_capture_on_commit_callbacks)
    assert sent_to() == ["+14155550102"]


def test_many_contacts_who_say_they_live_in_a_limited_state_are_looked_up(
    manager, django_capture_on_commit_callbacks, monkeypatch
):
    """The messages to the numbers of contacts who say they live in a limited state are
    counted among them when they are few (`policy.LISTED`), else among every number's."""
    monkeypatch.setattr(policy, "LISTED", 1)
    for phone in (SAN_FRANCISCO, "+12135550101"):  # two Floridians with California numbers
        ContactFactory(phone=phone, state="FL")
        sent_earlier(phone, hours_ago=2, times=3)
    ContactFactory(phone=MIAMI, state="CA")
    sent_earlier(MIAMI, hours_ago=2, times=3)
    ContactFactory(phone="+14155550102", state="CA")
    sent_earlier("+14155550102", hours_ago=2, times=3)
    b = broadcast()
    assert services.preview(b).excluded[FREQUENCY_LIMIT.label] == 3
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == ["+14155550102"]


@pytest.mark.parametrize("listed", [100_000, 1, 0])
def test_messages_in_flight_to_a_number_no_limit_covers_hold_it_back_from_nothing(
    manager, django_capture_on_commit_callbacks, monkeypatch, listed
):
    """Three broadcasts are handing texts to a San Francisco number at once (they take
    turns); none of Florida's limit is its. Whether the numbers are listed or looked up, the
    preview, the launch and each send agree."""
    monkeypatch.setattr(policy, "LISTED", listed)
    ContactFactory(phone=SAN_FRANCISCO)
    ContactFactory(phone="+12135550101", state="FL")  # a Floridian with a California number
    ContactFactory(phone=MIAMI)
    for phone in (SAN_FRANCISCO, "+12135550101", MIAMI):
        in_flight(phone, times=3)
    b = broadcast()
    preview = services.preview(b)
    assert (preview.receive, preview.excluded[FREQUENCY_LIMIT.label]) == (1, 2)
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [SAN_FRANCISCO]


def test_an_area_code_s_numbers_are_all_its_own(manager, django_capture_on_commit_callbacks):
    """Florida's 305 runs from +1305 200 0000 to +1305 999 9999; +1304 is West Virginia's
    and +1306 Saskatchewan's."""
    first, last = "+13052000000", "+13059999999"
    before, after = "+13049999999", "+13062000000"
    for phone in (first, last, before, after):
        ContactFactory(phone=phone)
        sent_earlier(phone, hours_ago=2, times=3)
    b = broadcast()
    assert services.preview(b).excluded[FREQUENCY_LIMIT.label] == 2
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [before, after]


@pytest.mark.parametrize("floridian_first", [True, False])
def test_a_number_shared_with_a_contact_in_a_limited_state_is_limited(
    manager, django_capture_on_commit_callbacks, floridian_first
):
    """Two contacts share a San Francisco number; one of them says she lives in Florida.
    Whichever of them the launch would take, the number keeps to Florida's limit."""
    people = [{"state": "FL"}, {}] if floridian_first else [{}, {"state": "FL"}]
    for fields in people:
        ContactFactory(phone=SAN_FRANCISCO, **fields)
    sent_earlier(SAN_FRANCISCO, hours_ago=2, times=3)
    b = broadcast()
    preview = services.preview(b)
    assert (preview.receive, preview.excluded[FREQUENCY_LIMIT.label]) == (0, 2)
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == []


def test_informational_broadcasts_are_not_limited(manager, django_capture_on_commit_callbacks):
    ContactFactory(phone=MIAMI)
    sent_earlier(MIAMI, hours_ago=2, times=3)
    b = broadcast(purpose=Broadcast.Purpose.INFORMATIONAL)
    assert FREQUENCY_LIMIT.label not in services.preview(b).excluded
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [MIAMI]


@pytest.mark.parametrize(
    ("limit", "sent"), [(None, [SAN_FRANCISCO]), (2, []), (3, [SAN_FRANCISCO])]
)
def test_our_own_limit_applies_to_every_number_when_set(
    manager, django_capture_on_commit_callbacks, settings, limit, sent
):
    settings.FREQUENCY_LIMIT = limit
    ContactFactory(phone=SAN_FRANCISCO)
    sent_earlier(SAN_FRANCISCO, hours_ago=5, times=2)
    launched(broadcast(), manager, django_capture_on_commit_callbacks)
    assert sent_to() == sent


def test_a_broadcast_sent_after_the_launch_counts_at_the_send(manager):
    """Launched with two messages sent to the number today; another broadcast reaches it
    before this one's turn: the third of the day, so this one skips it, saying why."""
    ContactFactory(phone=MIAMI)
    sent_earlier(MIAMI, hours_ago=3, times=2)
    b = broadcast()
    assert services.preview(b).receive == 1
    services.launch(broadcast=b, by_user=manager)
    sent_earlier(MIAMI, hours_ago=0.1)
    sending.run(b.pk)
    assert sent_to() == []
    skipped = b.recipients.get()
    assert (skipped.status, skipped.error) == ("skipped", FREQUENCY_LIMIT.label)


def test_a_message_another_worker_died_handing_over_counts(manager):
    """Miami had two messages today, and a third was with the provider when its worker died:
    until the reaper marks it unknown, it is still `sending`, and may have reached the
    number. Another broadcast counts it, and skips the number."""
    ContactFactory(phone=MIAMI)
    sent_earlier(MIAMI, hours_ago=3, times=2)
    orphan = broadcast(status=Broadcast.Status.SENDING)
    orphan.recipients.create(
        phone=MIAMI, status=Recipient.Status.SENDING, claimed_at=timezone.now()
    )
    b = broadcast()
    assert services.preview(b).excluded[FREQUENCY_LIMIT.label] == 1
    Recipient.objects.create(broadcast=b, phone=MIAMI, contact=Contact.objects.get())
    Broadcast.objects.filter(pk=b.pk).update(status=Broadcast.Status.SENDING)
    sending.run(b.pk)
    assert sent_to() == []
    skipped = b.recipients.get()
    assert (skipped.status, skipped.error) == ("skipped", FREQUENCY_LIMIT.label)


@pytest.mark.postgres
def test_two_broadcasts_sending_to_a_number_at_once_keep_to_its_limit(
    committed, provider, settings
):
    """Miami had two messages today. Two marketing broadcasts reach its number at the same
    moment: while the first one's message is with the provider (not recorded yet), the second
    waits for it, then counts it as the third of the day and skips the number."""
    for name, value in provider.items():  # the stand-in for Twilio, in this process
        setattr(settings, name, float(value) if name == "TWILIO_TIMEOUT" else value)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    ContactFactory(phone=MIAMI)
    sent_earlier(MIAMI, hours_ago=3, times=2)
    first, second = broadcast(), broadcast()
    for b in (first, second):
        services.start(b)  # the recipients' snapshot; its sending is queued, and run below
    Provider.gate.clear()
    with ThreadPoolExecutor(2) as pool:
        sends = [pool.submit(send_in_thread, first)]
        hold_hand_overs()  # the first broadcast's message to Miami is with the provider
        sends.append(pool.submit(send_in_thread, second))
        waited = wait_for_lock_waiters(1, unless=lambda: len(Provider.held) > 1)
        release_hand_overs()
        for send in sends:
            send.result(timeout=120)
    assert waited, "the second broadcast handed its message over without waiting"
    assert [phone for phone, _ in Provider.received] == [MIAMI]
    assert first.recipients.get().status == "sent"
    skipped = second.recipients.get()
    assert (skipped.status, skipped.error) == ("skipped", FREQUENCY_LIMIT.label)


@pytest.mark.postgres
def test_a_batch_waiting_for_its_turn_is_not_taken_for_a_dead_worker_s(
    committed, provider, settings
):
    """The second broadcast's batch waits for the first's message to San Francisco to be
    handed over, longer than the send time-out. Another worker of the second broadcast finds
    its recipient still sending and runs the reaper: it waits for the batch, rather than mark
    a message that is about to be sent "unknown" (and the broadcast done, with it unsent)."""
    for name, value in provider.items():
        setattr(settings, name, float(value) if name == "TWILIO_TIMEOUT" else value)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    ContactFactory(phone=SAN_FRANCISCO)
    first, second = broadcast(), broadcast()
    for b in (first, second):
        services.start(b)
    Provider.gate.clear()
    with ThreadPoolExecutor(3) as pool:
        sends = [pool.submit(send_in_thread, first)]
        hold_hand_overs()
        sends.append(pool.submit(send_in_thread, second))
        assert wait_for_lock_waiters(1, unless=sends[1].done), "the second did not wait"
        # The time-out is over: the reaper takes what was claimed before now.
        reaper = pool.submit(reap_in_thread, second)
        waited = wait_for_lock_waiters(2, unless=reaper.done)
        release_hand_overs()
        for send in sends:
            send.result(timeout=120)
        reaped = reaper.result(timeout=120)
    assert (waited, reaped) == (True, 0)
    assert [phone for phone, _ in Provider.received] == [SAN_FRANCISCO, SAN_FRANCISCO]
    assert second.recipients.get().status == "sent"


@pytest.mark.postgres
def test_a_batch_waiting_for_its_slot_is_not_taken_for_a_dead_worker_s(committed, settings):
    """The shared rate gives the batch a slot later on (other workers' batches first), and
    the send time-out passes while it waits: another worker's reaper waits for it too."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    ContactFactory(phone=SAN_FRANCISCO)
    b = broadcast()
    services.start(b)
    SendRate.objects.create(pk=1, next_at=timezone.now() + timedelta(hours=1))
    reaper = []

    class WaitingForTheSlot(sending.Clock):
        def sleep(self, seconds: float) -> None:
            if not reaper:  # the first wait, for the slot: the reaper comes meanwhile
                reaper.append(pool.submit(reap_in_thread, b))
                reaper.append(wait_for_lock_waiters(1, unless=reaper[0].done))

    with ThreadPoolExecutor(1) as pool:
        sending.send_batch(b, sending.claim(b), clock=WaitingForTheSlot())
        reaped, waited = reaper[0].result(timeout=120), reaper[1]
    assert (waited, reaped) == (True, 0)
    assert b.recipients.get().status == "sent"


def reap_in_thread(b: Broadcast) -> int:
    try:
        return sending.reap(b, older_than=timedelta(0))
    finally:
        connection.close()


def send_in_thread(b: Broadcast) -> None:
    try:
        sending.send_batch(b, sending.claim(b))
    finally:
        connection.close()


@pytest.mark.postgres
def test_the_day_s_messages_are_read_without_the_days_before(db, settings):
    """Thirty days of a text to 10,000 numbers, and three small texts today: when the day's
    messages must be listed (our own limit of 3), they are found by the broadcasts that sent
    them today, not among every message ever sent (found by a review: 1,155 pages read for
    today's 60 messages)."""
    settings.FREQUENCY_LIMIT = 3
    now = timezone.now()
    days = [(now - timedelta(days=day, hours=2), 10_000) for day in range(1, 31)]
    today = [(now - timedelta(hours=hours), 20) for hours in (1, 2, 3)]
    with connection.cursor() as cursor:
        for sent_at, size in days + today:
            cursor.execute(
                "INSERT INTO broadcasts_recipient (broadcast_id, phone, status, attempts,"
                " sent_at, sid, error) SELECT %s, '+1415' || lpad(n::text, 7, '0'), 'sent', 1,"
                " %s + n * interval '10 ms', '', '' FROM generate_series(1, %s) n",
                [broadcast(status=Broadcast.Status.DONE).pk, sent_at, size],
            )
        cursor.execute("ANALYZE broadcasts_recipient")
        cursor.execute("ANALYZE broadcasts_broadcast")
    target = broadcast()
    lately = policy._lately(target)
    assert lately.most == 3  # the list is needed
    sent = policy._sent(target, None, lately.sending).order_by().values("phone")
    listed = sent.annotate(n=Count("id")).filter(n__gte=3).values_list("phone", flat=True)
    sql, params = listed.query.sql_with_params()
    with transaction.atomic(), services._planned_for_counting(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    top = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    assert _pages_of("broadcasts_recipient", top) < 100
    assert sorted(listed) == [f"+1415{n:07}" for n in range(1, 21)]


def _pages_of(table: str, node: dict) -> int:
    """The pages that the scans of `table` in an EXPLAIN (BUFFERS) plan read (each scan's
    own, which counts the index it reads with it)."""
    own = node["Shared Hit Blocks"] + node["Shared Read Blocks"]
    below = sum(_pages_of(table, child) for child in node.get("Plans", []))
    return (own if node.get("Relation Name") == table else 0) + below


def test_a_broadcast_s_first_hand_over_during_a_preview_counts(db, settings, monkeypatch):
    """A broadcast is handing a text to a number that had one earlier; with our own limit of
    2, the number is at it. The text is handed over while the preview works out the day: it
    counts among the messages handed over (found by a review)."""
    settings.FREQUENCY_LIMIT, settings.STATE_FREQUENCY_LIMITS = 2, {}
    ContactFactory(phone=SAN_FRANCISCO)
    sent_earlier(SAN_FRANCISCO, hours_ago=2)
    in_flight(SAN_FRANCISCO)
    lately = policy._lately

    def then_handed_over(b: Broadcast) -> policy.Lately:
        found = lately(b)
        Recipient.objects.filter(status=Recipient.Status.SENDING).update(
            status=Recipient.Status.SENT, sent_at=timezone.now()
        )
        return found

    monkeypatch.setattr(policy, "_lately", then_handed_over)
    assert services.preview(broadcast()).excluded[FREQUENCY_LIMIT.label] == 1
