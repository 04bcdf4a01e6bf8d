from django.tasks import task
from django.utils import timezone

from broadcasts import sending, services
from broadcasts.models import Broadcast


@task
def send_broadcast(broadcast_id: int) -> None:
    sending.run(broadcast_id)


@task
def start_scheduled(broadcast_id: int) -> None:
    """Start a scheduled broadcast, unless it was unscheduled, cancelled or moved since."""
    broadcast = Broadcast.objects.filter(
        pk=broadcast_id, status=Broadcast.Status.SCHEDULED, send_at__lte=timezone.now()
    ).first()
    if broadcast:
        services.start(broadcast)
