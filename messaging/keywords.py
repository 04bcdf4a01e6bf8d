"""What an inbound SMS asks for.

A bare keyword (case and surrounding spaces and punctuation ignored):
- opt-out: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, OPT OUT;
- opt-in, the contact's new consent: START, UNSTOP, YES;
- help: HELP, INFO.

Under the FCC's rule any reasonable request revokes consent, so a message that is not a bare
keyword but clearly asks to stop (CLEAR_REQUESTS, below) is an opt-out too. One that only
contains an opt-out word ("cancel my appointment", "stop by tomorrow?") is a POSSIBLE
opt-out: staff review it before anything changes.
"""

import re
from enum import StrEnum

from contacts.models import OPT_IN_PUNCTUATION, OPT_IN_WORDS, opt_in_words


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    POSSIBLE_OPT_OUT = "possible_opt_out"
    OTHER = "other"


OPT_OUT_KEYWORDS = {
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT",
}  # fmt: skip
OPT_IN_KEYWORDS = set(OPT_IN_WORDS)  # the database checks an opt-in's words against these
HELP_KEYWORDS = {"HELP", "INFO"}

# Phrases that clearly ask to stop, matched as whole words anywhere in the message.
CLEAR_REQUESTS = [
    r"stop (texting|messaging|sending|contacting|calling|spamming)",
    r"(do not|don'?t|dont) (text|message|contact|call|send)",
    r"no more (texts|messages|sms|calls)",
    r"(take|remove|delete) me (off|from)",
    r"(unsubscribe|opt) me( out)?",
    r"i want to (unsubscribe|opt out|stop)",
    r"leave me alone",
    r"stop all (texts|messages)",
]
_CLEAR = re.compile(r"\b(" + "|".join(CLEAR_REQUESTS) + r")\b", re.IGNORECASE)
_WORDS = {keyword for keyword in OPT_OUT_KEYWORDS if " " not in keyword}
_PUNCTUATION = OPT_IN_PUNCTUATION  # spaces of every kind, and punctuation


def normalise(body: str) -> str:
    """Upper case, single spaces, no punctuation around: " Opt-out. " -> "OPT OUT"."""
    return " ".join(body.strip(_PUNCTUATION).replace("-", " ").split()).upper()


def classify(body: str) -> Intent:
    text = normalise(body)
    if text in OPT_OUT_KEYWORDS:
        return Intent.OPT_OUT
    if opt_in_words(body) in OPT_IN_KEYWORDS:  # as the database will check it
        return Intent.OPT_IN
    if text in HELP_KEYWORDS:
        return Intent.HELP
    if _CLEAR.search(body):
        return Intent.OPT_OUT
    words = {word.strip(_PUNCTUATION) for word in text.split()}
    if words & _WORDS or "OPT OUT" in text:
        return Intent.POSSIBLE_OPT_OUT
    return Intent.OTHER
