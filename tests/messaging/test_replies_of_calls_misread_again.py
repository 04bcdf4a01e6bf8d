"""A second cold review of the call wordings (e32cf83) found these misread: ordinary replies
made hard opt-outs of calls, a text opt-out lost, requests missed, a number change read as an
opt-out of both channels. Each comment says what it found."""

import pytest

from messaging.keywords import Channel, Intent, read


# 1. ORDINARY replies read as HARD opt-outs (staff cannot undo): before e32cf83 the first was
#    OTHER, the others went to review; e32cf83 made each an opt-out of calls.
@pytest.mark.parametrize(
    "reply",
    [
        # a staffing agency's worker: "telemarketing" was made calls, and
        # "i no longer want (\w+ )?{PLURAL_MESSAGES}" is not anchored
        "I no longer want telemarketing work, can you find me a warehouse job?",
        # praise: "no (more|further) {PLURAL_MESSAGES}" is not anchored
        "Since I switched to your carrier, no more telemarketing calls at all. Great service",
        # questions
        "No more automated calls? Did you change the system",
        "No more recorded messages? I liked them",
    ],
)
def test_an_ordinary_reply_about_sales_or_automated_calls_is_no_hard_opt_out(reply):
    assert read(reply).intent != Intent.OPT_OUT


# 2. A hard opt-out of texts LOST: before e32cf83 "Take me off your telemarketing list" stopped
#    SMS (hard), and "No more telemarketing" held SMS for review; e32cf83 made both stop calls
#    alone, and the texts (the business's telemarketing, by text, which the reply answers) went
#    on.
@pytest.mark.parametrize(
    "reply", ["Take me off your telemarketing list", "No more telemarketing", "no telemarketing"]
)
def test_a_text_asking_off_the_telemarketing_list_stops_or_holds_texts(reply):
    reading = read(reply)
    held_or_stopped = set(reading.channels)
    if reading.to_review:
        held_or_stopped |= set(reading.to_review.channels)
    assert reading.intent in (Intent.OPT_OUT, Intent.POSSIBLE_OPT_OUT)
    assert Channel.SMS in held_or_stopped


# 3. Requests LOST by the new end-anchor of "I never want another call/text": before
#    e32cf83 these were hard opt-outs (calls) or reviewed (text); e32cf83 made them ordinary.
#    The anchor allows "from (you|u|your \w+|this \w+)" alone: "you people", "you guys",
#    "y'all" are not in it.
@pytest.mark.parametrize(
    "reply",
    [
        "I never want another call from you people",
        "I never want another call from you guys",
        "I never want another text from y'all",
    ],
)
def test_never_want_another_call_from_you_guys_is_not_ordinary(reply):
    assert read(reply).intent in (Intent.OPT_OUT, Intent.POSSIBLE_OPT_OUT)


# 4. A number change read as a hard opt-out, made of BOTH channels: BOTH_CHANNELS
#    ("delete|erase|lose the/my number") widened a pre-existing false opt-out (SMS) to calls.
@pytest.mark.parametrize(
    "reply",
    [
        "Erase the number on file and use 555-123-4567",
        "Delete my number 555 123 4567, I switched to 555 765 4321",
    ],
)
def test_a_number_change_is_no_hard_opt_out_of_both_channels(reply):
    assert read(reply).intent != Intent.OPT_OUT


# 5. Requests about telemarketing still missed entirely (read as ordinary, not even reviewed).
@pytest.mark.parametrize("reply", ["Opt me out of telemarketing", "No telemarketers"])
def test_a_request_to_stop_telemarketing_is_not_ordinary(reply):
    assert read(reply).intent in (Intent.OPT_OUT, Intent.POSSIBLE_OPT_OUT)
