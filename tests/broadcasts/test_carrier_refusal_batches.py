"""A carrier's refusal (21610) ends its batch's transaction; the rest of the batch goes on in
one of its own."""

import pytest
from django.utils import timezone

from broadcasts import sending, services
from broadcasts.models import SendRate
from tests.broadcasts.engine import broadcast
from tests.broadcasts.test_rate_limit import ControlledClock
from tests.factories import ContactFactory
from tests.twilio_standin import StandIn


@pytest.mark.postgres
def test_refusals_waste_none_of_the_shared_sending_slots(
    manager, twilio, settings, django_capture_on_commit_callbacks
):
    """Each batch reserves a slot of the shared rate for every recipient it claimed
    (reserve_slots). A first form gave the rest of a refused batch back to be claimed again,
    but not their slots: the next batch, of every worker and broadcast, waited for slots
    nobody used, and an old list the carrier refuses one number in ten of sent at a tenth of
    BROADCAST_RATE. 20 recipients, 10 of them refused, at 50 a second: 20 hand-overs take
    0.4 s of slots."""
    settings.BROADCAST_RATE = 50  # batches of 10
    ContactFactory.create_batch(20)
    StandIn.answers = ["opted_out"] * 10 + ["sent"]
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)
    start = timezone.now().timestamp()
    clock = ControlledClock(start)
    with django_capture_on_commit_callbacks(execute=True):
        sending.run(b.pk, clock=clock)
    assert len(StandIn.requests) == 20
    statuses = sorted(b.recipients.values_list("status", flat=True))
    assert statuses == ["sent"] * 10 + ["skipped"] * 10
    reserved = SendRate.objects.get().next_at.timestamp() - start
    assert reserved <= 0.4 * 1.5, (
        f"20 hand-overs reserved {reserved:.2f} s of the shared rate (0.40 s needed);"
        f" the worker waited {sum(clock.waits):.2f} s"
    )
