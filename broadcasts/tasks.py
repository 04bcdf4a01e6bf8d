from django.tasks import task

from broadcasts import sending, services


@task
def send_broadcast(broadcast_id: int) -> None:
    sending.run(broadcast_id)


@task
def start_scheduled(broadcast_id: int) -> None:
    """Start a scheduled broadcast at its time. Every time set queues this task: one queued
    for a time since moved, or for a broadcast unscheduled, cancelled or started, does
    nothing."""
    services.start_due(broadcast_id=broadcast_id)
