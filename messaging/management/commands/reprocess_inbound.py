from django.core.management.base import BaseCommand

from messaging import inbound
from messaging.models import InboundEvent


class Command(BaseCommand):
    help = "Process again the stored webhook events whose processing failed."

    def handle(self, *args, **options):
        pending = InboundEvent.objects.filter(processed_at=None).order_by("id")
        done = failed = 0
        for key in pending.values_list("key", flat=True):
            try:
                inbound.process(key)
            except Exception as error:  # kept on the event; go on with the others
                failed += 1
                self.stderr.write(f"Event {key}: {error}")
            else:
                done += 1
        self.stdout.write(f"Processed {done} events; {failed} failed again.")
