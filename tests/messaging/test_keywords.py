import importlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contacts.models import MATCHED_LENGTH, Channel, opt_in_words
from messaging.keywords import Intent, Reading, classify, read


@pytest.mark.parametrize(
    "body",
    ["STOP", "stop", " Stop. ", "STOP!", "StopAll", "unsubscribe", "Cancel", "END", "quit",
     "revoke", "OPTOUT", "opt out", "Opt-Out", "  OPT   OUT  ", "¡Stop!", "stop…"],
)  # fmt: skip
def test_opt_out_keywords_in_any_case_and_punctuation(body):
    assert classify(body) == Intent.OPT_OUT


@pytest.mark.parametrize("body", ["START", "start", "Unstop", "yes", "Yes!"])
def test_opt_in_keywords(body):
    assert classify(body) == Intent.OPT_IN


@pytest.mark.parametrize("body", ["HELP", "help?", "Info"])
def test_help_keywords(body):
    assert classify(body) == Intent.HELP


@pytest.mark.parametrize(
    "body",
    ["Please stop texting me", "take me off your list", "Remove me from this", "don't text me",
     "no more messages please", "unsubscribe me", "I want to opt out", "leave me alone!!"],
)  # fmt: skip
def test_clear_requests_are_opt_outs(body):
    assert classify(body) == Intent.OPT_OUT


@pytest.mark.parametrize(
    ("body", "matched"),
    [
        ("please stop", "keyword STOP with “please”"),
        ("stop please", "keyword STOP with “please”"),
        ("unsubscribe please", "keyword UNSUBSCRIBE with “please”"),
        ("STOP STOP STOP", "keyword STOP repeated"),
        ("STOP ALL", "keyword STOP ALL"),
        ("stop 🛑", "keyword STOP"),
        ("Stooooop!!", "keyword STOP"),
        ("Stpo", "one typing error from STOP: “stpo”"),
        ("sotp", "one typing error from STOP: “sotp”"),
        ("unsubcribe", "one typing error from UNSUBSCRIBE: “unsubcribe”"),
        ("quit texting me", "request “quit texting”"),
        ("I revoke my consent", "request “revoke my consent”"),
        ("Please remove my number", "request “remove my number”"),
        ("Take my number off your list", "request “take my number off your list”"),
        ("Thanks for everything. STOP.", "keyword STOP, as the last sentence"),
    ],
)
def test_clear_requests_are_opt_outs_that_say_which_rule_matched(body, matched):
    assert read(body) == Reading(Intent.OPT_OUT, matched, "en")


@pytest.mark.parametrize(
    ("body", "matched"),
    [
        ("ALTO", "keyword ALTO"),
        ("No más", "keyword NO MAS"),
        ("no mas mensajes por favor", "request “no mas mensajes”"),
        ("Stop por favor", "keyword STOP with “por favor”"),
        ("Ya no me manden mensajes", "request “ya no me manden”"),
        ("Quiero darme de baja", "request “darme de baja”"),
    ],
)
def test_spanish_requests_are_opt_outs_answered_in_spanish(body, matched):
    reading = read(body)
    assert (reading.intent, reading.language) == (Intent.OPT_OUT, "es"), reading
    assert reading.matched == matched


def test_a_request_that_names_calls_alone_stops_calls():
    assert read("Stop calling me").channels == (Channel.CALLS,)
    assert read("don't call or text me").channels == (Channel.SMS, Channel.CALLS)
    assert read("stop texting me").channels == (Channel.SMS,)


@pytest.mark.parametrize(
    "body",
    ["Cancel my appointment", "Can you stop by at 5?", "the end of the week",
     "I can't stop laughing", "Don't stop texting me the deals!", "Subscribe", "I quit smoking"],
)  # fmt: skip
def test_a_keyword_inside_another_meaning_is_never_an_opt_out(body):
    assert classify(body) != Intent.OPT_OUT


@pytest.mark.parametrize(
    ("body", "matched"),
    [
        ("Who is this?", "may ask to stop: “who is this”"),
        ("stop sending the promos but keep the reminders",
         "request “stop sending the promos” that keeps some messages"),
        ("stop texting me lol", "request “stop texting”, maybe in jest"),
        ("STOP 😂", "keyword STOP, maybe in jest"),
        ("Stop, I'm on my way", "keyword STOP, as a sentence with more after it"),
        ("Ok cancel", "keyword CANCEL with “ok”: “cancel” may mean something else"),
        ("Don't call, text me instead", "request “dont call” that asks for another way"),
        ("Don't text me after 9pm", "request “dont text me” that asks for a while"),
        ("Stop texting my son, he's 12", "request “stop texting” that is about someone else"),
        ("Take me off the waiting list", "request “take me off the waiting list” that is about "
         "another list"),
        ("I want to opt out of the insurance", "request “i want to opt out” that is about "
         "something else"),
        ("Top", "“top”, one letter from STOP"),
    ],
)  # fmt: skip
def test_an_unclear_message_goes_to_review_saying_why(body, matched):
    reading = read(body)
    assert (reading.intent, reading.matched) == (Intent.POSSIBLE_OPT_OUT, matched)


BOTH = (Channel.SMS, Channel.CALLS)


@pytest.mark.parametrize(
    ("body", "channels"),
    [
        ("Please stop calling me so much", BOTH),
        ("stop calling me lol", BOTH),
        ("Please stop leaving voicemails", BOTH),
        ("Don't call, text me instead", BOTH),
        ("Stop, I'll just call you instead", BOTH),  # came by text: holds texts too
        ("Who is this? Call me", BOTH),
        ("Don't call me on Sundays", BOTH),  # a while, as "on Sunday" is
        ("No calls on weekends please", BOTH),
        ("Ok cancel", (Channel.SMS,)),
        ("Stop texting my son, he's 12", (Channel.SMS,)),
    ],
)
def test_a_reply_to_review_holds_texts_and_calls_too_where_it_names_them(body, channels):
    assert read(body) == Reading(Intent.POSSIBLE_OPT_OUT, read(body).matched, channels=channels)


@pytest.mark.parametrize(
    ("body", "channels"),
    [
        ("Please stop calling me", (Channel.CALLS,)),
        ("Stop texting and calling me", BOTH),
        ("No more calls or texts please", BOTH),
        ("Unsubscribe me please", (Channel.SMS,)),
        # Every request of the reply counts, not only the first.
        ("Stop calling me and unsubscribe me", BOTH),
        ("Stop calling me. Stop texting me too.", BOTH),
        ("Please stop calling me. No more texts either.", BOTH),
        ("Please stop calling. Remove me from your list", BOTH),
        ("Stop calling me. STOP", BOTH),
        # A request held back adds nothing to the clear one beside it.
        ("Unsubscribe me for a week. Stop calling me", (Channel.CALLS,)),
        ("Leave me alone until Monday. Stop calling me", (Channel.CALLS,)),
    ],
)
def test_a_clear_request_stops_calls_alone_only_where_it_asks_that(body, channels):
    reading = read(body)
    assert (reading.intent, reading.channels) == (Intent.OPT_OUT, channels)


SMS, CALLS = (Channel.SMS,), (Channel.CALLS,)


@pytest.mark.parametrize(
    ("body", "stops", "reviewed"),
    [
        # A request held back, beside a clear one.
        ("Stop calling me after 9pm. Unsubscribe me", SMS, CALLS),
        ("Unsubscribe me for a week. Stop calling me", CALLS, SMS),
        ("Stop calling me after 9pm. STOP", SMS, CALLS),
        ("Unsubscribe me for a week. Stop calling me too", CALLS, SMS),
        ("Stop texting me after 9pm. Stop calling me", CALLS, SMS),
        ("Stop texting me until Monday. Stop calling me", CALLS, SMS),
        # What else the reply says, read as a reply of its own would be.
        ("Please stop leaving voicemails. Unsubscribe me", SMS, CALLS),
        ("No llamadas por favor. ALTO", SMS, CALLS),
        ("Stop calling me and unsubscribe", CALLS, SMS),
        ("Stop calling me. Cancel", CALLS, SMS),
        ("Dejen de llamarme. Baja", CALLS, SMS),
        ("Stop calling me. Too many texts", CALLS, SMS),
        ("Stop calling me and block this number", CALLS, SMS),
        ("Stop calling me, and the texts too", CALLS, SMS),
        ("No me llamen. Y los mensajes también", CALLS, SMS),
        # A request that keeps the other channel: that one is for a person to decide.
        ("Unsubscribe me but you can call", SMS, CALLS),
        ("Unsubscribe me from texts but I still want calls", SMS, CALLS),
        ("Ya no me manden mensajes pero me pueden llamar", SMS, CALLS),
        # The clear requests stop all that the rest would: nothing is left to review.
        ("Unsubscribe me for a week. STOP", SMS, ()),
        ("Stop calling me after 9pm. Stop calling and texting me", BOTH, ()),
        ("Stop calling me and unsubscribe me", BOTH, ()),
        ("STOP. I never signed up", SMS, ()),
        ("Please stop calling me. Thanks", CALLS, ()),
        ("Unsubscribe me please", SMS, ()),
        ("No more robocalls. STOP", BOTH, ()),
    ],
)
def test_what_a_clear_request_leaves_is_reviewed_where_the_reply_asks_it(body, stops, reviewed):
    reading = read(body)
    assert (reading.intent, reading.channels) == (Intent.OPT_OUT, stops)
    if reviewed:
        assert reading.to_review.intent == Intent.POSSIBLE_OPT_OUT
        assert reading.to_review.channels == reviewed
    else:
        assert reading.to_review is None


@pytest.mark.parametrize(
    "body",
    [
        "Stop calling me after 9pm and stop texting me too",
        "Stop calling me after 9pm and unsubscribe me",
        "Unsubscribe me for a week and stop calling me",
        "Don't call me on weekends and don't text me either",
        "Stop calling me and just text me and leave me alone",
        "Dejen de llamarme hasta el lunes y dejen de escribirme también",
    ],
)
def test_a_request_after_one_held_back_in_its_sentence_is_reviewed_with_it(body):
    """The hold may go on ("too", "either"): nothing of the sentence becomes a hard opt-out."""
    reading = read(body)
    assert (reading.intent, reading.channels) == (Intent.POSSIBLE_OPT_OUT, BOTH)


@pytest.mark.parametrize(
    ("body", "stops"),
    [
        ("Take me off the waiting list and stop texting me", SMS),  # the list's hold is its own
        ("Remove me from the prayer list and stop calling me", CALLS),
    ],
)
def test_a_hold_about_a_list_does_not_go_on_to_the_next_request(body, stops):
    reading = read(body)
    assert (reading.intent, reading.channels) == (Intent.OPT_OUT, stops)


@pytest.mark.parametrize(
    "body", ["Stop texting me LOL", "Lol stop texting me", "STOP texting me HAHA"]
)
def test_a_request_in_jest_is_reviewed_in_capitals_too(body):
    assert read(body).intent == Intent.POSSIBLE_OPT_OUT


@pytest.mark.parametrize(
    "body",
    [
        "Stop calling me. Don't send anything either",
        "Dejen de llamarme. No quiero nada",
        "Stop calling me. 🛑",
        "Stop calling me. Knock it off",
    ],
)
def test_beside_a_request_to_stop_calls_words_that_may_ask_more_are_reviewed(body):
    reading = read(body)
    assert (reading.intent, reading.channels) == (Intent.OPT_OUT, CALLS)
    assert reading.to_review.channels == SMS


def test_a_long_reply_of_requests_is_read_without_end():
    reading = read("stop " * 400 + "texting " * 400)
    assert reading.intent in (Intent.OPT_OUT, Intent.POSSIBLE_OPT_OUT)


@pytest.mark.parametrize(
    ("body", "stops"),
    [
        ("Wrong number. Stop calling me", CALLS),
        ("Número equivocado. Dejen de llamarme", CALLS),
        ("Stop calling me. I'm not Dana", CALLS),
        ("Sorry, no Jessica here. Stop calling me", CALLS),
        ("Dejen de llamarme. No soy Rosa", CALLS),
        ("I'm not Dana. Stop texting me", SMS),
        ("This is not Maria's number, stop calling", CALLS),
    ],
)
def test_a_wrong_number_beside_a_clear_request_is_read_as_one_too(body, stops):
    """Whoever consented is not there: the consent goes, with the opt-out."""
    reading = read(body)
    assert (reading.intent, reading.channels, reading.wrong_number) == (
        Intent.OPT_OUT, stops, True
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "matched"),
    [
        ("Wrong number", "wrong number: “wrong number”"),
        ("I'm not Dana", "wrong number: “I'm not Dana”"),
        ("No soy Rosa", "wrong number: “No soy Rosa”"),
    ],
)
def test_a_wrong_number_is_read_as_one_saying_why(body, matched):
    assert read(body) == Reading(Intent.WRONG_NUMBER, matched)


def test_a_wrong_number_that_says_more_is_reviewed_too():
    reading = read("Wrong number. How did you get this number?")
    assert (reading.intent, reading.wrong_number) == (Intent.POSSIBLE_OPT_OUT, True)


@pytest.mark.parametrize(
    "body",
    ["I'm not Interested.", "No Thanks", "No Maria is my daughter, she will come",
     "Can we do Tuesday? not Monday", "Did I give you the wrong number?",
     "Sorry wrong number, meant to text my wife", "Im not Dana, I'm her mom. She'll be there"],
)  # fmt: skip
def test_what_is_no_wrong_number_of_ours_is_not_read_as_one(body):
    reading = read(body)
    assert reading.intent != Intent.WRONG_NUMBER and not reading.wrong_number


def test_a_negation_just_before_a_request_turns_it_around():
    assert classify("I don't want you to stop texting me") != Intent.OPT_OUT
    assert classify("Don't stop texting me the deals!") != Intent.OPT_OUT
    assert classify("I never signed up, stop texting me") == Intent.OPT_OUT
    assert classify("I won't buy anything so stop texting me") == Intent.OPT_OUT


def test_what_a_reading_says_fits_the_ledger_however_long_the_reply():
    reading = read("Stop " + "please " * 100)
    assert reading.intent == Intent.OPT_OUT
    assert len(reading.matched) <= MATCHED_LENGTH
    assert len(read("stop sending me " + "very " * 100 + "long texts").matched) <= MATCHED_LENGTH


@pytest.mark.parametrize("body", ["See you at 5", "", "Thanks!", "Yes please book it"])
def test_other_messages_change_nothing(body):
    assert classify(body) == Intent.OTHER


@given(st.text(max_size=200))
def test_any_text_has_an_intent(body):
    assert classify(body) in set(Intent)


@pytest.mark.parametrize("body", ["STOP\u200b", "\ufeffSTOP", "STOP\u3000", "\x1cSTOP"])
def test_a_stop_with_any_space_around_it_is_an_opt_out_as_a_start_is_an_opt_in(body):
    assert classify(body) == Intent.OPT_OUT
    assert classify(body.replace("STOP", "START")) == Intent.OPT_IN


COURTESY_WORDS = st.sampled_from(["please", "pls", "now", "thanks", "!!", "🛑", "...", "por favor"])


@given(
    keyword=st.sampled_from(["STOP", "stop", "Unsubscribe", "STOPALL", "opt out", "ALTO"]),
    around=st.lists(COURTESY_WORDS, max_size=4),
    repeat=st.integers(min_value=1, max_value=3),
)
def test_an_opt_out_keyword_with_courtesy_around_it_is_always_an_opt_out(keyword, around, repeat):
    half = len(around) // 2
    body = " ".join([*around[:half], *[keyword] * repeat, *around[half:]])
    assert classify(body) == Intent.OPT_OUT, body


@given(st.text(max_size=300))
def test_a_clear_request_as_the_last_sentence_is_never_an_ordinary_reply(text):
    assert classify(f"{text}\nPlease stop texting me.") != Intent.OTHER


@given(
    word=st.sampled_from(["START", "start", "Unstop", "yes", "YES", "stop", "help", "startt"]),
    around=st.lists(
        st.sampled_from([" ", "!", ".", "🙂", "\u200b", "¿", "?", "x", "\n"]), max_size=4
    ),
)
def test_a_reply_is_an_opt_in_exactly_when_the_database_takes_it_as_one_unasked(word, around):
    """The database takes a keyword with any punctuation around it; the app, none asked
    ("¿Start", "Yes?": tests/messaging/test_opt_ins_asked.py)."""
    half = len(around) // 2
    body = "".join([*around[:half], word, *around[half:]])
    taken = opt_in_words(body) in {"START", "UNSTOP", "YES"}
    assert (classify(body) == Intent.OPT_IN) == (taken and not {"¿", "?"} & set(around)), body


@pytest.mark.parametrize(
    "body",
    ["Don't text me after 9pm. STOP", "Take me off the waiting list. And stop texting me!",
     "Stop texting me until Monday. No, forever. STOP"],
)  # fmt: skip
def test_a_clear_request_wins_over_one_held_back_in_the_same_message(body):
    assert classify(body) == Intent.OPT_OUT


def test_possible_opt_outs_waiting_at_the_upgrade_are_read_again_for_what_they_stop():
    migration = importlib.import_module("messaging.migrations.0007_possible_opt_out_channels")
    assert migration._channels("Please stop calling me so much") == "sms calls"
    assert migration._channels("No más llamadas ni mensajes, porfa") == "sms calls"
    assert migration._channels("Ok cancel") == "sms"


@pytest.mark.parametrize(
    ("body", "channels"),
    [
        ("Please no texts", SMS),
        ("Hey no calls", CALLS),
        ("No texts from now on", SMS),
        ("Opt me out please", SMS),
        ("No me llamen por favor", CALLS),
        ("No me escriban por favor", SMS),
        ("No me llamen nunca", CALLS),
    ],
)
def test_plain_requests_said_with_a_word_more_are_opt_outs(body, channels):
    reading = read(body)
    assert (reading.intent, reading.channels) == (Intent.OPT_OUT, channels)


@pytest.mark.parametrize(
    ("body", "channels"),
    [
        ("I don't want to be contacted", SMS),
        ("Don't bother me again", SMS),
        ("Please don't send texts", SMS),
        ("I want off this list", SMS),
        ("DNC please", SMS),
        ("Do not phone me again", BOTH),
        ("Don't ring me again", BOTH),
        ("No me marquen", BOTH),
        ("No vuelvan a llamar", BOTH),
        ("No me llamen en el trabajo", BOTH),
    ],
)
def test_other_ways_to_say_stop_go_to_review(body, channels):
    reading = read(body)
    assert (reading.intent, reading.channels) == (Intent.POSSIBLE_OPT_OUT, channels)


@pytest.mark.parametrize(
    "body",
    [
        "Please don't text me so early",
        "Stop calling me at night",
        "Don't call me at 7am",
        "No me manden mensajes en la noche",
        "Take me off the cancellation list",
        "Remove me from the email list",
        "Cancel my son's reminders",
    ],
)
def test_a_request_for_a_time_another_list_or_someone_else_is_reviewed(body):
    assert read(body).intent == Intent.POSSIBLE_OPT_OUT


@pytest.mark.parametrize(
    ("body", "stops"),
    [
        # A request that names both channels stops both, whatever "but" says after it.
        ("Don't text or call me but thanks", BOTH),
        ("No llamar ni escribir pero gracias", BOTH),
        # Counts, ages, a list by mail, a house: no hold.
        ("Take me off your mailing list", SMS),
        ("Stop texting me!! You woke up my kids", SMS),
    ],
)
def test_clear_requests_stay_clear_beside_words_that_only_look_like_a_hold(body, stops):
    reading = read(body)
    assert (reading.intent, reading.channels, reading.to_review) == (Intent.OPT_OUT, stops, None)


@pytest.mark.parametrize(
    "body",
    [
        "Stop texting me and just phone me when it's ready",  # asks to be phoned
        "Unsubscribe me you can phone me",
        "No me llamen por favor, yo les marco",  # "I'll call you"
        "Stop texting me on Sundays and stop calling me too",  # the days' hold goes on
        "Should I opt out now?",
    ],
)
def test_what_asks_for_a_call_a_day_or_a_question_is_never_a_hard_opt_out_of_it(body):
    assert read(body).intent == Intent.POSSIBLE_OPT_OUT


@pytest.mark.parametrize(
    "body",
    [
        "Did you watch the DNC last night?",
        "I'll be there at 7, no calling needed",
        "You don't bother me at all!",
        "If I don't send texts back it's because I'm at work",
        "I'd rather not get the x-rays this time",
        "Por favor no me manden a la otra sucursal",
        "No me manden por favor al otro doctor",
    ],
)
def test_ordinary_replies_that_use_the_words_of_a_request_are_ordinary(body):
    assert read(body).intent == Intent.OTHER


@pytest.mark.parametrize(
    ("body", "wrong"),
    [
        ("Stop texting me. Not my number", True),
        ("Stop texting me. Not Cool", False),
        ("Sorry wrong number, meant to text my wife. Please remove this number", False),
    ],
)
def test_a_wrong_number_beside_a_request_is_the_recipient_s_not_the_sender_s(body, wrong):
    reading = read(body)
    assert (reading.intent, reading.wrong_number) == (Intent.OPT_OUT, wrong)


@pytest.mark.parametrize(
    ("body", "stops", "reviewed"),
    [
        ("Stop calling but texts are ok", CALLS, SMS),
        ("Dejen de llamarme pero me pueden escribir", CALLS, SMS),
        ("Stop texting but calling is ok", SMS, CALLS),
        ("Stop texting me and don't phone me", SMS, CALLS),
        ("No me escriban ni me marquen", BOTH, None),
        ("No me llamen nunca más", CALLS, None),
    ],
)
def test_what_a_sentence_keeps_or_adds_is_read_as_it_says(body, stops, reviewed):
    reading = read(body)
    assert (reading.intent, reading.channels) == (Intent.OPT_OUT, stops)
    assert (reading.to_review and reading.to_review.channels) == reviewed


@pytest.mark.parametrize(
    "body",
    ["No calling or texting", "No calling after 8pm", "Don't phone me ever again",
     "Don't bother me with your calls", "DNC this number", "I'm on the DNC registry",
     "No me manden las promociones", "Stop texting me at 5:30am", "Stop messaging me on Facebook",
     "Stop texting my wife's cell"],
)  # fmt: skip
def test_more_ways_to_ask_go_to_review(body):
    assert read(body).intent == Intent.POSSIBLE_OPT_OUT


@pytest.mark.parametrize(
    "body",
    ["Not John, please stop texting",
     "Wrong number. Stop texting me. These are meant for someone else"],
)  # fmt: skip
def test_a_wrong_number_named_beside_a_request_voids_the_consent(body):
    reading = read(body)
    assert (reading.intent, reading.wrong_number) == (Intent.OPT_OUT, True)
