"""A cold review of the rules for requests to stop calls (399787b) found ordinary replies
made hard opt-outs ("I never want another text to be late", "I asked to be removed but I
changed my mind"), and plain requests to stop prerecorded or automated calls still read as
ordinary replies."""

import pytest

from contacts.models import Channel
from messaging.keywords import Intent, read


@pytest.mark.parametrize(
    "words",
    [
        # A complaint about lateness / loss, not a request to stop: a hard SMS opt-out.
        "I never want another text to be late, thanks",
        "I never want another message lost, send them to my email too",
        # Tells of a past request and takes it back: a hard SMS opt-out, never undone by staff.
        "I asked to be removed but I changed my mind, please keep me",
        "I asked you to be removed? No I didn't",
    ],
)
def test_ordinary_reply_is_not_a_hard_opt_out(words):
    assert read(words).intent != Intent.OPT_OUT, read(words)


@pytest.mark.parametrize(
    "words",
    [
        "No prerecorded messages please",  # the commit names (pre)recorded messages as calls
        "No recorded messages",
        "No automated calls",
        "No telemarketing calls",
        "No sales calls",
        "Don't leave voicemails",
    ],
)
def test_request_to_stop_calls_holds_the_calls(words):
    reading = read(words)
    assert reading.intent in (Intent.OPT_OUT, Intent.POSSIBLE_OPT_OUT), reading
    assert Channel.CALLS in reading.channels, reading
