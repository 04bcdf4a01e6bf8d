import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.keywords import Intent, classify


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
    "body",
    ["Cancel my appointment", "Can you stop by at 5?", "the end of the week", "I quit smoking"],
)
def test_an_opt_out_word_in_a_sentence_goes_to_review(body):
    assert classify(body) == Intent.POSSIBLE_OPT_OUT


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
