"""Ordinary replies stay ordinary: the wordings added for requests to stop calls or
everything (c3127db) first made a cold review's ordinary replies hard opt-outs ("Favor de no
llamar al timbre"), reviews ("The stain is hard to remove") or a wider stop ("Stop texting me
on the phone" stopped calls)."""

import pytest

from messaging.keywords import Intent, read


@pytest.mark.parametrize(
    "words",
    [
        # "llamar al timbre / a la puerta" is ringing the doorbell / knocking: the new
        # "(favor de|por favor) no (llamar|...)" rule makes each a hard opt-out of calls.
        "Favor de no llamar al timbre, el bebé está dormido",
        "Por favor no llamar a la puerta, toquen el timbre",
        # "don't write anything on the card": a hard opt-out of SMS.
        "Favor de no escribir nada en la tarjeta",
        # "don't contact the owner, I'll pay": about someone else, a hard opt-out of SMS.
        "Favor de no contactar al dueño, yo pago",
    ],
)
def test_ordinary_spanish_instruction_is_not_a_hard_opt_out(words):
    assert read(words).intent != Intent.OPT_OUT


@pytest.mark.parametrize(
    "words",
    [
        "The stain is hard to remove",  # "remove( me| us|...)?$": any reply ending in remove
        "Which one should I remove?",
        "Is there a fee to remove",
        "I'm done with the paperwork",  # "(im|i am) done with (the|...)"
        "I am done with the payment",
        "No longer interested in the blue one, I'll take the red",
        "Can I pay by phone or otherwise?",  # "(by|via) phone or otherwise", holds calls too
        "No quiero nada más, gracias, ya estoy lleno",  # "no quiero nada" at a restaurant
        "Ya no quiero nada de postre",
        "Il arrête pas de pleuvoir",  # French "it won't stop raining": OTHER_LANGUAGES
    ],
)
def test_ordinary_reply_is_not_held_for_review(words):
    assert read(words).intent == Intent.OTHER


@pytest.mark.parametrize(
    "words",
    [
        # "on the phone" is the handset here, not a call: CALLS now matches
        # "(by|via|over the|on the) (tele)?phone" and the reply stops calls too (hard).
        "Stop texting me on the phone",
        "No more messages on the phone",
    ],
)
def test_a_request_about_texts_on_the_phone_does_not_stop_calls(words):
    from contacts.models import Channel

    reading = read(words)
    assert reading.intent == Intent.OPT_OUT
    assert reading.channels == (Channel.SMS,)
