"""The twilio backend, through the official SDK, against a local stand-in for Twilio's API."""

import pytest

from messaging.backends import (
    ConsoleBackend,
    LocmemBackend,
    MaybeSent,
    RecipientOptedOut,
    RetryLater,
    SendError,
    get_backend,
)
from messaging.models import OutboundMessage
from tests.twilio_standin import StandIn, unreachable_address


def test_it_sends_through_the_sdk(twilio):
    assert twilio.send_sms(to="+14155550123", body="Hello") == "SM0123456789abcdef0123456789abcdef"
    path, form = StandIn.requests[0]
    assert path == "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json"
    assert form == {
        "To": ["+14155550123"],
        "Body": ["Hello"],
        "From": ["+18885550199"],
        "StatusCallback": ["http://127.0.0.1:8000/webhooks/twilio/status/"],
    }


def test_it_uses_the_messaging_service_when_set(twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    twilio.send_sms(to="+14155550123", body="Hello")
    assert StandIn.requests[0][1]["MessagingServiceSid"] == ["MG" + "1" * 32]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("opted_out", RecipientOptedOut),
        ("too_many", RetryLater),
        ("server_error", MaybeSent),
        ("slow", MaybeSent),
        ("not_json", MaybeSent),
        ("no_sid", MaybeSent),
        ("bad_number", SendError),
    ],
)
def test_each_failure_says_what_it_means(twilio, answer, error):
    StandIn.answers = [answer]
    with pytest.raises(error) as raised:
        twilio.send_sms(to="+14155550123", body="Hello")
    assert type(raised.value) is error
    assert len(StandIn.requests) == 1  # never retried by the SDK


def test_the_console_backend_prints_and_keeps_an_outbox(db, capsys):
    sid = ConsoleBackend().send_sms(to="+14155550123", body="Hello there")
    assert "[sms to +14155550123] Hello there" in capsys.readouterr().out
    assert OutboundMessage.objects.get(sid=sid).body == "Hello there"


def test_the_locmem_backend_keeps_what_was_sent():
    LocmemBackend.outbox.clear()
    LocmemBackend().make_call(to="+14155550123", twiml="<Response/>")
    assert LocmemBackend.outbox[0]["kind"] == "call"


def test_a_provider_that_cannot_be_reached_never_saw_the_message(twilio, settings):
    """A refused connection: safe to send again, not "may have been sent" (a network outage
    would make every message it met one never sent again)."""
    settings.TWILIO_API_BASE_URL = unreachable_address()
    with pytest.raises(RetryLater, match="could not be reached"):
        get_backend().send_sms(to="+14155550123", body="Hello")


def test_a_text_s_validity_period_reaches_twilio_within_its_bounds(twilio):
    """Twilio takes 1 to 36,000 seconds: a text queued longer is not sent."""
    for valid_for, sent in [(3600, "3600"), (0, "1"), (50_000, "36000")]:
        StandIn.requests.clear()
        StandIn.answers = ["sent"]
        twilio.send_sms(to="+14155550123", body="Hello", valid_for=valid_for)
        assert StandIn.requests[0][1]["ValidityPeriod"] == [sent]
    StandIn.requests.clear()
    StandIn.answers = ["sent"]
    twilio.send_sms(to="+14155550123", body="Hello")
    assert "ValidityPeriod" not in StandIn.requests[0][1]  # Twilio's own, 10 hours
