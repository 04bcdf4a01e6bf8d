"""A carrier's opt-out (error 21610) kept for the worker, then a START or JOIN from its number,
then the worker: the late opt-out gives what it would have given in its turn. Only what the
later consent lifts is left unrecorded: under the revoke-all scope, START lifts texts and calls
stay stopped; and JOIN, which never lifts a number's own opt-out, drops nothing. (A cold
compliance attack found the whole opt-out dropped for either.)"""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Channel, Contact
from messaging import inbound
from messaging.models import InboundEvent
from tests.factories import ContactFactory
from tests.messaging import test_kept_carrier_opt_out
from tests.messaging.test_kept_carrier_opt_out import (
    CARRIER_OPT_OUT,
    PHONE,
    STATUS,
    opt_outs_refused,
)

voice_broadcast = test_kept_carrier_opt_out.voice_broadcast  # the fixture


def statuses(contact: Contact) -> tuple[str, str]:
    contact = Contact.objects.get(pk=contact.pk)
    return contact.opt_in_status(Channel.SMS), contact.opt_in_status(Channel.CALLS)


def carrier_opt_out_then(post_signed, sms, body: str, *, kept: bool) -> Contact:
    """The carrier's opt-out of PHONE, processed at once or kept for the worker, then `body`
    texted from the number, then the worker's turn."""
    contact = ContactFactory(phone=PHONE)
    if kept:
        with opt_outs_refused():  # the database refuses for a moment: the status is kept
            assert post_signed(STATUS, CARRIER_OPT_OUT).status_code == 200
        assert InboundEvent.objects.get().processed_at is None
    else:
        assert post_signed(STATUS, CARRIER_OPT_OUT).status_code == 200
    assert sms(body, phone=PHONE).status_code == 200
    list(inbound.process_pending(received_before=timezone.now() + timedelta(seconds=1)))
    return contact


@pytest.mark.parametrize("kept", [False, True], ids=["in turn", "kept"])
def test_a_start_after_it_lifts_texts_only_under_revoke_all(post_signed, sms, settings, kept):
    settings.OPT_OUT_SCOPE = "all"
    contact = carrier_opt_out_then(post_signed, sms, "START", kept=kept)
    assert statuses(contact) == ("subscribed", "hard")


@pytest.mark.parametrize("kept", [False, True], ids=["in turn", "kept"])
def test_a_join_after_it_lifts_nothing(post_signed, sms, kept):
    contact = carrier_opt_out_then(post_signed, sms, "JOIN", kept=kept)
    assert statuses(contact) == ("hard", "subscribed")


def test_kept_then_start_no_call_reaches_the_number_under_revoke_all(
    post_signed,
    sms,
    settings,
    voice_broadcast,
    time_machine,
):
    settings.OPT_OUT_SCOPE = "all"
    carrier_opt_out_then(post_signed, sms, "START", kept=True)
    # SM1 is no broadcast's message here: once STATUS_WAIT has passed, the status is done with.
    time_machine.move_to(timezone.now() + timedelta(minutes=11))
    list(inbound.process_pending(received_before=timezone.now()))
    assert PHONE not in voice_broadcast()
