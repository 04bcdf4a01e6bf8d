"""OPT_OUT_SCOPE: a contact's STOP, the unsubscribe digit or a confirmed possible opt-out
stops the channel it came in ("channel"), or every channel of the number ("all", the FCC's
revoke-all rule), in one transaction with a ledger row per channel, and the reply says which.
OPT_OUT_SCOPE_ALL_FROM switches "all" on from a day."""

import os
import subprocess
import sys

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.models import Channel, ConsentEvent, Contact, PhoneOptOut, Source
from messaging import inbound
from messaging.checks import check_opt_out_scope, check_stop_reply
from messaging.models import InboundEvent, PossibleOptOut
from messaging.sms import count_segments
from tests.factories import ContactFactory

PHONE = "+14155550123"
BUSINESS = "+14155559999"
SMS_ONLY = (
    "<Message>You have been unsubscribed from Demo Dental messages and will receive no more. "
    "Reply START to resubscribe.</Message>"
)
EVERY_CHANNEL = (
    "You have been unsubscribed from Demo Dental and will receive no more texts or calls. "
    "Reply START to receive texts again."
)
CALLS_ONLY = "<Say>You will receive no more calls from us. Goodbye.</Say>"
CALLS_AND_TEXTS = "<Say>You will receive no more calls or texts from us. Goodbye.</Say>"


def statuses(contact: Contact) -> dict[str, str]:
    contact = Contact.objects.get(pk=contact.pk)
    return {channel: contact.opt_in_status(channel) for channel in Channel}


def numbers_opt_outs() -> list[tuple]:
    return sorted(PhoneOptOut.objects.values_list("phone", "channel", "source", "words"))


def numbers_ledger() -> list[tuple]:
    """The ledger rows of the number itself, not of its contacts."""
    rows = ConsentEvent.objects.filter(contact=None, phone=PHONE)
    return sorted(rows.values_list("channel", "before", "after", "source", "note"))


def press(post_signed, digit: str = "9", sid: str = "CA1"):
    data = {"CallSid": sid, "From": PHONE, "To": BUSINESS, "Digits": digit,
            "Direction": "inbound"}  # fmt: skip
    return post_signed("/webhooks/twilio/voice/gather/", data)


@pytest.fixture
def scope_all(settings):
    settings.OPT_OUT_SCOPE = "all"


# Scope "channel", the default: each opt-out stops its own channel, with today's replies.


def test_with_scope_channel_a_stop_stops_sms_alone_with_the_usual_reply(sms):
    contact = ContactFactory(phone=PHONE)
    assert SMS_ONLY in sms("STOP").content.decode()
    assert statuses(contact) == {"sms": "hard", "calls": "subscribed"}
    assert numbers_ledger() == [("sms", "subscribed", "hard", "keyword", "STOP")]


def test_with_scope_channel_the_digit_stops_calls_alone_with_the_usual_goodbye(post_signed):
    contact = ContactFactory(phone=PHONE)
    assert CALLS_ONLY in press(post_signed).content.decode()
    assert statuses(contact) == {"sms": "subscribed", "calls": "hard"}
    assert numbers_ledger() == [("calls", "subscribed", "hard", "digit", "pressed 9")]


# Scope "all": each opt-out stops every channel of the number.


def test_with_scope_all_a_stop_stops_texts_and_calls_and_says_so(sms, scope_all):
    first, second = ContactFactory(phone=PHONE), ContactFactory(phone=PHONE)
    other = ContactFactory(phone="+14155550124")
    reply = sms(" Stop. ").content.decode()
    assert f"<Message>{EVERY_CHANNEL}</Message>" in reply
    assert count_segments(EVERY_CHANNEL).segments == 1
    assert statuses(first) == statuses(second) == {"sms": "hard", "calls": "hard"}
    assert statuses(other) == {"sms": "subscribed", "calls": "subscribed"}
    assert numbers_opt_outs() == [
        (PHONE, "calls", "keyword", " Stop. "),
        (PHONE, "sms", "keyword", " Stop. "),
    ]
    assert numbers_ledger() == [
        ("calls", "subscribed", "hard", "keyword", " Stop. "),
        ("sms", "subscribed", "hard", "keyword", " Stop. "),
    ]
    # Each contact's own row for each channel, quoting the STOP.
    for contact in (first, second):
        rows = ConsentEvent.objects.filter(contact=contact).values_list("channel", "after", "note")
        assert sorted(rows) == [("calls", "hard", " Stop. "), ("sms", "hard", " Stop. ")]


def test_with_scope_all_the_digit_stops_calls_and_texts_and_says_so(post_signed, scope_all):
    contact = ContactFactory(phone=PHONE)
    twiml = press(post_signed).content.decode()
    assert CALLS_AND_TEXTS in twiml and "<Hangup />" in twiml
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}
    assert numbers_ledger() == [
        ("calls", "subscribed", "hard", "digit", "pressed 9"),
        ("sms", "subscribed", "hard", "digit", "pressed 9"),
    ]


@pytest.mark.parametrize("scope", ["channel", "all"])
def test_a_carrier_s_21610_covers_what_a_stop_covers(post_signed, settings, scope):
    """Error 21610 in a delivery status: the contact replied STOP to the carrier, their own
    revocation, which covers SMS, or every channel under the revoke-all scope."""
    settings.OPT_OUT_SCOPE = scope
    contact = ContactFactory(phone=PHONE)
    data = {"MessageSid": "SM9", "MessageStatus": "failed", "ErrorCode": "21610", "To": PHONE}
    assert post_signed("/webhooks/twilio/status/", data).status_code == 200
    expected = "hard" if scope == "all" else "subscribed"
    assert statuses(contact) == {"sms": "hard", "calls": expected}
    assert {source for _, _, source, _ in numbers_opt_outs()} == {"carrier"}


def test_with_scope_all_a_number_opted_out_of_sms_gets_calls_too(sms, scope_all, settings):
    contact = ContactFactory(phone=PHONE)
    settings.OPT_OUT_SCOPE = "channel"
    sms("STOP")
    settings.OPT_OUT_SCOPE = "all"
    assert EVERY_CHANNEL in sms("Unsubscribe").content.decode()
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}
    # The SMS opt-out stays the first STOP's; calls are stopped by the second.
    assert numbers_opt_outs() == [
        (PHONE, "calls", "keyword", "Unsubscribe"),
        (PHONE, "sms", "keyword", "STOP"),
    ]


def test_with_scope_all_a_number_opted_out_of_calls_gets_texts_too(post_signed, scope_all):
    contact = ContactFactory(phone=PHONE)
    services.record_hard_opt_out(phone=PHONE, channel=Channel.CALLS, source=Source.DIGIT)
    assert CALLS_AND_TEXTS in press(post_signed).content.decode()
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}
    assert [row[:3] for row in numbers_opt_outs()] == [
        (PHONE, "calls", "digit"),
        (PHONE, "sms", "digit"),
    ]


def test_with_scope_all_a_start_resubscribes_to_texts_only(sms, scope_all):
    contact = ContactFactory(phone=PHONE)
    sms("STOP")
    assert "subscribed to reminders and offers" in sms("START").content.decode()
    assert statuses(contact) == {"sms": "subscribed", "calls": "hard"}


# OPT_OUT_SCOPE_ALL_FROM: "all" from that day on, whatever OPT_OUT_SCOPE says.


@pytest.mark.parametrize(
    ("all_from", "expected"),
    [
        ("2999-01-31", {"sms": "hard", "calls": "subscribed"}),  # to come: the channel alone
        ("2026-01-31", {"sms": "hard", "calls": "hard"}),  # past
        ("", {"sms": "hard", "calls": "subscribed"}),
    ],
)
def test_from_the_day_set_a_stop_stops_every_channel(sms, settings, all_from, expected):
    settings.OPT_OUT_SCOPE_ALL_FROM = all_from
    contact = ContactFactory(phone=PHONE)
    reply = sms("STOP").content.decode()
    assert statuses(contact) == expected
    assert (EVERY_CHANNEL in reply) == (expected["calls"] == "hard")
    assert (SMS_ONLY in reply) == (expected["calls"] == "subscribed")


def test_the_day_set_is_today_then_a_digit_stops_every_channel(post_signed, settings):
    settings.OPT_OUT_SCOPE_ALL_FROM = timezone.now().date().isoformat()
    contact = ContactFactory(phone=PHONE)
    assert CALLS_AND_TEXTS in press(post_signed).content.decode()
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}


# A confirmed possible opt-out.


@pytest.fixture
def review(db):
    return PossibleOptOut.objects.create(phone=PHONE, words="cancel all of it")


def decide(client, review, **extra):
    url = reverse("messaging:decide", args=[review.pk])
    return client.post(url, {"decision": "confirmed", **extra}, follow=True)


def test_with_scope_all_confirming_a_possible_opt_out_says_both_channels_first(
    client, staff_user, review, scope_all
):
    contact = ContactFactory(name="Ana Díaz", phone=PHONE)
    client.force_login(staff_user)
    assert "confirming stops: SMS and Calls &amp; Voicemails" in (
        client.get(reverse("messaging:possible_opt_outs")).content.decode()
    )
    page = decide(client, review).content.decode()
    assert "Opt (415) 555-0123 out of SMS and Calls &amp; Voicemails for good?" in page
    assert "will receive no more SMS or calls" in page
    assert "Yes, opt (415) 555-0123 out of SMS and Calls &amp; Voicemails" in page
    assert statuses(contact) == {"sms": "subscribed", "calls": "subscribed"}

    page = decide(client, review, sure="yes").content.decode()
    assert (
        "Ana Díaz, (415) 555-0123: opted out of SMS and Calls &amp; Voicemails (hard), "
        "in their words."
    ) in page
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}
    assert numbers_ledger() == [
        ("calls", "subscribed", "hard", "keyword", "cancel all of it"),
        ("sms", "subscribed", "hard", "keyword", "cancel all of it"),
    ]


def test_with_scope_channel_confirming_a_possible_opt_out_stops_sms_alone(
    client, staff_user, review
):
    contact = ContactFactory(phone=PHONE)
    client.force_login(staff_user)
    page = decide(client, review).content.decode()
    assert "Opt (415) 555-0123 out of SMS for good?" in page and "Calls" not in page
    page = decide(client, review, sure="yes").content.decode()
    assert "opted out of SMS (hard), in their words." in page
    assert statuses(contact) == {"sms": "hard", "calls": "subscribed"}


# One transaction: the second channel's opt-out refused, the first is not kept either, and the
# event waits, kept, for the worker, which records both once the database accepts them.

FAULT = {
    "sqlite": [
        "CREATE TRIGGER test_fault BEFORE INSERT ON contacts_phoneoptout WHEN NEW.channel = %s"
        " BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$",
        "CREATE TRIGGER test_fault BEFORE INSERT ON contacts_phoneoptout FOR EACH ROW"
        " WHEN (NEW.channel = %s) EXECUTE FUNCTION test_fault()",
    ],
}
REPAIR = {
    "sqlite": ["DROP TRIGGER test_fault"],
    "postgresql": ["DROP TRIGGER test_fault ON contacts_phoneoptout", "DROP FUNCTION test_fault()"],
}


def refuse_opt_outs_of(channel: str) -> None:
    with connection.cursor() as cursor:
        for statement in FAULT[connection.vendor]:
            if "%s" in statement:  # DDL takes no parameters
                statement = statement.replace("%s", f"'{channel}'")
            cursor.execute(statement)


def repair() -> None:
    with connection.cursor() as cursor:
        for statement in REPAIR[connection.vendor]:
            cursor.execute(statement)


@pytest.mark.parametrize(
    ("action", "second", "answer"),
    [("stop", "calls", EVERY_CHANNEL), ("digit", "sms", CALLS_AND_TEXTS)],
)
def test_with_scope_all_a_refused_second_channel_keeps_neither_and_the_worker_retries(
    sms, post_signed, scope_all, action, second, answer
):
    contact = ContactFactory(phone=PHONE)
    refuse_opt_outs_of(second)
    response = sms("STOP") if action == "stop" else press(post_signed)
    # Kept and acknowledged, with the confirmation of what will hold once it is processed.
    assert response.status_code == 200 and answer in response.content.decode()
    event = InboundEvent.objects.get()
    assert event.processed_at is None and "the disk is full" in event.error
    assert statuses(contact) == {"sms": "subscribed", "calls": "subscribed"}
    assert not PhoneOptOut.objects.exists() and not ConsentEvent.objects.exists()

    repair()
    assert list(inbound.process_pending(received_before=timezone.now())) == [(event.key, None)]
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}
    assert [row[1] for row in numbers_ledger()] == ["subscribed", "subscribed"]
    event.refresh_from_db()
    assert event.processed_at is not None and event.error == ""


def test_a_refused_confirmation_of_a_possible_opt_out_keeps_it_pending(
    client, staff_user, review, scope_all
):
    contact = ContactFactory(phone=PHONE)
    client.force_login(staff_user)
    refuse_opt_outs_of("calls")
    client.raise_request_exception = False
    assert decide(client, review, sure="yes").status_code == 500
    assert statuses(contact) == {"sms": "subscribed", "calls": "subscribed"}
    assert PossibleOptOut.objects.get().decision == "pending"


# The settings' checks.


def test_the_settings_by_default_pass_the_checks():
    assert check_opt_out_scope(None) == [] and check_stop_reply(None) == []


@pytest.mark.parametrize(
    ("scope", "all_from", "ids"),
    [
        ("all", "2027-01-31", []),
        ("channel", "", []),
        ("everything", "", ["messaging.E001"]),
        ("", "", ["messaging.E001"]),
        ("channel", "31/01/2027", ["messaging.E002"]),
        ("channel", "2027-02-30", ["messaging.E002"]),
        ("some", "soon", ["messaging.E001", "messaging.E002"]),
    ],
)
def test_an_unknown_scope_or_an_unreadable_day_is_an_error(settings, scope, all_from, ids):
    settings.OPT_OUT_SCOPE, settings.OPT_OUT_SCOPE_ALL_FROM = scope, all_from
    errors = check_opt_out_scope(None)
    assert [error.id for error in errors] == ids
    if "messaging.E001" in ids:
        assert f"OPT_OUT_SCOPE={scope!r} is not a revocation scope." in errors[0].msg
        assert "“channel”" in errors[0].hint and "“all”" in errors[0].hint
    if "messaging.E002" in ids:
        assert f"OPT_OUT_SCOPE_ALL_FROM={all_from!r} is not a date." in errors[-1].msg
        assert "2027-01-31" in errors[-1].hint


def check(**env: str) -> subprocess.CompletedProcess:
    """`manage.py check` in a process of its own, with these settings in its environment."""
    return subprocess.run(
        [sys.executable, "manage.py", "check"], env=os.environ | env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_every_command_refuses_to_run_with_a_scope_from_the_environment_it_cannot_read():
    result = check(OPT_OUT_SCOPE="everything", OPT_OUT_SCOPE_ALL_FROM="31 Jan 2027")
    assert result.returncode != 0
    assert "(messaging.E001) OPT_OUT_SCOPE='everything' is not a revocation scope." in (
        result.stderr
    )
    assert "(messaging.E002) OPT_OUT_SCOPE_ALL_FROM='31 Jan 2027' is not a date." in (result.stderr)
    assert check(OPT_OUT_SCOPE=" All ", OPT_OUT_SCOPE_ALL_FROM="2027-01-31").returncode == 0


def test_an_unreadable_setting_widens_a_stop_never_narrows_it(sms, settings):
    """A process started without the checks (gunicorn runs none) reads it as "all"."""
    settings.OPT_OUT_SCOPE_ALL_FROM = "soon"
    contact = ContactFactory(phone=PHONE)
    assert EVERY_CHANNEL in sms("STOP").content.decode()
    assert statuses(contact) == {"sms": "hard", "calls": "hard"}


def test_a_stop_confirmation_of_two_segments_is_warned_about(settings):
    assert check_stop_reply(None) == []  # Demo Dental: every confirmation fits
    settings.BUSINESS_NAME = "Bright Smiles Family and Cosmetic Dentistry of the Bay"
    # Its SMS-only confirmation fits; that of a text asking for no more texts or calls does not.
    warnings = check_stop_reply(None)
    assert {warning.id for warning in warnings} == {"messaging.W002"}
    assert any("2 SMS segments" in w.msg and "texts or calls" in w.msg for w in warnings)
    assert not any("messages and will receive no more" in w.msg for w in warnings)
