"""Sending a launched broadcast: at most one message per recipient, never to an opted-out one.

Workers claim recipients in batches (on PostgreSQL with FOR UPDATE SKIP LOCKED, so that
several workers, on several machines, share a broadcast) and check each one's eligibility
inside the claim: a number that opted out before its claim is skipped. A claimed recipient is
marked `sending` and committed before the provider is called; if the worker dies there, the
reaper later marks it `unknown`, and it is never sent again.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from broadcasts.models import Broadcast, Recipient, SendRate
from contacts import services as contact_services
from contacts.models import Channel, Contact, PhoneOptOut, Source
from messaging.backends import MaybeSent, RecipientOptedOut, RetryLater, SendError, get_backend
from messaging.twiml import voice_message

logger = logging.getLogger(__name__)
BATCH = 100


def claim(broadcast: Broadcast, *, size: int = BATCH) -> list[Recipient]:
    """Take up to `size` due recipients; skip those who may not receive the channel now."""
    now = timezone.now()
    with transaction.atomic():
        batch = list(
            Recipient.objects.select_for_update(skip_locked=True)
            .filter(broadcast=broadcast, status=Recipient.Status.PENDING)
            .filter(Q(retry_at=None) | Q(retry_at__lte=now))
            .order_by("id")[:size]
        )
        if not batch:
            return []
        eligible = set(
            Contact.objects.eligible_for(broadcast.channel)
            .filter(pk__in=[r.contact_id for r in batch])
            .values_list("pk", flat=True)
        )
        blocked = set(
            PhoneOptOut.objects.filter(
                channel=broadcast.channel, phone__in=[r.phone for r in batch]
            ).values_list("phone", flat=True)
        )
        claimed = [r for r in batch if r.contact_id in eligible and r.phone not in blocked]
        skipped = [r.pk for r in batch if r not in claimed]
        Recipient.objects.filter(pk__in=skipped).update(
            status=Recipient.Status.SKIPPED, error="Not eligible any more when its turn came."
        )
        Recipient.objects.filter(pk__in=[r.pk for r in claimed]).update(
            status=Recipient.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return claimed


def send(broadcast: Broadcast, recipient: Recipient) -> None:
    """Hand one claimed recipient's message to the provider, and record what came of it.

    Eligibility is checked once more under the number's lock, which an opt-out of the number
    takes too: an opt-out that committed first is seen here, and one that comes later waits
    until the message has been handed over.
    """
    wait_for_slot()
    with transaction.atomic():
        contact_services.lock_number(recipient.phone, shared=True)
        if not _still_eligible(broadcast, recipient):
            Recipient.objects.filter(pk=recipient.pk).update(
                status=Recipient.Status.SKIPPED, error="Opted out just before its turn."
            )
            return
        outcome = _hand_over(broadcast, recipient)
        Recipient.objects.filter(pk=recipient.pk, status=Recipient.Status.SENDING).update(**outcome)


def _still_eligible(broadcast: Broadcast, recipient: Recipient) -> bool:
    channel = broadcast.channel
    return (
        Contact.objects.eligible_for(channel).filter(pk=recipient.contact_id).exists()
        and not PhoneOptOut.objects.filter(phone=recipient.phone, channel=channel).exists()
    )


def _hand_over(broadcast: Broadcast, recipient: Recipient) -> dict:
    backend = get_backend()
    outcome = {"status": Recipient.Status.SENT, "sent_at": timezone.now()}
    try:
        if broadcast.channel == Channel.SMS:
            outcome["sid"] = backend.send_sms(to=recipient.phone, body=broadcast.sms_text)
        else:
            twiml = voice_message(
                script=broadcast.script,
                audio_url=broadcast.audio_url,
                digit=broadcast.unsubscribe_digit,
            )
            outcome["sid"] = backend.make_call(to=recipient.phone, twiml=twiml)
    except RecipientOptedOut as error:
        outcome = {"status": Recipient.Status.SKIPPED, "error": str(error)}
        contact_services.record_hard_opt_out(
            phone=recipient.phone, channel=Channel(broadcast.channel), source=Source.CARRIER,
            words="Error 21610: the recipient opted out at the carrier.",
        )  # fmt: skip
    except RetryLater as error:
        # Not processed by the provider: safe to try again, later and later.
        delay = min(2**recipient.attempts, 300)
        outcome = {"status": Recipient.Status.PENDING, "error": str(error),
                   "retry_at": timezone.now() + timedelta(seconds=delay)}  # fmt: skip
    except MaybeSent as error:
        outcome = {"status": Recipient.Status.UNKNOWN, "error": str(error)}
    except SendError as error:
        outcome = {"status": Recipient.Status.FAILED, "error": str(error)}
    return outcome


def wait_for_slot() -> None:
    """Keep all workers together under BROADCAST_RATE messages a second."""
    interval = timedelta(seconds=1 / settings.BROADCAST_RATE)
    with transaction.atomic():
        slot, _ = SendRate.objects.select_for_update().get_or_create(pk=1)
        now = timezone.now()
        start = max(slot.next_at, now)
        slot.next_at = start + interval
        slot.save(update_fields=["next_at"])
    time.sleep(max((start - now).total_seconds(), 0))


def reap(*, older_than: timedelta | None = None) -> int:
    """Recipients left `sending` by a worker that died: they may have been sent. Never resend."""
    cutoff = timezone.now() - (older_than or timedelta(seconds=settings.BROADCAST_SEND_TIMEOUT))
    return Recipient.objects.filter(status=Recipient.Status.SENDING, claimed_at__lt=cutoff).update(
        status=Recipient.Status.UNKNOWN, error="The worker stopped while sending."
    )


def run(broadcast_id: int) -> None:
    """Send until nothing is left to claim; then mark the broadcast done."""
    reap()
    while True:
        broadcast = Broadcast.objects.get(pk=broadcast_id)
        if broadcast.status != Broadcast.Status.SENDING:
            return  # cancelled
        claimed = claim(broadcast)
        for recipient in claimed:
            send(broadcast, recipient)
        if claimed:
            continue
        waiting = broadcast.recipients.filter(status=Recipient.Status.PENDING)
        next_retry = waiting.order_by("retry_at").values_list("retry_at", flat=True).first()
        if waiting.exists() and next_retry:
            time.sleep(min(max((next_retry - timezone.now()).total_seconds(), 0.05), 5))
            continue
        if not broadcast.recipients.filter(status=Recipient.Status.SENDING).exists():
            Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.SENDING).update(
                status=Broadcast.Status.DONE, finished_at=timezone.now()
            )
        return
