"""A carrier's opt-out (error 21610) met while sending is the contact's own revocation. It is
kept with the message's outcome, in one transaction, and recorded once that commits: a
database that fails at that moment (a fail-over, a deadlock) no longer loses it. Kept, it
holds the number, and the worker's next look at kept events records it. (A review found it
recorded after the batch's transaction, once, with nothing kept to record it again: under
the revoke-all scope, calls went on to a number that had revoked every channel.)"""

from django.db import OperationalError
from django.utils import timezone

from broadcasts import sending, services
from broadcasts.models import Broadcast, Recipient
from contacts import services as contact_services
from contacts.models import Channel, PhoneOptOut
from messaging import inbound
from messaging.models import InboundEvent
from tests.broadcasts.engine import broadcast
from tests.factories import ContactFactory
from tests.twilio_standin import StandIn


def _fails_once(monkeypatch):
    real = contact_services.record_revocation
    calls = []

    def record_revocation(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(contact_services, "record_revocation", record_revocation)
    return calls


def _opted_out(phone: str) -> set[str]:
    return set(PhoneOptOut.objects.filter(phone=phone).values_list("channel", flat=True))


def _worker_looks_at_kept_events():
    return list(inbound.process_pending(received_before=timezone.now()))


def test_a_carrier_opt_out_met_while_sending_survives_a_database_hiccup(
    manager, twilio, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OPT_OUT_SCOPE = "all"
    contact = ContactFactory()
    StandIn.answers = ["opted_out"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    monkeypatch.setattr(sending, "wait_for_database", lambda **kwargs: None)
    _fails_once(monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):  # as in production
        sending.run(b.pk)

    recipient = b.recipients.get()
    assert recipient.status == Recipient.Status.SKIPPED
    assert recipient.error.startswith(sending.CARRIER_OPT_OUT)
    assert Broadcast.objects.get(pk=b.pk).status == Broadcast.Status.DONE
    assert _opted_out(contact.phone) == set()  # the recording failed...
    # ...but the refusal is kept, and holds the number: a call now leaves it out.
    kept = InboundEvent.objects.get(phone=contact.phone)
    assert (kept.kind, kept.processed_at, kept.key) == (
        InboundEvent.Kind.STATUS,
        None,
        f"refused:recipient:{recipient.pk}",
    )
    call = broadcast(Channel.CALLS, script="Hi")
    services.launch(broadcast=call, by_user=manager)
    sending.run(call.pk)
    assert call.recipients.get().status == Recipient.Status.SKIPPED
    assert len(StandIn.requests) == 1  # the text refused, and no call

    assert _worker_looks_at_kept_events() == [(kept.key, None)]
    assert _opted_out(contact.phone) == {Channel.SMS, Channel.CALLS}
    opt_out = PhoneOptOut.objects.get(phone=contact.phone, channel=Channel.SMS)
    assert opt_out.source == "carrier"
    assert contact.opt_in_status(Channel.CALLS) == "hard"


def test_a_carrier_opt_out_met_by_a_test_is_kept_with_it(
    manager, twilio, monkeypatch, django_capture_on_commit_callbacks
):
    contact = ContactFactory()
    StandIn.answers = ["opted_out"]
    b = broadcast()
    _fails_once(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        test = sending.send_test(b, phone=contact.phone, by_user=manager)
    assert test.error == sending.CARRIER_OPT_OUT
    assert _opted_out(contact.phone) == set()
    assert [key for key, _ in _worker_looks_at_kept_events()] == [f"refused:test:{test.pk}"]
    assert _opted_out(contact.phone) == {Channel.SMS}


def test_a_carrier_opt_out_met_by_a_confirmation_prompt_survives_a_database_hiccup(
    db, twilio, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.MESSAGING_BACKEND = "twilio"
    contact = ContactFactory()
    contact_services.record_consent(
        phone=contact.phone, channel=Channel.SMS, method="paper",
        given_at=contact.created_at, contact=contact, awaiting=True,
    )  # fmt: skip
    StandIn.answers = ["opted_out"]
    _fails_once(monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):  # as in production
        contact_services.ask_to_confirm(contact.phone, [Channel.SMS])  # no 500 on the page
    prompt = contact_services.prompt_of(contact.phone)
    assert "21610" in prompt.not_sent
    assert _opted_out(contact.phone) == set()
    assert len(_worker_looks_at_kept_events()) == 1
    assert _opted_out(contact.phone) == {Channel.SMS}
