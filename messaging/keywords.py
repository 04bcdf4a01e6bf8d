"""What an inbound SMS asks for, and which rule says so.

Since April 2025 a contact may revoke consent "by any reasonable means" (47 CFR
64.1200(a)(10)). A reply is read, in English and Spanish, in this order:

1. The carriers' keywords alone (case, spaces and punctuation around them ignored): opt-out
   STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, OPT OUT; opt-in, the
   contact's new consent, START, UNSTOP, YES; help, HELP, INFO; and a request to join, JOIN,
   SUBSCRIBE and the business's own keywords (settings.CONSENT_KEYWORDS).
2. A clear request is an opt-out at once:
   - an opt-out keyword (English or Spanish: ALTO, PARAR, CANCELAR, BAJA, NO MÁS), maybe
     repeated, with politeness, emphasis, punctuation or emoji around it ("stop please",
     "STOP STOP STOP", "Alto por favor 🛑"), also as the last sentence of a longer message,
     or any sentence when what follows says it is meant ("STOP. I never signed up");
   - a single word within one typing error of STOP, or two of UNSUBSCRIBE ("Stpo",
     "unsubscibe"), unless it is a word of its own ("shop", "top": those are reviewed);
   - a request to stop messages or remove the number, with or without a keyword ("take my
     number off your list", "no me manden más mensajes"), unless a negation comes just
     before it in its sentence ("don't stop texting me").
3. A message that may be a revocation goes to Possible opt-outs, for staff to review:
   - a keyword that may mean something else with courtesy around it ("ok cancel": the
     appointment?), or as a sentence with more after it ("Stop, I'm on my way");
   - a request said in jest ("stop texting me lol"), for a while ("until Monday"), for
     another way ("text me instead"), about someone else ("stop texting my son"), another
     number or list ("the waiting list") or something else ("opt out of the insurance"), or
     that keeps some messages ("stop the promos but keep the reminders"): `HELD_BACK`;
   - an opt-out keyword in a longer message, a complaint about how many.
   A wrong number ("Wrong number", "I'm not Dana", "Número equivocado") is no request to stop:
   the number no longer reaches whoever consented, whose consent it voids (messaging.inbound);
   one that also says something of the above ("Wrong number, how did you get this number?")
   is reviewed, and voids the consent too.
4. Anything else is an ordinary reply, including a keyword inside another meaning ("can you
   stop by at 3?", "cancel my appointment").

A message may hold several readings (a request held back, then a STOP as its last sentence).
The clear requests are an opt-out of their channels; what else the message says is read by
the same steps, and where it would go to review (a request held back, a keyword in a longer
message, a complaint) or names a channel the opt-out leaves, those channels are reviewed
beside it ("Stop calling me after 9pm. Unsubscribe me": texts stop, calls are reviewed); a
wrong number voids the number's consent beside it. Otherwise a review wins over an ordinary
reply.

Staff decisions add phrases (messaging.phrases) that decide, instead of steps 3 and 4, a
reviewed wording as an opt-out or an ordinary reply; they never undo steps 1 and 2.

The words and patterns are in messaging.reply_patterns.

Each reading says which rule matched ("keyword STOP with “please”"), kept with what it did:
the number's opt-out and its ledger rows, or the possible opt-out to review.
"""

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum

from django.conf import settings

from contacts.models import MATCHED_LENGTH, Channel, opt_in_words
from messaging import reply_patterns as patterns


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    JOIN = "join"
    HELP = "help"
    POSSIBLE_OPT_OUT = "possible_opt_out"
    WRONG_NUMBER = "wrong_number"
    OTHER = "other"


@dataclass(frozen=True)
class Reading:
    """What a reply asks for (`intent`), the rule that says so (`matched`, for people), the
    language to answer in, and for an opt-out, the channels it asks to stop: SMS, unless it
    names calls alone ("stop calling me")."""

    intent: Intent
    matched: str = ""
    language: str = "en"
    channels: tuple[Channel, ...] = field(default=(Channel.SMS,))
    # A reply to review that also says the number is a wrong one ("Wrong number, how did you
    # get this number?"): reviewed, and the number's consent voided meanwhile.
    wrong_number: bool = False
    # Beside an opt-out: what else the reply asks that may stop the channels it leaves ("Stop
    # calling me after 9pm. Unsubscribe me" stops texts; its calls wait for a person).
    to_review: "Reading | None" = None


def normalise(body: str) -> str:
    """Upper case, single spaces, no punctuation around: " Opt-out. " -> "OPT OUT"."""
    return " ".join(body.strip(patterns.PUNCTUATION).replace("-", " ").split()).upper()


def plain(text: str) -> str:
    """Lower-case words without accents, apostrophes, punctuation or emoji, one space apart:
    "¡No MÁS mensajes! 🛑" -> "no mas mensajes"; "Don't" -> "dont"."""
    text = unicodedata.normalize("NFKD", text).casefold()  # "𝐒𝐓𝐎𝐏" -> "stop"
    text = "".join(  # accents, and zero-width characters ("S\u200bTOP")
        ch for ch in text if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    )
    text = re.sub(r"['’‘`´]", "", text)
    return " ".join(re.findall(r"[^\W_]+", text))


ASKED = re.compile(r"[?¿？]")


def read(body: str) -> Reading:
    """The built-in reading of a reply (steps 1 to 4 above, without staff phrases). A reply
    to review holds and would stop SMS, which it came by, and calls too where it names them
    (`channels_to_review`); what an opt-out leaves to review, the channels it left."""
    reading = _read(body)
    if reading.intent == Intent.POSSIBLE_OPT_OUT:
        return replace(reading, channels=channels_to_review(plain(body)))
    return reading


def _read(body: str, *, beside: bool = True) -> Reading:
    """`read` without the review's channels. `beside`: whether to read what an opt-out leaves
    (`_rest`), which reads its text once more, not beside."""
    text = normalise(body)
    if text in patterns.OPT_OUT_KEYWORDS:
        return Reading(Intent.OPT_OUT, f"keyword {text}")
    # As the database will check it; but asked ("Yes?", "Start?"), it is no one's consent.
    if opt_in_words(body) in patterns.OPT_IN_KEYWORDS and not ASKED.search(body):
        return Reading(Intent.OPT_IN, f"keyword {opt_in_words(body)}")
    if text in patterns.HELP_KEYWORDS:
        return Reading(Intent.HELP, f"keyword {text}")
    words = plain(body)
    tokens = words.split()
    if len(tokens) > 2 and all(len(token) == 1 for token in tokens):
        words = "".join(tokens)  # "s t o p"
    sentences = [each for each in map(plain, patterns.SENTENCES.split(body)) if each]
    jest = bool(patterns.JOKING.search(body))
    found = [
        _keyword_alone(words, jest),
        *_keywords_as_sentences(sentences, jest),
        *_requests(sentences, jest),
    ]
    opt_outs = [reading for reading in found if reading and reading.intent == Intent.OPT_OUT]
    if opt_outs:
        # Each request of the reply counts: "Stop calling me. STOP" stops calls and texts.
        asked = {channel for reading in opt_outs for channel in reading.channels}
        opt_out = replace(
            opt_outs[0],
            channels=tuple(c for c in Channel if c in asked),
            # "Wrong number, STOP", "Stop calling me. I'm not Dana": the consent goes too.
            wrong_number=_wrong_number_beside(body, words),
        )
        keyword_alone = found[0]
        if keyword_alone or not beside:
            return opt_out
        return replace(opt_out, to_review=_left_to_review([*found, _rest(body, sentences)], asked))
    # After the clear requests: a business's own keyword that a STOP misspelled could be
    # ("STOPP") stays a request to stop.
    if text in join_keywords() and not ASKED.search(body):
        return Reading(Intent.JOIN, f"keyword {text}")
    for reading in found:
        if reading and reading.intent == Intent.POSSIBLE_OPT_OUT:
            return reading
    return _unclear(body, words)


def _left_to_review(found: list[Reading | None], asked: set[Channel]) -> Reading | None:
    """Beside the clear requests, which stop `asked`: the first reading to review that would
    hold a channel they leave, holding those channels."""
    for reading in found:
        if reading and reading.intent == Intent.POSSIBLE_OPT_OUT:
            left = tuple(channel for channel in reading.channels if channel not in asked)
            if left:
                return replace(reading, channels=left)
    return None


def _rest(body: str, sentences: list[str]) -> Reading | None:
    """What a reply says beside its clear requests (the keywords said as sentences, and the
    requests that nothing holds back, cut out), for review holding what a review of it would:
    where it would be reviewed, or asks to stop on its own ("Stop calling me and
    unsubscribe"), names a channel ("Stop calling me, and the texts too") or everything ("…
    Don't send anything either"), or the reply holds a stop sign; else None."""
    rest = " . ".join(
        part
        for position, sentence in enumerate(sentences)
        if not _keyword_sentence(sentence)
        and (part := _without_clear_requests(_corrected(sentence), sentences[position + 1 :]))
    )
    words = plain(rest)
    reading = _read(rest, beside=False) if words else Reading(Intent.OTHER)
    if reading.intent in (Intent.OPT_OUT, Intent.POSSIBLE_OPT_OUT):
        matched = reading.matched
    elif patterns.TEXTS.search(words) or _names_calls(words):
        matched = f"“{_shortened(words, 60)}” said beside it"
    elif everything := patterns.EVERYTHING.search(words):
        matched = f"“{everything.group()}” said beside it"
    elif any(sign in body for sign in patterns.STOP_SIGNS | patterns.OTHER_STOP_SIGNS):
        matched = "a stop sign beside it"
    else:
        return None
    return Reading(
        Intent.POSSIBLE_OPT_OUT,
        f"and {matched}"[:MATCHED_LENGTH],
        reading.language,
        channels_to_review(words),
    )


def _keyword_sentence(sentence: str) -> bool:
    """A keyword with courtesy that `_keywords_as_sentences` reads (not an ambiguous one:
    "Cancel" after a request is read again as the rest)."""
    found = _keyword_with_courtesy(sentence, typos=False)
    return bool(found) and found[0] not in patterns.AMBIGUOUS_KEYWORDS


def _without_clear_requests(sentence: str, later: list[str]) -> str:
    """`sentence` with its requests to stop that nothing holds back cut out."""
    weighed = _weighed(sentence, later, jest=False)
    return _cut(sentence, [match for match, _, why in weighed if not why]).strip()


def _cut(sentence: str, matches: list[re.Match]) -> str:
    """`sentence` with what `matches` matched blanked out (they may overlap)."""
    kept = list(sentence)
    for match in matches:
        kept[match.start() : match.end()] = [" "] * (match.end() - match.start())
    return "".join(kept)


def join_keywords() -> set[str]:
    """The replies that ask to receive texts, beside START: JOIN, SUBSCRIBE, and the
    business's own (settings.CONSENT_KEYWORDS), as normalise() writes them."""
    return patterns.JOIN_KEYWORDS | {normalise(word) for word in settings.CONSENT_KEYWORDS}


def _keyword_alone(words: str, jest: bool) -> Reading | None:
    """The whole message is an opt-out keyword, maybe repeated or misspelled, with nothing
    but courtesy around it."""
    found = _keyword_with_courtesy(words, typos=True)
    if not found:
        return None
    keyword, courtesy, reading = found
    if jest:
        return _review(f"{reading.matched}, maybe in jest", reading.language)
    if (
        keyword in patterns.COURTEOUS_AMBIGUITY
        and courtesy
        and not courtesy & patterns.SAYS_WHAT_IT_IS
    ):
        return _review(f"{reading.matched}: “{keyword}” may mean something else")
    return reading


def _keywords_as_sentences(sentences: list[str], jest: bool) -> list[Reading]:
    """Each sentence of several that is a keyword with courtesy: an opt-out as the last one,
    or when what follows says it is meant; reviewed otherwise ("Stop, I'm on my way")."""
    found = []
    for position, sentence in enumerate(sentences if len(sentences) > 1 else []):
        keyword_found = _keyword_with_courtesy(sentence, typos=False)
        if not keyword_found or keyword_found[0] in patterns.AMBIGUOUS_KEYWORDS:
            continue
        keyword, _, reading = keyword_found
        rest = " ".join(sentences[position + 1 :])
        if jest:
            found.append(_review(f"{reading.matched}, maybe in jest", reading.language))
        elif not rest:
            matched = f"{reading.matched}, as the last sentence"
            found.append(Reading(Intent.OPT_OUT, matched, reading.language))
        elif keyword in patterns.UNMISTAKABLE or patterns.IMPATIENT.search(rest):
            matched = f"{reading.matched}, as a sentence"
            found.append(Reading(Intent.OPT_OUT, matched, reading.language))
        else:
            matched = f"{reading.matched}, as a sentence with more after it"
            found.append(_review(matched, reading.language))
    return found


def _keyword_with_courtesy(words: str, *, typos: bool) -> tuple[str, set[str], Reading] | None:
    """The keyword of `words`, the courtesy that comes with it, and their reading, when they
    hold an opt-out keyword, maybe repeated (or with `typos`, misspelled), and nothing but
    courtesy."""
    keywords, courtesy, typo = [], [], ""
    tokens, i = words.split(), 0
    while i < len(tokens):
        for size in (3, 2, 1):
            phrase = " ".join(tokens[i : i + size])
            if phrase in patterns.KEYWORDS:
                keywords.append(phrase)
                break
            if phrase in patterns.COURTESY or (
                size == 1 and _squeezed(phrase) in patterns.COURTESY  # "pleeease"
            ):
                courtesy.append(phrase if phrase in patterns.COURTESY else _squeezed(phrase))
                break
        else:
            size, token = 1, tokens[i]
            squeezed = _squeezed(token)  # "stooop"
            if token not in patterns.OWN_WORDS and squeezed in patterns.KEYWORDS:
                keywords.append(squeezed)
            elif typos and not typo and (target := _typo_of(token)):
                keywords.append(target)
                typo = token
            else:
                return None
        i += size
    if not keywords:
        return None
    keyword = keywords[0]
    spanish = patterns.KEYWORDS[keyword] == "es" or any(
        patterns.COURTESY[word] == "es" for word in courtesy
    )
    if typo:
        matched = f"one typing error from {keyword.upper()}: “{_shortened(typo, 30)}”"
    else:
        matched = f"keyword {keyword.upper()}"
    if courtesy:
        matched += _shortened(" with “" + " ".join(courtesy), 80) + "”"
    if len(keywords) > 1:
        matched += " repeated"
    return keyword, set(courtesy), Reading(Intent.OPT_OUT, matched, "es" if spanish else "en")


def _typo_of(token: str) -> str:
    """The keyword that `token` misspells ("stpo" -> "stop"), or ""."""
    if token in patterns.OWN_WORDS or token in patterns.KEYWORDS:
        return ""
    squeezed = _squeezed(token)
    for target, (errors, start) in patterns.TYPO_TARGETS.items():
        near = len(squeezed) >= 3 and abs(len(squeezed) - len(target)) <= errors
        if near and squeezed.startswith(start) and typing_errors(squeezed, target) <= errors:
            return target
    return ""


def _squeezed(token: str) -> str:
    """`token` with each run of a letter made one: "stoooop" -> "stop"."""
    return re.sub(r"(.)\1+", r"\1", token)


def typing_errors(a: str, b: str) -> int:
    """How many letters typed wrong, left out, added or swapped with the next turn `a` into
    `b` (the optimal string alignment distance)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, previous2[j - 2] + 1)
            row.append(cost)
        previous2, previous = previous, row
    return previous[-1]


def _corrected(words: str) -> str:
    """`words` with misspelled keywords spelled right: "stpo texting me" -> "stop texting
    me"; a word that ends as a verb's form is left as it is ("unsubscribed")."""
    return " ".join(_spelled_right(token) for token in words.split())


def _spelled_right(token: str) -> str:
    if _squeezed(token) in patterns.KEYWORDS and token not in patterns.OWN_WORDS:
        return _squeezed(token)
    if token.endswith(("ed", "ing")):
        return token
    return _typo_of(token) or token


def _requests(sentences: list[str], jest: bool) -> list[Reading]:
    """The requests to stop of each sentence (`_weighed`): those that nothing holds back are
    an opt-out of the channels they ask (`channels_asked`); the others are reviewed
    ("unsubscribe me and stop calling me after 9pm": texts stop, calls are reviewed)."""
    found = []
    for position, sentence in enumerate(sentences):
        sentence = _corrected(sentence)
        weighed = _weighed(sentence, sentences[position + 1 :], jest)
        clear = [(match, language) for match, language, why in weighed if not why]
        if clear:
            # What the requests held back name is theirs: "stop texting me until Monday and
            # stop calling me" asks to stop calls, and its texts are reviewed.
            unheld = _cut(sentence, [match for match, _, why in weighed if why])
            named = {c for match, _ in clear for c in channels_asked(match.group(), unheld)}
            channels = tuple(channel for channel in Channel if channel in named)
            first, language = clear[0]
            found.append(Reading(Intent.OPT_OUT, _quoted(first), language, channels))
        found += [
            _request_to_review(match, why, language, sentence)
            for match, language, why in weighed
            if why
        ]
    return found


def _weighed(sentence: str, later: list[str], jest: bool) -> list[tuple[re.Match, str, str]]:
    """The requests to stop of a sentence (corrected), in the order written, each with its
    language and why a person should read it ("" if it is clear): said in jest; held back by
    its words or those after it (`patterns.HELD_BACK`); or coming after one held back in its
    sentence, whose hold may go on (`patterns.HOLDS_THAT_GO_ON`: "stop calling me after 9pm
    and stop texting me too")."""
    weighed, held = [], ""
    in_order = sorted(_requests_with_language(sentence), key=lambda found: found[0].start())
    for match, language in in_order:
        if jest:
            why = ", maybe in jest"
        elif reason := _held_back(match.group(), _after(match, sentence, later)):
            why = f" that {reason}"
            if reason in patterns.HOLDS_THAT_GO_ON:
                held = why
        else:
            why = held and f" after a request{held}"
        weighed.append((match, language, why))
    return weighed


def _after(request: re.Match, sentence: str, later: list[str]) -> str:
    """What the reply says after `request`: the rest of its sentence, then the later ones."""
    return " ".join([sentence[request.end() :], *later])


def _quoted(request: re.Match) -> str:
    return _shortened(f"request “{request.group()}", 120) + "”"


def _request_to_review(request: re.Match, why: str, language: str, sentence: str) -> Reading:
    """A request to stop for a person to read, holding what a review of its sentence alone
    would hold (`channels_to_review`)."""
    return replace(_review(_quoted(request) + why, language), channels=channels_to_review(sentence))


def _requests_with_language(sentence: str) -> Iterator[tuple[re.Match, str]]:
    """Every request to stop in `sentence` that no negation just before it turns around
    ("don't stop texting me"), and its language."""
    for pattern, language in patterns.CLEAR:
        for match in pattern.finditer(sentence):
            before = sentence[: match.start()]
            negated = patterns.NEGATED.search(before) or (
                language == "es" and patterns.NEGATED_SPANISH.search(before)
            )
            if not negated or patterns.NEGATION.match(match.group()):
                yield match, language


def _held_back(request: str, after: str) -> str:
    """Why a request is for a person to read, if it is (`patterns.HeldBack`)."""
    leaves_a_list = re.search(r"\b(list|lists|lista|base|database|system|records)$", request)
    for held in patterns.HELD_BACK:
        if held.names_the_object and leaves_a_list:
            continue
        if held.pattern.search(f"{request}{after}" if held.in_the_request else after):
            return held.reason
    return ""


def channels_asked(request: str, sentence: str) -> tuple[Channel, ...]:
    """The channels a clear request to stop asks about: calls alone where the request names
    calls and its sentence no texts ("please stop calling me"); where its sentence keeps a
    channel, those the request names ("unsubscribe me but you can call": SMS, which it came
    by; "stop calling but texts are ok": calls; the other is reviewed, `_rest`); else SMS, and
    calls too where its sentence names them ("stop texting and calling me"), the request
    goes on "by phone" ("stop contacting me by phone": a text reaches the phone too) or
    names the Do Not Call list ("DNC") or telemarketing."""
    calls = patterns.CALLS.search(request)
    goes_on = sentence.partition(request)[2]
    if patterns.BY_PHONE.search(goes_on) or patterns.BOTH_CHANNELS.search(request):
        return (Channel.SMS, Channel.CALLS)
    if calls and not patterns.TEXTS.search(sentence):
        return (Channel.CALLS,)
    if patterns.KEEPS_A_CHANNEL.search(sentence):
        texts = patterns.TEXTS.search(request) or not calls
        return tuple(
            c for c in Channel if (c == Channel.SMS and texts) or (c == Channel.CALLS and calls)
        )
    if patterns.CALLS.search(sentence):
        return (Channel.SMS, Channel.CALLS)
    return (Channel.SMS,)


def channels_to_review(words: str) -> tuple[Channel, ...]:
    """What a reply that may ask to stop holds while it waits, and what confirming it stops
    (also a wording staff taught as an opt-out): SMS, which it came by, and calls too where
    it names them ("please stop calling me so much", "do not phone me again") or a request
    in it asks to stop everything ("opt me out of everything for now")."""
    if _names_calls(words) or _asks_to_stop_everything(words):
        return (Channel.SMS, Channel.CALLS)
    return (Channel.SMS,)


def _asks_to_stop_everything(words: str) -> bool:
    """Whether `words` ask to be opted out of everything ("thanks for everything" does not)."""
    return bool(patterns.OUT_OF_EVERYTHING.search(words))


def _names_calls(words: str) -> bool:
    """Whether `words` name calls in any way, "phone me" too (`patterns.CALLS_TOO`)."""
    return bool(patterns.CALLS.search(words) or patterns.CALLS_TOO.search(words))


def _unclear(body: str, words: str) -> Reading:
    """Step 3's last part and step 4: a keyword in a longer message, a message that may
    mean the contact wants none, or an ordinary reply."""
    tokens = patterns.OTHER_MEANING.sub(" ", words).split()
    for token in tokens:
        review_word = (
            token in patterns.KEYWORDS
            and token not in patterns.ALONE_ONLY
            or token.startswith(("unsub", "desuscri"))
        )
        if review_word or (len(tokens) > 1 and _typo_of(token)):
            return _review(f"the word “{_shortened(token, 30)}” in a longer message")
        if len(tokens) == 1 and token in patterns.OWN_WORDS:
            return _review(f"“{token}”, one letter from STOP")
    for size in (2, 3):  # "opt out", "knock it off"
        for run in zip(*(tokens[start:] for start in range(size)), strict=False):
            if " ".join(run) in patterns.KEYWORDS:
                return _review(f"the words “{' '.join(run)}” in a longer message")
    wrong = _says_wrong_number(body, words)
    for pattern, language in patterns.UNCLEAR_PATTERNS:
        match = pattern.search(words)
        if match:
            matched = f"may ask to stop: “{_shortened(match.group(), 60)}”"
            return _review(matched, language, wrong_number=bool(wrong))
    if len(tokens) <= 4 and (other := patterns.OTHER_LANGUAGES.search(words)):
        return _review(f"may ask to stop, in another language: “{_shortened(other.group(), 30)}”")
    if wrong:
        return Reading(Intent.WRONG_NUMBER, f"wrong number: “{_shortened(wrong.group(), 60)}”")
    signs = {sign for sign in patterns.STOP_SIGNS | patterns.OTHER_STOP_SIGNS if sign in body}
    if signs and not words and signs <= patterns.STOP_SIGNS:
        return Reading(Intent.OPT_OUT, "a stop sign alone")
    if signs:
        return _review("a stop sign")
    return Reading(Intent.OTHER)


def _wrong_number_beside(body: str, words: str) -> bool:
    """Whether a reply with a clear request also says the number is not whoever consented,
    in the whole reply or in one of its sentences ("I'm not Dana. Stop texting me"), unless
    the sender says the mistake is theirs ("Sorry wrong number, meant to text my wife")."""
    if patterns.SENDERS_OWN_WRONG_NUMBER.search(words):
        return False
    return any(
        patterns.WRONG_NUMBER.search(plain(said)) or patterns.WRONG_PERSON.search(said)
        for said in [body, *patterns.SENTENCES.split(body)]
    )


def _says_wrong_number(body: str, words: str) -> re.Match | None:
    """Where the reply says the number is not whoever consented ("Wrong number", "I'm not
    Dana"), not the sender's own mistake ("Did I give you the wrong number?")."""
    wrong = patterns.WRONG_NUMBER.search(words)
    if wrong and patterns.OWN_WRONG_NUMBER.search(words):
        wrong = None
    return wrong or patterns.WRONG_PERSON.search(body)


def _review(matched: str, language: str = "en", *, wrong_number: bool = False) -> Reading:
    """A reply to review (`read` gives it its channels)."""
    return Reading(
        Intent.POSSIBLE_OPT_OUT, matched[:MATCHED_LENGTH], language, wrong_number=wrong_number
    )


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def classify(body: str) -> Intent:
    """The intent of a reply by the built-in rules alone (for tests and quick looks)."""
    return read(body).intent
