"""Sending a launched broadcast: what reaches the provider, what is skipped, and why."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from broadcasts import sending, services
from broadcasts.models import Broadcast, Recipient
from contacts import services as contact_services
from contacts.models import Channel, Contact, OptInStatus, Source
from messaging.backends import LocmemBackend
from messaging.models import InboundEvent, PossibleOptOut
from tests.broadcasts.engine import broadcast, launched, sent_to
from tests.factories import ContactFactory
from tests.twilio_standin import StandIn, unreachable_address


def test_the_briefs_example(manager, django_capture_on_commit_callbacks):
    a = ContactFactory(name="Contact A", phone="+14155550101")
    b = ContactFactory(name="Contact B", phone="+14155550102")
    contact_services.unsubscribe(contact=a, channel=Channel.SMS, by_user=manager)
    contact_services.unsubscribe(contact=b, channel=Channel.CALLS, by_user=manager)

    sms = broadcast(Channel.SMS)
    assert services.preview(sms).receive == 1
    assert launched(sms, manager, django_capture_on_commit_callbacks).status == "done"
    assert sent_to() == ["+14155550102"]
    assert LocmemBackend.outbox[0]["body"] == "Hello\nReply STOP to opt out"

    LocmemBackend.outbox.clear()
    voice = broadcast(Channel.CALLS)
    launched(voice, manager, django_capture_on_commit_callbacks)
    assert sent_to() == ["+14155550101"]
    assert "<Say>Hello</Say>" in LocmemBackend.outbox[0]["body"]
    assert "press 9" in LocmemBackend.outbox[0]["body"]


def test_a_stop_between_launch_and_send_is_skipped(manager):
    stopper, other = ContactFactory(), ContactFactory()
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)  # snapshot taken; sending not started
    contact_services.record_hard_opt_out(
        phone=stopper.phone, channel=Channel.SMS, source=Source.KEYWORD
    )
    sending.run(b.pk)
    assert sent_to() == [other.phone]
    skipped = b.recipients.get(phone=stopper.phone)
    assert (skipped.status, skipped.error) == ("skipped", "Opted out of this channel (hard)")
    assert Broadcast.objects.get(pk=b.pk).status == Broadcast.Status.DONE


def test_a_reply_kept_but_not_processed_yet_holds_its_number_back(manager):
    """A STOP whose processing failed is kept for the worker to process within seconds; until
    then no message goes to its number (nor to a number whose pending reply was HELP: which it
    was is not known before processing)."""
    stopper, other = ContactFactory(), ContactFactory()
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    InboundEvent.store(key="sms:SMkept", kind="sms", payload={"From": stopper.phone,
                       "Body": "STOP"}, phone=stopper.phone)  # fmt: skip
    InboundEvent.store(key="digits:CAkept:9", kind="digits", payload={}, phone=other.phone)
    sending.run(b.pk)
    assert sent_to() == [other.phone]  # a digit is a reply to a call, not to an SMS
    held = b.recipients.get(phone=stopper.phone)
    assert (held.status, held.error) == (Recipient.Status.SKIPPED, sending.REPLY_PENDING)


def test_a_text_kept_but_not_processed_yet_holds_its_number_s_calls_too(manager):
    """A text may ask to stop calls ("Can you stop calling me?"): kept and not processed
    yet, it holds its number back from a voice broadcast as well."""
    texter, other = ContactFactory(), ContactFactory()
    b = broadcast(Channel.CALLS)
    services.launch(broadcast=b, by_user=manager)
    InboundEvent.store(key="sms:SMcalls", kind="sms", payload={"From": texter.phone,
                       "Body": "Can you stop calling me?"}, phone=texter.phone)  # fmt: skip
    sending.run(b.pk)
    assert sent_to() == [other.phone]
    held = b.recipients.get(phone=texter.phone)
    assert (held.status, held.error) == (Recipient.Status.SKIPPED, sending.REPLY_PENDING)


def test_a_soft_opt_out_after_launch_is_skipped_too(manager):
    contact = ContactFactory()
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    contact_services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=manager)
    sending.run(b.pk)
    assert sent_to() == []
    skipped = b.recipients.get()
    assert (skipped.status, skipped.error) == ("skipped", "Opted out of this channel (soft)")


def test_a_possible_opt_out_awaiting_review_holds_its_number_on_its_channel(manager):
    """A reply that may be a revocation waits for staff; until they decide, its number gets
    no SMS broadcast. Calls are another channel; a dismissed reply holds nothing."""
    waiting, dismissed, other = ContactFactory(), ContactFactory(), ContactFactory()
    sms, calls = broadcast(Channel.SMS), broadcast(Channel.CALLS)
    services.launch(broadcast=sms, by_user=manager)
    services.launch(broadcast=calls, by_user=manager)
    PossibleOptOut.objects.create(phone=waiting.phone, words="I don't want these")
    PossibleOptOut.objects.create(phone=dismissed.phone, words="ok thanks",
                                  decision=PossibleOptOut.Decision.DISMISSED)  # fmt: skip
    sending.run(sms.pk)
    assert sent_to() == sorted([dismissed.phone, other.phone])
    held = sms.recipients.get(phone=waiting.phone)
    assert (held.status, held.error) == ("skipped", "Possible opt-out awaiting review")
    LocmemBackend.outbox.clear()
    sending.run(calls.pk)
    assert sent_to() == sorted([waiting.phone, dismissed.phone, other.phone])


def test_a_contact_whose_number_changed_or_who_was_deleted_after_launch_is_skipped(manager):
    """The snapshot's number may now be someone else's: nothing goes to it."""
    moved, deleted, other = ContactFactory(), ContactFactory(), ContactFactory()
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    old_phone = moved.phone
    moved.phone = "+14155550999"
    moved.save()
    Contact.objects.filter(pk=deleted.pk).delete()
    sending.run(b.pk)
    assert sent_to() == [other.phone]
    assert b.recipients.get(phone=old_phone).error == sending.NUMBER_CHANGED
    assert b.recipients.get(phone=deleted.phone).error == sending.CONTACT_DELETED


def test_a_dead_workers_sending_rows_become_unknown_and_are_never_resent(manager):
    ContactFactory.create_batch(2)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    first = b.recipients.order_by("id").first()
    # A worker claimed it and died before recording the outcome.
    Recipient.objects.filter(pk=first.pk).update(
        status="sending", claimed_at=timezone.now() - timedelta(hours=1)
    )
    sending.run(b.pk)
    assert b.recipients.get(pk=first.pk).status == Recipient.Status.UNKNOWN
    assert len(LocmemBackend.outbox) == 1  # only the other one
    assert first.phone not in sent_to()


def test_cancelling_stops_what_was_not_sent(manager):
    ContactFactory.create_batch(5)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    sending.send_batch(b, sending.claim(b, size=2))
    assert services.cancel(broadcast=b) == 3
    sending.run(b.pk)
    assert len(LocmemBackend.outbox) == 2
    assert services.progress(b).counts["cancelled"] == 3


def test_a_batch_claimed_before_a_cancellation_is_not_handed_over_after_it(manager):
    """A worker's batch, claimed, waits for its slot while the broadcast is cancelled: it
    finds the cancellation as it checks, and sends none of it."""
    ContactFactory.create_batch(5)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    claimed = sending.claim(b, size=3)
    assert services.cancel(broadcast=b) == 2
    assert services.claimed_when_cancelled(b) == 3
    sending.send_batch(b, claimed)
    assert sent_to() == []
    assert services.progress(b).counts["cancelled"] == 5
    assert services.cancel(broadcast=b) is None  # cancelled already


def test_a_cancellation_marks_what_a_dead_worker_left_being_handed_over_unknown(manager):
    """A worker that died mid-hand-over may have sent its batch: cancelling does not count it
    as unsent, and leaves none of it "sending" for good."""
    ContactFactory.create_batch(5)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    sending.claim(b, size=3)  # its worker then died
    b.recipients.filter(status="sending").update(claimed_at=timezone.now() - timedelta(hours=1))
    assert services.cancel(broadcast=b) == 2
    assert services.progress(b).counts["unknown"] == 3
    assert services.claimed_when_cancelled(b) == 0


@pytest.mark.postgres
def test_a_claim_takes_no_more_than_its_size_whatever_the_plan(manager):
    """A claim's batch is chosen once. Planned as a loop that chose it again for each row it
    updated (as PostgreSQL planned it now and then, on the statistics of a table the tests
    keep nearly empty), each choice skipped the rows the last had locked and took the next:
    a claim of 2 took all 5. A batch's size bounds how long its numbers stay locked."""
    ContactFactory.create_batch(5)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    with connection.cursor() as cursor:
        for plan in ("hashjoin", "mergejoin", "material", "hashagg", "sort"):
            cursor.execute(f"SET LOCAL enable_{plan} = off")
    assert len(sending.claim(b, size=2)) == 2
    assert b.recipients.filter(status=Recipient.Status.SENDING).count() == 2


def test_the_provider_saying_opted_out_skips_and_records_a_carrier_opt_out(
    manager, twilio, django_capture_on_commit_callbacks
):
    contact = ContactFactory()
    StandIn.answers = ["opted_out"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    with django_capture_on_commit_callbacks(execute=True):  # recorded once the outcome is
        sending.run(b.pk)
    assert b.recipients.get().status == Recipient.Status.SKIPPED
    opt_out = Contact.objects.get(pk=contact.pk).opt_out_for(Channel.SMS)
    assert (opt_out.kind, opt_out.source) == (OptInStatus.HARD, "carrier")


def test_under_the_revoke_all_scope_the_carrier_s_refusal_stops_calls_too(
    manager, twilio, settings, django_capture_on_commit_callbacks
):
    """The carrier refuses a text because the contact replied STOP to it (21610): their own
    revocation, which under the revoke-all scope covers every channel, as a STOP to us does."""
    settings.OPT_OUT_SCOPE = "all"
    contact = ContactFactory()
    StandIn.answers = ["opted_out"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    with django_capture_on_commit_callbacks(execute=True):
        sending.run(b.pk)
    for channel in Channel:
        opt_out = Contact.objects.get(pk=contact.pk).opt_out_for(channel)
        assert (opt_out.kind, opt_out.source) == (OptInStatus.HARD, "carrier")


def test_a_claim_takes_the_recipients_after_an_id_or_from_the_start(manager):
    """A worker claims on from its last claim; back at the start it finds what was given
    back behind it."""
    ContactFactory.create_batch(3)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    first, second, third = b.recipients.order_by("id").values_list("pk", flat=True)
    assert [r.pk for r in sending.claim(b, after=first)] == [second, third]
    Recipient.objects.filter(pk=second).update(status=Recipient.Status.PENDING)  # given back
    assert sending.claim(b, after=third) == []
    claimed = sending.claim(b)
    assert [(r.pk, r.status, r.attempts) for r in claimed] == [
        (first, "sending", 1), (second, "sending", 2)
    ]  # fmt: skip


def test_only_too_many_requests_is_retried(manager, twilio):
    ContactFactory()
    StandIn.answers = ["too_many", "sent"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    sending.run(b.pk)
    recipient = b.recipients.get()
    assert (recipient.status, recipient.attempts, len(StandIn.requests)) == ("sent", 2, 2)
    assert (recipient.error, recipient.retry_at) == ("", None)  # the retry's words are gone


@pytest.mark.parametrize(
    ("answer", "kept"), [("garbled", "Invalid 'To'"), ("surrogate", "Invalid? 'To'")]
)
def test_a_provider_error_the_database_cannot_keep_as_it_is_is_recorded_with_the_batch(
    manager, twilio, answer, kept
):
    """PostgreSQL refuses a NUL in text, and the driver a lone surrogate: kept, either would
    have undone the batch's outcomes."""
    ContactFactory.create_batch(2)
    StandIn.answers = [answer, "sent"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    sending.run(b.pk)
    outcomes = sorted(b.recipients.values_list("status", "error"))
    assert outcomes == [("failed", f"400 21211: Unable to create record: {kept}"), ("sent", "")]


def test_a_provider_out_of_reach_is_tried_again_and_sends_once(manager, twilio, settings):
    reached = settings.TWILIO_API_BASE_URL
    ContactFactory.create_batch(2)
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    settings.TWILIO_API_BASE_URL = unreachable_address()
    sending.send_batch(b, sending.claim(b))
    assert set(b.recipients.values_list("status", flat=True)) == {"pending"}
    assert "could not be reached" in b.recipients.first().error
    settings.TWILIO_API_BASE_URL = reached  # the network is back
    b.recipients.update(retry_at=None)  # their retries due
    sending.run(b.pk)
    assert set(b.recipients.values_list("status", flat=True)) == {"sent"}
    assert len(StandIn.requests) == 2


def test_a_server_error_is_never_retried(manager, twilio):
    ContactFactory()
    StandIn.answers = ["server_error", "sent"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    sending.run(b.pk)
    assert b.recipients.get().status == Recipient.Status.UNKNOWN
    assert len(StandIn.requests) == 1


@pytest.mark.parametrize("answer", ["not_json", "no_sid"])
def test_an_answer_the_sdk_cannot_read_may_have_sent_and_undoes_nothing(
    manager, twilio, answer, django_capture_on_commit_callbacks
):
    """Created, said in a way the SDK cannot read (a proxy's page, JSON without the message's
    id): the message may have gone. Its batch keeps what came of the others, a carrier's
    refusal among them."""
    first, second, third = ContactFactory.create_batch(3)
    StandIn.answers = ["opted_out", answer, "sent"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    with django_capture_on_commit_callbacks(execute=True):
        sending.run(b.pk)
    outcomes = dict(b.recipients.values_list("phone", "status"))
    assert outcomes == {first.phone: "skipped", second.phone: "unknown", third.phone: "sent"}
    assert Contact.objects.get(pk=first.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD
    assert len(StandIn.requests) == 3  # the unreadable one never sent again


@pytest.mark.parametrize("answer", ["not_json", "no_sid"])
def test_a_test_the_provider_may_have_sent_is_kept(manager, twilio, answer):
    """It counts towards the broadcast's ten tests and the number's frequency limits."""
    contact = ContactFactory()
    StandIn.answers = [answer]
    test = sending.send_test(broadcast(), phone=contact.phone, by_user=manager)
    assert test.pk and test.error.startswith(("An answer the provider", "The provider answered"))


def test_a_stop_after_the_claim_and_before_the_hand_over_wins(manager):
    contact = ContactFactory()
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    claimed = sending.claim(b)
    contact_services.record_hard_opt_out(
        phone=contact.phone, channel=Channel.SMS, source=Source.KEYWORD
    )
    sending.send_batch(b, claimed)
    assert not LocmemBackend.outbox
    assert b.recipients.get().status == Recipient.Status.SKIPPED


def test_under_the_revoke_all_scope_a_possible_opt_out_holds_every_channel(manager, settings):
    """Confirmed, it would stop calls too (OPT_OUT_SCOPE "all"): until someone decides, no
    call goes to the number either."""
    settings.OPT_OUT_SCOPE = "all"
    waiting, other = ContactFactory(), ContactFactory()
    calls = broadcast(Channel.CALLS)
    services.launch(broadcast=calls, by_user=manager)
    PossibleOptOut.objects.create(phone=waiting.phone, words="I don't want these")
    sending.run(calls.pk)
    assert sent_to() == [other.phone]
    assert calls.recipients.get(phone=waiting.phone).error == "Possible opt-out awaiting review"


def test_under_the_revoke_all_scope_an_unprocessed_stop_holds_calls_too(manager, settings):
    settings.OPT_OUT_SCOPE = "all"
    stopper, other = ContactFactory(), ContactFactory()
    calls = broadcast(Channel.CALLS)
    services.launch(broadcast=calls, by_user=manager)
    InboundEvent.store(key="sms:SMheld", kind="sms", payload={"From": stopper.phone,
                       "Body": "STOP"}, phone=stopper.phone)  # fmt: skip
    sending.run(calls.pk)
    assert sent_to() == [other.phone]
    assert calls.recipients.get(phone=stopper.phone).error == sending.REPLY_PENDING
