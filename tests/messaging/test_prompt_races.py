"""Double opt-in prompts at the same moment as each other, as workers and as STOPs, in
committed transactions on a PostgreSQL database of their own (what they write, consent
records and opt-outs, is kept for good): a number gets one text, never one after its STOP."""

import pytest

from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401

pytestmark = pytest.mark.postgres

SETUP = """
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import django

django.setup()
import time_machine
from django.conf import settings
from django.db import connection, transaction
from contacts import quiet_hours, services
from contacts.models import ConfirmationPrompt, PhoneOptOut, Source
from messaging.backends import LocmemBackend
from tests.locks import wait_for_lock_waiters

PACIFIC = ZoneInfo("America/Los_Angeles")
settings.MESSAGING_BACKEND = "locmem"
settings.QUIET_HOURS = settings.QUIET_HOURS_DEFAULT


def at(day, hour):
    return time_machine.travel(datetime(2026, 12, day, hour, tzinfo=PACIFIC), tick=False)


def awaiting(phone, *channels):
    for channel in channels:
        services.record_consent(phone=phone, channel=channel, method="web_form",
                                given_at=datetime.now(PACIFIC), awaiting=True)


def beside(action, name=None):
    \"\"\"`action` started on a connection of its own.\"\"\"
    def on_its_own():
        try:
            action()
        finally:
            connection.close()

    thread = threading.Thread(target=on_its_own, name=name)
    thread.start()
    return thread


def texts(phone):
    return [message for message in LocmemBackend.outbox if message["to"] == phone]


inside, release = threading.Event(), threading.Event()
keep = LocmemBackend.keep


def slow(self, kind, to, body, **kept):
    \"\"\"The provider's hand-over, once `inside`, waiting for `release`.\"\"\"
    inside.set()
    release.wait(60)
    return keep(self, kind, to, body, **kept)
"""

# Two asks of one number at night, the second while the first is between its checks and its
# hold: the second waits for the number's turn, and one prompt is held, asking about both.
TWO_ASKS = """
phone = "+14155550188"
awaiting(phone, "sms", "calls")
inside, release = threading.Event(), threading.Event()
places_of = quiet_hours.places_of


def first_waits(number):
    if threading.current_thread().name == "first":
        inside.set()
        release.wait(60)
    return places_of(number)


quiet_hours.places_of = first_waits
with at(7, 23):
    first = beside(lambda: services.ask_to_confirm(phone, ["sms"]), name="first")
    inside.wait(60)
    second = beside(lambda: services.ask_to_confirm(phone, ["calls"]))
    print("the second waits:", wait_for_lock_waiters(1, unless=lambda: not second.is_alive()))
    release.set()
    first.join(60)
    second.join(60)
    print("card:", services.prompt_of(phone).in_words(datetime.now(PACIFIC))[:26])
quiet_hours.places_of = places_of
held = ConfirmationPrompt.objects.filter(phone=phone, sent_at=None, not_sent="")
print("held:", list(held.values_list("channels", flat=True)))
with at(8, 9):
    services.send_held_prompts()
print("texts:", len(texts(phone)))
"""

# An ask while the worker hands over the number's held prompt, which asks about the same
# consent: it waits for the hand-over, then finds that text asks about it.
ASK_DURING_HAND_OVER = """
phone = "+14155550199"
awaiting(phone, "sms")
with at(7, 23):
    services.ask_to_confirm(phone, ["sms"])
LocmemBackend.keep = slow
said = []
with at(8, 9):
    worker = beside(services.send_held_prompts)
    inside.wait(60)
    LocmemBackend.keep = keep
    asking = beside(lambda: said.append(services.ask_to_confirm(phone, ["sms"])))
    print("the ask waits:", wait_for_lock_waiters(1, unless=lambda: not asking.is_alive()))
    release.set()
    worker.join(60)
    asking.join(60)
print("texts:", len(texts(phone)))
print(said[0])
"""

# Three workers at once take the prompts held for 30 numbers: each goes once.
WORKERS = """
phones = [f"+1415666{n:04d}" for n in range(30)]
with at(7, 23):
    for phone in phones:
        awaiting(phone, "sms")
        services.ask_to_confirm(phone, ["sms"])
taken = []
with at(8, 9):
    workers = [beside(lambda: taken.append(services.send_held_prompts())) for _ in range(3)]
    for worker in workers:
        worker.join(60)
print("taken:", sum(taken))
print("texts:", sorted(message["to"] for message in LocmemBackend.outbox) == phones)
"""

# A STOP holds the number (not committed yet) when a prompt is asked for: the prompt waits
# for it, then finds the number opted out.
STOP_FIRST = """
phone = "+14155550166"
awaiting(phone, "sms")
locked, release = threading.Event(), threading.Event()


def stop():
    with transaction.atomic():
        services.lock_numbers([phone])
        locked.set()
        release.wait(60)
        services.record_hard_opt_out(phone=phone, channel="sms", source=Source.KEYWORD)


with at(7, 9):
    stopping = beside(stop)
    locked.wait(60)
    asking = beside(lambda: services.ask_to_confirm(phone, ["sms"]))
    print("the prompt waits:", wait_for_lock_waiters(1, unless=lambda: not asking.is_alive()))
    release.set()
    stopping.join(60)
    asking.join(60)
print("texts:", len(texts(phone)))
print("not sent:", ConfirmationPrompt.objects.get(phone=phone).not_sent)
"""

# A STOP that comes while the prompt is handed over waits for it, and is then recorded.
STOP_DURING = """
phone = "+14155550177"
awaiting(phone, "sms")
LocmemBackend.keep = slow
with at(7, 9):
    asking = beside(lambda: services.ask_to_confirm(phone, ["sms"]))
    inside.wait(60)
    stopping = beside(
        lambda: services.record_hard_opt_out(phone=phone, channel="sms", source=Source.KEYWORD)
    )
    print("the STOP waits:", wait_for_lock_waiters(1, unless=lambda: not stopping.is_alive()))
    print("opted out meanwhile:", PhoneOptOut.objects.filter(phone=phone).exists())
    release.set()
    asking.join(60)
    stopping.join(60)
print("texts:", len(texts(phone)))
print("opted out:", PhoneOptOut.objects.filter(phone=phone).exists())
"""


# Two imports' batches at once queue prompts for the same numbers, in their files' orders
# (one the other's reversed): neither waits for the other in a circle.
TWO_IMPORTS = """
phones = [f"+1415777{n:04d}" for n in range(40)]
for phone in phones:
    awaiting(phone, "sms")
errors = []


def batch(numbers):
    try:
        with transaction.atomic():
            services.queue_prompts({phone: ["sms"] for phone in numbers})
    except Exception as error:
        errors.append(type(error).__name__)


with at(7, 10):
    for _ in range(10):
        both = [beside(lambda: batch(phones)), beside(lambda: batch(phones[::-1]))]
        for thread in both:
            thread.join(60)
print("errors:", errors)
print("held:", ConfirmationPrompt.objects.filter(sent_at=None, not_sent="").count())
"""

# An import's batch of more numbers than take a turn each (the prompts' table locked
# instead): it waits for the worker's hand-over of one of them, and an ask of another waits
# for it; then each number is asked once.
BIG_BATCH = """
phones = [f"+1415888{n:04d}" for n in range(100)]
for phone in phones:
    awaiting(phone, "sms")
with at(7, 23):
    services.ask_to_confirm(phones[0], ["sms"])  # held until the morning
errors, committing = [], threading.Event()


def batch(wait=False):
    try:
        with transaction.atomic():
            services.queue_prompts({phone: ["sms"] for phone in phones})
            if wait:
                inside.set()
                committing.wait(60)
    except Exception as error:
        errors.append(type(error).__name__)


LocmemBackend.keep = slow
with at(8, 9):
    worker = beside(services.send_held_prompts)
    inside.wait(60)
    LocmemBackend.keep = keep
    importing = beside(batch)
    print("the batch waits:", wait_for_lock_waiters(1, unless=lambda: not importing.is_alive()))
    release.set()
    worker.join(60)
    importing.join(60)
    inside.clear()
    awaiting(phones[1], "calls")
    importing = beside(lambda: batch(wait=True))
    inside.wait(60)
    asking = beside(lambda: services.ask_to_confirm(phones[1], ["calls"]))
    print("the ask waits:", wait_for_lock_waiters(1, unless=lambda: not asking.is_alive()))
    committing.set()
    importing.join(60)
    asking.join(60)
    while services.send_held_prompts():
        pass
print("errors:", errors)
print("texts:", len(LocmemBackend.outbox), len(texts(phones[0])), len(texts(phones[1])))
print("the second asks about both:", "by text and calls" in texts(phones[1])[0]["body"])
print("held:", ConfirmationPrompt.objects.filter(sent_at=None, not_sent="").count())
"""


def lines(script: str, request) -> list[str]:
    """What `script` printed, run on a migrated database of its own."""
    return run(SETUP + script, request.getfixturevalue("migrated")).strip().splitlines()


def test_two_asks_of_one_number_at_once_hold_one_text(request):
    assert lines(TWO_ASKS, request) == [
        "the second waits: True", "card: held until its quiet hours",
        "held: ['sms calls']", "texts: 1",
    ]  # fmt: skip


def test_an_ask_while_the_worker_hands_over_the_same_question_sends_none(request):
    assert lines(ASK_DURING_HAND_OVER, request) == [
        "the ask waits: True", "texts: 1",
        "No text asked to confirm it: a text sent since the consent was recorded asks about it "
        "already.",
    ]  # fmt: skip


def test_workers_at_once_send_each_held_prompt_once(request):
    assert lines(WORKERS, request) == ["taken: 30", "texts: True"]


def test_a_prompt_asked_for_while_a_stop_holds_the_number_waits_and_is_not_sent(request):
    assert lines(STOP_FIRST, request) == [
        "the prompt waits: True", "texts: 0", "not sent: the number opted out of texts."
    ]  # fmt: skip


def test_a_stop_during_the_hand_over_waits_for_it(request):
    assert lines(STOP_DURING, request) == [
        "the STOP waits: True", "opted out meanwhile: False", "texts: 1", "opted out: True"
    ]  # fmt: skip


def test_two_imports_queueing_the_same_numbers_at_once_do_not_deadlock(request):
    assert lines(TWO_IMPORTS, request) == ["errors: []", "held: 40"]


def test_an_import_batch_of_many_numbers_waits_its_turn_with_sends_and_asks(request):
    assert lines(BIG_BATCH, request) == [
        "the batch waits: True", "the ask waits: True", "errors: []", "texts: 100 1 1",
        "the second asks about both: True", "held: 0",
    ]  # fmt: skip
