"""Replies that the wordings added this session first misread, as a cold review found:
asking to be reached by phone stopped calls, "dialysis" named calls, "Yo no llamé a este
número" and questions about opting out of everything were hard opt-outs. Each reads as it
did before those wordings, or as a request to stop still missed is read now."""

import pytest

from contacts.models import Channel
from messaging.keywords import Intent, read


@pytest.mark.parametrize(
    "words",
    [
        # A request to stop texts that asks to be reached by phone: "(by|via|over the)
        # (tele)?phone", "por telefono" and "hablen" are now CALLS, so channels_asked adds
        # calls to the hard opt-out (at 9b36b1e: SMS only).
        "Please stop the texts and reach me by phone",
        "No more texts just reach me by phone",
        "Stop the text reminders and confirm by phone",
        "No me manden mensajes háblenme por teléfono",
        # "talk to my husband": hablen is a call now.
        "Ya no me manden mensajes hablen con mi esposo",
        # "dial\w*" reads "dialysis" as calls.
        "Stop texting me about dialysis",
    ],
)
def test_a_request_to_stop_texts_that_asks_for_calls_does_not_stop_calls(words):
    reading = read(words)
    assert reading.intent == Intent.OPT_OUT
    assert Channel.CALLS not in reading.channels, reading


def test_dialysis_reminders_stop_texts_not_calls_alone():
    # "dial\w*" in CALLS, and no texting word in the sentence: calls alone, texts go on.
    reading = read("Stop sending me the dialysis reminders")
    assert reading.intent == Intent.OPT_OUT
    assert Channel.SMS in reading.channels, reading


@pytest.mark.parametrize(
    "words",
    [
        # "I didn't call this number": the new "no (me )?(llame|...) (a|al) (este|mi) ..."
        # rule reads the preterite "llamé" (accent gone) as "don't call": a hard opt-out of
        # calls. A plausible answer to a missed-call text-back.
        "Yo no llamé a este número",
        "No llamé a este número, quién es?",
        "Perdón no llamé a este número fue mi hijo",
        "Yo no llamé a mi celular",
    ],
)
def test_i_did_not_call_this_number_is_not_a_hard_opt_out(words):
    assert read(words).intent != Intent.OPT_OUT, read(words)


@pytest.mark.parametrize(
    "words",
    [
        # The new Spanish rules take "favor de no llamar a este número" but not the same
        # request with teléfono / celular, nor "No llamar a este número": read as ordinary.
        "Favor de no llamar a este teléfono",
        "Favor de no llamar a mi celular",
        "No llamar a este número",
        "No llamar a mi celular",
        "No le marquen a este número",
        "Dejen de marcar a este número",
        "Dejen de marcar",
        "No me hablen al celular",  # the new rule takes "a mi celular", not "al celular"
        "Favor de no hablarme",
        "No vuelvan a marcar a este número",
        "Please do not reach out again",
    ],
)
def test_spanish_requests_to_stop_calls_are_not_ordinary_replies(words):
    assert read(words).intent in (Intent.OPT_OUT, Intent.POSSIBLE_OPT_OUT), read(words)


@pytest.mark.parametrize("words", ["This is Dung Lai", "Ok thanks Dung Lai"])
def test_a_vietnamese_name_is_no_request_in_another_language(words):
    # OTHER_LANGUAGES' "dung lai" (Dừng lại) is also a common Vietnamese name.
    assert read(words).intent == Intent.OTHER, read(words)


@pytest.mark.parametrize(
    "words",
    [
        # "opt (me )?out (of|from) ... everything|all of it" (c3127db): a question or a
        # complaint about an opt-out, or someone else's, is now a hard opt-out of every
        # channel (at 9b36b1e: ordinary, or reviewed). The rule's lookbehinds spare "can i",
        # "could i", "do i" only; the same weakness existed for "the texts".
        "Did you opt me out of everything? I want my reminders back",
        "Why did you opt me out of everything",
        "Did I opt out of everything?",
        "My wife wants to opt out of everything",
    ],
)
def test_a_question_about_opting_out_of_everything_is_not_a_hard_opt_out(words):
    assert read(words).intent != Intent.OPT_OUT, read(words)


@pytest.mark.parametrize(
    "words",
    [
        # Already a hard opt-out of SMS at 9b36b1e (a delivery reply), now of calls too:
        # EVERYTHING's "anything|nada|both" in any clear request makes it every channel.
        "Don't send me anything else, I got the package",
        "No me manden nada más, ya lo recibí",
        "Cancel both reminders",
    ],
)
def test_anything_or_both_in_a_request_about_texts_does_not_stop_calls(words):
    assert Channel.CALLS not in read(words).channels, read(words)


@pytest.mark.parametrize(
    ("body", "channels"),
    [("EXIT SMS", ("sms",)), ("Exit texts", ("sms",)), ("Exit calls", ("calls",)),
     ("Salir llamadas", ("calls",)), ("salir de los mensajes", ("sms",)),
     ("please exit me", ("sms",)), ("Exit texts and calls", ("sms", "calls")),
     ("Exit text messages", ("sms",)), ("Exit texts now", ("sms",)),
     ("Exit texts thanks", ("sms",)), ("Quiero salir de los mensajes", ("sms",)),
     ("Salir de los mensajes y llamadas", ("sms", "calls")),
     ("Salir de los mensajes ya", ("sms",)), ("Salir de las promociones", ("sms",))],
)  # fmt: skip
def test_exit_naming_the_messages_is_a_request_to_stop_them(body, channels):
    """A review found these ordinary replies: EXIT and SALIR say nothing in a longer message,
    unless it names the messages."""
    reading = read(body)
    assert (reading.intent, reading.channels) == (Intent.OPT_OUT, channels)


@pytest.mark.parametrize("body", ["Exit now", "Salir ahora", "salir ya?", "Exit please"])
def test_exit_with_courtesy_is_reviewed(body):
    """ "Leaving now" is as likely, as "Ok cancel" is an appointment's."""
    assert read(body).intent == Intent.POSSIBLE_OPT_OUT


@pytest.mark.parametrize(
    "body", ["Exit the deal", "Exit the call", "Exit my reminder", "Exit the offer", "Exit 12"]
)
def test_exit_of_one_thing_is_no_opt_out(body):
    """A review found these hard opt-outs: EXIT names the messages only in the plural, as
    CANCEL does."""
    assert read(body).intent != Intent.OPT_OUT


@pytest.mark.parametrize(
    "body", ["EXIT TEXT", "Exit text", "Exit message", "Exit marketing", "Exit promo",
             "Exit all marketing"],
)  # fmt: skip
def test_exit_naming_the_messages_in_the_singular_is_not_an_ordinary_reply(body):
    """A review found these read as nothing once EXIT named messages in the plural alone."""
    assert read(body).intent in (Intent.OPT_OUT, Intent.POSSIBLE_OPT_OUT)


def test_exit_texts_and_calls_with_an_ampersand_stops_both():
    """As "Stop texts & calls" is read (plain() removes the "&")."""
    reading = read("Exit texts & calls")
    assert reading.intent == Intent.OPT_OUT
    assert {str(c) for c in reading.channels} == {"sms", "calls"}


@pytest.mark.parametrize(
    "body", ["Me quiero salir de los mensajes", "Exit all the texts", "Exit text alerts",
             "Exit sms messages", "Exit texts asap"],
)  # fmt: skip
def test_exit_or_salir_naming_the_messages_otherwise_is_at_least_reviewed(body):
    assert read(body).intent in (Intent.OPT_OUT, Intent.POSSIBLE_OPT_OUT)
