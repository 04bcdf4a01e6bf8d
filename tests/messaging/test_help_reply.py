"""The reply to HELP names the business and a way to reach it, and says how to stop, as
carriers require, in one SMS segment."""

from messaging.checks import check_help_reply
from messaging.inbound import help_reply
from messaging.sms import count_segments


def test_the_default_names_the_business_a_number_and_how_to_stop_in_one_segment():
    reply = help_reply()
    assert reply == "Demo Dental: help at (415) 555-9999. Reply STOP to opt out."
    assert count_segments(reply).segments == 1
    assert check_help_reply(None) == []


def test_it_says_the_business_and_contact_it_is_given(settings, sms):
    settings.BUSINESS_NAME = "Bright Smiles"
    settings.BUSINESS_CONTACT = "help@brightsmiles.example"
    reply = sms("help").content.decode()
    assert "<Message>Bright Smiles: help at help@brightsmiles.example. Reply STOP to opt out." in (
        reply
    )


def test_a_reply_that_would_take_two_segments_is_warned_about(settings):
    settings.BUSINESS_NAME = "Bright Smiles Family and Cosmetic Dentistry of the Greater Bay Area"
    settings.BUSINESS_CONTACT = "https://www.brightsmiles.example/contact-us/text-message-help"
    [warning] = check_help_reply(None)
    assert warning.id == "messaging.W001"
    assert "2 SMS segments" in warning.msg


def test_a_name_outside_gsm_7_counts_as_ucs_2(settings):
    settings.BUSINESS_NAME = "Zahnarztpraxis Dr. Łukasz Wójcik und Kolleginnen, Fürth"
    warnings = check_help_reply(None)
    assert warnings and "UCS-2" in warnings[0].msg
