from django.core.management.base import BaseCommand
from django.utils import timezone

from messaging import inbound


class Command(BaseCommand):
    help = (
        "Process now the stored webhook events not processed yet (the task worker also does, "
        "every few seconds)."
    )

    def handle(self, *args, **options):
        done = failed = 0
        for key, error in inbound.process_pending(received_before=timezone.now()):
            if error is None:
                done += 1
            else:
                failed += 1
                self.stderr.write(f"Event {key}: {error}")
        self.stdout.write(f"Processed {done} events; {failed} failed again.")
