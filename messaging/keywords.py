"""What an inbound SMS asks for, and which rule says so.

Since April 2025 a contact may revoke consent "by any reasonable means" (47 CFR
64.1200(a)(10)). A reply is read, in English and Spanish, in this order:

1. The carriers' keywords alone (case, spaces and punctuation around them ignored): opt-out
   STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, OPT OUT; opt-in, the
   contact's new consent, START, UNSTOP, YES; help, HELP, INFO.
2. A clear request is an opt-out at once:
   - an opt-out keyword (English or Spanish: ALTO, PARAR, CANCELAR, BAJA, NO MÁS) with only
     politeness, emphasis, repetition, punctuation or emoji around it ("stop please", "STOP
     STOP STOP", "Alto por favor 🛑"), also as one sentence of a longer message;
   - a single word within one typing error of STOP, or two of UNSUBSCRIBE ("Stopp",
     "unsubscibe"), unless it is a word of its own ("shop", "top": those are reviewed);
   - a request to stop messages or remove the number, with or without a keyword ("take my
     number off your list", "no me manden más mensajes"), unless a negation comes just
     before it ("don't stop texting me").
3. An unclear message goes to Possible opt-outs, for staff to review: one that contains an
   opt-out keyword in a longer message ("cancel my appointment", "can you stop by at 3?"), or
   that may mean the contact wants none ("wrong number", "who is this?").
4. Anything else is an ordinary reply.

Staff decisions add phrases that are read before steps 3 and 4 (messaging.phrases): they can
make a reviewed wording an opt-out or an ordinary reply, never undo steps 1 and 2.

Each reading says which rule matched ("keyword STOP with “please”"), kept with what it
did: the number's opt-out and its ledger rows, or the possible opt-out to review.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from contacts.models import OPT_IN_PUNCTUATION, OPT_IN_WORDS, Channel, opt_in_words


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    POSSIBLE_OPT_OUT = "possible_opt_out"
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


OPT_OUT_KEYWORDS = {
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT",
}  # fmt: skip
OPT_IN_KEYWORDS = set(OPT_IN_WORDS)  # the database checks an opt-in's words against these
HELP_KEYWORDS = {"HELP", "INFO"}

# Keywords as plain words (see `plain`), with their language. "stop it" and "remove me" say
# nothing more than STOP.
KEYWORDS = {
    "stop": "en", "stopall": "en", "stop all": "en", "unsubscribe": "en", "unsub": "en",
    "cancel": "en", "end": "en", "quit": "en", "revoke": "en", "optout": "en", "opt out": "en",
    "stop it": "en", "quit it": "en", "stop this": "en", "stahp": "en", "remove": "en",
    "remove me": "en", "take me off": "en", "no more": "en",
    "alto": "es", "parar": "es", "cancelar": "es", "baja": "es", "no mas": "es",
    "dar de baja": "es", "darme de baja": "es", "dame de baja": "es",
    "denme de baja": "es", "de baja": "es",
}  # fmt: skip
# Words that may surround a keyword without changing what it asks: politeness, emphasis and
# impatience, in English and Spanish.
COURTESY = {
    **dict.fromkeys(
        ["please", "pls", "plz", "plez", "plse", "thanks", "thank you", "thx", "ty", "ok",
         "okay", "k", "all", "now", "right now", "asap", "immediately", "right away", "already",
         "again", "just", "sir", "maam", "i said", "and", "the hell", "fucking", "fuckin",
         "freaking", "frickin", "damn", "dammit", "goddamn", "wtf", "seriously",
         "ffs", "man", "dude", "bro", "no", "not interested", "no thanks",
         "no thank you", "i mean it", "for real", "everything", "forever", "asap please"],
        "en",
    ),
    **dict.fromkeys(
        ["por favor", "porfa", "porfavor", "xfa", "plis", "gracias", "muchas gracias", "ya",
         "ahora", "todo", "todos", "si", "senor", "senora", "oiga", "ya basta", "de una vez",
         "por favor ya", "no gracias"],
        "es",
    ),
}  # fmt: skip

# Keywords with another common meaning ("cancel", "the end"): obeyed as a whole message (with
# courtesy), not as one sentence of a longer one.
AMBIGUOUS_KEYWORDS = {
    "cancel", "end", "quit", "parar", "cancelar", "baja", "remove", "remove me", "take me off",
    "no more",
}  # fmt: skip

# Single words within a typing error of STOP that mean something else: reviewed, not obeyed.
OWN_WORDS = {"top", "tops", "shop", "step", "stoop", "atop", "slop", "stow", "stomp", "sop"}
# The typing errors allowed, and how the word must begin ("subscribe" is two from UNSUBSCRIBE).
TYPO_TARGETS = {"stop": (1, "s"), "unsubscribe": (2, "un")}

# What a request asks to stop, as plain words.
_MESSAGES = (
    r"(texts?|txts?|text messages?|messages?|msgs?|sms|emails?|spam|promos?|promotions?|ads"
    r"|marketing|notifications?|alerts?|updates?|offers?|deals?|calls?|phone calls?)"
)
_CALLS = re.compile(r"\b(call|calls|calling|llamadas?|llamar|llamarme|llamen|llame|llames)\b")
_TEXTS = re.compile(
    r"\b(text\w*|txt\w*|messag\w*|msgs?|sms|mensaj\w*|textos?|escrib\w*|textear|spam|send\w*)\b"
)
_LIST = r"(\w+ ){0,3}(list|lists|database|system|records)"

# Requests to stop, each as a pattern of plain words with its language.
CLEAR_REQUESTS = [
    (r"(stop|quit|cease|end) (texting|txting|messaging|msging|sending|contacting|calling"
     r"|spamming|bugging|harassing|emailing|bothering|hitting me up)", "en"),
    (rf"stop (the |these |those |your |ur |all |all the |all these |all of these |all of your )?"
     rf"{_MESSAGES}", "en"),
    (r"(dont|do not|never|pls dont|please dont) (ever )?(text|txt|message|msg|contact|call|sms"
     r"|email|send me|bother|spam)(?! list| registry)", "en"),
    (rf"no (more|further) {_MESSAGES}", "en"),
    (rf"(take|remove|delete|drop|erase|scratch|get) (me|us|my (\w+ )?(number|contact|info"
     rf"|phone|name|details)|this (\w+ )?number) (off|from|out of) (of )?{_LIST}", "en"),
    (r"(remove|delete|erase|lose|forget|scratch|drop) (my|this|the) (cell |phone |mobile "
     r"|contact )?(number|info|information|contact info|details)", "en"),
    (r"take (my|this) (cell |phone )?number off", "en"),
    (r"(take|remove) me (off|from) (this|these|it|all of this|everything|all this)$", "en"),
    (r"(unsubscribe|unsub|opt) (me|us|my number|this number)", "en"),
    (rf"opt (me )?out (of|from) (this|these|your|ur|all|the|texts|messages|{_MESSAGES})", "en"),
    (r"i (want|wanna|would like|d like|need) to (unsubscribe|unsub|opt out|be removed"
     r"|be taken off|stop (getting|receiving))", "en"),
    (r"(revoke|revoking|withdraw|withdrawing|cancel|cancelling|canceling) (my |all )?(consent"
     r"|permission|subscription|authorization)", "en"),
    (r"i (no longer|dont|do not) (consent|agree to (these|your|any))", "en"),
    (r"i (no longer|dont|do not) (wish|want) to (receive|get|be sent)", "en"),
    (rf"cancel (all |the |these |my |your |all of )?{_MESSAGES}", "en"),
    (r"how (do|can|would|should) (i|we) (stop|unsubscribe|unsub|opt out|get off|get removed)",
     "en"),
    (r"i (already )?(unsubscribed|opted out|said stop|asked (you )?(to stop|not to))"
     r"|already (unsubscribed|opted out)", "en"),
    (rf"i (dont|do not|no longer) want (to (get|receive) )?(these|your|any|this|more|any more"
     rf"|the|ur)? ?{_MESSAGES}", "en"),
    (r"(leave me alone|cease and desist|stop contacting)", "en"),
    (rf"no mas (de )?(sus |tus )?(mensajes|mensajitos|textos|msj|msjs|sms|llamadas"
     rf"|promociones|publicidad|{_MESSAGES})", "es"),
    (r"no (me |nos )?(manden|mande|mandes|envien|envie|envies|escriban|escriba|escribas"
     r"|llamen|llame|llames|contacten|contacte|molesten|moleste|textees|texteen)( mas)?", "es"),
    (r"(deja|dejen|dejar|deje|dejes|paren|para|pare) de (mandar|mandarme|enviar|enviarme"
     r"|escribir|escribirme|llamar|llamarme|textear|textearme|molestar|molestarme|contactar"
     r"|contactarme)", "es"),
    # "Quiero darme de baja del gimnasio": of a membership, reviewed.
    (r"(darme|dar|darse|dame|denme|deme|dar me|me doy|doy) de baja(?! (del|de la|de mi|de el"
     r"|de los|mi|la|el|una|un|su) (?!lista|mensajes|textos|sms|promociones|envios"
     r"|notificaciones|numero|telefono|celular))", "es"),
    (r"(favor de |por favor )?no (enviarme|mandarme|escribirme|llamarme|textearme|contactarme)",
     "es"),
    (r"(parar|cancelar|alto|basta) (a |de )?(los |sus |tus )?(mensajes|textos|llamadas|sms)",
     "es"),
    (r"no me vuelvan? a (escribir|mandar|enviar|llamar|contactar|textear)", "es"),
    (r"(no|ya no) me (lleguen|llegue|sigan llegando|sigan mandando|sigan enviando)", "es"),
    (r"basta de (mensajes|textos|llamadas|sms|msj|promociones)", "es"),
    (r"(borren|borra|borrar|borre|eliminen|elimina|eliminar|elimine|quiten|quita|quitar|quite"
     r"|saquen|saca|sacar|saque) (mi|el|este) (numero|telefono|celular|cel)", "es"),
    (r"(borrenme|borrame|eliminenme|eliminame|quitenme|quitame|saquenme|sacame|borreme|sakenme"
     r"|sakame"
     r"|quiteme|saqueme|me quiten|me saquen|me borren|me eliminen) de (la|su|esta|sus|tu|la)"
     r" (lista|base)", "es"),
    (r"(no|ya no) (quiero|deseo) (recibir |seguir recibiendo )?(mas )?(sus |tus |estos |los )?"
     r"(mensajes|textos|sms|llamadas|msj|promociones|notificaciones)", "es"),
    (r"no (quiero|deseo) recibir", "es"),
    (r"cancelar (la |mi )?(suscripcion|mensajes|los mensajes|textos)", "es"),
    (r"(revoco|retiro) mi (consentimiento|permiso|autorizacion)", "es"),
    (r"ya no (me )?(manden|envien|escriban|llamen|mande|envie|escriba|llame)", "es"),
    (r"(dejenme|dejame|dejeme) en paz", "es"),
]  # fmt: skip
_CLEAR = [(re.compile(rf"\b{pattern}\b"), language) for pattern, language in CLEAR_REQUESTS]
# A negation just before a request turns it around: "I don't want you to stop texting".
_NEGATED = re.compile(r"\b(dont|do not|didnt|never|wont)( \w+){0,3} $")
_NEGATION = re.compile(r"(dont|do not|never|pls dont|please dont|i dont|i do not|no|ya no)\b")

# Messages that may mean the contact wants none, without asking: reviewed.
UNCLEAR = [
    (r"wrong (number|person|#)|who (is|s) (this|that)|whos (this|that)|who dis|who are you"
     r"|do i know you|dont know (who|you)|(isnt|is not|not) \w+s (phone|number|cell)"
     r"|this is a work (phone|number)|not a (patient|customer|client|member) (here |there )?"
     r"anymore|i moved|didnt order|did not order", "en"),
    (r"take me off|remove me|(block|blocking|blocked|reporting|report) (this|you|your)"
     r"|(i )?dont (need|want) (this|these|that|it|your)|only (text|message|send|contact) me", "en"),
    (r"why (am i|do i keep|are you|do you keep|r u|are u|is this) (getting|receiving|texting"
     r"|sending|messaging)|(too many|so many|fewer|less) (texts|messages|msgs|txts)"
     r"|text (way )?too much|chill with|(its|it is) \d+ ?(am|pm)|keep (texting|messaging|sending)"
     r"|texts? (in|a|per) (one )?day|every (single )?(day|week)|pause", "en"),
    (r"anymore|any more|no longer (live|own|have|work|go)|sold (that|the|my|it)|passed away"
     r"|who gave (you|u) (this|my)|(no idea|dont know) why (im|i am|i m) getting|instead"
     r"|do not call (list|registry)|not again", "en"),
    (r"ya no es mi|fallecio|murio|quien (le|te|les) dio mi numero|en vez de|en lugar de"
     r"|mejor (mandenme|envienme|llamenme|escribanme)|(mandenme|envienme) solo|correo"
     r"|tanto mensaje|parenle|pausar", "es"),
    (r"how did (you|u) get (my|this) (number|#)|where did (you|u) get (my|this) number", "en"),
    (r"(never|didnt|did not|dont remember) (sign(ed)? up|subscrib\w*|opt(ed)? in|gave)", "en"),
    (r"not interested|too many (texts|messages|msgs)|spam|reported|enough", "en"),
    (r"(no|ya no) (te |lo |la |los |les )?conozco|equivoca\w*|no pedi|ya no (voy|soy|vivo"
     r"|trabajo)|(tantos|tantas|demasiados|demasiadas) (mensajes|textos|promociones)|fastidio"
     r"|(por que|porque) me (siguen|sigues|estan|mandan|envian|escriben)"
     r"|como (consiguieron|obtuvieron|tienen|sacaron) mi numero|solo (mandenme|envienme"
     r"|manden|envien)|(sacame|quitame|saquenme|quitenme|sakenme)", "es"),
    (r"numero equivocado|quien (es|habla|eres)|no me interesa"
     r"|basta|de donde (sacaron|saco|obtuvieron|tienen|tiene) mi numero"
     r"|no me (inscribi|suscribi|registre)|nunca me (inscribi|suscribi|registre)", "es"),
]  # fmt: skip
_UNCLEAR = [(re.compile(rf"\b({pattern})\b"), language) for pattern, language in UNCLEAR]
# A keyword inside another common meaning ("can you stop by at 3?", "cancel my appointment",
# "the end of the week"): not a reason to review the message.
OTHER_MEANINGS = [
    r"stop (by|in|at|over|on by|sign|light)|(cant|cannot|wont|couldnt|didnt|dont|never) stop"
    r"|stop the (delivery|order|payment|auto \w+|car|bus|rain)|(bus|pit|one|non) stop",
    r"(dont|didnt mean to|not|no) cancel|cancel (my |the |our |this |that |your )?(appointment"
    r"|appt|order|reservation|booking|policy|membership|class|lesson|session|meeting|visit"
    r"|tomorrow|today|tonight|\d+\w*)",
    r"(the|an|this|that|which|what|each|either|other) end|end (of|date|time|unit|on|at|in|my)",
    r"quit (smoking|my job|drinking|vaping|the team)",
    r"(muy|mas|tan|el|esta|precio|volumen) alto|cancelar (mi |la |el |una )?(cita|pedido"
    r"|reservacion|reserva|orden|clase|membresia)|baja del|(presion|temperatura|marea) baja",
]
_OTHER_MEANING = re.compile(r"\b(" + "|".join(OTHER_MEANINGS) + r")\b")
STOP_SIGNS = {"🛑", "⛔", "🚫", "✋", "🤚", "🙅", "🔕"}
_SENTENCES = re.compile(r"[.!?¡¿;,\n]+")
# A request that keeps some messages, or asks for fewer, is reviewed: "stop the promos but keep
# the reminders", "dejen de mandar tantas promociones".
_KEEPING_SOME = re.compile(
    r"\b(but keep|except|only|solo|pero (sigan|manden|si)|excepto|tantos|tantas|so many)\b"
)
# A request said in jest ("stop texting me lol") is reviewed.
_JOKING = re.compile(r"\b(lol|lmao|lmfao|jk|jaja\w*|haha\w*|jeje\w*)\b|😂|🤣|😜|😆")
_WRONG_PERSON = re.compile(r"\b(I['’]?m not|No soy) [A-Z]\w+\W*$")
_PUNCTUATION = OPT_IN_PUNCTUATION  # spaces of every kind, and punctuation


def normalise(body: str) -> str:
    """Upper case, single spaces, no punctuation around: " Opt-out. " -> "OPT OUT"."""
    return " ".join(body.strip(_PUNCTUATION).replace("-", " ").split()).upper()


def plain(text: str) -> str:
    """Lower-case words without accents, apostrophes, punctuation or emoji, one space apart:
    "¡No MÁS mensajes! 🛑" -> "no mas mensajes"; "Don't" -> "dont"."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"['’‘`´]", "", text)
    return " ".join(re.findall(r"[^\W_]+", text))


def read(body: str) -> Reading:
    """The built-in reading of a reply (steps 1 to 4 above, without staff phrases)."""
    text = normalise(body)
    if text in OPT_OUT_KEYWORDS:
        return Reading(Intent.OPT_OUT, f"keyword {text}")
    if opt_in_words(body) in OPT_IN_KEYWORDS:  # as the database will check it
        return Reading(Intent.OPT_IN, f"keyword {opt_in_words(body)}")
    if text in HELP_KEYWORDS:
        return Reading(Intent.HELP, f"keyword {text}")
    words = plain(body)
    if len(words) > 3 and all(len(token) == 1 for token in words.split()):
        words = words.replace(" ", "")  # "s t o p"
    sentences = [plain(sentence) for sentence in _SENTENCES.split(body)]
    for candidate in [words, *(s for s in sentences if s and s != words)]:
        reading = _keyword_with_courtesy(candidate, whole=candidate == words)
        if reading:
            return reading
    reading = _clear_request(_corrected(words), body)
    if reading:
        return reading
    return _unclear(body, words)


def _keyword_with_courtesy(words: str, *, whole: bool) -> Reading | None:
    """An opt-out keyword, maybe repeated or (in a whole message) misspelled, with nothing but
    courtesy around it; as one sentence of a longer message, only a keyword that means
    nothing else there."""
    keywords, courtesy, typo = [], [], ""
    tokens, i = words.split(), 0
    while i < len(tokens):
        for size in (3, 2, 1):
            phrase = " ".join(tokens[i : i + size])
            if phrase in KEYWORDS or (size == 1 and _squeezed(phrase) in KEYWORDS):
                keywords.append(phrase if phrase in KEYWORDS else _squeezed(phrase))
                break
            if phrase in COURTESY:
                courtesy.append(phrase)
                break
        else:
            size, target = 1, _typo_of(tokens[i]) if whole and not typo else ""
            if not target:
                return None
            keywords.append(target)
            typo = tokens[i]
        i += size
    if not keywords:
        return None
    if not whole and set(keywords) & AMBIGUOUS_KEYWORDS:
        return None  # "Cancel. I'll book another day": the appointment, maybe
    keyword = keywords[0]
    spanish = KEYWORDS[keyword] == "es" or any(COURTESY[word] == "es" for word in courtesy)
    matched = (
        f"one typing error from {keyword.upper()}: “{typo}”"
        if typo
        else f"keyword {keyword.upper()}"
    )
    extras = []
    if courtesy:
        extras.append("with “" + " ".join(courtesy) + "”")
    if len(keywords) > 1:
        extras.append("repeated")
    if not whole:
        extras.append("as a sentence of a longer message")
    if extras:
        matched += " " + ", ".join(extras)
    return Reading(Intent.OPT_OUT, matched, "es" if spanish else "en")


def _typo_of(token: str) -> str:
    """The keyword that `token` misspells ("stopp" -> "stop"), or ""."""
    if token in OWN_WORDS or token in KEYWORDS:
        return ""
    squeezed = _squeezed(token)
    for target, (errors, start) in TYPO_TARGETS.items():
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
    """`words` with misspelled keywords spelled right: "stopp texting me" -> "stop texting
    me"."""
    return " ".join(
        token if token.startswith(("stop", "unsub")) else _typo_of(token) or token
        for token in words.split()
    )


def _clear_request(words: str, body: str) -> Reading | None:
    for pattern, language in _CLEAR:
        for match in pattern.finditer(words):
            negated = _NEGATED.search(words[: match.start()])
            if negated and not _NEGATION.match(match.group()):
                continue
            if _JOKING.search(body) and not _JOKING.search(match.group()):
                return Reading(
                    Intent.POSSIBLE_OPT_OUT, f"request “{match.group()}”, maybe in jest", language
                )
            if _KEEPING_SOME.search(words[match.end() :]):
                return Reading(
                    Intent.POSSIBLE_OPT_OUT,
                    f"request “{match.group()}” that may keep some messages",
                    language,
                )
            return Reading(
                Intent.OPT_OUT,
                f"request “{match.group()}”",
                language,
                _channels_named(words),
            )
    return None


def _channels_named(words: str) -> tuple[Channel, ...]:
    """The channels a request names: calls alone ("stop calling me"), calls and texts, or
    by default the SMS it came by."""
    calls, texts = _CALLS.search(words), _TEXTS.search(words)
    if calls and texts:
        return (Channel.SMS, Channel.CALLS)
    return (Channel.CALLS,) if calls else (Channel.SMS,)


def _unclear(body: str, words: str) -> Reading:
    tokens = _OTHER_MEANING.sub(" ", words).split()
    for token in tokens:
        review_word = token in KEYWORDS and token != "remove" or token.startswith("unsub")
        if review_word or (len(tokens) > 1 and _typo_of(token)):
            return Reading(Intent.POSSIBLE_OPT_OUT, f"the word “{token}” in a longer message")
        if len(tokens) == 1 and token in OWN_WORDS:
            return Reading(Intent.POSSIBLE_OPT_OUT, f"“{token}”, one letter from STOP")
    for pair in zip(tokens, tokens[1:], strict=False):
        if " ".join(pair) in KEYWORDS:
            return Reading(
                Intent.POSSIBLE_OPT_OUT, f"the words “{' '.join(pair)}” in a longer message"
            )
    for pattern, language in _UNCLEAR:
        match = pattern.search(words)
        if match:
            return Reading(Intent.POSSIBLE_OPT_OUT, f"may ask to stop: “{match.group()}”", language)
    if _WRONG_PERSON.search(body):
        return Reading(Intent.POSSIBLE_OPT_OUT, "may be the wrong person")
    if any(sign in body for sign in STOP_SIGNS):
        return Reading(Intent.POSSIBLE_OPT_OUT, "a stop sign")
    return Reading(Intent.OTHER)


def classify(body: str) -> Intent:
    """The intent of a reply by the built-in rules alone."""
    return read(body).intent
