"""Reading a reply with the phrases staff taught, and teaching one.

The built-in rules (messaging.keywords) come first where they decide: a keyword or a clear
request is an opt-out, START an opt-in, HELP help, whatever a phrase says. A phrase then
decides what they would leave to review or let pass: the next "pls take me off ur stuff" is
an opt-out once a reviewer confirmed one and kept its wording; the next "stop by the shop"
passes once one was dismissed so.
"""

from django.core.exceptions import ValidationError
from django.utils import timezone

from messaging.keywords import CARRIER_KEYWORDS, Intent, Reading, plain, read
from messaging.models import ReplyPhrase

# What the built-in rules decide alone.
DECIDED = {Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP}


def _decided_by_rules(wording: str, reading: Reading) -> bool:
    """Whether the built-in rules decide alone: a keyword, a clear request, START or HELP,
    also with emoji or punctuation around them ("START 🙂", which the database would not take
    as an opt-in, is no phrase's either)."""
    return reading.intent in DECIDED or not wording or wording.upper() in CARRIER_KEYWORDS


def read_reply(body: str) -> Reading:
    """What a reply asks for, by the built-in rules and the phrases staff taught."""
    reading, wording = read(body), plain(body)
    if _decided_by_rules(wording, reading):
        return reading
    phrase = ReplyPhrase.objects.filter(wording=wording).first()
    if phrase is None:
        return reading
    if phrase.meaning == ReplyPhrase.Meaning.OPT_OUT:
        return Reading(Intent.OPT_OUT, phrase.described, reading.language)
    return Reading(Intent.OTHER, phrase.described, reading.language)


def teach(*, words: str, meaning: ReplyPhrase.Meaning, by, may_change: bool) -> ReplyPhrase:
    """Read the next reply worded as `words` as `meaning`. A wording taught before is taught
    anew only if `may_change`. Refused (ValidationError) where the built-in rules decide
    alone, or where there are no words."""
    if "\x00" in words:
        raise ValidationError("The reply holds a NUL character.")
    wording = plain(words)
    if not wording:
        raise ValidationError("There are no words to keep: only punctuation or emoji.")
    if len(words.strip()) > ReplyPhrase._meta.get_field("wording").max_length:
        raise ValidationError("Too long to keep as a phrase: 500 characters at most.")
    reading = read(words)
    if _decided_by_rules(wording, reading):
        said = {
            Intent.OPT_OUT: "a request to stop",
            Intent.OPT_IN: "the contact's new consent",
            Intent.HELP: "a request for help",
        }.get(reading.intent, "what its keyword says")
        why = f" ({reading.matched})" if reading.matched else ""
        raise ValidationError(
            f"“{words.strip()}” is always read as {said}{why}: a phrase cannot change that."
        )
    kept = ReplyPhrase.objects.filter(wording=wording).first()
    if kept and kept.meaning != meaning and not may_change:
        raise ValidationError(
            f"“{kept.example}” is kept already as {kept.get_meaning_display().lower()}; only "
            "someone who may change phrases can change it."
        )
    phrase, _ = ReplyPhrase.objects.update_or_create(
        wording=wording,
        defaults={
            "example": words.strip(),
            "meaning": meaning,
            "added_by": by,
            "added_at": timezone.now(),
        },
    )
    return phrase
