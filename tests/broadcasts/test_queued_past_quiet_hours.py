"""A text handed to Twilio is not sent after its recipient's quiet hours begin, however long
it waits in Twilio's queue: Twilio queues what a sender cannot send at once (a US long code
sends one segment a second), for up to 10 hours by default, so a broadcast handed over at
20:30 could reach its contacts at midnight. Each text carries the seconds until its window
closes as its validity period; Twilio fails one still queued then (error 30036)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from broadcasts import sending, services
from contacts.models import Channel
from messaging.backends import LocmemBackend
from tests.broadcasts.engine import broadcast
from tests.factories import ContactFactory, UserFactory
from tests.messaging.conftest import post_signed  # noqa: F401

pytestmark = pytest.mark.usefixtures("db", "quiet_hours")

EASTERN = ZoneInfo("America/New_York")
NEW_YORK, MIAMI, TEXAS = "+12125550101", "+13055550101", "+15125550101"


def sent() -> dict[str, int | None]:
    return {message["to"]: message["valid_for"] for message in LocmemBackend.outbox}


def test_each_text_may_wait_in_the_queue_only_until_its_window_closes(manager):
    ContactFactory(phone=NEW_YORK)  # 08:00-21:00 Eastern
    ContactFactory(phone=MIAMI)  # Florida: 08:00-20:00
    with time_machine.travel(datetime(2026, 12, 7, 19, 30, tzinfo=EASTERN), tick=False):
        texts = broadcast(Channel.SMS)
        services.launch(broadcast=texts, by_user=manager)
        sending.run(texts.pk)
    assert sent() == {NEW_YORK: 90 * 60, MIAMI: 30 * 60}


def test_an_urgent_text_keeps_no_quiet_hours_and_no_limit(manager):
    ContactFactory(phone=NEW_YORK)
    with time_machine.travel(datetime(2026, 12, 7, 19, 30, tzinfo=EASTERN), tick=False):
        urgent = broadcast(Channel.SMS, purpose="informational", urgent=True,
                           urgent_reason="The office is flooded")  # fmt: skip
        services.launch(broadcast=urgent, by_user=manager)
        sending.run(urgent.pk)
    assert sent() == {NEW_YORK: None}


def test_a_test_send_may_wait_only_until_the_window_closes(db):
    manager = UserFactory(role="Manager")
    with time_machine.travel(datetime(2026, 12, 7, 20, 45, tzinfo=EASTERN), tick=False):
        draft = broadcast(Channel.SMS)
        sending.send_test(draft, phone=NEW_YORK, by_user=manager)
    assert sent() == {NEW_YORK: 15 * 60}


def test_a_text_that_expired_in_the_queue_says_why_it_was_not_sent(manager, post_signed):  # noqa: F811
    ContactFactory(phone=NEW_YORK)
    with time_machine.travel(datetime(2026, 12, 7, 20, 59, tzinfo=EASTERN), tick=False):
        texts = broadcast(Channel.SMS)
        services.launch(broadcast=texts, by_user=manager)
        sending.run(texts.pk)
    [message] = LocmemBackend.outbox
    status = {"MessageSid": message["sid"], "MessageStatus": "failed", "ErrorCode": "30036",
              "To": NEW_YORK}  # fmt: skip
    assert post_signed("/webhooks/twilio/status/", status).status_code == 200
    recipient = texts.recipients.get()
    assert recipient.status == "failed"
    assert recipient.error.startswith("Not sent: it waited in Twilio's queue until quiet hours")
