"""Frequency limits on marketing broadcasts: each state's own (Florida, Oklahoma, Maryland: 3
messages in 24 hours) and, when set, one of our own for every number. The preview counts who
they leave out, and each send applies them again, with what was sent since the launch."""

import pytest

from broadcasts import sending, services
from broadcasts.models import Broadcast
from broadcasts.policy import FREQUENCY_LIMIT
from contacts.models import Channel
from tests.broadcasts.engine import broadcast, launched, sent_earlier, sent_to
from tests.factories import ContactFactory

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


def test_only_the_last_24_hours_and_the_same_channel_count(
    manager, django_capture_on_commit_callbacks
):
    ContactFactory(phone=MIAMI)
    sent_earlier(MIAMI, hours_ago=2, times=2)
    sent_earlier(MIAMI, hours_ago=25)  # a day and an hour ago
    sent_earlier(MIAMI, channel=Channel.CALLS, hours_ago=1)
    launched(broadcast(), manager, django_capture_on_commit_callbacks)
    assert sent_to() == [MIAMI]


def test_a_contacts_own_state_is_the_one_that_counts(manager, django_capture_on_commit_callbacks):
    ContactFactory(phone=SAN_FRANCISCO, state="FL")
    ContactFactory(phone=MIAMI, state="CA")
    for phone in (SAN_FRANCISCO, MIAMI):
        sent_earlier(phone, hours_ago=2, times=3)
    launched(broadcast(), manager, django_capture_on_commit_callbacks)
    assert sent_to() == [MIAMI]


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
