"""Reading a reply with the phrases staff taught, and teaching one.

The built-in rules (messaging.keywords) come first where they decide: a keyword or a clear
request is an opt-out, START an opt-in, HELP help, whatever a phrase says. A phrase then
decides instead of them what they would leave to review or let pass: the next "pls take me
off ur stuff" is an opt-out once a reviewer confirmed one and kept its wording; the next
"stop by the shop" passes once one was dismissed so.
"""

from dataclasses import replace

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from messaging.keywords import Intent, Reading, channels_to_review, join_keywords, plain, read
from messaging.models import ReplyPhrase
from messaging.reply_patterns import CARRIER_KEYWORDS

# What the built-in rules decide alone.
DECIDED = {Intent.OPT_OUT, Intent.OPT_IN, Intent.JOIN, Intent.HELP, Intent.WRONG_NUMBER}
SAID = {
    Intent.OPT_OUT: "a request to stop",
    Intent.OPT_IN: "the contact's new consent",
    Intent.JOIN: "a request to receive texts",
    Intent.HELP: "a request for help",
    Intent.WRONG_NUMBER: "a wrong number",
}


def _closed_to_phrases(wording: str, reading: Reading) -> bool:
    """Whether no phrase may decide a reply: the built-in rules decide it (a keyword, a clear
    request, START, HELP), or it is a carrier keyword with emoji or punctuation around it
    ("START 🙂", which the database would not take as an opt-in; "STOP 😂", reviewed)."""
    keywords = CARRIER_KEYWORDS | join_keywords()
    return reading.intent in DECIDED or not wording or wording.upper() in keywords


def may_teach(words: str) -> bool:
    """Whether a phrase may decide the next reply worded as `words` (`teach` would refuse)."""
    return not _closed_to_phrases(plain(words), read(words))


def read_reply(body: str) -> tuple[Reading, ReplyPhrase | None]:
    """What a reply asks for, by the built-in rules and the phrases staff taught, and the
    phrase that decided it, if one did."""
    reading, wording = read(body), plain(body)
    if _closed_to_phrases(wording, reading):
        return reading, None
    phrase = ReplyPhrase.objects.select_related("added_by").filter(wording=wording).first()
    if phrase is None:
        return reading, None
    # A wrong number stays one, whatever the phrase says of the rest: its consent goes.
    wrong = reading.wrong_number or reading.intent == Intent.WRONG_NUMBER
    if phrase.meaning == ReplyPhrase.Meaning.OPT_OUT:
        channels = channels_to_review(wording)
        opt_out = Reading(Intent.OPT_OUT, phrase.described, reading.language, channels)
        return replace(opt_out, wrong_number=wrong), phrase
    return Reading(Intent.OTHER, phrase.described, reading.language, wrong_number=wrong), phrase


def teach(*, words: str, meaning: ReplyPhrase.Meaning, by, may_change: bool) -> ReplyPhrase:
    """Read the next reply worded as `words` as `meaning`. A wording taught before is taught
    anew only if `may_change`. Refused, with the reason (ValidationError), where no phrase
    may decide, or where there are no words to keep."""
    if "\x00" in words:
        raise ValidationError("The reply holds a NUL character.")
    wording = plain(words)
    if not wording:
        raise ValidationError("There are no words to keep: only punctuation or emoji.")
    limit = ReplyPhrase._meta.get_field("wording").max_length
    if len(wording) > limit:  # plain() may lengthen: "½" is "1⁄2"
        raise ValidationError(f"Too long to keep as a phrase: {limit} characters at most.")
    reading = read(words)
    if _closed_to_phrases(wording, reading):
        if reading.intent in DECIDED:
            reason = f"is always read as {SAID[reading.intent]} ({reading.matched})"
        else:
            reason = f"holds the keyword {wording.upper()}, which is read by the rules alone"
        raise ValidationError(f"“{words.strip()}” {reason}: a phrase cannot change that.")
    kept = ReplyPhrase.objects.filter(wording=wording).first()
    if kept and kept.meaning != meaning and not may_change:
        raise ValidationError(
            f"“{kept.example}” is kept already as {kept.get_meaning_display().lower()}; only "
            "someone who may change phrases can change it."
        )
    try:
        with transaction.atomic():  # a savepoint: a race lost leaves the caller's work whole
            phrase, _ = ReplyPhrase.objects.update_or_create(
                wording=wording,
                defaults={
                    "example": words.strip(),
                    "meaning": meaning,
                    "added_by": by,
                    "added_at": timezone.now(),
                },  # fmt: skip
            )
    except IntegrityError as race:
        raise ValidationError("Someone kept this wording at the same moment: look again.") from race
    return phrase
