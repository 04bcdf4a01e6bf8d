"""The rate limit: messages spaced at `BROADCAST_RATE` a second, for all workers together."""

import pytest
from django.db import connection
from django.utils import timezone

from broadcasts import sending, services
from tests.broadcasts.engine import broadcast
from tests.factories import ContactFactory


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
    if connection.vendor == "sqlite":
        # Others may write first (sending.SQLITE_WRITERS_MOMENT, 150 ms); then the batch
        # catches its slots up.
        assert seconds_after(start, times) == [0.15, 0.15, 0.15, 0.15, 0.2]
    else:
        assert seconds_after(start, times) == [0, 0.05, 0.1, 0.15, 0.2]  # then every 50 ms
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


def test_calls_go_at_the_rate_twilio_places_them(manager, settings):
    """Twilio places an account's calls at its calls per second (1 unless raised) and queues
    faster ones, for up to 24 hours: a call handed over inside its recipient's window would
    ring after it closed. Calls are spaced at CALL_RATE, texts at BROADCAST_RATE."""
    settings.BROADCAST_RATE, settings.CALL_RATE = 20, 2
    ContactFactory.create_batch(3)
    calls = broadcast("calls")
    services.launch(broadcast=calls, by_user=manager)
    start = timezone.now().timestamp()
    sending.run(calls.pk, clock=ControlledClock(start))
    times = calls.recipients.order_by("sent_at").values_list("sent_at", flat=True)
    assert seconds_after(start, times)[1:] == [0.5, 1]  # the first's may wait (on SQLite)


def test_texts_and_calls_each_have_their_slots(db, settings):
    settings.BROADCAST_RATE, settings.CALL_RATE = 10, 1
    start = timezone.now().timestamp()
    assert sending.reserve_slots(5, now=start, channel="calls") == (start, 1)
    # A text at the same moment waits for no call's slot.
    first, interval = sending.reserve_slots(1, now=start, channel="sms")
    assert (round(first - start, 6), interval) == (0, 0.1)
    assert round(sending.reserve_slots(1, now=start, channel="calls")[0] - start, 6) == 5
    assert sending.batch_size("calls") == 1  # a second of calls: a STOP waits no longer
    assert sending.batch_size("sms") == 10
