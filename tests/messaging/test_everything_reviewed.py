"""A request to stop everything held back for review (in jest, for a while, with an
exception) holds calls too, as its clear form stops them: a cold review found such a review
held and would stop SMS alone, while calls kept reaching the number."""

import pytest

from contacts.models import Channel
from messaging.keywords import Intent, read


@pytest.mark.parametrize(
    "words",
    [
        "Opt me out of everything except texts",
        "Opt me out of everything for now",
        "Unsubscribe me from everything for a month",
        "Unsubscribe me from everything lol",
    ],
)
def test_a_reviewed_request_to_stop_everything_holds_calls_too(words):
    reading = read(words)
    assert reading.intent in (Intent.OPT_OUT, Intent.POSSIBLE_OPT_OUT)
    assert Channel.CALLS in reading.channels, reading
