"""With the shipped settings, a STOP texted after the FCC's compliance date for "revoke all"
(31 January 2027, FCC DA 26-12) stops calls too: the next voice broadcast calls nobody. A cold
review found the date empty by default, so that the rule never came into force unless an
operator set it."""

from datetime import UTC, datetime

import time_machine

from broadcasts import sending
from broadcasts import services as broadcast_services
from contacts.models import Channel
from tests.broadcasts.engine import broadcast, sent_to
from tests.factories import ContactFactory
from tests.messaging.conftest import post_signed, sms  # noqa: F401

PHONE = "+14155550123"
BEFORE, AFTER = datetime(2027, 1, 29, 15, tzinfo=UTC), datetime(2027, 2, 1, 15, tzinfo=UTC)


def a_call_after_a_stop(sms, manager, at: datetime) -> list:  # noqa: F811
    ContactFactory(phone=PHONE)
    with time_machine.travel(at, tick=False):
        sms("STOP", phone=PHONE)
        voice = broadcast(Channel.CALLS)
        broadcast_services.launch(broadcast=voice, by_user=manager)
        sending.run(voice.pk)
    return sent_to()


def test_a_stop_after_31_january_2027_stops_calls_too(sms, manager):  # noqa: F811
    assert a_call_after_a_stop(sms, manager, AFTER) == []


def test_a_stop_before_it_stops_texts_alone(sms, manager):  # noqa: F811
    assert a_call_after_a_stop(sms, manager, BEFORE) == [PHONE]


def test_never_keeps_the_channel_scope(sms, manager, settings):  # noqa: F811
    """Should the FCC drop the rule, "never" is no such day (an empty value is the default)."""
    settings.OPT_OUT_SCOPE_ALL_FROM = "never"
    assert a_call_after_a_stop(sms, manager, AFTER) == [PHONE]
    from django.core import checks

    assert not [e for e in checks.run_checks() if e.id == "messaging.E002"]
