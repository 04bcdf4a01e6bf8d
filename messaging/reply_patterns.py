"""The words and patterns that replies are read by (messaging.keywords): the tables, kept
apart from the reading so that each can be read on its own.

Patterns are written for plain text (`messaging.keywords.plain`): lower case, no accents,
apostrophes or punctuation, one space between words ("don't" is "dont", "más" is "mas").
"""

import re
from dataclasses import dataclass

from contacts.models import OPT_IN_PUNCTUATION, OPT_IN_WORDS

OPT_OUT_KEYWORDS = {
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT",
}  # fmt: skip
OPT_IN_KEYWORDS = set(OPT_IN_WORDS)  # the database checks an opt-in's words against these
HELP_KEYWORDS = {"HELP", "INFO"}
# Never a phrase's to decide, whatever surrounds them (messaging.phrases).
CARRIER_KEYWORDS = OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS | HELP_KEYWORDS
# A request to receive texts, beside START, and the business's own (settings.CONSENT_KEYWORDS).
JOIN_KEYWORDS = {"JOIN", "SUBSCRIBE"}

# Opt-out keywords as plain words (see `plain`), with their language: the carriers' and
# their Spanish, and a few that say nothing more ("stop it", "remove me").
KEYWORDS = {
    "stop": "en", "stopall": "en", "stop all": "en", "unsubscribe": "en", "unsub": "en",
    "cancel": "en", "end": "en", "quit": "en", "revoke": "en", "optout": "en", "opt out": "en",
    "stop it": "en", "quit it": "en", "stop this": "en", "stop these": "en",
    "stop them": "en", "make it stop": "en", "stahp": "en", "remove": "en", "remove me": "en",
    "delete me": "en", "take me off": "en", "no more": "en", "i opt out": "en",
    "knock it off": "en", "stoptexting": "en", "stoptextingme": "en", "discontinue": "en",
    "exit": "en", "salir": "es",
    "alto": "es", "parar": "es", "paren": "es", "pare": "es", "detener": "es",
    "detenganse": "es", "cancelar": "es", "baja": "es", "no mas": "es", "dar de baja": "es",
    "darme de baja": "es", "dame de baja": "es", "denme de baja": "es", "de baja": "es",
    "desuscribir": "es", "desuscribirme": "es", "desuscribanme": "es", "desuscribame": "es",
    "desuscribeme": "es", "borrenme": "es", "borrame": "es",
    "sacame": "es", "saquenme": "es", "quitenme": "es", "quitame": "es",
}  # fmt: skip
# Keywords with another common meaning ("cancel" an appointment, "the end", "paren aquí"):
# alone (or with courtesy, but those of COURTEOUS_AMBIGUITY) they are opt-outs, as carriers
# treat them; as a sentence of a longer message they are reviewed.
AMBIGUOUS_KEYWORDS = {
    "cancel", "end", "quit", "parar", "paren", "pare", "cancelar", "baja", "de baja",
    "remove", "take me off", "no more", "no mas", "make it stop", "knock it off",
    "exit", "salir",
}  # fmt: skip
# Keywords of everyday words ("remove the old address", "exit 12", "salir a las 3"): opt-outs
# alone, as above, but in a longer message they say nothing of the messages.
ALONE_ONLY = {"remove", "exit", "salir"}
# "Ok cancel", "Cancel please", "Sí, cancelar": an appointment's, as likely as the messages.
COURTEOUS_AMBIGUITY = {"cancel", "cancelar", "remove", "exit", "salir"}
# Courtesy that says what the keyword is about: "Wrong number, please remove".
SAYS_WHAT_IT_IS = {
    "wrong number", "wrong person", "not interested", "spam", "this is spam",
    "numero equivocado", "no me interesa",
}  # fmt: skip
# Keywords that mean nothing else: an opt-out in any sentence of a message.
UNMISTAKABLE = {"unsubscribe", "unsub", "stopall", "optout", "opt out", "revoke",
                "desuscribir", "desuscribirme", "desuscribanme", "desuscribame",
                "desuscribeme", "i opt out"}  # fmt: skip
# Words that may surround a keyword without changing what it asks: politeness, emphasis and
# impatience, in English and Spanish.
COURTESY = {
    **dict.fromkeys(
        ["please", "pls", "plz", "plez", "plse", "thanks", "thank you", "thx", "ty", "ok",
         "okay", "k", "all", "now", "right now", "asap", "immediately", "right away", "already",
         "again", "just", "sir", "maam", "i said", "and", "the hell", "fucking", "fuckin",
         "freaking", "frickin", "damn", "dammit", "goddamn", "wtf", "seriously", "ffs", "man",
         "dude", "bro", "no", "not interested", "no thanks", "no thank you", "i mean it",
         "for real", "everything", "forever", "wrong number", "wrong person", "spam",
         "this is spam"],
        "en",
    ),
    **dict.fromkeys(
        ["por favor", "porfa", "porfavor", "xfa", "plis", "gracias", "muchas gracias", "ya",
         "ahora", "todo", "todos", "si", "senor", "senora", "oiga", "ya basta", "de una vez",
         "no gracias", "numero equivocado", "no me interesa", "ya no quiero", "no quiero mas"],
        "es",
    ),
}  # fmt: skip

# Single words within a typing error of STOP that mean something else: reviewed, not obeyed.
OWN_WORDS = {
    "top", "tops", "shop", "step", "stoop", "atop", "slop", "stow", "stomp", "sop", "stool",
    "stoa", "soap", "spot", "stay", "stoned",
}  # fmt: skip
# The typing errors allowed, and how the word must begin ("subscribe" is two from UNSUBSCRIBE).
TYPO_TARGETS = {"stop": (1, "s"), "unsubscribe": (2, "un")}

# What a request asks to stop, as plain words.
MESSAGES = (
    r"(text\w*|txt\w*|messag\w*|msgs?|sms|spam\w*|promos?|promotions?|ads|marketing"
    r"|notifications?|alerts?|updates?|offers?|deals?|calls?|phone calls?|communications?"
    r"|contact|reminders?|mensajes|textos|llamadas)"
)
VERBS = (
    r"(text\w*|txt\w*|messag\w*|msg\w*|contact\w*|call\w*|spamm\w*|bugg\w*|harass\w*"
    r"|bother\w*|hitting me up|texing|textng|tecting|txing|blowing up my phone|blowing me up)"
)
PLURAL_MESSAGES = (
    r"(texts|txts|text messages|messages|msgs|sms|calls|phone calls|robocalls|robo calls"
    r"|voicemails|voice messages|alerts|notifications|promos|promotions|reminders|updates"
    r"|mensajes|textos|llamadas|spam)"
)
LIST = (
    r"(your |the |this |ur |all |these |any |every |all your |all of your |my )?(\w+ ){0,2}"
    r"(list|lists|database|system|records|contacts)"
)
SPANISH_VERBS = (
    r"(manden|mande|mandes|envien|envie|envies|escriban|escriba|escribas|llamen|llame|llames"
    r"|contacten|contacte|molesten|moleste|textees|texteen)"
)
SPANISH_MESSAGES = r"(mensajes|mensajitos|textos|msj|msjs|sms|llamadas|promociones|publicidad)"
# A key of a call said to have been pressed ("I already pressed 9"): the way our calls stop.
PRESSED_THE_KEY = (
    r"(i|we) (already |just |have |did )?press(ed)? (\d|nine|one|the (\w+ )?(key|button|number"
    r"|digit))"
)

# What EXIT and SALIR name when they ask to stop messages: the messages, not one thing ("exit
# the deal", "exit the call"); a message's own kinds in the singular too ("EXIT TEXT").
EXITED = (
    rf"({PLURAL_MESSAGES}|text|txt|message|msg|sms messages|text messages|text alerts"
    r"|marketing|promo|promociones|mensaje)"
)

# Requests to stop, each as a pattern of plain words with its language.
CLEAR_REQUESTS = [
    (rf"(stop|quit|cease|discontinue) (the |these |those |this |that |your |ur |all |all the "
     rf"|all these |all of these |all of your |getting |receiving |with the |w the |w )?(fucking "
     rf"|freaking |effing |damn |(\w+ )(?={PLURAL_MESSAGES}))?({VERBS}|{MESSAGES})", "en"),
    (r"stop(texting|txting|messaging|calling)(me)?|stop (con )?(los |sus )?(mensajes|textos)"
     rf"|stop (mandandome|enviandome)|knock it off with (the |these |your )?{MESSAGES}", "en"),
    (rf"^((please|pls|hey|ok|okay) )?no {PLURAL_MESSAGES}( please| pls| thanks| thank you"
     rf"| from now on| anymore| any more| ever again)?$|^(i )?dont want (any |your "
     rf"|these )?{PLURAL_MESSAGES}", "en"),
    (r"i (dont|do not|no longer) want to be on (your|this|the|ur) (\w+ )?list", "en"),
    (rf"(stop|quit|cease) sending (me |us )?((these|this|that|them|crap|junk|spam)\b"
     rf"|(your |the |all |all the |all your |any )?(\w+ )?"
     rf"{MESSAGES})|(stop|quit|cease) sending( me| us)?$", "en"),
    (r"(you can|would you|will you) stop( now| already| it| that"
     r"| this| please)?$|i (told|asked) you to stop( (texting|messaging|calling|contacting)"
     r"\w*( me)?)?$|i (told|asked) you not to (text|call|message|contact)\w*|how many times "
     r"(do i have to|must i|have i) (say|said|tell you|told you)( to)? stop|(enough is enough"
     r"|i said) stop(?! (by|in|at|over))", "en"),
    (rf"i want (these|the|your|all)( \w+)? {PLURAL_MESSAGES} to stop|^i want (this|it|them"
     rf"|these|all this) to stop$|^(please |pls |just )?make (it|them|this|these) stop( please"
     rf"| now)?$|make (the|these|your|all) {PLURAL_MESSAGES} stop|how (do|can) i make (them"
     rf"|these|(the|these) {PLURAL_MESSAGES}) stop", "en"),
    (rf"how (to|do you) (stop|unsubscribe|unsub|opt out)( (these|this|them|the texts"
     rf"|the messages|{MESSAGES})|$)", "en"),
    (rf"(unsubscribe|unsub)( me)? from (all|this|these|them|everything|(your |the |these |all )"
     rf"(\w+ )?({MESSAGES}|list))", "en"),
    (r"^(end|cancel|stop) (my |the |this )?subscription$", "en"),
    (rf"(quit it|enough|basta) (with |de |con )?(the |these |your |all |los |sus |tus )?"
     rf"{MESSAGES}", "en"),
    (r"(end|halt) (the |these |all |all the )?(texts|messages|msgs|sms|communications"
     r"|contact)", "en"),
    (r"(dont|do not|never|pls dont|please dont) (ever )?(text|txt|message|msg|contact|call|sms"
     r"|spam)( or (text|txt|call|message|contact))?"
     r"( (me|us|this number|this phone|my number|anymore|again|ever)|$)", "en"),
    (rf"(dont|do not|never) send (me|us) (any more |anymore |more |any )?({MESSAGES}|anything"
     rf"|stuff|these|this)", "en"),
    (rf"no (more|further) {PLURAL_MESSAGES}", "en"),
    (rf"(take|remove|delete|drop|erase|scratch|get) (me|us|(my|her|his|their) (\w+ )?(number"
     rf"|contact|info"
     rf"|phone|name|details)|this (\w+ )?number)? ?(off|from|out of|outta) (of )?{LIST}", "en"),
    (r"(please |pls )?(remove|delete|take) me( off| out)?( please| pls| now| thanks)?$", "en"),
    (r"((remove|delete|erase|lose|forget|scratch) (my|this) (cell |phone |mobile |contact )?"
     r"(number|info|information|contact info|details)|(remove|delete|erase|lose|forget) the "
     r"(phone )?number)(?! ?\d)(?!.*\b(use|switched|new number|instead)\b)", "en"),
    (r"(remove|delete) (my |this |the )?number$", "en"),
    (r"take (my|this) (cell |phone )?number off", "en"),
    (r"(take|remove|get) me (off|from|out of|outta) (of )?(this|these|it|all of this|everything"
     r"|all this)$", "en"),
    (r"(unsubscribe|unsub) (me|us|my number|this number)", "en"),
    (rf"(?<!can i )(?<!could i )(?<!do i )opt (me )?out( (of|from) (these|this|them|all|your"
     rf"|the|ur)? ?({MESSAGES}|list|it|this|these|them)|$)"
     rf"|opt me out( (please|pls|now|thanks"
     rf"|thank you))+$", "en"),
    (rf"i (want|wanna|would like|d like|need) to (unsubscribe|unsub|opt out|be removed"
     rf"|be taken off|stop (getting|receiving) ((these|this|them|your|the|any|all) )?(\w+ )?"
     rf"{MESSAGES})|i want out|(i am|im|i m) (opting out|unsubscribing)", "en"),
    (r"(revoke|revoking|withdraw|withdrawing|cancel|cancelling|canceling) (my |all )?(consent"
     r"|permission|authorization)", "en"),
    (r"i (no longer|dont|do not) consent", "en"),
    (rf"i (no longer|dont|do not) (wish|want) to (receive|get|be sent) (any more |anymore "
     rf"|any )?(these|this|them|your|any|more|{MESSAGES})", "en"),
    (r"id like to (unsubscribe|unsub|opt out|be removed)", "en"),
    (r"cancel (my |the |this )?(text|sms|texting|messaging|text message) subscription", "en"),
    (r"^no more (txt|text|sms|msg)$|(dont|do not|never) send (me|us) (anymore|any more|again)$"
     r"|(dont|do not|never) send (anymore|any more)$", "en"),
    (rf"cancel (all |the |these |my |your |all of )?(\w+ )?{PLURAL_MESSAGES}", "en"),
    (rf"^(please |pls )?exit (me )?(from )?(all |all the |the |these |your |my )?{EXITED}"
     rf"( (and )?(the |your )?{EXITED})?( please| pls| now| thanks| thank you| asap)?$"
     rf"|^(please |pls )?exit me( from {LIST})?( please| pls| now)?$", "en"),
    (rf"^(por favor )?(me )?((quiero|quisiera|deseo) )?salir(me)? (de )?(los |las |sus |tus "
     rf"|todos los |todas las )?{EXITED}( (y |e )?(de )?(los |las |sus )?{EXITED})?"
     rf"( por favor| ya| gracias)?$", "es"),
    (rf"cancel (my |the |this )?subscription (to|of) (these |this |your |the )?(\w+ )?"
     rf"{MESSAGES}|^(cancel|cancelar|cancelen) (my |mi |la )?(subscription|su(b)?scripcion)$",
     "en"),
    (r"how (do|can|would|should) (i|we) (stop|unsubscribe|unsub|opt out|get off|get removed)"
     rf"( (getting|receiving))?( (these|this|them|the texts|the messages|your texts|{MESSAGES}"
     r"|from (these|this|them|your (texts|messages|list)|the (texts|messages|list)))|$)", "en"),
    (rf"i (already )?(unsubscribed|opted out)|already (unsubscribed|opted out)"
     r"|i (never|dont|do not) want (another|one more|any more|anymore) (phone )?(call|text"
     r"|message|robocall|voicemail)( from (you|u|yall|you (people|guys|all)|your \w+|this"
     r" (number|company|business|office|place)))?( again| ever| please| thanks| thank you)*$"
     rf"|i (already )?(said|asked (you )?to) stop( (\w+ ){{0,2}}({VERBS}|{MESSAGES}))?$"
     rf"|i asked (you )?not to (text|call|message|contact)", "en"),
    (rf"i (dont|do not|no longer) want (to (get|receive) )?(these|your|any|this|more|any more"
     rf"|the|ur)? ?(\w+ )?{PLURAL_MESSAGES}", "en"),
    (r"^(please |pls |just )?(leave me (the hell |the fuck |tf |the f )?alone|go away|get lost"
     r"|piss off|(fuck|f|fk|eff) off)( please| now| already)?$|leave me (the hell |the fuck |tf "
     r"|the f )?alone|cease and desist", "en"),
    (rf"(remove|take) (me )?(off|from) (your |the |these |all )?{MESSAGES}", "en"),
    (r"(add|put) (me|my number|this number) (on|to) (your |the )?(do not (call|contact|text)"
     r"|dnc)|^dnc$", "en"),
    (r"get me (off|outta|out of) (of )?(this|these|it|your|the)", "en"),
    (rf"no mas (de )?(sus |tus )?({SPANISH_MESSAGES}|texts|messages|spam)", "es"),
    (rf"no (me |nos ){SPANISH_VERBS}( (mas|mensajes|textos|sms|nada|ni|nunca)|( (por favor"
     rf"|porfa|gracias|ya))+( (mas|nunca|ya))*$|$)|no (escriban|escriba|escribas|llamen|llame"
     rf"|llames|contacten|contacte|molesten|moleste|textees|texteen)( (mas|ni|nunca)|( (por"
     rf" favor|porfa|gracias|ya))+( (mas|nunca|ya))*$|$)", "es"),
    (r"^no (llamar|contactar|escribir|textear|molestar)( por favor)?$|no (llamar|contactar"
     r"|escribir) ni (mandar|enviar|escribir|llamar)|^(favor de|por favor) no (llamar|marcar"
     r"|contactar|escribir|textear)(me|nos)?( (mas|nunca|por favor|gracias))*$"
     r"|^(favor de |por favor )?no (me |le |nos )?(llamen|llamar|marquen|marcar|contacten"
     r"|contactar) (a |al )(este |mi )?(numero|telefono|celular|cel)( (mas|nunca|por favor"
     r"|gracias))*$", "es"),
    (rf"(deja|dejen|dejar|deje|dejes|paren|para|pare) (ya )?de (escribir|escribirme|llamar"
     rf"|llamarme|hablarme|marcarme|textear|textearme|molestar|molestarme|contactar|contactarme|(mandar|enviar)"
     rf"(me|nos)? {SPANISH_MESSAGES}|(mandar|enviar)(me|nos)?( mas| ya| por favor| porfa)*$)",
     "es"),
    (r"baja de (la |su |esta )?lista", "es"),
    # "Quiero darme de baja del gimnasio": of a membership, reviewed.
    (r"(darme|dar|darse|dame|denme|deme|dar me|me doy|doy|den|me den) de baja(?! (del|de la"
     r"|de mi|de el|de los|mi|la|el|una|un|su|a) (?!lista|mensajes|textos|sms|promociones"
     r"|envios|notificaciones|numero|telefono|celular))", "es"),
    (r"no (enviarme|mandarme|escribirme|llamarme|textearme|contactarme)"
     rf"|no (enviar|mandar) (mas )?{SPANISH_MESSAGES}|no (enviar|mandar) mas$", "es"),
    (rf"(parar|paren|parenle|pare|cancelar|cancelen|alto|basta|detener|detengan|suspendan"
     rf"|eliminen) (ya )?(a |de |con )?(los |sus |tus |estos |esos |todos los )?"
     rf"{SPANISH_MESSAGES}", "es"),
    (r"no me vuelvan? a (escribir|mandar|enviar|llamar|contactar|textear)", "es"),
    (r"(no|ya no) me (lleguen|llegue|sigan llegando|sigan mandando|sigan enviando)", "es"),
    (rf"no quiero que me ({SPANISH_VERBS}|sigan)( (mas|mensajes|textos|sms|nada|ni|llamando"
     rf"|escribiendo|mandando|enviando)|$)", "es"),
    (r"(borren|borra|borrar|borre|eliminen|elimina|eliminar|elimine|quiten|quita|quitar|quite"
     r"|saquen|saca|sacar|saque) (mi|el|este) (numero|telefono|celular|cel)", "es"),
    (r"(borrenme|borrame|eliminenme|eliminame|quitenme|quitame|saquenme|sacame|borreme|sakenme"
     r"|sakame|quiteme|saqueme|me quiten|me saquen|me borren|me eliminen|salir|bajenme|bajame"
     r"|eliminarme|borrarme|sacarme|quitarme) de (la|su|esta"
     r"|sus|tu) (lista|base)", "es"),
    (r"(no|ya no) (quiero|deseo) (recibir |seguir recibiendo )?(mas )?(sus |tus |estos |los )?"
     rf"{SPANISH_MESSAGES}", "es"),
    (r"(quiero|deseo) desuscribir\w*", "es"),
    (r"(revoco|retiro) mi (consentimiento|permiso|autorizacion)", "es"),
    (rf"ya no (me |nos ){SPANISH_VERBS}|ya no {SPANISH_VERBS} (mas|mensajes|textos|sms|nada)"
     r"|ya no (manden|envien|mande|envie)$", "es"),
    (rf"no {SPANISH_VERBS} (mas )?{SPANISH_MESSAGES}", "es"),
    (r"(dejenme|dejame|dejeme) en paz|no molestar", "es"),
]  # fmt: skip
CLEAR = [(re.compile(rf"\b({pattern})\b"), language) for pattern, language in CLEAR_REQUESTS]
# A negation just before a request, in its sentence, turns it around: "don't stop texting".
NEGATED = re.compile(
    r"\b(dont|do not|didnt|never|wont)( \w+){0,2} to $|\b(dont|do not|never|didnt|wont|cant"
    r"|cannot|couldnt|doesnt)( ever| you| u)? $|\btell (the |your |my |him |her )?(\w+ )?to $"
)
NEGATED_SPANISH = re.compile(r"\b(no|nunca)( me| nos)? $")
NEGATION = re.compile(r"(dont|do not|never|pls dont|please dont|i dont|i do not|no|ya no)\b")

# A lookahead: what follows is neither our messages, nor a list, nor the business itself.
NOT_MESSAGES = (
    r"(?!((these|this|them|it|all|everything|you|us|me|ustedes|usted|ti|su parte|this number"
    r"|este numero|your (company|business|store|office|team|campaign|organization|shop|church"
    r"|brand|practice|clinic))\b|(receive|get|be|contact"
    r"\w*|text\w*|call\w*|messag\w*|textear\w*|escribir\w*|llamar\w*|mandar\w*|enviar\w*"
    r"|molestar\w*|recibir)\b|((your|ur|the|all|any|all your|all the|my|los|sus|estos|la|su"
    r"|esta|mi)\s)?(\w+\s)?(texts?|messages?|msgs|sms|list|lists|mailing|marketing|promos?"
    r"|ads|notifications|alerts|calls|updates|mensajes|textos|llamadas|lista)\b))"
)


@dataclass(frozen=True)
class HeldBack:
    """What makes a request one for a person to read: `reason`, as the review page says it
    ("request “stop texting” that is about someone else"), when `pattern` is found in the
    words after the request, or with `in_the_request`, in its own words too. One that
    `names_the_object` does not hold back a request to leave a list: "quítenme de la lista de
    la iglesia" says which list."""

    reason: str
    pattern: re.Pattern
    in_the_request: bool = False
    names_the_object: bool = False


def _held_back(reason: str, pattern: str, **how: bool) -> HeldBack:
    return HeldBack(reason, re.compile(pattern), **how)


# The holds that may go on to the requests after them in their sentence ("stop calling me
# after 9pm and stop texting me too"); one about a list or a thing is about that alone ("take
# me off the waiting list and stop texting me" asks to stop texts).
HOLDS_THAT_GO_ON = {
    "asks for a while", "asks for another way", "asks for fewer", "is about someone else",
    "keeps some messages", "is about another phone or account",
}  # fmt: skip
HELD_BACK = [
    _held_back(
        "keeps some messages", r"\b(but keep|except|only|solo|pero (sigan|manden|si)|excepto)\b"
    ),
    _held_back("asks for fewer", r"\b(tantos|tantas|so many|so much)\b"),
    _held_back(
        "asks for another way",
        r"\b(instead|en vez|en lugar|is fine|are fine|is better|are better|prefer\w*|mejor"
        r"|just (call|text)|use my|call the|llamen al|llamame|llamenme|escribame|escribanme"
        r"|mandenme (un )?(texto|correo)|email (it|me)|por correo|ill (text|call)"
        r"|i will (text|call)|te (llamo|escribo)|prefiero|(le|les|te) (marco|llamo|regreso)"
        r"|marquenme|marcame)\b"
        r"|(?<!dont )(?<!do not )(?<!never )(?<!ever )\b(call|text|email|phone|ring) me\b"
        r"|\b(and|then|just) (call|text)( me)?$|^ ?(call|text)$",
    ),
    _held_back(
        "asks for a while",
        r"\b(after|before|until|till|til|antes|despues|hasta|during|on weekends|at work|while"
        r"|since|desde|yet|todavia|later|luego|ya llegue|ya estoy|ya sali|ya voy|im here"
        r"|im outside|on my way|omw"
        r"|for (a|one|two|\d+) (week|weeks|month|months|day|days)|today|tonight|tomorrow"
        r"|right now|meeting|driving|busy|in class|un rato|ahorita|hoy|manana|ocupad\w*"
        r"|manejando|en el trabajo|reunion|so early|too early|at night|late at night"
        r"|in the (morning|evening|afternoon)|at \d+|\d+ ?(am|pm|a m|p m)|o ?clock|this week"
        r"|over the holidays|on vacation|en la (manana|noche|tarde)|de noche|tan temprano"
        r"|en la madrugada)\b",
    ),
    _held_back(
        "is about something else",
        rf"^ ?(\w+ )?(from|of|to|for|with) {NOT_MESSAGES}\w|^ ?(\w+ )?(de|del|para) "
        rf"{NOT_MESSAGES}\w|^ ?(it|him|her|them)\b",
        names_the_object=True,
    ),
    _held_back(
        "is about one thing",
        r"^ ?(me |us )?(the|that|this|those|el|la|los|las) (?!(texts?|messages?|msgs|sms|promos?"
        r"|ads|spam|crap|stuff|junk|garbage|mensajes|textos|number|phone|cell|numero"
        r"|telefono)\b)\w",
        names_the_object=True,
    ),
    _held_back(
        "is about someone else",
        r"^ ?(to |for |of |a |para |de )?(my|mi) (wife|husband|son|daughter|kid|kids|mom"
        r"|mother|dad|father|brother|sister|boyfriend|girlfriend|partner|grandma|grandpa"
        r"|employee|friend|esposa|esposo|hijo|hija|mama|papa|hermano|hermana)\b",
    ),
    _held_back(
        "is about someone else",  # "cancel my son's reminders": the request names them
        r"\b(my|mi) (wife|husband|son|daughter|mom|mother|dad|father|brother|sister|boyfriend"
        r"|girlfriend|partner|grandma|grandpa|neighbor|boss)s\b",
        in_the_request=True,
    ),
    _held_back(
        "is about another phone or account",
        r"\b(old|viejo|vieja|anterior|new number|nuevo|keep this|account|cuenta|profile|perfil"
        r"|ending|termina|landline)\b|\b(my|mi|the|el|al|la|a la) (home|house|casa|work|trabajo"
        r"|office|oficina|cell|celular)\b",
    ),
    _held_back(
        "is about a consent of another kind",
        r"\b(surgery|procedure|treatment|photo|release|contract|agreement|waiver|cirugia"
        r"|procedimiento|tratamiento|contrato|foto)\b",
    ),
    _held_back("is for another list", rf"^ ?(for|of|para|del) {NOT_MESSAGES}\w"),
    _held_back("is about a thing of theirs", r"^ ?(on|in) (my|the) (?!(phone|number|cell)\b)\w"),
    _held_back(
        "is about another list",
        r"\b(wait|waiting|waitlist|emergency|guest|sign up|signup|volunteer|grocery|invite"
        r"|prayer|birthday|carpool|class|roster|schedule|shift|espera|invitados|voluntarios"
        r"|(email|e mail|newsletter|cancellation|standby|raffle) list|facebook|instagram"
        r"|whatsapp|messenger)\b",
        in_the_request=True,
    ),
    _held_back(
        "asks for a while",  # the days named in the request too: "stop texting me on Sundays"
        r"\b((mon|tues|wednes|thurs|fri|satur|sun)days?|weekends?|lunes|martes|miercoles"
        r"|jueves|viernes|sabados?|domingos?)\b",
        in_the_request=True,
    ),
]
# A sentence that keeps a channel beside a request to stop ("Unsubscribe me but you can call",
# "No more texts but calls are ok"): the request stops its own channel, and the other one is
# for a person to decide (messaging.keywords.channels_asked, `_rest`).
KEEPS_A_CHANNEL = re.compile(
    r"\b(but|except|still|pero|excepto|todavia|aun)\b|\b(can|may|ok to|okay to|fine to"
    r"|pueden|puede) (still )?(call|text|phone|ring|llamar|escribir|marcar)"
    r"|\b(calls?|texts?|llamadas|mensajes) (are|is|estan|esta) (ok|okay|fine|bien)\b"
)
# A request to be opted out of everything, which a person reads ("Opt me out of everything",
# but "Why did you opt me out of everything?"): its review holds every channel.
OUT_OF_EVERYTHING = re.compile(
    r"\b(opt|take|remove|unsubscribe|unsub)( me| us)?( out)? (of|from) (everything|all of it"
    r"|all of this|all of them)\b"
)
# Beside a request that names one channel, words that may ask to stop all: "Stop calling me.
# Don't send anything either", "Dejen de llamarme. No quiero nada".
EVERYTHING = re.compile(r"\b(anything|everything|both|all of it|nada|todo|tampoco)\b")
# Said in jest: "stop texting me lol", "STOP 😂".
JOKING = re.compile(
    r"\b(lol|lmao|lmfao|jk|jaja\w*|haha\w*|jeje\w*)\b|😂|🤣|😜|😆|😍|🥰|😭|🥹|💀|🤭|🙈|😅|☺|🥺",
    re.IGNORECASE,  # "Stop texting me LOL"
)

# Messages that may mean the contact wants none, without asking: reviewed.
UNCLEAR = [
    (rf"^(please |me )?((quiero|quisiera) )?(exit|salir)\b.*\b{MESSAGES}", "en"),
    (r"who (is|s) (this|that)|whos (this|that)|who dis|who are you"
     r"|do i know you|dont know (who|you)"
     r"|this is a work (phone|number)|not a (patient|customer|client|member) (here |there )?"
     r"anymore|i moved|didnt order|did not order", "en"),
    (r"take me off|remove me|(block|blocking|blocked|reporting|report) (this|you|your|me|my)"
     r"|(pls|please|plz) block|reported as spam|keep (texting|messaging|calling) me"
     r"|never signed up|how did you get (this|my) (number|phone|#)"
     r"|(i )?dont (need|want) (this|these|that|it|your)|only (text|message|send|contact) me",
     "en"),
    (r"why (am i|do i keep|are you|do you keep|r u|are u|is this) (getting|receiving|texting"
     r"|sending|messaging)|(too many|so many|fewer|less) (texts|messages|msgs|txts)"
     r"|text (way )?too much|chill with|(its|it is) \d+ ?(am|pm)|keep (texting|messaging"
     r"|sending)|texts? (in|a|per) (one )?day|every (single )?(day|week)|pause", "en"),
    (r"anymore|any more|no longer (live|own|have|work|go)|sold (that|the|my|it)|passed away"
     r"|who gave (you|u) (this|my)|(no idea|dont know) why (im|i am|i m) getting|instead"
     r"|do not call (list|registry)|not again|block", "en"),
    (r"how did (you|u) get (my|this) (number|#)|where did (you|u) get (my|this) number", "en"),
    # "Moved away please remove", "I'm no longer a customer. Remove.", "I'm done with these
    # messages", "Stop contacting me, by phone or otherwise".
    (r"(opt|take|remove|unsubscribe|unsub)( me| us)?( out)? (of|from) (everything|all of it"
     r"|all of this|all of them)|(dont|do not|please dont|never) reach out"
     r"|(please|pls|plz|kindly|just) remove( me| us| this number| my number)?$"
     r"|no longer (interested( (please|pls|thanks|thank you|at all|anymore))*$|a (customer"
     r"|client|patient|member))|not interested anymore"
     rf"|(im|i am|were|we are) done with (these|your|all these|all your|all the|ur|the|all) "
     rf"{PLURAL_MESSAGES}|(im|i am) done with (you|you guys|all this|this)$"
     r"|^(me |us )?(by|via) (tele)?phone or otherwise$",
     "en"),
    # Ways to say stop that no clear request above reads: a person decides.
    (r"(dont|do not) want to be (contacted|called|texted|bothered)"
     r"|i (already )?asked (you )?to (be )?(removed|taken off|unsubscribed|opted out)"
     r"|(dont|do not|no more) leav(e|ing) (me )?(any )?(more )?(voicemails|voice ?mails"
     r"|voice messages|recorded messages)"
     r"|^((please|pls) )?no (more )?((pre ?)?recorded (messages|calls)|automated (calls|messages)"
     r"|telemarket\w*( calls)?|sales calls)( please| pls| thanks| thank you)?$"
     r"|(opt|take|remove|get) (me |us )?(out of|off|from) (your |the |all )?telemarket\w*"
     rf"|{PRESSED_THE_KEY}|(calls|texts|messages|robocalls|voicemails) (wont|will not|dont"
     r"|do not|never|didnt|did not|havent|have not) stop|(you|u|yall|you guys|they) (keep|kept"
     r"|still|are still|re still) (calling|texting|messaging|leaving voicemails)"
     r"|^(please )?(dont|do not) (ever )?(bother|contact|phone|ring) me\b"
     r"|^(please )?(dont|do not) send (me )?(any )?(more )?(texts|messages)\b"
     r"|^no calling( (or|and|me|this|after|on|before|during|at|please|pls|no)\b|$)"
     r"|want off (this|your|the) list|^(please )?dnc\b|\bdnc (me|this|my)\b"
     r"|(mark|put|add) me (as |on |to )?(the |your )?dnc|on the dnc\b"
     r"|refrain from (contacting|texting|calling)|rather not (get|receive) (texts|messages"
     r"|calls|these)", "en"),
    (r"no me (llamen|escriban|marquen|contacten) (en|a|por|los|las|tan|hasta|despues|antes"
     r"|durante)|no me (manden|envien) (los|las|tan|hasta|despues|antes|durante|en)"
     r"|no me marquen|dejen de marcar\w*|no vuelvan a (llamar|escribir|marcar)"
     r"|no me hablen( mas| al| a mi| a este| por telefono|$)|(favor de|por favor) no hablarme",
     "es"),
    # A channel refused for a while or a place: "No calls on weekends please".
    (r"^no (more )?(phone )?(calls|texts|messages|voicemails) (on|at|after|before|during|in"
     r"|until|till|while|when)", "en"),
    (r"(never|didnt|did not|dont remember) (sign(ed)? up|subscrib\w*|opt(ed)? in|gave)", "en"),
    (r"not interested|spam|reported|enough|annoying|tired of|sick of|text less|fewer texts"
     r"|(third|fourth|fifth|\d+(st|nd|rd|th)) (text|message)|^(again|otra vez)$"
     r"|(who r u|idk who|where(d| did) (you|u) get)|dont remember sign\w*|not a (customer|client"
     r"|patient|member)|never been (to|there)|havent been (a|to|there)|(isnt|not) mine"
     r"|new number|just send|only send|prefer (email|calls|texts|a call)|(my|mi) \w+s (phone"
     r"|number|cell)|this is a (business|work|company) (line|phone|number)|this number is for"
     r"|block\w*|bloque\w*"
     r"|report\w*|reportar|muchos mensajes|cada dia|molest\w*", "en"),
    (r"ya no es mi|fallecio|murio|quien (le|te|les) dio mi numero|en vez de|en lugar de"
     r"|mejor (mandenme|envienme|llamenme|escribanme)|(mandenme|envienme) solo|correo"
     r"|tanto mensaje|parenle|pausar", "es"),
    (r"para (los |sus )?(mensajes|textos)|(no|ya no) (te |lo |la |los |les )?conozco"
     r"|equivoc\w*|no pedi|ya no (voy|soy|vivo"
     r"|trabajo)|(tantos|tantas|demasiados|demasiadas) (mensajes|textos|promociones)|fastidio"
     r"|(por que|porque) me (siguen|sigues|estan|mandan|envian|escriben)"
     r"|como (consiguieron|obtuvieron|tienen|sacaron) mi numero|solo (mandenme|envienme"
     r"|manden|envien)", "es"),
    # "No quiero recibir nada", "Ya no quiero nada".
    (r"(no|ya no) (quiero|deseo) (recibir|seguir recibiendo) nada|^(no|ya no) (quiero|deseo) nada"
     r"( (mas|de ustedes|por favor|gracias))*$", "es"),
    (r"numero equivocado|quien (es|habla|eres)|no me interesa"
     r"|basta|de donde (sacaron|saco|obtuvieron|tienen|tiene) mi numero"
     r"|no me (inscribi|suscribi|registre)|nunca me (inscribi|suscribi|registre)", "es"),
]  # fmt: skip
UNCLEAR_PATTERNS = [(re.compile(rf"\b({pattern})\b"), language) for pattern, language in UNCLEAR]
# A request to stop in a language other than English and Spanish, which no rule above reads:
# reviewed, for a person to ask ("СТОП", "Arrêtez", "停止", "退订", "Dừng lại"); in a short
# reply only ("Il arrête pas de pleuvoir" is about the rain).
OTHER_LANGUAGES = re.compile(
    r"^(стоп|остановите|отписаться|отпишите\w*|arret\w*|desabonne\w*|desinscri\w*|stopp"
    r"|abbestellen|dung lai|ngung|huy dang ky|annulla\w*|parem)\b"
    r"|\b(стоп|отписаться)\b|停止|退订|退訂|取消订阅|取消訂閱|配信停止|수신거부|그만"
)
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
OTHER_MEANING = re.compile(r"\b(" + "|".join(OTHER_MEANINGS) + r")\b")
# The number no longer reaches whoever consented (messaging.keywords, step 3): "Wrong number",
# "This isn't Maria's phone anymore", "Número equivocado", "Se equivocó de número", and
# WRONG_PERSON's. Read in plain() words; after the requests to stop, which win.
WRONG_NUMBER = re.compile(
    r"\b(wrong (number|num|numbr|nmbr|phone|person|people|ppl|guy|girl|lady)\b(?! of| earlier)"
    r"|(isnt|is not|not) (my|\w+s) (phone|number|cell|num)( \w+)?( anymore| any more)?$"
    r"|this (number |phone )?isnt mine|not my number( anymore)?$"
    r"|not the (number|phone) (for|of)|(number|phone) (doesnt|does not) belong to"
    r"|not the (person|one|guy|lady|woman|man) (you|youre|you are|u|ur)\b"
    r"|(whoever|who) (youre|you are|ur) (looking|trying|texting)"
    r"|numero (equivocado|incorrecto)|se equivoc\w* de (numero|persona)"
    r"|equivocaron de (numero|persona)|persona equivocada|no soy la persona"
    r"|(buscan|busca|buscando) a otra persona|ya no es (el|mi) (numero|telefono|celular) de"
    r"|no conozco a (ningun|ninguna|ninguno|ese|esa|este|esta) )"
    r"|^equivocad[oa]$"
)
# Where the wrong number is the sender's own mistake, not ours: "Did I give you the wrong
# number?", "Sorry wrong number, meant to text my wife".
# The sender's own mistake said anywhere in a reply that also asks to stop ("Sorry wrong
# number, meant to text my wife. Please remove this number"), not ours ("you meant to…").
SENDERS_OWN_WRONG_NUMBER = re.compile(
    r"\b(i|we|sorry|oops|my bad)\b(?:(?!\byou\b).)*\bmeant (to|for)"
    r"|\b(i|we) (gave|give|sent|put|wrote|typed) (you )?(the |a )?wrong|wrong (chat|thread|convo)"
)
OWN_WRONG_NUMBER = re.compile(
    r"\b((i|we) (gave|give|sent|put|wrote|typed) (you )?(the |a )?wrong|meant (to|for)"
    r"|wrong (chat|thread|convo))\b"
)
# A capitalised word after "not" that is no name: "I'm not Interested.", "not Monday".
NOT_A_NAME = (
    r"(?!(?i:interested|sure|available|home|able|ready|sorry|kidding|mad|going|coming|thanks"
    r"|cool|funny|needed|nice|fair|necessary|helpful|wanted|welcome|amused|right|true|good"
    r"|fine|joking|ok|okay|acceptable|appropriate|legal|fun|cute|normal|professional"
    r"|now|today|tomorrow|tonight|here|there|yet|really|allowed|aware|happy|ok|okay|free|busy"
    r"|me|this|that|anymore|again|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|january|february|march|april|may|june|july|august|september|october|november"
    r"|december|lunes|martes|miercoles|miércoles|jueves|viernes|sabado|sábado|domingo"
    r"|hoy|manana|mañana)\b)"
)
# "I'm not Dana", "This isn't Mike", "Not Mike", "Sorry, no Jessica here", "Wrong #".
WRONG_PERSON = re.compile(
    r"(?i:\b(i['’]?m not|no soy|this is ?n['’]?t|there['’]?s no|no hay ning[uú]n[oa]?"
    rf"|no vive ning[uú]n[oa]?|sorry,? no)) {NOT_A_NAME}[A-ZÁÉÍÓÚÑ]\w+(\W*$|(?i: here| at this))"
    rf"|^\W*(?i:not) {NOT_A_NAME}[A-ZÁÉÍÓÚÑ]\w+\W*$"
    rf"|(?i:\bno) {NOT_A_NAME}[A-ZÁÉÍÓÚÑ]\w+(?i: here\b| at this (number|phone|#))"
    r"|(?i:\bwrong\s*#)"
)
# A stop sign alone is a STOP; these others, or one in a longer message, are reviewed.
STOP_SIGNS = {"🛑", "⛔"}
OTHER_STOP_SIGNS = {"🚫", "✋", "🤚", "🙅", "🔕"}
SENTENCES = re.compile(r"[.!?¡¿;,\n]+")
PUNCTUATION = OPT_IN_PUNCTUATION  # spaces of every kind, and punctuation


# What follows a STOP that says it is meant: "STOP. I never want to hear from you again".
IMPATIENT = re.compile(
    r"\b(never (signed|asked|gave|agreed|subscribed|want)|didnt (sign|ask|agree|subscribe)"
    r"|did not|not interested|no longer|(told|asked) you|said stop|sick of|tired of"
    r"|annoying|spam|harass\w*|unsubscribe|wrong number|who is this|dont text|do not text"
    r"|stop texting|remove me|take me off|do not call|nunca|no me interesa"
    r"|equivoc\w*)\b"
)

# Which channels a request names (messaging.keywords.channels_asked, channels_to_review).
CALLS = re.compile(
    r"\b(call\w*|robocall\w*|robo calls?|voicemail\w*|voice ?mails?|voice messages?|phoning"
    r"|ringing|llamadas?|llamar\w*|llamen|llame|llames|marquen|marcar\w*|buzon|voz"
    r"|(pre ?)?recorded (messages?|calls?)|automated calls?|sales calls?"
    r"|hablarme por telefono)\b"
)
# Other words for calls, which a review holds too ("do not phone me again", "no me marquen"),
# but which never make a clear request stop calls: "stop texting me and just phone me" asks to
# be phoned.
CALLS_TOO = re.compile(
    r"\b(phone (me|us)|ring me|dialing|dialling|dial (me|us|this)|(contact\w*|bother\w*"
    r"|harass\w*)( me| us)? (by|via|over the) (tele)?phone|(contacten|molesten|contactar\w*)"
    r"( me| nos)? por telefono|no me hablen|^(me |us )?(by|via) (tele)?phone or otherwise$"
    rf"|{PRESSED_THE_KEY}|telemarket\w*)\b"
)
# "DNC", the Do Not Call list, and telemarketing, by text too: both channels (a text reaches
# the phone too).
BOTH_CHANNELS = re.compile(r"\b(dnc|telemarket\w*)\b")
# What may follow a request to say it is about calls: "stop contacting me by phone".
BY_PHONE = re.compile(r"^( me| us)? (by|via|over the) (tele)?phone\b|^( me| nos)? por telefono\b")
TEXTS = re.compile(  # a voice message or a recorded one is a call's
    r"\b(text\w*|txt\w*|(?<!voice )(?<!recorded )messag\w*|msgs?|sms|mensaj\w*|textos?|escrib\w*"
    r"|textear|spam\w*|communications?|contact\w*|manden|mande|envien|envie)\b"
)
